/* Workspaces without a sandbox (host views): layout, staged inputs, vars,
 * copy-out (links copied as links, HOME skipped), file listing, removal of a
 * tree the code made read-only; the per-node slot locks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../src/exec/exec_internal.h"

static char base[256];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof base, "/tmp/l4h-unit-ws-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    char p[512];
    snprintf(p, sizeof p, "%s/scratch", base);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ref", base);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ref/arrays", base);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ref/arrays/signal.npy", base);
    write_text(p, "0123456789");
    snprintf(p, sizeof p, "%s/data", base);
    mkdir(p, 0755);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    l4h_remove_tree(base, NULL);
    return 0;
}

static void config(l4h_config *cfg, l4h_suite *suite, char *paths[3])
{
    memset(cfg, 0, sizeof *cfg);
    memset(suite, 0, sizeof *suite);
    paths[0] = l4h_path_join(base, "scratch");
    paths[1] = l4h_path_join(base, "data");
    paths[2] = l4h_path_join(base, "ref");
    cfg->scratch = paths[0];
    suite->data_dir = paths[1];
    suite->reference_dir = paths[2];
    cfg->suite = suite;
}

static void create_stage_vars_list_copy_remove(void **state)
{
    (void)state;
    l4h_config cfg;
    l4h_suite suite;
    char *paths[3];
    config(&cfg, &suite, paths);
    char *stage[] = {"arrays/signal.npy"};
    l4h_step step = {.name = "preprocess", .number = 3, .stage = stage, .n_stage = 1};
    l4h_workspace ws;
    l4h_err err = {0, ""};
    assert_int_equal(l4h_workspace_create(&cfg, NULL, "abcdef0123456789", &step, &ws, &err), 0);
    assert_non_null(strstr(ws.host, "/scratch/llm4hep-abcdef0123456789-"));
    assert_string_equal(ws.view, ws.host);
    assert_string_equal(ws.data_view, paths[1]);
    char p[1024];
    const char *dirs[] = {"generated_code", "arrays", "plots", "logs", ".home"};
    for (int i = 0; i < 5; i++) {
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", ws.host, dirs[i]);
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
    }
    struct stat st;
    snprintf(p, sizeof p, "%s/arrays/signal.npy", ws.host);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 10);
    assert_int_equal(st.st_mode & 0777, 0444);
    assert_int_equal(ws.n_staged, 1);
    assert_string_equal(ws.staged[0], "arrays/signal.npy");

    l4h_vars v;
    char num[16];
    l4h_workspace_vars(&ws, &step, &v, num);
    assert_string_equal(v.workspace, ws.view);
    assert_string_equal(v.step, "preprocess");
    assert_string_equal(v.step_number, "3");
    assert_null(v.inputs);
    assert_null(v.files);

    /* what the code might leave: output, HOME caches, a link to a secret */
    snprintf(p, sizeof p, "%s/plots/a.png", ws.host);
    write_text(p, "png!");
    snprintf(p, sizeof p, "%s/.home/cache", ws.host);
    write_text(p, "cache");
    snprintf(p, sizeof p, "%s/arrays/link.npy", ws.host);
    assert_int_equal(symlink("/etc/shadow", p), 0);
    l4h_file_entry *files;
    size_t n;
    l4h__list_files(ws.host, &files, &n, NULL);
    assert_int_equal(n, 2); /* arrays/signal.npy, plots/a.png: no link, no HOME */
    assert_string_equal(files[0].path, "arrays/signal.npy");
    assert_string_equal(files[1].path, "plots/a.png");
    assert_int_equal(files[1].size, 4);
    l4h__files_free(files, n);

    char *out = l4h_path_join(base, "out");
    assert_int_equal(l4h_workspace_copy_out(&ws, out, &err), 0);
    snprintf(p, sizeof p, "%s/plots/a.png", out);
    assert_int_equal(stat(p, &st), 0);
    snprintf(p, sizeof p, "%s/arrays/link.npy", out);
    assert_int_not_equal(lstat(p, &st), 0); /* a link is never copied as a link */
    snprintf(p, sizeof p, "%s/.home", out);
    assert_int_not_equal(stat(p, &st), 0);
    free(out);

    /* a directory the code made unwritable does not stop removal */
    snprintf(p, sizeof p, "%s/logs/locked", ws.host);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/logs/locked/f", ws.host);
    write_text(p, "x");
    snprintf(p, sizeof p, "%s/logs/locked", ws.host);
    chmod(p, 0500);
    char *host = l4h_xstrdup(ws.host), *top = l4h_xstrdup(ws.top);
    assert_int_equal(l4h_workspace_remove(&ws, &err), 0);
    assert_null(ws.host);
    assert_int_not_equal(stat(host, &st), 0);
    assert_int_not_equal(stat(top, &st), 0);
    free(host);
    free(top);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
}

static void workspace_open_refuses_planted_links(void **state)
{
    (void)state;
    l4h_config cfg;
    l4h_suite suite;
    char *paths[3];
    config(&cfg, &suite, paths);
    l4h_workspace ws;
    l4h_err err = {0, ""};
    assert_int_equal(l4h_workspace_create(&cfg, NULL, "k", NULL, &ws, &err), 0);
    char p[1024], secret[1024];
    snprintf(secret, sizeof secret, "%s/secret.txt", base);
    write_text(secret, "sk-secret");
    snprintf(p, sizeof p, "%s/arrays/ok.txt", ws.host);
    write_text(p, "fine");
    snprintf(p, sizeof p, "%s/arrays/link.txt", ws.host);
    assert_int_equal(symlink(secret, p), 0);
    snprintf(p, sizeof p, "%s/dirlink", ws.host);
    assert_int_equal(symlink(base, p), 0);

    int fd = l4h_workspace_open(&ws, "arrays/ok.txt", &err);
    assert_true(fd >= 0);
    char buf[16] = "";
    assert_int_equal(read(fd, buf, sizeof buf), 4);
    close(fd);
    assert_int_equal(l4h_workspace_open(&ws, "arrays/link.txt", &err), -1);
    assert_int_equal(err.code, 1);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(l4h_workspace_open(&ws, "dirlink/secret.txt", &err), -1);
    assert_int_equal(err.code, 1);
    assert_int_equal(l4h_workspace_open(&ws, "arrays/none.npy", &err), -1);
    assert_non_null(strstr(err.msg, "not found"));
    assert_int_equal(l4h_workspace_open(&ws, "arrays", &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(l4h_workspace_open(&ws, "../secret.txt", &err), -1);
    assert_int_equal(err.code, 2);
    assert_int_equal(l4h_workspace_open(&ws, secret, &err), -1);
    assert_int_equal(err.code, 2);
    assert_int_equal(l4h_workspace_remove(&ws, &err), 0);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
}

static void missing_staged_input_is_named(void **state)
{
    (void)state;
    l4h_config cfg;
    l4h_suite suite;
    char *paths[3];
    config(&cfg, &suite, paths);
    char *stage[] = {"arrays/scores_signal.npy"};
    l4h_step step = {.name = "categorization", .number = 5, .stage = stage, .n_stage = 1};
    l4h_workspace ws;
    l4h_err err = {0, ""};
    assert_int_equal(l4h_workspace_create(&cfg, NULL, "k", &step, &ws, &err), -1);
    assert_int_equal(err.code, 3);
    assert_non_null(strstr(err.msg, "arrays/scores_signal.npy"));
    assert_non_null(strstr(err.msg, "llm4hep reference"));
    stage[0] = "../escape.npy";
    assert_int_equal(l4h_workspace_create(&cfg, NULL, "k", &step, &ws, &err), -1);
    assert_int_equal(err.code, 2);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
}

static void slots_are_exclusive_and_freed_on_close(void **state)
{
    (void)state;
    char *dir = l4h_path_join(base, "slots");
    l4h_err err = {0, ""};
    int a = l4h__slot_acquire(dir, 2, &err);
    int b = l4h__slot_acquire(dir, 2, &err);
    assert_true(a >= 0 && b >= 0 && a != b);
    close(a);
    int c = l4h__slot_acquire(dir, 2, &err); /* a's slot is free again */
    assert_true(c >= 0);
    close(b);
    close(c);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_stage_vars_list_copy_remove),
        cmocka_unit_test(workspace_open_refuses_planted_links),
        cmocka_unit_test(missing_staged_input_is_named),
        cmocka_unit_test(slots_are_exclusive_and_freed_on_close),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
