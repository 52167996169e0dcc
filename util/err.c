/*
 * err.c: filling struct err.  See err.h for the contract.
 */
#include "err.h"

#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->status = ERR_OK;
	e->msg[0] = '\0';
}

/* Messages quote input (an XML value such as "&#10;2", an API body, a
 * config line): a line break there would split a log line, an escape
 * sequence would reach the operator's terminal.  '?' rather than a space
 * shows the operator that the value holds something unprintable. */
void err_one_line(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
}

__attribute__((format(printf, 3, 0))) static void err_vset(struct err *e, enum err_status status,
                                                           const char *fmt, va_list ap)
{
	e->status = status;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	err_one_line(e->msg);
}

enum err_status err_set(struct err *e, enum err_status status, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return status;
	va_start(ap, fmt);
	err_vset(e, status, fmt, ap);
	va_end(ap);
	return status;
}

enum err_status err_errno(struct err *e, enum err_status status, int errnum, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t len;

	if (!e)
		return status;
	va_start(ap, fmt);
	err_vset(e, status, fmt, ap);
	va_end(ap);
	len = strlen(e->msg);
	snprintf(e->msg + len, sizeof(e->msg) - len, ": %s", strerror(errnum));
	errno = saved;
	return status;
}

enum err_status err_prefix(struct err *e, const char *fmt, ...)
{
	char head[ERR_MSG_MAX];
	char old[ERR_MSG_MAX];
	size_t hlen;
	va_list ap;

	if (!e)
		return ERR_OK;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	err_one_line(head);
	memcpy(old, e->msg, sizeof(old));
	hlen = strlen(head);
	memcpy(e->msg, head, hlen);
	/* Truncation of the tail is intended: the message is one line. */
	snprintf(e->msg + hlen, sizeof(e->msg) - hlen, "%s", old);
	return e->status;
}

const char *err_status_name(enum err_status status)
{
	switch (status) {
	case ERR_OK:
		return "ok";
	case ERR_TEMP:
		return "temporary";
	case ERR_PERM:
		return "permanent";
	case ERR_FATAL:
		return "fatal";
	}
	return "unknown";
}
