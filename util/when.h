/*
 * when.h: the clock the gateway measures with, and how it writes a date.
 *
 * Intervals, deadlines and durations (a back-off's end, the next pass, a
 * pass's length in the logs) are taken on the monotonic clock, which a
 * change of the wall clock (an NTP step, an operator's date) never moves:
 * a deadline computed before a step still falls as many milliseconds
 * later.  Dates that are written down use time(); the spool's own clock
 * is spool_now() (spool_clock.h), which tests set.  Such a date is
 * written as UTC text, one spelling for records, .why files, state
 * files, reports, messages and the SeeClickFix API's queries.
 */
#ifndef SCFGATE_WHEN_H
#define SCFGATE_WHEN_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (since an unspecified start, the same
 * for every caller in the process): only differences mean anything. */
uint64_t when_mono_ms(void);

/* Room for when_utc's text with its '\0'. */
#define WHEN_UTC_SIZE 32

/* t, seconds since the epoch, as "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, UTC);
 * a time gmtime_r cannot convert (a year beyond int) as its decimal
 * number instead. */
void when_utc(int64_t t, char out[WHEN_UTC_SIZE]);
/* when_utc of time(NULL). */
void when_utc_now(char out[WHEN_UTC_SIZE]);

#endif
