/*
 * oms_bench.c: throughput and scale of `scfgate oms` against oms-sim (a
 * benchmark program, not a test).
 *
 * Part 1, forward: for each concurrency (1 and the configured default,
 * or --concurrency LIST), a fresh oms-sim with --latency-ms L and a
 * backlog as the demo makes it: N signed `issue` records and, on every
 * third issue, a comment with a photo (a `comment` and an `attachment`
 * record); `scfgate oms --once` drains it.  Prints records/s, the calls
 * made (counted by oms-sim, and by route) beside the minimum calls (1 per
 * issue, 2 per comment on the default route "field", 1 per attachment,
 * and the closing poll), the ideal time (minimum calls x L / concurrency),
 * the ratio measured/ideal, and the CPU and peak RSS of the scfgate
 * process (wait4).
 *
 * Part 2, scale: oms-sim with T pre-existing requests, a tracked state
 * of T open requests, an empty queue: the start-up (tracked state load)
 * and one poll cycle, with the same latency, beside the ideal (chunks of
 * 150 Oids x L / concurrency), scfgate's CPU and peak RSS, and the CPU
 * oms-sim spent (/proc), so a slow simulator shows.  With --scan-baseline
 * the scale pass runs again against oms-sim --no-index (every query
 * scans every request): what the simulator cost before its indexes.
 *
 * usage: oms_bench [--records N] [--latency-ms L] [--concurrency 1,2]
 *                  [--tracked T] [--scan-baseline]
 * Environment: OMS_SIM_BIN, SCFGATE_BIN, SCFGATE_SOURCE_DIR.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "num.h"
#include "test_oms_util.h"
#include "unconst.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run scfgate oms --once with args; wall time and peak RSS (KiB). */
static double last_cpu_s; /* user + system CPU of the last scfgate run */

static int run_once(struct omt *t, const char *const extra[], double *secs, long *rss_kib)
{
	const char *argv[24];
	struct rusage ru;
	int n = 0, status;
	double t0 = now_s();
	pid_t pid;

	argv[n++] = sim_bin("SCFGATE_BIN");
	argv[n++] = "oms";
	argv[n++] = "--config";
	argv[n++] = t->config;
	argv[n++] = "--once";
	for (int i = 0; extra && extra[i] && n < 22; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(t->log, O_WRONLY | O_CREAT | O_APPEND, 0640);
		if (fd >= 0)
			dup2(fd, 2);
		execv(argv[0], UNCONST(argv));
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return -1;
	*secs = now_s() - t0;
	*rss_kib = ru.ru_maxrss;
	last_cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	             (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static double sim_requests(struct omt *t)
{
	char url[128];
	cJSON *j;
	double n;

	snprintf(url, sizeof(url), "%s/_admin/stats", t->sim.base);
	j = http_json("GET", url, NULL, NULL, NULL);
	n = j ? cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "requests")) : 0;
	cJSON_Delete(j);
	return n;
}

static void set_latency(struct omt *t, int ms)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"latency_ms\":%d}", ms);
	omt_faults(t, body);
}

/* The calls of each route since the last reset, as one line. */
static void print_routes(struct omt *t)
{
	char url[128];
	cJSON *j, *by, *r;

	snprintf(url, sizeof(url), "%s/_admin/stats", t->sim.base);
	j = http_json("GET", url, NULL, NULL, NULL);
	by = cJSON_GetObjectItemCaseSensitive(j, "by_route");
	printf("forward: calls by route:");
	cJSON_ArrayForEach(r, by)
	{
		if (strncmp(r->string, "GET /_admin", 11) != 0)
			printf(" [%s]=%.0f", r->string, r->valuedouble);
	}
	printf("\n");
	cJSON_Delete(j);
}

/* A backlog as the demo makes it: every issue, and on every third one a
 * resident's comment with a photo (a comment and an attachment record). */
/* The round trip through rtt-proxy (0: oms-sim's --latency-ms instead,
 * a server delay without handshakes) and the throw-away CA directory
 * (NULL: plain http): see start_proxy. */
static int rtt_ms;
static const char *tls_dir;

/* oms-sim over https with the CA's server certificate when tls_dir is
 * set, and rtt-proxy in front of it adding rtt_ms: the half's base URL
 * points at the proxy, which relays the TLS bytes so every handshake
 * round trip is delayed too.  The admin calls go to oms-sim directly. */
static int start_proxy(struct omt *t, struct simproc *proxy)
{
	char port[16], rtt[16], from[96], to[96];

	snprintf(port, sizeof(port), "%d", t->sim.port);
	snprintf(rtt, sizeof(rtt), "%d", rtt_ms);
	if (simproc_start(
	        proxy, getenv("RTT_PROXY_BIN") ? getenv("RTT_PROXY_BIN") : "rtt-proxy",
	        (const char *const[]){"--target", port, "--rtt-ms", rtt, "--quiet", NULL}) != 0)
		return -1;
	snprintf(from, sizeof(from), "<baseUrl>%s", t->sim.base);
	snprintf(to, sizeof(to), "<baseUrl>%s://127.0.0.1:%d", tls_dir ? "https" : "http",
	         proxy->port);
	if (tls_dir) /* the harness' own calls to oms-sim's admin interface */
		snprintf(t->sim.base, sizeof(t->sim.base), "https://127.0.0.1:%d", t->sim.port);
	return omt_config_replace(t, from, to);
}

static size_t discard(char *d, size_t size, size_t n, void *u)
{
	(void)d;
	(void)u;
	return size * n;
}

/* The path's own cost per call, measured in the same run: one libcurl
 * handle keeping its connection (and TLS session) alive makes `calls`
 * small authenticated GETs to the half's base URL through the proxy.
 * Milliseconds per call, or 0 on failure. */
static double path_ms_per_call(const char *base, int calls)
{
	char url[160];
	double t0, ms = 0;
	CURL *h = curl_easy_init();

	if (!h)
		return 0;
	snprintf(url, sizeof(url), "%s/api/v1/user", base);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERPWD, "scfgate:scfgate-pass");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (getenv("SIM_HARNESS_CA"))
		curl_easy_setopt(h, CURLOPT_CAINFO, getenv("SIM_HARNESS_CA"));
	/* The first call pays the handshakes, as the half's first does. */
	if (curl_easy_perform(h) != CURLE_OK)
		goto out;
	t0 = now_s();
	for (int i = 0; i < calls; i++)
		if (curl_easy_perform(h) != CURLE_OK)
			goto out;
	ms = (now_s() - t0) * 1000.0 / calls;
out:
	curl_easy_cleanup(h);
	return ms;
}

static int forward(int records, int latency, unsigned conc)
{
	char cbuf[16], extra_cfg[640], url[128], cid[32], crt[512], key[512];
	const char *args[] = {"--concurrency", cbuf, NULL};
	const char *sim_args[] = {"--quiet", NULL, NULL, NULL, NULL, NULL};
	double secs, before, calls, ideal, min_calls, path_ms = 0;
	int comments = 0, attachments = 0, chunks = (records + 149) / 150;
	struct simproc proxy = {0};
	long rss;
	struct omt t;
	int rc;

	snprintf(cbuf, sizeof(cbuf), "%u", conc);
	snprintf(extra_cfg, sizeof(extra_cfg), "<concurrency>%u</concurrency>", conc);
	if (tls_dir) {
		snprintf(crt, sizeof(crt), "%s/server.crt", tls_dir);
		snprintf(key, sizeof(key), "%s/server.key", tls_dir);
		sim_args[1] = "--tls-cert";
		sim_args[2] = crt;
		sim_args[3] = "--tls-key";
		sim_args[4] = key;
		snprintf(extra_cfg, sizeof(extra_cfg),
		         "<concurrency>%u</concurrency><caFile>%s/ca.crt</caFile>", conc, tls_dir);
	}
	if (omt_setup(&t, sim_args, extra_cfg) != 0)
		return -1;
	if (rtt_ms > 0 && start_proxy(&t, &proxy) != 0)
		return -1;
	if (rtt_ms > 0) {
		snprintf(url, sizeof(url), "%s://127.0.0.1:%d", tls_dir ? "https" : "http",
		         proxy.port);
		path_ms = path_ms_per_call(url, 200);
	}
	for (int i = 0; i < records; i++)
		if (!omt_issue(&t, 1000000 + i, 122, "Benchmark issue", NULL))
			return -1;
	for (int i = 0; i < records; i += 3) {
		snprintf(cid, sizeof(cid), "%d", 5000000 + i);
		if (!omt_comment(&t, 1000000 + i, cid, "Still there this morning, please hurry") ||
		    !omt_attachment(&t, 1000000 + i, cid, "https://example.invalid/photo.jpg"))
			return -1;
		comments++;
		attachments++;
	}
	set_latency(&t, rtt_ms ? 0 : latency);
	snprintf(url, sizeof(url), "%s/_admin/stats", t.sim.base);
	cJSON_Delete(http_json("DELETE", url, NULL, NULL, NULL));
	before = sim_requests(&t);
	rc = run_once(&t, args, &secs, &rss);
	calls = sim_requests(&t) - before - 1; /* minus the stats call itself */
	/* The minimum a pass needs: one create per issue, two calls per
	 * comment on the default route "field" (read the field, write it
	 * back; an append-only route needs one), one per attachment, and the
	 * poll that ends the pass (chunks of 150 Oids). */
	min_calls = (double)records + 2.0 * comments + attachments + chunks;
	ideal = min_calls * latency / 1000.0 / conc;
	printf("forward: issues=%d comments=%d attachments=%d concurrency=%u %s=%d%s "
	       "exit=%d seconds=%.2f records_per_s=%.1f calls=%.0f min_calls=%.0f "
	       "(issue 1, comment 2, attachment 1, poll %d) ideal_s=%.2f ratio=%.2f "
	       "scfgate_cpu_s=%.2f peak_rss_mib=%.1f\n",
	       records, comments, attachments, conc, rtt_ms ? "rtt_ms" : "latency_ms", latency,
	       rtt_ms ? (tls_dir ? " https" : " http") : "", rc, secs,
	       (records + comments + attachments) / secs, calls, min_calls, chunks, ideal,
	       ideal > 0 ? secs / ideal : 0, last_cpu_s, rss / 1024.0);
	if (rtt_ms > 0) {
		/* One round trip per call made, and the same calls at what a
		 * bare keep-alive client pays on this path now (the proxy's and
		 * oms-sim's own time, and the machine's load, included). */
		double per_rtt = calls * rtt_ms / 1000.0 / conc;
		double per_path = calls * path_ms / 1000.0 / conc;

		printf("forward: round trips: calls_x_rtt_s=%.2f ratio=%.2f (goal <= 1.15); "
		       "bare_client_ms_per_call=%.2f calls_x_bare_s=%.2f ratio=%.2f\n",
		       per_rtt, secs / per_rtt, path_ms, per_path,
		       per_path > 0 ? secs / per_path : 0);
	}
	print_routes(&t);
	fflush(stdout);
	if (proxy.pid > 0)
		simproc_stop(&proxy);
	omt_teardown(&t);
	return rc;
}

/* User + system CPU seconds of a process so far (/proc/PID/stat). */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	uint64_t ut = 0, st = 0;
	const char *end;
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	p = strrchr(buf, ')');
	/* After "pid (comm)" the n-th blank comes before field n + 2: state
	 * is field 3, utime 14, stime 15. */
	for (int i = 0; p && i < 12; i++)
		p = strchr(p + 1, ' ');
	if (!p || num_u64(p + 1, 10, &end, &ut) != 0 || *end != ' ' ||
	    num_u64(end + 1, 10, &end, &st) != 0 || *end != ' ')
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* T open requests in oms-sim, all tracked as ours. */
static int scale(int tracked, int latency, unsigned conc, int scan)
{
	char nbuf[16], extra_cfg[64], dir[512], path[600], url[256];
	const char *args[] = {NULL};
	double secs;
	long rss;
	struct omt t;
	FILE *f;
	double sim0, sim1;
	int n = 0, rc, chunks;

	/* oms-sim seeds about half of its requests Closed: ask for twice as
	 * many and track the open ones, as a gateway would. */
	snprintf(nbuf, sizeof(nbuf), "%d", tracked * 2 + 2000);
	/* Seeding 200,000 requests takes oms-sim seconds of CPU before it
	 * listens, several times that on a loaded machine. */
	simproc_start_wait_ms = 300000;
	snprintf(extra_cfg, sizeof(extra_cfg), "<concurrency>%u</concurrency>", conc);
	if (omt_setup(&t,
	              (const char *const[]){"--requests", nbuf, scan ? "--no-index" : NULL, NULL},
	              extra_cfg) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/state", t.root);
	mkdir(dir, 0750);
	snprintf(dir, sizeof(dir), "%s/state/oms", t.root);
	mkdir(dir, 0750);
	snprintf(path, sizeof(path), "%s/snap.%020d", dir, 1);
	f = fopen(path, "w");
	if (!f)
		return -1;
	for (int off = 0; n < tracked && off < tracked * 2 + 2000; off += 1000) {
		cJSON *j, *rows, *row;
		snprintf(url, sizeof(url),
		         "%s/api/v1/classes/cgRequestsClass?fields=Oid,IDField,StatusField"
		         "&limit=1000&offset=%d",
		         t.sim.base, off);
		j = http_json("GET", url,
		              (const char *const[]){
		                  "Authorization: Basic c2NmZ2F0ZTpzY2ZnYXRlLXBhc3M=", NULL},
		              NULL, NULL);
		rows = cJSON_GetObjectItemCaseSensitive(j, "cgRequestsClass");
		cJSON_ArrayForEach(row, rows)
		{
			const char *status = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(row, "StatusField"));
			if (n >= tracked || (status && strcmp(status, "Closed") == 0))
				continue;
			fprintf(
			    f, "E %d %.0f 122 2 0 0 %s\n", 2000000 + n,
			    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(row, "Oid")),
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "IDField")));
			n++;
		}
		cJSON_Delete(j);
	}
	fclose(f);
	set_latency(&t, latency);
	sim0 = proc_cpu_s(t.sim.pid);
	rc = run_once(&t, args, &secs, &rss);
	sim1 = proc_cpu_s(t.sim.pid);
	chunks = (n + 149) / 150;
	printf("scale%s: tracked=%d concurrency=%u latency_ms=%d exit=%d seconds=%.2f "
	       "(start-up + one poll of %d chunks) ideal_s=%.2f (chunks x latency / concurrency) "
	       "ratio=%.2f scfgate_cpu_s=%.2f peak_rss_mib=%.1f oms_sim_cpu_s=%.2f\n",
	       scan ? " (oms-sim --no-index)" : "", n, conc, latency, rc, secs, chunks,
	       chunks * latency / 1000.0 / conc,
	       chunks ? secs / (chunks * latency / 1000.0 / conc) : 0, last_cpu_s, rss / 1024.0,
	       sim1 - sim0);
	printf("scale: log: ");
	fflush(stdout);
	snprintf(path, sizeof(path),
	         "grep -h -o 'event=tracking-loaded.*\\|effect=poll.*' '%s' | tr '\\n' ' '", t.log);
	if (system(path) != 0)
		printf("(no log)");
	printf("\n");
	omt_teardown(&t);
	return rc;
}

int main(int argc, char **argv)
{
	int records = 10000, latency = 20, tracked = 100000, scan = 0;
	char concs[64] = "1,2";
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf(
			    "usage: oms_bench [--records N] [--latency-ms L] [--concurrency LIST] "
			    "[--tracked T] [--scan-baseline] [--rtt-ms L [--tls-dir DIR]]\n");
			return 0;
		}
		if (strcmp(argv[i], "--scan-baseline") == 0) {
			scan = 1;
			continue;
		}
		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "--records") == 0)
			records = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--latency-ms") == 0)
			latency = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--concurrency") == 0)
			snprintf(concs, sizeof(concs), "%s", argv[++i]);
		else if (strcmp(argv[i], "--tracked") == 0)
			tracked = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rtt-ms") == 0)
			latency = rtt_ms = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--tls-dir") == 0)
			tls_dir = argv[++i];
	}
	if (tls_dir) { /* the harness' admin calls to oms-sim over https */
		char ca[512];

		snprintf(ca, sizeof(ca), "%s/ca.crt", tls_dir);
		setenv("SIM_HARNESS_CA", ca, 1);
	}
	for (char *save, *tok = strtok_r(concs, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (records > 0 && forward(records, latency, (unsigned)strtol(tok, NULL, 10)) != 0)
			rc = 1;
	if (tracked > 0 && scale(tracked, latency, 2, 0) != 0)
		rc = 1;
	if (tracked > 0 && scan && scale(tracked, latency, 2, 1) != 0)
		rc = 1;
	return rc;
}
