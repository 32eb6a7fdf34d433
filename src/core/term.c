/* term.c — text from outside (what a model wrote, what its code printed,
 * what a results file holds) made safe for a terminal: every control
 * character and every invisible reordering character is shown, never
 * obeyed. Only for display: what is recorded or run is never passed here. */
#include <stdio.h>
#include <string.h>

#include "llm4hep/core.h"

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code point
 * in *cp; 0 when the bytes there are not valid UTF-8 (overlong, surrogate,
 * above U+10FFFF, cut short). */
static size_t utf8_at(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    size_t len;
    unsigned v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Characters that reorder or hide text without showing themselves (the
 * "Trojan Source" bidi controls, zero-width marks, the BOM) and the C1
 * controls (U+0080..U+009F: CSI and friends on some terminals). */
static int invisible(unsigned cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff ||
           cp == 0x061c;
}

/* See core.h. */
void l4h_term_visible(const char *s, size_t n, l4h_buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    l4h_buf_add(out, "", 0);
    while (i < n) {
        unsigned cp = 0;
        size_t len = utf8_at(p + i, n - i, &cp);
        if (len == 0) {
            l4h_buf_printf(out, "\\x%02x", p[i]); /* not UTF-8: the byte's value */
            i++;
        } else if (cp == '\n' || cp == '\t') {
            l4h_buf_add(out, s + i, 1);
            i++;
        } else if (cp < 0x20 || cp == 0x7f) {
            char caret[3] = {'^', cp == 0x7f ? '?' : (char)(cp + '@'), '\0'};
            l4h_buf_add(out, caret, 2); /* ESC -> ^[, CR -> ^M, BEL -> ^G, as cat -v */
            i++;
        } else if (invisible(cp)) {
            l4h_buf_printf(out, "<U+%04X>", cp);
            i += len;
        } else {
            l4h_buf_add(out, s + i, len);
            i += len;
        }
    }
}

/* See core.h. */
void l4h_term_puts(void *fp, const char *s)
{
    if (!s)
        return;
    l4h_buf b = {0};
    l4h_term_visible(s, strlen(s), &b);
    fwrite(b.data, 1, b.len, (FILE *)fp);
    l4h_buf_free(&b);
}
