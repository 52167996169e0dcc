/*
 * http.c: the shared HTTP client (libcurl easy + multi).  See http.h for
 * the contract.
 *
 * Every transfer, synchronous or concurrent, goes through the same three
 * steps: limiter_take() (the token bucket or the external limiter),
 * transfer_new() (an easy handle
 * on the client's shared cookie jar and connection cache), and judge()
 * (what the outcome means: done, retry after a wait, or log in again).
 * The synchronous path sleeps through the clock hook; the concurrent
 * path parks a retrying request in the queue with a not-before time.
 */
#include "http.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "log.h"
#include "notify.h"
#include "sigs.h"
#include "when.h"

#ifndef SCFGATE_VERSION
#define SCFGATE_VERSION "dev"
#endif

#define EXCERPT_MAX    300
#define BLACKLIST_TEXT "forbidden by administrative rules"

struct http_req {
	struct http_client *c;
	char *method;
	char *url;
	char *path; /* as the caller wrote it, for messages */
	char *body;
	char *content_type;
	int is_login;

	struct http_response resp;
	char retry_after[64];
	enum err_status write_status; /* ERR_PERM: over the cap */
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers;
	CURL *easy;

	unsigned failures; /* 5xx / network failures so far */
	unsigned n429;     /* consecutive 429s */
	unsigned relogins;
	unsigned sends;       /* times this attempt's request was about to go out */
	int resend_cut;       /* the attempt ended because libcurl would have re-sent */
	unsigned session_gen; /* session the last attempt was made with */
	uint64_t not_before;
	uint64_t ticket; /* the external limiter's, while a transfer runs */
	int ticketed;

	http_done_fn done;
	void *user;
	struct http_req *next;
	enum err_status end_status; /* collect: the outcome done() is told */
	struct err end_err;
};

struct http_client {
	struct http_config cfg;
	char *base_url;
	char *token;
	char *username;
	char *password;
	char *user_agent;
	char *ca_file;
	char *auth_header;
	int https;

	struct http_clock clock;
	double tokens;
	uint64_t refill_at;
	uint64_t rng;

	CURLSH *share;
	CURLM *multi;
	unsigned session_gen;                /* bumped by every successful log-in */
	struct http_req *queue, *queue_tail; /* waiting to start */
	struct http_req *active;             /* in the multi handle */
	unsigned in_flight;

	struct http_stats stats;
	volatile sig_atomic_t *stop; /* see http_set_stop */
};

enum verdict {
	V_DONE,
	V_RETRY,
	V_RELOGIN,
};

/* ---- clock ---- */

static uint64_t real_now_ms(void *ctx)
{
	(void)ctx;
	return when_mono_ms();
}

static void real_sleep_ms(void *ctx, uint64_t ms)
{
	(void)ctx;
	sigs_wait_ms(NULL, ms);
}

static const struct http_clock real_clock = {real_now_ms, real_sleep_ms, NULL};

static uint64_t now_ms(struct http_client *c)
{
	return c->clock.now_ms(c->clock.ctx);
}

static int stopping(const struct http_client *c)
{
	return c->stop && *c->stop;
}

/* 1 if the half is stopping: the wait was cut short (or not begun) and
 * the caller gives up instead of making the request. */
static int sleep_ms(struct http_client *c, uint64_t ms)
{
	if (!ms)
		return stopping(c);
	c->stats.waited_ms += ms;
	if (c->clock.sleep_ms == real_sleep_ms)
		return sigs_wait_ms(c->stop, ms);
	c->clock.sleep_ms(c->clock.ctx, ms);
	return stopping(c);
}

/* xorshift64*: jitter only, no security role. */
static uint64_t rng_next(struct http_client *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 2685821657736338717ull;
}

/* ---- token bucket ---- */

/* Takes a token and returns 0, or returns how long until one is free. */
static uint64_t limiter_wait(struct http_client *c)
{
	double per_ms = c->cfg.rate_per_minute / 60000.0;
	uint64_t now;

	if (c->cfg.rate_per_minute <= 0)
		return 0;
	now = now_ms(c);
	c->tokens += (double)(now - c->refill_at) * per_ms;
	if (c->tokens > c->cfg.burst)
		c->tokens = c->cfg.burst;
	c->refill_at = now;
	if (c->tokens >= 1.0) {
		c->tokens -= 1.0;
		return 0;
	}
	return (uint64_t)ceil((1.0 - c->tokens) / per_ms);
}

/* The limiter in use: the external one if configured.  ERR_OK with
 * *wait 0: r may start (and is counted); *wait > 0: not yet. */
static enum err_status limiter_take(struct http_client *c, struct http_req *r, uint64_t *wait,
                                    struct err *e)
{
	const struct http_limiter *l = c->cfg.limiter;
	enum err_status st;
	struct err le;

	if (!l) {
		*wait = limiter_wait(c);
		return ERR_OK;
	}
	err_clear(&le);
	st = l->acquire(l->ctx, wait, &r->ticket, &le);
	if (st != ERR_OK) {
		if (e)
			*e = le;
		return st;
	}
	r->ticketed = !*wait;
	return ERR_OK;
}

/* The transfer r made has ended: the external limiter counts it from now. */
static void limiter_done(struct http_client *c, struct http_req *r)
{
	if (r->ticketed && c->cfg.limiter)
		c->cfg.limiter->release(c->cfg.limiter->ctx, r->ticket);
	r->ticketed = 0;
}

/* ---- configuration and lifetime ---- */

void http_config_init(struct http_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->auth = HTTP_AUTH_NONE;
	cfg->connect_timeout_ms = 10000;
	cfg->timeout_ms = 60000;
	cfg->body_cap = (size_t)16 * 1024 * 1024;
	cfg->rate_per_minute = 0;
	cfg->burst = 1;
	cfg->max_attempts = 5;
	cfg->backoff_base_ms = 1000;
	cfg->backoff_max_ms = 60000;
	cfg->retry_after_max_ms = 15L * 60 * 1000;
	cfg->max_429 = 10;
	cfg->concurrency = 4;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int is_loopback(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ||
	       strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

/* Plain http is for the loopback simulators only: credentials never
 * cross a network in clear text. */
static enum err_status check_base_url(struct http_client *c, struct err *e)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL;
	enum err_status st = ERR_OK;

	if (!u)
		return err_set(e, ERR_FATAL, "http: out of memory");
	if (curl_url_set(u, CURLUPART_URL, c->base_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		st = err_set(e, ERR_PERM, "http: the base URL is not a URL");
		goto out;
	}
	/* The URL shows up in messages; credentials belong in their files. */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		st = err_set(e, ERR_PERM, "http: the base URL must not hold credentials");
		goto out;
	}
	c->https = strcmp(scheme, "https") == 0;
	if (!c->https && !(strcmp(scheme, "http") == 0 && is_loopback(host)))
		st = err_set(e, ERR_PERM,
		             "http: base URL '%s' must be https (http only on loopback)",
		             c->base_url);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return st;
}

static enum err_status check_config(const struct http_config *cfg, struct err *e)
{
	if (!cfg->base_url || !*cfg->base_url)
		return err_set(e, ERR_PERM, "http: no base URL");
	if (cfg->auth == HTTP_AUTH_BEARER && (!cfg->token || !*cfg->token))
		return err_set(e, ERR_PERM, "http: bearer auth without a token");
	if ((cfg->auth == HTTP_AUTH_BASIC || cfg->auth == HTTP_AUTH_CG_SESSION) &&
	    (!cfg->username || !cfg->password))
		return err_set(e, ERR_PERM, "http: auth needs a user name and a password");
	if (cfg->auth == HTTP_AUTH_BEARER && strpbrk(cfg->token, "\r\n"))
		return err_set(e, ERR_PERM, "http: the token contains a line break");
	return ERR_OK;
}

static enum err_status make_auth_header(struct http_client *c, struct err *e)
{
	size_t n;

	if (c->cfg.auth != HTTP_AUTH_BEARER)
		return ERR_OK;
	n = strlen(c->token) + sizeof("Authorization: Bearer ");
	c->auth_header = malloc(n);
	if (!c->auth_header)
		return err_set(e, ERR_FATAL, "http: out of memory");
	snprintf(c->auth_header, n, "Authorization: Bearer %s", c->token);
	return ERR_OK;
}

static enum err_status make_curl(struct http_client *c, struct err *e)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, ERR_FATAL, "http: libcurl initialisation failed");
	c->share = curl_share_init();
	c->multi = curl_multi_init();
	if (!c->share || !c->multi)
		return err_set(e, ERR_FATAL, "http: libcurl initialisation failed");
	/* One process-wide view of cookies (the Cartegraph session),
	 * connections and TLS sessions, for easy and multi transfers alike. */
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return ERR_OK;
}

enum err_status http_client_new(struct http_client **out, const struct http_config *cfg,
                                struct err *e)
{
	struct http_client *c;
	enum err_status st;

	*out = NULL;
	st = check_config(cfg, e);
	if (st != ERR_OK)
		return st;
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(e, ERR_FATAL, "http: out of memory");
	c->cfg = *cfg;
	c->base_url = strdup(cfg->base_url);
	c->token = dup_or_null(cfg->token);
	c->username = dup_or_null(cfg->username);
	c->password = dup_or_null(cfg->password);
	c->user_agent = strdup(cfg->user_agent ? cfg->user_agent : "scfgate/" SCFGATE_VERSION);
	c->ca_file = dup_or_null(cfg->ca_file);
	c->cfg.token = c->cfg.username = c->cfg.password = NULL;
	if (!c->base_url || !c->user_agent || (cfg->token && !c->token) ||
	    (cfg->username && !c->username) || (cfg->password && !c->password) ||
	    (cfg->ca_file && !c->ca_file)) {
		st = err_set(e, ERR_FATAL, "http: out of memory");
		goto fail;
	}
	while (*c->base_url && c->base_url[strlen(c->base_url) - 1] == '/')
		c->base_url[strlen(c->base_url) - 1] = '\0';
	if (c->cfg.burst < 1)
		c->cfg.burst = 1;
	if (c->cfg.max_attempts < 1)
		c->cfg.max_attempts = 1;
	if (c->cfg.concurrency < 1)
		c->cfg.concurrency = 1;
	c->clock = cfg->clock ? *cfg->clock : real_clock;
	c->tokens = c->cfg.burst;
	c->refill_at = now_ms(c);
	c->rng = real_now_ms(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)c;
	if (!c->rng)
		c->rng = 1;
	st = check_base_url(c, e);
	if (st == ERR_OK)
		st = make_auth_header(c, e);
	if (st == ERR_OK)
		st = make_curl(c, e);
	if (st != ERR_OK)
		goto fail;
	*out = c;
	return ERR_OK;
fail:
	http_client_free(c);
	return st;
}

static void req_free(struct http_req *r);

void http_client_free(struct http_client *c)
{
	struct http_req *r;

	if (!c)
		return;
	while ((r = c->queue) != NULL) {
		c->queue = r->next;
		req_free(r);
	}
	while ((r = c->active) != NULL) {
		c->active = r->next;
		curl_multi_remove_handle(c->multi, r->easy);
		limiter_done(c, r);
		req_free(r);
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->share)
		curl_share_cleanup(c->share);
	free(c->base_url);
	free_secret(c->token);
	free_secret(c->username);
	free_secret(c->password);
	free_secret(c->auth_header);
	free(c->user_agent);
	free(c->ca_file);
	free(c);
}

void http_stats_get(const struct http_client *c, struct http_stats *out)
{
	*out = c->stats;
}

void http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 0);
}

void http_response_release(struct http_response *r)
{
	buf_release(&r->body);
	r->status = 0;
	r->content_type[0] = r->etag[0] = r->location[0] = r->date[0] = '\0';
	r->attempts = 0;
}

/* ---- URLs ---- */

static int same_origin(const char *a, const char *b)
{
	static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
	CURLU *ua = curl_url(), *ub = curl_url();
	int same = ua && ub && curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
	           curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK;

	for (size_t i = 0; same && i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *pa = NULL, *pb = NULL;

		same = curl_url_get(ua, parts[i], &pa, CURLU_DEFAULT_PORT) == CURLUE_OK &&
		       curl_url_get(ub, parts[i], &pb, CURLU_DEFAULT_PORT) == CURLUE_OK &&
		       strcasecmp(pa, pb) == 0;
		curl_free(pa);
		curl_free(pb);
	}
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

static char *join_url(struct http_client *c, const char *path, struct err *e)
{
	struct buf u = BUF_INIT_CAP((size_t)64 * 1024);

	if (strncasecmp(path, "http://", 7) == 0 || strncasecmp(path, "https://", 8) == 0) {
		if (!same_origin(c->base_url, path)) {
			err_set(e, ERR_PERM, "http: URL '%.200s' is not on the API's host", path);
			return NULL;
		}
		buf_adds(&u, path);
	} else if (buf_adds(&u, c->base_url) || (*path != '/' && buf_adds(&u, "/")) ||
	           buf_adds(&u, path)) {
		err_set(e, ERR_PERM, "http: URL for '%.200s' too long", path);
		buf_release(&u);
		return NULL;
	}
	return buf_detach(&u, NULL);
}

enum err_status http_escape_add(struct buf *url, const char *s)
{
	char *esc = curl_easy_escape(NULL, s, 0);
	enum err_status st;

	if (!esc)
		return ERR_TEMP;
	st = buf_adds(url, esc);
	curl_free(esc);
	return st;
}

enum err_status http_query_add(struct buf *url, const char *key, const char *value)
{
	enum err_status st;

	st = buf_adds(url, strchr(buf_str(url), '?') ? "&" : "?");
	if (st == ERR_OK)
		st = http_escape_add(url, key);
	if (st == ERR_OK)
		st = buf_adds(url, "=");
	if (st == ERR_OK)
		st = http_escape_add(url, value ? value : "");
	return st;
}

/* ---- one request ---- */

static void req_free(struct http_req *r)
{
	if (!r)
		return;
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->method);
	free(r->url);
	free(r->path);
	free_secret(r->body); /* the log-in body holds the password */
	free(r->content_type);
	http_response_release(&r->resp);
	free(r);
}

static struct http_req *req_new(struct http_client *c, const char *method, const char *path,
                                const char *body, const char *content_type, struct err *e)
{
	struct http_req *r = calloc(1, sizeof(*r));

	if (!r) {
		err_set(e, ERR_TEMP, "http: out of memory");
		return NULL;
	}
	r->c = c;
	http_response_init(&r->resp);
	buf_init(&r->resp.body, c->cfg.body_cap);
	r->url = join_url(c, path, e);
	if (!r->url)
		goto fail;
	r->method = strdup(method ? method : "GET");
	r->path = strdup(path);
	r->body = dup_or_null(body);
	r->content_type =
	    dup_or_null(body ? (content_type ? content_type : "application/json") : NULL);
	if (!r->method || !r->path || (body && (!r->body || !r->content_type))) {
		err_set(e, ERR_TEMP, "http: out of memory");
		goto fail;
	}
	return r;
fail:
	req_free(r);
	return NULL;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;

	r->write_status = buf_add(&r->resp.body, data, size * n);
	return r->write_status ? 0 : size * n;
}

static void copy_header_value(char *dst, size_t dst_size, const char *v, size_t len)
{
	while (len && isspace((unsigned char)*v))
		v++, len--;
	while (len && isspace((unsigned char)v[len - 1]))
		len--;
	if (len >= dst_size)
		len = dst_size - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	static const struct {
		const char *name;
		size_t off;
		size_t size;
	} wanted[] = {
	    {"retry-after:", offsetof(struct http_req, retry_after), 64},
	    {"content-type:", offsetof(struct http_req, resp.content_type), 128},
	    {"etag:", offsetof(struct http_req, resp.etag), 128},
	    {"location:", offsetof(struct http_req, resp.location), 1024},
	    {"date:", offsetof(struct http_req, resp.date), 64},
	};
	struct http_req *r = arg;
	size_t len = size * n;

	/* A new status line (after a redirect or 100): forget old headers. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		r->retry_after[0] = r->resp.content_type[0] = '\0';
		r->resp.etag[0] = r->resp.location[0] = r->resp.date[0] = '\0';
		return len;
	}
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		size_t nl = strlen(wanted[i].name);

		if (len > nl && strncasecmp(data, wanted[i].name, nl) == 0)
			copy_header_value((char *)r + wanted[i].off, wanted[i].size, data + nl,
			                  len - nl);
	}
	return len;
}

static int slist_add(struct curl_slist **list, const char *line)
{
	struct curl_slist *t = curl_slist_append(*list, line);

	if (!t)
		return -1;
	*list = t;
	return 0;
}

/* The token header goes to the base URL's host only: redirects are
 * never followed (transfer_new). */
static enum err_status set_headers(struct http_req *r)
{
	char ct[160];
	int bad = slist_add(&r->headers, "Accept: application/json");

	if (!bad && r->c->auth_header)
		bad = slist_add(&r->headers, r->c->auth_header);
	if (!bad && r->content_type) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", r->content_type);
		bad = slist_add(&r->headers, ct);
	}
	if (!bad) /* no "100-continue" round trip before small JSON bodies */
		bad = slist_add(&r->headers, "Expect:");
	return bad ? ERR_TEMP : ERR_OK;
}

/* Called each time the request is about to be sent on a connection.
 * libcurl sends a request again, silently, when the kept-alive
 * connection it went out on closes before any byte of a reply: the
 * server may have read and applied it first (it died after reading), so
 * for a write that would be an invisible duplicate (a second Cartegraph
 * request).  The second send of one attempt is refused instead; the
 * attempt ends as a network failure "in doubt", and whether it is made
 * again is the caller's visible decision (the OMS half looks a create
 * up first). */
static int on_send(void *arg, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                   int conn_local_port)
{
	struct http_req *r = arg;

	(void)conn_primary_ip;
	(void)conn_local_ip;
	(void)conn_primary_port;
	(void)conn_local_port;
	if (r->sends++ == 0)
		return CURL_PREREQFUNC_OK;
	r->resend_cut = 1;
	return CURL_PREREQFUNC_ABORT;
}

static void set_method(struct http_req *r)
{
	CURL *h = r->easy;

	if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		return;
	}
	/* A write goes out on a kept-alive connection like a read (no
	 * handshake per call), but never twice within one attempt: see
	 * on_send. */
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_send);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, r);
	if (strcmp(r->method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	if (r->body || strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(r->body ? strlen(r->body) : 0));
	}
}

/* Ready r->easy for one attempt. */
static enum err_status transfer_new(struct http_req *r, struct err *e)
{
	struct http_client *c = r->c;
	CURL *h;

	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	r->headers = NULL;
	r->easy = h = curl_easy_init();
	if (!h || set_headers(r))
		return err_set(e, ERR_TEMP, "http: out of memory");
	buf_reset(&r->resp.body);
	r->write_status = ERR_OK;
	r->errbuf[0] = r->retry_after[0] = '\0';
	r->resp.status = 0;
	r->session_gen = c->session_gen;
	r->sends = 0;
	r->resend_cut = 0;

	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->cfg.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->cfg.timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->https ? "https" : "http");
	/* Never follow a redirect: the Authorization header, the basic-auth
	 * user and password, and the log-in body would go to wherever the
	 * Location points.  judge() turns a 3xx into an error naming it. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	if (c->cfg.auth == HTTP_AUTH_BASIC) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	}
	set_method(r);

	if (r->resp.attempts)
		c->stats.retries++;
	r->resp.attempts++;
	c->stats.requests++;
	return ERR_OK;
}

/* ---- classification ---- */

/* A request that may change something on the server. */
static int is_write(const struct http_req *r)
{
	return strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
}

/* The first bytes of a body, on one line, for error messages. */
static void excerpt(const struct buf *b, char *out, size_t size)
{
	size_t n = b->len < EXCERPT_MAX ? b->len : EXCERPT_MAX;

	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)b->data[i];

		out[i] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[n] = '\0';
	if (b->len > n && n >= 3)
		memcpy(out + n - 3, "...", 3);
}

static uint64_t retry_after_ms(struct http_client *c, const char *v)
{
	uint64_t ms = 60000;
	char *end;

	if (*v) {
		unsigned long long s = strtoull(v, &end, 10);

		if (end != v && *end == '\0' && *v != '-') {
			ms = s < UINT64_MAX / 1000 ? s * 1000ull : UINT64_MAX;
		} else {
			time_t when = curl_getdate(v, NULL);
			time_t now = time(NULL);

			if (when > 0)
				ms = when > now ? (uint64_t)(when - now) * 1000ull : 0;
		}
	}
	if (c->cfg.retry_after_max_ms > 0 && ms > (uint64_t)c->cfg.retry_after_max_ms)
		ms = (uint64_t)c->cfg.retry_after_max_ms;
	return ms;
}

/* Full jitter: random(0, min(max, base * 2^(n-1))). */
static uint64_t backoff_ms(struct http_client *c, unsigned failures)
{
	uint64_t ceiling = (uint64_t)(c->cfg.backoff_base_ms > 0 ? c->cfg.backoff_base_ms : 1);
	uint64_t max = (uint64_t)(c->cfg.backoff_max_ms > 0 ? c->cfg.backoff_max_ms : 1);

	for (unsigned i = 1; i < failures && ceiling < max; i++)
		ceiling *= 2;
	if (ceiling > max)
		ceiling = max;
	return rng_next(c) % (ceiling + 1);
}

static int curl_is_permanent(CURLcode rc)
{
	return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
	       rc == CURLE_BAD_CONTENT_ENCODING;
}

static int curl_is_tls_trust(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_CERTPROBLEM;
}

static enum verdict retry_or_give_up(struct http_client *c, struct http_req *r, const char *why,
                                     enum err_status *st, struct err *e, uint64_t *wait)
{
	r->failures++;
	if (r->failures >= c->cfg.max_attempts) {
		*st = err_set(e, ERR_TEMP, "%s %s: %s (gave up after %u attempts)", r->method,
		              r->path, why, r->failures);
		return V_DONE;
	}
	*wait = backoff_ms(c, r->failures);
	log_warn("http: retry=%u/%u method=%s path=%s reason=%s wait_ms=%llu", r->failures,
	         c->cfg.max_attempts, r->method, r->path, log_q(why), (unsigned long long)*wait);
	return V_RETRY;
}

static enum verdict judge_network(struct http_client *c, struct http_req *r, CURLcode rc,
                                  enum err_status *st, struct err *e, uint64_t *wait)
{
	char why[CURL_ERROR_SIZE + 64];

	if (rc == CURLE_WRITE_ERROR && r->write_status == ERR_PERM) {
		/* Not a property of the record: the server answered, so a
		 * write may have taken effect.  ERR_TEMP sends the caller down
		 * its in-doubt path (a create is looked up before any retry);
		 * repeating here would only fetch the same body again. */
		*st = err_set(e, ERR_TEMP, "%s %s: response body over the %zu-byte cap%s",
		              r->method, r->path, r->resp.body.cap,
		              is_write(r) ? " (the server may have applied the request: in doubt)"
		                          : "");
		return V_DONE;
	}
	if (r->resend_cut)
		snprintf(why, sizeof(why),
		         "the kept-alive connection closed before any reply (the server may have "
		         "applied the request: in doubt)");
	else
		snprintf(why, sizeof(why), "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
	if (curl_is_tls_trust(rc)) {
		*st = err_set(e, ERR_FATAL, "%s %s: TLS verification failed: %s", r->method,
		              r->path, why);
		return V_DONE;
	}
	if (curl_is_permanent(rc)) {
		*st = err_set(e, ERR_PERM, "%s %s: %s", r->method, r->path, why);
		return V_DONE;
	}
	return retry_or_give_up(c, r, why, st, e, wait);
}

static enum verdict judge_4xx(struct http_client *c, struct http_req *r, const char *body,
                              enum err_status *st, struct err *e)
{
	long s = r->resp.status;

	if (s == 401 && c->cfg.auth == HTTP_AUTH_CG_SESSION && !r->is_login && !r->relogins) {
		r->relogins++;
		return V_RELOGIN;
	}
	if (s == 401) {
		*st =
		    err_set(e, ERR_FATAL, "%s %s: HTTP 401: credentials rejected%s: %s", r->method,
		            r->path, r->relogins ? " after logging in again" : "", body);
		return V_DONE;
	}
	if (s == 403 && strcasestr(r->resp.body.data ? r->resp.body.data : "", BLACKLIST_TEXT)) {
		char next[96] = "";

		if (c->cfg.limiter) {
			char when[WHEN_UTC_SIZE];

			when_utc(c->cfg.limiter->hold(c->cfg.limiter->ctx, 0, 1), when);
			snprintf(next, sizeof(next), "; no call is made before %s", when);
		}
		*st =
		    err_set(e, ERR_FATAL,
		            "ALERT: %s %s: HTTP 403 \"forbidden by administrative rules\": the "
		            "API blocked this client for rate-limit abuse%s; stop and contact the "
		            "API provider",
		            r->method, r->path, next);
		log_alert("http: blocked=1 status=403 method=%s path=%s reason=\"forbidden by "
		          "administrative rules\"",
		          r->method, r->path);
		return V_DONE;
	}
	*st = err_set(e, ERR_PERM, "HTTP %ld %s %s: %s", s, r->method, r->path, body);
	return V_DONE;
}

/* The Location header for a message: printable ASCII only (anything
 * else, and the quote and backslash, as \xNN), at most ~200 bytes. */
static void location_excerpt(const char *loc, char *out, size_t size)
{
	size_t o = 0;

	if (!*loc) {
		snprintf(out, size, "(none)");
		return;
	}
	for (; *loc && o + 8 < size; loc++) {
		unsigned char ch = (unsigned char)*loc;

		if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\')
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	if (*loc)
		o += (size_t)snprintf(out + o, size - o, "...");
	out[o] = '\0';
}

/* A 3xx other than 304.  Never followed (credentials would go to the
 * Location's host) and never repeated here: always ERR_FATAL, because
 * it does not go away by waiting and a person must fix the base URL or
 * whatever sits between us and the API.  See http.h for what a write's
 * outcome means. */
static enum verdict judge_redirect(struct http_req *r, enum err_status *st, struct err *e)
{
	char loc[224];
	long s = r->resp.status;
	const char *doubt = "";

	location_excerpt(r->resp.location, loc, sizeof(loc));
	if (is_write(r) && !r->is_login)
		doubt = (s == 307 || s == 308)
		            ? "; the server says the request must go elsewhere, so it most likely "
		              "did not act on it, but that is not relied on"
		            : "; the server may have acted on it before redirecting (in doubt)";
	*st = err_set(e, ERR_FATAL,
	              "HTTP %ld %s %s: redirect to \"%s\" not followed (API requests never "
	              "follow redirects; the base URL is wrong or something between us and the "
	              "API redirects)%s",
	              s, r->method, r->path, loc, doubt);
	return V_DONE;
}

/* What the attempt just made means.  *st and e are set for V_DONE. */
static enum verdict judge(struct http_client *c, struct http_req *r, CURLcode rc,
                          enum err_status *st, struct err *e, uint64_t *wait)
{
	char body[EXCERPT_MAX + 1];
	char why[EXCERPT_MAX + 64];
	long s;

	*wait = 0;
	*st = ERR_OK;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->resp.status);
	if (rc != CURLE_OK) {
		c->stats.network++;
		return judge_network(c, r, rc, st, e, wait);
	}
	s = r->resp.status;
	if (s >= 200 && s < 300) {
		c->stats.ok_2xx++;
		c->stats.last_success = time(NULL);
	} else if (s >= 500) {
		c->stats.status_5xx++;
	} else if (s >= 400 && s != 429) {
		c->stats.status_4xx++;
	} else if (s != 429) {
		c->stats.status_3xx++;
	}
	if (s != 429)
		r->n429 = 0;
	if (s >= 300 && s < 400 && s != 304)
		return judge_redirect(r, st, e);
	if (s >= 200 && s < 400)
		return V_DONE;
	if (s == 429) {
		c->stats.status_429++;
		if (++r->n429 > c->cfg.max_429) {
			*st = err_set(e, ERR_TEMP, "%s %s: HTTP 429 %u times in a row", r->method,
			              r->path, r->n429);
			return V_DONE;
		}
		*wait = retry_after_ms(c, r->retry_after);
		if (c->cfg.limiter)
			c->cfg.limiter->hold(c->cfg.limiter->ctx, *wait, 0);
		log_warn("http: status=429 method=%s path=%s wait_ms=%llu", r->method, r->path,
		         (unsigned long long)*wait);
		return V_RETRY;
	}
	excerpt(&r->resp.body, body, sizeof(body));
	if (s >= 500 || s == 408) {
		snprintf(why, sizeof(why), "HTTP %ld: %s", s, body);
		return retry_or_give_up(c, r, why, st, e, wait);
	}
	return judge_4xx(c, r, body, st, e);
}

/* ---- synchronous ---- */

static enum err_status login(struct http_client *c, struct err *e);

static enum err_status run_sync(struct http_client *c, struct http_req *r, struct err *e)
{
	enum err_status st;
	uint64_t wait;

	for (;;) {
		CURLcode rc;

		notify_watchdog(); /* a pass of many requests is alive */
		st = limiter_take(c, r, &wait, e);
		if (st != ERR_OK)
			return st;
		if (wait) {
			if (sleep_ms(c, wait))
				return err_set(e, ERR_TEMP, "%s %s: not sent: stopping", r->method,
				               r->path);
			continue;
		}
		st = transfer_new(r, e);
		if (st != ERR_OK) {
			limiter_done(c, r);
			return st;
		}
		rc = curl_easy_perform(r->easy);
		limiter_done(c, r);
		switch (judge(c, r, rc, &st, e, &wait)) {
		case V_DONE:
			return st;
		case V_RETRY:
			if (sleep_ms(c, wait))
				return err_set(e, ERR_TEMP, "%s %s: not repeated: stopping",
				               r->method, r->path);
			break;
		case V_RELOGIN:
			log_info("http: relogin=1 method=%s path=%s", r->method, r->path);
			st = login(c, e);
			if (st != ERR_OK)
				return st;
			break;
		}
	}
}

/* Cartegraph session: the cookie it sets lands in the shared jar. */
static enum err_status login(struct http_client *c, struct err *e)
{
	cJSON *o = cJSON_CreateObject();
	char *body = NULL;
	struct http_req *r = NULL;
	enum err_status st;

	if (!o || !cJSON_AddStringToObject(o, "username", c->username) ||
	    !cJSON_AddStringToObject(o, "password", c->password) ||
	    !cJSON_AddFalseToObject(o, "isInternalRequest") ||
	    !(body = cJSON_PrintUnformatted(o))) {
		st = err_set(e, ERR_TEMP, "http: out of memory");
		goto out;
	}
	r = req_new(c, "POST", "/api/v1/authenticate", body, "application/json", e);
	if (!r) {
		st = e ? e->status : ERR_TEMP;
		goto out;
	}
	r->is_login = 1;
	st = run_sync(c, r, e);
	if (st == ERR_PERM) /* a 4xx on log-in is a configuration problem */
		st = e ? (e->status = ERR_FATAL) : ERR_FATAL;
	if (st != ERR_OK)
		err_prefix(e, "Cartegraph log-in: ");
	else
		c->session_gen++;
out:
	if (body) {
		explicit_bzero(body, strlen(body));
		cJSON_free(body);
	}
	cJSON_Delete(o);
	req_free(r);
	return st;
}

static enum err_status ensure_session(struct http_client *c, struct err *e)
{
	if (c->cfg.auth != HTTP_AUTH_CG_SESSION || c->session_gen)
		return ERR_OK;
	return login(c, e);
}

static void response_move(struct http_response *to, struct http_response *from)
{
	http_response_release(to);
	*to = *from;
	http_response_init(from);
}

enum err_status http_request(struct http_client *c, const char *method, const char *path,
                             const char *body, const char *content_type, struct http_response *out,
                             struct err *e)
{
	struct http_req *r;
	enum err_status st;

	http_response_release(out);
	st = ensure_session(c, e);
	if (st != ERR_OK)
		return st;
	r = req_new(c, method, path, body, content_type, e);
	if (!r)
		return e ? e->status : ERR_TEMP;
	st = run_sync(c, r, e);
	if (st != ERR_OK)
		c->stats.failed++;
	response_move(out, &r->resp);
	req_free(r);
	return st;
}

/* ---- concurrent ---- */

static void queue_push(struct http_client *c, struct http_req *r)
{
	r->next = NULL;
	if (c->queue_tail)
		c->queue_tail->next = r;
	else
		c->queue = r;
	c->queue_tail = r;
}

/* The first queued request whose backoff is over, unlinked; else NULL
 * and *next_due set to the earliest not-before time. */
static struct http_req *queue_take_due(struct http_client *c, uint64_t now, uint64_t *next_due)
{
	struct http_req *r, *prev = NULL;

	for (r = c->queue; r; prev = r, r = r->next) {
		if (r->not_before <= now) {
			if (prev)
				prev->next = r->next;
			else
				c->queue = r->next;
			if (c->queue_tail == r)
				c->queue_tail = prev;
			r->next = NULL;
			return r;
		}
		if (r->not_before < *next_due)
			*next_due = r->not_before;
	}
	return NULL;
}

enum err_status http_submit(struct http_client *c, const char *method, const char *path,
                            const char *body, const char *content_type, http_done_fn done,
                            void *user, struct err *e)
{
	struct http_req *r = req_new(c, method, path, body, content_type, e);

	if (!r)
		return e ? e->status : ERR_TEMP;
	r->done = done;
	r->user = user;
	queue_push(c, r);
	return ERR_OK;
}

static void finish(struct http_client *c, struct http_req *r, enum err_status st,
                   const struct err *e)
{
	struct err none;

	if (st != ERR_OK)
		c->stats.failed++;
	if (!e) {
		err_clear(&none);
		e = &none;
	}
	if (r->done)
		r->done(r->user, st, &r->resp, e);
	req_free(r);
}

static void active_remove(struct http_client *c, struct http_req *r)
{
	struct http_req **pp;

	for (pp = &c->active; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			c->in_flight--;
			return;
		}
	}
}

/* Start queued requests while there is room, a token and a due request.
 * Returns how long until something else could start (UINT64_MAX: only
 * a completion can change anything). */
static uint64_t start_ready(struct http_client *c)
{
	uint64_t now = now_ms(c), next_due, w;
	struct http_req *r;
	struct err te;

	while (c->in_flight < c->cfg.concurrency && c->queue) {
		next_due = UINT64_MAX;
		r = queue_take_due(c, now, &next_due);
		if (!r)
			return next_due - now;
		err_clear(&te);
		if (limiter_take(c, r, &w, &te)) {
			finish(c, r, te.status, &te);
			continue;
		}
		if (w) {
			r->next = c->queue;
			c->queue = r;
			if (!c->queue_tail)
				c->queue_tail = r;
			return w;
		}
		if (transfer_new(r, &te))
			goto fail;
		if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
			err_set(&te, ERR_TEMP, "%s %s: cannot start the transfer", r->method,
			        r->path);
			goto fail;
		}
		r->next = c->active;
		c->active = r;
		c->in_flight++;
		continue;
	fail:
		limiter_done(c, r);
		finish(c, r, ERR_TEMP, &te);
	}
	return UINT64_MAX;
}

/* A 401 on a session: log in again unless a sibling already did. */
static enum err_status relogin_and_requeue(struct http_client *c, struct http_req *r,
                                           struct err *re)
{
	enum err_status st = ERR_OK;

	if (r->session_gen == c->session_gen) {
		log_info("http: relogin=1 method=%s path=%s", r->method, r->path);
		st = login(c, re);
	}
	if (st != ERR_OK) {
		finish(c, r, st, re);
		return st;
	}
	r->not_before = 0;
	queue_push(c, r);
	return ERR_OK;
}

/* Judge every finished transfer.  Returns ERR_FATAL (e set) as soon as
 * one request ended fatally; *n counts the transfers collected.
 *
 * The requests that ended are told (done) only after the queued ones
 * that may start have started and gone out: done often does disk work
 * (a journal sync, a group commit), and the next request then travels
 * while it runs instead of waiting for it. */
static enum err_status collect(struct http_client *c, unsigned *n, struct err *e)
{
	enum err_status st, fatal = ERR_OK;
	struct http_req *r, *ended = NULL, **tail = &ended;
	struct err re;
	uint64_t wait;
	CURLMsg *m;
	CURLcode rc;
	int left, running;

	*n = 0;
	while (fatal == ERR_OK && (m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_multi_remove_handle(c->multi, m->easy_handle);
		active_remove(c, r);
		limiter_done(c, r);
		(*n)++;
		err_clear(&re);
		st = ERR_OK;
		switch (judge(c, r, rc, &st, &re, &wait)) {
		case V_DONE:
			r->end_status = st;
			r->end_err = re;
			*tail = r;
			tail = &r->next;
			break;
		case V_RETRY:
			r->not_before = now_ms(c) + wait;
			queue_push(c, r);
			break;
		case V_RELOGIN:
			st = relogin_and_requeue(c, r, &re);
			break;
		}
		if (st == ERR_FATAL) {
			fatal = ERR_FATAL;
			if (e)
				*e = re;
		}
	}
	if (ended && fatal == ERR_OK) {
		start_ready(c);
		curl_multi_perform(c->multi, &running);
	}
	while ((r = ended) != NULL) {
		ended = r->next;
		r->next = NULL;
		finish(c, r, r->end_status, &r->end_err);
	}
	return fatal;
}

/* After a fatal outcome nothing else may be sent: complete the rest. */
static void abort_all(struct http_client *c, enum err_status st, const struct err *why)
{
	struct http_req *r;
	struct err ae;

	err_set(&ae, st, "not sent: %s", why ? why->msg : "an earlier request failed");
	while ((r = c->active) != NULL) {
		curl_multi_remove_handle(c->multi, r->easy);
		active_remove(c, r);
		limiter_done(c, r);
		finish(c, r, st, &ae);
	}
	while ((r = c->queue) != NULL) {
		c->queue = r->next;
		if (!c->queue)
			c->queue_tail = NULL;
		finish(c, r, st, &ae);
	}
}

/* Stopping: the queued requests that would wait (a back-off, a
 * Retry-After) are not made; those due now still go, so the record in
 * hand is finished where that takes no wait. */
static void drop_waiting(struct http_client *c)
{
	struct http_req *r, **pr = &c->queue, *dropped = NULL;
	uint64_t now = now_ms(c);
	struct err ae;

	/* Unlink first: a done() may submit, which changes the queue. */
	c->queue_tail = NULL;
	while ((r = *pr) != NULL) {
		if (r->not_before <= now) {
			c->queue_tail = r;
			pr = &r->next;
			continue;
		}
		*pr = r->next;
		r->next = dropped;
		dropped = r;
	}
	while ((r = dropped) != NULL) {
		dropped = r->next;
		r->next = NULL;
		err_set(&ae, ERR_TEMP, "%s %s: not repeated: stopping", r->method, r->path);
		finish(c, r, ERR_TEMP, &ae);
	}
}

void http_set_stop(struct http_client *c, volatile sig_atomic_t *stop)
{
	c->stop = stop;
}

enum err_status http_drain(struct http_client *c, struct err *e)
{
	enum err_status st;
	uint64_t wait;
	unsigned done;
	int running;

	st = c->queue ? ensure_session(c, e) : ERR_OK;
	if (st != ERR_OK) {
		abort_all(c, st, e);
		return st;
	}
	for (;;) {
		notify_watchdog(); /* a long drain is alive */
		if (stopping(c) && c->queue)
			drop_waiting(c);
		wait = start_ready(c);
		if (!c->in_flight && !c->queue)
			return ERR_OK;
		if (!c->in_flight) {
			if (sleep_ms(c, wait == UINT64_MAX ? 0 : wait)) {
				struct err se;

				err_set(&se, ERR_TEMP, "stopping");
				abort_all(c, ERR_TEMP, &se);
				if (e)
					*e = se;
				return ERR_TEMP;
			}
			continue;
		}
		curl_multi_perform(c->multi, &running);
		st = collect(c, &done, e);
		if (st != ERR_OK) {
			abort_all(c, st, e);
			return st;
		}
		if (done || !running)
			continue;
		curl_multi_poll(c->multi, NULL, 0, wait > 1000 ? 1000 : (int)wait, NULL);
	}
}

enum err_status http_step(struct http_client *c, uint64_t wait_ms, struct err *e)
{
	enum err_status st;
	uint64_t wait;
	unsigned done;
	int running;

	st = c->queue ? ensure_session(c, e) : ERR_OK;
	if (st) {
		abort_all(c, st, e);
		return st;
	}
	notify_watchdog();
	if (stopping(c) && c->queue)
		drop_waiting(c);
	wait = start_ready(c);
	if (!c->in_flight && !c->queue)
		return ERR_OK;
	if (!c->in_flight) {
		/* Only requests waiting (a back-off, a token): the next step
		 * starts them. */
		if (wait == UINT64_MAX || wait > wait_ms)
			wait = wait_ms;
		if (sleep_ms(c, wait)) {
			struct err se;

			err_set(&se, ERR_TEMP, "stopping");
			abort_all(c, ERR_TEMP, &se);
			if (e)
				*e = se;
			return ERR_TEMP;
		}
		return ERR_OK;
	}
	for (int round = 0; round < 2; round++) {
		curl_multi_perform(c->multi, &running);
		st = collect(c, &done, e);
		if (st) {
			abort_all(c, st, e);
			return st;
		}
		if (done || !wait_ms || round)
			break;
		if (wait > wait_ms)
			wait = wait_ms;
		curl_multi_poll(c->multi, NULL, 0, wait > 1000 ? 1000 : (int)wait, NULL);
	}
	return ERR_OK;
}

size_t http_pending(const struct http_client *c)
{
	size_t n = c->in_flight;

	for (const struct http_req *r = c->queue; r; r = r->next)
		n++;
	return n;
}

void http_cancel(struct http_client *c, const char *why)
{
	struct err ce;

	err_set(&ce, ERR_TEMP, "%s", why ? why : "cancelled");
	abort_all(c, ERR_TEMP, &ce);
}
