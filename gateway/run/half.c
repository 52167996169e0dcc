/*
 * half.c: what the two halves share (see half.h).
 */
#include "half.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "gen.h"
#include "log.h"
#include "num.h"
#include "notify.h"
#include "sigs.h"
#include "when.h"

#ifndef SCFGATE_VERSION
#define SCFGATE_VERSION "dev"
#endif

/* ---- set-up ---------------------------------------------------------------- */

enum err_status half_keys_load(const struct cfg *c, struct sig_key **priv, struct sig_key **peer,
                               struct err *e)
{
	enum err_status s;

	*priv = NULL;
	*peer = NULL;
	s = sig_load_private(c->spool.private_key, priv, e);
	if (s == ERR_OK)
		s = sig_load_public(c->spool.peer_public_key, peer, e);
	if (s != ERR_OK) {
		sig_key_free(*priv);
		*priv = NULL;
		/* a key a person must put in place: nothing to retry */
		return s == ERR_PERM ? ERR_FATAL : s;
	}
	return ERR_OK;
}

/* 1 when path (inside the spool root) is a directory itself, not a
 * link to one: whoever may write the spool may have planted a link, and
 * the half's state would then be written wherever it points. */
static int state_dir_real(const char *path, struct err *e)
{
	enum spool_entry_type t = spool_entry_type_of(path);

	if (t == SPOOL_ENTRY_DIR)
		return 1;
	err_set(e, ERR_FATAL,
	        "%s: %s where the half keeps its state (never followed): remove it (the half "
	        "creates the directory)",
	        path, spool_entry_type_name(t));
	return 0;
}

enum err_status half_state_dir(const struct cfg *c, const char *name, char out[SPOOL_PATH_MAX],
                               struct err *e)
{
	size_t root_len = strlen(c->spool.root);

	if (snprintf(out, SPOOL_PATH_MAX, "%s/state/%s", c->spool.root, name) >= SPOOL_PATH_MAX)
		return err_set(e, ERR_FATAL, "%s: spool root path too long", c->spool.root);
	/* state/ first, then state/<name>/ */
	out[root_len + strlen("/state")] = '\0';
	if (mkdir(out, 0750) != 0 && errno != EEXIST)
		return err_errno(e, ERR_FATAL, errno, "%s", out);
	if (!state_dir_real(out, e))
		return ERR_FATAL;
	out[root_len + strlen("/state")] = '/';
	if (mkdir(out, 0750) != 0 && errno != EEXIST)
		return err_errno(e, ERR_FATAL, errno, "%s", out);
	if (!state_dir_real(out, e))
		return ERR_FATAL;
	return ERR_OK;
}

enum err_status half_queues_open(const struct cfg *c, const char *produce, const char *consume,
                                 const struct sig_key *priv, const struct sig_key *peer,
                                 struct spool_producer **prod, struct spool_consumer **cons,
                                 struct err *e)
{
	struct spool_consumer_opts co;
	enum err_status s;

	*prod = NULL;
	*cons = NULL;
	memset(&co, 0, sizeof(co));
	co.grace_seconds = c->spool.grace_seconds;
	co.gap_alarm_seconds = c->spool.gap_alarm_seconds;
	co.max_ahead = c->spool.max_ahead;
	co.on_quarantine = log_quarantined;
	s = spool_queue_init(c->spool.root, HALF_OUTBOUND, e);
	if (s == ERR_OK)
		s = spool_queue_init(c->spool.root, HALF_INBOUND, e);
	if (s == ERR_OK)
		s = spool_producer_open(prod, c->spool.root, produce, c->spool.producer, priv, e);
	if (s != ERR_OK)
		return s;
	if (spool_producer_scan_reason(*prod))
		log_warn("event=sequence-scan queue=%s why=%s", produce,
		         log_q(spool_producer_scan_reason(*prod)));
	s = spool_consumer_open(cons, c->spool.root, consume, peer, &co, e);
	if (s != ERR_OK) {
		spool_producer_free(*prod);
		*prod = NULL;
		return s;
	}
	return ERR_OK;
}

enum err_status half_secret_load(struct half_secret *s, const char *file, struct http_config *hc,
                                 struct err *e)
{
	char *user = NULL, *pass = NULL;
	enum err_status st;

	buf_init(&s->buf, CFG_SECRET_MAX);
	st = cfg_read_secret(file, &s->buf, e);
	if (st != ERR_OK)
		return st;
	if (hc->auth == HTTP_AUTH_BEARER) {
		hc->token = buf_str(&s->buf);
		return ERR_OK;
	}
	st = cfg_split_basic(s->buf.data, &user, &pass, e);
	if (st != ERR_OK)
		return st;
	hc->username = user;
	hc->password = pass;
	return ERR_OK;
}

void half_secret_wipe(struct half_secret *s)
{
	if (s->buf.data)
		explicit_bzero(s->buf.data, s->buf.alloc);
	buf_release(&s->buf);
}

/* ---- last success and fatal stop ------------------------------------------- */

#define STATUS_PREFIX   "status."
#define STATUS_FILE_MAX 4096 /* what half_status_note writes fits */

static void status_magic(char *out, size_t size, const char *name)
{
	snprintf(out, size, "scfgate-%s-status 1", name);
}

void half_status_read(const char *dir, const char *name, struct half_status *out)
{
	uint64_t gens[16];
	size_t ng = gen_list(dir, STATUS_PREFIX, gens, sizeof(gens) / sizeof(gens[0]));
	char magic[64];

	memset(out, 0, sizeof(*out));
	status_magic(magic, sizeof(magic), name);
	for (size_t i = 0; i < ng; i++) {
		char path[SPOOL_PATH_MAX + 64], line[HALF_ALERT_MAX + 64];
		int64_t last_ok = 0, at = 0;
		char reason[HALF_ALERT_MAX] = "";
		int ok = 0, lineno = 0;
		struct buf b = BUF_INIT_CAP(STATUS_FILE_MAX);
		enum spool_entry_type type = SPOOL_ENTRY_MISSING;
		const char *p, *end, *v;
		struct err e;

		/* The status file is read like anything in the spool root: never
		 * through a link, never a FIFO (a status command must not hang).
		 * What is not a regular file is passed over, and named. */
		if (snprintf(path, sizeof(path), "%s/" STATUS_PREFIX "%020" PRIu64, dir, gens[i]) >=
		        (int)sizeof(path) ||
		    spool_read_untrusted(path, STATUS_FILE_MAX, &b, &type, &e) != ERR_OK) {
			if (type != SPOOL_ENTRY_MISSING && type != SPOOL_ENTRY_UNREADABLE &&
			    !out->stranger[0])
				snprintf(out->stranger, sizeof(out->stranger), "%s", e.msg);
			buf_release(&b);
			continue;
		}
		for (p = buf_str(&b); *p; p = *end ? end + 1 : end) {
			end = p + strcspn(p, "\n");
			snprintf(line, sizeof(line), "%.*s", (int)(end - p), p);
			if (++lineno == 1 && strcmp(line, magic) != 0)
				break;
			/* a number that does not read whole: a damaged file */
			if (num_after(line, "last_ok ")) {
				if (num_line_i64(line, "last_ok ", &last_ok) != 0)
					break;
			} else if (num_after(line, "alert ")) {
				if (num_i64(line + 6, &v, &at) != 0 || (*v != ' ' && *v != '\0'))
					break;
				snprintf(reason, sizeof(reason), "%s", *v ? v + 1 : v);
			} else if (strcmp(line, "end") == 0) {
				ok = 1;
			}
		}
		buf_release(&b);
		if (!ok)
			continue; /* cannot be torn (atomic rename); a damaged disk can */
		out->present = 1;
		out->last_ok = last_ok;
		out->alert_at = at > 0 ? at : 0;
		snprintf(out->alert, sizeof(out->alert), "%s", out->alert_at ? reason : "");
		return;
	}
}

void half_status_note(const char *dir, const char *name, int64_t last_ok, const struct err *fatal)
{
	struct half_status cur;
	struct buf b = BUF_INIT_CAP(STATUS_FILE_MAX);
	char magic[64], reason[HALF_ALERT_MAX];
	struct err e;

	half_status_read(dir, name, &cur);
	if (last_ok > cur.last_ok)
		cur.last_ok = last_ok;
	/* A fatal stop is recorded; a healthy pass clears it. */
	cur.alert_at = fatal ? (int64_t)time(NULL) : 0;
	escape_one_line(fatal ? fatal->msg : "", reason, sizeof(reason));
	status_magic(magic, sizeof(magic), name);
	buf_addf(&b, "%s\nlast_ok %" PRId64 "\n", magic, cur.last_ok);
	if (cur.alert_at)
		buf_addf(&b, "alert %" PRId64 " %s\n", cur.alert_at,
		         reason[0] ? reason : "(no reason given)");
	buf_adds(&b, "end\n");
	err_clear(&e);
	if (b.data && spool_write_next(dir, STATUS_PREFIX, b.data, b.len, &e) == ERR_OK) {
		buf_release(&b);
		return;
	}
	log_warn("event=status-not-saved why=%s", log_q(e.msg[0] ? e.msg : "out of memory"));
	buf_release(&b);
}

/* ---- replay selection ------------------------------------------------------ */

int half_replay_selected(const struct half_replay_sel *sel, const struct spool_entry *ent)
{
	if (sel && sel->n_names) {
		for (size_t i = 0; i < sel->n_names; i++)
			if (strcmp(sel->names[i], ent->name) == 0)
				return 1;
		return 0;
	}
	/* a name without a sequence is no record */
	return ent->seq && (!sel || ((!sel->seq_from || ent->seq >= sel->seq_from) &&
	                             (!sel->seq_to || ent->seq <= sel->seq_to)));
}

/* ---- back-off -------------------------------------------------------------- */

void half_jitter_seed(struct half_jitter *j)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed =
		    ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20);
	}
	/* xorshift stays at zero forever */
	j->state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint64_t jitter_next(struct half_jitter *j)
{
	uint64_t x = j->state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	j->state = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t half_backoff_ms(struct half_jitter *j, uint64_t base_ms, uint64_t max_ms, unsigned n)
{
	uint64_t d = base_ms << (n < 16 ? n : 16);

	if (d > max_ms)
		d = max_ms;
	return d / 2 + jitter_next(j) % (d / 2 + 1);
}

/* ---- the process loop ------------------------------------------------------ */

void half_count(struct half_counters *k, const char *json, const char *stop, int last, int64_t v)
{
	if (k->n >= HALF_COUNTERS_MAX)
		return;
	k->c[k->n].json = json;
	k->c[k->n].stop = stop;
	k->c[k->n].last = last;
	k->c[k->n].v = v;
	k->n++;
}

static int stop_raised(volatile sig_atomic_t *stop)
{
	return stop && *stop;
}

/* A turn, then more at once while the half asks for them; the watchdog
 * is told after each.  ERR_OK, or the status of the turn that failed. */
static enum err_status turns(const struct half_ops *ops, void *h, struct half_turn *t,
                             struct err *e)
{
	for (;;) {
		enum err_status s;

		t->again = 0;
		t->wait_until_ms = 0;
		s = ops->turn(h, t, e);
		if (s == ERR_FATAL)
			return s;
		notify_watchdog();
		if (s != ERR_OK || !t->again)
			return s;
		t->due &= HALF_TURN_ONCE;
	}
}

/* --once: the turns of one run; between them the naps the half asks for
 * (a back-off to end), cut short by a stop.  After a stop the half gets
 * one more turn to end its work; a wait it asks for then is not waited
 * for. */
static enum err_status once_run(const struct half_ops *ops, void *h, const struct cfg *c,
                                volatile sig_atomic_t *stop, struct err *e)
{
	struct half_turn t = {.due = HALF_TURN_PASS | HALF_TURN_ONCE,
	                      .next_pass_ms =
	                          when_mono_ms() + (uint64_t)ops->poll_seconds(c) * 1000};
	int last = 0;

	for (;;) {
		enum err_status s = turns(ops, h, &t, e);
		uint64_t now;

		if (s != ERR_OK || !t.wait_until_ms || last)
			return s;
		now = when_mono_ms();
		if (t.wait_until_ms > now)
			sigs_wait_ms(stop, t.wait_until_ms - now);
		last = stop_raised(stop);
		t.due = HALF_TURN_ONCE;
	}
}

static enum err_status daemon_run(const struct half_ops *ops, void *h, const struct cfg *c,
                                  volatile sig_atomic_t *stop, struct err *e)
{
	uint64_t interval = (uint64_t)ops->poll_seconds(c) * 1000;

	for (;;) {
		/* Passes are spaced from the start of the previous one, so a
		 * long pass does not push the next one back. */
		struct half_turn t = {.due = HALF_TURN_PASS,
		                      .next_pass_ms = when_mono_ms() + interval};
		enum err_status s;

		/* Taken before the pass: a request that comes during it asks
		 * for one more, which then sees what came after the signal. */
		if (sigs_pass_take())
			log_info("event=pass-now half=%s", ops->name);
		s = turns(ops, h, &t, e);
		if (s != ERR_OK)
			return s;
		/* Between passes a turn every second: the half's work between
		 * passes (a drain) costs nothing while there is nothing to do.
		 * A pass asked for by SIGUSR1 is due at once. */
		while (when_mono_ms() < t.next_pass_ms && !stop_raised(stop) &&
		       !sigs_pass_pending()) {
			sigs_nap_ms(stop, 1000);
			if (when_mono_ms() >= t.next_pass_ms || sigs_pass_pending())
				break;
			t.due = 0;
			s = turns(ops, h, &t, e);
			if (s != ERR_OK)
				return s;
		}
		if (stop_raised(stop)) {
			if (ops->settle)
				ops->settle(h);
			return ERR_OK;
		}
	}
}

enum err_status half_loop(const struct half_ops *ops, void *h, const struct cfg *c, int once,
                          volatile sig_atomic_t *stop, struct err *e)
{
	enum err_status s = once ? once_run(ops, h, c, stop, e) : daemon_run(ops, h, c, stop, e);

	/* The half's turn only says why it stops: the alert and the record
	 * for `scfgate status` are made here, once, whoever ran the loop. */
	if (s == ERR_FATAL && ops->stopped)
		ops->stopped(h, e);
	return s;
}

/* Open the half and let it recover; on failure *h is NULL. */
static enum err_status open_half(const struct half_run *r, void **h, const struct cfg *c,
                                 struct err *e)
{
	const struct half_ops *ops = r->ops;
	enum err_status s;

	*h = NULL;
	s = ops->open(h, c, r->opts, sigs_stop_flag(), e);
	if (s == ERR_OK && ops->recover)
		s = ops->recover(*h, e);
	if (s != ERR_OK) {
		ops->free(*h);
		*h = NULL;
	}
	return s;
}

/* Add the counters of the half h (about to close) to the run's totals. */
static void totals_add(struct half_run *r, void *h)
{
	struct half_counters k;

	if (!h)
		return;
	memset(&k, 0, sizeof(k));
	r->ops->counters(h, &k);
	if (!r->total.n) {
		r->total = k;
		return;
	}
	for (size_t i = 0; i < k.n && i < r->total.n; i++)
		r->total.c[i].v = k.c[i].last ? k.c[i].v : r->total.c[i].v + k.c[i].v;
}

static enum log_level level_of(const struct cfg *c)
{
	enum log_level out = LOGL_INFO;

	/* The two enums name the same levels; the names are the contract. */
	log_level_parse(cfg_log_level_name(c->log_level), &out);
	return out;
}

/* SIGHUP: the new configuration replaces the running one only if it
 * loads and the half opens with it; otherwise the old one goes on.  The
 * half is closed in between (its producer and consumer locks allow one
 * at a time), after the records in hand (SIGHUP raised the stop flag
 * too, sigs.h): nothing in hand is dropped, records committed or waiting
 * stay in the spool. */
static enum err_status reload(struct half_run *r, void **h, struct err *e)
{
	const struct half_ops *ops = r->ops;
	struct cfg *nc = NULL;
	struct err le;
	enum err_status s;

	log_info("event=reload config=%s", log_q(r->config));
	err_clear(&le);
	if (cfg_load_file(r->config, &nc, &le) != ERR_OK) {
		log_error("event=reload-refused config=%s why=%s", log_q(r->config), log_q(le.msg));
		return ERR_OK;
	}
	if (nc->half != ops->half) {
		log_error("event=reload-refused config=%s why=%s", log_q(r->config),
		          log_q("a configuration for the other half"));
		cfg_free(nc);
		return ERR_OK;
	}
	totals_add(r, *h);
	ops->free(*h);
	*h = NULL;
	if (open_half(r, h, nc, &le) != ERR_OK) {
		log_error("event=reload-refused config=%s why=%s", log_q(r->config), log_q(le.msg));
		cfg_free(nc);
		/* the old configuration goes on */
		s = open_half(r, h, r->c, e);
		if (s != ERR_OK) {
			/* a stop asked for meanwhile cut the opening short */
			return sigs_stopping() ? ERR_OK : s;
		}
		return ERR_OK;
	}
	cfg_free(r->c);
	r->c = nc;
	log_open(ops->name, level_of(nc), r->log_json);
	log_info("event=reloaded config=%s level=%s poll_seconds=%u", log_q(r->config),
	         log_level_name(level_of(nc)), ops->poll_seconds(nc));
	return ERR_OK;
}

enum err_status half_serve(struct half_run *r, struct err *e)
{
	const struct half_ops *ops = r->ops;
	void *h = NULL;
	enum err_status s;

	r->opened = 0;
	r->have_last = 0;
	memset(&r->last, 0, sizeof(r->last));
	memset(&r->total, 0, sizeof(r->total));
	log_info("event=start half=%s version=%s config=%s pid=%ld once=%d", ops->name,
	         SCFGATE_VERSION, log_q(r->config), (long)getpid(), r->once);
	s = open_half(r, &h, r->c, e);
	if (s != ERR_OK) {
		if (s == ERR_FATAL)
			log_alert("event=not-started why=%s", log_q(e->msg));
		notify_status("not started: %s", e->msg);
		goto out;
	}
	r->opened = 1;
	notify_ready("started, first pass running");
	for (;;) {
		s = half_loop(ops, h, r->c, r->once, sigs_stop_flag(), e);
		if (s != ERR_OK || r->once || !sigs_reload_take())
			break;
		sigs_hold_reload(1); /* a second SIGHUP waits for the next turn */
		s = reload(r, &h, e);
		sigs_hold_reload(0);
		if (s != ERR_OK)
			log_alert("event=stopped why=%s", log_q(e->msg));
		if (s != ERR_OK || !h)
			break;
	}
	/* A fatal turn was logged and recorded by the loop (ops->stopped), a
	 * failed reload above. */
	if (s == ERR_FATAL)
		notify_status("stopped: %s", e->msg);
	if (h) {
		ops->counters(h, &r->last);
		r->have_last = 1;
	}
	/* A stop cut the work short: the next run repeats it. */
	if (s == ERR_TEMP && sigs_stopping())
		s = ERR_OK;
out:
	notify_stopping();
	totals_add(r, h);
	if (!r->total.n)
		ops->counters(NULL, &r->total); /* the names, all zero */
	ops->free(h);
	cfg_free(r->c);
	r->c = NULL;
	return s;
}

void half_log_stop(const struct half_run *r, int rc)
{
	char line[1024];
	size_t len;

	len = (size_t)snprintf(line, sizeof(line), "event=stop half=%s exit=%d", r->ops->name, rc);
	for (size_t i = 0; i < r->total.n && len < sizeof(line); i++)
		if (r->total.c[i].stop)
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s=%lld",
			                        r->total.c[i].stop, (long long)r->total.c[i].v);
	log_info("%s", line);
}
