/* config.c — load a campaign config (config.yml, docs/design.md's contract) and
 * its suite. Every problem is exit code 2 with one message:
 *     FILE:LINE:COL: key 'PATH': expected ..., got ...
 * Each key, its bounds and its default: src/core/config_opts.c. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_internal.h"

/* Request members llm4hep sets itself (or whose meaning its parser relies
 * on): extra_body may not name them. */
static const char *const request_keys[] = {"model", "messages", "temperature", "max_tokens",
                                           "max_completion_tokens", "seed", "tools", "tool_choice",
                                           "reasoning_effort", "stream", "n", NULL};
static void model_opts_free(l4h_model_opts *o)
{
    free(o->endpoint);
    free(o->max_tokens_param);
    free(o->reasoning_effort);
    free(o->extra_body);
}

/* Free a config, its suite and everything they own. NULL is fine. */
void l4h_config_free(l4h_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->dir);
    free(cfg->text);
    free(cfg->name);
    free(cfg->suite_path);
    free(cfg->output);
    free(cfg->scratch);
    free(cfg->sandbox.python);
    l4h_strv_free(cfg->steps);
    for (size_t i = 0; i < cfg->n_pairs; i++) {
        free(cfg->pairs[i].supervisor);
        free(cfg->pairs[i].coder);
    }
    free(cfg->pairs);
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        l4h_endpoint *e = &cfg->endpoints[i];
        free(e->name);
        free(e->base_url);
        free(e->model_id_header);
        free(e->api_key_env);
        free(e->dir);
        free(e->file);
    }
    free(cfg->endpoints);
    model_opts_free(&cfg->model_defaults);
    for (size_t i = 0; i < cfg->n_models_config; i++) {
        free(cfg->models_config[i].model);
        model_opts_free(&cfg->models_config[i].opts);
    }
    free(cfg->models_config);
    for (size_t i = 0; i < cfg->n_prices; i++)
        free(cfg->prices[i].model);
    free(cfg->prices);
    l4h_suite_free(cfg->suite);
    l4h_strv_free(cfg->files);
    free(cfg);
}

/* A config holding only defaults (see core.h). Can't fail. */
l4h_config *l4h_config_defaults(void)
{
    l4h_config *cfg = l4h_xcalloc(1, sizeof *cfg);
    char cwd[4096];
    cfg->dir = l4h_xstrdup(getcwd(cwd, sizeof cwd) ? cwd : ".");
    cfg->path = l4h_xstrdup("");
    cfg->text = l4h_xstrdup("");
    l4h_sha256_hex("", 0, cfg->sha256);
    cfg->name = l4h_xstrdup("");
    core_opts_defaults(OPTS_CONFIG, cfg);
    cfg->files = l4h_xcalloc(1, sizeof *cfg->files);
    return cfg;
}

/* Remember a file the config read; returns the stored copy (lives as long
 * as cfg, for l4h_where.file). */
static const char *add_file(l4h_config *cfg, const char *path)
{
    for (size_t i = 0; i < cfg->n_files; i++)
        if (!strcmp(cfg->files[i], path))
            return cfg->files[i];
    cfg->files = l4h_xrealloc(cfg->files, (cfg->n_files + 2) * sizeof *cfg->files);
    cfg->files[cfg->n_files] = l4h_xstrdup(path);
    cfg->files[cfg->n_files + 1] = NULL;
    return cfg->files[cfg->n_files++];
}

const l4h_endpoint *l4h_config_endpoint(const l4h_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n_endpoints; i++)
        if (!strcmp(cfg->endpoints[i].name, name))
            return &cfg->endpoints[i];
    return NULL;
}

static const l4h_model_opts *model_config_of(const l4h_config *cfg, const char *model)
{
    for (size_t i = 0; i < cfg->n_models_config; i++)
        if (!strcmp(cfg->models_config[i].model, model))
            return &cfg->models_config[i].opts;
    return NULL;
}

/* "a, b, c" of the endpoint names (for messages). Caller frees. */
static char *endpoint_names(const l4h_config *cfg)
{
    l4h_buf b = {0};
    l4h_buf_add(&b, "", 0);
    for (size_t i = 0; i < cfg->n_endpoints; i++)
        l4h_buf_printf(&b, "%s%s", i ? ", " : "", cfg->endpoints[i].name);
    if (!cfg->n_endpoints)
        l4h_buf_puts(&b, "none are defined");
    return l4h_buf_take(&b);
}

/* An endpoint reference named at where (key path key) that is not defined. */
static int endpoint_undefined(const l4h_config *cfg, const l4h_where *w, const char *key,
                              const char *name, l4h_err *err)
{
    char *names = endpoint_names(cfg);
    const char *cands[64];
    size_t nc = 0;
    for (size_t i = 0; i < cfg->n_endpoints && nc < 64; i++)
        cands[nc++] = cfg->endpoints[i].name;
    const char *near = core_yclosest(name, cands, nc);
    if (near)
        l4h_err_set(err, L4H_EXIT_USAGE, "%s:%d:%d: key '%s': endpoint '%s' is not defined in endpoints; did "
                            "you mean '%s'?",
                    w->file, w->line, w->col, key, name, near);
    else
        l4h_err_set(err, L4H_EXIT_USAGE, "%s:%d:%d: key '%s': expected an endpoint defined in endpoints (%s), "
                            "got '%s'",
                    w->file, w->line, w->col, key, names, name);
    free(names);
    return -1;
}

static l4h_opt_num layer(l4h_opt_num top, l4h_opt_num base)
{
    return top.state != L4H_OPT_UNSET ? top : base;
}

/* Resolve a model's options (see core.h). Errors name where the endpoint was
 * (or should have been) set. */
int l4h_config_model(const l4h_config *cfg, const char *model, l4h_model_resolved *out,
                     l4h_err *err)
{
    memset(out, 0, sizeof *out);
    out->name = model;
    const l4h_model_opts *mc = model_config_of(cfg, model);
    const l4h_model_opts *d = &cfg->model_defaults;
    const char *ep = mc && mc->endpoint ? mc->endpoint : d->endpoint;
    if (!ep) {
        const char *file = cfg->files && cfg->n_files ? cfg->files[0] : cfg->path;
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s:1:1: key 'model_defaults.endpoint': missing, model '%s' needs an "
                           "endpoint (set model_defaults.endpoint or models_config.\"%s\".endpoint)",
                           file, model, model);
    }
    out->endpoint = l4h_config_endpoint(cfg, ep);
    if (!out->endpoint) {
        char key[300];
        if (mc && mc->endpoint)
            snprintf(key, sizeof key, "models_config.%s.endpoint", model);
        else
            snprintf(key, sizeof key, "model_defaults.endpoint");
        return endpoint_undefined(cfg, mc && mc->endpoint ? &mc->where : &d->where, key, ep, err);
    }
    l4h_model_opts none = {0};
    if (!mc)
        mc = &none;
    out->temperature = layer(mc->temperature, d->temperature);
    out->max_tokens = layer(mc->max_tokens, d->max_tokens);
    out->seed = layer(mc->seed, d->seed);
    l4h_opt_num t = layer(mc->request_timeout_s, d->request_timeout_s);
    out->request_timeout_s = t.state == L4H_OPT_SET
                                 ? t.value
                                 : core_opts_num_default(OPTS_MODEL, "request_timeout_s");
    l4h_opt_num ctx = layer(mc->context_tokens, d->context_tokens);
    out->context_tokens = ctx.state == L4H_OPT_SET
                              ? (int64_t)ctx.value
                              : (int64_t)core_opts_num_default(OPTS_MODEL, "context_tokens");
    out->max_tokens_param = mc->max_tokens_param ? mc->max_tokens_param
                            : d->max_tokens_param
                                ? d->max_tokens_param
                                : core_opts_text_default(OPTS_MODEL, "max_tokens_param");
    out->reasoning_effort = mc->reasoning_effort ? mc->reasoning_effort : d->reasoning_effort;
    out->extra_body = mc->extra_body ? mc->extra_body : d->extra_body;
    for (size_t i = 0; i < cfg->n_prices; i++)
        if (!strcmp(cfg->prices[i].model, model)) {
            out->has_price = 1;
            out->input_per_mtok = cfg->prices[i].input_per_mtok;
            out->output_per_mtok = cfg->prices[i].output_per_mtok;
            out->cached_input_per_mtok = cfg->prices[i].has_cached_input
                                             ? cfg->prices[i].cached_input_per_mtok
                                             : cfg->prices[i].input_per_mtok;
        }
    return 0;
}

/* ------------------------------------------------------------------ loading */

typedef struct cload {
    yctx c;
    l4h_config *cfg;
    l4h_where *pair_where; /* where each pair was first listed */
    size_t pair_cap;
    size_t *slots;         /* hash index of pairs: pair index + 1, 0 = empty */
    size_t n_slots;        /* a power of two, > 2 x n_pairs */
} cload;

/* A model name: non-empty, no whitespace or control characters. */
static int model_name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* FNV-1a over "sup\0coder". */
static size_t pair_hash(const char *sup, const char *coder)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = sup;; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        if (!*p)
            break;
    }
    for (const char *p = coder; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)h;
}

/* The slot holding (sup, coder), or the empty slot where it would go. */
static size_t *pair_slot(const cload *L, const char *sup, const char *coder)
{
    size_t i = pair_hash(sup, coder) & (L->n_slots - 1);
    for (;; i = (i + 1) & (L->n_slots - 1)) {
        size_t k = L->slots[i];
        if (!k || (!strcmp(L->cfg->pairs[k - 1].supervisor, sup) &&
                   !strcmp(L->cfg->pairs[k - 1].coder, coder)))
            return &L->slots[i];
    }
}

/* Add trials to pair (sup, coder), merging a repeat. Hashed, so a
 * supervisors_file x coders_file of 1000 x 1000 loads in a second. */
static void add_pair(cload *L, const char *sup, const char *coder, int trials, l4h_where w)
{
    l4h_config *cfg = L->cfg;
    if (2 * (cfg->n_pairs + 1) > L->n_slots) {
        free(L->slots);
        L->n_slots = L->n_slots ? 2 * L->n_slots : 64;
        L->slots = l4h_xcalloc(L->n_slots, sizeof *L->slots);
        for (size_t i = 0; i < cfg->n_pairs; i++)
            *pair_slot(L, cfg->pairs[i].supervisor, cfg->pairs[i].coder) = i + 1;
    }
    size_t *slot = pair_slot(L, sup, coder);
    if (*slot) {
        l4h_pair *p = &cfg->pairs[*slot - 1];
        p->trials = p->trials > INT_MAX - trials ? INT_MAX : p->trials + trials;
        return;
    }
    if (cfg->n_pairs == L->pair_cap) {
        L->pair_cap = L->pair_cap ? 2 * L->pair_cap : 16;
        cfg->pairs = l4h_xrealloc(cfg->pairs, L->pair_cap * sizeof *cfg->pairs);
        L->pair_where = l4h_xrealloc(L->pair_where, L->pair_cap * sizeof *L->pair_where);
    }
    cfg->pairs[cfg->n_pairs] = (l4h_pair){l4h_xstrdup(sup), l4h_xstrdup(coder), trials};
    L->pair_where[cfg->n_pairs] = w;
    *slot = ++cfg->n_pairs;
}

static l4h_where where_of(const cload *L, const ynode *n)
{
    return (l4h_where){L->c.file, n ? n->line : 1, n ? n->col : 1};
}

/* A model name from node n. */
static int get_model(cload *L, const ynode *n, const char *key, char **out)
{
    if (core_yget_str(&L->c, n, key, out) < 0)
        return -1;
    if (!model_name_ok(*out))
        return core_yfail(&L->c, n, key, "expected a model name without spaces, got '%s'", *out);
    return 0;
}

/* A models file (one name a line, '#' comments, blank lines ignored): each
 * name into names/positions. n is the config node that named it. */
typedef struct namelist {
    char **names;
    l4h_where *where;
    size_t n;
} namelist;

static void namelist_free(namelist *nl)
{
    for (size_t i = 0; i < nl->n; i++)
        free(nl->names[i]);
    free(nl->names);
    free(nl->where);
    memset(nl, 0, sizeof *nl);
}

static int read_models_file(cload *L, const ynode *n, const char *key, namelist *nl)
{
    char *path = NULL;
    if (core_yget_path(&L->c, n, key, &path) < 0)
        return -1;
    char *text;
    const char *file = add_file(L->cfg, path);
    free(path);
    if (core_yread_named(&L->c, n, key, file, &text, NULL) < 0)
        return -1;
    int line = 1, rc = 0;
    char *start = text;
    if (!strncmp(start, "\xef\xbb\xbf", 3)) /* a byte-order mark from an editor */
        start += 3;
    for (char *p = start; *p && rc == 0; line++) {
        char *eol = strchr(p, '\n');
        char *next = eol ? eol + 1 : p + strlen(p);
        if (eol)
            *eol = '\0';
        char *hash = strchr(p, '#');
        if (hash)
            *hash = '\0';
        char *s = p;
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        char *end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if (*s) {
            int col = (int)(s - p) + 1;
            if (!model_name_ok(s)) {
                rc = l4h_err_set(L->c.err, L4H_EXIT_USAGE, "%s:%d:%d: expected one model name a line, got '%s'",
                                 file, line, col, s);
                break;
            }
            nl->names = l4h_xrealloc(nl->names, (nl->n + 1) * sizeof *nl->names);
            nl->where = l4h_xrealloc(nl->where, (nl->n + 1) * sizeof *nl->where);
            nl->names[nl->n] = l4h_xstrdup(s);
            nl->where[nl->n] = (l4h_where){file, line, col};
            nl->n++;
        }
        p = next;
    }
    free(text);
    if (rc == 0 && nl->n == 0)
        rc = core_yfail(&L->c, n, key, "expected at least one model name in %s, got none", file);
    return rc;
}

/* models and models_file: each name supervises itself (sequential mode). */
static int load_model_list(cload *L, const ynode *root)
{
    l4h_config *cfg = L->cfg;
    char ip[256];
    const ynode *m = core_ymap_get(root, "models");
    if (m) {
        if (core_yget_list(&L->c, m, "models", "model names") < 0)
            return -1;
        for (size_t i = 0; i < m->n; i++) {
            char *name = NULL;
            if (get_model(L, m->items[i], core_ypath_index(ip, "models", i), &name) < 0) {
                free(name);
                return -1;
            }
            add_pair(L, name, name, cfg->trials, where_of(L, m->items[i]));
            free(name);
        }
    }
    const ynode *mf = core_ymap_get(root, "models_file");
    if (mf) {
        namelist nl = {0};
        if (read_models_file(L, mf, "models_file", &nl) < 0) {
            namelist_free(&nl);
            return -1;
        }
        for (size_t i = 0; i < nl.n; i++)
            add_pair(L, nl.names[i], nl.names[i], cfg->trials, nl.where[i]);
        namelist_free(&nl);
    }
    return 0;
}

/* pairs: each {supervisor, coder, trials} as given. */
static int load_pairs(cload *L, const ynode *root)
{
    l4h_config *cfg = L->cfg;
    char ip[256];
    const ynode *pr = core_ymap_get(root, "pairs");
    if (pr) {
        if (core_yget_list(&L->c, pr, "pairs", "{supervisor, coder}") < 0)
            return -1;
        for (size_t i = 0; i < pr->n; i++) {
            const ynode *it = pr->items[i];
            char kp[256];
            core_ypath_index(ip, "pairs", i);
            l4h_pair p = {.trials = cfg->trials}; /* trials: the campaign's unless given */
            if (core_opts_load(&L->c, OPTS_PAIR, it, ip, &p) < 0)
                return -1;
            char *sup = NULL, *coder = NULL;
            int rc = get_model(L, core_ymap_get(it, "supervisor"), core_ypath_key(kp, ip, "supervisor"), &sup);
            if (rc == 0)
                rc = get_model(L, core_ymap_get(it, "coder"), core_ypath_key(kp, ip, "coder"), &coder);
            if (rc == 0)
                add_pair(L, sup, coder, p.trials, where_of(L, it));
            free(sup);
            free(coder);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

/* supervisors_file x coders_file: every supervisor with every coder. */
static int load_model_cross(cload *L, const ynode *root)
{
    l4h_config *cfg = L->cfg;
    const ynode *sf = core_ymap_get(root, "supervisors_file"), *cf = core_ymap_get(root, "coders_file");
    if (sf && !cf)
        return core_yfail(&L->c, core_ymap_key(root, "supervisors_file"), "supervisors_file",
                     "expected coders_file beside it (every supervisor x every coder), got none");
    if (cf && !sf)
        return core_yfail(&L->c, core_ymap_key(root, "coders_file"), "coders_file",
                     "expected supervisors_file beside it (every supervisor x every coder), got none");
    if (sf) {
        namelist sups = {0}, coders = {0};
        int rc = read_models_file(L, sf, "supervisors_file", &sups);
        if (rc == 0)
            rc = read_models_file(L, cf, "coders_file", &coders);
        for (size_t i = 0; rc == 0 && i < sups.n; i++)
            for (size_t j = 0; j < coders.n; j++)
                add_pair(L, sups.names[i], coders.names[j], cfg->trials, sups.where[i]);
        namelist_free(&sups);
        namelist_free(&coders);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The campaign's pairs from every source, merged; at least one. */
static int load_models(cload *L, const ynode *root)
{
    l4h_config *cfg = L->cfg;
    if (load_model_list(L, root) < 0 || load_pairs(L, root) < 0 || load_model_cross(L, root) < 0)
        return -1;
    if (cfg->n_pairs == 0)
        return core_yfail(&L->c, root, "models",
                     "missing required key: expected models, models_file, pairs, or "
                     "supervisors_file with coders_file");
    return 0;
}

/* extra_body of one model_defaults or models_config entry at key: members
 * llm4hep sets itself are refused. 0, or -1 with the error at the value. */
static int load_extra_body(cload *L, const ynode *n, const char *key, l4h_model_opts *o)
{
    char kp[256], got[80];
    const ynode *eb = core_ymap_get(n, "extra_body");
    if (!eb)
        return 0;
    core_ypath_key(kp, key, "extra_body");
    if (eb->kind != Y_MAP)
        return core_yfail(&L->c, eb, kp, "expected a mapping of request members to values, got %s",
                     core_ydescribe(eb, got, sizeof got));
    for (size_t i = 0; i < eb->n; i++)
        for (size_t k = 0; request_keys[k]; k++)
            if (!strcmp(eb->keys[i]->value, request_keys[k])) {
                char sub[256];
                return core_yfail(&L->c, eb->keys[i], core_ypath_key(sub, kp, eb->keys[i]->value),
                             "llm4hep sets '%s' itself%s; remove it from extra_body",
                             request_keys[k],
                             !strcmp(request_keys[k], "max_tokens") ||
                                     !strcmp(request_keys[k], "max_completion_tokens")
                                 ? " (use max_tokens and max_tokens_param)"
                             : !strcmp(request_keys[k], "reasoning_effort")
                                 ? " (use the reasoning_effort key)"
                                 : "");
            }
    o->extra_body = core_ytree_to_json(eb);
    cJSON *check = cJSON_Parse(o->extra_body); /* what the request will carry, checked now */
    int ok = cJSON_IsObject(check);
    cJSON_Delete(check);
    if (!ok)
        return core_yfail(&L->c, eb, kp, "expected a mapping whose values JSON can carry");
    return 0;
}

/* model_defaults or one models_config entry. */
static int load_model_opts(cload *L, const ynode *n, const char *key, l4h_model_opts *o)
{
    if (core_opts_load(&L->c, OPTS_MODEL, n, key, o) < 0)
        return -1;
    const ynode *ep = core_ymap_get(n, "endpoint");
    o->where = where_of(L, ep && !core_yis_null(ep) ? ep : n);
    return load_extra_body(L, n, key, o);
}

static int load_endpoints(cload *L, const ynode *root)
{
    l4h_config *cfg = L->cfg;
    const ynode *eps = core_ymap_get(root, "endpoints");
    if (!eps)
        return 0;
    char got[80], kp[256], fp[256];
    if (eps->kind != Y_MAP)
        return core_yfail(&L->c, eps, "endpoints", "expected a mapping of endpoint names to settings, got %s",
                     core_ydescribe(eps, got, sizeof got));
    cfg->endpoints = l4h_xcalloc(eps->n ? eps->n : 1, sizeof *cfg->endpoints);
    for (size_t i = 0; i < eps->n; i++) {
        const ynode *n = eps->items[i];
        const char *name = eps->keys[i]->value;
        core_ypath_key(kp, "endpoints", name);
        l4h_endpoint *e = &cfg->endpoints[cfg->n_endpoints++];
        e->name = l4h_xstrdup(name);
        e->where = where_of(L, eps->keys[i]);
        if (!core_yname_ok(name, 1))
            return core_yfail(&L->c, eps->keys[i], kp, "expected an endpoint name of letters, digits, "
                                                  "'.', '_' or '-', got '%s'", name);
        core_opts_defaults(OPTS_ENDPOINT, e);
        if (core_opts_load(&L->c, OPTS_ENDPOINT, n, kp, e) < 0)
            return -1;
        const char *need = NULL;
        if (e->provider == L4H_PROVIDER_HTTP && !e->base_url)
            need = "base_url";
        if (e->provider == L4H_PROVIDER_SCRIPTED && !e->dir)
            need = "dir";
        if (e->provider == L4H_PROVIDER_REPLAY && !e->file)
            need = "file";
        if (need)
            return core_yfail(&L->c, n, core_ypath_key(fp, kp, need), "missing required key for provider %s",
                         core_opts_choice(OPTS_ENDPOINT, "provider", (int)e->provider));
    }
    return 0;
}

static int load_models_config(cload *L, const ynode *root)
{
    l4h_config *cfg = L->cfg;
    const ynode *d = core_ymap_get(root, "model_defaults");
    if (d && load_model_opts(L, d, "model_defaults", &cfg->model_defaults) < 0)
        return -1;
    const ynode *mc = core_ymap_get(root, "models_config");
    char got[80], kp[256];
    if (mc) {
        if (mc->kind != Y_MAP)
            return core_yfail(&L->c, mc, "models_config", "expected a mapping of model names to settings, "
                                                     "got %s", core_ydescribe(mc, got, sizeof got));
        cfg->models_config = l4h_xcalloc(mc->n ? mc->n : 1, sizeof *cfg->models_config);
        for (size_t i = 0; i < mc->n; i++) {
            l4h_named_opts *o = &cfg->models_config[cfg->n_models_config++];
            o->model = l4h_xstrdup(mc->keys[i]->value);
            if (load_model_opts(L, mc->items[i], core_ypath_key(kp, "models_config", o->model), &o->opts) < 0)
                return -1;
        }
    }
    const ynode *pr = core_ymap_get(root, "prices");
    if (pr) {
        if (pr->kind != Y_MAP)
            return core_yfail(&L->c, pr, "prices", "expected a mapping of model names to "
                                              "{input_per_mtok, output_per_mtok}, got %s",
                         core_ydescribe(pr, got, sizeof got));
        cfg->prices = l4h_xcalloc(pr->n ? pr->n : 1, sizeof *cfg->prices);
        for (size_t i = 0; i < pr->n; i++) {
            l4h_price *p = &cfg->prices[cfg->n_prices++];
            p->model = l4h_xstrdup(pr->keys[i]->value);
            if (core_opts_load(&L->c, OPTS_PRICE, pr->items[i], core_ypath_key(kp, "prices", p->model),
                               p) < 0)
                return -1;
            /* absent: cached tokens cost the input price */
            p->has_cached_input = core_ymap_get(pr->items[i], "cached_input_per_mtok") != NULL;
        }
    }
    return 0;
}

/* What one row cannot say: retry.max_s is at least retry.base_s. */
static int check_retry(cload *L, const ynode *root)
{
    const l4h_retry_cfg *r = &L->cfg->retry;
    if (r->max_s >= r->base_s)
        return 0;
    const ynode *n = core_ymap_get(root, "retry"), *max = core_ymap_get(n, "max_s");
    return core_yfail(&L->c, max ? max : n, "retry.max_s", "expected a number >= retry.base_s (%g), got '%g'",
                 r->base_s, r->max_s);
}

/* The suite named by the config; errors reading it name the config key. */
static int load_config_suite(cload *L, const ynode *root)
{
    l4h_config *cfg = L->cfg;
    const ynode *sn = core_ymap_get(root, "suite");
    if (core_yget_path(&L->c, sn, "suite", &cfg->suite_path) < 0)
        return -1;
    char *probe;
    l4h_err e = {0};
    if (l4h_input_read(cfg->suite_path, &probe, NULL, &e) < 0)
        return core_yfail(&L->c, sn, "suite", "%s", e.msg);
    free(probe);
    add_file(cfg, cfg->suite_path);
    return l4h_suite_load(cfg->suite_path, &cfg->suite, L->c.err);
}

/* The steps to run: names (or numbers) of the suite's steps, each once. */
static int load_steps(cload *L, const ynode *root)
{
    l4h_config *cfg = L->cfg;
    const ynode *sn = core_ymap_get(root, "steps");
    if (!sn)
        return 0;
    if (core_yget_list(&L->c, sn, "steps", "step names") < 0)
        return -1;
    char **given = NULL;
    size_t n = 0;
    if (core_yget_strlist(&L->c, sn, "steps", &given, &n) < 0)
        return -1;
    const l4h_suite *s = cfg->suite;
    const char **cands = l4h_xcalloc(s->n_steps + 1, sizeof *cands);
    for (size_t i = 0; i < s->n_steps; i++)
        cands[i] = s->steps[i].name;
    cfg->steps = l4h_xcalloc(n + 1, sizeof *cfg->steps);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char ip[256];
        core_ypath_index(ip, "steps", i);
        const l4h_step *st = l4h_suite_step(s, given[i]);
        if (!st) {
            const char *near = core_yclosest(given[i], cands, s->n_steps);
            if (near) {
                rc = core_yfail(&L->c, sn->items[i], ip, "expected a step of suite '%s', got '%s'; did "
                                                    "you mean '%s'?", s->name, given[i], near);
            } else {
                l4h_buf b = {0};
                for (size_t k = 0; k < s->n_steps; k++)
                    l4h_buf_printf(&b, "%s%s", k ? ", " : "", cands[k]);
                rc = core_yfail(&L->c, sn->items[i], ip, "expected a step of suite '%s' (%s), got '%s'",
                           s->name, b.data, given[i]);
                l4h_buf_free(&b);
            }
            break;
        }
        for (size_t k = 0; k < cfg->n_steps; k++)
            if (!strcmp(cfg->steps[k], st->name))
                rc = core_yfail(&L->c, sn->items[i], ip, "expected each step once, got '%s' again",
                           st->name);
        if (rc == 0)
            cfg->steps[cfg->n_steps++] = l4h_xstrdup(st->name);
    }
    free(cands);
    l4h_strv_free(given);
    return rc;
}

/* Every endpoint reference must name a defined endpoint, and every model of
 * the campaign must have one. */
static int check_endpoints(cload *L)
{
    l4h_config *cfg = L->cfg;
    const l4h_model_opts *d = &cfg->model_defaults;
    if (d->endpoint && !l4h_config_endpoint(cfg, d->endpoint))
        return endpoint_undefined(cfg, &d->where, "model_defaults.endpoint", d->endpoint, L->c.err);
    for (size_t i = 0; i < cfg->n_models_config; i++) {
        const l4h_named_opts *o = &cfg->models_config[i];
        if (o->opts.endpoint && !l4h_config_endpoint(cfg, o->opts.endpoint)) {
            char key[300];
            snprintf(key, sizeof key, "models_config.%s.endpoint", o->model);
            return endpoint_undefined(cfg, &o->opts.where, key, o->opts.endpoint, L->c.err);
        }
    }
    for (size_t i = 0; i < cfg->n_pairs; i++) {
        const char *who[2] = {cfg->pairs[i].supervisor, cfg->pairs[i].coder};
        for (int k = 0; k < 2; k++) {
            const l4h_model_opts *mc = model_config_of(cfg, who[k]);
            if ((mc && mc->endpoint) || d->endpoint)
                continue;
            const l4h_where *w = &L->pair_where[i];
            return l4h_err_set(L->c.err, L4H_EXIT_USAGE,
                               "%s:%d:%d: model '%s': expected an endpoint, got none (set "
                               "model_defaults.endpoint or models_config.\"%s\".endpoint)",
                               w->file, w->line, w->col, who[k], who[k]);
        }
    }
    /* the completion must leave room for a prompt in the model's context */
    for (size_t i = 0; i < cfg->n_pairs; i++) {
        const char *who[2] = {cfg->pairs[i].supervisor, cfg->pairs[i].coder};
        for (int k = 0; k < 2; k++) {
            l4h_model_resolved m;
            if (l4h_config_model(cfg, who[k], &m, NULL) < 0 || m.max_tokens.state != L4H_OPT_SET ||
                m.max_tokens.value * 2 <= (double)m.context_tokens)
                continue;
            const l4h_model_opts *mc = model_config_of(cfg, who[k]);
            const l4h_where *w = mc && (mc->context_tokens.state != L4H_OPT_UNSET ||
                                        mc->max_tokens.state != L4H_OPT_UNSET)
                                     ? &mc->where : &cfg->model_defaults.where;
            return l4h_err_set(L->c.err, L4H_EXIT_USAGE,
                               "%s:%d:%d: model '%s': max_tokens %.0f leaves too little of its "
                               "context_tokens %lld for the prompt; expected context_tokens at "
                               "least twice max_tokens (set context_tokens to the model's context "
                               "window, or lower max_tokens)",
                               w->file, w->line, w->col, who[k], m.max_tokens.value,
                               (long long)m.context_tokens);
        }
    }
    return 0;
}

static int load_tree(cload *L, const ynode *root)
{
    l4h_config *cfg = L->cfg;
    if (!root)
        return core_yfail(&L->c, NULL, NULL, "empty file: expected a campaign config with name, suite "
                                        "and models");
    if (core_opts_load(&L->c, OPTS_CONFIG, root, "", cfg) < 0)
        return -1;
    if (!cfg->output) {
        char rel[512];
        snprintf(rel, sizeof rel, "results/%s.h5", cfg->name);
        cfg->output = l4h_path_join(cfg->dir, rel);
    }
    if (load_endpoints(L, root) < 0 || load_models_config(L, root) < 0 || load_models(L, root) < 0 ||
        check_retry(L, root) < 0 || check_endpoints(L) < 0 ||
        load_config_suite(L, root) < 0 || load_steps(L, root) < 0)
        return -1;
    return 0;
}

/* Load a campaign config and its suite (see core.h). */
int l4h_config_load(const char *path, l4h_config **out, l4h_err *err)
{
    *out = NULL;
    char *text;
    size_t len;
    if (l4h_input_read(path, &text, &len, err) < 0)
        return -1;
    l4h_config *cfg = l4h_config_defaults();
    free(cfg->path);
    free(cfg->dir);
    free(cfg->text);
    free(cfg->name);
    cfg->name = NULL;
    cfg->path = l4h_xstrdup(path);
    cfg->dir = core_path_dir_abs(path);
    cfg->text = text;
    l4h_sha256_hex(text, len, cfg->sha256);
    const char *file = add_file(cfg, path);
    cload L = {.c = {.file = file, .dir = cfg->dir, .err = err}, .cfg = cfg};
    ynode *root = NULL;
    int rc = core_ytree_parse(file, text, len, &root, err);
    if (rc == 0)
        rc = load_tree(&L, root);
    core_ytree_free(root);
    free(L.pair_where);
    free(L.slots);
    if (rc < 0) {
        l4h_config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}
