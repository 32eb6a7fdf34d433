/* file.c — whole-file read and atomic write, mkdir -p, rm -rf, path joins.
 *
 * Error codes: a path the user named that cannot be read (missing, not a
 * file, no permission) is code 2 (bad input); a failed write, mkdir or
 * removal is code 3 (infrastructure). Messages name the path and errno text. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm4hep/core.h"
#include "core_internal.h"

/* What a file that is not a regular one is, for messages. */
static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO (named pipe)";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* See core.h. Opened non-blocking so that a FIFO cannot stall the open;
 * fstat on the open fd decides (no race with a rename); the read stops one
 * byte past max, so /dev/zero-like sources and files growing while read end
 * in the same error. */
int core_read_file_max(const char *path, size_t max, char **out, size_t *len, l4h_err *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return l4h_err_set(err, (e == ENOENT || e == EACCES || e == ENOTDIR || e == ELOOP ||
                                 e == ENXIO || e == EISDIR) ? L4H_EXIT_USAGE : L4H_EXIT_INFRA,
                           "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: cannot read: is %s, expected a regular file", path,
                           file_kind(st.st_mode));
    }
    if (st.st_size > 0 && (uint64_t)st.st_size > max) {
        close(fd);
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: cannot read: %lld bytes, expected at most %zu (%zu MiB)",
                           path, (long long)st.st_size, max, max >> 20);
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    l4h_buf b = {0};
    l4h_buf_add(&b, "", 0);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            l4h_buf_free(&b);
            return l4h_err_set(err, e == EISDIR ? L4H_EXIT_USAGE : L4H_EXIT_INFRA, "%s: cannot read: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        if ((size_t)n > max - b.len) {
            close(fd);
            l4h_buf_free(&b);
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s: cannot read: more than %zu bytes (%zu MiB), expected at most that",
                               path, max, max >> 20);
        }
        l4h_buf_add(&b, chunk, (size_t)n);
    }
    close(fd);
    if (len)
        *len = b.len;
    *out = l4h_buf_take(&b);
    return 0;
}

/* See core.h. */
int l4h_read_file(const char *path, char **out, size_t *len, l4h_err *err)
{
    return core_read_file_max(path, L4H_READ_FILE_MAX, out, len, err);
}

/* See core.h. */
int core_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write a whole file atomically: a temp file beside it, fsync, rename over
 * path, fsync the directory. Readers see the old file or the new one, never
 * a partial one. -1 (code 3) on failure, the temp file removed. */
int l4h_write_file(const char *path, const void *data, size_t len, l4h_err *err)
{
    static unsigned counter;
    char *tmp;
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s.tmp.%ld.%u", path, (long)getpid(),
                   __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED)); /* threads write too */
    tmp = l4h_buf_take(&b);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot create: %s", path, strerror(e));
    }
    if (core_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot write: %s", path, strerror(e));
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot write: %s", path, strerror(e));
    }
    free(tmp);
    char *dir = l4h_path_dir(path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: some file systems refuse fsync on directories */
        close(dfd);
    }
    free(dir);
    return 0;
}

/* mkdir -p path with mode for the directories it creates. Existing
 * directories are fine; an existing non-directory is -1 (code 3). */
int l4h_mkdirs(const char *path, int mode, l4h_err *err)
{
    if (!path || !*path)
        return l4h_err_set(err, L4H_EXIT_USAGE, "cannot create a directory with an empty name");
    char *p = l4h_xstrdup(path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char save = p[i];
        p[i] = '\0';
        if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
            int e = errno;
            l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot create directory: %s", p, strerror(e));
            free(p);
            return -1;
        }
        p[i] = save;
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(p);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: exists and is not a directory", path);
    }
    free(p);
    return 0;
}

/* rm -rf path (through its parent's fd, iteratively: l4h_fs_remove). 0 also
 * when it does not exist; -1 (code 3) with err. */
int l4h_remove_tree(const char *path, l4h_err *err)
{
    if (!path || !*path)
        return l4h_err_set(err, L4H_EXIT_USAGE, "cannot remove a path with an empty name");
    char *parent = l4h_path_dir(path);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int rc;
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        rc = errno == ENOENT ? 0 : l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot open: %s", parent, strerror(errno));
    else if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        rc = l4h_err_set(err, L4H_EXIT_USAGE, "%s: expected a path ending in a name", path);
    else
        rc = l4h_fs_remove(pfd, base, err);
    if (pfd >= 0)
        close(pfd);
    free(parent);
    return rc;
}

/* dir + "/" + rel, or a copy of rel when it is absolute or dir is empty or
 * "." (so messages show "x.txt", not "./x.txt"). Caller frees. */
char *l4h_path_join(const char *dir, const char *rel)
{
    if (rel[0] == '/' || !dir || !*dir || !strcmp(dir, "."))
        return l4h_xstrdup(rel);
    l4h_buf b = {0};
    l4h_buf_puts(&b, dir);
    if (b.data[b.len - 1] != '/')
        l4h_buf_puts(&b, "/");
    l4h_buf_puts(&b, rel);
    return l4h_buf_take(&b);
}

/* The directory part of path: "a/b/c" -> "a/b", "c" -> ".", "/c" -> "/".
 * Caller frees. */
char *core_path_dir_abs(const char *path)
{
    char *dir = l4h_path_dir(path);
    char *abs = realpath(dir, NULL);
    if (!abs)
        return dir;
    free(dir);
    return abs;
}

char *l4h_path_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return l4h_xstrdup(".");
    while (slash > path && slash[-1] == '/')
        slash--;
    if (slash == path)
        return l4h_xstrdup("/");
    size_t n = (size_t)(slash - path);
    char *d = l4h_xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}
