/* agent_internal.h — what the files of src/agent share: the state of one
 * running task. Not part of the public surface (include/llm4hep/agent.h). */
#ifndef LLM4HEP_AGENT_INTERNAL_H
#define LLM4HEP_AGENT_INTERNAL_H

#include "llm4hep/agent.h"

/* Code extraction: the python block the coder meant. Returns a malloc'd code
 * string or NULL when the text holds no code; *note (static string) says
 * which block was chosen when there were several. */
char *agent_extract_code(const char *text, const char **note);

/* -------------------- the task loop's pieces (tests/unit/agent use them too) */

/* One agent's messages in order; the strings are owned by the conversation. */
typedef struct l4h_conv {
    l4h_message *msgs;
    size_t n, cap;
} l4h_conv;

/* Append a message with a copy of content (may be NULL). Can't fail. */
l4h_message *agent_conv_add(l4h_conv *c, const char *role, const char *content);
/* Append the assistant's answer (content and deep-copied tool calls). */
l4h_message *agent_conv_add_answer(l4h_conv *c, const l4h_chat_response *resp);
/* Append a "tool" message answering call id. */
l4h_message *agent_conv_add_tool(l4h_conv *c, const char *tool_call_id, const char *content);
/* Replace the content of message i (the system prompt switch). */
void agent_conv_set(l4h_conv *c, size_t i, const char *content);
void agent_conv_free(l4h_conv *c);

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
size_t agent_message_cost(const l4h_message *m);
/* Fill out (zeroed here; free with agent_conv_free) with a deep copy of c whose
 * costs sum to at most budget when that can be done: messages from keep_first
 * on, but the last, are shortened oldest first; then the largest text left
 * from keep_first on (the last included); the prompts before keep_first last.
 * No text is cut below a few hundred bytes, so a tiny budget is exceeded.
 * Tool-call arguments that must go become a JSON object saying so. Returns
 * how many texts were shortened (0: out is an exact copy). Can't fail. */
size_t agent_conv_fit(const l4h_conv *c, size_t budget, size_t keep_first, l4h_conv *out);

/* What the supervisor is told about one iteration. */
typedef struct l4h_iteration_report {
    int iteration;
    const char *code;              /* NULL: the answer held no code */
    const char *code_note;         /* agent_extract_code's note, may be NULL */
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
char *agent_review_text(const l4h_iteration_report *r);

/* {{inputs}}: every staged file (view path, size; dtype and shape for .npy),
 * or a sentence saying there are none. Caller frees. Can't fail. */
char *agent_inputs_text(const l4h_workspace *ws, const l4h_step *step);
/* {{files}}: the data directory's files, recursively, sorted, with sizes, as
 * seen at data_view. Caller frees. Can't fail (an unreadable dir is said). */
char *agent_files_text(const char *data_host, const char *data_view);

typedef struct l4h_loop {
    const l4h_task_env *env;
    const l4h_config *cfg;
    const l4h_task *task;
    const l4h_step *step;
    l4h_task_rec *rec;

    l4h_workspace ws;
    int have_ws;
    l4h_vars vars;
    char number_buf[16];
    char *inputs, *files;

    double t0, deadline;        /* monotonic; deadline 0 = none */
    int calls[2];               /* next call index: [0] supervisor, [1] coder */
    int64_t tokens;
    double campaign_usd;        /* the campaign's spending after the last call */
    int cost_unknown;           /* some call had no price */

    int accepted[2];            /* answered calls: [0] supervisor, [1] coder */

    int stopped;                /* the loop must end now */
    int limit_hit;              /* ... because of a task or campaign limit */
    int refused;                /* ... because an endpoint refused what the
                                   conversation held (failed_request) */
    int infra;                  /* 1: status below is final (error_*, interrupted) */
    l4h_status infra_status;
    char summary[512];          /* why, for infra statuses, limits and refusals */

    int code_runs;              /* how many times code ran */
    int last_failed;            /* the last code run failed */
    int approved;               /* the last review said DONE */
} l4h_loop;

/* End the loop with an infrastructure status and a one-line reason. */
void agent_loop_infra(l4h_loop *L, l4h_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 when the loop must not start anything new: the stop flag (→ interrupted),
 * the wall time, and with before_call (before a model call) the token and
 * campaign cost limits; running code costs nothing, so the code of an answer
 * that crossed them still runs. Sets the status. */
int agent_loop_must_stop(l4h_loop *L, int before_call);

/* Record one execution into the task record (copies the texts) and tell the
 * observer. Returns the record. Can't fail. */
l4h_exec_rec *agent_loop_record_exec(l4h_loop *L, int iteration, const char *kind,
                                   const char *code, const l4h_exec_result *res);

/* A timeout for the next execution: exec_timeout_s capped by what is left of
 * the task's wall time (0 = the sandbox's default). */
double agent_loop_exec_timeout(const l4h_loop *L);

/* Run the tool calls of one coder answer: append a "tool" message per call to
 * coder, an exec record of kind "tool" each, and a line each to summary.
 * Returns 0, -1 when the sandbox could not start or the loop must stop
 * (status set). */
int agent_loop_run_tools(l4h_loop *L, int iteration, const l4h_chat_response *resp,
                       l4h_conv *coder, l4h_buf *summary);

/* A regular file under some root. */
typedef struct l4h_fentry {
    char *rel;              /* path relative to the root */
    long long size;
    char sha256[65];        /* filled by the manifest only */
} l4h_fentry;

/* Every regular file under root (16 levels at most), skipping names that
 * start with '.', sorted by path; a link to a file counts as that file, a
 * link to a directory is not descended; at most max (0 = no limit;
 * *truncated says whether some were left out). Returns the count; *out is
 * freed with agent_fentries_free. An unreadable root gives 0. Can't fail. */
size_t agent_list_files(const char *root, size_t max, l4h_fentry **out, int *truncated);
void agent_fentries_free(l4h_fentry *v, size_t n);

/* Write <reference_dir>/manifest.json for the suite's data and reference as
 * they are now (agent.h). -1 with err. */
int agent_manifest_write(const l4h_suite *suite, l4h_err *err);

/* Every step's checks on a workspace holding the reference outputs, one line
 * per check on stdout. Returns the number of failed checks, -1 with err on
 * infrastructure trouble. (reference.c; also `llm4hep selftest`.) */
int agent_reference_self_check(const l4h_config *cfg, const l4h_suite *suite, l4h_err *err);

#endif
