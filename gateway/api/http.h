/*
 * http.h: the HTTP client both halves use (libcurl).  The SCF half talks
 * to SeeClickFix API v2 (20 requests/minute, Bearer or Basic auth); the
 * OMS half talks to Cartegraph's REST API (Basic auth or a session
 * cookie, many requests in flight).
 *
 * Contract
 *   - One struct http_client per remote API.  It owns the base URL, the
 *     credentials, a rate limiter (a token bucket, or an external
 *     limiter shared across processes: struct http_limiter), the retry
 *     policy, a
 *     shared cookie jar and connection cache, and statistics.  EVERY
 *     request of the client (synchronous, concurrent, and the Cartegraph
 *     log-in itself) takes a token from the limiter first.
 *   - TLS peer and host verification are always on; the only TLS knob is
 *     an extra CA file.  There is no way to turn verification off.
 *   - Credentials are copied at creation, wiped at free, and never appear
 *     in a struct err message or a log line (nor does any request header).
 *   - Paths are joined to the base URL: "/issues?page=2" on
 *     "https://h/api/v2" is "https://h/api/v2/issues?page=2".  A full URL
 *     (a "next_page_url") is accepted only if it has the base URL's
 *     scheme, host and port, so credentials never go to another host.
 *   - Redirects are never followed, for every client (SCF, Cartegraph,
 *     geocoder): following one would send the Authorization header, the
 *     basic-auth user and password or the Cartegraph log-in body to the
 *     host the Location names.  Nothing is ever sent to that host.
 *   - Outcome of one request, after retries:
 *       2xx, 304          ERR_OK.  (304 is a success: out->status says so.)
 *       other 3xx         ERR_FATAL "HTTP <status> <METHOD> <path>: redirect
 *                         to "<Location>" not followed ..." (the Location
 *                         escaped and cut at ~200 bytes), not repeated.
 *                         Waiting does not fix a redirect: the base URL is
 *                         wrong or something between us and the API
 *                         redirects, and the operator must fix it, so the
 *                         half stops.  Per caller:
 *                         - Cartegraph log-in: "Cartegraph log-in: HTTP
 *                           307 POST /api/v1/authenticate: ..."; the body
 *                           with the password went to the base URL's host
 *                           only.
 *                         - a read (GET, HEAD): nothing was changed.
 *                         - a write: a 307/308 asks for the same request
 *                           elsewhere, so the server most likely did not
 *                           act; a 301/302/303 after a write is the
 *                           post/redirect/get answer of a server that may
 *                           have acted.  The message says which, but no
 *                           caller relies on it: a fatal error leaves the
 *                           record in new/, and a create's intent is
 *                           already on disk, so the next start looks the
 *                           issue up before creating anything (oms.h).
 *                           A comment or an attachment is checked for
 *                           presence before it is written again.
 *                         - the geocoder: advisory by design (geo.h), so
 *                           geo.c turns the error into an "HTTP 3xx"
 *                           outcome like any failure: the location stays
 *                           unverified and the half goes on; the token in
 *                           the query went to the geocoder's host only.
 *       429               wait Retry-After (seconds or HTTP date; 60 s if
 *                         absent, capped by retry_after_max_ms), retry;
 *                         not counted in max_attempts; ERR_TEMP after
 *                         max_429 429s in a row.  An external limiter is
 *                         told (hold), so other processes wait too.
 *       5xx, 408,         capped exponential backoff with full jitter, up
 *       timeout, connect  to max_attempts attempts in all, then ERR_TEMP.
 *       error             POSTs are retried too: a 5xx or timeout may come
 *                         after the server acted, so writes must be safe
 *                         to repeat (check state first, as the halves do).
 *       401 (session)     log in again once and repeat; a second 401 is
 *                         ERR_FATAL.  401 with other auth: ERR_FATAL.
 *       403 "forbidden by administrative rules" (SCF blacklisting)
 *                         ERR_FATAL, message starts "ALERT:"; with an
 *                         external limiter the ban is recorded (hold) and
 *                         the message names when the next call may go.
 *       other 4xx         ERR_PERM "HTTP <status> <METHOD> <path>: <body
 *                         excerpt>" (first ~300 bytes, one line).
 *       body over cap     ERR_TEMP naming the cap, not repeated here (the
 *                         same body would come back).  The server answered,
 *                         so a write may have taken effect: the message
 *                         says "in doubt" and the caller handles it as any
 *                         temporary failure of a write (the OMS half keeps
 *                         the record in new/ and looks a create up before
 *                         retrying); never a failed record.  For a read it
 *                         is a temporary error like a timeout.
 *       TLS trust failure ERR_FATAL (a certificate problem needs a person).
 *     On ERR_OK and on an HTTP-status failure, out->status and out->body
 *     hold the last response, so a caller may treat e.g. 404 specially.
 *   - Every request, read or write, reuses a kept-alive connection (and
 *     TLS session) when one is open, so a call costs one round trip, not
 *     a TCP and TLS handshake more.  libcurl would silently send a
 *     request again when the reused connection closes before any byte of
 *     a reply; for a write (any method but GET and HEAD) that second send
 *     is refused: the server may have read and applied the first.  The
 *     attempt then ends as a network failure "... closed before any
 *     reply ... in doubt" under the retry policy above (the OMS half's
 *     writes have one attempt, so the half decides, looking a create up
 *     first).  Reads may be re-sent.
 *   - Sleeping and the monotonic clock go through struct http_clock so
 *     tests can run minutes of back-off in no time; NULL = real clock.
 *   - Not thread-safe: one client per thread.  Concurrency comes from
 *     http_submit with http_drain or http_step (libcurl multi) in the
 *     caller's thread.
 */
#ifndef SCFGATE_HTTP_H
#define SCFGATE_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "err.h"

struct http_client;

enum http_auth {
	HTTP_AUTH_NONE = 0,
	HTTP_AUTH_BEARER,     /* Authorization: Bearer <token> (SCF personal access token) */
	HTTP_AUTH_BASIC,      /* user:password on every request (SCF legacy, Cartegraph) */
	HTTP_AUTH_CG_SESSION, /* POST {base}/api/v1/authenticate, then the session cookie */
};

/* Injectable time.  now_ms: a monotonic clock in milliseconds.
 * sleep_ms: block for ms (a fake clock just advances its time). */
struct http_clock {
	uint64_t (*now_ms)(void *ctx);
	void (*sleep_ms)(void *ctx, uint64_t ms);
	void *ctx;
};

/* An external limiter (http_config.limiter).  acquire() before every
 * transfer: ERR_OK with *wait_ms 0 (the transfer is counted; *ticket is
 * handed to release), ERR_OK with *wait_ms > 0 (ask again after that), or
 * an error that ends the request with that status and message (ERR_FATAL
 * stops the half: e.g. a recorded ban).  release() when the transfer has
 * ended, answered or not.  hold(): a 429's Retry-After (ban 0, ms the
 * wait) or a 403 ban (ban 1, ms 0: the limiter's own ban length), so
 * that no process sharing the budget calls before it is over; returns
 * its end as epoch seconds, which the ALERT message names. */
struct http_limiter {
	enum err_status (*acquire)(void *ctx, uint64_t *wait_ms, uint64_t *ticket, struct err *e);
	void (*release)(void *ctx, uint64_t ticket);
	int64_t (*hold)(void *ctx, uint64_t ms, int ban);
	void *ctx;
};

struct http_config {
	const char *base_url; /* "https://seeclickfix.com/api/v2"; no trailing slash needed */
	enum http_auth auth;
	const char *token;      /* HTTP_AUTH_BEARER: read from the credential file by the caller */
	const char *username;   /* HTTP_AUTH_BASIC, HTTP_AUTH_CG_SESSION */
	const char *password;   /* idem */
	const char *user_agent; /* NULL: "scfgate/<version>" */
	const char *ca_file;    /* NULL: the system CA store */
	long connect_timeout_ms;
	long timeout_ms; /* whole transfer */
	size_t body_cap; /* largest response body accepted */

	double rate_per_minute; /* token bucket refill; <= 0 means unlimited */
	unsigned burst;         /* bucket size (>= 1) */
	/* Instead of the token bucket (NULL: the bucket): a budget shared
	 * with other processes (ratewin.h for the SCF half). */
	const struct http_limiter *limiter;

	unsigned max_attempts; /* for 5xx/timeouts/connect errors, first try included */
	long backoff_base_ms;  /* attempt n waits random(0, min(max, base * 2^(n-1))) */
	long backoff_max_ms;
	long retry_after_max_ms; /* cap on one 429 wait */
	unsigned max_429;        /* give up with ERR_TEMP after this many 429s in a row */

	unsigned concurrency; /* http_drain, http_step: requests in flight at once (>= 1) */

	const struct http_clock *clock; /* NULL: CLOCK_MONOTONIC and nanosleep */
};

/* Defaults: no auth, 10 s connect, 60 s total, 16 MiB body cap,
 * unlimited rate with burst 1, 5 attempts, backoff 1 s .. 60 s,
 * Retry-After cap 15 min, 10 consecutive 429s, concurrency 4. */
void http_config_init(struct http_config *cfg);

/* ERR_PERM for a bad configuration (no base URL, auth without its
 * credentials), ERR_FATAL if libcurl cannot be initialised. */
enum err_status http_client_new(struct http_client **out, const struct http_config *cfg,
                                struct err *e);
void http_client_free(struct http_client *c);

struct http_response {
	long status;     /* HTTP status of the last attempt; 0 if none completed */
	struct buf body; /* capped at the client's body_cap */
	char content_type[128];
	char etag[128];
	char location[1024];
	char date[64];     /* the Date header as sent ("" if none) */
	unsigned attempts; /* transfers made for this request, retries included */
};

void http_response_init(struct http_response *r);
void http_response_release(struct http_response *r);

/* One request, retried per the policy above; blocks (sleeping through
 * the clock hook) until it succeeds or is classified.  body may be NULL
 * (no body); content_type defaults to "application/json" when a body is
 * given.  out is reset first. */
enum err_status http_request(struct http_client *c, const char *method, const char *path,
                             const char *body, const char *content_type, struct http_response *out,
                             struct err *e);

/*
 * Concurrent requests (libcurl multi).  http_submit queues a request and
 * returns at once; http_drain runs the queue with at most
 * cfg.concurrency transfers in flight over reused connections, each
 * still passing the rate limiter and the retry policy (a request waiting
 * out its backoff does not hold up the others).  Each request's done()
 * is called exactly once from inside http_drain (or http_step), in
 * completion order
 * (NOT submission order; ordering per key is the caller's business),
 * after the queued requests that could start in its place have started
 * and gone out, so work done() does (a disk sync) overlaps with them.
 * resp is valid only during the call; done may take the body with
 * buf_detach(&resp->body, ...).  done may call http_submit (the new
 * request runs in the same drain) but not http_request or http_drain.
 *
 * http_drain returns ERR_OK when the queue is empty, or ERR_FATAL (with e
 * set) as soon as one request ended fatally (or ERR_TEMP when stopping,
 * see http_set_stop); the requests not yet
 * finished are then completed with ERR_FATAL too, so the queue is empty
 * either way.
 */
typedef void (*http_done_fn)(void *user, enum err_status status, struct http_response *resp,
                             const struct err *e);

enum err_status http_submit(struct http_client *c, const char *method, const char *path,
                            const char *body, const char *content_type, http_done_fn done,
                            void *user, struct err *e);
enum err_status http_drain(struct http_client *c, struct err *e);

/* The half's stop flag (sigs.h; NULL, the default: none).  Once it is
 * set, every wait of the client (rate limiter, back-off, Retry-After)
 * ends within SIGS_SLICE_MS and the request waiting is not made: it
 * ends ERR_TEMP "...: stopping", like a 503 that outlasted its retries,
 * so the caller keeps the record for the next start.  Transfers already
 * in flight, and queued requests due without a wait, still finish.
 * http_drain then returns ERR_TEMP "stopping" if it gave requests up. */
void http_set_stop(struct http_client *c, volatile sig_atomic_t *stop);

/*
 * One round of the queue, for a caller that runs its own loop (the OMS
 * forwarder's state machine): start the queued requests that may start,
 * move the transfers on, and hand every request that ended to its
 * done(), as http_drain does; when none ended, wait at most wait_ms for
 * the network (or for a queued request's back-off or a token) and look
 * once more.  Returns ERR_OK whether or not a request ended (most
 * callers' done() only notes the outcome; the caller acts on it after
 * the call, outside the client); ERR_FATAL or, when stopping, ERR_TEMP
 * as http_drain does, every request not finished then completed with
 * that status.  wait_ms 0 only sends what can be sent.
 */
enum err_status http_step(struct http_client *c, uint64_t wait_ms, struct err *e);

/* Requests queued or in flight: 0 when http_step has nothing to do. */
size_t http_pending(const struct http_client *c);

/* Complete every request queued or in flight with ERR_TEMP "not sent:
 * <why>" (its done() is told; one in flight may have reached the
 * server), for a caller that stops before they end. */
void http_cancel(struct http_client *c, const char *why);

/* Counters since http_client_new, for `scfgate status` and benchmarks. */
struct http_stats {
	uint64_t requests;   /* transfers started (retries and log-ins included) */
	uint64_t ok_2xx;     /* transfers answered 2xx */
	uint64_t status_429; /* transfers answered 429 */
	uint64_t status_4xx; /* transfers answered 4xx other than 429 */
	uint64_t status_5xx; /* transfers answered 5xx */
	uint64_t status_3xx; /* transfers answered 1xx or 3xx */
	uint64_t network;    /* transfers without an answer (connect, timeout, TLS...) */
	uint64_t retries;    /* transfers that were repeats of an earlier one */
	uint64_t failed;     /* requests that ended in ERR_TEMP/PERM/FATAL */
	uint64_t waited_ms;  /* time spent in rate limiter and back-off sleeps */
	time_t last_success; /* wall clock of the last 2xx; 0 if none */
};

void http_stats_get(const struct http_client *c, struct http_stats *out);

/* Query strings.  http_query_add appends "?key=value" or "&key=value"
 * to url (a path or full URL), percent-escaping both parts;
 * http_escape_add appends one escaped component (for path segments). */
enum err_status http_query_add(struct buf *url, const char *key, const char *value);
enum err_status http_escape_add(struct buf *url, const char *s);

#endif
