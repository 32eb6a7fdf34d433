/* test_inputs.c — the campaign's input snapshot: recording keeps the first
 * bytes of each path, a frozen snapshot never reads the disk, the encoding
 * round-trips and refuses damage, the config loader reads through it, and a
 * program verified against it is refused once changed. */
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
#include "../../../src/core/core_internal.h"

static char dir[] = "/tmp/l4h-inputs-XXXXXX";

static char *put(const char *name, const char *text)
{
    char *p = l4h_path_join(dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    l4h_inputs_use(NULL);
    return l4h_remove_tree(dir, NULL);
}

static void test_record_then_frozen(void **state)
{
    (void)state;
    char *a = put("a.txt", "first\n");
    l4h_inputs *in = l4h_inputs_new();
    assert_null(l4h_inputs_use(in));
    char *text = NULL;
    size_t len = 0;
    l4h_err err = {0};
    assert_int_equal(l4h_input_read(a, &text, &len, &err), 0);
    assert_string_equal(text, "first\n");
    free(text);
    /* the file changes: a second read of the path gives the kept bytes */
    free(put("a.txt", "second\n"));
    assert_int_equal(l4h_input_read(a, &text, &len, &err), 0);
    assert_string_equal(text, "first\n");
    free(text);
    assert_int_equal(l4h_inputs_count(in), 1);
    const l4h_input_file *f = core_inputs_find(in, a);
    assert_non_null(f);
    char sha[65];
    l4h_sha256_hex("first\n", 6, sha);
    assert_string_equal(f->sha256, sha);

    /* frozen: a path it does not hold is an error naming it, no disk read */
    char *b = put("b.txt", "other\n");
    l4h_inputs_freeze(in);
    assert_int_equal(l4h_input_read(b, &text, &len, &err), -1);
    assert_int_equal(err.code, L4H_EXIT_USAGE);
    assert_non_null(strstr(err.msg, "b.txt: not in the campaign's input snapshot"));
    assert_true(l4h_input_is_file(a));
    assert_false(l4h_input_is_file(b));

    /* encode / decode round trip; the identity follows */
    size_t n = 0;
    char *blob = l4h_inputs_encode(in, &n);
    l4h_inputs *back = NULL;
    assert_int_equal(l4h_inputs_decode(blob, n, &back, &err), 0);
    assert_int_equal(l4h_inputs_count(back), 1);
    assert_memory_equal(core_inputs_find(back, a)->data, "first\n", 6);
    char s1[65], s2[65];
    l4h_inputs_sha256(in, s1);
    l4h_inputs_sha256(back, s2);
    assert_string_equal(s1, s2);
    /* one flipped content byte: its SHA-256 no longer matches */
    blob[n - 2] ^= 1;
    l4h_inputs *bad = NULL;
    assert_int_equal(l4h_inputs_decode(blob, n, &bad, &err), -1);
    assert_non_null(strstr(err.msg, "does not match its SHA-256"));
    assert_null(bad);
    /* truncated */
    assert_int_equal(l4h_inputs_decode(blob, n - 3, &bad, &err), -1);
    assert_int_equal(l4h_inputs_decode("nope", 4, &bad, &err), -1);
    free(blob);

    /* a program verified against the snapshot: refused once changed */
    l4h_inputs_use(back);
    assert_int_equal(core_input_verify(a, &err), -1);
    assert_non_null(strstr(err.msg, "changed since the campaign started"));
    free(put("a.txt", "first\n"));
    assert_int_equal(core_input_verify(a, &err), 0);
    assert_int_equal(core_input_verify(b, &err), 0); /* not a snapshot file: not ours to judge */
    l4h_inputs_use(NULL);
    l4h_inputs_free(back);
    l4h_inputs_free(in);
    free(a);
    free(b);
}

static void test_config_loads_from_snapshot(void **state)
{
    (void)state;
    char *prompt = put("p.txt", "Do {{step}}.\n");
    free(put("sup.txt", "Supervise.\n"));
    free(put("models.txt", "m/one\nm/two\n"));
    char *suite = put("suite.yml", "name: s\ndata_dir: data\nreference_dir: ref\n"
                                   "solution: [python, soln.py]\n"
                                   "prompts: {supervisor_first: sup.txt, supervisor: sup.txt, "
                                   "coder: sup.txt}\n"
                                   "steps:\n  - name: one\n    prompt: p.txt\n"
                                   "    checks: [{type: text, file: a.txt, patterns: ['x']}]\n");
    char *cfgp = put("c.yml", "name: c\nsuite: suite.yml\nmodels_file: models.txt\n"
                              "endpoints: {e: {base_url: 'http://127.0.0.1:9/v1'}}\n"
                              "model_defaults: {endpoint: e}\n");
    l4h_inputs *in = l4h_inputs_new();
    l4h_inputs_use(in);
    l4h_config *cfg = NULL;
    l4h_err err = {0};
    int rc = l4h_config_load(cfgp, &cfg, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    l4h_config_free(cfg);
    l4h_inputs_freeze(in);
    assert_non_null(core_inputs_find(in, prompt));
    assert_non_null(core_inputs_find(in, suite));

    /* the files change on disk: a load from the snapshot sees the originals */
    free(put("models.txt", "m/three\n"));
    free(put("p.txt", "EDITED {{step}}\n"));
    unlink(suite);
    assert_int_equal(l4h_config_load(cfgp, &cfg, &err), 0);
    assert_int_equal(cfg->n_pairs, 2);
    assert_string_equal(cfg->pairs[0].supervisor, "m/one");
    assert_string_equal(cfg->suite->steps[0].prompt, "Do {{step}}.\n");
    l4h_config_free(cfg);
    l4h_inputs_use(NULL);
    l4h_inputs_free(in);
    free(prompt);
    free(suite);
    free(cfgp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_then_frozen),
        cmocka_unit_test(test_config_loads_from_snapshot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
