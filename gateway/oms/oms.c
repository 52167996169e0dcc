/*
 * oms.c: the OMS half's set-up, its inbound records (ack, close) and its
 * turns in the process loop (half.h).  See oms.h.
 */
#include "oms_int.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "half.h"
#include "history.h"
#include "log.h"
#include "notify.h"
#include "when.h"

static enum err_status make_client(struct oms *o, struct err *e)
{
	const struct cfg_cartegraph *g = &o->cfg->cg;
	struct half_secret secret;
	struct http_config hc;
	enum err_status st;

	http_config_init(&hc);
	hc.base_url = g->base_url;
	hc.ca_file = g->ca_file;
	hc.auth = g->auth == CFG_CG_AUTH_SESSION ? HTTP_AUTH_CG_SESSION : HTTP_AUTH_BASIC;
	st = half_secret_load(&secret, g->credential_file, &hc, e);
	if (st != ERR_OK)
		goto out;
	hc.concurrency = o->opts.concurrency;
	hc.max_attempts = o->opts.http_attempts;
	hc.backoff_base_ms = o->opts.http_backoff_ms;
	hc.backoff_max_ms = o->opts.http_backoff_ms * 16;
	hc.timeout_ms = o->opts.http_timeout_ms;
	hc.connect_timeout_ms = o->opts.http_timeout_ms < 10000 ? o->opts.http_timeout_ms : 10000;
	st = http_client_new(&o->http, &hc, e);
	hc.max_attempts = 1;
	if (st == ERR_OK)
		st = http_client_new(&o->http_w, &hc, e);
	/* The metadata: two attempts; an outage falls back to the cache (or
	 * to a later check) instead of holding up the start. */
	hc.max_attempts = 2;
	hc.concurrency = 1;
	if (st == ERR_OK)
		st = http_client_new(&o->http_meta, &hc, e);
	if (st == ERR_OK) {
		/* a stop request ends every wait (back-off, Retry-After) */
		http_set_stop(o->http, o->opts.stop);
		http_set_stop(o->http_w, o->opts.stop);
		http_set_stop(o->http_meta, o->opts.stop);
	}
out:
	half_secret_wipe(&secret);
	return st;
}

static void opts_defaults(struct oms *o, const struct oms_opts *in)
{
	if (in)
		o->opts = *in;
	if (!o->opts.concurrency)
		o->opts.concurrency = o->cfg->cg.concurrency;
	if (!o->opts.retry_base_ms)
		o->opts.retry_base_ms = 1000;
	if (!o->opts.retry_max_ms)
		o->opts.retry_max_ms = 300000;
	if (!o->opts.http_attempts)
		o->opts.http_attempts = 4;
	if (!o->opts.http_backoff_ms)
		o->opts.http_backoff_ms = o->cfg->cg.backoff_ms;
	if (!o->opts.http_timeout_ms)
		o->opts.http_timeout_ms = 30000;
	o->window = o->opts.window ? o->opts.window : 8 * o->opts.concurrency;
	if (o->window < 16)
		o->window = 16;
	if (o->window > OMS_WINDOW_MAX)
		o->window = OMS_WINDOW_MAX;
}

/* Open without the recovery (the process loop recovers through the
 * table, half_ops.recover). */
static enum err_status open_bare(struct oms **out, const struct cfg *c, const struct oms_opts *opts,
                                 struct err *e)
{
	char dir[SPOOL_PATH_MAX];
	unsigned long long t0;
	struct oms *o;
	enum err_status st;

	*out = NULL;
	if (!c->cg.base_url)
		return err_set(e, ERR_FATAL, "%s: no <cartegraph> section", c->path);
	o = calloc(1, sizeof(*o));
	if (!o)
		return err_set(e, ERR_TEMP, "out of memory");
	o->cfg = c;
	opts_defaults(o, opts);
	snprintf(o->class_path, sizeof(o->class_path), "/api/v1/classes/%s", c->cg.request_class);
	half_jitter_seed(&o->jitter);
	st = cfg_check_secrets(c, e);
	if (st == ERR_OK)
		st = oms_geo_open(c, &o->geo, e);
	if (st == ERR_OK)
		st = half_keys_load(c, &o->priv, &o->pub, e);
	if (st == ERR_OK)
		st = half_queues_open(c, HALF_INBOUND, HALF_OUTBOUND, o->priv, o->pub, &o->in_q,
		                      &o->out_q, e);
	if (st == ERR_OK)
		st = half_state_dir(c, "oms", dir, e);
	if (st != ERR_OK)
		goto fail;
	t0 = when_mono_ms();
	st = oms_track_open(&o->track, dir, e);
	if (st != ERR_OK)
		goto fail;
	o->started_at = (int64_t)time(NULL);
	snprintf(o->state_dir, sizeof(o->state_dir), "%s", dir);
	{
		struct err he;
		int present;

		/* A damaged file only loses the history: this run writes anew. */
		err_clear(&he);
		if (health_load(dir, &o->health, &present, &he) != ERR_OK)
			log_warn("event=health-unreadable why=%s", log_q(he.msg));
	}
	log_info("event=tracking-loaded tracked=%zu open=%zu load_ms=%llu",
	         oms_track_count(o->track), oms_tracked_open(o),
	         (unsigned long long)(when_mono_ms() - t0));
	st = make_client(o, e);
	if (st != ERR_OK)
		goto fail;
	st = oms_meta_start(o, e);
	if (st != ERR_OK) {
		/* `scfgate status` shows a stop at start like one in a pass */
		if (st == ERR_FATAL)
			oms_status_note(o, e);
		oms_health_meta(o, st, e->msg);
		oms_health_save(o, 1);
		goto fail;
	}
	oms_health_meta(o, o->meta_pending ? ERR_TEMP : ERR_OK,
	                "the class metadata could not be read (Cartegraph cannot be reached)");
	*out = o;
	return ERR_OK;
fail:
	oms_free(o);
	return st;
}

/* An ack or close whose commit a crash cut short, before the first
 * forward. */
static enum err_status recover(struct oms *o, struct err *e)
{
	enum err_status st = oms_recover_pending(o, e);

	if (st != ERR_OK)
		return st;
	/* the counters are this run's: acks recovered here are not */
	memset(&o->counts, 0, sizeof(o->counts));
	return ERR_OK;
}

enum err_status oms_open(struct oms **out, const struct cfg *c, const struct oms_opts *opts,
                         struct err *e)
{
	struct oms *o = NULL;
	enum err_status st = open_bare(&o, c, opts, e);

	*out = NULL;
	if (st == ERR_OK)
		st = recover(o, e);
	if (st != ERR_OK) {
		oms_free(o);
		return st;
	}
	*out = o;
	return ERR_OK;
}

void oms_free(struct oms *o)
{
	if (!o)
		return;
	oms_forward_release(o);
	if (o->track)
		oms_track_compact(o->track, NULL);
	oms_track_free(o->track);
	http_client_free(o->http);
	http_client_free(o->http_w);
	http_client_free(o->http_meta);
	cg_meta_free(o->meta);
	spool_consumer_free(o->out_q);
	spool_producer_free(o->in_q);
	sig_key_free(o->priv);
	sig_key_free(o->pub);
	oms_geo_free(o->geo);
	free(o);
}

size_t oms_tracked_open(const struct oms *o)
{
	size_t n = 0, total = oms_track_count(o->track);

	for (size_t i = 0; i < total; i++) {
		const struct oms_entry *en = oms_track_at(o->track, i);
		if ((en->flags & OMS_T_CREATED) && !(en->flags & OMS_T_CLOSED))
			n++;
	}
	return n;
}

/* ---- ack and close: exactly once across crashes --------------------------- */

/*
 * Commit one record per entry as one group (one sync of the journal, one
 * of new/).  Before the commit the journal names the inbound sequence
 * each record is about to take; after it the pending flag is cleared for
 * those committed (*n_done from the front).
 */
static enum err_status commit_group(struct oms *o, struct oms_entry **ens, struct record **recs,
                                    size_t n, int close, size_t *n_done, struct err *e)
{
	uint64_t next = spool_producer_next_seq(o->in_q);
	unsigned pending = close ? OMS_T_CLOSING : OMS_T_ACKPEND, done = close ? OMS_T_CLOSED : 0;
	enum err_status st = ERR_OK;

	*n_done = 0;
	for (size_t i = 0; i < n && st == ERR_OK; i++) {
		*(close ? &ens[i]->close_seq : &ens[i]->ack_seq) = next + i;
		st = oms_track_save(o->track, ens[i], i + 1 == n, e);
	}
	if (st == ERR_OK)
		st = spool_commit_group(o->in_q, recs, n, n_done, e);
	/* for health: the commits of a pass, apart from its API calls */
	o->commit_tried = 1;
	o->commit_s = st;
	snprintf(o->commit_why, sizeof(o->commit_why), "%.480s", st != ERR_OK && e ? e->msg : "");
	for (size_t i = 0; i < n; i++) {
		/* A number not used is forgotten, so a later record taking it
		 * is not mistaken for this one. */
		*(close ? &ens[i]->close_seq : &ens[i]->ack_seq) = 0;
		if (i < *n_done)
			ens[i]->flags = (ens[i]->flags & ~pending) | done;
		oms_track_save(o->track, ens[i], 0, NULL);
	}
	return st;
}

enum err_status oms_commit_acks(struct oms *o, struct oms_entry **ens, size_t n,
                                const char *accepted_at, size_t *n_done, struct err *e)
{
	struct record **recs = calloc(n ? n : 1, sizeof(struct record *));
	enum err_status st = ERR_OK;

	*n_done = 0;
	if (!recs)
		return err_set(e, ERR_TEMP, "out of memory");
	for (size_t i = 0; i < n && st == ERR_OK; i++) {
		const char *rid = oms_track_id(o->track, ens[i]);
		struct map_cg_request rq;
		memset(&rq, 0, sizeof(rq));
		rq.oid = ens[i]->oid;
		/* A copy: the request's strings are its own (the store's move). */
		if (rid && !(rq.request_id = strdup(rid))) {
			st = err_set(e, ERR_TEMP, "out of memory");
			break;
		}
		ens[i]->flags |= OMS_T_ACKPEND;
		st = map_ack_record(ens[i]->issue, &rq, cfg_request_type(o->cfg, ens[i]->type_id),
		                    accepted_at, &recs[i], e);
		free(rq.request_id);
	}
	if (st == ERR_OK)
		st = commit_group(o, ens, recs, n, 0, n_done, e);
	for (size_t i = 0; i < n; i++) {
		if (i < *n_done) {
			log_info("effect=ack issue=%" PRId64 " oid=%" PRId64 " record=%" PRIu64,
			         ens[i]->issue, ens[i]->oid, recs[i]->seq);
			o->acks_total++;
			o->counts.acks++;
		}
		record_free(recs[i]);
	}
	free(recs);
	return st;
}

enum err_status oms_commit_ack(struct oms *o, struct oms_entry *en, const char *accepted_at,
                               struct err *e)
{
	size_t done = 0;

	return oms_commit_acks(o, &en, 1, accepted_at, &done, e);
}

enum err_status oms_commit_closes(struct oms *o, struct oms_entry **ens,
                                  const struct map_cg_request *rqs, size_t n, size_t *n_done,
                                  struct err *e)
{
	struct record **recs = calloc(n ? n : 1, sizeof(struct record *));
	enum err_status st = ERR_OK;
	char now[32];

	*n_done = 0;
	if (!recs)
		return err_set(e, ERR_TEMP, "out of memory");
	when_utc_now(now);
	for (size_t i = 0; i < n && st == ERR_OK; i++) {
		const struct map_cg_request *rq = &rqs[i];
		const char *when =
		    rq->last_modified && text_time_ok(rq->last_modified) ? rq->last_modified : now;
		ens[i]->flags |= OMS_T_CLOSING;
		st = map_close_record(ens[i]->issue, rq, cfg_request_type(o->cfg, ens[i]->type_id),
		                      when, &recs[i], e);
	}
	if (st == ERR_OK)
		st = commit_group(o, ens, recs, n, 1, n_done, e);
	for (size_t i = 0; i < n; i++) {
		if (i < *n_done) {
			log_info("effect=close issue=%" PRId64 " oid=%" PRId64
			         " status=%s record=%" PRIu64,
			         ens[i]->issue, ens[i]->oid, rqs[i].status ? rqs[i].status : "",
			         recs[i]->seq);
			o->closes_total++;
			o->counts.closes++;
		}
		record_free(recs[i]);
	}
	free(recs);
	return st;
}

/*
 * A journalled sequence the producer has passed was committed (numbers
 * are never reused for a visible record); one it has not reached was
 * not: the ack is committed again now, the close again at the next poll
 * (which sees the request closed again).
 */
enum err_status oms_recover_pending(struct oms *o, struct err *e)
{
	uint64_t next = spool_producer_next_seq(o->in_q);
	size_t n = oms_track_count(o->track);
	char now[32];

	when_utc_now(now);
	for (size_t i = 0; i < n; i++) {
		struct oms_entry *en = oms_track_at(o->track, i);
		enum err_status st = ERR_OK;
		if ((en->flags & OMS_T_CLOSING) && en->close_seq) {
			if (en->close_seq < next)
				en->flags = (en->flags & ~(unsigned)OMS_T_CLOSING) | OMS_T_CLOSED;
			en->close_seq = 0;
			st = oms_track_save(o->track, en, 0, e);
		}
		if (st == ERR_OK && (en->flags & OMS_T_ACKPEND) && en->ack_seq) {
			if (en->ack_seq < next)
				en->flags &= ~(unsigned)OMS_T_ACKPEND;
			en->ack_seq = 0;
			st = oms_track_save(o->track, en, 0, e);
		}
		if (st == ERR_OK && (en->flags & OMS_T_ACKPEND) && (en->flags & OMS_T_CREATED) &&
		    !(en->flags & (OMS_T_CLOSING | OMS_T_CLOSED)))
			st = oms_commit_ack(o, en, now, e);
		if (st == ERR_FATAL)
			return st;
		if (st != ERR_OK)
			log_warn("event=ack-pending issue=%" PRId64 " why=%s", en->issue,
			         log_q(e ? e->msg : ""));
	}
	return ERR_OK;
}

/* ---- daemon ------------------------------------------------------------------ */

static int stopped(const struct oms *o)
{
	return o->opts.stop && *o->opts.stop;
}

/* STATUS= for systemd: the verdict `scfgate status` would print (at most
 * a minute old), then how the last pass went. */
static void pass_status(struct oms *o, const struct oms_counts *n, enum err_status st,
                        const struct err *e)
{
	const char *verdict =
	    notify_verdict(o->cfg, o->verdict, sizeof(o->verdict), &o->verdict_at);

	if (st != ERR_OK)
		notify_status("%s | forward failed: %s", verdict, e->msg);
	else
		notify_status("%s | pass ok, %zu applied, %zu failed, %zu waiting, %zu acks, %zu "
		              "closes",
		              verdict, n->applied, n->failed, n->waiting, n->acks, n->closes);
}

/* The end of a --once round: one poll and the reconciliation of
 * complete censuses (unless stopped), and the run's status. */
static enum err_status once_end(struct oms *o, enum err_status s, struct err *e)
{
	o->fw_round_poll = 0;
	if (s == ERR_OK && !stopped(o)) {
		s = oms_poll(o, e);
		/* Like a record meeting a 503: the next run polls again. */
		if (s == ERR_TEMP) {
			log_warn("effect=poll-incomplete why=%s", log_q(e->msg));
			s = ERR_OK;
		}
	}
	/* a census whose parts are all here: the next run tries a failed
	 * reconciliation again */
	if (s == ERR_OK && !stopped(o) && oms_reconcile_pending(o, e) == ERR_FATAL)
		s = ERR_FATAL;
	return s;
}

/* The end of a forward round: STATUS= says how it went, then the poll
 * when the round began on a pass, then the reconciliation. */
static enum err_status forwarded(struct oms *o, enum err_status st, struct err *e)
{
	int poll = o->fw_round_poll;

	o->fw_round_poll = 0;
	if (st == ERR_FATAL)
		return st;
	if (st != ERR_OK)
		log_warn("event=forward-failed why=%s", log_q(e->msg));
	pass_status(o, &o->counts, st, e);
	history_tick(o->cfg);
	if (!stopped(o) && poll) {
		st = oms_poll(o, e);
		if (st == ERR_FATAL)
			return st;
		if (st != ERR_OK) {
			log_warn("event=poll-failed why=%s", log_q(e->msg));
			notify_status("poll failed: %s", e->msg);
		}
	}
	if (!stopped(o) && oms_reconcile_pending(o, e) == ERR_FATAL)
		return ERR_FATAL;
	return ERR_OK;
}

/* A turn of the loop.  A turn with no forward round in progress (in the
 * daemon one a second, with --once the first) begins one; each turn
 * steps the forwarder once (the window, then at most 100 ms of the
 * network) and asks for the next turn at once while there is more to do,
 * or, with --once, for a nap until a record's back-off ends; the turn
 * that ends the round says how it went (the daemon: STATUS=, and the
 * poll when the round began on a pass; --once: the poll, and the run's
 * status) and reconciles the complete censuses.  The daemon's window,
 * and the back-offs of its records, stay between rounds.  A round begun
 * goes on after a stop until its requests are answered; none begins
 * after it in the daemon. */
static enum err_status turn(struct oms *o, struct half_turn *t, struct err *e)
{
	int once = (t->due & HALF_TURN_ONCE) != 0;
	enum oms_fw_next nx;
	enum err_status st;

	if (!o->fw_round) {
		if (stopped(o) && !once)
			return ERR_OK;
		o->fw_round_poll = (t->due & HALF_TURN_PASS) != 0;
		st = oms_forward_begin(o, e);
		if (st != ERR_OK)
			return once ? st : forwarded(o, st, e);
		o->fw_round = 1;
	}
	nx = oms_forward_step(o, once, &t->wait_until_ms, e);
	if (nx == OMS_FW_MORE) {
		t->again = 1;
		return ERR_OK;
	}
	if (nx == OMS_FW_WAIT)
		return ERR_OK;
	o->fw_round = 0;
	st = oms_forward_end(o, once, e);
	return once ? once_end(o, st, e) : forwarded(o, st, e);
}

/* The stop flag ended the loop: the records in hand go back to new/ (or
 * settle), and the health record says what that settled. */
static void settle(struct oms *o)
{
	oms_forward_release(o);
	oms_health_save(o, 1);
}

void oms_counts_get(const struct oms *o, struct oms_counts *out)
{
	struct spool_consumer_stats cs;

	*out = o->counts;
	/* since the half opened its queue */
	spool_consumer_stats(o->out_q, &cs);
	out->quarantined = cs.quarantined;
}

/* ---- the half's table (half.h) ---------------------------------------------- */

static enum err_status ops_open(void **h, const struct cfg *c, const void *opts,
                                volatile sig_atomic_t *stop, struct err *e)
{
	struct oms_opts o;
	struct oms *half = NULL;
	enum err_status s;

	memset(&o, 0, sizeof(o));
	if (opts)
		o = *(const struct oms_opts *)opts;
	o.stop = stop;
	s = open_bare(&half, c, &o, e);
	*h = half;
	return s;
}

static void ops_free(void *h)
{
	oms_free(h);
}

static enum err_status ops_recover(void *h, struct err *e)
{
	return recover(h, e);
}

static enum err_status ops_turn(void *h, struct half_turn *t, struct err *e)
{
	return turn(h, t, e);
}

static void ops_settle(void *h)
{
	settle(h);
}

static void ops_counters(void *h, struct half_counters *k)
{
	struct oms_counts n;
	const struct oms *o = h;

	memset(&n, 0, sizeof(n));
	if (o)
		oms_counts_get(o, &n);
	half_count(k, "applied", "applied", 0, (int64_t)n.applied);
	half_count(k, "failed", "failed", 0, (int64_t)n.failed);
	half_count(k, "held", "held", 0, (int64_t)n.held);
	half_count(k, "waiting", "waiting", 1, (int64_t)n.waiting);
	half_count(k, "acks", "acks", 0, (int64_t)n.acks);
	half_count(k, "closes", "closes", 0, (int64_t)n.closes);
	half_count(k, "polled", NULL, 1, (int64_t)n.polled);
	half_count(k, "notes_appends", NULL, 0, (int64_t)n.notes_appends);
	half_count(k, "quarantined", "quarantined", 0, (int64_t)n.quarantined);
	half_count(k, "tracked_open", NULL, 1, o ? (int64_t)oms_tracked_open(o) : 0);
	half_count(k, "signature_checks", NULL, 1, (int64_t)sig_verify_count());
}

/* A turn does not log a fatal stop: the alert line and the record of it
 * for `scfgate status` are made here. */
static void ops_stopped(void *h, const struct err *e)
{
	log_alert("event=stopped why=%s", log_q(e->msg));
	if (h)
		oms_status_note(h, e);
}

static unsigned ops_poll_seconds(const struct cfg *c)
{
	return c->cg.poll_seconds;
}

const struct half_ops oms_half_ops = {
    .name = "oms",
    .half = CFG_HALF_OMS,
    .open = ops_open,
    .free = ops_free,
    .recover = ops_recover,
    .turn = ops_turn,
    .settle = ops_settle,
    .counters = ops_counters,
    .stopped = ops_stopped,
    .poll_seconds = ops_poll_seconds,
};
