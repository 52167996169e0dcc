/*
 * test_log.c: the daemon log writes one well-formed line per event, at
 * or above the configured level, to the sink or to stderr.
 */
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "log.h"

static char lines[16][LOG_LINE_MAX];
static enum log_level levels[16];
static int n;

static void capture(void *ctx, enum log_level level, const char *line)
{
	if (n < 16) {
		levels[n] = level;
		snprintf(lines[n++], LOG_LINE_MAX, "%s", line);
	}
}

static int setup(void **state)
{
	n = 0;
	log_set_sink(capture, NULL);
	return 0;
}

static int teardown(void **state)
{
	log_set_sink(NULL, NULL);
	log_open(NULL, LOGL_INFO, 0);
	return 0;
}

static void test_text_format(void **state)
{
	regex_t re;

	log_open("scf", LOGL_INFO, 0);
	log_info("effect=ack issue=%d record=%s", 123, "00000000000000000042-oms");
	assert_int_equal(n, 1);
	assert_int_equal(
	    regcomp(&re,
	            "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
	            "info scf: effect=ack issue=123 record=00000000000000000042-oms$",
	            REG_EXTENDED | REG_NOSUB),
	    0);
	assert_int_equal(regexec(&re, lines[0], 0, NULL, 0), 0);
	regfree(&re);
}

static void test_levels(void **state)
{
	log_open("oms", LOGL_WARN, 0);
	log_debug("a=1");
	log_info("b=2");
	log_warn("c=3");
	log_error("d=4");
	log_alert("e=5");
	assert_int_equal(n, 3);
	assert_non_null(strstr(lines[0], " warn oms: c=3"));
	assert_non_null(strstr(lines[1], " error oms: d=4"));
	assert_non_null(strstr(lines[2], " alert oms: e=5"));
	assert_int_equal(levels[2], LOGL_ALERT);
	assert_false(log_enabled(LOGL_INFO));
	assert_true(log_enabled(LOGL_ERROR));

	/* An alert is written even at the quietest setting. */
	log_open("oms", LOGL_ALERT, 0);
	log_error("f=6");
	log_alert("g=7");
	assert_int_equal(n, 4);
	assert_non_null(strstr(lines[3], "g=7"));
}

static void test_one_line(void **state)
{
	log_open("scf", LOGL_DEBUG, 0);
	log_info("reason=\"%s\"", "line one\nline two\r\tend");
	assert_int_equal(n, 1);
	assert_null(strchr(lines[0], '\n'));
	assert_null(strchr(lines[0], '\r'));
	assert_non_null(strstr(lines[0], "line one line two  end"));
}

static void test_long_message_cut(void **state)
{
	char *big = malloc((size_t)3 * LOG_LINE_MAX);

	memset(big, 'a', 3 * LOG_LINE_MAX - 1);
	big[3 * LOG_LINE_MAX - 1] = '\0';
	log_open("scf", LOGL_INFO, 0);
	log_info("%s", big);
	assert_int_equal(n, 1);
	assert_true(strlen(lines[0]) < LOG_LINE_MAX);
	assert_true(strlen(lines[0]) > LOG_LINE_MAX - 100);
	free(big);
}

static void test_json(void **state)
{
	cJSON *o;
	char *quoted = malloc(LOG_LINE_MAX);

	log_open("oms", LOGL_INFO, 1);
	log_warn("effect=retry path=\"/x\" note=%s", "back\\slash");
	assert_int_equal(n, 1);
	o = cJSON_Parse(lines[0]);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "level")->valuestring, "warn");
	assert_string_equal(cJSON_GetObjectItem(o, "ident")->valuestring, "oms");
	assert_non_null(cJSON_GetObjectItem(o, "ts"));
	/* the pairs are fields; nothing else, so no "msg" */
	assert_string_equal(cJSON_GetObjectItem(o, "effect")->valuestring, "retry");
	assert_string_equal(cJSON_GetObjectItem(o, "path")->valuestring, "/x");
	assert_string_equal(cJSON_GetObjectItem(o, "note")->valuestring, "back\\slash");
	assert_null(cJSON_GetObjectItem(o, "msg"));
	cJSON_Delete(o);

	/* Quotes double in JSON: a long message is cut, the line stays JSON. */
	memset(quoted, '"', LOG_LINE_MAX - 1);
	quoted[LOG_LINE_MAX - 1] = '\0';
	log_info("%s", quoted);
	assert_int_equal(n, 2);
	o = cJSON_Parse(lines[1]);
	assert_non_null(o);
	assert_true(strlen(lines[1]) < LOG_LINE_MAX);
	cJSON_Delete(o);
	free(quoted);
}

/* Numbers stay numbers (but not a zero-padded record sequence), free
 * words go to "msg", a repeated or reserved key stays text. */
static void test_json_fields(void **state)
{
	cJSON *o;

	log_open("oms", LOGL_INFO, 1);
	log_info("http: status=429 issue=-12 record=00000000000000000042-scf wait_ms=0 level=x "
	         "status=500 done");
	assert_int_equal(n, 1);
	o = cJSON_Parse(lines[0]);
	assert_non_null(o);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "status")));
	assert_int_equal(cJSON_GetObjectItem(o, "status")->valuedouble, 429);
	assert_true(cJSON_GetObjectItem(o, "issue")->valuedouble == -12);
	assert_int_equal(cJSON_GetObjectItem(o, "wait_ms")->valuedouble, 0);
	assert_string_equal(cJSON_GetObjectItem(o, "record")->valuestring,
	                    "00000000000000000042-scf");
	assert_string_equal(cJSON_GetObjectItem(o, "level")->valuestring, "info");
	assert_string_equal(cJSON_GetObjectItem(o, "msg")->valuestring,
	                    "http: level=x status=500 done");
	cJSON_Delete(o);
}

/* Free text with spaces, quotes and backslashes: quoted and escaped in
 * the text line, the very same text again as a JSON field. */
static void test_quoted_reason(void **state)
{
	const char *reason = "HTTP 422: {\"Message\":\"bad \\ value\"} (after \"retry\")";
	cJSON *o;

	log_open("oms", LOGL_INFO, 0);
	log_error("effect=failed record=r1 reason=%s status=422", log_q(reason));
	assert_int_equal(n, 1);
	assert_non_null(strstr(lines[0],
	                       " reason=\"HTTP 422: {\\\"Message\\\":\\\"bad \\\\ value\\\"} "
	                       "(after \\\"retry\\\")\" status=422"));
	log_open("oms", LOGL_INFO, 1);
	log_error("effect=failed record=r1 reason=%s status=422", log_q(reason));
	assert_int_equal(n, 2);
	o = cJSON_Parse(lines[1]);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "reason")->valuestring, reason);
	assert_int_equal(cJSON_GetObjectItem(o, "status")->valuedouble, 422);
	assert_string_equal(cJSON_GetObjectItem(o, "record")->valuestring, "r1");
	assert_null(cJSON_GetObjectItem(o, "msg"));
	cJSON_Delete(o);
	/* several quoted values in one call (the ring) */
	log_open("oms", LOGL_INFO, 0);
	log_info("a=%s b=%s", log_q("x y"), log_q(NULL));
	assert_non_null(strstr(lines[2], " a=\"x y\" b=\"\""));
}

static void test_level_parse(void **state)
{
	enum log_level l;

	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOGL_DEBUG);
	assert_int_equal(log_level_parse("WARNING", &l), 0);
	assert_int_equal(l, LOGL_WARN);
	assert_int_equal(log_level_parse("loud", &l), -1);
	assert_string_equal(log_level_name(LOGL_ERROR), "error");
}

/* Without a sink, lines go to stderr, each with its newline. */
static void test_stderr(void **state)
{
	char path[] = "/tmp/test_log_XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char got[256] = "";
	FILE *f;

	assert_true(fd >= 0);
	log_set_sink(NULL, NULL);
	log_open("scf", LOGL_INFO, 0);
	dup2(fd, STDERR_FILENO);
	log_info("x=1");
	log_info("y=2");
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	assert_non_null(fgets(got, sizeof(got), f));
	assert_non_null(strstr(got, " info scf: x=1\n"));
	assert_non_null(fgets(got, sizeof(got), f));
	assert_non_null(strstr(got, " info scf: y=2\n"));
	assert_null(fgets(got, sizeof(got), f));
	fclose(f);
	unlink(path);
}

/* JOURNAL_STREAM naming stderr: each line starts with its syslog
 * priority.  Naming another file, or unset: no prefix. */
static void test_journal(void **state)
{
	char path[] = "/tmp/test_log_XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char got[256] = "", env[64];
	struct stat st;
	FILE *f;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	log_set_sink(NULL, NULL);
	dup2(fd, STDERR_FILENO);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_open("scf", LOGL_DEBUG, 0);
	assert_true(log_to_journal());
	log_alert("a=1");
	log_error("e=1");
	log_warn("w=1");
	log_info("i=1");
	log_debug("d=1");
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	log_open("scf", LOGL_DEBUG, 0);
	assert_false(log_to_journal());
	log_info("x=1");
	unsetenv("JOURNAL_STREAM");
	log_open("scf", LOGL_DEBUG, 0);
	log_info("y=1");
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	{
		const char *want[] = {"<1>", "<3>", "<4>", "<6>", "<7>"};
		for (int i = 0; i < 5; i++) {
			assert_non_null(fgets(got, sizeof(got), f));
			assert_memory_equal(got, want[i], 3);
			assert_true(got[3] >= '0' && got[3] <= '9'); /* then the timestamp */
		}
	}
	assert_non_null(fgets(got, sizeof(got), f));
	assert_true(got[0] >= '0' && got[0] <= '9');
	assert_non_null(strstr(got, " info scf: x=1\n"));
	assert_non_null(fgets(got, sizeof(got), f));
	assert_true(got[0] >= '0' && got[0] <= '9');
	assert_null(fgets(got, sizeof(got), f));
	fclose(f);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_text_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_message_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quoted_reason, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_level_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stderr, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
