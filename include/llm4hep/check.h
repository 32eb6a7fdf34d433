/* check.h — the hidden validation: a streaming .npy reader, the array
 * comparison with docs/design.md's tolerance, text and command checks, and the
 * rule-based error classifier. Models never see any of it. */
#ifndef LLM4HEP_CHECK_H
#define LLM4HEP_CHECK_H

#include <stdio.h>
#include "llm4hep/core.h"
#include "llm4hep/exec.h"

/* ----------------------------------------------------------------- .npy */

typedef enum { L4H_NPY_FLOAT = 0, L4H_NPY_INT, L4H_NPY_UINT, L4H_NPY_BOOL } l4h_npy_class;

typedef struct l4h_npy {
    FILE *fp;
    int version;            /* 1, 2 or 3 */
    l4h_npy_class cls;
    int itemsize;           /* bytes: 1,2,4,8 (float16 = 2) */
    int big_endian;
    int fortran_order;
    int ndim;
    uint64_t shape[32];
    uint64_t count;         /* number of elements */
    long data_offset;
    char descr[16];         /* e.g. "<f8" */
    void *scratch;          /* reader's private buffer (Fortran-order reads); freed by close */
    size_t scratch_cap;
} l4h_npy;

/* Open and parse the header. -1 with the reason (not a .npy, bad header,
 * unsupported dtype, truncated data; a FIFO, device or directory is refused
 * without blocking) — never a crash on a malformed file. The file stays open
 * until l4h_npy_close; *npy is zeroed on failure. */
int l4h_npy_open(const char *path, l4h_npy *npy, l4h_err *err);
/* Read up to n elements as double from element index `first` in C (row-major)
 * order whatever the file's order. Returns elements read (fewer at the end
 * of the array, 0 from `count` on), -1 on I/O error. Random access is fine;
 * Fortran files are cheapest read in blocks of whole rows. */
int64_t l4h_npy_read(l4h_npy *npy, uint64_t first, double *out, size_t n, l4h_err *err);
void l4h_npy_close(l4h_npy *npy);

/* ------------------------------------------------------------ comparison */

/* Compare candidate and reference .npy files streaming (bounded memory) and
 * fill rec (passed, n_bad, max_rel_diff, report: per column mismatches, the
 * worst row side by side, a one-line summary). Always returns 0; a missing or
 * malformed file is a failed check with the reason in rec->report.
 *
 * Every check function here fills rec the same way: rec->check is set to
 * "<type>:<label>" when it is NULL (else kept); rec->report (an old one is
 * freed) starts with a one-line summary "PASS <label>: ..." or
 * "FAIL <label>: ..."; n_bad counts the failed values / patterns /
 * expectations, -1 when nothing could be compared (missing or unreadable
 * file, shape or dtype-class mismatch, no JSON); max_rel_diff (arrays only,
 * else NaN) is the largest |c - r| / max(|r|, zero_floor) over all values.
 * Phrases the classifier relies on:
 *   "the output was not written"        the file the check reads is missing
 *   a line starting "data quality:"      NaN- or zero-filled output (in at
 *                                        least half the rows of a column)
 *                                        where the reference has numbers */
int l4h_check_array(const char *cand_path, const char *ref_path, int sig_digits,
                    double zero_floor, l4h_check_rec *rec);

/* Run every check of the step on the final workspace (command checks in the
 * sandbox with see_reference = 1), appending to rec->checks and execs of kind
 * "check". Returns the number of failed checks, -1 when the sandbox failed.
 *
 * Array and text checks read ws->host/<file> in this process (a file that
 * resolves outside the workspace, e.g. a symlink into the reference, fails)
 * against ws->ref_host/<file> (cfg->suite->reference_dir when ref_host is
 * NULL). Command checks render `run` with ws's view paths ({{workspace}},
 * {{data_dir}}, {{reference_dir}}, {{step}}, {{step_number}}) and run in sb;
 * their exec record has kind "check", iteration = rec->iterations, code = the
 * rendered command line. sb may be NULL when the step has no command check
 * (a command check then fails and the call returns -1). When the sandbox
 * cannot start a program (l4h_sandbox_run's -1), or a check program exits
 * with status 3 (its "I cannot judge") and exits 3 again when run on the
 * reference outputs in place of the workspace (reference unreadable, a suite
 * bug — not the model's fault), that check fails, the remaining checks still
 * run, and the call returns -1 with err set (code 3, naming the check): the
 * task is error_sandbox. An exit 3 the reference does not reproduce is the
 * model's failure. Nothing else the code left can make it return -1.
 *
 * Command checks run as the suite's programs (l4h_exec_spec.suite_program:
 * isolated interpreter, HOME and cwd outside the workspace, the workspace
 * read-only) and only on a workspace of directories and regular files: a
 * symbolic link anywhere in it, a FIFO, socket, device or hard link fails
 * every command check before any check program runs ("not run: ..."). Each
 * check program's timeout is limits.exec_timeout_s. */
int l4h_checks_run(const l4h_config *cfg, const l4h_step *step, l4h_sandbox *sb,
                   const l4h_workspace *ws, l4h_task_rec *rec, l4h_err *err);
/* As l4h_checks_run, with every check program's timeout also cut to what is
 * left until deadline (l4h_monotonic time; 0 = no deadline), at least 1 s:
 * the checks of a task obey its wall limit. */
int l4h_checks_run_until(const l4h_config *cfg, const l4h_step *step, l4h_sandbox *sb,
                         const l4h_workspace *ws, double deadline, l4h_task_rec *rec, l4h_err *err);

/* Set rec->error_category and rec->error_summary from the status, the last
 * traceback, tool-call errors and the check reports. Can't fail.
 *
 * What it reads (the agent records these):
 *   execs of kind "code"   the last one's exit_code / timed_out and the
 *                          Python traceback at the end of its stderr_text
 *   execs of kind "tool"   a tool call the agent refused or that failed: its
 *                          stderr_text starts with "tool error:" (malformed
 *                          JSON arguments, unknown tool name, arguments not
 *                          matching the schema, the tool program failing);
 *                          exit_code 2 by convention
 *   calls                  the last call's http_status and response (api_error)
 *   checks                 the reports' phrases documented at l4h_check_array
 * Rules, first match wins:
 *   success                                        -> "" (summary freed, NULL)
 *   error_api                                      -> api_error
 *   failed_request (the model's: an endpoint refused what its conversation
 *   held; the summary says which request and why)  -> api_error
 *   error_sandbox, error_internal, interrupted     -> other (what happened)
 *   the last code failed with FileNotFoundError / "No such file or directory"
 *                                                  -> file_not_found
 *   the last code failed with KeyError, or a message naming a missing
 *   branch / dataset / field / column / object     -> wrong_branch
 *   the last tool exec is a "tool error:", or the tool program itself
 *   rejected the arguments (exit code 2, the usage-error convention)
 *                                                  -> function_calling
 *   a failed check's report has "data quality:"    -> data_quality
 *   the last code failed otherwise (exception, time or memory limit)
 *                                                  -> other
 *   failed_no_code                                 -> other
 *   every failed check is an output that "was not written"
 *                                                  -> file_not_found
 *   code ran cleanly and a check failed            -> semantic
 *   anything else                                  -> other
 * error_summary is one line (<= 300 bytes), e.g. "KeyError: 'ph_pt' (iter 2,
 * line 14)" or the first failed check's summary line. */
void l4h_classify(l4h_task_rec *rec);

/* ------------------------------------------------------ kept outputs
 * keep_outputs (docs/notes/rescore.md): what a sweep's checks judged, kept
 * beside the results file so that `rescore` can judge it again. */

/* "<results_path>.outputs": the directory of a results file's kept outputs.
 * Caller frees. Can't fail. */
char *l4h_outputs_dir(const char *results_path);
/* Keep the files the step's checks judge (each array or text check's file;
 * for a command check every regular file the code left but the staged
 * inputs, .home/ and generated_code/) from the finished workspace ws into
 * dir/<key>-a<attempt>/ as <path>.gz with a MANIFEST.json (path, size,
 * SHA-256). Read beneath the workspace fd with no link followed; links,
 * FIFOs and devices are left out. Written under a temporary name and
 * renamed into place whole (replacing what a killed run left under that
 * name). Nothing is kept when the files together exceed cap_bytes. note
 * (size note_n) gets "kept N files, B bytes" or "not kept: WHY" (naming the
 * config key to raise). Can't fail otherwise. */
void l4h_outputs_keep(const l4h_workspace *ws, const l4h_step *step, const char *dir,
                      const char *key, int attempt, int64_t cap_bytes, char *note, size_t note_n);
/* Remove what killed task children left in dir (.tmp-* and .old-*
 * directories). Call only while holding the campaign's lock. Returns how
 * many were removed. Can't fail. */
size_t l4h_outputs_remove_partial(const char *dir);
/* Decompress the kept outputs of (key, attempt) from dir into the empty
 * directory fd dst (files 0444, directories 0755), verifying each against
 * the manifest: a kept file that is a link, not regular, larger than
 * recorded, more than cap_bytes in all, or whose SHA-256 differs is
 * refused. 0, or -1 with err: code 1 when the kept outputs are missing or
 * damaged (the message names the file and why), 3 on I/O errors. */
int l4h_outputs_restore(const char *dir, const char *key, int attempt, int dst, int64_t cap_bytes,
                        l4h_err *err);

#endif
