/* diff.c — a unified line diff (longest common subsequence) for showing
 * how a model's code changed from one iteration to the next. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/report.h"
#include "report_internal.h"

#define CONTEXT 3
#define MAX_CELLS (16u << 20) /* LCS table limit: past it, replace the middle wholesale */

typedef struct line {
    const char *p;
    size_t n;
} line;

typedef struct op {
    char kind;          /* ' ', '-', '+' */
    size_t apos, bpos;  /* lines of a and b consumed before this op */
} op;

/* Split text into lines (without their '\n'). Caller frees *out. */
static size_t split(const char *s, line **out)
{
    size_t n = 0, cap = 16;
    line *v = l4h_xmalloc(cap * sizeof *v);
    while (s && *s) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (n == cap)
            v = l4h_xrealloc(v, (cap *= 2) * sizeof *v);
        v[n++] = (line){s, len};
        s += len + (e ? 1 : 0);
    }
    *out = v;
    return n;
}

static int eq(line a, line b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

static void push(op **ops, size_t *n, size_t *cap, char kind, size_t apos, size_t bpos)
{
    if (*n == *cap)
        *ops = l4h_xrealloc(*ops, (*cap = *cap ? 2 * *cap : 64) * sizeof **ops);
    (*ops)[(*n)++] = (op){kind, apos, bpos};
}

/* The edit script from a to b. */
static size_t script(const line *a, size_t na, const line *b, size_t nb, op **ops)
{
    size_t n = 0, cap = 0, pre = 0, suf = 0;
    *ops = NULL;
    while (pre < na && pre < nb && eq(a[pre], b[pre]))
        pre++;
    while (suf < na - pre && suf < nb - pre && eq(a[na - 1 - suf], b[nb - 1 - suf]))
        suf++;
    for (size_t i = 0; i < pre; i++)
        push(ops, &n, &cap, ' ', i, i);
    size_t ma = na - pre - suf, mb = nb - pre - suf;
    const line *A = a + pre, *B = b + pre;
    size_t i = 0, j = 0;
    if (ma && mb && (ma + 1) * (mb + 1) <= MAX_CELLS) {
        uint32_t *L = l4h_xcalloc((ma + 1) * (mb + 1), sizeof *L);
#define AT(x, y) L[(x) * (mb + 1) + (y)]
        for (size_t x = ma; x-- > 0;)
            for (size_t y = mb; y-- > 0;)
                AT(x, y) = eq(A[x], B[y]) ? AT(x + 1, y + 1) + 1
                           : AT(x + 1, y) >= AT(x, y + 1) ? AT(x + 1, y) : AT(x, y + 1);
        while (i < ma && j < mb) {
            if (eq(A[i], B[j])) {
                push(ops, &n, &cap, ' ', pre + i, pre + j);
                i++, j++;
            } else if (AT(i + 1, j) >= AT(i, j + 1)) {
                push(ops, &n, &cap, '-', pre + i, pre + j);
                i++;
            } else {
                push(ops, &n, &cap, '+', pre + i, pre + j);
                j++;
            }
        }
#undef AT
        free(L);
    }
    for (; i < ma; i++)
        push(ops, &n, &cap, '-', pre + i, pre + j);
    for (; j < mb; j++)
        push(ops, &n, &cap, '+', pre + ma, pre + j);
    for (size_t k = 0; k < suf; k++)
        push(ops, &n, &cap, ' ', na - suf + k, nb - suf + k);
    return n;
}

void report_line_diff(const char *a, const char *b, const char *a_name, const char *b_name,
                   l4h_buf *out)
{
    line *la, *lb;
    size_t na = split(a, &la), nb = split(b, &lb);
    op *ops;
    size_t n = script(la, na, lb, nb, &ops);
    int header = 0;
    size_t k = 0;
    while (k < n) {
        while (k < n && ops[k].kind == ' ')
            k++;
        if (k == n)
            break;
        size_t start = k > CONTEXT ? k - CONTEXT : 0, last = k;
        for (size_t x = k; x < n && x <= last + 2 * CONTEXT; x++)
            if (ops[x].kind != ' ')
                last = x;
        size_t end = last + CONTEXT + 1 < n ? last + CONTEXT + 1 : n;
        size_t ca = 0, cb = 0;
        for (size_t x = start; x < end; x++) {
            ca += ops[x].kind != '+';
            cb += ops[x].kind != '-';
        }
        if (!header) {
            l4h_buf_printf(out, "--- %s\n+++ %s\n", a_name, b_name);
            header = 1;
        }
        l4h_buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", ops[start].apos + (ca ? 1 : 0), ca,
                       ops[start].bpos + (cb ? 1 : 0), cb);
        for (size_t x = start; x < end; x++) {
            const line *l = ops[x].kind == '+' ? &lb[ops[x].bpos] : &la[ops[x].apos];
            l4h_buf_add(out, &ops[x].kind, 1);
            l4h_buf_add(out, l->p, l->n);
            l4h_buf_puts(out, "\n");
        }
        k = end;
    }
    free(ops);
    free(la);
    free(lb);
}
