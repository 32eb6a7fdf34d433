/* cmd_explain.c — `llm4hep explain RESULTS.h5 (TASK | --failed | --all) --llm
 * MODEL --config CONFIG`: a model's account of why a task went as it did,
 * printed for one task, stored as annotations for many (src/report/errors.c). */
#include <stdio.h>
#include <string.h>

#include "llm4hep/report.h"
#include "cli_internal.h"

static const char usage[] =
    "usage: llm4hep explain RESULTS.h5 (TASK | --failed | --all) --llm MODEL --config CONFIG\n"
    "                       [--prompt FILE]\n"
    "\n"
    "Send one task's transcript (as `llm4hep show` prints it) to MODEL, an entry of\n"
    "CONFIG, with prompts/explain.txt (or --prompt FILE), and print its account: the\n"
    "root cause, the responsible party (user, supervisor, coder, external) and the\n"
    "pattern across iterations. TASK is a task id or supervisor/coder/step/trial;\n"
    "for one TASK nothing is stored.\n"
    "  --failed   explain every final failed_* task instead\n"
    "  --all      explain every final task (successes and infrastructure outcomes too)\n"
    "With --failed or --all each account is stored in /annotations (and the journal)\n"
    "as source explain:MODEL, beside the rule-based error_category (for a failure,\n"
    "the category named in the account), and a line per task is printed; tasks\n"
    "already explained by that source are skipped, so a re-run asks only about the\n"
    "rest. Refused while a campaign holds the file. `llm4hep show` prints the stored\n"
    "accounts. Requests carry the task's position with agent \"annotator\", call 1\n"
    "(scripted models answer there).\n"
    "Exit 0, 2 bad usage or input, 3 a model call failed (the others are kept).\n";

int cli_explain(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    static const cli_opt opts[] = {{"--llm", CLI_ONE, "MODEL"}, {"--config", CLI_ONE, "CONFIG"}, {"--prompt", CLI_ONE, "FILE"},
                                   {"--failed", CLI_SWITCH, NULL}, {"--all", CLI_SWITCH, NULL}, {NULL, 0, NULL}};
    cli_args a;
    if (cli_parse("explain", opts, "RESULTS.h5 and TASK", 2, argc, argv, &a) != 0)
        return L4H_EXIT_USAGE;
    const char *model = cli_one(&a, "--llm"), *config = cli_one(&a, "--config");
    const char *prompt = cli_one(&a, "--prompt");
    int failed = cli_has(&a, "--failed"), all = cli_has(&a, "--all");
    const char *pos[2] = {a.n_pos > 0 ? a.pos[0] : NULL, a.n_pos > 1 ? a.pos[1] : NULL};
    int npos = (int)a.n_pos;
    cli_args_free(&a); /* the values point into argv */
    int many = failed || all;
    if (npos != (many ? 1 : 2) || (failed && all) || !model || !config) {
        fprintf(stderr, "llm4hep explain: expected RESULTS.h5 and one of TASK, --failed, --all, "
                        "with --llm MODEL --config CONFIG\n%s", usage);
        return L4H_EXIT_USAGE;
    }
    l4h_err err = {0};
    if (many ? l4h_explain_many(pos[0], all, model, config, prompt, stdout, &err) != 0
             : l4h_explain(pos[0], pos[1], model, config, prompt, stdout, &err) != 0) {
        fprintf(stderr, "llm4hep explain: %s\n", err.msg);
        return err.code ? err.code : L4H_EXIT_INFRA;
    }
    return 0;
}
