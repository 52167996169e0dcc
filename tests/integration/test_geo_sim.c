/*
 * test_geo_sim.c: the geocoder client (geo.h) against the real geo-sim
 * process on loopback: verified, rejected by score and by distance, no
 * candidates, the service's error body, HTTP 500, timeouts (bounded),
 * malformed and truncated answers, the token, an unreachable geocoder,
 * and mode "both".  Rules and faults are set through geo-sim's admin
 * endpoints, so each test states the situation it needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
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

#include <cmocka.h>
#include <curl/curl.h>

#include "geo.h"
#include "log.h"
#include "num.h"
#include "unconst.h"

#define PREFIX "/arcgis/rest/services/Locators/City/GeocodeServer"
#define LAT    41.3083
#define LNG    (-72.9279)

struct sim {
	pid_t pid;
	int port;
	char base[256]; /* the GeocodeServer URL */
	char admin[64]; /* http://127.0.0.1:PORT */
};

static struct sim plain, tokened;
static char token_dir[64];

/* ---- the simulator process ---- */

/* Start geo-sim with args (NULL-terminated, may be NULL) and --port 0. */
static int sim_start(struct sim *s, const char *const args[])
{
	const char *bin = getenv("GEO_SIM_BIN");
	const char *argv[16] = {bin, "--port", "0"};
	size_t n = 0, k = 3;
	int fds[2];
	char line[128];
	const char *end;

	for (size_t i = 0; args && args[i] && k < 15; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	if (!bin || pipe(fds))
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], 1);
		if (!getenv("SIM_TEST_VERBOSE"))
			dup2(null, 2);
		close(fds[0]);
		execv(bin, UNCONST(argv));
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
	if (num_int(num_after(line, "listening on 127.0.0.1:"), &end, &s->port) != 0 ||
	    !num_field_end(end))
		return -1;
	snprintf(s->admin, sizeof(s->admin), "http://127.0.0.1:%d", s->port);
	snprintf(s->base, sizeof(s->base), "%s%s", s->admin, PREFIX);
	return 0;
}

static int sim_stop(struct sim *s)
{
	int status = 0;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static size_t sink_body(char *p, size_t size, size_t n, void *u)
{
	return size * n;
}

/* POST or DELETE a JSON admin request; returns the HTTP status. */
static long admin(const struct sim *s, const char *method, const char *path, const char *json)
{
	CURL *c = curl_easy_init();
	char url[256];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", s->admin, path);
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

static void reset(const struct sim *s)
{
	assert_int_equal(admin(s, "DELETE", "/_admin/rules", NULL), 200);
	assert_int_equal(admin(s, "POST", "/_admin/faults",
	                       "{\"error_rate\":0,\"http_error_rate\":0,\"hang_rate\":0,"
	                       "\"malformed_rate\":0,\"truncate_rate\":0,\"latency_ms\":0,"
	                       "\"jitter_ms\":0,\"hang_ms\":5000}"),
	                 200);
}

static void rule(const struct sim *s, const char *json)
{
	assert_int_equal(admin(s, "POST", "/_admin/rules", json), 200);
}

static void faults(const struct sim *s, const char *json)
{
	assert_int_equal(admin(s, "POST", "/_admin/faults", json), 200);
}

/* ---- log capture ---- */

static char logbuf[65536];

static void capture(void *ctx, enum log_level level, const char *line)
{
	size_t n = strlen(logbuf);

	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

/* ---- helpers ---- */

static struct geo_client *client(const struct sim *s, enum geo_mode mode, long timeout_ms,
                                 const char *token_file)
{
	struct geo_opts o;
	struct geo_client *g = NULL;
	struct err e;

	geo_opts_init(&o);
	o.base_url = s->base;
	o.mode = mode;
	o.timeout_ms = timeout_ms;
	o.token_file = token_file;
	if (geo_client_new(&g, &o, &e)) {
		print_error("%s\n", e.msg);
		fail();
	}
	return g;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void verify(struct geo_client *g, double lat, double lng, const char *addr,
                   struct geo_result *r)
{
	struct err e;

	err_clear(&e);
	assert_int_equal(geo_verify(g, 42, lat, lng, addr, r, &e), ERR_OK);
	assert_true(r->note[0] != '\0' && !strchr(r->note, '\n'));
}

/* ---- tests ---- */

static void test_verified_reverse(void **state)
{
	struct geo_client *g;
	struct geo_result r;
	struct geo_stats st;

	reset(&plain);
	g = client(&plain, GEO_MODE_REVERSE, 3000, NULL);
	logbuf[0] = '\0';
	verify(g, LAT, LNG, "somewhere on Birch", &r);
	assert_int_equal(r.verified, 1);
	assert_string_equal(r.operation, "reverseGeocode");
	assert_non_null(strstr(r.address, " Avenue, New Haven, Connecticut, 065"));
	assert_true(r.distance_m >= 0 && r.distance_m < 60);
	assert_non_null(strstr(r.note, "Address verified by ArcGIS (nearest address, "));
	assert_non_null(strstr(logbuf, "geo: effect=verified issue=42 op=reverseGeocode"));
	geo_stats_get(g, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.verified, 1);
	geo_client_free(g);
}

static void test_verified_find(void **state)
{
	struct geo_client *g;
	struct geo_result r;

	reset(&plain);
	g = client(&plain, GEO_MODE_FIND, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.verified, 1);
	assert_string_equal(r.operation, "findAddressCandidates");
	assert_true(r.score == 100);
	assert_non_null(strstr(r.address, "123 Main Street, New Haven, Connecticut, 065"));
	assert_non_null(strstr(r.note, "Address verified by ArcGIS (score 100, "));
	geo_client_free(g);
}

static void test_rejected_by_score(void **state)
{
	struct geo_client *g;
	struct geo_result r;

	reset(&plain);
	rule(&plain, "{\"lat\":41.3083,\"lng\":-72.9279,\"score\":62}");
	g = client(&plain, GEO_MODE_FIND, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.verified, 0);
	assert_int_equal(r.outcome, GEO_LOW_SCORE);
	assert_string_equal(r.address, "123 main st");
	assert_string_equal(
	    r.note, "Reported address; ArcGIS's best candidate scored 62 (at least 80 needed)");
	geo_client_free(g);
}

static void test_rejected_by_distance(void **state)
{
	struct geo_client *g;
	struct geo_result r;

	reset(&plain);
	rule(&plain, "{\"lat\":41.3083,\"lng\":-72.9279,\"offset_m\":400}");
	g = client(&plain, GEO_MODE_FIND, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.outcome, GEO_TOO_FAR);
	assert_string_equal(r.address, "123 main st");
	assert_true(r.distance_m > 340 && r.distance_m < 460);
	assert_non_null(
	    strstr(r.note, "Reported address; ArcGIS found no candidate within 100 m (nearest "));
	geo_client_free(g);
	g = client(&plain, GEO_MODE_REVERSE, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.outcome, GEO_TOO_FAR);
	geo_client_free(g);
}

static void test_no_candidates(void **state)
{
	struct geo_client *g;
	struct geo_result r;

	reset(&plain);
	rule(&plain, "{\"lat\":41.3083,\"lng\":-72.9279,\"none\":true}");
	g = client(&plain, GEO_MODE_FIND, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.outcome, GEO_NO_CANDIDATES);
	assert_string_equal(r.note, "Reported address; ArcGIS found no candidate within 100 m");
	geo_client_free(g);
	/* reverseGeocode says it with its 400 error body */
	g = client(&plain, GEO_MODE_REVERSE, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.outcome, GEO_NO_CANDIDATES);
	geo_client_free(g);
}

static void test_error_body(void **state)
{
	struct geo_client *g;
	struct geo_result r;
	struct geo_stats st;

	reset(&plain);
	faults(&plain, "{\"error_rate\":1}");
	g = client(&plain, GEO_MODE_REVERSE, 3000, NULL);
	logbuf[0] = '\0';
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.outcome, GEO_SERVICE_ERROR);
	assert_int_equal(r.service_code, 500);
	assert_string_equal(r.address, "123 main st");
	assert_non_null(strstr(r.reason, "geocoder error 500: Unable to complete operation."));
	assert_non_null(strstr(logbuf, "warn"));
	geo_stats_get(g, &st);
	assert_int_equal(st.service_errors, 1);
	geo_client_free(g);

	/* a rule's error code */
	reset(&plain);
	rule(&plain, "{\"lat\":41.3083,\"lng\":-72.9279,\"error_code\":400,"
	             "\"error_message\":\"Invalid or missing input parameters.\"}");
	g = client(&plain, GEO_MODE_FIND, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.service_code, 400);
	geo_client_free(g);
}

static void test_http_500(void **state)
{
	struct geo_client *g;
	struct geo_result r;
	struct geo_stats st;

	reset(&plain);
	faults(&plain, "{\"http_error_rate\":1}");
	g = client(&plain, GEO_MODE_REVERSE, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.verified, 0);
	assert_int_equal(r.outcome, GEO_SERVICE_ERROR); /* its JSON error body, with a 500 */
	assert_int_equal(r.service_code, 500);
	geo_stats_get(g, &st);
	assert_int_equal(st.calls, 1); /* one attempt, no retry */
	geo_client_free(g);
}

static void test_http_status_without_body(void **state)
{
	struct geo_client *g;
	struct geo_result r;

	reset(&plain);
	rule(&plain, "{\"lat\":41.3083,\"lng\":-72.9279,\"http_status\":503}");
	g = client(&plain, GEO_MODE_FIND, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.outcome, GEO_HTTP_ERROR);
	assert_string_equal(r.reason, "HTTP 503");
	assert_string_equal(r.note, "Reported address; ArcGIS geocoder unavailable (HTTP 503)");
	geo_client_free(g);
}

static void test_timeout_bounded(void **state)
{
	struct geo_client *g;
	struct geo_result r;
	struct geo_stats st;
	long t0;

	reset(&plain);
	faults(&plain, "{\"hang_rate\":1,\"hang_ms\":5000}");
	g = client(&plain, GEO_MODE_BOTH, 400, NULL);
	t0 = now_ms();
	verify(g, LAT, LNG, "123 main st", &r);
	print_message("timeout 400 ms, geocoder hanging: returned after %ld ms\n", now_ms() - t0);
	assert_true(now_ms() - t0 < 400 + 600);
	assert_int_equal(r.outcome, GEO_TIMEOUT);
	assert_string_equal(r.address, "123 main st");
	assert_string_equal(r.note, "Reported address; ArcGIS geocoder unavailable (timeout)");
	geo_stats_get(g, &st);
	assert_int_equal(st.calls, 1); /* "both" does not ask a silent geocoder twice */
	assert_int_equal(st.timeouts, 1);
	geo_client_free(g);

	/* slow rather than hanging */
	reset(&plain);
	faults(&plain, "{\"latency_ms\":1500}");
	g = client(&plain, GEO_MODE_REVERSE, 300, NULL);
	t0 = now_ms();
	verify(g, LAT, LNG, "123 main st", &r);
	print_message("timeout 300 ms, geocoder 1500 ms slow: returned after %ld ms\n",
	              now_ms() - t0);
	assert_true(now_ms() - t0 < 300 + 600);
	assert_int_equal(r.outcome, GEO_TIMEOUT);
	geo_client_free(g);
}

static void test_malformed(void **state)
{
	struct geo_client *g;
	struct geo_result r;

	reset(&plain);
	faults(&plain, "{\"malformed_rate\":1}");
	g = client(&plain, GEO_MODE_FIND, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.outcome, GEO_MALFORMED);
	assert_non_null(strstr(r.reason, "malformed JSON"));
	assert_string_equal(r.address, "123 main st");
	reset(&plain);
	faults(&plain, "{\"truncate_rate\":1}");
	verify(g, LAT, LNG, "123 main st", &r);
	assert_int_equal(r.outcome, GEO_MALFORMED);
	geo_client_free(g);
}

static void write_token(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void test_token(void **state)
{
	struct geo_client *g;
	struct geo_result r;
	struct geo_opts o;
	struct err e;
	char good[128], wrong[128], loose[128];

	snprintf(good, sizeof(good), "%s/good", token_dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong", token_dir);
	snprintf(loose, sizeof(loose), "%s/loose", token_dir);
	write_token(good, "s3cret-Tok3n\n", 0600);
	write_token(wrong, "not-the-token\n", 0600);
	write_token(loose, "s3cret-Tok3n\n", 0644);

	g = client(&tokened, GEO_MODE_REVERSE, 3000, NULL);
	verify(g, LAT, LNG, "1 A St", &r);
	assert_int_equal(r.outcome, GEO_SERVICE_ERROR);
	assert_int_equal(r.service_code, 499);
	geo_client_free(g);

	g = client(&tokened, GEO_MODE_REVERSE, 3000, wrong);
	verify(g, LAT, LNG, "1 A St", &r);
	assert_int_equal(r.service_code, 498);
	assert_string_equal(r.reason, "geocoder error 498: Invalid Token");
	geo_client_free(g);

	logbuf[0] = '\0';
	g = client(&tokened, GEO_MODE_BOTH, 3000, good);
	verify(g, LAT, LNG, "1 A St", &r);
	assert_int_equal(r.verified, 1);
	verify(g, 0.5, 0.5, "", &r);
	assert_int_equal(r.verified, 1);
	assert_null(strstr(logbuf, "s3cret"));
	assert_null(strstr(r.reason, "s3cret"));
	geo_client_free(g);

	/* a token file others can read is a configuration error */
	geo_opts_init(&o);
	o.base_url = tokened.base;
	o.token_file = loose;
	g = NULL;
	assert_int_equal(geo_client_new(&g, &o, &e), ERR_FATAL);
	assert_null(g);
	assert_non_null(strstr(e.msg, "chmod 600"));
	unlink(good);
	unlink(wrong);
	unlink(loose);
}

static void test_unreachable(void **state)
{
	struct geo_opts o;
	struct geo_client *g = NULL;
	struct geo_result r;
	struct err e;
	char url[256];
	struct sim dead;
	long t0;

	/* a port that was just free: nobody listens there */
	assert_int_equal(sim_start(&dead, NULL), 0);
	assert_int_equal(sim_stop(&dead), 0);
	snprintf(url, sizeof(url), "%s", dead.base);
	geo_opts_init(&o);
	o.base_url = url;
	o.timeout_ms = 1000;
	assert_int_equal(geo_client_new(&g, &o, &e), ERR_OK);
	t0 = now_ms();
	verify(g, LAT, LNG, "9 Gone St", &r);
	assert_true(now_ms() - t0 < 1000 + 600);
	assert_int_equal(r.outcome, GEO_HTTP_ERROR);
	assert_non_null(strstr(r.reason, "unreachable: "));
	assert_null(strstr(r.reason, "GET /")); /* curl's words, not the long path */
	assert_string_equal(r.address, "9 Gone St");
	geo_client_free(g);
}

static void test_both_falls_back(void **state)
{
	struct geo_client *g;
	struct geo_result r;
	struct geo_stats st;

	reset(&plain);
	rule(&plain, "{\"lat\":41.3083,\"lng\":-72.9279,\"score\":40}");
	g = client(&plain, GEO_MODE_BOTH, 3000, NULL);
	verify(g, LAT, LNG, "123 main st", &r);
	/* the typed address scored 40; the address at the pin is taken */
	assert_int_equal(r.verified, 1);
	assert_string_equal(r.operation, "reverseGeocode");
	assert_non_null(strstr(r.address, " Avenue, New Haven"));
	/* no typed address: straight to reverse */
	verify(g, LAT + 0.01, LNG, NULL, &r);
	assert_int_equal(r.verified, 1);
	geo_stats_get(g, &st);
	assert_int_equal(st.calls, 3);
	geo_client_free(g);
}

static void test_not_tried(void **state)
{
	struct geo_client *g;
	struct geo_result r;
	struct geo_stats st;

	g = client(&plain, GEO_MODE_REVERSE, 3000, NULL);
	verify(g, 0, 0, "1 Null Island", &r);
	assert_int_equal(r.outcome, GEO_NOT_TRIED);
	verify(g, NAN, 10, "x", &r);
	assert_int_equal(r.outcome, GEO_NOT_TRIED);
	verify(g, 91, 10, "x", &r);
	assert_int_equal(r.outcome, GEO_NOT_TRIED);
	geo_stats_get(g, &st);
	assert_int_equal(st.calls, 0);
	assert_int_equal(st.not_tried, 3);
	geo_client_free(g);
}

static void test_bad_options(void **state)
{
	struct geo_opts o;
	struct geo_client *g = NULL;
	struct err e;

	geo_opts_init(&o);
	assert_int_equal(geo_client_new(&g, &o, &e), ERR_PERM); /* no URL */
	o.base_url = "http://192.0.2.1/arcgis/rest/services/X/GeocodeServer";
	assert_int_equal(geo_client_new(&g, &o, &e), ERR_PERM); /* http off loopback */
	o.base_url = plain.base;
	o.min_score = 101;
	assert_int_equal(geo_client_new(&g, &o, &e), ERR_PERM);
	o.min_score = 80;
	o.timeout_ms = 0;
	assert_int_equal(geo_client_new(&g, &o, &e), ERR_PERM);
	assert_null(g);
}

/* The exit status of geo-sim with args, its stdout in out. */
static int sim_run(const char *const args[], char *out, size_t size)
{
	const char *bin = getenv("GEO_SIM_BIN");
	const char *argv[8] = {bin};
	int fds[2], status = 0;
	size_t n = 0;
	ssize_t got;
	pid_t pid;

	for (size_t i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], 1);
		dup2(null, 2);
		close(fds[0]);
		execv(bin, UNCONST(argv));
		_exit(127);
	}
	close(fds[1]);
	while (n + 1 < size && (got = read(fds[0], out + n, size - n - 1)) > 0)
		n += (size_t)got;
	out[n] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_sim_cli(void **state)
{
	static const char *const help[] = {"--help", NULL};
	static const char *const unknown[] = {"--bogus", NULL};
	static const char *const rate[] = {"--error-rate", "1.5", NULL};
	static const char *const extra[] = {"stray", NULL};
	static char out[8192];

	assert_int_equal(sim_run(help, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "findAddressCandidates"));
	assert_non_null(strstr(out, "--hang-rate"));
	assert_int_equal(sim_run(unknown, out, sizeof(out)), 2);
	assert_int_equal(sim_run(rate, out, sizeof(out)), 2);
	assert_int_equal(sim_run(extra, out, sizeof(out)), 2);
}

/* Which of n reverseGeocode calls got the error body, as a bit string. */
static void fault_pattern(const struct sim *s, char *bits, size_t n)
{
	struct geo_client *g = client(s, GEO_MODE_REVERSE, 3000, NULL);
	struct geo_result r;

	for (size_t i = 0; i < n; i++) {
		verify(g, LAT, LNG, "1 A St", &r);
		bits[i] = r.outcome == GEO_SERVICE_ERROR ? '1' : '0';
	}
	bits[n] = '\0';
	geo_client_free(g);
}

static void test_sim_faults_repeat(void **state)
{
	static const char *const args[] = {"--seed", "7", "--error-rate", "0.5", NULL};
	struct sim a, b;
	char pa[41], pb[41];
	size_t ones = 0;

	assert_int_equal(sim_start(&a, args), 0);
	assert_int_equal(sim_start(&b, args), 0);
	fault_pattern(&a, pa, 40);
	fault_pattern(&b, pb, 40);
	assert_string_equal(pa, pb); /* same seed, same order: same faults */
	for (size_t i = 0; i < 40; i++)
		ones += pa[i] == '1';
	assert_true(ones > 5 && ones < 35);
	assert_int_equal(sim_stop(&a), 0);
	assert_int_equal(sim_stop(&b), 0);
}

static void test_scf_style_address(void **state)
{
	struct geo_client *g;
	struct geo_result r;

	/* SeeClickFix writes the city without a comma before it */
	reset(&plain);
	g = client(&plain, GEO_MODE_FIND, 3000, NULL);
	verify(g, 41.3102, -72.9251, "165 Church St New Haven, CT, 06510, USA", &r);
	assert_int_equal(r.verified, 1);
	assert_non_null(strstr(r.address, "165 Church Street, New Haven, Connecticut, 065"));
	/* a street without a number scores 90: still accepted at 80 */
	verify(g, 41.3102, -72.9251, "chapel st", &r);
	assert_int_equal(r.verified, 1);
	assert_true(r.score == 90);
	geo_client_free(g);
}

static int setup(void **state)
{
	log_set_sink(capture, NULL);
	snprintf(token_dir, sizeof(token_dir), "/tmp/geo-test-XXXXXX");
	if (!mkdtemp(token_dir))
		return -1;
	static const char *const tok[] = {"--token", "s3cret-Tok3n", NULL};

	if (sim_start(&plain, NULL) || sim_start(&tokened, tok))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	/* SIGTERM is a clean shutdown: exit status 0 */
	int a = sim_stop(&plain), b = sim_stop(&tokened);

	rmdir(token_dir);
	log_set_sink(NULL, NULL);
	return a == 0 && b == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verified_reverse),
	    cmocka_unit_test(test_verified_find),
	    cmocka_unit_test(test_rejected_by_score),
	    cmocka_unit_test(test_rejected_by_distance),
	    cmocka_unit_test(test_no_candidates),
	    cmocka_unit_test(test_error_body),
	    cmocka_unit_test(test_http_500),
	    cmocka_unit_test(test_http_status_without_body),
	    cmocka_unit_test(test_timeout_bounded),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_both_falls_back),
	    cmocka_unit_test(test_not_tried),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_sim_cli),
	    cmocka_unit_test(test_sim_faults_repeat),
	    cmocka_unit_test(test_scf_style_address),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, setup, teardown);
}
