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
	assert_string_equal(text_of(row, "AttachmentField"),
	                    "https://seeclickfix.com/files/1001.jpg");
	assert_non_null(strstr(text_of(row, "DescriptionField"), "Deep hole"));
	/* escaped, not dropped */
	assert_null(strstr(text_of(row, "DescriptionField"), "<script"));
	assert_non_null(strstr(text_of(row, "DescriptionField"), "alert(1)"));
	assert_non_null(text_of(row, "NotesField"));
	assert_int_equal(omt_occurrences(text_of(row, "NotesField"), "[scf-comment 5001]"), 1);
	att = omt_attachments(st);
	cJSON_ArrayForEach(a, att)
	{
		if (text_of(a, "AttachmentField") &&
		    strcmp(text_of(a, "AttachmentField"),
		           "https://seeclickfix.com/files/c5001.jpg") == 0)
			atts++;
	}
	assert_int_equal(atts, 1);
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
	assert_int_equal(cJSON_GetArraySize(omt_attachments(st)), 1);
	cJSON_Delete(st);
	omt_teardown(&t);
}

/* A note someone wrote in Cartegraph is kept; a repeated comment (same
 * marker) is recognised. */
static void test_notes_read_modify_write(void **state)
{
	struct omt t;
	cJSON *st, *row;
	int n;
	int64_t oid;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
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
	assert_int_equal(omt_occurrences(text_of(row, "NotesField"), "[scf-comment 6001]"), 1);
	assert_int_equal(omt_occurrences(text_of(row, "NotesField"), "[scf-comment 6002]"), 1);
	assert_true(strstr(text_of(row, "NotesField"), "6001") <
	            strstr(text_of(row, "NotesField"), "6002"));
	cJSON_Delete(st);
	omt_teardown(&t);
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
		assert_int_equal(oms_replay(c, NULL, 0, 0, &nrep, &e), ERR_OK);
		assert_int_equal(nrep, 1);
		cfg_free(c);
	}
	st = omt_state(&t);
	omt_request_for(st, 4001, &n);
	cJSON_Delete(st);
	assert_int_equal(n, 1);
	omt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forward_paths),
	    cmocka_unit_test(test_notes_read_modify_write),
	    cmocka_unit_test(test_poll_close),
	    cmocka_unit_test(test_in_doubt_create),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
