/* review.c — what the supervisor is told about one iteration: the code, how
 * it ran, what it printed and the files it left, tool calls, notes.
 *
 * Everything here but our own sentences comes from the model or its code
 * and is hostile: each piece is cut to its head and tail (marked) so that
 * one of them cannot crowd out the others, file names are shown on one line
 * with their control bytes visible (a name cannot forge a line of the
 * review), and the whole text is valid UTF-8. The request as a whole is cut
 * to the model's context when it is sent (agent.h, "Context"). */
#include <stdlib.h>
#include <string.h>

#include "llm4hep/agent.h"
#include "agent_internal.h"

#define MAX_FILES_LISTED 100
#define MAX_NAME_SHOWN 256          /* bytes of one file name */
#define MAX_TEXT_NO_CODE 8000       /* an answer without code */
#define MAX_CODE_SHOWN (48 << 10)   /* the code of the iteration */
#define MAX_OUTPUT_SHOWN (64 << 10) /* stdout, stderr, each */
#define MAX_TOOLS_SHOWN (16 << 10)  /* the tool calls of the iteration */
#define MIN_PIECE 512               /* no piece is cut below this for a small budget */

/* The bytes a piece may take: its fixed cap, or with a review budget its
 * share (in percent) of it, whichever is smaller, but never below MIN_PIECE. */
static size_t cap(const l4h_iteration_report *r, size_t fixed, unsigned percent)
{
    if (!r->budget)
        return fixed;
    size_t share = r->budget / 100 * percent;
    if (share < MIN_PIECE)
        share = MIN_PIECE;
    return share < fixed ? share : fixed;
}

/* Append s cut to max bytes (head and tail, marked) and cleaned. */
static void add_piece(l4h_buf *b, const char *s, size_t max, const char *what, unsigned flags)
{
    char *clean = l4h_text_clean(s, s ? strlen(s) : 0, flags);
    char *cut = l4h_text_head_tail(clean, max, what, flags);
    l4h_buf_puts(b, cut);
    free(cut);
    free(clean);
}

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

/* A text inside a fence, cut to max bytes and cleaned first. */
static void fenced_piece(l4h_buf *b, const char *tag, const char *text, size_t max, const char *what)
{
    l4h_buf piece = {0};
    add_piece(&piece, text, max, what, 0);
    fenced(b, tag, piece.data);
    l4h_buf_free(&piece);
}

static void output(l4h_buf *b, const char *name, const char *text, size_t max)
{
    if (!text || !*text) {
        l4h_buf_printf(b, "%s: (empty)\n", name);
        return;
    }
    l4h_buf_printf(b, "%s:\n", name);
    fenced_piece(b, "", text, max, name);
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
char *agent_review_text(const l4h_iteration_report *r)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "Iteration %d.\n\n", r->iteration);
    if (r->tools_text && *r->tools_text) {
        l4h_buf_puts(&b, "The coder called tools:\n");
        add_piece(&b, r->tools_text, cap(r, MAX_TOOLS_SHOWN, 15), "the tool calls", 0);
        l4h_buf_puts(&b, "\n");
    }
    if (!r->code) {
        l4h_buf_printf(&b, "The coder's answer held no code (%s), so nothing ran.",
                       r->code_note ? r->code_note : "no fenced code block");
        const char *t = r->coder_text ? r->coder_text : "";
        size_t n = strlen(t);
        if (n == 0) {
            l4h_buf_puts(&b, " The answer was empty.\n");
        } else {
            l4h_buf_puts(&b, " The answer was:\n\n");
            add_piece(&b, t, cap(r, MAX_TEXT_NO_CODE, 60), "the answer", 0);
            l4h_buf_puts(&b, "\n");
        }
    } else {
        l4h_buf_printf(&b, "The code (generated_code/iter_%d.py; %s):\n", r->iteration,
                       r->code_note ? r->code_note : "extracted from the answer");
        fenced_piece(&b, "python", r->code, cap(r, MAX_CODE_SHOWN, 35), "the code");
        l4h_buf_puts(&b, "\n");
        if (!r->res) {
            l4h_buf_puts(&b, "It did not run.\n");
        } else {
            outcome(&b, r->res);
            output(&b, "stdout", r->res->stdout_text, cap(r, MAX_OUTPUT_SHOWN, 30));
            output(&b, "stderr", r->res->stderr_text, cap(r, MAX_OUTPUT_SHOWN, 30));
            if (r->res->truncated)
                l4h_buf_puts(&b, "(the output was cut to its head and tail)\n");
            l4h_buf_puts(&b, "\nFiles in the workspace after the run:\n");
            size_t n = r->res->n_files, shown = 0;
            size_t listing_max = cap(r, MAX_FILES_LISTED * (MAX_NAME_SHOWN + 32), 20);
            size_t listing_start = b.len;
            if (n == 0)
                l4h_buf_puts(&b, "  (none)\n");
            for (; shown < n && shown < MAX_FILES_LISTED && b.len - listing_start < listing_max;
                 shown++) {
                /* a name the code chose: one line, visible bytes, bounded */
                l4h_buf_puts(&b, "  ");
                add_piece(&b, r->res->files[shown].path, MAX_NAME_SHOWN, "the name",
                          L4H_TEXT_ONE_LINE);
                l4h_buf_printf(&b, "  %lld bytes\n", (long long)r->res->files[shown].size);
            }
            if (n > shown)
                l4h_buf_printf(&b, "  ... and %zu more\n", n - shown);
        }
    }
    if (r->notes && *r->notes)
        l4h_buf_printf(&b, "\nNote: %s\n", r->notes);
    return l4h_buf_take(&b);
}
