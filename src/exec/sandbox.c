/* sandbox.c — the one interface over the backends: choose bwrap or rlimit
 * per sandbox.isolation, wait for a per-node slot, run, name the limit that
 * stopped the code, list the files it left. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_internal.h"

/* Installation directories of the interpreter outside the system dirs:
 * <prefix> of <prefix>/bin/python, for the path as given (a virtualenv) and
 * for its real path (the base installation). NULL-terminated, malloc'd. */
static char **python_dirs(const char *python)
{
    l4h_argv dirs = {0};
    char real[PATH_MAX];
    const char *paths[2] = {python, realpath(python, real) ? real : NULL};
    for (int i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        char *bin = l4h_path_dir(paths[i]);
        char *prefix = l4h_path_dir(bin);
        free(bin);
        int skip = strcmp(prefix, "/") == 0 || strcmp(prefix, ".") == 0 ||
                   (strncmp(prefix, "/usr", 4) == 0 && (prefix[4] == '\0' || prefix[4] == '/'));
        for (size_t k = 0; k < dirs.n; k++)
            skip |= strcmp(dirs.v[k], prefix) == 0;
        if (!skip)
            exec_argv_add(&dirs, prefix);
        free(prefix);
    }
    if (!dirs.v)
        return l4h_xcalloc(1, sizeof(char *));
    return dirs.v;
}

/* See exec_internal.h. */
l4h_sandbox *exec_sandbox_new(const l4h_sandbox_cfg *cfg, const l4h_limits *limits,
                              l4h_err *err)
{
    const char *python = cfg->python && cfg->python[0] ? cfg->python : "/usr/bin/python3";
    if (python[0] != '/' || access(python, X_OK) != 0) {
        l4h_err_set(err, L4H_EXIT_USAGE,
                    "sandbox.python: %s is not an executable file given by its "
                    "absolute path (expected e.g. /usr/bin/python3)", python);
        return NULL;
    }
    l4h_sandbox *sb = l4h_xcalloc(1, sizeof *sb);
    sb->python = l4h_xstrdup(python);
    sb->python_dirs = python_dirs(python);
    sb->network = cfg->network;
    sb->limits = *limits;
    sb->max_parallel = cfg->max_parallel_per_node;
    sb->switch_uid = geteuid() == 0;
    return sb;
}

/* See exec_internal.h. NULL is fine. */
void exec_sandbox_delete(l4h_sandbox *sb)
{
    if (!sb)
        return;
    free(sb->python);
    l4h_strv_free(sb->python_dirs);
    free(sb->slot_dir);
    free(sb->suite_dir);
    free(sb);
}

/* A sandbox for cfg with its per-node slot directory, backend not chosen yet. */
static l4h_sandbox *sandbox_for(const l4h_config *cfg, l4h_err *err)
{
    l4h_secrets_collect(cfg, 0); /* the endpoints' keys are redacted from output */
    l4h_sandbox *sb = exec_sandbox_new(&cfg->sandbox, &cfg->limits, err);
    if (!sb)
        return NULL;
    const char *scratch = cfg->scratch && cfg->scratch[0] ? cfg->scratch : "/tmp";
    char name[64];
    snprintf(name, sizeof name, "llm4hep-slots-%d", (int)geteuid());
    sb->slot_dir = l4h_path_join(scratch, name);
    return sb;
}

static int rlimit_policy(const l4h_config *cfg, l4h_sandbox *sb, int trial, l4h_err *err);

/* See exec.h. */
l4h_sandbox *l4h_sandbox_open_probed(const l4h_config *cfg, const char *isolation, l4h_err *err)
{
    const l4h_sandbox_ops *ops = NULL;
    if (isolation && !strcmp(isolation, exec_bwrap_ops.name))
        ops = &exec_bwrap_ops;
    else if (isolation && !strcmp(isolation, exec_rlimit_ops.name))
        ops = &exec_rlimit_ops;
    if (!ops)
        return l4h_sandbox_open(cfg, err);
    l4h_sandbox *sb = sandbox_for(cfg, err);
    if (sb)
        sb->ops = ops;
    if (sb && cfg->suite && cfg->suite->dir)
        sb->suite_dir = l4h_xstrdup(cfg->suite->dir);
    if (sb && ops == &exec_rlimit_ops && rlimit_policy(cfg, sb, 0, err) != 0) {
        exec_sandbox_delete(sb);
        return NULL;
    }
    return sb;
}

/* 1 when some variable of our environment holds a secret the process holds
 * (core.h, l4h_secrets_*). */
static int secret_in_environment(void)
{
    extern char **environ;
    char name[256];
    for (char **e = environ; e && *e; e++)
        if (l4h_secrets_found(*e, strlen(*e), name, sizeof name))
            return 1;
    return 0;
}

/* Which of the n dirs (NULLs skipped) the code could list or
 * enter, found by asking the sandbox itself: a trial run as the code's uid.
 * Returns a malloc'd, space-separated list ("" when none), or NULL (err set)
 * when the trial itself failed. */
static char *dirs_open_to_code(l4h_sandbox *sb, const char *const *dirs, size_t n, l4h_err *err)
{
    l4h_argv argv = {0};
    exec_argv_add(&argv, "python");
    exec_argv_add(&argv, "-I");
    exec_argv_add(&argv, "-c");
    exec_argv_add(&argv, "import os, sys\n"
                         "print(' '.join(p for p in sys.argv[1:] if os.access(p, os.R_OK) or "
                         "os.access(p, os.X_OK)))");
    for (size_t i = 0; i < n; i++)
        if (dirs[i])
            exec_argv_add(&argv, dirs[i]);
    l4h_exec_spec spec = {.argv = argv.v, .timeout_s = 30};
    l4h_exec_result res;
    memset(&res, 0, sizeof res);
    char *open_dirs = NULL;
    if (sb->ops->run(sb, NULL, &spec, &res, err) != 0) {
        /* err says why */
    } else if (res.exit_code != 0) {
        l4h_err_set(err, L4H_EXIT_INFRA,
                    "sandbox: a trial run as the code's uid failed (exit %d): %.500s",
                    res.exit_code, res.stderr_text ? res.stderr_text : "");
    } else {
        open_dirs = l4h_xstrdup(res.stdout_text ? res.stdout_text : "");
        size_t n = strlen(open_dirs);
        while (n && (open_dirs[n - 1] == '\n' || open_dirs[n - 1] == ' '))
            open_dirs[--n] = '\0';
    }
    l4h_exec_result_clear(&res);
    exec_argv_free(&argv);
    return open_dirs;
}

/* May generated code run under the rlimit backend here? It has no file
 * isolation, so only when the code runs as another uid (we are root: uid
 * 65534) and that uid can neither list nor enter the reference outputs nor
 * the suite's directory (solution, checks, tools). The suite's own programs
 * then run as L4H_SUITE_UID with the groups of those directories (their
 * gids, never 0). trial 0: trust that a pre-flight on this node made the
 * trial run (l4h_sandbox_open_probed). 0 ok; -1 (code 3) with a message
 * saying what to do. */
static int rlimit_policy(const l4h_config *cfg, l4h_sandbox *sb, int trial, l4h_err *err)
{
    const char *ref = cfg->suite ? cfg->suite->reference_dir : NULL;
    const char *suite = cfg->suite ? cfg->suite->dir : NULL;
    if (!sb->switch_uid)
        return l4h_err_set(
            err, 3,
            "sandbox: isolation rlimit as an ordinary user would run the code as your own uid "
            "%d: it could read the reference outputs%s%s%s and the suite's solution, %sand "
            "stop llm4hep itself. Use bubblewrap (sandbox.isolation: bwrap or auto; it needs "
            "unprivileged user namespaces), or run llm4hep as root, where the code runs as "
            "uid %d", (int)geteuid(), ref ? " (" : "", ref ? ref : "", ref ? ")" : "",
            secret_in_environment()
                ? "read the API key from /proc/PID/environ of mpirun, srun or the batch shell "
                  "(the key is in this environment), "
                : "",
            L4H_SANDBOX_UID);
    const char *dirs[2] = {ref, suite};
    char *open_dirs = trial ? dirs_open_to_code(sb, dirs, 2, err) : l4h_xstrdup("");
    if (!open_dirs)
        return -1;
    if (open_dirs[0]) {
        l4h_err_set(err, L4H_EXIT_INFRA,
                    "sandbox: isolation rlimit has no file isolation, and the code (uid %d) could "
                    "read %s. Close it to that uid (e.g. chgrp -R llm4hep DIR && chmod -R "
                    "o-rwx DIR, with a group of its own: check programs and tools then run as "
                    "uid %d with that group), or use bubblewrap (sandbox.isolation: bwrap)",
                    L4H_SANDBOX_UID, open_dirs, L4H_SUITE_UID);
        free(open_dirs);
        return -1;
    }
    free(open_dirs);
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        if (!dirs[i] || stat(dirs[i], &st) != 0)
            continue;
        if (st.st_gid == 0)
            return l4h_err_set(err, L4H_EXIT_INFRA,
                               "sandbox: isolation rlimit: %s belongs to group 0; give it a "
                               "group of its own (chgrp -R llm4hep %s): check programs and tools "
                               "run with that group, and must not get root's",
                               dirs[i], dirs[i]);
        if (sb->n_suite_groups < 2)
            sb->suite_groups[sb->n_suite_groups++] = st.st_gid;
    }
    sb->reference_closed = 1;
    return 0;
}

/* Pick and check the backend (see exec.h). */
l4h_sandbox *l4h_sandbox_open(const l4h_config *cfg, l4h_err *err)
{
    l4h_sandbox *sb = sandbox_for(cfg, err);
    if (!sb)
        return NULL;
    if (cfg->suite && cfg->suite->dir)
        sb->suite_dir = l4h_xstrdup(cfg->suite->dir);

    l4h_err probe_err = {0, ""};
    switch (cfg->sandbox.isolation) {
    case L4H_ISOLATION_BWRAP:
        if (exec_bwrap_ops.probe(&cfg->sandbox, err) != 0)
            goto fail;
        sb->ops = &exec_bwrap_ops;
        break;
    case L4H_ISOLATION_RLIMIT:
        if (exec_rlimit_ops.probe(&cfg->sandbox, err) != 0)
            goto fail;
        sb->ops = &exec_rlimit_ops;
        if (rlimit_policy(cfg, sb, 1, err) != 0)
            goto fail;
        break;
    default: /* auto */
        if (exec_bwrap_ops.probe(&cfg->sandbox, &probe_err) == 0) {
            sb->ops = &exec_bwrap_ops;
        } else if (!cfg->sandbox.network) {
            l4h_err_set(err, L4H_EXIT_INFRA,
                        "sandbox: bubblewrap does not work on this node (%s); with "
                        "sandbox.network: false the code must not reach the network, which "
                        "only bubblewrap can enforce. Install bubblewrap (and allow user "
                        "namespaces), or set sandbox.isolation: rlimit to accept a sandbox "
                        "without network or file isolation",
                        probe_err.msg);
            goto fail;
        } else if (exec_rlimit_ops.probe(&cfg->sandbox, err) != 0) {
            goto fail;
        } else {
            /* never silently: only where rlimit keeps the reference out of
             * the code's reach (the start line says what it does not do) */
            sb->ops = &exec_rlimit_ops;
            l4h_err why = {0, ""};
            if (rlimit_policy(cfg, sb, 1, &why) != 0) {
                l4h_err_set(err, L4H_EXIT_INFRA,
                            "sandbox: bubblewrap does not work on this node (%.700s), and "
                            "the rlimit backend cannot stand in for it here: %.1200s",
                            probe_err.msg, why.msg);
                goto fail;
            }
        }
    }
    return sb;
fail:
    exec_sandbox_delete(sb);
    return NULL;
}

/* See exec.h. */
void l4h_sandbox_watch_stop(l4h_sandbox *sb, const volatile sig_atomic_t *stop)
{
    if (sb)
        sb->stop = stop;
}

/* Free the sandbox. NULL is fine. */
void l4h_sandbox_free(l4h_sandbox *sb)
{
    exec_sandbox_delete(sb);
}

/* See exec.h. */
const char *l4h_sandbox_describe(const char *isolation, int network)
{
    if (!isolation || strcmp(isolation, exec_rlimit_ops.name) != 0) {
        if (!isolation || strcmp(isolation, exec_bwrap_ops.name) != 0)
            return "unknown backend";
        return network
                   ? "bwrap: own namespaces, the code sees only the system, its inputs and its "
                     "workspace; NOT protected: the network is open (sandbox.network: true)"
                   : "bwrap: own namespaces, no network, the code sees only the system, its "
                     "inputs and its workspace";
    }
    return "rlimit: resource limits and uid 65534 only; NOT protected: the network, and every "
           "file uid 65534 may read (the reference and the suite are checked closed to it)";
}

/* "bwrap" or "rlimit" (static). */
const char *l4h_sandbox_isolation(const l4h_sandbox *sb)
{
    return sb && sb->ops ? sb->ops->name : "none";
}

/* Which limit stopped the code, when the supervisor did not already say:
 * from the signal, then (best effort) from Python's last words. */
static void name_limit(const l4h_sandbox *sb, double timeout_s, l4h_exec_result *res)
{
    if (res->limit[0] || (res->exit_code == 0 && !res->signal))
        return;
    const char *e = res->stderr_text ? res->stderr_text : "";
    const char *tail = strlen(e) > 4096 ? e + strlen(e) - 4096 : e;
    const char *what = "";
    if (res->signal == SIGXCPU || (res->signal == SIGKILL && res->cpu_s >= timeout_s))
        what = "cpu";
    else if (res->signal == SIGXFSZ || strstr(tail, "[Errno 27]") || strstr(tail, "File too large"))
        what = "fsize";
    else if (strstr(tail, "MemoryError") || strstr(tail, "Unable to allocate") ||
             strstr(tail, "Cannot allocate memory") || strstr(tail, "std::bad_alloc"))
        what = "memory";
    else if (strstr(tail, "Resource temporarily unavailable") ||
             strstr(tail, "can't start new thread"))
        what = "nproc";
    (void)sb;
    snprintf(res->limit, sizeof res->limit, "%s", what);
}

/* A trial of the sandbox without any workspace: 0 when the interpreter runs
 * in it and prints what it was told; -1 (code 3, why) otherwise. Nothing the
 * code wrote takes part: no workspace, no data of its own. */
static int trial_without_workspace(l4h_sandbox *sb, l4h_err *err)
{
    char *argv[] = {"python", "-I", "-c", "print('ok')", NULL};
    l4h_exec_spec spec = {.argv = argv, .timeout_s = 30};
    l4h_exec_result res;
    memset(&res, 0, sizeof res);
    int rc = sb->ops->run(sb, NULL, &spec, &res, err) == 0 ? 0 : -1;
    if (rc == 0 && (res.exit_code != 0 || !res.stdout_text || strcmp(res.stdout_text, "ok\n") != 0))
        rc = l4h_err_set(err, L4H_EXIT_INFRA,
                         "a trial run without a workspace failed (exit %d, signal %d): %.500s",
                         res.exit_code, res.signal, res.stderr_text ? res.stderr_text : "");
    l4h_exec_result_clear(&res);
    return rc;
}

/* The launcher said the program did not start in ws (err says why). Decide
 * on the harness's own evidence whose failure that is: when the sandbox
 * does not work without the workspace either, ours (-1, code 3: err names
 * both failures); when it does, try ws once more (a passing hiccup), and if
 * the launch fails again the workspace the code left is the cause: res is
 * then the code's failed run (exit L4H_LAUNCH_EXIT, not_started, the reason
 * on stderr) and 0 is returned. */
static int blame_launch(l4h_sandbox *sb, const l4h_workspace *ws, const l4h_exec_spec *spec,
                        l4h_exec_result *res, l4h_err *err)
{
    char first[sizeof err->msg];
    snprintf(first, sizeof first, "%s", err->msg);
    l4h_exec_result_clear(res);
    l4h_err terr = {0, ""};
    if (trial_without_workspace(sb, &terr) != 0)
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "%s; and the sandbox fails without the workspace too: %s", first,
                           terr.msg);
    res->isolation = l4h_sandbox_isolation(sb);
    l4h_err again = {0, ""};
    int rc = sb->ops->run(sb, ws, spec, res, &again);
    if (rc == 0)
        return 0;
    l4h_exec_result_clear(res);
    if (rc != L4H_LAUNCH_FAILED) {
        *err = again;
        return -1;
    }
    res->isolation = l4h_sandbox_isolation(sb);
    res->exit_code = L4H_LAUNCH_EXIT;
    res->not_started = 1;
    res->stdout_text = l4h_xstrdup("");
    l4h_buf b = {0};
    l4h_buf_printf(&b, "llm4hep: the sandbox could not start %s in the workspace as the code left "
                       "it, though it starts without that workspace, so the workspace is the "
                       "cause: %s\n", spec->argv[0], again.msg);
    res->stderr_text = l4h_buf_take(&b);
    return 0;
}

/* Run spec in ws (see exec.h). */
int l4h_sandbox_run(l4h_sandbox *sb, const l4h_workspace *ws, const l4h_exec_spec *spec,
                    l4h_exec_result *res, l4h_err *err)
{
    memset(res, 0, sizeof *res);
    res->isolation = l4h_sandbox_isolation(sb);
    if (!spec || !spec->argv || !spec->argv[0])
        return l4h_err_set(err, L4H_EXIT_USAGE, "sandbox: nothing to run (empty argv)");
    /* what the code did to the workspace cannot break this run's start */
    if (ws && ws->host && exec_workspace_restore(sb, ws, err) != 0)
        return -1;
    int slot = -1;
    if (sb->max_parallel > 0 && (slot = exec_slot_acquire(sb->slot_dir, sb->max_parallel, sb->stop, err)) < 0)
        return -1;
    int rc = sb->ops->run(sb, ws, spec, res, err);
    if (rc == L4H_LAUNCH_FAILED && ws && ws->host)
        rc = blame_launch(sb, ws, spec, res, err);
    if (slot >= 0)
        close(slot);
    if (rc != 0) {
        l4h_exec_result_clear(res);
        return -1;
    }
    name_limit(sb, spec->timeout_s > 0 ? spec->timeout_s : sb->limits.exec_timeout_s, res);
    if (ws && ws->host) {
        int pruned = 0;
        exec_list_files(ws->host, &res->files, &res->n_files, &pruned);
        if (pruned && !res->limit[0]) /* too deep: stopped or not, the workspace limit */
            snprintf(res->limit, sizeof res->limit, "workspace");
    }
    return 0;
}

/* Free what a result owns and zero it (isolation stays NULL). */
void l4h_exec_result_clear(l4h_exec_result *r)
{
    if (!r)
        return;
    free(r->stdout_text);
    free(r->stderr_text);
    exec_files_free(r->files, r->n_files);
    memset(r, 0, sizeof *r);
}

/* Non-dumpable: /proc/<pid>/environ and friends become root's, so code
 * running as our uid cannot read our environment (the API keys). */
void l4h_exec_harden_self(void)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
