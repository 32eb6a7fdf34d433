/* launch.c — the last word of every sandboxed command line before the
 * program itself, and the sandbox's only witness that the program started.
 *
 *   launch STATUS_FD SELF_FD LIMITS PROGRAM [ARGS...]
 *
 * Sets the resource limits LIMITS ("as=N,cpu=SOFT:HARD,fsize=N,nproc=N,
 * nofile=N,core=0": a name, '=', the soft limit and optionally ':' and the
 * hard one; soft = hard without it; "-" for none), marks every descriptor
 * >= 3 close-on-exec (the code inherits nothing but stdin, stdout and
 * stderr), writes 'R' to STATUS_FD and execs PROGRAM. If a limit cannot be
 * set it writes 'E' and the reason there instead and exits 127; if the exec
 * fails it writes 'E' and errno's text after the 'R', says so on stderr and
 * exits 127. STATUS_FD is close-on-exec, so once PROGRAM runs no process of
 * the code holds it: whatever the code prints or exits with, the supervisor
 * reads the launch's outcome from a channel only this program could write
 * (no 'R' = the sandbox failed before it: bubblewrap).
 *
 * Built on its own (no sanitizers: they reserve terabytes of address space,
 * which RLIMIT_AS forbids) and embedded in the exec room as bytes; the
 * supervisor hands it to the child as a sealed memfd at SELF_FD and runs it
 * as /proc/self/fd/SELF_FD. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __has_include
#if __has_include(<linux/close_range.h>)
#include <linux/close_range.h>
#endif
#endif
#include <sys/syscall.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The fd number in s, or -1 when s is not a small non-negative integer. */
static int fd_arg(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return (end && *end == '\0' && end != s && v >= 0 && v < 65536) ? (int)v : -1;
}

/* Report a failure before the exec on the status pipe and stderr; 127. */
static int fail(int st, int e, const char *what, const char *arg)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "E%d %s %s: %s", e, what, arg, strerror(e));
    if (n > 0)
        (void)!write(st, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    fprintf(stderr, "llm4hep-launch: %s %s: %s\n", what, arg, strerror(e));
    return 127;
}

static const struct {
    const char *name;
    int resource;
} limit_names[] = {{"as", RLIMIT_AS},       {"cpu", RLIMIT_CPU},       {"fsize", RLIMIT_FSIZE},
                   {"nproc", RLIMIT_NPROC}, {"nofile", RLIMIT_NOFILE}, {"core", RLIMIT_CORE}};

/* Set every limit of the LIMITS word (modified in place). 0, or the errno
 * (EINVAL for a word we do not understand) with *bad the offending item. */
static int set_limits(char *word, const char **bad)
{
    if (strcmp(word, "-") == 0)
        return 0;
    char *save = NULL;
    for (char *item = strtok_r(word, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        *bad = item;
        char *eq = strchr(item, '=');
        if (!eq)
            return EINVAL;
        *eq = '\0';
        int res = -1;
        for (size_t i = 0; i < sizeof limit_names / sizeof *limit_names; i++)
            if (strcmp(item, limit_names[i].name) == 0)
                res = limit_names[i].resource;
        *eq = '=';
        char *end = NULL;
        errno = 0;
        unsigned long long soft = strtoull(eq + 1, &end, 10), hard = soft;
        if (end && *end == ':')
            hard = strtoull(end + 1, &end, 10);
        if (res < 0 || errno || !end || *end || end == eq + 1 || soft > hard)
            return EINVAL;
        struct rlimit rl = {(rlim_t)soft, (rlim_t)hard};
        if (setrlimit(res, &rl) != 0)
            return errno;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "llm4hep-launch: usage: launch STATUS_FD SELF_FD LIMITS PROGRAM [ARGS...]\n");
        return 127;
    }
    int st = fd_arg(argv[1]);
    if (st < 3) {
        fprintf(stderr, "llm4hep-launch: bad status fd %s\n", argv[1]);
        return 127;
    }
    const char *bad = argv[3];
    int e = set_limits(argv[3], &bad);
    if (e != 0)
        return fail(st, e, "cannot set the limit", bad);
    /* every inherited descriptor, ours included, goes at the exec */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < 65536; fd++)
            if (fd != st)
                close(fd);
    }
    int self = fd_arg(argv[2]);
    if (self >= 3 && self != st)
        close(self);
    (void)!write(st, "R", 1);
    execv(argv[4], argv + 4);
    return fail(st, errno, "cannot run", argv[4]);
}
