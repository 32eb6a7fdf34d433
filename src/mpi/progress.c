/* progress.c — what rank 0 tells the person watching: one line per finished
 * task, and a summary every 30 s (done/total, success rate, tokens, cost, in
 * flight, time left). Plain lines, so a Slurm output file reads well; on a
 * terminal the summary rewrites itself in place. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mpi_internal.h"

static void fmt_count(char *out, size_t n, double v)
{
    if (v >= 1e6)
        snprintf(out, n, "%.1fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(out, n, "%.1fk", v / 1e3);
    else
        snprintf(out, n, "%.0f", v);
}

static void fmt_duration(char *out, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(out, n, "?");
    else if (s < 120)
        snprintf(out, n, "%.0f s", s);
    else if (s < 7200)
        snprintf(out, n, "%.0f min", s / 60);
    else
        snprintf(out, n, "%.1f h", s / 3600);
}

void mpi_progress_task(progress *p, const l4h_task_rec *rec, int final)
{
    p->finished++;
    if (final)
        p->keys_done++;
    if (rec->status == L4H_STATUS_SUCCESS)
        p->success++;
    else if (l4h_status_is_infra(rec->status))
        p->infra++;
    else
        p->model_failures++;
    p->tokens = l4h_add_sat_i64(p->tokens, l4h_add_sat_i64(rec->prompt_tokens, rec->completion_tokens));
    if (isfinite(rec->cost_usd) && rec->cost_usd > 0)
        p->cost += rec->cost_usd;
    p->task_seconds += rec->wall_s;

    char who[300], tok[16];
    if (!strcmp(rec->supervisor, rec->coder))
        snprintf(who, sizeof who, "%s", rec->supervisor);
    else
        snprintf(who, sizeof who, "%s -> %s", rec->supervisor, rec->coder);
    fmt_count(tok, sizeof tok, (double)rec->prompt_tokens + (double)rec->completion_tokens);
    if (p->tty)
        fputs("\r\033[K", p->out);
    size_t done = p->done_before + p->keys_done;
    fprintf(p->out, "[%*zu/%zu] %-28s %-16s trial %-2d %-18s %2d it %7s tok %7.1f s%s%s%s\n",
            (int)snprintf(NULL, 0, "%zu", p->total), done < p->total ? done : p->total, p->total,
            who, rec->step, rec->trial, l4h_status_name(rec->status), rec->iterations, tok,
            rec->wall_s, rec->error_category[0] ? "  " : "", rec->error_category,
            final ? "" : rec->status == L4H_STATUS_INTERRUPTED ? "  (not done: redone on resume)"
                                                              : "  (not done: retried)");
    fflush(p->out);
}

void mpi_progress_summary(progress *p, int force)
{
    double now = l4h_monotonic();
    if (!force && !p->tty && now - p->last_summary < 30)
        return;
    if (!force && p->tty && now - p->last_summary < 1)
        return;
    p->last_summary = now;
    size_t done = p->done_before + p->keys_done; /* keys, never attempts: at most total */
    if (done > p->total)
        done = p->total;
    size_t judged = p->success + p->model_failures;
    double rate = judged ? 100.0 * (double)p->success / (double)judged : 0;
    double elapsed = now - p->started;
    size_t left = p->total - done;
    double eta = p->keys_done ? elapsed / (double)p->keys_done * (double)left : NAN;
    size_t retried = p->finished - p->keys_done;
    char tok[16], eta_s[32];
    fmt_count(tok, sizeof tok, (double)p->tokens);
    fmt_duration(eta_s, sizeof eta_s, eta);
    if (p->tty)
        fputs("\r\033[K", p->out);
    char extra[64] = "";
    if (retried)
        snprintf(extra, sizeof extra, " (+%zu attempts retried or interrupted)", retried);
    fprintf(p->out,
            "-- %zu/%zu done (%.0f%%)%s, success %.0f%% of %zu judged, %zu infra, %s tokens, "
            "$%.2f, %d in flight, ~%s left%s",
            done, p->total, p->total ? 100.0 * (double)done / (double)p->total : 100.0, extra,
            rate, judged, p->infra, tok, p->cost, p->in_flight, eta_s,
            p->tty && !force ? "" : "\n");
    fflush(p->out);
}
