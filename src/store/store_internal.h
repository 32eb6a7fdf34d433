/* store_internal.h — private to src/store: the HDF5 tables' row structs and
 * column descriptors, the heap helpers, the key map and secret redaction. */
#ifndef LLM4HEP_STORE_INTERNAL_H
#define LLM4HEP_STORE_INTERNAL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "llm4hep/store.h"

/* ------------------------------------------------------------- tables */

typedef enum { COL_I64, COL_I32, COL_I8, COL_F64, COL_STR } col_kind;

typedef struct col_desc {
    const char *name;
    col_kind kind;
    size_t size;   /* bytes (COL_STR: the field width) */
    size_t offset; /* in the row struct */
} col_desc;

typedef struct table_desc {
    const char *name; /* dataset name under / */
    const col_desc *cols;
    size_t ncols;
    size_t row_size;
    hsize_t chunk_rows;
} table_desc;

typedef struct run_row {
    int32_t run;
    double started_utc, ended_utc;
    int32_t exit_code;
    char slurm_job_id[32];
    int32_t slurm_restart_count, ranks;
    char hosts[256];
    char llm4hep_version[32];
    char git_commit[48];
    int64_t config_off, config_len, python_packages_off, python_packages_len;
    char inputs_sha256[64];
    int32_t input_series;
    char kind[16]; /* "sweep" or "rescore"; "" in files written before it: sweep */
} run_row;

/* One file of a run's input snapshot (/inputs). */
typedef struct input_row {
    int32_t run;
    char sha256[64];
    int64_t size;
    int64_t path_off, path_len, content_off, content_len;
} input_row;

/* The rows of the record's tables, from core.h's field lists: a member
 * per column, named after the record's member (a TEXT field m is m_off,
 * m_len; a SUMMARY field m is m[width], m_off, m_len), then the columns
 * that are no field of the record. */
#define STORE_ROW_MEMBER(kind, member, width, column) STORE_ROW_##kind(member, width)
#define STORE_ROW_I32(m, w) int32_t m;
#define STORE_ROW_I64(m, w) int64_t m;
#define STORE_ROW_F64(m, w) double m;
#define STORE_ROW_FLAG(m, w) int8_t m;
#define STORE_ROW_NAME(m, w) char m[w];
#define STORE_ROW_KEY(m, w) char m[w];
#define STORE_ROW_STR(m, w) char m[w];
#define STORE_ROW_TEXT(m, w) int64_t m##_off, m##_len;
#define STORE_ROW_SUMMARY(m, w) char m[w]; int64_t m##_off, m##_len;
#define STORE_ROW_STATUS(m, w) char m[w];

typedef struct task_row {
    L4H_TASK_FIELDS(STORE_ROW_MEMBER)
    int64_t calls_row; /* this task's rows in /calls, /execs, /checks */
    int32_t n_calls;
    int64_t execs_row;
    int32_t n_execs;
    int64_t checks_row;
    int32_t n_checks;
} task_row;

typedef struct call_row {
    int64_t task_id;
    L4H_CALL_FIELDS(STORE_ROW_MEMBER)
} call_row;

typedef struct exec_row {
    int64_t task_id;
    L4H_EXEC_FIELDS(STORE_ROW_MEMBER)
} exec_row;

typedef struct check_row {
    int64_t task_id;
    L4H_CHECK_FIELDS(STORE_ROW_MEMBER)
} check_row;

/* A record's fields to and from its rows (rows.c). The heap is the
 * caller's, and column names the text's column ("request") so the caller
 * may store one column its own way: put stores text s (NULL or "" is no text) and sets its ref
 * ((0, 0) for none), can't fail; get reads the text at a ref into a
 * malloc'd string ("" for (0, 0)), -1 with err when it cannot; fn is
 * called with each text ref of a row, table and column naming it
 * ("calls", "request"), and stops the walk by returning non-zero. */
typedef void (*store_put_text)(void *ctx, const char *column, const char *s, int64_t *off,
                               int64_t *len);
typedef int (*store_get_text)(void *ctx, const char *column, int64_t off, int64_t len, char **out,
                              l4h_err *err);
typedef int (*store_ref_fn)(void *ctx, const char *table, const char *column, int64_t off,
                            int64_t len, l4h_err *err);

/* Fill the columns of d that are fields of s: fixed texts cut with "...",
 * flags 0/1, a status by its name, each TEXT through put. A SUMMARY gets
 * its inline text only: its ref (error_summary_off/len) and the columns
 * that are no field are left to the caller. Can't fail. */
void store_task_fill(task_row *d, const l4h_task_rec *s, store_put_text put, void *ctx);
void store_call_fill(call_row *d, const l4h_call_rec *s, store_put_text put, void *ctx);
void store_exec_fill(exec_row *d, const l4h_exec_rec *s, store_put_text put, void *ctx);
void store_check_fill(check_row *d, const l4h_check_rec *s, store_put_text put, void *ctx);
/* Fill d's fields from the row s (d zeroed; strings malloc'd, d's to free
 * with l4h_rec_clear even on error): an unknown status reads as
 * error_internal, a SUMMARY cut inline is read in full through get, each
 * TEXT through get. 0, or -1 with err from get. */
int store_task_read(l4h_task_rec *d, const task_row *s, store_get_text get, void *ctx,
                    l4h_err *err);
int store_call_read(l4h_call_rec *d, const call_row *s, store_get_text get, void *ctx,
                    l4h_err *err);
int store_exec_read(l4h_exec_rec *d, const exec_row *s, store_get_text get, void *ctx,
                    l4h_err *err);
int store_check_read(l4h_check_rec *d, const check_row *s, store_get_text get, void *ctx,
                     l4h_err *err);
/* Call fn with each text ref of the row, in column order. 0, or the first
 * non-zero fn returned (-1 by convention, err set by fn). */
int store_call_refs(const call_row *s, store_ref_fn fn, void *ctx, l4h_err *err);
int store_exec_refs(const exec_row *s, store_ref_fn fn, void *ctx, l4h_err *err);
int store_check_refs(const check_row *s, store_ref_fn fn, void *ctx, l4h_err *err);

typedef struct annotation_row {
    int64_t task_id;
    char source[128];
    char error_category[24];
    double created_utc;
    int64_t text_off, text_len;
} annotation_row;

extern const table_desc l4h_t_runs, l4h_t_tasks, l4h_t_calls, l4h_t_execs, l4h_t_checks,
    l4h_t_annotations;
/* /inputs: each run's input snapshot. Not one of the six (the sync checks
 * count /runs rows; a run's /inputs rows are written with its /runs row). */
extern const table_desc l4h_t_inputs;
/* The six tables in file order. */
extern const table_desc *const l4h_tables[6];

/* Rows [first, first+n) of table t, only the columns named in cols (the
 * others in rows are left as they are; unknown names are skipped), into row
 * structs. 0, or -1 with err (code 2 for rows the table does not have). */
int store_table_read_cols(hid_t file, const table_desc *t, const char *const *cols,
                          size_t ncols, int64_t first, size_t n, void *rows, l4h_err *err);
/* Memory type of a table's rows (caller closes). */
hid_t store_table_memtype(const table_desc *t);
/* Create the table as an empty chunked, extendible, deflated dataset. */
int store_table_create(hid_t file, const table_desc *t, l4h_err *err);
/* Rows in the table; -1 with err when it cannot be read. */
int64_t store_table_rows(hid_t file, const char *name, l4h_err *err);
/* Append n rows (row structs). */
int store_table_append(hid_t file, const table_desc *t, const void *rows, size_t n, l4h_err *err);
/* Read rows [first, first+n) into rows. */
int store_table_read(hid_t file, const table_desc *t, int64_t first, size_t n, void *rows,
                   l4h_err *err);
/* Overwrite the named columns (a subset, in cols) of one row from the row
 * struct src. */
int store_table_update(hid_t file, const table_desc *t, const char *const *cols, size_t ncols,
                     int64_t row, const void *src, l4h_err *err);

/* Copy s into a fixed field of width w: NUL padded; cut on a UTF-8 boundary
 * and ended with "..." when it does not fit. NULL is "". Can't fail. */
void store_fix_set(char *dst, size_t w, const char *s);
/* A NUL-terminated malloc'd copy of a fixed field of width w. */
char *store_fix_get(const char *src, size_t w);
/* The same into a char array of size n (n > 0). */
void store_fix_copy(char *dst, size_t n, const char *src, size_t w);

/* ------------------------------------------------------------ heap */

/* Create /text (empty). */
int store_heap_create(hid_t file, l4h_err *err);
/* Bytes in /text. */
int64_t store_heap_len(hid_t file, l4h_err *err);
/* Append n bytes; *at gets the offset of the first. */
int store_heap_append(hid_t file, const void *data, size_t n, l4h_err *err);
/* The longest one text ref may be (a damaged file's larger length is an
 * error, not an allocation of its size). Texts are captured outputs, code
 * and bodies, each far smaller. */
#define L4H_TEXT_MAX ((uint64_t)1 << 30)

/* Read [off, off+len) into a malloc'd NUL-terminated string (*out). A range
 * outside the heap (checked without overflow) or longer than L4H_TEXT_MAX
 * is a code-2 "damaged file" error naming it. */
int store_heap_read(hid_t hdset, int64_t off, int64_t len, char **out, l4h_err *err);

/* ------------------------------------------------------ HDF5 helpers */

/* Turn off HDF5's automatic error printing (we report errors ourselves). */
void store_h5_quiet(void);
/* The innermost message of HDF5's error stack, into buf. */
void store_h5_errmsg(char *buf, size_t n);
/* Root attributes. */
int store_attr_set_str(hid_t obj, const char *name, const char *value, l4h_err *err);
int store_attr_set_i64(hid_t obj, const char *name, int64_t value, l4h_err *err);
/* A root attribute holding the n strings v (a 1-D array of UTF-8 strings),
 * replacing one of that name. -1 with err (code 3). */
int store_attr_set_strv(hid_t obj, const char *name, const char *const *v, size_t n,
                        l4h_err *err);
/* -1 when absent or unreadable (no err message; callers decide). */
int store_attr_get_str(hid_t obj, const char *name, char **out);
int store_attr_get_i64(hid_t obj, const char *name, int64_t *out);

/* --------------------------------------------------------- key map */

typedef struct key_entry {
    char key[17];
    int attempts, infra_attempts;
    l4h_status last_status;
    double measured_wall_s; /* wall time of the newest attempt that measured the task
                               (not error_* or interrupted); 0 = none */
    int64_t last_task_id;  /* newest T record in the journal */
    int64_t file_task_id;  /* newest row already in the HDF5 file (0 = none) */
} key_entry;

typedef struct key_map {
    key_entry *e;
    size_t cap, n; /* open addressing; cap is a power of two */
} key_map;

/* The entry for key (created zeroed when absent and create != 0; else NULL). */
key_entry *store_keymap_get(key_map *m, const char *key, int create);
void store_keymap_free(key_map *m);
/* Count one more attempt of the key (status, wall time, task id). Can't fail. */
void store_key_note(key_entry *k, l4h_status status, double wall_s, int64_t task_id);

/* ------------------------------------------------------- redaction */

/* Defence in depth: the process's secrets (core.h, l4h_secrets_*) replaced
 * in every text of a task record, whatever a producer let through. What a
 * model wrote holds none (the llm client refuses such an answer), so this
 * never changes an answer, a tool call or code. Returns the number replaced. */
size_t store_redact_rec(l4h_task_rec *rec);

/* ------------------------------------------------------ task scan */

/* What the store's state needs of a task record. */
typedef struct task_scan {
    int64_t task_id;
    char key[17];
    char status[32]; /* its name as written */
    double wall_s;   /* 0 when absent */
    size_t n_calls, n_execs, n_checks;
} task_scan;

/* Read those members of a task record's JSON (len bytes) without parsing
 * the rest (no allocation). -1 when the record is not the plain shape the
 * writer makes (malformed, a member missing or written as a string): the
 * caller then parses it in full. Can't fail otherwise. */
int store_task_scan(const char *json, size_t len, task_scan *out);

/* ------------------------------------------------------ file writer */

/* Open a results file read-only for reading (format_version checked; waits
 * up to 10 s for a checkpoint that holds it). The file id, or -1 (code 2). */
hid_t store_open_ro(const char *path, l4h_err *err);

/* A run's identity as its journal record holds it (a new cJSON object the
 * caller adds to and deletes): run, started_utc, hosts, llm4hep_version,
 * git_commit and config_text with secrets redacted. Can't fail. */
cJSON *store_run_json(const l4h_run_info *info);

/* The journal file beside h5path (caller frees). */
char *store_journal_path(const char *h5path);

/* Take the campaign lock on h5path (flock on <h5path>.lock, "host pid"
 * written inside). Returns the lock fd, or -1 (code 2 naming the holder). */
int store_lock_take(const char *h5path, const char *why, l4h_err *err);
void store_lock_release(int fd);

/* State of the HDF5 file reflecting a journal, built by the sync pass. */
typedef struct sync_state {
    key_map keys;
    int64_t n_tasks;    /* T records seen (the last task_id) */
    int64_t n_runs;     /* R records */
    int64_t n_records;  /* all records */
    int64_t end;        /* journal bytes covered */
    int64_t file_end;   /* journal bytes the HDF5 file reflects */
    int64_t file_records; /* journal records the HDF5 file reflects */
    char *header_json;  /* payload of the H record, or NULL */
    char *last_run_json; /* payload of the last R record, or NULL */
    double copy_s;      /* seconds the last copy-aside took (0 = none yet) */
    struct piece_index *pieces; /* the file's piece digests -> /pieces rows (pieces.h) */
} sync_state;

/* Bring h5path up to date with the journal at jpath: append what it lacks,
 * or rebuild it (temp + rename) when it does not open, was left mid-write,
 * disagrees with the journal, or force_rebuild. Fills st (caller frees with
 * store_sync_state_free). *dropped: torn tail bytes (may be NULL). A file
 * held open by a reader is updated through a copy renamed over it. */
int store_sync_file(const char *h5path, const char *jpath, int force_rebuild, sync_state *st,
                  int64_t *dropped, l4h_err *err);
void store_sync_state_free(sync_state *st);
/* For a writer that needs the counts but no key states (annotate): when the
 * file is clean and reflects the whole journal (its journal_offset is the
 * journal's size), fill st from the file and the journal's header record
 * alone, without reading the rest of the journal (st->keys stays empty:
 * appending non-task records and a rebuild need none); else as
 * store_sync_file. Caller frees st. */
int store_sync_counts(const char *h5path, const char *jpath, sync_state *st, l4h_err *err);

/* Apply the journal records from st->file_end on to an open file that
 * reflects st (file_task_id fields, file_end, file_records); advances st.
 * Marks the file `writing` first and `clean` (with the journal position)
 * last. */
int store_apply_journal(hid_t file, const char *jpath, sync_state *st, l4h_err *err);
/* Create the groups-less skeleton of a results file: root attributes from
 * the journal's H record (JSON), the six empty tables and /text. */
int store_init_file(hid_t file, const char *header_json, l4h_err *err);
/* Make the file reflect the journal up to st->end; see store.c. allow_copy:
 * when a reader holds the file, update a copy and rename it over; else
 * defer (*deferred = 1). Rebuilds when the file does not open. */
int store_update_file(const char *h5path, const char *jpath, sync_state *st, int allow_copy,
                    int *deferred, l4h_err *err);

/* ------------ used only inside the room (tests/unit/store too) */

/* Bytes of a torn last journal record that l4h_store_open dropped (0 when
 * the journal was whole). */
int64_t store_dropped_bytes(const l4h_store *st);

/* Rebuild the HDF5 file h5path from its journal (temp file + atomic rename).
 * Refuses (code 2) while a campaign holds the lock. */
int store_rebuild(const char *h5path, l4h_err *err);

/* CRC-32 (IEEE 802.3, zlib's crc32): start with crc = 0; chain calls to
 * continue over more bytes. Can't fail. */
uint32_t store_crc32(uint32_t crc, const void *data, size_t n);

#endif
