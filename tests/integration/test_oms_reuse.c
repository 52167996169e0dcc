/*
 * test_oms_reuse.c: `scfgate oms` keeps its connections alive for writes
 * too, and stays exactly-once when a connection dies.  oms-sim sits
 * behind rtt-proxy, which cuts every third exchange at one point:
 * before the server reads the request, after it read it but before the
 * reply, or in the middle of the reply.  Most cut requests went out on
 * a reused connection, where libcurl would silently send a write again;
 * the half must instead treat the write as in doubt and look the issue
 * up.  Asserted per point: every issue has exactly one request, each
 * comment and photo once, the server saw exactly one create per issue,
 * and (without cuts) far fewer connections than requests.
 *
 * Environment as test_oms_faults, plus RTT_PROXY_BIN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "num.h"
#include "test_oms_util.h"

#define ISSUES 8

struct proxied {
	struct omt t;
	struct simproc proxy;
	char stats[320];
};

static const char *const once_args[] = {
    "--retry-ms", "50", "--http-timeout-ms", "3000", "--concurrency", "2", NULL};

static void start(struct proxied *x, const char *drop)
{
	char port[16];
	const char *args[12];
	int n = 0;

	assert_int_equal(omt_setup(&x->t, NULL, NULL), 0);
	snprintf(port, sizeof(port), "%d", x->t.sim.port);
	snprintf(x->stats, sizeof(x->stats), "%s/proxy.stats", x->t.dir);
	args[n++] = "--target";
	args[n++] = port;
	args[n++] = "--stats";
	args[n++] = x->stats;
	if (drop) {
		args[n++] = "--drop";
		args[n++] = drop;
		args[n++] = "--drop-every";
		args[n++] = "3";
	}
	args[n] = NULL;
	assert_int_equal(simproc_start(&x->proxy, sim_bin("RTT_PROXY_BIN"), args), 0);
	assert_int_equal(omt_config_replace(&x->t, x->t.sim.base, x->proxy.base), 0);
}

/* Stop the proxy; its counters. */
static void finish(struct proxied *x, unsigned long *conns, unsigned long *exch,
                   unsigned long *drops)
{
	char line[3][64];
	uint64_t v[3];
	FILE *f;

	simproc_stop(&x->proxy);
	f = fopen(x->stats, "r");
	assert_non_null(f);
	for (int i = 0; i < 3; i++) {
		assert_non_null(fgets(line[i], sizeof(line[i]), f));
		line[i][strcspn(line[i], "\n")] = '\0';
	}
	fclose(f);
	/* "connections N\nexchanges N\ndrops N\n" */
	assert_int_equal(num_line_u64(line[0], "connections ", &v[0]), 0);
	assert_int_equal(num_line_u64(line[1], "exchanges ", &v[1]), 0);
	assert_int_equal(num_line_u64(line[2], "drops ", &v[2]), 0);
	*conns = (unsigned long)v[0];
	*exch = (unsigned long)v[1];
	*drops = (unsigned long)v[2];
}

static int drain(struct omt *t, int max_runs)
{
	struct spool_stats st;

	for (int i = 1; i <= max_runs; i++) {
		assert_int_equal(omt_run(t, 0, once_args), 0);
		assert_int_equal(spool_stats(t->root, "outbound", 0, &st, NULL), ERR_OK);
		if (st.count[SPOOL_NEW] == 0 && st.count[SPOOL_CUR] == 0)
			return i;
	}
	fail_msg("outbound queue not drained after %d runs", max_runs);
	return max_runs;
}

/* Exactly one request per issue, each comment once in its notes, one
 * attachment, one ack; and exactly one create reached the server. */
static void check_exactly_once(struct omt *t, int64_t base, int n)
{
	cJSON *stats;
	struct spool_stats ss;
	char why[256], url[128];
	long code = 0;

	if (omt_exactly_once(t, base, n, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	snprintf(url, sizeof(url), "%s/_admin/stats", t->sim.base);
	stats = http_json("GET", url, NULL, NULL, &code);
	assert_int_equal(code, 200);
	assert_int_equal(
	    (int)cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(stats, "by_route"), "POST /api/v1/classes/:class")
	        ->valuedouble,
	    n);
	cJSON_Delete(stats);
	assert_int_equal(spool_stats(t->root, "outbound", 0, &ss, NULL), ERR_OK);
	assert_int_equal(ss.count[SPOOL_FAILED], 0);
	assert_int_equal(ss.count[SPOOL_DONE], 4 * n);
}

/* No cuts: the writes go out on kept-alive connections.  A run opens at
 * most one connection per client (reads, writes, metadata) and slot of
 * concurrency; a fresh connection per write would be 24 or more. */
static void test_writes_reuse_connections(void **state)
{
	struct proxied x;
	unsigned long conns, exch, drops;
	int runs;

	(void)state;
	start(&x, NULL);
	assert_int_equal(omt_feed(&x.t, 100, ISSUES), 0);
	runs = drain(&x.t, 3);
	finish(&x, &conns, &exch, &drops);
	print_message("runs %d connections %lu exchanges %lu\n", runs, conns, exch);
	check_exactly_once(&x.t, 100, ISSUES);
	assert_true(exch >= 4ul * ISSUES);
	assert_true(conns <= (unsigned long)runs * 3 * 2);
	omt_teardown(&x.t);
}

static void run_cut(const char *point)
{
	struct proxied x;
	unsigned long conns, exch, drops;
	int runs;

	start(&x, point);
	assert_int_equal(omt_feed(&x.t, 100, ISSUES), 0);
	runs = drain(&x.t, 25);
	finish(&x, &conns, &exch, &drops);
	print_message("cut %s: runs %d connections %lu exchanges %lu cut %lu\n", point, runs, conns,
	              exch, drops);
	assert_true(drops >= 10);
	check_exactly_once(&x.t, 100, ISSUES);
	omt_teardown(&x.t);
}

static void test_cut_before_read(void **state)
{
	(void)state;
	run_cut("before");
}

static void test_cut_after_read(void **state)
{
	(void)state;
	run_cut("after");
}

static void test_cut_mid_reply(void **state)
{
	(void)state;
	run_cut("mid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writes_reuse_connections),
	    cmocka_unit_test(test_cut_before_read),
	    cmocka_unit_test(test_cut_after_read),
	    cmocka_unit_test(test_cut_mid_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
