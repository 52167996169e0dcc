/*
 * when.c: the monotonic clock in milliseconds.  See when.h.
 */
#include "when.h"

#include <time.h>

uint64_t when_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
