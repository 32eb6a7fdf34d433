/* test_checks_run.c — l4h_checks_run over a workspace without a sandbox:
 * array and text checks read the workspace against the reference, a file
 * that escapes the workspace fails, and a command check with no sandbox is
 * an infrastructure failure (-1) while the other checks still run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "llm4hep/check.h"
#include "check_test_util.h"
#include "npy_write.h"

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void layout(void)
{
    mkdir(tpath("ws"), 0755);
    mkdir(tpath("ws/arrays"), 0755);
    mkdir(tpath("ref"), 0755);
    mkdir(tpath("ref/arrays"), 0755);
    double r[6] = {1, 2, 3, 4, 5, 6}, c[6] = {1, 2, 3, 4, 5, 6.01};
    npy_write_f8(tpath("ref/arrays/a.npy"), r, 2, 3);
    npy_write_f8(tpath("ref/arrays/b.npy"), r, 2, 3);
    npy_write_f8(tpath("ws/arrays/a.npy"), r, 2, 3);
    npy_write_f8(tpath("ws/arrays/b.npy"), c, 2, 3);
    write_text(tpath("ws/summary.txt"), "tree mini\n");
}

static void run_without_sandbox(void **state)
{
    (void)state;
    layout();
    char *text_patterns[] = {"mini", "photon_pt"};
    char *run[] = {"python", "checks/x.py", "{{workspace}}"};
    l4h_check_spec specs[5] = {
        {.kind = L4H_CHECK_ARRAY, .name = "array:arrays/a.npy", .file = "arrays/a.npy", .sig_digits = 4, .zero_floor = 1e-9},
        {.kind = L4H_CHECK_ARRAY, .name = "array:arrays/b.npy", .file = "arrays/b.npy", .sig_digits = 4, .zero_floor = 1e-9},
        {.kind = L4H_CHECK_TEXT, .name = "text:summary.txt", .file = "summary.txt", .patterns = text_patterns, .n_patterns = 2},
        {.kind = L4H_CHECK_COMMAND, .name = "command:checks/x.py", .run = run, .n_run = 3},
        {.kind = L4H_CHECK_ARRAY, .name = "array:../ref/arrays/a.npy", .file = "../ref/arrays/a.npy", .sig_digits = 4, .zero_floor = 1e-9},
    };
    l4h_step step = {.name = "s", .number = 1, .checks = specs, .n_checks = 5};
    char wsdir[512], refdir[512];
    snprintf(wsdir, sizeof wsdir, "%s", tpath("ws"));
    snprintf(refdir, sizeof refdir, "%s", tpath("ref"));
    l4h_workspace ws = {.host = wsdir, .view = wsdir, .ref_host = refdir, .ref_view = refdir};
    l4h_task_rec rec = {0};
    rec.iterations = 3;
    l4h_err err = {0};
    int rc = l4h_checks_run(NULL, &step, NULL, &ws, &rec, &err);
    assert_int_equal(rc, -1); /* the command check had no sandbox */
    assert_int_equal(err.code, L4H_EXIT_INFRA);
    assert_non_null(strstr(err.msg, "command:checks/x.py"));
    assert_int_equal(rec.n_checks, 5);
    assert_string_equal(rec.checks[0].check, "array:arrays/a.npy");
    assert_true(rec.checks[0].passed);
    assert_false(rec.checks[1].passed);
    assert_int_equal(rec.checks[1].n_bad, 1);
    assert_non_null(strstr(rec.checks[1].report, "FAIL arrays/b.npy: 1 of 6 values"));
    assert_false(rec.checks[2].passed);
    assert_non_null(strstr(rec.checks[2].report, "pattern 2 'photon_pt' not found"));
    assert_false(rec.checks[3].passed);
    assert_non_null(strstr(rec.checks[3].report, "no sandbox"));
    assert_false(rec.checks[4].passed);
    assert_non_null(strstr(rec.checks[4].report, "resolves outside the workspace"));
    l4h_rec_clear(&rec);

    /* a symbolic link to the reference does not pass as an output */
    unlink(tpath("ws/arrays/b.npy"));
    assert_int_equal(symlink(tpath("ref/arrays/b.npy"), tpath("ws/arrays/b.npy")), 0);
    step.n_checks = 2;
    rc = l4h_checks_run(NULL, &step, NULL, &ws, &rec, &err);
    assert_int_equal(rc, 1);
    assert_true(rec.checks[0].passed);
    assert_false(rec.checks[1].passed);
    assert_non_null(strstr(rec.checks[1].report, "resolves outside the workspace"));
    assert_int_equal(rec.n_execs, 0);
    l4h_rec_clear(&rec);

    /* a relative link that stays inside the workspace is fine; an absolute
     * one is refused even when it points inside (the host resolves beneath
     * the workspace's fd, never by path; under bwrap the code's absolute
     * paths are /workspace/..., which mean nothing on the host anyway) */
    unlink(tpath("ws/arrays/b.npy"));
    assert_int_equal(symlink("a.npy", tpath("ws/arrays/b.npy")), 0);
    rc = l4h_checks_run(NULL, &step, NULL, &ws, &rec, &err);
    assert_int_equal(rc, 0);
    l4h_rec_clear(&rec);
    unlink(tpath("ws/arrays/b.npy"));
    assert_int_equal(symlink(tpath("ws/arrays/a.npy"), tpath("ws/arrays/b.npy")), 0);
    rc = l4h_checks_run(NULL, &step, NULL, &ws, &rec, &err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(rec.checks[1].report, "resolves outside the workspace"));
    l4h_rec_clear(&rec);
}

/* Command checks: a workspace holding a link (anywhere, to anything), a FIFO,
 * a hard link or directories nested deeper than L4H_WS_MAX_DEPTH is refused before any check program would run: the check
 * fails as the model's ("not run"), no exec, no infrastructure error. */
static void command_checks_refuse_odd_files(void **state)
{
    (void)state;
    unlink(tpath("ws/arrays/b.npy")); /* the link the test before left */
    layout();
    char *run[] = {"python", "checks/x.py", "{{workspace}}"};
    l4h_check_spec spec = {.kind = L4H_CHECK_COMMAND, .name = "command:x", .run = run, .n_run = 3};
    l4h_step step = {.name = "s", .number = 1, .checks = &spec, .n_checks = 1};
    char wsdir[512], refdir[512];
    snprintf(wsdir, sizeof wsdir, "%s", tpath("ws"));
    snprintf(refdir, sizeof refdir, "%s", tpath("ref"));
    char *staged[] = {"arrays/staged.npy", NULL};
    l4h_workspace ws = {.host = wsdir, .view = wsdir, .ref_host = refdir, .ref_view = refdir,
                        .staged = staged, .n_staged = 1};
    struct {
        const char *what, *expect;
    } cases[] = {{"link", "arrays/deep/x.npy is a symbolic link"},
                 {"fifo", "arrays/f.npy is a FIFO"},
                 {"hardlink", "arrays/h.npy is a hard link"},
                 {"staged hard link", NULL}};
    mkdir(tpath("ws/arrays/deep"), 0755);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        if (k == 0)
            assert_int_equal(symlink(tpath("ws/arrays/a.npy"), tpath("ws/arrays/deep/x.npy")), 0);
        if (k == 1) {
            unlink(tpath("ws/arrays/deep/x.npy"));
            assert_int_equal(mkfifo(tpath("ws/arrays/f.npy"), 0644), 0);
        }
        if (k == 2) {
            unlink(tpath("ws/arrays/f.npy"));
            assert_int_equal(link(tpath("ref/arrays/a.npy"), tpath("ws/arrays/h.npy")), 0);
        }
        if (k == 3) {
            unlink(tpath("ws/arrays/h.npy"));
            assert_int_equal(link(tpath("ref/arrays/b.npy"), tpath("ws/arrays/staged.npy")), 0);
        }
        l4h_task_rec rec = {0};
        l4h_err err = {0};
        int rc = l4h_checks_run(NULL, &step, NULL, &ws, &rec, &err);
        assert_int_equal(rec.n_checks, 1);
        assert_false(rec.checks[0].passed);
        assert_int_equal(rec.n_execs, 0);
        if (cases[k].expect) {
            assert_int_equal(rc, 1); /* the model's failure, not -1 */
            assert_non_null(strstr(rec.checks[0].report, "not run"));
            assert_non_null(strstr(rec.checks[0].report, cases[k].expect));
        } else {
            assert_int_equal(rc, -1); /* a staged input may share its inode: on to the sandbox */
            assert_non_null(strstr(rec.checks[0].report, "no sandbox"));
        }
        l4h_rec_clear(&rec);
    }
    unlink(tpath("ws/arrays/staged.npy"));

    /* a tree deeper than the workspace walker goes cannot be verified: refused
     * too (the old walk followed paths of any depth) */
    char deep[8192];
    int n = snprintf(deep, sizeof deep, "%s", tpath("ws/d"));
    for (int d = 0; d <= L4H_WS_MAX_DEPTH + 1; d++) {
        assert_int_equal(mkdir(deep, 0755), 0);
        n += snprintf(deep + n, sizeof deep - (size_t)n, "/d");
    }
    l4h_task_rec rec = {0};
    l4h_err err = {0};
    assert_int_equal(l4h_checks_run(NULL, &step, NULL, &ws, &rec, &err), 1);
    assert_int_equal(rec.n_execs, 0);
    assert_non_null(strstr(rec.checks[0].report, "not run"));
    assert_non_null(strstr(rec.checks[0].report, "nested deeper than"));
    l4h_rec_clear(&rec);
    l4h_remove_tree(tpath("ws/d"), NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_without_sandbox),
        cmocka_unit_test(command_checks_refuse_odd_files),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
