/* The secrets module: one minimum length, one marker, placeholders never
 * matched, pieces at a cut, the variables named like keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llm4hep/core.h"

/* Hold name=value as an endpoint's key (the set is forgotten first). */
static void hold_key(const char *name, const char *value)
{
    l4h_secrets_forget();
    setenv(name, value, 1);
    l4h_endpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.name = (char *)"local";
    ep.api_key_env = (char *)name;
    l4h_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.endpoints = &ep;
    cfg.n_endpoints = 1;
    l4h_secrets_collect(&cfg, 0);
}

static void a_real_key_is_redacted_with_its_name(void **state)
{
    (void)state;
    hold_key("L4H_T_KEYVAR", "sk-0123456789abcdefXYZ");
    char *t = strdup("HTTP 401: bad key sk-0123456789abcdefXYZ, again sk-0123456789abcdefXYZ.");
    assert_int_equal(l4h_secrets_redact(&t), 2);
    assert_string_equal(t, "HTTP 401: bad key [redacted:L4H_T_KEYVAR], again [redacted:L4H_T_KEYVAR].");
    free(t);
    char name[64];
    assert_int_equal(l4h_secrets_found("..sk-0123456789abcdefXYZ..", 26, name, sizeof name), 1);
    assert_string_equal(name, "L4H_T_KEYVAR");
    char buf[64] = "k=sk-0123456789abcdefXYZ!";
    l4h_secrets_redact_buf(buf, sizeof buf);
    assert_string_equal(buf, "k=[redacted:L4H_T_KEYVAR]!");
    char key_in_small[32] = "sk-0123456789abcdefXYZ";
    l4h_secrets_redact_buf(key_in_small, 16); /* only 16 bytes are the buffer */
    assert_null(strstr(key_in_small, "0123456789abcdefXYZ"));
    unsetenv("L4H_T_KEYVAR");
}

/* The library never prints: the placeholder note comes back to the caller,
 * once per variable in the process. */
static void a_placeholder_key_is_noted_to_the_caller_once(void **state)
{
    (void)state;
    l4h_secrets_forget();
    setenv("L4H_T_NOTEVAR", "EMPTY", 1);
    l4h_endpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.name = (char *)"local";
    ep.api_key_env = (char *)"L4H_T_NOTEVAR";
    l4h_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.endpoints = &ep;
    cfg.n_endpoints = 1;
    l4h_buf notes = {0};
    l4h_secrets_collect(&cfg, &notes);
    assert_non_null(notes.data);
    assert_non_null(strstr(notes.data, "endpoint local: the key in $L4H_T_NOTEVAR is 5 characters "
                                       "long, a placeholder"));
    size_t len = notes.len;
    l4h_secrets_collect(&cfg, &notes);
    assert_int_equal(notes.len, len);
    l4h_buf_free(&notes);
    unsetenv("L4H_T_NOTEVAR");
}

static void placeholders_are_never_matched(void **state)
{
    (void)state;
    const char *keys[] = {"EMPTY", "x", "dummy", "*", "token-abc123", "sk-0123456789ab"};
    const char *code = "x_max = 3 * 2  # EMPTY dummy token-abc123 sk-0123456789ab\n";
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        assert_true(strlen(keys[i]) < L4H_SECRET_MIN_LEN);
        hold_key("L4H_T_KEYVAR", keys[i]);
        char *t = strdup(code);
        assert_int_equal(l4h_secrets_redact(&t), 0);
        assert_string_equal(t, code);
        free(t);
        assert_int_equal(l4h_secrets_found(code, strlen(code), NULL, 0), 0);
        char *m = l4h_secrets_redact_mem(code, strlen(code));
        assert_string_equal(m, code);
        free(m);
    }
    unsetenv("L4H_T_KEYVAR");
}

static void variables_named_like_keys_are_held(void **state)
{
    (void)state;
    setenv("L4H_T_HF_TOKEN", "hf_abcdefghijklmnopqrstuvwx", 1);
    setenv("L4H_T_PLAIN", "hf_zyxwvutsrqponmlkjihgfedc", 1);
    l4h_secrets_forget();
    char *t = strdup("hf_abcdefghijklmnopqrstuvwx hf_zyxwvutsrqponmlkjihgfedc");
    assert_int_equal(l4h_secrets_redact(&t), 1);
    assert_string_equal(t, "[redacted:L4H_T_HF_TOKEN] hf_zyxwvutsrqponmlkjihgfedc");
    free(t);
    unsetenv("L4H_T_HF_TOKEN");
    unsetenv("L4H_T_PLAIN");
    l4h_secrets_forget();
}

static void pieces_at_a_cut(void **state)
{
    (void)state;
    hold_key("L4H_T_KEYVAR", "ABCDEFGHIJKLMNOPQRST");
    assert_int_equal(l4h_secrets_piece("....ABCDEFG", 11, 1), 7);
    assert_int_equal(l4h_secrets_piece("NOPQRST....", 11, 0), 7);
    assert_int_equal(l4h_secrets_piece("....ABC", 7, 1), 0); /* under 4 bytes */
    assert_int_equal(l4h_secrets_piece("........", 8, 1), 0);
    unsetenv("L4H_T_KEYVAR");
    l4h_secrets_forget();
}

static void null_and_empty_texts(void **state)
{
    (void)state;
    hold_key("L4H_T_KEYVAR", "sk-0123456789abcdefXYZ");
    char *t = NULL;
    assert_int_equal(l4h_secrets_redact(&t), 0);
    assert_null(t);
    char *m = l4h_secrets_redact_mem(NULL, 0);
    assert_string_equal(m, "");
    free(m);
    m = l4h_secrets_redact_mem("sk-0123456789abcdefXY", 21); /* shorter than the key */
    assert_string_equal(m, "sk-0123456789abcdefXY");
    free(m);
    unsetenv("L4H_T_KEYVAR");
    l4h_secrets_forget();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_real_key_is_redacted_with_its_name),
        cmocka_unit_test(placeholders_are_never_matched),
        cmocka_unit_test(a_placeholder_key_is_noted_to_the_caller_once),
        cmocka_unit_test(variables_named_like_keys_are_held),
        cmocka_unit_test(pieces_at_a_cut),
        cmocka_unit_test(null_and_empty_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
