/* llm4hep-lifeline — start a program only while its spawner lives, and make
 * it die with the spawner.
 *
 *   llm4hep-lifeline PARENT_PID PROGRAM [ARGS...]
 *
 * Sets PR_SET_PDEATHSIG = SIGKILL, then checks that its parent is still
 * PARENT_PID (the pid of the process that spawned the chain): a spawner killed
 * before the signal was armed left us orphaned, and we must not run. Then
 * execs PROGRAM (by absolute path), which keeps the death signal (it is
 * cleared only by a set-uid exec or a change of credentials, so the lifeline
 * sits after setpriv in the chains of src/exec; see exec_internal.h).
 *
 * Exit: 125 bad usage, 126 the parent is gone (nothing ran), 127 PROGRAM
 * could not be executed ("llm4hep-lifeline: ..." on stderr). A separate tiny
 * program because posix_spawn cannot arm the signal and llm4hep itself
 * starts in ~7 ms against ~1 ms for this. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char *end = NULL;
    long parent = argc >= 3 ? strtol(argv[1], &end, 10) : 0;
    if (argc < 3 || !end || *end || parent <= 0 || argv[2][0] != '/') {
        fprintf(stderr, "llm4hep-lifeline: usage: llm4hep-lifeline PARENT_PID /ABS/PROGRAM [ARGS...]\n");
        return 125;
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
        fprintf(stderr, "llm4hep-lifeline: prctl(PR_SET_PDEATHSIG): %s\n", strerror(errno));
        return 127;
    }
    if ((long)getppid() != parent)
        return 126; /* the spawner died before the signal was armed */
    execv(argv[2], argv + 2);
    fprintf(stderr, "llm4hep-lifeline: cannot run %s: %s\n", argv[2], strerror(errno));
    return 127;
}
