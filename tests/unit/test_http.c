/*
 * test_http.c: the HTTP client against a real HTTP server on loopback
 * (libmicrohttpd, one thread per connection) whose answers each test
 * scripts.  Back-off and rate-limit waits go through a fake clock, so
 * minutes of waiting take no time; the concurrency test uses real time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "cfg.h"
#include "http.h"
#include "log.h"
#include "num.h"
#include "scf_impl.h"
#include "unconst.h"
#include "when.h"

/* ---- scripted server ---- */

struct call {
	int hit; /* 0-based, over all requests except log-ins */
	char method[16];
	char url[512];
	char auth[256];
	char ua[128];
	char cookie[256];
	char body[1024];
};

struct reply {
	int status;
	const char *body; /* NULL: "{}" */
	size_t body_len;  /* 0: strlen(body) */
	const char *hname[3];
	const char *hvalue[3];
	int delay_ms;
};

struct srv;
typedef void (*script_fn)(struct srv *s, const struct call *c, struct reply *r);

struct srv {
	struct MHD_Daemon *d;
	int port;
	char base[64];
	script_fn script;
	void *ctx;
	pthread_mutex_t mu;
	int hits;
	int logins;
	int in_flight, max_in_flight;
	int connections; /* TCP connections accepted */
	struct call last;
};

struct upload {
	char body[1024];
	size_t len;
};

static void header_copy(struct MHD_Connection *conn, const char *name, char *out, size_t size)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

	snprintf(out, size, "%s", v ? v : "");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
	struct srv *s = cls;
	struct upload *up = *con_cls;
	struct call c;
	struct reply r = {200, NULL, 0, {NULL}, {NULL}, 0};
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int is_login;

	if (!up) {
		*con_cls = calloc(1, sizeof(struct upload));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		size_t n = *data_size;

		if (n > sizeof(up->body) - 1 - up->len)
			n = sizeof(up->body) - 1 - up->len;
		memcpy(up->body + up->len, data, n);
		up->len += n;
		*data_size = 0;
		return MHD_YES;
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.method, sizeof(c.method), "%s", method);
	snprintf(c.url, sizeof(c.url), "%s", url);
	header_copy(conn, "Authorization", c.auth, sizeof(c.auth));
	header_copy(conn, "User-Agent", c.ua, sizeof(c.ua));
	header_copy(conn, "Cookie", c.cookie, sizeof(c.cookie));
	memcpy(c.body, up->body, up->len);
	is_login = strstr(url, "/api/v1/authenticate") != NULL;

	pthread_mutex_lock(&s->mu);
	c.hit = is_login ? s->logins++ : s->hits++;
	if (!is_login)
		s->last = c;
	if (++s->in_flight > s->max_in_flight)
		s->max_in_flight = s->in_flight;
	pthread_mutex_unlock(&s->mu);

	s->script(s, &c, &r);
	if (r.delay_ms)
		usleep((useconds_t)r.delay_ms * 1000);

	pthread_mutex_lock(&s->mu);
	s->in_flight--;
	pthread_mutex_unlock(&s->mu);

	if (!r.body)
		r.body = "{}";
	resp = MHD_create_response_from_buffer(r.body_len ? r.body_len : strlen(r.body),
	                                       UNCONST(r.body), MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	for (int i = 0; i < 3 && r.hname[i]; i++)
		MHD_add_response_header(resp, r.hname[i], r.hvalue[i]);
	ret = MHD_queue_response(conn, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct srv *s = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		__atomic_add_fetch(&s->connections, 1, __ATOMIC_SEQ_CST);
}

static struct srv *srv_start(script_fn script, void *ctx)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	assert_non_null(s);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->script = script;
	s->ctx = ctx;
	pthread_mutex_init(&s->mu, NULL);
	s->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
	    completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
	assert_non_null(s->d);
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	s->port = info->port;
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d/api/v2", s->port);
	return s;
}

static void srv_stop(struct srv *s)
{
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* The same server over TLS, with the given PEM certificate and key. */
static struct srv *srv_start_tls(script_fn script, void *ctx, const char *cert, const char *key)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	assert_non_null(s);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->script = script;
	s->ctx = ctx;
	pthread_mutex_init(&s->mu, NULL);
	s->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_TLS, 0, NULL,
	    NULL, handle, s, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_HTTPS_MEM_CERT, cert,
	    MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
	assert_non_null(s->d);
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	s->port = info->port;
	snprintf(s->base, sizeof(s->base), "https://127.0.0.1:%d/api/v2", s->port);
	return s;
}

/* ---- fake clock ---- */

struct fake_clock {
	uint64_t now;
	uint64_t sleeps[256];
	int n;
	volatile sig_atomic_t *raise; /* set at the first sleep: a signal during a wait */
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

static void fake_sleep(void *ctx, uint64_t ms)
{
	struct fake_clock *f = ctx;

	if (f->n < 256)
		f->sleeps[f->n++] = ms;
	f->now += ms;
	if (f->raise)
		*f->raise = 1;
}

/* ---- captured log lines ---- */

static char log_lines[64][LOG_LINE_MAX];
static int log_n;

static void capture(void *ctx, enum log_level level, const char *line)
{
	if (log_n < 64)
		snprintf(log_lines[log_n++], LOG_LINE_MAX, "%s", line);
}

static int logged(const char *needle)
{
	for (int i = 0; i < log_n; i++)
		if (strstr(log_lines[i], needle))
			return 1;
	return 0;
}

/* ---- fixture ---- */

struct fx {
	struct srv *s;
	struct fake_clock fc;
	struct http_clock clock;
	struct http_config cfg;
	struct http_client *c;
	struct http_response resp;
	struct err e;
};

static struct fx *fx_new(script_fn script, void *ctx)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->s = srv_start(script, ctx);
	f->clock.now_ms = fake_now;
	f->clock.sleep_ms = fake_sleep;
	f->clock.ctx = &f->fc;
	f->fc.now = 1000000;
	http_config_init(&f->cfg);
	f->cfg.base_url = f->s->base;
	f->cfg.clock = &f->clock;
	f->cfg.backoff_base_ms = 100;
	f->cfg.backoff_max_ms = 400;
	f->cfg.max_attempts = 3;
	f->cfg.timeout_ms = 5000;
	http_response_init(&f->resp);
	err_clear(&f->e);
	log_n = 0;
	log_open("test", LOGL_DEBUG, 0);
	log_set_sink(capture, NULL);
	return f;
}

static void fx_client(struct fx *f)
{
	assert_int_equal(http_client_new(&f->c, &f->cfg, &f->e), ERR_OK);
}

static void fx_free(struct fx *f)
{
	http_response_release(&f->resp);
	http_client_free(f->c);
	srv_stop(f->s);
	log_set_sink(NULL, NULL);
	free(f);
}

/*
 * The backoff before each retry, read from the "retry=N/M ... wait_ms=W"
 * lines: full jitter may draw 0 ms, which sleeps not at all, so the fake
 * clock alone cannot tell how many backoffs there were.  Checks that
 * there were exactly n, each under its ceiling, and that the clock slept
 * their sum.
 */
static void assert_backoffs(const struct fx *f, int n, const uint64_t *ceilings)
{
	uint64_t slept = 0, waited = 0;
	int seen = 0;

	for (int i = 0; i < f->fc.n; i++)
		slept += f->fc.sleeps[i];
	for (int i = 0; i < log_n; i++) {
		const char *w = strstr(log_lines[i], "wait_ms=");
		const char *end;
		uint64_t ms;

		if (!strstr(log_lines[i], "http: retry=") || !w)
			continue;
		assert_int_equal(num_u64(w + 8, 10, &end, &ms), 0);
		assert_true(*end == '\0' || *end == ' ' || *end == '\n');
		assert_true(seen < n);
		assert_true(ms <= ceilings[seen]);
		waited += ms;
		seen++;
	}
	assert_int_equal(seen, n);
	assert_int_equal(slept, waited);
}

static enum err_status get(struct fx *f, const char *path)
{
	err_clear(&f->e);
	return http_request(f->c, "GET", path, NULL, NULL, &f->resp, &f->e);
}

/* ---- scripts ---- */

static void s_ok(struct srv *s, const struct call *c, struct reply *r)
{
	r->status = 200;
	r->body = "{\"ok\":true}";
}

static void s_500_twice(struct srv *s, const struct call *c, struct reply *r)
{
	r->status = c->hit < 2 ? 500 : 200;
	r->body = c->hit < 2 ? "{\"message\":\"boom\"}" : "{\"ok\":true}";
}

static void s_429_then_ok(struct srv *s, const struct call *c, struct reply *r)
{
	if (c->hit == 0) {
		r->status = 429;
		r->body = "{\"message\":\"Too Many Requests\"}";
		r->hname[0] = "Retry-After";
		r->hvalue[0] = s->ctx ? s->ctx : "2";
		return;
	}
	r->status = 200;
}

static void s_429_forever(struct srv *s, const struct call *c, struct reply *r)
{
	r->status = 429;
}

static char big_body[5000];

static void s_big(struct srv *s, const struct call *c, struct reply *r)
{
	memset(big_body, 'x', sizeof(big_body));
	r->body = big_body;
	r->body_len = sizeof(big_body);
}

static void s_422(struct srv *s, const struct call *c, struct reply *r)
{
	r->status = 422;
	r->body = "{\"errors\":{\n  \"address\": [\"Address can't be blank\"]\n}}";
}

static void s_blacklisted(struct srv *s, const struct call *c, struct reply *r)
{
	r->status = 403;
	r->body = "{\"message\":\"Request forbidden by administrative rules.\","
	          "\"documentation_url\":\"http://dev.seeclickfix.com\"}";
}

static void s_forbidden(struct srv *s, const struct call *c, struct reply *r)
{
	r->status = 403;
	r->body = "{\"Message\":\"You do not have permission to create Requests.\"}";
}

static void s_slow(struct srv *s, const struct call *c, struct reply *r)
{
	r->delay_ms = s->ctx ? *(int *)s->ctx : 1000;
}

/* Cartegraph: the log-in sets cookie cg=<n>; requests need cg=<want>. */
static void s_session(struct srv *s, const struct call *c, struct reply *r)
{
	static char cookie[64];
	int want = *(int *)s->ctx;
	char expect[32];

	if (strstr(c->url, "/api/v1/authenticate")) {
		snprintf(cookie, sizeof(cookie), "cg=%d; Path=/", c->hit + 1);
		r->body = "{\"LogOnStatus\":0,\"Expires\":3600}";
		r->hname[0] = "Set-Cookie";
		r->hvalue[0] = cookie;
		return;
	}
	snprintf(expect, sizeof(expect), "cg=%d", want);
	if (strcmp(c->cookie, expect) != 0) {
		r->status = 401;
		r->body = "{\"Message\":\"Authentication Required for API Access.\"}";
	}
}

static void s_login_refused(struct srv *s, const struct call *c, struct reply *r)
{
	r->status = 401;
	r->body = "{\"Message\":\"The user name or password is incorrect.\"}";
}

/* ---- tests ---- */

static void test_ok_and_headers(void **state)
{
	struct fx *f = fx_new(s_ok, NULL);
	struct http_stats st;

	fx_client(f);
	assert_int_equal(get(f, "/issues?page=1"), ERR_OK);
	assert_int_equal(f->resp.status, 200);
	assert_string_equal(buf_str(&f->resp.body), "{\"ok\":true}");
	assert_string_equal(f->resp.content_type, "application/json");
	assert_string_equal(f->s->last.url, "/api/v2/issues");
	assert_string_equal(f->s->last.auth, "");
	assert_true(strncmp(f->s->last.ua, "scfgate/", 8) == 0);
	http_stats_get(f->c, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.ok_2xx, 1);
	assert_true(st.last_success > 0);
	fx_free(f);
}

static void test_post_body_and_user_agent(void **state)
{
	struct fx *f = fx_new(s_ok, NULL);

	f->cfg.user_agent = "scfgate/9.9 (city of test)";
	fx_client(f);
	assert_int_equal(http_request(f->c, "POST", "issues/7/acknowledge", "{\"comment\":\"hi\"}",
	                              NULL, &f->resp, &f->e),
	                 ERR_OK);
	assert_string_equal(f->s->last.method, "POST");
	assert_string_equal(f->s->last.url, "/api/v2/issues/7/acknowledge");
	assert_string_equal(f->s->last.body, "{\"comment\":\"hi\"}");
	assert_string_equal(f->s->last.ua, "scfgate/9.9 (city of test)");
	fx_free(f);
}

static void test_500_twice_then_ok(void **state)
{
	struct fx *f = fx_new(s_500_twice, NULL);
	struct http_stats st;

	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_OK);
	assert_int_equal(f->resp.status, 200);
	assert_int_equal(f->resp.attempts, 3);
	assert_int_equal(f->s->hits, 3);
	/* Full jitter under the capped exponential ceiling: 100, then 200. */
	assert_backoffs(f, 2, (const uint64_t[]){100, 200});
	http_stats_get(f->c, &st);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.ok_2xx, 1);
	assert_true(logged("retry=1/3"));
	fx_free(f);
}

static void test_500_gives_up_temp(void **state)
{
	struct fx *f = fx_new(s_500_twice, NULL);

	f->cfg.max_attempts = 2;
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_TEMP);
	assert_int_equal(f->s->hits, 2);
	assert_non_null(strstr(f->e.msg, "HTTP 500"));
	assert_non_null(strstr(f->e.msg, "gave up after 2 attempts"));
	assert_non_null(strstr(f->e.msg, "boom")); /* the server's own words */
	fx_free(f);
}

static void test_429_retry_after_seconds(void **state)
{
	struct fx *f = fx_new(s_429_then_ok, NULL);
	struct http_stats st;

	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_OK);
	assert_int_equal(f->fc.n, 1);
	assert_int_equal(f->fc.sleeps[0], 2000);
	http_stats_get(f->c, &st);
	assert_int_equal(st.status_429, 1);
	assert_int_equal(st.retries, 1);
	fx_free(f);
}

static void test_429_retry_after_date_and_default(void **state)
{
	char date[64];
	time_t when = time(NULL) + 5;
	struct tm tm;
	struct fx *f;

	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	f = fx_new(s_429_then_ok, date);
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_OK);
	assert_int_equal(f->fc.n, 1);
	assert_true(f->fc.sleeps[0] >= 3000 && f->fc.sleeps[0] <= 5000);
	fx_free(f);

	f = fx_new(s_429_then_ok, UNCONST("soon-ish"));
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_OK);
	assert_int_equal(f->fc.sleeps[0], 60000);
	fx_free(f);
}

static void test_429_forever_is_temp(void **state)
{
	struct fx *f = fx_new(s_429_forever, NULL);

	f->cfg.max_429 = 3;
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_TEMP);
	assert_int_equal(f->s->hits, 4);
	assert_non_null(strstr(f->e.msg, "429"));
	fx_free(f);
}

/* A body over the cap is temporary and in doubt, never a failed record:
 * the server answered, so a write may have been applied.  Not repeated
 * by the client (the same body would come back). */
static void test_body_over_cap(void **state)
{
	struct fx *f = fx_new(s_big, NULL);

	f->cfg.body_cap = 1000;
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_TEMP);
	assert_non_null(strstr(f->e.msg, "1000-byte cap"));
	assert_null(strstr(f->e.msg, "in doubt"));
	assert_int_equal(f->s->hits, 1);
	err_clear(&f->e);
	assert_int_equal(
	    http_request(f->c, "POST", "/classes/cgRequestsClass", "{}", NULL, &f->resp, &f->e),
	    ERR_TEMP);
	assert_non_null(strstr(f->e.msg, "POST /classes/cgRequestsClass"));
	assert_non_null(strstr(f->e.msg, "1000-byte cap"));
	assert_non_null(strstr(f->e.msg, "in doubt"));
	assert_int_equal(f->s->hits, 2);
	fx_free(f);
}

/* ---- redirects: never followed, credentials stay on the API host ---- */

struct redir {
	int status;       /* 302, 307, ... */
	int login_too;    /* redirect the Cartegraph log-in as well */
	char to[256];     /* Location: a path on the other server */
	const char *mark; /* a word the Location must carry (escaping test) */
};

static void s_redirect(struct srv *s, const struct call *c, struct reply *r)
{
	struct redir *d = s->ctx;
	int is_login = strstr(c->url, "/api/v1/authenticate") != NULL;

	if (is_login && !d->login_too) {
		r->hname[0] = "Set-Cookie";
		r->hvalue[0] = "cg=1; Path=/";
		return;
	}
	r->status = d->status;
	r->body = "<html>moved</html>";
	r->hname[0] = "Location";
	r->hvalue[0] = d->to;
}

/* The other host: records whether anyone came. */
static void assert_untouched(const struct srv *other)
{
	assert_int_equal(other->hits, 0);
	assert_int_equal(other->logins, 0);
	assert_int_equal(__atomic_load_n(&other->connections, __ATOMIC_SEQ_CST), 0);
}

static void check_redirect(struct fx *f, const struct redir *d, const char *what)
{
	char want[320];

	snprintf(want, sizeof(want), "HTTP %d %s", d->status, what);
	assert_non_null(strstr(f->e.msg, want));
	snprintf(want, sizeof(want), "redirect to \"%s\" not followed", d->to);
	assert_non_null(strstr(f->e.msg, want));
}

static void test_redirect_login(void **state)
{
	static const int codes[] = {307, 302};

	for (int i = 0; i < 2; i++) {
		struct srv *other = srv_start(s_ok, NULL);
		struct redir d = {codes[i], 1, "", NULL};
		struct fx *f = fx_new(s_redirect, &d);

		snprintf(d.to, sizeof(d.to), "http://127.0.0.1:%d/api/v1/authenticate",
		         other->port);
		f->cfg.auth = HTTP_AUTH_CG_SESSION;
		f->cfg.username = "gateway";
		f->cfg.password = "pw-SECRET";
		fx_client(f);
		assert_int_equal(get(f, "/api/v1/classes/cgRequestsClass"), ERR_FATAL);
		assert_true(strncmp(f->e.msg, "Cartegraph log-in: ", 19) == 0);
		check_redirect(f, &d, "POST /api/v1/authenticate");
		assert_null(strstr(f->e.msg, "SECRET"));
		assert_int_equal(f->s->logins, 1); /* not repeated */
		assert_int_equal(f->s->hits, 0);
		assert_untouched(other);
		for (int k = 0; k < log_n; k++)
			assert_null(strstr(log_lines[k], "SECRET"));
		fx_free(f);
		srv_stop(other);
	}
}

/* A GET: the SCF bearer token and the Cartegraph basic and session
 * credentials each stay home. */
static void test_redirect_get(void **state)
{
	static const int codes[] = {307, 302};
	static const enum http_auth auths[] = {HTTP_AUTH_BEARER, HTTP_AUTH_BASIC,
	                                       HTTP_AUTH_CG_SESSION};

	for (int i = 0; i < 2; i++) {
		for (int a = 0; a < 3; a++) {
			struct srv *other = srv_start(s_ok, NULL);
			struct redir d = {codes[i], 0, "", NULL};
			struct fx *f = fx_new(s_redirect, &d);

			snprintf(d.to, sizeof(d.to), "http://127.0.0.1:%d/api/v2/issues?page=1",
			         other->port);
			f->cfg.auth = auths[a];
			f->cfg.token = "tok-SECRET";
			f->cfg.username = "gateway";
			f->cfg.password = "pw-SECRET";
			fx_client(f);
			assert_int_equal(get(f, "/issues?page=1"), ERR_FATAL);
			check_redirect(f, &d, "GET /issues?page=1");
			assert_null(strstr(f->e.msg, "in doubt"));
			assert_null(strstr(f->e.msg, "SECRET"));
			assert_int_equal(f->s->hits, 1); /* not retried */
			assert_int_equal(f->resp.status, codes[i]);
			assert_untouched(other);
			fx_free(f);
			srv_stop(other);
		}
	}
}

struct wdone {
	enum err_status st;
	char msg[ERR_MSG_MAX];
	int calls;
};

static void on_wdone(void *user, enum err_status st, struct http_response *resp,
                     const struct err *e)
{
	struct wdone *w = user;

	w->st = st;
	w->calls++;
	snprintf(w->msg, sizeof(w->msg), "%s", e->msg);
}

/* A create, sent as the OMS half sends writes (http_submit, one attempt). */
static void test_redirect_create(void **state)
{
	static const int codes[] = {307, 302};

	for (int i = 0; i < 2; i++) {
		struct srv *other = srv_start(s_ok, NULL);
		struct redir d = {codes[i], 0, "", NULL};
		struct fx *f = fx_new(s_redirect, &d);
		struct wdone w = {0};

		snprintf(d.to, sizeof(d.to), "http://127.0.0.1:%d/api/v1/classes/cgRequestsClass",
		         other->port);
		f->cfg.auth = HTTP_AUTH_CG_SESSION;
		f->cfg.username = "gateway";
		f->cfg.password = "pw-SECRET";
		f->cfg.max_attempts = 1;
		fx_client(f);
		assert_int_equal(http_submit(f->c, "POST", "/api/v1/classes/cgRequestsClass",
		                             "{\"cgRequestsClass\":[{\"DescriptionField\":\"x\"}]}",
		                             NULL, on_wdone, &w, &f->e),
		                 ERR_OK);
		assert_int_equal(http_drain(f->c, &f->e), ERR_FATAL);
		assert_int_equal(w.calls, 1);
		assert_int_equal(w.st, ERR_FATAL);
		snprintf(f->e.msg, sizeof(f->e.msg), "%s", w.msg);
		check_redirect(f, &d, "POST /api/v1/classes/cgRequestsClass");
		if (codes[i] == 302)
			assert_non_null(
			    strstr(w.msg, "may have acted on it before redirecting (in doubt)"));
		else
			assert_non_null(strstr(w.msg, "most likely did not act"));
		assert_null(strstr(w.msg, "SECRET"));
		assert_int_equal(f->s->logins, 1);
		assert_int_equal(f->s->hits, 1);
		assert_string_equal(f->s->last.method, "POST");
		assert_untouched(other);
		fx_free(f);
		srv_stop(other);
	}
}

/* ---- TLS: an extra CA file, verification always on ---- */

static char tls_dir[] = "/tmp/scfgate-http-tls-XXXXXX";

static char *tls_path(const char *name)
{
	static char p[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tls_dir, name);
	return p[k];
}

/* A self-signed certificate for 127.0.0.1 (NAME.crt, NAME.key). */
static void make_cert(const char *name)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
	         "-keyout '%s/%s.key' -out '%s/%s.crt' 2>/dev/null",
	         tls_dir, name, tls_dir, name);
	assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path)
{
	struct buf b = BUF_INIT_CAP(1 << 20);
	struct err e;

	assert_int_equal(buf_read_file(&b, path, &e), ERR_OK);
	return buf_detach(&b, NULL);
}

static enum err_status tls_get(const char *base, const char *ca_file, struct err *e)
{
	struct http_config cfg;
	struct http_client *c = NULL;
	struct http_response r;
	enum err_status st;

	http_config_init(&cfg);
	cfg.base_url = base;
	cfg.ca_file = ca_file;
	cfg.max_attempts = 1;
	cfg.auth = HTTP_AUTH_BEARER;
	cfg.token = "tok-SECRET";
	http_response_init(&r);
	err_clear(e);
	assert_int_equal(http_client_new(&c, &cfg, e), ERR_OK);
	st = http_request(c, "GET", "/issues", NULL, NULL, &r, e);
	http_response_release(&r);
	http_client_free(c);
	return st;
}

static void test_tls_ca_file(void **state)
{
	char *cert, *key;
	struct srv *s;
	struct err e;

	assert_non_null(mkdtemp(tls_dir));
	make_cert("server");
	make_cert("other");
	cert = slurp(tls_path("server.crt"));
	key = slurp(tls_path("server.key"));
	s = srv_start_tls(s_ok, NULL, cert, key);

	/* the server's own certificate as the extra CA: trusted */
	assert_int_equal(tls_get(s->base, tls_path("server.crt"), &e), ERR_OK);
	assert_int_equal(s->hits, 1);
	assert_string_equal(s->last.auth, "Bearer tok-SECRET");
	/* the system store alone, or another CA: the handshake fails, fatal,
	 * and nothing (no token) was sent */
	assert_int_equal(tls_get(s->base, NULL, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "GET /issues: TLS verification failed"));
	assert_int_equal(tls_get(s->base, tls_path("other.crt"), &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "GET /issues: TLS verification failed"));
	/* a CA file that is not there */
	assert_int_equal(tls_get(s->base, tls_path("missing.crt"), &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "GET /issues: TLS verification failed"));
	assert_null(strstr(e.msg, "SECRET"));
	assert_int_equal(s->hits, 1);
	srv_stop(s);
	free(cert);
	free(key);
}

/* <scf><caFile> reaches the SCF half's client (scf_open_http). */
static void test_tls_scf_ca_file(void **state)
{
	char *cert = slurp(tls_path("server.crt")), *key = slurp(tls_path("server.key"));
	struct srv *s = srv_start_tls(s_ok, NULL, cert, key);
	char xml[4096], cmd[1200];
	struct http_client *h = NULL;
	struct http_response r;
	struct cfg *c = NULL;
	struct err e;

	mkdir(tls_path("spool"), 0700);
	fclose(fopen(tls_path("scf.key"), "w"));
	chmod(tls_path("scf.key"), 0600); /* a private key others may read is refused */
	fclose(fopen(tls_path("oms.pub"), "w"));
	snprintf(cmd, sizeof(cmd), "echo tok-SECRET >'%s' && chmod 600 '%s'", tls_path("scf.token"),
	         tls_path("scf.token"));
	assert_int_equal(system(cmd), 0);
	for (int with_ca = 1; with_ca >= 0; with_ca--) {
		snprintf(xml, sizeof(xml),
		         "<?xml version=\"1.0\"?>\n<scfgate half=\"scf\">\n  <spool>\n"
		         "    <root>%s/spool</root>\n    <producer>scf</producer>\n"
		         "    <privateKey>%s/scf.key</privateKey>\n"
		         "    <peerPublicKey>%s/oms.pub</peerPublicKey>\n  </spool>\n"
		         "  <scf>\n    <baseUrl>%s</baseUrl>\n    <organization>42</organization>\n"
		         "    <credentials>%s/scf.token</credentials>\n%s%s%s  </scf>\n"
		         "  <requestTypes><requestType id=\"1\" remoteId=\"X\"/></requestTypes>\n"
		         "</scfgate>\n",
		         tls_dir, tls_dir, tls_dir, s->base, tls_dir, with_ca ? "    <caFile>" : "",
		         with_ca ? tls_path("server.crt") : "", with_ca ? "</caFile>\n" : "");
		err_clear(&e);
		assert_int_equal(cfg_load_mem(xml, strlen(xml), "t.xml", 0, &c, &e), ERR_OK);
		assert_int_equal(scf_open_http(c, NULL, NULL, &h, &e), ERR_OK);
		http_response_init(&r);
		if (with_ca) {
			assert_int_equal(http_request(h, "GET", "/issues", NULL, NULL, &r, &e),
			                 ERR_OK);
			assert_int_equal(s->hits, 1);
		} else {
			assert_int_equal(http_request(h, "GET", "/issues", NULL, NULL, &r, &e),
			                 ERR_FATAL);
			assert_non_null(strstr(e.msg, "TLS verification failed"));
			assert_int_equal(s->hits, 1);
		}
		http_response_release(&r);
		http_client_free(h);
		cfg_free(c);
	}
	srv_stop(s);
	free(cert);
	free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tls_dir);
	assert_int_equal(system(cmd), 0);
}

/* The Location in the message is escaped and bounded. */
static void test_redirect_location_escaped(void **state)
{
	struct redir d = {301, 0, "", NULL};
	struct fx *f = fx_new(s_redirect, &d);
	size_t n = 0;

	n += (size_t)snprintf(d.to, sizeof(d.to), "https://elsewhere.example/\"q\\");
	while (n < sizeof(d.to) - 1)
		d.to[n++] = 'a';
	d.to[n] = '\0';
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_FATAL);
	assert_non_null(strstr(f->e.msg, "redirect to \"https://elsewhere.example/\\x22q\\x5caaa"));
	assert_non_null(strstr(f->e.msg, "aaa...\" not followed"));
	assert_true(strlen(f->e.msg) < 500);
	fx_free(f);
}

static void test_422_excerpt(void **state)
{
	struct fx *f = fx_new(s_422, NULL);

	fx_client(f);
	assert_int_equal(http_request(f->c, "POST", "/issues", "{}", NULL, &f->resp, &f->e),
	                 ERR_PERM);
	assert_non_null(strstr(f->e.msg, "HTTP 422 POST /issues"));
	assert_non_null(strstr(f->e.msg, "Address can't be blank"));
	assert_null(strchr(f->e.msg, '\n'));
	assert_int_equal(f->resp.status, 422); /* the caller still sees the answer */
	assert_int_equal(f->s->hits, 1);
	fx_free(f);
}

static void s_400_long(struct srv *s, const struct call *c, struct reply *r)
{
	memset(big_body, 'y', sizeof(big_body));
	big_body[10] = '\n';
	r->status = 400;
	r->body = big_body;
	r->body_len = sizeof(big_body);
}

static void test_400_long_body_excerpt(void **state)
{
	struct fx *f = fx_new(s_400_long, NULL);
	const char *y;

	fx_client(f);
	assert_int_equal(get(f, "/x"), ERR_PERM);
	assert_null(strchr(f->e.msg, '\n'));
	y = strstr(f->e.msg, "yyyy");
	assert_non_null(y);
	assert_true(strlen(f->e.msg) < 400);
	assert_non_null(strstr(f->e.msg, "..."));
	fx_free(f);
}

static void test_403_blacklisted_fatal(void **state)
{
	struct fx *f = fx_new(s_blacklisted, NULL);

	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_FATAL);
	assert_true(strncmp(f->e.msg, "ALERT:", 6) == 0);
	assert_non_null(strstr(f->e.msg, "forbidden by administrative rules"));
	assert_int_equal(f->s->hits, 1);
	assert_true(logged(" alert test: "));
	fx_free(f);
}

static void test_403_plain_perm(void **state)
{
	struct fx *f = fx_new(s_forbidden, NULL);

	fx_client(f);
	assert_int_equal(get(f, "/classes/cgRequestsClass"), ERR_PERM);
	assert_non_null(strstr(f->e.msg, "HTTP 403"));
	assert_non_null(strstr(f->e.msg, "permission to create Requests"));
	fx_free(f);
}

static void test_session_relogin_once(void **state)
{
	int want = 2; /* the first session "expires": only the second log-in works */
	struct fx *f = fx_new(s_session, &want);

	f->cfg.auth = HTTP_AUTH_CG_SESSION;
	f->cfg.username = "gateway";
	f->cfg.password = "pw-not-in-logs";
	fx_client(f);
	assert_int_equal(get(f, "/api/v1/classes/cgRequestsClass"), ERR_OK);
	assert_int_equal(f->s->logins, 2);
	assert_int_equal(f->s->hits, 2);
	assert_string_equal(f->s->last.cookie, "cg=2");
	/* The session is kept: no further log-in. */
	assert_int_equal(get(f, "/api/v1/classes/cgRequestsClass"), ERR_OK);
	assert_int_equal(f->s->logins, 2);
	for (int i = 0; i < log_n; i++)
		assert_null(strstr(log_lines[i], "pw-not-in-logs"));
	fx_free(f);
}

static void test_session_401_persists_fatal(void **state)
{
	int want = 99;
	struct fx *f = fx_new(s_session, &want);

	f->cfg.auth = HTTP_AUTH_CG_SESSION;
	f->cfg.username = "gateway";
	f->cfg.password = "pw-not-in-logs";
	fx_client(f);
	assert_int_equal(get(f, "/api/v1/classes/cgRequestsClass"), ERR_FATAL);
	assert_int_equal(f->s->logins, 2);
	assert_int_equal(f->s->hits, 2);
	assert_non_null(strstr(f->e.msg, "401"));
	assert_null(strstr(f->e.msg, "pw-not-in-logs"));
	fx_free(f);
}

static void test_session_login_body_and_refusal(void **state)
{
	struct fx *f = fx_new(s_login_refused, NULL);

	f->cfg.auth = HTTP_AUTH_CG_SESSION;
	f->cfg.username = "gateway";
	f->cfg.password = "pw-not-in-logs";
	fx_client(f);
	assert_int_equal(get(f, "/api/v1/classes/cgRequestsClass"), ERR_FATAL);
	assert_int_equal(f->s->logins, 1);
	assert_int_equal(f->s->hits, 0);
	assert_non_null(strstr(f->e.msg, "Cartegraph log-in"));
	assert_null(strstr(f->e.msg, "pw-not-in-logs"));
	fx_free(f);
}

static void s_capture_login(struct srv *s, const struct call *c, struct reply *r)
{
	if (strstr(c->url, "/api/v1/authenticate"))
		snprintf(s->ctx, 1024, "%s", c->body);
}

static void test_session_login_request(void **state)
{
	char body[1024] = "";
	struct fx *f = fx_new(s_capture_login, body);

	f->cfg.auth = HTTP_AUTH_CG_SESSION;
	f->cfg.username = "gateway";
	f->cfg.password = "p\"w";
	fx_client(f);
	assert_int_equal(get(f, "/api/v1/classes/cgRequestsClass"), ERR_OK);
	assert_string_equal(
	    body, "{\"username\":\"gateway\",\"password\":\"p\\\"w\",\"isInternalRequest\":false}");
	fx_free(f);
}

static void test_connection_refused_temp(void **state)
{
	struct fx *f = fx_new(s_ok, NULL);
	char base[64];
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port that was free a moment ago and has no listener now. */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/api/v2", ntohs(sa.sin_port));
	f->cfg.base_url = base;
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_TEMP);
	assert_int_equal(f->resp.attempts, 3);
	assert_non_null(strstr(f->e.msg, "gave up after 3 attempts"));
	assert_backoffs(f, 2, (const uint64_t[]){100, 200});
	fx_free(f);
}

static void test_timeout_temp(void **state)
{
	int delay = 700;
	struct fx *f = fx_new(s_slow, &delay);

	f->cfg.timeout_ms = 150;
	f->cfg.max_attempts = 2;
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_TEMP);
	assert_int_equal(f->resp.attempts, 2);
	assert_non_null(strstr(f->e.msg, "gave up after 2 attempts"));
	fx_free(f);
}

static void test_token_bucket(void **state)
{
	struct fx *f = fx_new(s_ok, NULL);
	uint64_t start = f->fc.now;
	struct http_stats st;

	f->cfg.rate_per_minute = 20;
	f->cfg.burst = 3;
	fx_client(f);
	for (int i = 0; i < 7; i++)
		assert_int_equal(get(f, "/issues"), ERR_OK);
	/* 3 at once from the full bucket, then one per 3 s: 4 x 3 s. */
	assert_true(f->fc.now - start >= 12000);
	assert_true(f->fc.now - start <= 12010);
	http_stats_get(f->c, &st);
	assert_true(st.waited_ms >= 12000);
	/* The bucket refills while idle, but never beyond the burst. */
	f->fc.now += 600000;
	start = f->fc.now;
	for (int i = 0; i < 4; i++)
		assert_int_equal(get(f, "/issues"), ERR_OK);
	assert_true(f->fc.now - start >= 3000 && f->fc.now - start <= 3010);
	fx_free(f);
}

static void test_bearer_never_leaks(void **state)
{
	const char *token = "tok-08/12/2024-SECRET-abcdef";
	struct fx *f = fx_new(s_500_twice, NULL);
	char want[128];

	f->cfg.auth = HTTP_AUTH_BEARER;
	f->cfg.token = token;
	f->cfg.max_attempts = 2;
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_TEMP);
	snprintf(want, sizeof(want), "Bearer %s", token);
	assert_string_equal(f->s->last.auth, want);
	assert_null(strstr(f->e.msg, "SECRET"));
	assert_true(log_n > 0);
	for (int i = 0; i < log_n; i++)
		assert_null(strstr(log_lines[i], "SECRET"));
	fx_free(f);

	f = fx_new(s_422, NULL);
	f->cfg.auth = HTTP_AUTH_BEARER;
	f->cfg.token = token;
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_PERM);
	assert_null(strstr(f->e.msg, "SECRET"));
	fx_free(f);
}

static void test_basic_auth(void **state)
{
	struct fx *f = fx_new(s_ok, NULL);

	f->cfg.auth = HTTP_AUTH_BASIC;
	f->cfg.username = "user";
	f->cfg.password = "pass";
	fx_client(f);
	assert_int_equal(get(f, "/issues"), ERR_OK);
	assert_string_equal(f->s->last.auth, "Basic dXNlcjpwYXNz");
	fx_free(f);
}

static void test_config_checks(void **state)
{
	struct http_config cfg;
	struct http_client *c = NULL;
	struct err e;

	http_config_init(&cfg);
	assert_int_equal(http_client_new(&c, &cfg, &e), ERR_PERM);
	cfg.base_url = "http://example.org/api/v2";
	assert_int_equal(http_client_new(&c, &cfg, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "https"));
	cfg.base_url = "https://example.org/api/v2";
	cfg.auth = HTTP_AUTH_BEARER;
	assert_int_equal(http_client_new(&c, &cfg, &e), ERR_PERM);
	cfg.token = "t";
	assert_int_equal(http_client_new(&c, &cfg, &e), ERR_OK);
	http_client_free(c);
}

static void test_foreign_host_refused(void **state)
{
	struct fx *f = fx_new(s_ok, NULL);
	char same[128];

	fx_client(f);
	assert_int_equal(get(f, "http://127.0.0.2:1/steal"), ERR_PERM);
	assert_non_null(strstr(f->e.msg, "not on the API's host"));
	assert_int_equal(f->s->hits, 0);
	snprintf(same, sizeof(same), "http://127.0.0.1:%d/api/v2/issues?page=2", f->s->port);
	assert_int_equal(get(f, same), ERR_OK);
	assert_int_equal(f->s->hits, 1);
	fx_free(f);
}

static void test_query_helpers(void **state)
{
	struct buf u = BUF_INIT_CAP(1024);

	buf_adds(&u, "/issues");
	assert_int_equal(http_query_add(&u, "status", "open,acknowledged"), ERR_OK);
	assert_int_equal(http_query_add(&u, "updated_at_after", "2026-01-01T00:00:00Z"), ERR_OK);
	assert_int_equal(http_query_add(&u, "q", "a b&c"), ERR_OK);
	assert_string_equal(buf_str(&u), "/issues?status=open%2Cacknowledged"
	                                 "&updated_at_after=2026-01-01T00%3A00%3A00Z&q=a%20b%26c");
	buf_release(&u);
	buf_adds(&u, "/classes/");
	assert_int_equal(http_escape_add(&u, "a/b"), ERR_OK);
	assert_string_equal(buf_str(&u), "/classes/a%2Fb");
	buf_release(&u);
}

/* ---- concurrent ---- */

struct tally {
	int done, ok, fatal, temp;
	int calls[64];
	struct srv *srv;   /* if set: */
	int hits_at_fatal; /* requests the server had seen at the first fatal */
};

static void on_done(void *user, enum err_status st, struct http_response *resp, const struct err *e)
{
	struct tally *t = user;

	t->done++;
	t->ok += st == ERR_OK;
	if (st == ERR_FATAL && !t->fatal && t->srv) {
		pthread_mutex_lock(&t->srv->mu);
		t->hits_at_fatal = t->srv->hits;
		pthread_mutex_unlock(&t->srv->mu);
	}
	t->fatal += st == ERR_FATAL;
	t->temp += st == ERR_TEMP;
}

struct one {
	struct tally *t;
	int i;
};

static void on_done_one(void *user, enum err_status st, struct http_response *resp,
                        const struct err *e)
{
	struct one *o = user;

	o->t->calls[o->i]++;
	on_done(o->t, st, resp, e);
}

static void test_multi_concurrency(void **state)
{
	int delay = 50;
	struct fx *f = fx_new(s_slow, &delay);
	struct tally t = {0};
	struct http_stats st;
	uint64_t t0, elapsed;

	f->cfg.clock = NULL; /* real time */
	f->cfg.concurrency = 4;
	fx_client(f);
	for (int i = 0; i < 40; i++)
		assert_int_equal(
		    http_submit(f->c, "GET", "/issues", NULL, NULL, on_done, &t, &f->e), ERR_OK);
	t0 = when_mono_ms();
	assert_int_equal(http_drain(f->c, &f->e), ERR_OK);
	elapsed = when_mono_ms() - t0;
	assert_int_equal(t.done, 40);
	assert_int_equal(t.ok, 40);
	assert_int_equal(f->s->hits, 40);
	assert_int_equal(f->s->max_in_flight, 4);
	/* Serial would be 40 x 50 ms = 2000 ms; 4 in flight ~ 500 ms.  The
	 * time is printed, not asserted (a loaded machine is slow): the
	 * concurrency itself is asserted above, as the server saw it. */
	print_message("40 requests, 50 ms each, concurrency 4: %llu ms\n",
	              (unsigned long long)elapsed);
	/* Keep-alive: connections are reused, not one per request. */
	print_message("TCP connections: %d\n", f->s->connections);
	assert_true(f->s->connections <= 8);
	http_stats_get(f->c, &st);
	assert_int_equal(st.requests, 40);
	fx_free(f);
}

/* http_step hands completions back without running the queue dry: a
 * step with a short wait returns while a slow request is still on the
 * wire, the caller submits between steps, and every request ends once. */
static void test_multi_step(void **state)
{
	int delay = 150;
	struct fx *f = fx_new(s_slow, &delay);
	struct tally t = {0};
	int steps = 0, short_steps = 0, submitted = 0;
	uint64_t t0, t1;

	(void)state;
	f->cfg.clock = NULL; /* real time */
	f->cfg.concurrency = 1;
	fx_client(f);
	assert_int_equal(http_pending(f->c), 0);
	assert_int_equal(http_step(f->c, 20, &f->e), ERR_OK); /* nothing to do */
	for (int i = 0; i < 2; i++)
		assert_int_equal(
		    http_submit(f->c, "GET", "/issues", NULL, NULL, on_done, &t, &f->e), ERR_OK);
	assert_int_equal(http_pending(f->c), 2);
	t0 = when_mono_ms();
	while (http_pending(f->c) && when_mono_ms() - t0 < 10000) {
		int before = t.done;

		t1 = when_mono_ms();
		assert_int_equal(http_step(f->c, 20, &f->e), ERR_OK);
		steps++;
		/* A step that saw nothing end came back within its wait
		 * (plus scheduling), not at the 150 ms reply. */
		if (t.done == before && when_mono_ms() - t1 < 120)
			short_steps++;
		if (t.done == 1 && !submitted) {
			submitted = 1;
			assert_int_equal(http_submit(f->c, "GET", "/between-steps", NULL, NULL,
			                             on_done, &t, &f->e),
			                 ERR_OK);
		}
	}
	assert_int_equal(http_pending(f->c), 0);
	assert_int_equal(t.done, 3);
	assert_int_equal(t.ok, 3);
	assert_int_equal(f->s->hits, 3);
	assert_true(steps > 3);
	assert_true(short_steps > 0);
	fx_free(f);
}

/* http_cancel completes what is queued with ERR_TEMP, telling each done(). */
static void test_multi_cancel(void **state)
{
	int delay = 150;
	struct fx *f = fx_new(s_slow, &delay);
	struct tally t = {0};

	(void)state;
	f->cfg.clock = NULL;
	f->cfg.concurrency = 1;
	fx_client(f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    http_submit(f->c, "GET", "/issues", NULL, NULL, on_done, &t, &f->e), ERR_OK);
	assert_int_equal(http_step(f->c, 0, &f->e), ERR_OK);
	http_cancel(f->c, "stopping early");
	assert_int_equal(http_pending(f->c), 0);
	assert_int_equal(t.done, 3);
	assert_int_equal(t.temp, 3);
	fx_free(f);
}

/* done() of a finished write runs while the next queued write is
 * already on the wire (the caller's disk work overlaps with it), and the
 * writes share one kept-alive connection. */
struct next_probe {
	struct fx *f;
	int done, saw_next;
};

static void on_done_next(void *user, enum err_status st, struct http_response *resp,
                         const struct err *e)
{
	struct next_probe *p = user;
	int hits = 0;

	(void)resp;
	if (st != ERR_OK)
		fail_msg("write %d: %s", p->done, e->msg);
	p->done++;
	if (p->done == 3)
		return;
	/* Up to 2 s for the server to see the next write (a loaded
	 * machine): without the overlap it never comes while we wait. */
	for (int i = 0; i < 2000 && hits <= p->done; i++) {
		pthread_mutex_lock(&p->f->s->mu);
		hits = p->f->s->hits;
		pthread_mutex_unlock(&p->f->s->mu);
		if (hits <= p->done)
			usleep(1000);
	}
	p->saw_next += hits > p->done;
}

static void test_multi_next_before_done(void **state)
{
	int delay = 20;
	struct fx *f = fx_new(s_slow, &delay);
	struct next_probe p = {f, 0, 0};

	f->cfg.clock = NULL; /* real time */
	f->cfg.concurrency = 1;
	f->cfg.max_attempts = 1;
	fx_client(f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(http_submit(f->c, "POST", "/api/v1/classes/cgRequestsClass", "{}",
		                             NULL, on_done_next, &p, &f->e),
		                 ERR_OK);
	assert_int_equal(http_drain(f->c, &f->e), ERR_OK);
	assert_int_equal(p.done, 3);
	assert_int_equal(f->s->hits, 3);
	assert_int_equal(p.saw_next, 2);
	assert_int_equal(f->s->connections, 1);
	fx_free(f);
}

/* Every fourth path fails once with 503: the others are not held up. */
static void s_some_fail_once(struct srv *s, const struct call *c, struct reply *r)
{
	static int failed[64];
	int n = (int)strtol(c->url + strlen("/api/v2/r/"), NULL, 10);

	if (n % 4 == 0 && !__atomic_exchange_n(&failed[n], 1, __ATOMIC_SEQ_CST))
		r->status = 503;
}

static void test_multi_retry(void **state)
{
	struct fx *f = fx_new(s_some_fail_once, NULL);
	struct tally t = {0};
	struct one ones[16];
	char path[32];

	f->cfg.concurrency = 3;
	fx_client(f);
	for (int i = 0; i < 16; i++) {
		ones[i].t = &t;
		ones[i].i = i;
		snprintf(path, sizeof(path), "/r/%d", i);
		assert_int_equal(
		    http_submit(f->c, "GET", path, NULL, NULL, on_done_one, &ones[i], &f->e),
		    ERR_OK);
	}
	assert_int_equal(http_drain(f->c, &f->e), ERR_OK);
	assert_int_equal(t.ok, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(t.calls[i], 1);
	assert_int_equal(f->s->hits, 20);
	fx_free(f);
}

static void s_one_blacklisted(struct srv *s, const struct call *c, struct reply *r)
{
	if (strstr(c->url, "/r/5"))
		s_blacklisted(s, c, r);
}

static void test_multi_fatal_stops(void **state)
{
	struct fx *f = fx_new(s_one_blacklisted, NULL);
	struct tally t = {0};
	struct one ones[30];
	char path[32];

	f->cfg.concurrency = 2;
	fx_client(f);
	t.srv = f->s;
	for (int i = 0; i < 30; i++) {
		ones[i].t = &t;
		ones[i].i = i;
		snprintf(path, sizeof(path), "/r/%d", i);
		assert_int_equal(
		    http_submit(f->c, "GET", path, NULL, NULL, on_done_one, &ones[i], &f->e),
		    ERR_OK);
	}
	assert_int_equal(http_drain(f->c, &f->e), ERR_FATAL);
	assert_true(strncmp(f->e.msg, "ALERT:", 6) == 0);
	assert_int_equal(t.done, 30);
	for (int i = 0; i < 30; i++)
		assert_int_equal(t.calls[i], 1);
	/* Nothing is sent once the alert is known: after the first fatal
	 * callback at most the other slot's request (already on its way)
	 * reaches the server, and every request never sent ends fatal.
	 * How many went out before the 403 came back depends on timing. */
	assert_true(t.fatal >= 1);
	assert_true(f->s->hits - t.hits_at_fatal <= (int)f->cfg.concurrency - 1);
	assert_true(f->s->hits < 30);
	assert_int_equal(t.ok + t.fatal, 30);
	assert_true(t.fatal >= 30 - f->s->hits);
	fx_free(f);
}

static void test_multi_rate_limited(void **state)
{
	struct fx *f = fx_new(s_ok, NULL);
	struct tally t = {0};
	uint64_t start = f->fc.now;

	f->cfg.rate_per_minute = 60;
	f->cfg.burst = 1;
	f->cfg.concurrency = 4;
	fx_client(f);
	for (int i = 0; i < 5; i++)
		assert_int_equal(http_submit(f->c, "GET", "/x", NULL, NULL, on_done, &t, &f->e),
		                 ERR_OK);
	assert_int_equal(http_drain(f->c, &f->e), ERR_OK);
	assert_int_equal(t.ok, 5);
	/* 1 per second: the fake clock only moves when nothing is in flight,
	 * so it moved at least 4 s (it may not move 1:1 with real waits). */
	assert_true(f->fc.now - start >= 4000);
	fx_free(f);
}

static void test_multi_session(void **state)
{
	int want = 1;
	struct fx *f = fx_new(s_session, &want);
	struct tally t = {0};

	f->cfg.auth = HTTP_AUTH_CG_SESSION;
	f->cfg.username = "gateway";
	f->cfg.password = "pw";
	fx_client(f);
	for (int i = 0; i < 6; i++)
		assert_int_equal(http_submit(f->c, "GET", "/x", NULL, NULL, on_done, &t, &f->e),
		                 ERR_OK);
	assert_int_equal(http_drain(f->c, &f->e), ERR_OK);
	assert_int_equal(t.ok, 6);
	assert_int_equal(f->s->logins, 1);
	fx_free(f);
}

/* A stop request during a 429's Retry-After: the request is not
 * repeated and ends ERR_TEMP "stopping", synchronous and concurrent. */
static void test_stop_ends_retry_after(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fx *f = fx_new(s_429_then_ok, UNCONST("900"));
	struct tally t = {0};

	fx_client(f);
	http_set_stop(f->c, &stop);
	f->fc.raise = &stop;
	assert_int_equal(get(f, "/issues"), ERR_TEMP);
	assert_non_null(strstr(f->e.msg, "stopping"));
	assert_int_equal(f->s->hits, 1);
	fx_free(f);

	stop = 0;
	f = fx_new(s_429_then_ok, UNCONST("900"));
	fx_client(f);
	http_set_stop(f->c, &stop);
	f->fc.raise = &stop;
	assert_int_equal(http_submit(f->c, "GET", "/issues", NULL, NULL, on_done, &t, &f->e),
	                 ERR_OK);
	assert_int_equal(http_drain(f->c, &f->e), ERR_TEMP);
	assert_int_equal(t.done, 1);
	assert_int_equal(t.temp, 1);
	assert_int_equal(f->s->hits, 1);
	fx_free(f);
}

static void *raise_later(void *arg)
{
	struct timespec ts = {0, 200L * 1000 * 1000};

	nanosleep(&ts, NULL);
	*(volatile sig_atomic_t *)arg = 1;
	return NULL;
}

/* The same on the real clock: a 900 s Retry-After ends within about
 * 100 ms of the stop request. */
static void test_stop_ends_real_wait(void **state)
{
	static volatile sig_atomic_t stop;
	struct fx *f = fx_new(s_429_then_ok, UNCONST("900"));
	struct timespec t0, t1;
	pthread_t th;
	long ms;

	stop = 0;
	f->cfg.clock = NULL; /* real time */
	fx_client(f);
	http_set_stop(f->c, &stop);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&th, NULL, raise_later, (void *)(uintptr_t)&stop), 0);
	assert_int_equal(get(f, "/issues"), ERR_TEMP);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(th, NULL);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 200 && ms < 1500);
	assert_non_null(strstr(f->e.msg, "stopping"));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ok_and_headers),
	    cmocka_unit_test(test_post_body_and_user_agent),
	    cmocka_unit_test(test_500_twice_then_ok),
	    cmocka_unit_test(test_500_gives_up_temp),
	    cmocka_unit_test(test_429_retry_after_seconds),
	    cmocka_unit_test(test_429_retry_after_date_and_default),
	    cmocka_unit_test(test_stop_ends_retry_after),
	    cmocka_unit_test(test_stop_ends_real_wait),
	    cmocka_unit_test(test_429_forever_is_temp),
	    cmocka_unit_test(test_body_over_cap),
	    cmocka_unit_test(test_redirect_login),
	    cmocka_unit_test(test_redirect_get),
	    cmocka_unit_test(test_redirect_create),
	    cmocka_unit_test(test_redirect_location_escaped),
	    cmocka_unit_test(test_tls_ca_file),
	    cmocka_unit_test(test_tls_scf_ca_file),
	    cmocka_unit_test(test_422_excerpt),
	    cmocka_unit_test(test_400_long_body_excerpt),
	    cmocka_unit_test(test_403_blacklisted_fatal),
	    cmocka_unit_test(test_403_plain_perm),
	    cmocka_unit_test(test_session_relogin_once),
	    cmocka_unit_test(test_session_401_persists_fatal),
	    cmocka_unit_test(test_session_login_body_and_refusal),
	    cmocka_unit_test(test_session_login_request),
	    cmocka_unit_test(test_connection_refused_temp),
	    cmocka_unit_test(test_timeout_temp),
	    cmocka_unit_test(test_token_bucket),
	    cmocka_unit_test(test_bearer_never_leaks),
	    cmocka_unit_test(test_basic_auth),
	    cmocka_unit_test(test_config_checks),
	    cmocka_unit_test(test_foreign_host_refused),
	    cmocka_unit_test(test_query_helpers),
	    cmocka_unit_test(test_multi_concurrency),
	    cmocka_unit_test(test_multi_next_before_done),
	    cmocka_unit_test(test_multi_step),
	    cmocka_unit_test(test_multi_cancel),
	    cmocka_unit_test(test_multi_retry),
	    cmocka_unit_test(test_multi_fatal_stops),
	    cmocka_unit_test(test_multi_rate_limited),
	    cmocka_unit_test(test_multi_session),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
