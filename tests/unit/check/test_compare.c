/* test_compare.c — DESIGN.md's array tolerance (check_value_matches) and the
 * streaming array check (l4h_check_array): exactly at and just beyond the
 * tolerance, 5th- vs 4th-digit differences, decades, zeros and zero_floor,
 * NaN positions, infinities, shape and dtype-class mismatch, the report,
 * chunk boundaries, Fortran against C order. */
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
#include "npy_write.h"

/* ------------------------------------------------------------ the rule */

static void at_and_beyond_tolerance(void **state)
{
    (void)state;
    /* r = 1000, 4 digits: half a unit in the 4th digit is 0.5, exactly representable */
    assert_true(check_value_matches(1000.5, 1000.0, 4, 1e-9));
    assert_true(check_value_matches(999.5, 1000.0, 4, 1e-9));
    assert_false(check_value_matches(nextafter(1000.5, INFINITY), 1000.0, 4, 1e-9));
    assert_false(check_value_matches(nextafter(999.5, 0), 1000.0, 4, 1e-9));
    /* r = 2048 (decade 3): tolerance 0.5 as well */
    assert_true(check_value_matches(2048.5, 2048.0, 4, 0));
    assert_false(check_value_matches(nextafter(2048.5, INFINITY), 2048.0, 4, 0));
    /* negative references */
    assert_true(check_value_matches(-1000.5, -1000.0, 4, 1e-9));
    assert_false(check_value_matches(-1000.5000001, -1000.0, 4, 1e-9));
    /* other digit counts */
    assert_true(check_value_matches(1050.0, 1000.0, 2, 0));
    assert_false(check_value_matches(1050.1, 1000.0, 2, 0));
    assert_true(check_value_matches(1000.05, 1000.0, 5, 0));
    assert_false(check_value_matches(1000.06, 1000.0, 5, 0));
}

static void fifth_digit_passes_fourth_fails(void **state)
{
    (void)state;
    /* 1.2345|6: a change in the 5th significant digit passes at 4 digits, in the 4th fails */
    assert_true(check_value_matches(1.23466, 1.23456, 4, 1e-9));
    assert_true(check_value_matches(1.23446, 1.23456, 4, 1e-9));
    assert_false(check_value_matches(1.23556, 1.23456, 4, 1e-9));
    assert_false(check_value_matches(1.23356, 1.23456, 4, 1e-9));
    /* the same at other magnitudes */
    assert_true(check_value_matches(123466.0, 123456.0, 4, 1e-9));
    assert_false(check_value_matches(123556.0, 123456.0, 4, 1e-9));
    assert_true(check_value_matches(1.23466e-5, 1.23456e-5, 4, 1e-9));
    assert_false(check_value_matches(1.23556e-5, 1.23456e-5, 4, 1e-9));
    assert_true(check_value_matches(-8.76549e20, -8.76541e20, 4, 1e-9));
    assert_false(check_value_matches(-8.77541e20, -8.76541e20, 4, 1e-9));
}

static void decade_boundaries(void **state)
{
    (void)state;
    /* 9999.9 is in decade 3 (tolerance 0.5), 10000 in decade 4 (tolerance 5) */
    assert_true(check_value_matches(10004.0, 10000.0, 4, 0));
    assert_false(check_value_matches(10000.5, 9999.9, 4, 0));
    assert_true(check_value_matches(10000.3, 9999.9, 4, 0));
    /* every decade: 0.49 and 0.51 of the half unit's unit */
    for (int k = -290; k <= 290; k++) {
        char s[32];
        snprintf(s, sizeof s, "1e%d", k);
        double r = strtod(s, NULL);
        snprintf(s, sizeof s, "1e%d", k - 3);
        double unit = strtod(s, NULL);
        if (!check_value_matches(r + 0.49 * unit, r, 4, 0))
            fail_msg("decade %d: +0.49 unit should match", k);
        if (check_value_matches(r + 0.51 * unit, r, 4, 0))
            fail_msg("decade %d: +0.51 unit should not match", k);
        if (!check_value_matches(r - 0.49 * unit / 10, r, 4, 0))
            fail_msg("decade %d: -0.049 unit should match", k);
    }
}

static void zeros_and_zero_floor(void **state)
{
    (void)state;
    assert_true(check_value_matches(0.0, 0.0, 4, 1e-9));
    assert_true(check_value_matches(-0.0, 0.0, 4, 0));
    assert_true(check_value_matches(5e-10, 0.0, 4, 1e-9));
    assert_true(check_value_matches(1e-9, 0.0, 4, 1e-9));
    assert_false(check_value_matches(2e-9, 0.0, 4, 1e-9));
    /* |r| < zero_floor: the absolute test */
    assert_true(check_value_matches(1e-9, 1e-10, 4, 1e-9));
    assert_false(check_value_matches(1.2e-9, 1e-10, 4, 1e-9));
    /* |r| >= zero_floor: back to significant digits */
    assert_false(check_value_matches(1.1e-9, 1e-9, 4, 1e-9));
    assert_true(check_value_matches(1.00004e-9, 1e-9, 4, 1e-9));
    /* zero_floor 0: only an exact zero matches zero */
    assert_false(check_value_matches(1e-300, 0.0, 4, 0));
    assert_true(check_value_matches(0.0, -0.0, 4, 0));
    /* a subnormal reference */
    assert_true(check_value_matches(0.0, 4.9e-324, 4, 1e-9));
}

static void nan_and_inf(void **state)
{
    (void)state;
    assert_true(check_value_matches(NAN, NAN, 4, 1e-9));
    assert_false(check_value_matches(1.0, NAN, 4, 1e-9));
    assert_false(check_value_matches(NAN, 1.0, 4, 1e-9));
    assert_false(check_value_matches(NAN, 0.0, 4, 1e-9));
    assert_true(check_value_matches(INFINITY, INFINITY, 4, 1e-9));
    assert_false(check_value_matches(-INFINITY, INFINITY, 4, 1e-9));
    assert_false(check_value_matches(1e308, INFINITY, 4, 1e-9));
    assert_false(check_value_matches(INFINITY, 1e308, 4, 1e-9));
    assert_false(check_value_matches(-1e308, 1e308, 4, 1e-9));
}

/* The array check's fast table path must agree with check_value_matches
 * value by value, across magnitudes and near every tolerance edge. */
static void table_agrees_with_rule(void **state)
{
    (void)state;
    const size_t n = 200000;
    double *r = malloc(n * sizeof *r), *c = malloc(n * sizeof *c);
    unsigned s = 99;
    size_t expect_bad = 0;
    const int sig = 4;
    const double zf = 1e-6;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        double u = (double)(s >> 8) / (double)(1u << 24);
        s = s * 1103515245u + 12345u;
        int e = (int)((s >> 8) % 80) - 40;
        double mag = ldexp(1.0 + u, e);
        r[i] = (s & 1) ? -mag : mag;
        if (i % 97 == 0)
            r[i] = 0.0;
        if (i % 101 == 0)
            r[i] = zf * (0.5 + u);
        s = s * 1103515245u + 12345u;
        double f = ((double)(s >> 8) / (double)(1u << 24) - 0.5) * 1.2e-3; /* around +-0.5 unit */
        c[i] = r[i] * (1.0 + f) + (r[i] == 0 ? f * 1e-3 : 0);
        if (i % 1009 == 0)
            c[i] = NAN;
        expect_bad += !check_value_matches(c[i], r[i], sig, zf);
    }
    assert_true(expect_bad > 1000 && expect_bad < n - 1000);
    assert_int_equal(npy_write_f8(tpath("tr.npy"), r, n, 0), 0);
    assert_int_equal(npy_write_f8(tpath("tc.npy"), c, n, 0), 0);
    l4h_check_rec rec = {0};
    assert_int_equal(l4h_check_array(tpath("tc.npy"), tpath("tr.npy"), sig, zf, &rec), 0);
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, (int64_t)expect_bad);
    free(rec.check);
    free(rec.report);
    free(r);
    free(c);
}

/* ----------------------------------------------------------- the check */

static l4h_check_rec run_check(const char *cand, const char *ref, int sig, double zf)
{
    l4h_check_rec rec = {0};
    assert_int_equal(l4h_check_array(tpath(cand), tpath(ref), sig, zf, &rec), 0);
    assert_non_null(rec.report);
    assert_non_null(rec.check);
    return rec;
}

static void rec_free(l4h_check_rec *rec)
{
    free(rec->check);
    free(rec->report);
}

static void array_exact_tolerance(void **state)
{
    (void)state;
    double r[6] = {1000, 1000, -1000, 2048, 1.23456, 0};
    double c[6] = {1000.5, 999.5, -1000.5, 2048.5, 1.23466, 1e-9};
    npy_write_f8(tpath("r1.npy"), r, 2, 3);
    npy_write_f8(tpath("c1.npy"), c, 2, 3);
    l4h_check_rec rec = run_check("c1.npy", "r1.npy", 4, 1e-9);
    assert_true(rec.passed);
    assert_int_equal(rec.n_bad, 0);
    assert_true(strncmp(rec.report, "PASS ", 5) == 0);
    assert_true(rec.max_rel_diff > 0 && rec.max_rel_diff <= 1.0);
    rec_free(&rec);
    c[3] = nextafter(2048.5, INFINITY);
    c[4] = 1.23556; /* 4th digit */
    npy_write_f8(tpath("c1.npy"), c, 2, 3);
    rec = run_check("c1.npy", "r1.npy", 4, 1e-9);
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, 2);
    assert_true(strncmp(rec.report, "FAIL ", 5) == 0);
    assert_contains(rec.report, "2 of 6 values");
    assert_contains(rec.report, "column 0: 1 of 2 rows differ, first at row 1");
    assert_contains(rec.report, "column 1: 1 of 2 rows differ, first at row 1");
    assert_contains(rec.report, "worst row 1");
    assert_contains(rec.report, "<-- differs");
    rec_free(&rec);
}

static void array_nan_positions(void **state)
{
    (void)state;
    double r[12], c[12];
    for (int i = 0; i < 12; i++)
        r[i] = c[i] = 10.0 + i;
    r[5] = c[5] = NAN; /* same position: fine */
    npy_write_f8(tpath("rn.npy"), r, 3, 4);
    npy_write_f8(tpath("cn.npy"), c, 3, 4);
    l4h_check_rec rec = run_check("cn.npy", "rn.npy", 4, 1e-9);
    assert_true(rec.passed);
    rec_free(&rec);
    c[5] = 15.0;  /* a number where the reference has NaN */
    c[10] = NAN;  /* NaN where the reference has a number */
    npy_write_f8(tpath("cn.npy"), c, 3, 4);
    rec = run_check("cn.npy", "rn.npy", 4, 1e-9);
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, 2);
    assert_contains(rec.report, "column 1: 1 of 3 rows differ, first at row 1");
    assert_contains(rec.report, "reference NaN in 1");
    assert_contains(rec.report, "column 2: 1 of 3 rows differ, first at row 2");
    assert_contains(rec.report, "candidate NaN in 1");
    rec_free(&rec);
}

static void array_zero_floor(void **state)
{
    (void)state;
    double r[4] = {0.0, 1e-12, 5e-7, 3.0};
    double c[4] = {9e-7, -9e-7, 1.4e-6, 3.0};
    npy_write_f8(tpath("rz.npy"), r, 4, 0);
    npy_write_f8(tpath("cz.npy"), c, 4, 0);
    l4h_check_rec rec = run_check("cz.npy", "rz.npy", 4, 1e-6);
    assert_true(rec.passed);
    rec_free(&rec);
    rec = run_check("cz.npy", "rz.npy", 4, 1e-9);
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, 3);
    assert_contains(rec.report, "worst element: index");
    rec_free(&rec);
}

static void array_shape_and_dtype_class(void **state)
{
    (void)state;
    double v[12] = {0};
    npy_write_f8(tpath("s34.npy"), v, 3, 4);
    npy_write_f8(tpath("s43.npy"), v, 4, 3);
    npy_write_f8(tpath("s33.npy"), v, 3, 3);
    npy_write_f8(tpath("s12.npy"), v, 12, 0);
    l4h_check_rec rec = run_check("s43.npy", "s34.npy", 4, 1e-9);
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, -1);
    assert_true(isnan(rec.max_rel_diff));
    assert_contains(rec.report, "shape mismatch: candidate (4, 3), reference (3, 4)");
    assert_contains(rec.report, "transposed or reshaped");
    rec_free(&rec);
    rec = run_check("s33.npy", "s34.npy", 4, 1e-9);
    assert_contains(rec.report, "1 column missing");
    rec_free(&rec);
    rec = run_check("s12.npy", "s34.npy", 4, 1e-9);
    assert_contains(rec.report, "candidate (12,), reference (3, 4)");
    rec_free(&rec);

    /* classes: int vs float fails; int32 vs int64 and uint vs int agree; bool vs int fails */
    uint64_t shape[1] = {4};
    int32_t i4[4] = {1, 2, 3, 4};
    int64_t i8[4] = {1, 2, 3, 4};
    uint8_t u1[4] = {1, 2, 3, 4}, b1[4] = {1, 0, 1, 1};
    float f4[4] = {1, 2, 3, 4};
    double f8[4] = {1, 2, 3, 4};
    npy_write_raw(tpath("i4.npy"), "<i4", 0, 1, shape, i4, sizeof i4);
    npy_write_raw(tpath("i8.npy"), "<i8", 0, 1, shape, i8, sizeof i8);
    npy_write_raw(tpath("u1.npy"), "|u1", 0, 1, shape, u1, sizeof u1);
    npy_write_raw(tpath("b1.npy"), "|b1", 0, 1, shape, b1, sizeof b1);
    npy_write_raw(tpath("f4.npy"), "<f4", 0, 1, shape, f4, sizeof f4);
    npy_write_raw(tpath("f8.npy"), "<f8", 0, 1, shape, f8, sizeof f8);
    rec = run_check("i4.npy", "f8.npy", 4, 1e-9);
    assert_false(rec.passed);
    assert_contains(rec.report, "dtype class mismatch: candidate int (<i4), reference float (<f8)");
    rec_free(&rec);
    rec = run_check("b1.npy", "i8.npy", 4, 1e-9);
    assert_false(rec.passed);
    assert_contains(rec.report, "candidate bool (|b1), reference int (<i8)");
    rec_free(&rec);
    rec = run_check("i4.npy", "i8.npy", 4, 1e-9);
    assert_true(rec.passed);
    rec_free(&rec);
    rec = run_check("u1.npy", "i4.npy", 4, 1e-9);
    assert_true(rec.passed);
    rec_free(&rec);
    rec = run_check("f4.npy", "f8.npy", 4, 1e-9);
    assert_true(rec.passed);
    rec_free(&rec);
}

static void array_missing_and_malformed(void **state)
{
    (void)state;
    double v[2] = {1, 2};
    npy_write_f8(tpath("ok.npy"), v, 2, 0);
    l4h_check_rec rec = run_check("absent.npy", "ok.npy", 4, 1e-9);
    assert_false(rec.passed);
    assert_int_equal(rec.n_bad, -1);
    assert_contains(rec.report, "the output was not written");
    rec_free(&rec);
    FILE *fp = fopen(tpath("junk.npy"), "w");
    fputs("x,y\n1,2\n", fp);
    fclose(fp);
    rec = run_check("junk.npy", "ok.npy", 4, 1e-9);
    assert_contains(rec.report, "not a readable numeric .npy");
    assert_contains(rec.report, "not a .npy file");
    rec_free(&rec);
    rec = run_check("ok.npy", "absent.npy", 4, 1e-9);
    assert_contains(rec.report, "the reference cannot be read");
    rec_free(&rec);
}

/* Zero- and NaN-filled columns are called out as data quality. */
static void array_data_quality(void **state)
{
    (void)state;
    enum { R = 50, C = 5 };
    double r[R * C], c[R * C];
    for (int i = 0; i < R * C; i++)
        r[i] = c[i] = 1.0 + i;
    for (int i = 0; i < R; i++) {
        c[i * C + 2] = 0.0; /* weights all zero */
        c[i * C + 4] = NAN;
    }
    npy_write_f8(tpath("rq.npy"), r, R, C);
    npy_write_f8(tpath("cq.npy"), c, R, C);
    l4h_check_rec rec = run_check("cq.npy", "rq.npy", 4, 1e-9);
    assert_false(rec.passed);
    assert_contains(rec.report, "\ndata quality: the candidate is NaN where the reference has numbers in column 4 (50 of 50 rows)");
    assert_contains(rec.report, "\ndata quality: the candidate is 0 where the reference is not in column 2 (50 of 50 rows)");
    rec_free(&rec);
    /* a single wrong zero is not a data-quality problem */
    for (int i = 0; i < R; i++) {
        c[i * C + 2] = r[i * C + 2];
        c[i * C + 4] = r[i * C + 4];
    }
    c[7] = 0;
    npy_write_f8(tpath("cq.npy"), c, R, C);
    rec = run_check("cq.npy", "rq.npy", 4, 1e-9);
    assert_false(rec.passed);
    assert_null(strstr(rec.report, "data quality"));
    rec_free(&rec);
}

/* Several chunks (> 1M values), Fortran against C order, both Fortran. */
static void array_chunks_and_orders(void **state)
{
    (void)state;
    const uint64_t R = 60000, C = 46; /* 2.76M values: three chunks */
    size_t n = (size_t)(R * C);
    double *r = malloc(n * sizeof *r), *c = malloc(n * sizeof *c), *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++)
        r[i] = c[i] = (double)(i % 977) * 1.5 + 0.25;
    c[(R - 1) * C + 44] += 1.0;   /* last row */
    c[23456 * C + 3] *= 1.01;     /* a row inside the second chunk */
    npy_write_f8(tpath("big_r.npy"), r, R, C);
    npy_write_f8(tpath("big_c.npy"), c, R, C);
    uint64_t shape[2] = {R, C};
    for (uint64_t i = 0; i < R; i++) /* Fortran copies */
        for (uint64_t j = 0; j < C; j++)
            f[j * R + i] = c[i * C + j];
    npy_write_raw(tpath("big_cF.npy"), "<f8", 1, 2, shape, f, n * 8);
    for (uint64_t i = 0; i < R; i++)
        for (uint64_t j = 0; j < C; j++)
            f[j * R + i] = r[i * C + j];
    npy_write_raw(tpath("big_rF.npy"), "<f8", 1, 2, shape, f, n * 8);
    const char *pairs[3][2] = {{"big_c.npy", "big_r.npy"}, {"big_cF.npy", "big_r.npy"}, {"big_cF.npy", "big_rF.npy"}};
    for (int k = 0; k < 3; k++) {
        l4h_check_rec rec = run_check(pairs[k][0], pairs[k][1], 4, 1e-9);
        assert_false(rec.passed);
        assert_int_equal(rec.n_bad, 2);
        assert_contains(rec.report, "column 3: 1 of 60000 rows differ, first at row 23456");
        assert_contains(rec.report, "column 44: 1 of 60000 rows differ, first at row 59999");
        assert_contains(rec.report, "in 2 of 46 columns");
        assert_contains(rec.report, "worst row 23456 (column 3)");
        rec_free(&rec);
    }
    l4h_check_rec rec = run_check("big_rF.npy", "big_r.npy", 4, 1e-9);
    assert_true(rec.passed);
    assert_true(rec.max_rel_diff == 0.0);
    rec_free(&rec);
    free(r);
    free(c);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(at_and_beyond_tolerance),
        cmocka_unit_test(fifth_digit_passes_fourth_fails),
        cmocka_unit_test(decade_boundaries),
        cmocka_unit_test(zeros_and_zero_floor),
        cmocka_unit_test(nan_and_inf),
        cmocka_unit_test(table_agrees_with_rule),
        cmocka_unit_test(array_exact_tolerance),
        cmocka_unit_test(array_nan_positions),
        cmocka_unit_test(array_zero_floor),
        cmocka_unit_test(array_shape_and_dtype_class),
        cmocka_unit_test(array_missing_and_malformed),
        cmocka_unit_test(array_data_quality),
        cmocka_unit_test(array_chunks_and_orders),
    };
    return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
