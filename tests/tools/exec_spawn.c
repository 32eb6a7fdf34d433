/* exec_spawn — drive the exec room's spawn (src/exec/spawn.c) for the
 * life-tie tests of tests/integration/test_job_kill.py.
 *
 *   exec_spawn [--parent PID] [--detach] PROGRAM [ARGS...]
 *
 * Starts PROGRAM (absolute path) tied to this process's life, as every
 * sandboxed run is. --parent PID: check for that spawner instead of us (the
 * getppid race: as if we had died and the child's parent were someone
 * else). --detach: print the child's pid and exit at once without waiting
 * (so the child outlives its spawner, unless the tie kills it). Otherwise
 * waits and exits with the child's exit status; 125 when the spawn failed
 * (the errno on stderr; ESRCH: the spawner check refused). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/exec/exec_internal.h"

extern char **environ;

int main(int argc, char **argv)
{
    int i = 1, detach = 0;
    pid_t parent = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--parent") == 0 && i + 1 < argc)
            parent = (pid_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--detach") == 0)
            detach = 1;
        else
            break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: exec_spawn [--parent PID] [--detach] PROGRAM [ARGS...]\n");
        return 125;
    }
    exec_child c = {.argv = argv + i, .envp = environ, .nfds = 3, .die_with_parent = 1,
                    .no_new_privs = 1, .parent = parent};
    for (int k = 0; k < 3; k++)
        c.fds[k] = k;
    sigemptyset(&c.blocked);
    int e = 0;
    pid_t pid = exec_spawn(&c, &e);
    if (pid < 0) {
        fprintf(stderr, "exec_spawn: %s\n", e == ESRCH ? "spawner gone: nothing ran" : strerror(e));
        return 125;
    }
    if (detach) {
        printf("%d\n", (int)pid);
        fflush(stdout);
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
