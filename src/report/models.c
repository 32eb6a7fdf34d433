/* models.c — `llm4hep report RESULTS.h5... --models`: which versions really
 * answered each model name (alias) a campaign asked for. Every recorded call
 * of every task attempt counts: its alias (calls.model), the response's
 * "model" (served_model), system_fingerprint and the proxy's model-id header
 * (served_model_id); with the number of calls and the first and last task
 * start (UTC) that saw that version. */
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

/* One alias -> served version row. */
typedef struct served_row {
    char *alias;
    char served[128], fingerprint[64], model_id[128];
    int64_t calls;
    double first, last; /* task start, epoch seconds */
} served_row;

typedef struct served_set {
    served_row *rows;
    size_t n, cap;
    int64_t unrecorded; /* calls without any served label */
} served_set;

/* Count call c of a task started at t into s. Can't fail. */
static void served_add(served_set *s, const l4h_call_rec *c, double t)
{
    if (!c->served_model[0] && !c->system_fingerprint[0] && !c->served_model_id[0]) {
        s->unrecorded++;
        return;
    }
    const char *alias = c->model ? c->model : "";
    for (size_t i = 0; i < s->n; i++) {
        served_row *r = &s->rows[i];
        if (!strcmp(r->alias, alias) && !strcmp(r->served, c->served_model) &&
            !strcmp(r->fingerprint, c->system_fingerprint) && !strcmp(r->model_id, c->served_model_id)) {
            r->calls++;
            if (t < r->first)
                r->first = t;
            if (t > r->last)
                r->last = t;
            return;
        }
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->rows = l4h_xrealloc(s->rows, s->cap * sizeof *s->rows);
    }
    served_row *r = &s->rows[s->n++];
    memset(r, 0, sizeof *r);
    r->alias = l4h_xstrdup(alias);
    memcpy(r->served, c->served_model, sizeof r->served);
    memcpy(r->fingerprint, c->system_fingerprint, sizeof r->fingerprint);
    memcpy(r->model_id, c->served_model_id, sizeof r->model_id);
    r->calls = 1;
    r->first = r->last = t;
}

/* Alias, then first seen, then served name. */
static int row_cmp(const void *a, const void *b)
{
    const served_row *x = a, *y = b;
    int c = strcmp(x->alias, y->alias);
    if (c)
        return c;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    c = strcmp(x->served, y->served);
    return c ? c : strcmp(x->fingerprint, y->fingerprint);
}

/* Every call of every task attempt of one file into s. -1 with err. */
static int served_file(served_set *s, const char *path, l4h_err *err)
{
    l4h_results *res = NULL;
    if (report_results_open_wait(path, &res, err) < 0)
        return -1;
    for (size_t i = 0; i < res->n_tasks; i++) {
        l4h_task_rec full = {0};
        if (report_results_task_wait(res, res->tasks[i].task_id, &full, err) < 0) {
            l4h_results_free(res);
            return -1;
        }
        for (size_t k = 0; k < full.n_calls; k++)
            served_add(s, &full.calls[k], full.started_utc);
        l4h_rec_clear(&full);
    }
    l4h_results_free(res);
    return 0;
}

/* A table cell of text from a results file (which may be damaged or
 * hostile): control characters shown, never obeyed (l4h_term_visible), and
 * newlines and tabs as '?' so a row stays one line. Caller frees. */
static char *cell_text(const char *s)
{
    l4h_buf b = {0};
    l4h_term_visible(s, strlen(s), &b);
    char *t = l4h_buf_take(&b);
    if (!t)
        return l4h_xstrdup("");
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = '?';
    return t;
}

static void print_json(const served_set *s, FILE *out)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "{\"models\": [");
    for (size_t i = 0; i < s->n; i++) {
        const served_row *r = &s->rows[i];
        char first[32], last[32];
        l4h_utc_string(r->first, first);
        l4h_utc_string(r->last, last);
        l4h_buf_printf(&b, "%s\n  {\"alias\": ", i ? "," : "");
        report_json_str(&b, r->alias);
        l4h_buf_printf(&b, ", \"served_model\": ");
        report_json_str(&b, r->served);
        l4h_buf_printf(&b, ", \"system_fingerprint\": ");
        report_json_str(&b, r->fingerprint);
        l4h_buf_printf(&b, ", \"served_model_id\": ");
        report_json_str(&b, r->model_id);
        l4h_buf_printf(&b, ", \"calls\": %lld, \"first_utc\": ", (long long)r->calls);
        report_json_str(&b, first);
        l4h_buf_printf(&b, ", \"last_utc\": ");
        report_json_str(&b, last);
        l4h_buf_printf(&b, "}");
    }
    l4h_buf_printf(&b, "%s], \"calls_without_version\": %lld}\n", s->n ? "\n" : "",
                   (long long)s->unrecorded);
    fwrite(b.data, 1, b.len, out);
    l4h_buf_free(&b);
}

int l4h_report_models(char *const *paths, size_t n_paths, l4h_report_format fmt, FILE *out,
                      l4h_err *err)
{
    served_set s = {0};
    int rc = 0;
    for (size_t f = 0; f < n_paths && rc == 0; f++)
        rc = served_file(&s, paths[f], err);
    if (rc == 0) {
        if (s.n)
            qsort(s.rows, s.n, sizeof *s.rows, row_cmp);
        if (fmt == L4H_FMT_JSON) {
            print_json(&s, out);
        } else if (s.n == 0) {
            fprintf(out, "No call recorded the version that served it.\n");
            if (s.unrecorded)
                fprintf(out, "%lld calls recorded no served version (failed calls, scripted "
                             "models, or files written before llm4hep recorded it)\n",
                        (long long)s.unrecorded);
        } else {
            rtable t;
            report_table_init(&t, "lrlllrll", "alias", "versions", "served model", "fingerprint", "model id",
                    "calls", "first (UTC)", "last (UTC)", NULL);
            for (size_t i = 0; i < s.n; i++) {
                const served_row *r = &s.rows[i];
                char first[32], last[32];
                l4h_utc_string(r->first, first);
                l4h_utc_string(r->last, last);
                int same = i > 0 && !strcmp(s.rows[i - 1].alias, r->alias);
                size_t versions = 1;
                while (!same && i + versions < s.n && !strcmp(s.rows[i + versions].alias, r->alias))
                    versions++;
                const char *text[4] = {same ? "" : r->alias, r->served[0] ? r->served : "-",
                                       r->fingerprint[0] ? r->fingerprint : "-",
                                       r->model_id[0] ? r->model_id : "-"};
                char *vis[4];
                for (int k = 0; k < 4; k++)
                    vis[k] = cell_text(text[k]);
                report_table_cell(&t, "%s", vis[0]);
                if (same)
                    report_table_cell(&t, "%s", "");
                else
                    report_table_cell(&t, "%zu", versions);
                for (int k = 1; k < 4; k++)
                    report_table_cell(&t, "%s", vis[k]);
                for (int k = 0; k < 4; k++)
                    free(vis[k]);
                report_table_cell(&t, "%lld", (long long)r->calls);
                report_table_cell(&t, "%s", first);
                report_table_cell(&t, "%s", last);
            }
            fprintf(out, fmt == L4H_FMT_MARKDOWN ? "## Model versions served\n\n"
                                                 : "Model versions served (alias -> what answered)\n");
            report_table_print(&t, fmt, out);
            report_table_free(&t);
            if (s.unrecorded)
                fprintf(out, "\n%lld calls recorded no served version (failed calls, scripted "
                             "models, or files written before llm4hep recorded it)\n",
                        (long long)s.unrecorded);
        }
    }
    for (size_t i = 0; i < s.n; i++)
        free(s.rows[i].alias);
    free(s.rows);
    return rc;
}
