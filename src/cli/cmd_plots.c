/* cmd_plots.c — `llm4hep plots RESULTS.h5... --out DIR [--html FILE]`: the
 * study's figures, its two summary tables and the self-contained HTML report,
 * drawn by scripts/plots.py with the Python the build found (LLM4HEP_PYTHON),
 * so a physicist's own python3 (conda, pyenv) without matplotlib or h5py does
 * not matter. Every argument goes to plots.py, which owns the options and
 * their --help. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm4hep/core.h"
#include "cli_internal.h"

#ifndef LLM4HEP_PYTHON
#define LLM4HEP_PYTHON "/usr/bin/python3"
#endif

/* Replace this process with plots.py; returns only when that cannot start
 * (exit 3, saying which file is missing). */
int cli_plots(int argc, char **argv)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/scripts/plots.py", LLM4HEP_SOURCE_DIR);
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "llm4hep plots: cannot read %s (%s): this build's source tree moved; "
                        "run that script from your checkout with %s\n",
                script, strerror(errno), LLM4HEP_PYTHON);
        return L4H_EXIT_INFRA;
    }
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args)
        return L4H_EXIT_INFRA;
    args[0] = (char *)LLM4HEP_PYTHON;
    args[1] = script;
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    setenv("LLM4HEP_PLOTS_PROG", "llm4hep plots", 1);
    fflush(NULL);
    execv(LLM4HEP_PYTHON, args);
    fprintf(stderr, "llm4hep plots: cannot start %s (%s): configure the build with "
                    "-DLLM4HEP_PYTHON=/path/to/python3 (with matplotlib, pandas, h5py)\n",
            LLM4HEP_PYTHON, strerror(errno));
    free(args);
    return L4H_EXIT_INFRA;
}
