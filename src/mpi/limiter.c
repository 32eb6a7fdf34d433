/* limiter.c — rank 0's permits: for every endpoint at most max_concurrency
 * requests in flight across the whole campaign and at most
 * requests_per_minute (a token bucket refilled continuously, one request of
 * burst), with the allowed concurrency halved on a 429 and grown back by one
 * per "window" of successes (additive increase, multiplicative decrease).
 * Requests wait in FIFO order; nothing here blocks. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

typedef struct waiter {
    int rank;
    struct waiter *next;
} waiter;

typedef struct ep_state {
    const char *name;
    double max_conc;     /* 0 = unlimited */
    double allowed;      /* current AIMD window */
    int in_flight;
    double rate;         /* requests per second, 0 = unlimited */
    double tokens;
    double last_refill;
    waiter *head, *tail;
} ep_state;

struct limiter {
    ep_state *eps;
    size_t n;
};

limiter *mpi_limiter_new(const l4h_config *cfg)
{
    limiter *l = l4h_xcalloc(1, sizeof *l);
    l->n = cfg->n_endpoints;
    l->eps = l4h_xcalloc(l->n ? l->n : 1, sizeof *l->eps);
    for (size_t i = 0; i < l->n; i++) {
        ep_state *e = &l->eps[i];
        e->name = cfg->endpoints[i].name;
        e->max_conc = cfg->endpoints[i].max_concurrency;
        e->allowed = e->max_conc > 0 ? e->max_conc : INFINITY;
        e->rate = cfg->endpoints[i].requests_per_minute / 60.0;
        e->tokens = 1.0;
        e->last_refill = l4h_monotonic();
    }
    return l;
}

static ep_state *find(limiter *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->eps[i].name, name))
            return &l->eps[i];
    return NULL;
}

static void answer(l4h_link *ln, int rank, int granted)
{
    int32_t g = granted;
    mpi_link_send(ln, 0, rank, TAG_PERMIT_ANS, &g, sizeof g);
}

/* Grant queued requests while the window and the bucket allow. */
static void grant(ep_state *e, l4h_link *ln)
{
    double now = l4h_monotonic();
    if (e->rate > 0) {
        e->tokens = fmin(1.0, e->tokens + (now - e->last_refill) * e->rate);
        e->last_refill = now;
    }
    while (e->head && e->in_flight < floor(e->allowed < 1 ? 1 : e->allowed)) {
        if (e->rate > 0) {
            if (e->tokens < 1.0)
                break;
            e->tokens -= 1.0;
        }
        waiter *w = e->head;
        e->head = w->next;
        if (!e->head)
            e->tail = NULL;
        e->in_flight++;
        answer(ln, w->rank, 1);
        free(w);
    }
}

void mpi_limiter_request(limiter *l, l4h_link *ln, int rank, const char *endpoint)
{
    ep_state *e = find(l, endpoint);
    if (!e) {
        answer(ln, rank, 1); /* not rate-limited (scripted, replay, unknown) */
        return;
    }
    waiter *w = l4h_xcalloc(1, sizeof *w);
    w->rank = rank;
    if (e->tail)
        e->tail->next = w;
    else
        e->head = w;
    e->tail = w;
    grant(e, ln);
}

void mpi_limiter_release(limiter *l, l4h_link *ln, const char *endpoint, int http_status)
{
    ep_state *e = find(l, endpoint);
    if (!e)
        return;
    if (e->in_flight > 0)
        e->in_flight--;
    if (http_status == 429) {
        double base = isinf(e->allowed) ? e->in_flight + 1 : e->allowed;
        e->allowed = fmax(1.0, base / 2.0);
    } else if (http_status >= 200 && http_status < 300 && !isinf(e->allowed)) {
        e->allowed += 1.0 / e->allowed;
        if (e->max_conc > 0 && e->allowed > e->max_conc)
            e->allowed = e->max_conc;
        if (e->max_conc == 0 && e->allowed > 1e6)
            e->allowed = INFINITY;
    }
    grant(e, ln);
}

void mpi_limiter_tick(limiter *l, l4h_link *ln)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->eps[i].head)
            grant(&l->eps[i], ln);
}

void mpi_limiter_free(limiter *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        while (l->eps[i].head) {
            waiter *w = l->eps[i].head;
            l->eps[i].head = w->next;
            free(w);
        }
    free(l->eps);
    free(l);
}
