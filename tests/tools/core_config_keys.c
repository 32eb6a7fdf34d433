/* core_config_keys — print every key a campaign config may hold, one dotted
 * path a line, from core's table (l4h_config_key): what
 * tests/integration/test_config_table.py checks docs/design.md against. */
#include <stdio.h>

#include "llm4hep/core.h"

int main(void)
{
    char key[256];
    for (size_t i = 0; l4h_config_key(i, key, sizeof key) == 0; i++)
        printf("%s\n", key);
    return 0;
}
