/* core.h — what every room shares: errors, small utilities, the campaign
 * config and the benchmark suite (YAML, the contract in docs/design.md), template
 * placeholders, the campaign plan, and the task record that the agent loop
 * produces, MPI carries and the store writes.
 *
 * Memory: every struct returned by a *_load / *_build / *_new function is owned
 * by the caller and released with the matching *_free. Strings inside structs
 * are owned by the struct. Errors: the convention below. */
#ifndef LLM4HEP_CORE_H
#define LLM4HEP_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors
 *
 * The one error convention of every room but the CLI (src/cli):
 *  - A function that can fail takes `l4h_err *err` (may be NULL) and returns
 *    0 on success and -1 on failure (a pointer: NULL), having filled err with
 *    an exit code and one message. Callers test `< 0` (`!p` for a pointer),
 *    never `!= 0` or truthiness, so a function may later return counts >= 0.
 *    A function with more outcomes (l4h_fs_walk: 0, 1, -1) lists them.
 *  - The code is an L4H_EXIT_* name, never a bare number: USAGE for what the
 *    user gave (file:line:col, the key or the flag, and what was expected),
 *    INFRA for what broke around us, FAILED for what the thing checked did.
 *  - A library room reports through l4h_err (notes for the user through an
 *    l4h_buf the caller prints) and never prints. The only exception is the
 *    one line on stderr before abort() when memory runs out (l4h_xmalloc).
 *  - The CLI prints "llm4hep VERB: <err.msg>" and exits with err.code. */

/* Exit codes (docs/design.md): also the `code` of an l4h_err. */
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

/* The most bytes l4h_read_file reads: configs, suites, model lists,
 * prompts, scripted answers and manifests are far smaller; 64 MiB leaves
 * room for a 50 MB YAML scalar and stops /dev/zero-like inputs early. */
#define L4H_READ_FILE_MAX ((size_t)64 << 20)

/* core_read_file_max with L4H_READ_FILE_MAX: the one reader of every file
 * the user names. */
int l4h_read_file(const char *path, char **out, size_t *len, l4h_err *err);
/* Write a whole file atomically (temp file + fsync + rename). */
int l4h_write_file(const char *path, const void *data, size_t len, l4h_err *err);
/* mkdir -p. */
int l4h_mkdirs(const char *path, int mode, l4h_err *err);
/* rm -rf; returns 0 also when the path does not exist. */
int l4h_remove_tree(const char *path, l4h_err *err);
struct stat;
/* ---- Files beneath a directory someone else can write (src/core/fsat.c).
 * The generated code writes its workspace: every link, swapped directory,
 * deep chain or odd mode it leaves is hostile. Reach such a tree only
 * through a directory fd opened once and these functions; never a path
 * string through it. Names resolve beneath the fd with openat2
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), or a walk
 * of O_NOFOLLOW opens where openat2 is missing; a link anywhere on the way
 * is refused. Error codes: 1 the tree is not as expected (link, missing,
 * not a directory, too deep: its writer's doing), 2 an absolute name or
 * "..", 3 other I/O errors. Every fd returned is close-on-exec; the caller
 * closes it. */

/* Open the directory at path (ours: resolved normally, but the last
 * component must not be a link). fd or -1 with err. */
int l4h_fs_dir_open(const char *path, l4h_err *err);
/* openat(dfd, rel, flags | O_NOFOLLOW, mode) resolved beneath dfd with no
 * link followed. fd or -1 with err. */
int l4h_fs_open(int dfd, const char *rel, int flags, int mode, l4h_err *err);
/* Open rel for reading beneath dfd, following a link only while it stays
 * beneath dfd (openat2 RESOLVE_BENEATH: an absolute link or one climbing out
 * is refused, code 1); without openat2 no link is followed. For readers that
 * accept a link from one output to another. fd or -1 with err. */
int l4h_fs_open_in(int dfd, const char *rel, int flags, l4h_err *err);
/* mkdir -p rel beneath dfd (mode for new directories); an existing link or
 * non-directory on the way is code 1; a directory of ours we may not enter
 * (its writer chmod'ed it 000) is given u+rwx. Returns the directory's fd ("" or
 * "." give a duplicate of dfd) or -1 with err. */
int l4h_fs_mkdirs(int dfd, const char *rel, int mode, l4h_err *err);
/* Write the file rel beneath dfd (parents created): a new file beside it
 * (O_EXCL), renamed over rel, so a link or hard link planted at rel is
 * replaced, never written through. Not fsync'ed (scratch and copies). 0 or
 * -1 with err (code 1 when a directory is in the way). */
int l4h_fs_write(int dfd, const char *rel, const void *data, size_t len, int mode, l4h_err *err);
/* One entry met by l4h_fs_walk; every pointer is valid during the call only. */
typedef struct l4h_fs_entry {
    int dfd;               /* its directory */
    const char *name;      /* its name there */
    const char *rel;       /* its path relative to the walk's root */
    const struct stat *st; /* lstat: links are never followed */
    int depth;             /* 1 for the root's own entries */
} l4h_fs_entry;
/* 0 go on (descend into a directory), 1 do not descend, -1 stop the walk
 * (the visitor fills err). */
typedef int (*l4h_fs_visit)(void *ctx, const l4h_fs_entry *e);
/* Visit every entry under dfd, depth first, iteratively, holding at most
 * max_depth directories open. Directories at depth max_depth are visited but
 * not descended. Entries that vanish are skipped; a directory we own but may
 * not read (mode 000) is given u+rwx. Returns 0, 1 when a directory at
 * max_depth holds entries (err: "nested deeper than"), -1 when the visitor
 * stopped the walk or the root cannot be read (err). */
int l4h_fs_walk(int dfd, int max_depth, l4h_fs_visit fn, void *ctx, l4h_err *err);
/* What l4h_fs_copy_tree left out. */
typedef struct l4h_fs_copied {
    size_t links_skipped;  /* symbolic links: never copied as links, never followed */
    size_t others_skipped; /* FIFOs, sockets, devices */
} l4h_fs_copied;
/* Copy directories and regular files (full, apparent size) under src into
 * dst, merging into existing directories and replacing existing files
 * (rename over: never written through); skip the top-level entry skip_top
 * (may be NULL). -1 with err on a failure, code 1 when directories deeper
 * than max_depth were not copied. out (may be NULL) says what was skipped. */
int l4h_fs_copy_tree(int src, int dst, const char *skip_top, int max_depth, l4h_fs_copied *out,
                     l4h_err *err);
/* rm -rf of name in dfd: any depth (iterative; subtrees below 64 open
 * levels are moved up and removed in a later pass), never following a link,
 * directories made writable first. 0 also when name does not exist; -1
 * (code 3) with err naming the first failure when name is still there. */
int l4h_fs_remove(int dfd, const char *name, l4h_err *err);

/* Join dir and rel; if rel is absolute return a copy of it. Caller frees. */
char *l4h_path_join(const char *dir, const char *rel);
/* Directory part of a path ("." when none). Caller frees. */
char *l4h_path_dir(const char *path);

/* ---------------------------------------------- text shown to a model (text.c)
 * What generated code prints and the names of the files it leaves are hostile
 * bytes; before they reach a request they pass through these. */

/* l4h_text_clean flag: tab, CR, LF (and U+0085, U+2028, U+2029) are shown as
 * control pictures too, so the text stays on one line (file names). */
#define L4H_TEXT_ONE_LINE 1u

/* A copy of s[0..len) that is valid UTF-8 and shows its control bytes:
 * each byte that does not start a well-formed UTF-8 sequence (RFC 3629: no
 * overlongs, surrogates or code points above U+10FFFF) becomes U+FFFD; NUL
 * and the other C0 controls but tab, LF and CR become their Unicode control
 * pictures (U+2400 + c: "␀", "␛"), DEL "␡", C1 controls U+FFFD. s NULL is "".
 * Idempotent. Caller frees. Can't fail. */
char *l4h_text_clean(const char *s, size_t len, unsigned flags);
/* 1 when l4h_text_clean(s, len, flags) would return s unchanged. */
int l4h_text_is_clean(const char *s, size_t len, unsigned flags);
/* s when it has at most max bytes, else its head and tail around a line
 * "[... N bytes of <what> cut here ...]" (N: the bytes left out; with
 * L4H_TEXT_ONE_LINE in flags the marker is inline, between spaces), at most
 * max bytes in all (the marker alone when max is smaller than it), cut on
 * UTF-8 boundaries. Caller frees. Can't fail. */
char *l4h_text_head_tail(const char *s, size_t max, const char *what, unsigned flags);

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

/* Terminal output of text from outside (a model's answer, its code's
 * output, a results file's texts): appends to out the n bytes of s with
 * every control character shown, never obeyed: C0 controls and DEL in
 * caret notation (ESC as ^[, CR as ^M; newline and tab kept), bytes that
 * are not UTF-8 as \xNN, C1 controls and invisible reordering characters
 * (bidi overrides, zero-width marks) as <U+XXXX>. Only for display: what a
 * model wrote is recorded and run exactly as received. Can't fail. */
void l4h_term_visible(const char *s, size_t n, l4h_buf *out);
/* l4h_term_visible of the string s (NULL prints nothing) written to fp
 * (a FILE *). Can't fail. */
void l4h_term_puts(void *fp, const char *s);

/* a + b clamped to [INT64_MIN, INT64_MAX]: running totals of token counts
 * and other numbers from outside never wrap (signed overflow is undefined).
 * Can't fail. */
int64_t l4h_add_sat_i64(int64_t a, int64_t b);

/* Interruptible waits. A signal handler calls l4h_interrupt_waits()
 * (async-signal-safe); from then on every l4h_sleep_s returns within 50 ms
 * and l4h_waits_interrupted() is 1 (for good: the process is stopping). So a
 * process asleep in a backoff or a server's Retry-After still drains. */
void l4h_interrupt_waits(void);
int l4h_waits_interrupted(void);
/* Sleep s seconds (<= 0: not at all). 0 after the whole wait, -1 when
 * interrupted (at once if already). Sleeps in slices, so a signal delivered
 * to another thread ends it too. Can't fail otherwise. */
int l4h_sleep_s(double s);

/* Wall clock (seconds since the epoch) and monotonic clock (seconds). */
double l4h_now(void);
double l4h_monotonic(void);
/* "2026-11-27T17:33:55Z" for t (epoch seconds) into out[32]. */
void l4h_utc_string(double t, char out[32]);

/* ---------------------------------------------------------------- inputs */

/* The campaign's input snapshot (src/core/inputs.c): every file the config
 * and suite loaders and the scripted models read — config, models files,
 * suite, prompts, check and tool programs the suite names, scripted model
 * files and their code files — with its bytes and SHA-256. Those readers go
 * through l4h_input_read: with no snapshot in use it reads the disk; with a
 * recording snapshot in use (rank 0 of a sweep, at start) it reads the disk
 * once per path and keeps the bytes (a second read of a path returns the
 * kept bytes); with a frozen one (every rank and task child of a sweep) it
 * reads the snapshot only, and a path it does not hold is an error (code 2). */
typedef struct l4h_input_file {
    char *path;        /* as the loader named it (absolute in a sweep) */
    char *data;        /* the bytes, NUL-terminated */
    size_t len;
    char sha256[65];
} l4h_input_file;

typedef struct l4h_inputs l4h_inputs;

/* An empty recording snapshot; free with l4h_inputs_free. Can't fail. */
l4h_inputs *l4h_inputs_new(void);
/* Decode l4h_inputs_encode's bytes into a frozen snapshot (*out the caller's).
 * -1 (code 3) when damaged or a file does not match its SHA-256. */
int l4h_inputs_decode(const void *data, size_t len, l4h_inputs **out, l4h_err *err);
/* The snapshot as bytes (caller frees; *len set). Can't fail. */
char *l4h_inputs_encode(const l4h_inputs *in, size_t *len);
/* Stop recording: from now on reads come from the snapshot only. */
void l4h_inputs_freeze(l4h_inputs *in);
void l4h_inputs_free(l4h_inputs *in);
/* Make in (borrowed; NULL = the disk) the process's input source; returns
 * the previous one. Not for use while another thread reads inputs. */
l4h_inputs *l4h_inputs_use(l4h_inputs *in);
/* Files in the snapshot, in the order they were first read (pointers valid
 * until the snapshot records more or is freed). */
size_t l4h_inputs_count(const l4h_inputs *in);
const l4h_input_file *l4h_inputs_file(const l4h_inputs *in, size_t i);
/* The snapshot's identity: SHA-256 over its (path, SHA-256) pairs sorted by
 * path. Can't fail. */
void l4h_inputs_sha256(const l4h_inputs *in, char out[65]);
/* Read an input file through the process's input source (see above); as
 * l4h_read_file otherwise. */
int l4h_input_read(const char *path, char **out, size_t *len, l4h_err *err);
/* Is path a regular file — in a frozen snapshot: does the snapshot hold it? */
int l4h_input_is_file(const char *path);

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
    char *model_id_header;      /* http: response header naming the deployment a proxy
                                   routed to; default "x-litellm-model-id" */
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
    l4h_opt_num context_tokens;  /* the model's context window in tokens */
    char *max_tokens_param;      /* "max_tokens" | "max_completion_tokens"; NULL = inherit */
    char *reasoning_effort;      /* sent as reasoning_effort; NULL = inherit (none) */
    char *extra_body;            /* JSON object text merged into each request; NULL = inherit */
    l4h_where where;
} l4h_model_opts;

/* A model's context when neither models_config nor model_defaults says
 * (context_tokens): the common size of today's hosted models. Requests are
 * cut to fit it (agent.h, "Context"); set it for smaller local models. */
#define L4H_CONTEXT_TOKENS_DEFAULT 128000

/* A model's options after models_config[m] is laid over model_defaults. */
typedef struct l4h_model_resolved {
    const char *name;
    const l4h_endpoint *endpoint; /* never NULL after a successful load */
    l4h_opt_num temperature, max_tokens, seed;
    double request_timeout_s;     /* default: its row in src/core/config_opts.c */
    int64_t context_tokens;       /* default L4H_CONTEXT_TOKENS_DEFAULT */
    const char *max_tokens_param; /* name of the completion limit (default: its row) */
    const char *reasoning_effort; /* NULL = not sent */
    const char *extra_body;       /* JSON object text (keys never among those llm4hep sets) or NULL */
    int has_price;
    double input_per_mtok, output_per_mtok;
    double cached_input_per_mtok; /* = input_per_mtok unless prices sets it */
} l4h_model_resolved;

typedef struct l4h_named_opts {
    char *model;
    l4h_model_opts opts;
} l4h_named_opts;

typedef struct l4h_price {
    char *model;
    double input_per_mtok, output_per_mtok;
    int has_cached_input;         /* cached_input_per_mtok given (else cached = input price) */
    double cached_input_per_mtok;
} l4h_price;

/* limits, sandbox and retry: what each key means, its bounds and its
 * default are one row each of the table in src/core/config_opts.c. */
typedef struct l4h_limits {
    double task_wall_s;
    double exec_timeout_s;
    int64_t exec_memory_mb;
    int64_t workspace_mb;
    int64_t output_bytes;
    int64_t task_tokens;     /* 0 = unlimited */
    double campaign_usd;     /* 0 = unlimited */
} l4h_limits;

typedef enum { L4H_ISOLATION_AUTO = 0, L4H_ISOLATION_BWRAP, L4H_ISOLATION_RLIMIT } l4h_isolation;

typedef struct l4h_sandbox_cfg {
    char *python;
    l4h_isolation isolation;
    int network;
    int max_parallel_per_node;
} l4h_sandbox_cfg;

typedef struct l4h_retry_cfg {
    int max_attempts;
    double base_s;
    double max_s;
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
    int keep_outputs;  /* default 1: keep the files each task's checks judged, compressed, in
                          <output>.outputs/ (l4h_outputs_keep) */
    int64_t keep_outputs_mb; /* default 256: a task's checked files larger than this (MiB,
                                as found) are not kept; the record says why */

    struct l4h_suite *suite; /* loaded with the config */
    char **files;      /* every file path the config read (for l4h_where.file) */
    size_t n_files;
} l4h_config;

/* Load and validate a campaign config and its suite. Every problem is exit
 * code 2 with one message "FILE:LINE:COL: key 'PATH': expected ..., got ..."
 * (PATH dotted: "limits.task_wall_s", "steps[1]"). Required: name, suite, and
 * models by one of models / models_file / pairs / supervisors_file with
 * coders_file (merged; a repeated pair adds its trials). output defaults to
 * results/<name>.h5 beside the config; every other default is in the
 * table of config keys (src/core/config_opts.c). Every endpoint reference
 * must be defined. */
int l4h_config_load(const char *path, l4h_config **out, l4h_err *err);
void l4h_config_free(l4h_config *cfg);

/* Resolve a model's options (models_config over model_defaults, endpoint,
 * price). Returns -1 (code 2) when the model's endpoint is not defined. */
int l4h_config_model(const l4h_config *cfg, const char *model, l4h_model_resolved *out,
                     l4h_err *err);
/* The endpoint of that name, or NULL. */
const l4h_endpoint *l4h_config_endpoint(const l4h_config *cfg, const char *name);

/* The i-th key (0-based) a campaign config may hold, from the one table of
 * config keys (src/core/config_opts.c, in its order), as a dotted path into
 * buf: "limits.task_wall_s", "endpoints.*.base_url", "models_config.*.seed"
 * ("*" a name the user chooses), "pairs[].coder". 0, or -1 past the last.
 * For the docs' key list and its test. Can't fail otherwise. */
int l4h_config_key(size_t i, char *buf, size_t size);
/* The name the config gives value of the enumerated key (a path as
 * l4h_config_key writes it): l4h_config_choice("sandbox.isolation",
 * L4H_ISOLATION_BWRAP) is "bwrap", ("endpoints.*.provider", 1) "scripted".
 * "?" for an unknown key or value. Static; can't fail. */
const char *l4h_config_choice(const char *key, int value);

/* A config with every default and no models, suite or endpoints — for the
 * verbs that take a suite but no config (`validate`, `reference`). Its dir is
 * the current directory. Can't fail (aborts on out of memory). */
l4h_config *l4h_config_defaults(void);

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
    char *validity_dir;    /* resolved `validity:` (cases of `llm4hep selftest`), NULL if none */
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
 * command runs from any working directory. NULL suite_dir: no change.
 * In a sweep's task, each such file must still be the one of the campaign's
 * input snapshot (core_input_verify): -1 (code 3) naming it when it changed. */
int l4h_suite_resolve_argv(char **argv, const char *suite_dir, l4h_err *err);
/* The same check again, on a resolved argv: call it after the program ran
 * too, so that a result is never used when its program changed meanwhile. */
int l4h_suite_verify_argv(char *const *argv, l4h_err *err);

/* --------------------------------------------------------------- verdict */

/* The supervisor's verdict (docs/design.md): 1 when the last non-empty line of text
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

/* A task's outcome (docs/design.md "Statuses"). failed_* are the model's: what
 * it or its code did; error_* and interrupted are infrastructure, decided
 * only on the harness's own evidence (docs/notes/channel.md), redone up to
 * infra_retries and left out of the rates. The names live in record.c only;
 * everything else (report, scripts through `report --format json`) derives
 * the list from l4h_status_name / l4h_status_is_infra. */
typedef enum {
    L4H_STATUS_SUCCESS = 0,
    L4H_STATUS_FAILED_VALIDATION,
    L4H_STATUS_FAILED_EXECUTION,
    L4H_STATUS_FAILED_NO_CODE,
    L4H_STATUS_FAILED_LIMIT,
    L4H_STATUS_FAILED_REQUEST,   /* an endpoint refused a request for what the model's
                                    conversation held (too long, filtered, invalid) */
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

/* The error categories (docs/design.md "taxonomy"), in the order reports
 * list them: what the rule-based classifier and the annotators assign; a
 * failure without one is "uncategorised" (error_category ""). The one list,
 * beside the statuses': the store writes both into every results file
 * (root attributes statuses, infra_statuses, error_categories), and the
 * scripts read them from there. */
#define L4H_N_CATEGORIES 7
extern const char *const l4h_categories[L4H_N_CATEGORIES];

/* The record's fields, each written once.
 *
 * Each list below names one record's fields as X(KIND, member, width,
 * "column"): the member of the record's struct, how it is held and stored,
 * the width of its fixed-size field in the results file (0 when it has
 * none) and its column name (docs/results-format.md). Everything else is
 * derived from the lists: the structs below, the JSON form (core/record.c:
 * keys are the member names, in list order), the HDF5 row structs and column
 * descriptors, the rows written and the records read back (src/store/).
 * List order is the columns' order in the file and the members' order in
 * the JSON, both contracts: a new field goes at the place of its column in
 * docs/results-format.md, and no field moves. Adding a plain field is one
 * line here plus the code that fills it and the code that reads it.
 *
 *   KIND     member         JSON                        HDF5 column(s)
 *   I32      int            integer                     <i4
 *   I64      int64_t        integer (string past 2^53)  <i8
 *   F64      double         number, "NaN", "Infinity"   <f8
 *   FLAG     int            integer                     |i1: 1 when the member is not 0
 *   NAME     char[width]    string (< width bytes)      S<width>
 *   KEY      char[width+1]  string (<= width bytes)     S<width>
 *   STR      char *         string or null              S<width>, cut with "..." when longer
 *   TEXT     char *         string or null              <column>_off, <column>_len (<i8):
 *                                                       a text ref into /text
 *   SUMMARY  char *         string or null              S<width> (cut), then <column>_off,
 *                                                       <column>_len: the full text's ref
 *   STATUS   l4h_status     its name, after the fields  S<width>: its name
 *
 * Columns that are no field of the record (a /calls row's task_id, a /tasks
 * row's calls_row and n_calls, ...) are the store's (src/store/store_internal.h).
 * Members hold what the kind says: char * members are the record's (freed
 * by l4h_rec_clear), NULL or a NUL-terminated string. */

/* One LLM request as sent and its answer (a /calls row). */
#define L4H_CALL_FIELDS(X)                                                                         \
    X(I32, iteration, 0, "iteration")                                                              \
    X(NAME, agent, 16, "agent")            /* "supervisor" | "coder" | "annotator" */              \
    X(I32, call, 0, "call")                /* 0-based call index of that agent in the task */      \
    X(STR, model, 128, "model")                                                                    \
    X(I32, http_status, 0, "http_status")  /* 0 for scripted / connection failure */               \
    X(I32, attempts, 0, "attempts")                                                                \
    X(F64, latency_s, 0, "latency_s")                                                              \
    X(I64, prompt_tokens, 0, "prompt_tokens")                                                      \
    X(I64, completion_tokens, 0, "completion_tokens")                                              \
    /* usage.prompt_tokens_details.cached_tokens (of prompt_tokens) */                             \
    X(I64, cached_prompt_tokens, 0, "cached_prompt_tokens")                                        \
    /* usage.completion_tokens_details.reasoning_tokens (of completion_tokens) */                  \
    X(I64, reasoning_tokens, 0, "reasoning_tokens")                                                \
    X(F64, cost_usd, 0, "cost_usd")        /* NaN when the price is unknown */                     \
    X(NAME, finish_reason, 24, "finish_reason")                                                    \
    /* the response's "model": the version that answered ("" if none) */                           \
    X(NAME, served_model, 128, "served_model")                                                     \
    X(NAME, system_fingerprint, 64, "system_fingerprint") /* the response's ("" if none) */       \
    /* the proxy's model-id header (endpoint model_id_header) */                                   \
    X(NAME, served_model_id, 128, "served_model_id")                                               \
    X(TEXT, request, 0, "request")         /* the exact JSON body sent (no secrets) */             \
    X(TEXT, response, 0, "response")       /* the raw body received, or the error */               \
    /* one line per HTTP attempt (status, latency, result, wait, reason): the                      \
       retries behind this call; may be NULL */                                                    \
    X(TEXT, attempt_log, 0, "attempt_log")

/* One execution of generated code, a tool or a check program (an /execs row). */
#define L4H_EXEC_FIELDS(X)                                                                         \
    X(I32, iteration, 0, "iteration")                                                              \
    X(NAME, kind, 16, "kind")              /* "code" | "tool" | "check" */                         \
    X(I32, exit_code, 0, "exit_code")      /* -1 when killed by a signal */                        \
    X(I32, signal, 0, "signal")                                                                    \
    X(FLAG, timed_out, 0, "timed_out")                                                             \
    X(F64, wall_s, 0, "wall_s")                                                                    \
    X(I64, max_rss_kb, 0, "max_rss_kb")                                                            \
    X(NAME, isolation, 16, "isolation")    /* "bwrap" | "rlimit" */                                \
    X(TEXT, code, 0, "code")               /* the code, or the tool's JSON arguments */            \
    X(TEXT, stdout_text, 0, "stdout")                                                              \
    X(TEXT, stderr_text, 0, "stderr")                                                              \
    X(FLAG, truncated, 0, "truncated")     /* output cut at limits.output_bytes */                 \
    /* "" or the limit that stopped it: time, memory, cpu, fsize, nproc,                           \
       workspace, output (l4h_exec_result.limit) */                                                \
    X(NAME, limit, 16, "limit")

/* One hidden check (a /checks row). */
#define L4H_CHECK_FIELDS(X)                                                                        \
    X(STR, check, 128, "check")            /* l4h_check_spec.name */                               \
    X(FLAG, passed, 0, "passed")                                                                   \
    X(I64, n_bad, 0, "n_bad")                                                                      \
    X(F64, max_rel_diff, 0, "max_rel_diff") /* NaN when not applicable */                          \
    X(TEXT, report, 0, "report")           /* a report a person can act on */                      \
    /* the /runs row that judged it: a later `rescore` run, or 0 = the task's run */               \
    X(I32, run, 0, "run")

/* One task attempt (a /tasks row); its calls, executions and checks are
 * the arrays of l4h_task_rec. */
#define L4H_TASK_FIELDS(X)                                                                         \
    /* assigned by the store (journal sequence); -1 before */                                      \
    X(I64, task_id, 0, "task_id")                                                                  \
    X(KEY, key, 16, "key")                 /* l4h_task_key */                                      \
    X(STR, campaign, 64, "campaign")                                                               \
    X(STR, supervisor, 128, "supervisor")                                                          \
    X(STR, coder, 128, "coder")                                                                    \
    X(STR, step, 64, "step")                                                                       \
    X(I32, trial, 0, "trial")              /* 1-based */                                           \
    X(I32, attempt, 0, "attempt")          /* 1, 2, ... for reruns of the same key */              \
    X(FLAG, final, 0, "final")             /* set by the store */                                  \
    X(STATUS, status, 24, "status")                                                                \
    X(FLAG, success, 0, "success")         /* every check passed */                                \
    X(FLAG, approved, 0, "approved")       /* the supervisor's last verdict was DONE */            \
    X(I32, iterations, 0, "iterations")                                                            \
    X(I32, api_calls, 0, "api_calls")                                                              \
    X(I64, prompt_tokens, 0, "prompt_tokens")                                                      \
    X(I64, completion_tokens, 0, "completion_tokens")                                              \
    X(F64, cost_usd, 0, "cost_usd")                                                                \
    X(F64, wall_s, 0, "wall_s")                                                                    \
    X(F64, llm_s, 0, "llm_s")                                                                      \
    X(F64, exec_s, 0, "exec_s")                                                                    \
    X(F64, started_utc, 0, "started_utc")  /* epoch seconds */                                     \
    X(I32, run, 0, "run")                                                                          \
    X(I32, rank, 0, "rank")                                                                        \
    X(STR, host, 64, "host")                                                                       \
    /* semantic, function_calling, file_not_found, wrong_branch, api_error,                        \
       data_quality, other; "" on success */                                                       \
    X(NAME, error_category, 24, "error_category")                                                  \
    X(SUMMARY, error_summary, 256, "error_summary")                                                \
    /* keep_outputs: "kept N files, B bytes", "not kept: WHY", "none: ...", or ""                  \
       (off, no check ran) */                                                                      \
    X(NAME, outputs, 128, "outputs")

/* A record member of each kind (the lists' X for the structs). */
#define L4H_REC_MEMBER(kind, member, width, column) L4H_REC_MEMBER_##kind(member, width)
#define L4H_REC_MEMBER_I32(m, w) int m;
#define L4H_REC_MEMBER_I64(m, w) int64_t m;
#define L4H_REC_MEMBER_F64(m, w) double m;
#define L4H_REC_MEMBER_FLAG(m, w) int m;
#define L4H_REC_MEMBER_NAME(m, w) char m[w];
#define L4H_REC_MEMBER_KEY(m, w) char m[(w) + 1];
#define L4H_REC_MEMBER_STR(m, w) char *m;
#define L4H_REC_MEMBER_TEXT(m, w) char *m;
#define L4H_REC_MEMBER_SUMMARY(m, w) char *m;
#define L4H_REC_MEMBER_STATUS(m, w) l4h_status m;

typedef struct l4h_call_rec {
    L4H_CALL_FIELDS(L4H_REC_MEMBER)
} l4h_call_rec;

typedef struct l4h_exec_rec {
    L4H_EXEC_FIELDS(L4H_REC_MEMBER)
} l4h_exec_rec;

typedef struct l4h_check_rec {
    L4H_CHECK_FIELDS(L4H_REC_MEMBER)
} l4h_check_rec;

typedef struct l4h_task_rec {
    L4H_TASK_FIELDS(L4H_REC_MEMBER)
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
/* Copy src's own fields (L4H_TASK_FIELDS; not its calls, execs or checks)
 * into dst, each string duplicated; dst's arrays are left empty. dst is
 * overwritten (clear it first if it owns anything); the caller frees it
 * with l4h_rec_clear. Can't fail. */
void l4h_rec_copy_fields(l4h_task_rec *dst, const l4h_task_rec *src);

/* Serialise a record to JSON (the journal and the MPI wire use this).
 * Returns a malloc'd NUL-terminated string. Can't fail. Exact round trip:
 * doubles printed %.17g; NaN/+Inf/-Inf as the strings "NaN", "Infinity",
 * "-Infinity"; int64 beyond +-2^53 as decimal strings; NULL strings as null.
 * Strings may hold any bytes but NUL (non-UTF-8 bytes pass through raw). */
char *l4h_rec_to_json(const l4h_task_rec *rec);
/* Parse what l4h_rec_to_json wrote into a zeroed rec. -1 on malformed input
 * (rec cleared). Missing fields read as zero/NULL, unknown ones are ignored. */
int l4h_rec_from_json(const char *json, size_t len, l4h_task_rec *rec, l4h_err *err);

/* --------------------------------------------------------------- secrets */
/* The one place that knows which values are secrets (API keys) and where
 * they may be looked for (src/core/secrets.c; docs/notes/secrets.md).
 *
 * The process holds one set, collected from the environment: the variable
 * each endpoint names (api_key_env) and every variable whose name contains
 * API_KEY, TOKEN or SECRET. A value shorter than L4H_SECRET_MIN_LEN is a
 * placeholder ("EMPTY", "x", "dummy" for local servers): it is sent as given
 * but never looked for inside any text. Held values are replaced by
 * "[redacted:NAME]" (NAME the variable) in the texts that can carry one we
 * hold: HTTP error bodies, our own log and error lines, the captured output
 * of code. What a model wrote (answers, tool arguments, code) is never
 * altered: an answer holding a secret is refused whole (llm/client.c).
 *
 * Thread-safe. Every function works without l4h_secrets_collect (the
 * variables named like keys are then held, collected on first use). */
#define L4H_SECRET_MIN_LEN 16

/* Add cfg's endpoint key variables (cfg may be NULL) and, on the first call,
 * the variables named like keys to the process's set; a value already held
 * is not added twice. With notes != NULL, append to it, once per variable in
 * the process, a line saying that an endpoint's key is a placeholder and is
 * not redacted (the caller prints it). Can't fail. */
void l4h_secrets_collect(const l4h_config *cfg, l4h_buf *notes);
/* Replace every held value in *text (a malloc'd string or NULL) by
 * "[redacted:NAME]", reallocating *text. Returns the number replaced. */
size_t l4h_secrets_redact(char **text);
/* The same on len bytes at s (need not be NUL-terminated): a new malloc'd
 * NUL-terminated string (the caller frees). Never NULL. */
char *l4h_secrets_redact_mem(const char *s, size_t len);
/* Redact a fixed-size NUL-terminated buffer in place, shortening it (a
 * marker longer than the value is cut to the buffer). Can't fail. */
void l4h_secrets_redact_buf(char *s, size_t cap);
/* Does s (len bytes) hold a held value? 1 and the variable's name copied to
 * name[cap] (when name != NULL), else 0. */
int l4h_secrets_found(const char *s, size_t len, char *name, size_t cap);
/* A held value cut in two leaves a piece on each side of the cut. at_end =
 * 1: length of the longest suffix of s[0..len) that is a proper prefix of a
 * held value; at_end = 0: of the longest prefix that is a proper suffix of
 * one. Pieces under 4 bytes are not counted. */
size_t l4h_secrets_piece(const char *s, size_t len, int at_end);
/* The marker for a piece of a secret cut at a boundary: "[redacted]". */
extern const char l4h_secrets_piece_marker[];
/* Forget the held values (tests; the next use collects again). */
void l4h_secrets_forget(void);

#endif
