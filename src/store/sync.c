/* sync.c — make the HDF5 file agree with the journal: read the journal
 * once (key states, counts), check what the file says it reflects, then
 * append what it lacks or rebuild it (temp file + atomic rename). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pieces.h"
#include "store_internal.h"

/* What the file says about itself. */
typedef struct file_view {
    int opened;
    int clean;
    int64_t offset, records;
    int64_t rows[6]; /* l4h_tables order */
} file_view;

typedef struct pass_ctx {
    sync_state *st;
    int64_t x;           /* the file's journal_offset */
    int boundary;        /* x is the start or the end of a record */
    int64_t at_x[6];     /* expected rows when the journal is read up to x */
    int64_t records_at_x;
} pass_ctx;

void store_sync_state_free(sync_state *st)
{
    if (!st)
        return;
    store_keymap_free(&st->keys);
    store_pieces_index_free(st->pieces);
    free(st->header_json);
    free(st->last_run_json);
    memset(st, 0, sizeof *st);
}

/* The state-bearing members of the task record at offset: the quick scan,
 * or for a record not in the writer's plain shape, the full parse. -1 with
 * err when it does not parse. */
static int scan_task(const char *payload, size_t len, int64_t offset, task_scan *out,
                     l4h_err *err)
{
    if (store_task_scan(payload, len, out) == 0 && l4h_status_parse(out->status) >= 0)
        return 0;
    l4h_task_rec r = {0};
    l4h_err e2;
    if (l4h_rec_from_json(payload, len, &r, &e2) != 0)
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "journal: task record at byte %" PRId64 " does not parse: %s", offset,
                           e2.msg);
    memset(out, 0, sizeof *out);
    out->task_id = r.task_id;
    snprintf(out->key, sizeof out->key, "%s", r.key);
    snprintf(out->status, sizeof out->status, "%s",
             l4h_status_name(r.status) ? l4h_status_name(r.status) : "");
    out->wall_s = r.wall_s;
    out->n_calls = r.n_calls;
    out->n_execs = r.n_execs;
    out->n_checks = r.n_checks;
    l4h_rec_clear(&r);
    return 0;
}

/* Pass 1 over one record: key states and the counts at x. */
static int pass_record(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                       void *ctx, l4h_err *err)
{
    pass_ctx *c = ctx;
    sync_state *st = c->st;
    int before_x = offset < c->x;
    if (offset == c->x)
        c->boundary = 1;
    st->n_records++;
    if (before_x)
        c->records_at_x++;
    switch (type) {
    case L4H_J_HEADER:
        if (index != 0 || st->header_json)
            return l4h_err_set(err, L4H_EXIT_INFRA,
                               "journal: a second header record at byte %" PRId64, offset);
        st->header_json = l4h_xstrdup(payload);
        break;
    case L4H_J_RUN_BEGIN:
        st->n_runs++;
        c->at_x[0] += before_x;
        free(st->last_run_json);
        st->last_run_json = l4h_xstrdup(payload);
        break;
    case L4H_J_ANNOTATION:
        c->at_x[5] += before_x;
        break;
    case L4H_J_RESCORE: { /* a /runs row and its /checks rows; not a campaign's run */
        st->n_runs++;
        c->at_x[0] += before_x;
        cJSON *o = cJSON_ParseWithLength(payload, len);
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(o, "tasks"))
            c->at_x[4] += before_x * (int64_t)cJSON_GetArraySize(
                                         cJSON_GetObjectItemCaseSensitive(t, "checks"));
        cJSON_Delete(o);
        break;
    }
    case L4H_J_TASK: {
        task_scan r;
        if (scan_task(payload, len, offset, &r, err) != 0)
            return -1;
        if (r.task_id != st->n_tasks + 1)
            return l4h_err_set(err, L4H_EXIT_INFRA,
                               "journal: task record at byte %" PRId64 " has task_id %" PRId64
                               ", expected %" PRId64, offset, r.task_id, st->n_tasks + 1);
        st->n_tasks++;
        key_entry *k = store_keymap_get(&st->keys, r.key, 1);
        if (k) {
            store_key_note(k, (l4h_status)l4h_status_parse(r.status), r.wall_s, r.task_id);
            if (before_x)
                k->file_task_id = r.task_id;
        }
        if (before_x) {
            c->at_x[1]++;
            c->at_x[2] += (int64_t)r.n_calls;
            c->at_x[3] += (int64_t)r.n_execs;
            c->at_x[4] += (int64_t)r.n_checks;
        }
        break;
    }
    default:
        break;
    }
    return 0;
}

/* Open h5path read-only and read what it reflects. Never fails: a file
 * that does not open or lacks attributes has opened = 0 / clean = 0. */
static void view_file(const char *h5path, file_view *v)
{
    memset(v, 0, sizeof *v);
    if (access(h5path, F_OK) != 0)
        return;
    hid_t f = H5Fopen(h5path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    v->opened = 1;
    char *state = NULL;
    int64_t version = 0; /* a file of an older format is rebuilt in the current one */
    if (store_attr_get_i64(f, "format_version", &version) == 0 && version == L4H_FORMAT_VERSION &&
        store_attr_get_str(f, "checkpoint_state", &state) == 0 && !strcmp(state, "clean") &&
        store_attr_get_i64(f, "journal_offset", &v->offset) == 0 &&
        store_attr_get_i64(f, "journal_records", &v->records) == 0)
        v->clean = 1;
    free(state);
    for (int i = 0; i < 6 && v->clean; i++) {
        v->rows[i] = store_table_rows(f, l4h_tables[i]->name, NULL);
        if (v->rows[i] < 0 || store_heap_len(f, NULL) < 0)
            v->clean = 0;
    }
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
}

/* fsync a path (file or directory); errors ignored (best effort). */
static void sync_path(const char *p)
{
    int fd = open(p, O_RDONLY);
    if (fd >= 0) {
        if (fsync(fd) != 0) {
        }
        close(fd);
    }
}

/* Rename tmp over dst and make it durable. */
static int commit_tmp(const char *tmp, const char *dst, l4h_err *err)
{
    sync_path(tmp);
    if (rename(tmp, dst) != 0) {
        int e = errno;
        unlink(tmp);
        return l4h_err_set(err, L4H_EXIT_INFRA, "cannot rename %s to %s: %s", tmp, dst,
                           strerror(e));
    }
    char *dir = l4h_path_dir(dst);
    sync_path(dir);
    free(dir);
    return 0;
}

/* HDF5 error as an l4h_err about path. */
static int h5err(l4h_err *err, const char *what, const char *path)
{
    char m[512];
    store_h5_errmsg(m, sizeof m);
    return l4h_err_set(err, L4H_EXIT_INFRA, "%s %s: %s", what, path, m);
}

/* Write the whole file anew from the journal. */
static int rebuild(const char *h5path, const char *jpath, sync_state *st, l4h_err *err)
{
    if (!st->header_json)
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s has no header record: not the journal of a campaign", jpath);
    for (size_t i = 0; i < st->keys.cap; i++)
        st->keys.e[i].file_task_id = 0;
    st->file_end = st->file_records = 0;
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s.rebuild-%ld.tmp", h5path, (long)getpid());
    char *tmp = l4h_buf_take(&b);
    unlink(tmp);
    /* Free space tracked in the file: each checkpoint rewrites the last,
     * partial chunk of the heap and the tables; without this the space of
     * the old chunk was lost at every close (about 70 kB a checkpoint). */
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_file_space_strategy(fcpl, H5F_FSPACE_STRATEGY_FSM_AGGR, 1, 1);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    int rc;
    if (f < 0) {
        rc = h5err(err, "cannot create", tmp);
    } else {
        rc = store_init_file(f, st->header_json, err);
        if (!rc)
            rc = store_apply_journal(f, jpath, st, err);
        if (H5Fclose(f) < 0 && !rc)
            rc = h5err(err, "cannot close", tmp);
        if (!rc)
            rc = commit_tmp(tmp, h5path, err);
        else
            unlink(tmp);
    }
    free(tmp);
    if (rc)
        l4h_err_prefix(err, "rebuilding %s from its journal", h5path);
    return rc;
}

/* 1 when another process (a reader) holds an HDF5 lock on the file. */
static int file_busy(const char *h5path)
{
    int fd = open(h5path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (!busy)
        flock(fd, LOCK_UN);
    close(fd);
    return busy;
}

/* Copy what is left of in to out with copy_file_range (in the kernel, no
 * user-space buffer). 0 done, or -1 with errno; *none_copied = 1 then says
 * nothing was written (not supported here, e.g. ENOSYS or EXDEV: the caller
 * may fall back to read/write). */
static int copy_in_kernel(int in, int out, int *none_copied)
{
    *none_copied = 1;
    for (;;) {
        long n = syscall(SYS_copy_file_range, in, NULL, out, NULL, (size_t)1 << 30, 0u);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        *none_copied = 0;
    }
}

/* Copy src to dst byte for byte: a reflink (FICLONE: shares the blocks, a
 * constant cost, on btrfs/XFS), else copy_file_range, else read/write. */
static int copy_file(const char *src, const char *dst, l4h_err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = (in < 0 || out < 0) ? -1 : 0;
    if (!rc && ioctl(out, FICLONE, in) == 0)
        goto done;
    int none = 1;
    if (!rc && copy_in_kernel(in, out, &none) == 0)
        goto done;
    if (!rc && !none)
        rc = -1; /* failed half way: not a "not supported" */
    if (!rc && (lseek(in, 0, SEEK_SET) != 0 || ftruncate(out, 0) != 0))
        rc = -1;
    static char buf[1 << 16];
    while (!rc) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0 || write(out, buf, (size_t)n) != n)
            rc = -1;
    }
done:;
    int e = errno;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (rc)
        return l4h_err_set(err, L4H_EXIT_INFRA, "cannot copy %s to %s: %s", src, dst, strerror(e));
    return 0;
}

/* A copy of h5path to update while a reader holds the original (caller
 * renames it over, or unlinks it, and frees the name). NULL on error. */
static char *copy_aside(const char *h5path, l4h_err *err)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s.update-%ld.tmp", h5path, (long)getpid());
    char *tmp = l4h_buf_take(&b);
    if (copy_file(h5path, tmp, err) != 0) {
        unlink(tmp);
        free(tmp);
        return NULL;
    }
    return tmp;
}

int store_update_file(const char *h5path, const char *jpath, sync_state *st, int allow_copy,
                    int *deferred, l4h_err *err)
{
    if (deferred)
        *deferred = 0;
    if (access(h5path, F_OK) != 0)
        return rebuild(h5path, jpath, st, err);
    if (st->file_end == st->end)
        return 0;
    char *tmp = NULL;
    const char *target = h5path;
    hid_t f = -1;
    /* Twice: a reader may come in between the check and the open. */
    for (int round = 0; round < 2 && f < 0; round++) {
        if (!tmp && file_busy(h5path)) {
            if (!allow_copy) {
                if (deferred)
                    *deferred = 1;
                return 0;
            }
            double t0 = l4h_monotonic();
            if (!(tmp = copy_aside(h5path, err)))
                return -1;
            st->copy_s = l4h_monotonic() - t0;
            target = tmp;
        }
        f = H5Fopen(target, H5F_ACC_RDWR, H5P_DEFAULT);
        if (f < 0 && (tmp || !file_busy(h5path)))
            break;
    }
    if (f < 0) { /* damaged: the journal has everything */
        H5Eclear2(H5E_DEFAULT);
        if (tmp) {
            unlink(tmp);
            free(tmp);
        }
        return rebuild(h5path, jpath, st, err);
    }
    int rc = store_apply_journal(f, jpath, st, err);
    if (H5Fclose(f) < 0 && !rc)
        rc = h5err(err, "cannot close", target);
    if (tmp) {
        if (!rc)
            rc = commit_tmp(tmp, h5path, err);
        else
            unlink(tmp);
        free(tmp);
    }
    if (rc) /* a half-applied file is marked `writing`: rebuild it */
        return rebuild(h5path, jpath, st, err);
    return 0;
}

static int sync_file(const char *h5path, const char *jpath, int force_rebuild, sync_state *st,
                     int64_t *dropped, l4h_err *err)
{
    memset(st, 0, sizeof *st);
    store_h5_quiet();
    file_view v;
    view_file(h5path, &v);
    pass_ctx c = {.st = st, .x = v.clean ? v.offset : 0};
    int64_t drop = 0;
    if (l4h_journal_read(jpath, 0, pass_record, &c, &st->end, &drop, err) != 0)
        return -1;
    if (dropped)
        *dropped = drop;
    if (c.x == st->end)
        c.boundary = 1;
    int ok = v.clean && !force_rebuild && c.boundary && c.x <= st->end &&
             c.records_at_x == v.records;
    for (int i = 0; i < 6 && ok; i++)
        ok = v.rows[i] == c.at_x[i];
    if (!ok) {
        if (!v.opened && !st->header_json && access(h5path, F_OK) == 0)
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "%s does not open as HDF5 and %s holds no records to rebuild it "
                               "from", h5path, jpath);
        return rebuild(h5path, jpath, st, err);
    }
    st->file_end = c.x;
    st->file_records = c.records_at_x;
    return store_update_file(h5path, jpath, st, 1, NULL, err);
}

/* Journal callback keeping the first record (the header) and stopping. */
static int header_cb(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                     void *ctx, l4h_err *err)
{
    (void)len, (void)offset, (void)index;
    if (type == L4H_J_HEADER)
        *(char **)ctx = l4h_xstrdup(payload);
    l4h_err_set(err, 0, "stop");
    return -1;
}

int store_sync_counts(const char *h5path, const char *jpath, sync_state *st, l4h_err *err)
{
    memset(st, 0, sizeof *st);
    store_h5_quiet();
    file_view v;
    view_file(h5path, &v);
    struct stat sb;
    if (v.clean && v.offset > 0 && stat(jpath, &sb) == 0 && S_ISREG(sb.st_mode) &&
        sb.st_size == v.offset) {
        l4h_err e2 = {0};
        l4h_journal_read(jpath, 0, header_cb, &st->header_json, NULL, NULL, &e2);
        if (st->header_json) {
            st->n_runs = v.rows[0];
            st->n_tasks = v.rows[1];
            st->n_records = st->file_records = v.records;
            st->end = st->file_end = v.offset;
            return 0;
        }
    }
    return store_sync_file(h5path, jpath, 0, st, NULL, err);
}

int store_sync_file(const char *h5path, const char *jpath, int force_rebuild, sync_state *st,
                  int64_t *dropped, l4h_err *err)
{
    int rc = sync_file(h5path, jpath, force_rebuild, st, dropped, err);
    if (rc)
        store_sync_state_free(st);
    return rc;
}
