/*
 * notify.c: sd_notify for Type=notify units.  See notify.h.
 */
#include "notify.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

static uint64_t watchdog_usec; /* 0: no watchdog */
static uint64_t last_ping_usec;
static notify_verdict_fn *verdict_fn;

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void notify_init(void)
{
	uint64_t usec = 0;

	/* > 0 only if WATCHDOG_USEC is set and WATCHDOG_PID (if set) is us */
	watchdog_usec = sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
	last_ping_usec = 0;
}

__attribute__((format(printf, 2, 0))) static void send_status(const char *prefix, const char *fmt,
                                                              va_list ap)
{
	char text[NOTIFY_STATUS_MAX + 1];
	char msg[NOTIFY_STATUS_MAX + 32];

	vsnprintf(text, sizeof(text), fmt, ap);
	/* one line: a newline would start another assignment */
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", prefix, text);
	sd_notify(0, msg);
}

void notify_ready(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_status("READY=1\n", fmt, ap);
	va_end(ap);
	notify_watchdog();
}

void notify_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	send_status("", fmt, ap);
	va_end(ap);
}

void notify_watchdog(void)
{
	uint64_t now;

	if (!watchdog_usec)
		return;
	now = mono_usec();
	if (last_ping_usec && now - last_ping_usec < watchdog_usec / 4)
		return;
	last_ping_usec = now;
	sd_notify(0, "WATCHDOG=1");
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void notify_set_verdict(notify_verdict_fn *fn)
{
	verdict_fn = fn;
}

const char *notify_verdict(const struct cfg *c, char *cache, size_t cap, time_t *cache_at)
{
	return verdict_fn ? verdict_fn(c, cache, cap, cache_at) : "status unknown";
}
