/* reference.c — `llm4hep reference SUITE [--check]`: generate the data when
 * data_dir is absent, run the reference solution for every step into
 * reference_dir, write the manifest; --check runs every step's checks with
 * the reference outputs as the candidate workspace. The generator and the
 * solution are the suite's own trusted code: they run directly (configured
 * python, working directory the suite's dir, output to the terminal), not in
 * the sandbox, so they may write the data and reference dirs and take as
 * long as the full-scale data needs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_internal.h"
#include "llm4hep/check.h"

/* Run argv (argv[0] "python" → python) in dir, wait. 0 on exit 0; -1 with
 * err (code 3) naming what and how it ended. */
static int run_direct(char **argv, const char *python, const char *dir, const char *what,
                      l4h_err *err)
{
    if (!argv || !argv[0])
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: empty command", what);
    const char *prog = !strcmp(argv[0], "python") ? python : argv[0];
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: fork: %s", what, strerror(errno));
    if (pid == 0) {
        if (dir && chdir(dir) != 0) {
            fprintf(stderr, "llm4hep: cd %s: %s\n", dir, strerror(errno));
            _exit(127);
        }
        argv[0] = (char *)prog;
        execvp(prog, argv);
        fprintf(stderr, "llm4hep: cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return l4h_err_set(err, L4H_EXIT_INFRA, "%s: waitpid: %s", what, strerror(errno));
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFEXITED(st))
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s failed with exit code %d", what, WEXITSTATUS(st));
    return l4h_err_set(err, L4H_EXIT_INFRA, "%s was killed by signal %d", what, WTERMSIG(st));
}

/* Render and run one suite command with vars. */
static int run_suite_cmd(const l4h_config *cfg, const l4h_suite *suite, char *const *tmpl, size_t n,
                         const l4h_vars *vars, const char *what, l4h_err *err)
{
    char **argv = NULL;
    if (l4h_render_argv(tmpl, n, vars, &argv, err) != 0)
        return l4h_err_prefix(err, "%s: %s", suite->path, what);
    int rc = run_direct(argv, cfg->sandbox.python, suite->dir, what, err);
    l4h_strv_free(argv);
    return rc;
}

/* Generate into <data_dir>.partial-<pid>, then rename: an interrupted
 * generation never leaves a data dir that looks complete. */
static int generate(const l4h_config *cfg, const l4h_suite *suite, l4h_err *err)
{
    if (!suite->generate || suite->n_generate == 0)
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: data_dir %s does not exist and the suite has no generate command",
                           suite->path, suite->data_dir);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", suite->data_dir, (long)getpid());
    char *parent = l4h_path_dir(suite->data_dir);
    int rc = l4h_mkdirs(parent, 0755, err);
    free(parent);
    if (rc != 0)
        return -1;
    l4h_remove_tree(tmp, NULL);
    l4h_vars v = {.workspace = tmp, .data_dir = tmp, .reference_dir = suite->reference_dir,
                  .step = "", .step_number = "0", .inputs = "", .files = ""};
    printf("reference: generating the data into %s\n", suite->data_dir);
    double t0 = l4h_monotonic();
    if (run_suite_cmd(cfg, suite, suite->generate, suite->n_generate, &v, "generate", err) != 0) {
        l4h_remove_tree(tmp, NULL);
        return -1;
    }
    if (rename(tmp, suite->data_dir) != 0) {
        l4h_remove_tree(tmp, NULL);
        return l4h_err_set(err, L4H_EXIT_INFRA, "rename %s -> %s: %s", tmp, suite->data_dir,
                           strerror(errno));
    }
    printf("reference: data generated in %.1f s\n", l4h_monotonic() - t0);
    return 0;
}

/* Copy a regular file (mode 0644). -1 with err. */
static int copy_file(const char *from, const char *to, l4h_err *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", to, strerror(errno));
    }
    static char buf[1 << 20];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: write: %s", to, strerror(errno));
            break;
        }
    if (n < 0)
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: read: %s", from, strerror(errno));
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: close: %s", to, strerror(errno));
    return rc;
}

/* Copy the reference outputs into a fresh workspace (files already staged
 * there are the same reference files and are kept). */
static int fill_workspace(const l4h_suite *suite, const l4h_workspace *ws, l4h_err *err)
{
    l4h_fentry *v = NULL;
    size_t n = agent_list_files(suite->reference_dir, 0, &v, NULL);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!strcmp(v[i].rel, L4H_MANIFEST))
            continue;
        char *to = l4h_path_join(ws->host, v[i].rel);
        struct stat st;
        if (stat(to, &st) != 0) {
            char *from = l4h_path_join(suite->reference_dir, v[i].rel);
            char *d = l4h_path_dir(to);
            rc = l4h_mkdirs(d, 0755, err);
            if (rc == 0)
                rc = copy_file(from, to, err);
            free(d);
            free(from);
        }
        free(to);
    }
    agent_fentries_free(v, n);
    return rc;
}

/* --check: every step's checks against the reference itself (agent_internal.h). */
int agent_reference_self_check(const l4h_config *cfg, const l4h_suite *suite, l4h_err *err)
{
    l4h_sandbox *sb = l4h_sandbox_open(cfg, err);
    if (!sb)
        return -1;
    int failed = 0;
    for (size_t s = 0; s < suite->n_steps && failed >= 0; s++) {
        const l4h_step *step = &suite->steps[s];
        l4h_workspace ws = {0};
        if (l4h_workspace_create(cfg, sb, "reference", step, &ws, err) != 0) {
            failed = -1;
            break;
        }
        l4h_task_rec rec = {0};
        int nbad = fill_workspace(suite, &ws, err);
        if (nbad == 0)
            nbad = l4h_checks_run(cfg, step, sb, &ws, &rec, err);
        if (nbad < 0) {
            l4h_err_prefix(err, "step %s", step->name);
            failed = -1;
        } else {
            for (size_t i = 0; i < rec.n_checks; i++) {
                const l4h_check_rec *c = &rec.checks[i];
                printf("check %-16s %-40s %s\n", step->name, c->check, c->passed ? "pass" : "FAIL");
                if (!c->passed && c->report)
                    printf("%s\n", c->report);
            }
            failed += nbad;
        }
        l4h_rec_clear(&rec);
        l4h_workspace_remove(&ws, NULL);
    }
    l4h_sandbox_free(sb);
    return failed;
}

/* `llm4hep reference` (agent.h). Prints progress to stdout. 0 built (and,
 * with check, every check passed); -1 with err: code 1 a check failed,
 * 2 bad suite, 3 a command failed. */
int l4h_reference_build(const l4h_config *cfg, const l4h_suite *suite, int check, l4h_err *err)
{
    struct stat st;
    if (stat(suite->data_dir, &st) != 0) {
        if (generate(cfg, suite, err) != 0)
            return -1;
    } else if (!S_ISDIR(st.st_mode)) {
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: data_dir %s is not a directory", suite->path,
                           suite->data_dir);
    } else {
        printf("reference: data present in %s\n", suite->data_dir);
    }
    if (l4h_mkdirs(suite->reference_dir, 0755, err) != 0)
        return -1;
    /* a half-rebuilt reference must not pass as complete */
    char *mpath = l4h_path_join(suite->reference_dir, L4H_MANIFEST);
    unlink(mpath);
    free(mpath);
    for (size_t s = 0; s < suite->n_steps; s++) {
        const l4h_step *step = &suite->steps[s];
        char num[16], what[160];
        snprintf(num, sizeof num, "%d", step->number);
        snprintf(what, sizeof what, "the solution of step %d (%s)", step->number, step->name);
        l4h_vars v = {.workspace = suite->reference_dir, .data_dir = suite->data_dir,
                      .reference_dir = suite->reference_dir, .step = step->name,
                      .step_number = num, .inputs = "", .files = ""};
        double t0 = l4h_monotonic();
        if (run_suite_cmd(cfg, suite, suite->solution, suite->n_solution, &v, what, err) != 0)
            return -1;
        printf("reference: step %d %s done in %.1f s\n", step->number, step->name,
               l4h_monotonic() - t0);
    }
    if (agent_manifest_write(suite, err) != 0)
        return -1;
    printf("reference: manifest written to %s/%s\n", suite->reference_dir, L4H_MANIFEST);
    if (!check)
        return 0;
    int failed = agent_reference_self_check(cfg, suite, err);
    if (failed < 0)
        return -1;
    if (failed > 0)
        return l4h_err_set(err, L4H_EXIT_FAILED, "the reference fails %d of its own checks", failed);
    printf("reference: every check passes on the reference itself\n");
    return 0;
}
