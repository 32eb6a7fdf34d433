/* exec_rlimit.c — the weaker backend for nodes without working bubblewrap:
 * host paths, no mount or network isolation, only resource limits (address
 * space, CPU time, file size, processes, open files, no core files), an
 * unprivileged uid when we are root, a clean environment, its own session.
 *
 * It cannot cut the network or hide files the uid may read, so
 * `isolation: auto` picks it only when the config allows network access;
 * `isolation: rlimit` accepts it explicitly. Killing: the session's process
 * group, then every process carrying this run's LLM4HEP_EXEC_TOKEN (see
 * exec_internal.h for the residual risk). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "exec_internal.h"

/* View paths are host paths (malloc'd copy). */
static char *rlimit_view_path(const char *what, const char *host)
{
    (void)what;
    return l4h_xstrdup(host);
}

/* 32 random hex characters into out[33]. Can't fail (falls back to time
 * and pid, which is unique enough for a kill marker). */
static void random_token(char out[33])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        double t = l4h_monotonic();
        memcpy(b, &t, sizeof t);
        pid_t p = getpid();
        memcpy(b + 8, &p, sizeof p);
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Run spec in ws with rlimits only (l4h_sandbox_ops.run). */
static int rlimit_run(const l4h_sandbox *sb, const l4h_workspace *ws, const l4h_exec_spec *spec,
                      l4h_exec_result *res, l4h_err *err)
{
    double timeout = spec->timeout_s > 0 ? spec->timeout_s : sb->limits.exec_timeout_s;
    char token[33];
    random_token(token);
    l4h_argv a = {0};
    exec_add_launcher(sb, timeout, &a);
    char *program = exec_program(sb, spec->argv[0]);
    exec_argv_add(&a, program);
    /* a suite's program (tool, check): isolated interpreter, HOME and the
     * working directory outside the workspace (see l4h_exec_spec) */
    int suite_program = spec->suite_program || spec->see_reference;
    const char *base = strrchr(program, '/') ? strrchr(program, '/') + 1 : program;
    if (suite_program && strncmp(base, "python", 6) == 0 &&
        !(spec->argv[1] && strcmp(spec->argv[1], "-I") == 0))
        exec_argv_add(&a, "-I");
    free(program);
    for (size_t i = 1; spec->argv[i]; i++)
        exec_argv_add(&a, spec->argv[i]);
    int have_ws = ws && ws->host;
    char **env = exec_env(sb, have_ws ? ws->host : NULL, have_ws ? ws->data_host : NULL,
                               have_ws && spec->see_reference ? ws->ref_host : NULL, token);
    if (suite_program)
        exec_env_set(env, "HOME", "/nonexistent");
    l4h_spawn sp = {.argv = a.v, .envp = env, .cwd = have_ws && !suite_program ? ws->host : "/",
                    .own_session = 1, .suite_program = suite_program,
                    .extra_fds = {-1, -1, -1, -1}, .token = token,
                    .ws_host = have_ws ? ws->host : NULL, .stdin_data = spec->stdin_data,
                    .stdin_len = spec->stdin_len, .timeout_s = timeout};
    /* the launch's outcome comes from the launcher's status pipe, never
     * from what the code printed (see exec_internal.h) */
    int rc = exec_spawn_supervise(sb, &sp, res, err);
    l4h_strv_free(env);
    exec_argv_free(&a);
    return rc;
}

/* The rlimit backend needs nothing but the kernel (the launcher sets the
 * limits): it always works. */
static int rlimit_probe(const l4h_sandbox_cfg *cfg, l4h_err *err)
{
    (void)cfg;
    (void)err;
    return 0;
}

const l4h_sandbox_ops exec_rlimit_ops = {
    .name = "rlimit",
    .probe = rlimit_probe,
    .run = rlimit_run,
    .view_path = rlimit_view_path,
};
