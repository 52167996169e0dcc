/*
 * test_half.c: what the two halves share (half.h): the jittered back-off
 * and its per-process seed, the set-up steps, and the process loop with
 * its counters fetched after the run.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "example_cfg.h"
#include "half.h"
#include "log.h"
#include "sigs.h"
#include "when.h"

static char *tmp_dir(void)
{
	char tmpl[] = "/tmp/test_half.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- back-off ---- */

static void backoff_in_bounds(void **unused)
{
	struct half_jitter j;

	(void)unused;
	half_jitter_seed(&j);
	for (unsigned n = 0; n < 24; n++)
		for (int k = 0; k < 50; k++) {
			uint64_t d = (uint64_t)1000 << (n < 16 ? n : 16);
			uint64_t w = half_backoff_ms(&j, 1000, 300000, n);

			if (d > 300000)
				d = 300000;
			assert_true(w >= d / 2);
			assert_true(w <= d);
		}
	/* a base of 1 ms stays within [0, 1]; no division by zero */
	assert_true(half_backoff_ms(&j, 1, 1, 0) <= 1);
}

static void backoff_spreads(void **unused)
{
	struct half_jitter j;
	uint64_t lo = UINT64_MAX, hi = 0;

	(void)unused;
	half_jitter_seed(&j);
	for (int k = 0; k < 200; k++) {
		uint64_t w = half_backoff_ms(&j, 1000, 300000, 4); /* [8000, 16000] */

		lo = w < lo ? w : lo;
		hi = w > hi ? w : hi;
	}
	/* records that failed together do not retry together */
	assert_true(hi - lo > 4000);
}

/* Eight back-offs drawn by a fresh process. */
static void draw_in_child(int fd)
{
	struct half_jitter j;
	uint64_t w[8];

	half_jitter_seed(&j);
	for (int k = 0; k < 8; k++)
		w[k] = half_backoff_ms(&j, 1000, 300000, 6);
	if (write(fd, w, sizeof(w)) != (ssize_t)sizeof(w))
		_exit(1);
	_exit(0);
}

static void backoff_differs_between_processes(void **unused)
{
	uint64_t w[2][8];

	(void)unused;
	for (int p = 0; p < 2; p++) {
		int fds[2], status;
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			draw_in_child(fds[1]);
		}
		close(fds[1]);
		assert_int_equal(read(fds[0], w[p], sizeof(w[p])), (ssize_t)sizeof(w[p]));
		close(fds[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* an unseeded generator gives every process the same spread */
	assert_memory_not_equal(w[0], w[1], sizeof(w[0]));
}

/* ---- set-up ---- */

static void state_dir_made(void **unused)
{
	struct cfg *c = example_cfg_load(CFG_HALF_OMS);
	char *root = tmp_dir(), dir[SPOOL_PATH_MAX], want[SPOOL_PATH_MAX];
	struct stat sb;
	struct err e;

	(void)unused;
	umask(022);
	free(c->spool.root);
	c->spool.root = strdup(root);
	err_clear(&e);
	assert_int_equal(half_state_dir(c, "oms", dir, &e), ERR_OK);
	snprintf(want, sizeof(want), "%s/state/oms", root);
	assert_string_equal(dir, want);
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0750);
	/* again: already there is fine */
	assert_int_equal(half_state_dir(c, "oms", dir, &e), ERR_OK);
	/* a link planted as state/oms is never followed */
	{
		char moved[SPOOL_PATH_MAX + 8], rootlink[SPOOL_PATH_MAX + 8];

		snprintf(moved, sizeof(moved), "%s.real", dir);
		assert_int_equal(rename(dir, moved), 0);
		assert_int_equal(symlink(moved, dir), 0);
		err_clear(&e);
		assert_int_equal(half_state_dir(c, "oms", dir, &e), ERR_FATAL);
		assert_non_null(strstr(e.msg, "state/oms: a symbolic link where the half keeps its "
		                              "state (never followed): remove it"));
		assert_int_equal(unlink(dir), 0);
		assert_int_equal(rename(moved, dir), 0);
		/* the root itself may be reached through a link */
		snprintf(rootlink, sizeof(rootlink), "%s.link", root);
		assert_int_equal(symlink(root, rootlink), 0);
		free(c->spool.root);
		c->spool.root = strdup(rootlink);
		assert_int_equal(half_state_dir(c, "oms", dir, &e), ERR_OK);
		assert_int_equal(unlink(rootlink), 0);
	}
	/* a root too long is a configuration to fix */
	free(c->spool.root);
	c->spool.root = malloc(SPOOL_PATH_MAX);
	memset(c->spool.root, 'a', SPOOL_PATH_MAX - 1);
	c->spool.root[SPOOL_PATH_MAX - 1] = '\0';
	assert_int_equal(half_state_dir(c, "oms", dir, &e), ERR_FATAL);
	cfg_free(c);
	rm_rf(root);
	free(root);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static void secret_into_config(void **unused)
{
	char *dir = tmp_dir(), path[512];
	struct half_secret s;
	struct http_config hc;
	struct err e;

	(void)unused;
	snprintf(path, sizeof(path), "%s/cred", dir);
	write_file(path, "gate:s3cret\n");
	http_config_init(&hc);
	hc.auth = HTTP_AUTH_BASIC;
	err_clear(&e);
	assert_int_equal(half_secret_load(&s, path, &hc, &e), ERR_OK);
	assert_string_equal(hc.username, "gate");
	assert_string_equal(hc.password, "s3cret");
	half_secret_wipe(&s);

	http_config_init(&hc);
	hc.auth = HTTP_AUTH_BEARER;
	write_file(path, "tok-123\n");
	assert_int_equal(half_secret_load(&s, path, &hc, &e), ERR_OK);
	assert_string_equal(hc.token, "tok-123");
	assert_null(hc.username);
	half_secret_wipe(&s);

	/* basic auth needs user:password */
	http_config_init(&hc);
	hc.auth = HTTP_AUTH_CG_SESSION;
	assert_int_equal(half_secret_load(&s, path, &hc, &e), ERR_FATAL);
	half_secret_wipe(&s);
	rm_rf(dir);
	free(dir);
}

static void missing_key_is_fatal(void **unused)
{
	struct cfg *c = example_cfg_load(CFG_HALF_OMS);
	struct sig_key *priv = (struct sig_key *)1, *peer = (struct sig_key *)1;
	struct err e;

	(void)unused;
	free(c->spool.private_key);
	c->spool.private_key = strdup("/nonexistent/oms.key");
	err_clear(&e);
	/* both halves: a key a person must put in place, not a retry */
	assert_int_equal(half_keys_load(c, &priv, &peer, &e), ERR_FATAL);
	assert_null(priv);
	assert_null(peer);
	cfg_free(c);
}

/* ---- last success and fatal stop ---- */

static void status_note_and_read(void **unused)
{
	char *dir = tmp_dir();
	struct half_status hs;
	struct err fatal;
	int64_t at;

	(void)unused;
	half_status_read(dir, "scf", &hs);
	assert_false(hs.present);
	assert_int_equal(hs.last_ok, 0);

	err_set(&fatal, ERR_FATAL, "ALERT: HTTP 401 from SeeClickFix");
	half_status_note(dir, "scf", 1000, &fatal);
	half_status_read(dir, "scf", &hs);
	assert_true(hs.present);
	assert_int_equal(hs.last_ok, 1000);
	assert_true(hs.alert_at > 0);
	at = hs.alert_at;
	assert_string_equal(hs.alert, "ALERT: HTTP 401 from SeeClickFix");
	/* another half's file is not this one's */
	half_status_read(dir, "oms", &hs);
	assert_false(hs.present);

	/* a pass that worked clears the stop and keeps the later success */
	half_status_note(dir, "scf", 500, NULL);
	half_status_read(dir, "scf", &hs);
	assert_true(hs.present);
	assert_int_equal(hs.last_ok, 1000);
	assert_int_equal(hs.alert_at, 0);
	assert_string_equal(hs.alert, "");
	half_status_note(dir, "scf", 2000, NULL);
	half_status_read(dir, "scf", &hs);
	assert_int_equal(hs.last_ok, 2000);
	assert_true(at > 0);

	/* Newer generations planted as a FIFO and as a link to a file that
	 * claims more are passed over, never opened: the read neither blocks
	 * (alarm) nor believes the link. */
	{
		char fifo[1024], link[1024], target[1024];
		FILE *f;

		snprintf(fifo, sizeof(fifo), "%s/status.%020d", dir, 998);
		snprintf(link, sizeof(link), "%s/status.%020d", dir, 999);
		snprintf(target, sizeof(target), "%s/elsewhere", dir);
		assert_int_equal(mkfifo(fifo, 0600), 0);
		f = fopen(target, "w");
		assert_non_null(f);
		fprintf(f, "scfgate-scf-status 1\nlast_ok 9999\nend\n");
		fclose(f);
		assert_int_equal(symlink(target, link), 0);
		alarm(5);
		half_status_read(dir, "scf", &hs);
		alarm(0);
		assert_true(hs.present);
		assert_int_equal(hs.last_ok, 2000);
		/* the newest stranger is named for status */
		assert_non_null(strstr(hs.stranger, link));
		assert_non_null(strstr(hs.stranger, "a symbolic link, not a regular file"));
	}
	rm_rf(dir);
	free(dir);
}

/* A status file whose number does not read whole is damaged and passed
 * over for an older one (sscanf read "12x" as 12 and an overflow as
 * INT64_MAX). */
static void status_damaged_number(void **unused)
{
	static const char *const damaged[] = {
	    "scfgate-scf-status 1\nlast_ok 12x\nend\n",
	    "scfgate-scf-status 1\nlast_ok 99999999999999999999\nend\n",
	    "scfgate-scf-status 1\nlast_ok +12\nend\n",
	    "scfgate-scf-status 1\nlast_ok 12\nalert 7x boom\nend\n",
	    "scfgate-scf-status 1\nlast_ok 12\nalert 99999999999999999999 boom\nend\n",
	};
	char *dir = tmp_dir();
	char path[1024];
	struct half_status hs;
	struct err fatal;

	(void)unused;
	err_set(&fatal, ERR_FATAL, "ALERT: HTTP 401 from SeeClickFix");
	half_status_note(dir, "scf", 1000, &fatal);
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		snprintf(path, sizeof(path), "%s/status.%020d", dir, 900);
		write_file(path, damaged[i]);
		half_status_read(dir, "scf", &hs);
		assert_true(hs.present);
		assert_int_equal(hs.last_ok, 1000);
		assert_string_equal(hs.alert, "ALERT: HTTP 401 from SeeClickFix");
	}
	/* the same file with whole numbers is the newest status */
	write_file(path, "scfgate-scf-status 1\nlast_ok 12\nalert 7 boom\nend\n");
	half_status_read(dir, "scf", &hs);
	assert_int_equal(hs.last_ok, 12);
	assert_int_equal(hs.alert_at, 7);
	assert_string_equal(hs.alert, "boom");
	rm_rf(dir);
	free(dir);
}

/* ---- replay selection ---- */

static struct spool_entry entry(const char *name, uint64_t seq)
{
	struct spool_entry en;

	memset(&en, 0, sizeof(en));
	snprintf(en.name, sizeof(en.name), "%s", name);
	en.seq = seq;
	return en;
}

static void replay_selection(void **unused)
{
	const char *const names[] = {"00000000000000000007-oms.xml"};
	struct half_replay_sel by_name = {names, 1, 0, 0}, range = {NULL, 0, 5, 9},
	                       open_end = {NULL, 0, 5, 0}, all = {NULL, 0, 0, 0};
	struct spool_entry e7 = entry("00000000000000000007-oms.xml", 7),
	                   e4 = entry("00000000000000000004-oms.xml", 4),
	                   e12 = entry("00000000000000000012-oms.xml", 12),
	                   junk = entry("notes.txt", 0);

	(void)unused;
	assert_true(half_replay_selected(&by_name, &e7));
	assert_false(half_replay_selected(&by_name, &e4)); /* names win over the range */
	assert_true(half_replay_selected(&range, &e7));
	assert_false(half_replay_selected(&range, &e4));
	assert_false(half_replay_selected(&range, &e12));
	assert_true(half_replay_selected(&open_end, &e12));
	assert_true(half_replay_selected(&all, &e4));
	assert_true(half_replay_selected(NULL, &e12));
	/* a name that is not a record's is never selected by a range */
	assert_false(half_replay_selected(&all, &junk));
	assert_false(half_replay_selected(NULL, &junk));
}

/* ---- the process loop, with a half that only counts ---- */

struct fake {
	int id; /* which opening */
	int64_t work;
};

static struct {
	int opens, frees, runs, stopped, recovers, settles;
	enum err_status open_s, run_s, recover_s;
	volatile sig_atomic_t *stop;
	struct fake *stopped_h;
	unsigned poll;         /* seconds between passes; 0: 1 */
	unsigned due[8];       /* the turns as the loop asked for them */
	uint64_t next_pass[8]; /* and when each said the next pass is due */
	int stop_at;           /* raise *stop in this turn (1-based; 0: never) */
	int fatal_at;          /* return ERR_FATAL from this turn */
	int recovered_first;   /* recover came before every turn */
	int again_until;       /* ask for another turn at once up to this one */
	int wait_until;        /* --once: ask for a nap of wait_ms up to this turn */
	uint64_t wait_ms;
	uint64_t ended_at[8]; /* CLOCK_MONOTONIC ms when each turn returned */
	int settles_at_runs;  /* turns taken when settle came */
	int pass_at;          /* raise SIGUSR1 (pass now) in this turn */
} fk;

static enum err_status fake_open(void **h, const struct cfg *c, const void *opts,
                                 volatile sig_atomic_t *stop, struct err *e)
{
	struct fake *f;

	(void)c;
	(void)opts;
	*h = NULL;
	fk.stop = stop;
	if (fk.open_s != ERR_OK)
		return err_set(e, fk.open_s, "cannot open");
	f = calloc(1, sizeof(*f));
	f->id = ++fk.opens;
	*h = f;
	return ERR_OK;
}

static void fake_free(void *h)
{
	if (h)
		fk.frees++;
	free(h);
}

static enum err_status fake_recover(void *h, struct err *e)
{
	assert_non_null(h);
	fk.recovers++;
	fk.recovered_first = fk.runs == 0;
	if (fk.recover_s != ERR_OK)
		return err_set(e, fk.recover_s, "cannot recover");
	return ERR_OK;
}

static enum err_status fake_turn(void *h, struct half_turn *t, struct err *e)
{
	struct fake *f = h;

	if ((size_t)fk.runs < sizeof(fk.due) / sizeof(fk.due[0])) {
		fk.due[fk.runs] = t->due;
		fk.next_pass[fk.runs] = t->next_pass_ms;
	}
	fk.runs++;
	f->work += 7;
	if (fk.runs == fk.stop_at)
		*fk.stop = 1;
	if (fk.runs == fk.pass_at)
		raise(SIGUSR1);
	if (fk.runs <= fk.again_until)
		t->again = 1;
	if (fk.runs <= fk.wait_until)
		t->wait_until_ms = when_mono_ms() + fk.wait_ms;
	if ((size_t)fk.runs <= sizeof(fk.ended_at) / sizeof(fk.ended_at[0]))
		fk.ended_at[fk.runs - 1] = when_mono_ms();
	if (fk.runs == fk.fatal_at)
		return err_set(e, ERR_FATAL, "turn failed");
	if (fk.run_s != ERR_OK)
		return err_set(e, fk.run_s, "run failed");
	return ERR_OK;
}

static void fake_settle(void *h)
{
	assert_non_null(h);
	fk.settles++;
	fk.settles_at_runs = fk.runs;
}

static void fake_counters(void *h, struct half_counters *k)
{
	const struct fake *f = h;

	half_count(k, "work", "work", 0, f ? f->work : 0);
	half_count(k, "level", NULL, 1, f ? 3 : 0);
}

static void fake_stopped(void *h, const struct err *e)
{
	(void)e;
	fk.stopped++;
	fk.stopped_h = h;
}

static unsigned fake_poll(const struct cfg *c)
{
	(void)c;
	return fk.poll ? fk.poll : 1;
}

static const struct half_ops fake_ops = {
    .name = "fake",
    .half = CFG_HALF_OMS,
    .open = fake_open,
    .free = fake_free,
    .recover = fake_recover,
    .turn = fake_turn,
    .settle = fake_settle,
    .counters = fake_counters,
    .stopped = fake_stopped,
    .poll_seconds = fake_poll,
};

static void serve(struct half_run *r, enum err_status *s, struct err *e)
{
	memset(r, 0, sizeof(*r));
	r->ops = &fake_ops;
	r->config = "unused.xml";
	r->c = example_cfg_load(CFG_HALF_OMS);
	r->once = 1;
	err_clear(e);
	*s = half_serve(r, e);
	/* the configuration is the loop's from the start */
	assert_null(r->c);
}

static void serve_once_counts_after_run(void **unused)
{
	struct half_run r;
	struct err e;
	enum err_status s;

	(void)unused;
	memset(&fk, 0, sizeof(fk));
	serve(&r, &s, &e);
	assert_int_equal(s, ERR_OK);
	assert_int_equal(fk.opens, 1);
	assert_int_equal(fk.runs, 1);
	assert_int_equal(fk.frees, 1);
	assert_int_equal(fk.stopped, 0);
	/* --once: one turn, a pass that is the run; recovered before it, and
	 * no settle (that is for a stop) */
	assert_int_equal(fk.due[0], HALF_TURN_PASS | HALF_TURN_ONCE);
	assert_int_equal(fk.recovers, 1);
	assert_true(fk.recovered_first);
	assert_int_equal(fk.settles, 0);
	assert_non_null(fk.stop); /* every half watches the stop flag */
	/* fetched from the half after it ran, before it was freed */
	assert_true(r.opened);
	assert_true(r.have_last);
	assert_int_equal(r.last.n, 2);
	assert_string_equal(r.last.c[0].json, "work");
	assert_int_equal(r.last.c[0].v, 7);
	assert_int_equal(r.total.c[0].v, 7);
	assert_int_equal(r.total.c[1].v, 3);
	half_log_stop(&r, 0);
}

static void serve_fatal_is_recorded(void **unused)
{
	struct half_run r;
	struct err e;
	enum err_status s;

	(void)unused;
	memset(&fk, 0, sizeof(fk));
	fk.run_s = ERR_FATAL;
	serve(&r, &s, &e);
	assert_int_equal(s, ERR_FATAL);
	assert_string_equal(e.msg, "run failed");
	/* the half was told while still open, to record the stop */
	assert_int_equal(fk.stopped, 1);
	assert_non_null(fk.stopped_h);
	assert_int_equal(fk.frees, 1);
	assert_int_equal(r.last.c[0].v, 7);

	/* a temporary failure of --once is the run's failure too */
	memset(&fk, 0, sizeof(fk));
	fk.run_s = ERR_TEMP;
	serve(&r, &s, &e);
	assert_int_equal(s, ERR_TEMP);
	assert_int_equal(fk.stopped, 0);
}

static void serve_not_opened(void **unused)
{
	struct half_run r;
	struct err e;
	enum err_status s;

	(void)unused;
	memset(&fk, 0, sizeof(fk));
	fk.open_s = ERR_FATAL;
	serve(&r, &s, &e);
	assert_int_equal(s, ERR_FATAL);
	assert_string_equal(e.msg, "cannot open");
	assert_false(r.opened);
	assert_false(r.have_last);
	assert_int_equal(fk.runs, 0);
	assert_int_equal(fk.stopped, 0);
	/* the stop line still names every counter, at zero */
	assert_int_equal(r.total.n, 2);
	assert_string_equal(r.total.c[0].stop, "work");
	assert_int_equal(r.total.c[0].v, 0);
	assert_int_equal(fk.recovers, 0);

	/* a failed recovery is a failed opening: the half is freed unrun */
	memset(&fk, 0, sizeof(fk));
	fk.recover_s = ERR_FATAL;
	serve(&r, &s, &e);
	assert_int_equal(s, ERR_FATAL);
	assert_string_equal(e.msg, "cannot recover");
	assert_false(r.opened);
	assert_int_equal(fk.opens, 1);
	assert_int_equal(fk.recovers, 1);
	assert_int_equal(fk.frees, 1);
	assert_int_equal(fk.runs, 0);
}

/*
 * The daemon's loop: a pass first, then a turn between passes every
 * second (each told when the next pass is due, poll_seconds after the
 * pass started), until the stop flag rises; then settle, and ERR_OK.
 */
static void loop_turns_until_stop(void **unused)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = {0, 0};
	struct cfg c;
	struct err e;
	uint64_t t0 = when_mono_ms(), took;

	(void)unused;
	memset(&fk, 0, sizeof(fk));
	memset(&c, 0, sizeof(c));
	fk.poll = 30;
	fk.stop = &stop;
	fk.stop_at = 3;
	err_clear(&e);
	assert_int_equal(half_loop(&fake_ops, &f, &c, 0, &stop, &e), ERR_OK);
	took = when_mono_ms() - t0;
	assert_int_equal(fk.runs, 3);
	assert_int_equal(fk.due[0], HALF_TURN_PASS);
	assert_int_equal(fk.due[1], 0);
	assert_int_equal(fk.due[2], 0);
	/* the next pass: 30 s after the first started, the same for the
	 * turns in between */
	assert_true(fk.next_pass[0] >= t0 + 30000 && fk.next_pass[0] <= t0 + 30000 + took);
	assert_true(fk.next_pass[1] == fk.next_pass[0] && fk.next_pass[2] == fk.next_pass[0]);
	/* a nap of a second between turns, not a busy loop */
	assert_true(took >= 1900);
	assert_int_equal(fk.settles, 1);
	assert_int_equal(f.work, 21);
}

/* A pass is due again poll_seconds after the previous one started; a
 * fatal turn ends the loop at once, with no settle. */
static void loop_pass_when_due_fatal_ends(void **unused)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = {0, 0};
	struct cfg c;
	struct err e;

	(void)unused;
	memset(&fk, 0, sizeof(fk));
	memset(&c, 0, sizeof(c));
	fk.poll = 1;
	fk.stop = &stop;
	fk.fatal_at = 2;
	err_clear(&e);
	assert_int_equal(half_loop(&fake_ops, &f, &c, 0, &stop, &e), ERR_FATAL);
	assert_string_equal(e.msg, "turn failed");
	assert_int_equal(fk.runs, 2);
	/* with a 1 s interval the nap reaches the next pass: no turn between */
	assert_int_equal(fk.due[0], HALF_TURN_PASS);
	assert_int_equal(fk.due[1], HALF_TURN_PASS);
	assert_true(fk.next_pass[1] >= fk.next_pass[0] + 1000);
	assert_int_equal(fk.settles, 0);
	/* the loop, not the turn, logs and records the stop: once */
	assert_int_equal(fk.stopped, 1);
	assert_ptr_equal(fk.stopped_h, &f);

	/* a stop raised before the loop: one pass (cut short by the flag in
	 * the half), then settle */
	memset(&fk, 0, sizeof(fk));
	fk.stop = &stop;
	stop = 1;
	assert_int_equal(half_loop(&fake_ops, &f, &c, 0, &stop, &e), ERR_OK);
	assert_int_equal(fk.runs, 1);
	assert_int_equal(fk.settles, 1);
}

/*
 * A turn that asks for another at once gets it without the nap, as a
 * turn between passes (due 0, --once kept); a stop waits until the half
 * no longer asks (its work in flight is answered), then settles.
 */
static void loop_again_without_nap(void **unused)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = {0, 0};
	struct cfg c;
	struct err e;
	uint64_t t0 = when_mono_ms();

	(void)unused;
	memset(&fk, 0, sizeof(fk));
	memset(&c, 0, sizeof(c));
	fk.poll = 30;
	fk.stop = &stop;
	fk.again_until = 4;
	fk.stop_at = 2;
	err_clear(&e);
	assert_int_equal(half_loop(&fake_ops, &f, &c, 0, &stop, &e), ERR_OK);
	assert_int_equal(fk.runs, 5);
	assert_int_equal(fk.due[0], HALF_TURN_PASS);
	for (int i = 1; i < 5; i++)
		assert_int_equal(fk.due[i], 0);
	assert_true(when_mono_ms() - t0 < 900); /* no nap in between */
	assert_int_equal(fk.settles, 1);
	assert_int_equal(fk.settles_at_runs, 5);

	/* with --once the turns asked for stay --once turns */
	memset(&fk, 0, sizeof(fk));
	stop = 0;
	fk.stop = &stop;
	fk.again_until = 2;
	assert_int_equal(half_loop(&fake_ops, &f, &c, 1, &stop, &e), ERR_OK);
	assert_int_equal(fk.runs, 3);
	assert_int_equal(fk.due[0], HALF_TURN_PASS | HALF_TURN_ONCE);
	assert_int_equal(fk.due[1], HALF_TURN_ONCE);
	assert_int_equal(fk.due[2], HALF_TURN_ONCE);
	assert_int_equal(fk.settles, 0);
}

/*
 * --once: a turn that has nothing to do before a time (a record's
 * back-off) says so and returns; the loop naps until then and calls it
 * again, as a --once turn; the run ends with the first turn that asks
 * for nothing more.  A wait asked for in a daemon is not --once's.
 */
static void loop_once_naps_until_asked(void **unused)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = {0, 0};
	struct cfg c;
	struct err e;

	(void)unused;
	memset(&fk, 0, sizeof(fk));
	memset(&c, 0, sizeof(c));
	fk.stop = &stop;
	fk.wait_until = 2;
	fk.wait_ms = 300;
	err_clear(&e);
	assert_int_equal(half_loop(&fake_ops, &f, &c, 1, &stop, &e), ERR_OK);
	assert_int_equal(fk.runs, 3);
	assert_int_equal(fk.due[0], HALF_TURN_PASS | HALF_TURN_ONCE);
	assert_int_equal(fk.due[1], HALF_TURN_ONCE);
	assert_int_equal(fk.due[2], HALF_TURN_ONCE);
	/* each turn came after the nap it asked for, not at once */
	assert_true(fk.ended_at[1] - fk.ended_at[0] >= 300);
	assert_true(fk.ended_at[2] - fk.ended_at[1] >= 300);
	assert_int_equal(fk.settles, 0);
	assert_int_equal(fk.stopped, 0);

	/* a --once turn that fails after a nap: its status is the run's */
	memset(&fk, 0, sizeof(fk));
	fk.stop = &stop;
	fk.wait_until = 1;
	fk.wait_ms = 50;
	fk.fatal_at = 2;
	assert_int_equal(half_loop(&fake_ops, &f, &c, 1, &stop, &e), ERR_FATAL);
	assert_int_equal(fk.runs, 2);
	assert_int_equal(fk.stopped, 1);
}

static volatile sig_atomic_t alarm_stop;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_stop = 1;
}

/*
 * A stop during a --once nap ends it at once (not when the back-off
 * would have ended): the half gets one more turn to end its work, and a
 * wait it asks for then is not waited for.
 */
static void loop_once_stop_ends_nap(void **unused)
{
	struct sigaction sa, old;
	struct itimerval it;
	struct fake f = {0, 0};
	struct cfg c;
	struct err e;
	uint64_t t0, took;

	(void)unused;
	memset(&fk, 0, sizeof(fk));
	memset(&c, 0, sizeof(c));
	memset(&sa, 0, sizeof(sa));
	memset(&it, 0, sizeof(it));
	sa.sa_handler = on_alarm;
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarm_stop = 0;
	fk.stop = &alarm_stop;
	fk.wait_until = 100; /* every turn asks for a long nap */
	fk.wait_ms = 20000;
	it.it_value.tv_usec = 300000;
	err_clear(&e);
	t0 = when_mono_ms();
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(half_loop(&fake_ops, &f, &c, 1, &alarm_stop, &e), ERR_OK);
	took = when_mono_ms() - t0;
	memset(&it, 0, sizeof(it)); /* a timer not fired yet must not outlive the handler */
	setitimer(ITIMER_REAL, &it, NULL);
	sigaction(SIGALRM, &old, NULL);
	assert_true(alarm_stop);
	assert_true(took >= 250 && took < 2000);
	assert_int_equal(fk.runs, 2);
	assert_int_equal(fk.due[1], HALF_TURN_ONCE);
	assert_int_equal(fk.settles, 0);
}

/*
 * SIGUSR1 asks a daemon for a pass now: one that comes during a turn
 * makes the next turn a pass without the nap; one that comes during the
 * nap ends it.  Both with a poll interval of an hour.
 */
static void loop_pass_now(void **unused)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = {0, 0};
	struct cfg c;
	struct err e;
	uint64_t t0 = when_mono_ms(), took;
	pid_t kid;
	int st;

	(void)unused;
	sigs_install(1);
	memset(&fk, 0, sizeof(fk));
	memset(&c, 0, sizeof(c));
	fk.poll = 3600;
	fk.stop = &stop;
	fk.pass_at = 2; /* in the turn between passes, after a nap */
	fk.stop_at = 3;
	err_clear(&e);
	assert_int_equal(half_loop(&fake_ops, &f, &c, 0, &stop, &e), ERR_OK);
	took = when_mono_ms() - t0;
	assert_int_equal(fk.runs, 3);
	assert_int_equal(fk.due[0], HALF_TURN_PASS);
	assert_int_equal(fk.due[1], 0);
	assert_int_equal(fk.due[2], HALF_TURN_PASS);
	/* one nap (before turn 2), none before the pass asked for */
	assert_true(took >= 900 && took < 1900);
	assert_true(fk.next_pass[2] >= fk.next_pass[0] + 900);
	assert_int_equal(sigs_pass_take(), 0); /* taken by the loop */

	/* from outside, 300 ms into the nap after the first pass */
	memset(&fk, 0, sizeof(fk));
	stop = 0;
	fk.poll = 3600;
	fk.stop = &stop;
	fk.stop_at = 2;
	kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		struct timespec ts = {0, 300 * 1000000L};

		nanosleep(&ts, NULL);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	t0 = when_mono_ms();
	assert_int_equal(half_loop(&fake_ops, &f, &c, 0, &stop, &e), ERR_OK);
	took = when_mono_ms() - t0;
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_int_equal(fk.runs, 2);
	assert_int_equal(fk.due[1], HALF_TURN_PASS);
	assert_true(took >= 250 && took < 900);

	/* --once: ignored, the process goes on and nothing is pending */
	sigs_install(0);
	raise(SIGUSR1);
	assert_int_equal(sigs_pass_take(), 0);
	memset(&fk, 0, sizeof(fk));
	fk.stop = &stop;
	fk.pass_at = 1;
	assert_int_equal(half_loop(&fake_ops, &f, &c, 1, &stop, &e), ERR_OK);
	assert_int_equal(fk.runs, 1);
	assert_int_equal(sigs_pass_take(), 0);
	signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(backoff_in_bounds),
	    cmocka_unit_test(backoff_spreads),
	    cmocka_unit_test(backoff_differs_between_processes),
	    cmocka_unit_test(state_dir_made),
	    cmocka_unit_test(secret_into_config),
	    cmocka_unit_test(missing_key_is_fatal),
	    cmocka_unit_test(status_note_and_read),
	    cmocka_unit_test(status_damaged_number),
	    cmocka_unit_test(replay_selection),
	    cmocka_unit_test(serve_once_counts_after_run),
	    cmocka_unit_test(serve_fatal_is_recorded),
	    cmocka_unit_test(serve_not_opened),
	    cmocka_unit_test(loop_turns_until_stop),
	    cmocka_unit_test(loop_pass_when_due_fatal_ends),
	    cmocka_unit_test(loop_again_without_nap),
	    cmocka_unit_test(loop_once_naps_until_asked),
	    cmocka_unit_test(loop_once_stop_ends_nap),
	    cmocka_unit_test(loop_pass_now),
	};

	log_open("test_half", LOGL_WARN, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
