/* slots.c — the per-node cap on executions running at once
 * (sandbox.max_parallel_per_node), across every process on the node.
 *
 * The cap is max lock files slot.0 .. slot.<max-1> in a node-local directory
 * (<scratch>/llm4hep-slots-<uid>). A run holds an exclusive flock on one of
 * them. The kernel drops a flock when its holder's descriptor closes,
 * including when the holder dies, so a crashed task frees its slot with no
 * cleanup. The descriptor is close-on-exec: the code never inherits it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "exec_internal.h"

/* Try each slot once, starting at a per-process offset. The locked fd, or
 * -1 when all are busy, or -2 on a real error (err filled). */
static int try_slots(const char *dir, int max, l4h_err *err)
{
    int start = (int)(getpid() % max);
    for (int i = 0; i < max; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/slot.%d", dir, (start + i) % max);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            l4h_err_set(err, 3, "sandbox slot %s: cannot open: %s", path, strerror(errno));
            return -2;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK && e != EINTR) {
            l4h_err_set(err, 3, "sandbox slot %s: cannot lock: %s", path, strerror(e));
            return -2;
        }
    }
    return -1;
}

/* Wait for a free slot (see exec_internal.h). Polls every 20-50 ms. */
int l4h__slot_acquire(const char *dir, int max, l4h_err *err)
{
    if (l4h_mkdirs(dir, 0700, err) != 0)
        return l4h_err_prefix(err, "sandbox.max_parallel_per_node lock directory");
    for (unsigned round = 0;; round++) {
        int fd = try_slots(dir, max, err);
        if (fd >= 0)
            return fd;
        if (fd == -2)
            return -1;
        struct timespec ts = {0, (long)(20 + (getpid() + round) % 31) * 1000000L};
        nanosleep(&ts, NULL);
    }
}
