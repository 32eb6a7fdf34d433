/* parse.c — reading what real OpenAI-compatible servers send back: content
 * as a string, null or a list of parts; tool calls with JSON-string
 * arguments; finish_reason; usage with its detail fields; vLLM's
 * reasoning_content; error bodies (LiteLLM's string codes); and bodies that
 * are not JSON at all. Unknown fields are ignored. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

void llm_quote_bytes(const char *body, size_t len, size_t max, char *out, size_t out_size)
{
    if (out_size == 0)
        return;
    size_t o = 0;
    size_t n = len < max ? len : max;
    for (size_t i = 0; i < n && o + 1 < out_size; i++) {
        unsigned char c = (unsigned char)body[i];
        out[o++] = (c >= 0x20 && c != 0x7f) || c >= 0x80 ? (char)c
                 : (c == '\n' || c == '\r' || c == '\t' ? ' ' : '.');
    }
    if (len > max && o + 4 < out_size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* See llm_internal.h. */
int llm_usage_count(const cJSON *v, const char *name, int64_t *out, char *why, size_t why_size)
{
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    double d = NAN;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && v->valuestring && v->valuestring[0] &&
               strspn(v->valuestring, "0123456789") == strlen(v->valuestring) &&
               strlen(v->valuestring) <= 15) {
        d = strtod(v->valuestring, NULL);
    }
    if (isfinite(d) && d >= 0 && d <= (double)L4H_LLM_MAX_CALL_TOKENS && d == floor(d)) {
        *out = (int64_t)d;
        return 0;
    }
    char shown[64];
    char *text = cJSON_PrintUnformatted(v);
    llm_quote_bytes(text ? text : "?", text ? strlen(text) : 1, 40, shown, sizeof shown);
    cJSON_free(text);
    snprintf(why, why_size,
             "protocol error: usage.%s is %s (expected a whole number of tokens from 0 to %lld)",
             name, shown, (long long)L4H_LLM_MAX_CALL_TOKENS);
    return -1;
}

/* Text of an error object's field, number or string; "" when absent. */
static void field_text(const cJSON *obj, const char *key, char *out, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    out[0] = '\0';
    if (cJSON_IsString(v) && v->valuestring)
        snprintf(out, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(out, n, "%.0f", v->valuedouble);
}

/* The message of a parsed error body into out; 0 if it had one, -1 if not. */
static int error_from_tree(const cJSON *root, char *out, size_t out_size)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsString(e) && e->valuestring) {
        snprintf(out, out_size, "%s", e->valuestring);
        return 0;
    }
    if (cJSON_IsObject(e)) {
        char msg[768], code[64], type[64];
        field_text(e, "message", msg, sizeof msg);
        field_text(e, "code", code, sizeof code);
        field_text(e, "type", type, sizeof type);
        int n = snprintf(out, out_size, "%s", msg[0] ? msg : "(no message)");
        if (n >= 0 && (size_t)n < out_size && (code[0] || type[0]))
            snprintf(out + n, out_size - (size_t)n, " (%s%s%s%s)", type[0] ? "type " : "", type,
                     type[0] && code[0] ? ", code " : (code[0] ? "code " : ""), code);
        return 0;
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "detail");
    if (cJSON_IsString(d) && d->valuestring) {
        snprintf(out, out_size, "%s", d->valuestring);
        return 0;
    }
    return -1;
}

void llm_error_message(const char *body, size_t len, char *out, size_t out_size)
{
    if (out_size == 0)
        return;
    out[0] = '\0';
    if (!body || len == 0) {
        snprintf(out, out_size, "empty body");
        return;
    }
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (root && error_from_tree(root, out, out_size) == 0) {
        cJSON_Delete(root);
        return;
    }
    cJSON_Delete(root);
    char q[240];
    llm_quote_bytes(body, len, 200, q, sizeof q);
    snprintf(out, out_size, "body: \"%s\"", q);
}

/* Content as a string, or the concatenated text of a list of parts. */
static char *content_text(const cJSON *c)
{
    if (cJSON_IsString(c) && c->valuestring)
        return l4h_xstrdup(c->valuestring);
    if (cJSON_IsArray(c)) {
        l4h_buf b = {0};
        const cJSON *part;
        cJSON_ArrayForEach(part, c) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(t) && t->valuestring)
                l4h_buf_puts(&b, t->valuestring);
        }
        return b.data ? l4h_buf_take(&b) : NULL;
    }
    return NULL;
}

/* Whether a body that failed to parse is a cut-short JSON document rather
 * than a malformed one: it starts with '{' or '[', its brackets match as far
 * as they go, and it ends inside a string or with brackets still open. An
 * empty body counts as cut short (nothing arrived). */
static int looks_truncated(const char *body, size_t len)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i]))
        i++;
    if (i == len)
        return 1;
    if (body[i] != '{' && body[i] != '[')
        return 0;
    char stack[256];
    size_t depth = 0;
    int in_str = 0, esc = 0;
    for (; i < len; i++) {
        char c = body[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (depth == sizeof stack)
                return 0;
            stack[depth++] = c;
        } else if (c == '}' || c == ']') {
            if (depth == 0 || stack[depth - 1] != (c == '}' ? '{' : '['))
                return 0;
            depth--;
            if (depth == 0)
                return 0; /* a whole document ended: whatever is wrong is not a cut */
        }
    }
    return in_str || depth > 0;
}

static void parse_tool_calls(const cJSON *arr, l4h_chat_response *resp)
{
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n == 0)
        return;
    resp->tool_calls = l4h_xcalloc(n, sizeof *resp->tool_calls);
    size_t k = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr) {
        l4h_tool_call *tc = &resp->tool_calls[k++];
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        char idbuf[32];
        snprintf(idbuf, sizeof idbuf, "call_%zu", k - 1);
        tc->id = l4h_xstrdup(cJSON_IsString(id) && id->valuestring ? id->valuestring : idbuf);
        tc->name = l4h_xstrdup(cJSON_IsString(name) && name->valuestring ? name->valuestring : "");
        if (cJSON_IsString(args) && args->valuestring) {
            tc->arguments = l4h_xstrdup(args->valuestring);
        } else if (args && !cJSON_IsNull(args)) {
            char *s = cJSON_PrintUnformatted(args); /* some servers send an object */
            tc->arguments = l4h_xstrdup(s ? s : "");
            cJSON_free(s);
        } else {
            tc->arguments = l4h_xstrdup("");
        }
    }
    resp->n_tool_calls = k;
}

/* The usage object's counts into resp; 0, or -1 with why[] when one is
 * out of range (see llm_usage_count). An absent usage leaves every count 0. */
static int parse_usage(const cJSON *u, l4h_chat_response *resp, char *why, size_t why_size)
{
    if (!cJSON_IsObject(u))
        return 0;
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details");
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens_details");
    if (llm_usage_count(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens"), "prompt_tokens",
                    &resp->prompt_tokens, why, why_size) < 0 ||
        llm_usage_count(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens"), "completion_tokens",
                    &resp->completion_tokens, why, why_size) < 0 ||
        (cJSON_IsObject(pd) &&
         llm_usage_count(cJSON_GetObjectItemCaseSensitive(pd, "cached_tokens"),
                     "prompt_tokens_details.cached_tokens", &resp->cached_tokens, why, why_size) < 0) ||
        (cJSON_IsObject(cd) &&
         llm_usage_count(cJSON_GetObjectItemCaseSensitive(cd, "reasoning_tokens"),
                     "completion_tokens_details.reasoning_tokens", &resp->reasoning_tokens, why,
                     why_size) < 0)) {
        resp->prompt_tokens = resp->completion_tokens = 0;
        resp->cached_tokens = resp->reasoning_tokens = 0;
        return -1;
    }
    return 0;
}

int llm_parse_response(const char *body, size_t len, l4h_chat_response *resp,
                           int *truncated, char *why, size_t why_size)
{
    llm_response_clear_answer(resp);
    *truncated = 0;
    why[0] = '\0';
    cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
    if (!root) {
        char q[240];
        llm_quote_bytes(body ? body : "", body ? len : 0, 200, q, sizeof q);
        if (body && looks_truncated(body, len)) {
            *truncated = 1;
            snprintf(why, why_size, "truncated JSON body (%zu bytes): \"%s\"", len, q);
        } else {
            snprintf(why, why_size, "response is not JSON (%zu bytes): \"%s\"", len, q);
        }
        return -1;
    }
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *choice = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    if (!cJSON_IsObject(choice)) {
        char msg[900];
        if (error_from_tree(root, msg, sizeof msg) == 0)
            snprintf(why, why_size, "error body: %s", msg);
        else
            snprintf(why, why_size, "response has no choices");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    resp->content = content_text(cJSON_GetObjectItemCaseSensitive(msg, "content"));
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(msg, "reasoning_content");
    if (!cJSON_IsString(rc))
        rc = cJSON_GetObjectItemCaseSensitive(msg, "reasoning");
    if (cJSON_IsString(rc) && rc->valuestring)
        resp->reasoning = l4h_xstrdup(rc->valuestring);
    const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    if (cJSON_IsArray(tcs))
        parse_tool_calls(tcs, resp);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
    if (cJSON_IsString(fr) && fr->valuestring)
        snprintf(resp->finish_reason, sizeof resp->finish_reason, "%s", fr->valuestring);
    const cJSON *sm = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (cJSON_IsString(sm) && sm->valuestring)
        llm_label_copy(resp->served_model, sizeof resp->served_model, sm->valuestring,
                           strlen(sm->valuestring));
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(root, "system_fingerprint");
    if (cJSON_IsString(fp) && fp->valuestring)
        llm_label_copy(resp->system_fingerprint, sizeof resp->system_fingerprint, fp->valuestring,
                           strlen(fp->valuestring));
    int usage_rc = parse_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), resp, why, why_size);
    cJSON_Delete(root);
    if (usage_rc < 0)
        llm_response_clear_answer(resp); /* an answer whose usage lies is no answer */
    return usage_rc;
}
