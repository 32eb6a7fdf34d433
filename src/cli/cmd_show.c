/* cmd_show.c — `llm4hep show`: not built yet; its room's issue replaces this file. */
#include "verbs.h"

int cmd_show(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_built("show");
}
