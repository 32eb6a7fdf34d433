/* env.c — ${VAR} and ${VAR:-default} expansion, as in a POSIX shell. */
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"
#include "core_internal.h"

/* Expand ${VAR} and ${VAR:-default} in s into *out (caller frees).
 * ${VAR:-default} uses default when VAR is unset or empty (the shell's
 * meaning); the default itself may hold ${...}. "$$" is a literal "$"; a "$"
 * not followed by "{" is kept as is. An unset ${VAR} without a default, an
 * unterminated "${" or a bad name is -1 (code 2) naming it. */
int core_expand_env(const char *s, char **out, l4h_err *err)
{
    l4h_buf b = {0};
    l4h_buf_add(&b, "", 0);
    *out = NULL;
    const char *p = s;
    while (*p) {
        if (p[0] == '$' && p[1] == '$') {
            l4h_buf_puts(&b, "$");
            p += 2;
            continue;
        }
        if (!(p[0] == '$' && p[1] == '{')) {
            l4h_buf_add(&b, p, 1);
            p++;
            continue;
        }
        const char *name = p + 2;
        const char *q = name;
        while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
               *q == '_')
            q++;
        size_t nlen = (size_t)(q - name);
        if (nlen == 0 || (name[0] >= '0' && name[0] <= '9') || (*q != '}' && strncmp(q, ":-", 2))) {
            l4h_buf_free(&b);
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "bad variable reference '%.40s': expected ${NAME} or ${NAME:-default}",
                               p);
        }
        char *var = l4h_xmalloc(nlen + 1);
        memcpy(var, name, nlen);
        var[nlen] = '\0';
        const char *val = getenv(var);
        if (*q == '}') {
            if (!val) {
                l4h_err_set(err, L4H_EXIT_USAGE,
                            "environment variable '%s' is not set (use ${%s:-default} for a default)",
                            var, var);
                free(var);
                l4h_buf_free(&b);
                return -1;
            }
            l4h_buf_puts(&b, val);
            p = q + 1;
            free(var);
            continue;
        }
        /* ${NAME:-default}: find the matching '}' (defaults may nest ${...}). */
        const char *d = q + 2, *e = d;
        int depth = 0;
        for (; *e; e++) {
            if (e[0] == '$' && e[1] == '{') {
                depth++;
                e++;
            } else if (*e == '}') {
                if (depth == 0)
                    break;
                depth--;
            }
        }
        if (!*e) {
            free(var);
            l4h_buf_free(&b);
            return l4h_err_set(err, L4H_EXIT_USAGE, "unterminated '${%.40s': expected a closing '}'", name);
        }
        if (val && *val) {
            l4h_buf_puts(&b, val);
        } else {
            size_t dlen = (size_t)(e - d);
            char *dflt = l4h_xmalloc(dlen + 1);
            memcpy(dflt, d, dlen);
            dflt[dlen] = '\0';
            char *exp;
            int rc = core_expand_env(dflt, &exp, err);
            free(dflt);
            if (rc < 0) {
                free(var);
                l4h_buf_free(&b);
                return -1;
            }
            l4h_buf_puts(&b, exp);
            free(exp);
        }
        free(var);
        p = e + 1;
    }
    *out = l4h_buf_take(&b);
    return 0;
}
