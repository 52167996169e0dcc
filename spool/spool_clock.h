/*
 * spool_clock.h: the wall clock of the spool library, settable by tests
 * (as struct http_clock is for the HTTP client).
 *
 * Contract
 *   - Every reading of the wall clock in spool/ goes through spool_now():
 *     the consumer's grace period, gap alarm and rescan interval, the
 *     producer's creation times, bundle entry times and names, quarantine
 *     and retired-file names.  File times (mtime of a record that
 *     arrived) are still the file system's.
 *   - spool_clock_set(NULL), the default, is time(NULL).  A test sets its
 *     own clock to let minutes pass without sleeping; the clock is copied.
 *   - The clock is process-wide: set it before the spool is used, never
 *     while another thread uses the spool.  A clock set ahead of the real
 *     one is fine (a file written now is older than its now); one set
 *     behind the file system's times makes arrivals look recent.
 */
#ifndef SCFGATE_SPOOL_CLOCK_H
#define SCFGATE_SPOOL_CLOCK_H

#include <time.h>

struct spool_clock {
	time_t (*now)(void *ctx); /* seconds since the epoch */
	void *ctx;
};

/* Use clock from now on (copied); NULL returns to time(NULL). */
void spool_clock_set(const struct spool_clock *clock);

/* The spool's idea of the current time. */
time_t spool_now(void);

#endif
