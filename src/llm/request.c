/* request.c — the chat-completions request body, built the same way for
 * every backend so a recorded request can be rebuilt exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

/* Add a string member that is valid UTF-8 whatever s holds (generated
 * code's output and a model's own bytes reach here): a text that is not
 * clean is sent as l4h_text_clean makes it, so no endpoint can refuse the
 * request for its encoding. The agent loop cleans its conversation already;
 * this is the last line for every backend. */
static void add_text(cJSON *o, const char *key, const char *s, unsigned flags)
{
    size_t n = strlen(s);
    if (l4h_text_is_clean(s, n, flags)) {
        cJSON_AddStringToObject(o, key, s);
        return;
    }
    char *c = l4h_text_clean(s, n, flags);
    cJSON_AddStringToObject(o, key, c);
    free(c);
}

/* One message as OpenAI expects it; content null only when absent. */
static cJSON *message_json(const l4h_message *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "role", m->role);
    if (m->content)
        add_text(o, "content", m->content, 0);
    else
        cJSON_AddNullToObject(o, "content");
    if (m->n_tool_calls > 0) {
        cJSON *arr = cJSON_AddArrayToObject(o, "tool_calls");
        for (size_t i = 0; i < m->n_tool_calls; i++) {
            const l4h_tool_call *tc = &m->tool_calls[i];
            cJSON *c = cJSON_CreateObject();
            add_text(c, "id", tc->id ? tc->id : "", L4H_TEXT_ONE_LINE);
            cJSON_AddStringToObject(c, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(c, "function");
            add_text(fn, "name", tc->name ? tc->name : "", L4H_TEXT_ONE_LINE);
            add_text(fn, "arguments", tc->arguments ? tc->arguments : "", 0);
            cJSON_AddItemToArray(arr, c);
        }
    }
    if (m->tool_call_id)
        add_text(o, "tool_call_id", m->tool_call_id, L4H_TEXT_ONE_LINE);
    return o;
}

/* {"type":"function","function":{name, description, parameters}}; NULL with
 * err when the parameters schema is not JSON. */
static cJSON *tool_json(const l4h_tool_spec *t, l4h_err *err)
{
    cJSON *params = NULL;
    if (t->parameters_json && *t->parameters_json) {
        params = cJSON_Parse(t->parameters_json);
        if (!params) {
            l4h_err_set(err, L4H_EXIT_USAGE, "tool %s: parameters are not valid JSON: %.80s",
                        t->name ? t->name : "?", t->parameters_json);
            return NULL;
        }
    } else {
        params = cJSON_CreateObject();
        cJSON_AddStringToObject(params, "type", "object");
        cJSON_AddObjectToObject(params, "properties");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "function");
    cJSON *fn = cJSON_AddObjectToObject(o, "function");
    cJSON_AddStringToObject(fn, "name", t->name ? t->name : "");
    if (t->description)
        cJSON_AddStringToObject(fn, "description", t->description);
    cJSON_AddItemToObject(fn, "parameters", params);
    return o;
}

/* Add a number, as an integer when it is one (max_tokens, seed). */
static void add_number(cJSON *o, const char *key, double v)
{
    if (v == floor(v) && fabs(v) < 9.0e15)
        cJSON_AddItemToObject(o, key, cJSON_CreateNumber(v));
    else
        cJSON_AddNumberToObject(o, key, v);
}

/* The members of the model's extra_body (JSON object text the config
 * checked) appended to root as they are. 0, or -1 (code 2) with err when it
 * is not an object or names a member root already has. */
static int add_extra_body(cJSON *root, const l4h_model_resolved *model, l4h_err *err)
{
    cJSON *extra = cJSON_Parse(model->extra_body);
    if (!cJSON_IsObject(extra)) {
        cJSON_Delete(extra);
        return l4h_err_set(err, L4H_EXIT_USAGE, "model %s: extra_body is not a JSON object",
                           model->name);
    }
    while (extra->child) {
        cJSON *item = cJSON_DetachItemViaPointer(extra, extra->child);
        if (cJSON_GetObjectItemCaseSensitive(root, item->string)) {
            l4h_err_set(err, L4H_EXIT_USAGE, "model %s: extra_body member '%s' is one llm4hep sets",
                        model->name, item->string);
            cJSON_Delete(item);
            cJSON_Delete(extra);
            return -1;
        }
        cJSON_AddItemToObject(root, item->string, item);
    }
    cJSON_Delete(extra);
    return 0;
}

cJSON *llm_request_tree(const l4h_model_resolved *model, const l4h_chat_request *req,
                            int max_tokens_override, l4h_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", req->model ? req->model : model->name);
    cJSON *msgs = cJSON_AddArrayToObject(root, "messages");
    for (size_t i = 0; i < req->n_messages; i++)
        cJSON_AddItemToArray(msgs, message_json(&req->messages[i]));
    if (model->temperature.state == L4H_OPT_SET)
        add_number(root, "temperature", model->temperature.value);
    const char *limit = model->max_tokens_param ? model->max_tokens_param : "max_tokens";
    if (max_tokens_override > 0)
        add_number(root, limit, max_tokens_override);
    else if (model->max_tokens.state == L4H_OPT_SET)
        add_number(root, limit, model->max_tokens.value);
    if (model->reasoning_effort)
        cJSON_AddStringToObject(root, "reasoning_effort", model->reasoning_effort);
    if (model->seed.state == L4H_OPT_SET)
        add_number(root, "seed", model->seed.value);
    if (req->n_tools > 0 && req->tools) {
        cJSON *tools = cJSON_AddArrayToObject(root, "tools");
        for (size_t i = 0; i < req->n_tools; i++) {
            cJSON *t = tool_json(&req->tools[i], err);
            if (!t) {
                cJSON_Delete(root);
                return NULL;
            }
            cJSON_AddItemToArray(tools, t);
        }
        cJSON_AddStringToObject(root, "tool_choice", "auto");
    }
    if (model->extra_body && add_extra_body(root, model, err) < 0) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

char *llm_request_body(const l4h_model_resolved *model, const l4h_chat_request *req,
                           int max_tokens_override, l4h_err *err)
{
    cJSON *tree = llm_request_tree(model, req, max_tokens_override, err);
    if (!tree)
        return NULL;
    char *s = cJSON_PrintUnformatted(tree);
    cJSON_Delete(tree);
    char *out = l4h_xstrdup(s);
    cJSON_free(s);
    return out;
}
