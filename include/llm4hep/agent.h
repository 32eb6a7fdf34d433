/* agent.h — one task: the supervisor–coder loop, code extraction, tool calls,
 * verdicts, then the hidden checks and the status. Knows nothing of MPI: it
 * gets its permits and the campaign's spending through l4h_permits. */
#ifndef LLM4HEP_AGENT_H
#define LLM4HEP_AGENT_H

#include <signal.h>
#include "llm4hep/core.h"
#include "llm4hep/llm.h"
#include "llm4hep/exec.h"

/* Callbacks for a person watching (`run` prints the conversation); any may be NULL. */
typedef struct l4h_observer {
    void *ctx;
    void (*message)(void *ctx, const char *agent, int iteration, const char *text);
    void (*code)(void *ctx, int iteration, const char *code);
    void (*exec)(void *ctx, int iteration, const l4h_exec_rec *ex);
    void (*tool)(void *ctx, int iteration, const char *name, const char *args, const char *result);
    void (*check)(void *ctx, const l4h_check_rec *chk);
} l4h_observer;

typedef struct l4h_task_env {
    const l4h_config *cfg;
    l4h_llm *llm;
    l4h_sandbox *sandbox;
    l4h_permits *permits;           /* may be NULL */
    const l4h_observer *observer;   /* may be NULL */
    const char *out_dir;            /* copy the workspace here at the end; may be NULL */
    int keep_workspace;
    int attempt;                    /* 1-based */
    volatile sig_atomic_t *stop;    /* set → finish as interrupted; may be NULL */
} l4h_task_env;

/* Run one task and fill rec (zeroed by the caller) completely: status, counts,
 * every call, execution and check, error category. Returns 0 whenever a
 * record was produced (also for model failures and error_* statuses); -1 only
 * when not even a record could be made. */
int l4h_task_run(const l4h_task_env *env, const l4h_task *task, l4h_task_rec *rec, l4h_err *err);

/* Code extraction: the python block the coder meant. Returns a malloc'd code
 * string or NULL when the text holds no code; *note (static string) says
 * which block was chosen when there were several. */
char *l4h_extract_code(const char *text, const char **note);

/* The verdict of a supervisor message: 1 DONE, 0 CONTINUE; *well_formed is 0
 * when the last line was neither (counts as CONTINUE). */
int l4h_parse_verdict(const char *text, int *well_formed);

/* `llm4hep reference SUITE [--check]`: generate data if absent, run the
 * solution for every step into the reference dir, write the manifest. */
int l4h_reference_build(const l4h_config *cfg, const l4h_suite *suite, int check, l4h_err *err);
/* Does the manifest in the reference dir match the suite and data? 0 yes. */
int l4h_reference_verify(const l4h_suite *suite, l4h_err *err);

#endif
