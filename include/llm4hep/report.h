/* report.h — statistics over the final rows of results files and the
 * `report`, `show`, `errors`, `explain` verbs' output. */
#ifndef LLM4HEP_REPORT_H
#define LLM4HEP_REPORT_H

#include "llm4hep/core.h"

/* 95 % Wilson score interval for k successes in n trials (z = 1.96).
 * n == 0 gives [0, 1]. Can't fail. */
void l4h_wilson(int64_t k, int64_t n, double z, double *lo, double *hi);
/* Unbiased pass@k from n samples with c successes (Chen et al. 2021);
 * k > n gives NaN. */
double l4h_pass_at_k(int64_t n, int64_t c, int64_t k);
/* pass^k: probability that k samples drawn without replacement all succeed. */
double l4h_pass_hat_k(int64_t n, int64_t c, int64_t k);
/* Two-sided exact McNemar (binomial) p-value for discordant counts b, c. */
double l4h_mcnemar_exact_p(int64_t b, int64_t c);

#endif
