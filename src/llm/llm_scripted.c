/* llm_scripted.c — the scripted backend (docs/design.md "Scripted models"): a
 * directory of <model>.yml files, `scripted/careful` ↔ careful.yml (the
 * part of the model name after its last '/'). An answer is chosen by the
 * request's position: steps[step][agent][call], or trials["N"][step][agent]
 * when the trial replaces that list; an answer past the end of its list
 * repeats the last. Answers are a string (text), or a mapping with any of
 * text, code_file (sent as a fenced python block, path relative to the yml),
 * tool_calls [{name, arguments}] (ids call_<agent>_<call>_<i>) and usage.
 * The answer is returned as an OpenAI-shaped body parsed by the same code as
 * HTTP answers, so both paths give identical responses. Deterministic.
 * tests/server/llm_server.py serves the same files the same way. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llm_internal.h"

typedef struct script {
    char *name;    /* file base name without .yml */
    char *path;    /* the yml */
    char *dir;     /* its directory (code_file paths resolve against it) */
    cJSON *root;
} script;

typedef struct scripted_state {
    const l4h_endpoint *ep;
    pthread_mutex_t mu;
    script *scripts;
    size_t n_scripts;
} scripted_state;

static int scripted_open(const l4h_config *cfg, const l4h_endpoint *ep, void **state, l4h_err *err)
{
    (void)cfg;
    if (!ep->dir || !*ep->dir)
        return l4h_err_set(err, L4H_EXIT_USAGE, "endpoint %s: a scripted endpoint needs `dir:`",
                           ep->name);
    struct stat sb;
    if (stat(ep->dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return l4h_err_set(err, L4H_EXIT_USAGE, "endpoint %s: scripted dir %s is not a directory",
                           ep->name, ep->dir);
    scripted_state *st = l4h_xcalloc(1, sizeof *st);
    st->ep = ep;
    pthread_mutex_init(&st->mu, NULL);
    *state = st;
    return 0;
}

static void scripted_close(void *state)
{
    scripted_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_scripts; i++) {
        free(st->scripts[i].name);
        free(st->scripts[i].path);
        free(st->scripts[i].dir);
        cJSON_Delete(st->scripts[i].root);
    }
    free(st->scripts);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* Check the top level of a script: a mapping of usage, steps, trials (and
 * the free-text name and description). -1 with err naming the file. */
static int validate(const char *path, const cJSON *root, l4h_err *err)
{
    if (!cJSON_IsObject(root))
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: a scripted model is a mapping with `steps:`", path);
    const cJSON *k;
    cJSON_ArrayForEach(k, root) {
        if (strcmp(k->string, "usage") && strcmp(k->string, "steps") && strcmp(k->string, "trials") &&
            strcmp(k->string, "name") && strcmp(k->string, "description"))
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "%s: unknown key `%s` (expected steps, trials, usage, description)",
                               path, k->string);
    }
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(root, "steps");
    if (!cJSON_IsObject(steps))
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: `steps:` must be a mapping of step names", path);
    const cJSON *trials = cJSON_GetObjectItemCaseSensitive(root, "trials");
    if (trials && !cJSON_IsObject(trials))
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: `trials:` must be a mapping of trial numbers", path);
    return 0;
}

/* The loaded script for a model (loaded and cached on first use), or NULL
 * with err (code 2) naming the file. */
static script *get_script(scripted_state *st, const char *model, l4h_err *err)
{
    const char *base = llm_model_basename(model);
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < st->n_scripts; i++) {
        if (strcmp(st->scripts[i].name, base) == 0) {
            pthread_mutex_unlock(&st->mu);
            return &st->scripts[i];
        }
    }
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s.yml", base);
    char *path = l4h_path_join(st->ep->dir, b.data);
    l4h_buf_free(&b);
    if (!l4h_input_is_file(path)) {
        l4h_buf_printf(&b, "%s.yaml", base);
        char *alt = l4h_path_join(st->ep->dir, b.data);
        l4h_buf_free(&b);
        if (l4h_input_is_file(alt)) {
            free(path);
            path = alt;
        } else {
            free(alt);
            l4h_err_set(err, L4H_EXIT_USAGE, "scripted model %s: no file %s (endpoint %s, dir %s)",
                        model, path, st->ep->name, st->ep->dir);
            free(path);
            pthread_mutex_unlock(&st->mu);
            return NULL;
        }
    }
    char *json = NULL;
    cJSON *root = NULL;
    if (l4h_yaml_file_to_json(path, &json, err) == 0) {
        root = cJSON_Parse(json);
        if (!root)
            l4h_err_set(err, L4H_EXIT_USAGE, "%s: could not read the YAML as data", path);
        else if (validate(path, root, err) < 0) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    free(json);
    if (!root) {
        free(path);
        pthread_mutex_unlock(&st->mu);
        return NULL;
    }
    st->scripts = l4h_xrealloc(st->scripts, (st->n_scripts + 1) * sizeof *st->scripts);
    script *s = &st->scripts[st->n_scripts++];
    s->name = l4h_xstrdup(base);
    s->dir = l4h_path_dir(path);
    s->path = path;
    s->root = root;
    pthread_mutex_unlock(&st->mu);
    return s;
}

/* Names of a mapping's keys, comma-separated, into out. */
static void key_list(const cJSON *obj, char *out, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    const cJSON *k;
    cJSON_ArrayForEach(k, obj) {
        int w = snprintf(out + o, n - o, "%s%s", o ? ", " : "", k->string);
        if (w < 0 || (size_t)w >= n - o)
            break;
        o += (size_t)w;
    }
}

/* The answer list for a position: the trial's replacement if any, else the
 * steps' list. NULL with err naming what is missing. */
static const cJSON *answer_list(const script *s, const l4h_call_position *pos, l4h_err *err)
{
    char trial[24];
    snprintf(trial, sizeof trial, "%d", pos->trial);
    const cJSON *trials = cJSON_GetObjectItemCaseSensitive(s->root, "trials");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(trials, trial);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(t, pos->step), pos->agent);
    if (list)
        return list;
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(s->root, "steps");
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(steps, pos->step);
    char keys[400];
    if (!step) {
        key_list(steps, keys, sizeof keys);
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: no answers for step `%s` (the script has: %s)",
                    s->path, pos->step, keys[0] ? keys : "no steps");
        return NULL;
    }
    list = cJSON_GetObjectItemCaseSensitive(step, pos->agent);
    if (!list) {
        key_list(step, keys, sizeof keys);
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: step `%s` has no answers for agent `%s` (it has: %s)",
                    s->path, pos->step, pos->agent, keys[0] ? keys : "none");
        return NULL;
    }
    return list;
}

/* usage: {prompt_tokens, completion_tokens} into the two numbers if
 * present. 0, or -1 with why[] when a count is out of range (the same rule
 * as an endpoint's usage: llm_usage_count). */
static int read_usage(const cJSON *u, int64_t *pt, int64_t *ct, char *why, size_t why_size)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
    if (p && llm_usage_count(p, "prompt_tokens", pt, why, why_size) < 0)
        return -1;
    if (c && llm_usage_count(c, "completion_tokens", ct, why, why_size) < 0)
        return -1;
    return 0;
}

/* Build the text of an answer (text, then the fenced code file) into
 * *content (NULL when neither), and its tool calls. -1 with err. */
static int build_answer(const script *s, const l4h_call_position *pos, const cJSON *ans,
                        char **content, l4h_tool_call **tcs, size_t *n_tcs, l4h_err *err)
{
    *content = NULL;
    *tcs = NULL;
    *n_tcs = 0;
    if (cJSON_IsString(ans)) {
        *content = l4h_xstrdup(ans->valuestring);
        return 0;
    }
    if (!cJSON_IsObject(ans))
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: step %s, %s answer %d: expected text or a mapping with text, code_file, tool_calls",
                           s->path, pos->step, pos->agent, pos->call + 1);
    const cJSON *k;
    cJSON_ArrayForEach(k, ans) {
        if (strcmp(k->string, "text") && strcmp(k->string, "code_file") &&
            strcmp(k->string, "tool_calls") && strcmp(k->string, "usage"))
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "%s: step %s, %s: unknown answer key `%s` (expected text, code_file, tool_calls, usage)",
                               s->path, pos->step, pos->agent, k->string);
    }
    l4h_buf b = {0};
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(ans, "text");
    if (cJSON_IsString(text))
        l4h_buf_puts(&b, text->valuestring);
    const cJSON *cf = cJSON_GetObjectItemCaseSensitive(ans, "code_file");
    if (cJSON_IsString(cf)) {
        char *path = l4h_path_join(s->dir, cf->valuestring);
        char *code = NULL;
        size_t len = 0;
        l4h_err ferr;
        if (l4h_input_read(path, &code, &len, &ferr) < 0) {
            l4h_err_set(err, L4H_EXIT_USAGE, "%s: step %s, %s: code_file %s: %s", s->path,
                        pos->step, pos->agent, cf->valuestring, ferr.msg);
            free(path);
            l4h_buf_free(&b);
            return -1;
        }
        free(path);
        if (b.len)
            l4h_buf_puts(&b, "\n\n");
        l4h_buf_puts(&b, "```python\n");
        l4h_buf_puts(&b, code);
        if (len == 0 || code[len - 1] != '\n')
            l4h_buf_puts(&b, "\n");
        l4h_buf_puts(&b, "```");
        free(code);
    }
    if (b.data)
        *content = l4h_buf_take(&b);
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(ans, "tool_calls");
    if (calls) {
        if (!cJSON_IsArray(calls)) {
            free(*content);
            *content = NULL;
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s: step %s, %s: tool_calls must be a list",
                               s->path, pos->step, pos->agent);
        }
        size_t n = (size_t)cJSON_GetArraySize(calls), i = 0;
        l4h_tool_call *tc = l4h_xcalloc(n ? n : 1, sizeof *tc);
        const cJSON *c;
        cJSON_ArrayForEach(c, calls) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
            const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "arguments");
            char id[96];
            snprintf(id, sizeof id, "call_%s_%d_%zu", pos->agent, pos->call, i);
            tc[i].id = l4h_xstrdup(id);
            tc[i].name = l4h_xstrdup(cJSON_IsString(name) ? name->valuestring : "");
            if (cJSON_IsString(args)) {
                tc[i].arguments = l4h_xstrdup(args->valuestring);
            } else if (args) {
                char *p = cJSON_PrintUnformatted(args);
                tc[i].arguments = l4h_xstrdup(p ? p : "{}");
                cJSON_free(p);
            } else {
                tc[i].arguments = l4h_xstrdup("{}");
            }
            i++;
        }
        *tcs = tc;
        *n_tcs = n;
    }
    return 0;
}

static int scripted_chat(void *state, const l4h_model_resolved *model, const l4h_chat_request *req,
                         l4h_permits *permits, l4h_chat_response *resp, l4h_err *err)
{
    (void)permits;
    scripted_state *st = state;
    l4h_err local;
    if (!err)
        err = &local;
    double t0 = l4h_monotonic();
    const char *name = req->model ? req->model : model->name;
    resp->request_json = llm_request_body(model, req, 0, err);
    if (!resp->request_json)
        return -1;
    resp->attempts = 1;
    const l4h_call_position *pos = &req->pos;
    if (!pos->step || !pos->agent) {
        l4h_err_set(err, L4H_EXIT_USAGE,
                    "scripted model %s: the request names no step and agent (scripted models answer by position)",
                    name);
        goto fail;
    }
    script *s = get_script(st, name, err);
    if (!s)
        goto fail;
    const cJSON *list = answer_list(s, pos, err);
    if (!list)
        goto fail;
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 1;
    if (n == 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: step %s, %s: the answer list is empty", s->path,
                    pos->step, pos->agent);
        goto fail;
    }
    int idx = pos->call < 0 ? 0 : (pos->call >= n ? n - 1 : pos->call);
    const cJSON *ans = cJSON_IsArray(list) ? cJSON_GetArrayItem(list, idx) : list;
    int64_t pt = 0, ct = 0;
    char why[600];
    if (read_usage(cJSON_GetObjectItemCaseSensitive(s->root, "usage"), &pt, &ct, why, sizeof why) < 0 ||
        (cJSON_IsObject(ans) &&
         read_usage(cJSON_GetObjectItemCaseSensitive(ans, "usage"), &pt, &ct, why, sizeof why) < 0)) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: step %s, %s: %s", s->path, pos->step, pos->agent, why);
        goto fail;
    }
    char *content;
    l4h_tool_call *tcs;
    size_t n_tcs;
    if (build_answer(s, pos, ans, &content, &tcs, &n_tcs, err) < 0)
        goto fail;
    resp->response_json = llm_response_body(name, content, tcs, n_tcs, pt, ct);
    free(content);
    llm_tool_calls_free(tcs, n_tcs);
    int truncated;
    if (llm_parse_response(resp->response_json, strlen(resp->response_json), resp, &truncated,
                               why, sizeof why) < 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "%s", why);
        goto fail;
    }
    resp->latency_s = l4h_monotonic() - t0;
    llm_log_attempt(resp,
                        "attempt=1 status=0 latency_s=%.3f result=ok wait_s=0.000 reason=scripted %s.yml step %s %s trial %d call %d -> answer %d of %d",
                        resp->latency_s, s->name, pos->step, pos->agent, pos->trial, pos->call,
                        idx + 1, n);
    return 0;
fail:
    resp->latency_s = l4h_monotonic() - t0;
    llm_log_attempt(resp, "attempt=1 status=0 latency_s=%.3f result=fail wait_s=0.000 reason=%s",
                        resp->latency_s, err->msg);
    free(resp->response_json);
    resp->response_json = l4h_xstrdup(err->msg);
    return -1;
}

static int scripted_check(void *state, const l4h_model_resolved *model, l4h_err *err)
{
    return get_script(state, model->name, err) ? 0 : -1;
}

/* Read every code_file named anywhere under node through the input source.
 * A file that cannot be read is left for the answer that names it to report. */
static void read_code_files(const script *s, const cJSON *node)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, node) {
        if (k->string && !strcmp(k->string, "code_file") && cJSON_IsString(k)) {
            char *path = l4h_path_join(s->dir, k->valuestring), *code = NULL;
            if (l4h_input_read(path, &code, NULL, NULL) == 0)
                free(code);
            free(path);
        } else if (cJSON_IsObject(k) || cJSON_IsArray(k)) {
            read_code_files(s, k);
        }
    }
}

/* The model's script and every code file it names (see llm.h). */
static int scripted_read_inputs(void *state, const l4h_model_resolved *model, l4h_err *err)
{
    script *s = get_script(state, model->name, err);
    if (!s)
        return -1;
    read_code_files(s, s->root);
    return 0;
}

const l4h_provider_ops llm_scripted_ops = {
    .name = "scripted",
    .open = scripted_open,
    .chat = scripted_chat,
    .check_model = scripted_check,
    .close = scripted_close,
    .read_inputs = scripted_read_inputs,
};
