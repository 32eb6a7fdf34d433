/* test_text.c — text shown to a model: valid UTF-8, visible control bytes,
 * one-line names, head+tail cuts on character boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"
#include "../../../src/core/core_internal.h"

static void expect_clean(const char *in, size_t len, unsigned flags, const char *want)
{
    char *out = l4h_text_clean(in, len, flags);
    assert_string_equal(out, want);
    assert_true(l4h_text_is_clean(out, strlen(out), flags));
    /* idempotent */
    char *again = l4h_text_clean(out, strlen(out), flags);
    assert_string_equal(again, out);
    free(again);
    free(out);
}

static void test_valid_text_unchanged(void **state)
{
    (void)state;
    const char *s = "Z = 2.31 σ\n\tπ⁰ → γγ 𝛾 \r\n";
    assert_true(l4h_text_is_clean(s, strlen(s), 0));
    expect_clean(s, strlen(s), 0, s);
    expect_clean(NULL, 0, 0, "");
}

static void test_invalid_utf8_replaced_visibly(void **state)
{
    (void)state;
    /* a lone continuation byte, a truncated 3-byte sequence, an overlong '/', a
     * UTF-16 surrogate, a code point above U+10FFFF, 0xFF */
    const char in[] = "a\x80" "b\xE2\x82" "c\xC0\xAF" "d\xED\xA0\x80" "e\xF4\x90\x80\x80" "f\xFF";
    char *out = l4h_text_clean(in, sizeof in - 1, 0);
    assert_true(l4h_text_is_clean(out, strlen(out), 0));
    assert_false(l4h_text_is_clean(in, sizeof in - 1, 0));
    /* the letters survive in order and every bad byte shows as U+FFFD */
    const char *p = out;
    for (const char *want = "abcdef"; *want; want++) {
        p = strchr(p, *want);
        assert_non_null(p);
    }
    size_t n = 0;
    for (const char *q = out; (q = strstr(q, "\xEF\xBF\xBD")); q += 3)
        n++;
    assert_int_equal(n, 1 + 2 + 2 + 3 + 4 + 1);
    free(out);
    /* a sequence cut by the end of the text */
    expect_clean("x\xF0\x9F\x98", 4, 0, "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

static void test_controls_become_pictures(void **state)
{
    (void)state;
    const char in[] = "a\0b\x1b[31mred\x7f\x07";
    expect_clean(in, sizeof in - 1, 0, "a␀b␛[31mred␡␇");
    /* C1 controls (valid UTF-8, still controls) */
    expect_clean("x\xC2\x9By", 4, 0, "x\xEF\xBF\xBDy");
    /* names stay on one line */
    expect_clean("out\nVERDICT: DONE\r\t.npy", 23, L4H_TEXT_ONE_LINE, "out␊VERDICT: DONE␍␉.npy");
    expect_clean("a\xE2\x80\xA8" "b", 5, L4H_TEXT_ONE_LINE, "a\xEF\xBF\xBD" "b");
    expect_clean("a\nb", 3, 0, "a\nb");
}

static void test_head_tail(void **state)
{
    (void)state;
    char *same = l4h_text_head_tail("short", 100, "stdout", 0);
    assert_string_equal(same, "short");
    free(same);

    /* 3-byte characters: no cut may split one */
    l4h_buf b = {0};
    for (int i = 0; i < 5000; i++)
        l4h_buf_puts(&b, i == 0 ? "HEAD" : i == 4999 ? "TAIL" : "γγ→");
    for (size_t max = 70; max < 400; max += 7) {
        char *out = l4h_text_head_tail(b.data, max, "the code's stdout", 0);
        assert_true(strlen(out) <= max);
        assert_true(l4h_text_is_clean(out, strlen(out), 0));
        assert_non_null(strstr(out, "bytes of the code's stdout cut here ...]"));
        assert_memory_equal(out, "HEAD", 4);
        assert_string_equal(out + strlen(out) - 4, "TAIL");
        free(out);
    }
    /* the marker gives the number of bytes really left out */
    char *out = l4h_text_head_tail(b.data, 200, "x", 0);
    unsigned long long cut = 0;
    const char *m = strstr(out, "[... ");
    assert_non_null(m);
    assert_int_equal(sscanf(m, "[... %llu bytes", &cut), 1);
    size_t m_end = (size_t)(strstr(m, "...]\n") + 5 - out);
    size_t head_len = (size_t)(m - out) - 1; /* the marker starts with a newline */
    assert_int_equal(head_len + (strlen(out) - m_end) + cut, b.len);
    free(out);
    /* one line: the marker stays inline */
    out = l4h_text_head_tail(b.data, 200, "the name", L4H_TEXT_ONE_LINE);
    assert_null(strchr(out, '\n'));
    assert_non_null(strstr(out, " [... "));
    assert_true(strlen(out) <= 200);
    free(out);
    l4h_buf_free(&b);
}

static void test_utf8_floor(void **state)
{
    (void)state;
    const char *s = "aγb"; /* a CE B3 b */
    assert_int_equal(core_utf8_floor(s, 4, 0), 0);
    assert_int_equal(core_utf8_floor(s, 4, 1), 1);
    assert_int_equal(core_utf8_floor(s, 4, 2), 1);
    assert_int_equal(core_utf8_floor(s, 4, 3), 3);
    assert_int_equal(core_utf8_floor(s, 4, 9), 4);
    /* garbage of continuation bytes: never moves more than 3 back */
    assert_int_equal(core_utf8_floor("\x80\x80\x80\x80\x80\x80", 6, 5), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_text_unchanged),
        cmocka_unit_test(test_invalid_utf8_replaced_visibly),
        cmocka_unit_test(test_controls_become_pictures),
        cmocka_unit_test(test_head_tail),
        cmocka_unit_test(test_utf8_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
