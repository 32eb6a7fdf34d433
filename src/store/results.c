/* results.c — the reader: l4h_results_open reads /tasks and /annotations in
 * one go (no heap beyond long error summaries and annotation texts);
 * l4h_results_task loads one task's calls, execs and checks, reading only
 * its region of /text. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "pieces.h"
#include "store_internal.h"

/* The public struct plus where each task's rows are. */
typedef struct results_impl {
    l4h_results pub;
    int64_t *calls_row, *execs_row, *checks_row;
    int32_t *n_calls, *n_execs, *n_checks;
    int pieced; /* requests are /piece_refs rows (format 2), not text refs */
} results_impl;

/* 1 when a writer holds the file (a checkpoint is running right now). */
static int writer_holds(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* Open path read-only with a clear error; waits (up to 10 s) for a
 * checkpoint that holds the file to finish. */
static hid_t open_ro(const char *path, l4h_err *err)
{
    store_h5_quiet();
    if (access(path, R_OK) != 0)
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: no such results file", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    /* While a checkpoint writes the file, wait for it (up to 10 s); look once
     * more even when the writer seems gone: it may have just finished. */
    for (int tries = 0; f < 0 && tries < 200 && (tries == 0 || writer_holds(path)); tries++) {
        H5Eclear2(H5E_DEFAULT);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    }
    if (f < 0) {
        char m[512];
        store_h5_errmsg(m, sizeof m);
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: does not open as HDF5 (%s); if a campaign wrote it, its journal "
                           "rebuilds it: `llm4hep sweep` resumes and rebuilds", path, m);
    }
    int64_t v = 0;
    if (store_attr_get_i64(f, "format_version", &v) != 0 || v < 1 || v > L4H_FORMAT_VERSION) {
        H5Fclose(f);
        if (v > L4H_FORMAT_VERSION)
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "%s: format_version %" PRId64 " is newer than this llm4hep reads "
                               "(%d)", path, v, L4H_FORMAT_VERSION);
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: not an llm4hep results file (no format_version attribute)", path);
    }
    return f;
}

hid_t store_open_ro(const char *path, l4h_err *err)
{
    return open_ro(path, err);
}

/* Open /text with a chunk cache large enough for scattered small reads. */
static hid_t open_heap(hid_t f)
{
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 1009, 16u << 20, 1.0);
    hid_t d = H5Dopen2(f, "text", dapl);
    H5Pclose(dapl);
    return d;
}

/* store_get_text straight from the heap (ctx: the hid_t of /text). */
static int heap_get(void *ctx, const char *column, int64_t off, int64_t len, char **out,
                    l4h_err *err)
{
    (void)column;
    return store_heap_read(*(const hid_t *)ctx, off, len, out, err);
}

/* At most this many task attempts or annotations in one file: a 300-task
 * campaign has a few thousand; a declared extent beyond it is a damaged
 * file, refused before rows of that number are allocated. */
#define L4H_RESULTS_ROWS_MAX ((int64_t)1 << 24)

/* Each run's input series from /runs (series 1 for every run of a file
 * written before the column existed, or when /runs does not read; 0 for a
 * rescore run, which measured no task). */
static void read_run_series(hid_t f, l4h_results *res)
{
    int64_t n = store_table_rows(f, "runs", NULL);
    if (n <= 0 || n > L4H_RESULTS_ROWS_MAX) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    run_row *runs = l4h_xcalloc((size_t)n, sizeof *runs);
    int ok = store_table_read(f, &l4h_t_runs, 0, (size_t)n, runs, NULL) == 0;
    H5Eclear2(H5E_DEFAULT);
    res->run_series = l4h_xcalloc((size_t)n, sizeof *res->run_series);
    res->n_runs = (size_t)n;
    for (int64_t i = 0; i < n; i++)
        res->run_series[i] = ok && !strncmp(runs[i].kind, "rescore", sizeof runs[i].kind) ? 0
                             : ok && runs[i].input_series >= 1 ? runs[i].input_series : 1;
    free(runs);
}

/* Read the n rows of /tasks into ri: each task's fields (a long error
 * summary in full from heap) and where its rows are. 0, or -1 with err
 * (what was read is in ri, for l4h_results_free). */
static int read_tasks(hid_t f, hid_t heap, results_impl *ri, int64_t n, l4h_err *err)
{
    size_t m = (size_t)(n ? n : 1);
    task_row *rows = l4h_xcalloc(m, sizeof *rows); /* zeroed: a column the file lacks reads 0 */
    int rc = store_table_read(f, &l4h_t_tasks, 0, (size_t)n, rows, err);
    ri->pub.tasks = l4h_xcalloc(m, sizeof *ri->pub.tasks);
    ri->calls_row = l4h_xmalloc(m * 8);
    ri->execs_row = l4h_xmalloc(m * 8);
    ri->checks_row = l4h_xmalloc(m * 8);
    ri->n_calls = l4h_xmalloc(m * 4);
    ri->n_execs = l4h_xmalloc(m * 4);
    ri->n_checks = l4h_xmalloc(m * 4);
    for (int64_t i = 0; i < n && !rc; i++) {
        const task_row *t = &rows[i];
        ri->pub.n_tasks++;
        rc = store_task_read(&ri->pub.tasks[i], t, heap_get, &heap, err);
        ri->calls_row[i] = t->calls_row;
        ri->execs_row[i] = t->execs_row;
        ri->checks_row[i] = t->checks_row;
        ri->n_calls[i] = t->n_calls;
        ri->n_execs[i] = t->n_execs;
        ri->n_checks[i] = t->n_checks;
    }
    free(rows);
    return rc;
}

/* Read the na rows of /annotations into res, each text from heap. 0, or
 * -1 with err (what was read is in res, for l4h_results_free). */
static int read_annotations(hid_t f, hid_t heap, l4h_results *res, int64_t na, l4h_err *err)
{
    annotation_row *arows = l4h_xcalloc((size_t)(na ? na : 1), sizeof *arows); /* as above */
    int rc = store_table_read(f, &l4h_t_annotations, 0, (size_t)na, arows, err);
    res->annotations = l4h_xcalloc((size_t)(na ? na : 1), sizeof *res->annotations);
    for (int64_t i = 0; i < na && !rc; i++) {
        l4h_annotation *a = &res->annotations[i];
        res->n_annotations++;
        a->task_id = arows[i].task_id;
        a->source = store_fix_get(arows[i].source, sizeof arows[i].source);
        store_fix_copy(a->error_category, sizeof a->error_category, arows[i].error_category,
                     sizeof arows[i].error_category);
        rc = store_heap_read(heap, arows[i].text_off, arows[i].text_len, &a->text, err);
    }
    free(arows);
    return rc;
}

/* See store.h: the tables' sizes (refused when a damaged file declares
 * more rows than any campaign makes), then /tasks, /annotations, /runs. */
int l4h_results_open(const char *h5path, l4h_results **out, l4h_err *err)
{
    *out = NULL;
    hid_t f = open_ro(h5path, err);
    if (f < 0)
        return -1;
    results_impl *ri = l4h_xcalloc(1, sizeof *ri);
    l4h_results *res = &ri->pub;
    res->path = l4h_xstrdup(h5path);
    if (store_attr_get_str(f, "campaign", &res->campaign) != 0)
        res->campaign = l4h_xstrdup("");
    ri->pieced = store_pieces_in_file(f);
    hid_t heap = -1;
    int rc = -1;
    int64_t n = store_table_rows(f, "tasks", err), na = store_table_rows(f, "annotations", err);
    if (n < 0 || na < 0)
        goto out;
    if (n > L4H_RESULTS_ROWS_MAX || na > L4H_RESULTS_ROWS_MAX) {
        l4h_err_set(err, L4H_EXIT_USAGE,
                    "%s: /tasks has %" PRId64 " rows and /annotations %" PRId64 " (at most %" PRId64
                    " each are read): damaged file", h5path, n, na, (int64_t)L4H_RESULTS_ROWS_MAX);
        goto out;
    }
    heap = open_heap(f);
    if (heap < 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: no /text heap", h5path);
        goto out;
    }
    if (read_tasks(f, heap, ri, n, err) != 0 || read_annotations(f, heap, res, na, err) != 0)
        goto out;
    read_run_series(f, res);
    rc = 0;
out:
    if (heap >= 0)
        H5Dclose(heap);
    H5Fclose(f);
    if (rc) {
        l4h_results_free(res);
        return -1;
    }
    *out = res;
    return 0;
}

/* A text ref into a region [lo, hi) already read into buf (or read it from
 * the heap when buf is NULL or the ref is not inside the region). Refs are
 * checked (check_ref) before they get here. */
static int get_text(hid_t heap, const char *buf, int64_t lo, int64_t hi, int64_t off, int64_t len,
                    char **out, l4h_err *err)
{
    if (buf && len > 0 && off >= lo && len <= hi - off) {
        *out = l4h_xmalloc((size_t)len + 1);
        memcpy(*out, buf + (off - lo), (size_t)len);
        (*out)[len] = '\0';
        return 0;
    }
    return store_heap_read(heap, len > 0 ? off : 0, len, out, err);
}

/* 0 when the text ref (off, len) of table.column lies inside a heap of
 * heap_len bytes (len 0 is always fine); else -1 with the "damaged file"
 * error naming the task and the column. off + len is never computed before
 * both are known to fit, so a damaged file cannot wrap past the test. */
static int check_ref(const char *path, int64_t task_id, const char *table, const char *column,
                     int64_t off, int64_t len, uint64_t heap_len, l4h_err *err)
{
    if (len == 0)
        return 0;
    if (off >= 0 && len > 0 && (uint64_t)off <= heap_len && (uint64_t)len <= heap_len - (uint64_t)off &&
        (uint64_t)len <= L4H_TEXT_MAX)
        return 0;
    return l4h_err_set(err, L4H_EXIT_USAGE,
                       "%s: task %" PRId64 ": text ref %s.%s (%" PRId64 ", %" PRId64
                       ") is outside /text (%" PRIu64 " bytes): damaged file",
                       path, task_id, table, column, off, len, heap_len);
}

/* At most this many call, exec or check rows per task (a task makes a few
 * dozen; a larger count is a damaged file, not an allocation of its size). */
#define L4H_TASK_ROWS_MAX ((int64_t)1 << 20)

/* 0 when rows [first, first + n) lie inside table name (and n is at most
 * L4H_TASK_ROWS_MAX); else -1 with the "damaged file" error (checked before
 * anything of size n is allocated). */
static int check_rows(hid_t f, const char *path, int64_t task_id, const char *name, int64_t first,
                      int64_t n, l4h_err *err)
{
    int64_t rows = store_table_rows(f, name, err);
    if (rows < 0)
        return -1;
    if (first >= 0 && n >= 0 && first <= rows && n <= rows - first && n <= L4H_TASK_ROWS_MAX)
        return 0;
    return l4h_err_set(err, L4H_EXIT_USAGE,
                       "%s: task %" PRId64 ": rows %" PRId64 " (+%" PRId64 ") of /%s are outside "
                       "the table (%" PRId64 " rows): damaged file",
                       path, task_id, first, n, name, rows);
}

/* The index in res->tasks of the task task_id, or -1. Can't fail. */
static int64_t task_index(const l4h_results *res, int64_t task_id)
{
    if (task_id >= 1 && (size_t)task_id <= res->n_tasks && res->tasks[task_id - 1].task_id == task_id)
        return task_id - 1;
    for (size_t j = 0; j < res->n_tasks; j++)
        if (res->tasks[j].task_id == task_id)
            return (int64_t)j;
    return -1;
}

/* One task's rows of /calls, /execs and /checks. */
typedef struct task_rows {
    call_row *calls;
    exec_row *execs;
    check_row *checks;
    size_t n_calls, n_execs, n_checks;
} task_rows;

/* Read the rows of task i (index in res->tasks) from the open file f into
 * tr (zeroed), each range checked against its table first. 0, or -1 with
 * err; tr's arrays are the caller's to free either way. */
static int read_task_rows(hid_t f, const l4h_results *res, int64_t i, task_rows *tr, l4h_err *err)
{
    const results_impl *ri = (const results_impl *)res;
    int64_t task_id = res->tasks[i].task_id;
    if (check_rows(f, res->path, task_id, "calls", ri->calls_row[i], ri->n_calls[i], err) ||
        check_rows(f, res->path, task_id, "execs", ri->execs_row[i], ri->n_execs[i], err) ||
        check_rows(f, res->path, task_id, "checks", ri->checks_row[i], ri->n_checks[i], err))
        return -1;
    tr->n_calls = (size_t)ri->n_calls[i];
    tr->n_execs = (size_t)ri->n_execs[i];
    tr->n_checks = (size_t)ri->n_checks[i];
    tr->calls = l4h_xcalloc(tr->n_calls + 1, sizeof *tr->calls);
    tr->execs = l4h_xcalloc(tr->n_execs + 1, sizeof *tr->execs);
    tr->checks = l4h_xcalloc(tr->n_checks + 1, sizeof *tr->checks);
    if (store_table_read(f, &l4h_t_calls, ri->calls_row[i], tr->n_calls, tr->calls, err) ||
        store_table_read(f, &l4h_t_execs, ri->execs_row[i], tr->n_execs, tr->execs, err) ||
        store_table_read(f, &l4h_t_checks, ri->checks_row[i], tr->n_checks, tr->checks, err))
        return -1;
    return 0;
}

/* The region of /text holding one task's texts, read once: [lo, hi) in
 * buf (NULL when not read: no texts, or too sparse to read as one). */
typedef struct text_region {
    hid_t file;
    int pieced; /* a request's ref is a run of /piece_refs rows (store_pieces_read) */
    const char *path;
    int64_t task_id;
    hid_t heap;
    uint64_t heap_len;
    int64_t lo, hi, sum; /* span of the refs and their total length */
    char *buf;
} text_region;

/* store_ref_fn: check one ref against the heap and widen the span. */
static int region_ref(void *ctx, const char *table, const char *column, int64_t off, int64_t len,
                      l4h_err *err)
{
    text_region *g = ctx;
    if (g->pieced && strcmp(column, "request") == 0)
        return 0; /* store_pieces_read checks it against /piece_refs */
    if (check_ref(g->path, g->task_id, table, column, off, len, g->heap_len, err) < 0)
        return -1;
    if (len <= 0)
        return 0;
    if (off < g->lo)
        g->lo = off;
    if (off + len > g->hi)
        g->hi = off + len;
    g->sum = l4h_add_sat_i64(g->sum, len);
    return 0;
}

/* store_get_text: a text of the task, from the region or the heap. */
static int region_get(void *ctx, const char *column, int64_t off, int64_t len, char **out,
                      l4h_err *err)
{
    const text_region *g = ctx;
    if (g->pieced && strcmp(column, "request") == 0)
        return store_pieces_read(g->file, g->heap, g->heap_len, off, len, out, g->path,
                                 g->task_id, err);
    return get_text(g->heap, g->buf, g->lo, g->hi, off, len, out, err);
}

/* Open /text of f into g (path, task_id set) and check every text ref of
 * the rows against it first, so a damaged file is an error, never a read
 * or copy outside what was read; then read the span of the refs in one go
 * when they fill it densely. 0, or -1 with err; g->heap (when >= 0) and
 * g->buf are the caller's to close and free. */
static int read_region(hid_t f, text_region *g, const task_rows *tr, l4h_err *err)
{
    g->heap = open_heap(f);
    if (g->heap < 0)
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: no /text heap", g->path);
    hid_t fs = H5Dget_space(g->heap);
    hsize_t dims = 0;
    if (fs >= 0 && H5Sget_simple_extent_ndims(fs) == 1)
        H5Sget_simple_extent_dims(fs, &dims, NULL);
    if (fs >= 0)
        H5Sclose(fs);
    g->heap_len = dims;
    g->lo = INT64_MAX;
    g->hi = g->sum = 0;
    for (size_t k = 0; k < tr->n_calls; k++)
        if (store_call_refs(&tr->calls[k], region_ref, g, err))
            return -1;
    for (size_t k = 0; k < tr->n_execs; k++)
        if (store_exec_refs(&tr->execs[k], region_ref, g, err))
            return -1;
    for (size_t k = 0; k < tr->n_checks; k++)
        if (store_check_refs(&tr->checks[k], region_ref, g, err))
            return -1;
    if (g->sum > 0 && (uint64_t)(g->hi - g->lo) <= 2 * (uint64_t)g->sum + 65536)
        return store_heap_read(g->heap, g->lo, g->hi - g->lo, &g->buf, err);
    return 0;
}

/* Fill out with task i's fields (copied from res) and its calls, execs and
 * checks from the rows, texts from the region. 0, or -1 with err (out
 * holds what was read: the caller clears it). */
static int build_task(const l4h_results *res, int64_t i, const task_rows *tr, text_region *g,
                      l4h_task_rec *out, l4h_err *err)
{
    l4h_rec_copy_fields(out, &res->tasks[i]);
    for (size_t k = 0; k < tr->n_calls; k++)
        if (store_call_read(l4h_rec_add_call(out), &tr->calls[k], region_get, g, err))
            return -1;
    for (size_t k = 0; k < tr->n_execs; k++)
        if (store_exec_read(l4h_rec_add_exec(out), &tr->execs[k], region_get, g, err))
            return -1;
    for (size_t k = 0; k < tr->n_checks; k++) {
        l4h_check_rec *c = l4h_rec_add_check(out);
        if (store_check_read(c, &tr->checks[k], region_get, g, err))
            return -1;
        if (c->run <= 0) /* a file written before the column: the task's own run */
            c->run = out->run;
    }
    return 0;
}

/* See store.h: find the task, read its rows, check and read its texts'
 * region, build the record. */
int l4h_results_task(const l4h_results *res, int64_t task_id, l4h_task_rec *out, l4h_err *err)
{
    memset(out, 0, sizeof *out);
    int64_t i = task_index(res, task_id);
    if (i < 0)
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: no task %" PRId64, res->path, task_id);
    hid_t f = open_ro(res->path, err);
    if (f < 0)
        return -1;
    task_rows tr = {0};
    text_region g = {.file = f, .pieced = ((const results_impl *)res)->pieced,
                     .path = res->path, .task_id = task_id, .heap = -1};
    int rc = -1;
    if (read_task_rows(f, res, i, &tr, err) == 0 && read_region(f, &g, &tr, err) == 0 &&
        build_task(res, i, &tr, &g, out, err) == 0)
        rc = 0;
    if (rc)
        l4h_rec_clear(out);
    if (g.heap >= 0)
        H5Dclose(g.heap);
    H5Fclose(f);
    free(g.buf);
    free(tr.calls);
    free(tr.execs);
    free(tr.checks);
    return rc;
}

void l4h_results_free(l4h_results *res)
{
    if (!res)
        return;
    results_impl *ri = (results_impl *)res;
    for (size_t i = 0; i < res->n_tasks; i++)
        l4h_rec_clear(&res->tasks[i]);
    for (size_t i = 0; i < res->n_annotations; i++) {
        free(res->annotations[i].source);
        free(res->annotations[i].text);
    }
    free(res->tasks);
    free(res->annotations);
    free(res->run_series);
    free(res->path);
    free(res->campaign);
    free(ri->calls_row);
    free(ri->execs_row);
    free(ri->checks_row);
    free(ri->n_calls);
    free(ri->n_execs);
    free(ri->n_checks);
    free(ri);
}
