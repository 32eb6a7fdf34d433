/* redact.c — defensive scan: the secrets the process holds never enter the
 * journal or the results file, whatever a producer let through (the rule
 * and the values live in core/secrets.c). Every text field of the record
 * is scanned — each STR, TEXT, SUMMARY and NAME of core.h's field lists —
 * so a field added to a list is covered without a line here. */
#include <string.h>

#include "store_internal.h"

/* Redact a fixed-size field in place; 1 when it held a secret, else 0. */
static size_t redact_fixed(char *s, size_t cap)
{
    if (!l4h_secrets_found(s, strnlen(s, cap), NULL, 0))
        return 0;
    l4h_secrets_redact_buf(s, cap);
    return 1;
}

#define REDACT(kind, m, w, col) REDACT_##kind(m)
#define REDACT_I32(m)
#define REDACT_I64(m)
#define REDACT_F64(m)
#define REDACT_FLAG(m)
#define REDACT_KEY(m)    /* 16 hex characters of a hash */
#define REDACT_STATUS(m) /* one of our names */
#define REDACT_NAME(m) n += redact_fixed(r->m, sizeof r->m);
#define REDACT_STR(m) n += l4h_secrets_redact(&r->m);
#define REDACT_TEXT(m) n += l4h_secrets_redact(&r->m);
#define REDACT_SUMMARY(m) n += l4h_secrets_redact(&r->m);

/* The secrets replaced in one call, exec or check record. Can't fail. */
static size_t redact_call(l4h_call_rec *r)
{
    size_t n = 0;
    L4H_CALL_FIELDS(REDACT)
    return n;
}

static size_t redact_exec(l4h_exec_rec *r)
{
    size_t n = 0;
    L4H_EXEC_FIELDS(REDACT)
    return n;
}

static size_t redact_check(l4h_check_rec *r)
{
    size_t n = 0;
    L4H_CHECK_FIELDS(REDACT)
    return n;
}

/* See store_internal.h. Can't fail. */
size_t store_redact_rec(l4h_task_rec *r)
{
    size_t n = 0;
    L4H_TASK_FIELDS(REDACT)
    for (size_t i = 0; i < r->n_calls; i++)
        n += redact_call(&r->calls[i]);
    for (size_t i = 0; i < r->n_execs; i++)
        n += redact_exec(&r->execs[i]);
    for (size_t i = 0; i < r->n_checks; i++)
        n += redact_check(&r->checks[i]);
    return n;
}
