/*
 * crash_env.h: what every crash test (tests/crash/) takes from the
 * environment, read the same way by each.
 *
 *   SCFGATE_CRASH_ROUNDS=N  run N rounds instead of the test's own number
 *                           (its command line or its default): a long run
 *                           on demand for every crash test at once.
 *   SCFGATE_CRASH_SEED=S    the seed of the random choices (kill times,
 *                           kill points, what is fed); without it the seed
 *                           comes from the time and the process id, so
 *                           each ctest run tries other moments.  The seed
 *                           is printed first, so a failing run can be
 *                           repeated exactly.
 */
#ifndef SCFGATE_CRASH_ENV_H
#define SCFGATE_CRASH_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The number of rounds: SCFGATE_CRASH_ROUNDS when it is a positive
 * number, else dflt. */
static inline int crash_rounds(int dflt)
{
	const char *s = getenv("SCFGATE_CRASH_ROUNDS");
	char *end;
	long n;

	if (!s || !*s)
		return dflt;
	n = strtol(s, &end, 10);
	return *end == '\0' && n > 0 && n <= 1000000 ? (int)n : dflt;
}

/* The seed (never 0: some generators stick at 0), printed as
 * "NAME: seed S (SCFGATE_CRASH_SEED=S repeats this run)". */
static inline unsigned crash_seed(const char *name)
{
	const char *s = getenv("SCFGATE_CRASH_SEED");
	unsigned seed;

	if (s && *s)
		seed = (unsigned)strtoul(s, NULL, 10);
	else
		seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
	if (!seed)
		seed = 1;
	printf("%s: seed %u (SCFGATE_CRASH_SEED=%u repeats this run)\n", name, seed, seed);
	fflush(stdout);
	return seed;
}

#endif
