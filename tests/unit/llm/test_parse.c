/* test_parse.c — reading chat-completions responses as real servers send
 * them, error bodies, and the request body the client builds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/llm/llm_internal.h"

static int parse(const char *body, l4h_chat_response *r, int *trunc, char *why)
{
    return l4h_llm_parse_response(body, strlen(body), r, trunc, why, 600);
}

static void test_plain_content_and_usage_details(void **s)
{
    (void)s;
    const char *body =
        "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\","
        "\"reasoning_content\":\"thinking\",\"extra\":1},\"finish_reason\":\"length\"}],"
        "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,\"total_tokens\":150,"
        "\"prompt_tokens_details\":{\"cached_tokens\":100},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":12}},\"system_fingerprint\":null}";
    l4h_chat_response r = {0};
    int t;
    char why[600];
    assert_int_equal(parse(body, &r, &t, why), 0);
    assert_string_equal(r.content, "Hi");
    assert_string_equal(r.reasoning, "thinking");
    assert_string_equal(r.finish_reason, "length");
    assert_int_equal(r.prompt_tokens, 120);
    assert_int_equal(r.completion_tokens, 30);
    assert_int_equal(r.cached_tokens, 100);
    assert_int_equal(r.reasoning_tokens, 12);
    assert_int_equal(r.n_tool_calls, 0);
    l4h_chat_response_clear(&r);
}

static void test_null_content_with_tool_calls(void **s)
{
    (void)s;
    const char *body =
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"evaluate_boundaries\","
        "\"arguments\":\"{\\\"boundaries\\\": [0.4, 0.7]}\"}},"
        "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{not json\"}}]},"
        "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":\"6\"}}";
    l4h_chat_response r = {0};
    int t;
    char why[600];
    assert_int_equal(parse(body, &r, &t, why), 0);
    assert_null(r.content);
    assert_int_equal(r.n_tool_calls, 2);
    assert_string_equal(r.tool_calls[0].id, "call_1");
    assert_string_equal(r.tool_calls[0].name, "evaluate_boundaries");
    assert_string_equal(r.tool_calls[0].arguments, "{\"boundaries\": [0.4, 0.7]}");
    assert_string_equal(r.tool_calls[1].arguments, "{not json"); /* kept as sent */
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_int_equal(r.completion_tokens, 6);
    l4h_chat_response_clear(&r);
}

static void test_content_parts_and_object_arguments(void **s)
{
    (void)s;
    const char *body =
        "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}],"
        "\"tool_calls\":[{\"function\":{\"name\":\"g\",\"arguments\":{\"x\":1}}}]},\"finish_reason\":null}]}";
    l4h_chat_response r = {0};
    int t;
    char why[600];
    assert_int_equal(parse(body, &r, &t, why), 0);
    assert_string_equal(r.content, "ab");
    assert_string_equal(r.tool_calls[0].arguments, "{\"x\":1}");
    assert_string_equal(r.tool_calls[0].id, "call_0");
    assert_string_equal(r.finish_reason, "");
    assert_int_equal(r.prompt_tokens, 0);
    l4h_chat_response_clear(&r);
}

static void test_not_json_quotes_first_bytes(void **s)
{
    (void)s;
    l4h_chat_response r = {0};
    int t;
    char why[600];
    assert_int_equal(parse("<html><body>Bad gateway</body></html>", &r, &t, why), -1);
    assert_int_equal(t, 0);
    assert_non_null(strstr(why, "not JSON"));
    assert_non_null(strstr(why, "<html><body>Bad gateway"));
    l4h_chat_response_clear(&r);
}

static void test_truncated_is_recognised(void **s)
{
    (void)s;
    l4h_chat_response r = {0};
    int t;
    char why[600];
    assert_int_equal(parse("{\"choices\":[{\"message\":{\"content\":\"Hel", &r, &t, why), -1);
    assert_int_equal(t, 1);
    assert_non_null(strstr(why, "truncated"));
    assert_int_equal(parse("", &r, &t, why), -1);
    assert_int_equal(t, 1);
    /* broken in the middle is malformed, not truncated */
    assert_int_equal(parse("{\"choices\": ]]] \"padding padding padding\"}", &r, &t, why), -1);
    assert_int_equal(t, 0);
    l4h_chat_response_clear(&r);
}

static void test_error_bodies(void **s)
{
    (void)s;
    char out[900];
    const char *litellm = "{\"error\":{\"message\":\"Invalid model name\",\"type\":\"invalid_request_error\","
                          "\"param\":null,\"code\":\"400\"}}";
    l4h_llm_error_message(litellm, strlen(litellm), out, sizeof out);
    assert_string_equal(out, "Invalid model name (type invalid_request_error, code 400)");
    const char *openai = "{\"error\":{\"message\":\"Rate limit\",\"code\":429}}";
    l4h_llm_error_message(openai, strlen(openai), out, sizeof out);
    assert_string_equal(out, "Rate limit (code 429)");
    const char *detail = "{\"detail\":\"Not Found\"}";
    l4h_llm_error_message(detail, strlen(detail), out, sizeof out);
    assert_string_equal(out, "Not Found");
    const char *html = "<html>\r\n<head><title>502 Bad Gateway</title></head>";
    l4h_llm_error_message(html, strlen(html), out, sizeof out);
    assert_non_null(strstr(out, "body: \"<html>  <head><title>502 Bad Gateway"));
    l4h_llm_error_message("", 0, out, sizeof out);
    assert_string_equal(out, "empty body");
    /* a 200 carrying an error object */
    l4h_chat_response r = {0};
    int t;
    char why[600];
    assert_int_equal(parse(litellm, &r, &t, why), -1);
    assert_non_null(strstr(why, "error body: Invalid model name"));
    l4h_chat_response_clear(&r);
}

static void test_quote_cuts_long_bodies(void **s)
{
    (void)s;
    char big[1000];
    memset(big, 'x', sizeof big);
    char out[300];
    l4h_llm_quote_bytes(big, sizeof big, 200, out, sizeof out);
    assert_int_equal(strlen(out), 203);
    assert_string_equal(out + 200, "...");
}

static void test_request_body(void **s)
{
    (void)s;
    l4h_endpoint ep = {.name = "e"};
    l4h_model_resolved m = {.name = "openai/o3", .endpoint = &ep};
    m.temperature.state = L4H_OPT_NULL;
    m.max_tokens = (l4h_opt_num){L4H_OPT_SET, 8192};
    m.seed = (l4h_opt_num){L4H_OPT_SET, 7};
    l4h_tool_call tc = {.id = "call_0", .name = "f", .arguments = "{\"a\":1}"};
    l4h_message msgs[3] = {
        {.role = "user", .content = "hi"},
        {.role = "assistant", .content = NULL, .tool_calls = &tc, .n_tool_calls = 1},
        {.role = "tool", .content = "{\"ok\":true}", .tool_call_id = "call_0"},
    };
    l4h_tool_spec tool = {.name = "f", .description = "d", .parameters_json = "{\"type\":\"object\"}"};
    l4h_chat_request req = {.model = "openai/o3", .messages = msgs, .n_messages = 3,
                            .tools = &tool, .n_tools = 1};
    l4h_err err;
    cJSON *tree = l4h_llm_request_tree(&m, &req, 0, &err);
    assert_non_null(tree);
    char *str = cJSON_PrintUnformatted(tree);
    assert_string_equal(str,
        "{\"model\":\"openai/o3\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_0\",\"type\":\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},"
        "{\"role\":\"tool\",\"content\":\"{\\\"ok\\\":true}\",\"tool_call_id\":\"call_0\"}],"
        "\"max_tokens\":8192,\"seed\":7,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"description\":\"d\",\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":\"auto\"}");
    cJSON_free(str);
    cJSON_Delete(tree);

    /* temperature set, no tools: no tool_choice; bad schema is an error */
    m.temperature = (l4h_opt_num){L4H_OPT_SET, 0};
    m.max_tokens.state = L4H_OPT_UNSET;
    m.seed.state = L4H_OPT_UNSET;
    req.n_tools = 0;
    req.tools = NULL;
    req.n_messages = 1;
    tree = l4h_llm_request_tree(&m, &req, 0, &err);
    str = cJSON_PrintUnformatted(tree);
    assert_string_equal(str, "{\"model\":\"openai/o3\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                             "\"temperature\":0}");
    cJSON_free(str);
    cJSON_Delete(tree);
    tool.parameters_json = "{broken";
    req.tools = &tool;
    req.n_tools = 1;
    assert_null(l4h_llm_request_tree(&m, &req, 0, &err));
    assert_int_equal(err.code, 2);
    assert_non_null(strstr(err.msg, "tool f"));
}

static void test_response_body_round_trip(void **s)
{
    (void)s;
    l4h_tool_call tc = {.id = "call_coder_0_0", .name = "evaluate", .arguments = "{\"b\": [1]}"};
    char *body = l4h_llm_response_body("scripted/x", NULL, &tc, 1, 1200, 300);
    l4h_chat_response r = {0};
    int t;
    char why[600];
    assert_int_equal(parse(body, &r, &t, why), 0);
    assert_null(r.content);
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_string_equal(r.tool_calls[0].arguments, "{\"b\": [1]}");
    assert_int_equal(r.prompt_tokens, 1200);
    assert_int_equal(r.completion_tokens, 300);
    free(body);
    l4h_chat_response_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_content_and_usage_details),
        cmocka_unit_test(test_null_content_with_tool_calls),
        cmocka_unit_test(test_content_parts_and_object_arguments),
        cmocka_unit_test(test_not_json_quotes_first_bytes),
        cmocka_unit_test(test_truncated_is_recognised),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_quote_cuts_long_bodies),
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_response_body_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
