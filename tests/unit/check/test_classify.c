/* test_classify.c — the rule-based error category and one-line summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "llm4hep/check.h"

static void add_exec(l4h_task_rec *rec, const char *kind, int iteration, int exit_code, const char *err)
{
    l4h_exec_rec *x = l4h_rec_add_exec(rec);
    snprintf(x->kind, sizeof x->kind, "%s", kind);
    x->iteration = iteration;
    x->exit_code = exit_code;
    x->code = strdup("pass");
    x->stdout_text = strdup("");
    x->stderr_text = strdup(err ? err : "");
}

static void add_check(l4h_task_rec *rec, const char *name, int passed, const char *report)
{
    l4h_check_rec *c = l4h_rec_add_check(rec);
    c->check = strdup(name);
    c->passed = passed;
    c->max_rel_diff = NAN;
    c->report = strdup(report);
}

static const char *TB_FNF =
    "Traceback (most recent call last):\n"
    "  File \"/workspace/generated_code/iter_1.py\", line 3, in <module>\n"
    "    f = h5py.File('/data/data_A.h5')\n"
    "  File \"/usr/lib/python3/dist-packages/h5py/_hl/files.py\", line 567, in __init__\n"
    "    fid = make_fid(name, mode, userblock_size, fapl, fcpl, swmr=swmr)\n"
    "FileNotFoundError: [Errno 2] Unable to open file (unable to open file: name = '/data/data_A.h5', "
    "errno = 2, error message = 'No such file or directory', flags = 0, o_flags = 0)\n";

static const char *TB_KEY =
    "Traceback (most recent call last):\n"
    "  File \"/workspace/generated_code/iter_2.py\", line 14, in <module>\n"
    "    pt = f['mini']['ph_pt'][:]\n"
    "KeyError: \"Unable to synchronously open object (object 'ph_pt' doesn't exist)\"\n";

static void expect(l4h_task_rec *rec, const char *category, const char *summary_part)
{
    l4h_classify(rec);
    assert_string_equal(rec->error_category, category);
    if (!summary_part) {
        assert_null(rec->error_summary);
        return;
    }
    assert_non_null(rec->error_summary);
    if (!strstr(rec->error_summary, summary_part))
        fail_msg("summary '%s' lacks '%s'", rec->error_summary, summary_part);
    assert_null(strchr(rec->error_summary, '\n'));
    assert_true(strlen(rec->error_summary) <= 300);
}

static void success_and_infrastructure(void **state)
{
    (void)state;
    l4h_task_rec rec = {0};
    rec.status = L4H_STATUS_SUCCESS;
    rec.error_summary = strdup("stale");
    add_exec(&rec, "code", 1, 0, "");
    expect(&rec, "", NULL);
    l4h_rec_clear(&rec);

    rec.status = L4H_STATUS_ERROR_API;
    l4h_call_rec *c = l4h_rec_add_call(&rec);
    snprintf(c->agent, sizeof c->agent, "coder");
    c->model = strdup("openai/gpt-5");
    c->http_status = 503;
    c->attempts = 8;
    c->response = strdup("{\"error\": \"overloaded\"}");
    expect(&rec, "api_error", "coder call to openai/gpt-5 failed (HTTP 503 after 8 attempts)");
    l4h_rec_clear(&rec);

    rec.status = L4H_STATUS_ERROR_API;
    rec.error_summary = strdup("supervisor call 3 to x failed: connection refused");
    expect(&rec, "api_error", "connection refused");
    l4h_rec_clear(&rec);

    rec.status = L4H_STATUS_ERROR_SANDBOX;
    rec.error_summary = strdup("workspace: /scratch not writable\nsecond line");
    expect(&rec, "other", "workspace: /scratch not writable second line");
    l4h_rec_clear(&rec);

    rec.status = L4H_STATUS_INTERRUPTED;
    expect(&rec, "other", "interrupted");
    l4h_rec_clear(&rec);
}

static void tracebacks(void **state)
{
    (void)state;
    l4h_task_rec rec = {0};
    rec.status = L4H_STATUS_FAILED_EXECUTION;
    add_exec(&rec, "code", 1, 1, TB_FNF);
    add_check(&rec, "array:arrays/data_raw.npy", 0, "FAIL arrays/data_raw.npy: the output was not written (no such file)\n");
    expect(&rec, "file_not_found", "FileNotFoundError: [Errno 2] Unable to open file");
    assert_non_null(strstr(rec.error_summary, "(iter_1.py line 3, iteration 1)"));
    l4h_rec_clear(&rec);

    /* the last code counts: a later KeyError */
    rec.status = L4H_STATUS_FAILED_EXECUTION;
    add_exec(&rec, "code", 1, 1, TB_FNF);
    add_exec(&rec, "code", 2, 1, TB_KEY);
    expect(&rec, "wrong_branch", "KeyError: \"Unable to synchronously open object (object 'ph_pt' doesn't exist)\" (iter_2.py line 14, iteration 2)");
    l4h_rec_clear(&rec);

    rec.status = L4H_STATUS_FAILED_EXECUTION;
    add_exec(&rec, "code", 1, 1, "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nValueError: no field of name photon_pt\n");
    expect(&rec, "wrong_branch", "ValueError: no field of name photon_pt");
    l4h_rec_clear(&rec);

    rec.status = L4H_STATUS_FAILED_EXECUTION;
    add_exec(&rec, "code", 1, 1, "Traceback (most recent call last):\n  File \"a.py\", line 9, in <module>\nRuntimeError: branch 'ph_eta' not found in tree mini\n");
    expect(&rec, "wrong_branch", "RuntimeError: branch 'ph_eta' not found");
    l4h_rec_clear(&rec);

    /* chained exceptions: the final one */
    rec.status = L4H_STATUS_FAILED_EXECUTION;
    add_exec(&rec, "code", 3, 1,
             "Traceback (most recent call last):\n  File \"a.py\", line 2, in <module>\nKeyError: 'x'\n\n"
             "During handling of the above exception, another exception occurred:\n\n"
             "Traceback (most recent call last):\n  File \"/workspace/generated_code/iter_3.py\", line 7, in <module>\n"
             "    1/0\nZeroDivisionError: division by zero\n");
    add_check(&rec, "array:a.npy", 0, "FAIL a.npy: 3 of 10 values (30%) differ\n");
    expect(&rec, "other", "ZeroDivisionError: division by zero (iter_3.py line 7, iteration 3)");
    l4h_rec_clear(&rec);

    /* a timeout, a crash without a traceback */
    rec.status = L4H_STATUS_FAILED_EXECUTION;
    add_exec(&rec, "code", 2, -1, "partial output\n");
    rec.execs[0].timed_out = 1;
    rec.execs[0].wall_s = 900;
    expect(&rec, "other", "the code timed out after 900 s");
    l4h_rec_clear(&rec);

    rec.status = L4H_STATUS_FAILED_EXECUTION;
    add_exec(&rec, "code", 1, -1, "");
    rec.execs[0].signal = 9;
    expect(&rec, "other", "killed by signal 9");
    l4h_rec_clear(&rec);
}

static void tool_errors(void **state)
{
    (void)state;
    l4h_task_rec rec = {0};
    rec.status = L4H_STATUS_FAILED_VALIDATION;
    add_exec(&rec, "tool", 1, 2, "tool error: the arguments of evaluate_boundaries are not valid JSON (at character 15): {\"boundaries\": [0.4,");
    add_exec(&rec, "code", 1, 0, "");
    add_check(&rec, "command:checks/significance.py", 0, "FAIL command:checks/significance.py: 1 of 3 expectations not met\n");
    expect(&rec, "function_calling", "tool error: the arguments of evaluate_boundaries are not valid JSON");
    l4h_rec_clear(&rec);

    /* a tool error the model recovered from is not the cause */
    rec.status = L4H_STATUS_FAILED_VALIDATION;
    add_exec(&rec, "tool", 1, 2, "tool error: unknown tool 'evaluate'; this step offers: evaluate_boundaries");
    add_exec(&rec, "tool", 1, 0, "");
    add_exec(&rec, "code", 1, 0, "");
    add_check(&rec, "command:checks/significance.py", 0, "FAIL command:checks/significance.py: 1 of 3 expectations not met\n  z_ratio = 0.9\n");
    expect(&rec, "semantic", "command:checks/significance.py: 1 of 3 expectations not met");
    l4h_rec_clear(&rec);

    /* the tool program itself rejects the arguments (exit 2) as the last call */
    rec.status = L4H_STATUS_FAILED_VALIDATION;
    add_exec(&rec, "tool", 1, 2, "");
    free(rec.execs[rec.n_execs - 1].stdout_text);
    rec.execs[rec.n_execs - 1].stdout_text =
        l4h_xstrdup("{\"error\": \"boundaries must be strictly increasing\"}");
    add_exec(&rec, "code", 1, 0, "");
    add_check(&rec, "command:checks/significance.py", 0, "FAIL command:checks/significance.py: 1 of 3 expectations not met\n");
    expect(&rec, "function_calling", "the tool rejected its arguments: {\"error\": \"boundaries must be strictly increasing\"}");
    l4h_rec_clear(&rec);

    /* no code at all, but a malformed tool call */
    rec.status = L4H_STATUS_FAILED_NO_CODE;
    add_exec(&rec, "tool", 1, 2, "tool error: unknown tool 'x'");
    expect(&rec, "function_calling", "unknown tool 'x'");
    l4h_rec_clear(&rec);

    rec.status = L4H_STATUS_FAILED_NO_CODE;
    expect(&rec, "other", "no answer of the coder held code");
    l4h_rec_clear(&rec);
}

static void check_reports(void **state)
{
    (void)state;
    l4h_task_rec rec = {0};
    rec.status = L4H_STATUS_FAILED_VALIDATION;
    add_exec(&rec, "code", 2, 0, "");
    add_check(&rec, "array:arrays/data_raw.npy", 1, "PASS arrays/data_raw.npy: all agree\n");
    add_check(&rec, "array:arrays/signal_raw.npy", 0,
              "FAIL arrays/signal_raw.npy: 1000 of 46000 values (2.17%) differ beyond 4 significant digits\n"
              "columns with mismatches (last axis of shape (1000, 46)):\n  column 44: ...\n");
    expect(&rec, "semantic", "arrays/signal_raw.npy: 1000 of 46000 values (2.17%) differ");
    assert_null(strstr(rec.error_summary, "FAIL"));
    l4h_rec_clear(&rec);

    rec.status = L4H_STATUS_FAILED_VALIDATION;
    add_exec(&rec, "code", 2, 0, "");
    add_check(&rec, "array:arrays/signal.npy", 0,
              "FAIL arrays/signal.npy: 5000 of 50000 values (10%) differ\n"
              "data quality: the candidate is 0 where the reference is not in column 32 (5000 of 5000 rows)\n");
    expect(&rec, "data_quality", "array:arrays/signal.npy: data quality: the candidate is 0 where the reference is not in column 32");
    l4h_rec_clear(&rec);

    /* "data quality:" only counts at the start of a line */
    rec.status = L4H_STATUS_FAILED_VALIDATION;
    add_exec(&rec, "code", 2, 0, "");
    add_check(&rec, "command:c.py", 0, "FAIL c.py: 1 of 1 expectations not met\noutput: '{\"note\": \"data quality: fine\"}'\n");
    expect(&rec, "semantic", "c.py: 1 of 1 expectations not met");
    l4h_rec_clear(&rec);

    /* clean run, outputs never written */
    rec.status = L4H_STATUS_FAILED_VALIDATION;
    add_exec(&rec, "code", 1, 0, "");
    add_check(&rec, "array:arrays/data_raw.npy", 0, "FAIL arrays/data_raw.npy: the output was not written (no such file)\n");
    add_check(&rec, "array:arrays/signal_raw.npy", 0, "FAIL arrays/signal_raw.npy: the output was not written (no such file)\n");
    expect(&rec, "file_not_found", "arrays/data_raw.npy: the output was not written (no such file) (and other outputs)");
    l4h_rec_clear(&rec);

    /* a limit: the agent's reason first, then the cause */
    rec.status = L4H_STATUS_FAILED_LIMIT;
    rec.error_summary = strdup("task wall time limit reached (limits.task_wall_s = 3600 s)");
    add_exec(&rec, "code", 4, 1, TB_KEY);
    expect(&rec, "wrong_branch", "task wall time limit reached (limits.task_wall_s = 3600 s); KeyError:");
    l4h_rec_clear(&rec);
}

static void long_summary_is_cut_on_a_character(void **state)
{
    (void)state;
    l4h_task_rec rec = {0};
    rec.status = L4H_STATUS_FAILED_EXECUTION;
    char err[2048] = "ValueError: ";
    for (int i = 0; i < 400; i++)
        strcat(err, "\xce\xb3"); /* gamma, 2 bytes */
    add_exec(&rec, "code", 1, 1, err);
    l4h_classify(&rec);
    assert_string_equal(rec.error_category, "other");
    size_t n = strlen(rec.error_summary);
    assert_true(n <= 300);
    /* no cut character at the end */
    assert_true(n >= 2 && (unsigned char)rec.error_summary[n - 1] == 0xb3);
    l4h_rec_clear(&rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(success_and_infrastructure),
        cmocka_unit_test(tracebacks),
        cmocka_unit_test(tool_errors),
        cmocka_unit_test(check_reports),
        cmocka_unit_test(long_summary_is_cut_on_a_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
