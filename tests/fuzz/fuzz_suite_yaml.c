/* fuzz_suite_yaml — a benchmark suite, any bytes, loaded as the config
 * loads one: steps, prompts (fixed files beside it), checks of each type,
 * tools, argv templates, stage lists. A finding is a crash, a sanitizer
 * report or a leak. */
#include "fuzz_yaml_setup.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_yaml_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("fuzzed-suite.yml", data, size);
    l4h_suite *s = NULL;
    l4h_err err = {0};
    if (l4h_suite_load(path, &s, &err) == 0) {
        FUZZ_ASSERT(s->n_steps > 0);
        for (size_t i = 0; i < s->n_steps; i++)
            FUZZ_ASSERT(l4h_suite_step(s, s->steps[i].name) != NULL);
        l4h_suite_free(s);
    } else {
        FUZZ_ASSERT(err.code == 2 || err.code == 3);
    }
    /* the generic YAML reader (scripted models) on the same bytes */
    char *json = NULL;
    if (l4h_yaml_file_to_json(path, &json, &err) == 0)
        free(json);
    return 0;
}
