/* pieces.c — cut request bodies into pieces and index pieces by SHA-256
 * (pieces.h); pieces_file.c writes and reads them in the results file,
 * pieces_journal.c in the journal. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pieces.h"

/* ------------------------------------------------------------ cutting */

typedef struct cuts {
    size_t *v;
    size_t n, cap;
} cuts;

static void cut_at(cuts *c, size_t pos)
{
    if (pos == 0 || (c->n && c->v[c->n - 1] >= pos))
        return; /* no empty piece, cuts strictly increase */
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = l4h_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = pos;
}

/* Position just past the string starting at s[i] == '"', or n + 1 when it
 * does not end. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        const char *q = memchr(s + i, '"', n - i);
        if (!q)
            return n + 1;
        size_t j = (size_t)(q - s);
        size_t bs = 0; /* backslashes right before the quote */
        while (j - bs > i && s[j - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0)
            return j + 1;
        i = j;
    }
    return n + 1;
}

/* A JSON string whose body is at least this long is a piece of its own
 * (a message's content): the same text in an answer and in the next
 * request is then the same piece. */
#define LONG_STRING 256

/* The end (exclusive) of the body of the string at s[i] == '"' when the
 * string is terminated and its body is at least LONG_STRING bytes, else 0;
 * *next: the position just past the string. */
static size_t long_string(const char *s, size_t n, size_t i, size_t *next)
{
    size_t j = skip_string(s, n, i);
    if (j > n) { /* unterminated: the rest is not cut */
        *next = n;
        return 0;
    }
    *next = j; /* s[j - 1] is the closing quote */
    return j - 1 - (i + 1) >= LONG_STRING ? j - 1 : 0;
}

size_t store_pieces_split(const char *s, size_t n, size_t **ends)
{
    cuts c = {0};
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    if (i < n && s[i] == '{') {
        /* depth 1: inside the top-level object; an array opened at depth 1
         * is a member's value: cut around its elements (depth 2). */
        int depth = 0, in_array = 0;
        for (; i < n; i++) {
            char ch = s[i];
            if (ch == '"') {
                size_t next, end = long_string(s, n, i, &next);
                if (end) { /* its body is a piece */
                    cut_at(&c, i + 1);
                    cut_at(&c, end);
                }
                i = next - 1;
                continue;
            }
            if (ch == '{' || ch == '[') {
                depth++;
                if (depth == 2 && ch == '[') {
                    in_array = 1;
                    cut_at(&c, i + 1); /* the head ends with the bracket */
                }
            } else if (ch == '}' || ch == ']') {
                if (depth == 2 && in_array && ch == ']') {
                    cut_at(&c, i); /* the tail starts at the bracket */
                    in_array = 0;
                }
                if (--depth <= 0)
                    break;
            } else if (ch == ',' && depth == 2 && in_array) {
                cut_at(&c, i); /* the next element starts with its comma */
            }
        }
    }
    cut_at(&c, n);
    *ends = c.v;
    return c.n;
}

void store_pieces_each_long_string(const char *s, size_t n, void (*fn)(void *, size_t, size_t),
                                   void *ctx)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    if (i >= n || s[i] != '{')
        return;
    for (; i < n; i++) {
        if (s[i] != '"')
            continue;
        size_t next, end = long_string(s, n, i, &next);
        if (end)
            fn(ctx, i + 1, end);
        i = next - 1;
    }
}

/* ------------------------------------------------------ digest index */

typedef struct ix_entry {
    unsigned char d[32];
    int64_t v1; /* the value + 1; 0: an empty slot (40 bytes an entry) */
} ix_entry;

struct piece_index {
    ix_entry *e;
    size_t cap, n; /* cap a power of two */
};

piece_index *store_pieces_index_new(void)
{
    piece_index *ix = l4h_xcalloc(1, sizeof *ix);
    ix->cap = 1024;
    ix->e = l4h_xcalloc(ix->cap, sizeof *ix->e);
    return ix;
}

void store_pieces_index_free(piece_index *ix)
{
    if (!ix)
        return;
    free(ix->e);
    free(ix);
}

static size_t slot_of(const piece_index *ix, const unsigned char d[32])
{
    uint64_t h;
    memcpy(&h, d, sizeof h); /* a SHA-256 is uniform already */
    size_t i = (size_t)h & (ix->cap - 1);
    while (ix->e[i].v1 && memcmp(ix->e[i].d, d, 32))
        i = (i + 1) & (ix->cap - 1);
    return i;
}

int64_t store_pieces_index_get(const piece_index *ix, const unsigned char d[32])
{
    const ix_entry *e = &ix->e[slot_of(ix, d)];
    return e->v1 - 1;
}

/* Rehash ix into cap slots (a power of two above its count). Can't fail
 * (aborts on out of memory). */
static void rehash(piece_index *ix, size_t cap)
{
    piece_index big = {.cap = cap};
    big.e = l4h_xcalloc(big.cap, sizeof *big.e);
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->e[i].v1)
            big.e[slot_of(&big, ix->e[i].d)] = ix->e[i];
    free(ix->e);
    ix->e = big.e;
    ix->cap = big.cap;
}

void store_pieces_index_reserve(piece_index *ix, size_t n)
{
    size_t cap = ix->cap;
    while (n * 4 > cap * 3) /* keep the load under 3/4 */
        cap *= 2;
    if (cap != ix->cap)
        rehash(ix, cap);
}

void store_pieces_index_put(piece_index *ix, const unsigned char d[32], int64_t v)
{
    if ((ix->n + 1) * 4 > ix->cap * 3)
        rehash(ix, ix->cap * 2);
    ix_entry *e = &ix->e[slot_of(ix, d)];
    if (!e->v1) {
        memcpy(e->d, d, 32);
        ix->n++;
    }
    e->v1 = v + 1;
}

size_t store_pieces_index_count(const piece_index *ix)
{
    return ix->n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int store_pieces_unhex(const char *hex, unsigned char d[32])
{
    if (!hex || strlen(hex) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        d[i] = (unsigned char)(a << 4 | b);
    }
    return 0;
}

void store_pieces_digest(const void *s, size_t n, unsigned char d[32], char out_hex[65])
{
    char hex[65];
    l4h_sha256_hex(s, n, hex);
    store_pieces_unhex(hex, d);
    if (out_hex)
        memcpy(out_hex, hex, 65);
}
