/* verdict.c — the supervisor's verdict line (docs/design.md): the last non-empty
 * line is `VERDICT: DONE` or `VERDICT: CONTINUE`. Tolerated around it:
 * blanks and markdown emphasis or code marks (*, _, `) as models add them;
 * one or more spaces after the colon; a final period. Anything else is
 * CONTINUE and not well formed. */
#include <string.h>

#include "llm4hep/core.h"

static int is_deco(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '*' || c == '_' || c == '`';
}

/* 1 DONE, 0 CONTINUE; *well_formed 1 when the line was a verdict. Can't fail. */
int l4h_parse_verdict(const char *text, int *well_formed)
{
    int dummy;
    if (!well_formed)
        well_formed = &dummy;
    *well_formed = 0;
    if (!text)
        return 0;
    /* find the last non-empty line */
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' ||
                          end[-1] == '\t'))
        end--;
    if (end == text)
        return 0;
    const char *s = end, *e = end;
    while (s > text && s[-1] != '\n')
        s--;
    while (s < e && is_deco(*s))
        s++;
    while (e > s && (is_deco(e[-1]) || e[-1] == '.'))
        e--;
    static const char key[] = "VERDICT:";
    size_t kl = sizeof key - 1;
    if ((size_t)(e - s) < kl || strncmp(s, key, kl))
        return 0;
    s += kl;
    while (s < e && is_deco(*s))
        s++;
    size_t n = (size_t)(e - s);
    if (n == 4 && !strncmp(s, "DONE", 4)) {
        *well_formed = 1;
        return 1;
    }
    if (n == 8 && !strncmp(s, "CONTINUE", 8))
        *well_formed = 1;
    return 0;
}
