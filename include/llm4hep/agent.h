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
 *     where review i is l4h_review_text(): the code, exit status, timing,
 *     truncated stdout/stderr, the workspace's files, tool calls, and notes
 *     (which code block was taken, a missing verdict line last time).
 * Prompts are rendered with the workspace's view paths, {{inputs}} =
 * l4h_inputs_text() and {{files}} = l4h_files_text().
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

/* Code extraction: the python block the coder meant. Returns a malloc'd code
 * string or NULL when the text holds no code; *note (static string) says
 * which block was chosen when there were several. */
char *l4h_extract_code(const char *text, const char **note);

/* ------------------------------------------------ pieces, for tests too */

/* One agent's messages in order; the strings are owned by the conversation. */
typedef struct l4h_conv {
    l4h_message *msgs;
    size_t n, cap;
} l4h_conv;

/* Append a message with a copy of content (may be NULL). Can't fail. */
l4h_message *l4h_conv_add(l4h_conv *c, const char *role, const char *content);
/* Append the assistant's answer (content and deep-copied tool calls). */
l4h_message *l4h_conv_add_answer(l4h_conv *c, const l4h_chat_response *resp);
/* Append a "tool" message answering call id. */
l4h_message *l4h_conv_add_tool(l4h_conv *c, const char *tool_call_id, const char *content);
/* Replace the content of message i (the system prompt switch). */
void l4h_conv_set(l4h_conv *c, size_t i, const char *content);
void l4h_conv_free(l4h_conv *c);

/* Context. Every request is cut to its model's context before it is sent:
 * the budget is context_tokens (models_config / model_defaults, default
 * L4H_CONTEXT_TOKENS_DEFAULT) minus the completion's reserve (max_tokens, or
 * a quarter of the context up to 8192 when max_tokens is unset or null), the
 * offered tools' schemas and a margin, counted in bytes of the messages'
 * texts: a byte-level tokenizer never makes more tokens than bytes, so a
 * request within the budget fits whatever the text holds. The view sent
 * shortens earlier messages first (oldest first, to their head and tail),
 * then the largest text left, our prompts last; every cut carries the line "[... N bytes of
 * this message (left out to fit the model's context) cut here ...]". The
 * conversation itself keeps every message whole. */
#define L4H_MESSAGE_OVERHEAD 16
/* The bytes a message counts for: its texts plus L4H_MESSAGE_OVERHEAD per
 * message and per tool call. Can't fail. */
size_t l4h_message_cost(const l4h_message *m);
/* Fill out (zeroed here; free with l4h_conv_free) with a deep copy of c whose
 * costs sum to at most budget when that can be done: messages from keep_first
 * on, but the last, are shortened oldest first; then the largest text left
 * from keep_first on (the last included); the prompts before keep_first last.
 * No text is cut below a few hundred bytes, so a tiny budget is exceeded.
 * Tool-call arguments that must go become a JSON object saying so. Returns
 * how many texts were shortened (0: out is an exact copy). Can't fail. */
size_t l4h_conv_fit(const l4h_conv *c, size_t budget, size_t keep_first, l4h_conv *out);

/* What the supervisor is told about one iteration. */
typedef struct l4h_iteration_report {
    int iteration;
    const char *code;              /* NULL: the answer held no code */
    const char *code_note;         /* l4h_extract_code's note, may be NULL */
    const char *coder_text;        /* the coder's answer (shown when there is no code) */
    const l4h_exec_result *res;    /* NULL when nothing ran */
    const char *tools_text;        /* tool calls of the iteration, may be NULL */
    const char *notes;             /* further notes (e.g. missing verdict), may be NULL */
    size_t budget;                 /* bytes the review should stay within (0 = the fixed
                                      caps only): each hostile piece gets its share */
} l4h_iteration_report;

/* The user message of the supervisor's review. Every piece the model or its
 * code produced is cut to its head and tail (marked) — code 48 KiB, stdout
 * and stderr 64 KiB each, tool calls 16 KiB, an answer without code 8000
 * bytes, each file name 256 bytes, at most 100 names — or, with a budget, to
 * its share of it (code 35 %, stdout and stderr 30 % each, tools 15 %, the
 * answer 60 %, the file list 20 %); file names are shown on one line with
 * their control bytes visible. Valid UTF-8. Caller frees. Can't fail. */
char *l4h_review_text(const l4h_iteration_report *r);

/* {{inputs}}: every staged file (view path, size; dtype and shape for .npy),
 * or a sentence saying there are none. Caller frees. Can't fail. */
char *l4h_inputs_text(const l4h_workspace *ws, const l4h_step *step);
/* {{files}}: the data directory's files, recursively, sorted, with sizes, as
 * seen at data_view. Caller frees. Can't fail (an unreadable dir is said). */
char *l4h_files_text(const char *data_host, const char *data_view);

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
