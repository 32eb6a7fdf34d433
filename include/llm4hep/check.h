/* check.h — the hidden validation: a streaming .npy reader, the array
 * comparison with DESIGN.md's tolerance, text and command checks, and the
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
 * unsupported dtype, truncated data) — never a crash on a malformed file. */
int l4h_npy_open(const char *path, l4h_npy *npy, l4h_err *err);
/* Read up to n elements as double from element index `first` in C (row-major)
 * order whatever the file's order. Returns elements read, -1 on I/O error. */
int64_t l4h_npy_read(l4h_npy *npy, uint64_t first, double *out, size_t n, l4h_err *err);
/* The same in the file's storage order (Fortran files: first axis fastest).
 * Cheapest way to stream a file whose order does not matter to the caller. */
int64_t l4h_npy_read_storage(l4h_npy *npy, uint64_t first, double *out, size_t n, l4h_err *err);
/* "float", "int" or "bool" (int covers signed and unsigned): the class that
 * must agree between candidate and reference. Can't fail. */
const char *l4h_npy_class_name(l4h_npy_class cls);
/* "(1000, 46)" / "()" into out[cap]. Can't fail. */
void l4h_npy_shape_string(const l4h_npy *npy, char *out, size_t cap);
void l4h_npy_close(l4h_npy *npy);

/* ------------------------------------------------------------ comparison */

/* |c - r| <= 0.5 * 10^(floor(log10|r|) - sig_digits + 1); |r| < zero_floor:
 * |c - r| <= zero_floor; NaN matches NaN only. Can't fail. */
int l4h_value_matches(double c, double r, int sig_digits, double zero_floor);

/* Compare candidate and reference .npy files streaming (bounded memory) and
 * fill rec (passed, n_bad, max_rel_diff, report: per column mismatches, the
 * worst row side by side, a one-line summary). Always returns 0; a missing or
 * malformed file is a failed check with the reason in rec->report. */
int l4h_check_array(const char *cand_path, const char *ref_path, int sig_digits,
                    double zero_floor, l4h_check_rec *rec);

/* Run every check of the step on the final workspace (command checks in the
 * sandbox with see_reference = 1), appending to rec->checks and execs of kind
 * "check". Returns the number of failed checks, -1 when the sandbox failed. */
int l4h_checks_run(const l4h_config *cfg, const l4h_step *step, l4h_sandbox *sb,
                   const l4h_workspace *ws, l4h_task_rec *rec, l4h_err *err);

/* Set rec->error_category and rec->error_summary from the status, the last
 * traceback, tool-call errors and the check reports. Can't fail. */
void l4h_classify(l4h_task_rec *rec);

#endif
