/* clock.c — wall clock, monotonic clock and UTC timestamps. */
#include <math.h>
#include <signal.h>
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

static volatile sig_atomic_t waits_interrupted;

/* See core.h. */
void l4h_interrupt_waits(void)
{
    waits_interrupted = 1;
}

/* See core.h. */
int l4h_waits_interrupted(void)
{
    return waits_interrupted != 0;
}

/* See core.h. Slices of at most 50 ms: a signal interrupts nanosleep only in
 * the thread it is delivered to. */
int l4h_sleep_s(double s)
{
    if (!(s > 0))
        return waits_interrupted ? -1 : 0;
    double end = l4h_monotonic() + s;
    for (;;) {
        if (waits_interrupted)
            return -1;
        double left = end - l4h_monotonic();
        if (left <= 0)
            return 0;
        double slice = left < 0.05 ? left : 0.05;
        struct timespec ts = {0, (long)(slice * 1e9)};
        nanosleep(&ts, NULL); /* EINTR: the loop looks at the flag */
    }
}
