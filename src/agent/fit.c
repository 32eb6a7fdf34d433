/* fit.c — a conversation cut to a model's context. The loop keeps every
 * message whole; what it sends is a view of the conversation whose texts
 * fit a byte budget (agent.h, "Context"), earlier messages shortened first,
 * each cut marked where it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/agent.h"
#include "agent_internal.h"

/* An earlier message is first shortened to this many bytes (its head and tail). */
#define EARLIER_KEEP 600
/* No text is cut below this (the marker and a little of each end). */
#define MIN_KEEP 240
/* Tool-call arguments longer than this are replaced when they must go. */
#define ARGS_KEEP 1024

static const char cut_what[] = "this message (left out to fit the model's context)";

static size_t len0(const char *s)
{
    return s ? strlen(s) : 0;
}

/* See agent.h. */
size_t agent_message_cost(const l4h_message *m)
{
    size_t n = L4H_MESSAGE_OVERHEAD + len0(m->content) + len0(m->tool_call_id);
    for (size_t i = 0; i < m->n_tool_calls; i++)
        n += L4H_MESSAGE_OVERHEAD + len0(m->tool_calls[i].id) + len0(m->tool_calls[i].name) +
             len0(m->tool_calls[i].arguments);
    return n;
}

static void copy_message(l4h_message *dst, const l4h_message *src)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->role, src->role, sizeof dst->role);
    dst->content = l4h_xstrdup(src->content);
    dst->tool_call_id = l4h_xstrdup(src->tool_call_id);
    if (src->n_tool_calls) {
        dst->tool_calls = l4h_xcalloc(src->n_tool_calls, sizeof *dst->tool_calls);
        dst->n_tool_calls = src->n_tool_calls;
        for (size_t i = 0; i < src->n_tool_calls; i++) {
            dst->tool_calls[i].id = l4h_xstrdup(src->tool_calls[i].id);
            dst->tool_calls[i].name = l4h_xstrdup(src->tool_calls[i].name);
            dst->tool_calls[i].arguments = l4h_xstrdup(src->tool_calls[i].arguments);
        }
    }
}

/* Cut m's content to keep bytes (head and tail, marked). Returns the bytes saved. */
static size_t cut_content(l4h_message *m, size_t keep)
{
    size_t n = len0(m->content);
    if (n <= keep)
        return 0;
    char *c = l4h_text_head_tail(m->content, keep, cut_what, 0);
    size_t saved = n > strlen(c) ? n - strlen(c) : 0;
    free(m->content);
    m->content = c;
    return saved;
}

/* Replace long tool-call arguments by a JSON object saying so (arguments stay
 * JSON, which some servers parse). Returns the bytes saved. */
static size_t cut_arguments(l4h_message *m)
{
    size_t saved = 0;
    for (size_t i = 0; i < m->n_tool_calls; i++) {
        size_t n = len0(m->tool_calls[i].arguments);
        if (n <= ARGS_KEEP)
            continue;
        l4h_buf b = {0};
        l4h_buf_printf(&b, "{\"llm4hep_note\": \"arguments of %zu bytes left out to fit the model's context\"}", n);
        if (b.len < n)
            saved += n - b.len;
        free(m->tool_calls[i].arguments);
        m->tool_calls[i].arguments = l4h_buf_take(&b);
    }
    return saved;
}

/* qsort order: longer content first, then earlier message first. The
 * messages compared are sort_ctx's (qsort has no context argument; the fit
 * runs in one thread at a time per process: the agent loop). */
static _Thread_local const l4h_message *sort_ctx;
static int by_length_desc(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    size_t li = len0(sort_ctx[i].content), lj = len0(sort_ctx[j].content);
    if (li != lj)
        return li < lj ? 1 : -1;
    return i < j ? -1 : i > j;
}

/* See agent.h. */
size_t agent_conv_fit(const l4h_conv *c, size_t budget, size_t keep_first, l4h_conv *out)
{
    memset(out, 0, sizeof *out);
    out->n = out->cap = c->n;
    out->msgs = l4h_xcalloc(c->n ? c->n : 1, sizeof *out->msgs);
    size_t total = 0;
    for (size_t i = 0; i < c->n; i++) {
        copy_message(&out->msgs[i], &c->msgs[i]);
        total += agent_message_cost(&c->msgs[i]);
    }
    if (total <= budget || c->n == 0)
        return 0;
    size_t cut = 0;
    /* 1. earlier messages, oldest first (not the prompts, not the latest) */
    for (size_t i = keep_first; i + 1 < c->n && total > budget; i++) {
        size_t s = cut_content(&out->msgs[i], EARLIER_KEEP) + cut_arguments(&out->msgs[i]);
        if (s) {
            total -= s;
            cut++;
        }
    }
    /* 2. then the largest text left, as much as needed, until it fits or
     * nothing can be cut further: first among what the models and code
     * produced (the latest message included), the prompts last. Sorted once:
     * a cut leaves a text that fits or one at MIN_KEEP, so one pass in order
     * of size is the same as picking the largest again each time. */
    size_t from = keep_first < c->n ? keep_first : 0;
    for (int round = 0; round < 2 && total > budget; round++, from = 0) {
        size_t n = 0;
        size_t *idx = l4h_xmalloc(c->n * sizeof *idx);
        for (size_t i = from; i < c->n; i++)
            if (len0(out->msgs[i].content) > MIN_KEEP)
                idx[n++] = i;
        sort_ctx = out->msgs;
        qsort(idx, n, sizeof *idx, by_length_desc);
        for (size_t k = 0; k < n && total > budget; k++) {
            size_t len = len0(out->msgs[idx[k]].content);
            size_t over = total - budget;
            size_t s = cut_content(&out->msgs[idx[k]], len > over + MIN_KEEP ? len - over : MIN_KEEP);
            total -= s;
            cut += s != 0;
        }
        free(idx);
    }
    for (size_t i = 0; i < c->n && total > budget; i++) {
        size_t s = cut_arguments(&out->msgs[i]);
        total -= s;
        cut += s != 0;
    }
    return cut;
}
