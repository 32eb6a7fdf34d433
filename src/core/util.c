/* util.c — errors, the growable buffer and allocation that never returns NULL. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"

/* Set err to code and the formatted message. Returns -1. Can't fail. */
int l4h_err_set(l4h_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* Prefix err->msg with "prefix: ". Returns -1. Can't fail (truncates). */
int l4h_err_prefix(l4h_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char pre[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t np = strlen(pre), room = sizeof err->msg - 1;
    if (np + 2 > room)
        np = room - 2;
    size_t nm = strnlen(err->msg, room);
    if (np + 2 + nm > room)
        nm = room - np - 2;
    memmove(err->msg + np + 2, err->msg, nm);
    memcpy(err->msg, pre, np);
    err->msg[np] = ':';
    err->msg[np + 1] = ' ';
    err->msg[np + 2 + nm] = '\0';
    return -1;
}

/* Print the reason and abort: out of memory is not recoverable here. */
static void oom(size_t n)
{
    fprintf(stderr, "llm4hep: out of memory (asked for %zu bytes)\n", n);
    abort();
}

/* malloc that aborts on failure; never NULL (n == 0 gives 1 byte). */
void *l4h_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

/* calloc that aborts on failure (also on n*size overflow). */
void *l4h_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(size && n > SIZE_MAX / size ? SIZE_MAX : n * size);
    return p;
}

/* realloc that aborts on failure. */
void *l4h_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

/* strdup that aborts on failure; NULL -> NULL. */
char *l4h_xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = l4h_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

/* Make room for n more bytes plus the NUL. */
static void buf_grow(l4h_buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len - 1)
        oom(SIZE_MAX);
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->data = l4h_xrealloc(b->data, cap);
    b->cap = cap;
}

/* Append n bytes (may contain NULs). Aborts on out of memory. */
void l4h_buf_add(l4h_buf *b, const void *p, size_t n)
{
    buf_grow(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Append a C string. */
void l4h_buf_puts(l4h_buf *b, const char *s)
{
    l4h_buf_add(b, s, strlen(s));
}

/* Append formatted text. */
void l4h_buf_printf(l4h_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    buf_grow(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

/* Hand the bytes to the caller; the buffer becomes empty. Never NULL. */
char *l4h_buf_take(l4h_buf *b)
{
    char *d = b->data;
    if (!d)
        d = l4h_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

/* Free the bytes; the buffer becomes empty and reusable. */
void l4h_buf_free(l4h_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Free a NULL-terminated string vector (NULL is fine). */
void l4h_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* See core.h. */
int64_t l4h_add_sat_i64(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}
