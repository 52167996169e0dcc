/*
 * oms_crash.c: kill -9 crash loop for `scfgate oms --once`.
 *
 * Each round commits new signed outbound records (issues, most with a
 * photo, comments, comment photos) with the test SCF key, runs `scfgate
 * oms --once` and SIGKILLs it inside an effect (every fourth round it may
 * finish), then lets a "crew" close some requests in oms-sim.
 *
 * Inside an effect: oms-sim holds back the reply of every write it has
 * applied for HOLD_MS (write_hold_ms, docs/simulators.md), and the test
 * watches its stats; once the round's K-th write (K random, 2 to 8) is
 * applied and its reply is still held, the half is killed: the request
 * was sent and Cartegraph changed, but the half never learnt the result,
 * let alone committed the ack or noted the Oid.  A kill at a random time
 * instead mostly lands between requests or after the run (23 of 250
 * rounds killed the half before).  The test prints how many rounds were
 * killed that way and fails when they are fewer than half of the rounds
 * that were to be killed.
 *
 * At the end it runs without kills until the queue is drained and
 * closings are polled, and checks an oracle over oms-sim's dumped state and the inbound queue:
 *   - exactly one Cartegraph request per SCF issue;
 *   - every comment exactly once in its request's CommentsField (the
 *     default comment route);
 *   - every photo exactly once as a linked attachment of its request, and
 *     none on the request itself (the simulator's class has no photo
 *     fields);
 *   - exactly one ack per issue;
 *   - exactly one close record per closed request, none for open ones.
 * Exit 0 when the oracle holds; 1 with the first violation otherwise.
 *
 * usage: oms_crash [--rounds N] [--seed N]
 *        (default 25 rounds, the seed from crash_env.h: SCFGATE_CRASH_ROUNDS
 *        and SCFGATE_CRASH_SEED)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "crash_env.h"
#include "test_oms_util.h"

#define HOLD_MS 20

#define MAX_ISSUES 512
#define ISSUE_BASE 50000 /* issue k (1, 2, ...) is ISSUE_BASE + k */

struct issue {
	int64_t id;
	int ncomments;
	int closed; /* closed by the crew in oms-sim */
	int photo;  /* the issue has a photo of its own */
};

static struct issue issues[MAX_ISSUES];
static int nissues;
static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "oms_crash: ");                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static void feed(struct omt *t, unsigned *seed)
{
	char cid[48], url[128];

	for (int k = 0; k < 3 && nissues < MAX_ISSUES; k++) {
		struct issue *is = &issues[nissues++];
		is->id = ISSUE_BASE + nissues;
		/* Most reports carry a photo, committed after the issue as the
		 * SCF half does. */
		is->photo = nissues % 4 != 0;
		snprintf(url, sizeof(url), "https://seeclickfix.com/files/i%" PRId64 ".jpg",
		         is->id);
		omt_issue(t, is->id, nissues % 2 ? 122 : 5763, "Crash loop <b>issue</b>",
		          is->photo ? url : NULL);
		if (is->photo)
			omt_attachment(t, is->id, NULL, url);
	}
	for (int k = 0; k < 6; k++) {
		struct issue *is = &issues[rand_r(seed) % nissues];
		if (is->closed)
			continue;
		snprintf(cid, sizeof(cid), "%" PRId64 "%03d", is->id, is->ncomments);
		omt_comment(t, is->id, cid, "A comment from the loop");
		snprintf(url, sizeof(url), "https://seeclickfix.com/files/%s.jpg", cid);
		omt_attachment(t, is->id, cid, url);
		is->ncomments++;
	}
}

static void crew_closes(struct omt *t, unsigned *seed)
{
	cJSON *st = omt_state(t);

	if (!st)
		return;
	for (int k = 0; k < 2; k++) {
		struct issue *is = &issues[rand_r(seed) % nissues];
		int n = 0;
		cJSON *row = omt_request_for(st, is->id, &n);
		const cJSON *oid = cJSON_GetObjectItemCaseSensitive(row, "Oid");
		if (!is->closed && cJSON_IsNumber(oid) &&
		    omt_close(t, (int64_t)oid->valuedouble) == 0)
			is->closed = 1;
	}
	cJSON_Delete(st);
}

/* The ack and close records in inbound/new/ per issue, each file read
 * and verified once: a walk of the queue for each issue (omt_count) cost
 * issues x records, minutes at 250 rounds. */
static struct {
	struct omt *t;
	size_t acks[MAX_ISSUES], closes[MAX_ISSUES];
} tally;

static int tally_one(const struct spool_entry *ent, void *ctx)
{
	char path[SPOOL_PATH_MAX];
	struct record *r = NULL;
	int verified = 0;
	int64_t k = -1;

	(void)ctx;
	if (spool_path(path, tally.t->root, "inbound", SPOOL_NEW, ent->name, NULL) != ERR_OK ||
	    spool_read_record(path, tally.t->oms_pub, &r, &verified, NULL) != ERR_OK)
		return 0;
	if (r->kind == RECORD_ACK)
		k = r->u.ack.issue_id - ISSUE_BASE - 1;
	else if (r->kind == RECORD_CLOSE)
		k = r->u.close.issue_id - ISSUE_BASE - 1;
	if (k >= 0 && k < MAX_ISSUES) {
		if (r->kind == RECORD_ACK)
			tally.acks[k]++;
		else
			tally.closes[k]++;
	}
	record_free(r);
	return 0;
}

static void oracle(struct omt *t)
{
	cJSON *st = omt_state(t), *att = omt_attachments(st);
	char marker[64], url[128];

	if (!st) {
		CHECK(0, "no state from oms-sim");
		return;
	}
	tally.t = t;
	spool_list(t->root, "inbound", SPOOL_NEW, tally_one, NULL, NULL);
	for (int i = 0; i < nissues; i++) {
		struct issue *is = &issues[i];
		int n = 0;
		cJSON *row = omt_request_for(st, is->id, &n), *a;
		const cJSON *notes = cJSON_GetObjectItemCaseSensitive(row, "CommentsField");
		const cJSON *oid = cJSON_GetObjectItemCaseSensitive(row, "Oid");
		size_t acks = tally.acks[i], closes = tally.closes[i];
		CHECK(n == 1, "issue %" PRId64 ": %d requests", is->id, n);
		CHECK(acks == 1, "issue %" PRId64 ": %zu acks", is->id, acks);
		CHECK(closes == (size_t)is->closed,
		      "issue %" PRId64 ": %zu close records (closed=%d)", is->id, closes,
		      is->closed);
		CHECK(!cJSON_GetObjectItemCaseSensitive(row, "AttachmentField"),
		      "issue %" PRId64 ": the request has an AttachmentField", is->id);
		if (is->photo && row) {
			size_t seen = 0, linked = 0;

			snprintf(url, sizeof(url), "https://seeclickfix.com/files/i%" PRId64 ".jpg",
			         is->id);
			cJSON_ArrayForEach(a, att)
			{
				const cJSON *p = cJSON_GetObjectItemCaseSensitive(a, "_parent");
				const cJSON *u =
				    cJSON_GetObjectItemCaseSensitive(a, "AttachmentField");
				if (cJSON_IsNumber(p) && cJSON_IsNumber(oid) &&
				    p->valuedouble == oid->valuedouble && cJSON_IsString(u) &&
				    strcmp(u->valuestring, url) == 0) {
					seen++;
					linked += cJSON_IsTrue(
					    cJSON_GetObjectItemCaseSensitive(a, "LinkedField"));
				}
			}
			CHECK(seen == 1 && linked == 1,
			      "issue %" PRId64 ": its photo is %zu attachments (%zu linked)",
			      is->id, seen, linked);
		}
		for (int c = 0; c < is->ncomments && row; c++) {
			size_t seen = 0;
			snprintf(marker, sizeof(marker), "[scf-comment %" PRId64 "%03d]", is->id,
			         c);
			snprintf(url, sizeof(url),
			         "https://seeclickfix.com/files/%" PRId64 "%03d.jpg", is->id, c);
			CHECK(cJSON_IsString(notes) &&
			          omt_occurrences(notes->valuestring, marker) == 1,
			      "issue %" PRId64 ": note %s not exactly once", is->id, marker);
			cJSON_ArrayForEach(a, att)
			{
				const cJSON *p = cJSON_GetObjectItemCaseSensitive(a, "_parent");
				const cJSON *u =
				    cJSON_GetObjectItemCaseSensitive(a, "AttachmentField");
				if (cJSON_IsNumber(p) && cJSON_IsNumber(oid) &&
				    p->valuedouble == oid->valuedouble && cJSON_IsString(u) &&
				    strcmp(u->valuestring, url) == 0)
					seen++;
			}
			CHECK(seen == 1, "issue %" PRId64 ": attachment %s seen %zu times", is->id,
			      url, seen);
		}
	}
	cJSON_Delete(st);
}

/* oms-sim holds the reply of each applied write back for ms (0: none). */
static int set_hold(struct omt *t, int ms)
{
	char url[128], body[64];
	long status = 0;
	cJSON *reply;

	snprintf(url, sizeof(url), "%s/_admin/faults", t->sim.base);
	snprintf(body, sizeof(body), "{\"write_hold_ms\": %d}", ms);
	reply = http_json("POST", url, NULL, body, &status);
	cJSON_Delete(reply);
	return status == 200 ? 0 : -1;
}

/* oms-sim's count of applied writes and of replies held now; -1 when
 * the stats cannot be read. */
static long sim_writes(struct omt *t, long *held)
{
	char url[128];
	cJSON *st;
	const cJSON *w, *h;
	long n = -1;

	snprintf(url, sizeof(url), "%s/_admin/stats", t->sim.base);
	st = http_json("GET", url, NULL, NULL, NULL);
	w = cJSON_GetObjectItemCaseSensitive(st, "writes");
	h = cJSON_GetObjectItemCaseSensitive(st, "held");
	if (cJSON_IsNumber(w) && cJSON_IsNumber(h)) {
		n = (long)w->valuedouble;
		*held = (long)h->valuedouble;
	}
	cJSON_Delete(st);
	return n;
}

/* Run the half once and kill it while the k-th write of the run is
 * applied and its reply held.  Returns the exit status as omt_run;
 * *mid 1 when the kill landed so. */
static int run_kill_mid_effect(struct omt *t, const char *const args[], long k, int *mid)
{
	long w0, held = 0, w;
	struct timespec nap = {0, 2L * 1000 * 1000}; /* 2 ms between looks */
	pid_t pid;
	int status;

	*mid = 0;
	w0 = sim_writes(t, &held);
	pid = omt_start(t, args);
	if (pid < 0 || w0 < 0)
		return omt_wait(pid, 1);
	/* Ten seconds at most: a run that hangs is killed anyway. */
	for (int i = 0; i < 5000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
		w = sim_writes(t, &held);
		if (w >= w0 + k && held > 0) {
			*mid = 1;
			break;
		}
		nanosleep(&nap, NULL);
	}
	return omt_wait(pid, 1);
}

int main(int argc, char **argv)
{
	static const char *const args[] = {"--retry-ms", "30", "--concurrency", "4", NULL};
	static const char *const sim_args[] = {"--latency-ms", "3", NULL};
	unsigned seed = 0;
	int rounds = 25, kills = 0, mids = 0, aimed = 0;
	struct spool_stats ss;
	struct omt t;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rounds") == 0)
			rounds = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0)
			setenv("SCFGATE_CRASH_SEED", argv[i + 1], 1);
	}
	rounds = crash_rounds(rounds);
	seed = crash_seed("oms_crash");
	if (omt_setup(&t, sim_args, NULL) != 0) {
		fprintf(stderr, "oms_crash: set-up failed\n");
		return 1;
	}
	if (set_hold(&t, HOLD_MS) != 0) {
		fprintf(stderr, "oms_crash: oms-sim refused write_hold_ms\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		int rc, mid = 0;
		feed(&t, &seed);
		if (r % 4 == 3) {
			/* Runs to the end, at full speed. */
			CHECK(set_hold(&t, 0) == 0, "oms-sim refused write_hold_ms 0");
			rc = omt_run(&t, 0, args);
			CHECK(set_hold(&t, HOLD_MS) == 0, "oms-sim refused write_hold_ms");
		} else {
			/* The second to the eighth write of the run: never
			 * only the first, so that a kill also lands after
			 * writes that were answered. */
			aimed++;
			rc = run_kill_mid_effect(&t, args, 2 + (long)(rand_r(&seed) % 7), &mid);
			mids += mid;
		}
		if (rc == 128 + 9)
			kills++;
		else
			CHECK(rc == 0, "round %d: exit %d", r, rc);
		crew_closes(&t, &seed);
	}
	/* Settle: no more kills, until drained and every closing polled;
	 * no reply held back either. */
	CHECK(set_hold(&t, 0) == 0, "oms-sim refused write_hold_ms 0");
	for (int i = 0; i < 10; i++) {
		CHECK(omt_run(&t, 0, args) == 0, "settle run %d failed", i);
		if (spool_stats(t.root, "outbound", 0, &ss, NULL) == ERR_OK &&
		    ss.count[SPOOL_NEW] == 0 && ss.count[SPOOL_CUR] == 0 && i >= 1)
			break;
	}
	CHECK(spool_stats(t.root, "outbound", 0, &ss, NULL) == ERR_OK && ss.count[SPOOL_NEW] == 0 &&
	          ss.count[SPOOL_FAILED] == 0 && ss.count[SPOOL_HOLD] == 0,
	      "outbound not drained cleanly: new=%zu failed=%zu hold=%zu", ss.count[SPOOL_NEW],
	      ss.count[SPOOL_FAILED], ss.count[SPOOL_HOLD]);
	oracle(&t);
	CHECK(mids * 2 >= aimed, "only %d of %d kills landed inside an effect", mids, aimed);
	printf("oms_crash: %d rounds, %d killed, %d of them inside an effect (a write applied, its "
	       "reply held), %d issues, %s\n",
	       rounds, kills, mids, nissues, failures ? "FAILED" : "oracle holds");
	if (failures) {
		/* The files stay for a look; the simulator must not. */
		simproc_stop(&t.sim);
		fprintf(stderr, "oms_crash: state kept in %s\n", t.dir);
	} else
		omt_teardown(&t);
	return failures ? 1 : 0;
}
