/*
 * scf.h: the SeeClickFix half of scfgate (`scfgate scf`): fetch SCF
 * issues, comments and photos into the outbound spool, and write
 * acknowledgments and closings from the inbound spool back to SCF.
 *
 * Fetch
 *   - One pass polls GET {base}/organizations/{org}/issues with all four
 *     statuses, updated_at_after = watermark - overlap (UTC "Z" form),
 *     sort=updated_at ASC, details=true and per_page from the
 *     configuration, following metadata.pagination.next_page until it is
 *     null.  The very first pass (no watermark yet) asks for status=open
 *     only: nothing first seen in another status is sent, so the
 *     organization's closed history is not read at all.  Comments and answers come inline, so a
 pass costs one call
 *     per 20 changed issues.
 *   - A new Open issue of a mapped request type gives an `issue` record
 *     (its first-sight comments travel inside it), then one `attachment`
 *     record for its photo and for each forwarded first-sight comment
 *     photo.  Unmapped types are skipped and counted, never failed.  An
 *     issue first seen in any other status is not sent (it is sent if it
 *     later shows up Open), except one first seen Closed: it is
 *     remembered (S) and its reopening meets the reopen policy like the
 *     reopening of an issue whose request was closed (W).  Reopen policy
 *     (cfg scf.reopen) ignore: either, seen Open or Acknowledged again,
 *     is logged once (warn, event=reopen-ignored), marked R (counted by
 *     `scfgate status`) and not sent; closed again in SCF, R becomes W.
 *     Reopen policy recreate: W, S and R seen Open or Acknowledged are
 *     logged (warn, event=reopen-recreate) and sent again as a new issue
 *     record of the next generation (record_issue.generation, key
 *     "issue/<id>/<generation>", its comments and photos with it), for
 *     which the OMS half creates a new request; the issue is then tracked
 *     like any other.  On W, S and R issues, each comment newer than the
 *     issue's closed_at is logged once (event=comment-not-forwarded with
 *     the reason) and remembered; an issue first seen in a status that
 *     is not sent is logged (info, event=skip, with its comment count):
 *     no comment is dropped without a log line.
 *   - At the first pass of a run the mapped request types are compared
 *     with those the state remembers ("type/<id>"): a type added to the
 *     configuration is resynchronised (scf_resync by request type) and
 *     logged, then remembered; a type no longer configured is forgotten.  On a tracked issue that
 is not closed, each
 *     comment with an unseen key gives a `comment` record when
 *     map_comment_forward() says so, plus an `attachment` for its photo.
 *     A seen comment whose text changed is an edit: logged, not sent.
 *   - The half's own comments are never sent, whatever the policy: at
 *     start (the first pass of the process, again each pass until it
 *     answers) it reads GET {base}/profile and keeps the user id in the
 *     state; a comment by that user, or one recorded when the half posted
 *     it, is logged (comment-not-forwarded, with the reason) and marked
 *     seen.  Only a fatal profile error (401, 403 ban, redirect) stops the
 *     pass; otherwise the id kept in the state applies.
 *   - The watermark is the largest updated_at SCF returned, or, when
 *     larger, the server's Date header of the pass's first page less
 *     SCF_DATE_MARGIN (a complete pass that began at T saw every issue
 *     updated before T).  Both are SCF's own clock, so a skewed local
 *     clock does not matter; the Date makes an idle pass move the
 *     watermark, so a bulk change is re-read at most once more and every
 *     idle pass after that is one call.  Not when the list shifted
 *     during the pass (below).  It moves only at the end of a pass that
 *     read every page.  Malformed or truncated
 *     JSON, a 5xx after retries or a dropped connection ends the pass with
 *     ERR_TEMP and one line naming the page; the watermark stays, so the
 *     next pass re-reads the same window and the seen-state drops what
 *     was already sent.  One bad issue object (map_scf_issue refuses it) is
 *     logged and skipped; the others keep flowing.
 *
 * State (<spool root>/state/scf/)
 *   - The watermark, the producer sequence covered (the last successful
 *     call and a fatal stop are in the half's status file, half.h), and a
 *     sorted set of
 *     keys with a short value: "issue/<id>" -> its last seen status letter
 *     (O, A, C, X = Archived), W (closed by write-back: no longer
 *     synced), S (first seen Closed, never sent) or R (reopened after W or
 *     S, ignored by the reopen policy); "type/<id>" -> "-" (a mapped
 *     request type the half has started with); "comment/<issue>/<key>" ->
 *     16 hex digits of the SHA-256 of its text (edit detection);
 *     "attachment/<issue>/<issue|key>" -> "-";
 *     "profile/user" -> the SCF user id of the credential;
 *     "posted/<issue>/<comment id>" and "posted/<issue>/<epoch>.<16 hex of
 *     the text's SHA-256>" -> "-" for each comment the half posted;
 *     "transitions/<issue>" -> what the issue offered when last read ("a"
 *     acknowledge_url, "c" close_url, "-" none); "gen/<issue>" -> the
 *     generation of its last request when it was re-created (absent: 1;
 *     kept when write-back closes the issue).  posted/ and transitions/
 *     keys go with the others when write-back closes the issue.
 *   - Saved as one text file, state.<generation>, written with
 *     spool_write_atomic (tmp, fdatasync, rename without replace, fsync of
 *     the directory); the previous generation is unlinked afterwards
 *     (spool_write_atomic never replaces, hence generations).  Loading
 *     takes the highest generation that is complete (it ends with an
 *     "end <count>" line) and falls back to an older one if the newest is
 *     damaged.  Keys are kept sorted, so the file is sorted too and a
 *     lookup is a binary search.
 *   - Size and cadence: about 40 bytes per comment or attachment and 20
 *     per issue.  When write-back closes an issue its comment and
 *     attachment keys are dropped and only "issue/<id> W" remains, so the
 *     file grows with the number of issues, not with their history.  It is
 *     rewritten after every page that changed it while it holds fewer than
 *     20000 keys (about 1 MB), else every 10th page and at the end of the
 *     pass: between saves the outbound spool itself is the journal (see
 *     crash safety), so a big first synchronisation does not rewrite
 *     megabytes per page.

 * Crash safety
 *   - Records of a page are committed with spool_commit_group; the
 *     seen-state is updated (and saved, see above) only afterwards,
 *     together with spool_producer_next_seq().  A crash between the two leaves records
 *     whose sequences the state does not cover.  At open, every local copy
 *     of those sequences (outbound new/, cur/, done/, failed/, hold/) is
 *     read back and its keys are marked seen before anything is fetched,
 *     so no record is produced twice.
 *   - Guarantee when the transport already moved such a record off this
 *     host before the state was saved (a window of one page, only after a
 *     crash): its key cannot be recovered here, so it is produced again
 *     under a new sequence: at-least-once, not exactly-once (the window is
 *     one page while the state is small, at most 10 pages when large).  The OMS half
 *     absorbs it through its idempotency keys (external id lookup, note
 *     markers, attachment URL check).  The count of such sequences is
 *     logged at start (warn, "not found locally").
 *
 * Write-back
 *   - Claims inbound records in order (verified with the peer's key).
 *     Before a transition it needs the issue's status and transitions:
 *     as the state holds them when the last complete fetch pass of this
 *     process started less than two poll intervals ago (any later change
 *     moves updated_at into the next pass), else (or when that view offers
 *     no transition for the record) from GET /issues/{id}.  Already in the
 *     target state, Archived, or a transition SCF no longer allows count
 *     as done with a log line saying why.  Otherwise it POSTs
 *     /issues/{id}/acknowledge or /close with {"comment": rendered text}.
 *     A failed POST is checked against the issue once more (a retried POST
 *     may have been applied already, or the view was stale: SCF refuses a
 *     transition from another state with 422).  A POST that succeeded
 *     records the comment it made (posted/) and, for an ack, the issue as
 *     Acknowledged offering close; the state is saved before the record is
 *     completed.  After a close the issue is marked W and never synced
 *     again.
 *   - ERR_PERM -> spool_fail with reason, HTTP status and body excerpt;
 *     ERR_TEMP -> spool_defer and the drain stops until the next round
 *     (the HTTP client already backed off with jitter); ERR_FATAL (403
 *     blacklisting, 401) -> the record goes back to new/ and the half stops.
 *
 * API cost: a fetch pass is one call per page of 20 changed issues (the
 * issues changed in the last overlap window are read again) and one
 * GET /profile a day (or when the credential file changes); each
 * transition is one POST when a recent pass read the issue, else one GET
 * and one POST.  One http_client carries every call of the half, and
 * every call spends the credential's rate budget (scf_impl.h, ratewin.h):
 * at most <ratePerMinute> calls in any <rateWindowSeconds> (20 in 60 s),
 * a sliding window persisted in <spool root>/state/scf/rate and shared
 * with later runs, restarts, `--once` timers and `spool replay`.  A small
 * pass with room in the window runs at once; a call is recorded
 * (fdatasync'd) before it is sent, so a crash can only make the window
 * look fuller.  A 429 holds every process sharing the file for its
 * Retry-After; a 403 ban is recorded and stops the half with an ALERT
 * naming the time before which no call is made (one hour; see
 * docs/operations.md), and every start before then stops the same way
 * without calling SCF.
 *
 * Stopping: the stop flag is checked between pages and between records:
 * the record in hand is finished and committed first.  A wait inside the
 * HTTP client (limiter, back-off, Retry-After) is not interrupted; it
 * ends first.
 *
 * Nothing here prints: the half reports through log.h, one line per
 * effect naming the SCF issue id and the record file.
 */
#ifndef SCFGATE_SCF_H
#define SCFGATE_SCF_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "err.h"
#include "half.h"
#include "http.h"

/* ---- the half ----------------------------------------------------------- */

struct scf_half;

struct scf_stats {
	uint64_t pages;         /* list pages read */
	uint64_t issues_seen;   /* issue objects read (duplicates included) */
	uint64_t issue_records; /* records committed, by kind */
	uint64_t comment_records;
	uint64_t attachment_records;
	uint64_t skipped_unmapped;       /* new Open issues of an unmapped type */
	uint64_t skipped_not_open;       /* first seen in another status */
	uint64_t skipped_bad;            /* issue objects map_scf_issue refused */
	uint64_t comments_not_forwarded; /* by policy, or on a closed issue */
	uint64_t comments_edited;
	uint64_t recovered;    /* records re-read at open after a crash */
	uint64_t acks_applied; /* write-back */
	uint64_t closes_applied;
	uint64_t already_done; /* transitions found applied / not allowed */
	uint64_t wb_failed;
	uint64_t wb_deferred;
	uint64_t reopens_ignored;   /* issues reopened in SCF after close (policy ignore) */
	uint64_t reopens_recreated; /* the same sent again (policy recreate) */
	int64_t watermark;          /* epoch seconds, 0 before the first pass */
	uint64_t quarantined;       /* inbound files the consumer moved to failed/ on its
	                               own (bad signature, truncated, DOCTYPE...), each
	                               logged "event=quarantined" */
};

/* Seconds kept below the server's Date of a complete pass when it moves
 * the watermark (clocks inside SCF may disagree by this much). */
#define SCF_DATE_MARGIN 30

/* Open the half: keys, HTTP client, outbound producer, inbound consumer,
 * state (with crash recovery).  clock may be NULL (real time).
 * ERR_FATAL for anything a person must fix; ERR_TEMP if another process
 * holds the producer or consumer lock. */
enum err_status scf_open(struct scf_half **out, const struct cfg *c, const struct http_clock *clock,
                         struct err *e);
void scf_free(struct scf_half *h);

/* Stop between pages / records when *stop becomes non-zero (may be NULL);
 * every wait (poll interval, back-off, Retry-After, rate budget) ends
 * within 100 ms of it (sigs.h). */
void scf_set_stop_flag(struct scf_half *h, volatile sig_atomic_t *stop);

/* One fetch pass (see above). */
enum err_status scf_fetch(struct scf_half *h, struct err *e);

/* Apply inbound records until the queue is empty, blocked (gap, deferred
 * record) or stopped.  ERR_FATAL stops the half; other troubles are per
 * record and only logged. */
enum err_status scf_writeback(struct scf_half *h, struct err *e);

/* --once (once != 0): one fetch pass, then drain until poll_seconds after
 * the start of the pass (at least one record; the next run goes on with
 * the rest, so a timer's runs fetch on time too); daemon: a fetch pass
 * starts every poll_seconds, counted from the start of the previous one,
 * until *stop; in between the inbound queue is drained (every second when
 * empty).  Fairness: the drain yields when the next pass is due (after at
 * least one record per drain, so neither side starves), so however long
 * the inbound queue is, fetching is never postponed by more than one poll
 * interval (plus the record in hand).  ERR_FATAL ends both; in --once
 * mode a failed pass returns its status after the drain.  This is the
 * process loop (half_loop, half.h) over the half's turns, for callers
 * that opened the half themselves (tests, benches); `scfgate scf` runs
 * the same through half_serve. */
enum err_status scf_run(struct scf_half *h, int once, struct err *e);

void scf_stats_get(const struct scf_half *h, struct scf_stats *out);

/* The SCF half for the process loop (half.h). */
struct half_ops;
extern const struct half_ops scf_half_ops;
/* The HTTP counters of the half's single client. */
void scf_http_stats(const struct scf_half *h, struct http_stats *out);

/* The id in member name of o (pure, for tests and fuzzing): a JSON number
 * that is a whole number from 1 to 2^53, or a string of 1 to 18 decimal
 * digits.  Anything else (absent, negative, fractional, 1e400, "12ab")
 * gives 0, which every caller treats as "no usable id". */
int64_t scf_json_id(const cJSON *o, const char *name);

/* One list page (pure, for tests and fuzzing): *doc is the parsed body
 * (cJSON_Delete it), *issues its "issues" array, *next the next page
 * number or 0 when metadata.pagination.next_page is null or absent.
 * ERR_TEMP with "page N: ..." for anything else (not JSON, truncated,
 * a non-empty "errors" object, no issues array, a next_page that is not
 * page + 1); *doc is then NULL. */
enum err_status scf_page_parse(const char *body, size_t len, unsigned page, cJSON **doc,
                               const cJSON **issues, unsigned *next, struct err *e);

/* ---- resync (`scfgate scf resync`) ---------------------------------------- */

/* One selector: issues (n_issues > 0), else request_type, else since. */
struct scf_resync_sel {
	int64_t request_type;  /* > 0: the Open issues of this request type */
	const int64_t *issues; /* these issues, one GET each */
	size_t n_issues;
	int64_t since;    /* > 0: the Open issues updated at or after (epoch) */
	int acknowledged; /* Acknowledged issues too */
};

struct scf_resync_result {
	uint64_t selected;      /* issue objects read */
	uint64_t sent;          /* issue records committed now */
	uint64_t already;       /* selected issues the state knew (sent before, or
	                           first seen Closed, or no longer synced) */
	uint64_t skipped;       /* unmapped type, status not selected, bad object */
	uint64_t missing;       /* --issue ids SCF does not know (404) */
	uint64_t other_records; /* comment and attachment records committed */
};

/*
 * Read the selected issues regardless of the watermark and put each
 * through the same handling as a fetch pass, except that a never-sent
 * Acknowledged issue is sent too when sel->acknowledged: an issue the
 * state does not know gives its records (committed and noted exactly as
 * a pass does, so a repeat sends nothing); one it knows gets only its
 * unseen comments.  The reopen policy applies as in a pass.  The
 * watermark does not move.  Needs the open half (its locks).
 */
enum err_status scf_resync(struct scf_half *h, const struct scf_resync_sel *sel,
                           struct scf_resync_result *res, struct err *e);

/* ---- census (`scfgate scf census`, <scf><census>) ------------------------- */

/*
 * A census lists, for the mapped request types, every issue SeeClickFix
 * has with updated_at in the window [now - window days, now], whatever
 * its status (open,acknowledged,closed,archived), with list pages of
 * SCF_CENSUS_PER_PAGE issues without details (never one call per issue),
 * sorted by created_at ascending so that updates during the census move
 * nothing.  Every call spends the half's rate budget.  Each issue becomes
 * an entry with what the state believes (sent, acknowledged, closed,
 * generation); entries are committed as `census` records of at most
 * RECORD_PART_MAX entries as the pages are read (memory holds one part
 * and the set of ids read), the last with last=true.  The census id is
 * "<producer>-<UTC start, YYYYMMDDTHHMMSSZ>".  An issue object without a
 * usable id, status word, updated_at or location is logged
 * (event=census-skip) and counted, not listed.  A census cut short
 * (error, stop) is abandoned: its parts stay committed without a last
 * one, and the OMS half does not reconcile it.  The state remembers the
 * start of the last complete census ("census/last" -> epoch seconds).
 */
#define SCF_CENSUS_PER_PAGE 100

struct scf_census_result {
	char census_id[72];
	char window_from[32]; /* RFC 3339 UTC */
	char window_to[32];
	unsigned window_days;
	uint64_t read;        /* issue objects read (duplicates included) */
	uint64_t issues;      /* entries committed */
	uint64_t skipped;     /* issue objects left out (logged) */
	uint64_t parts;       /* census records committed */
	uint64_t pages;       /* list pages read */
	uint64_t calls;       /* SCF calls made (retries included) */
	uint64_t ideal_calls; /* issues read / SCF_CENSUS_PER_PAGE, rounded up (>= 1) */
	uint64_t ms;          /* duration */
};

/* Run a whole census now (`scfgate scf census`).  Needs the open half. */
enum err_status scf_census(struct scf_half *h, unsigned window_days, struct scf_census_result *res,
                           struct err *e);

/* ---- replay (`scfgate spool replay` for the inbound queue) --------------- */

struct scf_replay_result {
	size_t selected; /* records found and verified */
	size_t applied;  /* transitions made now */
	size_t already;  /* already in the target state (or no longer allowed) */
	size_t failed;   /* permanent or temporary failures (logged, files untouched) */
};

/*
 * Put selected done/ records of the inbound queue (half.h) through
 * write-back again.  The files stay in done/; each effect is checked against SCF
 * first, so a replay never transitions an issue twice.  Safe while the
 * daemon runs (replay does not claim; it only reads done/).  It spends
 * the same persisted rate budget as the daemon (state/scf/rate, shared
 * under its own file lock), so the two together stay under the limit.
 */
enum err_status scf_replay(const struct cfg *c, const struct half_replay_sel *sel,
                           struct scf_replay_result *res, struct err *e);

/* ---- state (exposed for tests and `scfgate status`) ---------------------- */

struct scf_state;

/* Load the newest complete generation from dir (created if missing); an
 * empty state when there is none.  ERR_FATAL on a file that is present
 * but unreadable (a person must look; the half must not start blind). */
enum err_status scf_state_load(const char *dir, struct scf_state **out, struct err *e);
/* Parse one generation from memory (pure, for fuzzing); the result has
 * no directory, so scf_state_save on it fails. */
enum err_status scf_state_parse(const char *text, size_t len, struct scf_state **out,
                                struct err *e);
/* Write a new generation durably, then unlink older ones. */
enum err_status scf_state_save(struct scf_state *s, struct err *e);
void scf_state_free(struct scf_state *s);

/* The value stored for key, or NULL. */
const char *scf_state_get(const struct scf_state *s, const char *key);
/* Insert or replace (val up to 19 bytes).  ERR_TEMP on allocation. */
enum err_status scf_state_put(struct scf_state *s, const char *key, const char *val);
/* Drop "comment/<id>/...", "attachment/<id>/...", "posted/<id>/..." and
 * "transitions/<id>" keys. */
void scf_state_forget_issue(struct scf_state *s, int64_t issue_id);
/* Remove one key (nothing if absent). */
void scf_state_del(struct scf_state *s, const char *key);
size_t scf_state_count(const struct scf_state *s);
/* Keys are sorted: the index of the first key >= prefix, and the key at
 * an index (NULL past the end), to walk the keys sharing a prefix. */
size_t scf_state_lower_bound(const struct scf_state *s, const char *prefix);
const char *scf_state_key_at(const struct scf_state *s, size_t i);
/* Keys starting with prefix whose value is val (any value if NULL). */
size_t scf_state_count_prefix(const struct scf_state *s, const char *prefix, const char *val);

int64_t scf_state_watermark(const struct scf_state *s);
void scf_state_set_watermark(struct scf_state *s, int64_t t);
uint64_t scf_state_seq(const struct scf_state *s);
void scf_state_set_seq(struct scf_state *s, uint64_t seq);

/* What an older version kept for `scfgate status` in the state ("last_ok
 * <epoch>", "alert <epoch> <reason>"), still loaded and saved: status
 * shows them for a root whose half has not written its status file
 * (half.h) yet, and a pass that saves normally clears the alert.
 * scf_state_alert returns NULL when none is recorded. */
#define SCF_ALERT_MAX 240
int64_t scf_state_last_ok(const struct scf_state *s);
void scf_state_set_last_ok(struct scf_state *s, int64_t t);
const char *scf_state_alert(const struct scf_state *s, int64_t *at);
/* at 0 clears; the reason is cut to one line of SCF_ALERT_MAX - 1. */
void scf_state_set_alert(struct scf_state *s, int64_t at, const char *reason);

/* ---- write-back backlog (`scfgate status`) ------------------------------ */

/* API calls one inbound record costs: the POST alone when a recent pass
 * read the issue (its status and transitions are in the state), which is
 * the usual case (the drain follows the pass that fetched the issues, and
 * an acknowledgment leaves the issue known for its close); a GET first
 * otherwise (SCF_WB_CALLS_UNKNOWN). */
#define SCF_WB_CALLS_PER_RECORD 1
#define SCF_WB_CALLS_UNKNOWN    2

/* Seconds to apply `records` inbound records at SCF_WB_CALLS_PER_RECORD
 * each and the configured rate (<ratePerMinute> calls in any
 * <rateWindowSeconds>), less the one call per poll interval an idle
 * fetch pass takes: the write-back drain yields to each fetch (see
 * scf_run), and both spend the same budget.  Records whose issue no
 * recent pass read take up to SCF_WB_CALLS_UNKNOWN / SCF_WB_CALLS_PER_RECORD
 * times as long. */
uint64_t scf_wb_drain_seconds(const struct cfg *c, uint64_t records);

/* SCF timestamp ("2026-02-10T08:15:19-05:00", "...Z", fractions allowed)
 * to epoch seconds; -1 if it does not parse. */
int64_t scf_time_parse(const char *s);
/* An HTTP Date header ("Sun, 06 Nov 1994 08:49:37 GMT") to epoch
 * seconds; -1 if it does not parse. */
int64_t scf_http_date_parse(const char *s);
/* Epoch seconds as "YYYY-MM-DDTHH:MM:SSZ" (when_utc), the form of
 * updated_at_after. */
void scf_time_format(int64_t t, char out[32]);

/* Shared by the half, replay and `config check --online`: the HTTP client.  lim NULL: an
 * in-process token bucket at the configured rate (burst 1); else the
 * shared budget of scf_budget_open. */
enum err_status scf_open_http(const struct cfg *c, const struct http_clock *clock,
                              const struct http_limiter *lim, struct http_client **out,
                              struct err *e);

#endif
