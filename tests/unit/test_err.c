/*
 * test_err.c: struct err holds one line, whatever the formatted text
 * quoted (every control character becomes '?'), and err_prefix and
 * err_errno keep it so.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"

/* An XSD error that quotes a value with a line break in it (what a
 * hostile manifest's key-id gave), plus a tab, a CR and an escape. */
static void test_set_quotes_control_characters(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(err_set(&e, ERR_PERM, "value '%s' is not accepted", "5a3\n2d\tb\r\x1b[2J"),
	                 ERR_PERM);
	assert_int_equal(e.status, ERR_PERM);
	assert_string_equal(e.msg, "value '5a3?2d?b??[2J' is not accepted");
}

static void test_prefix_and_errno_stay_one_line(void **state)
{
	struct err e;

	(void)state;
	err_errno(&e, ERR_TEMP, ENOSPC, "%s: write", "dir\nname");
	assert_string_equal(e.msg, "dir?name: write: No space left on device");
	err_prefix(&e, "entry '%s': ",
	           "a\x01"
	           "b");
	assert_string_equal(e.msg, "entry 'a?b': dir?name: write: No space left on device");
	assert_int_equal(e.status, ERR_TEMP);
}

/* UTF-8 beyond ASCII is text, not control: kept as it is. */
static void test_utf8_kept(void **state)
{
	struct err e;

	(void)state;
	err_set(&e, ERR_PERM, "street '%s'",
	        "Bahnhofstra\xc3\x9f"
	        "e \xe2\x80\x94 Nord");
	assert_string_equal(e.msg, "street 'Bahnhofstra\xc3\x9f"
	                           "e \xe2\x80\x94 Nord'");
}

/* err_one_line: the same rule in place, for other one-line text. */
static void test_one_line_in_place(void **state)
{
	char s[] = "who\n\tme\x1b[2J\x7f \xc3\x9f~";

	(void)state;
	err_one_line(s);
	assert_string_equal(s, "who??me?[2J? \xc3\x9f~");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_quotes_control_characters),
	    cmocka_unit_test(test_prefix_and_errno_stay_one_line),
	    cmocka_unit_test(test_utf8_kept),
	    cmocka_unit_test(test_one_line_in_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
