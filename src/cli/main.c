/* main.c — `llm4hep VERB ...`: dispatch to one function per verb. */
#include <stdio.h>
#include <string.h>

#include "llm4hep/core.h"
#include "llm4hep/mpi.h"
#include "cli_internal.h"

typedef struct verb {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary; /* the verb's own --help has its usage */
    int hidden;
} verb;

static const verb verbs[] = {
    {"sweep", cli_sweep,
     "run a whole campaign under mpirun/srun (1 rank works too); resumes by default", 0},
    {"run", cli_run,
     "run one task without MPI, printing the conversation", 0},
    {"validate", cli_validate,
     "check a workspace's outputs against the reference (check_soln.py)", 0},
    {"reference", cli_reference,
     "generate the data if absent and build the reference outputs", 0},
    {"selftest", cli_selftest,
     "the reference passes its own checks; wrong answers fail them, right ones pass", 0},
    {"report", cli_report,
     "success rates, intervals, pass@k, cost by model and step", 0},
    {"rescore", cli_rescore,
     "judge kept outputs again after a check change, without running any model", 0},
    {"show", cli_show, "one task's story: prompts, code, outputs, checks", 0},
    {"errors", cli_errors,
     "error categories by model and step; --llm re-categorises with a model", 0},
    {"explain", cli_explain,
     "a model's account of why a task failed", 0},
    {"plots", cli_plots,
     "the study's figures, summary tables and an HTML report (scripts/plots.py)", 0},
};
#define N_VERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE *fp)
{
    fprintf(fp,
            "llm4hep %s — benchmark language models as working physicists\n\n"
            "usage: llm4hep VERB [ARGS]   (llm4hep VERB --help for details)\n\n",
            LLM4HEP_VERSION);
    for (size_t i = 0; i < N_VERBS; i++) {
        if (verbs[i].hidden)
            continue;
        fprintf(fp, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    }
    fprintf(fp,
            "\nExit codes: 0 done, 1 the thing checked failed, 2 bad usage or input,\n"
            "3 infrastructure failure, 4 sweep stopped early (resumable).\n");
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? L4H_EXIT_USAGE : L4H_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("llm4hep %s (%s)\n", LLM4HEP_VERSION, LLM4HEP_GIT_COMMIT);
        return 0;
    }
    l4h_replay_use_results();
    for (size_t i = 0; i < N_VERBS; i++)
        if (!strcmp(argv[1], verbs[i].name))
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "llm4hep: '%s' is not a verb; expected one of:", argv[1]);
    for (size_t i = 0; i < N_VERBS; i++)
        if (!verbs[i].hidden)
            fprintf(stderr, " %s", verbs[i].name);
    fprintf(stderr, " (llm4hep --help)\n");
    return L4H_EXIT_USAGE;
}
