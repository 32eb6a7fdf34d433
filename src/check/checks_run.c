/* checks_run.c — run every check of a step on a finished workspace and
 * append the results (and the check programs' executions) to the record. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_internal.h"

/* The command line as one string for the exec record. Caller frees. */
static char *join_argv(char *const *argv)
{
    l4h_buf b = {0};
    for (size_t i = 0; argv[i]; i++) {
        if (i)
            l4h_buf_puts(&b, " ");
        if (argv[i][0] && !strpbrk(argv[i], " \t\n'\"\\$`*?[]{}()<>|&;"))
            l4h_buf_puts(&b, argv[i]);
        else {
            l4h_buf_puts(&b, "'");
            for (const char *p = argv[i]; *p; p++) {
                if (*p == '\'')
                    l4h_buf_puts(&b, "'\\''");
                else
                    l4h_buf_add(&b, p, 1);
            }
            l4h_buf_puts(&b, "'");
        }
    }
    if (!b.data)
        l4h_buf_add(&b, "", 0);
    return l4h_buf_take(&b);
}

static void fail_check(l4h_check_rec *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_check(l4h_check_rec *c, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->passed = 0;
    c->n_bad = -1;
    c->max_rel_diff = NAN;
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s\n", msg);
    check_set_report(c, l4h_buf_take(&b));
}

/* A path for a check to open the workspace file: the file is opened
 * beneath the workspace's fd (a link only while it stays inside:
 * l4h_fs_open_in) and handed over as /proc/self/fd/N of that open file (*fd,
 * for the caller to close after the check) — no path string through a
 * directory the code wrote. A missing file is returned as its plain path
 * (the check reports "was not written"); a link leading out, a FIFO or a
 * directory fails the check here. NULL when failed. Caller frees. */
static char *workspace_file(const l4h_workspace *ws, const l4h_check_spec *spec, l4h_check_rec *c,
                            int *fd)
{
    l4h_err e = {0};
    int dfd = l4h_workspace_dir(ws, &e);
    *fd = dfd >= 0 ? l4h_fs_open_in(dfd, spec->file, O_RDONLY | O_NONBLOCK, &e) : -1;
    if (dfd >= 0)
        close(dfd);
    struct stat st;
    if (*fd >= 0 && (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(*fd);
        *fd = -1;
        l4h_err_set(&e, 1, "%s: not a regular file", spec->file);
    }
    if (*fd >= 0) {
        char buf[64];
        snprintf(buf, sizeof buf, "/proc/self/fd/%d", *fd);
        return l4h_xstrdup(buf);
    }
    if (e.code == 1 && strstr(e.msg, "not found"))
        return l4h_path_join(ws->host, spec->file);
    fail_check(c, "FAIL %s: the file resolves outside the workspace or is not a regular file "
                  "(%s); outputs must be real files in the workspace", spec->file, e.msg);
    return NULL;
}

/* The timeout of a check program: limits.exec_timeout_s, cut to what is left
 * of the task's wall time (deadline, monotonic; 0 = none), at least 1 s. */
static double check_timeout(const l4h_config *cfg, double deadline)
{
    double t = cfg ? cfg->limits.exec_timeout_s : 0;
    if (deadline > 0) {
        double left = deadline - l4h_monotonic();
        if (left < 1)
            left = 1;
        if (t <= 0 || left < t)
            t = left;
    }
    return t > 0 ? t : 0;
}

/* Render spec->run with vars and run it in sb as a check program. 0 ran
 * (res filled, *argv_out the rendered command, caller frees both), 1 the
 * command cannot be rendered (e names why), 2 the suite's program is not
 * the campaign's snapshot (e names it), -1 the sandbox failed (e). */
static int run_check_program(const l4h_config *cfg, l4h_sandbox *sb, const l4h_workspace *ws,
                             const l4h_check_spec *spec, const l4h_vars *vars, double timeout_s,
                             char ***argv_out, l4h_exec_result *res, l4h_err *e)
{
    *argv_out = NULL;
    memset(res, 0, sizeof *res);
    if (l4h_render_argv(spec->run, spec->n_run, vars, argv_out, e) != 0)
        return 1;
    if (l4h_suite_resolve_argv(*argv_out, cfg && cfg->suite ? cfg->suite->dir : NULL, e) < 0)
        return 2;
    l4h_exec_spec es = {.argv = *argv_out, .see_reference = 1, .suite_program = 1,
                        .timeout_s = timeout_s};
    return l4h_sandbox_run(sb, ws, &es, res, e) == 0 ? 0 : -1;
}

/* A check program said "I cannot judge" (exit 3). Trust that only on the
 * harness's own evidence: run it once more with the reference outputs in
 * place of the workspace. 1 when it cannot judge the reference either (the
 * suite's or the harness's problem), 0 when it judges the reference, so what
 * the code left made it give up (the model's failure). */
static int cannot_judge_reference(const l4h_config *cfg, l4h_sandbox *sb, const l4h_workspace *ws,
                                  const l4h_check_spec *spec, const l4h_vars *vars,
                                  double timeout_s)
{
    if (!vars->reference_dir)
        return 1;
    l4h_vars on_ref = *vars;
    on_ref.workspace = vars->reference_dir;
    char **argv = NULL;
    l4h_exec_result res;
    l4h_err e = {0, ""};
    int rc = run_check_program(cfg, sb, ws, spec, &on_ref, timeout_s, &argv, &res, &e);
    int judged = rc == 0 && res.exit_code == 0 && !res.timed_out && !res.signal;
    l4h_exec_result_clear(&res);
    l4h_strv_free(argv);
    return !judged;
}

/* One command check: refuse a workspace with links, FIFOs or other odd
 * files, render, run in the sandbox, record the exec, judge. */
static int run_command(const l4h_config *cfg, const l4h_step *step, l4h_sandbox *sb,
                       const l4h_workspace *ws, const l4h_check_spec *spec, double deadline,
                       l4h_task_rec *rec, size_t ci, l4h_err *err)
{
    const char *label = spec->name ? spec->name : "command";
    char why[512];
    if (check_workspace_plain(ws, why, sizeof why) != 0) {
        fail_check(&rec->checks[ci], "FAIL %s: not run: %s; a check program reads only regular "
                                     "files, so outputs must be real files in the workspace "
                                     "(no links, FIFOs or devices)", label, why);
        return 0;
    }
    if (!sb) {
        fail_check(&rec->checks[ci], "FAIL %s: no sandbox to run the check program in", label);
        return l4h_err_set(err, L4H_EXIT_INFRA, "check %s: no sandbox was opened", label);
    }
    l4h_vars vars;
    char number[16];
    l4h_workspace_vars(ws, step, &vars, number);
    if (!vars.reference_dir)
        vars.reference_dir = ws->ref_view;
    double timeout_s = check_timeout(cfg, deadline);
    char **argv = NULL;
    l4h_err e = {0};
    l4h_exec_result res;
    int rc = run_check_program(cfg, sb, ws, spec, &vars, timeout_s, &argv, &res, &e);
    if (rc == 1) {
        fail_check(&rec->checks[ci], "FAIL %s: the suite's command cannot be rendered: %s", label, e.msg);
        l4h_strv_free(argv);
        return 0;
    }
    if (rc == 2) {
        fail_check(&rec->checks[ci], "FAIL %s: %s", label, e.msg);
        l4h_strv_free(argv);
        return l4h_err_set(err, L4H_EXIT_INFRA, "check %s: %s", label, e.msg);
    }
    l4h_exec_rec *x = l4h_rec_add_exec(rec);
    x->iteration = rec->iterations;
    snprintf(x->kind, sizeof x->kind, "check");
    x->code = join_argv(argv);
    snprintf(x->isolation, sizeof x->isolation, "%s", res.isolation ? res.isolation : l4h_sandbox_isolation(sb));
    if (rc != 0) {
        x->exit_code = -1;
        x->stdout_text = l4h_xstrdup("");
        x->stderr_text = l4h_xstrdup(e.msg);
        fail_check(&rec->checks[ci], "FAIL %s: the sandbox could not start the check program: %s", label,
                   e.msg);
        l4h_exec_result_clear(&res);
        l4h_strv_free(argv);
        return l4h_err_set(err, L4H_EXIT_INFRA, "check %s: %s", label, e.msg);
    }
    if (l4h_suite_verify_argv(argv, &e) < 0) { /* changed while it ran: judges nothing */
        x->exit_code = res.exit_code;
        x->stdout_text = l4h_xstrdup(res.stdout_text ? res.stdout_text : "");
        x->stderr_text = l4h_xstrdup(e.msg);
        fail_check(&rec->checks[ci], "FAIL %s: %s", label, e.msg);
        l4h_exec_result_clear(&res);
        l4h_strv_free(argv);
        return l4h_err_set(err, L4H_EXIT_INFRA, "check %s: %s", label, e.msg);
    }
    x->exit_code = res.exit_code;
    x->signal = res.signal;
    x->timed_out = res.timed_out;
    snprintf(x->limit, sizeof x->limit, "%.15s", res.limit);
    x->wall_s = res.wall_s;
    x->max_rss_kb = res.max_rss_kb;
    x->stdout_text = l4h_xstrdup(res.stdout_text ? res.stdout_text : "");
    x->stderr_text = l4h_xstrdup(res.stderr_text ? res.stderr_text : "");
    x->truncated = res.truncated;
    check_command_result(label, &res, spec->expect, spec->n_expect, &rec->checks[ci]);
    int cannot_judge = res.exit_code == L4H_EXIT_INFRA && !res.timed_out && !res.signal &&
                       !res.limit[0] && !res.not_started &&
                       cannot_judge_reference(cfg, sb, ws, spec, &vars, timeout_s);
    if (cannot_judge) {
        /* exit 3 on the reference too: the check program's "cannot judge"
         * (reference unreadable, a suite bug): not the model's failure */
        const char *w = res.stdout_text && *res.stdout_text ? res.stdout_text
                        : res.stderr_text ? res.stderr_text : "";
        l4h_err_set(err, L4H_EXIT_INFRA, "check %s could not judge (exit 3), not even the "
                                         "reference outputs: %.300s", label, w);
    }
    l4h_exec_result_clear(&res);
    l4h_strv_free(argv);
    return cannot_judge ? -1 : 0;
}

int l4h_checks_run(const l4h_config *cfg, const l4h_step *step, l4h_sandbox *sb,
                   const l4h_workspace *ws, l4h_task_rec *rec, l4h_err *err)
{
    return l4h_checks_run_until(cfg, step, sb, ws, 0, rec, err);
}

int l4h_checks_run_until(const l4h_config *cfg, const l4h_step *step, l4h_sandbox *sb,
                         const l4h_workspace *ws, double deadline, l4h_task_rec *rec, l4h_err *err)
{
    int failed = 0, infra_failed = 0;
    const char *ref_dir = ws->ref_host ? ws->ref_host
                          : cfg && cfg->suite ? cfg->suite->reference_dir : NULL;
    for (size_t i = 0; i < step->n_checks; i++) {
        const l4h_check_spec *spec = &step->checks[i];
        size_t ci = rec->n_checks;
        l4h_check_rec *c = l4h_rec_add_check(rec);
        c->check = l4h_xstrdup(spec->name ? spec->name : "check");
        c->max_rel_diff = NAN;
        switch (spec->kind) {
        case L4H_CHECK_ARRAY: {
            int fd = -1;
            char *cand = workspace_file(ws, spec, c, &fd);
            if (!cand)
                break;
            char *ref = l4h_path_join(ref_dir ? ref_dir : ".", spec->file);
            check_array_labeled(cand, ref, spec->file, spec->sig_digits, spec->zero_floor, c);
            free(ref);
            free(cand);
            if (fd >= 0)
                close(fd);
            break;
        }
        case L4H_CHECK_TEXT: {
            int fd = -1;
            char *path = workspace_file(ws, spec, c, &fd);
            if (!path)
                break;
            check_text_labeled(path, spec->file, spec->patterns, spec->n_patterns, c);
            free(path);
            if (fd >= 0)
                close(fd);
            break;
        }
        case L4H_CHECK_COMMAND: {
            l4h_err e = {0};
            if (run_command(cfg, step, sb, ws, spec, deadline, rec, ci, &e) != 0) {
                if (!infra_failed && err)
                    *err = e;
                infra_failed = 1;
            }
            break;
        }
        default:
            fail_check(c, "FAIL %s: unknown check type %d", c->check, (int)spec->kind);
        }
        failed += !rec->checks[ci].passed;
    }
    return infra_failed ? -1 : failed;
}
