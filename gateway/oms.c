/*
 * oms.c: the OMS half's set-up, its inbound records (ack, close) and the
 * daemon loop.  See oms.h.
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

#include "history.h"
#include "log.h"
#include "notify.h"
#include "sigs.h"

static unsigned long long mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull +
	       (unsigned long long)ts.tv_nsec / 1000000ull;
}

static enum err_status make_client(struct oms *o, struct err *e)
{
	const struct cfg_cartegraph *g = &o->cfg->cg;
	struct buf secret = BUF_INIT_CAP(CFG_SECRET_MAX);
	struct http_config hc;
	char *user = NULL, *pass = NULL;
	enum err_status st;

	st = cfg_read_secret(g->credential_file, &secret, e);
	if (st == ERR_OK)
		st = cfg_split_basic(secret.data, &user, &pass, e);
	if (st != ERR_OK)
		goto out;
	http_config_init(&hc);
	hc.base_url = g->base_url;
	hc.ca_file = g->ca_file;
	hc.auth = g->auth == CFG_CG_AUTH_SESSION ? HTTP_AUTH_CG_SESSION : HTTP_AUTH_BASIC;
	hc.username = user;
	hc.password = pass;
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
	if (secret.data)
		memset(secret.data, 0, secret.alloc);
	buf_release(&secret);
	return st;
}

static void opts_defaults(struct oms *o, const struct oms_opts *in)
{
	if (in)
		o->opts = *in;
	if (!o->opts.concurrency)
		o->opts.concurrency = o->cfg->cg.concurrency ? o->cfg->cg.concurrency : 2;
	if (!o->opts.retry_base_ms)
		o->opts.retry_base_ms = 1000;
	if (!o->opts.retry_max_ms)
		o->opts.retry_max_ms = 300000;
	if (!o->opts.http_attempts)
		o->opts.http_attempts = 4;
	if (!o->opts.http_backoff_ms)
		o->opts.http_backoff_ms = 500;
	if (!o->opts.http_timeout_ms)
		o->opts.http_timeout_ms = 30000;
	o->window = o->opts.window ? o->opts.window : 8 * o->opts.concurrency;
	if (o->window < 16)
		o->window = 16;
	if (o->window > OMS_WINDOW_MAX)
		o->window = OMS_WINDOW_MAX;
}

enum err_status oms_open(struct oms **out, const struct cfg *c, const struct oms_opts *opts,
                         struct err *e)
{
	struct spool_consumer_opts co;
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
	memset(&co, 0, sizeof(co));
	co.grace_seconds = c->spool.grace_seconds;
	co.gap_alarm_seconds = c->spool.gap_alarm_seconds;
	co.max_ahead = c->spool.max_ahead;
	co.on_quarantine = log_quarantined;
	if ((st = cfg_check_secrets(c, e)) != ERR_OK ||
	    (st = oms_geo_open(c, &o->geo, e)) != ERR_OK ||
	    (st = sig_load_private(c->spool.private_key, &o->priv, e)) != ERR_OK ||
	    (st = sig_load_public(c->spool.peer_public_key, &o->pub, e)) != ERR_OK ||
	    (st = spool_queue_init(c->spool.root, "outbound", e)) != ERR_OK ||
	    (st = spool_queue_init(c->spool.root, "inbound", e)) != ERR_OK ||
	    (st = spool_consumer_open(&o->out_q, c->spool.root, "outbound", o->pub, &co, e)) !=
	        ERR_OK ||
	    (st = spool_producer_open(&o->in_q, c->spool.root, "inbound", c->spool.producer,
	                              o->priv, e)) != ERR_OK)
		goto fail;
	if (spool_producer_scan_reason(o->in_q))
		log_warn("event=sequence-scan queue=%s why=%s", "inbound",
		         log_q(spool_producer_scan_reason(o->in_q)));
	if (snprintf(dir, sizeof(dir), "%s/state/oms", c->spool.root) >= (int)sizeof(dir)) {
		st = err_set(e, ERR_FATAL, "%s: spool root path too long", c->path);
		goto fail;
	}
	{
		char sdir[SPOOL_PATH_MAX];
		snprintf(sdir, sizeof(sdir), "%s/state", c->spool.root);
		if (mkdir(sdir, 0750) != 0 && errno != EEXIST) {
			st = err_errno(e, ERR_FATAL, errno, "%s", sdir);
			goto fail;
		}
	}
	t0 = mono_now_ms();
	if ((st = oms_track_open(&o->track, dir, e)) != ERR_OK)
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
	         (unsigned long long)(mono_now_ms() - t0));
	if ((st = make_client(o, e)) != ERR_OK)
		goto fail;
	if ((st = oms_meta_start(o, e)) != ERR_OK) {
		/* `scfgate status` shows a stop at start like one in a pass */
		if (st == ERR_FATAL)
			oms_status_note(o, e);
		oms_health_meta(o, st, e->msg);
		oms_health_save(o, 1);
		goto fail;
	}
	oms_health_meta(o, o->meta_pending ? ERR_TEMP : ERR_OK,
	                "the class metadata could not be read (Cartegraph cannot be reached)");
	if ((st = oms_recover_pending(o, e)) != ERR_OK)
		goto fail;
	*out = o;
	return ERR_OK;
fail:
	oms_free(o);
	return st;
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
	struct record **recs = calloc(n ? n : 1, sizeof(*recs));
	enum err_status st = ERR_OK;

	*n_done = 0;
	if (!recs)
		return err_set(e, ERR_TEMP, "out of memory");
	for (size_t i = 0; i < n && st == ERR_OK; i++) {
		struct map_cg_request rq;
		memset(&rq, 0, sizeof(rq));
		rq.oid = ens[i]->oid;
		rq.request_id = ens[i]->request_id;
		ens[i]->flags |= OMS_T_ACKPEND;
		st = map_ack_record(ens[i]->issue, &rq, cfg_request_type(o->cfg, ens[i]->type_id),
		                    accepted_at, &recs[i], e);
	}
	if (st == ERR_OK)
		st = commit_group(o, ens, recs, n, 0, n_done, e);
	for (size_t i = 0; i < n; i++) {
		if (i < *n_done) {
			log_info("effect=ack issue=%" PRId64 " oid=%" PRId64 " record=%" PRIu64,
			         ens[i]->issue, ens[i]->oid, recs[i]->seq);
			o->acks_total++;
			if (o->counts)
				o->counts->acks++;
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
	struct record **recs = calloc(n ? n : 1, sizeof(*recs));
	enum err_status st = ERR_OK;
	char now[32];

	*n_done = 0;
	if (!recs)
		return err_set(e, ERR_TEMP, "out of memory");
	oms_now(now);
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
			if (o->counts)
				o->counts->closes++;
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

	oms_now(now);
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

enum err_status oms_run(struct oms *o, struct oms_counts *counts, struct err *e)
{
	time_t last_poll = 0;
	enum err_status st;

	while (!stopped(o)) {
		time_t now = time(NULL);
		st = oms_forward(o, 0, counts, e);
		if (st == ERR_FATAL)
			return st;
		if (st != ERR_OK)
			log_warn("event=forward-failed why=%s", log_q(e->msg));
		pass_status(o, counts, st, e);
		history_tick(o->cfg);
		notify_watchdog();
		if (!stopped(o) && now - last_poll >= (time_t)o->cfg->cg.poll_seconds) {
			last_poll = now;
			st = oms_poll(o, counts, e);
			if (st == ERR_FATAL)
				return st;
			if (st != ERR_OK) {
				log_warn("event=poll-failed why=%s", log_q(e->msg));
				notify_status("poll failed: %s", e->msg);
			}
		}
		if (!stopped(o) && oms_reconcile_pending(o, e) == ERR_FATAL)
			return ERR_FATAL;
		sigs_wait_ms(o->opts.stop, 1000);
	}
	oms_forward_release(o);
	oms_health_save(o, 1); /* what the release settled */
	return ERR_OK;
}
