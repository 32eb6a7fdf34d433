/* check_internal.h — shared between the files of src/check/ only. */
#ifndef LLM4HEP_CHECK_INTERNAL_H
#define LLM4HEP_CHECK_INTERNAL_H

#include <sys/types.h>

#include "llm4hep/check.h"

/* The array tolerance for one (sig_digits, zero_floor): decade boundaries,
 * half units per decade, and per binary exponent of the reference a lower
 * bound of the tolerance that lets the hot loop accept most values with one
 * table load. Decades d run from L4H_TOL_DMIN to L4H_TOL_DMAX. */
#define L4H_TOL_DMIN (-330)
#define L4H_TOL_DMAX 310
#define L4H_TOL_ND (L4H_TOL_DMAX - L4H_TOL_DMIN + 1)

typedef struct l4h_tol {
    int sig_digits;
    double zero_floor;
    double pow10[L4H_TOL_ND];    /* nearest double to 10^d */
    double half_unit[L4H_TOL_ND]; /* nearest double to 5 * 10^(d - sig_digits) */
    double fast[2048];           /* by biased exponent; -1 = always take the exact path */
} l4h_tol;

/* Fill t for sig_digits (>= 1) and zero_floor (>= 0). Can't fail. */
void check_tol_init(l4h_tol *t, int sig_digits, double zero_floor);
/* The exact rule of docs/design.md using t. Can't fail. */
int check_tol_match(const l4h_tol *t, double c, double r);

/* l4h_check_array naming the files by `label` (the suite's relative path)
 * in the report instead of the host paths. */
int check_array_labeled(const char *cand_path, const char *ref_path, const char *label,
                            int sig_digits, double zero_floor, l4h_check_rec *rec);

/* check_text naming the file by label in the report. */
int check_text_labeled(const char *path, const char *label, char *const *patterns,
                           size_t n_patterns, l4h_check_rec *rec);

/* pread exactly n bytes at off (retrying short reads and EINTR). -1 on an
 * error or end of file (errno set, or 0 at end of file). */
int check_pread(int fd, void *buf, size_t n, off_t off);

/* Start filling rec: name it "<type>:<label>" unless it has a name, and
 * mark it failed with nothing compared until the check says otherwise. */
void check_begin(l4h_check_rec *rec, const char *type, const char *label);

/* Replace rec->report with text (taken). */
void check_set_report(l4h_check_rec *rec, char *text);


/* 0 when the workspace holds only directories and regular files with one
 * link (staged inputs may have more); else -1 with why (what and where, e.g.
 * "arrays/x.npy is a symbolic link"). Never follows a link; bounded in depth
 * and entries. Call only when none of the code's processes is left. */
int check_workspace_plain(const l4h_workspace *ws, char *why, size_t why_len);

/* ------------ used only inside the room (tests/unit/check too) */

/* l4h_npy_read in the file's storage order (Fortran files: first axis fastest).
 * Cheapest way to stream a file whose order does not matter to the caller. */
int64_t check_npy_read_storage(l4h_npy *npy, uint64_t first, double *out, size_t n, l4h_err *err);

/* "float", "int" or "bool" (int covers signed and unsigned): the class that
 * must agree between candidate and reference. Can't fail. */
const char *check_npy_class_name(l4h_npy_class cls);

/* "(1000, 46)" / "()" into out[cap]. Can't fail. */
void check_npy_shape_string(const l4h_npy *npy, char *out, size_t cap);

/* |c - r| <= 0.5 * 10^(floor(log10|r|) - sig_digits + 1); |r| < zero_floor:
 * |c - r| <= zero_floor; NaN matches NaN only; equal values (also equal
 * infinities) match. floor(log10|r|) is the largest d with |r| >= the double
 * nearest 10^d, the half unit the double nearest 5 * 10^(d - sig_digits), so
 * decimal inputs behave as written (1000.5 matches 1000 at 4 digits,
 * 1000.5000001 does not). Can't fail. */
int check_value_matches(double c, double r, int sig_digits, double zero_floor);

/* A text check: the file exists and every pattern (POSIX extended regex,
 * compiled with REG_NEWLINE: ^ and $ match at line boundaries) matches. The
 * report names each pattern that did not match. Always returns 0. */
int check_text(const char *path, char *const *patterns, size_t n_patterns, l4h_check_rec *rec);

/* Judge a finished check program: it must exit 0 (no signal, no timeout)
 * and print one JSON object on stdout (else its last non-empty line must be
 * one; Python's NaN/Infinity read as null); each expect key must be present,
 * a number (true/false count as 1/0) and within its min/max. The report
 * lists every key with its value and quotes the output (or its first bytes
 * when it is not JSON) and the end of stderr on a failure. Returns 0. */
int check_command_result(const char *label, const l4h_exec_result *res,
                             const l4h_expect *expect, size_t n_expect, l4h_check_rec *rec);

#endif
