/*
 * test_sim_oms_index.c: oms-sim answers filtered queries from its field
 * indexes with exactly the rows a scan of every record gives.  Two
 * simulators with the same seed get the same writes; one runs with
 * --no-index (every query evaluates the filter on every record), and
 * every query below must return the same rows, in the same order, from
 * both, before and after creates, updates and deletes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_harness.h"

#define CLS  "cgRequestsClass"
#define ATT  "cgRequests_cgAttachmentsClass"
#define BASE "/api/v1/classes/" CLS

static const char *const H[] = {
    "Authorization: Basic Y2l0eTpzM2NyZXQ=", "Content-Type: application/json", NULL};
static struct simproc idx, scan;
static long oids[2000];
static int n_oids;

static int group_setup(void **state)
{
	static const char *const a_idx[] = {
	    "--user",
	    "city",
	    "--password",
	    "s3cret",
	    "--seed",
	    "7",
	    "--requests",
	    "40",
	    "--extra-fields",
	    "SCFIssueIDField,UrgentField:Boolean,CrewCountField:Integer",
	    NULL};
	static const char *const a_scan[] = {
	    "--user",         "city",
	    "--password",     "s3cret",
	    "--seed",         "7",
	    "--requests",     "40",
	    "--extra-fields", "SCFIssueIDField,UrgentField:Boolean,CrewCountField:Integer",
	    "--no-index",     NULL};

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (simproc_start(&idx, sim_bin("OMS_SIM_BIN"), a_idx) != 0)
		return -1;
	return simproc_start(&scan, sim_bin("OMS_SIM_BIN"), a_scan);
}

static int group_teardown(void **state)
{
	int a = simproc_stop(&idx), b = simproc_stop(&scan);

	(void)state;
	curl_global_cleanup();
	return a || b;
}

static void both(const char *method, const char *path, const char *body, struct http_resp *ri,
                 struct http_resp *rs)
{
	char url[16384];

	snprintf(url, sizeof(url), "%s%s", idx.base, path);
	http_do(method, url, H, body, 10000, ri);
	snprintf(url, sizeof(url), "%s%s", scan.base, path);
	http_do(method, url, H, body, 10000, rs);
}

/* The same write on both; their replies must agree on status and Oids. */
static cJSON *write_both(const char *method, const char *path, const char *body)
{
	struct http_resp ri, rs;
	cJSON *ji, *js;
	const cJSON *a, *b, *x, *y;

	both(method, path, body, &ri, &rs);
	if (ri.status != 200 || rs.status != 200)
		fail_msg("%s %s: %ld %s / %ld", method, path, ri.status, ri.body ? ri.body : "",
		         rs.status);
	ji = cJSON_Parse(ri.body);
	js = cJSON_Parse(rs.body);
	assert_non_null(ji);
	assert_non_null(js);
	a = cJSON_GetObjectItemCaseSensitive(ji, CLS);
	b = cJSON_GetObjectItemCaseSensitive(js, CLS);
	if (a && b) {
		assert_int_equal(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
		for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
			assert_true(cJSON_GetObjectItemCaseSensitive(x, "Oid")->valuedouble ==
			            cJSON_GetObjectItemCaseSensitive(y, "Oid")->valuedouble);
	}
	cJSON_Delete(js);
	http_resp_release(&ri);
	http_resp_release(&rs);
	return ji;
}

/* The rows of a reply as "totalCount:oid,oid,..." (dates differ between
 * the two processes by the second, Oids and counts do not). */
static void rows(const char *body, const char *cls, char *out, size_t cap)
{
	cJSON *j = cJSON_Parse(body);
	const cJSON *r;
	size_t len;

	assert_non_null(j);
	snprintf(out, cap, "%.0f:",
	         cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
	             cJSON_GetObjectItemCaseSensitive(j, "_metadata"), "totalCount")));
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, cls))
	{
		len = strlen(out);
		snprintf(out + len, cap - len, "%.0f,",
		         cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "Oid")));
	}
	cJSON_Delete(j);
}

static int compared;

static void same(const char *path, const char *cls)
{
	static char a[65536], b[65536];
	struct http_resp ri, rs;

	both("GET", path, NULL, &ri, &rs);
	if (ri.status != rs.status)
		fail_msg("%s: %ld indexed, %ld scanned", path, ri.status, rs.status);
	if (ri.status == 200) {
		rows(ri.body, cls, a, sizeof(a));
		rows(rs.body, cls, b, sizeof(b));
		if (strcmp(a, b) != 0)
			fail_msg("%s:\n indexed %s\n scanned %s", path, a, b);
	}
	compared++;
	http_resp_release(&ri);
	http_resp_release(&rs);
}

static void same_filter(const char *filter, const char *extra)
{
	CURL *c = curl_easy_init();
	char *enc = curl_easy_escape(c, filter, 0);
	char path[16384];

	snprintf(path, sizeof(path), BASE "?filter=%s%s", enc, extra ? extra : "");
	curl_free(enc);
	curl_easy_cleanup(c);
	same(path, CLS);
}

/* SCF ids chosen to meet every corner of the comparison: duplicates,
 * case, empty, missing, numbers written differently, NaN. */
static void scf_id(int i, char *out, size_t cap)
{
	static const char *const odd[] = {"abc",   "ABC", "",   "0042", "42",    " 42",
	                                  "4.2e1", "nan", "-0", "0",    "x\\\"y"};

	if (i % 5 == 0)
		snprintf(out, cap, "null");
	else if (i % 3 == 0)
		snprintf(out, cap, "\"%s\"", odd[(i / 3) % (sizeof(odd) / sizeof(odd[0]))]);
	else
		snprintf(out, cap, "\"%d\"", 6000 + i % 300);
}

static void create_batch(int from, int count)
{
	static char body[200000];
	size_t len;
	cJSON *j;
	const cJSON *r;

	len = (size_t)snprintf(body, sizeof(body), "{\"" CLS "\":[");
	for (int i = from; i < from + count; i++) {
		char id[64];

		scf_id(i, id, sizeof(id));
		len += (size_t)snprintf(body + len, sizeof(body) - len,
		                        "%s{\"IssueField\":\"%s\",\"SCFIssueIDField\":%s,"
		                        "\"CrewCountField\":%d,\"UrgentField\":%s}",
		                        i > from ? "," : "", i % 2 ? "Pothole" : "Sinkhole", id,
		                        i % 4, i % 2 ? "true" : "false");
	}
	snprintf(body + len, sizeof(body) - len, "]}");
	j = write_both("POST", BASE, body);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, CLS))
	{
		if (n_oids < (int)(sizeof(oids) / sizeof(oids[0])))
			oids[n_oids++] =
			    (long)cJSON_GetObjectItemCaseSensitive(r, "Oid")->valuedouble;
	}
	cJSON_Delete(j);
}

static void all_queries(void)
{
	static const char *const filters[] = {
	    "([SCFIssueID] is equal to \"6001\")",
	    "([SCFIssueID] is equal to \"abc\")",
	    "([SCFIssueID] = \"ABC\")",
	    "([SCFIssueID] = \"\")",
	    "([SCFIssueID] = \"42\")",
	    "([SCFIssueID] = 42)",
	    "([SCFIssueID] in (42, 0, 6007))",
	    "([SCFIssueID] = -0)",
	    "([SCFIssueID] in (\"6002\", \"6002\", \"ABC\", \"abc\", \"nope\", \"x\"\"y\"))",
	    "([SCFIssueID] = null)",
	    "([SCFIssueID] is equal to \"6003\") AND ([Status] is equal to \"Open\")",
	    "([Status] is equal to \"Open\") AND ([SCFIssueID] in (\"6004\", \"6005\"))",
	    "([SCFIssueID] = \"6006\") OR ([SCFIssueID] = \"6008\")",
	    "([SCFIssueID] is not equal to \"6001\")",
	    "([CrewCount] in (1, 2))",
	    "([CrewCount] = \"3\")",
	    "([CrewCount] = 2) AND ([Urgent] is equal to false)",
	    "([Urgent] = true)",
	    "([Issue] = \"pothole\") AND ([CrewCount] in (0, 3))",
	    "([EntryDate] = \"2000-01-01T00:00:00\")",
	};
	char f[16384], path[256];
	size_t len;

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		same_filter(filters[i], NULL);
		same_filter(filters[i], "&fields=Oid,SCFIssueIDField&sort=SCFIssueIDField:dsc");
		same_filter(filters[i], "&limit=7&offset=3");
	}
	/* The poll's query: hundreds of Oids, some repeated, some unknown. */
	len = (size_t)snprintf(f, sizeof(f), "([Oid] in (");
	for (int i = 0; i < n_oids; i += 3)
		len += (size_t)snprintf(f + len, sizeof(f) - len, "%ld,", oids[i]);
	len += (size_t)snprintf(f + len, sizeof(f) - len, "%ld,1,%ld))", oids[0],
	                        oids[n_oids - 1] + 1000);
	same_filter(f, "&fields=Oid,StatusField");
	same_filter(f, NULL);
	snprintf(f, sizeof(f), "([Oid] is equal to %ld)", oids[n_oids / 2]);
	same_filter(f, NULL);
	snprintf(f, sizeof(f), "([Oid] is equal to \"%ld\")", oids[n_oids / 3]);
	same_filter(f, NULL);
	snprintf(f, sizeof(f), "([Oid] in (%ld, %ld)) AND ([SCFIssueID] = \"6010\")", oids[10],
	         oids[n_oids - 5]);
	same_filter(f, NULL);
	/* By Oid in the path, and a request's children. */
	for (int i = 0; i < n_oids; i += n_oids / 7 + 1) {
		snprintf(path, sizeof(path), BASE "/%ld", oids[i]);
		same(path, CLS);
		snprintf(path, sizeof(path), BASE "/%ld/" ATT, oids[i]);
		same(path, ATT);
	}
	snprintf(path, sizeof(path), BASE "/%ld", oids[n_oids - 1] + 999);
	same(path, CLS);
}

static void test_index_same_rows(void **state)
{
	char path[256], body[512];
	cJSON *j;

	(void)state;
	create_batch(0, 300);
	all_queries(); /* the indexes are built here */
	create_batch(300, 300);
	/* Children: the _parent index grows with each one. */
	for (int i = 0; i < n_oids; i += 97) {
		snprintf(path, sizeof(path), BASE "/%ld/" ATT, oids[i]);
		j = write_both("POST", path,
		               "{\"" ATT "\":[{\"AttachmentField\":\"https://x/a.jpg\","
		               "\"LinkedField\":true},{\"AttachmentField\":\"https://x/b.jpg\","
		               "\"LinkedField\":true}]}");
		cJSON_Delete(j);
	}
	all_queries(); /* the Oid index grew; the SCF id index is rebuilt */
	/* Changed SCF ids, then deletes (the indexes hold the deleted). */
	for (int i = 1; i < 300; i += 13) {
		snprintf(body, sizeof(body),
		         "{\"" CLS
		         "\":[{\"Oid\":%ld,\"SCFIssueIDField\":\"%s\",\"CrewCountField\":%d}]}",
		         oids[i], i % 2 ? "ABC" : "6001", i % 3);
		j = write_both("PUT", BASE, body);
		cJSON_Delete(j);
	}
	all_queries();
	for (int i = 2; i < n_oids; i += 50) {
		snprintf(path, sizeof(path), BASE "/%ld", oids[i]);
		j = write_both("DELETE", path, NULL);
		cJSON_Delete(j);
	}
	all_queries();
	create_batch(600, 50);
	all_queries();
	assert_int_equal(compared, 5 * 80); /* every query above ran in each round */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index_same_rows),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
