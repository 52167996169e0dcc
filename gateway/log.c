/*
 * log.c: one line per event on stderr.  See log.h for the contract.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jdoc.h"

static char log_ident[32] = "scfgate";
static enum log_level log_threshold = LOGL_INFO;
static int log_json;
static log_sink_fn log_sink;
static void *log_sink_ctx;

static const char *const level_names[] = {"alert", "error", "warn", "info", "debug"};

void log_open(const char *ident, enum log_level level, int json)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident && *ident ? ident : "scfgate");
	log_threshold = level;
	log_json = json != 0;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level > LOGL_DEBUG)
		return "debug";
	return level_names[level];
}

int log_level_parse(const char *name, enum log_level *out)
{
	if (!name)
		return -1;
	for (unsigned i = 0; i <= LOGL_DEBUG; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = LOGL_WARN;
		return 0;
	}
	return -1;
}

int log_enabled(enum log_level level)
{
	return level == LOGL_ALERT || level <= log_threshold;
}

void log_set_sink(log_sink_fn sink, void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

static void format_time(char *out, size_t size)
{
	struct timeval tv;
	struct tm tm;
	char date[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		date[0] = '\0';
	snprintf(out, size, "%.31s.%03uZ", date, (unsigned)(tv.tv_usec / 1000) % 1000u);
}

/* An event is one line, whatever the message contains. */
static void flatten(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void emit(enum log_level level, char *line)
{
	size_t len = strlen(line);
	ssize_t written;

	if (len > LOG_LINE_MAX - 1) {
		len = LOG_LINE_MAX - 1;
		line[len] = '\0';
	}
	if (log_sink) {
		log_sink(log_sink_ctx, level, line);
		return;
	}
	/* One write(2) per line, so lines of several processes sharing
	 * stderr stay whole. */
	line[len] = '\n';
	written = write(STDERR_FILENO, line, len + 1);
	(void)written; /* a log line that cannot be written has nowhere to go */
	line[len] = '\0';
}

/* NULL when out of memory: a line without its message or level would
 * mislead whatever reads the log. */
static char *json_line(enum log_level level, const char *ts, const char *msg)
{
	struct jdoc d = JDOC_INIT;
	cJSON *o = jdoc_root_object(&d);
	char *text;

	jdoc_string(&d, o, "ts", ts);
	jdoc_string(&d, o, "level", log_level_name(level));
	jdoc_string(&d, o, "ident", log_ident);
	jdoc_string(&d, o, "msg", msg);
	text = jdoc_print(&d, 0);
	jdoc_release(&d);
	return text;
}

/* Escaping can make the line longer than the message: cut the message
 * until the line fits, so the line stays valid JSON. */
static void emit_json(enum log_level level, const char *ts, char *msg)
{
	size_t len = strlen(msg);
	char *text;

	for (;;) {
		text = json_line(level, ts, msg);
		if (!text)
			return;
		if (strlen(text) < LOG_LINE_MAX || len == 0)
			break;
		cJSON_free(text);
		len /= 2;
		msg[len] = '\0';
	}
	emit(level, text);
	cJSON_free(text);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	char line[LOG_LINE_MAX + 128];
	char ts[48];

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	flatten(msg);
	format_time(ts, sizeof(ts));
	if (log_json) {
		emit_json(level, ts, msg);
		return;
	}
	snprintf(line, sizeof(line), "%s %s %s: %s", ts, log_level_name(level), log_ident, msg);
	emit(level, line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_quarantined(void *ctx, const char *queue, const char *name, const char *failed_name,
                     const char *reason)
{
	(void)ctx;
	log_warn("event=quarantined queue=%s record=%s failed=%s why=\"%s\"", queue, name,
	         failed_name, reason);
}
