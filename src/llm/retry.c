/* retry.c — the retry policy: which failures are worth another attempt,
 * how long to wait (full-jitter exponential backoff, or the server's
 * Retry-After), with the random source injectable for tests. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "llm_internal.h"

/* xorshift64*, one state per thread, seeded from the clock, pid and the
 * state's own address. Returns a uniform number in [0, 1). */
static double rng_default(void *ctx)
{
    (void)ctx;
    static _Thread_local uint64_t s;
    if (s == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec ^
            ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&s;
        if (s == 0)
            s = 0x2545F4914F6CDD1Dull;
    }
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    uint64_t r = s * 0x2545F4914F6CDD1Dull;
    return (double)(r >> 11) / 9007199254740992.0; /* 2^53 */
}

double llm_backoff_s(const l4h_retry_cfg *rc, int retry, l4h_rng_fn rng, void *rng_ctx)
{
    double base = rc->base_s > 0 ? rc->base_s : 0;
    double cap = rc->max_s > 0 ? rc->max_s : base;
    if (retry < 1)
        retry = 1;
    /* base * 2^(retry-1), without overflowing for large retry counts */
    double ceiling = retry > 60 ? cap : base * ldexp(1.0, retry - 1);
    if (ceiling > cap)
        ceiling = cap;
    double u = rng ? rng(rng_ctx) : rng_default(NULL);
    if (u < 0)
        u = 0;
    if (u >= 1)
        u = 0.999999999;
    return u * ceiling;
}

double llm_wait_cap(const l4h_retry_cfg *rc, double wait, int *capped)
{
    double cap = rc->max_s > 0 ? rc->max_s : (rc->base_s > 0 ? rc->base_s : L4H_LLM_WAIT_MAX_DEFAULT_S);
    *capped = 0;
    if (!(wait >= 0)) /* NaN or negative: no wait */
        return 0;
    if (wait > cap) {
        *capped = 1;
        return cap;
    }
    return wait;
}

double llm_retry_after_parse(const char *value, double now_epoch)
{
    if (!value)
        return -1;
    while (isspace((unsigned char)*value))
        value++;
    if (!*value)
        return -1;
    if (isdigit((unsigned char)*value) || *value == '.') {
        char *end;
        double s = strtod(value, &end);
        while (isspace((unsigned char)*end))
            end++;
        if (*end == '\0' && s >= 0 && isfinite(s))
            return s;
        return -1;
    }
    /* An HTTP date in any of RFC 9110's three forms; curl_getdate knows them. */
    time_t now = (time_t)now_epoch;
    time_t t = curl_getdate(value, &now);
    if (t == (time_t)-1)
        return -1;
    double d = (double)t - now_epoch;
    return d > 0 ? d : 0;
}

int llm_status_retryable(int status)
{
    if (status == 408 || status == 409 || status == 425 || status == 429)
        return 1;
    return status >= 500 && status <= 599;
}

/* See llm_internal.h. */
int llm_header_line(const char *p, size_t n, l4h_http_hints *h)
{
    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
        h->retry_after[0] = h->retry_after_ms[0] = h->model_id[0] = '\0';
        return 1;
    }
    size_t hn = h->model_id_name ? strlen(h->model_id_name) : 0;
    if (hn > 0 && n > hn && p[hn] == ':' && strncasecmp(p, h->model_id_name, hn) == 0) {
        const char *v = p + hn + 1;
        size_t len = n - hn - 1;
        while (len > 0 && (*v == ' ' || *v == '\t'))
            v++, len--;
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' ||
                           v[len - 1] == '\t'))
            len--;
        llm_label_copy(h->model_id, sizeof h->model_id, v, len);
        return 0;
    }
    int ms;
    if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        ms = 0;
    else if (n > 15 && strncasecmp(p, "Retry-After-Ms:", 15) == 0)
        ms = 1;
    else
        return 0;
    size_t skip = ms ? 15 : 12;
    char *dst = ms ? h->retry_after_ms : h->retry_after;
    size_t cap = ms ? sizeof h->retry_after_ms : sizeof h->retry_after;
    size_t len = n - skip;
    const char *v = p + skip;
    while (len > 0 && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' ||
                       v[len - 1] == '\t'))
        len--;
    if (len >= cap)
        len = cap - 1;
    /* Control bytes and quotes become '?': the value is logged as
     * retry_after="..." and must stay one well-formed field. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        dst[i] = c < 0x20 || c == 0x7f || c == '"' ? '?' : (char)c;
    }
    dst[len] = '\0';
    return 0;
}
