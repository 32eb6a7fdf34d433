/* test_util.c — errors, buffers, files, SHA-256, clocks, ${VAR} expansion. */
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

static void test_err(void **state)
{
    (void)state;
    l4h_err err = {0};
    assert_int_equal(l4h_err_set(&err, 2, "key '%s': expected %s", "trials", "an integer"), -1);
    assert_int_equal(err.code, 2);
    assert_string_equal(err.msg, "key 'trials': expected an integer");
    assert_int_equal(l4h_err_prefix(&err, "%s:%d:%d", "c.yml", 3, 9), -1);
    assert_string_equal(err.msg, "c.yml:3:9: key 'trials': expected an integer");
    assert_int_equal(l4h_err_set(NULL, 2, "x"), -1);
    assert_int_equal(l4h_err_prefix(NULL, "x"), -1);
}

static void test_buf(void **state)
{
    (void)state;
    l4h_buf b = {0};
    char *empty = l4h_buf_take(&b);
    assert_string_equal(empty, "");
    free(empty);
    l4h_buf_puts(&b, "a");
    l4h_buf_add(&b, "\0b", 2);
    assert_int_equal(b.len, 3);
    for (int i = 0; i < 1000; i++)
        l4h_buf_printf(&b, "%d,", i);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, "a\0b0,1,2,", 9);
    char *s = l4h_buf_take(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
    l4h_buf_free(&b);
    assert_null(l4h_xstrdup(NULL));
}

static void test_sha256(void **state)
{
    (void)state;
    char out[65];
    l4h_sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    l4h_sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    l4h_sha256_hex(m, strlen(m), out);
    assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a', fed in uneven pieces */
    l4h_sha256 s;
    l4h_sha256_init(&s);
    char a[997];
    memset(a, 'a', sizeof a);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof a ? left : sizeof a;
        l4h_sha256_update(&s, a, n);
        left -= n;
    }
    l4h_sha256_final(&s, out);
    assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* 55, 56, 64 bytes: padding edges (checked against Python's hashlib) */
    static const struct { size_t n; const char *hex; } edge[] = {
        {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"}};
    memset(a, 'x', 65);
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        l4h_sha256_hex(a, edge[i].n, out);
        assert_string_equal(out, edge[i].hex);
    }
}

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/l4h-test-util-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return l4h_xstrdup(d);
}

static void test_files(void **state)
{
    (void)state;
    char *dir = tmpdir();
    l4h_err err = {0};
    char *deep = l4h_path_join(dir, "a/b/c");
    assert_int_equal(l4h_mkdirs(deep, 0755, &err), 0);
    assert_int_equal(l4h_mkdirs(deep, 0755, &err), 0);
    char *f = l4h_path_join(deep, "x.bin");
    const char data[] = "hello\0world";
    assert_int_equal(l4h_write_file(f, data, sizeof data, &err), 0);
    char *back;
    size_t len;
    assert_int_equal(l4h_read_file(f, &back, &len, &err), 0);
    assert_int_equal(len, sizeof data);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(back[len], '\0');
    free(back);
    /* overwrite replaces atomically; no temp file left behind */
    assert_int_equal(l4h_write_file(f, "new", 3, &err), 0);
    assert_int_equal(l4h_read_file(f, &back, &len, &err), 0);
    assert_string_equal(back, "new");
    free(back);
    /* a read-only staged directory is still removed */
    chmod(deep, 0500);
    char *missing = l4h_path_join(dir, "nope.txt");
    assert_int_equal(l4h_read_file(missing, &back, &len, &err), -1);
    assert_int_equal(err.code, 2);
    char expect[512];
    snprintf(expect, sizeof expect, "%s: cannot open: No such file or directory", missing);
    assert_string_equal(err.msg, expect);
    assert_null(back);
    assert_int_equal(l4h_read_file(dir, &back, &len, &err), -1);
    assert_int_equal(err.code, 2);
    assert_int_equal(l4h_remove_tree(dir, &err), 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), -1);
    assert_int_equal(l4h_remove_tree(dir, &err), 0);
    /* mkdirs over a file fails */
    char *file2 = tmpdir();
    char *ff = l4h_path_join(file2, "f");
    assert_int_equal(l4h_write_file(ff, "x", 1, &err), 0);
    char *under = l4h_path_join(ff, "sub");
    assert_int_equal(l4h_mkdirs(under, 0755, &err), -1);
    assert_int_equal(err.code, 3);
    assert_int_equal(l4h_remove_tree(file2, &err), 0);
    free(under);
    free(ff);
    free(file2);
    free(missing);
    free(f);
    free(deep);
    free(dir);
}

static void test_paths(void **state)
{
    (void)state;
    struct { const char *dir, *rel, *want; } j[] = {
        {"a", "b", "a/b"}, {"a/", "b", "a/b"}, {"a", "/abs", "/abs"}, {"", "b", "b"}, {"/", "b", "/b"}, {".", "b", "b"}};
    for (size_t i = 0; i < sizeof j / sizeof j[0]; i++) {
        char *r = l4h_path_join(j[i].dir, j[i].rel);
        assert_string_equal(r, j[i].want);
        free(r);
    }
    struct { const char *path, *want; } d[] = {
        {"a/b/c", "a/b"}, {"c", "."}, {"/c", "/"}, {"a//c", "a"}, {"../x.yml", ".."}};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        char *r = l4h_path_dir(d[i].path);
        assert_string_equal(r, d[i].want);
        free(r);
    }
}

static void test_clock(void **state)
{
    (void)state;
    char s[32];
    l4h_utc_string(0, s);
    assert_string_equal(s, "1970-01-01T00:00:00Z");
    l4h_utc_string(1795801435.9, s);
    assert_string_equal(s, "2026-11-27T17:43:55Z");
    l4h_utc_string(0.0 / 0.0, s);
    assert_string_equal(s, "");
    assert_true(l4h_now() > 1.7e9);
    double a = l4h_monotonic(), b = l4h_monotonic();
    assert_true(b >= a);
}

static void expand_ok(const char *in, const char *want)
{
    char *out;
    l4h_err err = {0};
    int rc = core_expand_env(in, &out, &err);
    if (rc)
        fail_msg("%s: %s", in, err.msg);
    assert_string_equal(out, want);
    free(out);
}

static void expand_bad(const char *in, const char *msg)
{
    char *out = (char *)1;
    l4h_err err = {0};
    assert_int_equal(core_expand_env(in, &out, &err), -1);
    assert_null(out);
    assert_int_equal(err.code, 2);
    assert_string_equal(err.msg, msg);
}

static void test_expand(void **state)
{
    (void)state;
    setenv("L4H_T_SET", "/scratch/me", 1);
    setenv("L4H_T_EMPTY", "", 1);
    unsetenv("L4H_T_UNSET");
    expand_ok("plain", "plain");
    expand_ok("${L4H_T_SET}/ws", "/scratch/me/ws");
    expand_ok("${L4H_T_UNSET:-/tmp}", "/tmp");
    expand_ok("${L4H_T_EMPTY:-dflt}", "dflt");
    expand_ok("${L4H_T_SET:-/tmp}", "/scratch/me");
    expand_ok("${L4H_T_UNSET:-${L4H_T_SET}/x}", "/scratch/me/x");
    expand_ok("${L4H_T_UNSET:-}", "");
    expand_ok("cost $5 and $$HOME {{workspace}}", "cost $5 and $HOME {{workspace}}");
    expand_bad("${L4H_T_UNSET}/x",
               "environment variable 'L4H_T_UNSET' is not set (use ${L4H_T_UNSET:-default} for a default)");
    expand_bad("a ${L4H_T_SET", "bad variable reference '${L4H_T_SET': expected ${NAME} or ${NAME:-default}");
    expand_bad("${}", "bad variable reference '${}': expected ${NAME} or ${NAME:-default}");
    expand_bad("${A:-x", "unterminated '${A:-x': expected a closing '}'");
}

/* Totals of numbers from outside saturate instead of wrapping. */
static void test_add_sat(void **state)
{
    (void)state;
    assert_true(l4h_add_sat_i64(2, 3) == 5);
    assert_true(l4h_add_sat_i64(INT64_MAX - 1, 9) == INT64_MAX);
    assert_true(l4h_add_sat_i64(INT64_MAX, INT64_MAX) == INT64_MAX);
    assert_true(l4h_add_sat_i64(INT64_MIN, -1) == INT64_MIN);
    assert_true(l4h_add_sat_i64(INT64_MAX, INT64_MIN) == -1);
}

/* Control characters from outside are shown, never obeyed. */
static void test_term_visible(void **state)
{
    (void)state;
    static const struct { const char *in, *want; } cases[] = {
        {"plain text, caf\xc3\xa9\n\tok", "plain text, caf\xc3\xa9\n\tok"},
        {"\x1b[2J\x1b]0;pwned\x07", "^[[2J^[]0;pwned^G"},
        {"over\rwrite\x7f\x08", "over^Mwrite^?^H"},
        {"\xc2\x9b" "31m", "<U+009B>31m"},                 /* C1 CSI */
        {"a\xe2\x80\xae" "b\xe2\x81\xa6" "c\xe2\x80\x8b", "a<U+202E>b<U+2066>c<U+200B>"},
        {"bad \xff\xc0\xaf utf8 \xe2\x82", "bad \\xff\\xc0\\xaf utf8 \\xe2\\x82"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        l4h_buf b = {0};
        l4h_term_visible(cases[i].in, strlen(cases[i].in), &b);
        assert_string_equal(b.data, cases[i].want);
        l4h_buf_free(&b);
    }
    l4h_buf b = {0};
    l4h_term_visible("a\0b", 3, &b); /* a NUL inside the text is shown too */
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "a^@b", 4);
    l4h_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err),   cmocka_unit_test(test_buf),   cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_files), cmocka_unit_test(test_paths), cmocka_unit_test(test_clock),
        cmocka_unit_test(test_expand), cmocka_unit_test(test_add_sat), cmocka_unit_test(test_term_visible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
