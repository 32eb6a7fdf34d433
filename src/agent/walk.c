/* walk.c — the regular files under a directory, recursively, sorted by path. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_internal.h"

#define MAX_DEPTH 16

typedef struct walk {
    l4h_fentry *v;
    size_t n, cap, max;
    int truncated;
} walk;

static void walk_dir(walk *w, const char *root, const char *rel, int depth)
{
    char *dir = rel[0] ? l4h_path_join(root, rel) : l4h_xstrdup(root);
    DIR *d = opendir(dir);
    free(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *r = rel[0] ? l4h_path_join(rel, de->d_name) : l4h_xstrdup(de->d_name);
        char *full = l4h_path_join(root, r);
        struct stat st;
        int ok = stat(full, &st) == 0;
        free(full);
        if (ok && S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
            walk_dir(w, root, r, depth + 1);
        } else if (ok && S_ISREG(st.st_mode)) {
            if (w->max && w->n == w->max) {
                w->truncated = 1;
            } else {
                if (w->n == w->cap) {
                    w->cap = w->cap ? 2 * w->cap : 32;
                    w->v = l4h_xrealloc(w->v, w->cap * sizeof *w->v);
                }
                w->v[w->n++] = (l4h_fentry){.rel = r, .size = (long long)st.st_size};
                continue;
            }
        }
        free(r);
    }
    closedir(d);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const l4h_fentry *)a)->rel, ((const l4h_fentry *)b)->rel);
}

size_t l4h_list_files(const char *root, size_t max, l4h_fentry **out, int *truncated)
{
    walk w = {.max = max};
    walk_dir(&w, root, "", 0);
    if (w.n)
        qsort(w.v, w.n, sizeof *w.v, cmp_entry);
    *out = w.v;
    if (truncated)
        *truncated = w.truncated;
    return w.n;
}

void l4h_fentries_free(l4h_fentry *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].rel);
    free(v);
}
