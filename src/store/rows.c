/* rows.c — a task record's fields to and from the rows of /tasks, /calls,
 * /execs and /checks, derived from core.h's field lists: one rule per kind
 * below, no field named. Where a text goes in the heap is the caller's
 * (store_put_text / store_get_text); the columns that are no field of the
 * record (task_id of a row, calls_row, n_calls, ...) are the caller's too. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ------------------------------------------------------ record -> row */

#define FILL(kind, m, w, col) FILL_##kind(m)
#define FILL_I32(m) d->m = s->m;
#define FILL_I64(m) d->m = s->m;
#define FILL_F64(m) d->m = s->m;
#define FILL_FLAG(m) d->m = (int8_t)(s->m != 0);
#define FILL_NAME(m) store_fix_set(d->m, sizeof d->m, s->m);
#define FILL_KEY(m) store_fix_set(d->m, sizeof d->m, s->m);
#define FILL_STR(m) store_fix_set(d->m, sizeof d->m, s->m);
#define FILL_STATUS(m) store_fix_set(d->m, sizeof d->m, l4h_status_name(s->m));
#define FILL_TEXT(m) put(ctx, #m, s->m, &d->m##_off, &d->m##_len);
/* The full text's ref is the caller's: a batch's summaries go first in the heap. */
#define FILL_SUMMARY(m) store_fix_set(d->m, sizeof d->m, s->m);

void store_task_fill(task_row *d, const l4h_task_rec *s, store_put_text put, void *ctx)
{
    (void)put, (void)ctx;
    L4H_TASK_FIELDS(FILL)
}

void store_call_fill(call_row *d, const l4h_call_rec *s, store_put_text put, void *ctx)
{
    (void)put, (void)ctx;
    L4H_CALL_FIELDS(FILL)
}

void store_exec_fill(exec_row *d, const l4h_exec_rec *s, store_put_text put, void *ctx)
{
    (void)put, (void)ctx;
    L4H_EXEC_FIELDS(FILL)
}

void store_check_fill(check_row *d, const l4h_check_rec *s, store_put_text put, void *ctx)
{
    (void)put, (void)ctx;
    L4H_CHECK_FIELDS(FILL)
}

/* ------------------------------------------------------ row -> record */

/* The status named in a fixed field; an unknown name reads as
 * error_internal (a file from a newer llm4hep, or damaged). Can't fail. */
static l4h_status status_of(const char *fix, size_t w)
{
    char name[64];
    store_fix_copy(name, sizeof name, fix, w);
    int s = l4h_status_parse(name);
    return s < 0 ? L4H_STATUS_ERROR_INTERNAL : (l4h_status)s;
}

/* A summary: the inline text, or the full one from its ref when the
 * inline one was cut. 0, or -1 from get (*out then NULL). */
static int summary_of(const char *fix, size_t w, int64_t off, int64_t len, char **out,
                      store_get_text get, void *ctx, l4h_err *err)
{
    *out = store_fix_get(fix, w);
    if (len <= (int64_t)strlen(*out))
        return 0;
    free(*out);
    *out = NULL;
    return get(ctx, "error_summary", off, len, out, err);
}

#define READ(kind, m, w, col) READ_##kind(m)
#define READ_I32(m) d->m = s->m;
#define READ_I64(m) d->m = s->m;
#define READ_F64(m) d->m = s->m;
#define READ_FLAG(m) d->m = s->m;
#define READ_NAME(m) store_fix_copy(d->m, sizeof d->m, s->m, sizeof s->m);
#define READ_KEY(m) store_fix_copy(d->m, sizeof d->m, s->m, sizeof s->m);
#define READ_STR(m) d->m = store_fix_get(s->m, sizeof s->m);
#define READ_STATUS(m) d->m = status_of(s->m, sizeof s->m);
#define READ_TEXT(m)                                                                               \
    if (get(ctx, #m, s->m##_off, s->m##_len, &d->m, err) != 0)                                     \
        return -1;
#define READ_SUMMARY(m)                                                                            \
    if (summary_of(s->m, sizeof s->m, s->m##_off, s->m##_len, &d->m, get, ctx, err) != 0)          \
        return -1;

int store_task_read(l4h_task_rec *d, const task_row *s, store_get_text get, void *ctx,
                    l4h_err *err)
{
    (void)get, (void)ctx, (void)err;
    L4H_TASK_FIELDS(READ)
    return 0;
}

int store_call_read(l4h_call_rec *d, const call_row *s, store_get_text get, void *ctx,
                    l4h_err *err)
{
    (void)get, (void)ctx, (void)err;
    L4H_CALL_FIELDS(READ)
    return 0;
}

int store_exec_read(l4h_exec_rec *d, const exec_row *s, store_get_text get, void *ctx,
                    l4h_err *err)
{
    (void)get, (void)ctx, (void)err;
    L4H_EXEC_FIELDS(READ)
    return 0;
}

int store_check_read(l4h_check_rec *d, const check_row *s, store_get_text get, void *ctx,
                     l4h_err *err)
{
    (void)get, (void)ctx, (void)err;
    L4H_CHECK_FIELDS(READ)
    return 0;
}

/* ------------------------------------------------------ a row's text refs */

#define REFS(kind, m, w, col) REFS_##kind(m, col)
#define REFS_I32(m, col)
#define REFS_I64(m, col)
#define REFS_F64(m, col)
#define REFS_FLAG(m, col)
#define REFS_NAME(m, col)
#define REFS_KEY(m, col)
#define REFS_STR(m, col)
#define REFS_STATUS(m, col)
#define REFS_TEXT(m, col)                                                                          \
    if (fn(ctx, table, col, s->m##_off, s->m##_len, err) != 0)                                     \
        return -1;
#define REFS_SUMMARY(m, col) REFS_TEXT(m, col)

int store_call_refs(const call_row *s, store_ref_fn fn, void *ctx, l4h_err *err)
{
    const char *table = "calls";
    (void)table, (void)fn, (void)ctx, (void)err;
    L4H_CALL_FIELDS(REFS)
    return 0;
}

int store_exec_refs(const exec_row *s, store_ref_fn fn, void *ctx, l4h_err *err)
{
    const char *table = "execs";
    (void)table, (void)fn, (void)ctx, (void)err;
    L4H_EXEC_FIELDS(REFS)
    return 0;
}

int store_check_refs(const check_row *s, store_ref_fn fn, void *ctx, l4h_err *err)
{
    const char *table = "checks";
    (void)table, (void)fn, (void)ctx, (void)err;
    L4H_CHECK_FIELDS(REFS)
    return 0;
}
