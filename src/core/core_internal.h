/* core_internal.h — private to core: the table of campaign config keys
 * (src/core/config_opts.c) that config.c loads through. */
#ifndef LLM4HEP_CORE_INTERNAL_H
#define LLM4HEP_CORE_INTERNAL_H

/* private to core (tests/unit/core may use it; other rooms use
 * include/llm4hep/core.h only): a YAML document as a tree of nodes that keep
 * their line and column, plus the typed getters the config and suite
 * loaders use; at the end, helpers no other room needs. Every getter reports problems as
 *     FILE:LINE:COL: key 'PATH': expected WHAT, got WHAT-IT-WAS
 * (exit code 2), PATH being the dotted key path ("limits.task_wall_s",
 * "steps[2].checks[0].file"). */

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
int core_ytree_parse(const char *file, const char *text, size_t len, ynode **root, l4h_err *err);
void core_ytree_free(ynode *n);

/* The value of key in mapping m, or NULL (also when m is not a mapping). */
const ynode *core_ymap_get(const ynode *m, const char *key);
/* The key node of key in m, or NULL. */
const ynode *core_ymap_key(const ynode *m, const char *key);

/* 1 when the plain scalar means null (~, null, Null, NULL, empty). */
int core_yis_null(const ynode *n);

/* JSON text of a node (core schema typing of plain scalars). Caller frees. */
char *core_ytree_to_json(const ynode *n);

/* Loading context: the file being read and where errors go. */
typedef struct yctx {
    const char *file; /* shown in messages */
    const char *dir;  /* relative paths resolve against this */
    l4h_err *err;
} yctx;

/* Report "FILE:L:C: key 'path': <formatted>" at node n (or line 1 col 1 when n
 * is NULL). Returns -1. */
int core_yfail(const yctx *c, const ynode *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "a list", "a mapping", "null", "'text'" — what a node is, for "got ...". */
const char *core_ydescribe(const ynode *n, char *buf, size_t size);

/* Key path helpers: "parent.key" / "parent[i]" into buf (size 256). */
const char *core_ypath_key(char *buf, const char *parent, const char *key);
const char *core_ypath_index(char *buf, const char *parent, size_t i);

/* Unknown keys in mapping m: error naming the first key not in allowed (a
 * NULL-terminated list), with "did you mean" when one is close. Also fails
 * when m is not a mapping ("expected a mapping"). */
int core_ycheck_keys(const yctx *c, const ynode *m, const char *path, const char *const *allowed);
/* The closest of the candidates to word by edit distance when close enough
 * (distance <= max(1, strlen/3)), else NULL. */
const char *core_yclosest(const char *word, const char *const *cands, size_t n);

/* Typed getters. n may be NULL: the getter then leaves *out untouched and
 * returns 0 (key absent: keep the default). Strings get ${VAR} expansion. */
int core_yget_str(const yctx *c, const ynode *n, const char *path, char **out);
int core_yget_path(const yctx *c, const ynode *n, const char *path, char **out); /* resolved */
int core_yget_int(const yctx *c, const ynode *n, const char *path, int64_t min, int64_t max,
             int64_t *out);
int core_yget_num(const yctx *c, const ynode *n, const char *path, double min, int min_excl,
             double *out);
int core_yget_bool(const yctx *c, const ynode *n, const char *path, int *out);
/* A list of strings (argv, requires, stage...). *out is NULL-terminated. */
int core_yget_strlist(const yctx *c, const ynode *n, const char *path, char ***out, size_t *count);
/* n must be a non-empty list: else "expected a non-empty list of WHAT, got ...". */
int core_yget_list(const yctx *c, const ynode *n, const char *path, const char *what);
/* Read the file named by node n (already resolved to `file`): UTF-8 checked;
 * a missing file is reported at n under key path. *text is the caller's. */
int core_yread_named(const yctx *c, const ynode *n, const char *path, const char *file, char **text,
                size_t *len);
/* 1 when s is a name of letters, digits, '_', '-' (and '.' when allow_dot). */
int core_yname_ok(const char *s, int allow_dot);
/* Expand ${VAR} in s on behalf of node n; error positioned there. */
int core_yexpand(const yctx *c, const ynode *n, const char *path, const char *s, char **out);

/* Check that every {{name}} in text is a known placeholder. text starts at
 * (line, col) of file; errors point at the placeholder itself. */
int core_ycheck_placeholders(const char *file, int line, int col, const char *text, const char *key,
                        l4h_err *err);

/* Check that text is UTF-8 without NUL bytes; -1 (code 2) "FILE:L:C: ..." */
int core_ycheck_utf8(const char *file, const char *text, size_t len, l4h_err *err);

/* ------------- used only inside the room (tests/unit/core too) */

/* Read a whole regular file of at most max bytes; *out is NUL-terminated
 * (caller frees), *len (may be NULL) its length. -1 with err: code 2 when
 * the path is missing, unreadable, not a regular file (a directory, FIFO,
 * device or socket: refused without blocking or reading), or larger than
 * max; code 3 on an I/O error. Every message names the path. */
int core_read_file_max(const char *path, size_t max, char **out, size_t *len, l4h_err *err);

/* Write all n bytes of data to fd, retrying short and interrupted writes.
 * 0, or -1 with errno set. */
int core_write_all(int fd, const void *data, size_t n);

/* Tests only: 0 forces the O_NOFOLLOW component walk (as without openat2). */
void core_fs_use_openat2(int on);

/* The directory of path made absolute and normalised (realpath), so that
 * paths resolved against it hold whatever the working directory; the plain
 * directory when it cannot be resolved. Caller frees. */
char *core_path_dir_abs(const char *path);

/* The largest position <= at (at most len) that does not split a UTF-8
 * sequence of s[0..len). Can't fail. */
size_t core_utf8_floor(const char *s, size_t len, size_t at);

/* Expand ${VAR} and ${VAR:-default} in s. An unset variable without default
 * is -1 (code 2) naming it. Caller frees *out. As in the shell, the default
 * is used when VAR is unset or empty and may itself hold ${...}; "$$" is a
 * literal "$"; a "$" not followed by "{" is kept. The config and the suite
 * expand every string value (not keys, not prompt files). */
int core_expand_env(const char *s, char **out, l4h_err *err);

/* The snapshot's file at path, or NULL (pointer valid as l4h_inputs_file's). */
const l4h_input_file *core_inputs_find(const l4h_inputs *in, const char *path);

/* A program the campaign runs from the disk (a check or tool program the
 * sandbox runs from the suite directory): with a frozen snapshot that holds
 * path, -1 (code 3) unless the file's bytes still have the snapshot's
 * SHA-256; 0 otherwise (no snapshot, or a path it does not hold). */
int core_input_verify(const char *path, l4h_err *err);

/* Which struct a table row's field lives in, and where in the config file
 * such a struct is written. */
typedef enum {
    OPTS_CONFIG = 0, /* l4h_config: the top level, limits.*, sandbox.*, retry.* */
    OPTS_ENDPOINT,   /* l4h_endpoint: endpoints.<name>.* */
    OPTS_MODEL,      /* l4h_model_opts: model_defaults.*, models_config.<model>.* */
    OPTS_PRICE,      /* l4h_price: prices.<model>.* */
    OPTS_PAIR,       /* l4h_pair: pairs[].* */
    OPTS_SCOPES
} core_opts_scope;

/* Write the default of every row of scope into base (a struct of that
 * scope), strings as malloc'd copies (${VAR} expanded). Rows whose default
 * applies when a model is resolved (OPTS_MODEL) are left unset. Can't fail. */
void core_opts_defaults(core_opts_scope scope, void *base);

/* Load the mapping n, written at key path `path` ("" for the top level),
 * into base: an unknown key or a missing required one is an error, then
 * every row the table parses itself is read (sections such as limits
 * descended), in table order. Keys the table marks as loaded by config.c's
 * own code are allowed and left alone. 0, or -1 with c->err. */
int core_opts_load(const yctx *c, core_opts_scope scope, const ynode *n, const char *path,
                   void *base);

/* The default of row key of scope: its number (NAN when it has none) or
 * its text (NULL when none). */
double core_opts_num_default(core_opts_scope scope, const char *key);
const char *core_opts_text_default(core_opts_scope scope, const char *key);
/* The name of choice `value` of the enumerated row key ("http" for an
 * endpoint's provider 0); "?" when out of range. */
const char *core_opts_choice(core_opts_scope scope, const char *key, int value);

/* ---- {{placeholders}} (render.c): the one scanner and the one list of names */

/* One placeholder found in a template. */
typedef struct core_placeholder {
    const char *open; /* its "{{" */
    const char *name; /* its name (not NUL-terminated) */
    size_t len;       /* of the name */
    const char *end;  /* just past its "}}" */
} core_placeholder;

/* The first placeholder at or after s: "{{" NAME "}}" with optional spaces
 * inside the braces, NAME of letters, digits and '_'; any other "{{" is
 * plain text. 1 and *ph filled, or 0 when there is none. Can't fail. */
int core_placeholder_next(const char *s, core_placeholder *ph);
/* 0 when name[0..len) is a placeholder a template may use; else -1 with
 * msg = "unknown placeholder '{{NAME}}'" and either "; did you mean ...?"
 * or ": expected one of {{workspace}}, ...". */
int core_placeholder_known(const char *name, size_t len, char *msg, size_t size);

#endif
