/* fuzz_http_headers — the response header lines curl hands the client, any
 * bytes: status lines, Retry-After (seconds or an HTTP date) and
 * retry-after-ms, a proxy's model-id header, then the wait the client would take. A finding is a crash,
 * a sanitizer report, or a wait that is negative, not finite or above
 * retry.max_s. */
#include <math.h>

#include "fuzz_util.h"
#include "../../src/llm/llm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    l4h_http_hints h = {.model_id_name = "x-litellm-model-id"};
    const char *p = (const char *)data, *end = p + size;
    while (p < end) { /* one header line per '\n', as curl delivers them */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char *line = l4h_xmalloc(n); /* exact size: ASan sees any read past it */
        memcpy(line, p, n);
        llm_header_line(line, n, &h);
        free(line);
        p += n;
    }
    FUZZ_ASSERT(memchr(h.retry_after, '\0', sizeof h.retry_after) != NULL);
    FUZZ_ASSERT(memchr(h.retry_after_ms, '\0', sizeof h.retry_after_ms) != NULL);
    FUZZ_ASSERT(!strchr(h.retry_after, '"') && !strchr(h.retry_after, '\r'));
    FUZZ_ASSERT(memchr(h.model_id, '\0', sizeof h.model_id) != NULL);
    for (const char *c = h.model_id; *c; c++) /* the proxy's model id: printable ASCII only */
        FUZZ_ASSERT(*c >= 0x20 && *c < 0x7f);
    l4h_retry_cfg rc = {8, 2.0, 120.0};
    double now = 1.8e9;
    double ra = llm_retry_after_parse(h.retry_after, now);
    double ms = llm_retry_after_parse(h.retry_after_ms, 0);
    FUZZ_ASSERT(ra == -1 || (ra >= 0 && isfinite(ra)));
    FUZZ_ASSERT(ms == -1 || (ms >= 0 && isfinite(ms)));
    int capped;
    double w = llm_wait_cap(&rc, ra, &capped);
    FUZZ_ASSERT(w >= 0 && w <= rc.max_s);
    w = llm_wait_cap(&rc, ms / 1000.0, &capped);
    FUZZ_ASSERT(w >= 0 && w <= rc.max_s);
    return 0;
}
