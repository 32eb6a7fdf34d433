/* cmd_validate.c — `llm4hep validate SUITE [--step S... | --all-steps]
 * --out-dir DIR`: the original framework's check_soln.py. Runs every hidden
 * check of each step on its outputs (DIR, or DIR/<step>/ as `run` leaves
 * several steps) against the suite's reference outputs, prints the report
 * and writes it to logs/<step>_validation.log there. Without --step: every
 * step whose outputs it finds (find_steps).
 * Exit 0 every check passed, 1 a check failed, 2 bad usage or suite,
 * 3 infrastructure (reference outputs missing, the sandbox could not start,
 * or a check program exited with status 3, its "cannot judge" code); with
 * several steps the worst. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "llm4hep/agent.h"
#include "llm4hep/check.h"
#include "cli_internal.h"

static const char usage[] =
    "usage: llm4hep validate SUITE --step S --out-dir DIR\n"
    "       llm4hep validate SUITE [--step S ... | --all-steps] --out-dir DIR\n"
    "\n"
    "Run the hidden checks of steps on the outputs in DIR against the suite's\n"
    "reference outputs (built by `llm4hep reference SUITE`) and print the report:\n"
    "per array check the mismatching columns, the worst row side by side and a\n"
    "one-line summary; per text check the patterns not found; per command check\n"
    "each expected value. The report is also written to logs/<step>_validation.log\n"
    "in the step's folder.\n"
    "  --step S       step name or 1-based number; repeat it for several steps\n"
    "  --all-steps    every step whose outputs are found (the default without --step):\n"
    "                 the step DIR/task.json names (`run --out-dir` of one step), else\n"
    "                 each DIR/<step>/ with a task.json (`run` of several steps), else\n"
    "                 each step whose array and text check files are all in DIR\n"
    "  --out-dir DIR  the outputs to check (e.g. the --out-dir of `llm4hep run`); a\n"
    "                 step's outputs are DIR/<step>/ when its task.json names the step\n"
    "                 (`run` of several steps), else DIR\n"
    "Command checks run in the sandbox (isolation auto: bubblewrap, else refused).\n"
    "Only files the step's code wrote are judged: a DIR whose task.json (written by\n"
    "`run --out-dir`) names another step, or a checked file that is a staged input\n"
    "left unchanged, fails.\n"
    "Exit 0 all checks passed, 1 a check failed, 2 bad usage or suite,\n"
    "3 infrastructure (no reference outputs, sandbox, a check program that could not judge);\n"
    "with several steps the worst.\n";

static int is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A workspace over an existing directory, with the sandbox's view paths
 * (exec.h: /workspace, /data, /reference under bubblewrap; host paths
 * otherwise). */
static void workspace_over(const char *dir, const l4h_suite *suite, const l4h_sandbox *sb,
                           l4h_workspace *ws)
{
    int bwrap = sb && !strcmp(l4h_sandbox_isolation(sb), "bwrap");
    memset(ws, 0, sizeof *ws);
    ws->host = realpath(dir, NULL);
    ws->view = l4h_xstrdup(bwrap ? "/workspace" : ws->host);
    ws->data_host = l4h_xstrdup(suite->data_dir);
    ws->data_view = l4h_xstrdup(bwrap ? "/data" : suite->data_dir);
    ws->ref_host = l4h_xstrdup(suite->reference_dir);
    ws->ref_view = l4h_xstrdup(bwrap ? "/reference" : suite->reference_dir);
}

/* Reference files the array checks need; the first missing one, or NULL. */
static char *missing_reference(const l4h_suite *suite, const l4h_step *step)
{
    for (size_t i = 0; i < step->n_checks; i++) {
        if (step->checks[i].kind != L4H_CHECK_ARRAY)
            continue;
        char *p = l4h_path_join(suite->reference_dir, step->checks[i].file);
        struct stat st;
        if (stat(p, &st) != 0)
            return p;
        free(p);
    }
    return NULL;
}

/* Every array and text check file of step is a regular file in dir (and
 * the step has at least one). */
static int has_check_files(const l4h_step *step, const char *dir)
{
    l4h_workspace w = {.host = (char *)dir};
    int n = 0;
    for (size_t i = 0; i < step->n_checks; i++) {
        if (step->checks[i].kind == L4H_CHECK_COMMAND || !step->checks[i].file)
            continue;
        l4h_err e = {0};
        int fd = l4h_workspace_open(&w, step->checks[i].file, &e);
        if (fd < 0)
            return 0;
        close(fd);
        n++;
    }
    return n > 0;
}

/* The folder holding step's outputs: dir/<step> when `run` of several
 * steps left it there (its task.json names the step: a step named like a
 * workspace folder, e.g. "arrays", is not mistaken for one), else dir.
 * Caller frees. */
static char *step_dir(const char *dir, const l4h_step *step)
{
    char *sub = l4h_path_join(dir, step->name);
    char *rec = l4h_manifest_recorded_step(sub);
    int ours = rec && !strcmp(rec, step->name);
    free(rec);
    if (ours)
        return sub;
    free(sub);
    return l4h_xstrdup(dir);
}

/* Every step whose outputs are in dir (see the usage): chosen[i] set.
 * Returns how many. */
static size_t find_steps(const l4h_suite *suite, const char *dir, int *chosen)
{
    char *name = l4h_manifest_recorded_step(dir);
    const l4h_step *st = name ? l4h_suite_step(suite, name) : NULL;
    free(name);
    if (st) {
        chosen[st->number - 1] = 1;
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < suite->n_steps; i++) {
        char *sub = l4h_path_join(dir, suite->steps[i].name);
        char *rec = l4h_manifest_recorded_step(sub);
        if (rec && !strcmp(rec, suite->steps[i].name)) {
            chosen[i] = 1;
            n++;
        }
        free(rec);
        free(sub);
    }
    for (size_t i = 0; n == 0 && i < suite->n_steps; i++)
        chosen[i] = has_check_files(&suite->steps[i], dir);
    if (n == 0)
        for (size_t i = 0; i < suite->n_steps; i++)
            n += chosen[i] != 0;
    return n;
}

/* Validate one step's outputs in dir; prints the report and writes the
 * validation log there. Exit code. */
static int validate_step(l4h_config *cfg, const l4h_suite *suite, const char *suite_path,
                         const l4h_step *step, const char *dir, l4h_sandbox *sb)
{
    l4h_err err = {0};
    char *missing_ref = missing_reference(suite, step);
    if (missing_ref) {
        fprintf(stderr, "llm4hep validate: reference output %s is missing; rebuild with "
                        "`llm4hep reference %s`\n", missing_ref, suite_path);
        free(missing_ref);
        return L4H_EXIT_INFRA;
    }
    l4h_buf b = {0};
    int rc = L4H_EXIT_OK;
    /* only files the step's own code wrote are judged: not another step's
     * workspace, not staged inputs copied out unchanged */
    char *why = NULL;
    int foreign = l4h_manifest_foreign_outputs(suite, step, dir, &why, &err);
    if (foreign < 0) {
        fprintf(stderr, "llm4hep validate: %s\n", err.msg);
        return L4H_EXIT_INFRA;
    }
    if (foreign > 0) {
        l4h_buf_printf(&b, "FAIL outputs of the step\n  %s\n\nvalidate %s step %d (%s) on %s: FAIL\n",
                       why, suite->name, step->number, step->name, dir);
        free(why);
        rc = L4H_EXIT_FAILED;
    } else {
        l4h_workspace ws;
        workspace_over(dir, suite, sb, &ws);
        l4h_task_rec rec = {0};
        int nbad = l4h_checks_run(cfg, step, sb, &ws, &rec, &err);
        cli_check_report(&rec, &b);
        size_t passed = 0;
        for (size_t i = 0; i < rec.n_checks; i++)
            passed += rec.checks[i].passed != 0;
        l4h_buf_printf(&b, "\nvalidate %s step %d (%s) on %s: %zu of %zu checks passed — %s\n",
                       suite->name, step->number, step->name, dir, passed, rec.n_checks,
                       passed == rec.n_checks ? "PASS" : "FAIL");
        if (nbad < 0) {
            fprintf(stderr, "llm4hep validate: %s\n", err.msg);
            if (strstr(err.msg, "Permission denied"))
                fprintf(stderr, "llm4hep validate: check programs run as an unprivileged user: "
                                "%s, the data and the reference outputs must be readable (and "
                                "their parent directories searchable) by others\n", dir);
            rc = L4H_EXIT_INFRA;
        } else {
            rc = nbad > 0 ? L4H_EXIT_FAILED : L4H_EXIT_OK;
        }
        l4h_rec_clear(&rec);
        l4h_workspace_release(&ws); /* frees the strings, keeps DIR */
    }
    fputs(b.data ? b.data : "", stdout);
    fflush(stdout);
    cli_write_validation_log(dir, step->name, b.data ? b.data : "");
    l4h_buf_free(&b);
    if (foreign == 0 && rc != L4H_EXIT_INFRA)
        cli_compare_plots_report(suite, step, dir, stdout);
    return rc;
}

int cli_validate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return L4H_EXIT_OK;
    }
    static const cli_opt opts[] = {{"--step", CLI_MANY, "S"}, {"--all-steps", CLI_SWITCH, NULL},
                                   {"--out-dir", CLI_ONE, "DIR"}, {NULL, 0, NULL}};
    cli_args cli;
    if (cli_parse("validate", opts, "SUITE", 1, argc, argv, &cli) != 0)
        return L4H_EXIT_USAGE;
    const char *suite_path = cli.n_pos ? cli.pos[0] : NULL, *dir = cli_one(&cli, "--out-dir");
    const char *const *step_args;
    size_t n_step_args = cli_many(&cli, "--step", &step_args);
    int all = cli_has(&cli, "--all-steps");
    int rc = L4H_EXIT_USAGE;
    l4h_suite *suite = NULL;
    int *chosen = NULL;
    l4h_err err = {0};
    if (!suite_path || !dir) {
        fprintf(stderr, "llm4hep validate: %s is required\n%s",
                !suite_path ? "SUITE (a suite.yml)" : "--out-dir DIR", usage);
        goto out;
    }
    if (all && n_step_args) {
        fprintf(stderr, "llm4hep validate: --all-steps excludes --step\n");
        goto out;
    }
    if (!is_dir(dir)) {
        fprintf(stderr, "llm4hep validate: --out-dir %s: not a directory\n", dir);
        goto out;
    }
    if (l4h_suite_load(suite_path, &suite, &err) != 0) {
        fprintf(stderr, "llm4hep validate: %s\n", err.msg);
        rc = err.code ? err.code : L4H_EXIT_USAGE;
        goto out;
    }
    chosen = l4h_xcalloc(suite->n_steps + 1, sizeof *chosen);
    for (size_t k = 0; k < n_step_args; k++) {
        const l4h_step *step = l4h_suite_step(suite, step_args[k]);
        if (!step) {
            fprintf(stderr, "llm4hep validate: --step %s: no such step in %s; steps:", step_args[k],
                    suite_path);
            for (size_t i = 0; i < suite->n_steps; i++)
                fprintf(stderr, " %zu=%s", i + 1, suite->steps[i].name);
            fputc('\n', stderr);
            goto out;
        }
        if (chosen[step->number - 1]) {
            fprintf(stderr, "llm4hep validate: --step %s: step %d %s is given twice\n", step_args[k],
                    step->number, step->name);
            goto out;
        }
        chosen[step->number - 1] = 1;
    }
    size_t n_chosen = n_step_args ? n_step_args : find_steps(suite, dir, chosen);
    if (n_chosen == 0) {
        fprintf(stderr, "llm4hep validate: found no step's outputs in %s (no task.json, no "
                        "<step>/ folder, no step whose check files are all there); name the step "
                        "with --step S\n", dir);
        goto out;
    }
    if (!is_dir(suite->reference_dir)) {
        fprintf(stderr, "llm4hep validate: no reference outputs at %s; build them with "
                        "`llm4hep reference %s`\n", suite->reference_dir, suite_path);
        rc = L4H_EXIT_INFRA;
        goto out;
    }

    l4h_config *cfg = l4h_config_defaults();
    cfg->suite = suite; /* borrowed: checks resolve check programs against the suite's dir */
    l4h_sandbox *sb = NULL;
    rc = L4H_EXIT_OK;
    for (size_t s = 0; !sb && rc == L4H_EXIT_OK && s < suite->n_steps; s++)
        for (size_t i = 0; chosen[s] && i < suite->steps[s].n_checks; i++)
            if (suite->steps[s].checks[i].kind == L4H_CHECK_COMMAND) {
                sb = l4h_sandbox_open(cfg, &err);
                if (!sb) {
                    fprintf(stderr, "llm4hep validate: the sandbox for command checks: %s\n", err.msg);
                    rc = L4H_EXIT_INFRA;
                }
                break;
            }
    size_t done = 0, passed = 0;
    for (size_t s = 0; rc != L4H_EXIT_INFRA && s < suite->n_steps; s++) {
        if (!chosen[s])
            continue;
        char *sdir = step_dir(dir, &suite->steps[s]);
        if (n_chosen > 1)
            printf("%s== step %d %s (%s) ==\n", done ? "\n" : "", suite->steps[s].number,
                   suite->steps[s].name, sdir);
        int r = validate_step(cfg, suite, suite_path, &suite->steps[s], sdir, sb);
        free(sdir);
        done++;
        passed += r == L4H_EXIT_OK;
        rc = cli_worse_exit(rc, r);
    }
    if (n_chosen > 1)
        printf("\nvalidate %s on %s: %zu of %zu steps passed — %s\n", suite->name, dir, passed,
               n_chosen, passed == n_chosen ? "PASS" : "FAIL");
    l4h_sandbox_free(sb);
    cfg->suite = NULL;
    l4h_config_free(cfg);
out:
    free(chosen);
    l4h_suite_free(suite);
    cli_args_free(&cli);
    return rc;
}
