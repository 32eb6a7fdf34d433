/* rescore.c — `llm4hep rescore RESULTS.h5 --suite SUITE`: the hidden checks
 * of SUITE judged again on the outputs a sweep kept (keep_outputs), without
 * running any model or code; one new run of /checks rows. Each kept task's
 * outputs are restored (verified against their manifest) into a fresh
 * directory and checked exactly as `validate` checks a directory: array and
 * text checks read it through its fd, command checks run as the suite's
 * programs in the sandbox (python -I, HOME and cwd outside, the outputs
 * read-only). Nothing the model wrote executes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm4hep/check.h"
#include "llm4hep/exec.h"
#include "llm4hep/report.h"

/* The most a task's kept outputs may decompress to (the sweep's cap is at
 * most this; a manifest claiming more is refused). */
#define RESTORE_MAX ((int64_t)1 << 40)

typedef struct rescore_ctx {
    const l4h_results *res;
    const l4h_suite *suite;
    l4h_config *cfg;           /* defaults with the suite borrowed: as validate */
    l4h_sandbox *sb;           /* opened at the first command check */
    int sb_failed;
    char *outputs_dir;
    FILE *out;
    l4h_task_rec *judged;      /* task_id and checks per task judged again */
    size_t n_judged;
    size_t not_kept, missing, no_checks, no_step, changed, infra;
} rescore_ctx;

/* "supervisor/coder step trial N" of a task (or the model once when the
 * supervisor is the coder) into buf. */
static const char *task_name(const l4h_task_rec *t, char *buf, size_t n)
{
    if (!strcmp(t->supervisor, t->coder))
        snprintf(buf, n, "task %" PRId64 " (%s, %s, trial %d)", t->task_id, t->coder, t->step,
                 t->trial);
    else
        snprintf(buf, n, "task %" PRId64 " (%s/%s, %s, trial %d)", t->task_id, t->supervisor,
                 t->coder, t->step, t->trial);
    return buf;
}

/* A workspace over the restored directory dir, with the sandbox's view
 * paths (as validate). */
static void workspace_over(const char *dir, const l4h_suite *suite, const l4h_sandbox *sb,
                           l4h_workspace *ws)
{
    int bwrap = sb && !strcmp(l4h_sandbox_isolation(sb), "bwrap");
    memset(ws, 0, sizeof *ws);
    ws->host = l4h_xstrdup(dir);
    ws->view = l4h_xstrdup(bwrap ? "/workspace" : dir);
    ws->data_host = l4h_xstrdup(suite->data_dir);
    ws->data_view = l4h_xstrdup(bwrap ? "/data" : suite->data_dir);
    ws->ref_host = l4h_xstrdup(suite->reference_dir);
    ws->ref_view = l4h_xstrdup(bwrap ? "/reference" : suite->reference_dir);
}

/* The sandbox when the step has a command check (opened once). 0, or -1
 * when it cannot start (err). */
static int need_sandbox(rescore_ctx *c, const l4h_step *step, l4h_err *err)
{
    for (size_t i = 0; i < step->n_checks; i++)
        if (step->checks[i].kind == L4H_CHECK_COMMAND) {
            if (!c->sb && !c->sb_failed && !(c->sb = l4h_sandbox_open(c->cfg, err)))
                c->sb_failed = 1;
            return c->sb ? 0 : -1;
        }
    return 0;
}

/* The checks that changed verdict between old and new into b ("name: pass
 * -> FAIL"); a check only one of them has counts as changed. */
static void changed_checks(const l4h_task_rec *old, const l4h_task_rec *new, l4h_buf *b)
{
    for (size_t i = 0; i < new->n_checks; i++) {
        int was = -1;
        for (size_t j = 0; j < old->n_checks && was < 0; j++)
            if (!strcmp(old->checks[j].check, new->checks[i].check))
                was = old->checks[j].passed != 0;
        if (was != (new->checks[i].passed != 0))
            l4h_buf_printf(b, "%s%s: %s -> %s", b->len ? "; " : "", new->checks[i].check,
                           was < 0 ? "new" : was ? "pass" : "FAIL",
                           new->checks[i].passed ? "pass" : "FAIL");
    }
}

/* Judge one task again. 0 judged or skipped (said why), -1 the harness
 * failed (err: the sandbox, or a check program that cannot judge). */
static int rescore_task(rescore_ctx *c, const l4h_task_rec *t, l4h_err *err)
{
    char name[512];
    task_name(t, name, sizeof name);
    const l4h_step *step = l4h_suite_step(c->suite, t->step);
    if (!step) {
        fprintf(c->out, "%s: not judged: step %s is not in %s\n", name, t->step, c->suite->path);
        c->no_step++;
        return 0;
    }
    if (strncmp(t->outputs, "kept", 4) != 0) {
        l4h_task_rec full = {0};
        l4h_err e0 = {0};
        int judged = t->outputs[0] || l4h_results_task(c->res, t->task_id, &full, &e0) != 0 ||
                     full.n_checks > 0;
        l4h_rec_clear(&full);
        if (!judged) { /* no code ran: its checks never judged anything */
            c->no_checks++;
            return 0;
        }
        fprintf(c->out, "%s: not judged: its outputs were not kept (%s)\n", name,
                t->outputs[0] ? t->outputs : "written without keep_outputs");
        c->not_kept++;
        return 0;
    }
    char tmpl[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/llm4hep-rescore-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl))
        return l4h_err_set(err, L4H_EXIT_INFRA, "cannot create a directory in %s: %s",
                           tmp && *tmp ? tmp : "/tmp", strerror(errno));
    chmod(tmpl, 0755); /* the sandbox's unprivileged uid reads it */
    l4h_err e = {0};
    int dfd = l4h_fs_dir_open(tmpl, &e), rc = 0;
    if (dfd < 0 || l4h_outputs_restore(c->outputs_dir, t->key, t->attempt, dfd, RESTORE_MAX,
                                       &e) != 0) {
        if (dfd >= 0 && e.code == 1) {
            fprintf(c->out, "%s: not judged: %s\n", name, e.msg);
            c->missing++;
        } else {
            *err = e;
            rc = -1;
        }
    } else if (need_sandbox(c, step, &e) != 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "the sandbox for command checks: %s", e.msg);
        rc = -1;
    } else {
        l4h_workspace ws;
        workspace_over(tmpl, c->suite, c->sb, &ws);
        l4h_task_rec now = {.task_id = t->task_id};
        int nbad = l4h_checks_run(c->cfg, step, c->sb, &ws, &now, &e);
        l4h_workspace_release(&ws);
        if (nbad < 0) {
            fprintf(c->out, "%s: could not be judged: %s\n", name, e.msg);
            c->infra++;
            l4h_rec_clear(&now);
        } else {
            l4h_task_rec old = {0};
            l4h_err e2 = {0};
            int was = t->success;
            l4h_buf b = {0};
            if (l4h_results_task(c->res, t->task_id, &old, &e2) == 0)
                changed_checks(&old, &now, &b);
            l4h_rec_clear(&old);
            int is = nbad == 0;
            fprintf(c->out, "%s: %s%s%s%s%s\n", name, was == is ? "" : was ? "PASS -> " : "FAIL -> ",
                    is ? "PASS" : "FAIL", b.len ? " (" : "", b.len ? b.data : "", b.len ? ")" : "");
            l4h_buf_free(&b);
            c->changed += was != is;
            c->judged = l4h_xrealloc(c->judged, (c->n_judged + 1) * sizeof *c->judged);
            c->judged[c->n_judged++] = now;
        }
    }
    if (dfd >= 0)
        close(dfd);
    char *parent = l4h_path_dir(tmpl);
    int pfd = l4h_fs_dir_open(parent, NULL);
    if (pfd >= 0) {
        l4h_fs_remove(pfd, strrchr(tmpl, '/') + 1, NULL);
        close(pfd);
    }
    free(parent);
    return rc;
}

int l4h_rescore(const char *h5path, const char *suite_path, FILE *out, l4h_err *err)
{
    struct stat st;
    l4h_buf jb = {0};
    l4h_buf_printf(&jb, "%s.journal", h5path); /* the file is rebuilt from it when missing */
    int exists = stat(h5path, &st) == 0 || stat(jb.data, &st) == 0;
    l4h_buf_free(&jb);
    if (!exists) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: no such results file", h5path);
        return L4H_EXIT_USAGE;
    }
    l4h_rescore_writer *w = l4h_store_rescore_begin(h5path, err);
    if (!w)
        return err->code ? err->code : L4H_EXIT_INFRA;
    l4h_run_info info = {.started_utc = l4h_now(), .ranks = 1};
    rescore_ctx c = {.out = out, .outputs_dir = l4h_outputs_dir(h5path)};
    l4h_results *res = NULL;
    l4h_suite *suite = NULL;
    int rc = 0;
    if (l4h_results_open(h5path, &res, err) != 0 || l4h_suite_load(suite_path, &suite, err) != 0) {
        rc = err->code ? err->code : L4H_EXIT_USAGE;
        goto out;
    }
    if (stat(suite->reference_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "no reference outputs at %s; build them with "
                         "`llm4hep reference %s`", suite->reference_dir, suite_path);
        rc = L4H_EXIT_INFRA;
        goto out;
    }
    c.res = res;
    c.suite = suite;
    c.cfg = l4h_config_defaults();
    c.cfg->suite = suite; /* borrowed */
    size_t n_final = 0;
    for (size_t i = 0; i < res->n_tasks && !rc; i++) {
        const l4h_task_rec *t = &res->tasks[i];
        if (!t->final || l4h_status_is_infra(t->status))
            continue; /* a later attempt, or the harness's failure: nothing the model made */
        n_final++;
        if (rescore_task(&c, t, err) != 0)
            rc = err->code ? err->code : L4H_EXIT_INFRA;
    }
    if (rc)
        goto out;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    l4h_buf desc = {0};
    l4h_buf_printf(&desc, "# llm4hep rescore %s --suite %s (suite sha256 %s)\n", h5path,
                   suite->path, suite->sha256);
    info.hosts = host;
    info.llm4hep_version = LLM4HEP_VERSION;
    info.git_commit = LLM4HEP_GIT_COMMIT;
    info.config_text = desc.data;
    info.exit_code = c.infra ? L4H_EXIT_INFRA
                     : c.not_kept + c.missing + c.no_step ? L4H_EXIT_FAILED : L4H_EXIT_OK;
    int wrc = l4h_store_rescore_end(w, &info, c.judged, c.n_judged, err);
    w = NULL;
    l4h_buf_free(&desc);
    if (wrc != 0) {
        rc = err->code ? err->code : L4H_EXIT_INFRA;
        goto out;
    }
    fprintf(out, "rescore run %d of %s: %zu of %zu tasks judged again with %s, %zu verdict%s "
                 "changed", info.run, h5path, c.n_judged, n_final, suite_path, c.changed,
            c.changed == 1 ? "" : "s");
    if (c.not_kept + c.missing + c.no_step + c.infra)
        fprintf(out, "; not judged: %zu outputs not kept, %zu kept outputs missing or damaged, "
                     "%zu steps not in the suite, %zu checks that could not judge",
                c.not_kept, c.missing, c.no_step, c.infra);
    fprintf(out, " (`llm4hep report %s` shows what changed)\n", h5path);
    rc = info.exit_code;
    if (c.infra)
        l4h_err_set(err, L4H_EXIT_INFRA, "%zu task%s could not be judged: a check program could "
                    "not judge, not even the reference outputs (named above); the others are "
                    "recorded as run %d", c.infra, c.infra == 1 ? "" : "s", info.run);
out:
    l4h_store_rescore_abandon(w);
    for (size_t i = 0; i < c.n_judged; i++)
        l4h_rec_clear(&c.judged[i]);
    free(c.judged);
    free(c.outputs_dir);
    l4h_sandbox_free(c.sb);
    if (c.cfg) {
        c.cfg->suite = NULL;
        l4h_config_free(c.cfg);
    }
    l4h_suite_free(suite);
    l4h_results_free(res);
    return rc;
}
