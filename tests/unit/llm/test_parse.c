/* test_parse.c — reading chat-completions responses as real servers send
 * them, error bodies, and the request body the client builds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/llm/llm_internal.h"

static int parse(const char *body, l4h_chat_response *r, int *trunc, char *why)
{
    return llm_parse_response(body, strlen(body), r, trunc, why, 600);
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
    llm_error_message(litellm, strlen(litellm), out, sizeof out);
    assert_string_equal(out, "Invalid model name (type invalid_request_error, code 400)");
    const char *openai = "{\"error\":{\"message\":\"Rate limit\",\"code\":429}}";
    llm_error_message(openai, strlen(openai), out, sizeof out);
    assert_string_equal(out, "Rate limit (code 429)");
    const char *detail = "{\"detail\":\"Not Found\"}";
    llm_error_message(detail, strlen(detail), out, sizeof out);
    assert_string_equal(out, "Not Found");
    const char *html = "<html>\r\n<head><title>502 Bad Gateway</title></head>";
    llm_error_message(html, strlen(html), out, sizeof out);
    assert_non_null(strstr(out, "body: \"<html>  <head><title>502 Bad Gateway"));
    llm_error_message("", 0, out, sizeof out);
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
    llm_quote_bytes(big, sizeof big, 200, out, sizeof out);
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
    cJSON *tree = llm_request_tree(&m, &req, 0, &err);
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
    tree = llm_request_tree(&m, &req, 0, &err);
    str = cJSON_PrintUnformatted(tree);
    assert_string_equal(str, "{\"model\":\"openai/o3\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                             "\"temperature\":0}");
    cJSON_free(str);
    cJSON_Delete(tree);
    tool.parameters_json = "{broken";
    req.tools = &tool;
    req.n_tools = 1;
    assert_null(llm_request_tree(&m, &req, 0, &err));
    assert_int_equal(err.code, 2);
    assert_non_null(strstr(err.msg, "tool f"));
}

static void test_response_body_round_trip(void **s)
{
    (void)s;
    l4h_tool_call tc = {.id = "call_coder_0_0", .name = "evaluate", .arguments = "{\"b\": [1]}"};
    char *body = llm_response_body("scripted/x", NULL, &tc, 1, 1200, 300);
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

/* Usage numbers a lying endpoint sends: each is a protocol error naming the
 * field, never a wrapped, negative or undefined count (issue 13 item 8). */
static void test_usage_out_of_range_is_a_protocol_error(void **s)
{
    (void)s;
    static const char *const lies[][2] = {
        {"\"prompt_tokens\":9e18,\"completion_tokens\":9e18", "usage.prompt_tokens is 9e+18"},
        {"\"prompt_tokens\":9223372036854775807,\"completion_tokens\":1", "usage.prompt_tokens"},
        {"\"prompt_tokens\":10,\"completion_tokens\":-1000000000", "usage.completion_tokens is -1000000000"},
        {"\"prompt_tokens\":1e300,\"completion_tokens\":1", "usage.prompt_tokens is 1e+300"},
        {"\"prompt_tokens\":2.5,\"completion_tokens\":1", "usage.prompt_tokens is 2.5"},
        {"\"prompt_tokens\":\"-5\",\"completion_tokens\":1", "usage.prompt_tokens is \"-5\""},
        {"\"prompt_tokens\":\"99999999999999999999\",\"completion_tokens\":1", "usage.prompt_tokens"},
        {"\"prompt_tokens\":\"nan\",\"completion_tokens\":1", "usage.prompt_tokens is \"nan\""},
        {"\"prompt_tokens\":true,\"completion_tokens\":1", "usage.prompt_tokens is true"},
        {"\"prompt_tokens\":1,\"completion_tokens\":1000000001", "usage.completion_tokens"},
        {"\"prompt_tokens\":1,\"completion_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":-1}",
         "usage.prompt_tokens_details.cached_tokens is -1"},
        {"\"prompt_tokens\":1,\"completion_tokens\":1,\"completion_tokens_details\":{\"reasoning_tokens\":1e19}",
         "usage.completion_tokens_details.reasoning_tokens"},
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"choices\":[{\"message\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                 "\"usage\":{%s}}", lies[i][0]);
        l4h_chat_response r = {0};
        int t = 1;
        char why[600];
        assert_int_equal(parse(body, &r, &t, why), -1);
        assert_int_equal(t, 0); /* not retried as a cut body */
        assert_non_null(strstr(why, "protocol error"));
        if (!strstr(why, lies[i][1]))
            fail_msg("case %zu: '%s' does not name '%s'", i, why, lies[i][1]);
        assert_int_equal(r.prompt_tokens, 0);
        assert_int_equal(r.completion_tokens, 0);
        assert_int_equal(r.cached_tokens, 0);
        assert_int_equal(r.reasoning_tokens, 0);
        assert_null(r.content);
        l4h_chat_response_clear(&r);
    }
    /* The edges that are honest: 0, the maximum, a whole float, null. */
    const char *ok = "{\"choices\":[{\"message\":{\"content\":\"Hi\"}}],"
                     "\"usage\":{\"prompt_tokens\":1000000000,\"completion_tokens\":3.0,"
                     "\"prompt_tokens_details\":{\"cached_tokens\":null}}}";
    l4h_chat_response r = {0};
    int t;
    char why[600];
    assert_int_equal(parse(ok, &r, &t, why), 0);
    assert_int_equal(r.prompt_tokens, 1000000000);
    assert_int_equal(r.completion_tokens, 3);
    assert_int_equal(r.cached_tokens, 0);
    l4h_chat_response_clear(&r);
}

/* The version that answered: model and system_fingerprint from the body,
 * the proxy's model id from its header; hostile bytes become '?', long
 * labels are cut with "...", and a failed parse leaves none. */
static void test_served_version_labels(void **s)
{
    (void)s;
    char longname[400];
    memset(longname, 'm', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char body[1200];
    snprintf(body, sizeof body,
             "{\"model\":\"gpt-5-2026-01-15\\u001b[2J\\n\\u00e9\",\"system_fingerprint\":\"%s\","
             "\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}", longname);
    l4h_chat_response r = {0};
    int t;
    char why[600];
    assert_int_equal(parse(body, &r, &t, why), 0);
    assert_string_equal(r.served_model, "gpt-5-2026-01-15?[2J???"); /* ESC, LF, two bytes of e-acute */
    assert_int_equal(strlen(r.system_fingerprint), sizeof r.system_fingerprint - 1);
    assert_string_equal(r.system_fingerprint + sizeof r.system_fingerprint - 4, "...");
    /* an answer whose usage lies is no answer: no served version either */
    const char *bad = "{\"model\":\"m\",\"choices\":[{\"message\":{\"content\":\"x\"}}],"
                      "\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":1}}";
    assert_int_equal(parse(bad, &r, &t, why), -1);
    assert_string_equal(r.served_model, "");
    l4h_chat_response_clear(&r);

    l4h_http_hints h = {.model_id_name = "x-litellm-model-id"};
    const char line[] = "X-LiteLLM-Model-Id: \t dep\x01loy\"-7\xff \r\n";
    assert_int_equal(llm_header_line(line, sizeof line - 1, &h), 0);
    assert_string_equal(h.model_id, "dep?loy\"-7?");
    const char other[] = "x-litellm-model-idx: no\r\n"; /* another header's name is not ours */
    assert_int_equal(llm_header_line(other, sizeof other - 1, &h), 0);
    assert_string_equal(h.model_id, "dep?loy\"-7?");
    const char status[] = "HTTP/1.1 200 OK\r\n"; /* a new response forgets the last one's */
    assert_int_equal(llm_header_line(status, sizeof status - 1, &h), 1);
    assert_string_equal(h.model_id, "");
}

/* max_tokens_param, reasoning_effort and extra_body in the body sent. */
static void test_request_chat_api_options(void **s)
{
    (void)s;
    l4h_endpoint ep = {.name = "e"};
    l4h_model_resolved m = {.name = "openai/o3", .endpoint = &ep};
    m.max_tokens = (l4h_opt_num){L4H_OPT_SET, 4096};
    m.max_tokens_param = "max_completion_tokens";
    m.reasoning_effort = "high";
    m.extra_body = "{\"service_tier\":\"flex\",\"metadata\":{\"a\":[1,true,null]}}";
    l4h_message msg = {.role = "user", .content = "hi"};
    l4h_chat_request req = {.model = "openai/o3", .messages = &msg, .n_messages = 1};
    l4h_err err = {0};
    char *str = llm_request_body(&m, &req, 0, &err);
    assert_non_null(str);
    assert_string_equal(str, "{\"model\":\"openai/o3\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                             "\"max_completion_tokens\":4096,\"reasoning_effort\":\"high\","
                             "\"service_tier\":\"flex\",\"metadata\":{\"a\":[1,true,null]}}");
    free(str);
    /* the one-token check uses the same name */
    str = llm_request_body(&m, &req, 1, &err);
    assert_non_null(strstr(str, "\"max_completion_tokens\":1"));
    assert_null(strstr(str, "\"max_tokens\""));
    free(str);
    /* a member we set is never overwritten (the config refuses it first) */
    m.extra_body = "{\"messages\":[]}";
    assert_null(llm_request_body(&m, &req, 0, &err));
    assert_int_equal(err.code, 2);
    assert_non_null(strstr(err.msg, "'messages'"));
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
        cmocka_unit_test(test_usage_out_of_range_is_a_protocol_error),
        cmocka_unit_test(test_served_version_labels),
        cmocka_unit_test(test_request_chat_api_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
