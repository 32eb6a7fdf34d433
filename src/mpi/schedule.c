/* schedule.c — rank 0's dispatch queue: longest expected task first.
 *
 * The tasks of one (supervisor, coder, step) form a group and are expected to
 * take the same time: the mean wall time of the group's tasks measured so far,
 * in this run or an earlier run of the campaign (trial 1 predicts trials
 * 2..N). Greedy list scheduling in plan order leaves a long task for the end
 * and sits near 1.2x the lower bound on heavy-tailed campaigns; longest first
 * packs the short tasks into the tail.
 *
 * A group nothing is measured of yet comes before every measured group: its
 * duration is learnt early (it may be the longest). Ties go to the order the
 * tasks were queued in: plan order, which is trial-interleaved, so a campaign
 * cut short still covers every model and step evenly, and a campaign that
 * knows nothing yet dispatches in plan order exactly; a task queued again (an
 * infrastructure retry) goes behind what was already waiting, so a failing
 * endpoint is not asked again at once.
 *
 * Groups that have queued tasks sit in a binary max-heap (indexed, so a
 * group's key can change in place when it learns a duration); each group
 * keeps its queued tasks in a FIFO. Pop and learn are O(log groups). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

typedef struct group {
    double sum_wall;     /* measured wall times */
    int n_measured;
    int *fifo;           /* queued plan indices, oldest first */
    size_t head, len, cap;
    int heap_pos;        /* position in the heap, -1 when the group has nothing queued */
} group;

struct sched {
    size_t n_tasks, n_groups, queued;
    int *group_of;       /* plan index -> group */
    uint64_t *queued_at; /* plan index -> when it was (last) queued, in pushes */
    uint64_t pushes;
    group *g;
    int *heap;           /* group ids */
    size_t heap_len;
};

/* FNV-1a over the group's identity. */
static uint64_t group_hash(const l4h_task *t)
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[3] = {t->supervisor, t->coder, t->step ? t->step->name : ""};
    for (int i = 0; i < 3; i++) {
        for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull; /* separator */
    }
    return h;
}

static int same_group(const l4h_task *a, const l4h_task *b)
{
    return !strcmp(a->supervisor, b->supervisor) && !strcmp(a->coder, b->coder) &&
           !strcmp(a->step->name, b->step->name);
}

/* Expected wall time of a group's tasks; +inf when nothing is measured yet. */
static double expected(const group *g)
{
    return g->n_measured ? g->sum_wall / g->n_measured : INFINITY;
}

/* 1 when group a should be dispatched before group b. */
static int before(const sched *s, int a, int b)
{
    double ea = expected(&s->g[a]), eb = expected(&s->g[b]);
    if (ea != eb)
        return ea > eb;
    return s->queued_at[s->g[a].fifo[s->g[a].head]] < s->queued_at[s->g[b].fifo[s->g[b].head]];
}

static void heap_set(sched *s, size_t pos, int gid)
{
    s->heap[pos] = gid;
    s->g[gid].heap_pos = (int)pos;
}

static void sift_up(sched *s, size_t pos)
{
    int gid = s->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!before(s, gid, s->heap[parent]))
            break;
        heap_set(s, pos, s->heap[parent]);
        pos = parent;
    }
    heap_set(s, pos, gid);
}

static void sift_down(sched *s, size_t pos)
{
    int gid = s->heap[pos];
    for (;;) {
        size_t l = 2 * pos + 1, r = l + 1, best = pos;
        int best_gid = gid;
        if (l < s->heap_len && before(s, s->heap[l], best_gid))
            best = l, best_gid = s->heap[l];
        if (r < s->heap_len && before(s, s->heap[r], best_gid))
            best = r, best_gid = s->heap[r];
        if (best == pos)
            break;
        heap_set(s, pos, best_gid);
        pos = best;
    }
    heap_set(s, pos, gid);
}

sched *mpi_sched_new(const l4h_plan *plan)
{
    sched *s = l4h_xcalloc(1, sizeof *s);
    size_t n = plan->n_tasks;
    s->n_tasks = n;
    s->group_of = l4h_xcalloc(n ? n : 1, sizeof *s->group_of);
    s->queued_at = l4h_xcalloc(n ? n : 1, sizeof *s->queued_at);
    s->g = l4h_xcalloc(n ? n : 1, sizeof *s->g);
    s->heap = l4h_xcalloc(n ? n : 1, sizeof *s->heap);
    /* Open addressing from a group's hash to its first task, for grouping. */
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    int *first = l4h_xcalloc(cap, sizeof *first); /* plan index + 1, 0 = empty */
    for (size_t i = 0; i < n; i++) {
        const l4h_task *t = &plan->tasks[i];
        size_t j = (size_t)group_hash(t) & (cap - 1);
        while (first[j] && !same_group(&plan->tasks[first[j] - 1], t))
            j = (j + 1) & (cap - 1);
        if (!first[j]) {
            first[j] = (int)i + 1;
            s->group_of[i] = (int)s->n_groups;
            s->g[s->n_groups].heap_pos = -1;
            s->n_groups++;
        } else {
            s->group_of[i] = s->group_of[first[j] - 1];
        }
    }
    free(first);
    return s;
}

void mpi_sched_push(sched *s, int index)
{
    group *g = &s->g[s->group_of[index]];
    if (g->head + g->len == g->cap) {
        if (g->head > 0) {
            memmove(g->fifo, g->fifo + g->head, g->len * sizeof *g->fifo);
            g->head = 0;
        }
        if (g->len == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 4;
            g->fifo = l4h_xrealloc(g->fifo, g->cap * sizeof *g->fifo);
        }
    }
    g->fifo[g->head + g->len++] = index;
    s->queued_at[index] = s->pushes++;
    s->queued++;
    if (g->heap_pos < 0) {
        size_t pos = s->heap_len++;
        heap_set(s, pos, s->group_of[index]);
        sift_up(s, pos);
    }
}

int mpi_sched_pop(sched *s)
{
    if (!s->heap_len)
        return -1;
    int gid = s->heap[0];
    group *g = &s->g[gid];
    int index = g->fifo[g->head++];
    g->len--;
    s->queued--;
    if (!g->len) {
        g->head = 0;
        g->heap_pos = -1;
        if (--s->heap_len) {
            heap_set(s, 0, s->heap[s->heap_len]);
            sift_down(s, 0);
        }
    } else {
        sift_down(s, 0); /* its next task was queued later */
    }
    return index;
}

void mpi_sched_learn(sched *s, int index, double wall_s)
{
    if (index < 0 || (size_t)index >= s->n_tasks || !(wall_s > 0) || !isfinite(wall_s))
        return;
    int gid = s->group_of[index];
    group *g = &s->g[gid];
    g->sum_wall += wall_s;
    g->n_measured++;
    if (g->heap_pos >= 0) {
        sift_up(s, (size_t)g->heap_pos);
        sift_down(s, (size_t)g->heap_pos);
    }
}

size_t mpi_sched_queued(const sched *s)
{
    return s->queued;
}

void mpi_sched_free(sched *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_groups; i++)
        free(s->g[i].fifo);
    free(s->g);
    free(s->group_of);
    free(s->queued_at);
    free(s->heap);
    free(s);
}
