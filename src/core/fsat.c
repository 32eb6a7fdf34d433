/* fsat.c — file access beneath a directory someone else can write.
 *
 * The generated code writes its workspace; everything it leaves there (links,
 * a directory swapped for a link, a tree 100 000 levels deep, a directory
 * chmod'ed 000) is hostile. The host reaches such a tree only through a
 * directory fd opened once and names resolved beneath it: openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, or, where the
 * kernel lacks openat2 (ENOSYS), a walk of the components each opened with
 * O_NOFOLLOW (O_DIRECTORY for all but the last). A path string through the
 * tree is never handed to the kernel. Writes create a new file beside the
 * target (O_EXCL) and rename it over the name, so a planted link or hard link
 * is replaced, never written through. Walks, copies and removals are
 * iterative (no recursion) with a bounded number of open directories.
 *
 * Error codes: 1 when the tree is not as expected (a link, a missing entry, a
 * non-directory on the way, too deep) — the writer of the tree did that;
 * 2 for a name that is absolute or has ".."; 3 for other I/O errors. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "llm4hep/core.h"
#include "core_internal.h"

static int use_openat2 = 1;

/* See core.h (tests). */
void core_fs_use_openat2(int on)
{
    use_openat2 = on;
}

/* See core.h. errno is kept for the caller. */
int l4h_fs_dir_open(const char *path, l4h_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        l4h_err_set(err, e == ENOENT || e == ELOOP || e == ENOTDIR ? L4H_EXIT_FAILED : L4H_EXIT_INFRA,
                    "%s: cannot open the directory: %s", path,
                    e == ELOOP ? "it is a symbolic link" : strerror(e));
        errno = e; /* callers may look */
    }
    return fd;
}

/* Is rel a relative name without "..": 0, else -1 (code 2). */
static int check_rel(const char *rel, l4h_err *err)
{
    if (!rel || !rel[0] || rel[0] == '/')
        return l4h_err_set(err, L4H_EXIT_USAGE, "'%s': expected a relative path", rel ? rel : "");
    for (const char *p = rel; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return l4h_err_set(err, L4H_EXIT_USAGE, "'%s': expected a path without '..'", rel);
        p += n + (e ? 1 : 0);
    }
    return 0;
}

/* The message and code for errno e met resolving rel. -1. */
static int resolve_error(int e, const char *rel, l4h_err *err)
{
    int code = e == ENOENT || e == ELOOP || e == ENOTDIR || e == EXDEV ? L4H_EXIT_FAILED : L4H_EXIT_INFRA;
    return l4h_err_set(err, code, "%s: %s", rel,
                       e == ELOOP    ? "is or goes through a symbolic link (not followed)"
                       : e == EXDEV  ? "leads outside its directory (not followed)"
                       : e == ENOTDIR ? "a part of the path is not a directory"
                       : e == ENOENT ? "not found"
                                     : strerror(e));
}

/* The component walk (no openat2): every directory O_PATH|O_NOFOLLOW. */
static int walk_open(int dfd, const char *rel, int flags, int mode)
{
    char *copy = l4h_xstrdup(rel), *save = NULL;
    int cur = dfd, rc = -1;
    char *part = strtok_r(copy, "/", &save);
    while (part) {
        char *next = strtok_r(NULL, "/", &save);
        int fd = next ? openat(cur, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                      : openat(cur, part, flags | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
        int e = errno;
        struct stat st;
        if (fd < 0 && e == ENOTDIR && fstatat(cur, part, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            e = ELOOP; /* O_PATH|O_NOFOLLOW met a link: say so */
        if (cur != dfd)
            close(cur);
        if (fd < 0) {
            errno = e;
            cur = dfd;
            break;
        }
        cur = fd;
        if (!next) {
            rc = fd;
            cur = dfd;
        }
        part = next;
    }
    if (cur != dfd)
        close(cur);
    free(copy);
    return rc;
}

/* See core.h. */
int l4h_fs_open(int dfd, const char *rel, int flags, int mode, l4h_err *err)
{
    if (check_rel(rel, err) < 0)
        return -1;
    int fd = -1;
#ifdef SYS_openat2
    if (use_openat2) {
        struct open_how how = {.flags = (unsigned long long)(flags | O_NOFOLLOW | O_CLOEXEC),
                               .mode = (flags & O_CREAT) ? (unsigned long long)mode : 0,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
                                          RESOLVE_NO_MAGICLINKS};
        do
            fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
        while (fd < 0 && (errno == EAGAIN || errno == EINTR));
        if (fd >= 0 || errno != ENOSYS)
            return fd >= 0 ? fd : resolve_error(errno, rel, err);
    }
#endif
    fd = walk_open(dfd, rel, flags, mode);
    return fd >= 0 ? fd : resolve_error(errno, rel, err);
}

/* See core.h. */
int l4h_fs_open_in(int dfd, const char *rel, int flags, l4h_err *err)
{
    if (check_rel(rel, err) < 0)
        return -1;
#ifdef SYS_openat2
    if (use_openat2) {
        struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
        int fd;
        do
            fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof how);
        while (fd < 0 && (errno == EAGAIN || errno == EINTR));
        if (fd >= 0 || errno != ENOSYS)
            return fd >= 0 ? fd : resolve_error(errno, rel, err);
    }
#endif
    return l4h_fs_open(dfd, rel, flags & ~O_CREAT, 0, err); /* no openat2: no link at all */
}

/* See core.h. */
int l4h_fs_mkdirs(int dfd, const char *rel, int mode, l4h_err *err)
{
    if (rel && rel[0] && strcmp(rel, ".") && check_rel(rel, err) < 0)
        return -1;
    char *copy = l4h_xstrdup(rel ? rel : ""), *save = NULL;
    int cur = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (cur < 0) {
        free(copy);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", rel, strerror(errno));
    }
    for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (!strcmp(part, "."))
            continue;
        if (mkdirat(cur, part, (mode_t)mode) != 0 && errno != EEXIST) {
            int e = errno;
            close(cur);
            free(copy);
            return l4h_err_set(err, e == ENOENT || e == ENOTDIR ? L4H_EXIT_FAILED : L4H_EXIT_INFRA,
                               "%s: cannot create directory %s: %s", rel, part, strerror(e));
        }
        int fd = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 && errno == EACCES && fstatat(cur, part, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
            fchmodat(cur, part, (st.st_mode & 07777) | 0700, 0) == 0) /* chmod'ed 000 */
            fd = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(cur);
        if (fd < 0) {
            free(copy);
            return resolve_error(e, rel, err);
        }
        cur = fd;
    }
    free(copy);
    return cur;
}

/* A fresh file beside the target in dir (O_EXCL, never an existing entry):
 * its fd, the name in tmp. -1 (errno). */
static int create_temp(int dir, int mode, char tmp[64])
{
    static unsigned counter;
    for (int tries = 0; tries < 100; tries++) {
        snprintf(tmp, 64, ".l4h-tmp-%ld-%u", (long)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Split rel into its directory part (malloc'd, "" for none) and last name. */
static char *split_last(const char *rel, const char **last)
{
    const char *slash = strrchr(rel, '/');
    *last = slash ? slash + 1 : rel;
    if (!slash)
        return l4h_xstrdup("");
    char *dir = l4h_xmalloc((size_t)(slash - rel) + 1);
    memcpy(dir, rel, (size_t)(slash - rel));
    dir[slash - rel] = '\0';
    return dir;
}

/* See core.h. */
int l4h_fs_write(int dfd, const char *rel, const void *data, size_t len, int mode, l4h_err *err)
{
    if (check_rel(rel, err) < 0)
        return -1;
    const char *last;
    char *dir = split_last(rel, &last);
    if (!last[0] || !strcmp(last, ".")) {
        free(dir);
        return l4h_err_set(err, L4H_EXIT_USAGE, "'%s': expected a file name", rel);
    }
    int parent = l4h_fs_mkdirs(dfd, dir, 0755, err);
    free(dir);
    if (parent < 0)
        return -1;
    char tmp[64];
    int fd = create_temp(parent, mode, tmp);
    if (fd < 0) {
        int e = errno;
        close(parent);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot create: %s", rel, strerror(e));
    }
    int rc = 0;
    if (core_write_all(fd, data, len) < 0)
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot write: %s", rel, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot write: %s", rel, strerror(errno));
    if (rc == 0 && fchmodat(parent, tmp, (mode_t)mode, 0) != 0) /* umask */
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot chmod: %s", rel, strerror(errno));
    if (rc == 0 && renameat(parent, tmp, parent, last) != 0) {
        int e = errno;
        rc = l4h_err_set(err, e == EISDIR || e == ENOTEMPTY || e == EEXIST ? L4H_EXIT_FAILED : L4H_EXIT_INFRA,
                         "%s: cannot replace: %s", rel,
                         e == EISDIR ? "a directory is in the way" : strerror(e));
    }
    if (rc != 0)
        unlinkat(parent, tmp, 0);
    close(parent);
    return rc;
}

/* ------------------------------------------------------------------ walk */

typedef struct level {
    DIR *d;
    size_t rel_len;        /* length of rel for the entries of this directory */
} level;

/* Open the subdirectory name of dir for reading, no link followed. A
 * directory we own but cannot read or search (chmod'ed 000 by its writer)
 * is given u+rwx first. -1 (errno). */
static int open_subdir(int dir, const char *name, const struct stat *st)
{
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && st->st_uid == geteuid() &&
        fchmodat(dir, name, (st->st_mode & 07777) | 0700, 0) == 0)
        fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd;
}

/* Does the directory fd hold any entry? Consumes fd. */
static int has_entries(int fd)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    struct dirent *de;
    int any = 0;
    while (!any && (de = readdir(d)))
        any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return any;
}

/* See core.h. */
int l4h_fs_walk(int dfd, int max_depth, l4h_fs_visit fn, void *ctx, l4h_err *err)
{
    if (max_depth < 1)
        max_depth = 1;
    level *stack = l4h_xcalloc((size_t)max_depth + 1, sizeof *stack);
    l4h_buf rel = {0};
    l4h_buf_add(&rel, "", 0);
    /* a new open file description: a dup would share (and move) dfd's
     * directory offset */
    int top = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0, depth = 0;
    if (top < 0 || !(stack[0].d = fdopendir(top))) {
        if (top >= 0)
            close(top);
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "cannot read the directory: %s", strerror(errno));
        goto out;
    }
    while (depth >= 0) {
        level *lv = &stack[depth];
        errno = 0;
        struct dirent *de = readdir(lv->d);
        if (!de) {
            closedir(lv->d);
            lv->d = NULL;
            depth--;
            continue;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(lv->d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* vanished while we looked */
        rel.len = lv->rel_len;
        if (rel.len)
            l4h_buf_add(&rel, "/", 1);
        l4h_buf_add(&rel, de->d_name, strlen(de->d_name));
        l4h_fs_entry e = {.dfd = dirfd(lv->d), .name = de->d_name, .rel = rel.data, .st = &st,
                          .depth = depth + 1};
        int v = fn(ctx, &e);
        if (v < 0) {
            rc = -1;
            break;
        }
        if (v > 0 || !S_ISDIR(st.st_mode))
            continue;
        int sub = open_subdir(dirfd(lv->d), de->d_name, &st);
        if (sub < 0)
            continue; /* vanished, or not ours to read */
        if (depth + 1 >= max_depth) {
            if (has_entries(sub) && rc == 0)
                rc = 1;
            continue;
        }
        DIR *sd = fdopendir(sub);
        if (!sd) {
            close(sub);
            continue;
        }
        depth++;
        stack[depth].d = sd;
        stack[depth].rel_len = rel.len;
    }
    if (rc == 1)
        l4h_err_set(err, L4H_EXIT_FAILED, "directories nested deeper than %d levels", max_depth);
out:
    for (int i = 0; i <= max_depth; i++)
        if (stack[i].d)
            closedir(stack[i].d);
    free(stack);
    l4h_buf_free(&rel);
    return rc;
}

/* ------------------------------------------------------------------ copy */

typedef struct copy_ctx {
    int *dst;              /* dst[d]: the target directory of entries at depth d + 1 */
    int max_depth;
    const char *skip_top;
    size_t links, others;
    l4h_err *err;
} copy_ctx;

/* Copy the regular file name of src (its parent) to name in dst, through a
 * temp file renamed over the name. -1 with err. */
static int copy_file_at(int src, const char *name, int dst, const char *rel, l4h_err *err)
{
    int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return errno == ENOENT ? 0 : l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot open: %s", rel, strerror(errno));
    struct stat st;
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(in);
        return 0; /* swapped for something else while we looked: not copied */
    }
    char tmp[64];
    int out = create_temp(dst, 0644, tmp);
    if (out < 0) {
        int e = errno;
        close(in);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot create: %s", rel, strerror(e));
    }
    static char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot read: %s", rel, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (core_write_all(out, buf, (size_t)n) < 0) {
            rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot write: %s", rel, strerror(errno));
            break;
        }
    }
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot write: %s", rel, strerror(errno));
    if (rc == 0 && renameat(dst, tmp, dst, name) != 0)
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot replace: %s", rel,
                         errno == EISDIR ? "a directory is in the way" : strerror(errno));
    if (rc != 0)
        unlinkat(dst, tmp, 0);
    return rc;
}

/* The copy's visitor: a directory is made in the target (its fd kept for
 * its entries), a file copied, a link or a special file counted and left
 * out. 0 to go on, -1 (err) on a failure. */
static int copy_visit(void *vctx, const l4h_fs_entry *e)
{
    copy_ctx *c = vctx;
    if (e->depth == 1 && c->skip_top && !strcmp(e->name, c->skip_top))
        return 1;
    int parent = c->dst[e->depth - 1];
    if (S_ISREG(e->st->st_mode))
        return copy_file_at(e->dfd, e->name, parent, e->rel, c->err);
    if (S_ISLNK(e->st->st_mode)) {
        c->links++;
        return 0;
    }
    if (!S_ISDIR(e->st->st_mode)) {
        c->others++;
        return 0;
    }
    if (e->depth >= c->max_depth)
        return 0; /* the walk does not descend; it reports the depth */
    if (mkdirat(parent, e->name, 0755) != 0 && errno != EEXIST)
        return l4h_err_set(c->err, L4H_EXIT_INFRA, "%s: cannot create directory: %s", e->rel, strerror(errno));
    int fd = openat(parent, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return resolve_error(errno, e->rel, c->err);
    if (c->dst[e->depth] >= 0)
        close(c->dst[e->depth]);
    c->dst[e->depth] = fd;
    return 0;
}

/* See core.h. */
int l4h_fs_copy_tree(int src, int dst, const char *skip_top, int max_depth, l4h_fs_copied *out,
                     l4h_err *err)
{
    if (max_depth < 1)
        max_depth = 1;
    copy_ctx c = {.dst = l4h_xmalloc(((size_t)max_depth + 1) * sizeof(int)),
                  .max_depth = max_depth, .skip_top = skip_top, .err = err};
    for (int i = 0; i <= max_depth; i++)
        c.dst[i] = -1;
    c.dst[0] = dst;
    int rc = l4h_fs_walk(src, max_depth, copy_visit, &c, err);
    for (int i = 1; i <= max_depth; i++)
        if (c.dst[i] >= 0)
            close(c.dst[i]);
    free(c.dst);
    if (out) {
        out->links_skipped = c.links;
        out->others_skipped = c.others;
    }
    if (rc == 1)
        return l4h_err_set(err, L4H_EXIT_FAILED, "directories nested deeper than %d levels were not copied",
                           max_depth);
    return rc;
}

/* ---------------------------------------------------------------- remove */

/* Open directories held at once while removing; deeper subtrees are moved
 * up to the top directory and removed in a later pass. */
#define REMOVE_STACK 64

typedef struct rlevel {
    DIR *d;
    char *name;            /* this directory's name in its parent */
} rlevel;

/* One pass over the tree open at top: remove what can be removed, move the
 * directories at depth REMOVE_STACK up into top. Returns how many entries
 * were removed or moved (progress); the first failure goes to err, *failed. */
static size_t remove_pass(int top, l4h_err *err, int *failed)
{
    static unsigned moved_seq;
    rlevel stack[REMOVE_STACK + 1];
    memset(stack, 0, sizeof stack);
    size_t progress = 0;
    int fd = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* not a dup: own offset */
    if (fd < 0 || !(stack[0].d = fdopendir(fd))) {
        if (fd >= 0)
            close(fd);
        if (!*failed)
            l4h_err_set(err, L4H_EXIT_INFRA, "cannot read a directory: %s", strerror(errno));
        *failed = 1;
        return 0;
    }
    int depth = 0;
    while (depth >= 0) {
        struct dirent *de = readdir(stack[depth].d);
        if (!de) {
            closedir(stack[depth].d);
            char *name = stack[depth].name;
            stack[depth].d = NULL;
            depth--;
            if (depth >= 0 && unlinkat(dirfd(stack[depth].d), name, AT_REMOVEDIR) == 0)
                progress++;
            else if (depth >= 0 && errno != ENOENT && errno != ENOTEMPTY && !*failed) {
                l4h_err_set(err, L4H_EXIT_INFRA, "cannot remove directory %s: %s", name, strerror(errno));
                *failed = 1;
            }
            free(name);
            continue;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        int dir = dirfd(stack[depth].d);
        struct stat st;
        if (fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            if (unlinkat(dir, de->d_name, 0) == 0)
                progress++;
            else if (errno != ENOENT && !*failed) {
                l4h_err_set(err, L4H_EXIT_INFRA, "cannot remove %s: %s", de->d_name, strerror(errno));
                *failed = 1;
            }
            continue;
        }
        (void)fchmodat(dir, de->d_name, 0700, 0); /* the writer may have made it 0500 */
        if (depth + 1 >= REMOVE_STACK) {
            char moved[64];
            snprintf(moved, sizeof moved, ".l4h-deep-%ld-%u", (long)getpid(), moved_seq++);
            if (renameat(dir, de->d_name, top, moved) == 0)
                progress++;
            else if (!*failed) {
                l4h_err_set(err, L4H_EXIT_INFRA, "cannot move up directory %s: %s", de->d_name, strerror(errno));
                *failed = 1;
            }
            continue;
        }
        int sub = openat(dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *sd = sub >= 0 ? fdopendir(sub) : NULL;
        if (!sd) {
            if (sub >= 0)
                close(sub);
            if (errno != ENOENT && !*failed) {
                l4h_err_set(err, L4H_EXIT_INFRA, "cannot open directory %s: %s", de->d_name, strerror(errno));
                *failed = 1;
            }
            continue;
        }
        depth++;
        stack[depth].d = sd;
        stack[depth].name = l4h_xstrdup(de->d_name);
    }
    return progress;
}

/* See core.h. */
int l4h_fs_remove(int dfd, const char *name, l4h_err *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot stat: %s", name, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
            return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot remove: %s", name, strerror(errno));
        return 0;
    }
    (void)fchmodat(dfd, name, 0700, 0);
    int top = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot open: %s", name, strerror(errno));
    l4h_err pass_err = {0, ""};
    int failed = 0;
    while (remove_pass(top, &pass_err, &failed) > 0) {
    }
    close(top);
    if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
        int e = errno;
        if (failed)
            return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot remove: %s", name, pass_err.msg);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot remove: %s", name, strerror(e));
    }
    return 0;
}
