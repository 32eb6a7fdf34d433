/* test_verdict.c — the supervisor's last line decides DONE or CONTINUE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "llm4hep/core.h"

static void check(const char *text, int done, int well_formed)
{
    int wf = -1;
    assert_int_equal(l4h_parse_verdict(text, &wf), done);
    assert_int_equal(wf, well_formed);
}

static void plain_lines(void **state)
{
    (void)state;
    check("All outputs are right.\nVERDICT: DONE", 1, 1);
    check("Fix the branch name.\nVERDICT: CONTINUE\n", 0, 1);
}

static void trailing_blank_lines_and_spaces(void **state)
{
    (void)state;
    check("ok\n  VERDICT: DONE  \n\n \n", 1, 1);
    check("ok\r\nVERDICT:   CONTINUE\r\n", 0, 1);
}

static void markdown_decoration(void **state)
{
    (void)state;
    check("ok\n**VERDICT: DONE**", 1, 1);
    check("ok\n`VERDICT: DONE`.", 1, 1);
    check("ok\n**VERDICT:** CONTINUE", 0, 1);
}

static void only_the_last_line_counts(void **state)
{
    (void)state;
    check("VERDICT: DONE\nActually, one more thing: plot it.", 0, 0);
    check("VERDICT: CONTINUE\nVERDICT: DONE", 1, 1);
}

static void malformed_is_continue(void **state)
{
    (void)state;
    check("verdict: done", 0, 0);           /* case matters */
    check("VERDICT: DONE!", 0, 0);
    check("VERDICT: FINISHED", 0, 0);
    check("The verdict is DONE", 0, 0);
    check("", 0, 0);
    check("\n\n", 0, 0);
    check(NULL, 0, 0);
    assert_int_equal(l4h_parse_verdict("VERDICT: DONE", NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_lines),
        cmocka_unit_test(trailing_blank_lines_and_spaces),
        cmocka_unit_test(markdown_decoration),
        cmocka_unit_test(only_the_last_line_counts),
        cmocka_unit_test(malformed_is_continue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
