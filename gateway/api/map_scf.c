/*
 * map_scf.c: SeeClickFix issue and comment JSON -> records (see map.h).
 *
 * Every reader below takes the issue id for its messages, so an operator
 * reading failed/ learns which issue and which field at once.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "sig.h"

struct rd {
	int64_t issue_id; /* 0 while the id itself is being read */
	const struct cfg *c;
	struct err *e;
};

static enum err_status bad(const struct rd *r, const char *field, const char *why)
{
	if (r->issue_id)
		return err_set(r->e, ERR_PERM, "SCF issue %" PRId64 ": field %s: %s", r->issue_id,
		               field, why);
	return err_set(r->e, ERR_PERM, "SCF issue: field %s: %s", field, why);
}

static enum err_status nomem(const struct rd *r)
{
	return err_set(r->e, ERR_TEMP, "out of memory mapping SCF issue %" PRId64, r->issue_id);
}

/* The documentation examples write null as the string "null". */
static int is_null(const cJSON *v)
{
	return !v || cJSON_IsNull(v) || (cJSON_IsString(v) && strcmp(v->valuestring, "null") == 0);
}

/* An integer given as a JSON number or a decimal string ("Strinteger"). */
static enum err_status read_i64(const struct rd *r, const cJSON *v, const char *field, int64_t *out)
{
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (!isfinite(d) || d != floor(d) || d < -9.0e15 || d > 9.0e15)
			return bad(r, field, "not an integer");
		*out = (int64_t)d;
		return ERR_OK;
	}
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		char *end;
		long long ll;
		if (!*s || strlen(s) > 19 || strspn(s, "-0123456789") != strlen(s))
			return bad(r, field, "not an integer");
		ll = strtoll(s, &end, 10);
		if (*end)
			return bad(r, field, "not an integer");
		*out = (int64_t)ll;
		return ERR_OK;
	}
	return bad(r, field, v ? "expected an integer" : "missing");
}

static enum err_status read_double(const struct rd *r, const cJSON *v, const char *field,
                                   double *out)
{
	if (cJSON_IsNumber(v))
		*out = v->valuedouble;
	else if (cJSON_IsString(v) && *v->valuestring) {
		char *end;
		*out = strtod(v->valuestring, &end);
		if (*end)
			return bad(r, field, "not a number");
	} else
		return bad(r, field, v ? "expected a number" : "missing");
	if (!isfinite(*out))
		return bad(r, field, "not a finite number");
	return ERR_OK;
}

/* Text: NULL when absent or null; repaired UTF-8; capped. */
static enum err_status read_text(const struct rd *r, const cJSON *v, const char *field, char **out)
{
	struct buf b = BUF_INIT_CAP(MAP_TEXT_MAX * 3 + 16);
	size_t len;

	*out = NULL;
	if (is_null(v))
		return ERR_OK;
	if (!cJSON_IsString(v))
		return bad(r, field, "expected a string");
	len = strlen(v->valuestring);
	if (len > MAP_TEXT_MAX) {
		char why[64];
		snprintf(why, sizeof(why), "longer than %zu bytes (%zu)", MAP_TEXT_MAX, len);
		return bad(r, field, why);
	}
	if (text_utf8_repair(v->valuestring, len, &b) != ERR_OK) {
		buf_release(&b);
		return nomem(r);
	}
	*out = buf_detach(&b, NULL);
	if (!*out && !(*out = strdup("")))
		return nomem(r);
	return ERR_OK;
}

static int url_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 4096)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* URLs are refused, not repaired. */
static enum err_status read_url(const struct rd *r, const cJSON *v, const char *field, char **out)
{
	*out = NULL;
	if (is_null(v))
		return ERR_OK;
	if (!cJSON_IsString(v))
		return bad(r, field, "expected a URL string");
	if (!url_ok(v->valuestring))
		return bad(r, field, "not an http(s) URL of printable ASCII up to 4096 bytes");
	return (*out = strdup(v->valuestring)) ? ERR_OK : nomem(r);
}

/* RFC 3339 as record.xsd's timeType: date T time [.frac] [Z|+hh:mm]. */
int text_time_ok(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	s += i;
	if (*s == '.') {
		size_t n = strspn(s + 1, "0123456789");
		if (n < 1 || n > 9)
			return 0;
		s += 1 + n;
	}
	if (*s == 'Z')
		return s[1] == '\0';
	if (*s == '+' || *s == '-')
		return strspn(s + 1, "0123456789") == 2 && s[3] == ':' &&
		       strspn(s + 4, "0123456789") == 2 && s[6] == '\0';
	return *s == '\0';
}

static enum err_status read_time(const struct rd *r, const cJSON *v, const char *field,
                                 int required, char **out)
{
	*out = NULL;
	if (is_null(v))
		return required ? bad(r, field, "missing") : ERR_OK;
	if (!cJSON_IsString(v))
		return bad(r, field, "expected an RFC 3339 time string");
	if (!text_time_ok(v->valuestring))
		return bad(r, field, "not an RFC 3339 time");
	return (*out = strdup(v->valuestring)) ? ERR_OK : nomem(r);
}

static const cJSON *get(const cJSON *obj, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/* An optional nested object: absent/null -> NULL, else must be an object. */
static enum err_status read_obj(const struct rd *r, const cJSON *obj, const char *field,
                                const cJSON **out)
{
	const cJSON *v = get(obj, field);

	*out = NULL;
	if (is_null(v))
		return ERR_OK;
	if (!cJSON_IsObject(v))
		return bad(r, field, "expected an object");
	*out = v;
	return ERR_OK;
}

static enum err_status source_json(const struct rd *r, const cJSON *obj, char **out)
{
	char *raw = cJSON_PrintUnformatted(obj);
	struct buf b = BUF_INIT_CAP(MAP_JSON_MAX * 3);
	size_t len;

	*out = NULL;
	if (!raw)
		return nomem(r);
	len = strlen(raw);
	if (len > MAP_JSON_MAX) {
		free(raw);
		return bad(r, "(object)", "JSON larger than the record limit");
	}
	/* cJSON passes invalid UTF-8 through; the record is XML. */
	if (text_utf8_repair(raw, len, &b) != ERR_OK) {
		free(raw);
		buf_release(&b);
		return nomem(r);
	}
	free(raw);
	*out = buf_detach(&b, NULL);
	return *out ? ERR_OK : nomem(r);
}

/* ---- comments ---------------------------------------------------------- */

int map_comment_id_from_flag_url(const char *flag_url, char *out, size_t out_size)
{
	const char *p, *digits;
	size_t n;

	if (!flag_url || !(p = strstr(flag_url, "/comments/")))
		return -1;
	digits = p + strlen("/comments/");
	n = strspn(digits, "0123456789");
	if (n == 0 || n > 19 || strcmp(digits + n, "/flag") != 0 || n + 1 > out_size)
		return -1;
	memcpy(out, digits, n);
	out[n] = '\0';
	return 0;
}

/* Text patterns of SCF's own event comments ("<org> assigned this issue
 * to <dept>").  Matched case-sensitively as SCF writes them. */
static const char *const system_patterns[] = {
    " assigned this issue to ", " reassigned this issue ", " changed the request type",
    " changed the category",    " marked this issue as ",  " changed the priority",
    " changed the location",    " merged this issue ",
};

static unsigned system_kind(const struct cfg *c, int64_t commenter_id, const char *text)
{
	unsigned kind = 0;

	for (size_t i = 0; i < sizeof(system_patterns) / sizeof(system_patterns[0]); i++)
		if (strstr(text, system_patterns[i]))
			kind |= CFG_SYSCOMMENT_ASSIGNED;
	for (size_t i = 0; c && commenter_id && i < c->scf.n_system_accounts; i++)
		if (c->scf.system_accounts[i] == commenter_id)
			kind |= CFG_SYSCOMMENT_ACCOUNT;
	return kind;
}

static void comment_clear(struct record_comment *cm)
{
	free(cm->comment_id);
	free(cm->created_at);
	free(cm->commenter_name);
	free(cm->text);
	free(cm->media_url);
	free(cm->source_json);
	memset(cm, 0, sizeof(*cm));
}

static enum err_status fallback_key(const struct rd *r, struct record_comment *cm)
{
	struct buf b = BUF_INIT_CAP(MAP_TEXT_MAX * 4);
	char hex[65];

	if (buf_addf(&b, "%" PRId64 "\n%s\n%" PRId64 "\n%s", cm->issue_id, cm->created_at,
	             cm->commenter_id, cm->text) != ERR_OK) {
		buf_release(&b);
		return nomem(r);
	}
	sig_sha256_hex(b.data, b.len, hex);
	buf_release(&b);
	if (!(cm->comment_id = malloc(2 + 64 + 1)))
		return nomem(r);
	snprintf(cm->comment_id, 2 + 64 + 1, "h-%s", hex);
	return ERR_OK;
}

static enum err_status parse_comment(const struct rd *r, const cJSON *o, struct record_comment *cm)
{
	const cJSON *commenter, *media, *flag;
	char idbuf[24];
	enum err_status st;

	memset(cm, 0, sizeof(*cm));
	cm->issue_id = r->issue_id;
	if (!cJSON_IsObject(o))
		return bad(r, "comments[]", "expected an object");
	st = read_text(r, get(o, "comment"), "comments[].comment", &cm->text);
	if (st != ERR_OK)
		goto fail;
	if (!cm->text) {
		st = read_text(r, get(o, "body"), "comments[].body", &cm->text);
		if (st != ERR_OK)
			goto fail;
	}
	if (!cm->text && !(cm->text = strdup(""))) {
		st = nomem(r);
		goto fail;
	}
	st = read_time(r, get(o, "created_at"), "comments[].created_at", 1, &cm->created_at);
	if (st != ERR_OK)
		goto fail;
	st = read_obj(r, o, "commenter", &commenter);
	if (st != ERR_OK)
		goto fail;
	if (commenter) {
		const cJSON *id = get(commenter, "id");
		if (!is_null(id)) {
			st = read_i64(r, id, "comments[].commenter.id", &cm->commenter_id);
			if (st != ERR_OK)
				goto fail;
		}
		st = read_text(r, get(commenter, "name"), "comments[].commenter.name",
		               &cm->commenter_name);
		if (st != ERR_OK)
			goto fail;
	}
	st = read_obj(r, o, "media", &media);
	if (st != ERR_OK)
		goto fail;
	if (media) {
		st = read_url(r, get(media, "image_full"), "comments[].media.image_full",
		              &cm->media_url);
		if (st != ERR_OK)
			goto fail;
	}
	flag = get(o, "flag_url");
	if (!is_null(flag) && !cJSON_IsString(flag)) {
		st = bad(r, "comments[].flag_url", "expected a string");
		goto fail;
	}
	if (cJSON_IsString(flag) &&
	    map_comment_id_from_flag_url(flag->valuestring, idbuf, sizeof(idbuf)) == 0) {
		if (!(cm->comment_id = strdup(idbuf))) {
			st = nomem(r);
			goto fail;
		}
	} else {
		st = fallback_key(r, cm);
		if (st != ERR_OK)
			goto fail;
	}
	cm->is_system = (int)system_kind(r->c, cm->commenter_id, cm->text);
	st = source_json(r, o, &cm->source_json);
	if (st != ERR_OK)
		goto fail;
	return ERR_OK;
fail:
	comment_clear(cm);
	return st;
}

/* ---- issue ------------------------------------------------------------- */

static char *join_answer(const cJSON *a)
{
	struct buf b = BUF_INIT_CAP(MAP_TEXT_MAX * 3 + 16);
	const cJSON *it;

	if (is_null(a))
		return strdup("");
	if (cJSON_IsString(a)) {
		text_utf8_repair(a->valuestring, strlen(a->valuestring), &b);
	} else if (cJSON_IsBool(a)) {
		buf_adds(&b, cJSON_IsTrue(a) ? "true" : "false");
	} else if (cJSON_IsNumber(a)) {
		buf_addf(&b, "%.15g", a->valuedouble);
	} else if (cJSON_IsArray(a)) {
		/* multivaluelist answers */
		cJSON_ArrayForEach(it, a)
		{
			if (!cJSON_IsString(it))
				continue;
			if (b.len)
				buf_adds(&b, ", ");
			text_utf8_repair(it->valuestring, strlen(it->valuestring), &b);
		}
	} else {
		return NULL;
	}
	char *s = buf_detach(&b, NULL);
	return s ? s : strdup("");
}

static enum err_status parse_questions(const struct rd *r, const cJSON *qs, struct record_issue *is)
{
	const cJSON *q;
	size_t n;

	if (is_null(qs))
		return ERR_OK;
	if (!cJSON_IsArray(qs))
		return bad(r, "questions", "expected an array");
	n = (size_t)cJSON_GetArraySize(qs);
	if (n > MAP_LIST_MAX)
		return bad(r, "questions", "too many entries");
	if (n == 0)
		return ERR_OK;
	if (!(is->questions = calloc(n, sizeof(*is->questions))))
		return nomem(r);
	cJSON_ArrayForEach(q, qs)
	{
		struct record_qa *qa = &is->questions[is->n_questions];
		const cJSON *ans;
		enum err_status st;
		if (!cJSON_IsObject(q))
			return bad(r, "questions[]", "expected an object");
		is->n_questions++;
		st = read_text(r, get(q, "question"), "questions[].question", &qa->question);
		if (st != ERR_OK)
			return st;
		if (!qa->question)
			return bad(r, "questions[].question", "missing");
		ans = get(q, "answer");
		if (cJSON_IsString(ans) && strlen(ans->valuestring) > MAP_TEXT_MAX)
			return bad(r, "questions[].answer", "too long");
		if (cJSON_IsObject(ans))
			return bad(r, "questions[].answer", "expected a string");
		if (!(qa->answer = join_answer(ans)))
			return nomem(r);
		if (strlen(qa->answer) > MAP_TEXT_MAX * 3)
			return bad(r, "questions[].answer", "too long");
	}
	return ERR_OK;
}

static enum err_status parse_comments(const struct rd *r, const cJSON *cs, struct record_issue *is)
{
	const cJSON *o;
	size_t n;

	if (is_null(cs))
		return ERR_OK;
	if (!cJSON_IsArray(cs))
		return bad(r, "comments", "expected an array");
	n = (size_t)cJSON_GetArraySize(cs);
	if (n > MAP_LIST_MAX)
		return bad(r, "comments", "too many entries");
	if (n == 0)
		return ERR_OK;
	if (!(is->comments = calloc(n, sizeof(*is->comments))))
		return nomem(r);
	cJSON_ArrayForEach(o, cs)
	{
		enum err_status st = parse_comment(r, o, &is->comments[is->n_comments]);
		if (st != ERR_OK)
			return st;
		is->n_comments++;
	}
	return ERR_OK;
}

static enum err_status parse_location(const struct rd *r, const cJSON *o, struct record_issue *is)
{
	const cJSON *lat = get(o, "lat"), *lng = get(o, "lng"), *point;
	enum err_status st;

	if (!is_null(lat) || !is_null(lng)) {
		st = read_double(r, lat, "lat", &is->lat);
		if (st == ERR_OK)
			st = read_double(r, lng, "lng", &is->lng);
		if (st != ERR_OK)
			return st;
	} else {
		const cJSON *co;
		st = read_obj(r, o, "point", &point);
		if (st != ERR_OK)
			return st;
		co = point ? get(point, "coordinates") : NULL;
		if (!cJSON_IsArray(co) || cJSON_GetArraySize(co) < 2)
			return bad(r, "lat", "missing (and no point.coordinates)");
		/* GeoJSON order: [lng, lat] */
		st = read_double(r, cJSON_GetArrayItem(co, 0), "point.coordinates[0]", &is->lng);
		if (st == ERR_OK)
			st = read_double(r, cJSON_GetArrayItem(co, 1), "point.coordinates[1]",
			                 &is->lat);
		if (st != ERR_OK)
			return st;
	}
	if (is->lat < -90 || is->lat > 90)
		return bad(r, "lat", "out of range");
	if (is->lng < -180 || is->lng > 180)
		return bad(r, "lng", "out of range");
	return ERR_OK;
}

/* Fields read but not mapped still get their type checked where the
 * reference documents variants, so a changed API is noticed. */
static enum err_status check_variants(const struct rd *r, const cJSON *o)
{
	const cJSON *v = get(o, "integrations");

	if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v) && !cJSON_IsObject(v))
		return bad(r, "integrations", "expected null, an array or an object");
	v = get(o, "rating");
	if (v && !cJSON_IsNull(v) && !cJSON_IsNumber(v) && !cJSON_IsString(v))
		return bad(r, "rating", "expected a number or a string");
	v = get(o, "comment_url") ? get(o, "comment_url") : get(o, "comments_url");
	if (v && !is_null(v) && !cJSON_IsString(v))
		return bad(r, "comment_url", "expected a string");
	return ERR_OK;
}

static enum err_status parse_issue(struct rd *r, const cJSON *o, struct record_issue *is)
{
	const cJSON *rt, *rep, *media;
	enum err_status st;

	if (!cJSON_IsObject(o))
		return bad(r, "(issue)", "expected a JSON object");
	st = read_i64(r, get(o, "id"), "id", &is->issue_id);
	if (st != ERR_OK)
		return st;
	if (is->issue_id <= 0)
		return bad(r, "id", "not a positive integer");
	r->issue_id = is->issue_id;
	st = check_variants(r, o);
	if (st != ERR_OK)
		return st;
	st = read_obj(r, o, "request_type", &rt);
	if (st != ERR_OK)
		return st;
	if (!rt)
		return bad(r, "request_type", "missing (needed to map the category)");
	st = read_i64(r, get(rt, "id"), "request_type.id", &is->request_type_id);
	if (st == ERR_OK)
		st = read_text(r, get(rt, "title"), "request_type.title", &is->request_type_title);
	if (st == ERR_OK)
		st = read_text(r, get(o, "status"), "status", &is->status);
	if (st == ERR_OK)
		st = read_text(r, get(o, "summary"), "summary", &is->summary);
	if (st == ERR_OK)
		st = read_text(r, get(o, "description"), "description", &is->description);
	if (st == ERR_OK)
		st = read_text(r, get(o, "address"), "address", &is->address);
	if (st == ERR_OK)
		st = parse_location(r, o, is);
	if (st == ERR_OK)
		st = read_time(r, get(o, "created_at"), "created_at", 1, &is->created_at);
	if (st == ERR_OK)
		st = read_time(r, get(o, "updated_at"), "updated_at", 0, &is->updated_at);
	if (st == ERR_OK)
		st = read_url(r, get(o, "html_url"), "html_url", &is->html_url);
	if (st != ERR_OK)
		return st;
	if (!is->status)
		return bad(r, "status", "missing");
	if ((!is->request_type_title && !(is->request_type_title = strdup(""))) ||
	    (!is->summary && !(is->summary = strdup(""))) ||
	    (!is->updated_at && !(is->updated_at = strdup(is->created_at))))
		return nomem(r);
	st = read_obj(r, o, "reporter", &rep);
	if (st != ERR_OK)
		return st;
	if (rep) {
		const cJSON *id = get(rep, "id");
		if (!is_null(id)) {
			st = read_i64(r, id, "reporter.id", &is->reporter_id);
			if (st != ERR_OK)
				return st;
		}
		st = read_text(r, get(rep, "name"), "reporter.name", &is->reporter_name);
		if (st != ERR_OK)
			return st;
	}
	st = read_obj(r, o, "media", &media);
	if (st != ERR_OK)
		return st;
	/* image_full only: representative_image_url is a category icon when
	 * the reporter sent no photo. */
	if (media) {
		st = read_url(r, get(media, "image_full"), "media.image_full", &is->media_url);
		if (st != ERR_OK)
			return st;
	}
	st = parse_questions(r, get(o, "questions"), is);
	if (st == ERR_OK)
		st = parse_comments(r, get(o, "comments"), is);
	if (st != ERR_OK)
		return st;
	return source_json(r, o, &is->source_json);
}

static enum err_status new_record(enum record_kind kind, struct record **out, struct err *e)
{
	*out = record_new(kind);
	return *out ? ERR_OK : err_set(e, ERR_TEMP, "out of memory");
}

static enum err_status set_key(struct record *rec, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum err_status set_key(struct record *rec, struct err *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&rec->key, fmt, ap);
	va_end(ap);
	if (n < 0) {
		rec->key = NULL;
		return err_set(e, ERR_TEMP, "out of memory");
	}
	return ERR_OK;
}

enum err_status map_scf_issue_cjson(const cJSON *obj, const struct cfg *c, struct record **out,
                                    struct err *e)
{
	struct rd r = {0, c, e};
	struct record *rec;
	enum err_status st;

	*out = NULL;
	st = new_record(RECORD_ISSUE, &rec, e);
	if (st != ERR_OK)
		return st;
	st = parse_issue(&r, obj, &rec->u.issue);
	if (st == ERR_OK)
		st = set_key(rec, e, "issue/%" PRId64, rec->u.issue.issue_id);
	if (st != ERR_OK) {
		record_free(rec);
		return st;
	}
	*out = rec;
	return ERR_OK;
}

enum err_status map_scf_issue(const char *json, size_t len, const struct cfg *c,
                              struct record **out, struct err *e)
{
	cJSON *obj;
	enum err_status st;

	*out = NULL;
	if (len > MAP_JSON_MAX)
		return err_set(e, ERR_PERM, "SCF issue: JSON larger than %zu bytes", MAP_JSON_MAX);
	obj = cJSON_ParseWithLength(json, len);
	if (!obj)
		return err_set(e, ERR_PERM, "SCF issue: not valid JSON");
	st = map_scf_issue_cjson(obj, c, out, e);
	cJSON_Delete(obj);
	return st;
}

static enum err_status comment_copy(struct record_comment *dst, const struct record_comment *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->issue_id = src->issue_id;
	dst->commenter_id = src->commenter_id;
	dst->is_system = src->is_system;
#define DUP(f)                                                                                     \
	if (src->f && !(dst->f = strdup(src->f)))                                                  \
		goto fail;
	DUP(comment_id)
	DUP(created_at)
	DUP(commenter_name)
	DUP(text)
	DUP(media_url)
	DUP(source_json)
#undef DUP
	return ERR_OK;
fail:
	comment_clear(dst);
	return ERR_TEMP;
}

enum err_status map_comment_record(const struct record_comment *cm, struct record **out,
                                   struct err *e)
{
	struct record *rec;
	enum err_status st;

	*out = NULL;
	st = new_record(RECORD_COMMENT, &rec, e);
	if (st != ERR_OK)
		return st;
	if (comment_copy(&rec->u.comment, cm) != ERR_OK) {
		record_free(rec);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	st = set_key(rec, e, "comment/%" PRId64 "/%s", cm->issue_id, cm->comment_id);
	if (st != ERR_OK) {
		record_free(rec);
		return st;
	}
	*out = rec;
	return ERR_OK;
}

enum err_status map_scf_comment_cjson(const cJSON *obj, int64_t issue_id, const struct cfg *c,
                                      struct record **out, struct err *e)
{
	struct rd r = {issue_id, c, e};
	struct record_comment cm;
	enum err_status st;

	*out = NULL;
	st = parse_comment(&r, obj, &cm);
	if (st != ERR_OK)
		return st;
	st = map_comment_record(&cm, out, e);
	comment_clear(&cm);
	return st;
}

enum err_status map_attachment_record(int64_t issue_id, const char *comment_id, const char *url,
                                      struct record **out, struct err *e)
{
	struct record *rec;
	enum err_status st;

	*out = NULL;
	if (!url || !url_ok(url))
		return err_set(e, ERR_PERM, "SCF issue %" PRId64 ": attachment URL is not usable",
		               issue_id);
	st = new_record(RECORD_ATTACHMENT, &rec, e);
	if (st != ERR_OK)
		return st;
	rec->u.attachment.issue_id = issue_id;
	if (!(rec->u.attachment.url = strdup(url)) ||
	    (comment_id && !(rec->u.attachment.comment_id = strdup(comment_id)))) {
		record_free(rec);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	st = comment_id ? set_key(rec, e, "attachment/%" PRId64 "/%s", issue_id, comment_id)
	                : set_key(rec, e, "attachment/%" PRId64 "/issue", issue_id);
	if (st != ERR_OK) {
		record_free(rec);
		return st;
	}
	*out = rec;
	return ERR_OK;
}

int map_comment_forward(const struct cfg *c, const struct record_comment *cm)
{
	unsigned kind = (unsigned)cm->is_system;

	if (kind == 0)
		return 1;
	return c && (kind & c->scf.forward_system) == kind;
}
