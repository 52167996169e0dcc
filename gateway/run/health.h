/*
 * health.h: what a half did on its last attempt of each kind of work,
 * kept so that `scfgate status` computes its verdict from what happened
 * instead of remembering an alarm.
 *
 * Kinds
 *   SCF half: fetch (the issue listing, comments, photos, the profile),
 *   write-back (ack and close records applied to SeeClickFix), commit
 *   (records written to outbound/).  OMS half: forward (outbound records
 *   applied to Cartegraph), poll (the tracked requests read), commit (ack
 *   and close records written to inbound/), metadata (the request class
 *   read and checked against the field map), reconcile (a census whose
 *   parts are all kept, checked against Cartegraph; an attempt is only
 *   noted when a complete census was there to reconcile).  `scfgate transfer` (in
 *   state/transfer/): pull and push, one pass over a queue each, with the
 *   records the last pass moved and the total (count lines, which the
 *   halves do not write).
 *
 * Contract
 *   - health_note() records one attempt: its time, and either a success
 *     (class ERR_OK) or a failure with its class (temp, perm, fatal) and
 *     its reason.  A success sets last_ok and clears failing_since; a
 *     failure after a success (or the first attempt) sets failing_since.
 *     An attempt with nothing to do that worked is a success: a quiet day
 *     does not look like an outage.
 *   - health_reason() shortens an error message to what an operator acts
 *     on: "HTTP 503" when the message carries an HTTP status, else the
 *     text after the last ": " (the strerror of a system call, e.g. "No
 *     space left on device"), cut to HEALTH_REASON_MAX - 1 bytes.
 *   - health_save() writes the whole record as DIR/health.<generation>
 *     through DIR/tmp with spool_write_atomic (never torn), then removes
 *     older generations; health_load() reads the newest complete one.  A
 *     directory without the file gives *present = 0 and zeros.  Neither
 *     takes a lock: the half is the only writer, readers (status) only
 *     read.  A file that is there but cannot be read or parsed: ERR_PERM
 *     naming it.
 *   - No function prints.
 */
#ifndef SCFGATE_HEALTH_H
#define SCFGATE_HEALTH_H

#include <stdint.h>

#include "err.h"

#define HEALTH_REASON_MAX 160 /* the short reason */
#define HEALTH_DETAIL_MAX 320 /* the whole message, one line, cut in the middle */

enum health_kind {
	HEALTH_FETCH,
	HEALTH_WRITEBACK,
	HEALTH_FORWARD,
	HEALTH_POLL,
	HEALTH_COMMIT,
	HEALTH_META,
	HEALTH_PULL,      /* `scfgate transfer`: passes over pulled queues */
	HEALTH_PUSH,      /* `scfgate transfer`: passes over pushed queues */
	HEALTH_RECONCILE, /* OMS half: a complete census checked against Cartegraph */
	HEALTH_KINDS
};

struct health_state {
	int64_t last_attempt;  /* epoch seconds; 0: never attempted */
	int64_t last_ok;       /* epoch seconds of the last success; 0: none */
	int64_t failing_since; /* first failure since the last success; 0: not failing */
	enum err_status cls;   /* of the last attempt */
	char reason[HEALTH_REASON_MAX];
	char detail[HEALTH_DETAIL_MAX];
	/* the transfer only (0 for the halves): records the last attempt
	 * moved, files it failed on, records moved since the record began */
	uint64_t moved_last, failed_last, moved_total;
};

struct health {
	int64_t saved_at; /* when the half last saved it (end of a pass) */
	struct health_state k[HEALTH_KINDS];
};

/* "fetch", "write-back", "forward", "poll", "commit", "metadata", "pull",
 * "push", "reconcile". */
const char *health_kind_name(enum health_kind k);
/* The kinds a half records, in display order; *n receives how many.
 * The OMS half's reconcile is listed last. */
const enum health_kind *health_half_kinds(int oms_half, size_t *n);
/* The kinds `scfgate transfer` records: pull, push. */
const enum health_kind *health_transfer_kinds(size_t *n);

/* Record one attempt; msg is the error message (ignored for ERR_OK).
 * Returns 1 when the class differs from the previous attempt's. */
int health_note(struct health *h, enum health_kind k, int64_t now, enum err_status s,
                const char *msg);
void health_reason(const char *msg, char out[HEALTH_REASON_MAX]);
/* The work that failed is gone without a success (an operator gave it
 * up, e.g. removed a census that could not be reconciled): the kind no
 * longer fails; its last attempt and last success stay as they were. */
void health_settle(struct health *h, enum health_kind k);

enum err_status health_save(const char *dir, struct health *h, int64_t now, struct err *e);
enum err_status health_load(const char *dir, struct health *h, int *present, struct err *e);

#endif
