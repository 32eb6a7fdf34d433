/* walk.c — the regular files under a directory (the suite's data and
 * reference dirs), sorted by path, through the one iterative walker of
 * core.h (l4h_fs_walk, as the workspace scans use): no recursion, names
 * resolved beneath the root's fd. A link to a file is listed with its
 * target's size (data dirs often link big ntuples); a link to a directory is
 * not descended. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"

#define MAX_DEPTH 16

typedef struct walk {
    l4h_fentry *v;
    size_t n, cap, max;
    int truncated;
} walk;

/* List a regular file (or a link to one); skip dot names. Can't fail. */
static int visit(void *ctx, const l4h_fs_entry *e)
{
    walk *w = ctx;
    if (e->name[0] == '.')
        return 1;
    struct stat st = *e->st;
    if (S_ISLNK(st.st_mode) && fstatat(e->dfd, e->name, &st, 0) != 0)
        return 0; /* dangling */
    if (!S_ISREG(st.st_mode))
        return 0;
    if (w->max && w->n == w->max) {
        w->truncated = 1;
        return 0;
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 32;
        w->v = l4h_xrealloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->n++] = (l4h_fentry){.rel = l4h_xstrdup(e->rel), .size = (long long)st.st_size};
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const l4h_fentry *)a)->rel, ((const l4h_fentry *)b)->rel);
}

/* See agent_internal.h. */
size_t agent_list_files(const char *root, size_t max, l4h_fentry **out, int *truncated)
{
    walk w = {.max = max};
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)l4h_fs_walk(fd, MAX_DEPTH, visit, &w, NULL);
        close(fd);
    }
    if (w.n)
        qsort(w.v, w.n, sizeof *w.v, cmp_entry);
    *out = w.v;
    if (truncated)
        *truncated = w.truncated;
    return w.n;
}

void agent_fentries_free(l4h_fentry *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].rel);
    free(v);
}
