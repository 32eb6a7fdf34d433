/* conv.c — one agent's conversation: the messages it has seen, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/agent.h"

/* Append a zeroed message with role and a copy of content. Can't fail. */
l4h_message *l4h_conv_add(l4h_conv *c, const char *role, const char *content)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->msgs = l4h_xrealloc(c->msgs, c->cap * sizeof *c->msgs);
    }
    l4h_message *m = &c->msgs[c->n++];
    memset(m, 0, sizeof *m);
    snprintf(m->role, sizeof m->role, "%s", role);
    m->content = l4h_xstrdup(content);
    return m;
}

/* Append the assistant's answer with deep copies of its tool calls. Can't fail. */
l4h_message *l4h_conv_add_answer(l4h_conv *c, const l4h_chat_response *resp)
{
    l4h_message *m = l4h_conv_add(c, "assistant", resp->content);
    if (resp->n_tool_calls) {
        m->tool_calls = l4h_xcalloc(resp->n_tool_calls, sizeof *m->tool_calls);
        m->n_tool_calls = resp->n_tool_calls;
        for (size_t i = 0; i < resp->n_tool_calls; i++) {
            m->tool_calls[i].id = l4h_xstrdup(resp->tool_calls[i].id);
            m->tool_calls[i].name = l4h_xstrdup(resp->tool_calls[i].name);
            m->tool_calls[i].arguments = l4h_xstrdup(resp->tool_calls[i].arguments);
        }
    }
    return m;
}

/* Append a tool result answering tool_call_id. Can't fail. */
l4h_message *l4h_conv_add_tool(l4h_conv *c, const char *tool_call_id, const char *content)
{
    l4h_message *m = l4h_conv_add(c, "tool", content);
    m->tool_call_id = l4h_xstrdup(tool_call_id);
    return m;
}

/* Replace message i's content with a copy. Can't fail; i out of range is ignored. */
void l4h_conv_set(l4h_conv *c, size_t i, const char *content)
{
    if (i >= c->n)
        return;
    free(c->msgs[i].content);
    c->msgs[i].content = l4h_xstrdup(content);
}

/* Free every message and zero the conversation. */
void l4h_conv_free(l4h_conv *c)
{
    for (size_t i = 0; i < c->n; i++)
        l4h_message_clear(&c->msgs[i]);
    free(c->msgs);
    memset(c, 0, sizeof *c);
}
