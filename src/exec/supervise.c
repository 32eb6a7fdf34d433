/* supervise.c — spawn one sandboxed command and watch it to the end: feed
 * stdin, capture stdout/stderr within the budget, enforce the wall-clock
 * timeout, the workspace size and the output volume, kill everything it
 * started, reap it. Both backends end here; exec_internal.h explains the
 * helper chain and how "everything" is found. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
/* An adopting process reaps the orphans that came to it at least this often
 * during a run (zombies hold places in the code uid's process limit). */
#define ORPHANS_S 0.5

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

/* What the launcher wrote on the status pipe: 'R' once it is about to exec
 * the program, then 'E' and the reason if that exec failed. */
typedef struct launch_status {
    char text[600];
    size_t len;
} launch_status;

/* State of one supervised run. */
typedef struct run {
    const l4h_spawn *sp;
    pid_t pid;
    pid_t ns_init;        /* bwrap: host pid of the namespace's init, 0 unknown */
    int killed;
    double killed_at;
    uid_t code_uid;       /* the uid the code runs as on the host */
    unsigned long long started; /* the child's start time, clock ticks */
    /* our ends (and, until the spawn, the child's) of its descriptors */
    int outp[2], errp[2], infop[2], statp[2], in, pidfd;
    l4h_capture cout, cerr;
    l4h_buf info;         /* bwrap's --info-fd JSON */
    launch_status ls;
    /* the watch */
    double t0, deadline, next_ws, ws_every, drain_until;
    long long out_kill;   /* output volume that stops the code */
    int64_t ws_max, ws_bytes0, ws_entries0;
    int exited, status;
    struct rusage ru;
    int adopting;         /* we reap our descendants' orphans (exec_adopts_orphans) */
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
        exec_proc_kill_token(r->sp->token, 0, NULL);
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
    /* a reaper of orphans has only the run's leftovers as children now: the
     * code's daemons (rlimit), a sandbox's inner process whose outer one died
     * before it armed its death signal (bwrap); end them first, so nothing
     * below waits for zombies only we could reap */
    if (r->adopting)
        l4h_exec_end_descendants(SWEEP_S);
    if (r->sp->own_session)
        kill(-r->pid, SIGKILL);
    if (r->sp->token) {
        /* a fork bomb's zombies count against the uid's RLIMIT_NPROC until
         * init reaps them: wait (bounded) until the killed are gone */
        l4h_pidset *killed = l4h_xcalloc(1, sizeof *killed);
        exec_proc_kill_token(r->sp->token, SWEEP_S, killed);
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
        while (r->started && exec_proc_zombies(r->code_uid, r->started) && l4h_monotonic() < until) {
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (r->ns_init > 0) {
        double until = l4h_monotonic() + SWEEP_S;
        while (exec_proc_alive(r->ns_init) && l4h_monotonic() < until) {
            kill(r->ns_init, SIGKILL);
            struct timespec ts = {0, 5000000L};
            nanosleep(&ts, NULL);
        }
    }
}

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
    if ((ls->len >= 2 && ls->text[0] == 'R' && ls->text[1] == 'E') ||
        (ls->len >= 1 && ls->text[0] == 'E')) { /* the exec or a limit failed */
        const char *why = strchr(ls->text, ' ');
        l4h_err_set(err, L4H_EXIT_INFRA,
                    "sandbox: the launcher %s", why ? why + 1 : "could not run the program");
        return L4H_LAUNCH_FAILED;
    }
    if (killed)
        return 0;
    l4h_err_set(err, L4H_EXIT_INFRA,
                "sandbox: the program never started (the sandbox ended with %s %d "
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

/* Set up: the pipes for stdout, stderr, bwrap's info and the launcher's
 * status, stdin; the limits of the watch. 0, or -1 (code 3) when a
 * descriptor cannot be made. */
static int run_open(const l4h_sandbox *sb, const l4h_spawn *sp, run *r, l4h_err *err)
{
    size_t budget = sb->limits.output_bytes > 0 ? (size_t)sb->limits.output_bytes : 16384;
    r->out_kill = 16LL * (long long)budget;
    if (r->out_kill < OUTPUT_KILL_MIN)
        r->out_kill = OUTPUT_KILL_MIN;
    r->ws_max = sb->limits.workspace_mb * 1024 * 1024;
    if (make_pipe(r->outp) || make_pipe(r->errp) || (sp->bwrap_info && make_pipe(r->infop)) ||
        make_pipe(r->statp) || fcntl(r->statp[0], F_SETFL, O_NONBLOCK) != 0 ||
        (r->in = stdin_fd(sp)) < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "sandbox: cannot create pipes: %s", strerror(errno));
    /* a workspace already over the limit (the last run filled it) stops the
     * code only if it grows further: the next code must be able to clean up */
    if (sp->ws_host && sb->limits.workspace_mb > 0)
        exec_tree_usage(sp->ws_host, &r->ws_bytes0, &r->ws_entries0);
    return 0;
}

/* Start the child: stdin/stdout/stderr, bwrap's info pipe and the extra fds
 * at 3, 4.., the launcher's status pipe and the launcher itself at their
 * fixed numbers, nothing else; SIGUSR1 blocked, our credentials or the
 * code's, tied to our life (exec_internal.h). 0, or L4H_LAUNCH_FAILED
 * (code 3) when it could not start (e.g. the code's workspace unusable as
 * the working directory). */
static int run_start(const l4h_sandbox *sb, const l4h_spawn *sp, int launcher, run *r,
                     l4h_err *err)
{
    exec_child c = {.argv = sp->argv, .envp = sp->envp, .cwd = sp->cwd,
                    .new_session = sp->own_session};
    for (int i = 0; i < EXEC_CHILD_MAX_FDS; i++)
        c.fds[i] = -1;
    c.fds[0] = r->in;
    c.fds[1] = r->outp[1];
    c.fds[2] = r->errp[1];
    int next = 3;
    if (sp->bwrap_info)
        c.fds[next++] = r->infop[1];
    for (int i = 0; i < 4 && sp->extra_fds[i] >= 0; i++)
        c.fds[next++] = sp->extra_fds[i];
    c.fds[L4H_LAUNCH_STATUS_FD] = r->statp[1];
    c.fds[L4H_LAUNCH_SELF_FD] = launcher;
    c.nfds = L4H_LAUNCH_SELF_FD + 1;
    sigemptyset(&c.blocked);
    sigaddset(&c.blocked, SIGUSR1); /* Slurm's warning: pending forever */
    exec_child_credentials(sb, sp->suite_program, &c);
    r->code_uid = c.switch_uid ? c.uid : getuid();

    r->t0 = l4h_monotonic();
    int e = 0;
    r->pid = exec_spawn(&c, &e);
    if (r->pid < 0) {
        r->pid = 0;
        l4h_err_set(err, L4H_EXIT_INFRA, "sandbox: cannot start %s: %s", sp->argv[0],
                    e == ESRCH ? "llm4hep is ending" : strerror(e));
        return L4H_LAUNCH_FAILED;
    }
    r->started = exec_proc_start(r->pid);
    close_fd(&r->outp[1]);
    close_fd(&r->errp[1]);
    close_fd(&r->infop[1]);
    close_fd(&r->statp[1]);
    close_fd(&r->in);
#ifdef SYS_pidfd_open
    r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
#endif
    r->deadline = r->t0 + (sp->timeout_s > 0 ? sp->timeout_s : 900.0);
    r->ws_every = WS_CHECK_S;
    r->next_ws = r->t0 + r->ws_every;
    r->adopting = exec_adopts_orphans();
    return 0;
}

/* Read what one ready descriptor (index k of pf) has: output into the
 * captures, the launcher's status, bwrap's info (the namespace's init,
 * trusted only as bwrap's own child). */
static void run_read(run *r, const struct pollfd *pf, int k, const int idx[4])
{
    if (k == idx[3]) {
        if (read_status(r->statp[0], &r->ls) != 0)
            close_fd(&r->statp[0]);
        return;
    }
    char chunk[65536];
    ssize_t n = read(pf[k].fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (k == idx[0]) {
        if (n > 0)
            exec_capture_add(&r->cout, chunk, (size_t)n);
        else
            close_fd(&r->outp[0]);
    } else if (k == idx[1]) {
        if (n > 0)
            exec_capture_add(&r->cerr, chunk, (size_t)n);
        else
            close_fd(&r->errp[0]);
    } else if (k == idx[2]) {
        /* keep draining (closing early would SIGPIPE bwrap) */
        if (n > 0 && r->info.len < 65536)
            l4h_buf_add(&r->info, chunk, (size_t)n);
        pid_t p = n > 0 && !r->ns_init ? info_child_pid(r->info.data) : 0;
        if (p > 0 && exec_proc_parent(p) == r->pid)
            r->ns_init = p;
        if (n <= 0)
            close_fd(&r->infop[0]);
    }
}

/* Wait (poll) until a descriptor is ready or the next check is due, and
 * read what is ready. -1 when poll itself failed (everything killed). */
static int run_poll(run *r)
{
    struct pollfd pf[5];
    int np = 0, idx[4] = {-1, -1, -1, -1}; /* out, err, info, status */
    int fds[4] = {r->outp[0], r->errp[0], r->infop[0], r->statp[0]};
    for (int i = 0; i < 4; i++)
        if (fds[i] >= 0)
            pf[idx[i] = np++] = (struct pollfd){fds[i], POLLIN, 0};
    int ipid = -1;
    if (!r->exited && r->pidfd >= 0)
        pf[ipid = np++] = (struct pollfd){r->pidfd, POLLIN, 0};
    double now = l4h_monotonic(), until;
    if (r->exited)
        until = r->drain_until;
    else if (r->killed)
        until = now + 0.05;
    else
        until = r->deadline < r->next_ws ? r->deadline : r->next_ws;
    if (r->adopting && !r->exited && until > now + ORPHANS_S)
        until = now + ORPHANS_S;
    int ms = (int)((until - now) * 1000.0) + 1;
    if (ms < 0)
        ms = 0;
    if (!r->exited && r->pidfd < 0 && ms > 20)
        ms = 20;
    int pr = poll(pf, (nfds_t)np, ms);
    if (pr < 0 && errno != EINTR) {
        kill_all(r);
        return -1;
    }
    for (int k = 0; pr > 0 && k < np; k++)
        if ((pf[k].revents & (POLLIN | POLLHUP | POLLERR)) && k != ipid)
            run_read(r, pf, k, idx);
    return 0;
}

/* Reap the child if it ended (then sweep what it left, start the drain).
 * 1 when it has ended. */
static int run_reap(run *r, l4h_exec_result *res)
{
    pid_t w = wait4(r->pid, &r->status, WNOHANG, &r->ru);
    if (w < 0 && errno == ECHILD) { /* someone else reaped it (SIGCHLD ignored?) */
        r->status = 0;
        res->signal = -1; /* unknown: reported as exit -1 below */
    }
    if (w != r->pid && !(w < 0 && errno == ECHILD))
        return 0;
    r->exited = 1;
    /* the code's time: until it ended or we stopped it */
    res->wall_s = (r->killed ? r->killed_at : l4h_monotonic()) - r->t0;
    sweep_after_exit(r);
    r->drain_until = l4h_monotonic() + DRAIN_S;
    return 1;
}

/* Enforce the limits on a running child: time, output volume, workspace
 * size (measured at most every ws_every: a tenth of our time). */
static void run_check_limits(run *r, l4h_exec_result *res)
{
    double now = l4h_monotonic();
    if (r->killed) {
        /* bwrap exits once its namespace is empty; kill it only if stuck */
        if (now - r->killed_at > MONITOR_GRACE_S)
            kill(r->pid, SIGKILL);
        return;
    }
    if (now >= r->deadline) {
        res->timed_out = 1;
        snprintf(res->limit, sizeof res->limit, "time");
        kill_all(r);
    } else if ((long long)(r->cout.total + r->cerr.total) > r->out_kill) {
        snprintf(res->limit, sizeof res->limit, "output");
        kill_all(r);
    } else if (r->sp->ws_host && r->ws_max > 0 && now >= r->next_ws) {
        int64_t bytes, entries;
        int too_deep = exec_tree_usage(r->sp->ws_host, &bytes, &entries);
        double took = l4h_monotonic() - now;
        if (too_deep || (bytes > r->ws_max && bytes > r->ws_bytes0) ||
            (entries > WS_MAX_ENTRIES && entries > r->ws_entries0)) {
            snprintf(res->limit, sizeof res->limit, "workspace");
            kill_all(r);
        }
        r->ws_every = took * 10 > WS_CHECK_S ? took * 10 : WS_CHECK_S;
        r->next_ws = l4h_monotonic() + r->ws_every;
    }
}

/* Watch the started child to its end and the end of its output (bounded
 * by DRAIN_S after it exited). Can't fail: a failing poll kills the run. */
static void run_watch(run *r, l4h_exec_result *res)
{
    for (;;) {
        if (r->exited && r->outp[0] < 0 && r->errp[0] < 0)
            break;
        if (run_poll(r) < 0)
            break;
        if (r->exited) {
            if (l4h_monotonic() >= r->drain_until)
                break;
            continue;
        }
        if (!run_reap(r, res)) {
            if (r->adopting)
                exec_reap_orphans(r->pid);
            run_check_limits(r, res);
        }
    }
    if (!r->exited) { /* poll failed: reap whatever happens */
        while (wait4(r->pid, &r->status, 0, &r->ru) < 0 && errno == EINTR) {
        }
        res->wall_s = (r->killed ? r->killed_at : l4h_monotonic()) - r->t0;
        sweep_after_exit(r);
    }
}

/* The ended child's exit, signal, CPU time and peak memory into res. */
static void run_result(run *r, l4h_exec_result *res)
{
    if (res->signal == -1) {
        res->exit_code = -1;
        res->signal = 0;
    } else if (WIFSIGNALED(r->status)) {
        res->exit_code = -1;
        res->signal = WTERMSIG(r->status);
    } else {
        res->exit_code = WEXITSTATUS(r->status);
        res->signal = 0;
    }
    if (r->statp[0] >= 0) /* every writer is gone now: what is left, without waiting */
        read_status(r->statp[0], &r->ls);
    res->cpu_s = (double)r->ru.ru_utime.tv_sec + r->ru.ru_utime.tv_usec / 1e6 +
                 (double)r->ru.ru_stime.tv_sec + r->ru.ru_stime.tv_usec / 1e6;
    res->max_rss_kb = (int64_t)r->ru.ru_maxrss;
}

/* Close every descriptor of the run and free its buffers (not the captures). */
static void run_close(run *r)
{
    int *fds[] = {&r->outp[0], &r->outp[1], &r->errp[0],  &r->errp[1], &r->infop[0],
                  &r->infop[1], &r->statp[0], &r->statp[1], &r->in,      &r->pidfd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        close_fd(fds[i]);
    l4h_buf_free(&r->info);
}

/* Spawn and supervise (see exec_internal.h). */
int exec_spawn_supervise(const l4h_sandbox *sb, const l4h_spawn *sp, l4h_exec_result *res,
                         l4h_err *err)
{
    run r;
    memset(&r, 0, sizeof r);
    r.sp = sp;
    size_t budget = sb->limits.output_bytes > 0 ? (size_t)sb->limits.output_bytes : 16384;
    exec_capture_init(&r.cout, budget);
    exec_capture_init(&r.cerr, budget);
    int *fds[] = {&r.outp[0], &r.outp[1], &r.errp[0], &r.errp[1], &r.infop[0],
                  &r.infop[1], &r.statp[0], &r.statp[1], &r.in,     &r.pidfd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        *fds[i] = -1;
    int rc = -1;
    int launcher = exec_launch_fd(err);
    if (launcher >= 0 && run_open(sb, sp, &r, err) == 0 &&
        (rc = run_start(sb, sp, launcher, &r, err)) == 0) {
        run_watch(&r, res);
        run_result(&r, res);
    }
    res->stdout_text = exec_capture_finish(&r.cout, &res->truncated);
    res->stderr_text = exec_capture_finish(&r.cerr, &res->truncated);
    if (rc == 0)
        rc = launch_outcome(&r.ls, r.killed, res, err);
    run_close(&r);
    return rc;
}
