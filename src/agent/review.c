/* review.c — what the supervisor is told about one iteration: the code, how
 * it ran, what it printed and the files it left, tool calls, notes. */
#include <stdlib.h>
#include <string.h>

#include "llm4hep/agent.h"

#define MAX_FILES_LISTED 100
#define MAX_TEXT_NO_CODE 8000

/* Append text inside a fence that the text itself cannot close. */
static void fenced(l4h_buf *b, const char *tag, const char *text)
{
    size_t run = 0, longest = 0;
    for (const char *p = text; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    size_t n = longest >= 3 ? longest + 1 : 3;
    for (size_t i = 0; i < n; i++)
        l4h_buf_puts(b, "`");
    l4h_buf_printf(b, "%s\n%s", tag, text);
    if (!*text || text[strlen(text) - 1] != '\n')
        l4h_buf_puts(b, "\n");
    for (size_t i = 0; i < n; i++)
        l4h_buf_puts(b, "`");
    l4h_buf_puts(b, "\n");
}

static void output(l4h_buf *b, const char *name, const char *text)
{
    if (!text || !*text) {
        l4h_buf_printf(b, "%s: (empty)\n", name);
        return;
    }
    l4h_buf_printf(b, "%s:\n", name);
    fenced(b, "", text);
}

/* How the run ended, in one sentence. */
static void outcome(l4h_buf *b, const l4h_exec_result *r)
{
    if (r->timed_out || !strcmp(r->limit, "time"))
        l4h_buf_printf(b, "It was stopped by the time limit after %.1f s", r->wall_s);
    else if (r->limit[0])
        l4h_buf_printf(b, "It was stopped by the %s limit after %.2f s (exit code %d, signal %d)",
                       r->limit, r->wall_s, r->exit_code, r->signal);
    else if (r->exit_code == -1 || r->signal)
        l4h_buf_printf(b, "It was killed by signal %d after %.2f s", r->signal, r->wall_s);
    else
        l4h_buf_printf(b, "It ran with exit code %d in %.2f s", r->exit_code, r->wall_s);
    l4h_buf_printf(b, " (max RSS %.1f MB).\n\n", (double)r->max_rss_kb / 1024.0);
}

/* The supervisor's review message for one iteration. Caller frees. Can't fail. */
char *l4h_review_text(const l4h_iteration_report *r)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "Iteration %d.\n\n", r->iteration);
    if (r->tools_text && *r->tools_text)
        l4h_buf_printf(&b, "The coder called tools:\n%s\n", r->tools_text);
    if (!r->code) {
        l4h_buf_printf(&b, "The coder's answer held no code (%s), so nothing ran.",
                       r->code_note ? r->code_note : "no fenced code block");
        const char *t = r->coder_text ? r->coder_text : "";
        size_t n = strlen(t);
        if (n == 0) {
            l4h_buf_puts(&b, " The answer was empty.\n");
        } else {
            l4h_buf_puts(&b, " The answer was:\n\n");
            if (n > MAX_TEXT_NO_CODE) {
                l4h_buf_add(&b, t, MAX_TEXT_NO_CODE);
                l4h_buf_printf(&b, "\n[... %zu more characters not shown ...]\n", n - MAX_TEXT_NO_CODE);
            } else {
                l4h_buf_printf(&b, "%s\n", t);
            }
        }
    } else {
        l4h_buf_printf(&b, "The code (generated_code/iter_%d.py; %s):\n", r->iteration,
                       r->code_note ? r->code_note : "extracted from the answer");
        fenced(&b, "python", r->code);
        l4h_buf_puts(&b, "\n");
        if (!r->res) {
            l4h_buf_puts(&b, "It did not run.\n");
        } else {
            outcome(&b, r->res);
            output(&b, "stdout", r->res->stdout_text);
            output(&b, "stderr", r->res->stderr_text);
            if (r->res->truncated)
                l4h_buf_puts(&b, "(the output was cut to its head and tail)\n");
            l4h_buf_puts(&b, "\nFiles in the workspace after the run:\n");
            size_t n = r->res->n_files;
            if (n == 0)
                l4h_buf_puts(&b, "  (none)\n");
            for (size_t i = 0; i < n && i < MAX_FILES_LISTED; i++)
                l4h_buf_printf(&b, "  %s  %lld bytes\n", r->res->files[i].path,
                               (long long)r->res->files[i].size);
            if (n > MAX_FILES_LISTED)
                l4h_buf_printf(&b, "  ... and %zu more\n", n - MAX_FILES_LISTED);
        }
    }
    if (r->notes && *r->notes)
        l4h_buf_printf(&b, "\nNote: %s\n", r->notes);
    return l4h_buf_take(&b);
}
