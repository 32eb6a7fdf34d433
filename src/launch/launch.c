/* launch.c — the last word of every sandboxed command line before the
 * program itself, and the sandbox's only witness that the program started.
 *
 *   launch STATUS_FD SELF_FD PROGRAM [ARGS...]
 *
 * Marks every descriptor >= 3 close-on-exec (the code inherits nothing but
 * stdin, stdout and stderr), writes 'R' to STATUS_FD and execs PROGRAM. If the
 * exec fails it writes 'E' and errno's text there, says so on stderr and
 * exits 127. STATUS_FD is close-on-exec, so once PROGRAM runs no process of
 * the code holds it: whatever the code prints or exits with, the supervisor
 * reads the launch's outcome from a channel only this program could write
 * (no 'R' = a helper before it failed: setpriv, bubblewrap, prlimit).
 *
 * Built on its own (no sanitizers: they reserve terabytes of address space,
 * which RLIMIT_AS forbids) and embedded in the exec room as bytes; the
 * supervisor hands it to the child as a sealed memfd at SELF_FD and runs it
 * as /proc/self/fd/SELF_FD. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
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

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "llm4hep-launch: usage: launch STATUS_FD SELF_FD PROGRAM [ARGS...]\n");
        return 127;
    }
    int st = fd_arg(argv[1]);
    if (st < 3) {
        fprintf(stderr, "llm4hep-launch: bad status fd %s\n", argv[1]);
        return 127;
    }
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
    execv(argv[3], argv + 3);
    int e = errno;
    char msg[512];
    int n = snprintf(msg, sizeof msg, "E%d cannot run %s: %s", e, argv[3], strerror(e));
    if (n > 0)
        (void)!write(st, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    fprintf(stderr, "llm4hep-launch: cannot run %s: %s\n", argv[3], strerror(e));
    return 127;
}
