/* verdicts.c — `report`'s section on verdicts that changed: for every task
 * that a later run (`llm4hep rescore`) judged again, the verdict of each
 * such run against the sweep's (success: every check passed, per run),
 * listed when it differs, with the checks that flipped. */
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

/* The rows of one task's run in v[lo, hi): all passed? and into b the
 * checks whose verdict differs from the sweep's rows of the same task. */
static int run_verdict(const l4h_check_verdict *v, size_t lo, size_t hi, int sweep_run, int run,
                       l4h_buf *b)
{
    int all = 1;
    for (size_t i = lo; i < hi; i++) {
        if (v[i].run != run)
            continue;
        all &= v[i].passed;
        int was = -1;
        for (size_t j = lo; j < hi && was < 0; j++)
            if (v[j].run == sweep_run && !strcmp(v[j].check, v[i].check))
                was = v[j].passed;
        if (was != v[i].passed)
            l4h_buf_printf(b, "%s%s %s->%s", b->len ? ", " : "", v[i].check,
                           was < 0 ? "new" : was ? "pass" : "FAIL", v[i].passed ? "pass" : "FAIL");
    }
    return all;
}

/* A verdict a rescore run changed. */
typedef struct changed {
    int run;
    const l4h_task_rec *task;    /* borrowed from the rowset's files */
    int now;                     /* the run's verdict (the sweep's is task->success) */
    char *checks;                /* "name pass->FAIL, ..." */
} changed;

typedef struct changes {
    changed *v;
    size_t n;
    size_t judged;               /* tasks judged by more than one run */
} changes;

/* The changed verdicts of one file into out. */
static void file_changes(const l4h_results *res, const l4h_check_verdict *v, size_t n,
                         changes *out)
{
    for (size_t lo = 0; lo < n;) {
        size_t hi = lo;
        while (hi < n && v[hi].task_id == v[lo].task_id)
            hi++;
        out->judged++;
        const l4h_task_rec *task = &res->tasks[v[lo].task_id - 1];
        int done[64] = {0}, nd = 0; /* the later runs of this task, each once */
        for (size_t i = lo; i < hi; i++) {
            int run = v[i].run, seen = run == task->run;
            for (int k = 0; k < nd && !seen; k++)
                seen = done[k] == run;
            if (seen || nd == 64)
                continue;
            done[nd++] = run;
            l4h_buf b = {0};
            int now = run_verdict(v, lo, hi, task->run, run, &b);
            if (now != (task->success != 0)) {
                out->v = l4h_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
                out->v[out->n++] = (changed){run, task, now, l4h_xstrdup(b.len ? b.data : "")};
            }
            l4h_buf_free(&b);
        }
        lo = hi;
    }
}

/* Sort by task, keeping file order within a task (runs in order). */
static int by_task(const void *a, const void *b)
{
    const l4h_check_verdict *x = a, *y = b;
    if (x->task_id != y->task_id)
        return x->task_id < y->task_id ? -1 : 1;
    return x->run < y->run ? -1 : x->run > y->run;
}

/* Every file's changed verdicts. 0 or -1 with err. */
static int collect(const rowset *rs, changes *out, l4h_err *err)
{
    memset(out, 0, sizeof *out);
    for (size_t f = 0; f < rs->n_files; f++) {
        l4h_check_verdict *v = NULL;
        size_t n = 0;
        if (l4h_results_check_runs(rs->files[f], &v, &n, err) != 0)
            return -1;
        qsort(v, n, sizeof *v, by_task);
        file_changes(rs->files[f], v, n, out);
        free(v);
    }
    return 0;
}

static void changes_free(changes *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].checks);
    free(c->v);
}

/* The model column: the coder, or supervisor+coder for a pair. */
static void model_of(const l4h_task_rec *t, char *buf, size_t n)
{
    if (strcmp(t->supervisor, t->coder))
        snprintf(buf, n, "%s+%s", t->supervisor, t->coder);
    else
        snprintf(buf, n, "%s", t->coder);
}

int report_print_rescored(const rowset *rs, l4h_report_format fmt, FILE *out, l4h_err *err)
{
    changes c;
    if (collect(rs, &c, err) != 0)
        return -1;
    if (c.judged) {
        rtable t;
        report_table_init(&t, "rrllrll", "run", "task", "step", "model", "trial", "verdict", "checks", NULL);
        for (size_t i = 0; i < c.n; i++) {
            const changed *x = &c.v[i];
            char model[300];
            model_of(x->task, model, sizeof model);
            report_table_cell(&t, "%d", x->run);
            report_table_cell(&t, "%lld", (long long)x->task->task_id);
            report_table_cell(&t, "%s", x->task->step);
            report_table_cell(&t, "%s", model);
            report_table_cell(&t, "%d", x->task->trial);
            report_table_cell(&t, "%s -> %s", x->task->success ? "PASS" : "FAIL", x->now ? "PASS" : "FAIL");
            report_table_cell(&t, "%s", x->checks[0] ? x->checks : "-");
        }
        if (fmt == L4H_FMT_MARKDOWN)
            fprintf(out, "\n## Verdicts changed by rescore runs (against the sweep's)\n\n");
        else
            fprintf(out, "\nVerdicts changed by rescore runs (against the sweep's; %zu task%s "
                         "judged again)\n", c.judged, c.judged == 1 ? "" : "s");
        if (t.nrows)
            report_table_print(&t, fmt, out);
        else
            fprintf(out, "none\n");
        report_table_free(&t);
    }
    changes_free(&c);
    return 0;
}

int report_rescored_json(const rowset *rs, l4h_buf *b, l4h_err *err)
{
    changes c;
    if (collect(rs, &c, err) != 0)
        return -1;
    l4h_buf_printf(b, "{\"tasks_judged_again\": %zu, \"changed\": [", c.judged);
    for (size_t i = 0; i < c.n; i++) {
        const changed *x = &c.v[i];
        char model[300];
        model_of(x->task, model, sizeof model);
        l4h_buf_printf(b, "%s\n    {\"run\": %d, \"task_id\": %lld, \"step\": ", i ? "," : "",
                       x->run, (long long)x->task->task_id);
        report_json_str(b, x->task->step);
        l4h_buf_puts(b, ", \"model\": ");
        report_json_str(b, model);
        l4h_buf_printf(b, ", \"trial\": %d, \"old\": \"%s\", \"new\": \"%s\", \"checks\": ",
                       x->task->trial, x->task->success ? "PASS" : "FAIL", x->now ? "PASS" : "FAIL");
        report_json_str(b, x->checks);
        l4h_buf_puts(b, "}");
    }
    l4h_buf_puts(b, c.n ? "\n  ]}" : "]}");
    changes_free(&c);
    return 0;
}
