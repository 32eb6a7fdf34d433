/* The embedded launcher started by exec_spawn, as every sandboxed run starts
 * it: it sets the limits of its LIMITS word before the program runs, reports
 * 'R' on the status pipe, refuses a limit word it does not understand with
 * 'E' (no 'R': the program never ran), and the spawn's getppid check runs
 * nothing for a spawner that is not the parent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../src/exec/exec_internal.h"

/* Everything fd has until its end, NUL-terminated. */
static void read_all(int fd, char *buf, size_t sz)
{
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sz && ((k = read(fd, buf + n, sz - 1 - n)) > 0 || (k < 0 && errno == EINTR)))
        n += k > 0 ? (size_t)k : 0;
    buf[n] = '\0';
}

/* Run the launcher with limits and argv (program first) through exec_spawn;
 * the status pipe's text into status, stdout into out. Returns the exit
 * status (-1 when the spawn failed: *e). */
static int launch(const char *limits, const char *const *prog, pid_t parent, char *status,
                  size_t st_sz, char *out, size_t out_sz, int *e)
{
    l4h_err err = {0};
    int lfd = exec_launch_fd(&err);
    assert_true(lfd >= 0);
    int sp[2], op[2];
    assert_int_equal(pipe(sp), 0);
    assert_int_equal(pipe(op), 0);
    char self[32], stfd[8], selffd[8];
    snprintf(self, sizeof self, "/proc/self/fd/%d", L4H_LAUNCH_SELF_FD);
    snprintf(stfd, sizeof stfd, "%d", L4H_LAUNCH_STATUS_FD);
    snprintf(selffd, sizeof selffd, "%d", L4H_LAUNCH_SELF_FD);
    char *argv[16] = {self, stfd, selffd, (char *)limits};
    size_t n = 4;
    for (size_t i = 0; prog[i] && n < 15; i++)
        argv[n++] = (char *)prog[i];
    argv[n] = NULL;
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    exec_child c = {.argv = argv, .envp = envp, .nfds = L4H_LAUNCH_SELF_FD + 1,
                    .die_with_parent = 1, .no_new_privs = 1, .parent = parent};
    for (int i = 0; i < EXEC_CHILD_MAX_FDS; i++)
        c.fds[i] = -1;
    c.fds[0] = 0;
    c.fds[1] = op[1];
    c.fds[2] = 2;
    c.fds[L4H_LAUNCH_STATUS_FD] = sp[1];
    c.fds[L4H_LAUNCH_SELF_FD] = lfd;
    sigemptyset(&c.blocked);
    pid_t pid = exec_spawn(&c, e);
    close(sp[1]);
    close(op[1]);
    read_all(sp[0], status, st_sz);
    read_all(op[0], out, out_sz);
    close(sp[0]);
    close(op[0]);
    if (pid < 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void limits_are_set_before_the_program(void **state)
{
    (void)state;
    char status[600], out[256];
    int e = 0;
    const char *prog[] = {"/bin/sh", "-c", "ulimit -n; ulimit -c; ulimit -t", NULL};
    int rc = launch("nofile=77:77,core=0,cpu=5:6", prog, 0, status, sizeof status, out,
                    sizeof out, &e);
    assert_int_equal(rc, 0);
    assert_string_equal(status, "R");
    assert_string_equal(out, "77\n0\n5\n");
}

static void a_limit_it_cannot_set_is_a_launch_failure(void **state)
{
    (void)state;
    char status[600], out[256];
    int e = 0;
    const char *prog[] = {"/usr/bin/touch", "/nonexistent-l4h-never", NULL};
    const char *bad[] = {"bogus=1", "as=", "nproc=5:4", "nofile=x", "cpu"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = launch(bad[i], prog, 0, status, sizeof status, out, sizeof out, &e);
        assert_int_equal(rc, 127);
        assert_true(status[0] == 'E'); /* never 'R': the program did not run */
        assert_non_null(strstr(status, "cannot set the limit"));
    }
}

static void an_orphan_runs_nothing(void **state)
{
    (void)state;
    char status[600], out[256];
    int e = 0;
    const char *prog[] = {"/bin/echo", "ran", NULL};
    /* told a spawner that is not its parent: the clone runs nothing */
    int rc = launch("-", prog, getppid(), status, sizeof status, out, sizeof out, &e);
    assert_int_equal(rc, -1);
    assert_int_equal(e, ESRCH);
    assert_string_equal(status, "");
    assert_string_equal(out, "");
    rc = launch("-", prog, 0, status, sizeof status, out, sizeof out, &e);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "ran\n");
}

static void a_missing_program_is_reported_after_R(void **state)
{
    (void)state;
    char status[600], out[256];
    int e = 0;
    const char *prog[] = {"/nonexistent-l4h/python", NULL};
    int rc = launch("-", prog, 0, status, sizeof status, out, sizeof out, &e);
    assert_int_equal(rc, 127);
    assert_true(strncmp(status, "RE2 cannot run /nonexistent-l4h/python", 38) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_are_set_before_the_program),
        cmocka_unit_test(a_limit_it_cannot_set_is_a_launch_failure),
        cmocka_unit_test(an_orphan_runs_nothing),
        cmocka_unit_test(a_missing_program_is_reported_after_R),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
