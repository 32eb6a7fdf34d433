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
                     int *truncated)
{
    l4h_capture c;
    exec_capture_init(&c, budget);
    for (size_t off = 0; off < len; off += chunk)
        exec_capture_add(&c, data + off, len - off < chunk ? len - off : chunk);
    *truncated = 0;
    return exec_capture_finish(&c, truncated);
}

static void small_output_is_kept_whole(void **state)
{
    (void)state;
    int t;
    char *s = capture(100, "hello\nworld\n", 12, 5, &t);
    assert_string_equal(s, "hello\nworld\n");
    assert_int_equal(t, 0);
    free(s);
    /* exactly the budget: still whole */
    char buf[100];
    memset(buf, 'a', sizeof buf);
    s = capture(100, buf, 100, 7, &t);
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
        char *s = capture(100, data, n, chunks[k], &t);
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
    char *s = capture(100, "a\0b\0", 4, 1, &t);
    assert_memory_equal(s, "a?b?", 5);
    free(s);
}

/* Hold these values as the process's secrets (endpoints naming variables). */
static void hold(const char *const *values)
{
    static char names[8][32];
    l4h_endpoint ep[8];
    memset(ep, 0, sizeof ep);
    l4h_config cfg;
    memset(&cfg, 0, sizeof cfg);
    l4h_secrets_forget();
    for (size_t i = 0; values[i]; i++) {
        snprintf(names[i], sizeof names[i], "L4H_CAPTURE_KEY%zu", i);
        setenv(names[i], values[i], 1);
        ep[i].name = (char *)"e";
        ep[i].api_key_env = names[i];
        cfg.n_endpoints = i + 1;
    }
    cfg.endpoints = ep;
    l4h_secrets_collect(&cfg, 0);
}

static void secrets_are_redacted(void **state)
{
    (void)state;
    const char *v[] = {"sk-secret-1234567", "dummy", "sk-secret-1234567890", NULL};
    hold(v);
    const char *text = "key=sk-secret-1234567890 and sk-secret-1234567; dummy stays";
    int t;
    char *s = capture(1000, text, strlen(text), 3, &t);
    assert_string_equal(s, "key=[redacted:L4H_CAPTURE_KEY2] and [redacted:L4H_CAPTURE_KEY0]; "
                           "dummy stays");
    free(s);
}

static void a_secret_split_by_the_cut_is_redacted(void **state)
{
    (void)state;
    const char *v[] = {"SECRETKEY0123456789", NULL};
    hold(v);
    /* head is 50 bytes: the secret starts at 40 and runs past the head */
    char data[400];
    memset(data, '.', sizeof data);
    memcpy(data + 40, v[0], strlen(v[0]));
    /* the tail (last 50 bytes) starts inside a second copy */
    memcpy(data + 400 - 50 - 7, v[0], strlen(v[0]));
    int t;
    char *s = capture(100, data, sizeof data, 64, &t);
    assert_int_equal(t, 1);
    assert_null(strstr(s, "SECRETKEY"));
    assert_null(strstr(s, "0123456789"));
    assert_non_null(strstr(s, "..........[redacted]\n[... 300 bytes cut ...]\n[redacted]....."));
    free(s);
}

static void placeholders_are_never_matched(void **state)
{
    (void)state;
    const char *v[] = {"x", "EMPTY", "*", "dummy", NULL};
    hold(v);
    const char *text = "x_max = 3  # EMPTY * dummy\n";
    int t;
    char *s = capture(1000, text, strlen(text), 7, &t);
    assert_string_equal(s, text);
    free(s);
    l4h_secrets_forget();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_output_is_kept_whole),
        cmocka_unit_test(large_output_keeps_head_and_tail),
        cmocka_unit_test(nul_bytes_are_replaced),
        cmocka_unit_test(secrets_are_redacted),
        cmocka_unit_test(a_secret_split_by_the_cut_is_redacted),
        cmocka_unit_test(placeholders_are_never_matched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
