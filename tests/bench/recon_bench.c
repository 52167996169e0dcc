/*
 * recon_bench.c: the OMS half's reconciliation of a large census against
 * oms-sim (a benchmark program, not a test).
 *
 * For each size N (default 10,000 and 100,000): oms-sim starts from a
 * state file of N open requests carrying SCF ids 3000000.., all tracked
 * by the OMS half (every hundredth re-typed in Cartegraph, so drift is
 * found); a census of the N issues (parts of 2,000) waits in the outbound queue; `scfgate oms
 * --once` stores and reconciles it.  Prints the Cartegraph calls (counted by oms-sim and by
 * scfgate) beside the ideal (N / 150, the ids one GET carries, plus the
 * orphan pass), the time, the ideal time (calls x latency / concurrency),
 * the classes found, and scfgate's peak RSS, so RSS across sizes shows
 * whether memory stays flat (the tracked state itself grows with N).
 *
 * usage: recon_bench [--sizes N,M] [--latency-ms L]
 * Environment: OMS_SIM_BIN, SCFGATE_BIN, SCFGATE_SOURCE_DIR.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_oms_util.h"
#include "unconst.h"

#define BASE_ID  3000000
#define BASE_OID 500000000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_once(struct omt *t, double *secs, long *rss_kib)
{
	const char *argv[] = {sim_bin("SCFGATE_BIN"), "oms", "--config", t->config, "--once", NULL};
	struct rusage ru;
	double t0 = now_s();
	int status;
	pid_t pid = fork();

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

/* The oms-sim state file: n open requests, SCF ids BASE_ID + i. */
static int write_state(const char *path, int n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f,
	        "{\"simulator\":\"oms-sim\",\"format\":1,\"state\":"
	        "{\"class\":\"cgRequestsClass\",\"attachment_class\":"
	        "\"cgRequests_cgAttachmentsClass\",\"next_oid\":%d,\"next_id\":%d,\"records\":{"
	        "\"cgRequests_cgAttachmentsClass\":[],\"cgRequestsClass\":[",
	        BASE_OID + n + 1, n + 1);
	/* only the fields the reconciliation reads, so oms-sim loads it
	 * quickly; every hundredth request re-typed: drift */
	for (int i = 0; i < n; i++)
		fprintf(f,
		        "%s{\"Oid\":%d,\"IDField\":\"SR-%06d\",\"StatusField\":\"Open\","
		        "\"IssueField\":\"%s\",\"SCFIssueIDField\":\"%d\"}",
		        i ? "," : "", BASE_OID + i, i + 1, i % 100 == 0 ? "Graffiti" : "Pothole",
		        BASE_ID + i);
	fprintf(f, "]}}}\n");
	return fclose(f);
}

static int write_tracked(struct omt *t, int n)
{
	char dir[512], path[600];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/state", t->root);
	mkdir(dir, 0750);
	snprintf(dir, sizeof(dir), "%s/state/oms", t->root);
	mkdir(dir, 0750);
	snprintf(path, sizeof(path), "%s/snap.%020d", dir, 1);
	if (!(f = fopen(path, "w")))
		return -1;
	for (int i = 0; i < n; i++)
		fprintf(f, "E %d %d 122 2 0 0 SR-%06d\n", BASE_ID + i, BASE_OID + i, i + 1);
	return fclose(f);
}

static void commit_census(struct omt *t, int n)
{
	int parts = n ? (n + RECORD_PART_MAX - 1) / RECORD_PART_MAX : 1;

	for (int p = 0; p < parts; p++) {
		struct record *r = record_new(RECORD_CENSUS);
		struct record_census *c = &r->u.census;
		int from = p * RECORD_PART_MAX,
		    k = n - from < RECORD_PART_MAX ? n - from : RECORD_PART_MAX;

		if (asprintf(&r->key, "census/bench-1/%d", p + 1) < 0)
			abort();
		c->census_id = strdup("bench-1");
		c->part = p + 1;
		c->last = p + 1 == parts;
		c->window_from = strdup("2025-12-06T00:00:00Z");
		c->window_to = strdup("2026-12-06T10:15:00Z");
		c->n_request_types = 1;
		c->request_type_ids = calloc(1, sizeof(int64_t));
		c->request_type_ids[0] = 122;
		c->n_entries = (size_t)k;
		c->entries = calloc((size_t)k, sizeof(*c->entries));
		for (int i = 0; i < k; i++) {
			struct record_census_entry *en = &c->entries[i];
			int id = BASE_ID + from + i;
			en->issue_id = id;
			en->status = strdup("Acknowledged");
			en->request_type_id = 122;
			en->updated_at = strdup("2026-11-25T18:30:02-05:00");
			en->lat = 41.30713;
			en->lng = -72.92486;
			if (asprintf(&en->html_url, "https://seeclickfix.com/issues/%d", id) < 0)
				abort();
			en->sent = en->acknowledged = 1;
		}
		if (omt_commit(t, r) == 0)
			fprintf(stderr, "census part %d not committed\n", p + 1);
	}
}

static int bench(int n, int latency)
{
	char state[600], extra_cfg[64], cmd[800];
	struct omt t;
	double secs = 0, calls0, calls;
	long rss = 0;
	int rc, ideal = (n + 149) / 150;

	snprintf(state, sizeof(state), "/tmp/recon_bench.%d.json", (int)getpid());
	if (write_state(state, n) != 0)
		return -1;
	snprintf(extra_cfg, sizeof(extra_cfg), "<concurrency>2</concurrency>");
	if (omt_setup(&t, (const char *const[]){"--load", state, NULL}, extra_cfg) != 0) {
		unlink(state);
		return -1;
	}
	unlink(state);
	if (write_tracked(&t, n) != 0)
		return -1;
	commit_census(&t, n);
	{
		char body[64];
		snprintf(body, sizeof(body), "{\"latency_ms\":%d}", latency);
		omt_faults(&t, body);
	}
	calls0 = sim_requests(&t);
	rc = run_once(&t, &secs, &rss);
	calls = sim_requests(&t) - calls0;
	/* the poll of the N tracked requests is in the same run: ideal too */
	printf("reconcile: issues=%d latency_ms=%d concurrency=2 exit=%d seconds=%.2f "
	       "oms_sim_calls=%.0f (poll %d + reconcile) ideal_reconcile_calls=%d (issues / 150) "
	       "ideal_s=%.2f (poll + reconcile calls x latency / concurrency) peak_rss_mib=%.1f\n",
	       n, latency, rc, secs, calls, ideal, ideal, 2.0 * ideal * latency / 1000.0 / 2,
	       rss / 1024.0);
	printf("reconcile: log: ");
	fflush(stdout);
	snprintf(cmd, sizeof(cmd),
	         "grep -h -o 'event=reconciled.*\\|effect=poll .*' '%s' | tr '\\n' ' '", t.log);
	if (system(cmd) != 0)
		printf("(no log)");
	printf("\n");
	omt_teardown(&t);
	return rc;
}

int main(int argc, char **argv)
{
	char sizes[128] = "10000,100000";
	int latency = 20, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf("usage: recon_bench [--sizes N,M] [--latency-ms L]\n");
			return 0;
		}
		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "--sizes") == 0)
			snprintf(sizes, sizeof(sizes), "%s", argv[++i]);
		else if (strcmp(argv[i], "--latency-ms") == 0)
			latency = (int)strtol(argv[++i], NULL, 10);
	}
	for (char *save, *tok = strtok_r(sizes, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (bench((int)strtol(tok, NULL, 10), latency) != 0)
			rc = 1;
	return rc;
}
