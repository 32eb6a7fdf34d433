/* core.h — what every room shares: errors, small utilities, the campaign
 * config and the benchmark suite (YAML, the contract in DESIGN.md), template
 * placeholders, the campaign plan, and the task record that the agent loop
 * produces, MPI carries and the store writes.
 *
 * Memory: every struct returned by a *_load / *_build / *_new function is owned
 * by the caller and released with the matching *_free. Strings inside structs
 * are owned by the struct. Functions that take `l4h_err *err` fill it on error
 * (err may be NULL) and return -1 (or NULL); they return 0 on success. */
#ifndef LLM4HEP_CORE_H
#define LLM4HEP_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors */

/* Exit codes (DESIGN.md): also the `code` of an l4h_err. */
enum {
    L4H_EXIT_OK = 0,       /* done; for sweep: the campaign is complete */
    L4H_EXIT_FAILED = 1,   /* the thing checked failed */
    L4H_EXIT_USAGE = 2,    /* bad usage or bad input */
    L4H_EXIT_INFRA = 3,    /* infrastructure failure */
    L4H_EXIT_STOPPED = 4   /* sweep stopped early, resumable */
};

/* One error: an exit code and a message that names file:line:col, the key or
 * the flag, and what was expected. */
typedef struct l4h_err {
    int code;
    char msg[2048];
} l4h_err;

/* Set err (if not NULL) to code and the formatted message. Returns -1 so that
 * callers can write `return l4h_err_set(err, ...)`. Can't fail. */
int l4h_err_set(l4h_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix err->msg with "prefix: " (formatted). Returns -1. */
int l4h_err_prefix(l4h_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------- utilities */

/* A growable byte buffer, always NUL-terminated when data != NULL. */
typedef struct l4h_buf {
    char *data;
    size_t len;
    size_t cap;
} l4h_buf;

/* Append bytes / a string / formatted text. Abort on out of memory (the only
 * sane reaction for a tool that must not lose data silently). */
void l4h_buf_add(l4h_buf *b, const void *p, size_t n);
void l4h_buf_puts(l4h_buf *b, const char *s);
void l4h_buf_printf(l4h_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Give the data to the caller (to free()); the buffer becomes empty. Never NULL. */
char *l4h_buf_take(l4h_buf *b);
void l4h_buf_free(l4h_buf *b);

/* malloc/calloc/realloc/strdup that abort with a message on out of memory. */
void *l4h_xmalloc(size_t n);
void *l4h_xcalloc(size_t n, size_t size);
void *l4h_xrealloc(void *p, size_t n);
char *l4h_xstrdup(const char *s); /* NULL -> NULL */

/* Read a whole file; *out is NUL-terminated, caller frees. */
int l4h_read_file(const char *path, char **out, size_t *len, l4h_err *err);
/* Write a whole file atomically (temp file + fsync + rename). */
int l4h_write_file(const char *path, const void *data, size_t len, l4h_err *err);
/* mkdir -p. */
int l4h_mkdirs(const char *path, int mode, l4h_err *err);
/* rm -rf; returns 0 also when the path does not exist. */
int l4h_remove_tree(const char *path, l4h_err *err);
/* Join dir and rel; if rel is absolute return a copy of it. Caller frees. */
char *l4h_path_join(const char *dir, const char *rel);
/* Directory part of a path ("." when none). Caller frees. */
char *l4h_path_dir(const char *path);
/* The directory of path made absolute and normalised (realpath), so that
 * paths resolved against it hold whatever the working directory; the plain
 * directory when it cannot be resolved. Caller frees. */
char *l4h_path_dir_abs(const char *path);

/* SHA-256 of bytes as 64 lowercase hex chars + NUL. Can't fail. */
void l4h_sha256_hex(const void *data, size_t len, char out[65]);
/* Incremental SHA-256. */
typedef struct l4h_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    unsigned char block[64];
    size_t used;
} l4h_sha256;
void l4h_sha256_init(l4h_sha256 *s);
void l4h_sha256_update(l4h_sha256 *s, const void *data, size_t len);
void l4h_sha256_final(l4h_sha256 *s, char out[65]);

/* Read a YAML file into JSON text: mappings become objects, sequences arrays,
 * plain scalars are typed by the YAML 1.2 core schema (null, true/false,
 * integers, floats), quoted scalars stay strings. A duplicate key or a syntax
 * error is -1 (code 2) naming file:line:col. Caller frees *json. For the
 * scripted models and other YAML that is not the config or the suite.
 * JSON has no infinity or NaN: .inf/.nan stay the strings ".inf"/".nan".
 * Aliases are copied (at most 1e6 nodes); one document per file; no ${VAR}
 * expansion here. */
int l4h_yaml_file_to_json(const char *path, char **json, l4h_err *err);

/* Expand ${VAR} and ${VAR:-default} in s. An unset variable without default
 * is -1 (code 2) naming it. Caller frees *out. As in the shell, the default
 * is used when VAR is unset or empty and may itself hold ${...}; "$$" is a
 * literal "$"; a "$" not followed by "{" is kept. The config and the suite
 * expand every string value (not keys, not prompt files). */
int l4h_expand_env(const char *s, char **out, l4h_err *err);

/* Wall clock (seconds since the epoch) and monotonic clock (seconds). */
double l4h_now(void);
double l4h_monotonic(void);
/* "2026-11-27T17:33:55Z" for t (epoch seconds) into out[32]. */
void l4h_utc_string(double t, char out[32]);

/* ---------------------------------------------------------------- config */

/* A value that may be unset (inherit the default), set, or explicitly null
 * (omit it from the request), as `temperature: null` in models_config. */
typedef enum { L4H_OPT_UNSET = 0, L4H_OPT_SET, L4H_OPT_NULL } l4h_opt_state;
typedef struct l4h_opt_num {
    l4h_opt_state state;
    double value;
} l4h_opt_num;

/* Where a value came from, for error messages. */
typedef struct l4h_where {
    const char *file; /* owned by the config (its path table) */
    int line, col;    /* 1-based */
} l4h_where;

typedef enum { L4H_PROVIDER_HTTP = 0, L4H_PROVIDER_SCRIPTED, L4H_PROVIDER_REPLAY } l4h_provider_kind;

typedef struct l4h_endpoint {
    char *name;
    l4h_provider_kind provider; /* `provider:` http (default) | scripted | replay */
    char *base_url;             /* http */
    char *api_key_env;          /* http: variable holding the key; NULL = no key */
    char *dir;                  /* scripted: directory of <model>.yml (resolved path) */
    char *file;                 /* replay: results file to replay (resolved path) */
    int max_concurrency;        /* 0 = unlimited */
    double requests_per_minute; /* 0 = unlimited */
    l4h_where where;
} l4h_endpoint;

/* model_defaults and one models_config entry share this shape. */
typedef struct l4h_model_opts {
    char *endpoint;              /* NULL = inherit */
    l4h_opt_num temperature;
    l4h_opt_num max_tokens;
    l4h_opt_num request_timeout_s;
    l4h_opt_num seed;
    l4h_where where;
} l4h_model_opts;

/* A model's options after models_config[m] is laid over model_defaults. */
typedef struct l4h_model_resolved {
    const char *name;
    const l4h_endpoint *endpoint; /* never NULL after a successful load */
    l4h_opt_num temperature, max_tokens, seed;
    double request_timeout_s;     /* default 600 */
    int has_price;
    double input_per_mtok, output_per_mtok;
} l4h_model_resolved;

typedef struct l4h_named_opts {
    char *model;
    l4h_model_opts opts;
} l4h_named_opts;

typedef struct l4h_price {
    char *model;
    double input_per_mtok, output_per_mtok;
} l4h_price;

typedef struct l4h_limits {
    double task_wall_s;      /* default 3600 */
    double exec_timeout_s;   /* default 900 */
    int64_t exec_memory_mb;  /* default 8192 */
    int64_t workspace_mb;    /* default 4096 */
    int64_t output_bytes;    /* default 16384 */
    int64_t task_tokens;     /* default 2000000; 0 = unlimited */
    double campaign_usd;     /* default 0 = unlimited */
} l4h_limits;

typedef enum { L4H_ISOLATION_AUTO = 0, L4H_ISOLATION_BWRAP, L4H_ISOLATION_RLIMIT } l4h_isolation;

typedef struct l4h_sandbox_cfg {
    char *python;            /* default /usr/bin/python3 */
    l4h_isolation isolation; /* default auto */
    int network;             /* default 0 (false) */
    int max_parallel_per_node; /* default 16 */
} l4h_sandbox_cfg;

typedef struct l4h_retry_cfg {
    int max_attempts; /* default 8 */
    double base_s;    /* default 2 */
    double max_s;     /* default 120 */
} l4h_retry_cfg;

/* One (supervisor, coder) combination and how many trials it gets. In
 * sequential mode supervisor == coder (two equal strings). */
typedef struct l4h_pair {
    char *supervisor;
    char *coder;
    int trials;
} l4h_pair;

struct l4h_suite;

typedef struct l4h_config {
    char *path;        /* as given */
    char *dir;         /* directory that relative paths resolve against */
    char *text;        /* the file's bytes (for /runs) */
    char sha256[65];   /* over the file's bytes */

    char *name;
    char *suite_path;  /* resolved */
    char *output;      /* resolved */
    char *scratch;     /* resolved */
    int trials;
    int max_iterations;
    char **steps;      /* names as given (validated against the suite); NULL = all */
    size_t n_steps;

    l4h_pair *pairs;   /* models, models_file, pairs, supervisors_file x coders_file merged */
    size_t n_pairs;

    l4h_endpoint *endpoints;
    size_t n_endpoints;
    l4h_model_opts model_defaults;
    l4h_named_opts *models_config;
    size_t n_models_config;
    l4h_price *prices;
    size_t n_prices;
    l4h_limits limits;
    l4h_sandbox_cfg sandbox;
    l4h_retry_cfg retry;
    int infra_retries; /* default 1 */

    struct l4h_suite *suite; /* loaded with the config */
    char **files;      /* every file path the config read (for l4h_where.file) */
    size_t n_files;
} l4h_config;

/* Load and validate a campaign config and its suite. Every problem is exit
 * code 2 with one message "FILE:LINE:COL: key 'PATH': expected ..., got ..."
 * (PATH dotted: "limits.task_wall_s", "steps[1]"). Required: name, suite, and
 * models by one of models / models_file / pairs / supervisors_file with
 * coders_file (merged; a repeated pair adds its trials). output defaults to
 * results/<name>.h5 beside the config, scratch to ${TMPDIR:-/tmp},
 * max_iterations to 10. Every endpoint reference must be defined. */
int l4h_config_load(const char *path, l4h_config **out, l4h_err *err);
void l4h_config_free(l4h_config *cfg);

/* Resolve a model's options (models_config over model_defaults, endpoint,
 * price). Returns -1 (code 2) when the model's endpoint is not defined. */
int l4h_config_model(const l4h_config *cfg, const char *model, l4h_model_resolved *out,
                     l4h_err *err);
/* The endpoint of that name, or NULL. */
const l4h_endpoint *l4h_config_endpoint(const l4h_config *cfg, const char *name);

/* A config with every default and no models, suite or endpoints — for the
 * verbs that take a suite but no config (`validate`, `reference`). Its dir is
 * the current directory. Can't fail (aborts on out of memory). */
l4h_config *l4h_config_defaults(void);

/* Print the plan for `sweep --dry-run`: counts by model and by step, total
 * tasks, endpoints used, output path, and the first tasks in dispatch order. */
struct l4h_plan;
void l4h_plan_print(const l4h_config *cfg, const struct l4h_plan *plan, void *fp /* FILE* */);

/* ----------------------------------------------------------------- suite */

typedef enum { L4H_CHECK_ARRAY = 0, L4H_CHECK_TEXT, L4H_CHECK_COMMAND } l4h_check_kind;

typedef struct l4h_expect {
    char *key;
    int has_min, has_max;
    double min, max;
} l4h_expect;

typedef struct l4h_check_spec {
    l4h_check_kind kind;
    char *name;          /* stable label, e.g. "array:arrays/data_raw.npy", "command:checks/auc.py" */
    char *file;          /* array, text: path relative to the workspace */
    int sig_digits;      /* array: default 4 */
    double zero_floor;   /* array: default 1e-9 */
    char **patterns;     /* text: regular expressions (POSIX extended) that must all match */
    size_t n_patterns;
    char **run;          /* command: argv template (placeholders) */
    size_t n_run;
    l4h_expect *expect;  /* command: bounds on keys of the printed JSON object */
    size_t n_expect;
    l4h_where where;
} l4h_check_spec;

typedef struct l4h_tool_spec {
    char *name;
    char *description;
    char *parameters_json; /* JSON schema, converted from YAML */
    char **command;        /* argv template; JSON arguments on stdin */
    size_t n_command;
} l4h_tool_spec;

typedef struct l4h_step {
    char *name;
    int number;            /* 1-based position in the suite */
    char *prompt_path;     /* resolved */
    char *prompt;          /* template text */
    char **stage;          /* reference outputs copied into the workspace, read-only */
    size_t n_stage;
    l4h_tool_spec *tools;
    size_t n_tools;
    l4h_check_spec *checks;
    size_t n_checks;
} l4h_step;

typedef struct l4h_suite {
    char *path;
    char *dir;
    char *name;
    char *data_dir;        /* resolved */
    char *reference_dir;   /* resolved */
    char **generate;       /* argv template, may be NULL */
    size_t n_generate;
    char **solution;       /* argv template */
    size_t n_solution;
    char **requires;       /* python modules */
    size_t n_requires;
    char *prompt_supervisor_first, *prompt_supervisor, *prompt_coder; /* template texts */
    l4h_step *steps;
    size_t n_steps;
    char sha256[65];       /* over the suite file and every file it names */
} l4h_suite;

int l4h_suite_load(const char *path, l4h_suite **out, l4h_err *err);
void l4h_suite_free(l4h_suite *suite);
/* The step named `name` or numbered (1-based, as a decimal string); NULL if none. */
const l4h_step *l4h_suite_step(const l4h_suite *suite, const char *name_or_number);

/* ---------------------------------------------------------- placeholders */

/* {{workspace}} {{data_dir}} {{reference_dir}} {{step}} {{step_number}}
 * {{inputs}} {{files}} — the only names a template may use. A placeholder is
 * "{{" NAME "}}" (spaces allowed inside the braces), NAME letters, digits and
 * '_'; any other "{{" (f"{{x!r}}", JSON in a prompt) is plain text. The
 * suite loader rejects unknown names in prompts and commands up front. */
typedef struct l4h_vars {
    const char *workspace, *data_dir, *reference_dir, *step, *step_number, *inputs, *files;
} l4h_vars;

/* Render a template; an unknown placeholder or one whose value is NULL is an
 * error (code 2) naming it. *out is the caller's to free. */
int l4h_render(const char *tmpl, const l4h_vars *vars, char **out, l4h_err *err);
/* Render every element of an argv template. *out is a NULL-terminated array
 * the caller frees with l4h_strv_free. */
int l4h_render_argv(char *const *tmpl, size_t n, const l4h_vars *vars, char ***out, l4h_err *err);
void l4h_strv_free(char **v);
/* In a rendered suite command (tool, check, solution), make each argument
 * after the first that names an existing file relative to the suite's
 * directory absolute (checks/auc.py -> <suite dir>/checks/auc.py), so the
 * command runs from any working directory. NULL suite_dir: no change. Can't fail. */
void l4h_suite_resolve_argv(char **argv, const char *suite_dir);

/* --------------------------------------------------------------- verdict */

/* The supervisor's verdict (DESIGN.md): 1 when the last non-empty line of text
 * is `VERDICT: DONE`, 0 for `VERDICT: CONTINUE` and anything else. Blanks,
 * markdown marks (*, _, `) and a final period around it are tolerated;
 * *well_formed (may be NULL) is 1 only when that line was a verdict line. The
 * agent loop and `show` read verdicts with this one rule. Can't fail. */
int l4h_parse_verdict(const char *text, int *well_formed);

/* ------------------------------------------------------------------ plan */

typedef struct l4h_task {
    int index;               /* position in dispatch order, 0-based */
    const char *supervisor;  /* borrowed from the config */
    const char *coder;
    const l4h_step *step;    /* borrowed from the suite */
    int trial;               /* 1-based */
    char key[17];            /* 16 hex chars of sha256(campaign, supervisor, coder, step, trial) */
} l4h_task;

typedef struct l4h_plan {
    l4h_task *tasks;
    size_t n_tasks;
} l4h_plan;

/* Expand config x suite into tasks, interleaved by trial: every pair x step of
 * trial 1, then trial 2, ... Within a trial the steps are the outer loop and
 * the pairs (in config order) the inner one; a pair with fewer trials drops
 * out of later rounds. Borrowed pointers stay valid while cfg lives. */
int l4h_plan_build(const l4h_config *cfg, l4h_plan *plan, l4h_err *err);
void l4h_plan_free(l4h_plan *plan);
/* The stable task key (16 hex chars + NUL): the first 16 hex characters of
 * sha256(campaign "\0" supervisor "\0" coder "\0" step "\0" trial), trial in
 * decimal ("3"). Nothing else enters it. Can't fail. */
void l4h_task_key(const char *campaign, const char *supervisor, const char *coder,
                  const char *step, int trial, char out[17]);

/* ---------------------------------------------------------------- record */

typedef enum {
    L4H_STATUS_SUCCESS = 0,
    L4H_STATUS_FAILED_VALIDATION,
    L4H_STATUS_FAILED_EXECUTION,
    L4H_STATUS_FAILED_NO_CODE,
    L4H_STATUS_FAILED_LIMIT,
    L4H_STATUS_ERROR_API,
    L4H_STATUS_ERROR_SANDBOX,
    L4H_STATUS_ERROR_INTERNAL,
    L4H_STATUS_INTERRUPTED,
    L4H_STATUS_COUNT
} l4h_status;

/* "success", "failed_validation", ... ; NULL for an out-of-range value. */
const char *l4h_status_name(l4h_status s);
/* The status of that name, or -1. */
int l4h_status_parse(const char *name);
/* 1 for error_* and interrupted (infrastructure), else 0. */
int l4h_status_is_infra(l4h_status s);

/* One LLM request as sent and its answer (a /calls row). */
typedef struct l4h_call_rec {
    int iteration;
    char agent[16];          /* "supervisor" | "coder" | "annotator" */
    int call;                /* 0-based call index of that agent in the task */
    char *model;
    int http_status;         /* 0 for scripted / connection failure */
    int attempts;
    double latency_s;
    int64_t prompt_tokens, completion_tokens;
    double cost_usd;         /* NaN when the price is unknown */
    char finish_reason[24];
    char *request;           /* the exact JSON body sent (no secrets) */
    char *response;          /* the raw body received, or the error */
    char *attempt_log;       /* one line per HTTP attempt (status, latency, result, wait,
                                reason): the retries behind this call; may be NULL */
} l4h_call_rec;

/* One execution of generated code, a tool or a check program (an /execs row). */
typedef struct l4h_exec_rec {
    int iteration;
    char kind[16];           /* "code" | "tool" | "check" */
    int exit_code;           /* -1 when killed by a signal */
    int signal;
    int timed_out;
    char limit[16];          /* "" or the limit that stopped it: time, memory, cpu,
                                fsize, nproc, workspace, output (l4h_exec_result.limit) */
    double wall_s;
    int64_t max_rss_kb;
    char isolation[16];      /* "bwrap" | "rlimit" */
    char *code;              /* the code, or the tool's JSON arguments */
    char *stdout_text;
    char *stderr_text;
    int truncated;
} l4h_exec_rec;

/* One hidden check (a /checks row). */
typedef struct l4h_check_rec {
    char *check;             /* l4h_check_spec.name */
    int passed;
    int64_t n_bad;
    double max_rel_diff;     /* NaN when not applicable */
    char *report;            /* a report a person can act on */
} l4h_check_rec;

/* One task attempt (a /tasks row) with its calls, executions and checks. */
typedef struct l4h_task_rec {
    int64_t task_id;         /* assigned by the store (journal sequence); -1 before */
    char key[17];
    char *campaign;
    char *supervisor, *coder, *step;
    int trial;
    int attempt;             /* 1, 2, ... for reruns of the same key */
    int final;               /* set by the store */
    l4h_status status;
    int success, approved;
    int iterations, api_calls;
    int64_t prompt_tokens, completion_tokens;
    double cost_usd;
    double wall_s, llm_s, exec_s;
    double started_utc;      /* epoch seconds */
    int run, rank;
    char *host;
    char error_category[24]; /* semantic, function_calling, file_not_found, wrong_branch,
                                api_error, data_quality, other; "" on success */
    char *error_summary;
    l4h_call_rec *calls;   size_t n_calls;
    l4h_exec_rec *execs;   size_t n_execs;
    l4h_check_rec *checks; size_t n_checks;
} l4h_task_rec;

/* Append a zeroed call/exec/check to the record and return it. Can't fail. */
l4h_call_rec *l4h_rec_add_call(l4h_task_rec *rec);
l4h_exec_rec *l4h_rec_add_exec(l4h_task_rec *rec);
l4h_check_rec *l4h_rec_add_check(l4h_task_rec *rec);
/* Free everything the record owns and zero it. */
void l4h_rec_clear(l4h_task_rec *rec);

/* Serialise a record to JSON (the journal and the MPI wire use this).
 * Returns a malloc'd NUL-terminated string. Can't fail. Exact round trip:
 * doubles printed %.17g; NaN/+Inf/-Inf as the strings "NaN", "Infinity",
 * "-Infinity"; int64 beyond +-2^53 as decimal strings; NULL strings as null.
 * Strings may hold any bytes but NUL (non-UTF-8 bytes pass through raw). */
char *l4h_rec_to_json(const l4h_task_rec *rec);
/* Parse what l4h_rec_to_json wrote into a zeroed rec. -1 on malformed input
 * (rec cleared). Missing fields read as zero/NULL, unknown ones are ignored. */
int l4h_rec_from_json(const char *json, size_t len, l4h_task_rec *rec, l4h_err *err);

#endif
