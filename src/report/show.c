/* show.c — one task's story in reading order (`llm4hep show`), also the
 * transcript the annotator reads: the prompts, each supervisor and coder
 * message, each code version with a diff to the previous one, each
 * execution's output, tool calls, verdicts, the checks and annotations. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

int64_t report_task_find(const l4h_results *res, const char *task, l4h_err *err)
{
    size_t len = strlen(task);
    if (len && strspn(task, "0123456789") == len) {
        int64_t id = strtoll(task, NULL, 10);
        if (res->n_tasks == 0)
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s: no task %s (the file holds no tasks yet)",
                               res->path, task);
        if (id < 1 || (size_t)id > res->n_tasks)
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s: no task %s (task ids run 1 to %zu)",
                               res->path, task, res->n_tasks);
        return id;
    }
    /* from the right: trial, step, then "supervisor/coder" or one model */
    const char *s3 = strrchr(task, '/');
    const char *s2 = NULL;
    for (const char *p = s3 ? s3 - 1 : NULL; p && p >= task; p--)
        if (*p == '/') {
            s2 = p;
            break;
        }
    if (!s3 || !s2 || s2 == task || !s3[1] || strspn(s3 + 1, "0123456789") != strlen(s3 + 1))
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "TASK %s: expected a task id or supervisor/coder/step/trial "
                           "(e.g. openai/gpt-5/openai/gpt-5/create_numpy/1)", task);
    int trial = atoi(s3 + 1);
    size_t mlen = (size_t)(s2 - task), slen = (size_t)(s3 - s2 - 1);
    const l4h_task_rec *hit = NULL;
    for (size_t i = res->n_tasks; i-- > 0;) {
        const l4h_task_rec *t = &res->tasks[i];
        if (!t->final || t->trial != trial || strlen(t->step) != slen ||
            strncmp(t->step, s2 + 1, slen) != 0)
            continue;
        size_t ls = strlen(t->supervisor), lc = strlen(t->coder);
        int pair = ls + 1 + lc == mlen && !strncmp(task, t->supervisor, ls) && task[ls] == '/' &&
                   !strncmp(task + ls + 1, t->coder, lc);
        int single = !strcmp(t->supervisor, t->coder) && ls == mlen && !strncmp(task, t->supervisor, ls);
        if (!(pair || single))
            continue;
        if (hit && (strcmp(hit->supervisor, t->supervisor) || strcmp(hit->coder, t->coder)))
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "TASK %s is ambiguous: supervisor %s with coder %s, or supervisor "
                               "%s with coder %s (tasks %lld and %lld); give the task id", task,
                               hit->supervisor, hit->coder, t->supervisor, t->coder,
                               (long long)hit->task_id, (long long)t->task_id);
        if (!hit)
            hit = t;
    }
    if (hit)
        return hit->task_id;
    return l4h_err_set(err, L4H_EXIT_USAGE,
                       "%s: no task %s (supervisor/coder/step/trial; the file's first task is "
                       "%s/%s/%s/%d)", res->path, task,
                       res->n_tasks ? res->tasks[0].supervisor : "?",
                       res->n_tasks ? res->tasks[0].coder : "?",
                       res->n_tasks ? res->tasks[0].step : "?", res->n_tasks ? res->tasks[0].trial : 0);
}

/* Text indented by four spaces, with a final newline. */
static void indent(l4h_buf *b, const char *s)
{
    if (!s || !*s) {
        l4h_buf_puts(b, "    (empty)\n");
        return;
    }
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        l4h_buf_puts(b, "    ");
        l4h_buf_add(b, s, n);
        l4h_buf_puts(b, "\n");
        s += n + (e ? 1 : 0);
    }
}

/* The text of a message's content (a string or a list of parts). */
static void content_text(l4h_buf *b, const cJSON *c)
{
    if (cJSON_IsString(c)) {
        l4h_buf_puts(b, c->valuestring);
    } else if (cJSON_IsArray(c)) {
        const cJSON *part;
        cJSON_ArrayForEach(part, c) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(t))
                l4h_buf_puts(b, t->valuestring);
            l4h_buf_puts(b, "\n");
        }
    }
}

static void tool_calls_text(l4h_buf *b, const cJSON *calls)
{
    const cJSON *tc;
    cJSON_ArrayForEach(tc, calls) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        l4h_buf_printf(b, "    [tool call] %s(%s)\n", cJSON_IsString(name) ? name->valuestring : "?",
                       cJSON_IsString(args) ? args->valuestring : "");
    }
}

/* "DONE", "CONTINUE" or NULL (no verdict line), by the agent loop's rule. */
static const char *verdict_of(const char *text)
{
    int well_formed = 0;
    int done = l4h_parse_verdict(text, &well_formed);
    return !well_formed ? NULL : done ? "DONE" : "CONTINUE";
}

/* What an agent was sent in this call that it has not seen before:
 * messages after its previous request's, minus its own earlier answers.
 * The first call shows everything (the prompts). */
static void new_messages(l4h_buf *b, const char *request, int *prev_n)
{
    cJSON *req = cJSON_Parse(request);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    if (!cJSON_IsArray(msgs)) {
        l4h_buf_puts(b, "  sent (not a chat request):\n");
        indent(b, request);
        cJSON_Delete(req);
        return;
    }
    int n = cJSON_GetArraySize(msgs);
    int from = *prev_n < n ? *prev_n : n - 1;
    if (from < 0)
        from = 0;
    for (int i = from; i < n; i++) {
        const cJSON *m = cJSON_GetArrayItem(msgs, i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const char *r = cJSON_IsString(role) ? role->valuestring : "?";
        if (i > 0 && !strcmp(r, "assistant") && *prev_n > 0)
            continue; /* its own earlier answer, shown when it was given */
        l4h_buf text = {0};
        content_text(&text, cJSON_GetObjectItemCaseSensitive(m, "content"));
        if (!strcmp(r, "tool")) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id");
            l4h_buf_printf(b, "  [tool result for %s]\n", cJSON_IsString(id) ? id->valuestring : "?");
        } else {
            l4h_buf_printf(b, "  [%s]%s\n", r,
                           !strcmp(r, "system") && *prev_n == 0 ? " (prompt)" : "");
        }
        indent(b, text.data);
        l4h_buf_free(&text);
    }
    *prev_n = n;
    cJSON_Delete(req);
}

/* The answer of a call: its text, tool calls and (supervisor) verdict. */
static void answer(l4h_buf *b, const l4h_call_rec *c)
{
    cJSON *resp = cJSON_Parse(c->response);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(resp, "choices"), 0), "message");
    if (!msg) {
        l4h_buf_puts(b, "  no answer; the response or error was:\n");
        indent(b, c->response);
        cJSON_Delete(resp);
        return;
    }
    l4h_buf text = {0};
    content_text(&text, cJSON_GetObjectItemCaseSensitive(msg, "content"));
    const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    if (text.len || !cJSON_GetArraySize(tcs))
        indent(b, text.data);
    tool_calls_text(b, tcs);
    if (!strcmp(c->agent, "supervisor")) {
        const char *v = verdict_of(text.data);
        l4h_buf_printf(b, "  verdict: %s\n", v ? v : "none: the last line is not a verdict line "
                                                     "(counts as CONTINUE)");
    }
    l4h_buf_free(&text);
    cJSON_Delete(resp);
}

static void exec_text(l4h_buf *b, const l4h_exec_rec *e, int *version, const char **prev_code)
{
    char how[96];
    if (e->limit[0])
        snprintf(how, sizeof how, "stopped by the %s limit (exit %d, signal %d)", e->limit,
                 e->exit_code, e->signal);
    else if (e->signal)
        snprintf(how, sizeof how, "killed by signal %d", e->signal);
    else
        snprintf(how, sizeof how, "exit %d", e->exit_code);
    if (!strcmp(e->kind, "code")) {
        (*version)++;
        if (*version == 1 || !*prev_code) {
            l4h_buf_printf(b, "\n~~~ code version %d:\n", *version);
            indent(b, e->code);
        } else if (!strcmp(*prev_code, e->code)) {
            l4h_buf_printf(b, "\n~~~ code version %d: unchanged from version %d\n", *version,
                           *version - 1);
        } else {
            char an[32], bn[32];
            snprintf(an, sizeof an, "version %d", *version - 1);
            snprintf(bn, sizeof bn, "version %d", *version);
            l4h_buf_printf(b, "\n~~~ code version %d, diff to version %d:\n", *version, *version - 1);
            l4h_buf d = {0};
            report_line_diff(*prev_code, e->code, an, bn, &d);
            indent(b, d.data);
            l4h_buf_free(&d);
        }
        *prev_code = e->code;
        l4h_buf_printf(b, "~~~ ran: %s, %.2f s, %" PRId64 " kB, %s%s%s\n", how, e->wall_s,
                       e->max_rss_kb, e->isolation, e->timed_out ? ", TIMED OUT" : "",
                       e->truncated ? ", output truncated" : "");
    } else {
        l4h_buf_printf(b, "\n~~~ %s run: %s, %.2f s%s%s\n", e->kind, how, e->wall_s,
                       e->timed_out ? ", TIMED OUT" : "", e->truncated ? ", output truncated" : "");
        l4h_buf_puts(b, !strcmp(e->kind, "tool") ? "  [arguments]\n" : "  [command]\n");
        indent(b, e->code);
    }
    if (e->stdout_text && *e->stdout_text) {
        l4h_buf_puts(b, "  [stdout]\n");
        indent(b, e->stdout_text);
    }
    if (e->stderr_text && *e->stderr_text) {
        l4h_buf_puts(b, "  [stderr]\n");
        indent(b, e->stderr_text);
    }
}

static int count_tool_calls(const char *response)
{
    cJSON *r = cJSON_Parse(response);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "choices"), 0), "message");
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"));
    cJSON_Delete(r);
    return n;
}

static void header(l4h_buf *b, const l4h_task_rec *t)
{
    l4h_buf_printf(b, "Task %" PRId64 " (attempt %d%s): supervisor %s, coder %s, step %s, trial %d\n",
                   t->task_id, t->attempt, t->final ? ", final" : ", superseded by a later attempt",
                   t->supervisor, t->coder, t->step, t->trial);
    char cost[32];
    if (isnan(t->cost_usd))
        snprintf(cost, sizeof cost, "unknown");
    else
        snprintf(cost, sizeof cost, "$%.4f", t->cost_usd);
    l4h_buf_printf(b, "status %s%s, approved %s, %d iteration(s), %d call(s), tokens %" PRId64
                      " in / %" PRId64 " out, cost %s, wall %.1f s (LLM %.1f s, exec %.1f s), "
                      "run %d, rank %d on %s\n",
                   l4h_status_name(t->status), l4h_status_is_infra(t->status) ? " (infrastructure)" : "",
                   t->approved ? "yes" : "no", t->iterations, t->api_calls, t->prompt_tokens,
                   t->completion_tokens, cost, t->wall_s, t->llm_s, t->exec_s, t->run, t->rank,
                   t->host);
    if (t->error_summary && *t->error_summary)
        l4h_buf_printf(b, "error (%s): %s\n", t->error_category[0] ? t->error_category : "uncategorised",
                       t->error_summary);
}

int report_transcript(const l4h_results *res, int64_t task_id, l4h_buf *out, l4h_err *err)
{
    l4h_task_rec t = {0};
    if (report_results_task_wait(res, task_id, &t, err) != 0)
        return -1;
    header(out, &t);
    int max_it = 0;
    for (size_t i = 0; i < t.n_calls; i++)
        if (t.calls[i].iteration > max_it)
            max_it = t.calls[i].iteration;
    for (size_t i = 0; i < t.n_execs; i++)
        if (t.execs[i].iteration > max_it)
            max_it = t.execs[i].iteration;
    int prev_n[3] = {0, 0, 0}; /* supervisor, coder, annotator */
    int version = 0;
    const char *prev_code = NULL;
    char *done = l4h_xcalloc(t.n_execs ? t.n_execs : 1, 1);
    for (int it = 0; it <= max_it; it++) {
        int printed = 0, coder_seen = 0;
        size_t next_exec = 0;
        for (size_t i = 0; i < t.n_calls; i++) {
            const l4h_call_rec *c = &t.calls[i];
            if (c->iteration != it)
                continue;
            if (!printed++)
                l4h_buf_printf(out, "\n=== iteration %d%s ===\n", it, it == 0 ? " (planning)" : "");
            int who = !strcmp(c->agent, "supervisor") ? 0 : !strcmp(c->agent, "coder") ? 1 : 2;
            if (who == 0 && coder_seen) /* the code ran before the supervisor's review */
                for (size_t e = 0; e < t.n_execs; e++)
                    if (t.execs[e].iteration == it && !done[e] && strcmp(t.execs[e].kind, "check")) {
                        exec_text(out, &t.execs[e], &version, &prev_code);
                        done[e] = 1;
                    }
            char cost[32] = "";
            if (!isnan(c->cost_usd))
                snprintf(cost, sizeof cost, ", $%.4f", c->cost_usd);
            l4h_buf_printf(out, "\n>>> to the %s (call %d)%s:\n", c->agent, c->call,
                           prev_n[who] == 0 ? ", the prompts" : "");
            new_messages(out, c->request, &prev_n[who]);
            l4h_buf_printf(out, "<<< %s %s answered (HTTP %d, %d attempt(s), %.1f s, %" PRId64
                                "+%" PRId64 " tokens%s, %s):\n",
                           c->agent, c->model, c->http_status, c->attempts, c->latency_s,
                           c->prompt_tokens, c->completion_tokens, cost,
                           c->finish_reason[0] ? c->finish_reason : "-");
            if (c->served_model[0] && (!c->model || strcmp(c->served_model, c->model)))
                l4h_buf_printf(out, "    served by %s%s%s%s\n", c->served_model,
                               c->system_fingerprint[0] ? " (" : "", c->system_fingerprint,
                               c->system_fingerprint[0] ? ")" : "");
            answer(out, c);
            if (who == 1) {
                coder_seen = 1;
                /* this answer's tool calls ran next */
                int n = count_tool_calls(c->response);
                for (; n > 0 && next_exec < t.n_execs; next_exec++) {
                    const l4h_exec_rec *e = &t.execs[next_exec];
                    if (e->iteration == it && !done[next_exec] && !strcmp(e->kind, "tool")) {
                        exec_text(out, e, &version, &prev_code);
                        done[next_exec] = 1;
                        n--;
                    }
                }
            }
        }
        for (size_t e = 0; e < t.n_execs; e++)
            if (t.execs[e].iteration == it && !done[e] && strcmp(t.execs[e].kind, "check")) {
                if (!printed++)
                    l4h_buf_printf(out, "\n=== iteration %d ===\n", it);
                exec_text(out, &t.execs[e], &version, &prev_code);
                done[e] = 1;
            }
    }
    l4h_buf_puts(out, "\n=== checks ===\n");
    if (!t.n_checks)
        l4h_buf_puts(out, "(no checks ran: no code ran)\n");
    for (size_t i = 0; i < t.n_checks; i++) {
        const l4h_check_rec *c = &t.checks[i];
        l4h_buf_printf(out, "[%s] %s (%" PRId64 " bad", c->passed ? "PASS" : "FAIL", c->check,
                       c->n_bad);
        if (!isnan(c->max_rel_diff))
            l4h_buf_printf(out, ", max rel diff %.3g", c->max_rel_diff);
        l4h_buf_puts(out, ")\n");
        if (c->report && *c->report)
            indent(out, c->report);
    }
    for (size_t e = 0; e < t.n_execs; e++)
        if (!done[e])
            exec_text(out, &t.execs[e], &version, &prev_code);
    for (size_t i = 0; i < res->n_annotations; i++) {
        const l4h_annotation *a = &res->annotations[i];
        if (a->task_id != task_id)
            continue;
        l4h_buf_printf(out, "\n=== annotation by %s: %s ===\n", a->source, a->error_category);
        indent(out, a->text);
    }
    free(done);
    l4h_rec_clear(&t);
    return 0;
}

int l4h_show(const char *path, const char *task, FILE *out, l4h_err *err)
{
    l4h_results *res;
    if (report_results_open_wait(path, &res, err) != 0)
        return -1;
    int64_t id = report_task_find(res, task, err);
    l4h_buf b = {0};
    int rc = id < 0 ? -1 : report_transcript(res, id, &b, err);
    if (rc == 0)
        l4h_term_puts(out, b.data); /* the file's texts are shown, their escapes never obeyed */
    l4h_buf_free(&b);
    l4h_results_free(res);
    return rc;
}
