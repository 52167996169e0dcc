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
	char *big = malloc(3 * LOG_LINE_MAX);

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
	assert_string_equal(cJSON_GetObjectItem(o, "msg")->valuestring,
	                    "effect=retry path=\"/x\" note=back\\slash");
	assert_non_null(cJSON_GetObjectItem(o, "ts"));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_text_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_message_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_level_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stderr, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
