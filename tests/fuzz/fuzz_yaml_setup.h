/* fuzz_yaml_setup.h — the files a fuzzed config or suite may name, made once
 * in the fuzz directory: the arith suite's prompts, a suite, a models file
 * and a scripted-model directory (the seeds refer to these names). */
#ifndef LLM4HEP_FUZZ_YAML_SETUP_H
#define LLM4HEP_FUZZ_YAML_SETUP_H

#include "fuzz_util.h"

static const char fuzz_suite_yml[] =
    "name: arith\n"
    "data_dir: data\n"
    "reference_dir: solution\n"
    "generate: [python, gen.py, --out, \"{{data_dir}}\"]\n"
    "solution: [python, solve.py, --step, \"{{step}}\", --data, \"{{data_dir}}\", --out, \"{{workspace}}\"]\n"
    "requires: [json]\n"
    "prompts: {supervisor_first: prompts/supervisor_first.txt, supervisor: prompts/supervisor.txt,\n"
    "          coder: prompts/coder.txt}\n"
    "steps:\n"
    "  - name: double\n"
    "    prompt: prompts/double.txt\n"
    "    checks:\n"
    "      - {type: text, file: answer.txt, patterns: ['^42$']}\n"
    "  - name: square\n"
    "    prompt: prompts/square.txt\n"
    "    stage: [answer.txt]\n"
    "    checks:\n"
    "      - {type: text, file: square.txt, patterns: ['^1764$']}\n";

/* Make the directory's fixed files. Aborts on failure (not a finding). */
static void fuzz_yaml_setup(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/prompts", fuzz_dir());
    if (l4h_mkdirs(p, 0700, NULL) != 0)
        abort();
    snprintf(p, sizeof p, "%s/scripted", fuzz_dir());
    if (l4h_mkdirs(p, 0700, NULL) != 0)
        abort();
    static const char *const prompts[] = {"supervisor_first", "supervisor", "coder", "double",
                                          "square", NULL};
    for (int i = 0; prompts[i]; i++) {
        char name[64], text[128];
        snprintf(name, sizeof name, "prompts/%s.txt", prompts[i]);
        snprintf(text, sizeof text, "Prompt %s for {{step}} in {{workspace}}.\n", prompts[i]);
        fuzz_file(name, text, strlen(text));
    }
    fuzz_file("suite.yml", fuzz_suite_yml, sizeof fuzz_suite_yml - 1);
    fuzz_file("models.txt", "openai/gpt-5\n# a comment\nscripted/good\n", 38);
    fuzz_file("scripted/good.yml", "steps: {double: {supervisor: [\"ok\\nVERDICT: DONE\"]}}\n", 51);
    setenv("LLM4HEP_FUZZ_VAR", "value", 1);
}

#endif
