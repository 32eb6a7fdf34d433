/* llm_http.c — the OpenAI-compatible HTTP backend (CBORG/LiteLLM, OpenAI,
 * vLLM, Ollama, llama.cpp): POST {base_url}/chat/completions over libcurl
 * with retries, permits and every attempt logged.
 *
 * Connections: each endpoint keeps a small pool of curl easy handles; a
 * request takes one (or makes one), and gives it back, so consecutive
 * requests reuse the connection (keep-alive) and concurrent threads never
 * share a handle. curl_global_init runs once (pthread_once).
 *
 * Secrets: the key is read from the endpoint's environment variable for each
 * request and goes only into the Authorization header (wiped after use). The
 * process's secrets (core/secrets.c) are redacted from the texts this file
 * writes that can carry one: error bodies, reasons, the attempt log, error
 * messages and curl's debug output (LLM4HEP_HTTP_DEBUG=1). An answer is
 * returned exactly as received (client.c refuses one holding a secret).
 * Proxies: libcurl honours https_proxy, http_proxy
 * and no_proxy from the environment by itself. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "llm_internal.h"

#define MAX_BODY_BYTES (64u << 20)

typedef struct http_state {
    const l4h_endpoint *ep;
    const l4h_retry_cfg *retry; /* the config's, borrowed */
    char *chat_url, *models_url;
    int debug;               /* LLM4HEP_HTTP_DEBUG: curl's trace, redacted, on stderr */
    pthread_mutex_t mu;      /* guards the idle handle pool */
    CURL **idle;
    size_t n_idle, cap_idle;
} http_state;

/* What one HTTP exchange produced. */
typedef struct exchange {
    CURLcode cc;
    long status;
    l4h_buf body;
    int too_big;
    l4h_http_hints hints;    /* Retry-After and retry-after-ms of the last response */
    char curl_err[CURL_ERROR_SIZE];
    double latency_s;
} exchange;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;
static void curl_init_once(void) { curl_init_rc = (int)curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---------------------------------------------------------- handle pool */

static CURL *take_handle(http_state *st)
{
    CURL *h = NULL;
    pthread_mutex_lock(&st->mu);
    if (st->n_idle > 0)
        h = st->idle[--st->n_idle];
    pthread_mutex_unlock(&st->mu);
    if (h)
        curl_easy_reset(h); /* keeps the connection cache */
    else
        h = curl_easy_init();
    return h;
}

static void give_handle(http_state *st, CURL *h)
{
    pthread_mutex_lock(&st->mu);
    if (st->n_idle == st->cap_idle) {
        st->cap_idle = st->cap_idle ? 2 * st->cap_idle : 4;
        st->idle = l4h_xrealloc(st->idle, st->cap_idle * sizeof *st->idle);
    }
    st->idle[st->n_idle++] = h;
    pthread_mutex_unlock(&st->mu);
}

/* ------------------------------------------------------------ callbacks */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    exchange *x = ud;
    size_t bytes = size * n;
    if (x->body.len + bytes > MAX_BODY_BYTES) {
        x->too_big = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    l4h_buf_add(&x->body, p, bytes);
    return bytes;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    exchange *x = ud;
    size_t bytes = size * n;
    if (llm_header_line(p, bytes, &x->hints)) { /* a new response (100 Continue, redirect) */
        x->body.len = 0;
        if (x->body.data)
            x->body.data[0] = '\0';
    }
    return bytes;
}

/* Abort a transfer once the process is stopping (a signal called
 * l4h_interrupt_waits): a hung server must not hold a draining rank. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)ud, (void)dt, (void)dn, (void)ut, (void)un;
    return l4h_waits_interrupted() ? 1 : 0;
}

/* curl's trace on stderr with the Authorization header and the key hidden. */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    (void)ud;
    if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
        return 0;
    char *text = l4h_xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncasecmp(line, "Authorization:", 14) == 0)
            fprintf(stderr, "llm4hep http: Authorization: Bearer ***\n");
        else if (*line && !(line[0] == '\r' && line[1] == '\0')) {
            char *shown = l4h_secrets_redact_mem(line, strlen(line));
            fprintf(stderr, "llm4hep http: %s%s\n", type == CURLINFO_HEADER_OUT ? "> " :
                    type == CURLINFO_HEADER_IN ? "< " : "* ", shown);
            free(shown);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return 0;
}

/* ------------------------------------------------------------- exchange */

/* The API key of the endpoint, or NULL when it has none; -1 with err when
 * the endpoint names a variable that is unset or empty. */
static int api_key(const l4h_endpoint *ep, const char **key, l4h_err *err)
{
    *key = NULL;
    if (!ep->api_key_env || !*ep->api_key_env)
        return 0;
    const char *v = getenv(ep->api_key_env);
    if (!v || !*v)
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "endpoint %s: environment variable %s is not set (it should hold the API key)",
                           ep->name, ep->api_key_env);
    *key = v;
    return 0;
}

/* Add "name: value" with CR/LF and other control bytes dropped. */
static struct curl_slist *add_header(struct curl_slist *hl, const char *name, const char *value)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s: ", name);
    size_t o = n > 0 ? (size_t)n : 0;
    for (const char *v = value; *v && o + 1 < sizeof line; v++)
        if ((unsigned char)*v >= 0x20 && *v != 0x7f)
            line[o++] = *v;
    line[o] = '\0';
    return curl_slist_append(hl, line);
}

/* Wipe the header strings (the bearer token) before freeing them. */
static void free_headers(struct curl_slist *hl)
{
    for (struct curl_slist *p = hl; p; p = p->next)
        memset(p->data, 0, strlen(p->data));
    curl_slist_free_all(hl);
}

/* The request's headers: JSON in and out, no "Expect: 100-continue", the
 * key as a bearer token (its formatted copy wiped), and the call's position
 * when it has one. Free with free_headers. Can't fail. */
static struct curl_slist *request_headers(const char *body, const char *key,
                                          const l4h_call_position *pos)
{
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, "Accept: application/json");
    hl = curl_slist_append(hl, "Expect:");
    if (body)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    if (key) {
        l4h_buf auth = {0};
        l4h_buf_printf(&auth, "Bearer %s", key);
        hl = add_header(hl, "Authorization", auth.data);
        memset(auth.data, 0, auth.len);
        l4h_buf_free(&auth);
    }
    if (pos && pos->step && pos->agent) {
        char num[32];
        hl = add_header(hl, "X-LLM4HEP-Step", pos->step);
        hl = add_header(hl, "X-LLM4HEP-Agent", pos->agent);
        snprintf(num, sizeof num, "%d", pos->trial);
        hl = add_header(hl, "X-LLM4HEP-Trial", num);
        snprintf(num, sizeof num, "%d", pos->call);
        hl = add_header(hl, "X-LLM4HEP-Call", num);
    }
    return hl;
}

/* Set up handle h for one request into x: url, headers hl, the whole
 * timeout (at least 1 ms) and a connect timeout of at most 30 s, the body
 * and header callbacks, POST of body or GET, curl's trace when debugging. */
static void set_request(const http_state *st, CURL *h, const char *url, const char *body,
                        struct curl_slist *hl, double timeout_s, exchange *x)
{
    long total_ms = (long)ceil(timeout_s * 1000.0);
    if (total_ms < 1)
        total_ms = 1;
    long connect_ms = total_ms < 30000 ? total_ms : 30000;

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->curl_err);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "llm4hep/" LLM4HEP_VERSION);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* whatever curl can decode */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    if (st->debug) {
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
        curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
    }
}

/* One request: POST body (or GET when body is NULL) to url within
 * timeout_s. Fills x (the caller frees x->body). Can't fail as such: the
 * outcome is in x->cc and x->status. */
static void perform(http_state *st, const char *url, const char *body, const char *key,
                    const l4h_call_position *pos, double timeout_s, exchange *x)
{
    memset(x, 0, sizeof *x);
    x->hints.model_id_name = st->ep->model_id_header;
    CURL *h = take_handle(st);
    if (!h) {
        x->cc = CURLE_FAILED_INIT;
        snprintf(x->curl_err, sizeof x->curl_err, "curl_easy_init failed");
        return;
    }
    struct curl_slist *hl = request_headers(body, key, pos);
    set_request(st, h, url, body, hl, timeout_s, x);
    double t0 = l4h_monotonic();
    x->cc = curl_easy_perform(h);
    x->latency_s = l4h_monotonic() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->cc != CURLE_OK && !x->curl_err[0])
        snprintf(x->curl_err, sizeof x->curl_err, "%s", curl_easy_strerror(x->cc));
    /* Forget the header list before it is freed: the handle outlives it. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    free_headers(hl);
    if (x->cc != CURLE_OK && x->cc != CURLE_HTTP_RETURNED_ERROR) {
        /* a broken connection is not worth keeping */
        curl_easy_cleanup(h);
    } else {
        give_handle(st, h);
    }
    if (!x->body.data)
        l4h_buf_puts(&x->body, "");
}

/* Whether a transport failure is worth retrying: timeouts, refused or reset
 * connections, empty replies and bodies cut short; not bad URLs or TLS
 * verification failures. */
static int curl_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
        return 1;
    default:
        return 0;
    }
}

/* ----------------------------------------------------------------- chat */

static int http_open(const l4h_config *cfg, const l4h_endpoint *ep, void **state, l4h_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "endpoint %s: curl_global_init failed", ep->name);
    if (!ep->base_url || !*ep->base_url)
        return l4h_err_set(err, L4H_EXIT_USAGE, "endpoint %s: base_url is required for HTTP",
                           ep->name);
    http_state *st = l4h_xcalloc(1, sizeof *st);
    st->ep = ep;
    st->retry = cfg ? &cfg->retry : NULL;
    size_t n = strlen(ep->base_url);
    while (n > 0 && ep->base_url[n - 1] == '/')
        n--;
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%.*s/chat/completions", (int)n, ep->base_url);
    st->chat_url = l4h_buf_take(&b);
    l4h_buf_printf(&b, "%.*s/models", (int)n, ep->base_url);
    st->models_url = l4h_buf_take(&b);
    const char *dbg = getenv("LLM4HEP_HTTP_DEBUG");
    st->debug = dbg && *dbg && strcmp(dbg, "0") != 0;
    pthread_mutex_init(&st->mu, NULL);
    *state = st;
    return 0;
}

static void http_close(void *state)
{
    http_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_idle; i++)
        curl_easy_cleanup(st->idle[i]);
    free(st->idle);
    pthread_mutex_destroy(&st->mu);
    free(st->chat_url);
    free(st->models_url);
    free(st);
}

/* One chat call across its attempts: what the caller asked for and what the
 * attempts left behind. Shared by l4h chat and the one-token model check. */
typedef struct chat_call {
    http_state *st;
    const l4h_retry_cfg *rc;
    const l4h_model_resolved *model;
    const l4h_chat_request *req;
    l4h_permits *permits;         /* may be NULL: no limits */
    l4h_chat_response *resp;
    int max_tokens_override;      /* > 0 replaces max_tokens (the one-token check) */
    int max_attempts;             /* > 0 replaces retry.max_attempts */
    /* set by call_prepare */
    const char *key;              /* the API key (the environment's), may be NULL */
    double timeout;               /* each attempt's, before the caller's deadline */
    char reason[1200];            /* why the last attempt (or the call) ended so */
} chat_call;

/* What one attempt came to. */
typedef struct attempt_outcome {
    int answered;
    int retry;                    /* worth another attempt */
    double retry_after;           /* seconds the server asked to wait; -1 none */
    double wait;                  /* before the next attempt (0 when none follows) */
} attempt_outcome;

/* Set up: the key, the body (into resp->request_json), the attempt count and
 * timeout. 0, or -1 with err (no key, or a body that cannot be built). */
static int call_prepare(chat_call *c, l4h_err *err)
{
    if (api_key(c->st->ep, &c->key, err) < 0)
        return -1;
    char *body = llm_request_body(c->model, c->req, c->max_tokens_override, err);
    if (!body)
        return -1;
    free(c->resp->request_json);
    c->resp->request_json = body;
    if (c->max_attempts <= 0)
        c->max_attempts = c->rc->max_attempts > 0 ? c->rc->max_attempts : 1;
    c->timeout = c->model->request_timeout_s > 0 ? c->model->request_timeout_s : 600;
    c->reason[0] = '\0';
    return 0;
}

/* Whether attempt may start: no signal, the caller's deadline not passed, a
 * rate-limit permit granted. 0, or -1 with c->reason saying why not. */
static int may_start(chat_call *c, int attempt)
{
    const l4h_chat_request *req = c->req;
    if (l4h_waits_interrupted()) {
        snprintf(c->reason, sizeof c->reason, "interrupted by a signal before attempt %d", attempt);
        return -1;
    }
    if (req->deadline > 0 && l4h_monotonic() >= req->deadline) {
        snprintf(c->reason, sizeof c->reason, "the caller's deadline passed before attempt %d",
                 attempt);
        return -1;
    }
    if (c->permits && c->permits->acquire(c->permits->ctx, c->st->ep->name, req->deadline) != 0) {
        snprintf(c->reason, sizeof c->reason,
                 "no rate-limit permit for endpoint %s before the deadline", c->st->ep->name);
        return -1;
    }
    return 0;
}

/* Judge a transport failure (no HTTP answer): the reason, also kept as the
 * response text; retried when curl_retryable, never a body cut at the cap
 * or a signal. */
static void judge_transport(chat_call *c, const exchange *x, attempt_outcome *o)
{
    if (x->too_big)
        snprintf(c->reason, sizeof c->reason, "response larger than %u bytes", MAX_BODY_BYTES);
    else if (x->cc == CURLE_ABORTED_BY_CALLBACK)
        snprintf(c->reason, sizeof c->reason, "interrupted by a signal during the request");
    else if (x->cc == CURLE_OPERATION_TIMEDOUT)
        snprintf(c->reason, sizeof c->reason, "timeout after %.1f s: %s", x->latency_s, x->curl_err);
    else
        snprintf(c->reason, sizeof c->reason, "connection error: %s", x->curl_err);
    o->retry = curl_retryable(x->cc) && !x->too_big && x->cc != CURLE_ABORTED_BY_CALLBACK;
    free(c->resp->response_json);
    c->resp->response_json = l4h_xstrdup(c->reason);
}

/* Judge an HTTP 200: an answer when it parses (retried when the body was
 * cut short; else a refusal in an error object is noted). */
static void judge_answer(chat_call *c, const exchange *x, attempt_outcome *o)
{
    int truncated = 0;
    char why[600];
    if (llm_parse_response(x->body.data, x->body.len, c->resp, &truncated, why, sizeof why) == 0) {
        o->answered = 1;
        memcpy(c->resp->served_model_id, x->hints.model_id, sizeof c->resp->served_model_id);
        snprintf(c->reason, sizeof c->reason, "ok");
        return;
    }
    snprintf(c->reason, sizeof c->reason, "HTTP 200: %s", why);
    o->retry = truncated;
    if (!truncated)
        c->resp->refusal = llm_refusal_in_answer(x->body.data, x->body.len);
}

/* Judge any other HTTP status: the error's message (with a hint when the
 * model wants max_completion_tokens), retried by status with the server's
 * Retry-After / retry-after-ms; a refusal when not retried. */
static void judge_error(chat_call *c, exchange *x, attempt_outcome *o)
{
    const l4h_model_resolved *model = c->model;
    char msg[900];
    llm_error_message(x->body.data, x->body.len, msg, sizeof msg);
    /* OpenAI's reasoning models refuse max_tokens: say which key fixes it */
    int wants_mct = x->status == 400 && strstr(msg, "max_completion_tokens") &&
                    strstr(msg, "max_tokens") &&
                    (!model->max_tokens_param || !strcmp(model->max_tokens_param, "max_tokens"));
    snprintf(c->reason, sizeof c->reason, "HTTP %ld: %s%s", x->status,
             wants_mct ? "this model takes max_completion_tokens (set max_tokens_param: "
                         "max_completion_tokens for it in models_config): "
                       : "",
             msg);
    o->retry = llm_status_retryable((int)x->status);
    c->resp->refusal = o->retry ? L4H_REFUSAL_NONE
                                : llm_refusal_of((int)x->status, x->body.data, x->body.len);
    if (o->retry && x->hints.retry_after_ms[0]) {
        double ms = llm_retry_after_parse(x->hints.retry_after_ms, 0);
        if (ms >= 0 && !strchr(x->hints.retry_after_ms, ',')) { /* a number, not a date */
            o->retry_after = ms / 1000.0;
            snprintf(x->hints.retry_after, sizeof x->hints.retry_after, "%s ms",
                     x->hints.retry_after_ms);
        }
    }
    if (o->retry && o->retry_after < 0 && x->hints.retry_after[0])
        o->retry_after = llm_retry_after_parse(x->hints.retry_after, l4h_now());
}

/* One attempt (its permit already taken): send, give the permit back, judge
 * what came, redact, and log it with the wait before the next. Fills o.
 * Can't fail as such: the outcome says what happened. */
static void attempt_once(chat_call *c, int attempt, attempt_outcome *o)
{
    const l4h_chat_request *req = c->req;
    l4h_chat_response *resp = c->resp;
    const char *endpoint = c->st->ep->name;
    memset(o, 0, sizeof *o);
    o->retry_after = -1;
    double limit = c->timeout, now = l4h_monotonic();
    if (req->deadline > 0 && req->deadline - now < limit)
        limit = req->deadline - now;
    exchange x;
    double sent_utc = l4h_now(); /* after the permit: when the request left */
    perform(c->st, c->st->chat_url, resp->request_json, c->key, &req->pos, limit, &x);
    if (c->permits)
        c->permits->release(c->permits->ctx, endpoint, x.cc == CURLE_OK ? (int)x.status : 0);
    resp->attempts = attempt;
    resp->http_status = x.cc == CURLE_OK ? (int)x.status : 0;
    free(resp->response_json);
    resp->response_json = l4h_xstrdup(x.body.data);
    resp->refusal = L4H_REFUSAL_NONE;
    if (x.cc != CURLE_OK)
        judge_transport(c, &x, o);
    else if (x.status == 200)
        judge_answer(c, &x, o);
    else
        judge_error(c, &x, o);
    l4h_buf_free(&x.body);
    if (!o->answered) /* the body is an error text, not an answer */
        l4h_secrets_redact(&resp->response_json);
    l4h_secrets_redact_buf(c->reason, sizeof c->reason);

    int more = !o->answered && o->retry && attempt < c->max_attempts;
    int capped = 0;
    if (more)
        o->wait = o->retry_after >= 0 ? llm_wait_cap(c->rc, o->retry_after, &capped)
                                      : llm_backoff_s(c->rc, attempt, NULL, NULL);
    int ra = o->retry_after >= 0;
    llm_log_attempt(resp, "attempt=%d status=%d sent_utc=%.6f latency_s=%.3f result=%s wait_s=%.3f%s%s%s%s reason=%s",
                        attempt, resp->http_status, sent_utc, x.latency_s,
                        o->answered ? "ok" : more ? "retry" : "fail", o->wait,
                        ra ? " retry_after=\"" : "", ra ? x.hints.retry_after : "", ra ? "\"" : "",
                        capped ? " capped_by=retry.max_s" : "", c->reason);
}

/* Wait before the next attempt. 0, or -1 with the reason extended when the
 * caller's deadline leaves no time for it or a signal interrupts it. */
static int wait_to_retry(chat_call *c, double wait)
{
    char tmp[1200];
    if (c->req->deadline > 0 && l4h_monotonic() + wait >= c->req->deadline) {
        snprintf(tmp, sizeof tmp, "%.1000s; the caller's deadline leaves no time for a %.1f s wait",
                 c->reason, wait > 1e9 ? 1e9 : wait);
        memcpy(c->reason, tmp, sizeof c->reason);
        return -1;
    }
    if (l4h_sleep_s(wait) < 0) {
        snprintf(tmp, sizeof tmp, "%.1000s; interrupted by a signal during a %.1f s wait", c->reason,
                 wait);
        memcpy(c->reason, tmp, sizeof c->reason);
        return -1;
    }
    return 0;
}

/* The call's result: 0 answered; else -1 with err (code 3) naming the model,
 * endpoint and why — the one reason that ended it (fatal) or the last of
 * all the attempts — redacted. */
static int call_finish(chat_call *c, int answered, int fatal, double t_start, l4h_err *err)
{
    l4h_chat_response *resp = c->resp;
    resp->latency_s = l4h_monotonic() - t_start;
    l4h_secrets_redact(&resp->attempt_log);
    if (answered)
        return 0;
    const char *model = c->model->name, *endpoint = c->st->ep->name, *url = c->st->chat_url;
    if (fatal)
        l4h_err_set(err, L4H_EXIT_INFRA, "model %s at endpoint %s (%s): %s (attempt %d of %d)",
                    model, endpoint, url, c->reason, resp->attempts, c->max_attempts);
    else
        l4h_err_set(err, L4H_EXIT_INFRA, "model %s at endpoint %s (%s): gave up after %d attempts in %.1f s; last: %s",
                    model, endpoint, url, resp->attempts, resp->latency_s, c->reason);
    if (err)
        l4h_secrets_redact_buf(err->msg, sizeof err->msg);
    return -1;
}

/* The attempts of one call: prepare, then for each attempt may it start,
 * send and judge it, stop when answered or not worth retrying, wait. */
static int chat_loop(chat_call *c, l4h_err *err)
{
    if (call_prepare(c, err) < 0)
        return -1;
    double t_start = l4h_monotonic();
    int fatal = 0, answered = 0;
    for (int attempt = 1; attempt <= c->max_attempts; attempt++) {
        if (may_start(c, attempt) < 0) {
            fatal = 1;
            break;
        }
        attempt_outcome o;
        attempt_once(c, attempt, &o);
        if (o.answered) {
            answered = 1;
            break;
        }
        if (!o.retry) {
            fatal = 1;
            break;
        }
        if (attempt == c->max_attempts)
            break;
        if (wait_to_retry(c, o.wait) < 0) {
            fatal = 1;
            break;
        }
    }
    return call_finish(c, answered, fatal, t_start, err);
}

/* The config's retry settings, or the documented defaults without one. */
static const l4h_retry_cfg *retry_cfg(const http_state *st)
{
    static const l4h_retry_cfg defaults = {8, 2.0, 120.0};
    return st->retry ? st->retry : &defaults;
}

static int http_chat(void *state, const l4h_model_resolved *model, const l4h_chat_request *req,
                     l4h_permits *permits, l4h_chat_response *resp, l4h_err *err)
{
    chat_call c = {.st = state, .rc = retry_cfg(state), .model = model, .req = req,
                   .permits = permits, .resp = resp};
    return chat_loop(&c, err);
}

/* Is id in the "data" list of a /models body? 1 yes, 0 no (names a few
 * served models in served[]), -1 not a model list. */
static int models_has(const char *body, size_t len, const char *id, char *served, size_t n)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data)) {
        cJSON_Delete(root);
        return -1;
    }
    int found = 0, listed = 0;
    size_t o = 0;
    served[0] = '\0';
    const cJSON *m;
    cJSON_ArrayForEach(m, data) {
        const cJSON *mid = cJSON_GetObjectItemCaseSensitive(m, "id");
        if (!cJSON_IsString(mid) || !mid->valuestring)
            continue;
        if (strcmp(mid->valuestring, id) == 0)
            found = 1;
        if (listed < 8 && o + 1 < n) {
            int w = snprintf(served + o, n - o, "%s%s", listed ? ", " : "", mid->valuestring);
            if (w > 0)
                o += (size_t)w < n - o ? (size_t)w : n - o - 1;
            listed++;
        }
    }
    if (!found && listed == 8 && o + 6 < n)
        snprintf(served + o, n - o, ", ...");
    cJSON_Delete(root);
    return found;
}

static int http_check_model(void *state, const l4h_model_resolved *model, l4h_err *err)
{
    http_state *st = state;
    const char *key;
    if (api_key(st->ep, &key, err) < 0)
        return -1;
    double t_start = l4h_monotonic();
    double timeout = model->request_timeout_s > 0 && model->request_timeout_s < 30
                         ? model->request_timeout_s : 30;
    exchange x;
    perform(st, st->models_url, NULL, key, NULL, timeout, &x);
    if (x.cc != CURLE_OK) {
        l4h_err_set(err, L4H_EXIT_INFRA, "endpoint %s (%s) does not answer: %s", st->ep->name,
                    st->models_url, x.curl_err);
        l4h_buf_free(&x.body);
        return -1;
    }
    if (x.status == 401 || x.status == 403) {
        char msg[900];
        llm_error_message(x.body.data, x.body.len, msg, sizeof msg);
        l4h_secrets_redact_buf(msg, sizeof msg);
        l4h_err_set(err, L4H_EXIT_INFRA, "endpoint %s (%s) refused the key in %s: HTTP %ld: %s",
                    st->ep->name, st->models_url,
                    st->ep->api_key_env ? st->ep->api_key_env : "(no key configured)", x.status, msg);
        l4h_buf_free(&x.body);
        return -1;
    }
    if (x.status == 200) {
        char served[400];
        int has = models_has(x.body.data, x.body.len, model->name, served, sizeof served);
        l4h_buf_free(&x.body);
        if (has == 1)
            return 0;
        if (has == 0) {
            l4h_secrets_redact_buf(served, sizeof served);
            return l4h_err_set(err, L4H_EXIT_INFRA, "endpoint %s (%s) does not serve model %s (it serves: %s)",
                               st->ep->name, st->models_url, model->name, served[0] ? served : "nothing");
        }
    } else {
        l4h_buf_free(&x.body);
    }
    /* No usable model list: ask for one token. */
    l4h_message ping = {.role = "user", .content = "Reply with OK."};
    l4h_chat_request req = {.model = model->name, .messages = &ping, .n_messages = 1,
                            .deadline = t_start + L4H_LLM_CHECK_DEADLINE_S};
    l4h_chat_response resp = {0};
    l4h_retry_cfg once = *retry_cfg(st);
    chat_call c = {.st = st, .rc = &once, .model = model, .req = &req, .resp = &resp,
                   .max_tokens_override = 1, .max_attempts = 2};
    int rc = chat_loop(&c, err);
    l4h_chat_response_clear(&resp);
    if (rc < 0)
        l4h_err_prefix(err, "model check (one-token request, %s gave no model list)", st->models_url);
    return rc;
}

const l4h_provider_ops llm_http_ops = {
    .name = "http",
    .open = http_open,
    .chat = http_chat,
    .check_model = http_check_model,
    .close = http_close,
};
