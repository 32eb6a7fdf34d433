/* test_messages.c — what each model is sent: conversations and the
 * supervisor's review of an iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "llm4hep/agent.h"
#include "../../../src/agent/agent_internal.h"

static void has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected to find [%s] in:\n%s", part, text);
}

static void conversation_keeps_order_and_copies(void **state)
{
    (void)state;
    l4h_conv c = {0};
    char sys[] = "system prompt";
    agent_conv_add(&c, "system", sys);
    sys[0] = 'X'; /* the conversation holds its own copy */
    agent_conv_add(&c, "user", "plan");
    l4h_tool_call tc = {.id = "call_1", .name = "evaluate_boundaries", .arguments = "{\"boundaries\": [0.5]}"};
    l4h_chat_response resp = {.content = NULL, .tool_calls = &tc, .n_tool_calls = 1};
    l4h_message *m = agent_conv_add_answer(&c, &resp);
    assert_string_equal(m->role, "assistant");
    assert_null(m->content);
    assert_int_equal(m->n_tool_calls, 1);
    assert_ptr_not_equal(m->tool_calls[0].arguments, tc.arguments);
    assert_string_equal(m->tool_calls[0].arguments, tc.arguments);
    agent_conv_add_tool(&c, "call_1", "{\"z\": 2.1}");
    for (int i = 0; i < 30; i++) /* growth keeps earlier messages */
        agent_conv_add(&c, "user", "more");
    assert_int_equal(c.n, 34);
    assert_string_equal(c.msgs[0].content, "system prompt");
    assert_string_equal(c.msgs[3].role, "tool");
    assert_string_equal(c.msgs[3].tool_call_id, "call_1");
    agent_conv_set(&c, 0, "review prompt");
    assert_string_equal(c.msgs[0].content, "review prompt");
    agent_conv_set(&c, 99, "ignored");
    agent_conv_free(&c);
    assert_int_equal(c.n, 0);
    assert_null(c.msgs);
}

static void review_of_a_clean_run(void **state)
{
    (void)state;
    l4h_file_entry files[] = {{"arrays/data_raw.npy", 3680128}, {"generated_code/iter_2.py", 812}};
    l4h_exec_result res = {.exit_code = 0, .wall_s = 1.25, .max_rss_kb = 51200,
                           .stdout_text = "wrote 10000 rows\n", .stderr_text = "",
                           .files = files, .n_files = 2, .isolation = "bwrap"};
    l4h_iteration_report r = {.iteration = 2, .code = "import numpy as np\nprint('x')\n",
                              .code_note = "the python block", .res = &res};
    char *t = agent_review_text(&r);
    has(t, "Iteration 2.");
    has(t, "generated_code/iter_2.py; the python block");
    has(t, "```python\nimport numpy as np\nprint('x')\n```");
    has(t, "exit code 0 in 1.25 s (max RSS 50.0 MB)");
    has(t, "stdout:\n```\nwrote 10000 rows\n```");
    has(t, "stderr: (empty)");
    has(t, "  arrays/data_raw.npy  3680128 bytes\n");
    assert_null(strstr(t, "Note:"));
    free(t);
}

static void review_of_a_failure_with_notes(void **state)
{
    (void)state;
    l4h_exec_result res = {.exit_code = 1, .wall_s = 0.5,
                           .stderr_text = "Traceback (most recent call last):\nKeyError: 'ph_pt'\n",
                           .truncated = 1};
    l4h_iteration_report r = {.iteration = 1, .code = "s = '''\n```\n'''\n", .res = &res,
                              .tools_text = "- evaluate_boundaries({}) -> tool error: x\n",
                              .notes = "your previous message did not end with a verdict"};
    char *t = agent_review_text(&r);
    has(t, "exit code 1");
    has(t, "KeyError: 'ph_pt'");
    has(t, "cut to its head and tail");
    has(t, "The coder called tools:\n- evaluate_boundaries");
    has(t, "Note: your previous message did not end with a verdict");
    /* code holding ``` is wrapped in a longer fence so it stays one block */
    has(t, "````python\ns = '''\n```\n'''\n````");
    has(t, "Files in the workspace after the run:\n  (none)");
    free(t);
}

static void review_of_time_limit_and_signal(void **state)
{
    (void)state;
    l4h_exec_result res = {.exit_code = -1, .signal = 9, .timed_out = 1, .wall_s = 900};
    l4h_iteration_report r = {.iteration = 3, .code = "while True: pass\n", .res = &res};
    char *t = agent_review_text(&r);
    has(t, "stopped by the time limit after 900.0 s");
    free(t);
    l4h_exec_result res2 = {.exit_code = -1, .signal = 9, .wall_s = 2, .limit = "memory"};
    r.res = &res2;
    t = agent_review_text(&r);
    has(t, "stopped by the memory limit");
    free(t);
    l4h_exec_result res3 = {.exit_code = -1, .signal = 11, .wall_s = 2};
    r.res = &res3;
    t = agent_review_text(&r);
    has(t, "killed by signal 11");
    free(t);
}

static void review_without_code(void **state)
{
    (void)state;
    l4h_iteration_report r = {.iteration = 1, .code = NULL,
                              .code_note = "no fenced code block in the answer",
                              .coder_text = "I think we should first look at the files."};
    char *t = agent_review_text(&r);
    has(t, "held no code (no fenced code block in the answer), so nothing ran");
    has(t, "I think we should first look at the files.");
    assert_null(strstr(t, "```python"));
    free(t);
    r.coder_text = NULL;
    t = agent_review_text(&r);
    has(t, "The answer was empty.");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conversation_keeps_order_and_copies),
        cmocka_unit_test(review_of_a_clean_run),
        cmocka_unit_test(review_of_a_failure_with_notes),
        cmocka_unit_test(review_of_time_limit_and_signal),
        cmocka_unit_test(review_without_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
