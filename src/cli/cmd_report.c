/* cmd_report.c — `llm4hep report RESULTS.h5...`: the table of success by
 * model and step with intervals, pass@k and paired comparisons
 * (src/report/report.c does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/report.h"
#include "cli_internal.h"

static const char usage[] =
    "usage: llm4hep report RESULTS.h5... [--by model,step] [--csv FILE]\n"
    "                      [--format table|markdown|json] [--include-infra] [--compare A,B]\n"
    "       llm4hep report RESULTS.h5... --models [--format table|markdown|json]\n"
    "\n"
    "Over the final row of every task (several files are merged; a task final in two\n"
    "files counts once, from the first): per model and step the successes/trials,\n"
    "the success rate with its 95% Wilson interval, mean iterations and API calls per\n"
    "task, tokens in and out, total cost, mean wall time per task; totals per model,\n"
    "per step and overall. Infrastructure outcomes (error_*, interrupted) are listed\n"
    "apart and left out of every number unless --include-infra counts them as failures;\n"
    "the models' own failures (failed_*, failed_request included: an endpoint refused\n"
    "what the model's conversation held) are counted in the rates and listed by status.\n"
    "Then pass@k for every k up to the trials run (unbiased estimator: at least one of k\n"
    "trials succeeds) and pass^k (all k succeed), per model and step and averaged over\n"
    "steps; then paired comparisons of models on the tasks both ran (same step and\n"
    "trial): successes only A / only B and the two-sided exact McNemar p-value, with\n"
    "Holm's adjustment when several pairs are compared.\n"
    "  --by D[,D]       group by one or two of model, supervisor, coder, step, file\n"
    "                   (default model,step); a pair's model is \"supervisor+coder\"\n"
    "  --compare A,B    compare these two models only; without it every pair of models\n"
    "                   is compared when there are at most 10 models\n"
    "  --csv FILE       also write results_summary.csv (the original framework's columns:\n"
    "                   supervisor,coder,step,success,iterations,duration,API_calls,tokens,\n"
    "                   errors,error_descriptions), one row per final task\n"
    "  --format F       table (default), markdown, or json\n"
    "  --include-infra  count infrastructure outcomes as failed trials\n"
    "  --models         instead: each model name asked for (alias) and the versions that\n"
    "                   really answered it (the response's model, system_fingerprint and\n"
    "                   the proxy's model-id header), with calls and first/last dates, over\n"
    "                   every call of every task attempt (drifting :latest aliases show)\n"
    "A file a running campaign writes is read as of its last checkpoint.\n"
    "Exit 0, 2 bad usage or unreadable file, 3 the CSV could not be written.\n";

/* "table" | "markdown" | "json" -> format; -1 for anything else. */
static int parse_format(const char *s)
{
    return !strcmp(s, "table") ? L4H_FMT_TABLE
           : !strcmp(s, "markdown") || !strcmp(s, "md") ? L4H_FMT_MARKDOWN
           : !strcmp(s, "json") ? L4H_FMT_JSON : -1;
}

int cli_report(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    static const cli_opt opts[] = {{"--by", CLI_ONE, "D[,D]"}, {"--csv", CLI_ONE, "FILE"}, {"--compare", CLI_ONE, "A,B"},
                                   {"--format", CLI_ONE, "F"}, {"--include-infra", CLI_SWITCH, NULL},
                                   {"--models", CLI_SWITCH, NULL}, {NULL, 0, NULL}};
    cli_args a;
    if (cli_parse("report", opts, "RESULTS.h5 files", (size_t)argc, argc, argv, &a) != 0)
        return L4H_EXIT_USAGE;
    l4h_report_opts o = {.by = cli_one(&a, "--by"), .csv_path = cli_one(&a, "--csv"),
                         .compare = cli_one(&a, "--compare"),
                         .include_infra = cli_has(&a, "--include-infra")};
    int models = cli_has(&a, "--models");
    const char *fmt = cli_one(&a, "--format");
    if (fmt && parse_format(fmt) < 0) {
        fprintf(stderr, "llm4hep report: --format %s: expected table, markdown or json\n", fmt);
        cli_args_free(&a);
        return L4H_EXIT_USAGE;
    }
    if (fmt)
        o.format = (l4h_report_format)parse_format(fmt);
    char **paths = (char **)a.pos;
    size_t n = a.n_pos;
    if (n == 0) {
        fprintf(stderr, "llm4hep report: expected at least one RESULTS.h5\n%s", usage);
        cli_args_free(&a);
        return L4H_EXIT_USAGE;
    }
    if (models && (o.by || o.csv_path || o.compare || o.include_infra)) {
        fprintf(stderr, "llm4hep report: --models takes only --format (not --by, --csv, --compare "
                        "or --include-infra)\n");
        cli_args_free(&a);
        return L4H_EXIT_USAGE;
    }
    l4h_err err = {0};
    int rc = models ? l4h_report_models(paths, n, o.format, stdout, &err)
                    : l4h_report_print(paths, n, &o, stdout, &err);
    cli_args_free(&a);
    if (rc != 0) {
        fprintf(stderr, "llm4hep report: %s\n", err.msg);
        return err.code ? err.code : L4H_EXIT_INFRA;
    }
    return 0;
}
