/* capture.c — keep the head and the tail of an output stream within a byte
 * budget, mark the cut, replace NUL bytes and redact the secrets we hold
 * (core/secrets.c: the code's output is a text that can carry one).
 *
 * Memory stays bounded by the budget whatever the code prints: the head is
 * filled once, the tail is a ring buffer holding the latest bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_internal.h"

/* Set up c for a budget of `budget` bytes (half head, half tail; at least
 * 64 bytes in all). Can't fail. */
void exec_capture_init(l4h_capture *c, size_t budget)
{
    memset(c, 0, sizeof *c);
    if (budget < 64)
        budget = 64;
    c->head_cap = budget - budget / 2;
    c->tail_cap = budget / 2;
    c->head = l4h_xmalloc(c->head_cap);
    c->tail = l4h_xmalloc(c->tail_cap);
}

/* Add n bytes of output. Can't fail. */
void exec_capture_add(l4h_capture *c, const char *p, size_t n)
{
    c->total += n;
    size_t h = c->head_cap - c->head_len;
    if (h > n)
        h = n;
    memcpy(c->head + c->head_len, p, h);
    c->head_len += h;
    p += h;
    n -= h;
    if (n == 0)
        return;
    if (n >= c->tail_cap) { /* the new bytes alone fill the tail */
        memcpy(c->tail, p + (n - c->tail_cap), c->tail_cap);
        c->tail_start = 0;
        c->tail_len = c->tail_cap;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t end = (c->tail_start + c->tail_len) % c->tail_cap;
        c->tail[end] = p[i];
        if (c->tail_len < c->tail_cap)
            c->tail_len++;
        else
            c->tail_start = (c->tail_start + 1) % c->tail_cap;
    }
}

static void replace_nuls(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\0')
            p[i] = '?';
}

/* Build the kept text (see exec_internal.h). Frees the capture's buffers. */
char *exec_capture_finish(l4h_capture *c, int *truncated)
{
    /* linearise the tail */
    char *tail = l4h_xmalloc(c->tail_len + 1);
    for (size_t i = 0; i < c->tail_len; i++)
        tail[i] = c->tail[(c->tail_start + i) % c->tail_cap];
    replace_nuls(c->head, c->head_len);
    replace_nuls(tail, c->tail_len);
    uint64_t cut = c->total - c->head_len - c->tail_len;
    char *text;
    if (cut == 0) {
        l4h_buf all = {0};
        l4h_buf_add(&all, c->head, c->head_len);
        l4h_buf_add(&all, tail, c->tail_len);
        text = l4h_secrets_redact_mem(all.data, all.len);
        l4h_buf_free(&all);
    } else {
        *truncated = 1;
        size_t hl = c->head_len - l4h_secrets_piece(c->head, c->head_len, 1);
        size_t t0 = l4h_secrets_piece(tail, c->tail_len, 0);
        char *h = l4h_secrets_redact_mem(c->head, hl);
        char *t = l4h_secrets_redact_mem(tail + t0, c->tail_len - t0);
        l4h_buf b = {0};
        l4h_buf_puts(&b, h);
        if (hl < c->head_len)
            l4h_buf_puts(&b, l4h_secrets_piece_marker);
        l4h_buf_printf(&b, "\n[... %llu bytes cut ...]\n", (unsigned long long)cut);
        if (t0)
            l4h_buf_puts(&b, l4h_secrets_piece_marker);
        l4h_buf_puts(&b, t);
        free(h);
        free(t);
        text = l4h_buf_take(&b);
    }
    free(tail);
    free(c->head);
    free(c->tail);
    c->head = c->tail = NULL;
    return text;
}
