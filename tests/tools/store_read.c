/* store_read — time the C reader on a results file (for the benchmark).
 *
 *   store_read RESULTS.h5 [TASK_ID]
 *
 * Prints "store_read: T tasks, F final, open S s[, task I: C calls, E execs,
 * K checks, B text bytes, S s]". Exit 2 when the file cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/store.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store_read RESULTS.h5 [TASK_ID]\n");
        return 2;
    }
    l4h_err err = {0};
    l4h_results *res;
    double t0 = l4h_monotonic();
    if (l4h_results_open(argv[1], &res, &err) != 0) {
        fprintf(stderr, "store_read: %s\n", err.msg);
        return err.code ? err.code : 3;
    }
    double t1 = l4h_monotonic();
    size_t finals = 0;
    for (size_t i = 0; i < res->n_tasks; i++)
        finals += res->tasks[i].final == 1;
    printf("store_read: %zu tasks, %zu final, open %.4f s", res->n_tasks, finals, t1 - t0);
    if (argc > 2) {
        l4h_task_rec r;
        if (l4h_results_task(res, atoll(argv[2]), &r, &err) != 0) {
            fprintf(stderr, "\nstore_read: %s\n", err.msg);
            l4h_results_free(res);
            return err.code ? err.code : 3;
        }
        size_t bytes = 0;
        for (size_t i = 0; i < r.n_calls; i++)
            bytes += strlen(r.calls[i].request) + strlen(r.calls[i].response);
        for (size_t i = 0; i < r.n_execs; i++)
            bytes += strlen(r.execs[i].code) + strlen(r.execs[i].stdout_text) +
                     strlen(r.execs[i].stderr_text);
        printf(", task %s: %zu calls, %zu execs, %zu checks, %zu text bytes, %.4f s", argv[2],
               r.n_calls, r.n_execs, r.n_checks, bytes, l4h_monotonic() - t1);
        l4h_rec_clear(&r);
    }
    printf("\n");
    l4h_results_free(res);
    return 0;
}
