/* launcher.c — the embedded launcher (src/launch/launch.c) as a sealed,
 * executable memfd, made once per process and handed to every sandboxed
 * child at L4H_LAUNCH_SELF_FD. exec_internal.h explains the status channel. */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_internal.h"

extern const unsigned char l4h__launch_blob[];
extern const unsigned long l4h__launch_blob_len;

/* See exec_internal.h. */
int l4h__launch_fd(l4h_err *err)
{
    static int fd = -1;
    if (fd >= 0)
        return fd;
    int m = memfd_create("llm4hep-launch", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (m < 0)
        return l4h_err_set(err, 3, "sandbox: memfd_create for the launcher: %s", strerror(errno));
    size_t off = 0;
    while (off < l4h__launch_blob_len) {
        ssize_t w = write(m, l4h__launch_blob + off, l4h__launch_blob_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(m);
            return l4h_err_set(err, 3, "sandbox: writing the launcher: %s", strerror(errno));
        }
        off += (size_t)w;
    }
    /* nobody changes it after this, not even us */
    if (fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
        fchmod(m, 0555) != 0) {
        close(m);
        return l4h_err_set(err, 3, "sandbox: sealing the launcher: %s", strerror(errno));
    }
    int hi = fcntl(m, F_DUPFD_CLOEXEC, 10);
    close(m);
    if (hi < 0)
        return l4h_err_set(err, 3, "sandbox: launcher fd: %s", strerror(errno));
    fd = hi;
    return fd;
}

/* See exec_internal.h. */
void l4h__exec_add_launcher(l4h_argv *a)
{
    l4h__argv_addf(a, "/proc/self/fd/%d", L4H_LAUNCH_SELF_FD);
    l4h__argv_addf(a, "%d", L4H_LAUNCH_STATUS_FD);
    l4h__argv_addf(a, "%d", L4H_LAUNCH_SELF_FD);
}
