/*
 * test_oms_recon.c: the reconciliation classifier, class by class and
 * at its edges: generations of a reopened issue, closed and archived,
 * drift by type and by location around the tolerance, duplicates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "example_cfg.h"
#include "oms_recon.h"

/* The example configuration maps SCF type 122 to "Pothole". */
#define POTHOLE 122

static struct recon_rules rules;

static int setup(void **state)
{
	(void)state;
	rules.cfg = example_cfg_once(CFG_HALF_OMS);
	rules.tolerance_m = recon_tolerance(rules.cfg);
	return rules.cfg ? 0 : -1;
}

static struct recon_issue issue(const char *status, int64_t gen)
{
	struct recon_issue is;

	memset(&is, 0, sizeof(is));
	is.issue_id = 4711;
	is.status = status;
	is.type_id = POTHOLE;
	is.has_point = 1;
	is.lat = 41.3;
	is.lng = -72.9;
	is.html_url = "https://seeclickfix.com/issues/4711";
	is.generation = gen;
	return is;
}

static struct recon_request req(int64_t oid, const char *status)
{
	struct recon_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.oid = oid;
	rq.issue_id = 4711;
	rq.request_id = "SR-1";
	rq.status = status;
	rq.closed = strcmp(status, "Closed") == 0;
	rq.type = "Pothole";
	rq.has_point = 1;
	rq.lat = 41.3;
	rq.lng = -72.9;
	return rq;
}

static enum recon_class classify(const struct recon_issue *is, const struct recon_request *r,
                                 size_t n, struct recon_finding *f)
{
	enum recon_class c = recon_classify_issue(&rules, is, r, n, f);

	assert_int_equal(f->cls, c);
	assert_int_equal(f->issue_id, is->issue_id);
	return c;
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(recon_class_name(RECON_MISSED_CLOSE), "missed-close");
	assert_string_equal(recon_class_key(RECON_MISSED_CLOSE), "missed_close");
	assert_string_equal(recon_class_name(RECON_IN_SYNC), "in-sync");
	assert_int_equal(recon_class_parse("missed-close"), RECON_MISSED_CLOSE);
	assert_int_equal(recon_class_parse("in_sync"), RECON_IN_SYNC);
	assert_int_equal(recon_class_parse("duplicate"), RECON_DUPLICATE);
	assert_int_equal(recon_class_parse("bogus"), -1);
	assert_int_equal(recon_class_parse(NULL), -1);
	/* the example configures maxDistanceMeters 100 */
	assert_true(rules.tolerance_m == 100.0);
	assert_true(recon_tolerance(NULL) == 100.0);
}

static void test_in_sync(void **state)
{
	struct recon_issue is = issue("Acknowledged", 0);
	struct recon_request r[2] = {req(10, "Open"), req(11, "Closed")};
	struct recon_finding f;

	(void)state;
	assert_int_equal(classify(&is, r, 1, &f), RECON_IN_SYNC);
	assert_int_equal(f.oid, 10);
	/* both done */
	is.status = "Closed";
	assert_int_equal(classify(&is, &r[1], 1, &f), RECON_IN_SYNC);
	is.status = "Archived";
	assert_int_equal(classify(&is, &r[1], 1, &f), RECON_IN_SYNC);
	/* closed in SCF before it was ever sent: nothing to do */
	is.status = "Closed";
	assert_int_equal(classify(&is, NULL, 0, &f), RECON_IN_SYNC);
	is.status = "Archived";
	assert_int_equal(classify(&is, NULL, 0, &f), RECON_IN_SYNC);
	/* no point on one side: not compared */
	is = issue("Open", 0);
	is.has_point = 0;
	r[0].lat = 0;
	assert_int_equal(classify(&is, r, 1, &f), RECON_IN_SYNC);
	/* a type this half does not map: not compared */
	is = issue("Open", 0);
	is.type_id = 999999;
	r[0] = req(10, "Open");
	r[0].type = "Graffiti";
	assert_int_equal(classify(&is, r, 1, &f), RECON_IN_SYNC);
}

static void test_missing(void **state)
{
	struct recon_issue is = issue("Open", 0);
	struct recon_finding f;

	(void)state;
	assert_int_equal(classify(&is, NULL, 0, &f), RECON_MISSING);
	assert_int_equal(f.oid, 0);
	assert_string_equal(f.detail, "no request with this SeeClickFix id");
	assert_string_equal(f.scf_status, "Open");
	assert_string_equal(f.html_url, "https://seeclickfix.com/issues/4711");
	assert_int_equal(f.request_type_id, POTHOLE);
	is.status = "Acknowledged";
	assert_int_equal(classify(&is, NULL, 0, &f), RECON_MISSING);
}

/* Reopened (generation 2): the first request is closed, the second is
 * what SCF's open issue needs. */
static void test_generations(void **state)
{
	struct recon_issue is = issue("Open", 2);
	struct recon_request r[3] = {req(10, "Closed"), req(20, "Open"), req(30, "Closed")};
	struct recon_finding f;

	(void)state;
	/* gen 2 not created yet: missing, not a missed close */
	assert_int_equal(classify(&is, r, 1, &f), RECON_MISSING);
	assert_int_equal(f.oid, 0);
	assert_string_equal(f.detail, "no request for generation 2 (1 closed for earlier ones)");
	/* gen 2 created and open: in sync */
	assert_int_equal(classify(&is, r, 2, &f), RECON_IN_SYNC);
	assert_int_equal(f.oid, 20);
	/* gen 2's request closed too: a missed close, about the newest */
	r[1] = req(20, "Closed");
	assert_int_equal(classify(&is, r, 2, &f), RECON_MISSED_CLOSE);
	assert_int_equal(f.oid, 20);
	/* a third request for two generations: a duplicate */
	r[1] = req(20, "Open");
	assert_int_equal(classify(&is, r, 3, &f), RECON_DUPLICATE);
	/* the same requests with generation 1 (no reopen): one closed and
	 * one open is one too many */
	is = issue("Open", 1);
	assert_int_equal(classify(&is, r, 2, &f), RECON_DUPLICATE);
}

static void test_missed_close(void **state)
{
	struct recon_issue is = issue("Acknowledged", 0);
	struct recon_request r = req(10, "Closed");
	struct recon_finding f;

	(void)state;
	assert_int_equal(classify(&is, &r, 1, &f), RECON_MISSED_CLOSE);
	assert_int_equal(f.oid, 10);
	assert_string_equal(f.oms_status, "Closed");
	assert_string_equal(f.request_id, "SR-1");
	is.status = "Open";
	assert_int_equal(classify(&is, &r, 1, &f), RECON_MISSED_CLOSE);
}

static void test_orphan(void **state)
{
	struct recon_issue is = issue("Archived", 0);
	struct recon_request r = req(10, "Open"), c = req(11, "Closed");
	struct recon_finding f;

	(void)state;
	assert_int_equal(classify(&is, &r, 1, &f), RECON_ORPHAN);
	assert_int_equal(f.oid, 10);
	assert_string_equal(f.scf_status, "Archived");
	/* not in the census at all */
	r.issue_id = 5000;
	assert_int_equal(recon_classify_unlisted(&r, &f), 1);
	assert_int_equal(f.cls, RECON_ORPHAN);
	assert_int_equal(f.issue_id, 5000);
	assert_int_equal(f.oid, 10);
	assert_null(f.scf_status);
	assert_int_equal(recon_classify_unlisted(&c, &f), 0);
}

static void test_drift_type(void **state)
{
	struct recon_issue is = issue("Open", 0);
	struct recon_request r = req(10, "Open");
	struct recon_finding f;

	(void)state;
	r.type = "Graffiti";
	assert_int_equal(classify(&is, &r, 1, &f), RECON_DRIFT);
	assert_string_equal(f.detail,
	                    "type: Cartegraph has \"Graffiti\", SeeClickFix type 122 maps to "
	                    "\"Pothole\"");
	r.type = NULL;
	assert_int_equal(classify(&is, &r, 1, &f), RECON_DRIFT);
	assert_non_null(strstr(f.detail, "Cartegraph has \"\""));
}

static void test_drift_location(void **state)
{
	struct recon_issue is = issue("Open", 0);
	struct recon_request r = req(10, "Open");
	struct recon_finding f;

	(void)state;
	/* 0.0008 degrees of latitude: about 89 m, inside 100 m */
	r.lat = 41.3008;
	assert_int_equal(classify(&is, &r, 1, &f), RECON_IN_SYNC);
	/* 0.0010 degrees: about 111 m, beyond */
	r.lat = 41.3010;
	assert_int_equal(classify(&is, &r, 1, &f), RECON_DRIFT);
	assert_string_equal(f.detail,
	                    "location: 111 m from the SeeClickFix point (tolerance 100 m)");
	/* both at once */
	r.type = "Graffiti";
	assert_int_equal(classify(&is, &r, 1, &f), RECON_DRIFT);
	assert_non_null(strstr(f.detail, "type: "));
	assert_non_null(strstr(f.detail, "; location: 111 m"));
}

/* Closed in SCF by hand while the request stays open. */
static void test_drift_status(void **state)
{
	struct recon_issue is = issue("Closed", 0);
	struct recon_request r = req(10, "Open");
	struct recon_finding f;

	(void)state;
	assert_int_equal(classify(&is, &r, 1, &f), RECON_DRIFT);
	assert_string_equal(f.detail, "status: closed in SeeClickFix, the request is not closed");
	assert_int_equal(f.oid, 10);
}

static void test_duplicate(void **state)
{
	struct recon_issue is = issue("Open", 0);
	struct recon_request r[2] = {req(12, "Open"), req(10, "Open")};
	struct recon_finding f;

	(void)state;
	assert_int_equal(classify(&is, r, 2, &f), RECON_DUPLICATE);
	/* the oldest open one is named */
	assert_int_equal(f.oid, 10);
	assert_string_equal(f.detail,
	                    "2 requests carry this SeeClickFix id (2 not closed) for 1 generation");
	/* it hides the other classes: archived, closed, drift */
	is.status = "Archived";
	assert_int_equal(classify(&is, r, 2, &f), RECON_DUPLICATE);
	is.status = "Closed";
	r[0] = req(12, "Closed");
	r[1] = req(10, "Closed");
	assert_int_equal(classify(&is, r, 2, &f), RECON_DUPLICATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),        cmocka_unit_test(test_in_sync),
	    cmocka_unit_test(test_missing),      cmocka_unit_test(test_generations),
	    cmocka_unit_test(test_missed_close), cmocka_unit_test(test_orphan),
	    cmocka_unit_test(test_drift_type),   cmocka_unit_test(test_drift_location),
	    cmocka_unit_test(test_drift_status), cmocka_unit_test(test_duplicate),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
