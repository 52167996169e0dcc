/*
 * sim_bench: a loopback load generator for scf-sim and oms-sim (libcurl
 * multi, keep-alive connections, faults off).  It starts each simulator
 * on --port 0, drives it for a few seconds with N requests in flight and
 * prints requests per second.  A benchmark, not a test.
 *
 *   sim_bench [--seconds S] [--concurrency N] [--min RPS]
 *             [--scf PATH] [--oms PATH] [--only scf|oms]
 *
 * The binaries default to ../tools/sim/{scf,oms}-sim next to this
 * program (the build tree), or $SCF_SIM_BIN / $OMS_SIM_BIN.  Exit status
 * 1 if any request failed or a rate is below --min.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "num.h"
#include "sim_harness.h"

struct target {
	const char *name;
	const char *bin;
	const char *const *args;
	const char *paths[2];
	const char *const *headers;
};

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
	return s * n;
}

/* CPU seconds (user + system) a process has used so far. */
static double cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	uint64_t ut = 0, st = 0;
	const char *end;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
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

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int run(const struct target *t, double seconds, int conc, double min_rps)
{
	struct simproc p;
	CURLM *m = curl_multi_init();
	CURL **h = calloc((size_t)conc, sizeof(*h));
	char(*urls)[512] = calloc(2, sizeof(*urls));
	struct curl_slist *hdrs = NULL;
	long done = 0, errors = 0;
	double start, end, cpu0, cpu1;
	int running = 0;

	if (simproc_start(&p, t->bin, (const char *const *)t->args) != 0) {
		fprintf(stderr, "sim_bench: cannot start %s\n", t->bin);
		return 1;
	}
	for (int i = 0; t->headers[i]; i++)
		hdrs = curl_slist_append(hdrs, t->headers[i]);
	for (int i = 0; i < 2; i++)
		snprintf(urls[i], 512, "%s%s", p.base, t->paths[i]);
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conc);
	for (int i = 0; i < conc; i++) {
		h[i] = curl_easy_init();
		curl_easy_setopt(h[i], CURLOPT_URL, urls[i % 2]);
		curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(h[i], CURLOPT_TIMEOUT, 10L);
		curl_easy_setopt(h[i], CURLOPT_PRIVATE, (void *)(long)i);
		curl_multi_add_handle(m, h[i]);
	}
	cpu0 = cpu_s(p.pid);
	start = now_s();
	end = start + seconds;
	do {
		CURLMsg *msg;
		int left;

		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			CURL *e = msg->easy_handle;
			long code = 0;
			void *priv;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
			curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
			if (msg->data.result != CURLE_OK || code != 200)
				errors++;
			done++;
			curl_multi_remove_handle(m, e);
			if (now_s() < end) {
				curl_easy_setopt(e, CURLOPT_URL, urls[(done + (long)priv) % 2]);
				curl_multi_add_handle(m, e);
			}
		}
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	} while (running || now_s() < end);
	end = now_s();
	cpu1 = cpu_s(p.pid);
	printf("%s: %ld requests in %.2f s = %.0f req/s (concurrency %d, %ld errors)\n", t->name,
	       done, end - start, (double)done / (end - start), conc, errors);
	if (cpu1 > cpu0 && done > 0)
		printf("%s: server CPU %.1f us/request = %.0f req/s per fully used core\n", t->name,
		       (cpu1 - cpu0) * 1e6 / (double)done, (double)done / (cpu1 - cpu0));
	fflush(stdout);
	for (int i = 0; i < conc; i++)
		curl_easy_cleanup(h[i]);
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	free(h);
	free(urls);
	simproc_stop(&p);
	return errors > 0 || (double)done / (end - start) < min_rps;
}

static const char *default_bin(const char *env, const char *name, char *buf, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n;

	if (getenv(env) && getenv(env)[0])
		return getenv(env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return name;
	self[n] = '\0';
	snprintf(buf, cap, "%s/../tools/sim/%s", dirname(self), name);
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"seconds", required_argument, 0, 's'}, {"concurrency", required_argument, 0, 'c'},
	    {"min", required_argument, 0, 'm'},     {"scf", required_argument, 0, 'S'},
	    {"oms", required_argument, 0, 'O'},     {"only", required_argument, 0, 'o'},
	    {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
	};
	static const char *const scf_args[] = {"--quiet", "--rate-limit", "0",     "--issues",
	                                       "200",     "--token",      "bench", NULL};
	static const char *const scf_hdrs[] = {"Authorization: Bearer bench",
	                                       "User-Agent: sim_bench", NULL};
	static const char *const oms_args[] = {"--quiet", "--requests", "200",   "--user",
	                                       "bench",   "--password", "bench", NULL};
	static const char *const oms_hdrs[] = {"Authorization: Basic YmVuY2g6YmVuY2g=", NULL};
	char sbuf[PATH_MAX + 32], obuf[PATH_MAX + 32];
	struct target scf = {
	    "scf-sim",
	    default_bin("SCF_SIM_BIN", "scf-sim", sbuf, sizeof(sbuf)),
	    scf_args,
	    {"/api/v2/organizations/1102/issues?per_page=20&status=open,acknowledged,"
	     "closed&sort=updated_at&sort_direction=ASC",
	     "/api/v2/organizations/1102/issues?per_page=5&details=true"},
	    scf_hdrs};
	struct target oms = {
	    "oms-sim",
	    default_bin("OMS_SIM_BIN", "oms-sim", obuf, sizeof(obuf)),
	    oms_args,
	    {"/api/v1/classes/cgRequestsClass?limit=20&fields=Oid,IDField,StatusField,"
	     "cgLastModifiedField&sort=cgLastModifiedField:dsc",
	     "/api/v1/classes/"
	     "cgRequestsClass?filter=%28%5BStatus%5D%20is%20equal%20to%20%22Open%22%29&"
	     "limit=20"},
	    oms_hdrs};
	double seconds = 5, min_rps = 0;
	int conc = 8, opt, rc = 0;
	const char *only = NULL;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		case 'c':
			conc = (int)strtol(optarg, NULL, 10);
			break;
		case 'm':
			min_rps = strtod(optarg, NULL);
			break;
		case 'S':
			scf.bin = optarg;
			break;
		case 'O':
			oms.bin = optarg;
			break;
		case 'o':
			only = optarg;
			break;
		case 'h':
			printf("usage: sim_bench [--seconds S] [--concurrency N] [--min RPS] "
			       "[--scf PATH] [--oms PATH] [--only scf|oms]\n");
			return 0;
		default:
			fprintf(stderr, "sim_bench: bad usage (see --help)\n");
			return 2;
		}
	}
	if (seconds <= 0 || conc < 1 || conc > 256) {
		fprintf(stderr, "sim_bench: bad --seconds or --concurrency\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!only || strcmp(only, "scf") == 0)
		rc |= run(&scf, seconds, conc, min_rps);
	if (!only || strcmp(only, "oms") == 0)
		rc |= run(&oms, seconds, conc, min_rps);
	curl_global_cleanup();
	return rc;
}
