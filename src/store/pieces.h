/* pieces.h — private to src/store (pieces.c, pieces_file.c,
 * pieces_journal.c): transcripts stored once. A request body
 * is cut into pieces (pieces.c, store_pieces_split), each distinct piece is
 * stored once by its SHA-256, and a request is the list of its pieces:
 *
 *   results file  /pieces (sha256, text_off, text_len) rows, texts in /text;
 *                 /piece_refs (int64 rows of /pieces); a /calls row's
 *                 request_off/request_len are rows of /piece_refs.
 *   journal       a task record names each request's pieces by SHA-256 in
 *                 "requests" and carries the pieces the writer had not yet
 *                 written in "pieces" (the same record: a reference never
 *                 points at a piece a crash could have lost).
 *
 * Rebuilding is concatenation, byte-exact whatever the cut points are.
 * docs/results-format.md and docs/notes/dedup.md describe the layout. */
#ifndef L4H_STORE_PIECES_H
#define L4H_STORE_PIECES_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"

/* ------------------------------------------------------------ cutting */

/* Cut s (n bytes) into pieces: the ends of the pieces go to *ends (malloc'd,
 * caller frees), their number is returned (0 when n is 0). A JSON object is
 * cut around each element of the arrays that are its members' values (a
 * chat body's "messages", "tools", "input"): the head up to the first
 * element, each element with the comma before it, the tail from the
 * array's closing bracket; and around the body of every string of 256
 * bytes or more (a message's content), which is a piece of its own. Anything else (or what does not scan as JSON
 * from some point on) stays whole from there. Can't fail. */
size_t store_pieces_split(const char *s, size_t n, size_t **ends);

/* Calls fn(ctx, a, b) for the body [a, b) of each string of 256 bytes or
 * more in the JSON object text s (the strings store_pieces_split makes
 * pieces of); nothing when s is not a JSON object. Can't fail. */
void store_pieces_each_long_string(const char *s, size_t n, void (*fn)(void *, size_t, size_t),
                                   void *ctx);

/* ------------------------------------------------------ digest index */

/* SHA-256 digest (32 bytes) -> int64, open addressing. */
typedef struct piece_index piece_index;

piece_index *store_pieces_index_new(void);
void store_pieces_index_free(piece_index *ix);
/* The value of digest d, or -1 when absent. */
int64_t store_pieces_index_get(const piece_index *ix, const unsigned char d[32]);
/* Set d's value, v >= 0 (added or replaced). Can't fail (aborts on out of
 * memory). */
void store_pieces_index_put(piece_index *ix, const unsigned char d[32], int64_t v);
/* Make room for n digests in all, so that adding them never rehashes (a
 * table loaded from a file is sized once: no transient double). Can't fail
 * (aborts on out of memory). */
void store_pieces_index_reserve(piece_index *ix, size_t n);
/* Number of digests. */
size_t store_pieces_index_count(const piece_index *ix);

/* Digest of n bytes; the hex form to out_hex when not NULL. */
void store_pieces_digest(const void *s, size_t n, unsigned char d[32], char out_hex[65]);
/* 64 hex digits to a digest: 0, or -1 when not 64 lowercase hex digits. */
int store_pieces_unhex(const char *hex, unsigned char d[32]);

/* --------------------------------------------------- results file */

/* Load the digest index of h5path's /pieces into *ix (replacing it) unless
 * it already matches the file's row count. A campaign's open (the resume,
 * which reads the journal once anyway) calls it, so its checkpoints cost
 * only what they add. Best effort, can't fail: a file without pieces, one
 * that does not open (held by a writer) or a damaged /pieces leave the
 * loading (and its error) to the first batch, store_pieces_begin. */
void store_pieces_preload(const char *h5path, piece_index **ix);

/* Create /pieces and /piece_refs (empty). */
int store_pieces_create(hid_t file, l4h_err *err);
/* 1 when the file stores requests as piece lists (format_version 2 on), else 0. */
int store_pieces_in_file(hid_t file);

/* The pieces written during one batch of apply.c (flush). */
typedef struct piece_writer {
    hid_t file;
    piece_index *ix;     /* the file's digests -> /pieces rows (sync_state's) */
    int64_t pieces0;     /* rows of /pieces before the batch */
    int64_t refs0;       /* rows of /piece_refs before the batch */
    void *rows;          /* new /pieces rows */
    size_t n_rows, cap_rows;
    int64_t *refs;       /* new /piece_refs rows */
    size_t n_refs, cap_refs;
} piece_writer;

/* Start a batch on an open file: *ix is the file's digest index, loaded
 * from /pieces when it is NULL or does not match the file's row count
 * (another file, or a rebuild). 0, or -1 with err. */
int store_pieces_begin(piece_writer *w, hid_t file, piece_index **ix, l4h_err *err);
/* Store a request body: its new pieces' texts go to the batch's heap buffer
 * text (whose first byte will be at heap offset base); *off and *len get its
 * rows in /piece_refs ((0, 0) for an empty body). Can't fail. */
void store_pieces_add_body(piece_writer *w, l4h_buf *text, int64_t base, const char *body,
                           int64_t *off, int64_t *len);
/* The text stored at heap offset off (len bytes, in the batch's buffer
 * text): each long JSON string in it (a body of 256 bytes or more: an
 * answer's content) becomes a piece pointing into it when its digest is
 * new, so the next request's copy of that content is not stored again.
 * Can't fail. */
void store_pieces_note_text(piece_writer *w, const l4h_buf *text, int64_t base, int64_t off,
                            int64_t len);
/* Define one piece carried by a journal record (text must hash to hex);
 * -1 with a message in why (static) when it does not. */
int store_pieces_add_piece(piece_writer *w, l4h_buf *text, int64_t base, const char *hex,
                           const char *piece, const char **why);
/* Store a request given as the list of its pieces' hex digests (a journal
 * record's); each must be defined by now. -1 with why when one is not. */
int store_pieces_add_list(piece_writer *w, const char *const *hex, size_t n, int64_t *off,
                          int64_t *len, const char **why);
/* The requests of a journal task record written with pieces (a payload
 * with "requests" and "pieces" members; store_pieces_task_json): define its
 * pieces and set the request refs of its n_calls call rows. A record
 * without them (its requests inline, as l4h_rec_to_json writes them) is
 * left as it is: 0. -1 with why (static) for a malformed one. */
int store_pieces_add_record(piece_writer *w, l4h_buf *text, int64_t base, const char *payload,
                            size_t len, call_row *calls, size_t n_calls, const char **why);
/* Append the batch's rows to /pieces and /piece_refs; frees them. */
int store_pieces_flush(piece_writer *w, l4h_err *err);
/* Drop a batch that was not flushed. Can't fail. */
void store_pieces_abandon(piece_writer *w);

/* The request stored as /piece_refs rows [off, off+len): its bytes, rebuilt,
 * into *out (malloc'd, NUL-terminated; "" for len 0). heap is /text (open),
 * heap_len its bytes. Refs outside the tables or the heap, and a body over
 * L4H_TEXT_MAX, are a code-2 "damaged file" error naming path and task. */
int store_pieces_read(hid_t file, hid_t heap, uint64_t heap_len, int64_t off, int64_t len,
                      char **out, const char *path, int64_t task_id, l4h_err *err);

/* ------------------------------------------------------------ journal */

/* The journal writer's set of pieces already written (in this process:
 * a resumed writer starts empty and writes a piece again the first time it
 * uses it, which is safe). */
typedef struct piece_seen {
    piece_index *ix;
} piece_seen;

/* The T record payload for rec: l4h_rec_to_json of rec with each call's
 * request replaced by null, plus "requests":[[hex,...],...] (one list per
 * call, null for a call without a request) and "pieces":[[hex,text],...]
 * (the pieces not in seen, each once; a piece that is a long string of an
 * answer earlier in the record or before, which the store defines from the
 * answer itself, is not carried). *fresh and *n_fresh get the new digests
 * (32 bytes each, malloc'd): store_pieces_seen_commit them once the record
 * is durable. rec is left as it was. Caller frees the result. Can't fail. */
char *store_pieces_task_json(const piece_seen *seen, l4h_task_rec *rec, unsigned char **fresh,
                             size_t *n_fresh);
void store_pieces_seen_commit(piece_seen *seen, const unsigned char *fresh, size_t n);
void store_pieces_seen_free(piece_seen *seen);

#endif
