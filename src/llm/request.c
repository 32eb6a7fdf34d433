/* request.c — the chat-completions request body, built the same way for
 * every backend so a recorded request can be rebuilt exactly. */
#include <math.h>
#include <string.h>

#include "llm_internal.h"

/* One message as OpenAI expects it; content null only when absent. */
static cJSON *message_json(const l4h_message *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "role", m->role);
    if (m->content)
        cJSON_AddStringToObject(o, "content", m->content);
    else
        cJSON_AddNullToObject(o, "content");
    if (m->n_tool_calls > 0) {
        cJSON *arr = cJSON_AddArrayToObject(o, "tool_calls");
        for (size_t i = 0; i < m->n_tool_calls; i++) {
            const l4h_tool_call *tc = &m->tool_calls[i];
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "id", tc->id ? tc->id : "");
            cJSON_AddStringToObject(c, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(c, "function");
            cJSON_AddStringToObject(fn, "name", tc->name ? tc->name : "");
            cJSON_AddStringToObject(fn, "arguments", tc->arguments ? tc->arguments : "");
            cJSON_AddItemToArray(arr, c);
        }
    }
    if (m->tool_call_id)
        cJSON_AddStringToObject(o, "tool_call_id", m->tool_call_id);
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

cJSON *l4h_llm_request_tree(const l4h_model_resolved *model, const l4h_chat_request *req,
                            int max_tokens_override, l4h_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", req->model ? req->model : model->name);
    cJSON *msgs = cJSON_AddArrayToObject(root, "messages");
    for (size_t i = 0; i < req->n_messages; i++)
        cJSON_AddItemToArray(msgs, message_json(&req->messages[i]));
    if (model->temperature.state == L4H_OPT_SET)
        add_number(root, "temperature", model->temperature.value);
    if (max_tokens_override > 0)
        add_number(root, "max_tokens", max_tokens_override);
    else if (model->max_tokens.state == L4H_OPT_SET)
        add_number(root, "max_tokens", model->max_tokens.value);
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
    return root;
}

char *l4h_llm_request_body(const l4h_model_resolved *model, const l4h_chat_request *req,
                           int max_tokens_override, l4h_err *err)
{
    cJSON *tree = l4h_llm_request_tree(model, req, max_tokens_override, err);
    if (!tree)
        return NULL;
    char *s = cJSON_PrintUnformatted(tree);
    cJSON_Delete(tree);
    char *out = l4h_xstrdup(s);
    cJSON_free(s);
    return out;
}
