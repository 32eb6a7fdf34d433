/* cmd_reference.c — `llm4hep reference SUITE [--check]`: generate the data
 * if absent, build the reference outputs and their manifest; --check: the
 * reference passes every check of its own suite. Exit 0 done, 1 a check
 * failed, 2 bad usage or suite, 3 a command or the sandbox failed. */
#include <stdio.h>
#include <string.h>

#include "llm4hep/agent.h"
#include "cli_internal.h"

static const char usage[] =
    "usage: llm4hep reference SUITE [--check]\n"
    "\n"
    "Generate the suite's data when its data_dir is absent, run the reference\n"
    "solution of every step into reference_dir and write reference_dir/manifest.json\n"
    "(suite and data hashes, sizes), which sweep and run require to match.\n"
    "  --check   then run every step's checks on the reference outputs themselves\n"
    "The generator and solution run directly with /usr/bin/python3 (trusted code);\n"
    "checks run in the sandbox (isolation auto: bubblewrap, else refused).\n";

int cli_reference(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return L4H_EXIT_OK;
    }
    static const cli_opt opts[] = {{"--check", CLI_SWITCH, NULL}, {NULL, 0, NULL}};
    cli_args a;
    if (cli_parse("reference", opts, "SUITE", 1, argc, argv, &a) != 0)
        return L4H_EXIT_USAGE;
    const char *suite_path = a.n_pos ? a.pos[0] : NULL;
    int check = cli_has(&a, "--check");
    cli_args_free(&a); /* the values point into argv */
    if (!suite_path) {
        fprintf(stderr, "llm4hep reference: SUITE (a suite.yml) is required\n%s", usage);
        return L4H_EXIT_USAGE;
    }
    l4h_err err = {0};
    l4h_suite *suite = NULL;
    if (l4h_suite_load(suite_path, &suite, &err) != 0) {
        fprintf(stderr, "llm4hep reference: %s\n", err.msg);
        return err.code ? err.code : L4H_EXIT_USAGE;
    }
    l4h_config *cfg = l4h_config_defaults();
    cfg->suite = suite; /* borrowed: staging and checks read the suite through the config */
    int rc = l4h_reference_build(cfg, suite, check, &err);
    if (rc != 0)
        fprintf(stderr, "llm4hep reference: %s\n", err.msg);
    cfg->suite = NULL;
    l4h_config_free(cfg);
    l4h_suite_free(suite);
    return rc == 0 ? L4H_EXIT_OK : err.code ? err.code : L4H_EXIT_INFRA;
}
