/* exec_bwrap.c — the bubblewrap backend: the code sees only the system
 * directories, the interpreter's installation, the data at /data
 * (read-only), the workspace at /workspace (staged inputs read-only), /tmp
 * and /dev/shm inside the workspace's budget (add_writable_mounts), and — for check programs only — the reference
 * outputs at /reference. No network (unless sandbox.network), own pid, ipc,
 * uts, cgroup and user namespaces, every capability dropped, uid 65534, a
 * minimal /dev without any terminal, a read-only root. exec_internal.h explains the helper chain
 * and the kill. */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_internal.h"

#define WS_VIEW "/workspace"
#define DATA_VIEW "/data"
#define REF_VIEW "/reference"

/* System directories bound read-only (or recreated as the host's symlinks). */
static const char *const sys_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                                       "/libx32"};
/* The few files of /etc that programs need at run time: the dynamic
 * linker's cache, library alternatives (Debian's BLAS), name service switch,
 * Python's and matplotlib's system configuration. Not hosts, not
 * resolv.conf (each bind costs ~0.1 ms of start-up; missing ones nothing). */
static const char *const etc_files[] = {
    "/etc/ld.so.cache", "/etc/alternatives", "/etc/nsswitch.conf", "/etc/matplotlibrc",
    "/etc/python3", "/etc/python3.11", "/etc/python3.12", "/etc/python3.13"};

/* Is path equal to or inside dir? */
static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || dir[n - 1] == '/');
}

/* Is path inside one of the bound system directories? */
static int in_system(const char *path)
{
    for (size_t i = 0; i < sizeof sys_dirs / sizeof *sys_dirs; i++)
        if (under(path, sys_dirs[i]))
            return 1;
    return 0;
}

/* View path of a workspace, data or reference dir (malloc'd). */
static char *bwrap_view_path(const char *what, const char *host)
{
    (void)host;
    if (strcmp(what, "workspace") == 0)
        return l4h_xstrdup(WS_VIEW);
    if (strcmp(what, "data") == 0)
        return l4h_xstrdup(DATA_VIEW);
    return l4h_xstrdup(REF_VIEW);
}

/* A memfd holding text, for --ro-bind-data. -1 on failure. */
static int text_fd(const char *text)
{
    int fd = memfd_create("llm4hep-etc", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* Mounts of the system directories, the interpreter, /etc, /proc, /dev, /tmp. */
static void add_system(const l4h_sandbox *sb, l4h_argv *a)
{
    for (size_t i = 0; i < sizeof sys_dirs / sizeof *sys_dirs; i++) {
        struct stat st;
        if (lstat(sys_dirs[i], &st) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlink(sys_dirs[i], target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            exec_argv_add(a, "--symlink");
            exec_argv_add(a, target);
        } else if (S_ISDIR(st.st_mode)) {
            exec_argv_add(a, "--ro-bind");
            exec_argv_add(a, sys_dirs[i]);
        } else {
            continue;
        }
        exec_argv_add(a, sys_dirs[i]);
    }
    for (size_t i = 0; sb->python_dirs && sb->python_dirs[i]; i++) {
        exec_argv_add(a, "--ro-bind");
        exec_argv_add(a, sb->python_dirs[i]);
        exec_argv_add(a, sb->python_dirs[i]);
    }
    for (size_t i = 0; i < sizeof etc_files / sizeof *etc_files; i++) {
        exec_argv_add(a, "--ro-bind-try");
        exec_argv_add(a, etc_files[i]);
        exec_argv_add(a, etc_files[i]);
    }
    if (sb->network) { /* network allowed: name resolution and certificates too */
        static const char *const net_files[] = {"/etc/resolv.conf", "/etc/hosts", "/etc/ssl",
                                                "/etc/ca-certificates", "/etc/pki"};
        for (size_t i = 0; i < sizeof net_files / sizeof *net_files; i++) {
            exec_argv_add(a, "--ro-bind-try");
            exec_argv_add(a, net_files[i]);
            exec_argv_add(a, net_files[i]);
        }
    }
    exec_argv_add(a, "--ro-bind-data");
    exec_argv_add(a, "4");
    exec_argv_add(a, "/etc/passwd");
    exec_argv_add(a, "--ro-bind-data");
    exec_argv_add(a, "5");
    exec_argv_add(a, "/etc/group");
    exec_argv_add(a, "--proc");
    exec_argv_add(a, "/proc");
    /* a minimal /dev: no tty, no pts, so the code can't reach a terminal
     * (TIOCSTI) even without a new session (setsid costs ~6 ms of start-up
     * here: a new scheduler autogroup) */
    static const char *const devs[] = {"null", "zero", "full", "random", "urandom"};
    for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
        exec_argv_add(a, "--dev-bind");
        exec_argv_addf(a, "/dev/%s", devs[i]);
        exec_argv_addf(a, "/dev/%s", devs[i]);
    }
    static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"},
                                           {"/proc/self/fd/0", "/dev/stdin"},
                                           {"/proc/self/fd/1", "/dev/stdout"},
                                           {"/proc/self/fd/2", "/dev/stderr"}};
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        exec_argv_add(a, "--symlink");
        exec_argv_add(a, links[i][0]);
        exec_argv_add(a, links[i][1]);
    }
}

/* ---- mounts of the writable tree (hostfs): the workspace, its staged
 * inputs read-only, and /tmp and /dev/shm.
 *
 * One disk budget: /tmp and /dev/shm are not tmpfs of their own but
 * directories of the workspace's HOME (L4H_WS_TMP, L4H_WS_SHM), so every
 * byte the code can write anywhere lands in the one tree the supervisor
 * counts against workspace_mb, and none of it is memory outside
 * exec_memory_mb. Bubblewrap resolves these host paths as it starts; they
 * were checked to be real directories just before (exec_workspace_restore)
 * and no process of the code outlives its run, so nothing can swap them for
 * links in between. Without a workspace (the trial run) one small tmpfs; in
 * a directory we did not make (validate's out-dir: check programs only) a
 * tmpfs /tmp of workspace_mb, as before. */
static void add_writable_mounts(const l4h_sandbox *sb, const l4h_workspace *ws, l4h_argv *a)
{
    if (!ws || !ws->host) {
        exec_argv_add(a, "--size");
        exec_argv_add(a, "16777216");
        exec_argv_add(a, "--tmpfs");
        exec_argv_add(a, "/tmp");
        return;
    }
    exec_argv_add(a, "--bind");
    exec_argv_add(a, ws->host);
    exec_argv_add(a, WS_VIEW);
    for (size_t i = 0; i < ws->n_staged; i++) {
        char *h = l4h_path_join(ws->host, ws->staged[i]);
        char *v = l4h_path_join(WS_VIEW, ws->staged[i]);
        exec_argv_add(a, "--ro-bind");
        exec_argv_add(a, h);
        exec_argv_add(a, v);
        free(h);
        free(v);
    }
    if (!ws->top) { /* a directory we did not make (validate's out-dir): leave it as it is */
        exec_argv_add(a, "--size");
        exec_argv_addf(a, "%lld", (long long)(sb->limits.workspace_mb > 0 ? sb->limits.workspace_mb : 16)
                                      * 1024 * 1024);
        exec_argv_add(a, "--tmpfs");
        exec_argv_add(a, "/tmp");
        return;
    }
    static const char *const dirs[][2] = {{L4H_WS_TMP, "/tmp"}, {L4H_WS_SHM, "/dev/shm"}};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char *h = l4h_path_join(ws->host, dirs[i][0]);
        exec_argv_add(a, "--bind");
        exec_argv_add(a, h);
        exec_argv_add(a, dirs[i][1]);
        free(h);
    }
}

/* Make the program visible: when the program (argv[0]) or, for an
 * interpreter, its script (argv[1]) is a host file outside the views and the
 * system dirs (a suite's tool or check program), bind its directory
 * read-only at the same path. Other arguments are bound the same way only for
 * check programs (see_reference: trusted code of the suite, e.g. a check that
 * loads the suite's tool to recompute a model's answer). Refuses (-1,
 * code 3) a directory that would show the reference outputs to a run that
 * must not see them. */
static int add_program_dirs(const l4h_sandbox *sb, const l4h_workspace *ws,
                            const l4h_exec_spec *spec, const char *program, l4h_argv *a,
                            l4h_err *err)
{
    l4h_argv seen = {0};
    int rc = 0;
    /* check programs see the whole suite (they load its tools, as
     * checks/significance.py does) — they see the reference anyway */
    const char *suite = spec->see_reference ? sb->suite_dir : NULL;
    if (suite) {
        exec_argv_add(a, "--ro-bind");
        exec_argv_add(a, suite);
        exec_argv_add(a, suite);
    }
    const char *base = strrchr(program, '/') ? strrchr(program, '/') + 1 : program;
    size_t n = strncmp(base, "python", 6) == 0 ? 2 : 1; /* the script of an interpreter */
    if (spec->see_reference)
        n = (size_t)-1;
    for (size_t i = 0; i < n && spec->argv[i]; i++) {
        const char *arg = i == 0 ? program : spec->argv[i];
        struct stat st;
        if (arg[0] != '/' || under(arg, WS_VIEW) || under(arg, DATA_VIEW) ||
            under(arg, REF_VIEW) || in_system(arg) ||
            stat(arg, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        char *dir = l4h_path_dir(arg);
        int dup = (ws->host && under(dir, ws->host)) || (suite && under(dir, suite));
        for (size_t k = 0; k < seen.n; k++)
            dup |= strcmp(seen.v[k], dir) == 0;
        if (!dup && ws->ref_host && !spec->see_reference &&
            (under(dir, ws->ref_host) || under(ws->ref_host, dir))) {
            rc = l4h_err_set(err, L4H_EXIT_INFRA,
                             "sandbox: %s would show the reference dir %s to a run that must "
                             "not see it; put the program in a directory of its own",
                             arg, ws->ref_host);
            free(dir);
            break;
        }
        if (!dup) {
            exec_argv_add(&seen, dir);
            exec_argv_add(a, "--ro-bind");
            exec_argv_add(a, dir);
            exec_argv_add(a, dir);
        }
        free(dir);
    }
    exec_argv_free(&seen);
    return rc;
}

/* A suite's own program (tool or check program; see l4h_exec_spec): the
 * workspace read-only (with what is mounted below it), the working directory
 * and HOME on the private /tmp. Nothing changes for generated code. */
static int is_suite_program(const l4h_exec_spec *spec)
{
    return spec->suite_program || spec->see_reference;
}

static void add_suite_program_view(const l4h_workspace *ws, const l4h_exec_spec *spec, l4h_argv *a)
{
    if (!is_suite_program(spec) || !ws || !ws->host)
        return;
    exec_argv_add(a, "--remount-ro");
    exec_argv_add(a, WS_VIEW);
}

/* The program's own words after the program: "-I" first for a Python
 * interpreter running a suite program (isolated: no user site, no PYTHON*
 * variables, not even the script's directory on sys.path). */
static void add_program_words(const l4h_exec_spec *spec, const char *program, l4h_argv *a)
{
    exec_argv_add(a, program);
    const char *base = strrchr(program, '/') ? strrchr(program, '/') + 1 : program;
    if (is_suite_program(spec) && strncmp(base, "python", 6) == 0 &&
        !(spec->argv[1] && strcmp(spec->argv[1], "-I") == 0))
        exec_argv_add(a, "-I");
    for (size_t i = 1; spec->argv[i]; i++)
        exec_argv_add(a, spec->argv[i]);
}

/* The whole command line: bwrap ... -- launcher limits program args. */
static int build_argv(const l4h_sandbox *sb, const l4h_workspace *ws, const l4h_exec_spec *spec,
                      double timeout_s, l4h_argv *a, l4h_err *err)
{
    /* LLM4HEP_BWRAP names another bubblewrap (a site's own build; tests use
     * a missing one to play a node without bubblewrap) */
    const char *env = getenv("LLM4HEP_BWRAP");
    char *bwrap = env ? l4h_xstrdup(env) : exec_find_program("bwrap");
    if (!bwrap || access(bwrap, X_OK) != 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "sandbox: bubblewrap (%s) not found; install it or set "
                            "sandbox.isolation: rlimit", bwrap ? bwrap : "bwrap");
        free(bwrap);
        return -1;
    }
    exec_argv_add(a, bwrap);
    free(bwrap);
    exec_argv_add(a, "--unshare-all");
    if (sb->network)
        exec_argv_add(a, "--share-net");
    exec_argv_add(a, "--die-with-parent");
    /* the code (after the launcher's exec) is the namespace's init: bwrap then
     * reaps it itself, so its CPU time and peak memory reach our wait4 (with
     * bwrap's own init in between they are lost); when it exits, the kernel
     * kills whatever it left behind */
    exec_argv_add(a, "--as-pid-1");
    exec_argv_add(a, "--cap-drop");
    exec_argv_add(a, "ALL");
    exec_argv_add(a, "--uid");
    exec_argv_addf(a, "%d", L4H_SANDBOX_UID);
    exec_argv_add(a, "--gid");
    exec_argv_addf(a, "%d", L4H_SANDBOX_GID);
    exec_argv_add(a, "--hostname");
    exec_argv_add(a, "sandbox");
    exec_argv_add(a, "--info-fd");
    exec_argv_add(a, "3");
    add_system(sb, a);
    char *program = exec_program(sb, spec->argv[0]);
    add_writable_mounts(sb, ws, a);
    if (ws && ws->host) {
        if (ws->data_host) {
            exec_argv_add(a, "--ro-bind");
            exec_argv_add(a, ws->data_host);
            exec_argv_add(a, DATA_VIEW);
        }
        if (spec->see_reference && ws->ref_host) {
            exec_argv_add(a, "--ro-bind");
            exec_argv_add(a, ws->ref_host);
            exec_argv_add(a, REF_VIEW);
        }
        if (add_program_dirs(sb, ws, spec, program, a, err) != 0) {
            free(program);
            return -1;
        }
    }
    add_suite_program_view(ws, spec, a);
    exec_argv_add(a, "--remount-ro");
    exec_argv_add(a, "/");
    exec_argv_add(a, "--chdir");
    exec_argv_add(a, ws && ws->host && !is_suite_program(spec) ? WS_VIEW : "/tmp");
    exec_argv_add(a, "--");
    exec_add_launcher(sb, timeout_s, a);
    add_program_words(spec, program, a);
    free(program);
    return 0;
}

/* Run spec in ws under bubblewrap (l4h_sandbox_ops.run). */
static int bwrap_run(const l4h_sandbox *sb, const l4h_workspace *ws, const l4h_exec_spec *spec,
                     l4h_exec_result *res, l4h_err *err)
{
    double timeout = spec->timeout_s > 0 ? spec->timeout_s : sb->limits.exec_timeout_s;
    l4h_argv a = {0};
    int rc = -1, fdp = -1, fdg = -1;
    char **env = NULL;
    if (build_argv(sb, ws, spec, timeout, &a, err) != 0)
        goto out;
    char passwd[256];
    snprintf(passwd, sizeof passwd, "nobody:x:%d:%d:llm4hep sandbox:%s/%s:/usr/sbin/nologin\n",
             L4H_SANDBOX_UID, L4H_SANDBOX_GID, WS_VIEW, L4H_WS_HOME);
    char group[64];
    snprintf(group, sizeof group, "nogroup:x:%d:\n", L4H_SANDBOX_GID);
    fdp = text_fd(passwd);
    fdg = text_fd(group);
    if (fdp < 0 || fdg < 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "sandbox: memfd_create: %s", strerror(errno));
        goto out;
    }
    int have_ws = ws && ws->host;
    env = exec_env(sb, have_ws ? WS_VIEW : NULL, have_ws && ws->data_host ? DATA_VIEW : NULL,
                        have_ws && spec->see_reference && ws->ref_host ? REF_VIEW : NULL, NULL);
    if (is_suite_program(spec))
        exec_env_set(env, "HOME", "/tmp");
    l4h_spawn sp = {.argv = a.v, .envp = env, .bwrap_info = 1, .extra_fds = {fdp, fdg, -1, -1},
                    .ws_host = have_ws ? ws->host : NULL, .stdin_data = spec->stdin_data,
                    .stdin_len = spec->stdin_len, .timeout_s = timeout};
    /* the launch's outcome comes from the launcher's status pipe, never
     * from what the code printed (see exec_internal.h) */
    rc = exec_spawn_supervise(sb, &sp, res, err);
    if (rc != 0)
        goto out;
    /* bwrap reports "killed by signal N" as exit status 128 + N */
    if (!res->signal && res->exit_code > 128 && res->exit_code < 128 + 65) {
        res->signal = res->exit_code - 128;
        res->exit_code = -1;
    }
out:
    if (fdp >= 0)
        close(fdp);
    if (fdg >= 0)
        close(fdg);
    l4h_strv_free(env);
    exec_argv_free(&a);
    return rc;
}

/* A trial run of the configured interpreter under bwrap: 0 when it works. */
static int bwrap_probe(const l4h_sandbox_cfg *cfg, l4h_err *err)
{
    l4h_limits lim = {.exec_timeout_s = 20, .exec_memory_mb = 1024, .workspace_mb = 16,
                      .output_bytes = 4096};
    l4h_sandbox *sb = exec_sandbox_new(cfg, &lim, err);
    if (!sb)
        return -1;
    char *argv[] = {"python", "-c", "import sys; print('ok')", NULL};
    l4h_exec_spec spec = {.argv = argv, .timeout_s = 20};
    l4h_exec_result res;
    memset(&res, 0, sizeof res);
    int rc = bwrap_run(sb, NULL, &spec, &res, err) == 0 ? 0 : -1;
    if (rc == 0 && (res.exit_code != 0 || strcmp(res.stdout_text, "ok\n") != 0))
        rc = l4h_err_set(err, L4H_EXIT_INFRA,
                         "sandbox: a trial run under bwrap failed (exit %d, signal %d): %.1500s",
                         res.exit_code, res.signal, res.stderr_text);
    l4h_exec_result_clear(&res);
    exec_sandbox_delete(sb);
    return rc;
}

const l4h_sandbox_ops exec_bwrap_ops = {
    .name = "bwrap",
    .probe = bwrap_probe,
    .run = bwrap_run,
    .view_path = bwrap_view_path,
};
