/* ws_guard.c — before any check program opens a file of the workspace: the
 * workspace must hold only directories and regular files with one link. A
 * symbolic link (to the reference, /dev, anywhere), a FIFO (which blocks the
 * open), a socket, a device, or a hard link to a file the code did not write
 * fails every command check of the step, as the array and text checks refuse
 * such outputs. The code's processes are all gone when checks run, so the
 * tree cannot change under the walk. The walk is core's one workspace walker
 * (l4h_fs_walk: directory fds, links never followed), failing closed: a
 * directory it cannot open, one nested deeper than L4H_WS_MAX_DEPTH or too
 * many entries make the workspace unverifiable, hence refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_internal.h"

/* Entries walked at most (the sandbox stops code at 200 000). */
#define GUARD_MAX_ENTRIES 1000000

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

typedef struct guard {
    const l4h_workspace *ws;
    long entries;
    char *why;
    size_t why_len;
} guard;

/* Refuse an odd entry or a directory that cannot be opened; count entries.
 * 0 go on, -1 stop (g->why says why). */
static int visit(void *ctx, const l4h_fs_entry *e)
{
    guard *g = ctx;
    if (++g->entries > GUARD_MAX_ENTRIES) {
        snprintf(g->why, g->why_len, "it holds more than %d entries", GUARD_MAX_ENTRIES);
        return -1;
    }
    const char *kind = odd_kind(e->st, is_staged(g->ws, e->rel));
    if (kind) {
        snprintf(g->why, g->why_len, "%s is %s", e->rel, kind);
        return -1;
    }
    if (S_ISDIR(e->st->st_mode)) {
        /* the walker skips a directory it cannot open: here that fails */
        int fd = openat(e->dfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            snprintf(g->why, g->why_len, "%s cannot be opened (%s)", e->rel, strerror(errno));
            return -1;
        }
        close(fd);
    }
    return 0;
}

/* See check_internal.h. */
int check_workspace_plain(const l4h_workspace *ws, char *why, size_t why_len)
{
    int root = open(ws->host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root < 0) {
        snprintf(why, why_len, "the workspace cannot be opened (%s)", strerror(errno));
        return -1;
    }
    guard g = {.ws = ws, .why = why, .why_len = why_len};
    why[0] = '\0';
    l4h_err err;
    memset(&err, 0, sizeof err);
    int rc = l4h_fs_walk(root, L4H_WS_MAX_DEPTH, visit, &g, &err);
    close(root);
    if (rc == 0)
        return 0;
    if (!why[0]) /* the walker's own: the root unreadable, or nested too deep */
        snprintf(why, why_len, "it cannot be verified: %s", err.msg);
    return -1;
}
