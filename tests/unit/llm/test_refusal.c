/* test_refusal.c — what an endpoint's refusal says: context, too large,
 * content filter or invalid, in the words real servers use; other statuses
 * are not refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../../src/llm/llm_internal.h"

static l4h_refusal of(int status, const char *body)
{
    return llm_refusal_of(status, body, body ? strlen(body) : 0);
}

static void test_context(void **state)
{
    (void)state;
    /* OpenAI */
    assert_int_equal(of(400, "{\"error\": {\"message\": \"This model's maximum context length is 128000 "
                             "tokens. However, your messages resulted in 130000 tokens.\", \"type\": "
                             "\"invalid_request_error\", \"code\": \"context_length_exceeded\"}}"),
                     L4H_REFUSAL_CONTEXT);
    /* vLLM */
    assert_int_equal(of(400, "{\"object\": \"error\", \"message\": \"This model's maximum context length "
                             "is 32768 tokens. However, you requested 40000 tokens\", \"type\": "
                             "\"BadRequestError\", \"code\": 400}"),
                     L4H_REFUSAL_CONTEXT);
    /* Anthropic through LiteLLM */
    assert_int_equal(of(400, "{\"error\": {\"message\": \"prompt is too long: 210000 tokens > 200000 "
                             "maximum\"}}"),
                     L4H_REFUSAL_CONTEXT);
    /* llama.cpp */
    assert_int_equal(of(400, "{\"error\": {\"code\": 400, \"message\": \"the request exceeds the "
                             "available context size\", \"type\": \"exceed_context_size_error\"}}"),
                     L4H_REFUSAL_CONTEXT);
}

static void test_too_large_and_filter(void **state)
{
    (void)state;
    assert_int_equal(of(413, "<html><head><title>413 Request Entity Too Large</title></head></html>"),
                     L4H_REFUSAL_TOO_LARGE);
    assert_int_equal(of(413, NULL), L4H_REFUSAL_TOO_LARGE);
    assert_int_equal(of(400, "{\"error\": {\"message\": \"The response was filtered due to the prompt "
                             "triggering Azure OpenAI's content management policy.\", \"code\": "
                             "\"content_filter\"}}"),
                     L4H_REFUSAL_CONTENT_FILTER);
    assert_int_equal(of(400, "{\"error\": {\"message\": \"litellm.ContentPolicyViolationError\"}}"),
                     L4H_REFUSAL_CONTENT_FILTER);
}

static void test_invalid_and_not_refusals(void **state)
{
    (void)state;
    assert_int_equal(of(400, "{\"error\": {\"message\": \"Unsupported parameter: 'temperature'\"}}"),
                     L4H_REFUSAL_INVALID);
    assert_int_equal(of(422, "not json"), L4H_REFUSAL_INVALID);
    /* not refusals of the request's content: auth, missing model, limits, servers */
    static const int others[] = {200, 401, 403, 404, 408, 429, 500, 502, 503};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        assert_int_equal(of(others[i], "{\"error\": {\"code\": \"context_length_exceeded\"}}"),
                         L4H_REFUSAL_NONE);
    assert_string_equal(l4h_llm_refusal_name(L4H_REFUSAL_CONTEXT), "longer than the model's context");
}

/* Some proxies answer 200 with an error object. */
static void test_refusal_in_a_200(void **state)
{
    (void)state;
    const char *ctx = "{\"error\": {\"message\": \"context_length_exceeded\", \"code\": 400}}";
    assert_int_equal(llm_refusal_in_answer(ctx, strlen(ctx)), L4H_REFUSAL_CONTEXT);
    const char *other = "{\"error\": {\"message\": \"upstream hiccup\"}}";
    assert_int_equal(llm_refusal_in_answer(other, strlen(other)), L4H_REFUSAL_NONE);
    const char *ok = "{\"choices\": [], \"note\": \"context length\"}";
    assert_int_equal(llm_refusal_in_answer(ok, strlen(ok)), L4H_REFUSAL_NONE);
    assert_int_equal(llm_refusal_in_answer(NULL, 0), L4H_REFUSAL_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context),
        cmocka_unit_test(test_too_large_and_filter),
        cmocka_unit_test(test_invalid_and_not_refusals),
        cmocka_unit_test(test_refusal_in_a_200),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
