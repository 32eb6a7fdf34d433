/* annotator.c — asking a model about a finished task (`errors --llm`,
 * `explain`): the prompt file as the system message, the task's transcript
 * as the user message, position agent "annotator" so scripted models and
 * the test server can answer; and reading a category out of the answer. */
#include <ctype.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/llm.h"
#include "report_internal.h"

#define TRANSCRIPT_MAX (120u * 1024) /* longer transcripts keep their head and tail */
#define HEAD_KEEP (40u * 1024)

/* Where the annotator prompts are read from: $LLM4HEP_PROMPTS_DIR/<name>
 * when set, else the source tree's prompts/<name>. Caller frees. */
static char *prompt_path(const char *name)
{
    const char *dir = getenv("LLM4HEP_PROMPTS_DIR");
    if (dir && *dir)
        return l4h_path_join(dir, name);
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s/prompts/%s", LLM4HEP_SOURCE_DIR, name);
    return l4h_buf_take(&b);
}

int report_annotator_prompt(const char *path, const char *default_name, char **text, l4h_err *err)
{
    char *p = path ? l4h_xstrdup(path) : prompt_path(default_name);
    int rc = l4h_read_file(p, text, NULL, err);
    if (rc != 0)
        l4h_err_prefix(err, "annotator prompt%s", path ? " (--prompt)" : " (set LLM4HEP_PROMPTS_DIR)");
    free(p);
    return rc;
}

int report_annotator_client(const char *config_path, const char *model, l4h_config **cfg,
                     struct l4h_llm **llm, l4h_err *err)
{
    *cfg = NULL;
    *llm = NULL;
    if (l4h_config_load(config_path, cfg, err) != 0)
        return -1;
    l4h_model_resolved mr;
    if (l4h_config_model(*cfg, model, &mr, err) != 0)
        return l4h_err_prefix(err, "--llm %s", model);
    *llm = l4h_llm_new(*cfg, NULL, err);
    return *llm ? 0 : -1;
}

void report_cost_text(double usd, char *out, size_t n)
{
    if (isnan(usd))
        snprintf(out, n, "cost unknown (no price for the model)");
    else
        snprintf(out, n, "$%.4f", usd);
}

/* Start of the line holding s[i] (or the next line start after it). */
static size_t line_start_after(const char *s, size_t i)
{
    const char *nl = strchr(s + i, '\n');
    return nl ? (size_t)(nl - s) + 1 : i;
}

/* Cut a long transcript in the middle at line boundaries, saying so. */
static void cap(l4h_buf *t)
{
    if (t->len <= TRANSCRIPT_MAX)
        return;
    size_t head = line_start_after(t->data, HEAD_KEEP);
    size_t tail = line_start_after(t->data, t->len - (TRANSCRIPT_MAX - HEAD_KEEP));
    if (tail <= head)
        return;
    l4h_buf b = {0};
    l4h_buf_add(&b, t->data, head);
    l4h_buf_printf(&b, "\n[... %zu bytes of the transcript left out here ...]\n\n", tail - head);
    l4h_buf_add(&b, t->data + tail, t->len - tail);
    l4h_buf_free(t);
    *t = b;
}

int report_annotator_ask(struct l4h_llm *llm, const l4h_results *res, int64_t task_id, const char *model,
                  const char *prompt, int call, char **answer, int64_t *tokens, double *cost,
                  l4h_err *err)
{
    *answer = NULL;
    l4h_buf tr = {0};
    l4h_buf_printf(&tr, "The transcript of the task follows.\n\n");
    if (report_transcript(res, task_id, &tr, err) != 0) {
        l4h_buf_free(&tr);
        return -1;
    }
    cap(&tr);
    const l4h_task_rec *t = &res->tasks[task_id - 1];
    l4h_message msgs[2];
    memset(msgs, 0, sizeof msgs);
    snprintf(msgs[0].role, sizeof msgs[0].role, "system");
    msgs[0].content = (char *)prompt;
    snprintf(msgs[1].role, sizeof msgs[1].role, "user");
    msgs[1].content = tr.data;
    l4h_chat_request req = {.model = model, .messages = msgs, .n_messages = 2};
    req.pos = (l4h_call_position){.supervisor = t->supervisor, .coder = t->coder, .step = t->step,
                                  .trial = t->trial, .agent = "annotator", .call = call};
    l4h_chat_response resp = {0};
    int rc = l4h_llm_chat(llm, &req, &resp, err);
    l4h_buf_free(&tr);
    if (tokens)
        *tokens = l4h_add_sat_i64(*tokens, resp.prompt_tokens + resp.completion_tokens);
    if (cost)
        *cost += resp.cost_usd; /* NaN (no price) stays NaN: the total is unknown */
    if (rc == 0) {
        if (resp.content && *resp.content)
            *answer = l4h_xstrdup(resp.content);
        else
            rc = l4h_err_set(err, L4H_EXIT_INFRA, "model %s gave an empty answer about task %lld",
                             model, (long long)task_id);
    } else {
        l4h_err_prefix(err, "model %s, task %lld", model, (long long)task_id);
    }
    l4h_chat_response_clear(&resp);
    return rc;
}

/* Position of taxonomy name cat in s (any case; '_' also matched by ' ' or
 * '-'), as a whole word; -1 when absent. */
static long find_word(const char *s, const char *cat)
{
    size_t n = strlen(cat);
    for (const char *p = s; *p; p++) {
        size_t i = 0;
        for (; i < n && p[i]; i++) {
            char a = (char)tolower((unsigned char)p[i]), c = cat[i];
            if (!(a == c || (c == '_' && (a == ' ' || a == '-'))))
                break;
        }
        if (i == n && (p == s || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]) &&
            p[n] != '_')
            return (long)(p - s);
    }
    return -1;
}

const char *report_category_parse(const char *answer)
{
    if (!answer)
        return "other";
    /* a "CATEGORY:" line wins (markdown bold, quotes and backticks allowed around it) */
    for (const char *p = answer; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[512];
        size_t k = 0;
        for (size_t i = 0; i < len && k < sizeof line - 1; i++)
            if (!strchr("*`\"'#>_", p[i]) || (p[i] == '_' && k && isalpha((unsigned char)line[k - 1])))
                line[k++] = (char)tolower((unsigned char)p[i]);
        line[k] = '\0';
        char *c = line;
        while (*c == ' ' || *c == '-')
            c++;
        if (!strncmp(c, "category", 8)) {
            c += 8;
            while (*c == ' ')
                c++;
            if (*c == ':') {
                long best = -1;
                const char *found = NULL;
                for (int i = 0; i < L4H_N_CATEGORIES; i++) {
                    long at = find_word(c, l4h_categories[i]);
                    if (at >= 0 && (best < 0 || at < best)) {
                        best = at;
                        found = l4h_categories[i];
                    }
                }
                if (found)
                    return found;
            }
        }
        p += len + (e ? 1 : 0);
    }
    long best = -1;
    const char *found = "other";
    for (int i = 0; i < L4H_N_CATEGORIES; i++) {
        long at = find_word(answer, l4h_categories[i]);
        if (at >= 0 && (best < 0 || at < best)) {
            best = at;
            found = l4h_categories[i];
        }
    }
    return found;
}
