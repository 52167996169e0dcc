/*
 * test_geo_parse.c: the pure half of geo.h on recorded ArcGIS-shaped
 * answers (tests/data/geo/): parsing, refusals, and the acceptance rules
 * with the notes staff will read.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "geo.h"

static const struct geo_rules rules = {80, 100};

/* Reported points near the recorded answers. */
#define REDLANDS_LAT 34.0572
#define REDLANDS_LNG (-117.1950)
#define SPRINGF_LAT  39.7817
#define SPRINGF_LNG  (-89.6501)

static void load(const char *name, struct buf *b)
{
	char path[1024];
	const char *src = getenv("SCFGATE_SOURCE_DIR");
	struct err e;

	snprintf(path, sizeof(path), "%s/tests/data/geo/%s", src ? src : ".", name);
	buf_init(b, 0);
	if (buf_read_file(b, path, &e)) {
		print_error("%s\n", e.msg);
		fail();
	}
}

static enum err_status parse_file(const char *name, int reverse, struct geo_reply *r, struct err *e)
{
	struct buf b;
	enum err_status st;

	load(name, &b);
	st = reverse ? geo_parse_reverse(b.data, b.len, r, e)
	             : geo_parse_candidates(b.data, b.len, r, e);
	buf_release(&b);
	return st;
}

static void judge(const char *name, int reverse, double lat, double lng, const char *reported,
                  struct geo_result *out)
{
	static struct geo_reply r;
	struct err e;

	err_clear(&e);
	assert_int_equal(parse_file(name, reverse, &r, &e), ERR_OK);
	geo_choose(&r, &rules, lat, lng, reported, out);
}

static void test_distance(void **state)
{
	/* One degree of latitude on the mean sphere: 111195 m. */
	assert_true(fabs(geo_distance_m(0, 0, 1, 0) - 111195.08) < 1.0);
	assert_true(fabs(geo_distance_m(10, 20, 10, 20)) < 1e-9);
	assert_true(fabs(geo_distance_m(34.05, -117.19, 34.06, -117.20) -
	                 geo_distance_m(34.06, -117.20, 34.05, -117.19)) < 1e-6);
	/* Antipodes: half the circumference, no NaN from asin(>1). */
	assert_true(fabs(geo_distance_m(0, 0, 0, 180) - M_PI * 6371008.8) < 1.0);
}

static void test_modes(void **state)
{
	enum geo_mode m;

	assert_int_equal(geo_mode_parse("reverse", &m), 0);
	assert_int_equal(m, GEO_MODE_REVERSE);
	assert_int_equal(geo_mode_parse("both", &m), 0);
	assert_int_equal(m, GEO_MODE_BOTH);
	assert_int_equal(geo_mode_parse("Both", &m), -1);
	assert_int_equal(geo_mode_parse(NULL, &m), -1);
	assert_string_equal(geo_mode_name(GEO_MODE_FIND), "find");
	assert_string_equal(geo_outcome_name(GEO_TOO_FAR), "too-far");
}

static void test_verified(void **state)
{
	struct geo_result res;

	judge("find_verified.json", 0, REDLANDS_LAT, REDLANDS_LNG, "380 new york", &res);
	assert_int_equal(res.verified, 1);
	assert_int_equal(res.outcome, GEO_VERIFIED);
	assert_string_equal(res.address, "380 New York St, Redlands, California, 92373");
	assert_true(res.score == 100);
	assert_true(res.distance_m > 11 && res.distance_m < 14);
	assert_string_equal(res.note,
	                    "Address verified by ArcGIS (score 100, 12 m from the reported point)");
}

static void test_low_score(void **state)
{
	struct geo_result res;

	judge("find_low_score.json", 0, REDLANDS_LAT, REDLANDS_LNG, "380 New Yrok", &res);
	assert_int_equal(res.verified, 0);
	assert_int_equal(res.outcome, GEO_LOW_SCORE);
	assert_string_equal(res.address, "380 New Yrok");
	assert_true(fabs(res.score - 62.15) < 1e-9);
	assert_string_equal(res.reason, "best score 62 below 80");
	assert_string_equal(
	    res.note, "Reported address; ArcGIS's best candidate scored 62 (at least 80 needed)");
}

static void test_too_far(void **state)
{
	struct geo_result res;

	judge("find_far.json", 0, REDLANDS_LAT, REDLANDS_LNG, "380 New York St", &res);
	assert_int_equal(res.verified, 0);
	assert_int_equal(res.outcome, GEO_TOO_FAR);
	assert_string_equal(res.address, "380 New York St");
	/* the nearer of the two well-scored candidates (about 620 m) */
	assert_true(res.distance_m > 550 && res.distance_m < 700);
	assert_non_null(strstr(res.note, "Reported address; ArcGIS found no candidate within 100 m "
	                                 "(nearest "));
}

static void test_no_candidates(void **state)
{
	struct geo_result res;

	judge("find_empty.json", 0, REDLANDS_LAT, REDLANDS_LNG, "nowhere", &res);
	assert_int_equal(res.outcome, GEO_NO_CANDIDATES);
	assert_string_equal(res.address, "nowhere");
	assert_string_equal(res.note, "Reported address; ArcGIS found no candidate within 100 m");
	/* a NULL reported address is an empty one */
	judge("find_empty.json", 0, REDLANDS_LAT, REDLANDS_LNG, NULL, &res);
	assert_string_equal(res.address, "");
}

static void test_mixed_choice(void **state)
{
	struct geo_result res;

	/* Score 100 is 2 km off; two 88s nearby (the nearer wins); 79.99 is
	 * nearest of all but below the minimum. */
	judge("find_mixed.json", 0, SPRINGF_LAT, SPRINGF_LNG, "1200 Main", &res);
	assert_int_equal(res.verified, 1);
	assert_string_equal(res.address, "1202 Main Ave, Springfield, Illinois, 62704");
	assert_true(res.score == 88);
}

static void test_boundaries(void **state)
{
	struct geo_reply r;
	struct geo_result res;
	struct geo_rules exact = {88, 0};

	memset(&r, 0, sizeof(r));
	r.n = 1;
	snprintf(r.c[0].address, sizeof(r.c[0].address), "1 Edge St");
	r.c[0].lat = SPRINGF_LAT + 100.0 / 111195.08;
	r.c[0].lng = SPRINGF_LNG;
	r.c[0].score = 88;
	exact.max_distance_m = geo_distance_m(SPRINGF_LAT, SPRINGF_LNG, r.c[0].lat, r.c[0].lng);
	geo_choose(&r, &exact, SPRINGF_LAT, SPRINGF_LNG, "x", &res);
	assert_int_equal(res.verified, 1); /* score == min and distance == max pass */
	exact.min_score = 88.01;
	geo_choose(&r, &exact, SPRINGF_LAT, SPRINGF_LNG, "x", &res);
	assert_int_equal(res.outcome, GEO_LOW_SCORE);
	exact.min_score = 88;
	exact.max_distance_m -= 0.01;
	geo_choose(&r, &exact, SPRINGF_LAT, SPRINGF_LNG, "x", &res);
	assert_int_equal(res.outcome, GEO_TOO_FAR);
}

static void test_spatial_reference(void **state)
{
	struct geo_reply r;
	struct err e;

	err_clear(&e);
	assert_int_equal(parse_file("find_wkid3857.json", 0, &r, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "not 4326"));
	assert_int_equal(r.n, 0);
}

static void test_reverse(void **state)
{
	struct geo_result res;

	judge("reverse_ok.json", 1, REDLANDS_LAT, REDLANDS_LNG, "", &res);
	assert_int_equal(res.verified, 1);
	assert_string_equal(res.address, "380 New York St, Redlands, California, 92373");
	assert_true(res.score < 0);
	assert_non_null(strstr(res.note, "Address verified by ArcGIS (nearest address, "));
	judge("reverse_longlabel_only.json", 1, SPRINGF_LAT, SPRINGF_LNG, "", &res);
	assert_string_equal(res.address, "17 Cedar Ave, Springfield, IL, 62704, USA");
}

static void test_reverse_not_found(void **state)
{
	struct geo_reply r;
	struct geo_result res;
	struct err e;

	assert_int_equal(parse_file("reverse_not_found.json", 1, &r, &e), ERR_OK);
	assert_int_equal(r.error_code, 0);
	assert_int_equal(r.n, 0);
	geo_choose(&r, &rules, SPRINGF_LAT, SPRINGF_LNG, "12 Elm", &res);
	assert_int_equal(res.outcome, GEO_NO_CANDIDATES);
	/* The same body from findAddressCandidates is an error, not "nothing". */
	assert_int_equal(parse_file("reverse_not_found.json", 0, &r, &e), ERR_OK);
	assert_int_equal(r.error_code, 400);
}

static void test_error_bodies(void **state)
{
	struct geo_result res;

	judge("error_498.json", 0, SPRINGF_LAT, SPRINGF_LNG, "12 Elm", &res);
	assert_int_equal(res.outcome, GEO_SERVICE_ERROR);
	assert_int_equal(res.service_code, 498);
	assert_string_equal(res.reason, "geocoder error 498: Invalid Token");
	assert_string_equal(res.address, "12 Elm");
	assert_string_equal(res.note,
	                    "Reported address; ArcGIS geocoder unavailable (geocoder error "
	                    "498: Invalid Token)");
	judge("error_500.json", 1, SPRINGF_LAT, SPRINGF_LNG, "12 Elm", &res);
	assert_int_equal(res.service_code, 500);
	assert_string_equal(res.reason,
	                    "geocoder error 500: Unable to complete operation. (Geocode "
	                    "service is not available.)");
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "null",
	    "[]",
	    "42",
	    "{",
	    "{\"candidates\":{}}",
	    "{\"error\":\"x\"}",
	    "{\"address\":{},\"location\":{\"x\":1}}",
	    "{\"spatialReference\":[],\"candidates\":[]}",
	};
	struct geo_reply r;
	struct err e;

	assert_int_equal(parse_file("truncated.json", 0, &r, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "malformed JSON"));
	assert_int_equal(parse_file("proxy_error.html", 0, &r, &e), ERR_PERM);
	assert_int_equal(parse_file("proxy_error.html", 1, &r, &e), ERR_PERM);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_int_equal(geo_parse_candidates(bad[i], strlen(bad[i]), &r, &e) |
		                     geo_parse_reverse(bad[i], strlen(bad[i]), &r, &e),
		                 ERR_PERM);
		assert_true(e.msg[0] != '\0');
	}
	assert_int_equal(geo_parse_candidates(NULL, 0, &r, NULL), ERR_PERM);
}

static void test_bad_candidates_skipped(void **state)
{
	struct geo_reply r;
	struct err e;

	assert_int_equal(parse_file("find_bad_candidates.json", 0, &r, &e), ERR_OK);
	assert_int_equal(r.n, 1);
	/* control characters became spaces: one line */
	assert_string_equal(r.c[0].address, "12 Good St Second line , Springfield");
}

static void test_long_utf8_address(void **state)
{
	char json[4096], addr[1024];
	struct geo_reply r;
	size_t n = 0;

	/* 300 bytes of two-byte characters plus an invalid byte */
	while (n + 2 < 600)
		addr[n++] = '\xc3', addr[n++] = '\xa9';
	addr[n++] = '\xff';
	addr[n] = '\0';
	snprintf(
	    json, sizeof(json),
	    "{\"candidates\":[{\"address\":\"%s\",\"location\":{\"x\":1,\"y\":2},\"score\":90}]}",
	    addr);
	assert_int_equal(geo_parse_candidates(json, strlen(json), &r, NULL), ERR_OK);
	assert_int_equal(r.n, 1);
	n = strlen(r.c[0].address);
	assert_true(n < GEO_ADDR_MAX && n % 2 == 0); /* never half a character */
	assert_true((unsigned char)r.c[0].address[n - 1] == 0xa9);
}

static void test_many_candidates(void **state)
{
	char json[65536];
	size_t o = 0;
	struct geo_reply r;

	o += (size_t)snprintf(json + o, sizeof(json) - o, "{\"candidates\":[");
	for (int i = 0; i < 50; i++)
		o += (size_t)snprintf(json + o, sizeof(json) - o,
		                      "%s{\"address\":\"%d X St\",\"location\":{\"x\":1,\"y\":2},"
		                      "\"score\":%d}",
		                      i ? "," : "", i, i);
	snprintf(json + o, sizeof(json) - o, "]}");
	assert_int_equal(geo_parse_candidates(json, strlen(json), &r, NULL), ERR_OK);
	assert_int_equal(r.n, GEO_MAX_CANDIDATES);
}

static void test_fail_notes(void **state)
{
	struct geo_result res;

	geo_result_fail(&res, GEO_TIMEOUT, "timeout", 100, "5 Oak St");
	assert_string_equal(res.note, "Reported address; ArcGIS geocoder unavailable (timeout)");
	assert_string_equal(res.address, "5 Oak St");
	assert_int_equal(res.verified, 0);
	geo_result_fail(&res, GEO_NOT_TRIED, "no usable reported point", 100, NULL);
	assert_string_equal(res.note,
	                    "Reported address; not checked with ArcGIS (no usable reported point)");
}

/* The scrubber never writes past its buffer, whatever the cut point:
 * every buffer is exactly as large as the message (ASan sees an overrun),
 * and no token byte survives. */
static void scrub_token_fits(void **unused)
{
	static const char *const msgs[] = {
	    "GET /x?f=json&token=",
	    "GET /x?f=json&token=a",
	    "GET /x?f=json&token=ab",
	    "GET /x?f=json&token=abc",
	    "GET /x?token=secret&f=json: timed out",
	    "token=s1&token=s2",
	    "token=",
	};

	(void)unused;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		size_t size = strlen(msgs[i]) + 1;
		char *m = malloc(size);

		assert_non_null(m);
		memcpy(m, msgs[i], size);
		geo_scrub_token(m, size);
		assert_true(strlen(m) < size);
		assert_null(strstr(m, "secret"));
		assert_null(strstr(m, "s1"));
		assert_null(strstr(m, "token=a"));
		free(m);
	}
	{
		char m[64] = "GET /x?token=secret&f=json: timed out";

		geo_scrub_token(m, sizeof(m));
		assert_string_equal(m, "GET /x?token=***&f=json: timed out");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(scrub_token_fits),
	    cmocka_unit_test(test_distance),
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_verified),
	    cmocka_unit_test(test_low_score),
	    cmocka_unit_test(test_too_far),
	    cmocka_unit_test(test_no_candidates),
	    cmocka_unit_test(test_mixed_choice),
	    cmocka_unit_test(test_boundaries),
	    cmocka_unit_test(test_spatial_reference),
	    cmocka_unit_test(test_reverse),
	    cmocka_unit_test(test_reverse_not_found),
	    cmocka_unit_test(test_error_bodies),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_bad_candidates_skipped),
	    cmocka_unit_test(test_long_utf8_address),
	    cmocka_unit_test(test_many_candidates),
	    cmocka_unit_test(test_fail_notes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
