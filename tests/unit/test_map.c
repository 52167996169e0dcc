/*
 * test_map.c: the mapping module on the real payload shapes of
 * tests/data/scf/ and on hostile ones; the Cartegraph bodies parsed back
 * as JSON; issue records run through the real record encoder (XSD + Ed25519)
 * and decoder; every message placeholder case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "cfg.h"
#include "example_cfg.h"
#include "map.h"
#include "record.h"
#include "sig.h"
#include "unconst.h"

static struct cfg *cfg_oms; /* the example, oms half (CgShape) */

static char *read_data(const char *name, size_t *len)
{
	const char *src = getenv("SCFGATE_SOURCE_DIR");
	char path[1024];
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	snprintf(path, sizeof(path), "%s/tests/data/scf/%s", src ? src : ".", name);
	if (buf_read_file(&b, path, &e) != ERR_OK)
		fail_msg("%s", e.msg);
	return buf_detach(&b, len);
}

static struct record *map_file(const char *name, const struct cfg *c)
{
	size_t len;
	char *json = read_data(name, &len);
	struct record *r = NULL;
	struct err e;

	err_clear(&e);
	if (map_scf_issue(json, len, c, &r, &e) != ERR_OK)
		fail_msg("%s: %s", name, e.msg);
	free(json);
	return r;
}

static enum err_status map_text(const char *json, struct record **r, struct err *e)
{
	err_clear(e);
	return map_scf_issue(json, strlen(json), cfg_oms, r, e);
}

static int setup(void **state)
{
	cfg_oms = example_cfg_load(CFG_HALF_OMS);
	return 0;
}

static int teardown(void **state)
{
	cfg_free(cfg_oms);
	return 0;
}

/* ---- SCF -> records on real payloads ---- */

static void test_real_org_details_2018(void **state)
{
	struct record *r = map_file("real_org_details_2018_387246.json", cfg_oms);
	struct record_issue *is = &r->u.issue;

	assert_int_equal(r->kind, RECORD_ISSUE);
	assert_string_equal(r->key, "issue/387246");
	assert_int_equal(is->issue_id, 387246);
	assert_int_equal(is->request_type_id, 14550);
	assert_string_equal(is->request_type_title, "Solid Waste - Garbage Roll Cart");
	assert_string_equal(is->status, "Open");
	assert_string_equal(is->description, "Two test carts");
	assert_string_equal(is->address, "Bolin Creek Trail Chapel Hill, NC");
	assert_true(is->lat > 35.92 && is->lat < 35.93);
	assert_true(is->lng < -79.03 && is->lng > -79.04);
	assert_string_equal(is->created_at, "2018-06-04T15:22:03-04:00");
	assert_int_equal(is->reporter_id, 0);
	assert_string_equal(is->reporter_name, "An anonymous SeeClickFix user");
	/* image_full is null: the category icon is NOT an attachment */
	assert_null(is->media_url);
	assert_int_equal(is->n_questions, 6);
	assert_string_equal(is->questions[2].question, "How many carts purchased?");
	assert_string_equal(is->questions[2].answer, "2");
	assert_string_equal(is->questions[4].answer, "No Answer Given");
	assert_int_equal(is->n_comments, 0);
	cJSON *src = cJSON_Parse(is->source_json);
	assert_non_null(src);
	assert_int_equal(cJSON_GetObjectItem(src, "id")->valueint, 387246);
	cJSON_Delete(src);
	record_free(r);
}

static void test_real_2026_with_comments(void **state)
{
	struct record *r = map_file("real_2026_20980365_details.json", cfg_oms);
	struct record_issue *is = &r->u.issue;

	assert_int_equal(is->issue_id, 20980365);
	assert_string_equal(is->status, "Closed");
	assert_int_equal(is->request_type_id, 34322);
	assert_string_equal(is->created_at, "2026-02-10T08:15:19-05:00");
	assert_string_equal(is->updated_at, "2026-02-10T11:03:43-05:00");
	assert_non_null(is->media_url);
	assert_non_null(strstr(is->media_url, "/rails/active_storage/representations/redirect/"));
	assert_int_equal(is->reporter_id, 2342434);
	assert_int_equal(is->n_comments, 2);
	assert_string_equal(is->comments[0].comment_id, "62315589");
	assert_string_equal(is->comments[1].comment_id, "62322106");
	assert_int_equal(is->comments[0].issue_id, 20980365);
	assert_int_equal(is->comments[0].commenter_id, 1354845);
	assert_string_equal(is->comments[0].commenter_name, "Jersey City, NJ");
	/* "... assigned this issue to ..." by the org account (listed in the
	 * example's systemComments) */
	assert_int_equal(is->comments[0].is_system,
	                 CFG_SYSCOMMENT_ASSIGNED | CFG_SYSCOMMENT_ACCOUNT);
	assert_int_equal(is->comments[1].is_system, 0);
	assert_false(map_comment_forward(cfg_oms, &is->comments[0]));
	assert_true(map_comment_forward(cfg_oms, &is->comments[1]));
	assert_null(is->comments[1].media_url);
	record_free(r);

	/* without a configuration only the text pattern is known */
	r = map_file("real_2026_20980365_details.json", NULL);
	assert_int_equal(r->u.issue.comments[0].is_system, CFG_SYSCOMMENT_ASSIGNED);
	record_free(r);
}

static void test_real_public_2018_variants(void **state)
{
	/* rating as a number, no integrations, comment_url, \r\n in text */
	struct record *r = map_file("real_public_2018_4822743.json", cfg_oms);
	assert_int_equal(r->u.issue.issue_id, 4822743);
	assert_string_equal(r->u.issue.status, "Acknowledged");
	assert_non_null(strstr(r->u.issue.description, "\r\n\r\nThe owner"));
	assert_null(r->u.issue.media_url);
	assert_int_equal(r->u.issue.n_questions, 0);
	record_free(r);
}

static void test_docs_details_shape(void **state)
{
	/* The documented shape (integrations object, rating string, comment
	 * ids in "api/api" flag URLs, assignee) plus the request_type real
	 * payloads carry. */
	size_t len;
	char *json = read_data("docs_details_1.json", &len);
	cJSON *o = cJSON_ParseWithLength(json, len), *rt = cJSON_CreateObject();
	struct record *r;
	struct err e;

	cJSON_AddNumberToObject(rt, "id", 122);
	cJSON_AddStringToObject(rt, "title", "Pothole");
	cJSON_AddItemToObject(o, "request_type", rt);
	assert_int_equal(map_scf_issue_cjson(o, cfg_oms, &r, &e), ERR_OK);
	assert_int_equal(r->u.issue.issue_id, 1);
	assert_string_equal(r->u.issue.created_at, "2008-03-25T12:32:41-04:00");
	assert_int_equal(r->u.issue.n_questions, 2);
	assert_int_equal(r->u.issue.n_comments, 2);
	assert_string_equal(r->u.issue.comments[0].comment_id, "12345");
	assert_string_equal(r->u.issue.comments[1].comment_id, "12346");
	assert_string_equal(r->u.issue.comments[0].media_url,
	                    "http://seeclickfix.com/files/comment_images/0001/3476/"
	                    "32eebb4f8669b5beb441280bc16f26bf.jpeg");
	assert_string_equal(r->u.issue.media_url,
	                    "http://seeclickfix.com/files/comment_images/0001/3476/"
	                    "32eebb4f8669b5beb441280bc16f26bf.jpeg");
	record_free(r);

	/* the documented list item has no request_type: refused by name */
	cJSON_DeleteItemFromObject(o, "request_type");
	assert_int_equal(map_scf_issue_cjson(o, cfg_oms, &r, &e), ERR_PERM);
	assert_string_equal(e.msg, "SCF issue 1: field request_type: missing (needed to map the "
	                           "category)");
	cJSON_Delete(o);
	free(json);
}

static void test_comments_endpoint_and_fallback_key(void **state)
{
	size_t len;
	char *json = read_data("real_2026_comments_20980365.json", &len);
	cJSON *o = cJSON_ParseWithLength(json, len);
	cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "comments"), 0);
	struct record *r, *r2;
	struct err e;
	char key1[80];

	assert_int_equal(map_scf_comment_cjson(first, 20980365, cfg_oms, &r, &e), ERR_OK);
	assert_int_equal(r->kind, RECORD_COMMENT);
	assert_string_equal(r->key, "comment/20980365/62315589");
	record_free(r);

	/* no flag_url: "h-" + sha256 of (issue, created_at, commenter, text) */
	cJSON_DeleteItemFromObject(first, "flag_url");
	assert_int_equal(map_scf_comment_cjson(first, 20980365, cfg_oms, &r, &e), ERR_OK);
	assert_int_equal(strlen(r->u.comment.comment_id), 66);
	assert_memory_equal(r->u.comment.comment_id, "h-", 2);
	snprintf(key1, sizeof(key1), "%s", r->u.comment.comment_id);
	/* stable across polls */
	assert_int_equal(map_scf_comment_cjson(first, 20980365, cfg_oms, &r2, &e), ERR_OK);
	assert_string_equal(r2->u.comment.comment_id, key1);
	record_free(r2);
	/* and different for another text */
	cJSON_ReplaceItemInObject(first, "comment", cJSON_CreateString("other text"));
	assert_int_equal(map_scf_comment_cjson(first, 20980365, cfg_oms, &r2, &e), ERR_OK);
	assert_string_not_equal(r2->u.comment.comment_id, key1);
	record_free(r2);
	record_free(r);
	cJSON_Delete(o);
	free(json);

	char id[24];
	assert_int_equal(
	    map_comment_id_from_flag_url("https://seeclickfix.com/api/v2/comments/62315589/flag",
	                                 id, sizeof(id)),
	    0);
	assert_string_equal(id, "62315589");
	assert_int_equal(map_comment_id_from_flag_url("https://x/api/v2/issues/1/flag", id, 24),
	                 -1);
	assert_int_equal(map_comment_id_from_flag_url("https://x/comments//flag", id, 24), -1);
	assert_int_equal(map_comment_id_from_flag_url("https://x/comments/12/flagx", id, 24), -1);
	assert_int_equal(map_comment_id_from_flag_url(NULL, id, 24), -1);
}

static void test_closed_issue_comment(void **state)
{
	/* the closing comment of a real closed issue, by an official */
	size_t len;
	char *json = read_data("real_closed_2018_387126.json", &len);
	cJSON *o = cJSON_ParseWithLength(json, len);
	struct record *r;
	struct err e;

	assert_int_equal(
	    map_scf_comment_cjson(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "comments"), 0), 387126,
	                          cfg_oms, &r, &e),
	    ERR_OK);
	assert_string_equal(r->u.comment.comment_id, "1249313");
	assert_int_equal(r->u.comment.commenter_id, 72037);
	assert_int_equal(r->u.comment.is_system, 0);
	record_free(r);
	cJSON_Delete(o);
	free(json);
}

/* ---- hostile input ---- */

#define BASE_HEAD "{\"id\":77,\"status\":\"Open\",\"request_type\":{\"id\":122},"
#define BASE_TAIL "\"created_at\":\"2026-01-01T10:00:00-05:00\",\"lat\":41.3,\"lng\":-72.9}"

static void test_hostile_fields_named(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
	    {"{\"status\":\"Open\"}", "SCF issue: field id: missing"},
	    {"{\"id\":{\"x\":1}}", "SCF issue: field id: expected an integer"},
	    {"{\"id\":\"12abc\"}", "SCF issue: field id: not an integer"},
	    {"{\"id\":1.5}", "SCF issue: field id: not an integer"},
	    {"{\"id\":-4}", "SCF issue: field id: not a positive integer"},
	    {BASE_HEAD "\"description\":12," BASE_TAIL,
	     "SCF issue 77: field description: expected a string"},
	    {BASE_HEAD "\"integrations\":\"yes\"," BASE_TAIL,
	     "SCF issue 77: field integrations: expected null, an array or an object"},
	    {BASE_HEAD "\"rating\":[1]," BASE_TAIL, "SCF issue 77: field rating: "},
	    {BASE_HEAD "\"questions\":{}," BASE_TAIL,
	     "SCF issue 77: field questions: expected an array"},
	    {BASE_HEAD "\"questions\":[1]," BASE_TAIL,
	     "SCF issue 77: field questions[]: expected an object"},
	    {BASE_HEAD "\"comments\":[{\"comment\":\"x\"}]," BASE_TAIL,
	     "SCF issue 77: field comments[].created_at: missing"},
	    {BASE_HEAD "\"comments\":[{\"comment\":\"x\",\"created_at\":\"yesterday\"}]," BASE_TAIL,
	     "SCF issue 77: field comments[].created_at: not an RFC 3339 time"},
	    {BASE_HEAD "\"media\":{\"image_full\":\"javascript:alert(1)\"}," BASE_TAIL,
	     "SCF issue 77: field media.image_full: not an http(s) URL"},
	    {BASE_HEAD "\"media\":{\"image_full\":\"https://x/\xc3\xa9.jpg\"}," BASE_TAIL,
	     "SCF issue 77: field media.image_full: not an http(s) URL"},
	    {BASE_HEAD "\"media\":[]," BASE_TAIL, "SCF issue 77: field media: expected an object"},
	    {"{\"id\":77,\"status\":\"Open\",\"request_type\":{\"id\":122},\"lat\":1,\"lng\":2}",
	     "SCF issue 77: field created_at: missing"},
	    {"{\"id\":77,\"status\":\"Open\",\"request_type\":{\"id\":122},"
	     "\"created_at\":\"2026-01-01T10:00:00Z\"}",
	     "SCF issue 77: field lat: missing (and no point.coordinates)"},
	    {"{\"id\":77,\"status\":\"Open\",\"request_type\":{\"id\":122},"
	     "\"created_at\":\"2026-01-01T10:00:00Z\",\"lat\":91,\"lng\":0}",
	     "SCF issue 77: field lat: out of range"},
	    {"{\"id\":77,\"status\":\"Open\",\"request_type\":{\"title\":\"x\"}," BASE_TAIL,
	     "SCF issue 77: field request_type.id: missing"},
	    {"{\"id\":77,\"request_type\":{\"id\":1}," BASE_TAIL,
	     "SCF issue 77: field status: missing"},
	    {"[1,2]", "SCF issue: field (issue): expected a JSON object"},
	    {"{\"id\":", "SCF issue: not valid JSON"},
	};
	struct record *r;
	struct err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum err_status st = map_text(cases[i].json, &r, &e);
		if (st != ERR_PERM || !strstr(e.msg, cases[i].want))
			fail_msg("case %zu: status %d \"%s\", wanted \"%s\"", i, st, e.msg,
			         cases[i].want);
		assert_null(r);
	}
}

static void test_hostile_huge_and_utf8(void **state)
{
	size_t big = MAP_TEXT_MAX + 10;
	char *json = malloc(big + 256), *p;
	struct record *r;
	struct err e;

	p = json + snprintf(json, big + 256, BASE_HEAD "\"description\":\"");
	memset(p, 'a', big);
	p += big;
	snprintf(p, 256, "\"," BASE_TAIL);
	assert_int_equal(map_text(json, &r, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "SCF issue 77: field description: longer than"));
	free(json);

	/* invalid UTF-8 and control characters in text are replaced by U+FFFD */
	assert_int_equal(
	    map_text(BASE_HEAD "\"description\":\"ok \xff\xfe bad \xc3\x28 \\u0001 end\","
	                       "\"questions\":[{\"question\":\"Q\xe2\x82\",\"answer\":"
	                       "[\"a\",\"b\"]},{\"question\":\"N\",\"answer\":null}],"
	                       "\"reporter\":{\"id\":\"5\",\"name\":\"\xed\xa0\x80x\"}," BASE_TAIL,
	             &r, &e),
	    ERR_OK);
	assert_string_equal(r->u.issue.description,
	                    "ok \xef\xbf\xbd\xef\xbf\xbd bad \xef\xbf\xbd( \xef\xbf\xbd end");
	assert_string_equal(r->u.issue.questions[0].question, "Q\xef\xbf\xbd");
	assert_string_equal(r->u.issue.questions[0].answer, "a, b");
	assert_string_equal(r->u.issue.questions[1].answer, "");
	assert_int_equal(r->u.issue.reporter_id, 5);
	assert_int_equal(text_utf8_clean(r->u.issue.source_json, strlen(r->u.issue.source_json)),
	                 1);
	record_free(r);
}

static void test_tolerated_variants(void **state)
{
	struct record *r;
	struct err e;

	/* id as a string, point instead of lat/lng, "null" strings of the docs,
	 * description null, integrations null, comments_url, no updated_at */
	assert_int_equal(
	    map_text("{\"id\":\"88\",\"status\":\"Open\",\"request_type\":{\"id\":\"122\"},"
	             "\"description\":null,\"integrations\":null,\"rating\":\"5\","
	             "\"comments_url\":\"https://x/\",\"created_at\":\"2026-01-01T10:00:00Z\","
	             "\"point\":{\"type\":\"Point\",\"coordinates\":[-72.5,41.25]},"
	             "\"media\":{\"image_full\":\"null\",\"representative_image_url\":"
	             "\"https://seeclickfix.com/assets/categories/x.png\"}}",
	             &r, &e),
	    ERR_OK);
	assert_int_equal(r->u.issue.issue_id, 88);
	assert_int_equal(r->u.issue.request_type_id, 122);
	assert_null(r->u.issue.description);
	assert_null(r->u.issue.media_url);
	assert_true(r->u.issue.lat == 41.25 && r->u.issue.lng == -72.5);
	assert_string_equal(r->u.issue.updated_at, "2026-01-01T10:00:00Z");
	assert_string_equal(r->u.issue.summary, "");
	record_free(r);
	/* integrations as an array, rating as a number */
	assert_int_equal(map_text(BASE_HEAD "\"integrations\":[],\"rating\":3," BASE_TAIL, &r, &e),
	                 ERR_OK);
	record_free(r);
}

/* ---- records survive the real record format ---- */

static void test_records_encode_and_decode(void **state)
{
	char dir[] = "/tmp/scfgate-map-XXXXXX", path[256], cmd[300];
	struct sig_key *priv, *pub;
	struct record *r = map_file("real_2026_20980365_details.json", cfg_oms), *back, *cm;
	struct buf out = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(sig_keygen(dir, "scf", &e), ERR_OK);
	snprintf(path, sizeof(path), "%s/scf.key", dir);
	assert_int_equal(sig_load_private(path, &priv, &e), ERR_OK);
	snprintf(path, sizeof(path), "%s/scf.pub", dir);
	assert_int_equal(sig_load_public(path, &pub, &e), ERR_OK);

	snprintf(r->producer, sizeof(r->producer), "scf");
	r->seq = 1;
	if (record_encode(r, priv, &out, &e) != ERR_OK)
		fail_msg("issue record: %s", e.msg);
	assert_int_equal(record_decode(out.data, out.len, pub, &back, &e), ERR_OK);
	assert_int_equal(back->u.issue.n_comments, 2);
	assert_string_equal(back->u.issue.comments[0].comment_id, "62315589");
	record_free(back);

	assert_int_equal(map_comment_record(&r->u.issue.comments[1], &cm, &e), ERR_OK);
	snprintf(cm->producer, sizeof(cm->producer), "scf");
	cm->seq = 2;
	buf_reset(&out);
	if (record_encode(cm, priv, &out, &e) != ERR_OK)
		fail_msg("comment record: %s", e.msg);
	record_free(cm);

	assert_int_equal(map_attachment_record(20980365, NULL, r->u.issue.media_url, &cm, &e),
	                 ERR_OK);
	assert_string_equal(cm->key, "attachment/20980365/issue");
	snprintf(cm->producer, sizeof(cm->producer), "scf");
	cm->seq = 3;
	buf_reset(&out);
	if (record_encode(cm, priv, &out, &e) != ERR_OK)
		fail_msg("attachment record: %s", e.msg);
	record_free(cm);
	assert_int_equal(map_attachment_record(1, "5", "file:///etc/passwd", &cm, &e), ERR_PERM);

	/* hostile text that was repaired still makes a valid record */
	record_free(r);
	assert_int_equal(
	    map_text(BASE_HEAD "\"description\":\"\xff<script>\\u0002\"," BASE_TAIL, &r, &e),
	    ERR_OK);
	snprintf(r->producer, sizeof(r->producer), "scf");
	r->seq = 4;
	buf_reset(&out);
	if (record_encode(r, priv, &out, &e) != ERR_OK)
		fail_msg("repaired issue record: %s", e.msg);
	record_free(r);

	buf_release(&out);
	sig_key_free(priv);
	sig_key_free(pub);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- records -> Cartegraph ---- */

static cJSON *body_row(const struct buf *b, const char *cls)
{
	cJSON *o = cJSON_Parse(b->data);
	assert_non_null(o);
	cJSON *arr = cJSON_GetObjectItem(o, cls);
	assert_true(cJSON_IsArray(arr));
	assert_int_equal(cJSON_GetArraySize(arr), 1);
	cJSON *row = cJSON_DetachItemFromArray(arr, 0);
	cJSON_Delete(o);
	return row;
}

static const char *str_of(const cJSON *row, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(row, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_create_body(void **state)
{
	struct record *r = map_file("real_org_details_2018_387246.json", cfg_oms);
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	assert_int_equal(map_cg_create_body(cfg_oms, &r->u.issue, &b, &e), ERR_OK);
	cJSON *row = body_row(&b, "cgRequestsClass");
	assert_string_equal(str_of(row, "RequesterField"), "SeeClickFix");
	assert_string_equal(str_of(row, "IssueField"), "Garbage Cart");
	assert_string_equal(str_of(row, "LocationDescriptionField"),
	                    "Bolin Creek Trail Chapel Hill, NC");
	/* the summary too, not only the description (nothing is dropped) */
	assert_string_equal(str_of(row, "DescriptionField"),
	                    "Solid Waste - Garbage Roll Cart\n\n"
	                    "Two test carts\n\n"
	                    "What type of issue is being reported or requested?: Deliver New Cart\n"
	                    "Does old cart need to be removed?: Yes\n"
	                    "How many carts purchased?: 2\n"
	                    "Does reporter want a follow up?: No\n"
	                    "Reporter Name: No Answer Given\n"
	                    "Serial Number of Removed Cart: No Answer Given");
	/* dynamic custom field: the reporter's answer */
	assert_string_equal(str_of(row, "CartCountField"), "2");
	assert_string_equal(str_of(row, "SeeClickFixIDField"), "387246");
	/* no photo: neither attachment nor linked */
	assert_null(cJSON_GetObjectItem(row, "AttachmentField"));
	assert_null(cJSON_GetObjectItem(row, "LinkedField"));
	assert_null(cJSON_GetObjectItem(row, "CommentsField"));
	cJSON *shape = cJSON_GetObjectItem(row, "CgShape");
	assert_int_equal(cJSON_GetObjectItem(shape, "ShapeType")->valueint, 1);
	cJSON *pt = cJSON_GetArrayItem(cJSON_GetObjectItem(shape, "Points"), 0);
	assert_true(cJSON_GetObjectItem(pt, "Lat")->valuedouble == r->u.issue.lat);
	assert_true(cJSON_GetObjectItem(pt, "Lng")->valuedouble == r->u.issue.lng);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(shape, "Center"), "Lat")->valuedouble ==
	            r->u.issue.lat);
	cJSON_Delete(row);

	/* "No Answer Given" is unanswered: the default applies */
	free(r->u.issue.questions[2].answer);
	r->u.issue.questions[2].answer = strdup("No Answer Given");
	buf_reset(&b);
	assert_int_equal(map_cg_create_body(cfg_oms, &r->u.issue, &b, &e), ERR_OK);
	row = body_row(&b, "cgRequestsClass");
	assert_string_equal(str_of(row, "CartCountField"), "1");
	cJSON_Delete(row);

	/* unmapped request type: refused, never guessed */
	r->u.issue.request_type_id = 999;
	assert_int_equal(map_cg_create_body(cfg_oms, &r->u.issue, &b, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "request type 999 is not mapped"));
	record_free(r);
	buf_release(&b);
}

static void test_create_body_photo_comments_fields_mode(void **state)
{
	struct record *r = map_file("real_2026_20980365_details.json", cfg_oms);
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP), x = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct cfg *c;
	struct err e;

	/* the example with lat/lng fields and request type 34322 mapped */
	assert_int_equal(cfg_example(CFG_HALF_OMS, &x), ERR_OK);
	char *loc = strstr(x.data, "<location shape=\"CgShape\"/>");
	assert_non_null(loc);
	char *types = strstr(x.data, "<requestTypes>");
	struct buf y = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	buf_add(&y, x.data, (size_t)(loc - x.data));
	buf_adds(&y, "<location lat=\"LatField\" lng=\"LongField\"/>");
	buf_add(&y, loc + strlen("<location shape=\"CgShape\"/>"),
	        (size_t)(types - loc - strlen("<location shape=\"CgShape\"/>")));
	buf_adds(&y, "<requestTypes><requestType id=\"34322\" remoteId=\"Sidewalk Ice\">"
	             "<customField field=\"BlockedField\" question=\"Is the sidewalk blocked?\"/>"
	             "<customField field=\"NameField\" question=\"Reporter Name\"/>"
	             "</requestType>");
	buf_adds(&y, types + strlen("<requestTypes>"));
	if (cfg_load_mem(y.data, y.len, "fields.xml", CFG_NO_FILE_CHECKS, &c, &e) != ERR_OK)
		fail_msg("%s", e.msg);

	assert_int_equal(map_cg_create_body(c, &r->u.issue, &b, &e), ERR_OK);
	cJSON *row = body_row(&b, "cgRequestsClass");
	assert_true(cJSON_GetObjectItem(row, "LatField")->valuedouble == r->u.issue.lat);
	assert_true(cJSON_GetObjectItem(row, "LongField")->valuedouble == r->u.issue.lng);
	assert_null(cJSON_GetObjectItem(row, "CgShape"));
	/* the photo is an attachment child record, not a request field */
	assert_non_null(r->u.issue.media_url);
	assert_null(cJSON_GetObjectItem(row, "AttachmentField"));
	assert_null(cJSON_GetObjectItem(row, "LinkedField"));
	assert_string_equal(str_of(row, "BlockedField"), "Yes");
	/* unanswered, no default: the field is left alone */
	assert_null(cJSON_GetObjectItem(row, "NameField"));
	/* public comments so far: the person's, not the system's */
	const char *comments = str_of(row, "CommentsField");
	assert_non_null(comments);
	assert_non_null(strstr(comments, "[scf-comment 62322106] 2026-02-10T11:03:43-05:00 Code "
	                                 "Compliance Inspector: Anissa: Thank you"));
	assert_null(strstr(comments, "62315589"));
	cJSON_Delete(row);
	cfg_free(c);

	/* <requestPhoto/>: a request class with photo fields of its own gets
	 * the URL and true as well, under the names given. */
	{
		struct buf z = BUF_INIT_CAP(BUF_DEFAULT_CAP);
		char *at = strstr(y.data, "<location lat=");

		assert_non_null(at);
		buf_add(&z, y.data, (size_t)(at - y.data));
		buf_adds(&z,
		         "<requestPhoto attachment=\"PhotoUrlField\" linked=\"HasPhotoField\"/>");
		buf_adds(&z, at);
		if (cfg_load_mem(z.data, z.len, "photo.xml", CFG_NO_FILE_CHECKS, &c, &e) != ERR_OK)
			fail_msg("%s", e.msg);
		assert_string_equal(c->cg.request_photo_attachment_field, "PhotoUrlField");
		assert_string_equal(c->cg.request_photo_linked_field, "HasPhotoField");
		assert_true(c->cg.request_photo_line > 0);
		buf_reset(&b);
		assert_int_equal(map_cg_create_body(c, &r->u.issue, &b, &e), ERR_OK);
		row = body_row(&b, "cgRequestsClass");
		assert_string_equal(str_of(row, "PhotoUrlField"), r->u.issue.media_url);
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(row, "HasPhotoField")));
		assert_null(cJSON_GetObjectItem(row, "AttachmentField"));
		cJSON_Delete(row);
		/* no photo: neither */
		free(r->u.issue.media_url);
		r->u.issue.media_url = NULL;
		buf_reset(&b);
		assert_int_equal(map_cg_create_body(c, &r->u.issue, &b, &e), ERR_OK);
		row = body_row(&b, "cgRequestsClass");
		assert_null(cJSON_GetObjectItem(row, "PhotoUrlField"));
		assert_null(cJSON_GetObjectItem(row, "HasPhotoField"));
		cJSON_Delete(row);
		cfg_free(c);
		buf_release(&z);
	}
	/* absent: no request photo fields */
	assert_null(cfg_oms->cg.request_photo_attachment_field);
	assert_null(cfg_oms->cg.request_photo_linked_field);
	assert_int_equal(cfg_oms->cg.request_photo_line, 0);
	record_free(r);
	buf_release(&b);
	buf_release(&x);
	buf_release(&y);
}

static void test_aspnet_escaping(void **state)
{
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct record *r;
	struct err e;

	assert_int_equal(
	    text_aspnet_escape("<script>x</script> a < b, a<5, <!-- <?x &#60; & #1", &b), ERR_OK);
	assert_string_equal(b.data, "\xef\xbc\x9cscript>x\xef\xbc\x9c/script> a < b, a<5, "
	                            "\xef\xbc\x9c!-- \xef\xbc\x9c?x &\xef\xbc\x83"
	                            "60; & #1");

	assert_int_equal(map_text(BASE_HEAD "\"description\":\"<b>big</b> hole &#38; more\","
	                                    "\"address\":\"<img src=x>\"," BASE_TAIL,
	                          &r, &e),
	                 ERR_OK);
	buf_reset(&b);
	assert_int_equal(map_cg_create_body(cfg_oms, &r->u.issue, &b, &e), ERR_OK);
	/* the body holds no sequence ASP.NET request validation refuses */
	cJSON *row = body_row(&b, "cgRequestsClass");
	const char *d = str_of(row, "DescriptionField"),
	           *a = str_of(row, "LocationDescriptionField");
	assert_null(strstr(d, "<b"));
	assert_null(strstr(d, "&#"));
	assert_null(strstr(a, "<i"));
	assert_non_null(strstr(d, "big"));
	assert_non_null(strstr(d, "hole"));
	cJSON_Delete(row);
	record_free(r);
	buf_release(&b);
}

static void test_notes_and_attachment_bodies(void **state)
{
	struct record *r = map_file("real_2026_20980365_details.json", cfg_oms);
	struct record_comment *cm = &r->u.issue.comments[1];
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	assert_int_equal(map_cg_note(cfg_oms, cm, &b), ERR_OK);
	assert_memory_equal(b.data, "[scf-comment 62322106] ", 23);
	assert_true(map_cg_notes_have(b.data, "62322106"));
	assert_false(map_cg_notes_have(b.data, "6232210"));
	assert_false(map_cg_notes_have(b.data, "2322106"));
	assert_false(map_cg_notes_have(NULL, "62322106"));

	/* The default route appends to the gateway's own field, not the notes. */
	assert_int_equal(cfg_oms->cg.comment_route, CFG_COMMENTS_FIELD);
	buf_reset(&b);
	assert_int_equal(map_cg_notes_body(cfg_oms, 4242, "Earlier <b>", cm, &b, &e), ERR_OK);
	cJSON *row = body_row(&b, "cgRequestsClass");
	assert_int_equal(cJSON_GetObjectItem(row, "Oid")->valueint, 4242);
	assert_null(cJSON_GetObjectItem(row, "NotesField"));
	const char *notes = str_of(row, "CommentsField");
	assert_memory_equal(notes, "Earlier <b>\n[scf-comment 62322106] ", 35);
	assert_true(map_cg_notes_have(notes, "62322106"));
	cJSON_Delete(row);

	buf_reset(&b);
	assert_int_equal(map_cg_notes_body(cfg_oms, 1, NULL, cm, &b, &e), ERR_OK);
	row = body_row(&b, "cgRequestsClass");
	assert_memory_equal(str_of(row, "CommentsField"), "[scf-comment", 12);
	cJSON_Delete(row);

	/* Route notes: the same append, into NotesField. */
	struct cfg notes_cfg = *cfg_oms;
	notes_cfg.cg.comment_route = CFG_COMMENTS_NOTES;
	notes_cfg.cg.comment_field = notes_cfg.cg.notes_field;
	buf_reset(&b);
	assert_int_equal(map_cg_notes_body(&notes_cfg, 7, "Crew: cones", cm, &b, &e), ERR_OK);
	row = body_row(&b, "cgRequestsClass");
	assert_null(cJSON_GetObjectItem(row, "CommentsField"));
	assert_memory_equal(str_of(row, "NotesField"), "Crew: cones\n[scf-comment 62322106] ", 35);
	cJSON_Delete(row);

	/* Route child: one record with the note alone, in the child class. */
	struct cfg child_cfg = *cfg_oms;
	child_cfg.cg.comment_route = CFG_COMMENTS_CHILD;
	child_cfg.cg.comment_class = UNCONST("cgRequests_cgCommentsClass");
	child_cfg.cg.comment_field = UNCONST("CommentField");
	buf_reset(&b);
	assert_int_equal(map_cg_comment_child_body(&child_cfg, cm, &b, &e), ERR_OK);
	row = body_row(&b, "cgRequests_cgCommentsClass");
	assert_int_equal(cJSON_GetArraySize(row), 1);
	assert_memory_equal(str_of(row, "CommentField"), "[scf-comment 62322106] ", 23);
	{
		struct buf note = BUF_INIT_CAP(BUF_DEFAULT_CAP),
		           esc = BUF_INIT_CAP(BUF_DEFAULT_CAP);
		assert_int_equal(map_cg_note(&child_cfg, cm, &note), ERR_OK);
		assert_int_equal(text_aspnet_escape(buf_str(&note), &esc), ERR_OK);
		assert_string_equal(str_of(row, "CommentField"), buf_str(&esc));
		buf_release(&note);
		buf_release(&esc);
	}
	cJSON_Delete(row);

	struct record_attachment at = {20980365, NULL, r->u.issue.media_url, NULL};
	buf_reset(&b);
	assert_int_equal(map_cg_attachment_body(cfg_oms, &at, &b, &e), ERR_OK);
	row = body_row(&b, "cgRequests_cgAttachmentsClass");
	assert_string_equal(str_of(row, "AttachmentField"), r->u.issue.media_url);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(row, "LinkedField")));
	cJSON_Delete(row);
	record_free(r);
	buf_release(&b);
}

/* ---- description and comment templates ---- */

/* The example configuration with its <templates> section replaced by
 * `templates` (the whole element, or "" for none: the defaults). */
static struct cfg *cfg_with_templates(const char *templates)
{
	struct buf x = BUF_INIT_CAP(BUF_DEFAULT_CAP), y = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct cfg *c = NULL;
	struct err e;
	char *a, *z;

	assert_int_equal(cfg_example(CFG_HALF_OMS, &x), ERR_OK);
	a = strstr(x.data, "    <templates>");
	z = strstr(x.data, "</templates>\n");
	assert_non_null(a);
	assert_non_null(z);
	buf_add(&y, x.data, (size_t)(a - x.data));
	buf_adds(&y, templates);
	buf_adds(&y, z + strlen("</templates>\n"));
	err_clear(&e);
	if (cfg_load_mem(y.data, y.len, "templates.xml", CFG_NO_FILE_CHECKS, &c, &e) != ERR_OK)
		fail_msg("%s", e.msg);
	buf_release(&x);
	buf_release(&y);
	return c;
}

static char *escaped(const char *s)
{
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	char *d;

	assert_int_equal(text_aspnet_escape(s, &b), ERR_OK);
	d = buf_detach(&b, NULL);
	return d ? d : strdup("");
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) && strcmp(v->valuestring, "null") != 0 ? v->valuestring : NULL;
}

/* One issue object through the mapper and the create body with c; the
 * DescriptionField must hold the summary, the description and every
 * "Question: answer" line of the SOURCE JSON byte for byte after the
 * escaping, and, under the default template, be exactly their escaped
 * join with one blank line between the parts that are not empty. */
static void check_description_keeps_everything(const struct cfg *c, cJSON *obj, int dflt,
                                               const char *what)
{
	struct record *r = NULL;
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP), want = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;
	const char *summary = jstr(obj, "summary"), *desc = jstr(obj, "description");
	const cJSON *qa;
	char *esc;

	/* the reference's documentation examples carry no request type; map
	 * every payload to one the example configuration knows */
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "request_type");
	cJSON *rt = cJSON_AddObjectToObject(obj, "request_type");
	cJSON_AddNumberToObject(rt, "id", 122);
	cJSON_AddStringToObject(rt, "title", "Pothole");
	err_clear(&e);
	if (map_scf_issue_cjson(obj, c, &r, &e) != ERR_OK)
		fail_msg("%s: %s", what, e.msg);
	assert_int_equal(map_cg_create_body(c, &r->u.issue, &b, &e), ERR_OK);
	cJSON *row = body_row(&b, "cgRequestsClass");
	const char *d = str_of(row, "DescriptionField");
	assert_non_null(d);
	if (summary && *summary) {
		esc = escaped(summary);
		if (!strstr(d, esc))
			fail_msg("%s: summary \"%.60s\" missing from \"%.200s\"", what, summary, d);
		free(esc);
		buf_adds(&want, summary);
	}
	if (desc && *desc) {
		esc = escaped(desc);
		if (!strstr(d, esc))
			fail_msg("%s: description missing", what);
		free(esc);
		buf_addf(&want, "%s%s", want.len ? "\n\n" : "", desc);
	}
	size_t nq = 0;
	cJSON_ArrayForEach(qa, cJSON_GetObjectItemCaseSensitive(obj, "questions"))
	{
		char line[8192];
		snprintf(line, sizeof(line), "%s: %s", jstr(qa, "question"),
		         jstr(qa, "answer") ? jstr(qa, "answer") : "");
		esc = escaped(line);
		if (!strstr(d, esc))
			fail_msg("%s: \"%s\" missing", what, line);
		free(esc);
		buf_addf(&want, "%s%s", want.len ? (nq ? "\n" : "\n\n") : "", line);
		nq++;
	}
	assert_int_equal(nq, r->u.issue.n_questions);
	if (dflt) {
		esc = escaped(buf_str(&want));
		if (strcmp(d, esc) != 0)
			fail_msg("%s: DescriptionField\n\"%.300s\"\nexpected\n\"%.300s\"", what, d,
			         esc);
		free(esc);
	}
	cJSON_Delete(row);
	record_free(r);
	buf_release(&b);
	buf_release(&want);
}

/* The issue objects of the reference (tests/data/scf) plus the three hard
 * texts: unicode, 20 kB, markup that ASP.NET request validation refuses. */
static size_t payloads(cJSON **out, size_t max)
{
	static const char *const files[] = {"docs_list_item.json",
	                                    "docs_details_1.json",
	                                    "real_public_2018_4822743.json",
	                                    "real_org_page_2018_14550.json",
	                                    "real_org_details_2018_387246.json",
	                                    "real_2026_20980365.json",
	                                    "real_2026_20980365_details.json"};
	size_t n = 0, len;

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char *json = read_data(files[f], &len);
		cJSON *o = cJSON_ParseWithLength(json, len), *is;
		free(json);
		assert_non_null(o);
		if (cJSON_GetObjectItem(o, "issues")) {
			cJSON_ArrayForEach(is, cJSON_GetObjectItem(o, "issues"))
			{
				assert_true(n < max);
				out[n++] = cJSON_Duplicate(is, 1);
			}
			cJSON_Delete(o);
		} else {
			assert_true(n < max);
			out[n++] = o;
		}
	}
	/* the same shape with hard texts */
	char *json = read_data("docs_details_1.json", &len);
	cJSON *base = cJSON_ParseWithLength(json, len);
	free(json);
	assert_non_null(base);

	cJSON *u = cJSON_Duplicate(base, 1);
	cJSON_ReplaceItemInObject(u, "summary", cJSON_CreateString("Vieux canapé devant le café"));
	cJSON_ReplaceItemInObject(
	    u, "description",
	    cJSON_CreateString("Hay un bache enorme frente a la escuela 🚲.\r\n\r\n"
	                       "路灯坏了，晚上很黑。 Straße – «quoted» Zoë Ødegaard\t∑"));
	cJSON *qs = cJSON_CreateArray(), *q = cJSON_CreateObject();
	cJSON_AddStringToObject(q, "question", "¿Está bloqueada la acera?");
	cJSON_AddStringToObject(q, "answer", "Sí, 完全に");
	cJSON_AddItemToArray(qs, q);
	cJSON_ReplaceItemInObject(u, "questions", qs);
	out[n++] = u;

	struct buf big = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	static const char *const words[] = {"pothole ", "été ", "señal ", "<b>x</b> ",
	                                    "&#38; ",   "路 ",  "a<5 ",   "\n\n\n"};
	for (unsigned i = 0; big.len < (size_t)20 * 1024; i++)
		buf_adds(&big, words[(i * 7) % 8]);
	cJSON *l = cJSON_Duplicate(base, 1);
	cJSON_ReplaceItemInObject(l, "summary",
	                          cJSON_CreateString("Big crack on Elm St (typed by hand)"));
	cJSON_ReplaceItemInObject(l, "description", cJSON_CreateString(big.data));
	buf_release(&big);
	out[n++] = l;

	cJSON *s = cJSON_Duplicate(base, 1);
	cJSON_ReplaceItemInObject(s, "summary", cJSON_CreateString("<script>alert('x')</script>"));
	cJSON_ReplaceItemInObject(
	    s, "description",
	    cJSON_CreateString("Tagged again: \"<script>alert(1)</script>\" &#60; <b>bold</b> "
	                       "<!-- c --> <?php ?> & #1 a < b"));
	qs = cJSON_CreateArray();
	q = cJSON_CreateObject();
	cJSON_AddStringToObject(q, "question", "<b>Where?</b>");
	cJSON_AddStringToObject(q, "answer", "<img src=x onerror=alert(1)>&#x3C;");
	cJSON_AddItemToArray(qs, q);
	cJSON_ReplaceItemInObject(s, "questions", qs);
	out[n++] = s;

	/* no description: the summary and the questions, one blank line */
	cJSON *nd = cJSON_Duplicate(base, 1);
	cJSON_ReplaceItemInObject(nd, "description", cJSON_CreateNull());
	out[n++] = nd;
	cJSON_Delete(base);
	return n;
}

static void test_description_keeps_what_the_resident_wrote(void **state)
{
	cJSON *p[32];
	size_t n = payloads(p, 28);
	struct cfg *custom = cfg_with_templates("    <templates>\n"
	                                        "      <description>\n"
	                                        "        [{request_type}] {summary}\n"
	                                        "        Reported by: {reporter}\n"
	                                        "        Address: {address}\n"
	                                        "\n"
	                                        "        {description}\n"
	                                        "\n"
	                                        "        Answers:\n"
	                                        "        {questions}\n"
	                                        "        SeeClickFix {issue_id} {url}\n"
	                                        "      </description>\n"
	                                        "    </templates>\n");
	char what[64];

	assert_true(n >= 11);
	for (size_t i = 0; i < n; i++) {
		cJSON *dup = cJSON_Duplicate(p[i], 1);
		snprintf(what, sizeof(what), "payload %zu (default)", i);
		check_description_keeps_everything(cfg_oms, p[i], 1, what);
		snprintf(what, sizeof(what), "payload %zu (custom)", i);
		check_description_keeps_everything(custom, dup, 0, what);
		cJSON_Delete(dup);
		cJSON_Delete(p[i]);
	}
	cfg_free(custom);
}

static struct record_issue sample_issue(void)
{
	/* writable arrays: the record's strings are plain char * */
	static char q0[] = "Is it hazardous?", a0[] = "Yes";
	static char q1[] = "Reporter Name", a1[] = "No Answer Given";
	static struct record_qa qa[2] = {{q0, a0}, {q1, a1}};
	struct record_issue is;

	memset(&is, 0, sizeof(is));
	is.issue_id = 77;
	is.request_type_id = 122;
	is.summary = UNCONST("Pothole");
	is.description = UNCONST("Deep one.\n\n\nIn the bike lane.");
	is.address = UNCONST("1 Elm St");
	is.reporter_name = UNCONST("Zoë");
	is.html_url = UNCONST("https://seeclickfix.com/issues/77");
	is.created_at = UNCONST("2026-01-01T10:00:00-05:00");
	is.questions = qa;
	is.n_questions = 2;
	return is;
}

static char *render_desc(const struct cfg *c, const struct record_issue *is)
{
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	assert_int_equal(map_render_description(c, is, &b, &e), ERR_OK);
	return b.data ? buf_detach(&b, NULL) : strdup("");
}

/* The line rule: parts that are empty leave no blank line behind, the
 * values' own blank lines stay as they are. */
static void test_description_line_rule(void **state)
{
	struct record_issue is = sample_issue();
	char *t;

	t = render_desc(NULL, &is);
	assert_string_equal(t, "Pothole\n\nDeep one.\n\n\nIn the bike lane.\n\n"
	                       "Is it hazardous?: Yes\nReporter Name: No Answer Given");
	free(t);
	is.description = NULL;
	t = render_desc(cfg_oms, &is);
	assert_string_equal(t, "Pothole\n\nIs it hazardous?: Yes\nReporter Name: No Answer Given");
	free(t);
	is.n_questions = 0;
	t = render_desc(cfg_oms, &is);
	assert_string_equal(t, "Pothole");
	free(t);
	is.summary = UNCONST("");
	is.description = UNCONST("Only this.");
	t = render_desc(cfg_oms, &is);
	assert_string_equal(t, "Only this.");
	free(t);
	is.description = UNCONST("");
	t = render_desc(cfg_oms, &is);
	assert_string_equal(t, "");
	free(t);

	/* labels go with their placeholder; literal lines stay; separators
	 * collapse and never lead or trail */
	struct cfg *c = cfg_with_templates("    <templates>\n"
	                                   "      <description>\n"
	                                   "\n"
	                                   "        {summary} ({request_type})\n"
	                                   "        Reporter: {reporter}\n"
	                                   "        Where: {address} {{map}}\n"
	                                   "\n"
	                                   "\n"
	                                   "        {description}\n"
	                                   "\n"
	                                   "        {questions}\n"
	                                   "        -- via SeeClickFix\n"
	                                   "\n"
	                                   "      </description>\n"
	                                   "    </templates>\n");
	is = sample_issue();
	t = render_desc(c, &is);
	assert_string_equal(t, "Pothole (Pothole)\nReporter: Zoë\nWhere: 1 Elm St {map}\n\n"
	                       "Deep one.\n\n\nIn the bike lane.\n\n"
	                       "Is it hazardous?: Yes\nReporter Name: No Answer Given\n"
	                       "-- via SeeClickFix");
	free(t);
	is.reporter_name = NULL;
	is.address = NULL;
	is.description = NULL;
	is.n_questions = 0;
	t = render_desc(c, &is);
	assert_string_equal(t, "Pothole (Pothole)\n\n-- via SeeClickFix");
	free(t);
	cfg_free(c);
}

/* The comment template: CommentsField on the create body and every note;
 * the marker first whatever the template says, so a repeat is still
 * found after a crash; the note escaped as a whole. */
static void test_comment_template(void **state)
{
	struct record *r = map_file("real_2026_20980365_details.json", cfg_oms);
	struct record_comment *cm = &r->u.issue.comments[1];
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;
	struct cfg *c = cfg_with_templates(
	    "    <templates>\n"
	    "      <comment>\n"
	    "        {text}\n"
	    "        -- {commenter}, {created_at} (SCF comment {comment_id} on {issue_id})\n"
	    "      </comment>\n"
	    "    </templates>\n");

	free(cm->text);
	cm->text = strdup("Thank you for your report. Notice of Violation issued to "
	                  "the property owner.");
	/* the default is the note as it always was */
	assert_int_equal(map_cg_note(cfg_oms, cm, &b), ERR_OK);
	assert_string_equal(b.data, "[scf-comment 62322106] 2026-02-10T11:03:43-05:00 Code "
	                            "Compliance Inspector: Anissa: Thank you for your report. "
	                            "Notice of Violation issued to the property owner.");
	buf_reset(&b);
	assert_int_equal(map_cg_note(c, cm, &b), ERR_OK);
	assert_string_equal(b.data,
	                    "[scf-comment 62322106] Thank you for your report. "
	                    "Notice of Violation issued to the property owner.\n"
	                    "-- Code Compliance Inspector: Anissa, 2026-02-10T11:03:43-05:00 "
	                    "(SCF comment 62322106 on 20980365)");
	assert_true(map_cg_notes_have(b.data, "62322106"));

	/* the appended note */
	free(cm->text);
	cm->text = strdup("<b>Still</b> there &#38; worse");
	buf_reset(&b);
	assert_int_equal(map_cg_notes_body(c, 9, "Crew: <i>ok</i>", cm, &b, &e), ERR_OK);
	cJSON *row = body_row(&b, "cgRequestsClass");
	const char *notes = str_of(row, "CommentsField");
	assert_string_equal(notes, "Crew: <i>ok</i>\n[scf-comment 62322106] "
	                           "\xef\xbc\x9c"
	                           "b>Still\xef\xbc\x9c/b> there &\xef\xbc\x83"
	                           "38; worse\n-- Code Compliance Inspector: Anissa, "
	                           "2026-02-10T11:03:43-05:00 (SCF comment 62322106 on 20980365)");
	assert_true(map_cg_notes_have(notes, "62322106"));
	cJSON_Delete(row);

	/* the comments at first sight, in CommentsField of the create body
	 * (under a type the example maps) */
	r->u.issue.request_type_id = 122;
	buf_reset(&b);
	assert_int_equal(map_cg_create_body(c, &r->u.issue, &b, &e), ERR_OK);
	row = body_row(&b, "cgRequestsClass");
	const char *comments = str_of(row, "CommentsField");
	assert_non_null(comments);
	assert_memory_equal(comments,
	                    "[scf-comment 62322106] \xef\xbc\x9c"
	                    "b>Still",
	                    30);
	assert_non_null(strstr(comments, "\n-- Code Compliance Inspector: Anissa, "));
	cJSON_Delete(row);
	cfg_free(c);
	record_free(r);
	buf_release(&b);
}

/* Every placeholder of each kind renders; each kind refuses the others'. */
static void test_template_kinds(void **state)
{
	struct record_issue is = sample_issue();
	struct err e;

	assert_int_equal(text_template_check_kind(TEXT_TEMPLATE_DESCRIPTION,
	                                          "{summary}{description}{questions}{address}"
	                                          "{issue_id}{reporter}{request_type}{created_at}"
	                                          "{url}",
	                                          NULL, &e),
	                 ERR_OK);
	assert_int_equal(text_template_check_kind(TEXT_TEMPLATE_COMMENT,
	                                          "{created_at}{commenter}{text}{comment_id}"
	                                          "{issue_id}",
	                                          NULL, &e),
	                 ERR_OK);
	assert_int_equal(text_template_check_kind(TEXT_TEMPLATE_COMMENT, "{summary}", NULL, &e),
	                 ERR_PERM);
	assert_int_equal(text_template_check_kind(TEXT_TEMPLATE_DESCRIPTION, "{oid}", NULL, &e),
	                 ERR_PERM);
	assert_int_equal(text_template_check(TEXT_DESCRIPTION_DEFAULT, NULL, &e), ERR_PERM);
	assert_true(text_template_uses(TEXT_TEMPLATE_DESCRIPTION, "a {summary}", "summary"));
	assert_false(text_template_uses(TEXT_TEMPLATE_DESCRIPTION, "a {{summary}}", "summary"));
	assert_false(text_template_uses(TEXT_TEMPLATE_DESCRIPTION, "a {summary}", "description"));
	struct cfg *c = cfg_with_templates("    <templates>\n"
	                                   "      <description>{summary}|{description}|"
	                                   "{questions}|{address}|{issue_id}|{reporter}|"
	                                   "{request_type}|{created_at}|{url}</description>\n"
	                                   "    </templates>\n");
	char *t = render_desc(c, &is);
	assert_string_equal(t, "Pothole|Deep one.\n\n\nIn the bike lane.|Is it hazardous?: Yes\n"
	                       "Reporter Name: No Answer Given|1 Elm St|77|Zoë|Pothole|"
	                       "2026-01-01T10:00:00-05:00|https://seeclickfix.com/issues/77");
	free(t);
	cfg_free(c);
}

/* ---- Cartegraph -> records ---- */

static void test_cg_request_and_close(void **state)
{
	const char *closed =
	    "{\"Oid\":123456,\"IDField\":\"REQ-2026-0042\",\"StatusField\":\"Closed\","
	    "\"SeeClickFixIDField\":\"387246\",\"cgLastModifiedField\":"
	    "\"2026-02-10T11:03:43.1234567\"}";
	struct map_cg_request rq;
	struct record *rec;
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	assert_int_equal(map_cg_request(cfg_oms, closed, strlen(closed), &rq, &e), ERR_OK);
	assert_int_equal(rq.oid, 123456);
	assert_string_equal(rq.request_id, "REQ-2026-0042");
	assert_string_equal(rq.status, "Closed");
	assert_int_equal(rq.external_id, 387246);
	assert_true(rq.closed);
	assert_non_null(rq.source_json);

	assert_int_equal(
	    map_close_record(387246, &rq, cfg_request_type(cfg_oms, 14550), NULL, &rec, &e),
	    ERR_OK);
	assert_string_equal(rec->key, "close/387246");
	assert_int_equal(rec->u.close.oid, 123456);
	assert_int_equal(rec->u.close.request_type_id, 14550);
	assert_string_equal(rec->u.close.closed_at, "2026-02-10T11:03:43.1234567");
	assert_string_equal(rec->u.close.oms_status, "Closed");
	/* 14550 has no closing message of its own: the default */
	assert_int_equal(map_render_close(cfg_oms, &rec->u.close, &b, &e), ERR_OK);
	assert_string_equal(b.data, "Request REQ-2026-0042 (Solid Waste - Garbage Roll Cart) is "
	                            "complete. Thank you.");
	/* 122 has its own */
	rec->u.close.request_type_id = 122;
	free(rec->u.close.request_type_title);
	rec->u.close.request_type_title = NULL;
	buf_reset(&b);
	assert_int_equal(map_render_close(cfg_oms, &rec->u.close, &b, &e), ERR_OK);
	assert_string_equal(b.data, "The pothole was repaired (work order REQ-2026-0042).");
	record_free(rec);

	assert_int_equal(map_ack_record(387246, &rq, cfg_request_type(cfg_oms, 14550),
	                                "2026-02-10T08:20:00-05:00", &rec, &e),
	                 ERR_OK);
	assert_string_equal(rec->key, "ack/387246");
	buf_reset(&b);
	assert_int_equal(map_render_ack(cfg_oms, &rec->u.ack, &b, &e), ERR_OK);
	assert_string_equal(b.data,
	                    "Thank you. Your report is now city work request REQ-2026-0042.");
	/* 122 has an acknowledgment message of its own */
	rec->u.ack.request_type_id = 122;
	buf_reset(&b);
	assert_int_equal(map_render_ack(cfg_oms, &rec->u.ack, &b, &e), ERR_OK);
	assert_string_equal(b.data, "Thank you. Crews fill most potholes within two days (work "
	                            "order REQ-2026-0042).");
	record_free(rec);
	/* no usable time: refused */
	assert_int_equal(map_ack_record(1, &rq, NULL, "tomorrow", &rec, &e), ERR_PERM);
	map_cg_request_clear(&rq);

	const char *open = "{\"Oid\":\"77\",\"IDField\":5,\"StatusField\":\"Open\"}";
	assert_int_equal(map_cg_request(cfg_oms, open, strlen(open), &rq, &e), ERR_OK);
	assert_false(rq.closed);
	assert_int_equal(rq.oid, 77);
	assert_string_equal(rq.request_id, "5");
	assert_int_equal(rq.external_id, 0);
	map_cg_request_clear(&rq);

	const char *bad[] = {"{\"IDField\":\"x\"}", "{\"Oid\":1,\"StatusField\":{}}",
	                     "{\"Oid\":1,\"SeeClickFixIDField\":\"abc\"}", "[]", "nope"};
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(map_cg_request(cfg_oms, bad[i], strlen(bad[i]), &rq, &e),
		                 ERR_PERM);

	const char *created = "{\"cgRequestsClass\":[{\"Oid\":9,\"IDField\":\"R-9\"}]}";
	assert_int_equal(map_cg_created(cfg_oms, created, strlen(created), &rq, &e), ERR_OK);
	assert_int_equal(rq.oid, 9);
	assert_string_equal(rq.request_id, "R-9");
	map_cg_request_clear(&rq);
	assert_int_equal(map_cg_created(cfg_oms, "{\"cgTasksClass\":[]}", 19, &rq, &e), ERR_PERM);
	buf_release(&b);
}

/* ---- message templates ---- */

static void test_placeholders(void **state)
{
	static const struct {
		const char *tmpl, *want;
	} ok[] = {
	    {"", ""},
	    {"plain", "plain"},
	    {"{request_id}", "R-7"},
	    {"{oid}", "99"},
	    {"{issue_id}", "387246"},
	    {"{request_type}", "Pothole"},
	    {"{request_id}{oid}", "R-799"},
	    {"a {{literal}} b", "a {literal} b"},
	    {"{{{issue_id}}}", "{387246}"},
	    {"}}", "}"},
	    {"x{{", "x{"},
	};
	static const char *const bad[] = {"{",           "}",   "{x}",          "{ request_id}",
	                                  "{request_id", "a}b", "{REQUEST_ID}", "{{{x}}}",
	                                  "{oid}}"};
	struct text_vars v = {"R-7", 99, 387246, "Pothole"};
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		buf_reset(&b);
		assert_int_equal(text_template_check(ok[i].tmpl, NULL, &e), ERR_OK);
		assert_int_equal(text_render(ok[i].tmpl, &v, &b, &e), ERR_OK);
		assert_string_equal(buf_str(&b), ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t off = 999;
		if (text_template_check(bad[i], &off, &e) != ERR_PERM)
			fail_msg("template \"%s\" passed", bad[i]);
		assert_true(off < strlen(bad[i]));
	}
	assert_int_equal(text_template_check("ok {issue_id} {bogus}", NULL, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "unknown placeholder {bogus}"));
	/* NULL variables render as empty text */
	struct text_vars none = {NULL, 0, 0, NULL};
	buf_reset(&b);
	assert_int_equal(text_render("[{request_id}|{request_type}]", &none, &b, &e), ERR_OK);
	assert_string_equal(b.data, "[|]");
	buf_release(&b);
}

static void test_forward_policy(void **state)
{
	struct record_comment person = {0}, assigned = {0}, account = {0}, both = {0};
	struct cfg c;

	assigned.is_system = CFG_SYSCOMMENT_ASSIGNED;
	account.is_system = CFG_SYSCOMMENT_ACCOUNT;
	both.is_system = CFG_SYSCOMMENT_ASSIGNED | CFG_SYSCOMMENT_ACCOUNT;
	memset(&c, 0, sizeof(c));
	assert_true(map_comment_forward(&c, &person));
	assert_false(map_comment_forward(&c, &assigned));
	assert_false(map_comment_forward(&c, &account));
	c.scf.forward_system = CFG_SYSCOMMENT_ASSIGNED;
	assert_true(map_comment_forward(&c, &assigned));
	assert_false(map_comment_forward(&c, &account));
	/* every reason it is a system comment must be allowed */
	assert_false(map_comment_forward(&c, &both));
	c.scf.forward_system = CFG_SYSCOMMENT_ASSIGNED | CFG_SYSCOMMENT_ACCOUNT;
	assert_true(map_comment_forward(&c, &both));
	assert_true(map_comment_forward(NULL, &person));
	assert_false(map_comment_forward(NULL, &assigned));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_org_details_2018),
	    cmocka_unit_test(test_real_2026_with_comments),
	    cmocka_unit_test(test_real_public_2018_variants),
	    cmocka_unit_test(test_docs_details_shape),
	    cmocka_unit_test(test_comments_endpoint_and_fallback_key),
	    cmocka_unit_test(test_closed_issue_comment),
	    cmocka_unit_test(test_hostile_fields_named),
	    cmocka_unit_test(test_hostile_huge_and_utf8),
	    cmocka_unit_test(test_tolerated_variants),
	    cmocka_unit_test(test_records_encode_and_decode),
	    cmocka_unit_test(test_create_body),
	    cmocka_unit_test(test_create_body_photo_comments_fields_mode),
	    cmocka_unit_test(test_aspnet_escaping),
	    cmocka_unit_test(test_notes_and_attachment_bodies),
	    cmocka_unit_test(test_description_keeps_what_the_resident_wrote),
	    cmocka_unit_test(test_description_line_rule),
	    cmocka_unit_test(test_comment_template),
	    cmocka_unit_test(test_template_kinds),
	    cmocka_unit_test(test_cg_request_and_close),
	    cmocka_unit_test(test_placeholders),
	    cmocka_unit_test(test_forward_policy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
