/*
 * test_oms.c: `scfgate oms` against the real oms-sim process: forward,
 * ack, comments, attachments, in-doubt creates, poll and close, replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "oms.h"
#include "test_oms_util.h"

static int64_t oid_of(cJSON *row)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "Oid");

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static const char *text_of(cJSON *row, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* issue -> request with the field map, ack; comment -> note; attachment
 * -> child; a second run changes nothing. */
static void test_forward_paths(void **state)
{
	struct omt t;
	cJSON *st, *row, *att, *a;
	int n = 0, atts = 0;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	assert_true(omt_issue(&t, 1001, 122, "Deep hole <script>alert(1)</script> &#60;",
	                      "https://seeclickfix.com/files/1001.jpg") > 0);
	/* the SCF half commits the issue's photo as its own record */
	assert_true(omt_attachment(&t, 1001, NULL, "https://seeclickfix.com/files/1001.jpg") > 0);
	assert_true(omt_comment(&t, 1001, "5001", "Still there") > 0);
	assert_true(omt_attachment(&t, 1001, "5001", "https://seeclickfix.com/files/c5001.jpg") >
	            0);
	assert_true(omt_issue(&t, 1002, 5763, "Light out", NULL) > 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);

	st = omt_state(&t);
	assert_non_null(st);
	row = omt_request_for(st, 1001, &n);
	assert_int_equal(n, 1);
	assert_string_equal(text_of(row, "RequesterField"), "SeeClickFix");
	assert_string_equal(text_of(row, "IssueField"), "Pothole");
	assert_null(cJSON_GetObjectItemCaseSensitive(row, "AttachmentField"));
	assert_non_null(strstr(text_of(row, "DescriptionField"), "Deep hole"));
	/* escaped, not dropped */
	assert_null(strstr(text_of(row, "DescriptionField"), "<script"));
	assert_non_null(strstr(text_of(row, "DescriptionField"), "alert(1)"));
	/* The default comment route: the gateway's own field, not the notes. */
	assert_null(text_of(row, "NotesField"));
	assert_non_null(text_of(row, "CommentsField"));
	assert_int_equal(omt_occurrences(text_of(row, "CommentsField"), "[scf-comment 5001]"), 1);
	att = omt_attachments(st);
	cJSON_ArrayForEach(a, att)
	{
		if (text_of(a, "AttachmentField") &&
		    (strcmp(text_of(a, "AttachmentField"),
		            "https://seeclickfix.com/files/c5001.jpg") == 0 ||
		     strcmp(text_of(a, "AttachmentField"),
		            "https://seeclickfix.com/files/1001.jpg") == 0))
			atts++;
	}
	assert_int_equal(atts, 2);
	omt_request_for(st, 1002, &n);
	assert_int_equal(n, 1);
	cJSON_Delete(st);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 1001), 1);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 1002), 1);
	assert_int_equal(omt_count(&t, "outbound", SPOOL_DONE, RECORD_ISSUE, 0), 2);
	assert_true(omt_log_has(&t, "effect=create issue=1001"));
	assert_true(omt_log_has(&t, "effect=note issue=1001"));
	assert_true(omt_log_has(&t, "effect=attachment issue=1001"));

	/* Nothing new: a second pass leaves Cartegraph alone. */
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	st = omt_state(&t);
	assert_int_equal(cJSON_GetArraySize(omt_requests(st)), 2);
	assert_int_equal(cJSON_GetArraySize(omt_attachments(st)), 2);
	cJSON_Delete(st);
	omt_teardown(&t);
}

/* The attachment children of a request with url, and how many rows of
 * them have LinkedField true. */
static int children_with(cJSON *st, int64_t oid, const char *url, int *linked)
{
	cJSON *a;
	int n = 0;

	*linked = 0;
	cJSON_ArrayForEach(a, omt_attachments(st))
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(a, "_parent");

		if (!cJSON_IsNumber(p) || (int64_t)p->valuedouble != oid ||
		    !text_of(a, "AttachmentField") ||
		    strcmp(text_of(a, "AttachmentField"), url) != 0)
			continue;
		n++;
		*linked += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "LinkedField"));
	}
	return n;
}

static void replay_all(struct omt *t, size_t want)
{
	struct cfg *c = NULL;
	struct err e;
	size_t nrep = 0;

	err_clear(&e);
	assert_int_equal(cfg_load_file(t->config, &c, &e), ERR_OK);
	assert_int_equal(oms_replay(c, NULL, &nrep, &e), ERR_OK);
	assert_int_equal(nrep, want);
	cfg_free(c);
}

/* Against a strict Cartegraph (no photo fields on the request class) an
 * issue with a photo is created without them, and the photo becomes
 * exactly one linked child record: also when the POST of the child took
 * effect but its answer was lost, and on a replay. */
static void test_photo_child_record(void **state)
{
	static const char *const u1 = "https://seeclickfix.com/files/1101.jpg";
	static const char *const u2 = "https://seeclickfix.com/files/1102.jpg";
	struct omt t;
	struct spool_stats ss;
	cJSON *st, *row;
	int n = 0, linked = 0;
	int64_t oid1, oid2;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 1101, 122, "Hole with a photo", u1);
	omt_attachment(&t, 1101, NULL, u1);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 1101), 1);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &ss, NULL), ERR_OK);
	assert_int_equal(ss.count[SPOOL_FAILED], 0);
	assert_int_equal(ss.count[SPOOL_HOLD], 0);
	st = omt_state(&t);
	row = omt_request_for(st, 1101, &n);
	assert_int_equal(n, 1);
	assert_null(cJSON_GetObjectItemCaseSensitive(row, "AttachmentField"));
	assert_null(cJSON_GetObjectItemCaseSensitive(row, "LinkedField"));
	oid1 = oid_of(row);
	assert_int_equal(children_with(st, oid1, u1, &linked), 1);
	assert_int_equal(linked, 1);
	cJSON_Delete(st);

	/* The child's POST takes effect, then the connection drops (the list
	 * before it goes through): the retry finds the child. */
	omt_issue(&t, 1102, 122, "Another hole", u2);
	omt_attachment(&t, 1102, NULL, u2);
	assert_int_equal(omt_faults(&t, "{\"after_apply\":true,\"fail_next\":{\"count\":1,"
	                                "\"skip\":1,\"kind\":\"drop\"},\"path_prefix\":"
	                                "\"/api/v1/classes/cgRequestsClass/\"}"),
	                 0);
	assert_int_equal(omt_run(&t, 0, (const char *const[]){"--retry-ms", "20", NULL}), 0);
	assert_true(omt_log_has(&t, "reason=attachment-present"));
	st = omt_state(&t);
	oid2 = oid_of(omt_request_for(st, 1102, &n));
	assert_int_equal(children_with(st, oid2, u2, &linked), 1);
	assert_int_equal(linked, 1);
	cJSON_Delete(st);
	assert_int_equal(omt_count(&t, "outbound", SPOOL_DONE, RECORD_ATTACHMENT, 0), 2);

	/* A replay of everything changes nothing. */
	replay_all(&t, 4);
	st = omt_state(&t);
	assert_int_equal(cJSON_GetArraySize(omt_requests(st)), 2);
	assert_int_equal(cJSON_GetArraySize(omt_attachments(st)), 2);
	assert_int_equal(children_with(st, oid1, u1, &linked), 1);
	assert_int_equal(children_with(st, oid2, u2, &linked), 1);
	cJSON_Delete(st);
	omt_teardown(&t);
}

/* A crew closed the request before its photo arrived (after a crash, a
 * close can overtake it): the photo is still attached, the comment's note
 * is not written into the closed request. */
static void test_photo_after_close(void **state)
{
	static const char *const u = "https://seeclickfix.com/files/1401.jpg";
	struct omt t;
	cJSON *st, *row;
	int n = 0, linked = 0;
	int64_t oid;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 1401, 122, "Hole", u);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	st = omt_state(&t);
	oid = oid_of(omt_request_for(st, 1401, &n));
	cJSON_Delete(st);
	assert_int_equal(omt_close(&t, oid), 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 1401), 1);
	omt_attachment(&t, 1401, NULL, u);
	omt_comment(&t, 1401, "8001", "too late");
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	st = omt_state(&t);
	row = omt_request_for(st, 1401, &n);
	assert_int_equal(children_with(st, oid, u, &linked), 1);
	assert_int_equal(linked, 1);
	assert_null(text_of(row, "NotesField"));
	cJSON_Delete(st);
	assert_int_equal(omt_count(&t, "outbound", SPOOL_DONE, RECORD_ATTACHMENT, 1401), 1);
	omt_teardown(&t);
}

/* <requestPhoto/> for a request class that really has the fields: the URL
 * and true are set on the request as well, and the child is still made. */
static void test_request_photo_fields(void **state)
{
	static const char *const sim[] = {
	    "--extra-fields", "SCFIssueIDField,AttachmentField:String,LinkedField:Boolean", NULL};
	static const char *const u = "https://seeclickfix.com/files/1301.jpg";
	struct omt t;
	cJSON *st, *row;
	int n = 0, linked = 0;

	(void)state;
	assert_int_equal(omt_setup_fields(&t, sim, NULL, "<requestPhoto/>"), 0);
	omt_issue(&t, 1301, 122, "Hole", u);
	omt_attachment(&t, 1301, NULL, u);
	omt_issue(&t, 1302, 122, "No photo", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	st = omt_state(&t);
	row = omt_request_for(st, 1301, &n);
	assert_int_equal(n, 1);
	assert_string_equal(text_of(row, "AttachmentField"), u);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "LinkedField")));
	assert_int_equal(children_with(st, oid_of(row), u, &linked), 1);
	assert_int_equal(linked, 1);
	row = omt_request_for(st, 1302, &n);
	assert_int_equal(n, 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(row, "AttachmentField")));
	cJSON_Delete(st);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 0), 2);
	omt_teardown(&t);
}

/* A photo that cannot be attached fails on its own: the request exists,
 * the resident is acknowledged, and the issue's comments before and after
 * the failure reach the request; nothing is held. */
static void test_failed_attachment_does_not_block(void **state)
{
	struct omt t;
	struct spool_stats ss;
	cJSON *st, *row;
	int n = 0;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 1201, 122, "Hole", "https://seeclickfix.com/files/1201.jpg");
	omt_attachment(&t, 1201, NULL, "https://seeclickfix.com/files/1201.jpg");
	omt_comment(&t, 1201, "7001", "behind the photo");
	/* Every call on the request's children is refused (400): permanent. */
	assert_int_equal(omt_faults(&t, "{\"fail_next\":{\"count\":100,\"kind\":\"error\","
	                                "\"status\":400},\"path_prefix\":"
	                                "\"/api/v1/classes/cgRequestsClass/\"}"),
	                 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "outbound", SPOOL_FAILED, RECORD_ATTACHMENT, 1201), 1);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 1201), 1);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &ss, NULL), ERR_OK);
	assert_int_equal(ss.count[SPOOL_HOLD], 0);
	assert_int_equal(ss.count[SPOOL_FAILED], 1);
	assert_int_equal(omt_count(&t, "outbound", SPOOL_DONE, RECORD_COMMENT, 1201), 1);

	/* A later comment of the same issue is not held either. */
	omt_comment(&t, 1201, "7002", "after the failure");
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &ss, NULL), ERR_OK);
	assert_int_equal(ss.count[SPOOL_HOLD], 0);
	assert_int_equal(omt_count(&t, "outbound", SPOOL_DONE, RECORD_COMMENT, 1201), 2);
	st = omt_state(&t);
	row = omt_request_for(st, 1201, &n);
	assert_int_equal(n, 1);
	assert_int_equal(omt_occurrences(text_of(row, "CommentsField"), "[scf-comment 7001]"), 1);
	assert_int_equal(omt_occurrences(text_of(row, "CommentsField"), "[scf-comment 7002]"), 1);
	assert_int_equal(cJSON_GetArraySize(omt_attachments(st)), 0);
	cJSON_Delete(st);
	omt_teardown(&t);
}

/*
 * Every record is read, gated, parsed and its signature verified once:
 * the window reads records ahead through the consumer, and their claims
 * take the verified records instead of verifying again (the half made
 * about two signature checks per record before).
 */
static void test_verified_once(void **state)
{
	enum { ISSUES = 12, COMMENTS = 2 };
	char cmd[1024], out[4096];
	const cJSON *v;
	struct omt t;
	cJSON *j;
	size_t n;
	FILE *p;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	for (int i = 0; i < ISSUES; i++) {
		char cid[16];
		omt_issue(&t, 1500 + i, 122, "Hole", NULL);
		for (int k = 0; k < COMMENTS; k++) {
			snprintf(cid, sizeof(cid), "%d", 8000 + i * COMMENTS + k);
			omt_comment(&t, 1500 + i, cid, "more");
		}
	}
	snprintf(cmd, sizeof(cmd), "'%s' oms --config '%s' --once --json 2>>'%s'",
	         sim_bin("SCFGATE_BIN"), t.config, t.log);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	j = cJSON_Parse(out);
	assert_non_null(j);
	v = cJSON_GetObjectItemCaseSensitive(j, "applied");
	assert_true(cJSON_IsNumber(v) && v->valueint == ISSUES * (1 + COMMENTS));
	v = cJSON_GetObjectItemCaseSensitive(j, "signature_checks");
	if (!cJSON_IsNumber(v) || v->valueint != ISSUES * (1 + COMMENTS))
		fail_msg("%d records, signature checks: %s", ISSUES * (1 + COMMENTS), out);
	cJSON_Delete(j);
	omt_teardown(&t);
}

/* A note someone wrote in Cartegraph before the comments came is kept
 * and a repeated comment (same marker) is recognised, whether the
 * comments go to the gateway's own field (default) or to the notes. */
static void notes_kept(const char *cg_extra, const char *field)
{
	struct omt t;
	cJSON *st, *row;
	const char *text;
	int n;
	int64_t oid;

	assert_int_equal(omt_setup(&t, NULL, cg_extra), 0);
	omt_issue(&t, 2001, 122, "Hole", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	st = omt_state(&t);
	oid = oid_of(omt_request_for(st, 2001, &n));
	cJSON_Delete(st);
	assert_true(oid > 0);
	assert_int_equal(omt_note(&t, oid, "Crew: cone placed"), 0);
	omt_comment(&t, 2001, "6001", "first");
	omt_comment(&t, 2001, "6001", "first");
	omt_comment(&t, 2001, "6002", "second");
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	st = omt_state(&t);
	row = omt_request_for(st, 2001, &n);
	assert_non_null(strstr(text_of(row, "NotesField"), "Crew: cone placed"));
	text = text_of(row, field);
	assert_non_null(text);
	assert_int_equal(omt_occurrences(text, "[scf-comment 6001]"), 1);
	assert_int_equal(omt_occurrences(text, "[scf-comment 6002]"), 1);
	assert_true(strstr(text, "6001") < strstr(text, "6002"));
	cJSON_Delete(st);
	omt_teardown(&t);
}

static void test_notes_read_modify_write(void **state)
{
	(void)state;
	notes_kept(NULL, "CommentsField");
	notes_kept("<comments route=\"notes\"/>", "NotesField");
}

/* Closed in Cartegraph -> one close record, then never again. */
static void test_poll_close(void **state)
{
	struct omt t;
	cJSON *st;
	int n;
	int64_t oid;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 3001, 122, "Hole", NULL);
	omt_issue(&t, 3002, 122, "Hole 2", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 0), 0);
	st = omt_state(&t);
	oid = oid_of(omt_request_for(st, 3001, &n));
	cJSON_Delete(st);
	assert_int_equal(omt_close(&t, oid), 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 3001), 1);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 3002), 0);
	assert_true(omt_log_has(&t, "effect=close issue=3001"));
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 3001), 1);
	omt_teardown(&t);
}

/* A create that happened but whose ack was lost (state wiped) is found
 * by its external id instead of being created again. */
static void test_in_doubt_create(void **state)
{
	struct omt t;
	char cmd[600];
	cJSON *st;
	int n;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 4001, 122, "Hole", NULL);
	/* The POST takes effect, then the connection drops: in doubt. */
	assert_int_equal(omt_faults(&t, "{\"after_apply\":true,\"fail_next\":{\"count\":1,"
	                                "\"kind\":\"drop\"},\"path_prefix\":\"/api/v1/classes\"}"),
	                 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	st = omt_state(&t);
	omt_request_for(st, 4001, &n);
	cJSON_Delete(st);
	assert_int_equal(n, 1);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 4001), 1);

	/* Replay after the tracked state is lost: looked up, not re-created. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/state/oms'", t.root);
	assert_int_equal(system(cmd), 0);
	{
		struct cfg *c = NULL;
		struct err e;
		size_t nrep = 0;
		err_clear(&e);
		assert_int_equal(cfg_load_file(t.config, &c, &e), ERR_OK);
		assert_int_equal(oms_replay(c, NULL, &nrep, &e), ERR_OK);
		assert_int_equal(nrep, 1);
		cfg_free(c);
	}
	st = omt_state(&t);
	omt_request_for(st, 4001, &n);
	cJSON_Delete(st);
	assert_int_equal(n, 1);
	omt_teardown(&t);
}

/* Daemon mode: forwards what arrives while it runs, polls, and on
 * SIGTERM finishes what it holds and exits 0 with nothing left in cur/. */
/* At most <concurrency> requests are in flight, reads and writes
 * together, and the slots are used: issues, comments and photos make
 * lookups, creates, reads, writes and child posts, and with a latency
 * each request is still being answered when the next could leave. */
static void test_concurrency_bounds_reads_and_writes(void **state)
{
	const char *const sim_args[] = {"--latency-ms", "40", NULL};
	char url[512], why[256];
	struct omt t;
	cJSON *stats;
	long code;
	int max;

	(void)state;
	assert_int_equal(omt_setup(&t, sim_args, "<concurrency>2</concurrency>"), 0);
	assert_int_equal(omt_feed(&t, 5000, 8), 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	if (omt_exactly_once(&t, 5000, 8, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	snprintf(url, sizeof(url), "%s/_admin/stats", t.sim.base);
	stats = http_json("GET", url, NULL, NULL, &code);
	assert_int_equal(code, 200);
	max = (int)cJSON_GetObjectItemCaseSensitive(stats, "in_flight_max")->valuedouble;
	print_message("requests %d in flight at most %d\n",
	              (int)cJSON_GetObjectItemCaseSensitive(stats, "requests")->valuedouble, max);
	cJSON_Delete(stats);
	assert_int_equal(max, 2);
	omt_teardown(&t);
}

static void test_daemon_sigterm(void **state)
{
	struct omt t;
	struct spool_stats st;
	int status = -1;
	pid_t pid;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 5001, 122, "daemon one", NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(t.log, O_WRONLY | O_CREAT | O_APPEND, 0640);
		if (fd >= 0)
			dup2(fd, 2);
		execl(getenv("SCFGATE_BIN"), getenv("SCFGATE_BIN"), "oms", "--config", t.config,
		      "--retry-ms", "50", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 5001) == 0; i++)
		usleep(50 * 1000);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 5001), 1);
	/* Records arriving while it runs are picked up. */
	for (int i = 0; i < 20; i++)
		omt_issue(&t, 5100 + i, 122, "daemon many", NULL);
	usleep(150 * 1000);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_CUR], 0);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	/* Whatever it did not finish is done by the next run, once. */
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	for (int i = 0; i < 20; i++) {
		int n = 0;
		cJSON *s2 = omt_state(&t);
		omt_request_for(s2, 5100 + i, &n);
		cJSON_Delete(s2);
		assert_int_equal(n, 1);
		assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 5100 + i), 1);
	}
	omt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forward_paths),
	    cmocka_unit_test(test_notes_read_modify_write),
	    cmocka_unit_test(test_poll_close),
	    cmocka_unit_test(test_in_doubt_create),
	    cmocka_unit_test(test_daemon_sigterm),
	    cmocka_unit_test(test_concurrency_bounds_reads_and_writes),
	    cmocka_unit_test(test_photo_child_record),
	    cmocka_unit_test(test_photo_after_close),
	    cmocka_unit_test(test_request_photo_fields),
	    cmocka_unit_test(test_failed_attachment_does_not_block),
	    cmocka_unit_test(test_verified_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
