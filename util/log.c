/*
 * log.c: one line per event on stderr.  See log.h for the contract.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jdoc.h"
#include "num.h"

static char log_ident[32] = "scfgate";
static enum log_level log_threshold = LOGL_INFO;
static int log_json;
static log_sink_fn log_sink;
static void *log_sink_ctx;
static int log_journal; /* stderr is the journal: syslog priority prefixes */

static const char *const level_names[] = {"alert", "error", "warn", "info", "debug"};
/* syslog(3) priorities: LOG_ALERT, LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
/* Not const: iov_base is a plain pointer (writev only reads it). */
static char level_prefix[][4] = {"<1>", "<3>", "<4>", "<6>", "<7>"};

/* sd_journal_stream_fd(3): systemd sets JOURNAL_STREAM to the device and
 * inode of the stream it connected stderr to.  Only if stderr is still
 * that stream (not redirected by a wrapper) does the journal read the
 * prefixes; anywhere else they would be noise. */
static int stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	const char *end;
	uint64_t dev, ino;
	struct stat st;

	/* "<device>:<inode>" and nothing else */
	if (num_u64(v, 10, &end, &dev) != 0 || *end != ':' ||
	    num_u64(end + 1, 10, &end, &ino) != 0 || *end != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

void log_open(const char *ident, enum log_level level, int json)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident && *ident ? ident : "scfgate");
	log_threshold = level;
	log_json = json != 0;
	log_journal = stderr_is_journal();
}

int log_to_journal(void)
{
	return log_journal;
}

/* Per thread: log_msg may be called from any thread.  A ring, so that
 * several values can be quoted for one line. */
#define LOG_Q_RING 8
static _Thread_local char q_ring[LOG_Q_RING][LOG_LINE_MAX];
static _Thread_local unsigned q_next;

const char *log_q(const char *s)
{
	char *out = q_ring[q_next++ % LOG_Q_RING];
	size_t n = 0, max = LOG_LINE_MAX - 2;

	if (!s)
		s = "";
	out[n++] = '"';
	for (; *s && n < max - 1; s++) {
		if (*s == '"' || *s == '\\') {
			if (n + 2 > max)
				break;
			out[n++] = '\\';
		}
		out[n++] = *s;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
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
	struct iovec iov[2];

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
	iov[0].iov_base = level_prefix[(unsigned)level > LOGL_DEBUG ? LOGL_DEBUG : level];
	iov[0].iov_len = log_journal ? 3 : 0;
	iov[1].iov_base = line;
	iov[1].iov_len = len + 1;
	written = writev(STDERR_FILENO, iov, 2);
	(void)written; /* a log line that cannot be written has nowhere to go */
	line[len] = '\0';
}

static int key_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
}

/* A decimal integer that a JSON number keeps exactly (no leading zero:
 * a record sequence "000042" stays text). */
static int plain_number(const char *v)
{
	size_t n = 0;

	if (*v == '-')
		v++;
	if (*v == '0')
		return v[1] == '\0';
	for (; v[n]; n++)
		if (v[n] < '0' || v[n] > '9')
			return 0;
	return n > 0 && n <= 15;
}

static int reserved_key(const char *k)
{
	return strcmp(k, "ts") == 0 || strcmp(k, "level") == 0 || strcmp(k, "ident") == 0 ||
	       strcmp(k, "msg") == 0;
}

/* The message's key=value pairs become the object's fields (a quoted
 * value unescaped, a bare integer a number); words that are not pairs
 * (a "http:" prefix, free text) are kept, in order, in "msg". */
static void json_fields(struct jdoc *d, cJSON *o, const char *msg)
{
	char key[64];
	char *val = malloc(strlen(msg) + 1), *rest = malloc(strlen(msg) + 1);
	size_t nrest = 0;
	const char *p = msg;

	if (!val || !rest) {
		jdoc_string(d, o, "msg", msg);
		goto out;
	}
	while (*p) {
		const char *start, *k;
		size_t kl, vl = 0;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		start = k = p;
		while (key_char(*p, p == k))
			p++;
		kl = (size_t)(p - k);
		if (kl && kl < sizeof(key) && *p == '=') {
			p++;
			if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					val[vl++] = *p;
				}
				if (*p == '"')
					p++;
				val[vl] = '\0';
				memcpy(key, k, kl);
				key[kl] = '\0';
				if (!reserved_key(key) && !cJSON_GetObjectItem(o, key) &&
				    (*p == ' ' || !*p)) {
					jdoc_string(d, o, key, val);
					continue;
				}
			} else {
				while (*p && *p != ' ')
					val[vl++] = *p++;
				val[vl] = '\0';
				memcpy(key, k, kl);
				key[kl] = '\0';
				if (!reserved_key(key) && !cJSON_GetObjectItem(o, key)) {
					if (plain_number(val))
						jdoc_number(d, o, key, strtod(val, NULL));
					else
						jdoc_string(d, o, key, val);
					continue;
				}
			}
		}
		/* not a pair: the word (or the pair refused, whole) is text */
		while (*p && *p != ' ')
			p++;
		if (nrest)
			rest[nrest++] = ' ';
		memcpy(rest + nrest, start, (size_t)(p - start));
		nrest += (size_t)(p - start);
	}
	if (nrest) {
		rest[nrest] = '\0';
		jdoc_string(d, o, "msg", rest);
	}
out:
	free(val);
	free(rest);
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
	json_fields(&d, o, msg);
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
	log_warn("event=quarantined queue=%s record=%s failed=%s why=%s", queue, name, failed_name,
	         log_q(reason));
}
