/* client.c — the one entry point the agent loop uses: pick the model's
 * endpoint and its backend (opened on first use), send, then price the
 * answer and report spending to the permits. The retry policy lives in
 * retry.c and is applied by the HTTP backend, the only one that can fail
 * transiently. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

typedef struct backend {
    const l4h_endpoint *ep;
    const l4h_provider_ops *ops;
    void *state;
    int opened;
} backend;

struct l4h_llm {
    const l4h_config *cfg;
    l4h_permits *permits;
    pthread_mutex_t mu;      /* guards opening backends and the warned list */
    backend *backends;       /* one per cfg endpoint */
    size_t n_backends;
    char **warned;           /* models already warned about a missing price */
    int quiet_prices;        /* the caller warned about missing prices already */
    size_t n_warned;
};

static const l4h_provider_ops *ops_for(l4h_provider_kind kind)
{
    switch (kind) {
    case L4H_PROVIDER_SCRIPTED: return &llm_scripted_ops;
    case L4H_PROVIDER_REPLAY: return &llm_replay_ops;
    case L4H_PROVIDER_HTTP:
    default: return &llm_http_ops;
    }
}

l4h_llm *l4h_llm_new(const l4h_config *cfg, l4h_permits *permits, l4h_err *err)
{
    if (!cfg) {
        l4h_err_set(err, L4H_EXIT_USAGE, "l4h_llm_new: no config");
        return NULL;
    }
    l4h_secrets_collect(cfg, 0); /* the keys this client sends are held */
    l4h_llm *llm = l4h_xcalloc(1, sizeof *llm);
    llm->cfg = cfg;
    llm->permits = permits;
    pthread_mutex_init(&llm->mu, NULL);
    llm->n_backends = cfg->n_endpoints;
    llm->backends = l4h_xcalloc(cfg->n_endpoints ? cfg->n_endpoints : 1, sizeof *llm->backends);
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        llm->backends[i].ep = &cfg->endpoints[i];
        llm->backends[i].ops = ops_for(cfg->endpoints[i].provider);
    }
    return llm;
}

void l4h_llm_free(l4h_llm *llm)
{
    if (!llm)
        return;
    for (size_t i = 0; i < llm->n_backends; i++)
        if (llm->backends[i].opened)
            llm->backends[i].ops->close(llm->backends[i].state);
    free(llm->backends);
    for (size_t i = 0; i < llm->n_warned; i++)
        free(llm->warned[i]);
    free(llm->warned);
    pthread_mutex_destroy(&llm->mu);
    free(llm);
}

/* The backend serving ep, opened on first use; NULL with err when opening
 * fails (it is tried again on the next call). */
static backend *backend_for(l4h_llm *llm, const l4h_endpoint *ep, l4h_err *err)
{
    backend *b = NULL;
    for (size_t i = 0; i < llm->n_backends; i++)
        if (llm->backends[i].ep == ep || strcmp(llm->backends[i].ep->name, ep->name) == 0)
            b = &llm->backends[i];
    if (!b) {
        l4h_err_set(err, L4H_EXIT_USAGE, "endpoint %s is not in the config", ep->name);
        return NULL;
    }
    pthread_mutex_lock(&llm->mu);
    if (!b->opened) {
        if (b->ops->open(llm->cfg, b->ep, &b->state, err) == 0)
            b->opened = 1;
    }
    int ok = b->opened;
    pthread_mutex_unlock(&llm->mu);
    return ok ? b : NULL;
}

/* Warn once per model (per client) that it has no price. */
static void warn_no_price(l4h_llm *llm, const char *model)
{
    if (llm->quiet_prices)
        return;
    pthread_mutex_lock(&llm->mu);
    for (size_t i = 0; i < llm->n_warned; i++) {
        if (strcmp(llm->warned[i], model) == 0) {
            pthread_mutex_unlock(&llm->mu);
            return;
        }
    }
    llm->warned = l4h_xrealloc(llm->warned, (llm->n_warned + 1) * sizeof *llm->warned);
    llm->warned[llm->n_warned++] = l4h_xstrdup(model);
    pthread_mutex_unlock(&llm->mu);
    fprintf(stderr, "llm4hep: warning: no price for model %s in the config's prices; its cost is NaN\n",
            model);
}

/* Cost of a response: tokens times the model's prices (the cached part of
 * the prompt, never more than the prompt, at cached_input_per_mtok); without a price,
 * scripted models cost nothing, replayed calls keep their recorded cost, and
 * any other model is NaN (with one warning per model). */
static double price(l4h_llm *llm, const l4h_model_resolved *m, const l4h_chat_response *r)
{
    if (m->has_price) {
        int64_t cached = r->cached_tokens < r->prompt_tokens ? r->cached_tokens : r->prompt_tokens;
        return ((double)(r->prompt_tokens - cached) * m->input_per_mtok +
                (double)cached * m->cached_input_per_mtok +
                (double)r->completion_tokens * m->output_per_mtok) / 1e6;
    }
    if (m->endpoint->provider == L4H_PROVIDER_SCRIPTED)
        return 0.0;
    if (m->endpoint->provider == L4H_PROVIDER_REPLAY)
        return r->cost_usd; /* what the recorded call cost */
    warn_no_price(llm, m->name);
    return NAN;
}

/* The last line of defence for every backend: counts in [0,
 * L4H_LLM_MAX_CALL_TOKENS] and a cost that is NaN (unknown) or finite and
 * not negative. 1 with err (and the counts and cost zeroed, so nothing
 * reaches the limits) when not; 0 when the answer's numbers are sane. */
static int usage_out_of_range(l4h_chat_response *r, l4h_err *err)
{
    const int64_t max = L4H_LLM_MAX_CALL_TOKENS;
    int bad_tokens = r->prompt_tokens < 0 || r->prompt_tokens > max || r->completion_tokens < 0 ||
                     r->completion_tokens > max || r->cached_tokens < 0 || r->cached_tokens > max ||
                     r->reasoning_tokens < 0 || r->reasoning_tokens > max;
    int bad_cost = !isnan(r->cost_usd) && !(isfinite(r->cost_usd) && r->cost_usd >= 0);
    if (!bad_tokens && !bad_cost)
        return 0;
    l4h_err_set(err, L4H_EXIT_INFRA,
                "protocol error: usage of %lld prompt (%lld cached) + %lld completion (%lld reasoning) tokens costing $%g is out of range (0 to %lld tokens each, a cost of $0 or more)",
                (long long)r->prompt_tokens, (long long)r->cached_tokens,
                (long long)r->completion_tokens, (long long)r->reasoning_tokens, r->cost_usd,
                (long long)max);
    r->prompt_tokens = r->completion_tokens = r->cached_tokens = r->reasoning_tokens = 0;
    r->cost_usd = 0;
    return 1;
}

/* The name of the secret an answer holds anywhere (raw body, text,
 * reasoning, tool calls) copied to name, or 0 when it holds none. */
static int answer_holds_secret(const l4h_chat_response *r, char *name, size_t cap)
{
    const char *texts[] = {r->response_json, r->content, r->reasoning};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        if (texts[i] && l4h_secrets_found(texts[i], strlen(texts[i]), name, cap))
            return 1;
    for (size_t i = 0; i < r->n_tool_calls; i++) {
        const char *t[] = {r->tool_calls[i].name, r->tool_calls[i].arguments};
        for (size_t k = 0; k < 2; k++)
            if (t[k] && l4h_secrets_found(t[k], strlen(t[k]), name, cap))
                return 1;
    }
    return 0;
}

/* An answer is recorded and run exactly as received, so one that holds a
 * secret we sent (an endpoint echoing the key) cannot be kept: it is
 * refused whole, as the endpoint's failure (code 3), and only a note
 * naming the variable is left in response_json. Returns -1 then, else 0. */
static int refuse_answer_with_secret(const l4h_model_resolved *m, l4h_chat_response *r,
                                     l4h_err *err)
{
    char name[256];
    if (!answer_holds_secret(r, name, sizeof name))
        return 0;
    int64_t used[4] = {r->prompt_tokens, r->completion_tokens, r->cached_tokens,
                       r->reasoning_tokens}; /* the call was made: it still costs */
    llm_response_clear_answer(r);
    r->prompt_tokens = used[0], r->completion_tokens = used[1];
    r->cached_tokens = used[2], r->reasoning_tokens = used[3];
    free(r->response_json);
    l4h_buf b = {0};
    l4h_buf_printf(&b, "answer withheld: it holds the value of $%s", name);
    r->response_json = l4h_buf_take(&b);
    return l4h_err_set(err, L4H_EXIT_INFRA,
                       "model %s at endpoint %s: the answer holds the value of $%s (the key we "
                       "send): the endpoint echoes secrets, so the answer is refused, not "
                       "recorded or run; check the endpoint or proxy", m->name, m->endpoint->name,
                       name);
}

int l4h_llm_chat(l4h_llm *llm, const l4h_chat_request *req, l4h_chat_response *resp,
                 l4h_err *err)
{
    l4h_chat_response_clear(resp);
    resp->cost_usd = 0;
    if (!req || !req->model)
        return l4h_err_set(err, L4H_EXIT_USAGE, "chat request without a model");
    l4h_model_resolved m;
    if (l4h_config_model(llm->cfg, req->model, &m, err) < 0)
        return -1;
    backend *b = backend_for(llm, m.endpoint, err);
    if (!b)
        return -1;
    int rc = b->ops->chat(b->state, &m, req, llm->permits, resp, err);
    int refused = rc == 0 && refuse_answer_with_secret(&m, resp, err) < 0;
    resp->cost_usd = price(llm, &m, resp);
    if (rc == 0 && !refused && usage_out_of_range(resp, err))
        rc = -1;
    if (rc == 0 && llm->permits && llm->permits->spend)
        llm->permits->spend(llm->permits->ctx, resp->cost_usd,
                            resp->prompt_tokens + resp->completion_tokens);
    return refused ? -1 : rc;
}

/* The backend serving model, its resolution in *m; NULL with err. */
static backend *backend_of_model(l4h_llm *llm, const char *model, l4h_model_resolved *m,
                                 l4h_err *err)
{
    if (l4h_config_model(llm->cfg, model, m, err) < 0)
        return NULL;
    return backend_for(llm, m->endpoint, err);
}

int l4h_llm_check_model(l4h_llm *llm, const char *model, l4h_err *err)
{
    l4h_model_resolved m;
    backend *b = backend_of_model(llm, model, &m, err);
    return b ? b->ops->check_model(b->state, &m, err) : -1;
}

/* See llm.h. */
int l4h_llm_read_inputs(l4h_llm *llm, const char *model, l4h_err *err)
{
    l4h_model_resolved m;
    backend *b = backend_of_model(llm, model, &m, err);
    if (!b)
        return -1;
    return b->ops->read_inputs ? b->ops->read_inputs(b->state, &m, err) : 0;
}

char *l4h_llm_request_json(l4h_llm *llm, const l4h_chat_request *req, l4h_err *err)
{
    if (!req || !req->model) {
        l4h_err_set(err, L4H_EXIT_USAGE, "chat request without a model");
        return NULL;
    }
    l4h_model_resolved m;
    if (l4h_config_model(llm->cfg, req->model, &m, err) < 0)
        return NULL;
    return llm_request_body(&m, req, 0, err);
}

/* See llm.h. */
void l4h_llm_quiet_prices(l4h_llm *llm)
{
    if (llm)
        llm->quiet_prices = 1;
}
