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
    int no_checks;                  /* 1: skip the hidden checks (`run` without --validate);
                                       the status then reflects the loop alone, see below */
    const char *keep_outputs_dir;   /* keep_outputs: when the checks ran, keep the files they
                                       judged here (l4h_outputs_keep; rec->outputs says what
                                       became of them); NULL: keep nothing */
    int64_t keep_outputs_bytes;     /* the cap (keep_outputs_mb) */
    const char *stage_dir;          /* the step's `stage` files come from here (`run --chain`:
                                       the previous steps' outputs); NULL: the reference dir */
} l4h_task_env;

/* The conversation (deterministic; every request is recorded exactly):
 *
 * supervisor call 0 (iteration 0, the plan; its verdict is ignored):
 *     [system: prompt_supervisor_first, user: step prompt]
 * coder call (iteration i; call indices count every coder request):
 *     [system: prompt_coder, user: supervisor's plan, assistant: answer 1,
 *      (assistant tool_calls, tool results)..., user: supervisor's review 1, ...]
 *     i.e. the coder sees its own history; each new user message is the
 *     supervisor's latest message verbatim. Tool rounds: when an answer has
 *     tool calls, each runs (step's tool command in the sandbox, JSON arguments
 *     on stdin) and its output is a "tool" message; the coder is asked again,
 *     at most L4H_TOOL_ROUNDS times per iteration. An unknown tool or arguments
 *     that are not a JSON object give a tool message "tool error: ..." and an
 *     exec record of kind "tool", exit_code 2, stderr "tool error: ...".
 * supervisor call i (review of iteration i):
 *     [system: prompt_supervisor, user: step prompt, assistant: plan,
 *      user: review 1, assistant: verdict 1, ..., user: review i]
 *     where review i is agent_review_text(): the code, exit status, timing,
 *     truncated stdout/stderr, the workspace's files, tool calls, and notes
 *     (which code block was taken, a missing verdict line last time).
 * Prompts are rendered with the workspace's view paths, {{inputs}} =
 * agent_inputs_text() and {{files}} = agent_files_text().
 *
 * Code: generated_code/iter_N.py, run as {"python", <view path>}; its
 * stdout/stderr also land in logs/iter_N.stdout and logs/iter_N.stderr.
 *
 * Status (docs/design.md): interrupted (env->stop) > error_api (a call failed
 * after retries, not for what the conversation held) > error_sandbox
 * (workspace or sandbox could not start) > after the checks: success (all
 * passed) | failed_limit (stopped by task_wall_s, task_tokens or
 * campaign_usd) | failed_request (an endpoint refused a request for what
 * the model or its code put in the conversation; see ask() in loop.c and
 * docs/notes/channel.md) | failed_execution (last code failed) |
 * failed_validation; no code ran: failed_limit | failed_request |
 * failed_no_code. With env->no_checks the checks are skipped and, when code
 * ran, success means the last code ran cleanly, no limit or refusal stopped
 * the loop and the supervisor said DONE; otherwise failed_limit |
 * failed_request | failed_execution | failed_validation (not approved). */
#define L4H_TOOL_ROUNDS 8

/* Run one task and fill rec (zeroed by the caller) completely: status, counts,
 * every call, execution and check, error category. Returns 0 whenever a
 * record was produced (also for model failures and error_* statuses); -1 only
 * when not even a record could be made. */
int l4h_task_run(const l4h_task_env *env, const l4h_task *task, l4h_task_rec *rec, l4h_err *err);

/* `llm4hep reference SUITE [--check]`: generate data if absent (into
 * <data_dir>.partial-<pid>, renamed when complete), run the solution for every
 * step in order into the reference dir, write the manifest. The generator and
 * solution are the suite's trusted code: they run directly (argv[0] "python"
 * = cfg->sandbox.python, working directory the suite's dir), not sandboxed.
 * check: then run every step's checks (in the sandbox) on a workspace holding
 * the reference outputs. cfg->suite must be the suite (staging reads it).
 * Progress and check reports go to stdout. 0 done; -1 with err: code 1 a
 * check failed, 2 bad suite (no data and no generate), 3 a command failed. */
int l4h_reference_build(const l4h_config *cfg, const l4h_suite *suite, int check, l4h_err *err);
/* Does the manifest in the reference dir match the suite and data? 0 yes;
 * -1 (code 2) naming what differs or that the manifest is missing.
 * The manifest is <reference_dir>/manifest.json:
 *   {"format": 1, "suite": name, "suite_sha256": hex, "created_utc": "...",
 *    "data": [{"path": rel, "size": n, "sha256": hex}, ...],
 *    "reference": [{"path": rel, "size": n, "sha256": hex}, ...]}
 * (paths relative to data_dir / reference_dir, sorted). */
#define L4H_MANIFEST "manifest.json"
int l4h_reference_verify(const l4h_suite *suite, l4h_err *err);

/* `llm4hep selftest SUITE`: what a suite author runs before any model is
 * measured. Builds the reference when its manifest does not match (data
 * generated when absent), shows the reference passes every check of its own
 * suite, then runs the suite's validity cases (the `validity:` directory)
 * with the runner tests/validity/run.py of the source tree (python =
 * cfg->sandbox.python, trusted code run directly; each case itself runs in
 * the sandbox through `self_exe run`), which prints one line per case and
 * `false_accepts=N false_rejects=M of K`. filter: only cases whose name
 * contains it (NULL: all); jobs: cases side by side (>= 1).
 * 0 the reference passes its checks and no verdict is false; -1 with err:
 * code 1 a reference check failed or a verdict is false, 2 the suite has no
 * validity cases or a case is malformed, 3 infrastructure. */
int l4h_reference_selftest(const l4h_config *cfg, const l4h_suite *suite, const char *self_exe,
                           const char *filter, int jobs, l4h_err *err);

/* The step named in DIR/task.json (the record a `run` leaves), opened
 * beneath DIR with no link followed and at most 64 MiB read; NULL when there
 * is no such record or it names no step. Caller frees. */
char *l4h_manifest_recorded_step(const char *dir);

/* Are the files `validate` would judge in DIR really written by `step`'s
 * code? DIR/task.json (the record `run --out-dir` writes) names the step whose
 * task left DIR; that task's staged inputs are reference files. Returns 1 and
 * sets *why (caller frees) when DIR is the workspace of another step's task,
 * or when a file one of step's array/text checks judges is a staged input
 * left unchanged (same SHA-256 as the reference file; opened without
 * following links); 0 when neither holds or DIR has no task.json (a directory
 * laid out by hand is judged as it is); -1 with err (code 3) when the
 * reference file cannot be read. */
int l4h_manifest_foreign_outputs(const l4h_suite *suite, const l4h_step *step, const char *dir,
                                 char **why, l4h_err *err);

#endif
