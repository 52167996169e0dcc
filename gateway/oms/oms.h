/*
 * oms.h: the OMS half: forward outbound records into Cartegraph exactly
 * once, poll the requests it created, and report acks and closings back
 * through the inbound queue.
 *
 * Forward contract
 *   - Outbound records are applied in the SCF producer's sequence order
 *     PER ISSUE: records of different issues may be in flight at once
 *     (at most cfg.cg.concurrency HTTP transfers, reads and writes
 *     together, a look-ahead window of
 *     records behind the claimed one), records of one issue never
 *     overtake each other, and in-order records leave new/ (done/,
 *     failed/, hold/) strictly in sequence order.
 *   - Look-ahead: the spool consumer hands out one claimed record per
 *     producer at a time, so the records behind it are listed with
 *     spool_peek (read and their signatures verified in new/ without
 *     being claimed), applied, and claimed and completed when their
 *     turn comes.  Every effect is
 *     idempotent, so a crash that leaves an applied record in new/ only
 *     costs a repeat of its checks.
 *   - issue: POST the create body; then an `ack` record goes to the
 *     inbound queue, then the outbound record is completed.  A create
 *     that may have happened (journalled intent, no ack) is resolved by
 *     looking the SCF issue id up in the external-id field first.
 *   - comment, by cfg.cg.comment_route: "field" and "notes" read the
 *     route's field once, skip if the marker is there, else PUT it with
 *     the note appended right away (one read, one write; records of one
 *     issue are applied in order, so the gateway never races itself).
 *     "notes" shares the field with people and Cartegraph has no
 *     conditional update: a note written between the read and the PUT
 *     is overwritten; every such append is logged ("route=notes") and
 *     counted (notes_appends).  "child" lists the request's comment
 *     children and POSTs one unless a child carries the marker.
 *   - attachment: POST the linked child unless one with the same URL
 *     exists (also into a request closed meanwhile, where a comment's
 *     note is skipped).  The create body itself carries no photo fields
 *     (a standard request class has none) unless <requestPhoto> asks.
 *   - 5xx/timeouts (after the client's own retries): the record is tried
 *     again after a capped exponential back-off with jitter; other
 *     issues keep flowing inside the window.  4xx or a mapping that
 *     cannot apply: failed/ with the reason and body; later records of
 *     that issue go to hold/ ("blocked behind ...") until an operator
 *     acts.  An attachment is the exception: one that waits, is held or
 *     failed holds back nothing of its issue (a photo stands on its
 *     own).  401 after one re-login, or any fatal error: ERR_FATAL.
 *   - Re-injected records (released, retried, late) come from the spool
 *     in sequence order and are applied like any other: a record waits
 *     for the unfinished records of its issue with a LOWER SEQUENCE,
 *     wherever they stand in the window (a re-injected one may stand in
 *     front of those it follows), and leaves cur/ as soon as it is
 *     finished, so one that waits out a back-off holds back nothing but
 *     its issue's later records.  When an issue's request is created (or
 *     found), its records waiting out a back-off are tried at once.
 *
 * Tracked state
 *   <spool root>/state/oms/: a snapshot and an append-only journal of
 *   full entry lines (last line wins), compacted when the journal grows
 *   past the number of entries.  Lines that precede an external effect
 *   (a create intent, the sequence an ack or close record is about to
 *   get) are fdatasync'd first.  Ack and close records are exactly once
 *   across crashes: the journal names the inbound sequence the record is
 *   about to take, and at start-up a sequence the producer has already
 *   passed counts as committed.
 *
 * Poll contract
 *   - For every tracked request that is not closed: GET the request class
 *     filtered on [Oid] in (...) in chunks of OMS_POLL_CHUNK, only the
 *     fields needed; at most two queries per transfer (concurrency)
 *     queued or in flight, the next built when one finishes, so the
 *     poll's memory does not grow with the number tracked.  A closed
 *     status (cfg_is_closed_value) commits a `close` record and stops
 *     tracking; the request is never looked at again.
 *
 * Reconciliation
 *   - A `census` record is kept, not applied: its part goes to
 *     state/oms/census/<census id>/part.<n> (one line per entry, written
 *     atomically) and the record is done.  It holds back nothing (like an
 *     attachment).  A census already reconciled is ignored.
 *   - After a forward pass and poll, oms_reconcile_pending() takes every
 *     census whose parts 1..last are all kept: part by part (at most
 *     2,000 entries in memory) it asks Cartegraph for the requests
 *     carrying those SCF ids (external-id field `in (...)`, OMS_POLL_CHUNK
 *     ids a GET, paged past the limit, only Oid, IDField, status, type,
 *     external id and the point), classifies each entry (oms_recon.h),
 *     then asks by Oid for the tracked requests not closed, of a type the
 *     census covers, that it did not list (orphans).  The result goes to
 *     state/oms/reconcile/<census id>.json and last.json (replaced
 *     atomically), then the `reconcile` records (counts in every part, at
 *     most 2,000 findings a part) are committed as one group, then the
 *     parts are removed.  Logged: one line a finding and "event=reconciled
 *     census=... calls=... ideal=...".
 *   - Any failure (Cartegraph down, a refusal) leaves the parts: the daemon
 *     tries again a minute later, --once at its next run; other records
 *     flow meanwhile.
 *   - An issue record keyed "issue/<id>/resend/<census id>" looks the SCF
 *     id up in Cartegraph (requests not closed) whatever the tracked state
 *     says, and creates only when none is found.
 *
 * No function here prints; effects are logged through log.h, one line
 * each ("effect=create issue=... oid=... record=...").
 */
#ifndef SCFGATE_OMS_H
#define SCFGATE_OMS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "err.h"
#include "half.h"
#include "http.h"

#define OMS_POLL_CHUNK 150
#define OMS_WINDOW_MAX 1024

struct oms_opts {
	unsigned window;             /* look-ahead records; 0 -> 8 x concurrency */
	unsigned concurrency;        /* 0 -> cfg.cg.concurrency */
	long retry_base_ms;          /* back-off of a record after ERR_TEMP; 0 -> 1000 */
	long retry_max_ms;           /* cap; 0 -> 300000 */
	unsigned http_attempts;      /* the client's attempts per request; 0 -> 4 */
	long http_backoff_ms;        /* the client's back-off base; 0 -> <backoffMilliseconds> */
	long http_timeout_ms;        /* per transfer; 0 -> 30000 */
	volatile sig_atomic_t *stop; /* set by a signal handler: finish and return; every
	                                wait (poll interval, a record's back-off,
	                                an HTTP back-off or Retry-After) ends within
	                                100 ms of it (sigs.h) */
};

struct oms;

/* Open the queues, the tracked state and the HTTP client; recover an
 * interrupted ack/close commit.  The credential file is read here. */
enum err_status oms_open(struct oms **out, const struct cfg *c, const struct oms_opts *opts,
                         struct err *e);
void oms_free(struct oms *o);

struct oms_counts {
	size_t applied;       /* outbound records completed (effect made or already there) */
	size_t failed;        /* to failed/ */
	size_t held;          /* to hold/ (blocked behind a failed record) */
	size_t waiting;       /* still waiting (temporary errors) when forward returned */
	size_t acks;          /* ack records committed */
	size_t closes;        /* close records committed */
	size_t polled;        /* requests looked at by the last poll */
	size_t notes_appends; /* comments appended to the notes by read-modify-write
	                         (route notes), each logged "route=notes" */
	size_t quarantined;   /* files of outbound/new the consumer moved to failed/
	                         on its own (bad signature, truncated, not a
	                         regular file...), each logged "event=quarantined" */
};

/* Reconcile every census whose parts are all kept (see "Reconciliation"
 * in docs/operations.md); a failure is logged, returned, and tried again
 * a minute later in the daemon: nothing else waits on it. */
enum err_status oms_reconcile_pending(struct oms *o, struct err *e);

/* One poll cycle over all tracked open requests. */
enum err_status oms_poll(struct oms *o, struct err *e);

/* The counters since oms_open: the forward passes, polls and commits of
 * this process (acks recovered at open not included), fetched after a
 * run; quarantined from the consumer of the outbound queue. */
void oms_counts_get(const struct oms *o, struct oms_counts *out);

/* The OMS half for the process loop (half.h, half_loop).  Every second
 * a turn begins a forward round; the turns step the forwarder (its
 * window, then at most 100 ms of the network) and ask the loop for the
 * next turn at once while requests are in flight; the turn that ends the
 * round sets STATUS= (notify.h), polls (oms_poll) when the round began on
 * a pass (every cfg.cg.poll_seconds) and reconciles the complete
 * censuses (oms_reconcile_pending).  The window, and the back-offs of its
 * records, stay between rounds.  At a stop the round in progress ends
 * when its requests are answered, and the records in hand go back to
 * new/.  A fatal stop (401 after a re-login, a redirect, a field map that
 * no longer fits, ...) is a turn's ERR_FATAL: the loop's ops->stopped
 * logs the alert and records it for `scfgate status`.
 * --once: one forward round in the same turns, applying the outbound
 * queue until it is empty, or until only records waiting out a
 * temporary error are left that have had their three tries; while a
 * record with tries left waits out its back-off, the turn asks the loop
 * to nap until its end (half_turn.wait_until_ms) instead of sleeping.
 * The round's last turn then (unless stopped) polls once (a poll that
 * meets a temporary error is logged and left for the next run) and
 * reconciles the complete censuses, and its status is the run's: ERR_OK
 * also when records wait (oms_counts.waiting). */
struct half_ops;
extern const struct half_ops oms_half_ops;

/* Requests tracked (created, not closed) and all entries known. */
size_t oms_tracked_open(const struct oms *o);

/*
 * Status, for `scfgate status`.
 *   - oms_status_note() records the last successful Cartegraph call (the
 *     later of the two clients' last 2xx) and, when fatal is not NULL, a
 *     fatal stop with its one-line reason; a NULL fatal clears a recorded
 *     stop.  Called after each complete poll (at most once per pass) and
 *     when the half stops on ERR_FATAL.  The file is the half's status
 *     file, state/oms/status.<generation> (half_status_note, half.h).
 *   - oms_status_read() reads the tracked state (snapshot + journal) and
 *     that file without writing anything or taking a lock, so it runs
 *     beside the daemon (a compaction in between is read again).  A root
 *     where the half never ran gives present = 0 and zeros.  ERR_PERM with
 *     the file name when something is there but cannot be read.
 */
#define OMS_ALERT_MAX HALF_ALERT_MAX
struct oms_status {
	int present;         /* state/oms/ exists */
	size_t tracked_open; /* created, not closed */
	size_t entries;      /* every issue known, closed ones included */
	int64_t last_ok;     /* epoch seconds; 0 unknown */
	int64_t alert_at;    /* a recorded fatal stop; 0 none */
	char alert[OMS_ALERT_MAX];
};

void oms_status_note(struct oms *o, const struct err *fatal);
enum err_status oms_status_read(const struct cfg *c, struct oms_status *out, struct err *e);

/*
 * What the tracked state under root/state/oms says about one issue, read
 * like oms_status_read
 * (no lock, nothing written): the entry whose SCF issue id is issue, or
 * whose Cartegraph Oid is oid, or whose IDField is request_id (0 / NULL:
 * not looked for).  found = 0 when none matches or the half never ran
 * here.  For `scfgate find`.
 */
struct oms_tracked {
	int found;
	int64_t issue;
	int64_t oid;
	int64_t type_id;
	unsigned flags;
	char request_id[128];
};

enum err_status oms_tracked_find(const char *root, int64_t issue, int64_t oid,
                                 const char *request_id, struct oms_tracked *out, struct err *e);
/* The flags as words: "created,ack-pending", "closed", "none". */
void oms_tracked_flags_text(unsigned flags, char *out, size_t size);

/*
 * Replay: put done/ records of the outbound queue through forward again.
 * The idempotency checks make it a no-op for effects that exist: an
 * issue known to the tracked state is left alone, any other is looked up
 * by its external id before it is created; notes by their marker,
 * attachments by URL.  Per-issue order is kept.  sel: the records of
 * done/ (half.h; NULL: every one).  Records stay in
 * done/.  Must not run while `scfgate oms` runs (it takes the outbound
 * consumer lock).  *n_replayed receives how many were applied.
 */
enum err_status oms_replay(const struct cfg *c, const struct half_replay_sel *sel,
                           size_t *n_replayed, struct err *e);

/* Replace dir/name atomically (temporary file, fdatasync, rename), 0640:
 * the OMS half's state files, and `scfgate reconcile`'s results. */
enum err_status oms_write_replace(const char *dir, const char *name, const char *data, size_t len,
                                  struct err *e);

#endif
