/*
 * oms_bench.c: throughput and scale of `scfgate oms` against oms-sim (a
 * benchmark program, not a test).
 *
 * Part 1, forward: for each concurrency (1 and the configured default,
 * or --concurrency LIST), a fresh oms-sim with --latency-ms L and a
 * backlog of N signed `issue` records; `scfgate oms --once` drains it.
 * Prints records/s, the ideal time (N x calls per record x L /
 * concurrency; calls counted by oms-sim), the ratio measured/ideal and
 * the peak RSS of the scfgate process (wait4 ru_maxrss).
 *
 * Part 2, scale: oms-sim with T pre-existing requests, a tracked state
 * of T open requests, an empty queue: the start-up (tracked state load)
 * and one poll cycle, with the same latency.
 *
 * usage: oms_bench [--records N] [--latency-ms L] [--concurrency 1,2]
 *                  [--tracked T]
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

#include "test_oms_util.h"

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
		execv(argv[0], (char *const *)argv);
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

static int forward(int records, int latency, unsigned conc)
{
	char cbuf[16], extra_cfg[64];
	const char *args[] = {"--concurrency", cbuf, NULL};
	double secs, before, calls, ideal;
	long rss;
	struct omt t;
	int rc;

	snprintf(cbuf, sizeof(cbuf), "%u", conc);
	snprintf(extra_cfg, sizeof(extra_cfg), "<concurrency>%u</concurrency>", conc);
	if (omt_setup(&t, (const char *const[]){"--quiet", NULL}, extra_cfg) != 0)
		return -1;
	for (int i = 0; i < records; i++)
		if (!omt_issue(&t, 1000000 + i, 122, "Benchmark issue", NULL))
			return -1;
	set_latency(&t, latency);
	before = sim_requests(&t);
	rc = run_once(&t, args, &secs, &rss);
	calls = sim_requests(&t) - before - 1; /* minus the stats call itself */
	/* The pass ends with one poll cycle: chunks of 150 Oids. */
	calls -= (records + 149) / 150;
	ideal = (double)records * (calls / records) * latency / 1000.0 / conc;
	printf("forward: records=%d concurrency=%u latency_ms=%d exit=%d seconds=%.2f "
	       "records_per_s=%.1f calls_per_record=%.2f ideal_s=%.2f ratio=%.2f "
	       "scfgate_cpu_s=%.2f peak_rss_mib=%.1f\n",
	       records, conc, latency, rc, secs, records / secs, calls / records, ideal,
	       ideal > 0 ? secs / ideal : 0, last_cpu_s, rss / 1024.0);
	fflush(stdout);
	omt_teardown(&t);
	return rc;
}

/* T open requests in oms-sim, all tracked as ours. */
static int scale(int tracked, int latency, unsigned conc)
{
	char nbuf[16], extra_cfg[64], dir[512], path[600], url[256];
	const char *args[] = {NULL};
	double secs;
	long rss;
	struct omt t;
	FILE *f;
	int n = 0, rc;

	/* oms-sim seeds about half of its requests Closed: ask for twice as
	 * many and track the open ones, as a gateway would. */
	snprintf(nbuf, sizeof(nbuf), "%d", tracked * 2 + 2000);
	snprintf(extra_cfg, sizeof(extra_cfg), "<concurrency>%u</concurrency>", conc);
	if (omt_setup(&t, (const char *const[]){"--requests", nbuf, NULL}, extra_cfg) != 0)
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
	rc = run_once(&t, args, &secs, &rss);
	printf("scale: tracked=%d concurrency=%u latency_ms=%d exit=%d seconds=%.2f "
	       "(start-up + one poll of %d chunks) scfgate_cpu_s=%.2f peak_rss_mib=%.1f\n",
	       n, conc, latency, rc, secs, (n + 149) / 150, last_cpu_s, rss / 1024.0);
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
	int records = 10000, latency = 20, tracked = 100000;
	char concs[64] = "1,2";
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf(
			    "usage: oms_bench [--records N] [--latency-ms L] [--concurrency LIST] "
			    "[--tracked T]\n");
			return 0;
		}
		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "--records") == 0)
			records = atoi(argv[++i]);
		else if (strcmp(argv[i], "--latency-ms") == 0)
			latency = atoi(argv[++i]);
		else if (strcmp(argv[i], "--concurrency") == 0)
			snprintf(concs, sizeof(concs), "%s", argv[++i]);
		else if (strcmp(argv[i], "--tracked") == 0)
			tracked = atoi(argv[++i]);
	}
	for (char *tok = strtok(concs, ","); tok; tok = strtok(NULL, ","))
		if (records > 0 && forward(records, latency, (unsigned)atoi(tok)) != 0)
			rc = 1;
	if (tracked > 0 && scale(tracked, latency, 2) != 0)
		rc = 1;
	return rc;
}
