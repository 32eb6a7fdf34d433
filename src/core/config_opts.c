/* config_opts.c — every key a campaign config may hold, one table row each
 * (as Redis's static_configs[]): its path, type, bounds, default and the
 * field it fills. The rows drive the allowed-key lists, the defaults, the
 * parsing and the "expected ..." messages, and l4h_config_key lists them
 * for the docs (tests/integration/test_config_table.py checks docs/design.md
 * against it). A key whose value is a structure of its own (models, pairs,
 * endpoints, ...) has a CODE row: allowed here, loaded by config.c.
 *
 * Adding a scalar key: its field in core.h and one row below. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

typedef enum {
    T_INT,     /* int: an integer within [lo, hi] */
    T_I64,     /* int64_t: an integer within [lo, hi] */
    T_NUM,     /* double: a finite number >= lo (> lo with F_EXCL) */
    T_BOOL,    /* int: true or false */
    T_STR,     /* char *: a string (${VAR} expanded) */
    T_PATH,    /* char *: a path, resolved against the config's directory */
    T_PROGRAM, /* char *: a bare name (looked up on PATH) or a path (resolved) */
    T_ENUM,    /* int: the index of one of choices */
    T_OPT_NUM, /* l4h_opt_num: a number as T_NUM, or null (omit it) */
    T_OPT_INT, /* l4h_opt_num: an integer within [lo, hi], or null */
    T_MAP,     /* a mapping of the rows below it ("limits" for "limits.*") */
    T_CODE     /* loaded by config.c's own code */
} opt_type;

enum {
    F_REQUIRED = 1, /* missing is an error */
    F_EXCL = 2,     /* lo is exclusive */
    F_NULLABLE = 4, /* null leaves the field unset */
    F_LITERAL = 8,  /* no ${VAR} expansion (the value names a variable) */
    F_RESOLVED = 16 /* OPTS_MODEL: the default applies when a model is resolved */
};

/* A string rule beyond the type: 0, or -1 with msg = "expected ..., got ...". */
typedef int (*opt_check)(const char *v, char *msg, size_t size);

typedef struct config_opt {
    core_opts_scope scope;
    const char *path;           /* dotted, within the scope */
    opt_type type;
    unsigned flags;
    size_t off;                 /* of the field in the scope's struct */
    double lo, hi;              /* bounds; -NONE / NONE: none */
    double def;                 /* default of numbers and booleans (NAN: none) */
    const char *text;           /* default of strings and enums (NULL: none) */
    const char *const *choices; /* T_ENUM: the names, NULL-terminated */
    opt_check check;            /* strings: the rule, or NULL */
} config_opt;

static int campaign_name(const char *v, char *msg, size_t size);
static int http_url(const char *v, char *msg, size_t size);
static int env_name(const char *v, char *msg, size_t size);
static int header_name(const char *v, char *msg, size_t size);
static int effort_level(const char *v, char *msg, size_t size);
static int tokens_param(const char *v, char *msg, size_t size);
static int python_program(const char *v, char *msg, size_t size);

typedef l4h_config opts_of_CONFIG;
typedef l4h_endpoint opts_of_ENDPOINT;
typedef l4h_model_opts opts_of_MODEL;
typedef l4h_price opts_of_PRICE;
typedef l4h_pair opts_of_PAIR;
#define NONE INFINITY /* no bound */
#define OFF(s, f) offsetof(opts_of_##s, f)
#define ROW(s, p, t, fl, f, lo, hi, def, text, choices, chk) \
    {OPTS_##s, p, T_##t, fl, OFF(s, f), lo, hi, def, text, choices, chk}
/* One macro per type; arguments: scope, path, field, then the type's own. */
#define INT(s, p, f, lo, hi, def) ROW(s, p, INT, 0, f, lo, hi, def, NULL, NULL, NULL)
#define I64(s, p, f, lo, hi, def) ROW(s, p, I64, 0, f, lo, hi, def, NULL, NULL, NULL)
#define NUM(s, p, f, fl, lo, def) ROW(s, p, NUM, fl, f, lo, NONE, def, NULL, NULL, NULL)
#define BOOL(s, p, f, def) ROW(s, p, BOOL, 0, f, 0, 1, def, NULL, NULL, NULL)
#define STR(s, p, f, fl, def, chk) ROW(s, p, STR, fl, f, 0, 0, NAN, def, NULL, chk)
#define PATH(s, p, f, fl, def) ROW(s, p, PATH, fl, f, 0, 0, NAN, def, NULL, NULL)
#define PROGRAM(s, p, f, def, chk) ROW(s, p, PROGRAM, 0, f, 0, 0, NAN, def, NULL, chk)
#define ENUM(s, p, f, def, ...) \
    ROW(s, p, ENUM, 0, f, 0, 0, NAN, def, ((const char *const[]){__VA_ARGS__, NULL}), NULL)
#define OPT_NUM(s, p, f, fl, lo, def) ROW(s, p, OPT_NUM, fl, f, lo, NONE, def, NULL, NULL, NULL)
#define OPT_INT(s, p, f, fl, lo, def) ROW(s, p, OPT_INT, fl, f, lo, NONE, def, NULL, NULL, NULL)
#define MAP(s, p) {OPTS_##s, p, T_MAP, 0, 0, 0, 0, NAN, NULL, NULL, NULL}
#define CODE(s, p, fl) {OPTS_##s, p, T_CODE, fl, 0, 0, 0, NAN, NULL, NULL, NULL}
#define R F_RESOLVED

/* In the order of the "expected one of" lists. */
static const config_opt opts[] = {
    /* INT, I64:        scope, path, field, min, max, default
     * NUM, OPT_NUM:    scope, path, field, flags, min, default
     * OPT_INT:         scope, path, field, flags, min, default
     * STR:             scope, path, field, flags, default, rule
     * PATH:            scope, path, field, flags, default
     * ENUM:            scope, path, field, default, choices... */
    STR(CONFIG, "name",                     name, F_REQUIRED, NULL, campaign_name),
    CODE(CONFIG, "suite", F_REQUIRED),
    PATH(CONFIG, "output",                  output, 0, NULL), /* default results/<name>.h5: config.c */
    PATH(CONFIG, "scratch",                 scratch, 0, "${TMPDIR:-/tmp}"),
    INT(CONFIG, "trials",                   trials,                 1, 1000000, 1),
    INT(CONFIG, "max_iterations",           max_iterations,         1, 1000000, 10),
    CODE(CONFIG, "steps", 0),
    CODE(CONFIG, "models", 0),
    CODE(CONFIG, "pairs", 0),
    CODE(CONFIG, "models_file", 0),
    CODE(CONFIG, "supervisors_file", 0),
    CODE(CONFIG, "coders_file", 0),
    CODE(CONFIG, "endpoints", 0),
    CODE(CONFIG, "model_defaults", 0),
    CODE(CONFIG, "models_config", 0),
    CODE(CONFIG, "prices", 0),
    MAP(CONFIG, "limits"),
    NUM(CONFIG, "limits.task_wall_s",       limits.task_wall_s,     F_EXCL, 0, 3600),
    NUM(CONFIG, "limits.exec_timeout_s",    limits.exec_timeout_s,  F_EXCL, 0, 900),
    I64(CONFIG, "limits.exec_memory_mb",    limits.exec_memory_mb,  1, NONE, 8192),
    I64(CONFIG, "limits.workspace_mb",      limits.workspace_mb,    1, NONE, 4096),
    I64(CONFIG, "limits.output_bytes",      limits.output_bytes,    1, NONE, 16384),
    I64(CONFIG, "limits.task_tokens",       limits.task_tokens,     0, NONE, 2000000), /* 0: none */
    NUM(CONFIG, "limits.campaign_usd",      limits.campaign_usd,    0, 0, 0),          /* 0: none */
    MAP(CONFIG, "sandbox"),
    PROGRAM(CONFIG, "sandbox.python",       sandbox.python, "/usr/bin/python3", python_program),
    ENUM(CONFIG, "sandbox.isolation",       sandbox.isolation, "auto", "auto", "bwrap", "rlimit"),
    BOOL(CONFIG, "sandbox.network",         sandbox.network, 0),
    INT(CONFIG, "sandbox.max_parallel_per_node", sandbox.max_parallel_per_node, 1, 100000, 16),
    MAP(CONFIG, "retry"),
    INT(CONFIG, "retry.max_attempts",       retry.max_attempts,     1, 1000, 8),
    NUM(CONFIG, "retry.base_s",             retry.base_s,           0, 0, 2),
    NUM(CONFIG, "retry.max_s",              retry.max_s,            0, 0, 120), /* >= base_s: config.c */
    INT(CONFIG, "infra_retries",            infra_retries,          0, 100, 1),
    BOOL(CONFIG, "keep_outputs",            keep_outputs, 1),
    I64(CONFIG, "keep_outputs_mb",          keep_outputs_mb,        0, 16777216, 256),

    ENUM(ENDPOINT, "provider",              provider, "http", "http", "scripted", "replay"),
    STR(ENDPOINT, "base_url",               base_url, 0, NULL, http_url), /* http: required */
    STR(ENDPOINT, "api_key_env",            api_key_env, F_LITERAL, NULL, env_name),
    PATH(ENDPOINT, "dir",                   dir, 0, NULL),                /* scripted: required */
    PATH(ENDPOINT, "file",                  file, 0, NULL),               /* replay: required */
    INT(ENDPOINT, "max_concurrency",        max_concurrency,        0, INT_MAX, 0), /* 0: none */
    NUM(ENDPOINT, "requests_per_minute",    requests_per_minute,    0, 0, 0),       /* 0: none */
    STR(ENDPOINT, "model_id_header",        model_id_header, 0, "x-litellm-model-id", header_name),

    STR(MODEL, "endpoint",                  endpoint, F_NULLABLE, NULL, NULL),
    OPT_NUM(MODEL, "temperature",           temperature,            R, 0, NAN),
    OPT_INT(MODEL, "max_tokens",            max_tokens,             R, 1, NAN),
    OPT_NUM(MODEL, "request_timeout_s",     request_timeout_s,      R | F_EXCL, 0, 600),
    OPT_INT(MODEL, "seed",                  seed,                   R, -NONE, NAN),
    OPT_INT(MODEL, "context_tokens",        context_tokens,         R, 1024, L4H_CONTEXT_TOKENS_DEFAULT),
    STR(MODEL, "max_tokens_param",          max_tokens_param, R, "max_tokens", tokens_param),
    STR(MODEL, "reasoning_effort",          reasoning_effort, R, NULL, effort_level),
    CODE(MODEL, "extra_body", 0),

    NUM(PRICE, "input_per_mtok",            input_per_mtok,         F_REQUIRED, 0, NAN),
    NUM(PRICE, "output_per_mtok",           output_per_mtok,        F_REQUIRED, 0, NAN),
    NUM(PRICE, "cached_input_per_mtok",     cached_input_per_mtok,  0, 0, NAN), /* default: input */

    CODE(PAIR, "supervisor", F_REQUIRED),
    CODE(PAIR, "coder", F_REQUIRED),
    INT(PAIR, "trials",                     trials,                 1, 1000000, NAN), /* default: trials */
};
#define N_OPTS (sizeof opts / sizeof opts[0])

/* Where each scope's keys sit in a config file, for l4h_config_key. */
static const char *const scope_prefix[OPTS_SCOPES][2] = {
    [OPTS_CONFIG] = {"", NULL},
    [OPTS_ENDPOINT] = {"endpoints.*.", NULL},
    [OPTS_MODEL] = {"model_defaults.", "models_config.*."},
    [OPTS_PRICE] = {"prices.*.", NULL},
    [OPTS_PAIR] = {"pairs[].", NULL},
};

/* ------------------------------------------------------------ string rules */

static int word_of(const char *v, const char *extra)
{
    for (; *v; v++)
        if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') ||
              strchr(extra, *v)))
            return 0;
    return 1;
}

static int campaign_name(const char *v, char *msg, size_t size)
{
    if (core_yname_ok(v, 1))
        return 0;
    snprintf(msg, size, "expected a campaign name of letters, digits, '.', '_' or '-', got '%s'", v);
    return -1;
}

static int http_url(const char *v, char *msg, size_t size)
{
    if (!strncmp(v, "http://", 7) || !strncmp(v, "https://", 8))
        return 0;
    snprintf(msg, size, "expected a URL starting with http:// or https://, got '%s'", v);
    return -1;
}

/* The value is never shown: a key pasted here instead of its variable's
 * name would land in a message. Unexpanded (F_LITERAL): ${VAR} would put
 * the key itself here. */
static int env_name(const char *v, char *msg, size_t size)
{
    if (strstr(v, "${")) {
        snprintf(msg, size, "expected the name of an environment variable (like CBORG_API_KEY), "
                            "got a ${...} reference");
        return -1;
    }
    if (*v && !(*v >= '0' && *v <= '9') && word_of(v, "_"))
        return 0;
    snprintf(msg, size, "expected the name of an environment variable (not the key itself), got a "
                        "value that is not a variable name");
    return -1;
}

static int header_name(const char *v, char *msg, size_t size)
{
    if (*v && word_of(v, "!#$%&'*+-.^_`|~")) /* an RFC 9110 token */
        return 0;
    snprintf(msg, size, "expected an HTTP header name (like x-litellm-model-id), got '%s'", v);
    return -1;
}

static int effort_level(const char *v, char *msg, size_t size)
{
    int ok = *v != '\0';
    for (const char *p = v; *p && ok; p++)
        ok = (*p >= 'a' && *p <= 'z') || *p == '_' || *p == '-';
    if (ok)
        return 0;
    snprintf(msg, size, "expected an effort level such as minimal, low, medium or high, got '%s'", v);
    return -1;
}

static int tokens_param(const char *v, char *msg, size_t size)
{
    if (!strcmp(v, "max_tokens") || !strcmp(v, "max_completion_tokens"))
        return 0;
    snprintf(msg, size, "expected max_tokens or max_completion_tokens (OpenAI's reasoning models "
                        "take max_completion_tokens), got '%s'", v);
    return -1;
}

static int python_program(const char *v, char *msg, size_t size)
{
    if (*v)
        return 0;
    snprintf(msg, size, "expected a Python interpreter, got ''");
    return -1;
}

/* ----------------------------------------------------------------- loading */

/* The key of row o when it sits directly in the mapping at prefix of scope
 * ("" the scope's top), else NULL. */
static const char *child_key(const config_opt *o, core_opts_scope scope, const char *prefix)
{
    if (o->scope != scope)
        return NULL;
    const char *k = o->path;
    size_t pl = strlen(prefix);
    if (pl) {
        if (strncmp(k, prefix, pl) || k[pl] != '.')
            return NULL;
        k += pl + 1;
    }
    return strchr(k, '.') ? NULL : k;
}

static int64_t int_bound(double b)
{
    return b == -NONE ? INT64_MIN : b == NONE ? INT64_MAX : (int64_t)b;
}

/* The string value of n for row o into *out (replacing it): expanded
 * unless F_LITERAL, then o->check. 0 or -1. */
static int load_text(const yctx *c, const config_opt *o, const ynode *n, const char *path,
                     char **out)
{
    char *v = NULL;
    if (o->flags & F_LITERAL) {
        char got[80];
        if (n->kind != Y_SCALAR || core_yis_null(n))
            return core_yfail(c, n, path, "expected a string, got %s", core_ydescribe(n, got, sizeof got));
        v = l4h_xstrdup(n->value);
    } else if (core_yget_str(c, n, path, &v) < 0) {
        return -1;
    }
    char msg[1536];
    if (o->check && o->check(v, msg, sizeof msg) < 0) {
        free(v);
        return core_yfail(c, n, path, "%s", msg);
    }
    free(*out);
    *out = v;
    return 0;
}

/* The index of n's value among o->choices into *out. 0 or -1. */
static int load_enum(const yctx *c, const config_opt *o, const ynode *n, const char *path, int *out)
{
    char *v = NULL;
    if (core_yget_str(c, n, path, &v) < 0)
        return -1;
    for (int i = 0; o->choices[i]; i++)
        if (!strcmp(v, o->choices[i])) {
            free(v);
            *out = i;
            return 0;
        }
    l4h_buf b = {0};
    for (int i = 0; o->choices[i]; i++)
        l4h_buf_printf(&b, "%s%s", !i ? "" : o->choices[i + 1] ? ", " : " or ", o->choices[i]);
    core_yfail(c, n, path, "expected %s, got '%s'", b.data, v);
    l4h_buf_free(&b);
    free(v);
    return -1;
}

/* An optional number (l4h_opt_num): null is L4H_OPT_NULL. */
static int load_opt_num(const yctx *c, const config_opt *o, const ynode *n, const char *path,
                        l4h_opt_num *out)
{
    if (core_yis_null(n)) {
        out->state = L4H_OPT_NULL;
        return 0;
    }
    if (o->type == T_OPT_INT) {
        int64_t v;
        if (core_yget_int(c, n, path, int_bound(o->lo), int_bound(o->hi), &v) < 0)
            return -1;
        out->value = (double)v;
    } else if (core_yget_num(c, n, path, o->lo, (o->flags & F_EXCL) != 0, &out->value) < 0) {
        return -1;
    }
    out->state = L4H_OPT_SET;
    return 0;
}

/* The value n of row o (at key path) into its field of base. 0 or -1. */
static int load_value(const yctx *c, const config_opt *o, const ynode *n, const char *path,
                      void *base)
{
    void *f = (char *)base + o->off;
    int64_t v;
    switch (o->type) {
    case T_INT:
        v = *(int *)f;
        if (core_yget_int(c, n, path, int_bound(o->lo), o->hi < INT_MAX ? int_bound(o->hi) : INT_MAX,
                     &v) < 0)
            return -1;
        *(int *)f = (int)v;
        return 0;
    case T_I64:
        return core_yget_int(c, n, path, int_bound(o->lo), int_bound(o->hi), f);
    case T_NUM:
        return core_yget_num(c, n, path, o->lo, (o->flags & F_EXCL) != 0, f);
    case T_BOOL:
        return core_yget_bool(c, n, path, f);
    case T_STR:
        if ((o->flags & F_NULLABLE) && core_yis_null(n))
            return 0;
        return load_text(c, o, n, path, f);
    case T_PATH:
        return core_yget_path(c, n, path, f);
    case T_PROGRAM: {
        char *s = NULL;
        if (load_text(c, o, n, path, &s) < 0)
            return -1;
        free(*(char **)f); /* a bare name (python3) is looked up on PATH */
        *(char **)f = strchr(s, '/') ? l4h_path_join(c->dir, s) : l4h_xstrdup(s);
        free(s);
        return 0;
    }
    case T_ENUM:
        return load_enum(c, o, n, path, f);
    case T_OPT_NUM:
    case T_OPT_INT:
        return load_opt_num(c, o, n, path, f);
    case T_MAP:
    case T_CODE:
        break;
    }
    return 0;
}

/* The mapping n of scope at prefix (key path `path`): keys, required keys,
 * then each row's value. */
static int load_map(const yctx *c, core_opts_scope scope, const ynode *n, const char *prefix,
                    const char *path, void *base)
{
    const char *keys[N_OPTS + 1];
    size_t nk = 0;
    for (size_t i = 0; i < N_OPTS; i++)
        if ((keys[nk] = child_key(&opts[i], scope, prefix)))
            nk++;
    keys[nk] = NULL;
    if (core_ycheck_keys(c, n, path, keys) < 0)
        return -1;
    char kp[256];
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *k = child_key(&opts[i], scope, prefix);
        if (k && (opts[i].flags & F_REQUIRED) && !core_ymap_get(n, k))
            return core_yfail(c, n, core_ypath_key(kp, path, k), "missing required key");
    }
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *k = child_key(&opts[i], scope, prefix);
        const ynode *v = k ? core_ymap_get(n, k) : NULL;
        if (!v)
            continue;
        core_ypath_key(kp, path, k);
        if (opts[i].type == T_MAP ? load_map(c, scope, v, opts[i].path, kp, base) < 0
                                  : load_value(c, &opts[i], v, kp, base) < 0)
            return -1;
    }
    return 0;
}

int core_opts_load(const yctx *c, core_opts_scope scope, const ynode *n, const char *path,
                   void *base)
{
    return load_map(c, scope, n, "", path, base);
}

void core_opts_defaults(core_opts_scope scope, void *base)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        const config_opt *o = &opts[i];
        void *f = (char *)base + o->off;
        if (o->scope != scope || (o->flags & F_RESOLVED))
            continue;
        switch (o->type) {
        case T_INT:
        case T_BOOL:
            if (!isnan(o->def))
                *(int *)f = (int)o->def;
            break;
        case T_I64:
            if (!isnan(o->def))
                *(int64_t *)f = (int64_t)o->def;
            break;
        case T_NUM:
            if (!isnan(o->def))
                *(double *)f = o->def;
            break;
        case T_STR:
        case T_PATH:
        case T_PROGRAM:
            if (o->text) {
                char *v = NULL;
                if (core_expand_env(o->text, &v, NULL) < 0 || !v)
                    v = l4h_xstrdup(o->text);
                free(*(char **)f);
                *(char **)f = v;
            }
            break;
        case T_ENUM:
            for (int k = 0; o->text && o->choices[k]; k++)
                if (!strcmp(o->text, o->choices[k]))
                    *(int *)f = k;
            break;
        case T_OPT_NUM:
        case T_OPT_INT:
        case T_MAP:
        case T_CODE:
            break;
        }
    }
}

static const config_opt *find(core_opts_scope scope, const char *key)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (opts[i].scope == scope && !strcmp(opts[i].path, key))
            return &opts[i];
    return NULL;
}

double core_opts_num_default(core_opts_scope scope, const char *key)
{
    const config_opt *o = find(scope, key);
    return o ? o->def : NAN;
}

const char *core_opts_text_default(core_opts_scope scope, const char *key)
{
    const config_opt *o = find(scope, key);
    return o ? o->text : NULL;
}

const char *core_opts_choice(core_opts_scope scope, const char *key, int value)
{
    const config_opt *o = find(scope, key);
    for (int i = 0; o && o->choices && o->choices[i]; i++)
        if (i == value)
            return o->choices[i];
    return "?";
}

/* The i-th key path of the table (see core.h). */
int l4h_config_key(size_t i, char *buf, size_t size)
{
    for (size_t k = 0; k < N_OPTS; k++)
        for (int p = 0; p < 2 && scope_prefix[opts[k].scope][p]; p++)
            if (i-- == 0) {
                snprintf(buf, size, "%s%s", scope_prefix[opts[k].scope][p], opts[k].path);
                return 0;
            }
    return -1;
}

/* The name of choice value of the enumerated key (see core.h). */
const char *l4h_config_choice(const char *key, int value)
{
    char path[256];
    for (size_t k = 0; k < N_OPTS; k++)
        for (int p = 0; p < 2 && scope_prefix[opts[k].scope][p] && opts[k].choices; p++) {
            snprintf(path, sizeof path, "%s%s", scope_prefix[opts[k].scope][p], opts[k].path);
            if (!strcmp(path, key))
                return core_opts_choice(opts[k].scope, opts[k].path, value);
        }
    return "?";
}
