/* rescore.c — the store's side of `llm4hep rescore`: hold the file's lock
 * while the checks are judged again, then one journal record ('C') holding
 * the run and every new check row, and the file brought up to date. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"

struct l4h_rescore_writer {
    char *h5path, *jpath;
    int lock;
    sync_state st;
};

/* 1 when the table's on-disk type has the column (files written before a
 * column existed lack it). */
static int has_column(const char *h5path, const char *table, const char *col)
{
    hid_t f = H5Fopen(h5path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    hid_t d = H5Dopen2(f, table, H5P_DEFAULT);
    int has = 0;
    if (d >= 0) {
        hid_t t = H5Dget_type(d);
        has = H5Tget_member_index(t, col) >= 0;
        H5Tclose(t);
        H5Dclose(d);
    }
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return has;
}

void l4h_store_rescore_abandon(l4h_rescore_writer *w)
{
    if (!w)
        return;
    store_sync_state_free(&w->st);
    store_lock_release(w->lock);
    free(w->h5path);
    free(w->jpath);
    free(w);
}

l4h_rescore_writer *l4h_store_rescore_begin(const char *h5path, l4h_err *err)
{
    int lock = store_lock_take(h5path, "rescoring it", err);
    if (lock < 0)
        return NULL;
    l4h_rescore_writer *w = l4h_xcalloc(1, sizeof *w);
    w->lock = lock;
    w->h5path = l4h_xstrdup(h5path);
    w->jpath = store_journal_path(h5path);
    if (access(w->jpath, F_OK) != 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s has no journal (%s): cannot record a rescore in it",
                    h5path, w->jpath);
        l4h_store_rescore_abandon(w);
        return NULL;
    }
    store_h5_quiet();
    int old = !has_column(h5path, "checks", "run") || !has_column(h5path, "runs", "kind");
    if (store_sync_file(h5path, w->jpath, old, &w->st, NULL, err) != 0) {
        l4h_store_rescore_abandon(w);
        return NULL;
    }
    return w;
}

/* The rescore record's JSON (caller frees). */
static char *record_json(const l4h_run_info *info, l4h_task_rec *tasks, size_t n)
{
    cJSON *o = store_run_json(info);
    cJSON_AddNumberToObject(o, "ended_utc", info->ended_utc);
    cJSON_AddNumberToObject(o, "exit_code", info->exit_code);
    cJSON *arr = cJSON_AddArrayToObject(o, "tasks");
    for (size_t i = 0; i < n; i++) {
        l4h_task_rec only = {.task_id = tasks[i].task_id, .checks = tasks[i].checks,
                             .n_checks = tasks[i].n_checks};
        for (size_t k = 0; k < only.n_checks; k++) {
            only.checks[k].run = info->run;
            l4h_secrets_redact(&only.checks[k].report);
        }
        char *js = l4h_rec_to_json(&only);
        cJSON *t = cJSON_Parse(js);
        free(js);
        cJSON *slim = cJSON_CreateObject(); /* the task's id and its checks only */
        cJSON_AddItemToObject(slim, "task_id", cJSON_DetachItemFromObject(t, "task_id"));
        cJSON_AddItemToObject(slim, "checks", cJSON_DetachItemFromObject(t, "checks"));
        cJSON_Delete(t);
        cJSON_AddItemToArray(arr, slim);
    }
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return js;
}

int l4h_store_rescore_end(l4h_rescore_writer *w, l4h_run_info *info, l4h_task_rec *tasks,
                          size_t n_tasks, l4h_err *err)
{
    for (size_t i = 0; i < n_tasks; i++)
        if (tasks[i].task_id < 1 || tasks[i].task_id > w->st.n_tasks) {
            l4h_err_set(err, L4H_EXIT_INFRA, "%s: no task %" PRId64, w->h5path, tasks[i].task_id);
            l4h_store_rescore_abandon(w);
            return -1;
        }
    info->run = (int)w->st.n_runs + 1;
    if (info->ended_utc == 0)
        info->ended_utc = l4h_now();
    char *js = record_json(info, tasks, n_tasks);
    int rc = -1;
    int jfd = open(w->jpath, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (jfd < 0)
        l4h_err_set(err, L4H_EXIT_INFRA, "cannot open %s: %s", w->jpath, strerror(errno));
    else if (ftruncate(jfd, w->st.end) != 0) /* a torn tail first: the record follows a whole one */
        l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", w->jpath, strerror(errno));
    else if (l4h_journal_append(jfd, L4H_J_RESCORE, js, strlen(js), err) == 0) {
        w->st.end += 16 + (int64_t)strlen(js) + 1;
        w->st.n_records++;
        w->st.n_runs++;
        rc = store_update_file(w->h5path, w->jpath, &w->st, 1, NULL, err);
    }
    if (jfd >= 0)
        close(jfd);
    free(js);
    l4h_store_rescore_abandon(w);
    return rc;
}
