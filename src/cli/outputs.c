/* outputs.c — what `run` and `validate` leave in an output folder beside
 * the workspace copy, as the original framework's results folders held:
 * logs/<step>_validation.log (the check report), prompt_pairs/ (each prompt
 * and the answer it got) and small JSON records. Every file is written
 * through the folder's directory fd with l4h_fs_write (a new file renamed
 * over the name: a link the copied workspace holds there is replaced, never
 * written through). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "llm4hep/core.h"
#include "cli_internal.h"

/* The check report as `validate` prints it (see cli_internal.h). */
void cli_check_report(const l4h_task_rec *rec, l4h_buf *out)
{
    for (size_t i = 0; i < rec->n_checks; i++) {
        const l4h_check_rec *c = &rec->checks[i];
        const char *r = c->report ? c->report : "";
        l4h_buf_printf(out, "%s %s\n", c->passed ? "pass" : "FAIL", c->check ? c->check : "?");
        for (const char *p = r; *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            l4h_buf_printf(out, "  %.*s\n", (int)n, p);
            p += n + (nl ? 1 : 0);
            if (c->passed)
                break; /* the summary line only */
        }
    }
}

/* Write data as rel beneath dir (see cli_internal.h). */
int cli_write_file(const char *dir, const char *rel, const char *data, size_t len, l4h_err *err)
{
    int fd = l4h_fs_dir_open(dir, err);
    if (fd < 0)
        return -1;
    int rc = l4h_fs_write(fd, rel, data, len, 0644, err);
    close(fd);
    return rc;
}

/* logs/<step>_validation.log (see cli_internal.h). */
void cli_write_validation_log(const char *dir, const char *step, const char *text)
{
    char rel[256];
    snprintf(rel, sizeof rel, "logs/%s_validation.log", step);
    l4h_err err = {0};
    if (cli_write_file(dir, rel, text, strlen(text), &err) != 0)
        fprintf(stderr, "llm4hep: writing %s/%s: %s\n", dir, rel, err.msg);
}

/* A chat message's content and tool calls, as prompt_pairs/ shows them.
 * Can't fail. */
static void message_text(const cJSON *m, l4h_buf *out)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
    if (cJSON_IsString(content))
        l4h_buf_printf(out, "%s\n", content->valuestring);
    if (calls) {
        char *t = cJSON_PrintUnformatted(calls);
        l4h_buf_printf(out, "tool_calls: %s\n", t ? t : "");
        free(t);
    }
}

/* A chat request's messages as text: "### role" then the content (tool
 * calls and tool results as their JSON). The raw body when it is not JSON. */
static void request_text(const char *request, l4h_buf *out)
{
    cJSON *j = request ? cJSON_Parse(request) : NULL;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    if (!cJSON_IsArray(msgs)) {
        l4h_buf_puts(out, request ? request : "");
        cJSON_Delete(j);
        return;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        l4h_buf_printf(out, "### %s\n", cJSON_IsString(role) ? role->valuestring : "?");
        message_text(m, out);
        l4h_buf_puts(out, "\n");
    }
    cJSON_Delete(j);
}

/* The answer of a chat response: the message's content and tool calls; the
 * raw body when it is not a chat completion (an error). */
static void answer_text(const char *response, l4h_buf *out)
{
    cJSON *j = response ? cJSON_Parse(response) : NULL;
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(ch, "message");
    if (!cJSON_IsObject(m)) {
        l4h_buf_puts(out, response ? response : "");
        cJSON_Delete(j);
        return;
    }
    message_text(m, out);
    cJSON_Delete(j);
}

/* prompt_pairs/ (see cli_internal.h). */
int cli_write_prompt_pairs(const char *dir, const l4h_task_rec *rec, l4h_err *err)
{
    int fd = l4h_fs_dir_open(dir, err);
    if (fd < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < rec->n_calls; i++) {
        const l4h_call_rec *c = &rec->calls[i];
        char rel[128];
        l4h_buf b = {0};
        request_text(c->request, &b);
        snprintf(rel, sizeof rel, "prompt_pairs/%02zu_%s_iter%d_prompt.txt", i + 1, c->agent,
                 c->iteration);
        rc = l4h_fs_write(fd, rel, b.data ? b.data : "", b.len, 0644, err);
        b.len = 0;
        answer_text(c->response, &b);
        snprintf(rel, sizeof rel, "prompt_pairs/%02zu_%s_iter%d_answer.txt", i + 1, c->agent,
                 c->iteration);
        if (rc == 0)
            rc = l4h_fs_write(fd, rel, b.data ? b.data : "", b.len, 0644, err);
        l4h_buf_free(&b);
    }
    close(fd);
    return rc;
}

/* Comparison plots and the line saying where they are (see cli_internal.h). */
void cli_compare_plots_report(const l4h_suite *suite, const l4h_step *step, const char *dir,
                              FILE *fp)
{
    l4h_err err = {0};
    int n = cli_compare_plots(suite, step, dir, &err);
    if (n < 0)
        fprintf(stderr, "llm4hep: %s\n", err.msg);
    if (n > 0)
        fprintf(fp, "comparison plots (candidate vs reference, per column): %s/plots/validation/\n",
                dir);
    fflush(fp);
}

/* The worse of two exit codes (see cli_internal.h). */
int cli_worse_exit(int a, int b)
{
    return a == L4H_EXIT_INFRA || b == L4H_EXIT_INFRA ? L4H_EXIT_INFRA
           : a == L4H_EXIT_FAILED || b == L4H_EXIT_FAILED ? L4H_EXIT_FAILED
                                                          : L4H_EXIT_OK;
}
