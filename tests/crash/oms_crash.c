/*
 * oms_crash.c: kill -9 crash loop for `scfgate oms --once`.
 *
 * Each round commits new signed outbound records (issues, most with a
 * photo, comments, comment photos) with the test SCF key, runs `scfgate oms --once` and
 * SIGKILLs it at a random moment (every fourth round it may finish),
 * then lets a "crew" close some requests in oms-sim.  At the end it runs
 * without kills until the queue is drained and closings are polled, and
 * checks an oracle over oms-sim's dumped state and the inbound queue:
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
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_oms_util.h"

#define MAX_ISSUES 512

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
		is->id = 50000 + nissues;
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

static void oracle(struct omt *t)
{
	cJSON *st = omt_state(t), *att = omt_attachments(st);
	char marker[64], url[128];

	if (!st) {
		CHECK(0, "no state from oms-sim");
		return;
	}
	for (int i = 0; i < nissues; i++) {
		struct issue *is = &issues[i];
		int n = 0;
		cJSON *row = omt_request_for(st, is->id, &n), *a;
		const cJSON *notes = cJSON_GetObjectItemCaseSensitive(row, "CommentsField");
		const cJSON *oid = cJSON_GetObjectItemCaseSensitive(row, "Oid");
		size_t acks = omt_count(t, "inbound", SPOOL_NEW, RECORD_ACK, is->id);
		size_t closes = omt_count(t, "inbound", SPOOL_NEW, RECORD_CLOSE, is->id);
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

int main(int argc, char **argv)
{
	static const char *const args[] = {"--retry-ms", "30", "--concurrency", "4", NULL};
	static const char *const sim_args[] = {"--latency-ms", "3", NULL};
	unsigned seed = 1;
	int rounds = 25, kills = 0;
	struct spool_stats ss;
	struct omt t;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rounds") == 0)
			rounds = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0)
			seed = (unsigned)strtol(argv[i + 1], NULL, 10);
	}
	if (omt_setup(&t, sim_args, NULL) != 0) {
		fprintf(stderr, "oms_crash: set-up failed\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		long kill_ms = (r % 4 == 3) ? 0 : 20 + rand_r(&seed) % 400;
		int rc;
		feed(&t, &seed);
		rc = omt_run(&t, kill_ms, args);
		if (rc == 128 + 9)
			kills++;
		else
			CHECK(rc == 0, "round %d: exit %d", r, rc);
		crew_closes(&t, &seed);
	}
	/* Settle: no more kills, until drained and every closing polled. */
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
	printf("oms_crash: %d rounds, %d killed, %d issues, %s\n", rounds, kills, nissues,
	       failures ? "FAILED" : "oracle holds");
	if (failures)
		fprintf(stderr, "oms_crash: state kept in %s\n", t.dir);
	else
		omt_teardown(&t);
	return failures ? 1 : 0;
}
