/* errors.c — `llm4hep errors`: error categories of the final failures by
 * model and step, from the rule-based column and from each annotation
 * source; `--llm` asks a model to categorise every failure again and stores
 * its answers as annotations (never touching the rule-based column);
 * `explain` asks a model why one task — or every failed one, or every one —
 * went as it did (stored as annotations too when it covers many). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "llm4hep/llm.h"
#include "report_internal.h"

static int category_index(const char *c)
{
    for (int i = 0; i < L4H_N_CATEGORIES; i++)
        if (!strcmp(c, l4h_categories[i]))
            return i;
    return -1; /* "" or unknown: uncategorised */
}

/* Counts [model][step][category + uncategorised] for one source. */
typedef struct counts {
    char *source;
    int64_t *n;  /* (nm * ns) * (L4H_N_CATEGORIES + 2): ..., uncategorised, failures */
} counts;

#define NC (L4H_N_CATEGORIES + 2)

static void count(counts *c, size_t cell, const char *category)
{
    int i = category_index(category);
    c->n[cell * NC + (i < 0 ? L4H_N_CATEGORIES : (size_t)i)]++;
    c->n[cell * NC + L4H_N_CATEGORIES + 1]++;
}

static void print_counts(const counts *c, char **models, size_t nm, char **steps, size_t ns,
                         l4h_report_format fmt, FILE *out)
{
    rtable t;
    const char *heads[3 + L4H_N_CATEGORIES + 1] = {"model", "step", "failures"};
    char align[sizeof heads / sizeof *heads + 1] = "llr";
    for (int i = 0; i < L4H_N_CATEGORIES; i++)
        heads[3 + i] = l4h_categories[i];
    heads[3 + L4H_N_CATEGORIES] = "uncategorised";
    memset(align + 3, 'r', L4H_N_CATEGORIES + 1);
    align[sizeof align - 1] = '\0';
    report_table_init_v(&t, align, heads);
    int64_t tot[NC] = {0};
    for (size_t m = 0; m < nm; m++)
        for (size_t s = 0; s < ns; s++) {
            const int64_t *v = &c->n[(m * ns + s) * NC];
            if (!v[NC - 1])
                continue;
            report_table_cell(&t, "%s", models[m]);
            report_table_cell(&t, "%s", steps[s]);
            report_table_cell(&t, "%lld", (long long)v[NC - 1]);
            for (int i = 0; i < NC - 1; i++) {
                report_table_cell(&t, "%lld", (long long)v[i]);
                tot[i] += v[i];
            }
            tot[NC - 1] += v[NC - 1];
        }
    report_table_cell(&t, "(all)");
    report_table_cell(&t, "(all)");
    report_table_cell(&t, "%lld", (long long)tot[NC - 1]);
    for (int i = 0; i < NC - 1; i++)
        report_table_cell(&t, "%lld", (long long)tot[i]);
    const char *what = strcmp(c->source, "rules") ? c->source : "rules (the error_category column)";
    if (fmt == L4H_FMT_MARKDOWN) {
        fputs("\n## Error categories: ", out);
        report_md_puts(what, out);
        fputs("\n\n", out);
    } else
        fprintf(out, "\nError categories of the final failures: %s\n", what);
    report_table_print(&t, fmt, out);
    report_table_free(&t);
}

static void json_counts(l4h_buf *b, const counts *c, char **models, size_t nm, char **steps,
                        size_t ns, int first)
{
    l4h_buf_puts(b, first ? "\n    {\"source\": " : ",\n    {\"source\": ");
    report_json_str(b, c->source);
    l4h_buf_puts(b, ", \"counts\": [");
    int f = 1;
    for (size_t m = 0; m < nm; m++)
        for (size_t s = 0; s < ns; s++) {
            const int64_t *v = &c->n[(m * ns + s) * NC];
            if (!v[NC - 1])
                continue;
            l4h_buf_puts(b, f ? "\n      {\"model\": " : ",\n      {\"model\": ");
            f = 0;
            report_json_str(b, models[m]);
            l4h_buf_puts(b, ", \"step\": ");
            report_json_str(b, steps[s]);
            l4h_buf_printf(b, ", \"failures\": %lld", (long long)v[NC - 1]);
            for (int i = 0; i < L4H_N_CATEGORIES; i++)
                l4h_buf_printf(b, ", \"%s\": %lld", l4h_categories[i], (long long)v[i]);
            l4h_buf_printf(b, ", \"uncategorised\": %lld}", (long long)v[L4H_N_CATEGORIES]);
        }
    l4h_buf_puts(b, "]}");
}

/* A file's annotations ordered by task, then by their order in the file
 * (so the last of a source is its newest). */
typedef struct ann_index {
    struct ann_entry {
        int64_t task_id;
        size_t pos;
    } *e;
    size_t n;
} ann_index;

static int ann_cmp(const void *x, const void *y)
{
    const struct ann_entry *a = x, *b = y;
    if (a->task_id != b->task_id)
        return a->task_id < b->task_id ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static void index_annotations(const l4h_results *res, ann_index *ix)
{
    ix->n = res->n_annotations;
    ix->e = l4h_xcalloc(ix->n ? ix->n : 1, sizeof *ix->e);
    for (size_t i = 0; i < ix->n; i++)
        ix->e[i] = (struct ann_entry){res->annotations[i].task_id, i};
    qsort(ix->e, ix->n, sizeof *ix->e, ann_cmp);
}

int l4h_errors_print(char *const *paths, size_t n_paths, l4h_report_format fmt, FILE *out,
                     l4h_err *err)
{
    rowset rs;
    if (report_rowset_open(&rs, paths, n_paths, err) != 0)
        return -1;
    char **models = NULL, **steps = NULL;
    size_t nm = 0, ns = 0;
    size_t *rm = l4h_xcalloc(rs.n_rows ? rs.n_rows : 1, sizeof *rm);
    size_t *rsx = l4h_xcalloc(rs.n_rows ? rs.n_rows : 1, sizeof *rsx);
    char label[300];
    for (size_t i = 0; i < rs.n_rows; i++) {
        report_model_label(rs.rows[i]->supervisor, rs.rows[i]->coder, label, sizeof label);
        rm[i] = report_intern(&models, &nm, label);
        rsx[i] = report_intern(&steps, &ns, rs.rows[i]->step);
    }
    size_t cells = nm * ns > 0 ? nm * ns : 1;
    ann_index *idx = l4h_xcalloc(rs.n_files ? rs.n_files : 1, sizeof *idx);
    for (size_t f = 0; f < rs.n_files; f++)
        index_annotations(rs.files[f], &idx[f]);
    counts *src = l4h_xcalloc(1, sizeof *src);
    size_t n_src = 1;
    src[0].source = l4h_xstrdup("rules");
    src[0].n = l4h_xcalloc(cells * NC, sizeof(int64_t));
    for (size_t i = 0; i < rs.n_rows; i++) {
        const l4h_task_rec *t = rs.rows[i];
        if (t->status == L4H_STATUS_SUCCESS)
            continue;
        size_t cell = rm[i] * ns + rsx[i];
        count(&src[0], cell, t->error_category);
        /* annotations of this task, the newest per source */
        const ann_index *ix = &idx[rs.row_file[i]];
        const l4h_results *res = rs.files[rs.row_file[i]];
        size_t lo = 0, hi = ix->n;
        while (lo < hi) { /* first entry of this task */
            size_t mid = (lo + hi) / 2;
            if (ix->e[mid].task_id < t->task_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = lo;
        while (end < ix->n && ix->e[end].task_id == t->task_id)
            end++;
        for (size_t a = lo; a < end; a++) {
            const l4h_annotation *an = &res->annotations[ix->e[a].pos];
            int newer = 0;
            for (size_t b = a + 1; b < end; b++)
                newer |= !strcmp(res->annotations[ix->e[b].pos].source, an->source);
            if (newer)
                continue;
            size_t k = 1;
            while (k < n_src && strcmp(src[k].source, an->source))
                k++;
            if (k == n_src) {
                src = l4h_xrealloc(src, ++n_src * sizeof *src);
                src[k].source = l4h_xstrdup(an->source);
                src[k].n = l4h_xcalloc(cells * NC, sizeof(int64_t));
            }
            count(&src[k], cell, an->error_category);
        }
    }
    if (fmt == L4H_FMT_JSON) {
        l4h_buf b = {0};
        l4h_buf_printf(&b, "{\n  \"final_tasks\": %zu,\n  \"sources\": [", rs.n_rows);
        for (size_t k = 0; k < n_src; k++)
            json_counts(&b, &src[k], models, nm, steps, ns, k == 0);
        l4h_buf_puts(&b, "\n  ]\n}\n");
        fputs(b.data, out);
        l4h_buf_free(&b);
    } else {
        fprintf(out, "%zu final task(s) in %zu file(s); failures of every status but success "
                     "(infrastructure ones included)\n", rs.n_rows, rs.n_files);
        for (size_t k = 0; k < n_src; k++)
            print_counts(&src[k], models, nm, steps, ns, fmt, out);
    }
    for (size_t k = 0; k < n_src; k++) {
        free(src[k].source);
        free(src[k].n);
    }
    free(src);
    for (size_t i = 0; i < nm; i++)
        free(models[i]);
    for (size_t i = 0; i < ns; i++)
        free(steps[i]);
    free(models);
    free(steps);
    free(rm);
    free(rsx);
    for (size_t f = 0; f < rs.n_files; f++)
        free(idx[f].e);
    free(idx);
    report_rowset_free(&rs);
    return 0;
}

/* Refuse (code 2) before spending anything when a campaign holds path's
 * lock or the file has no journal to record annotations in. (The store
 * checks again when it writes.) */
static int can_annotate(const char *path, const char *verb, l4h_err *err)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s.journal", path);
    if (access(b.data, F_OK) != 0) {
        l4h_err_set(err, L4H_EXIT_USAGE,
                    "%s has no journal beside it (%s): annotations go to the journal too, so "
                    "`%s` needs the campaign's output with its journal", path, b.data,
                    !strcmp(verb, "errors") ? "errors --llm" : "explain --failed/--all");
        l4h_buf_free(&b);
        return -1;
    }
    l4h_buf_free(&b);
    l4h_buf_printf(&b, "%s.lock", path);
    int fd = open(b.data, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if (fd >= 0) {
        if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
            char holder[256] = "";
            ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
            holder[n > 0 ? n : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
            rc = l4h_err_set(err, L4H_EXIT_USAGE,
                             "%s is held by a running campaign (%s); `%s` refused — "
                             "run it when the campaign has finished", path,
                             holder[0] ? holder : "holder unknown",
                             !strcmp(verb, "errors") ? "errors --llm" : "explain");
        }
        close(fd);
    }
    l4h_buf_free(&b);
    return rc;
}

static int annotated(const l4h_results *res, int64_t task_id, const char *source)
{
    for (size_t i = 0; i < res->n_annotations; i++)
        if (res->annotations[i].task_id == task_id && !strcmp(res->annotations[i].source, source))
            return 1;
    return 0;
}

/* What one annotating verb asks and stores (`errors --llm`, `explain --failed/--all`). */
typedef struct annotate_kind {
    const char *verb;          /* for messages: "errors" or "explain" */
    const char *prompt_name;   /* the default prompt */
    const char *source_prefix; /* the /annotations source: "<prefix>:<model>" */
    int call;                  /* the request's position: call 0 or 1 */
    int all;                   /* every final task, not only the model's failures */
    const char *done;          /* "categorised" or "explained" */
} annotate_kind;

/* The tasks a kind asks about: final rows; the model's failures (failed_*)
 * unless kind->all. */
static int selected(const annotate_kind *kind, const l4h_task_rec *t)
{
    if (!t->final)
        return 0;
    return kind->all || (t->status != L4H_STATUS_SUCCESS && !l4h_status_is_infra(t->status));
}

/* The first line of text, at most max bytes, for a progress line. */
static void first_line(const char *text, char *out, size_t max)
{
    while (*text == '\n' || *text == ' ')
        text++;
    size_t n = strcspn(text, "\n");
    if (n >= max)
        n = max - 4;
    snprintf(out, max, "%.*s%s", (int)n, text, text[n] && text[n] != '\n' ? "..." : "");
}

/* Ask MODEL about every selected task not yet annotated by its source, store
 * each answer with l4h_store_annotate (a category parsed from it for a
 * failure, none for a success) and print a line per task. Resumable: a rerun
 * asks only about the rest. Returns 0, or -1 when something was refused
 * (code 2), the store failed, or some task could not be asked (code of the
 * last failure; the others are kept). */
static int annotate_tasks(const char *path, const char *model, const char *config_path,
                          const char *prompt_path, const annotate_kind *kind, FILE *out,
                          l4h_err *err)
{
    l4h_results *res = NULL;
    l4h_config *cfg = NULL;
    l4h_llm *llm = NULL;
    char *prompt = NULL;
    int rc = -1;
    if (report_results_open_wait(path, &res, err) != 0)
        return -1;
    if (can_annotate(path, kind->verb, err) != 0 ||
        report_annotator_prompt(prompt_path, kind->prompt_name, &prompt, err) != 0 ||
        report_annotator_client(config_path, model, &cfg, &llm, err) != 0)
        goto out;
    l4h_buf source = {0};
    l4h_buf_printf(&source, "%s:%s", kind->source_prefix, model);
    size_t asked = 0, skipped = 0, failed = 0;
    int64_t tokens = 0;
    double cost = 0;
    l4h_err last = {0};
    for (size_t i = 0; i < res->n_tasks; i++) {
        const l4h_task_rec *t = &res->tasks[i];
        if (!selected(kind, t))
            continue;
        if (annotated(res, t->task_id, source.data)) {
            skipped++;
            continue;
        }
        char *ans = NULL;
        l4h_err e = {0};
        if (report_annotator_ask(llm, res, t->task_id, model, prompt, kind->call, &ans, &tokens, &cost,
                          &e) != 0) {
            fprintf(stderr, "llm4hep %s: task %lld: %s\n", kind->verb, (long long)t->task_id,
                    e.msg);
            last = e;
            failed++;
            continue;
        }
        l4h_annotation a = {.task_id = t->task_id, .source = source.data, .text = ans};
        if (t->status != L4H_STATUS_SUCCESS)
            snprintf(a.error_category, sizeof a.error_category, "%s", report_category_parse(ans));
        l4h_err se = {0};
        int arc = l4h_store_annotate(path, &a, &se);
        if (arc != 0) { /* a campaign took the file, or it cannot be written: stop */
            free(ans);
            *err = se;
            l4h_buf_free(&source);
            goto out;
        }
        asked++;
        char line[120];
        first_line(ans, line, sizeof line);
        fprintf(out, "task %lld %s/%s/%s/%d: %s, rules %s, %s %s: %s\n", (long long)t->task_id,
                t->supervisor, t->coder, t->step, t->trial, l4h_status_name(t->status),
                t->error_category[0] ? t->error_category : "-", source.data,
                a.error_category[0] ? a.error_category : "-", line);
        fflush(out);
        free(ans);
    }
    char ct[64];
    report_cost_text(cost, ct, sizeof ct);
    fprintf(out, "%zu task(s) %s by %s, %zu already annotated by it (skipped), %zu failed; "
                 "%lld tokens, %s\n", asked, kind->done, source.data, skipped, failed,
            (long long)tokens, ct);
    l4h_buf_free(&source);
    if (failed) {
        l4h_err_set(err, last.code ? last.code : L4H_EXIT_INFRA,
                    "%zu task(s) could not be %s (last: %s); run again to retry them", failed,
                    kind->done, last.msg);
        goto out;
    }
    rc = 0;
out:
    free(prompt);
    l4h_llm_free(llm);
    l4h_config_free(cfg);
    l4h_results_free(res);
    return rc;
}

int l4h_errors_llm(const char *path, const char *model, const char *config_path,
                   const char *prompt_path, FILE *out, l4h_err *err)
{
    static const annotate_kind kind = {"errors", "error_analysis.txt", "llm", 0, 0, "categorised"};
    return annotate_tasks(path, model, config_path, prompt_path, &kind, out, err);
}

int l4h_explain_many(const char *path, int all, const char *model, const char *config_path,
                     const char *prompt_path, FILE *out, l4h_err *err)
{
    annotate_kind kind = {"explain", "explain.txt", "explain", 1, all, "explained"};
    return annotate_tasks(path, model, config_path, prompt_path, &kind, out, err);
}

int l4h_explain(const char *path, const char *task, const char *model, const char *config_path,
                const char *prompt_path, FILE *out, l4h_err *err)
{
    l4h_results *res = NULL;
    l4h_config *cfg = NULL;
    l4h_llm *llm = NULL;
    char *prompt = NULL, *ans = NULL;
    int rc = -1;
    if (report_results_open_wait(path, &res, err) != 0)
        return -1;
    int64_t id = report_task_find(res, task, err);
    if (id < 0 || report_annotator_prompt(prompt_path, "explain.txt", &prompt, err) != 0 ||
        report_annotator_client(config_path, model, &cfg, &llm, err) != 0)
        goto out;
    int64_t tokens = 0;
    double cost = 0;
    if (report_annotator_ask(llm, res, id, model, prompt, 1, &ans, &tokens, &cost, err) != 0)
        goto out;
    const l4h_task_rec *t = &res->tasks[id - 1];
    char ct[64];
    report_cost_text(cost, ct, sizeof ct);
    fprintf(out, "Task %lld %s/%s/%s/%d: %s%s%s — explained by %s (%lld tokens, %s)\n\n",
            (long long)id, t->supervisor, t->coder, t->step, t->trial, l4h_status_name(t->status),
            t->error_category[0] ? ", " : "", t->error_category, model, (long long)tokens, ct);
    fputs(ans, out);
    if (!*ans || ans[strlen(ans) - 1] != '\n')
        fputc('\n', out);
    rc = 0;
out:
    free(ans);
    free(prompt);
    l4h_llm_free(llm);
    l4h_config_free(cfg);
    l4h_results_free(res);
    return rc;
}
