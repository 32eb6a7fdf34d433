/* capture.c — keep the head and the tail of an output stream within a byte
 * budget, mark the cut, replace NUL bytes and redact secrets.
 *
 * Memory stays bounded by the budget whatever the code prints: the head is
 * filled once, the tail is a ring buffer holding the latest bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_internal.h"

static const char redacted[] = "[redacted]";
/* Secrets shorter than this are not redacted (they would wreck the output
 * and are no secret worth the name). */
#define MIN_SECRET 4

/* Set up c for a budget of `budget` bytes (half head, half tail; at least
 * 64 bytes in all). Can't fail. */
void l4h__capture_init(l4h_capture *c, size_t budget)
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
void l4h__capture_add(l4h_capture *c, const char *p, size_t n)
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

/* 1 when some secret is long enough to be redacted. */
static int has_secrets(char *const *secrets)
{
    for (size_t i = 0; secrets && secrets[i]; i++)
        if (strlen(secrets[i]) >= MIN_SECRET)
            return 1;
    return 0;
}

/* Replace every occurrence of every secret in s by [redacted]. Returns a
 * malloc'd NUL-terminated string. Can't fail. */
char *l4h__redact(const char *s, size_t len, char *const *secrets)
{
    l4h_buf out = {0};
    l4h_buf_add(&out, "", 0);
    size_t i = 0;
    while (i < len) {
        size_t hit = 0;
        for (size_t k = 0; secrets && secrets[k]; k++) {
            size_t sl = strlen(secrets[k]);
            if (sl >= MIN_SECRET && sl <= len - i && memcmp(s + i, secrets[k], sl) == 0 &&
                sl > hit)
                hit = sl;
        }
        if (hit) {
            l4h_buf_puts(&out, redacted);
            i += hit;
        } else {
            l4h_buf_add(&out, s + i, 1);
            i++;
        }
    }
    return l4h_buf_take(&out);
}

/* A secret cut in two by the head/tail cut leaves a piece on each side.
 * at_end = 1: length of the longest suffix of s[0..len) that is a proper
 * prefix of a secret (the head's end); at_end = 0: of the longest prefix of
 * s that is a proper suffix of a secret (the tail's start). Pieces shorter
 * than MIN_SECRET are not counted. */
static size_t secret_piece(const char *s, size_t len, char *const *secrets, int at_end)
{
    size_t best = 0;
    for (size_t k = 0; secrets && secrets[k]; k++) {
        size_t sl = strlen(secrets[k]);
        if (sl <= MIN_SECRET)
            continue;
        for (size_t m = sl - 1; m >= MIN_SECRET && m > best; m--) {
            const char *text = at_end ? s + len - m : s;
            const char *piece = at_end ? secrets[k] : secrets[k] + sl - m;
            if (m <= len && memcmp(text, piece, m) == 0) {
                best = m;
                break;
            }
        }
    }
    return best;
}

static void replace_nuls(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\0')
            p[i] = '?';
}

/* Build the kept text (see exec_internal.h). Frees the capture's buffers. */
char *l4h__capture_finish(l4h_capture *c, char *const *secrets, int *truncated)
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
        text = has_secrets(secrets) ? l4h__redact(all.data, all.len, secrets)
                                    : l4h_buf_take(&all);
        l4h_buf_free(&all);
    } else {
        *truncated = 1;
        size_t hl = c->head_len, t0 = 0;
        if (has_secrets(secrets)) {
            hl -= secret_piece(c->head, c->head_len, secrets, 1);
            t0 = secret_piece(tail, c->tail_len, secrets, 0);
        }
        char *h = l4h__redact(c->head, hl, secrets);
        char *t = l4h__redact(tail + t0, c->tail_len - t0, secrets);
        l4h_buf b = {0};
        l4h_buf_puts(&b, h);
        if (hl < c->head_len)
            l4h_buf_puts(&b, redacted);
        l4h_buf_printf(&b, "\n[... %llu bytes cut ...]\n", (unsigned long long)cut);
        if (t0)
            l4h_buf_puts(&b, redacted);
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
