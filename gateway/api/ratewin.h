/*
 * ratewin.h: one API rate budget shared by every process that uses the
 * same credential: a true sliding window of recent call times ("at most
 * limit calls in any window"), kept in one small file so that runs,
 * restarts and `--once` timers all count against the same window.
 *
 * Contract
 *   - ratewin_acquire() before every call: it either records the call
 *     (on disk, fdatasync'd, BEFORE the call leaves: a crash can only
 *     make the budget look more spent, never less) or says how long to
 *     wait.  ratewin_release() after the answer moves the call's time to
 *     the moment the answer arrived: the server counted the call at some
 *     moment between the two, so counting from the answer never lets two
 *     calls look further apart to us than they were to the server.
 *   - A call whose answer was never recorded (the process was killed in
 *     the middle) counts as made at min(start + pending_ms, now): it may
 *     still have arrived as late as the transfer timeout.
 *   - The file is read and rewritten under flock(LOCK_EX) for each
 *     operation, so concurrent processes (the half and `spool replay`)
 *     share it; it is rewritten in place (one pwrite, ftruncate,
 *     fdatasync on acquire).  A file that does not parse (a torn write
 *     after a power loss) is taken as "the whole budget was spent just
 *     now": the next call waits one window.  Call times later than now
 *     (the wall clock was set back) are taken as now.
 *   - ratewin_hold(): a 429's Retry-After (no call of any process before
 *     then) or a ban (403 "forbidden by administrative rules"): every
 *     acquire fails with ERR_FATAL naming the time until it is over.
 *   - Times are wall-clock milliseconds (CLOCK_REALTIME), or the
 *     injected clock's.
 *
 * File format (text):  "scfgate-rate 1\n", "hold <ms>\n", "ban <ms>\n",
 * then one "call <ms> <d|s> <owner>\n" per call still in the window
 * (d: answered, s: started, answer not recorded), then "end <n>\n".
 */
#ifndef SCFGATE_RATEWIN_H
#define SCFGATE_RATEWIN_H

#include <stdint.h>

#include "err.h"

#define RATEWIN_BAN_MS (3600ull * 1000) /* SCF does not say how long a ban lasts */

struct ratewin;

struct ratewin_opts {
	unsigned limit;                /* calls in any window (>= 1) */
	uint64_t window_ms;            /* >= 1 */
	uint64_t pending_ms;           /* how late an unanswered call may still arrive */
	uint64_t (*now_ms)(void *ctx); /* epoch ms; NULL: CLOCK_REALTIME */
	void *ctx;
};

/* Opens (creates, mode 0600) the file.  ERR_FATAL if it cannot be
 * opened: a half that cannot count its calls must not make them. */
enum err_status ratewin_open(struct ratewin **out, const char *path, const struct ratewin_opts *o,
                             struct err *e);
void ratewin_free(struct ratewin *w);

/* ERR_OK, *wait_ms 0: the call is recorded as started now; *ticket
 * names it for ratewin_release.  ERR_OK, *wait_ms > 0: no room yet.
 * ERR_FATAL: a ban is recorded and not over (message starts "ALERT:").
 * ERR_TEMP: the file cannot be read or written. */
enum err_status ratewin_acquire(struct ratewin *w, uint64_t *wait_ms, uint64_t *ticket,
                                struct err *e);
/* The call's answer (or failure) has arrived. */
void ratewin_release(struct ratewin *w, uint64_t ticket);
/* No call before now + ms (ban 0), or a ban for ms (0: RATEWIN_BAN_MS).
 * Returns the end as epoch seconds. */
int64_t ratewin_hold(struct ratewin *w, uint64_t ms, int ban);

/* For `scfgate status` (no lock taken, nothing written): calls in the
 * window now and the recorded ban's end (epoch seconds, 0 none).
 * ERR_OK with zeros when the file does not exist. */
struct ratewin_info {
	unsigned in_window;
	int64_t ban_until;
};
enum err_status ratewin_peek(const char *path, uint64_t window_ms, struct ratewin_info *out,
                             struct err *e);

#endif
