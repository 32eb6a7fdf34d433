/* test_fields.c — every field of core.h's record lists, whatever the lists
 * hold (a field added tomorrow is covered without editing this test):
 * a record whose every field has a distinct value goes through the
 * journal, the HDF5 file and the reader and comes back equal, as its JSON
 * shows; a secret put in every text field reaches neither file. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hdf5.h>
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

/* A store for a file named leaf in the test's directory (its path in out). */
static l4h_store *open_store(const char *leaf, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", dir, leaf);
    l4h_config cfg = {.name = "unit", .output = out, .max_iterations = 10};
    l4h_store *st = NULL;
    l4h_err err = {0};
    if (l4h_store_open(&cfg, NULL, 0, &st, &err) != 0)
        fail_msg("%s: %s", out, err.msg);
    return st;
}

static void every_field_round_trips(void **state)
{
    (void)state;
    char out[300];
    l4h_err err = {0};
    l4h_store *st = open_store("fields.h5", out, sizeof out);
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

/* Rewrite the file's /tasks without the column drop, as a file written
 * before that column existed (the rows' other columns kept). */
static void drop_task_column(const char *path, const char *drop)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "tasks", H5P_DEFAULT);
    hid_t ft = H5Dget_type(d), sp = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp, &n, NULL);
    int nm = H5Tget_nmembers(ft);
    size_t size = 0;
    for (int i = 0; i < nm; i++) {
        char *name = H5Tget_member_name(ft, (unsigned)i);
        hid_t mt = H5Tget_member_type(ft, (unsigned)i);
        if (strcmp(name, drop) != 0)
            size += H5Tget_size(mt);
        H5Tclose(mt);
        H5free_memory(name);
    }
    hid_t sub = H5Tcreate(H5T_COMPOUND, size);
    size_t off = 0;
    for (int i = 0; i < nm; i++) {
        char *name = H5Tget_member_name(ft, (unsigned)i);
        hid_t mt = H5Tget_member_type(ft, (unsigned)i);
        if (strcmp(name, drop) != 0) {
            H5Tinsert(sub, name, off, mt);
            off += H5Tget_size(mt);
        }
        H5Tclose(mt);
        H5free_memory(name);
    }
    char *buf = calloc(n ? n : 1, size);
    assert_true(H5Dread(d, sub, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(d);
    assert_true(H5Ldelete(f, "tasks", H5P_DEFAULT) >= 0);
    hsize_t maxd = H5S_UNLIMITED, chunk = 64;
    hid_t nsp = H5Screate_simple(1, &n, &maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    d = H5Dcreate2(f, "tasks", sub, nsp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dwrite(d, sub, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    free(buf);
    H5Pclose(dcpl);
    H5Sclose(nsp);
    H5Sclose(sp);
    H5Tclose(sub);
    H5Tclose(ft);
    H5Dclose(d);
    H5Fclose(f);
}

/* A file written before a /tasks column existed reads it as 0, never as
 * whatever the reader's memory held (rows are read into zeroed memory). */
static void missing_task_column_reads_zero(void **state)
{
    (void)state;
    char out[300];
    l4h_err err = {0};
    l4h_store *st = open_store("old.h5", out, sizeof out);
    for (int k = 0; k < 40; k++) {
        l4h_task_rec rec;
        make_full(&rec);
        snprintf(rec.key, sizeof rec.key, "%016d", k);
        assert_true(rec.api_calls != 0);
        assert_int_equal(l4h_store_add(st, &rec, &err), 0);
        l4h_rec_clear(&rec);
    }
    assert_int_equal(l4h_store_close(st, 0, &err), 0);
    drop_task_column(out, "api_calls");
    /* Leave freed memory that is not zero where the reader will allocate. */
    for (int k = 0; k < 8; k++) {
        void *junk = malloc(64 * 1024);
        memset(junk, 0x5a, 64 * 1024);
        free(junk);
    }
    l4h_results *res = NULL;
    if (l4h_results_open(out, &res, &err) != 0)
        fail_msg("results: %s", err.msg);
    assert_int_equal(res->n_tasks, 40);
    for (size_t i = 0; i < res->n_tasks; i++)
        assert_int_equal(res->tasks[i].api_calls, 0);
    assert_int_not_equal(res->tasks[0].iterations, 0); /* the other columns are there */
    l4h_results_free(res);
}

/* A key held by the process (a variable named like one), put in every
 * text field able to hold it: the store replaces it everywhere. */
#define SECRET "sk-fields-0123456789abcdef"
#define HIDE(kind, m, w, col) HIDE_##kind(m, w)
#define HIDE_I32(m, w)
#define HIDE_I64(m, w)
#define HIDE_F64(m, w)
#define HIDE_FLAG(m, w)
#define HIDE_KEY(m, w)
#define HIDE_STATUS(m, w)
#define HIDE_NAME(m, w)                                                                            \
    if (sizeof d->m > sizeof SECRET)                                                               \
        snprintf(d->m, sizeof d->m, "%s", SECRET);
#define HIDE_STR(m, w) free(d->m), d->m = strdup("a " SECRET " b");
#define HIDE_TEXT(m, w) free(d->m), d->m = strdup("a " SECRET " b");
#define HIDE_SUMMARY(m, w) free(d->m), d->m = strdup("a " SECRET " b");

static void hide_task(l4h_task_rec *d) { L4H_TASK_FIELDS(HIDE) }
static void hide_call(l4h_call_rec *d) { L4H_CALL_FIELDS(HIDE) }
static void hide_exec(l4h_exec_rec *d) { L4H_EXEC_FIELDS(HIDE) }
static void hide_check(l4h_check_rec *d) { L4H_CHECK_FIELDS(HIDE) }

/* Journal callback: append the (decompressed) payload to the l4h_buf ctx. */
static int gather(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                  void *ctx, l4h_err *err)
{
    (void)type, (void)offset, (void)index, (void)err;
    l4h_buf_add(ctx, payload, len);
    l4h_buf_add(ctx, "\n", 1);
    return 0;
}

static void no_field_lets_a_secret_through(void **state)
{
    (void)state;
    setenv("L4H_FIELDS_API_KEY", SECRET, 1);
    l4h_secrets_forget();
    char out[300];
    l4h_err err = {0};
    l4h_store *st = open_store("secrets.h5", out, sizeof out);
    l4h_task_rec rec;
    make_full(&rec);
    hide_task(&rec);
    for (size_t i = 0; i < rec.n_calls; i++)
        hide_call(&rec.calls[i]);
    for (size_t i = 0; i < rec.n_execs; i++)
        hide_exec(&rec.execs[i]);
    for (size_t i = 0; i < rec.n_checks; i++)
        hide_check(&rec.checks[i]);
    char *before = l4h_rec_to_json(&rec);
    assert_non_null(strstr(before, SECRET)); /* the record did hold it */
    free(before);
    assert_int_equal(l4h_store_add(st, &rec, &err), 0);
    assert_int_equal(l4h_store_close(st, 0, &err), 0);
    l4h_rec_clear(&rec);

    char j[320];
    snprintf(j, sizeof j, "%s.journal", out);
    l4h_buf all = {0}; /* the payloads as read back: a task record is stored deflated */
    assert_int_equal(l4h_journal_read(j, 0, gather, &all, NULL, NULL, &err), 0);
    assert_null(memmem(all.data, all.len, "0123456789abcdef", 16));
    assert_non_null(memmem(all.data, all.len, "[redacted:L4H_FIELDS_API_KEY]", 29));
    l4h_buf_free(&all);
    l4h_results *res = NULL;
    if (l4h_results_open(out, &res, &err) != 0)
        fail_msg("results: %s", err.msg);
    l4h_task_rec got;
    assert_int_equal(l4h_results_task(res, 1, &got, &err), 0);
    char *js = l4h_rec_to_json(&got);
    assert_null(strstr(js, "0123456789abcdef"));
    free(js);
    l4h_rec_clear(&got);
    l4h_results_free(res);
    unsetenv("L4H_FIELDS_API_KEY");
    l4h_secrets_forget();
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/l4h-fields-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_round_trips),
        cmocka_unit_test(no_field_lets_a_secret_through),
        cmocka_unit_test(missing_task_column_reads_zero),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    l4h_remove_tree(dir, NULL);
    return rc;
}
