/*
 * online.c: read-only probes for `scfgate config check --online` (see
 * online.h).
 */
#include "online.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cg_check.h"
#include "cg_meta.h"
#include "http.h"
#include "scf.h"

struct probe {
	const struct cfg *c;
	struct http_client *h;
	struct buf *report, *findings;
	size_t *n;
	const char *system; /* "Cartegraph", "SeeClickFix" */
	const char *cred;   /* the credential file, for messages */
	enum err_status st; /* ERR_TEMP once out of memory */
};

__attribute__((format(printf, 3, 0))) static void add_line(struct probe *p, struct buf *b,
                                                           const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* one line each, whatever a server put into the text */
	for (char *s = line; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	if (buf_adds(b, line) != ERR_OK || buf_adds(b, "\n") != ERR_OK)
		p->st = ERR_TEMP;
}

static void report(struct probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(p, p->report, fmt, ap);
	va_end(ap);
}

static void finding(struct probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(p, p->findings, fmt, ap);
	va_end(ap);
	(*p->n)++;
}

/* A failed request as one finding; returns st. */
static enum err_status request_failed(struct probe *p, enum err_status st, long status,
                                      const struct err *e)
{
	if (status == 401 || status == 403 || (st == ERR_FATAL && strstr(e->msg, "HTTP 401")))
		finding(p, "%s: %s refused the credentials in %s (HTTP %ld)", p->c->path, p->system,
		        p->cred, status ? status : 401L);
	else if (st == ERR_TEMP)
		finding(p, "%s: %s cannot be reached: %s", p->c->path, p->system, e->msg);
	else
		finding(p, "%s: %s: %s", p->c->path, p->system, e->msg);
	return st;
}

/* GET path; the body parsed into *doc.  On failure the finding is made. */
static enum err_status get_json(struct probe *p, const char *path, cJSON **doc)
{
	struct http_response r;
	struct err e;
	enum err_status st;

	*doc = NULL;
	http_response_init(&r);
	err_clear(&e);
	st = http_request(p->h, "GET", path, NULL, NULL, &r, &e);
	if (st != ERR_OK) {
		request_failed(p, st, r.status, &e);
	} else if (!(*doc = cJSON_ParseWithLength(buf_str(&r.body), r.body.len))) {
		finding(p, "%s: %s: GET %s: the reply is not JSON", p->c->path, p->system, path);
		st = ERR_PERM;
	}
	http_response_release(&r);
	return st;
}

/* ---- Cartegraph ------------------------------------------------------------ */

static enum err_status cg_client(struct probe *p, struct err *e)
{
	const struct cfg_cartegraph *g = &p->c->cg;
	struct buf secret = BUF_INIT_CAP(CFG_SECRET_MAX);
	struct http_config hc;
	char *user = NULL, *pass = NULL;
	enum err_status st;

	st = cfg_read_secret(g->credential_file, &secret, e);
	if (st == ERR_OK)
		st = cfg_split_basic(secret.data, &user, &pass, e);
	if (st == ERR_OK) {
		http_config_init(&hc);
		hc.base_url = g->base_url;
		hc.ca_file = g->ca_file; /* the CA the half trusts */
		hc.auth = g->auth == CFG_CG_AUTH_SESSION ? HTTP_AUTH_CG_SESSION : HTTP_AUTH_BASIC;
		hc.username = user;
		hc.password = pass;
		hc.max_attempts = 2;
		hc.backoff_base_ms = 200;
		hc.backoff_max_ms = 1000;
		hc.timeout_ms = 30000;
		st = http_client_new(&p->h, &hc, e);
	}
	if (secret.data)
		memset(secret.data, 0, secret.alloc);
	buf_release(&secret);
	return st;
}

struct lookup_values {
	size_t n;
	char **v;
	int *inactive;
};

static void values_free(struct lookup_values *lv)
{
	for (size_t i = 0; i < lv->n; i++)
		free(lv->v[i]);
	free(lv->v);
	free(lv->inactive);
}

/* Every value of the lookup class, paged. */
static enum err_status read_values(struct probe *p, const char *cls, const char *field,
                                   int has_inactive, struct lookup_values *lv)
{
	struct buf path = BUF_INIT_CAP(8192);
	enum err_status st = ERR_OK;
	char fields[400], off[32], lim[32];

	snprintf(fields, sizeof(fields), "Oid,%s%s", field, has_inactive ? ",InactiveField" : "");
	snprintf(lim, sizeof(lim), "%d", ONLINE_PAGE);
	for (size_t offset = 0; st == ERR_OK && offset < ONLINE_MAX_VALUES;) {
		cJSON *doc = NULL, *row;
		const cJSON *rows, *total;
		size_t got = 0;
		int done;

		snprintf(off, sizeof(off), "%zu", offset);
		buf_reset(&path);
		if (buf_adds(&path, "/api/v1/classes/") != ERR_OK || http_escape_add(&path, cls) ||
		    http_query_add(&path, "fields", fields) ||
		    http_query_add(&path, "limit", lim) || http_query_add(&path, "offset", off)) {
			st = p->st = ERR_TEMP;
			break;
		}
		st = get_json(p, buf_str(&path), &doc);
		if (st != ERR_OK)
			break;
		rows = cJSON_GetObjectItemCaseSensitive(doc, cls);
		total = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(doc, "_metadata"), "totalCount");
		if (!cJSON_IsArray(rows)) {
			finding(p, "%s: Cartegraph: GET %s: no \"%s\" array in the reply",
			        p->c->path, buf_str(&path), cls);
			cJSON_Delete(doc);
			st = ERR_PERM;
			break;
		}
		cJSON_ArrayForEach(row, rows)
		{
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, field);
			const cJSON *ia = cJSON_GetObjectItemCaseSensitive(row, "InactiveField");
			char **nv;
			int *ni;

			got++;
			if (!cJSON_IsString(v))
				continue;
			nv = realloc(lv->v, (lv->n + 1) * sizeof(*nv));
			if (nv)
				lv->v = nv;
			ni = realloc(lv->inactive, (lv->n + 1) * sizeof(*ni));
			if (ni)
				lv->inactive = ni;
			if (!nv || !ni || !(lv->v[lv->n] = strdup(v->valuestring))) {
				st = p->st = ERR_TEMP;
				break;
			}
			lv->inactive[lv->n++] = cJSON_IsTrue(ia);
		}
		offset += got;
		done = got == 0 || (cJSON_IsNumber(total) && (double)offset >= total->valuedouble);
		cJSON_Delete(doc);
		if (done)
			break;
	}
	buf_release(&path);
	return st;
}

/* Every remoteId an active value of IssueField's lookup library. */
static void check_remote_ids(struct probe *p, const struct cg_meta *m)
{
	const struct cfg *c = p->c;
	const struct cg_prop *issue = cg_meta_prop(m, c->cg.request_class, c->cg.issue_field);
	struct lookup_values lv = {0, NULL, NULL};
	struct cg_meta *lm = NULL;
	const char *lcls;
	struct err e;
	long status = 0;
	size_t bad = 0;

	if (!issue)
		return; /* reported by the field check */
	if (!issue->lookup_class) {
		report(p,
		       "oms: %s is a %s field, not a lookup: remoteIds not checked against a "
		       "library",
		       issue->name, issue->type_name);
		return;
	}
	lcls = issue->lookup_class;
	/* The library's own metadata: which fields it has to ask for. */
	{
		struct buf path = BUF_INIT_CAP(4096);
		struct http_response r;
		enum err_status st;

		http_response_init(&r);
		err_clear(&e);
		if (buf_adds(&path, "/api/v1/meta/Classes/") != ERR_OK ||
		    http_escape_add(&path, lcls) != ERR_OK || cg_meta_new(&lm, &e) != ERR_OK) {
			p->st = ERR_TEMP;
			buf_release(&path);
			return;
		}
		st = http_request(p->h, "GET", buf_str(&path), NULL, NULL, &r, &e);
		status = r.status;
		if (st == ERR_OK)
			st = cg_meta_add(lm, buf_str(&r.body), r.body.len, &e);
		http_response_release(&r);
		buf_release(&path);
		if (st != ERR_OK) {
			request_failed(p, st, st == ERR_PERM && status == 200 ? 0 : status, &e);
			cg_meta_free(lm);
			return;
		}
	}
	if (!cg_meta_prop(lm, lcls, c->cg.issue_field)) {
		finding(p,
		        "%s:%u: issue: the lookup class %s of %s has no field %s to match the "
		        "remoteIds with",
		        c->path, c->cg.issue_line ? c->cg.issue_line : c->cg.line, lcls,
		        issue->name, c->cg.issue_field);
		cg_meta_free(lm);
		return;
	}
	if (read_values(p, lcls, c->cg.issue_field, cg_meta_prop(lm, lcls, "InactiveField") != NULL,
	                &lv) != ERR_OK) {
		cg_meta_free(lm);
		values_free(&lv);
		return;
	}
	for (size_t t = 0; t < c->n_types; t++) {
		const struct cfg_request_type *rt = &c->types[t];
		int found = 0, inactive = 0;

		for (size_t i = 0; i < lv.n && !found; i++)
			if (strcmp(lv.v[i], rt->remote_id) == 0) {
				if (lv.inactive[i])
					inactive = 1;
				else
					found = 1;
			}
		if (found)
			continue;
		bad++;
		if (inactive)
			finding(p,
			        "%s:%u: requestType: remoteId '%s' is inactive in %s (the lookup "
			        "library of %s)",
			        c->path, rt->line, rt->remote_id, lcls, issue->name);
		else
			finding(p,
			        "%s:%u: requestType: remoteId '%s' is not a value of %s (the "
			        "lookup library of %s)",
			        c->path, rt->line, rt->remote_id, lcls, issue->name);
	}
	report(p, "oms: %zu of %zu remoteIds are active values of %s (%zu values)",
	       c->n_types - bad, c->n_types, lcls, lv.n);
	values_free(&lv);
	cg_meta_free(lm);
}

static void probe_oms(struct probe *p)
{
	const struct cfg *c = p->c;
	struct buf out = BUF_INIT_CAP(1u << 20);
	struct cg_meta *m = NULL;
	long status = 0;
	size_t k = 0;
	struct err e;
	enum err_status st;

	p->system = "Cartegraph";
	p->cred = c->cg.credential_file;
	err_clear(&e);
	if (cg_client(p, &e) != ERR_OK) {
		finding(p, "%s: %s", c->path, e.msg);
		return;
	}
	st = cg_check_fetch(p->h, c, &m, &status, &e);
	if (st != ERR_OK) {
		request_failed(p, st, status, &e);
		return;
	}
	report(p, "oms: class %s read (%zu children)", c->cg.request_class,
	       cg_meta_n_children(m, c->cg.request_class));
	if (cg_check_fields(c, m, &out, &k) != ERR_OK || buf_add(p->findings, out.data, out.len))
		p->st = ERR_TEMP;
	*p->n += k;
	if (k == 0)
		report(p, "oms: every configured field exists, is writable where written, and has "
		          "a fitting type");
	buf_release(&out);
	check_remote_ids(p, m);
	cg_meta_free(m);
}

/* ---- SeeClickFix ------------------------------------------------------------ */

/* The half's own client (scf_open_http): the same credential handling,
 * caFile, user agent and no-redirect policy as the running half, with a
 * bucket at the configured rate (the probes are a handful of calls; the
 * persisted budget is the running half's, and a probe writes nothing). */
static enum err_status scf_client(struct probe *p, struct err *e)
{
	return scf_open_http(p->c, NULL, NULL, &p->h, e);
}

/* The ids in "1,2,3"; 1 if id is among them. */
static int id_listed(const char *list, int64_t id)
{
	for (const char *s = list; s && *s;) {
		char *end;
		long long v = strtoll(s, &end, 10);

		if (end == s)
			return 0;
		if (v == id)
			return 1;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return 0;
	}
	return 0;
}

static void check_type_one(struct probe *p, const struct cfg_request_type *rt, const char *org)
{
	char path[64];
	cJSON *doc = NULL;
	struct http_response r;
	struct err e;
	enum err_status st;
	const cJSON *o;

	snprintf(path, sizeof(path), "/request_types/%" PRId64, rt->scf_id);
	http_response_init(&r);
	err_clear(&e);
	st = http_request(p->h, "GET", path, NULL, NULL, &r, &e);
	if (st == ERR_PERM && r.status == 404) {
		finding(p, "%s:%u: requestType: SCF request type %" PRId64 " does not exist",
		        p->c->path, rt->line, rt->scf_id);
	} else if (st != ERR_OK) {
		request_failed(p, st, r.status, &e);
	} else if ((doc = cJSON_ParseWithLength(buf_str(&r.body), r.body.len)) &&
	           cJSON_IsString(o = cJSON_GetObjectItemCaseSensitive(doc, "organization")) &&
	           org && strcmp(o->valuestring, org) != 0) {
		finding(p,
		        "%s:%u: requestType: SCF request type %" PRId64
		        " belongs to '%s', not to the organization '%s'",
		        p->c->path, rt->line, rt->scf_id, o->valuestring, org);
	}
	cJSON_Delete(doc);
	http_response_release(&r);
}

static void probe_scf(struct probe *p)
{
	const struct cfg *c = p->c;
	cJSON *doc = NULL;
	const cJSON *v, *name;
	char path[128], *org = NULL;
	const char *types = NULL;
	struct err e;
	size_t missing = 0;

	p->system = "SeeClickFix";
	p->cred = c->scf.credential_file;
	err_clear(&e);
	if (scf_client(p, &e) != ERR_OK) {
		finding(p, "%s: %s", c->path, e.msg);
		return;
	}
	if (get_json(p, "/profile", &doc) != ERR_OK)
		return;
	v = cJSON_GetObjectItemCaseSensitive(doc, "id");
	name = cJSON_GetObjectItemCaseSensitive(doc, "name");
	report(p, "scf: authenticated as user %.0f (%s)", cJSON_IsNumber(v) ? v->valuedouble : 0.0,
	       cJSON_IsString(name) ? name->valuestring : "?");
	cJSON_Delete(doc);

	snprintf(path, sizeof(path), "/organizations/%" PRId64, c->scf.org_id);
	{
		struct http_response r;
		enum err_status st;

		http_response_init(&r);
		st = http_request(p->h, "GET", path, NULL, NULL, &r, &e);
		if (st == ERR_PERM && r.status == 404) {
			finding(p,
			        "%s:%u: organization: SCF organization %" PRId64
			        " does not exist or is not visible to this user",
			        c->path, c->scf.line, c->scf.org_id);
			http_response_release(&r);
			return;
		}
		if (st != ERR_OK) {
			request_failed(p, st, r.status, &e);
			http_response_release(&r);
			return;
		}
		doc = cJSON_ParseWithLength(buf_str(&r.body), r.body.len);
		http_response_release(&r);
	}
	name = cJSON_GetObjectItemCaseSensitive(doc, "name");
	if (cJSON_IsString(name) && !(org = strdup(name->valuestring)))
		p->st = ERR_TEMP;
	report(p, "scf: organization %" PRId64 " (%s)", c->scf.org_id, org ? org : "?");
	cJSON_Delete(doc);

	/* One page of the organization's issues lists its request types. */
	snprintf(path, sizeof(path), "/organizations/%" PRId64 "/issues?per_page=1", c->scf.org_id);
	if (get_json(p, path, &doc) != ERR_OK) {
		free(org);
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "metadata"),
	                                     "query"),
	    "request_types");
	if (cJSON_IsString(v))
		types = v->valuestring;
	for (size_t t = 0; t < c->n_types; t++) {
		const struct cfg_request_type *rt = &c->types[t];
		size_t before = *p->n;

		if (types) {
			if (!id_listed(types, rt->scf_id))
				finding(p,
				        "%s:%u: requestType: SCF request type %" PRId64
				        " is not one of the organization's request types",
				        c->path, rt->line, rt->scf_id);
		} else {
			check_type_one(p, rt, org);
		}
		missing += *p->n > before;
	}
	report(p, "scf: %zu of %zu mapped request types exist in the organization",
	       c->n_types - missing, c->n_types);
	cJSON_Delete(doc);
	free(org);
}

enum err_status online_check(const struct cfg *c, struct buf *rep, struct buf *findings, size_t *n,
                             struct err *e)
{
	struct probe p;

	memset(&p, 0, sizeof(p));
	p.c = c;
	p.report = rep;
	p.findings = findings;
	p.n = n;
	*n = 0;
	if (c->half == CFG_HALF_OMS)
		probe_oms(&p);
	else
		probe_scf(&p);
	http_client_free(p.h);
	if (p.st != ERR_OK)
		return err_set(e, ERR_TEMP, "out of memory");
	return ERR_OK;
}
