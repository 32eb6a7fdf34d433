/* cmd_run.c — `llm4hep run`: not built yet; its room's issue replaces this file. */
#include "verbs.h"

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_built("run");
}
