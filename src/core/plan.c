/* plan.c — the campaign's task list, its stable keys, and the dry-run print.
 *
 * Order (dispatch order): interleaved by trial, so a campaign cut short has
 * covered every model and step evenly. Within one trial the steps are the
 * outer loop and the pairs the inner one, so consecutive tasks go to
 * different models (and usually different endpoints):
 *     trial 1: step 1 x (pair 1 .. pair P), step 2 x (pair 1 .. P), ...
 *     trial 2: ...
 * A pair with fewer trials than the others simply drops out of later rounds.
 *
 * Task key: the first 16 hex characters of
 *     sha256(campaign "\0" supervisor "\0" coder "\0" step "\0" trial)
 * with trial as a decimal number ("3"). It depends on nothing else (not the
 * order, not the config file's path), so a resumed or re-planned campaign
 * recognises its finished tasks on any machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"

/* The stable task key (see above). Can't fail. */
void l4h_task_key(const char *campaign, const char *supervisor, const char *coder,
                  const char *step, int trial, char out[17])
{
    char t[16], hex[65];
    snprintf(t, sizeof t, "%d", trial);
    l4h_sha256 s;
    l4h_sha256_init(&s);
    const char *parts[5] = {campaign, supervisor, coder, step, t};
    for (int i = 0; i < 5; i++) {
        if (i)
            l4h_sha256_update(&s, "\0", 1);
        l4h_sha256_update(&s, parts[i], strlen(parts[i]));
    }
    l4h_sha256_final(&s, hex);
    memcpy(out, hex, 16);
    out[16] = '\0';
}

/* The steps the campaign runs, in order: its `steps` or all of the suite's.
 * *n gets the count; the array is the caller's to free (pointers borrowed). */
static const l4h_step **campaign_steps(const l4h_config *cfg, size_t *n, l4h_err *err)
{
    const l4h_suite *s = cfg->suite;
    if (!s || !s->n_steps) {
        l4h_err_set(err, 2, "%s: the campaign has no suite steps to plan", cfg->path);
        return NULL;
    }
    size_t k = cfg->steps ? cfg->n_steps : s->n_steps;
    const l4h_step **v = l4h_xcalloc(k ? k : 1, sizeof *v);
    for (size_t i = 0; i < k; i++) {
        v[i] = cfg->steps ? l4h_suite_step(s, cfg->steps[i]) : &s->steps[i];
        if (!v[i]) {
            l4h_err_set(err, 2, "%s: key 'steps[%zu]': step '%s' is not in suite '%s'", cfg->path, i,
                        cfg->steps[i], s->name);
            free(v);
            return NULL;
        }
    }
    *n = k;
    return v;
}

/* Expand config x suite into tasks (see above). -1 (code 2) when there is
 * nothing to plan. */
int l4h_plan_build(const l4h_config *cfg, l4h_plan *plan, l4h_err *err)
{
    memset(plan, 0, sizeof *plan);
    size_t ns = 0;
    const l4h_step **steps = campaign_steps(cfg, &ns, err);
    if (!steps)
        return -1;
    if (!cfg->n_pairs) {
        free(steps);
        return l4h_err_set(err, 2, "%s: the campaign has no models to plan", cfg->path);
    }
    int max_trials = 0;
    size_t total = 0;
    for (size_t p = 0; p < cfg->n_pairs; p++) {
        if (cfg->pairs[p].trials > max_trials)
            max_trials = cfg->pairs[p].trials;
        total += (size_t)cfg->pairs[p].trials * ns;
    }
    plan->tasks = l4h_xcalloc(total ? total : 1, sizeof *plan->tasks);
    for (int t = 1; t <= max_trials; t++)
        for (size_t s = 0; s < ns; s++)
            for (size_t p = 0; p < cfg->n_pairs; p++) {
                const l4h_pair *pr = &cfg->pairs[p];
                if (pr->trials < t)
                    continue;
                l4h_task *k = &plan->tasks[plan->n_tasks];
                k->index = (int)plan->n_tasks;
                k->supervisor = pr->supervisor;
                k->coder = pr->coder;
                k->step = steps[s];
                k->trial = t;
                l4h_task_key(cfg->name, pr->supervisor, pr->coder, steps[s]->name, t, k->key);
                plan->n_tasks++;
            }
    free(steps);
    return 0;
}

void l4h_plan_free(l4h_plan *plan)
{
    if (!plan)
        return;
    free(plan->tasks);
    plan->tasks = NULL;
    plan->n_tasks = 0;
}

/* "model" in sequential mode, "supervisor -> coder" in paired mode. */
static void pair_label(char *buf, size_t size, const char *sup, const char *coder)
{
    if (!strcmp(sup, coder))
        snprintf(buf, size, "%s", sup);
    else
        snprintf(buf, size, "%s -> %s", sup, coder);
}

#define PLAN_SHOW_TASKS 30

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

/* Print the dry-run plan (see core.h). Contacts nothing. */
void l4h_plan_print(const l4h_config *cfg, const l4h_plan *plan, void *out)
{
    FILE *fp = out;
    const l4h_suite *s = cfg->suite;
    size_t ns = 0;
    const l4h_step **steps = campaign_steps(cfg, &ns, NULL);
    size_t width = 5;
    for (size_t p = 0; p < cfg->n_pairs; p++) {
        char lab[512];
        pair_label(lab, sizeof lab, cfg->pairs[p].supervisor, cfg->pairs[p].coder);
        if (strlen(lab) > width)
            width = strlen(lab);
    }
    int max_trials = 0;
    for (size_t p = 0; p < cfg->n_pairs; p++)
        if (cfg->pairs[p].trials > max_trials)
            max_trials = cfg->pairs[p].trials;
    int sw = 4;
    for (size_t k = 0; k < ns; k++)
        if ((int)strlen(steps[k]->name) > sw)
            sw = (int)strlen(steps[k]->name);

    int paired = 0;
    for (size_t p = 0; p < cfg->n_pairs && !paired; p++)
        paired = strcmp(cfg->pairs[p].supervisor, cfg->pairs[p].coder) != 0;
    fprintf(fp, "campaign %s: %zu tasks (%zu %s%s x %zu steps x %s%d trial%s)\n", cfg->name,
            plan->n_tasks, cfg->n_pairs, paired ? "pair" : "model", cfg->n_pairs == 1 ? "" : "s", ns,
            max_trials > 1 ? "up to " : "", max_trials, max_trials == 1 ? "" : "s");
    fprintf(fp, "config   %s (sha256 %.16s)\n", cfg->path, cfg->sha256);
    if (s)
        fprintf(fp, "suite    %s: %s (sha256 %.16s)\n", s->name, s->path, s->sha256);
    fprintf(fp, "output   %s (journal %s.journal)\n", cfg->output ? cfg->output : "-",
            cfg->output ? cfg->output : "-");
    fprintf(fp, "scratch  %s\n", cfg->scratch ? cfg->scratch : "-");
    fprintf(fp, "limits   %d iterations, task %gs, exec %gs, %lld MB memory, sandbox %s\n",
            cfg->max_iterations, cfg->limits.task_wall_s, cfg->limits.exec_timeout_s,
            (long long)cfg->limits.exec_memory_mb,
            cfg->sandbox.isolation == L4H_ISOLATION_AUTO    ? "auto"
            : cfg->sandbox.isolation == L4H_ISOLATION_BWRAP ? "bwrap"
                                                             : "rlimit");

    fprintf(fp, "\ntasks by model:\n");
    fprintf(fp, "  %-*s  %6s  %5s\n", (int)width, "model", "trials", "tasks");
    for (size_t p = 0; p < cfg->n_pairs; p++) {
        char lab[512];
        pair_label(lab, sizeof lab, cfg->pairs[p].supervisor, cfg->pairs[p].coder);
        /* every pair runs every step once per trial */
        size_t n = (size_t)cfg->pairs[p].trials * ns;
        fprintf(fp, "  %-*s  %6d  %5zu\n", (int)width, lab, cfg->pairs[p].trials, n);
    }

    fprintf(fp, "\ntasks by step:\n");
    for (size_t k = 0; k < ns; k++) {
        size_t n = 0;
        for (size_t p = 0; p < cfg->n_pairs; p++)
            n += (size_t)cfg->pairs[p].trials;
        fprintf(fp, "  %2d %-*s  %5zu\n", steps[k]->number, sw, steps[k]->name, n);
    }
    fprintf(fp, "  %2s %-*s  %5zu\n", "", sw, "total", plan->n_tasks);

    /* every model once, supervisors and coders alike, in order of listing
     * (sorted by name to find repeats, then back in listing order) */
    size_t nm = 2 * cfg->n_pairs;
    named *models = l4h_xcalloc(nm + 1, sizeof *models);
    for (size_t p = 0; p < cfg->n_pairs; p++) {
        models[2 * p] = (named){cfg->pairs[p].supervisor, 2 * p};
        models[2 * p + 1] = (named){cfg->pairs[p].coder, 2 * p + 1};
    }
    qsort(models, nm, sizeof *models, by_name_then_order);
    size_t u = 0;
    for (size_t i = 0; i < nm; i++)
        if (!u || strcmp(models[u - 1].name, models[i].name))
            models[u++] = models[i];
    nm = u;
    qsort(models, nm, sizeof *models, by_order);
    fprintf(fp, "\nendpoints used:\n");
    for (size_t e = 0; e < cfg->n_endpoints; e++) {
        const l4h_endpoint *ep = &cfg->endpoints[e];
        l4h_buf names = {0};
        for (size_t q = 0; q < nm; q++) {
            l4h_model_resolved m;
            if (l4h_config_model(cfg, models[q].name, &m, NULL) == 0 && m.endpoint == ep)
                l4h_buf_printf(&names, "%s%s", names.len ? ", " : "", models[q].name);
        }
        if (names.len) {
            if (ep->provider == L4H_PROVIDER_HTTP)
                fprintf(fp, "  %s: http %s (%s%s)", ep->name, ep->base_url,
                        ep->api_key_env ? "key from $" : "no key",
                        ep->api_key_env ? ep->api_key_env : "");
            else if (ep->provider == L4H_PROVIDER_SCRIPTED)
                fprintf(fp, "  %s: scripted %s", ep->name, ep->dir);
            else
                fprintf(fp, "  %s: replay %s", ep->name, ep->file);
            if (ep->max_concurrency)
                fprintf(fp, ", max %d concurrent", ep->max_concurrency);
            if (ep->requests_per_minute > 0)
                fprintf(fp, ", %g requests/min", ep->requests_per_minute);
            fprintf(fp, "\n    models: %s\n", names.data);
        }
        l4h_buf_free(&names);
    }
    free(models);

    size_t show = plan->n_tasks < PLAN_SHOW_TASKS ? plan->n_tasks : PLAN_SHOW_TASKS;
    fprintf(fp, "\nfirst %zu tasks in dispatch order:\n", show);
    fprintf(fp, "  %4s  %5s  %-*s  %-*s  %s\n", "#", "trial", sw, "step", (int)width, "model",
            "key");
    for (size_t i = 0; i < show; i++) {
        const l4h_task *t = &plan->tasks[i];
        char lab[512];
        pair_label(lab, sizeof lab, t->supervisor, t->coder);
        fprintf(fp, "  %4d  %5d  %-*s  %-*s  %s\n", t->index + 1, t->trial, sw, t->step->name,
                (int)width, lab, t->key);
    }
    if (plan->n_tasks > show)
        fprintf(fp, "  ... and %zu more\n", plan->n_tasks - show);
    free(steps);
}
