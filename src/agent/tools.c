/* tools.c — function calling: run the step's tool commands for a coder's
 * tool calls in the sandbox (JSON arguments on stdin, the output back as a
 * "tool" message). An unknown tool or arguments that are not a JSON object
 * go back to the model as "tool error: ..." and are recorded as an exec of
 * kind "tool" with exit code 2 — what the classifier calls function_calling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "agent_internal.h"

#define TOOL_ERROR_EXIT 2

static const l4h_tool_spec *find_tool(const l4h_step *step, const char *name)
{
    for (size_t i = 0; name && i < step->n_tools; i++)
        if (!strcmp(step->tools[i].name, name))
            return &step->tools[i];
    return NULL;
}

/* "tool error: ..." for a call that cannot run, or NULL when it can. Caller frees. */
static char *call_error(const l4h_step *step, const l4h_tool_call *tc)
{
    l4h_buf b = {0};
    if (!find_tool(step, tc->name)) {
        l4h_buf_printf(&b, "tool error: unknown tool '%s'; ", tc->name ? tc->name : "");
        if (step->n_tools == 0)
            l4h_buf_puts(&b, "this step offers no tools");
        else
            l4h_buf_puts(&b, "this step offers:");
        for (size_t i = 0; i < step->n_tools; i++)
            l4h_buf_printf(&b, " %s", step->tools[i].name);
        return l4h_buf_take(&b);
    }
    const char *args = tc->arguments ? tc->arguments : "";
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(args, &end, 1);
    if (!j) {
        long at = end ? (long)(end - args) : 0;
        l4h_buf_printf(&b, "tool error: the arguments of %s are not valid JSON (at character %ld): %.200s",
                       tc->name, at + 1, args);
    } else if (!cJSON_IsObject(j)) {
        l4h_buf_printf(&b, "tool error: the arguments of %s must be a JSON object, got: %.200s",
                       tc->name, args);
    }
    cJSON_Delete(j);
    return b.data ? l4h_buf_take(&b) : NULL;
}

/* A failed tool call: tell the model, record it, show it. */
static void refuse(l4h_loop *L, int it, const l4h_tool_call *tc, const char *id, const char *why,
                   l4h_conv *coder, l4h_buf *summary)
{
    agent_conv_add_tool(coder, id, why);
    l4h_exec_result res = {.exit_code = TOOL_ERROR_EXIT, .stdout_text = "",
                           .stderr_text = (char *)why, .isolation = ""};
    l4h_exec_rec *ex = agent_loop_record_exec(L, it, "tool", tc->arguments ? tc->arguments : "", &res);
    snprintf(ex->isolation, sizeof ex->isolation, "%s",
             L->env->sandbox ? l4h_sandbox_isolation(L->env->sandbox) : "");
    if (L->env->observer && L->env->observer->tool)
        L->env->observer->tool(L->env->observer->ctx, it, tc->name ? tc->name : "",
                               tc->arguments ? tc->arguments : "", why);
    l4h_buf_printf(summary, "- %s(%.500s) -> %s\n", tc->name ? tc->name : "?",
                   tc->arguments ? tc->arguments : "", why);
}

/* Run one valid tool call in the sandbox. 0, or -1 when the sandbox failed. */
static int run_one(l4h_loop *L, int it, const l4h_tool_call *tc, const char *id, l4h_conv *coder,
                   l4h_buf *summary)
{
    const l4h_tool_spec *tool = find_tool(L->step, tc->name);
    l4h_err err = {0};
    char **argv = NULL;
    if (l4h_render_argv(tool->command, tool->n_command, &L->vars, &argv, &err) != 0) {
        agent_loop_infra(L, L4H_STATUS_ERROR_INTERNAL, "tool %s: %s", tool->name, err.msg);
        return -1;
    }
    if (l4h_suite_resolve_argv(argv, L->cfg->suite ? L->cfg->suite->dir : NULL, &err) < 0) {
        l4h_strv_free(argv);
        agent_loop_infra(L, L4H_STATUS_ERROR_INTERNAL, "tool %s: %s", tool->name, err.msg);
        return -1;
    }
    l4h_exec_spec spec = {.argv = argv, .stdin_data = tc->arguments,
                          .stdin_len = strlen(tc->arguments),
                          .timeout_s = agent_loop_exec_timeout(L),
                          .suite_program = 1 /* nothing the model wrote runs in it */};
    l4h_exec_result res = {0};
    int rc = l4h_sandbox_run(L->env->sandbox, &L->ws, &spec, &res, &err);
    if (rc == 0 && l4h_suite_verify_argv(argv, &err) < 0) { /* changed while it ran */
        l4h_strv_free(argv);
        l4h_exec_result_clear(&res);
        agent_loop_infra(L, L4H_STATUS_ERROR_INTERNAL, "tool %s: %s", tool->name, err.msg);
        return -1;
    }
    l4h_strv_free(argv);
    if (rc != 0) {
        agent_loop_infra(L, L4H_STATUS_ERROR_SANDBOX, "tool %s: %s", tool->name, err.msg);
        l4h_exec_result_clear(&res);
        return -1;
    }
    agent_loop_record_exec(L, it, "tool", tc->arguments, &res);
    l4h_buf out = {0};
    if (res.exit_code == 0 && !res.timed_out) {
        l4h_buf_puts(&out, res.stdout_text ? res.stdout_text : "");
    } else {
        l4h_buf_printf(&out, "tool %s failed (exit code %d%s):\n%s%s", tool->name, res.exit_code,
                       res.timed_out ? ", timed out" : "", res.stderr_text ? res.stderr_text : "",
                       res.stdout_text ? res.stdout_text : "");
    }
    agent_conv_add_tool(coder, id, out.data ? out.data : "");
    if (L->env->observer && L->env->observer->tool)
        L->env->observer->tool(L->env->observer->ctx, it, tool->name, tc->arguments,
                               out.data ? out.data : "");
    l4h_buf_printf(summary, "- %s(%.500s) -> %.2000s\n", tool->name, tc->arguments,
                   out.data ? out.data : "");
    l4h_buf_free(&out);
    l4h_exec_result_clear(&res);
    return 0;
}

/* Run every tool call of resp. 0, or -1 when the sandbox failed or the loop
 * must stop (status set). */
int agent_loop_run_tools(l4h_loop *L, int it, const l4h_chat_response *resp, l4h_conv *coder,
                       l4h_buf *summary)
{
    for (size_t i = 0; i < resp->n_tool_calls; i++) {
        const l4h_tool_call *tc = &resp->tool_calls[i];
        char idbuf[48];
        const char *id = tc->id;
        if (!id || !*id) {
            snprintf(idbuf, sizeof idbuf, "call_%d_%zu", it, i);
            id = idbuf;
        }
        if (agent_loop_must_stop(L, 0))
            return -1;
        char *why = call_error(L->step, tc);
        if (why) {
            refuse(L, it, tc, id, why, coder, summary);
            free(why);
            continue;
        }
        if (run_one(L, it, tc, id, coder, summary) != 0)
            return -1;
    }
    return 0;
}
