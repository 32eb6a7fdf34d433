/* check_array.c — compare a candidate .npy with the reference, streaming
 * both files in chunks of whole rows, and write a report a person can act on.
 * Memory is bounded whatever the size: two chunk buffers of 1 MB (up to
 * 16 MB each for very wide rows), the readers' 4 MB scratch, and per-column
 * counters for up to 2^18 columns (12 MB) — under 64 MB in all. The report:
 *
 *   FAIL arrays/x.npy: 1234 of 4600000 values (0.027%) differ beyond 4 significant digits ...
 *   columns with mismatches (last axis): one line per column
 *   worst row N: candidate and reference side by side, mismatches marked
 *   data quality: ... (NaN- or zero-filled output where the reference has numbers)
 *
 * "Rows" and "columns" are the flat C index divided by / modulo the last
 * axis; a 1-D array is a column of rows. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_internal.h"

#define CHUNK_ELEMS ((size_t)1 << 17)   /* 1 MB of doubles per file: read and compared while in cache */
#define CHUNK_MAX_ELEMS ((size_t)1 << 21) /* wide rows: up to 16 MB per file */
#define CHUNK_MIN_ROWS 512               /* long column blocks when a file is in Fortran order */
#define MAX_TRACKED_COLS ((uint64_t)1 << 18) /* 48 bytes each */
#define MAX_LISTED_COLS 20
#define ROW_WINDOW 48                   /* full row when the last axis is this short */

typedef struct col_stats {
    uint64_t bad;        /* mismatches */
    uint64_t first_row;  /* first mismatching row */
    double max_rel;      /* largest relative difference among them */
    uint64_t cand_nan;   /* candidate NaN where the reference has a number */
    uint64_t ref_nan;    /* reference NaN where the candidate has a number */
    uint64_t cand_zero;  /* candidate exactly 0 where the reference is not within tolerance */
} col_stats;

typedef struct cmp_ctx {
    l4h_tol tol;
    const l4h_npy *cand, *ref;
    int storage_fortran;      /* chunks are in Fortran storage order */
    uint64_t L, rows;         /* last-axis length, count / L */
    uint64_t fstride[32], cstride[32];
    col_stats *cols;          /* L entries, or NULL when L > MAX_TRACKED_COLS */
    col_stats total;
    double max_rel;           /* over every comparable pair */
    uint64_t worst_idx;       /* C flat index of the worst mismatch */
    double worst_score;
    int have_worst;
} cmp_ctx;

void check_set_report(l4h_check_rec *rec, char *text)
{
    free(rec->report);
    rec->report = text;
}

void check_begin(l4h_check_rec *rec, const char *type, const char *label)
{
    if (!rec->check) {
        l4h_buf b = {0};
        l4h_buf_printf(&b, "%s:%s", type, label);
        rec->check = l4h_buf_take(&b);
    }
    rec->passed = 0;
    rec->n_bad = -1;
    rec->max_rel_diff = NAN;
}

/* C flat index of storage index i. */
static uint64_t c_index(const cmp_ctx *x, uint64_t i)
{
    if (!x->storage_fortran)
        return i;
    const l4h_npy *n = x->cand;
    uint64_t ci = 0;
    for (int k = 0; k < n->ndim; k++)
        ci += (i / x->fstride[k]) % n->shape[k] * x->cstride[k];
    return ci;
}

/* A pair that failed the tolerance: count it per column and keep the worst. */
static void record_bad(cmp_ctx *x, uint64_t storage_idx, double c, double r)
{
    uint64_t ci = c_index(x, storage_idx);
    uint64_t col = ci % x->L, row = ci / x->L;
    double ar = fabs(r), den = ar > x->tol.zero_floor ? ar : x->tol.zero_floor;
    double diff = fabs(c - r);
    double rel = isnan(diff) ? INFINITY : den > 0 ? diff / den : INFINITY;
    col_stats *cs[2] = {&x->total, x->cols ? &x->cols[col] : NULL};
    for (int k = 0; k < 2; k++) {
        col_stats *s = cs[k];
        if (!s)
            continue;
        if (s->bad == 0 || row < s->first_row)
            s->first_row = row;
        s->bad++;
        if (rel > s->max_rel)
            s->max_rel = rel;
        if (isnan(c) && !isnan(r))
            s->cand_nan++;
        else if (isnan(r) && !isnan(c))
            s->ref_nan++;
        else if (c == 0 && !isnan(r))
            s->cand_zero++;
    }
    if (!x->have_worst || rel > x->worst_score) {
        x->have_worst = 1;
        x->worst_score = rel;
        x->worst_idx = ci;
    }
}

/* The hot loop: most pairs are accepted by one table load on the
 * reference's binary exponent; the rest take the exact rule. */
static void compare_chunk(cmp_ctx *x, const double *c, const double *r, size_t m, uint64_t base)
{
    const double *fast = x->tol.fast;
    double zf = x->tol.zero_floor, max_rel = x->max_rel;
    for (size_t i = 0; i < m; i++) {
        double ci = c[i], ri = r[i];
        double diff = fabs(ci - ri), ar = fabs(ri);
        double den = ar > zf ? ar : zf;
        if (diff > max_rel * den)
            max_rel = den > 0 ? diff / den : INFINITY; /* NaN diff never gets here */
        uint64_t bits;
        memcpy(&bits, &ri, sizeof bits);
        if (diff <= fast[(bits >> 52) & 0x7ff])
            continue;
        if (!check_tol_match(&x->tol, ci, ri))
            record_bad(x, base + i, ci, ri);
    }
    x->max_rel = max_rel;
}

static void fmt_value(char *out, size_t cap, double v)
{
    if (isnan(v))
        snprintf(out, cap, "nan");
    else
        snprintf(out, cap, "%.10g", v);
}

/* "rows 3 and 5 differ" style helpers for the column listing */
static void describe_col(l4h_buf *b, const col_stats *s, uint64_t rows)
{
    l4h_buf_printf(b, "%llu of %llu rows differ, first at row %llu, max rel diff %.3g",
                   (unsigned long long)s->bad, (unsigned long long)rows,
                   (unsigned long long)s->first_row, s->max_rel);
    if (s->cand_nan)
        l4h_buf_printf(b, "; candidate NaN in %llu", (unsigned long long)s->cand_nan);
    if (s->ref_nan)
        l4h_buf_printf(b, "; reference NaN in %llu", (unsigned long long)s->ref_nan);
    if (s->cand_zero)
        l4h_buf_printf(b, "; candidate 0 in %llu", (unsigned long long)s->cand_zero);
}

/* Re-read the worst row (or a window of it) from both files and print it
 * side by side. */
static void report_worst(l4h_buf *b, cmp_ctx *x, l4h_npy *cand, l4h_npy *ref, int ndim)
{
    uint64_t row = x->worst_idx / x->L, col = x->worst_idx % x->L;
    uint64_t c0, c1;
    if (ndim < 2) {
        /* a 1-D array: the worst element and three neighbours on each side */
        c0 = x->worst_idx >= 3 ? x->worst_idx - 3 : 0;
        c1 = x->worst_idx + 4 < cand->count ? x->worst_idx + 4 : cand->count;
        l4h_buf_printf(b, "worst element: index %llu\n", (unsigned long long)x->worst_idx);
        l4h_buf_printf(b, "  %-10s %-20s %s\n", "index", "candidate", "reference");
    } else {
        if (x->L <= ROW_WINDOW) {
            c0 = 0;
            c1 = x->L;
        } else {
            c0 = col >= ROW_WINDOW / 2 ? col - ROW_WINDOW / 2 : 0;
            c1 = c0 + ROW_WINDOW < x->L ? c0 + ROW_WINDOW : x->L;
        }
        c0 += row * x->L;
        c1 += row * x->L;
        l4h_buf_printf(b, "worst row %llu (column %llu)%s:\n", (unsigned long long)row,
                       (unsigned long long)col, x->L > ROW_WINDOW ? ", the columns around it" : "");
        l4h_buf_printf(b, "  %-10s %-20s %s\n", "column", "candidate", "reference");
    }
    size_t n = (size_t)(c1 - c0);
    double *cv = l4h_xmalloc(n * sizeof *cv), *rv = l4h_xmalloc(n * sizeof *rv);
    l4h_err err = {0};
    if (l4h_npy_read(cand, c0, cv, n, &err) != (int64_t)n || l4h_npy_read(ref, c0, rv, n, &err) != (int64_t)n) {
        l4h_buf_printf(b, "  (could not re-read the row: %s)\n", err.msg);
    } else {
        /* Long rows: only the differing columns and their neighbours, "..." between. */
        unsigned char *show = l4h_xcalloc(n, 1);
        for (size_t i = 0; i < n; i++) {
            if (n <= 12 || !check_tol_match(&x->tol, cv[i], rv[i])) {
                show[i] = 1;
                if (i > 0)
                    show[i - 1] = 1;
                if (i + 1 < n)
                    show[i + 1] = 1;
            }
        }
        int skipped = 0;
        for (size_t i = 0; i < n; i++) {
            if (!show[i]) {
                if (!skipped)
                    l4h_buf_puts(b, "  ...\n");
                skipped = 1;
                continue;
            }
            skipped = 0;
            char cs[32], rs[32];
            fmt_value(cs, sizeof cs, cv[i]);
            fmt_value(rs, sizeof rs, rv[i]);
            uint64_t label = ndim < 2 ? c0 + i : (c0 + i) % x->L;
            int ok = check_tol_match(&x->tol, cv[i], rv[i]);
            if (ok)
                l4h_buf_printf(b, "  %-10llu %-20s %s\n", (unsigned long long)label, cs, rs);
            else
                l4h_buf_printf(b, "  %-10llu %-20s %-20s <-- differs\n", (unsigned long long)label, cs, rs);
        }
        free(show);
    }
    free(cv);
    free(rv);
}

/* Flag outputs that are NaN- or zero-filled where the reference has numbers
 * (what the classifier calls data_quality). */
static void report_quality(l4h_buf *b, const cmp_ctx *x, int ndim)
{
    if (ndim < 2 || !x->cols) {
        uint64_t n = x->rows * x->L;
        if (x->total.cand_nan > 0 && x->total.cand_nan * 2 >= n)
            l4h_buf_printf(b, "data quality: the candidate is NaN in %llu of %llu values where the "
                              "reference has numbers\n", (unsigned long long)x->total.cand_nan,
                           (unsigned long long)n);
        if (x->total.cand_zero > 0 && x->total.cand_zero * 2 >= n)
            l4h_buf_printf(b, "data quality: the candidate is 0 in %llu of %llu values where the "
                              "reference is not\n", (unsigned long long)x->total.cand_zero,
                           (unsigned long long)n);
        return;
    }
    for (int kind = 0; kind < 2; kind++) {
        uint64_t listed = 0, flagged = 0;
        l4h_buf cols = {0};
        for (uint64_t j = 0; j < x->L; j++) {
            uint64_t v = kind == 0 ? x->cols[j].cand_nan : x->cols[j].cand_zero;
            if (v == 0 || v * 2 < x->rows)
                continue;
            flagged++;
            if (listed++ < 12)
                l4h_buf_printf(&cols, "%s%llu (%llu of %llu rows)", listed > 1 ? ", " : "",
                               (unsigned long long)j, (unsigned long long)v,
                               (unsigned long long)x->rows);
        }
        if (flagged)
            l4h_buf_printf(b, "data quality: the candidate is %s where the reference %s in column%s %s%s\n",
                           kind == 0 ? "NaN" : "0", kind == 0 ? "has numbers" : "is not",
                           flagged > 1 ? "s" : "", cols.data, flagged > 12 ? ", ..." : "");
        l4h_buf_free(&cols);
    }
}

static void compare_files(cmp_ctx *x, l4h_npy *cand, l4h_npy *ref, const char *label,
                          l4h_check_rec *rec)
{
    l4h_buf b = {0};
    uint64_t count = ref->count;
    int ndim = ref->ndim;
    x->L = ndim >= 2 ? ref->shape[ndim - 1] : 1;
    if (x->L == 0)
        x->L = 1;
    x->rows = count / x->L;
    x->storage_fortran = cand->fortran_order && ref->fortran_order && ndim >= 2;
    if (x->storage_fortran) {
        uint64_t fs = 1, cs = 1;
        for (int k = 0; k < ndim; k++) {
            x->fstride[k] = fs;
            fs *= ref->shape[k];
        }
        for (int k = ndim - 1; k >= 0; k--) {
            x->cstride[k] = cs;
            cs *= ref->shape[k];
        }
    }
    if (ndim >= 2 && x->L <= MAX_TRACKED_COLS)
        x->cols = l4h_xcalloc((size_t)x->L, sizeof *x->cols);
    size_t chunk = CHUNK_ELEMS;
    if (ndim >= 2 && x->L * CHUNK_MIN_ROWS > chunk)
        chunk = x->L * CHUNK_MIN_ROWS < CHUNK_MAX_ELEMS ? (size_t)(x->L * CHUNK_MIN_ROWS) : CHUNK_MAX_ELEMS;
    if (!x->storage_fortran && ndim >= 2 && x->L <= chunk)
        chunk = chunk / x->L * x->L; /* whole rows: column blocks of Fortran files stay long */
    double *cb = l4h_xmalloc(chunk * sizeof *cb), *rb = l4h_xmalloc(chunk * sizeof *rb);
    int64_t (*rd)(l4h_npy *, uint64_t, double *, size_t, l4h_err *) =
        x->storage_fortran ? check_npy_read_storage : l4h_npy_read;
    l4h_err err = {0};
    int io_failed = 0;
    for (uint64_t first = 0; first < count; first += chunk) {
        size_t m = count - first < chunk ? (size_t)(count - first) : chunk;
        if (rd(cand, first, cb, m, &err) != (int64_t)m) {
            l4h_buf_printf(&b, "FAIL %s: reading the candidate failed at value %llu: %s\n", label,
                           (unsigned long long)first, err.msg);
            io_failed = 1;
            break;
        }
        if (rd(ref, first, rb, m, &err) != (int64_t)m) {
            l4h_buf_printf(&b, "FAIL %s: reading the reference failed at value %llu: %s\n", label,
                           (unsigned long long)first, err.msg);
            io_failed = 1;
            break;
        }
        compare_chunk(x, cb, rb, m, first);
    }
    free(cb);
    free(rb);
    rec->n_bad = io_failed ? -1 : (int64_t)x->total.bad;
    rec->max_rel_diff = count ? x->max_rel : NAN;
    rec->passed = !io_failed && x->total.bad == 0;
    if (io_failed) {
        check_set_report(rec, l4h_buf_take(&b));
        free(x->cols);
        return;
    }
    char shape[128];
    check_npy_shape_string(ref, shape, sizeof shape);
    if (rec->passed) {
        l4h_buf_printf(&b, "PASS %s: all %llu values of shape %s agree to %d significant digits "
                           "(zero_floor %g); max rel diff %.3g\n", label, (unsigned long long)count,
                       shape, x->tol.sig_digits, x->tol.zero_floor, count ? x->max_rel : 0.0);
    } else {
        uint64_t bad_cols = 0;
        if (x->cols)
            for (uint64_t j = 0; j < x->L; j++)
                bad_cols += x->cols[j].bad > 0;
        l4h_buf_printf(&b, "FAIL %s: %llu of %llu values (%.3g%%) differ beyond %d significant digits "
                           "(zero_floor %g)", label, (unsigned long long)x->total.bad,
                       (unsigned long long)count, 100.0 * (double)x->total.bad / (double)count,
                       x->tol.sig_digits, x->tol.zero_floor);
        if (x->cols)
            l4h_buf_printf(&b, " in %llu of %llu columns", (unsigned long long)bad_cols,
                           (unsigned long long)x->L);
        l4h_buf_printf(&b, "; max rel diff %.3g\n", x->max_rel);
        report_quality(&b, x, ndim);
        if (x->cols) {
            l4h_buf_printf(&b, "columns with mismatches (last axis of shape %s):\n", shape);
            uint64_t listed = 0;
            for (uint64_t j = 0; j < x->L; j++) {
                if (!x->cols[j].bad)
                    continue;
                if (listed++ == MAX_LISTED_COLS) {
                    l4h_buf_printf(&b, "  ... and %llu more columns\n",
                                   (unsigned long long)(bad_cols - MAX_LISTED_COLS));
                    break;
                }
                l4h_buf_printf(&b, "  column %llu: ", (unsigned long long)j);
                describe_col(&b, &x->cols[j], x->rows);
                l4h_buf_puts(&b, "\n");
            }
        } else {
            l4h_buf_puts(&b, "mismatches: ");
            describe_col(&b, &x->total, x->rows);
            l4h_buf_puts(&b, "\n");
        }
        report_worst(&b, x, cand, ref, ndim);
    }
    free(x->cols);
    check_set_report(rec, l4h_buf_take(&b));
}

/* A failure before any value was compared. */
static void fail_early(l4h_check_rec *rec, char *report)
{
    rec->passed = 0;
    rec->n_bad = -1;
    rec->max_rel_diff = NAN;
    check_set_report(rec, report);
}

int check_array_labeled(const char *cand_path, const char *ref_path, const char *label,
                            int sig_digits, double zero_floor, l4h_check_rec *rec)
{
    l4h_npy cand = {0}, ref = {0};
    l4h_err err = {0};
    l4h_buf b = {0};
    check_begin(rec, "array", label);
    if (l4h_npy_open(ref_path, &ref, &err) < 0) {
        l4h_buf_printf(&b, "FAIL %s: the reference cannot be read (run `llm4hep reference`?): %s\n",
                       label, err.msg);
        fail_early(rec, l4h_buf_take(&b));
        return 0;
    }
    if (l4h_npy_open(cand_path, &cand, &err) < 0) {
        if (access(cand_path, F_OK) != 0 && errno == ENOENT)
            l4h_buf_printf(&b, "FAIL %s: the output was not written (no such file)\n", label);
        else
            l4h_buf_printf(&b, "FAIL %s: the candidate is not a readable numeric .npy: %s\n", label,
                           err.msg);
        l4h_npy_close(&ref);
        fail_early(rec, l4h_buf_take(&b));
        return 0;
    }
    char cs[128], rs[128];
    check_npy_shape_string(&cand, cs, sizeof cs);
    check_npy_shape_string(&ref, rs, sizeof rs);
    const char *ccls = check_npy_class_name(cand.cls), *rcls = check_npy_class_name(ref.cls);
    int same_shape = cand.ndim == ref.ndim &&
                     !memcmp(cand.shape, ref.shape, sizeof(uint64_t) * (size_t)ref.ndim);
    if (!same_shape) {
        l4h_buf_printf(&b, "FAIL %s: shape mismatch: candidate %s, reference %s", label, cs, rs);
        if (cand.count == ref.count && cand.ndim == ref.ndim)
            l4h_buf_puts(&b, " (same number of values: transposed or reshaped?)");
        else if (cand.ndim == 2 && ref.ndim == 2 && cand.shape[0] == ref.shape[0])
            l4h_buf_printf(&b, " (%lld column%s %s)",
                           (long long)llabs((long long)cand.shape[1] - (long long)ref.shape[1]),
                           llabs((long long)cand.shape[1] - (long long)ref.shape[1]) == 1 ? "" : "s",
                           cand.shape[1] < ref.shape[1] ? "missing" : "too many");
        else if (cand.ndim == ref.ndim && cand.ndim >= 1 && cand.shape[0] != ref.shape[0])
            l4h_buf_printf(&b, " (%llu rows instead of %llu: a selection or a file differs?)",
                           (unsigned long long)cand.shape[0], (unsigned long long)ref.shape[0]);
        l4h_buf_puts(&b, "\n");
        fail_early(rec, l4h_buf_take(&b));
    } else if (strcmp(ccls, rcls) != 0) {
        l4h_buf_printf(&b, "FAIL %s: dtype class mismatch: candidate %s (%s), reference %s (%s)\n",
                       label, ccls, cand.descr, rcls, ref.descr);
        fail_early(rec, l4h_buf_take(&b));
    } else {
        cmp_ctx *x = l4h_xcalloc(1, sizeof *x);
        check_tol_init(&x->tol, sig_digits, zero_floor);
        x->cand = &cand;
        x->ref = &ref;
        compare_files(x, &cand, &ref, label, rec);
        free(x);
    }
    l4h_npy_close(&cand);
    l4h_npy_close(&ref);
    return 0;
}

int l4h_check_array(const char *cand_path, const char *ref_path, int sig_digits,
                    double zero_floor, l4h_check_rec *rec)
{
    return check_array_labeled(cand_path, ref_path, cand_path, sig_digits, zero_floor, rec);
}
