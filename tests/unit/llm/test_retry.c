/* test_retry.c — backoff math with an injected random source, Retry-After
 * parsing (seconds and the three HTTP date forms), which statuses retry, and
 * the local permits' AIMD bookkeeping. No timing assertions. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/llm/llm_internal.h"

static double fixed_rng(void *ctx) { return *(double *)ctx; }

static void test_full_jitter_bounds(void **s)
{
    (void)s;
    l4h_retry_cfg rc = {8, 2.0, 120.0};
    double u = 0.5;
    assert_float_equal(llm_backoff_s(&rc, 1, fixed_rng, &u), 1.0, 1e-12);  /* 0.5 * 2 */
    assert_float_equal(llm_backoff_s(&rc, 2, fixed_rng, &u), 2.0, 1e-12);  /* 0.5 * 4 */
    assert_float_equal(llm_backoff_s(&rc, 4, fixed_rng, &u), 8.0, 1e-12);  /* 0.5 * 16 */
    assert_float_equal(llm_backoff_s(&rc, 7, fixed_rng, &u), 60.0, 1e-12); /* capped 120 */
    assert_float_equal(llm_backoff_s(&rc, 500, fixed_rng, &u), 60.0, 1e-12);
    u = 0.0;
    assert_float_equal(llm_backoff_s(&rc, 3, fixed_rng, &u), 0.0, 0);
    u = 1.0; /* out of range is clamped below the ceiling */
    double w = llm_backoff_s(&rc, 3, fixed_rng, &u);
    assert_true(w < 8.0 && w > 7.99);
    u = -3; /* never negative */
    assert_float_equal(llm_backoff_s(&rc, 3, fixed_rng, &u), 0.0, 0);
}

static void test_default_rng_in_range(void **s)
{
    (void)s;
    l4h_retry_cfg rc = {8, 0.5, 4.0};
    double lo = 1e9, hi = -1;
    for (int i = 0; i < 2000; i++) {
        double w = llm_backoff_s(&rc, 3, NULL, NULL); /* ceiling 2.0 */
        assert_true(w >= 0 && w < 2.0);
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
    }
    assert_true(lo < 0.2 && hi > 1.8); /* it is jittered over the whole range */
}

static void test_retry_after(void **s)
{
    (void)s;
    double now = 1795800000.0;
    assert_float_equal(llm_retry_after_parse("120", now), 120, 0);
    assert_float_equal(llm_retry_after_parse(" 1.5 ", now), 1.5, 0);
    assert_float_equal(llm_retry_after_parse("0", now), 0, 0);
    assert_true(llm_retry_after_parse("", now) < 0);
    assert_true(llm_retry_after_parse(NULL, now) < 0);
    assert_true(llm_retry_after_parse("-5", now) < 0);
    assert_true(llm_retry_after_parse("12abc", now) < 0);
    assert_true(llm_retry_after_parse("soon", now) < 0);
    /* the three HTTP date forms, 30 s after "now" (784111777 = 1994-11-06T08:49:37Z) */
    assert_float_equal(llm_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", 784111777.0 - 30),
                       30, 0);
    assert_float_equal(llm_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", 784111777.0 - 30),
                       30, 0);
    assert_float_equal(llm_retry_after_parse("Sun Nov  6 08:49:37 1994", 784111777.0 - 30), 30, 0);
    /* a date in the past means now */
    assert_float_equal(llm_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", now), 0, 0);
}

static void test_which_statuses_retry(void **s)
{
    (void)s;
    int yes[] = {408, 409, 425, 429, 500, 502, 503, 504, 599};
    int no[] = {200, 400, 401, 403, 404, 405, 413, 422};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_true(llm_status_retryable(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(llm_status_retryable(no[i]));
}

static void test_permits_aimd(void **s)
{
    (void)s;
    l4h_endpoint eps[2] = {{.name = "cborg", .max_concurrency = 8},
                           {.name = "open"}};
    l4h_config cfg = {.endpoints = eps, .n_endpoints = 2};
    l4h_permits *p = l4h_permits_local_new(&cfg);
    double limit;
    int inflight, thr;
    assert_int_equal(l4h_permits_local_state(p, "cborg", &limit, &inflight, &thr), 0);
    assert_float_equal(limit, 8, 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(p->acquire(p->ctx, "cborg", 0), 0);
    /* full: a deadline already passed gives up instead of blocking */
    assert_int_equal(p->acquire(p->ctx, "cborg", l4h_monotonic() - 1), -1);
    p->release(p->ctx, "cborg", 429);
    l4h_permits_local_state(p, "cborg", &limit, &inflight, &thr);
    assert_float_equal(limit, 4, 0);
    assert_int_equal(inflight, 7);
    assert_int_equal(thr, 1);
    /* the other 7 were in flight under the old limit: their 429s do not shrink it again */
    p->release(p->ctx, "cborg", 429);
    p->release(p->ctx, "cborg", 429);
    p->release(p->ctx, "cborg", 429);
    l4h_permits_local_state(p, "cborg", &limit, &inflight, &thr);
    assert_float_equal(limit, 4, 0);
    assert_int_equal(inflight, 4);
    assert_int_equal(thr, 4);
    for (int i = 0; i < 4; i++) /* the window closes */
        p->release(p->ctx, "cborg", 500);
    for (int i = 0; i < 4; i++)
        assert_int_equal(p->acquire(p->ctx, "cborg", 0), 0);
    /* 4 in flight with limit 4: no new permit until one is back */
    assert_int_equal(p->acquire(p->ctx, "cborg", l4h_monotonic() - 1), -1);
    p->release(p->ctx, "cborg", 429); /* a new window: 4 -> 2 */
    p->release(p->ctx, "cborg", 429); /* in it: ignored */
    l4h_permits_local_state(p, "cborg", &limit, NULL, NULL);
    assert_float_equal(limit, 2, 0);
    p->release(p->ctx, "cborg", 200); /* successes grow it: 2 -> 2.5 */
    p->release(p->ctx, "cborg", 200); /* 2.5 -> 2.9, and the window closes */
    assert_int_equal(p->acquire(p->ctx, "cborg", 0), 0);
    p->release(p->ctx, "cborg", 429); /* 2.9 -> 1.45 */
    assert_int_equal(p->acquire(p->ctx, "cborg", 0), 0);
    p->release(p->ctx, "cborg", 429); /* 1.45 -> 1 (never below one) */
    l4h_permits_local_state(p, "cborg", &limit, &inflight, NULL);
    assert_float_equal(limit, 1, 0);
    assert_int_equal(inflight, 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(p->acquire(p->ctx, "cborg", 0), 0);
        p->release(p->ctx, "cborg", 200);
    }
    l4h_permits_local_state(p, "cborg", &limit, &inflight, NULL);
    /* additive increase: 1 -> 2 -> 2.5 -> 2.9 -> 3.24 */
    assert_float_equal(limit, 1 + 1 + 0.5 + 0.4 + 1 / 2.9, 1e-9);
    for (int i = 0; i < 500; i++) {
        assert_int_equal(p->acquire(p->ctx, "cborg", 0), 0);
        p->release(p->ctx, "cborg", 200);
    }
    l4h_permits_local_state(p, "cborg", &limit, NULL, NULL);
    assert_float_equal(limit, 8, 0); /* back to max_concurrency, not beyond */
    /* an unlimited endpoint gets a limit after a 429 */
    assert_int_equal(p->acquire(p->ctx, "open", 0), 0);
    assert_int_equal(p->acquire(p->ctx, "open", 0), 0);
    p->release(p->ctx, "open", 429);
    l4h_permits_local_state(p, "open", &limit, NULL, NULL);
    assert_float_equal(limit, 1, 0);
    p->release(p->ctx, "open", 200);
    /* unknown endpoints are unlimited, and spending adds up (NaN counts 0) */
    assert_int_equal(p->acquire(p->ctx, "elsewhere", 0), 0);
    p->release(p->ctx, "elsewhere", 200);
    assert_float_equal(p->spend(p->ctx, 0.25, 100), 0.25, 1e-12);
    assert_float_equal(p->spend(p->ctx, NAN, 100), 0.25, 1e-12);
    assert_float_equal(p->spend(p->ctx, 0.5, 100), 0.75, 1e-12);
    l4h_permits_local_free(p);
}

static void test_permits_rate_slot_respects_deadline(void **s)
{
    (void)s;
    l4h_endpoint ep = {.name = "slow", .requests_per_minute = 1}; /* one a minute */
    l4h_config cfg = {.endpoints = &ep, .n_endpoints = 1};
    l4h_permits *p = l4h_permits_local_new(&cfg);
    assert_int_equal(p->acquire(p->ctx, "slow", 0), 0); /* the first slot is now */
    p->release(p->ctx, "slow", 200);
    /* the next slot is a minute away: a 1 s deadline refuses at once */
    assert_int_equal(p->acquire(p->ctx, "slow", l4h_monotonic() + 1), -1);
    l4h_permits_local_free(p);
}

/* A server's wait is capped by retry.max_s; NaN and negatives are no wait. */
static void test_wait_cap(void **s)
{
    (void)s;
    l4h_retry_cfg rc = {8, 2.0, 120.0};
    int capped = -1;
    assert_true(llm_wait_cap(&rc, 100000, &capped) == 120.0 && capped == 1);
    assert_true(llm_wait_cap(&rc, 30, &capped) == 30.0 && capped == 0);
    assert_true(llm_wait_cap(&rc, NAN, &capped) == 0.0 && capped == 0);
    assert_true(llm_wait_cap(&rc, -5, &capped) == 0.0);
    assert_true(llm_wait_cap(&rc, INFINITY, &capped) == 120.0 && capped == 1);
    l4h_retry_cfg zero = {1, 0, 0};
    assert_true(llm_wait_cap(&zero, 1e9, &capped) == L4H_LLM_WAIT_MAX_DEFAULT_S);
    /* a huge Retry-After parses (the cap applies afterwards), a hostile one does not */
    assert_true(llm_retry_after_parse("100000", 0) == 100000.0);
    assert_true(llm_retry_after_parse("1e400", 0) == -1);
    assert_true(llm_retry_after_parse("nan", 0) == -1);
    assert_true(llm_retry_after_parse("-3", 0) == -1);
}

/* l4h_sleep_s sleeps the whole time until a handler interrupts waits; from
 * then on every wait returns -1 at once. */
static void test_interruptible_sleep(void **s)
{
    (void)s;
    double t0 = l4h_monotonic();
    assert_int_equal(l4h_sleep_s(0.12), 0);
    assert_true(l4h_monotonic() - t0 >= 0.12);
    assert_int_equal(l4h_waits_interrupted(), 0);
    l4h_interrupt_waits();
    t0 = l4h_monotonic();
    assert_int_equal(l4h_sleep_s(100000), -1);
    assert_true(l4h_monotonic() - t0 < 1);
    assert_int_equal(l4h_waits_interrupted(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_jitter_bounds),
        cmocka_unit_test(test_default_rng_in_range),
        cmocka_unit_test(test_wait_cap),
        cmocka_unit_test(test_interruptible_sleep), /* last: it interrupts for good */
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_which_statuses_retry),
        cmocka_unit_test(test_permits_aimd),
        cmocka_unit_test(test_permits_rate_slot_respects_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
