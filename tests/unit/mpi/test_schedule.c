/* test_schedule.c — rank 0's dispatch queue (src/mpi/schedule.c): plan order
 * while nothing is known, longest expected group first once durations are
 * measured, unmeasured groups first, plan order as the tie-break; checked
 * against a linear-scan model of the rule on random push/pop/learn
 * sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/mpi/mpi_internal.h"

#define MAXT 512

static const char *models[] = {"m/a", "m/b", "m/c", "m/d"};
static l4h_step steps[3];
static l4h_task tasks[MAXT];

/* A trial-interleaved plan: trial outer, step, model inner (as l4h_plan_build). */
static l4h_plan make_plan(int n_models, int n_steps, int trials)
{
    static const char *names[] = {"summarize", "select", "fit"};
    for (int i = 0; i < 3; i++)
        steps[i].name = (char *)names[i];
    size_t n = 0;
    for (int t = 1; t <= trials; t++)
        for (int s = 0; s < n_steps; s++)
            for (int m = 0; m < n_models; m++) {
                l4h_task *k = &tasks[n];
                memset(k, 0, sizeof *k);
                k->index = (int)n;
                k->supervisor = models[m];
                k->coder = models[m];
                k->step = &steps[s];
                k->trial = t;
                snprintf(k->key, sizeof k->key, "%016zx", n);
                n++;
            }
    l4h_plan p = {tasks, n};
    return p;
}

static void nothing_known_is_plan_order(void **state)
{
    (void)state;
    l4h_plan p = make_plan(3, 2, 4);
    sched *s = mpi_sched_new(&p);
    for (size_t i = 0; i < p.n_tasks; i++)
        mpi_sched_push(s, (int)i);
    assert_int_equal(mpi_sched_queued(s), p.n_tasks);
    for (size_t i = 0; i < p.n_tasks; i++)
        assert_int_equal(mpi_sched_pop(s), (int)i);
    assert_int_equal(mpi_sched_pop(s), -1);
    assert_int_equal(mpi_sched_queued(s), 0);
    mpi_sched_free(s);
}

/* Group of plan index i in make_plan(nm, ns, T): (step, model). */
static void longest_group_first_then_plan_order(void **state)
{
    (void)state;
    l4h_plan p = make_plan(2, 2, 3); /* groups: (s0,a)=0 (s0,b)=1 (s1,a)=2 (s1,b)=3 */
    sched *s = mpi_sched_new(&p);
    /* Trial 1 ran: (s1,a) took 9 s, (s0,b) 5 s, (s0,a) 1 s; (s1,b) unknown. */
    mpi_sched_learn(s, 2, 9.0);
    mpi_sched_learn(s, 1, 5.0);
    mpi_sched_learn(s, 0, 1.0);
    for (size_t i = 4; i < p.n_tasks; i++)
        mpi_sched_push(s, (int)i);
    /* unknown (s1,b): 7, 11; then (s1,a): 6, 10; (s0,b): 5, 9; (s0,a): 4, 8 */
    int want[] = {7, 11, 6, 10, 5, 9, 4, 8};
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(mpi_sched_pop(s), want[i]);
    assert_int_equal(mpi_sched_pop(s), -1);
    mpi_sched_free(s);
}

static void learning_while_queued_reorders(void **state)
{
    (void)state;
    l4h_plan p = make_plan(2, 1, 3); /* groups a: 0,2,4  b: 1,3,5 */
    sched *s = mpi_sched_new(&p);
    mpi_sched_learn(s, 0, 2.0);
    mpi_sched_learn(s, 1, 1.0);
    for (int i = 2; i < 6; i++)
        mpi_sched_push(s, i);
    assert_int_equal(mpi_sched_pop(s), 2);      /* a (2 s) before b (1 s) */
    mpi_sched_learn(s, 3, 11.0);                /* b now averages 6 s */
    assert_int_equal(mpi_sched_pop(s), 3);
    assert_int_equal(mpi_sched_pop(s), 5);
    mpi_sched_push(s, 3);                       /* a retry goes back in its group */
    assert_int_equal(mpi_sched_pop(s), 3);
    assert_int_equal(mpi_sched_pop(s), 4);
    assert_int_equal(mpi_sched_pop(s), -1);
    /* Nothing measured: a task queued again waits behind those already queued. */
    mpi_sched_free(s);
    s = mpi_sched_new(&p);
    for (int i = 0; i < 6; i++)
        mpi_sched_push(s, i);
    assert_int_equal(mpi_sched_pop(s), 0);
    mpi_sched_push(s, 0);                       /* an infrastructure retry */
    for (int want = 1; want < 6; want++)
        assert_int_equal(mpi_sched_pop(s), want);
    assert_int_equal(mpi_sched_pop(s), 0);
    /* Nonsense durations teach nothing. */
    mpi_sched_learn(s, 0, NAN);
    mpi_sched_learn(s, 0, -1);
    mpi_sched_learn(s, 0, INFINITY);
    mpi_sched_learn(s, 999, 1.0);
    mpi_sched_free(s);
}

/* The rule, by linear scan: the queued task whose group has the largest
 * mean (unmeasured = +inf), ties to the group whose oldest queued task was
 * queued first; within a group, oldest queued first. */
typedef struct model {
    int queue[4 * MAXT];
    size_t n;
    double sum[64];
    int cnt[64];
} model;

static int group_id(const l4h_task *t)
{
    int m = 0;
    while (strcmp(models[m], t->coder))
        m++;
    return (int)(t->step - steps) * 4 + m;
}

static int model_pop(model *md, const l4h_plan *p)
{
    int best = -1;
    double best_e = 0;
    for (size_t i = 0; i < md->n; i++) {
        int g = group_id(&p->tasks[md->queue[i]]);
        /* only a group's oldest queued task competes */
        int oldest = 1;
        for (size_t j = 0; j < i; j++)
            if (group_id(&p->tasks[md->queue[j]]) == g)
                oldest = 0;
        if (!oldest)
            continue;
        double e = md->cnt[g] ? md->sum[g] / md->cnt[g] : INFINITY;
        if (best < 0 || e > best_e) { /* ties: the earlier queued, met first */
            best = (int)i;
            best_e = e;
        }
    }
    if (best < 0)
        return -1;
    int idx = md->queue[best];
    memmove(md->queue + best, md->queue + best + 1, (md->n - (size_t)best - 1) * sizeof(int));
    md->n--;
    return idx;
}

static void matches_the_rule_on_random_sequences(void **state)
{
    (void)state;
    l4h_plan p = make_plan(4, 3, 20);
    unsigned seed = 12345;
    for (int round = 0; round < 50; round++) {
        sched *s = mpi_sched_new(&p);
        model md = {0};
        for (size_t i = 0; i < p.n_tasks; i++) {
            mpi_sched_push(s, (int)i);
            md.queue[md.n++] = (int)i;
        }
        for (int step = 0; step < 400; step++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 8) % 10;
            if (r < 6) {
                int a = mpi_sched_pop(s), b = model_pop(&md, &p);
                assert_int_equal(a, b);
                if (a >= 0 && r < 2) { /* some go back, as infra retries do */
                    mpi_sched_push(s, a);
                    md.queue[md.n++] = a;
                }
            } else {
                int idx = (int)((seed >> 4) % p.n_tasks);
                double w = 0.5 + (double)((seed >> 12) % 1000) / 100.0;
                mpi_sched_learn(s, idx, w);
                int g = group_id(&p.tasks[idx]);
                md.sum[g] += w;
                md.cnt[g]++;
            }
            assert_int_equal(mpi_sched_queued(s), md.n);
        }
        mpi_sched_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_known_is_plan_order),
        cmocka_unit_test(longest_group_first_then_plan_order),
        cmocka_unit_test(learning_while_queued_reorders),
        cmocka_unit_test(matches_the_rule_on_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
