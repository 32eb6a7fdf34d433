/* mpi_internal.h — the pieces of the campaign runner, private to src/mpi/.
 *
 *   slot.c     a task slot: spawns `llm4hep task`, relays its permits and
 *              spending, turns whatever became of it into a record
 *   coord.c    rank 0: the queue, resume decisions, results into the store
 *   schedule.c rank 0: the dispatch queue, longest expected task first
 *   limiter.c  rank 0: per-endpoint concurrency, requests per minute, AIMD
 *   progress.c rank 0: a line per task and a summary every so often
 *   child.c    the task child itself (no MPI)
 *   wire.c     framing between a rank and its task child (a socketpair)
 *   sweep.c    MPI start-up, pre-flight, roles, the message loops
 *
 * Messages between a slot and the coordinator go through `l4h_link`: MPI
 * sends between ranks, or a queue in memory when one rank runs the campaign
 * serially — the slot and coordinator code is the same in both cases. */
#ifndef LLM4HEP_MPI_INTERNAL_H
#define LLM4HEP_MPI_INTERNAL_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "llm4hep/core.h"
#include "llm4hep/mpi.h"
#include "llm4hep/store.h"

/* ------------------------------------------------------------------ wire
 * Framing between a sweep rank and its task child, and the MPI tags between
 * ranks. */

/* Frames on the rank <-> child socket: 4-byte length (of type + payload),
 * 1 type byte, payload bytes. The child also gets the campaign's input
 * snapshot (l4h_inputs_encode) on fd WIRE_INPUTS_FD, a sealed memfd. */
#define WIRE_INPUTS_FD 4
enum {
    WIRE_ASSIGN = 1,   /* rank -> child: JSON {config, index, key, attempt, run, rank, isolation} */
    WIRE_PERMIT_REQ,   /* child -> rank: endpoint name */
    WIRE_PERMIT_ANS,   /* rank -> child: "1" granted, "0" refused */
    WIRE_PERMIT_REL,   /* child -> rank: "<http_status> <endpoint>" */
    WIRE_SPEND,        /* child -> rank: "<usd> <tokens>" */
    WIRE_SPENT,        /* rank -> child: "<campaign usd so far>" */
    WIRE_RESULT,       /* child -> rank: the task record as JSON */
    WIRE_REFUSED       /* child -> rank: why it refused the assignment (no task was run) */
};

/* MPI tags between slot ranks and rank 0. Payloads are bytes. */
enum {
    TAG_READY = 100,   /* slot -> 0: idle, send a task */
    TAG_TASK,          /* 0 -> slot: int32 {plan index, attempt} + the task key (16 chars) */
    TAG_NOMORE,        /* 0 -> slot: no more tasks, leave when idle */
    TAG_DRAIN,         /* 0 -> slot: double grace seconds: finish or be killed by then */
    TAG_KILL,          /* 0 -> slot: kill the task now */
    TAG_PERMIT_REQ,    /* slot -> 0: endpoint */
    TAG_PERMIT_ANS,    /* 0 -> slot: int32 granted */
    TAG_PERMIT_REL,    /* slot -> 0: "<status> <endpoint>" */
    TAG_SPEND,         /* slot -> 0: "<usd> <tokens>" */
    TAG_SPENT,         /* 0 -> slot: double total usd */
    TAG_RESULT,        /* slot -> 0: record JSON */
    TAG_PREFLIGHT      /* slot -> 0: "ok <host>" or "fail <host>: <message>" */
};

/* Write one frame; retries on EINTR/short writes. 0 ok, -1 on error. */
int mpi_wire_send(int fd, int type, const void *payload, size_t len);

/* Incremental frame reader for a non-blocking or blocking fd. */
typedef struct wire_reader {
    unsigned char *buf;
    size_t len, cap;
} wire_reader;

/* Read what is available (one read call). Returns 1 when data was read, 0 at
 * end of file, -1 on error (EAGAIN counts as 1 with nothing added). */
int mpi_wire_fill(wire_reader *r, int fd);
/* Pop one complete frame if buffered: returns 1 and sets *type, *payload
 * (malloc'd, NUL-terminated, caller frees) and *len; 0 when none complete. */
int mpi_wire_next(wire_reader *r, int *type, char **payload, size_t *len);
/* Blocking: read until a whole frame arrives. 1 got one, 0 EOF, -1 error. */
int mpi_wire_recv(wire_reader *r, int fd, int *type, char **payload, size_t *len);
void mpi_wire_reader_free(wire_reader *r);

/* ------------------------------------------------------------------ link */

typedef struct link_msg {
    int from, to, tag;
    char *data;
    size_t len;
    struct link_msg *next;
} link_msg;

typedef struct l4h_link {
    int serial;          /* 1: one rank, messages stay in memory */
    link_msg *head, *tail;
} l4h_link;

/* Send bytes to rank `to` (MPI_Send, or queue in serial mode). Can't fail
 * (MPI errors abort the job, which is MPI's own policy). */
void mpi_link_send(l4h_link *ln, int from, int to, int tag, const void *data, size_t len);
/* Next message addressed to `me`, without blocking: 1 and fills *m (data
 * malloc'd, NUL-terminated, caller frees) or 0 when none. */
int mpi_link_poll(l4h_link *ln, int me, link_msg *m);

/* --------------------------------------------------------------- records */

/* Fill the identity of a record for task (key, campaign, models, step, trial,
 * host, started) — for records the rank must make itself (a crashed or killed
 * child). Can't fail. */
void mpi_rec_identity(l4h_task_rec *rec, const l4h_config *cfg, const l4h_task *task);

/* --------------------------------------------------------------- slot */

typedef struct slot {
    int rank;
    const l4h_config *cfg;
    const l4h_plan *plan;
    const char *config_path;   /* absolute, for the child */
    const char *self_exe;      /* llm4hep-task: /proc/self/fd/N, the sealed memfd of the copy
                                  embedded in the rank's own binary (sweep.c) */
    const char *inputs;        /* the campaign's input snapshot (l4h_inputs_encode) */
    size_t inputs_len;
    int inputs_fd;             /* a sealed memfd holding it, every child's fd 4; -1 until made */
    int run;
    l4h_link *link;

    pid_t child;               /* 0 when idle */
    int fd;
    wire_reader rd;
    int task_index, attempt;
    double started;            /* l4h_now() */
    double kill_at;            /* l4h_monotonic() deadline, 0 = none */
    char *result;              /* record JSON from the child */
    char *refused;             /* why the child refused its assignment, or NULL */
    int awaiting;              /* answers from the coordinator the child waits for */
    int nomore;                /* coordinator has no more tasks */
    int done;                  /* slot may leave its loop */
    int tasks_run;
    char isolation[16];        /* sandbox backend the pre-flight tried on this node */
    int empty_tasks;           /* benchmark: no child, instant success (LLM4HEP_EMPTY_TASKS=1) */
} slot;

/* Ready the slot and tell the coordinator it is idle. */
void mpi_slot_init(slot *s);
/* A message from the coordinator. */
void mpi_slot_deliver(slot *s, const link_msg *m);
/* Service the child for up to timeout_ms; returns 1 if anything happened. */
int mpi_slot_poll(slot *s, int timeout_ms);
void mpi_slot_free(slot *s);

/* -------------------------------------------------------------- schedule */

/* The dispatch queue (schedule.c): longest expected task first, where the
 * tasks of one (supervisor, coder, step) are expected to take the mean of the
 * wall times measured for them so far; groups with nothing measured first;
 * ties in the order queued (plan order, trial-interleaved; a retry behind
 * what already waits). */
typedef struct sched sched;
/* A queue for the tasks of plan (borrowed; must outlive it), empty. Can't fail. */
sched *mpi_sched_new(const l4h_plan *plan);
/* Queue plan index (again). Can't fail. */
void mpi_sched_push(sched *s, int index);
/* The next task to dispatch, or -1 when nothing is queued. */
int mpi_sched_pop(sched *s);
/* A measured wall time of plan index (a model outcome, this run or an earlier
 * one); ignored unless finite and > 0. Can't fail. */
void mpi_sched_learn(sched *s, int index, double wall_s);
/* How many tasks are queued. */
size_t mpi_sched_queued(const sched *s);
void mpi_sched_free(sched *s);

/* --------------------------------------------------------------- limiter */

typedef struct limiter limiter;
limiter *mpi_limiter_new(const l4h_config *cfg);
/* Queue a permit request from rank for endpoint; grants go out via link. */
void mpi_limiter_request(limiter *l, l4h_link *ln, int rank, const char *endpoint);
void mpi_limiter_release(limiter *l, l4h_link *ln, const char *endpoint, int http_status);
/* Grant what the rate allows now (call every loop). */
void mpi_limiter_tick(limiter *l, l4h_link *ln);
void mpi_limiter_free(limiter *l);

/* --------------------------------------------------------------- progress */

typedef struct progress {
    FILE *out;
    int tty;
    size_t total;          /* task keys of the plan */
    size_t done_before;    /* keys a previous run finished */
    size_t keys_done;      /* keys this run finished for good (no retry follows) */
    size_t finished;       /* attempts this run finished (retries and interrupted ones too) */
    size_t success, infra, model_failures; /* attempts by outcome */
    int64_t tokens;
    double cost, started, last_summary, task_seconds;
    int in_flight, slots;
} progress;

/* One finished attempt: its line, and the counts. final: no retry of its
 * key follows in this run (an interrupted or re-queued attempt is not
 * final), so the key counts as done; the line's [k/N] counts keys, never
 * attempts. */
void mpi_progress_task(progress *p, const l4h_task_rec *rec, int final);
void mpi_progress_summary(progress *p, int force);

/* ---------------------------------------------------------- coordinator */

extern volatile sig_atomic_t l4h_sweep_drain_signal; /* SIGUSR1/SIGTERM/first SIGINT */
extern volatile sig_atomic_t l4h_sweep_stop_now;     /* second SIGINT */

typedef struct coord {
    const l4h_config *cfg;
    const l4h_plan *plan;
    const l4h_sweep_opts *opts;
    l4h_store *store;
    l4h_link *link;
    limiter *lim;
    progress prog;
    int run;
    int nslots, first_slot;    /* slots are ranks first_slot .. first_slot+nslots-1 */
    int *busy;                 /* per slot rank: plan index or -1 */
    int *idle;                 /* per slot rank: waiting for a task */
    sched *queue;              /* what is still to dispatch */
    int *tries_this_run;       /* per plan index */
    int *infra_total;          /* per plan index: error_* rows so far */
    int *attempts_before;      /* per plan index: rows before this run */
    int interrupted;           /* interrupted results this run */
    int outputs_over_cap;      /* results whose checked files were above keep_outputs_mb */
    int outputs_not_kept;      /* ... not kept for another reason */
    char outputs_why[128];     /* the first of those reasons */
    double *dispatched_at;     /* per plan index: l4h_monotonic() when sent */
    double overhead_sum;       /* dispatch -> journaled, minus the task's own wall time */
    size_t overhead_n;
    double loop_started, loop_cpu_started;  /* the dispatch loop, for the run figures */
    double loop_ended, loop_cpu_ended;
    double busy_s;             /* wall time spent handling slots' messages */
    int in_flight;
    double spent_usd;
    int64_t tokens;
    int draining, killed, budget_stop;
    double drain_deadline;
    size_t pending_checkpoint;
    double last_checkpoint;
    int store_failed;
    l4h_err store_err;
} coord;

/* Decide what to run (resume), fill the queue. Can't fail. */
void mpi_coord_init(coord *c);
/* One message from a slot. */
void mpi_coord_handle(coord *c, const link_msg *m);
/* Timers, signals, dispatch to idle slots; returns 1 when the campaign loop
 * may end (nothing queued or draining, nothing in flight). */
int mpi_coord_tick(coord *c);
/* Tell every slot there is no more work. */
void mpi_coord_release_slots(coord *c);
/* Print the run's own figures: tasks/s, overhead per task, rank 0's CPU and memory. */
void mpi_coord_print_stats(const coord *c);
/* The exit code for what happened. */
int mpi_coord_exit_code(const coord *c);
void mpi_coord_free(coord *c);

#endif
