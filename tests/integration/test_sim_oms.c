/*
 * test_sim_oms.c: drive the real oms-sim over loopback and check it
 * against the Cartegraph reference shapes and rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_harness.h"

/* base64("city:s3cret") */
static const char *const H[] = {
    "Authorization: Basic Y2l0eTpzM2NyZXQ=", "Content-Type: application/json", NULL};
static struct simproc oms;

static int group_setup(void **state)
{
	static const char *const args[] = {
	    "--user",
	    "city",
	    "--password",
	    "s3cret",
	    "--requests",
	    "4",
	    "--extra-fields",
	    "SCFIssueIDField,UrgentField:Boolean,CrewCountField:Integer,DueField:Date",
	    "--issues",
	    "Pothole,Graffiti,Sinkhole,Retired Issue:inactive",
	    NULL};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return simproc_start(&oms, sim_bin("OMS_SIM_BIN"), args);
}

static int group_teardown(void **state)
{
	int rc = simproc_stop(&oms);

	curl_global_cleanup();
	return rc;
}

static cJSON *call(const char *method, const char *path, const char *body, long *st)
{
	char url[4200];

	snprintf(url, sizeof(url), "%s%s", oms.base, path);
	return http_json(method, url, H, body, st);
}

/* GET with the filter URL-encoded. */
static cJSON *filtered(const char *filter, const char *extra, long *st)
{
	CURL *c = curl_easy_init();
	char *enc = curl_easy_escape(c, filter, 0);
	char path[4096];
	cJSON *j;

	snprintf(path, sizeof(path), "/api/v1/classes/cgRequestsClass?filter=%s%s", enc,
	         extra ? extra : "");
	curl_free(enc);
	curl_easy_cleanup(c);
	j = call("GET", path, NULL, st);
	return j;
}

static const cJSON *item(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v)
		fail_msg("missing key %s", k);
	return v;
}

static long total(const cJSON *j)
{
	return (long)item(item(j, "_metadata"), "totalCount")->valuedouble;
}

static long create(const char *issue, const char *scf_id, char *idfield, size_t cap)
{
	char body[512];
	long st;
	cJSON *j;
	const cJSON *r;
	long oid;

	snprintf(
	    body, sizeof(body),
	    "{\"cgRequestsClass\":[{\"RequesterField\":\"SeeClickFix\",\"IssueField\":\"%s\","
	    "\"DescriptionField\":\"Deep pothole\\nQ: Is it hazardous? A: Yes\","
	    "\"LocationDescriptionField\":\"12 Elm St\",\"UrgentField\":false,"
	    "\"SCFIssueIDField\":\"%s\","
	    "\"CgShape\":{\"ShapeType\":1,\"Points\":[{\"Lat\":41.3,\"Lng\":-72.9}],\"Breaks\":[],"
	    "\"Center\":{\"Lat\":41.3,\"Lng\":-72.9}}}]}",
	    issue, scf_id);
	j = call("POST", "/api/v1/classes/cgRequestsClass", body, &st);
	assert_int_equal(st, 200);
	assert_int_equal(cJSON_GetArraySize(item(j, "cgRequestsClass")), 1);
	r = cJSON_GetArrayItem(item(j, "cgRequestsClass"), 0);
	assert_true(cJSON_IsNumber(item(r, "Oid")));
	assert_string_equal(item(r, "StatusField")->valuestring, "Open");
	assert_string_equal(item(r, "EnteredByField")->valuestring, "city");
	assert_true(cJSON_IsString(item(r, "EntryDateField")));
	assert_true(cJSON_IsString(item(r, "cgLastModifiedField")));
	oid = (long)item(r, "Oid")->valuedouble;
	if (idfield)
		snprintf(idfield, cap, "%s", item(r, "IDField")->valuestring);
	cJSON_Delete(j);
	return oid;
}

static void test_create_and_get(void **state)
{
	char id1[32], id2[32], path[256];
	long a = create("Pothole", "5001", id1, sizeof(id1));
	long b = create("Graffiti", "5002", id2, sizeof(id2));
	long st;
	cJSON *j;

	assert_true(b > a);
	assert_int_equal(strncmp(id1, "SR-", 3), 0);
	assert_int_equal(strlen(id1), 9);
	assert_true(strcmp(id2, id1) > 0);
	snprintf(path, sizeof(path), "/api/v1/classes/cgRequestsClass/%ld", a);
	j = call("GET", path, NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(cJSON_GetArraySize(item(j, "cgRequestsClass")), 1);
	assert_string_equal(
	    item(cJSON_GetArrayItem(item(j, "cgRequestsClass"), 0), "IDField")->valuestring, id1);
	cJSON_Delete(j);
	j = call("GET", "/api/v1/classes/cgRequestsClass/999", NULL, &st);
	assert_int_equal(st, 404);
	assert_true(cJSON_IsString(item(j, "Message")));
	cJSON_Delete(j);
	j = call("GET", "/api/v1/classes/cgNopeClass", NULL, &st);
	assert_int_equal(st, 404);
	cJSON_Delete(j);

	/* Unknown field: 400 with Message and Errors[].FieldName. */
	j = call("POST", "/api/v1/classes/cgRequestsClass",
	         "{\"cgRequestsClass\":[{\"NoSuchField\":1}]}", &st);
	assert_int_equal(st, 400);
	assert_string_equal(
	    item(cJSON_GetArrayItem(item(j, "Errors"), 0), "FieldName")->valuestring,
	    "NoSuchField");
	cJSON_Delete(j);
	j = call("POST", "/api/v1/classes/cgRequestsClass", "{\"records\":[]}", &st);
	assert_int_equal(st, 400);
	assert_true(cJSON_IsString(item(j, "Message")));
	cJSON_Delete(j);
	j = call("POST", "/api/v1/classes/cgRequestsClass",
	         "{\"cgRequestsClass\":[{\"UrgentField\":\"yes\"}]}", &st);
	assert_int_equal(st, 400);
	cJSON_Delete(j);
}

static long count_requests(void)
{
	long st, n;
	cJSON *j = call("GET", "/api/v1/classes/cgRequestsClass?fields=Oid", NULL, &st);

	assert_int_equal(st, 200);
	n = total(j);
	cJSON_Delete(j);
	return n;
}

/* POST one record body; expect 400 with exactly this Message (or one that
 * contains every part given) and nothing stored. */
static void refused(const char *record, const char *exact, const char *part1, const char *part2)
{
	char body[1024];
	long st, before = count_requests();
	cJSON *j;
	const char *msg;

	snprintf(body, sizeof(body), "{\"cgRequestsClass\":[%s]}", record);
	j = call("POST", "/api/v1/classes/cgRequestsClass", body, &st);
	assert_int_equal(st, 400);
	assert_non_null(j);
	msg = item(j, "Message")->valuestring;
	if (exact)
		assert_string_equal(msg, exact);
	if (part1 && !strstr(msg, part1))
		fail_msg("'%s' does not name '%s'", msg, part1);
	if (part2 && !strstr(msg, part2))
		fail_msg("'%s' does not name '%s'", msg, part2);
	cJSON_Delete(j);
	assert_int_equal(count_requests(), before);
}

/* A standard request class has no photo fields; names are exact. */
static void test_strict_unknown_and_case(void **state)
{
	refused("{\"IssueField\":\"Pothole\",\"AttachmentField\":\"https://x.org/p.jpeg\","
	        "\"LinkedField\":true}",
	        "Field 'AttachmentField' does not exist on class cgRequestsClass.", NULL, NULL);
	refused("{\"IssueField\":\"Pothole\",\"LinkedField\":true}",
	        "Field 'LinkedField' does not exist on class cgRequestsClass.", NULL, NULL);
	refused("{\"IssueField\":\"Pothole\",\"descriptionField\":\"x\"}",
	        "Field 'descriptionField' does not exist on class cgRequestsClass.", NULL, NULL);
	refused("{\"IssueField\":\"Pothole\",\"SCFIssueIdField\":\"1\"}",
	        "Field 'SCFIssueIdField' does not exist on class cgRequestsClass.", NULL, NULL);
	/* One bad record refuses the whole body: the good one is not kept. */
	refused("{\"IssueField\":\"Pothole\",\"SCFIssueIDField\":\"9901\"},"
	        "{\"IssueField\":\"Pothole\",\"Nope\":1}",
	        "Field 'Nope' does not exist on class cgRequestsClass.", NULL, NULL);
}

static void test_strict_types_and_read_only(void **state)
{
	long oid = create("Pothole", "9101", NULL, 0), st;
	char body[512];
	cJSON *j;

	refused("{\"UrgentField\":\"true\"}", NULL, "'UrgentField'", "Boolean");
	refused("{\"UrgentField\":1}", NULL, "'UrgentField'", "Boolean");
	refused("{\"TasksField\":\"1\"}", NULL, "'TasksField'", "Number");
	refused("{\"CrewCountField\":\"2\"}", NULL, "'CrewCountField'", "Integer");
	refused("{\"CrewCountField\":2.5}", NULL, "'CrewCountField'", "Integer");
	refused("{\"CgShape\":\"POINT(1 2)\"}", NULL, "'CgShape'", "Shape");
	refused("{\"DescriptionField\":{\"a\":1}}", NULL, "'DescriptionField'", "String");
	refused("{\"DueField\":\"soon\"}", NULL, "'DueField'", "Date");
	refused("{\"EntryDateField\":\"2026-01-01T00:00:00\"}", NULL, "'EntryDateField'",
	        "read-only");
	refused("{\"Oid\":5}", NULL, "'Oid'", "read-only");
	/* The typed extra fields take their own type. */
	j = call("POST", "/api/v1/classes/cgRequestsClass",
	         "{\"cgRequestsClass\":[{\"UrgentField\":true,\"CrewCountField\":3,"
	         "\"SCFIssueIDField\":\"9102\","
	         "\"TasksField\":1.5,\"DueField\":\"2026-03-01T08:00:00\"}]}",
	         &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	/* A PUT is checked the same way and changes nothing when refused. */
	snprintf(body, sizeof(body),
	         "{\"cgRequestsClass\":[{\"Oid\":%ld,\"NotesField\":\"n\","
	         "\"LastModifiedByField\":\"me\"}]}",
	         oid);
	j = call("PUT", "/api/v1/classes/cgRequestsClass", body, &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(item(j, "Message")->valuestring, "'LastModifiedByField'"));
	cJSON_Delete(j);
	snprintf(body, sizeof(body),
	         "{\"cgRequestsClass\":[{\"Oid\":%ld,\"NotesField\":\"n\","
	         "\"notesField\":\"m\"}]}",
	         oid);
	j = call("PUT", "/api/v1/classes/cgRequestsClass", body, &st);
	assert_int_equal(st, 400);
	assert_string_equal(item(j, "Message")->valuestring,
	                    "Field 'notesField' does not exist on class cgRequestsClass.");
	cJSON_Delete(j);
	snprintf(body, sizeof(body), "/api/v1/classes/cgRequestsClass/%ld", oid);
	j = call("GET", body, NULL, &st);
	assert_true(
	    cJSON_IsNull(item(cJSON_GetArrayItem(item(j, "cgRequestsClass"), 0), "NotesField")));
	cJSON_Delete(j);
}

static void test_issue_lookup(void **state)
{
	long st;
	cJSON *j;
	const cJSON *r;
	int active = 0, inactive = 0;

	refused("{\"IssueField\":\"Pothole \"}", NULL, "'Pothole '", "cgRequestIssuesClass");
	refused("{\"IssueField\":\"Street Light\"}", NULL, "'Street Light'", "IssueField");
	refused("{\"IssueField\":\"Retired Issue\"}", NULL, "'Retired Issue'", NULL);
	refused("{\"IssueField\":7}", NULL, "'IssueField'", "Lookup");
	/* The library, as the reference queries it. */
	j = call("GET", "/api/v1/classes/cgRequestIssuesClass", NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(total(j), 4);
	cJSON_ArrayForEach(r, item(j, "cgRequestIssuesClass"))
	{
		assert_true(cJSON_IsNumber(item(r, "Oid")));
		assert_true(cJSON_IsString(item(r, "IssueField")));
		if (cJSON_IsTrue(item(r, "InactiveField")))
			inactive++;
		else
			active++;
	}
	assert_int_equal(active, 3);
	assert_int_equal(inactive, 1);
	cJSON_Delete(j);
	j = call(
	    "GET",
	    "/api/v1/classes/cgRequestIssuesClass?fields=Oid,IssueField&filter=%28%28%5BInactive"
	    "%5D%20is%20equal%20to%20false%29%29&limit=2&offset=1",
	    NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(total(j), 3);
	assert_int_equal(cJSON_GetArraySize(item(j, "cgRequestIssuesClass")), 2);
	r = cJSON_GetArrayItem(item(j, "cgRequestIssuesClass"), 0);
	assert_int_equal(cJSON_GetArraySize(r), 2);
	assert_string_equal(item(r, "IssueField")->valuestring, "Graffiti");
	cJSON_Delete(j);
	/* Read-only for the API user. */
	j = call("POST", "/api/v1/classes/cgRequestIssuesClass",
	         "{\"cgRequestIssuesClass\":[{\"IssueField\":\"Street Light\"}]}", &st);
	assert_int_equal(st, 403);
	cJSON_Delete(j);
	j = call("GET", "/api/v1/meta/Classes/cgRequestIssuesClass", NULL, &st);
	assert_int_equal(st, 200);
	{
		const cJSON *m = cJSON_GetArrayItem(item(j, "Classes"), 0);
		char *props = cJSON_PrintUnformatted(item(m, "Properties"));

		assert_string_equal(item(m, "Name")->valuestring, "cgRequestIssuesClass");
		assert_int_equal(cJSON_GetArraySize(item(m, "Children")), 0);
		assert_non_null(strstr(props, "{\"Name\":\"InactiveField\",\"DisplayName\":"
		                              "\"Inactive\",\"DataType\":\"Boolean\","
		                              "\"IsReadOnly\":false}"));
		free(props);
	}
	cJSON_Delete(j);
}

/* The property of one field in a class's meta, or NULL. */
static const cJSON *meta_prop(const cJSON *meta, const char *cls, const char *name)
{
	const cJSON *c, *p;

	cJSON_ArrayForEach(c, item(meta, "Classes"))
	{
		if (strcmp(item(c, "Name")->valuestring, cls) != 0)
			continue;
		cJSON_ArrayForEach(p, item(c, "Properties"))
		{
			if (strcmp(item(p, "Name")->valuestring, name) == 0)
				return p;
		}
	}
	return NULL;
}

static void test_meta_shape(void **state)
{
	static const char *const bad_type[] = {"--extra-fields", "FooField:Float", NULL};
	static const char *const empty_name[] = {"--extra-fields", ":Boolean", NULL};
	struct simproc p;
	long st;
	cJSON *j = call("GET",
	                "/api/v1/meta/Classes/"
	                "cgRequestsClass?classNames=cgRequestsClass,cgRequests_cgAttachmentsClass",
	                NULL, &st);
	char *s;
	const cJSON *m;

	assert_int_equal(st, 200);
	cJSON_Delete(j);
	j = call("GET", "/api/v1/meta/Classes/cgRequestsClass", NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(cJSON_GetArraySize(item(j, "Classes")), 1);
	m = cJSON_GetArrayItem(item(j, "Classes"), 0);
	assert_string_equal(item(m, "Name")->valuestring, "cgRequestsClass");
	assert_int_equal(cJSON_GetArraySize(item(m, "Children")), 1);
	assert_string_equal(cJSON_GetArrayItem(item(m, "Children"), 0)->valuestring,
	                    "cgRequests_cgAttachmentsClass");
	s = cJSON_PrintUnformatted(meta_prop(j, "cgRequestsClass", "IssueField"));
	assert_string_equal(s, "{\"Name\":\"IssueField\",\"DisplayName\":\"Issue\",\"DataType\":"
	                       "\"Lookup\",\"IsReadOnly\":false,\"LookupClass\":"
	                       "\"cgRequestIssuesClass\"}");
	free(s);
	s = cJSON_PrintUnformatted(meta_prop(j, "cgRequestsClass", "EntryDateField"));
	assert_string_equal(s, "{\"Name\":\"EntryDateField\",\"DisplayName\":\"EntryDate\","
	                       "\"DataType\":\"Date\",\"IsReadOnly\":true}");
	free(s);
	assert_string_equal(
	    item(meta_prop(j, "cgRequestsClass", "UrgentField"), "DataType")->valuestring,
	    "Boolean");
	assert_string_equal(
	    item(meta_prop(j, "cgRequestsClass", "CrewCountField"), "DataType")->valuestring,
	    "Integer");
	assert_string_equal(
	    item(meta_prop(j, "cgRequestsClass", "SCFIssueIDField"), "DataType")->valuestring,
	    "String");
	assert_string_equal(
	    item(meta_prop(j, "cgRequestsClass", "CgShape"), "DataType")->valuestring, "Shape");
	assert_null(meta_prop(j, "cgRequestsClass", "AttachmentField"));
	assert_null(meta_prop(j, "cgRequestsClass", "LinkedField"));
	cJSON_Delete(j);
	/* An --extra-fields type the API does not have refuses to start. */
	assert_int_not_equal(simproc_start(&p, sim_bin("OMS_SIM_BIN"), bad_type), 0);
	assert_int_not_equal(simproc_start(&p, sim_bin("OMS_SIM_BIN"), empty_name), 0);
	j = call("GET", "/api/v1/meta/Classes/cgRequests_cgAttachmentsClass", NULL, &st);
	assert_int_equal(st, 200);
	assert_string_equal(
	    item(meta_prop(j, "cgRequests_cgAttachmentsClass", "AttachmentField"), "DataType")
	        ->valuestring,
	    "String");
	assert_string_equal(
	    item(meta_prop(j, "cgRequests_cgAttachmentsClass", "LinkedField"), "DataType")
	        ->valuestring,
	    "Boolean");
	cJSON_Delete(j);
}

static void test_filters(void **state)
{
	long st;
	cJSON *j;
	static const char *const bad[] = {
	    "([Status] is equal to \"Open\"",      "([Status] is sorta \"Open\")",
	    "([Nope] is equal to \"x\")",          "([Status] in \"Open\")",
	    "([Status] is equal to \"Open) ",      "[Status] is equal to Open",
	    "([Status] is equal to \"Open\") AND", "([Status] is equal to \"Open\") junk",
	};

	create("Pothole", "6001", NULL, 0);
	create("Sinkhole", "6002", NULL, 0);
	j = filtered("([SCFIssueID] is equal to \"6001\")", NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(total(j), 1);
	cJSON_Delete(j);
	/* Case-insensitive equality, Field suffix dropped, double parentheses. */
	j = filtered("(([Issue] is equal to \"SINKHOLE\"))", NULL, &st);
	assert_int_equal(total(j), 1);
	cJSON_Delete(j);
	j = filtered("([SCFIssueID] in (\"6001\", \"6002\", \"nope\"))", NULL, &st);
	assert_int_equal(total(j), 2);
	cJSON_Delete(j);
	j = filtered("([SCFIssueID] is not equal to \"\")", NULL, &st);
	assert_true(total(j) >= 2);
	{
		long with_id = total(j), all;

		cJSON_Delete(j);
		j = call("GET", "/api/v1/classes/cgRequestsClass", NULL, &st);
		all = total(j);
		cJSON_Delete(j);
		assert_int_equal(all - with_id, 4); /* the seeded ones have no SCF id */
	}
	j = filtered(
	    "(([SCFIssueID] is equal to \"6001\") OR ([SCFIssueID] is equal to \"6002\")) AND "
	    "([Status] is equal to \"Open\") AND ([Urgent] is equal to false)",
	    NULL, &st);
	assert_int_equal(total(j), 2);
	cJSON_Delete(j);
	j = filtered("([SCFIssueID] = \"6001\" OR [SCFIssueID] <> \"6001\") AND [Oid] in (1, 2)",
	             NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(total(j), 0);
	cJSON_Delete(j);
	j = filtered("([EnteredBy] is equal to \"city\") AND ([cgLastModified] is greater than "
	             "\"2000-01-01T00:00:00\")",
	             NULL, &st);
	assert_true(total(j) >= 2);
	cJSON_Delete(j);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = filtered(bad[i], NULL, &st);
		if (st != 400)
			fail_msg("filter '%s' gave %ld", bad[i], st);
		assert_true(cJSON_IsString(item(j, "Message")));
		cJSON_Delete(j);
	}
}

static void test_fields_sort_paging(void **state)
{
	long st;
	cJSON *j;
	const cJSON *r, *prev = NULL;
	long n;

	j = call(
	    "GET",
	    "/api/v1/classes/cgRequestsClass?fields=Oid,IDField&sort=IDField:dsc&limit=2&offset=1",
	    NULL, &st);
	assert_int_equal(st, 200);
	n = total(j);
	assert_true(n >= 5);
	assert_int_equal(item(item(j, "_metadata"), "offset")->valueint, 1);
	assert_int_equal(item(item(j, "_metadata"), "limit")->valueint, 2);
	assert_int_equal(cJSON_GetArraySize(item(j, "cgRequestsClass")), 2);
	cJSON_ArrayForEach(r, item(j, "cgRequestsClass"))
	{
		assert_int_equal(cJSON_GetArraySize(r), 2);
		if (prev)
			assert_true(strcmp(item(prev, "IDField")->valuestring,
			                   item(r, "IDField")->valuestring) > 0);
		prev = r;
	}
	cJSON_Delete(j);
	j = call("GET", "/api/v1/classes/cgRequestsClass?sort=IDField:desc", NULL, &st);
	assert_int_equal(st, 400);
	cJSON_Delete(j);
	j = call("GET", "/api/v1/classes/cgRequestsClass?fields=Oid,Bogus", NULL, &st);
	assert_int_equal(st, 400);
	cJSON_Delete(j);
	j = call("GET", "/api/v1/classes/cgRequestsClass?limit=abc", NULL, &st);
	assert_int_equal(st, 400);
	cJSON_Delete(j);
	j = call("GET", "/api/v1/classes/cgRequestsClass?offset=1000", NULL, &st);
	assert_int_equal(cJSON_GetArraySize(item(j, "cgRequestsClass")), 0);
	assert_int_equal(total(j), n);
	cJSON_Delete(j);
}

static void test_put_and_crew_close(void **state)
{
	long oid = create("Pothole", "7001", NULL, 0), st;
	char body[512], path[128];
	cJSON *j, *before;
	const cJSON *r;

	snprintf(path, sizeof(path), "/api/v1/classes/cgRequestsClass/%ld", oid);
	before = call("GET", path, NULL, &st);
	snprintf(body, sizeof(body),
	         "{\"cgRequestsClass\":[{\"Oid\":%ld,\"NotesField\":\"[scf comment 1] hi\"}]}",
	         oid);
	j = call("PUT", "/api/v1/classes/cgRequestsClass", body, &st);
	assert_int_equal(st, 200);
	assert_string_equal(
	    item(cJSON_GetArrayItem(item(j, "cgRequestsClass"), 0), "NotesField")->valuestring,
	    "[scf comment 1] hi");
	cJSON_Delete(j);
	cJSON_Delete(before);
	j = call("PUT", "/api/v1/classes/cgRequestsClass",
	         "{\"cgRequestsClass\":[{\"NotesField\":\"x\"}]}", &st);
	assert_int_equal(st, 400);
	cJSON_Delete(j);
	j = call("PUT", "/api/v1/classes/cgRequestsClass",
	         "{\"cgRequestsClass\":[{\"Oid\":5,\"NotesField\":\"x\"}]}", &st);
	assert_int_equal(st, 404);
	cJSON_Delete(j);

	/* A Cartegraph-side note, then the crew closes it. */
	snprintf(path, sizeof(path), "/_admin/requests/%ld/note", oid);
	j = call("POST", path, "{\"text\": \"crew: cones placed\"}", &st);
	assert_int_equal(st, 200);
	assert_string_equal(item(j, "NotesField")->valuestring,
	                    "[scf comment 1] hi\ncrew: cones placed");
	cJSON_Delete(j);
	snprintf(path, sizeof(path), "/_admin/requests/%ld/close", oid);
	j = call("POST", path, "{\"note\": \"Filled with asphalt\"}", &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	j = filtered("([Status] is equal to \"Closed\") AND ([SCFIssueID] is equal to \"7001\")",
	             "&fields=Oid,StatusField,cgLastModifiedField,LastModifiedByField", &st);
	assert_int_equal(total(j), 1);
	r = cJSON_GetArrayItem(item(j, "cgRequestsClass"), 0);
	assert_string_equal(item(r, "LastModifiedByField")->valuestring, "crew");
	cJSON_Delete(j);
}

/* The admin actions that make drift for reconciliation: re-type, move,
 * duplicate, delete; each seen through the API as a client would. */
static void test_admin_drift(void **state)
{
	long oid = create("Pothole", "9531", NULL, 0), st, dup;
	const cJSON *r, *pt;
	char path[256];
	cJSON *j;

	(void)state;
	snprintf(path, sizeof(path), "/_admin/requests/%ld/retype", oid);
	j = call("POST", path, "{\"issue\": \"Graffiti\"}", &st);
	assert_int_equal(st, 200);
	assert_string_equal(item(j, "IssueField")->valuestring, "Graffiti");
	cJSON_Delete(j);
	/* a type the library does not hold is refused like an API write */
	j = call("POST", path, "{\"issue\": \"No Such Type\"}", &st);
	assert_int_equal(st, 400);
	cJSON_Delete(j);

	snprintf(path, sizeof(path), "/_admin/requests/%ld/move", oid);
	j = call("POST", path, "{\"north_m\": 1000}", &st);
	assert_int_equal(st, 200);
	pt = cJSON_GetArrayItem(item(item(j, "CgShape"), "Points"), 0);
	/* 1000 m north of 41.3 is 0.008993 degrees of latitude */
	assert_true(item(pt, "Lat")->valuedouble > 41.3089 &&
	            item(pt, "Lat")->valuedouble < 41.3091);
	assert_true(item(pt, "Lng")->valuedouble == -72.9);
	cJSON_Delete(j);
	j = call("POST", path, "{\"lat\": 40.5, \"lng\": -73.5}", &st);
	assert_int_equal(st, 200);
	assert_true(item(item(item(j, "CgShape"), "Center"), "Lat")->valuedouble == 40.5);
	cJSON_Delete(j);

	snprintf(path, sizeof(path), "/_admin/requests/%ld/duplicate", oid);
	j = call("POST", path, NULL, &st);
	assert_int_equal(st, 201);
	dup = (long)item(j, "Oid")->valuedouble;
	assert_true(dup != oid);
	assert_string_equal(item(j, "StatusField")->valuestring, "Open");
	assert_string_equal(item(j, "IssueField")->valuestring, "Graffiti");
	cJSON_Delete(j);
	j = filtered("([SCFIssueID] is equal to \"9531\")", "&fields=Oid", &st);
	assert_int_equal(total(j), 2);
	cJSON_Delete(j);

	snprintf(path, sizeof(path), "/_admin/requests/%ld/delete", oid);
	j = call("POST", path, NULL, &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	j = call("POST", path, NULL, &st);
	assert_int_equal(st, 404);
	cJSON_Delete(j);
	j = filtered("([SCFIssueID] is equal to \"9531\")", "&fields=Oid", &st);
	assert_int_equal(total(j), 1);
	r = cJSON_GetArrayItem(item(j, "cgRequestsClass"), 0);
	assert_int_equal((long)item(r, "Oid")->valuedouble, dup);
	cJSON_Delete(j);
}

static void test_attachments_and_meta(void **state)
{
	long oid = create("Pothole", "8001", NULL, 0), st;
	char path[256];
	cJSON *j;
	const cJSON *ch;
	int found = 0;

	j = call("GET", "/api/v1/meta/Classes/cgRequestsClass", NULL, &st);
	assert_int_equal(st, 200);
	{
		const cJSON *m = cJSON_GetArrayItem(item(j, "Classes"), 0);

		cJSON_ArrayForEach(ch, item(m, "Children")) found |=
		    strcmp(ch->valuestring, "cgRequests_cgAttachmentsClass") == 0;
		assert_true(cJSON_GetArraySize(item(m, "Properties")) > 10);
	}
	assert_true(found);
	cJSON_Delete(j);
	snprintf(path, sizeof(path),
	         "/api/v1/classes/cgRequestsClass/%ld/cgRequests_cgAttachmentsClass", oid);
	j = call("POST", path,
	         "{\"cgRequests_cgAttachmentsClass\":[{\"AttachmentField\":\"https://example.org/"
	         "p.jpeg\",\"LinkedField\":true}]}",
	         &st);
	assert_int_equal(st, 200);
	assert_true(cJSON_IsNumber(
	    item(cJSON_GetArrayItem(item(j, "cgRequests_cgAttachmentsClass"), 0), "Oid")));
	cJSON_Delete(j);
	j = call("GET", path, NULL, &st);
	assert_int_equal(total(j), 1);
	assert_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(item(j, "cgRequests_cgAttachmentsClass"), 0), "_parent"));
	cJSON_Delete(j);
	/* A child list without fields= is spliced from cached record text:
	 * it must stay one valid document, also with two records and an
	 * offset (call() returns NULL on anything that is not JSON). */
	j = call("POST", path,
	         "{\"cgRequests_cgAttachmentsClass\":[{\"AttachmentField\":\"https://example.org/"
	         "q.jpeg\",\"LinkedField\":true}]}",
	         &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	j = call("GET", path, NULL, &st);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(item(j, "cgRequests_cgAttachmentsClass")), 2);
	assert_string_equal(
	    item(cJSON_GetArrayItem(item(j, "cgRequests_cgAttachmentsClass"), 1), "AttachmentField")
	        ->valuestring,
	    "https://example.org/q.jpeg");
	cJSON_Delete(j);
	{
		char p2[300];

		snprintf(p2, sizeof(p2), "%s?offset=1&sort=Oid:dsc", path);
		j = call("GET", p2, NULL, &st);
		assert_non_null(j);
		assert_int_equal(total(j), 2);
		assert_int_equal(cJSON_GetArraySize(item(j, "cgRequests_cgAttachmentsClass")), 1);
		assert_string_equal(
		    item(cJSON_GetArrayItem(item(j, "cgRequests_cgAttachmentsClass"), 0),
		         "AttachmentField")
		        ->valuestring,
		    "https://example.org/p.jpeg");
		cJSON_Delete(j);
	}
	j = call("POST", "/api/v1/classes/cgRequestsClass/1/cgRequests_cgAttachmentsClass",
	         "{\"cgRequests_cgAttachmentsClass\":[{\"LinkedField\":true}]}", &st);
	assert_int_equal(st, 404);
	cJSON_Delete(j);
	/* The child class is as strict as the request class. */
	j = call("POST", path,
	         "{\"cgRequests_cgAttachmentsClass\":[{\"AttachmentField\":\"https://example.org/"
	         "r.jpeg\",\"LinkedField\":\"true\"}]}",
	         &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(item(j, "Message")->valuestring, "'LinkedField'"));
	assert_non_null(strstr(item(j, "Message")->valuestring, "Boolean"));
	cJSON_Delete(j);
	j = call("POST", path,
	         "{\"cgRequests_cgAttachmentsClass\":[{\"attachmentField\":\"https://example.org/"
	         "r.jpeg\"}]}",
	         &st);
	assert_int_equal(st, 400);
	assert_string_equal(item(j, "Message")->valuestring,
	                    "Field 'attachmentField' does not exist on class "
	                    "cgRequests_cgAttachmentsClass.");
	cJSON_Delete(j);
	j = call("GET", path, NULL, &st);
	assert_int_equal(total(j), 2);
	cJSON_Delete(j);
}

static void test_auth(void **state)
{
	static const char *const none[] = {NULL};
	static const char *const wrong[] = {"Authorization: Basic Y2l0eTp3cm9uZw==", NULL};
	static const char *const ctype[] = {"Content-Type: application/json", NULL};
	char url[256], cookie_hdr[300];
	struct http_resp r;
	long st;
	cJSON *j;
	CURL *c;
	struct curl_slist *cookies = NULL;

	snprintf(url, sizeof(url), "%s/api/v1/classes/cgRequestsClass", oms.base);
	j = http_json("GET", url, none, NULL, &st);
	assert_int_equal(st, 401);
	assert_string_equal(item(j, "Message")->valuestring,
	                    "Authentication Required for API Access.");
	cJSON_Delete(j);
	j = http_json("GET", url, wrong, NULL, &st);
	assert_int_equal(st, 401);
	cJSON_Delete(j);

	snprintf(url, sizeof(url), "%s/api/v1/authenticate", oms.base);
	j = http_json("POST", url, ctype, "{\"userName\":\"city\",\"password\":\"nope\"}", &st);
	assert_int_equal(st, 401);
	assert_string_equal(item(j, "Message")->valuestring,
	                    "The user name or password is incorrect.");
	cJSON_Delete(j);
	snprintf(url, sizeof(url), "%s/api/v1/authenticate?userName=city&password=s3cret",
	         oms.base);
	j = http_json("POST", url, ctype, "{}", &st);
	assert_int_equal(st, 400);
	cJSON_Delete(j);

	/* Cookie session with libcurl's cookie engine. */
	c = curl_easy_init();
	snprintf(url, sizeof(url), "%s/api/v1/authenticate", oms.base);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(
	    c, CURLOPT_POSTFIELDS,
	    "{\"userName\":\"city\",\"password\":\"s3cret\",\"isInternalRequest\":false}");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, stderr);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	assert_int_equal(st, 200);
	curl_easy_getinfo(c, CURLINFO_COOKIELIST, &cookies);
	assert_non_null(cookies);
	{
		/* Netscape format: the value is the 7th tab-separated field. */
		const char *p = cookies->data;

		for (int i = 0; i < 5 && p; i++)
			p = strchr(p, '\t') ? strchr(p, '\t') + 1 : NULL;
		assert_non_null(p);
		snprintf(cookie_hdr, sizeof(cookie_hdr), "Cookie: %s", p);
		*strchr(cookie_hdr, '\t') = '=';
	}
	curl_slist_free_all(cookies);
	curl_easy_cleanup(c);
	{
		const char *const h[] = {cookie_hdr, NULL};

		snprintf(url, sizeof(url), "%s/api/v1/classes/cgRequestsClass?limit=1", oms.base);
		http_do("GET", url, h, NULL, 5000, &r);
		assert_int_equal(r.status, 200);
		http_resp_release(&r);
		snprintf(url, sizeof(url), "%s/api/v1/authenticate", oms.base);
		j = http_json("GET", url, h, NULL, &st);
		assert_int_equal(st, 200);
		assert_true(cJSON_IsString(item(j, "Cookie")));
		cJSON_Delete(j);
	}
}

static void test_maintenance_and_save_load(void **state)
{
	char file[] = "/tmp/oms-sim-state-XXXXXX";
	int fd = mkstemp(file);
	const char *args[] = {"--user", "city", "--password", "s3cret", "--save", file, NULL};
	struct simproc p;
	char url[256];
	long st;
	cJSON *j, *a, *b;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(simproc_start(&p, sim_bin("OMS_SIM_BIN"), args), 0);
	snprintf(url, sizeof(url), "%s/_admin/faults", p.base);
	j = http_json("POST", url, H, "{\"maintenance\": true}", &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	snprintf(url, sizeof(url), "%s/api/v1/classes/cgRequestsClass", p.base);
	j = http_json("GET", url, H, NULL, &st);
	assert_int_equal(st, 503);
	assert_non_null(strstr(item(j, "Message")->valuestring, "maintenance"));
	cJSON_Delete(j);
	snprintf(url, sizeof(url), "%s/_admin/faults", p.base);
	j = http_json("DELETE", url, H, NULL, &st);
	cJSON_Delete(j);
	snprintf(url, sizeof(url), "%s/api/v1/classes/cgRequestsClass", p.base);
	j = http_json("POST", url, H, "{\"cgRequestsClass\":[{\"IssueField\":\"Pothole\"}]}", &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	snprintf(url, sizeof(url), "%s/_admin/state", p.base);
	a = http_json("GET", url, H, NULL, &st);
	assert_int_equal(simproc_stop(&p), 0);
	{
		const char *largs[] = {"--user", "city", "--password", "s3cret",
		                       "--load", file,   NULL};

		assert_int_equal(simproc_start(&p, sim_bin("OMS_SIM_BIN"), largs), 0);
	}
	snprintf(url, sizeof(url), "%s/_admin/state", p.base);
	b = http_json("GET", url, H, NULL, &st);
	assert_true(cJSON_Compare(item(a, "records"), item(b, "records"), 1));
	assert_int_equal(item(a, "next_oid")->valueint, item(b, "next_oid")->valueint);
	cJSON_Delete(a);
	cJSON_Delete(b);
	simproc_stop(&p);
	unlink(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_and_get),
	    cmocka_unit_test(test_strict_unknown_and_case),
	    cmocka_unit_test(test_strict_types_and_read_only),
	    cmocka_unit_test(test_issue_lookup),
	    cmocka_unit_test(test_meta_shape),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_fields_sort_paging),
	    cmocka_unit_test(test_put_and_crew_close),
	    cmocka_unit_test(test_admin_drift),
	    cmocka_unit_test(test_attachments_and_meta),
	    cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_maintenance_and_save_load),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
