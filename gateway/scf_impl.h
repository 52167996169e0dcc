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
#include "record.h"
#include "scf.h"
#include "sig.h"
#include "spool.h"

#define SCF_OUTBOUND "outbound"
#define SCF_INBOUND  "inbound"

struct scf_half {
	const struct cfg *c;
	struct sig_key *priv; /* signs outbound records, verifies our own copies */
	struct sig_key *peer; /* verifies inbound records */
	struct http_client *http;
	struct spool_producer *prod;
	struct spool_consumer *cons;
	struct scf_state *st;
	struct scf_stats stats;
	volatile sig_atomic_t *stop;
	unsigned unsaved_pages;  /* pages noted in memory since the last state save */
	unsigned wb_backoff;     /* seconds; doubles per deferral, 0 after success */
	time_t wb_backoff_until; /* CLOCK_MONOTONIC seconds */
	int types_checked;       /* request types added to the configuration resynced */
	char state_dir[SPOOL_PATH_MAX];
};

static inline int scf_stopping(const struct scf_half *h)
{
	return h->stop && *h->stop;
}

/* Shared by the half and replay: the HTTP client, at share/1 of the
 * configured rate (replay runs beside the daemon and takes half). */
enum err_status scf_open_http(const struct cfg *c, const struct http_clock *clock, double share,
                              struct http_client **out, struct err *e);

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
