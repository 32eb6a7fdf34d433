/* pieces_journal.c — request pieces in the journal: a task record names
 * each request's pieces and carries the ones this writer has not written
 * yet (pieces.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pieces.h"

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
    store_pieces_each_long_string(response, strlen(response), answer_one, &c);
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
