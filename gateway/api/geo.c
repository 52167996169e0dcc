/*
 * geo.c: the geocoder client of geo.h: one bounded request per
 * operation through http.h, then the pure parser and chooser.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cfg.h"
#include "geo.h"
#include "http.h"
#include "log.h"
#include "when.h"

#define GEO_BODY_CAP ((size_t)1024 * 1024)

struct geo_client {
	struct http_client *http;
	char *token; /* NULL: none */
	enum geo_mode mode;
	struct geo_rules rules;
	unsigned max_locations;
	struct geo_stats stats;
};

void geo_opts_init(struct geo_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = GEO_MODE_REVERSE;
	o->min_score = 80;
	o->max_distance_m = 100;
	o->timeout_ms = 3000;
	o->max_locations = 5;
	o->result_field = "description";
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	/* volatile so the wipe is not optimised away */
	for (volatile char *p = s; *p; p++)
		*p = 0;
	free(s);
}

static enum err_status read_token(struct geo_client *g, const char *path, struct err *e)
{
	struct buf b;
	enum err_status st;

	buf_init(&b, CFG_SECRET_MAX);
	st = cfg_read_secret(path, &b, e);
	if (st == ERR_OK && (strchr(buf_str(&b), '\n') || strchr(buf_str(&b), '\r')))
		st = err_set(e, ERR_FATAL, "geocoder token file %s holds more than one line", path);
	if (st == ERR_OK) {
		g->token = strdup(buf_str(&b));
		if (!g->token)
			st = err_set(e, ERR_FATAL, "geocoder: out of memory");
	}
	if (b.data)
		memset(b.data, 0, b.alloc);
	buf_release(&b);
	return st;
}

static enum err_status check_opts(const struct geo_opts *o, struct err *e)
{
	if (!o->base_url || !o->base_url[0])
		return err_set(e, ERR_PERM, "geocoder: no base URL");
	if (o->mode != GEO_MODE_REVERSE && o->mode != GEO_MODE_FIND && o->mode != GEO_MODE_BOTH)
		return err_set(e, ERR_PERM, "geocoder: unknown mode %d", (int)o->mode);
	if (!(o->min_score >= 0 && o->min_score <= 100))
		return err_set(e, ERR_PERM, "geocoder: min score must be 0..100");
	if (!(o->max_distance_m > 0 && o->max_distance_m <= 100000))
		return err_set(e, ERR_PERM, "geocoder: max distance must be 1..100000 m");
	if (o->timeout_ms < 50 || o->timeout_ms > 60000)
		return err_set(e, ERR_PERM, "geocoder: timeout must be 50..60000 ms");
	if (o->max_locations < 1 || o->max_locations > GEO_MAX_CANDIDATES)
		return err_set(e, ERR_PERM, "geocoder: max locations must be 1..%d",
		               GEO_MAX_CANDIDATES);
	return ERR_OK;
}

enum err_status geo_client_new(struct geo_client **out, const struct geo_opts *o, struct err *e)
{
	struct geo_client *g;
	struct http_config hc;
	enum err_status st;

	*out = NULL;
	st = check_opts(o, e);
	if (st != ERR_OK)
		return st;
	g = calloc(1, sizeof(*g));
	if (!g)
		return err_set(e, ERR_FATAL, "geocoder: out of memory");
	g->mode = o->mode;
	g->rules.min_score = o->min_score;
	g->rules.max_distance_m = o->max_distance_m;
	g->max_locations = o->max_locations;
	if (o->token_file && o->token_file[0]) {
		st = read_token(g, o->token_file, e);
		if (st != ERR_OK)
			goto fail;
	}
	http_config_init(&hc);
	hc.base_url = o->base_url;
	hc.ca_file = o->ca_file;
	hc.connect_timeout_ms = o->timeout_ms;
	hc.timeout_ms = o->timeout_ms;
	hc.body_cap = GEO_BODY_CAP;
	/* One attempt, no 429 waits: the bound on a call is timeout_ms, and
	 * the HTTP client's retry log lines (which show the path, and so the
	 * token) never happen. */
	hc.max_attempts = 1;
	hc.max_429 = 0;
	hc.retry_after_max_ms = 0;
	hc.concurrency = 1;
	st = http_client_new(&g->http, &hc, e);
	if (st != ERR_OK) {
		err_prefix(e, "geocoder: ");
		goto fail;
	}
	*out = g;
	return ERR_OK;
fail:
	geo_client_free(g);
	return st;
}

void geo_client_free(struct geo_client *g)
{
	if (!g)
		return;
	http_client_free(g->http);
	wipe_free(g->token);
	free(g);
}

void geo_stats_get(const struct geo_client *g, struct geo_stats *out)
{
	*out = g->stats;
}

/* Cut "token=<value>" out of a message from the HTTP layer. */
void geo_scrub_token(char *msg, size_t size)
{
	char *p = msg;

	while ((p = strstr(p, "token=")) != NULL) {
		char *v = p + 6, *end = v + strcspn(v, "& \"'");
		/* Bytes from v to the end of the buffer: at least 1 (the NUL).
		 * A message cut right after "token=" may hold a value shorter
		 * than the three stars, so the stars and the tail are cut to
		 * what fits instead of growing the string past the buffer. */
		size_t room = size - (size_t)(v - msg);
		size_t stars = room > 3 ? 3 : room - 1;
		size_t tail = strlen(end) + 1;

		if (stars + tail > room)
			tail = room - stars;
		memmove(v + stars, end, tail);
		memcpy(v, "***", stars);
		v[stars + tail - 1] = '\0';
		p = v + stars;
	}
}

static enum err_status build_path(struct geo_client *g, int reverse, double lat, double lng,
                                  const char *reported, struct buf *path)
{
	char point[160], maxloc[16];
	enum err_status st;

	/* The JSON point names its spatial reference: a locator in a state
	 * plane would otherwise read "x,y" in its own units. */
	snprintf(point, sizeof(point),
	         "{\"x\":%.7f,\"y\":%.7f,\"spatialReference\":{\"wkid\":4326}}", lng, lat);
	st = buf_adds(path, reverse ? "/reverseGeocode" : "/findAddressCandidates");
	if (st == ERR_OK && !reverse)
		st = http_query_add(path, "SingleLine", reported);
	if (st == ERR_OK)
		st = http_query_add(path, "location", point);
	if (st == ERR_OK && !reverse) {
		snprintf(maxloc, sizeof(maxloc), "%u", g->max_locations);
		st = http_query_add(path, "maxLocations", maxloc);
	}
	if (st == ERR_OK && !reverse)
		st = http_query_add(path, "outFields", "Match_addr,Addr_type");
	if (st == ERR_OK)
		st = http_query_add(path, "outSR", "4326");
	if (st == ERR_OK)
		st = http_query_add(path, "f", "json");
	if (st == ERR_OK && g->token)
		st = http_query_add(path, "token", g->token);
	return st;
}

/* Turn an HTTP-layer failure into an outcome. */
static void http_failure(struct geo_client *g, int reverse, const struct http_response *resp,
                         struct err *he, const char *reported, struct geo_result *out)
{
	char why[GEO_TEXT_MAX];
	const char *curl_why;
	struct geo_reply *rep;

	geo_scrub_token(he->msg, sizeof(he->msg));
	/* ArcGIS Enterprise may send its error body with a real 4xx/5xx
	 * (reverseGeocode's "nothing here" too). */
	rep = resp->status >= 400 && resp->body.len ? malloc(sizeof(*rep)) : NULL;
	if (rep) {
		enum err_status st =
		    reverse ? geo_parse_reverse(resp->body.data, resp->body.len, rep, NULL)
		            : geo_parse_candidates(resp->body.data, resp->body.len, rep, NULL);

		if (st == ERR_OK && (rep->error_code || (reverse && !rep->n))) {
			geo_choose(rep, &g->rules, 0, 0, reported, out);
			free(rep);
			return;
		}
		free(rep);
	}
	if (resp->status == 0 &&
	    (strcasestr(he->msg, "timed out") || strcasestr(he->msg, "timeout"))) {
		geo_result_fail(out, GEO_TIMEOUT, "timeout", g->rules.max_distance_m, reported);
		return;
	}
	/* The message is "METHOD PATH: what curl said"; the path is long and
	 * no use to staff. */
	curl_why = strstr(he->msg, ": ");
	curl_why = curl_why ? curl_why + 2 : he->msg;
	if (resp->status)
		snprintf(why, sizeof(why), "HTTP %ld", resp->status);
	else
		snprintf(why, sizeof(why), "unreachable: %.200s", curl_why);
	geo_result_fail(out, GEO_HTTP_ERROR, why, g->rules.max_distance_m, reported);
}

/* One operation; fills out.  Never fails. */
static void ask(struct geo_client *g, int reverse, double lat, double lng, const char *reported,
                struct geo_result *out)
{
	struct buf path;
	struct http_response resp;
	struct geo_reply *rep = NULL;
	struct err he;
	enum err_status st;
	uint64_t t0 = when_mono_ms();

	buf_init(&path, 8192);
	http_response_init(&resp);
	err_clear(&he);
	if (build_path(g, reverse, lat, lng, reported, &path)) {
		geo_result_fail(out, GEO_HTTP_ERROR, "request too long", g->rules.max_distance_m,
		                reported);
		goto done;
	}
	g->stats.calls++;
	st = http_request(g->http, "GET", buf_str(&path), NULL, NULL, &resp, &he);
	if (st != ERR_OK) {
		http_failure(g, reverse, &resp, &he, reported, out);
		goto done;
	}
	rep = malloc(sizeof(*rep));
	if (!rep) {
		geo_result_fail(out, GEO_HTTP_ERROR, "out of memory", g->rules.max_distance_m,
		                reported);
		goto done;
	}
	st = reverse ? geo_parse_reverse(resp.body.data, resp.body.len, rep, &he)
	             : geo_parse_candidates(resp.body.data, resp.body.len, rep, &he);
	if (st != ERR_OK)
		geo_result_fail(out, GEO_MALFORMED, he.msg, g->rules.max_distance_m, reported);
	else
		geo_choose(rep, &g->rules, lat, lng, reported, out);
done:
	out->operation = reverse ? "reverseGeocode" : "findAddressCandidates";
	out->elapsed_ms = (long)(when_mono_ms() - t0);
	free(rep);
	http_response_release(&resp);
	if (path.data)
		memset(path.data, 0, path.alloc); /* it held the token */
	buf_release(&path);
}

static int geocoder_silent(enum geo_outcome o)
{
	return o == GEO_TIMEOUT || o == GEO_HTTP_ERROR;
}

static void count(struct geo_stats *s, enum geo_outcome o)
{
	uint64_t *slot[] = {
	    [GEO_VERIFIED] = &s->verified,
	    [GEO_LOW_SCORE] = &s->low_score,
	    [GEO_TOO_FAR] = &s->too_far,
	    [GEO_NO_CANDIDATES] = &s->no_candidates,
	    [GEO_SERVICE_ERROR] = &s->service_errors,
	    [GEO_HTTP_ERROR] = &s->http_errors,
	    [GEO_TIMEOUT] = &s->timeouts,
	    [GEO_MALFORMED] = &s->malformed,
	    [GEO_NOT_TRIED] = &s->not_tried,
	};

	if ((unsigned)o < sizeof(slot) / sizeof(slot[0]))
		(*slot[o])++;
}

static void log_result(int64_t issue_id, const struct geo_result *r)
{
	enum log_level lv = LOGL_INFO;

	if (r->outcome == GEO_SERVICE_ERROR || r->outcome == GEO_HTTP_ERROR ||
	    r->outcome == GEO_TIMEOUT || r->outcome == GEO_MALFORMED)
		lv = LOGL_WARN;
	log_msg(lv,
	        "geo: effect=%s issue=%lld op=%s score=%.0f distance_m=%.0f elapsed_ms=%ld "
	        "reason=%s address=%s",
	        geo_outcome_name(r->outcome), (long long)issue_id,
	        r->operation[0] ? r->operation : "-", r->score, r->distance_m, r->elapsed_ms,
	        log_q(r->reason), log_q(r->address));
}

enum err_status geo_verify(struct geo_client *g, int64_t issue_id, double lat, double lng,
                           const char *reported, struct geo_result *out, struct err *e)
{
	int has_addr = reported && reported[0];
	int do_find = g->mode != GEO_MODE_REVERSE && has_addr;
	int do_reverse = g->mode != GEO_MODE_FIND || !has_addr;
	long spent = 0;

	if (!isfinite(lat) || !isfinite(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180 ||
	    (lat == 0 && lng == 0)) {
		geo_result_fail(out, GEO_NOT_TRIED, "no usable reported point",
		                g->rules.max_distance_m, reported);
		goto done;
	}
	if (do_find) {
		ask(g, 0, lat, lng, reported, out);
		spent = out->elapsed_ms;
		if (out->verified || geocoder_silent(out->outcome))
			goto done;
		if (g->mode == GEO_MODE_FIND)
			goto done;
	}
	if (do_reverse) {
		struct geo_result first;

		if (do_find)
			first = *out;
		ask(g, 1, lat, lng, reported, out);
		spent += out->elapsed_ms;
		/* Both failed: the find answer says more about what was typed. */
		if (do_find && !out->verified && !geocoder_silent(out->outcome))
			*out = first;
		out->elapsed_ms = spent;
	}
done:
	count(&g->stats, out->outcome);
	log_result(issue_id, out);
	err_clear(e);
	return ERR_OK;
}
