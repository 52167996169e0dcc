/*
 * scf_half.c: opening, running and closing the SCF half (see scf.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "history.h"
#include "log.h"
#include "notify.h"
#include "metrics.h"
#include "scf_impl.h"

#ifndef SCFGATE_VERSION
#define SCFGATE_VERSION "dev"
#endif

static enum err_status budget_acquire(void *ctx, uint64_t *wait_ms, uint64_t *ticket, struct err *e)
{
	return ratewin_acquire(((struct scf_budget *)ctx)->win, wait_ms, ticket, e);
}

static void budget_release(void *ctx, uint64_t ticket)
{
	ratewin_release(((struct scf_budget *)ctx)->win, ticket);
}

static int64_t budget_hold(void *ctx, uint64_t ms, int ban)
{
	return ratewin_hold(((struct scf_budget *)ctx)->win, ms, ban);
}

static uint64_t budget_now(void *ctx)
{
	const struct scf_budget *b = ctx;

	return b->clock.now_ms(b->clock.ctx);
}

enum err_status scf_budget_open(struct scf_budget *b, const struct cfg *c,
                                const struct http_clock *clock, struct err *e)
{
	struct ratewin_opts o = {0};
	struct http_config hc;
	char path[SPOOL_PATH_MAX];
	enum err_status s;

	memset(b, 0, sizeof(*b));
	if (snprintf(path, sizeof(path), "%s/state/scf/rate", c->spool.root) >= (int)sizeof(path))
		return err_set(e, ERR_FATAL, "%s: spool root path too long", c->spool.root);
	/* state/ and state/scf/ as scf_state_load makes them (replay may come first) */
	for (char *p = strchr(path + strlen(c->spool.root) + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST)
			return err_set(e, ERR_FATAL, "%s: %s", path, strerror(errno));
		*p = '/';
	}
	http_config_init(&hc);
	o.limit = c->scf.rate_per_minute;
	o.window_ms = (uint64_t)c->scf.rate_window * 1000;
	/* an unanswered call may have reached SCF as late as the timeout */
	o.pending_ms = (uint64_t)hc.timeout_ms;
	if (clock) {
		b->clock = *clock;
		b->has_clock = 1;
		o.now_ms = budget_now;
		o.ctx = b;
	}
	s = ratewin_open(&b->win, path, &o, e);
	if (s != ERR_OK)
		return s;
	b->lim.acquire = budget_acquire;
	b->lim.release = budget_release;
	b->lim.hold = budget_hold;
	b->lim.ctx = b;
	return ERR_OK;
}

void scf_budget_close(struct scf_budget *b)
{
	ratewin_free(b->win);
	b->win = NULL;
}

enum err_status scf_open_http(const struct cfg *c, const struct http_clock *clock,
                              const struct http_limiter *lim, struct http_client **out,
                              struct err *e)
{
	struct http_config hc;
	struct half_secret secret;
	char ua[160];
	enum err_status s;

	*out = NULL;
	if (!c->scf.base_url)
		return err_set(e, ERR_FATAL, "%s: no <scf> section", c->path ? c->path : "config");
	http_config_init(&hc);
	hc.base_url = c->scf.base_url;
	hc.ca_file = c->scf.ca_file;
	hc.auth = c->scf.auth == CFG_SCF_AUTH_BASIC ? HTTP_AUTH_BASIC : HTTP_AUTH_BEARER;
	s = half_secret_load(&secret, c->scf.credential_file, &hc, e);
	if (s != ERR_OK)
		goto out;
	snprintf(ua, sizeof(ua), "scfgate/%s (+%" PRId64 ")", SCFGATE_VERSION, c->scf.org_id);
	hc.user_agent = c->scf.user_agent ? c->scf.user_agent : ua;
	/* Without the shared budget: one bucket, burst 1 (a burst on top of
	 * the steady rate would cross SCF's limit). */
	hc.rate_per_minute =
	    (double)c->scf.rate_per_minute * (c->scf.rate_window ? 60.0 / c->scf.rate_window : 1.0);
	hc.burst = 1;
	hc.limiter = lim;
	hc.clock = clock;
	s = http_client_new(out, &hc, e);
	if (s == ERR_PERM)
		s = ERR_FATAL; /* a configuration the half cannot start with */
out:
	half_secret_wipe(&secret);
	return s;
}

/* Open without the recovery (the process loop recovers through the
 * table, half_ops.recover). */
static enum err_status open_bare(struct scf_half **out, const struct cfg *c,
                                 const struct http_clock *clock, struct err *e)
{
	struct scf_half *h = calloc(1, sizeof(*h));
	enum err_status s;

	*out = NULL;
	if (!h)
		return err_set(e, ERR_TEMP, "out of memory");
	h->c = c;
	half_jitter_seed(&h->jitter);
	s = cfg_check_secrets(c, e);
	if (s == ERR_OK)
		s = half_keys_load(c, &h->priv, &h->peer, e);
	if (s == ERR_OK)
		s = scf_budget_open(&h->budget, c, clock, e);
	if (s == ERR_OK)
		s = scf_open_http(c, clock, &h->budget.lim, &h->http, e);
	if (s == ERR_OK)
		s = half_queues_open(c, HALF_OUTBOUND, HALF_INBOUND, h->priv, h->peer, &h->prod,
		                     &h->cons, e);
	if (s == ERR_OK)
		s = half_state_dir(c, "scf", h->state_dir, e);
	if (s != ERR_OK)
		goto fail;
	s = scf_state_load(h->state_dir, &h->st, e);
	if (s != ERR_OK)
		goto fail;
	h->started_at = (int64_t)time(NULL);
	{
		struct err he;
		int present;

		/* A damaged file only loses the history: this run writes anew. */
		err_clear(&he);
		if (health_load(h->state_dir, &h->health, &present, &he) != ERR_OK)
			log_warn("event=health-unreadable why=%s", log_q(he.msg));
	}
	*out = h;
	return ERR_OK;
fail:
	scf_free(h);
	return s;
}

/* What a crash left in cur/ or half written, before the first pass. */
static enum err_status recover(struct scf_half *h, struct err *e)
{
	enum err_status s = scf_recover(h, e);

	if (s != ERR_OK)
		return s;
	h->stats.watermark = scf_state_watermark(h->st);
	return ERR_OK;
}

enum err_status scf_open(struct scf_half **out, const struct cfg *c, const struct http_clock *clock,
                         struct err *e)
{
	struct scf_half *h = NULL;
	enum err_status s = open_bare(&h, c, clock, e);

	*out = NULL;
	if (s == ERR_OK)
		s = recover(h, e);
	if (s != ERR_OK) {
		scf_free(h);
		return s;
	}
	*out = h;
	return ERR_OK;
}

void scf_free(struct scf_half *h)
{
	if (!h)
		return;
	scf_census_abandon(h);
	scf_state_free(h->st);
	spool_consumer_free(h->cons);
	spool_producer_free(h->prod);
	http_client_free(h->http);
	scf_budget_close(&h->budget);
	sig_key_free(h->priv);
	sig_key_free(h->peer);
	free(h);
}

void scf_set_stop_flag(struct scf_half *h, volatile sig_atomic_t *stop)
{
	h->stop = stop;
	http_set_stop(h->http, stop);
}

void scf_stats_get(const struct scf_half *h, struct scf_stats *out)
{
	struct spool_consumer_stats cs;

	*out = h->stats;
	spool_consumer_stats(h->cons, &cs);
	out->quarantined = cs.quarantined;
}

static uint64_t committed(const struct scf_half *h)
{
	return h->stats.issue_records + h->stats.comment_records + h->stats.attachment_records;
}

/* STATUS= for systemd: the verdict `scfgate status` would print (at most
 * a minute old), then how the last pass went. */
static void pass_status(struct scf_half *h, enum err_status fs, const struct err *fe,
                        enum err_status ws, const struct err *we, uint64_t before)
{
	const char *verdict = notify_verdict(h->c, h->verdict, sizeof(h->verdict), &h->verdict_at);

	if (fs != ERR_OK)
		notify_status("%s | fetch failed: %s", verdict, fe->msg);
	else if (ws != ERR_OK)
		notify_status("%s | fetch ok, %llu committed; write-back failed: %s", verdict,
		              (unsigned long long)(committed(h) - before), we->msg);
	else
		notify_status(
		    "%s | pass ok, %llu committed, %llu acks and %llu closes written back", verdict,
		    (unsigned long long)(committed(h) - before),
		    (unsigned long long)h->stats.acks_applied,
		    (unsigned long long)h->stats.closes_applied);
}

void scf_http_stats(const struct scf_half *h, struct http_stats *out)
{
	http_stats_get(h->http, out);
}

static void save_health(struct scf_half *h);

/* The last successful SeeClickFix call and a fatal stop (or, fatal NULL,
 * none) in the half's status file, for `scfgate status` (half.h). */
static void note_status(struct scf_half *h, const struct err *fatal)
{
	struct http_stats hs;

	http_stats_get(h->http, &hs);
	half_status_note(h->state_dir, "scf", (int64_t)hs.last_success, fatal);
}

/* A turn stops the half: e says why, and the kind of work that met it
 * is kept for the health record that stopped() writes. */
static enum err_status fatal_stop(struct scf_half *h, enum health_kind k, const char *why,
                                  struct err *e)
{
	h->fatal_kind = k;
	return err_set(e, ERR_FATAL, "%s", why);
}

static void write_metrics(struct scf_half *h, time_t now)
{
	static const char *const queues[] = {HALF_OUTBOUND, HALF_INBOUND};
	const struct scf_stats *st = &h->stats;
	struct http_stats hs;
	struct metrics m;
	struct err e;

	if (!h->c->metrics.textfile)
		return;
	metrics_init(&m);
	metrics_family(&m, "scfgate_info", "gauge", "The half this file describes; always 1.");
	metrics_sample(&m, "scfgate_info", "half=\"scf\",version=\"" SCFGATE_VERSION "\"", 1);
	metrics_family(&m, "scfgate_start_time_seconds", "gauge",
	               "When the process started (Unix time); the _total counters count from "
	               "here.");
	metrics_sample(&m, "scfgate_start_time_seconds", "", (double)h->started_at);
	metrics_family(&m, "scfgate_records_committed_total", "counter",
	               "Records this half committed to the queue it writes, by kind.");
	metrics_sample(&m, "scfgate_records_committed_total", "kind=\"issue\"",
	               (double)st->issue_records);
	metrics_sample(&m, "scfgate_records_committed_total", "kind=\"comment\"",
	               (double)st->comment_records);
	metrics_sample(&m, "scfgate_records_committed_total", "kind=\"attachment\"",
	               (double)st->attachment_records);
	metrics_family(&m, "scfgate_records_applied_total", "counter",
	               "Records of the queue this half reads that took effect (found already "
	               "done included), by kind.");
	metrics_sample(&m, "scfgate_records_applied_total", "kind=\"ack\"",
	               (double)st->acks_applied);
	metrics_sample(&m, "scfgate_records_applied_total", "kind=\"close\"",
	               (double)st->closes_applied);
	metrics_sample(&m, "scfgate_records_applied_total", "kind=\"already_done\"",
	               (double)st->already_done);
	metrics_family(&m, "scfgate_records_failed_total", "counter",
	               "Records this half moved to failed/, by kind.");
	metrics_sample(&m, "scfgate_records_failed_total", "kind=\"ack\"",
	               (double)h->wb_failed_kind[0]);
	metrics_sample(&m, "scfgate_records_failed_total", "kind=\"close\"",
	               (double)h->wb_failed_kind[1]);
	metrics_family(&m, "scfgate_records_deferred_total", "counter",
	               "Records put back after a temporary error, to be tried again.");
	metrics_sample(&m, "scfgate_records_deferred_total", "", (double)st->wb_deferred);
	metrics_family(&m, "scfgate_issues_skipped_total", "counter",
	               "SeeClickFix issues not sent, by reason.");
	metrics_sample(&m, "scfgate_issues_skipped_total", "reason=\"unmapped\"",
	               (double)st->skipped_unmapped);
	metrics_sample(&m, "scfgate_issues_skipped_total", "reason=\"not_open\"",
	               (double)st->skipped_not_open);
	metrics_sample(&m, "scfgate_issues_skipped_total", "reason=\"bad\"",
	               (double)st->skipped_bad);
	metrics_family(&m, "scfgate_watermark_timestamp_seconds", "gauge",
	               "SeeClickFix time up to which every change was read (Unix time); 0 before "
	               "the first complete pass.");
	metrics_sample(&m, "scfgate_watermark_timestamp_seconds", "",
	               (double)scf_state_watermark(h->st));
	metrics_family(&m, "scfgate_pass_duration_seconds", "gauge",
	               "How long the last pass of a kind of work took.");
	metrics_sample(&m, "scfgate_pass_duration_seconds", "kind=\"fetch\"",
	               (double)h->pass_ms[0] / 1000.0);
	metrics_sample(&m, "scfgate_pass_duration_seconds", "kind=\"write-back\"",
	               (double)h->pass_ms[1] / 1000.0);
	http_stats_get(h->http, &hs);
	metrics_add_http(&m, "seeclickfix", &hs);
	metrics_add_queues(&m, h->c->spool.root, queues, 2, h->c->spool.gap_alarm_seconds, now);
	metrics_add_health(&m, &h->health, 0, now);
	err_clear(&e);
	if (metrics_write(h->c->metrics.textfile, &m, &e) != ERR_OK)
		log_warn("event=metrics-not-written why=%s", log_q(e.msg));
	metrics_release(&m);
}

static void save_health(struct scf_half *h)
{
	time_t now = time(NULL);
	struct err e;

	err_clear(&e);
	if (health_save(h->state_dir, &h->health, (int64_t)now, &e) != ERR_OK)
		log_warn("event=health-not-saved why=%s", log_q(e.msg));
	h->health_saved_at = (int64_t)now;
	write_metrics(h, now);
	history_tick(h->c);
}

/* After a fetch pass: what each kind met.  A pass that stopped at a
 * commit read SeeClickFix fine: the commit failed, not the fetch. */
static void note_fetch(struct scf_half *h, enum err_status fs, const struct err *fe)
{
	int64_t now = (int64_t)time(NULL);
	int by_commit = h->commit_tried && h->commit_s != ERR_OK;

	if (h->commit_tried)
		health_note(&h->health, HEALTH_COMMIT, now, h->commit_s, h->commit_why);
	else if (fs == ERR_OK)
		health_note(&h->health, HEALTH_COMMIT, now, ERR_OK, NULL); /* nothing to commit */
	health_note(&h->health, HEALTH_FETCH, now, by_commit ? ERR_OK : fs, fe->msg);
}

/* After a write-back drain; 1 when something changed worth a save. */
static int note_writeback(struct scf_half *h, enum err_status ws, const struct err *we)
{
	int64_t now = (int64_t)time(NULL);
	int changed;

	/* Waiting out a back-off is no attempt: the outcome stays the last
	 * one (a failure keeps counting toward failingAlarmSeconds). */
	if (ws == ERR_OK && h->wb_skipped && !h->wb_temp_n)
		return 0;
	if (ws == ERR_OK && h->wb_temp_n)
		changed = health_note(&h->health, HEALTH_WRITEBACK, now, ERR_TEMP, h->wb_temp_why);
	else
		changed = health_note(&h->health, HEALTH_WRITEBACK, now, ws, we->msg);
	changed |= h->wb_temp_n != 0;
	h->wb_temp_n = 0;
	return changed;
}

uint64_t scf_wb_drain_seconds(const struct cfg *c, uint64_t records)
{
	double limit = c->scf.rate_per_minute;
	double window = c->scf.rate_window;
	double poll = c->scf.poll_seconds;
	double per_s = limit / window - 1.0 / poll; /* calls per second left for write-back */

	if (!records)
		return 0;
	if (per_s < limit / window / 2)
		per_s = limit / window / 2; /* the drain gets at least every other call */
	return (uint64_t)ceil((double)records * SCF_WB_CALLS_PER_RECORD / per_s);
}

/* A fetch pass and the write-back after it (HALF_TURN_PASS).  The
 * write-back yields when the next pass is due: fetching is never
 * postponed by more than one poll interval. */
static enum err_status pass(struct scf_half *h, const struct half_turn *t, struct err *e)
{
	struct err fe, we;
	enum err_status fs, ws;
	uint64_t committed_before = committed(h), t0;

	/* --once too: a timer's next run fetches on time */
	h->wb_until_ms = t->next_pass_ms;
	err_clear(&fe);
	err_clear(&we);
	h->commit_tried = 0;
	t0 = when_mono_ms();
	fs = scf_fetch(h, &fe);
	h->pass_ms[0] = when_mono_ms() - t0;
	if (fs == ERR_FATAL)
		return fatal_stop(
		    h, h->commit_tried && h->commit_s == ERR_FATAL ? HEALTH_COMMIT : HEALTH_FETCH,
		    fe.msg, e);
	if (fs != ERR_OK && scf_stopping(h))
		log_info("event=fetch-interrupted why=%s", log_q(fe.msg));
	else if (fs != ERR_OK)
		log_error("event=fetch-failed why=%s", log_q(fe.msg));
	/* A pass cut short by SIGTERM did not fail: its outcome stays what
	 * the previous pass met. */
	if (!(fs == ERR_TEMP && scf_stopping(h)))
		note_fetch(h, fs, &fe);
	/* The pass worked: the last good call as of now, and a recorded stop
	 * (a credential since fixed) is over. */
	if (fs == ERR_OK)
		note_status(h, NULL);
	t0 = when_mono_ms();
	ws = scf_writeback(h, &we);
	h->pass_ms[1] = when_mono_ms() - t0;
	if (ws == ERR_FATAL)
		return fatal_stop(h, HEALTH_WRITEBACK, we.msg, e);
	if (ws != ERR_OK)
		log_error("event=writeback-failed why=%s", log_q(we.msg));
	note_writeback(h, ws, &we);
	save_health(h);
	pass_status(h, fs, &fe, ws, &we, committed_before);
	if (!(t->due & HALF_TURN_ONCE))
		return ERR_OK;
	if (fs != ERR_OK)
		return err_set(e, fs, "%s", fe.msg);
	if (ws != ERR_OK)
		return err_set(e, ws, "%s", we.msg);
	return ERR_OK;
}

/* Between passes (every second): the inbound queue is drained, which
 * costs no API call while there is nothing to do; health and metrics
 * are saved when something changed, and at least once a minute; then a
 * page of the scheduled census. */
static enum err_status drain(struct scf_half *h, const struct half_turn *t, struct err *e)
{
	struct scf_stats before = h->stats;
	struct err we;
	enum err_status ws;
	uint64_t t0;
	int changed;

	err_clear(&we);
	t0 = when_mono_ms();
	ws = scf_writeback(h, &we);
	if (ws == ERR_FATAL)
		return fatal_stop(h, HEALTH_WRITEBACK, we.msg, e);
	changed = note_writeback(h, ws, &we);
	changed |= memcmp(&before, &h->stats, sizeof(before)) != 0;
	if (changed)
		h->pass_ms[1] = when_mono_ms() - t0;
	if (changed || (int64_t)time(NULL) - h->health_saved_at >= 60)
		save_health(h);
	if (h->c->scf.census_interval_hours && !scf_stopping(h) &&
	    when_mono_ms() < t->next_pass_ms) {
		struct err ce;
		enum err_status cs;

		err_clear(&ce);
		cs = scf_census_tick(h, &ce);
		if (cs == ERR_FATAL)
			return fatal_stop(h, HEALTH_FETCH, ce.msg, e);
		if (cs != ERR_OK) {
			log_error("event=census-failed why=%s", log_q(ce.msg));
		}
	}
	return ERR_OK;
}

enum err_status scf_run(struct scf_half *h, int once, struct err *e)
{
	return half_loop(&scf_half_ops, h, h->c, once, h->stop, e);
}

/* ---- the half's table (half.h) ---------------------------------------------- */

static enum err_status ops_open(void **h, const struct cfg *c, const void *opts,
                                volatile sig_atomic_t *stop, struct err *e)
{
	struct scf_half *half = NULL;
	enum err_status s;

	(void)opts; /* the SCF half takes no options beyond its configuration */
	*h = NULL;
	s = open_bare(&half, c, NULL, e);
	if (s != ERR_OK)
		return s;
	scf_set_stop_flag(half, stop);
	*h = half;
	return ERR_OK;
}

static void ops_free(void *h)
{
	scf_free(h);
}

static enum err_status ops_recover(void *h, struct err *e)
{
	return recover(h, e);
}

static enum err_status ops_turn(void *h, struct half_turn *t, struct err *e)
{
	return t->due & HALF_TURN_PASS ? pass(h, t, e) : drain(h, t, e);
}

/* The final counts. */
static void ops_settle(void *h)
{
	save_health(h);
}

static void ops_counters(void *h, struct half_counters *k)
{
	struct scf_stats s;
	struct http_stats hs;

	memset(&s, 0, sizeof(s));
	memset(&hs, 0, sizeof(hs));
	if (h) {
		scf_stats_get(h, &s);
		scf_http_stats(h, &hs);
	}
	half_count(k, "pages", NULL, 0, (int64_t)s.pages);
	half_count(k, "issues_seen", NULL, 0, (int64_t)s.issues_seen);
	half_count(k, "issue_records", "issue_records", 0, (int64_t)s.issue_records);
	half_count(k, "comment_records", "comment_records", 0, (int64_t)s.comment_records);
	half_count(k, "attachment_records", "attachment_records", 0, (int64_t)s.attachment_records);
	half_count(k, "skipped_unmapped", NULL, 0, (int64_t)s.skipped_unmapped);
	half_count(k, "skipped_not_open", NULL, 0, (int64_t)s.skipped_not_open);
	half_count(k, "skipped_bad", NULL, 0, (int64_t)s.skipped_bad);
	half_count(k, "comments_not_forwarded", NULL, 0, (int64_t)s.comments_not_forwarded);
	half_count(k, "comments_edited", NULL, 0, (int64_t)s.comments_edited);
	half_count(k, "recovered", NULL, 0, (int64_t)s.recovered);
	half_count(k, "acks_applied", "acks", 0, (int64_t)s.acks_applied);
	half_count(k, "closes_applied", "closes", 0, (int64_t)s.closes_applied);
	half_count(k, "already_done", NULL, 0, (int64_t)s.already_done);
	half_count(k, "writeback_failed", "writeback_failed", 0, (int64_t)s.wb_failed);
	half_count(k, "writeback_deferred", NULL, 0, (int64_t)s.wb_deferred);
	half_count(k, "watermark", NULL, 1, s.watermark);
	half_count(k, "http_requests", NULL, 0, (int64_t)hs.requests);
	half_count(k, "http_429", NULL, 0, (int64_t)hs.status_429);
	half_count(k, "http_retries", NULL, 0, (int64_t)hs.retries);
	half_count(k, "quarantined", "quarantined", 0, (int64_t)s.quarantined);
}

/* A turn returned ERR_FATAL (half_loop calls this once): the alert line,
 * unless the write-back logged one naming its record, then the stop in
 * the health record (under the kind of work that met it) and in the
 * status file for `scfgate status`. */
static void ops_stopped(void *v, const struct err *e)
{
	struct scf_half *h = v;

	if (!h || !h->alerted)
		log_alert("event=stopped why=%s", log_q(e->msg));
	if (!h)
		return;
	health_note(&h->health, h->fatal_kind, (int64_t)time(NULL), ERR_FATAL, e->msg);
	save_health(h);
	note_status(h, e);
}

static unsigned ops_poll_seconds(const struct cfg *c)
{
	return c->scf.poll_seconds;
}

const struct half_ops scf_half_ops = {
    .name = "scf",
    .half = CFG_HALF_SCF,
    .open = ops_open,
    .free = ops_free,
    .recover = ops_recover,
    .turn = ops_turn,
    .settle = ops_settle,
    .counters = ops_counters,
    .stopped = ops_stopped,
    .poll_seconds = ops_poll_seconds,
};
