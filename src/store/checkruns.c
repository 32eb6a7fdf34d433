/* checkruns.c — the /checks rows of tasks judged by more than one run (a
 * sweep, then `rescore` runs), for `report` to show the verdicts that
 * changed. Reads the task_id and run columns in blocks, the rest only for
 * the tasks concerned. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define BLOCK 65536

int l4h_results_check_runs(const l4h_results *res, l4h_check_verdict **out, size_t *n,
                           l4h_err *err)
{
    *out = NULL;
    *n = 0;
    hid_t f = store_open_ro(res->path, err);
    if (f < 0)
        return -1;
    hid_t d = H5Dopen2(f, "checks", H5P_DEFAULT);
    int has_run = 0;
    if (d >= 0) {
        hid_t t = H5Dget_type(d);
        has_run = H5Tget_member_index(t, "run") >= 0;
        H5Tclose(t);
    }
    if (d < 0 || !has_run) { /* a file from before rescore: one run judged each task */
        if (d >= 0)
            H5Dclose(d);
        H5Fclose(f);
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    int64_t rows = store_table_rows(f, "checks", err);
    uint8_t *mark = l4h_xcalloc(res->n_tasks + 1, 1);
    check_row *buf = l4h_xcalloc(BLOCK, sizeof *buf);
    static const char *const ids[] = {"task_id", "run"};
    static const char *const all[] = {"task_id", "run", "passed", "check"};
    int rc = rows < 0 ? -1 : 0, any = 0;
    /* pass 1: the tasks with a row of a run other than their own */
    for (int64_t at = 0; !rc && at < rows; at += BLOCK) {
        size_t k = (size_t)(rows - at < BLOCK ? rows - at : BLOCK);
        rc = store_table_read_cols(f, &l4h_t_checks, ids, 2, at, k, buf, err);
        for (size_t i = 0; !rc && i < k; i++) {
            int64_t t = buf[i].task_id;
            if (t >= 1 && (size_t)t <= res->n_tasks && buf[i].run > 0 &&
                buf[i].run != res->tasks[t - 1].run)
                any = mark[t] = 1;
        }
    }
    /* pass 2: every row of those tasks */
    size_t cap = 0;
    for (int64_t at = 0; !rc && any && at < rows; at += BLOCK) {
        size_t k = (size_t)(rows - at < BLOCK ? rows - at : BLOCK);
        memset(buf, 0, k * sizeof *buf);
        rc = store_table_read_cols(f, &l4h_t_checks, all, 4, at, k, buf, err);
        for (size_t i = 0; !rc && i < k; i++) {
            int64_t t = buf[i].task_id;
            if (t < 1 || (size_t)t > res->n_tasks || !mark[t])
                continue;
            if (*n == cap) {
                cap = cap ? 2 * cap : 64;
                *out = l4h_xrealloc(*out, cap * sizeof **out);
            }
            l4h_check_verdict *v = &(*out)[(*n)++];
            v->task_id = t;
            v->run = buf[i].run > 0 ? buf[i].run : res->tasks[t - 1].run;
            store_fix_copy(v->check, sizeof v->check, buf[i].check, sizeof buf[i].check);
            v->passed = buf[i].passed != 0;
        }
    }
    free(buf);
    free(mark);
    H5Dclose(d);
    H5Fclose(f);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
