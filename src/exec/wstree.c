/* wstree.c — walks of a workspace tree: disk use (for the workspace limit,
 * checked while code runs) and the list of files written (for the result).
 *
 * Walks never follow symbolic links (the code may plant links to anywhere)
 * and skip entries that vanish while we look. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_internal.h"

/* Depth bound: deeper trees are not descended (counted as one entry). */
#define MAX_DEPTH 64

typedef void (*visit_fn)(void *ctx, const char *rel, const struct stat *st);

/* Walk the directory open at dfd (consumed), calling fn for every entry
 * with its path relative to the root. */
static void walk(int dfd, const char *prefix, int depth, visit_fn fn, void *ctx)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        char *rel = prefix[0] ? l4h_path_join(prefix, de->d_name) : l4h_xstrdup(de->d_name);
        fn(ctx, rel, &st);
        if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
            int sub = openat(dirfd(d), de->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                walk(sub, rel, depth + 1, fn, ctx);
        }
        free(rel);
    }
    closedir(d);
}

static void walk_root(const char *dir, visit_fn fn, void *ctx)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        walk(fd, "", 0, fn, ctx);
}

typedef struct usage_ctx {
    int64_t bytes, entries;
} usage_ctx;

static void add_usage(void *ctx, const char *rel, const struct stat *st)
{
    usage_ctx *u = ctx;
    (void)rel;
    u->bytes += (int64_t)st->st_blocks * 512;
    u->entries++;
}

/* Disk use and entry count of the tree (see exec_internal.h). */
void l4h__tree_usage(const char *dir, int64_t *bytes, int64_t *entries)
{
    usage_ctx u = {0, 0};
    walk_root(dir, add_usage, &u);
    *bytes = u.bytes;
    *entries = u.entries;
}

typedef struct list_ctx {
    l4h_file_entry *v;
    size_t n, cap;
} list_ctx;

static void add_file(void *ctx, const char *rel, const struct stat *st)
{
    list_ctx *l = ctx;
    size_t hl = strlen(L4H_WS_HOME);
    if (!S_ISREG(st->st_mode) ||
        (strncmp(rel, L4H_WS_HOME, hl) == 0 && (rel[hl] == '/' || rel[hl] == '\0')))
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = l4h_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].path = l4h_xstrdup(rel);
    l->v[l->n].size = (int64_t)st->st_size;
    l->n++;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const l4h_file_entry *)a)->path, ((const l4h_file_entry *)b)->path);
}

/* Regular files under dir, sorted (see exec_internal.h). */
void l4h__list_files(const char *dir, l4h_file_entry **files, size_t *n)
{
    list_ctx l = {NULL, 0, 0};
    walk_root(dir, add_file, &l);
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, by_path);
    *files = l.v;
    *n = l.n;
}

/* Free a file list. */
void l4h__files_free(l4h_file_entry *files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i].path);
    free(files);
}
