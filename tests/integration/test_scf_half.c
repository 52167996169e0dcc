/*
 * test_scf_half.c: the SCF half against a real scf-sim process: full fetch,
 * pagination edges, comments and the forward policy, overlap and clock
 * skew, injected faults, 429 with Retry-After, write-back and replay,
 * fatal authentication.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "half.h"
#include "health.h"
#include "log.h"
#include "scf.h"
#include "spool.h"
#include "test_scf_util.h"

struct run {
	enum err_status st;
	struct err e;
	struct scf_stats s;
	struct http_stats h;
};

/* One `scf --once` through the library (clock may be NULL). */
static void run_once(const struct tenv *t, const struct http_clock *clock, struct run *r)
{
	struct cfg *c = NULL;
	struct scf_half *h = NULL;

	memset(r, 0, sizeof(*r));
	if (cfg_load_file(t->config, &c, &r->e) != ERR_OK)
		fail_msg("%s", r->e.msg);
	r->st = scf_open(&h, c, clock, &r->e);
	if (r->st == ERR_OK) {
		r->st = scf_run(h, 1, &r->e);
		scf_stats_get(h, &r->s);
		scf_http_stats(h, &r->h);
	}
	scf_free(h);
	cfg_free(c);
}

static int is_mapped(int64_t rt)
{
	return rt >= 9101 && rt <= 9104;
}

/* ---- full fetch of a seeded organization ---- */

static void full_fetch_seeded(void **unused)
{
	const char *args[] = {"--issues", "45", "--rate-limit", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;
	cJSON *state, *keys;
	const cJSON *is;
	int want_issues = 0, want_att = 0, unmapped = 0;

	(void)unused;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);

	state = tsim_call(&s, "GET", "/_admin/state", NULL, NULL);
	keys = tenv_outbound_keys(&t);
	cJSON_ArrayForEach(is, cJSON_GetObjectItem(state, "issues"))
	{
		int64_t id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(is, "id"));
		int64_t rt =
		    (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(is, "request_type_id"));
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(is, "status"));
		int open = strcmp(st, "Open") == 0;
		char k[64];

		snprintf(k, sizeof(k), "issue/%" PRId64, id);
		assert_int_equal(tkeys_count(keys, k), open && is_mapped(rt) ? 1 : 0);
		if (open && is_mapped(rt)) {
			want_issues++;
			snprintf(k, sizeof(k), "attachment/%" PRId64 "/issue", id);
			if (cJSON_IsString(cJSON_GetObjectItem(is, "photo"))) {
				want_att++;
				assert_int_equal(tkeys_count(keys, k), 1);
			} else {
				assert_int_equal(tkeys_count(keys, k), 0);
			}
		}
		if (open && !is_mapped(rt))
			unmapped++;
	}
	assert_true(want_issues > 5);
	assert_int_equal(tkeys_count(keys, "_n_issue"), want_issues);
	assert_true(tkeys_count(keys, "_n_attachment") >= want_att);
	assert_int_equal(tkeys_count(keys, "_n_comment"), 0);
	assert_int_equal((int)r.s.skipped_unmapped, unmapped);
	/* the first pass reads Open issues only */
	assert_int_equal((int)r.s.pages, (want_issues + unmapped + 19) / 20);
	assert_true(r.s.watermark > 0);
	cJSON_Delete(keys);

	/* A second pass re-reads the overlap window and sends nothing. */
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)(r.s.issue_records + r.s.comment_records + r.s.attachment_records),
	                 0);
	keys = tenv_outbound_keys(&t);
	assert_int_equal(tkeys_count(keys, "_n_issue"), want_issues);
	assert_true(tkeys_all_once(keys));
	cJSON_Delete(keys);
	cJSON_Delete(state);
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- pagination edges ---- */

static void fetch_n(int n, int want_pages)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;
	cJSON *keys;

	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	for (int i = 0; i < n; i++)
		assert_true(tsim_add_issue(&s, "{\"request_type_id\":9101}") > 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.pages, want_pages);
	assert_int_equal((int)r.s.issue_records, n);
	keys = tenv_outbound_keys(&t);
	assert_int_equal(tkeys_count(keys, "_n_issue"), n);
	cJSON_Delete(keys);
	tenv_free(&t);
	tsim_stop(&s);
}

static void pagination_20(void **u)
{
	(void)u;
	fetch_n(20, 1);
}
static void pagination_21(void **u)
{
	(void)u;
	fetch_n(21, 2);
}
static void pagination_40(void **u)
{
	(void)u;
	fetch_n(40, 2);
}

/* ---- comments, photos, policy, closed issues ---- */

static void comments_and_policy(void **unused)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;
	cJSON *keys;
	int64_t a, b, un, cl, ak;
	char k[96];

	(void)unused;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	a = tsim_add_issue(&s, "{\"request_type_id\":9101,\"photo\":true}");
	/* first-sight comments travel inside the issue record */
	assert_int_equal(tsim_add_comment(&s, a, "{\"comment\":\"first\",\"kind\":\"resident\"}"),
	                 0);
	b = tsim_add_issue(&s, "{\"request_type_id\":9102}");
	un = tsim_add_issue(&s, "{\"request_type_id\":9105}");
	cl = tsim_add_issue(&s, "{\"request_type_id\":9103}");
	assert_int_equal(tsim_set_status(&s, cl, "closed"), 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.issue_records, 2);
	assert_int_equal((int)r.s.attachment_records, 1);
	assert_int_equal((int)r.s.skipped_unmapped, 1);
	assert_int_equal((int)r.s.skipped_not_open, 0); /* first pass: status=open only */

	/* With a watermark every status is read: new but already Closed, or
	 * Acknowledged, is not sent. */
	cl = tsim_add_issue(&s, "{\"request_type_id\":9103}");
	assert_int_equal(tsim_set_status(&s, cl, "closed"), 0);
	ak = tsim_add_issue(&s, "{\"request_type_id\":9103}");
	assert_int_equal(tsim_set_status(&s, ak, "acknowledged"), 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.issue_records, 0);
	assert_true(r.s.skipped_not_open >= 2);

	/* New comments: a resident's with a photo, a system one, an official's. */
	assert_int_equal(tsim_add_comment(&s, a,
	                                  "{\"comment\":\"still there\",\"kind\":\"resident\","
	                                  "\"name\":\"Pat\",\"photo\":true}"),
	                 0);
	assert_int_equal(tsim_add_comment(&s, a, "{\"kind\":\"system\"}"), 0);
	assert_int_equal(tsim_add_comment(&s, b, "{\"comment\":\"on it\",\"kind\":\"official\"}"),
	                 0);
	assert_int_equal(tsim_add_comment(&s, un, "{\"comment\":\"x\",\"kind\":\"resident\"}"), 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.issue_records, 0);
	assert_int_equal((int)r.s.comment_records, 2);
	assert_int_equal((int)r.s.attachment_records, 1);
	assert_int_equal((int)r.s.comments_not_forwarded, 1);

	/* Closed in SCF: later comments are not forwarded. */
	assert_int_equal(tsim_set_status(&s, b, "closed"), 0);
	assert_int_equal(tsim_add_comment(&s, b, "{\"comment\":\"late\",\"kind\":\"resident\"}"),
	                 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.comment_records, 0);

	keys = tenv_outbound_keys(&t);
	assert_int_equal(tkeys_count(keys, "_n_issue"), 2);
	assert_int_equal(tkeys_count(keys, "_n_comment"), 2);
	assert_int_equal(tkeys_count(keys, "_n_attachment"), 2);
	snprintf(k, sizeof(k), "attachment/%" PRId64 "/issue", a);
	assert_int_equal(tkeys_count(keys, k), 1);
	cJSON_Delete(keys);
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- overlap window and clock skew ---- */

static void skewed(const char *skew)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", "--clock-skew", skew, NULL};
	struct tenv_opts o = {0};
	struct tsim s;
	struct tenv t;
	struct run r;
	cJSON *clk;
	int64_t a, now;

	o.overlap = 5;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, &o), 0);
	a = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.issue_records, 1);
	/* The watermark is SCF's time, not ours. */
	clk = tsim_call(&s, "GET", "/_admin/clock", NULL, NULL);
	now = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(clk, "now_epoch"));
	cJSON_Delete(clk);
	assert_true(r.s.watermark <= now && r.s.watermark >= now - 5);
	/* Same second as the watermark: the inclusive filter and the overlap
	 * bring it back; the seen-state keeps it from being sent twice. */
	assert_int_equal(tsim_add_comment(&s, a, "{\"comment\":\"same second\"}"), 0);
	assert_true(tsim_add_issue(&s, "{\"request_type_id\":9102}") > 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.comment_records, 1);
	assert_int_equal((int)r.s.issue_records, 1);
	/* Beyond the overlap: let the simulated time pass. */
	cJSON_Delete(tsim_call(&s, "POST", "/_admin/clock", "{\"advance_seconds\":3600}", NULL));
	assert_int_equal(tsim_add_comment(&s, a, "{\"comment\":\"an hour later\"}"), 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.comment_records, 1);
	/* a (changed) and the second issue, which lies inside the overlap
	 * window below the old watermark; nothing older */
	assert_int_equal((int)r.s.issues_seen, 2);
	cJSON_Delete(tsim_call(&s, "POST", "/_admin/clock", "{\"advance_seconds\":3600}", NULL));
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.issues_seen, 1); /* only a, the newest, in the overlap */
	assert_int_equal((int)(r.s.issue_records + r.s.comment_records), 0);
	tenv_free(&t);
	tsim_stop(&s);
}

static void clock_skew_behind(void **u)
{
	(void)u;
	skewed("-7200");
}
static void clock_skew_ahead(void **u)
{
	(void)u;
	skewed("5400");
}

/* ---- faults ---- */

/* A simulated clock (backoff and the rate budget take no wall time)
 * that injects a fault through the admin API at the Nth sleep: with one
 * call per window the budget sleeps before every request after the
 * first (GET /profile at start), so sleep 2 comes just before page 2. */
struct inject {
	const struct tsim *s;
	uint64_t ms;
	int sleeps, at;
	const char *fault;
};

static uint64_t inj_now(void *ctx)
{
	return ((struct inject *)ctx)->ms;
}

static void inj_sleep(void *ctx, uint64_t ms)
{
	struct inject *in = ctx;

	in->ms += ms;
	if (++in->sleeps == in->at && in->fault)
		cJSON_Delete(tsim_call(in->s, "POST", "/_admin/faults", in->fault, NULL));
}

static void fault_mid_pagination(const char *fault, int pass_fails, int want_retry)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tenv_opts o = {0};
	struct inject in = {0};
	struct http_clock clk = {inj_now, inj_sleep, &in};
	struct tsim s;
	struct tenv t;
	struct run r;
	cJSON *keys;

	o.rate_per_minute = 1; /* one call per window: the budget sleeps */
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, &o), 0);
	for (int i = 0; i < 45; i++)
		assert_true(tsim_add_issue(&s, "{\"request_type_id\":9101}") > 0);
	in.s = &s;
	in.ms = 1000000;
	in.at = 2; /* before page 2 (after the profile and page 1) */
	in.fault = fault;
	run_once(&t, &clk, &r);
	if (pass_fails) {
		assert_int_equal(r.st, ERR_TEMP);
		assert_non_null(strstr(r.e.msg, "page 2"));
		assert_int_equal((int)r.s.watermark, 0);
		assert_int_equal((int)r.s.issue_records, 20); /* page 1 is kept */
	} else {
		assert_int_equal(r.st, ERR_OK);
		assert_true(!want_retry || r.h.retries >= 1);
		assert_int_equal((int)r.s.issue_records, 45);
	}
	/* the fault did fire */
	keys = tsim_call(&s, "GET", "/_admin/stats", NULL, NULL);
	assert_non_null(cJSON_GetObjectItem(keys, "faults"));
	assert_non_null(cJSON_GetObjectItem(keys, "faults")->child);
	cJSON_Delete(keys);
	cJSON_Delete(tsim_call(&s, "DELETE", "/_admin/faults", NULL, NULL));
	in.fault = NULL;
	run_once(&t, &clk, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_true(r.s.watermark > 0);
	keys = tenv_outbound_keys(&t);
	assert_int_equal(tkeys_count(keys, "_n_issue"), 45);
	assert_true(tkeys_all_once(keys));
	cJSON_Delete(keys);
	tenv_free(&t);
	tsim_stop(&s);
}

static void fault_malformed(void **u)
{
	(void)u;
	fault_mid_pagination("{\"fail_next\":{\"kind\":\"malformed\",\"count\":1}}", 1, 1);
}
static void fault_truncated(void **u)
{
	(void)u;
	fault_mid_pagination("{\"fail_next\":{\"kind\":\"truncate\",\"count\":1}}", 1, 1);
}
static void fault_500_recovers(void **u)
{
	(void)u;
	fault_mid_pagination("{\"fail_next\":{\"kind\":\"error\",\"status\":500,\"count\":1}}", 0,
	                     1);
}
static void fault_502_recovers(void **u)
{
	(void)u;
	fault_mid_pagination("{\"fail_next\":{\"kind\":\"error\",\"status\":502,\"count\":2}}", 0,
	                     1);
}
static void fault_503_gives_up(void **u)
{
	(void)u;
	fault_mid_pagination("{\"fail_next\":{\"kind\":\"error\",\"status\":503,\"count\":5}}", 1,
	                     1);
}
static void fault_drop_recovers(void **u)
{
	(void)u;
	/* count 2: libcurl silently repeats a request once when a reused
	 * connection closes without a reply */
	fault_mid_pagination("{\"fail_next\":{\"kind\":\"drop\",\"count\":2}}", 0, 1);
}
static void fault_timeout_recovers(void **u)
{
	(void)u;
	fault_mid_pagination("{\"hang_ms\":300,\"fail_next\":{\"kind\":\"timeout\",\"count\":2}}",
	                     0, 1);
}

static void fault_slow_body(void **u)
{
	(void)u;
	fault_mid_pagination(
	    "{\"slow_chunk_ms\":5,\"slow_chunk_bytes\":512,\"fail_next\":{\"kind\":\"slow\","
	    "\"count\":1}}",
	    0, 0);
}
static void fault_maintenance(void **u)
{
	(void)u;
	fault_mid_pagination("{\"maintenance\":true}", 1, 1);
}

/* ---- 429 and Retry-After, in simulated time ---- */

struct vclock {
	const struct tsim *s;
	uint64_t ms, pending_ms, slept_ms;
};

static uint64_t v_now(void *ctx)
{
	return ((struct vclock *)ctx)->ms;
}

/* Sleeping moves both our clock and the simulator's: Retry-After is
 * obeyed in simulated time, so the test takes no wall time. */
static void v_sleep(void *ctx, uint64_t ms)
{
	struct vclock *v = ctx;
	char body[64];

	v->ms += ms;
	v->slept_ms += ms;
	v->pending_ms += ms;
	if (v->pending_ms >= 1000) {
		snprintf(body, sizeof(body), "{\"advance_seconds\":%" PRIu64 "}",
		         v->pending_ms / 1000);
		cJSON_Delete(tsim_call(v->s, "POST", "/_admin/clock", body, NULL));
		v->pending_ms %= 1000;
	}
}

static void rate_limit(unsigned client_rate, int want_429)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "20", NULL};
	struct tenv_opts o = {0};
	struct tsim s;
	struct tenv t;
	struct vclock v = {0};
	struct http_clock clk = {v_now, v_sleep, &v};
	struct run r;
	cJSON *st;

	o.rate_per_minute = client_rate;
	o.per_page = 1; /* many calls from few issues */
	v.ms = 1000000;
	assert_int_equal(tsim_start(&s, args), 0);
	v.s = &s;
	assert_int_equal(tenv_init(&t, &s, &o), 0);
	for (int i = 0; i < 30; i++)
		assert_true(tsim_add_issue(&s, "{\"request_type_id\":9101}") > 0);
	run_once(&t, &clk, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.issue_records, 30);
	assert_int_equal((int)r.s.pages, 30);
	if (want_429) {
		assert_true(r.h.status_429 >= 1);
		st = tsim_call(&s, "GET", "/_admin/stats", NULL, NULL);
		cJSON_Delete(st);
	} else {
		assert_int_equal((int)r.h.status_429, 0);
		/* 20 calls in any 60 s: the first 20 go at once, the 21st
		 * waits for the first to leave the window (a bucket spacing
		 * calls 3 s apart would sleep about 87 s) */
		assert_true(v.slept_ms >= 59000);
		assert_true(v.slept_ms < 70000);
	}
	tenv_free(&t);
	tsim_stop(&s);
}

static void rate_default_no_429(void **u)
{
	(void)u;
	rate_limit(20, 0);
}
static void rate_429_retry_after(void **u)
{
	(void)u;
	rate_limit(600, 1);
}

/* ---- write-back ---- */

static void writeback_and_replay(void **unused)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", "--archive-after", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;
	cJSON *state, *keys;
	const char *text = NULL;
	int64_t a, b, c, d;
	struct cfg *cf = NULL;
	struct scf_replay_result rr;
	struct half_replay_sel sel = {0};
	struct err e;

	(void)unused;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	a = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	b = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	c = tsim_add_issue(&s, "{\"request_type_id\":9102}");
	d = tsim_add_issue(&s, "{\"request_type_id\":9102}");
	run_once(&t, NULL, &r);
	assert_int_equal((int)r.s.issue_records, 4);
	assert_int_equal(tsim_set_status(&s, c, "acknowledged"), 0);
	assert_int_equal(tsim_set_status(&s, d, "closed"), 0);
	assert_int_equal(tsim_set_status(&s, d, "archived"), 0);

	assert_int_equal(tenv_inbound_ack(&t, a, "SR-1"), 0);
	assert_int_equal(tenv_inbound_close(&t, b, "SR-2", 9101), 0);
	assert_int_equal(tenv_inbound_ack(&t, c, "SR-3"), 0);
	assert_int_equal(tenv_inbound_close(&t, d, "SR-4", 9102), 0);
	assert_int_equal(tenv_inbound_ack(&t, 999999, "SR-5"), 0);
	assert_int_equal(tenv_inbound_close(&t, a, "SR-1", 9102), 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.acks_applied, 1);
	assert_int_equal((int)r.s.closes_applied, 2);
	assert_int_equal((int)r.s.already_done, 2);
	assert_int_equal((int)r.s.wb_failed, 1);
	assert_int_equal(tenv_count(&t, "inbound", "done"), 5);
	assert_int_equal(tenv_count(&t, "inbound", "failed"), 1);

	state = tsim_call(&s, "GET", "/_admin/state", NULL, NULL);
	assert_int_equal(tsim_api_actions(tsim_issue(state, a), "acknowledge", &text), 1);
	assert_string_equal(text, "Now work request SR-1.");
	assert_int_equal(tsim_api_actions(tsim_issue(state, a), "close", &text), 1);
	assert_string_equal(text, "Request SR-1 is complete.");
	assert_int_equal(tsim_api_actions(tsim_issue(state, b), "close", &text), 1);
	assert_string_equal(text, "Pothole SR-2 is fixed.");
	assert_int_equal(tsim_api_actions(tsim_issue(state, c), "acknowledge", NULL), 0);
	assert_string_equal(
	    cJSON_GetStringValue(cJSON_GetObjectItem(tsim_issue(state, d), "status")), "Archived");
	assert_int_equal(tsim_api_actions(tsim_issue(state, d), "close", NULL), 0);
	cJSON_Delete(state);

	/* Closed by write-back: no longer synced. */
	assert_int_equal(tsim_add_comment(&s, b, "{\"comment\":\"thanks\"}"), 0);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	keys = tenv_outbound_keys(&t);
	assert_int_equal(tkeys_count(keys, "_n_comment"), 0);
	cJSON_Delete(keys);

	/* Replay every done record: nothing is applied twice. */
	assert_int_equal(cfg_load_file(t.config, &cf, &e), ERR_OK);
	assert_int_equal(scf_replay(cf, &sel, &rr, &e), ERR_OK);
	assert_int_equal((int)rr.selected, 5);
	assert_int_equal((int)rr.applied, 0);
	assert_int_equal((int)rr.already, 5);
	cfg_free(cf);
	state = tsim_call(&s, "GET", "/_admin/state", NULL, NULL);
	assert_int_equal(tsim_api_actions(tsim_issue(state, a), "acknowledge", NULL), 1);
	assert_int_equal(tsim_api_actions(tsim_issue(state, b), "close", NULL), 1);
	cJSON_Delete(state);
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- fatal ---- */

/* Alert lines of a fatal stop logged so far ("event=stopped"). */
static int stop_alerts;

/* The stop the half recorded for `scfgate status` and in its health
 * record (kind k). */
static void assert_stop_recorded(const struct tenv *t, enum health_kind k, const char *why)
{
	char dir[400];
	struct half_status hs;
	struct health hl;
	struct err e;
	int present = 0;

	snprintf(dir, sizeof(dir), "%s/state/scf", t->root);
	half_status_read(dir, "scf", &hs);
	assert_true(hs.present);
	assert_true(hs.alert_at > 0);
	if (!strstr(hs.alert, why))
		fail_msg("status alert: %s", hs.alert);
	assert_int_equal(health_load(dir, &hl, &present, &e), ERR_OK);
	assert_true(present);
	assert_int_equal(hl.k[k].cls, ERR_FATAL);
	assert_true(hl.k[k].failing_since > 0);
}

/* A rejected token stops the half: the loop logs the alert once and
 * records the stop (status file, the fetch's health) once. */
static void bad_token_is_fatal(void **unused)
{
	const char *args[] = {"--issues", "3", "--rate-limit", "0", NULL};
	struct tenv_opts o = {0};
	struct tsim s;
	struct tenv t;
	struct run r;

	(void)unused;
	o.token = "wrong-token\n";
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, &o), 0);
	stop_alerts = 0;
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_FATAL);
	assert_int_equal(stop_alerts, 1);
	assert_stop_recorded(&t, HEALTH_FETCH, "401");
	assert_int_equal(tenv_count(&t, "outbound", "new"), 0);
	tenv_free(&t);
	tsim_stop(&s);
}

static void blacklisted_is_fatal(void **unused)
{
	const char *args[] = {"--issues", "3", "--rate-limit", "1", "--blacklist-after", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;

	(void)unused;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	/* Use up the minute, then abuse it: the simulator blacklists. */
	cJSON_Delete(tsim_call(&s, "GET", "/api/v2/profile", NULL, NULL));
	cJSON_Delete(tsim_call(&s, "GET", "/api/v2/profile", NULL, NULL));
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_FATAL);
	assert_non_null(strstr(r.e.msg, "ALERT"));
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- edited comments ---- */

static void edited_comment_not_resent(void **unused)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;
	struct scf_state *st = NULL;
	struct err e;
	cJSON *state;
	char sd[400], key[96];
	int64_t a;
	int cid;

	(void)unused;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	a = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	run_once(&t, NULL, &r);
	assert_int_equal(tsim_add_comment(&s, a, "{\"comment\":\"before\",\"kind\":\"resident\"}"),
	                 0);
	run_once(&t, NULL, &r);
	assert_int_equal((int)r.s.comment_records, 1);
	state = tsim_call(&s, "GET", "/_admin/state", NULL, NULL);
	cid = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(tsim_issue(state, a), "comments"), 0), "id"));
	cJSON_Delete(state);
	/* scf-sim cannot edit a comment; make the half remember other text. */
	snprintf(sd, sizeof(sd), "%s/state/scf", t.root);
	snprintf(key, sizeof(key), "comment/%" PRId64 "/%d", a, cid);
	assert_int_equal(scf_state_load(sd, &st, &e), ERR_OK);
	assert_non_null(scf_state_get(st, key));
	assert_int_equal(scf_state_put(st, key, "00000000deadbeef"), ERR_OK);
	assert_int_equal(scf_state_save(st, &e), ERR_OK);
	scf_state_free(st);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.comments_edited, 1);
	assert_int_equal((int)r.s.comment_records, 0);
	run_once(&t, NULL, &r); /* the new text is remembered: no second edit */
	assert_int_equal((int)r.s.comments_edited, 0);
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- write-back against faults: a simulator with one synced issue ---- */

static int64_t one_synced_issue(struct tsim *s, struct tenv *t, struct run *r)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	int64_t a;

	assert_int_equal(tsim_start(s, args), 0);
	assert_int_equal(tenv_init(t, s, NULL), 0);
	a = tsim_add_issue(s, "{\"request_type_id\":9101}");
	run_once(t, NULL, r);
	return a;
}

/* Faults for the requests about issue a whose path continues with
 * suffix ("" for all of them); rest is the remaining JSON members. */
static void issue_faults(struct tsim *s, int64_t a, const char *suffix, const char *rest)
{
	char fault[2048];

	if (snprintf(fault, sizeof(fault), "{\"path_prefix\":\"/api/v2/issues/%" PRId64 "%s\",%s}",
	             a, suffix, rest) >= (int)sizeof(fault))
		fail_msg("issue_faults: the fault does not fit");
	cJSON_Delete(tsim_call(s, "POST", "/_admin/faults", fault, NULL));
}

/* How often SCF applied action to issue a through the API. */
static int api_actions(struct tsim *s, int64_t a, const char *action)
{
	cJSON *state = tsim_call(s, "GET", "/_admin/state", NULL, NULL);
	int n = tsim_api_actions(tsim_issue(state, a), action, NULL);

	cJSON_Delete(state);
	return n;
}

/* ---- a POST applied, then answered 500: the retry must not double it ---- */

static void writeback_applied_then_500(void **unused)
{
	struct tsim s;
	struct tenv t;
	struct run r;
	int64_t a = one_synced_issue(&s, &t, &r);

	(void)unused;
	assert_int_equal(tenv_inbound_ack(&t, a, "SR-9"), 0);
	issue_faults(&s, a, "/acknowledge",
	             "\"after_apply\":true,"
	             "\"fail_next\":{\"kind\":\"error\",\"status\":500,\"count\":1}");
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.wb_failed, 0);
	assert_int_equal((int)(r.s.acks_applied + r.s.already_done), 1);
	assert_int_equal(tenv_count(&t, "inbound", "done"), 1);
	assert_int_equal(api_actions(&s, a, "acknowledge"), 1);
	tenv_free(&t);
	tsim_stop(&s);
}

/*
 * ---- a refused close whose issue cannot be re-read is deferred ----
 * SCF refuses a repeated close (422) when an earlier attempt was applied
 * and its reply lost; only a re-read of the issue tells that apart from a
 * real refusal.  When the re-read fails too, the record must wait, not go
 * to failed/.
 */
static void writeback_refused_unseen_deferred(void **unused)
{
	struct tsim s;
	struct tenv t;
	struct run r;
	int64_t a = one_synced_issue(&s, &t, &r);

	(void)unused;
	assert_int_equal(tenv_inbound_close(&t, a, "SR-9", 9101), 0);
	/* The pass that just read the issue stands in for a GET: the POST and
	 * the re-read are refused. */
	issue_faults(&s, a, "", "\"fail_next\":{\"kind\":\"error\",\"status\":422,\"count\":2}");
	run_once(&t, NULL, &r);
	assert_int_equal((int)r.s.wb_failed, 0);
	assert_int_equal((int)r.s.wb_deferred, 1);
	assert_int_equal(tenv_count(&t, "inbound", "failed"), 0);
	assert_int_equal(tenv_count(&t, "inbound", "new"), 1);
	run_once(&t, NULL, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.closes_applied, 1);
	assert_int_equal(tenv_count(&t, "inbound", "done"), 1);
	assert_int_equal(api_actions(&s, a, "close"), 1);
	tenv_free(&t);
	tsim_stop(&s);
}

/*
 * ---- `spool retry --now`: a deferred record is tried at once ----
 * A record deferred by write-back waits out a back-off (2 s, doubling)
 * in the running half's memory; the operator's marker state/retry-now
 * ends that wait at the next pass.
 */
static void writeback_retry_now(void **unused)
{
	struct tsim s;
	struct tenv t;
	struct run r;
	struct cfg *c = NULL;
	struct scf_half *h = NULL;
	struct err e;
	int64_t a = one_synced_issue(&s, &t, &r);

	(void)unused;
	assert_int_equal(tenv_inbound_close(&t, a, "SR-9", 9101), 0);
	issue_faults(&s, a, "", "\"fail_next\":{\"kind\":\"error\",\"status\":422,\"count\":2}");
	if (cfg_load_file(t.config, &c, &e) != ERR_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(scf_open(&h, c, NULL, &e), ERR_OK);
	/* As in a pass: the fetch reads the issue, then the write-back. */
	assert_int_equal(scf_fetch(h, &e), ERR_OK);
	assert_int_equal(scf_writeback(h, &e), ERR_OK);
	assert_int_equal(tenv_count(&t, "inbound", "new"), 1);
	/* In its back-off: the next pass leaves it alone. */
	assert_int_equal(scf_writeback(h, &e), ERR_OK);
	assert_int_equal(tenv_count(&t, "inbound", "new"), 1);
	assert_int_equal(spool_retry_now(c->spool.root, "inbound", &e), ERR_OK);
	assert_int_equal(scf_writeback(h, &e), ERR_OK);
	assert_int_equal(tenv_count(&t, "inbound", "done"), 1);
	assert_int_equal(api_actions(&s, a, "close"), 1);
	scf_free(h);
	cfg_free(c);
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- the command: daemon, SIGTERM, --json, exit status ---- */

static pid_t spawn_scf(const struct tenv *t, int once, const char *out, const char *errp)
{
	const char *bin = getenv("SCFGATE_BIN");
	pid_t pid = fork();

	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fo, 1);
		dup2(fe, 2);
		if (once)
			execl(bin, bin, "scf", "--config", t->config, "--once", "--json",
			      (char *)NULL);
		else
			execl(bin, bin, "scf", "--config", t->config, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid, int seconds)
{
	int st;

	for (int i = 0; i < seconds * 50; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static int file_has(const char *path, const char *needle)
{
	struct buf b;
	int has;

	buf_init(&b, 0);
	buf_read_file(&b, path, NULL);
	has = strstr(buf_str(&b), needle) != NULL;
	buf_release(&b);
	return has;
}

static void command_daemon_and_once(void **unused)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tenv_opts o = {0};
	struct tsim s;
	struct tenv t;
	char out[400], errp[400];
	pid_t pid;
	int64_t a;

	(void)unused;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	snprintf(out, sizeof(out), "%s/out", t.dir);
	snprintf(errp, sizeof(errp), "%s/err", t.dir);
	a = tsim_add_issue(&s, "{\"request_type_id\":9101,\"photo\":true}");

	/* Daemon: fetches, then drains the inbound queue every second. */
	pid = spawn_scf(&t, 0, out, errp);
	for (int i = 0; i < 500 && tenv_count(&t, "outbound", "new") < 2; i++)
		usleep(20000);
	assert_int_equal(tenv_count(&t, "outbound", "new"), 2);
	assert_int_equal(tenv_inbound_ack(&t, a, "SR-7"), 0);
	for (int i = 0; i < 500 && tenv_count(&t, "inbound", "done") < 1; i++)
		usleep(20000);
	assert_int_equal(tenv_count(&t, "inbound", "done"), 1);
	kill(pid, SIGTERM);
	assert_int_equal(wait_exit(pid, 10), 0);
	assert_true(file_has(errp, "effect=issue issue="));
	assert_true(file_has(errp, "effect=attachment issue="));
	assert_true(file_has(errp, "effect=ack issue="));

	/* --once --json */
	assert_int_equal(tsim_add_comment(&s, a, "{\"comment\":\"more\",\"kind\":\"resident\"}"),
	                 0);
	pid = spawn_scf(&t, 1, out, errp);
	assert_int_equal(wait_exit(pid, 20), 0);
	assert_true(file_has(out, "\"comment_records\":1,"));
	assert_true(file_has(out, "\"http_429\":0"));
	tenv_free(&t);

	/* A rejected token: alert line, exit 1. */
	o.token = "nope\n";
	assert_int_equal(tenv_init(&t, &s, &o), 0);
	snprintf(out, sizeof(out), "%s/out", t.dir);
	snprintf(errp, sizeof(errp), "%s/err", t.dir);
	pid = spawn_scf(&t, 1, out, errp);
	assert_int_equal(wait_exit(pid, 20), 1);
	assert_true(file_has(errp, " alert scf: event=stopped"));
	tenv_free(&t);
	tsim_stop(&s);
}

static void quiet_sink(void *ctx, enum log_level l, const char *line)
{
	(void)ctx;
	if (l == LOGL_ALERT && strstr(line, "event=stopped"))
		stop_alerts++;
	if (getenv("SCF_TEST_VERBOSE") || l <= LOGL_ERROR)
		fprintf(stderr, "%s\n", line);
}

/*
 * ---- redirects are never followed ----
 * A 307 or 302 (to another loopback port, a second scf-sim) on a fetch and
 * on an acknowledgment: the half stops with a message naming the Location,
 * the other host receives nothing (not even a connection that would carry
 * the token), the record stays in new/, and once the redirect is gone the
 * acknowledgment is applied exactly once (the 302 comes after SCF applied
 * it: the post/redirect/get answer).
 */
static long sim_requests(const struct tsim *s)
{
	cJSON *st = tsim_call(s, "GET", "/_admin/stats", NULL, NULL);
	long n;

	assert_non_null(st);
	n = (long)cJSON_GetObjectItem(st, "requests")->valuedouble;
	cJSON_Delete(st);
	return n;
}

static void redirect_fetch_and_writeback(void **unused)
{
	static const int codes[] = {307, 302};
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	char rest[1024], want[1024];

	(void)unused;
	for (int i = 0; i < 2; i++) {
		struct tsim s, other;
		struct tenv t;
		struct run r;
		int64_t a;

		assert_int_equal(tsim_start(&other, args), 0);
		assert_int_equal(tsim_start(&s, args), 0);
		assert_int_equal(tenv_init(&t, &s, NULL), 0);
		a = tsim_add_issue(&s, "{\"request_type_id\":9101}");

		/* the fetch */
		snprintf(
		    rest, sizeof(rest),
		    "{\"path_prefix\":\"/api/v2/organizations/\",\"redirect_location\":\"%s/api/v2/"
		    "issues\","
		    "\"fail_next\":{\"kind\":\"redirect\",\"status\":%d,\"count\":1}}",
		    other.base, codes[i]);
		cJSON_Delete(tsim_call(&s, "POST", "/_admin/faults", rest, NULL));
		run_once(&t, NULL, &r);
		assert_int_equal(r.st, ERR_FATAL);
		snprintf(want, sizeof(want), "redirect to \"%s/api/v2/issues\" not followed",
		         other.base);
		if (!strstr(r.e.msg, want) ||
		    !strstr(r.e.msg, codes[i] == 307 ? "HTTP 307 GET " : "HTTP 302 GET "))
			fail_msg("fetch: %s", r.e.msg);
		assert_null(strstr(r.e.msg, "scf-sim-token"));
		cJSON_Delete(tsim_call(&s, "DELETE", "/_admin/faults", NULL, NULL));
		run_once(&t, NULL, &r);
		assert_int_equal(r.st, ERR_OK);
		assert_int_equal((int)r.s.issue_records, 1);

		/* an acknowledgment: redirected before (307) or after (302) SCF applied it */
		assert_int_equal(tenv_inbound_ack(&t, a, "SR-9"), 0);
		snprintf(rest, sizeof(rest),
		         "\"after_apply\":%s,\"redirect_location\":\"%s/api/v2/issues/%" PRId64
		         "/acknowledge\",\"fail_next\":{\"kind\":\"redirect\",\"status\":%d,"
		         "\"count\":1}",
		         codes[i] == 302 ? "true" : "false", other.base, a, codes[i]);
		issue_faults(&s, a, "/acknowledge", rest);
		stop_alerts = 0;
		run_once(&t, NULL, &r);
		assert_int_equal(r.st, ERR_FATAL);
		/* the write-back's alert names the record; the loop adds none */
		assert_int_equal(stop_alerts, 1);
		assert_stop_recorded(&t, HEALTH_WRITEBACK, "/acknowledge");
		snprintf(want, sizeof(want), "HTTP %d POST ", codes[i]);
		assert_non_null(strstr(r.e.msg, want));
		snprintf(want, sizeof(want),
		         "redirect to \"%s/api/v2/issues/%" PRId64 "/acknowledge\" not followed",
		         other.base, a);
		assert_non_null(strstr(r.e.msg, want));
		assert_non_null(strstr(r.e.msg, codes[i] == 302 ? "(in doubt)" : "did not act"));
		assert_int_equal(tenv_count(&t, "inbound", "failed"), 0);
		assert_int_equal(tenv_count(&t, "inbound", "done"), 0);
		assert_int_equal(api_actions(&s, a, "acknowledge"), codes[i] == 302 ? 1 : 0);

		cJSON_Delete(tsim_call(&s, "DELETE", "/_admin/faults", NULL, NULL));
		run_once(&t, NULL, &r);
		assert_int_equal(r.st, ERR_OK);
		assert_int_equal(tenv_count(&t, "inbound", "done"), 1);
		assert_int_equal(tenv_count(&t, "inbound", "failed"), 0);
		assert_int_equal(api_actions(&s, a, "acknowledge"), 1);
		/* the first request the other host ever saw is this one */
		assert_int_equal(sim_requests(&other), 0);
		tenv_free(&t);
		tsim_stop(&s);
		tsim_stop(&other);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_fetch_seeded),
	    cmocka_unit_test(pagination_20),
	    cmocka_unit_test(pagination_21),
	    cmocka_unit_test(pagination_40),
	    cmocka_unit_test(comments_and_policy),
	    cmocka_unit_test(clock_skew_behind),
	    cmocka_unit_test(clock_skew_ahead),
	    cmocka_unit_test(fault_malformed),
	    cmocka_unit_test(fault_truncated),
	    cmocka_unit_test(fault_500_recovers),
	    cmocka_unit_test(fault_502_recovers),
	    cmocka_unit_test(fault_503_gives_up),
	    cmocka_unit_test(fault_drop_recovers),
	    cmocka_unit_test(fault_timeout_recovers),
	    cmocka_unit_test(fault_slow_body),
	    cmocka_unit_test(fault_maintenance),
	    cmocka_unit_test(rate_default_no_429),
	    cmocka_unit_test(rate_429_retry_after),
	    cmocka_unit_test(writeback_and_replay),
	    cmocka_unit_test(bad_token_is_fatal),
	    cmocka_unit_test(blacklisted_is_fatal),
	    cmocka_unit_test(edited_comment_not_resent),
	    cmocka_unit_test(writeback_applied_then_500),
	    cmocka_unit_test(writeback_refused_unseen_deferred),
	    cmocka_unit_test(writeback_retry_now),
	    cmocka_unit_test(redirect_fetch_and_writeback),
	    cmocka_unit_test(command_daemon_and_once),
	};

	log_set_sink(quiet_sink, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
