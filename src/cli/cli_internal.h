/* cli_internal.h — private to the CLI: helpers shared by more than one verb's
 * file (the verbs themselves are in verbs.h). */
#ifndef LLM4HEP_CLI_INTERNAL_H
#define LLM4HEP_CLI_INTERNAL_H

#include <stdio.h>

#include "llm4hep/core.h"

/* Print the plan for `sweep --dry-run` to fp: counts by model and by step,
 * total tasks, endpoints used, output path, and the first tasks in dispatch
 * order (src/cli/plan_print.c). Contacts nothing. Can't fail. */
void cli_plan_print(const l4h_config *cfg, const l4h_plan *plan, FILE *fp);

#endif
