/* test_suite_plan.c — suite contents, placeholders, the plan's order and keys,
 * and the dry-run print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm4hep/core.h"

#define GOOD LLM4HEP_SOURCE_DIR "/tests/fixtures/configs/good"
#define SUITE LLM4HEP_SOURCE_DIR "/tests/fixtures/configs/suite"

static l4h_suite *load_suite(const char *path)
{
    l4h_suite *s = NULL;
    l4h_err err = {0};
    if (l4h_suite_load(path, &s, &err))
        fail_msg("%s", err.msg);
    return s;
}

static void test_suite_fields(void **state)
{
    (void)state;
    setenv("L4H_FIXTURE_DATA", "/data/hgg", 1);
    l4h_suite *s = load_suite(SUITE "/suite.yml");
    unsetenv("L4H_FIXTURE_DATA");
    assert_string_equal(s->name, "fixture");
    assert_string_equal(s->dir, SUITE);
    assert_string_equal(s->data_dir, "/data/hgg");
    assert_string_equal(s->reference_dir, SUITE "/solution");
    assert_int_equal(s->n_generate, 4);
    assert_string_equal(s->generate[3], "{{data_dir}}");
    assert_null(s->generate[4]);
    assert_int_equal(s->n_solution, 8);
    assert_string_equal(s->solution[1], "soln.py");
    assert_int_equal(s->n_requires, 1);
    assert_string_equal(s->requires[0], "numpy");
    assert_non_null(strstr(s->prompt_supervisor_first, "step {{step}} (number {{step_number}})"));
    assert_non_null(strstr(s->prompt_supervisor, "VERDICT: DONE"));
    assert_non_null(strstr(s->prompt_coder, "f\"{{x!r}}\""));
    assert_int_equal(s->n_steps, 5);
    const l4h_step *st = &s->steps[1];
    assert_string_equal(st->name, "create_numpy");
    assert_int_equal(st->number, 2);
    assert_string_equal(st->prompt_path, SUITE "/prompts/step.txt");
    assert_non_null(strstr(st->prompt, "{{inputs}}"));
    assert_int_equal(st->n_stage, 0);
    assert_int_equal(st->n_checks, 2);
    assert_int_equal(st->checks[0].kind, L4H_CHECK_ARRAY);
    assert_string_equal(st->checks[0].name, "array:arrays/data_raw.npy");
    assert_string_equal(st->checks[1].name, "array:arrays/data_raw.npy#2");
    assert_int_equal(st->checks[0].sig_digits, 4);
    assert_true(st->checks[0].zero_floor == 1e-9);
    assert_int_equal(st->checks[1].sig_digits, 3);
    assert_string_equal(st->checks[0].where.file, s->path);
    assert_int_equal(st->checks[0].where.line, 21);
    assert_int_equal(st->checks[0].where.col, 9);
    st = &s->steps[0];
    assert_int_equal(st->checks[0].kind, L4H_CHECK_TEXT);
    assert_string_equal(st->checks[0].name, "text:summary.txt");
    assert_int_equal(st->checks[0].n_patterns, 2);
    assert_string_equal(st->checks[0].patterns[1], "photon_pt");
    assert_non_null(st->stage); /* stage: [] is an empty list */
    assert_int_equal(st->n_stage, 0);
    st = &s->steps[3];
    assert_int_equal(st->checks[0].kind, L4H_CHECK_COMMAND);
    assert_string_equal(st->checks[0].name, "command:checks/scores.py");
    assert_int_equal(st->checks[0].n_run, 4);
    assert_int_equal(st->checks[0].n_expect, 2);
    assert_string_equal(st->checks[0].expect[0].key, "auc_delta");
    assert_true(st->checks[0].expect[0].has_min && st->checks[0].expect[0].has_max);
    assert_true(st->checks[0].expect[0].min == -0.02 && st->checks[0].expect[0].max == 0.02);
    assert_true(st->checks[0].expect[1].has_min && !st->checks[0].expect[1].has_max);
    st = &s->steps[4];
    assert_int_equal(st->n_stage, 2);
    assert_string_equal(st->stage[1], "arrays/scores_signal.npy");
    assert_int_equal(st->n_tools, 1);
    assert_string_equal(st->tools[0].name, "evaluate_boundaries");
    assert_string_equal(st->tools[0].description, "Expected significance for score boundaries");
    assert_string_equal(st->tools[0].parameters_json,
                        "{\"type\":\"object\",\"properties\":{\"boundaries\":{\"type\":\"array\","
                        "\"items\":{\"type\":\"number\"}}},\"required\":[\"boundaries\"]}");
    assert_int_equal(st->tools[0].n_command, 4);

    assert_ptr_equal(l4h_suite_step(s, "scores"), &s->steps[3]);
    assert_ptr_equal(l4h_suite_step(s, "1"), &s->steps[0]);
    assert_ptr_equal(l4h_suite_step(s, "5"), &s->steps[4]);
    assert_null(l4h_suite_step(s, "0"));
    assert_null(l4h_suite_step(s, "6"));
    assert_null(l4h_suite_step(s, "2x"));
    assert_null(l4h_suite_step(s, ""));
    assert_null(l4h_suite_step(s, NULL));
    assert_int_equal(strlen(s->sha256), 64);
    l4h_suite_free(s);
}

/* The suite hash covers the files it names: change a prompt or the
 * solution program and it changes; change an unrelated file and it doesn't. */
static void test_suite_hash(void **state)
{
    (void)state;
    char dir[] = "/tmp/l4h-test-suitehash-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300];
    const char *yml = "name: h\ndata_dir: d\nreference_dir: r\n"
                      "solution: [python, soln.py, '{{workspace}}']\n"
                      "prompts: {supervisor_first: p.txt, supervisor: p.txt, coder: p.txt}\n"
                      "steps: [{name: a, prompt: q.txt, checks: [{type: text, file: f, patterns: [x]}]}]\n";
    const char *files[][2] = {{"suite.yml", yml}, {"p.txt", "p"}, {"q.txt", "q"},
                              {"soln.py", "print(1)"}, {"other.txt", "o"}};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        assert_int_equal(l4h_write_file(path, files[i][1], strlen(files[i][1]), NULL), 0);
    }
    snprintf(path, sizeof path, "%s/suite.yml", dir);
    l4h_suite *s = load_suite(path);
    char h0[65];
    strcpy(h0, s->sha256);
    l4h_suite_free(s);
    const char *change[] = {"q.txt", "soln.py", "other.txt"};
    for (int i = 0; i < 3; i++) {
        char f[300];
        snprintf(f, sizeof f, "%s/%s", dir, change[i]);
        assert_int_equal(l4h_write_file(f, "changed", 7, NULL), 0);
        s = load_suite(path);
        if (i < 2)
            assert_string_not_equal(s->sha256, h0);
        else
            assert_string_equal(s->sha256, h0);
        strcpy(h0, s->sha256);
        l4h_suite_free(s);
    }
    assert_int_equal(l4h_remove_tree(dir, NULL), 0);
}

static void test_render(void **state)
{
    (void)state;
    l4h_vars v = {.workspace = "/workspace", .data_dir = "/data", .reference_dir = "/ref",
                  .step = "scores", .step_number = "4", .inputs = "a.npy (3,) float64",
                  .files = NULL};
    char *out;
    l4h_err err = {0};
    assert_int_equal(l4h_render("Step {{step}} ({{ step_number }}) in {{workspace}}: "
                                "{{inputs}}; f\"{{x!r}}\" {{ {not}} }} {", &v, &out, &err), 0);
    assert_string_equal(out, "Step scores (4) in /workspace: a.npy (3,) float64; f\"{{x!r}}\" "
                             "{{ {not}} }} {");
    free(out);
    out = (char *)1;
    assert_int_equal(l4h_render("see {{files}}", &v, &out, &err), -1);
    assert_null(out);
    assert_int_equal(err.code, 2);
    assert_string_equal(err.msg, "placeholder '{{files}}' has no value here");
    assert_int_equal(l4h_render("{{workdir}}/x", &v, &out, &err), -1);
    assert_string_equal(err.msg, "unknown placeholder '{{workdir}}': expected one of {{workspace}}, "
                                 "{{data_dir}}, {{reference_dir}}, {{step}}, {{step_number}}, "
                                 "{{inputs}}, {{files}}");
    /* one scanner with the suite loader's check: the same near-miss hint, and a
     * placeholder right after a stray '{' */
    assert_int_equal(l4h_render("{{step_numbr}}", &v, &out, &err), -1);
    assert_string_equal(err.msg, "unknown placeholder '{{step_numbr}}'; did you mean '{{step_number}}'?");
    assert_int_equal(l4h_render("{{{step}}}", &v, &out, &err), 0);
    assert_string_equal(out, "{scores}");
    free(out);
    char *tmpl[] = {"python", "soln.py", "--step", "{{step_number}}", "--out", "{{workspace}}/o"};
    char **argv;
    assert_int_equal(l4h_render_argv(tmpl, 6, &v, &argv, &err), 0);
    assert_string_equal(argv[3], "4");
    assert_string_equal(argv[5], "/workspace/o");
    assert_null(argv[6]);
    l4h_strv_free(argv);
    char *bad[] = {"python", "{{files}}"};
    argv = (char **)1;
    assert_int_equal(l4h_render_argv(bad, 2, &v, &argv, &err), -1);
    assert_null(argv);
    assert_string_equal(err.msg, "command word 2 '{{files}}': placeholder '{{files}}' has no value here");
    l4h_strv_free(NULL);
}

static void test_task_key(void **state)
{
    (void)state;
    char k[17];
    /* sha256("hgg-2026-11\0openai/o3\0anthropic/claude-sonnet:latest\0create_numpy\0" "3"),
     * first 16 hex, as computed by Python's hashlib */
    l4h_task_key("hgg-2026-11", "openai/o3", "anthropic/claude-sonnet:latest", "create_numpy", 3, k);
    assert_string_equal(k, "f7a57c549bfe0754");
    char k2[17];
    l4h_task_key("hgg-2026-11", "openai/o3", "anthropic/claude-sonnet:latest", "create_numpy", 2, k2);
    assert_string_not_equal(k, k2);
    /* the separators matter: ("ab","c") and ("a","bc") differ */
    l4h_task_key("x", "ab", "c", "s", 1, k);
    l4h_task_key("x", "a", "bc", "s", 1, k2);
    assert_string_not_equal(k, k2);
}

static void test_plan_sixty(void **state)
{
    (void)state;
    l4h_config *c = NULL;
    l4h_err err = {0};
    if (l4h_config_load(GOOD "/four-models.yml", &c, &err))
        fail_msg("%s", err.msg);
    l4h_plan plan;
    assert_int_equal(l4h_plan_build(c, &plan, &err), 0);
    assert_int_equal(plan.n_tasks, 60);
    /* trial-interleaved: trial t holds tasks [20(t-1), 20t); steps outer, models inner */
    for (size_t i = 0; i < 60; i++) {
        const l4h_task *t = &plan.tasks[i];
        assert_int_equal(t->index, (int)i);
        assert_int_equal(t->trial, (int)(i / 20) + 1);
        assert_int_equal(t->step->number, (int)(i % 20) / 4 + 1);
        assert_string_equal(t->supervisor, c->pairs[i % 4].supervisor);
        assert_string_equal(t->coder, t->supervisor);
        char k[17];
        l4h_task_key(c->name, t->supervisor, t->coder, t->step->name, t->trial, k);
        assert_string_equal(t->key, k);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(plan.tasks[j].key, t->key);
    }
    assert_string_equal(plan.tasks[1].supervisor, "openai/gpt-5");
    assert_string_equal(plan.tasks[1].key, "64d204db6cff959d");
    l4h_plan_free(&plan);
    assert_null(plan.tasks);
    l4h_config_free(c);
}

static void test_plan_uneven(void **state)
{
    (void)state;
    char dir[] = "/tmp/l4h-test-plan-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/c.yml", dir);
    const char *yml = "name: uneven\nsuite: " SUITE "/suite.yml\ntrials: 1\nsteps: [scores, 1]\n"
                      "pairs: [{supervisor: s, coder: c, trials: 3}, {supervisor: s, coder: d}]\n"
                      "models: [m]\n"
                      "endpoints: {e: {base_url: http://127.0.0.1:1}}\nmodel_defaults: {endpoint: e}\n";
    assert_int_equal(l4h_write_file(path, yml, strlen(yml), NULL), 0);
    l4h_config *c = NULL;
    l4h_err err = {0};
    if (l4h_config_load(path, &c, &err))
        fail_msg("%s", err.msg);
    l4h_plan plan;
    assert_int_equal(l4h_plan_build(c, &plan, &err), 0);
    /* pairs: m (1 trial), s->c (3), s->d (1); steps scores then summarize_root */
    static const struct { int trial; const char *step, *sup, *coder; } want[] = {
        {1, "scores", "m", "m"}, {1, "scores", "s", "c"}, {1, "scores", "s", "d"},
        {1, "summarize_root", "m", "m"}, {1, "summarize_root", "s", "c"}, {1, "summarize_root", "s", "d"},
        {2, "scores", "s", "c"}, {2, "summarize_root", "s", "c"},
        {3, "scores", "s", "c"}, {3, "summarize_root", "s", "c"}};
    assert_int_equal(plan.n_tasks, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(plan.tasks[i].trial, want[i].trial);
        assert_string_equal(plan.tasks[i].step->name, want[i].step);
        assert_string_equal(plan.tasks[i].supervisor, want[i].sup);
        assert_string_equal(plan.tasks[i].coder, want[i].coder);
    }
    /* its dry-run print: tests/integration/test_core_dryrun.py::test_uneven_plan_print */
    l4h_plan_free(&plan);
    l4h_config_free(c);
    assert_int_equal(l4h_remove_tree(dir, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_fields), cmocka_unit_test(test_suite_hash),
        cmocka_unit_test(test_render),       cmocka_unit_test(test_task_key),
        cmocka_unit_test(test_plan_sixty),   cmocka_unit_test(test_plan_uneven),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
