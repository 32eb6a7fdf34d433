/* verdicts.c — `report`'s section on verdicts that changed: for every task
 * that a later run (`llm4hep rescore`) judged again, the verdict of each
 * such run against the sweep's (success: every check passed, per run),
 * listed when it differs, with the checks that flipped. */
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

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

/* The changed verdicts of one file into t. */
static void file_rows(const l4h_results *res, const l4h_check_verdict *v, size_t n, rtable *t)
{
    for (size_t lo = 0; lo < n;) {
        size_t hi = lo;
        while (hi < n && v[hi].task_id == v[lo].task_id)
            hi++;
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
                rt_cell(t, "%d", run);
                rt_cell(t, "%lld", (long long)task->task_id);
                rt_cell(t, "%s", task->step);
                if (strcmp(task->supervisor, task->coder))
                    rt_cell(t, "%s+%s", task->supervisor, task->coder);
                else
                    rt_cell(t, "%s", task->coder);
                rt_cell(t, "%d", task->trial);
                rt_cell(t, "%s -> %s", task->success ? "PASS" : "FAIL", now ? "PASS" : "FAIL");
                rt_cell(t, "%s", b.len ? b.data : "-");
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

int report_print_rescored(const rowset *rs, l4h_report_format fmt, FILE *out, l4h_err *err)
{
    rtable t;
    rt_init(&t, "rrllrll", "run", "task", "step", "model", "trial", "verdict", "checks", NULL);
    size_t judged = 0;
    for (size_t f = 0; f < rs->n_files; f++) {
        l4h_check_verdict *v = NULL;
        size_t n = 0;
        if (l4h_results_check_runs(rs->files[f], &v, &n, err) != 0) {
            rt_free(&t);
            return -1;
        }
        qsort(v, n, sizeof *v, by_task);
        for (size_t i = 0; i < n; i++)
            judged += i == 0 || v[i].task_id != v[i - 1].task_id;
        file_rows(rs->files[f], v, n, &t);
        free(v);
    }
    if (judged) {
        if (fmt == L4H_FMT_MARKDOWN)
            fprintf(out, "\n## Verdicts changed by rescore runs (against the sweep's)\n\n");
        else
            fprintf(out, "\nVerdicts changed by rescore runs (against the sweep's; %zu task%s "
                         "judged again)\n", judged, judged == 1 ? "" : "s");
        if (t.nrows)
            rt_print(&t, fmt, out);
        else
            fprintf(out, "none\n");
    }
    rt_free(&t);
    return 0;
}
