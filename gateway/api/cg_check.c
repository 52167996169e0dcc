/*
 * cg_check.c: the field map against the class metadata (see cg_check.h).
 */
#include "cg_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

const char *cg_check_kind_name(enum cfg_cg_kind k)
{
	switch (k) {
	case CFG_CG_TEXT:
		return "a string";
	case CFG_CG_LOOKUP:
		return "a lookup value (a string)";
	case CFG_CG_BOOLEAN:
		return "a boolean";
	case CFG_CG_NUMBER:
		return "a number";
	case CFG_CG_SHAPE:
		return "a shape";
	case CFG_CG_ID:
		return "the SCF issue id";
	}
	return "a value";
}

static int type_fits(enum cfg_cg_kind k, enum cg_type t)
{
	switch (k) {
	case CFG_CG_TEXT:
		return t == CG_TYPE_STRING || t == CG_TYPE_UNKNOWN;
	case CFG_CG_LOOKUP:
		return t == CG_TYPE_STRING || t == CG_TYPE_LOOKUP || t == CG_TYPE_UNKNOWN;
	case CFG_CG_BOOLEAN:
		return t == CG_TYPE_BOOLEAN;
	case CFG_CG_NUMBER:
		return t == CG_TYPE_NUMBER;
	case CFG_CG_SHAPE:
		return t == CG_TYPE_SHAPE;
	case CFG_CG_ID:
		return t == CG_TYPE_STRING || t == CG_TYPE_NUMBER || t == CG_TYPE_INTEGER;
	}
	return 0;
}

/* One finding line: "FILE:LINE: element: what\n". */
static enum err_status finding(struct buf *out, size_t *n, const struct cfg *c, unsigned line,
                               const char *element, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum err_status finding(struct buf *out, size_t *n, const struct cfg *c, unsigned line,
                               const char *element, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	(*n)++;
	return buf_addf(out, "%s:%u: %s: %s\n", c->path, line, element, what);
}

static enum err_status missing(struct buf *out, size_t *n, const struct cfg *c,
                               const struct cg_meta *m, const struct cfg_cg_field *f,
                               const char *cls)
{
	const char *near[CG_META_SUGGEST_MAX];
	size_t k = cg_meta_suggest(m, cls, f->name, near);
	char hint[600] = "";
	size_t at = 0;

	for (size_t i = 0; i < k; i++)
		at += (size_t)snprintf(hint + at, sizeof(hint) - at, "%s'%s'",
		                       i == 0       ? " (did you mean "
		                       : i + 1 == k ? " or "
		                                    : ", ",
		                       near[i]);
	if (k && at < sizeof(hint))
		snprintf(hint + at, sizeof(hint) - at, "?)");
	return finding(out, n, c, f->line, f->element, "field '%s'%s does not exist on class %s%s",
	               f->name, f->is_default ? " (the default name)" : "", cls, hint);
}

/* The attachment class is not among the request class's Children: say
 * which are (the first few), so the right name is at hand. */
static enum err_status not_a_child(struct buf *out, size_t *n, const struct cfg *c,
                                   const struct cg_meta *m)
{
	const struct cfg_cartegraph *g = &c->cg;
	size_t k = cg_meta_n_children(m, g->request_class), at = 0;
	char list[600] = "none";

	for (size_t i = 0; i < k && i < 5 && at < sizeof(list); i++)
		at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s", i ? ", " : "",
		                       cg_meta_child(m, g->request_class, i));
	if (k > 5 && at < sizeof(list))
		snprintf(list + at, sizeof(list) - at, ", ... (%zu in all)", k);
	return finding(out, n, c, g->line, "attachmentClass",
	               "class %s is not a child class of %s (its children: %s)",
	               g->attachment_class, g->request_class, list);
}

enum err_status cg_check_fields(const struct cfg *c, const struct cg_meta *m, struct buf *out,
                                size_t *n)
{
	const struct cfg_cartegraph *g = &c->cg;
	struct cfg_cg_field *fields = NULL;
	size_t nf = 0;
	int have_req, have_att, have_cmt;
	enum err_status st;

	*n = 0;
	if (cfg_cg_fields(c, &fields, &nf) != ERR_OK)
		return ERR_TEMP;
	have_req = cg_meta_has_class(m, g->request_class);
	have_att = have_req && cg_meta_has_child(m, g->request_class, g->attachment_class) &&
	           cg_meta_has_class(m, g->attachment_class);
	have_cmt = g->comment_route == CFG_COMMENTS_CHILD && have_req &&
	           cg_meta_has_child(m, g->request_class, g->comment_class) &&
	           cg_meta_has_class(m, g->comment_class);
	st = ERR_OK;
	if (!have_req)
		st = finding(out, n, c, g->line, "requestClass",
		             "class %s does not exist in Cartegraph", g->request_class);
	else if (!cg_meta_has_child(m, g->request_class, g->attachment_class))
		st = not_a_child(out, n, c, m);
	else if (!have_att)
		st = finding(out, n, c, g->line, "attachmentClass",
		             "class %s is a child of %s but its metadata was not read",
		             g->attachment_class, g->request_class);
	if (st == ERR_OK && have_req && g->comment_route == CFG_COMMENTS_CHILD && !have_cmt)
		st = finding(out, n, c, g->comment_line ? g->comment_line : g->line, "comments",
		             "class %s is not a child class of %s with metadata (route child)",
		             g->comment_class, g->request_class);
	for (size_t i = 0; i < nf && st == ERR_OK; i++) {
		const struct cfg_cg_field *f = &fields[i];
		const char *cls = f->cls == CFG_CG_ATTACHMENT ? g->attachment_class
		                  : f->cls == CFG_CG_COMMENT  ? g->comment_class
		                                              : g->request_class;
		const struct cg_prop *p;

		if (!(f->cls == CFG_CG_ATTACHMENT ? have_att
		      : f->cls == CFG_CG_COMMENT  ? have_cmt
		                                  : have_req))
			continue; /* the class itself is reported above */
		if (!(p = cg_meta_prop(m, cls, f->name)))
			st = missing(out, n, c, m, f, cls);
		else if (f->written && p->read_only)
			st = finding(
			    out, n, c, f->line, f->element,
			    "field '%s' on class %s is read-only, and the gateway writes it",
			    f->name, cls);
		else if (f->written && !type_fits(f->kind, p->type))
			st = finding(out, n, c, f->line, f->element,
			             "field '%s' on class %s has type %s; the gateway sends %s",
			             f->name, cls, p->type_name, cg_check_kind_name(f->kind));
	}
	free(fields);
	return st;
}

/* GET the meta of one class into m; a 404 leaves it out. */
static enum err_status fetch_class(struct http_client *h, const char *cls, struct cg_meta *m,
                                   long *status, struct err *e)
{
	struct buf path = BUF_INIT_CAP(4096);
	struct http_response r;
	enum err_status st;

	http_response_init(&r);
	if (buf_adds(&path, "/api/v1/meta/Classes/") != ERR_OK ||
	    http_escape_add(&path, cls) != ERR_OK) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	st = http_request(h, "GET", buf_str(&path), NULL, NULL, &r, e);
	if (st != ERR_OK)
		*status = r.status;
	if (st == ERR_PERM && r.status == 404) {
		*status = 0;
		st = ERR_OK;
		goto out;
	}
	if (st == ERR_OK) {
		st = cg_meta_add(m, buf_str(&r.body), r.body.len, e);
		if (st != ERR_OK)
			err_prefix(e, "GET %s: ", buf_str(&path));
	}
out:
	http_response_release(&r);
	buf_release(&path);
	return st;
}

enum err_status cg_check_fetch(struct http_client *h, const struct cfg *c, struct cg_meta **out,
                               long *status, struct err *e)
{
	const struct cfg_cartegraph *g = &c->cg;
	struct cg_meta *m = NULL;
	enum err_status st;
	long dummy;

	*out = NULL;
	if (!status)
		status = &dummy;
	*status = 0;
	st = cg_meta_new(&m, e);
	if (st == ERR_OK)
		st = fetch_class(h, g->request_class, m, status, e);
	if (st != ERR_OK)
		goto out;
	if (cg_meta_has_child(m, g->request_class, g->attachment_class)) {
		st = fetch_class(h, g->attachment_class, m, status, e);
		if (st != ERR_OK)
			goto out;
	}
	if (g->comment_route == CFG_COMMENTS_CHILD &&
	    cg_meta_has_child(m, g->request_class, g->comment_class)) {
		st = fetch_class(h, g->comment_class, m, status, e);
		if (st != ERR_OK)
			goto out;
	}
	*out = m;
	m = NULL;
out:
	cg_meta_free(m);
	return st;
}

/* "Field 'X' does not exist on class Y." (a write), or "Invalid field
 * 'X' for class Y." (a query's fields= list). */
static int from_message(const char *msg, char *name, size_t size)
{
	const char *p = msg ? strstr(msg, "Field '") : NULL, *q;
	int invalid = 0;

	if (!p && msg && (p = strstr(msg, "Invalid field '")))
		invalid = 1, p += 8;
	if (!p)
		return 0;
	p += 7;
	q = strchr(p, '\'');
	if (!q || q == p || (size_t)(q - p) >= size ||
	    !(invalid ? strstr(q, " for class ") : strstr(q, "does not exist")))
		return 0;
	memcpy(name, p, (size_t)(q - p));
	name[q - p] = '\0';
	return 1;
}

int cg_check_unknown_field(const char *body, size_t len, char *name, size_t size)
{
	cJSON *root = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "Message");
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "Errors"), *it;
	const cJSON *list = cJSON_IsArray(errs) ? errs : NULL;
	int found = 0;

	if (!size)
		goto out;
	if (cJSON_IsString(msg) && from_message(msg->valuestring, name, size)) {
		found = 1;
		goto out;
	}
	cJSON_ArrayForEach(it, list)
	{
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(it, "FieldName");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "Message");

		if (cJSON_IsString(m) && from_message(m->valuestring, name, size)) {
			found = 1;
			break;
		}
		if (cJSON_IsString(fn) && fn->valuestring[0] && strlen(fn->valuestring) < size &&
		    (!cJSON_IsString(m) || strstr(m->valuestring, "does not exist"))) {
			snprintf(name, size, "%s", fn->valuestring);
			found = 1;
			break;
		}
	}
out:
	cJSON_Delete(root);
	return found;
}
