/* replay_source.c — the replay backend's reader of results files: the llm
 * room's l4h_replay_source filled from the store (the llm room links neither
 * the store nor HDF5; the CLI links both and hands this over in main). */
#include "llm4hep/llm.h"
#include "llm4hep/store.h"
#include "verbs.h"

/* The file's task rows (no calls); the handle is the l4h_results. */
static int open_results(const char *path, void **handle, const l4h_task_rec **tasks,
                        size_t *n_tasks, l4h_err *err)
{
    l4h_results *res = NULL;
    if (l4h_results_open(path, &res, err) < 0)
        return -1;
    *handle = res;
    *tasks = res->tasks;
    *n_tasks = res->n_tasks;
    return 0;
}

static int load_task(void *handle, int64_t task_id, l4h_task_rec *out, l4h_err *err)
{
    return l4h_results_task(handle, task_id, out, err);
}

static void close_results(void *handle) { l4h_results_free(handle); }

const l4h_replay_source cli_replay_source = {
    .open = open_results,
    .load_task = load_task,
    .close = close_results,
};
