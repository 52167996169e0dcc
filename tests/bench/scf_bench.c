/*
 * scf_bench.c: SCF API calls per 100 changed issues, and 429s, against
 * scf-sim with its rate limit on (20/minute, the SCF default).
 *
 *   scf_bench [--real] [N]     N changed issues (default 100)
 *   scf_bench --bulk [N]       calls per idle pass after a bulk change of
 *                              N issues (default 1000; simulated clock)
 *   scf_bench --first-sync [N] a first sync of N issues (default 1000):
 *                              the fetch, an acknowledgment and a close of
 *                              each, calls beside the ideal, and the
 *                              minutes that is at 20 calls a minute
 *
 * SCF_SIM_BIN and SCFGATE_SOURCE_DIR default to the build's scf-sim and
 * source tree.  By default the half's limiter and scf-sim share a
 * simulated clock (every limiter sleep advances scf-sim's clock through
 * its admin API), so a run takes seconds while the simulator still counts
 * every call against its per-minute window; --real uses the wall clock
 * (about 15 s per pass at 20 calls/minute).
 *
 * Pass 1 fetches N new issues; pass 2 fetches the same N after each got
 * a new comment (N changed issues); pass 3 with no change; then one run
 * fetches and applies N acknowledgments (the calls of its write-back, as
 * the half's client counted them, beside the POSTs and GETs scf-sim
 * served).  Prints one line per pass and a JSON summary.
 *
 * --bulk: N issues are fetched, then every one of them changes in the
 * same minute (a mass reassignment), then the half polls with nothing
 * new, 600 s apart: the pass after the bulk reads it, the first idle pass
 * may re-read it once (it began inside the overlap and margin), and every
 * idle pass after that costs one call (goal 1).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"
#include "scf.h"
#include "test_scf_util.h"

struct vclock {
	const struct tsim *s;
	uint64_t ms, pending;
};

static uint64_t v_now(void *ctx)
{
	return ((struct vclock *)ctx)->ms;
}

static void v_sleep(void *ctx, uint64_t ms)
{
	struct vclock *v = ctx;
	char body[64];

	v->ms += ms;
	v->pending += ms;
	if (v->pending >= 1000) {
		snprintf(body, sizeof(body), "{\"advance_seconds\":%" PRIu64 "}",
		         v->pending / 1000);
		cJSON_Delete(tsim_call(v->s, "POST", "/_admin/clock", body, NULL));
		v->pending %= 1000;
	}
}

static void quiet(void *ctx, enum log_level l, const char *line)
{
	(void)ctx;
	if (l <= LOGL_ERROR)
		fprintf(stderr, "%s\n", line);
}

static int pass(const struct tenv *t, const struct http_clock *clk, const char *name,
                struct http_stats *hs, struct scf_stats *ss)
{
	struct cfg *c = NULL;
	struct scf_half *h = NULL;
	struct err e;
	enum err_status st;

	if (cfg_load_file(t->config, &c, &e) != ERR_OK ||
	    (st = scf_open(&h, c, clk, &e)) != ERR_OK) {
		fprintf(stderr, "scf_bench: %s\n", e.msg);
		cfg_free(c);
		return -1;
	}
	st = scf_run(h, 1, &e);
	scf_http_stats(h, hs);
	scf_stats_get(h, ss);
	printf("%-10s status=%s calls=%" PRIu64 " 429s=%" PRIu64 " records=%" PRIu64
	       " waited=%" PRIu64 "s\n",
	       name, err_status_name(st), hs->requests, hs->status_429,
	       ss->issue_records + ss->comment_records + ss->attachment_records,
	       hs->waited_ms / 1000);
	scf_free(h);
	cfg_free(c);
	return st == ERR_OK ? 0 : -1;
}

static int bulk(int n)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "20", NULL};
	struct tenv_opts o = {0};
	struct vclock v = {NULL, 1000000, 0};
	struct http_clock clk = {v_now, v_sleep, &v};
	struct http_stats hs[5];
	struct scf_stats ss[5];
	static const char *const names[] = {"new", "bulk", "idle-1", "idle-2", "idle-3"};
	struct tsim s;
	struct tenv t;
	cJSON *st;
	const cJSON *is;
	int rc = 1;

	o.rate_per_minute = 20;
	if (tsim_start(&s, args) != 0)
		return 2;
	v.s = &s;
	if (tenv_init(&t, &s, &o) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		if (tsim_add_issue(&s, "{\"request_type_id\":9101}") <= 0)
			goto out;
	for (int p = 0; p < 5; p++) {
		if (p == 1) {
			st = tsim_call(&s, "GET", "/_admin/state", NULL, NULL);
			cJSON_ArrayForEach(is, cJSON_GetObjectItem(st, "issues"))
			{
				int64_t id =
				    (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(is, "id"));

				tsim_add_comment(
				    &s, id, "{\"comment\":\"reassigned\",\"kind\":\"resident\"}");
			}
			cJSON_Delete(st);
		}
		if (pass(&t, &clk, names[p], &hs[p], &ss[p]))
			goto out;
		cJSON_Delete(
		    tsim_call(&s, "POST", "/_admin/clock", "{\"advance_seconds\":600}", NULL));
	}
	printf("{\"bulk_issues\":%d,\"calls_bulk_pass\":%" PRIu64 ",\"calls_idle_pass_1\":%" PRIu64
	       ",\"calls_idle_pass_2\":%" PRIu64 ",\"calls_idle_pass_3\":%" PRIu64
	       ",\"status_429\":%" PRIu64 "}\n",
	       n, hs[1].requests, hs[2].requests, hs[3].requests, hs[4].requests,
	       hs[0].status_429 + hs[1].status_429 + hs[2].status_429 + hs[3].status_429 +
	           hs[4].status_429);
	rc = ss[1].comment_records == (uint64_t)n ? 0 : 1;
out:
	tenv_free(&t);
	tsim_stop(&s);
	return rc;
}

static double by_route(const struct tsim *s, const char *route)
{
	cJSON *st = tsim_call(s, "GET", "/_admin/stats", NULL, NULL);
	const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "by_route"), route);
	double v = cJSON_IsNumber(n) ? n->valuedouble : 0;

	cJSON_Delete(st);
	return v;
}

/* One run: a fetch pass, then the write-back of n acknowledgments already
 * in the inbound queue.  *calls: the write-back's calls as the client
 * counted them (retries and 429s included). */
static int acks(const struct tenv *t, const struct tsim *s, const struct http_clock *clk, int n,
                uint64_t *calls)
{
	struct cfg *c = NULL;
	struct scf_half *h = NULL;
	struct http_stats before, after;
	struct scf_stats ss;
	struct err e;
	double posts = by_route(s, "POST /api/v2/issues/:id/acknowledge");
	double gets = by_route(s, "GET /api/v2/issues/:id");
	int rc = -1;

	if (cfg_load_file(t->config, &c, &e) != ERR_OK || scf_open(&h, c, clk, &e) != ERR_OK ||
	    scf_fetch(h, &e) != ERR_OK) {
		fprintf(stderr, "scf_bench: %s\n", e.msg);
		goto out;
	}
	scf_http_stats(h, &before);
	if (scf_writeback(h, &e) != ERR_OK) {
		fprintf(stderr, "scf_bench: %s\n", e.msg);
		goto out;
	}
	scf_http_stats(h, &after);
	scf_stats_get(h, &ss);
	*calls = after.requests - before.requests;
	printf("%-10s acks=%" PRIu64 " calls=%" PRIu64 " (POST %.0f, GET %.0f) 429s=%" PRIu64
	       " calls_per_100=%.1f (goal: at most 110)\n",
	       "acks", ss.acks_applied, *calls,
	       by_route(s, "POST /api/v2/issues/:id/acknowledge") - posts,
	       by_route(s, "GET /api/v2/issues/:id") - gets, after.status_429 - before.status_429,
	       100.0 * (double)*calls / n);
	rc = ss.acks_applied == (uint64_t)n ? 0 : -1;
out:
	scf_free(h);
	cfg_free(c);
	return rc;
}

/* One run as a timer's: a fetch pass, then the write-back of the inbound
 * records already queued.  *calls: the write-back's calls as the half's
 * client counted them (429s and retries included; the run's fetch, one
 * call when nothing changed, left out). */
static int drain_writeback(const struct tenv *t, const struct http_clock *clk,
                           struct http_stats *calls, struct scf_stats *ss)
{
	struct cfg *c = NULL;
	struct scf_half *h = NULL;
	struct http_stats before, after;
	struct err e;
	int rc = -1;

	if (cfg_load_file(t->config, &c, &e) != ERR_OK || scf_open(&h, c, clk, &e) != ERR_OK ||
	    scf_fetch(h, &e) != ERR_OK) {
		fprintf(stderr, "scf_bench: %s\n", e.msg);
		goto out;
	}
	scf_http_stats(h, &before);
	if (scf_writeback(h, &e) != ERR_OK) {
		fprintf(stderr, "scf_bench: %s\n", e.msg);
		goto out;
	}
	scf_http_stats(h, &after);
	scf_stats_get(h, ss);
	calls->requests = after.requests - before.requests;
	calls->status_429 = after.status_429 - before.status_429;
	rc = 0;
out:
	scf_free(h);
	cfg_free(c);
	return rc;
}

/* A city's first sync of n issues at 20 calls a minute, from the calls
 * measured (simulated clock): the fetch pass that reads them, then the
 * acknowledgment of each (one POST per transition is the ideal), then
 * the close of each.  The minutes are calls / 20: the limit, not the
 * round trip, sets the pace. */
static int first_sync(int n)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "20", NULL};
	struct tenv_opts o = {0};
	struct vclock v = {NULL, 1000000, 0};
	struct http_clock clk = {v_now, v_sleep, &v};
	struct http_stats fetch, ack = {0}, close = {0};
	struct scf_stats sf, sa, sc;
	int64_t *ids = calloc((size_t)n, sizeof(*ids));
	int pages = (n + 19) / 20, rc = 1;
	uint64_t sync_calls;
	struct tsim s;
	struct tenv t;

	o.rate_per_minute = 20;
	o.poll = 300;
	if (!ids || tsim_start(&s, args) != 0) {
		free(ids);
		return 2;
	}
	v.s = &s;
	if (tenv_init(&t, &s, &o) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		if ((ids[i] = tsim_add_issue(&s, "{\"request_type_id\":9101}")) <= 0)
			goto out;
	if (pass(&t, &clk, "first", &fetch, &sf))
		goto out;
	for (int i = 0; i < n; i++)
		if (tenv_inbound_ack(&t, ids[i], "SR-1") != 0)
			goto out;
	if (drain_writeback(&t, &clk, &ack, &sa))
		goto out;
	for (int i = 0; i < n; i++)
		if (tenv_inbound_close(&t, ids[i], "SR-1", 9101) != 0)
			goto out;
	if (drain_writeback(&t, &clk, &close, &sc))
		goto out;
	sync_calls = fetch.requests + ack.requests;
	printf("first-sync: issues=%d fetch_calls=%" PRIu64 " (ideal %d: %d pages of 20, the most "
	       "with details, and the profile) ack_calls=%" PRIu64
	       " (ideal %d) acks_applied=%" PRIu64 " calls_per_100_acks=%.1f\n",
	       n, fetch.requests, pages + 1, pages, ack.requests, n, sa.acks_applied,
	       100.0 * (double)ack.requests / n);
	printf("first-sync: close_calls=%" PRIu64 " (ideal %d) closes_applied=%" PRIu64
	       " calls_per_100_closes=%.1f 429s=%" PRIu64 "\n",
	       close.requests, n, sc.closes_applied, 100.0 * (double)close.requests / n,
	       fetch.status_429 + ack.status_429 + close.status_429);
	printf("first-sync: a first sync of %d issues (fetch and acknowledgments) takes %" PRIu64
	       " calls = %.1f minutes at 20 calls a minute (ideal %d calls = %.1f minutes)\n",
	       n, sync_calls, (double)sync_calls / 20.0, pages + 1 + n,
	       (double)(pages + 1 + n) / 20.0);
	rc = sa.acks_applied == (uint64_t)n && sc.closes_applied == (uint64_t)n ? 0 : 1;
out:
	tenv_free(&t);
	tsim_stop(&s);
	free(ids);
	return rc;
}

int main(int argc, char **argv)
{
	int real = argc > 1 && strcmp(argv[1], "--real") == 0;
	int n = argc > 1 + real ? atoi(argv[1 + real]) : 100;
	const char *args[] = {"--issues", "0", "--rate-limit", "20", NULL};
	struct tenv_opts o = {0};
	struct vclock v = {NULL, 1000000, 0};
	struct http_clock clk = {v_now, v_sleep, &v};
	struct http_stats h1, h2, h3;
	struct scf_stats s1, s2, s3;
	uint64_t ack_calls = 0;
	struct tsim s;
	struct tenv t;
	int rc = 1;

	log_set_sink(quiet, NULL);
#ifdef SCF_BENCH_SIM
	setenv("SCF_SIM_BIN", SCF_BENCH_SIM, 0);
	setenv("SCFGATE_SOURCE_DIR", SCF_BENCH_SRC, 0);
#endif
	if (argc > 1 && strcmp(argv[1], "--bulk") == 0)
		return bulk(argc > 2 ? atoi(argv[2]) : 1000);
	if (argc > 1 && strcmp(argv[1], "--first-sync") == 0)
		return first_sync(argc > 2 ? atoi(argv[2]) : 1000);
	o.rate_per_minute = 20;
	/* The default poll interval: what a pass saw stays usable for write-back
	 * for two of them, longer than N acknowledgments take at 20/minute. */
	o.poll = 300;
	if (n <= 0 || tsim_start(&s, args) != 0)
		return 2;
	v.s = &s;
	if (tenv_init(&t, &s, &o) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		if (tsim_add_issue(&s, "{\"request_type_id\":9101}") <= 0)
			goto out;
	if (pass(&t, real ? NULL : &clk, "new", &h1, &s1))
		goto out;
	/* Let time pass beyond the overlap window, then change every issue. */
	cJSON_Delete(tsim_call(&s, "POST", "/_admin/clock", "{\"advance_seconds\":600}", NULL));
	for (int i = 1; i <= n; i++) {
		cJSON *st = tsim_call(&s, "GET", "/_admin/state", NULL, NULL);
		const cJSON *is = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "issues"), i - 1);
		int64_t id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(is, "id"));

		cJSON_Delete(st);
		tsim_add_comment(&s, id, "{\"comment\":\"still there\",\"kind\":\"resident\"}");
	}
	if (pass(&t, real ? NULL : &clk, "changed", &h2, &s2))
		goto out;
	cJSON_Delete(tsim_call(&s, "POST", "/_admin/clock", "{\"advance_seconds\":600}", NULL));
	if (pass(&t, real ? NULL : &clk, "unchanged", &h3, &s3))
		goto out;
	for (int i = 1; i <= n; i++) {
		cJSON *st = tsim_call(&s, "GET", "/_admin/state", NULL, NULL);
		const cJSON *is = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "issues"), i - 1);
		int64_t id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(is, "id"));

		cJSON_Delete(st);
		if (tenv_inbound_ack(&t, id, "SR-1") != 0)
			goto out;
	}
	if (acks(&t, &s, real ? NULL : &clk, n, &ack_calls))
		goto out;
	printf("{\"changed_issues\":%d,\"calls_per_100_changed\":%.2f,\"calls_per_100_new\":%.2f,"
	       "\"calls_idle_pass\":%" PRIu64 ",\"status_429\":%" PRIu64
	       ",\"calls_per_100_acks\":%.1f}\n",
	       n, 100.0 * (double)h2.requests / n, 100.0 * (double)h1.requests / n, h3.requests,
	       h1.status_429 + h2.status_429 + h3.status_429, 100.0 * (double)ack_calls / n);
	rc = s2.comment_records == (uint64_t)n ? 0 : 1;
out:
	tenv_free(&t);
	tsim_stop(&s);
	return rc;
}
