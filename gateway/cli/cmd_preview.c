/*
 * cmd_preview.c: `scfgate preview`, what the OMS half would send for one
 * saved SCF issue (or one record file), and the messages the SCF half
 * would post, without touching either system.
 *
 * Everything shown is built by the functions the halves use
 * (map_scf_issue, map_cg_create_body_ex, map_cg_notes_body,
 * map_cg_attachment_body, map_render_ack, map_render_close), so the
 * preview cannot drift from what is sent.  No network, no spool: the only
 * files read are the configuration and the input.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cli.h"
#include "jdoc.h"
#include "map.h"
#include "record.h"
#include "unconst.h"

static const char usage_text[] =
    "usage: scfgate preview [--config FILE] [--json] [--oid N] [--request-id TEXT]\n"
    "                       (ISSUE.json | RECORD.xml)\n"
    "\n"
    "  Show what the OMS half would send to Cartegraph for one SCF issue, and\n"
    "  the messages the SCF half would post, with the templates, field map and\n"
    "  request types of FILE.  Nothing is sent and no spool is touched; FILE is\n"
    "  checked like config check except that its files need not exist.  Without\n"
    "  --config, FILE is /etc/scfgate/scf.xml or /etc/scfgate/oms.xml, whichever\n"
    "  exists (both: refused).\n"
    "\n"
    "  ISSUE.json   one SCF issue object, as GET /issues/:id returns it or one\n"
    "               element of \"issues\" in a page fetched with details=true\n"
    "  RECORD.xml   a record file (issue, comment, attachment, ack or close);\n"
    "               its signature is not checked\n"
    "\n"
    "  Shown: the create body (pretty-printed), each later comment as the\n"
    "  <comments> route writes it (an update of its field, or a child record),\n"
    "  each attachment child body, the acknowledgment and the closing message.\n"
    "  The geocoder is not consulted: LocationDescriptionField is the reported\n"
    "  address.  --oid N and --request-id TEXT stand for the Oid and IDField\n"
    "  Cartegraph assigns (default 1 and PREVIEW-1).  --json prints one JSON\n"
    "  document instead of text.  Exit 1 when the input cannot be mapped\n"
    "  (e.g. an unmapped request type).\n";

/* Largest input accepted: a record file or an issue object. */
#define PREVIEW_INPUT_MAX ((size_t)16 * 1024 * 1024)

struct preview {
	const struct cfg *c;
	struct map_cg_request rq; /* the request the preview pretends exists */
	int json;
	struct jdoc d;
	cJSON *root, *notes, *atts;
	int count; /* sections written (text) */
	struct err e;
};

/* One body: parsed back and pretty-printed, or kept in the JSON document. */
static int emit_body(struct preview *p, cJSON *parent, const char *title, const char *method,
                     const char *path, const struct buf *body, const char *key,
                     const char *key_value)
{
	cJSON *parsed = cJSON_ParseWithLength(buf_str(body), body->len), *o;
	char *txt;

	if (!parsed) {
		err_set(&p->e, ERR_TEMP, "out of memory");
		return -1;
	}
	if (p->json) {
		o = jdoc_object(&p->d, parent, parent == p->root ? "create" : NULL);
		if (key)
			jdoc_string(&p->d, o, key, key_value);
		jdoc_string(&p->d, o, "method", method);
		jdoc_string(&p->d, o, "path", path);
		jdoc_add(&p->d, o, "body", parsed);
		return 0;
	}
	txt = cJSON_Print(parsed);
	cJSON_Delete(parsed);
	if (!txt) {
		err_set(&p->e, ERR_TEMP, "out of memory");
		return -1;
	}
	printf("%s== %s: %s %s ==\n%s\n", p->count++ ? "\n" : "", title, method, path, txt);
	cJSON_free(txt);
	return 0;
}

static void emit_text(struct preview *p, const char *key, const char *title, const char *text)
{
	if (p->json)
		jdoc_string(&p->d, p->root, key, text);
	else
		printf("%s== %s ==\n%s\n", p->count++ ? "\n" : "", title, text);
}

static int note(struct preview *p, const struct record_comment *cm)
{
	struct buf b = BUF_INIT_CAP(MAP_JSON_MAX);
	char path[512];
	int rc;

	/* The comment route decides: one child record, or an update of the
	 * field the route appends to (the forwarder reads it first; here it
	 * is shown as if it were empty). */
	if (p->c->cg.comment_route == CFG_COMMENTS_CHILD) {
		if (map_cg_comment_child_body(p->c, cm, &b, &p->e) != ERR_OK) {
			buf_release(&b);
			return -1;
		}
		snprintf(path, sizeof(path), "/api/v1/classes/%s/%" PRId64 "/%s",
		         p->c->cg.request_class, p->rq.oid, p->c->cg.comment_class);
		rc = emit_body(p, p->notes, "comment record for SCF comment", "POST", path, &b,
		               "comment_id", cm->comment_id);
		buf_release(&b);
		return rc;
	}
	if (map_cg_notes_body(p->c, p->rq.oid, NULL, cm, &b, &p->e) != ERR_OK) {
		buf_release(&b);
		return -1;
	}
	snprintf(path, sizeof(path), "/api/v1/classes/%s", p->c->cg.request_class);
	rc = emit_body(p, p->notes, "note for SCF comment", "PUT", path, &b, "comment_id",
	               cm->comment_id);
	buf_release(&b);
	return rc;
}

static int attachment(struct preview *p, const struct record_attachment *at)
{
	struct buf b = BUF_INIT_CAP(MAP_JSON_MAX);
	char path[512];
	int rc;

	if (map_cg_attachment_body(p->c, at, &b, &p->e) != ERR_OK) {
		buf_release(&b);
		return -1;
	}
	snprintf(path, sizeof(path), "/api/v1/classes/%s/%" PRId64 "/%s", p->c->cg.request_class,
	         p->rq.oid, p->c->cg.attachment_class);
	rc = emit_body(p, p->atts, "attachment", "POST", path, &b, "url", at->url);
	buf_release(&b);
	return rc;
}

/* A time map_*_record accepts: the issue's own, else a fixed one (the
 * messages do not show it). */
static const char *some_time(const char *t)
{
	return t && text_time_ok(t) ? t : "2000-01-01T00:00:00Z";
}

/* The messages exactly as the SCF half renders them from its records. */
static int ack_text(struct preview *p, const struct record_ack *a)
{
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	int rc = -1;

	if (map_render_ack(p->c, a, &b, &p->e) == ERR_OK) {
		emit_text(p, "acknowledgment",
		          "acknowledgment message (SCF comment, Open -> Acknowledged)",
		          buf_str(&b));
		rc = 0;
	}
	buf_release(&b);
	return rc;
}

static int close_text(struct preview *p, const struct record_close *cl)
{
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	int rc = -1;

	if (map_render_close(p->c, cl, &b, &p->e) == ERR_OK) {
		emit_text(p, "closing", "closing message (SCF comment, -> Closed)", buf_str(&b));
		rc = 0;
	}
	buf_release(&b);
	return rc;
}

/* For an issue: the ack and close records the OMS half would write for
 * the pretended request, rendered. */
static int messages(struct preview *p, const struct record_issue *is)
{
	const struct cfg_request_type *rt = cfg_request_type(p->c, is->request_type_id);
	const char *when = some_time(is->created_at);
	struct record *a = NULL, *cl = NULL;
	int rc = -1;

	if (map_ack_record(is->issue_id, &p->rq, rt, when, &a, &p->e) == ERR_OK &&
	    map_close_record(is->issue_id, &p->rq, rt, when, &cl, &p->e) == ERR_OK &&
	    ack_text(p, &a->u.ack) == 0 && close_text(p, &cl->u.close) == 0)
		rc = 0;
	record_free(a);
	record_free(cl);
	return rc;
}

/* The two long texts of the create body as Cartegraph shows them (the
 * JSON above has them with \n escapes), read back from the body itself. */
static int as_text(struct preview *p, const struct buf *body)
{
	cJSON *root = cJSON_ParseWithLength(buf_str(body), body->len);
	const cJSON *row =
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, p->c->cg.request_class), 0);
	const char *fields[] = {p->c->cg.description_field, p->c->cg.comments_field};
	char title[200];

	if (!root) {
		err_set(&p->e, ERR_TEMP, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, fields[i]);
		if (!cJSON_IsString(v))
			continue;
		snprintf(title, sizeof(title), "%s of the create body, as text", fields[i]);
		emit_text(p, NULL, title, v->valuestring);
	}
	cJSON_Delete(root);
	return 0;
}

/* An issue: the create body, then the attachment records the SCF half
 * writes after it (the issue's photo, each forwarded comment's photo),
 * then the messages.  The comments present at first sight travel in the
 * create body (CommentsField); only later comments become notes. */
static int issue(struct preview *p, const struct record_issue *is)
{
	struct buf b = BUF_INIT_CAP(MAP_JSON_MAX);
	char path[512];
	int rc;

	if (map_cg_create_body_ex(p->c, is, NULL, &b, &p->e) != ERR_OK) {
		buf_release(&b);
		return -1;
	}
	snprintf(path, sizeof(path), "/api/v1/classes/%s", p->c->cg.request_class);
	rc = emit_body(p, p->root, "create request", "POST", path, &b, NULL, NULL);
	if (rc == 0 && !p->json)
		rc = as_text(p, &b);
	buf_release(&b);
	if (rc)
		return rc;
	if (is->media_url) {
		struct record_attachment at = {is->issue_id, NULL, is->media_url, NULL};
		if (attachment(p, &at))
			return -1;
	}
	for (size_t i = 0; i < is->n_comments; i++) {
		const struct record_comment *cm = &is->comments[i];
		struct record_attachment at = {is->issue_id, cm->comment_id, cm->media_url, NULL};
		if (cm->media_url && map_comment_forward(p->c, cm) && attachment(p, &at))
			return -1;
	}
	return messages(p, is);
}

static int record(struct preview *p, const struct record *r)
{
	switch (r->kind) {
	case RECORD_ISSUE:
		return issue(p, &r->u.issue);
	case RECORD_COMMENT:
		if (!map_comment_forward(p->c, &r->u.comment)) {
			emit_text(p, "skipped",
			          "not sent (a system comment this configuration does not forward)",
			          r->u.comment.text ? r->u.comment.text : "");
			return 0;
		}
		return note(p, &r->u.comment);
	case RECORD_ATTACHMENT:
		return attachment(p, &r->u.attachment);
	case RECORD_ACK:
		return ack_text(p, &r->u.ack);
	case RECORD_CLOSE:
		return close_text(p, &r->u.close);
	case RECORD_CENSUS: /* reconciliation, nothing a message shows */
	case RECORD_RESEND:
	case RECORD_RECONCILE:
		err_set(&p->e, ERR_PERM, "a %s record has no preview", record_kind_name(r->kind));
		return -1;
	}
	err_set(&p->e, ERR_PERM, "unknown record kind");
	return -1;
}

/* The input as a record: JSON is an SCF issue, XML a record file. */
static enum err_status read_input(const struct cfg *c, const char *path, struct record **out,
                                  struct err *e)
{
	struct buf in = BUF_INIT_CAP(PREVIEW_INPUT_MAX);
	const char *s;
	cJSON *obj;
	enum err_status st;

	*out = NULL;
	st = buf_read_file(&in, path, e);
	if (st != ERR_OK)
		goto out;
	for (s = buf_str(&in); *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'; s++)
		;
	if (*s == '<') {
		st = record_decode_unverified(buf_str(&in), in.len, out, e);
		if (st != ERR_OK)
			st = err_set(e, ERR_PERM, "%s: %s", path, e->msg);
		goto out;
	}
	if (*s != '{') {
		st = err_set(e, ERR_PERM, "%s: neither an SCF issue (JSON) nor a record (XML)",
		             path);
		goto out;
	}
	if (in.len > MAP_JSON_MAX || !(obj = cJSON_ParseWithLength(buf_str(&in), in.len))) {
		st = err_set(e, ERR_PERM, "%s: not valid JSON (or over %zu bytes)", path,
		             MAP_JSON_MAX);
		goto out;
	}
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(obj, "issues")))
		st = err_set(e, ERR_PERM,
		             "%s: a page of issues; save one element of \"issues\" (or GET "
		             "/issues/:id) and preview that",
		             path);
	else
		st = map_scf_issue_cjson(obj, c, out, e);
	cJSON_Delete(obj);
out:
	buf_release(&in);
	return st;
}

/* Checked like `config check` except for the files that must exist: the
 * preview reads no key, spool or credential, and a city tries its
 * templates on a machine that has none of them. */
static enum err_status load_config(const char *path, struct cfg **c, struct err *e)
{
	struct buf b = BUF_INIT_CAP(CFG_MAX_BYTES);
	enum err_status st = buf_read_file(&b, path, e);

	if (st == ERR_OK)
		st = cfg_load_mem(buf_str(&b), b.len, path, CFG_NO_FILE_CHECKS, c, e);
	buf_release(&b);
	return st;
}

enum { OPT_JSON = CLI_OPT_LONG, OPT_OID, OPT_REQUEST_ID };

static const struct option options[] = {
    CLI_OPT_CONFIG,
    {"json", no_argument, NULL, OPT_JSON},
    {"oid", required_argument, NULL, OPT_OID},
    {"request-id", required_argument, NULL, OPT_REQUEST_ID},
    {NULL, 0, NULL, 0},
};

int cmd_preview(int argc, char **argv)
{
	const char *config = NULL, *input = NULL, *rid = "PREVIEW-1";
	char config_buf[CLI_PATH_MAX];
	struct preview p;
	struct cfg *c = NULL;
	struct record *r = NULL;
	int rc = CLI_EXIT_FAIL, got, opt;
	int64_t oid = 1;
	struct cli_opt o;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	memset(&p, 0, sizeof(p));
	cli_opt_init(&o, "preview", NULL, argc, argv, options);
	while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
		switch (opt) {
		case 'c':
			config = o.arg;
			break;
		case OPT_JSON:
			p.json = 1;
			break;
		case OPT_OID:
			oid = cli_id(o.arg);
			if (oid < 1)
				return cli_usage("preview", "--oid needs a positive number");
			break;
		case OPT_REQUEST_ID:
			rid = o.arg;
			break;
		case CLI_OPT_ARG:
			if (input)
				return cli_usage("preview", "one ISSUE.json or RECORD.xml only");
			input = o.arg;
			break;
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		default:
			return cli_opt_unknown(&o);
		}
	}
	if (!input)
		return cli_usage("preview", "an ISSUE.json or RECORD.xml is required");
	if ((got = cli_config_path("preview", CLI_HALF_ANY, config, config_buf, &config)) != 0)
		return got;
	err_clear(&p.e);
	if (load_config(config, &c, &p.e) != ERR_OK)
		return cli_fail("preview", &p.e);
	if (!c->cg.request_class) {
		err_set(&p.e, ERR_FATAL, "%s: no <cartegraph> section: nothing to preview", config);
		rc = cli_fail("preview", &p.e);
		goto out;
	}
	if (read_input(c, input, &r, &p.e) != ERR_OK) {
		rc = cli_fail("preview", &p.e);
		goto out;
	}
	p.c = c;
	p.rq.oid = oid;
	p.rq.request_id = UNCONST(rid); /* borrowed: never freed here */
	if (p.json) {
		p.root = jdoc_root_object(&p.d);
		jdoc_string(&p.d, p.root, "input", record_kind_name(r->kind));
		jdoc_string(&p.d, p.root, "configuration", config);
		p.notes = jdoc_array(&p.d, p.root, "notes");
		p.atts = jdoc_array(&p.d, p.root, "attachments");
	}
	if (!p.json)
		fprintf(stderr,
		        "scfgate preview: %s with %s; nothing was sent (Oid %lld and request id "
		        "%s stand for what Cartegraph assigns)\n",
		        r->key ? r->key : record_kind_name(r->kind), config, (long long)oid, rid);
	if (record(&p, r)) {
		/* the first lines (text) may be out already; the error says where it stopped */
		rc = cli_fail("preview", &p.e);
		goto out;
	}
	if (p.json) {
		char *t = jdoc_print(&p.d, 1);
		if (!t) {
			err_set(&p.e, ERR_TEMP, "out of memory");
			rc = cli_fail("preview", &p.e);
			goto out;
		}
		printf("%s\n", t);
		cJSON_free(t);
	}
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	jdoc_release(&p.d);
	record_free(r);
	cfg_free(c);
	return rc;
}
