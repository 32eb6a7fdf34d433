/* apply.c — turn journal records into rows of the results file: batches of
 * records become one heap append and one append per table, then superseded
 * rows get final = 0 in place. docs/results-format.md is the layout. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pieces.h"
#include "store_int.h"

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

/* The heap refs of one exec's code, stdout and stderr. */
typedef struct exec_text {
    int64_t v[6]; /* code_off, code_len, stdout_off, stdout_len, stderr_off, stderr_len */
    int done;
} exec_text;

/* Put the texts of the record's execs of `iteration` (all not yet put when
 * all) in the heap, right after that iteration's calls: an answer and the
 * code it ran, an output and the review that quotes it, are then within
 * deflate's window (the file is about a quarter smaller). Can't fail. */
static void exec_texts(const l4h_task_rec *r, int iteration, int all, l4h_buf *text, int64_t base,
                       exec_text *et)
{
    for (size_t k = 0; k < r->n_execs; k++) {
        const l4h_exec_rec *e = &r->execs[k];
        if (et[k].done || (!all && e->iteration != iteration))
            continue;
        text_ref(text, base, e->code, &et[k].v[0], &et[k].v[1]);
        text_ref(text, base, e->stdout_text, &et[k].v[2], &et[k].v[3]);
        text_ref(text, base, e->stderr_text, &et[k].v[4], &et[k].v[5]);
        et[k].done = 1;
    }
}

/* Fill the /tasks row and the call/exec/check rows of one record. */
static void task_rows(const l4h_task_rec *r, task_row *t, l4h_buf *text, int64_t base, rows *calls,
                      int64_t calls0, rows *execs, int64_t execs0, rows *checks, int64_t checks0,
                      piece_writer *pw)
{
    t->task_id = r->task_id;
    memcpy(t->key, r->key, 16);
    l4h_fix_set(t->campaign, sizeof t->campaign, r->campaign);
    l4h_fix_set(t->supervisor, sizeof t->supervisor, r->supervisor);
    l4h_fix_set(t->coder, sizeof t->coder, r->coder);
    l4h_fix_set(t->step, sizeof t->step, r->step);
    t->trial = r->trial;
    t->attempt = r->attempt;
    t->final = 1;
    l4h_fix_set(t->status, sizeof t->status, l4h_status_name(r->status));
    t->success = (int8_t)(r->success != 0);
    t->approved = (int8_t)(r->approved != 0);
    t->iterations = r->iterations;
    t->api_calls = r->api_calls;
    t->prompt_tokens = r->prompt_tokens;
    t->completion_tokens = r->completion_tokens;
    t->cost_usd = r->cost_usd;
    t->wall_s = r->wall_s;
    t->llm_s = r->llm_s;
    t->exec_s = r->exec_s;
    t->started_utc = r->started_utc;
    t->run = r->run;
    t->rank = r->rank;
    l4h_fix_set(t->host, sizeof t->host, r->host);
    l4h_fix_set(t->error_category, sizeof t->error_category, r->error_category);
    l4h_fix_set(t->error_summary, sizeof t->error_summary, r->error_summary);
    t->calls_row = calls0 + (int64_t)calls->n;
    t->n_calls = (int32_t)r->n_calls;
    t->execs_row = execs0 + (int64_t)execs->n;
    t->n_execs = (int32_t)r->n_execs;
    t->checks_row = checks0 + (int64_t)checks->n;
    t->n_checks = (int32_t)r->n_checks;
    exec_text *et = l4h_xcalloc(r->n_execs + 1, sizeof *et);
    for (size_t i = 0; i < r->n_calls; i++) {
        const l4h_call_rec *c = &r->calls[i];
        call_row *row = row_add(calls);
        row->task_id = r->task_id;
        row->iteration = c->iteration;
        l4h_fix_set(row->agent, sizeof row->agent, c->agent);
        row->call = c->call;
        l4h_fix_set(row->model, sizeof row->model, c->model);
        row->http_status = c->http_status;
        row->attempts = c->attempts;
        row->latency_s = c->latency_s;
        row->prompt_tokens = c->prompt_tokens;
        row->completion_tokens = c->completion_tokens;
        row->cached_prompt_tokens = c->cached_prompt_tokens;
        row->reasoning_tokens = c->reasoning_tokens;
        row->cost_usd = c->cost_usd;
        l4h_fix_set(row->finish_reason, sizeof row->finish_reason, c->finish_reason);
        l4h_fix_set(row->served_model, sizeof row->served_model, c->served_model);
        l4h_fix_set(row->system_fingerprint, sizeof row->system_fingerprint, c->system_fingerprint);
        l4h_fix_set(row->served_model_id, sizeof row->served_model_id, c->served_model_id);
        /* requests are stored once per distinct piece (pieces.c) */
        store_pieces_add_body(pw, text, base, c->request, &row->request_off, &row->request_len);
        text_ref(text, base, c->response, &row->response_off, &row->response_len);
        store_pieces_note_text(pw, text, base, row->response_off, row->response_len);
        text_ref(text, base, c->attempt_log, &row->attempt_log_off, &row->attempt_log_len);
        if (i + 1 == r->n_calls || r->calls[i + 1].iteration != c->iteration)
            exec_texts(r, c->iteration, 0, text, base, et);
    }
    exec_texts(r, 0, 1, text, base, et);
    for (size_t i = 0; i < r->n_execs; i++) {
        const l4h_exec_rec *e = &r->execs[i];
        exec_row *row = row_add(execs);
        row->task_id = r->task_id;
        row->iteration = e->iteration;
        l4h_fix_set(row->kind, sizeof row->kind, e->kind);
        row->exit_code = e->exit_code;
        row->signal = e->signal;
        row->timed_out = (int8_t)(e->timed_out != 0);
        row->wall_s = e->wall_s;
        row->max_rss_kb = e->max_rss_kb;
        l4h_fix_set(row->isolation, sizeof row->isolation, e->isolation);
        row->code_off = et[i].v[0], row->code_len = et[i].v[1]; /* exec_texts put them */
        row->stdout_off = et[i].v[2], row->stdout_len = et[i].v[3];
        row->stderr_off = et[i].v[4], row->stderr_len = et[i].v[5];
        row->truncated = (int8_t)(e->truncated != 0);
        l4h_fix_set(row->limit, sizeof row->limit, e->limit);
    }
    free(et);
    for (size_t i = 0; i < r->n_checks; i++) {
        const l4h_check_rec *c = &r->checks[i];
        check_row *row = row_add(checks);
        row->task_id = r->task_id;
        l4h_fix_set(row->check, sizeof row->check, c->check);
        row->passed = (int8_t)(c->passed != 0);
        row->n_bad = c->n_bad;
        row->max_rel_diff = c->max_rel_diff;
        text_ref(text, base, c->report, &row->report_off, &row->report_len);
    }
}

/* Name a bad record for error messages. */
static int bad_record(l4h_err *err, const pending *p, const char *why)
{
    return l4h_err_set(err, L4H_EXIT_INFRA,
                       "journal record at byte %" PRId64 " ('%c'): %s", p->offset, p->type, why);
}

/* Write the batch to the file. Frees the payloads. */
static int flush(apply_ctx *c, l4h_err *err)
{
    if (!c->n)
        return 0;
    hid_t f = c->file;
    int64_t n_runs = l4h_table_rows(f, "runs", err), n_tasks = l4h_table_rows(f, "tasks", err),
            n_calls = l4h_table_rows(f, "calls", err), n_execs = l4h_table_rows(f, "execs", err),
            n_checks = l4h_table_rows(f, "checks", err), base = l4h_heap_len(f, err);
    int rc = 0;
    if (n_runs < 0 || n_tasks < 0 || n_calls < 0 || n_execs < 0 || n_checks < 0 || base < 0)
        return -1;
    rows runs = {.size = sizeof(run_row)}, tasks = {.size = sizeof(task_row)},
         calls = {.size = sizeof(call_row)}, execs = {.size = sizeof(exec_row)},
         checks = {.size = sizeof(check_row)}, anns = {.size = sizeof(annotation_row)},
         ends = {.size = sizeof(run_end)}, unfinal = {.size = sizeof(int64_t)},
         ins = {.size = sizeof(input_row)};
    l4h_buf text = {0};
    piece_writer pw;
    if (store_pieces_begin(&pw, f, &c->st->pieces, err) != 0)
        return -1;
    l4h_task_rec *recs = l4h_xcalloc(c->n, sizeof *recs);

    /* Parse the task records; their error summaries go first in the heap. */
    for (size_t i = 0; i < c->n && !rc; i++) {
        pending *p = &c->p[i];
        if (p->type != L4H_J_TASK)
            continue;
        l4h_err e2;
        if (l4h_rec_from_json(p->payload, p->len, &recs[i], &e2) != 0) {
            rc = bad_record(err, p, e2.msg);
            break;
        }
    }
    int64_t *sum_off = l4h_xcalloc(c->n, sizeof *sum_off), *sum_len = l4h_xcalloc(c->n, 8);
    for (size_t i = 0; i < c->n && !rc; i++)
        if (c->p[i].type == L4H_J_TASK)
            text_ref(&text, base, recs[i].error_summary, &sum_off[i], &sum_len[i]);

    for (size_t i = 0; i < c->n && !rc; i++) {
        pending *p = &c->p[i];
        if (p->type == L4H_J_TASK) {
            l4h_task_rec *r = &recs[i];
            int64_t want = n_tasks + (int64_t)tasks.n + 1;
            if (r->task_id != want) {
                char m[128];
                snprintf(m, sizeof m, "task_id %" PRId64 " where %" PRId64 " was expected",
                         r->task_id, want);
                rc = bad_record(err, p, m);
                break;
            }
            task_row *t = row_add(&tasks);
            size_t first_call = calls.n;
            task_rows(r, t, &text, base, &calls, n_calls, &execs, n_execs, &checks, n_checks, &pw);
            const char *why = NULL;
            if (store_pieces_add_record(&pw, &text, base, p->payload, p->len,
                                        (call_row *)calls.v + first_call, r->n_calls, &why) != 0) {
                rc = bad_record(err, p, why);
                break;
            }
            t->error_summary_off = sum_off[i];
            t->error_summary_len = sum_len[i];
            key_entry *k = l4h_keymap_get(&c->st->keys, r->key, 1);
            if (k && k->file_task_id > 0) {
                if (k->file_task_id > n_tasks) /* the superseded row is in this batch */
                    ((task_row *)tasks.v)[k->file_task_id - n_tasks - 1].final = 0;
                else
                    *(int64_t *)row_add(&unfinal) = k->file_task_id;
            }
            if (k)
                k->file_task_id = r->task_id;
            continue;
        }
        if (p->type == L4H_J_HEADER)
            continue;
        cJSON *o = cJSON_ParseWithLength(p->payload, p->len);
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            rc = bad_record(err, p, "payload is not a JSON object");
            break;
        }
        if (p->type == L4H_J_RUN_BEGIN) {
            run_row *r = row_add(&runs);
            r->run = (int32_t)jnum(o, "run", 0);
            r->started_utc = jnum(o, "started_utc", NAN);
            r->ended_utc = NAN;
            r->exit_code = -1;
            l4h_fix_set(r->slurm_job_id, sizeof r->slurm_job_id, jstr(o, "slurm_job_id"));
            r->slurm_restart_count = (int32_t)jnum(o, "slurm_restart_count", 0);
            r->ranks = (int32_t)jnum(o, "ranks", 0);
            l4h_fix_set(r->hosts, sizeof r->hosts, jstr(o, "hosts"));
            l4h_fix_set(r->llm4hep_version, sizeof r->llm4hep_version, jstr(o, "llm4hep_version"));
            l4h_fix_set(r->git_commit, sizeof r->git_commit, jstr(o, "git_commit"));
            text_ref(&text, base, jstr(o, "config_text"), &r->config_off, &r->config_len);
            text_ref(&text, base, jstr(o, "python_packages"), &r->python_packages_off,
                     &r->python_packages_len);
            l4h_fix_set(r->inputs_sha256, sizeof r->inputs_sha256, jstr(o, "inputs_sha256"));
            r->input_series = (int32_t)jnum(o, "input_series", 1);
            const cJSON *fi;
            cJSON_ArrayForEach(fi, cJSON_GetObjectItemCaseSensitive(o, "inputs")) {
                input_row *ir = row_add(&ins);
                ir->run = r->run;
                l4h_fix_set(ir->sha256, sizeof ir->sha256, jstr(fi, "sha256"));
                ir->size = (int64_t)jnum(fi, "size", 0);
                text_ref(&text, base, jstr(fi, "path"), &ir->path_off, &ir->path_len);
                text_ref(&text, base, jstr(fi, "text"), &ir->content_off, &ir->content_len);
            }
            if (jstr(o, "config_sha256")) {
                free(c->config_sha256);
                c->config_sha256 = l4h_xstrdup(jstr(o, "config_sha256"));
            }
        } else if (p->type == L4H_J_RUN_END) {
            run_end *e = row_add(&ends);
            e->run = (int)jnum(o, "run", 0);
            e->ended_utc = jnum(o, "ended_utc", NAN);
            e->exit_code = (int)jnum(o, "exit_code", -1);
            if (e->run > n_runs && e->run <= n_runs + (int64_t)runs.n) { /* begun in this batch */
                run_row *r = &((run_row *)runs.v)[e->run - n_runs - 1];
                r->ended_utc = e->ended_utc;
                r->exit_code = e->exit_code;
                ends.n--;
            } else if (e->run < 1 || e->run > n_runs) {
                cJSON_Delete(o);
                rc = bad_record(err, p, "run end for a run that never began");
                break;
            }
        } else if (p->type == L4H_J_ANNOTATION) {
            annotation_row *a = row_add(&anns);
            a->task_id = (int64_t)jnum(o, "task_id", 0);
            l4h_fix_set(a->source, sizeof a->source, jstr(o, "source"));
            l4h_fix_set(a->error_category, sizeof a->error_category, jstr(o, "error_category"));
            a->created_utc = jnum(o, "created_utc", NAN);
            text_ref(&text, base, jstr(o, "text"), &a->text_off, &a->text_len);
        }
        cJSON_Delete(o);
    }

    if (!rc)
        rc = l4h_heap_append(f, text.data, text.len, err);
    if (!rc)
        rc = store_pieces_flush(&pw, err);
    else
        store_pieces_abandon(&pw);
    if (!rc)
        rc = l4h_table_append(f, &l4h_t_runs, runs.v, runs.n, err);
    if (!rc && ins.n && l4h_table_rows(f, l4h_t_inputs.name, NULL) < 0) {
        H5Eclear2(H5E_DEFAULT); /* a file written before /inputs existed */
        rc = l4h_table_create(f, &l4h_t_inputs, err);
    }
    if (!rc)
        rc = l4h_table_append(f, &l4h_t_inputs, ins.v, ins.n, err);
    if (!rc)
        rc = l4h_table_append(f, &l4h_t_tasks, tasks.v, tasks.n, err);
    if (!rc)
        rc = l4h_table_append(f, &l4h_t_calls, calls.v, calls.n, err);
    if (!rc)
        rc = l4h_table_append(f, &l4h_t_execs, execs.v, execs.n, err);
    if (!rc)
        rc = l4h_table_append(f, &l4h_t_checks, checks.v, checks.n, err);
    if (!rc)
        rc = l4h_table_append(f, &l4h_t_annotations, anns.v, anns.n, err);
    static const char *const final_col[] = {"final"};
    for (size_t i = 0; i < unfinal.n && !rc; i++) {
        task_row t = {.final = 0};
        rc = l4h_table_update(f, &l4h_t_tasks, final_col, 1, ((int64_t *)unfinal.v)[i] - 1, &t,
                              err);
    }
    static const char *const end_cols[] = {"ended_utc", "exit_code"};
    for (size_t i = 0; i < ends.n && !rc; i++) {
        run_end *e = &((run_end *)ends.v)[i];
        run_row r = {.ended_utc = e->ended_utc, .exit_code = e->exit_code};
        rc = l4h_table_update(f, &l4h_t_runs, end_cols, 2, e->run - 1, &r, err);
    }
    if (!rc && c->config_sha256)
        rc = l4h_attr_set_str(f, "config_sha256", c->config_sha256, err);

    for (size_t i = 0; i < c->n; i++) {
        l4h_rec_clear(&recs[i]);
        free(c->p[i].payload);
    }
    if (!rc) {
        c->st->file_records += (int64_t)c->n;
        c->st->file_end = c->applied_end;
    }
    c->n = c->bytes = 0;
    free(recs);
    free(sum_off);
    free(sum_len);
    free(runs.v);
    free(tasks.v);
    free(calls.v);
    free(execs.v);
    free(checks.v);
    free(anns.v);
    free(ends.v);
    free(unfinal.v);
    free(ins.v);
    l4h_buf_free(&text);
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

int l4h_apply_journal(hid_t file, const char *jpath, sync_state *st, l4h_err *err)
{
    if (l4h_attr_set_str(file, "checkpoint_state", "writing", err) != 0)
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
    if (l4h_attr_set_i64(file, "journal_offset", st->file_end, err) != 0 ||
        l4h_attr_set_i64(file, "journal_records", st->file_records, err) != 0 ||
        l4h_attr_set_str(file, "checkpoint_state", "clean", err) != 0)
        return -1;
    return 0;
}

int l4h_init_file(hid_t file, const char *header_json, l4h_err *err)
{
    cJSON *o = cJSON_Parse(header_json ? header_json : "");
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return l4h_err_set(err, L4H_EXIT_INFRA, "the journal's header record is not JSON");
    }
    static const char *const keys[] = {"campaign", "created_utc", "config_sha256",
                                       "suite_sha256", "meaning_sha256"};
    int rc = l4h_attr_set_i64(file, "format_version", L4H_FORMAT_VERSION, err);
    for (size_t i = 0; i < 5 && !rc; i++)
        rc = l4h_attr_set_str(file, keys[i], jstr(o, keys[i]), err);
    cJSON_Delete(o);
    if (!rc)
        rc = l4h_attr_set_str(file, "checkpoint_state", "writing", err);
    for (size_t i = 0; i < 6 && !rc; i++)
        rc = l4h_table_create(file, l4h_tables[i], err);
    if (!rc)
        rc = l4h_table_create(file, &l4h_t_inputs, err);
    if (!rc)
        rc = l4h_heap_create(file, err);
    if (!rc)
        rc = store_pieces_create(file, err);
    if (!rc)
        rc = l4h_attr_set_i64(file, "journal_offset", 0, err);
    if (!rc)
        rc = l4h_attr_set_i64(file, "journal_records", 0, err);
    return rc;
}
