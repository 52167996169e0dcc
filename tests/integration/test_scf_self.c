/*
 * test_scf_self.c: the SCF half knows who it is and what it saw, against a
 * real scf-sim process:
 *   - its own acknowledgments and closings never come back as citizen
 *     comments, with no system account configured at all: by the user id
 *     GET /profile names (kept in the state, so a start while the profile
 *     cannot be read still knows it), and by the comments it recorded when
 *     it posted them (when no id was ever read);
 *   - one call per transition when a recent pass saw the issue, a GET when
 *     the view is stale or unknown, and never a wrong transition of an
 *     issue staff closed meanwhile.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "log.h"
#include "scf.h"
#include "scf_impl.h" /* white-box: the age of the half's view (known_at) */
#include "test_scf_util.h"

/* ---- log capture ---- */

static struct buf logged;

static void sink(void *ctx, enum log_level l, const char *line)
{
	(void)ctx;
	(void)l;
	buf_adds(&logged, line);
	buf_adds(&logged, "\n");
}

/* Lines of the capture that contain every one of the (NULL-ended) parts. */
static int log_lines(const char *part, ...)
{
	const char *p = logged.data ? buf_str(&logged) : "";
	int n = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);
		int all = 1;
		va_list ap;

		va_start(ap, part);
		for (const char *q = part; q && all; q = va_arg(ap, const char *))
			all = strstr(line, q) != NULL;
		va_end(ap);
		n += all;
		free(line);
		p += len + (nl ? 1 : 0);
	}
	return n;
}

/* ---- helpers ---- */

struct run {
	enum err_status st;
	struct err e;
	struct scf_stats s;
};

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
	}
	scf_free(h);
	cfg_free(c);
}

/* The configuration tenv_init writes, without its <systemComments>
 * account: the operator has not looked up the API user's id. */
static void no_system_account(const struct tenv *t)
{
	struct buf b;
	char *at;
	FILE *f;

	buf_init(&b, 0);
	assert_int_equal(buf_read_file(&b, t->config, NULL), ERR_OK);
	at = strstr(buf_str(&b), "      <account>7000001</account>\n");
	assert_non_null(at);
	memmove(at, at + 34, strlen(at + 34) + 1);
	assert_null(strstr(buf_str(&b), "<account>"));
	f = fopen(t->config, "w");
	assert_non_null(f);
	fputs(buf_str(&b), f);
	fclose(f);
	buf_release(&b);
}

/* A comment by a resident; returns its SCF comment id. */
static int64_t resident_comment(const struct tsim *s, int64_t issue, const char *text)
{
	char path[96], body[256];
	long st;
	cJSON *j;
	int64_t id;

	snprintf(path, sizeof(path), "/_admin/issues/%" PRId64 "/comments", issue);
	snprintf(body, sizeof(body), "{\"comment\":\"%s\",\"kind\":\"resident\",\"name\":\"Pat\"}",
	         text);
	j = tsim_call(s, "POST", path, body, &st);
	assert_int_equal(st, 201);
	id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "id"));
	cJSON_Delete(j);
	return id;
}

static int64_t profile_user_in_state(const struct tenv *t)
{
	char dir[400];
	struct scf_state *st = NULL;
	struct err e;
	const char *v;
	int64_t id;

	snprintf(dir, sizeof(dir), "%s/state/scf", t->root);
	assert_int_equal(scf_state_load(dir, &st, &e), ERR_OK);
	v = scf_state_get(st, "profile/user");
	id = v ? strtoll(v, NULL, 10) : 0;
	scf_state_free(st);
	return id;
}

__attribute__((format(printf, 2, 3))) static int key_count(const struct tenv *t, const char *fmt,
                                                           ...)
{
	char key[128];
	cJSON *keys = tenv_outbound_keys(t);
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	n = tkeys_count(keys, key);
	cJSON_Delete(keys);
	return n;
}

static int n_comment_records(const struct tenv *t)
{
	cJSON *keys = tenv_outbound_keys(t);
	int n = tkeys_count(keys, "_n_comment");

	cJSON_Delete(keys);
	return n;
}

static double by_route(const struct tsim *s, const char *route)
{
	cJSON *st = tsim_call(s, "GET", "/_admin/stats", NULL, NULL);
	double n =
	    cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "by_route"), route));

	cJSON_Delete(st);
	return n != n ? 0 : n; /* absent: NaN */
}

static const char *issue_status(const struct tsim *s, int64_t id, char out[24])
{
	cJSON *state = tsim_call(s, "GET", "/_admin/state", NULL, NULL);

	snprintf(out, 24, "%s",
	         cJSON_GetStringValue(cJSON_GetObjectItem(tsim_issue(state, id), "status")));
	cJSON_Delete(state);
	return out;
}

static int api_actions(const struct tsim *s, int64_t id, const char *action)
{
	cJSON *state = tsim_call(s, "GET", "/_admin/state", NULL, NULL);
	int n = tsim_api_actions(tsim_issue(state, id), action, NULL);

	cJSON_Delete(state);
	return n;
}

#define R_GET  "GET /api/v2/issues/:id"
#define R_ACK  "POST /api/v2/issues/:id/acknowledge"
#define R_CLOS "POST /api/v2/issues/:id/close"

/*
 * ---- our own comments never come back (no configured account) ----
 * Issue a is acknowledged and b closed by the half; then a resident
 * comments on a, and another program using the same credential comments
 * on a too.  The next passes send the resident's comment only; each of
 * ours has a log line with the reason.  Then a start whose GET /profile
 * fails still knows the id from the state.
 */
static void own_comments_not_forwarded(void **unused)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;
	int64_t a, b, rc;
	char path[96];
	long st;

	(void)unused;
	buf_init(&logged, 0);
	log_set_sink(sink, NULL);
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	no_system_account(&t);
	a = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	b = tsim_add_issue(&s, "{\"request_type_id\":9102}");
	run_once(&t, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.issue_records, 2);
	/* the profile's user, read from SCF and kept */
	assert_int_equal(profile_user_in_state(&t), 7000001);
	assert_int_equal(log_lines("event=profile user=7000001", NULL), 1);

	assert_int_equal(tenv_inbound_ack(&t, a, "SR-1"), 0);
	assert_int_equal(tenv_inbound_close(&t, b, "SR-2", 9102), 0);
	run_once(&t, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.acks_applied, 1);
	assert_int_equal((int)r.s.closes_applied, 1);

	rc = resident_comment(&s, a, "The hole is deeper now");
	snprintf(path, sizeof(path), "/api/v2/issues/%" PRId64 "/comments", a);
	cJSON_Delete(tsim_call(&s, "POST", path, "{\"comment\":\"Crew booked for Monday.\"}", &st));
	assert_int_equal(st, 201);
	run_once(&t, &r);
	assert_int_equal(r.st, ERR_OK);
	run_once(&t, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal(n_comment_records(&t), 1);
	assert_int_equal(key_count(&t, "comment/%" PRId64 "/%" PRId64, a, rc), 1);
	assert_int_equal(log_lines("event=comment-not-forwarded",
	                           "why=\"by this gateway's SCF "
	                           "user 7000001\"",
	                           NULL),
	                 2);

	/* A later start cannot read the profile: the id from the state holds.
	 * (A start reads it again when the credential file changed or after a
	 * day; a new mtime stands for a credential an operator replaced.) */
	cJSON_Delete(tsim_call(&s, "POST", "/_admin/faults",
	                       "{\"path_prefix\":\"/api/v2/profile\",\"fail_next\":{\"count\":100,"
	                       "\"kind\":\"error\",\"status\":404}}",
	                       NULL));
	{
		char tok[512];
		struct timespec ts[2] = {{time(NULL) + 5, 0}, {time(NULL) + 5, 0}};

		snprintf(tok, sizeof(tok), "%s/scf.token", t.dir);
		assert_int_equal(utimensat(AT_FDCWD, tok, ts, 0), 0);
	}
	cJSON_Delete(tsim_call(&s, "POST", path, "{\"comment\":\"Crew on site.\"}", &st));
	assert_int_equal(st, 201);
	buf_reset(&logged);
	run_once(&t, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal(log_lines("event=profile-unread", "user=7000001", NULL), 1);
	assert_int_equal(log_lines("event=comment-not-forwarded", "user 7000001", NULL), 1);
	assert_int_equal(n_comment_records(&t), 1);

	log_set_sink(NULL, NULL);
	buf_release(&logged);
	tenv_free(&t);
	tsim_stop(&s);
}

/*
 * ---- the comments it posted, when SCF never named the user ----
 * GET /profile fails from the first start on; the acknowledgment's
 * comment is still recognized by what the half recorded when it posted it.
 */
static void posted_comment_known_without_profile(void **unused)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct run r;
	int64_t a, rc;

	(void)unused;
	buf_init(&logged, 0);
	log_set_sink(sink, NULL);
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	no_system_account(&t);
	cJSON_Delete(tsim_call(&s, "POST", "/_admin/faults",
	                       "{\"path_prefix\":\"/api/v2/profile\",\"fail_next\":{\"count\":1000,"
	                       "\"kind\":\"error\",\"status\":404}}",
	                       NULL));
	a = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	run_once(&t, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal(profile_user_in_state(&t), 0);
	assert_int_equal(tenv_inbound_ack(&t, a, "SR-1"), 0);
	run_once(&t, &r);
	assert_int_equal((int)r.s.acks_applied, 1);
	rc = resident_comment(&s, a, "Thanks!");
	run_once(&t, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal(n_comment_records(&t), 1);
	assert_int_equal(key_count(&t, "comment/%" PRId64 "/%" PRId64, a, rc), 1);
	assert_int_equal(
	    log_lines("event=comment-not-forwarded", "why=\"posted by this gateway", NULL), 1);
	log_set_sink(NULL, NULL);
	buf_release(&logged);
	tenv_free(&t);
	tsim_stop(&s);
}

/*
 * ---- one call per transition ----
 * N issues fetched by a pass; N acknowledgments, then N closings, each
 * through the same run's view: at most 1.1 SCF calls per transition, as
 * scf-sim counts them.
 */
static void one_call_per_transition(void **unused)
{
	enum { N = 30 };
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	int64_t id[N];
	struct tsim s;
	struct tenv t;
	struct run r;
	double g0, a0, c0, gets, posts;

	(void)unused;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0);
	for (int i = 0; i < N; i++)
		assert_true((id[i] = tsim_add_issue(&s, "{\"request_type_id\":9101}")) > 0);
	run_once(&t, &r);
	assert_int_equal((int)r.s.issue_records, N);

	for (int i = 0; i < N; i++)
		assert_int_equal(tenv_inbound_ack(&t, id[i], "SR-1"), 0);
	g0 = by_route(&s, R_GET);
	a0 = by_route(&s, R_ACK);
	run_once(&t, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.acks_applied, N);
	gets = by_route(&s, R_GET) - g0;
	posts = by_route(&s, R_ACK) - a0;
	print_message("acknowledgments: %.0f POSTs, %.0f GETs for %d\n", posts, gets, N);
	assert_true(posts == N);
	assert_true(gets + posts <= 1.1 * N);
	for (int i = 0; i < N; i++)
		assert_int_equal(api_actions(&s, id[i], "acknowledge"), 1);

	for (int i = 0; i < N; i++)
		assert_int_equal(tenv_inbound_close(&t, id[i], "SR-1", 9101), 0);
	g0 = by_route(&s, R_GET);
	c0 = by_route(&s, R_CLOS);
	run_once(&t, &r);
	assert_int_equal(r.st, ERR_OK);
	assert_int_equal((int)r.s.closes_applied, N);
	gets = by_route(&s, R_GET) - g0;
	posts = by_route(&s, R_CLOS) - c0;
	print_message("closings: %.0f POSTs, %.0f GETs for %d\n", posts, gets, N);
	assert_true(posts == N);
	assert_true(gets + posts <= 1.1 * N);
	tenv_free(&t);
	tsim_stop(&s);
}

/*
 * ---- a view that is wrong, stale or missing ----
 * One process fetches a, b, c, d; staff then close a and d by hand in SCF.
 * Right away (fresh view): a's acknowledgment is refused by SCF and
 * settled by one GET, b costs one POST.  Two poll intervals later (stale
 * view): c and d are read first, d is left Closed; e, never fetched, is
 * read first too.  No issue closed by hand is ever acknowledged.
 */
static void stale_or_unknown_view_reads_first(void **unused)
{
	const char *args[] = {"--issues", "0", "--rate-limit", "0", NULL};
	struct tsim s;
	struct tenv t;
	struct cfg *c = NULL;
	struct scf_half *h = NULL;
	struct scf_stats ss;
	struct err e;
	int64_t a, b, cc, d, ee;
	double g0, p0;
	char stt[24];

	(void)unused;
	assert_int_equal(tsim_start(&s, args), 0);
	assert_int_equal(tenv_init(&t, &s, NULL), 0); /* pollSeconds 10 */
	a = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	b = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	cc = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	d = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	assert_int_equal(cfg_load_file(t.config, &c, &e), ERR_OK);
	assert_int_equal(scf_open(&h, c, NULL, &e), ERR_OK);
	assert_int_equal(scf_fetch(h, &e), ERR_OK);
	ee = tsim_add_issue(&s, "{\"request_type_id\":9101}");
	assert_int_equal(tsim_set_status(&s, a, "closed"), 0);
	assert_int_equal(tsim_set_status(&s, d, "closed"), 0);

	/* fresh, but wrong for a */
	assert_int_equal(tenv_inbound_ack(&t, a, "SR-A"), 0);
	assert_int_equal(tenv_inbound_ack(&t, b, "SR-B"), 0);
	g0 = by_route(&s, R_GET);
	p0 = by_route(&s, R_ACK);
	assert_int_equal(scf_writeback(h, &e), ERR_OK);
	scf_stats_get(h, &ss);
	assert_int_equal((int)ss.acks_applied, 1);
	assert_int_equal((int)ss.already_done, 1);
	assert_int_equal((int)ss.wb_failed, 0);
	assert_true(by_route(&s, R_ACK) - p0 == 2); /* a refused, b applied */
	assert_true(by_route(&s, R_GET) - g0 == 1); /* only for a, after the refusal */
	assert_string_equal(issue_status(&s, a, stt), "Closed");
	assert_int_equal(api_actions(&s, a, "acknowledge"), 0);
	assert_string_equal(issue_status(&s, b, stt), "Acknowledged");

	/* stale: two poll intervals (2 x 10 s) later, nothing fetched since;
	 * the last complete pass is moved 21 s into the past instead of
	 * sleeping that long (the view's age is all that differs) */
	assert_true(h->known_at > 21);
	h->known_at -= 21;
	assert_int_equal(tenv_inbound_ack(&t, cc, "SR-C"), 0);
	assert_int_equal(tenv_inbound_ack(&t, d, "SR-D"), 0);
	assert_int_equal(tenv_inbound_ack(&t, ee, "SR-E"), 0);
	g0 = by_route(&s, R_GET);
	p0 = by_route(&s, R_ACK);
	assert_int_equal(scf_writeback(h, &e), ERR_OK);
	scf_stats_get(h, &ss);
	assert_int_equal((int)ss.acks_applied, 3);
	assert_int_equal((int)ss.already_done, 2);
	assert_true(by_route(&s, R_GET) - g0 == 3);
	assert_true(by_route(&s, R_ACK) - p0 == 2); /* c and e; d was read Closed */
	assert_string_equal(issue_status(&s, d, stt), "Closed");
	assert_int_equal(api_actions(&s, d, "acknowledge"), 0);
	assert_string_equal(issue_status(&s, cc, stt), "Acknowledged");
	assert_string_equal(issue_status(&s, ee, stt), "Acknowledged");
	assert_int_equal(tenv_count(&t, "inbound", "done"), 5);
	scf_free(h);
	cfg_free(c);
	tenv_free(&t);
	tsim_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(own_comments_not_forwarded),
	    cmocka_unit_test(posted_comment_known_without_profile),
	    cmocka_unit_test(one_call_per_transition),
	    cmocka_unit_test(stale_or_unknown_view_reads_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
