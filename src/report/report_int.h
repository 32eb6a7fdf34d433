/* report_int.h — what the report room's files share: a text table that
 * prints aligned, as markdown or as JSON rows; the merged set of final rows
 * of several results files; the annotator's request. */
#ifndef LLM4HEP_REPORT_INT_H
#define LLM4HEP_REPORT_INT_H

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
void rt_init(rtable *t, const char *align, ...); /* header names, NULL-terminated */
/* The same with the header names in an array of strlen(align) entries. */
void rt_init_v(rtable *t, const char *align, const char *const *heads);
/* Append the next cell (rows fill left to right). Can't fail. */
void rt_cell(rtable *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print as aligned text (a rule under the header) or markdown (each cell
 * through report_md_puts). */
void rt_print(const rtable *t, l4h_report_format fmt, FILE *out);
/* Write s to out for a markdown document, so that a hostile name shows
 * literally: what markdown would read as markup ('|' '<' '>' '&' '*' '`' '~'
 * '\', and ']' before '(' '[' ':', a link) backslash-escaped, line breaks
 * and tabs as spaces. Can't fail (stdio errors are the caller's to check). */
void report_md_puts(const char *s, FILE *out);
void rt_free(rtable *t);

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
int results_open_wait(const char *path, l4h_results **out, l4h_err *err);
int results_task_wait(const l4h_results *res, int64_t task_id, l4h_task_rec *out, l4h_err *err);

/* Open paths and merge their final rows. -1 with err (code 2). */
int rowset_open(rowset *rs, char *const *paths, size_t n, l4h_err *err);
void rowset_free(rowset *rs);

/* The section on verdicts that rescore runs changed (nothing when no task
 * was judged again). -1 with err when /checks does not read. */
int report_print_rescored(const rowset *rs, l4h_report_format fmt, FILE *out, l4h_err *err);
/* The same as a JSON object appended to b: {"tasks_judged_again": N,
 * "changed": [{"run","task_id","step","model","trial","old","new","checks"}]}.
 * -1 with err when /checks does not read. */
int report_rescored_json(const rowset *rs, l4h_buf *b, l4h_err *err);

/* Interned names: index of s in *v (appended when new). */
size_t intern(char ***v, size_t *n, const char *s);

/* A JSON string literal of s (quotes and escapes) appended to b. */
void json_str(l4h_buf *b, const char *s);
/* A JSON number, or null for NaN/inf. */
void json_num(l4h_buf *b, double x);


/* ----------------------------------------------------------- annotator */

/* Ask model (through cfg's endpoints) about task: system = the prompt file's
 * text, user = the task's transcript. call: the annotator position's call
 * index. *answer: the model's text (caller frees); usage added to *tokens,
 * cost to *cost (NaN when the model has no price). -1 with err. */
struct l4h_llm;
int annotator_ask(struct l4h_llm *llm, const l4h_results *res, int64_t task_id, const char *model,
                  const char *prompt, int call, char **answer, int64_t *tokens, double *cost,
                  l4h_err *err);
/* Load config_path and a client for its endpoints, checking that model
 * resolves there. -1 with err naming --llm or the config; *cfg and *llm
 * (caller frees both, also on error) are NULL or valid. */
int annotator_client(const char *config_path, const char *model, l4h_config **cfg,
                     struct l4h_llm **llm, l4h_err *err);
/* "$0.0123", or "cost unknown (no price for the model)" for NaN, into out. */
void cost_text(double usd, char *out, size_t n);
/* Read a prompt file (default name under l4h_prompt_path when path NULL). */
int annotator_prompt(const char *path, const char *default_name, char **text, l4h_err *err);

#endif
