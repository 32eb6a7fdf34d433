/* test_npy.c — the .npy reader against files written by numpy itself:
 * every dtype, both byte orders, C and Fortran order, format versions 1-3,
 * 0-d to 4-d shapes; reads of every sub-range of a Fortran array; and a
 * fuzz of truncated and corrupted headers (never a crash, always a reason). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "llm4hep/check.h"
#include "../../../src/check/check_internal.h"
#include "check_test_util.h"


/* Writes, for each case, NAME.npy and NAME.f8 (the expected values as raw
 * little-endian float64 in C order) and a line "NAME VERSION ndim shape..."
 * to cases.txt. */
static const char *GEN =
    "import sys, os, numpy as np\n"
    "d = sys.argv[1]\n"
    "out = open(os.path.join(d, 'cases.txt'), 'w')\n"
    "def base(shape, kind):\n"
    "    n = int(np.prod(shape))\n"
    "    v = (np.arange(n, dtype=np.float64) * 7.25 - 40.0)\n"
    "    if kind == 'f':\n"
    "        v[:min(n, 5)] = [np.nan, np.inf, -np.inf, -0.0, 6.1e-5][:min(n, 5)]\n"
    "    return v.reshape(shape)\n"
    "def case(name, arr, version, fortran):\n"
    "    a = np.array(arr, order='F' if fortran else 'C')\n"
    "    with open(os.path.join(d, name + '.npy'), 'wb') as f:\n"
    "        np.lib.format.write_array(f, a, version=(version, 0))\n"
    "    np.array(a.astype('<f8'), order='C').tofile(os.path.join(d, name + '.f8'))\n"
    "    out.write('%s %d %d %d %s\\n' % (name, version, int(fortran and a.ndim > 1), a.ndim,\n"
    "              ' '.join(str(s) for s in a.shape)))\n"
    "types = ['f2', 'f4', 'f8', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'b1']\n"
    "shapes = [(), (11,), (7, 6), (3, 4, 5), (2, 3, 4, 5)]\n"
    "k = 0\n"
    "for t in types:\n"
    "    for endian in ('<', '>'):\n"
    "        if t in ('i1', 'u1', 'b1') and endian == '>':\n"
    "            continue\n"
    "        for si, shape in enumerate(shapes):\n"
    "            for fortran in (False, True):\n"
    "                version = 1 + (k % 3)\n"
    "                k += 1\n"
    "                v = base(shape, t[0])\n"
    "                if t[0] == 'u': v = np.abs(np.nan_to_num(v))\n"
    "                if t == 'b1': arr = (np.arange(v.size).reshape(shape) % 3 == 0)\n"
    "                else:\n"
    "                    with np.errstate(invalid='ignore'):\n"
    "                        arr = (np.nan_to_num(v) if t[0] in 'iu' else v).astype(endian + t)\n"
    "                name = 't_%s%s_%d_%s' % ('le' if endian == '<' else 'be', t, si, 'F' if fortran else 'C')\n"
    "                case(name, arr, version, fortran)\n"
    "# extremes of the integer types\n"
    "case('ext_i8', np.array([np.iinfo('i8').min, -1, 0, 2**53], dtype='>i8'), 1, False)\n"
    "case('ext_u4', np.array([0, 2**32 - 1], dtype='<u4'), 2, False)\n"
    "case('ext_f2', np.array([65504, -65504, 6e-8, 1/3], dtype='>f2'), 3, False)\n"
    "# Fortran arrays for the column-block reader\n"
    "rng = np.random.default_rng(3)\n"
    "for name, shape in (('F_tall', (1000, 7)), ('F_wide', (2, 5000)), ('F_4d', (9, 4, 5, 6)), ('F_big', (70000, 46))):\n"
    "    case(name, rng.normal(size=shape), 1, True)\n"
    "case('empty', np.zeros((0, 3)), 1, False)\n"
    "out.close()\n";

static int setup(void **state)
{
    if (tmpdir_setup(state) != 0)
        return -1;
    char script[512];
    snprintf(script, sizeof script, "%s/gen.py", tmpdir);
    FILE *fp = fopen(script, "w");
    assert_non_null(fp);
    fputs(GEN, fp);
    fclose(fp);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s %s", LLM4HEP_PYTHON, script, tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static double *read_expected(const char *name, size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.f8", tmpdir, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    *n = (size_t)sz / 8;
    double *v = malloc(*n ? *n * 8 : 8);
    assert_non_null(v);
    assert_int_equal(fread(v, 8, *n, fp), *n);
    fclose(fp);
    return v;
}

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

/* Read [first, first+n) and compare with the expected C-order values. */
static void check_range(l4h_npy *npy, const double *want, uint64_t first, size_t n, const char *name)
{
    double *got = malloc((n ? n : 1) * sizeof *got);
    l4h_err err = {0};
    int64_t k = l4h_npy_read(npy, first, got, n, &err);
    if (k != (int64_t)n)
        fail_msg("%s: read(%llu, %zu) returned %lld: %s", name, (unsigned long long)first, n,
                 (long long)k, err.msg);
    for (size_t i = 0; i < n; i++)
        if (!same(got[i], want[first + i]))
            fail_msg("%s: element %llu: got %.17g, want %.17g", name, (unsigned long long)(first + i),
                     got[i], want[first + i]);
    free(got);
}

static void every_dtype_order_version(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/cases.txt", tmpdir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[512];
    int cases = 0, seen_version[4] = {0}, seen_be = 0, seen_fortran = 0;
    while (fgets(line, sizeof line, fp)) {
        char name[128];
        int version, fortran, ndim, off = 0;
        assert_int_equal(sscanf(line, "%127s %d %d %d%n", name, &version, &fortran, &ndim, &off), 4);
        uint64_t shape[8] = {0};
        char *p = line + off;
        for (int i = 0; i < ndim; i++)
            shape[i] = strtoull(p, &p, 10);
        char npath[512];
        snprintf(npath, sizeof npath, "%s/%s.npy", tmpdir, name);
        l4h_npy npy;
        l4h_err err = {0};
        if (l4h_npy_open(npath, &npy, &err) != 0)
            fail_msg("%s: %s", name, err.msg);
        assert_int_equal(npy.version, version);
        assert_int_equal(npy.ndim, ndim);
        assert_int_equal(npy.fortran_order, fortran);
        for (int i = 0; i < ndim; i++)
            assert_int_equal(npy.shape[i], shape[i]);
        seen_version[version]++;
        seen_be += npy.big_endian;
        seen_fortran += npy.fortran_order;
        size_t n;
        double *want = read_expected(name, &n);
        assert_int_equal(npy.count, n);
        check_range(&npy, want, 0, n, name);
        /* a read past the end is clipped, one at the end returns 0 */
        if (n > 2)
            check_range(&npy, want, n - 2, 2, name);
        double dummy[4];
        assert_int_equal(l4h_npy_read(&npy, n, dummy, 4, &err), 0);
        /* element by element, for partial rows */
        if (n <= 200)
            for (uint64_t i = 0; i < n; i++)
                check_range(&npy, want, i, 1, name);
        free(want);
        l4h_npy_close(&npy);
        cases++;
    }
    fclose(fp);
    assert_true(cases > 100);
    assert_true(seen_version[1] && seen_version[2] && seen_version[3]);
    assert_true(seen_be > 0 && seen_fortran > 0);
}

static void header_fields(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/t_bef4_2_F.npy", tmpdir);
    l4h_npy npy;
    l4h_err err = {0};
    assert_int_equal(l4h_npy_open(path, &npy, &err), 0);
    assert_int_equal(npy.cls, L4H_NPY_FLOAT);
    assert_int_equal(npy.itemsize, 4);
    assert_int_equal(npy.big_endian, 1);
    assert_string_equal(npy.descr, ">f4");
    char s[64];
    check_npy_shape_string(&npy, s, sizeof s);
    assert_string_equal(s, "(7, 6)");
    assert_string_equal(check_npy_class_name(npy.cls), "float");
    l4h_npy_close(&npy);
    snprintf(path, sizeof path, "%s/t_leu2_1_C.npy", tmpdir);
    assert_int_equal(l4h_npy_open(path, &npy, &err), 0);
    assert_string_equal(check_npy_class_name(npy.cls), "int");
    check_npy_shape_string(&npy, s, sizeof s);
    assert_string_equal(s, "(11,)");
    l4h_npy_close(&npy);
    snprintf(path, sizeof path, "%s/t_leb1_0_C.npy", tmpdir);
    assert_int_equal(l4h_npy_open(path, &npy, &err), 0);
    assert_string_equal(check_npy_class_name(npy.cls), "bool");
    check_npy_shape_string(&npy, s, sizeof s);
    assert_string_equal(s, "()");
    assert_int_equal(npy.count, 1);
    l4h_npy_close(&npy);
}

/* Fortran files read in C order in many chunkings, and in storage order. */
static void fortran_chunks(void **state)
{
    (void)state;
    const char *names[] = {"F_tall", "F_wide", "F_4d", "F_big"};
    const size_t chunks[] = {1, 5, 7, 13, 999, 4096, 46 * 1000, 1 << 20};
    for (size_t k = 0; k < 4; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.npy", tmpdir, names[k]);
        l4h_npy npy;
        l4h_err err = {0};
        assert_int_equal(l4h_npy_open(path, &npy, &err), 0);
        assert_int_equal(npy.fortran_order, 1);
        size_t n;
        double *want = read_expected(names[k], &n);
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            if (n > 100000 && chunks[c] < 999)
                continue; /* the big one only in large chunks */
            for (uint64_t first = 0; first < n; first += chunks[c])
                check_range(&npy, want, first, chunks[c] < n - first ? chunks[c] : n - first, names[k]);
        }
        /* storage order is the transpose for 2-D */
        if (npy.ndim == 2) {
            double *st = malloc(n * sizeof *st);
            assert_int_equal(check_npy_read_storage(&npy, 0, st, n, &err), (int64_t)n);
            uint64_t rows = npy.shape[0], cols = npy.shape[1];
            for (uint64_t r = 0; r < rows; r++)
                for (uint64_t col = 0; col < cols; col++)
                    assert_true(same(st[col * rows + r], want[r * cols + col]));
            free(st);
        }
        free(want);
        l4h_npy_close(&npy);
    }
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

/* A v1 file with the given header dict (padded) and `data` bytes of data. */
static size_t make_v1(unsigned char *buf, size_t cap, const char *dict, size_t data)
{
    size_t dl = strlen(dict);
    size_t total = 10 + dl + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hl = dl + pad + 1;
    assert_true(10 + hl + data <= cap);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', pad);
    buf[10 + hl - 1] = '\n';
    memset(buf + 10 + hl, 0x3f, data);
    return 10 + hl + data;
}

static void expect_open_error(const char *path, const char *needle)
{
    l4h_npy npy;
    l4h_err err = {0};
    assert_int_equal(l4h_npy_open(path, &npy, &err), -1);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not mention '%s'", err.msg, needle);
    assert_null(npy.fp);
}

static void malformed_files(void **state)
{
    (void)state;
    unsigned char buf[4096];
    char path[512];
    snprintf(path, sizeof path, "%s/bad.npy", tmpdir);

    write_bytes(path, "PK\x03\x04 not numpy at all", 22);
    expect_open_error(path, "not a .npy file");
    write_bytes(path, "", 0);
    expect_open_error(path, "not a .npy file");

    static const struct {
        const char *dict;
        size_t data;
        const char *needle;
    } cases[] = {
        {"{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", 24, "object dtype"},
        {"{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", 48, "unsupported"},
        {"{'descr': '<U5', 'fortran_order': False, 'shape': (3,), }", 60, "unsupported dtype"},
        {"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }", 24, "structured"},
        {"{'descr': '<f8', 'shape': (3,), }", 24, "missing 'fortran_order'"},
        {"{'descr': '<f8', 'fortran_order': Maybe, 'shape': (3,), }", 24, "fortran_order"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3, -1), }", 24, "shape"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 24,
         "overflows"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (100,), }", 24, "truncated data"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1, }", 24, "unknown key 'extra'"},
        {"['descr', '<f8']", 24, "not a dict"},
    };
    size_t n;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        n = make_v1(buf, sizeof buf, cases[i].dict, cases[i].data);
        write_bytes(path, buf, n);
        expect_open_error(path, cases[i].needle);
    }

    n = make_v1(buf, sizeof buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 24);
    buf[6] = 4;
    write_bytes(path, buf, n);
    expect_open_error(path, "version 4");

    /* a header length beyond the end of the file */
    n = make_v1(buf, sizeof buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 24);
    buf[8] = 0xff;
    buf[9] = 0xff;
    write_bytes(path, buf, n);
    expect_open_error(path, "truncated .npy header");

    /* a directory and a missing file */
    expect_open_error(tmpdir, "not a regular file");
    snprintf(path, sizeof path, "%s/no_such.npy", tmpdir);
    expect_open_error(path, "No such file");
}

/* Open (and, when it opens, read) must never crash; a damaged file either
 * fails with a message or reads within its bounds. */
static void try_file(const char *path, const unsigned char *bytes, size_t n, int must_fail)
{
    write_bytes(path, bytes, n);
    l4h_npy npy;
    l4h_err err = {0};
    err.msg[0] = '\0';
    int rc = l4h_npy_open(path, &npy, &err);
    if (rc != 0) {
        assert_int_equal(rc, -1);
        assert_true(err.msg[0] != '\0');
        return;
    }
    if (must_fail)
        fail_msg("a file truncated to %zu bytes opened", n);
    double out[64];
    for (uint64_t first = 0; first < npy.count && first < 256; first += 64)
        assert_true(l4h_npy_read(&npy, first, out, 64, &err) >= 0);
    l4h_npy_close(&npy);
}

static void fuzz_truncate_and_corrupt(void **state)
{
    (void)state;
    char src[512], path[512];
    snprintf(src, sizeof src, "%s/t_lef8_2_C.npy", tmpdir);
    snprintf(path, sizeof path, "%s/fuzz.npy", tmpdir);
    FILE *fp = fopen(src, "rb");
    assert_non_null(fp);
    unsigned char orig[4096], buf[4096];
    size_t n = fread(orig, 1, sizeof orig, fp);
    fclose(fp);
    assert_true(n > 128 && n < sizeof orig);
    /* every truncation fails */
    for (size_t k = 0; k < n; k++)
        try_file(path, orig, k, 1);
    /* every header byte replaced by a set of troublesome values */
    static const unsigned char vals[] = {0x00, 0xff, '{', '}', '(', ')', ',', ':', '\'', '"', '9', ' ',
                                         'L', '\\', '\n', 'T', '>', 'O', '[', 0x80};
    size_t hdr_end = orig[6] == 1 ? 10 + (size_t)orig[8] + ((size_t)orig[9] << 8)
                                  : 12 + (size_t)orig[8] + ((size_t)orig[9] << 8) + ((size_t)orig[10] << 16);
    for (size_t k = 0; k < hdr_end; k++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(buf, orig, n);
            buf[k] = vals[v];
            try_file(path, buf, n, 0);
        }
    }
    /* random multi-byte damage, deterministic */
    unsigned s = 12345;
    for (int t = 0; t < 2000; t++) {
        memcpy(buf, orig, n);
        for (int j = 0; j < 4; j++) {
            s = s * 1103515245u + 12345u;
            size_t pos = (s >> 8) % hdr_end;
            s = s * 1103515245u + 12345u;
            buf[pos] = (unsigned char)(s >> 16);
        }
        try_file(path, buf, n, 0);
    }
}

static void empty_array(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/empty.npy", tmpdir);
    l4h_npy npy;
    l4h_err err = {0};
    assert_int_equal(l4h_npy_open(path, &npy, &err), 0);
    assert_int_equal(npy.count, 0);
    double d[2];
    assert_int_equal(l4h_npy_read(&npy, 0, d, 2, &err), 0);
    l4h_npy_close(&npy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_dtype_order_version),
        cmocka_unit_test(header_fields),
        cmocka_unit_test(fortran_chunks),
        cmocka_unit_test(malformed_files),
        cmocka_unit_test(fuzz_truncate_and_corrupt),
        cmocka_unit_test(empty_array),
    };
    return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
