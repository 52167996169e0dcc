/*
 * test_ratewin.c: the persisted sliding window (ratewin.h) with an
 * injected clock: N calls in any window, across "processes" (a second
 * handle on the same file), an unanswered call counted until the pending
 * time, a damaged file counted as a spent window, a clock set back, a
 * hold and a ban.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ratewin.h"

static uint64_t now_ms;

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return now_ms;
}

struct fx {
	char dir[64];
	char path[96];
};

static struct ratewin *open_win(const struct fx *f, unsigned limit)
{
	struct ratewin_opts o = {limit, 60000, 60000, fake_now, NULL};
	struct ratewin *w = NULL;
	struct err e;

	assert_int_equal(ratewin_open(&w, f->path, &o, &e), ERR_OK);
	return w;
}

/* One call if it fits: 0, or the wait. */
static uint64_t call(struct ratewin *w, int answer)
{
	uint64_t wait, ticket;
	struct err e;

	assert_int_equal(ratewin_acquire(w, &wait, &ticket, &e), ERR_OK);
	if (!wait && answer)
		ratewin_release(w, ticket);
	return wait;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/ratewin.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/rate", f->dir);
	now_ms = 1800000000000ull;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void sliding_across_handles(void **state)
{
	struct fx *f = *state;
	struct ratewin *a = open_win(f, 3), *b;

	assert_int_equal(call(a, 1), 0);
	now_ms += 10000;
	assert_int_equal(call(a, 1), 0);
	ratewin_free(a);
	/* a restart: the window is on disk */
	b = open_win(f, 3);
	assert_int_equal(call(b, 1), 0);
	/* the first call leaves the window 60 s after it was answered */
	assert_int_equal(call(b, 1), 60000 - 10000);
	now_ms += 50000;
	assert_int_equal(call(b, 1), 0);
	assert_int_equal(call(b, 1), 10000);
	ratewin_free(b);
}

static void unanswered_call_counts_until_pending(void **state)
{
	struct fx *f = *state;
	struct ratewin *a = open_win(f, 1), *b;

	assert_int_equal(call(a, 0), 0); /* killed in the middle: never answered */
	ratewin_free(a);
	b = open_win(f, 1);
	/* it may have arrived as late as start + 60 s: free at start + 120 s */
	now_ms += 30000;
	assert_true(call(b, 1) > 0);
	now_ms += 89999;
	assert_true(call(b, 1) > 0);
	now_ms += 1;
	assert_int_equal(call(b, 1), 0);
	ratewin_free(b);
}

static void damaged_file_is_a_spent_window(void **state)
{
	struct fx *f = *state;
	struct ratewin *a = open_win(f, 5);
	FILE *fp;

	assert_int_equal(call(a, 1), 0);
	fp = fopen(f->path, "w");
	fputs("scfgate-rate 1\nhold 0\nban 0\ncall 17", fp); /* torn */
	fclose(fp);
	assert_int_equal(call(a, 1), 60000);
	now_ms += 60000;
	assert_int_equal(call(a, 1), 0);
	ratewin_free(a);
}

/* A FIFO or a link in place of the window file is refused at once: never
 * waited on (opening a FIFO would block the half), never followed. */
static void not_a_regular_file(void **state)
{
	struct fx *f = *state;
	struct ratewin_opts o = {5, 60000, 60000, fake_now, NULL};
	struct ratewin *w = NULL;
	char target[128];
	struct err e;

	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_int_not_equal(ratewin_open(&w, f->path, &o, &e), ERR_OK);
	assert_null(w);
	unlink(f->path);
	snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_not_equal(ratewin_open(&w, f->path, &o, &e), ERR_OK);
	assert_null(w);
	assert_int_not_equal(access(target, F_OK), 0); /* not created through it */
}

static void clock_set_back(void **state)
{
	struct fx *f = *state;
	struct ratewin *a = open_win(f, 1);

	assert_int_equal(call(a, 1), 0);
	now_ms -= 3600000; /* an hour back: the call counts as made now */
	assert_int_equal(call(a, 1), 60000);
	now_ms += 60000;
	assert_int_equal(call(a, 1), 0);
	ratewin_free(a);
}

static void hold_and_ban(void **state)
{
	struct fx *f = *state;
	struct ratewin *a = open_win(f, 20), *b = open_win(f, 20);
	struct ratewin_info ri;
	uint64_t wait, ticket;
	struct err e;

	ratewin_hold(a, 7000, 0); /* a 429's Retry-After */
	assert_int_equal(call(b, 1), 7000);
	now_ms += 7000;
	assert_int_equal(call(b, 1), 0);
	assert_int_equal(ratewin_hold(a, 0, 1), (int64_t)((now_ms + RATEWIN_BAN_MS) / 1000));
	assert_int_equal(ratewin_acquire(b, &wait, &ticket, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "ALERT: "));
	assert_non_null(strstr(e.msg, "no call is made before 20"));
	now_ms += RATEWIN_BAN_MS;
	assert_int_equal(call(b, 1), 0);
	assert_int_equal(ratewin_peek(f->path, 60000, &ri, &e), ERR_OK);
	ratewin_free(a);
	ratewin_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(sliding_across_handles, setup, teardown),
	    cmocka_unit_test_setup_teardown(unanswered_call_counts_until_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_file_is_a_spent_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(not_a_regular_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(clock_set_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(hold_and_ban, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
