/*
 * half.h: what the two halves of scfgate share (the SCF half, scf.h, and
 * the OMS half, oms.h): their set-up steps, their back-off, and the
 * process loop of `scfgate scf` and `scfgate oms`.
 *
 * A half writes one queue and reads the other:
 *
 *   half  produces        consumes       state directory
 *   scf   HALF_OUTBOUND   HALF_INBOUND   <spool root>/state/scf/
 *   oms   HALF_INBOUND    HALF_OUTBOUND  <spool root>/state/oms/
 *
 * Set-up (each half's open calls these in this order)
 *   - half_keys_load(): its private key (signs what it produces) and the
 *     peer's public key (verifies what it consumes).
 *   - half_state_dir(): <root>/state/<half>/, created 0750.
 *   - half_queues_open(): both queues created if missing, the producer
 *     opened on one (its lock taken), the consumer on the other (its
 *     lock taken), with the spool options of the configuration.
 *   - half_secret_load(): the credential file read once into memory and
 *     put into an http_config; the caller makes its clients from it and
 *     then wipes it (half_secret_wipe).
 *   Every failure a person must fix (a missing key, a credential file
 *   that does not load, a root path too long) is ERR_FATAL; a lock
 *   another process holds is ERR_TEMP.
 *
 * Back-off: a record that met a temporary error waits
 * half_backoff_ms(): base doubled per attempt, capped, of which the
 * second half is random, so records (and processes) that failed together
 * do not retry together.  The random source is seeded per process
 * (getrandom, else time and pid), never the C library's unseeded one.
 *
 * The process loop (half_serve): open the half with the stop flag and
 * let it recover what a crash left half done, then run its turns (once,
 * or as a daemon until a stop), re-read the configuration on SIGHUP (a
 * configuration that does not load or does not open is refused and the
 * running one kept), and collect the counters of the run (struct
 * half_counters, fetched from the half after it ran).  Each half
 * supplies a table of callbacks, struct half_ops; the loop itself is
 * here, once, in half_loop():
 *
 *   turn(PASS)                     the first turn
 *   while it sets again: turn(0)   at once (work in flight)
 *   every second until the next
 *   pass is due:
 *     nap (sigs_wait_ms, 1 s)
 *     turn(0), and again           work between passes (a drain)
 *   stop flag raised: settle       the final saves; return ERR_OK
 *   a pass is due: turn(PASS)      poll_seconds after the previous one
 *                                  started, or at once after SIGUSR1
 *                                  (sigs_pass_take; the nap ends on it;
 *                                  logged event=pass-now; --once ignores
 *                                  it)
 *
 * With --once the turns are turn(PASS|ONCE), then turn(ONCE):
 *
 *   turn(PASS|ONCE)                  the run's work begins
 *   while it sets again: turn(ONCE)  at once
 *   while it sets wait_until_ms:     nothing to do before then (a
 *     nap until then (sigs_wait_ms;  record's back-off, a file still
 *     a stop ends it)                arriving)
 *     turn(ONCE), and again
 *   neither: the run is over         the last turn's status is the run's
 *
 * The loop owns the stop flag, every nap between turns and the watchdog
 * ping after every turn: a turn never sleeps, it says when it can go on.
 * A turn that returns ERR_FATAL (or, with --once, anything but ERR_OK)
 * ends the loop with that status; on ERR_FATAL the loop calls
 * ops->stopped once (the alert line and the record for `scfgate
 * status`), and half_serve tells systemd (STATUS=).  What a turn does is
 * the half's: the SCF half fetches on a pass and drains the inbound
 * queue (and takes a census step) on every turn; the OMS half steps its
 * forwarder on every turn (asking for the next turn at once while
 * requests are in flight, and with --once asking to wait for a back-off
 * to end) and polls Cartegraph at the end of a round begun on a pass.
 * Nothing here prints: the command (cmd_half.c) prints and chooses the
 * exit status.
 */
#ifndef SCFGATE_HALF_H
#define SCFGATE_HALF_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "http.h"
#include "sig.h"
#include "spool.h"

/* The two queues of a spool root. */
#define HALF_OUTBOUND "outbound" /* SCF issues, comments, photos, census parts */
#define HALF_INBOUND  "inbound"  /* OMS acks, closes, resends, reconciliations */

/* ---- set-up ---------------------------------------------------------------- */

/* The half's private key and the peer's public key (spool.private_key,
 * spool.peer_public_key).  ERR_FATAL when either does not load (both
 * NULL then). */
enum err_status half_keys_load(const struct cfg *c, struct sig_key **priv, struct sig_key **peer,
                               struct err *e);

/* <root>/state/<name> into out, with state/ and state/<name>/ created
 * (0750) when missing.  ERR_FATAL when the path is too long or cannot be
 * made, or when state/ or state/<name> is a symbolic link (never
 * followed; the root itself may be one) or anything but a directory. */
enum err_status half_state_dir(const struct cfg *c, const char *name, char out[SPOOL_PATH_MAX],
                               struct err *e);

/* Create both queues when missing, then open the producer on produce
 * (signing with priv, id spool.producer) and the consumer on consume
 * (verifying with peer, the spool options of c, quarantined files
 * logged).  A warning is logged when the producer had to scan for its
 * sequence.  On failure both are NULL. */
enum err_status half_queues_open(const struct cfg *c, const char *produce, const char *consume,
                                 const struct sig_key *priv, const struct sig_key *peer,
                                 struct spool_producer **prod, struct spool_consumer **cons,
                                 struct err *e);

/* A credential read into memory: wipe it when the clients are made. */
struct half_secret {
	struct buf buf;
};

/* Read file and set hc's credential: a bearer token (hc->auth ==
 * HTTP_AUTH_BEARER) is the file's text, any other auth takes
 * "user:password".  hc points into s until half_secret_wipe(s) (the
 * HTTP client copies what it keeps).  ERR_FATAL when the file does not
 * load or does not hold what the auth needs. */
enum err_status half_secret_load(struct half_secret *s, const char *file, struct http_config *hc,
                                 struct err *e);
void half_secret_wipe(struct half_secret *s);

/* ---- last success and fatal stop, for `scfgate status` --------------------- */

/*
 * Both halves keep, beside their health record (health.h), when their
 * service last answered and the fatal stop they last met, in
 * <state dir>/status.<generation>:
 *
 *   scfgate-<half>-status 1
 *   last_ok <epoch seconds>
 *   alert <epoch seconds> <reason, one line>     (only while stopped)
 *   end
 *
 * written through <state dir>/tmp with spool_write_atomic (never torn),
 * older generations removed.  half_status_note() is called after a pass
 * that worked (fatal NULL: a recorded stop is over) and when the half
 * stops on ERR_FATAL; it keeps the later of last_ok and the one
 * recorded.  A failed write is logged, never fatal.  half_status_read()
 * reads the newest complete file without a lock; none (or only damaged
 * ones) gives present = 0 and zeros.  A name of a generation that is not
 * a regular file is never opened (spool_read_untrusted) and is reported
 * in stranger.
 */
#define HALF_ALERT_MAX 240
struct half_status {
	int present;
	int64_t last_ok;  /* epoch seconds; 0 unknown */
	int64_t alert_at; /* a recorded fatal stop; 0 none */
	char alert[HALF_ALERT_MAX];
	/* The newest status generation that is not a regular file of the
	 * expected size (a FIFO, a link, a directory: never opened, never
	 * believed), as "<path>: a FIFO, ..."; "" if none.  It is passed over
	 * for an older one, but status names it: someone put it there. */
	char stranger[ERR_MSG_MAX];
};

void half_status_note(const char *dir, const char *name, int64_t last_ok, const struct err *fatal);
void half_status_read(const char *dir, const char *name, struct half_status *out);

/* ---- replay selection ------------------------------------------------------ */

/* Which done/ records `scfgate spool replay` puts through a half again
 * (scf_replay, oms_replay): the named files when n_names > 0, else every
 * record whose sequence is in [seq_from, seq_to] (0: open end). */
struct half_replay_sel {
	const char *const *names; /* done/ file names */
	size_t n_names;
	uint64_t seq_from; /* inclusive; 0: from the first */
	uint64_t seq_to;   /* inclusive; 0: no upper bound */
};

/* 1 when the done/ entry is selected (sel NULL: every record). */
int half_replay_selected(const struct half_replay_sel *sel, const struct spool_entry *ent);

/* ---- back-off -------------------------------------------------------------- */

/* The random source of back-off jitter (xorshift64*). */
struct half_jitter {
	uint64_t state;
};

/* Seed from getrandom(2), or, when that fails, from the time and the
 * pid: two processes started together draw different spreads. */
void half_jitter_seed(struct half_jitter *j);

/* The wait before attempt n + 1 after n failed ones (n >= 0): base_ms
 * doubled n times (at most 16), capped at max_ms, of which the first half
 * is fixed and the second drawn from j: a value in [d/2, d]. */
uint64_t half_backoff_ms(struct half_jitter *j, uint64_t base_ms, uint64_t max_ms, unsigned n);

/* ---- the process loop ------------------------------------------------------ */

/* One counter of a run: its member in `--json`, its name on the stop
 * line (NULL: not there), and whether the run's total over reloads is
 * the sum (0) or the last half's value (1, a level such as "waiting"). */
struct half_counter {
	const char *json;
	const char *stop;
	int last;
	int64_t v;
};

#define HALF_COUNTERS_MAX 32
struct half_counters {
	size_t n;
	struct half_counter c[HALF_COUNTERS_MAX];
};

/* Append one counter (ignored past HALF_COUNTERS_MAX). */
void half_count(struct half_counters *k, const char *json, const char *stop, int last, int64_t v);

/* What a turn of the loop is for (struct half_turn, due). */
#define HALF_TURN_PASS 1u /* the half's pass: the first turn, then every poll interval */
/* --once: the turns of one run (the first also PASS), which ends when a
 * turn asks for nothing more; the last one's status is the run's (a
 * temporary error included) */
#define HALF_TURN_ONCE 2u

struct half_turn {
	unsigned due;           /* HALF_TURN_* bits; 0: a turn between passes */
	uint64_t next_pass_ms;  /* CLOCK_MONOTONIC ms when the next pass is due: work
	                           between passes yields to it */
	int again;              /* out, 0 on the way in: 1 asks for another turn at
	                           once, without the nap (work in flight, such as the
	                           OMS forwarder's requests); the loop then calls
	                           the turn again with due 0 (HALF_TURN_ONCE kept),
	                           also after a stop, until the half clears it */
	uint64_t wait_until_ms; /* out, 0 on the way in; read only with
	                           HALF_TURN_ONCE and again 0: nonzero says the
	                           run is not over but has nothing to do before
	                           this CLOCK_MONOTONIC ms; the loop naps until
	                           then (a stop ends the nap) and calls the turn
	                           again with due HALF_TURN_ONCE.  After a stop
	                           the turn is called once more to end its work;
	                           a wait it still asks for then ends the run. */
};

/* A half, as the process loop drives it. */
struct half_ops {
	const char *name;   /* "scf", "oms": the command and log name */
	enum cfg_half half; /* the configuration it takes */
	/* Open with the configuration (kept until free), the half's options
	 * (opts, may be NULL) and the stop flag every wait watches.
	 * ERR_FATAL: a person must fix something; ERR_TEMP: another process
	 * holds a lock. */
	enum err_status (*open)(void **h, const struct cfg *c, const void *opts,
	                        volatile sig_atomic_t *stop, struct err *e);
	void (*free)(void *h);
	/* Right after every open, before the first turn: finish what a crash
	 * left half done (a record in cur/, an ack whose commit was cut
	 * short).  A failure is a failure to open.  May be NULL. */
	enum err_status (*recover)(void *h, struct err *e);
	/* One turn (see the top); it never sleeps (struct half_turn says
	 * when it wants the next).  In a daemon a turn logs what it met and
	 * returns ERR_OK, or ERR_FATAL with the reason in e to stop the half
	 * (logged and recorded by stopped, not by the turn); with
	 * HALF_TURN_ONCE the last turn returns what the run exits with. */
	enum err_status (*turn)(void *h, struct half_turn *t, struct err *e);
	/* The loop ended on the stop flag (a stop or a reload): the last
	 * saves (health, the forward window given back).  May be NULL. */
	void (*settle)(void *h);
	/* The counters since open, in the order --json prints them; h NULL:
	 * the same names, all zero. */
	void (*counters)(void *h, struct half_counters *out);
	/* A turn returned ERR_FATAL (e its reason): half_loop calls this
	 * once, before it returns, to log the alert line and record the stop
	 * for `scfgate status`.  May be NULL. */
	void (*stopped)(void *h, const struct err *e);
	/* The poll interval a configuration gives: the time between passes,
	 * and the "reloaded" line. */
	unsigned (*poll_seconds)(const struct cfg *c);
};

/* The loop of an open half h (see the top): with once, the turns of the
 * run (HALF_TURN_PASS | HALF_TURN_ONCE, then HALF_TURN_ONCE while the
 * half asks for more, at once or after a nap) and the last one's
 * status; else turns until *stop (may be NULL: never), then ops->settle
 * and ERR_OK, or the first turn that returned ERR_FATAL (ops->stopped
 * called first).  c is the configuration h was opened
 * with (its poll interval spaces the passes).  half_serve runs it; a
 * test or a bench may run it on a half it opened. */
enum err_status half_loop(const struct half_ops *ops, void *h, const struct cfg *c, int once,
                          volatile sig_atomic_t *stop, struct err *e);

struct half_run {
	/* in */
	const struct half_ops *ops;
	const char *config; /* path, re-read on SIGHUP */
	struct cfg *c;      /* loaded and checked for ops->half; owned from here */
	const void *opts;   /* the half's options, or NULL */
	int once;
	int log_json;
	/* out */
	int opened;                 /* the half opened at least once */
	int have_last;              /* last holds the counters of the half at the end */
	struct half_counters last;  /* of the half open at the end (for --json) */
	struct half_counters total; /* over the whole run, reloads included */
};

/* Run the half as `scfgate scf` / `scfgate oms` do (see the top): ERR_OK
 * when it ended by a stop (or, once, after its pass); else the status
 * and e of what ended it (a temporary error met while stopping is
 * ERR_OK: the next run repeats the work).  The start and reload lines
 * are logged and systemd told (notify.h); r->c is freed before it
 * returns.  The log must be open (log_open) and the signals installed
 * (sigs_install). */
enum err_status half_serve(struct half_run *r, struct err *e);

/* The stop line: "event=stop half=NAME exit=RC" and the run's totals of
 * the counters that have a stop name. */
void half_log_stop(const struct half_run *r, int rc);

#endif
