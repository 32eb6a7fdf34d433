/* cmd_task.c — `llm4hep task --fd N`: internal; the task child a sweep rank
 * spawns. Not for people: it speaks a framed protocol on fd N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"
#include "llm4hep/mpi.h"
#include "verbs.h"

int cmd_task(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: llm4hep task --fd N --parent PID\n\n"
               "Internal: runs one task of a campaign for the sweep rank that spawned it\n"
               "(PID; the task dies with it), speaking a framed protocol on file descriptor N.\n"
               "Use `llm4hep run` to run one task by hand.\n");
        return 0;
    }
    static const cli_opt opts[] = {{"--fd", CLI_ONE, "N"}, {"--parent", CLI_ONE, "PID"}, {NULL, 0, NULL}};
    cli_args a;
    if (cli_parse("task", opts, "no argument", 0, argc, argv, &a) != 0)
        return L4H_EXIT_USAGE;
    const char *fdv = cli_one(&a, "--fd"), *pv = cli_one(&a, "--parent");
    cli_args_free(&a); /* the values point into argv */
    if (!fdv || !pv) {
        fprintf(stderr, "llm4hep task: expected --fd N --parent PID (this verb is internal to sweep)\n");
        return L4H_EXIT_USAGE;
    }
    char *end;
    long fd = strtol(fdv, &end, 10);
    if (!*fdv || *end || fd < 0 || fd > 1024) {
        fprintf(stderr, "llm4hep task: --fd: expected a file descriptor number, got '%s'\n", fdv);
        return L4H_EXIT_USAGE;
    }
    long parent = strtol(pv, &end, 10);
    if (!*pv || *end || parent <= 0) {
        fprintf(stderr, "llm4hep task: --parent: expected a process id, got '%s'\n", pv);
        return L4H_EXIT_USAGE;
    }
    return l4h_task_child((int)fd, parent);
}
