/*
 * test_oms_resend.c: the OMS half's part of reconciliation against the
 * real oms-sim and the scfgate binary: a resend's issue record
 * ("issue/<id>/resend/<census id>") makes sure a request exists: it
 * creates one when the request was deleted in Cartegraph (whatever the
 * tracked state says), finds the one there otherwise, and never creates
 * twice.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_oms_util.h"

static int64_t oid_of(cJSON *row)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "Oid");

	assert_true(cJSON_IsNumber(v));
	return (int64_t)v->valuedouble;
}

/* How many requests carry the SCF id, and the Oid of the last one. */
static int requests_for(struct omt *t, int64_t issue, int64_t *oid)
{
	cJSON *st = omt_state(t), *row;
	char id[32];
	int n = 0;

	snprintf(id, sizeof(id), "%" PRId64, issue);
	if (oid)
		*oid = 0;
	cJSON_ArrayForEach(row, omt_requests(st))
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "SCFIssueIDField");
		if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0) {
			n++;
			if (oid)
				*oid = oid_of(row);
		}
	}
	cJSON_Delete(st);
	return n;
}

static void test_resend_creates_once(void **state)
{
	struct omt t;
	char path[96];
	int64_t oid, oid2, oid3;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 6001, 122, "Hole", NULL);
	omt_issue(&t, 6002, 122, "Hole 2", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(requests_for(&t, 6001, &oid), 1);

	/* Deleted in Cartegraph: the tracked state still names it. */
	snprintf(path, sizeof(path), "/_admin/requests/%" PRId64 "/delete", oid);
	assert_int_equal(omt_admin(&t, path, "{}"), 0);
	assert_int_equal(requests_for(&t, 6001, NULL), 0);
	/* An ordinary repeat of the issue record trusts the tracked state... */
	omt_issue(&t, 6001, 122, "Hole", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(requests_for(&t, 6001, NULL), 0);
	/* ...a resend asks Cartegraph and creates. */
	omt_issue_key(&t, 6001, 122, "Hole", NULL, "issue/6001/resend/scf-20261206T101500Z");
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(requests_for(&t, 6001, &oid2), 1);
	assert_true(oid2 != oid);
	assert_true(omt_log_has(&t, "effect=create issue=6001"));
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 6001), 2);

	/* The same resend again, and one of a later census: found, not
	 * created; the issue whose request is there is left alone too. */
	omt_issue_key(&t, 6001, 122, "Hole", NULL, "issue/6001/resend/scf-20261206T101500Z");
	omt_issue_key(&t, 6001, 122, "Hole", NULL, "issue/6001/resend/scf-20261207T101500Z");
	omt_issue_key(&t, 6002, 122, "Hole 2", NULL, "issue/6002/resend/scf-20261207T101500Z");
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(requests_for(&t, 6001, &oid3), 1);
	assert_int_equal(oid3, oid2);
	assert_int_equal(requests_for(&t, 6002, NULL), 1);
	assert_int_equal(omt_count(&t, "outbound", SPOOL_FAILED, RECORD_ISSUE, 0), 0);

	/* The new request is polled: a crew's close comes back. */
	assert_int_equal(omt_close(&t, oid2), 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 6001), 1);
	omt_teardown(&t);
}

/* A request closed in Cartegraph (and its close sent) is not what a
 * resend looks for: it makes sure an open one exists. */
static void test_resend_after_close(void **state)
{
	struct omt t;
	int64_t oid, oid2;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 6101, 122, "Hole", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(requests_for(&t, 6101, &oid), 1);
	assert_int_equal(omt_close(&t, oid), 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 6101), 1);
	omt_issue_key(&t, 6101, 122, "Hole", NULL, "issue/6101/resend/c2");
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(requests_for(&t, 6101, &oid2), 2);
	/* tracked again: its close comes back too */
	assert_int_equal(omt_close(&t, oid2), 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 6101), 2);
	omt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resend_creates_once),
	    cmocka_unit_test(test_resend_after_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
