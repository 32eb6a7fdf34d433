/* llm_replay.c — the replay backend: answers each request with the response
 * recorded in an earlier results file (endpoint `file:`) at the same
 * (supervisor, coder, step, trial, agent, call index), taken from the task
 * row marked final for that key. Reproduces a campaign and re-scores it
 * without paying for tokens.
 *
 * A request whose body differs from the recorded one after normalising
 * workspace paths is noted in the attempt log ("replay: request differs"),
 * not refused. No recorded answer at that position is an error naming the
 * position and what was recorded. A recorded failure (no parsable answer) is
 * replayed as a failure (code 3). The recorded cost is kept when the model
 * has no price (client.c). Thread-safe: tasks load once under a mutex.
 * The file is read through the process's l4h_replay_source (llm.h): this
 * room links neither the store nor HDF5. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

typedef struct loaded_task {
    int64_t task_id;
    l4h_task_rec rec;   /* with calls */
} loaded_task;

typedef struct replay_state {
    const l4h_endpoint *ep;
    const l4h_replay_source *src;
    void *handle;
    const l4h_task_rec *tasks;  /* every task row of the file, owned by handle */
    size_t n_tasks;
    pthread_mutex_t mu;
    loaded_task *loaded;
    size_t n_loaded;
} replay_state;

static const l4h_replay_source *replay_source;

void l4h_llm_set_replay_source(const l4h_replay_source *src) { replay_source = src; }

static int replay_open(const l4h_config *cfg, const l4h_endpoint *ep, void **state, l4h_err *err)
{
    (void)cfg;
    if (!ep->file || !*ep->file)
        return l4h_err_set(err, L4H_EXIT_USAGE, "endpoint %s: a replay endpoint needs `file:` (a results file)",
                           ep->name);
    const l4h_replay_source *src = replay_source;
    if (!src)
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "endpoint %s: this program cannot read results files, so it cannot replay %s",
                           ep->name, ep->file);
    void *handle = NULL;
    const l4h_task_rec *tasks = NULL;
    size_t n_tasks = 0;
    if (src->open(ep->file, &handle, &tasks, &n_tasks, err) < 0)
        return l4h_err_prefix(err, "endpoint %s: replay file", ep->name);
    replay_state *st = l4h_xcalloc(1, sizeof *st);
    st->ep = ep;
    st->src = src;
    st->handle = handle;
    st->tasks = tasks;
    st->n_tasks = n_tasks;
    pthread_mutex_init(&st->mu, NULL);
    *state = st;
    return 0;
}

static void replay_close(void *state)
{
    replay_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_loaded; i++)
        l4h_rec_clear(&st->loaded[i].rec);
    free(st->loaded);
    st->src->close(st->handle);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static int same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* The final task row for a position's (supervisor, coder, step, trial), or
 * the latest attempt when none is marked final; NULL when the file has none. */
static const l4h_task_rec *find_row(const replay_state *st, const l4h_call_position *pos)
{
    const l4h_task_rec *best = NULL;
    for (size_t i = 0; i < st->n_tasks; i++) {
        const l4h_task_rec *t = &st->tasks[i];
        if (!same(t->supervisor, pos->supervisor) || !same(t->coder, pos->coder) ||
            !same(t->step, pos->step) || t->trial != pos->trial)
            continue;
        if (!best || (t->final && !best->final) ||
            (t->final == best->final && t->attempt > best->attempt))
            best = t;
    }
    return best;
}

/* The task with its calls, loaded once. NULL with err. */
static const l4h_task_rec *load_task(replay_state *st, int64_t task_id, l4h_err *err)
{
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->n_loaded; i++) {
        if (st->loaded[i].task_id == task_id) {
            pthread_mutex_unlock(&st->mu);
            return &st->loaded[i].rec;
        }
    }
    l4h_task_rec rec;
    memset(&rec, 0, sizeof rec);
    if (st->src->load_task(st->handle, task_id, &rec, err) < 0) {
        pthread_mutex_unlock(&st->mu);
        return NULL;
    }
    st->loaded = l4h_xrealloc(st->loaded, (st->n_loaded + 1) * sizeof *st->loaded);
    loaded_task *lt = &st->loaded[st->n_loaded++];
    lt->task_id = task_id;
    lt->rec = rec;
    const l4h_task_rec *out = &lt->rec;
    pthread_mutex_unlock(&st->mu);
    return out;
}

/* Replace workspace paths by "{{workspace}}": any path whose component
 * starts with "llm4hep-" (the host workspace, src/exec) up to that
 * component's end, and the bubblewrap view "/workspace". Caller frees. */
static char *normalise(const char *s)
{
    l4h_buf b = {0};
    const char *p = s ? s : "";
    while (*p) {
        const char *hit = strstr(p, "/llm4hep-");
        const char *view = strstr(p, "/workspace");
        while (view && (view[10] && view[10] != '/' && view[10] != '"' && view[10] != ' ' &&
                        view[10] != '\\' && view[10] != '\n'))
            view = strstr(view + 1, "/workspace");
        if (!hit && !view) {
            l4h_buf_puts(&b, p);
            break;
        }
        const char *start, *end;
        if (hit && (!view || hit < view)) {
            start = hit;
            while (start > p && start[-1] != '"' && start[-1] != ' ' && start[-1] != '\n' &&
                   start[-1] != '\'' && start[-1] != '=' && start[-1] != '(' && start[-1] != ':')
                start--;
            end = hit + 1;
            while (*end && *end != '/' && *end != '"' && *end != ' ' && *end != '\\' && *end != '\n')
                end++;
        } else {
            start = view;
            end = view + 10;
        }
        l4h_buf_add(&b, p, (size_t)(start - p));
        l4h_buf_puts(&b, "{{workspace}}");
        p = end;
    }
    if (!b.data)
        l4h_buf_puts(&b, "");
    return l4h_buf_take(&b);
}

/* Note in the attempt log where the request differs from the recorded one. */
static void note_difference(l4h_chat_response *resp, const char *recorded, const char *now)
{
    char *a = normalise(recorded), *b = normalise(now);
    if (strcmp(a, b) != 0) {
        size_t i = 0;
        while (a[i] && a[i] == b[i])
            i++;
        size_t from = i > 30 ? i - 30 : 0;
        char qa[200], qb[200];
        llm_quote_bytes(a + from, strlen(a + from), 80, qa, sizeof qa);
        llm_quote_bytes(b + from, strlen(b + from), 80, qb, sizeof qb);
        llm_log_attempt(resp,
                            "replay: request differs from the recorded one at byte %zu (after normalising workspace paths): recorded \"%s\" vs now \"%s\"",
                            i, qa, qb);
    }
    free(a);
    free(b);
}

static int replay_chat(void *state, const l4h_model_resolved *model, const l4h_chat_request *req,
                       l4h_permits *permits, l4h_chat_response *resp, l4h_err *err)
{
    (void)permits;
    replay_state *st = state;
    const l4h_call_position *pos = &req->pos;
    resp->request_json = llm_request_body(model, req, 0, err);
    if (!resp->request_json)
        return -1;
    resp->attempts = 1;
    resp->cost_usd = 0;
    if (!pos->supervisor || !pos->coder || !pos->step || !pos->agent)
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "replay (%s): the request names no supervisor, coder, step and agent", st->ep->file);
    const l4h_task_rec *row = find_row(st, pos);
    if (!row)
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "replay file %s has no task %s/%s/%s/trial %d", st->ep->file,
                           pos->supervisor, pos->coder, pos->step, pos->trial);
    const l4h_task_rec *task = load_task(st, row->task_id, err);
    if (!task)
        return -1;
    const l4h_call_rec *call = NULL;
    int n_agent = 0;
    for (size_t i = 0; i < task->n_calls; i++) {
        const l4h_call_rec *c = &task->calls[i];
        if (strcmp(c->agent, pos->agent) != 0)
            continue;
        n_agent++;
        if (c->call == pos->call)
            call = c;
    }
    if (!call)
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "replay file %s, task %s/%s/%s/trial %d (id %lld): no recorded answer for %s call %d (%d %s calls recorded)",
                           st->ep->file, pos->supervisor, pos->coder, pos->step, pos->trial,
                           (long long)row->task_id, pos->agent, pos->call, n_agent, pos->agent);
    if (call->model && req->model && strcmp(call->model, req->model) != 0)
        llm_log_attempt(resp, "replay: recorded model %s, requested %s", call->model, req->model);
    note_difference(resp, call->request, resp->request_json);
    resp->response_json = l4h_xstrdup(call->response ? call->response : "");
    resp->http_status = call->http_status;
    resp->cost_usd = call->cost_usd;
    int truncated;
    char why[600];
    if (llm_parse_response(resp->response_json, strlen(resp->response_json), resp, &truncated,
                               why, sizeof why) < 0) {
        llm_log_attempt(resp, "attempt=1 status=%d latency_s=0.000 result=fail wait_s=0.000 reason=replayed failure: %s",
                            call->http_status, why);
        /* a refusal replays as one, so the loop judges it as it did */
        size_t len = strlen(resp->response_json);
        resp->refusal = call->http_status == 200
                            ? llm_refusal_in_answer(resp->response_json, len)
                            : llm_refusal_of(call->http_status, resp->response_json, len);
        return l4h_err_set(err, L4H_EXIT_INFRA, "replayed call %s/%s/%s/trial %d %s call %d failed when recorded: %s",
                           pos->supervisor, pos->coder, pos->step, pos->trial, pos->agent,
                           pos->call, why);
    }
    if (resp->prompt_tokens == 0 && resp->completion_tokens == 0) {
        if (call->prompt_tokens < 0 || call->prompt_tokens > L4H_LLM_MAX_CALL_TOKENS ||
            call->completion_tokens < 0 || call->completion_tokens > L4H_LLM_MAX_CALL_TOKENS)
            return l4h_err_set(err, L4H_EXIT_USAGE, "replayed call %s/%s/%s/trial %d %s call %d: damaged results file: recorded usage %lld + %lld tokens is out of range (0 to %lld each)",
                               pos->supervisor, pos->coder, pos->step, pos->trial, pos->agent,
                               pos->call, (long long)call->prompt_tokens,
                               (long long)call->completion_tokens, (long long)L4H_LLM_MAX_CALL_TOKENS);
        resp->prompt_tokens = call->prompt_tokens;
        resp->completion_tokens = call->completion_tokens;
    }
    if (!resp->finish_reason[0])
        snprintf(resp->finish_reason, sizeof resp->finish_reason, "%s", call->finish_reason);
    /* the version that answered then (a file written before these columns has "") */
    if (!resp->served_model[0])
        llm_label_copy(resp->served_model, sizeof resp->served_model, call->served_model,
                           strlen(call->served_model));
    if (!resp->system_fingerprint[0])
        llm_label_copy(resp->system_fingerprint, sizeof resp->system_fingerprint,
                           call->system_fingerprint, strlen(call->system_fingerprint));
    llm_label_copy(resp->served_model_id, sizeof resp->served_model_id, call->served_model_id,
                       strlen(call->served_model_id));
    llm_log_attempt(resp, "attempt=1 status=%d latency_s=0.000 result=ok wait_s=0.000 reason=replayed task %lld %s call %d (recorded %d attempts, %.3f s)",
                        call->http_status, (long long)row->task_id, pos->agent, pos->call,
                        call->attempts, call->latency_s);
    return 0;
}

static int replay_check(void *state, const l4h_model_resolved *model, l4h_err *err)
{
    replay_state *st = state;
    for (size_t i = 0; i < st->n_tasks; i++)
        if (same(st->tasks[i].supervisor, model->name) || same(st->tasks[i].coder, model->name))
            return 0;
    return l4h_err_set(err, L4H_EXIT_INFRA, "replay file %s has no task of model %s", st->ep->file,
                       model->name);
}

const l4h_provider_ops llm_replay_ops = {
    .name = "replay",
    .open = replay_open,
    .chat = replay_chat,
    .check_model = replay_check,
    .close = replay_close,
};
