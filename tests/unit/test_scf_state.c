/*
 * test_scf_state.c: the SCF half's persistent state: sorted keys, save and
 * load through generations, compaction on forget, damaged files, and the
 * SCF time parser.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scf.h"

static char dir[64];

static int setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/scfstate.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int count_generations(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *de;
	int n = 0;

	while (dd && (de = readdir(dd)))
		n += strncmp(de->d_name, "state.", 6) == 0;
	if (dd)
		closedir(dd);
	return n;
}

static void empty_then_roundtrip(void **unused)
{
	struct scf_state *s = NULL, *t = NULL;
	struct err e;
	char sd[128];

	(void)unused;
	snprintf(sd, sizeof(sd), "%s/state/scf", dir);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	assert_int_equal(scf_state_count(s), 0);
	assert_int_equal(scf_state_watermark(s), 0);
	assert_int_equal(scf_state_seq(s), 0);

	assert_int_equal(scf_state_put(s, "issue/20", "O"), ERR_OK);
	assert_int_equal(scf_state_put(s, "issue/3", "A"), ERR_OK);
	assert_int_equal(scf_state_put(s, "comment/20/77", "0123456789abcdef"), ERR_OK);
	assert_int_equal(scf_state_put(s, "attachment/20/issue", "-"), ERR_OK);
	assert_int_equal(scf_state_put(s, "issue/20", "C"), ERR_OK); /* replace */
	scf_state_set_watermark(s, 1790000000);
	scf_state_set_seq(s, 42);
	assert_int_equal(scf_state_count(s), 4);
	assert_int_equal(scf_state_save(s, &e), ERR_OK);
	assert_int_equal(scf_state_save(s, &e), ERR_OK);
	assert_int_equal(count_generations(sd), 1); /* older ones removed */

	assert_int_equal(scf_state_load(sd, &t, &e), ERR_OK);
	assert_int_equal(scf_state_count(t), 4);
	assert_string_equal(scf_state_get(t, "issue/20"), "C");
	assert_string_equal(scf_state_get(t, "issue/3"), "A");
	assert_string_equal(scf_state_get(t, "comment/20/77"), "0123456789abcdef");
	assert_null(scf_state_get(t, "issue/2"));
	assert_int_equal(scf_state_watermark(t), 1790000000);
	assert_int_equal(scf_state_seq(t), 42);
	scf_state_free(s);
	scf_state_free(t);
}

/* last_ok and a fatal stop survive a save; a reason stays one line;
 * clearing removes the line. */
static void status_fields_roundtrip(void **unused)
{
	struct scf_state *s = NULL, *t = NULL;
	struct err e;
	int64_t at = -1;
	char sd[128];

	(void)unused;
	snprintf(sd, sizeof(sd), "%s/state/scf-status", dir);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	assert_int_equal(scf_state_last_ok(s), 0);
	assert_null(scf_state_alert(s, &at));
	assert_int_equal(at, 0);
	assert_int_equal(scf_state_put(s, "issue/9", "O"), ERR_OK);
	scf_state_set_last_ok(s, 1790000100);
	scf_state_set_alert(s, 1790000200, "HTTP 401 on GET /issues\nsecond line");
	assert_int_equal(scf_state_save(s, &e), ERR_OK);
	assert_int_equal(scf_state_load(sd, &t, &e), ERR_OK);
	assert_int_equal(scf_state_last_ok(t), 1790000100);
	assert_string_equal(scf_state_alert(t, &at), "HTTP 401 on GET /issues second line");
	assert_int_equal(at, 1790000200);
	assert_string_equal(scf_state_get(t, "issue/9"), "O");
	scf_state_free(t);
	{
		char long_reason[600];

		memset(long_reason, 'u', sizeof(long_reason));
		snprintf(long_reason + 500, 100, ": HTTP 401: rejected");
		scf_state_set_alert(s, 1790000300, long_reason);
		assert_int_equal(strlen(scf_state_alert(s, NULL)), SCF_ALERT_MAX - 1);
		assert_non_null(strstr(scf_state_alert(s, NULL), "uuu ... uuu"));
		assert_non_null(strstr(scf_state_alert(s, NULL), ": HTTP 401: rejected"));
	}
	scf_state_set_alert(s, 0, NULL);
	assert_int_equal(scf_state_save(s, &e), ERR_OK);
	assert_int_equal(scf_state_load(sd, &t, &e), ERR_OK);
	assert_null(scf_state_alert(t, &at));
	assert_int_equal(scf_state_last_ok(t), 1790000100);
	scf_state_free(s);
	scf_state_free(t);
}

static void forget_compacts(void **unused)
{
	struct scf_state *s = NULL;
	struct err e;
	char sd[128];

	(void)unused;
	snprintf(sd, sizeof(sd), "%s/forget", dir);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	scf_state_put(s, "issue/5", "O");
	scf_state_put(s, "issue/55", "O");
	scf_state_put(s, "comment/5/1", "a");
	scf_state_put(s, "comment/5/2", "b");
	scf_state_put(s, "comment/55/1", "c");
	scf_state_put(s, "attachment/5/issue", "-");
	scf_state_put(s, "attachment/5/1", "-");
	scf_state_put(s, "attachment/55/issue", "-");
	scf_state_forget_issue(s, 5);
	scf_state_put(s, "issue/5", "W");
	assert_int_equal(scf_state_count(s), 4);
	assert_null(scf_state_get(s, "comment/5/1"));
	assert_null(scf_state_get(s, "attachment/5/issue"));
	assert_string_equal(scf_state_get(s, "comment/55/1"), "c");
	assert_string_equal(scf_state_get(s, "attachment/55/issue"), "-");
	assert_string_equal(scf_state_get(s, "issue/5"), "W");
	scf_state_free(s);
}

/* Forgetting an issue of an empty state (no array allocated yet) is a
 * no-op, not a memmove on NULL (UBSan stops the test on the old code). */
static void forget_on_empty_state(void **unused)
{
	struct scf_state *s = NULL;
	struct err e;
	char sd[128];

	(void)unused;
	snprintf(sd, sizeof(sd), "%s/forget-empty", dir);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	scf_state_forget_issue(s, 5);
	assert_int_equal(scf_state_count(s), 0);
	assert_int_equal(scf_state_put(s, "issue/5", "O"), ERR_OK);
	assert_int_equal(scf_state_count(s), 1);
	scf_state_free(s);
}

/* Ids from SCF JSON: whole numbers in range, or digit strings; anything
 * else is 0 ("no usable id"), never an out-of-range conversion. */
static void json_ids(void **unused)
{
	static const struct {
		const char *json;
		int64_t want;
	} cases[] = {
	    {"{\"id\":4312}", 4312},
	    {"{\"id\":\"4312\"}", 4312},
	    {"{\"id\":9007199254740992}", 9007199254740992LL},
	    {"{\"id\":1e400}", 0},
	    {"{\"id\":-1e400}", 0},
	    {"{\"id\":1e19}", 0},
	    {"{\"id\":-5}", 0},
	    {"{\"id\":0}", 0},
	    {"{\"id\":12.5}", 0},
	    {"{\"id\":\"12ab\"}", 0},
	    {"{\"id\":\"\"}", 0},
	    {"{\"id\":\"99999999999999999999\"}", 0},
	    {"{\"id\":null}", 0},
	    {"{}", 0},
	};

	(void)unused;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *o = cJSON_Parse(cases[i].json);

		assert_non_null(o);
		if (scf_json_id(o, "id") != cases[i].want)
			fail_msg("%s: got %lld, want %lld", cases[i].json,
			         (long long)scf_json_id(o, "id"), (long long)cases[i].want);
		cJSON_Delete(o);
	}
}

static void many_keys_sorted(void **unused)
{
	struct scf_state *s = NULL, *t = NULL;
	struct err e;
	char sd[128], k[64];

	(void)unused;
	snprintf(sd, sizeof(sd), "%s/many", dir);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	/* Inserted in an order unrelated to key order. */
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "issue/%d", (i * 7919) % 5000);
		assert_int_equal(scf_state_put(s, k, "O"), ERR_OK);
	}
	assert_int_equal(scf_state_count(s), 5000);
	assert_int_equal(scf_state_save(s, &e), ERR_OK);
	assert_int_equal(scf_state_load(sd, &t, &e), ERR_OK); /* load refuses unsorted files */
	assert_int_equal(scf_state_count(t), 5000);
	assert_string_equal(scf_state_get(t, "issue/4999"), "O");
	scf_state_free(s);
	scf_state_free(t);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void damaged_newest_falls_back(void **unused)
{
	struct scf_state *s = NULL;
	struct err e;
	char sd[128], p[256];

	(void)unused;
	snprintf(sd, sizeof(sd), "%s/damaged", dir);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	scf_state_put(s, "issue/1", "O");
	scf_state_set_watermark(s, 77);
	assert_int_equal(scf_state_save(s, &e), ERR_OK);
	scf_state_free(s);
	/* A newer generation without its end line (a damaged disk). */
	snprintf(p, sizeof(p), "%s/state.%020d", sd, 9);
	write_file(p, "scfgate-scf-state 1\nwatermark 99\nseq 0\nk issue/1 O\n");
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	assert_int_equal(scf_state_watermark(s), 77);
	scf_state_free(s);
}

/* A complete state file behind a link planted as a newer generation is
 * not read (the state lies in the spool root): the half's own stands. */
static void link_newest_not_followed(void **unused)
{
	struct scf_state *s = NULL;
	struct err e;
	char sd[128], p[256], other[256];

	(void)unused;
	snprintf(sd, sizeof(sd), "%s/linked", dir);
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	scf_state_set_watermark(s, 99);
	assert_int_equal(scf_state_save(s, &e), ERR_OK);
	scf_state_free(s);
	snprintf(p, sizeof(p), "%s/state.%020d", sd, 1);
	assert_int_equal(rename(p, other), 0);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	scf_state_set_watermark(s, 77);
	assert_int_equal(scf_state_save(s, &e), ERR_OK);
	scf_state_free(s);
	snprintf(p, sizeof(p), "%s/state.%020d", sd, 9);
	assert_int_equal(symlink(other, p), 0);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	assert_int_equal(scf_state_watermark(s), 77);
	scf_state_free(s);
}

static void garbage_only_is_fatal(void **unused)
{
	struct scf_state *s = NULL;
	struct err e;
	char sd[128], p[256];

	(void)unused;
	snprintf(sd, sizeof(sd), "%s/garbage", dir);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	scf_state_free(s);
	snprintf(p, sizeof(p), "%s/state.%020d", sd, 1);
	write_file(p, "something else\n");
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "not a state file"));
	assert_null(s);
}

static void times(void **unused)
{
	char out[32];

	(void)unused;
	assert_int_equal(scf_time_parse("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(scf_time_parse("2026-02-10T08:15:19-05:00"),
	                 scf_time_parse("2026-02-10T13:15:19Z"));
	assert_int_equal(scf_time_parse("2026-02-10T13:15:19.123+00:00"),
	                 scf_time_parse("2026-02-10T13:15:19Z"));
	assert_int_equal(scf_time_parse("2026-02-10T14:45:19+01:30"),
	                 scf_time_parse("2026-02-10T13:15:19Z"));
	assert_int_equal(scf_time_parse("2026-02-10 13:15:19Z"), -1);
	assert_int_equal(scf_time_parse("2026-02-10T13:15:19"), -1);
	assert_int_equal(scf_time_parse("2026-13-10T13:15:19Z"), -1);
	assert_int_equal(scf_time_parse("2026-02-10T13:15:19Zjunk"), -1);
	/* a sign inside a two-digit field is not a digit */
	assert_int_equal(scf_time_parse("2026-02-10T-1:15:19Z"), -1);
	assert_int_equal(scf_time_parse("2026-02-10T13:-1:19Z"), -1);
	assert_int_equal(scf_time_parse("2026-02-10T13:15:19+-1:00"), -1);
	assert_int_equal(scf_time_parse("2026-+2-10T13:15:19Z"), -1);
	assert_int_equal(scf_time_parse(NULL), -1);
	scf_time_format(scf_time_parse("2026-02-10T08:15:19-05:00"), out);
	assert_string_equal(out, "2026-02-10T13:15:19Z");
}

/* The server's Date header, IMF-fixdate only. */
static void http_dates(void **unused)
{
	(void)unused;
	assert_int_equal(scf_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
	assert_int_equal(scf_http_date_parse("Tue, 10 Feb 2026 13:15:19 GMT"),
	                 scf_time_parse("2026-02-10T13:15:19Z"));
	assert_int_equal(scf_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT"), -1);
	assert_int_equal(scf_http_date_parse("Sun Nov  6 08:49:37 1994"), -1);
	assert_int_equal(scf_http_date_parse("Sun, 06 Nov 1994 08:49:37 UTC"), -1);
	assert_int_equal(scf_http_date_parse("Sun, 06 Xyz 1994 08:49:37 GMT"), -1);
	assert_int_equal(scf_http_date_parse("Sun, 06 ebM 1994 08:49:37 GMT"), -1);
	assert_int_equal(scf_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT junk"), -1);
	assert_int_equal(scf_http_date_parse("Sun, 06 Nov 1994 -1:49:37 GMT"), -1);
	assert_int_equal(scf_http_date_parse("Sun, 06 Nov 1994 08:-1:37 GMT"), -1);
	assert_int_equal(scf_http_date_parse(""), -1);
	assert_int_equal(scf_http_date_parse(NULL), -1);
}

/* Prefix walks: the request types remembered, the reopened issues. */
static void prefix_walk_and_delete(void **unused)
{
	struct scf_state *s = NULL;
	struct err e;
	char sd[128];
	size_t i, n = 0;

	(void)unused;
	snprintf(sd, sizeof(sd), "%s/prefix", dir);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	assert_int_equal(scf_state_count_prefix(s, "type/", NULL), 0);
	scf_state_del(s, "type/1"); /* absent, empty state: nothing */
	scf_state_put(s, "issue/1", "R");
	scf_state_put(s, "issue/2", "W");
	scf_state_put(s, "issue/3", "R");
	scf_state_put(s, "type/9101", "-");
	scf_state_put(s, "type/9102", "-");
	scf_state_put(s, "type/91020", "-");
	scf_state_put(s, "watermarkish", "-");
	assert_int_equal(scf_state_count_prefix(s, "issue/", "R"), 2);
	assert_int_equal(scf_state_count_prefix(s, "issue/", NULL), 3);
	assert_int_equal(scf_state_count_prefix(s, "type/", NULL), 3);
	for (i = scf_state_lower_bound(s, "type/");
	     scf_state_key_at(s, i) && strncmp(scf_state_key_at(s, i), "type/", 5) == 0; i++)
		n++;
	assert_int_equal(n, 3);
	assert_null(scf_state_key_at(s, scf_state_count(s)));
	scf_state_del(s, "type/9102");
	assert_null(scf_state_get(s, "type/9102"));
	assert_string_equal(scf_state_get(s, "type/91020"), "-");
	assert_int_equal(scf_state_count(s), 6);
	assert_int_equal(scf_state_save(s, &e), ERR_OK);
	scf_state_free(s);
	assert_int_equal(scf_state_load(sd, &s, &e), ERR_OK);
	assert_int_equal(scf_state_count_prefix(s, "type/", NULL), 2);
	scf_state_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty_then_roundtrip),
	    cmocka_unit_test(status_fields_roundtrip),
	    cmocka_unit_test(forget_compacts),
	    cmocka_unit_test(forget_on_empty_state),
	    cmocka_unit_test(json_ids),
	    cmocka_unit_test(many_keys_sorted),
	    cmocka_unit_test(damaged_newest_falls_back),
	    cmocka_unit_test(link_newest_not_followed),
	    cmocka_unit_test(garbage_only_is_fatal),
	    cmocka_unit_test(times),
	    cmocka_unit_test(http_dates),
	    cmocka_unit_test(prefix_walk_and_delete),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
