/* procscan.c — what the supervisor learns from /proc: whether a process is
 * alive, its parent, its start time, the zombies a run left, and the
 * processes carrying a run's kill marker (rlimit backend). */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exec_internal.h"

/* The fields after the command name in /proc/<pid>/stat ("S ppid pgrp ...",
 * i.e. from field 3 on) in buf; NULL when the process is gone. */
static const char *proc_stat(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces and ')' */
    return p && p[1] == ' ' && p[2] ? p + 2 : NULL;
}

/* Field k (3 = state, 4 = ppid, 22 = starttime) of a proc_stat tail. */
static const char *stat_field(const char *tail, int k)
{
    for (int f = 3; tail && f < k; f++)
        if ((tail = strchr(tail, ' ')))
            tail++;
    return tail;
}

/* 1 while pid exists and is neither a zombie nor dead. */
int exec_proc_alive(pid_t pid)
{
    char buf[1024];
    const char *t = proc_stat(pid, buf, sizeof buf);
    return t && t[0] != 'Z' && t[0] != 'X';
}

/* Parent pid of pid, 0 when it is gone. */
pid_t exec_proc_parent(pid_t pid)
{
    char buf[1024];
    const char *f = stat_field(proc_stat(pid, buf, sizeof buf), 4);
    return f ? (pid_t)atol(f) : 0;
}

/* Start time of pid in clock ticks since boot, 0 when it is gone. */
unsigned long long exec_proc_start(pid_t pid)
{
    char buf[1024];
    const char *f = stat_field(proc_stat(pid, buf, sizeof buf), 22);
    return f ? strtoull(f, NULL, 10) : 0;
}

/* 1 while a zombie of uid started at or after `since` (ticks) exists. */
int exec_proc_zombies(uid_t uid, unsigned long long since)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    struct dirent *de;
    int found = 0;
    while (!found && (de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)atol(de->d_name);
        char path[64], buf[1024];
        struct stat st;
        snprintf(path, sizeof path, "/proc/%d", (int)pid);
        if (stat(path, &st) != 0 || st.st_uid != uid)
            continue;
        const char *t = proc_stat(pid, buf, sizeof buf);
        const char *start = stat_field(t, 22);
        found = t && t[0] == 'Z' && start && strtoull(start, NULL, 10) >= since;
    }
    closedir(d);
    return found;
}

/* Kill every process whose environment holds LLM4HEP_EXEC_TOKEN=token
 * (see exec_internal.h). */
void exec_proc_kill_token(const char *token, double patience, l4h_pidset *killed)
{
    char needle[96];
    int nl = snprintf(needle, sizeof needle, "LLM4HEP_EXEC_TOKEN=%s", token);
    pid_t self = getpid();
    double until = l4h_monotonic() + patience;
    for (;;) {
        int found = 0;
        DIR *d = opendir("/proc");
        if (!d)
            return;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] < '1' || de->d_name[0] > '9')
                continue;
            pid_t pid = (pid_t)atol(de->d_name);
            if (pid == self)
                continue;
            char path[64], buf[65536];
            snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            ssize_t n = read(fd, buf, sizeof buf);
            close(fd);
            if (n > 0 && memmem(buf, (size_t)n, needle, (size_t)nl) != NULL) {
                kill(pid, SIGKILL);
                found = 1;
                if (killed && killed->n < sizeof killed->v / sizeof *killed->v)
                    killed->v[killed->n++] = pid;
            }
        }
        closedir(d);
        if (!found || l4h_monotonic() >= until)
            return;
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
    }
}
