/* test_scripted.c — the scripted backend on tests/fixtures/llm/scripted:
 * answers by step, agent and call; code files as fenced python blocks; tool
 * calls with generated ids; per-trial replacements; usage per file and per
 * answer; past the end repeats the last; clear errors otherwise. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/llm/llm_internal.h"

#define DIR LLM4HEP_SOURCE_DIR "/tests/fixtures/llm/scripted"

static l4h_endpoint ep = {.name = "demo", .provider = L4H_PROVIDER_SCRIPTED, .dir = DIR};
static l4h_model_resolved model = {.name = "scripted/demo", .endpoint = &ep};

static int ask(void *st, const char *model_name, const char *step, const char *agent, int trial,
               int call, l4h_chat_response *r, l4h_err *err)
{
    l4h_message m = {.role = "user", .content = "go"};
    l4h_chat_request req = {.model = model_name, .messages = &m, .n_messages = 1};
    req.pos = (l4h_call_position){.supervisor = "s", .coder = "c", .step = step, .trial = trial,
                                  .agent = agent, .call = call};
    l4h_chat_response_clear(r);
    model.name = model_name;
    return llm_scripted_ops.chat(st, &model, &req, NULL, r, err);
}

static void test_answers_in_call_order(void **s)
{
    (void)s;
    void *st;
    l4h_err err;
    assert_int_equal(llm_scripted_ops.open(NULL, &ep, &st, &err), 0);
    l4h_chat_response r = {0};
    assert_int_equal(ask(st, "scripted/demo", "create_numpy", "supervisor", 1, 0, &r, &err), 0);
    assert_string_equal(r.content, "Read every data file and write the arrays. VERDICT: CONTINUE");
    assert_string_equal(r.finish_reason, "stop");
    assert_int_equal(r.prompt_tokens, 1200);
    assert_int_equal(r.completion_tokens, 300);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.http_status, 0);
    assert_non_null(strstr(r.attempt_log, "answer 1 of 3"));
    assert_non_null(strstr(r.request_json, "\"model\":\"scripted/demo\""));
    assert_non_null(strstr(r.response_json, "\"choices\""));

    assert_int_equal(ask(st, "scripted/demo", "create_numpy", "supervisor", 1, 2, &r, &err), 0);
    assert_string_equal(r.content, "Outputs have the right shape. VERDICT: DONE");
    /* past the end repeats the last */
    assert_int_equal(ask(st, "scripted/demo", "create_numpy", "supervisor", 1, 9, &r, &err), 0);
    assert_string_equal(r.content, "Outputs have the right shape. VERDICT: DONE");

    /* code files as fenced blocks, text first; per-answer usage overrides */
    assert_int_equal(ask(st, "scripted/demo", "create_numpy", "coder", 1, 0, &r, &err), 0);
    assert_string_equal(r.content, "```python\nimport numpy as np\nx = tree[\"ph_pt\"]\n```");
    assert_int_equal(ask(st, "demo", "create_numpy", "coder", 1, 1, &r, &err), 0);
    assert_string_equal(r.content,
                        "Fixed the branch name.\n\n```python\nimport numpy as np\nx = tree[\"photon_pt\"]\n```");
    assert_int_equal(r.prompt_tokens, 1200);
    assert_int_equal(r.completion_tokens, 50);
    l4h_chat_response_clear(&r);
    llm_scripted_ops.close(st);
}

static void test_tool_calls_and_trials(void **s)
{
    (void)s;
    void *st;
    l4h_err err;
    assert_int_equal(llm_scripted_ops.open(NULL, &ep, &st, &err), 0);
    l4h_chat_response r = {0};
    assert_int_equal(ask(st, "x/y/demo", "categorization", "coder", 1, 0, &r, &err), 0);
    assert_null(r.content);
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_int_equal(r.n_tool_calls, 1);
    assert_string_equal(r.tool_calls[0].id, "call_coder_0_0");
    assert_string_equal(r.tool_calls[0].name, "evaluate_boundaries");
    assert_string_equal(r.tool_calls[0].arguments, "{\"boundaries\": [0.4, 0.7]}");
    assert_int_equal(ask(st, "scripted/demo", "categorization", "coder", 1, 1, &r, &err), 0);
    assert_int_equal(r.n_tool_calls, 2);
    assert_string_equal(r.tool_calls[0].arguments, "{\"boundaries\":[0.5]}"); /* mapping → JSON */
    assert_string_equal(r.tool_calls[1].id, "call_coder_1_1");
    assert_string_equal(r.tool_calls[1].arguments, "{\"boundaries\": [0.3"); /* malformed, as written */
    /* trial 2 replaces the coder list of create_numpy only; unquoted trial keys work too */
    assert_int_equal(ask(st, "scripted/demo", "create_numpy", "coder", 2, 0, &r, &err), 0);
    assert_string_equal(r.content, "```python\nimport numpy as np\nx = tree[\"photon_pt\"][1:]\n```");
    assert_int_equal(ask(st, "scripted/demo", "create_numpy", "coder", 2, 5, &r, &err), 0);
    assert_non_null(strstr(r.content, "[1:]"));
    assert_int_equal(ask(st, "scripted/demo", "create_numpy", "supervisor", 2, 0, &r, &err), 0);
    assert_string_equal(r.content, "Read every data file and write the arrays. VERDICT: CONTINUE");
    assert_int_equal(ask(st, "scripted/demo", "categorization", "supervisor", 3, 0, &r, &err), 0);
    assert_string_equal(r.content, "Trial three only. VERDICT: DONE");
    /* deterministic: the same position gives the same bytes */
    char *first = l4h_xstrdup(r.response_json);
    assert_int_equal(ask(st, "scripted/demo", "categorization", "supervisor", 3, 0, &r, &err), 0);
    assert_string_equal(first, r.response_json);
    free(first);
    l4h_chat_response_clear(&r);
    llm_scripted_ops.close(st);
}

static void test_clear_errors(void **s)
{
    (void)s;
    void *st;
    l4h_err err;
    assert_int_equal(llm_scripted_ops.open(NULL, &ep, &st, &err), 0);
    l4h_chat_response r = {0};
    assert_int_equal(ask(st, "scripted/demo", "preprocess", "coder", 1, 0, &r, &err), -1);
    assert_int_equal(err.code, 2);
    assert_non_null(strstr(err.msg, "demo.yml: no answers for step `preprocess`"));
    assert_non_null(strstr(err.msg, "create_numpy, categorization"));
    assert_non_null(strstr(r.attempt_log, "result=fail"));
    assert_int_equal(ask(st, "scripted/demo", "categorization", "supervisor", 1, 0, &r, &err), -1);
    assert_non_null(strstr(err.msg, "step `categorization` has no answers for agent `supervisor`"));
    assert_int_equal(ask(st, "scripted/nobody", "s1", "coder", 1, 0, &r, &err), -1);
    assert_non_null(strstr(err.msg, "nobody.yml"));
    assert_int_equal(ask(st, "scripted/missing_code", "s1", "coder", 1, 0, &r, &err), -1);
    assert_non_null(strstr(err.msg, "code_file answers/does_not_exist.py"));
    assert_int_equal(ask(st, "scripted/badkey", "s1", "coder", 1, 0, &r, &err), -1);
    assert_non_null(strstr(err.msg, "unknown answer key `txt`"));
    assert_int_equal(ask(st, "scripted/demo", NULL, "coder", 1, 0, &r, &err), -1);
    assert_non_null(strstr(err.msg, "names no step and agent"));
    l4h_chat_response_clear(&r);
    llm_scripted_ops.close(st);

    l4h_endpoint bad = {.name = "bad", .provider = L4H_PROVIDER_SCRIPTED,
                        .dir = LLM4HEP_SOURCE_DIR "/tests/fixtures/llm/scripted-bad"};
    assert_int_equal(llm_scripted_ops.open(NULL, &bad, &st, &err), 0);
    assert_int_equal(ask(st, "toplevel", "s1", "coder", 1, 0, &r, &err), -1);
    assert_non_null(strstr(err.msg, "unknown key `step`"));
    l4h_chat_response_clear(&r);
    llm_scripted_ops.close(st);

    l4h_endpoint nodir = {.name = "nodir", .provider = L4H_PROVIDER_SCRIPTED, .dir = "/nonexistent/dir"};
    assert_int_equal(llm_scripted_ops.open(NULL, &nodir, &st, &err), -1);
    assert_non_null(strstr(err.msg, "not a directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_in_call_order),
        cmocka_unit_test(test_tool_calls_and_trials),
        cmocka_unit_test(test_clear_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
