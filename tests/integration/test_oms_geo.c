/*
 * test_oms_geo.c: the geocoder in the OMS half's create body (oms_geo.h,
 * map_cg_create_body_ex) against the real geo-sim on loopback: a verified
 * address lands in LocationDescriptionField and the note where the
 * configuration says; a geocoder that is down, answers its error body,
 * hangs or scores low leaves the reported address and a note that says
 * why, and nothing fails; without a geocoder the body is byte for byte
 * the one map_cg_create_body builds; a geocoder that stops answering is
 * paused instead of costing every new issue the full timeout.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "log.h"
#include "map.h"
#include "num.h"
#include "oms_geo.h"
#include "unconst.h"

#define PREFIX   "/arcgis/rest/services/Locators/City/GeocodeServer"
#define LAT      41.3083
#define LNG      (-72.9279)
#define REPORTED "165 Church St New Haven, CT, 06510, USA"

static struct {
	pid_t pid;
	int port;
	char admin[64];
} sim;
static char tmpdir[] = "/tmp/scfgate-omsgeo-XXXXXX";
static char logbuf[65536];

/* ---- the simulator ---- */

static int sim_start(void)
{
	const char *bin = getenv("GEO_SIM_BIN");
	int fds[2];
	char line[128];
	const char *end;
	size_t n = 0;

	if (!bin || pipe(fds))
		return -1;
	sim.pid = fork();
	if (sim.pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(fds[1], 1);
		if (!getenv("SIM_TEST_VERBOSE"))
			dup2(null, 2);
		close(fds[0]);
		execl(bin, bin, "--port", "0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (n < sizeof(line) - 1) {
		struct pollfd p = {fds[0], POLLIN, 0};
		if (poll(&p, 1, 10000) <= 0 || read(fds[0], line + n, 1) != 1)
			break;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	close(fds[0]);
	if (num_int(num_after(line, "listening on 127.0.0.1:"), &end, &sim.port) != 0 ||
	    !num_field_end(end))
		return -1;
	snprintf(sim.admin, sizeof(sim.admin), "http://127.0.0.1:%d", sim.port);
	return 0;
}

static size_t sink_body(char *p, size_t size, size_t n, void *u)
{
	return size * n;
}

static long admin(const char *method, const char *path, const char *json)
{
	CURL *c = curl_easy_init();
	char url[256];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", sim.admin, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (json)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

static void reset(void)
{
	assert_int_equal(admin("DELETE", "/_admin/rules", NULL), 200);
	assert_int_equal(admin("POST", "/_admin/faults",
	                       "{\"error_rate\":0,\"http_error_rate\":0,\"hang_rate\":0,"
	                       "\"malformed_rate\":0,\"truncate_rate\":0,\"latency_ms\":0,"
	                       "\"jitter_ms\":0,\"hang_ms\":5000}"),
	                 200);
}

static void capture(void *ctx, enum log_level level, const char *line)
{
	size_t n = strlen(logbuf);
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

/* ---- configuration and issue ---- */

/* An oms-half configuration; geocoder is the inside of <geocoder> with
 * BASE standing for the simulator's GeocodeServer URL (NULL: none). */
static struct cfg *config(const char *attrs, const char *geocoder)
{
	char xml[8192], geo[4096] = "", body[2048] = "", url[256];
	const char *b;
	struct cfg *c = NULL;
	struct err e;

	snprintf(url, sizeof(url), "%s%s", sim.admin, PREFIX);
	if (geocoder) {
		/* splice the URL in for every BASE */
		size_t w = 0;
		for (const char *p = geocoder; *p && w < sizeof(body) - 256;)
			if (strncmp(p, "BASE", 4) == 0) {
				w += (size_t)snprintf(body + w, sizeof(body) - w, "%s", url);
				p += 4;
			} else
				body[w++] = *p++;
		body[w] = '\0';
		snprintf(geo, sizeof(geo), "  <geocoder%s>\n%s  </geocoder>\n", attrs ? attrs : "",
		         body);
	}
	b = geo;
	snprintf(xml, sizeof(xml),
	         "<?xml version=\"1.0\"?>\n"
	         "<scfgate half=\"oms\">\n"
	         "  <spool><root>/x</root><producer>oms</producer><privateKey>/x</privateKey>"
	         "<peerPublicKey>/x</peerPublicKey></spool>\n"
	         "  <cartegraph>\n"
	         "    <baseUrl>https://cg.example.org/City</baseUrl>\n"
	         "    <credentials>/x</credentials>\n"
	         "  </cartegraph>\n"
	         "  <requestTypes><requestType id=\"122\" remoteId=\"Pothole\"/></requestTypes>\n"
	         "%s"
	         "</scfgate>\n",
	         b);
	err_clear(&e);
	if (cfg_load_mem(xml, strlen(xml), "t.xml", CFG_NO_FILE_CHECKS, &c, &e) != ERR_OK)
		fail_msg("%s", e.msg);
	return c;
}

static void issue(struct record_issue *is, const char *address)
{
	memset(is, 0, sizeof(*is));
	is->issue_id = 1234;
	is->request_type_id = 122;
	is->summary = UNCONST("Pothole");
	is->description = UNCONST("Deep hole by the curb");
	is->lat = LAT;
	is->lng = LNG;
	is->address = UNCONST(address);
}

static struct oms_geo *open_geo(const struct cfg *c)
{
	struct oms_geo *g = NULL;
	struct err e;

	err_clear(&e);
	if (oms_geo_open(c, &g, &e) != ERR_OK)
		fail_msg("%s", e.msg);
	return g;
}

/* Build the body and return its one row (caller cJSON_Deletes *root). */
static cJSON *row_of(const struct cfg *c, const struct record_issue *is,
                     const struct map_cg_extra *x, cJSON **root)
{
	struct buf b = BUF_INIT_CAP(MAP_JSON_MAX);
	struct err e;

	err_clear(&e);
	assert_int_equal(map_cg_create_body_ex(c, is, x, &b, &e), ERR_OK);
	*root = cJSON_Parse(buf_str(&b));
	buf_release(&b);
	assert_non_null(*root);
	return cJSON_GetArrayItem(cJSON_GetObjectItem(*root, "cgRequestsClass"), 0);
}

static const char *field(const cJSON *row, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(row, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The reported address is used, the note says why, the description is
 * the reporter's text plus that note, and there is no stray field. */
static void assert_reported(const struct cfg *c, struct oms_geo *g, const char *why)
{
	struct record_issue is;
	struct oms_geo_view v;
	const struct map_cg_extra *x;
	cJSON *root, *row;
	char want[512];

	issue(&is, REPORTED);
	x = oms_geo_apply(g, &is, &v);
	assert_non_null(x);
	assert_false(v.result.verified);
	assert_null(x->location);
	row = row_of(c, &is, x, &root);
	assert_string_equal(field(row, "LocationDescriptionField"), REPORTED);
	assert_non_null(strstr(v.result.note, why));
	snprintf(want, sizeof(want), "Pothole\n\nDeep hole by the curb\n\n%s", v.result.note);
	assert_string_equal(field(row, "DescriptionField"), want);
	assert_int_equal(strncmp(v.result.note, "Reported address; ", 18), 0);
	cJSON_Delete(root);
}

/* ---- tests ---- */

static void test_not_configured_body_unchanged(void **state)
{
	struct cfg *c = config(NULL, NULL), *off;
	struct record_issue is;
	struct oms_geo_view v;
	struct buf a = BUF_INIT_CAP(MAP_JSON_MAX), b = BUF_INIT_CAP(MAP_JSON_MAX);
	struct err e;

	assert_null(open_geo(c));
	issue(&is, REPORTED);
	assert_null(oms_geo_apply(NULL, &is, &v));
	err_clear(&e);
	assert_int_equal(map_cg_create_body(c, &is, &a, &e), ERR_OK);
	assert_int_equal(map_cg_create_body_ex(c, &is, oms_geo_apply(NULL, &is, &v), &b, &e),
	                 ERR_OK);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_non_null(strstr(a.data, "\"LocationDescriptionField\":\"" REPORTED "\""));
	/* an extra with nothing in it changes nothing either */
	struct map_cg_extra none = {NULL, NULL, NULL};
	assert_int_equal(map_cg_create_body_ex(c, &is, &none, &b, &e), ERR_OK);
	assert_string_equal(a.data, b.data);
	/* enabled="false" makes no client, so no request is ever made */
	off = config(" enabled=\"false\"", "    <baseUrl>BASE</baseUrl>\n");
	assert_null(open_geo(off));
	buf_release(&a);
	buf_release(&b);
	cfg_free(off);
	cfg_free(c);
}

static void test_verified_note_in_description(void **state)
{
	struct cfg *c = config(NULL, "    <baseUrl>BASE</baseUrl>\n");
	struct oms_geo *g = open_geo(c);
	struct record_issue is;
	struct oms_geo_view v;
	const struct map_cg_extra *x;
	cJSON *root, *row;
	char want[512];

	reset();
	assert_non_null(g);
	issue(&is, REPORTED);
	logbuf[0] = '\0';
	x = oms_geo_apply(g, &is, &v);
	assert_true(v.result.verified);
	assert_non_null(x->location);
	assert_null(x->note_field);
	row = row_of(c, &is, x, &root);
	/* the locator's address, not what the resident typed */
	assert_string_equal(field(row, "LocationDescriptionField"), v.result.address);
	assert_string_not_equal(v.result.address, REPORTED);
	assert_non_null(strstr(v.result.address, ", New Haven, Connecticut, 065"));
	snprintf(want, sizeof(want), "Pothole\n\nDeep hole by the curb\n\n%s", v.result.note);
	assert_string_equal(field(row, "DescriptionField"), want);
	assert_non_null(strstr(want, "\n\nAddress verified by ArcGIS (nearest address, "));
	assert_non_null(strstr(logbuf, "geo: effect=verified issue=1234 op=reverseGeocode"));
	cJSON_Delete(root);
	oms_geo_free(g);
	cfg_free(c);
}

static void test_verified_note_in_field(void **state)
{
	struct cfg *c = config(NULL, "    <baseUrl>BASE</baseUrl>\n    <mode>find</mode>\n"
	                             "    <resultField>GeocodeNoteField</resultField>\n");
	struct oms_geo *g = open_geo(c);
	struct record_issue is;
	struct oms_geo_view v;
	cJSON *root, *row;

	reset();
	issue(&is, REPORTED);
	row = row_of(c, &is, oms_geo_apply(g, &is, &v), &root);
	assert_true(v.result.verified);
	assert_string_equal(v.result.operation, "findAddressCandidates");
	assert_non_null(strstr(field(row, "LocationDescriptionField"),
	                       "165 Church Street, New Haven, Connecticut, 065"));
	assert_non_null(
	    strstr(field(row, "GeocodeNoteField"), "Address verified by ArcGIS (score 100, "));
	/* the description is the reporter's alone */
	assert_string_equal(field(row, "DescriptionField"), "Pothole\n\nDeep hole by the curb");
	cJSON_Delete(root);
	oms_geo_free(g);
	cfg_free(c);
}

static void test_geocoder_down(void **state)
{
	/* nothing listens on port 1 */
	struct cfg *c = config(NULL, "    <baseUrl>http://127.0.0.1:1" PREFIX "</baseUrl>\n"
	                             "    <timeoutMilliseconds>1000</timeoutMilliseconds>\n");
	struct oms_geo *g = open_geo(c);
	long t0 = now_ms();

	assert_reported(c, g, "Reported address; ArcGIS geocoder unavailable (");
	assert_true(now_ms() - t0 < 1000 + 600);
	oms_geo_free(g);
	cfg_free(c);
}

static void test_error_body(void **state)
{
	struct cfg *c = config(NULL, "    <baseUrl>BASE</baseUrl>\n");
	struct oms_geo *g = open_geo(c);
	char r[256];

	reset();
	snprintf(r, sizeof(r),
	         "{\"lat\":%.4f,\"lng\":%.4f,\"radius_m\":50,\"error_code\":500,"
	         "\"error_message\":\"Unable to complete operation.\"}",
	         LAT, LNG);
	assert_int_equal(admin("POST", "/_admin/rules", r), 200);
	assert_reported(c, g, "geocoder error 500: Unable to complete operation.");
	oms_geo_free(g);
	cfg_free(c);
}

static void test_timeout(void **state)
{
	struct cfg *c = config(NULL, "    <baseUrl>BASE</baseUrl>\n"
	                             "    <timeoutMilliseconds>300</timeoutMilliseconds>\n");
	struct oms_geo *g = open_geo(c);
	long t0;

	reset();
	assert_int_equal(admin("POST", "/_admin/faults", "{\"hang_rate\":1,\"hang_ms\":5000}"),
	                 200);
	t0 = now_ms();
	assert_reported(c, g, "Reported address; ArcGIS geocoder unavailable (timeout)");
	print_message("timeout 300 ms, geocoder hanging: body built after %ld ms\n", now_ms() - t0);
	assert_true(now_ms() - t0 < 300 + 600);
	reset();
	oms_geo_free(g);
	cfg_free(c);
}

static void test_low_score_and_no_address(void **state)
{
	struct cfg *c = config(NULL, "    <baseUrl>BASE</baseUrl>\n    <mode>find</mode>\n");
	struct oms_geo *g = open_geo(c);
	struct record_issue is;
	struct oms_geo_view v;
	cJSON *root, *row;
	char r[256];

	reset();
	snprintf(r, sizeof(r), "{\"lat\":%.4f,\"lng\":%.4f,\"radius_m\":50,\"score\":62}", LAT,
	         LNG);
	assert_int_equal(admin("POST", "/_admin/rules", r), 200);
	assert_reported(c, g, "ArcGIS's best candidate scored 62 (at least 80 needed)");

	/* nothing found and nothing reported: no location, as without a geocoder */
	reset();
	snprintf(r, sizeof(r), "{\"lat\":%.4f,\"lng\":%.4f,\"radius_m\":50,\"none\":true}", LAT,
	         LNG);
	assert_int_equal(admin("POST", "/_admin/rules", r), 200);
	issue(&is, NULL);
	row = row_of(c, &is, oms_geo_apply(g, &is, &v), &root);
	assert_false(v.result.verified);
	assert_null(cJSON_GetObjectItem(row, "LocationDescriptionField"));
	assert_non_null(strstr(field(row, "DescriptionField"), "\n\nReported address; "));
	cJSON_Delete(root);
	reset();
	oms_geo_free(g);
	cfg_free(c);
}

/* A geocoder that stops answering is paused after a few tries, so a
 * backlog of new issues is not slowed by the full timeout each; after the
 * pause it is asked again, and an answer ends the run. */
static void test_pause_after_unanswered(void **state)
{
	struct cfg *c = config(NULL, "    <baseUrl>BASE</baseUrl>\n"
	                             "    <timeoutMilliseconds>200</timeoutMilliseconds>\n");
	struct oms_geo *g = open_geo(c);
	struct record_issue is;
	struct oms_geo_view v;
	struct geo_stats st;
	uint64_t skipped;
	long t0;

	reset();
	oms_geo_set_pause(g, 2, 500);
	assert_int_equal(admin("POST", "/_admin/faults", "{\"hang_rate\":1,\"hang_ms\":3000}"),
	                 200);
	issue(&is, REPORTED);
	for (int i = 0; i < 2; i++) {
		oms_geo_apply(g, &is, &v);
		assert_true(v.asked);
		assert_int_equal(v.result.outcome, GEO_TIMEOUT);
	}
	/* paused: no request, no wait, the reported address and why */
	logbuf[0] = '\0';
	t0 = now_ms();
	assert_null(oms_geo_apply(g, &is, &v)->location);
	assert_true(now_ms() - t0 < 50);
	assert_false(v.asked);
	assert_non_null(strstr(v.result.note, "Reported address; ArcGIS geocoder unavailable (not "
	                                      "asked: 2 checks in a row unanswered, next in 1 s)"));
	assert_non_null(strstr(logbuf, "geo: effect=skipped issue=1234"));
	assert_reported(c, g, "(not asked: ");
	oms_geo_stats(g, &st, &skipped);
	assert_int_equal(st.calls, 2);
	assert_int_equal(st.timeouts, 2);
	assert_int_equal(skipped, 2);

	/* after the pause it is asked again; it answers, and the run is over */
	reset();
	usleep(550 * 1000);
	oms_geo_apply(g, &is, &v);
	assert_true(v.asked);
	assert_true(v.result.verified);
	reset();
	assert_int_equal(admin("POST", "/_admin/faults", "{\"hang_rate\":1,\"hang_ms\":3000}"),
	                 200);
	oms_geo_apply(g, &is, &v);
	assert_true(v.asked); /* one unanswered after an answer: still asked */
	assert_int_equal(v.result.outcome, GEO_TIMEOUT);
	oms_geo_apply(g, &is, &v);
	assert_true(v.asked);
	oms_geo_apply(g, &is, &v);
	assert_false(v.asked);
	oms_geo_stats(g, &st, &skipped);
	assert_int_equal(st.calls, 5);
	assert_int_equal(skipped, 3);
	reset();
	oms_geo_free(g);
	cfg_free(c);
}

/* A token file others can read stops the half, naming the file and line. */
static void test_open_refuses_open_token(void **state)
{
	char body[512], path[256];
	struct cfg *c;
	struct oms_geo *g = (struct oms_geo *)&g;
	struct err e;
	int fd;

	snprintf(path, sizeof(path), "%s/arcgis.token", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "tok\n", 4), 4);
	fchmod(fd, 0644);
	close(fd);
	snprintf(body, sizeof(body), "    <baseUrl>BASE</baseUrl>\n    <tokenFile>%s</tokenFile>\n",
	         path);
	c = config(NULL, body);
	err_clear(&e);
	assert_int_equal(oms_geo_open(c, &g, &e), ERR_FATAL);
	assert_null(g);
	assert_non_null(strstr(e.msg, "t.xml:9: geocoder: "));
	assert_non_null(strstr(e.msg, "chmod 600"));
	assert_null(strstr(e.msg, "tok\n"));
	cfg_free(c);
	unlink(path);
}

static int setup(void **state)
{
	log_set_sink(capture, NULL);
	if (!mkdtemp(tmpdir))
		return -1;
	return sim_start();
}

static int teardown(void **state)
{
	int status = 0;

	kill(sim.pid, SIGTERM);
	waitpid(sim.pid, &status, 0);
	rmdir(tmpdir);
	log_set_sink(NULL, NULL);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_not_configured_body_unchanged),
	    cmocka_unit_test(test_verified_note_in_description),
	    cmocka_unit_test(test_verified_note_in_field),
	    cmocka_unit_test(test_geocoder_down),
	    cmocka_unit_test(test_error_body),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_low_score_and_no_address),
	    cmocka_unit_test(test_pause_after_unanswered),
	    cmocka_unit_test(test_open_refuses_open_token),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
