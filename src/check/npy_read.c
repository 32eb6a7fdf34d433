/* npy_read.c — read elements of an open .npy file as doubles, converting
 * every supported dtype and byte order, in C (row-major) order whatever the
 * file's order, or in the file's storage order.
 *
 * Fortran-order files in C order: the first axis is the fastest in storage,
 * so for a block of C rows [r0, r1] and one index t of the trailing axes the
 * values are contiguous on disk. A 2-D (N, M) file is read as M column
 * blocks per request, gathered into a scratch buffer and transposed tile by
 * tile; short blocks separated by small gaps are read in one go (so a
 * (2, 10^8) file does not become 10^8 tiny reads). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_internal.h"

#define SCRATCH_BYTES ((size_t)4 << 20)

int check_pread(int fd, void *buf, size_t n, off_t off)
{
    char *p = buf;
    while (n > 0) {
        ssize_t k = pread(fd, p, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f, f = h & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp((double)f, -24);
    else if (e == 31)
        v = f ? NAN : INFINITY;
    else
        v = ldexp((double)(f + 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}

static inline uint16_t bswap16(uint16_t x) { return (uint16_t)(x << 8 | x >> 8); }
static inline uint32_t bswap32(uint32_t x) { return __builtin_bswap32(x); }
static inline uint64_t bswap64(uint64_t x) { return __builtin_bswap64(x); }

static int host_big_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 0;
}

/* Convert m items at src (raw file bytes) to out[0], out[stride], ...
 * src may overlap out as long as item i's bytes lie at or after out[i]'s
 * (the in-place widening in read_storage). Can't fail. */
static void convert(const l4h_npy *npy, const unsigned char *src, size_t m, double *out,
                    size_t stride)
{
    int swap = npy->itemsize > 1 && npy->big_endian != host_big_endian();
    size_t isz = (size_t)npy->itemsize;
#define CONVERT_LOOP(T, UT, BSWAP, EXPR)                          \
    for (size_t i = 0; i < m; i++) {                              \
        UT u;                                                     \
        memcpy(&u, src + i * isz, sizeof u);                      \
        if (swap)                                                 \
            u = BSWAP(u);                                         \
        T v;                                                      \
        memcpy(&v, &u, sizeof v);                                 \
        out[i * stride] = (EXPR);                                 \
    }
    switch (npy->cls) {
    case L4H_NPY_FLOAT:
        if (isz == 8) {
            CONVERT_LOOP(double, uint64_t, bswap64, v)
        } else if (isz == 4) {
            CONVERT_LOOP(float, uint32_t, bswap32, (double)v)
        } else {
            CONVERT_LOOP(uint16_t, uint16_t, bswap16, half_to_double(v))
        }
        break;
    case L4H_NPY_INT:
        if (isz == 8) {
            CONVERT_LOOP(int64_t, uint64_t, bswap64, (double)v)
        } else if (isz == 4) {
            CONVERT_LOOP(int32_t, uint32_t, bswap32, (double)v)
        } else if (isz == 2) {
            CONVERT_LOOP(int16_t, uint16_t, bswap16, (double)v)
        } else {
            for (size_t i = 0; i < m; i++)
                out[i * stride] = (double)(int8_t)src[i];
        }
        break;
    case L4H_NPY_UINT:
        if (isz == 8) {
            CONVERT_LOOP(uint64_t, uint64_t, bswap64, (double)v)
        } else if (isz == 4) {
            CONVERT_LOOP(uint32_t, uint32_t, bswap32, (double)v)
        } else if (isz == 2) {
            CONVERT_LOOP(uint16_t, uint16_t, bswap16, (double)v)
        } else {
            for (size_t i = 0; i < m; i++)
                out[i * stride] = (double)src[i];
        }
        break;
    case L4H_NPY_BOOL:
        for (size_t i = 0; i < m; i++)
            out[i * stride] = src[i] ? 1.0 : 0.0;
        break;
    }
#undef CONVERT_LOOP
}

static int64_t io_error(l4h_npy *npy, l4h_err *err)
{
    (void)npy;
    l4h_err_set(err, L4H_EXIT_INFRA, "cannot read .npy data: %s",
                errno ? strerror(errno) : "file shrank while reading");
    return -1;
}

int64_t check_npy_read_storage(l4h_npy *npy, uint64_t first, double *out, size_t n, l4h_err *err)
{
    if (!npy->fp)
        return l4h_err_set(err, L4H_EXIT_INFRA, "l4h_npy_read: file not open");
    if (first >= npy->count || n == 0)
        return 0;
    if (n > npy->count - first)
        n = (size_t)(npy->count - first);
    size_t isz = (size_t)npy->itemsize;
    off_t off = (off_t)npy->data_offset + (off_t)(first * isz);
    int fd = fileno(npy->fp);
    errno = 0;
    if (npy->cls == L4H_NPY_FLOAT && isz == 8 && npy->big_endian == host_big_endian()) {
        if (check_pread(fd, out, n * 8, off) < 0)
            return io_error(npy, err);
        return (int64_t)n;
    }
    /* Read the raw bytes into the tail of out and widen in place, front to back:
     * item i sits at byte n*(8-isz) + i*isz >= 8*i, so nothing unread is overwritten. */
    unsigned char *raw = (unsigned char *)out + n * (8 - isz);
    if (check_pread(fd, raw, n * isz, off) < 0)
        return io_error(npy, err);
    convert(npy, raw, n, out, 1);
    return (int64_t)n;
}

/* Fortran storage offset (in elements, within the trailing axes) of C index t
 * over the trailing axes shape[1..ndim-1]. */
static uint64_t trailing_fortran_index(const l4h_npy *npy, uint64_t t)
{
    if (npy->ndim == 2)
        return t;
    uint64_t idx = 0, stride = 1;
    uint64_t rem = t;
    /* decompose t (C order, last axis fastest), accumulate Fortran strides */
    uint64_t tmp[32];
    for (int k = npy->ndim - 1; k >= 1; k--) {
        tmp[k] = rem % npy->shape[k];
        rem /= npy->shape[k];
    }
    for (int k = 1; k < npy->ndim; k++) {
        idx += tmp[k] * stride;
        stride *= npy->shape[k];
    }
    return idx;
}

typedef struct fortran_req {
    uint64_t first, n;      /* C-order request */
    uint64_t a, L;          /* rows (first axis) and trailing count */
    uint64_t rA, rB, tA, tB;
} fortran_req;

/* Rows [*rs, *re] of trailing index t inside the request; 0 when none. */
static int run_rows(const fortran_req *q, uint64_t t, uint64_t *rs, uint64_t *re)
{
    uint64_t s = q->rA + (t < q->tA ? 1 : 0);
    if (t > q->tB) {
        if (q->rB == 0)
            return 0;
        *re = q->rB - 1;
    } else {
        *re = q->rB;
    }
    *rs = s;
    return s <= *re;
}

static void *scratch(l4h_npy *npy, size_t bytes)
{
    if (npy->scratch_cap < bytes) {
        free(npy->scratch);
        npy->scratch = l4h_xmalloc(bytes);
        npy->scratch_cap = bytes;
    }
    return npy->scratch;
}

/* Read the window [w0, w1) (element offsets from the data start) and
 * scatter the runs of trailing indices [tg0, tg1) into out. */
static int flush_group(l4h_npy *npy, const fortran_req *q, uint64_t tg0, uint64_t tg1, uint64_t w0,
                       uint64_t w1, double *out)
{
    size_t isz = (size_t)npy->itemsize;
    int fd = fileno(npy->fp);
    if ((w1 - w0) * isz <= SCRATCH_BYTES) {
        unsigned char *buf = scratch(npy, SCRATCH_BYTES);
        if (check_pread(fd, buf, (size_t)((w1 - w0) * isz), (off_t)(npy->data_offset + w0 * isz)) < 0)
            return -1;
        for (uint64_t t = tg0; t < tg1; t++) {
            uint64_t rs, re;
            if (!run_rows(q, t, &rs, &re))
                continue;
            uint64_t fo = rs + q->a * trailing_fortran_index(npy, t);
            convert(npy, buf + (fo - w0) * isz, (size_t)(re - rs + 1), out + (rs * q->L + t - q->first),
                    (size_t)q->L);
        }
        return 0;
    }
    /* one run longer than the scratch buffer: read it piece by piece */
    unsigned char *buf = scratch(npy, SCRATCH_BYTES);
    uint64_t per = SCRATCH_BYTES / isz;
    for (uint64_t t = tg0; t < tg1; t++) {
        uint64_t rs, re;
        if (!run_rows(q, t, &rs, &re))
            continue;
        uint64_t fo = rs + q->a * trailing_fortran_index(npy, t);
        for (uint64_t r = rs; r <= re; r += per) {
            uint64_t m = re - r + 1 < per ? re - r + 1 : per;
            if (check_pread(fd, buf, (size_t)(m * isz), (off_t)(npy->data_offset + (fo + r - rs) * isz)) < 0)
                return -1;
            convert(npy, buf, (size_t)m, out + (r * q->L + t - q->first), (size_t)q->L);
        }
    }
    return 0;
}

#define TILE_ROWS 64
#define MAX_BATCH 1024

/* Long column blocks: read up to MAX_BATCH of them (at most the scratch
 * buffer) one pread each (merged when adjacent on disk), then write them
 * into out tile by tile, TILE_ROWS rows at a time, so the strided writes stay
 * in cache instead of sweeping the whole output once per column. */
static int gather_batches(l4h_npy *npy, const fortran_req *q, uint64_t t0, uint64_t t1, double *out)
{
    size_t isz = (size_t)npy->itemsize;
    int fd = fileno(npy->fp);
    uint64_t cap = SCRATCH_BYTES / isz;
    unsigned char *buf = scratch(npy, SCRATCH_BYTES);
    uint64_t bt[MAX_BATCH], brs[MAX_BATCH], bre[MAX_BATCH], boff[MAX_BATCH];
    uint64_t t = t0;
    while (t < t1) {
        size_t nb = 0;
        uint64_t used = 0, pend_fo = 0, pend_len = 0, pend_off = 0;
        for (; t < t1 && nb < MAX_BATCH; t++) {
            uint64_t rs, re;
            if (!run_rows(q, t, &rs, &re))
                continue;
            uint64_t len = re - rs + 1, fo = rs + q->a * trailing_fortran_index(npy, t);
            if (used + len > cap)
                break; /* runs are at most `cap` long (the caller checked) */
            if (pend_len && fo == pend_fo + pend_len) {
                pend_len += len;
            } else {
                if (pend_len && check_pread(fd, buf + pend_off * isz, (size_t)(pend_len * isz),
                                          (off_t)(npy->data_offset + pend_fo * isz)) < 0)
                    return -1;
                pend_fo = fo;
                pend_len = len;
                pend_off = used;
            }
            bt[nb] = t;
            brs[nb] = rs;
            bre[nb] = re;
            boff[nb] = used;
            nb++;
            used += len;
        }
        if (pend_len && check_pread(fd, buf + pend_off * isz, (size_t)(pend_len * isz),
                                  (off_t)(npy->data_offset + pend_fo * isz)) < 0)
            return -1;
        for (uint64_t r0 = q->rA; r0 <= q->rB; r0 += TILE_ROWS) {
            uint64_t r1 = r0 + TILE_ROWS - 1 < q->rB ? r0 + TILE_ROWS - 1 : q->rB;
            for (size_t k = 0; k < nb; k++) {
                uint64_t lo = r0 > brs[k] ? r0 : brs[k], hi = r1 < bre[k] ? r1 : bre[k];
                if (lo > hi)
                    continue;
                convert(npy, buf + (boff[k] + lo - brs[k]) * isz, (size_t)(hi - lo + 1),
                        out + (lo * q->L + bt[k] - q->first), (size_t)q->L);
            }
        }
    }
    return 0;
}

static int64_t read_fortran_as_c(l4h_npy *npy, uint64_t first, double *out, size_t n, l4h_err *err)
{
    fortran_req q = {.first = first, .n = n, .a = npy->shape[0]};
    q.L = npy->count / q.a;
    q.rA = first / q.L;
    q.tA = first % q.L;
    q.rB = (first + n - 1) / q.L;
    q.tB = (first + n - 1) % q.L;
    size_t isz = (size_t)npy->itemsize;
    uint64_t t0 = q.rA == q.rB ? q.tA : 0, t1 = q.rA == q.rB ? q.tB + 1 : q.L;
    uint64_t max_win = SCRATCH_BYTES / isz;
    errno = 0;
    uint64_t rows = q.rB - q.rA + 1;
    if (rows * isz >= 4096 && rows <= max_win) {
        if (gather_batches(npy, &q, t0, t1, out) < 0)
            return io_error(npy, err);
        return (int64_t)n;
    }
    /* Short column blocks (few rows per request, e.g. a (2, 10^8) array) or
     * blocks longer than the scratch buffer: read windows that span several
     * blocks and the small gaps between them. */
    uint64_t tg0 = t0, w0 = 0, w1 = 0;
    int open_group = 0;
    for (uint64_t t = t0; t < t1; t++) {
        uint64_t rs, re;
        if (!run_rows(&q, t, &rs, &re))
            continue;
        uint64_t fo = rs + q.a * trailing_fortran_index(npy, t), len = re - rs + 1;
        if (open_group) {
            uint64_t gap_allow = len > 4096 / isz ? len : 4096 / isz;
            if (fo >= w1 && fo - w1 <= gap_allow && fo + len - w0 <= max_win) {
                w1 = fo + len;
                continue;
            }
            if (flush_group(npy, &q, tg0, t, w0, w1, out) < 0)
                return io_error(npy, err);
        }
        open_group = 1;
        tg0 = t;
        w0 = fo;
        w1 = fo + len;
    }
    if (open_group && flush_group(npy, &q, tg0, t1, w0, w1, out) < 0)
        return io_error(npy, err);
    return (int64_t)n;
}

int64_t l4h_npy_read(l4h_npy *npy, uint64_t first, double *out, size_t n, l4h_err *err)
{
    if (!npy->fp)
        return l4h_err_set(err, L4H_EXIT_INFRA, "l4h_npy_read: file not open");
    if (!npy->fortran_order || npy->ndim < 2)
        return check_npy_read_storage(npy, first, out, n, err);
    if (first >= npy->count || n == 0)
        return 0;
    if (n > npy->count - first)
        n = (size_t)(npy->count - first);
    return read_fortran_as_c(npy, first, out, n, err);
}

const char *check_npy_class_name(l4h_npy_class cls)
{
    switch (cls) {
    case L4H_NPY_FLOAT:
        return "float";
    case L4H_NPY_INT:
    case L4H_NPY_UINT:
        return "int";
    case L4H_NPY_BOOL:
        return "bool";
    }
    return "?";
}

void check_npy_shape_string(const l4h_npy *npy, char *out, size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
#define PUT(...)                                                              \
    do {                                                                      \
        int k_ = snprintf(out + len, cap - len, __VA_ARGS__);                 \
        if (k_ < 0 || (size_t)k_ >= cap - len) {                              \
            return;                                                           \
        }                                                                     \
        len += (size_t)k_;                                                    \
    } while (0)
    PUT("(");
    for (int i = 0; i < npy->ndim; i++)
        PUT("%s%llu", i ? ", " : "", (unsigned long long)npy->shape[i]);
    PUT(npy->ndim == 1 ? ",)" : ")");
#undef PUT
}
