/*
 * spool_clock.c: the settable wall clock.  See spool_clock.h.
 */
#include "spool_clock.h"

#include <stddef.h>

static struct spool_clock clock_now;

void spool_clock_set(const struct spool_clock *clock)
{
	if (clock)
		clock_now = *clock;
	else
		clock_now.now = NULL, clock_now.ctx = NULL;
}

time_t spool_now(void)
{
	return clock_now.now ? clock_now.now(clock_now.ctx) : time(NULL);
}
