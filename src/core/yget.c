/* yget.c — typed access to YAML nodes with messages that name the file, the
 * line and column, the key path, what was expected and what was found. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

int core_yfail(const yctx *c, const ynode *n, const char *path, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && *path)
        return l4h_err_set(c->err, L4H_EXIT_USAGE, "%s:%d:%d: key '%s': %s", c->file, n ? n->line : 1,
                           n ? n->col : 1, path, msg);
    return l4h_err_set(c->err, L4H_EXIT_USAGE, "%s:%d:%d: %s", c->file, n ? n->line : 1, n ? n->col : 1, msg);
}

const char *core_ydescribe(const ynode *n, char *buf, size_t size)
{
    if (!n)
        return "nothing";
    if (n->kind == Y_SEQ)
        return "a list";
    if (n->kind == Y_MAP)
        return "a mapping";
    if (core_yis_null(n))
        return "null";
    if (strlen(n->value) > 60)
        snprintf(buf, size, "'%.57s...'", n->value);
    else
        snprintf(buf, size, "'%s'", n->value);
    return buf;
}

const char *core_ypath_key(char *buf, const char *parent, const char *key)
{
    if (parent && *parent)
        snprintf(buf, 256, "%s.%s", parent, key);
    else
        snprintf(buf, 256, "%s", key);
    return buf;
}

const char *core_ypath_index(char *buf, const char *parent, size_t i)
{
    snprintf(buf, 256, "%s[%zu]", parent, i);
    return buf;
}

/* Levenshtein distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

const char *core_yclosest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, cands[i]);
        if (d < bestd)
            bestd = d, best = cands[i];
    }
    size_t limit = strlen(word) / 3;
    if (limit < 1)
        limit = 1;
    return bestd <= limit ? best : NULL;
}

int core_ycheck_keys(const yctx *c, const ynode *m, const char *path, const char *const *allowed)
{
    char got[80];
    if (!m || m->kind != Y_MAP)
        return core_yfail(c, m, path, "expected a mapping, got %s", core_ydescribe(m, got, sizeof got));
    size_t na = 0;
    while (allowed[na])
        na++;
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->value;
        size_t j = 0;
        while (j < na && strcmp(k, allowed[j]))
            j++;
        if (j < na)
            continue;
        char kp[256];
        core_ypath_key(kp, path, k);
        const char *near = core_yclosest(k, allowed, na);
        if (near)
            return core_yfail(c, m->keys[i], kp, "unknown key; did you mean '%s'?", near);
        l4h_buf b = {0};
        for (j = 0; j < na; j++)
            l4h_buf_printf(&b, "%s%s", j ? ", " : "", allowed[j]);
        core_yfail(c, m->keys[i], kp, "unknown key: expected one of %s", b.data);
        l4h_buf_free(&b);
        return -1;
    }
    return 0;
}

int core_yget_list(const yctx *c, const ynode *n, const char *path, const char *what)
{
    char got[80];
    if (n->kind != Y_SEQ || n->n == 0)
        return core_yfail(c, n, path, "expected a non-empty list of %s, got %s", what,
                     n->kind == Y_SEQ ? "an empty list" : core_ydescribe(n, got, sizeof got));
    return 0;
}

int core_yread_named(const yctx *c, const ynode *n, const char *path, const char *file, char **text,
                size_t *len)
{
    l4h_err e = {0};
    size_t n_read = 0;
    if (l4h_input_read(file, text, &n_read, &e) < 0)
        return core_yfail(c, n, path, "%s", e.msg);
    if (core_ycheck_utf8(file, *text, n_read, c->err) < 0) {
        free(*text);
        *text = NULL;
        return -1;
    }
    if (len)
        *len = n_read;
    return 0;
}

int core_yname_ok(const char *s, int allow_dot)
{
    if (!*s)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || (allow_dot && *p == '.')))
            return 0;
    return 1;
}

int core_yexpand(const yctx *c, const ynode *n, const char *path, const char *s, char **out)
{
    l4h_err e = {0};
    if (core_expand_env(s, out, &e) < 0)
        return core_yfail(c, n, path, "%s", e.msg);
    return 0;
}

int core_yget_str(const yctx *c, const ynode *n, const char *path, char **out)
{
    if (!n)
        return 0;
    char got[80];
    if (n->kind != Y_SCALAR || core_yis_null(n))
        return core_yfail(c, n, path, "expected a string, got %s", core_ydescribe(n, got, sizeof got));
    char *v;
    if (core_yexpand(c, n, path, n->value, &v) < 0)
        return -1;
    free(*out);
    *out = v;
    return 0;
}

int core_yget_path(const yctx *c, const ynode *n, const char *path, char **out)
{
    if (!n)
        return 0;
    char *v = NULL;
    if (core_yget_str(c, n, path, &v) < 0)
        return -1;
    if (!*v) {
        free(v);
        return core_yfail(c, n, path, "expected a path, got ''");
    }
    free(*out);
    *out = l4h_path_join(c->dir, v);
    free(v);
    return 0;
}

/* The expanded scalar text of n for a number, or -1 after reporting. */
static int number_text(const yctx *c, const ynode *n, const char *path, const char *what,
                       char **text)
{
    char got[80];
    if (n->kind != Y_SCALAR || core_yis_null(n))
        return core_yfail(c, n, path, "expected %s, got %s", what, core_ydescribe(n, got, sizeof got));
    return core_yexpand(c, n, path, n->value, text);
}

int core_yget_int(const yctx *c, const ynode *n, const char *path, int64_t min, int64_t max,
             int64_t *out)
{
    if (!n)
        return 0;
    char what[96];
    if (max == INT64_MAX)
        snprintf(what, sizeof what, "an integer >= %lld", (long long)min);
    else
        snprintf(what, sizeof what, "an integer from %lld to %lld", (long long)min, (long long)max);
    char *t;
    if (number_text(c, n, path, what, &t) < 0)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(t, &end, 10);
    int ok = end != t && !*end && !errno;
    if (!ok) {
        /* 1e3 or 2.0 are integers too when exact */
        double d = strtod(t, &end);
        if (end != t && !*end && isfinite(d) && d == floor(d) && fabs(d) < 9.2e18)
            ok = 1, x = (long long)d;
    }
    if (!ok || x < min || x > max) {
        core_yfail(c, n, path, "expected %s, got '%s'", what, t);
        free(t);
        return -1;
    }
    free(t);
    *out = x;
    return 0;
}

int core_yget_num(const yctx *c, const ynode *n, const char *path, double min, int min_excl,
             double *out)
{
    if (!n)
        return 0;
    char what[96];
    snprintf(what, sizeof what, "a number %s %g", min_excl ? ">" : ">=", min);
    char *t;
    if (number_text(c, n, path, what, &t) < 0)
        return -1;
    char *end;
    double d = strtod(t, &end);
    int ok = end != t && !*end && isfinite(d) && (min_excl ? d > min : d >= min);
    if (!ok) {
        core_yfail(c, n, path, "expected %s, got '%s'", what, t);
        free(t);
        return -1;
    }
    free(t);
    *out = d;
    return 0;
}

int core_yget_bool(const yctx *c, const ynode *n, const char *path, int *out)
{
    if (!n)
        return 0;
    char *t;
    if (number_text(c, n, path, "true or false", &t) < 0)
        return -1;
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
    for (int i = 0; i < 3; i++) {
        if (!strcmp(t, yes[i]) || !strcmp(t, no[i])) {
            *out = !strcmp(t, yes[i]);
            free(t);
            return 0;
        }
    }
    core_yfail(c, n, path, "expected true or false, got '%s'", t);
    free(t);
    return -1;
}

int core_yget_strlist(const yctx *c, const ynode *n, const char *path, char ***out, size_t *count)
{
    if (!n)
        return 0;
    char got[80];
    if (n->kind != Y_SEQ)
        return core_yfail(c, n, path, "expected a list of strings, got %s", core_ydescribe(n, got, sizeof got));
    char **v = l4h_xcalloc(n->n + 1, sizeof *v);
    for (size_t i = 0; i < n->n; i++) {
        char ip[256];
        core_ypath_index(ip, path, i);
        if (core_yget_str(c, n->items[i], ip, &v[i]) < 0) {
            l4h_strv_free(v);
            return -1;
        }
    }
    l4h_strv_free(*out);
    *out = v;
    *count = n->n;
    return 0;
}

/* Move (line, col) over text[0..n): columns count characters, not bytes. */
static void advance(const char *text, size_t n, int *line, int *col)
{
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\n')
            ++*line, *col = 1;
        else if (((unsigned char)text[i] & 0xc0) != 0x80)
            ++*col;
    }
}

int core_ycheck_placeholders(const char *file, int line, int col, const char *text, const char *key,
                        l4h_err *err)
{
    core_placeholder ph;
    for (const char *p = text; core_placeholder_next(p, &ph); p = ph.end) {
        advance(p, (size_t)(ph.open - p), &line, &col);
        char msg[512];
        if (core_placeholder_known(ph.name, ph.len, msg, sizeof msg) < 0) {
            if (key)
                return l4h_err_set(err, L4H_EXIT_USAGE, "%s:%d:%d: key '%s': %s", file, line, col,
                                   key, msg);
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s:%d:%d: %s", file, line, col, msg);
        }
        advance(ph.open, (size_t)(ph.end - ph.open), &line, &col);
    }
    return 0;
}
