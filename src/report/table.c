/* table.c — a small text table: cells added row by row, printed aligned
 * for a terminal or as a markdown table. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

void report_table_init(rtable *t, const char *align, ...)
{
    memset(t, 0, sizeof *t);
    t->ncols = strlen(align);
    t->align = l4h_xstrdup(align);
    t->head = l4h_xcalloc(t->ncols, sizeof *t->head);
    va_list ap;
    va_start(ap, align);
    for (size_t i = 0; i < t->ncols; i++) {
        const char *h = va_arg(ap, const char *);
        t->head[i] = l4h_xstrdup(h ? h : "");
    }
    va_end(ap);
}

void report_table_init_v(rtable *t, const char *align, const char *const *heads)
{
    memset(t, 0, sizeof *t);
    t->ncols = strlen(align);
    t->align = l4h_xstrdup(align);
    t->head = l4h_xcalloc(t->ncols, sizeof *t->head);
    for (size_t i = 0; i < t->ncols; i++)
        t->head[i] = l4h_xstrdup(heads[i] ? heads[i] : "");
}

void report_table_cell(rtable *t, const char *fmt, ...)
{
    if (t->ncells == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->cells = l4h_xrealloc(t->cells, t->cap * sizeof *t->cells);
    }
    l4h_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof small) {
        l4h_buf_puts(&b, small);
    } else {
        char *big = l4h_xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        l4h_buf_puts(&b, big);
        free(big);
    }
    t->cells[t->ncells++] = l4h_buf_take(&b);
    t->nrows = (t->ncells + t->ncols - 1) / t->ncols;
}

/* Display width of UTF-8 text: code points, not bytes. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* How markdown must show the byte at s: 0 as itself, 1 after a backslash,
 * 2 as a space. A name from a results file (model, step, campaign,
 * annotation source) is hostile text: '|' would split a cell, '<' '>' '&'
 * reach a renderer as HTML or an entity, '*' '`' '~' '\' make emphasis or
 * code, "](" "][" "]:" a link, and a line break would end the table.
 * Can't fail. */
static int md_escape(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    if (c == '\n' || c == '\r' || c == '\t')
        return 2;
    if (c == ']')
        return s[1] == '(' || s[1] == '[' || s[1] == ':';
    return c && strchr("\\|<>&*`~", c) ? 1 : 0;
}

void report_md_puts(const char *s, FILE *out)
{
    for (; *s; s++) {
        int e = md_escape(s);
        if (e == 1)
            fputc('\\', out);
        fputc(e == 2 ? ' ' : *s, out);
    }
}

/* Display width of s as report_table_print writes it: escaped in markdown (md). */
static size_t shown_width(const char *s, int md)
{
    size_t w = width(s);
    for (; md && *s; s++)
        w += md_escape(s) == 1;
    return w;
}

static void pad(FILE *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', out);
}

static const char *cell(const rtable *t, size_t r, size_t c)
{
    size_t i = r * t->ncols + c;
    return i < t->ncells ? t->cells[i] : "";
}

void report_table_print(const rtable *t, l4h_report_format fmt, FILE *out)
{
    size_t *w = l4h_xcalloc(t->ncols, sizeof *w);
    int md = fmt == L4H_FMT_MARKDOWN;
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = shown_width(t->head[c], md);
        for (size_t r = 0; r < t->nrows; r++)
            if (shown_width(cell(t, r, c), md) > w[c])
                w[c] = shown_width(cell(t, r, c), md);
    }
    for (size_t r = 0; r < t->nrows + 2; r++) {
        if (md)
            fputs("| ", out);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s;
            if (r == 1) { /* the rule */
                if (md) {
                    fputs(t->align[c] == 'r' ? "" : ":", out);
                    for (size_t i = 0; i < (w[c] > 2 ? w[c] - 1 : 1); i++)
                        fputc('-', out);
                    fputs(t->align[c] == 'r' ? ":" : "", out);
                } else {
                    for (size_t i = 0; i < w[c]; i++)
                        fputc('-', out);
                }
                fputs(c + 1 < t->ncols ? (md ? " | " : "  ") : "", out);
                continue;
            }
            s = r == 0 ? t->head[c] : cell(t, r - 2, c);
            size_t sw = shown_width(s, md);
            int last = c + 1 == t->ncols;
            if (t->align[c] == 'r')
                pad(out, w[c] - sw);
            if (md)
                report_md_puts(s, out);
            else
                fputs(s, out);
            if (t->align[c] != 'r' && (!last || md))
                pad(out, w[c] - sw);
            if (!last)
                fputs(md ? " | " : "  ", out);
        }
        fputs(md ? " |\n" : "\n", out);
    }
    free(w);
}

void report_table_free(rtable *t)
{
    for (size_t i = 0; i < t->ncols; i++)
        free(t->head[i]);
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->head);
    free(t->cells);
    free(t->align);
    memset(t, 0, sizeof *t);
}
