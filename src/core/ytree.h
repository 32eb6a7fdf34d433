/* ytree.h — private to core (tests/unit/core may use it; other rooms use
 * include/llm4hep/core.h only): a YAML document as a tree of nodes that keep
 * their line and column, plus the typed getters the config and suite
 * loaders use; at the end, helpers no other room needs. Every getter reports problems as
 *     FILE:LINE:COL: key 'PATH': expected WHAT, got WHAT-IT-WAS
 * (exit code 2), PATH being the dotted key path ("limits.task_wall_s",
 * "steps[2].checks[0].file"). */
#ifndef LLM4HEP_CORE_YTREE_H
#define LLM4HEP_CORE_YTREE_H

#include <stddef.h>
#include <stdint.h>

#include "llm4hep/core.h"

typedef enum { Y_SCALAR, Y_SEQ, Y_MAP } ykind;

typedef struct ynode {
    ykind kind;
    int line, col;          /* 1-based, where the node starts */
    char *value;            /* scalar text (NUL-terminated; may not hold NULs) */
    int plain;              /* scalar was unquoted (typed by the core schema) */
    struct ynode **items;   /* sequence items, or mapping values */
    struct ynode **keys;    /* mapping keys (scalars) */
    size_t n;
} ynode;

/* Parse YAML text (already read from file, which only names it in messages).
 * An empty document gives *root = NULL. Checks UTF-8, syntax, one document,
 * scalar keys, and duplicate keys. -1 (code 2) with err. */
int ytree_parse(const char *file, const char *text, size_t len, ynode **root, l4h_err *err);
void ytree_free(ynode *n);

/* The value of key in mapping m, or NULL (also when m is not a mapping). */
const ynode *ymap_get(const ynode *m, const char *key);
/* The key node of key in m, or NULL. */
const ynode *ymap_key(const ynode *m, const char *key);

/* 1 when the plain scalar means null (~, null, Null, NULL, empty). */
int yis_null(const ynode *n);

/* JSON text of a node (core schema typing of plain scalars). Caller frees. */
char *ytree_to_json(const ynode *n);

/* Loading context: the file being read and where errors go. */
typedef struct yctx {
    const char *file; /* shown in messages */
    const char *dir;  /* relative paths resolve against this */
    l4h_err *err;
} yctx;

/* Report "FILE:L:C: key 'path': <formatted>" at node n (or line 1 col 1 when n
 * is NULL). Returns -1. */
int yfail(const yctx *c, const ynode *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "a list", "a mapping", "null", "'text'" — what a node is, for "got ...". */
const char *ydescribe(const ynode *n, char *buf, size_t size);

/* Key path helpers: "parent.key" / "parent[i]" into buf (size 256). */
const char *ypath_key(char *buf, const char *parent, const char *key);
const char *ypath_index(char *buf, const char *parent, size_t i);

/* Unknown keys in mapping m: error naming the first key not in allowed (a
 * NULL-terminated list), with "did you mean" when one is close. Also fails
 * when m is not a mapping ("expected a mapping"). */
int ycheck_keys(const yctx *c, const ynode *m, const char *path, const char *const *allowed);
/* The closest of the candidates to word by edit distance when close enough
 * (distance <= max(1, strlen/3)), else NULL. */
const char *yclosest(const char *word, const char *const *cands, size_t n);

/* Typed getters. n may be NULL: the getter then leaves *out untouched and
 * returns 0 (key absent: keep the default). Strings get ${VAR} expansion. */
int yget_str(const yctx *c, const ynode *n, const char *path, char **out);
int yget_path(const yctx *c, const ynode *n, const char *path, char **out); /* resolved */
int yget_int(const yctx *c, const ynode *n, const char *path, int64_t min, int64_t max,
             int64_t *out);
int yget_num(const yctx *c, const ynode *n, const char *path, double min, int min_excl,
             double *out);
int yget_bool(const yctx *c, const ynode *n, const char *path, int *out);
/* A list of strings (argv, requires, stage...). *out is NULL-terminated. */
int yget_strlist(const yctx *c, const ynode *n, const char *path, char ***out, size_t *count);
/* n must be a non-empty list: else "expected a non-empty list of WHAT, got ...". */
int yget_list(const yctx *c, const ynode *n, const char *path, const char *what);
/* Read the file named by node n (already resolved to `file`): UTF-8 checked;
 * a missing file is reported at n under key path. *text is the caller's. */
int yread_named(const yctx *c, const ynode *n, const char *path, const char *file, char **text,
                size_t *len);
/* 1 when s is a name of letters, digits, '_', '-' (and '.' when allow_dot). */
int yname_ok(const char *s, int allow_dot);
/* Expand ${VAR} in s on behalf of node n; error positioned there. */
int yexpand(const yctx *c, const ynode *n, const char *path, const char *s, char **out);

/* Check that every {{name}} in text is a known placeholder. text starts at
 * (line, col) of file; errors point at the placeholder itself. */
int ycheck_placeholders(const char *file, int line, int col, const char *text, const char *key,
                        l4h_err *err);

/* Check that text is UTF-8 without NUL bytes; -1 (code 2) "FILE:L:C: ..." */
int ycheck_utf8(const char *file, const char *text, size_t len, l4h_err *err);

/* ------------- used only inside the room (tests/unit/core too) */

/* Read a whole regular file of at most max bytes; *out is NUL-terminated
 * (caller frees), *len (may be NULL) its length. -1 with err: code 2 when
 * the path is missing, unreadable, not a regular file (a directory, FIFO,
 * device or socket: refused without blocking or reading), or larger than
 * max; code 3 on an I/O error. Every message names the path. */
int l4h_read_file_max(const char *path, size_t max, char **out, size_t *len, l4h_err *err);

/* Write all n bytes of data to fd, retrying short and interrupted writes.
 * 0, or -1 with errno set. */
int l4h_write_all(int fd, const void *data, size_t n);

/* Tests only: 0 forces the O_NOFOLLOW component walk (as without openat2). */
void l4h_fs_use_openat2(int on);

/* The directory of path made absolute and normalised (realpath), so that
 * paths resolved against it hold whatever the working directory; the plain
 * directory when it cannot be resolved. Caller frees. */
char *l4h_path_dir_abs(const char *path);

/* The largest position <= at (at most len) that does not split a UTF-8
 * sequence of s[0..len). Can't fail. */
size_t l4h_utf8_floor(const char *s, size_t len, size_t at);

/* Expand ${VAR} and ${VAR:-default} in s. An unset variable without default
 * is -1 (code 2) naming it. Caller frees *out. As in the shell, the default
 * is used when VAR is unset or empty and may itself hold ${...}; "$$" is a
 * literal "$"; a "$" not followed by "{" is kept. The config and the suite
 * expand every string value (not keys, not prompt files). */
int l4h_expand_env(const char *s, char **out, l4h_err *err);

/* The snapshot's file at path, or NULL (pointer valid as l4h_inputs_file's). */
const l4h_input_file *l4h_inputs_find(const l4h_inputs *in, const char *path);

/* A program the campaign runs from the disk (a check or tool program the
 * sandbox runs from the suite directory): with a frozen snapshot that holds
 * path, -1 (code 3) unless the file's bytes still have the snapshot's
 * SHA-256; 0 otherwise (no snapshot, or a path it does not hold). */
int l4h_input_verify(const char *path, l4h_err *err);

#endif
