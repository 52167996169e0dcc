/*
 * test_scf_rate.c: the SCF half's rate budget and its fairness, with real
 * `scfgate scf` processes against a real scf-sim: one budget across runs,
 * restarts and a kill -9 in the middle of a pass (the simulator's own 429
 * count, with its sliding window at the same limit, is the proof); a small
 * pass with an empty window runs at once; a ban stops the half with an
 * alert that `scfgate status` shows and later runs respect; a long
 * write-back backlog does not hold fetching back by more than one poll
 * interval, and `status` shows the backlog with its drain time.
 *
 * The default runs use a short window (5 calls in any 1 s, on both sides);
 * SCFGATE_LONG_TESTS=1 adds the same across-runs check at SCF's real
 * 20 calls in any 60 s with the default configuration (over a minute).
 */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "num.h"
#include "test_scf_util.h"

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* scfgate <cmd> --config <t.config> [extra]; stdout/stderr to files. */
static pid_t spawn(const struct tenv *t, const char *cmd, const char *extra, const char *out,
                   const char *errp)
{
	const char *bin = getenv("SCFGATE_BIN");
	pid_t pid = fork();

	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(errp, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(fo, 1);
		dup2(fe, 2);
		execl(bin, bin, cmd, "--config", t->config, extra, (char *)NULL);
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

static int run_once(const struct tenv *t, int seconds)
{
	char out[400], errp[400];

	snprintf(out, sizeof(out), "%s/once.out", t->dir);
	snprintf(errp, sizeof(errp), "%s/once.err", t->dir);
	return wait_exit(spawn(t, "scf", "--once", out, errp), seconds);
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

/* The simulator's "rate_limit" member of /_admin/state. */
static double sim_rate(const struct tsim *s, const char *key)
{
	cJSON *st = tsim_call(s, "GET", "/_admin/state", NULL, NULL);
	double v;

	assert_non_null(st);
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "rate_limit"), key)->valuedouble;
	cJSON_Delete(st);
	return v;
}

static long sim_requests(const struct tsim *s)
{
	cJSON *st = tsim_call(s, "GET", "/_admin/stats", NULL, NULL);
	long n;

	assert_non_null(st);
	n = (long)cJSON_GetObjectItem(st, "requests")->valuedouble;
	cJSON_Delete(st);
	return n;
}

/* Calls to the API alone: "requests" counts the /_admin/ calls too,
 * among them every poll of the stats themselves. */
static long sim_api_requests(const struct tsim *s)
{
	cJSON *st = tsim_call(s, "GET", "/_admin/stats", NULL, NULL);
	const cJSON *r;
	long n = 0;

	assert_non_null(st);
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(st, "by_route"))
	{
		if (!strstr(r->string, "/_admin/"))
			n += (long)r->valuedouble;
	}
	cJSON_Delete(st);
	return n;
}

static long sim_fetches(const struct tsim *s)
{
	cJSON *st = tsim_call(s, "GET", "/_admin/stats", NULL, NULL);
	const cJSON *n;
	long v;

	assert_non_null(st);
	n = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "by_route"),
	                        "GET /api/v2/organizations/:org/issues");
	v = n ? (long)n->valuedouble : 0;
	cJSON_Delete(st);
	return v;
}

static void add_issues(const struct tsim *s, int n)
{
	for (int i = 0; i < n; i++)
		assert_true(tsim_add_issue(s, "{\"request_type_id\":9101}") > 0);
}

/* ---- one budget across runs ---- */

static void back_to_back(const char *const sim_args[], const struct tenv_opts *o, int runs,
                         int issues)
{
	struct tsim s;
	struct tenv t;
	cJSON *keys;

	assert_int_equal(tsim_start(&s, sim_args), 0);
	assert_int_equal(tenv_init(&t, &s, o), 0);
	add_issues(&s, issues);
	for (int i = 0; i < runs; i++)
		assert_int_equal(run_once(&t, 300), 0);
	/* every run called SCF, and SCF never had to refuse one call */
	assert_true(sim_requests(&s) >= runs);
	assert_int_equal((int)sim_rate(&s, "count_429"), 0);
	keys = tenv_outbound_keys(&t);
	assert_int_equal(tkeys_count(keys, "_n_issue"), issues);
	assert_true(tkeys_all_once(keys));
	cJSON_Delete(keys);
	tenv_free(&t);
	tsim_stop(&s);
}

/* 20 back-to-back `--once` runs (each one call or more) at 5 calls in
 * any 1 s: each run starts where the last one left the window.  A run
 * starts well within a second of the last one's calls, so a half that
 * forgot them would call into a full window. */
static void twenty_runs_no_429(void **u)
{
	const char *args[] = {"--issues",      "0", "--rate-limit",   "5",
	                      "--rate-window", "1", "--rate-sliding", NULL};
	struct tenv_opts o = {0};

	(void)u;
	o.rate_per_minute = 5;
	o.rate_window = 1;
	o.per_page = 1; /* the first run alone takes 3 calls */
	back_to_back(args, &o, 20, 3);
}

/* The same at SCF's own limit with the default configuration. */
static void twenty_runs_no_429_real_limit(void **u)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "20", "--rate-sliding", NULL};
	struct tenv_opts o = {0};

	(void)u;
	if (!getenv("SCFGATE_LONG_TESTS"))
		skip();
	o.rate_per_minute = 20;
	o.per_page = 20; /* 21 issues: 2 calls a run, 40 in all: one wait of a window */
	back_to_back(args, &o, 20, 21);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The window file as the killed or finished process left it: complete
 * ("end <n>" counts the call lines), and at most limit call times in any
 * window_ms.  Returns the calls recorded as started but never answered
 * (a process killed during a call). */
static int window_file_bounded(const struct tenv *t, unsigned limit, uint64_t window_ms)
{
	char path[400], *line, *save = NULL;
	uint64_t ms[256];
	size_t n = 0;
	int started = 0, ended = -1;
	struct buf b;

	snprintf(path, sizeof(path), "%s/state/scf/rate", t->root);
	buf_init(&b, 0);
	assert_int_equal(buf_read_file(&b, path, NULL), ERR_OK);
	assert_true(strncmp(buf_str(&b), "scfgate-rate 1\n", 15) == 0);
	for (line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *end;
		uint64_t t_ms, e;

		/* "call <ms> <s|e> <ms>", "end <n>" */
		if (num_u64(num_after(line, "call "), 10, &end, &t_ms) == 0 && end[0] == ' ' &&
		    end[1] && end[2] == ' ') {
			assert_true(n < sizeof(ms) / sizeof(ms[0]));
			ms[n++] = t_ms;
			started += end[1] == 's';
		} else if (num_after(line, "end ")) {
			assert_int_equal(num_line_u64(line, "end ", &e), 0);
			ended = (int)e;
		}
	}
	buf_release(&b);
	assert_int_equal(ended, (int)n);
	qsort(ms, n, sizeof(ms[0]), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		size_t k = i;

		while (k < n && ms[k] < ms[i] + window_ms)
			k++;
		assert_true(k - i <= limit);
	}
	return started;
}

/* kill -9 in the middle of a pass; the next runs never exceed the rate:
 * the calls of the killed run (the one in flight too) are on disk. */
static void crash_mid_pass_then_runs(void **u)
{
	const char *args[] = {"--issues",      "0", "--rate-limit",   "5",
	                      "--rate-window", "1", "--rate-sliding", NULL};
	struct tenv_opts o = {0};
	struct tsim s;
	struct tenv t;
	char out[400], errp[400];
	cJSON *keys;
	pid_t pid;

	(void)u;
	o.rate_per_minute = 5;
	o.rate_window = 1;
	o.per_page = 2; /* a pass is 8 calls */
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, &o), 0);
	add_issues(&s, 16);
	snprintf(out, sizeof(out), "%s/once.out", t.dir);
	snprintf(errp, sizeof(errp), "%s/once.err", t.dir);
	for (int round = 0; round < 2; round++) {
		long before = sim_api_requests(&s);

		pid = spawn(&t, "scf", "--once", out, errp);
		/* mid-pass: the window is full and the pass has more to read
		 * (API calls only: counting the polls of the stats too killed
		 * the half before it had made a call) */
		for (int i = 0; i < 5000 && sim_api_requests(&s) < before + 5; i++)
			usleep(2000);
		assert_true(sim_api_requests(&s) >= before + 5);
		kill(pid, SIGKILL);
		assert_int_equal(wait_exit(pid, 5), 128 + SIGKILL);
		/* what the killed run spent is on disk, within the limit */
		window_file_bounded(&t, 5, 1000);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(run_once(&t, 120), 0);
		assert_int_equal(window_file_bounded(&t, 5, 1000), 0);
	}
	assert_int_equal((int)sim_rate(&s, "count_429"), 0);
	keys = tenv_outbound_keys(&t);
	assert_int_equal(tkeys_count(keys, "_n_issue"), 16);
	assert_true(tkeys_all_once(keys));
	cJSON_Delete(keys);
	tenv_free(&t);
	tsim_stop(&s);
}

/* 11 pages with an empty window: no spacing between calls (3 s apart,
 * as before, would take half a minute). */
static void small_pass_runs_at_once(void **u)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "20", NULL};
	struct tenv_opts o = {0};
	struct tsim s;
	struct tenv t;
	double t0;

	(void)u;
	o.rate_per_minute = 20;
	o.per_page = 1;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, &o), 0);
	add_issues(&s, 11);
	t0 = mono();
	assert_int_equal(run_once(&t, 120), 0);
	assert_true(mono() - t0 < 8.0);
	assert_true(sim_requests(&s) >= 11);
	assert_int_equal((int)sim_rate(&s, "count_429"), 0);
	tenv_free(&t);
	tsim_stop(&s);
}

/* A ban (403 "forbidden by administrative rules"): the half stops with
 * an ALERT naming when to retry, `status` shows it, and a run before then
 * stops the same way without calling SCF. */
static void ban_stops_with_alert(void **u)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "2", "--ban-after-429", "1", NULL};
	struct tenv_opts o = {0};
	struct tsim s;
	struct tenv t;
	char out[400], errp[400], sout[400];
	long st, before;
	cJSON *j, *b;

	(void)u;
	o.rate_per_minute = 20;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, &o), 0);
	add_issues(&s, 1);
	/* another client of the same account spends the window and gets a 429 */
	for (int i = 0; i < 3; i++)
		cJSON_Delete(tsim_call(&s, "GET", "/api/v2/organizations/1102/issues", NULL, &st));
	assert_int_equal(st, 429);
	snprintf(out, sizeof(out), "%s/once.out", t.dir);
	snprintf(errp, sizeof(errp), "%s/once.err", t.dir);
	snprintf(sout, sizeof(sout), "%s/status.out", t.dir);
	assert_int_equal(wait_exit(spawn(&t, "scf", "--once", out, errp), 60), 1);
	assert_int_equal((int)sim_rate(&s, "bans"), 1);
	assert_true(file_has(errp, "ALERT"));
	assert_true(file_has(errp, "no call is made before 20"));

	assert_int_equal(wait_exit(spawn(&t, "status", NULL, sout, errp), 30), 1);
	assert_true(file_has(sout, "fatal stop: at "));
	assert_true(file_has(sout, "no call is made before 20"));
	assert_true(file_has(sout, "banned by SeeClickFix; no call before 20"));
	assert_int_equal(wait_exit(spawn(&t, "status", "--json", sout, errp), 30), 1);
	{
		struct buf bb;

		buf_init(&bb, 0);
		assert_int_equal(buf_read_file(&bb, sout, NULL), ERR_OK);
		j = cJSON_Parse(buf_str(&bb));
		buf_release(&bb);
	}
	assert_non_null(j);
	b = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "scf"), "rate_budget"),
	                        "ban_until");
	assert_true(cJSON_IsNumber(b) && b->valuedouble > (double)time(NULL) + 3000);
	cJSON_Delete(j);

	/* the ban is over at SCF (a person asked), but the half keeps its word */
	cJSON_Delete(tsim_call(&s, "POST", "/_admin/rate-limit", "{}", NULL));
	before = sim_fetches(&s);
	assert_int_equal(wait_exit(spawn(&t, "scf", "--once", out, errp), 60), 1);
	assert_int_equal(sim_fetches(&s), before);
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- fairness ---- */

/* A half that knows 40 issues (its pass read them all; one issue an hour
 * later sets the watermark, so an idle pass is then one call: the
 * acknowledged issues come back, 20 to a page) and has an acknowledgment
 * for each waiting in inbound/new. */
static void backlog_env(struct tsim *s, struct tenv *t)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tenv_opts o = {0};
	int64_t ids[40];

	o.poll = 10;
	o.rate_per_minute = 600;
	assert_int_equal(tsim_start(s, args), 0);
	assert_int_equal(tenv_init(t, s, &o), 0);
	for (int i = 0; i < 40; i++)
		assert_true((ids[i] = tsim_add_issue(s, "{\"request_type_id\":9101}")) > 0);
	cJSON_Delete(tsim_call(s, "POST", "/_admin/clock", "{\"advance_seconds\":3600}", NULL));
	assert_true(tsim_add_issue(s, "{\"request_type_id\":9101}") > 0);
	if (run_once(t, 60) != 0) { /* the issues are known */
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "cat %s/once.err >&2", t->dir);
		assert_int_equal(system(cmd), 0);
		fail();
	}
	for (int i = 0; i < 40; i++) {
		char req[32];

		snprintf(req, sizeof(req), "SR-%d", i);
		assert_int_equal(tenv_inbound_ack(t, ids[i], req), 0);
	}
	/* 600 ms a call: the 40 acknowledgments (one call each, the pass
	 * having read the issues) take about 24 s, over twice the poll
	 * interval */
	cJSON_Delete(tsim_call(s, "POST", "/_admin/faults", "{\"latency_ms\":600}", NULL));
}

/* 40 acknowledgments (40 calls, 600 ms each: 24 s): the daemon fetches
 * again one poll interval (10 s) after the first pass, with most of the
 * backlog still waiting, instead of after draining all of it; a --once
 * run stops applying them one poll interval after its pass started.
 * The daemon and the --once run each have their own simulator and spool
 * and run side by side: each waits out its own poll interval, once. */
static void backlog_does_not_hold_fetching(void **u)
{
	struct tsim s, s1;
	struct tenv t, t1;
	char out[400], errp[400], sout[400], out1[400], errp1[400];
	long fetches0, fetches1;
	int waiting = -1, waiting1;
	cJSON *j, *wb;
	pid_t pid, pid1;
	double want;

	(void)u;
	backlog_env(&s, &t);
	backlog_env(&s1, &t1);

	/* status: the backlog and its drain time at the configured rate,
	 * less one fetch call per poll interval */
	snprintf(out, sizeof(out), "%s/daemon.out", t.dir);
	snprintf(errp, sizeof(errp), "%s/daemon.err", t.dir);
	snprintf(sout, sizeof(sout), "%s/status.out", t.dir);
	assert_int_equal(wait_exit(spawn(&t, "status", NULL, sout, errp), 30), 0);
	assert_true(file_has(sout, "write-back backlog: 40 records in inbound/new, about 5s to "
	                           "apply at 600 calls in any 60 s (1 call per record, 2 for an "
	                           "issue no recent pass read)"));
	assert_int_equal(wait_exit(spawn(&t, "status", "--json", sout, errp), 30), 0);
	{
		struct buf bb;

		buf_init(&bb, 0);
		assert_int_equal(buf_read_file(&bb, sout, NULL), ERR_OK);
		j = cJSON_Parse(buf_str(&bb));
		buf_release(&bb);
	}
	assert_non_null(j);
	wb = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "scf"), "writeback_backlog");
	assert_int_equal(cJSON_GetObjectItem(wb, "records")->valueint, 40);
	/* one call each: the pass before the drain read every issue */
	assert_int_equal(cJSON_GetObjectItem(wb, "calls")->valueint, 40);
	want = ceil(40.0 / (600.0 / 60.0 - 1.0 / 10.0));
	assert_int_equal(cJSON_GetObjectItem(wb, "drain_seconds")->valueint, (int)want);
	cJSON_Delete(j);

	/* the daemon on the first, a --once run on the second */
	snprintf(out1, sizeof(out1), "%s/once.out", t1.dir);
	snprintf(errp1, sizeof(errp1), "%s/once.err", t1.dir);
	waiting1 = tenv_count(&t1, "inbound", "new");
	fetches0 = sim_fetches(&s);
	fetches1 = sim_fetches(&s1);
	pid = spawn(&t, "scf", NULL, out, errp);
	pid1 = spawn(&t1, "scf", "--once", out1, errp1);
	for (int i = 0; i < 3000; i++) {
		if (sim_fetches(&s) >= fetches0 + 2) {
			waiting =
			    tenv_count(&t, "inbound", "new") + tenv_count(&t, "inbound", "cur");
			break;
		}
		usleep(10000);
	}
	kill(pid, SIGTERM);
	assert_int_equal(wait_exit(pid, 30), 0);
	/* the second pass came while many acknowledgments still waited */
	assert_true(waiting >= 15);

	/* --once: its pass, then acknowledgments until one poll interval
	 * after the start of the pass; the next run goes on with the rest */
	assert_int_equal(wait_exit(pid1, 60), 0);
	assert_int_equal(sim_fetches(&s1), fetches1 + 1);
	assert_true(tenv_count(&t1, "inbound", "new") > 0);
	assert_true(tenv_count(&t1, "inbound", "new") < waiting1);
	tenv_free(&t1);
	tsim_stop(&s1);
	tenv_free(&t);
	tsim_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(small_pass_runs_at_once),
	    cmocka_unit_test(twenty_runs_no_429),
	    cmocka_unit_test(crash_mid_pass_then_runs),
	    cmocka_unit_test(ban_stops_with_alert),
	    cmocka_unit_test(backlog_does_not_hold_fetching),
	    cmocka_unit_test(twenty_runs_no_429_real_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
