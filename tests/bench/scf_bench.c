/*
 * scf_bench.c: SCF API calls per 100 changed issues, and 429s, against
 * scf-sim with its rate limit on (20/minute, the SCF default).
 *
 *   scf_bench [--real] [N]     N changed issues (default 100)
 *   scf_bench --bulk [N]       calls per idle pass after a bulk change of
 *                              N issues (default 1000; simulated clock)
 *   scf_bench --rtt-ms L DIR [N]
 *                              the passes of N issues (default 100) and N
 *                              acknowledgments over https (DIR: ca.crt,
 *                              server.crt, server.key) through rtt-proxy
 *                              (RTT_PROXY_BIN) adding L ms, limiter waits on
 *                              a clock of their own: wall time beside calls
 *                              x L and a bare client's cost per call
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
#include <time.h>

#include <curl/curl.h>

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
	printf("{\"bulk_issues\":%d,\"calls_bulk_pass\":%" PRIu64 ",\"ideal_bulk_pass\":%d"
	       ",\"calls_idle_pass_1\":%" PRIu64 ",\"calls_idle_pass_2\":%" PRIu64
	       ",\"calls_idle_pass_3\":%" PRIu64 ",\"ideal_idle_pass\":1,\"status_429\":%" PRIu64
	       ",\"ideal_429\":0}\n",
	       n, hs[1].requests, (n + 19) / 20, hs[2].requests, hs[3].requests, hs[4].requests,
	       hs[0].status_429 + hs[1].status_429 + hs[2].status_429 + hs[3].status_429 +
	           hs[4].status_429);
	/* What a city pays: every call is 3 s of the 20-a-minute budget. */
	printf("idle passes after a bulk change of %d issues: %" PRIu64 ", %" PRIu64 ", %" PRIu64
	       " calls = %.0f s, %.0f s, %.0f s of the limit at 20 calls a minute (ideal 1 call = "
	       "3 s each)\n",
	       n, hs[2].requests, hs[3].requests, hs[4].requests, 3.0 * (double)hs[2].requests,
	       3.0 * (double)hs[3].requests, 3.0 * (double)hs[4].requests);
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

/* ---- over a real round trip ---- */

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The limiter's waits pass in no time (a clock of its own, scf-sim's
 * limit off): what is left of a pass's wall time is the network and
 * scfgate's own work. */
static uint64_t q_now(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void q_sleep(void *ctx, uint64_t ms)
{
	*(uint64_t *)ctx += ms;
}

static size_t drop_body(char *d, size_t size, size_t n, void *u)
{
	(void)d;
	(void)u;
	return size * n;
}

/* What a bare keep-alive client pays per call on the same path now. */
static double bare_ms(const char *base, const char *ca)
{
	char url[700];
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer scf-sim-token");
	CURL *c = curl_easy_init();
	double t0, ms = 0;
	int i;

	snprintf(url, sizeof(url), "%s/api/v2/profile", base);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_body);
	if (curl_easy_perform(c) == CURLE_OK) { /* the handshakes, as the half's first call */
		t0 = mono_s();
		for (i = 0; i < 100 && curl_easy_perform(c) == CURLE_OK; i++)
			;
		if (i == 100)
			ms = (mono_s() - t0) * 10.0;
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return ms;
}

static int config_replace(const char *path, const char *from, const char *to)
{
	struct buf b = BUF_INIT_CAP(1 << 20), out = BUF_INIT_CAP(1 << 20);
	const char *at;
	FILE *f = NULL;
	int rc = -1;

	if (buf_read_file(&b, path, NULL) != ERR_OK || !(at = strstr(buf_str(&b), from)) ||
	    buf_add(&out, b.data, (size_t)(at - b.data)) || buf_adds(&out, to) ||
	    buf_adds(&out, at + strlen(from)) || !(f = fopen(path, "w")))
		goto out;
	rc = fwrite(out.data, 1, out.len, f) == out.len ? 0 : -1;
out:
	if (f && fclose(f))
		rc = -1;
	buf_release(&b);
	buf_release(&out);
	return rc;
}

/* The SCF passes over https through rtt-proxy adding rtt ms: n new
 * issues, the same n changed, an idle pass, n acknowledgments; each
 * pass's wall time beside its calls x rtt and beside a bare client's
 * cost per call on the same path in the same run. */
static int over_rtt(int n, int rtt, const char *tls)
{
	char crt[512], key[512], ca[512], port[16], rtts[16], from[128], to[640];
	const char *args[] = {"--issues", "0", "--rate-limit", "0", "--tls-cert", crt, "--tls-key",
	                      key,        NULL};
	uint64_t vms = 1000000;
	struct http_clock clk = {q_now, q_sleep, &vms};
	struct tenv_opts o = {0};
	struct tsim s, px = {0};
	struct tenv t;
	double bare, t0, secs[4];
	struct http_stats hs[4];
	struct scf_stats ss[4];
	uint64_t ack_calls = 0;
	static const char *const names[] = {"new", "changed", "idle", "acks"};
	int rc = 1;

	snprintf(crt, sizeof(crt), "%s/server.crt", tls);
	snprintf(key, sizeof(key), "%s/server.key", tls);
	snprintf(ca, sizeof(ca), "%s/ca.crt", tls);
	setenv("SIM_HARNESS_CA", ca, 1);
	o.poll = 300;
	if (tsim_start(&s, args) != 0)
		return 2;
	snprintf(s.base, sizeof(s.base), "https://127.0.0.1:%d", s.port);
	/* rtt-proxy, started like a simulator (it prints the same line). */
	snprintf(port, sizeof(port), "%d", s.port);
	snprintf(rtts, sizeof(rtts), "%d", rtt);
	{
		const char *pargs[] = {"--target", port, "--rtt-ms", rtts, "--quiet", NULL};
		const char *bin = getenv("RTT_PROXY_BIN");
		struct tsim tmp;

		/* tsim_start runs SCF_SIM_BIN: point it at the proxy for one start. */
		char *sim = strdup(getenv("SCF_SIM_BIN") ? getenv("SCF_SIM_BIN") : "");
		setenv("SCF_SIM_BIN", bin ? bin : "rtt-proxy", 1);
		if (tsim_start(&tmp, pargs) != 0) {
			setenv("SCF_SIM_BIN", sim, 1);
			free(sim);
			goto out;
		}
		setenv("SCF_SIM_BIN", sim, 1);
		free(sim);
		px = tmp;
	}
	if (tenv_init(&t, &s, &o) != 0)
		goto out;
	snprintf(from, sizeof(from), "<baseUrl>%s", s.base);
	snprintf(to, sizeof(to), "<caFile>%s</caFile>\n    <baseUrl>https://127.0.0.1:%d", ca,
	         px.port);
	if (config_replace(t.config, from, to) != 0)
		goto out;
	snprintf(to, sizeof(to), "https://127.0.0.1:%d", px.port);
	bare = bare_ms(to, ca);
	for (int i = 0; i < n; i++)
		if (tsim_add_issue(&s, "{\"request_type_id\":9101}") <= 0)
			goto out;
	for (int p = 0; p < 3; p++) {
		if (p == 1) {
			cJSON *st = tsim_call(&s, "GET", "/_admin/state", NULL, NULL);
			const cJSON *is;

			cJSON_ArrayForEach(is, cJSON_GetObjectItem(st, "issues")) tsim_add_comment(
			    &s, (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(is, "id")),
			    "{\"comment\":\"still there\",\"kind\":\"resident\"}");
			cJSON_Delete(st);
		}
		cJSON_Delete(
		    tsim_call(&s, "POST", "/_admin/clock", "{\"advance_seconds\":600}", NULL));
		vms += 600000;
		t0 = mono_s();
		if (pass(&t, &clk, names[p], &hs[p], &ss[p]))
			goto out;
		secs[p] = mono_s() - t0;
	}
	{
		cJSON *st = tsim_call(&s, "GET", "/_admin/state", NULL, NULL);
		const cJSON *is;

		cJSON_ArrayForEach(is, cJSON_GetObjectItem(st, "issues")) tenv_inbound_ack(
		    &t, (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(is, "id")), "SR-1");
		cJSON_Delete(st);
	}
	t0 = mono_s();
	if (acks(&t, &s, &clk, n, &ack_calls))
		goto out;
	secs[3] = mono_s() - t0;
	hs[3].requests = ack_calls;
	printf("over https through rtt-proxy, rtt_ms=%d, limiter waits on a clock of their own, "
	       "each run timed from its start (configuration, keys, state, first handshakes) to "
	       "its end: bare_client_ms_per_call=%.2f\n",
	       rtt, bare);
	for (int p = 0; p < 4; p++) {
		double ideal = (double)hs[p].requests * rtt / 1000.0;
		double base = (double)hs[p].requests * bare / 1000.0;

		printf("rtt %-8s calls=%" PRIu64 " seconds=%.2f calls_x_rtt_s=%.2f ratio=%.2f "
		       "calls_x_bare_s=%.2f ratio=%.2f%s\n",
		       names[p], hs[p].requests, secs[p], ideal, ideal > 0 ? secs[p] / ideal : 0,
		       base, base > 0 ? secs[p] / base : 0,
		       p == 3 ? " (with the run's own idle fetch pass before it, as --once)" : "");
	}
	rc = 0;
out:
	tenv_free(&t);
	if (px.pid > 0)
		tsim_stop(&px);
	tsim_stop(&s);
	return rc;
}

int main(int argc, char **argv)
{
	int real = argc > 1 && strcmp(argv[1], "--real") == 0;
	int n = argc > 1 + real ? (int)strtol(argv[1 + real], NULL, 10) : 100;
	/* The ideal pass reads 20 issues a page: whole pages, rounded up. */
	int pages = (n + 19) / 20;
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
		return bulk(argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1000);
	if (argc > 3 && strcmp(argv[1], "--rtt-ms") == 0)
		return over_rtt(argc > 4 ? (int)strtol(argv[4], NULL, 10) : 100,
		                (int)strtol(argv[2], NULL, 10), argv[3]);
	if (argc > 1 && strcmp(argv[1], "--first-sync") == 0)
		return first_sync(argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1000);
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
	printf(
	    "{\"changed_issues\":%d,\"calls_per_100_changed\":%.2f,\"ideal_per_100_changed\":%.2f"
	    ",\"calls_per_100_new\":%.2f,\"ideal_per_100_new\":%.2f,\"calls_idle_pass\":%" PRIu64
	    ",\"ideal_idle_pass\":1,\"status_429\":%" PRIu64
	    ",\"ideal_429\":0,\"calls_per_100_acks\":%.1f,\"ideal_per_100_acks\":100.0}\n",
	    n, 100.0 * (double)h2.requests / n, 100.0 * pages / n, 100.0 * (double)h1.requests / n,
	    100.0 * (pages + 1) / n, h3.requests, h1.status_429 + h2.status_429 + h3.status_429,
	    100.0 * (double)ack_calls / n);
	/* The pass after the changed one reads the overlap again: the idle
	 * pass of steady state is the bulk bench's third. */
	printf("pass after %d changed issues: %" PRIu64
	       " calls = %.0f s of the limit at 20 calls a "
	       "minute (ideal 1 call = 3 s)\n",
	       n, h3.requests, 3.0 * (double)h3.requests);
	rc = s2.comment_records == (uint64_t)n ? 0 : 1;
out:
	tenv_free(&t);
	tsim_stop(&s);
	return rc;
}
