/* cmd_show.c — `llm4hep show RESULTS.h5 TASK`: one task's story in reading
 * order (src/report/show.c). */
#include <stdio.h>

#include "llm4hep/report.h"
#include "cli_internal.h"

static const char usage[] =
    "usage: llm4hep show RESULTS.h5 TASK\n"
    "\n"
    "Print one task's story in reading order: its outcome, the prompts, every\n"
    "supervisor and coder message (what each was newly sent, what it answered, tool\n"
    "calls and the supervisor's verdicts), each code version with a unified diff to\n"
    "the previous one, each execution's output, the hidden checks' reports and any\n"
    "annotations.\n"
    "TASK is a task id (1, 2, ...; the /tasks column task_id) or\n"
    "supervisor/coder/step/trial, e.g. openai/gpt-5/openai/gpt-5/create_numpy/1 (model\n"
    "names may hold '/'; in sequential mode model/step/trial works too); that key's\n"
    "final attempt is shown.\n"
    "Exit 0, 2 bad usage, no such task or unreadable file.\n";

int cli_show(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    static const cli_opt opts[] = {{NULL, 0, NULL}};
    cli_args a;
    if (cli_parse("show", opts, "RESULTS.h5 and TASK", 2, argc, argv, &a) != 0)
        return L4H_EXIT_USAGE;
    const char *file = a.n_pos > 0 ? a.pos[0] : NULL, *task = a.n_pos > 1 ? a.pos[1] : NULL;
    cli_args_free(&a); /* the values point into argv */
    if (!task) {
        fprintf(stderr, "llm4hep show: expected RESULTS.h5 TASK\n%s", usage);
        return L4H_EXIT_USAGE;
    }
    l4h_err err = {0};
    if (l4h_show(file, task, stdout, &err) != 0) {
        fprintf(stderr, "llm4hep show: %s\n", err.msg);
        return err.code ? err.code : L4H_EXIT_INFRA;
    }
    return 0;
}
