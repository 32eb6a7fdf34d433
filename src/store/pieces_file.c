/* pieces_file.c — request pieces in the results file: /pieces and
 * /piece_refs written once per distinct piece, a request read back by
 * concatenating its pieces (pieces.h). */
#define _GNU_SOURCE /* memmem */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pieces.h"

typedef struct piece_row {
    char sha256[64];
    int64_t text_off, text_len;
} piece_row;

static const col_desc piece_cols[] = {
    {"sha256", COL_STR, 64, offsetof(piece_row, sha256)},
    {"text_off", COL_I64, 8, offsetof(piece_row, text_off)},
    {"text_len", COL_I64, 8, offsetof(piece_row, text_len)},
};

/* /pieces: one row per distinct piece. */
static const table_desc t_pieces = {"pieces", piece_cols, 3, sizeof(piece_row), 4096};

#define REFS "piece_refs"
#define REFS_CHUNK 16384
/* At most this many pieces in one request (a chat body has a few hundred
 * messages at most): a larger count is a damaged file. */
#define PIECES_PER_REQUEST_MAX ((int64_t)1 << 20)

int store_pieces_create(hid_t file, l4h_err *err)
{
    if (store_table_create(file, &t_pieces, err) != 0)
        return -1;
    hsize_t dims = 0, maxd = H5S_UNLIMITED, chunk = REFS_CHUNK;
    hid_t sp = H5Screate_simple(1, &dims, &maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
    hid_t d = H5Dcreate2(file, REFS, H5T_STD_I64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (d < 0) {
        char m[256];
        store_h5_errmsg(m, sizeof m);
        return l4h_err_set(err, L4H_EXIT_INFRA, "cannot create /%s: %s", REFS, m);
    }
    H5Dclose(d);
    return 0;
}

int store_pieces_in_file(hid_t file)
{
    int64_t v = 0;
    return store_attr_get_i64(file, "format_version", &v) == 0 && v >= 2;
}

/* Rows of the 1-D dataset d, or -1. */
static int64_t extent(hid_t d)
{
    hid_t sp = H5Dget_space(d);
    hsize_t n = 0;
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, &n, NULL) == 1;
    if (sp >= 0)
        H5Sclose(sp);
    return ok ? (int64_t)n : -1;
}

/* (Re)load the index from /pieces' sha256 column. */
static int load_index(hid_t file, int64_t rows, piece_index **ix, l4h_err *err)
{
    store_pieces_index_free(*ix);
    *ix = store_pieces_index_new();
    store_pieces_index_reserve(*ix, (size_t)rows);
    const int64_t step = 65536;
    piece_row *buf = l4h_xmalloc((size_t)step * sizeof *buf);
    int rc = 0;
    for (int64_t at = 0; at < rows && !rc; at += step) {
        size_t n = (size_t)(rows - at < step ? rows - at : step);
        rc = store_table_read(file, &t_pieces, at, n, buf, err);
        for (size_t i = 0; i < n && !rc; i++) {
            char hex[65];
            unsigned char d[32];
            memcpy(hex, buf[i].sha256, 64);
            hex[64] = '\0';
            if (store_pieces_unhex(hex, d) != 0)
                rc = l4h_err_set(err, L4H_EXIT_INFRA,
                                 "/pieces row %" PRId64 " has no SHA-256: damaged file",
                                 at + (int64_t)i);
            else
                store_pieces_index_put(*ix, d, at + (int64_t)i);
        }
    }
    free(buf);
    if (rc) {
        store_pieces_index_free(*ix);
        *ix = NULL;
    }
    return rc;
}

/* Make *ix the index of file's /pieces (rows of them): loaded unless it
 * already holds that many digests. 0, or -1 with err (*ix is then NULL). */
static int ensure_index(hid_t file, int64_t rows, piece_index **ix, l4h_err *err)
{
    if (*ix && (int64_t)store_pieces_index_count(*ix) == rows)
        return 0;
    return load_index(file, rows, ix, err);
}

void store_pieces_preload(const char *h5path, piece_index **ix)
{
    hid_t f = H5Fopen(h5path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0 && store_pieces_in_file(f) && H5Lexists(f, t_pieces.name, H5P_DEFAULT) > 0) {
        l4h_err e = {0};
        int64_t rows = store_table_rows(f, t_pieces.name, &e);
        if (rows >= 0)
            ensure_index(f, rows, ix, &e); /* on error *ix is NULL: the first batch reports it */
    }
    H5Eclear2(H5E_DEFAULT);
    if (f >= 0)
        H5Fclose(f);
}

int store_pieces_begin(piece_writer *w, hid_t file, piece_index **ix, l4h_err *err)
{
    memset(w, 0, sizeof *w);
    w->file = file;
    htri_t have = H5Lexists(file, REFS, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    if (have <= 0 && store_pieces_create(file, err) != 0)
        return -1;
    int64_t rows = store_table_rows(file, t_pieces.name, err);
    hid_t d = H5Dopen2(file, REFS, H5P_DEFAULT);
    int64_t refs = d >= 0 ? extent(d) : -1;
    if (d >= 0)
        H5Dclose(d);
    if (rows < 0 || refs < 0) {
        H5Eclear2(H5E_DEFAULT);
        return l4h_err_set(err, L4H_EXIT_INFRA, "cannot read /pieces or /%s", REFS);
    }
    if (ensure_index(file, rows, ix, err) != 0)
        return -1;
    w->ix = *ix;
    w->pieces0 = rows;
    w->refs0 = refs;
    return 0;
}

static void push_ref(piece_writer *w, int64_t r)
{
    if (w->n_refs == w->cap_refs) {
        w->cap_refs = w->cap_refs ? w->cap_refs * 2 : 256;
        w->refs = l4h_xrealloc(w->refs, w->cap_refs * sizeof *w->refs);
    }
    w->refs[w->n_refs++] = r;
}

/* The /pieces row of the piece (created with its text when new). */
static int64_t piece_id(piece_writer *w, l4h_buf *text, int64_t base, const char *s, size_t n,
                        const unsigned char d[32], const char hex[65])
{
    int64_t id = store_pieces_index_get(w->ix, d);
    if (id >= 0)
        return id;
    if (w->n_rows == w->cap_rows) {
        w->cap_rows = w->cap_rows ? w->cap_rows * 2 : 64;
        w->rows = l4h_xrealloc(w->rows, w->cap_rows * sizeof(piece_row));
    }
    piece_row *r = (piece_row *)w->rows + w->n_rows;
    memcpy(r->sha256, hex, 64);
    r->text_off = base + (int64_t)text->len;
    r->text_len = (int64_t)n;
    l4h_buf_add(text, s, n);
    id = w->pieces0 + (int64_t)w->n_rows++;
    store_pieces_index_put(w->ix, d, id);
    return id;
}

void store_pieces_add_body(piece_writer *w, l4h_buf *text, int64_t base, const char *body,
                           int64_t *off, int64_t *len)
{
    size_t n = body ? strlen(body) : 0;
    *off = *len = 0;
    if (!n)
        return;
    size_t *ends = NULL, k = store_pieces_split(body, n, &ends), at = 0;
    *off = w->refs0 + (int64_t)w->n_refs;
    *len = (int64_t)k;
    for (size_t i = 0; i < k; i++) {
        unsigned char d[32];
        char hex[65];
        store_pieces_digest(body + at, ends[i] - at, d, hex);
        push_ref(w, piece_id(w, text, base, body + at, ends[i] - at, d, hex));
        at = ends[i];
    }
    free(ends);
}

int store_pieces_add_piece(piece_writer *w, l4h_buf *text, int64_t base, const char *hex,
                           const char *piece, const char **why)
{
    unsigned char want[32], d[32];
    char got[65];
    size_t n = strlen(piece);
    if (store_pieces_unhex(hex, want) != 0) {
        *why = "a piece's name is not a SHA-256 (64 lowercase hex digits)";
        return -1;
    }
    if (!n) {
        *why = "an empty piece";
        return -1;
    }
    store_pieces_digest(piece, n, d, got);
    if (memcmp(d, want, 32)) {
        *why = "a piece's text does not have the SHA-256 it is named by";
        return -1;
    }
    piece_id(w, text, base, piece, n, d, got);
    return 0;
}

int store_pieces_add_list(piece_writer *w, const char *const *hex, size_t n, int64_t *off,
                          int64_t *len, const char **why)
{
    *off = *len = 0;
    if (!n)
        return 0;
    size_t first = w->n_refs;
    for (size_t i = 0; i < n; i++) {
        unsigned char d[32];
        int64_t id = store_pieces_unhex(hex[i], d) == 0 ? store_pieces_index_get(w->ix, d) : -1;
        if (id < 0) {
            w->n_refs = first;
            *why = "a request names a piece that no record before it (or itself) holds";
            return -1;
        }
        push_ref(w, id);
    }
    *off = w->refs0 + (int64_t)first;
    *len = (int64_t)n;
    return 0;
}

typedef struct note_ctx {
    piece_writer *w;
    const char *s;
    int64_t off;
} note_ctx;

static void note_one(void *ctx, size_t a, size_t b)
{
    note_ctx *c = ctx;
    unsigned char d[32];
    char hex[65];
    store_pieces_digest(c->s + a, b - a, d, hex);
    piece_writer *w = c->w;
    if (store_pieces_index_get(w->ix, d) >= 0)
        return;
    if (w->n_rows == w->cap_rows) {
        w->cap_rows = w->cap_rows ? w->cap_rows * 2 : 64;
        w->rows = l4h_xrealloc(w->rows, w->cap_rows * sizeof(piece_row));
    }
    piece_row *r = (piece_row *)w->rows + w->n_rows;
    memcpy(r->sha256, hex, 64);
    r->text_off = c->off + (int64_t)a; /* inside the text already stored */
    r->text_len = (int64_t)(b - a);
    store_pieces_index_put(w->ix, d, w->pieces0 + (int64_t)w->n_rows++);
}

void store_pieces_note_text(piece_writer *w, const l4h_buf *text, int64_t base, int64_t off,
                            int64_t len)
{
    if (len <= 0 || off < base || (size_t)(off - base) + (size_t)len > text->len)
        return;
    note_ctx c = {w, text->data + (off - base), off};
    store_pieces_each_long_string(c.s, (size_t)len, note_one, &c);
}

int store_pieces_add_record(piece_writer *w, l4h_buf *text, int64_t base, const char *payload,
                            size_t len, call_row *calls, size_t n_calls, const char **why)
{
    static const char key[] = "\"requests\":";
    /* Outside strings a quote is never escaped: the bytes "requests": occur
     * only where a member of that name is; most records are parsed once. */
    if (!memmem(payload, len, key, sizeof key - 1))
        return 0;
    cJSON *o = cJSON_ParseWithLength(payload, len);
    const cJSON *rq = cJSON_GetObjectItemCaseSensitive(o, "requests");
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(o, "pieces");
    int rc = 0;
    if (!rq) {
        cJSON_Delete(o);
        return 0;
    }
    if (!cJSON_IsArray(rq) || !cJSON_IsArray(pc) || (size_t)cJSON_GetArraySize(rq) != n_calls) {
        *why = "its \"requests\" (one list per call) or \"pieces\" member is malformed";
        rc = -1;
    }
    const cJSON *e;
    if (!rc)
        cJSON_ArrayForEach(e, pc) {
            const cJSON *h = cJSON_GetArrayItem(e, 0), *t = cJSON_GetArrayItem(e, 1);
            if (!cJSON_IsArray(e) || !cJSON_IsString(h) || !cJSON_IsString(t)) {
                *why = "a piece is not [sha256, text]";
                rc = -1;
                break;
            }
            if ((rc = store_pieces_add_piece(w, text, base, h->valuestring, t->valuestring, why)))
                break;
        }
    size_t i = 0;
    if (!rc)
        cJSON_ArrayForEach(e, rq) {
            if (cJSON_IsNull(e)) {
                calls[i].request_off = calls[i].request_len = 0;
                i++;
                continue;
            }
            size_t n = cJSON_IsArray(e) ? (size_t)cJSON_GetArraySize(e) : 0;
            const char **hex = l4h_xcalloc(n + 1, sizeof *hex);
            const cJSON *h;
            size_t k = 0;
            cJSON_ArrayForEach(h, e) hex[k++] = cJSON_IsString(h) ? h->valuestring : "";
            if (!cJSON_IsArray(e)) {
                *why = "a request's piece list is not an array";
                rc = -1;
            } else {
                rc = store_pieces_add_list(w, hex, n, &calls[i].request_off, &calls[i].request_len,
                                           why);
            }
            free(hex);
            if (rc)
                break;
            i++;
        }
    cJSON_Delete(o);
    return rc;
}

void store_pieces_abandon(piece_writer *w)
{
    free(w->rows);
    free(w->refs);
    w->rows = NULL;
    w->refs = NULL;
    w->n_rows = w->n_refs = w->cap_rows = w->cap_refs = 0;
}

int store_pieces_flush(piece_writer *w, l4h_err *err)
{
    if (!w->n_rows && !w->n_refs) { /* nothing new, or a batch that stored no requests */
        store_pieces_abandon(w);
        return 0;
    }
    int rc = store_table_append(w->file, &t_pieces, w->rows, w->n_rows, err);
    if (!rc && w->n_refs) {
        hid_t d = H5Dopen2(w->file, REFS, H5P_DEFAULT);
        hsize_t at = (hsize_t)w->refs0, n = w->n_refs, total = at + n;
        hid_t fs = -1, ms = -1;
        if (d < 0 || H5Dset_extent(d, &total) < 0 || (fs = H5Dget_space(d)) < 0 ||
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &n, NULL) < 0 ||
            (ms = H5Screate_simple(1, &n, NULL)) < 0 ||
            H5Dwrite(d, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, w->refs) < 0) {
            char m[256];
            store_h5_errmsg(m, sizeof m);
            rc = l4h_err_set(err, L4H_EXIT_INFRA, "cannot append to /%s: %s", REFS, m);
        }
        if (ms >= 0)
            H5Sclose(ms);
        if (fs >= 0)
            H5Sclose(fs);
        if (d >= 0)
            H5Dclose(d);
    }
    store_pieces_abandon(w);
    return rc;
}

/* ------------------------------------------------------------ reading */

static int damaged(l4h_err *err, const char *path, int64_t task_id, const char *what, int64_t a,
                   int64_t b, int64_t limit)
{
    return l4h_err_set(err, L4H_EXIT_USAGE,
                       "%s: task %" PRId64 ": %s (%" PRId64 ", %" PRId64 ") is outside its table "
                       "(%" PRId64 "): damaged file",
                       path, task_id, what, a, b, limit);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The /pieces rows refs[0..n) (each checked inside the table), read in one
 * point selection of the distinct rows; malloc'd, NULL with err. */
static piece_row *read_rows(hid_t file, const int64_t *refs, size_t n, l4h_err *err)
{
    int64_t *u = l4h_xmalloc(n * sizeof *u);
    memcpy(u, refs, n * sizeof *u);
    qsort(u, n, sizeof *u, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || u[k - 1] != u[i])
            u[k++] = u[i];
    hsize_t *pts = l4h_xmalloc(k * sizeof *pts), nk = k;
    for (size_t i = 0; i < k; i++)
        pts[i] = (hsize_t)u[i];
    piece_row *urows = l4h_xcalloc(k, sizeof *urows), *rows = NULL;
    hid_t d = H5Dopen2(file, t_pieces.name, H5P_DEFAULT), mt = store_table_memtype(&t_pieces);
    hid_t fs = d >= 0 ? H5Dget_space(d) : -1, ms = H5Screate_simple(1, &nk, NULL);
    if (fs >= 0 && ms >= 0 && mt >= 0 && H5Sselect_elements(fs, H5S_SELECT_SET, k, pts) >= 0 &&
        H5Dread(d, mt, ms, fs, H5P_DEFAULT, urows) >= 0) {
        rows = l4h_xmalloc(n * sizeof *rows);
        for (size_t i = 0; i < n; i++) {
            const int64_t *at = bsearch(&refs[i], u, k, sizeof *u, cmp_i64);
            rows[i] = urows[at - u];
        }
    } else {
        H5Eclear2(H5E_DEFAULT);
        l4h_err_set(err, L4H_EXIT_USAGE, "/pieces does not read: damaged file");
    }
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (mt >= 0)
        H5Tclose(mt);
    if (d >= 0)
        H5Dclose(d);
    free(u);
    free(pts);
    free(urows);
    return rows;
}

int store_pieces_read(hid_t file, hid_t heap, uint64_t heap_len, int64_t off, int64_t len,
                      char **out, const char *path, int64_t task_id, l4h_err *err)
{
    *out = NULL;
    if (len == 0) {
        *out = l4h_xstrdup("");
        return 0;
    }
    hid_t d = H5Dopen2(file, REFS, H5P_DEFAULT);
    int64_t nrefs = d >= 0 ? extent(d) : -1;
    int64_t npieces = store_table_rows(file, t_pieces.name, NULL);
    H5Eclear2(H5E_DEFAULT);
    if (nrefs < 0 || npieces < 0) {
        if (d >= 0)
            H5Dclose(d);
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: no /pieces or /%s: damaged file", path, REFS);
    }
    if (off < 0 || len < 0 || off > nrefs || len > nrefs - off || len > PIECES_PER_REQUEST_MAX) {
        H5Dclose(d);
        return damaged(err, path, task_id, "calls.request piece list", off, len, nrefs);
    }
    hsize_t at = (hsize_t)off, n = (hsize_t)len;
    int64_t *refs = l4h_xmalloc((size_t)len * sizeof *refs);
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &n, NULL);
    int ok = fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &n, NULL) >= 0 &&
             H5Dread(d, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, refs) >= 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    H5Dclose(d);
    if (!ok) {
        free(refs);
        H5Eclear2(H5E_DEFAULT);
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: /%s does not read: damaged file", path, REFS);
    }
    int rc = 0;
    for (int64_t i = 0; i < len && !rc; i++)
        if (refs[i] < 0 || refs[i] >= npieces)
            rc = damaged(err, path, task_id, "piece", refs[i], 1, npieces);
    piece_row *rows = rc ? NULL : read_rows(file, refs, (size_t)len, err);
    if (!rc && !rows)
        rc = -1;
    l4h_buf b = {0};
    for (int64_t i = 0; i < len && !rc; i++) {
        const piece_row *r = &rows[i];
        if (r->text_off < 0 || r->text_len <= 0 || (uint64_t)r->text_off > heap_len ||
            (uint64_t)r->text_len > heap_len - (uint64_t)r->text_off ||
            (uint64_t)r->text_len > L4H_TEXT_MAX - b.len) {
            rc = damaged(err, path, task_id, "piece text", r->text_off, r->text_len,
                         (int64_t)heap_len);
            break;
        }
        char *s = NULL;
        rc = store_heap_read(heap, r->text_off, r->text_len, &s, err);
        if (!rc)
            l4h_buf_add(&b, s, (size_t)r->text_len);
        free(s);
    }
    free(rows);
    free(refs);
    if (rc) {
        l4h_buf_free(&b);
        return -1;
    }
    *out = l4h_buf_take(&b);
    return 0;
}
