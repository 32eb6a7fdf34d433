/* extract.c — the python code the coder meant, out of a chat answer.
 *
 * A fence is a line whose first non-blank characters are three or more
 * backticks (or tildes), optionally followed by a language tag; the block
 * ends at a line holding only a fence of the same character at least as long.
 * Choice, in order: the last block tagged python/py/python3; else the last
 * untagged block; else nothing (blocks tagged with another language are not
 * python). A block left open at the end of the answer (a cut-off answer) is
 * taken to the end and the note says so. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llm4hep/agent.h"
#include "agent_internal.h"

typedef struct block {
    const char *start, *end; /* body, end exclusive */
    int kind;                /* 2 python, 1 untagged, 0 other language */
    int closed;
} block;

/* Length of the fence starting at p (after leading blanks), 0 if none. */
static size_t fence_len(const char *p, char *ch)
{
    size_t n = 0;
    if (*p != '`' && *p != '~')
        return 0;
    *ch = *p;
    while (p[n] == *ch)
        n++;
    return n >= 3 ? n : 0;
}

static const char *line_end(const char *p)
{
    const char *e = strchr(p, '\n');
    return e ? e : p + strlen(p);
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Kind of the info string between p and end: 2 python, 1 none, 0 other. */
static int tag_kind(const char *p, const char *end)
{
    p = skip_blanks(p, end);
    const char *q = p;
    while (q < end && !isspace((unsigned char)*q) && *q != '{')
        q++;
    size_t n = (size_t)(q - p);
    if (n == 0)
        return 1;
    if ((n == 6 && !strncasecmp(p, "python", 6)) || (n == 2 && !strncasecmp(p, "py", 2)) ||
        (n == 7 && !strncasecmp(p, "python3", 7)))
        return 2;
    return 0;
}

/* Is the line [p, end) a closing fence for ch x open_len? */
static int closes(const char *p, const char *end, char ch, size_t open_len)
{
    p = skip_blanks(p, end);
    size_t n = 0;
    while (p + n < end && p[n] == ch)
        n++;
    if (n < open_len)
        return 0;
    const char *rest = skip_blanks(p + n, end);
    return rest == end || (rest + 1 == end && *rest == '\r');
}

/* Returns a malloc'd copy of the chosen block (NULL when none); *note is a
 * static string describing the choice. Can't fail. */
char *agent_extract_code(const char *text, const char **note)
{
    const char *dummy;
    if (!note)
        note = &dummy;
    *note = "no fenced code block in the answer";
    if (!text)
        return NULL;

    block best[3] = {{0}};  /* last block of each kind */
    int count[3] = {0};
    const char *p = text;
    while (*p) {
        const char *e = line_end(p);
        const char *s = skip_blanks(p, e);
        char ch = 0;
        size_t flen = (s - p <= 3) ? fence_len(s, &ch) : 0;
        if (!flen) {
            p = *e ? e + 1 : e;
            continue;
        }
        /* backtick fences may not carry backticks in their info string */
        if (ch == '`' && memchr(s + flen, '`', (size_t)(e - s - flen))) {
            p = *e ? e + 1 : e;
            continue;
        }
        block b = {.kind = tag_kind(s + flen, e), .start = *e ? e + 1 : e};
        const char *q = b.start;
        b.end = q;
        while (*q) {
            const char *qe = line_end(q);
            if (closes(q, qe, ch, flen)) {
                b.end = q;
                b.closed = 1;
                break;
            }
            q = *qe ? qe + 1 : qe;
            b.end = q;
        }
        best[b.kind] = b;
        count[b.kind]++;
        if (!b.closed)
            break;
        p = line_end(b.end);
        p = *p ? p + 1 : p;
    }

    int k = count[2] ? 2 : count[1] ? 1 : -1;
    if (k < 0) {
        if (count[0])
            *note = "only code blocks tagged with another language than python";
        return NULL;
    }
    block b = best[k];
    if (!b.closed)
        *note = k == 2 ? "python block left open (answer cut off?), taken to the end"
                       : "untagged block left open (answer cut off?), taken to the end";
    else if (k == 2)
        *note = count[2] == 1 ? "the python block" : "the last of several python blocks";
    else
        *note = count[1] == 1 ? "the untagged code block" : "the last of several untagged blocks";

    size_t n = (size_t)(b.end - b.start);
    char *out = l4h_xmalloc(n + 1);
    memcpy(out, b.start, n);
    out[n] = '\0';
    /* blank-only bodies hold no code */
    const char *t = out;
    while (*t && isspace((unsigned char)*t))
        t++;
    if (!*t) {
        free(out);
        *note = "the code block is empty";
        return NULL;
    }
    return out;
}
