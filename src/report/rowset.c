/* rowset.c — the final rows of one or more results files, merged (campaigns
 * split over jobs or sites), and small shared helpers. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_internal.h"

#define LOCK_WAIT_S 10.0

/* 1 when err says HDF5 found the file locked (a checkpoint is writing it). */
static int locked(const l4h_err *err)
{
    return strstr(err->msg, "unable to lock file") != NULL;
}

static void nap(void)
{
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
}

/* The store's reader waits while it sees a checkpoint's lock, but a
 * checkpoint that ends between its open and its look at the lock still
 * fails the open; retrying here until LOCK_WAIT_S closes that gap. */
int report_results_open_wait(const char *path, l4h_results **out, l4h_err *err)
{
    double until = l4h_monotonic() + LOCK_WAIT_S;
    int rc;
    while ((rc = l4h_results_open(path, out, err)) != 0 && err && locked(err) &&
           l4h_monotonic() < until)
        nap();
    return rc;
}

int report_results_task_wait(const l4h_results *res, int64_t task_id, l4h_task_rec *out, l4h_err *err)
{
    double until = l4h_monotonic() + LOCK_WAIT_S;
    int rc;
    while ((rc = l4h_results_task(res, task_id, out, err)) != 0 && err && locked(err) &&
           l4h_monotonic() < until)
        nap();
    return rc;
}

size_t report_intern(char ***v, size_t *n, const char *s)
{
    for (size_t i = *n; i-- > 0;)
        if (strcmp((*v)[i], s) == 0)
            return i;
    *v = l4h_xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[*n] = l4h_xstrdup(s);
    return (*n)++;
}

/* FNV-1a of a task key (campaign is part of the key's hash already). */
static uint64_t key_hash(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

int report_rowset_open(rowset *rs, char *const *paths, size_t n, l4h_err *err)
{
    memset(rs, 0, sizeof *rs);
    rs->files = l4h_xcalloc(n ? n : 1, sizeof *rs->files);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (report_results_open_wait(paths[i], &rs->files[i], err) != 0) {
            report_rowset_free(rs);
            return -1;
        }
        rs->n_files++;
        total += rs->files[i]->n_tasks;
    }
    rs->rows = l4h_xcalloc(total ? total : 1, sizeof *rs->rows);
    rs->row_file = l4h_xcalloc(total ? total : 1, sizeof *rs->row_file);
    /* open-addressing set of keys already taken (only needed across files) */
    size_t cap = 16;
    while (cap < 2 * total)
        cap *= 2;
    const l4h_task_rec **seen = n > 1 ? l4h_xcalloc(cap, sizeof *seen) : NULL;
    for (size_t f = 0; f < n; f++) {
        const l4h_results *r = rs->files[f];
        rs->n_attempts += r->n_tasks;
        for (size_t i = 0; i < r->n_tasks; i++) {
            const l4h_task_rec *t = &r->tasks[i];
            if (!t->final)
                continue;
            if (seen) {
                size_t h = (size_t)key_hash(t->key) & (cap - 1);
                int dup = 0;
                while (seen[h]) {
                    if (strcmp(seen[h]->key, t->key) == 0 &&
                        strcmp(seen[h]->campaign, t->campaign) == 0) {
                        dup = 1;
                        break;
                    }
                    h = (h + 1) & (cap - 1);
                }
                if (dup) {
                    rs->n_duplicates++;
                    continue;
                }
                seen[h] = t;
            }
            rs->rows[rs->n_rows] = t;
            rs->row_file[rs->n_rows++] = f;
        }
    }
    free(seen);
    if (rs->n_duplicates)
        fprintf(stderr,
                "llm4hep: %zu task(s) are final in more than one file; each counts once, "
                "from the first file listed\n", rs->n_duplicates);
    return 0;
}

void report_rowset_free(rowset *rs)
{
    for (size_t i = 0; i < rs->n_files; i++)
        l4h_results_free(rs->files[i]);
    free(rs->files);
    free(rs->rows);
    free(rs->row_file);
    memset(rs, 0, sizeof *rs);
}

void report_json_str(l4h_buf *b, const char *s)
{
    l4h_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': l4h_buf_puts(b, "\\\""); break;
        case '\\': l4h_buf_puts(b, "\\\\"); break;
        case '\n': l4h_buf_puts(b, "\\n"); break;
        case '\r': l4h_buf_puts(b, "\\r"); break;
        case '\t': l4h_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                l4h_buf_printf(b, "\\u%04x", *p);
            else
                l4h_buf_add(b, p, 1);
        }
    }
    l4h_buf_puts(b, "\"");
}

void report_json_num(l4h_buf *b, double x)
{
    if (!isfinite(x))
        l4h_buf_puts(b, "null");
    else
        l4h_buf_printf(b, "%.17g", x);
}

void report_model_label(const char *supervisor, const char *coder, char *out, size_t n)
{
    if (strcmp(supervisor, coder) == 0)
        snprintf(out, n, "%s", supervisor);
    else
        snprintf(out, n, "%s+%s", supervisor, coder);
}
