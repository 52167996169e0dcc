/*
 * geo.h: checking a reported location against the city's ArcGIS geocode
 * service (a GeocodeServer: ArcGIS Enterprise locator or ArcGIS Online),
 * so LocationDescriptionField carries an address crews and GIS can trust.
 *
 * Contract
 *   - One struct geo_client per geocoder.  It owns its own HTTP client
 *     (gateway/api/http.h) with short timeouts and exactly ONE attempt per
 *     call: a geocoder is a nicety, and a request must never wait on it
 *     longer than the configured bound.  (One attempt also means the HTTP
 *     client never logs a retry line, whose path would hold the token.)
 *   - geo_verify() asks the service about one issue (reverseGeocode of the
 *     reported point and/or findAddressCandidates for the reported address
 *     near that point; WGS84 in and out; f=json; token=... when a token
 *     file is configured) and applies the acceptance rules:
 *         score >= min_score (findAddressCandidates only: reverseGeocode
 *         has no score) and the haversine distance from the reported
 *         point to the candidate <= max_distance_m.
 *     Among accepted candidates the highest score wins, then the nearest.
 *   - The geocoder being down, slow, answering 5xx, answering its
 *     {"error":{"code":..,"message":..,"details":[..]}} body (ArcGIS sends
 *     it with HTTP 200), or answering garbage NEVER fails: geo_verify
 *     returns ERR_OK with verified = 0, the reported address, and the
 *     reason; it logs one line (log.h) and counts it (struct geo_stats).
 *     Only a bad configuration at geo_client_new fails (ERR_PERM for a
 *     bad option, ERR_FATAL for an unreadable token file, as cfg_read_secret
 *     says).
 *   - mode "both": findAddressCandidates first (it checks what the
 *     resident typed), then reverseGeocode if that did not verify and the
 *     geocoder answered at all (a timeout or an unreachable server is not
 *     asked twice, so the bound holds for the whole call).  With no
 *     reported address, "find" falls back to reverse.
 *   - The parsers and the chooser are pure (no I/O, no globals) so they
 *     can be fuzzed: geo_parse_* accept any bytes; on ERR_OK the reply is
 *     either a service error (error_code != 0), "nothing found", or up to
 *     GEO_MAX_CANDIDATES candidates with finite in-range WGS84 coordinates
 *     and addresses that are one line of valid UTF-8.  Answers in another
 *     spatial reference than WGS84 (wkid 4326) are refused (ERR_PERM), as
 *     are malformed and truncated bodies; the message says why.
 *   - The token is never in a struct err message, a log line, or a
 *     result; it is wiped at geo_client_free.
 */
#ifndef SCFGATE_GEO_H
#define SCFGATE_GEO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define GEO_ADDR_MAX       256 /* bytes of an address kept (cut at a UTF-8 boundary) */
#define GEO_MAX_CANDIDATES 20  /* candidates looked at per answer */
#define GEO_TEXT_MAX       320 /* reason and note lines */

enum geo_mode {
	GEO_MODE_REVERSE = 1, /* reverseGeocode of the reported point */
	GEO_MODE_FIND = 2,    /* findAddressCandidates for the reported address */
	GEO_MODE_BOTH = 3,    /* find, then reverse */
};

/* "reverse", "find", "both"; geo_mode_parse returns 0 or -1. */
const char *geo_mode_name(enum geo_mode m);
int geo_mode_parse(const char *s, enum geo_mode *out);

struct geo_opts {
	const char *base_url;     /* ".../arcgis/rest/services/Locators/City/GeocodeServer" */
	enum geo_mode mode;       /* default GEO_MODE_REVERSE */
	const char *token_file;   /* NULL: no token (read with cfg_read_secret) */
	double min_score;         /* default 80 */
	double max_distance_m;    /* default 100 */
	long timeout_ms;          /* one request, connect included; default 3000 (50..60000) */
	unsigned max_locations;   /* findAddressCandidates maxLocations, default 5 */
	const char *result_field; /* where the OMS half records the note: a Cartegraph
	                             field name, or "description" (default).  Carried
	                             for the caller; geo itself does not use it. */
	const char *ca_file;      /* NULL: the system CA store */
};

/* The defaults above. */
void geo_opts_init(struct geo_opts *o);

/* ---- pure part: parse, choose ------------------------------------------ */

struct geo_candidate {
	char address[GEO_ADDR_MAX];
	double lat, lng; /* WGS84 */
	double score;    /* 0..100; -1 for a reverseGeocode answer (it has none) */
};

struct geo_reply {
	int reverse;                      /* answer of reverseGeocode */
	long error_code;                  /* != 0: the service's error body */
	char error_message[GEO_TEXT_MAX]; /* its message (and first detail), one line */
	size_t n;                         /* candidates (0: nothing found) */
	struct geo_candidate c[GEO_MAX_CANDIDATES];
};

/* A findAddressCandidates / reverseGeocode answer (f=json).  reverseGeocode's
 * "Unable to find address for the specified location." error is "nothing
 * found" (n = 0, error_code 0), not a service error.  ERR_PERM: malformed,
 * truncated, or not WGS84. */
enum err_status geo_parse_candidates(const char *json, size_t len, struct geo_reply *out,
                                     struct err *e);
enum err_status geo_parse_reverse(const char *json, size_t len, struct geo_reply *out,
                                  struct err *e);

/* Great-circle distance in metres (haversine, mean earth radius). */
double geo_distance_m(double lat1, double lng1, double lat2, double lng2);

enum geo_outcome {
	GEO_VERIFIED = 0,
	GEO_LOW_SCORE,     /* candidates, none scoring min_score */
	GEO_TOO_FAR,       /* well-scored candidates, none within max_distance_m */
	GEO_NO_CANDIDATES, /* the service found nothing */
	GEO_SERVICE_ERROR, /* its error body */
	GEO_HTTP_ERROR,    /* unreachable, 5xx, other HTTP failure */
	GEO_TIMEOUT,       /* no answer within timeout_ms */
	GEO_MALFORMED,     /* not JSON, truncated, wrong shape or spatial reference */
	GEO_NOT_TRIED,     /* no usable reported point */
};

/* "verified", "low-score", "too-far", "no-candidates", "service-error",
 * "http-error", "timeout", "malformed", "not-tried". */
const char *geo_outcome_name(enum geo_outcome o);

struct geo_result {
	int verified;
	enum geo_outcome outcome;
	char address[GEO_ADDR_MAX]; /* the verified address, else the reported one */
	double score;               /* chosen/best candidate; -1 when none or reverse */
	double distance_m;          /* chosen/nearest candidate; -1 when none */
	long service_code;          /* the service's error code, else 0 */
	const char *operation;      /* "findAddressCandidates", "reverseGeocode", or "" */
	char reason[GEO_TEXT_MAX];  /* "score 62 below 80", "geocoder error 498: Invalid Token" */
	char note[GEO_TEXT_MAX];    /* one line for staff, see geo_choose */
	long elapsed_ms;            /* time spent waiting on the service */
};

struct geo_rules {
	double min_score;
	double max_distance_m;
};

/* Judge a parsed reply for the reported point and address (may be NULL)
 * and fill out, note included:
 *   "Address verified by ArcGIS (score 97, 12 m from the reported point)"
 *   "Address verified by ArcGIS (nearest address, 12 m from the reported point)"
 *   "Reported address; ArcGIS found no candidate within 100 m"
 *   "Reported address; ArcGIS's best candidate scored 62 (at least 80 needed)"
 *   "Reported address; ArcGIS geocoder unavailable (timeout)" */
void geo_choose(const struct geo_reply *r, const struct geo_rules *rules, double lat, double lng,
                const char *reported, struct geo_result *out);

/* A result for a call that got no usable reply (timeout, HTTP error,
 * malformed answer, no point): reported address, reason and note. */
void geo_result_fail(struct geo_result *out, enum geo_outcome why, const char *reason,
                     double max_distance_m, const char *reported);

/* ---- the client ------------------------------------------------------- */

struct geo_client;

enum err_status geo_client_new(struct geo_client **out, const struct geo_opts *o, struct err *e);
void geo_client_free(struct geo_client *g);

/* Verify one issue's location (issue_id is only for the log line; 0 if
 * none).  Always ERR_OK once the client exists; see the contract. */
enum err_status geo_verify(struct geo_client *g, int64_t issue_id, double lat, double lng,
                           const char *reported, struct geo_result *out, struct err *e);

/* Counters since geo_client_new (one per geo_verify outcome, plus calls). */
struct geo_stats {
	uint64_t calls; /* HTTP requests made */
	uint64_t verified;
	uint64_t low_score;
	uint64_t too_far;
	uint64_t no_candidates;
	uint64_t service_errors;
	uint64_t http_errors;
	uint64_t timeouts;
	uint64_t malformed;
	uint64_t not_tried;
};

void geo_stats_get(const struct geo_client *g, struct geo_stats *out);

/* Replace the value of every "token=" in msg (a NUL-terminated string in
 * a buffer of size bytes) by "***", so an error message that shows a
 * request URL never shows the token.  The result always fits the buffer:
 * a value cut short at the end of the buffer is replaced by as many
 * stars as fit.  Exposed for tests; geo.c applies it to every error. */
void geo_scrub_token(char *msg, size_t size);

#endif
