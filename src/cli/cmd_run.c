/* cmd_run.c — `llm4hep run CONFIG (--step S... | --all-steps) [--chain]
 * (--model M | --supervisor M --coder M) [--trial N] [--out-dir DIR |
 * --job-id ID | --auto-dir] [--validate]`: tasks without MPI, as the
 * original run_smk_sequential.sh --stepN... [--validate]. It prints the
 * conversation as it goes, copies each workspace to the output folder (with
 * the task's record as task.json, prompt_pairs/ and, with --validate,
 * logs/<step>_validation.log), and ends with the check report and the status.
 *
 * Several steps run in suite order, each on its staged reference inputs
 * (mode "staged"), or with --chain on the model's own outputs of the steps
 * before (mode "chain", chain.c). The mode is in task.json, in the folder's
 * run.json and in the terminal summary.
 *
 * Checks run only with --validate (as the original's --validate ran
 * check_soln.py); without it the status reflects the loop alone (agent.h).
 * Exit 0 every step succeeded, 1 a model failure (failed_*, or a chain
 * whose step did not hand on an input), 2 bad usage or input, 3
 * infrastructure (error_*, interrupted); several steps: the worst. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "llm4hep/agent.h"
#include "cli_internal.h"

static const char usage[] =
    "usage: llm4hep run CONFIG (--step S [--step S ...] | --all-steps) [--chain]\n"
    "                  (--model M | --supervisor M --coder M) [--trial N]\n"
    "                  [--out-dir DIR | --job-id ID | --auto-dir] [--validate]\n"
    "\n"
    "Run tasks (one supervisor, one coder, one trial; one task per step) without MPI\n"
    "and print the conversation as it goes.\n"
    "  --step S         step name or 1-based number; repeat it for several steps, which\n"
    "                   run in the suite's order\n"
    "  --all-steps      every step of the suite\n"
    "  --chain          each step consumes the model's own outputs of the steps before\n"
    "                   it in this call (the files the suite stages for it), the whole\n"
    "                   analysis end to end; a staged file no earlier step of the call\n"
    "                   produces comes from the reference. Without --chain every step\n"
    "                   runs on its staged reference inputs (mode \"staged\"). A step\n"
    "                   that does not hand on a file stops the chain (exit 1).\n"
    "  --model M        one model in both roles (sequential mode)\n"
    "  --supervisor M --coder M   two models (paired mode)\n"
    "  --trial N        trial number (default 1; scripted models may differ by trial)\n"
    "  --out-dir DIR    copy the final workspace there (generated_code/, logs/, arrays/,\n"
    "                   plots/), with prompt_pairs/ (each prompt and the answer it got),\n"
    "                   logs/<step>_validation.log (with --validate) and the task's record\n"
    "                   as task.json; with several steps one such folder per step,\n"
    "                   DIR/<step>/, and DIR/run.json. DIR must be new or empty (files of\n"
    "                   two runs never mix)\n"
    "  --job-id ID      the same into results_job_ID (as the original's job folders)\n"
    "  --auto-dir       the same into results_YYYYMMDD_HHMMSS (local time)\n"
    "  --validate       run the step's hidden checks on the final workspace; without it\n"
    "                   the status reflects the loop alone (success = the last code ran\n"
    "                   cleanly and the supervisor said DONE)\n"
    "Exit 0 success, 1 the models failed, 2 bad usage or input, 3 infrastructure;\n"
    "with several steps the worst of them.\n";

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
    const char *config, *model, *supervisor, *coder, *out_dir, *job_id;
    const char *const *steps;
    size_t n_steps;
    int trial, validate, all_steps, chain, auto_dir;
    char auto_name[64];
} run_args;

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "llm4hep run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return L4H_EXIT_USAGE;
}

static const cli_opt run_opts[] = {
    {"--step", CLI_MANY, "S"},          {"--all-steps", CLI_SWITCH, NULL},
    {"--chain", CLI_SWITCH, NULL},      {"--model", CLI_ONE, "M"},
    {"--supervisor", CLI_ONE, "M"},     {"--coder", CLI_ONE, "M"},
    {"--trial", CLI_ONE, "N"},          {"--out-dir", CLI_ONE, "DIR"},
    {"--job-id", CLI_ONE, "ID"},        {"--auto-dir", CLI_SWITCH, NULL},
    {"--validate", CLI_SWITCH, NULL},   {NULL, 0, NULL}};

/* A job id makes a folder name: letters, digits, '.', '_', '-'; not "." or "..". */
static int job_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64 || !strcmp(id, ".") || !strcmp(id, ".."))
        return 0;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Parse argv into a (values point into argv; cli holds the step list). */
static int parse_args(int argc, char **argv, run_args *a, cli_args *cli)
{
    if (cli_parse("run", run_opts, "CONFIG", 1, argc, argv, cli) != 0)
        return -1;
    a->config = cli->n_pos ? cli->pos[0] : NULL;
    a->n_steps = cli_many(cli, "--step", &a->steps);
    a->all_steps = cli_has(cli, "--all-steps");
    a->chain = cli_has(cli, "--chain");
    a->model = cli_one(cli, "--model");
    a->supervisor = cli_one(cli, "--supervisor");
    a->coder = cli_one(cli, "--coder");
    a->out_dir = cli_one(cli, "--out-dir");
    a->job_id = cli_one(cli, "--job-id");
    a->auto_dir = cli_has(cli, "--auto-dir");
    a->validate = cli_has(cli, "--validate");
    const char *t = cli_one(cli, "--trial");
    if (t) {
        char *end;
        errno = 0;
        long v = strtol(t, &end, 10);
        if (!*t || errno || *end || v < 1 || v > 1000000)
            return bad_usage("--trial expects a positive integer, got '%s'", t);
        a->trial = (int)v;
    }
    if (!a->config)
        return bad_usage("%s", "CONFIG (a campaign config .yml) is required");
    if (!a->n_steps && !a->all_steps)
        return bad_usage("%s", "--step S is required (a step name or its 1-based number; "
                               "repeat it, or --all-steps)");
    if (a->n_steps && a->all_steps)
        return bad_usage("%s", "--all-steps excludes --step");
    if (a->model && (a->supervisor || a->coder))
        return bad_usage("%s", "--model excludes --supervisor/--coder");
    if (!a->model && (!a->supervisor || !a->coder))
        return bad_usage("%s", "give --model M, or both --supervisor M and --coder M");
    if (!!a->out_dir + !!a->job_id + a->auto_dir > 1)
        return bad_usage("%s", "--out-dir, --job-id and --auto-dir each name the output folder; "
                               "give one");
    if (a->job_id && !job_id_ok(a->job_id))
        return bad_usage("--job-id %s: expected letters, digits, '.', '_' or '-' (at most 64; "
                         "it names the folder results_job_ID)", a->job_id);
    if (a->model)
        a->supervisor = a->coder = a->model;
    return 0;
}

/* The steps asked for, in suite order (*out: suite->n_steps flags). 0, or
 * exit 2 after naming the unknown or repeated step. */
static int pick_steps(const run_args *a, const l4h_suite *suite, int *chosen)
{
    for (size_t i = 0; i < suite->n_steps; i++)
        chosen[i] = a->all_steps;
    for (size_t k = 0; k < a->n_steps; k++) {
        const l4h_step *st = l4h_suite_step(suite, a->steps[k]);
        if (!st) {
            fprintf(stderr, "llm4hep run: --step %s: no such step in %s; the steps are:", a->steps[k],
                    suite->path);
            for (size_t i = 0; i < suite->n_steps; i++)
                fprintf(stderr, " %d %s%s", suite->steps[i].number, suite->steps[i].name,
                        i + 1 < suite->n_steps ? "," : "");
            fprintf(stderr, "\n");
            return -1;
        }
        if (chosen[st->number - 1]) {
            fprintf(stderr, "llm4hep run: --step %s: step %d %s is given twice\n", a->steps[k],
                    st->number, st->name);
            return -1;
        }
        chosen[st->number - 1] = 1;
    }
    return 0;
}


/* "staged" or "chain": how the step's inputs were staged (see the top). */
typedef struct step_inputs {
    const char *mode;
    char **sources; /* per stage entry: the producing step's name (chain) or NULL (reference) */
} step_inputs;

/* Free a step_inputs' sources (entries may be NULL); can't fail. */
static void sources_free(const l4h_step *step, char **sources)
{
    for (size_t i = 0; i < step->n_stage; i++)
        free(sources[i]);
    free(sources);
}

/* "arrays/x.npy from step preprocess, arrays/y.npy from the reference". */
static void inputs_text(const l4h_step *step, const step_inputs *in, l4h_buf *b)
{
    for (size_t i = 0; i < step->n_stage; i++)
        l4h_buf_printf(b, "%s%s from %s%s", i ? ", " : "", step->stage[i],
                       in->sources[i] ? "step " : "the reference",
                       in->sources[i] ? in->sources[i] : "");
    if (!step->n_stage)
        l4h_buf_puts(b, "none staged");
}

static void summary(const printer *p, const l4h_task_rec *rec, const l4h_step *step,
                    const step_inputs *in)
{
    l4h_status s = rec->status;
    int c = s == L4H_STATUS_SUCCESS ? C_OK : C_BAD;
    fprintf(p->fp, "\n%sstatus: %s%s\n", col(p, c), l4h_status_name(s), col(p, C_RESET));
    l4h_buf b = {0};
    inputs_text(step, in, &b);
    fprintf(p->fp, "mode: %s (inputs: %s)\n", in->mode, b.data);
    l4h_buf_free(&b);
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

/* {"mode": ..., "inputs": {rel: "reference" | "step NAME"}}: added to task.json and run.json. */
static void add_inputs_json(cJSON *o, const l4h_step *step, const step_inputs *in)
{
    cJSON_AddStringToObject(o, "mode", in->mode);
    cJSON *inputs = cJSON_AddObjectToObject(o, "inputs");
    for (size_t i = 0; i < step->n_stage; i++) {
        char from[256];
        snprintf(from, sizeof from, "%s%s", in->sources[i] ? "step " : "reference",
                 in->sources[i] ? in->sources[i] : "");
        cJSON_AddStringToObject(inputs, step->stage[i], from);
    }
}

/* Write the record to DIR/task.json (through DIR's fd, replacing whatever
 * the copied workspace holds at that name, never writing through it), with
 * the mode and the inputs' sources added and the secrets the process holds
 * redacted (as the store does; what a model wrote holds none). Then
 * prompt_pairs/ and, when checks ran, logs/<step>_validation.log and the
 * comparison plots of the array checks (plots/validation/). */
static void write_outputs(const l4h_suite *suite, const char *dir, const l4h_task_rec *rec,
                          const l4h_step *step, const step_inputs *in)
{
    char *text = l4h_rec_to_json(rec);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (j)
        add_inputs_json(j, step, in);
    char *json = j ? cJSON_Print(j) : l4h_xstrdup("{}");
    cJSON_Delete(j);
    l4h_secrets_redact(&json);
    l4h_err err = {0};
    if (l4h_mkdirs(dir, 0755, &err) != 0 || cli_write_file(dir, "task.json", json, strlen(json), &err) != 0)
        fprintf(stderr, "llm4hep run: writing %s/task.json: %s\n", dir, err.msg);
    free(json);
    if (cli_write_prompt_pairs(dir, rec, &err) != 0)
        fprintf(stderr, "llm4hep run: writing %s/prompt_pairs: %s\n", dir, err.msg);
    if (rec->n_checks) {
        l4h_buf b = {0};
        cli_check_report(rec, &b);
        size_t passed = 0;
        for (size_t i = 0; i < rec->n_checks; i++)
            passed += rec->checks[i].passed != 0;
        l4h_buf_printf(&b, "\n%s step %d (%s): %zu of %zu checks passed — %s\n", rec->campaign,
                       step->number, step->name, passed, rec->n_checks,
                       passed == rec->n_checks ? "PASS" : "FAIL");
        cli_write_validation_log(dir, step->name, b.data);
        l4h_buf_free(&b);
        cli_compare_plots_report(suite, step, dir, stdout);
    }
}

static int exit_code_of(l4h_status s)
{
    if (s == L4H_STATUS_SUCCESS)
        return L4H_EXIT_OK;
    return l4h_status_is_infra(s) ? L4H_EXIT_INFRA : L4H_EXIT_FAILED;
}

/* The output folder's path: --out-dir, results_job_ID or results_<local
 * time> (buf holds the last two); NULL when none was asked for. */
static const char *output_root(const run_args *a, char *buf, size_t n)
{
    if (a->out_dir)
        return a->out_dir;
    if (a->job_id) {
        snprintf(buf, n, "results_job_%s", a->job_id);
        return buf;
    }
    if (a->auto_dir) {
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(buf, n, "results_%Y%m%d_%H%M%S", &tm);
        return buf;
    }
    return NULL;
}

/* One `run` invocation: its arguments, what it opened, and the steps'
 * records so far (run.json). */
typedef struct run_state {
    run_args a;
    l4h_config *cfg;
    const l4h_suite *suite;
    l4h_permits *permits;
    l4h_llm *llm;
    l4h_sandbox *sb;
    l4h_task_rec rec;
    char *priv;   /* our own directory: chain staging (and outputs without a folder) */
    char **dirs;  /* per step: the folder its outputs were copied to */
    int *chosen;  /* per step: 1 to run it */
    cJSON *runj, *stepsj;
    char rootbuf[128];
    const char *root; /* the output folder, or NULL */
    size_t n_run;
    int any_stage, multi, broken;
    const char *mode; /* "staged" or "chain" */
    printer pr;
    l4h_observer obs;
} run_state;

/* Everything checked before any work: the steps, the output folder (new or
 * empty), the models, the reference; the chain's private directory and the
 * output folder made. 0, or the exit code (the message printed). */
static int run_prepare(run_state *st, l4h_err *err)
{
    const l4h_suite *suite = st->suite;
    if (pick_steps(&st->a, suite, st->chosen) != 0)
        return L4H_EXIT_USAGE;
    for (size_t i = 0; i < suite->n_steps; i++) {
        st->n_run += st->chosen[i] != 0;
        st->any_stage |= st->chosen[i] && suite->steps[i].n_stage;
    }
    st->multi = st->n_run > 1;
    /* a reused output folder would mix two runs' files: refuse before any work */
    if (st->root && l4h_workspace_outdir_check(st->root, err) != 0) {
        fprintf(stderr, "llm4hep run: %s\n", err->msg);
        return L4H_EXIT_USAGE;
    }
    l4h_model_resolved mr;
    const char *who[2] = {st->a.supervisor, st->a.coder};
    for (int k = 0; k < 2; k++)
        if (l4h_config_model(st->cfg, who[k], &mr, err) != 0) {
            fprintf(stderr, "llm4hep run: --%s %s: %s\n",
                    st->a.model ? "model" : k ? "coder" : "supervisor", who[k], err->msg);
            return L4H_EXIT_USAGE;
        }
    if ((st->a.validate || st->any_stage) && l4h_reference_verify(suite, err) != 0) {
        fprintf(stderr, "llm4hep run: the reference is not usable: %s\n", err->msg);
        return L4H_EXIT_USAGE;
    }
    if (st->a.chain) {
        const char *tmp = getenv("TMPDIR");
        char *tmpl = l4h_path_join(tmp && *tmp ? tmp : "/tmp", "llm4hep-chain-XXXXXX");
        if (!mkdtemp(tmpl)) {
            fprintf(stderr, "llm4hep run: --chain: cannot create %s: %s\n", tmpl, strerror(errno));
            free(tmpl);
            return L4H_EXIT_INFRA;
        }
        st->priv = tmpl; /* 0700 */
    }
    if (st->root && l4h_mkdirs(st->root, 0755, err) != 0) {
        fprintf(stderr, "llm4hep run: %s\n", err->msg);
        return L4H_EXIT_INFRA;
    }
    return 0;
}

/* The model client, the sandbox and the signal handlers; the run's record
 * begun. 0, or the exit code (the message printed). */
static int run_open(run_state *st, l4h_err *err)
{
    l4h_buf notes = {0}; /* said here, once: which keys are placeholders */
    l4h_secrets_collect(st->cfg, &notes);
    if (notes.len)
        fputs(notes.data, stderr);
    l4h_buf_free(&notes);
    st->permits = l4h_permits_local_new(st->cfg);
    if (!(st->llm = l4h_llm_new(st->cfg, st->permits, err)) ||
        !(st->sb = l4h_sandbox_open(st->cfg, err))) {
        fprintf(stderr, "llm4hep run: %s\n", err->msg);
        return err->code ? err->code : L4H_EXIT_INFRA;
    }
    l4h_exec_harden_self();
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    st->pr = (printer){.fp = stdout, .colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR")};
    st->obs = (l4h_observer){.ctx = &st->pr, .message = on_message, .code = on_code,
                             .exec = on_exec, .tool = on_tool, .check = on_check};
    st->mode = st->a.chain ? "chain" : "staged";
    cJSON_AddStringToObject(st->runj, "mode", st->mode);
    cJSON_AddStringToObject(st->runj, "supervisor", st->a.supervisor);
    cJSON_AddStringToObject(st->runj, "coder", st->a.coder);
    cJSON_AddNumberToObject(st->runj, "trial", st->a.trial);
    st->stepsj = cJSON_AddArrayToObject(st->runj, "steps");
    return 0;
}

/* With --chain, stage step's inputs from the earlier steps' outputs into a
 * directory of our own (*stage_dir, caller frees). 0; or the exit code for
 * a chain that stops here (the step recorded as not run in sj). */
static int run_chain_stage(run_state *st, const l4h_step *step, cJSON *sj, step_inputs *in,
                           char **stage_dir, l4h_err *err)
{
    *stage_dir = NULL;
    if (!st->a.chain || !step->n_stage)
        return 0;
    char leaf[300];
    snprintf(leaf, sizeof leaf, "stage-%s", step->name);
    *stage_dir = l4h_path_join(st->priv, leaf);
    if (l4h_mkdirs(*stage_dir, 0700, err) == 0 &&
        cli_chain_stage(st->suite, step, (const char *const *)st->dirs, *stage_dir, in->sources,
                        err) == 0)
        return 0;
    printf("\nllm4hep run: the chain stops before step %d %s: %s\n", step->number, step->name,
           err->msg);
    cJSON_AddStringToObject(sj, "status", "not_run");
    cJSON_AddStringToObject(sj, "why", err->msg);
    free(*stage_dir);
    *stage_dir = NULL;
    st->broken = 1; /* the later steps are listed as not run */
    return err->code == 1 ? L4H_EXIT_FAILED : L4H_EXIT_INFRA;
}

/* Print the header of one step's task. */
static void run_step_header(const run_state *st, size_t si, const l4h_step *step,
                            const step_inputs *in, const char *key)
{
    l4h_buf ib = {0};
    inputs_text(step, in, &ib);
    printf("%sllm4hep run: step %d %s, supervisor %s, coder %s, trial %d, sandbox %s, task %s%s\n",
           si && st->multi ? "\n" : "", step->number, step->name, st->a.supervisor, st->a.coder,
           st->a.trial, l4h_sandbox_isolation(st->sb), key,
           st->a.validate ? ", checks after the loop" : "");
    printf("llm4hep run: mode %s, inputs: %s\n", st->mode, ib.data);
    printf("llm4hep run: sandbox %s\n",
           l4h_sandbox_describe(l4h_sandbox_isolation(st->sb), st->cfg->sandbox.network));
    l4h_buf_free(&ib);
    fflush(stdout);
}

/* Run step si (chosen) and record it in run.json. Returns the worse of rc
 * and the step's exit code; -1 when the run cannot go on (infrastructure:
 * *rc set, the message printed). */
static int run_step(run_state *st, size_t si, int rc, l4h_err *err)
{
    const l4h_step *step = &st->suite->steps[si];
    cJSON *sj = cJSON_CreateObject();
    cJSON_AddItemToArray(st->stepsj, sj);
    cJSON_AddStringToObject(sj, "step", step->name);
    cJSON_AddNumberToObject(sj, "number", step->number);
    if (stop_flag || st->broken) {
        cJSON_AddStringToObject(sj, "status", "not_run");
        cJSON_AddStringToObject(sj, "why", st->broken ? "the chain stopped before it" : "interrupted");
        return rc;
    }
    char *dir = st->root ? (st->multi ? l4h_path_join(st->root, step->name) : l4h_xstrdup(st->root))
                : st->priv ? l4h_path_join(st->priv, step->name) : NULL;
    step_inputs in = {.mode = st->mode, .sources = l4h_xcalloc(step->n_stage + 1, sizeof(char *))};
    char *stage_dir;
    int stop = run_chain_stage(st, step, sj, &in, &stage_dir, err);
    if (stop) {
        free(dir);
        sources_free(step, in.sources);
        return cli_worse_exit(rc, stop);
    }
    l4h_task task = {.index = 0, .supervisor = st->a.supervisor, .coder = st->a.coder,
                     .step = step, .trial = st->a.trial};
    l4h_task_key(st->cfg->name, st->a.supervisor, st->a.coder, step->name, st->a.trial, task.key);
    l4h_task_env env = {.cfg = st->cfg, .llm = st->llm, .sandbox = st->sb,
                        .permits = st->permits, .observer = &st->obs, .out_dir = dir,
                        .attempt = 1, .stop = &stop_flag, .no_checks = !st->a.validate,
                        .stage_dir = stage_dir};
    run_step_header(st, si, step, &in, task.key);
    int ran = l4h_task_run(&env, &task, &st->rec, err) == 0;
    free(stage_dir);
    if (!ran) {
        fprintf(stderr, "llm4hep run: %s\n", err->msg);
        free(dir);
        sources_free(step, in.sources);
        return -1;
    }
    l4h_task_rec *rec = &st->rec;
    if (!st->a.validate && rec->status != L4H_STATUS_FAILED_NO_CODE && !l4h_status_is_infra(rec->status))
        printf("\n(no checks: run with --validate to compare the outputs with the reference)\n");
    summary(&st->pr, rec, step, &in);
    cJSON_AddStringToObject(sj, "status", l4h_status_name(rec->status));
    add_inputs_json(sj, step, &in);
    if (dir) {
        write_outputs(st->suite, dir, rec, step, &in);
        if (st->root) {
            cJSON_AddStringToObject(sj, "dir", st->multi ? step->name : ".");
            printf("workspace copied to %s (record: %s/task.json)\n", dir, dir);
        }
    }
    st->dirs[si] = dir;
    sources_free(step, in.sources);
    rc = cli_worse_exit(rc, exit_code_of(rec->status));
    l4h_rec_clear(rec);
    memset(rec, 0, sizeof *rec);
    return rc;
}

/* Several steps: the one-line-per-step summary and DIR/run.json. */
static void run_summary(const run_state *st, l4h_err *err)
{
    if (!st->multi)
        return;
    printf("\nllm4hep run: %zu steps, mode %s\n", st->n_run, st->mode);
    const cJSON *sj;
    cJSON_ArrayForEach(sj, st->stepsj) {
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(sj, "status");
        printf("  step %d %-20s %s\n",
               (int)cJSON_GetObjectItemCaseSensitive(sj, "number")->valuedouble,
               cJSON_GetObjectItemCaseSensitive(sj, "step")->valuestring,
               cJSON_IsString(status) ? status->valuestring : "not_run");
    }
    if (st->root) {
        char *json = cJSON_Print(st->runj);
        if (cli_write_file(st->root, "run.json", json, strlen(json), err) != 0)
            fprintf(stderr, "llm4hep run: writing %s/run.json: %s\n", st->root, err->msg);
        free(json);
    }
}

/* Free what the run opened and remove its private directory. */
static void run_close(run_state *st, l4h_err *err)
{
    if (st->priv && l4h_remove_tree(st->priv, err) != 0)
        fprintf(stderr, "llm4hep run: %s\n", err->msg);
    free(st->priv);
    for (size_t i = 0; i < st->suite->n_steps; i++)
        free(st->dirs[i]);
    free(st->dirs);
    free(st->chosen);
    cJSON_Delete(st->runj);
    l4h_rec_clear(&st->rec);
    l4h_sandbox_free(st->sb);
    l4h_llm_free(st->llm);
    l4h_permits_local_free(st->permits);
    l4h_config_free(st->cfg);
}

int cli_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return L4H_EXIT_OK;
    }
    run_state st = {.a = {.trial = 1}};
    cli_args cli;
    if (parse_args(argc, argv, &st.a, &cli) != 0) {
        cli_args_free(&cli);
        return L4H_EXIT_USAGE;
    }
    l4h_err err = {0};
    if (l4h_config_load(st.a.config, &st.cfg, &err) != 0) {
        fprintf(stderr, "llm4hep run: %s\n", err.msg);
        cli_args_free(&cli);
        return err.code ? err.code : L4H_EXIT_USAGE;
    }
    st.suite = st.cfg->suite;
    st.dirs = l4h_xcalloc(st.suite->n_steps + 1, sizeof *st.dirs);
    st.chosen = l4h_xcalloc(st.suite->n_steps + 1, sizeof *st.chosen);
    st.runj = cJSON_CreateObject();
    st.root = output_root(&st.a, st.rootbuf, sizeof st.rootbuf);
    int rc = run_prepare(&st, &err);
    if (!rc)
        rc = run_open(&st, &err);
    if (!rc) { /* every chosen step, in suite order; a failed step does not stop the others */
        for (size_t si = 0; si < st.suite->n_steps; si++) {
            if (!st.chosen[si])
                continue;
            int r = run_step(&st, si, rc, &err);
            if (r < 0) {
                rc = L4H_EXIT_INFRA;
                break;
            }
            rc = r;
        }
        run_summary(&st, &err);
    }
    run_close(&st, &err);
    cli_args_free(&cli);
    return rc;
}
