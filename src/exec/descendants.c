/* descendants.c — ending everything a process started, however deep:
 * become the reaper of the orphans of our descendants (so a sandbox's
 * inner process that outlived its own parent comes to us instead of
 * init), then kill and reap our children until none is left. The task
 * process does it after each sandbox run and when its rank dies: death
 * signals alone leave a window (bubblewrap arms --die-with-parent in its
 * inner process after the clone), this closes it. Only system calls and no
 * allocation, so a signal handler may call it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_internal.h"

/* The entries of a getdents64 buffer (glibc has no public struct). */
struct dirent64_raw {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

/* Decimal pid from a /proc entry name; 0 when it is not one. */
static pid_t name_pid(const char *s)
{
    long v = 0;
    if (*s < '1' || *s > '9')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 0x3fffffff)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return (pid_t)v;
}

/* The parent of pid from /proc/<pid>/stat (the name in parentheses may hold
 * anything: the last ')' ends it); 0 when it is gone or unreadable. */
static pid_t stat_parent(int procfd, const char *name)
{
    char path[48], buf[512];
    size_t n = 0;
    while (name[n] && n < 20) {
        path[n] = name[n];
        n++;
    }
    const char tail[] = "/stat";
    for (size_t i = 0; i < sizeof tail; i++)
        path[n + i] = tail[i];
    int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return 0;
    buf[got] = '\0';
    char *close_paren = NULL;
    for (char *p = buf; *p; p++)
        if (*p == ')')
            close_paren = p;
    /* ") S ppid ..." */
    if (!close_paren || close_paren[1] != ' ' || !close_paren[2] || close_paren[3] != ' ')
        return 0;
    const char *p = close_paren + 4;
    long v = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    return (pid_t)v;
}

/* SIGKILL every child of ours (every process whose parent is `self`).
 * Returns how many were found (whatever their state). */
static int kill_children(pid_t self)
{
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return 0;
    int found = 0;
    char buf[8192];
    for (;;) {
        long n = syscall(SYS_getdents64, procfd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
            off += d->reclen;
            pid_t pid = name_pid(d->name);
            if (pid > 0 && pid != self && stat_parent(procfd, d->name) == self) {
                kill(pid, SIGKILL);
                found++;
            }
        }
    }
    close(procfd);
    return found;
}

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* See exec.h. */
int l4h_exec_adopt_orphans(void)
{
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -1;
}

/* See exec_internal.h. */
int exec_adopts_orphans(void)
{
    int on = 0;
    return prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0) == 0 && on;
}

/* See exec_internal.h. A system call per zombie, no /proc scan: cheap
 * enough for every wake-up of a run's watch. */
void exec_reap_orphans(pid_t keep)
{
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) != 0 || si.si_pid == 0 ||
            si.si_pid == keep)
            return; /* none, or the run's own first: the watch reaps it */
        if (waitpid(si.si_pid, NULL, WNOHANG | __WALL) <= 0)
            return;
    }
}

/* See exec.h. */
int l4h_exec_end_descendants(double patience_s)
{
    /* first: an orphan made by the kills below must come to us */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    pid_t self = getpid();
    double until = now_s() + patience_s;
    for (;;) {
        kill_children(self);
        int st;
        pid_t r;
        while ((r = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
        }
        if (r < 0 && errno == ECHILD)
            return 0;
        if (now_s() >= until)
            return -1;
        struct timespec pause = {0, 2000000L};
        nanosleep(&pause, NULL);
    }
}
