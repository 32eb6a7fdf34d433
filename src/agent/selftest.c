/* selftest.c — `llm4hep selftest SUITE` (agent.h: l4h_reference_selftest):
 * the reference passes its own checks, and the suite's validity cases — wrong
 * answers and right ones — get the verdicts their headers expect. The cases
 * are run by the validity runner (tests/validity/run.py), which drives each
 * case through `llm4hep run --validate` with a scripted model. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_internal.h"

#ifndef LLM4HEP_SOURCE_DIR
#define LLM4HEP_SOURCE_DIR "."
#endif
#define RUNNER "tests/validity/run.py"

/* Run argv and wait; the exit code (128 + signal when killed), -1 with err
 * (code 3) when it could not be started. */
static int run_wait(char *const argv[], l4h_err *err)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "fork: %s", strerror(errno));
    if (pid == 0) {
        execv(argv[0], argv);
        fprintf(stderr, "llm4hep selftest: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return l4h_err_set(err, L4H_EXIT_INFRA, "waitpid: %s", strerror(errno));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The selftest of a suite (agent.h). */
int l4h_reference_selftest(const l4h_config *cfg, const l4h_suite *suite, const char *self_exe,
                           const char *filter, int jobs, l4h_err *err)
{
    if (!suite->validity_dir)
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s has no `validity:` key naming its validity cases (a directory of "
                           "<step>__<name>.py answer scripts; see tests/validity/README.md)",
                           suite->path);
    char *runner = l4h_path_join(LLM4HEP_SOURCE_DIR, RUNNER);
    struct stat st;
    if (stat(runner, &st) != 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "the validity runner %s is missing (selftest needs the "
                                         "source tree llm4hep was built from)", runner);
        free(runner);
        return -1;
    }
    l4h_err e = {0};
    if (l4h_reference_verify(suite, &e) != 0) {
        printf("selftest: building the reference (%s)\n", e.msg);
        if (l4h_reference_build(cfg, suite, 1, err) != 0) {
            free(runner);
            return -1;
        }
    } else {
        printf("selftest: the reference in %s matches the suite and data\n", suite->reference_dir);
        int failed = agent_reference_self_check(cfg, suite, err);
        if (failed != 0) {
            free(runner);
            return failed < 0 ? -1
                              : l4h_err_set(err, L4H_EXIT_FAILED,
                                            "the reference fails %d of its own checks", failed);
        }
        printf("selftest: every check passes on the reference itself\n");
    }
    char jbuf[16];
    snprintf(jbuf, sizeof jbuf, "%d", jobs > 0 ? jobs : 1);
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)cfg->sandbox.python;
    argv[n++] = runner;
    argv[n++] = suite->path;
    argv[n++] = "--bin";
    argv[n++] = (char *)self_exe;
    argv[n++] = "--cases";
    argv[n++] = suite->validity_dir;
    argv[n++] = "--python";
    argv[n++] = (char *)cfg->sandbox.python;
    argv[n++] = "--no-reference";
    argv[n++] = "-j";
    argv[n++] = jbuf;
    if (filter) {
        argv[n++] = "-k";
        argv[n++] = (char *)filter;
    }
    argv[n] = NULL;
    printf("selftest: validity cases in %s\n", suite->validity_dir);
    int rc = run_wait(argv, err);
    free(runner);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0;
    if (rc == 1)
        return l4h_err_set(err, L4H_EXIT_FAILED, "some validity verdicts are false (see the table)");
    if (rc == 2)
        return l4h_err_set(err, L4H_EXIT_USAGE, "the validity cases of %s are malformed (see above)",
                           suite->path);
    return l4h_err_set(err, L4H_EXIT_INFRA, "the validity runner ended with status %d", rc);
}
