/* npy_write.h — a minimal .npy (v1) writer for the check tests: C-order
 * float64 arrays, or raw bytes under any descr. */
#ifndef TEST_NPY_WRITE_H
#define TEST_NPY_WRITE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Write values (nbytes of raw data) with the given descr, order and shape.
 * Returns 0, -1 on an I/O error. */
static inline int npy_write_raw(const char *path, const char *descr, int fortran, int ndim,
                                const uint64_t *shape, const void *data, size_t nbytes)
{
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': (", descr,
                       fortran ? "True" : "False");
    for (int i = 0; i < ndim; i++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%llu%s", (unsigned long long)shape[i],
                        ndim == 1 || i + 1 < ndim ? ", " : "");
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    size_t total = 10 + (size_t)len + 1, pad = (64 - total % 64) % 64;
    size_t hl = (size_t)len + pad + 1;
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                             (unsigned char)(hl >> 8)};
    fwrite(pre, 1, 10, fp);
    fwrite(dict, 1, (size_t)len, fp);
    for (size_t i = 0; i < pad; i++)
        fputc(' ', fp);
    fputc('\n', fp);
    if (nbytes)
        fwrite(data, 1, nbytes, fp);
    return fclose(fp) == 0 ? 0 : -1;
}

/* A C-order little-endian float64 array of `rows` x `cols` (cols 0: 1-D). */
static inline int npy_write_f8(const char *path, const double *v, uint64_t rows, uint64_t cols)
{
    uint64_t shape[2] = {rows, cols};
    return npy_write_raw(path, "<f8", 0, cols ? 2 : 1, shape, v,
                         (size_t)(rows * (cols ? cols : 1)) * sizeof(double));
}

#endif
