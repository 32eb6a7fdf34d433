/* store_synth — write a synthetic campaign through the real store API
 * (l4h_store_open / begin_run / add / checkpoint / close), for tests and
 * benchmarks of the results file, the report and the plots.
 *
 *   store_synth OUT.h5 [--tasks N] [--seed S] [--checkpoint-every K]
 *               [--sleep-ms MS] [--campaign NAME] [--text-kb KB] [--fresh]
 *               [--baseline] [--annotate K]
 *
 * N task keys (default 100): 4 models x 5 steps x trials, in trial order.
 * About one key in eight fails first with an infrastructure status and is
 * redone once (two attempts). Every attempt's content (status, calls, execs,
 * checks, texts, numbers, started_utc) is a deterministic function of
 * (seed, key index, attempt), so a campaign killed and resumed must end
 * with the same final rows as one run straight through. Run again on the
 * same output, it resumes as `sweep` does: keys whose last attempt is not
 * infrastructure are skipped, infrastructure ones are redone once.
 * Prints "store_synth: A added, S skipped, T tasks in the journal, W s".
 * W: seconds from before the first add to after the final close.
 * Before it, one line of the store's own costs (for bench_store_scale):
 * "store_synth: open O s (cpu P s), C checkpoints in K s (cpu L s), close X s
 * (cpu Y s), max rss R kB": wall and CPU seconds of l4h_store_open (the
 * resume), of the checkpoints together and of the final close,
 * and the process's peak resident set (VmHWM: getrusage's ru_maxrss would
 * count the parent's resident set before the exec).
 *
 * --annotate K: after the close, annotate tasks 1..K one call each
 * (l4h_store_annotate, as `llm4hep annotate` does) and print
 * "store_synth: annotate K tasks in A s (cpu B s)" before the last line.
 *
 * --chat: calls carry real-length conversations instead (bench_transcripts):
 * 5-10 iterations, each a supervisor call and a coder call whose request
 * is the chat body of the whole conversation so far, with the same system
 * and step prompts in every task of a step, code of 2-4 kB, outputs of
 * 0.5-2 kB; the execs hold that code and output. Prints "store_synth:
 * requests B bytes as sent, sha256 H" (H over every request body in the
 * order added) before the last line. --corpus FILE: the code, outputs and
 * instructions are line-aligned slices of FILE (real text) instead of words
 * of a small vocabulary (which compress far better than real text).
 *
 * --baseline: the benchmark's baseline — write the same records' JSON
 * (l4h_rec_to_json) to OUT as a plain file, one line each, fsync after each;
 * no store. Prints "store_synth: A written (baseline), W s". */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "llm4hep/store.h"

static const char *const models[] = {"anthropic/claude-sonnet:latest", "openai/gpt-5",
                                     "scripted/careful", "google/gemini-2.5-pro"};
static const char *const steps[] = {"summarize_root", "create_numpy", "preprocess", "scores",
                                    "categorization"};
static const char *const words[] = {
    "photon", "diphoton", "invariant", "mass", "histogram", "numpy", "array", "branch",
    "signal", "background", "fit", "Higgs", "γγ", "→", "sideband", "score", "category",
    "boundary", "significance", "event", "selection", "pt", "eta", "isolation", "weight"};

typedef struct rng {
    uint64_t s;
} rng;

/* splitmix64. */
static uint64_t next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int below(rng *r, int n)
{
    return (int)(next(r) % (uint64_t)n);
}

/* Append about n bytes of words to b; sentences end with a newline, or
 * with "\\n" (an escaped newline, for JSON strings) when json. */
static void prose_as(l4h_buf *b, rng *r, size_t n, int json)
{
    size_t start = b->len;
    while (b->len - start < n) {
        l4h_buf_puts(b, words[below(r, (int)(sizeof words / sizeof words[0]))]);
        l4h_buf_puts(b, below(r, 12) ? " " : json ? ".\\n" : ".\n");
    }
}

static void prose(l4h_buf *b, rng *r, size_t n)
{
    prose_as(b, r, n, 0);
}

static char *text(rng *r, const char *head, size_t n)
{
    l4h_buf b = {0};
    l4h_buf_puts(&b, head);
    prose(&b, r, n);
    return l4h_buf_take(&b);
}

/* The key's identity (index i). */
static void key_fields(int i, const char **model, const char **step, int *trial)
{
    *model = models[i % 4];
    *step = steps[(i / 4) % 5];
    *trial = i / 20 + 1;
}

static void make_key(const char *campaign, int i, char out[17])
{
    const char *m, *s;
    int t;
    key_fields(i, &m, &s, &t);
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s|%s|%s|%s|%d", campaign, m, m, s, t);
    char hex[65];
    l4h_sha256_hex(b.data, b.len, hex);
    l4h_buf_free(&b);
    memcpy(out, hex, 16);
    out[16] = '\0';
}

/* Whether key i fails first with an infrastructure status. */
static int infra_first(uint64_t seed, int i)
{
    rng r = {seed * 1000003u + (uint64_t)i};
    return below(&r, 8) == 0;
}

static int chat_mode; /* --chat */
static void make_chat(rng *r, const char *model, int step, l4h_task_rec *rec);

/* Fill rec with attempt `attempt` of key i. */
static void make_rec(uint64_t seed, const char *campaign, int i, int attempt, size_t text_kb,
                     l4h_task_rec *rec)
{
    rng r = {seed * 7919u + (uint64_t)i * 131u + (uint64_t)attempt};
    const char *m, *s;
    int t;
    key_fields(i, &m, &s, &t);
    memset(rec, 0, sizeof *rec);
    rec->task_id = -1;
    make_key(campaign, i, rec->key);
    rec->supervisor = l4h_xstrdup(m);
    rec->coder = l4h_xstrdup(m);
    rec->step = l4h_xstrdup(s);
    rec->trial = t;
    static const l4h_status model_st[] = {L4H_STATUS_SUCCESS,         L4H_STATUS_SUCCESS,
                                          L4H_STATUS_SUCCESS,         L4H_STATUS_FAILED_VALIDATION,
                                          L4H_STATUS_FAILED_VALIDATION, L4H_STATUS_FAILED_EXECUTION,
                                          L4H_STATUS_FAILED_NO_CODE,  L4H_STATUS_FAILED_LIMIT};
    static const l4h_status infra_st[] = {L4H_STATUS_ERROR_API, L4H_STATUS_ERROR_SANDBOX,
                                          L4H_STATUS_ERROR_INTERNAL};
    if (attempt == 1 && infra_first(seed, i))
        rec->status = infra_st[below(&r, 3)];
    else
        rec->status = model_st[below(&r, 8)];
    rec->success = rec->status == L4H_STATUS_SUCCESS;
    rec->approved = rec->success || below(&r, 3) == 0;
    rec->iterations = 1 + below(&r, 3);
    rec->started_utc = 1.8e9 + i * 60.0 + attempt;
    rec->rank = 1 + below(&r, 16);
    rec->host = l4h_xstrdup(below(&r, 2) ? "nid001234" : "nid005678");
    if (!rec->success) {
        static const char *const cats[] = {"semantic", "function_calling", "file_not_found",
                                           "wrong_branch", "api_error", "data_quality", "other"};
        snprintf(rec->error_category, sizeof rec->error_category, "%s", cats[below(&r, 7)]);
        l4h_buf b = {0};
        l4h_buf_printf(&b, "synth key %d attempt %d: %s", i, attempt,
                       l4h_status_name(rec->status));
        if (below(&r, 4) == 0) /* a long one: truncated inline, full in /text */
            prose(&b, &r, 400);
        rec->error_summary = l4h_buf_take(&b);
    }
    size_t tb = text_kb * 1024;
    if (chat_mode)
        make_chat(&r, m, (i / 4) % 5, rec);
    for (int it = 1; it <= rec->iterations && !chat_mode; it++) {
        for (int a = 0; a < 2; a++) {
            l4h_call_rec *c = l4h_rec_add_call(rec);
            c->iteration = it;
            snprintf(c->agent, sizeof c->agent, "%s", a ? "coder" : "supervisor");
            c->call = it - 1;
            c->model = l4h_xstrdup(m);
            c->http_status = 200;
            c->attempts = 1 + (below(&r, 10) == 0);
            c->latency_s = 0.5 + below(&r, 3000) / 100.0;
            c->prompt_tokens = 500 + below(&r, 5000);
            c->completion_tokens = 100 + below(&r, 2000);
            c->cost_usd = below(&r, 5) ? c->prompt_tokens * 1.25e-6 + c->completion_tokens * 1e-5
                                       : NAN;
            snprintf(c->finish_reason, sizeof c->finish_reason, "stop");
            char head[160];
            snprintf(head, sizeof head,
                     "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"synth key %d "
                     "attempt %d call %d ", m, i, attempt, c->call);
            l4h_buf b = {0};
            l4h_buf_puts(&b, head);
            prose_as(&b, &r, tb / 4, 1);
            l4h_buf_puts(&b, "\"}]}");
            c->request = l4h_buf_take(&b);
            l4h_buf_puts(&b, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"");
            prose_as(&b, &r, tb / 8, 1);
            l4h_buf_puts(&b, "\"}}]}");
            c->response = l4h_buf_take(&b);
            rec->prompt_tokens += c->prompt_tokens;
            rec->completion_tokens += c->completion_tokens;
            rec->cost_usd += c->cost_usd;
            rec->llm_s += c->latency_s;
            rec->api_calls++;
        }
        l4h_exec_rec *e = l4h_rec_add_exec(rec);
        e->iteration = it;
        snprintf(e->kind, sizeof e->kind, "code");
        e->exit_code = below(&r, 4) ? 0 : 1;
        e->wall_s = below(&r, 1000) / 10.0;
        e->max_rss_kb = 20000 + below(&r, 500000);
        snprintf(e->isolation, sizeof e->isolation, "bwrap");
        e->code = text(&r, "import numpy as np\n# ", tb / 8);
        char head[64];
        snprintf(head, sizeof head, "synth key %d attempt %d exec %d\n", i, attempt, it);
        e->stdout_text = text(&r, head, tb / 16);
        e->stderr_text = e->exit_code ? text(&r, "Traceback (most recent call last):\n", 200) : NULL;
        rec->exec_s += e->wall_s;
    }
    for (int k = 0; k < 2; k++) {
        l4h_check_rec *c = l4h_rec_add_check(rec);
        c->check = l4h_xstrdup(k ? "array:arrays/signal_raw.npy" : "array:arrays/data_raw.npy");
        c->passed = rec->success || below(&r, 2);
        c->n_bad = c->passed ? 0 : 1 + below(&r, 1000);
        c->max_rel_diff = c->passed ? 0.0 : below(&r, 1000) / 1e4;
        c->report = text(&r, c->passed ? "all values match\n" : "values differ: ", 120);
    }
    rec->wall_s = rec->llm_s + rec->exec_s + 1.0;
}

/* ------------------------------------------------------ --chat mode */

static uint64_t chat_bytes;
static l4h_sha256 chat_hash;

static char *corpus; /* --corpus: text to draw messages from */
static size_t corpus_len;

/* About n bytes of text: a slice of the corpus starting and ending at line
 * boundaries (real code and prose), else words of the small vocabulary. */
static char *raw(rng *r, size_t n)
{
    l4h_buf b = {0};
    if (corpus_len > 2 * n) {
        size_t at = (size_t)(next(r) % (corpus_len - n));
        while (at > 0 && corpus[at - 1] != '\n')
            at--;
        size_t end = at + n;
        while (end < corpus_len && corpus[end - 1] != '\n')
            end++;
        l4h_buf_add(&b, corpus + at, end - at);
        if (!b.len)
            l4h_buf_puts(&b, "\n");
        return l4h_buf_take(&b);
    }
    prose(&b, r, n);
    return l4h_buf_take(&b);
}

/* s as a JSON string's body (quotes, backslashes and newlines escaped). */
static void json_body(l4h_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            l4h_buf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            l4h_buf_puts(b, "\\n");
        else
            l4h_buf_add(b, s, 1);
    }
}

/* A conversation: the messages so far as JSON texts. */
typedef struct conv {
    char **msg;
    size_t n;
} conv;

static void conv_add(conv *c, const char *role, const char *content)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "{\"role\":\"%s\",\"content\":\"", role);
    json_body(&b, content);
    l4h_buf_puts(&b, "\"}");
    c->msg = l4h_xrealloc(c->msg, (c->n + 1) * sizeof *c->msg);
    c->msg[c->n++] = l4h_buf_take(&b);
}

static void conv_free(conv *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->msg[i]);
    free(c->msg);
}

/* The chat body of the conversation, as an OpenAI-style client sends it. */
static char *conv_body(const conv *c, const char *model)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "{\"model\":\"%s\",\"messages\":[", model);
    for (size_t i = 0; i < c->n; i++) {
        if (i)
            l4h_buf_puts(&b, ",");
        l4h_buf_puts(&b, c->msg[i]);
    }
    l4h_buf_puts(&b, "],\"temperature\":0,\"max_tokens\":4096}");
    return l4h_buf_take(&b);
}

/* A prompt shared by every task: a function of (what, index) only. */
static char *prompt(const char *what, int idx, size_t n)
{
    rng r = {0x5EEDull * 31u + (uint64_t)idx * 7u + (uint64_t)strlen(what)};
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s %d.\n", what, idx);
    prose(&b, &r, n);
    return l4h_buf_take(&b);
}

static void chat_call(l4h_task_rec *rec, rng *r, int it, const char *agent, const char *model,
                      const conv *c, const char *answer)
{
    l4h_call_rec *k = l4h_rec_add_call(rec);
    k->iteration = it;
    snprintf(k->agent, sizeof k->agent, "%s", agent);
    k->call = it - 1;
    k->model = l4h_xstrdup(model);
    k->http_status = 200;
    k->attempts = 1;
    k->latency_s = 1.0 + below(r, 3000) / 100.0;
    k->request = conv_body(c, model);
    k->prompt_tokens = (int64_t)strlen(k->request) / 4;
    k->completion_tokens = (int64_t)strlen(answer) / 4;
    k->cost_usd = k->prompt_tokens * 1.25e-6 + k->completion_tokens * 1e-5;
    snprintf(k->finish_reason, sizeof k->finish_reason, "stop");
    l4h_buf b = {0};
    l4h_buf_printf(&b, "{\"id\":\"chatcmpl-%016llx\",\"object\":\"chat.completion\","
                       "\"model\":\"%s\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                       "\"assistant\",\"content\":\"", (unsigned long long)next(r), model);
    json_body(&b, answer);
    l4h_buf_printf(&b, "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%lld,"
                       "\"completion_tokens\":%lld}}", (long long)k->prompt_tokens,
                   (long long)k->completion_tokens);
    k->response = l4h_buf_take(&b);
    rec->prompt_tokens += k->prompt_tokens;
    rec->completion_tokens += k->completion_tokens;
    rec->cost_usd += k->cost_usd;
    rec->llm_s += k->latency_s;
    rec->api_calls++;
    chat_bytes += strlen(k->request);
    l4h_sha256_update(&chat_hash, k->request, strlen(k->request));
}

/* The calls and execs of a task as a real supervisor-coder conversation. */
static void make_chat(rng *r, const char *model, int step, l4h_task_rec *rec)
{
    conv sup = {0}, cod = {0};
    char *p = prompt("supervisor system prompt", 0, 1000);
    conv_add(&sup, "system", p);
    free(p);
    p = prompt("step prompt", step, 2500);
    conv_add(&sup, "user", p);
    free(p);
    p = prompt("coder system prompt", 0, 1700);
    conv_add(&cod, "system", p);
    free(p);
    rec->iterations = 5 + below(r, 6);
    char *instruction = raw(r, 700 + (size_t)below(r, 600));
    for (int it = 1; it <= rec->iterations; it++) {
        /* the supervisor answers with an instruction for the coder */
        chat_call(rec, r, it, "supervisor", model, &sup, instruction);
        conv_add(&sup, "assistant", instruction);
        conv_add(&cod, "user", instruction);
        free(instruction);
        char *code = raw(r, 2000 + (size_t)below(r, 2000));
        chat_call(rec, r, it, "coder", model, &cod, code);
        conv_add(&cod, "assistant", code);
        l4h_exec_rec *e = l4h_rec_add_exec(rec);
        e->iteration = it;
        snprintf(e->kind, sizeof e->kind, "code");
        e->exit_code = below(r, 4) ? 0 : 1;
        e->wall_s = below(r, 1000) / 10.0;
        e->max_rss_kb = 20000 + below(r, 500000);
        snprintf(e->isolation, sizeof e->isolation, "bwrap");
        e->code = code;
        e->stdout_text = raw(r, 500 + (size_t)below(r, 1500));
        rec->exec_s += e->wall_s;
        /* the supervisor sees the code and its output */
        l4h_buf b = {0};
        l4h_buf_printf(&b, "Iteration %d. The coder wrote:\n%s\nOutput:\n%s", it, code,
                       e->stdout_text);
        conv_add(&sup, "user", b.data);
        l4h_buf_free(&b);
        instruction = raw(r, 400 + (size_t)below(r, 800));
    }
    free(instruction);
    conv_free(&sup);
    conv_free(&cod);
}

/* The baseline: the same JSON, appended and fsync'd, no store. */
static int baseline(const char *out, const char *campaign, long n, long seed, long text_kb)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd < 0) {
        perror(out);
        return 3;
    }
    double t0 = l4h_monotonic();
    long written = 0;
    for (int i = 0; i < n; i++) {
        for (int attempt = 1; attempt <= 1 + infra_first((uint64_t)seed, i); attempt++) {
            l4h_task_rec rec;
            make_rec((uint64_t)seed, campaign, i, attempt, (size_t)text_kb, &rec);
            char *js = l4h_rec_to_json(&rec);
            size_t len = strlen(js);
            js[len] = '\n'; /* replaces the NUL: write len + 1 bytes */
            if (write(fd, js, len + 1) != (ssize_t)(len + 1) || fsync(fd) != 0) {
                perror(out);
                return 3;
            }
            free(js);
            l4h_rec_clear(&rec);
            written++;
        }
    }
    close(fd);
    if (chat_mode) {
        char hex[65];
        l4h_sha256_final(&chat_hash, hex);
        printf("store_synth: requests %llu bytes as sent, sha256 %s\n",
               (unsigned long long)chat_bytes, hex);
    }
    printf("store_synth: %ld written (baseline), %.3f s\n", written, l4h_monotonic() - t0);
    return 0;
}

/* CPU seconds this process has used (user + system). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* This process's peak resident set in kB (VmHWM), -1 when unknown. */
static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void usage(void)
{
    fprintf(stderr, "usage: store_synth OUT.h5 [--tasks N] [--seed S] [--checkpoint-every K] "
                    "[--sleep-ms MS] [--campaign NAME] [--text-kb KB] [--fresh] [--baseline] "
                    "[--annotate K] [--chat] [--corpus FILE]\n");
    exit(2);
}

/* A positive integer flag value. */
static long num(const char *flag, const char *v)
{
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : -1;
    if (!v || errno || *end || x < 0) {
        fprintf(stderr, "store_synth: %s expects a non-negative integer, got '%s'\n", flag,
                v ? v : "");
        exit(2);
    }
    return x;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-')
        usage();
    const char *out = argv[1], *campaign = "synth";
    long n = 100, seed = 1, every = 16, sleep_ms = 0, text_kb = 4, annotate = 0;
    int fresh = 0, base = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--tasks"))
            n = num(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--seed"))
            seed = num(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--checkpoint-every"))
            every = num(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--sleep-ms"))
            sleep_ms = num(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--text-kb"))
            text_kb = num(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--campaign") && i + 1 < argc)
            campaign = argv[++i];
        else if (!strcmp(argv[i], "--annotate"))
            annotate = num(argv[i], argv[i + 1]), i++;
        else if (!strcmp(argv[i], "--fresh"))
            fresh = 1;
        else if (!strcmp(argv[i], "--baseline"))
            base = 1;
        else if (!strcmp(argv[i], "--chat"))
            chat_mode = 1;
        else if (!strcmp(argv[i], "--corpus") && i + 1 < argc) {
            l4h_err e2;
            if (l4h_read_file(argv[++i], &corpus, &corpus_len, &e2) != 0) {
                fprintf(stderr, "store_synth: %s\n", e2.msg);
                return 2;
            }
        }
        else
            usage();
    }
    l4h_sha256_init(&chat_hash);
    if (base)
        return baseline(out, campaign, n, seed, text_kb);
    const char *cfg_text = "name: synth\nsuite: ../reference/hgg/suite.yml\ntrials: 3\n"
                           "max_iterations: 10\nendpoints: {cborg: {api_key_env: CBORG_API_KEY}}\n";
    l4h_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = (char *)campaign;
    cfg.output = (char *)out;
    cfg.max_iterations = 10;
    cfg.trials = 3;
    cfg.limits = (l4h_limits){3600, 900, 8192, 4096, 16384, 2000000, 0};
    cfg.infra_retries = 1;
    l4h_sha256_hex(cfg_text, strlen(cfg_text), cfg.sha256);

    l4h_err err = {0};
    l4h_store *st;
    double t_open = l4h_monotonic(), c_open = cpu_s();
    if (l4h_store_open(&cfg, NULL, fresh ? L4H_STORE_FRESH : 0, &st, &err) != 0) {
        fprintf(stderr, "store_synth: %s\n", err.msg);
        return err.code ? err.code : 3;
    }
    t_open = l4h_monotonic() - t_open;
    c_open = cpu_s() - c_open;
    l4h_run_info run = {0};
    run.ranks = 4;
    run.hosts = "nid001234,nid005678";
    run.llm4hep_version = LLM4HEP_VERSION;
    run.git_commit = "synth";
    run.config_text = (char *)cfg_text;
    run.python_packages = "numpy==1.24.2\nh5py==3.7.0\n";
    if (l4h_store_begin_run(st, &run, &err) != 0) {
        fprintf(stderr, "store_synth: %s\n", err.msg);
        return 3;
    }
    long added = 0, skipped = 0, since = 0, n_ckpt = 0;
    double t_ckpt = 0, c_ckpt = 0;
    double t0 = l4h_monotonic();
    for (int i = 0; i < n; i++) {
        char key[17];
        make_key(campaign, i, key);
        int did = 0;
        for (;;) {
            l4h_key_state ks;
            l4h_store_key_state(st, key, &ks);
            int redo = ks.attempts == 0 ||
                       (l4h_status_is_infra(ks.last_status) && ks.infra_attempts <= cfg.infra_retries);
            if (!redo) {
                skipped += !did;
                break;
            }
            did = 1;
            l4h_task_rec rec;
            make_rec((uint64_t)seed, campaign, i, ks.attempts + 1, (size_t)text_kb, &rec);
            if (l4h_store_add(st, &rec, &err) != 0) {
                fprintf(stderr, "store_synth: %s\n", err.msg);
                return 3;
            }
            l4h_rec_clear(&rec);
            added++;
            if (every && ++since >= every) {
                since = 0;
                double t = l4h_monotonic(), c = cpu_s();
                if (l4h_store_checkpoint(st, &err) != 0) {
                    fprintf(stderr, "store_synth: %s\n", err.msg);
                    return 3;
                }
                t_ckpt += l4h_monotonic() - t;
                c_ckpt += cpu_s() - c;
                n_ckpt++;
            }
            if (sleep_ms) {
                struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
    }
    int64_t total = l4h_store_n_tasks(st);
    double t_close = l4h_monotonic(), c_close = cpu_s();
    if (l4h_store_close(st, 0, &err) != 0) {
        fprintf(stderr, "store_synth: %s\n", err.msg);
        return 3;
    }
    t_close = l4h_monotonic() - t_close;
    c_close = cpu_s() - c_close;
    printf("store_synth: open %.4f s (cpu %.4f s), %ld checkpoints in %.4f s (cpu %.4f s), "
           "close %.4f s (cpu %.4f s), max rss %ld kB\n",
           t_open, c_open, n_ckpt, t_ckpt, c_ckpt, t_close, c_close, peak_rss_kb());
    if (chat_mode) {
        char hex[65];
        l4h_sha256_final(&chat_hash, hex);
        printf("store_synth: requests %llu bytes as sent, sha256 %s\n",
               (unsigned long long)chat_bytes, hex);
    }
    if (annotate > 0) {
        double t = l4h_monotonic(), c = cpu_s();
        for (long id = 1; id <= annotate; id++) {
            l4h_annotation a = {.task_id = id, .source = "synth", .text = "looked at it"};
            if (l4h_store_annotate(out, &a, &err) != 0) {
                fprintf(stderr, "store_synth: annotate: %s\n", err.msg);
                return 3;
            }
        }
        printf("store_synth: annotate %ld tasks in %.4f s (cpu %.4f s)\n", annotate,
               l4h_monotonic() - t, cpu_s() - c);
    }
    printf("store_synth: %ld added, %ld skipped, %lld tasks in the journal, %.3f s\n", added,
           skipped, (long long)total, l4h_monotonic() - t0);
    return 0;
}
