/*
 * test_gen.c: gen_list on a real directory: only PREFIX<digits> above 0
 * count, highest first, and a cap drops the lowest, never the highest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"

static char dir[64];

static void touch(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_gen.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_only_generations_count(void **state)
{
	uint64_t gens[8];

	(void)state;
	touch("state.00000000000000000003");
	touch("state.00000000000000000012");
	touch("state.7");
	touch("state.0");     /* not above 0 */
	touch("state.9.tmp"); /* trailing text */
	touch("state.");      /* no number */
	touch("state.-4");    /* not digits */
	touch("status.5");    /* another prefix */
	touch("xstate.6");
	assert_int_equal(gen_list(dir, "state.", gens, 8), 3);
	assert_int_equal(gens[0], 12);
	assert_int_equal(gens[1], 7);
	assert_int_equal(gens[2], 3);
	assert_int_equal(gen_list("/nonexistent/test_gen", "state.", gens, 8), 0);
}

/* More files than room: the highest are kept whatever readdir's order. */
static void test_cap_keeps_the_highest(void **state)
{
	uint64_t gens[4];
	char name[64];
	int order[] = {5, 40, 1, 33, 17, 2, 39, 8, 26, 11, 38, 3, 20, 37, 14, 9};

	(void)state;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		snprintf(name, sizeof(name), "status.%020d", order[i]);
		touch(name);
	}
	assert_int_equal(gen_list(dir, "status.", gens, 4), 4);
	assert_int_equal(gens[0], 40);
	assert_int_equal(gens[1], 39);
	assert_int_equal(gens[2], 38);
	assert_int_equal(gens[3], 37);
	assert_int_equal(gen_list(dir, "status.", gens, 1), 1);
	assert_int_equal(gens[0], 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_only_generations_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cap_keeps_the_highest, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
