/* Output capture: head + tail within the budget, the cut marker, NUL bytes,
 * secrets redacted (also when the cut splits one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/exec/exec_internal.h"

static char *capture(size_t budget, const char *data, size_t len, size_t chunk,
                     char *const *secrets, int *truncated)
{
    l4h_capture c;
    l4h__capture_init(&c, budget);
    for (size_t off = 0; off < len; off += chunk)
        l4h__capture_add(&c, data + off, len - off < chunk ? len - off : chunk);
    *truncated = 0;
    return l4h__capture_finish(&c, secrets, truncated);
}

static void small_output_is_kept_whole(void **state)
{
    (void)state;
    int t;
    char *s = capture(100, "hello\nworld\n", 12, 5, NULL, &t);
    assert_string_equal(s, "hello\nworld\n");
    assert_int_equal(t, 0);
    free(s);
    /* exactly the budget: still whole */
    char buf[100];
    memset(buf, 'a', sizeof buf);
    s = capture(100, buf, 100, 7, NULL, &t);
    assert_int_equal(strlen(s), 100);
    assert_int_equal(t, 0);
    free(s);
}

static void large_output_keeps_head_and_tail(void **state)
{
    (void)state;
    size_t n = 100000;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    size_t chunks[] = {1, 13, 4096, 100000};
    for (size_t k = 0; k < 4; k++) {
        int t;
        char *s = capture(100, data, n, chunks[k], NULL, &t);
        assert_int_equal(t, 1);
        char expect[200];
        snprintf(expect, sizeof expect, "%.50s\n[... %zu bytes cut ...]\n%.50s", data, n - 100,
                 data + n - 50);
        assert_string_equal(s, expect);
        free(s);
    }
    free(data);
}

static void nul_bytes_are_replaced(void **state)
{
    (void)state;
    int t;
    char *s = capture(100, "a\0b\0", 4, 1, NULL, &t);
    assert_memory_equal(s, "a?b?", 5);
    free(s);
}

static void secrets_are_redacted(void **state)
{
    (void)state;
    char *secrets[] = {"sk-secret-123", "abc", "sk-secret-123456", NULL};
    const char *text = "key=sk-secret-123456 and sk-secret-123; abc stays";
    int t;
    char *s = capture(1000, text, strlen(text), 3, secrets, &t);
    assert_string_equal(s, "key=[redacted] and [redacted]; abc stays");
    free(s);
}

static void a_secret_split_by_the_cut_is_redacted(void **state)
{
    (void)state;
    char *secrets[] = {"SECRETKEY0123456789", NULL};
    /* head is 50 bytes: the secret starts at 40 and runs past the head */
    char data[400];
    memset(data, '.', sizeof data);
    memcpy(data + 40, secrets[0], strlen(secrets[0]));
    /* the tail (last 50 bytes) starts inside a second copy */
    memcpy(data + 400 - 50 - 7, secrets[0], strlen(secrets[0]));
    int t;
    char *s = capture(100, data, sizeof data, 64, secrets, &t);
    assert_int_equal(t, 1);
    assert_null(strstr(s, "SECRETKEY"));
    assert_null(strstr(s, "0123456789"));
    assert_non_null(strstr(s, "..........[redacted]\n[... 300 bytes cut ...]\n[redacted]....."));
    free(s);
}

static void redact_handles_empty_and_edge_input(void **state)
{
    (void)state;
    char *secrets[] = {"", "toolongforthetext", NULL};
    char *s = l4h__redact("", 0, secrets);
    assert_string_equal(s, "");
    free(s);
    s = l4h__redact("short", 5, secrets);
    assert_string_equal(s, "short");
    free(s);
    s = l4h__redact("toolongforthetext", 17, secrets);
    assert_string_equal(s, "[redacted]");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_output_is_kept_whole),
        cmocka_unit_test(large_output_keeps_head_and_tail),
        cmocka_unit_test(nul_bytes_are_replaced),
        cmocka_unit_test(secrets_are_redacted),
        cmocka_unit_test(a_secret_split_by_the_cut_is_redacted),
        cmocka_unit_test(redact_handles_empty_and_edge_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
