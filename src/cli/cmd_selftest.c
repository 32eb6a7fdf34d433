/* cmd_selftest.c — `llm4hep selftest SUITE [-k SUBSTRING] [-j N]`: what a
 * suite author runs before any model is measured (agent.h:
 * l4h_reference_selftest). Exit 0 the reference passes its own checks and
 * every validity case got the expected verdict, 1 a check or a verdict is
 * wrong, 2 bad usage, suite or case, 3 infrastructure. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm4hep/agent.h"
#include "cli_internal.h"

static const char usage[] =
    "usage: llm4hep selftest SUITE [-k SUBSTRING] [-j N]\n"
    "\n"
    "Trust the suite before measuring any model:\n"
    "  1. build the reference when its manifest does not match the suite and data\n"
    "     (`llm4hep reference SUITE`), and run every check of the suite on it;\n"
    "  2. run the suite's validity cases (the `validity:` directory: answer scripts\n"
    "     <step>__<name>.py whose header says `# expect: PASS` or `# expect: FAIL`),\n"
    "     each through `llm4hep run --validate` with a scripted model, and print one\n"
    "     line per case and `false_accepts=N false_rejects=M of K`.\n"
    "  -k SUBSTRING   only the cases whose file name contains it\n"
    "  -j N           cases run side by side (default 1)\n"
    "Exit 0 the reference passes and no verdict is false, 1 a check or verdict is\n"
    "wrong, 2 bad usage, suite or case, 3 infrastructure.\n";

int cli_selftest(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return L4H_EXIT_OK;
    }
    static const cli_opt opts[] = {{"-k", CLI_ONE, "SUBSTRING"}, {"-j", CLI_ONE, "N"}, {NULL, 0, NULL}};
    cli_args a;
    if (cli_parse("selftest", opts, "SUITE", 1, argc, argv, &a) != 0)
        return L4H_EXIT_USAGE;
    const char *suite_path = a.n_pos ? a.pos[0] : NULL, *filter = cli_one(&a, "-k");
    const char *jv = cli_one(&a, "-j");
    cli_args_free(&a); /* the values point into argv */
    int jobs = 1;
    if (jv) {
        char *end;
        long j = strtol(jv, &end, 10);
        if (!*jv || *end || j < 1 || j > 64) {
            fprintf(stderr, "llm4hep selftest: -j %s: expected a number of cases from 1 to 64\n", jv);
            return L4H_EXIT_USAGE;
        }
        jobs = (int)j;
    }
    if (!suite_path) {
        fprintf(stderr, "llm4hep selftest: SUITE (a suite.yml) is required\n%s", usage);
        return L4H_EXIT_USAGE;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "llm4hep selftest: cannot find the llm4hep binary (/proc/self/exe)\n");
        return L4H_EXIT_INFRA;
    }
    self[n] = '\0';
    l4h_err err = {0};
    l4h_suite *suite = NULL;
    if (l4h_suite_load(suite_path, &suite, &err) != 0) {
        fprintf(stderr, "llm4hep selftest: %s\n", err.msg);
        return err.code ? err.code : L4H_EXIT_USAGE;
    }
    l4h_config *cfg = l4h_config_defaults();
    cfg->suite = suite; /* borrowed: staging and checks read the suite through the config */
    int rc = l4h_reference_selftest(cfg, suite, self, filter, jobs, &err);
    if (rc != 0)
        fprintf(stderr, "llm4hep selftest: %s\n", err.msg);
    else
        printf("selftest: %s passes\n", suite->name);
    cfg->suite = NULL;
    l4h_config_free(cfg);
    l4h_suite_free(suite);
    return rc == 0 ? L4H_EXIT_OK : err.code ? err.code : L4H_EXIT_INFRA;
}
