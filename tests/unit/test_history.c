/*
 * test_history.c: the queues over time (gateway/run/history.c): the parser
 * on good and damaged text, the bound, the spacing of samples, a clock
 * set back, and a history file replaced by a link or a FIFO.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "example_cfg.h"
#include "history.h"
#include "num.h"

static void rm_rf(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static int count_files(const char *dir, const char *prefix)
{
	char cmd[256], out[32];
	const char *end;
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^%s'", dir, prefix);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, sizeof(out), p));
	pclose(p);
	assert_int_equal(num_int(out, &end, &n), 0);
	assert_string_equal(end, "\n");
	return n;
}

static void test_parse_good_and_bad_lines(void **state)
{
	static const char text[] = HISTORY_MAGIC "\n"
	                                         "100 1 2 3 4\n"
	                                         "200 5 6 7 8\n"
	                                         "150 9 9 9 9\n"                 /* not after 200 */
	                                         "300 1 2 3\n"                   /* four numbers */
	                                         "400 1 2 3 4 5\n"               /* six */
	                                         "500 -1 2 3 4\n"                /* negative */
	                                         "600 1 2 3 4x\n"                /* junk */
	                                         "700  1 2 3 4\n"                /* two spaces */
	                                         "800 99999999999999999 0 0 0\n" /* too big */
	                                         "\n"
	                                         "900 0 0 10 3600"; /* no final newline */
	struct history *h = calloc(1, sizeof(*h));
	struct err e;

	(void)state;
	assert_non_null(h);
	err_clear(&e);
	assert_int_equal(history_parse(text, sizeof(text) - 1, h, &e), ERR_OK);
	assert_int_equal(h->n, 3);
	assert_int_equal(h->skipped, 7);
	assert_int_equal(h->s[0].at, 100);
	assert_int_equal(h->s[0].waiting[HISTORY_OUTBOUND], 1);
	assert_int_equal(h->s[0].oldest[HISTORY_OUTBOUND], 2);
	assert_int_equal(h->s[0].waiting[HISTORY_INBOUND], 3);
	assert_int_equal(h->s[0].oldest[HISTORY_INBOUND], 4);
	assert_int_equal(h->s[2].at, 900);
	assert_int_equal(h->s[2].oldest[HISTORY_INBOUND], 3600);
	/* no magic line: not a history at all */
	assert_int_equal(history_parse("100 1 2 3 4\n", 12, h, &e), ERR_PERM);
	assert_int_equal(history_parse(HISTORY_MAGIC "0\n", sizeof(HISTORY_MAGIC) + 1, h, &e),
	                 ERR_PERM);
	assert_int_equal(history_parse(HISTORY_MAGIC, strlen(HISTORY_MAGIC), h, &e), ERR_OK);
	assert_int_equal(h->n, 0);
	free(h);
}

/* More than HISTORY_MAX lines keep the newest HISTORY_MAX. */
static void test_parse_keeps_newest(void **state)
{
	struct history *h = calloc(1, sizeof(*h));
	size_t cap = (HISTORY_MAX + 10) * 32 + 32, len;
	char *text = malloc(cap);
	struct err e;

	(void)state;
	assert_non_null(h);
	assert_non_null(text);
	len = (size_t)snprintf(text, cap, "%s\n", HISTORY_MAGIC);
	for (int i = 1; i <= HISTORY_MAX + 10; i++)
		len += (size_t)snprintf(text + len, cap - len, "%d 1 1 1 1\n", i * 10);
	err_clear(&e);
	assert_int_equal(history_parse(text, len, h, &e), ERR_OK);
	assert_int_equal(h->n, HISTORY_MAX);
	assert_int_equal(h->s[0].at, 110);
	assert_int_equal(h->s[HISTORY_MAX - 1].at, (HISTORY_MAX + 10) * 10);
	free(text);
	free(h);
}

/* Appending keeps one generation, drops the oldest beyond the bound, and
 * a sample earlier than the newest (a clock set back) replaces the later
 * ones instead of breaking the order. */
static void test_append_bounded(void **state)
{
	char dir[] = "/tmp/scfgate-history-XXXXXX", path[300];
	struct history *h = calloc(1, sizeof(*h));
	struct history_sample s;
	struct err e;
	int present = 1;
	FILE *f;

	(void)state;
	assert_non_null(h);
	assert_non_null(mkdtemp(dir));
	err_clear(&e);
	assert_int_equal(history_load(dir, h, &present, &e), ERR_OK);
	assert_int_equal(present, 0);
	memset(&s, 0, sizeof(s));
	for (int i = 1; i <= 3; i++) {
		s.at = (int64_t)i * 300;
		s.waiting[HISTORY_INBOUND] = i;
		assert_int_equal(history_append(dir, &s, &e), ERR_OK);
	}
	assert_int_equal(history_load(dir, h, &present, &e), ERR_OK);
	assert_int_equal(present, 1);
	assert_int_equal(h->n, 3);
	assert_int_equal(h->s[2].waiting[HISTORY_INBOUND], 3);
	assert_int_equal(count_files(dir, "history\\."), 1);
	/* a full history (as a week of samples leaves it): one more drops one */
	snprintf(path, sizeof(path), "%s/history.00000000000000000010", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", HISTORY_MAGIC);
	for (int i = 1; i <= HISTORY_MAX; i++)
		fprintf(f, "%d 0 0 %d 0\n", i * 300, i);
	fclose(f);
	s.at = (int64_t)(HISTORY_MAX + 1) * 300;
	s.waiting[HISTORY_INBOUND] = HISTORY_MAX + 1;
	assert_int_equal(history_append(dir, &s, &e), ERR_OK);
	assert_int_equal(history_load(dir, h, &present, &e), ERR_OK);
	assert_int_equal(h->n, HISTORY_MAX);
	assert_int_equal(h->s[0].at, 2 * 300);
	assert_int_equal(h->s[HISTORY_MAX - 1].waiting[HISTORY_INBOUND], HISTORY_MAX + 1);
	assert_int_equal(count_files(dir, "history\\."), 1);
	/* the clock set back */
	s.at = 10 * 300 + 1;
	assert_int_equal(history_append(dir, &s, &e), ERR_OK);
	assert_int_equal(history_load(dir, h, &present, &e), ERR_OK);
	assert_int_equal(h->n, 10);
	assert_int_equal(h->s[9].at, 10 * 300 + 1);
	assert_int_equal(h->skipped, 0);
	rm_rf(dir);
	free(h);
}

/* history_sample counts what waits in each queue's new/ and writes at
 * most once per HISTORY_EVERY seconds. */
static void test_sample_spacing(void **state)
{
	char root[] = "/tmp/scfgate-history-XXXXXX", path[512];
	struct cfg *c = example_cfg_load(CFG_HALF_SCF);
	struct history *h = calloc(1, sizeof(*h));
	char *old_root;
	struct err e;
	int present = 0;
	time_t now = time(NULL);

	(void)state;
	assert_non_null(h);
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "mkdir -p %s/state/scf %s/outbound/new", root, root);
	assert_int_equal(system(path), 0);
	old_root = c->spool.root;
	c->spool.root = root;
	err_clear(&e);
	assert_int_equal(history_sample(c, now, &e), ERR_OK);
	snprintf(path, sizeof(path), "%s/state/scf", root);
	assert_int_equal(history_load(path, h, &present, &e), ERR_OK);
	assert_int_equal(present, 1);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->s[0].at, now);
	assert_int_equal(h->s[0].waiting[HISTORY_OUTBOUND], 0);
	/* too soon: nothing written */
	assert_int_equal(history_sample(c, now + HISTORY_EVERY - 2, &e), ERR_OK);
	assert_int_equal(history_load(path, h, &present, &e), ERR_OK);
	assert_int_equal(h->n, 1);
	/* later: a second sample */
	assert_int_equal(history_sample(c, now + HISTORY_EVERY + 1, &e), ERR_OK);
	assert_int_equal(history_load(path, h, &present, &e), ERR_OK);
	assert_int_equal(h->n, 2);
	c->spool.root = old_root;
	cfg_free(c);
	rm_rf(root);
	free(h);
}

/* The newest history replaced by a link to a good one, or by a FIFO, is
 * refused, never followed or opened. */
static void test_load_refuses_link_and_fifo(void **state)
{
	char dir[] = "/tmp/scfgate-history-XXXXXX", other[] = "/tmp/scfgate-history-XXXXXX";
	char cmd[600], path[300];
	struct history *h = calloc(1, sizeof(*h));
	struct history_sample s = {1000, {1, 2}, {3, 4}};
	struct err e;
	int present = 0;

	(void)state;
	assert_non_null(h);
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(other));
	err_clear(&e);
	assert_int_equal(history_append(other, &s, &e), ERR_OK);
	snprintf(cmd, sizeof(cmd),
	         "ln -s %s/history.00000000000000000001 %s/history.00000000000000000005", other,
	         dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(history_load(dir, h, &present, &e), ERR_PERM);
	assert_int_equal(present, 0);
	assert_int_equal(h->n, 0);
	snprintf(path, sizeof(path), "%s/history.00000000000000000006", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(history_load(dir, h, &present, &e), ERR_PERM);
	assert_int_equal(present, 0);
	/* an append replaces what it cannot read with a fresh history */
	s.at = 2000;
	assert_int_equal(history_append(dir, &s, &e), ERR_OK);
	assert_int_equal(history_load(dir, h, &present, &e), ERR_OK);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->s[0].at, 2000);
	rm_rf(dir);
	rm_rf(other);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good_and_bad_lines),
	    cmocka_unit_test(test_parse_keeps_newest),
	    cmocka_unit_test(test_append_bounded),
	    cmocka_unit_test(test_sample_spacing),
	    cmocka_unit_test(test_load_refuses_link_and_fifo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
