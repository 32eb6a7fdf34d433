/* test_replay.c — the replay backend on recorded task rows handed over
 * through an l4h_replay_source (the CLI's reads the store; the round trip
 * through a real results file is tests/integration/test_chat_api.py's
 * replay): answers by (supervisor, coder, step, trial, agent, call), notes
 * a request that differs after normalising workspace paths, replays recorded
 * failures as failures, names what is missing, loads each task once. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/llm/llm_internal.h"

static char out[256];

static l4h_model_resolved model_for(const char *name, const l4h_endpoint *ep)
{
    l4h_model_resolved m;
    memset(&m, 0, sizeof m);
    m.name = name;
    m.endpoint = ep;
    m.temperature = (l4h_opt_num){L4H_OPT_SET, 0};
    return m;
}

/* The body the client would send for one user message. */
static char *body_for(const char *model, const char *text)
{
    l4h_endpoint ep = {.name = "x"};
    l4h_model_resolved m = model_for(model, &ep);
    l4h_message msg = {.role = "user", .content = (char *)text};
    l4h_chat_request req = {.model = model, .messages = &msg, .n_messages = 1};
    cJSON *t = llm_request_tree(&m, &req, 0, NULL);
    char *s = cJSON_PrintUnformatted(t);
    char *copy = strdup(s);
    cJSON_free(s);
    cJSON_Delete(t);
    return copy;
}

static void add_call(l4h_task_rec *r, const char *agent, int call, int status, const char *request,
                     const char *response, double cost)
{
    l4h_call_rec *c = l4h_rec_add_call(r);
    snprintf(c->agent, sizeof c->agent, "%s", agent);
    c->call = call;
    c->model = strdup("openai/gpt-5");
    c->http_status = status;
    c->attempts = status == 200 ? 1 : 8;
    c->latency_s = 2.5;
    c->prompt_tokens = 10;
    c->completion_tokens = 5;
    c->cost_usd = cost;
    c->request = strdup(request);
    c->response = strdup(response);
}

/* One attempt of the recorded task, as the store reads it back: attempt 0
 * (task 1) failed, attempt 1 (task 2) is final. With its calls when asked. */
static void build(int attempt, l4h_task_rec *r, int with_calls)
{
    memset(r, 0, sizeof *r);
    r->task_id = attempt + 1;
    snprintf(r->key, sizeof r->key, "00000000000000aa");
    r->campaign = strdup("replaytest");
    r->supervisor = strdup("openai/gpt-5");
    r->coder = strdup("openai/gpt-5");
    r->step = strdup("create_numpy");
    r->trial = 1;
    r->attempt = attempt + 1;
    r->final = attempt == 1;
    r->status = attempt == 0 ? L4H_STATUS_ERROR_API : L4H_STATUS_SUCCESS;
    r->host = strdup("h");
    r->cost_usd = NAN;
    if (!with_calls)
        return;
    char *req0 = body_for("openai/gpt-5", attempt == 0 ? "first attempt" : "Plan the step.");
    char *req1 = body_for("openai/gpt-5", "Write to /scratch/u/llm4hep-00000000000000aa-77-Ab12Cd/arrays/x.npy");
    char *resp0 = llm_response_body("openai/gpt-5", attempt == 0 ? "old" : "Plan: read. VERDICT: CONTINUE",
                                        NULL, 0, 100, 20);
    l4h_tool_call tc = {.id = "call_9", .name = "evaluate", .arguments = "{\"b\":[1]}"};
    char *resp1 = llm_response_body("openai/gpt-5", NULL, &tc, 1, 300, 40);
    add_call(r, "supervisor", 0, 200, req0, resp0, 0.002);
    add_call(r, "coder", 0, 200, req1, resp1, NAN);
    add_call(r, "coder", 1, 503, req1, "model openai/gpt-5 at endpoint cborg: gave up after 8 attempts; last: HTTP 503", 0);
    free(req0), free(req1), free(resp0), free(resp1);
}

/* The reader the CLI fills from the store (src/cli/replay_source.c), here
 * over records in memory: the file `out` holds the two attempts. */
static l4h_task_rec rows[2];
static int n_open, n_loads;

static int src_open(const char *path, void **handle, const l4h_task_rec **tasks, size_t *n_tasks,
                    l4h_err *err)
{
    if (strcmp(path, out) != 0)
        return l4h_err_set(err, L4H_EXIT_USAGE, "cannot open %s: No such file or directory", path);
    *handle = rows;
    *tasks = rows;
    *n_tasks = 2;
    n_open++;
    return 0;
}

static int src_load(void *handle, int64_t task_id, l4h_task_rec *out_rec, l4h_err *err)
{
    assert_ptr_equal(handle, rows);
    if (task_id < 1 || task_id > 2)
        return l4h_err_set(err, L4H_EXIT_USAGE, "no task %lld", (long long)task_id);
    n_loads++;
    build((int)task_id - 1, out_rec, 1);
    return 0;
}

static void src_close(void *handle)
{
    assert_ptr_equal(handle, rows);
    n_open--;
}

static const l4h_replay_source source = {src_open, src_load, src_close};

static int setup(void **s)
{
    (void)s;
    snprintf(out, sizeof out, "/tmp/llm4hep-test-replay/results.h5");
    build(0, &rows[0], 0);
    build(1, &rows[1], 0);
    l4h_llm_set_replay_source(&source);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    l4h_rec_clear(&rows[0]);
    l4h_rec_clear(&rows[1]);
    l4h_llm_set_replay_source(NULL);
    return 0;
}

static int ask(void *st, const char *agent, int call, const char *text, const char *step, int trial,
               l4h_chat_response *r, l4h_err *err)
{
    l4h_endpoint ep = {.name = "replay", .provider = L4H_PROVIDER_REPLAY, .file = out};
    l4h_model_resolved m = model_for("openai/gpt-5", &ep);
    l4h_message msg = {.role = "user", .content = (char *)text};
    l4h_chat_request req = {.model = "openai/gpt-5", .messages = &msg, .n_messages = 1};
    req.pos = (l4h_call_position){.supervisor = "openai/gpt-5", .coder = "openai/gpt-5",
                                  .step = step, .trial = trial, .agent = agent, .call = call};
    l4h_chat_response_clear(r);
    return llm_replay_ops.chat(st, &m, &req, NULL, r, err);
}

static void test_replays_the_final_attempt(void **s)
{
    (void)s;
    l4h_endpoint ep = {.name = "replay", .provider = L4H_PROVIDER_REPLAY, .file = out};
    void *st;
    l4h_err err;
    assert_int_equal(llm_replay_ops.open(NULL, &ep, &st, &err), 0);
    l4h_chat_response r = {0};
    assert_int_equal(ask(st, "supervisor", 0, "Plan the step.", "create_numpy", 1, &r, &err), 0);
    assert_string_equal(r.content, "Plan: read. VERDICT: CONTINUE"); /* not the first attempt's "old" */
    assert_int_equal(r.prompt_tokens, 100);
    assert_int_equal(r.http_status, 200);
    assert_float_equal(r.cost_usd, 0.002, 1e-12);
    assert_null(strstr(r.attempt_log, "differs"));
    assert_non_null(strstr(r.attempt_log, "result=ok"));

    /* same request with another workspace path: no difference noted */
    assert_int_equal(ask(st, "coder", 0, "Write to /tmp/llm4hep-00000000000000aa-12-zzzzzz/arrays/x.npy",
                         "create_numpy", 1, &r, &err), 0);
    assert_null(strstr(r.attempt_log, "differs"));
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_string_equal(r.tool_calls[0].id, "call_9");
    assert_true(isnan(r.cost_usd));
    /* under bubblewrap the view path is /workspace */
    assert_int_equal(ask(st, "coder", 0, "Write to /workspace/arrays/x.npy", "create_numpy", 1, &r, &err), 0);
    assert_null(strstr(r.attempt_log, "differs"));

    /* a different request is answered, and noted */
    assert_int_equal(ask(st, "supervisor", 0, "Plan the step, please.", "create_numpy", 1, &r, &err), 0);
    assert_string_equal(r.content, "Plan: read. VERDICT: CONTINUE");
    assert_non_null(strstr(r.attempt_log, "replay: request differs from the recorded one"));

    /* a recorded failure replays as a failure */
    assert_int_equal(ask(st, "coder", 1, "x", "create_numpy", 1, &r, &err), -1);
    assert_int_equal(err.code, 3);
    assert_non_null(strstr(err.msg, "failed when recorded"));
    assert_int_equal(r.http_status, 503);

    /* nothing recorded there */
    assert_int_equal(ask(st, "coder", 2, "x", "create_numpy", 1, &r, &err), -1);
    assert_non_null(strstr(err.msg, "no recorded answer for coder call 2 (2 coder calls recorded)"));
    assert_int_equal(ask(st, "coder", 0, "x", "preprocess", 1, &r, &err), -1);
    assert_non_null(strstr(err.msg, "has no task openai/gpt-5/openai/gpt-5/preprocess/trial 1"));
    assert_int_equal(ask(st, "coder", 0, "x", "create_numpy", 2, &r, &err), -1);

    l4h_model_resolved m = model_for("openai/gpt-5", &ep);
    assert_int_equal(llm_replay_ops.check_model(st, &m, &err), 0);
    m.name = "openai/o3";
    assert_int_equal(llm_replay_ops.check_model(st, &m, &err), -1);
    l4h_chat_response_clear(&r);
    assert_int_equal(n_loads, 1); /* the final attempt's task, loaded once */
    llm_replay_ops.close(st);
    assert_int_equal(n_open, 0);
}

static void test_missing_file_is_a_clear_error(void **s)
{
    (void)s;
    l4h_endpoint ep = {.name = "old", .provider = L4H_PROVIDER_REPLAY, .file = "/nonexistent/r.h5"};
    void *st;
    l4h_err err;
    assert_int_equal(llm_replay_ops.open(NULL, &ep, &st, &err), -1);
    assert_non_null(strstr(err.msg, "endpoint old: replay file"));
    l4h_endpoint nofile = {.name = "nf", .provider = L4H_PROVIDER_REPLAY};
    assert_int_equal(llm_replay_ops.open(NULL, &nofile, &st, &err), -1);
    assert_non_null(strstr(err.msg, "needs `file:`"));
}

/* A program that hands over no reader cannot replay, and says so. */
static void test_no_reader_is_a_clear_error(void **s)
{
    (void)s;
    l4h_llm_set_replay_source(NULL);
    l4h_endpoint ep = {.name = "old", .provider = L4H_PROVIDER_REPLAY, .file = out};
    void *st;
    l4h_err err;
    assert_int_equal(llm_replay_ops.open(NULL, &ep, &st, &err), -1);
    assert_int_equal(err.code, L4H_EXIT_USAGE);
    assert_non_null(strstr(err.msg, "cannot read results files"));
    l4h_llm_set_replay_source(&source);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replays_the_final_attempt),
        cmocka_unit_test(test_missing_file_is_a_clear_error),
        cmocka_unit_test(test_no_reader_is_a_clear_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
