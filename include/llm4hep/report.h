/* report.h — statistics over the final rows of results files and the
 * `report`, `show`, `errors`, `explain` verbs' output. */
#ifndef LLM4HEP_REPORT_H
#define LLM4HEP_REPORT_H

#include <stdio.h>

#include "llm4hep/core.h"
#include "llm4hep/store.h"

/* --------------------------------------------------------------- rescore */

/* `llm4hep rescore`: judge every final, non-infrastructure task of the
 * results file again with the checks of the suite at suite_path, on the
 * outputs the sweep kept (keep_outputs), without running any model or
 * code; record one new run (/runs kind "rescore") with the new /checks rows
 * and print one line per task (verdict, and the checks whose verdict
 * changed) and a summary to out. Tasks whose outputs were not kept, or are
 * missing or damaged, are named and not judged. Returns the exit code: 0
 * every such task judged again, 1 some could not be (named), 2 bad usage
 * or input (err), 3 infrastructure (err: the sandbox, a check program that
 * cannot judge the reference either, the file's lock, I/O). */
int l4h_rescore(const char *h5path, const char *suite_path, FILE *out, l4h_err *err);

/* ---------------------------------------------------------------- report */

typedef enum { L4H_FMT_TABLE = 0, L4H_FMT_MARKDOWN, L4H_FMT_JSON } l4h_report_format;

typedef struct l4h_report_opts {
    const char *by;          /* "model,step" (default when NULL); one or two of
                                model, supervisor, coder, step, file */
    int include_infra;       /* count error_* and interrupted in the rates */
    l4h_report_format format;
    const char *compare;     /* "A,B": compare these two models; NULL: every pair
                                when there are at most L4H_REPORT_MAX_PAIRWISE models */
    const char *csv_path;    /* also write results_summary.csv here (NULL: no) */
} l4h_report_opts;

#define L4H_REPORT_MAX_PAIRWISE 10

/* Open every file, merge their final rows (a task key final in several
 * files counts once, from the first file, with a warning on stderr), and
 * print the report in o->format to out; write the CSV when o->csv_path.
 * -1 with err: code 2 for bad flags or unreadable files, 3 when the CSV
 * cannot be written. */
int l4h_report_print(char *const *paths, size_t n_paths, const l4h_report_opts *o, FILE *out,
                     l4h_err *err);

/* `report --models`: every recorded call of every task attempt in the
 * files, grouped by alias (the model name asked for) and the version that
 * answered (the response's "model", system_fingerprint, the proxy's model-id
 * header), with call counts and the first and last task start (UTC) that saw
 * it; calls that recorded none are counted apart. Table, markdown or JSON
 * ({"models": [{alias, served_model, system_fingerprint, served_model_id,
 * calls, first_utc, last_utc}], "calls_without_version": N}) to out.
 * -1 with err (code 2) when a file cannot be read. */
int l4h_report_models(char *const *paths, size_t n_paths, l4h_report_format fmt, FILE *out,
                      l4h_err *err);

/* ------------------------------------------------------------ one task */

/* `show`: print task TASK of results file path. */
int l4h_show(const char *path, const char *task, FILE *out, l4h_err *err);

/* ------------------------------------------------------ errors, explain */

/* `errors` (rule-based): final failures (every status but success) counted
 * by error category, per model and step, plus one table per annotation
 * source found in the file. */
int l4h_errors_print(char *const *paths, size_t n_paths, l4h_report_format fmt, FILE *out,
                     l4h_err *err);

/* `errors --llm MODEL --config CONFIG`: each final failed_* task not yet
 * annotated by source "llm:MODEL" is sent (prompts/error_analysis.txt as the
 * system message, its transcript as the user message) to MODEL through the
 * config's endpoints, as position agent "annotator", call 0, with the task's
 * supervisor, coder, step and trial; the category parsed from the answer is
 * stored with l4h_store_annotate. Refuses (code 2) before any request while
 * a campaign holds the file. prompt_path NULL: the default prompt. */
int l4h_errors_llm(const char *path, const char *model, const char *config_path,
                   const char *prompt_path, FILE *out, l4h_err *err);

/* `explain`: task TASK's transcript sent to MODEL with prompts/explain.txt
 * (agent "annotator", call 1); the answer (root cause, responsible party,
 * pattern across iterations) printed to out. Nothing is stored. */
int l4h_explain(const char *path, const char *task, const char *model, const char *config_path,
                const char *prompt_path, FILE *out, l4h_err *err);

/* `explain --failed` (all = 0: every final failed_* task) or `explain --all`
 * (every final task): each task not yet annotated by source "explain:MODEL"
 * is explained as l4h_explain does, and the answer stored with
 * l4h_store_annotate beside the rule-based category (the category parsed
 * from it for a failure, none for a success); one line per task printed to
 * out. Resumable like l4h_errors_llm, refused (code 2) in the same cases;
 * -1 with the last failure's code when some task could not be asked (the
 * others are kept). */
int l4h_explain_many(const char *path, int all, const char *model, const char *config_path,
                     const char *prompt_path, FILE *out, l4h_err *err);

#endif
