/* ytree.c — YAML text to a tree of nodes with line:column (libyaml events),
 * and the tree to JSON. Anchors and aliases are supported (an alias is a
 * copy of its anchor's node); tags are ignored; one document per file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core_internal.h"

void core_ytree_free(ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        core_ytree_free(n->items[i]);
        if (n->keys)
            core_ytree_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->value);
    free(n);
}

/* A deep copy of n (for aliases). */
static ynode *ytree_copy(const ynode *n)
{
    ynode *c = l4h_xcalloc(1, sizeof *c);
    *c = *n;
    c->value = l4h_xstrdup(n->value);
    c->items = NULL;
    c->keys = NULL;
    if (n->n) {
        c->items = l4h_xcalloc(n->n, sizeof *c->items);
        if (n->keys)
            c->keys = l4h_xcalloc(n->n, sizeof *c->keys);
        for (size_t i = 0; i < n->n; i++) {
            c->items[i] = ytree_copy(n->items[i]);
            if (n->keys)
                c->keys[i] = ytree_copy(n->keys[i]);
        }
    }
    return c;
}

/* Check UTF-8 (no overlongs, no surrogates, <= U+10FFFF) and no NUL bytes. */
int core_ycheck_utf8(const char *file, const char *text, size_t len, l4h_err *err)
{
    const unsigned char *s = (const unsigned char *)text;
    int line = 1, col = 1;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n = 0;
        unsigned cp = 0;
        if (c == 0)
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s:%d:%d: NUL byte: expected UTF-8 text", file, line, col);
        if (c < 0x80)
            n = 1, cp = c;
        else if (c >= 0xc2 && c <= 0xdf)
            n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4, cp = c & 0x07;
        int ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                ok = 0;
            else
                cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                   (n == 4 && (cp < 0x10000 || cp > 0x10ffff))))
            ok = 0;
        if (!ok)
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s:%d:%d: invalid UTF-8 byte 0x%02x: expected UTF-8 text",
                               file, line, col, c);
        if (c == '\n')
            line++, col = 1;
        else
            col++;
        i += n;
    }
    return 0;
}

typedef struct anchor {
    char *name;
    ynode *node; /* borrowed from the tree */
} anchor;

/* Number of nodes under n (n included). */
static size_t ytree_count(const ynode *n)
{
    size_t k = 1;
    for (size_t i = 0; i < n->n; i++)
        k += ytree_count(n->items[i]) + (n->keys ? 1 : 0);
    return k;
}

/* Aliases copy their anchor: cap the copies so a "billion laughs" file is an
 * error, not an out-of-memory abort. */
#define MAX_ALIAS_NODES 1000000

/* Lists and mappings nest at most this deep (the config and the suite need
 * five levels): the tree is built, copied, freed and printed recursively, so
 * 200 000 nested '[' must be an error, not a stack overflow. An alias copies
 * a node of at most this depth, so no tree is deeper than twice this. */
#define MAX_DEPTH 128

typedef struct builder {
    const char *file;
    size_t alias_nodes;
    yaml_parser_t parser;
    anchor *anchors;
    size_t n_anchors;
    l4h_err *err;
} builder;

static int parser_fail(builder *b)
{
    yaml_parser_t *p = &b->parser;
    const char *what = p->problem ? p->problem : "cannot parse";
    if (p->context)
        return l4h_err_set(b->err, L4H_EXIT_USAGE, "%s:%zu:%zu: YAML syntax error: %s %s (started at line %zu)", b->file,
                           p->problem_mark.line + 1, p->problem_mark.column + 1, what, p->context,
                           p->context_mark.line + 1);
    return l4h_err_set(b->err, L4H_EXIT_USAGE, "%s:%zu:%zu: YAML syntax error: %s", b->file,
                       p->problem_mark.line + 1, p->problem_mark.column + 1, what);
}

static void add_anchor(builder *b, const yaml_char_t *name, ynode *n)
{
    if (!name)
        return;
    b->anchors = l4h_xrealloc(b->anchors, (b->n_anchors + 1) * sizeof *b->anchors);
    b->anchors[b->n_anchors].name = l4h_xstrdup((const char *)name);
    b->anchors[b->n_anchors].node = n;
    b->n_anchors++;
}

static void push_child(ynode *parent, ynode *key, ynode *val)
{
    parent->items = l4h_xrealloc(parent->items, (parent->n + 1) * sizeof *parent->items);
    parent->items[parent->n] = val;
    if (parent->kind == Y_MAP) {
        parent->keys = l4h_xrealloc(parent->keys, (parent->n + 1) * sizeof *parent->keys);
        parent->keys[parent->n] = key;
    }
    parent->n++;
}

/* Build the node whose first event is ev (already taken), depth lists or
 * mappings down (the document's root is depth 1). On return *out is the
 * node. -1 with err. */
static int build(builder *b, yaml_event_t *ev, int depth, ynode **out)
{
    *out = NULL;
    ynode *n = l4h_xcalloc(1, sizeof *n);
    n->line = (int)ev->start_mark.line + 1;
    n->col = (int)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n->kind = Y_SCALAR;
        n->value = l4h_xmalloc(ev->data.scalar.length + 1);
        memcpy(n->value, ev->data.scalar.value, ev->data.scalar.length);
        n->value[ev->data.scalar.length] = '\0';
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        add_anchor(b, ev->data.scalar.anchor, n);
        *out = n;
        return 0;
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = b->n_anchors; i-- > 0;)
            if (!strcmp(b->anchors[i].name, name)) {
                b->alias_nodes += ytree_count(b->anchors[i].node);
                if (b->alias_nodes > MAX_ALIAS_NODES) {
                    int line = n->line, col = n->col;
                    free(n);
                    return l4h_err_set(b->err, L4H_EXIT_USAGE,
                                       "%s:%d:%d: alias '*%s': expected at most %d nodes copied "
                                       "through aliases, got more",
                                       b->file, line, col, name, MAX_ALIAS_NODES);
                }
                ynode *c = ytree_copy(b->anchors[i].node);
                c->line = n->line;
                c->col = n->col;
                free(n);
                *out = c;
                return 0;
            }
        int line = n->line, col = n->col;
        free(n);
        return l4h_err_set(b->err, L4H_EXIT_USAGE, "%s:%d:%d: alias '*%s': expected a defined anchor '&%s'",
                           b->file, line, col, name, name);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        break;
    default:
        free(n);
        return l4h_err_set(b->err, L4H_EXIT_USAGE, "%s:%zu:%zu: YAML syntax error: unexpected event", b->file,
                           ev->start_mark.line + 1, ev->start_mark.column + 1);
    }
    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    if (depth > MAX_DEPTH) {
        int line = n->line, col = n->col;
        free(n);
        return l4h_err_set(b->err, L4H_EXIT_USAGE,
                           "%s:%d:%d: %s nested %d deep: expected lists and mappings nested at most %d deep",
                           b->file, line, col, is_map ? "a mapping" : "a list", depth, MAX_DEPTH);
    }
    n->kind = is_map ? Y_MAP : Y_SEQ;
    add_anchor(b, is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor, n);
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&b->parser, &e)) {
            core_ytree_free(n);
            return parser_fail(b);
        }
        if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        ynode *key = NULL, *val = NULL;
        int rc = build(b, &e, depth + 1, is_map ? &key : &val);
        yaml_event_delete(&e);
        if (rc < 0) {
            core_ytree_free(n);
            return -1;
        }
        if (is_map) {
            if (key->kind != Y_SCALAR) {
                l4h_err_set(b->err, L4H_EXIT_USAGE, "%s:%d:%d: expected a plain key (a name), got %s", b->file,
                            key->line, key->col, key->kind == Y_MAP ? "a mapping" : "a list");
                core_ytree_free(key);
                core_ytree_free(n);
                return -1;
            }
            for (size_t i = 0; i < n->n; i++)
                if (!strcmp(n->keys[i]->value, key->value)) {
                    l4h_err_set(b->err, L4H_EXIT_USAGE, "%s:%d:%d: key '%s': duplicate key (first at line %d)",
                                b->file, key->line, key->col, key->value, n->keys[i]->line);
                    core_ytree_free(key);
                    core_ytree_free(n);
                    return -1;
                }
            if (!yaml_parser_parse(&b->parser, &e)) {
                core_ytree_free(key);
                core_ytree_free(n);
                return parser_fail(b);
            }
            rc = build(b, &e, depth + 1, &val);
            yaml_event_delete(&e);
            if (rc < 0) {
                core_ytree_free(key);
                core_ytree_free(n);
                return -1;
            }
        }
        push_child(n, key, val);
    }
    *out = n;
    return 0;
}

/* Parse YAML text into a tree. See core_internal.h. */
int core_ytree_parse(const char *file, const char *text, size_t len, ynode **root, l4h_err *err)
{
    *root = NULL;
    if (core_ycheck_utf8(file, text, len, err) < 0)
        return -1;
    builder b = {.file = file, .err = err};
    if (!yaml_parser_initialize(&b.parser))
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot initialise the YAML parser", file);
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);
    int rc = 0, docs = 0;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&b.parser, &e)) {
            rc = parser_fail(&b);
            break;
        }
        yaml_event_type_t t = e.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            if (++docs > 1) {
                rc = l4h_err_set(err, L4H_EXIT_USAGE, "%s:%zu:%zu: a second YAML document: expected one document",
                                 file, e.start_mark.line + 1, e.start_mark.column + 1);
                yaml_event_delete(&e);
                break;
            }
            yaml_event_delete(&e);
            continue;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&e);
            continue;
        }
        rc = build(&b, &e, 1, root);
        yaml_event_delete(&e);
        if (rc < 0)
            break;
    }
    for (size_t i = 0; i < b.n_anchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    yaml_parser_delete(&b.parser);
    if (rc < 0) {
        core_ytree_free(*root);
        *root = NULL;
    }
    return rc;
}

const ynode *core_ymap_get(const ynode *m, const char *key)
{
    if (!m || m->kind != Y_MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->keys[i]->value, key))
            return m->items[i];
    return NULL;
}

const ynode *core_ymap_key(const ynode *m, const char *key)
{
    if (!m || m->kind != Y_MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->keys[i]->value, key))
            return m->keys[i];
    return NULL;
}

int core_yis_null(const ynode *n)
{
    if (!n || n->kind != Y_SCALAR || !n->plain)
        return 0;
    const char *v = n->value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* ------------------------------------------------------------------- JSON */

/* Core-schema typing of a plain scalar: append its JSON form; 1 if typed. */
static int typed_scalar(l4h_buf *b, const char *v)
{
    static const char *const t[] = {"true", "True", "TRUE"}, *const f[] = {"false", "False", "FALSE"};
    for (int i = 0; i < 3; i++) {
        if (!strcmp(v, t[i]))
            return l4h_buf_puts(b, "true"), 1;
        if (!strcmp(v, f[i]))
            return l4h_buf_puts(b, "false"), 1;
    }
    if (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"))
        return l4h_buf_puts(b, "null"), 1;
    const char *p = v;
    if (*p == '+' || *p == '-')
        p++;
    if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
        /* JSON has no infinity: the largest double is the faithful stand-in
         * only approximately, so keep it as the string YAML wrote. */
        return 0;
    }
    if (!strcmp(v, ".nan") || !strcmp(v, ".NaN") || !strcmp(v, ".NAN"))
        return 0;
    char *end;
    if ((p[0] == '0' && (p[1] == 'x' || p[1] == 'o')) && p == v) {
        unsigned long long x = strtoull(p + 2, &end, p[1] == 'x' ? 16 : 8);
        if (p[2] && !*end) {
            l4h_buf_printf(b, "%llu", x);
            return 1;
        }
        return 0;
    }
    /* [-+]?[0-9]+ or [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    const char *q = p;
    int digits = 0, dot = 0, exp = 0;
    while (*q >= '0' && *q <= '9')
        q++, digits++;
    if (*q == '.') {
        dot = 1;
        q++;
        while (*q >= '0' && *q <= '9')
            q++, digits++;
    }
    if (!digits)
        return 0;
    if (*q == 'e' || *q == 'E') {
        exp = 1;
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!(*q >= '0' && *q <= '9'))
            return 0;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    if (*q)
        return 0;
    if (!dot && !exp) {
        /* an integer: JSON takes it as written, minus a leading '+' and zeros */
        const char *d = p;
        while (d[0] == '0' && d[1])
            d++;
        if (*v == '-')
            l4h_buf_puts(b, "-");
        l4h_buf_puts(b, d);
        return 1;
    }
    double x = strtod(v, &end);
    if (!isfinite(x))
        return 0;
    l4h_buf_printf(b, "%.17g", x);
    return 1;
}

static void json_string(l4h_buf *b, const char *s)
{
    l4h_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            l4h_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            l4h_buf_puts(b, "\\n");
        else if (*p == '\t')
            l4h_buf_puts(b, "\\t");
        else if (*p == '\r')
            l4h_buf_puts(b, "\\r");
        else if (*p < 0x20 || *p == 0x7f)
            l4h_buf_printf(b, "\\u%04x", *p);
        else
            l4h_buf_add(b, p, 1);
    }
    l4h_buf_puts(b, "\"");
}

static void to_json(l4h_buf *b, const ynode *n)
{
    if (!n) {
        l4h_buf_puts(b, "null");
        return;
    }
    switch (n->kind) {
    case Y_SCALAR:
        if (!n->plain || !typed_scalar(b, n->value))
            json_string(b, n->value);
        break;
    case Y_SEQ:
        l4h_buf_puts(b, "[");
        for (size_t i = 0; i < n->n; i++) {
            if (i)
                l4h_buf_puts(b, ",");
            to_json(b, n->items[i]);
        }
        l4h_buf_puts(b, "]");
        break;
    case Y_MAP:
        l4h_buf_puts(b, "{");
        for (size_t i = 0; i < n->n; i++) {
            if (i)
                l4h_buf_puts(b, ",");
            json_string(b, n->keys[i]->value);
            l4h_buf_puts(b, ":");
            to_json(b, n->items[i]);
        }
        l4h_buf_puts(b, "}");
        break;
    }
}

char *core_ytree_to_json(const ynode *n)
{
    l4h_buf b = {0};
    to_json(&b, n);
    return l4h_buf_take(&b);
}

/* Read a YAML file into JSON text (see core.h). */
int l4h_yaml_file_to_json(const char *path, char **json, l4h_err *err)
{
    *json = NULL;
    char *text;
    size_t len;
    if (l4h_input_read(path, &text, &len, err) < 0)
        return -1;
    ynode *root;
    int rc = core_ytree_parse(path, text, len, &root, err);
    free(text);
    if (rc < 0)
        return -1;
    *json = core_ytree_to_json(root);
    core_ytree_free(root);
    return 0;
}
