/*
 * scf_crash.c: kill -9 crash loop for the SCF half.
 *
 *   scf_crash [ROUNDS]      (SCF_CRASH_SEED=N to repeat a run)
 *
 * Each round, scf-sim gets new issues (some with photos) and new resident
 * comments (some with photos) on issues already forwarded, and the test
 * plays the OMS half: it signs an ack for every forwarded issue and a
 * close for some acknowledged ones into the inbound queue.  Then
 * `scfgate scf --once` runs and is killed with SIGKILL at a random moment
 * (or finishes).  At the end it runs to completion and the oracle checks:
 * every issue, comment and attachment is in the outbound spool exactly
 * once, and every ack and close is applied exactly once in scf-sim's
 * state, with nothing in failed/.
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

#include "test_scf_util.h"

#define MAXI 512

static struct {
	int64_t id[MAXI];
	int photo[MAXI], acked[MAXI], closed[MAXI], commented_round[MAXI];
	int n;
} I;

static uint64_t rng;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static int fail(const char *what)
{
	fprintf(stderr, "scf_crash: FAIL: %s (seed %" PRIu64 ")\n", what, rng);
	return 1;
}

/* Run `scfgate scf --once`; kill it after delay_ms unless it ended. */
static int run_scf(const struct tenv *t, long delay_ms, int *killed)
{
	const char *bin = getenv("SCFGATE_BIN");
	char logp[512];
	pid_t pid;
	int st = 0;
	struct timespec start, now;

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
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		long el;

		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		el = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (delay_ms >= 0 && el >= delay_ms) {
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

static int forwarded(const cJSON *keys, int64_t id)
{
	char k[64];

	snprintf(k, sizeof(k), "issue/%" PRId64, id);
	return tkeys_count(keys, k) > 0;
}

static void one_round(const struct tsim *s, const struct tenv *t, int round)
{
	cJSON *keys = tenv_outbound_keys(t);
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
	int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 25, kills = 0, rc;
	struct tsim s;
	struct tenv t;
	const char *seed = getenv("SCF_CRASH_SEED");

	rng = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	if (!rng)
		rng = 1;
	printf("scf_crash: seed %" PRIu64 ", %d rounds\n", rng, rounds);
	if (tsim_start(&s, args) != 0 || tenv_init(&t, &s, NULL) != 0)
		return fail("cannot start scf-sim or make the environment");
	for (int r = 1; r <= rounds; r++) {
		int killed;

		one_round(&s, &t, r);
		rc = run_scf(&t, (long)rnd(500), &killed);
		kills += killed;
		if (!killed && rc != 0) {
			fprintf(stderr, "scf_crash: round %d: scfgate exited %d (see %s/scf.log)\n",
			        r, rc, t.dir);
			setenv("SCF_TEST_KEEP", "1", 1);
			tsim_stop(&s);
			return 1;
		}
	}
	/* Settle: two clean runs (the second sees the first's write-back). */
	for (int i = 0; i < 2; i++) {
		int killed;

		if ((rc = run_scf(&t, -1, &killed)) != 0) {
			fprintf(stderr, "scf_crash: final run exited %d (see %s/scf.log)\n", rc,
			        t.dir);
			tsim_stop(&s);
			return 1;
		}
	}
	printf("scf_crash: %d of %d runs killed\n", kills, rounds);
	rc = oracle(&s, &t);
	if (rc)
		setenv("SCF_TEST_KEEP", "1", 1), fprintf(stderr, "kept %s\n", t.dir);
	tenv_free(&t);
	tsim_stop(&s);
	return rc;
}
