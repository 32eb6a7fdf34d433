/* supervise.c — spawn one sandboxed command and watch it to the end: feed
 * stdin, capture stdout/stderr within the budget, enforce the wall-clock
 * timeout, the workspace size and the output volume, kill everything it
 * started, reap it. Both backends end here; exec_internal.h explains the
 * helper chain and how "everything" is found. */
#define _GNU_SOURCE
#include <dirent.h> /* close_from's fallback */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_internal.h"

/* How often the workspace size is measured while code runs (at least). */
#define WS_CHECK_S 0.025
/* More entries than this in the workspace is the workspace limit too. */
#define WS_MAX_ENTRIES 200000
/* After the command ended: how long to wait for the pipes to close. */
#define DRAIN_S 2.0
/* Output volume (stdout + stderr) at which the code is stopped: the budget
 * keeps only head and tail, so more is pointless work. */
#define OUTPUT_KILL_MIN (64LL * 1024 * 1024)
/* Bound on the wait for killed processes to be gone. */
#define SWEEP_S 60.0
/* Bound on the wait for killed processes' zombies to be reaped by init. */
#define REAP_S 30.0
/* After a kill, how long bwrap gets to notice before it is killed too. */
#define MONITOR_GRACE_S 10.0

/* Move fd to a number >= 10 (so dup2 onto 3.. in the child never collides),
 * close-on-exec. Returns the new fd (the old one closed) or -1. */
static int high_fd(int fd)
{
    if (fd < 0 || fd >= 10)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return n;
}

static int make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    p[0] = high_fd(p[0]);
    p[1] = high_fd(p[1]);
    return (p[0] < 0 || p[1] < 0) ? -1 : 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* stdin for the child: a memfd holding the data (no pipe, so no SIGPIPE
 * and no deadlock whatever its size), or /dev/null. -1 on failure. */
static int stdin_fd(const l4h_spawn *sp)
{
    if (!sp->stdin_data)
        return high_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int fd = memfd_create("llm4hep-stdin", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < sp->stdin_len) {
        ssize_t w = write(fd, sp->stdin_data + off, sp->stdin_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    lseek(fd, 0, SEEK_SET);
    return high_fd(fd);
}

/* Close every inherited descriptor >= from in the child. */
static void close_from(posix_spawn_file_actions_t *fa, int from)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(fa, from);
#else
    /* older glibc: close what is open now and not close-on-exec */
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd < from || fd == dirfd(d))
            continue;
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            posix_spawn_file_actions_addclose(fa, fd);
    }
    closedir(d);
#endif
}

/* State of one supervised run. */
typedef struct run {
    const l4h_spawn *sp;
    pid_t pid;
    pid_t ns_init;        /* bwrap: host pid of the namespace's init, 0 unknown */
    int killed;
    double killed_at;
    uid_t code_uid;       /* the uid the code runs as on the host */
    unsigned long long started; /* the child's start time, clock ticks */
} run;

/* Stop everything the run started (see exec_internal.h). */
static void kill_all(run *r)
{
    if (r->ns_init > 0)
        kill(r->ns_init, SIGKILL); /* the kernel kills the whole pid namespace */
    else
        kill(r->pid, SIGKILL);     /* bwrap's --die-with-parent takes the rest */
    if (r->sp->own_session)
        kill(-r->pid, SIGKILL);
    if (r->sp->token)
        l4h__proc_kill_token(r->sp->token, 0, NULL);
    if (!r->killed)
        r->killed_at = l4h_monotonic();
    r->killed = 1;
}

/* After the command ended: nothing of it may survive. The kernel kills a
 * pid namespace when its init dies, but 256 spinning processes need CPU
 * time to die on a loaded node: wait (bounded) until the init is gone, which
 * happens only once every process of the namespace is. */
static void sweep_after_exit(run *r)
{
    if (r->sp->own_session)
        kill(-r->pid, SIGKILL);
    if (r->sp->token) {
        /* a fork bomb's zombies count against the uid's RLIMIT_NPROC until
         * init reaps them: wait (bounded) until the killed are gone */
        l4h_pidset *killed = l4h_xcalloc(1, sizeof *killed);
        l4h__proc_kill_token(r->sp->token, SWEEP_S, killed);
        double until = l4h_monotonic() + REAP_S;
        for (size_t i = 0; i < killed->n; i++) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d", (int)killed->v[i]);
            while (access(path, F_OK) == 0 && l4h_monotonic() < until) {
                struct timespec ts = {0, 5000000L};
                nanosleep(&ts, NULL);
            }
        }
        free(killed);
        /* processes that died on their own were not found above: wait for
         * init to reap every zombie of the code's uid born during the run */
        until = l4h_monotonic() + REAP_S;
        while (r->started && l4h__proc_zombies(r->code_uid, r->started) && l4h_monotonic() < until) {
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (r->ns_init > 0) {
        double until = l4h_monotonic() + SWEEP_S;
        while (l4h__proc_alive(r->ns_init) && l4h_monotonic() < until) {
            kill(r->ns_init, SIGKILL);
            struct timespec ts = {0, 5000000L};
            nanosleep(&ts, NULL);
        }
    }
}

/* What the launcher wrote on the status pipe: 'R' once it is about to exec
 * the program, then 'E' and the reason if that exec failed. */
typedef struct launch_status {
    char text[600];
    size_t len;
} launch_status;

/* Read what is there (non-blocking). 0 while the pipe may have more, 1 at
 * its end or on an error. */
static int read_status(int fd, launch_status *ls)
{
    for (;;) {
        char b[256];
        ssize_t n = read(fd, b, sizeof b);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : 1;
        if (n == 0)
            return 1;
        size_t room = sizeof ls->text - 1 - ls->len;
        size_t k = (size_t)n < room ? (size_t)n : room;
        memcpy(ls->text + ls->len, b, k);
        ls->len += k;
        ls->text[ls->len] = '\0';
    }
}

/* The launch's outcome on the launcher's word alone (never the code's
 * output): 0 the program started, or we stopped the run for a limit before
 * it did (the limit is the result); L4H_LAUNCH_FAILED (code 3) otherwise,
 * with the helpers' own message (their stderr: the code never ran, so it
 * wrote none of it). */
static int launch_outcome(const launch_status *ls, int killed, const l4h_exec_result *res,
                          l4h_err *err)
{
    if (ls->len >= 1 && ls->text[0] == 'R' && ls->len == 1)
        return 0;
    if (ls->len >= 2 && ls->text[0] == 'R' && ls->text[1] == 'E') {
        const char *why = strchr(ls->text, ' ');
        l4h_err_set(err, 3, "sandbox: the launcher %s", why ? why + 1 : "could not run the program");
        return L4H_LAUNCH_FAILED;
    }
    if (killed)
        return 0;
    l4h_err_set(err, 3, "sandbox: the program never started (the sandbox's helpers ended with %s %d "
                        "before the launcher ran): %.1500s",
                res->signal ? "signal" : "exit status", res->signal ? res->signal : res->exit_code,
                res->stderr_text ? res->stderr_text : "");
    return L4H_LAUNCH_FAILED;
}

/* Parse "child-pid": N out of bwrap's --info-fd JSON (0 if absent). */
static pid_t info_child_pid(const char *s)
{
    const char *p = strstr(s, "\"child-pid\"");
    if (!p || !(p = strchr(p, ':')))
        return 0;
    return (pid_t)atol(p + 1);
}

/* Spawn and supervise (see exec_internal.h). */
int l4h__spawn_supervise(const l4h_sandbox *sb, const l4h_spawn *sp, l4h_exec_result *res,
                         l4h_err *err)
{
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, infop[2] = {-1, -1}, statp[2] = {-1, -1};
    int in = -1, rc = -1, pidfd = -1, extra[4] = {-1, -1, -1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    l4h_capture cout, cerr;
    size_t budget = sb->limits.output_bytes > 0 ? (size_t)sb->limits.output_bytes : 16384;
    l4h__capture_init(&cout, budget);
    l4h__capture_init(&cerr, budget);
    l4h_buf info = {0};
    launch_status ls = {{0}, 0};
    int stopped = 0;
    int launcher = l4h__launch_fd(err);
    if (launcher < 0)
        goto out;

    if (make_pipe(outp) || make_pipe(errp) || (sp->bwrap_info && make_pipe(infop)) ||
        make_pipe(statp) || fcntl(statp[0], F_SETFL, O_NONBLOCK) != 0 ||
        (in = stdin_fd(sp)) < 0) {
        l4h_err_set(err, 3, "sandbox: cannot create pipes: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    int next = 3;
    if (sp->bwrap_info)
        posix_spawn_file_actions_adddup2(&fa, infop[1], next++);
    for (int i = 0; i < 4 && sp->extra_fds[i] >= 0; i++) {
        /* a copy numbered >= 10, so that dup2 onto 4, 5.. can't clobber it */
        extra[i] = fcntl(sp->extra_fds[i], F_DUPFD_CLOEXEC, 10);
        posix_spawn_file_actions_adddup2(&fa, extra[i], next++);
    }
    /* the launcher and its status pipe at fixed numbers, nothing else */
    posix_spawn_file_actions_adddup2(&fa, statp[1], L4H_LAUNCH_STATUS_FD);
    posix_spawn_file_actions_adddup2(&fa, launcher, L4H_LAUNCH_SELF_FD);
    for (int fd = next; fd < L4H_LAUNCH_STATUS_FD; fd++)
        posix_spawn_file_actions_addclose(&fa, fd);
    close_from(&fa, L4H_LAUNCH_SELF_FD + 1);
    if (sp->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, sp->cwd);

    sigset_t mask, def;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);       /* Slurm's warning: pending forever */
    sigfillset(&def);
    sigdelset(&def, SIGUSR1);
    posix_spawnattr_setsigmask(&at, &mask);
    posix_spawnattr_setsigdefault(&at, &def);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (sp->own_session)
        flags |= POSIX_SPAWN_SETSID;
    posix_spawnattr_setflags(&at, flags);

    /* a workspace already over the limit (the last run filled it) stops the
     * code only if it grows further: the next code must be able to clean up */
    int64_t ws_bytes0 = 0, ws_entries0 = 0;
    if (sp->ws_host && sb->limits.workspace_mb > 0)
        l4h__tree_usage(sp->ws_host, &ws_bytes0, &ws_entries0);

    run r = {sp, 0, 0, 0, 0, sb->switch_uid ? (uid_t)L4H_SANDBOX_UID : getuid(), 0};
    double t0 = l4h_monotonic();
    int e = posix_spawn(&r.pid, sp->argv[0], &fa, &at, sp->argv, sp->envp);
    if (e != 0) { /* e.g. the working directory (the code's workspace) unusable */
        l4h_err_set(err, 3, "sandbox: cannot start %s: %s", sp->argv[0], strerror(e));
        rc = L4H_LAUNCH_FAILED;
        goto out;
    }
    r.started = l4h__proc_start(r.pid);
    close_fd(&outp[1]);
    close_fd(&errp[1]);
    close_fd(&infop[1]);
    close_fd(&statp[1]);
    close_fd(&in);
#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, r.pid, 0);
#endif

    double deadline = t0 + (sp->timeout_s > 0 ? sp->timeout_s : 900.0);
    double ws_every = WS_CHECK_S, next_ws = t0 + ws_every;
    long long out_kill = 16LL * (long long)budget;
    if (out_kill < OUTPUT_KILL_MIN)
        out_kill = OUTPUT_KILL_MIN;
    int64_t ws_max = sb->limits.workspace_mb * 1024 * 1024;
    int exited = 0, status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    double drain_until = 0;
    char chunk[65536];

    for (;;) {
        struct pollfd pf[5];
        int np = 0, iout = -1, ierr = -1, iinfo = -1, ipid = -1, istat = -1;
        if (outp[0] >= 0)
            pf[iout = np++] = (struct pollfd){outp[0], POLLIN, 0};
        if (errp[0] >= 0)
            pf[ierr = np++] = (struct pollfd){errp[0], POLLIN, 0};
        if (infop[0] >= 0)
            pf[iinfo = np++] = (struct pollfd){infop[0], POLLIN, 0};
        if (statp[0] >= 0)
            pf[istat = np++] = (struct pollfd){statp[0], POLLIN, 0};
        if (!exited && pidfd >= 0)
            pf[ipid = np++] = (struct pollfd){pidfd, POLLIN, 0};
        if (exited && outp[0] < 0 && errp[0] < 0)
            break;
        double now = l4h_monotonic(), until;
        if (exited)
            until = drain_until;
        else if (r.killed)
            until = now + 0.05;
        else
            until = deadline < next_ws ? deadline : next_ws;
        int ms = (int)((until - now) * 1000.0) + 1;
        if (ms < 0)
            ms = 0;
        if (!exited && pidfd < 0 && ms > 20)
            ms = 20;
        int pr = poll(pf, (nfds_t)np, ms);
        if (pr < 0 && errno != EINTR) {
            kill_all(&r);
            break;
        }
        for (int k = 0; pr > 0 && k < np; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)) || k == ipid)
                continue;
            if (k == istat) {
                if (read_status(statp[0], &ls) != 0)
                    close_fd(&statp[0]);
                continue;
            }
            ssize_t n = read(pf[k].fd, chunk, sizeof chunk);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (k == iout) {
                if (n > 0)
                    l4h__capture_add(&cout, chunk, (size_t)n);
                else
                    close_fd(&outp[0]);
            } else if (k == ierr) {
                if (n > 0)
                    l4h__capture_add(&cerr, chunk, (size_t)n);
                else
                    close_fd(&errp[0]);
            } else if (k == iinfo) {
                /* keep draining (closing early would SIGPIPE bwrap); parse
                 * the first pid, trusted only as bwrap's own child */
                if (n > 0 && info.len < 65536)
                    l4h_buf_add(&info, chunk, (size_t)n);
                pid_t p = n > 0 && !r.ns_init ? info_child_pid(info.data) : 0;
                if (p > 0 && l4h__proc_parent(p) == r.pid)
                    r.ns_init = p;
                if (n <= 0)
                    close_fd(&infop[0]);
            }
        }
        pid_t w = exited ? 0 : wait4(r.pid, &status, WNOHANG, &ru);
        if (w < 0 && errno == ECHILD) { /* someone else reaped it (SIGCHLD ignored?) */
            status = 0;
            res->signal = -1; /* unknown: reported as exit -1 below */
        }
        if (w == r.pid || (w < 0 && errno == ECHILD)) {
            exited = 1;
            /* the code's time: until it ended or we stopped it */
            res->wall_s = (r.killed ? r.killed_at : l4h_monotonic()) - t0;
            sweep_after_exit(&r);
            drain_until = l4h_monotonic() + DRAIN_S;
            continue;
        }
        now = l4h_monotonic();
        if (exited) {
            if (now >= drain_until)
                break;
            continue;
        }
        if (r.killed) {
            /* bwrap exits once its namespace is empty; kill it only if stuck */
            if (now - r.killed_at > MONITOR_GRACE_S)
                kill(r.pid, SIGKILL);
            continue;
        }
        if (now >= deadline) {
            res->timed_out = 1;
            snprintf(res->limit, sizeof res->limit, "time");
            kill_all(&r);
        } else if ((long long)(cout.total + cerr.total) > out_kill) {
            snprintf(res->limit, sizeof res->limit, "output");
            kill_all(&r);
        } else if (sp->ws_host && ws_max > 0 && now >= next_ws) {
            int64_t bytes, entries;
            int too_deep = l4h__tree_usage(sp->ws_host, &bytes, &entries);
            double took = l4h_monotonic() - now;
            if (too_deep || (bytes > ws_max && bytes > ws_bytes0) ||
                (entries > WS_MAX_ENTRIES && entries > ws_entries0)) {
                snprintf(res->limit, sizeof res->limit, "workspace");
                kill_all(&r);
            }
            ws_every = took * 10 > WS_CHECK_S ? took * 10 : WS_CHECK_S;
            next_ws = l4h_monotonic() + ws_every;
        }
    }
    if (!exited) { /* poll failed: reap whatever happens */
        while (wait4(r.pid, &status, 0, &ru) < 0 && errno == EINTR) {
        }
        res->wall_s = (r.killed ? r.killed_at : l4h_monotonic()) - t0;
        sweep_after_exit(&r);
    }
    if (res->signal == -1) {
        res->exit_code = -1;
        res->signal = 0;
    } else if (WIFSIGNALED(status)) {
        res->exit_code = -1;
        res->signal = WTERMSIG(status);
    } else {
        res->exit_code = WEXITSTATUS(status);
        res->signal = 0;
    }
    if (statp[0] >= 0) /* every writer is gone now: what is left, without waiting */
        read_status(statp[0], &ls);
    stopped = r.killed;
    res->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    res->max_rss_kb = (int64_t)ru.ru_maxrss;
    rc = 0;
out:
    res->stdout_text = l4h__capture_finish(&cout, &res->truncated);
    res->stderr_text = l4h__capture_finish(&cerr, &res->truncated);
    if (rc == 0)
        rc = launch_outcome(&ls, stopped, res, err);
    close_fd(&outp[0]);
    close_fd(&outp[1]);
    close_fd(&errp[0]);
    close_fd(&errp[1]);
    close_fd(&infop[0]);
    close_fd(&infop[1]);
    close_fd(&statp[0]);
    close_fd(&statp[1]);
    close_fd(&in);
    close_fd(&pidfd);
    for (int i = 0; i < 4; i++)
        close_fd(&extra[i]);
    l4h_buf_free(&info);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}
