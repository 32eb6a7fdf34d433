/* main.c — `llm4hep-task`: the task child a sweep rank starts,
 *
 *   llm4hep task --fd N --parent PID
 *
 * (argv[0] is not looked at; "task" keeps it recognisable in ps). Built from
 * the same rooms as llm4hep minus MPI, so a task starts without loading
 * libmpi and its dependencies (issue 17 §4), and embedded in llm4hep as
 * bytes: a rank runs its task children from the copy inside its own binary
 * (src/mpi/sweep.c), so a rebuild during a campaign cannot mix binaries. Not
 * for people: it speaks a framed protocol on fd N (src/mpi/child.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"
#include "llm4hep/mpi.h"

int main(int argc, char **argv)
{
    if (argc != 6 || strcmp(argv[1], "task") != 0 || strcmp(argv[2], "--fd") != 0 ||
        strcmp(argv[4], "--parent") != 0) {
        fprintf(stderr, "llm4hep-task: expected task --fd N --parent PID (internal to sweep; "
                        "use `llm4hep run` to run one task by hand)\n");
        return L4H_EXIT_USAGE;
    }
    char *end;
    long fd = strtol(argv[3], &end, 10);
    if (*end || fd < 0 || fd > 1024) {
        fprintf(stderr, "llm4hep-task: --fd: expected a file descriptor number, got '%s'\n",
                argv[3]);
        return L4H_EXIT_USAGE;
    }
    long parent = strtol(argv[5], &end, 10);
    if (*end || parent <= 0) {
        fprintf(stderr, "llm4hep-task: --parent: expected a process id, got '%s'\n", argv[5]);
        return L4H_EXIT_USAGE;
    }
    return l4h_task_child((int)fd, parent);
}
