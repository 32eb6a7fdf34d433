/* classify.c — the rule-based error category (the original study's
 * taxonomy) and a one-line summary, from the status, the last traceback,
 * tool-call errors and the check reports. The rules are listed in check.h
 * at l4h_classify; first match wins. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_internal.h"

#define SUMMARY_MAX 300

/* Case-insensitive substring search. */
static int has(const char *s, const char *needle)
{
    if (!s)
        return 0;
    size_t n = strlen(needle);
    for (; *s; s++)
        if (!strncasecmp(s, needle, n))
            return 1;
    return 0;
}

/* One line of at most SUMMARY_MAX bytes (cut on a UTF-8 boundary),
 * newlines and tabs turned into spaces. Caller frees. */
static char *one_line(const char *s)
{
    l4h_buf b = {0};
    for (const char *p = s ? s : ""; *p && b.len < SUMMARY_MAX; p++) {
        char ch = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
        if (ch == ' ' && b.len > 0 && b.data[b.len - 1] == ' ')
            continue;
        l4h_buf_add(&b, &ch, 1);
    }
    if (b.len >= SUMMARY_MAX) {
        while (b.len > 0 && ((unsigned char)b.data[b.len - 1] & 0xC0) == 0x80)
            b.len--; /* continuation bytes of a cut character */
        if (b.len > 0 && ((unsigned char)b.data[b.len - 1] & 0xC0) == 0xC0)
            b.len--; /* its lead byte */
        b.data[b.len] = '\0';
    }
    while (b.len > 0 && b.data[b.len - 1] == ' ')
        b.data[--b.len] = '\0';
    if (!b.data)
        l4h_buf_add(&b, "", 0);
    return l4h_buf_take(&b);
}

/* The end of a Python traceback: the exception line ("KeyError: 'ph_pt'")
 * and, when present, the last frame's file and line. */
typedef struct traceback {
    char exc[512];     /* the exception line, or the last stderr line */
    char type[96];     /* "KeyError", "" when not an exception line */
    char where[160];   /* "iter_2.py line 14" or "" */
} traceback;

/* 1 when line looks like "Name: message" or "Name" with Name a dotted
 * Python identifier ending in Error/Exception/Exit/Interrupt. */
static int exception_line(const char *line, size_t len, char *type, size_t cap)
{
    size_t i = 0;
    while (i < len && (isalnum((unsigned char)line[i]) || line[i] == '_' || line[i] == '.'))
        i++;
    if (i == 0 || (i < len && line[i] != ':'))
        return 0;
    size_t start = i;
    while (start > 0 && line[start - 1] != '.')
        start--;
    size_t tl = i - start;
    static const char *const ends[] = {"Error", "Exception", "Exit", "Interrupt", "Warning"};
    int ok = 0;
    for (size_t k = 0; k < sizeof ends / sizeof ends[0]; k++) {
        size_t el = strlen(ends[k]);
        if (tl >= el && !strncmp(line + i - el, ends[k], el))
            ok = 1;
    }
    if (!ok)
        return 0;
    snprintf(type, cap, "%.*s", (int)(tl < cap ? tl : cap - 1), line + start);
    return 1;
}

static void parse_traceback(const char *err, traceback *tb)
{
    memset(tb, 0, sizeof *tb);
    if (!err)
        return;
    const char *last_exc = NULL, *last_nonempty = NULL, *last_frame = NULL;
    size_t last_exc_len = 0, last_nonempty_len = 0, last_frame_len = 0;
    int last_frame_lib = 0;
    char type[96];
    for (const char *p = err; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t k = 0;
        while (k < len && isspace((unsigned char)p[k]))
            k++;
        if (k < len) {
            last_nonempty = p;
            last_nonempty_len = len;
            if (k == 0 && !strncmp(p, "Traceback (most recent call last)", 33)) {
                last_frame = NULL; /* a new (chained) traceback: its frames count */
                last_frame_lib = 0;
            } else if (k == 0 && exception_line(p, len, type, sizeof type)) {
                last_exc = p;
                last_exc_len = len;
                snprintf(tb->type, sizeof tb->type, "%s", type);
            } else if (len - k > 6 && !strncmp(p + k, "File \"", 6)) {
                /* the last frame in the model's code, not inside a library */
                int library = 0;
                for (const char *q = p + k; q < p + len && !library; q++)
                    library = !strncmp(q, "-packages/", 10) || !strncmp(q, "/lib/python", 11) ||
                              !strncmp(q, "File \"<frozen", 14);
                if (!library || !last_frame) {
                    last_frame = p + k;
                    last_frame_len = len - k;
                    last_frame_lib = library;
                } else if (last_frame_lib) {
                    last_frame = p + k;
                    last_frame_len = len - k;
                }
            }
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    const char *line = last_exc ? last_exc : last_nonempty;
    size_t len = last_exc ? last_exc_len : last_nonempty_len;
    if (line)
        snprintf(tb->exc, sizeof tb->exc, "%.*s", (int)(len < sizeof tb->exc ? len : sizeof tb->exc - 1), line);
    if (last_exc && last_frame) {
        /* File "/workspace/generated_code/iter_2.py", line 14, in <module> */
        const char *q = last_frame + 6, *qe = memchr(q, '"', last_frame_len - 6);
        if (qe) {
            const char *base = qe;
            while (base > q && base[-1] != '/')
                base--;
            const char *ln = strstr(qe, "line ");
            int lineno = ln && ln < last_frame + last_frame_len ? atoi(ln + 5) : 0;
            if (lineno > 0)
                snprintf(tb->where, sizeof tb->where, "%.*s line %d", (int)(qe - base), base, lineno);
            else
                snprintf(tb->where, sizeof tb->where, "%.*s", (int)(qe - base), base);
        }
    }
}

static int is_file_not_found(const traceback *tb)
{
    return !strcmp(tb->type, "FileNotFoundError") || has(tb->exc, "No such file or directory") ||
           ((!strcmp(tb->type, "OSError") || !strcmp(tb->type, "IOError")) &&
            (has(tb->exc, "not found") || has(tb->exc, "unable to open file")));
}

static int is_wrong_branch(const traceback *tb)
{
    if (!strcmp(tb->type, "KeyError"))
        return 1;
    const char *m = tb->exc;
    if (has(m, "no field of name") || (has(m, "object") && (has(m, "doesn't exist") || has(m, "does not exist"))))
        return 1;
    int names_thing = has(m, "branch") || has(m, "dataset") || has(m, "column") || has(m, "field");
    int missing = has(m, "not found") || has(m, "no such") || has(m, "missing") || has(m, "unknown") ||
                  has(m, "doesn't exist") || has(m, "does not exist") || has(m, "not in");
    return names_thing && missing;
}

static const l4h_exec_rec *last_exec(const l4h_task_rec *rec, const char *kind)
{
    for (size_t i = rec->n_execs; i-- > 0;)
        if (!strcmp(rec->execs[i].kind, kind))
            return &rec->execs[i];
    return NULL;
}

static int exec_failed(const l4h_exec_rec *x)
{
    return x->exit_code != 0 || x->signal != 0 || x->timed_out;
}

/* The first line of a report without its "FAIL " prefix, then " (and
 * <others>)" when others is not NULL. Caller frees. */
static char *report_summary(const l4h_check_rec *c, const char *others)
{
    const char *r = c->report ? c->report : "";
    if (!strncmp(r, "FAIL ", 5))
        r += 5;
    const char *nl = strchr(r, '\n');
    l4h_buf b = {0};
    l4h_buf_add(&b, r, nl ? (size_t)(nl - r) : strlen(r));
    if (others)
        l4h_buf_printf(&b, " (and %s)", others);
    return l4h_buf_take(&b);
}

/* What went wrong with code that failed, as one line. */
static char *code_failure(const l4h_exec_rec *x, const traceback *tb)
{
    l4h_buf b = {0};
    if (x->timed_out)
        l4h_buf_printf(&b, "the code timed out after %.0f s", x->wall_s);
    else if (x->limit[0] && (x->signal || !tb->exc[0]))
        l4h_buf_printf(&b, "the code was stopped by the %s limit (%s %d)", x->limit,
                       x->signal ? "signal" : "exit status", x->signal ? x->signal : x->exit_code);
    else if (tb->exc[0])
        l4h_buf_printf(&b, "%s", tb->exc);
    else if (x->signal)
        l4h_buf_printf(&b, "the code was killed by signal %d", x->signal);
    else
        l4h_buf_printf(&b, "the code exited with status %d", x->exit_code);
    if (tb->where[0] && !x->timed_out)
        l4h_buf_printf(&b, " (%s, iteration %d)", tb->where, x->iteration);
    else if (!x->timed_out)
        l4h_buf_printf(&b, " (iteration %d)", x->iteration);
    return l4h_buf_take(&b);
}

static void set_result(l4h_task_rec *rec, const char *category, char *summary /* taken */)
{
    snprintf(rec->error_category, sizeof rec->error_category, "%s", category);
    char *line = one_line(summary);
    free(summary);
    if (rec->status == L4H_STATUS_FAILED_LIMIT && rec->error_summary && rec->error_summary[0]) {
        /* keep the limit the agent recorded, then the cause */
        l4h_buf b = {0};
        l4h_buf_printf(&b, "%s; %s", rec->error_summary, line);
        free(line);
        char *raw = l4h_buf_take(&b);
        line = one_line(raw);
        free(raw);
    }
    free(rec->error_summary);
    rec->error_summary = line;
}

/* For statuses that are not the model's doing: keep the agent's summary. */
static void set_infra(l4h_task_rec *rec, const char *category, const char *fallback)
{
    snprintf(rec->error_category, sizeof rec->error_category, "%s", category);
    char *line = one_line(rec->error_summary && rec->error_summary[0] ? rec->error_summary : fallback);
    free(rec->error_summary);
    rec->error_summary = line;
}

static char *dup(const char *s)
{
    return l4h_xstrdup(s ? s : "");
}

void l4h_classify(l4h_task_rec *rec)
{
    switch (rec->status) {
    case L4H_STATUS_SUCCESS:
        rec->error_category[0] = '\0';
        free(rec->error_summary);
        rec->error_summary = NULL;
        return;
    case L4H_STATUS_ERROR_API: {
        l4h_buf b = {0};
        const l4h_call_rec *c = rec->n_calls ? &rec->calls[rec->n_calls - 1] : NULL;
        if (c)
            l4h_buf_printf(&b, "%s call to %s failed (HTTP %d after %d attempts): %.200s", c->agent,
                           c->model ? c->model : "?", c->http_status, c->attempts,
                           c->response ? c->response : "");
        else
            l4h_buf_puts(&b, "a model call failed after its retries");
        set_infra(rec, "api_error", b.data);
        l4h_buf_free(&b);
        return;
    }
    case L4H_STATUS_FAILED_REQUEST: {
        /* the model's failure, told by the endpoint: keep the agent's summary
         * (which request, why) and the refusal's own words */
        set_result(rec, "api_error", dup(rec->error_summary && rec->error_summary[0]
                                             ? rec->error_summary
                                             : "an endpoint refused a request of the task"));
        return;
    }
    case L4H_STATUS_ERROR_SANDBOX:
        set_infra(rec, "other", "the sandbox could not start");
        return;
    case L4H_STATUS_ERROR_INTERNAL:
        set_infra(rec, "other", "llm4hep failed internally (the task child died)");
        return;
    case L4H_STATUS_INTERRUPTED:
        set_infra(rec, "other", "interrupted by a signal or the campaign's drain");
        return;
    default:
        break;
    }

    const l4h_exec_rec *code = last_exec(rec, "code");
    const l4h_exec_rec *tool = last_exec(rec, "tool");
    traceback tb;
    parse_traceback(code ? code->stderr_text : NULL, &tb);
    int code_failed = code && exec_failed(code);

    if (code_failed && !code->timed_out && is_file_not_found(&tb)) {
        set_result(rec, "file_not_found", code_failure(code, &tb));
        return;
    }
    if (code_failed && !code->timed_out && is_wrong_branch(&tb)) {
        set_result(rec, "wrong_branch", code_failure(code, &tb));
        return;
    }
    if (tool && tool->stderr_text && !strncmp(tool->stderr_text, "tool error:", 11)) {
        set_result(rec, "function_calling", dup(tool->stderr_text));
        return;
    }
    if (tool && tool->exit_code == 2) { /* the tool's own refusal of its arguments */
        l4h_buf b = {0};
        const char *why = tool->stdout_text && tool->stdout_text[0] ? tool->stdout_text
                                                                    : tool->stderr_text;
        l4h_buf_printf(&b, "the tool rejected its arguments: %.200s", why ? why : "");
        set_result(rec, "function_calling", l4h_buf_take(&b));
        return;
    }
    const l4h_check_rec *first_failed = NULL;
    int all_missing = 1, n_failed = 0;
    for (size_t i = 0; i < rec->n_checks; i++) {
        const l4h_check_rec *c = &rec->checks[i];
        if (c->passed)
            continue;
        n_failed++;
        if (!first_failed)
            first_failed = c;
        if (!has(c->report, "the output was not written"))
            all_missing = 0;
        const char *dq = c->report ? strstr(c->report, "data quality:") : NULL;
        if (dq && (dq == c->report || dq[-1] == '\n')) {
            const char *nl = strchr(dq, '\n');
            l4h_buf b = {0};
            l4h_buf_printf(&b, "%s: %.*s", c->check ? c->check : "check",
                           (int)(nl ? nl - dq : (long)strlen(dq)), dq);
            set_result(rec, "data_quality", l4h_buf_take(&b));
            return;
        }
    }
    if (code_failed) {
        set_result(rec, "other", code_failure(code, &tb));
        return;
    }
    if (rec->status == L4H_STATUS_FAILED_NO_CODE) {
        set_result(rec, "other", dup("no answer of the coder held code"));
        return;
    }
    if (first_failed && all_missing) {
        set_result(rec, "file_not_found", report_summary(first_failed, n_failed > 1 ? "other outputs" : NULL));
        return;
    }
    if (first_failed && code) {
        set_result(rec, "semantic", report_summary(first_failed, n_failed > 1 ? "other checks" : NULL));
        return;
    }
    if (rec->status == L4H_STATUS_FAILED_LIMIT) {
        set_result(rec, "other", dup(first_failed ? first_failed->check : "stopped by a limit"));
        return;
    }
    set_result(rec, "other", dup(first_failed ? first_failed->report : "failed without a recorded cause"));
}
