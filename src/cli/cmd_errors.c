/* cmd_errors.c — `llm4hep errors`: not built yet; its room's issue replaces this file. */
#include "verbs.h"

int cmd_errors(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_built("errors");
}
