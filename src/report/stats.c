/* stats.c — the statistics of a report: Wilson intervals, pass@k and
 * pass^k, the exact McNemar test and Holm's adjustment. Pure functions. */
#include <math.h>
#include <stdlib.h>

#include "llm4hep/report.h"
#include "report_internal.h"

void report_wilson(int64_t k, int64_t n, double z, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    double nn = (double)n, p = (double)k / nn, z2 = z * z;
    double denom = 1.0 + z2 / nn;
    double centre = (p + z2 / (2.0 * nn)) / denom;
    double half = z * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denom;
    *lo = centre - half < 0.0 ? 0.0 : centre - half;
    *hi = centre + half > 1.0 ? 1.0 : centre + half;
}

double report_pass_at_k(int64_t n, int64_t c, int64_t k)
{
    if (k < 1 || k > n || c < 0 || c > n)
        return NAN;
    if (n - c < k)
        return 1.0;
    /* 1 - prod_{i = n-c+1}^{n} (1 - k / i): Chen et al.'s stable form */
    double prod = 1.0;
    for (int64_t i = n - c + 1; i <= n; i++)
        prod *= 1.0 - (double)k / (double)i;
    return 1.0 - prod;
}

double report_pass_hat_k(int64_t n, int64_t c, int64_t k)
{
    if (k < 1 || k > n || c < 0 || c > n)
        return NAN;
    if (c < k)
        return 0.0;
    double prod = 1.0;
    for (int64_t i = 0; i < k; i++)
        prod *= (double)(c - i) / (double)(n - i);
    return prod;
}

double report_mcnemar_exact_p(int64_t b, int64_t c)
{
    int64_t m = b + c, lo = b < c ? b : c;
    if (m <= 0)
        return 1.0;
    /* sum of C(m, i) / 2^m for i <= lo, in log space (m may be large) */
    double base = lgamma((double)m + 1.0) - (double)m * log(2.0), sum = 0.0;
    for (int64_t i = 0; i <= lo; i++)
        sum += exp(base - lgamma((double)i + 1.0) - lgamma((double)(m - i) + 1.0));
    double p = 2.0 * sum;
    return p > 1.0 ? 1.0 : p;
}

void report_holm(double *p, size_t n)
{
    if (n == 0)
        return;
    /* out of memory is said and aborts (core.h): p-values left unadjusted
     * would pass for adjusted ones */
    size_t *ord = l4h_xcalloc(n, sizeof *ord);
    double *adj = l4h_xcalloc(n, sizeof *adj);
    for (size_t i = 0; i < n; i++)
        ord[i] = i;
    for (size_t i = 1; i < n; i++) { /* insertion sort by p: n is small (pairs) */
        size_t v = ord[i], j = i;
        while (j > 0 && p[ord[j - 1]] > p[v]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = v;
    }
    double run = 0.0;
    for (size_t r = 0; r < n; r++) {
        double a = (double)(n - r) * p[ord[r]];
        if (a > 1.0)
            a = 1.0;
        if (a < run)
            a = run;
        run = a;
        adj[ord[r]] = a;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = adj[i];
    free(ord);
    free(adj);
}
