/* util.c — small helpers of the LLM room: freeing messages and responses,
 * copying tool calls, the attempt log, and the
 * OpenAI-shaped body the scripted and replay backends answer with. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

/* Free n tool calls and the array. NULL is fine. */
void llm_tool_calls_free(l4h_tool_call *tc, size_t n)
{
    if (!tc)
        return;
    for (size_t i = 0; i < n; i++) {
        free(tc[i].id);
        free(tc[i].name);
        free(tc[i].arguments);
    }
    free(tc);
}

/* Free what a message owns and zero it. Can't fail. */
void l4h_message_clear(l4h_message *m)
{
    if (!m)
        return;
    free(m->content);
    free(m->tool_call_id);
    llm_tool_calls_free(m->tool_calls, m->n_tool_calls);
    memset(m, 0, sizeof *m);
}

/* Free the answer part of a response; keep the request, log and counters. */
void llm_response_clear_answer(l4h_chat_response *r)
{
    free(r->content);
    free(r->reasoning);
    llm_tool_calls_free(r->tool_calls, r->n_tool_calls);
    r->content = r->reasoning = NULL;
    r->tool_calls = NULL;
    r->n_tool_calls = 0;
    r->finish_reason[0] = '\0';
    r->prompt_tokens = r->completion_tokens = r->cached_tokens = r->reasoning_tokens = 0;
    r->served_model[0] = r->system_fingerprint[0] = '\0';
}

/* See llm_internal.h. */
void llm_label_copy(char *dst, size_t cap, const char *src, size_t n)
{
    size_t keep = n < cap ? n : cap - 1;
    int cut = n >= cap;
    if (cut)
        keep = cap > 4 ? cap - 4 : 0;
    for (size_t i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    if (cut && cap > 4) {
        memcpy(dst + keep, "...", 3);
        keep += 3;
    }
    dst[keep] = '\0';
}

/* Free everything a response owns and zero it. Can't fail. */
void l4h_chat_response_clear(l4h_chat_response *r)
{
    if (!r)
        return;
    llm_response_clear_answer(r);
    free(r->request_json);
    free(r->response_json);
    free(r->attempt_log);
    memset(r, 0, sizeof *r);
}

/* Append one formatted line (a '\n' is added) to resp->attempt_log. */
void llm_log_attempt(l4h_chat_response *resp, const char *fmt, ...)
{
    l4h_buf b = {0};
    if (resp->attempt_log)
        l4h_buf_puts(&b, resp->attempt_log);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    l4h_buf_puts(&b, line);
    l4h_buf_puts(&b, "\n");
    free(resp->attempt_log);
    resp->attempt_log = l4h_buf_take(&b);
}

/* The part of a model name after its last '/' (the whole name if none). */
const char *llm_model_basename(const char *model)
{
    const char *slash = strrchr(model, '/');
    return slash ? slash + 1 : model;
}

/* An OpenAI-shaped response body: {"id","object","model","choices":[{index,
 * message:{role,content,tool_calls},finish_reason}],"usage":{...}}. */
char *llm_response_body(const char *model, const char *content, const l4h_tool_call *tc,
                            size_t n_tc, int64_t prompt_tokens, int64_t completion_tokens)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", "chatcmpl-llm4hep");
    cJSON_AddStringToObject(root, "object", "chat.completion");
    cJSON_AddStringToObject(root, "model", model);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, choice);
    cJSON_AddNumberToObject(choice, "index", 0);
    cJSON *msg = cJSON_AddObjectToObject(choice, "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    if (content)
        cJSON_AddStringToObject(msg, "content", content);
    else
        cJSON_AddNullToObject(msg, "content");
    if (n_tc > 0) {
        cJSON *arr = cJSON_AddArrayToObject(msg, "tool_calls");
        for (size_t i = 0; i < n_tc; i++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "id", tc[i].id ? tc[i].id : "");
            cJSON_AddStringToObject(c, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(c, "function");
            cJSON_AddStringToObject(fn, "name", tc[i].name ? tc[i].name : "");
            cJSON_AddStringToObject(fn, "arguments", tc[i].arguments ? tc[i].arguments : "");
            cJSON_AddItemToArray(arr, c);
        }
    }
    cJSON_AddStringToObject(choice, "finish_reason", n_tc > 0 ? "tool_calls" : "stop");
    cJSON *usage = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(usage, "prompt_tokens", (double)prompt_tokens);
    cJSON_AddNumberToObject(usage, "completion_tokens", (double)completion_tokens);
    cJSON_AddNumberToObject(usage, "total_tokens", (double)(prompt_tokens + completion_tokens));
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s) {
        fprintf(stderr, "llm4hep: out of memory\n");
        abort();
    }
    char *out = l4h_xstrdup(s);
    cJSON_free(s);
    return out;
}
