/* cmd_validate.c — `llm4hep validate SUITE --step S --out-dir DIR`: the
 * original framework's check_soln.py. Runs every hidden check of the step on
 * DIR (a workspace copied out by `run --out-dir`, or any directory laid out
 * like one) against the suite's reference outputs and prints the report.
 * Exit 0 every check passed, 1 a check failed, 2 bad usage or suite,
 * 3 infrastructure (reference outputs missing, the sandbox could not start,
 * or a check program exited with status 3, its "cannot judge" code). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llm4hep/agent.h"
#include "llm4hep/check.h"
#include "verbs.h"

static const char usage[] =
    "usage: llm4hep validate SUITE --step S --out-dir DIR\n"
    "\n"
    "Run the hidden checks of one step on the outputs in DIR against the suite's\n"
    "reference outputs (built by `llm4hep reference SUITE`) and print the report:\n"
    "per array check the mismatching columns, the worst row side by side and a\n"
    "one-line summary; per text check the patterns not found; per command check\n"
    "each expected value.\n"
    "  --step S       step name or 1-based number\n"
    "  --out-dir DIR  the workspace to check (e.g. the --out-dir of `llm4hep run`)\n"
    "Command checks run in the sandbox (isolation auto: bubblewrap, else refused).\n"
    "Only files the step's code wrote are judged: a DIR whose task.json (written by\n"
    "`run --out-dir`) names another step, or a checked file that is a staged input\n"
    "left unchanged, fails.\n"
    "Exit 0 all checks passed, 1 a check failed, 2 bad usage or suite,\n"
    "3 infrastructure (no reference outputs, sandbox, a check program that could not judge).\n";

/* Flag value: "--flag V" or "--flag=V". NULL when argv[*i] is not that flag;
 * *missing set when the flag has no value. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag, int *missing)
{
    size_t n = strlen(flag);
    if (strncmp(argv[*i], flag, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

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

static void print_report(const l4h_task_rec *rec, const l4h_suite *suite, const l4h_step *step,
                         const char *dir)
{
    size_t passed = 0;
    for (size_t i = 0; i < rec->n_checks; i++) {
        const l4h_check_rec *c = &rec->checks[i];
        passed += c->passed != 0;
        const char *r = c->report ? c->report : "";
        printf("%s %s\n", c->passed ? "pass" : "FAIL", c->check ? c->check : "?");
        if (c->passed) {
            /* the summary line only */
            const char *nl = strchr(r, '\n');
            printf("  %.*s\n", (int)(nl ? nl - r : (long)strlen(r)), r);
            continue;
        }
        for (const char *p = r; *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            printf("  %.*s\n", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
    }
    printf("\nvalidate %s step %d (%s) on %s: %zu of %zu checks passed — %s\n", suite->name,
           step->number, step->name, dir, passed, rec->n_checks,
           passed == rec->n_checks ? "PASS" : "FAIL");
}

int cmd_validate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return L4H_EXIT_OK;
    }
    const char *suite_path = NULL, *step_arg = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        if ((v = flag_value(argc, argv, &i, "--step", &missing)))
            step_arg = v;
        else if ((v = flag_value(argc, argv, &i, "--out-dir", &missing)))
            dir = v;
        else if (missing) {
            fprintf(stderr, "llm4hep validate: %s needs a value\n%s", argv[i], usage);
            return L4H_EXIT_USAGE;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "llm4hep validate: unknown flag %s; expected --step or --out-dir\n%s",
                    argv[i], usage);
            return L4H_EXIT_USAGE;
        } else if (!suite_path) {
            suite_path = argv[i];
        } else {
            fprintf(stderr, "llm4hep validate: one SUITE expected, got also '%s'\n%s", argv[i], usage);
            return L4H_EXIT_USAGE;
        }
    }
    if (!suite_path || !step_arg || !dir) {
        fprintf(stderr, "llm4hep validate: %s is required\n%s",
                !suite_path ? "SUITE (a suite.yml)" : !step_arg ? "--step S" : "--out-dir DIR", usage);
        return L4H_EXIT_USAGE;
    }
    if (!is_dir(dir)) {
        fprintf(stderr, "llm4hep validate: --out-dir %s: not a directory\n", dir);
        return L4H_EXIT_USAGE;
    }
    l4h_err err = {0};
    l4h_suite *suite = NULL;
    if (l4h_suite_load(suite_path, &suite, &err) != 0) {
        fprintf(stderr, "llm4hep validate: %s\n", err.msg);
        return err.code ? err.code : L4H_EXIT_USAGE;
    }
    const l4h_step *step = l4h_suite_step(suite, step_arg);
    if (!step) {
        fprintf(stderr, "llm4hep validate: --step %s: no such step in %s; steps:", step_arg, suite_path);
        for (size_t i = 0; i < suite->n_steps; i++)
            fprintf(stderr, " %zu=%s", i + 1, suite->steps[i].name);
        fputc('\n', stderr);
        l4h_suite_free(suite);
        return L4H_EXIT_USAGE;
    }
    if (!is_dir(suite->reference_dir)) {
        fprintf(stderr, "llm4hep validate: no reference outputs at %s; build them with "
                        "`llm4hep reference %s`\n", suite->reference_dir, suite_path);
        l4h_suite_free(suite);
        return L4H_EXIT_INFRA;
    }
    char *missing_ref = missing_reference(suite, step);
    if (missing_ref) {
        fprintf(stderr, "llm4hep validate: reference output %s is missing; rebuild with "
                        "`llm4hep reference %s`\n", missing_ref, suite_path);
        free(missing_ref);
        l4h_suite_free(suite);
        return L4H_EXIT_INFRA;
    }

    /* only files the step's own code wrote are judged: not another step's
     * workspace, not staged inputs copied out unchanged */
    char *why = NULL;
    int foreign = l4h_manifest_foreign_outputs(suite, step, dir, &why, &err);
    if (foreign != 0) {
        if (foreign > 0)
            printf("FAIL outputs of the step\n  %s\n\nvalidate %s step %d (%s) on %s: FAIL\n", why,
                   suite->name, step->number, step->name, dir);
        else
            fprintf(stderr, "llm4hep validate: %s\n", err.msg);
        free(why);
        l4h_suite_free(suite);
        return foreign > 0 ? L4H_EXIT_FAILED : L4H_EXIT_INFRA;
    }

    l4h_config *cfg = l4h_config_defaults();
    cfg->suite = suite; /* borrowed: checks resolve check programs against the suite's dir */
    l4h_sandbox *sb = NULL;
    int rc = L4H_EXIT_OK;
    for (size_t i = 0; i < step->n_checks; i++) {
        if (step->checks[i].kind == L4H_CHECK_COMMAND) {
            sb = l4h_sandbox_open(cfg, &err);
            if (!sb) {
                fprintf(stderr, "llm4hep validate: the sandbox for command checks: %s\n", err.msg);
                rc = L4H_EXIT_INFRA;
            }
            break;
        }
    }
    if (rc == L4H_EXIT_OK) {
        l4h_workspace ws;
        workspace_over(dir, suite, sb, &ws);
        l4h_task_rec rec = {0};
        int nbad = l4h_checks_run(cfg, step, sb, &ws, &rec, &err);
        print_report(&rec, suite, step, dir);
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
    l4h_sandbox_free(sb);
    cfg->suite = NULL;
    l4h_config_free(cfg);
    l4h_suite_free(suite);
    return rc;
}
