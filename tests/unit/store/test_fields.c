/* test_fields.c — every field of core.h's record lists survives the
 * results file: a record whose every field (whatever the lists hold, so a
 * field added tomorrow is covered without editing this test) has a
 * distinct value goes through the journal, the HDF5 file and the reader,
 * and comes back equal, as its JSON shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/store.h"

static char dir[256];
static int seq;

/* A malloc'd text of about n bytes naming field number i (multi-byte
 * characters included, so cuts must respect UTF-8). */
static char *text_of(int i, size_t n)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "field %d:", i);
    while (b.len < n)
        l4h_buf_puts(&b, " γγ→ branch");
    return l4h_buf_take(&b);
}

/* A distinct value for each field, by kind (the lists' X). Values fit
 * their fixed fields except SUMMARY's, which is longer than its inline
 * column (read back in full from /text). */
#define SET(kind, m, w, col) SET_##kind(m, w)
#define SET_I32(m, w) d->m = ++seq;
#define SET_I64(m, w) d->m = ((int64_t)1 << 60) + ++seq; /* past 2^53: a JSON string */
#define SET_F64(m, w) d->m = ++seq + 0.25;
#define SET_FLAG(m, w) d->m = (++seq, 1);
#define SET_NAME(m, w) snprintf(d->m, sizeof d->m, "n%d", ++seq);
#define SET_KEY(m, w) snprintf(d->m, sizeof d->m, "%0*d", (int)(w), ++seq);
#define SET_STR(m, w) d->m = text_of(++seq, (w) / 2);
#define SET_TEXT(m, w) d->m = text_of(++seq, 3000);
#define SET_SUMMARY(m, w) d->m = text_of(++seq, 2 * (w));
#define SET_STATUS(m, w) d->m = (++seq, L4H_STATUS_FAILED_LIMIT);

static void fill_task(l4h_task_rec *d) { L4H_TASK_FIELDS(SET) }
static void fill_call(l4h_call_rec *d) { L4H_CALL_FIELDS(SET) }
static void fill_exec(l4h_exec_rec *d) { L4H_EXEC_FIELDS(SET) }
static void fill_check(l4h_check_rec *d) { L4H_CHECK_FIELDS(SET) }

/* A record with every field set, two of each row. */
static void make_full(l4h_task_rec *r)
{
    memset(r, 0, sizeof *r);
    fill_task(r);
    for (int i = 0; i < 2; i++) {
        fill_call(l4h_rec_add_call(r));
        fill_exec(l4h_rec_add_exec(r));
        fill_check(l4h_rec_add_check(r));
    }
}

static void every_field_round_trips(void **state)
{
    (void)state;
    char out[300];
    snprintf(out, sizeof out, "%s/fields.h5", dir);
    l4h_config cfg = {.name = "unit", .output = out, .max_iterations = 10};
    l4h_store *st = NULL;
    l4h_err err = {0};
    assert_int_equal(l4h_store_open(&cfg, NULL, 0, &st, &err), 0);
    l4h_task_rec rec;
    make_full(&rec);
    assert_int_equal(l4h_store_add(st, &rec, &err), 0);
    assert_int_equal(l4h_store_close(st, 0, &err), 0);
    /* The store assigned these (rec holds what it wrote). */
    assert_int_equal(rec.task_id, 1);
    assert_int_equal(rec.attempt, 1);
    assert_int_equal(rec.final, 1);

    l4h_results *res = NULL;
    if (l4h_results_open(out, &res, &err) != 0)
        fail_msg("results: %s", err.msg);
    assert_int_equal(res->n_tasks, 1);
    l4h_task_rec got;
    if (l4h_results_task(res, 1, &got, &err) != 0)
        fail_msg("task: %s", err.msg);
    char *want_js = l4h_rec_to_json(&rec), *got_js = l4h_rec_to_json(&got);
    assert_string_equal(got_js, want_js);
    /* The list of tasks holds the same fields (the summary in full too). */
    free(got_js);
    l4h_rec_clear(&got);
    l4h_rec_copy_fields(&got, &rec);
    l4h_task_rec head;
    l4h_rec_copy_fields(&head, &res->tasks[0]);
    want_js = (free(want_js), l4h_rec_to_json(&got));
    got_js = l4h_rec_to_json(&head);
    assert_string_equal(got_js, want_js);
    free(want_js);
    free(got_js);
    l4h_rec_clear(&got);
    l4h_rec_clear(&head);
    l4h_results_free(res);
    l4h_rec_clear(&rec);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/l4h-fields-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_round_trips),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    l4h_remove_tree(dir, NULL);
    return rc;
}
