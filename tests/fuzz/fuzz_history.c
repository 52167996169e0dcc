/*
 * fuzz_history.c: history_parse (the queues over time, read from a
 * half's state directory) on arbitrary bytes.  Whatever it keeps must be
 * a bounded, ordered list of samples within the documented ranges.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct history h;
	struct err e;
	enum err_status st;

	err_clear(&e);
	st = history_parse((const char *)data, size, &h, &e);
	if ((st != ERR_OK && st != ERR_PERM) || strchr(e.msg, '\n'))
		abort();
	if (st != ERR_OK)
		return 0;
	if (h.n > HISTORY_MAX)
		abort();
	for (size_t i = 0; i < h.n; i++) {
		for (int q = 0; q < HISTORY_QUEUES; q++)
			if (h.s[i].waiting[q] < 0 || h.s[i].waiting[q] > HISTORY_NUM_MAX ||
			    h.s[i].oldest[q] < 0 || h.s[i].oldest[q] > HISTORY_NUM_MAX)
				abort();
		if (h.s[i].at < 0 || (i && h.s[i].at <= h.s[i - 1].at))
			abort();
	}
	return 0;
}
