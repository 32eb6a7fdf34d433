/* text.c — text the harness shows a model, made safe for any endpoint: valid
 * UTF-8 (what is not becomes U+FFFD, visibly), control bytes shown as their
 * Unicode "control pictures" instead of being sent raw, and long texts cut
 * to their head and tail with a marker saying how much was left out. The
 * code a model writes prints whatever it likes and names its files as it
 * likes; these functions are how that reaches a request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"
#include "core_internal.h"

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0 when it is not
 * one. *cp receives the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    unsigned lo = 0x80, hi = 0xBF, v;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0; /* no overlongs */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* <= U+10FFFF */
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
            return 0;
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return len;
}

/* Append the visible form of an ASCII control byte: U+2400 + c (␀ ... ␟),
 * U+2421 (␡) for DEL. */
static void control_picture(l4h_buf *b, unsigned c)
{
    unsigned cp = c == 0x7F ? 0x2421 : 0x2400 + c;
    char u[3] = {(char)(0xE0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3F)),
                 (char)(0x80 | (cp & 0x3F))};
    l4h_buf_add(b, u, 3);
}

/* Whether code point cp must be replaced under flags. */
static int unsafe(unsigned cp, unsigned flags)
{
    if (cp == '\n' || cp == '\t' || cp == '\r')
        return (flags & L4H_TEXT_ONE_LINE) != 0;
    if (cp < 0x20 || cp == 0x7F)
        return 1;
    if (cp >= 0x80 && cp <= 0x9F) /* C1 controls */
        return 1;
    if ((flags & L4H_TEXT_ONE_LINE) && (cp == 0x2028 || cp == 0x2029 || cp == 0x85))
        return 1;
    return 0;
}

/* See core.h. */
int l4h_text_is_clean(const char *s, size_t len, unsigned flags)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = utf8_seq(p + i, len - i, &cp);
        if (n == 0 || unsafe(cp, flags))
            return 0;
        i += n;
    }
    return 1;
}

/* See core.h. */
char *l4h_text_clean(const char *s, size_t len, unsigned flags)
{
    l4h_buf b = {0};
    l4h_buf_add(&b, "", 0);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    if (!s)
        len = 0;
    size_t run = 0; /* start of the clean run not yet copied */
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = utf8_seq(p + i, len - i, &cp);
        if (n && !unsafe(cp, flags)) {
            i += n;
            continue;
        }
        l4h_buf_add(&b, p + run, i - run);
        if (n == 0) {
            l4h_buf_add(&b, replacement, 3); /* one U+FFFD per bad byte */
            i += 1;
        } else if (cp < 0x80) {
            control_picture(&b, cp);
            i += n;
        } else {
            l4h_buf_add(&b, replacement, 3);
            i += n;
        }
        run = i;
    }
    l4h_buf_add(&b, p + run, len - run);
    return l4h_buf_take(&b);
}

/* See core.h. */
size_t core_utf8_floor(const char *s, size_t len, size_t at)
{
    if (at >= len)
        return len;
    /* step back over continuation bytes, at most three */
    size_t k = at;
    for (int i = 0; i < 3 && k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80; i++)
        k--;
    return ((unsigned char)s[k] & 0xC0) == 0x80 ? at : k;
}

/* See core.h. */
char *l4h_text_head_tail(const char *s, size_t max, const char *what, unsigned flags)
{
    size_t len = s ? strlen(s) : 0;
    if (len <= max)
        return l4h_xstrdup(s ? s : "");
    const char *fmt = flags & L4H_TEXT_ONE_LINE ? " [... %zu bytes of %s cut here ...] "
                                                : "\n[... %zu bytes of %s cut here ...]\n";
    const char *w = what && *what ? what : "this text";
    char marker[300];
    int m = snprintf(marker, sizeof marker, fmt, len, w);
    size_t mlen = m > 0 ? (size_t)m : 0;
    size_t keep = max > mlen ? max - mlen : 0;
    size_t head = core_utf8_floor(s, len, keep - keep / 2);
    size_t tail_at = len - keep / 2;
    for (int i = 0; i < 3 && tail_at < len && ((unsigned char)s[tail_at] & 0xC0) == 0x80; i++)
        tail_at++; /* forward to a character's start: the tail only shrinks */
    if (tail_at < head)
        tail_at = head;
    /* the marker names what was really cut (never more digits than above) */
    m = snprintf(marker, sizeof marker, fmt, tail_at - head, w);
    l4h_buf b = {0};
    l4h_buf_add(&b, s, head);
    l4h_buf_add(&b, marker, m > 0 ? strlen(marker) : 0);
    l4h_buf_add(&b, s + tail_at, len - tail_at);
    return l4h_buf_take(&b);
}
