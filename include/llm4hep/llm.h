/* llm.h — talking to language models. One provider interface (as IOR's
 * aiori.h), one file per backend: HTTP (OpenAI-compatible chat completions
 * over libcurl), scripted (docs/design.md's YAML scripts, the embedded default),
 * replay (answers recorded in an earlier results file). The agent loop calls
 * l4h_llm_chat and never asks which backend answered.
 *
 * Secrets: API keys are read from the environment variable an endpoint names,
 * sent only in the Authorization header, and never appear in a request text,
 * a response text, an error message or a log line. */
#ifndef LLM4HEP_LLM_H
#define LLM4HEP_LLM_H

#include "llm4hep/core.h"

/* ------------------------------------------------------------ messages */

typedef struct l4h_tool_call {
    char *id;
    char *name;
    char *arguments;   /* the JSON string exactly as the model sent it (may be malformed) */
} l4h_tool_call;

typedef struct l4h_message {
    char role[16];     /* "system" | "user" | "assistant" | "tool" */
    char *content;     /* may be NULL (assistant with only tool calls) */
    l4h_tool_call *tool_calls;
    size_t n_tool_calls;
    char *tool_call_id; /* role "tool" */
} l4h_message;

/* Who is asking: scripted and replay backends answer by this position; HTTP
 * ignores it. */
typedef struct l4h_call_position {
    const char *supervisor, *coder, *step;
    int trial;
    const char *agent;  /* "supervisor" | "coder" | "annotator" */
    int call;           /* 0-based index of this agent's call in the task */
} l4h_call_position;

typedef struct l4h_chat_request {
    const char *model;              /* the model's name in the config */
    const l4h_message *messages;
    size_t n_messages;
    const l4h_tool_spec *tools;     /* offered tools, may be NULL */
    size_t n_tools;
    double deadline;                /* l4h_monotonic() time to give up; 0 = none */
    l4h_call_position pos;
} l4h_chat_request;

/* Why an endpoint refused a request (HTTP 400, 413 or 422 — never retried):
 * what the refusal itself says. The agent loop judges whose failure it is. */
typedef enum {
    L4H_REFUSAL_NONE = 0,         /* not a refusal (answered, or another failure) */
    L4H_REFUSAL_INVALID,          /* some other invalid request */
    L4H_REFUSAL_CONTEXT,          /* longer than the model's context */
    L4H_REFUSAL_TOO_LARGE,        /* the body is too large for the server (413) */
    L4H_REFUSAL_CONTENT_FILTER,   /* a content filter or policy refused it */
} l4h_refusal;

/* "longer than the model's context", ... (static). */
const char *l4h_llm_refusal_name(l4h_refusal r);

/* The most tokens one call may report in any usage field (prompt,
 * completion, cached, reasoning). No model has a context near it; a larger,
 * negative, fractional or non-finite count is a protocol error of the
 * endpoint (the call fails as error_api with the field named), so every
 * count that reaches the limits and the costs is in [0, this]. */
#define L4H_LLM_MAX_CALL_TOKENS 1000000000LL

/* The pre-flight model check (l4h_llm_check_model) ends within about this
 * many seconds whatever the server does: the /models request is bounded by
 * its timeout (at most 30 s), and the one-token request that replaces a
 * missing model list, its retries and waits by this deadline. */
#define L4H_LLM_CHECK_DEADLINE_S 120.0

typedef struct l4h_chat_response {
    char *content;                  /* may be NULL */
    char *reasoning;                /* vLLM reasoning_content, may be NULL */
    l4h_tool_call *tool_calls;
    size_t n_tool_calls;
    char finish_reason[24];         /* stop | length | tool_calls | content_filter | "" */
    int64_t prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens;
    double cost_usd;                /* NaN when the model has no price */
    int http_status;                /* last attempt's status; 0 scripted / no answer */
    int attempts;
    double latency_s;               /* all attempts including waits */
    char *request_json;             /* the exact body sent (no key) */
    char *response_json;            /* the last raw body, or the error text */
    char *attempt_log;              /* one line per attempt: status, latency, reason, wait */
    l4h_refusal refusal;            /* set when the call failed because the endpoint refused it */
    char served_model[128];         /* the answer's "model" (printable ASCII, cut with "...") */
    char system_fingerprint[64];    /* the answer's "system_fingerprint", same rules */
    char served_model_id[128];      /* the endpoint's model_id_header value, same rules */
} l4h_chat_response;

void l4h_chat_response_clear(l4h_chat_response *r);
void l4h_message_clear(l4h_message *m);

/* --------------------------------------------------------------- permits */

/* Rate-limit permits and campaign spending. Local in `run` (one process),
 * relayed to rank 0 in `sweep`. The client calls acquire before each HTTP
 * attempt and release after it with the HTTP status (429 shrinks the
 * endpoint's allowed concurrency; successes grow it back: AIMD). */
typedef struct l4h_permits {
    void *ctx;
    /* Block until a permit for `endpoint` or until deadline (monotonic, 0 =
     * none). 0 granted, -1 deadline passed or stopped. */
    int (*acquire)(void *ctx, const char *endpoint, double deadline);
    void (*release)(void *ctx, const char *endpoint, int http_status);
    /* Report spending of one call; returns the campaign's cost so far (USD). */
    double (*spend)(void *ctx, double usd, int64_t tokens);
} l4h_permits;

/* A limiter for one process honouring every endpoint's max_concurrency and
 * requests_per_minute, thread-safe. Free with l4h_permits_local_free. */
l4h_permits *l4h_permits_local_new(const l4h_config *cfg);
void l4h_permits_local_free(l4h_permits *p);
/* The local limiter's view of an endpoint: allowed concurrency now (0 =
 * unlimited; shrinks on 429), requests in flight, 429s seen. -1 when the
 * endpoint is unknown. Any out pointer may be NULL. For tests and logs. */
int l4h_permits_local_state(l4h_permits *p, const char *endpoint, double *limit, int *in_flight,
                            int *throttled);

/* ----------------------------------------------------------- the client */

/* Where the replay backend (endpoint `provider: replay`, `file:`) reads the
 * calls recorded in an earlier results file. The llm room does not read
 * results files itself (it links neither the store nor HDF5): a program
 * that runs tasks hands it the store's reader once, before creating clients
 * (l4h_replay_use_results, mpi.h). Every function may be called from
 * several threads of one client, never at once for one handle (replay
 * serialises them). */
typedef struct l4h_replay_source {
    /* Open the file at path: *tasks is every task row (no calls loaded),
     * owned by the handle, valid until close. 0, or -1 with err. */
    int (*open)(const char *path, void **handle, const l4h_task_rec **tasks, size_t *n_tasks,
                l4h_err *err);
    /* One task with its calls and their texts, into out (caller frees with
     * l4h_rec_clear). 0, or -1 with err. */
    int (*load_task)(void *handle, int64_t task_id, l4h_task_rec *out, l4h_err *err);
    void (*close)(void *handle);
} l4h_replay_source;

/* Set the process's replay reader (borrowed; NULL unsets). Call before any
 * client opens a replay endpoint, from one thread. Without a reader a replay
 * endpoint fails to open (code 2, saying so). Can't fail. */
void l4h_llm_set_replay_source(const l4h_replay_source *src);

typedef struct l4h_llm l4h_llm;

/* A client for every endpoint of cfg. Borrows cfg and permits (may be NULL:
 * no limits, no spending reports). Nothing is contacted yet. */
l4h_llm *l4h_llm_new(const l4h_config *cfg, l4h_permits *permits, l4h_err *err);
void l4h_llm_free(l4h_llm *llm);

/* Send one chat request to req->model's endpoint (retries, permits, cost
 * from prices). 0 answered, -1 failed (err says why; resp keeps the attempts).
 *
 * Conventions (src/llm):
 * - resp must be zeroed or hold an earlier response: it is cleared first.
 * - Thread-safe: threads may share one l4h_llm; each HTTP request takes its
 *   own curl handle from the endpoint's pool (connections are kept alive).
 * - retry.max_attempts counts every attempt, the first included. Retried:
 *   408, 409, 425, 429, 5xx, connection errors, timeouts, truncated bodies;
 *   the wait is Retry-After (seconds or HTTP date) when the server sends it,
 *   else uniform in [0, min(max_s, base_s * 2^(n-1))). Not retried: other
 *   4xx, a 200 whose body is not JSON or has no choices.
 * - attempt_log: one line per attempt, "attempt=N status=S latency_s=T
 *   result=ok|retry|fail wait_s=W [retry_after="..."] reason=TEXT"; replay
 *   adds "replay: request differs ..." lines.
 * - Each attempt's timeout is min(request_timeout_s, deadline - now); the
 *   connect timeout at most 30 s. A deadline that leaves no time for the
 *   next wait ends the call at once.
 * - Cost: tokens x prices; without a price, scripted models cost 0, replayed
 *   calls keep their recorded cost, other models are NaN with one warning
 *   per model on stderr. Spending goes to permits->spend after each answer.
 * - HTTP requests with a position carry X-LLM4HEP-Step, -Agent, -Trial and
 *   -Call headers (the test server answers scripted models by them).
 * - LLM4HEP_HTTP_DEBUG=1 prints curl's trace on stderr, key redacted.
 *   Proxies: libcurl's https_proxy / http_proxy / no_proxy. */
int l4h_llm_chat(l4h_llm *llm, const l4h_chat_request *req, l4h_chat_response *resp,
                 l4h_err *err);

/* Pre-flight: the model's endpoint answers and serves it (GET /models when
 * offered, else a one-token request). -1 with a message naming the endpoint
 * and model. */
int l4h_llm_check_model(l4h_llm *llm, const char *model, l4h_err *err);

/* Read the local files the model's answers come from (a scripted model's
 * file and its code files) through l4h_input_read, without the network: a
 * sweep's rank 0 calls it for every model while recording the campaign's
 * input snapshot. 0, or -1 when the model's file cannot be read. */
int l4h_llm_read_inputs(l4h_llm *llm, const char *model, l4h_err *err);

/* Do not warn about models without a price: the caller already did, once
 * for the whole campaign (a sweep's task children). Can't fail. */
void l4h_llm_quiet_prices(l4h_llm *llm);

/* The body l4h_llm_chat would send for req (exactly), without sending it.
 * Caller frees. Used to rebuild requests and by replay. */
char *l4h_llm_request_json(l4h_llm *llm, const l4h_chat_request *req, l4h_err *err);

#endif
