/*
 * when.c: the monotonic clock in milliseconds, and UTC text.  See when.h.
 */
#include "when.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

uint64_t when_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void when_utc(int64_t t, char out[WHEN_UTC_SIZE])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, WHEN_UTC_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, WHEN_UTC_SIZE, "%" PRId64, t);
}

void when_utc_now(char out[WHEN_UTC_SIZE])
{
	when_utc((int64_t)time(NULL), out);
}
