/*
 * cmd_spool.c: `scfgate spool ls|show|verify|stat|hold|release|retry|
 * dismiss|skip|replay|archive|init`.
 *
 * Every sub-command goes through the spool library, whose operator
 * actions are single renames or marker files, so all of them are safe
 * while a daemon consumes the same queue.  `replay` hands done/ records to
 * the half that applies them (its effects are idempotent); `archive`
 * moves old done/ records into verified bundles.
 *
 * --config FILE stands for --root and the right key: a queue this half
 * consumes is verified with the peer's public key, a queue it produces
 * with its own key.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bundle.h"
#include "cfg.h"
#include "cli.h"
#include "jdoc.h"
#include "oms.h"
#include "record.h"
#include "scf.h"
#include "sig.h"
#include "spool.h"
#include "when.h"

static const char usage_text[] =
    "usage: scfgate spool SUBCOMMAND [--config FILE | --root DIR] [--queue NAME] [options]\n"
    "\n"
    "  ls      [--dir new|cur|done|failed|hold|dismissed|all] [--json]\n"
    "          list record files in sequence order with each one's kind and\n"
    "          SCF issue id (default: all directories)\n"
    "  show    NAME|FILE [--pubkey FILE] [--json]\n"
    "          print a record (envelope and every payload field) and whether\n"
    "          its signature verifies; NAME is looked up in the queue\n"
    "  verify  [--pubkey FILE] [--dir D|all] [FILE...]\n"
    "          check files (default: the queue's new/): XML, XSD, signature, name\n"
    "  stat    [--json] [--gap-alarm SECONDS]\n"
    "          depth of every directory, oldest waiting record, gap, failures,\n"
    "          and the age of the records in each directory (0-5m ... 160m+)\n"
    "  hold    NAME...    set waiting records aside (new/ -> hold/)\n"
    "  release NAME...    put held records back (hold/ -> new/)\n"
    "  retry   NAME... | --all    put failed records back (failed/ -> new/);\n"
    "          --all: every failed record of the queue\n"
    "  retry   --now      records waiting out a back-off after a temporary error\n"
    "          are tried at the applying half's next pass (within a second);\n"
    "          may be given with NAME... or --all\n"
    "  dismiss NAME --reason TEXT\n"
    "          move a failed record aside for good (failed/ -> dismissed/, with\n"
    "          who, when and why in NAME.why); status no longer counts it\n"
    "  skip    --producer ID SEQ [--through LAST] | NAME | --producer ID --gap\n"
    "          stop waiting for a missing sequence, a range of them, or the\n"
    "          whole current gap (up to the next record waiting in new/);\n"
    "          after a power loss a producer may leave up to 64 unused\n"
    "          numbers, which `stat` shows as a GAP\n"
    "  replay  --config FILE [NAME...] [--from SEQ] [--to SEQ]\n"
    "          apply done records again through the half's idempotent effects\n"
    "          (scf half: the inbound queue; oms half: the outbound queue,\n"
    "          refused while `scfgate oms` runs)\n"
    "  archive --older-than DAYS --to DIR [--key FILE] [--producer ID]\n"
    "          move done records older than DAYS into a signed, verified\n"
    "          bundle in DIR (removed from done/ only after verification)\n"
    "  init    [--config FILE]\n"
    "          create both queues of the configuration's spool root with every\n"
    "          sub-directory, owned like the root, mode 0750; the receiving\n"
    "          queue's new/ writable by <transportGroup> when configured\n"
    "\n"
    "  --config FILE  the half's configuration: gives --root, the keys and,\n"
    "                 for replay and archive, the queue the half consumes;\n"
    "                 without --config and --root: /etc/scfgate/scf.xml or\n"
    "                 /etc/scfgate/oms.xml, whichever exists\n"
    "  --root DIR     the spool root (no configuration is read)\n"
    "  --queue NAME   outbound or inbound (ls and stat: all queues when omitted)\n"
    "  --pubkey FILE  the producing half's public key, to verify signatures\n"
    "  --json         ls, show and stat: one JSON document\n"
    "  --help         this text\n";

struct opts {
	const char *config_path;
	char config_buf[CLI_PATH_MAX];
	struct cfg *cfg;
	const char *root;
	const char *key;
	const char *from;
	const char *to;
	const char *older_than;
	const char *queue;
	const char *pubkey;
	const char *dir;
	const char *producer;
	const char *through;
	const char *reason;
	unsigned gap_alarm;
	int json;
	int gap;
	int all;
	int now;
	int nargs;
	const char **args;
};

static const char *const queues[] = {"outbound", "inbound"};

enum {
	OPT_JSON = CLI_OPT_LONG,
	OPT_GAP,
	OPT_ALL,
	OPT_NOW,
	OPT_GAP_ALARM,
	OPT_ROOT,
	OPT_KEY,
	OPT_FROM,
	OPT_TO,
	OPT_OLDER_THAN,
	OPT_QUEUE,
	OPT_PUBKEY,
	OPT_DIR,
	OPT_PRODUCER,
	OPT_THROUGH,
	OPT_REASON,
};

/* Every sub-command's options; parse refuses those of another one. */
static const struct option options[] = {
    CLI_OPT_CONFIG,
    {"json", no_argument, NULL, OPT_JSON},
    {"gap", no_argument, NULL, OPT_GAP},
    {"all", no_argument, NULL, OPT_ALL},
    {"now", no_argument, NULL, OPT_NOW},
    {"gap-alarm", required_argument, NULL, OPT_GAP_ALARM},
    {"root", required_argument, NULL, OPT_ROOT},
    {"key", required_argument, NULL, OPT_KEY},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"older-than", required_argument, NULL, OPT_OLDER_THAN},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"pubkey", required_argument, NULL, OPT_PUBKEY},
    {"dir", required_argument, NULL, OPT_DIR},
    {"producer", required_argument, NULL, OPT_PRODUCER},
    {"through", required_argument, NULL, OPT_THROUGH},
    {"reason", required_argument, NULL, OPT_REASON},
    {NULL, 0, NULL, 0},
};

static const char **str_slot(struct opts *o, int opt)
{
	switch (opt) {
	case 'c':
		return &o->config_path;
	case OPT_ROOT:
		return &o->root;
	case OPT_KEY:
		return &o->key;
	case OPT_FROM:
		return &o->from;
	case OPT_TO:
		return &o->to;
	case OPT_OLDER_THAN:
		return &o->older_than;
	case OPT_QUEUE:
		return &o->queue;
	case OPT_PUBKEY:
		return &o->pubkey;
	case OPT_DIR:
		return &o->dir;
	case OPT_PRODUCER:
		return &o->producer;
	default:
		return NULL;
	}
}

static int parse(int argc, char **argv, struct opts *o)
{
	const char *sub = argv[0];
	struct cli_opt co;
	int opt;

	memset(o, 0, sizeof(*o));
	o->args = calloc((size_t)argc + 1, sizeof(char *));
	if (!o->args)
		return cli_usage("spool", "out of memory");
	cli_opt_init(&co, "spool", sub, argc, argv, options);
	while ((opt = cli_opt_next(&co)) != CLI_OPT_END) {
		const char **slot = NULL;
		const char *only = NULL; /* the one sub-command that takes it */

		switch (opt) {
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		case CLI_OPT_ARG:
			o->args[o->nargs++] = co.arg;
			continue;
		case OPT_JSON:
			o->json = 1;
			continue;
		case OPT_GAP:
			only = "skip";
			o->gap = 1;
			break;
		case OPT_ALL:
			only = "retry";
			o->all = 1;
			break;
		case OPT_NOW:
			only = "retry";
			o->now = 1;
			break;
		case OPT_GAP_ALARM: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(co.arg, &end, 10);
			if (errno || *end || co.arg[0] == '-' || !v || v > UINT_MAX)
				return cli_usage("spool", "%s: --gap-alarm needs seconds", sub);
			o->gap_alarm = (unsigned)v;
			continue;
		}
		case OPT_THROUGH:
			only = "skip";
			slot = &o->through;
			break;
		case OPT_REASON:
			only = "dismiss";
			slot = &o->reason;
			break;
		default:
			slot = str_slot(o, opt);
			break;
		}
		if (only && strcmp(sub, only) != 0)
			return cli_opt_unknown(&co);
		if (slot)
			*slot = co.arg;
	}
	if (strcmp(sub, "init") == 0 && o->root)
		return cli_usage("spool", "init: the spool root comes from the configuration; give "
		                          "--config FILE, not --root");
	/* --root alone reads no configuration; without either, the default. */
	if (!o->root) {
		int rc = cli_config_path("spool", CLI_HALF_ANY, o->config_path, o->config_buf,
		                         &o->config_path);
		if (rc)
			return rc;
	}
	if (o->config_path) {
		struct err e;
		err_clear(&e);
		if (cfg_load_file(o->config_path, &o->cfg, &e) != ERR_OK)
			return cli_fail("spool", &e);
		if (!o->root)
			o->root = o->cfg->spool.root;
	}
	if (!o->root)
		return cli_usage("spool", "%s: --root DIR or --config FILE is required", sub);
	if (o->queue && !spool_queue_valid(o->queue))
		return cli_usage("spool", "%s: invalid queue name '%s'", sub, o->queue);
	if (strcmp(sub, "init") == 0)
		return 0; /* it makes the queues the check looks for */
	return cli_spool_root_check("spool", sub, o->root);
}

static int need_queue(const struct opts *o, const char *sub)
{
	if (!o->queue)
		return cli_usage("spool", "%s: --queue NAME is required", sub);
	return 0;
}

/* ---- ls ---- */

struct ls_ctx {
	const struct opts *o;
	const char *queue;
	size_t n;
	int failed; /* --json: a record's object could not be made */
};

/* Kind and issue of a record file, decoded without verification (for
 * listing only); "?" and 0 when it does not decode. */
static void peek_record(const char *root, const char *queue, const struct spool_entry *ent,
                        const char **kind, int64_t *issue)
{
	char path[SPOOL_PATH_MAX];
	struct record *r = NULL;
	struct err e;

	*kind = "?";
	*issue = 0;
	if (!ent->seq || spool_path(path, root, queue, ent->dir, ent->name, NULL) != ERR_OK ||
	    spool_read_record(path, NULL, &r, NULL, &e) != ERR_OK) {
		record_free(r);
		return;
	}
	*kind = record_kind_name(r->kind) ? record_kind_name(r->kind) : "?";
	*issue = record_issue_id(r);
	record_free(r);
}

static int ls_one(const struct spool_entry *ent, void *vctx)
{
	struct ls_ctx *x = vctx;
	char when[32], name[ESCAPE_DISPLAY_MAX(sizeof(ent->name))], issue_s[32];
	const char *kind;
	int64_t issue;

	when_utc(ent->mtime, when);
	peek_record(x->o->root, x->queue, ent, &kind, &issue);
	x->n++;
	if (x->o->json) {
		/* One object at a time, printed as soon as made: memory does not
		 * grow with the queue.  An object that cannot be made stops the
		 * listing before the closing bracket, so what was printed does
		 * not parse and no reader takes it for the whole list. */
		struct jdoc d = JDOC_INIT;
		cJSON *j = jdoc_root_object(&d);
		char *t;

		jdoc_string(&d, j, "queue", x->queue);
		jdoc_string(&d, j, "dir", spool_dir_name(ent->dir));
		jdoc_string(&d, j, "name", escape_display(ent->name, name, sizeof(name)));
		jdoc_string(&d, j, "producer", ent->producer);
		jdoc_number(&d, j, "seq", (double)ent->seq);
		jdoc_string(&d, j, "kind", kind);
		if (issue)
			jdoc_number(&d, j, "issue_id", (double)issue);
		else
			jdoc_null(&d, j, "issue_id");
		jdoc_number(&d, j, "size", (double)ent->size);
		jdoc_string(&d, j, "mtime", when);
		t = jdoc_print(&d, 0);
		jdoc_release(&d);
		if (!t) {
			x->failed = 1;
			return -1;
		}
		printf("%s%s", x->n == 1 ? "[\n" : ",\n", t);
		cJSON_free(t);
		return 0;
	}
	if (x->n == 1)
		printf("%-8s %-9s %-40s %-10s %-10s %8s  %s\n", "QUEUE", "DIR", "NAME", "KIND",
		       "ISSUE", "SIZE", "MTIME");
	snprintf(issue_s, sizeof(issue_s), "%lld", (long long)issue);
	printf("%-8s %-9s %-40s %-10s %-10s %8lld  %s\n", x->queue, spool_dir_name(ent->dir),
	       escape_display(ent->name, name, sizeof(name)), kind, issue ? issue_s : "-",
	       (long long)ent->size, when);
	return 0;
}

static int queue_exists(const char *root, const char *queue)
{
	struct spool_stats st;

	return spool_stats(root, queue, 0, &st, NULL) == ERR_OK;
}

static int do_ls(struct opts *o)
{
	static const enum spool_dir dirs[] = {SPOOL_NEW,    SPOOL_CUR,       SPOOL_HOLD,
	                                      SPOOL_FAILED, SPOOL_DISMISSED, SPOOL_DONE};
	struct ls_ctx x = {.o = o};
	int only = -1;
	struct err e;

	if (o->dir && strcmp(o->dir, "all") != 0) {
		only = spool_dir_from_name(o->dir);
		if (only < 0 || only == SPOOL_STATE || only == SPOOL_TMP)
			return cli_usage("spool", "ls: unknown directory '%s'", o->dir);
	}
	for (size_t q = 0; q < 2; q++) {
		const char *queue = o->queue ? o->queue : queues[q];
		if (!o->queue && !queue_exists(o->root, queue))
			continue;
		x.queue = queue;
		for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
			if (only >= 0 && (int)dirs[d] != only)
				continue;
			if (spool_list(o->root, queue, dirs[d], ls_one, &x, &e) != ERR_OK) {
				fflush(stdout);
				return cli_fail("spool", &e);
			}
			if (x.failed) {
				fflush(stdout);
				fprintf(stderr, "scfgate spool: out of memory building the JSON "
				                "output\n");
				return CLI_EXIT_FAIL;
			}
		}
		if (o->queue)
			break;
	}
	if (o->json) {
		printf("%s]\n", x.n ? "\n" : "[");
		return CLI_EXIT_OK;
	}
	if (!x.n)
		fprintf(stderr, "no records\n");
	return CLI_EXIT_OK;
}

/* ---- show ---- */

/* A field the record does not have is left out, in JSON as in text. */
static void add_str(struct jdoc *d, cJSON *j, const char *k, const char *v)
{
	if (v)
		jdoc_string(d, j, k, v);
}

static void add_int(struct jdoc *d, cJSON *j, const char *k, int64_t v)
{
	jdoc_number(d, j, k, (double)v);
}

static void comment_json(struct jdoc *d, cJSON *j, const struct record_comment *c)
{
	add_int(d, j, "issue_id", c->issue_id);
	add_str(d, j, "comment_id", c->comment_id);
	add_str(d, j, "created_at", c->created_at);
	add_int(d, j, "commenter_id", c->commenter_id);
	add_str(d, j, "commenter_name", c->commenter_name);
	add_str(d, j, "text", c->text);
	jdoc_bool(d, j, "is_system", c->is_system);
	add_str(d, j, "media_url", c->media_url);
	add_str(d, j, "source_json", c->source_json);
}

static void census_json(struct jdoc *d, cJSON *j, const struct record_census *c)
{
	cJSON *types, *es;

	add_str(d, j, "census_id", c->census_id);
	add_int(d, j, "part", c->part);
	jdoc_bool(d, j, "last", c->last);
	add_str(d, j, "window_from", c->window_from);
	add_str(d, j, "window_to", c->window_to);
	types = jdoc_array(d, j, "request_type_ids");
	for (size_t k = 0; k < c->n_request_types; k++)
		jdoc_number(d, types, NULL, (double)c->request_type_ids[k]);
	es = jdoc_array(d, j, "entries");
	for (size_t k = 0; k < c->n_entries; k++) {
		const struct record_census_entry *ce = &c->entries[k];
		cJSON *o = jdoc_object(d, es, NULL);
		add_int(d, o, "issue_id", ce->issue_id);
		add_str(d, o, "status", ce->status);
		add_int(d, o, "request_type_id", ce->request_type_id);
		add_str(d, o, "updated_at", ce->updated_at);
		jdoc_number(d, o, "lat", ce->lat);
		jdoc_number(d, o, "lng", ce->lng);
		add_str(d, o, "html_url", ce->html_url);
		if (ce->generation > 1)
			add_int(d, o, "generation", ce->generation);
		jdoc_bool(d, o, "sent", ce->sent);
		jdoc_bool(d, o, "acknowledged", ce->acknowledged);
		jdoc_bool(d, o, "closed", ce->closed);
	}
}

static void reconcile_json(struct jdoc *d, cJSON *j, const struct record_reconcile *rc)
{
	cJSON *fs;

	add_str(d, j, "census_id", rc->census_id);
	add_int(d, j, "part", rc->part);
	jdoc_bool(d, j, "last", rc->last);
	add_int(d, j, "in_sync", rc->in_sync);
	add_int(d, j, "missing", rc->missing);
	add_int(d, j, "missed_close", rc->missed_close);
	add_int(d, j, "orphan", rc->orphan);
	add_int(d, j, "drift", rc->drift);
	add_int(d, j, "duplicate", rc->duplicate);
	fs = jdoc_array(d, j, "findings");
	for (size_t k = 0; k < rc->n_findings; k++) {
		const struct record_finding *f = &rc->findings[k];
		cJSON *o = jdoc_object(d, fs, NULL);
		add_str(d, o, "class", f->cls);
		add_int(d, o, "issue_id", f->issue_id);
		add_str(d, o, "scf_status", f->scf_status);
		if (f->oid)
			add_int(d, o, "oid", f->oid);
		add_str(d, o, "request_id", f->request_id);
		add_str(d, o, "oms_status", f->oms_status);
		add_str(d, o, "detail", f->detail);
	}
}

static void payload_json(struct jdoc *d, cJSON *parent, const struct record *r)
{
	const char *kind = record_kind_name(r->kind);
	cJSON *j = jdoc_object(d, parent, kind ? kind : "payload");

	switch (r->kind) {
	case RECORD_ISSUE: {
		const struct record_issue *i = &r->u.issue;
		cJSON *qs, *cs;
		add_int(d, j, "issue_id", i->issue_id);
		if (i->generation > 1)
			add_int(d, j, "generation", i->generation);
		add_int(d, j, "request_type_id", i->request_type_id);
		add_str(d, j, "request_type_title", i->request_type_title);
		add_str(d, j, "status", i->status);
		add_str(d, j, "summary", i->summary);
		add_str(d, j, "description", i->description);
		jdoc_number(d, j, "lat", i->lat);
		jdoc_number(d, j, "lng", i->lng);
		add_str(d, j, "address", i->address);
		add_int(d, j, "reporter_id", i->reporter_id);
		add_str(d, j, "reporter_name", i->reporter_name);
		add_str(d, j, "created_at", i->created_at);
		add_str(d, j, "updated_at", i->updated_at);
		add_str(d, j, "html_url", i->html_url);
		add_str(d, j, "media_url", i->media_url);
		qs = jdoc_array(d, j, "questions");
		for (size_t k = 0; k < i->n_questions; k++) {
			cJSON *q = jdoc_object(d, qs, NULL);
			add_str(d, q, "question", i->questions[k].question);
			add_str(d, q, "answer", i->questions[k].answer);
		}
		cs = jdoc_array(d, j, "comments");
		for (size_t k = 0; k < i->n_comments; k++)
			comment_json(d, jdoc_object(d, cs, NULL), &i->comments[k]);
		add_str(d, j, "source_json", i->source_json);
		break;
	}
	case RECORD_COMMENT:
		comment_json(d, j, &r->u.comment);
		break;
	case RECORD_ATTACHMENT:
		add_int(d, j, "issue_id", r->u.attachment.issue_id);
		add_str(d, j, "comment_id", r->u.attachment.comment_id);
		add_str(d, j, "url", r->u.attachment.url);
		add_str(d, j, "content_type", r->u.attachment.content_type);
		break;
	case RECORD_ACK:
		add_int(d, j, "issue_id", r->u.ack.issue_id);
		add_int(d, j, "oid", r->u.ack.oid);
		add_str(d, j, "request_id", r->u.ack.request_id);
		add_int(d, j, "request_type_id", r->u.ack.request_type_id);
		add_str(d, j, "request_type_title", r->u.ack.request_type_title);
		add_str(d, j, "accepted_at", r->u.ack.accepted_at);
		break;
	case RECORD_CLOSE:
		add_int(d, j, "issue_id", r->u.close.issue_id);
		add_int(d, j, "oid", r->u.close.oid);
		add_str(d, j, "request_id", r->u.close.request_id);
		add_int(d, j, "request_type_id", r->u.close.request_type_id);
		add_str(d, j, "request_type_title", r->u.close.request_type_title);
		add_str(d, j, "oms_status", r->u.close.oms_status);
		add_str(d, j, "closed_at", r->u.close.closed_at);
		add_str(d, j, "source_json", r->u.close.source_json);
		break;
	case RECORD_CENSUS:
		census_json(d, j, &r->u.census);
		break;
	case RECORD_RESEND: {
		cJSON *ids = NULL;
		add_str(d, j, "census_id", r->u.resend.census_id);
		add_int(d, j, "part", r->u.resend.part);
		ids = jdoc_array(d, j, "issue_ids");
		for (size_t k = 0; k < r->u.resend.n_issues; k++)
			jdoc_number(d, ids, NULL, (double)r->u.resend.issue_ids[k]);
		break;
	}
	case RECORD_RECONCILE:
		reconcile_json(d, j, &r->u.reconcile);
		break;
	}
}

static void print_text(const cJSON *j, int indent)
{
	for (const cJSON *c = j->child; c; c = c->next) {
		if (cJSON_IsArray(c)) {
			int k = 0;
			printf("%*s%s: %d\n", indent, "", c->string, cJSON_GetArraySize(c));
			for (const cJSON *el = c->child; el; el = el->next, k++) {
				printf("%*s[%d]\n", indent + 2, "", k);
				print_text(el, indent + 4);
			}
		} else if (cJSON_IsObject(c)) {
			printf("%*s%s:\n", indent, "", c->string);
			print_text(c, indent + 2);
		} else if (cJSON_IsString(c)) {
			printf("%*s%s: %s\n", indent, "", c->string, c->valuestring);
		} else if (cJSON_IsBool(c)) {
			printf("%*s%s: %s\n", indent, "", c->string,
			       cJSON_IsTrue(c) ? "yes" : "no");
		} else if (cJSON_IsNumber(c)) {
			if (c->valuedouble == (double)(long long)c->valuedouble)
				printf("%*s%s: %lld\n", indent, "", c->string,
				       (long long)c->valuedouble);
			else
				printf("%*s%s: %.7f\n", indent, "", c->string, c->valuedouble);
		}
	}
}

/* NAME in the queue's directories, or a path as given. */
static int locate(const struct opts *o, const char *arg, char path[SPOOL_PATH_MAX])
{
	static const enum spool_dir dirs[] = {SPOOL_NEW,    SPOOL_CUR,       SPOOL_HOLD,
	                                      SPOOL_FAILED, SPOOL_DISMISSED, SPOOL_DONE};
	struct stat sb;

	if (strchr(arg, '/')) {
		snprintf(path, SPOOL_PATH_MAX, "%s", arg);
		return 0;
	}
	for (size_t q = 0; q < 2; q++) {
		const char *queue = o->queue ? o->queue : queues[q];
		for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
			if (spool_path(path, o->root, queue, dirs[d], arg, NULL) != ERR_OK)
				continue;
			/* Found is an entry of any type: the read that follows
			 * refuses what is not a regular file without opening it
			 * for reading (a FIFO would block an fopen). */
			if (lstat(path, &sb) == 0)
				return 0;
		}
		if (o->queue)
			break;
	}
	return -1;
}

/* The queue a half consumes: SCF applies inbound, OMS applies outbound. */
static const char *consumed_queue(const struct cfg *c)
{
	return c->half == CFG_HALF_SCF ? "inbound" : "outbound";
}

static int load_pub(const struct opts *o, struct sig_key **pub, struct err *e)
{
	*pub = NULL;
	if (o->pubkey)
		return sig_load_public(o->pubkey, pub, e) == ERR_OK ? 0 : -1;
	if (!o->cfg || !o->queue)
		return 0;
	/* Records of the queue this half produces carry its own signature;
	 * its private key verifies them as well as the public one would. */
	if (strcmp(o->queue, consumed_queue(o->cfg)) == 0)
		return sig_load_public(o->cfg->spool.peer_public_key, pub, e) == ERR_OK ? 0 : -1;
	return sig_load_private(o->cfg->spool.private_key, pub, e) == ERR_OK ? 0 : -1;
}

/* Verify path: ERR_OK and *r set, or a failure in e (r then holds the
 * unverified decode when the file at least parses). */
static enum err_status check_file(const char *path, const struct sig_key *pub, struct record **r,
                                  struct err *e)
{
	char name[RECORD_NAME_MAX], prod[RECORD_PRODUCER_MAX + 1];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	enum err_status st;
	uint64_t seq;
	int v = 0;

	*r = NULL;
	st = spool_read_record(path, pub, r, &v, e);
	if (st != ERR_OK) {
		struct err ignore;
		spool_read_record(path, NULL, r, NULL, &ignore);
		return st;
	}
	snprintf(name, sizeof(name), "%.*s.xml", (int)strcspn(base, "."), base);
	if (record_parse_file_name(name, &seq, prod) == 0 &&
	    (seq != (*r)->seq || strcmp(prod, (*r)->producer) != 0))
		return err_set(e, ERR_PERM,
		               "%s: name does not match content (producer %s seq %llu)", path,
		               (*r)->producer, (unsigned long long)(*r)->seq);
	return ERR_OK;
}

static int do_show(struct opts *o)
{
	char path[SPOOL_PATH_MAX];
	struct sig_key *pub = NULL;
	struct record *r = NULL;
	enum err_status st;
	struct err e;
	struct jdoc d = JDOC_INIT;
	cJSON *j, *env;
	const char *verdict;
	int rc;

	if (o->nargs != 1)
		return cli_usage("spool", "show: one NAME or FILE");
	if (locate(o, o->args[0], path) != 0)
		return cli_usage("spool", "show: %s: not found in the spool", o->args[0]);
	if (load_pub(o, &pub, &e) != 0)
		return cli_fail("spool", &e);
	err_clear(&e);
	st = check_file(path, pub, &r, &e);
	verdict = !pub ? "not checked (no --pubkey)" : st == ERR_OK ? "ok" : "FAILED";
	j = jdoc_root_object(&d);
	jdoc_string(&d, j, "file", path);
	jdoc_string(&d, j, "verification", verdict);
	if (st != ERR_OK)
		jdoc_string(&d, j, "error", e.msg);
	if (r) {
		env = jdoc_object(&d, j, "envelope");
		add_int(&d, env, "format", r->format_version);
		add_str(&d, env, "producer", r->producer);
		add_int(&d, env, "seq", (int64_t)r->seq);
		add_str(&d, env, "kind", record_kind_name(r->kind));
		add_str(&d, env, "created", r->created);
		add_str(&d, env, "key", r->key);
		payload_json(&d, j, r);
	}
	if (o->json) {
		rc = cli_print_jdoc_indented("spool", &d);
	} else if (jdoc_failed(&d)) {
		jdoc_release(&d);
		fprintf(stderr, "scfgate spool: out of memory building the output\n");
		rc = CLI_EXIT_FAIL;
	} else {
		print_text(j, 0);
		jdoc_release(&d);
		rc = CLI_EXIT_OK;
	}
	record_free(r);
	sig_key_free(pub);
	if (pub && st != ERR_OK)
		return CLI_EXIT_FAIL;
	if (!pub && st != ERR_OK && !r)
		return cli_fail("spool", &e);
	return rc;
}

/* ---- verify ---- */

struct verify_ctx {
	const struct opts *o;
	const struct sig_key *pub;
	const char *queue;
	size_t ok, bad;
};

static void verify_path(struct verify_ctx *x, const char *path)
{
	struct record *r = NULL;
	struct err e;

	char shown[ESCAPE_DISPLAY_MAX(ERR_MSG_MAX)];

	err_clear(&e);
	if (check_file(path, x->pub, &r, &e) == ERR_OK) {
		x->ok++;
		printf("ok    %s\n", escape_display(path, shown, sizeof(shown)));
	} else {
		x->bad++;
		/* The message names the file already. */
		printf("BAD   %s\n", escape_display(e.msg, shown, sizeof(shown)));
	}
	record_free(r);
}

static int verify_one(const struct spool_entry *ent, void *vctx)
{
	struct verify_ctx *x = vctx;
	char path[SPOOL_PATH_MAX];

	if (spool_path(path, x->o->root, x->queue, ent->dir, ent->name, NULL) == ERR_OK)
		verify_path(x, path);
	return 0;
}

static int do_verify(struct opts *o)
{
	struct verify_ctx x = {.o = o};
	struct sig_key *pub = NULL;
	struct err e;
	int only = SPOOL_NEW;

	if (!o->pubkey)
		return cli_usage("spool", "verify: --pubkey FILE is required");
	if (o->dir) {
		only = strcmp(o->dir, "all") ? spool_dir_from_name(o->dir) : -1;
		if (strcmp(o->dir, "all") != 0 &&
		    (only < 0 || only == SPOOL_STATE || only == SPOOL_TMP))
			return cli_usage("spool", "verify: unknown directory '%s'", o->dir);
	}
	if (load_pub(o, &pub, &e) != 0)
		return cli_fail("spool", &e);
	x.pub = pub;
	if (o->nargs) {
		for (int i = 0; i < o->nargs; i++)
			verify_path(&x, o->args[i]);
	} else {
		if (need_queue(o, "verify")) {
			sig_key_free(pub);
			return CLI_EXIT_USAGE;
		}
		x.queue = o->queue;
		for (int d = SPOOL_NEW; d < SPOOL_NDIRS; d++) {
			if ((only >= 0 && d != only) || d == SPOOL_STATE)
				continue;
			if (spool_list(o->root, o->queue, (enum spool_dir)d, verify_one, &x, &e) !=
			    ERR_OK) {
				sig_key_free(pub);
				return cli_fail("spool", &e);
			}
		}
	}
	sig_key_free(pub);
	fflush(stdout);
	fprintf(stderr, "%zu ok, %zu bad\n", x.ok, x.bad);
	return x.bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ---- stat ---- */

/* Age buckets of `spool stat`, as Postfix's qshape draws them: upper
 * bounds in minutes, doubling; the last bucket is open. */
static const unsigned age_edges[] = {5, 10, 20, 40, 80, 160};
#define AGE_BUCKETS (sizeof(age_edges) / sizeof(age_edges[0]) + 1)
static const enum spool_dir age_dirs[] = {SPOOL_NEW,    SPOOL_CUR,       SPOOL_HOLD,
                                          SPOOL_FAILED, SPOOL_DISMISSED, SPOOL_DONE};
#define AGE_DIRS (sizeof(age_dirs) / sizeof(age_dirs[0]))

struct ages {
	time_t now;
	size_t n[AGE_DIRS][AGE_BUCKETS + 1]; /* [..][0]: total */
	size_t d;
};

static int age_one(const struct spool_entry *ent, void *vctx)
{
	struct ages *a = vctx;
	time_t age = a->now - ent->mtime;
	size_t b = 0;

	if (age < 0)
		age = 0;
	while (b < AGE_BUCKETS - 1 && age >= (time_t)age_edges[b] * 60)
		b++;
	a->n[a->d][0]++;
	a->n[a->d][b + 1]++;
	return 0;
}

static void age_label(size_t b, char *out, size_t size)
{
	if (b == AGE_BUCKETS - 1)
		snprintf(out, size, "%um+", age_edges[b - 1]);
	else
		snprintf(out, size, "%u-%um", b ? age_edges[b - 1] : 0, age_edges[b]);
}

static enum err_status ages_of(const char *root, const char *queue, struct ages *a, struct err *e)
{
	for (a->d = 0; a->d < AGE_DIRS; a->d++) {
		enum err_status st = spool_list(root, queue, age_dirs[a->d], age_one, a, e);
		if (st != ERR_OK)
			return st;
	}
	return ERR_OK;
}

static void ages_text(const struct ages *a)
{
	char label[16];

	printf("  age (by mtime) %9s", "total");
	for (size_t b = 0; b < AGE_BUCKETS; b++) {
		age_label(b, label, sizeof(label));
		printf(" %8s", label);
	}
	printf("\n");
	for (size_t d = 0; d < AGE_DIRS; d++) {
		printf("  %-15s %9zu", spool_dir_name(age_dirs[d]), a->n[d][0]);
		for (size_t b = 0; b < AGE_BUCKETS; b++)
			printf(" %8zu", a->n[d][b + 1]);
		printf("\n");
	}
}

static void ages_json(struct jdoc *doc, cJSON *j, const struct ages *a)
{
	cJSON *h = jdoc_object(doc, j, "age_histogram"), *bk = jdoc_array(doc, h, "buckets");
	cJSON *dirs = jdoc_object(doc, h, "dirs");
	char label[16];

	for (size_t b = 0; b < AGE_BUCKETS; b++) {
		cJSON *o = jdoc_object(doc, bk, NULL);
		age_label(b, label, sizeof(label));
		jdoc_string(doc, o, "label", label);
		jdoc_number(doc, o, "from_seconds", b ? age_edges[b - 1] * 60.0 : 0);
		if (b < AGE_BUCKETS - 1)
			jdoc_number(doc, o, "to_seconds", age_edges[b] * 60.0);
		else
			jdoc_null(doc, o, "to_seconds");
	}
	for (size_t d = 0; d < AGE_DIRS; d++) {
		cJSON *o = jdoc_object(doc, dirs, spool_dir_name(age_dirs[d]));
		cJSON *c;
		jdoc_number(doc, o, "total", (double)a->n[d][0]);
		c = jdoc_array(doc, o, "counts");
		for (size_t b = 0; b < AGE_BUCKETS; b++)
			jdoc_number(doc, c, NULL, (double)a->n[d][b + 1]);
	}
}

static void stat_json(struct jdoc *d, cJSON *arr, const char *queue, const struct spool_stats *st,
                      const struct ages *ages, time_t now)
{
	cJSON *j = jdoc_object(d, arr, NULL), *depth, *g;

	jdoc_string(d, j, "queue", queue);
	depth = jdoc_object(d, j, "depth");
	for (int k = 0; k < SPOOL_NDIRS; k++)
		if (k != SPOOL_STATE)
			jdoc_number(d, depth, spool_dir_name((enum spool_dir)k),
			            (double)st->count[k]);
	jdoc_number(d, j, "dismissed", (double)st->count[SPOOL_DISMISSED]);
	ages_json(d, j, ages);
	jdoc_number(d, j, "oldest_waiting_age_seconds",
	            st->oldest_new ? (double)(now - st->oldest_new) : 0);
	jdoc_number(d, j, "next_seq", (double)st->next_seq);
	jdoc_number(d, j, "failed", (double)st->count[SPOOL_FAILED]);
	jdoc_number(d, j, "conflicts", (double)st->conflicts);
	spool_stats_json_state_strangers(d, j, st);
	if (!st->gap.active) {
		jdoc_null(d, j, "gap");
		return;
	}
	g = jdoc_object(d, j, "gap");
	jdoc_string(d, g, "producer", st->gap.producer);
	jdoc_number(d, g, "seq", (double)st->gap.seq);
	jdoc_number(d, g, "age_seconds", (double)(now - st->gap.since));
	jdoc_bool(d, g, "alarm", st->gap.alarmed);
}

static int do_stat(struct opts *o)
{
	struct jdoc doc = JDOC_INIT;
	cJSON *arr = o->json ? jdoc_root_array(&doc) : NULL;
	time_t now = time(NULL);
	int shown = 0, rc = CLI_EXIT_OK;

	for (size_t q = 0; q < 2; q++) {
		const char *queue = o->queue ? o->queue : queues[q];
		struct spool_stats st;
		struct ages ages;
		struct err e;
		memset(&ages, 0, sizeof(ages));
		ages.now = now;
		if (spool_stats(o->root, queue, o->gap_alarm, &st, &e) != ERR_OK ||
		    ages_of(o->root, queue, &ages, &e) != ERR_OK) {
			char qdir[SPOOL_PATH_MAX + SPOOL_QUEUE_MAX + 2];
			struct stat sb;

			if (o->queue) {
				jdoc_release(&doc);
				return cli_fail("spool", &e);
			}
			/* a queue not created yet is left out; one that is there
			 * but cannot be read (a link planted as new/) is named */
			snprintf(qdir, sizeof(qdir), "%s/%s", o->root, queue);
			if (lstat(qdir, &sb) == 0)
				rc = cli_fail("spool", &e);
			continue;
		}
		shown++;
		if (o->json) {
			stat_json(&doc, arr, queue, &st, &ages, now);
			continue;
		}
		printf("%s: new %zu  cur %zu  hold %zu  failed %zu  dismissed %zu  done %zu  tmp "
		       "%zu\n",
		       queue, st.count[SPOOL_NEW], st.count[SPOOL_CUR], st.count[SPOOL_HOLD],
		       st.count[SPOOL_FAILED], st.count[SPOOL_DISMISSED], st.count[SPOOL_DONE],
		       st.count[SPOOL_TMP]);
		if (st.oldest_new)
			printf("  oldest waiting record: %llds\n",
			       (long long)(now - st.oldest_new));
		if (st.next_seq)
			printf("  next expected sequence: %llu\n", (unsigned long long)st.next_seq);
		if (st.gap.active)
			printf("  GAP: %s seq %llu missing for %llds%s (once it is known lost: "
			       "scfgate spool skip --queue %s --producer %s --gap)\n",
			       st.gap.producer, (unsigned long long)st.gap.seq,
			       (long long)(now - st.gap.since), st.gap.alarmed ? " ALARM" : "",
			       queue, st.gap.producer);
		if (st.conflicts)
			printf("  conflicts quarantined: %zu\n", st.conflicts);
		for (size_t i = 0; i < st.state_strangers && i < SPOOL_STATE_STRANGERS_SHOWN; i++) {
			char name[ESCAPE_DISPLAY_MAX(255)];

			printf(
			    "  ATTENTION: %s/%s/state/%s: %s, not a regular file (never opened); "
			    "only scfgate keeps the queue's locks, sequences and positions there: "
			    "remove it\n",
			    o->root, queue,
			    escape_display(st.state_stranger[i], name, sizeof(name)),
			    spool_entry_type_name(st.state_stranger_type[i]));
		}
		ages_text(&ages);
		if (o->queue)
			break;
	}
	if (o->json) {
		int jrc = cli_print_jdoc_indented("spool", &doc);

		return jrc != CLI_EXIT_OK ? jrc : rc;
	}
	if (!shown && rc == CLI_EXIT_OK)
		return cli_usage("spool", "stat: no queue under %s", o->root);
	return rc;
}

/* ---- actions ---- */

typedef enum err_status (*action_fn)(const char *, const char *, const char *, struct err *);

static int do_action(struct opts *o, const char *sub, action_fn fn, const char *done)
{
	int rc = CLI_EXIT_OK;

	if (need_queue(o, sub))
		return CLI_EXIT_USAGE;
	if (!o->nargs)
		return cli_usage("spool", "%s: NAME is required", sub);
	for (int i = 0; i < o->nargs; i++) {
		struct err e;
		err_clear(&e);
		if (fn(o->root, o->queue, o->args[i], &e) != ERR_OK)
			rc = cli_fail("spool", &e);
		else
			printf("%s %s\n", done, o->args[i]);
	}
	return rc;
}

struct name_acc {
	char **v;
	size_t n;
	int oom;
};

static int collect_name(const struct spool_entry *ent, void *vctx)
{
	struct name_acc *a = vctx;
	char **nv = realloc(a->v, (a->n + 1) * sizeof(*nv));

	if (!nv || !(nv[a->n] = strdup(ent->name))) {
		if (nv)
			a->v = nv;
		a->oom = 1;
		return -1;
	}
	a->v = nv;
	a->n++;
	return 0;
}

/* retry NAME... | --all, and/or --now. */
static int do_retry(struct opts *o)
{
	struct name_acc all = {NULL, 0, 0};
	int rc = CLI_EXIT_OK;
	struct err e;

	if (need_queue(o, "retry"))
		return CLI_EXIT_USAGE;
	if (o->all && o->nargs)
		return cli_usage("spool", "retry: give NAME... or --all, not both");
	if (!o->all && !o->nargs && !o->now)
		return cli_usage("spool", "retry: NAME, --all or --now is required");
	err_clear(&e);
	if (o->all) {
		if (spool_list(o->root, o->queue, SPOOL_FAILED, collect_name, &all, &e) != ERR_OK)
			rc = cli_fail("spool", &e);
		else if (all.oom)
			rc = cli_usage("spool", "retry: out of memory");
		for (size_t i = 0; rc == CLI_EXIT_OK && i < all.n; i++) {
			err_clear(&e);
			if (spool_retry(o->root, o->queue, all.v[i], &e) != ERR_OK)
				rc = cli_fail("spool", &e);
			else
				printf("requeued %s\n", all.v[i]);
		}
		if (rc == CLI_EXIT_OK && !all.n)
			printf("retry: no failed record in %s\n", o->queue);
		for (size_t i = 0; i < all.n; i++)
			free(all.v[i]);
		free(all.v);
	} else if (o->nargs) {
		rc = do_action(o, "retry", spool_retry, "requeued");
	}
	if (o->now) {
		err_clear(&e);
		if (spool_retry_now(o->root, o->queue, &e) != ERR_OK)
			return cli_fail("spool", &e);
		printf("retry now requested: records of %s waiting out a back-off are tried at "
		       "the half's next pass\n",
		       o->queue);
	}
	return rc;
}

/* Who runs the command: the login behind sudo, else the effective user. */
static void whoami(char *out, size_t size)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd *pw = getpwuid(geteuid());
	char me[64];

	if (pw && pw->pw_name)
		snprintf(me, sizeof(me), "%s", pw->pw_name);
	else
		snprintf(me, sizeof(me), "uid %ld", (long)geteuid());
	if (sudo && *sudo && strcmp(sudo, me) != 0)
		snprintf(out, size, "%s (sudo, as %s)", sudo, me);
	else
		snprintf(out, size, "%s", me);
}

static int do_dismiss(struct opts *o)
{
	char who[160], kept[RECORD_NAME_MAX + 32];
	int rc = CLI_EXIT_OK;

	if (need_queue(o, "dismiss"))
		return CLI_EXIT_USAGE;
	if (!o->nargs)
		return cli_usage("spool", "dismiss: NAME is required");
	if (!o->reason || !o->reason[strspn(o->reason, " \t")])
		return cli_usage("spool", "dismiss: --reason TEXT is required (it is kept with "
		                          "the record)");
	whoami(who, sizeof(who));
	for (int i = 0; i < o->nargs; i++) {
		struct err e;
		err_clear(&e);
		if (spool_dismiss(o->root, o->queue, o->args[i], who, o->reason, kept, &e) !=
		    ERR_OK)
			rc = cli_fail("spool", &e);
		else
			printf("dismissed %s (kept as %s/%s/dismissed/%s with %s.why)\n",
			       o->args[i], o->root, o->queue, kept, kept);
	}
	return rc;
}

static int skip_gap(struct opts *o)
{
	uint64_t first, last;
	struct err e;

	if (!o->producer || o->nargs || o->through)
		return cli_usage("spool", "skip: --gap takes --producer ID and nothing else");
	err_clear(&e);
	if (spool_skip_gap(o->root, o->queue, o->producer, &first, &last, &e) != ERR_OK)
		return cli_fail("spool", &e);
	printf("skip requested: %s seq %llu through %llu (the consumer passes them at its next "
	       "claim)\n",
	       o->producer, (unsigned long long)first, (unsigned long long)last);
	return CLI_EXIT_OK;
}

static int do_skip(struct opts *o)
{
	char prod[RECORD_PRODUCER_MAX + 1];
	unsigned long long seq = 0, last;
	uint64_t s64;
	struct err e;
	char *end;

	if (need_queue(o, "skip"))
		return CLI_EXIT_USAGE;
	if (o->gap)
		return skip_gap(o);
	if (o->nargs != 1)
		return cli_usage("spool",
		                 "skip: give --producer ID SEQ, NAME, or --producer ID --gap");
	if (o->producer) {
		seq = strtoull(o->args[0], &end, 10);
		if (*o->args[0] < '0' || *o->args[0] > '9' || *end || !seq)
			return cli_usage("spool", "skip: '%s' is not a sequence number",
			                 o->args[0]);
		snprintf(prod, sizeof(prod), "%s", o->producer);
	} else {
		if (record_parse_file_name(o->args[0], &s64, prod) != 0)
			return cli_usage("spool",
			                 "skip: '%s' is not a record name (or use "
			                 "--producer ID SEQ)",
			                 o->args[0]);
		seq = s64;
	}
	last = seq;
	if (o->through) {
		last = strtoull(o->through, &end, 10);
		if (*o->through < '0' || *o->through > '9' || *end || last < seq)
			return cli_usage("spool",
			                 "skip: --through needs a sequence >= %llu, not '%s'", seq,
			                 o->through);
	}
	err_clear(&e);
	if (spool_skip_range(o->root, o->queue, prod, seq, last, &e) != ERR_OK)
		return cli_fail("spool", &e);
	if (last == seq)
		printf("skip requested: %s seq %llu (the consumer passes it at its next claim)\n",
		       prod, seq);
	else
		printf("skip requested: %s seq %llu through %llu (the consumer passes them at its "
		       "next claim)\n",
		       prod, seq, last);
	return CLI_EXIT_OK;
}

/* A sequence option: 0 when absent, -1 (with a usage message) when bad. */
static int parse_seq(const char *sub, const char *opt, const char *val, uint64_t *out)
{
	char *end;

	*out = 0;
	if (!val)
		return 0;
	*out = strtoull(val, &end, 10);
	if (*val < '0' || *val > '9' || *end) {
		cli_usage("spool", "%s: %s needs a sequence number, not '%s'", sub, opt, val);
		return -1;
	}
	return 0;
}

static int do_replay(struct opts *o)
{
	uint64_t from, to;
	struct err e;

	if (!o->cfg)
		return cli_usage("spool", "replay: --config FILE is required (it names the half "
		                          "whose effects are replayed)");
	if (parse_seq("replay", "--from", o->from, &from) ||
	    parse_seq("replay", "--to", o->to, &to))
		return CLI_EXIT_USAGE;
	struct half_replay_sel sel = {(const char *const *)o->args, (size_t)o->nargs, from, to};

	err_clear(&e);
	if (o->cfg->half == CFG_HALF_SCF) {
		struct scf_replay_result res = {0, 0, 0, 0};
		if (scf_replay(o->cfg, &sel, &res, &e) != ERR_OK)
			return cli_fail("spool", &e);
		printf("replayed inbound: %zu selected, %zu applied, %zu already in place, %zu "
		       "failed\n",
		       res.selected, res.applied, res.already, res.failed);
		return res.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
	size_t n = 0;
	if (oms_replay(o->cfg, &sel, &n, &e) != ERR_OK)
		return cli_fail("spool", &e);
	printf("replayed outbound: %zu records through forward (existing effects left alone)\n", n);
	return CLI_EXIT_OK;
}

static int do_archive(struct opts *o)
{
	const char *queue = o->queue;
	const char *key_path = o->key;
	const char *signer = o->producer;
	struct bundle_archive_result res;
	struct sig_key *key = NULL;
	struct err e;
	char *end;
	long days;
	int rc = CLI_EXIT_OK;

	if (!o->older_than || !o->to)
		return cli_usage("spool", "archive: --older-than DAYS and --to DIR are required");
	days = strtol(o->older_than, &end, 10);
	if (*end || days < 0)
		return cli_usage("spool", "archive: --older-than needs a number of days");
	if (o->cfg) {
		queue = queue ? queue : consumed_queue(o->cfg);
		key_path = key_path ? key_path : o->cfg->spool.private_key;
		signer = signer ? signer : o->cfg->spool.producer;
	}
	if (!queue || !key_path || !signer)
		return cli_usage("spool",
		                 "archive: give --queue, --key and --producer, or --config");
	err_clear(&e);
	if (sig_load_private(key_path, &key, &e) != ERR_OK)
		return cli_fail("spool", &e);
	memset(&res, 0, sizeof(res));
	if (bundle_archive(o->root, queue, (unsigned)days, o->to, key, signer, NULL, NULL, &res,
	                   &e) != ERR_OK)
		rc = cli_fail("spool", &e);
	else if (res.archived == 0)
		printf("archive: no done record of %s is older than %ld days\n", queue, days);
	else
		printf("archived %zu records of %s into %s (verified; removed from done/)\n",
		       res.archived, queue, res.path);
	sig_key_free(key);
	return rc;
}

static int do_init(struct opts *o)
{
	const struct cfg_spool *s = &o->cfg->spool;
	const char *receiving = consumed_queue(o->cfg);
	struct group *g = NULL;
	gid_t gid;
	struct err e;

	if (o->nargs || o->queue)
		return cli_usage("spool", "init: takes only --config FILE");
	if (s->transport_group) {
		errno = 0;
		if (!(g = getgrnam(s->transport_group)))
			return cli_usage(
			    "spool", "init: <transportGroup> %s is not a group on this host%s%s",
			    s->transport_group, errno ? ": " : "", errno ? strerror(errno) : "");
		gid = g->gr_gid;
	}
	err_clear(&e);
	if (spool_root_init(o->root, receiving, g ? &gid : NULL, &e) != ERR_OK)
		return cli_fail("spool", &e);
	if (g)
		printf(
		    "%s: outbound/ and inbound/ ready; %s/new/ (the receiving queue) writable by "
		    "group %s (mode 2770)\n",
		    o->root, receiving, s->transport_group);
	else
		printf(
		    "%s: outbound/ and inbound/ ready; %s/new/ (the receiving queue) writable by "
		    "the owner only (no <transportGroup>)\n",
		    o->root, receiving);
	return CLI_EXIT_OK;
}

int cmd_spool(int argc, char **argv)
{
	struct opts o;
	const char *sub;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc < 2)
			return cli_usage("spool", "a sub-command is required (see --help)");
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	sub = argv[1];
	if (cli_wants_help(argc - 1, argv + 1)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(sub, "ls") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "verify") != 0 &&
	    strcmp(sub, "stat") != 0 && strcmp(sub, "hold") != 0 && strcmp(sub, "release") != 0 &&
	    strcmp(sub, "retry") != 0 && strcmp(sub, "skip") != 0 && strcmp(sub, "replay") != 0 &&
	    strcmp(sub, "archive") != 0 && strcmp(sub, "dismiss") != 0 && strcmp(sub, "init") != 0)
		return cli_usage("spool", "unknown sub-command '%s' (see --help)", sub);
	rc = parse(argc - 1, argv + 1, &o);
	if (rc)
		goto out;
	if (strcmp(sub, "ls") == 0)
		rc = do_ls(&o);
	else if (strcmp(sub, "show") == 0)
		rc = do_show(&o);
	else if (strcmp(sub, "verify") == 0)
		rc = do_verify(&o);
	else if (strcmp(sub, "stat") == 0)
		rc = do_stat(&o);
	else if (strcmp(sub, "hold") == 0)
		rc = do_action(&o, sub, spool_hold, "held");
	else if (strcmp(sub, "release") == 0)
		rc = do_action(&o, sub, spool_release, "released");
	else if (strcmp(sub, "retry") == 0)
		rc = do_retry(&o);
	else if (strcmp(sub, "dismiss") == 0)
		rc = do_dismiss(&o);
	else if (strcmp(sub, "replay") == 0)
		rc = do_replay(&o);
	else if (strcmp(sub, "archive") == 0)
		rc = do_archive(&o);
	else if (strcmp(sub, "init") == 0)
		rc = do_init(&o);
	else
		rc = do_skip(&o);
out:
	cfg_free(o.cfg);
	free(o.args);
	return rc;
}
