/* cli_internal.h — private to the CLI: helpers shared by more than one verb's
 * file (the verbs themselves are in cli_internal.h). */
#ifndef LLM4HEP_CLI_INTERNAL_H
#define LLM4HEP_CLI_INTERNAL_H

#include <stdio.h>

#include "llm4hep/core.h"

/* Print the plan for `sweep --dry-run` to fp: counts by model and by step,
 * total tasks, endpoints used, output path, and the first tasks in dispatch
 * order (src/cli/plan_print.c). Contacts nothing. Can't fail. */
void cli_plan_print(const l4h_config *cfg, const l4h_plan *plan, FILE *fp);

/* one function per CLI verb, one file each (cmd_<verb>.c), as in
 * git's builtin/. Each takes the arguments after the verb name (argv[0] is the
 * verb), handles --help itself and returns the process exit code. */

#include <stddef.h>
#include <stdio.h>


int cli_sweep(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_validate(int argc, char **argv);
int cli_reference(int argc, char **argv);
int cli_selftest(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_show(int argc, char **argv);
int cli_errors(int argc, char **argv);
int cli_explain(int argc, char **argv);
int cli_plots(int argc, char **argv);
int cli_rescore(int argc, char **argv);

/* 1 when argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);

/* ---- option parsing (opts.c): one set of rules for every verb ----------
 * A verb lists its options in a table ending with {NULL}:
 *   CLI_SWITCH  --flag         no value; at most once
 *   CLI_ONE     --flag V       one value (also --flag=V); at most once
 *   CLI_MANY    --flag V ...   may repeat; the values accumulate in order
 * Repeating a CLI_SWITCH or CLI_ONE option is an error naming it: no flag
 * is ever silently dropped. Conflicts between options stay the verb's. */
typedef enum cli_kind { CLI_SWITCH, CLI_ONE, CLI_MANY } cli_kind;
typedef struct cli_opt {
    const char *name;    /* "--step", "-k" */
    cli_kind kind;
    const char *metavar; /* "S" in "--grace S" (error messages); NULL for a switch */
} cli_opt;
typedef struct cli_args {
    const cli_opt *opts;  /* borrowed: the table parsed against */
    const char ***vals;   /* per option, its values in order (pointers into argv) */
    size_t *n;            /* per option, how many times it was given */
    const char **pos;     /* positional arguments in order (pointers into argv) */
    size_t n_pos;
} cli_args;
/* Parse argv[1..argc) (argv[0] is the verb) against opts, accepting at most
 * max_pos positional arguments, named what_pos in messages ("CONFIG",
 * "RESULTS.h5 and TASK"). 0, or -1 after printing "llm4hep VERB: ..." naming
 * the flag or argument and what was expected (out is then freed). The
 * caller frees out with cli_args_free; values point into argv. */
int cli_parse(const char *verb, const cli_opt *opts, const char *what_pos, size_t max_pos,
              int argc, char **argv, cli_args *out);
/* The value of a CLI_ONE option; NULL when it was not given. */
const char *cli_one(const cli_args *a, const char *name);
/* 1 when the option was given (any kind). */
int cli_has(const cli_args *a, const char *name);
/* How many values a CLI_MANY option got; *vals points at them (borrowed). */
size_t cli_many(const cli_args *a, const char *name, const char *const **vals);
/* Free what cli_parse allocated; can't fail. */
void cli_args_free(cli_args *a);

/* ---- output folders (outputs.c) --------------------------------------- */
/* The check report of rec as `validate` prints it: per check "pass NAME" and
 * its summary line, or "FAIL NAME" and the whole report, indented. Appends
 * to out; can't fail. */
void cli_check_report(const l4h_task_rec *rec, l4h_buf *out);
/* Write data as rel beneath the directory dir (parents created; a link at
 * rel is replaced, never written through). 0 or -1 with err. */
int cli_write_file(const char *dir, const char *rel, const char *data, size_t len, l4h_err *err);
/* dir/logs/<step>_validation.log := text; a failure is reported on stderr
 * (the report was printed already). */
void cli_write_validation_log(const char *dir, const char *step, const char *text);
/* dir/prompt_pairs/NN_<agent>_iter<I>_prompt.txt and ..._answer.txt for every
 * call of rec, in order: the messages sent ("### role" then the content) and
 * the answer's content and tool calls. 0 or -1 with err. */
int cli_write_prompt_pairs(const char *dir, const l4h_task_rec *rec, l4h_err *err);

/* Comparison plots of step's array checks on the outputs in dir against the
 * suite's reference (compare.c): dir/plots/validation/<step>__<array>__colNN.png
 * (candidate over reference histograms and their difference, per column)
 * and <step>__<array>.csv (the histograms). The number of arrays drawn (0:
 * the step has no array check or no candidate file), or -1 with err when
 * the folder cannot take them or the script failed or refused an array. */
int cli_compare_plots(const l4h_suite *suite, const l4h_step *step, const char *dir, l4h_err *err);

/* cli_compare_plots, then a line on fp naming the folder; a failure is
 * reported on stderr and changes no verdict. */
void cli_compare_plots_report(const l4h_suite *suite, const l4h_step *step, const char *dir,
                              FILE *fp);

/* The exit code of several steps from two of theirs: infrastructure (3)
 * over a failure (1) over success (0). Can't fail. */
int cli_worse_exit(int a, int b);

/* ---- run --chain (chain.c) --------------------------------------------- */
/* The suite's latest step before step that does not stage rel itself: the
 * step whose outputs hand rel on. NULL when none. Borrowed from suite. */
const l4h_step *cli_chain_producer(const l4h_suite *suite, const l4h_step *step, const char *rel);
/* Fill stage_dir (the caller's own, empty) with step's `stage` files: each
 * from ran_dirs[producer number - 1] (the copied-out folder of the producer
 * when it ran earlier in this call, else NULL) or else from the suite's
 * reference dir; opened beneath the folder with no link followed, regular
 * files only. sources[i] (step->n_stage entries, NULL-initialised; caller
 * frees) is set to the producer's name for each file taken from the chain.
 * 0, or -1 with err: code 1 when a producer's output is missing, a link or
 * not a regular file (the model did not hand it on), 3 on I/O errors. */
int cli_chain_stage(const l4h_suite *suite, const l4h_step *step, const char *const *ran_dirs,
                    const char *stage_dir, char **sources, l4h_err *err);

#endif
