/*
 * scf-sim: a SeeClickFix API v2 stand-in (organization API) on loopback.
 *
 * Shapes, parameters and quirks follow the SeeClickFix reference notes:
 * capitalized statuses out and lowercase status filters in, the real
 * pagination block with "entries", comments without an id (the id lives
 * in flag_url), the transitions table, 422 without a comment, Bearer
 * token, a required User-Agent, 20 requests/minute with 429 + Retry-After
 * and 403 for persistent abuse, Archived after a delay.  Where the notes
 * say a behaviour is unknown, the choice made here is listed in
 * docs/simulators.md.
 *
 * State lives in one cJSON tree (times as epoch seconds), which is also
 * what /_admin/state shows and what --save writes.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "num.h"
#include "simlib.h"

#define DOC_URL "http://dev.seeclickfix.com"
#define ANON_AVATAR                                                                                \
	"/assets/anonymous-avatar-100x100-"                                                        \
	"127a80e459a3fd9874ad8556fb9140ffa2f046dec0dbebe1ff67e922098c8c02.png"
#define ANON_AVATAR_SQ                                                                             \
	"/assets/anonymous-avatar-150x150-"                                                        \
	"78bcd7e64bc228bd7bcf0b8c29c42a912d546dd2059ea0d573aaf7afd113f2ef.png"
#define NO_AVATAR                                                                                  \
	"/assets/"                                                                                 \
	"no-avatar-100-5e06fcc664c6376bbf654cbd67df857ff81918c5f5c6a2345226093147382de9.png"

enum {
	O_ISSUES = 2000,
	O_ORG,
	O_ORGNAME,
	O_TOKEN,
	O_TOKENFILE,
	O_RATE,
	O_ARCHIVE,
	O_TZ,
	O_BLAFTER,
	O_BLSECS,
	O_BASIC,
	O_APIUSER,
	O_PHOTOS,
	O_RWINDOW,
	O_SLIDING,
	O_BAN429
};

static const struct option scf_opts[] = {
    {"issues", required_argument, 0, O_ISSUES},
    {"org", required_argument, 0, O_ORG},
    {"org-name", required_argument, 0, O_ORGNAME},
    {"token", required_argument, 0, O_TOKEN},
    {"token-file", required_argument, 0, O_TOKENFILE},
    {"basic", required_argument, 0, O_BASIC},
    {"rate-limit", required_argument, 0, O_RATE},
    {"blacklist-after", required_argument, 0, O_BLAFTER},
    {"blacklist-seconds", required_argument, 0, O_BLSECS},
    {"archive-after", required_argument, 0, O_ARCHIVE},
    {"utc-offset", required_argument, 0, O_TZ},
    {"api-user", required_argument, 0, O_APIUSER},
    {"photo-percent", required_argument, 0, O_PHOTOS},
    {"rate-window", required_argument, 0, O_RWINDOW},
    {"rate-sliding", no_argument, 0, O_SLIDING},
    {"ban-after-429", required_argument, 0, O_BAN429},
    {0, 0, 0, 0},
};

static const char scf_usage[] =
    "A SeeClickFix API v2 simulator (organization API) on 127.0.0.1.\n\n"
    "scf-sim options:\n"
    "  --issues N             generate N issues from --seed (default 25)\n"
    "  --org ID               organization id (default 1102)\n"
    "  --org-name NAME        organization name (default \"City of Springfield\")\n"
    "  --token TOKEN          expected Bearer token (default scf-sim-token)\n"
    "  --token-file FILE      read the expected Bearer token from FILE\n"
    "  --basic USER:PASS      also accept HTTP Basic with these credentials\n"
    "  --rate-limit N         requests per window, 429 beyond (default 20, 0 = off)\n"
    "  --rate-window S        the window of --rate-limit in seconds (default 60)\n"
    "  --rate-sliding         a sliding window (--rate-limit accepted requests in any\n"
    "                         --rate-window) instead of fixed windows\n"
    "  --ban-after-429 N      403 ban once N 429s were answered in all (default 0 = off)\n"
    "  --blacklist-after N    429s ignored within one minute before 403 (default 30)\n"
    "  --blacklist-seconds S  how long the 403 lasts (default 600)\n"
    "  --archive-after S      Closed issues become Archived after S seconds\n"
    "                         (default 604800 = 7 days; 0 = never)\n"
    "  --utc-offset +HH:MM    zone of the timestamps (default -05:00)\n"
    "  --api-user NAME        name of the token's user (default \"City Integration\")\n"
    "  --photo-percent P      share of generated issues with a photo (default 40)\n";

static struct {
	int org;
	char org_name[128];
	char token[512];
	char basic[512];
	int rate_limit;
	int blacklist_after;
	int blacklist_seconds;
	long archive_after;
	int tz;
	int n_issues;
	unsigned photo_percent;
	char api_user[128];
	cJSON *issues;
	int next_issue_id;
	int next_comment_id;
	time_t win_start;
	int win_count;
	int win_over;
	time_t blocked_until;
	int rate_window;   /* seconds */
	int sliding;       /* --rate-sliding */
	int ban_after_429; /* 0: off */
	long count_429;    /* 429s answered since start or the last reset */
	long bans;         /* 403 bans started */
	uint64_t *ring;    /* --rate-sliding: accepted request times (ms) */
	size_t ring_head, ring_n;
} S = {
    .rate_window = 60,
    .org = 1102,
    .org_name = "City of Springfield",
    .token = "scf-sim-token",
    .rate_limit = 20,
    .blacklist_after = 30,
    .blacklist_seconds = 600,
    .archive_after = (time_t)7 * 86400,
    .tz = -300,
    .n_issues = 25,
    .photo_percent = 40,
    .api_user = "City Integration",
};

/* Bumped on every change of state; see the rendered-issue cache.
 * rtab_dirty asks the next archive sweep to run even within the second. */
static uint64_t rtab_gen;
static int rtab_dirty = 1;

/* ---- request types (the org's categories) ---- */

struct question {
	const char *text;
	const char *choices[5];
};

struct rtype {
	int id;
	const char *title;
	const char *icon;
	const char *dept;
	struct question q[4];
};

static const struct rtype rtypes[] = {
    {9101,
     "Pothole",
     "pothole-3a7f9f7c0e2b6d1c4a5e8b9d0f1a2c3e4b5d6f7a8b9c0d1e2f3a4b5c6d7e8f90",
     "Public Works",
     {{"How deep is the pothole?", {"Shallow", "Deep", "Very deep"}},
      {"Is it hazardous?", {"Yes", "No"}}}},
    {9102,
     "Graffiti",
     "graffiti-5b1e2d3c4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c",
     "Parks and Recreation",
     {{"Is the graffiti offensive?", {"Yes", "No"}},
      {"What surface is it on?", {"Brick", "Painted brick", "Wood", "Metal"}}}},
    {9103,
     "Streetlight Out",
     "streetlight-8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
     "Traffic Engineering",
     {{"Pole number", {"SL-1043", "SL-2210", "No Answer Given"}},
      {"Is the light flickering or fully out?", {"Flickering", "Fully out"}}}},
    {9104,
     "Solid Waste - Garbage Roll Cart",
     "trash-f6b4bb46a308421d38fc042b1a74691fe7778de981d59493fa89297f6caa86a1",
     "Solid Waste",
     {{"What type of issue is being reported or requested?",
       {"Deliver New Cart", "Repair Cart", "Missed Pickup"}},
      {"How many carts purchased?", {"1", "2", "3"}},
      {"Reporter Name", {"No Answer Given", "Pat Smith"}}}},
    {9105,
     "Snow/Ice Removal on Sidewalk",
     "snow-2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f",
     "Office of Code Compliance",
     {{"Is the sidewalk near a school?", {"Yes", "No"}}}},
};
#define N_RTYPES (sizeof(rtypes) / sizeof(rtypes[0]))

static const struct rtype *rtype_by_id(int id)
{
	for (size_t i = 0; i < N_RTYPES; i++)
		if (rtypes[i].id == id)
			return &rtypes[i];
	return NULL;
}

/* ---- options ---- */

static int read_token_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return -1;
	n = fread(S.token, 1, sizeof(S.token) - 1, fp);
	fclose(fp);
	S.token[n] = '\0';
	while (n > 0 && isspace((unsigned char)S.token[n - 1]))
		S.token[--n] = '\0';
	return n ? 0 : -1;
}

static int scf_option(int opt, const char *arg)
{
	char *end;
	long v;
	int numeric;

	if (opt == O_SLIDING) { /* the one option without an argument */
		S.sliding = 1;
		return 0;
	}
	v = strtol(arg, &end, 10);
	numeric = end != arg && *end == '\0' && v >= 0;
	switch (opt) {
	case O_ISSUES:
		S.n_issues = (int)v;
		return numeric && v <= 1000000 ? 0 : -1;
	case O_PHOTOS:
		S.photo_percent = (unsigned)v;
		return numeric && v <= 100 ? 0 : -1;
	case O_ORG:
		S.org = (int)v;
		return numeric && v > 0 ? 0 : -1;
	case O_ORGNAME:
		snprintf(S.org_name, sizeof(S.org_name), "%s", arg);
		return 0;
	case O_TOKEN:
		snprintf(S.token, sizeof(S.token), "%s", arg);
		return arg[0] ? 0 : -1;
	case O_TOKENFILE:
		return read_token_file(arg);
	case O_BASIC:
		snprintf(S.basic, sizeof(S.basic), "%s", arg);
		return strchr(arg, ':') ? 0 : -1;
	case O_RATE:
		S.rate_limit = (int)v;
		return numeric ? 0 : -1;
	case O_BLAFTER:
		S.blacklist_after = (int)v;
		return numeric ? 0 : -1;
	case O_BLSECS:
		S.blacklist_seconds = (int)v;
		return numeric ? 0 : -1;
	case O_RWINDOW:
		S.rate_window = (int)v;
		return numeric && v > 0 ? 0 : -1;
	case O_BAN429:
		S.ban_after_429 = (int)v;
		return numeric ? 0 : -1;
	case O_ARCHIVE:
		S.archive_after = v;
		return numeric ? 0 : -1;
	case O_TZ:
		return sim_offset_parse(arg, &S.tz);
	case O_APIUSER:
		snprintf(S.api_user, sizeof(S.api_user), "%s", arg);
		return 0;
	}
	return -1;
}

/* ---- small JSON builders ---- */

static void add_time(cJSON *o, const char *key, const cJSON *src)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
	char ts[32];

	if (!cJSON_IsNumber(v)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	sim_time_format((time_t)v->valuedouble, S.tz, ts);
	cJSON_AddStringToObject(o, key, ts);
}

static void add_time_t(cJSON *o, const char *key, time_t t)
{
	char ts[32];

	sim_time_format(t, S.tz, ts);
	cJSON_AddStringToObject(o, key, ts);
}

/* base + path, or a full URL unchanged; NULL stays null. */
static void add_url(cJSON *o, const char *key, const char *path)
{
	char url[1024];

	if (!path) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	if (strncmp(path, "http", 4) == 0)
		snprintf(url, sizeof(url), "%s", path);
	else
		snprintf(url, sizeof(url), "%s%s", sim_base_url(), path);
	cJSON_AddStringToObject(o, key, url);
}

__attribute__((format(printf, 3, 4))) static void add_urlf(cJSON *o, const char *key,
                                                           const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	add_url(o, key, path);
}

static void add_str_or_null(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *user_new(int id, const char *name, const char *role, const char *avatar, int points)
{
	cJSON *u = cJSON_CreateObject();

	cJSON_AddNumberToObject(u, "id", id);
	cJSON_AddStringToObject(u, "name", name);
	cJSON_AddStringToObject(u, "role", role);
	cJSON_AddStringToObject(u, "avatar", avatar);
	cJSON_AddNumberToObject(u, "civic_points", points);
	return u;
}

static cJSON *anon_user(void)
{
	return user_new(0, "An anonymous SeeClickFix user", "Registered User", "anon", 0);
}

static cJSON *api_user(void)
{
	return user_new(7000001, S.api_user, "Verified Official", "none", 0);
}

static cJSON *org_user(void)
{
	return user_new(
	    1354845, S.org_name, "Verified Official",
	    "/rails/active_storage/representations/redirect/"
	    "eyJfcmFpbHMiOnsiZGF0YSI6MTIzNDU2LCJwdXIiOiJibG9iX2lkIn19/wrench-heart-blue.png",
	    0);
}

static cJSON *render_user(const cJSON *u)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *av;
	const char *avatar = sim_jstr(u, "avatar");
	int id = (int)sim_jnum(u, "id", 0);

	cJSON_AddNumberToObject(o, "id", id);
	cJSON_AddStringToObject(o, "name", sim_jstr(u, "name") ? sim_jstr(u, "name") : "");
	cJSON_AddStringToObject(o, "witty_title", id == 0 ? "Street Smart" : "");
	cJSON_AddStringToObject(o, "role", sim_jstr(u, "role") ? sim_jstr(u, "role") : "");
	av = cJSON_AddObjectToObject(o, "avatar");
	if (avatar && strcmp(avatar, "anon") == 0) {
		add_url(av, "full", ANON_AVATAR);
		add_url(av, "square_100x100", ANON_AVATAR_SQ);
		add_url(o, "html_url", "/users/anonymous");
	} else {
		const char *p = avatar && avatar[0] == '/' ? avatar : NO_AVATAR;

		add_url(av, "full", p);
		add_url(av, "square_100x100", p);
		add_urlf(o, "html_url", "/users/%d", id);
	}
	cJSON_AddNumberToObject(o, "civic_points", sim_jnum(u, "civic_points", 0));
	return o;
}

/* ---- issues ---- */

static cJSON *issue_by_id(int id)
{
	cJSON *it;

	cJSON_ArrayForEach(it, S.issues)
	{
		if ((int)sim_jnum(it, "id", -1) == id)
			return it;
	}
	return NULL;
}

static void set_num(cJSON *o, const char *key, double v)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(o, key);

	if (cJSON_IsNumber(old))
		cJSON_SetNumberValue(old, v);
	else if (old)
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateNumber(v));
	else
		cJSON_AddNumberToObject(o, key, v);
}

static void set_str(cJSON *o, const char *key, const char *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateString(v));
	else
		cJSON_AddStringToObject(o, key, v);
}

static const char *status_of(const cJSON *is)
{
	const char *s = sim_jstr(is, "status");

	return s ? s : "Open";
}

static cJSON *comment_add(cJSON *issue, cJSON *commenter, const char *text, const char *kind,
                          const char *via, const char *action, const char *photo, time_t when)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(issue, "comments");
	cJSON *c = cJSON_CreateObject();

	if (!arr)
		arr = cJSON_AddArrayToObject(issue, "comments");
	cJSON_AddNumberToObject(c, "id", S.next_comment_id++);
	cJSON_AddStringToObject(c, "comment", text);
	cJSON_AddNumberToObject(c, "created_at", (double)when);
	cJSON_AddNumberToObject(c, "updated_at", (double)when);
	cJSON_AddItemToObject(c, "commenter", commenter);
	cJSON_AddStringToObject(c, "kind", kind);
	cJSON_AddStringToObject(c, "via", via);
	cJSON_AddStringToObject(c, "action", action);
	add_str_or_null(c, "photo", photo);
	cJSON_AddItemToArray(arr, c);
	return c;
}

/* Closed issues turn Archived once their delay is over (lock held). */
static void archive_sweep(time_t now)
{
	cJSON *it;

	/* The earliest due time of a Closed issue not yet archived, valid
	 * while nothing was written: a read between due times costs nothing
	 * instead of a pass over every issue (a census reads thousands of
	 * pages of a large organization). */
	static time_t next_due = -1;

	if (S.archive_after <= 0 || (!rtab_dirty && next_due >= 0 && now < next_due))
		return;
	rtab_dirty = 0;
	next_due = (time_t)INT64_MAX;
	cJSON_ArrayForEach(it, S.issues)
	{
		double closed;
		time_t due;

		if (strcmp(status_of(it), "Closed") != 0)
			continue;
		closed = sim_jnum(it, "closed_at", -1);
		due = (time_t)closed + S.archive_after;
		if (closed >= 0 && due > now && due < next_due)
			next_due = due;
		if (closed < 0 || due > now)
			continue;
		set_str(it, "status", "Archived");
		rtab_gen++;
		set_num(it, "archived_at", (double)due);
		set_num(it, "updated_at", (double)due);
	}
}

static cJSON *render_transitions(const cJSON *is)
{
	cJSON *t = cJSON_CreateObject();
	const char *st = status_of(is);
	int id = (int)sim_jnum(is, "id", 0);

	if (strcmp(st, "Open") == 0) {
		add_urlf(t, "acknowledge_url", "/api/v2/issues/%d/acknowledge", id);
		add_urlf(t, "close_url", "/api/v2/issues/%d/close", id);
	} else if (strcmp(st, "Acknowledged") == 0) {
		add_urlf(t, "close_url", "/api/v2/issues/%d/close", id);
	} else if (strcmp(st, "Closed") == 0) {
		add_urlf(t, "open_url", "/api/v2/issues/%d/open", id);
	}
	return t;
}

static cJSON *render_comment(const cJSON *c, int issue_id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *m;
	const char *photo = sim_jstr(c, "photo");
	const char *kind = sim_jstr(c, "kind");
	double created = sim_jnum(c, "created_at", 0);

	cJSON_AddStringToObject(o, "comment", sim_jstr(c, "comment") ? sim_jstr(c, "comment") : "");
	add_time(o, "created_at", c);
	add_time(o, "updated_at", c);
	if (kind && strcmp(kind, "system") == 0)
		cJSON_AddNullToObject(o, "editable_until");
	else
		add_time_t(o, "editable_until", (time_t)created + (time_t)7 * 86400);
	cJSON_AddNullToObject(o, "last_edited_at");
	cJSON_AddItemToObject(o, "commenter",
	                      render_user(cJSON_GetObjectItemCaseSensitive(c, "commenter")));
	add_urlf(o, "issue_url", "/api/v2/issues/%d", issue_id);
	add_urlf(o, "flag_url", "/api/v2/comments/%d/flag", (int)sim_jnum(c, "id", 0));
	m = cJSON_AddObjectToObject(o, "media");
	cJSON_AddNullToObject(m, "video_url");
	add_url(m, "image_full", photo);
	add_url(m, "image_square_100x100", photo);
	cJSON_AddFalseToObject(o, "show_blocked_comment_text");
	return o;
}

static int comment_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	double dx = sim_jnum(x, "created_at", 0), dy = sim_jnum(y, "created_at", 0);

	if (dx != dy)
		return dx < dy ? -1 : 1;
	return (int)sim_jnum(x, "id", 0) - (int)sim_jnum(y, "id", 0);
}

/* Comments ordered by created date, as the API documents. */
static cJSON *render_comments(const cJSON *is)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(is, "comments");
	int n = cJSON_GetArraySize(arr), i = 0;
	const cJSON **v = calloc((size_t)n + 1, sizeof(const cJSON *));
	const cJSON *c;
	cJSON *out = cJSON_CreateArray();

	if (!v)
		abort();
	cJSON_ArrayForEach(c, arr) v[i++] = c;
	qsort(v, (size_t)n, sizeof(const cJSON *), comment_cmp);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(out, render_comment(v[i], (int)sim_jnum(is, "id", 0)));
	free(v);
	return out;
}

static cJSON *render_issue(const cJSON *is, int details)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *p, *rt, *media;
	const struct rtype *t = rtype_by_id((int)sim_jnum(is, "request_type_id", 0));
	int id = (int)sim_jnum(is, "id", 0);
	double lat = sim_jnum(is, "lat", 0), lng = sim_jnum(is, "lng", 0);
	const char *photo = sim_jstr(is, "photo");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(is, "description");
	char buf[512];

	cJSON_AddNumberToObject(o, "id", id);
	cJSON_AddStringToObject(o, "status", status_of(is));
	cJSON_AddStringToObject(o, "summary",
	                        sim_jstr(is, "summary") ? sim_jstr(is, "summary") : "");
	add_str_or_null(o, "description", cJSON_IsString(desc) ? desc->valuestring : NULL);
	cJSON_AddNumberToObject(o, "rating", sim_jnum(is, "rating", 1));
	cJSON_AddNumberToObject(o, "lat", lat);
	cJSON_AddNumberToObject(o, "lng", lng);
	cJSON_AddStringToObject(o, "address",
	                        sim_jstr(is, "address") ? sim_jstr(is, "address") : "");
	add_time(o, "created_at", is);
	add_time(o, "acknowledged_at", is);
	add_time(o, "closed_at", is);
	add_time(o, "reopened_at", is);
	add_time(o, "updated_at", is);
	cJSON_AddNullToObject(o, "shortened_url");
	cJSON_AddNumberToObject(
	    o, "comments_count",
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(is, "comments")));
	add_urlf(o, "url", "/api/v2/issues/%d", id);
	p = cJSON_AddObjectToObject(o, "point");
	cJSON_AddStringToObject(p, "type", "Point");
	cJSON_AddItemToObject(p, "coordinates", cJSON_CreateDoubleArray((double[]){lng, lat}, 2));
	cJSON_AddBoolToObject(o, "private_visibility",
	                      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(is, "private")));
	add_urlf(o, "html_url", "/issues/%d", id);
	cJSON_AddFalseToObject(o, "show_blocked_issue_text");
	rt = cJSON_AddObjectToObject(o, "request_type");
	cJSON_AddNumberToObject(rt, "id", t ? t->id : 0);
	cJSON_AddStringToObject(rt, "title", t ? t->title : "Other");
	cJSON_AddStringToObject(rt, "organization", S.org_name);
	add_urlf(rt, "url", "/api/v2/request_types/%d", t ? t->id : 0);
	snprintf(buf, sizeof(buf),
	         "/api/v2/issues?lat=%.15g&lng=%.15g&request_types=%d&sort=distance", lat, lng,
	         t ? t->id : 0);
	add_url(rt, "related_issues_url", buf);
	add_urlf(o, "comment_url", "/api/v2/issues/%d/comments", id);
	add_urlf(o, "flag_url", "/api/v2/issues/%d/flag", id);
	cJSON_AddItemToObject(o, "transitions", render_transitions(is));
	cJSON_AddItemToObject(o, "reporter",
	                      render_user(cJSON_GetObjectItemCaseSensitive(is, "reporter")));
	media = cJSON_AddObjectToObject(o, "media");
	cJSON_AddNullToObject(media, "video_url");
	add_url(media, "image_full", photo);
	add_url(media, "image_square_100x100", photo);
	if (photo) {
		add_url(media, "representative_image_url", photo);
	} else {
		snprintf(buf, sizeof(buf), "/assets/categories/%s.png", t ? t->icon : "other");
		add_url(media, "representative_image_url", buf);
	}
	if (!details) {
		cJSON_AddNullToObject(o, "integrations");
		return o;
	}
	cJSON_AddArrayToObject(o, "integrations");
	cJSON_AddNullToObject(o, "assignee");
	cJSON_AddItemToObject(
	    o, "questions", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(is, "questions"), 1));
	if (!cJSON_GetObjectItemCaseSensitive(o, "questions"))
		cJSON_AddArrayToObject(o, "questions");
	cJSON_AddItemToObject(o, "comments", render_comments(is));
	cJSON_AddArrayToObject(o, "votes");
	cJSON_AddNumberToObject(o, "vote_count", 0);
	p = cJSON_AddObjectToObject(o, "current_user_relationship");
	cJSON_AddFalseToObject(p, "following");
	cJSON_AddFalseToObject(p, "voted");
	cJSON_AddFalseToObject(p, "reporter");
	cJSON_AddFalseToObject(p, "assignee");
	p = cJSON_AddObjectToObject(o, "actions");
	add_urlf(p, "public_comment_url", "/api/v2/issues/%d/comments", id);
	add_urlf(p, "vote_url", "/api/v2/issues/%d/vote", id);
	add_urlf(p, "follow_url", "/api/v2/issues/%d/follow", id);
	return o;
}

/* ---- seeded data ---- */

static const char *const streets[] = {
    "State St", "Chapel St",   "Elm St",         "Whitney Ave",          "Orange St",   "Crown St",
    "Ferry St", "Dixwell Ave", "Quinnipiac Ave", "Avenida de los Niños", "Sherman Pkwy"};
static const char *const residents[] = {"Alyssa",    "José Núñez",   "Zoë Ødegaard",
                                        "李雷",      "Mary O'Brien", "Dmitri Ivanov",
                                        "Ana-María", "Kwame Mensah"};
static const char *const descs[] = {
    "Please fix my neighborhood.",
    "Huge hole right in the bike lane, I almost fell. Cars swerve around it.",
    "Hay un bache enorme frente a la escuela; es peligroso para las bicicletas 🚲.",
    "Been reported multiple times with no change.\r\nStill there this morning.",
    "Tagged again overnight: \"<script>alert('x')</script>\" & other scribbles <b>bold</b>.",
    "路灯坏了，晚上很黑。The light has been out for a week.",
    "Carts were not delivered; the old one is cracked.",
    "Sheet of ice on the unplowed sidewalk. Super dangerous, near schools.",
};
static const char *const resident_comments[] = {
    "Me too", "Still here as of this morning.", "¡Gracias por arreglarlo!",
    "Any update? It is getting worse 😟", "Thanks, the crew was very quick."};

static char *long_text(struct sim_rng *r)
{
	static const char *const words[] = {"pothole", "asphalt", "crack",    "sidewalk", "water",
	                                    "drain",   "unsafe",  "children", "señal",    "été"};
	size_t cap = 6000, len = 0;
	char *s = malloc(cap);

	if (!s)
		abort();
	while (len < 5200) {
		const char *w = words[sim_rng_below(r, 10)];

		len += (size_t)snprintf(s + len, cap - len, "%s ", w);
	}
	s[len - 1] = '.';
	return s;
}

static void add_media_photo(cJSON *is, struct sim_rng *r, time_t when)
{
	char path[300], ts[32];
	uint64_t k = sim_rng_next(r);

	sim_time_format(when, S.tz, ts);
	for (char *c = ts; *c; c++)
		if (*c == ':')
			*c = '-';
	snprintf(path, sizeof(path),
	         "/rails/active_storage/representations/redirect/%016llx/"
	         "%08x-%04x-4%03x-8%03x-%012llx_%s.jpeg",
	         (unsigned long long)k, (unsigned)(k >> 32), (unsigned)(k & 0xffff),
	         (unsigned)((k >> 16) & 0xfff), (unsigned)((k >> 8) & 0xfff),
	         (unsigned long long)(sim_rng_next(r) & 0xffffffffffffULL), ts);
	set_str(is, "photo", path);
}

static cJSON *new_issue(const struct rtype *t, time_t created)
{
	cJSON *is = cJSON_CreateObject();

	cJSON_AddNumberToObject(is, "id", S.next_issue_id++);
	cJSON_AddStringToObject(is, "status", "Open");
	cJSON_AddStringToObject(is, "summary", t->title);
	cJSON_AddNumberToObject(is, "request_type_id", t->id);
	cJSON_AddNumberToObject(is, "created_at", (double)created);
	cJSON_AddNumberToObject(is, "updated_at", (double)created);
	cJSON_AddNullToObject(is, "acknowledged_at");
	cJSON_AddNullToObject(is, "closed_at");
	cJSON_AddNullToObject(is, "reopened_at");
	cJSON_AddNullToObject(is, "archived_at");
	cJSON_AddFalseToObject(is, "private");
	cJSON_AddNullToObject(is, "photo");
	cJSON_AddArrayToObject(is, "questions");
	cJSON_AddArrayToObject(is, "comments");
	return is;
}

static void seed_issue(struct sim_rng *r, int i, time_t now)
{
	const struct rtype *t = &rtypes[sim_rng_below(r, N_RTYPES)];
	time_t created = now - (time_t)6 * 86400 + (time_t)sim_rng_below(r, 5 * 86400);
	cJSON *is = new_issue(t, created);
	cJSON *qs = cJSON_GetObjectItemCaseSensitive(is, "questions");
	unsigned pick = sim_rng_below(r, 100);
	time_t at = created;
	char buf[512];

	cJSON_AddNumberToObject(is, "rating", 1 + sim_rng_below(r, 5));
	cJSON_AddNumberToObject(is, "lat", 41.29 + sim_rng_unit(r) * 0.04);
	cJSON_AddNumberToObject(is, "lng", -72.95 + sim_rng_unit(r) * 0.06);
	snprintf(buf, sizeof(buf), "%u %s %s, CT, 0651%u, USA", 1 + sim_rng_below(r, 1999),
	         streets[sim_rng_below(r, sizeof(streets) / sizeof(streets[0]))], "New Haven",
	         sim_rng_below(r, 10));
	cJSON_AddStringToObject(is, "address", buf);
	if (i % 12 == 11) {
		char *lt = long_text(r);

		cJSON_AddStringToObject(is, "description", lt);
		free(lt);
	} else if (sim_rng_below(r, 10) == 0) {
		cJSON_AddNullToObject(is, "description");
	} else {
		cJSON_AddStringToObject(is, "description",
		                        descs[sim_rng_below(r, sizeof(descs) / sizeof(descs[0]))]);
	}
	if (sim_rng_below(r, 3) == 0)
		cJSON_AddItemToObject(is, "reporter", anon_user());
	else
		cJSON_AddItemToObject(
		    is, "reporter",
		    user_new(2342000 + (int)sim_rng_below(r, 900),
		             residents[sim_rng_below(r, sizeof(residents) / sizeof(residents[0]))],
		             "Registered User", "none", (int)sim_rng_below(r, 500)));
	{
		/* One draw as before: u % 5 is the old sim_rng_below(r, 5), and
		 * the rank orders u by it first, so the default 40 picks exactly
		 * the issues the old "< 2 of 5" did (same data for a seed). */
		unsigned u = sim_rng_below(r, 100);

		if ((u % 5) * 20 + u / 5 < S.photo_percent)
			add_media_photo(is, r, created);
	}
	if (sim_rng_below(r, 15) == 0)
		cJSON_ReplaceItemInObjectCaseSensitive(is, "private", cJSON_CreateTrue());
	for (int q = 0; q < 4 && t->q[q].text; q++) {
		cJSON *qa = cJSON_CreateObject();
		int nc = 0;

		while (nc < 5 && t->q[q].choices[nc])
			nc++;
		cJSON_AddStringToObject(qa, "question", t->q[q].text);
		cJSON_AddStringToObject(qa, "answer",
		                        t->q[q].choices[sim_rng_below(r, (unsigned)nc)]);
		cJSON_AddItemToArray(qs, qa);
	}
	if (sim_rng_below(r, 2) == 0) {
		at += 13 + sim_rng_below(r, 60);
		snprintf(buf, sizeof(buf), "%s assigned this issue to %s", S.org_name, t->dept);
		comment_add(is, org_user(), buf, "system", "seed", "comment", NULL, at);
	}
	if (sim_rng_below(r, 3) == 0) {
		at += 600 + sim_rng_below(r, 20000);
		comment_add(is,
		            user_new(2343000 + (int)sim_rng_below(r, 900),
		                     residents[sim_rng_below(r, 8)], "Registered User", "none", 10),
		            resident_comments[sim_rng_below(r, 5)], "resident", "seed", "comment",
		            sim_rng_below(r, 3) == 0
		                ? "/files/comment_images/0093/5793/1514132184511.jpg"
		                : NULL,
		            at);
	}
	/* 60% Open, 15% Acknowledged, 15% Closed, 10% Archived. */
	if (pick >= 60) {
		at += 3600 + sim_rng_below(r, 40000);
		set_str(is, "status", "Acknowledged");
		set_num(is, "acknowledged_at", (double)at);
		comment_add(is, api_user(), "Thank you. A work order has been created.", "official",
		            "seed", "acknowledge", NULL, at);
	}
	if (pick >= 75) {
		at += 3600 + sim_rng_below(r, 40000);
		set_str(is, "status", "Closed");
		set_num(is, "closed_at", (double)at);
		comment_add(is, api_user(), "The crew has fixed this. Thank you for reporting.",
		            "official", "seed", "close", NULL, at);
	}
	if (pick >= 90) {
		/* Already archived: pretend it closed long ago. */
		time_t shift = (time_t)20 * 86400;

		set_num(is, "created_at", sim_jnum(is, "created_at", 0) - (double)shift);
		set_num(is, "closed_at", (double)(at - shift));
		set_num(is, "acknowledged_at", sim_jnum(is, "acknowledged_at", 0) - (double)shift);
		cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(is, "comments"))
		{
			set_num(c, "created_at", sim_jnum(c, "created_at", 0) - (double)shift);
			set_num(c, "updated_at", sim_jnum(c, "updated_at", 0) - (double)shift);
		}
		at = at - shift + (time_t)7 * 86400;
		set_str(is, "status", "Archived");
		set_num(is, "archived_at", (double)at);
	}
	set_num(is, "updated_at", (double)at);
	cJSON_AddItemToArray(S.issues, is);
}

static int scf_start(int loaded)
{
	struct sim_rng r;
	time_t now = sim_now();

	if (loaded)
		return 0;
	S.issues = cJSON_CreateArray();
	S.next_issue_id = 20980001 + (int)(sim_mix(sim_seed()) % 1000) * 100;
	S.next_comment_id = 62315001 + (int)(sim_mix(sim_seed() + 7) % 1000) * 1000;
	sim_rng_init(&r, sim_seed());
	for (int i = 0; i < S.n_issues; i++)
		seed_issue(&r, i, now);
	return 0;
}

/* The limiter as /_admin/state and /_admin/rate-limit show it. */
static cJSON *rate_json(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "per_minute", S.rate_limit);
	cJSON_AddNumberToObject(o, "window_seconds", S.rate_window);
	cJSON_AddBoolToObject(o, "sliding", S.sliding);
	cJSON_AddNumberToObject(o, "window_count", S.win_count);
	cJSON_AddNumberToObject(o, "count_429", (double)S.count_429);
	cJSON_AddNumberToObject(o, "ban_after_429", S.ban_after_429);
	cJSON_AddNumberToObject(o, "bans", (double)S.bans);
	cJSON_AddNumberToObject(o, "blocked_until", (double)S.blocked_until);
	return o;
}

static cJSON *scf_dump(void)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *org = cJSON_AddObjectToObject(j, "organization");

	cJSON_AddNumberToObject(org, "id", S.org);
	cJSON_AddStringToObject(org, "name", S.org_name);
	cJSON_AddNumberToObject(j, "next_issue_id", S.next_issue_id);
	cJSON_AddNumberToObject(j, "next_comment_id", S.next_comment_id);
	cJSON_AddNumberToObject(j, "archive_after", (double)S.archive_after);
	cJSON_AddItemToObject(j, "rate_limit", rate_json());
	cJSON_AddItemToObject(j, "issues", cJSON_Duplicate(S.issues, 1));
	return j;
}

static int scf_load(const cJSON *st)
{
	const cJSON *issues = cJSON_GetObjectItemCaseSensitive(st, "issues");
	const cJSON *org = cJSON_GetObjectItemCaseSensitive(st, "organization");

	if (!cJSON_IsArray(issues))
		return -1;
	cJSON_Delete(S.issues);
	S.issues = cJSON_Duplicate(issues, 1);
	S.next_issue_id = (int)sim_jnum(st, "next_issue_id", 20980001);
	S.next_comment_id = (int)sim_jnum(st, "next_comment_id", 62315001);
	if (org) {
		S.org = (int)sim_jnum(org, "id", S.org);
		if (sim_jstr(org, "name"))
			snprintf(S.org_name, sizeof(S.org_name), "%s", sim_jstr(org, "name"));
	}
	return 0;
}

/* ---- API errors ---- */

static void msg_reply(struct sim_resp *resp, int status, const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "message", msg);
	cJSON_AddStringToObject(j, "documentation_url", DOC_URL);
	sim_resp_json(resp, status, j);
}

static void errors_reply(struct sim_resp *resp, int status, const char *field, const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(j, "errors");
	cJSON *a = cJSON_AddArrayToObject(e, field);

	cJSON_AddItemToArray(a, cJSON_CreateString(msg));
	sim_resp_json(resp, status, j);
}

static void scf_fault_reply(int status, struct sim_resp *resp)
{
	char html[512];
	int n;

	if (status == 500) {
		msg_reply(resp, 500, "Internal Server Error");
		return;
	}
	/* 502/503 come from the proxy in front of the app: HTML, not JSON. */
	n = snprintf(html, sizeof(html),
	             "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d "
	             "%s</h1></center>\r\n</body>\r\n</html>\r\n",
	             status, status == 502 ? "Bad Gateway" : "Service Temporarily Unavailable",
	             status, status == 502 ? "Bad Gateway" : "Service Temporarily Unavailable");
	sim_resp_text(resp, status, "text/html", html, (size_t)n);
}

/* ---- gatekeeping: User-Agent, abuse, rate limit, token ---- */

#define RING_MAX 4096

/* The simulated clock in milliseconds (sim_now's skew included). */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)(ts.tv_sec + (sim_now() - time(NULL))) * 1000u +
	       (uint64_t)ts.tv_nsec / 1000000u;
}

/* --rate-sliding: 0 if the request fits (it is counted), else the
 * seconds until it would. */
static long sliding_over(void)
{
	uint64_t now = now_ms(), w = (uint64_t)S.rate_window * 1000, kth;
	size_t lim = (size_t)S.rate_limit < RING_MAX ? (size_t)S.rate_limit : RING_MAX;

	if (!S.ring && !(S.ring = calloc(RING_MAX, sizeof(*S.ring))))
		return 1;
	if (S.ring_n >= lim) {
		kth = S.ring[(S.ring_head + RING_MAX - lim) % RING_MAX];
		if (kth + w > now)
			return (long)((kth + w - now + 999) / 1000);
	}
	S.ring[S.ring_head] = now;
	S.ring_head = (S.ring_head + 1) % RING_MAX;
	if (S.ring_n < RING_MAX)
		S.ring_n++;
	return 0;
}

/* 429, or the 403 ban once --ban-after-429 429s were answered. */
static void refuse(struct sim_resp *resp, time_t now, long retry_after)
{
	char ra[24];

	if (S.ban_after_429 > 0 && S.count_429 >= S.ban_after_429) {
		S.blocked_until = now + S.blacklist_seconds;
		S.bans++;
		msg_reply(resp, 403, "Request forbidden by administrative rules.");
		return;
	}
	S.count_429++;
	snprintf(ra, sizeof(ra), "%ld", retry_after);
	sim_resp_header(resp, "Retry-After", ra);
	msg_reply(resp, 429, "Too Many Requests");
}

static int gate(const struct sim_req *req, struct sim_resp *resp, time_t now)
{
	const char *ua = sim_header(req, "User-Agent");
	const char *auth = sim_header(req, "Authorization");

	if (!ua || !ua[0]) {
		msg_reply(resp, 403, "Requests must include a User-Agent header.");
		return 0;
	}
	if (now < S.blocked_until) {
		msg_reply(resp, 403, "Request forbidden by administrative rules.");
		return 0;
	}
	if (S.rate_limit > 0 && S.sliding) {
		long over = sliding_over();

		if (over) {
			refuse(resp, now, over);
			return 0;
		}
	} else if (S.rate_limit > 0) {
		if (now >= S.win_start + S.rate_window || now < S.win_start) {
			S.win_start = now;
			S.win_count = 0;
			S.win_over = 0;
		}
		if (++S.win_count > S.rate_limit) {
			if (++S.win_over > S.blacklist_after) {
				S.blocked_until = now + S.blacklist_seconds;
				S.bans++;
				msg_reply(resp, 403, "Request forbidden by administrative rules.");
				return 0;
			}
			refuse(resp, now, (long)(S.win_start + S.rate_window - now));
			return 0;
		}
	}
	if (auth && strncmp(auth, "Bearer ", 7) == 0 && strcmp(auth + 7, S.token) == 0)
		return 1;
	if (auth && S.basic[0] && strncmp(auth, "Basic ", 6) == 0) {
		static const char b64[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		char enc[700];
		const unsigned char *s = (const unsigned char *)S.basic;
		size_t n = strlen(S.basic), o = 0;

		for (size_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned)s[i] << 16 |
			             (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			             (i + 2 < n ? s[i + 2] : 0);

			enc[o++] = b64[(v >> 18) & 63];
			enc[o++] = b64[(v >> 12) & 63];
			enc[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
			enc[o++] = i + 2 < n ? b64[v & 63] : '=';
		}
		enc[o] = '\0';
		if (strcmp(auth + 6, enc) == 0)
			return 1;
	}
	sim_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"SeeClickFix\"");
	msg_reply(resp, 401, "Unauthorized");
	return 0;
}

/* ---- listing ---- */

struct listq {
	int statuses; /* bit per status */
	int sort_updated;
	int sort_rating;
	int asc;
	int has_after, has_before, has_uafter, has_ubefore;
	time_t after, before, uafter, ubefore;
	int rtypes[32];
	int nrtypes;
	const char *search;
	int public_only;
};

static int status_bit(const char *s)
{
	if (strcmp(s, "Open") == 0)
		return 1;
	if (strcmp(s, "Acknowledged") == 0)
		return 2;
	if (strcmp(s, "Closed") == 0)
		return 4;
	if (strcmp(s, "Archived") == 0)
		return 8;
	return 0;
}

static int parse_status_filter(const char *v)
{
	static const char *const names[] = {"open", "acknowledged", "closed", "archived"};
	int bits = 0;
	char tok[64];

	while (*v) {
		size_t n = strcspn(v, ",");

		snprintf(tok, sizeof(tok), "%.*s", (int)(n < 63 ? n : 63), v);
		for (int i = 0; i < 4; i++)
			if (strcmp(tok, names[i]) == 0)
				bits |= 1 << i;
		v += n;
		if (*v == ',')
			v++;
	}
	return bits;
}

static int match(const cJSON *is, const struct listq *q)
{
	if (!(status_bit(status_of(is)) & q->statuses))
		return 0;
	if (q->public_only && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(is, "private")))
		return 0;
	if (q->has_after || q->has_before) {
		double c = sim_jnum(is, "created_at", 0);

		if ((q->has_after && c < (double)q->after) ||
		    (q->has_before && c >= (double)q->before))
			return 0;
	}
	if (q->has_uafter || q->has_ubefore) {
		double u = sim_jnum(is, "updated_at", 0);

		if ((q->has_uafter && u < (double)q->uafter) ||
		    (q->has_ubefore && u >= (double)q->ubefore))
			return 0;
	}
	if (q->nrtypes) {
		int rt = (int)sim_jnum(is, "request_type_id", 0);
		int ok = 0;

		for (int i = 0; i < q->nrtypes; i++)
			ok |= q->rtypes[i] == rt;
		if (!ok)
			return 0;
	}
	if (q->search && q->search[0]) {
		const char *s = sim_jstr(is, "summary"), *d = sim_jstr(is, "description");

		if (!(s && strcasestr(s, q->search)) && !(d && strcasestr(d, q->search)))
			return 0;
	}
	return 1;
}

struct hit {
	const cJSON *is;
	double key;
	int id;
};

static int sort_asc;

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	int r;

	if (x->key != y->key)
		r = x->key < y->key ? -1 : 1;
	else
		r = x->id < y->id ? -1 : 1;
	return sort_asc ? r : -r;
}

struct qarg {
	char *k;
	char *v;
};

struct qargs {
	struct qarg a[64];
	int n;
};

static void collect_arg(void *ctx, const char *k, const char *v)
{
	struct qargs *q = ctx;

	if (q->n < 64 && strcmp(k, "page") != 0) {
		q->a[q->n].k = strdup(k);
		q->a[q->n].v = strdup(v);
		q->n++;
	}
}

static int qarg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qarg *)a)->k, ((const struct qarg *)b)->k);
}

static void url_escape(char *out, size_t cap, size_t *len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s && *len + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			out[(*len)++] = (char)c;
		} else {
			out[(*len)++] = '%';
			out[(*len)++] = hex[c >> 4];
			out[(*len)++] = hex[c & 15];
		}
	}
	out[*len] = '\0';
}

/* The page URL with the other parameters sorted, like Rails' to_query. */
static void add_page_url(cJSON *o, const char *key, const struct sim_req *req, int page)
{
	struct qargs q = {.n = 0};
	char url[4096];
	size_t len;
	int placed = 0;

	if (page <= 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	sim_args_each(req, collect_arg, &q);
	qsort(q.a, (size_t)q.n, sizeof(q.a[0]), qarg_cmp);
	len = (size_t)snprintf(url, sizeof(url), "%s%s?", sim_base_url(), req->path);
	for (int i = 0; i <= q.n; i++) {
		if (!placed && (i == q.n || strcmp(q.a[i].k, "page") > 0)) {
			len += (size_t)snprintf(url + len, sizeof(url) - len, "%spage=%d",
			                        url[len - 1] == '?' ? "" : "&", page);
			placed = 1;
		}
		if (i == q.n)
			break;
		if (url[len - 1] != '?' && len + 1 < sizeof(url))
			url[len++] = '&';
		url_escape(url, sizeof(url), &len, q.a[i].k);
		if (len + 1 < sizeof(url))
			url[len++] = '=';
		url_escape(url, sizeof(url), &len, q.a[i].v);
	}
	cJSON_AddStringToObject(o, key, url);
	for (int i = 0; i < q.n; i++) {
		free(q.a[i].k);
		free(q.a[i].v);
	}
}

/* fields[issue]=a,b,c keeps only those keys (undocumented, seen live). */
static void sparse(cJSON *issue, const char *fields)
{
	cJSON *it = issue->child;

	while (it) {
		cJSON *next = it->next;
		const char *p = strstr(fields, it->string);
		size_t n = strlen(it->string);
		int keep = 0;

		while (p) {
			if ((p == fields || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) {
				keep = 1;
				break;
			}
			p = strstr(p + 1, it->string);
		}
		if (!keep)
			cJSON_Delete(cJSON_DetachItemViaPointer(issue, it));
		it = next;
	}
}

/* ---- rendered-issue cache ----
 * Listing dominates the load and rendering dominates listing, so each
 * issue's JSON text is kept until the state changes (any non-GET request
 * or an archive sweep bumps S.gen). */

struct rcache {
	int id;
	uint64_t gen;
	char *s[2];
};

static struct rcache *rtab;
static size_t rtab_cap;

static void rcache_free(void)
{
	for (size_t i = 0; i < rtab_cap; i++) {
		free(rtab[i].s[0]);
		free(rtab[i].s[1]);
	}
	free(rtab);
	rtab = NULL;
	rtab_cap = 0;
}

static const char *cached_issue(const cJSON *is, int details, size_t n_issues)
{
	int id = (int)sim_jnum(is, "id", 0);
	size_t want = 16, h;
	struct rcache *e;

	while (want < 2 * n_issues)
		want *= 2;
	if (rtab_cap < want) {
		rcache_free();
		rtab = calloc(want, sizeof(*rtab));
		if (!rtab)
			abort();
		rtab_cap = want;
	}
	/* the multiplicative hash works in 32 bits on purpose */
	h = (size_t)((unsigned)id * 2654435761u) & (rtab_cap - 1);
	while (rtab[h].id && rtab[h].id != id)
		h = (h + 1) & (rtab_cap - 1);
	e = &rtab[h];
	if (e->id != id || e->gen != rtab_gen) {
		free(e->s[0]);
		free(e->s[1]);
		e->s[0] = e->s[1] = NULL;
		e->id = id;
		e->gen = rtab_gen;
	}
	if (!e->s[details]) {
		cJSON *r = render_issue(is, details);

		e->s[details] = cJSON_PrintUnformatted(r);
		cJSON_Delete(r);
		if (!e->s[details])
			abort();
	}
	return e->s[details];
}

static int time_param(const struct sim_req *req, struct sim_resp *resp, const char *name, int *has,
                      time_t *t)
{
	const char *v = sim_arg(req, name);

	*has = 0;
	if (!v || !v[0])
		return 0;
	if (sim_time_parse(v, 0, t) != 0) {
		errors_reply(resp, 422, name, "must be a timestamp in ISO 8601 format");
		return -1;
	}
	*has = 1;
	return 0;
}

static int bool_param(const char *v)
{
	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/*
 * The matches of the last list query, kept while nothing changed (no
 * write, no archive sweep: rtab_gen) so that reading a long listing
 * page by page costs one match and sort, not one per page.  Keyed by
 * the query's parameters other than page, in sorted order.
 */
static struct {
	char *key;
	uint64_t gen;
	struct hit *hits;
	long entries;
} lastq;

/* cJSON_GetArraySize walks the list: count once per change (rtab_gen). */
static size_t issue_count(void)
{
	static uint64_t gen = UINT64_MAX;
	static size_t n;

	if (gen != rtab_gen) {
		n = (size_t)cJSON_GetArraySize(S.issues);
		gen = rtab_gen;
	}
	return n;
}

static char *list_query_key(const struct sim_req *req, int org_scope)
{
	struct qargs q = {.n = 0};
	size_t cap = 16, len;
	char *key;

	sim_args_each(req, collect_arg, &q);
	qsort(q.a, (size_t)q.n, sizeof(q.a[0]), qarg_cmp);
	for (int i = 0; i < q.n; i++)
		cap += strlen(q.a[i].k) + strlen(q.a[i].v) + 2;
	key = malloc(cap);
	if (!key)
		abort();
	len = (size_t)snprintf(key, cap, "%d", org_scope);
	for (int i = 0; i < q.n; i++) {
		len += (size_t)snprintf(key + len, cap - len, "\n%s=%s", q.a[i].k, q.a[i].v);
		free(q.a[i].k);
		free(q.a[i].v);
	}
	return key;
}

static void list_issues(const struct sim_req *req, struct sim_resp *resp, int org_scope)
{
	struct listq q = {.statuses = 1 | 2 | 4, .public_only = !org_scope};
	const char *v;
	int details = bool_param(sim_arg(req, "details"));
	long page = 1, per_page = 20, entries = 0, pages, i;
	struct hit *hits;
	size_t n_all = issue_count();
	const char *key;
	cJSON *it, *out, *arr, *md, *pg;
	const char *fields = sim_arg(req, "fields[issue]");
	char *qkey;

	if ((v = sim_arg(req, "page")) && strtol(v, NULL, 10) > 0)
		page = strtol(v, NULL, 10);
	if ((v = sim_arg(req, "per_page")) && strtol(v, NULL, 10) > 0)
		per_page = strtol(v, NULL, 10);
	if (per_page > 100)
		per_page = 100;
	if (details && per_page > 20)
		per_page = 20;
	if ((v = sim_arg(req, "status")))
		q.statuses = parse_status_filter(v);
	if ((v = sim_arg(req, "sort"))) {
		q.sort_updated = strcmp(v, "updated_at") == 0;
		q.sort_rating = strcmp(v, "rating") == 0;
	}
	q.asc = (v = sim_arg(req, "sort_direction")) && strcasecmp(v, "ASC") == 0;
	if (time_param(req, resp, "after", &q.has_after, &q.after) ||
	    time_param(req, resp, "before", &q.has_before, &q.before) ||
	    time_param(req, resp, "updated_at_after", &q.has_uafter, &q.uafter) ||
	    time_param(req, resp, "updated_at_before", &q.has_ubefore, &q.ubefore))
		return;
	if ((v = sim_arg(req, "request_types"))) {
		while (*v && q.nrtypes < 32) {
			q.rtypes[q.nrtypes++] = (int)strtol(v, NULL, 10);
			v += strcspn(v, ",");
			if (*v == ',')
				v++;
		}
	}
	q.search = sim_arg(req, "search");

	qkey = list_query_key(req, org_scope);
	if (lastq.key && lastq.gen == rtab_gen && strcmp(lastq.key, qkey) == 0) {
		free(qkey);
		hits = lastq.hits;
		entries = lastq.entries;
	} else {
		hits = calloc(n_all + 1, sizeof(*hits));
		if (!hits)
			abort();
		key = q.sort_updated ? "updated_at" : q.sort_rating ? "rating" : "created_at";
		cJSON_ArrayForEach(it, S.issues)
		{
			if (!match(it, &q))
				continue;
			hits[entries].is = it;
			hits[entries].key = sim_jnum(it, key, 0);
			hits[entries].id = (int)sim_jnum(it, "id", 0);
			entries++;
		}
		sort_asc = q.asc;
		qsort(hits, (size_t)entries, sizeof(*hits), hit_cmp);
		free(lastq.key);
		free(lastq.hits);
		lastq.key = qkey;
		lastq.gen = rtab_gen;
		lastq.hits = hits;
		lastq.entries = entries;
	}

	out = cJSON_CreateObject();
	md = cJSON_AddObjectToObject(out, "metadata");
	pg = cJSON_AddObjectToObject(md, "pagination");
	pages = (entries + per_page - 1) / per_page;
	cJSON_AddNumberToObject(pg, "entries", (double)entries);
	cJSON_AddNumberToObject(pg, "page", (double)page);
	cJSON_AddNumberToObject(pg, "per_page", (double)per_page);
	cJSON_AddNumberToObject(pg, "pages", (double)pages);
	if (page < pages)
		cJSON_AddNumberToObject(pg, "next_page", (double)(page + 1));
	else
		cJSON_AddNullToObject(pg, "next_page");
	add_page_url(pg, "next_page_url", req, page < pages ? (int)page + 1 : 0);
	if (page > 1)
		cJSON_AddNumberToObject(pg, "previous_page", (double)(page - 1));
	else
		cJSON_AddNullToObject(pg, "previous_page");
	add_page_url(pg, "previous_page_url", req, page > 1 ? (int)page - 1 : 0);
	if (org_scope) {
		char ids[256];
		size_t n = 0;
		cJSON *qq = cJSON_AddObjectToObject(md, "query");

		ids[0] = '\0';
		for (size_t k = 0; k < N_RTYPES; k++)
			n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%d", k ? "," : "",
			                      rtypes[k].id);
		cJSON_AddStringToObject(qq, "request_types", ids);
	}
	cJSON_AddObjectToObject(out, "errors");
	if (fields) {
		arr = cJSON_AddArrayToObject(out, "issues");
		for (i = (page - 1) * per_page; i < entries && i < page * per_page; i++) {
			cJSON *r = render_issue(hits[i].is, details);

			sparse(r, fields);
			cJSON_AddItemToArray(arr, r);
		}
		sim_resp_json(resp, 200, out);
		return;
	}
	{
		/* Splice the cached issue texts after the envelope. */
		char *head = cJSON_PrintUnformatted(out);
		size_t hl = strlen(head), len, cap = hl + 32;
		char *body;
		long from = (page - 1) * per_page,
		     to = page * per_page < entries ? page * per_page : entries;

		for (i = from; i < to; i++)
			cap += strlen(cached_issue(hits[i].is, details, n_all)) + 1;
		body = malloc(cap);
		if (!body)
			abort();
		memcpy(body, head, hl - 1);
		len = hl - 1;
		/* a counted body, not a C string */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(body + len, ",\"issues\":[", 11);
		len += 11;
		for (i = from; i < to; i++) {
			const char *t = cached_issue(hits[i].is, details, n_all);
			size_t tl = strlen(t);

			if (i > from)
				body[len++] = ',';
			/* a counted body, not a C string */
			/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
			memcpy(body + len, t, tl);
			len += tl;
		}
		/* a counted body, not a C string */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(body + len, "]}", 2);
		len += 2;
		sim_resp_text(resp, 200, "application/json; charset=utf-8", body, len);
		free(body);
		free(head);
		cJSON_Delete(out);
	}
}

/* ---- comments and transitions ---- */

static char *comment_text(const struct sim_req *req, struct sim_resp *resp, char **photo)
{
	const char *ct = sim_header(req, "Content-Type");
	char *text = NULL;

	*photo = NULL;
	if (ct && (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 ||
	           strncasecmp(ct, "multipart/form-data", 19) == 0)) {
		int is_file = 0;
		char *img = sim_form_value(req, "image", &is_file);

		text = sim_form_value(req, "comment", NULL);
		if (img && is_file)
			*photo = img;
		else
			free(img);
	} else if (req->body_len) {
		cJSON *j = cJSON_ParseWithLength(req->body, req->body_len);

		if (!j) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "request", "Unable to parse JSON");
			sim_resp_json(resp, 400, e);
			return NULL;
		}
		if (sim_jstr(j, "comment"))
			text = strdup(sim_jstr(j, "comment"));
		cJSON_Delete(j);
	}
	if (!text || !text[strspn(text, " \t\r\n")]) {
		free(text);
		free(*photo);
		*photo = NULL;
		errors_reply(resp, 422, "comment", "Comment can't be blank");
		return NULL;
	}
	return text;
}

static const char *target_status(const char *action, const char *from)
{
	if (strcmp(action, "acknowledge") == 0)
		return strcmp(from, "Open") == 0 ? "Acknowledged" : NULL;
	if (strcmp(action, "close") == 0)
		return strcmp(from, "Open") == 0 || strcmp(from, "Acknowledged") == 0 ? "Closed"
		                                                                      : NULL;
	if (strcmp(action, "open") == 0)
		return strcmp(from, "Closed") == 0 ? "Open" : NULL;
	return from; /* a plain comment leaves the status alone */
}

static void apply_status(cJSON *is, const char *status, time_t now)
{
	char to[16];

	/* status may point into the issue's own status string. */
	snprintf(to, sizeof(to), "%s", status);
	set_str(is, "status", to);
	if (strcmp(to, "Acknowledged") == 0)
		set_num(is, "acknowledged_at", (double)now);
	else if (strcmp(to, "Closed") == 0)
		set_num(is, "closed_at", (double)now);
	else if (strcmp(to, "Open") == 0)
		set_num(is, "reopened_at", (double)now);
	else if (strcmp(to, "Archived") == 0)
		set_num(is, "archived_at", (double)now);
	set_num(is, "updated_at", (double)now);
}

static void post_action(const struct sim_req *req, struct sim_resp *resp, cJSON *is,
                        const char *action, time_t now)
{
	const char *from = status_of(is);
	const char *target = target_status(action, from);
	char *photo = NULL, *text;
	char to[16];
	char path[128], msg[160];
	cJSON *out, *iss, *m;

	if (!target) {
		snprintf(msg, sizeof(msg), "Status can't be changed from %s with %s", from, action);
		errors_reply(resp, 422, "base", msg);
		return;
	}
	snprintf(to, sizeof(to), "%s", target);
	text = comment_text(req, resp, &photo);
	if (!text)
		return;
	if (photo) {
		snprintf(path, sizeof(path), "/files/comment_images/%d.jpeg", S.next_comment_id);
		free(photo);
		photo = strdup(path);
	}
	comment_add(is, api_user(), text, "official", "api",
	            strcmp(action, "comments") == 0 ? "comment" : action, photo, now);
	apply_status(is, to, now);

	out = cJSON_CreateObject();
	cJSON_AddFalseToObject(out, "moderated");
	cJSON_AddStringToObject(out, "comment", text);
	if (strcmp(action, "comments") == 0)
		cJSON_AddStringToObject(out, "body", text);
	add_time_t(out, "created_at", now);
	add_time_t(out, "updated_at", now);
	{
		cJSON *u = api_user();

		cJSON_AddItemToObject(out, "commenter", render_user(u));
		cJSON_Delete(u);
	}
	iss = cJSON_AddObjectToObject(out, "issue");
	cJSON_AddStringToObject(iss, "status", to);
	cJSON_AddNumberToObject(iss, "rating", sim_jnum(is, "rating", 1));
	m = cJSON_AddObjectToObject(out, "media");
	cJSON_AddNullToObject(m, "video_url");
	add_url(m, "image_full", photo);
	add_url(m, "image_square_100x100", photo);
	free(text);
	free(photo);
	sim_resp_json(resp, 201, out);
}

/* ---- media (served like a CDN: no token, no rate limit) ---- */

static const char png_1x1[] = "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00"
                              "\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00"
                              "\x00\x00\x0d\x49\x44\x41\x54\x78\x9c\x63\xd0\xaa\x3f\xf0\x1f\x00\x04"
                              "\xa9\x02\x69\xb9\xf8\xd8\x0c\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42"
                              "\x60\x82";

static int media(const struct sim_req *req, struct sim_resp *resp)
{
	const char *p = req->path;

	if (strncmp(p, "/rails/active_storage/", 22) == 0) {
		char loc[1024];
		const char *last = strrchr(p, '/');

		snprintf(loc, sizeof(loc), "%s/files/issue_images%s", sim_base_url(), last);
		sim_resp_header(resp, "Location", loc);
		sim_resp_text(resp, 302, "text/html",
		              "<html><body>You are being redirected.</body></html>", 51);
		resp->route = "GET /rails/active_storage/...";
		return 1;
	}
	if (strncmp(p, "/files/", 7) == 0 || strncmp(p, "/assets/", 8) == 0) {
		sim_resp_text(resp, 200, "image/png", png_1x1, sizeof(png_1x1) - 1);
		resp->route = p[1] == 'f' ? "GET /files/..." : "GET /assets/...";
		return 1;
	}
	return 0;
}

/* ---- admin ---- */

static int lower_eq(const char *a, const char *b)
{
	return a && strcasecmp(a, b) == 0;
}

static void admin_add_issue(const cJSON *b, struct sim_resp *resp, time_t now)
{
	int rt_id = (int)sim_jnum(b, "request_type_id", rtypes[0].id);
	const struct rtype *t = rtype_by_id(rt_id);
	const cJSON *qs = cJSON_GetObjectItemCaseSensitive(b, "questions");
	const cJSON *photo = cJSON_GetObjectItemCaseSensitive(b, "photo");
	const char *s;
	struct sim_rng r;
	cJSON *is, *out;

	if (!t) {
		sim_resp_admin_error(resp, 400, "unknown request_type_id");
		return;
	}
	sim_rng_init(&r, sim_seed() ^ (uint64_t)S.next_issue_id);
	is = new_issue(t, now);
	if ((s = sim_jstr(b, "summary")))
		set_str(is, "summary", s);
	if ((s = sim_jstr(b, "description")))
		cJSON_AddStringToObject(is, "description", s);
	else
		cJSON_AddNullToObject(is, "description");
	cJSON_AddNumberToObject(is, "rating", sim_jnum(b, "rating", 1));
	cJSON_AddNumberToObject(is, "lat", sim_jnum(b, "lat", 41.3083));
	cJSON_AddNumberToObject(is, "lng", sim_jnum(b, "lng", -72.9279));
	s = sim_jstr(b, "address");
	cJSON_AddStringToObject(is, "address", s ? s : "165 Church St New Haven, CT, 06510, USA");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "anonymous")))
		cJSON_AddItemToObject(is, "reporter", anon_user());
	else
		cJSON_AddItemToObject(is, "reporter",
		                      user_new(2342434,
		                               (s = sim_jstr(b, "reporter")) ? s : "Alyssa",
		                               "Registered User", "none", 0));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "private")))
		cJSON_ReplaceItemInObjectCaseSensitive(is, "private", cJSON_CreateTrue());
	if (cJSON_IsTrue(photo))
		add_media_photo(is, &r, now);
	else if (cJSON_IsString(photo))
		set_str(is, "photo", photo->valuestring);
	if (cJSON_IsArray(qs)) {
		cJSON_ReplaceItemInObjectCaseSensitive(is, "questions", cJSON_Duplicate(qs, 1));
	} else {
		cJSON *arr = cJSON_GetObjectItemCaseSensitive(is, "questions");

		for (int q = 0; q < 4 && t->q[q].text; q++) {
			cJSON *qa = cJSON_CreateObject();

			cJSON_AddStringToObject(qa, "question", t->q[q].text);
			cJSON_AddStringToObject(qa, "answer", t->q[q].choices[0]);
			cJSON_AddItemToArray(arr, qa);
		}
	}
	cJSON_AddItemToArray(S.issues, is);
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "id", sim_jnum(is, "id", 0));
	cJSON_AddItemToObject(out, "issue", render_issue(is, 1));
	sim_resp_json(resp, 201, out);
}

static void admin_add_comment(cJSON *is, const cJSON *b, struct sim_resp *resp, time_t now)
{
	const char *text = sim_jstr(b, "comment");
	const char *kind = sim_jstr(b, "kind");
	const char *name = sim_jstr(b, "name");
	const cJSON *photo = cJSON_GetObjectItemCaseSensitive(b, "photo");
	char path[128], sys[512];
	const char *ph = NULL;
	cJSON *user, *c, *out;

	if (!kind)
		kind = "resident";
	if (strcmp(kind, "system") == 0 && !text) {
		const struct rtype *t = rtype_by_id((int)sim_jnum(is, "request_type_id", 0));

		snprintf(sys, sizeof(sys), "%s assigned this issue to %s", S.org_name,
		         t ? t->dept : "Public Works");
		text = sys;
	}
	if (!text) {
		sim_resp_admin_error(resp, 400, "comment is required");
		return;
	}
	if (strcmp(kind, "system") == 0)
		user = org_user();
	else if (strcmp(kind, "official") == 0)
		user = user_new(3181157, name ? name : "Public Works Staff", "Verified Official",
		                "none", 0);
	else if (strcmp(kind, "resident") == 0)
		user = name ? user_new(2342435, name, "Registered User", "none", 0) : anon_user();
	else {
		sim_resp_admin_error(resp, 400, "kind must be resident, official or system");
		return;
	}
	if (cJSON_IsTrue(photo)) {
		snprintf(path, sizeof(path), "/files/comment_images/%d.jpeg", S.next_comment_id);
		ph = path;
	} else if (cJSON_IsString(photo)) {
		ph = photo->valuestring;
	}
	c = comment_add(is, user, text, kind, "admin", "comment", ph, now);
	set_num(is, "updated_at", (double)now);
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "id", sim_jnum(c, "id", 0));
	cJSON_AddItemToObject(out, "comment", render_comment(c, (int)sim_jnum(is, "id", 0)));
	sim_resp_json(resp, 201, out);
}

static void admin_status(cJSON *is, const cJSON *b, struct sim_resp *resp, time_t now)
{
	const char *st = sim_jstr(b, "status");
	const char *text = sim_jstr(b, "comment");
	const char *to = lower_eq(st, "open")           ? "Open"
	                 : lower_eq(st, "acknowledged") ? "Acknowledged"
	                 : lower_eq(st, "closed")       ? "Closed"
	                 : lower_eq(st, "archived")     ? "Archived"
	                                                : NULL;

	if (!to) {
		sim_resp_admin_error(resp, 400,
		                     "status must be open, acknowledged, closed or archived");
		return;
	}
	if (text) {
		const char *action = strcmp(to, "Closed") == 0         ? "close"
		                     : strcmp(to, "Acknowledged") == 0 ? "acknowledge"
		                     : strcmp(to, "Open") == 0         ? "open"
		                                                       : "comment";

		comment_add(is,
		            user_new(3181157, "Public Works Staff", "Verified Official", "none", 0),
		            text, "official", "admin", action, NULL, now);
	}
	apply_status(is, to, now);
	sim_resp_json(resp, 200, render_issue(is, 1));
}

/* Staff move the issue to another request type (SCF's recategorize):
 * updated_at moves, as any change of an issue does. */
static void admin_request_type(cJSON *is, const cJSON *b, struct sim_resp *resp, time_t now)
{
	int rt = (int)sim_jnum(b, "request_type_id", 0);

	if (!rtype_by_id(rt)) {
		sim_resp_admin_error(resp, 400, "unknown request_type_id");
		return;
	}
	set_num(is, "request_type_id", (double)rt);
	set_num(is, "updated_at", (double)now);
	sim_resp_json(resp, 200, render_issue(is, 1));
}

/* The issue is removed (spam, a test report): the API answers 404 for it
 * and no list shows it any more. */
static void admin_delete(cJSON *is, struct sim_resp *resp)
{
	cJSON *out = cJSON_CreateObject();

	cJSON_AddNumberToObject(out, "deleted", sim_jnum(is, "id", 0));
	cJSON_Delete(cJSON_DetachItemViaPointer(S.issues, is));
	sim_resp_json(resp, 200, out);
}

static void admin_rate(const cJSON *b, struct sim_resp *resp)
{
	cJSON *out;

	if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(b, "reset"))) {
		S.win_start = 0;
		S.win_count = 0;
		S.win_over = 0;
		S.blocked_until = 0;
		S.count_429 = 0;
		S.bans = 0;
		S.ring_n = S.ring_head = 0;
	}
	S.rate_limit = (int)sim_jnum(b, "per_minute", S.rate_limit);
	S.blacklist_after = (int)sim_jnum(b, "blacklist_after", S.blacklist_after);
	S.blacklist_seconds = (int)sim_jnum(b, "blacklist_seconds", S.blacklist_seconds);
	if (sim_jnum(b, "window_seconds", 0) >= 1)
		S.rate_window = (int)sim_jnum(b, "window_seconds", 60);
	S.ban_after_429 = (int)sim_jnum(b, "ban_after_429", S.ban_after_429);
	if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(b, "sliding")))
		S.sliding = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "sliding"));
	out = rate_json();
	cJSON_AddNumberToObject(out, "blacklist_after", S.blacklist_after);
	cJSON_AddNumberToObject(out, "blacklist_seconds", S.blacklist_seconds);
	sim_resp_json(resp, 200, out);
}

static void admin(const struct sim_req *req, struct sim_resp *resp, time_t now)
{
	int id = 0;
	const char *rest = "";
	char tail[64] = "";
	cJSON *b = NULL, *is;
	int post = strcmp(req->method, "POST") == 0;

	if (post) {
		b = sim_body_json(req);
		if (!b) {
			sim_resp_admin_error(resp, 400, "body must be a JSON object");
			return;
		}
	}
	if (post && strcmp(req->path, "/_admin/issues") == 0) {
		resp->route = "POST /_admin/issues";
		admin_add_issue(b, resp, now);
	} else if (post && strcmp(req->path, "/_admin/rate-limit") == 0) {
		resp->route = "POST /_admin/rate-limit";
		admin_rate(b, resp);
	} else if (num_int(num_after(req->path, "/_admin/issues/"), &rest, &id) == 0 &&
	           (*rest == '\0' ||
	            (*rest == '/' && rest[1] && strlen(rest + 1) < sizeof(tail)))) {
		if (*rest)
			snprintf(tail, sizeof(tail), "%s", rest + 1);
		is = issue_by_id(id);
		if (!is)
			sim_resp_admin_error(resp, 404, "no such issue");
		else if (!post && !tail[0])
			sim_resp_json(resp, 200, cJSON_Duplicate(is, 1));
		else if (post && strcmp(tail, "comments") == 0)
			admin_add_comment(is, b, resp, now);
		else if (post && strcmp(tail, "status") == 0)
			admin_status(is, b, resp, now);
		else if (post && strcmp(tail, "request-type") == 0)
			admin_request_type(is, b, resp, now);
		else if (post && strcmp(tail, "delete") == 0)
			admin_delete(is, resp);
		else
			sim_resp_admin_error(resp, 404, "unknown admin endpoint");
		resp->route = "admin issue";
	} else {
		sim_resp_admin_error(resp, 404, "unknown admin endpoint");
	}
	cJSON_Delete(b);
}

/* ---- API routing ---- */

static void request_type(int id, struct sim_resp *resp)
{
	const struct rtype *t = rtype_by_id(id);
	cJSON *o, *qs;

	if (!t) {
		msg_reply(resp, 404, "Not Found");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", t->id);
	cJSON_AddStringToObject(o, "title", t->title);
	cJSON_AddStringToObject(o, "organization", S.org_name);
	qs = cJSON_AddArrayToObject(o, "questions");
	for (int q = 0; q < 4 && t->q[q].text; q++) {
		cJSON *qq = cJSON_CreateObject();
		cJSON *sv = NULL;
		char key[16];

		snprintf(key, sizeof(key), "%d", t->id * 10 + q);
		cJSON_AddStringToObject(qq, "primary_key", key);
		cJSON_AddStringToObject(qq, "question", t->q[q].text);
		cJSON_AddStringToObject(qq, "question_type", "select");
		cJSON_AddBoolToObject(qq, "answer_kept_private",
		                      strcmp(t->q[q].text, "Reporter Name") == 0);
		cJSON_AddTrueToObject(qq, "response_required");
		sv = cJSON_AddArrayToObject(qq, "select_values");
		for (int c = 0; c < 5 && t->q[q].choices[c]; c++) {
			cJSON *kv = cJSON_CreateObject();
			char k[64];
			size_t j;

			snprintf(k, sizeof(k), "%s", t->q[q].choices[c]);
			for (j = 0; k[j]; j++)
				k[j] = isalnum((unsigned char)k[j])
				           ? (char)toupper((unsigned char)k[j])
				           : '_';
			cJSON_AddStringToObject(kv, "key", k);
			cJSON_AddStringToObject(kv, "name", t->q[q].choices[c]);
			cJSON_AddItemToArray(sv, kv);
		}
		cJSON_AddItemToArray(qs, qq);
	}
	sim_resp_json(resp, 200, o);
}

static void profile(struct sim_resp *resp)
{
	cJSON *u = api_user();
	cJSON *o = render_user(u);
	cJSON *p = cJSON_AddObjectToObject(o, "permissions");

	cJSON_Delete(u);
	cJSON_AddTrueToObject(p, "can_acknowledge");
	sim_resp_json(resp, 200, o);
}

static void api(const struct sim_req *req, struct sim_resp *resp, time_t now)
{
	const char *p = req->path;
	int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
	int id = 0, org = 0;
	const char *rest = "";
	char action[32] = "";
	cJSON *is;

	if (strcmp(p, "/api/v2/issues") == 0 && get) {
		resp->route = "GET /api/v2/issues";
		list_issues(req, resp, 0);
		return;
	}
	if (num_int(num_after(p, "/api/v2/organizations/"), &rest, &org) == 0 &&
	    strcmp(rest, "/issues") == 0 && get) {
		resp->route = "GET /api/v2/organizations/:org/issues";
		if (org != S.org)
			msg_reply(resp, 404, "Not Found");
		else
			list_issues(req, resp, 1);
		return;
	}
	if (num_int(num_after(p, "/api/v2/request_types/"), &rest, &id) == 0 && *rest == '\0' &&
	    get) {
		resp->route = "GET /api/v2/request_types/:id";
		request_type(id, resp);
		return;
	}
	if (num_int(num_after(p, "/api/v2/organizations/"), &rest, &org) == 0 && *rest == '\0' &&
	    get) {
		resp->route = "GET /api/v2/organizations/:org";
		if (org != S.org) {
			msg_reply(resp, 404, "Not Found");
		} else {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddNumberToObject(o, "id", S.org);
			cJSON_AddStringToObject(o, "name", S.org_name);
			sim_resp_json(resp, 200, o);
		}
		return;
	}
	if (strcmp(p, "/api/v2/profile") == 0 && get) {
		resp->route = "GET /api/v2/profile";
		profile(resp);
		return;
	}
	if (num_int(num_after(p, "/api/v2/issues/"), &rest, &id) != 0 ||
	    (*rest != '\0' &&
	     (*rest != '/' || strlen(rest + 1) >= sizeof(action) || strchr(rest + 1, '/')))) {
		msg_reply(resp, 404, "Not Found");
		return;
	}
	if (*rest == '/')
		snprintf(action, sizeof(action), "%s", rest + 1);
	is = issue_by_id(id);
	if (!action[0] && get) {
		resp->route = "GET /api/v2/issues/:id";
		if (!is)
			msg_reply(resp, 404, "Not Found");
		else
			sim_resp_json(resp, 200,
			              render_issue(is, bool_param(sim_arg(req, "details"))));
		return;
	}
	if (strcmp(action, "comments") == 0 && get) {
		cJSON *o;

		resp->route = "GET /api/v2/issues/:id/comments";
		if (!is) {
			msg_reply(resp, 404, "Not Found");
			return;
		}
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "comments", render_comments(is));
		sim_resp_json(resp, 200, o);
		return;
	}
	if (post && (strcmp(action, "comments") == 0 || strcmp(action, "acknowledge") == 0 ||
	             strcmp(action, "close") == 0 || strcmp(action, "open") == 0)) {
		static const char *const routes[] = {
		    "POST /api/v2/issues/:id/comments", "POST /api/v2/issues/:id/acknowledge",
		    "POST /api/v2/issues/:id/close", "POST /api/v2/issues/:id/open"};
		resp->route = routes[action[0] == 'c' && action[1] == 'o' ? 0
		                     : action[0] == 'a'                   ? 1
		                     : action[0] == 'c'                   ? 2
		                                                          : 3];
		if (!is)
			msg_reply(resp, 404, "Not Found");
		else
			post_action(req, resp, is, action, now);
		return;
	}
	msg_reply(resp, action[0] || get || post ? 404 : 405,
	          action[0] || get || post ? "Not Found" : "Method Not Allowed");
}

static void scf_route(const struct sim_req *req, struct sim_resp *resp, time_t now)
{
	if (req->admin) {
		admin(req, resp, now);
		return;
	}
	if (strcmp(req->method, "GET") == 0 && media(req, resp))
		return;
	if (strncmp(req->path, "/api/", 5) != 0) {
		msg_reply(resp, 404, "Not Found");
		return;
	}
	if (!gate(req, resp, now)) {
		resp->route = "gate";
		return;
	}
	api(req, resp, now);
}

static void scf_handle(const struct sim_req *req, struct sim_resp *resp)
{
	int write = strcmp(req->method, "GET") != 0;

	if (write) {
		rtab_gen++;
		rtab_dirty = 1;
	}
	archive_sweep(sim_now());
	scf_route(req, resp, sim_now());
	/* What the write changed (a close, the clock) is swept next time. */
	if (write)
		rtab_dirty = 1;
}

static const struct sim_app scf_app = {
    .name = "scf-sim",
    .usage = scf_usage,
    .options = scf_opts,
    .option = scf_option,
    .start = scf_start,
    .handle = scf_handle,
    .dump = scf_dump,
    .load = scf_load,
    .fault_reply = scf_fault_reply,
};

int main(int argc, char **argv)
{
	int rc = sim_main(&scf_app, argc, argv);

	cJSON_Delete(S.issues);
	rcache_free();
	return rc;
}
