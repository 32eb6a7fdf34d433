/* refusal.c — what an endpoint's refusal of a request says about the
 * request: too long for the model's context, too large for the server, its
 * content filtered, or otherwise invalid. The agent loop decides from this
 * (and from what the request held) whether the refusal is the model's
 * failure or the infrastructure's (docs/notes/channel.md). */
#include <ctype.h>
#include <string.h>

#include "llm_internal.h"

/* Case-insensitive search of needle (lowercase) in body[0..len). */
static int has(const char *body, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        size_t k = 0;
        while (k < n && tolower((unsigned char)body[i + k]) == needle[k])
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

/* The words servers use (OpenAI, Azure, vLLM, LiteLLM, Anthropic, llama.cpp,
 * Ollama, TGI) for each kind of refusal. */
static const char *const context_words[] = {
    "context_length_exceeded", "maximum context length", "context length", "context window",
    "context_window_exceeded", "prompt is too long", "input is too long", "too many tokens",
    "reduce the length", "exceed_context_size", "exceeds the available context", "input_too_long",
    "maximum input length", "max_model_len", NULL};
static const char *const large_words[] = {
    "request entity too large", "payload too large", "request too large", "request_too_large",
    "body too large", NULL};
static const char *const filter_words[] = {
    "content_filter", "content filter", "content_policy", "content policy", "contentpolicy",
    "content management policy", "responsibleaipolicyviolation", "safety system", "flagged",
    "moderation", NULL};

static int any(const char *body, size_t len, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (has(body, len, words[i]))
            return 1;
    return 0;
}

/* See llm.h. */
l4h_refusal llm_refusal_of(int http_status, const char *body, size_t len)
{
    if (http_status != 400 && http_status != 413 && http_status != 422)
        return L4H_REFUSAL_NONE;
    if (!body)
        len = 0;
    if (len > (64u << 10))
        len = 64u << 10; /* error bodies are small; never scan a huge one whole */
    if (any(body, len, filter_words))
        return L4H_REFUSAL_CONTENT_FILTER;
    if (any(body, len, context_words))
        return L4H_REFUSAL_CONTEXT;
    if (http_status == 413 || any(body, len, large_words))
        return L4H_REFUSAL_TOO_LARGE;
    return L4H_REFUSAL_INVALID;
}

/* See llm.h. */
const char *l4h_llm_refusal_name(l4h_refusal r)
{
    switch (r) {
    case L4H_REFUSAL_CONTEXT: return "longer than the model's context";
    case L4H_REFUSAL_TOO_LARGE: return "too large for the server";
    case L4H_REFUSAL_CONTENT_FILTER: return "refused by a content filter";
    case L4H_REFUSAL_INVALID: return "an invalid request";
    case L4H_REFUSAL_NONE:
    default: return "not refused";
    }
}

/* See llm.h. */
l4h_refusal llm_refusal_in_answer(const char *body, size_t len)
{
    if (!body || len > (64u << 10))
        return L4H_REFUSAL_NONE;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    l4h_refusal r = L4H_REFUSAL_NONE;
    if (cJSON_IsObject(e) || cJSON_IsString(e)) {
        r = llm_refusal_of(400, body, len);
        if (r == L4H_REFUSAL_INVALID) /* a 200 that failed for no stated reason: not a refusal */
            r = L4H_REFUSAL_NONE;
    }
    cJSON_Delete(root);
    return r;
}
