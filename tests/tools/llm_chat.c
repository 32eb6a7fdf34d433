/* llm_chat — a test driver for the LLM client: builds a one-endpoint config
 * from flags (or loads a campaign config), sends chat requests through
 * l4h_llm_chat with local permits, and prints one JSON object per call and
 * a summary line on stdout. Used by tests/integration/test_llm_*.py and
 * tests/bench/bench_llm_client.py.
 *
 *   llm_chat --base-url URL | --scripted-dir DIR | --config FILE  --model M
 *            [--api-key-env VAR] [--max-concurrency N] [--rpm R]
 *            [--max-attempts N] [--base-s S] [--max-s S] [--timeout S]
 *            [--temperature X|null] [--max-tokens N|null] [--seed N]
 *            [--price IN,OUT[,CACHED_IN]] [--system TEXT] [--message TEXT] [--tool NAME=SCHEMA]
 *            [--step S] [--agent A] [--trial N] [--call K] [--supervisor M] [--coder M]
 *            [--count N] [--threads T] [--deadline S] [--check] [--request-json] [--quiet]
 *
 * Exit: 0 every call answered, 3 a call failed (its error is in its line),
 * 2 bad flags. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "llm4hep/llm.h"

typedef struct opts {
    const char *config, *base_url, *scripted_dir, *api_key_env, *model;
    const char *system, *message, *step, *agent, *supervisor, *coder;
    int max_concurrency, max_attempts, trial, call, count, threads, check, request_only, quiet;
    double rpm, base_s, max_s, timeout, deadline;
    l4h_opt_num temperature, max_tokens, seed;
    int has_price;
    double price_in, price_out, price_cached;
    int n_price;
    l4h_tool_spec tools[8];
    size_t n_tools;
} opts;

typedef struct run {
    opts *o;
    l4h_llm *llm;
    pthread_mutex_t mu;
    int next;
    int ok, failed;
    int64_t prompt_tokens, completion_tokens;
    double cost;
    int cost_nan;
    double first_start, last_end;
} run;

static int usage(const char *msg)
{
    fprintf(stderr, "llm_chat: %s (see the comment at the top of tests/tools/llm_chat.c)\n", msg);
    return 2;
}

static l4h_opt_num opt_num(const char *v)
{
    l4h_opt_num o = {L4H_OPT_SET, 0};
    if (strcmp(v, "null") == 0)
        o.state = L4H_OPT_NULL;
    else
        o.value = atof(v);
    return o;
}

static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->message = "Say hello.";
    o->count = 1;
    o->threads = 1;
    o->trial = 1;
    o->max_attempts = 3;
    o->base_s = 0.05;
    o->max_s = 1;
    o->timeout = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (ARG("--config")) o->config = v;
        else if (ARG("--base-url")) o->base_url = v;
        else if (ARG("--scripted-dir")) o->scripted_dir = v;
        else if (ARG("--api-key-env")) o->api_key_env = v;
        else if (ARG("--model")) o->model = v;
        else if (ARG("--system")) o->system = v;
        else if (ARG("--message")) o->message = v;
        else if (ARG("--step")) o->step = v;
        else if (ARG("--agent")) o->agent = v;
        else if (ARG("--supervisor")) o->supervisor = v;
        else if (ARG("--coder")) o->coder = v;
        else if (ARG("--trial")) o->trial = atoi(v);
        else if (ARG("--call")) o->call = atoi(v);
        else if (ARG("--count")) o->count = atoi(v);
        else if (ARG("--threads")) o->threads = atoi(v);
        else if (ARG("--max-concurrency")) o->max_concurrency = atoi(v);
        else if (ARG("--rpm")) o->rpm = atof(v);
        else if (ARG("--max-attempts")) o->max_attempts = atoi(v);
        else if (ARG("--base-s")) o->base_s = atof(v);
        else if (ARG("--max-s")) o->max_s = atof(v);
        else if (ARG("--timeout")) o->timeout = atof(v);
        else if (ARG("--deadline")) o->deadline = atof(v);
        else if (ARG("--temperature")) o->temperature = opt_num(v);
        else if (ARG("--max-tokens")) o->max_tokens = opt_num(v);
        else if (ARG("--seed")) o->seed = opt_num(v);
        else if (ARG("--price")) {
            o->n_price = sscanf(v, "%lf,%lf,%lf", &o->price_in, &o->price_out, &o->price_cached);
            if (o->n_price < 2)
                return usage("--price wants IN,OUT[,CACHED_IN] (USD per million tokens)");
            o->has_price = 1;
        } else if (ARG("--tool")) {
            const char *eq = strchr(v, '=');
            if (!eq || o->n_tools == 8)
                return usage("--tool wants NAME=JSON_SCHEMA (at most 8)");
            l4h_tool_spec *t = &o->tools[o->n_tools++];
            t->name = strndup(v, (size_t)(eq - v));
            t->description = strdup("a test tool");
            t->parameters_json = strdup(eq + 1);
        } else if (strcmp(a, "--check") == 0) o->check = 1;
        else if (strcmp(a, "--request-json") == 0) o->request_only = 1;
        else if (strcmp(a, "--quiet") == 0) o->quiet = 1;
        else {
            fprintf(stderr, "llm_chat: unknown or incomplete flag %s\n", a);
            return 2;
        }
#undef ARG
    }
    if (!o->model)
        return usage("--model is required");
    if (!o->config && !o->base_url && !o->scripted_dir)
        return usage("one of --config, --base-url, --scripted-dir is required");
    if (o->count < 1 || o->threads < 1)
        return usage("--count and --threads must be at least 1");
    return 0;
}

/* A config with one endpoint "test" from the flags. Freed by free_config. */
static l4h_config *flags_config(const opts *o)
{
    l4h_config *c = calloc(1, sizeof *c);
    c->name = strdup("llm-test");
    c->trials = 1;
    c->n_endpoints = 1;
    c->endpoints = calloc(1, sizeof *c->endpoints);
    l4h_endpoint *ep = &c->endpoints[0];
    ep->name = strdup("test");
    if (o->scripted_dir) {
        ep->provider = L4H_PROVIDER_SCRIPTED;
        ep->dir = strdup(o->scripted_dir);
    } else {
        ep->provider = L4H_PROVIDER_HTTP;
        ep->base_url = strdup(o->base_url);
    }
    ep->api_key_env = o->api_key_env ? strdup(o->api_key_env) : NULL;
    ep->max_concurrency = o->max_concurrency;
    ep->requests_per_minute = o->rpm;
    c->model_defaults.endpoint = strdup("test");
    c->model_defaults.temperature = o->temperature;
    c->model_defaults.max_tokens = o->max_tokens;
    c->model_defaults.seed = o->seed;
    c->model_defaults.request_timeout_s = (l4h_opt_num){L4H_OPT_SET, o->timeout};
    if (o->has_price) {
        c->n_prices = 1;
        c->prices = calloc(1, sizeof *c->prices);
        c->prices[0].model = strdup(o->model);
        c->prices[0].input_per_mtok = o->price_in;
        c->prices[0].output_per_mtok = o->price_out;
        c->prices[0].has_cached_input = o->n_price == 3;
        c->prices[0].cached_input_per_mtok = o->price_cached;
    }
    c->retry.max_attempts = o->max_attempts;
    c->retry.base_s = o->base_s;
    c->retry.max_s = o->max_s;
    return c;
}

static void free_config(l4h_config *c)
{
    free(c->name);
    free(c->endpoints[0].name);
    free(c->endpoints[0].dir);
    free(c->endpoints[0].base_url);
    free(c->endpoints[0].api_key_env);
    free(c->endpoints);
    free(c->model_defaults.endpoint);
    if (c->prices) {
        free(c->prices[0].model);
        free(c->prices);
    }
    free(c);
}

/* The attempt log as a JSON array of lines. */
static cJSON *log_lines(const char *log)
{
    cJSON *arr = cJSON_CreateArray();
    for (const char *p = log; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, n);
        cJSON_AddItemToArray(arr, cJSON_CreateString(line));
        free(line);
        p = nl ? nl + 1 : NULL;
    }
    return arr;
}

static void print_json(run *r, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    pthread_mutex_lock(&r->mu);
    printf("%s\n", s);
    fflush(stdout);
    pthread_mutex_unlock(&r->mu);
    cJSON_free(s);
}

static void one_call(run *r, int i)
{
    opts *o = r->o;
    l4h_message msgs[2];
    size_t n = 0;
    memset(msgs, 0, sizeof msgs);
    if (o->system) {
        strcpy(msgs[n].role, "system");
        msgs[n++].content = (char *)o->system;
    }
    strcpy(msgs[n].role, "user");
    msgs[n++].content = (char *)o->message;
    l4h_chat_request req = {.model = o->model, .messages = msgs, .n_messages = n,
                            .tools = o->n_tools ? o->tools : NULL, .n_tools = o->n_tools};
    req.pos = (l4h_call_position){.supervisor = o->supervisor ? o->supervisor : o->model,
                                  .coder = o->coder ? o->coder : o->model, .step = o->step,
                                  .trial = o->trial, .agent = o->agent, .call = o->call + i};
    if (o->deadline > 0)
        req.deadline = l4h_monotonic() + o->deadline;
    l4h_chat_response resp = {0};
    l4h_err err = {0};
    double t0 = l4h_monotonic();
    int rc = l4h_llm_chat(r->llm, &req, &resp, &err);
    double t1 = l4h_monotonic();

    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "call", i);
    cJSON_AddBoolToObject(j, "ok", rc == 0);
    if (rc != 0) {
        cJSON_AddStringToObject(j, "error", err.msg);
        cJSON_AddNumberToObject(j, "error_code", err.code);
    }
    if (resp.content)
        cJSON_AddStringToObject(j, "content", resp.content);
    else
        cJSON_AddNullToObject(j, "content");
    if (resp.reasoning)
        cJSON_AddStringToObject(j, "reasoning", resp.reasoning);
    cJSON *tcs = cJSON_AddArrayToObject(j, "tool_calls");
    for (size_t k = 0; k < resp.n_tool_calls; k++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "id", resp.tool_calls[k].id);
        cJSON_AddStringToObject(t, "name", resp.tool_calls[k].name);
        cJSON_AddStringToObject(t, "arguments", resp.tool_calls[k].arguments);
        cJSON_AddItemToArray(tcs, t);
    }
    cJSON_AddStringToObject(j, "finish_reason", resp.finish_reason);
    cJSON_AddNumberToObject(j, "prompt_tokens", (double)resp.prompt_tokens);
    cJSON_AddNumberToObject(j, "completion_tokens", (double)resp.completion_tokens);
    cJSON_AddNumberToObject(j, "cached_tokens", (double)resp.cached_tokens);
    cJSON_AddNumberToObject(j, "reasoning_tokens", (double)resp.reasoning_tokens);
    if (isnan(resp.cost_usd))
        cJSON_AddNullToObject(j, "cost_usd");
    else
        cJSON_AddNumberToObject(j, "cost_usd", resp.cost_usd);
    cJSON_AddNumberToObject(j, "http_status", resp.http_status);
    cJSON_AddNumberToObject(j, "attempts", resp.attempts);
    cJSON_AddNumberToObject(j, "latency_s", resp.latency_s);
    cJSON_AddNumberToObject(j, "start_s", t0);
    cJSON_AddNumberToObject(j, "end_s", t1);
    cJSON_AddItemToObject(j, "attempt_log", log_lines(resp.attempt_log));
    if (!o->quiet) {
        cJSON_AddStringToObject(j, "request_json", resp.request_json ? resp.request_json : "");
        cJSON_AddStringToObject(j, "response_json", resp.response_json ? resp.response_json : "");
    }
    print_json(r, j);
    cJSON_Delete(j);

    pthread_mutex_lock(&r->mu);
    if (rc == 0)
        r->ok++;
    else
        r->failed++;
    r->prompt_tokens += resp.prompt_tokens;
    r->completion_tokens += resp.completion_tokens;
    if (isnan(resp.cost_usd))
        r->cost_nan = 1;
    else
        r->cost += resp.cost_usd;
    if (r->first_start == 0 || t0 < r->first_start)
        r->first_start = t0;
    if (t1 > r->last_end)
        r->last_end = t1;
    pthread_mutex_unlock(&r->mu);
    l4h_chat_response_clear(&resp);
}

static void *worker(void *arg)
{
    run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int i = r->next < r->o->count ? r->next++ : -1;
        pthread_mutex_unlock(&r->mu);
        if (i < 0)
            return NULL;
        one_call(r, i);
    }
}

int main(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    l4h_err err = {0};
    l4h_config *cfg = NULL;
    int loaded = 0;
    if (o.config) {
        if (l4h_config_load(o.config, &cfg, &err) < 0) {
            fprintf(stderr, "llm_chat: %s\n", err.msg);
            return err.code ? err.code : 2;
        }
        loaded = 1;
    } else {
        cfg = flags_config(&o);
    }
    l4h_permits *permits = l4h_permits_local_new(cfg);
    l4h_llm *llm = l4h_llm_new(cfg, permits, &err);
    int exit_code = 0;
    if (!llm) {
        fprintf(stderr, "llm_chat: %s\n", err.msg);
        exit_code = err.code ? err.code : 3;
    } else if (o.check) {
        if (l4h_llm_check_model(llm, o.model, &err) < 0) {
            printf("{\"check\": false, \"error\": ");
            cJSON *e = cJSON_CreateString(err.msg);
            char *s = cJSON_PrintUnformatted(e);
            printf("%s}\n", s);
            cJSON_free(s);
            cJSON_Delete(e);
            exit_code = err.code ? err.code : 3;
        } else {
            printf("{\"check\": true}\n");
        }
    } else if (o.request_only) {
        l4h_message m = {.role = "user", .content = (char *)o.message};
        l4h_chat_request req = {.model = o.model, .messages = &m, .n_messages = 1,
                                .tools = o.n_tools ? o.tools : NULL, .n_tools = o.n_tools};
        char *body = l4h_llm_request_json(llm, &req, &err);
        if (!body) {
            fprintf(stderr, "llm_chat: %s\n", err.msg);
            exit_code = err.code ? err.code : 2;
        } else {
            printf("%s\n", body);
            free(body);
        }
    } else {
        run r = {.o = &o, .llm = llm};
        pthread_mutex_init(&r.mu, NULL);
        int nt = o.threads < o.count ? o.threads : o.count;
        pthread_t *th = calloc((size_t)nt, sizeof *th);
        for (int t = 0; t < nt; t++)
            pthread_create(&th[t], NULL, worker, &r);
        for (int t = 0; t < nt; t++)
            pthread_join(th[t], NULL);
        free(th);
        double spent = permits->spend(permits->ctx, 0, 0);
        cJSON *s = cJSON_CreateObject();
        cJSON *sum = cJSON_AddObjectToObject(s, "summary");
        cJSON_AddNumberToObject(sum, "calls", o.count);
        cJSON_AddNumberToObject(sum, "ok", r.ok);
        cJSON_AddNumberToObject(sum, "failed", r.failed);
        cJSON_AddNumberToObject(sum, "prompt_tokens", (double)r.prompt_tokens);
        cJSON_AddNumberToObject(sum, "completion_tokens", (double)r.completion_tokens);
        if (r.cost_nan)
            cJSON_AddNullToObject(sum, "cost_usd");
        else
            cJSON_AddNumberToObject(sum, "cost_usd", r.cost);
        cJSON_AddNumberToObject(sum, "spent_usd", spent);
        cJSON_AddNumberToObject(sum, "wall_s", r.last_end - r.first_start);
        double limit = 0;
        int throttled = 0;
        l4h_permits_local_state(permits, "test", &limit, NULL, &throttled);
        cJSON_AddNumberToObject(sum, "concurrency_limit", limit);
        cJSON_AddNumberToObject(sum, "throttled", throttled);
        print_json(&r, s);
        cJSON_Delete(s);
        pthread_mutex_destroy(&r.mu);
        exit_code = r.failed ? 3 : 0;
    }
    l4h_llm_free(llm);
    l4h_permits_local_free(permits);
    if (loaded)
        l4h_config_free(cfg);
    else
        free_config(cfg);
    for (size_t i = 0; i < o.n_tools; i++) {
        free(o.tools[i].name);
        free(o.tools[i].description);
        free(o.tools[i].parameters_json);
    }
    return exit_code;
}
