/*
 * test_sim_scf.c: drive the real scf-sim over loopback and check it
 * against the SeeClickFix reference shapes and rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_harness.h"

#define TOKEN "t0ken-for-tests"
static const char *const H[] = {"Authorization: Bearer " TOKEN, "User-Agent: scfgate-test/1",
                                "Content-Type: application/json", NULL};

static struct simproc shared; /* --issues 150, no rate limit */

static int start(struct simproc *p, const char *const extra[])
{
	const char *args[40] = {"--token", TOKEN, "--seed", "42"};
	int n = 4;

	for (int i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	return simproc_start(p, sim_bin("SCF_SIM_BIN"), args);
}

static int group_setup(void **state)
{
	static const char *const extra[] = {"--issues", "150", "--rate-limit", "0", NULL};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return start(&shared, extra);
}

static int group_teardown(void **state)
{
	simproc_stop(&shared);
	curl_global_cleanup();
	return 0;
}

static cJSON *get(const struct simproc *p, const char *path, long *status)
{
	char url[2048];

	snprintf(url, sizeof(url), "%s%s", p->base, path);
	return http_json("GET", url, H, NULL, status);
}

static cJSON *post(const struct simproc *p, const char *path, const char *body, long *status)
{
	char url[2048];

	snprintf(url, sizeof(url), "%s%s", p->base, path);
	return http_json("POST", url, H, body, status);
}

static const cJSON *item(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v)
		fail_msg("missing key %s", k);
	return v;
}

static void assert_offset_time(const cJSON *v)
{
	regex_t re;

	assert_true(cJSON_IsString(v));
	assert_int_equal(
	    regcomp(&re,
	            "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[-+][0-9]{2}:[0-9]{2}$",
	            REG_EXTENDED | REG_NOSUB),
	    0);
	if (regexec(&re, v->valuestring, 0, NULL, 0) != 0)
		fail_msg("not an offset timestamp: %s", v->valuestring);
	regfree(&re);
}

static void assert_time_or_null(const cJSON *v)
{
	if (!cJSON_IsNull(v))
		assert_offset_time(v);
}

static void check_comment(const cJSON *c)
{
	regex_t re;
	const cJSON *m;

	assert_null(cJSON_GetObjectItemCaseSensitive(c, "id"));
	assert_true(cJSON_IsString(item(c, "comment")));
	assert_offset_time(item(c, "created_at"));
	assert_offset_time(item(c, "updated_at"));
	assert_true(cJSON_IsObject(item(c, "commenter")));
	assert_true(cJSON_IsNumber(item(item(c, "commenter"), "id")));
	assert_true(cJSON_IsString(item(item(c, "commenter"), "name")));
	assert_true(cJSON_IsString(item(c, "issue_url")));
	assert_int_equal(regcomp(&re, "/api/v2/comments/[0-9]+/flag$", REG_EXTENDED | REG_NOSUB),
	                 0);
	assert_int_equal(regexec(&re, item(c, "flag_url")->valuestring, 0, NULL, 0), 0);
	regfree(&re);
	m = item(c, "media");
	item(m, "video_url");
	item(m, "image_full");
	item(m, "image_square_100x100");
	assert_null(cJSON_GetObjectItemCaseSensitive(m, "representative_image_url"));
}

static void check_issue(const cJSON *is, int details)
{
	const char *st;
	const cJSON *v, *m;

	assert_true(cJSON_IsNumber(item(is, "id")));
	st = item(is, "status")->valuestring;
	assert_non_null(st);
	assert_true(strcmp(st, "Open") == 0 || strcmp(st, "Acknowledged") == 0 ||
	            strcmp(st, "Closed") == 0 || strcmp(st, "Archived") == 0);
	assert_true(cJSON_IsString(item(is, "summary")));
	v = item(is, "description");
	assert_true(cJSON_IsString(v) || cJSON_IsNull(v));
	assert_true(cJSON_IsNumber(item(is, "rating")));
	assert_true(cJSON_IsNumber(item(is, "lat")));
	assert_true(cJSON_IsNumber(item(is, "lng")));
	assert_true(cJSON_IsString(item(is, "address")));
	assert_offset_time(item(is, "created_at"));
	assert_offset_time(item(is, "updated_at"));
	assert_time_or_null(item(is, "acknowledged_at"));
	assert_time_or_null(item(is, "closed_at"));
	assert_time_or_null(item(is, "reopened_at"));
	assert_true(cJSON_IsString(item(is, "url")));
	assert_string_equal(item(item(is, "point"), "type")->valuestring, "Point");
	assert_int_equal(cJSON_GetArraySize(item(item(is, "point"), "coordinates")), 2);
	assert_true(cJSON_IsString(item(is, "comment_url")));
	assert_true(cJSON_IsString(item(is, "flag_url")));
	assert_true(cJSON_IsBool(item(is, "private_visibility")));
	assert_true(cJSON_IsNumber(item(item(is, "request_type"), "id")));
	assert_true(cJSON_IsString(item(item(is, "request_type"), "title")));
	assert_true(cJSON_IsObject(item(is, "transitions")));
	assert_true(cJSON_IsNumber(item(item(is, "reporter"), "id")));
	assert_true(cJSON_IsString(item(item(item(is, "reporter"), "avatar"), "full")));
	m = item(is, "media");
	item(m, "video_url");
	item(m, "image_full");
	item(m, "image_square_100x100");
	assert_true(cJSON_IsString(item(m, "representative_image_url")));
	if (cJSON_IsNull(item(m, "image_full")))
		assert_non_null(strstr(item(m, "representative_image_url")->valuestring,
		                       "/assets/categories/"));
	if (!details) {
		assert_true(cJSON_IsNull(item(is, "integrations")));
		assert_null(cJSON_GetObjectItemCaseSensitive(is, "questions"));
		return;
	}
	assert_true(cJSON_IsArray(item(is, "integrations")));
	cJSON_ArrayForEach(v, item(is, "questions"))
	{
		assert_true(cJSON_IsString(item(v, "question")));
		assert_true(cJSON_IsString(item(v, "answer")));
	}
	cJSON_ArrayForEach(v, item(is, "comments")) check_comment(v);
	assert_true(cJSON_IsObject(item(is, "current_user_relationship")));
}

static void test_list_shapes(void **state)
{
	long st;
	cJSON *j = get(&shared,
	               "/api/v2/organizations/1102/"
	               "issues?details=true&status=open,acknowledged,closed,archived",
	               &st);
	const cJSON *pg, *is;
	int photos = 0, icons = 0, anon = 0, long_text = 0, system = 0;

	assert_int_equal(st, 200);
	assert_non_null(j);
	assert_true(cJSON_IsObject(item(j, "errors")));
	pg = item(item(j, "metadata"), "pagination");
	assert_int_equal(item(pg, "entries")->valueint, 150);
	assert_int_equal(item(pg, "page")->valueint, 1);
	assert_int_equal(item(pg, "per_page")->valueint, 20);
	assert_int_equal(item(pg, "pages")->valueint, 8);
	assert_int_equal(item(pg, "next_page")->valueint, 2);
	assert_non_null(strstr(item(pg, "next_page_url")->valuestring, "page=2"));
	assert_true(cJSON_IsNull(item(pg, "previous_page")));
	assert_true(cJSON_IsNull(item(pg, "previous_page_url")));
	assert_true(cJSON_IsString(item(item(item(j, "metadata"), "query"), "request_types")));
	assert_int_equal(cJSON_GetArraySize(item(j, "issues")), 20);
	cJSON_ArrayForEach(is, item(j, "issues")) check_issue(is, 1);
	cJSON_Delete(j);

	/* Over all pages the seeded data has the variety it promises. */
	for (int page = 1; page <= 8; page++) {
		char path[200];
		const cJSON *c;

		snprintf(path, sizeof(path),
		         "/api/v2/organizations/1102/"
		         "issues?details=true&page=%d&status=open,acknowledged,closed,archived",
		         page);
		j = get(&shared, path, &st);
		assert_int_equal(st, 200);
		cJSON_ArrayForEach(is, item(j, "issues"))
		{
			const cJSON *d = item(is, "description");

			photos += !cJSON_IsNull(item(item(is, "media"), "image_full"));
			icons += cJSON_IsNull(item(item(is, "media"), "image_full"));
			anon += item(item(is, "reporter"), "id")->valueint == 0;
			long_text += cJSON_IsString(d) && strlen(d->valuestring) > 5000;
			cJSON_ArrayForEach(c, item(is, "comments")) system +=
			    strstr(item(c, "comment")->valuestring, "assigned this issue to") !=
			    NULL;
		}
		cJSON_Delete(j);
	}
	assert_true(photos > 10 && icons > 10 && anon > 10 && long_text >= 10 && system > 10);
}

static void test_single_and_comments(void **state)
{
	long st;
	cJSON *l = get(&shared, "/api/v2/organizations/1102/issues?per_page=1", &st);
	int id = item(cJSON_GetArrayItem(item(l, "issues"), 0), "id")->valueint;
	char path[128];
	cJSON *one, *c;
	const cJSON *v;

	cJSON_Delete(l);
	snprintf(path, sizeof(path), "/api/v2/issues/%d", id);
	one = get(&shared, path, &st);
	assert_int_equal(st, 200);
	check_issue(one, 0);
	cJSON_Delete(one);
	snprintf(path, sizeof(path), "/api/v2/issues/%d/comments", id);
	c = get(&shared, path, &st);
	assert_int_equal(st, 200);
	assert_true(cJSON_IsArray(item(c, "comments")));
	assert_null(cJSON_GetObjectItemCaseSensitive(c, "metadata"));
	cJSON_ArrayForEach(v, item(c, "comments")) check_comment(v);
	cJSON_Delete(c);
	one = get(&shared, "/api/v2/issues/1", &st);
	assert_int_equal(st, 404);
	cJSON_Delete(one);
	/* the id is digits that fit an int: a sign, or 2^32 more, is no id
	 * (sscanf's "%d" read both as the issue) */
	snprintf(path, sizeof(path), "/api/v2/issues/+%d", id);
	one = get(&shared, path, &st);
	assert_int_equal(st, 404);
	cJSON_Delete(one);
	snprintf(path, sizeof(path), "/api/v2/issues/%lld", 4294967296LL + id);
	one = get(&shared, path, &st);
	assert_int_equal(st, 404);
	cJSON_Delete(one);
}

static void test_per_page_caps_and_walk(void **state)
{
	long st;
	cJSON *j = get(&shared,
	               "/api/v2/organizations/1102/"
	               "issues?per_page=500&status=open,acknowledged,closed,archived",
	               &st);
	int seen[200] = {0}, n = 0;
	char url[2048];

	assert_int_equal(item(item(item(j, "metadata"), "pagination"), "per_page")->valueint, 100);
	assert_int_equal(cJSON_GetArraySize(item(j, "issues")), 100);
	cJSON_Delete(j);
	j = get(&shared, "/api/v2/organizations/1102/issues?per_page=100&details=true", &st);
	assert_int_equal(item(item(item(j, "metadata"), "pagination"), "per_page")->valueint, 20);
	assert_int_equal(cJSON_GetArraySize(item(j, "issues")), 20);
	cJSON_Delete(j);

	/* Following next_page_url visits every issue exactly once. */
	snprintf(url, sizeof(url),
	         "%s/api/v2/organizations/1102/"
	         "issues?per_page=7&sort=updated_at&sort_direction=ASC&status=open,acknowledged,"
	         "closed,archived",
	         shared.base);
	for (;;) {
		const cJSON *is, *next;
		double last = -1;

		j = http_json("GET", url, H, NULL, &st);
		assert_int_equal(st, 200);
		cJSON_ArrayForEach(is, item(j, "issues"))
		{
			int id = item(is, "id")->valueint;

			for (int k = 0; k < n; k++)
				assert_int_not_equal(seen[k], id);
			assert_true(n < 200);
			seen[n++] = id;
			(void)last;
		}
		next = item(item(item(j, "metadata"), "pagination"), "next_page_url");
		if (cJSON_IsNull(next)) {
			cJSON_Delete(j);
			break;
		}
		snprintf(url, sizeof(url), "%s", next->valuestring);
		cJSON_Delete(j);
	}
	assert_int_equal(n, 150);
}

static int count_status(const cJSON *j, const char *s)
{
	const cJSON *is;
	int n = 0;

	cJSON_ArrayForEach(is, item(j, "issues")) n +=
	    strcmp(item(is, "status")->valuestring, s) == 0;
	return n;
}

static void test_status_filters(void **state)
{
	long st;
	cJSON *all = get(&shared, "/api/v2/organizations/1102/issues?per_page=100", &st);
	cJSON *arch =
	    get(&shared, "/api/v2/organizations/1102/issues?per_page=100&status=archived", &st);
	cJSON *caps = get(&shared, "/api/v2/organizations/1102/issues?status=Open", &st);
	cJSON *open =
	    get(&shared, "/api/v2/organizations/1102/issues?per_page=100&status=open", &st);
	int n_arch = cJSON_GetArraySize(item(arch, "issues"));

	assert_int_equal(count_status(all, "Archived"), 0);
	assert_true(count_status(all, "Open") > 0 && count_status(all, "Closed") > 0 &&
	            count_status(all, "Acknowledged") > 0);
	assert_true(n_arch > 0);
	assert_int_equal(count_status(arch, "Archived"), n_arch);
	assert_int_equal(
	    item(item(item(all, "metadata"), "pagination"), "entries")->valueint + n_arch, 150);
	/* Capitalized filter values are not recognised. */
	assert_int_equal(item(item(item(caps, "metadata"), "pagination"), "entries")->valueint, 0);
	assert_int_equal(count_status(open, "Open"), cJSON_GetArraySize(item(open, "issues")));
	cJSON_Delete(all);
	cJSON_Delete(arch);
	cJSON_Delete(caps);
	cJSON_Delete(open);
}

static void test_updated_at_window(void **state)
{
	long st;
	cJSON *j =
	    get(&shared, "/api/v2/organizations/1102/issues?per_page=1&sort=updated_at", &st);
	const cJSON *is = cJSON_GetArrayItem(item(j, "issues"), 0);
	int id = item(is, "id")->valueint;
	char ts[64], path[256];
	char *plus;
	cJSON *a, *b;
	const cJSON *x;
	int found = 0;

	snprintf(ts, sizeof(ts), "%s", item(is, "updated_at")->valuestring);
	cJSON_Delete(j);
	/* Inclusive lower bound; the "+"/"-" of the offset must be encoded. */
	plus = strchr(ts + 19, '-') ? strchr(ts + 19, '-') : strchr(ts + 19, '+');
	snprintf(path, sizeof(path),
	         "/api/v2/organizations/1102/issues?per_page=100&updated_at_after=%.*s%%%02X%s",
	         (int)(plus - ts), ts, (unsigned char)*plus, plus + 1);
	a = get(&shared, path, &st);
	assert_int_equal(st, 200);
	cJSON_ArrayForEach(x, item(a, "issues")) found |= item(x, "id")->valueint == id;
	assert_true(found);
	snprintf(path, sizeof(path),
	         "/api/v2/organizations/1102/issues?per_page=100&updated_at_before=%.*s%%%02X%s",
	         (int)(plus - ts), ts, (unsigned char)*plus, plus + 1);
	b = get(&shared, path, &st);
	found = 0;
	cJSON_ArrayForEach(x, item(b, "issues")) found |= item(x, "id")->valueint == id;
	assert_false(found);
	cJSON_Delete(a);
	cJSON_Delete(b);
	b = get(&shared, "/api/v2/organizations/1102/issues?updated_at_after=yesterday", &st);
	assert_int_equal(st, 422);
	cJSON_Delete(b);
}

static int first_open(const struct simproc *p)
{
	long st;
	cJSON *j = get(p, "/api/v2/organizations/1102/issues?per_page=1&status=open", &st);
	int id = item(cJSON_GetArrayItem(item(j, "issues"), 0), "id")->valueint;

	cJSON_Delete(j);
	return id;
}

static void assert_transitions(const struct simproc *p, int id, const char *keys)
{
	long st;
	char path[128], got[128] = "";
	cJSON *j;
	const cJSON *t;

	snprintf(path, sizeof(path), "/api/v2/issues/%d", id);
	j = get(p, path, &st);
	cJSON_ArrayForEach(t, item(j, "transitions"))
	{
		size_t len = strlen(got);

		snprintf(got + len, sizeof(got) - len, "%s%s", len ? "," : "", t->string);
	}
	assert_string_equal(got, keys);
	cJSON_Delete(j);
}

static void test_transitions(void **state)
{
	int id = first_open(&shared);
	char path[128];
	long st;
	cJSON *r, *dump;
	const cJSON *is, *c;
	int closes = 0;

	assert_transitions(&shared, id, "acknowledge_url,close_url");
	snprintf(path, sizeof(path), "/api/v2/issues/%d/close", id);
	r = post(&shared, path, "{}", &st);
	assert_int_equal(st, 422);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(item(r, "errors"), "comment"));
	cJSON_Delete(r);
	r = post(&shared, path, "{\"comment\": \"   \"}", &st);
	assert_int_equal(st, 422);
	cJSON_Delete(r);
	r = post(&shared, path, "{not json", &st);
	assert_int_equal(st, 400);
	assert_string_equal(item(r, "request")->valuestring, "Unable to parse JSON");
	cJSON_Delete(r);

	snprintf(path, sizeof(path), "/api/v2/issues/%d/acknowledge", id);
	r = post(&shared, path, "{\"comment\": \"We have seen it.\"}", &st);
	assert_int_equal(st, 201);
	assert_string_equal(item(item(r, "issue"), "status")->valuestring, "Acknowledged");
	assert_string_equal(item(r, "comment")->valuestring, "We have seen it.");
	assert_false(cJSON_IsTrue(item(r, "moderated")));
	cJSON_Delete(r);
	assert_transitions(&shared, id, "close_url");
	r = post(&shared, path, "{\"comment\": \"again\"}", &st);
	assert_int_equal(st, 422);
	cJSON_Delete(r);

	snprintf(path, sizeof(path), "/api/v2/issues/%d/close", id);
	r = post(&shared, path, "{\"comment\": \"Fixed. Thank you — ¡gracias!\"}", &st);
	assert_int_equal(st, 201);
	assert_string_equal(item(item(r, "issue"), "status")->valuestring, "Closed");
	cJSON_Delete(r);
	assert_transitions(&shared, id, "open_url");
	snprintf(path, sizeof(path), "/api/v2/issues/%d/open", id);
	r = post(&shared, path, "{\"comment\": \"Reopened\"}", &st);
	assert_int_equal(st, 201);
	cJSON_Delete(r);
	assert_transitions(&shared, id, "acknowledge_url,close_url");

	/* Archived by the city: no transitions, and none accepted. */
	snprintf(path, sizeof(path), "/_admin/issues/%d/status", id);
	r = post(&shared, path, "{\"status\": \"archived\"}", &st);
	assert_int_equal(st, 200);
	cJSON_Delete(r);
	assert_transitions(&shared, id, "");
	snprintf(path, sizeof(path), "/api/v2/issues/%d/close", id);
	r = post(&shared, path, "{\"comment\": \"x\"}", &st);
	assert_int_equal(st, 422);
	cJSON_Delete(r);

	/* The oracle: the state dump holds every API comment with its text. */
	dump = get(&shared, "/_admin/state", &st);
	assert_int_equal(st, 200);
	cJSON_ArrayForEach(is, item(dump, "issues"))
	{
		if (item(is, "id")->valueint != id)
			continue;
		cJSON_ArrayForEach(c, item(is, "comments"))
		{
			if (strcmp(item(c, "via")->valuestring, "api") == 0 &&
			    strcmp(item(c, "action")->valuestring, "close") == 0) {
				closes++;
				assert_string_equal(item(c, "comment")->valuestring,
				                    "Fixed. Thank you — ¡gracias!");
			}
		}
		assert_string_equal(item(is, "status")->valuestring, "Archived");
	}
	assert_int_equal(closes, 1);
	cJSON_Delete(dump);
}

static void test_updated_at_moves(void **state)
{
	int id = first_open(&shared);
	char path[128];
	long st;
	cJSON *before, *after, *r;

	snprintf(path, sizeof(path), "/_admin/issues/%d", id);
	before = get(&shared, path, &st);
	r = post(&shared, "/_admin/clock", "{\"advance_seconds\": 5}", &st);
	cJSON_Delete(r);
	{
		static const char *const form[] = {
		    "Authorization: Bearer " TOKEN, "User-Agent: t",
		    "Content-Type: application/x-www-form-urlencoded", NULL};
		char url[256];

		snprintf(url, sizeof(url), "%s/api/v2/issues/%d/comments", shared.base, id);
		r = http_json("POST", url, form, "comment=form+encoded+works", &st);
	}
	assert_int_equal(st, 201);
	assert_string_equal(item(r, "body")->valuestring, "form encoded works");
	cJSON_Delete(r);
	snprintf(path, sizeof(path), "/_admin/issues/%d", id);
	after = get(&shared, path, &st);
	assert_true(item(after, "updated_at")->valuedouble >=
	            item(before, "updated_at")->valuedouble + 5);
	assert_string_equal(item(after, "status")->valuestring, "Open");
	cJSON_Delete(before);
	cJSON_Delete(after);
}

static void test_multipart_photo_comment(void **state)
{
	struct curl_slist *h = NULL;
	curl_mime *mime;
	curl_mimepart *part;
	char url[256];
	CURL *c = curl_easy_init();
	long st = 0;
	int id = first_open(&shared);
	cJSON *j;

	snprintf(url, sizeof(url), "%s/api/v2/issues/%d/comments", shared.base, id);
	h = curl_slist_append(h, "Authorization: Bearer " TOKEN);
	mime = curl_mime_init(c);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "comment");
	curl_mime_data(part, "See the photo", CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "image");
	curl_mime_filename(part, "photo.png");
	curl_mime_data(part, "\x89PNG fake", CURL_ZERO_TERMINATED);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "scfgate-test/1");
	curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, stderr);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	assert_int_equal(st, 201);
	curl_mime_free(mime);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	snprintf(url, sizeof(url), "/api/v2/issues/%d/comments", id);
	j = get(&shared, url, &st);
	{
		const cJSON *last = cJSON_GetArrayItem(item(j, "comments"),
		                                       cJSON_GetArraySize(item(j, "comments")) - 1);

		assert_string_equal(item(last, "comment")->valuestring, "See the photo");
		assert_true(cJSON_IsString(item(item(last, "media"), "image_full")));
	}
	cJSON_Delete(j);
}

static void test_auth_and_user_agent(void **state)
{
	static const char *const no_token[] = {"User-Agent: x", NULL};
	static const char *const bad_token[] = {"User-Agent: x", "Authorization: Bearer nope",
	                                        NULL};
	static const char *const no_ua[] = {"User-Agent:", "Authorization: Bearer " TOKEN, NULL};
	char url[256];
	long st;
	cJSON *j;

	snprintf(url, sizeof(url), "%s/api/v2/organizations/1102/issues", shared.base);
	j = http_json("GET", url, no_token, NULL, &st);
	assert_int_equal(st, 401);
	cJSON_Delete(j);
	j = http_json("GET", url, bad_token, NULL, &st);
	assert_int_equal(st, 401);
	cJSON_Delete(j);
	j = http_json("GET", url, no_ua, NULL, &st);
	assert_int_equal(st, 403);
	cJSON_Delete(j);
	snprintf(url, sizeof(url), "%s/api/v2/organizations/999/issues", shared.base);
	j = http_json("GET", url, H, NULL, &st);
	assert_int_equal(st, 404);
	cJSON_Delete(j);
}

static void test_rate_limit(void **state)
{
	static const char *const extra[] = {
	    "--rate-limit", "5", "--blacklist-after", "3", "--issues", "3", NULL};
	struct simproc p;
	struct http_resp r;
	char url[256];
	cJSON *j;
	long st;

	assert_int_equal(start(&p, extra), 0);
	snprintf(url, sizeof(url), "%s/api/v2/organizations/1102/issues", p.base);
	for (int i = 0; i < 5; i++) {
		http_do("GET", url, H, NULL, 5000, &r);
		assert_int_equal(r.status, 200);
		http_resp_release(&r);
	}
	for (int i = 0; i < 3; i++) {
		http_do("GET", url, H, NULL, 5000, &r);
		assert_int_equal(r.status, 429);
		assert_true((int)strtol(r.retry_after, NULL, 10) >= 1 &&
		            (int)strtol(r.retry_after, NULL, 10) <= 60);
		j = cJSON_Parse(r.body);
		assert_string_equal(item(j, "message")->valuestring, "Too Many Requests");
		assert_string_equal(item(j, "documentation_url")->valuestring,
		                    "http://dev.seeclickfix.com");
		cJSON_Delete(j);
		http_resp_release(&r);
	}
	http_do("GET", url, H, NULL, 5000, &r);
	assert_int_equal(r.status, 403);
	j = cJSON_Parse(r.body);
	assert_string_equal(item(j, "message")->valuestring,
	                    "Request forbidden by administrative rules.");
	cJSON_Delete(j);
	http_resp_release(&r);
	j = get(&p, "/_admin/stats", &st);
	assert_int_equal(item(j, "rate_limited")->valueint, 3);
	cJSON_Delete(j);
	j = post(&p, "/_admin/rate-limit", "{}", &st);
	assert_int_equal(st, 200);
	cJSON_Delete(j);
	http_do("GET", url, H, NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	http_resp_release(&r);
	assert_int_equal(simproc_stop(&p), 0);
}

static long get_status(const struct simproc *p, const char *url)
{
	struct http_resp r;
	long s;

	http_do("GET", url, H, NULL, 5000, &r);
	s = r.status;
	http_resp_release(&r);
	return s;
}

static const cJSON *rate_state(cJSON *st)
{
	return item(st, "rate_limit");
}

/* --ban-after-429 counts 429s across windows (one 429 per window, as a
 * client that obeys Retry-After gets them, still ends in a ban), and
 * /_admin/state counts them; --rate-window and --rate-sliding. */
static void test_ban_after_429s(void **state)
{
	static const char *const extra[] = {"--rate-limit",
	                                    "2",
	                                    "--rate-window",
	                                    "5",
	                                    "--ban-after-429",
	                                    "2",
	                                    "--blacklist-seconds",
	                                    "100",
	                                    "--issues",
	                                    "1",
	                                    NULL};
	struct simproc p;
	char url[256];
	cJSON *j;
	long st;

	assert_int_equal(start(&p, extra), 0);
	snprintf(url, sizeof(url), "%s/api/v2/organizations/1102/issues", p.base);
	for (int w = 0; w < 2; w++) {
		assert_int_equal(get_status(&p, url), 200);
		assert_int_equal(get_status(&p, url), 200);
		assert_int_equal(get_status(&p, url), 429);
		/* the next 5 s window */
		cJSON_Delete(post(&p, "/_admin/clock", "{\"advance_seconds\":6}", &st));
	}
	j = get(&p, "/_admin/state", &st);
	assert_int_equal(item(rate_state(j), "count_429")->valueint, 2);
	assert_int_equal(item(rate_state(j), "bans")->valueint, 0);
	assert_int_equal(item(rate_state(j), "window_seconds")->valueint, 5);
	cJSON_Delete(j);
	assert_int_equal(get_status(&p, url), 200);
	assert_int_equal(get_status(&p, url), 200);
	assert_int_equal(get_status(&p, url), 403); /* the third time over: banned */
	cJSON_Delete(post(&p, "/_admin/clock", "{\"advance_seconds\":6}", &st));
	assert_int_equal(get_status(&p, url), 403); /* for --blacklist-seconds */
	j = get(&p, "/_admin/state", &st);
	assert_int_equal(item(rate_state(j), "count_429")->valueint, 2);
	assert_int_equal(item(rate_state(j), "bans")->valueint, 1);
	assert_true(item(rate_state(j), "blocked_until")->valuedouble > 0);
	cJSON_Delete(j);

	/* sliding: 2 in any 5 s, whatever the fixed windows would say */
	j = post(&p, "/_admin/rate-limit", "{\"sliding\":true,\"ban_after_429\":0}", &st);
	assert_int_equal(st, 200);
	assert_true(cJSON_IsTrue(item(j, "sliding")));
	assert_int_equal(item(j, "count_429")->valueint, 0);
	cJSON_Delete(j);
	assert_int_equal(get_status(&p, url), 200);
	cJSON_Delete(post(&p, "/_admin/clock", "{\"advance_seconds\":3}", &st));
	assert_int_equal(get_status(&p, url), 200);
	cJSON_Delete(post(&p, "/_admin/clock", "{\"advance_seconds\":3}", &st));
	/* 6 s after the first, 3 s after the second: one fits, not two */
	assert_int_equal(get_status(&p, url), 200);
	assert_int_equal(get_status(&p, url), 429);
	j = get(&p, "/_admin/state", &st);
	assert_int_equal(item(rate_state(j), "count_429")->valueint, 1);
	cJSON_Delete(j);
	assert_int_equal(simproc_stop(&p), 0);
}

static void test_archive_after_delay(void **state)
{
	static const char *const extra[] = {
	    "--rate-limit", "0", "--archive-after", "30", "--issues", "5", NULL};
	struct simproc p;
	char path[128];
	long st;
	int id;
	cJSON *j, *r;
	double closed_upd;

	assert_int_equal(start(&p, extra), 0);
	id = first_open(&p);
	snprintf(path, sizeof(path), "/api/v2/issues/%d/close", id);
	r = post(&p, path, "{\"comment\": \"done\"}", &st);
	assert_int_equal(st, 201);
	cJSON_Delete(r);
	snprintf(path, sizeof(path), "/_admin/issues/%d", id);
	j = get(&p, path, &st);
	assert_string_equal(item(j, "status")->valuestring, "Closed");
	closed_upd = item(j, "updated_at")->valuedouble;
	cJSON_Delete(j);
	r = post(&p, "/_admin/clock", "{\"advance_seconds\": 31}", &st);
	cJSON_Delete(r);
	j = get(&p, path, &st);
	assert_string_equal(item(j, "status")->valuestring, "Archived");
	assert_true(item(j, "updated_at")->valuedouble >= closed_upd + 30);
	cJSON_Delete(j);
	assert_int_equal(simproc_stop(&p), 0);
}

static void test_clock_skew(void **state)
{
	static const char *const extra[] = {
	    "--rate-limit", "0", "--clock-skew", "-7200", "--issues", "0", NULL};
	struct simproc p;
	long st;
	cJSON *j;
	time_t now = time(NULL);

	assert_int_equal(start(&p, extra), 0);
	j = post(&p, "/_admin/issues", "{\"request_type_id\": 9103, \"description\": \"dark\"}",
	         &st);
	assert_int_equal(st, 201);
	cJSON_Delete(j);
	j = get(&p, "/_admin/state", &st);
	{
		double c =
		    item(cJSON_GetArrayItem(item(j, "issues"), 0), "created_at")->valuedouble;

		assert_true(c <= (double)(now - 7190) && c >= (double)(now - 7210));
	}
	cJSON_Delete(j);
	simproc_stop(&p);
}

static void test_admin_issue_photo_and_media(void **state)
{
	long st;
	cJSON *j;
	const cJSON *is;
	struct http_resp r;
	char path[128];
	int id;

	j = post(&shared, "/_admin/issues",
	         "{\"request_type_id\": 9101, \"description\": \"Deep one\", \"photo\": true, "
	         "\"anonymous\": true, \"questions\": [{\"question\": \"How deep is the "
	         "pothole?\", \"answer\": \"Deep\"}]}",
	         &st);
	assert_int_equal(st, 201);
	is = item(j, "issue");
	check_issue(is, 1);
	id = item(j, "id")->valueint;
	assert_string_equal(item(is, "status")->valuestring, "Open");
	assert_int_equal(item(item(is, "reporter"), "id")->valueint, 0);
	assert_string_equal(
	    item(cJSON_GetArrayItem(item(is, "questions"), 0), "answer")->valuestring, "Deep");
	http_do("GET", item(item(is, "media"), "image_full")->valuestring, NULL, NULL, 5000, &r);
	assert_int_equal(r.status, 302);
	assert_non_null(strstr(r.location, "/files/"));
	http_resp_release(&r);
	cJSON_Delete(j);

	snprintf(path, sizeof(path), "/_admin/issues/%d/comments", id);
	j = post(
	    &shared, path,
	    "{\"comment\": \"Me too\", \"kind\": \"resident\", \"name\": \"Zoë\", \"photo\": true}",
	    &st);
	assert_int_equal(st, 201);
	check_comment(item(j, "comment"));
	assert_true(cJSON_IsString(item(item(item(j, "comment"), "media"), "image_full")));
	cJSON_Delete(j);
	j = post(&shared, path, "{\"kind\": \"system\"}", &st);
	assert_int_equal(st, 201);
	assert_non_null(
	    strstr(item(item(j, "comment"), "comment")->valuestring, "assigned this issue to"));
	cJSON_Delete(j);
	snprintf(path, sizeof(path), "/api/v2/issues/%d?details=true", id);
	j = get(&shared, path, &st);
	assert_int_equal(cJSON_GetArraySize(item(j, "comments")), 2);
	cJSON_Delete(j);
}

static void test_save_load(void **state)
{
	static const char *const extra[] = {"--rate-limit", "0",  "--issues", "12",
	                                    "--save",       NULL, NULL};
	const char *args[8];
	char file[] = "/tmp/scf-sim-state-XXXXXX";
	struct simproc p;
	long st;
	cJSON *a, *b, *r;
	int fd = mkstemp(file);

	assert_true(fd >= 0);
	close(fd);
	memcpy(args, extra, sizeof(extra));
	args[5] = file;
	assert_int_equal(start(&p, args), 0);
	r = post(&p, "/_admin/issues/0/comments", "{\"comment\": \"x\"}", &st);
	assert_int_equal(st, 404);
	cJSON_Delete(r);
	{
		int id = first_open(&p);
		char path[128];

		snprintf(path, sizeof(path), "/api/v2/issues/%d/acknowledge", id);
		r = post(&p, path, "{\"comment\": \"saved?\"}", &st);
		assert_int_equal(st, 201);
		cJSON_Delete(r);
	}
	a = get(&p, "/_admin/state", &st);
	assert_int_equal(simproc_stop(&p), 0);
	{
		const char *largs[] = {"--rate-limit", "0", "--load", file, NULL};

		assert_int_equal(start(&p, largs), 0);
	}
	b = get(&p, "/_admin/state", &st);
	assert_true(cJSON_Compare(item(a, "issues"), item(b, "issues"), 1));
	cJSON_Delete(a);
	cJSON_Delete(b);
	simproc_stop(&p);
	unlink(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_shapes),
	    cmocka_unit_test(test_single_and_comments),
	    cmocka_unit_test(test_per_page_caps_and_walk),
	    cmocka_unit_test(test_status_filters),
	    cmocka_unit_test(test_updated_at_window),
	    cmocka_unit_test(test_transitions),
	    cmocka_unit_test(test_updated_at_moves),
	    cmocka_unit_test(test_multipart_photo_comment),
	    cmocka_unit_test(test_auth_and_user_agent),
	    cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_ban_after_429s),
	    cmocka_unit_test(test_archive_after_delay),
	    cmocka_unit_test(test_clock_skew),
	    cmocka_unit_test(test_admin_issue_photo_and_media),
	    cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
