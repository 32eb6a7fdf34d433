/* test_store.c — the writer and the reader through the real files: a record
 * round trip (journal -> HDF5 -> reader), final flags and attempts, resume,
 * rebuild equal to the incremental file, torn tails, damaged or lagging
 * files, the meaning check and --fresh, the lock, annotations, redaction. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm4hep/store.h"
#include "../../../src/store/store_internal.h"

static char dir[64];
static int counter;

/* A hand-built config: name, output in a new subdirectory, limits. */
typedef struct tcfg {
    l4h_config cfg;
    char out[256];
    l4h_endpoint ep;
} tcfg;

static void make_cfg(tcfg *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->out, sizeof t->out, "%s/c%d/results.h5", dir, ++counter);
    t->cfg.name = "unit";
    t->cfg.output = t->out;
    t->cfg.max_iterations = 10;
    t->cfg.limits = (l4h_limits){3600, 900, 8192, 4096, 16384, 2000000, 0};
    t->ep.name = "cborg";
    t->ep.api_key_env = "L4H_UNIT_KEYVAR";
    t->cfg.endpoints = &t->ep;
    t->cfg.n_endpoints = 1;
}

static char *xs(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A record of key index k with texts that exercise the format. */
static void make_rec(l4h_task_rec *r, int k, l4h_status status)
{
    memset(r, 0, sizeof *r);
    r->task_id = -1;
    snprintf(r->key, sizeof r->key, "%016x", 0xabc000 + k);
    r->supervisor = xs("openai/gpt-5");
    r->coder = xs("anthropic/claude-sonnet:latest");
    r->step = xs("create_numpy");
    r->trial = 1 + k % 3;
    r->status = status;
    r->success = status == L4H_STATUS_SUCCESS;
    r->approved = 1;
    r->iterations = 2;
    r->api_calls = 2;
    r->prompt_tokens = 1234;
    r->completion_tokens = 567;
    r->cost_usd = NAN;
    r->wall_s = 12.5;
    r->llm_s = 3.25;
    r->exec_s = 8.0;
    r->started_utc = 1.8e9 + k;
    r->rank = 3;
    r->host = xs("nid001234");
    if (!r->success) {
        snprintf(r->error_category, sizeof r->error_category, "wrong_branch");
        char buf[600];
        int n = snprintf(buf, sizeof buf, "key %d: ", k);
        while (n < 500) /* longer than the inline field, with multi-byte chars */
            n += snprintf(buf + n, sizeof buf - (size_t)n, "γγ→ branch ");
        r->error_summary = xs(buf);
    }
    l4h_call_rec *c = l4h_rec_add_call(r);
    c->iteration = 1;
    snprintf(c->agent, sizeof c->agent, "supervisor");
    c->model = xs("openai/gpt-5");
    c->http_status = 200;
    c->attempts = 2;
    c->latency_s = 1.5;
    c->prompt_tokens = 1000;
    c->completion_tokens = 500;
    c->cost_usd = 0.0125;
    snprintf(c->finish_reason, sizeof c->finish_reason, "stop");
    char req[128];
    snprintf(req, sizeof req, "{\"messages\":[{\"role\":\"user\",\"content\":\"key %d\"}]}", k);
    c->request = xs(req);
    c->response = xs("{\"choices\":[]}");
    c = l4h_rec_add_call(r);
    c->iteration = 2;
    snprintf(c->agent, sizeof c->agent, "coder");
    c->call = 1;
    c->model = xs("anthropic/claude-sonnet:latest");
    c->request = xs("{}");
    c->response = NULL; /* absent text */
    l4h_exec_rec *e = l4h_rec_add_exec(r);
    e->iteration = 2;
    snprintf(e->kind, sizeof e->kind, "code");
    e->exit_code = -1;
    e->signal = 9;
    e->timed_out = 1;
    e->wall_s = 900;
    e->max_rss_kb = 123456;
    snprintf(e->isolation, sizeof e->isolation, "bwrap");
    e->code = xs("import numpy as np\nprint('γγ')\n");
    e->stdout_text = xs("γγ\n");
    e->stderr_text = xs("");
    e->truncated = 1;
    l4h_check_rec *ch = l4h_rec_add_check(r);
    ch->check = xs("array:arrays/data_raw.npy");
    ch->passed = r->success;
    ch->n_bad = r->success ? 0 : 17;
    ch->max_rel_diff = r->success ? NAN : 0.25;
    ch->report = xs("17 of 1000 values differ");
}

static l4h_store *open_ok(tcfg *t, int fresh)
{
    l4h_store *st = NULL;
    l4h_err err = {0};
    int rc = l4h_store_open(&t->cfg, NULL, fresh ? L4H_STORE_FRESH : 0, &st, &err);
    if (rc)
        fprintf(stderr, "open: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return st;
}

static void add_ok(l4h_store *st, int k, l4h_status s)
{
    l4h_task_rec r;
    make_rec(&r, k, s);
    l4h_err err;
    int rc = l4h_store_add(st, &r, &err);
    if (rc)
        fprintf(stderr, "add: %s\n", err.msg);
    assert_int_equal(rc, 0);
    l4h_rec_clear(&r);
}

static void close_ok(l4h_store *st)
{
    l4h_err err;
    int rc = l4h_store_close(st, 0, &err);
    if (rc)
        fprintf(stderr, "close: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

static l4h_results *results_ok(const char *path)
{
    l4h_results *res;
    l4h_err err;
    int rc = l4h_results_open(path, &res, &err);
    if (rc)
        fprintf(stderr, "results: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return res;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Everything written comes back (NULL texts as ""). */
static void record_round_trip(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    l4h_run_info run = {.ranks = 4, .hosts = "a,b", .config_text = "name: unit\n"};
    l4h_err err;
    assert_int_equal(l4h_store_begin_run(st, &run, &err), 0);
    assert_int_equal(run.run, 1);
    add_ok(st, 1, L4H_STATUS_FAILED_VALIDATION);
    add_ok(st, 2, L4H_STATUS_SUCCESS);
    close_ok(st);

    l4h_results *res = results_ok(t.out);
    assert_string_equal(res->campaign, "unit");
    assert_int_equal(res->n_tasks, 2);
    l4h_task_rec want;
    make_rec(&want, 1, L4H_STATUS_FAILED_VALIDATION);
    l4h_task_rec got;
    assert_int_equal(l4h_results_task(res, 1, &got, &err), 0);
    assert_int_equal(got.task_id, 1);
    assert_string_equal(got.key, want.key);
    assert_string_equal(got.campaign, "unit");
    assert_string_equal(got.supervisor, want.supervisor);
    assert_string_equal(got.coder, want.coder);
    assert_int_equal(got.status, L4H_STATUS_FAILED_VALIDATION);
    assert_int_equal(got.attempt, 1);
    assert_int_equal(got.final, 1);
    assert_int_equal(got.run, 1);
    assert_true(isnan(got.cost_usd));
    assert_true(got.wall_s == 12.5 && got.llm_s == 3.25 && got.started_utc == 1.8e9 + 1);
    assert_string_equal(got.error_summary, want.error_summary); /* > 256 bytes: from /text */
    assert_string_equal(res->tasks[0].error_summary, want.error_summary);
    assert_string_equal(got.error_category, "wrong_branch");
    assert_int_equal(got.n_calls, 2);
    assert_int_equal(got.n_execs, 1);
    assert_int_equal(got.n_checks, 1);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(got.calls[i].agent, want.calls[i].agent);
        assert_string_equal(got.calls[i].model, want.calls[i].model);
        assert_string_equal(got.calls[i].request, nz(want.calls[i].request));
        assert_string_equal(got.calls[i].response, nz(want.calls[i].response));
        assert_int_equal(got.calls[i].iteration, want.calls[i].iteration);
        assert_int_equal(got.calls[i].call, want.calls[i].call);
    }
    assert_true(got.calls[0].cost_usd == 0.0125 && got.calls[0].attempts == 2);
    assert_int_equal(got.execs[0].signal, 9);
    assert_int_equal(got.execs[0].exit_code, -1);
    assert_int_equal(got.execs[0].timed_out, 1);
    assert_int_equal(got.execs[0].truncated, 1);
    assert_int_equal(got.execs[0].max_rss_kb, 123456);
    assert_string_equal(got.execs[0].code, want.execs[0].code);
    assert_string_equal(got.execs[0].stdout_text, "γγ\n");
    assert_string_equal(got.execs[0].stderr_text, "");
    assert_string_equal(got.checks[0].check, "array:arrays/data_raw.npy");
    assert_int_equal(got.checks[0].n_bad, 17);
    assert_true(got.checks[0].max_rel_diff == 0.25);
    assert_string_equal(got.checks[0].report, want.checks[0].report);
    l4h_rec_clear(&got);
    l4h_rec_clear(&want);
    assert_int_equal(l4h_results_task(res, 99, &got, &err), -1);
    assert_int_equal(err.code, L4H_EXIT_USAGE);
    l4h_results_free(res);
}

/* attempts count per key; only the newest attempt is final, across
 * checkpoints and within one. */
static void final_flags_and_attempts(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    l4h_err err;
    add_ok(st, 7, L4H_STATUS_ERROR_API);
    assert_int_equal(l4h_store_checkpoint(st, &err), 0);
    add_ok(st, 8, L4H_STATUS_SUCCESS);
    add_ok(st, 7, L4H_STATUS_ERROR_SANDBOX); /* supersedes a row already in the file */
    add_ok(st, 7, L4H_STATUS_FAILED_EXECUTION); /* supersedes a row of this batch */
    l4h_key_state ks;
    char key[17];
    snprintf(key, sizeof key, "%016x", 0xabc000 + 7);
    l4h_store_key_state(st, key, &ks);
    assert_int_equal(ks.attempts, 3);
    assert_int_equal(ks.infra_attempts, 2);
    assert_int_equal(ks.last_status, L4H_STATUS_FAILED_EXECUTION);
    l4h_store_key_state(st, "ffffffffffffffff", &ks);
    assert_int_equal(ks.attempts, 0);
    add_ok(st, 9, L4H_STATUS_INTERRUPTED); /* never uses up infra_retries */
    snprintf(key, sizeof key, "%016x", 0xabc000 + 9);
    l4h_store_key_state(st, key, &ks);
    assert_int_equal(ks.attempts, 1);
    assert_int_equal(ks.infra_attempts, 0);
    assert_int_equal(ks.last_status, L4H_STATUS_INTERRUPTED);
    close_ok(st);
    st = open_ok(&t, 0); /* the same state read back from the journal */
    snprintf(key, sizeof key, "%016x", 0xabc000 + 7);
    l4h_store_key_state(st, key, &ks);
    assert_int_equal(ks.attempts, 3);
    assert_int_equal(ks.infra_attempts, 2);
    assert_int_equal(ks.last_status, L4H_STATUS_FAILED_EXECUTION);
    snprintf(key, sizeof key, "%016x", 0xabc000 + 9);
    l4h_store_key_state(st, key, &ks);
    assert_int_equal(ks.infra_attempts, 0);
    close_ok(st);
    l4h_results *res = results_ok(t.out);
    assert_int_equal(res->n_tasks, 5);
    int attempts[] = {1, 1, 2, 3, 1}, finals[] = {0, 1, 0, 1, 1};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(res->tasks[i].attempt, attempts[i]);
        assert_int_equal(res->tasks[i].final, finals[i]);
    }
    l4h_results_free(res);
}

/* Compare two files task by task through the reader (as JSON). */
static void assert_same_results(const char *a, const char *b)
{
    l4h_results *ra = results_ok(a), *rb = results_ok(b);
    assert_int_equal(ra->n_tasks, rb->n_tasks);
    assert_int_equal(ra->n_annotations, rb->n_annotations);
    l4h_err err;
    for (size_t i = 0; i < ra->n_tasks; i++) {
        l4h_task_rec x, y;
        assert_int_equal(l4h_results_task(ra, ra->tasks[i].task_id, &x, &err), 0);
        assert_int_equal(l4h_results_task(rb, rb->tasks[i].task_id, &y, &err), 0);
        char *jx = l4h_rec_to_json(&x), *jy = l4h_rec_to_json(&y);
        assert_string_equal(jx, jy);
        free(jx);
        free(jy);
        l4h_rec_clear(&x);
        l4h_rec_clear(&y);
    }
    for (size_t i = 0; i < ra->n_annotations; i++)
        assert_string_equal(ra->annotations[i].text, rb->annotations[i].text);
    l4h_results_free(ra);
    l4h_results_free(rb);
}

static void copy(const char *src, const char *dst)
{
    char *data;
    size_t len;
    l4h_err err;
    assert_int_equal(l4h_read_file(src, &data, &len, &err), 0);
    assert_int_equal(l4h_write_file(dst, data, len, &err), 0);
    free(data);
}

/* A file rebuilt from the journal holds what the incremental one holds. */
static void rebuild_equals_incremental(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    l4h_err err;
    l4h_run_info run = {.config_text = "name: unit\n"};
    assert_int_equal(l4h_store_begin_run(st, &run, &err), 0);
    for (int i = 0; i < 40; i++) {
        add_ok(st, i % 15, i % 4 ? L4H_STATUS_SUCCESS : L4H_STATUS_ERROR_API);
        if (i % 3 == 0)
            assert_int_equal(l4h_store_checkpoint(st, &err), 0);
    }
    close_ok(st);
    l4h_annotation a = {.task_id = 5, .source = "llm:openai/gpt-5", .text = "wrong branch name"};
    snprintf(a.error_category, sizeof a.error_category, "wrong_branch");
    assert_int_equal(l4h_store_annotate(t.out, &a, &err), 0);
    char inc[300];
    snprintf(inc, sizeof inc, "%s.incremental", t.out);
    copy(t.out, inc);
    assert_int_equal(store_rebuild(t.out, &err), 0);
    assert_same_results(inc, t.out);
    l4h_results *res = results_ok(t.out);
    assert_int_equal(res->n_annotations, 1);
    assert_string_equal(res->annotations[0].source, "llm:openai/gpt-5");
    assert_string_equal(res->annotations[0].error_category, "wrong_branch");
    int finals = 0;
    for (size_t i = 0; i < res->n_tasks; i++)
        finals += res->tasks[i].final;
    assert_int_equal(finals, 15);
    l4h_results_free(res);
}

/* Resume: task ids and attempts continue; the run number grows. */
static void resume_continues(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    l4h_err err;
    l4h_run_info run = {0};
    assert_int_equal(l4h_store_begin_run(st, &run, &err), 0);
    add_ok(st, 1, L4H_STATUS_ERROR_API);
    add_ok(st, 2, L4H_STATUS_SUCCESS);
    close_ok(st);
    st = open_ok(&t, 0);
    assert_int_equal(l4h_store_n_tasks(st), 2);
    assert_int_equal(store_dropped_bytes(st), 0);
    l4h_run_info run2 = {0};
    assert_int_equal(l4h_store_begin_run(st, &run2, &err), 0);
    assert_int_equal(run2.run, 2);
    l4h_task_rec r;
    make_rec(&r, 1, L4H_STATUS_SUCCESS);
    assert_int_equal(l4h_store_add(st, &r, &err), 0);
    assert_int_equal(r.task_id, 3);
    assert_int_equal(r.attempt, 2);
    assert_int_equal(r.run, 2);
    l4h_rec_clear(&r);
    close_ok(st);
}

/* A torn last record is dropped, reported and truncated away. */
static void torn_tail_on_open(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    add_ok(st, 1, L4H_STATUS_SUCCESS);
    add_ok(st, 2, L4H_STATUS_SUCCESS);
    close_ok(st);
    char j[300];
    snprintf(j, sizeof j, "%s.journal", t.out);
    struct stat sb;
    assert_int_equal(stat(j, &sb), 0);
    assert_int_equal(truncate(j, sb.st_size - 10), 0); /* cut the last task record */
    unlink(t.out); /* and lose the HDF5 file too */
    st = open_ok(&t, 0);
    assert_true(store_dropped_bytes(st) > 0);
    assert_int_equal(l4h_store_n_tasks(st), 1);
    add_ok(st, 2, L4H_STATUS_SUCCESS);
    close_ok(st);
    l4h_results *res = results_ok(t.out);
    assert_int_equal(res->n_tasks, 2);
    assert_int_equal(res->tasks[1].attempt, 1);
    l4h_results_free(res);
}

/* A damaged or lagging HDF5 file is brought back from the journal. */
static void damaged_or_lagging_file(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    l4h_err err;
    add_ok(st, 1, L4H_STATUS_SUCCESS);
    assert_int_equal(l4h_store_checkpoint(st, &err), 0);
    char old[300], good[300];
    snprintf(old, sizeof old, "%s.old", t.out);
    snprintf(good, sizeof good, "%s.good", t.out);
    copy(t.out, old);
    add_ok(st, 2, L4H_STATUS_SUCCESS);
    add_ok(st, 1, L4H_STATUS_SUCCESS);
    close_ok(st);
    copy(t.out, good);
    /* lagging: the file as of the first checkpoint */
    copy(old, t.out);
    st = open_ok(&t, 0);
    close_ok(st);
    assert_same_results(good, t.out);
    /* garbage */
    assert_int_equal(l4h_write_file(t.out, "not hdf5 at all", 15, &err), 0);
    l4h_results *res;
    assert_int_equal(l4h_results_open(t.out, &res, &err), -1);
    assert_int_equal(err.code, L4H_EXIT_USAGE);
    assert_non_null(strstr(err.msg, t.out));
    st = open_ok(&t, 0);
    close_ok(st);
    assert_same_results(good, t.out);
}

/* A config whose meaning changed is refused; --fresh moves old files aside. */
static void meaning_check_and_fresh(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    add_ok(st, 1, L4H_STATUS_SUCCESS);
    close_ok(st);
    t.cfg.max_iterations = 12;
    l4h_err err = {0};
    assert_int_equal(l4h_store_open(&t.cfg, NULL, 0, &st, &err), -1);
    assert_int_equal(err.code, L4H_EXIT_USAGE);
    assert_non_null(strstr(err.msg, "max_iterations was 10, now 12"));
    assert_non_null(strstr(err.msg, "--fresh"));
    t.cfg.max_iterations = 10;
    t.cfg.limits.campaign_usd = 99; /* the budget does not change a task's meaning */
    t.cfg.trials = 5;
    st = open_ok(&t, 0);
    close_ok(st);
    t.cfg.limits.exec_timeout_s = 60;
    assert_int_equal(l4h_store_open(&t.cfg, NULL, 0, &st, &err), -1);
    assert_non_null(strstr(err.msg, "limits.exec_timeout_s was 900, now 60"));
    st = open_ok(&t, 1);
    assert_int_equal(l4h_store_n_tasks(st), 0);
    close_ok(st);
    /* the old files are kept */
    char *d = l4h_path_dir(t.out);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test $(ls %s | grep -c 'results.h5.journal.20') = 1", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

/* The lock: a second writer and annotate are refused while a campaign runs. */
static void lock_refuses(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    add_ok(st, 1, L4H_STATUS_SUCCESS);
    l4h_err err;
    assert_int_equal(l4h_store_checkpoint(st, &err), 0);
    l4h_store *st2;
    assert_int_equal(l4h_store_open(&t.cfg, NULL, 0, &st2, &err), -1);
    assert_int_equal(err.code, L4H_EXIT_USAGE);
    assert_non_null(strstr(err.msg, "held by a running campaign"));
    assert_non_null(strstr(err.msg, "pid"));
    l4h_annotation a = {.task_id = 1, .source = "human", .text = "x"};
    assert_int_equal(l4h_store_annotate(t.out, &a, &err), -1);
    assert_int_equal(err.code, L4H_EXIT_USAGE);
    assert_non_null(strstr(err.msg, "annotating refused"));
    close_ok(st);
    assert_int_equal(l4h_store_annotate(t.out, &a, &err), 0);
    a.task_id = 2;
    assert_int_equal(l4h_store_annotate(t.out, &a, &err), -1);
    assert_non_null(strstr(err.msg, "no task 2"));
}

/* Journal callback: append the (decompressed) payload to the l4h_buf ctx. */
static int gather(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                  void *ctx, l4h_err *err)
{
    (void)type, (void)offset, (void)index, (void)err;
    l4h_buf_add(ctx, payload, len);
    l4h_buf_add(ctx, "\n", 1);
    return 0;
}

/* The value of an endpoint's key variable never reaches journal or file:
 * not in any text, not in a request's pieces (task records are stored
 * deflated: read back decompressed, where a secret would be). */
static void secrets_redacted(void **state)
{
    (void)state;
    setenv("L4H_UNIT_KEYVAR", "sk-unit-0123456789abcdef", 1);
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    l4h_task_rec r;
    make_rec(&r, 1, L4H_STATUS_ERROR_API);
    free(r.calls[0].response);
    r.calls[0].response = xs("{\"error\":\"bad key sk-unit-0123456789abcdef\"}");
    free(r.execs[0].stdout_text);
    r.execs[0].stdout_text = xs("sk-unit-0123456789abcdef");
    free(r.calls[0].request);
    r.calls[0].request = xs("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                            "\"key sk-unit-0123456789abcdef\"}],\"temperature\":0}");
    l4h_err err;
    assert_int_equal(l4h_store_add(st, &r, &err), 0);
    l4h_rec_clear(&r);
    close_ok(st);
    char j[300];
    snprintf(j, sizeof j, "%s.journal", t.out);
    l4h_buf all = {0};
    assert_int_equal(l4h_journal_read(j, 0, gather, &all, NULL, NULL, &err), 0);
    assert_null(memmem(all.data, all.len, "0123456789abcdef", 16));
    assert_non_null(memmem(all.data, all.len, "[redacted:L4H_UNIT_KEYVAR]", 26));
    assert_non_null(memmem(all.data, all.len, "key [redacted:L4H_UNIT_KEYVAR]", 30)); /* a piece */
    l4h_buf_free(&all);
    l4h_results *res = results_ok(t.out);
    l4h_task_rec got;
    assert_int_equal(l4h_results_task(res, 1, &got, &err), 0);
    assert_string_equal(got.calls[0].response, "{\"error\":\"bad key [redacted:L4H_UNIT_KEYVAR]\"}");
    assert_string_equal(got.execs[0].stdout_text, "[redacted:L4H_UNIT_KEYVAR]");
    assert_string_equal(got.calls[0].request,
                        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                        "\"key [redacted:L4H_UNIT_KEYVAR]\"}],\"temperature\":0}");
    l4h_rec_clear(&got);
    l4h_results_free(res);
    unsetenv("L4H_UNIT_KEYVAR");
}

/* Fixed fields: long names are cut with the marker, never overflow. */
static void long_names_truncated(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    l4h_task_rec r;
    make_rec(&r, 1, L4H_STATUS_SUCCESS);
    free(r.supervisor);
    char big[300];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r.supervisor = xs(big);
    l4h_err err;
    assert_int_equal(l4h_store_add(st, &r, &err), 0);
    l4h_rec_clear(&r);
    close_ok(st);
    l4h_results *res = results_ok(t.out);
    assert_int_equal(strlen(res->tasks[0].supervisor), 128);
    assert_string_equal(res->tasks[0].supervisor + 125, "...");
    l4h_results_free(res);
}

/* A checkpoint reads only the journal's records since the last one: with a
 * byte of the journal's first record damaged after the first checkpoint,
 * later checkpoints and the close still append the new tasks (a full
 * re-read would refuse the journal), while opening the campaign again (the
 * recovery path, which reads everything) finds the damage. */
static void checkpoint_reads_only_what_was_added(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    l4h_err err;
    for (int k = 1; k <= 3; k++)
        add_ok(st, k, L4H_STATUS_SUCCESS);
    assert_int_equal(l4h_store_checkpoint(st, &err), 0);
    char jpath[300];
    snprintf(jpath, sizeof jpath, "%s.journal", t.out);
    int fd = open(jpath, O_RDWR);
    assert_true(fd >= 0);
    char b;
    assert_int_equal(pread(fd, &b, 1, 20), 1); /* inside the header's payload */
    b ^= 0x20;
    assert_int_equal(pwrite(fd, &b, 1, 20), 1);
    close(fd);
    for (int k = 4; k <= 5; k++) {
        add_ok(st, k, L4H_STATUS_FAILED_VALIDATION);
        assert_int_equal(l4h_store_checkpoint(st, &err), 0);
    }
    close_ok(st);
    l4h_results *res = results_ok(t.out);
    assert_int_equal(res->n_tasks, 5);
    l4h_results_free(res);
    st = NULL;
    assert_int_not_equal(l4h_store_open(&t.cfg, NULL, 0, &st, &err), 0);
    assert_non_null(strstr(err.msg, "corrupted"));
}

/* Annotating reads the results file's counts and the journal's header, not
 * the whole journal: with a task record in the middle damaged after the
 * campaign closed, annotations are still appended (and reach the file),
 * and task ids are still checked; a rebuild (which reads everything) finds
 * the damage. */
static void annotate_reads_only_the_header(void **state)
{
    (void)state;
    tcfg t;
    make_cfg(&t);
    l4h_store *st = open_ok(&t, 0);
    for (int k = 1; k <= 4; k++)
        add_ok(st, k, L4H_STATUS_FAILED_VALIDATION);
    close_ok(st);
    char jpath[300];
    snprintf(jpath, sizeof jpath, "%s.journal", t.out);
    struct stat sb;
    assert_int_equal(stat(jpath, &sb), 0);
    int fd = open(jpath, O_RDWR);
    assert_true(fd >= 0);
    char b;
    off_t mid = sb.st_size / 2; /* inside a task record */
    assert_int_equal(pread(fd, &b, 1, mid), 1);
    b ^= 0x20;
    assert_int_equal(pwrite(fd, &b, 1, mid), 1);
    close(fd);
    l4h_err err;
    for (int id = 1; id <= 4; id++) {
        l4h_annotation a = {.task_id = id, .source = "human", .text = "looked at it"};
        int rc = l4h_store_annotate(t.out, &a, &err);
        if (rc)
            fprintf(stderr, "annotate: %s\n", err.msg);
        assert_int_equal(rc, 0);
    }
    l4h_annotation bad = {.task_id = 5, .source = "human", .text = "no such task"};
    assert_int_equal(l4h_store_annotate(t.out, &bad, &err), -1);
    assert_non_null(strstr(err.msg, "no task 5"));
    l4h_results *res = results_ok(t.out);
    assert_int_equal(res->n_tasks, 4);
    assert_int_equal(res->n_annotations, 4);
    l4h_results_free(res);
    assert_int_not_equal(store_rebuild(t.out, &err), 0);
    assert_non_null(strstr(err.msg, "corrupted"));
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/l4h-store-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_round_trip),       cmocka_unit_test(final_flags_and_attempts),
        cmocka_unit_test(rebuild_equals_incremental), cmocka_unit_test(resume_continues),
        cmocka_unit_test(torn_tail_on_open),       cmocka_unit_test(damaged_or_lagging_file),
        cmocka_unit_test(meaning_check_and_fresh), cmocka_unit_test(lock_refuses),
        cmocka_unit_test(secrets_redacted),        cmocka_unit_test(long_names_truncated),
        cmocka_unit_test(checkpoint_reads_only_what_was_added),
        cmocka_unit_test(annotate_reads_only_the_header),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    l4h_remove_tree(dir, NULL);
    return rc;
}
