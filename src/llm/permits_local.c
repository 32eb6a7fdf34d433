/* permits_local.c — the rate-limit permits of one process (`llm4hep run`):
 * per endpoint at most max_concurrency requests in flight and
 * requests_per_minute, evenly spaced (one slot every 60/rpm seconds, no
 * bursts, so a server enforcing the same rate never has to refuse). A 429
 * halves the allowed concurrency, once per window of requests already in
 * flight; each success adds 1/limit back (AIMD, as TCP). Thread-safe: one mutex and condition variable for all endpoints.
 * `sweep` relays the same interface to rank 0 (src/mpi). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm_internal.h"

/* An endpoint without max_concurrency that was throttled is unlimited again
 * once its AIMD limit grows past this (about 2000 successes from 1). */
#define UNLIMITED_AGAIN 64

typedef struct ep_limit {
    char *name;
    int max_concurrency;   /* 0 = unlimited */
    double limit;          /* allowed in flight now (AIMD); 0 = unlimited */
    int in_flight;
    double interval_s;     /* 60 / requests_per_minute; 0 = unlimited */
    double next_slot;      /* monotonic time of the next free start slot */
    int throttled;         /* 429s seen */
    int window;            /* releases left before another 429 may shrink the limit */
} ep_limit;

typedef struct local_permits {
    l4h_permits iface;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ep_limit *eps;
    size_t n_eps;
    double spent_usd;
    int64_t spent_tokens;
} local_permits;

/* The endpoint's limiter; an endpoint the config does not know is unlimited
 * (added on first use). Called with the mutex held. */
static ep_limit *find_ep(local_permits *lp, const char *name)
{
    for (size_t i = 0; i < lp->n_eps; i++)
        if (strcmp(lp->eps[i].name, name) == 0)
            return &lp->eps[i];
    lp->eps = l4h_xrealloc(lp->eps, (lp->n_eps + 1) * sizeof *lp->eps);
    ep_limit *e = &lp->eps[lp->n_eps++];
    memset(e, 0, sizeof *e);
    e->name = l4h_xstrdup(name);
    return e;
}

/* Absolute CLOCK_MONOTONIC time for a l4h_monotonic() deadline. */
static struct timespec abs_time(double deadline)
{
    double rel = deadline - l4h_monotonic();
    if (rel < 0)
        rel = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double whole = floor(rel);
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((rel - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Whether one more request may start now under the concurrency limit. */
static int conc_ok(const ep_limit *e)
{
    if (e->limit <= 0)
        return 1;
    int allowed = (int)floor(e->limit);
    return e->in_flight < (allowed < 1 ? 1 : allowed);
}

/* Block until the endpoint has room and its next rate slot comes; 0
 * granted, -1 when the deadline (monotonic, 0 = none) passes first.
 * A slot is taken when it is granted, not promised in advance: the next slot
 * is one interval after the moment this one was actually taken, so a thread
 * that wakes late (a loaded machine) delays the ones after it instead of
 * sending them in a burst behind it. */
static int local_acquire(void *ctx, const char *endpoint, double deadline)
{
    local_permits *lp = ctx;
    pthread_mutex_lock(&lp->mu);
    ep_limit *e = find_ep(lp, endpoint);
    int granted = 0;
    for (;;) {
        double now = l4h_monotonic();
        int room = conc_ok(e);
        if (room && (e->interval_s <= 0 || now >= e->next_slot)) {
            if (e->interval_s > 0)
                e->next_slot = now + e->interval_s;
            e->in_flight++;
            granted = 1;
            break;
        }
        if (deadline > 0 && (now >= deadline || (room && e->next_slot > deadline)))
            break; /* the deadline passed, or the next slot comes after it */
        double wake = room ? e->next_slot : deadline; /* 0: until a release */
        if (deadline > 0 && wake > deadline)
            wake = deadline;
        if (wake > 0) {
            struct timespec ts = abs_time(wake);
            pthread_cond_timedwait(&lp->cv, &lp->mu, &ts);
        } else {
            pthread_cond_wait(&lp->cv, &lp->mu);
        }
    }
    pthread_mutex_unlock(&lp->mu);
    return granted ? 0 : -1;
}

/* Give the permit back; 429 halves the allowed concurrency, a success grows
 * it by 1/limit up to max_concurrency. Can't fail. */
static void local_release(void *ctx, const char *endpoint, int http_status)
{
    local_permits *lp = ctx;
    pthread_mutex_lock(&lp->mu);
    ep_limit *e = find_ep(lp, endpoint);
    if (e->in_flight > 0)
        e->in_flight--;
    int in_window = e->window > 0;
    if (in_window)
        e->window--;
    if (http_status == 429) {
        e->throttled++;
        /* Halve once per window, as TCP does: the requests already in flight
         * when the limit shrank were sent under the old limit, and their
         * 429s say nothing new. */
        if (!in_window) {
            double base = e->limit > 0 ? e->limit : (double)(e->in_flight + 1);
            e->limit = base / 2 < 1 ? 1 : base / 2;
            e->window = e->in_flight;
        }
    } else if (http_status >= 200 && http_status < 300 && e->limit > 0) {
        e->limit += 1.0 / e->limit;
        if (e->max_concurrency > 0 && e->limit > e->max_concurrency)
            e->limit = e->max_concurrency;
        else if (e->max_concurrency == 0 && e->limit > UNLIMITED_AGAIN)
            e->limit = 0; /* recovered: unlimited again */
    }
    pthread_cond_broadcast(&lp->cv);
    pthread_mutex_unlock(&lp->mu);
}

/* Add one call's cost (NaN or negative counts as 0) and tokens (saturating);
 * the total so far. */
static double local_spend(void *ctx, double usd, int64_t tokens)
{
    local_permits *lp = ctx;
    pthread_mutex_lock(&lp->mu);
    if (isfinite(usd) && usd > 0)
        lp->spent_usd += usd;
    if (tokens > 0)
        lp->spent_tokens = l4h_add_sat_i64(lp->spent_tokens, tokens);
    double total = lp->spent_usd;
    pthread_mutex_unlock(&lp->mu);
    return total;
}

l4h_permits *l4h_permits_local_new(const l4h_config *cfg)
{
    local_permits *lp = l4h_xcalloc(1, sizeof *lp);
    pthread_mutex_init(&lp->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&lp->cv, &ca);
    pthread_condattr_destroy(&ca);
    for (size_t i = 0; cfg && i < cfg->n_endpoints; i++) {
        const l4h_endpoint *src = &cfg->endpoints[i];
        ep_limit *e = find_ep(lp, src->name);
        e->max_concurrency = src->max_concurrency > 0 ? src->max_concurrency : 0;
        e->limit = e->max_concurrency;
        e->interval_s = src->requests_per_minute > 0 ? 60.0 / src->requests_per_minute : 0;
    }
    lp->iface.ctx = lp;
    lp->iface.acquire = local_acquire;
    lp->iface.release = local_release;
    lp->iface.spend = local_spend;
    return &lp->iface;
}

void l4h_permits_local_free(l4h_permits *p)
{
    if (!p)
        return;
    local_permits *lp = p->ctx;
    for (size_t i = 0; i < lp->n_eps; i++)
        free(lp->eps[i].name);
    free(lp->eps);
    pthread_cond_destroy(&lp->cv);
    pthread_mutex_destroy(&lp->mu);
    free(lp);
}

int l4h_permits_local_state(l4h_permits *p, const char *endpoint, double *limit, int *in_flight,
                            int *throttled)
{
    local_permits *lp = p->ctx;
    int rc = -1;
    pthread_mutex_lock(&lp->mu);
    for (size_t i = 0; i < lp->n_eps; i++) {
        if (strcmp(lp->eps[i].name, endpoint) == 0) {
            if (limit)
                *limit = lp->eps[i].limit;
            if (in_flight)
                *in_flight = lp->eps[i].in_flight;
            if (throttled)
                *throttled = lp->eps[i].throttled;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&lp->mu);
    return rc;
}
