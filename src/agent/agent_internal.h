/* agent_internal.h — what the files of src/agent share: the state of one
 * running task. Not part of the public surface (include/llm4hep/agent.h). */
#ifndef LLM4HEP_AGENT_INTERNAL_H
#define LLM4HEP_AGENT_INTERNAL_H

#include "llm4hep/agent.h"

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
void l4h_loop_infra(l4h_loop *L, l4h_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 when the loop must not start anything new: the stop flag (→ interrupted),
 * the wall time, and with before_call (before a model call) the token and
 * campaign cost limits; running code costs nothing, so the code of an answer
 * that crossed them still runs. Sets the status. */
int l4h_loop_must_stop(l4h_loop *L, int before_call);

/* Record one execution into the task record (copies the texts) and tell the
 * observer. Returns the record. Can't fail. */
l4h_exec_rec *l4h_loop_record_exec(l4h_loop *L, int iteration, const char *kind,
                                   const char *code, const l4h_exec_result *res);

/* A timeout for the next execution: exec_timeout_s capped by what is left of
 * the task's wall time (0 = the sandbox's default). */
double l4h_loop_exec_timeout(const l4h_loop *L);

/* Run the tool calls of one coder answer: append a "tool" message per call to
 * coder, an exec record of kind "tool" each, and a line each to summary.
 * Returns 0, -1 when the sandbox could not start or the loop must stop
 * (status set). */
int l4h_loop_run_tools(l4h_loop *L, int iteration, const l4h_chat_response *resp,
                       l4h_conv *coder, l4h_buf *summary);

/* Resolve relative script paths of a suite command (argv elements that name
 * an existing file relative to suite_dir become absolute). In place. */

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
 * freed with l4h_fentries_free. An unreadable root gives 0. Can't fail. */
size_t l4h_list_files(const char *root, size_t max, l4h_fentry **out, int *truncated);
void l4h_fentries_free(l4h_fentry *v, size_t n);

/* Write <reference_dir>/manifest.json for the suite's data and reference as
 * they are now (agent.h). -1 with err. */
int l4h_manifest_write(const l4h_suite *suite, l4h_err *err);

/* Every step's checks on a workspace holding the reference outputs, one line
 * per check on stdout. Returns the number of failed checks, -1 with err on
 * infrastructure trouble. (reference.c; also `llm4hep selftest`.) */
int l4h_reference_self_check(const l4h_config *cfg, const l4h_suite *suite, l4h_err *err);

#endif
