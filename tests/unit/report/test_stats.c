/* test_stats.c — the report's statistics, the line diff and the category
 * parser, against values worked out by hand (or by the formulas' textbook
 * examples). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "llm4hep/report.h"
#include "../../../src/report/report_internal.h"

#define CLOSE(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void wilson(void **state)
{
    (void)state;
    double lo, hi;
    report_wilson(0, 0, 1.96, &lo, &hi);
    CLOSE(lo, 0.0);
    CLOSE(hi, 1.0);
    /* 5/10: centre 0.5, half-width 1.96*sqrt(0.025+0.009604)/1.38416 */
    report_wilson(5, 10, 1.96, &lo, &hi);
    double half = 1.96 * sqrt(0.25 / 10 + 1.96 * 1.96 / 400) / (1 + 1.96 * 1.96 / 10);
    CLOSE(lo, 0.5 - half);
    CLOSE(hi, 0.5 + half);
    assert_true(fabs(lo - 0.2366) < 1e-4 && fabs(hi - 0.7634) < 1e-4);
    report_wilson(0, 10, 1.96, &lo, &hi);
    CLOSE(lo, 0.0);
    assert_true(fabs(hi - 0.2775) < 1e-4);
    report_wilson(10, 10, 1.96, &lo, &hi);
    assert_true(fabs(lo - 0.7225) < 1e-4);
    CLOSE(hi, 1.0);
}

static void pass_k(void **state)
{
    (void)state;
    CLOSE(report_pass_at_k(5, 2, 2), 1.0 - 3.0 / 10.0);  /* 1 - C(3,2)/C(5,2) */
    CLOSE(report_pass_at_k(5, 2, 1), 0.4);
    CLOSE(report_pass_at_k(5, 4, 2), 1.0);               /* n - c < k */
    CLOSE(report_pass_at_k(3, 0, 3), 0.0);
    CLOSE(report_pass_hat_k(5, 2, 2), 1.0 / 10.0);        /* C(2,2)/C(5,2) */
    CLOSE(report_pass_hat_k(5, 2, 3), 0.0);
    CLOSE(report_pass_hat_k(3, 3, 3), 1.0);
    CLOSE(report_pass_hat_k(10, 7, 3), 7.0 * 6 * 5 / (10.0 * 9 * 8));
    assert_true(isnan(report_pass_at_k(3, 1, 4)));
    assert_true(isnan(report_pass_hat_k(3, 1, 0)));
    /* a large n stays finite and exact enough */
    CLOSE(report_pass_at_k(1000, 1, 1), 0.001);
}

static void mcnemar(void **state)
{
    (void)state;
    CLOSE(report_mcnemar_exact_p(0, 0), 1.0);
    CLOSE(report_mcnemar_exact_p(4, 0), 0.125);
    CLOSE(report_mcnemar_exact_p(0, 4), 0.125);
    CLOSE(report_mcnemar_exact_p(10, 2), 2.0 * 79.0 / 4096.0);
    CLOSE(report_mcnemar_exact_p(3, 3), 1.0);
    double p = report_mcnemar_exact_p(600, 400); /* large counts: log space */
    assert_true(p > 0 && p < 1e-9);
    double v[3] = {0.01, 0.04, 0.03};
    report_holm(v, 3);
    CLOSE(v[0], 0.03);
    CLOSE(v[1], 0.06);
    CLOSE(v[2], 0.06);
}

/* Holm with no memory for its work arrays says so and stops the process
 * (it used to return with the p-values unadjusted, passing for adjusted). */
static void holm_out_of_memory_is_reported(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        double p[1] = {0.5};
        report_holm(p, SIZE_MAX / 16); /* n x 8 bytes: no allocator can give that */
        _exit(0);                  /* reached only when the failure was skipped */
    }
    close(fds[1]);
    char buf[4096];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* our message, or the sanitizer's in an ASan build */
    assert_true(strstr(buf, "llm4hep: out of memory") || strstr(buf, "allocation size"));
}

static void line_diff(void **state)
{
    (void)state;
    l4h_buf b = {0};
    report_line_diff("a\nb\nc\n", "a\nb\nc\n", "v1", "v2", &b);
    assert_null(b.data);
    report_line_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n", "v1",
                  "v2", &b);
    assert_string_equal(b.data, "--- v1\n+++ v2\n"
                                "@@ -2,9 +2,10 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n+11\n");
    l4h_buf_free(&b);
    /* changes far apart make two hunks */
    report_line_diff("a\n1\n2\n3\n4\n5\n6\n7\n8\nz\n", "A\n1\n2\n3\n4\n5\n6\n7\n8\nZ\n", "x", "y", &b);
    assert_string_equal(b.data, "--- x\n+++ y\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n"
                                "@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-z\n+Z\n");
    l4h_buf_free(&b);
    report_line_diff("", "x = 1\n", "x", "y", &b);
    assert_string_equal(b.data, "--- x\n+++ y\n@@ -0,0 +1,1 @@\n+x = 1\n");
    l4h_buf_free(&b);
}

static void category(void **state)
{
    (void)state;
    assert_string_equal(report_category_parse("Reasoning...\nCATEGORY: wrong_branch\n"), "wrong_branch");
    assert_string_equal(report_category_parse("**Category:** `file_not_found`"), "file_not_found");
    assert_string_equal(report_category_parse("category: Function Calling"), "function_calling");
    assert_string_equal(report_category_parse("It is not semantic.\nCategory: data-quality"),
                        "data_quality");
    assert_string_equal(report_category_parse("I think this is a semantic error, not other."), "semantic");
    assert_string_equal(report_category_parse("no idea"), "other");
    assert_string_equal(report_category_parse("semantically odd"), "other"); /* whole words only */
    assert_string_equal(report_category_parse(NULL), "other");
}

static void model_label(void **state)
{
    (void)state;
    char out[64];
    report_model_label("openai/gpt-5", "openai/gpt-5", out, sizeof out);
    assert_string_equal(out, "openai/gpt-5");
    report_model_label("openai/o3", "x/coder", out, sizeof out);
    assert_string_equal(out, "openai/o3+x/coder");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wilson),    cmocka_unit_test(pass_k),   cmocka_unit_test(mcnemar),
        cmocka_unit_test(holm_out_of_memory_is_reported),
        cmocka_unit_test(line_diff), cmocka_unit_test(category), cmocka_unit_test(model_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
