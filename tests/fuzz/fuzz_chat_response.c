/* fuzz_chat_response — what an OpenAI-compatible endpoint sends back, any
 * bytes: the chat-completion parser (content, parts, tool calls with string
 * or object arguments, finish_reason, usage and its details, reasoning),
 * error bodies, and the model list of GET /models. A finding is a crash, a
 * sanitizer report, or an accepted answer whose usage is out of range. */
#include "fuzz_util.h"
#include "../../src/llm/llm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    l4h_chat_response r = {0};
    int truncated = 0;
    char why[600];
    if (llm_parse_response(body, size, &r, &truncated, why, sizeof why) == 0) {
        FUZZ_ASSERT(r.prompt_tokens >= 0 && r.prompt_tokens <= L4H_LLM_MAX_CALL_TOKENS);
        FUZZ_ASSERT(r.completion_tokens >= 0 && r.completion_tokens <= L4H_LLM_MAX_CALL_TOKENS);
        FUZZ_ASSERT(r.cached_tokens >= 0 && r.cached_tokens <= L4H_LLM_MAX_CALL_TOKENS);
        FUZZ_ASSERT(r.reasoning_tokens >= 0 && r.reasoning_tokens <= L4H_LLM_MAX_CALL_TOKENS);
        FUZZ_ASSERT(memchr(r.finish_reason, '\0', sizeof r.finish_reason) != NULL);
        for (size_t i = 0; i < r.n_tool_calls; i++)
            FUZZ_ASSERT(r.tool_calls[i].id && r.tool_calls[i].name && r.tool_calls[i].arguments);
        /* what the scripted backend builds from an answer parses back the same */
        char *again = llm_response_body("m", r.content, r.tool_calls, r.n_tool_calls,
                                            r.prompt_tokens, r.completion_tokens);
        l4h_chat_response r2 = {0};
        FUZZ_ASSERT(llm_parse_response(again, strlen(again), &r2, &truncated, why, sizeof why) == 0);
        FUZZ_ASSERT(r2.n_tool_calls == r.n_tool_calls && r2.prompt_tokens == r.prompt_tokens);
        l4h_chat_response_clear(&r2);
        free(again);
    } else {
        FUZZ_ASSERT(memchr(why, '\0', sizeof why) != NULL && why[0]);
    }
    l4h_chat_response_clear(&r);
    char msg[900];
    llm_error_message(body, size, msg, sizeof msg);
    FUZZ_ASSERT(memchr(msg, '\0', sizeof msg) != NULL);
    return 0;
}
