/* plan_print.c — the campaign plan as `sweep --dry-run` shows it: a header,
 * tasks by model, tasks by step, the endpoints used and the first tasks in
 * dispatch order. Reads the config and the plan; contacts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

#define PLAN_SHOW_TASKS 30

/* The plan's steps in campaign order and the column widths, shared by the
 * sections. */
typedef struct layout {
    const l4h_step **steps; /* borrowed from the suite; the array is ours */
    size_t n_steps;
    int model_w, step_w;
    int max_trials;
} layout;

/* "model" in sequential mode, "supervisor -> coder" in paired mode. */
static void pair_label(char *buf, size_t size, const char *sup, const char *coder)
{
    if (!strcmp(sup, coder))
        snprintf(buf, size, "%s", sup);
    else
        snprintf(buf, size, "%s -> %s", sup, coder);
}

/* The steps in the order the plan first meets them (trial 1 runs every
 * step, steps outer) and the widths of the model and step columns. Free
 * lo->steps. Can't fail. */
static void layout_of(const l4h_config *cfg, const l4h_plan *plan, layout *lo)
{
    memset(lo, 0, sizeof *lo);
    lo->steps = l4h_xcalloc((cfg->suite ? cfg->suite->n_steps : 0) + 1, sizeof *lo->steps);
    lo->model_w = 5;
    lo->step_w = 4;
    for (size_t i = 0; i < plan->n_tasks; i++) {
        const l4h_step *st = plan->tasks[i].step;
        size_t k = 0;
        while (k < lo->n_steps && lo->steps[k] != st)
            k++;
        if (k == lo->n_steps && k < (cfg->suite ? cfg->suite->n_steps : 0))
            lo->steps[lo->n_steps++] = st;
        if ((int)strlen(st->name) > lo->step_w)
            lo->step_w = (int)strlen(st->name);
    }
    for (size_t p = 0; p < cfg->n_pairs; p++) {
        char lab[512];
        pair_label(lab, sizeof lab, cfg->pairs[p].supervisor, cfg->pairs[p].coder);
        if ((int)strlen(lab) > lo->model_w)
            lo->model_w = (int)strlen(lab);
        if (cfg->pairs[p].trials > lo->max_trials)
            lo->max_trials = cfg->pairs[p].trials;
    }
}

/* The first lines: counts, config, suite, output, scratch, limits. */
static void print_header(const l4h_config *cfg, const l4h_plan *plan, const layout *lo, FILE *fp)
{
    int paired = 0;
    for (size_t p = 0; p < cfg->n_pairs && !paired; p++)
        paired = strcmp(cfg->pairs[p].supervisor, cfg->pairs[p].coder) != 0;
    int mt = lo->max_trials;
    fprintf(fp, "campaign %s: %zu tasks (%zu %s%s x %zu steps x %s%d trial%s)\n", cfg->name,
            plan->n_tasks, cfg->n_pairs, paired ? "pair" : "model", cfg->n_pairs == 1 ? "" : "s",
            lo->n_steps, mt > 1 ? "up to " : "", mt, mt == 1 ? "" : "s");
    fprintf(fp, "config   %s (sha256 %.16s)\n", cfg->path, cfg->sha256);
    const l4h_suite *s = cfg->suite;
    if (s)
        fprintf(fp, "suite    %s: %s (sha256 %.16s)\n", s->name, s->path, s->sha256);
    fprintf(fp, "output   %s (journal %s.journal)\n", cfg->output ? cfg->output : "-",
            cfg->output ? cfg->output : "-");
    fprintf(fp, "scratch  %s\n", cfg->scratch ? cfg->scratch : "-");
    fprintf(fp, "limits   %d iterations, task %gs, exec %gs, %lld MB memory, sandbox %s\n",
            cfg->max_iterations, cfg->limits.task_wall_s, cfg->limits.exec_timeout_s,
            (long long)cfg->limits.exec_memory_mb,
            l4h_config_choice("sandbox.isolation", (int)cfg->sandbox.isolation));
}

/* Tasks by model (every pair runs every step once per trial) and by step. */
static void print_counts(const l4h_config *cfg, const l4h_plan *plan, const layout *lo, FILE *fp)
{
    fprintf(fp, "\ntasks by model:\n");
    fprintf(fp, "  %-*s  %6s  %5s\n", lo->model_w, "model", "trials", "tasks");
    size_t per_step = 0;
    for (size_t p = 0; p < cfg->n_pairs; p++) {
        char lab[512];
        pair_label(lab, sizeof lab, cfg->pairs[p].supervisor, cfg->pairs[p].coder);
        fprintf(fp, "  %-*s  %6d  %5zu\n", lo->model_w, lab, cfg->pairs[p].trials,
                (size_t)cfg->pairs[p].trials * lo->n_steps);
        per_step += (size_t)cfg->pairs[p].trials;
    }
    fprintf(fp, "\ntasks by step:\n");
    for (size_t k = 0; k < lo->n_steps; k++)
        fprintf(fp, "  %2d %-*s  %5zu\n", lo->steps[k]->number, lo->step_w, lo->steps[k]->name,
                per_step);
    fprintf(fp, "  %2s %-*s  %5zu\n", "", lo->step_w, "total", plan->n_tasks);
}

typedef struct named {
    const char *name;
    size_t order;
} named;

static int by_name_then_order(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int by_order(const void *a, const void *b)
{
    const named *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}

/* Every model once, supervisors and coders alike, in order of listing
 * (sorted by name to find repeats: a 1000 x 1000 campaign has a million
 * pairs); *n gets the count. Free the array (names borrowed). Can't fail. */
static named *models_in_order(const l4h_config *cfg, size_t *n)
{
    size_t nm = 2 * cfg->n_pairs;
    named *v = l4h_xcalloc(nm + 1, sizeof *v);
    for (size_t p = 0; p < cfg->n_pairs; p++) {
        v[2 * p] = (named){cfg->pairs[p].supervisor, 2 * p};
        v[2 * p + 1] = (named){cfg->pairs[p].coder, 2 * p + 1};
    }
    qsort(v, nm, sizeof *v, by_name_then_order);
    size_t u = 0;
    for (size_t i = 0; i < nm; i++)
        if (!u || strcmp(v[u - 1].name, v[i].name))
            v[u++] = v[i];
    qsort(v, u, sizeof *v, by_order);
    *n = u;
    return v;
}

/* One endpoint: what it is, its pacing, and the models that use it; nothing
 * when no model does. */
static void print_endpoint(const l4h_config *cfg, const l4h_endpoint *ep, const named *models,
                           size_t nm, FILE *fp)
{
    l4h_buf names = {0};
    for (size_t q = 0; q < nm; q++) {
        l4h_model_resolved m;
        if (l4h_config_model(cfg, models[q].name, &m, NULL) == 0 && m.endpoint == ep)
            l4h_buf_printf(&names, "%s%s", names.len ? ", " : "", models[q].name);
    }
    if (!names.len)
        return;
    const char *kind = l4h_config_choice("endpoints.*.provider", (int)ep->provider);
    if (ep->provider == L4H_PROVIDER_HTTP)
        fprintf(fp, "  %s: %s %s (%s%s)", ep->name, kind, ep->base_url,
                ep->api_key_env ? "key from $" : "no key", ep->api_key_env ? ep->api_key_env : "");
    else
        fprintf(fp, "  %s: %s %s", ep->name, kind,
                ep->provider == L4H_PROVIDER_SCRIPTED ? ep->dir : ep->file);
    if (ep->max_concurrency)
        fprintf(fp, ", max %d concurrent", ep->max_concurrency);
    if (ep->requests_per_minute > 0)
        fprintf(fp, ", %g requests/min", ep->requests_per_minute);
    fprintf(fp, "\n    models: %s\n", names.data);
    l4h_buf_free(&names);
}

/* The first PLAN_SHOW_TASKS tasks in dispatch order. */
static void print_first_tasks(const l4h_plan *plan, const layout *lo, FILE *fp)
{
    size_t show = plan->n_tasks < PLAN_SHOW_TASKS ? plan->n_tasks : PLAN_SHOW_TASKS;
    fprintf(fp, "\nfirst %zu tasks in dispatch order:\n", show);
    fprintf(fp, "  %4s  %5s  %-*s  %-*s  %s\n", "#", "trial", lo->step_w, "step", lo->model_w,
            "model", "key");
    for (size_t i = 0; i < show; i++) {
        const l4h_task *t = &plan->tasks[i];
        char lab[512];
        pair_label(lab, sizeof lab, t->supervisor, t->coder);
        fprintf(fp, "  %4d  %5d  %-*s  %-*s  %s\n", t->index + 1, t->trial, lo->step_w,
                t->step->name, lo->model_w, lab, t->key);
    }
    if (plan->n_tasks > show)
        fprintf(fp, "  ... and %zu more\n", plan->n_tasks - show);
}

/* See cli_internal.h. */
void cli_plan_print(const l4h_config *cfg, const l4h_plan *plan, FILE *fp)
{
    layout lo;
    layout_of(cfg, plan, &lo);
    print_header(cfg, plan, &lo, fp);
    print_counts(cfg, plan, &lo, fp);
    size_t nm = 0;
    named *models = models_in_order(cfg, &nm);
    fprintf(fp, "\nendpoints used:\n");
    for (size_t e = 0; e < cfg->n_endpoints; e++)
        print_endpoint(cfg, &cfg->endpoints[e], models, nm, fp);
    free(models);
    print_first_tasks(plan, &lo, fp);
    free(lo.steps);
}
