/* compare.c — the comparison plots of a step's array checks (cli_internal.h:
 * cli_compare_plots), drawn by scripts/compare_plots.py with the Python the
 * build found (as cmd_plots.c runs plots.py). The host opens every file and
 * hands the script descriptors: each candidate array beneath the outputs'
 * folder with no link followed (l4h_workspace_open: the code may have
 * planted arrays/x.npy -> a secret), the reference array, and
 * plots/validation/ made beneath the folder with no link followed. The
 * script runs with a minimal environment (no secret reaches it) and reads
 * the candidates as hostile input (no pickles, numeric dtypes, size caps). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "llm4hep/exec.h"
#include "cli_internal.h"

#ifndef LLM4HEP_PYTHON
#define LLM4HEP_PYTHON "/usr/bin/python3"
#endif
#define COMPARE_MAX_ARRAYS 32
#define COMPARE_TIMEOUT_S 600

/* Wait for pid at most COMPARE_TIMEOUT_S, killing it then. Its exit status,
 * or -1 when it was killed or did not exit. */
static int wait_bounded(pid_t pid)
{
    struct timespec t0, now, nap = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0 && errno != EINTR)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > COMPARE_TIMEOUT_S) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        nanosleep(&nap, NULL); /* a child's exit, polled */
    }
}

/* Draw the comparison plots of step's array checks (see cli_internal.h). */
int cli_compare_plots(const l4h_suite *suite, const l4h_step *step, const char *dir, l4h_err *err)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/scripts/compare_plots.py", LLM4HEP_SOURCE_DIR);
    int fds[2 * COMPARE_MAX_ARRAYS + 1];
    size_t nfd = 0, n_arrays = 0;
    l4h_workspace w = {.host = (char *)dir};
    char **argv = l4h_xcalloc(2 * COMPARE_MAX_ARRAYS + 16, sizeof *argv);
    size_t ac = 0;
    int rc = 0, out = -1, top = -1;
    argv[ac++] = l4h_xstrdup(LLM4HEP_PYTHON);
    argv[ac++] = l4h_xstrdup(script);
    for (size_t i = 0; i < step->n_checks && n_arrays < COMPARE_MAX_ARRAYS; i++) {
        const l4h_check_spec *c = &step->checks[i];
        if (c->kind != L4H_CHECK_ARRAY || !c->file)
            continue;
        l4h_err e = {0};
        int cand = l4h_workspace_open(&w, c->file, &e);
        if (cand < 0)
            continue; /* nothing to draw: the check's report says why */
        char *ref_path = l4h_path_join(suite->reference_dir, c->file);
        int ref = open(ref_path, O_RDONLY | O_CLOEXEC);
        free(ref_path);
        if (ref < 0) {
            close(cand);
            continue;
        }
        fds[nfd++] = cand;
        fds[nfd++] = ref;
        char spec[600];
        snprintf(spec, sizeof spec, "%s:%d:%d", c->file, cand, ref);
        argv[ac++] = l4h_xstrdup("--array");
        argv[ac++] = l4h_xstrdup(spec);
        n_arrays++;
    }
    if (n_arrays == 0)
        goto done;
    if ((top = l4h_fs_dir_open(dir, err)) < 0 || (out = l4h_fs_mkdirs(top, "plots/validation", 0755, err)) < 0) {
        rc = l4h_err_prefix(err, "comparison plots in %s", dir);
        goto done;
    }
    fds[nfd++] = out;
    char num[32], prefix[300];
    snprintf(num, sizeof num, "%d", out);
    snprintf(prefix, sizeof prefix, "%s__", step->name);
    argv[ac++] = l4h_xstrdup("--out-fd");
    argv[ac++] = l4h_xstrdup(num);
    argv[ac++] = l4h_xstrdup("--prefix");
    argv[ac++] = l4h_xstrdup(prefix);
    const char *tmp = getenv("TMPDIR");
    char mpl[4200], tmpenv[4200];
    snprintf(mpl, sizeof mpl, "MPLCONFIGDIR=%s/llm4hep-mpl-%d", tmp && *tmp ? tmp : "/tmp", (int)getuid());
    snprintf(tmpenv, sizeof tmpenv, "TMPDIR=%s", tmp && *tmp ? tmp : "/tmp");
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "MPLBACKEND=Agg", mpl, tmpenv,
                    "PYTHONDONTWRITEBYTECODE=1", NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "comparison plots: fork: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        for (size_t i = 0; i < nfd; i++)
            fcntl(fds[i], F_SETFD, 0); /* these, and only these, are inherited */
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execve(LLM4HEP_PYTHON, argv, envp);
        fprintf(stderr, "llm4hep: cannot start %s: %s\n", LLM4HEP_PYTHON, strerror(errno));
        _exit(127);
    }
    int st = wait_bounded(pid);
    if (st != 0)
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "comparison plots: %s %s %s", LLM4HEP_PYTHON, script,
                         st < 0 ? "was killed or timed out" : st == 1 ? "refused an array (above)"
                                                                     : "failed (above)");
done:
    for (size_t i = 0; i < nfd; i++)
        close(fds[i]);
    if (top >= 0)
        close(top);
    for (size_t i = 0; i < ac; i++)
        free(argv[i]);
    free(argv);
    return rc < 0 ? -1 : (int)n_arrays;
}
