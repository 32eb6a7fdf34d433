/* cmd_rescore.c — `llm4hep rescore RESULTS.h5 --suite SUITE`: judge a
 * campaign's kept outputs again with a suite's (changed) checks, without
 * running any model or code (src/report/rescore.c does the work). */
#include <stdio.h>
#include <string.h>

#include "llm4hep/report.h"
#include "cli_internal.h"

static const char usage[] =
    "usage: llm4hep rescore RESULTS.h5 --suite SUITE\n"
    "\n"
    "Run the hidden checks of SUITE again on the outputs a sweep kept (the config's\n"
    "keep_outputs, on by default: RESULTS.h5.outputs/), after a tolerance or check\n"
    "change, without running any model or generated code. SUITE is the suite to judge\n"
    "with: the campaign's own, or an edited copy (its reference outputs must be built:\n"
    "`llm4hep reference SUITE`). Every final task with a model outcome is judged as\n"
    "`validate` judges a directory (command checks in the sandbox, as the suite's\n"
    "programs); the results file gets a new run (/runs kind \"rescore\") and its /checks\n"
    "rows (column run); the original rows stay. One line per task: its verdict, with\n"
    "the checks whose verdict changed; `llm4hep report RESULTS.h5` lists the changes.\n"
    "A task whose outputs were not kept, or are missing or damaged, is named and not\n"
    "judged.\n"
    "  --suite SUITE  the suite.yml whose checks to run\n"
    "Exit 0 every task judged again, 1 some could not be (named above), 2 bad usage\n"
    "or input, 3 infrastructure (sandbox, a check program that cannot judge, a\n"
    "campaign holding the file).\n";

int cli_rescore(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return L4H_EXIT_OK;
    }
    const char *h5 = NULL, *suite = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--suite") || !strncmp(a, "--suite=", 8)) {
            const char *v = a[7] == '=' ? a + 8 : i + 1 < argc ? argv[++i] : NULL;
            if (!v) {
                fprintf(stderr, "llm4hep rescore: --suite needs a value\n%s", usage);
                return L4H_EXIT_USAGE;
            }
            if (suite) {
                fprintf(stderr, "llm4hep rescore: --suite given twice (%s, %s); one suite "
                                "judges a rescore\n", suite, v);
                return L4H_EXIT_USAGE;
            }
            suite = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "llm4hep rescore: unknown option %s; expected --suite\n%s", a, usage);
            return L4H_EXIT_USAGE;
        } else if (h5) {
            fprintf(stderr, "llm4hep rescore: one RESULTS.h5 expected, got also '%s'\n%s", a,
                    usage);
            return L4H_EXIT_USAGE;
        } else {
            h5 = a;
        }
    }
    if (!h5 || !suite) {
        fprintf(stderr, "llm4hep rescore: %s is required\n%s",
                !h5 ? "RESULTS.h5" : "--suite SUITE (the suite whose checks to run: the "
                                     "campaign's own or an edited copy)", usage);
        return L4H_EXIT_USAGE;
    }
    l4h_err err = {0};
    fflush(stdout);
    int rc = l4h_rescore(h5, suite, stdout, &err);
    if (rc >= L4H_EXIT_USAGE)
        fprintf(stderr, "llm4hep rescore: %s\n", err.msg);
    return rc;
}
