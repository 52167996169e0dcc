/*
 * cfg.c: load, validate and check one half's configuration (see cfg.h).
 *
 * Order of work: parse (no network, no DTD, no entities), refuse a
 * DOCTYPE, validate against the embedded XSD, build the struct from the
 * tree (every node's line kept for messages), fill defaults, then the
 * semantic checks XSD cannot express.  The first problem wins: one line,
 * "FILE:LINE: element: reason".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "cfg.h"
#include "num.h"
#include "seal.h"
#include "spool.h"
#include "xmlgate.h"
#include "text.h"

#define DEFAULT_ACK                                                                                \
	"Thank you for your report. It has been forwarded to the city's work order system as "     \
	"request {request_id}."
#define DEFAULT_CLOSING                                                                            \
	"Request {request_id} has been completed and closed. Thank you for reporting it."

struct loader {
	struct cfg *c;
	const char *name;
	unsigned flags;
	struct err *e;
};

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static unsigned node_line(const xmlNode *n)
{
	long l = n ? xmlGetLineNo(n) : 0;
	return l > 0 ? (unsigned)l : 0;
}

static enum err_status fail_at(struct loader *ld, const xmlNode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum err_status fail_at(struct loader *ld, const xmlNode *n, const char *fmt, ...)
{
	char what[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(ld->e, ERR_FATAL, "%s:%u: %s: %s", ld->name, node_line(n),
	               n ? (const char *)n->name : "?", what);
}

static enum err_status nomem(struct loader *ld)
{
	return err_set(ld->e, ERR_TEMP, "%s: out of memory", ld->name);
}

/* ---- tree helpers ---------------------------------------------------- */

static xmlNode *child(const xmlNode *parent, const char *name)
{
	for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

/* Content with the ends trimmed and, for multi-line text, the indentation
 * after each newline removed (messages are usually indented in the file). */
static char *node_text(const xmlNode *n)
{
	xmlChar *raw = xmlNodeGetContent(n);
	char *out, *w;
	const char *s, *end;

	if (!raw)
		return strdup("");
	s = (const char *)raw;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	out = malloc((size_t)(end - s) + 1);
	if (out) {
		w = out;
		while (s < end) {
			char ch = *s++;
			if (ch == '\r')
				continue;
			*w++ = ch;
			if (ch == '\n')
				while (s < end && (*s == ' ' || *s == '\t'))
					s++;
		}
		*w = '\0';
	}
	xmlFree(raw);
	return out;
}

static char *child_text(const xmlNode *parent, const char *name)
{
	xmlNode *n = child(parent, name);
	return n ? node_text(n) : NULL;
}

static char *attr(const xmlNode *n, const char *name)
{
	xmlChar *v = n ? xmlGetProp(n, (const xmlChar *)name) : NULL;
	char *s;

	if (!v)
		return NULL;
	s = strdup((const char *)v);
	xmlFree(v);
	return s;
}

/* Numbers were range-checked by the XSD; absent means default. */
static unsigned child_uint(const xmlNode *parent, const char *name, unsigned dflt)
{
	char *t = child_text(parent, name);
	unsigned long v;

	if (!t)
		return dflt;
	v = strtoul(t, NULL, 10);
	free(t);
	return (unsigned)v;
}

static int64_t text_i64(const char *t)
{
	return t ? (int64_t)strtoll(t, NULL, 10) : 0;
}

/* Set *dst to the child's text, else to a copy of dflt. */
static int take_text(char **dst, const xmlNode *parent, const char *name, const char *dflt)
{
	*dst = child_text(parent, name);
	if (!*dst && dflt)
		*dst = strdup(dflt);
	return (*dst || !dflt) ? 0 : -1;
}

static int take_attr(char **dst, const xmlNode *n, const char *name, const char *dflt)
{
	*dst = attr(n, name);
	if (!*dst && dflt)
		*dst = strdup(dflt);
	return (*dst || !dflt) ? 0 : -1;
}

/* ---- XML + XSD ------------------------------------------------------- */

struct first_error {
	char msg[512];
	int line;
	char elem[128];
	int set;
};

static void trim_msg(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

static void schema_error(void *ctx, xmlErrorPtr err)
{
	struct first_error *fe = ctx;
	const char *m;

	if (fe->set || !err)
		return;
	fe->set = 1;
	fe->line = err->line;
	m = err->message ? err->message : "invalid";
	/* libxml2 starts with "Element 'x': "; the element is printed anyway. */
	if (strncmp(m, "Element '", 9) == 0) {
		const char *q = strchr(m + 9, '\'');
		if (q && (q[1] == ':' || q[1] == ',') && q[2] == ' ')
			m = q + 3;
	}
	snprintf(fe->msg, sizeof(fe->msg), "%s", m);
	trim_msg(fe->msg);
	if (err->node && ((xmlNode *)err->node)->name) {
		xmlNode *n = err->node;
		snprintf(fe->elem, sizeof(fe->elem), "%s", (const char *)n->name);
		if (!fe->line)
			fe->line = (int)node_line(n);
	}
}

static void quiet_error(void *ctx, const char *msg, ...)
{
}

static enum err_status validate(struct loader *ld, xmlDoc *doc)
{
	xmlSchemaParserCtxt *pctx = NULL;
	xmlSchema *schema = NULL;
	xmlSchemaValidCtxt *vctx = NULL;
	struct first_error fe = {0};
	enum err_status st = ERR_OK;
	int rc;

	pctx = xmlSchemaNewMemParserCtxt(config_xsd_text, (int)strlen(config_xsd_text));
	if (!pctx) {
		st = nomem(ld);
		goto out;
	}
	xmlSchemaSetParserErrors(pctx, quiet_error, quiet_error, NULL);
	schema = xmlSchemaParse(pctx);
	if (!schema) {
		st = err_set(ld->e, ERR_FATAL, "built-in config.xsd does not compile");
		goto out;
	}
	vctx = xmlSchemaNewValidCtxt(schema);
	if (!vctx) {
		st = nomem(ld);
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(vctx, schema_error, &fe);
	rc = xmlSchemaValidateDoc(vctx, doc);
	if (rc != 0) {
		if (fe.set)
			st = err_set(ld->e, ERR_FATAL, "%s:%d: %s: %s", ld->name, fe.line,
			             fe.elem[0] ? fe.elem : "scfgate", fe.msg);
		else
			st = err_set(ld->e, ERR_FATAL, "%s: does not validate against config.xsd",
			             ld->name);
	}
out:
	xmlSchemaFreeValidCtxt(vctx);
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pctx);
	return st;
}

static enum err_status parse(struct loader *ld, const char *bytes, size_t len, xmlDoc **out)
{
	struct xmlgate_limits lim;
	xmlParserCtxt *ctx;
	struct err ge;
	xmlDoc *doc;

	*out = NULL;
	if (len > CFG_MAX_BYTES)
		return err_set(ld->e, ERR_FATAL, "%s: larger than %zu bytes", ld->name,
		               CFG_MAX_BYTES);
	/* The same lexical gate as records: no DTD, and no attribute or
	 * nesting bomb reaches libxml2. */
	xmlgate_limits_default(&lim, CFG_MAX_BYTES);
	if (xmlgate_check(bytes, len, &lim, &ge) != ERR_OK) {
		const char *m = ge.msg;
		const char *end;
		uint64_t line = 0;

		/* xmlgate's message starts "line N: " when it knows the line */
		if (num_u64(num_after(m, "line "), 10, &end, &line) == 0 &&
		    strncmp(end, ": ", 2) == 0)
			m = end + 2;
		else
			line = 0;
		return err_set(ld->e, ERR_FATAL, "%s:%" PRIu64 ": %s", ld->name, line, m);
	}
	ctx = xmlNewParserCtxt();
	if (!ctx)
		return nomem(ld);
	/* No XML_PARSE_NOENT / DTDLOAD / DTDATTR: entities stay unexpanded
	 * and no external subset is ever fetched. */
	doc = xmlCtxtReadMemory(ctx, bytes, (int)len, ld->name, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                            XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA);
	if (!doc || !ctx->wellFormed) {
		xmlError *xe = xmlCtxtGetLastError(ctx);
		char m[512];
		snprintf(m, sizeof(m), "%s", xe && xe->message ? xe->message : "not well-formed");
		trim_msg(m);
		err_set(ld->e, ERR_FATAL, "%s:%d: not well-formed XML: %s", ld->name,
		        xe ? xe->line : 0, m);
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(ctx);
		return ERR_FATAL;
	}
	xmlFreeParserCtxt(ctx);
	if (doc->intSubset || doc->extSubset) {
		xmlNode *dt = (xmlNode *)(doc->intSubset ? doc->intSubset : doc->extSubset);
		err_set(ld->e, ERR_FATAL, "%s:%u: DOCTYPE: a configuration may not carry a DTD",
		        ld->name, node_line(dt));
		xmlFreeDoc(doc);
		return ERR_FATAL;
	}
	*out = doc;
	return ERR_OK;
}

/* ---- building -------------------------------------------------------- */

static enum err_status build_spool(struct loader *ld, const xmlNode *n)
{
	struct cfg_spool *s = &ld->c->spool;

	if (take_text(&s->root, n, "root", NULL) || take_text(&s->producer, n, "producer", NULL) ||
	    take_text(&s->private_key, n, "privateKey", NULL) ||
	    take_text(&s->peer_public_key, n, "peerPublicKey", NULL) ||
	    take_text(&s->transport_group, n, "transportGroup", NULL) ||
	    take_text(&s->bundle_decryption_key, n, "bundleDecryptionKey", NULL) ||
	    take_text(&s->bundle_recipient_key, n, "bundleRecipientKey", NULL))
		return nomem(ld);
	{
		char *t = child_text(n, "requireEncryptedBundles");

		/* xs:boolean: "true", "false", "1", "0" */
		s->require_encrypted_bundles = t && (strcmp(t, "true") == 0 || strcmp(t, "1") == 0);
		free(t);
	}
	s->grace_seconds = child_uint(n, "graceSeconds", 300);
	s->gap_alarm_seconds = child_uint(n, "gapAlarmSeconds", 3600);
	s->max_ahead = child_uint(n, "maxSequenceAhead", SPOOL_MAX_AHEAD_DEFAULT);
	s->failing_alarm_seconds = child_uint(n, "failingAlarmSeconds", 600);
	s->stuck_alarm_seconds = child_uint(n, "stuckAlarmSeconds", 3600);
	return ERR_OK;
}

static enum err_status build_transfer(struct loader *ld, const xmlNode *n)
{
	struct cfg_transfer *t = &ld->c->transfer;
	char *fp = NULL;

	t->line = node_line(n);
	if (take_text(&t->host, n, "host", NULL) || take_text(&t->user, n, "user", NULL) ||
	    take_text(&t->private_key, n, "privateKey", NULL) ||
	    take_text(&t->known_hosts, n, "knownHosts", NULL) ||
	    take_text(&fp, n, "hostKeySha256", NULL))
		return nomem(ld);
	if (fp) {
		/* libcurl compares the bare base64, as `ssh-keygen -l` prints it
		 * after "SHA256:" (no padding) */
		size_t len = strlen(fp + 7);

		if (len && fp[7 + len - 1] == '=')
			fp[7 + --len] = '\0';
		t->host_key_sha256 = xstrdup(fp + 7);
		free(fp);
		if (!t->host_key_sha256)
			return nomem(ld);
	}
	t->port = child_uint(n, "port", 22);
	t->timeout_seconds = child_uint(n, "timeoutSeconds", 120);
	for (xmlNode *q = n->children; q; q = q->next) {
		struct cfg_transfer_queue *tq;
		char *dir = NULL, *v;

		if (q->type != XML_ELEMENT_NODE || strcmp((const char *)q->name, "queue") != 0)
			continue;
		if (t->n_queues == CFG_TRANSFER_QUEUES_MAX) /* the XSD allows two */
			return fail_at(ld, q, "at most %d queues", CFG_TRANSFER_QUEUES_MAX);
		tq = &t->queues[t->n_queues++];
		tq->line = node_line(q);
		if (take_attr(&tq->name, q, "name", NULL) ||
		    take_attr(&tq->remote_dir, q, "remoteDir", NULL) ||
		    take_attr(&tq->local_dir, q, "localDir", NULL))
			return nomem(ld);
		v = attr(q, "oneWay");
		tq->one_way =
		    (v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)) || tq->local_dir != NULL;
		free(v);
		v = attr(q, "direction");
		tq->direction =
		    (v && strcmp(v, "push") == 0) ? CFG_TRANSFER_PUSH : CFG_TRANSFER_PULL;
		free(v);
		v = attr(q, "intervalSeconds");
		tq->interval_seconds = v ? (unsigned)strtoul(v, NULL, 10) : 30;
		free(v);
		v = attr(q, "sentRetentionDays");
		tq->sent_retention_days = v ? (unsigned)strtoul(v, NULL, 10) : 7;
		free(v);
		/* "/a/b/" and "/a/b" name the same directory; keep one form */
		dir = tq->remote_dir;
		while (dir && strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
			dir[strlen(dir) - 1] = '\0';
		dir = tq->local_dir;
		while (dir && strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
			dir[strlen(dir) - 1] = '\0';
	}
	return ERR_OK;
}

static enum err_status build_scf(struct loader *ld, const xmlNode *n)
{
	struct cfg_scf *s = &ld->c->scf;
	xmlNode *cred = child(n, "credentials"), *sys = child(n, "systemComments");
	xmlNode *reopen = child(n, "reopen"), *census = child(n, "census");
	char *t, *auth;

	s->line = node_line(n);
	if (take_text(&s->base_url, n, "baseUrl", "https://seeclickfix.com/api/v2"))
		return nomem(ld);
	t = child_text(n, "organization");
	s->org_id = text_i64(t);
	free(t);
	s->credential_file = node_text(cred);
	auth = attr(cred, "auth");
	s->auth = (auth && strcmp(auth, "basic") == 0) ? CFG_SCF_AUTH_BASIC : CFG_SCF_AUTH_BEARER;
	free(auth);
	s->poll_seconds = child_uint(n, "pollSeconds", 300);
	s->overlap_seconds = child_uint(n, "overlapSeconds", 120);
	s->rate_per_minute = child_uint(n, "ratePerMinute", 20);
	s->rate_window = child_uint(n, "rateWindowSeconds", 60);
	s->per_page = child_uint(n, "perPage", 20);
	s->user_agent = child_text(n, "userAgent");
	s->ca_file = child_text(n, "caFile");
	if (!s->user_agent) {
		char ua[96];
		snprintf(ua, sizeof(ua), "scfgate (SeeClickFix-Cartegraph gateway; org %lld)",
		         (long long)s->org_id);
		s->user_agent = strdup(ua);
	}
	if (!s->credential_file || !s->user_agent || !s->base_url)
		return nomem(ld);
	if (reopen) {
		char *pol = attr(reopen, "policy");

		/* The schema allows only these two; anything else is refused
		 * there with the file and line. */
		s->reopen_line = node_line(reopen);
		s->reopen =
		    pol && strcmp(pol, "recreate") == 0 ? CFG_REOPEN_RECREATE : CFG_REOPEN_IGNORE;
		free(pol);
	}
	s->census_window_days = 365;
	if (census) {
		char *v;

		/* The schema bounds both; absent attributes keep the defaults. */
		s->census_line = node_line(census);
		if ((v = attr(census, "intervalHours")))
			s->census_interval_hours = (unsigned)strtoul(v, NULL, 10);
		free(v);
		if ((v = attr(census, "windowDays")))
			s->census_window_days = (unsigned)strtoul(v, NULL, 10);
		free(v);
	}
	if (sys) {
		char *fw = attr(sys, "forward");
		if (fw && strstr(fw, "assigned"))
			s->forward_system |= CFG_SYSCOMMENT_ASSIGNED;
		if (fw && strstr(fw, "account"))
			s->forward_system |= CFG_SYSCOMMENT_ACCOUNT;
		free(fw);
		for (xmlNode *a = sys->children; a; a = a->next) {
			int64_t *grown;
			if (a->type != XML_ELEMENT_NODE)
				continue;
			grown = realloc(s->system_accounts,
			                (s->n_system_accounts + 1) * sizeof(*grown));
			if (!grown)
				return nomem(ld);
			s->system_accounts = grown;
			t = node_text(a);
			s->system_accounts[s->n_system_accounts++] = text_i64(t);
			free(t);
		}
	}
	return ERR_OK;
}

/* A field-map entry: <name field="X"/> or the default. */
static int take_field(char **dst, const xmlNode *fields, const char *name, const char *dflt)
{
	return take_attr(dst, child(fields, name), "field", dflt);
}

static enum err_status build_fields(struct loader *ld, const xmlNode *f)
{
	struct cfg_cartegraph *g = &ld->c->cg;
	xmlNode *req = child(f, "requester"), *loc = child(f, "location"), *st = child(f, "status");
	xmlNode *photo = child(f, "requestPhoto");

	if (take_attr(&g->requester_field, req, "field", "RequesterField") ||
	    take_attr(&g->requester_name, req, "value", "SeeClickFix") ||
	    take_field(&g->issue_field, f, "issue", "IssueField") ||
	    take_field(&g->description_field, f, "description", "DescriptionField") ||
	    take_field(&g->location_field, f, "locationDescription", "LocationDescriptionField") ||
	    take_field(&g->attachment_field, f, "attachment", "AttachmentField") ||
	    take_field(&g->linked_field, f, "linked", "LinkedField") ||
	    take_field(&g->comments_field, f, "comments", "CommentsField") ||
	    take_field(&g->notes_field, f, "notes", "NotesField") ||
	    take_field(&g->external_id_field, f, "externalId", NULL) ||
	    take_field(&g->id_field, f, "id", "IDField") ||
	    take_attr(&g->status_field, st, "field", "StatusField"))
		return nomem(ld);
	if (photo) {
		g->request_photo_line = node_line(photo);
		if (take_attr(&g->request_photo_attachment_field, photo, "attachment",
		              "AttachmentField") ||
		    take_attr(&g->request_photo_linked_field, photo, "linked", "LinkedField"))
			return nomem(ld);
	}

	g->fields_line = node_line(f);
	g->requester_line = node_line(req);
	g->issue_line = node_line(child(f, "issue"));
	g->location_line = node_line(loc);
	g->description_line = node_line(child(f, "description"));
	g->location_desc_line = node_line(child(f, "locationDescription"));
	g->attachment_line = node_line(child(f, "attachment"));
	g->linked_line = node_line(child(f, "linked"));
	g->comments_line = node_line(child(f, "comments"));
	g->notes_line = node_line(child(f, "notes"));
	g->external_id_line = node_line(child(f, "externalId"));
	g->id_line = node_line(child(f, "id"));
	g->status_line = node_line(st);

	g->lat_field = attr(loc, "lat");
	g->lng_field = attr(loc, "lng");
	g->shape_field = attr(loc, "shape");
	if (loc && (g->lat_field || g->lng_field)) {
		if (g->shape_field)
			return fail_at(ld, loc, "give either shape= or lat= and lng=, not both");
		if (!g->lat_field || !g->lng_field)
			return fail_at(ld, loc, "lat= and lng= go together");
		g->geo = CFG_GEO_FIELDS;
	} else {
		g->geo = CFG_GEO_CGSHAPE;
		if (!g->shape_field && !(g->shape_field = strdup("CgShape")))
			return nomem(ld);
	}

	for (xmlNode *n = st ? st->children : NULL; n; n = n->next) {
		char **grown;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		grown = realloc(g->closed_values, (g->n_closed_values + 1) * sizeof(*grown));
		if (!grown)
			return nomem(ld);
		g->closed_values = grown;
		if (!(g->closed_values[g->n_closed_values] = node_text(n)))
			return nomem(ld);
		g->n_closed_values++;
	}
	if (g->n_closed_values == 0) {
		g->closed_values = malloc(sizeof(char *));
		if (!g->closed_values || !(g->closed_values[0] = strdup("Closed")))
			return nomem(ld);
		g->n_closed_values = 1;
	}
	return ERR_OK;
}

/* A field the route=field comments may not share: people write notes,
 * and every other mapped field has its own content. */
static const char *taken_field(const struct cfg_cartegraph *g, const char *f)
{
	const char *fixed[] = {g->requester_field, g->issue_field,       g->description_field,
	                       g->location_field,  g->attachment_field,  g->linked_field,
	                       g->notes_field,     g->external_id_field, g->id_field,
	                       g->status_field,    g->lat_field,         g->lng_field,
	                       g->shape_field};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i] && strcmp(fixed[i], f) == 0)
			return fixed[i];
	return NULL;
}

/* <comments route field class textField>, resolved into comment_*; f is
 * <fields> (its <comments> names the route field's default). */
static enum err_status build_comments(struct loader *ld, const xmlNode *n, const xmlNode *f)
{
	struct cfg_cartegraph *g = &ld->c->cg;
	char *route = attr(n, "route"), *field = attr(n, "field"), *cls = attr(n, "class"),
	     *text = attr(n, "textField");
	enum err_status st = ERR_OK;

	g->comment_line = node_line(n);
	g->comment_route = !route || strcmp(route, "field") == 0 ? CFG_COMMENTS_FIELD
	                   : strcmp(route, "child") == 0         ? CFG_COMMENTS_CHILD
	                                                         : CFG_COMMENTS_NOTES;
	if (g->comment_route == CFG_COMMENTS_CHILD) {
		if (!cls || !text)
			st = fail_at(ld, n,
			             "route=\"child\" needs class= (the child class of "
			             "%s) and textField= (its text field)",
			             g->request_class);
		else if (field)
			st = fail_at(ld, n,
			             "field= goes with route=\"field\"; a child record "
			             "takes its text in textField=");
		else if (strcmp(cls, g->request_class) == 0 ||
		         strcmp(cls, g->attachment_class) == 0)
			st = fail_at(ld, n, "class=\"%s\" must be a child class of its own", cls);
		else {
			g->comment_class = cls;
			g->comment_field = text;
			cls = text = NULL;
		}
	} else if (cls || text) {
		st = fail_at(ld, n, "class= and textField= go with route=\"child\"");
	} else if (g->comment_route == CFG_COMMENTS_NOTES && field) {
		st = fail_at(ld, n,
		             "route=\"notes\" writes the <fields><notes> field (%s); "
		             "field= goes with route=\"field\"",
		             g->notes_field);
	} else if (g->comment_route == CFG_COMMENTS_FIELD &&
	           taken_field(g, field ? field : g->comments_field)) {
		const char *name = field ? field : g->comments_field;
		st = fail_at(ld, field ? n : child(f, "comments"),
		             "field=\"%s\" is %s; route=\"field\" needs a field that only "
		             "the gateway writes (route=\"notes\" appends to the notes)",
		             name,
		             strcmp(name, g->notes_field) == 0 ? "the notes field, which people "
		                                                 "write too"
		                                               : "already filled by the field map");
	} else {
		g->comment_class = strdup(g->request_class);
		g->comment_field = strdup(g->comment_route == CFG_COMMENTS_NOTES ? g->notes_field
		                          : field                                ? field
		                                  : g->comments_field);
		if (!g->comment_class || !g->comment_field)
			st = nomem(ld);
	}
	free(route);
	free(field);
	free(cls);
	free(text);
	return st;
}

static enum err_status build_cartegraph(struct loader *ld, const xmlNode *n)
{
	struct cfg_cartegraph *g = &ld->c->cg;
	xmlNode *cred = child(n, "credentials"), *tpl;
	enum err_status st;
	char *auth;

	g->line = node_line(n);
	if (take_text(&g->base_url, n, "baseUrl", NULL) ||
	    take_text(&g->request_class, n, "requestClass", "cgRequestsClass") ||
	    take_text(&g->attachment_class, n, "attachmentClass", "cgRequests_cgAttachmentsClass"))
		return nomem(ld);
	if (!(g->credential_file = node_text(cred)))
		return nomem(ld);
	auth = attr(cred, "auth");
	g->auth = (auth && strcmp(auth, "session") == 0) ? CFG_CG_AUTH_SESSION : CFG_CG_AUTH_BASIC;
	free(auth);
	g->poll_seconds = child_uint(n, "pollSeconds", 300);
	g->concurrency = child_uint(n, "concurrency", 2);
	g->backoff_ms = child_uint(n, "backoffMilliseconds", 500);
	g->ca_file = child_text(n, "caFile");
	tpl = child(n, "templates");
	g->description_template_line = node_line(child(tpl, "description"));
	g->comment_template_line = node_line(child(tpl, "comment"));
	if (take_text(&g->description_template, tpl, "description", TEXT_DESCRIPTION_DEFAULT) ||
	    take_text(&g->comment_template, tpl, "comment", TEXT_COMMENT_DEFAULT))
		return nomem(ld);
	st = build_fields(ld, child(n, "fields"));
	if (st != ERR_OK)
		return st;
	return build_comments(ld, child(n, "comments"), child(n, "fields"));
}

static enum err_status build_geocoder(struct loader *ld, const xmlNode *n)
{
	struct cfg_geocoder *g = &ld->c->geocoder;
	char *enabled = attr(n, "enabled"), *mode, *t;
	size_t len;

	g->line = node_line(n);
	g->result_field_line = node_line(child(n, "resultField"));
	/* xs:boolean: "true", "false", "1", "0" */
	g->enabled = !(enabled && (strcmp(enabled, "false") == 0 || strcmp(enabled, "0") == 0));
	free(enabled);
	if (take_text(&g->base_url, n, "baseUrl", NULL) ||
	    take_text(&g->result_field, n, "resultField", CFG_GEOCODER_IN_DESCRIPTION) ||
	    !g->base_url)
		return nomem(ld);
	len = strlen(g->base_url);
	while (len > 8 && g->base_url[len - 1] == '/')
		g->base_url[--len] = '\0';
	g->token_file = child_text(n, "tokenFile");
	g->ca_file = child_text(n, "caFile");
	mode = child_text(n, "mode");
	g->mode = CFG_GEOCODER_REVERSE;
	if (mode && strcmp(mode, "find") == 0)
		g->mode = CFG_GEOCODER_FIND;
	else if (mode && strcmp(mode, "both") == 0)
		g->mode = CFG_GEOCODER_BOTH;
	free(mode);
	t = child_text(n, "minScore");
	g->min_score = t ? strtod(t, NULL) : 80;
	free(t);
	g->max_distance_m = child_uint(n, "maxDistanceMeters", 100);
	g->timeout_ms = child_uint(n, "timeoutMilliseconds", 3000);
	g->max_locations = child_uint(n, "maxLocations", 5);
	return ERR_OK;
}

/* The seed's rows; copied into cfg->status, whose strings are owned. */
static const struct {
	const char *scf, *oms, *note;
} default_status[] = {
    {"Open", NULL, "reported to SCF, not yet accepted by Cartegraph"},
    {"Acknowledged", "Open", "accepted by Cartegraph"},
    {"Closed", "Closed", "closed"},
    {"Archived", "Closed", "closed for a while; set by SCF on its own"},
};

static enum err_status build_status(struct loader *ld, const xmlNode *n)
{
	struct cfg *c = ld->c;
	size_t cnt = 0, i = 0;

	for (xmlNode *s = n ? n->children : NULL; s; s = s->next)
		cnt += s->type == XML_ELEMENT_NODE;
	if (cnt == 0) {
		c->status = calloc(4, sizeof(*c->status));
		if (!c->status)
			return nomem(ld);
		c->n_status = 4;
		for (i = 0; i < 4; i++) {
			c->status[i].scf = xstrdup(default_status[i].scf);
			c->status[i].oms = xstrdup(default_status[i].oms);
			c->status[i].note = xstrdup(default_status[i].note);
			if (!c->status[i].scf || !c->status[i].note)
				return nomem(ld);
		}
		return ERR_OK;
	}
	c->status = calloc(cnt, sizeof(*c->status));
	if (!c->status)
		return nomem(ld);
	for (xmlNode *s = n->children; s; s = s->next) {
		if (s->type != XML_ELEMENT_NODE)
			continue;
		c->status[i].scf = attr(s, "scf");
		c->status[i].oms = attr(s, "oms");
		c->status[i].note = attr(s, "note");
		c->n_status = ++i;
		for (size_t j = 0; j + 1 < i; j++)
			if (strcmp(c->status[j].scf, c->status[i - 1].scf) == 0)
				return fail_at(ld, s, "SCF status %s is mapped twice",
				               c->status[i - 1].scf);
	}
	return ERR_OK;
}

static enum err_status build_custom(struct loader *ld, const xmlNode *n,
                                    struct cfg_custom_field *cf)
{
	char *value = attr(n, "value"), *dflt = attr(n, "default");

	cf->line = node_line(n);
	cf->field = attr(n, "field");
	cf->question = attr(n, "question");
	if (cf->question && value) {
		free(value);
		free(dflt);
		return fail_at(ld, n,
		               "give either value= (a static value) or question= (the "
		               "reporter's answer), not both");
	}
	if (!cf->question && !value) {
		free(dflt);
		return fail_at(ld, n,
		               "needs value= (a static value) or question= (the "
		               "reporter's answer)");
	}
	if (!cf->question && dflt) {
		free(value);
		free(dflt);
		return fail_at(ld, n, "default= only goes with question=");
	}
	cf->kind = cf->question ? CFG_CUSTOM_ANSWER : CFG_CUSTOM_STATIC;
	cf->value = cf->question ? (dflt ? dflt : strdup("")) : value;
	if (cf->question)
		free(value);
	else
		free(dflt);
	return cf->value && cf->field ? ERR_OK : nomem(ld);
}

static enum err_status build_type(struct loader *ld, const xmlNode *n, struct cfg_request_type *rt)
{
	char *id = attr(n, "id");
	size_t cnt = 0;
	enum err_status st;

	rt->line = node_line(n);
	rt->scf_id = text_i64(id);
	free(id);
	rt->remote_id = attr(n, "remoteId");
	if (take_attr(&rt->title, n, "title", "") || !rt->remote_id)
		return nomem(ld);
	rt->ack_message = child_text(n, "acknowledgmentMessage");
	rt->closing_message = child_text(n, "closingMessage");
	for (xmlNode *k = n->children; k; k = k->next)
		cnt += k->type == XML_ELEMENT_NODE &&
		       strcmp((const char *)k->name, "customField") == 0;
	if (cnt && !(rt->custom = calloc(cnt, sizeof(*rt->custom))))
		return nomem(ld);
	for (xmlNode *k = n->children; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)k->name, "customField") != 0)
			continue;
		st = build_custom(ld, k, &rt->custom[rt->n_custom]);
		rt->n_custom++;
		if (st != ERR_OK)
			return st;
	}
	return ERR_OK;
}

static enum err_status build_types(struct loader *ld, const xmlNode *n)
{
	struct cfg *c = ld->c;
	size_t cnt = 0;
	enum err_status st;

	for (xmlNode *k = n->children; k; k = k->next)
		cnt += k->type == XML_ELEMENT_NODE;
	if (!(c->types = calloc(cnt ? cnt : 1, sizeof(*c->types))))
		return nomem(ld);
	for (xmlNode *k = n->children; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE)
			continue;
		st = build_type(ld, k, &c->types[c->n_types]);
		c->n_types++;
		if (st != ERR_OK)
			return st;
		for (size_t j = 0; j + 1 < c->n_types; j++)
			if (c->types[j].scf_id == c->types[c->n_types - 1].scf_id)
				return fail_at(ld, k,
				               "request type id %lld is already mapped at line %u",
				               (long long)c->types[j].scf_id, c->types[j].line);
	}
	return ERR_OK;
}

static enum err_status build_messages(struct loader *ld, const xmlNode *n)
{
	struct cfg_messages *m = &ld->c->messages;
	xmlNode *ack = child(n, "acknowledgment"), *cl = child(n, "closing");

	m->ack_line = node_line(ack);
	m->closing_line = node_line(cl);
	m->ack = ack ? node_text(ack) : strdup(DEFAULT_ACK);
	m->closing = cl ? node_text(cl) : strdup(DEFAULT_CLOSING);
	return m->ack && m->closing ? ERR_OK : nomem(ld);
}

static enum err_status build(struct loader *ld, const xmlNode *root)
{
	struct cfg *c = ld->c;
	char *half = attr(root, "half"), *lvl;
	enum err_status st;
	xmlNode *n;

	c->half = (half && strcmp(half, "oms") == 0) ? CFG_HALF_OMS : CFG_HALF_SCF;
	free(half);
	st = build_spool(ld, child(root, "spool"));
	if (st != ERR_OK)
		return st;
	n = child(root, "scf");
	if (n) {
		st = build_scf(ld, n);
		if (st != ERR_OK)
			return st;
	}
	n = child(root, "cartegraph");
	if (n) {
		st = build_cartegraph(ld, n);
		if (st != ERR_OK)
			return st;
	}
	n = child(root, "geocoder");
	if (n) {
		st = build_geocoder(ld, n);
		if (st != ERR_OK)
			return st;
	}
	st = build_status(ld, child(root, "statusMap"));
	if (st != ERR_OK)
		return st;
	st = build_types(ld, child(root, "requestTypes"));
	if (st != ERR_OK)
		return st;
	st = build_messages(ld, child(root, "messages"));
	if (st != ERR_OK)
		return st;
	if ((n = child(root, "metrics")) && take_text(&c->metrics.textfile, n, "textfile", NULL))
		return nomem(ld);
	n = child(root, "transfer");
	if (n) {
		st = build_transfer(ld, n);
		if (st != ERR_OK)
			return st;
	}
	lvl = attr(child(root, "log"), "level");
	c->log_level = CFG_LOG_INFO;
	if (lvl && strcmp(lvl, "error") == 0)
		c->log_level = CFG_LOG_ERROR;
	else if (lvl && strcmp(lvl, "warn") == 0)
		c->log_level = CFG_LOG_WARN;
	else if (lvl && strcmp(lvl, "debug") == 0)
		c->log_level = CFG_LOG_DEBUG;
	free(lvl);
	return ERR_OK;
}

/* ---- semantic checks ------------------------------------------------- */

static int host_is_loopback(const char *host, size_t len)
{
	static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len == strlen(names[i]) && strncasecmp(host, names[i], len) == 0)
			return 1;
	/* all of 127.0.0.0/8 is loopback */
	return len > 4 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") >= len;
}

static enum err_status check_url(struct loader *ld, const xmlNode *n, const char *url)
{
	const char *host, *end;
	size_t hl;

	if (strncasecmp(url, "https://", 8) == 0)
		return ERR_OK;
	host = url + 7; /* "http://", guaranteed by the XSD pattern */
	end = host + strcspn(host, "/");
	/* drop a :port, but not inside [v6] */
	hl = (size_t)(end - host);
	for (const char *p = end; p > host; p--)
		if (p[-1] == ':' && memchr(host, ']', (size_t)(p - host)) == NULL &&
		    host[0] != '[') {
			hl = (size_t)(p - 1 - host);
			break;
		} else if (p[-1] == ']') {
			hl = (size_t)(p - host);
			break;
		}
	if (host_is_loopback(host, hl))
		return ERR_OK;
	return fail_at(ld, n,
	               "%s: plain http is allowed only for a loopback host (127.0.0.1, ::1, "
	               "localhost, e.g. a simulator); use https://",
	               url);
}

static enum err_status check_file(struct loader *ld, const xmlNode *n, const char *path, int dir)
{
	struct stat sb;

	if (ld->flags & CFG_NO_FILE_CHECKS)
		return ERR_OK;
	if (stat(path, &sb) != 0)
		return fail_at(ld, n, "%s: %s", path, strerror(errno));
	if (dir && !S_ISDIR(sb.st_mode))
		return fail_at(ld, n, "%s: not a directory", path);
	if (!dir && !S_ISREG(sb.st_mode))
		return fail_at(ld, n, "%s: not a regular file", path);
	return ERR_OK;
}

/* A CA file must be there and readable by this user: libcurl would
 * otherwise fail every TLS handshake at run time. */
static enum err_status check_ca_file(struct loader *ld, const xmlNode *n, const char *path)
{
	enum err_status st;
	int fd;

	st = check_file(ld, n, path, 0);
	if (st != ERR_OK || (ld->flags & CFG_NO_FILE_CHECKS))
		return st;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_at(ld, n, "%s: %s", path, strerror(errno));
	close(fd);
	return ERR_OK;
}

/* Credential-looking names in a query string ("?token=..."). */
static int query_has_credential(const char *q)
{
	static const char *const names[] = {
	    "token", "access_token", "api_key",       "apikey", "key", "password", "passwd",
	    "pass",  "secret",       "client_secret", "auth",   "sig", "signature"};

	while (q && *q) {
		size_t kl = strcspn(q, "=&;#");

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i]) == kl && strncasecmp(q, names[i], kl) == 0)
				return 1;
		q += strcspn(q, "&;#");
		if (*q == '#')
			break;
		if (*q)
			q++;
	}
	return 0;
}

/*
 * Credentials in a URL (user:password@host, or ?token=... in the query)
 * would sit in the configuration and in every message and log line that
 * shows the URL; secrets live in their files.  Runs before the schema,
 * whose messages quote a refused value, and never quotes the URL itself.
 * A base URL never has a query (paths are appended to it), so any query
 * is refused; the message says when it looks like a credential.
 */
static enum err_status check_url_secrets(struct loader *ld, const xmlNode *n)
{
	enum err_status st = ERR_OK;

	for (; n && st == ERR_OK; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)n->name, "baseUrl") == 0) {
			char *url = node_text(n);
			const char *host = url ? strstr(url, "://") : NULL;
			const char *q;

			host = host ? host + 3 : (url ? url : "");
			q = url ? strpbrk(url, "?#") : NULL;
			if (memchr(host, '@', strcspn(host, "/?#")))
				st = fail_at(
				    ld, n,
				    "a URL may not carry credentials (user@ or "
				    "user:password@); they belong in the credential or token "
				    "file");
			else if (q && *q == '?' && query_has_credential(q + 1))
				st = fail_at(
				    ld, n,
				    "a URL may not carry credentials (a token or key in the "
				    "query); they belong in the credential or token file");
			else if (q)
				st = fail_at(
				    ld, n,
				    "a base URL may not have a query or a fragment (paths are "
				    "appended to it)");
			free(url);
			continue;
		}
		st = check_url_secrets(ld, n->children);
	}
	return st;
}

/* The file line of byte `offset` of n's text as node_text returned it:
 * the element's line, plus the line breaks node_text trimmed off the
 * front, plus those before the offset (node_text keeps every other). */
static unsigned text_line(const xmlNode *n, const char *text, size_t offset)
{
	xmlChar *raw = xmlNodeGetContent(n);
	unsigned line = node_line(n);

	for (const char *p = raw ? (const char *)raw : "";
	     *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
		line += *p == '\n';
	xmlFree(raw);
	for (size_t i = 0; i < offset && text[i]; i++)
		line += text[i] == '\n';
	return line;
}

static enum err_status check_template_kind(struct loader *ld, const xmlNode *n,
                                           enum text_template_kind kind, const char *tmpl)
{
	struct err te;
	size_t off = 0;

	if (text_template_check_kind(kind, tmpl, &off, &te) == ERR_OK)
		return ERR_OK;
	if (!n)
		return fail_at(ld, n, "%s", te.msg);
	return err_set(ld->e, ERR_FATAL, "%s:%u: %s: %s", ld->name, text_line(n, tmpl, off),
	               (const char *)n->name, te.msg);
}

static enum err_status check_template(struct loader *ld, const xmlNode *n, const char *tmpl)
{
	return check_template_kind(ld, n, TEXT_TEMPLATE_MESSAGE, tmpl);
}

/* The description and comment templates: valid, and keeping everything
 * the resident wrote. */
static enum err_status check_cg_templates(struct loader *ld, const xmlNode *cg)
{
	static const char *const needed[] = {"summary", "description", "questions"};
	const struct cfg_cartegraph *g = &ld->c->cg;
	xmlNode *tpl = child(cg, "templates"), *d = child(tpl, "description"),
	        *cm = child(tpl, "comment");
	enum err_status st;

	st = check_template_kind(ld, d, TEXT_TEMPLATE_DESCRIPTION, g->description_template);
	if (st == ERR_OK)
		st = check_template_kind(ld, cm, TEXT_TEMPLATE_COMMENT, g->comment_template);
	if (st != ERR_OK)
		return st;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!text_template_uses(TEXT_TEMPLATE_DESCRIPTION, g->description_template,
		                        needed[i]))
			return fail_at(ld, d,
			               "the template has no {%s}: what the resident wrote there "
			               "would never reach Cartegraph",
			               needed[i]);
	if (!text_template_uses(TEXT_TEMPLATE_COMMENT, g->comment_template, "text"))
		return fail_at(ld, cm,
		               "the template has no {text}: the comment itself would never "
		               "reach Cartegraph");
	return ERR_OK;
}

static enum err_status check_messages(struct loader *ld, const xmlNode *root)
{
	xmlNode *msgs = child(root, "messages"), *types = child(root, "requestTypes");
	enum err_status st;

	st = check_template(ld, child(msgs, "acknowledgment"), ld->c->messages.ack);
	if (st == ERR_OK)
		st = check_template(ld, child(msgs, "closing"), ld->c->messages.closing);
	if (st != ERR_OK)
		return st;
	for (xmlNode *k = types->children; k; k = k->next) {
		static const char *const names[] = {"acknowledgmentMessage", "closingMessage"};
		if (k->type != XML_ELEMENT_NODE)
			continue;
		for (size_t i = 0; i < 2; i++) {
			xmlNode *m = child(k, names[i]);
			char *t;
			if (!m)
				continue;
			if (!(t = node_text(m)))
				return nomem(ld);
			st = check_template(ld, m, t);
			free(t);
			if (st != ERR_OK)
				return st;
		}
	}
	return ERR_OK;
}

/* A custom field may not silently overwrite a field the map already fills. */
static enum err_status check_custom_fields(struct loader *ld, const xmlNode *root)
{
	const struct cfg_cartegraph *g = &ld->c->cg;
	const char *fixed[] = {g->requester_field,
	                       g->issue_field,
	                       g->description_field,
	                       g->location_field,
	                       g->request_photo_attachment_field,
	                       g->request_photo_linked_field,
	                       g->comments_field,
	                       g->external_id_field,
	                       g->lat_field,
	                       g->lng_field,
	                       g->shape_field,
	                       g->comment_route == CFG_COMMENTS_FIELD ? g->comment_field : NULL};
	if (!g->base_url)
		return ERR_OK;
	for (size_t t = 0; t < ld->c->n_types; t++) {
		const struct cfg_request_type *rt = &ld->c->types[t];
		for (size_t i = 0; i < rt->n_custom; i++)
			for (size_t f = 0; f < sizeof(fixed) / sizeof(fixed[0]); f++)
				if (fixed[f] && strcmp(fixed[f], rt->custom[i].field) == 0)
					return err_set(ld->e, ERR_FATAL,
					               "%s:%u: customField: %s is already filled "
					               "by the field map",
					               ld->name, rt->custom[i].line,
					               rt->custom[i].field);
	}
	return ERR_OK;
}

/* The token is a credential: it must be readable by this user only, as
 * cfg_read_secret will insist when the half starts. */
static enum err_status check_private_file(struct loader *ld, const xmlNode *n, const char *path)
{
	struct stat sb;
	enum err_status st;

	st = check_file(ld, n, path, 0);
	if (st != ERR_OK || (ld->flags & CFG_NO_FILE_CHECKS))
		return st;
	if (stat(path, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)))
		return fail_at(ld, n,
		               "%s: readable by group or others (mode %03o); run chmod 600 %s",
		               path, (unsigned)(sb.st_mode & 0777), path);
	return ERR_OK;
}

/* The half's signing key: mode 0600 or stricter like a credential, and
 * owned by the user that runs the half (another user who owns it could
 * swap it).  root, checking a service's configuration, may read any. */
static enum err_status check_private_key(struct loader *ld, const xmlNode *n, const char *path)
{
	struct stat sb;
	enum err_status st;

	st = check_private_file(ld, n, path);
	if (st != ERR_OK || (ld->flags & CFG_NO_FILE_CHECKS))
		return st;
	if (stat(path, &sb) == 0 && geteuid() != 0 && sb.st_uid != geteuid())
		return fail_at(ld, n,
		               "%s: owned by uid %u, not by the user running scfgate (uid %u)",
		               path, (unsigned)sb.st_uid, (unsigned)geteuid());
	return ERR_OK;
}

/* The receiving half's X25519 public key, which `bundle export` encrypts
 * to: a file another user may write could be swapped for a key whose
 * private half that user holds, and every bundle would be theirs to read;
 * a file that is not such a key would fail only at the first export. */
static enum err_status check_recipient_key(struct loader *ld, const xmlNode *n, const char *path)
{
	struct seal_key *k = NULL;
	struct stat sb;
	struct err ke;
	enum err_status st;

	st = check_file(ld, n, path, 0);
	if (st != ERR_OK || (ld->flags & CFG_NO_FILE_CHECKS))
		return st;
	if (stat(path, &sb) == 0 && (sb.st_mode & (S_IWGRP | S_IWOTH)))
		return fail_at(ld, n,
		               "%s: writable by group or others (mode %03o); run chmod 644 %s",
		               path, (unsigned)(sb.st_mode & 0777), path);
	err_clear(&ke);
	if (seal_load_public(path, &k, &ke) != ERR_OK)
		return fail_at(ld, n, "%s", ke.msg);
	seal_key_free(k);
	return ERR_OK;
}

/* The note's field must not be one the field map or a custom field
 * already fills: one of the two values would silently be lost. */
static enum err_status check_result_field(struct loader *ld, const xmlNode *n)
{
	const struct cfg_cartegraph *g = &ld->c->cg;
	const char *f = ld->c->geocoder.result_field;
	const char *fixed[] = {g->requester_field,
	                       g->issue_field,
	                       g->description_field,
	                       g->location_field,
	                       g->request_photo_attachment_field,
	                       g->request_photo_linked_field,
	                       g->comments_field,
	                       g->notes_field,
	                       g->external_id_field,
	                       g->id_field,
	                       g->status_field,
	                       g->lat_field,
	                       g->lng_field,
	                       g->shape_field,
	                       g->comment_route == CFG_COMMENTS_FIELD ? g->comment_field : NULL};

	if (strcmp(f, CFG_GEOCODER_IN_DESCRIPTION) == 0 || !g->base_url)
		return ERR_OK;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i] && strcmp(fixed[i], f) == 0)
			return fail_at(ld, n, "%s is already filled by the field map", f);
	for (size_t t = 0; t < ld->c->n_types; t++)
		for (size_t i = 0; i < ld->c->types[t].n_custom; i++)
			if (strcmp(ld->c->types[t].custom[i].field, f) == 0)
				return fail_at(ld, n,
				               "%s is already filled by the customField at line %u",
				               f, ld->c->types[t].custom[i].line);
	return ERR_OK;
}

static enum err_status check_geocoder(struct loader *ld, const xmlNode *gn)
{
	const struct cfg_geocoder *g = &ld->c->geocoder;
	xmlNode *url = child(gn, "baseUrl");
	enum err_status st;

	st = check_url(ld, url, g->base_url);
	if (st == ERR_OK)
		st = check_result_field(ld,
		                        child(gn, "resultField") ? child(gn, "resultField") : gn);
	if (st != ERR_OK)
		return st;
	/* like the Cartegraph credentials: only the oms half's files live here */
	if (ld->c->half != CFG_HALF_OMS || !g->enabled)
		return ERR_OK;
	if (g->token_file) {
		st = check_private_file(ld, child(gn, "tokenFile"), g->token_file);
		if (st != ERR_OK)
			return st;
	}
	if (g->ca_file) {
		st = check_ca_file(ld, child(gn, "caFile"), g->ca_file);
		if (st != ERR_OK)
			return st;
	}
	return ERR_OK;
}

/* <transfer>: a pinned host key, one entry per queue, a private key
 * kept like the half's own. */
static enum err_status check_transfer(struct loader *ld, const xmlNode *tn)
{
	const struct cfg_transfer *t = &ld->c->transfer;
	enum err_status st;
	int remote = 0;

	for (size_t i = 0; i < t->n_queues; i++) {
		const struct cfg_transfer_queue *q = &t->queues[i];
		const xmlNode *qn = tn;

		for (xmlNode *k = tn->children; k; k = k->next)
			if (k->type == XML_ELEMENT_NODE && node_line(k) == q->line)
				qn = k;
		if (!q->remote_dir == !q->local_dir)
			return fail_at(ld, qn,
			               "queue %s: give remoteDir (over SFTP) or localDir (a drop "
			               "directory), one of the two",
			               q->name);
		if (q->one_way && q->direction != CFG_TRANSFER_PUSH)
			return fail_at(
			    ld, qn,
			    "queue %s: localDir and oneWay push only (nothing is read from "
			    "the other side): direction=\"push\"",
			    q->name);
		remote |= q->remote_dir != NULL;
	}
	/* a drop directory only: no SSH server to know */
	if (!remote && !t->host)
		return ERR_OK;
	if (!t->host || !t->user || !t->private_key)
		return fail_at(ld, tn, "<host>, <user> and <privateKey> are needed%s",
		               remote ? " for a queue with remoteDir" : "");
	if (!t->known_hosts && !t->host_key_sha256)
		return fail_at(ld, tn,
		               "the server's host key must be pinned: give <knownHosts> or "
		               "<hostKeySha256> (ssh-keygen -lf KEY.pub prints it)");
	for (size_t i = 0; i < t->n_queues; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->queues[i].name, t->queues[j].name) == 0)
				return err_set(ld->e, ERR_FATAL,
				               "%s:%u: queue: %s is already configured at line %u",
				               ld->name, t->queues[i].line, t->queues[i].name,
				               t->queues[j].line);
	st = check_private_key(ld, child(tn, "privateKey"), t->private_key);
	if (st != ERR_OK)
		return st;
	if (t->known_hosts) {
		st = check_ca_file(ld, child(tn, "knownHosts"), t->known_hosts);
		if (st != ERR_OK)
			return st;
	}
	return ERR_OK;
}

static enum err_status check(struct loader *ld, const xmlNode *root)
{
	struct cfg *c = ld->c;
	xmlNode *spool = child(root, "spool"), *scf = child(root, "scf");
	xmlNode *cg = child(root, "cartegraph"), *geo = child(root, "geocoder");
	enum err_status st;

	if (c->half == CFG_HALF_SCF && !scf)
		return fail_at(ld, root, "half=\"scf\" needs an <scf> section");
	if (c->half == CFG_HALF_OMS && !cg)
		return fail_at(ld, root, "half=\"oms\" needs a <cartegraph> section");
	if (scf) {
		st = check_url(ld, child(scf, "baseUrl") ? child(scf, "baseUrl") : scf,
		               c->scf.base_url);
		if (st != ERR_OK)
			return st;
	}
	if (cg) {
		st = check_url(ld, child(cg, "baseUrl"), c->cg.base_url);
		if (st != ERR_OK)
			return st;
	}
	st = check_messages(ld, root);
	if (st == ERR_OK)
		st = check_custom_fields(ld, root);
	if (st == ERR_OK && cg)
		st = check_cg_templates(ld, cg);
	if (st != ERR_OK)
		return st;
	st = check_file(ld, child(spool, "root"), c->spool.root, 1);
	if (st == ERR_OK)
		st = check_private_key(ld, child(spool, "privateKey"), c->spool.private_key);
	if (st == ERR_OK)
		st = check_file(ld, child(spool, "peerPublicKey"), c->spool.peer_public_key, 0);
	if (st != ERR_OK)
		return st;
	if (c->spool.bundle_decryption_key) {
		st = check_private_key(ld, child(spool, "bundleDecryptionKey"),
		                       c->spool.bundle_decryption_key);
		if (st != ERR_OK)
			return st;
	}
	if (c->spool.bundle_recipient_key) {
		st = check_recipient_key(ld, child(spool, "bundleRecipientKey"),
		                         c->spool.bundle_recipient_key);
		if (st != ERR_OK)
			return st;
	}
	if (c->spool.require_encrypted_bundles && !c->spool.bundle_decryption_key)
		return fail_at(ld, child(spool, "requireEncryptedBundles"),
		               "requireEncryptedBundles needs a <bundleDecryptionKey> to decrypt "
		               "with");
	/* only this half's credentials live on this host */
	if (c->half == CFG_HALF_SCF) {
		st = check_file(ld, child(scf, "credentials"), c->scf.credential_file, 0);
		if (st != ERR_OK)
			return st;
	}
	if (c->half == CFG_HALF_OMS) {
		st = check_file(ld, child(cg, "credentials"), c->cg.credential_file, 0);
		if (st != ERR_OK)
			return st;
	}
	/* a CA file, like the credentials, is on the host of the half using it */
	if (c->half == CFG_HALF_SCF && c->scf.ca_file) {
		st = check_ca_file(ld, child(scf, "caFile"), c->scf.ca_file);
		if (st != ERR_OK)
			return st;
	}
	if (c->half == CFG_HALF_OMS && c->cg.ca_file) {
		st = check_ca_file(ld, child(cg, "caFile"), c->cg.ca_file);
		if (st != ERR_OK)
			return st;
	}
	if (geo) {
		st = check_geocoder(ld, geo);
		if (st != ERR_OK)
			return st;
	}
	if (child(root, "transfer")) {
		st = check_transfer(ld, child(root, "transfer"));
		if (st != ERR_OK)
			return st;
	}
	return ERR_OK;
}

/* ---- public ---------------------------------------------------------- */

enum err_status cfg_load_mem(const char *bytes, size_t len, const char *name, unsigned flags,
                             struct cfg **out, struct err *e)
{
	struct loader ld = {NULL, name ? name : "<config>", flags, e};
	xmlDoc *doc = NULL;
	enum err_status st;

	*out = NULL;
	ld.c = calloc(1, sizeof(*ld.c));
	if (!ld.c)
		return nomem(&ld);
	if (!(ld.c->path = strdup(ld.name))) {
		st = nomem(&ld);
		goto out;
	}
	st = parse(&ld, bytes, len, &doc);
	if (st == ERR_OK)
		st = check_url_secrets(&ld, xmlDocGetRootElement(doc));
	if (st == ERR_OK)
		st = validate(&ld, doc);
	if (st == ERR_OK)
		st = build(&ld, xmlDocGetRootElement(doc));
	if (st == ERR_OK)
		st = check(&ld, xmlDocGetRootElement(doc));
	if (st != ERR_OK)
		goto out;
	*out = ld.c;
	ld.c = NULL;
out:
	xmlFreeDoc(doc);
	cfg_free(ld.c);
	return st;
}

enum err_status cfg_load_file(const char *path, struct cfg **out, struct err *e)
{
	struct buf b = BUF_INIT_CAP(CFG_MAX_BYTES);
	struct err re;
	enum err_status st;

	*out = NULL;
	err_clear(&re);
	st = buf_read_file(&b, path, &re);
	if (st == ERR_OK)
		st = cfg_load_mem(buf_str(&b), b.len, path, 0, out, e);
	else /* a half must not start without its configuration */
		st = err_set(e, ERR_FATAL, "%s", re.msg);
	buf_release(&b);
	return st;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->spool.root);
	free(c->spool.producer);
	free(c->spool.private_key);
	free(c->spool.peer_public_key);
	free(c->spool.bundle_decryption_key);
	free(c->spool.bundle_recipient_key);
	free(c->spool.transport_group);
	free(c->metrics.textfile);
	free(c->transfer.host);
	free(c->transfer.user);
	free(c->transfer.private_key);
	free(c->transfer.known_hosts);
	free(c->transfer.host_key_sha256);
	for (size_t i = 0; i < c->transfer.n_queues; i++) {
		free(c->transfer.queues[i].name);
		free(c->transfer.queues[i].remote_dir);
		free(c->transfer.queues[i].local_dir);
	}
	free(c->scf.base_url);
	free(c->scf.credential_file);
	free(c->scf.user_agent);
	free(c->scf.ca_file);
	free(c->cg.ca_file);
	free(c->scf.system_accounts);
	free(c->cg.base_url);
	free(c->cg.credential_file);
	free(c->cg.request_class);
	free(c->cg.attachment_class);
	free(c->cg.requester_field);
	free(c->cg.requester_name);
	free(c->cg.issue_field);
	free(c->cg.lat_field);
	free(c->cg.lng_field);
	free(c->cg.shape_field);
	free(c->cg.description_field);
	free(c->cg.location_field);
	free(c->cg.attachment_field);
	free(c->cg.linked_field);
	free(c->cg.request_photo_attachment_field);
	free(c->cg.request_photo_linked_field);
	free(c->cg.comments_field);
	free(c->cg.notes_field);
	free(c->cg.comment_class);
	free(c->cg.comment_field);
	free(c->cg.external_id_field);
	free(c->cg.id_field);
	free(c->cg.status_field);
	free_strv(c->cg.closed_values, c->cg.n_closed_values);
	free(c->cg.description_template);
	free(c->cg.comment_template);
	free(c->geocoder.base_url);
	free(c->geocoder.token_file);
	free(c->geocoder.result_field);
	free(c->geocoder.ca_file);
	for (size_t i = 0; i < c->n_status; i++) {
		free(c->status[i].scf);
		free(c->status[i].oms);
		free(c->status[i].note);
	}
	free(c->status);
	for (size_t i = 0; i < c->n_types; i++) {
		struct cfg_request_type *rt = &c->types[i];
		free(rt->title);
		free(rt->remote_id);
		free(rt->ack_message);
		free(rt->closing_message);
		for (size_t j = 0; j < rt->n_custom; j++) {
			free(rt->custom[j].field);
			free(rt->custom[j].question);
			free(rt->custom[j].value);
		}
		free(rt->custom);
	}
	free(c->types);
	free(c->messages.ack);
	free(c->messages.closing);
	free(c);
}

const struct cfg_request_type *cfg_request_type(const struct cfg *c, int64_t scf_id)
{
	for (size_t i = 0; c && i < c->n_types; i++)
		if (c->types[i].scf_id == scf_id)
			return &c->types[i];
	return NULL;
}

const char *cfg_oms_status(const struct cfg *c, const char *scf_status, int *known)
{
	if (known)
		*known = 0;
	for (size_t i = 0; c && scf_status && i < c->n_status; i++)
		if (strcmp(c->status[i].scf, scf_status) == 0) {
			if (known)
				*known = 1;
			return c->status[i].oms;
		}
	return NULL;
}

int cfg_is_closed_value(const struct cfg *c, const char *oms_status)
{
	for (size_t i = 0; c && oms_status && i < c->cg.n_closed_values; i++)
		if (strcmp(c->cg.closed_values[i], oms_status) == 0)
			return 1;
	return 0;
}

/* ---- the Cartegraph fields, for the metadata check ---------------------- */

struct field_list {
	const struct cfg *c;
	struct cfg_cg_field *v;
	size_t n;
};

static void add_cg_field(struct field_list *l, const char *element, const char *name,
                         enum cfg_cg_class cls, enum cfg_cg_kind kind, int written, unsigned line)
{
	const struct cfg_cartegraph *g = &l->c->cg;
	struct cfg_cg_field *f = &l->v[l->n++];

	f->element = element;
	f->name = name;
	f->cls = cls;
	f->kind = kind;
	f->written = written;
	f->is_default = line == 0;
	f->line = line ? line : g->fields_line ? g->fields_line : g->line;
}

enum err_status cfg_cg_fields(const struct cfg *c, struct cfg_cg_field **out, size_t *n)
{
	const struct cfg_cartegraph *g = &c->cg;
	struct field_list l = {c, NULL, 0};
	size_t cap = 19;

	*out = NULL;
	*n = 0;
	if (!g->base_url)
		return ERR_OK;
	for (size_t t = 0; t < c->n_types; t++)
		cap += c->types[t].n_custom;
	if (!(l.v = calloc(cap, sizeof(*l.v))))
		return ERR_TEMP;
	add_cg_field(&l, "requester", g->requester_field, CFG_CG_REQUEST, CFG_CG_TEXT, 1,
	             g->requester_line);
	add_cg_field(&l, "issue", g->issue_field, CFG_CG_REQUEST, CFG_CG_LOOKUP, 1, g->issue_line);
	if (g->geo == CFG_GEO_FIELDS) {
		add_cg_field(&l, "location", g->lat_field, CFG_CG_REQUEST, CFG_CG_NUMBER, 1,
		             g->location_line);
		add_cg_field(&l, "location", g->lng_field, CFG_CG_REQUEST, CFG_CG_NUMBER, 1,
		             g->location_line);
	} else {
		add_cg_field(&l, "location", g->shape_field, CFG_CG_REQUEST, CFG_CG_SHAPE, 1,
		             g->location_line);
	}
	add_cg_field(&l, "description", g->description_field, CFG_CG_REQUEST, CFG_CG_TEXT, 1,
	             g->description_line);
	add_cg_field(&l, "locationDescription", g->location_field, CFG_CG_REQUEST, CFG_CG_TEXT, 1,
	             g->location_desc_line);
	add_cg_field(&l, "comments", g->comments_field, CFG_CG_REQUEST, CFG_CG_TEXT, 1,
	             g->comments_line);
	add_cg_field(&l, "notes", g->notes_field, CFG_CG_REQUEST, CFG_CG_TEXT, 1, g->notes_line);
	if (g->external_id_field)
		add_cg_field(&l, "externalId", g->external_id_field, CFG_CG_REQUEST, CFG_CG_ID, 1,
		             g->external_id_line);
	add_cg_field(&l, "id", g->id_field, CFG_CG_REQUEST, CFG_CG_TEXT, 0, g->id_line);
	add_cg_field(&l, "status", g->status_field, CFG_CG_REQUEST, CFG_CG_TEXT, 0, g->status_line);
	/* Photos: the attachment child record's fields. */
	add_cg_field(&l, "attachment", g->attachment_field, CFG_CG_ATTACHMENT, CFG_CG_TEXT, 1,
	             g->attachment_line);
	add_cg_field(&l, "linked", g->linked_field, CFG_CG_ATTACHMENT, CFG_CG_BOOLEAN, 1,
	             g->linked_line);
	/* The request's own photo fields, when <requestPhoto/> asks for them.
	 * Keep cap above in step (18 fixed slots). */
	if (g->request_photo_attachment_field)
		add_cg_field(&l, "requestPhoto", g->request_photo_attachment_field, CFG_CG_REQUEST,
		             CFG_CG_TEXT, 1, g->request_photo_line);
	if (g->request_photo_linked_field)
		add_cg_field(&l, "requestPhoto", g->request_photo_linked_field, CFG_CG_REQUEST,
		             CFG_CG_BOOLEAN, 1, g->request_photo_line);
	/* Where later comments go: a field of the request (route field, when
	 * not the comments field above; route notes writes the notes field,
	 * listed already) or a child class's text field (route child). */
	if (g->comment_route == CFG_COMMENTS_CHILD)
		add_cg_field(&l, "comments", g->comment_field, CFG_CG_COMMENT, CFG_CG_TEXT, 1,
		             g->comment_line ? g->comment_line : g->line);
	else if (g->comment_route == CFG_COMMENTS_FIELD &&
	         strcmp(g->comment_field, g->comments_field) != 0)
		add_cg_field(&l, "comments", g->comment_field, CFG_CG_REQUEST, CFG_CG_TEXT, 1,
		             g->comment_line ? g->comment_line : g->line);
	if (c->geocoder.result_field &&
	    strcmp(c->geocoder.result_field, CFG_GEOCODER_IN_DESCRIPTION) != 0)
		add_cg_field(&l, "resultField", c->geocoder.result_field, CFG_CG_REQUEST,
		             CFG_CG_TEXT, 1,
		             c->geocoder.result_field_line ? c->geocoder.result_field_line
		                                           : c->geocoder.line);
	for (size_t t = 0; t < c->n_types; t++)
		for (size_t i = 0; i < c->types[t].n_custom; i++)
			add_cg_field(&l, "customField", c->types[t].custom[i].field, CFG_CG_REQUEST,
			             CFG_CG_TEXT, 1, c->types[t].custom[i].line);
	*out = l.v;
	*n = l.n;
	return ERR_OK;
}

const char *cfg_half_name(enum cfg_half half)
{
	return half == CFG_HALF_OMS ? "oms" : half == CFG_HALF_SCF ? "scf" : "?";
}

const char *cfg_log_level_name(enum cfg_log_level l)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	return (unsigned)l < 4 ? names[l] : "?";
}

const char *cfg_geocoder_mode_name(enum cfg_geocoder_mode m)
{
	return m == CFG_GEOCODER_FIND ? "find" : m == CFG_GEOCODER_BOTH ? "both" : "reverse";
}
