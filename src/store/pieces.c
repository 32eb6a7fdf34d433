/* pieces.c — cut request bodies into pieces, index them by SHA-256, write
 * them to the results file once and read a request back (pieces.h). */
#define _GNU_SOURCE /* memmem */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pieces.h"

/* ------------------------------------------------------------ cutting */

typedef struct cuts {
    size_t *v;
    size_t n, cap;
} cuts;

static void cut_at(cuts *c, size_t pos)
{
    if (pos == 0 || (c->n && c->v[c->n - 1] >= pos))
        return; /* no empty piece, cuts strictly increase */
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = l4h_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = pos;
}

/* Position just past the string starting at s[i] == '"', or n + 1 when it
 * does not end. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        const char *q = memchr(s + i, '"', n - i);
        if (!q)
            return n + 1;
        size_t j = (size_t)(q - s);
        size_t bs = 0; /* backslashes right before the quote */
        while (j - bs > i && s[j - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0)
            return j + 1;
        i = j;
    }
    return n + 1;
}

/* A JSON string whose body is at least this long is a piece of its own
 * (a message's content): the same text in an answer and in the next
 * request is then the same piece. */
#define LONG_STRING 256

/* The end (exclusive) of the body of the string at s[i] == '"' when the
 * string is terminated and its body is at least LONG_STRING bytes, else 0;
 * *next: the position just past the string. */
static size_t long_string(const char *s, size_t n, size_t i, size_t *next)
{
    size_t j = skip_string(s, n, i);
    if (j > n) { /* unterminated: the rest is not cut */
        *next = n;
        return 0;
    }
    *next = j; /* s[j - 1] is the closing quote */
    return j - 1 - (i + 1) >= LONG_STRING ? j - 1 : 0;
}

size_t store_pieces_split(const char *s, size_t n, size_t **ends)
{
    cuts c = {0};
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    if (i < n && s[i] == '{') {
        /* depth 1: inside the top-level object; an array opened at depth 1
         * is a member's value: cut around its elements (depth 2). */
        int depth = 0, in_array = 0;
        for (; i < n; i++) {
            char ch = s[i];
            if (ch == '"') {
                size_t next, end = long_string(s, n, i, &next);
                if (end) { /* its body is a piece */
                    cut_at(&c, i + 1);
                    cut_at(&c, end);
                }
                i = next - 1;
                continue;
            }
            if (ch == '{' || ch == '[') {
                depth++;
                if (depth == 2 && ch == '[') {
                    in_array = 1;
                    cut_at(&c, i + 1); /* the head ends with the bracket */
                }
            } else if (ch == '}' || ch == ']') {
                if (depth == 2 && in_array && ch == ']') {
                    cut_at(&c, i); /* the tail starts at the bracket */
                    in_array = 0;
                }
                if (--depth <= 0)
                    break;
            } else if (ch == ',' && depth == 2 && in_array) {
                cut_at(&c, i); /* the next element starts with its comma */
            }
        }
    }
    cut_at(&c, n);
    *ends = c.v;
    return c.n;
}

/* ------------------------------------------------------ digest index */

typedef struct ix_entry {
    unsigned char d[32];
    int64_t v;
    int used;
} ix_entry;

struct piece_index {
    ix_entry *e;
    size_t cap, n; /* cap a power of two */
};

piece_index *store_pieces_index_new(void)
{
    piece_index *ix = l4h_xcalloc(1, sizeof *ix);
    ix->cap = 1024;
    ix->e = l4h_xcalloc(ix->cap, sizeof *ix->e);
    return ix;
}

void store_pieces_index_free(piece_index *ix)
{
    if (!ix)
        return;
    free(ix->e);
    free(ix);
}

static size_t slot_of(const piece_index *ix, const unsigned char d[32])
{
    uint64_t h;
    memcpy(&h, d, sizeof h); /* a SHA-256 is uniform already */
    size_t i = (size_t)h & (ix->cap - 1);
    while (ix->e[i].used && memcmp(ix->e[i].d, d, 32))
        i = (i + 1) & (ix->cap - 1);
    return i;
}

int64_t store_pieces_index_get(const piece_index *ix, const unsigned char d[32])
{
    const ix_entry *e = &ix->e[slot_of(ix, d)];
    return e->used ? e->v : -1;
}

void store_pieces_index_put(piece_index *ix, const unsigned char d[32], int64_t v)
{
    if ((ix->n + 1) * 4 > ix->cap * 3) { /* keep the load under 3/4 */
        piece_index big = {.cap = ix->cap * 2};
        big.e = l4h_xcalloc(big.cap, sizeof *big.e);
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->e[i].used)
                big.e[slot_of(&big, ix->e[i].d)] = ix->e[i];
        free(ix->e);
        ix->e = big.e;
        ix->cap = big.cap;
    }
    ix_entry *e = &ix->e[slot_of(ix, d)];
    if (!e->used) {
        memcpy(e->d, d, 32);
        e->used = 1;
        ix->n++;
    }
    e->v = v;
}

size_t store_pieces_index_count(const piece_index *ix)
{
    return ix->n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int store_pieces_unhex(const char *hex, unsigned char d[32])
{
    if (!hex || strlen(hex) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        d[i] = (unsigned char)(a << 4 | b);
    }
    return 0;
}

void store_pieces_digest(const void *s, size_t n, unsigned char d[32], char out_hex[65])
{
    char hex[65];
    l4h_sha256_hex(s, n, hex);
    store_pieces_unhex(hex, d);
    if (out_hex)
        memcpy(out_hex, hex, 65);
}

/* --------------------------------------------------- results file */

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
    if (l4h_table_create(file, &t_pieces, err) != 0)
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
        l4h_h5_errmsg(m, sizeof m);
        return l4h_err_set(err, L4H_EXIT_INFRA, "cannot create /%s: %s", REFS, m);
    }
    H5Dclose(d);
    return 0;
}

int store_pieces_in_file(hid_t file)
{
    int64_t v = 0;
    return l4h_attr_get_i64(file, "format_version", &v) == 0 && v >= 2;
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
    const int64_t step = 65536;
    piece_row *buf = l4h_xmalloc((size_t)step * sizeof *buf);
    int rc = 0;
    for (int64_t at = 0; at < rows && !rc; at += step) {
        size_t n = (size_t)(rows - at < step ? rows - at : step);
        rc = l4h_table_read(file, &t_pieces, at, n, buf, err);
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

int store_pieces_begin(piece_writer *w, hid_t file, piece_index **ix, l4h_err *err)
{
    memset(w, 0, sizeof *w);
    w->file = file;
    htri_t have = H5Lexists(file, REFS, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    if (have <= 0 && store_pieces_create(file, err) != 0)
        return -1;
    int64_t rows = l4h_table_rows(file, t_pieces.name, err);
    hid_t d = H5Dopen2(file, REFS, H5P_DEFAULT);
    int64_t refs = d >= 0 ? extent(d) : -1;
    if (d >= 0)
        H5Dclose(d);
    if (rows < 0 || refs < 0) {
        H5Eclear2(H5E_DEFAULT);
        return l4h_err_set(err, L4H_EXIT_INFRA, "cannot read /pieces or /%s", REFS);
    }
    if ((!*ix || (int64_t)store_pieces_index_count(*ix) != rows) &&
        load_index(file, rows, ix, err) != 0)
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

/* Calls fn(ctx, a, b) for the body [a, b) of each long string of the JSON
 * object text s (nothing when s is not one). */
static void each_long_string(const char *s, size_t n, void (*fn)(void *, size_t, size_t), void *ctx)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    if (i >= n || s[i] != '{')
        return;
    for (; i < n; i++) {
        if (s[i] != '"')
            continue;
        size_t next, end = long_string(s, n, i, &next);
        if (end)
            fn(ctx, i + 1, end);
        i = next - 1;
    }
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
    each_long_string(c.s, (size_t)len, note_one, &c);
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
    int rc = l4h_table_append(w->file, &t_pieces, w->rows, w->n_rows, err);
    if (!rc && w->n_refs) {
        hid_t d = H5Dopen2(w->file, REFS, H5P_DEFAULT);
        hsize_t at = (hsize_t)w->refs0, n = w->n_refs, total = at + n;
        hid_t fs = -1, ms = -1;
        if (d < 0 || H5Dset_extent(d, &total) < 0 || (fs = H5Dget_space(d)) < 0 ||
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &n, NULL) < 0 ||
            (ms = H5Screate_simple(1, &n, NULL)) < 0 ||
            H5Dwrite(d, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, w->refs) < 0) {
            char m[256];
            l4h_h5_errmsg(m, sizeof m);
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
    int64_t npieces = l4h_table_rows(file, t_pieces.name, NULL);
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
    l4h_buf b = {0};
    for (int64_t i = 0; i < len && !rc; i++) {
        piece_row r;
        if (refs[i] < 0 || refs[i] >= npieces) {
            rc = damaged(err, path, task_id, "piece", refs[i], 1, npieces);
            break;
        }
        if (l4h_table_read(file, &t_pieces, refs[i], 1, &r, err) != 0) {
            rc = -1;
            break;
        }
        if (r.text_off < 0 || r.text_len <= 0 || (uint64_t)r.text_off > heap_len ||
            (uint64_t)r.text_len > heap_len - (uint64_t)r.text_off ||
            (uint64_t)r.text_len > L4H_TEXT_MAX - b.len) {
            rc = damaged(err, path, task_id, "piece text", r.text_off, r.text_len, (int64_t)heap_len);
            break;
        }
        char *s = NULL;
        rc = l4h_heap_read(heap, r.text_off, r.text_len, &s, err);
        if (!rc)
            l4h_buf_add(&b, s, (size_t)r.text_len);
        free(s);
    }
    free(refs);
    if (rc) {
        l4h_buf_free(&b);
        return -1;
    }
    *out = l4h_buf_take(&b);
    return 0;
}

/* ------------------------------------------------------------ journal */

typedef struct answer_ctx {
    const piece_seen *seen;
    piece_index *mine;
    const char *s;
    unsigned char **fresh;
    size_t *n_fresh, *cap;
} answer_ctx;

static void push_fresh(unsigned char **fresh, size_t *n, size_t *cap, const unsigned char d[32])
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *fresh = l4h_xrealloc(*fresh, *cap * 32);
    }
    memcpy(*fresh + 32 * (*n)++, d, 32);
}

static void answer_one(void *ctx, size_t a, size_t b)
{
    answer_ctx *c = ctx;
    unsigned char d[32];
    store_pieces_digest(c->s + a, b - a, d, NULL);
    if ((c->seen->ix && store_pieces_index_get(c->seen->ix, d) >= 0) ||
        store_pieces_index_get(c->mine, d) >= 0)
        return;
    store_pieces_index_put(c->mine, d, 1);
    push_fresh(c->fresh, c->n_fresh, c->cap, d);
}

/* An answer's long strings are pieces the store defines from the answer's
 * own text (store_pieces_note_text): a later request names them without
 * carrying them again. */
static void seen_answer(const piece_seen *seen, piece_index *mine, const char *response,
                        unsigned char **fresh, size_t *n_fresh, size_t *cap)
{
    if (!response)
        return;
    answer_ctx c = {seen, mine, response, fresh, n_fresh, cap};
    each_long_string(response, strlen(response), answer_one, &c);
}

char *store_pieces_task_json(const piece_seen *seen, l4h_task_rec *rec, unsigned char **fresh,
                             size_t *n_fresh)
{
    *fresh = NULL;
    *n_fresh = 0;
    size_t cap = 0;
    piece_index *mine = store_pieces_index_new(); /* new in this record */
    cJSON *requests = cJSON_CreateArray(), *pieces = cJSON_CreateArray();
    char **saved = l4h_xcalloc(rec->n_calls + 1, sizeof *saved);
    for (size_t c = 0; c < rec->n_calls; c++) {
        const char *body = rec->calls[c].request;
        size_t n = body ? strlen(body) : 0;
        if (!body) {
            cJSON_AddItemToArray(requests, cJSON_CreateNull());
            seen_answer(seen, mine, rec->calls[c].response, fresh, n_fresh, &cap);
            continue;
        }
        cJSON *list = cJSON_CreateArray();
        size_t *ends = NULL, k = n ? store_pieces_split(body, n, &ends) : 0, at = 0;
        for (size_t i = 0; i < k; i++) {
            unsigned char d[32];
            char hex[65];
            size_t len = ends[i] - at;
            store_pieces_digest(body + at, len, d, hex);
            cJSON_AddItemToArray(list, cJSON_CreateString(hex));
            if ((!seen->ix || store_pieces_index_get(seen->ix, d) < 0) &&
                store_pieces_index_get(mine, d) < 0) {
                store_pieces_index_put(mine, d, 1);
                char *t = l4h_xmalloc(len + 1);
                memcpy(t, body + at, len);
                t[len] = '\0';
                cJSON *pair = cJSON_CreateArray();
                cJSON_AddItemToArray(pair, cJSON_CreateString(hex));
                cJSON_AddItemToArray(pair, cJSON_CreateString(t));
                cJSON_AddItemToArray(pieces, pair);
                free(t);
                push_fresh(fresh, n_fresh, &cap, d);
            }
            at = ends[i];
        }
        free(ends);
        cJSON_AddItemToArray(requests, list);
        saved[c] = rec->calls[c].request;
        rec->calls[c].request = NULL;
        seen_answer(seen, mine, rec->calls[c].response, fresh, n_fresh, &cap);
    }
    store_pieces_index_free(mine);
    char *js = l4h_rec_to_json(rec);
    for (size_t c = 0; c < rec->n_calls; c++)
        if (saved[c])
            rec->calls[c].request = saved[c];
    free(saved);
    char *rq = cJSON_PrintUnformatted(requests), *pc = cJSON_PrintUnformatted(pieces);
    cJSON_Delete(requests);
    cJSON_Delete(pieces);
    if (!rq || !pc) {
        fprintf(stderr, "llm4hep: out of memory writing a record\n");
        abort();
    }
    /* Splice the two members in before the object's closing brace. */
    size_t n = strlen(js);
    l4h_buf b = {0};
    l4h_buf_add(&b, js, n - 1);
    l4h_buf_printf(&b, ",\"requests\":%s,\"pieces\":%s}", rq, pc);
    free(js);
    free(rq);
    free(pc);
    return l4h_buf_take(&b);
}

void store_pieces_seen_commit(piece_seen *seen, const unsigned char *fresh, size_t n)
{
    if (!seen->ix)
        seen->ix = store_pieces_index_new();
    for (size_t i = 0; i < n; i++)
        store_pieces_index_put(seen->ix, fresh + 32 * i, 1);
}

void store_pieces_seen_free(piece_seen *seen)
{
    store_pieces_index_free(seen->ix);
    seen->ix = NULL;
}
