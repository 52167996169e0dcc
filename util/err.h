/*
 * err.h: how every scfgate library function reports failure.
 *
 * Contract
 *   A library function never prints and never exits.  It returns an
 *   enum err_status and, when it fails, fills a caller-owned struct err
 *   with one human-readable line that says what was wrong and where
 *   (file, line, record id, HTTP status...).  Only the command line
 *   prints these lines.
 *
 *   The status tells the caller what to do next:
 *     ERR_OK    success.
 *     ERR_TEMP  temporary: the same action may succeed later (a full
 *               disk, a 503, a timeout, a file still arriving).  Retry
 *               with backoff; never quarantine for this.
 *     ERR_PERM  permanent: retrying the same input cannot help (a bad
 *               signature, a 422, a mapping that cannot apply).  The
 *               record goes to failed/ with the message as its reason.
 *     ERR_FATAL the half must stop and alert an operator (403 from SCF
 *               after abuse, 401 after re-authentication, a broken
 *               configuration).  Nothing is quarantined for this.
 *
 *   The message is one line by construction: err_set, err_errno and
 *   err_prefix turn every control character in what they format (line
 *   breaks and tabs too) into '?', so text quoted from input (an XML
 *   value, an API body, a config line) can neither split a log line nor
 *   send a control sequence to a terminal.  Callers that format text
 *   with line breaks of its own (libxml2's messages) fold them first.
 *
 *   A NULL struct err pointer is allowed everywhere: the status is
 *   still returned, the message is dropped.
 */
#ifndef SCFGATE_ERR_H
#define SCFGATE_ERR_H

#include <stddef.h>

enum err_status {
	ERR_OK = 0,
	ERR_TEMP = 1,
	ERR_PERM = 2,
	ERR_FATAL = 3,
};

#define ERR_MSG_MAX 1024

struct err {
	enum err_status status;
	char msg[ERR_MSG_MAX];
};

/* Reset to ERR_OK with an empty message. */
void err_clear(struct err *e);

/* Record a failure; returns status so callers can write
 * `return err_set(e, ERR_PERM, "...");`.  The message is truncated, never
 * overflowed. */
enum err_status err_set(struct err *e, enum err_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like err_set, with ": strerror(errnum)" appended.  errno is left as it
 * was, so a caller can still branch on it. */
enum err_status err_errno(struct err *e, enum err_status status, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prepend context ("outbound/new/0000000042-scf.xml: ") to an existing
 * message; the status is kept and returned. */
enum err_status err_prefix(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Every control character of s (below 0x20, and DEL) as '?', in place:
 * what err_set does to a message, for other one-line text from input (a
 * dismissal's who and why in a .why file). */
void err_one_line(char *s);

/* "ok", "temporary", "permanent", "fatal". */
const char *err_status_name(enum err_status status);

#endif
