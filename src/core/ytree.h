/* ytree.h — private to core: a YAML document as a tree of nodes that keep
 * their line and column, plus the typed getters the config and suite
 * loaders use. Every getter reports problems as
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

#endif
