/* cmd_reference.c — `llm4hep reference`: not built yet; its room's issue replaces this file. */
#include "verbs.h"

int cmd_reference(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_built("reference");
}
