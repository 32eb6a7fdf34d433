/* cmd_sweep.c — `llm4hep sweep CONFIG [--fresh] [--dry-run] [--retry-infra] [--grace S]`.
 * --help and --dry-run are handled here without MPI or network; the real run
 * is the mpi room's l4h_sweep(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"
#include "llm4hep/mpi.h"
#include "cli_internal.h"

static void sweep_usage(FILE *fp)
{
    fprintf(fp,
            "usage: llm4hep sweep CONFIG [--fresh] [--dry-run] [--retry-infra] [--grace S]\n"
            "                     [--accept-changed-inputs]\n"
            "\n"
            "Run a whole campaign: every (supervisor, coder, step, trial) task of CONFIG,\n"
            "dispatched longest expected first (a model x step's measured durations\n"
            "predict its other trials; ties in trial-interleaved order), results in one\n"
            "HDF5 file (CONFIG's `output`, its journal beside it). Start it under mpirun\n"
            "or srun (rank 0 coordinates and writes, the other ranks run tasks); one rank\n"
            "runs serially.\n"
            "A campaign resumes by default: finished tasks (by their key) are kept.\n"
            "Rank 0 reads every input once at start (config, models files, suite, prompts,\n"
            "check programs, scripted models); the tasks run with those bytes, whatever\n"
            "happens to the files meanwhile, and each run's inputs are in the results file.\n"
            "\n"
            "options:\n"
            "  --dry-run      load and check CONFIG and its suite, print the plan (tasks by\n"
            "                 model and by step, total, endpoints used, output path, the\n"
            "                 first tasks in plan order: the dispatch order until task\n"
            "                 durations are measured, then longest expected first) and\n"
            "                 exit; no MPI, no network\n"
            "  --fresh        start over: ignore (and replace) the existing results file\n"
            "  --retry-infra  grant one more round of reruns to tasks that ended in an\n"
            "                 infrastructure error (error_api, error_sandbox, error_internal)\n"
            "  --accept-changed-inputs\n"
            "                 resume although what finished tasks were measured with changed\n"
            "                 (a prompt, the suite, a check, a scripted model, a model's\n"
            "                 options, max_iterations, limits); without it such a resume is\n"
            "                 refused (exit 2) naming each change. Added models, steps or\n"
            "                 trials need no flag. The report shows the runs apart.\n"
            "  --grace S      after SIGUSR1/SIGTERM (Slurm's warning) or a first Ctrl-C, running\n"
            "                 tasks get S seconds to finish before they count as interrupted\n"
            "                 (default 60); a second Ctrl-C stops at once\n"
            "  -h, --help     this text\n"
            "\n"
            "exit codes: 0 campaign complete, 2 bad usage or bad config (FILE:LINE:COL\n"
            "message), 3 infrastructure failure, 4 stopped early (signal or budget),\n"
            "resumable by running the same command again.\n"
            "\n"
            "example:\n"
            "  llm4hep sweep examples/demo.yml --dry-run\n"
            "  mpirun -n 4 llm4hep sweep examples/demo.yml\n");
}

/* Load CONFIG, build the plan, print it. Exit code. */
static int dry_run(const char *config_path)
{
    l4h_err err = {0};
    l4h_config *cfg = NULL;
    if (l4h_config_load(config_path, &cfg, &err) < 0) {
        fprintf(stderr, "llm4hep sweep: %s\n", err.msg);
        return err.code ? err.code : L4H_EXIT_USAGE;
    }
    l4h_plan plan = {0};
    if (l4h_plan_build(cfg, &plan, &err) < 0) {
        fprintf(stderr, "llm4hep sweep: %s\n", err.msg);
        l4h_config_free(cfg);
        return err.code ? err.code : L4H_EXIT_USAGE;
    }
    cli_plan_print(cfg, &plan, stdout);
    printf("\ndry run: nothing was contacted and nothing was written.\n");
    l4h_plan_free(&plan);
    l4h_config_free(cfg);
    return L4H_EXIT_OK;
}

int cli_sweep(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        sweep_usage(stdout);
        return L4H_EXIT_OK;
    }
    static const cli_opt flags[] = {{"--dry-run", CLI_SWITCH, NULL}, {"--fresh", CLI_SWITCH, NULL},
                                   {"--retry-infra", CLI_SWITCH, NULL}, {"--grace", CLI_ONE, "S"},
                                   {"--accept-changed-inputs", CLI_SWITCH, NULL}, {NULL, 0, NULL}};
    cli_args a;
    if (cli_parse("sweep", flags, "CONFIG", 1, argc, argv, &a) != 0)
        return L4H_EXIT_USAGE;
    const char *config = a.n_pos ? a.pos[0] : NULL;
    int dry = cli_has(&a, "--dry-run"), fresh = cli_has(&a, "--fresh");
    int retry_infra = cli_has(&a, "--retry-infra"), accept = cli_has(&a, "--accept-changed-inputs");
    const char *g = cli_one(&a, "--grace");
    cli_args_free(&a);
    double grace = 60;
    if (g) {
        char *end = NULL;
        grace = strtod(g, &end);
        if (!*g || *end || !(grace >= 0 && grace <= 86400)) {
            fprintf(stderr, "llm4hep sweep: --grace: expected seconds between 0 and 86400, "
                            "got '%s'\n", g);
            return L4H_EXIT_USAGE;
        }
    }
    if (!config) {
        fprintf(stderr, "llm4hep sweep: missing CONFIG: expected the campaign's config file "
                        "(llm4hep sweep --help)\n");
        return L4H_EXIT_USAGE;
    }
    if (dry)
        return dry_run(config);
    l4h_sweep_opts opts = {.config_path = config, .fresh = fresh, .retry_infra = retry_infra,
                           .grace_s = grace, .accept_changed_inputs = accept};
    return l4h_sweep(&argc, &argv, &opts);
}
