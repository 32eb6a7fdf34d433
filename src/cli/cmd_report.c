/* cmd_report.c — `llm4hep report`: not built yet; its room's issue replaces this file. */
#include "verbs.h"

int cmd_report(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_not_built("report");
}
