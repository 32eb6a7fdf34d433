/* clock.c — wall clock, monotonic clock and UTC timestamps. */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "llm4hep/core.h"

/* Seconds since the epoch (wall clock). Can't fail. */
double l4h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Seconds on a clock that never jumps (for durations). Can't fail. */
double l4h_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* "YYYY-MM-DDTHH:MM:SSZ" for epoch seconds t (truncated to the second). A
 * non-finite t gives "". Can't fail. */
void l4h_utc_string(double t, char out[32])
{
    out[0] = '\0';
    if (!isfinite(t))
        return;
    time_t s = (time_t)floor(t);
    struct tm tm;
    if (!gmtime_r(&s, &tm))
        return;
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
