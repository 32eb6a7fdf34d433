/* test_text_command.c — text checks (file exists, every POSIX ERE matches,
 * the report names the ones that did not) and the judgement of a check
 * program's result (exit status, one JSON object, expect min/max). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "llm4hep/check.h"
#include "../../../src/check/check_internal.h"
#include "check_test_util.h"

static void rec_free(l4h_check_rec *rec)
{
    free(rec->check);
    free(rec->report);
    memset(rec, 0, sizeof *rec);
}

static void text_patterns(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/summary.txt", tmpdir);
    FILE *fp = fopen(path, "w");
    fputs("file data_A.GamGam.h5: tree mini, 1234 entries\nbranches: photon_pt photon_eta\n", fp);
    fputc('\0', fp); /* a NUL does not hide what follows */
    fputs("\"boundaries\" : [0.3]\n", fp);
    fclose(fp);
    char *ok[] = {"mini", "photon_pt", "data_A\\.GamGam", "^branches:", "[0-9]+ entries$",
                  "\"boundaries\"[[:space:]]*:"};
    l4h_check_rec rec = {0};
    assert_int_equal(check_text(path, ok, 6, &rec), 0);
    assert_true(rec.passed);
    assert_int_equal(rec.n_bad, 0);
    assert_true(isnan(rec.max_rel_diff));
    assert_true(strncmp(rec.report, "PASS ", 5) == 0);
    assert_true(strncmp(rec.check, "text:", 5) == 0);
    rec_free(&rec);

    char *bad[] = {"mini", "jet_pt", "^photon_pt", "(unclosed"};
    assert_int_equal(check_text(path, bad, 4, &rec), 0);
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, 3);
    assert_contains(rec.report, "FAIL ");
    assert_contains(rec.report, "3 of 4 patterns not found");
    assert_contains(rec.report, "pattern 2 'jet_pt' not found");
    assert_contains(rec.report, "pattern 3 '^photon_pt' not found");
    assert_contains(rec.report, "pattern 4 '(unclosed' is not a valid POSIX extended regular expression");
    assert_null(strstr(rec.report, "'mini'"));
    rec_free(&rec);

    /* an existing check name is kept */
    rec.check = strdup("text:summary.txt");
    snprintf(path, sizeof path, "%s/absent.txt", tmpdir);
    assert_int_equal(check_text(path, ok, 1, &rec), 0);
    assert_string_equal(rec.check, "text:summary.txt");
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, -1);
    assert_contains(rec.report, "the output was not written");
    rec_free(&rec);

    /* a directory where a file should be */
    assert_int_equal(check_text(tmpdir, ok, 1, &rec), 0);
    assert_false(rec.passed);
    assert_contains(rec.report, "not a regular file");
    rec_free(&rec);
}

static l4h_exec_result result(int code, const char *out, const char *err)
{
    l4h_exec_result r = {0};
    r.exit_code = code;
    r.stdout_text = (char *)out;
    r.stderr_text = (char *)err;
    r.wall_s = 1.5;
    return r;
}

static const l4h_expect EXPECT[] = {
    {.key = "z_ratio", .has_min = 1, .min = 0.95},
    {.key = "auc_delta", .has_min = 1, .min = -0.02, .has_max = 1, .max = 0.02},
    {.key = "valid", .has_min = 1, .min = 1},
};

static l4h_check_rec judge(l4h_exec_result r)
{
    l4h_check_rec rec = {0};
    assert_int_equal(check_command_result("checks/x.py", &r, EXPECT, 3, &rec), 0);
    assert_non_null(rec.report);
    assert_true(isnan(rec.max_rel_diff));
    return rec;
}

static void command_expectations(void **state)
{
    (void)state;
    l4h_check_rec rec = judge(result(0, "{\"z_ratio\": 0.98, \"auc_delta\": -0.01, \"valid\": true, \"z\": 2.1}\n", ""));
    assert_true(rec.passed);
    assert_int_equal(rec.n_bad, 0);
    assert_string_equal(rec.check, "command:checks/x.py");
    assert_contains(rec.report, "PASS checks/x.py: 3 expectations met");
    assert_contains(rec.report, "z_ratio = 0.98 (>= 0.95)");
    assert_contains(rec.report, "\"z\":2.1");
    rec_free(&rec);

    /* at the bounds passes, beyond fails */
    rec = judge(result(0, "{\"z_ratio\": 0.95, \"auc_delta\": 0.02, \"valid\": 1}", ""));
    assert_true(rec.passed);
    rec_free(&rec);
    rec = judge(result(0, "{\"z_ratio\": 0.9499, \"auc_delta\": 0.0201, \"valid\": 1}", ""));
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, 2);
    assert_contains(rec.report, "FAIL checks/x.py: 2 of 3 expectations not met");
    assert_contains(rec.report, "z_ratio = 0.9499, below the minimum 0.95  <-- fails");
    assert_contains(rec.report, "auc_delta = 0.0201, above the maximum 0.02  <-- fails");
    rec_free(&rec);

    /* a missing key and a value that is not a number */
    rec = judge(result(0, "{\"z_ratio\": \"high\", \"valid\": 1}", ""));
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, 2);
    assert_contains(rec.report, "z_ratio: a string, expected a number");
    assert_contains(rec.report, "auc_delta: missing from the output");
    rec_free(&rec);

    /* Python's NaN reads as null, and fails */
    rec = judge(result(0, "{\"z_ratio\": NaN, \"auc_delta\": 0.0, \"valid\": 1, \"note\": \"NaN inside\"}", ""));
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, 1);
    assert_contains(rec.report, "z_ratio: null (or NaN), expected a number");
    assert_contains(rec.report, "NaN inside");
    rec_free(&rec);

    /* progress lines before the object: the last line is used */
    rec = judge(result(0, "loading...\nscoring...\n{\"z_ratio\": 1.0, \"auc_delta\": 0, \"valid\": 1}\n", ""));
    assert_true(rec.passed);
    assert_contains(rec.report, "output (last line of stdout)");
    rec_free(&rec);
}

static void command_failures(void **state)
{
    (void)state;
    /* not JSON: quote the first bytes */
    l4h_check_rec rec = judge(result(0, "z_ratio = 0.98\nall good\n", ""));
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, -1);
    assert_contains(rec.report, "printed no JSON object on stdout; it began: 'z_ratio = 0.98\\nall good\\n'");
    rec_free(&rec);
    rec = judge(result(0, "[1, 2, 3]", ""));
    assert_false(rec.passed);
    assert_contains(rec.report, "printed no JSON object");
    rec_free(&rec);
    rec = judge(result(0, "", ""));
    assert_contains(rec.report, "it began: ''");
    rec_free(&rec);

    /* a non-zero exit fails even with good numbers, and shows stderr's end */
    rec = judge(result(3, "{\"z_ratio\": 1.0, \"auc_delta\": 0, \"valid\": 1}",
                       "Traceback (most recent call last):\n  File \"x.py\", line 3\nOSError: reference unreadable\n"));
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, 0);
    assert_contains(rec.report, "FAIL checks/x.py: the program exited with status 3");
    assert_contains(rec.report, "OSError: reference unreadable");
    rec_free(&rec);

    /* a crash without output */
    l4h_exec_result r = result(-1, "", "Killed\n");
    r.signal = 9;
    rec = judge(r);
    assert_contains(rec.report, "killed by signal 9 and printed no JSON object");
    assert_contains(rec.report, "stderr (end):\n  Killed");
    rec_free(&rec);

    r = result(-1, "{\"z_ratio\": 1.0", "");
    r.timed_out = 1;
    r.wall_s = 900;
    rec = judge(r);
    assert_false(rec.passed);
    assert_contains(rec.report, "timed out after 900.0 s");
    rec_free(&rec);

    /* 200 bytes of binary junk are quoted safely and cut */
    char junk[201];
    for (int i = 0; i < 200; i++)
        junk[i] = (char)(i % 7 == 0 ? 1 : 'a' + i % 26);
    junk[200] = '\0';
    rec = judge(result(0, junk, ""));
    assert_contains(rec.report, "\\x01");
    assert_contains(rec.report, "'...");
    rec_free(&rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_patterns),
        cmocka_unit_test(command_expectations),
        cmocka_unit_test(command_failures),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
