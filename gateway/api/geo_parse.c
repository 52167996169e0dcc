/*
 * geo_parse.c: the pure half of geo.h: ArcGIS geocode answers to
 * struct geo_reply, and the acceptance rules.  No I/O, so it can be
 * fuzzed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "geo.h"
#include "jdoc.h"

#define WGS84          4326
#define EARTH_RADIUS_M 6371008.8

const char *geo_mode_name(enum geo_mode m)
{
	switch (m) {
	case GEO_MODE_REVERSE:
		return "reverse";
	case GEO_MODE_FIND:
		return "find";
	case GEO_MODE_BOTH:
		return "both";
	}
	return "?";
}

int geo_mode_parse(const char *s, enum geo_mode *out)
{
	static const enum geo_mode all[] = {GEO_MODE_REVERSE, GEO_MODE_FIND, GEO_MODE_BOTH};

	for (size_t i = 0; s && i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, geo_mode_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

const char *geo_outcome_name(enum geo_outcome o)
{
	static const char *const names[] = {
	    [GEO_VERIFIED] = "verified",
	    [GEO_LOW_SCORE] = "low-score",
	    [GEO_TOO_FAR] = "too-far",
	    [GEO_NO_CANDIDATES] = "no-candidates",
	    [GEO_SERVICE_ERROR] = "service-error",
	    [GEO_HTTP_ERROR] = "http-error",
	    [GEO_TIMEOUT] = "timeout",
	    [GEO_MALFORMED] = "malformed",
	    [GEO_NOT_TRIED] = "not-tried",
	};

	if ((unsigned)o < sizeof(names) / sizeof(names[0]))
		return names[o];
	return "?";
}

double geo_distance_m(double lat1, double lng1, double lat2, double lng2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlng = (lng2 - lng1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
	           cos(lat1 * rad) * cos(lat2 * rad) * sin(dlng / 2) * sin(dlng / 2);

	if (a > 1)
		a = 1;
	return 2 * EARTH_RADIUS_M * asin(sqrt(a));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0)
		len = 2, min = 0x80, cp = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		len = 3, min = 0x800, cp = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Copy text into dst as one line of valid UTF-8: control characters
 * become spaces, invalid bytes are dropped, and a cut never splits a
 * character.  Leading and trailing blanks are trimmed. */
static void copy_line(char *dst, size_t size, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strlen(src), o = 0, i = 0;

	while (i < n && (s[i] == ' ' || s[i] < 0x20))
		i++;
	while (i < n) {
		size_t k = utf8_seq(s + i, n - i);

		if (!k) {
			i++;
			continue;
		}
		if (o + k >= size)
			break;
		if (k == 1 && (s[i] < 0x20 || s[i] == 0x7F))
			dst[o++] = ' ';
		else
			memcpy(dst + o, s + i, k), o += k;
		i += k;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

static int json_num(const cJSON *obj, const char *key, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return -1;
	*out = v->valuedouble;
	return 0;
}

/* 0 if sr is absent or WGS84 (wkid or latestWkid 4326). */
static enum err_status check_sr(const cJSON *sr, struct err *e)
{
	double wkid = 0, latest = 0;

	if (!sr)
		return ERR_OK;
	if (!cJSON_IsObject(sr))
		return err_set(e, ERR_PERM, "geocoder answer: spatialReference is not an object");
	if (json_num(sr, "wkid", &wkid) && json_num(sr, "latestWkid", &latest))
		return ERR_OK; /* a wkt-only reference: trust outSR=4326 */
	if (wkid == WGS84 || latest == WGS84)
		return ERR_OK;
	return err_set(e, ERR_PERM,
	               "geocoder answer in spatial reference wkid %.0f, not 4326 (WGS84)",
	               wkid ? wkid : latest);
}

/* x,y of a location object, WGS84 and in range. */
static int point_of(const cJSON *loc, double *lat, double *lng)
{
	if (!cJSON_IsObject(loc) || json_num(loc, "x", lng) || json_num(loc, "y", lat))
		return -1;
	if (*lat < -90 || *lat > 90 || *lng < -180 || *lng > 180)
		return -1;
	return 0;
}

static cJSON *parse_object(const char *json, size_t len, struct err *e)
{
	cJSON *root;

	if (!json || !len)
		return err_set(e, ERR_PERM, "geocoder answer: empty body"), NULL;
	root = cJSON_ParseWithLength(json, len);
	if (!root) {
		err_set(e, ERR_PERM, "geocoder answer: malformed JSON near byte %zu",
		        (size_t)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - json : 0));
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		err_set(e, ERR_PERM, "geocoder answer: JSON is not an object");
		return NULL;
	}
	return root;
}

/* The {"error":{...}} body.  Returns 1 if root is one (reply filled), 0
 * if not, -1 if it is broken. */
static int take_error(const cJSON *root, struct geo_reply *out, struct err *e)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *details, *d;
	const char *msg;
	double code = 0;
	char text[GEO_TEXT_MAX * 2];

	if (!err)
		return 0;
	if (!cJSON_IsObject(err)) {
		err_set(e, ERR_PERM, "geocoder answer: \"error\" is not an object");
		return -1;
	}
	json_num(err, "code", &code);
	if (code < -1e9 || code > 1e9)
		code = 0;
	msg = jdoc_get_str(err, "message");
	details = cJSON_GetObjectItemCaseSensitive(err, "details");
	d = cJSON_IsArray(details) ? details->child : NULL;
	if (d && cJSON_IsString(d) && d->valuestring && d->valuestring[0])
		snprintf(text, sizeof(text), "%s (%s)", msg ? msg : "no message", d->valuestring);
	else
		snprintf(text, sizeof(text), "%s", msg ? msg : "no message");
	if (out->reverse && d && cJSON_IsString(d) && d->valuestring &&
	    strstr(d->valuestring, "Unable to find address")) {
		out->n = 0; /* reverseGeocode's way of saying "nothing here" */
		return 1;
	}
	out->error_code = (long)code ? (long)code : -1;
	copy_line(out->error_message, sizeof(out->error_message), text);
	return 1;
}

static void reply_init(struct geo_reply *out, int reverse)
{
	memset(out, 0, sizeof(*out));
	out->reverse = reverse;
}

enum err_status geo_parse_candidates(const char *json, size_t len, struct geo_reply *out,
                                     struct err *e)
{
	cJSON *root = NULL;
	const cJSON *cands, *c;
	enum err_status st = ERR_PERM;
	int is_err;

	reply_init(out, 0);
	root = parse_object(json, len, e);
	if (!root)
		goto out;
	is_err = take_error(root, out, e);
	if (is_err) {
		st = is_err > 0 ? ERR_OK : ERR_PERM;
		goto out;
	}
	if (check_sr(cJSON_GetObjectItemCaseSensitive(root, "spatialReference"), e))
		goto out;
	cands = cJSON_GetObjectItemCaseSensitive(root, "candidates");
	if (!cJSON_IsArray(cands)) {
		err_set(e, ERR_PERM, "geocoder answer: no \"candidates\" array");
		goto out;
	}
	cJSON_ArrayForEach(c, cands)
	{
		struct geo_candidate *g = &out->c[out->n];
		const char *addr = jdoc_get_str(c, "address");

		if (out->n == GEO_MAX_CANDIDATES)
			break;
		/* A candidate we cannot place or name is no use; skip it. */
		if (!addr || json_num(c, "score", &g->score) || g->score < 0 || g->score > 100 ||
		    point_of(cJSON_GetObjectItemCaseSensitive(c, "location"), &g->lat, &g->lng))
			continue;
		copy_line(g->address, sizeof(g->address), addr);
		if (g->address[0])
			out->n++;
	}
	st = ERR_OK;
out:
	cJSON_Delete(root);
	if (st != ERR_OK)
		reply_init(out, 0);
	return st;
}

enum err_status geo_parse_reverse(const char *json, size_t len, struct geo_reply *out,
                                  struct err *e)
{
	cJSON *root = NULL;
	const cJSON *addr, *loc;
	const char *text;
	enum err_status st = ERR_PERM;
	int is_err;

	reply_init(out, 1);
	root = parse_object(json, len, e);
	if (!root)
		goto out;
	is_err = take_error(root, out, e);
	if (is_err) {
		st = is_err > 0 ? ERR_OK : ERR_PERM;
		goto out;
	}
	addr = cJSON_GetObjectItemCaseSensitive(root, "address");
	loc = cJSON_GetObjectItemCaseSensitive(root, "location");
	if (!cJSON_IsObject(addr) || !cJSON_IsObject(loc)) {
		err_set(e, ERR_PERM, "geocoder answer: no \"address\" and \"location\" objects");
		goto out;
	}
	if (check_sr(cJSON_GetObjectItemCaseSensitive(loc, "spatialReference"), e))
		goto out;
	if (point_of(loc, &out->c[0].lat, &out->c[0].lng)) {
		err_set(e, ERR_PERM, "geocoder answer: location has no usable x/y");
		goto out;
	}
	text = jdoc_get_str(addr, "Match_addr");
	if (!text || !text[0])
		text = jdoc_get_str(addr, "LongLabel");
	if (!text || !text[0])
		text = jdoc_get_str(addr, "Address");
	if (text)
		copy_line(out->c[0].address, sizeof(out->c[0].address), text);
	out->c[0].score = -1;
	out->n = out->c[0].address[0] ? 1 : 0;
	st = ERR_OK;
out:
	cJSON_Delete(root);
	if (st != ERR_OK)
		reply_init(out, 1);
	return st;
}

static void set_text(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_text(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, GEO_TEXT_MAX, fmt, ap);
	va_end(ap);
}

static void keep_reported(struct geo_result *out, const char *reported)
{
	copy_line(out->address, sizeof(out->address), reported ? reported : "");
}

void geo_result_fail(struct geo_result *out, enum geo_outcome why, const char *reason,
                     double max_distance_m, const char *reported)
{
	char line[GEO_TEXT_MAX];

	memset(out, 0, sizeof(*out));
	out->operation = "";
	out->outcome = why;
	out->score = -1;
	out->distance_m = -1;
	keep_reported(out, reported);
	copy_line(line, sizeof(line), reason ? reason : geo_outcome_name(why));
	memcpy(out->reason, line, sizeof(line));
	switch (why) {
	case GEO_NO_CANDIDATES:
		set_text(out->note, "Reported address; ArcGIS found no candidate within %.0f m",
		         max_distance_m);
		break;
	case GEO_NOT_TRIED:
		set_text(out->note, "Reported address; not checked with ArcGIS (%s)", line);
		break;
	default:
		set_text(out->note, "Reported address; ArcGIS geocoder unavailable (%s)", line);
		break;
	}
}

/* Candidate a beats b: higher score, then nearer. */
static int better(double sa, double da, double sb, double db)
{
	return sa > sb || (sa == sb && da < db);
}

void geo_choose(const struct geo_reply *r, const struct geo_rules *rules, double lat, double lng,
                const char *reported, struct geo_result *out)
{
	long chosen = -1;
	double best_score = -1, near_ok = -1;
	double dist[GEO_MAX_CANDIDATES];
	size_t n = r->n < GEO_MAX_CANDIDATES ? r->n : GEO_MAX_CANDIDATES;
	char why[GEO_TEXT_MAX];

	memset(out, 0, sizeof(*out));
	out->operation = "";
	if (r->error_code) {
		snprintf(why, sizeof(why), "geocoder error %ld: %.250s", r->error_code,
		         r->error_message);
		geo_result_fail(out, GEO_SERVICE_ERROR, why, rules->max_distance_m, reported);
		out->service_code = r->error_code;
		return;
	}
	if (!n) {
		geo_result_fail(out, GEO_NO_CANDIDATES, "no candidates", rules->max_distance_m,
		                reported);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct geo_candidate *c = &r->c[i];
		int score_ok = c->score < 0 || c->score >= rules->min_score;

		dist[i] = geo_distance_m(lat, lng, c->lat, c->lng);
		if (c->score > best_score)
			best_score = c->score;
		if (score_ok && (near_ok < 0 || dist[i] < near_ok))
			near_ok = dist[i];
		if (!score_ok || !(dist[i] <= rules->max_distance_m))
			continue;
		if (chosen < 0 || better(c->score, dist[i], r->c[chosen].score, dist[chosen]))
			chosen = (long)i;
	}
	if (chosen >= 0) {
		const struct geo_candidate *c = &r->c[chosen];

		out->verified = 1;
		out->outcome = GEO_VERIFIED;
		out->score = c->score;
		out->distance_m = dist[chosen];
		memcpy(out->address, c->address, sizeof(out->address));
		if (c->score < 0) {
			set_text(out->reason, "nearest address %.0f m away", dist[chosen]);
			set_text(out->note,
			         "Address verified by ArcGIS (nearest address, %.0f m from the "
			         "reported point)",
			         dist[chosen]);
		} else {
			set_text(out->reason, "score %.0f, %.0f m away", c->score, dist[chosen]);
			set_text(out->note,
			         "Address verified by ArcGIS (score %.0f, %.0f m from the reported "
			         "point)",
			         c->score, dist[chosen]);
		}
		return;
	}
	out->verified = 0;
	keep_reported(out, reported);
	if (near_ok >= 0) {
		out->outcome = GEO_TOO_FAR;
		out->score = -1;
		out->distance_m = near_ok;
		set_text(out->reason, "nearest candidate %.0f m away (limit %.0f m)", near_ok,
		         rules->max_distance_m);
		set_text(
		    out->note,
		    "Reported address; ArcGIS found no candidate within %.0f m (nearest %.0f m)",
		    rules->max_distance_m, near_ok);
		return;
	}
	out->outcome = GEO_LOW_SCORE;
	out->score = best_score;
	out->distance_m = -1;
	set_text(out->reason, "best score %.0f below %.0f", best_score, rules->min_score);
	set_text(out->note,
	         "Reported address; ArcGIS's best candidate scored %.0f (at least %.0f needed)",
	         best_score, rules->min_score);
}
