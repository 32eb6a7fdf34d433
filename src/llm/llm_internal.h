/* llm_internal.h — what the files of src/llm share and the unit tests reach
 * (tests include it by relative path). Nothing here is part of the public
 * surface; other rooms use include/llm4hep/llm.h only. */
#ifndef LLM4HEP_LLM_INTERNAL_H
#define LLM4HEP_LLM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "llm4hep/llm.h"

/* A backend: one file each (llm_http.c, llm_scripted.c, llm_replay.c). */
typedef struct l4h_provider_ops {
    const char *name;  /* "http" | "scripted" | "replay" */
    int (*open)(const l4h_config *cfg, const l4h_endpoint *ep, void **state, l4h_err *err);
    /* One chat request; fills resp (usage, raw texts, attempts). 0 answered,
     * -1 failed after retries (err code 3, resp still holds what was seen). */
    int (*chat)(void *state, const l4h_model_resolved *model, const l4h_chat_request *req,
                l4h_permits *permits, l4h_chat_response *resp, l4h_err *err);
    /* Cheap check that the endpoint answers and serves the model. */
    int (*check_model)(void *state, const l4h_model_resolved *model, l4h_err *err);
    void (*close)(void *state);
    /* Optional: read every local file the model's answers come from through
     * l4h_input_read (so a sweep's input snapshot holds them). No network. */
    int (*read_inputs)(void *state, const l4h_model_resolved *model, l4h_err *err);
} l4h_provider_ops;

/* The backends (one file each). */
extern const l4h_provider_ops llm_http_ops;
extern const l4h_provider_ops llm_scripted_ops;
extern const l4h_provider_ops llm_replay_ops;

/* ------------------------------------------------------------ request.c */

/* The chat-completions body for req as model resolves it: model, messages,
 * temperature / max_tokens / seed unless null or unset, tools with
 * tool_choice "auto" when tools are offered. max_tokens_override > 0 replaces
 * max_tokens (the one-token model check). Returns a cJSON tree the caller
 * deletes, or NULL with err (code 2: a tool's parameters are not JSON). */
cJSON *llm_request_tree(const l4h_model_resolved *model, const l4h_chat_request *req,
                            int max_tokens_override, l4h_err *err);

/* The same body as compact JSON text (what is sent and recorded), or NULL
 * with err. Caller frees. */
char *llm_request_body(const l4h_model_resolved *model, const l4h_chat_request *req,
                           int max_tokens_override, l4h_err *err);

/* ------------------------------------------------------------ parse.c */

/* Fill resp's answer fields (content, reasoning, tool calls, finish_reason,
 * usage) from a chat-completions response body. Unknown fields are ignored.
 * Returns 0, or -1 with a reason in why[]: the body is not JSON (quoting its
 * first bytes), is truncated JSON (*truncated = 1), carries an error object,
 * or has no choices. resp's answer fields are freed first. */
int llm_parse_response(const char *body, size_t len, l4h_chat_response *resp,
                           int *truncated, char *why, size_t why_size);

/* One usage count (v, called name in the message) into *out: absent or
 * null is 0; otherwise a JSON number, or a string of digits, that is a whole
 * number from 0 to L4H_LLM_MAX_CALL_TOKENS. Returns 0, or -1 with a
 * "protocol error: usage.<name> is <value> (expected ...)" in why[] (a
 * server reporting -1e9, 1e300, NaN or 2.5 tokens is lying, and its numbers
 * must reach neither the limits nor the costs). *out is 0 on error. */
int llm_usage_count(const cJSON *v, const char *name, int64_t *out, char *why, size_t why_size);

/* The message of an error body {"error": {"message", "code", "type"}} (code
 * may be a string, as LiteLLM sends it, or a number), or of {"detail": ...},
 * or the first bytes of a non-JSON body (HTML from a proxy), as one line in
 * out[]. Can't fail. */
void llm_error_message(const char *body, size_t len, char *out, size_t out_size);

/* First bytes of a body as one printable line (control bytes as '.', cut
 * at max bytes, "..." appended when cut) into out[]. Can't fail. */
void llm_quote_bytes(const char *body, size_t len, size_t max, char *out, size_t out_size);

/* ------------------------------------------------------------ retry.c */

/* A source of uniform numbers in [0, 1); tests inject a fixed one. */
typedef double (*l4h_rng_fn)(void *ctx);


/* Full-jitter exponential backoff before retry number `retry` (1 = the wait
 * after the first failed attempt): uniform in [0, min(max_s, base_s * 2^(retry-1))).
 * Can't fail; never negative. */
double llm_backoff_s(const l4h_retry_cfg *rc, int retry, l4h_rng_fn rng, void *rng_ctx);

/* What the client keeps of a response's headers. */
/* A label an endpoint sent (served model, fingerprint, model-id header: n
 * bytes, any at all) into dst[cap] as printable ASCII: other bytes become
 * '?', a longer label is cut and ends in "...". cap >= 1. Can't fail. */
void llm_label_copy(char *dst, size_t cap, const char *src, size_t n);

typedef struct l4h_http_hints {
    char retry_after[96];    /* Retry-After, trimmed, cut to fit */
    char retry_after_ms[32]; /* OpenAI's finer-grained retry-after-ms */
    const char *model_id_name; /* set by the caller: the proxy's model-id header (kept) */
    char model_id[128];      /* that header's value (printable, cut with "...") */
} l4h_http_hints;

/* Read one header line as curl hands it over (n bytes, not NUL-terminated,
 * CRLF included, any bytes at all): a status line ("HTTP/...") clears h and
 * returns 1 (a new response begins: 100 Continue, a redirect); a
 * Retry-After or retry-after-ms line (any case) stores its trimmed value
 * (control bytes and '"' as '?'); a model_id_name line (any case) its
 * trimmed value as llm_label_copy writes it;
 * every other line is ignored. Returns 0 then. Can't fail. */
int llm_header_line(const char *p, size_t n, l4h_http_hints *h);

/* When retry.max_s and retry.base_s are both 0: the longest wait. */
#define L4H_LLM_WAIT_MAX_DEFAULT_S 120.0

/* A wait the server asked for (Retry-After, retry-after-ms), capped by
 * retry.max_s: a server asking for 100000 s gets retry.max_s, and the
 * attempt after it (within retry.max_attempts and the caller's deadline).
 * *capped is 1 when the cap applied. NaN or negative is 0. Can't fail. */
double llm_wait_cap(const l4h_retry_cfg *rc, double wait, int *capped);

/* Parse a Retry-After value: delta seconds ("120", "1.5") or an HTTP date
 * ("Fri, 27 Nov 2026 17:40:00 GMT", also the RFC 850 and asctime forms),
 * relative to now_epoch. Returns seconds to wait (>= 0, a past date is 0) or
 * -1 when the value is neither. */
double llm_retry_after_parse(const char *value, double now_epoch);

/* Whether an HTTP status is worth retrying: 408, 409, 425, 429 and 5xx yes;
 * every other 4xx (400, 401, 403, 404, ...) no. */
int llm_status_retryable(int status);

/* -------------------------------------------------------------- util.c */

/* Free n tool calls and the array. Can't fail. */
void llm_tool_calls_free(l4h_tool_call *tc, size_t n);

/* Free resp's answer fields (content, reasoning, tool calls, finish reason,
 * usage) but keep request_json, attempt_log and the attempt counters. */
void llm_response_clear_answer(l4h_chat_response *r);


/* Append one line to resp->attempt_log. */
void llm_log_attempt(l4h_chat_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The file name part of a model name: what follows the last '/'. */
const char *llm_model_basename(const char *model);

/* Build an OpenAI-shaped chat-completions response body for an answer the
 * scripted or replay backend made (id, model, one choice, usage). Caller
 * frees. Can't fail. */
char *llm_response_body(const char *model, const char *content,
                            const l4h_tool_call *tc, size_t n_tc,
                            int64_t prompt_tokens, int64_t completion_tokens);

/* -------------- used only inside the room (tests/unit/llm too) */

/* The refusal an HTTP status and error body describe: NONE unless the status
 * is 400, 413 or 422; then by the words of the body (OpenAI, Azure, vLLM,
 * LiteLLM, Anthropic, llama.cpp spellings; its first 64 KiB are read), a
 * content filter before a context overflow before a too-large body (413
 * without other words) before INVALID. Can't fail. */
l4h_refusal llm_refusal_of(int http_status, const char *body, size_t len);

/* The refusal an HTTP 200 whose body is an error object states (some
 * proxies answer so): context, too large or content filter by its words;
 * NONE for anything else (no error object, or no reason given). Can't fail. */
l4h_refusal llm_refusal_in_answer(const char *body, size_t len);

#endif
