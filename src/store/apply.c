/* apply.c — turn journal records into rows of the results file: batches of
 * records become one heap append and one append per table, then superseded
 * rows get final = 0 in place. docs/results-format.md is the layout. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pieces.h"
#include "store_internal.h"

#define BATCH_RECORDS 512
#define BATCH_BYTES (64u << 20)

typedef struct pending {
    int type;
    char *payload;
    size_t len;
    int64_t offset;
} pending;

typedef struct apply_ctx {
    hid_t file;
    sync_state *st;
    pending *p;
    size_t n, cap, bytes;
    int64_t applied_end;
    char *config_sha256; /* of the newest R record applied */
} apply_ctx;

/* Put text s in the batch's heap buffer and set its ref. Can't fail. */
static void text_ref(l4h_buf *b, int64_t base, const char *s, int64_t *off, int64_t *len)
{
    size_t n = s ? strlen(s) : 0;
    if (!n) {
        *off = *len = 0;
        return;
    }
    *off = base + (int64_t)b->len;
    *len = (int64_t)n;
    l4h_buf_add(b, s, n);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "NaN"))
        return NAN;
    return dflt;
}

/* Growable arrays of rows for one batch. */
typedef struct rows {
    void *v;
    size_t n, cap, size;
} rows;

static void *row_add(rows *r)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = l4h_xrealloc(r->v, r->cap * r->size);
    }
    void *e = (char *)r->v + r->n++ * r->size;
    memset(e, 0, r->size);
    return e;
}

typedef struct run_end {
    int run;
    double ended_utc;
    int exit_code;
} run_end;

/* One batch of journal records on its way to the file: the file's row
 * counts and heap length before it, the rows it adds to each table, the
 * heap bytes it appends (refs count from base), and its parsed task
 * records (by position in the batch). */
typedef struct batch {
    int64_t n_runs, n_tasks, n_calls, n_execs, n_checks, base;
    rows runs, tasks, calls, execs, checks, anns, ins;
    rows ends;    /* run_end of runs begun before the batch */
    rows unfinal; /* task_id of rows already in the file that a newer attempt supersedes */
    l4h_buf text;
    l4h_task_rec *recs;
    int64_t *sum_off, *sum_len; /* each task record's error summary ref */
    piece_writer pw;            /* requests go in as pieces, each stored once (pieces.c) */
} batch;

/* store_put_text for a batch (ctx): the text goes in its heap buffer; a
 * request goes in as its pieces (each distinct piece stored once: its ref
 * is then a run of /piece_refs rows), and a response's long strings become
 * pieces the next request can name instead of storing them again. */
static void put_text(void *ctx, const char *column, const char *s, int64_t *off, int64_t *len)
{
    batch *b = ctx;
    if (strcmp(column, "request") == 0) {
        store_pieces_add_body(&b->pw, &b->text, b->base, s, off, len);
        return;
    }
    text_ref(&b->text, b->base, s, off, len);
    if (strcmp(column, "response") == 0)
        store_pieces_note_text(&b->pw, &b->text, b->base, *off, *len);
}

/* Start a batch of n records for file f (pieces: the file's piece index,
 * made ready only when with_tasks: a batch of run, annotation or rescore
 * records stores no requests, and loading the index costs O(pieces in the
 * file)): read the tables' row counts and the heap's length. 0, or -1 with
 * err (b then holds nothing to free). */
static int batch_begin(batch *b, hid_t f, piece_index **pieces, int with_tasks, size_t n,
                       l4h_err *err)
{
    memset(b, 0, sizeof *b);
    b->n_runs = store_table_rows(f, "runs", err);
    b->n_tasks = store_table_rows(f, "tasks", err);
    b->n_calls = store_table_rows(f, "calls", err);
    b->n_execs = store_table_rows(f, "execs", err);
    b->n_checks = store_table_rows(f, "checks", err);
    b->base = store_heap_len(f, err);
    if (b->n_runs < 0 || b->n_tasks < 0 || b->n_calls < 0 || b->n_execs < 0 || b->n_checks < 0 ||
        b->base < 0)
        return -1;
    if (with_tasks && store_pieces_begin(&b->pw, f, pieces, err) != 0)
        return -1;
    b->runs.size = sizeof(run_row);
    b->tasks.size = sizeof(task_row);
    b->calls.size = sizeof(call_row);
    b->execs.size = sizeof(exec_row);
    b->checks.size = sizeof(check_row);
    b->anns.size = sizeof(annotation_row);
    b->ins.size = sizeof(input_row);
    b->ends.size = sizeof(run_end);
    b->unfinal.size = sizeof(int64_t);
    b->recs = l4h_xcalloc(n, sizeof *b->recs);
    b->sum_off = l4h_xcalloc(n, sizeof *b->sum_off);
    b->sum_len = l4h_xcalloc(n, sizeof *b->sum_len);
    return 0;
}

/* Free everything a begun batch of n records holds. Can't fail. */
static void batch_free(batch *b, size_t n)
{
    for (size_t i = 0; b->recs && i < n; i++)
        l4h_rec_clear(&b->recs[i]);
    free(b->recs);
    free(b->sum_off);
    free(b->sum_len);
    rows *all[] = {&b->runs, &b->tasks, &b->calls, &b->execs, &b->checks,
                   &b->anns, &b->ins,   &b->ends,  &b->unfinal};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->v);
    l4h_buf_free(&b->text);
    store_pieces_abandon(&b->pw); /* what a failed batch did not write */
}

/* Name a bad record for error messages. */
static int bad_record(l4h_err *err, const pending *p, const char *why)
{
    return l4h_err_set(err, L4H_EXIT_INFRA,
                       "journal record at byte %" PRId64 " ('%c'): %s", p->offset, p->type, why);
}

/* Parse the batch's task records into b->recs and put their error
 * summaries first in the heap (one region for the reader's summaries).
 * 0, or -1 with err naming the first malformed record. */
static int parse_tasks(const apply_ctx *c, batch *b, l4h_err *err)
{
    for (size_t i = 0; i < c->n; i++) {
        const pending *p = &c->p[i];
        if (p->type != L4H_J_TASK)
            continue;
        l4h_err e2;
        if (l4h_rec_from_json(p->payload, p->len, &b->recs[i], &e2) != 0)
            return bad_record(err, p, e2.msg);
    }
    for (size_t i = 0; i < c->n; i++)
        if (c->p[i].type == L4H_J_TASK)
            put_text(b, "error_summary", b->recs[i].error_summary, &b->sum_off[i], &b->sum_len[i]);
    return 0;
}

/* Fill the reserved /execs rows (from e0, in record order) of record r's
 * executions of `iteration` (or all not yet filled when all): their texts
 * then follow that iteration's calls in the heap, so an answer and the code
 * it ran, an output and the review that quotes it, share deflate's window
 * (the file is about a quarter smaller). Can't fail. */
static void fill_execs(batch *b, const l4h_task_rec *r, size_t e0, int iteration, int all,
                       char *done)
{
    for (size_t k = 0; k < r->n_execs; k++) {
        if (done[k] || (!all && r->execs[k].iteration != iteration))
            continue;
        store_exec_fill((exec_row *)b->execs.v + e0 + k, &r->execs[k], put_text, b);
        done[k] = 1;
    }
}

/* The /tasks row of record i of the batch and the /calls, /execs and
 * /checks rows of its calls, executions and checks. Can't fail. */
static void task_rows(batch *b, size_t i)
{
    const l4h_task_rec *r = &b->recs[i];
    task_row *t = row_add(&b->tasks);
    store_task_fill(t, r, put_text, b);
    t->final = 1; /* the newest attempt of its key so far; see add_task */
    t->error_summary_off = b->sum_off[i];
    t->error_summary_len = b->sum_len[i];
    t->calls_row = b->n_calls + (int64_t)b->calls.n;
    t->n_calls = (int32_t)r->n_calls;
    t->execs_row = b->n_execs + (int64_t)b->execs.n;
    t->n_execs = (int32_t)r->n_execs;
    t->checks_row = b->n_checks + (int64_t)b->checks.n;
    t->n_checks = (int32_t)r->n_checks;
    size_t e0 = b->execs.n;
    for (size_t k = 0; k < r->n_execs; k++)
        ((exec_row *)row_add(&b->execs))->task_id = r->task_id;
    char *done = l4h_xcalloc(r->n_execs + 1, 1);
    for (size_t k = 0; k < r->n_calls; k++) {
        call_row *row = row_add(&b->calls);
        row->task_id = r->task_id;
        store_call_fill(row, &r->calls[k], put_text, b);
        if (k + 1 == r->n_calls || r->calls[k + 1].iteration != r->calls[k].iteration)
            fill_execs(b, r, e0, r->calls[k].iteration, 0, done);
    }
    fill_execs(b, r, e0, 0, 1, done);
    free(done);
    for (size_t k = 0; k < r->n_checks; k++) {
        check_row *row = row_add(&b->checks);
        row->task_id = r->task_id;
        store_check_fill(row, &r->checks[k], put_text, b);
        if (row->run <= 0) /* judged by the task's own run */
            row->run = r->run;
    }
}

/* Add task record i of the batch: its task_id must be the next one; its
 * rows are added and the previous attempt of its key loses final (in the
 * batch, or queued in b->unfinal when already in the file). 0, or -1 with
 * err on a task_id out of sequence. */
static int add_task(apply_ctx *c, batch *b, size_t i, l4h_err *err)
{
    const l4h_task_rec *r = &b->recs[i];
    int64_t want = b->n_tasks + (int64_t)b->tasks.n + 1;
    if (r->task_id != want) {
        char m[128];
        snprintf(m, sizeof m, "task_id %" PRId64 " where %" PRId64 " was expected", r->task_id,
                 want);
        return bad_record(err, &c->p[i], m);
    }
    size_t first_call = b->calls.n;
    task_rows(b, i);
    const char *why = NULL;
    if (store_pieces_add_record(&b->pw, &b->text, b->base, c->p[i].payload, c->p[i].len,
                                (call_row *)b->calls.v + first_call, r->n_calls, &why) != 0)
        return bad_record(err, &c->p[i], why);
    key_entry *k = store_keymap_get(&c->st->keys, r->key, 1);
    if (k && k->file_task_id > 0) {
        if (k->file_task_id > b->n_tasks) /* the superseded row is in this batch */
            ((task_row *)b->tasks.v)[k->file_task_id - b->n_tasks - 1].final = 0;
        else
            *(int64_t *)row_add(&b->unfinal) = k->file_task_id;
    }
    if (k)
        k->file_task_id = r->task_id;
    return 0;
}

/* The /runs row and the /inputs rows of an R record (o); remembers its
 * config_sha256 for the file's attribute. Can't fail. */
static void add_run_begin(apply_ctx *c, batch *b, const cJSON *o)
{
    run_row *r = row_add(&b->runs);
    r->run = (int32_t)jnum(o, "run", 0);
    r->started_utc = jnum(o, "started_utc", NAN);
    r->ended_utc = NAN;
    r->exit_code = -1;
    store_fix_set(r->slurm_job_id, sizeof r->slurm_job_id, jstr(o, "slurm_job_id"));
    r->slurm_restart_count = (int32_t)jnum(o, "slurm_restart_count", 0);
    r->ranks = (int32_t)jnum(o, "ranks", 0);
    store_fix_set(r->hosts, sizeof r->hosts, jstr(o, "hosts"));
    store_fix_set(r->llm4hep_version, sizeof r->llm4hep_version, jstr(o, "llm4hep_version"));
    store_fix_set(r->git_commit, sizeof r->git_commit, jstr(o, "git_commit"));
    put_text(b, "config_text", jstr(o, "config_text"), &r->config_off, &r->config_len);
    put_text(b, "python_packages", jstr(o, "python_packages"), &r->python_packages_off, &r->python_packages_len);
    store_fix_set(r->inputs_sha256, sizeof r->inputs_sha256, jstr(o, "inputs_sha256"));
    r->input_series = (int32_t)jnum(o, "input_series", 1);
    store_fix_set(r->kind, sizeof r->kind, "sweep");
    const cJSON *fi;
    cJSON_ArrayForEach(fi, cJSON_GetObjectItemCaseSensitive(o, "inputs")) {
        input_row *ir = row_add(&b->ins);
        ir->run = r->run;
        store_fix_set(ir->sha256, sizeof ir->sha256, jstr(fi, "sha256"));
        ir->size = (int64_t)jnum(fi, "size", 0);
        put_text(b, "path", jstr(fi, "path"), &ir->path_off, &ir->path_len);
        put_text(b, "text", jstr(fi, "text"), &ir->content_off, &ir->content_len);
    }
    if (jstr(o, "config_sha256")) {
        free(c->config_sha256);
        c->config_sha256 = l4h_xstrdup(jstr(o, "config_sha256"));
    }
}

/* An E record (o of p): sets the run's end in its row when the run began
 * in this batch, else queues the update in b->ends. 0, or -1 with err for
 * a run that never began. */
static int add_run_end(batch *b, const cJSON *o, const pending *p, l4h_err *err)
{
    run_end *e = row_add(&b->ends);
    e->run = (int)jnum(o, "run", 0);
    e->ended_utc = jnum(o, "ended_utc", NAN);
    e->exit_code = (int)jnum(o, "exit_code", -1);
    if (e->run > b->n_runs && e->run <= b->n_runs + (int64_t)b->runs.n) { /* begun in this batch */
        run_row *r = &((run_row *)b->runs.v)[e->run - b->n_runs - 1];
        r->ended_utc = e->ended_utc;
        r->exit_code = e->exit_code;
        b->ends.n--;
    } else if (e->run < 1 || e->run > b->n_runs) {
        return bad_record(err, p, "run end for a run that never began");
    }
    return 0;
}

/* The /runs row and the /checks rows of a C record (o of p): a rescore run
 * and, per task it judged again, its checks (with their run). 0, or -1 with
 * err when it does not parse, is out of sequence or names an unknown task. */
static int add_rescore(batch *b, const cJSON *o, const pending *p, l4h_err *err)
{
    run_row *r = row_add(&b->runs);
    r->run = (int32_t)jnum(o, "run", 0);
    if (r->run != b->n_runs + (int64_t)b->runs.n)
        return bad_record(err, p, "a rescore run out of sequence");
    r->started_utc = jnum(o, "started_utc", NAN);
    r->ended_utc = jnum(o, "ended_utc", NAN);
    r->exit_code = (int32_t)jnum(o, "exit_code", -1);
    r->ranks = 1;
    store_fix_set(r->hosts, sizeof r->hosts, jstr(o, "hosts"));
    store_fix_set(r->llm4hep_version, sizeof r->llm4hep_version, jstr(o, "llm4hep_version"));
    store_fix_set(r->git_commit, sizeof r->git_commit, jstr(o, "git_commit"));
    put_text(b, "config_text", jstr(o, "config_text"), &r->config_off, &r->config_len);
    r->input_series = 0; /* measured nothing: its rows are checks of earlier runs' tasks */
    store_fix_set(r->kind, sizeof r->kind, "rescore");
    int64_t known = b->n_tasks + (int64_t)b->tasks.n;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(o, "tasks")) {
        int64_t task_id = (int64_t)jnum(t, "task_id", 0);
        if (task_id < 1 || task_id > known)
            return bad_record(err, p, "a rescore of a task the journal does not hold");
        char *js = cJSON_PrintUnformatted(t);
        l4h_task_rec rec = {0};
        l4h_err e;
        int bad = l4h_rec_from_json(js, strlen(js), &rec, &e);
        free(js);
        if (bad)
            return bad_record(err, p, e.msg);
        for (size_t k = 0; k < rec.n_checks; k++) {
            check_row *row = row_add(&b->checks);
            row->task_id = task_id;
            store_check_fill(row, &rec.checks[k], put_text, b);
            row->run = r->run;
        }
        l4h_rec_clear(&rec);
    }
    return 0;
}

/* The /annotations row of an A record (o). Can't fail. */
static void add_annotation(batch *b, const cJSON *o)
{
    annotation_row *a = row_add(&b->anns);
    a->task_id = (int64_t)jnum(o, "task_id", 0);
    store_fix_set(a->source, sizeof a->source, jstr(o, "source"));
    store_fix_set(a->error_category, sizeof a->error_category, jstr(o, "error_category"));
    a->created_utc = jnum(o, "created_utc", NAN);
    put_text(b, "text", jstr(o, "text"), &a->text_off, &a->text_len);
}

/* Add a record that is not a task (H is in the file's attributes
 * already). 0, or -1 with err naming a record that is no JSON object or
 * ends a run that never began. */
static int add_record(apply_ctx *c, batch *b, const pending *p, l4h_err *err)
{
    if (p->type == L4H_J_HEADER)
        return 0;
    cJSON *o = cJSON_ParseWithLength(p->payload, p->len);
    int rc = 0;
    if (!cJSON_IsObject(o))
        rc = bad_record(err, p, "payload is not a JSON object");
    else if (p->type == L4H_J_RUN_BEGIN)
        add_run_begin(c, b, o);
    else if (p->type == L4H_J_RUN_END)
        rc = add_run_end(b, o, p, err);
    else if (p->type == L4H_J_ANNOTATION)
        add_annotation(b, o);
    else if (p->type == L4H_J_RESCORE)
        rc = add_rescore(b, o, p, err);
    cJSON_Delete(o);
    return rc;
}

/* Write the batch to the file: the heap, then each table's new rows, then
 * the in-place updates (final = 0 on superseded rows, run ends) and the
 * config_sha256 attribute. 0, or -1 with err at the first HDF5 failure. */
static int write_batch(apply_ctx *c, batch *b, l4h_err *err)
{
    hid_t f = c->file;
    int rc = store_heap_append(f, b->text.data, b->text.len, err);
    if (!rc)
        rc = store_pieces_flush(&b->pw, err);
    if (!rc)
        rc = store_table_append(f, &l4h_t_runs, b->runs.v, b->runs.n, err);
    if (!rc && b->ins.n && store_table_rows(f, l4h_t_inputs.name, NULL) < 0) {
        H5Eclear2(H5E_DEFAULT); /* a file written before /inputs existed */
        rc = store_table_create(f, &l4h_t_inputs, err);
    }
    const struct { const table_desc *t; const rows *r; } adds[] = {
        {&l4h_t_inputs, &b->ins},  {&l4h_t_tasks, &b->tasks},   {&l4h_t_calls, &b->calls},
        {&l4h_t_execs, &b->execs}, {&l4h_t_checks, &b->checks}, {&l4h_t_annotations, &b->anns}};
    for (size_t i = 0; i < sizeof adds / sizeof adds[0] && !rc; i++)
        rc = store_table_append(f, adds[i].t, adds[i].r->v, adds[i].r->n, err);
    static const char *const final_col[] = {"final"};
    for (size_t i = 0; i < b->unfinal.n && !rc; i++) {
        task_row t = {.final = 0};
        rc = store_table_update(f, &l4h_t_tasks, final_col, 1, ((int64_t *)b->unfinal.v)[i] - 1, &t,
                              err);
    }
    static const char *const end_cols[] = {"ended_utc", "exit_code"};
    for (size_t i = 0; i < b->ends.n && !rc; i++) {
        const run_end *e = &((const run_end *)b->ends.v)[i];
        run_row r = {.ended_utc = e->ended_utc, .exit_code = e->exit_code};
        rc = store_table_update(f, &l4h_t_runs, end_cols, 2, e->run - 1, &r, err);
    }
    if (!rc && c->config_sha256)
        rc = store_attr_set_str(f, "config_sha256", c->config_sha256, err);
    return rc;
}

/* Write the queued records (c->p) to the file as one batch and empty the
 * queue; on success the state (st) reflects them. 0, or -1 with err (the
 * file is then left `writing`: the next sync rebuilds it). Frees the
 * payloads, except when the file's counts cannot be read (the caller
 * frees them then). */
static int flush(apply_ctx *c, l4h_err *err)
{
    if (!c->n)
        return 0;
    int with_tasks = 0;
    for (size_t i = 0; i < c->n && !with_tasks; i++)
        with_tasks = c->p[i].type == L4H_J_TASK;
    batch b;
    if (batch_begin(&b, c->file, &c->st->pieces, with_tasks, c->n, err) != 0)
        return -1;
    int rc = parse_tasks(c, &b, err);
    for (size_t i = 0; i < c->n && !rc; i++)
        rc = c->p[i].type == L4H_J_TASK ? add_task(c, &b, i, err)
                                        : add_record(c, &b, &c->p[i], err);
    if (!rc)
        rc = write_batch(c, &b, err);
    batch_free(&b, c->n);
    for (size_t i = 0; i < c->n; i++)
        free(c->p[i].payload);
    if (!rc) {
        c->st->file_records += (int64_t)c->n;
        c->st->file_end = c->applied_end;
    }
    c->n = c->bytes = 0;
    return rc;
}

/* Journal callback: flush a full batch, queue the record. A batch is
 * written when the record after it arrives: that record's offset is where
 * the batch ends in the journal (a record stored compressed is shorter
 * there than its payload). */
static int on_record(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                     void *ctx, l4h_err *err)
{
    (void)index;
    apply_ctx *c = ctx;
    if (c->n >= BATCH_RECORDS || c->bytes >= BATCH_BYTES) {
        c->applied_end = offset;
        if (flush(c, err) != 0)
            return -1;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->p = l4h_xrealloc(c->p, c->cap * sizeof *c->p);
    }
    pending *p = &c->p[c->n++];
    p->type = type;
    p->payload = l4h_xmalloc(len + 1);
    memcpy(p->payload, payload, len + 1);
    p->len = len;
    p->offset = offset;
    c->bytes += len;
    return 0;
}

/* The names of the statuses (all, then the infrastructure ones) and of the
 * error categories, in the C order, as root attributes (docs/results-format.md):
 * the scripts read them from the file instead of keeping copies. Written at
 * every checkpoint, so a file an older build started gets the lists of the
 * build that writes to it. -1 with err. */
static int write_vocabulary(hid_t file, l4h_err *err)
{
    const char *all[L4H_STATUS_COUNT], *infra[L4H_STATUS_COUNT];
    size_t n_infra = 0;
    for (int s = 0; s < L4H_STATUS_COUNT; s++) {
        all[s] = l4h_status_name((l4h_status)s);
        if (l4h_status_is_infra((l4h_status)s))
            infra[n_infra++] = all[s];
    }
    if (store_attr_set_strv(file, "statuses", all, L4H_STATUS_COUNT, err) != 0 ||
        store_attr_set_strv(file, "infra_statuses", infra, n_infra, err) != 0 ||
        store_attr_set_strv(file, "error_categories", l4h_categories, L4H_N_CATEGORIES, err) != 0)
        return -1;
    return 0;
}

int store_apply_journal(hid_t file, const char *jpath, sync_state *st, l4h_err *err)
{
    if (store_attr_set_str(file, "checkpoint_state", "writing", err) != 0 ||
        write_vocabulary(file, err) != 0)
        return -1;
    H5Fflush(file, H5F_SCOPE_GLOBAL);
    apply_ctx c = {.file = file, .st = st, .applied_end = st->file_end};
    int64_t end = st->file_end;
    int rc = l4h_journal_read(jpath, st->file_end, on_record, &c, &end, NULL, err);
    c.applied_end = end;
    if (!rc)
        rc = flush(&c, err);
    for (size_t i = 0; i < c.n; i++)
        free(c.p[i].payload);
    free(c.p);
    free(c.config_sha256);
    if (rc)
        return -1;
    if (store_attr_set_i64(file, "journal_offset", st->file_end, err) != 0 ||
        store_attr_set_i64(file, "journal_records", st->file_records, err) != 0 ||
        store_attr_set_str(file, "checkpoint_state", "clean", err) != 0)
        return -1;
    return 0;
}

int store_init_file(hid_t file, const char *header_json, l4h_err *err)
{
    cJSON *o = cJSON_Parse(header_json ? header_json : "");
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return l4h_err_set(err, L4H_EXIT_INFRA, "the journal's header record is not JSON");
    }
    static const char *const keys[] = {"campaign", "created_utc", "config_sha256",
                                       "suite_sha256", "meaning_sha256"};
    int rc = store_attr_set_i64(file, "format_version", L4H_FORMAT_VERSION, err);
    for (size_t i = 0; i < 5 && !rc; i++)
        rc = store_attr_set_str(file, keys[i], jstr(o, keys[i]), err);
    cJSON_Delete(o);
    if (!rc)
        rc = store_attr_set_str(file, "checkpoint_state", "writing", err);
    for (size_t i = 0; i < 6 && !rc; i++)
        rc = store_table_create(file, l4h_tables[i], err);
    if (!rc)
        rc = store_table_create(file, &l4h_t_inputs, err);
    if (!rc)
        rc = store_heap_create(file, err);
    if (!rc)
        rc = store_pieces_create(file, err);
    if (!rc)
        rc = store_attr_set_i64(file, "journal_offset", 0, err);
    if (!rc)
        rc = store_attr_set_i64(file, "journal_records", 0, err);
    return rc;
}
