/* test_find.c — TASK specs: a task id, or supervisor/coder/step/trial with
 * model names that hold '/', parsed from the right and matched against the
 * file's pairs; the final attempt of the key wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "llm4hep/report.h"
#include "../../../src/report/report_internal.h"

static l4h_task_rec row(int64_t id, const char *sup, const char *cod, const char *step, int trial,
                        int final)
{
    l4h_task_rec t;
    memset(&t, 0, sizeof t);
    t.task_id = id;
    t.supervisor = (char *)sup;
    t.coder = (char *)cod;
    t.step = (char *)step;
    t.trial = trial;
    t.final = final;
    return t;
}

static void find(void **state)
{
    (void)state;
    l4h_task_rec rows[] = {
        row(1, "openai/gpt-5", "openai/gpt-5", "create_numpy", 1, 1),
        row(2, "a/b", "c/d/e", "create_numpy", 1, 0),      /* superseded ... */
        row(3, "a/b", "c/d/e", "create_numpy", 1, 1),      /* ... by this one */
        row(4, "a/b/c", "d/e", "create_numpy", 1, 1),      /* same joined string, other split */
        row(5, "openai/gpt-5", "openai/gpt-5", "create/numpy", 2, 1),
    };
    l4h_results res = {.path = "r.h5", .campaign = "c", .tasks = rows, .n_tasks = 5};
    l4h_err err = {0};
    assert_int_equal(report_task_find(&res, "3", &err), 3);
    assert_int_equal(report_task_find(&res, "openai/gpt-5/openai/gpt-5/create_numpy/1", &err), 1);
    assert_int_equal(report_task_find(&res, "openai/gpt-5/create_numpy/1", &err), 1);
    /* a/b/c/d/e splits two ways: ambiguous, the ids are named */
    assert_int_equal(report_task_find(&res, "a/b/c/d/e/create_numpy/1", &err), -1);
    assert_non_null(strstr(err.msg, "ambiguous"));
    assert_non_null(strstr(err.msg, "tasks 4 and 3"));
    assert_int_equal(report_task_find(&res, "a/b/c/d/e/create_numpy/2", &err), -1);
    assert_int_equal(err.code, L4H_EXIT_USAGE);
    assert_non_null(strstr(err.msg, "no task a/b/c/d/e/create_numpy/2"));
    assert_int_equal(report_task_find(&res, "9", &err), -1);
    assert_non_null(strstr(err.msg, "task ids run 1 to 5"));
    assert_int_equal(report_task_find(&res, "create_numpy/1", &err), -1);
    assert_non_null(strstr(err.msg, "expected a task id or supervisor/coder/step/trial"));
    assert_int_equal(report_task_find(&res, "a/b/create_numpy/x", &err), -1);
    assert_int_equal(report_task_find(&res, "", &err), -1);
    assert_int_equal(report_task_find(&res, "openai/gpt-5/gpt-5/create_numpy/1", &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(find)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
