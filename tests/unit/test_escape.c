/*
 * test_escape.c: escape_one_line keeps a message on one line of a state
 * file (a half's alert, a health reason and detail): line breaks and
 * tabs become spaces, other bytes are copied, and a long message keeps
 * its start and its end within size - 1 bytes, whatever the size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"

/* 40 distinct bytes: where each kept byte came from shows in the result */
static const char long40[] = "0123456789abcdefghijklmnopqrstuvwxyzABCD";

/* A newline, a carriage return and a tab would split the line or the
 * field of a state file: each becomes one space. */
static void test_line_breaks_and_tabs(void **state)
{
	char out[64];

	(void)state;
	assert_ptr_equal(escape_one_line("a\nb\rc\td\r\n", out, sizeof(out)), out);
	assert_string_equal(out, "a b c d  ");
}

/* Other bytes, control bytes among them, are copied as they are: the
 * input is a struct err message, whose control characters err_set has
 * turned into '?' already; the reader escapes what it shows. */
static void test_other_bytes_copied(void **state)
{
	char out[64];

	(void)state;
	escape_one_line("x\x1b[2J\x01y\x7f\xc3\x9f", out, sizeof(out));
	assert_string_equal(out, "x\x1b[2J\x01y\x7f\xc3\x9f");
	escape_one_line("", out, sizeof(out));
	assert_string_equal(out, "");
}

/* size - 1 bytes fit whole; one more and the middle goes. */
static void test_exact_fit(void **state)
{
	char out[41];

	(void)state;
	escape_one_line(long40, out, sizeof(out));
	assert_string_equal(out, long40);
	escape_one_line(long40, out, 40);
	/* the first 40 / 3 = 13 bytes, the mark, the last 39 - 18 = 21 */
	assert_string_equal(out, "0123456789abc ... jklmnopqrstuvwxyzABCD");
}

/* A long message keeps its first size / 3 bytes and its end, in exactly
 * size - 1 bytes, line breaks in the end mapped too; nothing is written
 * past size. */
static void test_long_keeps_start_and_end(void **state)
{
	char in[200], out[21];

	(void)state;
	memset(out, '#', sizeof(out));
	escape_one_line(long40, out, 20);
	assert_string_equal(out, "012345 ... wxyzABCD");
	assert_int_equal(out[20], '#');

	/* 199 bytes: a request, a long URL, the status and the server's words */
	snprintf(in, sizeof(in), "GET https://");
	memset(in + 12, 'u', sizeof(in) - 12 - 16);
	snprintf(in + sizeof(in) - 16, 16, "HTTP 503\nbusy\r\t");
	escape_one_line(in, out, 20);
	assert_string_equal(out, "GET ht ... 3 busy  ");
}

/* Every size from 1 up, on a buffer of exactly that size (the sanitizer
 * sees a byte written past it): at most size - 1 bytes; from 10 up the
 * start, the mark and at least one byte of the end; below 10 the start
 * alone, as there is no room for the end after the mark. */
static void test_every_size(void **state)
{
	(void)state;
	for (size_t size = 1; size <= sizeof(long40); size++) {
		char *out = malloc(size);
		size_t head = size / 3, len;

		assert_non_null(out);
		escape_one_line(long40, out, size);
		len = strlen(out);
		assert_int_equal(len, size - 1);
		if (size < 10) {
			assert_memory_equal(out, long40, len);
		} else if (size < sizeof(long40)) {
			assert_memory_equal(out, long40, head);
			assert_memory_equal(out + head, " ... ", 5);
			assert_true(len > head + 5);
			assert_string_equal(out + head + 5,
			                    long40 + (sizeof(long40) - 1) - (len - head - 5));
		} else {
			assert_string_equal(out, long40);
		}
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line_breaks_and_tabs),
	    cmocka_unit_test(test_other_bytes_copied),
	    cmocka_unit_test(test_exact_fit),
	    cmocka_unit_test(test_long_keeps_start_and_end),
	    cmocka_unit_test(test_every_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
