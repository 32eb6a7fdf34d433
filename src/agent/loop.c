/* loop.c — one task: the supervisor plans, the coder writes Python, the
 * sandbox runs it, the supervisor reviews, until DONE, max_iterations or a
 * limit; then the hidden checks, the status and the error category. The
 * message structure is documented in agent.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_internal.h"
#include "llm4hep/check.h"

enum { SUP = 0, COD = 1 };
static const char *const agent_name[2] = {"supervisor", "coder"};

/* End the loop with an infrastructure status (the first one wins). */
void agent_loop_infra(l4h_loop *L, l4h_status st, const char *fmt, ...)
{
    L->stopped = 1;
    if (L->infra)
        return;
    L->infra = 1;
    L->infra_status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->summary, sizeof L->summary, fmt, ap);
    va_end(ap);
}

/* End the loop because a task or campaign limit was reached. */
static void hit_limit(l4h_loop *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hit_limit(l4h_loop *L, const char *fmt, ...)
{
    L->stopped = 1;
    if (L->limit_hit || L->infra || L->refused)
        return;
    L->limit_hit = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->summary, sizeof L->summary, fmt, ap);
    va_end(ap);
}

/* End the loop because an endpoint refused a request for what the
 * conversation held: the model's failure (failed_request). */
static void refused(l4h_loop *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refused(l4h_loop *L, const char *fmt, ...)
{
    L->stopped = 1;
    if (L->limit_hit || L->infra || L->refused)
        return;
    L->refused = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->summary, sizeof L->summary, fmt, ap);
    va_end(ap);
}

/* 1 when the loop must not start anything new: the stop flag, the wall
 * time, and (before_call: before a model call) the token and campaign cost
 * limits; running code costs nothing, so the code of an answer that crossed
 * them still runs. */
int agent_loop_must_stop(l4h_loop *L, int before_call)
{
    if (L->stopped)
        return 1;
    if (L->env->stop && *L->env->stop) {
        agent_loop_infra(L, L4H_STATUS_INTERRUPTED, "interrupted by a signal or the campaign's drain");
        return 1;
    }
    const l4h_limits *lim = &L->cfg->limits;
    if (L->deadline > 0 && l4h_monotonic() >= L->deadline) {
        hit_limit(L, "task wall time limit reached (limits.task_wall_s = %g s)", lim->task_wall_s);
        return 1;
    }
    if (before_call && lim->task_tokens > 0 && L->tokens >= lim->task_tokens) {
        hit_limit(L, "task token limit reached (%lld of limits.task_tokens = %lld)",
                  (long long)L->tokens, (long long)lim->task_tokens);
        return 1;
    }
    if (before_call && lim->campaign_usd > 0 && L->campaign_usd >= lim->campaign_usd) {
        hit_limit(L, "campaign cost limit reached ($%.2f of limits.campaign_usd = $%.2f)",
                  L->campaign_usd, lim->campaign_usd);
        return 1;
    }
    return 0;
}

double agent_loop_exec_timeout(const l4h_loop *L)
{
    double t = L->cfg->limits.exec_timeout_s;
    if (L->deadline > 0) {
        double left = L->deadline - l4h_monotonic();
        if (left < 1)
            left = 1;
        if (t <= 0 || left < t)
            t = left;
    }
    return t > 0 ? t : 0;
}

l4h_exec_rec *agent_loop_record_exec(l4h_loop *L, int it, const char *kind, const char *code,
                                   const l4h_exec_result *res)
{
    l4h_exec_rec *ex = l4h_rec_add_exec(L->rec);
    ex->iteration = it;
    snprintf(ex->kind, sizeof ex->kind, "%s", kind);
    ex->exit_code = res->exit_code;
    ex->signal = res->signal;
    ex->timed_out = res->timed_out;
    snprintf(ex->limit, sizeof ex->limit, "%.15s", res->limit);
    ex->wall_s = res->wall_s;
    ex->max_rss_kb = res->max_rss_kb;
    snprintf(ex->isolation, sizeof ex->isolation, "%s", res->isolation ? res->isolation : "");
    ex->code = l4h_xstrdup(code ? code : "");
    ex->stdout_text = l4h_xstrdup(res->stdout_text ? res->stdout_text : "");
    ex->stderr_text = l4h_xstrdup(res->stderr_text ? res->stderr_text : "");
    ex->truncated = res->truncated;
    L->rec->exec_s += res->wall_s;
    if (L->env->observer && L->env->observer->exec)
        L->env->observer->exec(L->env->observer->ctx, it, ex);
    return ex;
}

/* The messages of a conversation that are ours alone (system prompt, and for
 * the supervisor the step's prompt); the rest carries what a model or its
 * code produced. */
static size_t prompts_of(int a)
{
    return a == SUP ? 2 : 1;
}

/* The byte budget of one request to model (agent.h, "Context"): its context
 * less the completion's reserve, the tools' schemas and a margin. Can't fail
 * (a model the config cannot resolve gets the defaults; the call then fails
 * on its own). */
static size_t context_budget(const l4h_loop *L, const char *model, const l4h_tool_spec *tools,
                             size_t n_tools)
{
    l4h_model_resolved m;
    int64_t ctx = L4H_CONTEXT_TOKENS_DEFAULT, reserve = -1;
    if (l4h_config_model(L->cfg, model, &m, NULL) == 0) {
        ctx = m.context_tokens;
        if (m.max_tokens.state == L4H_OPT_SET)
            reserve = (int64_t)m.max_tokens.value;
    }
    if (reserve < 0)
        reserve = ctx / 4 < 8192 ? ctx / 4 : 8192;
    int64_t schema = 0;
    for (size_t i = 0; tools && i < n_tools; i++)
        schema += 64 + (int64_t)(tools[i].name ? strlen(tools[i].name) : 0) +
                  (int64_t)(tools[i].description ? strlen(tools[i].description) : 0) +
                  (int64_t)(tools[i].parameters_json ? strlen(tools[i].parameters_json) : 0);
    int64_t budget = ctx - reserve - schema - 256;
    if (budget < ctx / 8) /* max_tokens near the whole context: keep a usable prompt */
        budget = ctx / 8;
    return (size_t)budget;
}

/* An endpoint refused agent a's request (resp->refusal). The model's failure
 * (failed_request) when the request carried what a model or its code
 * produced and either the refusal names that content (context, size,
 * filter) or the same agent's requests were accepted before in this task
 * (so the endpoint, the key, the model's parameters and the tools are
 * fine); otherwise the infrastructure's (error_api): e.g. the supervisor's
 * first request, made of our prompts only, or a coder refused on its first
 * call for an unexplained reason (a parameter the model does not take). */
static int refusal_is_models(const l4h_loop *L, int a, const l4h_conv *conv, l4h_refusal r)
{
    if (r == L4H_REFUSAL_NONE || conv->n <= prompts_of(a))
        return 0;
    return r != L4H_REFUSAL_INVALID || L->accepted[a] > 0;
}

/* Ask agent a (SUP or COD) with its conversation, cut to the model's context;
 * record the call. 0 answered; -1 the loop ends (interrupted, limit, a
 * refused request, or error_api — status set). */
static int ask(l4h_loop *L, int a, int it, const l4h_conv *conv, l4h_chat_response *resp)
{
    if (agent_loop_must_stop(L, 1))
        return -1;
    const char *model = a == SUP ? L->task->supervisor : L->task->coder;
    const l4h_tool_spec *tools = a == COD && L->step->n_tools ? L->step->tools : NULL;
    size_t n_tools = a == COD ? L->step->n_tools : 0;
    l4h_conv sent = {0};
    agent_conv_fit(conv, context_budget(L, model, tools, n_tools), prompts_of(a), &sent);
    l4h_chat_request req = {
        .model = model,
        .messages = sent.msgs,
        .n_messages = sent.n,
        .tools = tools,
        .n_tools = n_tools,
        .deadline = L->deadline,
        .pos = {.supervisor = L->task->supervisor, .coder = L->task->coder,
                .step = L->step->name, .trial = L->task->trial, .agent = agent_name[a],
                .call = L->calls[a]},
    };
    l4h_err err = {0};
    memset(resp, 0, sizeof *resp);
    int rc = l4h_llm_chat(L->env->llm, &req, resp, &err);

    l4h_call_rec *c = l4h_rec_add_call(L->rec);
    c->iteration = it;
    snprintf(c->agent, sizeof c->agent, "%s", agent_name[a]);
    c->call = L->calls[a]++;
    c->model = l4h_xstrdup(model);
    c->http_status = resp->http_status;
    c->attempts = resp->attempts;
    c->latency_s = resp->latency_s;
    c->prompt_tokens = resp->prompt_tokens;
    c->completion_tokens = resp->completion_tokens;
    c->cached_prompt_tokens = resp->cached_tokens;
    c->reasoning_tokens = resp->reasoning_tokens;
    c->cost_usd = resp->cost_usd;
    snprintf(c->finish_reason, sizeof c->finish_reason, "%s", resp->finish_reason);
    memcpy(c->served_model, resp->served_model, sizeof c->served_model);
    memcpy(c->system_fingerprint, resp->system_fingerprint, sizeof c->system_fingerprint);
    memcpy(c->served_model_id, resp->served_model_id, sizeof c->served_model_id);
    c->request = resp->request_json ? l4h_xstrdup(resp->request_json)
                                    : l4h_llm_request_json(L->env->llm, &req, NULL);
    if (!c->request)
        c->request = l4h_xstrdup("");
    c->response = l4h_xstrdup(resp->response_json ? resp->response_json
                                                  : rc ? err.msg : "");
    c->attempt_log = l4h_xstrdup(resp->attempt_log);
    agent_conv_free(&sent);

    L->rec->api_calls++;
    /* The client hands over counts in [0, L4H_LLM_MAX_CALL_TOKENS] and a cost
     * that is NaN or >= 0; the totals saturate rather than wrap. */
    L->rec->prompt_tokens = l4h_add_sat_i64(L->rec->prompt_tokens, resp->prompt_tokens);
    L->rec->completion_tokens = l4h_add_sat_i64(L->rec->completion_tokens, resp->completion_tokens);
    L->rec->llm_s += resp->latency_s;
    L->tokens = l4h_add_sat_i64(L->tokens, l4h_add_sat_i64(resp->prompt_tokens,
                                                            resp->completion_tokens));
    if (isnan(resp->cost_usd))
        L->cost_unknown = 1;
    else if (resp->cost_usd > 0)
        L->rec->cost_usd += resp->cost_usd;

    if (rc != 0) {
        if (L->env->stop && *L->env->stop)
            agent_loop_infra(L, L4H_STATUS_INTERRUPTED, "interrupted during a %s call", agent_name[a]);
        else if (L->deadline > 0 && l4h_monotonic() >= L->deadline)
            hit_limit(L, "task wall time limit reached during a %s call (limits.task_wall_s = %g s)",
                      agent_name[a], L->cfg->limits.task_wall_s);
        else if (refusal_is_models(L, a, conv, resp->refusal))
            refused(L, "%s call %d to %s was refused (%s): %s", agent_name[a], c->call, model,
                    l4h_llm_refusal_name(resp->refusal), err.msg);
        else
            agent_loop_infra(L, L4H_STATUS_ERROR_API, "%s call %d to %s failed: %s", agent_name[a],
                           c->call, model, err.msg);
        return -1;
    }
    L->accepted[a]++;
    /* The client reports each call's spending to the permits; a zero report
     * reads the campaign's total so far. */
    if (L->env->permits && L->env->permits->spend && L->cfg->limits.campaign_usd > 0)
        L->campaign_usd = L->env->permits->spend(L->env->permits->ctx, 0.0, 0);
    /* an answer made only of tool calls is shown through the tool callback */
    if (L->env->observer && L->env->observer->message &&
        !(resp->n_tool_calls && (!resp->content || !*resp->content)))
        L->env->observer->message(L->env->observer->ctx, agent_name[a], it,
                                  resp->content ? resp->content : "");
    return 0;
}

/* The code left its workspace so that the harness cannot go on (it removed
 * the root, put something where the next file must go that cannot be
 * replaced): the model's failure, with the reason, not an infrastructure
 * outcome. Ends the loop. */
static void workspace_broken(l4h_loop *L, const char *rel, const char *why)
{
    L->stopped = 1;
    L->last_failed = 1;
    if (!L->summary[0])
        snprintf(L->summary, sizeof L->summary,
                 "the code's workspace stopped the harness before running %s: %.300s", rel, why);
}

/* Write generated_code/iter_N.py, run it, record it, keep its logs. 0 ran
 * (whatever its exit), -1 the sandbox failed or the loop must stop. */
static int run_code(l4h_loop *L, int it, const char *code, l4h_exec_result *res)
{
    if (agent_loop_must_stop(L, 0))
        return -1;
    char rel[64];
    snprintf(rel, sizeof rel, "generated_code/iter_%d.py", it);
    char *view = l4h_path_join(L->ws.view, rel);
    l4h_err err = {0};
    int rc = l4h_workspace_write(&L->ws, rel, code, strlen(code), &err);
    if (rc == 0) {
        char *argv[] = {"python", view, NULL};
        l4h_exec_spec spec = {.argv = argv, .timeout_s = agent_loop_exec_timeout(L)};
        rc = l4h_sandbox_run(L->env->sandbox, &L->ws, &spec, res, &err);
    }
    free(view);
    if (rc != 0 && L->env->stop && *L->env->stop) {
        agent_loop_infra(L, L4H_STATUS_INTERRUPTED, "interrupted before running %s", rel);
        return -1;
    }
    if (rc != 0 && err.code == 1) {
        workspace_broken(L, rel, err.msg);
        return -1;
    }
    if (rc != 0) {
        agent_loop_infra(L, L4H_STATUS_ERROR_SANDBOX, "the sandbox could not run %s: %s", rel, err.msg);
        return -1;
    }
    agent_loop_record_exec(L, it, "code", code, res);
    L->code_runs++;
    L->last_failed = res->exit_code != 0 || res->signal != 0 || res->timed_out || res->limit[0];
    /* logs/iter_N.stdout|stderr: the outputs as the run produced them, in
     * our records (outside the code's reach; copied out with the workspace) */
    static const char *const ext[2] = {"stdout", "stderr"};
    const char *text[2] = {res->stdout_text, res->stderr_text};
    for (int k = 0; k < 2; k++) {
        snprintf(rel, sizeof rel, "logs/iter_%d.%s", it, ext[k]);
        if (l4h_workspace_record(&L->ws, rel, text[k] ? text[k] : "", text[k] ? strlen(text[k]) : 0,
                                 &err) != 0)
            fprintf(stderr, "llm4hep: keeping %s: %s\n", rel, err.msg);
    }
    if (res->timed_out && L->deadline > 0 && l4h_monotonic() >= L->deadline)
        hit_limit(L, "task wall time limit reached while code ran (limits.task_wall_s = %g s)",
                  L->cfg->limits.task_wall_s);
    return 0;
}

/* Render one template; failure ends the task as error_internal. */
static char *render(l4h_loop *L, const char *what, const char *tmpl)
{
    char *out = NULL;
    l4h_err err = {0};
    if (l4h_render(tmpl ? tmpl : "", &L->vars, &out, &err) != 0) {
        agent_loop_infra(L, L4H_STATUS_ERROR_INTERNAL, "rendering %s: %s", what, err.msg);
        return NULL;
    }
    return out;
}

/* Give every tool call an id (the scripted backend may send none), so the
 * assistant message and its tool messages match. */
static void name_tool_calls(l4h_chat_response *resp, int it)
{
    for (size_t i = 0; i < resp->n_tool_calls; i++) {
        if (resp->tool_calls[i].id && resp->tool_calls[i].id[0])
            continue;
        char id[48];
        snprintf(id, sizeof id, "call_%d_%zu", it, i);
        free(resp->tool_calls[i].id);
        resp->tool_calls[i].id = l4h_xstrdup(id);
    }
}

/* The conversation itself. Returns when the loop ends (L->stopped or done). */
static void converse(l4h_loop *L)
{
    char *sys_first = render(L, "the supervisor's first prompt", L->cfg->suite->prompt_supervisor_first);
    char *sys_sup = render(L, "the supervisor's prompt", L->cfg->suite->prompt_supervisor);
    char *sys_cod = render(L, "the coder's prompt", L->cfg->suite->prompt_coder);
    char *task_text = render(L, "the step's prompt", L->step->prompt);
    l4h_conv sup = {0}, cod = {0};
    char *latest = NULL;  /* the supervisor's latest message, for the coder */
    char *notes = NULL;   /* for the next review */
    l4h_chat_response resp = {0};
    if (L->stopped)
        goto out;

    agent_conv_add(&sup, "system", sys_first);
    agent_conv_add(&sup, "user", task_text);
    if (ask(L, SUP, 0, &sup, &resp) != 0)
        goto out;
    agent_conv_add(&sup, "assistant", resp.content);
    agent_conv_set(&sup, 0, sys_sup);  /* reviews run under the supervisor's own prompt */
    latest = l4h_xstrdup(resp.content ? resp.content : "");
    l4h_chat_response_clear(&resp);
    agent_conv_add(&cod, "system", sys_cod);

    for (int it = 1; it <= L->cfg->max_iterations; it++) {
        L->rec->iterations = it;
        agent_conv_add(&cod, "user", *latest ? latest : "(the supervisor sent an empty message)");
        l4h_buf tools = {0};
        int rounds = 0, tools_exhausted = 0;
        for (;;) {
            if (ask(L, COD, it, &cod, &resp) != 0) {
                l4h_buf_free(&tools);
                goto out;
            }
            name_tool_calls(&resp, it);
            agent_conv_add_answer(&cod, &resp);
            if (resp.n_tool_calls == 0)
                break;
            if (rounds == L4H_TOOL_ROUNDS) {
                /* answer the calls (a request must not leave them open) but run nothing */
                for (size_t i = 0; i < resp.n_tool_calls; i++)
                    agent_conv_add_tool(&cod, resp.tool_calls[i].id,
                                      "not run: the limit of tool rounds in this iteration was reached");
                tools_exhausted = 1;
                break;
            }
            rounds++;
            if (agent_loop_run_tools(L, it, &resp, &cod, &tools) != 0) {
                l4h_buf_free(&tools);
                goto out;
            }
            l4h_chat_response_clear(&resp);
        }
        const char *note = NULL;
        char *code = tools_exhausted ? NULL : agent_extract_code(resp.content, &note);
        if (tools_exhausted)
            note = "the coder kept calling tools past the limit of rounds per iteration";
        l4h_exec_result res = {0};
        int ran = 0;
        if (code) {
            if (L->env->observer && L->env->observer->code)
                L->env->observer->code(L->env->observer->ctx, it, code);
            if (run_code(L, it, code, &res) != 0) {
                free(code);
                l4h_buf_free(&tools);
                goto out;
            }
            ran = 1;
        }
        /* the review may take half the supervisor's context; the rest is its history */
        l4h_iteration_report rep = {.iteration = it, .code = code, .code_note = note,
                                    .coder_text = resp.content, .res = ran ? &res : NULL,
                                    .tools_text = tools.data, .notes = notes,
                                    .budget = context_budget(L, L->task->supervisor, NULL, 0) / 2};
        char *review = agent_review_text(&rep);
        free(code);
        l4h_exec_result_clear(&res);
        l4h_buf_free(&tools);
        l4h_chat_response_clear(&resp);
        free(notes);
        notes = NULL;
        agent_conv_add(&sup, "user", review);
        free(review);
        if (ask(L, SUP, it, &sup, &resp) != 0)
            goto out;
        agent_conv_add(&sup, "assistant", resp.content);
        int well_formed = 0;
        L->approved = l4h_parse_verdict(resp.content, &well_formed);
        if (!well_formed) {
            notes = l4h_xstrdup("your previous message did not end with a line `VERDICT: DONE` or "
                                "`VERDICT: CONTINUE`; it counted as CONTINUE.");
            if (L->env->observer && L->env->observer->message)
                L->env->observer->message(L->env->observer->ctx, "llm4hep", it,
                                          "no verdict line in the supervisor's message: counted as CONTINUE");
        }
        free(latest);
        latest = l4h_xstrdup(resp.content ? resp.content : "");
        l4h_chat_response_clear(&resp);
        if (L->approved)
            break;
    }
out:
    l4h_chat_response_clear(&resp);
    agent_conv_free(&sup);
    agent_conv_free(&cod);
    free(latest);
    free(notes);
    free(sys_first);
    free(sys_sup);
    free(sys_cod);
    free(task_text);
}

/* The status after the loop and the checks (agent.h's table). */
static l4h_status final_status(l4h_loop *L, int checks_ran, int failed_checks)
{
    if (L->infra)
        return L->infra_status;
    if (L->code_runs == 0)
        return L->limit_hit ? L4H_STATUS_FAILED_LIMIT
             : L->refused   ? L4H_STATUS_FAILED_REQUEST : L4H_STATUS_FAILED_NO_CODE;
    if (checks_ran ? failed_checks == 0
                   : (!L->last_failed && L->approved && !L->limit_hit && !L->refused))
        return L4H_STATUS_SUCCESS;
    if (L->limit_hit)
        return L4H_STATUS_FAILED_LIMIT;
    if (L->refused)
        return L4H_STATUS_FAILED_REQUEST;
    return L->last_failed ? L4H_STATUS_FAILED_EXECUTION : L4H_STATUS_FAILED_VALIDATION;
}

static void fill_identity(const l4h_task_env *env, const l4h_task *task, l4h_task_rec *rec)
{
    const l4h_config *cfg = env->cfg;
    rec->task_id = -1;
    snprintf(rec->key, sizeof rec->key, "%s", task->key);
    rec->campaign = l4h_xstrdup(cfg->name ? cfg->name : "");
    rec->supervisor = l4h_xstrdup(task->supervisor);
    rec->coder = l4h_xstrdup(task->coder);
    rec->step = l4h_xstrdup(task->step->name);
    rec->trial = task->trial;
    rec->attempt = env->attempt > 0 ? env->attempt : 1;
    rec->started_utc = l4h_now();
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown");
    rec->host = l4h_xstrdup(host);
}

/* Run one task into rec (agent.h). Returns 0 whenever a record was made. */
int l4h_task_run(const l4h_task_env *env, const l4h_task *task, l4h_task_rec *rec, l4h_err *err)
{
    if (!env || !env->cfg || !env->cfg->suite || !task || !task->step || !rec)
        return l4h_err_set(err, L4H_EXIT_INFRA, "l4h_task_run: missing config, suite, task or record");
    l4h_loop L = {.env = env, .cfg = env->cfg, .task = task, .step = task->step, .rec = rec};
    L.t0 = l4h_monotonic();
    if (env->cfg->limits.task_wall_s > 0)
        L.deadline = L.t0 + env->cfg->limits.task_wall_s;
    fill_identity(env, task, rec);
    if (env->permits && env->permits->spend && env->cfg->limits.campaign_usd > 0)
        L.campaign_usd = env->permits->spend(env->permits->ctx, 0.0, 0); /* spent before this task */

    l4h_err e = {0};
    l4h_sandbox_watch_stop(env->sandbox, env->stop);
    if (l4h_workspace_create_from(env->cfg, env->sandbox, task->key, task->step, env->stage_dir,
                                  &L.ws, &e) != 0) {
        agent_loop_infra(&L, L4H_STATUS_ERROR_SANDBOX, "workspace: %s", e.msg);
    } else {
        L.have_ws = 1;
        l4h_workspace_vars(&L.ws, task->step, &L.vars, L.number_buf);
        L.inputs = agent_inputs_text(&L.ws, task->step);
        L.files = agent_files_text(L.ws.data_host, L.ws.data_view);
        L.vars.inputs = L.inputs;
        L.vars.files = L.files;
        converse(&L);
    }

    int checks_ran = 0, failed = 0;
    if (!L.infra && L.code_runs > 0 && !env->no_checks) {
        /* the checks obey the task's wall limit too */
        failed = l4h_checks_run_until(env->cfg, task->step, env->sandbox, &L.ws, L.deadline, rec,
                                      &e);
        if (failed < 0 && env->stop && *env->stop)
            agent_loop_infra(&L, L4H_STATUS_INTERRUPTED, "interrupted during the checks");
        else if (failed < 0 && e.code == 1) /* the workspace as the code left it */
            workspace_broken(&L, "the checks", e.msg);
        else if (failed < 0)
            agent_loop_infra(&L, L4H_STATUS_ERROR_SANDBOX, "checks: %s", e.msg);
        else
            checks_ran = 1;
        if (env->observer && env->observer->check)
            for (size_t i = 0; i < rec->n_checks; i++)
                env->observer->check(env->observer->ctx, &rec->checks[i]);
    }
    for (size_t i = 0; i < rec->n_execs; i++)
        if (!strcmp(rec->execs[i].kind, "check"))
            rec->exec_s += rec->execs[i].wall_s;

    rec->status = final_status(&L, checks_ran, failed);
    rec->success = rec->status == L4H_STATUS_SUCCESS;
    rec->approved = L.approved;
    if (L.cost_unknown)
        rec->cost_usd = NAN;
    if (L.summary[0])
        rec->error_summary = l4h_xstrdup(L.summary);
    l4h_classify(rec);
    rec->wall_s = l4h_monotonic() - L.t0;

    if (L.have_ws) {
        if (checks_ran && env->keep_outputs_dir)
            l4h_outputs_keep(&L.ws, task->step, env->keep_outputs_dir, task->key, rec->attempt,
                             env->keep_outputs_bytes, rec->outputs, sizeof rec->outputs);
        if (env->out_dir && l4h_workspace_copy_out(&L.ws, env->out_dir, &e) != 0)
            fprintf(stderr, "llm4hep: copying the workspace to %s: %s\n", env->out_dir, e.msg);
        if (env->keep_workspace)
            l4h_workspace_release(&L.ws);
        else if (l4h_workspace_remove(&L.ws, &e) != 0)
            fprintf(stderr, "llm4hep: task %s: %s\n", task->key, e.msg);
    }
    free(L.inputs);
    free(L.files);
    return 0;
}
