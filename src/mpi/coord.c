/* coord.c — rank 0: decides what a (resumed) campaign still has to run, hands
 * tasks to idle slots one at a time, longest expected first (schedule.c),
 * journals every result before anything else, answers permit and spending
 * messages, drains on a signal or a budget, and checkpoints the HDF5 file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mpi_internal.h"

#define CHECKPOINT_TASKS 1000
#define CHECKPOINT_SECONDS 5.0

volatile sig_atomic_t l4h_sweep_drain_signal;
volatile sig_atomic_t l4h_sweep_stop_now;

/* CPU time (user + system) of this process so far. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

void mpi_coord_init(coord *c)
{
    size_t n = c->plan->n_tasks;
    int nranks = c->first_slot + c->nslots;
    c->busy = l4h_xcalloc((size_t)nranks, sizeof *c->busy);
    c->idle = l4h_xcalloc((size_t)nranks, sizeof *c->idle);
    for (int r = 0; r < nranks; r++)
        c->busy[r] = -1;
    c->tries_this_run = l4h_xcalloc(n ? n : 1, sizeof *c->tries_this_run);
    c->infra_total = l4h_xcalloc(n ? n : 1, sizeof *c->infra_total);
    c->attempts_before = l4h_xcalloc(n ? n : 1, sizeof *c->attempts_before);
    c->dispatched_at = l4h_xcalloc(n ? n : 1, sizeof *c->dispatched_at);
    c->loop_started = l4h_monotonic();
    c->loop_cpu_started = cpu_seconds();
    c->lim = mpi_limiter_new(c->cfg);
    c->queue = mpi_sched_new(c->plan);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        l4h_key_state st;
        l4h_store_key_state(c->store, c->plan->tasks[i].key, &st);
        c->attempts_before[i] = st.attempts;
        c->infra_total[i] = st.infra_attempts;
        mpi_sched_learn(c->queue, (int)i, st.measured_wall_s);
        int redo;
        if (st.attempts == 0 || st.last_status == L4H_STATUS_INTERRUPTED)
            redo = 1;
        else if (l4h_status_is_infra(st.last_status))
            redo = st.infra_attempts <= c->cfg->infra_retries || c->opts->retry_infra;
        else
            redo = 0;
        if (redo)
            mpi_sched_push(c->queue, (int)i);
        else
            done++;
    }
    c->prog.total = n;
    c->prog.done_before = done;
    c->prog.slots = c->nslots;
    c->prog.started = l4h_monotonic();
    c->prog.last_summary = c->prog.started;
    c->last_checkpoint = l4h_monotonic();
}

static void send_to(coord *c, int rank, int tag, const void *data, size_t len)
{
    mpi_link_send(c->link, 0, rank, tag, data, len);
}

static void start_drain(coord *c, const char *why)
{
    if (c->draining)
        return;
    c->draining = 1;
    double grace = c->opts->grace_s > 0 ? c->opts->grace_s : 60;
    c->drain_deadline = l4h_monotonic() + grace;
    fprintf(c->prog.out,
            "%s-- %s: no new tasks; %d running get %.0f s to finish, then count as interrupted\n",
            c->prog.tty ? "\r\033[K" : "", why, c->in_flight, grace);
    fflush(c->prog.out);
    for (int r = c->first_slot; r < c->first_slot + c->nslots; r++)
        if (c->busy[r] >= 0)
            send_to(c, r, TAG_DRAIN, &grace, sizeof grace);
}

static void on_result(coord *c, const link_msg *m)
{
    l4h_task_rec rec = {0};
    l4h_err err = {0};
    int rank = m->from;
    int index = c->busy[rank];
    c->busy[rank] = -1;
    if (index >= 0)
        c->in_flight--;
    c->prog.in_flight = c->in_flight;
    if (index < 0) {
        /* Nothing was assigned to that rank: there is no key to store it under. */
        fprintf(stderr, "llm4hep sweep: refused a result from rank %d, which had no task "
                        "assigned; not stored\n", rank);
        return;
    }
    const char *assigned = c->plan->tasks[index].key;
    if (l4h_rec_from_json(m->data, m->len, &rec, &err) < 0) {
        /* The rank sent something we cannot read: keep the campaign honest by
         * recording the task as our own failure. */
        mpi_rec_identity(&rec, c->cfg, &c->plan->tasks[index]);
        rec.status = L4H_STATUS_ERROR_INTERNAL;
        rec.error_summary = l4h_xstrdup(err.msg);
    } else if (strcmp(rec.key, assigned) != 0) {
        /* A result for another task than the one assigned is never stored
         * under that other key: the assigned task failed, on our side. */
        char why[300];
        snprintf(why, sizeof why, "refused the result: rank %d was assigned task key %s but its "
                 "result is for task key %.16s; not stored under %.16s", rank, assigned, rec.key,
                 rec.key);
        int attempt = rec.attempt;
        double started = rec.started_utc, wall = rec.wall_s;
        l4h_rec_clear(&rec);
        memset(&rec, 0, sizeof rec);
        mpi_rec_identity(&rec, c->cfg, &c->plan->tasks[index]);
        rec.attempt = attempt;
        rec.started_utc = started;
        rec.wall_s = wall;
        rec.status = L4H_STATUS_ERROR_INTERNAL;
        snprintf(rec.error_category, sizeof rec.error_category, "other");
        rec.error_summary = l4h_xstrdup(why);
        fprintf(stderr, "llm4hep sweep: %s\n", why);
    }
    rec.run = c->run;
    rec.rank = c->link->serial ? 0 : rank;
    if (l4h_store_add(c->store, &rec, &c->store_err) < 0) {
        fprintf(stderr, "llm4hep sweep: cannot journal a result: %s\n", c->store_err.msg);
        c->store_failed = 1;
        start_drain(c, "the journal failed");
        l4h_rec_clear(&rec);
        return;
    }
    c->pending_checkpoint++;
    if (!strncmp(rec.outputs, "not kept", 8) && strstr(rec.outputs, "keep_outputs_mb"))
        c->outputs_over_cap++;
    else if (!strncmp(rec.outputs, "not kept", 8) && c->outputs_not_kept++ == 0)
        snprintf(c->outputs_why, sizeof c->outputs_why, "%s", rec.outputs);
    if (index >= 0) {
        c->overhead_sum += l4h_monotonic() - c->dispatched_at[index] - rec.wall_s;
        c->overhead_n++;
    }
    int final = rec.status != L4H_STATUS_INTERRUPTED;
    if (index >= 0) {
        if (!l4h_status_is_infra(rec.status))
            mpi_sched_learn(c->queue, index, rec.wall_s);
        if (rec.status == L4H_STATUS_INTERRUPTED) {
            c->interrupted++;
        } else if (l4h_status_is_infra(rec.status)) {
            c->infra_total[index]++;
            if (c->infra_total[index] <= c->cfg->infra_retries && !c->draining) {
                mpi_sched_push(c->queue, index);
                final = 0; /* its key is not done: the retry's result will say */
            }
        }
    }
    mpi_progress_task(&c->prog, &rec, final);
    l4h_rec_clear(&rec);
}

void mpi_coord_handle(coord *c, const link_msg *m)
{
    switch (m->tag) {
    case TAG_READY:
        c->idle[m->from] = 1;
        break;
    case TAG_RESULT:
        on_result(c, m);
        break;
    case TAG_PERMIT_REQ:
        mpi_limiter_request(c->lim, c->link, m->from, m->data);
        break;
    case TAG_PERMIT_REL: {
        char *sp = strchr(m->data, ' ');
        if (sp)
            mpi_limiter_release(c->lim, c->link, sp + 1, atoi(m->data));
        break;
    }
    case TAG_SPEND: {
        double usd = 0;
        long long tok = 0;
        sscanf(m->data, "%lf %lld", &usd, &tok);
        if (isfinite(usd) && usd > 0)
            c->spent_usd += usd;
        if (tok > 0)
            c->tokens = l4h_add_sat_i64(c->tokens, tok);
        send_to(c, m->from, TAG_SPENT, &c->spent_usd, sizeof c->spent_usd);
        if (c->cfg->limits.campaign_usd > 0 && c->spent_usd >= c->cfg->limits.campaign_usd) {
            c->budget_stop = 1;
            start_drain(c, "the campaign's cost limit (limits.campaign_usd) is reached");
        }
        break;
    }
    default:
        break;
    }
}

static void checkpoint(coord *c, int force)
{
    if (!c->pending_checkpoint && !force)
        return;
    double now = l4h_monotonic();
    if (!force && c->pending_checkpoint < CHECKPOINT_TASKS &&
        now - c->last_checkpoint < CHECKPOINT_SECONDS)
        return;
    l4h_err err = {0};
    if (l4h_store_checkpoint(c->store, &err) < 0)
        fprintf(stderr, "llm4hep sweep: checkpoint failed (the journal keeps every result; "
                        "the file is rebuilt at the next one): %s\n", err.msg);
    c->pending_checkpoint = 0;
    c->last_checkpoint = now;
}

int mpi_coord_tick(coord *c)
{
    if (l4h_sweep_stop_now && !c->killed) {
        c->killed = 1;
        start_drain(c, "second interrupt");
        for (int r = c->first_slot; r < c->first_slot + c->nslots; r++)
            if (c->busy[r] >= 0)
                send_to(c, r, TAG_KILL, "", 0);
    }
    if (l4h_sweep_drain_signal && !c->draining)
        start_drain(c, "signal received");
    mpi_limiter_tick(c->lim, c->link);
    if (!c->draining) {
        for (int r = c->first_slot; r < c->first_slot + c->nslots && mpi_sched_queued(c->queue); r++) {
            if (!c->idle[r])
                continue;
            int index = mpi_sched_pop(c->queue);
            int32_t v[2] = {index, c->attempts_before[index] + ++c->tries_this_run[index]};
            char msg[sizeof v + 16];
            memcpy(msg, v, sizeof v);
            memcpy(msg + sizeof v, c->plan->tasks[index].key, 16);
            c->idle[r] = 0;
            c->busy[r] = index;
            c->in_flight++;
            c->dispatched_at[index] = l4h_monotonic();
            send_to(c, r, TAG_TASK, msg, sizeof msg);
        }
    }
    c->prog.in_flight = c->in_flight;
    checkpoint(c, 0);
    mpi_progress_summary(&c->prog, 0);
    return c->in_flight == 0 && (c->draining || !mpi_sched_queued(c->queue));
}

void mpi_coord_release_slots(coord *c)
{
    c->loop_ended = l4h_monotonic();
    c->loop_cpu_ended = cpu_seconds();
    for (int r = c->first_slot; r < c->first_slot + c->nslots; r++)
        send_to(c, r, TAG_NOMORE, "", 0);
    checkpoint(c, 1);
    mpi_progress_summary(&c->prog, 1);
}

void mpi_coord_print_stats(const coord *c)
{
    double elapsed = c->loop_ended - c->loop_started;
    double cpu = c->loop_cpu_ended - c->loop_cpu_started;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    size_t n = c->prog.finished;
    fprintf(c->prog.out,
            "-- run figures: %zu tasks in %.2f s (%.1f tasks/s); overhead per task (spawn, "
            "staging, storing) %.1f ms; rank 0: %.1f us handling per task (capacity %.0f "
            "tasks/s), %.3f s CPU in the loop (%.0f%%), peak memory %.1f MB\n",
            n, elapsed, elapsed > 0 ? (double)n / elapsed : 0.0,
            c->overhead_n ? 1e3 * c->overhead_sum / (double)c->overhead_n : 0.0,
            n ? 1e6 * c->busy_s / (double)n : 0.0,
            c->busy_s > 0 ? (double)n / c->busy_s : 0.0, cpu,
            elapsed > 0 ? 100.0 * cpu / elapsed : 0.0, (double)ru.ru_maxrss / 1024.0);
    if (c->outputs_over_cap)
        fprintf(c->prog.out, "-- keep_outputs: the cap was reached: the checked files of %d "
                "task%s were above keep_outputs_mb = %lld and were not kept (`llm4hep rescore` "
                "cannot judge them again); raise keep_outputs_mb in the config to keep them\n",
                c->outputs_over_cap, c->outputs_over_cap == 1 ? "" : "s",
                (long long)c->cfg->keep_outputs_mb);
    if (c->outputs_not_kept)
        fprintf(c->prog.out, "-- keep_outputs: the checked files of %d task%s were not kept; "
                "the first: %s\n", c->outputs_not_kept, c->outputs_not_kept == 1 ? "" : "s",
                c->outputs_why);
    fflush(c->prog.out);
}

int mpi_coord_exit_code(const coord *c)
{
    if (c->store_failed)
        return L4H_EXIT_INFRA;
    if (mpi_sched_queued(c->queue) || c->interrupted > 0)
        return L4H_EXIT_STOPPED;
    return L4H_EXIT_OK;
}

void mpi_coord_free(coord *c)
{
    mpi_limiter_free(c->lim);
    free(c->busy);
    free(c->idle);
    mpi_sched_free(c->queue);
    free(c->tries_this_run);
    free(c->infra_total);
    free(c->attempts_before);
    free(c->dispatched_at);
}
