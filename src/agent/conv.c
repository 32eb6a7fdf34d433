/* conv.c — one agent's conversation: the messages it has seen, in order.
 * Every text enters it cleaned (l4h_text_clean: valid UTF-8, control bytes
 * visible; ids and names on one line), so what is measured against the
 * model's context is what is sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/agent.h"
#include "agent_internal.h"

/* A cleaned copy of s, NULL for NULL. Can't fail. */
static char *clean_or_null(const char *s, unsigned flags)
{
    return s ? l4h_text_clean(s, strlen(s), flags) : NULL;
}

/* Append a zeroed message with role and a copy of content. Can't fail. */
l4h_message *agent_conv_add(l4h_conv *c, const char *role, const char *content)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->msgs = l4h_xrealloc(c->msgs, c->cap * sizeof *c->msgs);
    }
    l4h_message *m = &c->msgs[c->n++];
    memset(m, 0, sizeof *m);
    snprintf(m->role, sizeof m->role, "%s", role);
    m->content = content ? l4h_text_clean(content, strlen(content), 0) : NULL;
    return m;
}

/* Append the assistant's answer with deep copies of its tool calls. Can't fail. */
l4h_message *agent_conv_add_answer(l4h_conv *c, const l4h_chat_response *resp)
{
    l4h_message *m = agent_conv_add(c, "assistant", resp->content);
    if (resp->n_tool_calls) {
        m->tool_calls = l4h_xcalloc(resp->n_tool_calls, sizeof *m->tool_calls);
        m->n_tool_calls = resp->n_tool_calls;
        for (size_t i = 0; i < resp->n_tool_calls; i++) {
            m->tool_calls[i].id = clean_or_null(resp->tool_calls[i].id, L4H_TEXT_ONE_LINE);
            m->tool_calls[i].name = clean_or_null(resp->tool_calls[i].name, L4H_TEXT_ONE_LINE);
            m->tool_calls[i].arguments = clean_or_null(resp->tool_calls[i].arguments, 0);
        }
    }
    return m;
}

/* Append a tool result answering tool_call_id. Can't fail. */
l4h_message *agent_conv_add_tool(l4h_conv *c, const char *tool_call_id, const char *content)
{
    l4h_message *m = agent_conv_add(c, "tool", content);
    m->tool_call_id = clean_or_null(tool_call_id, L4H_TEXT_ONE_LINE);
    return m;
}

/* Replace message i's content with a copy. Can't fail; i out of range is ignored. */
void agent_conv_set(l4h_conv *c, size_t i, const char *content)
{
    if (i >= c->n)
        return;
    free(c->msgs[i].content);
    c->msgs[i].content = clean_or_null(content, 0);
}

/* Free every message and zero the conversation. */
void agent_conv_free(l4h_conv *c)
{
    for (size_t i = 0; i < c->n; i++)
        l4h_message_clear(&c->msgs[i]);
    free(c->msgs);
    memset(c, 0, sizeof *c);
}
