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
 *   - Attention is needed (status_attention() != 0) when a gap is
 *     alarmed, when failed/ holds anything, when the half's state
 *     cannot be read, or when the half recorded a fatal stop (until a
 *     healthy pass clears it).  status_summary() is one line saying so, or "ok".
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

enum err_status status_render_text(const struct status_report *r, struct buf *out);
enum err_status status_render_json(const struct status_report *r, struct buf *out);

#endif
