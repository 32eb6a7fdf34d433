/* cmd_validate.c — `llm4hep validate`: not built yet; its room's issue replaces this file. */
#include "verbs.h"

int cmd_validate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_built("validate");
}
