/*
 * scf_crash.c: kill -9 crash loop for the SCF half.
 *
 *   scf_crash [ROUNDS]      (default 25; SCFGATE_CRASH_ROUNDS and
 *                            SCFGATE_CRASH_SEED as in crash_env.h)
 *
 * Each round, scf-sim gets new issues (some with photos) and new resident
 * comments (some with photos) on issues already forwarded, and the test
 * plays the OMS half: it signs an ack for every forwarded issue and a
 * close for some acknowledged ones into the inbound queue.  Then
 * `scfgate scf --once` runs and is killed with SIGKILL (or finishes):
 * every other round at a random moment, the others inside a write-back:
 * scf-sim holds back the reply of each applied write (write_hold_ms) and
 * the half is killed once the run's K-th write is applied and its reply
 * held (at a random moment when the run makes fewer writes).  The test
 * prints how many kills landed inside a write-back and fails when none
 * did.  At the end it runs to completion (clean runs until no inbound
 * record waits, then one more; two at least) and the oracle checks:
 * every issue, comment and attachment is in the outbound spool exactly
 * once, and every ack and close is applied exactly once in scf-sim's
 * state, with nothing in failed/.
 *
 * Each round looks at the outbound spool through a cache that reads only
 * the records committed since the round before, so a round costs the
 * same at round 250 as at round 1; every 25 rounds the test prints the
 * time a round took and checks the cache against a fresh read, and the
 * oracle reads every record afresh.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash_env.h"
#include "test_scf_util.h"

#define MAXI 512

static struct {
	int64_t id[MAXI];
	int photo[MAXI], acked[MAXI], closed[MAXI], commented_round[MAXI];
	int n;
} I;

static uint64_t rng;
static unsigned seed0; /* the run's seed, for the failure message */

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static int fail(const char *what)
{
	fprintf(stderr, "scf_crash: FAIL: %s (SCFGATE_CRASH_SEED=%u repeats it)\n", what, seed0);
	return 1;
}

#define HOLD_MS 20

/* scf-sim holds back the reply of each applied write for ms (0: none). */
static int set_hold(const struct tsim *s, int ms)
{
	char body[64];
	long status = 0;

	snprintf(body, sizeof(body), "{\"write_hold_ms\": %d}", ms);
	cJSON_Delete(tsim_call(s, "POST", "/_admin/faults", body, &status));
	return status == 200 ? 0 : -1;
}

/* scf-sim's count of applied writes and of replies held now (-1: no
 * stats). */
static long sim_writes(const struct tsim *s, long *held)
{
	cJSON *st = tsim_call(s, "GET", "/_admin/stats", NULL, NULL);
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(st, "writes");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(st, "held");
	long n = -1;

	if (cJSON_IsNumber(w) && cJSON_IsNumber(h)) {
		n = (long)w->valuedouble;
		*held = (long)h->valuedouble;
	}
	cJSON_Delete(st);
	return n;
}

/* Run `scfgate scf --once`; kill it after delay_ms unless it ended, or
 * sooner (aim_k > 0) once the run's aim_k-th write is applied and its
 * reply held (*mid then 1). */
static int run_scf(const struct tsim *s, const struct tenv *t, long delay_ms, long aim_k,
                   int *killed, int *mid)
{
	const char *bin = getenv("SCFGATE_BIN");
	char logp[512];
	pid_t pid;
	int st = 0;
	struct timespec start, now;
	long w0 = -1, held0;

	if (aim_k > 0)
		w0 = sim_writes(s, &held0);
	snprintf(logp, sizeof(logp), "%s/scf.log", t->dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		execl(bin, bin, "scf", "--config", t->config, "--once", (char *)NULL);
		_exit(127);
	}
	*killed = 0;
	*mid = 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		long el, held = 0;

		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		el = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (aim_k > 0 && w0 >= 0 && sim_writes(s, &held) >= w0 + aim_k && held > 0)
			*mid = 1;
		if (*mid || (delay_ms >= 0 && el >= delay_ms)) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			*killed = 1;
			return -1;
		}
		if (el > 60000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -2;
		}
		usleep(2000);
	}
}

/* Settling runs at most (each applies at least one waiting record, and
 * under load a hundred or more). */
#define SETTLE_RUNS 30

/* Inbound records not applied yet. */
static int inbound_waiting(const struct tenv *t)
{
	return tenv_count(t, "inbound", "new") + tenv_count(t, "inbound", "cur");
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int forwarded(const cJSON *keys, int64_t id)
{
	char k[64];

	snprintf(k, sizeof(k), "issue/%" PRId64, id);
	return tkeys_count(keys, k) > 0;
}

/* The outbound keys each round reads only the records committed since the
 * last round (a round's cost would otherwise grow with every round before
 * it); the oracle reads every record again, without it. */
static struct tkeys_cache *round_keys;

static void one_round(const struct tsim *s, const struct tenv *t, int round)
{
	cJSON *keys = tenv_outbound_keys_cached(t, round_keys);
	int add = rnd(4);

	for (int i = 0; i < add && I.n < MAXI; i++) {
		int photo = rnd(3) == 0;
		char body[96];

		snprintf(body, sizeof(body), "{\"request_type_id\":%u,\"photo\":%s}", 9101 + rnd(4),
		         photo ? "true" : "false");
		I.id[I.n] = tsim_add_issue(s, body);
		I.photo[I.n] = photo;
		I.n++;
	}
	for (int i = 0; i < I.n; i++) {
		if (I.closed[i] || !forwarded(keys, I.id[i]))
			continue;
		if (rnd(3) == 0) {
			char body[128];

			snprintf(body, sizeof(body),
			         "{\"comment\":\"round %d\",\"kind\":\"resident\",\"photo\":%s}",
			         round, rnd(2) ? "true" : "false");
			tsim_add_comment(s, I.id[i], body);
			I.commented_round[i] = round;
		}
		if (!I.acked[i]) {
			char rid[32];

			snprintf(rid, sizeof(rid), "SR-%" PRId64, I.id[i]);
			if (tenv_inbound_ack(t, I.id[i], rid) == 0)
				I.acked[i] = 1;
		} else if (I.commented_round[i] != round && rnd(4) == 0) {
			char rid[32];

			snprintf(rid, sizeof(rid), "SR-%" PRId64, I.id[i]);
			if (tenv_inbound_close(t, I.id[i], rid, 9101) == 0)
				I.closed[i] = 1;
		}
	}
	cJSON_Delete(keys);
}

static int oracle(const struct tsim *s, const struct tenv *t)
{
	cJSON *keys = tenv_outbound_keys(t);
	cJSON *state = tsim_call(s, "GET", "/_admin/state", NULL, NULL);
	int rc = 0, comments = 0;

	if (!tkeys_all_once(keys))
		rc = fail("a key occurs more than once in the outbound spool");
	for (int i = 0; i < I.n && !rc; i++) {
		const cJSON *is = tsim_issue(state, I.id[i]), *c;
		char k[96];

		snprintf(k, sizeof(k), "issue/%" PRId64, I.id[i]);
		if (tkeys_count(keys, k) != 1)
			rc = fail(k);
		snprintf(k, sizeof(k), "attachment/%" PRId64 "/issue", I.id[i]);
		if (tkeys_count(keys, k) != I.photo[i])
			rc = fail(k);
		if (I.acked[i] && tsim_api_actions(is, "acknowledge", NULL) != 1)
			rc = fail("ack not applied exactly once");
		if (I.closed[i] && tsim_api_actions(is, "close", NULL) != 1)
			rc = fail("close not applied exactly once");
		if (!I.closed[i] && tsim_api_actions(is, "close", NULL) != 0)
			rc = fail("close applied without a record");
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(is, "comments"))
		{
			const char *via = cJSON_GetStringValue(cJSON_GetObjectItem(c, "via"));
			int cid = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "id"));

			if (!via || strcmp(via, "admin") != 0)
				continue;
			comments++;
			snprintf(k, sizeof(k), "comment/%" PRId64 "/%d", I.id[i], cid);
			if (tkeys_count(keys, k) != 1)
				rc = fail(k);
			snprintf(k, sizeof(k), "attachment/%" PRId64 "/%d", I.id[i], cid);
			if (tkeys_count(keys, k) !=
			    (cJSON_IsString(cJSON_GetObjectItem(c, "photo")) ? 1 : 0))
				rc = fail(k);
		}
	}
	if (tenv_count(t, "inbound", "failed") != 0)
		rc = fail("inbound records failed");
	if (tenv_count(t, "inbound", "new") != 0)
		rc = fail("inbound records left in new/");
	printf("scf_crash: %d issues, %d comments, %d outbound records, %d inbound done\n", I.n,
	       comments,
	       tkeys_count(keys, "_n_issue") + tkeys_count(keys, "_n_comment") +
	           tkeys_count(keys, "_n_attachment"),
	       tenv_count(t, "inbound", "done"));
	cJSON_Delete(keys);
	cJSON_Delete(state);
	return rc;
}

int main(int argc, char **argv)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", "--archive-after", "0", NULL};
	int rounds = crash_rounds(argc > 1 ? (int)strtol(argv[1], NULL, 10) : 25), kills = 0, rc;
	int mids = 0;
	long t0 = ms_now(), t_driver = 0, t_block = t0, t_block_driver = 0;
	struct tsim s;
	struct tenv t;

	seed0 = crash_seed("scf_crash");
	rng = seed0;
	printf("scf_crash: %d rounds\n", rounds);
	if (tsim_start(&s, args) != 0 || tenv_init(&t, &s, NULL) != 0)
		return fail("cannot start scf-sim or make the environment");
	if (set_hold(&s, HOLD_MS) != 0)
		return fail("scf-sim refused write_hold_ms");
	if (!(round_keys = tkeys_cache_new()))
		return fail("out of memory");
	for (int r = 1; r <= rounds; r++) {
		int killed, mid;
		long d = ms_now();

		one_round(&s, &t, r);
		d = ms_now() - d;
		t_driver += d;
		t_block_driver += d;
		if (r % 2)
			rc = run_scf(&s, &t, (long)rnd(500), 0, &killed, &mid);
		else
			rc = run_scf(&s, &t, 3000, 1 + (long)rnd(3), &killed, &mid);
		kills += killed;
		mids += mid;
		if (!killed && rc != 0) {
			fprintf(stderr, "scf_crash: round %d: scfgate exited %d (see %s/scf.log)\n",
			        r, rc, t.dir);
			setenv("SCF_TEST_KEEP", "1", 1);
			tsim_stop(&s);
			return 1;
		}
		/* The time a round takes, so a cost that grows with the rounds
		 * shows (the driver's part is mostly its own look at the
		 * spool); and the cache checked against a fresh read (not
		 * counted in the time). */
		if (r % 25 == 0 || r == rounds) {
			int n = r % 25 ? r % 25 : 25;
			cJSON *cached, *fresh;
			int same;

			printf("scf_crash: rounds %d-%d: %ld ms a round (driver %ld ms), %zu "
			       "outbound records read so far\n",
			       r - n + 1, r, (ms_now() - t_block) / n, t_block_driver / n,
			       tkeys_cache_reads(round_keys));
			fflush(stdout);
			cached = tenv_outbound_keys_cached(&t, round_keys);
			fresh = tenv_outbound_keys(&t);
			same = cJSON_Compare(cached, fresh, 1);
			cJSON_Delete(cached);
			cJSON_Delete(fresh);
			if (!same) {
				tsim_stop(&s);
				return fail("the cached outbound keys differ from a fresh read");
			}
			t_block = ms_now();
			t_block_driver = 0;
		}
	}
	printf("scf_crash: %d rounds in %ld s (driver %ld s)\n", rounds, (ms_now() - t0) / 1000,
	       t_driver / 1000);
	/* Settle: clean runs until no inbound record waits, then one more
	 * (it sees the last write-back); two at least.  A --once run's
	 * write-back yields when its next fetch pass is due, one poll
	 * interval after it started, after at least one record: the backlog
	 * the kills left may take several runs under load, each of which
	 * must shrink it. */
	if (set_hold(&s, 0) != 0)
		return fail("scf-sim refused write_hold_ms 0");
	for (int i = 0, waiting = inbound_waiting(&t);; i++) {
		int killed, mid, left;

		if (i == SETTLE_RUNS) {
			tsim_stop(&s);
			return fail("the write-back backlog outlasted the settling runs");
		}
		if ((rc = run_scf(&s, &t, -1, 0, &killed, &mid)) != 0) {
			fprintf(stderr, "scf_crash: final run exited %d (see %s/scf.log)\n", rc,
			        t.dir);
			tsim_stop(&s);
			return 1;
		}
		if (waiting == 0 && i >= 1) {
			printf("scf_crash: settled in %d clean runs\n", i + 1);
			break;
		}
		left = inbound_waiting(&t);
		if (waiting > 0 && left >= waiting) {
			tsim_stop(&s);
			return fail("a settling run applied no inbound record");
		}
		waiting = left;
	}
	printf("scf_crash: %d of %d runs killed, %d of them inside a write-back (a write applied, "
	       "its reply held)\n",
	       kills, rounds, mids);
	rc = oracle(&s, &t);
	if (rounds >= 4 && mids == 0)
		rc = fail("no kill landed inside a write-back");
	if (rc)
		setenv("SCF_TEST_KEEP", "1", 1), fprintf(stderr, "kept %s\n", t.dir);
	tkeys_cache_free(round_keys);
	tenv_free(&t);
	tsim_stop(&s);
	return rc;
}
