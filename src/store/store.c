/* store.c — the writer: l4h_store_open / begin_run / add / checkpoint /
 * close, l4h_store_annotate and l4h_store_rebuild. The journal is written
 * first (fsync'd); the HDF5 file follows at checkpoints (sync.c). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

#define DEFER_MAX_S 60.0 /* a reader holding the file delays updates at most this long */

struct l4h_store {
    char *h5path, *jpath;
    char campaign[256];
    int lock_fd, jfd;
    sync_state sync;
    int run;              /* current /runs row, 0 before begin_run */
    int64_t dropped;
    double last_update;   /* monotonic time of the last file update */
};

/* The meaning of a finished task as JSON (campaign, suite hash,
 * max_iterations, task limits) and its SHA-256. Caller frees the JSON. */
static char *meaning_json(const l4h_config *cfg, char sha[65])
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "campaign", cfg->name ? cfg->name : "");
    cJSON_AddStringToObject(m, "suite_sha256", cfg->suite ? cfg->suite->sha256 : "");
    cJSON_AddNumberToObject(m, "max_iterations", cfg->max_iterations);
    cJSON *l = cJSON_AddObjectToObject(m, "limits");
    cJSON_AddNumberToObject(l, "task_wall_s", cfg->limits.task_wall_s);
    cJSON_AddNumberToObject(l, "exec_timeout_s", cfg->limits.exec_timeout_s);
    cJSON_AddNumberToObject(l, "exec_memory_mb", (double)cfg->limits.exec_memory_mb);
    cJSON_AddNumberToObject(l, "workspace_mb", (double)cfg->limits.workspace_mb);
    cJSON_AddNumberToObject(l, "output_bytes", (double)cfg->limits.output_bytes);
    cJSON_AddNumberToObject(l, "task_tokens", (double)cfg->limits.task_tokens);
    char *s = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    l4h_sha256_hex(s, strlen(s), sha);
    return s;
}

/* Append to b a description of how meaning a (old) differs from b (new). */
static void describe_change(l4h_buf *out, const cJSON *old, const cJSON *new, const char *prefix)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, old)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(new, o->string);
        if (cJSON_IsObject(o) && cJSON_IsObject(n)) {
            describe_change(out, o, n, o->string);
            continue;
        }
        if (n && cJSON_Compare(o, n, 1))
            continue;
        char *a = cJSON_PrintUnformatted(o), *b = n ? cJSON_PrintUnformatted(n) : NULL;
        l4h_buf_printf(out, "%s%s%s%s was %s, now %s", out->len ? "; " : "", prefix ? prefix : "",
                       prefix ? "." : "", o->string, a, b ? b : "absent");
        free(a);
        free(b);
    }
}

/* Compare the journal's header with cfg; -1 (code 2) when the meaning changed. */
static int check_meaning(const char *jpath, const char *header, const l4h_config *cfg,
                         l4h_err *err)
{
    char sha[65];
    char *now = meaning_json(cfg, sha);
    cJSON *h = cJSON_Parse(header);
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(h, "meaning_sha256");
    int rc = 0;
    if (!cJSON_IsString(hs) || strcmp(hs->valuestring, sha) != 0) {
        cJSON *n = cJSON_Parse(now);
        l4h_buf d = {0};
        describe_change(&d, cJSON_GetObjectItemCaseSensitive(h, "meaning"), n, NULL);
        rc = l4h_err_set(err, L4H_EXIT_USAGE,
                         "%s: the campaign's meaning changed since it began (%s); finished tasks "
                         "would not be comparable. Start over with --fresh (the old files are "
                         "kept aside) or write to another output",
                         jpath, d.len ? d.data : "header differs");
        l4h_buf_free(&d);
        cJSON_Delete(n);
    }
    cJSON_Delete(h);
    free(now);
    return rc;
}

/* Journal callback that keeps the first record and stops. */
static int first_cb(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                    void *ctx, l4h_err *err)
{
    (void)len, (void)offset, (void)index;
    char **out = ctx;
    if (type != L4H_J_HEADER)
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "the journal's first record is '%c', not the header: not a journal "
                           "of llm4hep, or damaged", type);
    *out = l4h_xstrdup(payload);
    l4h_err_set(err, 0, "stop");
    return -1;
}

/* The journal's header payload (NULL when there is none). -1 on a damaged
 * journal. */
static int read_header(const char *jpath, char **out, l4h_err *err)
{
    *out = NULL;
    l4h_err e2 = {0};
    if (l4h_journal_read(jpath, 0, first_cb, out, NULL, NULL, &e2) != 0 && e2.code != 0) {
        if (err)
            *err = e2;
        return -1;
    }
    return 0;
}

/* Rename path aside as path.<UTC stamp> when it exists. */
static int move_aside(const char *path, const char *stamp, l4h_err *err)
{
    if (access(path, F_OK) != 0)
        return 0;
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s.%s", path, stamp);
    char *dst = l4h_buf_take(&b);
    int rc = 0;
    if (rename(path, dst) != 0)
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "cannot move %s aside to %s: %s", path, dst,
                         strerror(errno));
    else
        fprintf(stderr, "llm4hep: --fresh: kept the old %s as %s\n", path, dst);
    free(dst);
    return rc;
}

/* Remove temp files that a writer killed mid-update left beside h5path
 * (<name>.rebuild-PID.tmp, <name>.update-PID.tmp). Call with the lock held. */
static void remove_stale_temps(const char *h5path)
{
    char *dir = l4h_path_dir(h5path);
    const char *base = strrchr(h5path, '/') ? strrchr(h5path, '/') + 1 : h5path;
    size_t bl = strlen(base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t nl = strlen(n);
        if (nl <= bl + 4 || strncmp(n, base, bl) != 0 || strcmp(n + nl - 4, ".tmp") != 0 ||
            (strncmp(n + bl, ".rebuild-", 9) != 0 && strncmp(n + bl, ".update-", 8) != 0))
            continue;
        char *p = l4h_path_join(dir, n);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    free(dir);
}

/* Free everything the store holds (not the lock's release semantics). */
static void store_free(l4h_store *st)
{
    if (!st)
        return;
    if (st->jfd >= 0)
        close(st->jfd);
    l4h_lock_release(st->lock_fd);
    l4h_sync_state_free(&st->sync);
    free(st->h5path);
    free(st->jpath);
    free(st);
}

int l4h_store_open(const l4h_config *cfg, int fresh, l4h_store **out, l4h_err *err)
{
    *out = NULL;
    if (!cfg || !cfg->output || !cfg->output[0])
        return l4h_err_set(err, L4H_EXIT_USAGE, "the config has no `output` (results file)");
    l4h_store *st = l4h_xcalloc(1, sizeof *st);
    st->jfd = -1;
    st->h5path = l4h_xstrdup(cfg->output);
    st->jpath = l4h_journal_path(cfg->output);
    snprintf(st->campaign, sizeof st->campaign, "%s", cfg->name ? cfg->name : "");
    char *dir = l4h_path_dir(cfg->output);
    int rc = l4h_mkdirs(dir, 0755, err);
    free(dir);
    if (rc)
        goto fail;
    st->lock_fd = l4h_lock_take(st->h5path, "opening it for another campaign", err);
    if (st->lock_fd < 0)
        goto fail;
    remove_stale_temps(st->h5path);
    if (fresh) {
        char stamp[32];
        time_t t = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&t));
        if (move_aside(st->h5path, stamp, err) || move_aside(st->jpath, stamp, err))
            goto fail;
    }
    if (access(st->h5path, F_OK) == 0 && access(st->jpath, F_OK) != 0) {
        l4h_err_set(err, L4H_EXIT_USAGE,
                    "%s exists but its journal %s is missing (the journal is the truth): "
                    "restore it, or start over with --fresh (the old file is kept aside)",
                    st->h5path, st->jpath);
        goto fail;
    }
    char *header = NULL;
    if (read_header(st->jpath, &header, err) != 0)
        goto fail;
    st->jfd = open(st->jpath, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (st->jfd < 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "cannot open %s: %s", st->jpath, strerror(errno));
        free(header);
        goto fail;
    }
    if (header) {
        rc = check_meaning(st->jpath, header, cfg, err);
        free(header);
        if (rc)
            goto fail;
    } else {
        /* A new campaign (or a journal holding only a torn first record). */
        if (ftruncate(st->jfd, 0) != 0) {
            l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", st->jpath, strerror(errno));
            goto fail;
        }
        char sha[65], created[32];
        char *m = meaning_json(cfg, sha);
        l4h_utc_string(l4h_now(), created);
        cJSON *h = cJSON_CreateObject();
        cJSON_AddNumberToObject(h, "format_version", L4H_FORMAT_VERSION);
        cJSON_AddStringToObject(h, "campaign", cfg->name ? cfg->name : "");
        cJSON_AddStringToObject(h, "created_utc", created);
        cJSON_AddStringToObject(h, "config_sha256", cfg->sha256);
        cJSON_AddStringToObject(h, "suite_sha256", cfg->suite ? cfg->suite->sha256 : "");
        cJSON_AddStringToObject(h, "meaning_sha256", sha);
        cJSON_AddItemToObject(h, "meaning", cJSON_Parse(m));
        char *js = cJSON_PrintUnformatted(h);
        cJSON_Delete(h);
        free(m);
        rc = l4h_journal_append(st->jfd, L4H_J_HEADER, js, strlen(js), err);
        free(js);
        if (rc)
            goto fail;
        if (access(st->h5path, F_OK) == 0) { /* an old file without journal records */
            l4h_err_set(err, L4H_EXIT_USAGE,
                        "%s exists but its journal %s holds no records: start over with --fresh",
                        st->h5path, st->jpath);
            goto fail;
        }
    }
    if (l4h_sync_file(st->h5path, st->jpath, 0, &st->sync, &st->dropped, err) != 0)
        goto fail;
    if (st->dropped > 0) {
        if (ftruncate(st->jfd, st->sync.end) != 0) {
            l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot drop the torn last record: %s",
                        st->jpath, strerror(errno));
            goto fail;
        }
        fprintf(stderr,
                "llm4hep: %s: dropped a torn last record (%" PRId64 " bytes, written when the "
                "previous run was killed); the task it held will be redone\n",
                st->jpath, st->dropped);
    }
    l4h_secrets_collect(cfg, 0);
    st->last_update = l4h_monotonic();
    *out = st;
    return 0;
fail:
    store_free(st);
    return -1;
}

int l4h_store_key_state(const l4h_store *st, const char *key, l4h_key_state *out)
{
    memset(out, 0, sizeof *out);
    key_entry *k = l4h_keymap_get((key_map *)&st->sync.keys, key, 0);
    if (k) {
        out->attempts = k->attempts;
        out->infra_attempts = k->infra_attempts;
        out->last_status = k->last_status;
    }
    return 0;
}

/* Append a record and advance the journal counters. */
static int journal_add(l4h_store *st, int type, const char *js, l4h_err *err)
{
    size_t len = strlen(js);
    if (l4h_journal_append(st->jfd, type, js, len, err) != 0)
        return l4h_err_prefix(err, "%s", st->jpath);
    st->sync.end += 16 + (int64_t)len + 1;
    st->sync.n_records++;
    return 0;
}

int l4h_store_begin_run(l4h_store *st, l4h_run_info *info, l4h_err *err)
{
    info->run = (int)st->sync.n_runs + 1;
    info->exit_code = -1;
    if (info->started_utc == 0)
        info->started_utc = l4h_now();
    char sha[65];
    l4h_sha256_hex(info->config_text ? info->config_text : "",
                   info->config_text ? strlen(info->config_text) : 0, sha);
    char *cfg_text = l4h_xstrdup(info->config_text), *pk = l4h_xstrdup(info->python_packages);
    l4h_secrets_redact(&cfg_text);
    l4h_secrets_redact(&pk);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "run", info->run);
    cJSON_AddNumberToObject(o, "started_utc", info->started_utc);
    cJSON_AddStringToObject(o, "slurm_job_id", info->slurm_job_id);
    cJSON_AddNumberToObject(o, "slurm_restart_count", info->slurm_restart_count);
    cJSON_AddNumberToObject(o, "ranks", info->ranks);
    cJSON_AddStringToObject(o, "hosts", info->hosts ? info->hosts : "");
    cJSON_AddStringToObject(o, "llm4hep_version", info->llm4hep_version ? info->llm4hep_version : "");
    cJSON_AddStringToObject(o, "git_commit", info->git_commit ? info->git_commit : "");
    cJSON_AddStringToObject(o, "config_sha256", info->config_text ? sha : "");
    cJSON_AddStringToObject(o, "config_text", cfg_text ? cfg_text : "");
    cJSON_AddStringToObject(o, "python_packages", pk ? pk : "");
    free(cfg_text);
    free(pk);
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int rc = journal_add(st, L4H_J_RUN_BEGIN, js, err);
    free(js);
    if (rc)
        return -1;
    st->sync.n_runs++;
    st->run = info->run;
    return 0;
}

int l4h_store_add(l4h_store *st, l4h_task_rec *rec, l4h_err *err)
{
    if (strlen(rec->key) != 16)
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "store: a task record without its 16-character key (step %s, trial %d)",
                           rec->step ? rec->step : "?", rec->trial);
    if (l4h_status_name(rec->status) == NULL)
        return l4h_err_set(err, L4H_EXIT_INFRA, "store: task %s has an invalid status %d",
                           rec->key, (int)rec->status);
    l4h_redact_rec(rec);
    if (!rec->campaign)
        rec->campaign = l4h_xstrdup(st->campaign);
    if (rec->run == 0)
        rec->run = st->run;
    key_entry *k = l4h_keymap_get(&st->sync.keys, rec->key, 1);
    rec->task_id = st->sync.n_tasks + 1;
    rec->attempt = k->attempts + 1;
    rec->final = 1;
    char *js = l4h_rec_to_json(rec);
    int rc = journal_add(st, L4H_J_TASK, js, err);
    free(js);
    if (rc) {
        rec->task_id = -1;
        return -1;
    }
    st->sync.n_tasks++;
    l4h_key_note(k, rec->status, rec->task_id);
    return 0;
}

/* Update the file; force: never defer for a reader (copy + rename). */
static int checkpoint(l4h_store *st, int force, l4h_err *err)
{
    double now = l4h_monotonic();
    int deferred = 0;
    int allow_copy = force || now - st->last_update > DEFER_MAX_S;
    if (l4h_update_file(st->h5path, st->jpath, &st->sync, allow_copy, &deferred, err) != 0)
        return -1;
    if (!deferred)
        st->last_update = now;
    return 0;
}

int l4h_store_checkpoint(l4h_store *st, l4h_err *err)
{
    return checkpoint(st, 0, err);
}

int l4h_store_close(l4h_store *st, int exit_code, l4h_err *err)
{
    if (!st)
        return 0;
    int rc = 0;
    if (st->run > 0) {
        char js[128];
        snprintf(js, sizeof js, "{\"run\":%d,\"ended_utc\":%.17g,\"exit_code\":%d}", st->run,
                 l4h_now(), exit_code);
        rc = journal_add(st, L4H_J_RUN_END, js, err);
    }
    if (!rc)
        rc = checkpoint(st, 1, err);
    store_free(st);
    return rc;
}

int64_t l4h_store_dropped_bytes(const l4h_store *st)
{
    return st->dropped;
}

int64_t l4h_store_n_tasks(const l4h_store *st)
{
    return st->sync.n_tasks;
}

int l4h_store_annotate(const char *h5path, const l4h_annotation *a, l4h_err *err)
{
    int lock = l4h_lock_take(h5path, "annotating", err);
    if (lock < 0)
        return -1;
    char *jpath = l4h_journal_path(h5path);
    sync_state st;
    int rc = -1;
    if (access(jpath, F_OK) != 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s has no journal (%s): cannot annotate it", h5path,
                    jpath);
        goto out_nostate;
    }
    if (l4h_sync_file(h5path, jpath, 0, &st, NULL, err) != 0)
        goto out_nostate;
    if (a->task_id < 1 || a->task_id > st.n_tasks) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: no task %" PRId64 " (tasks are 1..%" PRId64 ")",
                    h5path, a->task_id, st.n_tasks);
        goto out;
    }
    char *text = l4h_xstrdup(a->text);
    l4h_secrets_redact(&text);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "task_id", (double)a->task_id);
    cJSON_AddStringToObject(o, "source", a->source ? a->source : "");
    cJSON_AddStringToObject(o, "error_category", a->error_category);
    cJSON_AddStringToObject(o, "text", text ? text : "");
    cJSON_AddNumberToObject(o, "created_utc", l4h_now());
    free(text);
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int jfd = open(jpath, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (jfd < 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "cannot open %s: %s", jpath, strerror(errno));
        free(js);
        goto out;
    }
    /* Drop a torn tail first, so the new record follows a whole one. */
    if (ftruncate(jfd, st.end) != 0 || l4h_journal_append(jfd, L4H_J_ANNOTATION, js, strlen(js), err) != 0) {
        if (err && !err->msg[0])
            l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", jpath, strerror(errno));
        close(jfd);
        free(js);
        goto out;
    }
    close(jfd);
    st.end += 16 + (int64_t)strlen(js) + 1;
    st.n_records++;
    free(js);
    rc = l4h_update_file(h5path, jpath, &st, 1, NULL, err);
out:
    l4h_sync_state_free(&st);
out_nostate:
    free(jpath);
    l4h_lock_release(lock);
    return rc;
}

int l4h_store_rebuild(const char *h5path, l4h_err *err)
{
    int lock = l4h_lock_take(h5path, "rebuilding", err);
    if (lock < 0)
        return -1;
    char *jpath = l4h_journal_path(h5path);
    sync_state st;
    int rc = l4h_sync_file(h5path, jpath, 1, &st, NULL, err);
    if (rc == 0)
        l4h_sync_state_free(&st);
    free(jpath);
    l4h_lock_release(lock);
    return rc;
}
