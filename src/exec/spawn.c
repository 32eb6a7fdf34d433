/* spawn.c — start a program tied to our life without any helper program:
 * the child is a clone(CLONE_VM | CLONE_VFORK) of the calling thread, as
 * posix_spawn makes it (no copy of our address space: MPI ranks and task
 * children may use it), but it also does what posix_spawn cannot, before it
 * execs the program:
 *
 *   fds, signal dispositions and mask, session or process group, cwd,
 *   the uid/gid/groups switch (we are root), PR_SET_NO_NEW_PRIVS,
 *   PR_SET_PDEATHSIG = SIGKILL armed after the switch (a credential change
 *   clears it), then getppid() == the spawner, else nothing runs (exit 126:
 *   the spawner died before the signal was armed — the getppid race).
 *
 * These replace the setpriv and llm4hep-lifeline execs of the old chain
 * (docs/notes/startup.md). The child runs on its own small stack in our
 * memory while we wait (CLONE_VFORK); it calls only thin system-call
 * wrappers (raw syscall() for the credentials: glibc's setresuid would try
 * to switch every thread of our process) and reports a failure of its own
 * through memory we share, so the caller gets errno from exec_spawn itself.
 * Every signal is blocked in the parent around the clone, so none of our
 * handlers can run on the child's stack. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_internal.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
/* 32-bit x86 and arm have 16-bit ids in the plain calls: the 32-bit ones. */
#ifdef SYS_setresuid32
#define SYS_SETRESUID SYS_setresuid32
#define SYS_SETRESGID SYS_setresgid32
#define SYS_SETGROUPS SYS_setgroups32
#else
#define SYS_SETRESUID SYS_setresuid
#define SYS_SETRESGID SYS_setresgid
#define SYS_SETGROUPS SYS_setgroups
#endif
/* The child's stack: a few system calls deep, no more. */
#define CHILD_STACK (64 * 1024)

/* What the child needs, in memory shared with it. */
typedef struct child_args {
    const exec_child *c;
    pid_t parent;
    int stage_errno; /* set by the child when it gives up (before or at exec) */
    int no_parent;   /* set by the child: the spawner was gone, nothing ran */
} child_args;

/* The child's own failure: note errno for the parent and leave. */
__attribute__((noreturn)) static void child_fail(child_args *ca, int e)
{
    ca->stage_errno = e ? e : EINVAL;
    syscall(SYS_exit_group, 127);
    _exit(127);
}

/* Install c->fds as 0..nfds-1 (dup2 from copies numbered above every
 * target, so no target clobbers a source; -1: that number closed) and mark
 * every other descriptor close-on-exec. 0 or an errno. */
static int child_fds(const exec_child *c)
{
    int top = c->nfds + 3 > 10 ? c->nfds + 3 : 10;
    int tmp[EXEC_CHILD_MAX_FDS];
    for (int i = 0; i < c->nfds; i++) {
        tmp[i] = -1;
        if (c->fds[i] >= 0 && (tmp[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, top)) < 0)
            return errno;
    }
    for (int i = 0; i < c->nfds; i++) {
        if (tmp[i] < 0)
            close(i);
        else if (dup2(tmp[i], i) < 0) /* dup2 leaves i without close-on-exec */
            return errno;
    }
    /* everything else goes at the exec (our copies above included) */
    if (syscall(SYS_close_range, (unsigned)c->nfds, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = c->nfds; fd < 65536; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return 0;
}

/* Switch to c's uid, gid and groups (only this task: raw system calls).
 * 0 or an errno. */
static int child_credentials(const exec_child *c)
{
    if (!c->switch_uid)
        return 0;
    if (syscall(SYS_SETGROUPS, (size_t)c->ngroups, c->groups) != 0)
        return errno;
    if (syscall(SYS_SETRESGID, c->gid, c->gid, c->gid) != 0)
        return errno;
    if (syscall(SYS_SETRESUID, c->uid, c->uid, c->uid) != 0)
        return errno;
    return 0;
}

/* The child: see the file's comment. Never returns. */
static int child_main(void *arg)
{
    child_args *ca = arg;
    const exec_child *c = ca->c;
    /* none of our handlers may run here or survive; the mask the program gets */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP && !sigismember(&c->blocked, s))
            sigaction(s, &dfl, NULL); /* glibc's internal signals refuse: fine */
    int e;
    if ((e = child_fds(c)) != 0)
        child_fail(ca, e);
    if (c->new_session && setsid() < 0)
        child_fail(ca, errno);
    if (c->new_pgroup && setpgid(0, 0) != 0)
        child_fail(ca, errno);
    if (c->cwd && chdir(c->cwd) != 0) /* before the switch, as posix_spawn did */
        child_fail(ca, errno);
    if ((e = child_credentials(c)) != 0)
        child_fail(ca, e);
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        child_fail(ca, errno);
    if (c->die_with_parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
            child_fail(ca, errno);
        if (getppid() != (c->parent > 0 ? c->parent : ca->parent)) {
            /* the spawner died before the signal was armed */
            ca->no_parent = 1;
            syscall(SYS_exit_group, L4H_SPAWN_ORPHAN_EXIT);
        }
    }
    sigprocmask(SIG_SETMASK, &c->blocked, NULL);
    execve(c->argv[0], c->argv, c->envp);
    child_fail(ca, errno);
}

/* See exec_internal.h. */
pid_t exec_spawn(const exec_child *c, int *err_no)
{
    *err_no = 0;
    if (c->nfds > EXEC_CHILD_MAX_FDS || !c->argv || !c->argv[0]) {
        *err_no = EINVAL;
        return -1;
    }
    void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        *err_no = errno;
        return -1;
    }
    child_args ca = {c, getpid(), 0, 0};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t pid = clone(child_main, (char *)stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD,
                      &ca);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, CHILD_STACK);
    if (pid < 0) {
        *err_no = clone_errno;
        return -1;
    }
    if (ca.stage_errno || ca.no_parent) { /* it ran nothing: reap it here */
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        *err_no = ca.stage_errno ? ca.stage_errno : ESRCH;
        return -1;
    }
    return pid;
}

/* See exec.h. */
pid_t l4h_exec_spawn_tied(char *const argv[], char *const envp[], int stdout_fd, int *err_no)
{
    exec_child c = {.argv = argv, .envp = envp, .nfds = 3, .die_with_parent = 1};
    c.fds[0] = STDIN_FILENO;
    c.fds[1] = stdout_fd >= 0 ? stdout_fd : STDOUT_FILENO;
    c.fds[2] = STDERR_FILENO;
    sigemptyset(&c.blocked);
    return exec_spawn(&c, err_no);
}
