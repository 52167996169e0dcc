/*
 * test_scf_coverage.c: no report left behind, at no extra cost, against a
 * real scf-sim process: an idle pass after a bulk change costs one call;
 * `scfgate scf resync` by request type, issue and date sends every
 * selected never-sent issue exactly once (an oracle from the simulator's
 * state), and a repeat sends nothing; a request type added to the
 * configuration is resynchronised at the next start; the reopen policy
 * (ignore) treats an issue reopened after its request was closed and one
 * first seen Closed alike; and every skipped comment has a log line.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "log.h"
#include "scf.h"
#include "test_scf_util.h"
#include "unconst.h"

/* ---- captured log lines ---- */

static struct buf logbuf;

static void capture(void *ctx, enum log_level l, const char *line)
{
	(void)ctx;
	(void)l;
	buf_adds(&logbuf, line);
	buf_adds(&logbuf, "\n");
}

static int log_has(const char *needle)
{
	return strstr(buf_str(&logbuf), needle) != NULL;
}

static int setup(void **u)
{
	(void)u;
	buf_init(&logbuf, 0);
	log_set_sink(capture, NULL);
	return 0;
}

static int teardown(void **u)
{
	(void)u;
	log_set_sink(NULL, NULL);
	buf_release(&logbuf);
	return 0;
}

struct run {
	enum err_status st;
	struct err e;
	struct scf_stats s;
	struct http_stats h;
};

/* One `scf --once` through the library. */
static void run_once(const struct tenv *t, struct run *r)
{
	struct cfg *c = NULL;
	struct scf_half *h = NULL;

	memset(r, 0, sizeof(*r));
	if (cfg_load_file(t->config, &c, &r->e) != ERR_OK)
		fail_msg("%s", r->e.msg);
	r->st = scf_open(&h, c, NULL, &r->e);
	if (r->st == ERR_OK) {
		r->st = scf_run(h, 1, &r->e);
		scf_stats_get(h, &r->s);
		scf_http_stats(h, &r->h);
	}
	scf_free(h);
	cfg_free(c);
	if (r->st != ERR_OK)
		fail_msg("pass failed: %s", r->e.msg);
}

static void advance(const struct tsim *s, int seconds)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"advance_seconds\":%d}", seconds);
	cJSON_Delete(tsim_call(s, "POST", "/_admin/clock", body, NULL));
}

static int64_t sim_now(const struct tsim *s)
{
	cJSON *j = tsim_call(s, "POST", "/_admin/clock", "{\"advance_seconds\":0}", NULL);
	int64_t now = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "now_epoch"));

	cJSON_Delete(j);
	return now;
}

/* Drop (or restore) the mapping of request type 9102 in the test
 * configuration, as an operator editing the file would. */
static void map_9102(const struct tenv *t, int on)
{
	static const char line[] =
	    "    <requestType id=\"9102\" title=\"Graffiti\" remoteId=\"Graffiti\"/>\n";
	struct buf b;
	char *at;
	FILE *f;

	buf_init(&b, 0);
	assert_int_equal(buf_read_file(&b, t->config, NULL), ERR_OK);
	at = strstr(buf_str(&b), line);
	f = fopen(t->config, "w");
	assert_non_null(f);
	if (on && !at) {
		at = strstr(buf_str(&b), "  </requestTypes>");
		assert_non_null(at);
		fwrite(b.data, 1, (size_t)(at - b.data), f);
		fputs(line, f);
		fputs(at, f);
	} else if (!on && at) {
		fwrite(b.data, 1, (size_t)(at - b.data), f);
		fputs(at + strlen(line), f);
	} else {
		fwrite(b.data, 1, b.len, f);
	}
	fclose(f);
	buf_release(&b);
}

static int64_t add_issue(const struct tsim *s, int type)
{
	char body[64];
	int64_t id;

	snprintf(body, sizeof(body), "{\"request_type_id\":%d}", type);
	id = tsim_add_issue(s, body);
	assert_true(id > 0);
	return id;
}

static int sent(const cJSON *keys, int64_t id)
{
	char k[64];

	snprintf(k, sizeof(k), "issue/%" PRId64, id);
	return tkeys_count(keys, k);
}

/* Run scfgate with args; stdout into out (may be NULL); the exit status. */
static int scfgate(const char *out, const char *const args[])
{
	const char *bin = getenv("SCFGATE_BIN");
	const char *argv[32];
	int n = 0, st;
	pid_t pid;

	argv[n++] = bin;
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_WRONLY);

		dup2(fo, 1);
		dup2(null, 2);
		execv(bin, UNCONST(argv));
		_exit(127);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* `scfgate scf resync --json` with the selector args; the parsed result. */
static cJSON *resync(const struct tenv *t, const char *const sel[], int *rc)
{
	const char *args[32] = {"scf", "resync", "--config", t->config, "--json"};
	char out[400];
	struct buf b;
	cJSON *j;
	int n = 5;

	for (int i = 0; sel[i]; i++)
		args[n++] = sel[i];
	args[n] = NULL;
	snprintf(out, sizeof(out), "%s/resync.out", t->dir);
	*rc = scfgate(out, args);
	buf_init(&b, 0);
	buf_read_file(&b, out, NULL);
	j = cJSON_Parse(buf_str(&b));
	buf_release(&b);
	return j;
}

static int num(const cJSON *j, const char *name)
{
	return (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, name));
}

/* ---- idle costs one call ---- */

static void idle_after_bulk_change(void **u)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;
	int64_t ids[60];

	(void)u;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	for (int i = 0; i < 60; i++)
		ids[i] = add_issue(&s, 9101);
	run_once(&t, &r);
	assert_int_equal((int)r.s.issue_records, 60);
	advance(&s, 600);
	/* A bulk change: every issue gets a comment in the same minute. */
	for (int i = 0; i < 60; i++)
		assert_int_equal(tsim_add_comment(&s, ids[i],
		                                  "{\"comment\":\"bulk\",\"kind\":"
		                                  "\"resident\"}"),
		                 0);
	run_once(&t, &r);
	assert_int_equal((int)r.s.comment_records, 60);
	assert_int_equal((int)r.s.pages, 3);
	/* Idle from here on.  The first idle pass may still re-read the
	 * margin; the second costs one call, and so does every later one. */
	advance(&s, 600);
	run_once(&t, &r);
	assert_int_equal((int)(r.s.issue_records + r.s.comment_records + r.s.attachment_records),
	                 0);
	advance(&s, 600);
	run_once(&t, &r);
	assert_int_equal((int)r.s.pages, 1);
	assert_int_equal((int)r.h.requests, 1);
	assert_int_equal((int)r.s.issues_seen, 0);
	advance(&s, 600);
	run_once(&t, &r);
	assert_int_equal((int)r.h.requests, 1);

	/* A change inside the margin after an idle pass is still read. */
	assert_int_equal(
	    tsim_add_comment(&s, ids[7], "{\"comment\":\"late\",\"kind\":\"resident\"}"), 0);
	run_once(&t, &r);
	assert_int_equal((int)r.s.comment_records, 1);
	run_once(&t, &r);
	assert_int_equal((int)r.s.comment_records, 0);
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- resync ---- */

struct world {
	struct tsim s;
	struct tenv t;
	int64_t a[4];     /* 9101 Open: sent by the pass */
	int64_t g[5];     /* 9102 Open: never sent (unmapped at the time) */
	int64_t k[2];     /* 9102 Acknowledged */
	int64_t late[3];  /* 9102 Open, created two days later */
	int64_t closed_g; /* 9102 Closed */
};

/* 9102 unmapped during the first passes, then mapped again without a
 * start of the half (the test drives resync alone). */
static void world_init(struct world *w)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct run r;

	assert_int_equal(tsim_start(&w->s, args), 0);
	assert_int_equal(tenv_init(&w->t, &w->s, NULL), 0);
	map_9102(&w->t, 0);
	for (int i = 0; i < 4; i++)
		w->a[i] = add_issue(&w->s, 9101);
	for (int i = 0; i < 5; i++)
		w->g[i] = add_issue(&w->s, 9102);
	for (int i = 0; i < 2; i++) {
		w->k[i] = add_issue(&w->s, 9102);
		assert_int_equal(tsim_set_status(&w->s, w->k[i], "acknowledged"), 0);
	}
	w->closed_g = add_issue(&w->s, 9102);
	assert_int_equal(tsim_set_status(&w->s, w->closed_g, "closed"), 0);
	run_once(&w->t, &r);
	assert_int_equal((int)r.s.issue_records, 4);
	advance(&w->s, 2 * 86400);
	for (int i = 0; i < 3; i++)
		w->late[i] = add_issue(&w->s, 9102);
	run_once(&w->t, &r);
	assert_int_equal((int)r.s.issue_records, 0);
	advance(&w->s, 600);
	map_9102(&w->t, 1);
}

static void world_free(struct world *w)
{
	tenv_free(&w->t);
	tsim_stop(&w->s);
}

/* Every outbound issue record exactly once, and exactly these. */
static void oracle(const struct world *w, int g, int k, int late)
{
	cJSON *keys = tenv_outbound_keys(&w->t);

	assert_true(tkeys_all_once(keys));
	for (int i = 0; i < 4; i++)
		assert_int_equal(sent(keys, w->a[i]), 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sent(keys, w->g[i]), g);
	for (int i = 0; i < 2; i++)
		assert_int_equal(sent(keys, w->k[i]), k);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sent(keys, w->late[i]), late);
	assert_int_equal(sent(keys, w->closed_g), 0);
	assert_int_equal(tkeys_count(keys, "_n_issue"), 4 + 5 * g + 2 * k + 3 * late);
	cJSON_Delete(keys);
}

static void resync_by_request_type(void **u)
{
	const char *type[] = {"--request-type", "9102", NULL};
	const char *type_ack[] = {"--request-type", "9102", "--acknowledged", NULL};
	const char *unmapped[] = {"--request-type", "9105", NULL};
	struct world w;
	cJSON *j;
	int rc;

	(void)u;
	world_init(&w);
	oracle(&w, 0, 0, 0);
	j = resync(&w.t, type, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(j);
	assert_int_equal(num(j, "selected"), 8);
	assert_int_equal(num(j, "sent"), 8);
	cJSON_Delete(j);
	oracle(&w, 1, 0, 1);
	j = resync(&w.t, type, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(num(j, "sent"), 0);
	assert_int_equal(num(j, "already"), 8);
	cJSON_Delete(j);
	oracle(&w, 1, 0, 1);
	j = resync(&w.t, type_ack, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(num(j, "selected"), 10);
	assert_int_equal(num(j, "sent"), 2);
	cJSON_Delete(j);
	oracle(&w, 1, 1, 1);
	j = resync(&w.t, type_ack, &rc);
	assert_int_equal(num(j, "sent"), 0);
	cJSON_Delete(j);
	oracle(&w, 1, 1, 1);
	/* A type the configuration does not map is refused: nothing to send. */
	j = resync(&w.t, unmapped, &rc);
	assert_int_equal(rc, 2);
	cJSON_Delete(j);
	world_free(&w);
}

static void resync_by_issue(void **u)
{
	char g0[32], g3[32], k0[32], a0[32], none[32];
	const char *sel[] = {"--issue", g0, g3, k0, a0, none, NULL};
	const char *sel_ack[] = {"--issue", g0, g3, k0, a0, "--acknowledged", NULL};
	struct world w;
	cJSON *keys, *j;
	int rc;

	(void)u;
	world_init(&w);
	snprintf(g0, sizeof(g0), "%" PRId64, w.g[0]);
	snprintf(g3, sizeof(g3), "%" PRId64, w.g[3]);
	snprintf(k0, sizeof(k0), "%" PRId64, w.k[0]);
	snprintf(a0, sizeof(a0), "%" PRId64, w.a[0]);
	snprintf(none, sizeof(none), "%d", 99999999);
	j = resync(&w.t, sel, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(j);
	assert_int_equal(num(j, "selected"), 4);
	assert_int_equal(num(j, "sent"), 2);
	assert_int_equal(num(j, "already"), 1);
	assert_int_equal(num(j, "skipped"), 1); /* Acknowledged without the flag */
	assert_int_equal(num(j, "missing"), 1);
	cJSON_Delete(j);
	keys = tenv_outbound_keys(&w.t);
	assert_true(tkeys_all_once(keys));
	assert_int_equal(sent(keys, w.g[0]), 1);
	assert_int_equal(sent(keys, w.g[3]), 1);
	assert_int_equal(sent(keys, w.g[1]), 0);
	assert_int_equal(sent(keys, w.k[0]), 0);
	assert_int_equal(tkeys_count(keys, "_n_issue"), 6);
	cJSON_Delete(keys);
	j = resync(&w.t, sel_ack, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(num(j, "sent"), 1);
	cJSON_Delete(j);
	j = resync(&w.t, sel_ack, &rc);
	assert_int_equal(num(j, "sent"), 0);
	cJSON_Delete(j);
	keys = tenv_outbound_keys(&w.t);
	assert_true(tkeys_all_once(keys));
	assert_int_equal(sent(keys, w.k[0]), 1);
	assert_int_equal(tkeys_count(keys, "_n_issue"), 7);
	cJSON_Delete(keys);
	world_free(&w);
}

static void resync_since(void **u)
{
	char since[32];
	const char *sel[] = {"--since", since, NULL};
	struct world w;
	cJSON *j;
	int rc;

	(void)u;
	world_init(&w);
	/* A day after the first issues, a day before the late ones. */
	scf_time_format(sim_now(&w.s) - 86400, since);
	j = resync(&w.t, sel, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(j);
	assert_int_equal(num(j, "sent"), 3);
	cJSON_Delete(j);
	oracle(&w, 0, 0, 1);
	j = resync(&w.t, sel, &rc);
	assert_int_equal(num(j, "sent"), 0);
	cJSON_Delete(j);
	oracle(&w, 0, 0, 1);
	/* The date alone (UTC midnight) three days back selects them all. */
	scf_time_format(sim_now(&w.s) - (time_t)3 * 86400, since);
	since[10] = '\0';
	j = resync(&w.t, sel, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(num(j, "sent"), 5);
	cJSON_Delete(j);
	oracle(&w, 1, 0, 1);
	world_free(&w);
}

/* The half's locks: resync refuses while the daemon runs. */
static void resync_refused_while_running(void **u)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	const char *sel[] = {"--request-type", "9101", NULL};
	const char *bin = getenv("SCFGATE_BIN");
	struct tsim s;
	struct tenv t;
	cJSON *j;
	pid_t pid;
	int rc, st;

	(void)u;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(bin, bin, "scf", "--config", t.config, (char *)NULL);
		_exit(127);
	}
	/* Wait until the daemon holds its locks (it has created its state). */
	{
		char dir[400];

		snprintf(dir, sizeof(dir), "%s/state/scf/tmp", t.root);
		for (int i = 0; i < 250 && access(dir, F_OK) != 0; i++)
			usleep(20000);
		usleep(300000);
	}
	j = resync(&t, sel, &rc);
	assert_int_equal(rc, 1);
	cJSON_Delete(j);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	j = resync(&t, sel, &rc);
	assert_int_equal(rc, 0);
	cJSON_Delete(j);
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- a request type added to the configuration ---- */

static void added_type_resynced_at_start(void **u)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;
	int64_t old[3], cur;
	cJSON *keys;

	(void)u;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	map_9102(&t, 0);
	add_issue(&s, 9101);
	for (int i = 0; i < 3; i++)
		old[i] = add_issue(&s, 9102);
	run_once(&t, &r);
	assert_int_equal((int)r.s.issue_records, 1);
	assert_int_equal((int)r.s.skipped_unmapped, 3);
	advance(&s, 3600);
	run_once(&t, &r);
	advance(&s, 3600);
	run_once(&t, &r);
	assert_int_equal((int)r.s.issue_records, 0);

	/* The operator maps 9102; the next start sends its old Open issues. */
	map_9102(&t, 1);
	cur = add_issue(&s, 9102);
	buf_reset(&logbuf);
	run_once(&t, &r);
	assert_true(log_has("event=request-type-added type=9102"));
	keys = tenv_outbound_keys(&t);
	assert_true(tkeys_all_once(keys));
	for (int i = 0; i < 3; i++)
		assert_int_equal(sent(keys, old[i]), 1);
	assert_int_equal(sent(keys, cur), 1);
	assert_int_equal(tkeys_count(keys, "_n_issue"), 5);
	cJSON_Delete(keys);
	/* Remembered: the next start does not resync again. */
	buf_reset(&logbuf);
	run_once(&t, &r);
	assert_false(log_has("event=request-type-added"));
	assert_int_equal((int)r.s.issue_records, 0);
	tenv_free(&t);
	tsim_stop(&s);
}

/* ---- the reopen policy and skipped comments ---- */

static size_t reopens_in_state(const struct tenv *t)
{
	char dir[400];
	struct scf_state *st = NULL;
	struct err e;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/state/scf", t->root);
	assert_int_equal(scf_state_load(dir, &st, &e), ERR_OK);
	n = scf_state_count_prefix(st, "issue/", "R");
	scf_state_free(st);
	return n;
}

static void reopen_ignored_and_comments_logged(void **u)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	const char *status_args[] = {"status", "--config", NULL, "--json", NULL};
	char line[160], out[400];
	struct tsim s;
	struct tenv t;
	struct run r;
	struct buf b;
	int64_t a, c, q, un;
	cJSON *keys;

	(void)u;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	a = add_issue(&s, 9101);
	c = add_issue(&s, 9101);
	run_once(&t, &r);
	assert_int_equal((int)r.s.issue_records, 2);
	/* The crew closes both requests; write-back closes the issues. */
	assert_int_equal(tenv_inbound_close(&t, a, "REQ-A", 9101), 0);
	assert_int_equal(tenv_inbound_close(&t, c, "REQ-C", 9101), 0);
	run_once(&t, &r);
	assert_int_equal((int)r.s.closes_applied, 2);
	/* Created and closed between two passes: first seen Closed. */
	q = add_issue(&s, 9101);
	assert_int_equal(tsim_set_status(&s, q, "closed"), 0);
	un = add_issue(&s, 9105); /* not mapped: never sent, whatever happens */
	assert_int_equal(tsim_set_status(&s, un, "closed"), 0);
	advance(&s, 5);
	run_once(&t, &r);
	assert_int_equal((int)r.s.issue_records, 0);

	/* Staff reopen a and q; a resident comments on a, q and on the still
	 * closed c. */
	advance(&s, 5);
	assert_int_equal(tsim_set_status(&s, a, "open"), 0);
	assert_int_equal(tsim_set_status(&s, q, "open"), 0);
	assert_int_equal(tsim_set_status(&s, un, "open"), 0);
	assert_int_equal(
	    tsim_add_comment(&s, a, "{\"comment\":\"back again\",\"kind\":\"resident\"}"), 0);
	assert_int_equal(
	    tsim_add_comment(&s, q, "{\"comment\":\"still here\",\"kind\":\"resident\"}"), 0);
	assert_int_equal(
	    tsim_add_comment(&s, c, "{\"comment\":\"thank you\",\"kind\":\"resident\"}"), 0);
	buf_reset(&logbuf);
	run_once(&t, &r);
	assert_int_equal((int)(r.s.issue_records + r.s.comment_records + r.s.attachment_records),
	                 0);
	assert_int_equal((int)r.s.reopens_ignored, 2);
	snprintf(line, sizeof(line), "event=reopen-ignored issue=%" PRId64, a);
	assert_true(log_has(line));
	snprintf(line, sizeof(line), "event=reopen-ignored issue=%" PRId64, q);
	assert_true(log_has(line));
	/* Every skipped comment has its line, with the reason. */
	snprintf(line, sizeof(line), "event=comment-not-forwarded issue=%" PRId64, a);
	assert_true(log_has(line));
	snprintf(line, sizeof(line), "event=comment-not-forwarded issue=%" PRId64, q);
	assert_true(log_has(line));
	snprintf(line, sizeof(line), "event=comment-not-forwarded issue=%" PRId64, c);
	assert_true(log_has(line));
	assert_true(log_has("reopen policy ignore"));
	snprintf(line, sizeof(line), "event=reopen-ignored issue=%" PRId64, un);
	assert_false(log_has(line));
	assert_true(log_has("closed by write-back"));
	keys = tenv_outbound_keys(&t);
	assert_int_equal(sent(keys, q), 0);
	assert_int_equal(tkeys_count(keys, "_n_issue"), 2);
	assert_int_equal(tkeys_count(keys, "_n_comment"), 0);
	cJSON_Delete(keys);
	assert_int_equal((int)reopens_in_state(&t), 2);

	/* Counted in `scfgate status`. */
	status_args[2] = t.config;
	snprintf(out, sizeof(out), "%s/status.out", t.dir);
	scfgate(out, status_args);
	buf_init(&b, 0);
	buf_read_file(&b, out, NULL);
	assert_non_null(strstr(buf_str(&b), "\"reopens_ignored\":2"));
	buf_release(&b);

	/* Once: the next pass logs and counts nothing again. */
	buf_reset(&logbuf);
	run_once(&t, &r);
	assert_int_equal((int)r.s.reopens_ignored, 0);
	assert_false(log_has("event=reopen-ignored"));
	assert_false(log_has("event=comment-not-forwarded"));

	/* A resync does not override the policy either. */
	{
		char qs[32];
		const char *sel[] = {"--issue", qs, NULL};
		cJSON *j;
		int rc;

		snprintf(qs, sizeof(qs), "%" PRId64, q);
		j = resync(&t, sel, &rc);
		assert_int_equal(rc, 0);
		assert_int_equal(num(j, "sent"), 0);
		cJSON_Delete(j);
	}

	/* Closed again in SCF: consistent again, no longer counted. */
	advance(&s, 5);
	assert_int_equal(tsim_set_status(&s, a, "closed"), 0);
	run_once(&t, &r);
	assert_int_equal((int)reopens_in_state(&t), 1);
	tenv_free(&t);
	tsim_stop(&s);
}

/* Comments on issues the half never sent are not forwarded either, and
 * each such skip has its log line with the reason: an issue first seen
 * Closed (remembered: its later comments are logged one by one) and one
 * first seen Acknowledged (not remembered: logged with its comment count
 * each time it is read). */
static void never_sent_issue_comments_logged(void **u)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	char line[200];
	struct tsim s;
	struct tenv t;
	struct run r;
	int64_t first, q, k;

	(void)u;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	first = add_issue(&s, 9101);
	run_once(&t, &r); /* a watermark: later passes read every status */
	assert_int_equal((int)r.s.issue_records, 1);
	advance(&s, 5);
	q = add_issue(&s, 9101);
	assert_int_equal(
	    tsim_add_comment(&s, q, "{\"comment\":\"deep one\",\"kind\":\"resident\"}"), 0);
	assert_int_equal(tsim_set_status(&s, q, "closed"), 0);
	k = add_issue(&s, 9101);
	assert_int_equal(
	    tsim_add_comment(&s, k, "{\"comment\":\"any news?\",\"kind\":\"resident\"}"), 0);
	assert_int_equal(tsim_set_status(&s, k, "acknowledged"), 0);
	buf_reset(&logbuf);
	run_once(&t, &r);
	assert_int_equal((int)(r.s.issue_records + r.s.comment_records), 0);
	snprintf(line, sizeof(line),
	         "event=skip issue=%" PRId64 " comments=1 why=\"first seen Closed", q);
	assert_true(log_has(line));
	snprintf(line, sizeof(line),
	         "event=skip issue=%" PRId64 " comments=1 why=\"first seen Acknowledged", k);
	assert_true(log_has(line));

	/* A resident comments on the closed, never sent issue: one line,
	 * once. */
	advance(&s, 5);
	assert_int_equal(
	    tsim_add_comment(&s, q, "{\"comment\":\"still deep\",\"kind\":\"resident\"}"), 0);
	buf_reset(&logbuf);
	run_once(&t, &r);
	assert_int_equal((int)(r.s.issue_records + r.s.comment_records), 0);
	snprintf(line, sizeof(line), "event=comment-not-forwarded issue=%" PRId64, q);
	assert_true(log_has(line));
	assert_true(log_has("first seen Closed and never sent"));
	buf_reset(&logbuf);
	run_once(&t, &r);
	assert_false(log_has(line));
	(void)first;
	tenv_free(&t);
	tsim_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(idle_after_bulk_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(resync_by_request_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(resync_by_issue, setup, teardown),
	    cmocka_unit_test_setup_teardown(resync_since, setup, teardown),
	    cmocka_unit_test_setup_teardown(resync_refused_while_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(added_type_resynced_at_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(reopen_ignored_and_comments_logged, setup, teardown),
	    cmocka_unit_test_setup_teardown(never_sent_issue_comments_logged, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
