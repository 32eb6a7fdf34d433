/* tolerance.c — docs/design.md's array tolerance:
 *   |c - r| <= 0.5 * 10^(floor(log10 |r|) - sig_digits + 1)
 * and |c - r| <= zero_floor when |r| < zero_floor; NaN matches NaN only.
 *
 * The decade of |r| is the largest d with |r| >= (nearest double to 10^d), and
 * the half unit is the nearest double to 5 * 10^(d - sig_digits), so values
 * written in decimal (1000.5 vs 1000, 0.12345 vs 0.1234) behave as a person
 * reading them expects, without log10() rounding at decade boundaries. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"

static double decimal(int mantissa, int exp10)
{
    char s[32];
    snprintf(s, sizeof s, "%de%d", mantissa, exp10);
    return strtod(s, NULL);
}

/* floor(e * log10(2)) exactly for |e| < 1650. */
static int floor_log10_pow2(int e)
{
    return (int)(((int64_t)e * 78913) >> 18);
}

void check_tol_init(l4h_tol *t, int sig_digits, double zero_floor)
{
    if (sig_digits < 1)
        sig_digits = 1;
    if (!(zero_floor >= 0))
        zero_floor = 0;
    t->sig_digits = sig_digits;
    t->zero_floor = zero_floor;
    for (int d = L4H_TOL_DMIN; d <= L4H_TOL_DMAX; d++) {
        t->pow10[d - L4H_TOL_DMIN] = decimal(1, d);
        t->half_unit[d - L4H_TOL_DMIN] = decimal(5, d - sig_digits);
    }
    for (int be = 0; be < 2048; be++) {
        double lo;
        if (be == 2047) {
            lo = -1; /* inf, NaN */
        } else if (be == 0) {
            /* zero and subnormals: all below zero_floor, or take the exact path */
            lo = zero_floor >= DBL_MIN ? zero_floor : -1;
        } else {
            int e = be - 1023;
            double b0 = ldexp(1.0, e);
            double hu = t->half_unit[floor_log10_pow2(e) - L4H_TOL_DMIN];
            if (e < 1023 && ldexp(1.0, e + 1) <= zero_floor)
                lo = zero_floor;
            else if (b0 >= zero_floor)
                lo = hu;
            else
                lo = hu < zero_floor ? hu : zero_floor;
        }
        t->fast[be] = lo;
    }
}

/* floor(log10 x) for finite x > 0: the largest d with x >= pow10[d]. */
static int floor_log10(const l4h_tol *t, double x)
{
    int e2;
    (void)frexp(x, &e2); /* x = m * 2^e2, m in [0.5, 1) */
    int d = floor_log10_pow2(e2 - 1);
    if (d + 1 <= L4H_TOL_DMAX && x >= t->pow10[d + 1 - L4H_TOL_DMIN])
        d++;
    return d;
}

/* The rule. With t, the decade and half unit come from its tables; without,
 * they are computed for this one value (the same numbers). */
static int rule(const l4h_tol *t, double c, double r, int sig_digits, double zero_floor)
{
    if (isnan(r) || isnan(c))
        return isnan(r) && isnan(c);
    if (c == r)
        return 1;
    double ar = fabs(r);
    if (isinf(ar) || isinf(c))
        return 0;
    double diff = fabs(c - r);
    if (ar < zero_floor)
        return diff <= zero_floor;
    if (ar == 0)
        return 0; /* zero_floor 0: only an exact zero matches zero */
    if (t)
        return diff <= t->half_unit[floor_log10(t, ar) - L4H_TOL_DMIN];
    int e2;
    (void)frexp(ar, &e2);
    int d = floor_log10_pow2(e2 - 1);
    if (ar >= decimal(1, d + 1))
        d++;
    return diff <= decimal(5, d - sig_digits);
}

int check_tol_match(const l4h_tol *t, double c, double r)
{
    return rule(t, c, r, t->sig_digits, t->zero_floor);
}

int check_value_matches(double c, double r, int sig_digits, double zero_floor)
{
    return rule(NULL, c, r, sig_digits < 1 ? 1 : sig_digits, zero_floor >= 0 ? zero_floor : 0);
}
