/* cmd_explain.c — `llm4hep explain`: not built yet; its room's issue replaces this file. */
#include "verbs.h"

int cmd_explain(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_built("explain");
}
