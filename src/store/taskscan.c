/* taskscan.c — read the few members of a task record that the store's
 * state needs (task_id, key, status, wall_s and the sizes of calls, execs
 * and checks) without building the record: one pass over the JSON that
 * skips every other value in place, allocating nothing. Resuming a large
 * campaign reads each record once this way; the full parse
 * (l4h_rec_from_json) stays for records written into the file. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

typedef struct scan {
    const char *p, *end;
} scan;

static void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Skip a string at s->p (which is '"'); *raw gets its body when it holds no
 * escape (else NULL). 0 or -1 (unterminated). */
static int skip_string(scan *s, const char **raw, size_t *n)
{
    const char *b = ++s->p;
    int esc = 0;
    for (;;) { /* memchr: the texts are most of a record's bytes */
        const char *q = memchr(s->p, '"', (size_t)(s->end - s->p));
        if (!q) {
            s->p = s->end;
            break;
        }
        const char *bs = memchr(s->p, '\\', (size_t)(q - s->p));
        if (!bs) {
            s->p = q;
            break;
        }
        esc = 1;
        s->p = bs + 2; /* the escaped byte, whatever it is */
        if (s->p > s->end)
            return -1;
    }
    if (s->p >= s->end)
        return -1;
    if (raw) {
        *raw = esc ? NULL : b;
        *n = (size_t)(s->p - b);
    }
    s->p++;
    return 0;
}

/* Skip one value of any kind; *elems (when not NULL) gets the number of
 * elements of an array. 0 or -1 (malformed). */
static int skip_value(scan *s, size_t *elems)
{
    ws(s);
    if (s->p >= s->end)
        return -1;
    char c = *s->p;
    if (c == '"')
        return skip_string(s, NULL, NULL);
    if (c != '{' && c != '[') { /* number or literal */
        const char *b = s->p;
        while (s->p < s->end && !strchr(",}] \t\r\n", *s->p))
            s->p++;
        return s->p > b ? 0 : -1;
    }
    int depth = 0, any = 0; /* any: the array holds something */
    size_t commas = 0;
    do {
        c = *s->p;
        if (c == '"') {
            any = 1;
            if (skip_string(s, NULL, NULL))
                return -1;
            continue;
        }
        if (c == '{' || c == '[') {
            any |= depth >= 1;
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 1) {
            commas++;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            any = 1;
        }
        s->p++;
    } while (depth > 0 && s->p < s->end);
    if (depth != 0)
        return -1;
    if (elems)
        *elems = any ? commas + 1 : 0;
    return 0;
}

/* See store_internal.h. */
int store_task_scan(const char *json, size_t len, task_scan *out)
{
    memset(out, 0, sizeof *out);
    scan s = {json, json + len};
    int have = 0;
    ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return -1;
    s.p++;
    for (;;) {
        ws(&s);
        if (s.p < s.end && *s.p == '}')
            break;
        const char *name;
        size_t nl;
        if (s.p >= s.end || *s.p != '"' || skip_string(&s, &name, &nl) || !name)
            return -1;
        ws(&s);
        if (s.p >= s.end || *s.p != ':')
            return -1;
        s.p++;
        ws(&s);
#define IS(lit) (nl == sizeof lit - 1 && !memcmp(name, lit, nl))
        if (IS("key") || IS("status")) {
            const char *v;
            size_t vl;
            if (s.p >= s.end || *s.p != '"' || skip_string(&s, &v, &vl) || !v)
                return -1;
            char *dst = IS("key") ? out->key : out->status;
            size_t cap = IS("key") ? sizeof out->key : sizeof out->status;
            if (vl >= cap)
                return -1;
            memcpy(dst, v, vl);
            dst[vl] = '\0';
            have |= IS("key") ? 1 : 2;
        } else if (IS("task_id") || IS("wall_s")) {
            if (s.p >= s.end || (*s.p != '-' && (*s.p < '0' || *s.p > '9')))
                return -1; /* a string ("NaN", a huge id): the full parse decides */
            char num[40], *e; /* a bounded copy: strtod never reads past len */
            size_t k = 0;
            while (s.p + k < s.end && k < sizeof num - 1 && strchr("+-.0123456789eE", s.p[k]))
                k++;
            memcpy(num, s.p, k);
            num[k] = '\0';
            double d = strtod(num, &e);
            if (e == num || e != num + k)
                return -1;
            s.p += k;
            if (IS("task_id")) {
                if (d != floor(d) || fabs(d) > 9007199254740992.0)
                    return -1;
                out->task_id = (int64_t)d;
                have |= 4;
            } else {
                out->wall_s = d;
                have |= 8;
            }
        } else if (IS("calls") || IS("execs") || IS("checks")) {
            if (s.p >= s.end || *s.p != '[')
                return -1;
            size_t *n = IS("calls") ? &out->n_calls : IS("execs") ? &out->n_execs : &out->n_checks;
            if (skip_value(&s, n))
                return -1;
        } else if (skip_value(&s, NULL)) {
            return -1;
        }
#undef IS
        ws(&s);
        if (s.p < s.end && *s.p == ',') {
            s.p++;
            continue;
        }
        if (s.p < s.end && *s.p == '}')
            break;
        return -1;
    }
    return (have & 7) == 7 ? 0 : -1; /* key, status, task_id; wall_s may be absent */
}
