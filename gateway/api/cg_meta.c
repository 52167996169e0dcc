/*
 * cg_meta.c: Cartegraph class metadata (see cg_meta.h).
 *
 * A response is parsed into a fresh class list first and swapped in only
 * when all of it is good, so a hostile or broken response leaves the set
 * as it was.
 */
#include "cg_meta.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

struct meta_prop {
	struct cg_prop p;
	char *name, *type_name, *lookup_class;
};

struct meta_class {
	char *name;
	size_t n_children;
	char **children;
	size_t n_props;
	struct meta_prop *props;
};

struct cg_meta {
	size_t n;
	struct meta_class *classes;
};

static const char *const type_names[] = {"unknown", "String", "Boolean", "Number",
                                         "Integer", "Date",   "Shape",   "Lookup"};

const char *cg_type_name(enum cg_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "unknown";
}

static enum cg_type type_of(const char *s)
{
	for (size_t i = 1; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(s, type_names[i]) == 0)
			return (enum cg_type)i;
	return CG_TYPE_UNKNOWN;
}

static void class_release(struct meta_class *k)
{
	free(k->name);
	for (size_t i = 0; i < k->n_children; i++)
		free(k->children[i]);
	free(k->children);
	for (size_t i = 0; i < k->n_props; i++) {
		free(k->props[i].name);
		free(k->props[i].type_name);
		free(k->props[i].lookup_class);
	}
	free(k->props);
	memset(k, 0, sizeof(*k));
}

enum err_status cg_meta_new(struct cg_meta **out, struct err *e)
{
	*out = calloc(1, sizeof(**out));
	return *out ? ERR_OK : err_set(e, ERR_TEMP, "out of memory");
}

void cg_meta_free(struct cg_meta *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		class_release(&m->classes[i]);
	free(m->classes);
	free(m);
}

/* A name we can quote in a message and compare: 1..CG_META_NAME_MAX bytes,
 * no control characters. */
static int name_ok(const cJSON *v)
{
	size_t len;

	if (!cJSON_IsString(v) || !v->valuestring)
		return 0;
	len = strlen(v->valuestring);
	if (len == 0 || len > CG_META_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v->valuestring[i] < 0x20 || v->valuestring[i] == 0x7f)
			return 0;
	return 1;
}

static enum err_status parse_props(const cJSON *arr, struct meta_class *k, struct err *e)
{
	const cJSON *p;
	size_t n = (size_t)cJSON_GetArraySize(arr);

	if (n > CG_META_MAX_PROPS)
		return err_set(e, ERR_PERM, "class meta: class %s has more than %d properties",
		               k->name, CG_META_MAX_PROPS);
	if (n && !(k->props = calloc(n, sizeof(*k->props))))
		return err_set(e, ERR_TEMP, "out of memory");
	cJSON_ArrayForEach(p, arr)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "Name");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "DataType");
		const cJSON *ro = cJSON_GetObjectItemCaseSensitive(p, "IsReadOnly");
		const cJSON *lk = cJSON_GetObjectItemCaseSensitive(p, "LookupClass");
		struct meta_prop *mp = &k->props[k->n_props];

		if (!cJSON_IsObject(p) || !name_ok(name) || !name_ok(type))
			return err_set(e, ERR_PERM,
			               "class meta: class %s, property %zu: needs a Name and a "
			               "DataType (non-empty strings of at most %d bytes)",
			               k->name, k->n_props + 1, CG_META_NAME_MAX);
		if (ro && !cJSON_IsBool(ro) && !cJSON_IsNull(ro))
			return err_set(e, ERR_PERM,
			               "class meta: class %s, property %s: IsReadOnly is not a "
			               "boolean",
			               k->name, name->valuestring);
		if (lk && !cJSON_IsNull(lk) && !name_ok(lk))
			return err_set(e, ERR_PERM,
			               "class meta: class %s, property %s: LookupClass is not a "
			               "class name",
			               k->name, name->valuestring);
		if (!(mp->name = strdup(name->valuestring)) ||
		    !(mp->type_name = strdup(type->valuestring)) ||
		    (lk && !cJSON_IsNull(lk) && !(mp->lookup_class = strdup(lk->valuestring)))) {
			k->n_props++; /* so class_release frees the partial one */
			return err_set(e, ERR_TEMP, "out of memory");
		}
		mp->p.name = mp->name;
		mp->p.type_name = mp->type_name;
		mp->p.type = type_of(mp->type_name);
		mp->p.read_only = cJSON_IsTrue(ro);
		mp->p.lookup_class = mp->lookup_class;
		k->n_props++;
	}
	return ERR_OK;
}

static enum err_status parse_class(const cJSON *c, struct meta_class *k, size_t ci, struct err *e)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "Name");
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(c, "Children");
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(c, "Properties");
	const cJSON *it, *list = cJSON_IsArray(ch) ? ch : NULL;
	size_t n;

	if (!cJSON_IsObject(c) || !name_ok(name))
		return err_set(e, ERR_PERM,
		               "class meta: class %zu: needs a Name (a non-empty string of at most "
		               "%d bytes)",
		               ci + 1, CG_META_NAME_MAX);
	if (!(k->name = strdup(name->valuestring)))
		return err_set(e, ERR_TEMP, "out of memory");
	if (ch && !cJSON_IsNull(ch) && !cJSON_IsArray(ch))
		return err_set(e, ERR_PERM, "class meta: class %s: Children is not an array",
		               k->name);
	if (props && !cJSON_IsNull(props) && !cJSON_IsArray(props))
		return err_set(e, ERR_PERM, "class meta: class %s: Properties is not an array",
		               k->name);
	n = cJSON_IsArray(ch) ? (size_t)cJSON_GetArraySize(ch) : 0;
	if (n > CG_META_MAX_CHILDREN)
		return err_set(e, ERR_PERM, "class meta: class %s has more than %d children",
		               k->name, CG_META_MAX_CHILDREN);
	if (n && !(k->children = calloc(n, sizeof(*k->children))))
		return err_set(e, ERR_TEMP, "out of memory");
	cJSON_ArrayForEach(it, list)
	{
		if (!name_ok(it))
			return err_set(e, ERR_PERM,
			               "class meta: class %s: child %zu is not a class name",
			               k->name, k->n_children + 1);
		if (!(k->children[k->n_children] = strdup(it->valuestring)))
			return err_set(e, ERR_TEMP, "out of memory");
		k->n_children++;
	}
	return cJSON_IsArray(props) ? parse_props(props, k, e) : ERR_OK;
}

static struct meta_class *find_class(const struct cg_meta *m, const char *cls)
{
	for (size_t i = 0; m && cls && i < m->n; i++)
		if (strcmp(m->classes[i].name, cls) == 0)
			return &m->classes[i];
	return NULL;
}

/* Take the parsed classes into the set: replace same-named ones, append
 * the others.  Cannot fail: the array was sized for the worst case. */
static void merge(struct cg_meta *m, struct meta_class *fresh, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct meta_class *old = find_class(m, fresh[i].name);

		if (old) {
			class_release(old);
			*old = fresh[i];
		} else {
			m->classes[m->n++] = fresh[i];
		}
	}
}

enum err_status cg_meta_add(struct cg_meta *m, const char *json, size_t len, struct err *e)
{
	struct meta_class *fresh = NULL, *grown;
	cJSON *root = NULL;
	const cJSON *arr, *c;
	size_t n = 0, cnt;
	enum err_status st = ERR_OK;

	if (len > CG_META_MAX_BYTES)
		return err_set(e, ERR_PERM, "class meta: larger than %zu bytes", CG_META_MAX_BYTES);
	if (!(root = cJSON_ParseWithLength(json ? json : "", json ? len : 0)))
		return err_set(e, ERR_PERM, "class meta: not JSON");
	arr = cJSON_GetObjectItemCaseSensitive(root, "Classes");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(arr)) {
		st = err_set(e, ERR_PERM, "class meta: no \"Classes\" array");
		goto out;
	}
	cnt = (size_t)cJSON_GetArraySize(arr);
	if (cnt > CG_META_MAX_CLASSES || m->n + cnt > CG_META_MAX_CLASSES) {
		st = err_set(e, ERR_PERM, "class meta: more than %d classes", CG_META_MAX_CLASSES);
		goto out;
	}
	if (cnt == 0)
		goto out;
	if (!(fresh = calloc(cnt, sizeof(*fresh)))) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(c, arr)
	{
		st = parse_class(c, &fresh[n], n, e);
		n++;
		if (st != ERR_OK)
			goto out;
		for (size_t j = 0; j + 1 < n; j++)
			if (strcmp(fresh[j].name, fresh[n - 1].name) == 0) {
				st = err_set(e, ERR_PERM, "class meta: class %s appears twice",
				             fresh[n - 1].name);
				goto out;
			}
	}
	if (!(grown = realloc(m->classes, (m->n + n) * sizeof(*grown)))) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	m->classes = grown;
	merge(m, fresh, n);
	n = 0; /* now owned by the set */
out:
	for (size_t i = 0; i < n; i++)
		class_release(&fresh[i]);
	free(fresh);
	cJSON_Delete(root);
	return st;
}

enum err_status cg_meta_json(const struct cg_meta *m, struct buf *out)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "Classes");
	enum err_status st = ERR_TEMP;
	char *text = NULL;

	for (size_t i = 0; arr && i < m->n; i++) {
		const struct meta_class *k = &m->classes[i];
		cJSON *c = cJSON_CreateObject(), *ch, *props;

		if (!c || !cJSON_AddItemToArray(arr, c) ||
		    !cJSON_AddStringToObject(c, "Name", k->name) ||
		    !(ch = cJSON_AddArrayToObject(c, "Children")) ||
		    !(props = cJSON_AddArrayToObject(c, "Properties")))
			goto out;
		for (size_t j = 0; j < k->n_children; j++)
			if (!cJSON_AddItemToArray(ch, cJSON_CreateString(k->children[j])))
				goto out;
		for (size_t j = 0; j < k->n_props; j++) {
			const struct cg_prop *p = &k->props[j].p;
			cJSON *o = cJSON_CreateObject();

			if (!o || !cJSON_AddItemToArray(props, o) ||
			    !cJSON_AddStringToObject(o, "Name", p->name) ||
			    !cJSON_AddStringToObject(o, "DataType", p->type_name) ||
			    !cJSON_AddBoolToObject(o, "IsReadOnly", p->read_only) ||
			    (p->lookup_class &&
			     !cJSON_AddStringToObject(o, "LookupClass", p->lookup_class)))
				goto out;
		}
	}
	if (arr && (text = cJSON_PrintUnformatted(root)))
		st = buf_adds(out, text);
out:
	cJSON_free(text);
	cJSON_Delete(root);
	return st;
}

int cg_meta_has_class(const struct cg_meta *m, const char *cls)
{
	return find_class(m, cls) != NULL;
}

const struct cg_prop *cg_meta_prop(const struct cg_meta *m, const char *cls, const char *name)
{
	const struct meta_class *k = find_class(m, cls);

	for (size_t i = 0; k && name && i < k->n_props; i++)
		if (strcmp(k->props[i].name, name) == 0)
			return &k->props[i].p;
	return NULL;
}

size_t cg_meta_n_children(const struct cg_meta *m, const char *cls)
{
	const struct meta_class *k = find_class(m, cls);

	return k ? k->n_children : 0;
}

const char *cg_meta_child(const struct cg_meta *m, const char *cls, size_t i)
{
	const struct meta_class *k = find_class(m, cls);

	return k && i < k->n_children ? k->children[i] : NULL;
}

int cg_meta_has_child(const struct cg_meta *m, const char *cls, const char *child)
{
	const struct meta_class *k = find_class(m, cls);

	for (size_t i = 0; k && child && i < k->n_children; i++)
		if (strcmp(k->children[i], child) == 0)
			return 1;
	return 0;
}

/* ---- suggestions ----------------------------------------------------- */

/* Optimal string alignment distance, case-insensitive, given up (returns
 * limit + 1) as soon as it must exceed limit.  Names are at most
 * CG_META_NAME_MAX bytes, so three rows on the stack are enough. */
static size_t distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t rows[3][CG_META_NAME_MAX + 1], *pp = rows[0], *prev = rows[1], *cur = rows[2];

	if (la > CG_META_NAME_MAX || lb > CG_META_NAME_MAX)
		return limit + 1;
	if ((la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t best;
		cur[0] = i;
		best = cur[0];
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]),
			    cb = tolower((unsigned char)b[j - 1]);
			size_t d = prev[j - 1] + (ca != cb);

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			cur[j] = d;
			if (d < best)
				best = d;
		}
		if (best > limit)
			return limit + 1;
		{
			size_t *t = pp;
			pp = prev;
			prev = cur;
			cur = t;
		}
	}
	return prev[lb];
}

/* "Department" for "DepartmentField": the suffix is easy to forget. */
static int missing_suffix(const char *wrong, const char *name)
{
	size_t lw = strlen(wrong);

	return strlen(name) == lw + 5 && strncasecmp(name, wrong, lw) == 0 &&
	       strcasecmp(name + lw, "Field") == 0;
}

size_t cg_meta_suggest(const struct cg_meta *m, const char *cls, const char *wrong,
                       const char *out[CG_META_SUGGEST_MAX])
{
	const struct meta_class *k = find_class(m, cls);
	size_t dist[CG_META_SUGGEST_MAX], n = 0, limit;

	if (!k || !wrong)
		return 0;
	limit = strlen(wrong) / 4;
	if (limit < 1)
		limit = 1;
	if (limit > 4)
		limit = 4;
	for (size_t i = 0; i < k->n_props; i++) {
		const char *name = k->props[i].name;
		size_t d = missing_suffix(wrong, name) ? 1 : distance(wrong, name, limit), at;

		if (d > limit || strcmp(name, wrong) == 0)
			continue;
		/* insertion into the sorted short list (by distance, then name) */
		for (at = n; at > 0; at--)
			if (dist[at - 1] < d ||
			    (dist[at - 1] == d && strcmp(out[at - 1], name) <= 0))
				break;
		if (at >= CG_META_SUGGEST_MAX)
			continue;
		if (n < CG_META_SUGGEST_MAX)
			n++;
		for (size_t j = n - 1; j > at; j--) {
			dist[j] = dist[j - 1];
			out[j] = out[j - 1];
		}
		dist[at] = d;
		out[at] = name;
	}
	return n;
}
