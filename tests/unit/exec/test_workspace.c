/* Workspaces without a sandbox (host views): layout, staged inputs, vars,
 * copy-out (links never copied, HOME skipped, a non-empty out-dir refused),
 * file listing, removal of a tree the code made read-only; host records
 * written past links the code planted; staged inputs restored; the scan at
 * every level; the per-node slot locks and their directory's safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
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
    exec_list_files(ws.host, &files, &n, NULL);
    assert_int_equal(n, 2); /* arrays/signal.npy, plots/a.png: no link, no HOME */
    assert_string_equal(files[0].path, "arrays/signal.npy");
    assert_string_equal(files[1].path, "plots/a.png");
    assert_int_equal(files[1].size, 4);
    exec_files_free(files, n);

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
    int a = exec_slot_acquire(dir, 2, NULL, &err);
    int b = exec_slot_acquire(dir, 2, NULL, &err);
    assert_true(a >= 0 && b >= 0 && a != b);
    close(a);
    int c = exec_slot_acquire(dir, 2, NULL, &err); /* a's slot is free again */
    assert_true(c >= 0);
    close(b);
    close(c);
    free(dir);
}


static char *read_text(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The code replaces logs/ and generated_code/ by links to a private
 * directory and plants links at the out-dir's names: the host writes its
 * records and the next code file, and copies out, and nothing reaches the
 * private directory. */
static void host_writes_never_follow_planted_links(void **state)
{
    (void)state;
    l4h_config cfg;
    l4h_suite suite;
    char *paths[3];
    config(&cfg, &suite, paths);
    l4h_workspace ws;
    l4h_err err = {0, ""};
    assert_int_equal(l4h_workspace_create(&cfg, NULL, "k", NULL, &ws, &err), 0);
    char p[2048], victim[512], q[1024];
    snprintf(victim, sizeof victim, "%s/private", base);
    mkdir(victim, 0700);
    const char *dirs[] = {"logs", "generated_code"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", ws.host, dirs[i]);
        assert_int_equal(rmdir(p), 0);
        assert_int_equal(symlink(victim, p), 0);
    }
    snprintf(p, sizeof p, "%s/task.json", ws.host); /* where run writes the record */
    snprintf(q, sizeof q, "%s/planted", victim);
    assert_int_equal(symlink(q, p), 0);
    snprintf(p, sizeof p, "%s/arrays/fifo", ws.host);
    assert_int_equal(mkfifo(p, 0644), 0);
    assert_int_equal(l4h_workspace_write(&ws, "generated_code/iter_2.py", "print(2)\n", 9, &err), 0);
    assert_int_equal(l4h_workspace_record(&ws, "logs/iter_1.stdout", "out\n", 4, &err), 0);
    /* the code's own logs/ stays the code's business: the record is ours */
    snprintf(p, sizeof p, "%s/logs", ws.host);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    snprintf(p, sizeof p, "%s/generated_code", ws.host);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode)); /* the link was replaced by a directory */
    snprintf(p, sizeof p, "%s/generated_code/iter_2.py", ws.host);
    assert_string_equal(read_text(p), "print(2)\n");

    char *out = l4h_path_join(base, "out-links");
    assert_int_equal(l4h_workspace_copy_out(&ws, out, &err), 0);
    snprintf(p, sizeof p, "%s/logs/iter_1.stdout", out);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_string_equal(read_text(p), "out\n");
    snprintf(p, sizeof p, "%s/generated_code/iter_2.py", out);
    assert_string_equal(read_text(p), "print(2)\n");
    snprintf(p, sizeof p, "%s/task.json", out);
    assert_int_not_equal(lstat(p, &st), 0);
    snprintf(p, sizeof p, "%s/arrays/fifo", out);
    assert_int_not_equal(lstat(p, &st), 0);
    /* nothing went to the private directory */
    snprintf(p, sizeof p, "rmdir %s 2>/dev/null", victim);
    assert_int_equal(system(p), 0);

    /* the out-dir now holds a task: a second copy is refused, saying what to do */
    assert_int_equal(l4h_workspace_outdir_check(out, &err), -1);
    assert_int_equal(err.code, 2);
    assert_non_null(strstr(err.msg, "not empty"));
    assert_non_null(strstr(err.msg, "mix two tasks"));
    assert_int_equal(l4h_workspace_copy_out(&ws, out, &err), -1);
    assert_int_equal(err.code, 2);
    free(out);
    assert_int_equal(l4h_workspace_remove(&ws, &err), 0);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
}

/* Whatever the code does to its staged inputs and its root, the next run
 * starts with them in place. */
static void staged_inputs_and_root_are_restored(void **state)
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
    assert_int_equal(l4h_workspace_create(&cfg, NULL, "k", &step, &ws, &err), 0);
    char p[1024], q[1024];
    struct stat st;
    for (int attack = 0; attack < 5; attack++) {
        snprintf(p, sizeof p, "%s/arrays/signal.npy", ws.host);
        snprintf(q, sizeof q, "%s/arrays", ws.host);
        switch (attack) {
        case 0: /* removed */
            assert_int_equal(unlink(p), 0);
            break;
        case 1: /* rewritten (an ordinary user's code owns it) */
            chmod(p, 0644);
            write_text(p, "9999999999");
            break;
        case 2: /* its directory swapped for a link */
            snprintf(p, sizeof p, "%s/moved", ws.host);
            assert_int_equal(rename(q, p), 0);
            assert_int_equal(symlink("/etc", q), 0);
            break;
        case 3: /* a directory at its name */
            assert_int_equal(unlink(p), 0);
            assert_int_equal(mkdir(p, 0755), 0);
            break;
        case 4: /* the root made unusable */
            assert_int_equal(chmod(ws.host, 0), 0);
            break;
        }
        assert_int_equal(exec_workspace_restore(NULL, &ws, &err), 0);
        snprintf(p, sizeof p, "%s/arrays/signal.npy", ws.host);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0444);
        assert_string_equal(read_text(p), "0123456789");
        assert_int_equal(stat(ws.host, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0755);
    }
    assert_int_equal(stat("/etc/signal.npy", &st), -1);
    /* HOME's /tmp and /dev/shm are real directories before each run */
    snprintf(p, sizeof p, "%s/.home/.tmp", ws.host);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(rmdir(p), 0);
    assert_int_equal(symlink("/root", p), 0);
    assert_int_equal(exec_workspace_restore(NULL, &ws, &err), 0);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* the root itself gone: the code's doing (code 1), not the harness's */
    char *top = l4h_xstrdup(ws.top);
    snprintf(p, sizeof p, "%s/gone", top);
    assert_int_equal(rename(ws.host, p), 0);
    assert_int_equal(exec_workspace_restore(NULL, &ws, &err), -1);
    assert_int_equal(err.code, 1);
    assert_int_equal(l4h_workspace_write(&ws, "generated_code/iter_2.py", "x", 1, &err), -1);
    assert_int_equal(err.code, 1);
    assert_int_equal(l4h_workspace_remove(&ws, &err), 0);
    assert_int_not_equal(stat(top, &st), 0);
    free(top);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
}

/* 300 MB written 70 levels down (sparse: it costs its full size when copied
 * out) is counted; a tree deeper than L4H_WS_MAX_DEPTH is the limit and is
 * pruned by the listing after the run. */
static void the_scan_counts_every_level(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/scan", base);
    mkdir(dir, 0755);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < 200; i++) {
        if (i == 70) {
            int f = openat(fd, "big.bin", O_WRONLY | O_CREAT, 0644);
            assert_int_equal(ftruncate(f, 300L * 1024 * 1024), 0);
            close(f);
        }
        assert_int_equal(mkdirat(fd, "d", 0755), 0);
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = next;
    }
    close(fd);
    int64_t bytes, entries;
    assert_int_equal(exec_tree_usage(dir, &bytes, &entries), 1); /* too deep */
    assert_true(bytes >= 300LL * 1024 * 1024);
    l4h_file_entry *files;
    size_t n;
    int pruned = 0;
    exec_list_files(dir, &files, &n, &pruned);
    assert_int_equal(pruned, 1);
    assert_int_equal(n, 1);
    assert_int_equal(files[0].size, 300L * 1024 * 1024);
    exec_files_free(files, n);
    assert_int_equal(exec_tree_usage(dir, &bytes, &entries), 0);
    assert_int_equal(entries, L4H_WS_MAX_DEPTH - 1 + 1);
    l4h_remove_tree(dir, NULL);
}

/* Another user created the slot directory first (or planted a link there):
 * refused, saying what to do; a wait for a busy slot ends at the stop flag. */
static void slot_directory_must_be_ours(void **state)
{
    (void)state;
    char dir[512], p[600];
    l4h_err err = {0, ""};
    snprintf(dir, sizeof dir, "%s/slots-planted", base);
    assert_int_equal(symlink(base, dir), 0);
    assert_int_equal(exec_slot_acquire(dir, 1, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "link"));
    snprintf(p, sizeof p, "%s/slot.0", base);
    struct stat st;
    assert_int_not_equal(stat(p, &st), 0); /* nothing created through the link */
    snprintf(dir, sizeof dir, "%s/slots-open", base);
    mkdir(dir, 0777);
    chmod(dir, 0777);
    assert_int_equal(exec_slot_acquire(dir, 1, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "mode 0777"));
    assert_non_null(strstr(err.msg, "remove it"));
    if (geteuid() == 0) { /* another uid's directory, mode 0700 */
        snprintf(dir, sizeof dir, "%s/slots-theirs", base);
        mkdir(dir, 0700);
        assert_int_equal(chown(dir, 1000, 1000), 0);
        assert_int_equal(exec_slot_acquire(dir, 1, NULL, &err), -1);
        assert_non_null(strstr(err.msg, "owned by uid 1000"));
    }
    /* a slot file planted as a link inside our directory */
    snprintf(dir, sizeof dir, "%s/slots-ours", base);
    mkdir(dir, 0700);
    snprintf(p, sizeof p, "%s/slot.0", dir);
    char t[600];
    snprintf(t, sizeof t, "%s/victim", base);
    assert_int_equal(symlink(t, p), 0);
    assert_int_equal(exec_slot_acquire(dir, 1, NULL, &err), -1);
    assert_int_not_equal(stat(t, &st), 0);
    unlink(p);
    /* busy: the wait ends as soon as the stop flag is set */
    int held = exec_slot_acquire(dir, 1, NULL, &err);
    assert_true(held >= 0);
    volatile sig_atomic_t stop = 1;
    assert_int_equal(exec_slot_acquire(dir, 1, &stop, &err), -1);
    assert_non_null(strstr(err.msg, "interrupted"));
    close(held);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_stage_vars_list_copy_remove),
        cmocka_unit_test(workspace_open_refuses_planted_links),
        cmocka_unit_test(missing_staged_input_is_named),
        cmocka_unit_test(slots_are_exclusive_and_freed_on_close),
        cmocka_unit_test(host_writes_never_follow_planted_links),
        cmocka_unit_test(staged_inputs_and_root_are_restored),
        cmocka_unit_test(the_scan_counts_every_level),
        cmocka_unit_test(slot_directory_must_be_ours),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
