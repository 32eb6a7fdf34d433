/* redact.c — defensive scan: the secrets the process holds never enter the
 * journal or the results file, whatever a producer let through (the rule
 * and the values live in core/secrets.c). */
#include "store_int.h"

/* See store_int.h. Can't fail. */
size_t l4h_redact_rec(l4h_task_rec *r)
{
    size_t n = l4h_secrets_redact(&r->error_summary) + l4h_secrets_redact(&r->host);
    for (size_t i = 0; i < r->n_calls; i++)
        n += l4h_secrets_redact(&r->calls[i].request) + l4h_secrets_redact(&r->calls[i].response) +
             l4h_secrets_redact(&r->calls[i].attempt_log);
    for (size_t i = 0; i < r->n_execs; i++)
        n += l4h_secrets_redact(&r->execs[i].code) + l4h_secrets_redact(&r->execs[i].stdout_text) +
             l4h_secrets_redact(&r->execs[i].stderr_text);
    for (size_t i = 0; i < r->n_checks; i++)
        n += l4h_secrets_redact(&r->checks[i].report);
    return n;
}
