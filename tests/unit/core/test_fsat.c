/* fd-relative access beneath a hostile tree (core/fsat.c): links anywhere on
 * a path refused (with openat2 and with the O_NOFOLLOW walk), writes that
 * replace a planted link or hard link instead of writing through it, and
 * chains of directories 2000 and 100 000 deep that the walk, the copy and
 * the removal survive without recursion. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "llm4hep/core.h"
#include "../../../src/core/core_internal.h"

static char base[256], root[300], outside[300];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
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

static int setup(void **state)
{
    (void)state;
    /* a tmpfs when there is one: 100 000 directories cost minutes of I/O
     * on a shared disk, 2 s in memory (the walk itself is linear) */
    struct stat shm;
    snprintf(base, sizeof base, "%s/l4h-unit-fsat-XXXXXX",
             stat("/dev/shm", &shm) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(base))
        return -1;
    snprintf(root, sizeof root, "%s/root", base);
    snprintf(outside, sizeof outside, "%s/outside", base);
    mkdir(root, 0755);
    mkdir(outside, 0700);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    core_fs_use_openat2(1);
    l4h_remove_tree(base, NULL);
    return 0;
}

/* root/a/b/f, root/link -> root/a, root/a/flink -> outside/secret */
static void plant(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/a", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/a/b", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/a/b/f", root);
    write_text(p, "fine");
    snprintf(p, sizeof p, "%s/secret", outside);
    write_text(p, "sk-secret");
    char t[512];
    snprintf(p, sizeof p, "%s/link", root);
    snprintf(t, sizeof t, "%s/a", root);
    symlink(t, p);
    snprintf(p, sizeof p, "%s/a/flink", root);
    snprintf(t, sizeof t, "%s/secret", outside);
    symlink(t, p);
    snprintf(p, sizeof p, "%s/up", root);
    symlink("..", p);
}

static void links_are_refused_with_and_without_openat2(void **state)
{
    (void)state;
    plant();
    for (int mode = 1; mode >= 0; mode--) {
        core_fs_use_openat2(mode);
        l4h_err err = {0, ""};
        int d = l4h_fs_dir_open(root, &err);
        assert_true(d >= 0);
        int fd = l4h_fs_open(d, "a/b/f", O_RDONLY, 0, &err);
        assert_true(fd >= 0);
        close(fd);
        const char *bad[] = {"link/b/f", "a/flink", "up/outside/secret"};
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(l4h_fs_open(d, bad[i], O_RDONLY, 0, &err), -1);
            assert_int_equal(err.code, 1);
            if (!strstr(err.msg, "symbolic link"))
                fail_msg("%s: %s", bad[i], err.msg);
        }
        assert_int_equal(l4h_fs_open(d, "../outside/secret", O_RDONLY, 0, &err), -1);
        assert_int_equal(err.code, 2);
        assert_int_equal(l4h_fs_open(d, "/etc/passwd", O_RDONLY, 0, &err), -1);
        assert_int_equal(err.code, 2);
        /* mkdir -p through a link: refused, nothing created outside */
        assert_int_equal(l4h_fs_mkdirs(d, "link/new", 0755, &err), -1);
        assert_int_equal(err.code, 1);
        char p[512];
        snprintf(p, sizeof p, "%s/a/new", root);
        struct stat st;
        assert_int_not_equal(stat(p, &st), 0);
        close(d);
    }
    core_fs_use_openat2(1);
}

static void writes_replace_planted_links_never_through_them(void **state)
{
    (void)state;
    char p[512], t[512];
    snprintf(t, sizeof t, "%s/victim", outside);
    write_text(t, "precious");
    /* a file link, a hard link and a directory link planted by the code */
    snprintf(p, sizeof p, "%s/iter_1.stdout", root);
    symlink(t, p);
    snprintf(p, sizeof p, "%s/hard.txt", root);
    assert_int_equal(link(t, p), 0);
    snprintf(p, sizeof p, "%s/logs", root);
    symlink(outside, p);
    l4h_err err = {0, ""};
    int d = l4h_fs_dir_open(root, &err);
    assert_true(d >= 0);
    assert_int_equal(l4h_fs_write(d, "iter_1.stdout", "pwned", 5, 0644, &err), 0);
    assert_int_equal(l4h_fs_write(d, "hard.txt", "pwned", 5, 0644, &err), 0);
    assert_int_equal(l4h_fs_write(d, "logs/iter_1.stderr", "pwned", 5, 0644, &err), -1);
    assert_int_equal(err.code, 1);
    close(d);
    assert_string_equal(read_text(t), "precious");
    snprintf(p, sizeof p, "%s/iter_1.stderr", outside);
    struct stat st;
    assert_int_not_equal(stat(p, &st), 0);
    snprintf(p, sizeof p, "%s/iter_1.stdout", root);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_string_equal(read_text(p), "pwned");
}

/* A chain of n directories "d" under dir (iteratively, as code would). */
static void chain(const char *dir, long n)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    for (long i = 0; i < n; i++) {
        assert_int_equal(mkdirat(fd, "d", 0755), 0);
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
        assert_true(next >= 0);
        close(fd);
        fd = next;
    }
    int f = openat(fd, "bottom.bin", O_WRONLY | O_CREAT, 0644);
    assert_true(f >= 0);
    assert_int_equal(ftruncate(f, 300L * 1024 * 1024), 0); /* 300 MB, sparse */
    close(f);
    close(fd);
}

typedef struct tally {
    long entries;
    long long bytes;
    int max_depth;
} tally;

static int count(void *ctx, const l4h_fs_entry *e)
{
    tally *t = ctx;
    t->entries++;
    t->bytes += e->st->st_size;
    if (e->depth > t->max_depth)
        t->max_depth = e->depth;
    return 0;
}

static void deep_chains_are_walked_copied_and_removed(void **state)
{
    (void)state;
    struct rlimit rl = {320, 320}; /* far fewer fds than levels: no fd per level */
    struct rlimit old;
    getrlimit(RLIMIT_NOFILE, &old);
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/deep", root);
    snprintf(dst, sizeof dst, "%s/copy", base);
    mkdir(src, 0755);
    mkdir(dst, 0755);
    /* 70 levels: every one is seen (the old walk stopped at 64) */
    chain(src, 70);
    l4h_err err = {0, ""};
    int d = l4h_fs_dir_open(src, &err);
    tally t = {0, 0, 0};
    assert_int_equal(l4h_fs_walk(d, 128, count, &t, &err), 0);
    assert_int_equal(t.entries, 71);
    assert_true(t.bytes >= 300LL * 1024 * 1024);
    close(d);
    if (l4h_remove_tree(src, &err) != 0)
        if (l4h_remove_tree(src, &err) != 0) fail_msg("%s", err.msg);

    for (int k = 0; k < 2; k++) {
        long n = k == 0 ? 2000 : 100000;
        mkdir(src, 0755);
        chain(src, n);
        setrlimit(RLIMIT_NOFILE, &rl);
        d = l4h_fs_dir_open(src, &err);
        t = (tally){0, 0, 0};
        assert_int_equal(l4h_fs_walk(d, 128, count, &t, &err), 1); /* too deep, said */
        assert_int_equal(err.code, 1);
        assert_non_null(strstr(err.msg, "deeper than 128"));
        assert_int_equal(t.max_depth, 128);
        int o = l4h_fs_dir_open(dst, &err);
        assert_int_equal(l4h_fs_copy_tree(d, o, NULL, 128, NULL, &err), -1);
        assert_int_equal(err.code, 1);
        assert_non_null(strstr(err.msg, "not copied"));
        close(o);
        close(d);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (l4h_remove_tree(src, &err) != 0)
            fail_msg("%s", err.msg);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        print_message("removed a chain %ld deep in %.2f s\n", n,
                      (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
        setrlimit(RLIMIT_NOFILE, &old);
        struct stat st;
        assert_int_not_equal(lstat(src, &st), 0);
        assert_int_equal(l4h_remove_tree(dst, &err), 0);
        mkdir(dst, 0755);
    }
}

static void removal_failure_is_reported(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* needs a mount point: only root can make one here */
    char p[512];
    snprintf(p, sizeof p, "%s/busy", base);
    mkdir(p, 0755);
    char m[600];
    snprintf(m, sizeof m, "mount -t tmpfs -o size=1m tmpfs %s/busy", base);
    if (system(m) != 0)
        skip();
    l4h_err err = {0, ""};
    assert_int_equal(l4h_remove_tree(base, &err), -1);
    assert_int_equal(err.code, 3);
    assert_non_null(strstr(err.msg, "busy"));
    snprintf(m, sizeof m, "umount %s/busy", base);
    assert_int_equal(system(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(links_are_refused_with_and_without_openat2, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_replace_planted_links_never_through_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(deep_chains_are_walked_copied_and_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(removal_failure_is_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
