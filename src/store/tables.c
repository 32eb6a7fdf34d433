/* tables.c — the six compound tables of the results file: column
 * descriptors (docs/results-format.md) and create / append / read / update
 * helpers. File types are packed little-endian; strings are NUL-padded. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define C_I64(T, f) {#f, COL_I64, 8, offsetof(T, f)}
#define C_I32(T, f) {#f, COL_I32, 4, offsetof(T, f)}
#define C_I8(T, f) {#f, COL_I8, 1, offsetof(T, f)}
#define C_F64(T, f) {#f, COL_F64, 8, offsetof(T, f)}
#define C_STR(T, f) {#f, COL_STR, sizeof(((T *)0)->f), offsetof(T, f)}
#define NCOL(a) (sizeof a / sizeof a[0])

static const col_desc run_cols[] = {
    C_I32(run_row, run), C_F64(run_row, started_utc), C_F64(run_row, ended_utc),
    C_I32(run_row, exit_code), C_STR(run_row, slurm_job_id), C_I32(run_row, slurm_restart_count),
    C_I32(run_row, ranks), C_STR(run_row, hosts), C_STR(run_row, llm4hep_version),
    C_STR(run_row, git_commit), C_I64(run_row, config_off), C_I64(run_row, config_len),
    C_I64(run_row, python_packages_off), C_I64(run_row, python_packages_len),
    C_STR(run_row, inputs_sha256), C_I32(run_row, input_series), C_STR(run_row, kind)};

static const col_desc input_cols[] = {
    C_I32(input_row, run), C_STR(input_row, sha256), C_I64(input_row, size),
    C_I64(input_row, path_off), C_I64(input_row, path_len), C_I64(input_row, content_off),
    C_I64(input_row, content_len)};

/* The record's tables' columns from core.h's field lists (a TEXT field is
 * two columns, <column>_off and <column>_len; a SUMMARY three). */
#define COLS_I32(T, m, w, col) {col, COL_I32, 4, offsetof(T, m)},
#define COLS_I64(T, m, w, col) {col, COL_I64, 8, offsetof(T, m)},
#define COLS_F64(T, m, w, col) {col, COL_F64, 8, offsetof(T, m)},
#define COLS_FLAG(T, m, w, col) {col, COL_I8, 1, offsetof(T, m)},
#define COLS_NAME(T, m, w, col) {col, COL_STR, w, offsetof(T, m)},
#define COLS_KEY(T, m, w, col) {col, COL_STR, w, offsetof(T, m)},
#define COLS_STR(T, m, w, col) {col, COL_STR, w, offsetof(T, m)},
#define COLS_STATUS(T, m, w, col) {col, COL_STR, w, offsetof(T, m)},
#define COLS_TEXT(T, m, w, col)                                                                    \
    {col "_off", COL_I64, 8, offsetof(T, m##_off)}, {col "_len", COL_I64, 8, offsetof(T, m##_len)},
#define COLS_SUMMARY(T, m, w, col) COLS_STR(T, m, w, col) COLS_TEXT(T, m, w, col)
#define TASK_COLS(kind, m, w, col) COLS_##kind(task_row, m, w, col)
#define CALL_COLS(kind, m, w, col) COLS_##kind(call_row, m, w, col)
#define EXEC_COLS(kind, m, w, col) COLS_##kind(exec_row, m, w, col)
#define CHECK_COLS(kind, m, w, col) COLS_##kind(check_row, m, w, col)

static const col_desc task_cols[] = {
    L4H_TASK_FIELDS(TASK_COLS)
    C_I64(task_row, calls_row), C_I32(task_row, n_calls), C_I64(task_row, execs_row),
    C_I32(task_row, n_execs), C_I64(task_row, checks_row), C_I32(task_row, n_checks)};

static const col_desc call_cols[] = {C_I64(call_row, task_id), L4H_CALL_FIELDS(CALL_COLS)};
static const col_desc exec_cols[] = {C_I64(exec_row, task_id), L4H_EXEC_FIELDS(EXEC_COLS)};
static const col_desc check_cols[] = {C_I64(check_row, task_id), L4H_CHECK_FIELDS(CHECK_COLS)};

static const col_desc annotation_cols[] = {
    C_I64(annotation_row, task_id), C_STR(annotation_row, source),
    C_STR(annotation_row, error_category), C_F64(annotation_row, created_utc),
    C_I64(annotation_row, text_off), C_I64(annotation_row, text_len)};

const table_desc l4h_t_runs = {"runs", run_cols, NCOL(run_cols), sizeof(run_row), 64};
const table_desc l4h_t_tasks = {"tasks", task_cols, NCOL(task_cols), sizeof(task_row), 256};
const table_desc l4h_t_calls = {"calls", call_cols, NCOL(call_cols), sizeof(call_row), 512};
const table_desc l4h_t_execs = {"execs", exec_cols, NCOL(exec_cols), sizeof(exec_row), 512};
const table_desc l4h_t_checks = {"checks", check_cols, NCOL(check_cols), sizeof(check_row), 512};
const table_desc l4h_t_annotations = {"annotations", annotation_cols, NCOL(annotation_cols),
                                      sizeof(annotation_row), 256};
const table_desc l4h_t_inputs = {"inputs", input_cols, NCOL(input_cols), sizeof(input_row), 64};
const table_desc *const l4h_tables[6] = {&l4h_t_runs,   &l4h_t_tasks,  &l4h_t_calls,
                                         &l4h_t_execs,  &l4h_t_checks, &l4h_t_annotations};

/* A string type of width w (caller closes). */
static hid_t str_type(size_t w)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, w);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* The HDF5 type of one column, native (mem) or little-endian (file). */
static hid_t col_type(const col_desc *c, int file)
{
    switch (c->kind) {
    case COL_I64: return H5Tcopy(file ? H5T_STD_I64LE : H5T_NATIVE_INT64);
    case COL_I32: return H5Tcopy(file ? H5T_STD_I32LE : H5T_NATIVE_INT32);
    case COL_I8: return H5Tcopy(file ? H5T_STD_I8LE : H5T_NATIVE_INT8);
    case COL_F64: return H5Tcopy(file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE);
    case COL_STR: return str_type(c->size);
    }
    return -1;
}

/* Compound of the given columns; mem: struct offsets, else packed. */
static hid_t compound(const col_desc *cols, size_t n, size_t row_size, int mem)
{
    size_t size = row_size;
    if (!mem) {
        size = 0;
        for (size_t i = 0; i < n; i++)
            size += cols[i].size;
    }
    hid_t t = H5Tcreate(H5T_COMPOUND, size);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        hid_t ct = col_type(&cols[i], !mem);
        H5Tinsert(t, cols[i].name, mem ? cols[i].offset : off, ct);
        H5Tclose(ct);
        off += cols[i].size;
    }
    return t;
}

hid_t store_table_memtype(const table_desc *t)
{
    return compound(t->cols, t->ncols, t->row_size, 1);
}

/* Fill err from the HDF5 error stack with a what-prefix. Returns -1. */
static int h5fail(l4h_err *err, const char *what, const char *name)
{
    char m[512];
    store_h5_errmsg(m, sizeof m);
    return l4h_err_set(err, L4H_EXIT_INFRA, "HDF5: %s /%s: %s", what, name, m);
}

int store_table_create(hid_t file, const table_desc *t, l4h_err *err)
{
    hsize_t dims = 0, maxdims = H5S_UNLIMITED, chunk = t->chunk_rows;
    hid_t space = H5Screate_simple(1, &dims, &maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_deflate(dcpl, 4);
    hid_t ft = compound(t->cols, t->ncols, t->row_size, 0);
    hid_t d = H5Dcreate2(file, t->name, ft, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Tclose(ft);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (d < 0)
        return h5fail(err, "cannot create", t->name);
    H5Dclose(d);
    return 0;
}

int64_t store_table_rows(hid_t file, const char *name, l4h_err *err)
{
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0)
        return h5fail(err, "cannot open", name);
    hid_t s = H5Dget_space(d);
    hsize_t dims = 0;
    int nd = H5Sget_simple_extent_ndims(s);
    if (nd == 1)
        H5Sget_simple_extent_dims(s, &dims, NULL);
    H5Sclose(s);
    H5Dclose(d);
    if (nd != 1)
        return l4h_err_set(err, L4H_EXIT_USAGE, "/%s is not a 1-D table", name);
    return (int64_t)dims;
}

/* Read (write = 0) or write rows [first, first+n) of open dataset d with
 * memory type mt (the whole row, or a subset of its columns). 0, or -1. */
static int rows_io(hid_t d, hid_t mt, int64_t first, size_t n, void *rows, int write)
{
    hid_t fs = H5Dget_space(d);
    hsize_t start = (hsize_t)first, count = n;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL);
    hid_t ms = H5Screate_simple(1, &count, NULL);
    herr_t r = write ? H5Dwrite(d, mt, ms, fs, H5P_DEFAULT, rows)
                     : H5Dread(d, mt, ms, fs, H5P_DEFAULT, rows);
    H5Sclose(ms);
    H5Sclose(fs);
    return r < 0 ? -1 : 0;
}

/* The memory type of table t's columns named in cols (all when cols is
 * NULL) at their row-struct offsets; unknown names are left out. Caller
 * closes. */
static hid_t subset_type(const table_desc *t, const char *const *cols, size_t ncols)
{
    if (!cols)
        return store_table_memtype(t);
    col_desc sub[16];
    size_t n = 0;
    for (size_t i = 0; i < ncols && n < 16; i++)
        for (size_t j = 0; j < t->ncols; j++)
            if (!strcmp(cols[i], t->cols[j].name))
                sub[n++] = t->cols[j];
    return compound(sub, n, t->row_size, 1);
}

/* Open table t's dataset and its row count (*dims). The dataset (caller
 * closes), or -1 with err. */
static hid_t open_table(hid_t file, const table_desc *t, hsize_t *dims, l4h_err *err)
{
    hid_t d = H5Dopen2(file, t->name, H5P_DEFAULT);
    if (d < 0)
        return h5fail(err, "cannot open", t->name);
    hid_t s = H5Dget_space(d);
    H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    return d;
}

int store_table_append(hid_t file, const table_desc *t, const void *rows, size_t n, l4h_err *err)
{
    if (n == 0)
        return 0;
    hsize_t dims = 0;
    hid_t d = open_table(file, t, &dims, err);
    if (d < 0)
        return -1;
    hsize_t nd = dims + n;
    int rc = 0;
    hid_t mt = store_table_memtype(t);
    if (H5Dset_extent(d, &nd) < 0 || rows_io(d, mt, (int64_t)dims, n, (void *)rows, 1) < 0)
        rc = h5fail(err, "cannot append to", t->name);
    H5Tclose(mt);
    H5Dclose(d);
    return rc;
}

int store_table_read(hid_t file, const table_desc *t, int64_t first, size_t n, void *rows,
                     l4h_err *err)
{
    return store_table_read_cols(file, t, NULL, 0, first, n, rows, err);
}

int store_table_read_cols(hid_t file, const table_desc *t, const char *const *cols,
                          size_t ncols, int64_t first, size_t n, void *rows, l4h_err *err)
{
    if (n == 0)
        return 0;
    hsize_t dims = 0;
    hid_t d = open_table(file, t, &dims, err);
    if (d < 0)
        return -1;
    int rc = 0;
    if (first < 0 || (hsize_t)first > dims || n > dims - (hsize_t)first) { /* no wrap */
        rc = l4h_err_set(err, L4H_EXIT_USAGE,
                         "/%s has %llu rows; rows %lld..%lld were asked for (damaged file?)",
                         t->name, (unsigned long long)dims, (long long)first,
                         (long long)l4h_add_sat_i64(first, n > INT64_MAX ? INT64_MAX : (int64_t)n - 1));
    } else {
        hid_t mt = subset_type(t, cols, ncols);
        if (rows_io(d, mt, first, n, rows, 0) < 0)
            rc = h5fail(err, "cannot read", t->name);
        H5Tclose(mt);
    }
    H5Dclose(d);
    return rc;
}

int store_table_update(hid_t file, const table_desc *t, const char *const *cols, size_t ncols,
                       int64_t row, const void *src, l4h_err *err)
{
    hid_t d = H5Dopen2(file, t->name, H5P_DEFAULT);
    if (d < 0)
        return h5fail(err, "cannot open", t->name);
    hid_t mt = subset_type(t, cols, ncols);
    int rc = rows_io(d, mt, row, 1, (void *)src, 1) < 0 ? h5fail(err, "cannot update", t->name) : 0;
    H5Tclose(mt);
    H5Dclose(d);
    return rc;
}

/* Copy with the truncation marker; see store_internal.h. */
void store_fix_set(char *dst, size_t w, const char *s)
{
    memset(dst, 0, w);
    if (!s)
        return;
    size_t n = strlen(s);
    if (n <= w) {
        memcpy(dst, s, n);
        return;
    }
    size_t keep = w - 3;
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80) /* not inside a UTF-8 char */
        keep--;
    memcpy(dst, s, keep);
    memcpy(dst + keep, "...", 3);
}

char *store_fix_get(const char *src, size_t w)
{
    size_t n = strnlen(src, w);
    char *s = l4h_xmalloc(n + 1);
    memcpy(s, src, n);
    s[n] = '\0';
    return s;
}

void store_fix_copy(char *dst, size_t n, const char *src, size_t w)
{
    size_t k = strnlen(src, w);
    if (k > n - 1)
        k = n - 1;
    memcpy(dst, src, k);
    dst[k] = '\0';
}
