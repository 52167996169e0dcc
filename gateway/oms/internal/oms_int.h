/*
 * oms_int.h: shared inside the OMS half (oms_*.c); not an interface.
 *
 * The tracked store (oms_track.c) maps an SCF issue id to what the OMS
 * half knows about its Cartegraph request.  It lives in one directory:
 *   snap.<gen>     all entries, one line each (written atomically)
 *   journal.<gen>  entry lines appended since that snapshot
 * A line is "E issue oid type flags ack_seq close_seq request_id [gen]"
 * (gen only when 2 or more: the request re-created after a reopening);
 * the last line for an issue wins.  Compaction writes snap.<gen+1>,
 * starts journal.<gen+1>, then removes the old pair, so a crash at any
 * point leaves one complete generation.  A torn last journal line (no
 * newline) is cut off at load.
 */
#ifndef SCFGATE_OMS_INT_H
#define SCFGATE_OMS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cfg.h"
#include "cg_meta.h"
#include "err.h"
#include "half.h"
#include "health.h"
#include "http.h"
#include "map.h"
#include "oms.h"
#include "oms_geo.h"
#include "spool.h"

enum {
	OMS_T_INTENT = 0x1,  /* a create may have been sent; no ack yet */
	OMS_T_CREATED = 0x2, /* oid known */
	OMS_T_ACKPEND = 0x4, /* ack record to commit (ack_seq: the attempt) */
	OMS_T_CLOSING = 0x8, /* close record to commit (close_seq: the attempt) */
	OMS_T_CLOSED = 0x10, /* close record committed: never looked at again */
	OMS_T_BLOCKED = 0x20 /* a record of this issue failed; later ones are held */
};

/* 56 bytes: at 100,000 tracked requests the entries, the hash and the
 * request ids hold about 8 MB together (the ids in one arena of the
 * store, not one allocation each). */
struct oms_entry {
	int64_t issue;
	int64_t oid;
	int64_t type_id;
	uint64_t ack_seq;   /* inbound seq the pending ack was about to take; 0 none */
	uint64_t close_seq; /* same for the pending close */
	uint32_t flags;
	uint32_t rid; /* the request id (IDField) in the store's arena; 0 none:
	                 read it with oms_track_id */
	int64_t gen;  /* the generation of the request tracked (0 or 1: the first;
	                 n: the one the issue record of generation n created) */
};

struct oms_track;

enum err_status oms_track_open(struct oms_track **out, const char *dir, struct err *e);
void oms_track_free(struct oms_track *t);

/* The entry of an issue, or NULL. */
struct oms_entry *oms_track_get(struct oms_track *t, int64_t issue);
/* The entry of an issue, created empty if missing (NULL on memory). */
struct oms_entry *oms_track_add(struct oms_track *t, int64_t issue);
/* Set the entry's request id (copied into the store; NULL clears).
 * ERR_TEMP when out of memory. */
enum err_status oms_track_set_id(struct oms_track *t, struct oms_entry *en, const char *request_id);
/* The entry's request id, or NULL: valid until the next
 * oms_track_set_id or compaction of the store. */
const char *oms_track_id(const struct oms_track *t, const struct oms_entry *en);
/* Append the entry's current state to the journal; sync: fdatasync it
 * before returning (when an external effect follows). */
enum err_status oms_track_save(struct oms_track *t, const struct oms_entry *en, int sync,
                               struct err *e);
/* fdatasync the journal: entries saved with sync 0 are then durable. */
enum err_status oms_track_sync(struct oms_track *t, struct err *e);
/* Compact if the journal is long; call between batches. */
enum err_status oms_track_maybe_compact(struct oms_track *t, struct err *e);
enum err_status oms_track_compact(struct oms_track *t, struct err *e);

size_t oms_track_count(const struct oms_track *t);
/* Entry i (0 <= i < count), in no particular order; stable until add. */
struct oms_entry *oms_track_at(struct oms_track *t, size_t i);

/* ---- the half ------------------------------------------------------------ */

struct oms {
	const struct cfg *cfg;
	char verdict[512]; /* systemd STATUS=: the last status verdict (status.h) */
	time_t verdict_at;
	struct oms_opts opts;
	struct http_client *http;   /* reads: retried by the client */
	struct http_client *http_w; /* writes: one attempt each */
	struct sig_key *priv;       /* this half's key: signs ack/close */
	struct sig_key *pub;        /* the SCF half's key: verifies outbound */
	struct spool_consumer *out_q;
	struct spool_producer *in_q;
	struct oms_track *track;
	char class_path[512]; /* "/api/v1/classes/<request class>" */
	unsigned window;
	int fatal;
	struct err fatal_err;
	struct oms_counts counts;  /* since open (oms_counts_get) */
	struct half_jitter jitter; /* a record's back-off (half_backoff_ms) */
	struct fw *fw;             /* the forward window the daemon keeps between passes */
	/* the forward round in progress (oms_forward_begin .. _end) */
	int fw_round;      /* begun, not ended (the loop's turns) */
	int fw_round_poll; /* a poll is due when it ends */
	enum err_status fw_round_st;
	uint64_t fw_round_t0;   /* monotonic ms at its start */
	size_t fw_round_before; /* records settled before it */
	struct oms_geo *geo;    /* the ArcGIS geocoder, NULL without <geocoder> */
	/* The class metadata (oms_meta.c): read with its own client, so a
	 * re-read can happen inside another client's drain. */
	struct http_client *http_meta;
	struct cg_meta *meta;   /* the last metadata checked, NULL if none yet */
	int meta_pending;       /* not read from Cartegraph yet (unreachable at start) */
	time_t meta_pending_at; /* last try of a pending read */
	time_t meta_reread_at;  /* last re-read after a 400 naming a field */
	/* health and metrics (oms_health.c) */
	struct health health;
	char state_dir[SPOOL_PATH_MAX];
	int64_t started_at;       /* wall clock at open */
	int64_t health_saved_at;  /* wall clock of the last save */
	unsigned fw_temp_n;       /* records that met a temporary error in this pass */
	char fw_temp_why[512];    /* ... the last one's reason */
	int commit_tried;         /* ack/close commits tried in this pass */
	enum err_status commit_s; /* ... the last one's outcome */
	char commit_why[512];     /* ... and error */
	uint64_t applied_kind[8]; /* outbound records settled, by record kind */
	uint64_t failed_kind[8];  /* ... to failed/ */
	uint64_t held_kind[8];    /* ... to hold/ */
	uint64_t acks_total, closes_total, notes_total; /* since open */
	uint64_t pass_ms[2];   /* duration of the last forward pass, poll */
	time_t recon_retry_at; /* a reconciliation that failed is tried again then */
};

/* ---- health and metrics (oms_health.c) ---------------------------------- */

/* Record what a forward pass, a poll or the metadata read met (and the
 * commits in it; a forward pass where records only wait out a back-off
 * is no attempt), then save the health record and write the metrics when
 * something changed, work was done, or a minute passed (force: always). */
void oms_health_forward(struct oms *o, enum err_status st, const struct err *e, int worked,
                        size_t waiting);
void oms_health_poll(struct oms *o, enum err_status st, const struct err *e);
void oms_health_meta(struct oms *o, enum err_status st, const char *why);
void oms_health_save(struct oms *o, int force);

/* ---- the field map against the class metadata (oms_meta.c) -------------- */

/* At start-up: read and check (one or two GETs), or use the cached copy
 * when Cartegraph cannot be reached, or, without one, leave the check
 * pending.  ERR_FATAL with every problem logged when the check fails. */
enum err_status oms_meta_start(struct oms *o, struct err *e);
/* Before a forward pass: a pending check is tried again (at most once a
 * minute). */
enum err_status oms_meta_pending(struct oms *o, struct err *e);
/* A failed request's reply: when it is a 400 naming a field, re-read
 * and check (at most once a minute).  Returns 1 with e set (ERR_FATAL)
 * when the check now fails, else 0 (the record fails as before). */
int oms_meta_recheck(struct oms *o, long status, const char *body, size_t len, struct err *e);

/* Drop the forward window: finished heads are settled, claimed
 * unfinished ones go back to new/. */
void oms_forward_release(struct oms *o);
/*
 * The forwarder in turns, for the half's loop (half.h; the daemon's
 * turns and --once's) and oms_replay's driver: oms_forward_begin opens a
 * round (the pending field-map check, the window, `spool retry --now`);
 * oms_forward_step is one turn of the forwarder (fw_step, then the HTTP
 * clients' http_step, waiting at most 100 ms for the network; it never
 * sleeps otherwise) and says what comes next:
 *   OMS_FW_MORE  more to do at once (requests in flight, replies to act
 *                on): step again without a nap;
 *   OMS_FW_WAIT  only with once: nothing can move before *until_ms
 *                (CLOCK_MONOTONIC ms: the earliest end of a back-off of a
 *                record with tries left, or a short re-look for a file
 *                still arriving); nap until then (a stop ends the nap),
 *                then step again;
 *   OMS_FW_DONE  nothing in flight and nothing more may start now (after
 *                a stop, when the requests in flight are answered; with
 *                once, also every record's three tries spent): end the
 *                round.
 * oms_forward_end closes the round (its status, the window released with
 * once or after a failure, compaction, health).  begin failing means no
 * round; else end follows the last step.  With once 0 the window, and
 * the back-offs of its records, stay for the next round.
 */
enum oms_fw_next { OMS_FW_MORE, OMS_FW_WAIT, OMS_FW_DONE };

enum err_status oms_forward_begin(struct oms *o, struct err *e);
enum oms_fw_next oms_forward_step(struct oms *o, int once, uint64_t *until_ms, struct err *e);
enum err_status oms_forward_end(struct oms *o, int once, struct err *e);
/* A field's name in a filter expression ("ExtIdField" -> "ExtId"). */
void oms_filter_name(const char *field, char *out, size_t size);

/* Commit ack / close records for n entries as one group (journalled
 * first, see oms.h); *n_done from the front are committed. */
enum err_status oms_commit_acks(struct oms *o, struct oms_entry **ens, size_t n,
                                const char *accepted_at, size_t *n_done, struct err *e);
enum err_status oms_commit_ack(struct oms *o, struct oms_entry *en, const char *accepted_at,
                               struct err *e);
enum err_status oms_commit_closes(struct oms *o, struct oms_entry **ens,
                                  const struct map_cg_request *rqs, size_t n, size_t *n_done,
                                  struct err *e);
/* Ack/close records left pending by a crash: committed or not? */
enum err_status oms_recover_pending(struct oms *o, struct err *e);
/* ---- reconciliation (oms_reconcile.c) ------------------------------------ */

/* Keep one census part under state/oms/census/<id>/ (effect "census-part",
 * or "none" for a census already reconciled).  ERR_PERM without the
 * external-id field. */
enum err_status oms_census_store(struct oms *o, const struct record *r, const char **effect,
                                 struct err *e);
/* 1 when state/oms/reconcile/<census_id>.json exists. */
int oms_census_done(const char *root, const char *census_id);

#endif
