/*
 * test_num.c: the strict number readers (util/num.h): what sscanf took
 * and they refuse (blanks, signs, "0x", overflow, no digits, "inf"), where
 * *end stops, and that a refusal leaves *out and *end alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "num.h"

static void u64_decimal(void **state)
{
	const char *end = NULL;
	uint64_t v = 7;

	(void)state;
	assert_int_equal(num_u64("0", 10, &end, &v), 0);
	assert_true(v == 0 && *end == '\0');
	assert_int_equal(num_u64("18446744073709551615 x", 10, &end, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_string_equal(end, " x");
	assert_int_equal(num_u64("12:34", 10, &end, &v), 0);
	assert_true(v == 12 && *end == ':');
	assert_int_equal(num_u64("12", 10, NULL, &v), 0);
	assert_true(v == 12);

	/* refused: *out and *end untouched */
	end = "unchanged";
	v = 7;
	assert_int_equal(num_u64("18446744073709551616", 10, &end, &v), -1);
	assert_int_equal(num_u64("", 10, &end, &v), -1);
	assert_int_equal(num_u64(" 1", 10, &end, &v), -1);
	assert_int_equal(num_u64("+1", 10, &end, &v), -1);
	assert_int_equal(num_u64("-1", 10, &end, &v), -1);
	assert_int_equal(num_u64("x1", 10, &end, &v), -1);
	assert_int_equal(num_u64(NULL, 10, &end, &v), -1);
	assert_int_equal(num_u64("1", 8, &end, &v), -1);
	assert_true(v == 7);
	assert_string_equal(end, "unchanged");
}

static void u64_hex(void **state)
{
	const char *end;
	uint64_t v = 7;

	(void)state;
	assert_int_equal(num_u64("ffffffffffffffff.1", 16, &end, &v), 0);
	assert_true(v == UINT64_MAX && *end == '.');
	assert_int_equal(num_u64("0A", 16, &end, &v), 0);
	assert_true(v == 10 && *end == '\0');
	v = 7;
	assert_int_equal(num_u64("0x10", 16, &end, &v), -1);
	assert_int_equal(num_u64("10000000000000000", 16, &end, &v), -1);
	assert_int_equal(num_u64("g", 16, &end, &v), -1);
	assert_true(v == 7);
}

static void i64(void **state)
{
	const char *end;
	int64_t v = 7;

	(void)state;
	assert_int_equal(num_i64("-9223372036854775808", &end, &v), 0);
	assert_true(v == INT64_MIN && *end == '\0');
	assert_int_equal(num_i64("9223372036854775807\n", &end, &v), 0);
	assert_true(v == INT64_MAX && *end == '\n');
	v = 7;
	assert_int_equal(num_i64("9223372036854775808", &end, &v), -1);
	assert_int_equal(num_i64("-9223372036854775809", &end, &v), -1);
	assert_int_equal(num_i64("-", &end, &v), -1);
	assert_int_equal(num_i64("--1", &end, &v), -1);
	assert_int_equal(num_i64("- 1", &end, &v), -1);
	assert_int_equal(num_i64("+1", &end, &v), -1);
	assert_int_equal(num_i64(" 1", &end, &v), -1);
	assert_true(v == 7);
}

static void int_range(void **state)
{
	const char *end = NULL;
	int v = 7;

	(void)state;
	assert_int_equal(num_int("2147483647/x", &end, &v), 0);
	assert_true(v == INT_MAX && *end == '/');
	assert_int_equal(num_int("-2147483648", NULL, &v), 0);
	assert_true(v == INT_MIN);
	v = 7;
	end = "unchanged";
	/* sscanf("%d") took these, as INT_MIN and 1 */
	assert_int_equal(num_int("2147483648", &end, &v), -1);
	assert_int_equal(num_int("-2147483649", &end, &v), -1);
	assert_int_equal(num_int("4294967297", &end, &v), -1);
	assert_int_equal(num_int(" 1", &end, &v), -1);
	assert_int_equal(num_int("+1", &end, &v), -1);
	assert_true(v == 7);
	assert_string_equal(end, "unchanged");
}

static void doubles(void **state)
{
	const char *end = NULL;
	double v = 7;

	(void)state;
	assert_int_equal(num_double("-81.6943610 41", &end, &v), 0);
	assert_true(v == -81.694361);
	assert_string_equal(end, " 41");
	assert_int_equal(num_double("41.4993200", &end, &v), 0);
	assert_true(v == 41.49932 && *end == '\0');
	assert_int_equal(num_double("0", &end, &v), 0);
	assert_true(v == 0);
	assert_int_equal(num_double("1e3,2", &end, &v), 0);
	assert_true(v == 1000 && *end == ',');
	assert_int_equal(num_double("5.", NULL, &v), 0);
	assert_true(v == 5);

	v = 7;
	end = "unchanged";
	assert_int_equal(num_double("", &end, &v), -1);
	assert_int_equal(num_double(" 1", &end, &v), -1);
	assert_int_equal(num_double("+1", &end, &v), -1);
	assert_int_equal(num_double(".5", &end, &v), -1);
	assert_int_equal(num_double("-", &end, &v), -1);
	assert_int_equal(num_double("- 1", &end, &v), -1);
	assert_int_equal(num_double("inf", &end, &v), -1);
	assert_int_equal(num_double("-nan", &end, &v), -1);
	assert_int_equal(num_double("0x1p3", &end, &v), -1);
	assert_int_equal(num_double("-0X10", &end, &v), -1);
	assert_int_equal(num_double("1e999", &end, &v), -1);
	assert_int_equal(num_double("-1e999", &end, &v), -1);
	assert_int_equal(num_double("1e-999", &end, &v), -1);
	assert_int_equal(num_double(NULL, &end, &v), -1);
	assert_true(v == 7);
	assert_string_equal(end, "unchanged");
}

static void fields(void **state)
{
	const char *line = "P 12 -3 1 41.5 from-x 7\n", *q = line + 1;
	uint64_t u = 0;
	int64_t i = 0;
	int n = 0;
	double d = 0;
	char w[7];

	(void)state;
	assert_int_equal(num_field_u64(&q, &u), 0);
	assert_int_equal(num_field_i64(&q, &i), 0);
	assert_int_equal(num_field_int(&q, &n), 0);
	assert_int_equal(num_field_double(&q, &d), 0);
	assert_int_equal(num_field_word(&q, w, sizeof(w)), 0);
	assert_true(u == 12 && i == -3 && n == 1 && d == 41.5);
	assert_string_equal(w, "from-x");
	assert_false(num_field_end(q));
	assert_int_equal(num_field_int(&q, &n), 0);
	assert_true(n == 7 && num_field_end(q));
	assert_true(num_field_end(""));
	assert_false(num_field_end("\n\n"));
	assert_false(num_field_end(" \n"));

	/* refused: *q and the value untouched */
	q = "  1";
	assert_int_equal(num_field_u64(&q, &u), -1);
	q = "1";
	assert_int_equal(num_field_i64(&q, &i), -1);
	q = " 2147483648";
	assert_int_equal(num_field_int(&q, &n), -1);
	q = " x";
	assert_int_equal(num_field_double(&q, &d), -1);
	assert_true(u == 12 && i == -3 && n == 7 && d == 41.5);
	assert_string_equal(q, " x");
	q = " from-xy";
	assert_int_equal(num_field_word(&q, w, sizeof(w)), -1);
	q = " \n";
	assert_int_equal(num_field_word(&q, w, sizeof(w)), -1);
	q = "  a";
	assert_int_equal(num_field_word(&q, w, sizeof(w)), -1);
	assert_string_equal(q, "  a");
	assert_string_equal(w, "from-x");
}

static void after_and_hex_byte(void **state)
{
	unsigned char b = 7;

	(void)state;
	assert_string_equal(num_after("seq 12", "seq "), "12");
	assert_null(num_after("sequel 12", "seq "));
	assert_null(num_after(NULL, "seq "));
	assert_int_equal(num_hex_byte("fF", &b), 0);
	assert_int_equal(b, 0xff);
	assert_int_equal(num_hex_byte("0a", &b), 0);
	assert_int_equal(b, 0x0a);
	b = 7;
	assert_int_equal(num_hex_byte(" f", &b), -1);
	assert_int_equal(num_hex_byte("g0", &b), -1);
	assert_int_equal(num_hex_byte("+f", &b), -1);
	assert_int_equal(num_hex_byte("-1", &b), -1);
	assert_int_equal(num_hex_byte("f", &b), -1);
	assert_int_equal(b, 7);
}

static void lines_and_digits(void **state)
{
	uint64_t u = 7;
	int64_t i = 7;
	int d = 7;

	(void)state;
	assert_int_equal(num_line_u64("seq 12", "seq ", &u), 0);
	assert_true(u == 12);
	assert_int_equal(num_line_i64("last_ok -3", "last_ok ", &i), 0);
	assert_true(i == -3);
	u = 7;
	i = 7;
	assert_int_equal(num_line_u64("seq 12 ", "seq ", &u), -1);
	assert_int_equal(num_line_u64("seq 12x", "seq ", &u), -1);
	assert_int_equal(num_line_u64("seq  12", "seq ", &u), -1);
	assert_int_equal(num_line_u64("sequel 12", "seq ", &u), -1);
	assert_int_equal(num_line_i64("last_ok ", "last_ok ", &i), -1);
	assert_true(u == 7 && i == 7);

	assert_int_equal(num_digits("0930", 4, &d), 0);
	assert_int_equal(d, 930);
	assert_int_equal(num_digits("12:", 2, &d), 0);
	assert_int_equal(d, 12);
	d = 7;
	assert_int_equal(num_digits("-1", 2, &d), -1);
	assert_int_equal(num_digits("+1", 2, &d), -1);
	assert_int_equal(num_digits(" 1", 2, &d), -1);
	assert_int_equal(num_digits("1", 2, &d), -1);
	assert_int_equal(num_digits("1234567890", 10, &d), -1);
	assert_int_equal(d, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(u64_decimal),
	    cmocka_unit_test(u64_hex),
	    cmocka_unit_test(i64),
	    cmocka_unit_test(int_range),
	    cmocka_unit_test(doubles),
	    cmocka_unit_test(fields),
	    cmocka_unit_test(after_and_hex_byte),
	    cmocka_unit_test(lines_and_digits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
