/* cmd_task.c — `llm4hep task`: not built yet; its room's issue replaces this file. */
#include "verbs.h"

int cmd_task(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_built("task");
}
