/*
 * bundle_read.c: reading and verifying bundles in memory, entry by entry,
 * without ever extracting anything (see "Reading contract" in bundle.h).
 */
#include "bundle_int.h"
#include "xmlgate.h"
#include "num.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>
#include <openssl/evp.h>

void bundle_limits_default(struct bundle_limits *l)
{
	l->max_entry_bytes = BUNDLE_MAX_ENTRY_BYTES;
	l->max_entries = BUNDLE_MAX_ENTRIES;
	l->max_total_bytes = BUNDLE_MAX_TOTAL_BYTES;
}

void bundle_info_release(struct bundle_info *info)
{
	if (!info)
		return;
	free(info->ranges);
	memset(info, 0, sizeof(*info));
}

void bundle_table_release(struct bundle_table *t)
{
	free(t->rows);
	free(t->producers);
	memset(t, 0, sizeof(*t));
}

void bundle_table_name(const struct bundle_table *t, size_t i, char out[RECORD_NAME_MAX])
{
	record_file_name(out, t->rows[i].seq, t->producers[t->rows[i].producer]);
}

void bundle_sig_statement(const char sha_hex[65], char out[128])
{
	snprintf(out, 128, "scfgate-bundle-manifest %d sha256=%s\n", BUNDLE_FORMAT_VERSION,
	         sha_hex);
}

void bundle_safe_name(const char *name, char out[96])
{
	size_t o = 0;

	if (!name) {
		snprintf(out, 96, "(unreadable name)");
		return;
	}
	for (; *name && o < 80; name++)
		out[o++] = isprint((unsigned char)*name) ? *name : '?';
	if (*name)
		out[o++] = '.', out[o++] = '.', out[o++] = '.';
	out[o] = '\0';
}

/* ---- the manifest schema ------------------------------------------------------ */

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static xmlSchemaPtr schema;

static void schema_load(void)
{
	xmlSchemaParserCtxtPtr pc;

	xmlInitParser();
	pc = xmlSchemaNewMemParserCtxt(manifest_xsd_text, (int)strlen(manifest_xsd_text));
	if (!pc)
		return;
	schema = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
}

/* ---- reader state --------------------------------------------------------------- */

enum phase { PH_RECORDS, PH_MANIFEST_READ, PH_SIGNED };

/*
 * What one pass over the archive does.  With a public key nothing is
 * parsed before the manifest signature verified: a RAW pass only hashes
 * the records and the manifest (through the lexical gate) and checks the
 * signature, then a FULL pass, whose every record must have the bytes
 * the RAW pass hashed, parses the manifest and decodes the records.
 * RECHECK is an acting caller's second read (expect from its own FULL
 * read): the bytes are compared, not decoded again.
 */
enum pass { PASS_RAW, PASS_FULL, PASS_RECHECK };

struct rd {
	const struct bundle_read_opts *o;
	struct bundle_limits lim;
	struct archive *a;
	const struct bundle_table *expect;
	struct bundle_table t; /* rows seen (pass 1) */
	const struct bundle_table *ref;
	struct bundle_info *info;
	enum pass pass;
	int decode; /* decode and verify each record (record_pub, FULL pass) */
	enum phase phase;
	size_t n_records;
	char last_name[RECORD_NAME_MAX];
	int last_kind; /* of the record check_record_content decoded last */
	uint64_t total;
	struct buf data;
	/* the manifest being parsed */
	EVP_MD_CTX *md;
	uint64_t mf_bytes, mf_cap;
	char head[sizeof(BUNDLE_MANIFEST_HEAD)];
	size_t head_len;
	int mf_io_err;
	struct xmlgate_limits gate_lim;
	struct xmlgate gate;
	char mf_sha[65];
	size_t mf_entries;
	struct err *e;
	int e_set;
};

/* The first error wins; later ones are consequences. */
static enum err_status fail(struct rd *r, enum err_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum err_status fail(struct rd *r, enum err_status st, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	if (r->e_set)
		return r->e ? r->e->status : st;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->e_set = 1;
	return err_set(r->e, st, "%s", msg);
}

static int producer_index(struct bundle_table *t, const char *producer)
{
	for (size_t i = t->n_producers; i > 0; i--)
		if (strcmp(t->producers[i - 1], producer) == 0)
			return (int)(i - 1);
	if (t->n_producers >= 1024)
		return -1;
	void *np = realloc(t->producers, (t->n_producers + 1) * sizeof(*t->producers));
	if (!np)
		return -1;
	t->producers = np;
	snprintf(t->producers[t->n_producers], sizeof(*t->producers), "%s", producer);
	return (int)t->n_producers++;
}

static int table_push(struct bundle_table *t, uint64_t seq, const char *producer, uint64_t size,
                      const unsigned char sha[32])
{
	int p = producer_index(t, producer);

	if (p < 0)
		return -1;
	if (t->n == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 256;
		void *nr = realloc(t->rows, na * sizeof(*t->rows));
		if (!nr)
			return -1;
		t->rows = nr;
		t->alloc = na;
	}
	t->rows[t->n].seq = seq;
	t->rows[t->n].size = (uint32_t)size;
	t->rows[t->n].producer = (uint16_t)p;
	memcpy(t->rows[t->n].sha, sha, 32);
	t->n++;
	return 0;
}

/* 1 if row i of t is exactly (seq, producer, size, sha). */
static int row_is(const struct bundle_table *t, size_t i, uint64_t seq, const char *producer,
                  uint64_t size, const unsigned char sha[32])
{
	const struct bundle_row *w;

	if (i >= t->n)
		return 0;
	w = &t->rows[i];
	return w->seq == seq && w->size == size && memcmp(w->sha, sha, 32) == 0 &&
	       strcmp(t->producers[w->producer], producer) == 0;
}

/* ---- entry headers ------------------------------------------------------------------ */

static const char *type_name(struct archive_entry *ae)
{
	switch (archive_entry_filetype(ae)) {
	case AE_IFLNK:
		return "a symbolic link";
	case AE_IFDIR:
		return "a directory";
	case AE_IFCHR:
		return "a character device";
	case AE_IFBLK:
		return "a block device";
	case AE_IFIFO:
		return "a fifo";
	case AE_IFSOCK:
		return "a socket";
	default:
		return "not a regular file";
	}
}

/* Refuse every name and type that is not a plain file of ours. */
static enum err_status check_header(struct rd *r, struct archive_entry *ae, size_t index)
{
	const char *name = archive_entry_pathname(ae);
	char safe[96];

	bundle_safe_name(name, safe);
	if (!name || !*name)
		return fail(r, ERR_PERM, "entry %zu: no readable name", index);
	if (name[0] == '/')
		return fail(r, ERR_PERM, "entry '%s': absolute path refused", safe);
	if (strstr(name, ".."))
		return fail(r, ERR_PERM, "entry '%s': '..' (path traversal) refused", safe);
	if (strchr(name, '/') || strchr(name, '\\'))
		return fail(r, ERR_PERM, "entry '%s': a path with directories refused", safe);
	if (archive_entry_hardlink(ae))
		return fail(r, ERR_PERM, "entry '%s': a hard link refused", safe);
	if (archive_entry_filetype(ae) == AE_IFLNK) {
		char target[96];
		bundle_safe_name(archive_entry_symlink(ae), target);
		return fail(r, ERR_PERM, "entry '%s': a symbolic link (to '%s') refused", safe,
		            target);
	}
	if (archive_entry_filetype(ae) != AE_IFREG)
		return fail(r, ERR_PERM, "entry '%s': %s refused", safe, type_name(ae));
	/* The manifest grows with the entries; it has its own cap. */
	if (strcmp(name, BUNDLE_MANIFEST_NAME) != 0 && archive_entry_size_is_set(ae) &&
	    archive_entry_size(ae) >= 0 &&
	    (uint64_t)archive_entry_size(ae) > r->lim.max_entry_bytes)
		return fail(r, ERR_PERM, "entry '%s': %" PRId64 " bytes, over the %zu-byte limit",
		            safe, (int64_t)archive_entry_size(ae), r->lim.max_entry_bytes);
	return ERR_OK;
}

static enum err_status archive_fail(struct rd *r, const char *safe, const char *what)
{
	const char *why = archive_error_string(r->a);

	return fail(r, ERR_PERM, "entry '%s': %s: truncated or corrupt archive: %s", safe, what,
	            why ? why : "read error");
}

/* The whole entry into r->data, under the limits. */
static enum err_status read_entry(struct rd *r, const char *safe, size_t cap)
{
	char chunk[16384];
	la_ssize_t n;

	buf_reset(&r->data);
	r->data.cap = cap;
	while ((n = archive_read_data(r->a, chunk, sizeof(chunk))) > 0) {
		r->total += (uint64_t)n;
		if (r->total > r->lim.max_total_bytes)
			return fail(r, ERR_PERM,
			            "entry '%s': bundle over the %" PRIu64 "-byte limit", safe,
			            r->lim.max_total_bytes);
		if (buf_add(&r->data, chunk, (size_t)n) != ERR_OK)
			return fail(r, ERR_PERM, "entry '%s': over the %zu-byte limit", safe, cap);
	}
	if (n < 0)
		return archive_fail(r, safe, "reading data");
	return ERR_OK;
}

/* ---- record entries ------------------------------------------------------------------ */

static enum err_status check_record_content(struct rd *r, const char *name, uint64_t seq,
                                            const char *producer)
{
	struct record *rec = NULL;
	enum err_status st;

	st = record_decode(r->data.data ? r->data.data : "", r->data.len, r->o->record_pub, &rec,
	                   r->e);
	if (st != ERR_OK) {
		r->e_set = 1;
		return err_prefix(r->e, "entry '%s': record refused: ", name);
	}
	if (rec->seq != seq || strcmp(rec->producer, producer) != 0)
		st = fail(r, ERR_PERM, "entry '%s': the record says producer %s seq %" PRIu64, name,
		          rec->producer, rec->seq);
	r->last_kind = (int)rec->kind;
	record_free(rec);
	return st;
}

static enum err_status on_record(struct rd *r, const char *name)
{
	char canon[RECORD_NAME_MAX], producer[RECORD_PRODUCER_MAX + 1], hex[65];
	unsigned char sha[32];
	struct bundle_entry ent;
	enum err_status st;
	uint64_t seq;
	int c;

	if (r->phase != PH_RECORDS)
		return fail(r, ERR_PERM, "entry '%s': a record after manifest.xml", name);
	if (record_parse_file_name(name, &seq, producer) != 0 || seq == 0)
		return fail(r, ERR_PERM, "entry '%s': unexpected file name", name);
	record_file_name(canon, seq, producer);
	if (strcmp(canon, name) != 0)
		return fail(r, ERR_PERM, "entry '%s': not a canonical record name", name);
	c = strcmp(name, r->last_name);
	if (r->n_records > 0 && c == 0)
		return fail(r, ERR_PERM, "entry '%s': duplicate name", name);
	if (r->n_records > 0 && c < 0)
		return fail(r, ERR_PERM, "entry '%s': out of order (after %s)", name, r->last_name);
	if (r->n_records >= r->lim.max_entries)
		return fail(r, ERR_PERM, "entry '%s': more than %zu entries", name,
		            r->lim.max_entries);
	if (snprintf(r->last_name, sizeof(r->last_name), "%s", name) >= (int)sizeof(r->last_name))
		return fail(r, ERR_PERM, "entry '%s': name too long", name);
	st = read_entry(r, name, r->lim.max_entry_bytes);
	if (st != ERR_OK)
		return st;
	sig_sha256(r->data.data ? r->data.data : "", r->data.len, sha, hex);
	if (r->expect && !row_is(r->expect, r->n_records, seq, producer, r->data.len, sha))
		return fail(r, ERR_PERM, "entry '%s': differs from the bundle verified before",
		            name);
	/* Decoded only in the FULL pass, after the signature verified; a
	 * RECHECK has just matched these bytes to ones a FULL pass decoded:
	 * SHA-256 makes decoding them again moot. */
	if (r->decode) {
		st = check_record_content(r, name, seq, producer);
		if (st != ERR_OK)
			return st;
	}
	if (!r->expect && table_push(&r->t, seq, producer, r->data.len, sha) != 0)
		return fail(r, ERR_TEMP, "entry '%s': out of memory", name);
	r->n_records++;
	if (!r->o->fn || r->pass == PASS_RAW)
		return ERR_OK;
	ent = (struct bundle_entry){
	    name, seq, producer, r->data.len, hex, r->data.data, r->decode ? r->last_kind : 0};
	st = r->o->fn(&ent, r->o->ctx, r->e);
	if (st != ERR_OK)
		r->e_set = 1;
	return st;
}

/* ---- manifest.xml ------------------------------------------------------------------------ */

static int mf_read(void *ctx, char *out, int len)
{
	struct rd *r = ctx;
	la_ssize_t n = archive_read_data(r->a, out, (size_t)len);
	struct err ge;

	if (n < 0) {
		archive_fail(r, BUNDLE_MANIFEST_NAME, "reading data");
		r->mf_io_err = 1;
		return -1;
	}
	r->mf_bytes += (uint64_t)n;
	r->total += (uint64_t)n;
	if (r->mf_bytes > r->mf_cap || r->total > r->lim.max_total_bytes) {
		fail(r, ERR_PERM, "entry 'manifest.xml': over the %" PRIu64 "-byte limit",
		     r->mf_cap);
		r->mf_io_err = 1;
		return -1;
	}
	for (la_ssize_t i = 0; i < n && r->head_len < sizeof(BUNDLE_MANIFEST_HEAD) - 1; i++)
		r->head[r->head_len++] = out[i];
	if (strncmp(r->head, BUNDLE_MANIFEST_HEAD, r->head_len) != 0) {
		fail(r, ERR_PERM,
		     "entry 'manifest.xml': does not start with the manifest "
		     "declaration and root element (DTDs are not allowed)");
		r->mf_io_err = 1;
		return -1;
	}
	/* libxml2 sees only what the gate let through. */
	err_clear(&ge);
	if ((n > 0 ? xmlgate_feed(&r->gate, out, (size_t)n, &ge) : xmlgate_finish(&r->gate, &ge)) !=
	    ERR_OK) {
		fail(r, ERR_PERM, "entry 'manifest.xml': %s", ge.msg);
		r->mf_io_err = 1;
		return -1;
	}
	EVP_DigestUpdate(r->md, out, (size_t)n);
	return (int)n;
}

static void mf_error(void *ctx, xmlErrorPtr err)
{
	struct rd *r = ctx;
	char msg[300];
	size_t n;

	if (!err || r->e_set)
		return;
	snprintf(msg, sizeof(msg), "%s", err->message ? err->message : "error");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	fail(r, ERR_PERM, "entry 'manifest.xml': line %d: %s", err->line, msg);
}

static char *attr(xmlTextReaderPtr x, const char *name)
{
	return (char *)xmlTextReaderGetAttribute(x, (const xmlChar *)name);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int unhex(const char *s, unsigned char raw[32])
{
	if (!s || strlen(s) != 64)
		return -1;
	/* sscanf("%2x") would also take " f", "+f" and "-1" as a byte */
	for (size_t i = 0; i < 32; i++)
		if (num_hex_byte(s + 2 * i, &raw[i]) != 0)
			return -1;
	return 0;
}

static enum err_status mf_entry(struct rd *r, xmlTextReaderPtr x)
{
	char *name = attr(x, "name"), *size = attr(x, "size"), *sha = attr(x, "sha256");
	char producer[RECORD_PRODUCER_MAX + 1], safe[96];
	enum err_status st = ERR_OK;
	unsigned char raw[32];
	uint64_t seq = 0, sz = 0;

	bundle_safe_name(name, safe);
	if (!name || record_parse_file_name(name, &seq, producer) != 0 || parse_u64(size, &sz) ||
	    unhex(sha, raw))
		st = fail(r, ERR_PERM, "manifest.xml: line %d: malformed entry '%s'",
		          xmlTextReaderGetParserLineNumber(x), safe);
	else if (r->mf_entries >= r->ref->n)
		st = fail(r, ERR_PERM, "manifest.xml: lists '%s', which the bundle does not carry",
		          safe);
	else if (!row_is(r->ref, r->mf_entries, seq, producer, sz, raw)) {
		char have[RECORD_NAME_MAX];
		bundle_table_name(r->ref, r->mf_entries, have);
		st = fail(r, ERR_PERM,
		          "entry '%s': size or SHA-256 does not match the manifest (manifest entry "
		          "%zu is '%s')",
		          have, r->mf_entries + 1, safe);
	}
	r->mf_entries++;
	xmlFree(name);
	xmlFree(size);
	xmlFree(sha);
	return st;
}

static enum err_status mf_range(struct rd *r, xmlTextReaderPtr x)
{
	char *p = attr(x, "producer"), *f = attr(x, "first"), *l = attr(x, "last"),
	     *c = attr(x, "count");
	struct bundle_info *in = r->info;
	struct bundle_range *g;
	enum err_status st = ERR_OK;

	if (in->n_ranges >= BUNDLE_MAX_RANGES) {
		st = fail(r, ERR_PERM, "manifest.xml: more than %zu ranges", BUNDLE_MAX_RANGES);
		goto out;
	}
	g = realloc(in->ranges, (in->n_ranges + 1) * sizeof(*g));
	if (!g) {
		st = fail(r, ERR_TEMP, "manifest.xml: out of memory");
		goto out;
	}
	in->ranges = g;
	g = &in->ranges[in->n_ranges];
	memset(g, 0, sizeof(*g));
	if (!p || strlen(p) > RECORD_PRODUCER_MAX || parse_u64(f, &g->first) ||
	    parse_u64(l, &g->last) || parse_u64(c, &g->count) || g->first > g->last) {
		st = fail(r, ERR_PERM, "manifest.xml: line %d: malformed range",
		          xmlTextReaderGetParserLineNumber(x));
		goto out;
	}
	snprintf(g->producer, sizeof(g->producer), "%s", p);
	in->n_ranges++;
out:
	xmlFree(p);
	xmlFree(f);
	xmlFree(l);
	xmlFree(c);
	return st;
}

static void mf_text(struct rd *r, const char *elem, const char *text)
{
	struct bundle_info *in = r->info;
	static const struct {
		const char *name;
		size_t off, size;
	} fields[] = {
	    {"signer", offsetof(struct bundle_info, signer), RECORD_PRODUCER_MAX + 1},
	    {"key-id", offsetof(struct bundle_info, key_id), SIG_KEY_ID_LEN + 1},
	    {"created", offsetof(struct bundle_info, created), 40},
	    {"queue", offsetof(struct bundle_info, queue), SPOOL_QUEUE_MAX + 1},
	    {"source", offsetof(struct bundle_info, source), 16},
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(elem, fields[i].name) == 0)
			snprintf((char *)in + fields[i].off, fields[i].size, "%s", text);
}

static enum err_status mf_node(struct rd *r, xmlTextReaderPtr x, char *elem, size_t elem_size)
{
	int type = xmlTextReaderNodeType(x), depth = xmlTextReaderDepth(x);
	const char *name = (const char *)xmlTextReaderConstLocalName(x);

	if (type == XML_READER_TYPE_DOCUMENT_TYPE)
		return fail(r, ERR_PERM, "manifest.xml: a DTD is not allowed");
	if (type == XML_READER_TYPE_TEXT && depth == 2) {
		mf_text(r, elem, (const char *)xmlTextReaderConstValue(x));
		return ERR_OK;
	}
	if (type != XML_READER_TYPE_ELEMENT || !name)
		return ERR_OK;
	if (depth == 0) {
		char *kind = attr(x, "kind");
		r->info->kind = kind && strcmp(kind, "ack") == 0 ? BUNDLE_ACK : BUNDLE_RECORDS;
		xmlFree(kind);
		return ERR_OK;
	}
	if (depth != 1)
		return ERR_OK;
	snprintf(elem, elem_size, "%s", name);
	if (strcmp(name, "entry") == 0)
		return mf_entry(r, x);
	if (strcmp(name, "range") == 0)
		return mf_range(r, x);
	return ERR_OK;
}

static enum err_status on_manifest(struct rd *r, struct archive_entry *ae)
{
	char elem[32] = "";
	unsigned char raw[32];
	unsigned int n = 32;
	xmlTextReaderPtr x = NULL;
	enum err_status st = ERR_OK;
	int rc;

	if (r->phase != PH_RECORDS)
		return fail(r, ERR_PERM, "entry 'manifest.xml': duplicate name");
	pthread_once(&schema_once, schema_load);
	if (!schema)
		return fail(r, ERR_FATAL, "the embedded manifest.xsd does not load");
	r->ref = r->expect ? r->expect : &r->t;
	r->mf_cap = (uint64_t)r->ref->n * 256 + 65536;
	if (archive_entry_size_is_set(ae) && archive_entry_size(ae) >= 0 &&
	    (uint64_t)archive_entry_size(ae) > r->mf_cap)
		return fail(r, ERR_PERM,
		            "entry 'manifest.xml': %" PRId64 " bytes, over the %" PRIu64
		            "-byte limit for %zu records",
		            (int64_t)archive_entry_size(ae), r->mf_cap, r->ref->n);
	r->md = EVP_MD_CTX_new();
	if (!r->md || !EVP_DigestInit_ex(r->md, EVP_sha256(), NULL))
		return fail(r, ERR_TEMP, "manifest.xml: out of memory");
	/* Bounded like a record: size (mf_cap), attributes and namespace
	 * declarations per element, depth, no declarations. */
	xmlgate_limits_default(&r->gate_lim, (size_t)r->mf_cap);
	xmlgate_init(&r->gate, &r->gate_lim);
	if (r->pass == PASS_RAW) /* hashed and gated, not parsed */
		goto digest;
	x = xmlReaderForIO(mf_read, NULL, r, BUNDLE_MANIFEST_NAME, "UTF-8",
	                   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!x)
		return fail(r, ERR_TEMP, "manifest.xml: out of memory");
	xmlTextReaderSetStructuredErrorHandler(x, mf_error, r);
	if (xmlTextReaderSetSchema(x, schema) != 0) {
		st = fail(r, ERR_FATAL, "manifest.xml: cannot attach the schema");
		goto out;
	}
	while (st == ERR_OK && (rc = xmlTextReaderRead(x)) == 1)
		st = mf_node(r, x, elem, sizeof(elem));
	if (st != ERR_OK || r->e_set)
		goto out_fail;
	if (rc != 0 || r->mf_io_err)
		goto out_fail;
	if (xmlTextReaderIsValid(x) != 1) {
		st = fail(r, ERR_PERM, "entry 'manifest.xml': not valid against manifest.xsd");
		goto out;
	}
digest:
	/* Whatever the parser did not need still counts for the digest. */
	{
		char rest[4096];
		while ((rc = mf_read(r, rest, sizeof(rest))) > 0)
			;
		if (rc < 0)
			goto out_fail;
	}
	if (r->pass != PASS_RAW && r->mf_entries != r->ref->n) {
		st = fail(r, ERR_PERM,
		          "manifest.xml: lists %zu entries, the bundle carries %zu record files",
		          r->mf_entries, r->ref->n);
		goto out;
	}
	EVP_DigestFinal_ex(r->md, raw, &n);
	sig_hex(raw, 32, r->mf_sha);
	r->phase = PH_MANIFEST_READ;
	goto out;
out_fail:
	st = fail(r, ERR_PERM, "entry 'manifest.xml': not well-formed XML%s",
	          r->mf_bytes == 0 ? " (empty)" : "");
out:
	xmlFreeTextReader(x);
	EVP_MD_CTX_free(r->md);
	r->md = NULL;
	return st;
}

/* ---- manifest.sig ---------------------------------------------------------------------------- */

static enum err_status on_signature(struct rd *r)
{
	char algo[16], kid[SIG_KEY_ID_LEN + 2], b64[128], want[SIG_KEY_ID_LEN + 1];
	char stmt[128];
	unsigned char sig[96];
	int n;

	if (r->phase == PH_RECORDS)
		return fail(r, ERR_PERM, "entry 'manifest.sig': before manifest.xml");
	if (r->phase == PH_SIGNED)
		return fail(r, ERR_PERM, "entry 'manifest.sig': duplicate name");
	if (read_entry(r, BUNDLE_SIG_NAME, 512) != ERR_OK)
		return r->e ? r->e->status : ERR_PERM;
	/* %17s: one more than a key id, so a longer one is seen as too long */
	_Static_assert(SIG_KEY_ID_LEN == 16, "the key id width in the format below");
	if (!r->data.data || sscanf(r->data.data, "%15s %17s %127s", algo, kid, b64) != 3 ||
	    strcmp(algo, "ed25519") != 0 || strlen(kid) != SIG_KEY_ID_LEN)
		return fail(r, ERR_PERM, "entry 'manifest.sig': not 'ed25519 KEYID SIGNATURE'");
	/* kid is exactly SIG_KEY_ID_LEN characters (checked above). */
	memcpy(r->info->key_id, kid, SIG_KEY_ID_LEN + 1);
	if (!r->o->pub) {
		r->phase = PH_SIGNED;
		return ERR_OK;
	}
	sig_key_id(r->o->pub, want);
	if (strcmp(kid, want) != 0)
		return fail(r, ERR_PERM,
		            "entry 'manifest.sig': signed by key %s, not by the expected key %s",
		            kid, want);
	n = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)strlen(b64));
	if (strlen(b64) != 88 || n != 66 || b64[86] != '=' || b64[87] != '=')
		return fail(r, ERR_PERM,
		            "entry 'manifest.sig': signature is not 64 bytes of base64");
	bundle_sig_statement(r->mf_sha, stmt);
	if (sig_verify(r->o->pub, stmt, strlen(stmt), sig, NULL) != ERR_OK)
		return fail(r, ERR_PERM,
		            "entry 'manifest.sig': bad signature: manifest.xml was altered or not "
		            "signed by key %s",
		            want);
	r->phase = PH_SIGNED;
	r->info->signature_checked = 1;
	return ERR_OK;
}

/* ---- the walk ------------------------------------------------------------------------------ */

static enum err_status walk(struct rd *r)
{
	struct archive_entry *ae;
	enum err_status st = ERR_OK;
	size_t index = 0;
	int rc;

	while (st == ERR_OK && (rc = archive_read_next_header(r->a, &ae)) != ARCHIVE_EOF) {
		const char *name;
		char safe[96];

		index++;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			const char *why = archive_error_string(r->a);
			return fail(r, ERR_PERM,
			            "after entry %zu%s%s: truncated or corrupt archive: %s",
			            index - 1, r->last_name[0] ? " " : "", r->last_name,
			            why ? why : "bad header");
		}
		st = check_header(r, ae, index);
		if (st != ERR_OK)
			break;
		name = archive_entry_pathname(ae);
		bundle_safe_name(name, safe);
		if (r->phase == PH_SIGNED)
			st = fail(r, ERR_PERM, "entry '%s': after manifest.sig", safe);
		else if (strcmp(name, BUNDLE_MANIFEST_NAME) == 0)
			st = on_manifest(r, ae);
		else if (strcmp(name, BUNDLE_SIG_NAME) == 0)
			st = on_signature(r);
		else if (strspn(name, "0123456789") == 20)
			st = on_record(r, safe);
		else
			st = fail(r, ERR_PERM, "entry '%s': unexpected file name", safe);
	}
	if (st != ERR_OK)
		return st;
	if (r->phase == PH_RECORDS)
		return fail(r, ERR_PERM, "no manifest.xml in the bundle (truncated?)");
	if (r->phase == PH_MANIFEST_READ)
		return fail(r, ERR_PERM, "no manifest.sig in the bundle (truncated?)");
	if (r->pass != PASS_RAW && r->info->kind == BUNDLE_ACK && r->n_records > 0)
		return fail(r, ERR_PERM, "an acknowledgment bundle must not carry records");
	r->info->n_entries = r->n_records;
	r->info->total_bytes = r->total;
	return ERR_OK;
}

/* One pass over the archive open on fd (read from its start; not closed
 * here), or, with fd < 0, over mem; name names it in messages. */
static enum err_status read_pass(const char *name, int fd, const void *mem, size_t len,
                                 const struct bundle_read_opts *o, enum pass pass,
                                 const struct bundle_table *expect, struct bundle_table *out,
                                 struct bundle_info *info, struct err *e)
{
	struct bundle_info local;
	struct rd r;
	enum err_status st;
	int rc;

	memset(&r, 0, sizeof(r));
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	r.o = o;
	r.e = e;
	r.expect = expect;
	r.pass = pass;
	r.decode = pass == PASS_FULL && o->record_pub;
	r.info = info;
	buf_init(&r.data, BUNDLE_MAX_ENTRY_BYTES);
	if (o->limits)
		r.lim = *o->limits;
	else
		bundle_limits_default(&r.lim);
	if (r.lim.max_entry_bytes > UINT32_MAX)
		r.lim.max_entry_bytes = UINT32_MAX;
	r.a = archive_read_new();
	if (!r.a) {
		st = fail(&r, ERR_TEMP, "out of memory");
		goto out;
	}
	archive_read_support_format_tar(r.a);
	archive_read_support_filter_gzip(r.a);
	archive_read_support_filter_zstd(r.a);
	archive_read_support_filter_none(r.a);
	if (fd >= 0) {
		/* the same open file for every pass: what was verified is what
		 * is read again, whatever happens to the name meanwhile */
		if (lseek(fd, 0, SEEK_SET) != 0) {
			st = err_errno(e, ERR_TEMP, errno, "%s: seek", name ? name : "bundle");
			goto out;
		}
		rc = archive_read_open_fd(r.a, fd, 65536);
	} else {
		rc = archive_read_open_memory(r.a, mem, len);
	}
	if (rc != ARCHIVE_OK) {
		const char *why = archive_error_string(r.a);
		st = fail(&r, ERR_PERM, "%s: not a bundle (truncated or corrupt archive): %s",
		          name ? name : "bundle", why ? why : "cannot open");
		goto out;
	}
	st = walk(&r);
	if (st != ERR_OK && name)
		err_prefix(e, "%s: ", name);
out:
	if (r.a)
		archive_read_free(r.a);
	buf_release(&r.data);
	if (st == ERR_OK && out && !expect) {
		*out = r.t;
		memset(&r.t, 0, sizeof(r.t));
	}
	bundle_table_release(&r.t);
	if (info == &local || st != ERR_OK)
		bundle_info_release(info);
	return st;
}

/* The two passes (or one, listing) over one open file or memory. */
static enum err_status read_src(const char *name, int fd, const void *mem, size_t len,
                                const struct bundle_read_opts *o, const struct bundle_table *expect,
                                struct bundle_table *out, struct bundle_info *info, struct err *e)
{
	struct bundle_table t;
	enum err_status st;

	if (expect)
		return read_pass(name, fd, mem, len, o, PASS_RECHECK, expect, NULL, info, e);
	if (!o->pub) /* listing: nothing to verify first */
		return read_pass(name, fd, mem, len, o, PASS_FULL, NULL, out, info, e);
	if (info) /* released by callers on any outcome */
		memset(info, 0, sizeof(*info));
	memset(&t, 0, sizeof(t));
	st = read_pass(name, fd, mem, len, o, PASS_RAW, NULL, &t, NULL, e);
	if (st == ERR_OK)
		st = read_pass(name, fd, mem, len, o, PASS_FULL, &t, NULL, info, e);
	if (st == ERR_OK && out)
		*out = t;
	else
		bundle_table_release(&t);
	return st;
}

static const char *file_type(mode_t m)
{
	return S_ISFIFO(m)   ? "a FIFO"
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
	                     : "not a plain file";
}

enum err_status bundle_open(const char *path, int *fd, struct err *e)
{
	struct stat sb;
	int f;

	*fd = -1;
	/* A bundle comes from removable media, a drop directory or the other
	 * side: a link planted under its name is never followed, and a FIFO
	 * or device is never waited on (O_NONBLOCK) nor read. */
	f = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (f < 0) {
		if (errno == ELOOP)
			return err_set(e, ERR_PERM,
			               "%s: a symbolic link, not a regular file (never followed, "
			               "nothing read)",
			               path);
		return err_errno(e, errno == ENOENT ? ERR_PERM : ERR_TEMP, errno, "%s", path);
	}
	if (fstat(f, &sb) != 0) {
		enum err_status st = err_errno(e, ERR_TEMP, errno, "%s", path);

		close(f);
		return st;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(f);
		return err_set(e, ERR_PERM, "%s: not a regular file (%s; never read)", path,
		               file_type(sb.st_mode));
	}
	*fd = f;
	return ERR_OK;
}

enum err_status bundle_read_src(const char *path, const void *mem, size_t len,
                                const struct bundle_read_opts *o, const struct bundle_table *expect,
                                struct bundle_table *out, struct bundle_info *info, struct err *e)
{
	enum err_status st;
	int fd = -1;

	if (!path)
		return read_src(NULL, -1, mem, len, o, expect, out, info, e);
	st = bundle_open(path, &fd, e);
	if (st != ERR_OK)
		return st;
	st = read_src(path, fd, NULL, 0, o, expect, out, info, e);
	close(fd);
	return st;
}

enum err_status bundle_read_fd_src(int fd, const char *name, const struct bundle_read_opts *o,
                                   const struct bundle_table *expect, struct bundle_table *out,
                                   struct bundle_info *info, struct err *e)
{
	struct stat sb;

	/* an fd from elsewhere gets the same check bundle_open makes */
	if (fstat(fd, &sb) != 0)
		return err_errno(e, ERR_TEMP, errno, "%s", name ? name : "bundle");
	if (!S_ISREG(sb.st_mode))
		return err_set(e, ERR_PERM, "%s: not a regular file (%s; never read)",
		               name ? name : "bundle", file_type(sb.st_mode));
	return read_src(name, fd, NULL, 0, o, expect, out, info, e);
}

enum err_status bundle_read_file(const char *path, const struct bundle_read_opts *o,
                                 struct bundle_info *info, struct err *e)
{
	return bundle_read_src(path, NULL, 0, o, NULL, NULL, info, e);
}

enum err_status bundle_read_fd(int fd, const char *name, const struct bundle_read_opts *o,
                               struct bundle_info *info, struct err *e)
{
	return bundle_read_fd_src(fd, name, o, NULL, NULL, info, e);
}

enum err_status bundle_read_mem(const void *data, size_t len, const struct bundle_read_opts *o,
                                struct bundle_info *info, struct err *e)
{
	return read_src(NULL, -1, data, len, o, NULL, NULL, info, e);
}
