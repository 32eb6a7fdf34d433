/* test_taskscan.c — the resume's quick scan of a task record agrees with
 * the full parse on every member the store's state needs, whatever the
 * texts hold (brackets, quotes, escapes, commas, non-ASCII), and declines
 * (-1, so the full parse decides) anything not in the writer's shape:
 * every truncation, a NaN wall time, a numeric status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/store/store_internal.h"

static const char *const nasty[] = {
    "", "plain", "a ] b } c [ d { e", "quote \" inside, and , commas",
    "back\\slash\\\" and \\\\", "γγ → {\"fake\":[1,2]}", "\n\t\r control", "]]]}}}", NULL};

/* A record with n calls, m execs, k checks whose texts are nasty[]. */
static void make(l4h_task_rec *r, int64_t id, size_t n, size_t m, size_t k, double wall,
                 int salt)
{
    memset(r, 0, sizeof *r);
    r->task_id = id;
    snprintf(r->key, sizeof r->key, "%016llx", (unsigned long long)(id * 7919 + salt));
    r->supervisor = strdup(nasty[salt % 8] ? nasty[salt % 8] : "");
    r->status = salt % 2 ? L4H_STATUS_FAILED_VALIDATION : L4H_STATUS_ERROR_API;
    r->wall_s = wall;
    r->error_summary = strdup(nasty[(salt + 3) % 8] ? nasty[(salt + 3) % 8] : "");
    for (size_t i = 0; i < n; i++) {
        l4h_call_rec *c = l4h_rec_add_call(r);
        c->request = strdup(nasty[(i + salt) % 8] ? nasty[(i + salt) % 8] : "");
        c->response = i % 2 ? NULL : strdup("{\"choices\":[{\"x\":\"]\"}]}");
    }
    for (size_t i = 0; i < m; i++)
        l4h_rec_add_exec(r)->stdout_text = strdup(nasty[(i + 1) % 8] ? nasty[(i + 1) % 8] : "");
    for (size_t i = 0; i < k; i++)
        l4h_rec_add_check(r)->report = strdup("[[]],{}");
}

static void scan_agrees_with_full_parse(void **state)
{
    (void)state;
    int salt = 0;
    for (size_t n = 0; n < 4; n++)
        for (size_t m = 0; m < 3; m++)
            for (size_t k = 0; k < 3; k++, salt++) {
                l4h_task_rec r;
                make(&r, 1000 + salt, n, m, k, 12.5 + salt, salt);
                char *js = l4h_rec_to_json(&r);
                l4h_rec_clear(&r);
                task_scan s;
                assert_int_equal(store_task_scan(js, strlen(js), &s), 0);
                l4h_task_rec f = {0};
                l4h_err e;
                assert_int_equal(l4h_rec_from_json(js, strlen(js), &f, &e), 0);
                assert_int_equal(s.task_id, f.task_id);
                assert_string_equal(s.key, f.key);
                assert_int_equal(l4h_status_parse(s.status), f.status);
                assert_true(s.wall_s == f.wall_s);
                assert_int_equal(s.n_calls, f.n_calls);
                assert_int_equal(s.n_execs, f.n_execs);
                assert_int_equal(s.n_checks, f.n_checks);
                l4h_rec_clear(&f);
                free(js);
            }
}

static void scan_declines_what_it_cannot_read(void **state)
{
    (void)state;
    l4h_task_rec r;
    make(&r, 7, 2, 1, 1, 3.0, 5);
    char *js = l4h_rec_to_json(&r);
    l4h_rec_clear(&r);
    size_t len = strlen(js);
    task_scan s;
    for (size_t cut = 0; cut < len; cut++) /* every torn or shortened payload */
        assert_int_equal(store_task_scan(js, cut, &s), -1);
    free(js);

    make(&r, 8, 1, 0, 0, NAN, 1); /* wall_s written as the string "NaN" */
    js = l4h_rec_to_json(&r);
    l4h_rec_clear(&r);
    assert_int_equal(store_task_scan(js, strlen(js), &s), -1);
    free(js);

    static const char *const bad[] = {
        "[]", "{\"key\":\"0123456789abcdef\",\"status\":3,\"task_id\":1}",
        "{\"key\":\"0123456789abcdef\",\"status\":\"success\"}",
        "{\"key\":\"0123456789abcdef0\",\"status\":\"success\",\"task_id\":1}",
        "{\"key\":\"0123456789abcdef\",\"status\":\"success\",\"task_id\":1.5}",
        "{\"key\":\"0123456789abcdef\",\"status\":\"success\",\"task_id\":1,\"calls\":{}}",
        "{\"key\":\"0123456789abcdef\" \"status\":\"success\",\"task_id\":1}",
        "{\"key\":\"0123456789abcdef\",\"status\":\"success\",\"task_id\":1,\"x\":[}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(store_task_scan(bad[i], strlen(bad[i]), &s), -1);
    const char *ok = " { \"calls\" : [ ] , \"key\":\"0123456789abcdef\",\"status\":\"success\","
                     "\"task_id\":12,\"execs\":[{},{}] } ";
    assert_int_equal(store_task_scan(ok, strlen(ok), &s), 0);
    assert_int_equal(s.task_id, 12);
    assert_int_equal(s.n_calls, 0);
    assert_int_equal(s.n_execs, 2);
    assert_true(s.wall_s == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scan_agrees_with_full_parse),
        cmocka_unit_test(scan_declines_what_it_cannot_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
