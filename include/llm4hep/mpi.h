/* mpi.h — the campaign: rank 0 plans, dispatches tasks pull-based in
 * trial-interleaved order, relays permits and spending, and is the only
 * writer; ranks 1..N each run tasks in a spawned `llm4hep task` child. One
 * rank runs the campaign serially. */
#ifndef LLM4HEP_MPI_H
#define LLM4HEP_MPI_H

#include "llm4hep/core.h"

typedef struct l4h_sweep_opts {
    const char *config_path;
    int fresh;
    int retry_infra;
    int accept_changed_inputs;   /* resume although finished tasks' inputs changed */
    double grace_s;              /* drain deadline after SIGUSR1/SIGTERM; default 60 */
} l4h_sweep_opts;

/* Run the campaign under MPI (calls MPI_Init/MPI_Finalize). Returns the
 * process exit code: 0 complete, 2 bad input, 3 infrastructure (pre-flight),
 * 4 stopped early and resumable. */
int l4h_sweep(int *argc, char ***argv, const l4h_sweep_opts *opts);

/* The task child (`llm4hep task --fd N --parent PID`, no MPI): dies with its
 * rank (PID; returns 3 at once if that is no longer its parent), reads its
 * assignment from the socket, runs it with permits relayed over the socket,
 * sends the record. Returns the process exit code. */
int l4h_task_child(int fd, long parent);

/* From now on replay endpoints read the results files they name through the
 * store (llm.h's l4h_replay_source): every program that runs tasks calls it
 * once at start — the CLI for every verb, and l4h_task_child itself (the
 * task child may be a program of its own). Can't fail. */
void l4h_replay_use_results(void);

#endif
