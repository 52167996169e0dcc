/*
 * test_oms_faults.c: `scfgate oms` against oms-sim's injected faults:
 * 500/502/503 (before and after the server acted), maintenance,
 * timeouts, dropped connections, malformed and truncated JSON, 401 with
 * re-login and with bad credentials, 400/422 to failed/ with the body,
 * and the per-issue hold behind a failed record.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "half.h"
#include "oms.h"
#include "test_oms_util.h"
#include "when.h"

static const char *const serial[] = {"--retry-ms", "50", "--concurrency", "1", NULL};
static const char *const fast[] = {"--retry-ms", "50", "--http-timeout-ms", "1500", NULL};

/* Run --once until the outbound queue is drained (or give up). */
static void drain(struct omt *t, int max_runs)
{
	struct spool_stats st;

	for (int i = 0; i < max_runs; i++) {
		assert_int_equal(omt_run(t, 0, fast), 0);
		assert_int_equal(spool_stats(t->root, "outbound", 0, &st, NULL), ERR_OK);
		if (st.count[SPOOL_NEW] == 0 && st.count[SPOOL_CUR] == 0)
			return;
	}
	fail_msg("outbound queue not drained after %d runs", max_runs);
}

/* Exactly one request, two comments once each (in CommentsField, the
 * default route), one attachment, one ack (omt_exactly_once). */
static void check_exactly_once(struct omt *t, int64_t base, int n)
{
	char why[256];

	if (omt_exactly_once(t, base, n, why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

static void run_with_faults(const char *faults)
{
	struct omt t;
	struct spool_stats st;

	assert_int_equal(omt_setup(&t, NULL, "<concurrency>4</concurrency>"), 0);
	assert_int_equal(omt_feed(&t, 100, 12), 0);
	assert_int_equal(omt_faults(&t, faults), 0);
	drain(&t, 12);
	assert_int_equal(omt_faults(&t, "{\"error_rate\":0,\"drop_rate\":0,\"timeout_rate\":0,"
	                                "\"malformed_rate\":0,\"truncate_rate\":0}"),
	                 0);
	check_exactly_once(&t, 100, 12);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	assert_int_equal(st.count[SPOOL_DONE], 48);
	omt_teardown(&t);
}

static void test_5xx_before_apply(void **state)
{
	(void)state;
	run_with_faults("{\"error_rate\":0.3,\"error_codes\":[500,502,503]}");
}

static void test_5xx_after_apply(void **state)
{
	(void)state;
	run_with_faults("{\"error_rate\":0.3,\"after_apply\":true}");
}

/* Dropped connections, also after the server acted (an in-doubt write:
 * resolved by looking first, never by sending it again blindly). */
static void test_drops(void **state)
{
	(void)state;
	run_with_faults("{\"drop_rate\":0.25,\"after_apply\":true}");
}

static void test_timeouts(void **state)
{
	(void)state;
	run_with_faults("{\"timeout_rate\":0.1,\"hang_ms\":2500,\"after_apply\":true}");
}

static void test_malformed_and_truncated(void **state)
{
	(void)state;
	run_with_faults("{\"malformed_rate\":0.15,\"truncate_rate\":0.15}");
}

/* The most "effect=retry" lines the log has for one record: how many
 * record-level tries a temporary error cost it. */
static int most_retries(struct omt *t)
{
	struct buf b = BUF_INIT_CAP((size_t)64 * 1024 * 1024);
	char names[64][128];
	int counts[64] = {0}, n = 0, most = 0;
	const char *p;

	assert_int_equal(buf_read_file(&b, t->log, NULL), ERR_OK);
	for (p = buf_str(&b); (p = strstr(p, "effect=retry ")) != NULL; p++) {
		const char *r = strstr(p, " record=");
		size_t len;
		int i;

		assert_non_null(r);
		r += strlen(" record=");
		len = strcspn(r, " \n");
		assert_true(len > 0 && len < sizeof(names[0]));
		for (i = 0; i < n; i++)
			if (strlen(names[i]) == len && strncmp(names[i], r, len) == 0)
				break;
		if (i == n) {
			assert_true(n < 64);
			memcpy(names[n], r, len);
			names[n][len] = '\0';
			n++;
		}
		if (++counts[i] > most)
			most = counts[i];
	}
	buf_release(&b);
	return most;
}

/* Maintenance: nothing moves, nothing fails; then everything flows. */
static void test_maintenance(void **state)
{
	struct omt t;
	struct spool_stats st;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	assert_int_equal(omt_feed(&t, 200, 3), 0);
	assert_int_equal(omt_faults(&t, "{\"maintenance\":true}"), 0);
	assert_int_equal(omt_run(&t, 0, fast), 0);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_NEW], 12);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	assert_true(omt_log_has(&t, "effect=retry"));
	/* --once spends three tries on a record, even while the back-off of
	 * another record keeps the round going. */
	assert_int_equal(most_retries(&t), 3);
	assert_int_equal(omt_faults(&t, "{\"maintenance\":false}"), 0);
	drain(&t, 3);
	check_exactly_once(&t, 200, 3);
	omt_teardown(&t);
}

/* The turns of an OMS half run in this process, timed. */
static struct {
	int turns, waits;
	uint64_t longest; /* ms, the longest turn */
} wt;

static enum err_status timed_turn(void *h, struct half_turn *t, struct err *e)
{
	uint64_t t0 = when_mono_ms(), took;
	enum err_status s = oms_half_ops.turn(h, t, e);

	took = when_mono_ms() - t0;
	wt.turns++;
	if (took > wt.longest)
		wt.longest = took;
	if (!t->again && t->wait_until_ms)
		wt.waits++;
	return s;
}

static volatile sig_atomic_t once_stop;

static void on_alarm(int sig)
{
	(void)sig;
	once_stop = 1;
}

/* Open the OMS half of t in this process with a record back-off of
 * retry_ms (drawn from [retry_ms / 2, retry_ms]) and one HTTP attempt a
 * request, run the --once loop over it with its turns timed, and return
 * how long the run took.  alarm_ms > 0: the stop flag rises then. */
static uint64_t once_in_process(struct omt *t, long retry_ms, long alarm_ms)
{
	struct half_ops ops = oms_half_ops;
	struct oms_opts o;
	struct cfg *c = NULL;
	struct itimerval it;
	struct sigaction sa, old;
	void *h = NULL;
	struct err e;
	uint64_t t0, took;

	memset(&wt, 0, sizeof(wt));
	memset(&o, 0, sizeof(o));
	memset(&it, 0, sizeof(it));
	memset(&sa, 0, sizeof(sa));
	ops.turn = timed_turn;
	o.retry_base_ms = retry_ms;
	o.retry_max_ms = retry_ms;
	o.http_attempts = 1;
	once_stop = 0;
	err_clear(&e);
	assert_int_equal(cfg_load_file(t->config, &c, &e), ERR_OK);
	if (ops.open(&h, c, &o, &once_stop, &e) != ERR_OK || ops.recover(h, &e) != ERR_OK)
		fail_msg("open: %s", e.msg);
	sa.sa_handler = on_alarm;
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	it.it_value.tv_sec = alarm_ms / 1000;
	it.it_value.tv_usec = (alarm_ms % 1000) * 1000;
	t0 = when_mono_ms();
	if (alarm_ms > 0)
		assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(half_loop(&ops, h, c, 1, &once_stop, &e), ERR_OK);
	took = when_mono_ms() - t0;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	sigaction(SIGALRM, &old, NULL);
	ops.free(h);
	cfg_free(c);
	return took;
}

/*
 * --once with a record in back-off: the forwarder's turn returns at once
 * and asks the loop for a nap until the back-off ends; the loop's naps
 * are the waits, three tries a record.  A stop during such a nap ends
 * the run at once, the record back in new/.
 */
static void test_once_backoff_in_the_loop(void **state)
{
	struct omt t;
	struct spool_stats st;
	uint64_t took;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 900, 122, "waits", NULL);
	assert_int_equal(omt_faults(&t, "{\"maintenance\":true}"), 0);
	/* back-offs of 0.5 to 1 s: three tries, two naps */
	took = once_in_process(&t, 1000, 0);
	assert_true(wt.waits >= 2);
	/* no turn waits out a back-off itself: the longest is shorter than
	 * the shortest back-off */
	if (wt.longest >= 500)
		fail_msg("a turn took %llu ms", (unsigned long long)wt.longest);
	assert_true(took >= 1000);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_NEW], 1);
	assert_int_equal(st.count[SPOOL_CUR], 0);

	/* a back-off of 10 to 20 s, a stop after 0.3 s */
	took = once_in_process(&t, 20000, 300);
	assert_true(once_stop);
	assert_true(wt.waits >= 1);
	if (took >= 3000)
		fail_msg("the stop took %llu ms", (unsigned long long)took);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_NEW], 1);
	assert_int_equal(st.count[SPOOL_CUR], 0);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	omt_teardown(&t);
}

/* 422 -> failed/ with the body; the issue's later records are held;
 * other issues flow; an unmapped type fails too.  (A configured field
 * Cartegraph does not have stops the half at start: test_oms_meta.) */
static void test_permanent_errors(void **state)
{
	struct omt t;
	struct spool_stats st;
	struct buf why = BUF_INIT_CAP(1 << 20);

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 300, 122, "first", NULL); /* seq 1: 422 */
	omt_comment(&t, 300, "3001", "held behind");
	omt_issue(&t, 301, 122, "flows", NULL);
	omt_comment(&t, 301, "3011", "flows too");
	omt_issue(&t, 302, 777, "unmapped", NULL);
	assert_int_equal(omt_faults(&t, "{\"fail_next\":{\"count\":1,\"kind\":\"error\","
	                                "\"status\":422},\"path_prefix\":\"/api/v1/classes\"}"),
	                 0);
	/* One transfer at a time, so the first request (issue 300's create)
	 * is the one that gets the 422. */
	assert_int_equal(omt_run(&t, 0, serial), 0);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_FAILED], 2);
	assert_int_equal(st.count[SPOOL_HOLD], 1);
	assert_int_equal(st.count[SPOOL_DONE], 2);
	assert_int_equal(st.count[SPOOL_NEW], 0);
	assert_int_equal(spool_read_why(t.root, "outbound", SPOOL_FAILED,
	                                "00000000000000000001-scf.xml", &why, NULL),
	                 ERR_OK);
	assert_non_null(strstr(buf_str(&why), "422"));
	buf_reset(&why);
	assert_int_equal(spool_read_why(t.root, "outbound", SPOOL_FAILED,
	                                "00000000000000000005-scf.xml", &why, NULL),
	                 ERR_OK);
	assert_non_null(strstr(buf_str(&why), "not mapped"));
	buf_reset(&why);
	assert_int_equal(spool_read_why(t.root, "outbound", SPOOL_HOLD,
	                                "00000000000000000002-scf.xml", &why, NULL),
	                 ERR_OK);
	assert_non_null(strstr(buf_str(&why), "blocked behind"));
	buf_release(&why);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 301), 1);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 300), 0);

	/* Operator: retry the failed create, release the held comment. */
	assert_int_equal(spool_retry(t.root, "outbound", "00000000000000000001-scf.xml", NULL),
	                 ERR_OK);
	assert_int_equal(omt_run(&t, 0, fast), 0);
	assert_int_equal(spool_release(t.root, "outbound", "00000000000000000002-scf.xml", NULL),
	                 ERR_OK);
	assert_int_equal(omt_run(&t, 0, fast), 0);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_DONE], 4);
	assert_int_equal(st.count[SPOOL_HOLD], 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 300), 1);
	omt_teardown(&t);
}

/* A create whose reply is over the HTTP body cap: the request was made
 * in Cartegraph, so the record is in doubt, not failed.  It stays in
 * new/, its retry looks the issue up and finds the request: one
 * request, one ack, nothing in failed/. */
static void test_oversized_create_reply(void **state)
{
	struct omt t;
	struct spool_stats st;
	cJSON *sim;
	int count = 0;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 500, 122, "reply too big", NULL);
	assert_int_equal(omt_faults(&t, "{\"fail_next\":{\"count\":1,\"kind\":\"oversize\"},"
	                                "\"path_prefix\":\"/api/v1/classes\"}"),
	                 0);
	assert_int_equal(omt_run(&t, 0, serial), 0);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	assert_int_equal(st.count[SPOOL_NEW], 0);
	assert_int_equal(st.count[SPOOL_DONE], 1);
	assert_true(
	    omt_log_has(&t, "byte cap (the server may have applied the request: in doubt)"));
	assert_true(omt_log_has(&t, "effect=retry issue=500"));
	assert_true(omt_log_has(&t, "effect=found issue=500"));
	sim = omt_state(&t);
	assert_non_null(sim);
	assert_non_null(omt_request_for(sim, 500, &count));
	assert_int_equal(count, 1);
	cJSON_Delete(sim);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 500), 1);
	omt_teardown(&t);
}

/* Session auth: an expired session is renewed once; bad credentials
 * stop the half with an alert and exit 1, nothing quarantined. */
static void test_401(void **state)
{
	static const char *const short_session[] = {"--session-seconds", "1", NULL};
	struct omt t;
	struct spool_stats st;

	(void)state;
	setenv("OMT_AUTH", "session", 1);
	assert_int_equal(omt_setup(&t, short_session, NULL), 0);
	omt_issue(&t, 400, 122, "one", NULL);
	assert_int_equal(omt_run(&t, 0, fast), 0);
	/* the first session is past its 1 s on the simulator's clock, which
	 * is moved on instead of sleeping */
	assert_int_equal(omt_admin(&t, "/_admin/clock", "{\"advance_seconds\":2}"), 0);
	omt_issue(&t, 401, 122, "two", NULL);
	assert_int_equal(omt_run(&t, 0, fast), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 401), 1);
	omt_teardown(&t);

	setenv("OMT_CRED", "scfgate:wrong\n", 1);
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	unsetenv("OMT_CRED");
	unsetenv("OMT_AUTH");
	omt_issue(&t, 402, 122, "three", NULL);
	assert_int_equal(omt_run(&t, 0, fast), 1);
	assert_true(omt_log_has(&t, "alert"));
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	assert_int_equal(st.count[SPOOL_NEW], 1);
	omt_teardown(&t);
}

/* One of oms-sim's session counters (GET /_admin/sessions). */
static long sim_sessions(struct omt *t, const char *name)
{
	char url[160];
	long status = 0, n;
	cJSON *st;

	snprintf(url, sizeof(url), "%s/_admin/sessions", t->sim.base);
	st = http_json("GET", url, NULL, NULL, &status);
	assert_non_null(st);
	assert_non_null(cJSON_GetObjectItem(st, name));
	n = (long)cJSON_GetObjectItem(st, name)->valuedouble;
	cJSON_Delete(st);
	return n;
}

/* Wait (at most 5 s) until the ack of issue waits in inbound/new; the
 * daemon pid is killed when it does not come. */
static void wait_ack(struct omt *t, int64_t issue, pid_t pid)
{
	for (int i = 0; i < 100; i++) {
		if (omt_count(t, "inbound", SPOOL_NEW, RECORD_ACK, issue) == 1)
			return;
		usleep(50 * 1000);
	}
	omt_wait(pid, 1);
	fail_msg("no ack of issue %lld within 5 s", (long long)issue);
}

/*
 * Session renewal inside one process (test_401's second run logs in
 * afresh): the daemon logs in, forwards a record, the simulator's clock
 * passes the session's end, and the same process forwards another one.
 * Its create meets exactly one 401 for the expired cookie, the client
 * logs in once more and sends it again; the record is applied, acked
 * and not quarantined.  One request at a time, so no sibling meets the
 * same 401.
 */
static void test_session_renewal(void **state)
{
	static const char *const sim_args[] = {"--session-seconds", "60", NULL};
	struct spool_stats st;
	struct omt t;
	cJSON *cg;
	int count = 0;
	long logins;
	pid_t pid;

	(void)state;
	setenv("OMT_AUTH", "session", 1);
	assert_int_equal(omt_setup(&t, sim_args, NULL), 0);
	unsetenv("OMT_AUTH");
	omt_issue(&t, 410, 122, "before the session ends", NULL);
	pid = omt_start_daemon(&t, serial);
	assert_true(pid > 0);
	wait_ack(&t, 410, pid);
	/* the pass ends with a poll of the tracked request; until the next
	 * pass (pollSeconds 10) the half calls only to forward */
	for (int i = 0; i < 100 && !omt_log_has(&t, "effect=poll"); i++)
		usleep(50 * 1000);
	assert_true(omt_log_has(&t, "effect=poll"));
	logins = sim_sessions(&t, "logins");
	assert_true(logins >= 1);
	assert_int_equal(sim_sessions(&t, "expired_refused"), 0);
	assert_true(sim_sessions(&t, "live") >= 1);
	/* the session ends on the simulator's clock, moved on instead of
	 * sleeping; the half still holds its cookie */
	assert_int_equal(omt_admin(&t, "/_admin/clock", "{\"advance_seconds\":120}"), 0);
	assert_int_equal(sim_sessions(&t, "live"), 0);
	omt_issue(&t, 411, 122, "after the session ended", NULL);
	wait_ack(&t, 411, pid);
	kill(pid, SIGTERM);
	assert_int_equal(omt_wait(pid, 0), 0);

	assert_int_equal(sim_sessions(&t, "expired_refused"), 1);
	assert_int_equal(sim_sessions(&t, "unknown_refused"), 0);
	assert_int_equal(sim_sessions(&t, "logins"), logins + 1);
	assert_int_equal(sim_sessions(&t, "logins_refused"), 0);
	assert_true(omt_log_has(&t, "relogin=1"));
	cg = omt_state(&t);
	assert_non_null(omt_request_for(cg, 411, &count));
	assert_int_equal(count, 1);
	cJSON_Delete(cg);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	assert_int_equal(st.count[SPOOL_NEW], 0);
	assert_int_equal(st.count[SPOOL_DONE], 2);
	omt_teardown(&t);
}

/* ---- redirects are never followed ---- */

/* Requests a simulator has seen (its own /_admin/stats call not yet counted). */
static long sim_requests(const struct simproc *p)
{
	char url[128];
	long status = 0, n;
	cJSON *st;

	snprintf(url, sizeof(url), "%s/_admin/stats", p->base);
	st = http_json("GET", url, NULL, NULL, &status);
	assert_non_null(st);
	n = (long)cJSON_GetObjectItem(st, "requests")->valuedouble;
	cJSON_Delete(st);
	return n;
}

static void redirect_next(struct omt *t, const char *prefix, int code, int after_apply, int skip,
                          const char *location)
{
	char f[1024];

	snprintf(f, sizeof(f),
	         "{\"path_prefix\":\"%s\",\"after_apply\":%s,\"redirect_location\":\"%s\","
	         "\"fail_next\":{\"kind\":\"redirect\",\"status\":%d,\"count\":1,\"skip\":%d}}",
	         prefix, after_apply ? "true" : "false", location, code, skip);
	assert_int_equal(omt_faults(t, f), 0);
}

/*
 * A 307 and a 302 to another host (a second oms-sim, which must see no
 * request at all) on the session log-in, on a read (the class metadata
 * read at start) and on a create.  The half stops (exit 1) naming the Location; the record stays
 * in new/; once the redirect is gone the issue is created exactly once:
 * the 302 on the create comes after Cartegraph made the request (the
 * post/redirect/get answer), and the next run finds it by its SCF id.
 */
static void test_redirects(void **state)
{
	static const int codes[] = {307, 302};
	struct simproc other;
	struct spool_stats st;
	char loc[256], want[512];

	(void)state;
	assert_int_equal(simproc_start(&other, sim_bin("OMS_SIM_BIN"), NULL), 0);
	for (int i = 0; i < 2; i++) {
		struct omt t;
		int64_t id = 700 + i;
		int count = 0;
		cJSON *sim;

		setenv("OMT_AUTH", "session", 1);
		assert_int_equal(omt_setup(&t, NULL, NULL), 0);
		unsetenv("OMT_AUTH");
		omt_issue(&t, id, 122, "redirected", NULL);

		/* the session log-in */
		snprintf(loc, sizeof(loc), "%s/api/v1/authenticate", other.base);
		redirect_next(&t, "/api/v1/authenticate", codes[i], 0, 0, loc);
		assert_int_equal(omt_run(&t, 0, serial), 1);
		snprintf(want, sizeof(want),
		         "Cartegraph log-in: HTTP %d POST /api/v1/authenticate: redirect to \"%s\" "
		         "not followed",
		         codes[i], loc);
		assert_true(omt_log_has(&t, want));
		assert_false(omt_log_has(&t, "scfgate-pass"));
		assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
		assert_int_equal(st.count[SPOOL_NEW], 1);
		assert_int_equal(st.count[SPOOL_FAILED], 0);

		/* a read: the class metadata the half reads at start */
		snprintf(loc, sizeof(loc), "%s/api/v1/meta/Classes/cgRequestsClass", other.base);
		redirect_next(&t, "/api/v1/meta/Classes", codes[i], 0, 0, loc);
		assert_int_equal(omt_run(&t, 0, serial), 1);
		snprintf(want, sizeof(want), "HTTP %d GET /api/v1/meta/Classes/cgRequestsClass",
		         codes[i]);
		assert_true(omt_log_has(&t, want));
		snprintf(want, sizeof(want), "redirect to \"%s\" not followed", loc);
		assert_true(omt_log_has(&t, want));
		assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
		assert_int_equal(st.count[SPOOL_NEW] + st.count[SPOOL_CUR], 1);
		assert_int_equal(st.count[SPOOL_FAILED], 0);

		/* the create (no intent was saved yet, so no lookup before it):
		 * redirected before (307) or after (302) Cartegraph made the
		 * request */
		snprintf(loc, sizeof(loc), "%s/api/v1/classes/cgRequestsClass/1", other.base);
		redirect_next(&t, "/api/v1/classes", codes[i], codes[i] == 302, 0, loc);
		assert_int_equal(omt_run(&t, 0, serial), 1);
		snprintf(
		    want, sizeof(want),
		    "HTTP %d POST /api/v1/classes/cgRequestsClass: redirect to \"%s\" not followed",
		    codes[i], loc);
		assert_true(omt_log_has(&t, want));
		assert_true(omt_log_has(&t, codes[i] == 302 ? "(in doubt)" : "did not act"));
		assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
		assert_int_equal(st.count[SPOOL_NEW] + st.count[SPOOL_CUR], 1);
		assert_int_equal(st.count[SPOOL_FAILED], 0);
		sim = omt_state(&t);
		omt_request_for(sim, id, &count);
		assert_int_equal(count, codes[i] == 302 ? 1 : 0);
		cJSON_Delete(sim);

		/* the redirect is gone: exactly one request, one ack */
		assert_int_equal(omt_faults(&t, "{\"after_apply\":false,\"path_prefix\":\"\"}"), 0);
		assert_int_equal(omt_run(&t, 0, serial), 0);
		snprintf(want, sizeof(want), "effect=%s issue=%lld",
		         codes[i] == 302 ? "found" : "create", (long long)id);
		assert_true(omt_log_has(&t, want));
		assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
		assert_int_equal(st.count[SPOOL_DONE], 1);
		assert_int_equal(st.count[SPOOL_FAILED], 0);
		sim = omt_state(&t);
		assert_non_null(omt_request_for(sim, id, &count));
		assert_int_equal(count, 1);
		cJSON_Delete(sim);
		assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, id), 1);
		omt_teardown(&t);
	}
	/* the other host never saw a request */
	assert_int_equal(sim_requests(&other), 0);
	simproc_stop(&other);
}

/* ---- TLS: <cartegraph><caFile> reaches the OMS half's client ---- */

/* Replace the first `from` in the configuration file with `to`. */
static void config_replace(struct omt *t, const char *from, const char *to)
{
	struct buf b = BUF_INIT_CAP(1 << 20), out = BUF_INIT_CAP(1 << 20);
	struct err e;
	const char *at;
	FILE *f;

	assert_int_equal(buf_read_file(&b, t->config, &e), ERR_OK);
	at = strstr(buf_str(&b), from);
	assert_non_null(at);
	buf_add(&out, b.data, (size_t)(at - b.data));
	buf_adds(&out, to);
	buf_adds(&out, at + strlen(from));
	f = fopen(t->config, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(out.data, 1, out.len, f), out.len);
	fclose(f);
	buf_release(&b);
	buf_release(&out);
}

/*
 * oms-sim over https with a self-signed certificate: with the
 * certificate as <caFile> the half creates the request; with the system
 * store alone, or another CA, the handshake fails, the half stops with
 * "TLS verification failed" and the record stays in new/.
 */
static void test_tls_ca_file(void **state)
{
	char dir[] = "/tmp/omt-tls.XXXXXX", cmd[2048], crt[128], key[128], other[128];
	char extra[256];
	const char *args[5];
	struct spool_stats st;
	struct omt t;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 2; i++) {
		snprintf(
		    cmd, sizeof(cmd),
		    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		    "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
		    "-keyout %s/%s.key -out %s/%s.crt 2>/dev/null",
		    dir, i ? "other" : "sim", dir, i ? "other" : "sim");
		assert_int_equal(system(cmd), 0);
	}
	snprintf(crt, sizeof(crt), "%s/sim.crt", dir);
	snprintf(key, sizeof(key), "%s/sim.key", dir);
	snprintf(other, sizeof(other), "%s/other.crt", dir);
	args[0] = "--tls-cert";
	args[1] = crt;
	args[2] = "--tls-key";
	args[3] = key;
	args[4] = NULL;
	snprintf(extra, sizeof(extra), "<caFile>%s</caFile>", crt);
	assert_int_equal(omt_setup(&t, args, extra), 0);
	config_replace(&t, "<baseUrl>http://", "<baseUrl>https://");

	omt_issue(&t, 900, 122, "over TLS", NULL);
	assert_int_equal(omt_run(&t, 0, serial), 0);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_DONE], 1);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 900), 1);

	/* another CA */
	config_replace(&t, crt, other);
	omt_issue(&t, 901, 122, "wrong CA", NULL);
	assert_int_equal(omt_run(&t, 0, serial), 1);
	assert_true(omt_log_has(&t, "TLS verification failed"));
	assert_false(omt_log_has(&t, "scfgate-pass"));
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_NEW] + st.count[SPOOL_CUR], 1);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	/* the system store alone */
	snprintf(extra, sizeof(extra), "<caFile>%s</caFile>", other);
	config_replace(&t, extra, "");
	assert_int_equal(omt_run(&t, 0, serial), 1);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_NEW] + st.count[SPOOL_CUR], 1);
	assert_int_equal(st.count[SPOOL_DONE], 1);
	omt_teardown(&t);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_5xx_before_apply),
	    cmocka_unit_test(test_5xx_after_apply),
	    cmocka_unit_test(test_drops),
	    cmocka_unit_test(test_timeouts),
	    cmocka_unit_test(test_malformed_and_truncated),
	    cmocka_unit_test(test_maintenance),
	    cmocka_unit_test(test_once_backoff_in_the_loop),
	    cmocka_unit_test(test_permanent_errors),
	    cmocka_unit_test(test_oversized_create_reply),
	    cmocka_unit_test(test_redirects),
	    cmocka_unit_test(test_tls_ca_file),
	    cmocka_unit_test(test_401),
	    cmocka_unit_test(test_session_renewal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
