/* test_pieces.c — request bodies cut into pieces (src/store/pieces.c):
 * the pieces always concatenate to the body byte for byte, whatever the
 * bytes (JSON, escapes, brackets in strings, truncated or random input);
 * a conversation's pieces are a prefix of the next request's; the digest
 * index; the journal encoding names every piece and carries each new one
 * once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/store/pieces.h"

/* The pieces of s, checked: increasing ends, none empty, the last at n. */
static size_t split_ok(const char *s, size_t n, size_t **ends)
{
    size_t k = store_pieces_split(s, n, ends);
    if (n == 0) {
        assert_int_equal(k, 0);
        return 0;
    }
    assert_true(k >= 1);
    size_t at = 0;
    for (size_t i = 0; i < k; i++) {
        assert_true((*ends)[i] > at);
        at = (*ends)[i];
    }
    assert_int_equal(at, n);
    return k;
}

static void cuts_around_elements(void **state)
{
    (void)state;
    const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"a,]\\\"[\"},"
                       "{\"role\":\"user\",\"content\":\"b\\\\\"}],\"tools\":[{\"x\":[1,2]},"
                       "{\"y\":{}}],\"n\":[],\"temperature\":0}";
    size_t *ends = NULL, k = split_ok(body, strlen(body), &ends);
    const char *want[] = {"{\"model\":\"m\",\"messages\":[",
                          "{\"role\":\"system\",\"content\":\"a,]\\\"[\"}",
                          ",{\"role\":\"user\",\"content\":\"b\\\\\"}",
                          "],\"tools\":[",
                          "{\"x\":[1,2]}",
                          ",{\"y\":{}}",
                          "],\"n\":[",
                          "],\"temperature\":0}"};
    assert_int_equal(k, sizeof want / sizeof want[0]);
    size_t at = 0;
    for (size_t i = 0; i < k; i++) {
        assert_int_equal(ends[i] - at, strlen(want[i]));
        assert_memory_equal(body + at, want[i], strlen(want[i]));
        at = ends[i];
    }
    free(ends);
}

/* Request k+1 repeats request k's messages: their pieces are the same, so
 * only the new messages (and the tail) are new. */
static void a_longer_conversation_shares_its_prefix(void **state)
{
    (void)state;
    const char *a = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                    "{\"role\":\"user\",\"content\":\"U1\"}],\"max_tokens\":9}";
    const char *b = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                    "{\"role\":\"user\",\"content\":\"U1\"},{\"role\":\"assistant\",\"content\":\"A1\"},"
                    "{\"role\":\"user\",\"content\":\"U2\"}],\"max_tokens\":9}";
    size_t *ea = NULL, *eb = NULL;
    size_t ka = split_ok(a, strlen(a), &ea), kb = split_ok(b, strlen(b), &eb);
    assert_int_equal(ka, 4);
    assert_int_equal(kb, 6);
    for (size_t i = 0; i + 1 < ka; i++) /* all but the tail */
        assert_int_equal(ea[i], eb[i]);
    assert_memory_equal(a, b, ea[ka - 2]);
    /* the tails are the same bytes */
    assert_int_equal(strlen(a) - ea[ka - 2], strlen(b) - eb[kb - 2]);
    assert_memory_equal(a + ea[ka - 2], b + eb[kb - 2], strlen(a) - ea[ka - 2]);
    free(ea);
    free(eb);
}

/* Whatever the bytes: not JSON, truncated, unbalanced, quotes and
 * backslashes anywhere, whitespace first: the cuts are a partition. */
static void any_bytes_partition_exactly(void **state)
{
    (void)state;
    const char *fixed[] = {"", "x", "[1,2]", "{", "{\"a\":[", "{\"a\":[1,", "{\"a\":\"[,]",
                           "{\"a\":\"\\\\\\\"\",\"b\":[\"\\\"]\",2]}", "  \n{\"a\":[{},{}]}",
                           "}]]],,,{{[", "{\"a\":[]}", "{\"a\":[[[[,]]]],\"b\":[1]}"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        size_t *e = NULL;
        split_ok(fixed[i], strlen(fixed[i]), &e);
        free(e);
    }
    static const char alphabet[] = "{}[],\"\\ a:\n";
    unsigned seed = 12345;
    char buf[256];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand_r(&seed) % 200);
        buf[0] = '{';
        for (size_t i = 1; i < n; i++)
            buf[i] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
        buf[n] = '\0';
        size_t *e = NULL;
        split_ok(buf, n, &e);
        free(e);
    }
}

static void index_grows_and_replaces(void **state)
{
    (void)state;
    piece_index *ix = store_pieces_index_new();
    unsigned char d[32];
    for (int i = 0; i < 5000; i++) {
        char s[32];
        snprintf(s, sizeof s, "piece %d", i);
        store_pieces_digest(s, strlen(s), d, NULL);
        assert_int_equal(store_pieces_index_get(ix, d), -1);
        store_pieces_index_put(ix, d, i);
    }
    assert_int_equal(store_pieces_index_count(ix), 5000);
    for (int i = 0; i < 5000; i += 7) {
        char s[32];
        snprintf(s, sizeof s, "piece %d", i);
        store_pieces_digest(s, strlen(s), d, NULL);
        assert_int_equal(store_pieces_index_get(ix, d), i);
        store_pieces_index_put(ix, d, i + 100000);
        assert_int_equal(store_pieces_index_get(ix, d), i + 100000);
    }
    assert_int_equal(store_pieces_index_count(ix), 5000);
    /* making room rehashes what is there: every value (0 included) survives */
    store_pieces_index_reserve(ix, 100000);
    for (int i = 0; i < 5000; i++) {
        char s[32];
        snprintf(s, sizeof s, "piece %d", i);
        store_pieces_digest(s, strlen(s), d, NULL);
        assert_int_equal(store_pieces_index_get(ix, d), i % 7 ? i : i + 100000);
    }
    assert_int_equal(store_pieces_index_count(ix), 5000);
    store_pieces_index_free(ix);
    unsigned char x[32];
    assert_int_equal(store_pieces_unhex("ABCDEF", x), -1);
    char hex[65];
    store_pieces_digest("abc", 3, x, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hex[0] = 'B';
    assert_int_equal(store_pieces_unhex(hex, x), -1);
}

static void add_call(l4h_task_rec *r, const char *body)
{
    l4h_call_rec *c = l4h_rec_add_call(r);
    c->model = strdup("m");
    c->request = body ? strdup(body) : NULL;
}

/* The journal's task record: requests null, "requests" names every piece,
 * "pieces" carries each new one once; after a commit a second record with
 * the same prompts carries only what is new. rec is left unchanged. */
static void journal_record_names_and_carries(void **state)
{
    (void)state;
    const char *b1 = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                     "{\"role\":\"user\",\"content\":\"P\"}]}";
    const char *b2 = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                     "{\"role\":\"user\",\"content\":\"P\"},{\"role\":\"assistant\",\"content\":\"A\"}]}";
    l4h_task_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.key, sizeof r.key, "0123456789abcdef");
    add_call(&r, b1);
    add_call(&r, NULL);
    add_call(&r, b2);
    piece_seen seen = {0};
    unsigned char *fresh = NULL;
    size_t n_fresh = 0;
    char *js = store_pieces_task_json(&seen, &r, &fresh, &n_fresh);
    assert_string_equal(r.calls[0].request, b1);
    assert_string_equal(r.calls[2].request, b2);
    cJSON *o = cJSON_Parse(js);
    assert_non_null(o);
    const cJSON *rq = cJSON_GetObjectItem(o, "requests"), *pc = cJSON_GetObjectItem(o, "pieces");
    assert_int_equal(cJSON_GetArraySize(rq), 3);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(rq, 1)));
    const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "calls"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(c0, "request")));
    /* b1: head, system, user, tail; b2 adds the assistant and its own tail */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetArrayItem(rq, 0)), 4);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetArrayItem(rq, 2)), 5);
    assert_int_equal(cJSON_GetArraySize(pc), 5); /* head, S, P, ",A", the tail "]}" (shared) */
    assert_int_equal(n_fresh, 5);
    /* rebuild b2 from the pieces: byte for byte */
    l4h_buf b = {0};
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetArrayItem(rq, 2)) {
        const cJSON *p;
        cJSON_ArrayForEach(p, pc) if (!strcmp(cJSON_GetArrayItem(p, 0)->valuestring, h->valuestring))
            l4h_buf_puts(&b, cJSON_GetArrayItem(p, 1)->valuestring);
    }
    assert_string_equal(b.data, b2);
    l4h_buf_free(&b);
    cJSON_Delete(o);
    free(js);
    /* the same record again after the first was written: nothing new */
    store_pieces_seen_commit(&seen, fresh, n_fresh);
    free(fresh);
    js = store_pieces_task_json(&seen, &r, &fresh, &n_fresh);
    o = cJSON_Parse(js);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "pieces")), 0);
    assert_int_equal(n_fresh, 0);
    /* what the store reads back: the record parses, requests absent */
    l4h_task_rec back;
    l4h_err err;
    assert_int_equal(l4h_rec_from_json(js, strlen(js), &back, &err), 0);
    assert_int_equal(back.n_calls, 3);
    assert_null(back.calls[0].request);
    l4h_rec_clear(&back);
    cJSON_Delete(o);
    free(js);
    free(fresh);
    store_pieces_seen_free(&seen);
    l4h_rec_clear(&r);
}

/* A string of 256 bytes or more is a piece of its own, so the same content
 * in an answer and in the next request is one piece; the journal does not
 * carry again a request piece that is a long string of an earlier answer. */
static void long_strings_are_pieces(void **state)
{
    (void)state;
    char content[400];
    memset(content, 'x', sizeof content - 1);
    content[sizeof content - 1] = '\0';
    content[10] = '"'; /* an escaped quote inside: \" */
    char x[420];
    snprintf(x, sizeof x, "%.10s\\%s", content, content + 10);
    char body[1024], resp[1024];
    snprintf(body, sizeof body, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
             "{\"role\":\"assistant\",\"content\":\"%s\"}]}", x);
    snprintf(resp, sizeof resp, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"%s\"}}]}",
             x);
    size_t *e = NULL, k = split_ok(body, strlen(body), &e);
    const char *at = strstr(body, x);
    size_t a = (size_t)(at - body), i = 0;
    while (i < k && e[i] != a)
        i++;
    assert_true(i + 1 < k);
    assert_int_equal(e[i + 1] - e[i], strlen(x)); /* the content alone */
    free(e);
    /* the journal: the answer comes first, the request naming x after it */
    l4h_task_rec r;
    memset(&r, 0, sizeof r);
    add_call(&r, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    r.calls[0].response = strdup(resp);
    add_call(&r, body);
    piece_seen seen = {0};
    unsigned char *fresh = NULL;
    size_t n_fresh = 0;
    char *js = store_pieces_task_json(&seen, &r, &fresh, &n_fresh);
    cJSON *o = cJSON_Parse(js);
    const cJSON *p;
    char hx[65];
    unsigned char d[32];
    store_pieces_digest(x, strlen(x), d, hx);
    int named = 0;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(o, "pieces"))
        assert_string_not_equal(cJSON_GetArrayItem(p, 0)->valuestring, hx); /* not carried */
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetArrayItem(cJSON_GetObjectItem(o, "requests"), 1))
        named += !strcmp(h->valuestring, hx);
    assert_int_equal(named, 1);
    cJSON_Delete(o);
    free(js);
    free(fresh);
    l4h_rec_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cuts_around_elements),
        cmocka_unit_test(a_longer_conversation_shares_its_prefix),
        cmocka_unit_test(any_bytes_partition_exactly),
        cmocka_unit_test(index_grows_and_replaces),
        cmocka_unit_test(journal_record_names_and_carries),
        cmocka_unit_test(long_strings_are_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
