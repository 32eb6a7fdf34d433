/* plan.c — the campaign's task list and its stable keys.
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
 * recognises its finished tasks on any machine. (`sweep --dry-run` prints a
 * plan: src/cli/plan_print.c.) */
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
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: the campaign has no suite steps to plan", cfg->path);
        return NULL;
    }
    size_t k = cfg->steps ? cfg->n_steps : s->n_steps;
    const l4h_step **v = l4h_xcalloc(k ? k : 1, sizeof *v);
    for (size_t i = 0; i < k; i++) {
        v[i] = cfg->steps ? l4h_suite_step(s, cfg->steps[i]) : &s->steps[i];
        if (!v[i]) {
            l4h_err_set(err, L4H_EXIT_USAGE, "%s: key 'steps[%zu]': step '%s' is not in suite '%s'", cfg->path, i,
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
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: the campaign has no models to plan", cfg->path);
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
