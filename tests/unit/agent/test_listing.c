/* test_listing.c — the {{inputs}} and {{files}} placeholders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "llm4hep/agent.h"
#include "../../../src/agent/agent_internal.h"

static char root[256];

static void put(const char *rel, const void *data, size_t n)
{
    char *p = l4h_path_join(root, rel);
    char *d = l4h_path_dir(p);
    assert_int_equal(l4h_mkdirs(d, 0755, NULL), 0);
    assert_int_equal(l4h_write_file(p, data, n, NULL), 0);
    free(d);
    free(p);
}

/* A version 1 .npy file: header padded so the data starts at a multiple of 64. */
static void put_npy(const char *rel, const char *descr, const char *shape, size_t data_bytes)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    size_t hlen = (size_t)n + 1;
    size_t pad = (64 - (10 + hlen) % 64) % 64;
    hlen += pad;
    size_t total = 10 + hlen + data_bytes;
    unsigned char *buf = calloc(1, total);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    put(rel, buf, total);
    free(buf);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/l4h-test-listing-XXXXXX");
    assert_non_null(mkdtemp(root));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    l4h_remove_tree(root, NULL);
    return 0;
}

static void has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected [%s] in:\n%s", part, text);
}

static void inputs_name_size_dtype_and_shape(void **state)
{
    (void)state;
    put_npy("ws/arrays/signal.npy", "<f8", "(3, 2)", 48);
    put_npy("ws/arrays/scores.npy", "|b1", "(5,)", 5);
    put("ws/categories.json", "{}", 2);
    char *stage[] = {"arrays/signal.npy", "arrays/scores.npy", "categories.json", "arrays/gone.npy"};
    l4h_step step = {.name = "s", .number = 1, .stage = stage, .n_stage = 4};
    char *host = l4h_path_join(root, "ws");
    l4h_workspace ws = {.host = host, .view = "/workspace"};
    char *t = agent_inputs_text(&ws, &step);
    has(t, "- /workspace/arrays/signal.npy: 176 bytes; .npy float64, shape (3, 2) (read-only)\n");
    has(t, "- /workspace/arrays/scores.npy: 133 bytes; .npy bool, shape (5,) (read-only)\n");
    has(t, "- /workspace/categories.json: 2 bytes (read-only)\n");
    has(t, "- /workspace/arrays/gone.npy: missing");
    free(t);
    step.n_stage = 0;
    t = agent_inputs_text(&ws, &step);
    has(t, "none");
    free(t);
    free(host);
}

static void files_sorted_with_sizes_hidden_skipped(void **state)
{
    (void)state;
    put("data/MC/b.h5", "xyz", 3);
    put("data/Data/a.h5", "xy", 2);
    put("data/.hidden", "x", 1);
    char *host = l4h_path_join(root, "data");
    char *t = agent_files_text(host, "/data");
    assert_string_equal(t, "- /data/Data/a.h5: 2 bytes\n- /data/MC/b.h5: 3 bytes");
    free(t);
    free(host);
    put("empty/.keep", "", 0);
    host = l4h_path_join(root, "empty");
    t = agent_files_text(host, "/data");
    has(t, "is empty");
    free(t);
    free(host);
    t = agent_files_text("/nonexistent/llm4hep", "/data");
    has(t, "cannot be read");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(inputs_name_size_dtype_and_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(files_sorted_with_sizes_hidden_skipped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
