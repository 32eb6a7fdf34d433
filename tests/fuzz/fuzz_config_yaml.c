/* fuzz_config_yaml — a campaign config, any bytes, loaded as `sweep` and
 * `run` load one: YAML (nesting, aliases, UTF-8), every key's type and
 * range, ${VAR} expansion, endpoints, models, prices, limits, retry, the
 * suite it names (a fixed valid one beside it). A finding is a crash, a
 * sanitizer report, a leak, or a loaded config that breaks its invariants. */
#include <math.h>

#include "fuzz_yaml_setup.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_yaml_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("config.yml", data, size);
    l4h_config *cfg = NULL;
    l4h_err err = {0};
    if (l4h_config_load(path, &cfg, &err) == 0) {
        FUZZ_ASSERT(cfg->retry.max_attempts >= 1 && cfg->retry.base_s >= 0 &&
                    cfg->retry.max_s >= cfg->retry.base_s && isfinite(cfg->retry.max_s));
        FUZZ_ASSERT(cfg->suite != NULL);
        for (size_t i = 0; i < cfg->n_endpoints; i++)
            FUZZ_ASSERT(cfg->endpoints[i].name != NULL);
        l4h_plan plan = {0};
        if (l4h_plan_build(cfg, &plan, &err) == 0)
            l4h_plan_free(&plan);
        l4h_config_free(cfg);
    } else {
        FUZZ_ASSERT(err.code == 2 || err.code == 3);
        FUZZ_ASSERT(err.msg[0]);
    }
    return 0;
}
