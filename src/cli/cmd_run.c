/* cmd_run.c — `llm4hep run CONFIG --step S (--model M | --supervisor M
 * --coder M) [--trial N] [--out-dir DIR] [--validate]`: one task without MPI,
 * as the original run_smk_sequential.sh --stepN [--validate]. It prints the
 * conversation as it goes, copies the workspace to --out-dir (with the task's
 * record as task.json), and ends with the check report and the status.
 *
 * Checks run only with --validate (as the original's --validate ran
 * check_soln.py); without it the status reflects the loop alone (agent.h).
 * Exit 0 success, 1 a model failure (failed_*), 2 bad usage or input,
 * 3 infrastructure (error_*, interrupted). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm4hep/agent.h"
#include "verbs.h"

static const char usage[] =
    "usage: llm4hep run CONFIG --step S (--model M | --supervisor M --coder M)\n"
    "                  [--trial N] [--out-dir DIR] [--validate]\n"
    "\n"
    "Run one task (one supervisor, one coder, one step, one trial) without MPI and\n"
    "print the conversation as it goes.\n"
    "  --step S         step name or 1-based number\n"
    "  --model M        one model in both roles (sequential mode)\n"
    "  --supervisor M --coder M   two models (paired mode)\n"
    "  --trial N        trial number (default 1; scripted models may differ by trial)\n"
    "  --out-dir DIR    copy the final workspace there (generated_code/, logs/, arrays/,\n"
    "                   plots/) and the task's record as DIR/task.json; DIR must be new\n"
    "                   or empty (one directory per task: files of two tasks never mix)\n"
    "  --validate       run the step's hidden checks on the final workspace; without it\n"
    "                   the status reflects the loop alone (success = the last code ran\n"
    "                   cleanly and the supervisor said DONE)\n"
    "Exit 0 success, 1 the models failed, 2 bad usage or input, 3 infrastructure.\n";

static volatile sig_atomic_t stop_flag;

/* First SIGINT/SIGTERM: finish as interrupted at the next model call or run
 * (SA_RESETHAND: a second one ends the process; bubblewrap's
 * --die-with-parent takes the running code with it). */
static void on_signal(int sig)
{
    (void)sig;
    static const char msg[] = "\nllm4hep run: stopping at the next step (again to abort now)\n";
    stop_flag = 1;
    l4h_interrupt_waits(); /* a backoff or Retry-After wait ends now */
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
}

/* ------------------------------------------------------------- printing */

typedef struct printer {
    FILE *fp;
    int colour;
} printer;

enum { C_RESET, C_SUP, C_COD, C_CODE, C_OK, C_BAD, C_DIM };
static const char *const colours[] = {"\033[0m", "\033[1;35m", "\033[1;36m", "\033[1;33m",
                                      "\033[1;32m", "\033[1;31m", "\033[2m"};

static const char *col(const printer *p, int c)
{
    return p->colour ? colours[c] : "";
}

/* n bytes of s (text from outside: the model, its code, the endpoint) with
 * control characters shown, not obeyed (l4h_term_visible). */
static void put_visible(const printer *p, const char *s, size_t n)
{
    l4h_buf b = {0};
    l4h_term_visible(s, n, &b);
    fwrite(b.data, 1, b.len, p->fp);
    l4h_buf_free(&b);
}

static void heading(const printer *p, int c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void heading(const printer *p, int c, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(p->fp, "\n%s── ", col(p, c));
    put_visible(p, line, strlen(line)); /* tool names and arguments are the model's */
    fprintf(p->fp, " ──%s\n", col(p, C_RESET));
}

/* Print text, at most max_lines lines (head and tail), indented. */
static void body(const printer *p, const char *text, int max_lines)
{
    if (!text || !*text) {
        fprintf(p->fp, "%s(empty)%s\n", col(p, C_DIM), col(p, C_RESET));
        return;
    }
    int lines = 0;
    for (const char *s = text; *s; s++)
        lines += *s == '\n';
    if (text[strlen(text) - 1] != '\n')
        lines++;
    int head = max_lines / 2, tail = max_lines - head, i = 0;
    const char *s = text;
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (lines <= max_lines || i < head || i >= lines - tail) {
            fputs("  ", p->fp);
            put_visible(p, s, n);
            fputc('\n', p->fp);
        }
        else if (i == head)
            fprintf(p->fp, "  %s[... %d lines ...]%s\n", col(p, C_DIM), lines - max_lines, col(p, C_RESET));
        i++;
        s = e ? e + 1 : s + n;
    }
}

static void on_message(void *ctx, const char *agent, int it, const char *text)
{
    const printer *p = ctx;
    if (!strcmp(agent, "supervisor")) {
        if (it == 0)
            heading(p, C_SUP, "supervisor: plan");
        else
            heading(p, C_SUP, "supervisor: review of iteration %d", it);
    } else if (!strcmp(agent, "coder")) {
        heading(p, C_COD, "coder: iteration %d", it);
    } else {
        fprintf(p->fp, "%s[%s] ", col(p, C_DIM), agent);
        put_visible(p, text, strlen(text));
        fprintf(p->fp, "%s\n", col(p, C_RESET));
        return;
    }
    body(p, text, 400);
    fflush(p->fp);
}

static void on_code(void *ctx, int it, const char *code)
{
    const printer *p = ctx;
    int lines = 0;
    for (const char *s = code; *s; s++)
        lines += *s == '\n';
    fprintf(p->fp, "%s→ running generated_code/iter_%d.py (%d lines)%s\n", col(p, C_CODE), it, lines,
            col(p, C_RESET));
    fflush(p->fp);
}

static void on_exec(void *ctx, int it, const l4h_exec_rec *ex)
{
    const printer *p = ctx;
    int bad = ex->exit_code != 0 || ex->timed_out;
    if (strcmp(ex->kind, "code"))
        return; /* tools are shown by on_tool, checks by on_check */
    heading(p, bad ? C_BAD : C_OK, "run of iteration %d: %s%d%s, %.2f s, %s", it,
            ex->timed_out ? "timed out, exit " : "exit ", ex->exit_code,
            ex->signal ? " (signal)" : "", ex->wall_s, ex->isolation);
    fprintf(p->fp, "stdout:\n");
    body(p, ex->stdout_text, 40);
    fprintf(p->fp, "stderr:\n");
    body(p, ex->stderr_text, 40);
    fflush(p->fp);
}

static void on_tool(void *ctx, int it, const char *name, const char *args, const char *result)
{
    const printer *p = ctx;
    heading(p, C_CODE, "tool call in iteration %d: %s(%s)", it, name, args);
    body(p, result, 20);
    fflush(p->fp);
}

static void on_check(void *ctx, const l4h_check_rec *c)
{
    const printer *p = ctx;
    l4h_buf name = {0};
    l4h_term_visible(c->check, strlen(c->check), &name);
    fprintf(p->fp, "%scheck %-44s %s%s\n", col(p, c->passed ? C_OK : C_BAD), name.data,
            c->passed ? "pass" : "FAIL", col(p, C_RESET));
    l4h_buf_free(&name);
    if (!c->passed && c->report)
        body(p, c->report, 30);
    fflush(p->fp);
}

/* ------------------------------------------------------------ arguments */

typedef struct run_args {
    const char *config, *step, *model, *supervisor, *coder, *out_dir;
    int trial, validate;
} run_args;

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "llm4hep run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return L4H_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, run_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        const char **dst = !strcmp(f, "--step")         ? &a->step
                           : !strcmp(f, "--model")      ? &a->model
                           : !strcmp(f, "--supervisor") ? &a->supervisor
                           : !strcmp(f, "--coder")      ? &a->coder
                           : !strcmp(f, "--out-dir")    ? &a->out_dir
                                                        : NULL;
        if (dst || !strcmp(f, "--trial")) {
            if (i + 1 >= argc)
                return bad_usage("%s needs a value", f);
            const char *v = argv[++i];
            if (dst) {
                *dst = v;
                continue;
            }
            char *end;
            errno = 0;
            long t = strtol(v, &end, 10);
            if (errno || *end || t < 1 || t > 1000000)
                return bad_usage("--trial expects a positive integer, got '%s'", v);
            a->trial = (int)t;
        } else if (!strcmp(f, "--validate")) {
            a->validate = 1;
        } else if (f[0] == '-') {
            return bad_usage("unknown flag %s", f);
        } else if (!a->config) {
            a->config = f;
        } else {
            return bad_usage("one CONFIG expected, got also '%s'", f);
        }
    }
    if (!a->config)
        return bad_usage("%s", "CONFIG (a campaign config .yml) is required");
    if (!a->step)
        return bad_usage("%s", "--step S is required (a step name or its 1-based number)");
    if (a->model && (a->supervisor || a->coder))
        return bad_usage("%s", "--model excludes --supervisor/--coder");
    if (!a->model && (!a->supervisor || !a->coder))
        return bad_usage("%s", "give --model M, or both --supervisor M and --coder M");
    if (a->model)
        a->supervisor = a->coder = a->model;
    return 0;
}

static int exit_code_of(l4h_status s)
{
    if (s == L4H_STATUS_SUCCESS)
        return L4H_EXIT_OK;
    return l4h_status_is_infra(s) ? L4H_EXIT_INFRA : L4H_EXIT_FAILED;
}

static void summary(const printer *p, const l4h_task_rec *rec)
{
    l4h_status s = rec->status;
    int c = s == L4H_STATUS_SUCCESS ? C_OK : C_BAD;
    fprintf(p->fp, "\n%sstatus: %s%s\n", col(p, c), l4h_status_name(s), col(p, C_RESET));
    fprintf(p->fp, "iterations: %d  approved: %s  api_calls: %d  tokens: %lld+%lld", rec->iterations,
            rec->approved ? "yes" : "no", rec->api_calls, (long long)rec->prompt_tokens,
            (long long)rec->completion_tokens);
    if (rec->cost_usd == rec->cost_usd)
        fprintf(p->fp, "  cost: $%.4f", rec->cost_usd);
    fprintf(p->fp, "\nwall: %.2f s  llm: %.2f s  exec: %.2f s\n", rec->wall_s, rec->llm_s, rec->exec_s);
    if (rec->error_category[0])
        fprintf(p->fp, "error_category: %s\n", rec->error_category);
    if (rec->error_summary && *rec->error_summary) {
        fputs("error_summary: ", p->fp);
        put_visible(p, rec->error_summary, strlen(rec->error_summary));
        fputc('\n', p->fp);
    }
}

/* Write the record to DIR/task.json (through DIR's fd, replacing whatever
 * the copied workspace holds at that name, never writing through it), with
 * the secrets the process holds redacted (as the store does; what a model
 * wrote holds none). */
static void write_record(const char *dir, const l4h_task_rec *rec)
{
    char *json = l4h_rec_to_json(rec);
    l4h_secrets_redact(&json);
    l4h_err err = {0};
    int fd = l4h_mkdirs(dir, 0755, &err) == 0 ? l4h_fs_dir_open(dir, &err) : -1;
    if (fd < 0 || l4h_fs_write(fd, "task.json", json, strlen(json), 0644, &err) != 0)
        fprintf(stderr, "llm4hep run: writing %s/task.json: %s\n", dir, err.msg);
    if (fd >= 0)
        close(fd);
    free(json);
}

int cmd_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return L4H_EXIT_OK;
    }
    run_args a = {.trial = 1};
    if (parse_args(argc, argv, &a) != 0)
        return L4H_EXIT_USAGE;

    l4h_err err = {0};
    l4h_config *cfg = NULL;
    if (l4h_config_load(a.config, &cfg, &err) != 0) {
        fprintf(stderr, "llm4hep run: %s\n", err.msg);
        return err.code ? err.code : L4H_EXIT_USAGE;
    }
    int rc = L4H_EXIT_INFRA;
    l4h_permits *permits = NULL;
    l4h_llm *llm = NULL;
    l4h_sandbox *sb = NULL;
    l4h_task_rec rec = {0};
    const l4h_step *step = l4h_suite_step(cfg->suite, a.step);
    if (!step) {
        fprintf(stderr, "llm4hep run: --step %s: no such step in %s; the steps are:", a.step,
                cfg->suite->path);
        for (size_t i = 0; i < cfg->suite->n_steps; i++)
            fprintf(stderr, " %d %s%s", cfg->suite->steps[i].number, cfg->suite->steps[i].name,
                    i + 1 < cfg->suite->n_steps ? "," : "");
        fprintf(stderr, "\n");
        rc = L4H_EXIT_USAGE;
        goto out;
    }
    /* a reused out-dir would mix two tasks' files: refuse before any work */
    if (a.out_dir && l4h_workspace_outdir_check(a.out_dir, &err) != 0) {
        fprintf(stderr, "llm4hep run: %s\n", err.msg);
        rc = L4H_EXIT_USAGE;
        goto out;
    }
    l4h_model_resolved mr;
    const char *who[2] = {a.supervisor, a.coder};
    for (int k = 0; k < 2; k++)
        if (l4h_config_model(cfg, who[k], &mr, &err) != 0) {
            fprintf(stderr, "llm4hep run: --%s %s: %s\n", a.model ? "model" : k ? "coder" : "supervisor",
                    who[k], err.msg);
            rc = L4H_EXIT_USAGE;
            goto out;
        }
    if ((a.validate || step->n_stage) && l4h_reference_verify(cfg->suite, &err) != 0) {
        fprintf(stderr, "llm4hep run: the reference is not usable: %s\n", err.msg);
        rc = L4H_EXIT_USAGE;
        goto out;
    }

    l4h_buf notes = {0}; /* said here, once: which keys are placeholders */
    l4h_secrets_collect(cfg, &notes);
    if (notes.len)
        fputs(notes.data, stderr);
    l4h_buf_free(&notes);
    permits = l4h_permits_local_new(cfg);
    if (!(llm = l4h_llm_new(cfg, permits, &err)) || !(sb = l4h_sandbox_open(cfg, &err))) {
        fprintf(stderr, "llm4hep run: %s\n", err.msg);
        rc = err.code ? err.code : L4H_EXIT_INFRA;
        goto out;
    }
    l4h_exec_harden_self();
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    printer pr = {.fp = stdout, .colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR")};
    l4h_observer obs = {.ctx = &pr, .message = on_message, .code = on_code, .exec = on_exec,
                        .tool = on_tool, .check = on_check};
    l4h_task task = {.index = 0, .supervisor = a.supervisor, .coder = a.coder, .step = step,
                     .trial = a.trial};
    l4h_task_key(cfg->name, a.supervisor, a.coder, step->name, a.trial, task.key);
    l4h_task_env env = {.cfg = cfg, .llm = llm, .sandbox = sb, .permits = permits,
                        .observer = &obs, .out_dir = a.out_dir, .attempt = 1, .stop = &stop_flag,
                        .no_checks = !a.validate};
    printf("llm4hep run: step %d %s, supervisor %s, coder %s, trial %d, sandbox %s, task %s%s\n",
           step->number, step->name, a.supervisor, a.coder, a.trial, l4h_sandbox_isolation(sb),
           task.key, a.validate ? ", checks after the loop" : "");
    printf("llm4hep run: sandbox %s\n",
           l4h_sandbox_describe(l4h_sandbox_isolation(sb), cfg->sandbox.network));
    fflush(stdout);
    if (l4h_task_run(&env, &task, &rec, &err) != 0) {
        fprintf(stderr, "llm4hep run: %s\n", err.msg);
        rc = L4H_EXIT_INFRA;
        goto out;
    }
    if (!a.validate && rec.status != L4H_STATUS_FAILED_NO_CODE && !l4h_status_is_infra(rec.status))
        printf("\n(no checks: run with --validate to compare the outputs with the reference)\n");
    summary(&pr, &rec);
    if (a.out_dir) {
        write_record(a.out_dir, &rec);
        printf("workspace copied to %s (record: %s/task.json)\n", a.out_dir, a.out_dir);
    }
    rc = exit_code_of(rec.status);
out:
    l4h_rec_clear(&rec);
    l4h_sandbox_free(sb);
    l4h_llm_free(llm);
    l4h_permits_local_free(permits);
    l4h_config_free(cfg);
    return rc;
}
