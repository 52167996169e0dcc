/*
 * log.h: the daemons' output channel.  One line per event on stderr.
 *
 * Contract
 *   - Libraries report failures through struct err; the halves' daemons
 *     (and the HTTP client, for retries it absorbs) say what happened
 *     here.  Write messages as key=value pairs:
 *         log_info("effect=ack issue=%ld record=%s", id, rid);
 *   - Every value that is free text (an error message, a reason, a name
 *     from the other side) goes through log_q(), which quotes it and
 *     escapes '"' and '\\':  log_warn("event=deferred why=%s", log_q(e.msg));
 *     A bare value (a number, an id, a fixed word) never holds a space.
 *   - Text format:  2026-11-27T23:35:32.123Z info scf: effect=ack issue=123
 *     JSON format (--log-json): the same message, its pairs as fields:
 *       {"ts":"...","level":"info","ident":"scf","effect":"ack","issue":123}
 *     A quoted value is unescaped into a string; a bare decimal integer
 *     without a leading zero becomes a number; any other bare value a
 *     string.  Words that are not key=value pairs (a "http:" prefix) are
 *     kept, in order, in "msg" (absent when there are none); a pair
 *     whose key repeats or is ts, level, ident or msg stays in "msg" too.
 *     The text is the one format: the JSON sink parses it, so both carry
 *     the same information.
 *     The timestamp is UTC wall clock with milliseconds.  Control
 *     characters in the message become spaces, so an event is always
 *     exactly one line.  A line is at most LOG_LINE_MAX bytes (longer
 *     messages are cut).
 *   - journald: when systemd connected stderr to the journal
 *     (JOURNAL_STREAM names stderr's device and inode, checked at
 *     log_open), every line written to stderr starts with its syslog
 *     priority, which the journal takes off and keeps as the priority:
 *     <1> alert, <3> error, <4> warn, <6> info, <7> debug (so
 *     `journalctl -p err` shows errors and alerts).  Not otherwise, and
 *     never to a sink.
 *   - Levels, most to least severe: alert (an operator must act; always
 *     written), error, warn, info, debug.  A message is written when its
 *     level is at or above the level given to log_open.
 *   - Never log secrets: tokens, passwords, Authorization headers.
 *   - Each line goes out with a single write, so lines of concurrent
 *     processes sharing stderr do not interleave.  Not thread-safe for
 *     log_open/log_set_sink; log_msg may be called from any thread.
 *   - Without log_open: ident "scfgate", level info, text.
 */
#ifndef SCFGATE_LOG_H
#define SCFGATE_LOG_H

#include <stdarg.h>

/* Not LOG_ERR/LOG_INFO: those are <syslog.h> macros. */
enum log_level {
	LOGL_ALERT = 0,
	LOGL_ERROR,
	LOGL_WARN,
	LOGL_INFO,
	LOGL_DEBUG,
};

#define LOG_LINE_MAX 4096

/* ident: short name of the program part ("scf", "oms"); copied.
 * json: nonzero for one JSON object per line. */
void log_open(const char *ident, enum log_level level, int json);

/* 1 if log_open found stderr connected to the journal (see above). */
int log_to_journal(void);

/* s quoted for a log line: "..." with '"' and '\\' escaped (NULL: "").
 * The result lives in a per-thread ring of 8 buffers: use it in the
 * log call at hand only.  Cut at LOG_LINE_MAX. */
const char *log_q(const char *s);

/* "alert", "error", "warn", "info", "debug". */
const char *log_level_name(enum log_level level);

/* Parse a level name (as above, "warning" also accepted): 0 on success,
 * -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);

/* 1 if a message at level would be written (skip costly formatting). */
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define log_alert(...) log_msg(LOGL_ALERT, __VA_ARGS__)
#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

/* Send finished lines (without the trailing newline) to sink instead of
 * stderr, e.g. to capture them in tests.  sink NULL restores stderr. */
typedef void (*log_sink_fn)(void *ctx, enum log_level level, const char *line);
void log_set_sink(log_sink_fn sink, void *ctx);

/* A spool_quarantine_fn (spool.h) for both halves: one warning line
 * "event=quarantined queue=Q record=NAME failed=NAME2 why="..."" (control
 * characters flattened like every line); ctx unused. */
void log_quarantined(void *ctx, const char *queue, const char *name, const char *failed_name,
                     const char *reason);

#endif
