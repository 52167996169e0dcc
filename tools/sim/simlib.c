/*
 * simlib.c: HTTP frame, faults, clock, stats and admin plumbing shared by
 * the simulators.  See simlib.h for the contract.
 */
#include "simlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "num.h"

#define SIM_BODY_CAP ((size_t)16 * 1024 * 1024)
#define MAX_CODES    8

enum fault_kind {
	F_NONE,
	F_ERROR,
	F_DROP,
	F_TIMEOUT,
	F_MALFORMED,
	F_TRUNCATE,
	F_SLOW,
	F_MAINT,
	F_OVERSIZE,
	F_REDIRECT
};

static const char *const fault_names[] = {"none",      "error",    "drop", "timeout",
                                          "malformed", "truncate", "slow", "maintenance",
                                          "oversize",  "redirect"};

struct sim_faults {
	double error_rate;
	int codes[MAX_CODES];
	int ncodes;
	int latency_ms;
	int jitter_ms;
	double drop_rate;
	double timeout_rate;
	int hang_ms;
	double malformed_rate;
	double truncate_rate;
	double slow_rate;
	int slow_chunk_ms;
	int slow_chunk_bytes;
	int oversize_bytes; /* fail_next kind "oversize": the reply padded to this size */
	char path_prefix[256];
	char redirect_location[512]; /* fail_next kind "redirect": its Location */
	int after_apply;
	int maintenance;
	int write_hold_ms; /* an applied write's reply waits this long */
	int next_count;    /* one-shot faults for the next requests */
	int next_skip;     /* ... after letting this many through */
	enum fault_kind next_kind;
	int next_status;
};

static struct {
	const struct sim_app *app;
	int port;
	uint64_t seed;
	const char *save_path;
	const char *tls_cert; /* --tls-cert / --tls-key: serve https */
	const char *tls_key;
	const char *load_path;
	int quiet;
	long skew;
	char base_url[256];
	struct sim_faults faults;
	uint64_t reqno;
	cJSON *by_route;
	cJSON *by_status;
	cJSON *by_fault;
	uint64_t total;
	unsigned active, active_max; /* API requests being answered; the most at once */
	uint64_t writes;             /* writes applied (2xx), outside /_admin/ */
	int held;                    /* of them, replies being held now (write_hold_ms) */
	pthread_mutex_t lock;
	pthread_mutex_t stop_mx;
	pthread_cond_t stop_cv;
	int stopping;
} g = {
    .seed = 1,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .stop_mx = PTHREAD_MUTEX_INITIALIZER,
    .stop_cv = PTHREAD_COND_INITIALIZER,
};

struct ctx {
	struct timespec start;
	char *method;
	char *path;
	struct buf body;
	int too_big;
	int status;
	enum fault_kind fault;
};

/* ---- small utilities ---- */

uint64_t sim_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void sim_rng_init(struct sim_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return sim_mix(r->s);
}

unsigned sim_rng_below(struct sim_rng *r, unsigned n)
{
	return n ? (unsigned)(sim_rng_next(r) % n) : 0;
}

double sim_rng_unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) / 9007199254740992.0;
}

static double unit_of(uint64_t x)
{
	return (double)(sim_mix(x) >> 11) / 9007199254740992.0;
}

time_t sim_now(void)
{
	return time(NULL) + g.skew;
}

const char *sim_base_url(void)
{
	return g.base_url;
}

uint64_t sim_seed(void)
{
	return g.seed;
}

double sim_jnum(const cJSON *o, const char *key, double fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

const char *sim_jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void sim_time_format(time_t t, int offset_min, char out[32])
{
	struct tm tm;
	time_t local = t + (offset_min == SIM_NO_ZONE ? 0 : (time_t)offset_min * 60);
	int n;

	gmtime_r(&local, &tm);
	n = (int)strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	if (offset_min == SIM_NO_ZONE)
		return;
	if (offset_min == 0) {
		snprintf(out + n, (size_t)(32 - n), "Z");
		return;
	}
	snprintf(out + n, (size_t)(32 - n), "%c%02d:%02d", offset_min < 0 ? '-' : '+',
	         abs(offset_min) / 60, abs(offset_min) % 60);
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int sim_time_parse(const char *s, int default_offset_min, time_t *out)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om, off = default_offset_min;
	const char *p = s;

	if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || (*p == ' ' && p[1] >= '0' && p[1] <= '9')) {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
			if (*p == '.')
				for (p++; *p >= '0' && *p <= '9'; p++)
					;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		off = 0;
		p++;
	} else if (*p == '+' || *p == '-' || *p == ' ') {
		int sign = *p == '-' ? -1 : 1;

		p++;
		if (digits(&p, 2, &oh))
			return -1;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om))
			return -1;
		off = sign * (oh * 60 + om);
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - (time_t)(off == SIM_NO_ZONE ? 0 : off) * 60;
	return 0;
}

/* Sleep that ends early when the server stops, so SIGTERM never waits
 * for an injected hang. */
static void sim_sleep_ms(long ms)
{
	struct timespec dl;

	if (ms <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g.stop_mx);
	while (!g.stopping && pthread_cond_timedwait(&g.stop_cv, &g.stop_mx, &dl) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&g.stop_mx);
}

/* ---- requests and responses ---- */

const char *sim_arg(const struct sim_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sim_header(const struct sim_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *sim_cookie(const struct sim_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

struct each_ctx {
	void (*fn)(void *, const char *, const char *);
	void *ctx;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	struct each_ctx *e = cls;

	e->fn(e->ctx, k, v ? v : "");
	return MHD_YES;
}

void sim_args_each(const struct sim_req *req, void (*fn)(void *ctx, const char *k, const char *v),
                   void *ctx)
{
	struct each_ctx e = {fn, ctx};

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, each_arg, &e);
}

struct form_ctx {
	const char *name;
	struct buf val;
	int found;
	int is_file;
};

static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *ctype, const char *enc,
                                 const char *data, uint64_t off, size_t size)
{
	struct form_ctx *f = cls;

	if (strcmp(key, f->name) != 0)
		return MHD_YES;
	f->found = 1;
	if (filename) {
		if (!f->is_file)
			buf_adds(&f->val, filename);
		f->is_file = 1;
		return MHD_YES;
	}
	if (size)
		buf_add(&f->val, data, size);
	return MHD_YES;
}

char *sim_form_value(const struct sim_req *req, const char *name, int *is_file)
{
	struct form_ctx f = {.name = name};
	struct MHD_PostProcessor *pp;
	char *out = NULL;

	buf_init(&f.val, SIM_BODY_CAP);
	pp = MHD_create_post_processor(req->conn, (size_t)64 * 1024, form_iter, &f);
	if (!pp)
		return NULL;
	MHD_post_process(pp, req->body, req->body_len);
	MHD_destroy_post_processor(pp);
	if (f.found)
		out = strdup(buf_str(&f.val));
	if (is_file)
		*is_file = f.is_file;
	buf_release(&f.val);
	return out;
}

void sim_resp_text(struct sim_resp *resp, int status, const char *ctype, const char *text,
                   size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = ctype;
	resp->body = malloc(len + 1);
	if (!resp->body)
		abort();
	memcpy(resp->body, text, len);
	resp->body[len] = '\0';
	resp->len = len;
}

void sim_resp_json(struct sim_resp *resp, int status, cJSON *json)
{
	char *s = cJSON_PrintUnformatted(json);

	cJSON_Delete(json);
	if (!s)
		abort();
	free(resp->body);
	resp->status = status;
	resp->content_type = "application/json; charset=utf-8";
	resp->body = s;
	resp->len = strlen(s);
}

void sim_resp_header(struct sim_resp *resp, const char *name, const char *value)
{
	if (resp->nhdr >= SIM_MAX_HEADERS)
		return;
	snprintf(resp->hdr_name[resp->nhdr], sizeof(resp->hdr_name[0]), "%s", name);
	snprintf(resp->hdr_val[resp->nhdr], sizeof(resp->hdr_val[0]), "%s", value);
	resp->nhdr++;
}

cJSON *sim_body_json(const struct sim_req *req)
{
	cJSON *j;

	if (req->body_len == 0)
		return cJSON_CreateObject();
	j = cJSON_ParseWithLength(req->body, req->body_len);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

void sim_resp_admin_error(struct sim_resp *resp, int status, const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "error", msg);
	sim_resp_json(resp, status, j);
}

/* ---- faults ---- */

struct fault_field {
	const char *name;
	size_t off;
	int is_rate;
};

#define FF(n, f, r)                                                                                \
	{                                                                                          \
		n, offsetof(struct sim_faults, f), r                                               \
	}
static const struct fault_field fault_fields[] = {
    FF("error_rate", error_rate, 1),
    FF("drop_rate", drop_rate, 1),
    FF("timeout_rate", timeout_rate, 1),
    FF("malformed_rate", malformed_rate, 1),
    FF("truncate_rate", truncate_rate, 1),
    FF("slow_rate", slow_rate, 1),
    FF("latency_ms", latency_ms, 0),
    FF("jitter_ms", jitter_ms, 0),
    FF("hang_ms", hang_ms, 0),
    FF("slow_chunk_ms", slow_chunk_ms, 0),
    FF("slow_chunk_bytes", slow_chunk_bytes, 0),
    FF("oversize_bytes", oversize_bytes, 0),
    FF("after_apply", after_apply, 0),
    FF("maintenance", maintenance, 0),
    FF("write_hold_ms", write_hold_ms, 0),
};

static void faults_defaults(struct sim_faults *f)
{
	memset(f, 0, sizeof(*f));
	f->codes[0] = 500;
	f->codes[1] = 502;
	f->codes[2] = 503;
	f->ncodes = 3;
	f->hang_ms = 60000;
	f->slow_chunk_ms = 100;
	f->slow_chunk_bytes = 64;
	f->oversize_bytes = 17 * 1024 * 1024; /* just over a client's 16 MiB default cap */
}

static int parse_codes(struct sim_faults *f, const char *s)
{
	int n = 0;
	char *end;

	while (*s && n < MAX_CODES) {
		long v = strtol(s, &end, 10);

		if (end == s || v < 100 || v > 599)
			return -1;
		f->codes[n++] = (int)v;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	if (n == 0)
		return -1;
	f->ncodes = n;
	return 0;
}

static enum fault_kind fault_kind_of(const char *s)
{
	for (size_t i = 1; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
		if (strcmp(s, fault_names[i]) == 0)
			return (enum fault_kind)i;
	return F_NONE;
}

static cJSON *faults_json(const struct sim_faults *f)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *codes = cJSON_AddArrayToObject(j, "error_codes");

	for (size_t i = 0; i < sizeof(fault_fields) / sizeof(fault_fields[0]); i++) {
		const char *p = (const char *)f + fault_fields[i].off;

		if (fault_fields[i].is_rate)
			cJSON_AddNumberToObject(j, fault_fields[i].name, *(const double *)p);
		else
			cJSON_AddNumberToObject(j, fault_fields[i].name, *(const int *)p);
	}
	for (int i = 0; i < f->ncodes; i++)
		cJSON_AddItemToArray(codes, cJSON_CreateNumber(f->codes[i]));
	cJSON_AddStringToObject(j, "path_prefix", f->path_prefix);
	cJSON_AddStringToObject(j, "redirect_location", f->redirect_location);
	if (f->next_count > 0) {
		cJSON *n = cJSON_AddObjectToObject(j, "fail_next");

		cJSON_AddNumberToObject(n, "count", f->next_count);
		cJSON_AddNumberToObject(n, "skip", f->next_skip);
		cJSON_AddStringToObject(n, "kind", fault_names[f->next_kind]);
		cJSON_AddNumberToObject(n, "status", f->next_status);
	}
	return j;
}

/* Partial update from an admin body; returns NULL or what was wrong. */
static const char *faults_update(struct sim_faults *f, const cJSON *j)
{
	const cJSON *v;

	for (size_t i = 0; i < sizeof(fault_fields) / sizeof(fault_fields[0]); i++) {
		char *p = (char *)f + fault_fields[i].off;

		v = cJSON_GetObjectItemCaseSensitive(j, fault_fields[i].name);
		if (!v)
			continue;
		if (cJSON_IsBool(v) && !fault_fields[i].is_rate) {
			*(int *)p = cJSON_IsTrue(v);
			continue;
		}
		if (!cJSON_IsNumber(v) || v->valuedouble < 0)
			return fault_fields[i].name;
		if (fault_fields[i].is_rate) {
			if (v->valuedouble > 1)
				return fault_fields[i].name;
			*(double *)p = v->valuedouble;
		} else {
			*(int *)p = (int)v->valuedouble;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "error_codes");
	if (cJSON_IsArray(v)) {
		int n = 0;
		const cJSON *c;

		cJSON_ArrayForEach(c, v)
		{
			if (!cJSON_IsNumber(c) || c->valueint < 100 || c->valueint > 599 ||
			    n >= MAX_CODES)
				return "error_codes";
			f->codes[n++] = c->valueint;
		}
		if (n == 0)
			return "error_codes";
		f->ncodes = n;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "path_prefix");
	if (cJSON_IsString(v))
		snprintf(f->path_prefix, sizeof(f->path_prefix), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "redirect_location");
	if (cJSON_IsString(v))
		snprintf(f->redirect_location, sizeof(f->redirect_location), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "fail_next");
	if (cJSON_IsObject(v)) {
		const char *kind = sim_jstr(v, "kind");
		enum fault_kind k = kind ? fault_kind_of(kind) : F_ERROR;

		if (k == F_NONE || k == F_MAINT)
			return "fail_next.kind";
		f->next_kind = k;
		f->next_count = (int)sim_jnum(v, "count", 1);
		f->next_skip = (int)sim_jnum(v, "skip", 0);
		f->next_status = (int)sim_jnum(v, "status", k == F_REDIRECT ? 307 : 503);
	}
	return NULL;
}

/* Decide this request's fault (lock held). */
static enum fault_kind fault_pick(const char *path, uint64_t reqno, int *status, long *delay_ms)
{
	const struct sim_faults *f = &g.faults;
	uint64_t base = g.seed * 0x100000001b3ULL ^ reqno;
	double r, acc = 0;

	*delay_ms = 0;
	*status = 0;
	if (f->path_prefix[0] && strncmp(path, f->path_prefix, strlen(f->path_prefix)) != 0)
		return F_NONE;
	if (f->latency_ms || f->jitter_ms)
		*delay_ms = f->latency_ms + (long)(unit_of(base + 1) * f->jitter_ms);
	if (f->maintenance) {
		*status = 503;
		return F_MAINT;
	}
	if (g.faults.next_count > 0 && g.faults.next_skip > 0) {
		g.faults.next_skip--;
	} else if (g.faults.next_count > 0) {
		g.faults.next_count--;
		*status = g.faults.next_status;
		return g.faults.next_kind;
	}
	r = unit_of(base);
	if (r < (acc += f->error_rate)) {
		*status = f->codes[sim_mix(base + 2) % (uint64_t)f->ncodes];
		return F_ERROR;
	}
	if (r < (acc += f->drop_rate))
		return F_DROP;
	if (r < (acc += f->timeout_rate))
		return F_TIMEOUT;
	if (r < (acc += f->malformed_rate))
		return F_MALFORMED;
	if (r < (acc += f->truncate_rate))
		return F_TRUNCATE;
	if (r < (acc += f->slow_rate))
		return F_SLOW;
	return F_NONE;
}

static void corrupt_body(struct sim_resp *resp)
{
	char *colon = strstr(resp->body ? resp->body : "", "\":");

	if (colon) {
		/* Drop the first key's colon: still looks like JSON, never parses. */
		colon[1] = ' ';
		return;
	}
	sim_resp_text(resp, resp->status, "application/json; charset=utf-8", "{\"errors\": {,}",
	              14);
}

static void truncate_body(struct sim_resp *resp)
{
	if (resp->len > 1)
		resp->len = resp->len / 2;
	else
		sim_resp_text(resp, resp->status, "application/json; charset=utf-8", "{", 1);
}

/* The real reply (the request took effect), followed by spaces up to
 * oversize_bytes: still valid JSON, but larger than a client accepts. */
static void oversize_body(struct sim_resp *resp)
{
	size_t want = g.faults.oversize_bytes > 0 ? (size_t)g.faults.oversize_bytes : 1;
	char *b;

	if (resp->len >= want)
		return;
	b = realloc(resp->body, want);
	if (!b)
		abort();
	memset(b + resp->len, ' ', want - resp->len);
	resp->body = b;
	resp->len = want;
}

/* A redirect to redirect_location (before the request was applied, or
 * after it with after_apply: the post/redirect/get answer). */
static void redirect_reply(int status, struct sim_resp *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
	sim_resp_text(resp, status, "text/html", "<html>moved</html>", 18);
	sim_resp_header(resp, "Location",
	                g.faults.redirect_location[0] ? g.faults.redirect_location
	                                              : "http://127.0.0.1:9/moved");
}

/* ---- stats ---- */

static void count(cJSON *map, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(map, key);

	if (v)
		cJSON_SetNumberValue(v, v->valuedouble + 1);
	else
		cJSON_AddNumberToObject(map, key, 1);
}

static void stats_reset(void)
{
	cJSON_Delete(g.by_route);
	cJSON_Delete(g.by_status);
	cJSON_Delete(g.by_fault);
	g.by_route = cJSON_CreateObject();
	g.by_status = cJSON_CreateObject();
	g.by_fault = cJSON_CreateObject();
	g.total = 0;
	g.active_max = g.active;
	g.writes = 0;
}

static cJSON *stats_json(void)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "requests", (double)g.total);
	cJSON_AddNumberToObject(j, "in_flight_max", (double)g.active_max);
	cJSON_AddNumberToObject(j, "rate_limited", sim_jnum(g.by_status, "429", 0));
	cJSON_AddNumberToObject(j, "writes", (double)g.writes);
	cJSON_AddNumberToObject(j, "held", g.held);
	cJSON_AddItemToObject(j, "by_route", cJSON_Duplicate(g.by_route, 1));
	cJSON_AddItemToObject(j, "by_status", cJSON_Duplicate(g.by_status, 1));
	cJSON_AddItemToObject(j, "faults", cJSON_Duplicate(g.by_fault, 1));
	return j;
}

/* ---- state files ---- */

static int save_state(const char *path, char *why, size_t whylen)
{
	cJSON *doc = cJSON_CreateObject();
	char tmp[PATH_MAX];
	char *text;
	FILE *fp;
	int rc = -1;

	cJSON_AddStringToObject(doc, "simulator", g.app->name);
	cJSON_AddNumberToObject(doc, "format", 1);
	cJSON_AddNumberToObject(doc, "saved_at", (double)sim_now());
	cJSON_AddItemToObject(doc, "state", g.app->dump());
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (!fp) {
		snprintf(why, whylen, "%.400s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fputs(text, fp) < 0 || fflush(fp) || fsync(fileno(fp))) {
		snprintf(why, whylen, "%.400s: %s", tmp, strerror(errno));
		fclose(fp);
		goto out;
	}
	if (fclose(fp) || rename(tmp, path)) {
		snprintf(why, whylen, "%.400s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

static int load_state(const char *path)
{
	struct buf b;
	struct err e;
	cJSON *doc = NULL;
	const char *who;
	int rc = -1;

	buf_init(&b, (size_t)256 * 1024 * 1024);
	if (buf_read_file(&b, path, &e) != ERR_OK) {
		fprintf(stderr, "%s: %s\n", g.app->name, e.msg);
		goto out;
	}
	doc = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
	who = sim_jstr(doc, "simulator");
	if (!doc || !who || strcmp(who, g.app->name) != 0 ||
	    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "state"))) {
		fprintf(stderr, "%s: %s: not a %s state file\n", g.app->name, path, g.app->name);
		goto out;
	}
	if (g.app->load(cJSON_GetObjectItemCaseSensitive(doc, "state")) != 0) {
		fprintf(stderr, "%s: %s: state does not load\n", g.app->name, path);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(doc);
	buf_release(&b);
	return rc;
}

/* ---- the library's admin endpoints (lock held) ---- */

static int lib_admin(const struct sim_req *req, struct sim_resp *resp)
{
	const char *p = req->path;
	const char *m = req->method;
	cJSON *body;

	if (strcmp(p, "/_admin/faults") == 0) {
		if (strcmp(m, "DELETE") == 0) {
			faults_defaults(&g.faults);
		} else if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
			const char *bad;

			body = sim_body_json(req);
			if (!body) {
				sim_resp_admin_error(resp, 400, "body must be a JSON object");
				return 1;
			}
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "reset")))
				faults_defaults(&g.faults);
			bad = faults_update(&g.faults, body);
			cJSON_Delete(body);
			if (bad) {
				char msg[128];

				snprintf(msg, sizeof(msg), "bad value for %s", bad);
				sim_resp_admin_error(resp, 400, msg);
				return 1;
			}
		}
		sim_resp_json(resp, 200, faults_json(&g.faults));
		return 1;
	}
	if (strcmp(p, "/_admin/stats") == 0) {
		if (strcmp(m, "DELETE") == 0)
			stats_reset();
		sim_resp_json(resp, 200, stats_json());
		return 1;
	}
	if (strcmp(p, "/_admin/clock") == 0) {
		cJSON *j;
		char now[32];

		if (strcmp(m, "POST") == 0) {
			body = sim_body_json(req);
			if (!body) {
				sim_resp_admin_error(resp, 400, "body must be a JSON object");
				return 1;
			}
			g.skew = (long)sim_jnum(body, "skew_seconds", (double)g.skew);
			g.skew += (long)sim_jnum(body, "advance_seconds", 0);
			cJSON_Delete(body);
		}
		j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "skew_seconds", (double)g.skew);
		cJSON_AddNumberToObject(j, "now_epoch", (double)sim_now());
		sim_time_format(sim_now(), 0, now);
		cJSON_AddStringToObject(j, "now", now);
		sim_resp_json(resp, 200, j);
		return 1;
	}
	if (strcmp(p, "/_admin/save") == 0 && strcmp(m, "POST") == 0) {
		const char *path;
		char why[512];

		body = sim_body_json(req);
		path = body ? sim_jstr(body, "path") : NULL;
		if (!path)
			path = g.save_path;
		if (!path) {
			sim_resp_admin_error(resp, 400, "no path given and no --save");
		} else if (save_state(path, why, sizeof(why)) != 0) {
			sim_resp_admin_error(resp, 500, why);
		} else {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "saved", path);
			sim_resp_json(resp, 200, j);
		}
		cJSON_Delete(body);
		return 1;
	}
	if (strcmp(p, "/_admin/state") == 0 && strcmp(m, "GET") == 0) {
		cJSON *j = g.app->dump();

		cJSON_AddNumberToObject(j, "now_epoch", (double)sim_now());
		sim_resp_json(resp, 200, j);
		return 1;
	}
	return 0;
}

/* ---- MHD glue ---- */

struct slow {
	char *body;
	size_t len;
	int chunk_ms;
	int chunk_bytes;
};

static ssize_t slow_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct slow *s = cls;
	size_t n;

	if (pos >= s->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (pos > 0)
		sim_sleep_ms(s->chunk_ms);
	if (g.stopping)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = s->len - (size_t)pos;
	if (n > (size_t)s->chunk_bytes)
		n = (size_t)s->chunk_bytes;
	if (n > max)
		n = max;
	memcpy(out, s->body + pos, n);
	return (ssize_t)n;
}

static void slow_free(void *cls)
{
	struct slow *s = cls;

	free(s->body);
	free(s);
}

/* A write was applied: count it, and with write_hold_ms keep its reply
 * back that long (outside the lock), so that a crash test can see the
 * change made and its reply not yet sent ("held" in the stats) and kill
 * the client right then. */
static void hold_write(void)
{
	int ms;

	pthread_mutex_lock(&g.lock);
	g.writes++;
	ms = g.faults.write_hold_ms;
	if (ms > 0)
		g.held++;
	pthread_mutex_unlock(&g.lock);
	if (ms <= 0)
		return;
	sim_sleep_ms(ms);
	pthread_mutex_lock(&g.lock);
	g.held--;
	pthread_mutex_unlock(&g.lock);
}

static void tally(const struct sim_resp *resp, const struct sim_req *req, enum fault_kind fk)
{
	char key[300];

	pthread_mutex_lock(&g.lock);
	g.total++;
	if (resp && resp->route) {
		count(g.by_route, resp->route);
	} else {
		snprintf(key, sizeof(key), "%s %s", req->method, req->path);
		count(g.by_route, key);
	}
	if (resp) {
		snprintf(key, sizeof(key), "%d", resp->status);
		count(g.by_status, key);
	}
	if (fk != F_NONE)
		count(g.by_fault, fault_names[fk]);
	pthread_mutex_unlock(&g.lock);
}

/* How many API requests a client keeps in flight: each is counted from
 * the moment its body has arrived until its reply is queued (a latency
 * or a fault's delay included). */
static enum MHD_Result respond(struct ctx *c, struct MHD_Connection *conn);

static enum MHD_Result respond_counted(struct ctx *c, struct MHD_Connection *conn)
{
	int api = strncmp(c->path, "/_admin/", 8) != 0;
	enum MHD_Result ret;

	if (api) {
		pthread_mutex_lock(&g.lock);
		if (++g.active > g.active_max)
			g.active_max = g.active;
		pthread_mutex_unlock(&g.lock);
	}
	ret = respond(c, conn);
	if (api) {
		pthread_mutex_lock(&g.lock);
		g.active--;
		pthread_mutex_unlock(&g.lock);
	}
	return ret;
}

static enum MHD_Result respond(struct ctx *c, struct MHD_Connection *conn)
{
	struct sim_req req = {.method = c->method,
	                      .path = c->path,
	                      .body = buf_str(&c->body),
	                      .body_len = c->body.len,
	                      .conn = conn};
	struct sim_resp resp = {0};
	struct MHD_Response *mr;
	enum fault_kind fk = F_NONE;
	enum MHD_Result ret;
	int fstatus = 0;
	long delay = 0;

	req.admin = strncmp(c->path, "/_admin/", 8) == 0;
	pthread_mutex_lock(&g.lock);
	if (!req.admin)
		fk = fault_pick(c->path, ++g.reqno, &fstatus, &delay);
	pthread_mutex_unlock(&g.lock);
	c->fault = fk;
	sim_sleep_ms(delay);

	if (!g.faults.after_apply && (fk == F_DROP || fk == F_TIMEOUT)) {
		tally(NULL, &req, fk);
		if (fk == F_TIMEOUT)
			sim_sleep_ms(g.faults.hang_ms);
		return MHD_NO;
	}
	if (fk == F_MAINT || (fk == F_ERROR && !g.faults.after_apply)) {
		g.app->fault_reply(fstatus, &resp);
	} else if (fk == F_REDIRECT && !g.faults.after_apply) {
		redirect_reply(fstatus, &resp);
	} else {
		pthread_mutex_lock(&g.lock);
		if (c->too_big)
			sim_resp_admin_error(&resp, 413, "request body too large");
		else if (!req.admin || !lib_admin(&req, &resp))
			g.app->handle(&req, &resp);
		pthread_mutex_unlock(&g.lock);
		if (fk == F_DROP || fk == F_TIMEOUT) {
			tally(&resp, &req, fk);
			free(resp.body);
			if (fk == F_TIMEOUT)
				sim_sleep_ms(g.faults.hang_ms);
			return MHD_NO;
		}
		if (fk == F_ERROR) {
			free(resp.body);
			memset(&resp, 0, sizeof(resp));
			g.app->fault_reply(fstatus, &resp);
		}
		if (fk == F_REDIRECT)
			redirect_reply(fstatus, &resp);
	}
	if (!resp.body)
		sim_resp_text(&resp, resp.status ? resp.status : 500, "text/plain", "", 0);
	if (fk == F_MALFORMED)
		corrupt_body(&resp);
	else if (fk == F_TRUNCATE)
		truncate_body(&resp);
	else if (fk == F_OVERSIZE)
		oversize_body(&resp);
	tally(&resp, &req, fk);
	c->status = resp.status;
	if (!req.admin && resp.status >= 200 && resp.status < 300 &&
	    strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0)
		hold_write();

	if (fk == F_SLOW) {
		struct slow *s = malloc(sizeof(*s));

		if (!s)
			abort();
		s->body = resp.body;
		s->len = resp.len;
		s->chunk_ms = g.faults.slow_chunk_ms;
		s->chunk_bytes = g.faults.slow_chunk_bytes > 0 ? g.faults.slow_chunk_bytes : 1;
		mr = MHD_create_response_from_callback(resp.len, 4096, slow_read, s, slow_free);
	} else {
		mr = MHD_create_response_from_buffer(resp.len, resp.body, MHD_RESPMEM_MUST_FREE);
	}
	if (!mr)
		return MHD_NO;
	MHD_add_response_header(mr, "Content-Type", resp.content_type);
	/* The Date header follows the simulator's clock (skew and advances
	 * included), as a client reading the server's time expects. */
	{
		char date[64];
		time_t now = sim_now();
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		MHD_add_response_header(mr, "Date", date);
	}
	for (int i = 0; i < resp.nhdr; i++)
		MHD_add_response_header(mr, resp.hdr_name[i], resp.hdr_val[i]);
	ret = MHD_queue_response(conn, (unsigned)resp.status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct ctx *c = *con_cls;

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &c->start);
		c->method = strdup(method);
		c->path = strdup(url);
		buf_init(&c->body, SIM_BODY_CAP);
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_size) {
		if (buf_add(&c->body, upload, *upload_size) != ERR_OK)
			c->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	return respond_counted(c, conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct ctx *c = *con_cls;
	struct timespec end;
	double ms;

	if (!c)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (double)(end.tv_sec - c->start.tv_sec) * 1e3 +
	     (double)(end.tv_nsec - c->start.tv_nsec) / 1e6;
	if (!g.quiet) {
		char st[16];

		if (c->status && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
			snprintf(st, sizeof(st), "%d", c->status);
		else
			snprintf(st, sizeof(st), "%s", c->status ? "aborted" : "dropped");
		fprintf(stderr, "%s %s %s %s %.1fms%s%s\n", g.app->name, c->method, c->path, st, ms,
		        c->fault ? " fault=" : "", c->fault ? fault_names[c->fault] : "");
	}
	free(c->method);
	free(c->path);
	buf_release(&c->body);
	free(c);
	*con_cls = NULL;
}

/* ---- options and main ---- */

enum {
	O_PORT = 1000,
	O_SEED,
	O_SAVE,
	O_LOAD,
	O_SKEW,
	O_QUIET,
	O_BASE,
	O_ERR,
	O_CODES,
	O_LAT,
	O_JIT,
	O_DROP,
	O_TIMEOUT,
	O_HANG,
	O_MALF,
	O_TRUNC,
	O_SLOW,
	O_SLOWMS,
	O_FPATH,
	O_AFTER,
	O_MAINT,
	O_TLSCERT,
	O_TLSKEY,
	O_HELP,
};

static const struct option common_opts[] = {
    {"port", required_argument, 0, O_PORT},
    {"seed", required_argument, 0, O_SEED},
    {"save", required_argument, 0, O_SAVE},
    {"load", required_argument, 0, O_LOAD},
    {"clock-skew", required_argument, 0, O_SKEW},
    {"quiet", no_argument, 0, O_QUIET},
    {"base-url", required_argument, 0, O_BASE},
    {"error-rate", required_argument, 0, O_ERR},
    {"error-codes", required_argument, 0, O_CODES},
    {"latency-ms", required_argument, 0, O_LAT},
    {"jitter-ms", required_argument, 0, O_JIT},
    {"drop-rate", required_argument, 0, O_DROP},
    {"timeout-rate", required_argument, 0, O_TIMEOUT},
    {"hang-ms", required_argument, 0, O_HANG},
    {"malformed-rate", required_argument, 0, O_MALF},
    {"truncate-rate", required_argument, 0, O_TRUNC},
    {"slow-rate", required_argument, 0, O_SLOW},
    {"slow-chunk-ms", required_argument, 0, O_SLOWMS},
    {"fault-path", required_argument, 0, O_FPATH},
    {"faults-after-apply", no_argument, 0, O_AFTER},
    {"maintenance", no_argument, 0, O_MAINT},
    {"tls-cert", required_argument, 0, O_TLSCERT},
    {"tls-key", required_argument, 0, O_TLSKEY},
    {"help", no_argument, 0, O_HELP},
};

static const char common_usage[] =
    "Common options:\n"
    "  --port N              TCP port on 127.0.0.1 (0 = any free port; default 0)\n"
    "  --seed N              seed for the generated data and the faults (default 1)\n"
    "  --save FILE           write the state to FILE on SIGTERM (and on POST /_admin/save)\n"
    "  --load FILE           start from a state FILE instead of generated data\n"
    "  --clock-skew SECONDS  add SECONDS (may be negative) to this host's clock\n"
    "  --base-url URL        base of the URLs inside payloads (default http://127.0.0.1:PORT)\n"
    "  --quiet               no per-request log line on stderr\n"
    "  --tls-cert FILE, --tls-key FILE  serve https with this PEM certificate and key\n"
    "Faults (rates are probabilities 0..1 per request; see docs/simulators.md):\n"
    "  --error-rate P        reply with an error status from --error-codes\n"
    "  --error-codes LIST    comma-separated statuses (default 500,502,503)\n"
    "  --latency-ms N        add N ms before every reply\n"
    "  --jitter-ms N         add 0..N ms more, drawn from the seed\n"
    "  --drop-rate P         close the connection without a reply\n"
    "  --timeout-rate P      hang --hang-ms (default 60000), then close without a reply\n"
    "  --malformed-rate P    200-class reply whose JSON does not parse\n"
    "  --truncate-rate P     reply with only the first half of the JSON body\n"
    "  --slow-rate P         send the body in 64-byte chunks every --slow-chunk-ms (100)\n"
    "  --fault-path PREFIX   apply faults only to paths starting with PREFIX\n"
    "  --faults-after-apply  errors, drops and hangs happen after the request took effect\n"
    "  --maintenance         answer every API request 503 (maintenance)\n";

static int rate_arg(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0 || v > 1 || isnan(v))
		return -1;
	*out = v;
	return 0;
}

static int int_arg(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int common_option(int opt, const char *arg)
{
	long v = 0;
	struct sim_faults *f = &g.faults;

	switch (opt) {
	case O_PORT:
		if (int_arg(arg, 0, 65535, &v))
			return -1;
		g.port = (int)v;
		return 0;
	case O_SEED:
		g.seed = strtoull(arg, NULL, 10);
		return 0;
	case O_SAVE:
		g.save_path = arg;
		return 0;
	case O_LOAD:
		g.load_path = arg;
		return 0;
	case O_SKEW:
		if (int_arg(arg, -10L * 365 * 86400, 10L * 365 * 86400, &v))
			return -1;
		g.skew = v;
		return 0;
	case O_QUIET:
		g.quiet = 1;
		return 0;
	case O_BASE:
		snprintf(g.base_url, sizeof(g.base_url), "%s", arg);
		return 0;
	case O_ERR:
		return rate_arg(arg, &f->error_rate);
	case O_CODES:
		return parse_codes(f, arg);
	case O_DROP:
		return rate_arg(arg, &f->drop_rate);
	case O_TIMEOUT:
		return rate_arg(arg, &f->timeout_rate);
	case O_MALF:
		return rate_arg(arg, &f->malformed_rate);
	case O_TRUNC:
		return rate_arg(arg, &f->truncate_rate);
	case O_SLOW:
		return rate_arg(arg, &f->slow_rate);
	case O_FPATH:
		snprintf(f->path_prefix, sizeof(f->path_prefix), "%s", arg);
		return 0;
	case O_AFTER:
		f->after_apply = 1;
		return 0;
	case O_MAINT:
		f->maintenance = 1;
		return 0;
	case O_TLSCERT:
		g.tls_cert = arg;
		return 0;
	case O_TLSKEY:
		g.tls_key = arg;
		return 0;
	default:
		break;
	}
	if (int_arg(arg, 0, 3600L * 1000, &v))
		return -1;
	if (opt == O_LAT)
		f->latency_ms = (int)v;
	else if (opt == O_JIT)
		f->jitter_ms = (int)v;
	else if (opt == O_HANG)
		f->hang_ms = (int)v;
	else if (opt == O_SLOWMS)
		f->slow_chunk_ms = (int)v;
	return 0;
}

static struct option *merge_options(const struct option *own)
{
	size_t n_own = 0, n_common = sizeof(common_opts) / sizeof(common_opts[0]);
	struct option *all;

	while (own && own[n_own].name)
		n_own++;
	all = calloc(n_own + n_common + 1, sizeof(*all));
	if (!all)
		abort();
	if (n_own)
		memcpy(all, own, n_own * sizeof(*all));
	memcpy(all + n_own, common_opts, sizeof(common_opts));
	return all;
}

static int parse_options(const struct sim_app *app, int argc, char **argv)
{
	struct option *opts = merge_options(app->options);
	int opt, idx, rc = 0;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (opt == O_HELP) {
			printf("usage: %s [options]\n\n%s\n%s", app->name, app->usage,
			       common_usage);
			rc = 1;
			break;
		}
		if (opt == '?' || opt == ':') {
			fprintf(stderr, "%s: unknown option or missing value: %s\n", app->name,
			        argv[optind - 1]);
			rc = -1;
			break;
		}
		if ((opt >= O_PORT && opt < O_HELP ? common_option(opt, optarg)
		                                   : app->option(opt, optarg)) != 0) {
			fprintf(stderr, "%s: bad value for --%s: %s\n", app->name, opts[idx].name,
			        optarg ? optarg : "");
			rc = -1;
			break;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "%s: unexpected argument: %s\n", app->name, argv[optind]);
		rc = -1;
	}
	free(opts);
	return rc;
}

/* A PEM file for --tls-cert / --tls-key, NUL-terminated. */
static int read_pem(const char *path, char **out)
{
	struct buf b;
	struct err e;

	buf_init(&b, (size_t)1024 * 1024);
	if (buf_read_file(&b, path, &e) != ERR_OK) {
		fprintf(stderr, "%s: %s\n", g.app->name, e.msg);
		buf_release(&b);
		return -1;
	}
	*out = buf_detach(&b, NULL);
	return *out ? 0 : -1;
}

int sim_main(const struct sim_app *app, int argc, char **argv)
{
	struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_CERT, 0, NULL},
	                               {MHD_OPTION_HTTPS_MEM_KEY, 0, NULL},
	                               {MHD_OPTION_END, 0, NULL}};
	char *tls_cert = NULL, *tls_key = NULL;
	struct sockaddr_in sin = {0};
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	sigset_t set;
	int sig, rc;
	char why[512];

	g.app = app;
	faults_defaults(&g.faults);
	stats_reset();
	rc = parse_options(app, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)g.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!g.tls_cert != !g.tls_key) {
		fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", app->name);
		return 2;
	}
	if (g.tls_cert) {
		if (read_pem(g.tls_cert, &tls_cert) != 0 || read_pem(g.tls_key, &tls_key) != 0)
			return 1;
		tls[0].ptr_value = tls_cert;
		tls[1].ptr_value = tls_key;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	                         MHD_USE_POLL | MHD_USE_ERROR_LOG | (g.tls_cert ? MHD_USE_TLS : 0),
	                     (uint16_t)g.port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
	                     &sin, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	                     MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)512, MHD_OPTION_ARRAY,
	                     g.tls_cert ? tls : tls + 2, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", app->name, g.port);
		free(tls_cert);
		free(tls_key);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	g.port = info ? info->port : g.port;
	if (!g.base_url[0])
		snprintf(g.base_url, sizeof(g.base_url), "%s://127.0.0.1:%d",
		         g.tls_cert ? "https" : "http", g.port);

	/* The state is built before the port is announced; requests that
	 * arrive meanwhile wait on the lock. */
	pthread_mutex_lock(&g.lock);
	rc = g.load_path ? load_state(g.load_path) : 0;
	if (rc == 0)
		rc = app->start(g.load_path != NULL);
	pthread_mutex_unlock(&g.lock);
	if (rc != 0) {
		MHD_stop_daemon(d);
		free(tls_cert);
		free(tls_key);
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", g.port);
	fflush(stdout);

	while (sigwait(&set, &sig) != 0)
		;
	pthread_mutex_lock(&g.stop_mx);
	g.stopping = 1;
	pthread_cond_broadcast(&g.stop_cv);
	pthread_mutex_unlock(&g.stop_mx);
	MHD_stop_daemon(d);
	rc = 0;
	if (g.save_path && save_state(g.save_path, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s: cannot save state: %s\n", app->name, why);
		rc = 1;
	}
	stats_reset();
	cJSON_Delete(g.by_route);
	cJSON_Delete(g.by_status);
	cJSON_Delete(g.by_fault);
	free(tls_cert);
	free(tls_key);
	return rc;
}

int sim_offset_parse(const char *s, int *out_min)
{
	int h, m;

	if ((s[0] != '+' && s[0] != '-') || num_digits(s + 1, 2, &h) != 0 || s[3] != ':' ||
	    num_digits(s + 4, 2, &m) != 0 || s[6] != '\0' || h > 14 || m > 59)
		return -1;
	*out_min = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return 0;
}
