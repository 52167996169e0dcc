/*
 * test_health.c: the health record (what each kind of work met on its
 * last attempt) and the metrics builder and writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "health.h"
#include "metrics.h"

static void test_reason_is_short(void **state)
{
	char r[HEALTH_REASON_MAX];

	(void)state;
	health_reason("GET /api/v1/classes/x?filter=%28: HTTP 503: {\"Message\":\"maintenance\"}",
	              r);
	assert_string_equal(r, "HTTP 503");
	health_reason("write /srv/spool/outbound/tmp/0001: No space left on device", r);
	assert_string_equal(r, "No space left on device");
	health_reason("HTTP 4011 is not a status", r);
	assert_string_equal(r, "HTTP 4011 is not a status");
	health_reason("", r);
	assert_string_equal(r, "");
}

static void test_note_tracks_failing_since(void **state)
{
	struct health h;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(health_note(&h, HEALTH_FETCH, 100, ERR_OK, NULL), 1);
	assert_int_equal(h.k[HEALTH_FETCH].last_ok, 100);
	assert_int_equal(health_note(&h, HEALTH_FETCH, 160, ERR_TEMP, "GET /x: HTTP 503: down"), 1);
	assert_int_equal(health_note(&h, HEALTH_FETCH, 220, ERR_TEMP, "GET /x: HTTP 502: down"), 0);
	/* the first failure after the success is when it began */
	assert_int_equal(h.k[HEALTH_FETCH].failing_since, 160);
	assert_int_equal(h.k[HEALTH_FETCH].last_attempt, 220);
	assert_int_equal(h.k[HEALTH_FETCH].last_ok, 100);
	assert_string_equal(h.k[HEALTH_FETCH].reason, "HTTP 502");
	/* an idle pass that worked ends it */
	assert_int_equal(health_note(&h, HEALTH_FETCH, 280, ERR_OK, NULL), 1);
	assert_int_equal(h.k[HEALTH_FETCH].failing_since, 0);
	assert_string_equal(h.k[HEALTH_FETCH].reason, "");
}

static void test_save_load_round_trip(void **state)
{
	char dir[] = "/tmp/scfgate-health-XXXXXX";
	struct health h, back;
	struct err e;
	int present = 1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	err_clear(&e);
	assert_int_equal(health_load(dir, &back, &present, &e), ERR_OK);
	assert_int_equal(present, 0);
	memset(&h, 0, sizeof(h));
	health_note(&h, HEALTH_FORWARD, 50, ERR_OK, NULL);
	health_note(&h, HEALTH_FORWARD, 70, ERR_FATAL, "POST /x: HTTP 401: credentials\nrejected");
	health_note(&h, HEALTH_POLL, 70, ERR_OK, NULL);
	assert_int_equal(health_save(dir, &h, 71, &e), ERR_OK);
	assert_int_equal(health_save(dir, &h, 72, &e), ERR_OK); /* a second generation */
	assert_int_equal(health_load(dir, &back, &present, &e), ERR_OK);
	assert_int_equal(present, 1);
	assert_int_equal(back.saved_at, 72);
	assert_int_equal(back.k[HEALTH_FORWARD].cls, ERR_FATAL);
	assert_int_equal(back.k[HEALTH_FORWARD].last_ok, 50);
	assert_int_equal(back.k[HEALTH_FORWARD].failing_since, 70);
	assert_string_equal(back.k[HEALTH_FORWARD].reason, "HTTP 401");
	assert_string_equal(back.k[HEALTH_FORWARD].detail,
	                    "POST /x: HTTP 401: credentials rejected");
	assert_int_equal(back.k[HEALTH_POLL].cls, ERR_OK);
	assert_int_equal(back.k[HEALTH_COMMIT].last_attempt, 0);
	{
		char cmd[256];

		/* one generation is left, and the tmp directory */
		snprintf(cmd, sizeof(cmd), "test $(ls %s | grep -c '^health\\.') = 1", dir);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

/* The newest health file replaced by a symbolic link to a good one (or
 * by a FIFO) is refused, never followed or opened: the status of a half
 * must not hang on, or read through, what was put in its state. */
static void test_load_refuses_link_and_fifo(void **state)
{
	char dir[] = "/tmp/scfgate-health-XXXXXX", other[] = "/tmp/scfgate-health-XXXXXX";
	char cmd[512];
	struct health h, back;
	struct err e;
	int present = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(other));
	memset(&h, 0, sizeof(h));
	health_note(&h, HEALTH_POLL, 70, ERR_OK, NULL);
	err_clear(&e);
	assert_int_equal(health_save(other, &h, 71, &e), ERR_OK);
	snprintf(cmd, sizeof(cmd),
	         "ln -s %s/$(ls %s | grep '^health\\.') %s/health.00000000000000000099", other,
	         other, dir);
	assert_int_equal(system(cmd), 0);
	err_clear(&e);
	assert_int_equal(health_load(dir, &back, &present, &e), ERR_PERM);
	assert_int_equal(present, 0);
	assert_non_null(strstr(e.msg, "health.00000000000000000099"));
	snprintf(cmd, sizeof(cmd), "rm %s/health.* && mkfifo %s/health.00000000000000000099", dir,
	         dir);
	assert_int_equal(system(cmd), 0);
	err_clear(&e);
	assert_int_equal(health_load(dir, &back, &present, &e), ERR_PERM); /* returns: no hang */
	assert_int_equal(present, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, other);
	assert_int_equal(system(cmd), 0);
}

/* A health file whose numbers do not read whole is damaged and refused
 * by name (sscanf read "72x" as 72, "-1" as 2^64 - 1 and let a count line
 * have a fourth number); the same file with whole numbers loads. */
static void test_load_refuses_bad_number(void **state)
{
	static const char *const damage[] = {
	    "s/^saved 72$/saved 72x/",
	    "s/^saved 72$/saved +72/",
	    "s/^kind poll 70 /kind poll 70x /",
	    "s/^kind poll 70 70 0 ok$/kind poll 70 70 0 ok 1/",
	    "s/^kind poll 70 /kind poll 99999999999999999999 /",
	    "s/^count 1 2 3$/count 1 -2 3/",
	    "s/^count 1 2 3$/count 1 2 3 4/",
	};
	char dir[] = "/tmp/scfgate-health-XXXXXX";
	char cmd[512];
	struct health h, back;
	struct err e;
	int present = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&h, 0, sizeof(h));
	health_note(&h, HEALTH_POLL, 70, ERR_OK, NULL);
	h.k[HEALTH_POLL].moved_last = 1;
	h.k[HEALTH_POLL].failed_last = 2;
	h.k[HEALTH_POLL].moved_total = 3;
	err_clear(&e);
	assert_int_equal(health_save(dir, &h, 72, &e), ERR_OK);
	snprintf(cmd, sizeof(cmd), "cp %s/health.* %s/good", dir, dir);
	assert_int_equal(system(cmd), 0);
	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		snprintf(cmd, sizeof(cmd),
		         "sed '%s' %s/good > %s/health.00000000000000000001 && "
		         "! cmp -s %s/good %s/health.00000000000000000001",
		         damage[i], dir, dir, dir, dir);
		assert_int_equal(system(cmd), 0);
		err_clear(&e);
		assert_int_equal(health_load(dir, &back, &present, &e), ERR_PERM);
		assert_int_equal(present, 0);
		assert_non_null(
		    strstr(e.msg, "health.00000000000000000001: not a complete health file"));
	}
	snprintf(cmd, sizeof(cmd), "cp %s/good %s/health.00000000000000000001", dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(health_load(dir, &back, &present, &e), ERR_OK);
	assert_int_equal(present, 1);
	assert_int_equal(back.saved_at, 72);
	assert_true(back.k[HEALTH_POLL].failed_last == 2 && back.k[HEALTH_POLL].moved_total == 3);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_metrics_file(void **state)
{
	char dir[] = "/tmp/scfgate-metrics-XXXXXX", path[64], esc[64], text[512];
	struct metrics m;
	struct stat sb;
	struct err e;
	FILE *f;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/scfgate.prom", dir);
	metrics_init(&m);
	metrics_family(&m, "scfgate_x_total", "counter", "A test.");
	metrics_sample(&m, "scfgate_x_total", "kind=\"issue\"", 3);
	metrics_sample(&m, "scfgate_x_total", "", 0.25);
	metrics_label_escape("a\"b\\c\nd", esc, sizeof(esc));
	assert_string_equal(esc, "a\\\"b\\\\c\\nd");
	umask(077);
	err_clear(&e);
	assert_int_equal(metrics_write(path, &m, &e), ERR_OK);
	metrics_release(&m);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_non_null(f = fopen(path, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_string_equal(text, "# HELP scfgate_x_total A test.\n# TYPE scfgate_x_total counter\n"
	                          "scfgate_x_total{kind=\"issue\"} 3\nscfgate_x_total 0.250000\n");
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* no temporary file left */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reason_is_short),
	    cmocka_unit_test(test_note_tracks_failing_since),
	    cmocka_unit_test(test_save_load_round_trip),
	    cmocka_unit_test(test_load_refuses_link_and_fifo),
	    cmocka_unit_test(test_load_refuses_bad_number),
	    cmocka_unit_test(test_metrics_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
