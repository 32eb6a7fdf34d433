/* check_array — test driver: `check_array CAND REF SIG_DIGITS ZERO_FLOOR [LABEL]`
 * runs l4h_check_array and prints the check record as one JSON object
 * ({"check", "passed", "n_bad", "max_rel_diff", "report"}). Exit 0 when the
 * check passed, 1 when it failed, 2 on bad usage. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "llm4hep/check.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: check_array CAND REF SIG_DIGITS ZERO_FLOOR\n");
        return 2;
    }
    l4h_check_rec rec = {0};
    l4h_check_array(argv[1], argv[2], atoi(argv[3]), strtod(argv[4], NULL), &rec);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "check", rec.check ? rec.check : "");
    cJSON_AddBoolToObject(o, "passed", rec.passed);
    cJSON_AddNumberToObject(o, "n_bad", (double)rec.n_bad);
    if (isnan(rec.max_rel_diff))
        cJSON_AddNullToObject(o, "max_rel_diff");
    else if (isinf(rec.max_rel_diff))
        cJSON_AddStringToObject(o, "max_rel_diff", "inf");
    else
        cJSON_AddNumberToObject(o, "max_rel_diff", rec.max_rel_diff);
    cJSON_AddStringToObject(o, "report", rec.report ? rec.report : "");
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    free(s);
    cJSON_Delete(o);
    int passed = rec.passed;
    free(rec.check);
    free(rec.report);
    return passed ? 0 : 1;
}
