/* redact.c — defensive scan: the values of API-key variables never enter
 * the journal or the results file, whatever a producer let through. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

extern char **environ;

#define MIN_SECRET 8

/* Add NAME's value if it is long enough and not yet listed. */
static void add(secrets *s, const char *name, const char *value)
{
    if (!value || strlen(value) < MIN_SECRET)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].value, value))
            return;
    s->v = l4h_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n].name = l4h_xstrdup(name);
    s->v[s->n].value = l4h_xstrdup(value);
    s->n++;
}

void l4h_secrets_collect(const l4h_config *cfg, secrets *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; cfg && i < cfg->n_endpoints; i++)
        if (cfg->endpoints[i].api_key_env)
            add(s, cfg->endpoints[i].api_key_env, getenv(cfg->endpoints[i].api_key_env));
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char name[256];
        size_t n = (size_t)(eq - *e);
        if (n >= sizeof name)
            continue;
        memcpy(name, *e, n);
        name[n] = '\0';
        if (strstr(name, "API_KEY") || strstr(name, "TOKEN") || strstr(name, "SECRET"))
            add(s, name, eq + 1);
    }
}

void l4h_secrets_free(secrets *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].value);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

size_t l4h_redact(const secrets *s, char **text)
{
    size_t count = 0;
    for (size_t i = 0; *text && i < s->n; i++) {
        const char *v = s->v[i].value;
        if (!strstr(*text, v))
            continue;
        size_t vl = strlen(v);
        l4h_buf b = {0};
        const char *p = *text, *q;
        while ((q = strstr(p, v))) {
            l4h_buf_add(&b, p, (size_t)(q - p));
            l4h_buf_printf(&b, "[redacted:%s]", s->v[i].name);
            p = q + vl;
            count++;
        }
        l4h_buf_puts(&b, p);
        free(*text);
        *text = l4h_buf_take(&b);
    }
    return count;
}

size_t l4h_redact_rec(const secrets *s, l4h_task_rec *r)
{
    if (!s->n)
        return 0;
    size_t n = l4h_redact(s, &r->error_summary) + l4h_redact(s, &r->host);
    for (size_t i = 0; i < r->n_calls; i++)
        n += l4h_redact(s, &r->calls[i].request) + l4h_redact(s, &r->calls[i].response) +
             l4h_redact(s, &r->calls[i].attempt_log);
    for (size_t i = 0; i < r->n_execs; i++)
        n += l4h_redact(s, &r->execs[i].code) + l4h_redact(s, &r->execs[i].stdout_text) +
             l4h_redact(s, &r->execs[i].stderr_text);
    for (size_t i = 0; i < r->n_checks; i++)
        n += l4h_redact(s, &r->checks[i].report);
    return n;
}
