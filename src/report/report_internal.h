/* report_internal.h — what the report room's files share: a text table that
 * prints aligned, as markdown or as JSON rows; the merged set of final rows
 * of several results files; the annotator's request. */
#ifndef LLM4HEP_REPORT_INTERNAL_H
#define LLM4HEP_REPORT_INTERNAL_H

#include <stdio.h>

#include "llm4hep/report.h"

/* --------------------------------------------------------------- tables */

typedef struct rtable {
    size_t ncols;
    char **head;     /* ncols names */
    char *align;     /* ncols of 'l' or 'r' */
    char **cells;    /* nrows * ncols, owned */
    size_t nrows, ncells, cap;
} rtable;

/* A table with the given header; align is one 'l'/'r' per column. */
void report_table_init(rtable *t, const char *align, ...); /* header names, NULL-terminated */
/* The same with the header names in an array of strlen(align) entries. */
void report_table_init_v(rtable *t, const char *align, const char *const *heads);
/* Append the next cell (rows fill left to right). Can't fail. */
void report_table_cell(rtable *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print as aligned text (a rule under the header) or markdown (each cell
 * through report_md_puts). */
void report_table_print(const rtable *t, l4h_report_format fmt, FILE *out);
/* Write s to out for a markdown document, so that a hostile name shows
 * literally: what markdown would read as markup ('|' '<' '>' '&' '*' '`' '~'
 * '\', and ']' before '(' '[' ':', a link) backslash-escaped, line breaks
 * and tabs as spaces. Can't fail (stdio errors are the caller's to check). */
void report_md_puts(const char *s, FILE *out);
void report_table_free(rtable *t);

/* ------------------------------------------------------------ row sets */

/* Final rows of one or more files, merged. */
typedef struct rowset {
    l4h_results **files;
    size_t n_files;
    const l4h_task_rec **rows;  /* borrowed from files */
    size_t *row_file;           /* index into files */
    size_t n_rows;
    size_t n_attempts;          /* every row of every file */
    size_t n_duplicates;        /* keys final in more than one file (first kept) */
} rowset;

/* l4h_results_open / l4h_results_task, retried (up to 10 s) while HDF5
 * reports the file locked by a checkpoint. err must not be NULL. */
int report_results_open_wait(const char *path, l4h_results **out, l4h_err *err);
int report_results_task_wait(const l4h_results *res, int64_t task_id, l4h_task_rec *out, l4h_err *err);

/* Open paths and merge their final rows. -1 with err (code 2). */
int report_rowset_open(rowset *rs, char *const *paths, size_t n, l4h_err *err);
void report_rowset_free(rowset *rs);

/* The section on verdicts that rescore runs changed (nothing when no task
 * was judged again). -1 with err when /checks does not read. */
int report_print_rescored(const rowset *rs, l4h_report_format fmt, FILE *out, l4h_err *err);
/* The same as a JSON object appended to b: {"tasks_judged_again": N,
 * "changed": [{"run","task_id","step","model","trial","old","new","checks"}]}.
 * -1 with err when /checks does not read. */
int report_rescored_json(const rowset *rs, l4h_buf *b, l4h_err *err);

/* Interned names: index of s in *v (appended when new). */
size_t report_intern(char ***v, size_t *n, const char *s);

/* A JSON string literal of s (quotes and escapes) appended to b. */
void report_json_str(l4h_buf *b, const char *s);
/* A JSON number, or null for NaN/inf. */
void report_json_num(l4h_buf *b, double x);


/* ----------------------------------------------------------- annotator */

/* Ask model (through cfg's endpoints) about task: system = the prompt file's
 * text, user = the task's transcript. call: the annotator position's call
 * index. *answer: the model's text (caller frees); usage added to *tokens,
 * cost to *cost (NaN when the model has no price). -1 with err. */
struct l4h_llm;
int report_annotator_ask(struct l4h_llm *llm, const l4h_results *res, int64_t task_id, const char *model,
                  const char *prompt, int call, char **answer, int64_t *tokens, double *cost,
                  l4h_err *err);
/* Load config_path and a client for its endpoints, checking that model
 * resolves there. -1 with err naming --llm or the config; *cfg and *llm
 * (caller frees both, also on error) are NULL or valid. */
int report_annotator_client(const char *config_path, const char *model, l4h_config **cfg,
                     struct l4h_llm **llm, l4h_err *err);
/* "$0.0123", or "cost unknown (no price for the model)" for NaN, into out. */
void report_cost_text(double usd, char *out, size_t n);
/* Read a prompt file (path NULL: $LLM4HEP_PROMPTS_DIR/default_name when set, else the source tree's prompts/default_name). */
int report_annotator_prompt(const char *path, const char *default_name, char **text, l4h_err *err);

/* ----------- used only inside the room (tests/unit/report too) */

/* 95 % Wilson score interval for k successes in n trials (z = 1.96).
 * n == 0 gives [0, 1]. Can't fail. */
void report_wilson(int64_t k, int64_t n, double z, double *lo, double *hi);

/* Unbiased pass@k from n samples with c successes (Chen et al. 2021):
 * 1 - C(n-c, k) / C(n, k). k > n or k < 1 gives NaN. */
double report_pass_at_k(int64_t n, int64_t c, int64_t k);

/* pass^k: probability that k samples drawn without replacement all succeed,
 * C(c, k) / C(n, k). k > n or k < 1 gives NaN. */
double report_pass_hat_k(int64_t n, int64_t c, int64_t k);

/* Two-sided exact McNemar (binomial, p = 1/2) p-value for discordant counts
 * b, c: min(1, 2 P[X <= min(b, c)]), X ~ Bin(b + c, 1/2); 1 when b + c = 0. */
double report_mcnemar_exact_p(int64_t b, int64_t c);

/* Holm's step-down adjustment of n p-values, in place (order kept). Out of
 * memory is reported and aborts (l4h_xcalloc), never a silent skip. */
void report_holm(double *p, size_t n);

/* The label of a task's model: the supervisor's name when it is also the
 * coder (sequential mode), else "supervisor+coder". Into out[n]. */
void report_model_label(const char *supervisor, const char *coder, char *out, size_t n);

/* The original framework's results_summary.csv, one row per final task:
 * supervisor,coder,step,success,iterations,duration,API_calls,tokens,errors,
 * error_descriptions. success True/False; duration = wall_s; tokens = prompt
 * + completion; errors = 1 when the task did not succeed, else 0;
 * error_descriptions = "status: category: summary" ("" on success).
 * Quoted as RFC 4180. Written atomically. */
int report_csv(const l4h_task_rec *const *rows, size_t n, const char *path, l4h_err *err);

/* Find a task: TASK is a task id (digits) or supervisor/coder/step/trial
 * (model names may hold '/': the last part is the trial, the one before the
 * step, the rest must be "supervisor/coder" of a pair in the file, or one
 * model name in sequential mode). The final row of that key is chosen; a
 * name that splits into two pairs of the file is ambiguous (an error naming
 * both task ids). Returns its task_id, or -1 with err (code 2) saying what
 * was expected. */
int64_t report_task_find(const l4h_results *res, const char *task, l4h_err *err);

/* A task's story in reading order, appended to out: header, prompts, every
 * supervisor and coder message, each code version with a unified diff to
 * the previous one, execution outputs, tool calls, verdicts, the checks,
 * annotations. -1 with err when the task cannot be read. */
int report_transcript(const l4h_results *res, int64_t task_id, l4h_buf *out, l4h_err *err);

/* Unified diff (3 lines of context, "@@ -a,b +c,d @@" hunks) of text a to
 * text b by lines (longest common subsequence), appended to out; nothing
 * when equal. a_name/b_name label the "---"/"+++" lines. Can't fail. */
void report_line_diff(const char *a, const char *b, const char *a_name, const char *b_name,
                   l4h_buf *out);

/* The error category named in a model's answer: a line "CATEGORY: x" wins,
 * else the earliest taxonomy name in the text (spaces or hyphens for '_'
 * accepted, any case), else "other". Returns a static string. Can't fail. */
const char *report_category_parse(const char *answer);

#endif
