/* test_extract.c — which code block the agent loop runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "llm4hep/agent.h"
#include "../../../src/agent/agent_internal.h"

static void expect_code(const char *text, const char *want, const char *note_part)
{
    const char *note = NULL;
    char *code = agent_extract_code(text, &note);
    if (!want) {
        assert_null(code);
    } else {
        assert_non_null(code);
        assert_string_equal(code, want);
    }
    assert_non_null(note);
    if (note_part)
        assert_non_null(strstr(note, note_part));
    free(code);
}

static void tagged_python(void **state)
{
    (void)state;
    expect_code("Here it is:\n```python\nimport numpy as np\nprint(1)\n```\nDone.",
                "import numpy as np\nprint(1)\n", "the python block");
}

static void untagged_block(void **state)
{
    (void)state;
    expect_code("```\nprint(2)\n```", "print(2)\n", "untagged");
}

static void py_and_python3_tags(void **state)
{
    (void)state;
    expect_code("```py\nx = 1\n```", "x = 1\n", "python");
    expect_code("```Python3\nx = 3\n```", "x = 3\n", "python");
}

static void last_python_block_wins(void **state)
{
    (void)state;
    expect_code("First try:\n```python\na = 1\n```\nBetter:\n```python\na = 2\n```\n",
                "a = 2\n", "last of several python");
}

static void python_preferred_over_untagged_and_other(void **state)
{
    (void)state;
    expect_code("```python\nreal = 1\n```\nRun it with:\n```bash\npython x.py\n```\n```\nout\n```",
                "real = 1\n", "the python block");
}

static void other_language_only_is_no_code(void **state)
{
    (void)state;
    expect_code("```bash\nls -l\n```", NULL, "another language");
}

static void no_fence_is_no_code(void **state)
{
    (void)state;
    expect_code("I would read the files with h5py and then...", NULL, "no fenced");
    expect_code("", NULL, NULL);
    const char *note = NULL;
    assert_null(agent_extract_code(NULL, &note));
    assert_null(agent_extract_code("no code", NULL)); /* note may be NULL */
}

static void unclosed_block_taken_to_end(void **state)
{
    (void)state;
    expect_code("```python\nimport os\nprint(os.getcwd())", "import os\nprint(os.getcwd())",
                "left open");
}

static void inner_backticks_and_longer_fences(void **state)
{
    (void)state;
    /* a ```` fence holds a ``` line; a closing fence may be indented */
    expect_code("````python\ns = '''\n```\n'''\n  ````\n", "s = '''\n```\n'''\n", "python");
    /* inline `code` spans are not fences */
    expect_code("Use `np.save` then\n```python\nnp.save('a.npy', x)\n```",
                "np.save('a.npy', x)\n", "python");
}

static void tilde_fence_and_crlf(void **state)
{
    (void)state;
    expect_code("~~~python\r\nx = 1\r\n~~~\r\n", "x = 1\r\n", "python");
}

static void empty_block_is_no_code(void **state)
{
    (void)state;
    expect_code("```python\n\n```", NULL, "empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tagged_python),
        cmocka_unit_test(untagged_block),
        cmocka_unit_test(py_and_python3_tags),
        cmocka_unit_test(last_python_block_wins),
        cmocka_unit_test(python_preferred_over_untagged_and_other),
        cmocka_unit_test(other_language_only_is_no_code),
        cmocka_unit_test(no_fence_is_no_code),
        cmocka_unit_test(unclosed_block_taken_to_end),
        cmocka_unit_test(inner_backticks_and_longer_fences),
        cmocka_unit_test(tilde_fence_and_crlf),
        cmocka_unit_test(empty_block_is_no_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
