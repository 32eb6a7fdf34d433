/* sweep.c — `llm4hep sweep CONFIG` under mpirun/srun: start-up, pre-flight,
 * the coordinator's and the slots' loops, the /runs row, the exit code.
 * With one rank, rank 0 is both coordinator and the only slot. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "llm4hep/agent.h"
#include "llm4hep/check.h"
#include "llm4hep/exec.h"
#include "llm4hep/llm.h"
#include "mpi_internal.h"

extern char **environ;

#define MSG_LEN 1024

static void on_drain(int sig)
{
    (void)sig;
    l4h_sweep_drain_signal = 1;
    l4h_interrupt_waits(); /* a pre-flight wait ends now */
}

static void on_interrupt(int sig)
{
    (void)sig;
    if (l4h_sweep_drain_signal)
        l4h_sweep_stop_now = 1;
    l4h_sweep_drain_signal = 1;
    l4h_interrupt_waits();
}


/* llm4hep-task's bytes (the generated task_blob.c: .incbin of the build's
 * llm4hep_task, see CMakeLists.txt). */
extern const unsigned char mpi_task_blob[];
extern const unsigned char mpi_task_blob_end[];

/* A slot rank's signal: rank 0 decides about the campaign; here it only
 * ends a wait of this rank's own pre-flight (a server's Retry-After). */
static void on_slot_signal(int sig)
{
    (void)sig;
    l4h_interrupt_waits();
}

/* Rank 0 drains on SIGUSR1/SIGTERM (Slurm's warning), and on a first SIGINT;
 * a second SIGINT stops at once. Slot ranks leave the decision to rank 0:
 * their handler only ends a pre-flight wait (SA_RESTART, so nothing else of
 * theirs sees EINTR where an ignored signal used to be). */
static void install_signals(int rank)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (rank == 0) {
        sa.sa_handler = on_drain;
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sa.sa_handler = on_interrupt;
        sigaction(SIGINT, &sa, NULL);
    } else {
        sa.sa_handler = on_slot_signal;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_flags = 0;
    }
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* The MPI launcher that started this rank (mpirun, mpiexec's proxy,
 * slurmstepd), or 0 when we were not launched (a singleton: the parent is a
 * shell, which may go away without ending the campaign). */
static pid_t launcher;

/* Remember the launcher when there is one. Can't fail. */
static void note_launcher(void)
{
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_RANK") || getenv("PMI_SIZE") ||
        getenv("SLURM_STEP_ID"))
        launcher = getppid() > 1 ? getppid() : 0;
}

/* A rank whose launcher died (kill -9 of mpirun) is what is left of a
 * dead job: it stops at once, and its task child dies with it (the journal
 * holds every finished task; the next run resumes). */
static void stop_if_orphaned(void)
{
    if (!launcher || getppid() == launcher)
        return;
    fprintf(stderr, "llm4hep sweep: the launcher (pid %ld) is gone; this rank stops (finished "
                    "tasks are in the journal: run the same command to resume)\n", (long)launcher);
    _exit(L4H_EXIT_INFRA);
}

/* Tell slurm/sweep.sh that this rank's signal handlers are in place (a file
 * rank-N in $LLM4HEP_READY_DIR): it holds an early time-limit warning until
 * every rank is ready, as a rank without its handler would die of it. */
static void say_ready(int rank)
{
    const char *dir = getenv("LLM4HEP_READY_DIR");
    if (!dir || !*dir)
        return;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/rank-%d", dir, rank);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd >= 0)
        close(fd);
}

/* Sleep a little when there was nothing to do; `idle` counts idle rounds so
 * the wait grows from 20 us to max_us and work is picked up at once. Stops
 * the process when its launcher is gone. */
static void idle_wait(int *idle, long max_us)
{
    stop_if_orphaned();
    long us = 20L << (*idle < 7 ? *idle : 7);
    if (us > max_us)
        us = max_us;
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
    (*idle)++;
}

/* A program started with its stdout in a pipe, read when it is needed. */
typedef struct capture {
    pid_t pid;
    int fd;
} capture;

/* Start argv with stdout to a pipe, dying with us; c->pid is 0 when it
 * could not start. */
static void capture_start(char *const argv[], capture *c)
{
    int fds[2], e;
    c->pid = 0;
    c->fd = -1;
    if (pipe(fds) < 0) /* the child keeps only fds[1], as its stdout */
        return;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC); /* no task child inherits our end */
    pid_t pid = l4h_exec_spawn_tied(argv, environ, fds[1], &e);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return;
    }
    c->pid = pid;
    c->fd = fds[0];
}

/* What it printed (caller frees; "" when it did not start). c is reset:
 * finishing it again gives "" at once. */
static char *capture_finish(capture *c)
{
    l4h_buf b = {0};
    char buf[4096];
    ssize_t n;
    while (c->fd >= 0 && (n = read(c->fd, buf, sizeof buf)) > 0)
        l4h_buf_add(&b, buf, (size_t)n);
    if (c->fd >= 0)
        close(c->fd);
    int st;
    if (c->pid > 0)
        waitpid(c->pid, &st, 0);
    c->fd = -1;
    c->pid = 0;
    return l4h_buf_take(&b);
}

/* Start asking the interpreter for "python==3.11.2\nnumpy==1.24.2\n..." of the
 * suite's required modules (importing sklearn takes a second: it runs while
 * the pre-flight does). */
static void python_packages_start(const l4h_config *cfg, capture *c)
{
    static const char code[] =
        "import importlib, sys\nprint('python==' + sys.version.split()[0])\n"
        "for m in sys.argv[1:]:\n"
        "    try:\n"
        "        v = getattr(importlib.import_module(m), '__version__', '?')\n"
        "    except Exception as e:\n"
        "        v = 'missing (' + type(e).__name__ + ')'\n"
        "    print(m + '==' + str(v))\n";
    const l4h_suite *s = cfg->suite;
    size_t n = s ? s->n_requires : 0;
    char **argv = l4h_xcalloc(n + 6, sizeof *argv), **a = argv;
    *a++ = cfg->sandbox.python;
    *a++ = "-c";
    *a++ = (char *)code;
    for (size_t i = 0; i < n; i++)
        *a++ = s->requires[i];
    capture_start(argv, c);
    free(argv);
}

/* The campaign's distinct models, in config order (strings borrowed). */
static const char **campaign_models(const l4h_config *cfg, size_t *n)
{
    const char **m = l4h_xcalloc(2 * cfg->n_pairs + 1, sizeof *m);
    *n = 0;
    for (size_t i = 0; i < cfg->n_pairs; i++) {
        const char *two[2] = {cfg->pairs[i].supervisor, cfg->pairs[i].coder};
        for (int k = 0; k < 2; k++) {
            int seen = 0;
            for (size_t j = 0; j < *n && !seen; j++)
                seen = !strcmp(m[j], two[k]);
            if (!seen)
                m[(*n)++] = two[k];
        }
    }
    return m;
}

/* This rank's part of the pre-flight, into msg ("ok HOST BACKEND" or "fail
 * WHAT"): can the sandbox run on this node (tried once per node); does every
 * endpoint answer and serve its models (each rank checks its share of the
 * models, so the checks run side by side); rank 0: does the reference match
 * the suite and data. */
static void preflight(const l4h_config *cfg, int rank, int size, char msg[MSG_LEN])
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    l4h_err err = {0};
    /* One trial run of the sandbox per node, shared with the node's ranks. */
    MPI_Comm node;
    int node_rank = 0;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &node_rank);
    if (node_rank == 0) {
        l4h_sandbox *sb = l4h_sandbox_open(cfg, &err);
        if (sb)
            snprintf(msg, MSG_LEN, "ok %s %s", host, l4h_sandbox_isolation(sb));
        else
            snprintf(msg, MSG_LEN, "fail sandbox on node %s: %.700s", host, err.msg);
        l4h_sandbox_free(sb);
    }
    MPI_Bcast(msg, MSG_LEN, MPI_CHAR, 0, node);
    MPI_Comm_free(&node);
    if (!strncmp(msg, "fail ", 5))
        return;
    if (rank == 0 && l4h_reference_verify(cfg->suite, &err) < 0) {
        snprintf(msg, MSG_LEN, "fail %.900s", err.msg);
        return;
    }
    size_t n = 0;
    const char **models = campaign_models(cfg, &n);
    l4h_llm *llm = NULL;
    for (size_t i = (size_t)rank; i < n; i += (size_t)size) {
        if (!llm && !(llm = l4h_llm_new(cfg, NULL, &err))) {
            snprintf(msg, MSG_LEN, "fail %.900s", err.msg);
            break;
        }
        if (l4h_llm_check_model(llm, models[i], &err) < 0) {
            snprintf(msg, MSG_LEN, "fail %.900s", err.msg);
            break;
        }
    }
    l4h_llm_free(llm);
    free(models);
}

/* One line for the whole campaign naming the HTTP models without a price
 * (their cost is NaN); the task children stay quiet about it. */
static void warn_unpriced(const l4h_config *cfg)
{
    size_t n = 0;
    const char **models = campaign_models(cfg, &n);
    l4h_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        l4h_model_resolved m;
        l4h_err err = {0};
        if (l4h_config_model(cfg, models[i], &m, &err) == 0 && !m.has_price &&
            m.endpoint->provider == L4H_PROVIDER_HTTP)
            l4h_buf_printf(&b, "%s%s", b.len ? ", " : "", models[i]);
    }
    if (b.len)
        fprintf(stderr, "llm4hep sweep: warning: no price in the config's prices for %s; their "
                        "cost is NaN (reports show it as unknown)\n", b.data);
    l4h_buf_free(&b);
    free(models);
}

/* With the campaign's lock held (the store is open), the first rank of each
 * node removes the workspaces a killed run of this campaign left in its
 * node-local scratch (on Perlmutter /tmp is memory). */
static void remove_leftovers(const l4h_config *cfg, const l4h_plan *plan, int rank)
{
    MPI_Comm node;
    int node_rank = 0;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &node_rank);
    MPI_Comm_free(&node);
    if (node_rank != 0)
        return;
    char **keys = l4h_xcalloc(plan->n_tasks ? plan->n_tasks : 1, sizeof *keys);
    for (size_t i = 0; i < plan->n_tasks; i++)
        keys[i] = (char *)plan->tasks[i].key;
    size_t n = l4h_workspace_remove_leftovers(cfg->scratch, keys, plan->n_tasks);
    free(keys);
    if (n > 0) {
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        fprintf(stderr, "llm4hep sweep: removed %zu workspace%s left by a killed run on %s\n", n,
                n == 1 ? "" : "s", host);
    }
}

static int agree(int rc)
{
    int worst = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}

/* Rank 0: read the campaign's inputs once, into a recording snapshot — the
 * config and everything its loaders read (models files, suite, prompts,
 * check and tool programs), then every scripted model's file and code files.
 * The snapshot is frozen; *cfg and *plan are loaded from it. 0 or -1. */
static int record_inputs(const char *config_abs, l4h_inputs *in, l4h_config **cfg,
                         l4h_plan *plan, l4h_err *err)
{
    l4h_inputs_use(in);
    if (l4h_config_load(config_abs, cfg, err) < 0 || l4h_plan_build(*cfg, plan, err) < 0)
        return -1;
    size_t n = 0;
    const char **models = campaign_models(*cfg, &n);
    l4h_llm *llm = l4h_llm_new(*cfg, NULL, err);
    int rc = llm ? 0 : -1;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = l4h_llm_read_inputs(llm, models[i], err);
    l4h_llm_free(llm);
    free(models);
    l4h_inputs_freeze(in);
    return rc;
}

/* Rank 0's snapshot to every rank (config path first): the other ranks
 * decode it into *in and load *cfg and *plan from it, never from the disk.
 * Collective; returns the agreed exit code (0 = every rank has the plan). */
static int share_inputs(int rank, char config_abs[PATH_MAX], l4h_inputs **in, l4h_config **cfg,
                        l4h_plan *plan, char **blob, size_t *blob_len, l4h_err *err)
{
    int64_t len = rank == 0 ? (int64_t)*blob_len : 0;
    MPI_Bcast(config_abs, PATH_MAX, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Bcast(&len, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (rank != 0) {
        *blob = l4h_xmalloc((size_t)len + 1);
        *blob_len = (size_t)len;
    }
    for (int64_t off = 0; off < len; off += 1 << 30) {
        int chunk = (int)(len - off < (1 << 30) ? len - off : (1 << 30));
        MPI_Bcast(*blob + off, chunk, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
    int rc = 0;
    if (rank != 0) {
        if (l4h_inputs_decode(*blob, *blob_len, in, err) < 0)
            rc = err->code ? err->code : L4H_EXIT_INFRA;
        else {
            l4h_inputs_use(*in);
            if (l4h_config_load(config_abs, cfg, err) < 0 || l4h_plan_build(*cfg, plan, err) < 0)
                rc = err->code ? err->code : L4H_EXIT_INFRA;
        }
        if (rc)
            fprintf(stderr, "llm4hep sweep: rank %d: %s\n", rank, err->msg);
    }
    return agree(rc);
}

static int run_coordinator(coord *c, slot *local)
{
    l4h_link *ln = c->link;
    link_msg m;
    int idle = 0;
    if (local)
        mpi_slot_init(local);
    for (;;) {
        int got = 0;
        double t0 = l4h_monotonic();
        while (got < 4096 && mpi_link_poll(ln, 0, &m)) {
            mpi_coord_handle(c, &m);
            free(m.data);
            got++;
        }
        if (local)
            while (mpi_link_poll(ln, local->rank, &m)) {
                mpi_slot_deliver(local, &m);
                free(m.data);
                got++;
            }
        int finished = mpi_coord_tick(c);
        if (got) /* handling the messages and the dispatch that follows them */
            c->busy_s += l4h_monotonic() - t0;
        if (finished && !ln->head)
            break;
        if (local && local->child)
            got += mpi_slot_poll(local, got || local->awaiting ? 0 : 2);
        if (got)
            idle = 0;
        else /* a slot may be waiting for a permit: answer within a quarter millisecond */
            idle_wait(&idle, 250);
    }
    mpi_coord_release_slots(c);
    if (local)
        while (mpi_link_poll(ln, local->rank, &m)) {
            mpi_slot_deliver(local, &m);
            free(m.data);
        }
    return mpi_coord_exit_code(c);
}

static void run_slot(slot *s)
{
    link_msg m;
    int idle = 0;
    mpi_slot_init(s);
    while (!s->done) {
        int got = 0;
        while (mpi_link_poll(s->link, s->rank, &m)) {
            mpi_slot_deliver(s, &m);
            free(m.data);
            got = 1;
        }
        if (s->child)
            got |= mpi_slot_poll(s, got || s->awaiting ? 0 : 2);
        if (got)
            idle = 0;
        else if (!s->done) /* waiting for the coordinator's answer: look again soon */
            idle_wait(&idle, s->awaiting ? 50 : 2000);
    }
}

/* Gather host names; rank 0 gets "a,b,c" of the distinct ones. */
static char *gather_hosts(int rank, int size)
{
    char me[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    MPI_Get_processor_name(me, &len);
    char *all = rank == 0 ? l4h_xcalloc((size_t)size, MPI_MAX_PROCESSOR_NAME) : NULL;
    MPI_Gather(me, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0,
               MPI_COMM_WORLD);
    if (rank != 0)
        return NULL;
    l4h_buf b = {0};
    for (int i = 0; i < size; i++) {
        const char *h = all + (size_t)i * MPI_MAX_PROCESSOR_NAME;
        int dup = 0;
        for (int j = 0; j < i && !dup; j++)
            dup = !strcmp(h, all + (size_t)j * MPI_MAX_PROCESSOR_NAME);
        if (!dup)
            l4h_buf_printf(&b, "%s%s", b.len ? "," : "", h);
    }
    free(all);
    return l4h_buf_take(&b);
}

/* Everything one rank holds across the phases of a sweep. */
typedef struct sweep_state {
    const l4h_sweep_opts *opts;
    int rank, size;
    int exe_fd;                  /* sealed memfd of llm4hep-task, for the children */
    char self_exe[64];           /* "/proc/self/fd/N" of it */
    char config_abs[PATH_MAX];
    l4h_inputs *inputs;          /* the campaign's snapshot (every rank) */
    char *inputs_blob;           /* its encoding, for the task children */
    size_t inputs_len;
    l4h_config *cfg;
    l4h_plan plan;
    capture packages;            /* rank 0: the Python packages' versions, being read */
    char msg[MSG_LEN];           /* this rank's pre-flight: "ok HOST BACKEND" or "fail WHY" */
    char isolation[16];          /* rank 0: the first slot's sandbox backend */
    char *hosts;                 /* rank 0: the distinct host names */
    l4h_store *store;            /* rank 0 */
    l4h_run_info info;           /* rank 0: the /runs row */
} sweep_state;

/* Phase 1, every rank: MPI, signals, the binary the children run. The
 * exit code (0 or L4H_EXIT_INFRA with the reason printed by rank 0 later:
 * err). */
static int start_rank(sweep_state *w, int *argc, char ***argv, l4h_err *err)
{
    note_launcher();
    /* Every rank holds the API keys in its environment: make it
     * non-dumpable, so that code running as our uid (isolation: rlimit)
     * cannot read /proc/<rank>/environ. Non-dumpable ranks cannot be read
     * with process_vm_readv by their peers (Open MPI's single-copy transfer
     * between ranks of a node) unless root: copy through shared memory then. */
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    setenv("OMPI_MCA_smsc", "^cma", 0);
    l4h_exec_harden_self();
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &w->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w->size);
    install_signals(w->rank);
    say_ready(w->rank);
    /* Task children run llm4hep-task (no MPI: src/task/main.c) from the copy
     * embedded in the binary this rank started from, even if the file is
     * replaced (a rebuild) while the campaign runs: a sealed memfd, which
     * /proc/self/fd/N names at exec time. */
    w->exe_fd = l4h_exec_memfd("llm4hep-task", mpi_task_blob,
                               (size_t)(mpi_task_blob_end - mpi_task_blob), err);
    if (w->exe_fd < 0)
        return L4H_EXIT_INFRA;
    snprintf(w->self_exe, sizeof w->self_exe, "/proc/self/fd/%d", w->exe_fd);
    return 0;
}

/* Phase 2, collective: rank 0 reads the campaign's inputs once and every
 * rank loads the config and plan from that snapshot. The agreed exit code. */
static int load_campaign(sweep_state *w, int rc, l4h_err *err)
{
    if (w->rank == 0 && !rc) {
        if (!realpath(w->opts->config_path, w->config_abs))
            snprintf(w->config_abs, sizeof w->config_abs, "%s", w->opts->config_path);
        w->inputs = l4h_inputs_new();
        if (record_inputs(w->config_abs, w->inputs, &w->cfg, &w->plan, err) < 0)
            rc = err->code ? err->code : L4H_EXIT_USAGE;
        else
            w->inputs_blob = l4h_inputs_encode(w->inputs, &w->inputs_len);
    }
    if (agree(rc)) {
        if (rc)
            fprintf(stderr, "llm4hep sweep: %s\n", err->msg);
        return agree(rc);
    }
    rc = share_inputs(w->rank, w->config_abs, &w->inputs, &w->cfg, &w->plan, &w->inputs_blob,
                      &w->inputs_len, err);
    if (!rc) {
        l4h_buf notes = {0}; /* rank 0 says once which keys are placeholders */
        l4h_secrets_collect(w->cfg, w->rank == 0 ? &notes : NULL);
        if (notes.len)
            fputs(notes.data, stderr);
        l4h_buf_free(&notes);
    }
    return rc;
}

/* Phase 3, collective, in seconds: every node's sandbox, every model, the
 * reference; rank 0 prints each failure once and the unpriced models. The
 * agreed exit code. */
static int run_preflight(sweep_state *w)
{
    w->packages = (capture){0, -1};
    if (w->rank == 0)
        python_packages_start(w->cfg, &w->packages);
    preflight(w->cfg, w->rank, w->size, w->msg);
    char *msgs = w->rank == 0 ? l4h_xcalloc((size_t)w->size, MSG_LEN) : NULL;
    MPI_Gather(w->msg, MSG_LEN, MPI_CHAR, msgs, MSG_LEN, MPI_CHAR, 0, MPI_COMM_WORLD);
    w->hosts = gather_hosts(w->rank, w->size);
    snprintf(w->isolation, sizeof w->isolation, "?");
    int rc = 0;
    for (int r = 0; w->rank == 0 && r < w->size; r++) {
        const char *mr = msgs + (size_t)r * MSG_LEN;
        if (!strncmp(mr, "fail ", 5)) {
            int dup = 0; /* several ranks of a node report the same failure */
            for (int q = 0; q < r && !dup; q++)
                dup = !strcmp(mr, msgs + (size_t)q * MSG_LEN);
            if (!dup)
                fprintf(stderr, "llm4hep sweep: pre-flight: %s\n", mr + 5);
            rc = L4H_EXIT_INFRA;
        } else if (r == (w->size == 1 ? 0 : 1)) {
            const char *sp = strrchr(mr, ' ');
            snprintf(w->isolation, sizeof w->isolation, "%s", sp ? sp + 1 : "?");
        }
    }
    free(msgs);
    if (w->rank == 0 && !rc)
        warn_unpriced(w->cfg);
    return agree(rc);
}

/* Phase 4, rank 0: open the results (journal first, then the HDF5 file at
 * checkpoints) and begin the /runs row; remove what killed task children
 * left of their kept outputs (the lock is held). The exit code. */
static int open_results(sweep_state *w, l4h_err *err)
{
    l4h_run_info *info = &w->info;
    info->python_packages = capture_finish(&w->packages);
    int flags = (w->opts->fresh ? L4H_STORE_FRESH : 0) |
                (w->opts->accept_changed_inputs ? L4H_STORE_ACCEPT_CHANGED : 0);
    if (l4h_store_open(w->cfg, w->inputs, flags, &w->store, err) < 0) {
        fprintf(stderr, "llm4hep sweep: %s\n", err->msg);
        return err->code ? err->code : L4H_EXIT_INFRA;
    }
    char *kept = l4h_outputs_dir(w->cfg->output);
    l4h_outputs_remove_partial(kept);
    free(kept);
    info->started_utc = l4h_now();
    info->exit_code = -1;
    const char *job = getenv("SLURM_JOB_ID");
    snprintf(info->slurm_job_id, sizeof info->slurm_job_id, "%s", job ? job : "");
    const char *rs = getenv("SLURM_RESTART_COUNT");
    info->slurm_restart_count = rs ? atoi(rs) : 0;
    info->ranks = w->size;
    info->hosts = l4h_xstrdup(w->hosts);
    info->llm4hep_version = l4h_xstrdup(LLM4HEP_VERSION);
    info->git_commit = l4h_xstrdup(LLM4HEP_GIT_COMMIT);
    info->config_text = l4h_xstrdup(w->cfg->text);
    info->inputs = w->inputs;
    if (l4h_store_begin_run(w->store, info, err) < 0) {
        fprintf(stderr, "llm4hep sweep: %s\n", err->msg);
        return err->code ? err->code : L4H_EXIT_INFRA;
    }
    return 0;
}

/* Phase 5, every rank: rank 0 coordinates (and is the only slot of a
 * one-rank sweep), the others run tasks; rank 0 closes the results and
 * says how the campaign ended. The exit code, the same on every rank. */
static int run_campaign(sweep_state *w, l4h_err *err)
{
    const l4h_config *cfg = w->cfg;
    int rank = w->rank, size = w->size, rc = 0;
    l4h_link link = {.serial = size == 1};
    slot s = {.rank = size == 1 ? 1 : rank, .cfg = cfg, .plan = &w->plan,
              .config_path = w->config_abs, .self_exe = w->self_exe, .inputs = w->inputs_blob,
              .inputs_len = w->inputs_len, .inputs_fd = -1, .run = w->info.run, .link = &link,
              .fd = -1,
              .empty_tasks = getenv("LLM4HEP_EMPTY_TASKS") && !strcmp(getenv("LLM4HEP_EMPTY_TASKS"), "1")};
    /* "ok <host> <backend>": the backend this rank's pre-flight chose. */
    const char *backend = strrchr(w->msg, ' ');
    snprintf(s.isolation, sizeof s.isolation, "%s",
             !strncmp(w->msg, "ok ", 3) && backend ? backend + 1 : "");
    if (rank == 0) {
        coord c = {.cfg = cfg, .plan = &w->plan, .opts = w->opts, .store = w->store,
                   .link = &link, .run = w->info.run, .first_slot = 1,
                   .nslots = size == 1 ? 1 : size - 1};
        c.prog.out = stdout;
        /* A live line only for a person at a terminal: under mpirun rank 0's
         * stdout is a pseudo-terminal even when the job's output goes to a
         * file, so launched campaigns always print plain lines. */
        c.prog.tty = isatty(1) && size == 1 && !getenv("OMPI_COMM_WORLD_SIZE") &&
                     !getenv("PMI_RANK") && !getenv("SLURM_STEP_ID");
        mpi_coord_init(&c);
        printf("campaign %s: %zu tasks, %zu done before, %zu to run on %d slot%s (%s sandbox); "
               "results %s\n",
               cfg->name, w->plan.n_tasks, c.prog.done_before, mpi_sched_queued(c.queue), c.nslots,
               c.nslots == 1 ? "" : "s", w->isolation, cfg->output);
        printf("sandbox %s\n", l4h_sandbox_describe(w->isolation, cfg->sandbox.network));
        fflush(stdout);
        rc = run_coordinator(&c, size == 1 ? &s : NULL);
        mpi_coord_print_stats(&c);
        mpi_coord_free(&c);
        if (l4h_store_close(w->store, rc, err) < 0) {
            fprintf(stderr, "llm4hep sweep: %s\n", err->msg);
            rc = L4H_EXIT_INFRA;
        }
        w->store = NULL;
        if (rc == L4H_EXIT_STOPPED)
            printf("campaign %s stopped early: run the same command again to resume\n", cfg->name);
        else if (rc == L4H_EXIT_OK)
            printf("campaign %s complete: %s\n", cfg->name, cfg->output);
    } else {
        run_slot(&s);
    }
    mpi_slot_free(&s);
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rc;
}

/* Free what the phases made. Can't fail. */
static void sweep_free(sweep_state *w)
{
    free(capture_finish(&w->packages)); /* a pre-flight that failed left it running */
    free(w->hosts);
    free(w->info.hosts);
    free(w->info.llm4hep_version);
    free(w->info.git_commit);
    free(w->info.config_text);
    free(w->info.python_packages);
    l4h_plan_free(&w->plan);
    l4h_config_free(w->cfg);
    l4h_inputs_use(NULL);
    l4h_inputs_free(w->inputs);
    free(w->inputs_blob);
    if (w->exe_fd >= 0)
        close(w->exe_fd);
}

int l4h_sweep(int *argc, char ***argv, const l4h_sweep_opts *opts)
{
    sweep_state w = {.opts = opts, .exe_fd = -1, .packages = {0, -1}};
    l4h_err err = {0};
    int rc = start_rank(&w, argc, argv, &err);
    if ((rc = load_campaign(&w, rc, &err)) == 0 && (rc = run_preflight(&w)) == 0) {
        if (w.rank == 0)
            rc = open_results(&w, &err);
        if ((rc = agree(rc)) == 0) {
            MPI_Bcast(&w.info.run, 1, MPI_INT, 0, MPI_COMM_WORLD);
            remove_leftovers(w.cfg, &w.plan, w.rank);
            rc = run_campaign(&w, &err);
        } else if (w.store) {
            l4h_store_close(w.store, rc, &err);
        }
    }
    sweep_free(&w);
    MPI_Finalize();
    return rc;
}
