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
#include "store_int.h"

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
    l4h_h5_quiet();
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
        l4h_h5_errmsg(m, sizeof m);
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: does not open as HDF5 (%s); if a campaign wrote it, its journal "
                           "rebuilds it: `llm4hep sweep` resumes and rebuilds", path, m);
    }
    int64_t v = 0;
    if (l4h_attr_get_i64(f, "format_version", &v) != 0 || v < 1 || v > L4H_FORMAT_VERSION) {
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

/* Open /text with a chunk cache large enough for scattered small reads. */
static hid_t open_heap(hid_t f)
{
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 1009, 16u << 20, 1.0);
    hid_t d = H5Dopen2(f, "text", dapl);
    H5Pclose(dapl);
    return d;
}

/* Fill a task record's scalars and strings from its row. */
static void rec_from_row(const task_row *t, l4h_task_rec *r)
{
    memset(r, 0, sizeof *r);
    r->task_id = t->task_id;
    l4h_fix_copy(r->key, sizeof r->key, t->key, sizeof t->key);
    r->campaign = l4h_fix_get(t->campaign, sizeof t->campaign);
    r->supervisor = l4h_fix_get(t->supervisor, sizeof t->supervisor);
    r->coder = l4h_fix_get(t->coder, sizeof t->coder);
    r->step = l4h_fix_get(t->step, sizeof t->step);
    r->trial = t->trial;
    r->attempt = t->attempt;
    r->final = t->final;
    char status[25];
    l4h_fix_copy(status, sizeof status, t->status, sizeof t->status);
    int s = l4h_status_parse(status);
    r->status = s < 0 ? L4H_STATUS_ERROR_INTERNAL : (l4h_status)s;
    r->success = t->success;
    r->approved = t->approved;
    r->iterations = t->iterations;
    r->api_calls = t->api_calls;
    r->prompt_tokens = t->prompt_tokens;
    r->completion_tokens = t->completion_tokens;
    r->cost_usd = t->cost_usd;
    r->wall_s = t->wall_s;
    r->llm_s = t->llm_s;
    r->exec_s = t->exec_s;
    r->started_utc = t->started_utc;
    r->run = t->run;
    r->rank = t->rank;
    r->host = l4h_fix_get(t->host, sizeof t->host);
    l4h_fix_copy(r->error_category, sizeof r->error_category, t->error_category,
                 sizeof t->error_category);
    r->error_summary = l4h_fix_get(t->error_summary, sizeof t->error_summary);
}

/* At most this many task attempts or annotations in one file: a 300-task
 * campaign has a few thousand; a declared extent beyond it is a damaged
 * file, refused before rows of that number are allocated. */
#define L4H_RESULTS_ROWS_MAX ((int64_t)1 << 24)

/* Each run's input series from /runs (series 1 for every run of a file
 * written before the column existed, or when /runs does not read). */
static void read_run_series(hid_t f, l4h_results *res)
{
    int64_t n = l4h_table_rows(f, "runs", NULL);
    if (n <= 0 || n > L4H_RESULTS_ROWS_MAX) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    run_row *runs = l4h_xcalloc((size_t)n, sizeof *runs);
    int ok = l4h_table_read(f, &l4h_t_runs, 0, (size_t)n, runs, NULL) == 0;
    H5Eclear2(H5E_DEFAULT);
    res->run_series = l4h_xcalloc((size_t)n, sizeof *res->run_series);
    res->n_runs = (size_t)n;
    for (int64_t i = 0; i < n; i++)
        res->run_series[i] = ok && runs[i].input_series >= 1 ? runs[i].input_series : 1;
    free(runs);
}

int l4h_results_open(const char *h5path, l4h_results **out, l4h_err *err)
{
    *out = NULL;
    hid_t f = open_ro(h5path, err);
    if (f < 0)
        return -1;
    results_impl *ri = l4h_xcalloc(1, sizeof *ri);
    l4h_results *res = &ri->pub;
    res->path = l4h_xstrdup(h5path);
    if (l4h_attr_get_str(f, "campaign", &res->campaign) != 0)
        res->campaign = l4h_xstrdup("");
    ri->pieced = store_pieces_in_file(f);
    task_row *rows = NULL;
    annotation_row *arows = NULL;
    hid_t heap = -1;
    int rc = -1;
    int64_t n = l4h_table_rows(f, "tasks", err), na = l4h_table_rows(f, "annotations", err);
    if (n < 0 || na < 0)
        goto out;
    if (n > L4H_RESULTS_ROWS_MAX || na > L4H_RESULTS_ROWS_MAX) {
        l4h_err_set(err, L4H_EXIT_USAGE,
                    "%s: /tasks has %" PRId64 " rows and /annotations %" PRId64 " (at most %" PRId64
                    " each are read): damaged file", h5path, n, na, (int64_t)L4H_RESULTS_ROWS_MAX);
        goto out;
    }
    rows = l4h_xmalloc((size_t)(n ? n : 1) * sizeof *rows);
    if (l4h_table_read(f, &l4h_t_tasks, 0, (size_t)n, rows, err) != 0)
        goto out;
    heap = open_heap(f);
    if (heap < 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: no /text heap", h5path);
        goto out;
    }
    res->tasks = l4h_xcalloc((size_t)(n ? n : 1), sizeof *res->tasks);
    ri->calls_row = l4h_xmalloc((size_t)(n ? n : 1) * 8);
    ri->execs_row = l4h_xmalloc((size_t)(n ? n : 1) * 8);
    ri->checks_row = l4h_xmalloc((size_t)(n ? n : 1) * 8);
    ri->n_calls = l4h_xmalloc((size_t)(n ? n : 1) * 4);
    ri->n_execs = l4h_xmalloc((size_t)(n ? n : 1) * 4);
    ri->n_checks = l4h_xmalloc((size_t)(n ? n : 1) * 4);
    for (int64_t i = 0; i < n; i++) {
        const task_row *t = &rows[i];
        l4h_task_rec *r = &res->tasks[i];
        rec_from_row(t, r);
        res->n_tasks++;
        ri->calls_row[i] = t->calls_row;
        ri->execs_row[i] = t->execs_row;
        ri->checks_row[i] = t->checks_row;
        ri->n_calls[i] = t->n_calls;
        ri->n_execs[i] = t->n_execs;
        ri->n_checks[i] = t->n_checks;
        if (t->error_summary_len > (int64_t)strlen(r->error_summary)) { /* truncated inline */
            free(r->error_summary);
            if (l4h_heap_read(heap, t->error_summary_off, t->error_summary_len, &r->error_summary,
                              err) != 0)
                goto out;
        }
    }
    arows = l4h_xmalloc((size_t)(na ? na : 1) * sizeof *arows);
    if (l4h_table_read(f, &l4h_t_annotations, 0, (size_t)na, arows, err) != 0)
        goto out;
    res->annotations = l4h_xcalloc((size_t)(na ? na : 1), sizeof *res->annotations);
    for (int64_t i = 0; i < na; i++) {
        l4h_annotation *a = &res->annotations[i];
        res->n_annotations++;
        a->task_id = arows[i].task_id;
        a->source = l4h_fix_get(arows[i].source, sizeof arows[i].source);
        l4h_fix_copy(a->error_category, sizeof a->error_category, arows[i].error_category,
                     sizeof arows[i].error_category);
        if (l4h_heap_read(heap, arows[i].text_off, arows[i].text_len, &a->text, err) != 0)
            goto out;
    }
    read_run_series(f, res);
    rc = 0;
out:
    if (heap >= 0)
        H5Dclose(heap);
    H5Fclose(f);
    free(rows);
    free(arows);
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
    return l4h_heap_read(heap, len > 0 ? off : 0, len, out, err);
}

/* 0 when the text ref (off, len) of column col lies inside a heap of
 * heap_len bytes (len 0 is always fine); else -1 with the "damaged file"
 * error naming the task and the column. off + len is never computed before
 * both are known to fit, so a damaged file cannot wrap past the test. */
static int check_ref(const char *path, int64_t task_id, const char *col, int64_t off, int64_t len,
                     uint64_t heap_len, l4h_err *err)
{
    if (len == 0)
        return 0;
    if (off >= 0 && len > 0 && (uint64_t)off <= heap_len && (uint64_t)len <= heap_len - (uint64_t)off &&
        (uint64_t)len <= L4H_TEXT_MAX)
        return 0;
    return l4h_err_set(err, L4H_EXIT_USAGE,
                       "%s: task %" PRId64 ": text ref %s (%" PRId64 ", %" PRId64
                       ") is outside /text (%" PRIu64 " bytes): damaged file",
                       path, task_id, col, off, len, heap_len);
}

/* Update the span [lo, hi) and the total with one checked ref. */
static void span(int64_t off, int64_t len, int64_t *lo, int64_t *hi, int64_t *sum)
{
    if (len <= 0)
        return;
    if (off < *lo)
        *lo = off;
    if (off + len > *hi)
        *hi = off + len;
    *sum = l4h_add_sat_i64(*sum, len);
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
    int64_t rows = l4h_table_rows(f, name, err);
    if (rows < 0)
        return -1;
    if (first >= 0 && n >= 0 && first <= rows && n <= rows - first && n <= L4H_TASK_ROWS_MAX)
        return 0;
    return l4h_err_set(err, L4H_EXIT_USAGE,
                       "%s: task %" PRId64 ": rows %" PRId64 " (+%" PRId64 ") of /%s are outside "
                       "the table (%" PRId64 " rows): damaged file",
                       path, task_id, first, n, name, rows);
}

int l4h_results_task(const l4h_results *res, int64_t task_id, l4h_task_rec *out, l4h_err *err)
{
    memset(out, 0, sizeof *out);
    const results_impl *ri = (const results_impl *)res;
    int64_t i = -1;
    if (task_id >= 1 && (size_t)task_id <= res->n_tasks && res->tasks[task_id - 1].task_id == task_id)
        i = task_id - 1;
    for (size_t j = 0; i < 0 && j < res->n_tasks; j++)
        if (res->tasks[j].task_id == task_id)
            i = (int64_t)j;
    if (i < 0)
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: no task %" PRId64, res->path, task_id);
    hid_t f = open_ro(res->path, err);
    if (f < 0)
        return -1;
    if (check_rows(f, res->path, task_id, "calls", ri->calls_row[i], ri->n_calls[i], err) ||
        check_rows(f, res->path, task_id, "execs", ri->execs_row[i], ri->n_execs[i], err) ||
        check_rows(f, res->path, task_id, "checks", ri->checks_row[i], ri->n_checks[i], err)) {
        H5Fclose(f);
        return -1;
    }
    size_t nc = (size_t)ri->n_calls[i], ne = (size_t)ri->n_execs[i], nk = (size_t)ri->n_checks[i];
    call_row *cr = l4h_xcalloc(nc + 1, sizeof *cr);
    exec_row *er = l4h_xcalloc(ne + 1, sizeof *er);
    check_row *kr = l4h_xcalloc(nk + 1, sizeof *kr);
    hid_t heap = -1;
    char *buf = NULL;
    int rc = -1;
    if (l4h_table_read(f, &l4h_t_calls, ri->calls_row[i], nc, cr, err) ||
        l4h_table_read(f, &l4h_t_execs, ri->execs_row[i], ne, er, err) ||
        l4h_table_read(f, &l4h_t_checks, ri->checks_row[i], nk, kr, err))
        goto out;
    heap = open_heap(f);
    if (heap < 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: no /text heap", res->path);
        goto out;
    }
    /* Every ref is checked against the heap first: a damaged file is an
     * error, never a read or copy outside what was read. */
    uint64_t heap_len = 0;
    {
        hid_t fs = H5Dget_space(heap);
        hsize_t dims = 0;
        if (fs >= 0 && H5Sget_simple_extent_ndims(fs) == 1)
            H5Sget_simple_extent_dims(fs, &dims, NULL);
        if (fs >= 0)
            H5Sclose(fs);
        heap_len = dims;
    }
#define REF(col, o, n)                                                                      \
    if (check_ref(res->path, task_id, col, o, n, heap_len, err) < 0)                        \
        goto out;
    for (size_t k = 0; k < nc; k++) {
        if (!ri->pieced)
            REF("calls.request", cr[k].request_off, cr[k].request_len)
        REF("calls.response", cr[k].response_off, cr[k].response_len)
        REF("calls.attempt_log", cr[k].attempt_log_off, cr[k].attempt_log_len)
    }
    for (size_t k = 0; k < ne; k++) {
        REF("execs.code", er[k].code_off, er[k].code_len)
        REF("execs.stdout", er[k].stdout_off, er[k].stdout_len)
        REF("execs.stderr", er[k].stderr_off, er[k].stderr_len)
    }
    for (size_t k = 0; k < nk; k++)
        REF("checks.report", kr[k].report_off, kr[k].report_len)
#undef REF
    /* One task's texts are one region of the heap: read it once. */
    int64_t lo = INT64_MAX, hi = 0, sum = 0;
    for (size_t k = 0; k < nc; k++) {
        if (!ri->pieced)
            span(cr[k].request_off, cr[k].request_len, &lo, &hi, &sum);
        span(cr[k].response_off, cr[k].response_len, &lo, &hi, &sum);
        span(cr[k].attempt_log_off, cr[k].attempt_log_len, &lo, &hi, &sum);
    }
    for (size_t k = 0; k < ne; k++) {
        span(er[k].code_off, er[k].code_len, &lo, &hi, &sum);
        span(er[k].stdout_off, er[k].stdout_len, &lo, &hi, &sum);
        span(er[k].stderr_off, er[k].stderr_len, &lo, &hi, &sum);
    }
    for (size_t k = 0; k < nk; k++)
        span(kr[k].report_off, kr[k].report_len, &lo, &hi, &sum);
    if (sum > 0 && (uint64_t)(hi - lo) <= 2 * (uint64_t)sum + 65536 && l4h_heap_read(heap, lo, hi - lo, &buf, err) != 0)
        goto out;

    const l4h_task_rec *t = &res->tasks[i];
    *out = *t;
    out->campaign = l4h_xstrdup(t->campaign);
    out->supervisor = l4h_xstrdup(t->supervisor);
    out->coder = l4h_xstrdup(t->coder);
    out->step = l4h_xstrdup(t->step);
    out->host = l4h_xstrdup(t->host);
    out->error_summary = l4h_xstrdup(t->error_summary);
    out->calls = NULL;
    out->execs = NULL;
    out->checks = NULL;
    out->n_calls = out->n_execs = out->n_checks = 0;
    for (size_t k = 0; k < nc; k++) {
        l4h_call_rec *c = l4h_rec_add_call(out);
        c->iteration = cr[k].iteration;
        l4h_fix_copy(c->agent, sizeof c->agent, cr[k].agent, sizeof cr[k].agent);
        c->call = cr[k].call;
        c->model = l4h_fix_get(cr[k].model, sizeof cr[k].model);
        c->http_status = cr[k].http_status;
        c->attempts = cr[k].attempts;
        c->latency_s = cr[k].latency_s;
        c->prompt_tokens = cr[k].prompt_tokens;
        c->completion_tokens = cr[k].completion_tokens;
        c->cached_prompt_tokens = cr[k].cached_prompt_tokens;
        c->reasoning_tokens = cr[k].reasoning_tokens;
        c->cost_usd = cr[k].cost_usd;
        l4h_fix_copy(c->finish_reason, sizeof c->finish_reason, cr[k].finish_reason,
                     sizeof cr[k].finish_reason);
        l4h_fix_copy(c->served_model, sizeof c->served_model, cr[k].served_model,
                     sizeof cr[k].served_model);
        l4h_fix_copy(c->system_fingerprint, sizeof c->system_fingerprint, cr[k].system_fingerprint,
                     sizeof cr[k].system_fingerprint);
        l4h_fix_copy(c->served_model_id, sizeof c->served_model_id, cr[k].served_model_id,
                     sizeof cr[k].served_model_id);
        if ((ri->pieced ? store_pieces_read(f, heap, heap_len, cr[k].request_off, cr[k].request_len,
                                            &c->request, res->path, task_id, err)
                        : get_text(heap, buf, lo, hi, cr[k].request_off, cr[k].request_len,
                                   &c->request, err)) ||
            get_text(heap, buf, lo, hi, cr[k].response_off, cr[k].response_len, &c->response, err) ||
            get_text(heap, buf, lo, hi, cr[k].attempt_log_off, cr[k].attempt_log_len, &c->attempt_log,
                     err))
            goto out;
    }
    for (size_t k = 0; k < ne; k++) {
        l4h_exec_rec *e = l4h_rec_add_exec(out);
        e->iteration = er[k].iteration;
        l4h_fix_copy(e->kind, sizeof e->kind, er[k].kind, sizeof er[k].kind);
        e->exit_code = er[k].exit_code;
        e->signal = er[k].signal;
        e->timed_out = er[k].timed_out;
        e->wall_s = er[k].wall_s;
        e->max_rss_kb = er[k].max_rss_kb;
        l4h_fix_copy(e->isolation, sizeof e->isolation, er[k].isolation, sizeof er[k].isolation);
        e->truncated = er[k].truncated;
        l4h_fix_copy(e->limit, sizeof e->limit, er[k].limit, sizeof er[k].limit);
        if (get_text(heap, buf, lo, hi, er[k].code_off, er[k].code_len, &e->code, err) ||
            get_text(heap, buf, lo, hi, er[k].stdout_off, er[k].stdout_len, &e->stdout_text, err) ||
            get_text(heap, buf, lo, hi, er[k].stderr_off, er[k].stderr_len, &e->stderr_text, err))
            goto out;
    }
    for (size_t k = 0; k < nk; k++) {
        l4h_check_rec *c = l4h_rec_add_check(out);
        c->check = l4h_fix_get(kr[k].check, sizeof kr[k].check);
        c->passed = kr[k].passed;
        c->n_bad = kr[k].n_bad;
        c->max_rel_diff = kr[k].max_rel_diff;
        if (get_text(heap, buf, lo, hi, kr[k].report_off, kr[k].report_len, &c->report, err))
            goto out;
    }
    rc = 0;
out:
    if (rc)
        l4h_rec_clear(out);
    if (heap >= 0)
        H5Dclose(heap);
    H5Fclose(f);
    free(buf);
    free(cr);
    free(er);
    free(kr);
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
