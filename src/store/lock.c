/* lock.c — the campaign lock (<output>.lock, flock'd, "host pid" inside)
 * and the companion file names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store_internal.h"

/* h5path + suffix, malloc'd. */
static char *with_suffix(const char *h5path, const char *suffix)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s%s", h5path, suffix);
    return l4h_buf_take(&b);
}

char *store_journal_path(const char *h5path)
{
    return with_suffix(h5path, ".journal");
}

/* The campaign lock file beside h5path. Caller frees. */
static char *lock_path(const char *h5path)
{
    return with_suffix(h5path, ".lock");
}

int store_lock_take(const char *h5path, const char *why, l4h_err *err)
{
    char *p = lock_path(h5path);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot create the lock file: %s", p,
                    strerror(errno));
        free(p);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            char holder[256] = "";
            ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
            holder[n > 0 ? n : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
            l4h_err_set(err, L4H_EXIT_USAGE,
                        "%s is held by a running campaign (%s, from %s); %s refused — wait for "
                        "it to finish",
                        h5path, holder[0] ? holder : "holder unknown", p, why);
            close(fd);
            free(p);
            return -1;
        }
        /* No flock on this file system (e.g. NERSC CFS): go on unlocked. */
        fprintf(stderr, "llm4hep: warning: %s: file locking unsupported (%s); one writer is "
                        "assumed\n", p, strerror(errno));
    }
    char host[128] = "?";
    gethostname(host, sizeof host - 1);
    char line[200];
    int n = snprintf(line, sizeof line, "host %s pid %ld\n", host, (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
        /* the lock holds regardless; the text is informative only */
    }
    free(p);
    return fd;
}

void store_lock_release(int fd)
{
    if (fd < 0)
        return;
    if (ftruncate(fd, 0) != 0) {
    }
    flock(fd, LOCK_UN);
    close(fd);
}
