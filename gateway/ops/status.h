/*
 * status.h: what `scfgate status` reports about one half, read from the
 * half's spool root and persisted state without taking any lock, so it
 * is safe while the daemon runs.
 *
 * Contract
 *   - status_collect() reads, for each queue of the half ("outbound",
 *     "inbound"), the record count of every sub-directory, the age of the
 *     oldest record waiting in new/, the consumer's gap (missing
 *     sequence, since when, alarmed after cfg.spool.gap_alarm_seconds),
 *     and every failed/ record with the first line of its .why.  Then the
 *     half's own state, read without a lock: the SCF half's watermark,
 *     last successful SeeClickFix call and recorded fatal stop
 *     (state/scf/, scf.h); the OMS half's tracked requests (open and
 *     known), last successful Cartegraph call and recorded fatal stop
 *     (state/oms/, oms_status_read).  The last successful call is as of
 *     the half's last save (after each pass), not live.
 *   - A queue directory that does not exist yet reads as empty.  A state
 *     file that cannot be read is reported (its error line), not fatal:
 *     status must work exactly when things are broken.
 *   - The half's health record (health.h, state/<half>/health.N): the
 *     outcome of the last attempt of each kind of work, saved after every
 *     pass.  The verdict is computed from it, not from a remembered alarm.
 *   - Stuck: when the oldest record of a queue's new/ has waited
 *     cfg.spool.stuck_alarm_seconds, it is named with what holds it: on the
 *     queue the half writes, the transport; on the one it applies, a
 *     missing sequence number, the issue record a comment or attachment
 *     depends on (found in new/, failed/, hold/ or cur/, decoded without
 *     verification), or the failing kind of work.
 *   - Attention is needed (status_attention() != 0) when a gap is
 *     alarmed, when failed/ holds anything, when new/ holds files that are
 *     not records, when a queue, the half's state or its health record
 *     cannot be read, when a kind's last attempt was fatal, when a kind
 *     has failed on every attempt for cfg.spool.failing_alarm_seconds,
 *     when no pass was recorded for that long plus twice the half's poll
 *     interval, when a record is stuck, or when a fatal stop recorded in
 *     the state has no later success in the health record.
 *     status_summary() is one line naming every reason, or "ok: ...";
 *     status_attention() is derived from that line, so the two agree.
 *   - Rendering: readable text, or one JSON document (cJSON).  Nothing
 *     here prints.
 */
#ifndef SCFGATE_STATUS_H
#define SCFGATE_STATUS_H

#include <time.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"

struct status_report;

/* now: the reference time for ages (0: time(NULL)). */
enum err_status status_collect(const struct cfg *c, time_t now, struct status_report **out,
                               struct err *e);
void status_free(struct status_report *r);

int status_attention(const struct status_report *r);
/* One line, no newline: "ok: ..." or "ATTENTION: ...". */
const char *status_summary(const struct status_report *r);

/* The verdict line (status_summary()) for a running half's systemd
 * STATUS=, recomputed at most every STATUS_VERDICT_EVERY seconds: *cache
 * holds the last one and *cache_at when it was made (both start zeroed).
 * A report that cannot be collected gives "status unknown: REASON". */
#define STATUS_VERDICT_EVERY 60
const char *status_verdict_cached(const struct cfg *c, char *cache, size_t cap, time_t *cache_at);

enum err_status status_render_text(const struct status_report *r, struct buf *out);
enum err_status status_render_json(const struct status_report *r, struct buf *out);

#endif
