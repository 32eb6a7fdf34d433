/* cmd_sweep.c — `llm4hep sweep`: not built yet; its room's issue replaces this file. */
#include "verbs.h"

int cmd_sweep(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_built("sweep");
}
