/* verbs.h — one function per CLI verb, one file each (cmd_<verb>.c), as in
 * git's builtin/. Each takes the arguments after the verb name (argv[0] is the
 * verb), handles --help itself and returns the process exit code. */
#ifndef LLM4HEP_CLI_VERBS_H
#define LLM4HEP_CLI_VERBS_H

int cmd_sweep(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_reference(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_errors(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_plots(int argc, char **argv);
int cmd_task(int argc, char **argv); /* internal: the task child of a sweep rank */

/* 1 when argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);

#endif
