/* launcher.c — embedded programs as sealed, executable memfds; the launcher
 * (src/launch/launch.c), made once per process and handed to every
 * sandboxed child at L4H_LAUNCH_SELF_FD, and its words. exec_internal.h
 * explains the status channel. */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_internal.h"

extern const unsigned char exec_launch_blob[];
extern const unsigned long exec_launch_blob_len;

/* See exec.h. */
int l4h_exec_memfd(const char *name, const void *data, size_t len, l4h_err *err)
{
    int m = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (m < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "memfd_create for %s: %s", name, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(m, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(m);
            return l4h_err_set(err, L4H_EXIT_INFRA, "writing %s: %s", name, strerror(errno));
        }
        off += (size_t)w;
    }
    /* nobody changes it after this, not even us */
    if (fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
        fchmod(m, 0555) != 0) {
        close(m);
        return l4h_err_set(err, L4H_EXIT_INFRA, "sealing %s: %s", name, strerror(errno));
    }
    int hi = fcntl(m, F_DUPFD_CLOEXEC, 10);
    close(m);
    if (hi < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s fd: %s", name, strerror(errno));
    return hi;
}

/* See exec_internal.h. */
int exec_launch_fd(l4h_err *err)
{
    static int fd = -1;
    if (fd < 0)
        fd = l4h_exec_memfd("llm4hep-launch", exec_launch_blob, exec_launch_blob_len, err);
    return fd;
}

/* See exec_internal.h. */
void exec_add_launcher(const l4h_sandbox *sb, double timeout_s, l4h_argv *a)
{
    char limits[256];
    exec_limits_word(sb, timeout_s, limits, sizeof limits);
    exec_argv_addf(a, "/proc/self/fd/%d", L4H_LAUNCH_SELF_FD);
    exec_argv_addf(a, "%d", L4H_LAUNCH_STATUS_FD);
    exec_argv_addf(a, "%d", L4H_LAUNCH_SELF_FD);
    exec_argv_add(a, limits);
}
