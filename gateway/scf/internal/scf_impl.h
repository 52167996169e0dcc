/*
 * scf_impl.h: what the SCF half's source files (scf_half.c, scf_fetch.c,
 * scf_writeback.c) share.  Not an interface: nothing outside gateway/scf*.c
 * includes it; the contract is in scf.h.
 */
#ifndef SCFGATE_SCF_IMPL_H
#define SCFGATE_SCF_IMPL_H

#include <signal.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "half.h"
#include "health.h"
#include "http.h"
#include "ratewin.h"
#include "record.h"
#include "scf.h"
#include "sig.h"
#include "spool.h"
#include "when.h"

/* The rate budget of the credential: <spool root>/state/scf/rate
 * (ratewin.h), <ratePerMinute> calls in any <rateWindowSeconds>, shared
 * by the half and `spool replay`.  With an injected clock (tests) its
 * times are that clock's. */
struct scf_budget {
	struct ratewin *win;
	struct http_limiter lim;
	struct http_clock clock;
	int has_clock;
};
enum err_status scf_budget_open(struct scf_budget *b, const struct cfg *c,
                                const struct http_clock *clock, struct err *e);
void scf_budget_close(struct scf_budget *b);

struct scf_half {
	const struct cfg *c;
	char verdict[512]; /* systemd STATUS=: the last status verdict (status.h) */
	time_t verdict_at;
	struct sig_key *priv; /* signs outbound records, verifies our own copies */
	struct sig_key *peer; /* verifies inbound records */
	struct http_client *http;
	struct scf_budget budget; /* the persisted rate window http uses */
	struct spool_producer *prod;
	struct spool_consumer *cons;
	struct scf_state *st;
	struct scf_stats stats;
	volatile sig_atomic_t *stop;
	unsigned unsaved_pages;    /* pages noted in memory since the last state save */
	uint64_t wb_until_ms;      /* write-back stops here for the next fetch (0: none) */
	unsigned wb_backoff;       /* deferrals in a row, 0 after success */
	uint64_t wb_backoff_until; /* CLOCK_MONOTONIC ms (when_mono_ms) */
	struct half_jitter jitter; /* the write-back back-off (half_backoff_ms) */
	int types_checked;         /* request types added to the configuration resynced */
	int self_read;             /* GET /profile answered in this process */
	time_t known_at;           /* CLOCK_MONOTONIC start of the last complete pass; 0 none */
	char state_dir[SPOOL_PATH_MAX];
	/* health and metrics (scf_half.c): what the last pass met */
	struct health health;
	int64_t started_at;         /* wall clock at open */
	int commit_tried;           /* the fetch pass committed a page (or tried) */
	enum err_status commit_s;   /* ... with this outcome */
	char commit_why[512];       /* ... and this error */
	int wb_skipped;             /* the last write-back call waited out its back-off */
	unsigned wb_temp_n;         /* records deferred by write-back since the last note */
	char wb_temp_why[512];      /* the last deferral's reason */
	uint64_t wb_failed_kind[2]; /* write-back records to failed/: ack, close */
	uint64_t pass_ms[2];        /* duration of the last fetch pass, write-back drain */
	int64_t health_saved_at;    /* wall clock of the last health save */
	/* a fatal stop a turn returned, for the loop's stopped callback */
	enum health_kind fatal_kind;   /* the kind of work that met it */
	int alerted;                   /* the write-back logged the alert line (with its record) */
	struct scf_census_run *census; /* the census in progress (scf_census.c), or NULL */
};

static inline int scf_stopping(const struct scf_half *h)
{
	return h->stop && *h->stop;
}

/* Fairness: the next fetch is due, so the write-back drain yields (after
 * at least one record per drain, so a long fetch cannot starve it). */
static inline int scf_wb_yield(const struct scf_half *h, unsigned settled)
{
	return settled && h->wb_until_ms && when_mono_ms() >= h->wb_until_ms;
}

/* The outcome of one inbound record, for the drain and for replay. */
enum scf_wb_outcome {
	SCF_WB_APPLIED = 0,
	SCF_WB_ALREADY,
};

/* Apply one verified inbound record (ack/close).  ERR_OK with *outcome
 * set; ERR_PERM/TEMP/FATAL otherwise, with the last HTTP status and body
 * (may be 0 / NULL) for the .why file.  name: the record file name, for
 * log lines.  state may be NULL (replay while the daemon holds it).
 * fresh: the issue facts in state are as of a recent complete pass
 * (scf_known_fresh), so they may replace the GET before the POST. */
enum err_status scf_wb_apply(struct http_client *http, const struct cfg *c, struct scf_state *state,
                             int fresh, const struct record *r, const char *name,
                             enum scf_wb_outcome *outcome, long *http_status, struct buf *body,
                             struct err *e);

/* ---- who we are (scf_self.c) ------------------------------------------- */

/* Read GET /profile once per process (again at the next call until it
 * answers) and keep the user id in the state ("profile/user").  Only
 * ERR_FATAL (401, 403 ban, a redirect) is returned; anything else is
 * logged and the id kept from the state is used. */
enum err_status scf_self_read(struct scf_half *h, struct err *e);
/* The SCF user id of the half's credential as last read, 0 unknown. */
int64_t scf_self_user(const struct scf_state *st);
/* Why a fetched comment is the half's own and must not be forwarded
 * (written into why), or NULL: by the profile's user, or one the half
 * recorded when it posted it. */
const char *scf_self_why(const struct scf_state *st, const struct record_comment *cm, char *why,
                         size_t why_size);
/* Record the comment a transition POST created, from SCF's reply (body
 * may be empty: then from the text sent): "posted/<issue>/<comment id>"
 * when the reply carries a flag_url, and "posted/<issue>/<epoch>.<hash>"
 * (created_at and the text's hash) always.  ERR_TEMP on memory only. */
enum err_status scf_self_note_posted(struct scf_state *st, int64_t issue_id, const char *body,
                                     size_t len, const char *sent_text);

/* A text's hash as the state keeps it: the first 16 hex digits of its
 * SHA-256 (NULL as ""), in the "posted/" keys above and as the value of
 * a fetched comment's key (an edit changes it). */
void scf_text_hash(const char *text, char out[17]);

/* ---- what the last passes saw of each issue (scf_known.c) --------------- */

/* Keep the transitions an issue object offers ("transitions/<id>" ->
 * "a" acknowledge_url, "c" close_url, "-" none).  Sets *changed. */
enum err_status scf_known_note(struct scf_state *st, int64_t id, const cJSON *issue, int *changed);
/* The issue's status letter (O, A, C, X) and transitions as last seen,
 * 1 if both are known, 0 if not (never seen, closed by write-back). */
int scf_known_get(const struct scf_state *st, int64_t id, char *letter, int *can_ack,
                  int *can_close);
/* Set both after a transition the half made itself. */
enum err_status scf_known_set(struct scf_state *st, int64_t id, char letter, const char *flags);
/* 1 if the last complete pass of this process started less than two poll
 * intervals ago (what it saw may stand in for a GET). */
int scf_known_fresh(const struct scf_half *h);

/* ---- the census in steps (scf_census.c) ----------------------------------- */

/* Start a census (h->census); ERR_PERM when one runs or no type is mapped. */
enum err_status scf_census_begin(struct scf_half *h, unsigned window_days, struct err *e);
/* Read the next list page, committing full parts; on the last page the
 * last part too, then *done = 1, out (may be NULL) filled and the census
 * ended.  An error leaves the census in place to be retried or
 * abandoned. */
enum err_status scf_census_step(struct scf_half *h, int *done, struct scf_census_result *out,
                                struct err *e);
/* End the census in progress without its last part (logged). */
void scf_census_abandon(struct scf_half *h);
int scf_census_running(const struct scf_half *h);
/* 1 when <census intervalHours> has passed since the last complete one. */
int scf_census_due(const struct scf_half *h, int64_t now);
/* The daemon's share: start a due census, else read one page of the one
 * in progress if the rate window is less than half spent. */
enum err_status scf_census_tick(struct scf_half *h, struct err *e);

/* ---- resend and reconcile records (scf_fetch.c, scf_reconcile.c) -------- */

enum scf_resend_outcome {
	SCF_RESEND_SENT = 0, /* its issue record (and photos) committed now */
	SCF_RESEND_ALREADY,  /* done for this census before */
	SCF_RESEND_SKIPPED,  /* gone (404), no longer open, or not mapped: logged */
};

/* Re-commit issue id's record for census_id once, key
 * "issue/<id>/resend/<census_id>" (its generation kept), with its photo
 * and forwarded comment photos, from one GET /issues/{id}, as the issue
 * stands now; "resent/<census_id>/<id>" in the state (saved) makes a
 * repeat do nothing, and crash recovery restores it from the record. */
enum err_status scf_resend_issue(struct scf_half *h, int64_t id, const char *census_id,
                                 enum scf_resend_outcome *out, struct err *e);
/* An inbound resend record: every issue it names (scf_resend_issue);
 * ERR_TEMP to defer (what is done stays done), ERR_PERM when some issue
 * failed for good (the others are done; a retry does only the rest). */
enum err_status scf_resend_apply(struct scf_half *h, const struct record *r, const char *name,
                                 struct err *e);
/* An inbound reconcile record: its part is kept under
 * state/scf/reconcile/parts/; when every part of the census is there the
 * result file is written (state/scf/reconcile/<census_id>.json and
 * last.json, the format of the OMS half's) and the parts removed. */
enum err_status scf_reconcile_apply(struct scf_half *h, const struct record *r, const char *name,
                                    struct err *e);

/* Rebuild the seen-state from local copies of records the state does
 * not cover (crash between commit and save). */
enum err_status scf_recover(struct scf_half *h, struct err *e);

#endif
