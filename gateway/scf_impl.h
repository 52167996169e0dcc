/*
 * scf_impl.h: what the SCF half's source files (scf_half.c, scf_fetch.c,
 * scf_writeback.c) share.  Not an interface: nothing outside gateway/scf*.c
 * includes it; the contract is in scf.h.
 */
#ifndef SCFGATE_SCF_IMPL_H
#define SCFGATE_SCF_IMPL_H

#include <signal.h>
#include <time.h>

#include "cfg.h"
#include "http.h"
#include "ratewin.h"
#include "record.h"
#include "scf.h"
#include "sig.h"
#include "spool.h"

#define SCF_OUTBOUND "outbound"
#define SCF_INBOUND  "inbound"

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
	struct sig_key *priv; /* signs outbound records, verifies our own copies */
	struct sig_key *peer; /* verifies inbound records */
	struct http_client *http;
	struct scf_budget budget; /* the persisted rate window http uses */
	struct spool_producer *prod;
	struct spool_consumer *cons;
	struct scf_state *st;
	struct scf_stats stats;
	volatile sig_atomic_t *stop;
	unsigned unsaved_pages;  /* pages noted in memory since the last state save */
	uint64_t wb_until_ms;    /* write-back stops here for the next fetch (0: none) */
	unsigned wb_backoff;     /* seconds; doubles per deferral, 0 after success */
	time_t wb_backoff_until; /* CLOCK_MONOTONIC seconds */
	char state_dir[SPOOL_PATH_MAX];
};

static inline int scf_stopping(const struct scf_half *h)
{
	return h->stop && *h->stop;
}

static inline uint64_t scf_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Fairness: the next fetch is due, so the write-back drain yields (after
 * at least one record per drain, so a long fetch cannot starve it). */
static inline int scf_wb_yield(const struct scf_half *h, unsigned settled)
{
	return settled && h->wb_until_ms && scf_mono_ms() >= h->wb_until_ms;
}

/* Shared by the half and replay: the HTTP client.  lim NULL: an
 * in-process token bucket at the configured rate (burst 1); else the
 * shared budget of scf_budget_open. */
enum err_status scf_open_http(const struct cfg *c, const struct http_clock *clock,
                              const struct http_limiter *lim, struct http_client **out,
                              struct err *e);

/* The outcome of one inbound record, for the drain and for replay. */
enum scf_wb_outcome {
	SCF_WB_APPLIED = 0,
	SCF_WB_ALREADY,
};

/* Apply one verified inbound record (ack/close).  ERR_OK with *outcome
 * set; ERR_PERM/TEMP/FATAL otherwise, with the last HTTP status and body
 * (may be 0 / NULL) for the .why file.  name: the record file name, for
 * log lines.  state may be NULL (replay while the daemon holds it). */
enum err_status scf_wb_apply(struct http_client *http, const struct cfg *c, struct scf_state *state,
                             const struct record *r, const char *name, enum scf_wb_outcome *outcome,
                             long *http_status, struct buf *body, struct err *e);

/* Rebuild the seen-state from local copies of records the state does
 * not cover (crash between commit and save). */
enum err_status scf_recover(struct scf_half *h, struct err *e);

#endif
