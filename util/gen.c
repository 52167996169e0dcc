/*
 * gen.c: numbered generations of a state file.  See gen.h.
 */
#include "gen.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* Insert g into gens[0..*n), kept highest first, at most cap long. */
static void keep_highest(uint64_t *gens, size_t *n, size_t cap, uint64_t g)
{
	size_t at = *n < cap ? (*n)++ : cap;

	if (at == cap && (cap == 0 || g <= gens[cap - 1]))
		return;
	if (at == cap)
		at = cap - 1;
	for (; at > 0 && gens[at - 1] < g; at--)
		gens[at] = gens[at - 1];
	gens[at] = g;
}

size_t gen_list(const char *dir, const char *prefix, uint64_t *gens, size_t cap)
{
	size_t plen = strlen(prefix), n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		const char *num = de->d_name + plen;
		char *end;
		uint64_t g;

		if (strncmp(de->d_name, prefix, plen) != 0 || *num < '0' || *num > '9')
			continue;
		g = strtoull(num, &end, 10);
		if (*end == '\0' && g > 0)
			keep_highest(gens, &n, cap, g);
	}
	closedir(d);
	return n;
}
