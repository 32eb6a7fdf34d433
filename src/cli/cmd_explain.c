/* cmd_explain.c — `llm4hep explain RESULTS.h5 TASK --llm MODEL --config
 * CONFIG`: a model's account of why a task went as it did
 * (src/report/errors.c). */
#include <stdio.h>
#include <string.h>

#include "llm4hep/report.h"
#include "verbs.h"

static const char usage[] =
    "usage: llm4hep explain RESULTS.h5 TASK --llm MODEL --config CONFIG [--prompt FILE]\n"
    "\n"
    "Send one task's transcript (as `llm4hep show` prints it) to MODEL, an entry of\n"
    "CONFIG, with prompts/explain.txt (or --prompt FILE), and print its account: the\n"
    "root cause, the responsible party (user, supervisor, coder, external) and the\n"
    "pattern across iterations. Nothing is stored. TASK is a task id or\n"
    "supervisor/coder/step/trial. The request carries the task's position with agent\n"
    "\"annotator\", call 1 (scripted models answer there).\n"
    "Exit 0, 2 bad usage or input, 3 the model call failed.\n";

int cmd_explain(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *pos[2] = {NULL, NULL}, *model = NULL, *config = NULL, *prompt = NULL;
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char **dst = !strcmp(argv[i], "--llm") ? &model : !strcmp(argv[i], "--config") ? &config
                           : !strcmp(argv[i], "--prompt") ? &prompt : NULL;
        if (dst && i + 1 < argc) {
            *dst = argv[++i];
        } else if (argv[i][0] == '-' || npos == 2) {
            fprintf(stderr, "llm4hep explain: unexpected %s\n%s", argv[i], usage);
            return L4H_EXIT_USAGE;
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos != 2 || !model || !config) {
        fprintf(stderr, "llm4hep explain: expected RESULTS.h5 TASK --llm MODEL --config CONFIG\n%s",
                usage);
        return L4H_EXIT_USAGE;
    }
    l4h_err err = {0};
    if (l4h_explain(pos[0], pos[1], model, config, prompt, stdout, &err) != 0) {
        fprintf(stderr, "llm4hep explain: %s\n", err.msg);
        return err.code ? err.code : L4H_EXIT_INFRA;
    }
    return 0;
}
