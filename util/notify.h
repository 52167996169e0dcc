/*
 * notify.h: the systemd service manager protocol (sd_notify(3)) for the
 * halves run as Type=notify units.
 *
 * Contract
 *   - Everything here does nothing unless systemd (or a test) set
 *     NOTIFY_SOCKET; the halves call it unconditionally.
 *   - notify_init() reads WATCHDOG_USEC (and WATCHDOG_PID: a watchdog
 *     meant for another process is ignored) once, at start.
 *   - notify_ready(): READY=1 with a STATUS= line, after the start-up
 *     checks (configuration, keys, spool, state) passed; systemd counts
 *     the unit as started only then.
 *   - notify_status(): STATUS= with a one-line state ("pass ok, 3
 *     committed", or the last error), shown by `systemctl status`.
 *     Control characters become spaces; cut at NOTIFY_STATUS_MAX bytes.
 *   - notify_watchdog(): WATCHDOG=1 when a quarter of WATCHDOG_USEC has
 *     passed since the last one, so the watchdog hears from a live half
 *     at least every half of its interval.  Cheap to call often: the
 *     interruptible wait (sigs.h) calls it every slice, the HTTP client
 *     before every synchronous request and at every turn of its drain
 *     loop, and both halves after every pass.  The watchdog stands for liveness
 *     (the half's loop turns), not for the health of the APIs: an outage
 *     is reported by STATUS= and `scfgate status`, not by a restart.
 *   - notify_stopping(): STOPPING=1 when the half starts shutting down.
 *   - notify_verdict(): the verdict `scfgate status` would print, for the
 *     start of STATUS=.  It is computed above the halves (status.h reads
 *     both halves' state), so the program registers the function once
 *     with notify_set_verdict() and the halves only ask; unregistered
 *     (a test linking one half alone), it is "status unknown".
 */
#ifndef SCFGATE_NOTIFY_H
#define SCFGATE_NOTIFY_H

#include <stddef.h>
#include <time.h>

#define NOTIFY_STATUS_MAX 200

struct cfg;
/* As status_verdict_cached (status.h): *cache holds the last verdict and
 * *cache_at when it was made. */
typedef const char *notify_verdict_fn(const struct cfg *c, char *cache, size_t cap,
                                      time_t *cache_at);

void notify_init(void);
void notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_watchdog(void);
void notify_stopping(void);
void notify_set_verdict(notify_verdict_fn *fn);
const char *notify_verdict(const struct cfg *c, char *cache, size_t cap, time_t *cache_at);

#endif
