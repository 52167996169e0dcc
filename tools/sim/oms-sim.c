/*
 * oms-sim: a Cartegraph OMS REST API stand-in on loopback.
 *
 * It follows the Cartegraph reference notes: session authentication
 * (POST /api/v1/authenticate, cookie) and HTTP Basic on every call, the
 * {"<className>": [...]} envelope, Oid and IDField assigned on create,
 * fields=, filter= (the bracket grammar, oms-filter.h), sort=F:asc|dsc,
 * limit/offset with _metadata.totalCount, PUT by Oid, linked attachment
 * child records, class meta, {"Message": ...} errors and 503 maintenance.
 * Choices where the notes are unverified are listed in docs/simulators.md.
 *
 * Records are kept as the JSON the API returns (plus a hidden "_parent"
 * on child records), so the state dump is the data itself.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "num.h"
#include "oms-filter.h"
#include "simlib.h"

/* Every IssueField value the repository's tests, demos and benchmarks send,
 * and the ones of the seeded requests. */
#define DEFAULT_ISSUES                                                                             \
	"Pothole,Graffiti,Street Light,Streetlight Out,Garbage Cart,Light,Cart,Sinkhole,"          \
	"Sign Down,Tree Limb,Sewer Backup,Sidewalk Ice,Retired Type:inactive"

enum {
	O_USER = 2000,
	O_PASS,
	O_CRED,
	O_CLASS,
	O_REQS,
	O_EXTRA,
	O_CSTATUS,
	O_TZ,
	O_IDPFX,
	O_SESS,
	O_CMT,
	O_ISSUES,
	O_NOINDEX
};

static const struct option oms_opts[] = {
    {"user", required_argument, 0, O_USER},
    {"password", required_argument, 0, O_PASS},
    {"credentials", required_argument, 0, O_CRED},
    {"class", required_argument, 0, O_CLASS},
    {"requests", required_argument, 0, O_REQS},
    {"extra-fields", required_argument, 0, O_EXTRA},
    {"create-status", required_argument, 0, O_CSTATUS},
    {"utc-offset", required_argument, 0, O_TZ},
    {"id-prefix", required_argument, 0, O_IDPFX},
    {"session-seconds", required_argument, 0, O_SESS},
    {"comment-class", required_argument, 0, O_CMT},
    {"issues", required_argument, 0, O_ISSUES},
    {"no-index", no_argument, 0, O_NOINDEX},
    {0, 0, 0, 0},
};

static const char oms_usage[] =
    "A Cartegraph OMS REST API simulator on 127.0.0.1.\n\n"
    "oms-sim options:\n"
    "  --user NAME            API user name (default scfgate)\n"
    "  --password PASS        its password (default scfgate-pass)\n"
    "  --credentials FILE     read \"user:password\" from FILE instead\n"
    "  --class NAME           request class (default cgRequestsClass)\n"
    "  --requests N           pre-existing requests entered by city staff (default 5)\n"
    "  --extra-fields LIST    comma-separated custom fields the class also has, each\n"
    "                         Name or Name:Type (String, Boolean, Number, Integer,\n"
    "                         Date; default String), e.g. SCFIssueIDField\n"
    "  --issues LIST          the Request Issues library (cgRequestIssuesClass) that\n"
    "                         IssueField looks up: comma-separated names, Name:inactive\n"
    "                         for an inactive entry (default: " DEFAULT_ISSUES ")\n"
    "  --create-status N      status of a successful POST (default 200; 201 also seen)\n"
    "  --utc-offset +HH:MM    zone of the server's local dates (default -05:00)\n"
    "  --id-prefix TEXT       IDField prefix (default SR-)\n"
    "  --session-seconds S    session cookie lifetime (default 3600)\n"
    "  --comment-class NAME:FIELD\n"
    "                         also a child class NAME of the request class with the\n"
    "                         String field FIELD (one record per comment)\n"
    "  --no-index             answer every query by evaluating the filter on every\n"
    "                         record (the reference the indexes are tested against)\n";

#define MAX_FIELDS  64
#define COOKIE_NAME ".ASPXAUTH"
#define ISSUE_CLASS "cgRequestIssuesClass"

struct field {
	char name[64];
	const char *type;   /* String, Boolean, Number, Date, Integer, Shape, Lookup */
	const char *lookup; /* the library class of a Lookup, else NULL */
	int ro;
	int refused; /* in the meta, but a write naming it is refused (field security) */
};

struct klass {
	char name[96];
	struct field f[MAX_FIELDS];
	int nf;
	cJSON *records;
};

static struct {
	char user[128];
	char pass[128];
	char cls_name[96];
	char extra[1024];
	char issues[2048];
	char id_prefix[32];
	int n_requests;
	int create_status;
	int tz;
	int session_seconds;
	struct klass req;
	struct klass att;
	struct klass cmt; /* --comment-class; cmt.name "" when absent */
	char cmt_field[64];
	struct klass lib; /* the Request Issues library IssueField looks up */
	long next_oid;
	long next_id;
	int no_index;
	cJSON *sessions; /* [{cookie, user, expires}] */
	unsigned long cookie_seq;
	/* GET /_admin/sessions: what the session layer did, so a test can
	 * tell a renewed session from a fresh process logging in. */
	struct {
		unsigned long logins;          /* POST /api/v1/authenticate, 200 */
		unsigned long logins_refused;  /* POST /api/v1/authenticate, 401 */
		unsigned long expired_refused; /* 401: the cookie of an expired session */
		unsigned long unknown_refused; /* 401: no cookie, or one never issued */
	} sc;
} S = {
    .user = "scfgate",
    .pass = "scfgate-pass",
    .cls_name = "cgRequestsClass",
    .id_prefix = "SR-",
    .issues = DEFAULT_ISSUES,
    .n_requests = 5,
    .create_status = 200,
    .tz = -300,
    .session_seconds = 3600,
};

/* A crew's note armed by POST /_admin/requests/:oid/note-race: written
 * right before the next API write is applied (see note_race_fire). */
static struct {
	int armed;
	long oid;
	char field[64];
	char by[64];
	char *text;
	int fired;
} race;

/* ---- options ---- */

/* The type of one --extra-fields entry, "Name" or "Name:Type" (Name is
 * cut at the colon); NULL for an unknown type or an empty name. */
static const char *extra_type(char *tok)
{
	static const char *const types[] = {"String", "Boolean", "Number", "Integer", "Date"};
	char *colon = strchr(tok, ':');

	if (!colon)
		return tok[0] ? "String" : NULL;
	*colon++ = '\0';
	for (size_t i = 0; tok[0] && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(colon, types[i]) == 0)
			return types[i];
	return NULL;
}

static int extra_fields_ok(const char *list)
{
	char buf[1024], *tok, *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!extra_type(tok))
			return 0;
	return 1;
}

static int read_credentials(const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[300];
	char *colon;

	if (!fp)
		return -1;
	if (!fgets(line, sizeof(line), fp)) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	colon = strchr(line, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	snprintf(S.user, sizeof(S.user), "%.120s", line);
	snprintf(S.pass, sizeof(S.pass), "%.120s", colon + 1);
	return 0;
}

/* ---- the comment child class (--comment-class NAME:FIELD) ---- */

static int comment_class_option(const char *arg)
{
	const char *colon = strchr(arg, ':');

	if (!colon || colon == arg || !colon[1] || strchr(colon + 1, ':') ||
	    (size_t)(colon - arg) >= sizeof(S.cmt.name) || strlen(colon + 1) >= sizeof(S.cmt_field))
		return -1;
	snprintf(S.cmt.name, sizeof(S.cmt.name), "%.*s", (int)(colon - arg), arg);
	snprintf(S.cmt_field, sizeof(S.cmt_field), "%s", colon + 1);
	return 0;
}

static void add_field(struct klass *k, const char *name, const char *type, int ro);
static void system_fields(struct klass *k);

static void comment_class_init(void)
{
	if (!S.cmt.name[0])
		return;
	add_field(&S.cmt, "Oid", "Integer", 1);
	add_field(&S.cmt, S.cmt_field, "String", 0);
	system_fields(&S.cmt);
}

static int oms_option(int opt, const char *arg)
{
	char *end;
	long v;
	int numeric;

	if (opt == O_NOINDEX) { /* the one option without an argument */
		S.no_index = 1;
		return 0;
	}
	v = strtol(arg, &end, 10);
	numeric = end != arg && *end == '\0' && v >= 0;

	switch (opt) {
	case O_USER:
		snprintf(S.user, sizeof(S.user), "%s", arg);
		return 0;
	case O_PASS:
		snprintf(S.pass, sizeof(S.pass), "%s", arg);
		return 0;
	case O_CRED:
		return read_credentials(arg);
	case O_CLASS:
		snprintf(S.cls_name, sizeof(S.cls_name), "%s", arg);
		return strlen(arg) > 5 && strcmp(arg + strlen(arg) - 5, "Class") == 0 ? 0 : -1;
	case O_REQS:
		S.n_requests = (int)v;
		return numeric ? 0 : -1;
	case O_EXTRA:
		snprintf(S.extra, sizeof(S.extra), "%s", arg);
		return extra_fields_ok(arg) ? 0 : -1;
	case O_CSTATUS:
		S.create_status = (int)v;
		return v == 200 || v == 201 ? 0 : -1;
	case O_TZ:
		return sim_offset_parse(arg, &S.tz);
	case O_IDPFX:
		snprintf(S.id_prefix, sizeof(S.id_prefix), "%s", arg);
		return 0;
	case O_SESS:
		S.session_seconds = (int)v;
		return numeric && v > 0 ? 0 : -1;
	case O_CMT:
		return comment_class_option(arg);
	case O_ISSUES:
		snprintf(S.issues, sizeof(S.issues), "%s", arg);
		return strlen(arg) < sizeof(S.issues) ? 0 : -1;
	}
	return -1;
}

/* ---- classes ---- */

static const struct field *field_of(const struct klass *k, const char *name)
{
	for (int i = 0; i < k->nf; i++)
		if (strcmp(k->f[i].name, name) == 0)
			return &k->f[i];
	return NULL;
}

static void add_field(struct klass *k, const char *name, const char *type, int ro)
{
	if (k->nf >= MAX_FIELDS)
		return;
	snprintf(k->f[k->nf].name, sizeof(k->f[0].name), "%s", name);
	k->f[k->nf].type = type;
	k->f[k->nf].lookup = NULL;
	k->f[k->nf].ro = ro;
	k->nf++;
}

static void system_fields(struct klass *k)
{
	add_field(k, "EntryDateField", "Date", 1);
	add_field(k, "EnteredByField", "String", 1);
	add_field(k, "cgLastModifiedField", "Date", 1);
	add_field(k, "LastModifiedByField", "String", 1);
}

/* IssueField's lookup library: one record per value (its own Oids, so
 * the requests' Oids do not depend on it), rebuilt at every start. */

static void classes_init(void)
{
	static const char *const req_fields[][2] = {
	    {"IDField", "String"},
	    {"StatusField", "String"},
	    {"IssueField", "Lookup"},
	    {"DescriptionField", "String"},
	    {"LocationDescriptionField", "String"},
	    {"RequesterField", "String"},
	    {"CommentsField", "String"},
	    {"NotesField", "String"},
	    {"ResponseNotesField", "String"},
	    {"TasksField", "Number"},
	    {"CloseDateField", "Date"},
	    {"DueDateField", "Date"},
	    {"AgencyResponsibleField", "String"},
	    {"ZipCodeField", "String"},
	    {"AddressIDField", "String"},
	    {"CgShape", "Shape"},
	};
	char extra[1024], *tok, *save = NULL;
	size_t n = strlen(S.cls_name) - 5;

	snprintf(S.req.name, sizeof(S.req.name), "%s", S.cls_name);
	add_field(&S.req, "Oid", "Integer", 1);
	for (size_t i = 0; i < sizeof(req_fields) / sizeof(req_fields[0]); i++)
		add_field(&S.req, req_fields[i][0], req_fields[i][1], 0);
	for (int i = 0; i < S.req.nf; i++)
		if (strcmp(S.req.f[i].type, "Lookup") == 0)
			S.req.f[i].lookup = ISSUE_CLASS;
	snprintf(extra, sizeof(extra), "%s", S.extra);
	for (tok = strtok_r(extra, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *type = extra_type(tok);

		if (type && !field_of(&S.req, tok))
			add_field(&S.req, tok, type, 0);
	}
	system_fields(&S.req);

	/* Child naming follows cgBridges_cgAttachmentsClass. */
	snprintf(S.att.name, sizeof(S.att.name), "%.*s_cgAttachmentsClass", (int)n, S.cls_name);
	add_field(&S.att, "Oid", "Integer", 1);
	add_field(&S.att, "AttachmentField", "String", 0);
	add_field(&S.att, "LinkedField", "Boolean", 0);
	add_field(&S.att, "DescriptionField", "String", 0);
	add_field(&S.att, "FileNameField", "String", 0);
	system_fields(&S.att);
	comment_class_init();

	snprintf(S.lib.name, sizeof(S.lib.name), "%s", ISSUE_CLASS);
	add_field(&S.lib, "Oid", "Integer", 1);
	add_field(&S.lib, "IssueField", "String", 0);
	add_field(&S.lib, "InactiveField", "Boolean", 0);
}

static struct klass *class_by_name(const char *name)
{
	if (strcmp(name, S.req.name) == 0)
		return &S.req;
	if (strcmp(name, S.att.name) == 0)
		return &S.att;
	if (S.cmt.name[0] && strcmp(name, S.cmt.name) == 0)
		return &S.cmt;
	if (strcmp(name, S.lib.name) == 0)
		return &S.lib;
	return NULL;
}

/* Filter names drop the "Field" suffix ([Status] -> StatusField). */
static const char *resolve(void *ctx, const char *name)
{
	const struct klass *k = ctx;
	size_t n = strlen(name);

	for (int i = 0; i < k->nf; i++) {
		const char *f = k->f[i].name;

		if (strcasecmp(f, name) == 0)
			return f;
		if (strlen(f) == n + 5 && strncasecmp(f, name, n) == 0 &&
		    strcmp(f + n, "Field") == 0)
			return f;
	}
	if (strcasecmp(name, "ID") == 0)
		return "IDField";
	return NULL;
}

/* ---- helpers ---- */

static void now_str(char out[32])
{
	sim_time_format(sim_now(), S.tz, out);
	/* Local server time without a zone, as Json.NET writes DateTime. */
	out[19] = '\0';
}

static void message(struct sim_resp *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void message(struct sim_resp *resp, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *j = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(j, "Message", msg);
	sim_resp_json(resp, status, j);
}

/* A refused body: the Message says what is wrong, Errors[] names the field. */
static void field_error(struct sim_resp *resp, const char *field, const char *why)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *errs;
	cJSON *e = cJSON_CreateObject();
	char guid[40];
	uint64_t h = sim_mix((uint64_t)strlen(field) * 131 + (uint64_t)field[0]);

	cJSON_AddStringToObject(j, "Message", why);
	errs = cJSON_AddArrayToObject(j, "Errors");
	snprintf(guid, sizeof(guid), "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)(h >> 32),
	         (unsigned)(h & 0xffff), (unsigned)((h >> 16) & 0xfff),
	         (unsigned)((h >> 4) & 0xfff),
	         (unsigned long long)(sim_mix(h) & 0xffffffffffffULL));
	cJSON_AddStringToObject(e, "GUID", guid);
	cJSON_AddStringToObject(e, "FieldName", field);
	cJSON_AddStringToObject(e, "Message", why);
	cJSON_AddItemToArray(errs, e);
	sim_resp_json(resp, 400, j);
}

/* ---- field indexes ----
 * A poll asks for hundreds of Oids at a time; a lookup by the SCF id
 * names one value.  Evaluating the filter on every record made a poll of
 * 100,000 tracked requests cost the simulator a minute, so a query whose
 * filter pins one field to a list of values (omsf_plan) reads the
 * records with those values from an index and evaluates the whole filter
 * on them only: the rows are the same as a scan's.  An index is built on
 * first use.  Oid and the hidden _parent never change once a record
 * exists, so their indexes grow with each new record and are rebuilt only
 * after a delete or a load; any other field's is rebuilt after any write
 * (every non-GET request bumps rec_gen). */

static uint64_t rec_gen;     /* bumped by every non-GET request */
static uint64_t set_gen = 1; /* bumped when records are deleted or replaced */

struct ixent {
	char *key; /* NULL: free slot */
	cJSON **recs;
	size_t n, cap;
};

struct fidx {
	const struct klass *k; /* NULL: free */
	char field[64];
	int numeric;
	int fixed; /* Oid or _parent: valid while gen == set_gen */
	uint64_t gen;
	struct ixent *tab;
	size_t cap, used;
	cJSON **any; /* values equal to every literal (omsf_key -1) */
	size_t n_any, cap_any;
};

#define MAX_FIDX 16
static struct fidx fidxs[MAX_FIDX];
static unsigned fidx_next; /* the slot to reuse when all are taken */

static void push_rec(cJSON ***v, size_t *n, size_t *cap, cJSON *r)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*v = realloc(*v, *cap * sizeof(cJSON *));
		if (!*v)
			abort();
	}
	(*v)[(*n)++] = r;
}

static size_t key_hash(const char *s)
{
	size_t h = 14695981039346656037ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void fidx_clear(struct fidx *ix)
{
	for (size_t i = 0; i < ix->cap; i++) {
		free(ix->tab[i].key);
		free(ix->tab[i].recs);
	}
	free(ix->tab);
	free(ix->any);
	memset(ix, 0, sizeof(*ix));
}

static void fidx_free_all(void)
{
	for (int i = 0; i < MAX_FIDX; i++)
		fidx_clear(&fidxs[i]);
}

static struct ixent *fidx_slot(struct fidx *ix, const char *key)
{
	size_t h = key_hash(key) & (ix->cap - 1);

	while (ix->tab[h].key && strcmp(ix->tab[h].key, key) != 0)
		h = (h + 1) & (ix->cap - 1);
	return &ix->tab[h];
}

static void fidx_put(struct fidx *ix, const char *key, cJSON *rec)
{
	struct ixent *e;

	if (2 * (ix->used + 1) > ix->cap) {
		struct ixent *old = ix->tab;
		size_t ocap = ix->cap;

		ix->cap = ocap ? 2 * ocap : 1024;
		ix->tab = calloc(ix->cap, sizeof(*ix->tab));
		if (!ix->tab)
			abort();
		for (size_t i = 0; i < ocap; i++)
			if (old[i].key)
				*fidx_slot(ix, old[i].key) = old[i];
		free(old);
	}
	e = fidx_slot(ix, key);
	if (!e->key) {
		e->key = strdup(key);
		if (!e->key)
			abort();
		ix->used++;
	}
	push_rec(&e->recs, &e->n, &e->cap, rec);
}

static void fidx_add(struct fidx *ix, cJSON *rec)
{
	char key[OMSF_KEY_MAX];
	int rc = omsf_key(cJSON_GetObjectItemCaseSensitive(rec, ix->field), ix->numeric, key,
	                  sizeof(key));

	if (rc == 0)
		fidx_put(ix, key, rec);
	else if (rc < 0)
		push_rec(&ix->any, &ix->n_any, &ix->cap_any, rec);
}

static int fidx_valid(const struct fidx *ix)
{
	return ix->k && ix->gen == (ix->fixed ? set_gen : rec_gen);
}

/* The index of k's field for literals of the kind numeric, built now if
 * it is missing or stale. */
static struct fidx *fidx_get(const struct klass *k, const char *field, int numeric)
{
	struct fidx *ix = NULL;
	cJSON *r;

	for (int i = 0; i < MAX_FIDX && !ix; i++)
		if (fidxs[i].k == k && fidxs[i].numeric == numeric &&
		    strcmp(fidxs[i].field, field) == 0)
			ix = &fidxs[i];
	if (ix && fidx_valid(ix))
		return ix;
	if (!ix) {
		for (int i = 0; i < MAX_FIDX && !ix; i++)
			if (!fidxs[i].k)
				ix = &fidxs[i];
		if (!ix)
			ix = &fidxs[fidx_next++ % MAX_FIDX];
	}
	fidx_clear(ix);
	ix->k = k;
	snprintf(ix->field, sizeof(ix->field), "%s", field);
	ix->numeric = numeric;
	ix->fixed = strcmp(field, "Oid") == 0 || strcmp(field, "_parent") == 0;
	ix->gen = ix->fixed ? set_gen : rec_gen;
	cJSON_ArrayForEach(r, k->records) fidx_add(ix, r);
	return ix;
}

/* A new record joins the Oid and _parent indexes that are current. */
static void fidx_new_record(const struct klass *k, cJSON *rec)
{
	for (int i = 0; i < MAX_FIDX; i++)
		if (fidxs[i].k == k && fidxs[i].fixed && fidx_valid(&fidxs[i]))
			fidx_add(&fidxs[i], rec);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records of k whose field may equal one of lits (each once, in no
 * particular order: query() sorts), or NULL with *n = 0 when none. */
static cJSON **fidx_lookup(const struct klass *k, const char *field, const cJSON *lits, int numeric,
                           size_t *n)
{
	struct fidx *ix = fidx_get(k, field, numeric);
	int nl = cJSON_GetArraySize(lits), nk = 0;
	char **keys = calloc((size_t)nl + 1, sizeof(*keys));
	cJSON **out = NULL;
	size_t cap = 0;
	const cJSON *l;

	if (!keys)
		abort();
	*n = 0;
	cJSON_ArrayForEach(l, lits)
	{
		char key[OMSF_KEY_MAX];

		if (omsf_key(l, numeric, key, sizeof(key)) != 0)
			continue; /* omsf_plan keeps no such literal */
		keys[nk] = strdup(key);
		if (!keys[nk++])
			abort();
	}
	/* "in (5, 5)" or "ABC" and "abc" name the same records once. */
	qsort(keys, (size_t)nk, sizeof(*keys), key_cmp);
	for (int i = 0; i < nk; i++) {
		struct ixent *e;

		if ((i > 0 && strcmp(keys[i], keys[i - 1]) == 0) || !ix->cap)
			continue;
		e = fidx_slot(ix, keys[i]);
		for (size_t j = 0; e->key && j < e->n; j++)
			push_rec(&out, n, &cap, e->recs[j]);
	}
	for (size_t j = 0; j < ix->n_any; j++)
		push_rec(&out, n, &cap, ix->any[j]);
	for (int i = 0; i < nk; i++)
		free(keys[i]);
	free(keys);
	return out;
}

static cJSON *record_by_oid(const struct klass *k, long oid)
{
	cJSON *r, *lit, **c, *found = NULL;
	size_t n;

	if (S.no_index) {
		cJSON_ArrayForEach(r, k->records)
		{
			if ((long)sim_jnum(r, "Oid", -1) == oid)
				return r;
		}
		return NULL;
	}
	lit = cJSON_CreateArray();
	cJSON_AddItemToArray(lit, cJSON_CreateNumber((double)oid));
	c = fidx_lookup(k, "Oid", lit, 1, &n);
	cJSON_Delete(lit);
	for (size_t i = 0; i < n && !found; i++)
		if ((long)sim_jnum(c[i], "Oid", -1) == oid)
			found = c[i];
	free(c);
	return found;
}

static void set_item(cJSON *o, const char *key, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
	else
		cJSON_AddItemToObject(o, key, v);
}

static cJSON *render(const cJSON *rec, const char *fields, int ignore_nulls)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *it;

	cJSON_ArrayForEach(it, rec)
	{
		if (it->string[0] == '_')
			continue;
		if (ignore_nulls &&
		    (cJSON_IsNull(it) || (cJSON_IsString(it) && !it->valuestring[0])))
			continue;
		if (fields) {
			const char *p = fields;
			size_t n = strlen(it->string);
			int keep = 0;

			while ((p = strstr(p, it->string))) {
				if ((p == fields || p[-1] == ',') &&
				    (p[n] == ',' || p[n] == '\0')) {
					keep = 1;
					break;
				}
				p++;
			}
			if (!keep)
				continue;
		}
		cJSON_AddItemToObject(o, it->string, cJSON_Duplicate(it, 1));
	}
	return o;
}

/* ---- rendered-record cache ----
 * A full record's JSON text is kept until the state changes (any
 * non-GET request bumps rec_gen); lists without fields= splice them. */

struct rtext {
	long oid;
	uint64_t gen;
	char *s;
};

static struct rtext *rtexts;
static size_t rtexts_cap;

static void rtexts_free(void)
{
	for (size_t i = 0; i < rtexts_cap; i++)
		free(rtexts[i].s);
	free(rtexts);
	rtexts = NULL;
	rtexts_cap = 0;
}

static const char *record_text(const cJSON *rec, size_t n_records)
{
	long oid = (long)sim_jnum(rec, "Oid", 0);
	size_t want = 64, h;
	struct rtext *e;

	while (want < 2 * n_records)
		want *= 2;
	if (rtexts_cap < want) {
		rtexts_free();
		rtexts = calloc(want, sizeof(*rtexts));
		if (!rtexts)
			abort();
		rtexts_cap = want;
	}
	h = ((unsigned long)oid * 2654435761ul) & (rtexts_cap - 1);
	while (rtexts[h].oid && rtexts[h].oid != oid)
		h = (h + 1) & (rtexts_cap - 1);
	e = &rtexts[h];
	if (e->oid != oid || e->gen != rec_gen || !e->s) {
		cJSON *r = render(rec, NULL, 0);

		free(e->s);
		e->oid = oid;
		e->gen = rec_gen;
		e->s = cJSON_PrintUnformatted(r);
		cJSON_Delete(r);
		if (!e->s)
			abort();
	}
	return e->s;
}

/* 1 if name is an active entry of the Request Issues library. */
static int lookup_active(const char *name)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, S.lib.records)
	{
		const char *v = sim_jstr(r, "IssueField");

		if (v && strcmp(v, name) == 0 &&
		    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "InactiveField")))
			return 1;
	}
	return 0;
}

static int type_fits(const struct field *f, const cJSON *v)
{
	if (strcmp(f->type, "Boolean") == 0)
		return cJSON_IsBool(v);
	if (strcmp(f->type, "Number") == 0)
		return cJSON_IsNumber(v);
	if (strcmp(f->type, "Integer") == 0)
		return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble;
	if (strcmp(f->type, "Shape") == 0)
		return cJSON_IsObject(v);
	if (strcmp(f->type, "Lookup") == 0)
		return cJSON_IsString(v);
	/* String and Date: Json.NET turns a number or a boolean into text. */
	return cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v);
}

/* Check one incoming record's fields as Cartegraph does: names exactly as
 * the class spells them (letter case too), writable, of the field's type,
 * a lookup naming an active library entry.  Returns NULL or the bad field
 * with the message in why.  A PUT names its record by Oid in the body. */
static const char *check_fields(const struct klass *k, const cJSON *rec, int put, char *why,
                                size_t cap)
{
	const cJSON *it;

	/* Names first, as a deserializer meets them: an unknown name is
	 * reported even when a value before it is also wrong. */
	cJSON_ArrayForEach(it, rec)
	{
		const struct field *f = field_of(k, it->string);

		/* A field security hides from writes reads as absent. */
		if (!f || f->refused) {
			snprintf(why, cap, "Field '%s' does not exist on class %s.", it->string,
			         k->name);
			return it->string;
		}
	}
	cJSON_ArrayForEach(it, rec)
	{
		const struct field *f = field_of(k, it->string);

		if (put && strcmp(f->name, "Oid") == 0)
			continue;
		if (f->ro) {
			snprintf(why, cap, "Field '%s' on class %s is read-only.", f->name,
			         k->name);
			return it->string;
		}
		if (cJSON_IsNull(it))
			continue;
		if (!type_fits(f, it)) {
			snprintf(why, cap,
			         "The value of field '%s' is not valid: the field is of type %s.",
			         f->name, f->type);
			return it->string;
		}
		if (strcmp(f->type, "Date") == 0 && cJSON_IsString(it) && it->valuestring[0]) {
			time_t t;

			if (sim_time_parse(it->valuestring, S.tz, &t) != 0) {
				snprintf(why, cap,
				         "The value of field '%s' is not a valid Date: '%.200s'.",
				         f->name, it->valuestring);
				return it->string;
			}
		}
		if (f->lookup && it->valuestring[0] && !lookup_active(it->valuestring)) {
			snprintf(why, cap,
			         "The value '%.200s' of field '%s' is not an active record of "
			         "the lookup class %s.",
			         it->valuestring, f->name, f->lookup);
			return it->string;
		}
	}
	return NULL;
}

/* Copy writable fields of src into rec and stamp the change. */
static void apply_fields(const struct klass *k, cJSON *rec, const cJSON *src, const char *user)
{
	const cJSON *it;
	char now[32];

	cJSON_ArrayForEach(it, src)
	{
		const struct field *f = field_of(k, it->string);

		if (f && !f->ro)
			set_item(rec, it->string, cJSON_Duplicate(it, 1));
	}
	now_str(now);
	set_item(rec, "cgLastModifiedField", cJSON_CreateString(now));
	set_item(rec, "LastModifiedByField", cJSON_CreateString(user));
}

static cJSON *new_record(struct klass *k, const cJSON *src, const char *user, long parent)
{
	cJSON *rec = cJSON_CreateObject();
	char now[32], id[64];

	cJSON_AddNumberToObject(rec, "Oid", (double)S.next_oid++);
	for (int i = 1; i < k->nf; i++)
		cJSON_AddNullToObject(rec, k->f[i].name);
	now_str(now);
	set_item(rec, "EntryDateField", cJSON_CreateString(now));
	set_item(rec, "EnteredByField", cJSON_CreateString(user));
	if (k == &S.req) {
		snprintf(id, sizeof(id), "%s%06ld", S.id_prefix, S.next_id++);
		set_item(rec, "IDField", cJSON_CreateString(id));
		set_item(rec, "StatusField", cJSON_CreateString("Open"));
		set_item(rec, "TasksField", cJSON_CreateNumber(0));
	} else {
		if (k == &S.att)
			set_item(rec, "LinkedField", cJSON_CreateFalse());
		cJSON_AddNumberToObject(rec, "_parent", (double)parent);
	}
	apply_fields(k, rec, src, user);
	cJSON_AddItemToArray(k->records, rec);
	fidx_new_record(k, rec);
	return rec;
}

/* ---- seeded data: requests city staff entered directly ---- */

/* The Request Issues library from --issues ("Name" or "Name:inactive").
 * Its Oids are small, apart from the requests' (the rendered-record cache
 * is keyed by Oid).  It is configuration, so it is not saved. */
static int library_init(void)
{
	char buf[sizeof(S.issues)], *tok, *save = NULL;
	long oid = 1001;

	S.lib.records = cJSON_CreateArray();
	snprintf(buf, sizeof(buf), "%s", S.issues);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		cJSON *rec = cJSON_CreateObject();
		char *colon = strrchr(tok, ':');
		int inactive = 0;

		if (colon && strcmp(colon, ":inactive") == 0) {
			*colon = '\0';
			inactive = 1;
		}
		cJSON_AddNumberToObject(rec, "Oid", (double)oid++);
		cJSON_AddStringToObject(rec, "IssueField", tok);
		cJSON_AddBoolToObject(rec, "InactiveField", inactive);
		cJSON_AddItemToArray(S.lib.records, rec);
	}
	return 0;
}

static int oms_start(int loaded)
{
	static const char *const issues[] = {"Pothole", "Sign Down", "Tree Limb", "Sewer Backup",
	                                     "Streetlight Out"};
	static const char *const staff[] = {"jsmith", "mgarcia", "APIAdmin"};
	struct sim_rng r;

	classes_init();
	library_init();
	S.sessions = cJSON_CreateArray();
	if (loaded)
		return 0;
	S.req.records = cJSON_CreateArray();
	S.att.records = cJSON_CreateArray();
	S.cmt.records = cJSON_CreateArray();
	S.next_oid = 242283001 + (long)(sim_mix(sim_seed()) % 1000) * 1000;
	S.next_id = 100 + (long)(sim_mix(sim_seed() + 1) % 100);
	sim_rng_init(&r, sim_seed() + 99);
	for (int i = 0; i < S.n_requests; i++) {
		cJSON *src = cJSON_CreateObject();
		char addr[128];
		cJSON *rec;

		cJSON_AddStringToObject(src, "IssueField", issues[sim_rng_below(&r, 5)]);
		cJSON_AddStringToObject(src, "DescriptionField", "Called in by phone.");
		snprintf(addr, sizeof(addr), "%u Main St", 100 + sim_rng_below(&r, 900));
		cJSON_AddStringToObject(src, "LocationDescriptionField", addr);
		cJSON_AddStringToObject(src, "RequesterField", "Phone Caller");
		rec = new_record(&S.req, src, staff[sim_rng_below(&r, 3)], 0);
		if (sim_rng_below(&r, 2))
			set_item(rec, "StatusField", cJSON_CreateString("Closed"));
		cJSON_Delete(src);
	}
	return 0;
}

/* The comment class and the note race in the state (and a save file). */
static void comment_class_dump(cJSON *j, cJSON *recs)
{
	cJSON *r = cJSON_AddObjectToObject(j, "note_race");

	cJSON_AddBoolToObject(r, "armed", race.armed);
	cJSON_AddNumberToObject(r, "fired", race.fired);
	if (!S.cmt.name[0])
		return;
	cJSON_AddStringToObject(j, "comment_class", S.cmt.name);
	cJSON_AddItemToObject(recs, S.cmt.name, cJSON_Duplicate(S.cmt.records, 1));
}

/* A saved comment class wins over --comment-class, like the request class. */
static int comment_class_load(const cJSON *st, const cJSON *recs)
{
	const char *name = sim_jstr(st, "comment_class");
	const cJSON *a = name ? cJSON_GetObjectItemCaseSensitive(recs, name) : NULL;

	if (name && !cJSON_IsArray(a))
		return -1;
	if (name && strcmp(name, S.cmt.name) != 0)
		return -1; /* the text field is not in the file: give the same flag */
	S.cmt.records = a ? cJSON_Duplicate(a, 1) : cJSON_CreateArray();
	return 0;
}

static cJSON *oms_dump(void)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *recs = cJSON_AddObjectToObject(j, "records");

	cJSON_AddStringToObject(j, "class", S.req.name);
	cJSON_AddStringToObject(j, "attachment_class", S.att.name);
	cJSON_AddNumberToObject(j, "next_oid", (double)S.next_oid);
	cJSON_AddNumberToObject(j, "next_id", (double)S.next_id);
	cJSON_AddItemToObject(recs, S.req.name, cJSON_Duplicate(S.req.records, 1));
	cJSON_AddItemToObject(recs, S.att.name, cJSON_Duplicate(S.att.records, 1));
	comment_class_dump(j, recs);
	return j;
}

static int oms_load(const cJSON *st)
{
	const cJSON *recs = cJSON_GetObjectItemCaseSensitive(st, "records");
	const char *cls = sim_jstr(st, "class");
	const cJSON *a, *b;

	if (!cls || !recs)
		return -1;
	/* The class name of the file wins over --class. */
	snprintf(S.cls_name, sizeof(S.cls_name), "%s", cls);
	a = cJSON_GetObjectItemCaseSensitive(recs, cls);
	b = cJSON_GetObjectItemCaseSensitive(
	    recs, sim_jstr(st, "attachment_class") ? sim_jstr(st, "attachment_class") : "");
	if (!cJSON_IsArray(a) || !cJSON_IsArray(b))
		return -1;
	S.req.records = cJSON_Duplicate(a, 1);
	S.att.records = cJSON_Duplicate(b, 1);
	S.next_oid = (long)sim_jnum(st, "next_oid", 1);
	S.next_id = (long)sim_jnum(st, "next_id", 1);
	return comment_class_load(st, recs);
}

static void oms_fault_reply(int status, struct sim_resp *resp)
{
	if (status == 503)
		message(resp, 503,
		        "The system is currently undergoing maintenance. Please try again later.");
	else if (status == 500)
		message(resp, 500, "An error has occurred.");
	else
		message(resp, status, "The server returned an error (%d).", status);
}

/* ---- authentication ---- */

static int basic_ok(const char *auth)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char plain[300], enc[420];
	const unsigned char *s = (const unsigned char *)plain;
	size_t n, o = 0;

	if (!auth || strncmp(auth, "Basic ", 6) != 0)
		return 0;
	snprintf(plain, sizeof(plain), "%s:%s", S.user, S.pass);
	n = strlen(plain);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
		             (i + 2 < n ? s[i + 2] : 0);

		enc[o++] = b64[(v >> 18) & 63];
		enc[o++] = b64[(v >> 12) & 63];
		enc[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		enc[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	enc[o] = '\0';
	return strcmp(auth + 6, enc) == 0;
}

static cJSON *session_of(const struct sim_req *req)
{
	const char *c = sim_cookie(req, COOKIE_NAME);
	cJSON *s;

	if (!c)
		c = sim_header(req, "cgkey");
	if (!c)
		return NULL;
	cJSON_ArrayForEach(s, S.sessions)
	{
		if (strcmp(sim_jstr(s, "cookie"), c) == 0 &&
		    sim_jnum(s, "expires", 0) > (double)sim_now())
			return s;
	}
	return NULL;
}

/* The 401 of a call without a live session, counted as the cookie of an
 * expired session or as none/unknown (GET /_admin/sessions). */
static void refuse_session(const struct sim_req *req, struct sim_resp *resp)
{
	const char *c = sim_cookie(req, COOKIE_NAME);
	int expired = 0;
	cJSON *s;

	if (!c)
		c = sim_header(req, "cgkey");
	cJSON_ArrayForEach(s, S.sessions)
	{
		if (c && strcmp(sim_jstr(s, "cookie"), c) == 0)
			expired = 1;
	}
	if (expired)
		S.sc.expired_refused++;
	else
		S.sc.unknown_refused++;
	message(resp, 401, "Authentication Required for API Access.");
}

/* Who is calling, or NULL (and the 401 is written). */
static const char *authorized(const struct sim_req *req, struct sim_resp *resp)
{
	cJSON *s;

	if (basic_ok(sim_header(req, "Authorization")))
		return S.user;
	s = session_of(req);
	if (s)
		return sim_jstr(s, "user");
	refuse_session(req, resp);
	return NULL;
}

static void authenticate(const struct sim_req *req, struct sim_resp *resp)
{
	cJSON *body, *j, *s;
	const char *u, *p;
	char cookie[80], hdr[200];
	uint64_t h;

	if (sim_arg(req, "username") || sim_arg(req, "userName") || sim_arg(req, "password")) {
		message(resp, 400, "Cannot pass user name or password through the URL.");
		return;
	}
	body = cJSON_ParseWithLength(req->body, req->body_len);
	u = sim_jstr(body, "userName") ? sim_jstr(body, "userName") : sim_jstr(body, "username");
	if (!u)
		u = sim_jstr(body, "UserName");
	p = sim_jstr(body, "password") ? sim_jstr(body, "password") : sim_jstr(body, "Password");
	if (!u || !p || strcmp(u, S.user) != 0 || strcmp(p, S.pass) != 0) {
		cJSON_Delete(body);
		S.sc.logins_refused++;
		message(resp, 401, "The user name or password is incorrect.");
		return;
	}
	cJSON_Delete(body);
	S.sc.logins++;
	h = sim_mix(sim_seed() ^ (0xc00c1eULL + ++S.cookie_seq));
	snprintf(cookie, sizeof(cookie), "%016llX%016llX", (unsigned long long)h,
	         (unsigned long long)sim_mix(h));
	s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "cookie", cookie);
	cJSON_AddStringToObject(s, "user", S.user);
	cJSON_AddNumberToObject(s, "expires", (double)(sim_now() + S.session_seconds));
	cJSON_AddItemToArray(S.sessions, s);
	snprintf(hdr, sizeof(hdr), "%s=%s; path=/; HttpOnly", COOKIE_NAME, cookie);
	sim_resp_header(resp, "Set-Cookie", hdr);
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "LogOnStatus", 0);
	cJSON_AddNumberToObject(j, "Expires", S.session_seconds);
	sim_resp_json(resp, 200, j);
}

static void session_info(const struct sim_req *req, struct sim_resp *resp)
{
	cJSON *s = session_of(req), *j;
	double left;

	if (!s) {
		refuse_session(req, resp);
		return;
	}
	left = sim_jnum(s, "expires", 0) - (double)sim_now();
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "Expires", left);
	cJSON_AddStringToObject(j, "Cookie", sim_jstr(s, "cookie"));
	cJSON_AddNumberToObject(j, "CurrentAuthTokenExpiration", left);
	cJSON_AddNumberToObject(j, "MaintenanceLevel", 0);
	cJSON_AddStringToObject(j, "MaintenanceMessage", "");
	cJSON_AddStringToObject(j, "MaintenanceUser", "");
	cJSON_AddStringToObject(j, "MaintenanceUserFullName", "");
	cJSON_AddFalseToObject(j, "RestrictUsersDuringMaintenance");
	sim_resp_json(resp, 200, j);
}

static void signout(const struct sim_req *req, struct sim_resp *resp)
{
	cJSON *s = session_of(req);

	if (s)
		cJSON_Delete(cJSON_DetachItemViaPointer(S.sessions, s));
	sim_resp_json(resp, 200, cJSON_CreateObject());
}

/* ---- class meta ---- */

static cJSON *class_meta(const struct klass *k)
{
	cJSON *m = cJSON_CreateObject();
	cJSON *props;
	int is_req = k == &S.req, is_cmt = k == &S.cmt;

	cJSON_AddStringToObject(m, "Name", k->name);
	cJSON_AddStringToObject(m, "SingularName",
	                        is_req        ? "Request"
	                        : is_cmt      ? "Comment"
	                        : k == &S.lib ? "Request Issue"
	                                      : "Attachment");
	cJSON_AddStringToObject(m, "PluralName",
	                        is_req        ? "Requests"
	                        : is_cmt      ? "Comments"
	                        : k == &S.lib ? "Request Issues"
	                                      : "Attachments");
	cJSON_AddNumberToObject(m, "BOType", is_req ? 4 : 0);
	cJSON_AddStringToObject(m, "DefaultSort", is_req ? "[ID] Ascending" : "[Oid] Ascending");
	if (is_req) {
		cJSON *ch = cJSON_AddArrayToObject(m, "Children");

		cJSON_AddItemToArray(ch, cJSON_CreateString(S.att.name));
		if (S.cmt.name[0])
			cJSON_AddItemToArray(ch, cJSON_CreateString(S.cmt.name));
	} else {
		cJSON_AddArrayToObject(m, "Children");
	}
	{
		cJSON *gis = cJSON_AddObjectToObject(m, "CachedGisInfo");

		cJSON_AddFalseToObject(gis, "IsIntegrated");
		cJSON_AddFalseToObject(gis, "HasZ");
		cJSON_AddFalseToObject(gis, "HasM");
	}
	props = cJSON_AddArrayToObject(m, "Properties");
	for (int i = 0; i < k->nf; i++) {
		cJSON *p = cJSON_CreateObject();
		char disp[64];
		size_t n = strlen(k->f[i].name);

		snprintf(disp, sizeof(disp), "%.*s",
		         (int)(n > 5 && strcmp(k->f[i].name + n - 5, "Field") == 0 ? n - 5 : n),
		         k->f[i].name);
		cJSON_AddStringToObject(p, "Name", k->f[i].name);
		cJSON_AddStringToObject(p, "DisplayName", disp);
		cJSON_AddStringToObject(p, "DataType", k->f[i].type);
		cJSON_AddBoolToObject(p, "IsReadOnly", k->f[i].ro);
		if (k->f[i].lookup)
			cJSON_AddStringToObject(p, "LookupClass", k->f[i].lookup);
		cJSON_AddItemToArray(props, p);
	}
	return m;
}

static void meta(const struct sim_req *req, struct sim_resp *resp, const char *cls)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(j, "Classes");
	char names[512], *tok, *save = NULL;
	const char *list = cls ? cls : sim_arg(req, "classNames");

	snprintf(names, sizeof(names), "%s", list ? list : "");
	for (tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct klass *k = class_by_name(tok);

		if (!k) {
			cJSON_Delete(j);
			message(resp, 404, "The class '%s' does not exist.", tok);
			return;
		}
		cJSON_AddItemToArray(arr, class_meta(k));
	}
	sim_resp_json(resp, 200, j);
}

/* ---- GET with fields, filter, sort, limit, offset ---- */

struct sortkey {
	const char *field;
	int desc;
};

static struct sortkey sort_keys[8];
static int n_sort;

static int value_cmp(const cJSON *a, const cJSON *b)
{
	int na = !a || cJSON_IsNull(a), nb = !b || cJSON_IsNull(b);

	if (na || nb)
		return na - nb ? (na ? -1 : 1) : 0;
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble < b->valuedouble ? -1 : a->valuedouble > b->valuedouble;
	if (cJSON_IsBool(a) && cJSON_IsBool(b))
		return cJSON_IsTrue(a) - cJSON_IsTrue(b);
	if (cJSON_IsString(a) && cJSON_IsString(b))
		return strcasecmp(a->valuestring, b->valuestring);
	return 0;
}

struct ohit {
	const cJSON *rec;
	const cJSON *v[8]; /* the sort fields' values, looked up once */
	double oid;
};

static int hit_cmp(const void *x, const void *y)
{
	const struct ohit *a = x, *b = y;

	for (int i = 0; i < n_sort; i++) {
		int c = value_cmp(a->v[i], b->v[i]);

		if (c)
			return sort_keys[i].desc ? -c : c;
	}
	return a->oid < b->oid ? -1 : a->oid > b->oid;
}

static int parse_sort(const struct klass *k, const char *s, struct sim_resp *resp)
{
	static char buf[512];
	char *tok, *save = NULL;

	n_sort = 0;
	if (!s || !s[0])
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok && n_sort < 8; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		const struct field *f;

		if (colon)
			*colon++ = '\0';
		f = field_of(k, tok);
		if (!f) {
			message(resp, 400, "Invalid sort field '%s' for class %s.", tok, k->name);
			return -1;
		}
		if (colon && strcasecmp(colon, "asc") != 0 && strcasecmp(colon, "dsc") != 0) {
			message(resp, 400, "Invalid sort direction '%s'; use asc or dsc.", colon);
			return -1;
		}
		sort_keys[n_sort].field = f->name;
		sort_keys[n_sort].desc = colon && strcasecmp(colon, "dsc") == 0;
		n_sort++;
	}
	return 0;
}

static int check_field_list(const struct klass *k, const char *fields, struct sim_resp *resp)
{
	char buf[2048], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", fields);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!field_of(k, tok)) {
			message(resp, 400, "Invalid field '%s' for class %s.", tok, k->name);
			return -1;
		}
	}
	return 0;
}

static int num_arg(const struct sim_req *req, const char *name, long dflt, long *out)
{
	const char *v = sim_arg(req, name);
	char *end;

	*out = dflt;
	if (!v)
		return 0;
	*out = strtol(v, &end, 10);
	return end == v || *end || *out < 0 ? -1 : 0;
}

/* The records a query has to look at: from an index when the Oid, the
 * parent or the filter pins one field to a few values, else all of them
 * (with --no-index always all).  The caller checks each in full. */
static cJSON **candidates(const struct klass *k, long parent, long oid, const struct omsf_node *flt,
                          size_t *n)
{
	const char *field;
	const cJSON *lits;
	cJSON *r, *one, **out = NULL;
	int numeric;
	size_t cap = 0;

	*n = 0;
	if (!S.no_index && (oid >= 0 || parent >= 0)) {
		one = cJSON_CreateArray();
		cJSON_AddItemToArray(one, cJSON_CreateNumber((double)(oid >= 0 ? oid : parent)));
		out = fidx_lookup(k, oid >= 0 ? "Oid" : "_parent", one, 1, n);
		cJSON_Delete(one);
		return out;
	}
	if (!S.no_index && flt && omsf_plan(flt, S.tz, &field, &lits, &numeric) == 0)
		return fidx_lookup(k, field, lits, numeric, n);
	cJSON_ArrayForEach(r, k->records) push_rec(&out, n, &cap, r);
	return out;
}

static void query(const struct sim_req *req, struct sim_resp *resp, struct klass *k, long parent,
                  long oid)
{
	const char *fields = sim_arg(req, "fields");
	const char *filter = sim_arg(req, "filter");
	int ignore_nulls = sim_arg(req, "ignoreNullFields") &&
	                   strcasecmp(sim_arg(req, "ignoreNullFields"), "true") == 0;
	struct omsf_node *flt = NULL;
	struct ohit *hits;
	cJSON **cand;
	size_t n_cand;
	long limit, offset, n = 0;
	char why[256];
	cJSON *r, *out, *arr, *md;

	if (fields && check_field_list(k, fields, resp))
		return;
	if (num_arg(req, "limit", 1000, &limit) || num_arg(req, "offset", 0, &offset)) {
		message(resp, 400, "limit and offset must be non-negative integers.");
		return;
	}
	if (parse_sort(k, sim_arg(req, "sort"), resp))
		return;
	if (filter && filter[0] && omsf_parse(filter, resolve, k, &flt, why, sizeof(why)) != 0) {
		message(resp, 400, "The filter is not valid: %s.", why);
		return;
	}
	cand = candidates(k, parent, oid, flt, &n_cand);
	hits = calloc(n_cand + 1, sizeof(*hits));
	if (!hits)
		abort();
	for (size_t c = 0; c < n_cand; c++) {
		r = cand[c];
		if (parent >= 0 && (long)sim_jnum(r, "_parent", -1) != parent)
			continue;
		if (oid >= 0 && (long)sim_jnum(r, "Oid", -1) != oid)
			continue;
		if (flt && !omsf_eval(flt, r, S.tz))
			continue;
		hits[n].rec = r;
		hits[n].oid = sim_jnum(r, "Oid", 0);
		for (int s = 0; s < n_sort; s++)
			hits[n].v[s] = cJSON_GetObjectItemCaseSensitive(r, sort_keys[s].field);
		n++;
	}
	omsf_free(flt);
	free(cand);
	if (oid >= 0 && n == 0) {
		free(hits);
		message(resp, 404, "The %s record with Oid %ld was not found.", k->name, oid);
		return;
	}
	qsort(hits, (size_t)n, sizeof(*hits), hit_cmp);
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, k->name);
	if (fields || ignore_nulls)
		for (long i = offset; i < n && i < offset + limit; i++)
			cJSON_AddItemToArray(arr, render(hits[i].rec, fields, ignore_nulls));
	md = cJSON_AddObjectToObject(out, "_metadata");
	cJSON_AddNumberToObject(md, "totalCount", (double)n);
	cJSON_AddNumberToObject(md, "offset", (double)offset);
	cJSON_AddNumberToObject(md, "limit", (double)limit);
	if (fields || ignore_nulls) {
		free(hits);
		sim_resp_json(resp, 200, out);
		return;
	}
	{
		/* {"<class>":[],"_metadata":{...}}: fill the empty array. */
		char *head = cJSON_PrintUnformatted(out);
		/* Cut after the array's own '[' as printed, not at a length
		 * derived from the class name: the key is the first member, so
		 * the first '[' is the array's whatever the name holds. */
		const char *lb = head ? strchr(head, '[') : NULL;
		size_t hl, cut, cap, len;
		size_t n_all = (size_t)cJSON_GetArraySize(k->records);
		char *body;

		if (!lb)
			abort();
		hl = strlen(head);
		cut = (size_t)(lb - head) + 1;
		cap = hl + 2;

		for (long i = offset; i < n && i < offset + limit; i++)
			cap += strlen(record_text(hits[i].rec, n_all)) + 1;
		body = malloc(cap);
		if (!body)
			abort();
		memcpy(body, head, cut); /* up to and including '[' */
		len = cut;
		for (long i = offset; i < n && i < offset + limit; i++) {
			const char *t = record_text(hits[i].rec, n_all);
			size_t tl = strlen(t);

			if (i > offset)
				body[len++] = ',';
			/* a counted body, not a C string */
			/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
			memcpy(body + len, t, tl);
			len += tl;
		}
		memcpy(body + len, head + cut, hl - cut);
		len += hl - cut;
		sim_resp_text(resp, 200, "application/json; charset=utf-8", body, len);
		free(body);
		free(head);
		cJSON_Delete(out);
	}
	free(hits);
}

/* ---- POST / PUT / DELETE ---- */

static const cJSON *envelope(const struct sim_req *req, const struct klass *k, cJSON **body,
                             struct sim_resp *resp)
{
	const cJSON *arr;

	*body = cJSON_ParseWithLength(req->body, req->body_len);
	if (!*body) {
		message(resp, 400, "The request body is not valid JSON.");
		return NULL;
	}
	arr = cJSON_GetObjectItemCaseSensitive(*body, k->name);
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) {
		message(resp, 400, "The request body must be {\"%s\": [ records ]}.", k->name);
		return NULL;
	}
	return arr;
}

static void create(const struct sim_req *req, struct sim_resp *resp, struct klass *k, long parent,
                   const char *user)
{
	cJSON *body = NULL, *out, *arr_out;
	const cJSON *arr = envelope(req, k, &body, resp), *rec;
	const char *bad;
	char why[512];

	if (!arr)
		goto out;
	cJSON_ArrayForEach(rec, arr)
	{
		if (!cJSON_IsObject(rec)) {
			message(resp, 400, "Each %s record must be an object.", k->name);
			goto out;
		}
		if ((bad = check_fields(k, rec, 0, why, sizeof(why)))) {
			field_error(resp, bad, why);
			goto out;
		}
	}
	out = cJSON_CreateObject();
	arr_out = cJSON_AddArrayToObject(out, k->name);
	cJSON_ArrayForEach(rec, arr)
	{
		cJSON_AddItemToArray(arr_out, render(new_record(k, rec, user, parent), NULL, 0));
	}
	sim_resp_json(resp, S.create_status, out);
out:
	cJSON_Delete(body);
}

static void update(const struct sim_req *req, struct sim_resp *resp, struct klass *k, long oid,
                   const char *user)
{
	cJSON *body = NULL, *out, *arr_out, *target;
	const cJSON *arr = envelope(req, k, &body, resp), *rec;
	const char *bad;
	char why[512];

	if (!arr)
		goto out;
	cJSON_ArrayForEach(rec, arr)
	{
		long id = oid >= 0 ? oid : (long)sim_jnum(rec, "Oid", -1);

		if (!cJSON_IsObject(rec) || id < 0) {
			message(resp, 400, "No Oid given: a PUT must name the record by its Oid.");
			goto out;
		}
		if (!record_by_oid(k, id)) {
			message(resp, 404, "The %s record with Oid %ld was not found.", k->name,
			        id);
			goto out;
		}
		if ((bad = check_fields(k, rec, 1, why, sizeof(why)))) {
			field_error(resp, bad, why);
			goto out;
		}
	}
	out = cJSON_CreateObject();
	arr_out = cJSON_AddArrayToObject(out, k->name);
	cJSON_ArrayForEach(rec, arr)
	{
		target = record_by_oid(k, oid >= 0 ? oid : (long)sim_jnum(rec, "Oid", -1));
		apply_fields(k, target, rec, user);
		cJSON_AddItemToArray(arr_out, render(target, NULL, 0));
	}
	sim_resp_json(resp, 200, out);
out:
	cJSON_Delete(body);
}

static void delete_one(struct sim_resp *resp, struct klass *k, long oid)
{
	cJSON *r = record_by_oid(k, oid), *j;

	if (!r) {
		message(resp, 404, "The %s record with Oid %ld was not found.", k->name, oid);
		return;
	}
	cJSON_Delete(cJSON_DetachItemViaPointer(k->records, r));
	set_gen++; /* the indexes hold pointers to it */
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "DeletedRecordCount", 1);
	sim_resp_json(resp, 200, j);
}

/* ---- admin: what crews and clerks do in Cartegraph ---- */

/* A crew appends text to a field of a request (newline-separated). */
static void crew_append(cJSON *rec, const char *fname, const char *text, const char *by)
{
	const char *old = sim_jstr(rec, fname);
	size_t len = (old ? strlen(old) : 0) + strlen(text) + 2;
	char *joined = malloc(len);
	cJSON *upd;

	if (!joined)
		abort();
	snprintf(joined, len, "%s%s%s", old ? old : "", old && old[0] ? "\n" : "", text);
	upd = cJSON_CreateObject();
	cJSON_AddStringToObject(upd, fname, joined);
	apply_fields(&S.req, rec, upd, by);
	cJSON_Delete(upd);
	free(joined);
}

/* POST /_admin/requests/:oid/note-race {"text", "field", "by"}: the crew
 * writes its note in the window a client's read-modify-write leaves
 * open, i.e. after the client read the record and before its write. */
static void note_race_arm(long oid, const cJSON *b, struct sim_resp *resp)
{
	const char *text = sim_jstr(b, "text");
	const char *fname = sim_jstr(b, "field") ? sim_jstr(b, "field") : "NotesField";
	const char *by = sim_jstr(b, "by") ? sim_jstr(b, "by") : "crew";
	cJSON *j;

	if (!text || !field_of(&S.req, fname) || strlen(fname) >= sizeof(race.field) ||
	    strlen(by) >= sizeof(race.by)) {
		sim_resp_admin_error(resp, 400, "text is required and field must exist");
		return;
	}
	free(race.text);
	race.text = strdup(text);
	if (!race.text)
		abort();
	race.armed = 1;
	race.oid = oid;
	snprintf(race.field, sizeof(race.field), "%s", fname);
	snprintf(race.by, sizeof(race.by), "%s", by);
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "armed", 1);
	cJSON_AddNumberToObject(j, "oid", (double)oid);
	cJSON_AddStringToObject(j, "field", fname);
	sim_resp_json(resp, 202, j);
}

/* Called before an API write (POST, PUT, DELETE under /api/v1/classes/)
 * is applied: the armed note lands first, once. */
static void note_race_fire(const struct sim_req *req)
{
	cJSON *rec;

	if (!race.armed || req->admin || strcmp(req->method, "GET") == 0 ||
	    strncasecmp(req->path, "/api/v1/classes/", 16) != 0)
		return;
	race.armed = 0;
	rec = record_by_oid(&S.req, race.oid);
	if (!rec)
		return;
	crew_append(rec, race.field, race.text, race.by);
	race.fired++;
	fprintf(stderr, "oms-sim note-race: %s appended to %s of %ld before %s %s\n", race.by,
	        race.field, race.oid, req->method, req->path);
}

/* A city administrator removes a field from a class: its meta and what
 * the class accepts change at once ({"class": C, "field": F}).  With
 * "writes_only": true the meta keeps it and only writes naming it are
 * refused, as field security can make it. */
static void remove_field(const cJSON *b, struct sim_resp *resp)
{
	const char *cls = sim_jstr(b, "class"), *name = sim_jstr(b, "field");
	struct klass *k = cls ? class_by_name(cls) : NULL;
	int i;

	for (i = 0; k && name && i < k->nf; i++)
		if (strcmp(k->f[i].name, name) == 0)
			break;
	if (!k || !name || i == k->nf) {
		sim_resp_admin_error(resp, 404, "no such class or field");
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "writes_only"))) {
		k->f[i].refused = 1;
	} else {
		memmove(&k->f[i], &k->f[i + 1], (size_t)(k->nf - i - 1) * sizeof(k->f[0]));
		k->nf--;
	}
	sim_resp_json(resp, 200, class_meta(k));
}

/* ---- admin: drift, what reconciliation has to find ---- */

/* The point of a request: CgShape's first point (or Center), else the
 * LatitudeField/LongitudeField pair when the class has them.  0: none. */
static int point_of(const cJSON *rec, double *lat, double *lng)
{
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(rec, "CgShape");
	const cJSON *pt = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(shape, "Points"), 0);
	const cJSON *la, *ln;

	if (!pt)
		pt = cJSON_GetObjectItemCaseSensitive(shape, "Center");
	la = cJSON_GetObjectItemCaseSensitive(pt, "Lat");
	ln = cJSON_GetObjectItemCaseSensitive(pt, "Lng");
	if (!cJSON_IsNumber(la) || !cJSON_IsNumber(ln)) {
		la = cJSON_GetObjectItemCaseSensitive(rec, "LatitudeField");
		ln = cJSON_GetObjectItemCaseSensitive(rec, "LongitudeField");
	}
	if (!cJSON_IsNumber(la) || !cJSON_IsNumber(ln))
		return 0;
	*lat = la->valuedouble;
	*lng = ln->valuedouble;
	return 1;
}

/* POST /_admin/requests/:oid/move {"lat", "lng"} or {"north_m", "east_m"}:
 * staff move the request's point (CgShape, and the latitude/longitude
 * fields where the class has them). */
static void admin_move(cJSON *rec, const cJSON *b, struct sim_resp *resp)
{
	const cJSON *la = cJSON_GetObjectItemCaseSensitive(b, "lat");
	const cJSON *ln = cJSON_GetObjectItemCaseSensitive(b, "lng");
	const cJSON *no = cJSON_GetObjectItemCaseSensitive(b, "north_m");
	const cJSON *ea = cJSON_GetObjectItemCaseSensitive(b, "east_m");
	double lat, lng;
	cJSON *upd;

	if (cJSON_IsNumber(la) && cJSON_IsNumber(ln)) {
		lat = la->valuedouble;
		lng = ln->valuedouble;
	} else if ((cJSON_IsNumber(no) || cJSON_IsNumber(ea)) && point_of(rec, &lat, &lng)) {
		/* metres to degrees on a sphere of the mean earth radius */
		double dn = cJSON_IsNumber(no) ? no->valuedouble : 0;
		double de = cJSON_IsNumber(ea) ? ea->valuedouble : 0;
		double k = 180.0 / (3.14159265358979323846 * 6371008.8);
		lat += dn * k;
		lng += de * k / cos(lat * 3.14159265358979323846 / 180.0);
	} else {
		sim_resp_admin_error(resp, 400,
		                     "lat and lng, or north_m/east_m on a request with a point, "
		                     "are required");
		return;
	}
	upd = cJSON_CreateObject();
	if (field_of(&S.req, "CgShape")) {
		cJSON *shape = cJSON_AddObjectToObject(upd, "CgShape"), *pts, *pt, *c;
		cJSON_AddNumberToObject(shape, "ShapeType", 1);
		pts = cJSON_AddArrayToObject(shape, "Points");
		pt = cJSON_CreateObject();
		cJSON_AddNumberToObject(pt, "Lat", lat);
		cJSON_AddNumberToObject(pt, "Lng", lng);
		cJSON_AddItemToArray(pts, pt);
		cJSON_AddArrayToObject(shape, "Breaks");
		c = cJSON_AddObjectToObject(shape, "Center");
		cJSON_AddNumberToObject(c, "Lat", lat);
		cJSON_AddNumberToObject(c, "Lng", lng);
	}
	if (field_of(&S.req, "LatitudeField") && field_of(&S.req, "LongitudeField")) {
		cJSON_AddNumberToObject(upd, "LatitudeField", lat);
		cJSON_AddNumberToObject(upd, "LongitudeField", lng);
	}
	apply_fields(&S.req, rec, upd, sim_jstr(b, "by") ? sim_jstr(b, "by") : "staff");
	cJSON_Delete(upd);
	sim_resp_json(resp, 200, render(rec, NULL, 0));
}

/* POST /_admin/requests/:oid/duplicate: a clerk enters the same request
 * a second time: every writable field copied (the SCF id with it), a
 * new Oid and IDField, status Open. */
static void admin_duplicate(const cJSON *rec, const cJSON *b, struct sim_resp *resp)
{
	cJSON *src = cJSON_CreateObject(), *dup;
	const cJSON *it;

	cJSON_ArrayForEach(it, rec)
	{
		const struct field *f = field_of(&S.req, it->string);
		if (f && !f->ro && !cJSON_IsNull(it) && strcmp(it->string, "IDField") != 0 &&
		    strcmp(it->string, "StatusField") != 0 &&
		    strcmp(it->string, "CloseDateField") != 0)
			cJSON_AddItemToObject(src, it->string, cJSON_Duplicate(it, 1));
	}
	dup = new_record(&S.req, src, sim_jstr(b, "by") ? sim_jstr(b, "by") : "crew", 0);
	cJSON_Delete(src);
	sim_resp_json(resp, 201, render(dup, NULL, 0));
}

static void admin(const struct sim_req *req, struct sim_resp *resp)
{
	cJSON *b = NULL, *rec;
	int64_t oid = -1;
	const char *rest = num_after(req->path, "/_admin/requests/");
	char tail[32] = "";
	int post = strcmp(req->method, "POST") == 0;
	char now[32];

	if (post && !(b = sim_body_json(req))) {
		sim_resp_admin_error(resp, 400, "body must be a JSON object");
		return;
	}
	resp->route = "admin";
	if (!post && strcmp(req->path, "/_admin/sessions") == 0) {
		cJSON *j = cJSON_CreateObject();
		int live = 0;

		cJSON_ArrayForEach(rec, S.sessions)
		{
			live += sim_jnum(rec, "expires", 0) > (double)sim_now();
		}
		cJSON_AddNumberToObject(j, "logins", (double)S.sc.logins);
		cJSON_AddNumberToObject(j, "logins_refused", (double)S.sc.logins_refused);
		cJSON_AddNumberToObject(j, "expired_refused", (double)S.sc.expired_refused);
		cJSON_AddNumberToObject(j, "unknown_refused", (double)S.sc.unknown_refused);
		cJSON_AddNumberToObject(j, "live", live);
		sim_resp_json(resp, 200, j);
		return;
	}
	if (post && strcmp(req->path, "/_admin/fields/remove") == 0) {
		remove_field(b, resp);
		cJSON_Delete(b);
		return;
	}
	if (post && strcmp(req->path, "/_admin/requests") == 0) {
		char why[512];
		const char *bad = check_fields(&S.req, b, 0, why, sizeof(why));

		if (bad) {
			field_error(resp, bad, why);
		} else {
			rec = new_record(&S.req, b, "crew", 0);
			sim_resp_json(resp, 201, render(rec, NULL, 0));
		}
		cJSON_Delete(b);
		return;
	}
	if (num_i64(rest, &rest, &oid) != 0 ||
	    (*rest && (*rest != '/' || !rest[1] || strlen(rest + 1) >= sizeof(tail)))) {
		sim_resp_admin_error(resp, 404, "unknown admin endpoint");
		cJSON_Delete(b);
		return;
	}
	if (*rest)
		snprintf(tail, sizeof(tail), "%s", rest + 1);
	rec = record_by_oid(&S.req, oid);
	if (!rec) {
		sim_resp_admin_error(resp, 404, "no such request");
	} else if (!post && !tail[0]) {
		sim_resp_json(resp, 200, render(rec, NULL, 0));
	} else if (post && strcmp(tail, "close") == 0) {
		const char *note = sim_jstr(b, "note");
		const char *by = sim_jstr(b, "by") ? sim_jstr(b, "by") : "crew";
		cJSON *upd = cJSON_CreateObject();

		now_str(now);
		cJSON_AddStringToObject(upd, "StatusField", "Closed");
		cJSON_AddStringToObject(upd, "CloseDateField", now);
		if (note)
			cJSON_AddStringToObject(upd, "ResponseNotesField", note);
		apply_fields(&S.req, rec, upd, by);
		cJSON_Delete(upd);
		sim_resp_json(resp, 200, render(rec, NULL, 0));
	} else if (post && strcmp(tail, "note") == 0) {
		const char *text = sim_jstr(b, "text");
		const char *fname = sim_jstr(b, "field") ? sim_jstr(b, "field") : "NotesField";

		if (!text || !field_of(&S.req, fname)) {
			sim_resp_admin_error(resp, 400, "text is required and field must exist");
		} else {
			crew_append(rec, fname, text,
			            sim_jstr(b, "by") ? sim_jstr(b, "by") : "crew");
			sim_resp_json(resp, 200, render(rec, NULL, 0));
		}
	} else if (post && strcmp(tail, "note-race") == 0) {
		note_race_arm(oid, b, resp);
	} else if (post && strcmp(tail, "delete") == 0) {
		/* someone deletes the request in Cartegraph (its children stay,
		 * unreachable, as nothing lists them without it) */
		cJSON *j = cJSON_CreateObject();
		cJSON_Delete(cJSON_DetachItemViaPointer(S.req.records, rec));
		set_gen++; /* the indexes hold pointers to it */
		cJSON_AddNumberToObject(j, "DeletedRecordCount", 1);
		sim_resp_json(resp, 200, j);
	} else if (post && strcmp(tail, "retype") == 0) {
		/* staff change the request's type: {"issue": "<IssueField value>"} */
		const char *issue = sim_jstr(b, "issue");
		cJSON *upd = cJSON_CreateObject();
		char why[512];
		const char *bad;

		if (issue)
			cJSON_AddStringToObject(upd, "IssueField", issue);
		bad = issue ? check_fields(&S.req, upd, 0, why, sizeof(why)) : NULL;
		if (!issue) {
			sim_resp_admin_error(resp, 400, "issue is required");
		} else if (bad) {
			field_error(resp, bad, why);
		} else {
			apply_fields(&S.req, rec, upd,
			             sim_jstr(b, "by") ? sim_jstr(b, "by") : "staff");
			sim_resp_json(resp, 200, render(rec, NULL, 0));
		}
		cJSON_Delete(upd);
	} else if (post && strcmp(tail, "move") == 0) {
		admin_move(rec, b, resp);
	} else if (post && strcmp(tail, "duplicate") == 0) {
		admin_duplicate(rec, b, resp);
	} else if (post && strcmp(tail, "fields") == 0) {
		char why[512];
		const char *bad = check_fields(&S.req, b, 0, why, sizeof(why));

		if (bad) {
			field_error(resp, bad, why);
		} else {
			apply_fields(&S.req, rec, b, "crew");
			sim_resp_json(resp, 200, render(rec, NULL, 0));
		}
	} else {
		sim_resp_admin_error(resp, 404, "unknown admin endpoint");
	}
	cJSON_Delete(b);
}

/* ---- routing ---- */

static int seg_eq(const char *a, const char *b)
{
	return a && strcasecmp(a, b) == 0;
}

static void api(const struct sim_req *req, struct sim_resp *resp)
{
	char path[1024], *seg[8] = {0}, *tok, *save = NULL;
	int n = 0;
	const char *m = req->method;
	const char *user;
	struct klass *k, *child = NULL;
	long oid = -1;

	snprintf(path, sizeof(path), "%s", req->path);
	for (tok = strtok_r(path, "/", &save); tok && n < 8; tok = strtok_r(NULL, "/", &save))
		seg[n++] = tok;
	if (n < 3 || !seg_eq(seg[0], "api") || !seg_eq(seg[1], "v1")) {
		message(resp, 404, "The URL is not recognized.");
		return;
	}
	if (seg_eq(seg[2], "authenticate")) {
		resp->route = n == 3 ? (strcmp(m, "POST") == 0 ? "POST /api/v1/authenticate"
		                                               : "GET /api/v1/authenticate")
		                     : "POST /api/v1/authenticate/signout";
		if (n == 3 && strcmp(m, "POST") == 0)
			authenticate(req, resp);
		else if (n == 3 && strcmp(m, "GET") == 0)
			session_info(req, resp);
		else if (n == 4 && seg_eq(seg[3], "signout"))
			signout(req, resp);
		else
			message(resp, 404, "The URL is not recognized.");
		return;
	}
	user = authorized(req, resp);
	if (!user) {
		resp->route = "401";
		return;
	}
	if (seg_eq(seg[2], "user") && n == 3) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "UserName", user);
		cJSON_AddStringToObject(j, "EsriUsername", "");
		cJSON_AddStringToObject(j, "FirstName", "Integration");
		cJSON_AddStringToObject(j, "LastName", "User");
		cJSON_AddStringToObject(j, "Email", "integration@example.org");
		cJSON_AddStringToObject(j, "Role", "API");
		cJSON_AddNumberToObject(j, "IdentityLevel", 0);
		resp->route = "GET /api/v1/user";
		sim_resp_json(resp, 200, j);
		return;
	}
	if (seg_eq(seg[2], "meta") && n >= 4 && seg_eq(seg[3], "classes")) {
		resp->route = "GET /api/v1/meta/Classes";
		meta(req, resp, n >= 5 ? seg[4] : NULL);
		return;
	}
	if (!seg_eq(seg[2], "classes") || n < 4 || n > 6) {
		message(resp, 404, "The URL is not recognized.");
		return;
	}
	k = class_by_name(seg[3]);
	if (!k) {
		message(resp, 404, "The class '%s' does not exist.", seg[3]);
		return;
	}
	if (n >= 5) {
		char *end;

		oid = strtol(seg[4], &end, 10);
		if (*end || oid < 0) {
			message(resp, 400, "The Oid '%s' is not valid.", seg[4]);
			return;
		}
	}
	if (n == 6) {
		child = class_by_name(seg[5]);
		if (k != &S.req || !child || child == &S.req) {
			message(resp, 404, "'%s' is not a child class of %s.", seg[5], seg[3]);
			return;
		}
		if (!record_by_oid(k, oid)) {
			message(resp, 404, "The %s record with Oid %ld was not found.", k->name,
			        oid);
			return;
		}
	}
	if (child) {
		resp->route = strcmp(m, "POST") == 0 ? "POST /api/v1/classes/:class/:oid/:child"
		                                     : "GET /api/v1/classes/:class/:oid/:child";
		if (strcmp(m, "GET") == 0)
			query(req, resp, child, oid, -1);
		else if (strcmp(m, "POST") == 0)
			create(req, resp, child, oid, user);
		else if (strcmp(m, "PUT") == 0)
			update(req, resp, child, -1, user);
		else
			message(resp, 405, "The method is not allowed.");
		return;
	}
	if (strcmp(m, "GET") == 0) {
		resp->route =
		    oid >= 0 ? "GET /api/v1/classes/:class/:oid" : "GET /api/v1/classes/:class";
		query(req, resp, k, -1, oid);
	} else if (k == &S.lib) {
		/* The library is the city's configuration, not the gateway's. */
		message(resp, 403, "You do not have permission to modify %s records.", k->name);
	} else if (strcmp(m, "POST") == 0 && oid < 0) {
		resp->route = "POST /api/v1/classes/:class";
		create(req, resp, k, -1, user);
	} else if (strcmp(m, "PUT") == 0) {
		resp->route = "PUT /api/v1/classes/:class";
		update(req, resp, k, oid, user);
	} else if (strcmp(m, "DELETE") == 0 && oid >= 0) {
		resp->route = "DELETE /api/v1/classes/:class/:oid";
		delete_one(resp, k, oid);
	} else {
		message(resp, 405, "The method is not allowed.");
	}
}

static void oms_handle(const struct sim_req *req, struct sim_resp *resp)
{
	if (strcmp(req->method, "GET") != 0)
		rec_gen++;
	if (req->admin) {
		admin(req, resp);
	} else {
		note_race_fire(req);
		api(req, resp);
	}
}

static const struct sim_app oms_app = {
    .name = "oms-sim",
    .usage = oms_usage,
    .options = oms_opts,
    .option = oms_option,
    .start = oms_start,
    .handle = oms_handle,
    .dump = oms_dump,
    .load = oms_load,
    .fault_reply = oms_fault_reply,
};

int main(int argc, char **argv)
{
	int rc = sim_main(&oms_app, argc, argv);

	cJSON_Delete(S.req.records);
	cJSON_Delete(S.att.records);
	cJSON_Delete(S.cmt.records);
	cJSON_Delete(S.lib.records);
	cJSON_Delete(S.sessions);
	free(race.text);
	rtexts_free();
	fidx_free_all();
	return rc;
}
