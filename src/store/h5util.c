/* h5util.c — the /text heap, root attributes and HDF5 error handling. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* 256 KiB chunks at deflate level 6: deflate's 32 KiB window cannot reach
 * across a chunk's start, so a larger chunk keeps more of the heap's
 * repeats (an answer and the code it ran, an output and the review quoting
 * it) within reach; measured by bench_transcripts, about 10% smaller than
 * 64 KiB at level 4. A reader of one text inflates one chunk (~1 ms). */
#define HEAP_CHUNK 262144
#define HEAP_DEFLATE 6

void store_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Remember the innermost (last walked) description of the error stack. */
static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    char *buf = data;
    if (e->desc && !buf[0])
        snprintf(buf, 256, "%s (in %s)", e->desc, e->func_name ? e->func_name : "?");
    return 0;
}

void store_h5_errmsg(char *buf, size_t n)
{
    char m[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, m);
    snprintf(buf, n, "%s", m[0] ? m : "unknown HDF5 error");
    H5Eclear2(H5E_DEFAULT);
}

int store_heap_create(hid_t file, l4h_err *err)
{
    hsize_t dims = 0, maxdims = H5S_UNLIMITED, chunk = HEAP_CHUNK;
    hid_t space = H5Screate_simple(1, &dims, &maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_deflate(dcpl, HEAP_DEFLATE);
    hid_t d = H5Dcreate2(file, "text", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (d < 0) {
        char m[256];
        store_h5_errmsg(m, sizeof m);
        return l4h_err_set(err, L4H_EXIT_INFRA, "HDF5: cannot create /text: %s", m);
    }
    H5Dclose(d);
    return 0;
}

int64_t store_heap_len(hid_t file, l4h_err *err)
{
    return store_table_rows(file, "text", err);
}

int store_heap_append(hid_t file, const void *data, size_t n, l4h_err *err)
{
    if (n == 0)
        return 0;
    hid_t d = H5Dopen2(file, "text", H5P_DEFAULT);
    if (d < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "HDF5: cannot open /text");
    hid_t fs = H5Dget_space(d);
    hsize_t dims = 0;
    H5Sget_simple_extent_dims(fs, &dims, NULL);
    H5Sclose(fs);
    hsize_t nd = dims + n, count = n;
    int rc = 0;
    if (H5Dset_extent(d, &nd) < 0) {
        rc = -1;
    } else {
        fs = H5Dget_space(d);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &dims, NULL, &count, NULL);
        hid_t ms = H5Screate_simple(1, &count, NULL);
        if (H5Dwrite(d, H5T_NATIVE_UCHAR, ms, fs, H5P_DEFAULT, data) < 0)
            rc = -1;
        H5Sclose(ms);
        H5Sclose(fs);
    }
    H5Dclose(d);
    if (rc) {
        char m[256];
        store_h5_errmsg(m, sizeof m);
        return l4h_err_set(err, L4H_EXIT_INFRA, "HDF5: cannot append to /text: %s", m);
    }
    return 0;
}

int store_heap_read(hid_t d, int64_t off, int64_t len, char **out, l4h_err *err)
{
    *out = NULL;
    hid_t fs = H5Dget_space(d);
    hsize_t dims = 0;
    H5Sget_simple_extent_dims(fs, &dims, NULL);
    /* Checked: off + len must not be computed before both are known to fit
     * (a damaged file's off near INT64_MAX would wrap past the test). */
    if (off < 0 || len < 0 || (uint64_t)off > (uint64_t)dims ||
        (uint64_t)len > (uint64_t)dims - (uint64_t)off || (uint64_t)len > L4H_TEXT_MAX) {
        H5Sclose(fs);
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "text ref (%lld, %lld) is outside /text (%llu bytes): damaged file",
                           (long long)off, (long long)len, (unsigned long long)dims);
    }
    char *s = l4h_xmalloc((size_t)len + 1);
    s[len] = '\0';
    int rc = 0;
    if (len > 0) {
        hsize_t start = (hsize_t)off, count = (hsize_t)len;
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL);
        hid_t ms = H5Screate_simple(1, &count, NULL);
        if (H5Dread(d, H5T_NATIVE_UCHAR, ms, fs, H5P_DEFAULT, s) < 0) {
            char m[256];
            store_h5_errmsg(m, sizeof m);
            rc = l4h_err_set(err, L4H_EXIT_INFRA, "HDF5: cannot read /text: %s", m);
        }
        H5Sclose(ms);
    }
    H5Sclose(fs);
    if (rc) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

/* Replace (delete + create) a root attribute of type t with value buf. */
static int attr_put(hid_t obj, const char *name, hid_t t, const void *buf, l4h_err *err)
{
    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a < 0 || H5Awrite(a, t, buf) < 0) ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    if (rc)
        return l4h_err_set(err, L4H_EXIT_INFRA, "HDF5: cannot write attribute %s", name);
    return 0;
}

int store_attr_set_str(hid_t obj, const char *name, const char *value, l4h_err *err)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char *v = value ? value : "";
    int rc = attr_put(obj, name, t, &v, err);
    H5Tclose(t);
    return rc;
}

int store_attr_set_strv(hid_t obj, const char *name, const char *const *v, size_t n,
                        l4h_err *err)
{
    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t dim = n;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a < 0 || H5Awrite(a, t, v) < 0) ? -1 : 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    if (rc)
        return l4h_err_set(err, L4H_EXIT_INFRA, "HDF5: cannot write attribute %s", name);
    return 0;
}

int store_attr_set_i64(hid_t obj, const char *name, int64_t value, l4h_err *err)
{
    return attr_put(obj, name, H5T_NATIVE_INT64, &value, err);
}

int store_attr_get_str(hid_t obj, const char *name, char **out)
{
    *out = NULL;
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a);
    int rc = -1;
    if (H5Tget_class(ft) == H5T_STRING) {
        if (H5Tis_variable_str(ft) > 0) {
            hid_t t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, H5T_VARIABLE);
            H5Tset_cset(t, H5Tget_cset(ft));
            char *v = NULL;
            if (H5Aread(a, t, &v) >= 0 && v) {
                *out = l4h_xstrdup(v);
                H5free_memory(v);
                rc = 0;
            }
            H5Tclose(t);
        } else {
            size_t n = H5Tget_size(ft);
            char *v = l4h_xcalloc(n + 1, 1);
            if (H5Aread(a, ft, v) >= 0) {
                *out = v;
                rc = 0;
            } else {
                free(v);
            }
        }
    }
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

int store_attr_get_i64(hid_t obj, const char *name, int64_t *out)
{
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    int rc = H5Aread(a, H5T_NATIVE_INT64, out) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}
