/*
 * scf_runs_bench.c: 429s over back-to-back `scfgate scf --once` runs (a
 * timer firing as fast as it can) against scf-sim with its limit at 20
 * calls in any 60 s (a sliding window), wall clock, real processes.
 *
 *   scf_runs_bench [RUNS]      RUNS back-to-back runs (default 20)
 *
 * Each run reads 21 changed issues at 20 a page (2 calls), so the runs
 * together spend about twice the window and must wait for it across
 * processes: about 2 minutes for 20 runs.  Prints one line: the runs,
 * the calls SCF saw, its 429s (goal 0), and the elapsed time beside the
 * least the calls allow at the limit.  Binaries as for the tests
 * (SCF_SIM_BIN, SCFGATE_BIN, SCFGATE_SOURCE_DIR; the build's by default).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_scf_util.h"

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_once(const struct tenv *t)
{
	const char *bin = getenv("SCFGATE_BIN");
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "scf", "--config", t->config, "--once", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static double sim_num(const struct tsim *s, const char *path, const char *obj, const char *key)
{
	cJSON *j = tsim_call(s, "GET", path, NULL, NULL);
	const cJSON *o = obj ? cJSON_GetObjectItem(j, obj) : j;
	double v = cJSON_GetNumberValue(cJSON_GetObjectItem(o, key));

	cJSON_Delete(j);
	return v;
}

/* Calls on the API routes (the admin calls are counted too). */
static double api_calls(const struct tsim *s)
{
	cJSON *j = tsim_call(s, "GET", "/_admin/stats", NULL, NULL);
	const cJSON *r;
	double n = 0;

	cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "by_route"))
	{
		if (strstr(r->string, "/api/"))
			n += r->valuedouble;
	}
	cJSON_Delete(j);
	return n;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 20;
	const char *args[] = {"--issues", "0", "--rate-limit", "20", "--rate-sliding", NULL};
	struct tenv_opts o = {0};
	struct tsim s;
	struct tenv t;
	double t0, calls, n429;
	int failed = 0, rc = 1;

#ifdef SCF_BENCH_SIM
	setenv("SCF_SIM_BIN", SCF_BENCH_SIM, 0);
	setenv("SCFGATE_BIN", SCF_BENCH_GATE, 0);
	setenv("SCFGATE_SOURCE_DIR", SCF_BENCH_SRC, 0);
#endif
	o.rate_per_minute = 20; /* and the default window, 60 s */
	if (runs <= 0 || tsim_start(&s, args) != 0)
		return 2;
	if (tenv_init(&t, &s, &o) != 0)
		goto out;
	for (int i = 0; i < 21; i++)
		if (tsim_add_issue(&s, "{\"request_type_id\":9101}") <= 0)
			goto out;
	cJSON_Delete(tsim_call(&s, "DELETE", "/_admin/stats", NULL, NULL));
	t0 = mono();
	for (int i = 0; i < runs; i++)
		failed += run_once(&t) != 0;
	calls = api_calls(&s);
	n429 = sim_num(&s, "/_admin/state", "rate_limit", "count_429");
	printf("scf timer runs: %d back-to-back --once runs at 20 calls in any 60 s: %.0f calls, "
	       "%.0f 429s (goal 0), %d runs failed, %.0f s (the least those calls allow: %d s)\n",
	       runs, calls, n429, failed, mono() - t0,
	       calls >= 1 ? 60 * ((int)(calls - 1) / 20) : 0);
	rc = n429 == 0 && !failed ? 0 : 1;
out:
	tenv_free(&t);
	tsim_stop(&s);
	return rc;
}
