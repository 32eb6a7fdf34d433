/* child.c — `llm4hep task --fd N`: one task in its own process, no MPI.
 *
 * The rank that spawned us holds the other end of the socket. We read our
 * assignment (with the sandbox backend the rank's pre-flight tried on this
 * node, so we need not try it again), run the task with permits and spending relayed over the socket
 * (the rank passes them on to rank 0, which holds the campaign's budgets),
 * and send the record back. If we crash, the rank records error_internal. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm4hep/agent.h"
#include "llm4hep/check.h"
#include "llm4hep/exec.h"
#include "llm4hep/llm.h"
#include "mpi_internal.h"

/* ------------------------------------------------- replay's results files */

/* The file's task rows (no calls); the handle is the l4h_results. */
static int results_open(const char *path, void **handle, const l4h_task_rec **tasks,
                        size_t *n_tasks, l4h_err *err)
{
    l4h_results *res = NULL;
    if (l4h_results_open(path, &res, err) < 0)
        return -1;
    *handle = res;
    *tasks = res->tasks;
    *n_tasks = res->n_tasks;
    return 0;
}

static int results_load(void *handle, int64_t task_id, l4h_task_rec *out, l4h_err *err)
{
    return l4h_results_task(handle, task_id, out, err);
}

static void results_close(void *handle) { l4h_results_free(handle); }

/* See mpi.h. */
void l4h_replay_use_results(void)
{
    static const l4h_replay_source source = {results_open, results_load, results_close};
    l4h_llm_set_replay_source(&source);
}

/* ---------------------------------------------------------- the task child */

typedef struct relay {
    int fd;
    wire_reader rd;
    int broken;
    const l4h_config *cfg;
    double spent;      /* this task's own spending, when the campaign has no cost limit */
} relay;

/* Does the campaign limit this endpoint's requests? Unlimited endpoints
 * (scripted, replay, a local server) need no round trip to rank 0. */
static int limited(const relay *r, const char *endpoint)
{
    const l4h_endpoint *ep = l4h_config_endpoint(r->cfg, endpoint);
    return ep && (ep->max_concurrency > 0 || ep->requests_per_minute > 0);
}

/* Wait for one answer frame of the given type; -1 when the rank is gone. */
static int relay_answer(relay *r, int want, char **payload)
{
    int type;
    size_t len;
    while (!r->broken) {
        if (mpi_wire_recv(&r->rd, r->fd, &type, payload, &len) != 1) {
            r->broken = 1;
            return -1;
        }
        if (type == want)
            return 0;
        free(*payload);
    }
    return -1;
}

static int relay_acquire(void *ctx, const char *endpoint, double deadline)
{
    relay *r = ctx;
    (void)deadline; /* the rank kills us at the campaign's deadline */
    if (!limited(r, endpoint))
        return 0;
    char *ans = NULL;
    if (mpi_wire_send(r->fd, WIRE_PERMIT_REQ, endpoint, strlen(endpoint)) < 0 ||
        relay_answer(r, WIRE_PERMIT_ANS, &ans) < 0)
        return -1;
    int granted = ans[0] == '1';
    free(ans);
    return granted ? 0 : -1;
}

static void relay_release(void *ctx, const char *endpoint, int http_status)
{
    relay *r = ctx;
    if (!limited(r, endpoint))
        return;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%d %s", http_status, endpoint);
    if (n > 0 && (size_t)n < sizeof buf)
        mpi_wire_send(r->fd, WIRE_PERMIT_REL, buf, (size_t)n);
}

static double relay_spend(void *ctx, double usd, int64_t tokens)
{
    relay *r = ctx;
    char buf[128], *ans = NULL;
    if (usd == 0 && tokens == 0 && r->cfg->limits.campaign_usd <= 0)
        return r->spent; /* a query, and no cost limit to check it against */
    int n = snprintf(buf, sizeof buf, "%.17g %lld", usd, (long long)tokens);
    if (r->cfg->limits.campaign_usd <= 0) {
        /* Report it for the campaign's totals; nobody needs the answer now. */
        if (isfinite(usd) && usd > 0)
            r->spent += usd;
        mpi_wire_send(r->fd, WIRE_SPEND, buf, (size_t)n);
        return r->spent;
    }
    if (mpi_wire_send(r->fd, WIRE_SPEND, buf, (size_t)n) < 0 || relay_answer(r, WIRE_SPENT, &ans) < 0)
        return 0.0;
    double total = strtod(ans, NULL);
    free(ans);
    return total;
}

/* The campaign's input snapshot from fd WIRE_INPUTS_FD (read once, with
 * pread: the rank's other children share the descriptor). NULL with err. */
static l4h_inputs *read_inputs(l4h_err *err)
{
    struct stat st;
    if (fstat(WIRE_INPUTS_FD, &st) < 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "no input snapshot on fd %d: %s", WIRE_INPUTS_FD,
                    strerror(errno));
        return NULL;
    }
    size_t len = (size_t)st.st_size, off = 0;
    char *buf = l4h_xmalloc(len + 1);
    while (off < len) {
        ssize_t n = pread(WIRE_INPUTS_FD, buf + off, len - off, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            l4h_err_set(err, L4H_EXIT_INFRA, "reading the input snapshot: %s",
                        n < 0 ? strerror(errno) : "short");
            free(buf);
            return NULL;
        }
        off += (size_t)n;
    }
    close(WIRE_INPUTS_FD);
    l4h_inputs *in = NULL;
    l4h_inputs_decode(buf, len, &in, err);
    free(buf);
    return in;
}

/* Tell the rank why we run nothing; the rank records error_internal. */
static int refuse(relay *r, const char *why)
{
    mpi_wire_send(r->fd, WIRE_REFUSED, why, strlen(why));
    fprintf(stderr, "llm4hep task: %s\n", why);
    return L4H_EXIT_INFRA;
}

static void send_result(relay *r, l4h_task_rec *rec)
{
    char *json = l4h_rec_to_json(rec);
    mpi_wire_send(r->fd, WIRE_RESULT, json, strlen(json));
    free(json);
}

/* How long a task process whose rank died spends ending what it started. */
#define RANK_DEATH_PATIENCE_S 30.0

static long rank_pid; /* the rank that spawned us */

/* Our rank died (the death signal armed in l4h_task_child): end everything
 * we started before we go. Dying at once would leave it to our sandbox's
 * own death signals, and those have a window: bubblewrap arms
 * --die-with-parent in its inner process after the clone, so an inner
 * process whose outer bwrap died first lives on. As the reaper of our
 * descendants' orphans we get it back and kill it. The same signal from
 * anybody else while our rank lives is ignored. */
static void on_rank_death(int sig)
{
    (void)sig;
    if ((long)getppid() == rank_pid)
        return;
    l4h_exec_end_descendants(RANK_DEATH_PATIENCE_S);
    _exit(L4H_EXIT_INFRA);
}

int l4h_task_child(int fd, long parent)
{
    /* Slurm's warning and the terminal's interrupt are for the ranks, which
     * decide; if our rank dies we end what we started and go: armed first,
     * then checked (a rank that died before the signal was armed left us
     * orphaned — we have started nothing yet — and an orphan's parent is
     * init or a subreaper, not necessarily pid 1). */
    signal(SIGUSR1, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    rank_pid = parent;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_rank_death;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGUSR2);
    if ((long)getppid() != parent)
        return L4H_EXIT_INFRA;
    /* what our runs leave comes back to us, and ends with each run */
    if (l4h_exec_adopt_orphans() < 0) {
        fprintf(stderr, "llm4hep task: cannot become the reaper of what our runs leave: %s\n",
                strerror(errno));
        return L4H_EXIT_INFRA;
    }
    l4h_exec_harden_self();
    l4h_replay_use_results();

    relay r = {.fd = fd};
    char *assign = NULL;
    if (relay_answer(&r, WIRE_ASSIGN, &assign) < 0) {
        fprintf(stderr, "llm4hep task: no assignment on fd %d\n", fd);
        return L4H_EXIT_INFRA;
    }
    cJSON *a = cJSON_Parse(assign);
    free(assign);
    const char *config_path = cJSON_GetStringValue(cJSON_GetObjectItem(a, "config"));
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(a, "key"));
    int index = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "index"));
    int attempt = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "attempt"));
    int run = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "run"));
    int rank = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "rank"));
    const char *iso = cJSON_GetStringValue(cJSON_GetObjectItem(a, "isolation"));
    char isolation[16] = "";
    snprintf(isolation, sizeof isolation, "%s", iso ? iso : "");

    /* The config, suite, prompts and scripted models come from the campaign's
     * snapshot only: never from the user's files, which may have changed. */
    l4h_err err = {0};
    l4h_config *cfg = NULL;
    l4h_plan plan = {0};
    l4h_inputs *inputs = read_inputs(&err);
    if (inputs)
        l4h_inputs_use(inputs);
    if (!inputs || !config_path || !key || l4h_config_load(config_path, &cfg, &err) < 0 ||
        l4h_plan_build(cfg, &plan, &err) < 0 || index < 0 || (size_t)index >= plan.n_tasks) {
        char why[2200];
        snprintf(why, sizeof why, "%s", err.msg[0] ? err.msg : "bad assignment");
        cJSON_Delete(a);
        l4h_plan_free(&plan);
        l4h_config_free(cfg);
        l4h_inputs_free(inputs);
        return refuse(&r, why);
    }
    const l4h_task *task = &plan.tasks[index];
    if (strcmp(task->key, key) != 0) {
        char why[200];
        snprintf(why, sizeof why, "assigned task %d with key %.16s, but the campaign's plan has "
                 "key %s there", index, key, task->key);
        cJSON_Delete(a);
        l4h_plan_free(&plan);
        l4h_config_free(cfg);
        l4h_inputs_free(inputs);
        return refuse(&r, why);
    }
    cJSON_Delete(a);

    r.cfg = cfg;
    l4h_permits permits = {.ctx = &r, .acquire = relay_acquire, .release = relay_release,
                           .spend = relay_spend};
    l4h_secrets_collect(cfg, 0); /* rank 0 said which keys are placeholders */
    l4h_task_rec rec = {0};
    char *keep_dir = cfg->keep_outputs ? l4h_outputs_dir(cfg->output) : NULL;
    l4h_llm *llm = l4h_llm_new(cfg, &permits, &err);
    l4h_llm_quiet_prices(llm); /* rank 0 warned once for the campaign */
    l4h_sandbox *sb =
        llm ? l4h_sandbox_open_probed(cfg, isolation, &err) : NULL;
    if (!llm || !sb) {
        mpi_rec_identity(&rec, cfg, task);
        rec.status = llm ? L4H_STATUS_ERROR_SANDBOX : L4H_STATUS_ERROR_INTERNAL;
        rec.error_summary = l4h_xstrdup(err.msg);
    } else {
        l4h_task_env env = {.cfg = cfg, .llm = llm, .sandbox = sb, .permits = &permits,
                            .attempt = attempt, .keep_outputs_dir = keep_dir,
                            .keep_outputs_bytes = cfg->keep_outputs_mb << 20};
        if (l4h_task_run(&env, task, &rec, &err) < 0) {
            l4h_rec_clear(&rec);
            mpi_rec_identity(&rec, cfg, task);
            rec.status = L4H_STATUS_ERROR_INTERNAL;
            rec.error_summary = l4h_xstrdup(err.msg);
        }
    }
    rec.run = run;
    rec.rank = rank;
    rec.attempt = attempt;
    /* Test hook: a result under another key, to prove rank 0 refuses it. */
    const char *forge = getenv("LLM4HEP_TEST_FORGE_KEY");
    if (forge && !strcmp(forge, "result"))
        memcpy(rec.key, "fedcba9876543210", sizeof rec.key);
    send_result(&r, &rec);

    l4h_rec_clear(&rec);
    free(keep_dir);
    l4h_sandbox_free(sb);
    l4h_llm_free(llm);
    l4h_plan_free(&plan);
    l4h_config_free(cfg);
    l4h_inputs_use(NULL);
    l4h_inputs_free(inputs);
    mpi_wire_reader_free(&r.rd);
    return 0;
}
