/* store.h — the results: a journal (the truth: one self-checking, fsync'd
 * record per finished task, run or annotation) and the HDF5 file of
 * docs/design.md's contract, brought up to date from the journal at checkpoints
 * and rebuilt from it when it does not open. One writer (rank 0). Between
 * checkpoints the HDF5 file is closed, so readers see a complete file. */
#ifndef LLM4HEP_STORE_H
#define LLM4HEP_STORE_H

#include "llm4hep/core.h"

#define L4H_FORMAT_VERSION 2

/* One `sweep` invocation (a /runs row). Strings owned by the struct. */
typedef struct l4h_run_info {
    int run;                     /* 1, 2, ... assigned by the store */
    double started_utc, ended_utc;
    int exit_code;               /* -1 while running */
    char slurm_job_id[32];
    int slurm_restart_count;
    int ranks;
    char *hosts;                 /* comma-separated */
    char *llm4hep_version, *git_commit;
    char *config_text;
    char *python_packages;       /* "numpy==1.24.2\nh5py==..." */
    const l4h_inputs *inputs;    /* borrowed: the run's input snapshot (/inputs), or NULL */
} l4h_run_info;

/* A post-hoc label (an /annotations row). */
typedef struct l4h_annotation {
    int64_t task_id;
    char *source;                /* e.g. "llm:openai/gpt-5" */
    char error_category[24];
    char *text;
} l4h_annotation;

typedef struct l4h_store l4h_store;

/* What the store knows about one task key (for resume). */
typedef struct l4h_key_state {
    int attempts;                /* rows so far */
    int infra_attempts;          /* rows with an error_* status (not interrupted) */
    l4h_status last_status;
    double measured_wall_s;      /* wall time of the newest model outcome (not error_* or
                                    interrupted), 0 when none: what the scheduler learns from */
} l4h_key_state;

/* Open the results of a campaign for writing: output path from cfg, journal
 * beside it (<output>.journal), a lock so one campaign holds it. Reads the
 * journal (a torn last record is dropped and reported), rebuilds the HDF5 file
 * when it does not open or lags. L4H_STORE_FRESH: start over (old files
 * renamed aside with a timestamp, never deleted). The meaning of this run's
 * tasks — max_iterations, limits, each model's options, the SHA-256 of every
 * input file of the snapshot `inputs` (may be NULL) but the plan lists
 * (config, models files) — is compared with the last run's (or the journal
 * header's): a change while tasks are finished is refused (code 2, the
 * message names each changed file, model and option) unless
 * L4H_STORE_ACCEPT_CHANGED (then a warning on stderr); added models, steps,
 * trials or files extend the plan (a note on stderr). */
enum {
    L4H_STORE_FRESH = 1,            /* start over (old files moved aside) */
    L4H_STORE_ACCEPT_CHANGED = 2    /* go on although finished tasks' inputs changed */
};
int l4h_store_open(const l4h_config *cfg, const l4h_inputs *inputs, int flags, l4h_store **out,
                   l4h_err *err);
/* The key's state; returns 0 and zeroes *st when the key was never run. */
int l4h_store_key_state(const l4h_store *st, const char *key, l4h_key_state *out);
/* Begin a /runs row (info->run is set). */
int l4h_store_begin_run(l4h_store *st, l4h_run_info *info, l4h_err *err);
/* Journal a finished task attempt: assigns rec->task_id and rec->attempt,
 * marks it final (and the key's earlier rows not final), fsyncs. The HDF5 file
 * follows at the next checkpoint. */
int l4h_store_add(l4h_store *st, l4h_task_rec *rec, l4h_err *err);
/* Bring the HDF5 file up to date (open, append, close); cheap when nothing
 * is pending. Call it every few tasks or seconds and right after
 * begin_run. While a reader (h5py, report) holds the file open the update
 * is deferred, up to 60 s; then (and at close) a copy is updated and
 * renamed over the file, so readers never block the campaign. */
int l4h_store_checkpoint(l4h_store *st, l4h_err *err);
/* End the run row with the exit code, checkpoint, release the lock, free. */
int l4h_store_close(l4h_store *st, int exit_code, l4h_err *err);

/* Add an annotation to a finished file (journal + HDF5). Refuses (code 2)
 * while a campaign holds the file. */
int l4h_store_annotate(const char *h5path, const l4h_annotation *a, l4h_err *err);

/* A `rescore` run: the hidden checks judged again on kept outputs, without
 * running any model or code. Its /runs row (kind "rescore") and its /checks
 * rows (run = its number) come from one journal record written at the end,
 * so a rescore killed half way leaves nothing behind. */
typedef struct l4h_rescore_writer l4h_rescore_writer;
/* Take the file's lock for a rescore (refused, code 2, while a campaign or
 * another writer holds it) and bring the file up to date (rebuilt from the
 * journal when it was written before the /checks run column). NULL with
 * err. */
l4h_rescore_writer *l4h_store_rescore_begin(const char *h5path, l4h_err *err);
/* Journal the rescore run — info (started_utc, hosts, versions, and
 * config_text: what was judged with) and per task its task_id and the new
 * checks (other members ignored; the checks' run is set and their reports
 * redacted in place) — update the file, release the lock and free w (also
 * on failure). info->run gets the run's number. 0 or -1. */
int l4h_store_rescore_end(l4h_rescore_writer *w, l4h_run_info *info, l4h_task_rec *tasks,
                          size_t n_tasks, l4h_err *err);
/* Release the lock and free w without journaling anything. NULL is fine. */
void l4h_store_rescore_abandon(l4h_rescore_writer *w);

/* ---------------------------------------------------------------- reading */

typedef struct l4h_results {
    char *path;
    char *campaign;
    l4h_task_rec *tasks;         /* every /tasks row; calls/execs/checks not loaded */
    size_t n_tasks;
    l4h_annotation *annotations;
    size_t n_annotations;
    int *run_series;             /* [run - 1]: the run's input_series (/runs; 1 in older files,
                                    0 for a rescore run) */
    size_t n_runs;
} l4h_results;

/* Read /tasks (and /annotations) of a results file, without the text heap
 * beyond error summaries. Fast: report on 10,000 tasks in well under 1 s. */
int l4h_results_open(const char *h5path, l4h_results **out, l4h_err *err);
/* Load one task's calls, execs and checks with their texts into a copy
 * (free with l4h_rec_clear). In records read back every text is non-NULL
 * ("" when absent), in tasks[] too; task_id n is tasks[n - 1]. Both
 * functions wait (up to 10 s) for a checkpoint that holds the file. */
int l4h_results_task(const l4h_results *res, int64_t task_id, l4h_task_rec *out, l4h_err *err);
void l4h_results_free(l4h_results *res);

/* One /checks row of a task that more than one run judged. */
typedef struct l4h_check_verdict {
    int64_t task_id;
    int run;                     /* the run that judged it */
    char check[129];
    int passed;
} l4h_check_verdict;
/* The /checks rows of every task judged by more than one run (a sweep and
 * later `rescore` runs), in file order; *out NULL and *n 0 when there are
 * none. Reads the task_id and run columns whole, the rest only for those
 * tasks. Caller frees *out. 0 or -1 with err. */
int l4h_results_check_runs(const l4h_results *res, l4h_check_verdict **out, size_t *n,
                           l4h_err *err);

/* ------------------------------------------------ operators and tests
 * (docs/results-format.md describes the journal and the file exactly) */

/* Number of task records journaled so far (the last task_id). */
int64_t l4h_store_n_tasks(const l4h_store *st);

/* Journal record types. */
enum {
    L4H_J_HEADER = 'H',
    L4H_J_RUN_BEGIN = 'R',
    L4H_J_RUN_END = 'E',
    L4H_J_TASK = 'T',
    L4H_J_ANNOTATION = 'A',
    L4H_J_RESCORE = 'C'          /* a rescore run with its checks */
};

/* Called for each valid journal record: its type, JSON payload (NUL-terminated,
 * len bytes; a record stored compressed is given decompressed: len is not
 * its size in the file), its byte offset in the journal and its 0-based number counted
 * from where the read began. Return 0
 * to go on, -1 (with err set) to stop the scan with that error. */
typedef int (*l4h_journal_fn)(int type, const char *payload, size_t len, int64_t offset,
                              int64_t index, void *ctx, l4h_err *err);

/* Read the journal at path from byte `from` (0, or the start of a record).
 * *end: the byte just after the last valid record; *dropped: bytes of a torn
 * tail (an incomplete or bad last record) that were ignored. A bad record
 * followed by a valid one is corruption: -1 (code 3) naming the record and
 * byte offset. A missing file reads as empty. end/dropped may be NULL. */
int l4h_journal_read(const char *path, int64_t from, l4h_journal_fn fn, void *ctx,
                     int64_t *end, int64_t *dropped, l4h_err *err);
/* Append one record (header + payload + newline) to fd and fsync it; a task
 * record of 1 KiB or more is stored deflated when that is smaller (header
 * byte 5 = 1; docs/results-format.md), so the bytes written are not always
 * 17 + len: lseek(fd, 0, SEEK_END) after it gives the journal's end. On a
 * failed write the file is truncated back to where it was. -1 (code 3). */
int l4h_journal_append(int fd, int type, const char *payload, size_t len, l4h_err *err);

#endif
