/* test_yaml.c — YAML to JSON (scripted models) and the YAML tree's errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm4hep/core.h"
#include "../../../src/core/core_internal.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/l4h-test-yaml-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return l4h_remove_tree(dir, NULL);
}

/* Write text to dir/name; return the path (static buffer). */
static const char *put(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(l4h_write_file(path, text, strlen(text), NULL), 0);
    return path;
}

static void json_ok(const char *yaml, const char *want)
{
    const char *p = put("ok.yml", yaml);
    char *js;
    l4h_err err = {0};
    if (l4h_yaml_file_to_json(p, &js, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(js, want);
    free(js);
}

static void json_bad(const char *yaml, const char *want_after_path)
{
    const char *p = put("bad.yml", yaml);
    char *js = (char *)1;
    l4h_err err = {0};
    assert_int_equal(l4h_yaml_file_to_json(p, &js, &err), -1);
    assert_null(js);
    assert_int_equal(err.code, 2);
    char want[512];
    snprintf(want, sizeof want, "%s%s", p, want_after_path);
    assert_string_equal(err.msg, want);
}

static void test_to_json(void **state)
{
    (void)state;
    json_ok("usage: {prompt_tokens: 1200, completion_tokens: 300}\n"
            "steps:\n"
            "  create_numpy:\n"
            "    supervisor:\n"
            "      - \"Read every data file... VERDICT: CONTINUE\"\n"
            "      - 'single ''quoted'''\n"
            "    coder:\n"
            "      - {code_file: answers/create_numpy.py}\n"
            "      - {tool_calls: [{name: evaluate_boundaries, arguments: '{\"boundaries\": [0.4, 0.7]}'}]}\n"
            "trials:\n"
            "  \"2\":\n"
            "    create_numpy:\n"
            "      coder:\n"
            "        - text: |\n"
            "            line one\n"
            "            line\ttwo\n",
            "{\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":300},"
            "\"steps\":{\"create_numpy\":{\"supervisor\":[\"Read every data file... VERDICT: CONTINUE\","
            "\"single 'quoted'\"],\"coder\":[{\"code_file\":\"answers/create_numpy.py\"},"
            "{\"tool_calls\":[{\"name\":\"evaluate_boundaries\",\"arguments\":"
            "\"{\\\"boundaries\\\": [0.4, 0.7]}\"}]}]}},"
            "\"trials\":{\"2\":{\"create_numpy\":{\"coder\":[{\"text\":\"line one\\nline\\ttwo\\n\"}]}}}}");
    /* core schema: null, bools, ints, floats; quoted stays a string */
    json_ok("[~, null, true, False, 42, -7, +3, 007, 0x1F, 0o17, 1.5, 1e3, -.5, .inf, .nan, "
            "\"42\", 'true', 1.2.3, yes]",
            "[null,null,true,false,42,-7,3,7,31,15,1.5,1000,-0.5,\".inf\",\".nan\","
            "\"42\",\"true\",\"1.2.3\",\"yes\"]");
    /* anchors and aliases copy; empty file is null; unicode passes through */
    json_ok("a: &x {k: [1, 2]}\nb: *x\nc: \"\\u00e9 \\x01\"\n",
            "{\"a\":{\"k\":[1,2]},\"b\":{\"k\":[1,2]},\"c\":\"\xc3\xa9 \\u0001\"}");
    json_ok("", "null");
    json_ok("empty:\n", "{\"empty\":null}");
    json_ok("# only a comment\n", "null");
    json_ok("model: anthropic/claude-sonnet:latest\nlist: [openai/gpt-5, a:b]\n",
            "{\"model\":\"anthropic/claude-sonnet:latest\",\"list\":[\"openai/gpt-5\",\"a:b\"]}");
}

static void test_errors(void **state)
{
    (void)state;
    json_bad("steps:\n  a: 1\n  b: 2\n  a: 3\n", ":4:3: key 'a': duplicate key (first at line 2)");
    json_bad("a: [1, 2\nb: 3\n",
             ":2:2: YAML syntax error: did not find expected ',' or ']' while parsing a flow "
             "sequence (started at line 1)");
    json_bad("a: b: c\n", ":1:5: YAML syntax error: mapping values are not allowed in this context");
    json_bad("a: 1\n---\nb: 2\n", ":2:1: a second YAML document: expected one document");
    json_bad("a: *nope\n", ":1:4: alias '*nope': expected a defined anchor '&nope'");
    json_bad("? [1, 2]\n: x\n", ":1:3: expected a plain key (a name), got a list");
    json_bad("name: caf\xe9\n", ":1:10: invalid UTF-8 byte 0xe9: expected UTF-8 text");
    json_bad("a: 1\nb: \xc3\xa9\xc0\xaf\n", ":2:5: invalid UTF-8 byte 0xc0: expected UTF-8 text");
    json_bad("a: \"\t\xed\xa0\x80\"\n", ":1:6: invalid UTF-8 byte 0xed: expected UTF-8 text");
    /* a billion laughs is refused, not exploded */
    l4h_buf b = {0};
    l4h_buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 9; i++)
        l4h_buf_printf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
                       i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    const char *p = put("laughs.yml", b.data);
    l4h_buf_free(&b);
    char *js;
    l4h_err err = {0};
    assert_int_equal(l4h_yaml_file_to_json(p, &js, &err), -1);
    assert_non_null(strstr(err.msg, "expected at most 1000000 nodes copied through aliases"));
    /* missing file */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.yml", dir);
    assert_int_equal(l4h_yaml_file_to_json(missing, &js, &err), -1);
    char want[400];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    assert_string_equal(err.msg, want);
}

/* 200 000 nested '[' (and '{', and block nesting) is the usual exit-2
 * error at the first list too deep, not a stack overflow; 128 levels (the
 * limit) still parse. */
static void test_depth_limit(void **state)
{
    (void)state;
    l4h_buf b = {0};
    l4h_buf_puts(&b, "a: ");
    for (int i = 0; i < 200000; i++)
        l4h_buf_puts(&b, "[");
    json_bad(b.data, ":1:131: a list nested 129 deep: expected lists and mappings nested at most 128 deep");
    l4h_buf_free(&b);
    for (int i = 0; i < 200000; i++)
        l4h_buf_puts(&b, "{a: ");
    json_bad(b.data, ":1:513: a mapping nested 129 deep: expected lists and mappings nested at most 128 deep");
    l4h_buf_free(&b);
    for (int i = 0; i < 200; i++) { /* block style: one level per line */
        for (int k = 0; k < i; k++)
            l4h_buf_puts(&b, " ");
        l4h_buf_puts(&b, "-\n");
    }
    json_bad(b.data, ":129:129: a list nested 129 deep: expected lists and mappings nested at most 128 deep");
    l4h_buf_free(&b);
    l4h_buf_puts(&b, "a: ");
    for (int i = 0; i < 127; i++)
        l4h_buf_puts(&b, "[");
    for (int i = 0; i < 127; i++)
        l4h_buf_puts(&b, "]");
    const char *p = put("deep-ok.yml", b.data);
    l4h_buf_free(&b);
    char *js;
    l4h_err err = {0};
    if (l4h_yaml_file_to_json(p, &js, &err))
        fail_msg("%s", err.msg);
    free(js);
}

/* The one file reader refuses what is not a regular file without blocking
 * or reading it, and files over the cap. */
static void test_read_file_refuses(void **state)
{
    (void)state;
    char *text = (char *)1;
    size_t len = 7;
    l4h_err err = {0};
    assert_int_equal(l4h_read_file("/dev/zero", &text, &len, &err), -1);
    assert_null(text);
    assert_int_equal(err.code, 2);
    assert_string_equal(err.msg, "/dev/zero: cannot read: is a character device, expected a regular file");
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(l4h_read_file(fifo, &text, &len, &err), -1); /* no writer: must not block */
    assert_non_null(strstr(err.msg, "is a FIFO (named pipe), expected a regular file"));
    assert_int_equal(l4h_read_file(dir, &text, &len, &err), -1);
    assert_non_null(strstr(err.msg, "is a directory, expected a regular file"));
    const char *p = put("ten.txt", "0123456789");
    assert_int_equal(core_read_file_max(p, 9, &text, &len, &err), -1);
    assert_int_equal(err.code, 2);
    assert_non_null(strstr(err.msg, "10 bytes, expected at most 9"));
    assert_int_equal(core_read_file_max(p, 10, &text, &len, &err), 0);
    assert_int_equal(len, 10);
    free(text);
    /* a regular file that claims 0 bytes but reads forever is cut at the cap */
    assert_int_equal(core_read_file_max("/proc/self/maps", 16, &text, &len, &err), -1);
    assert_non_null(strstr(err.msg, "more than 16 bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_json),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_read_file_refuses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
