/* cmd_errors.c — `llm4hep errors RESULTS.h5 [--llm MODEL --config CONFIG]`
 * (src/report/errors.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/report.h"
#include "cli_internal.h"

static const char usage[] =
    "usage: llm4hep errors RESULTS.h5... [--format table|markdown|json]\n"
    "       llm4hep errors RESULTS.h5 --llm MODEL --config CONFIG [--prompt FILE]\n"
    "\n"
    "Count the error categories of the final failures (every status but success) by\n"
    "model and step: the rule-based column error_category, then one table per\n"
    "annotation source in the file (e.g. llm:openai/gpt-5).\n"
    "With --llm, MODEL (an entry of CONFIG: its endpoint, options and price) reads\n"
    "each final failed_* task's transcript with prompts/error_analysis.txt (or\n"
    "--prompt FILE) and names a category (semantic, function_calling, file_not_found,\n"
    "wrong_branch, api_error, data_quality, other); the answers are stored in\n"
    "/annotations and the journal as source llm:MODEL. The rule-based column is never\n"
    "changed. Tasks already annotated by that source are skipped, so a re-run asks\n"
    "only about the rest. Refused while a campaign holds the file. Requests carry the\n"
    "task's position with agent \"annotator\", call 0 (scripted models answer there).\n"
    "Exit 0, 2 bad usage or input, 3 a model call failed (the others are kept).\n";

int cli_errors(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    static const cli_opt opts[] = {{"--llm", CLI_ONE, "MODEL"}, {"--config", CLI_ONE, "CONFIG"}, {"--prompt", CLI_ONE, "FILE"},
                                   {"--format", CLI_ONE, "F"}, {NULL, 0, NULL}};
    cli_args a;
    if (cli_parse("errors", opts, "RESULTS.h5 files", (size_t)argc, argc, argv, &a) != 0)
        return L4H_EXIT_USAGE;
    const char *model = cli_one(&a, "--llm"), *config = cli_one(&a, "--config");
    const char *prompt = cli_one(&a, "--prompt"), *format = cli_one(&a, "--format");
    if (!format)
        format = "table";
    char **paths = (char **)a.pos;
    size_t n = a.n_pos;
    int rc = L4H_EXIT_USAGE;
    l4h_report_format fmt = !strcmp(format, "json") ? L4H_FMT_JSON
                            : !strcmp(format, "markdown") ? L4H_FMT_MARKDOWN : L4H_FMT_TABLE;
    if (n == 0 || (!model != !config) || (model && n != 1) ||
        (strcmp(format, "json") && strcmp(format, "markdown") && strcmp(format, "table"))) {
        fprintf(stderr, "llm4hep errors: expected RESULTS.h5 (one with --llm), --llm and "
                        "--config together, --format table|markdown|json\n%s", usage);
        goto out;
    }
    l4h_err err = {0};
    int r = model ? l4h_errors_llm(paths[0], model, config, prompt, stdout, &err)
                  : l4h_errors_print(paths, n, fmt, stdout, &err);
    if (r != 0) {
        fprintf(stderr, "llm4hep errors: %s\n", err.msg);
        rc = err.code ? err.code : L4H_EXIT_INFRA;
        goto out;
    }
    rc = 0;
out:
    cli_args_free(&a);
    return rc;
}
