/* slots.c — the per-node cap on executions running at once
 * (sandbox.max_parallel_per_node), across every process on the node.
 *
 * The cap is max lock files slot.0 .. slot.<max-1> in a node-local directory
 * (<scratch>/llm4hep-slots-<uid>). A run holds an exclusive flock on one of
 * them. The kernel drops a flock when its holder's descriptor closes,
 * including when the holder dies, so a crashed task frees its slot with no
 * cleanup. The descriptor is close-on-exec: the code never inherits it.
 *
 * The name is predictable and scratch is often a shared /tmp: another user
 * may create it first (to stall our runs by holding the locks, or to plant
 * links for us to create files through). So the directory must be a real
 * directory (no link followed), owned by us, with no access for anyone else;
 * the slot files are opened beneath it with O_NOFOLLOW and must be our
 * regular files. Anything else is refused, naming the directory and the fix.
 * The wait polls and gives up as soon as the stop flag is set (a signal or
 * the campaign's drain). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exec_internal.h"

/* Open (creating) the slot directory: ours, mode 0700, not a link. fd or -1
 * (code 3) saying what is wrong and what to do. */
static int open_slot_dir(const char *dir, l4h_err *err)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot create: %s", dir, strerror(errno));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "%s: %s; it is not ours to use: remove it, or set scratch to "
                           "a directory of your own",
                           dir, e == ELOOP || e == ENOTDIR ? "is a link or not a directory"
                                                           : strerror(e));
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077)) {
        close(fd);
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "%s: owned by uid %d with mode %04o, expected ours (uid %d) "
                           "with mode 0700: another user may have created it; remove "
                           "it, or set scratch to a directory of your own",
                           dir, (int)st.st_uid, (unsigned)(st.st_mode & 07777), (int)geteuid());
    }
    return fd;
}

/* Try each slot once, starting at a per-process offset. The locked fd, or
 * -1 when all are busy, or -2 on a real error (err filled). */
static int try_slots(int dfd, const char *dir, int max, l4h_err *err)
{
    int start = (int)(getpid() % max);
    for (int i = 0; i < max; i++) {
        char name[32];
        snprintf(name, sizeof name, "slot.%d", (start + i) % max);
        int fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            l4h_err_set(err, L4H_EXIT_INFRA, "sandbox slot %s/%s: %s", dir, name,
                        fd < 0 ? strerror(e) : "not our regular file");
            return -2;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK && e != EINTR) {
            l4h_err_set(err, L4H_EXIT_INFRA,
                        "sandbox slot %s/%s: cannot lock: %s", dir, name, strerror(e));
            return -2;
        }
    }
    return -1;
}

/* Wait for a free slot (see exec_internal.h). Polls every 20-50 ms. */
int exec_slot_acquire(const char *dir, int max, const volatile sig_atomic_t *stop, l4h_err *err)
{
    int dfd = open_slot_dir(dir, err);
    if (dfd < 0)
        return l4h_err_prefix(err, "sandbox.max_parallel_per_node lock directory");
    for (unsigned round = 0;; round++) {
        int fd = try_slots(dfd, dir, max, err);
        if (fd >= 0 || fd == -2) {
            close(dfd);
            return fd >= 0 ? fd : -1;
        }
        if (stop && *stop) {
            close(dfd);
            return l4h_err_set(err, L4H_EXIT_INFRA, "interrupted while waiting for a sandbox slot "
                                       "(sandbox.max_parallel_per_node)");
        }
        struct timespec ts = {0, (long)(20 + (getpid() + round) % 31) * 1000000L};
        nanosleep(&ts, NULL);
    }
}
