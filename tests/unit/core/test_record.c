/* test_record.c — statuses and the exact JSON round trip of a task record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"

static void test_status(void **state)
{
    (void)state;
    for (int s = 0; s < L4H_STATUS_COUNT; s++)
        assert_int_equal(l4h_status_parse(l4h_status_name((l4h_status)s)), s);
    assert_string_equal(l4h_status_name(L4H_STATUS_FAILED_NO_CODE), "failed_no_code");
    assert_null(l4h_status_name(L4H_STATUS_COUNT));
    assert_null(l4h_status_name((l4h_status)-1));
    assert_int_equal(l4h_status_parse("bogus"), -1);
    assert_int_equal(l4h_status_parse(NULL), -1);
    assert_false(l4h_status_is_infra(L4H_STATUS_SUCCESS));
    assert_false(l4h_status_is_infra(L4H_STATUS_FAILED_LIMIT));
    assert_string_equal(l4h_status_name(L4H_STATUS_FAILED_REQUEST), "failed_request");
    assert_false(l4h_status_is_infra(L4H_STATUS_FAILED_REQUEST)); /* the model's */
    assert_false(l4h_status_is_infra(L4H_STATUS_COUNT));
    /* the names: success, failed_* (the model's), then error_* and interrupted */
    for (int s = 1; s < L4H_STATUS_COUNT; s++)
        assert_int_equal(l4h_status_is_infra((l4h_status)s),
                         strncmp(l4h_status_name((l4h_status)s), "failed_", 7) != 0);
    assert_true(l4h_status_is_infra(L4H_STATUS_ERROR_API));
    assert_true(l4h_status_is_infra(L4H_STATUS_ERROR_SANDBOX));
    assert_true(l4h_status_is_infra(L4H_STATUS_ERROR_INTERNAL));
    assert_true(l4h_status_is_infra(L4H_STATUS_INTERRUPTED));
}

/* Bitwise equality for doubles (NaN == NaN, -0 != 0). */
static void assert_same_double(double a, double b)
{
    assert_memory_equal(&a, &b, sizeof a);
}

static void fill(l4h_task_rec *r)
{
    r->task_id = 9007199254740993LL; /* 2^53 + 1: not exact as a double */
    strcpy(r->key, "0123456789abcdef");
    r->campaign = l4h_xstrdup("hgg");
    r->supervisor = l4h_xstrdup("openai/o3");
    r->coder = l4h_xstrdup("anthropic/claude-sonnet:latest");
    r->step = l4h_xstrdup("create_numpy");
    r->trial = 3;
    r->attempt = 2;
    r->final = 1;
    r->status = L4H_STATUS_FAILED_EXECUTION;
    r->approved = 1;
    r->iterations = 7;
    r->api_calls = 14;
    r->prompt_tokens = -5;
    r->completion_tokens = INT64_MAX;
    r->cost_usd = 0.1 + 0.2;
    r->wall_s = 1e-310; /* subnormal */
    r->llm_s = -0.0;
    r->exec_s = 1.7976931348623157e308;
    r->started_utc = 1795801435.123456789;
    r->run = 4;
    r->rank = 63;
    r->host = l4h_xstrdup("nid001234");
    strcpy(r->error_category, "wrong_branch");
    r->error_summary = NULL; /* stays NULL, not "" */

    l4h_call_rec *c = l4h_rec_add_call(r);
    assert_int_equal(c->iteration, 0);
    assert_null(c->model);
    c->iteration = 1;
    strcpy(c->agent, "supervisor");
    c->model = l4h_xstrdup("openai/o3");
    c->http_status = 429;
    c->attempts = 3;
    c->latency_s = 2.5;
    c->cost_usd = NAN;
    strcpy(c->finish_reason, "stop");
    c->request = l4h_xstrdup("{\"messages\":[{\"content\":\"quote \\\" tab\\t nl\\n \\u00e9\"}]}");
    c->response = l4h_xstrdup("raw \x01\x1f\x7f \xff\xfe not utf-8 \xc3\xa9 \"q\" \\ /");
    c = l4h_rec_add_call(r);
    strcpy(c->agent, "coder");
    c->call = 1;
    c->cost_usd = INFINITY;
    c->latency_s = -INFINITY;
    c->response = l4h_xstrdup("");

    l4h_exec_rec *e = l4h_rec_add_exec(r);
    strcpy(e->kind, "code");
    e->exit_code = -1;
    e->signal = 9;
    e->timed_out = 1;
    e->max_rss_kb = 123456;
    strcpy(e->isolation, "bwrap");
    e->code = l4h_xstrdup("import numpy as np\nprint('\\u2713')\n");
    e->stdout_text = l4h_xstrdup("line1\r\nline2");
    e->truncated = 1;

    l4h_check_rec *k = l4h_rec_add_check(r);
    k->check = l4h_xstrdup("array:arrays/data_raw.npy");
    k->n_bad = 12;
    k->max_rel_diff = 3.0000000000000004e-05;
    k->report = l4h_xstrdup("12 of 1000 values differ");
}

static void test_roundtrip(void **state)
{
    (void)state;
    l4h_task_rec r = {0}, b = {0};
    fill(&r);
    char *js = l4h_rec_to_json(&r);
    l4h_err err = {0};
    if (l4h_rec_from_json(js, strlen(js), &b, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(b.task_id, r.task_id);
    assert_string_equal(b.key, r.key);
    assert_string_equal(b.coder, r.coder);
    assert_string_equal(b.step, "create_numpy");
    assert_int_equal(b.trial, 3);
    assert_int_equal(b.attempt, 2);
    assert_int_equal(b.final, 1);
    assert_int_equal(b.status, L4H_STATUS_FAILED_EXECUTION);
    assert_int_equal(b.success, 0);
    assert_int_equal(b.approved, 1);
    assert_int_equal(b.prompt_tokens, -5);
    assert_true(b.completion_tokens == INT64_MAX);
    assert_same_double(b.cost_usd, r.cost_usd);
    assert_same_double(b.wall_s, r.wall_s);
    assert_same_double(b.llm_s, -0.0);
    assert_same_double(b.exec_s, r.exec_s);
    assert_same_double(b.started_utc, r.started_utc);
    assert_int_equal(b.rank, 63);
    assert_string_equal(b.error_category, "wrong_branch");
    assert_null(b.error_summary);
    assert_int_equal(b.n_calls, 2);
    assert_string_equal(b.calls[0].agent, "supervisor");
    assert_int_equal(b.calls[0].http_status, 429);
    assert_true(isnan(b.calls[0].cost_usd));
    assert_string_equal(b.calls[0].request, r.calls[0].request);
    assert_string_equal(b.calls[0].response, r.calls[0].response);
    assert_true(isinf(b.calls[1].cost_usd) && b.calls[1].cost_usd > 0);
    assert_true(isinf(b.calls[1].latency_s) && b.calls[1].latency_s < 0);
    assert_string_equal(b.calls[1].response, "");
    assert_null(b.calls[1].request);
    assert_int_equal(b.calls[1].call, 1);
    assert_int_equal(b.n_execs, 1);
    assert_int_equal(b.execs[0].exit_code, -1);
    assert_int_equal(b.execs[0].signal, 9);
    assert_int_equal(b.execs[0].max_rss_kb, 123456);
    assert_string_equal(b.execs[0].isolation, "bwrap");
    assert_string_equal(b.execs[0].code, r.execs[0].code);
    assert_string_equal(b.execs[0].stdout_text, "line1\r\nline2");
    assert_null(b.execs[0].stderr_text);
    assert_int_equal(b.n_checks, 1);
    assert_same_double(b.checks[0].max_rel_diff, r.checks[0].max_rel_diff);
    assert_int_equal(b.checks[0].n_bad, 12);
    /* a second trip is byte-identical */
    char *js2 = l4h_rec_to_json(&b);
    assert_string_equal(js, js2);
    free(js);
    free(js2);
    l4h_rec_clear(&r);
    l4h_rec_clear(&b);
    assert_null(r.calls);
    assert_int_equal(r.n_calls, 0);
    l4h_rec_clear(NULL);
}

static void bad(const char *js, const char *msg)
{
    l4h_task_rec r = {0};
    l4h_err err = {0};
    assert_int_equal(l4h_rec_from_json(js, strlen(js), &r, &err), -1);
    assert_int_equal(err.code, 2);
    assert_string_equal(err.msg, msg);
    assert_null(r.calls);
    assert_null(r.campaign);
}

static void test_malformed(void **state)
{
    (void)state;
    bad("{\"trial\": 1", "record: not valid JSON");
    bad("[1]", "record: task: expected an object");
    bad("{\"campaign\":\"x\",\"trial\": 1.5}", "record: task.trial: expected an integer");
    bad("{\"trial\": \"x\"}", "record: task.trial: expected an integer");
    bad("{\"trial\": 4294967296}", "record: task.trial: expected an integer");
    bad("{\"cost_usd\": \"lots\"}",
        "record: task.cost_usd: expected a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
    bad("{\"host\": 3}", "record: task.host: expected a string or null");
    bad("{\"key\": \"0123456789abcdef0\"}", "record: task.key: expected at most 16 bytes, got 17");
    bad("{\"status\": \"done\"}", "record: task.status: expected a status name (success, ...)");
    bad("{\"calls\": {}}", "record: calls: expected an array");
    bad("{\"calls\": [{\"model\":\"m\"}, {\"agent\": 1}]}", "record: calls[1].agent: expected a string");
    bad("{\"checks\": [7]}", "record: checks[0]: expected an object");
    /* missing fields are zero; unknown ones ignored */
    l4h_task_rec r = {0};
    l4h_err err = {0};
    const char *js = "{\"trial\": 2, \"future_field\": [1,2]}";
    assert_int_equal(l4h_rec_from_json(js, strlen(js), &r, &err), 0);
    assert_int_equal(r.trial, 2);
    assert_int_equal(r.status, L4H_STATUS_SUCCESS);
    l4h_rec_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
