/*
 * record.c: spool records as signed XML.  See record.h for the contract
 * and schemas/record.xsd for the document.
 *
 * Both directions are driven by one field table per kind, in schema
 * order, so the encoder, the decoder and record_free cannot disagree
 * about which fields exist.
 */
#include "record.h"
#include "xmlgate.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <openssl/evp.h>

#include "schemas.h"
#include "spool_clock.h"
#include "when.h"

/* libxml2's BAD_CAST drops const; every call here takes a const xmlChar *. */
#define CXML (const xmlChar *)

/* ---- field tables ------------------------------------------------------ */

/* F_OPTINT: an int64_t written only when it is not 0 (the schema makes
 * the element optional), read as F_INT.  F_INTS: an int64_t array (off)
 * with its size_t count (count_off), one element per value, repeated
 * under the field's name.  F_LIST: an array of structs of item_size bytes
 * (off) with its count (count_off), written as <name><item>..</item>..
 * </name> with each item's fields from sub; the wrapper is left out when
 * the list is empty. */
enum field_type {
	F_INT,
	F_OPTINT,
	F_DOUBLE,
	F_BOOL,
	F_TEXT,
	F_QUESTIONS,
	F_COMMENTS,
	F_INTS,
	F_LIST
};

struct field {
	const char *name;
	enum field_type type;
	int required; /* text only: NULL is refused by the encoder */
	size_t off;
	size_t count_off;        /* F_INTS, F_LIST */
	const char *item;        /* F_LIST: each item's element name */
	const struct field *sub; /* F_LIST: each item's fields */
	size_t n_sub;
	size_t item_size;
};

#define FLD(st, m, t, req)                                                                         \
	{                                                                                          \
		.name = #m, .type = (t), .required = (req), .off = offsetof(struct st, m)          \
	}

/* An element name that differs from the member's (a C keyword, or one
 * element of an array). */
#define NFLD(st, elem, m, t, req)                                                                  \
	{                                                                                          \
		.name = (elem), .type = (t), .required = (req), .off = offsetof(struct st, m)      \
	}

#define INTS(st, elem, m, count)                                                                   \
	{                                                                                          \
		.name = (elem), .type = F_INTS, .off = offsetof(struct st, m),                     \
		.count_off = offsetof(struct st, count)                                            \
	}

#define LIST(st, elem, m, count, itemname, itemst, tbl)                                            \
	{                                                                                          \
		.name = (elem), .type = F_LIST, .off = offsetof(struct st, m),                     \
		.count_off = offsetof(struct st, count), .item = (itemname), .sub = (tbl),         \
		.n_sub = sizeof(tbl) / sizeof((tbl)[0]), .item_size = sizeof(struct itemst)        \
	}

static const struct field comment_fields[] = {
    FLD(record_comment, issue_id, F_INT, 1),        FLD(record_comment, comment_id, F_TEXT, 1),
    FLD(record_comment, created_at, F_TEXT, 1),     FLD(record_comment, commenter_id, F_INT, 1),
    FLD(record_comment, commenter_name, F_TEXT, 0), FLD(record_comment, text, F_TEXT, 1),
    FLD(record_comment, is_system, F_BOOL, 1),      FLD(record_comment, media_url, F_TEXT, 0),
    FLD(record_comment, source_json, F_TEXT, 0),
};

static const struct field issue_fields[] = {
    FLD(record_issue, issue_id, F_INT, 1),        FLD(record_issue, generation, F_OPTINT, 0),
    FLD(record_issue, request_type_id, F_INT, 1), FLD(record_issue, request_type_title, F_TEXT, 1),
    FLD(record_issue, status, F_TEXT, 1),         FLD(record_issue, summary, F_TEXT, 1),
    FLD(record_issue, description, F_TEXT, 0),    FLD(record_issue, lat, F_DOUBLE, 1),
    FLD(record_issue, lng, F_DOUBLE, 1),          FLD(record_issue, address, F_TEXT, 0),
    FLD(record_issue, reporter_id, F_INT, 1),     FLD(record_issue, reporter_name, F_TEXT, 0),
    FLD(record_issue, created_at, F_TEXT, 1),     FLD(record_issue, updated_at, F_TEXT, 1),
    FLD(record_issue, html_url, F_TEXT, 0),       FLD(record_issue, media_url, F_TEXT, 0),
    FLD(record_issue, questions, F_QUESTIONS, 0), FLD(record_issue, comments, F_COMMENTS, 0),
    FLD(record_issue, source_json, F_TEXT, 0),
};

static const struct field attachment_fields[] = {
    FLD(record_attachment, issue_id, F_INT, 1),
    FLD(record_attachment, comment_id, F_TEXT, 0),
    FLD(record_attachment, url, F_TEXT, 1),
    FLD(record_attachment, content_type, F_TEXT, 0),
};

static const struct field ack_fields[] = {
    FLD(record_ack, issue_id, F_INT, 1),
    FLD(record_ack, oid, F_INT, 1),
    FLD(record_ack, request_id, F_TEXT, 1),
    FLD(record_ack, request_type_id, F_INT, 1),
    FLD(record_ack, request_type_title, F_TEXT, 0),
    FLD(record_ack, accepted_at, F_TEXT, 1),
};

static const struct field close_fields[] = {
    FLD(record_close, issue_id, F_INT, 1),
    FLD(record_close, oid, F_INT, 1),
    FLD(record_close, request_id, F_TEXT, 1),
    FLD(record_close, request_type_id, F_INT, 1),
    FLD(record_close, request_type_title, F_TEXT, 0),
    FLD(record_close, oms_status, F_TEXT, 1),
    FLD(record_close, closed_at, F_TEXT, 1),
    FLD(record_close, source_json, F_TEXT, 0),
};

static const struct field census_entry_fields[] = {
    FLD(record_census_entry, issue_id, F_INT, 1),
    FLD(record_census_entry, status, F_TEXT, 1),
    FLD(record_census_entry, request_type_id, F_INT, 1),
    FLD(record_census_entry, updated_at, F_TEXT, 1),
    FLD(record_census_entry, lat, F_DOUBLE, 1),
    FLD(record_census_entry, lng, F_DOUBLE, 1),
    FLD(record_census_entry, html_url, F_TEXT, 0),
    FLD(record_census_entry, generation, F_OPTINT, 0),
    FLD(record_census_entry, sent, F_BOOL, 1),
    FLD(record_census_entry, acknowledged, F_BOOL, 1),
    FLD(record_census_entry, closed, F_BOOL, 1),
};

static const struct field census_fields[] = {
    FLD(record_census, census_id, F_TEXT, 1),
    FLD(record_census, part, F_INT, 1),
    FLD(record_census, last, F_BOOL, 1),
    FLD(record_census, window_from, F_TEXT, 1),
    FLD(record_census, window_to, F_TEXT, 1),
    INTS(record_census, "request_type_id", request_type_ids, n_request_types),
    LIST(record_census, "entries", entries, n_entries, "entry", record_census_entry,
         census_entry_fields),
};

static const struct field resend_fields[] = {
    FLD(record_resend, census_id, F_TEXT, 1),
    FLD(record_resend, part, F_INT, 1),
    INTS(record_resend, "issue_id", issue_ids, n_issues),
};

static const struct field finding_fields[] = {
    NFLD(record_finding, "class", cls, F_TEXT, 1), FLD(record_finding, issue_id, F_INT, 1),
    FLD(record_finding, scf_status, F_TEXT, 0),    FLD(record_finding, oid, F_OPTINT, 0),
    FLD(record_finding, request_id, F_TEXT, 0),    FLD(record_finding, oms_status, F_TEXT, 0),
    FLD(record_finding, detail, F_TEXT, 1),
};

static const struct field reconcile_fields[] = {
    FLD(record_reconcile, census_id, F_TEXT, 1),
    FLD(record_reconcile, part, F_INT, 1),
    FLD(record_reconcile, last, F_BOOL, 1),
    FLD(record_reconcile, in_sync, F_INT, 1),
    FLD(record_reconcile, missing, F_INT, 1),
    FLD(record_reconcile, missed_close, F_INT, 1),
    FLD(record_reconcile, orphan, F_INT, 1),
    FLD(record_reconcile, drift, F_INT, 1),
    FLD(record_reconcile, duplicate, F_INT, 1),
    LIST(record_reconcile, "findings", findings, n_findings, "finding", record_finding,
         finding_fields),
};

struct kind_desc {
	enum record_kind kind;
	const char *name;
	int outbound;
	const struct field *fields;
	size_t n_fields;
};

#define KIND(k, n, out, tbl)                                                                       \
	{                                                                                          \
		k, n, out, tbl, sizeof(tbl) / sizeof((tbl)[0])                                     \
	}

static const struct kind_desc kinds[] = {
    KIND(RECORD_ISSUE, "issue", 1, issue_fields),
    KIND(RECORD_COMMENT, "comment", 1, comment_fields),
    KIND(RECORD_ATTACHMENT, "attachment", 1, attachment_fields),
    KIND(RECORD_ACK, "ack", 0, ack_fields),
    KIND(RECORD_CLOSE, "close", 0, close_fields),
    KIND(RECORD_CENSUS, "census", 1, census_fields),
    KIND(RECORD_RESEND, "resend", 0, resend_fields),
    KIND(RECORD_RECONCILE, "reconcile", 0, reconcile_fields),
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static const struct kind_desc *kind_desc(enum record_kind kind)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}

#define AT(base, f, type) ((type *)((char *)(base) + (f)->off))
#define COUNT(base, f)    ((size_t *)((char *)(base) + (f)->count_off))
#define ITEM(arr, f, i)   ((void *)((char *)(arr) + (i) * (f)->item_size))

/* ---- small public helpers ---------------------------------------------- */

const char *record_kind_queue(enum record_kind kind)
{
	const struct kind_desc *d = kind_desc(kind);

	if (!d)
		return NULL;
	return d->outbound ? "outbound" : "inbound";
}

const char *record_kind_name(enum record_kind kind)
{
	const struct kind_desc *d = kind_desc(kind);

	return d ? d->name : NULL;
}

enum record_kind record_kind_from_name(const char *name)
{
	for (size_t i = 0; name && i < N_KINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return kinds[i].kind;
	return 0;
}

int record_kind_is_outbound(enum record_kind kind)
{
	const struct kind_desc *d = kind_desc(kind);

	return d ? d->outbound : 0;
}

int64_t record_issue_id(const struct record *r)
{
	switch (r->kind) {
	case RECORD_ISSUE:
		return r->u.issue.issue_id;
	case RECORD_COMMENT:
		return r->u.comment.issue_id;
	case RECORD_ATTACHMENT:
		return r->u.attachment.issue_id;
	case RECORD_ACK:
		return r->u.ack.issue_id;
	case RECORD_CLOSE:
		return r->u.close.issue_id;
	case RECORD_CENSUS: /* about many issues, not one */
	case RECORD_RESEND:
	case RECORD_RECONCILE:
		break;
	}
	return 0;
}

static int producer_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return !first && (c == '_' || c == '-');
}

int record_producer_valid(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; s[n]; n++)
		if (n >= RECORD_PRODUCER_MAX || !producer_char(s[n], n == 0))
			return 0;
	return 1;
}

int record_census_id_valid(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= RECORD_CENSUS_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

enum err_status record_part_key(char *out, size_t size, enum record_kind kind,
                                const char *census_id, int64_t part, struct err *e)
{
	int n;

	if (kind != RECORD_CENSUS && kind != RECORD_RESEND && kind != RECORD_RECONCILE)
		return err_set(e, ERR_PERM, "record: a %s record has no part key",
		               record_kind_name(kind) ? record_kind_name(kind) : "unknown");
	if (!record_census_id_valid(census_id))
		return err_set(e, ERR_PERM, "record: \"%.70s\" is not a valid census id",
		               census_id ? census_id : "");
	if (part < 1)
		return err_set(e, ERR_PERM, "record: part %lld is not 1 or more", (long long)part);
	n = snprintf(out, size, "%s/%s/%lld", record_kind_name(kind), census_id, (long long)part);
	if (n < 0 || (size_t)n >= size)
		return err_set(e, ERR_PERM, "record: the key does not fit %zu bytes", size);
	return ERR_OK;
}

enum err_status record_resend_issue_key(char *out, size_t size, int64_t issue_id,
                                        const char *census_id, struct err *e)
{
	int n;

	if (!record_census_id_valid(census_id))
		return err_set(e, ERR_PERM, "record: \"%.70s\" is not a valid census id",
		               census_id ? census_id : "");
	n = snprintf(out, size, "issue/%lld/resend/%s", (long long)issue_id, census_id);
	if (n < 0 || (size_t)n >= size)
		return err_set(e, ERR_PERM, "record: the key does not fit %zu bytes", size);
	return ERR_OK;
}

const char *record_key_resend_census(const char *key)
{
	const char *p;

	if (!key || strncmp(key, "issue/", 6) != 0)
		return NULL;
	p = key + 6;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, "/resend/", 8) != 0 || !record_census_id_valid(p + 8))
		return NULL;
	return p + 8;
}

void record_file_name(char out[RECORD_NAME_MAX], uint64_t seq, const char *producer)
{
	snprintf(out, RECORD_NAME_MAX, "%020llu-%s.xml", (unsigned long long)seq, producer);
}

int record_parse_file_name(const char *name, uint64_t *seq, char producer[RECORD_PRODUCER_MAX + 1])
{
	unsigned long long v = 0;
	size_t len, plen;

	len = strlen(name);
	if (len < 20 + 1 + 1 + 4 || strcmp(name + len - 4, ".xml") != 0 || name[20] != '-')
		return -1;
	for (int i = 0; i < 20; i++) {
		unsigned d = (unsigned)(name[i] - '0');

		if (d > 9 || v > (ULLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	plen = len - 21 - 4;
	if (plen > RECORD_PRODUCER_MAX)
		return -1;
	memcpy(producer, name + 21, plen);
	producer[plen] = '\0';
	if (!record_producer_valid(producer))
		return -1;
	*seq = v;
	return 0;
}

/* ---- lifetime ------------------------------------------------------------ */

struct record *record_new(enum record_kind kind)
{
	struct record *r;

	if (!kind_desc(kind))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->format_version = RECORD_FORMAT_VERSION;
	r->kind = kind;
	return r;
}

static void fields_free(void *base, const struct field *fields, size_t n);

static void comments_free(struct record_comment *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		fields_free(&c[i], comment_fields,
		            sizeof(comment_fields) / sizeof(comment_fields[0]));
	free(c);
}

static void fields_free(void *base, const struct field *fields, size_t n)
{
	struct record_issue *is = base;

	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];

		if (f->type == F_TEXT) {
			free(*AT(base, f, char *));
			*AT(base, f, char *) = NULL;
		} else if (f->type == F_QUESTIONS) {
			for (size_t q = 0; is->questions && q < is->n_questions; q++) {
				free(is->questions[q].question);
				free(is->questions[q].answer);
			}
			free(is->questions);
			is->questions = NULL;
			is->n_questions = 0;
		} else if (f->type == F_COMMENTS) {
			comments_free(is->comments, is->n_comments);
			is->comments = NULL;
			is->n_comments = 0;
		} else if (f->type == F_INTS) {
			free(*AT(base, f, int64_t *));
			*AT(base, f, int64_t *) = NULL;
			*COUNT(base, f) = 0;
		} else if (f->type == F_LIST) {
			void *arr = *AT(base, f, void *);

			for (size_t k = 0; arr && k < *COUNT(base, f); k++)
				fields_free(ITEM(arr, f, k), f->sub, f->n_sub);
			free(arr);
			*AT(base, f, void *) = NULL;
			*COUNT(base, f) = 0;
		}
	}
}

void record_free(struct record *r)
{
	const struct kind_desc *d;

	if (!r)
		return;
	d = kind_desc(r->kind);
	if (d)
		fields_free(&r->u, d->fields, d->n_fields);
	free(r->key);
	free(r);
}

/*
 * Replace every pointer the fields of base hold (copied from another
 * record) by a copy of its own; one that cannot be copied becomes NULL
 * (and its count 0), so record_free is always safe.  0, or -1 when
 * anything could not be copied.
 */
static int fields_dup(void *base, const struct field *fields, size_t n)
{
	struct record_issue *is = base;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];

		if (f->type == F_TEXT) {
			char **p = AT(base, f, char *);
			if (*p && !(*p = strdup(*p)))
				rc = -1;
		} else if (f->type == F_QUESTIONS && is->questions) {
			const struct record_qa *from = is->questions;
			is->questions = calloc(is->n_questions, sizeof(*is->questions));
			if (!is->questions) {
				is->n_questions = 0;
				rc = -1;
				continue;
			}
			for (size_t q = 0; q < is->n_questions; q++) {
				if (from[q].question &&
				    !(is->questions[q].question = strdup(from[q].question)))
					rc = -1;
				if (from[q].answer &&
				    !(is->questions[q].answer = strdup(from[q].answer)))
					rc = -1;
			}
		} else if (f->type == F_COMMENTS && is->comments) {
			const struct record_comment *from = is->comments;
			size_t nc = is->n_comments;
			is->comments = calloc(nc, sizeof(*is->comments));
			if (!is->comments) {
				is->n_comments = 0;
				rc = -1;
				continue;
			}
			memcpy(is->comments, from, nc * sizeof(*from));
			for (size_t k = 0; k < nc; k++)
				if (fields_dup(&is->comments[k], comment_fields,
				               sizeof(comment_fields) /
				                   sizeof(comment_fields[0])) != 0)
					rc = -1;
		} else if (f->type == F_INTS && *AT(base, f, int64_t *)) {
			int64_t **p = AT(base, f, int64_t *);
			const int64_t *from = *p;
			size_t nv = *COUNT(base, f);

			*p = malloc((nv ? nv : 1) * sizeof(**p));
			if (!*p) {
				*COUNT(base, f) = 0;
				rc = -1;
				continue;
			}
			memcpy(*p, from, nv * sizeof(**p));
		} else if (f->type == F_LIST && *AT(base, f, void *)) {
			void **p = AT(base, f, void *);
			const void *from = *p;
			size_t ni = *COUNT(base, f);

			*p = malloc((ni ? ni : 1) * f->item_size);
			if (!*p) {
				*COUNT(base, f) = 0;
				rc = -1;
				continue;
			}
			memcpy(*p, from, ni * f->item_size);
			for (size_t k = 0; k < ni; k++)
				if (fields_dup(ITEM(*p, f, k), f->sub, f->n_sub) != 0)
					rc = -1;
		}
	}
	return rc;
}

struct record *record_dup(const struct record *r)
{
	const struct kind_desc *d = r ? kind_desc(r->kind) : NULL;
	struct record *c;
	int rc;

	if (!d || !(c = malloc(sizeof(*c))))
		return NULL;
	*c = *r;
	rc = fields_dup(&c->u, d->fields, d->n_fields);
	if (c->key && !(c->key = strdup(c->key)))
		rc = -1;
	if (rc != 0) {
		record_free(c);
		return NULL;
	}
	return c;
}

/* ---- the schema, parsed once ------------------------------------------- */

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static xmlSchemaPtr schema;
static char schema_error[256];

static void schema_parse_error(void *data, xmlErrorPtr err)
{
	if (!schema_error[0] && err && err->message)
		snprintf(schema_error, sizeof(schema_error), "line %d: %s", err->line,
		         err->message);
}

static void schema_load(void)
{
	xmlSchemaParserCtxtPtr pc;

	xmlInitParser();
	pc = xmlSchemaNewMemParserCtxt(record_xsd_text, (int)strlen(record_xsd_text));
	if (!pc) {
		snprintf(schema_error, sizeof(schema_error), "out of memory");
		return;
	}
	xmlSchemaSetParserStructuredErrors(pc, schema_parse_error, NULL);
	schema = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
}

static enum err_status schema_get(xmlSchemaPtr *out, struct err *e)
{
	pthread_once(&schema_once, schema_load);
	*out = schema;
	if (!schema)
		return err_set(e, ERR_FATAL, "the embedded record.xsd does not load: %s",
		               schema_error);
	return ERR_OK;
}

/* ---- libxml2 error capture --------------------------------------------- */

struct xml_cap {
	int have;
	int line;
	int dtd;
	int oom; /* libxml2 ran out of memory: the input is not to blame */
	char msg[400];
};

static int is_oom(const xmlError *err)
{
	return err && (err->code == XML_ERR_NO_MEMORY || err->domain == XML_FROM_MEMORY);
}

static void cap_store(struct xml_cap *cap, const xmlError *err)
{
	char *p;

	if (is_oom(err))
		cap->oom = 1;
	if (cap->have || !err || err->level < XML_ERR_ERROR)
		return;
	cap->have = 1;
	cap->line = err->line;
	snprintf(cap->msg, sizeof(cap->msg), "%s", err->message ? err->message : "XML error");
	/* libxml2 messages end with a newline; ours are one line. */
	for (p = cap->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	while (p > cap->msg && p[-1] == ' ')
		*--p = '\0';
}

static void cap_parser_error(void *data, xmlErrorPtr err)
{
	xmlParserCtxtPtr ctxt = data;

	cap_store(ctxt->_private, err);
}

static void cap_valid_error(void *data, xmlErrorPtr err)
{
	cap_store(data, err);
}

/*
 * libxml2 reports a failed allocation outside a parser or validator
 * through the thread's structured error handler, or prints it when there
 * is none, and some of its functions carry on (a node whose name could
 * not be copied has no name).  Encode and decode run under a guard that
 * catches those reports: an operation that saw one fails temporarily,
 * whatever else it concluded, and nothing is printed.
 */
struct xml_guard {
	xmlStructuredErrorFunc old_fn;
	void *old_ctx;
	int oom;
};

static void guard_error(void *ctx, xmlErrorPtr err)
{
	struct xml_guard *g = ctx;

	if (is_oom(err))
		g->oom = 1;
}

static void guard_begin(struct xml_guard *g)
{
	g->old_fn = xmlStructuredError;
	g->old_ctx = xmlStructuredErrorContext;
	g->oom = 0;
	xmlSetStructuredErrorFunc(g, guard_error);
}

static enum err_status guard_end(struct xml_guard *g, enum err_status st, struct err *e)
{
	xmlSetStructuredErrorFunc(g->old_ctx, g->old_fn);
	if (g->oom)
		return err_set(e, ERR_TEMP, "record: out of memory in libxml2");
	return st;
}

/* Called at "<!DOCTYPE": a record never has one, so stop before any
 * entity declaration is even read (no billion laughs, no XXE). */
static void reject_doctype(void *data, const xmlChar *name, const xmlChar *ext_id,
                           const xmlChar *sys_id)
{
	xmlParserCtxtPtr ctxt = data;
	struct xml_cap *cap = ctxt->_private;

	cap->dtd = 1;
	cap->line = xmlSAX2GetLineNumber(ctxt);
	xmlStopParser(ctxt);
}

/* ---- parsing and checks shared by decode and encode -------------------- */

static enum err_status parse_bytes(const char *bytes, size_t len, xmlDocPtr *out, struct err *e)
{
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
	struct xmlgate_limits lim;
	struct xml_cap cap = {0};
	enum err_status st = ERR_PERM;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;

	*out = NULL;
	if (len == 0)
		return err_set(e, ERR_PERM, "empty record (0 bytes)");
	if (len > RECORD_MAX_BYTES)
		return err_set(e, ERR_PERM, "record is %zu bytes, over the %zu-byte limit", len,
		               RECORD_MAX_BYTES);
	/* Before libxml2: an attribute or namespace bomb costs it quadratic
	 * time, the gate refuses it in one linear pass. */
	xmlgate_limits_default(&lim, RECORD_MAX_BYTES);
	if (xmlgate_check(bytes, len, &lim, e) != ERR_OK)
		return ERR_PERM;
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return err_set(e, ERR_TEMP, "record: out of memory");
	ctxt->_private = &cap;
	ctxt->sax->serror = cap_parser_error;
	ctxt->sax->internalSubset = reject_doctype;
	/* Keep every whitespace node whatever xmlKeepBlanksDefault() another
	 * module set: the signature covers the tree exactly as written. */
	ctxt->sax->ignorableWhitespace = xmlSAX2Characters;
	ctxt->keepBlanks = 1;
	/* Records are UTF-8 by definition: never convert (libxml2 would print
	 * conversion errors instead of reporting them). */
	doc = xmlCtxtReadMemory(ctxt, bytes, (int)len, "record.xml", "UTF-8", opts);
	if (cap.oom || ctxt->errNo == XML_ERR_NO_MEMORY) {
		st = err_set(e, ERR_TEMP, "record: out of memory while parsing");
		goto out;
	}
	if (cap.dtd) {
		err_set(e, ERR_PERM, "line %d: a DTD (<!DOCTYPE>) is not allowed in a record",
		        cap.line);
		goto out;
	}
	if (!doc || !ctxt->wellFormed || cap.have) {
		if (cap.have)
			err_set(e, ERR_PERM, "line %d: not well-formed XML: %s", cap.line, cap.msg);
		else
			err_set(e, ERR_PERM, "not well-formed XML");
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		err_set(e, ERR_PERM, "a DTD (<!DOCTYPE>) is not allowed in a record");
		goto out;
	}
	*out = doc;
	doc = NULL;
	st = ERR_OK;
out:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return st;
}

static enum err_status check_root(xmlDocPtr doc, struct err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlChar *v;
	char *end;
	unsigned long ver;

	if (!root || root->ns || strcmp((const char *)root->name, "record") != 0)
		return err_set(e, ERR_PERM, "line %d: root element is <%s>, expected <record>",
		               root ? root->line : 0, root ? (const char *)root->name : "");
	v = xmlGetNoNsProp(root, CXML "format");
	if (!v)
		return err_set(e, ERR_PERM, "line %d: <record> has no format version", root->line);
	errno = 0;
	ver = strtoul((const char *)v, &end, 10);
	if (errno || end == (char *)v || *end || ver != RECORD_FORMAT_VERSION) {
		err_set(e, ERR_PERM,
		        "unsupported record format version \"%.40s\" (this build reads "
		        "version %d)",
		        (const char *)v, RECORD_FORMAT_VERSION);
		xmlFree(v);
		return ERR_PERM;
	}
	xmlFree(v);
	return ERR_OK;
}

static enum err_status validate(xmlDocPtr doc, struct err *e)
{
	struct xml_cap cap = {0};
	xmlSchemaValidCtxtPtr vc;
	enum err_status st;
	xmlSchemaPtr xsd;
	int rc;

	st = schema_get(&xsd, e);
	if (st != ERR_OK)
		return st;
	vc = xmlSchemaNewValidCtxt(xsd);
	if (!vc)
		return err_set(e, ERR_TEMP, "record: out of memory");
	xmlSchemaSetValidStructuredErrors(vc, cap_valid_error, &cap);
	rc = xmlSchemaValidateDoc(vc, doc);
	xmlSchemaFreeValidCtxt(vc);
	if (rc == 0)
		return ERR_OK;
	if (rc < 0 || cap.oom)
		return err_set(e, ERR_TEMP, "record: XSD validation failed internally%s",
		               cap.oom ? " (out of memory)" : "");
	if (cap.have)
		return err_set(e, ERR_PERM, "line %d: not a valid record: %s", cap.line, cap.msg);
	return err_set(e, ERR_PERM, "not a valid record");
}

static xmlNodePtr next_element(xmlNodePtr n)
{
	while (n && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

static xmlNodePtr first_element(xmlNodePtr parent)
{
	return next_element(parent->children);
}

static int named(xmlNodePtr n, const char *name)
{
	return n && strcmp((const char *)n->name, name) == 0;
}

/* The signature is the last element of <record> (the schema says so). */
static xmlNodePtr find_signature(xmlDocPtr doc)
{
	xmlNodePtr n = xmlDocGetRootElement(doc)->last;

	while (n && n->type != XML_ELEMENT_NODE)
		n = n->prev;
	return named(n, "signature") ? n : NULL;
}

/* Exclusive C14N of doc without sig.  sig is unlinked and the caller owns
 * it afterwards (to free it or put it back). */
static enum err_status canonical(xmlDocPtr doc, xmlNodePtr sig, xmlChar **out, int *len,
                                 struct err *e)
{
	xmlUnlinkNode(sig);
	/* With comments: nothing in the document but the signature value is
	 * left unsigned. */
	*len = xmlC14NDocDumpMemory(doc, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 1, out);
	if (*len < 0 || !*out)
		return err_set(e, ERR_PERM, "record cannot be canonicalized");
	return ERR_OK;
}

/* Decode the signature's base64 value (whitespace allowed, as in
 * xs:base64Binary) into exactly SIG_BYTES bytes. */
static int sig_value(const char *text, unsigned char sig[SIG_BYTES])
{
	unsigned char tmp[SIG_BYTES + 3];
	char b64[89];
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			continue;
		if (n >= 88)
			return -1;
		b64[n++] = *p;
	}
	b64[n] = '\0';
	if (n != 88 || EVP_DecodeBlock(tmp, (const unsigned char *)b64, 88) != SIG_BYTES + 2)
		return -1;
	memcpy(sig, tmp, SIG_BYTES);
	return 0;
}

static enum err_status verify(xmlDocPtr doc, const struct sig_key *pub, struct err *e)
{
	char want[SIG_KEY_ID_LEN + 1];
	unsigned char sig[SIG_BYTES];
	enum err_status st = ERR_PERM;
	xmlChar *c14n = NULL;
	xmlChar *keyid = NULL;
	xmlChar *value = NULL;
	xmlNodePtr node;
	int clen = 0;

	node = find_signature(doc);
	if (!node)
		return err_set(e, ERR_PERM, "record has no <signature>");
	keyid = xmlGetNoNsProp(node, CXML "key-id");
	value = xmlNodeGetContent(node);
	sig_key_id(pub, want);
	if (!keyid || strcmp((const char *)keyid, want) != 0) {
		err_set(e, ERR_PERM, "line %d: signed by key %.16s, expected %s", node->line,
		        keyid ? (const char *)keyid : "(none)", want);
		goto out;
	}
	if (!value || sig_value((const char *)value, sig) != 0) {
		err_set(e, ERR_PERM, "line %d: signature value is not 64 bytes of base64",
		        node->line);
		goto out;
	}
	st = canonical(doc, node, &c14n, &clen, e);
	xmlFreeNode(node);
	if (st != ERR_OK)
		goto out;
	st = sig_verify(pub, c14n, (size_t)clen, sig, e);
	if (st == ERR_PERM)
		err_set(e, ERR_PERM,
		        "bad signature: the record was altered or not signed by key %s", want);
out:
	xmlFree(c14n);
	xmlFree(keyid);
	xmlFree(value);
	return st;
}

/* ---- tree -> struct ------------------------------------------------------- */

static char *node_text(xmlNodePtr n)
{
	xmlChar *c;
	char *s;

	if (!n->children)
		return strdup("");
	if (!n->children->next && n->children->type == XML_TEXT_NODE)
		return strdup((const char *)n->children->content);
	c = xmlNodeGetContent(n);
	s = c ? strdup((const char *)c) : NULL;
	xmlFree(c);
	return s;
}

struct filler {
	int oom;
	struct err *e;
};

/* The value of a simple element as the schema saw it: all its text joined.
 * A comment or PI inside a value ("4<!---->2") must not split it, or
 * what is read would differ from what was validated and signed. */
static const char *value_of(struct filler *fl, xmlNodePtr n, xmlChar **tmp)
{
	*tmp = NULL;
	if (!n->children)
		return "";
	if (!n->children->next && n->children->type == XML_TEXT_NODE)
		return (const char *)n->children->content;
	*tmp = xmlNodeGetContent(n);
	if (!*tmp)
		fl->oom = 1;
	return *tmp ? (const char *)*tmp : "";
}

static int64_t text_int(struct filler *fl, xmlNodePtr n)
{
	xmlChar *tmp;
	int64_t v = (int64_t)strtoll(value_of(fl, n, &tmp), NULL, 10);

	xmlFree(tmp);
	return v;
}

static uint64_t text_uint(struct filler *fl, xmlNodePtr n)
{
	xmlChar *tmp;
	uint64_t v = (uint64_t)strtoull(value_of(fl, n, &tmp), NULL, 10);

	xmlFree(tmp);
	return v;
}

static double text_double(struct filler *fl, xmlNodePtr n)
{
	xmlChar *tmp;
	double v = strtod(value_of(fl, n, &tmp), NULL);

	xmlFree(tmp);
	return v;
}

static int text_bool(struct filler *fl, xmlNodePtr n)
{
	xmlChar *tmp;
	const char *s = value_of(fl, n, &tmp);
	int v;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	v = *s == '1' || *s == 't';
	xmlFree(tmp);
	return v;
}

static void fill_fields(struct filler *fl, void *base, const struct field *fields, size_t n,
                        xmlNodePtr parent);

static void fill_questions(struct filler *fl, struct record_issue *is, xmlNodePtr list)
{
	size_t n = 0;

	for (xmlNodePtr c = first_element(list); c; c = next_element(c->next))
		n++;
	is->questions = calloc(n ? n : 1, sizeof(*is->questions));
	if (!is->questions) {
		fl->oom = 1;
		return;
	}
	is->n_questions = n;
	n = 0;
	for (xmlNodePtr c = first_element(list); c; c = next_element(c->next), n++) {
		xmlNodePtr q = first_element(c);
		xmlNodePtr a = q ? next_element(q->next) : NULL;

		if (!q || !a) {
			fl->oom = 1; /* the schema makes this unreachable */
			return;
		}
		is->questions[n].question = node_text(q);
		is->questions[n].answer = node_text(a);
		if (!is->questions[n].question || !is->questions[n].answer)
			fl->oom = 1;
	}
}

static void fill_comments(struct filler *fl, struct record_issue *is, xmlNodePtr list)
{
	size_t n = 0;

	for (xmlNodePtr c = first_element(list); c; c = next_element(c->next))
		n++;
	is->comments = calloc(n ? n : 1, sizeof(*is->comments));
	if (!is->comments) {
		fl->oom = 1;
		return;
	}
	is->n_comments = n;
	n = 0;
	for (xmlNodePtr c = first_element(list); c; c = next_element(c->next), n++)
		fill_fields(fl, &is->comments[n], comment_fields,
		            sizeof(comment_fields) / sizeof(comment_fields[0]), c);
}

/* One more value of a repeated element; the array is sized at its first
 * occurrence for every sibling of that name (the schema keeps them
 * together). */
static void fill_int(struct filler *fl, void *base, const struct field *f, xmlNodePtr c)
{
	int64_t **arr = AT(base, f, int64_t *);
	size_t *n = COUNT(base, f);

	if (fl->oom)
		return;
	if (!*arr) {
		size_t cap = 0;

		for (xmlNodePtr s = c; s; s = next_element(s->next))
			cap += named(s, f->name);
		*arr = calloc(cap ? cap : 1, sizeof(**arr));
		if (!*arr) {
			fl->oom = 1;
			return;
		}
		*n = 0;
	}
	(*arr)[(*n)++] = text_int(fl, c);
}

static void fill_list(struct filler *fl, void *base, const struct field *f, xmlNodePtr list)
{
	void **arr = AT(base, f, void *);
	size_t n = 0;

	if (fl->oom || *arr)
		return;
	for (xmlNodePtr c = first_element(list); c; c = next_element(c->next))
		n++;
	*arr = calloc(n ? n : 1, f->item_size);
	if (!*arr) {
		fl->oom = 1;
		return;
	}
	*COUNT(base, f) = n;
	n = 0;
	for (xmlNodePtr c = first_element(list); c; c = next_element(c->next), n++)
		fill_fields(fl, ITEM(*arr, f, n), f->sub, f->n_sub, c);
}

static const struct field *field_named(const struct field *fields, size_t n, const xmlChar *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].name, (const char *)name) == 0)
			return &fields[i];
	return NULL;
}

static void fill_fields(struct filler *fl, void *base, const struct field *fields, size_t n,
                        xmlNodePtr parent)
{
	for (xmlNodePtr c = first_element(parent); c; c = next_element(c->next)) {
		const struct field *f = field_named(fields, n, c->name);

		if (!f)
			continue; /* the schema allows none; ignore rather than guess */
		switch (f->type) {
		case F_INT:
		case F_OPTINT:
			*AT(base, f, int64_t) = text_int(fl, c);
			break;
		case F_DOUBLE:
			*AT(base, f, double) = text_double(fl, c);
			break;
		case F_BOOL:
			*AT(base, f, int) = text_bool(fl, c);
			break;
		case F_TEXT:
			free(*AT(base, f, char *));
			*AT(base, f, char *) = node_text(c);
			if (!*AT(base, f, char *))
				fl->oom = 1;
			break;
		case F_QUESTIONS:
			fill_questions(fl, base, c);
			break;
		case F_COMMENTS:
			fill_comments(fl, base, c);
			break;
		case F_INTS:
			fill_int(fl, base, f, c);
			break;
		case F_LIST:
			fill_list(fl, base, f, c);
			break;
		}
	}
}

static enum err_status copy_small(struct filler *fl, char *dst, size_t size, xmlNodePtr n,
                                  const char *what)
{
	xmlChar *tmp;
	const char *s = value_of(fl, n, &tmp);
	size_t len = strlen(s);

	if (len >= size) {
		xmlFree(tmp);
		return err_set(fl->e, ERR_PERM, "line %d: <%s> is too long", n->line, what);
	}
	memcpy(dst, s, len + 1);
	xmlFree(tmp);
	return ERR_OK;
}

static enum err_status fill_record(xmlDocPtr doc, struct record **out, struct err *e)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	const struct kind_desc *d = NULL;
	struct filler fl = {0, e};
	enum err_status st = ERR_PERM;
	struct record *r = NULL;
	xmlNodePtr n;
	char kind[16];

	/* Fixed order, enforced by the schema: producer seq kind created key payload. */
	n = first_element(root);
	if (copy_small(&fl, kind, sizeof(kind), next_element(next_element(n->next)->next), "kind"))
		return ERR_PERM;
	d = kind_desc(record_kind_from_name(kind));
	if (!d)
		return err_set(e, ERR_PERM, "unknown record kind \"%s\"", kind);
	r = record_new(d->kind);
	if (!r)
		return err_set(e, ERR_TEMP, "record: out of memory");
	if (copy_small(&fl, r->producer, sizeof(r->producer), n, "producer"))
		goto out;
	n = next_element(n->next);
	r->seq = text_uint(&fl, n);
	n = next_element(next_element(n->next)->next);
	if (copy_small(&fl, r->created, sizeof(r->created), n, "created"))
		goto out;
	n = next_element(n->next);
	r->key = node_text(n);
	n = next_element(n->next);
	if (!named(n, d->name)) {
		err_set(e, ERR_PERM, "line %d: <kind> says %s but the payload is <%s>", n->line,
		        d->name, (const char *)n->name);
		goto out;
	}
	fill_fields(&fl, &r->u, d->fields, d->n_fields, n);
	if (fl.oom || !r->key) {
		st = err_set(e, ERR_TEMP, "record: out of memory");
		goto out;
	}
	if (d->kind == RECORD_ISSUE && (!isfinite(r->u.issue.lat) || !isfinite(r->u.issue.lng))) {
		err_set(e, ERR_PERM, "issue %lld: lat/lng is not a finite number",
		        (long long)r->u.issue.issue_id);
		goto out;
	}
	for (size_t i = 0; d->kind == RECORD_CENSUS && i < r->u.census.n_entries; i++) {
		const struct record_census_entry *ce = &r->u.census.entries[i];

		if (!isfinite(ce->lat) || !isfinite(ce->lng)) {
			err_set(e, ERR_PERM,
			        "census entry %zu (issue %lld): lat/lng is not a finite number",
			        i + 1, (long long)ce->issue_id);
			goto out;
		}
	}
	*out = r;
	r = NULL;
	st = ERR_OK;
out:
	record_free(r);
	return st;
}

static enum err_status decode(const char *bytes, size_t len, const struct sig_key *pub,
                              struct record **out, struct err *e)
{
	enum err_status st;
	xmlDocPtr doc = NULL;
	struct xml_guard g;

	*out = NULL;
	guard_begin(&g);
	st = parse_bytes(bytes, len, &doc, e);
	if (st == ERR_OK)
		st = check_root(doc, e);
	if (st == ERR_OK)
		st = validate(doc, e);
	if (st == ERR_OK && pub)
		st = verify(doc, pub, e);
	if (st == ERR_OK)
		st = fill_record(doc, out, e);
	xmlFreeDoc(doc);
	st = guard_end(&g, st, e);
	if (st != ERR_OK) {
		record_free(*out);
		*out = NULL;
	}
	return st;
}

enum err_status record_decode(const char *bytes, size_t len, const struct sig_key *pub,
                              struct record **out, struct err *e)
{
	if (out)
		*out = NULL;
	if (!pub || !out)
		return err_set(e, ERR_FATAL, "record_decode: no public key to verify with");
	/* An empty file reads as no data at all. */
	if (!bytes || len == 0)
		return err_set(e, ERR_PERM, "empty record (0 bytes)");
	return decode(bytes, len, pub, out, e);
}

enum err_status record_decode_unverified(const char *bytes, size_t len, struct record **out,
                                         struct err *e)
{
	if (!out || !bytes)
		return err_set(e, ERR_FATAL, "record_decode_unverified: no input");
	return decode(bytes, len, NULL, out, e);
}

/* ---- struct -> tree -------------------------------------------------------- */

struct builder {
	int oom;
	enum err_status st;
	struct err *e;
	const char *where; /* "issue", "issue.comments[2]" ... for messages */
};

static void indent(struct builder *b, xmlNodePtr parent, int depth)
{
	static const char spaces[] = "\n                ";
	xmlNodePtr t = xmlNewTextLen(CXML spaces, 1 + 2 * depth);

	if (!t || !xmlAddChild(parent, t)) {
		xmlFreeNode(t);
		b->oom = 1;
	}
}

/* Length of the sequence at s that XML 1.0 cannot carry even escaped
 * (0: a character it can): most C0 controls, UTF-16 surrogates (which
 * xmlCheckUTF8 lets through) and U+FFFE/U+FFFF.  s is valid UTF-8. */
static size_t non_xml_char(const unsigned char *s)
{
	if (s[0] < 0x20)
		return s[0] == '\t' || s[0] == '\n' || s[0] == '\r' ? 0 : 1;
	if (s[0] == 0xED && s[1] >= 0xA0)
		return 3;
	if (s[0] == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
		return 3;
	return 0;
}

/* Characters XML cannot carry become U+FFFD: the writer signs its own
 * tree, so it must never write what a reader would refuse.  Returns s
 * itself when it is fine as it is (nearly always), else a copy in *copy
 * for the caller to free.  Invalid UTF-8 is refused: the text would not
 * survive. */
static const char *xml_safe(struct builder *b, const char *name, const char *s, char **copy)
{
	static const char repl[] = "\xEF\xBF\xBD";
	const unsigned char *p = (const unsigned char *)s, *q;
	size_t len, extra = 0, bad;
	char *out, *o;

	*copy = NULL;
	len = strlen(s);
	/* libxml2 counts in int, xmlCheckUTF8 too */
	if (len > INT_MAX || !xmlCheckUTF8(p)) {
		b->st = err_set(b->e, ERR_PERM, "%s: %s is not valid UTF-8", b->where, name);
		return NULL;
	}
	for (q = p; *q && !non_xml_char(q); q++)
		;
	if (!*q)
		return s;
	for (; *q; q++)
		extra += non_xml_char(q) == 1 ? 2 : 0; /* a C0 control grows to 3 bytes */
	out = malloc(len + extra + 1);
	if (!out) {
		b->oom = 1;
		return NULL;
	}
	for (o = out; *p; p += bad ? bad : 1) {
		bad = non_xml_char(p);
		if (bad) {
			memcpy(o, repl, 3);
			o += 3;
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	*copy = out;
	return out;
}

static xmlNodePtr add_text(struct builder *b, xmlNodePtr parent, int depth, const char *name,
                           const char *text)
{
	xmlNodePtr n = NULL;
	const char *safe;
	char *copy;

	if (b->oom || b->st != ERR_OK)
		return NULL;
	safe = xml_safe(b, name, text, &copy);
	if (!safe)
		return NULL;
	indent(b, parent, depth);
	n = xmlNewTextChild(parent, NULL, CXML name, CXML safe);
	free(copy);
	if (!n)
		b->oom = 1;
	return n;
}

static xmlNodePtr add_open(struct builder *b, xmlNodePtr parent, int depth, const char *name)
{
	xmlNodePtr n;

	if (b->oom || b->st != ERR_OK)
		return NULL;
	indent(b, parent, depth);
	n = xmlNewChild(parent, NULL, CXML name, NULL);
	if (!n)
		b->oom = 1;
	return n;
}

static void add_close(struct builder *b, xmlNodePtr n, int depth)
{
	if (n)
		indent(b, n, depth);
}

static void fmt_double(char *out, size_t size, double v)
{
	/* The shortest form that reads back to the same double. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static void build_fields(struct builder *b, xmlNodePtr parent, int depth, const void *base,
                         const struct field *fields, size_t n);

static void build_questions(struct builder *b, xmlNodePtr parent, int depth,
                            const struct record_issue *is)
{
	xmlNodePtr list, qa;

	if (!is->n_questions)
		return;
	list = add_open(b, parent, depth, "questions");
	for (size_t i = 0; list && i < is->n_questions; i++) {
		const struct record_qa *q = &is->questions[i];

		if (!q->question || !q->answer) {
			b->st = err_set(b->e, ERR_PERM,
			                "%s: questions[%zu] needs a question and "
			                "an answer",
			                b->where, i);
			return;
		}
		qa = add_open(b, list, depth + 1, "qa");
		if (!qa)
			return;
		add_text(b, qa, depth + 2, "question", q->question);
		add_text(b, qa, depth + 2, "answer", q->answer);
		add_close(b, qa, depth + 1);
	}
	add_close(b, list, depth);
}

static void build_comments(struct builder *b, xmlNodePtr parent, int depth,
                           const struct record_issue *is)
{
	const char *where = b->where;
	xmlNodePtr list, c;

	if (!is->n_comments)
		return;
	list = add_open(b, parent, depth, "comments");
	b->where = "issue.comments";
	for (size_t i = 0; list && i < is->n_comments; i++) {
		c = add_open(b, list, depth + 1, "comment");
		if (!c)
			break;
		build_fields(b, c, depth + 2, &is->comments[i], comment_fields,
		             sizeof(comment_fields) / sizeof(comment_fields[0]));
		add_close(b, c, depth + 1);
	}
	b->where = where;
	add_close(b, list, depth);
}

/* Lists are bounded so that a part stays small whatever its items hold;
 * said here in words rather than by the schema's "maxOccurs" message. */
static int list_fits(struct builder *b, const struct field *f, size_t n)
{
	if (n <= RECORD_PART_MAX)
		return 1;
	b->st = err_set(b->e, ERR_PERM, "%s: %zu %s, over the %d a record may hold", b->where, n,
	                f->name, RECORD_PART_MAX);
	return 0;
}

static void build_ints(struct builder *b, xmlNodePtr parent, int depth, const void *base,
                       const struct field *f)
{
	const int64_t *arr = *(int64_t *const *)((const char *)base + f->off);
	size_t n = *(const size_t *)((const char *)base + f->count_off);
	char num[32];

	if (!list_fits(b, f, n))
		return;
	for (size_t i = 0; arr && i < n; i++) {
		snprintf(num, sizeof(num), "%lld", (long long)arr[i]);
		add_text(b, parent, depth, f->name, num);
	}
}

static void build_list(struct builder *b, xmlNodePtr parent, int depth, const void *base,
                       const struct field *f)
{
	const char *arr = *(char *const *)((const char *)base + f->off);
	size_t n = *(const size_t *)((const char *)base + f->count_off);
	xmlNodePtr list, item;

	if (!arr || !n || !list_fits(b, f, n))
		return;
	list = add_open(b, parent, depth, f->name);
	for (size_t i = 0; list && i < n && !b->oom && b->st == ERR_OK; i++) {
		item = add_open(b, list, depth + 1, f->item);
		if (!item)
			break;
		build_fields(b, item, depth + 2, arr + i * f->item_size, f->sub, f->n_sub);
		add_close(b, item, depth + 1);
	}
	add_close(b, list, depth);
}

static void build_fields(struct builder *b, xmlNodePtr parent, int depth, const void *base,
                         const struct field *fields, size_t n)
{
	char num[40];

	for (size_t i = 0; i < n && !b->oom && b->st == ERR_OK; i++) {
		const struct field *f = &fields[i];
		const char *text;

		switch (f->type) {
		case F_INT:
		case F_OPTINT:
			if (f->type == F_OPTINT &&
			    *(const int64_t *)((const char *)base + f->off) == 0)
				break;
			snprintf(num, sizeof(num), "%lld",
			         (long long)*(const int64_t *)((const char *)base + f->off));
			add_text(b, parent, depth, f->name, num);
			break;
		case F_DOUBLE: {
			double v = *(const double *)((const char *)base + f->off);

			if (!isfinite(v)) {
				b->st = err_set(b->e, ERR_PERM, "%s: %s is not a finite number",
				                b->where, f->name);
				break;
			}
			fmt_double(num, sizeof(num), v);
			add_text(b, parent, depth, f->name, num);
			break;
		}
		case F_BOOL:
			add_text(b, parent, depth, f->name,
			         *(const int *)((const char *)base + f->off) ? "true" : "false");
			break;
		case F_TEXT:
			text = *(char *const *)((const char *)base + f->off);
			if (text)
				add_text(b, parent, depth, f->name, text);
			else if (f->required)
				b->st = err_set(b->e, ERR_PERM, "%s: %s is required", b->where,
				                f->name);
			break;
		case F_QUESTIONS:
			build_questions(b, parent, depth, base);
			break;
		case F_COMMENTS:
			build_comments(b, parent, depth, base);
			break;
		case F_INTS:
			build_ints(b, parent, depth, base, f);
			break;
		case F_LIST:
			build_list(b, parent, depth, base, f);
			break;
		}
	}
}

/* The unsigned tree: envelope, payload and a placeholder signature that
 * carries the key id (the value is filled in after canonicalization). */
static xmlDocPtr build_doc(struct builder *b, const struct record *r, const struct kind_desc *d,
                           const char *key_id)
{
	static const char zero_sig[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	                               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
	xmlNodePtr root, payload, sig;
	char num[32];
	xmlDocPtr doc;

	doc = xmlNewDoc(CXML "1.0");
	root = doc ? xmlNewDocNode(doc, NULL, CXML "record", NULL) : NULL;
	if (!root) {
		b->oom = 1;
		xmlFreeDoc(doc);
		return NULL;
	}
	xmlDocSetRootElement(doc, root);
	snprintf(num, sizeof(num), "%u", r->format_version);
	if (!xmlNewProp(root, CXML "format", CXML num))
		b->oom = 1;
	add_text(b, root, 1, "producer", r->producer);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)r->seq);
	add_text(b, root, 1, "seq", num);
	add_text(b, root, 1, "kind", d->name);
	add_text(b, root, 1, "created", r->created);
	add_text(b, root, 1, "key", r->key);
	payload = add_open(b, root, 1, d->name);
	if (payload) {
		build_fields(b, payload, 2, &r->u, d->fields, d->n_fields);
		add_close(b, payload, 1);
	}
	sig = add_text(b, root, 1, "signature", zero_sig);
	if (sig && (!xmlNewProp(sig, CXML "algorithm", CXML "ed25519") ||
	            !xmlNewProp(sig, CXML "key-id", CXML key_id)))
		b->oom = 1;
	add_close(b, root, 0);
	return doc;
}

static enum err_status check_envelope(struct record *r, const struct kind_desc *d,
                                      const struct sig_key *key, struct err *e)
{
	if (!d)
		return err_set(e, ERR_PERM, "record: unknown kind %d", (int)r->kind);
	if (!key || !sig_key_can_sign(key))
		return err_set(e, ERR_FATAL, "record: a private key is needed to sign");
	if (r->format_version != RECORD_FORMAT_VERSION)
		return err_set(e, ERR_PERM, "record: cannot write format version %u",
		               r->format_version);
	if (!record_producer_valid(r->producer))
		return err_set(e, ERR_PERM, "record: producer \"%.40s\" is not a valid id",
		               r->producer);
	if (!r->key || !r->key[0])
		return err_set(e, ERR_PERM, "record %s/%llu: no idempotency key", r->producer,
		               (unsigned long long)r->seq);
	if (!r->created[0])
		when_utc(spool_now(), r->created);
	return ERR_OK;
}

/*
 * The file is the canonical form itself, after an XML declaration: the
 * canonical form of the unsigned record with the signature element put
 * back where the signer took it out, just before the root's closing
 * text "\n</record>".  A reader that parses the file and takes the
 * signature out again gets back exactly the bytes that were signed
 * (canonicalization is idempotent), whatever the text holds.
 */
static enum err_status write_signed(struct buf *out, const xmlChar *c14n, size_t clen,
                                    const char *key_id, const char *b64, struct err *e)
{
	static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
	static const char tail[] = "\n</record>";
	size_t head;
	enum err_status st;

	if (clen < sizeof(tail) - 1 ||
	    memcmp(c14n + clen - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
		return err_set(e, ERR_PERM, "record: canonical form does not end in </record>");
	head = clen - (sizeof(tail) - 1);
	st = buf_add(out, decl, sizeof(decl) - 1);
	if (st == ERR_OK)
		st = buf_add(out, c14n, head);
	if (st == ERR_OK)
		st = buf_addf(out,
		              "<signature algorithm=\"ed25519\" key-id=\"%s\">%s</signature>%s\n",
		              key_id, b64, tail);
	if (st == ERR_TEMP)
		return err_set(e, st, "record: out of memory for the output");
	if (st != ERR_OK)
		return err_set(e, st, "record: %zu bytes do not fit the output buffer",
		               clen + sizeof(decl) + (size_t)4 * SIG_BYTES);
	return ERR_OK;
}

/* Validate the built tree (its signature a placeholder of the same
 * type), sign its canonical form and write the file into out. */
static enum err_status sign_doc(xmlDocPtr doc, const struct sig_key *key, const char *key_id,
                                struct buf *out, struct err *e)
{
	unsigned char sig[SIG_BYTES];
	char b64[4 * SIG_BYTES / 3 + 4];
	xmlChar *c14n = NULL;
	enum err_status st;
	xmlNodePtr node;
	int clen = 0;

	st = validate(doc, e);
	if (st != ERR_OK)
		return st;
	node = find_signature(doc);
	st = canonical(doc, node, &c14n, &clen, e);
	xmlFreeNode(node);
	if (st == ERR_OK)
		st = sig_sign(key, c14n, (size_t)clen, sig, e);
	if (st == ERR_OK) {
		EVP_EncodeBlock((unsigned char *)b64, sig, SIG_BYTES);
		st = write_signed(out, c14n, (size_t)clen, key_id, b64, e);
	}
	xmlFree(c14n);
	return st;
}

enum err_status record_encode(struct record *r, const struct sig_key *key, struct buf *out,
                              struct err *e)
{
	const struct kind_desc *d = kind_desc(r->kind);
	struct builder b = {0, ERR_OK, e, NULL};
	char key_id[SIG_KEY_ID_LEN + 1];
	enum err_status st;
	struct xml_guard g;
	xmlDocPtr doc;

	st = check_envelope(r, d, key, e);
	if (st != ERR_OK)
		return st;
	sig_key_id(key, key_id);
	b.where = d->name;
	guard_begin(&g);
	doc = build_doc(&b, r, d, key_id);
	if (b.st != ERR_OK)
		st = b.st;
	else if (b.oom || g.oom) /* g.oom: a node may lack its name */
		st = err_set(e, ERR_TEMP, "record: out of memory");
	else
		st = sign_doc(doc, key, key_id, out, e);
	xmlFreeDoc(doc);
	st = guard_end(&g, st, e);
	if (st != ERR_OK)
		err_prefix(e, "record %s/%llu (%s): ", r->producer, (unsigned long long)r->seq,
		           d->name);
	return st;
}
