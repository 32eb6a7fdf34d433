/* Ending everything a process started: a grandchild that does not die
 * with its parent (as bubblewrap's inner process in the window before it
 * arms --die-with-parent) is orphaned by the kill of its parent, comes back
 * to us and dies too; nothing is left to reap. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "llm4hep/exec.h"

/* 1 while pid exists and is neither a zombie nor dead. */
static int alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* A child that starts a grandchild and both sleep; the grandchild's pid
 * comes back through a pipe. */
static pid_t start_pair(pid_t *grandchild)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(p[0]);
        pid_t g = fork();
        if (g == 0) {
            close(p[1]);
            for (;;)
                pause();
        }
        if (write(p[1], &g, sizeof g) != (ssize_t)sizeof g)
            _exit(1);
        close(p[1]);
        for (;;)
            pause();
    }
    close(p[1]);
    assert_int_equal(read(p[0], grandchild, sizeof *grandchild), (ssize_t)sizeof *grandchild);
    close(p[0]);
    return child;
}

/* What a failed test leaves: killed afterwards, so ctest's output pipe ends. */
static pid_t started[4];

static int kill_started(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof started / sizeof *started; i++)
        if (started[i] > 0)
            kill(started[i], SIGKILL);
    return 0;
}

static void orphans_come_back_and_die(void **state)
{
    (void)state;
    pid_t g1, g2;
    pid_t c1 = start_pair(&g1), c2 = start_pair(&g2);
    started[0] = c1, started[1] = g1, started[2] = c2, started[3] = g2;
    assert_true(alive(c1) && alive(g1) && alive(c2) && alive(g2));
    assert_int_equal(l4h_exec_end_descendants(60.0), 0);
    assert_false(alive(c1));
    assert_false(alive(c2));
    /* without the reaper role these two would live on under init */
    assert_false(alive(g1));
    assert_false(alive(g2));
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    memset(started, 0, sizeof started); /* all gone: nothing for the teardown */
}

static void nothing_to_end_is_fine(void **state)
{
    (void)state;
    assert_int_equal(l4h_exec_end_descendants(1.0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(orphans_come_back_and_die, kill_started),
        cmocka_unit_test(nothing_to_end_is_fine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
