/* wstree.c — walks of a workspace tree: disk use (for the workspace limit,
 * checked while code runs) and the list of files written (for the result).
 *
 * Both use the one iterative walker of core.h (l4h_fs_walk): every level is
 * seen down to L4H_WS_MAX_DEPTH, links are never followed, entries that
 * vanish while we look are skipped. Deeper directories are themselves the
 * workspace limit: the supervisor stops the code, and the listing after the
 * run removes them, so every run starts with a tree counted to the bottom. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_internal.h"

typedef struct usage_ctx {
    int64_t bytes, entries;
} usage_ctx;

/* Count one entry at max(apparent size, allocated blocks). Can't fail. */
static int add_usage(void *ctx, const l4h_fs_entry *e)
{
    usage_ctx *u = ctx;
    int64_t blocks = (int64_t)e->st->st_blocks * 512;
    int64_t size = S_ISREG(e->st->st_mode) ? (int64_t)e->st->st_size : 0;
    u->bytes += size > blocks ? size : blocks;
    u->entries++;
    return 0;
}

/* Disk use and entry count of the tree (see exec_internal.h). */
int exec_tree_usage(const char *dir, int64_t *bytes, int64_t *entries)
{
    usage_ctx u = {0, 0};
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        rc = l4h_fs_walk(fd, L4H_WS_MAX_DEPTH, add_usage, &u, NULL) == 1;
        close(fd);
    }
    *bytes = u.bytes;
    *entries = u.entries;
    return rc;
}

typedef struct list_ctx {
    l4h_file_entry *v;
    size_t n, cap;
    int pruned;
} list_ctx;

/* List a regular file; skip HOME; remove a directory at the depth limit.
 * Can't fail. */
static int add_file(void *ctx, const l4h_fs_entry *e)
{
    list_ctx *l = ctx;
    if (e->depth == 1 && !strcmp(e->name, L4H_WS_HOME))
        return 1;
    if (S_ISDIR(e->st->st_mode) && e->depth >= L4H_WS_MAX_DEPTH) {
        if (l4h_fs_remove(e->dfd, e->name, NULL) == 0)
            l->pruned = 1;
        return 1;
    }
    if (!S_ISREG(e->st->st_mode))
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = l4h_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].path = l4h_xstrdup(e->rel);
    l->v[l->n].size = (int64_t)e->st->st_size;
    l->n++;
    return 0;
}

/* qsort order of file entries: by path. */
static int by_path(const void *a, const void *b)
{
    return strcmp(((const l4h_file_entry *)a)->path, ((const l4h_file_entry *)b)->path);
}

/* Regular files under dir, sorted (see exec_internal.h). */
void exec_list_files(const char *dir, l4h_file_entry **files, size_t *n, int *pruned)
{
    list_ctx l = {NULL, 0, 0, 0};
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        (void)l4h_fs_walk(fd, L4H_WS_MAX_DEPTH, add_file, &l, NULL);
        close(fd);
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, by_path);
    *files = l.v;
    *n = l.n;
    if (pruned)
        *pruned = l.pruned;
}

/* Free a file list. */
void exec_files_free(l4h_file_entry *files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i].path);
    free(files);
}
