/* test_config.c — valid configs: every contract key lands in core.h's structs,
 * defaults, ${VAR}, relative paths, models files, model resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm4hep/core.h"

#define GOOD LLM4HEP_SOURCE_DIR "/tests/fixtures/configs/good"
#define SUITE LLM4HEP_SOURCE_DIR "/tests/fixtures/configs/suite"

static l4h_config *load(const char *path)
{
    l4h_config *cfg = NULL;
    l4h_err err = {0};
    if (l4h_config_load(path, &cfg, &err))
        fail_msg("%s", err.msg);
    return cfg;
}

static const l4h_pair *find_pair(const l4h_config *c, const char *sup, const char *coder)
{
    for (size_t i = 0; i < c->n_pairs; i++)
        if (!strcmp(c->pairs[i].supervisor, sup) && !strcmp(c->pairs[i].coder, coder))
            return &c->pairs[i];
    fail_msg("no pair %s -> %s", sup, coder);
    return NULL;
}

/* limits, sandbox, retry and infra_retries are exactly these. */
static void assert_settings(const l4h_config *c, l4h_limits l, l4h_sandbox_cfg sb, l4h_retry_cfg r,
                            int infra_retries)
{
    assert_true(c->limits.task_wall_s == l.task_wall_s);
    assert_true(c->limits.exec_timeout_s == l.exec_timeout_s);
    assert_int_equal(c->limits.exec_memory_mb, l.exec_memory_mb);
    assert_int_equal(c->limits.workspace_mb, l.workspace_mb);
    assert_int_equal(c->limits.output_bytes, l.output_bytes);
    assert_int_equal(c->limits.task_tokens, l.task_tokens);
    assert_true(c->limits.campaign_usd == l.campaign_usd);
    assert_string_equal(c->sandbox.python, sb.python);
    assert_int_equal(c->sandbox.isolation, sb.isolation);
    assert_int_equal(c->sandbox.network, sb.network);
    assert_int_equal(c->sandbox.max_parallel_per_node, sb.max_parallel_per_node);
    assert_int_equal(c->retry.max_attempts, r.max_attempts);
    assert_true(c->retry.base_s == r.base_s && c->retry.max_s == r.max_s);
    assert_int_equal(c->infra_retries, infra_retries);
}

static void test_full(void **state)
{
    (void)state;
    unsetenv("L4H_FIXTURE_SCRATCH");
    l4h_config *c = load(GOOD "/full.yml");
    assert_string_equal(c->name, "hgg-2026-11");
    assert_string_equal(c->dir, GOOD);
    assert_string_equal(c->suite_path, GOOD "/../suite/suite.yml");
    assert_string_equal(c->output, GOOD "/results/hgg-2026-11.h5");
    assert_string_equal(c->scratch, "/tmp/llm4hep");
    assert_int_equal(c->trials, 2);
    assert_int_equal(c->max_iterations, 7);
    assert_int_equal(c->n_steps, 3);
    assert_string_equal(c->steps[0], "create_numpy");
    assert_string_equal(c->steps[1], "categorization"); /* given as 5 */
    assert_string_equal(c->steps[2], "scores");
    assert_non_null(c->text);
    char sha[65];
    l4h_sha256_hex(c->text, strlen(c->text), sha);
    assert_string_equal(sha, c->sha256);

    /* models (2 trials each) + models_file + pairs + supervisors x coders, merged */
    assert_int_equal(c->n_pairs, 9);
    assert_string_equal(c->pairs[0].supervisor, "anthropic/claude-sonnet:latest");
    assert_string_equal(c->pairs[0].coder, "anthropic/claude-sonnet:latest");
    assert_int_equal(find_pair(c, "anthropic/claude-sonnet:latest", "anthropic/claude-sonnet:latest")->trials, 2);
    assert_int_equal(find_pair(c, "openai/gpt-5", "openai/gpt-5")->trials, 4);       /* models + file */
    assert_int_equal(find_pair(c, "scripted/careful", "scripted/careful")->trials, 4); /* listed twice */
    assert_int_equal(find_pair(c, "local/llama", "local/llama")->trials, 2);
    assert_int_equal(find_pair(c, "openai/o3", "anthropic/claude-sonnet:latest")->trials, 4);
    assert_int_equal(find_pair(c, "openai/o3", "openai/gpt-5")->trials, 3); /* 1 + 2 */
    assert_int_equal(find_pair(c, "openai/o3", "local/llama")->trials, 2);
    assert_int_equal(find_pair(c, "anthropic/claude-sonnet:latest", "openai/gpt-5")->trials, 2);
    assert_int_equal(find_pair(c, "anthropic/claude-sonnet:latest", "local/llama")->trials, 2);

    assert_int_equal(c->n_endpoints, 4);
    const l4h_endpoint *e = l4h_config_endpoint(c, "cborg");
    assert_non_null(e);
    assert_int_equal(e->provider, L4H_PROVIDER_HTTP);
    assert_string_equal(e->base_url, "https://api.cborg.lbl.gov");
    assert_string_equal(e->api_key_env, "CBORG_API_KEY");
    assert_int_equal(e->max_concurrency, 64);
    assert_true(e->requests_per_minute == 600);
    assert_string_equal(e->where.file, GOOD "/full.yml");
    assert_int_equal(e->where.line, 18);
    assert_int_equal(e->where.col, 3);
    e = l4h_config_endpoint(c, "local");
    assert_null(e->api_key_env);
    assert_int_equal(e->max_concurrency, 0);
    e = l4h_config_endpoint(c, "demo");
    assert_int_equal(e->provider, L4H_PROVIDER_SCRIPTED);
    assert_string_equal(e->dir, GOOD "/../../../../reference/hgg/scripted");
    e = l4h_config_endpoint(c, "again");
    assert_int_equal(e->provider, L4H_PROVIDER_REPLAY);
    assert_string_equal(e->file, GOOD "/old/results.h5");
    assert_null(l4h_config_endpoint(c, "nope"));

    assert_string_equal(c->model_defaults.endpoint, "cborg");
    assert_int_equal(c->model_defaults.temperature.state, L4H_OPT_SET);
    assert_true(c->model_defaults.temperature.value == 0);
    assert_int_equal(c->n_models_config, 3);
    assert_int_equal(c->n_prices, 1);
    assert_true(c->prices[0].input_per_mtok == 1.25 && c->prices[0].output_per_mtok == 10.0);

    assert_settings(c, (l4h_limits){1800, 300, 4096, 2048, 8192, 0, 500},
                    (l4h_sandbox_cfg){"/usr/bin/python3", L4H_ISOLATION_RLIMIT, 0, 8},
                    (l4h_retry_cfg){5, 1.5, 60}, 2);

    /* every file read is in the table */
    int saw_models = 0;
    for (size_t i = 0; i < c->n_files; i++)
        saw_models += strstr(c->files[i], "models.txt") != NULL;
    assert_int_equal(saw_models, 1);
    assert_non_null(c->suite);
    assert_string_equal(c->suite->name, "fixture");
    l4h_config_free(c);
}

static void test_model_resolution(void **state)
{
    (void)state;
    l4h_config *c = load(GOOD "/full.yml");
    l4h_model_resolved m;
    l4h_err err = {0};
    /* o3: temperature null (omit), max_tokens ~ (omit), seed 42, defaults' endpoint */
    assert_int_equal(l4h_config_model(c, "openai/o3", &m, &err), 0);
    assert_string_equal(m.name, "openai/o3");
    assert_string_equal(m.endpoint->name, "cborg");
    assert_int_equal(m.temperature.state, L4H_OPT_NULL);
    assert_int_equal(m.max_tokens.state, L4H_OPT_NULL);
    assert_int_equal(m.seed.state, L4H_OPT_SET);
    assert_true(m.seed.value == 42);
    assert_true(m.request_timeout_s == 600);
    assert_false(m.has_price);
    /* gpt-5: all defaults, priced */
    assert_int_equal(l4h_config_model(c, "openai/gpt-5", &m, &err), 0);
    assert_int_equal(m.temperature.state, L4H_OPT_SET);
    assert_true(m.temperature.value == 0);
    assert_true(m.max_tokens.value == 8192);
    assert_int_equal(m.seed.state, L4H_OPT_UNSET);
    assert_true(m.has_price);
    assert_true(m.input_per_mtok == 1.25 && m.output_per_mtok == 10);
    /* scripted/careful: own endpoint and timeout */
    assert_int_equal(l4h_config_model(c, "scripted/careful", &m, &err), 0);
    assert_string_equal(m.endpoint->name, "demo");
    assert_true(m.request_timeout_s == 30);
    assert_int_equal(l4h_config_model(c, "local/llama", &m, &err), 0);
    assert_true(m.temperature.value == 0.7);
    assert_string_equal(m.endpoint->name, "local");
    assert_int_equal(m.context_tokens, 32768); /* its own context */
    assert_int_equal(l4h_config_model(c, "openai/gpt-5", &m, &err), 0);
    assert_int_equal(m.context_tokens, L4H_CONTEXT_TOKENS_DEFAULT); /* nobody said */
    l4h_config_free(c);
}

static void test_defaults(void **state)
{
    (void)state;
    setenv("TMPDIR", "/scratch/tmp", 1);
    l4h_config *c = l4h_config_defaults();
    unsetenv("TMPDIR");
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_string_equal(c->dir, cwd);
    assert_string_equal(c->scratch, "/scratch/tmp");
    assert_int_equal(c->trials, 1);
    assert_int_equal(c->max_iterations, 10);
    assert_int_equal(c->n_pairs, 0);
    assert_null(c->suite);
    assert_int_equal(c->n_endpoints, 0);
    /* the defaults core.h promises */
    assert_settings(c, (l4h_limits){3600, 900, 8192, 4096, 16384, 2000000, 0},
                    (l4h_sandbox_cfg){"/usr/bin/python3", L4H_ISOLATION_AUTO, 0, 16},
                    (l4h_retry_cfg){8, 2, 120}, 1);
    l4h_config_free(c);
    l4h_config_free(NULL);
}

static char tmp[64];

static const char *put(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    assert_int_equal(l4h_write_file(path, text, strlen(text), NULL), 0);
    return path;
}

static void test_minimal_and_env(void **state)
{
    (void)state;
    setenv("L4H_T_MODEL", "openai/gpt-5", 1);
    setenv("L4H_T_TRIALS", "4", 1);
    unsetenv("L4H_T_OUT");
    const char *p = put("min.yml", "name: min\n"
                                   "suite: " SUITE "/suite.yml\n"
                                   "trials: ${L4H_T_TRIALS}\n"
                                   "output: ${L4H_T_OUT:-out}/r.h5\n"
                                   "models: [\"${L4H_T_MODEL}\", x/y]\n"
                                   "endpoints: {e: {base_url: http://127.0.0.1:8000/v1}}\n"
                                   "model_defaults: {endpoint: e}\n");
    l4h_config *c = load(p);
    assert_int_equal(c->trials, 4);
    char want[300];
    snprintf(want, sizeof want, "%s/out/r.h5", tmp);
    assert_string_equal(c->output, want);
    assert_string_equal(c->pairs[0].supervisor, "openai/gpt-5");
    assert_int_equal(c->pairs[0].trials, 4);
    assert_null(c->steps); /* all of the suite */
    assert_int_equal(c->max_iterations, 10);
    assert_string_equal(c->sandbox.python, "/usr/bin/python3");
    l4h_config_free(c);

    /* output defaults to results/<name>.h5 beside the config; python3 stays a bare name */
    p = put("min2.yml", "name: min2\n"
                        "suite: " SUITE "/suite.yml\n"
                        "models: [a/b]\n"
                        "sandbox: {python: python3}\n"
                        "endpoints: {e: {provider: scripted, dir: scripts}}\n"
                        "models_config: {a/b: {endpoint: e}}\n");
    c = load(p);
    snprintf(want, sizeof want, "%s/results/min2.h5", tmp);
    assert_string_equal(c->output, want);
    assert_string_equal(c->sandbox.python, "python3");
    snprintf(want, sizeof want, "%s/scripts", tmp);
    assert_string_equal(c->endpoints[0].dir, want);
    l4h_config_free(c);
    unsetenv("L4H_T_MODEL");
    unsetenv("L4H_T_TRIALS");
}

/* max_tokens_param, reasoning_effort, extra_body: a model's own replace
 * the defaults'; the cached-input price defaults to the input price; the
 * model-id header defaults to LiteLLM's. */
static void test_chat_api_options(void **state)
{
    (void)state;
    const char *p = put("chat.yml",
                        "name: chat\n"
                        "suite: " SUITE "/suite.yml\n"
                        "models: [openai/o3, openai/gpt-4o]\n"
                        "endpoints: {e: {base_url: http://127.0.0.1:8000/v1},\n"
                        "            p: {base_url: http://127.0.0.1:8001/v1, model_id_header: X-Deploy}}\n"
                        "model_defaults: {endpoint: e, max_tokens: 1000, extra_body: {user: bench}}\n"
                        "models_config:\n"
                        "  openai/o3: {endpoint: p, max_tokens_param: max_completion_tokens,\n"
                        "              reasoning_effort: high, extra_body: {service_tier: flex, n_x: '1'}}\n"
                        "prices:\n"
                        "  openai/o3: {input_per_mtok: 2, output_per_mtok: 8, cached_input_per_mtok: 0.5}\n"
                        "  openai/gpt-4o: {input_per_mtok: 2.5, output_per_mtok: 10}\n");
    l4h_config *c = load(p);
    l4h_model_resolved m;
    l4h_err err = {0};
    assert_int_equal(l4h_config_model(c, "openai/o3", &m, &err), 0);
    assert_string_equal(m.max_tokens_param, "max_completion_tokens");
    assert_string_equal(m.reasoning_effort, "high");
    assert_string_equal(m.extra_body, "{\"service_tier\":\"flex\",\"n_x\":\"1\"}");
    assert_true(m.cached_input_per_mtok == 0.5 && m.input_per_mtok == 2);
    assert_string_equal(m.endpoint->model_id_header, "X-Deploy");
    assert_int_equal(l4h_config_model(c, "openai/gpt-4o", &m, &err), 0);
    assert_string_equal(m.max_tokens_param, "max_tokens");
    assert_null(m.reasoning_effort);
    assert_string_equal(m.extra_body, "{\"user\":\"bench\"}");
    assert_true(m.cached_input_per_mtok == 2.5);
    assert_string_equal(m.endpoint->model_id_header, "x-litellm-model-id");
    l4h_config_free(c);
}

static void test_models_files(void **state)
{
    (void)state;
    put("sups.txt", "# supervisors\nopenai/o3\n\nopenai/o3\n");
    put("coders.txt", "\xef\xbb\xbf" "a/one\nb/two"); /* BOM, no final newline */
    put("models.txt", "\n\n# only one\n   m/x   \n");
    const char *p = put("files.yml", "name: f\n"
                                     "suite: " SUITE "/suite.yml\n"
                                     "trials: 3\n"
                                     "models_file: models.txt\n"
                                     "supervisors_file: sups.txt\n"
                                     "coders_file: coders.txt\n"
                                     "endpoints: {e: {base_url: https://x.example}}\n"
                                     "model_defaults: {endpoint: e}\n");
    l4h_config *c = load(p);
    assert_int_equal(c->n_pairs, 3);
    assert_string_equal(c->pairs[0].supervisor, "m/x");
    assert_int_equal(c->pairs[0].trials, 3);
    assert_string_equal(c->pairs[1].supervisor, "openai/o3");
    assert_string_equal(c->pairs[1].coder, "a/one");
    assert_int_equal(c->pairs[1].trials, 6); /* supervisor listed twice */
    assert_string_equal(c->pairs[2].coder, "b/two");
    assert_int_equal(c->pairs[2].trials, 6);
    assert_int_equal(c->n_files, 5); /* config, models, sups, coders, suite */
    l4h_config_free(c);
}

static int setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/l4h-test-config-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return l4h_remove_tree(tmp, NULL);
}

/* The table of config keys as other rooms and the docs see it: every key
 * path once, and the names of the enumerated values. */
static void test_key_table(void **state)
{
    (void)state;
    char key[256], prev[256] = "";
    size_t n = 0;
    int seen_limit = 0, seen_seed = 0;
    for (; l4h_config_key(n, key, sizeof key) == 0; n++) {
        assert_string_not_equal(key, prev);
        seen_limit |= !strcmp(key, "limits.task_wall_s");
        seen_seed |= !strcmp(key, "models_config.*.seed");
        snprintf(prev, sizeof prev, "%s", key);
    }
    assert_true(n > 50);
    assert_true(seen_limit && seen_seed);
    assert_int_equal(l4h_config_key(n, key, sizeof key), -1);
    assert_int_equal(l4h_config_key(0, key, sizeof key), 0);
    assert_string_equal(key, "name");
    assert_string_equal(l4h_config_choice("sandbox.isolation", L4H_ISOLATION_BWRAP), "bwrap");
    assert_string_equal(l4h_config_choice("sandbox.isolation", L4H_ISOLATION_AUTO), "auto");
    assert_string_equal(l4h_config_choice("endpoints.*.provider", L4H_PROVIDER_REPLAY), "replay");
    assert_string_equal(l4h_config_choice("sandbox.isolation", 7), "?");
    assert_string_equal(l4h_config_choice("limits.task_wall_s", 0), "?");
    assert_string_equal(l4h_config_choice("no.such.key", 0), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),          cmocka_unit_test(test_model_resolution),
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_minimal_and_env),
        cmocka_unit_test(test_models_files),  cmocka_unit_test(test_chat_api_options),
        cmocka_unit_test(test_key_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
