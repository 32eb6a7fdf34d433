/* llm_replay.c — the replay backend: answers each request with the response
 * recorded in an earlier results file at the same (supervisor, coder, step,
 * trial, agent, call index). Needs the store's reader (l4h_results_open /
 * l4h_results_task). */
#include "llm_internal.h"

static int replay_open(const l4h_config *cfg, const l4h_endpoint *ep, void **state, l4h_err *err)
{
    (void)cfg;
    *state = NULL;
    return l4h_err_set(err, L4H_EXIT_USAGE,
                       "endpoint %s: replay needs the store reader, which is not built yet",
                       ep->name);
}

static int replay_chat(void *state, const l4h_model_resolved *model, const l4h_chat_request *req,
                       l4h_permits *permits, l4h_chat_response *resp, l4h_err *err)
{
    (void)state, (void)req, (void)permits, (void)resp;
    return l4h_err_set(err, L4H_EXIT_USAGE, "model %s: replay needs the store reader", model->name);
}

static int replay_check(void *state, const l4h_model_resolved *model, l4h_err *err)
{
    (void)state;
    return l4h_err_set(err, L4H_EXIT_USAGE, "model %s: replay needs the store reader", model->name);
}

static void replay_close(void *state) { (void)state; }

const l4h_provider_ops l4h_llm_replay_ops = {
    .name = "replay",
    .open = replay_open,
    .chat = replay_chat,
    .check_model = replay_check,
    .close = replay_close,
};
