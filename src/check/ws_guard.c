/* ws_guard.c — before any check program opens a file of the workspace: the
 * workspace must hold only directories and regular files with one link. A
 * symbolic link (to the reference, /dev, anywhere), a FIFO (which blocks the
 * open), a socket, a device, or a hard link to a file the code did not write
 * fails every command check of the step, as the array and text checks refuse
 * such outputs. The code's processes are all gone when checks run, so the
 * tree cannot change under the walk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_internal.h"

/* Entries walked at most (the sandbox stops code at 200 000). */
#define GUARD_MAX_ENTRIES 1000000

/* A stack of relative directory paths still to walk. */
typedef struct dir_stack {
    char **v;
    size_t n, cap;
} dir_stack;

static void push(dir_stack *s, const char *rel)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = l4h_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = l4h_xstrdup(rel);
}

/* The last pushed path (caller frees), NULL when empty. */
static char *pop(dir_stack *s)
{
    return s->n ? s->v[--s->n] : NULL;
}

static void stack_free(dir_stack *s)
{
    while (s->n)
        free(s->v[--s->n]);
    free(s->v);
}

/* Is rel one of the staged inputs (the harness's copies, which may share
 * their inode with the reference)? */
static int is_staged(const l4h_workspace *ws, const char *rel)
{
    for (size_t i = 0; i < ws->n_staged; i++)
        if (strcmp(ws->staged[i], rel) == 0)
            return 1;
    return 0;
}

/* What st is, for a message ("a symbolic link", ...), or NULL when it is a
 * directory or a plain regular file. */
static const char *odd_kind(const struct stat *st, int staged)
{
    if (S_ISDIR(st->st_mode))
        return NULL;
    if (S_ISLNK(st->st_mode))
        return "a symbolic link";
    if (S_ISFIFO(st->st_mode))
        return "a FIFO";
    if (S_ISSOCK(st->st_mode))
        return "a socket";
    if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
        return "a device";
    if (!S_ISREG(st->st_mode))
        return "not a regular file";
    if (st->st_nlink > 1 && !staged)
        return "a hard link (a file with another name elsewhere)";
    return NULL;
}

/* See check_internal.h. */
int l4h_check_workspace_plain(const l4h_workspace *ws, char *why, size_t why_len)
{
    int root = open(ws->host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root < 0) {
        snprintf(why, why_len, "the workspace cannot be opened (%s)", strerror(errno));
        return -1;
    }
    dir_stack todo = {0};
    push(&todo, "");
    long entries = 0;
    int rc = 0;
    char *dir;
    while (rc == 0 && (dir = pop(&todo))) {
        int fd = dir[0] ? openat(root, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        : dup(root);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
            snprintf(why, why_len, "%s cannot be opened (%s)", dir[0] ? dir : ".", strerror(errno));
            if (fd >= 0)
                close(fd);
            free(dir);
            rc = -1;
            break;
        }
        struct dirent *de;
        while (rc == 0 && (de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char rel[PATH_MAX];
            int n = snprintf(rel, sizeof rel, "%s%s%s", dir, dir[0] ? "/" : "", de->d_name);
            struct stat st;
            if (n < 0 || (size_t)n >= sizeof rel - 256) {
                snprintf(why, why_len, "it is nested too deep to be verified (a path longer "
                                       "than %d bytes)", (int)sizeof rel - 256);
                rc = -1;
            } else if (++entries > GUARD_MAX_ENTRIES) {
                snprintf(why, why_len, "it holds more than %d entries", GUARD_MAX_ENTRIES);
                rc = -1;
            } else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                snprintf(why, why_len, "%s cannot be examined (%s)", rel, strerror(errno));
                rc = -1;
            } else {
                const char *kind = odd_kind(&st, is_staged(ws, rel));
                if (kind) {
                    snprintf(why, why_len, "%s is %s", rel, kind);
                    rc = -1;
                } else if (S_ISDIR(st.st_mode)) {
                    push(&todo, rel);
                }
            }
        }
        closedir(d);
        free(dir);
    }
    stack_free(&todo);
    close(root);
    return rc;
}
