/*
 * when.h: the clock the gateway measures with.
 *
 * Intervals, deadlines and durations (a back-off's end, the next pass, a
 * pass's length in the logs) are taken on the monotonic clock, which a
 * change of the wall clock (an NTP step, an operator's date) never moves:
 * a deadline computed before a step still falls as many milliseconds
 * later.  Dates that are written down use time(); the spool's own clock
 * is spool_now() (spool_clock.h), which tests set.
 */
#ifndef SCFGATE_WHEN_H
#define SCFGATE_WHEN_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (since an unspecified start, the same
 * for every caller in the process): only differences mean anything. */
uint64_t when_mono_ms(void);

#endif
