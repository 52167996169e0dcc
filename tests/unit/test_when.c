/*
 * test_when.c: when_utc writes a date the one way records, state files,
 * reports and queries spell it, and the monotonic clock only goes
 * forward.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "when.h"

static void test_utc(void **state)
{
	char out[WHEN_UTC_SIZE];

	(void)state;
	when_utc(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	when_utc(1700000000, out);
	assert_string_equal(out, "2023-11-14T22:13:20Z");
	when_utc(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59Z");
	/* a year beyond int: the number, not whatever was in the buffer */
	memset(out, 'x', sizeof(out));
	when_utc(INT64_MAX, out);
	assert_string_equal(out, "9223372036854775807");
}

static void test_utc_now(void **state)
{
	char out[WHEN_UTC_SIZE], lo[WHEN_UTC_SIZE], hi[WHEN_UTC_SIZE];
	time_t before = time(NULL), after;

	(void)state;
	when_utc_now(out);
	after = time(NULL);
	when_utc(before, lo);
	when_utc(after, hi);
	/* the same fixed-width form: text order is time order */
	assert_int_equal(strlen(out), 20);
	assert_true(strcmp(lo, out) <= 0 && strcmp(out, hi) <= 0);
}

static void test_mono_forward(void **state)
{
	struct timespec nap = {0, 30000000L};
	uint64_t a, b;

	(void)state;
	a = when_mono_ms();
	nanosleep(&nap, NULL);
	b = when_mono_ms();
	assert_true(b >= a + 30);
	assert_true(b < a + 30000u); /* milliseconds, not micro- */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utc),
	    cmocka_unit_test(test_utc_now),
	    cmocka_unit_test(test_mono_forward),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
