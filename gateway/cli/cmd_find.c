/*
 * cmd_find.c: `scfgate find ID`: everything this host has about one
 * issue: its records in both queues (every sub-directory), what the
 * half's state says (the SCF half's known state, the OMS half's tracked
 * request), the Cartegraph request (Oid, IDField) and the last records
 * of each effect.
 *
 * ID is an SCF issue id, a Cartegraph Oid or a Cartegraph IDField
 * (SR-000123).  A number is first taken as an SCF issue id; when no
 * record or state names that issue, as an Oid.  Records are decoded
 * without verifying their signature (this is inspection: `spool show
 * --pubkey` verifies one); state is read without a lock, like `status`,
 * so it runs beside the daemon.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cli.h"
#include "find.h"
#include "jdoc.h"
#include "oms.h"
#include "record.h"
#include "scf.h"
#include "spool.h"

static const char usage_text[] =
    "usage: scfgate find ID [--config FILE | --root DIR] [--json]\n"
    "\n"
    "Every record of one issue in both queues of this host (new, cur, done,\n"
    "failed, hold, dismissed), with kind and sequence; the half's state of\n"
    "the issue (SCF half: what it knows of the SeeClickFix issue; OMS half:\n"
    "the tracked Cartegraph request); the Cartegraph request (Oid, IDField);\n"
    "and the last record of each effect (issue, comment, attachment, ack,\n"
    "close).  Each host shows what it has.\n"
    "\n"
    "  ID             an SCF issue id, a Cartegraph Oid, or an IDField (SR-000123)\n"
    "  --config FILE  the half's configuration (gives the spool root); without\n"
    "                 --config and --root: /etc/scfgate/scf.xml or\n"
    "                 /etc/scfgate/oms.xml, whichever exists (both: refused)\n"
    "  --root DIR     the spool root (no configuration is read)\n"
    "  --json         one JSON document\n"
    "  --help         this text\n"
    "\n"
    "Exit status: 0 when something is known about ID, 1 when nothing is.\n";

struct find {
	const char *root;
	int64_t num;     /* the ID as a number; 0 when it is not one */
	const char *str; /* the ID as typed */
	struct find_hits h;
};

/* A record that may concern ID: its issue, Oid or IDField matches. */
static int candidate(const struct find_hit *h, void *vctx)
{
	const struct find *f = vctx;

	return (f->num && (h->issue == f->num || h->oid == f->num)) ||
	       (h->request[0] && f->str[0] && strcmp(h->request, f->str) == 0);
}

/* Every record of both queues that may concern ID, into f->h. */
static enum err_status scan_all(struct find *f, struct err *e)
{
	return find_collect(f->root, candidate, f, &f->h, e);
}

struct scf_view {
	int present;
	char status[8];
	char transitions[16];
	size_t keys; /* state keys naming the issue */
	char error[ERR_MSG_MAX];
};

/* Keys "<what>/<issue>[/...]" of the SCF half's state. */
static void scf_view_read(const char *root, int64_t issue, struct scf_view *v)
{
	char dir[SPOOL_PATH_MAX + 16], want[32];
	struct scf_state *s = NULL;
	struct stat sb;
	struct err e;
	size_t n;

	memset(v, 0, sizeof(*v));
	snprintf(dir, sizeof(dir), "%s/state/scf", root);
	/* scf_state_load creates the directory; find only reads. */
	if (stat(dir, &sb) != 0)
		return;
	err_clear(&e);
	if (scf_state_load(dir, &s, &e) != ERR_OK) {
		snprintf(v->error, sizeof(v->error), "%s", e.msg);
		return;
	}
	v->present = 1;
	snprintf(want, sizeof(want), "%" PRId64, issue);
	n = scf_state_count(s);
	for (size_t i = 0; i < n; i++) {
		const char *k = scf_state_key_at(s, i), *slash = k ? strchr(k, '/') : NULL;
		size_t wl = strlen(want);
		const char *val;
		if (!slash || strncmp(slash + 1, want, wl) != 0 ||
		    (slash[1 + wl] != '\0' && slash[1 + wl] != '/'))
			continue;
		v->keys++;
		val = scf_state_get(s, k);
		if (strncmp(k, "issue/", 6) == 0 && val)
			snprintf(v->status, sizeof(v->status), "%s", val);
		else if (strncmp(k, "transitions/", 12) == 0 && val)
			snprintf(v->transitions, sizeof(v->transitions), "%s", val);
	}
	scf_state_free(s);
}

static const char *kind_name(enum record_kind k)
{
	const char *n = record_kind_name(k);

	return n ? n : "?";
}

/* The last record (highest sequence, by queue) of each kind. */
static const struct find_hit *last_of(const struct find *f, enum record_kind k)
{
	const struct find_hit *best = NULL;

	for (size_t i = 0; i < f->h.n; i++)
		if (f->h.v[i].kind == k && (!best || f->h.v[i].seq > best->seq))
			best = &f->h.v[i];
	return best;
}

static const enum record_kind kinds[] = {RECORD_ISSUE, RECORD_COMMENT, RECORD_ATTACHMENT,
                                         RECORD_ACK, RECORD_CLOSE};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static void hit_json(struct jdoc *d, cJSON *o, const struct find_hit *h)
{
	char name[ESCAPE_DISPLAY_MAX(sizeof(h->name))], det[ESCAPE_DISPLAY_MAX(sizeof(h->detail))];

	jdoc_string(d, o, "queue", h->queue);
	jdoc_string(d, o, "dir", spool_dir_name(h->dir));
	jdoc_string(d, o, "name", escape_display(h->name, name, sizeof(name)));
	jdoc_number(d, o, "seq", (double)h->seq);
	jdoc_string(d, o, "kind", kind_name(h->kind));
	jdoc_string(d, o, "created", h->created);
	jdoc_string(d, o, "detail", escape_display(h->detail, det, sizeof(det)));
}

enum { OPT_JSON = CLI_OPT_LONG, OPT_ROOT };

static const struct option options[] = {
    CLI_OPT_CONFIG,
    {"json", no_argument, NULL, OPT_JSON},
    {"root", required_argument, NULL, OPT_ROOT},
    {NULL, 0, NULL, 0},
};

int cmd_find(int argc, char **argv)
{
	const char *config = NULL, *root = NULL, *id = NULL;
	char config_buf[CLI_PATH_MAX];
	struct oms_tracked tr;
	struct scf_view sv;
	struct cfg *c = NULL;
	struct find f;
	int json = 0, rc = CLI_EXIT_OK;
	int64_t issue = 0, oid = 0;
	const char *request = "";
	struct err e;
	struct cli_opt co;
	int opt;

	memset(&f, 0, sizeof(f));
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	cli_opt_init(&co, "find", NULL, argc, argv, options);
	while ((opt = cli_opt_next(&co)) != CLI_OPT_END) {
		switch (opt) {
		case 'c':
			config = co.arg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_ROOT:
			root = co.arg;
			break;
		case CLI_OPT_ARG:
			if (id)
				return cli_usage("find", "one ID only (see --help)");
			id = co.arg;
			break;
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		default:
			return cli_opt_unknown(&co);
		}
	}
	if (!id || !*id)
		return cli_usage("find", "an ID is required (SCF issue id, Oid or IDField)");
	err_clear(&e);
	/* --root alone reads no configuration; without either, the default. */
	if (!root && (rc = cli_config_path("find", CLI_HALF_ANY, config, config_buf, &config)) != 0)
		return rc;
	if (config) {
		if (cfg_load_file(config, &c, &e) != ERR_OK)
			return cli_fail("find", &e);
		if (!root)
			root = c->spool.root;
	}
	if (!root) {
		cfg_free(c);
		return cli_usage("find", "--root DIR or --config FILE is required");
	}
	if (cli_spool_root_check("find", NULL, root)) {
		cfg_free(c);
		return CLI_EXIT_FAIL;
	}
	f.root = root;
	f.str = id;
	f.num = cli_id(id);
	if (scan_all(&f, &e) != ERR_OK) {
		rc = cli_fail("find", &e);
		goto out;
	}
	/* Which issue: a record of that issue id, else the tracked request
	 * or an ack/close naming the Oid or IDField. */
	for (size_t i = 0; i < f.h.n && !issue; i++)
		if (f.num && f.h.v[i].issue == f.num)
			issue = f.num;
	if (oms_tracked_find(root, 0, 0, NULL, &tr, &e) != ERR_OK)
		memset(&tr, 0, sizeof(tr));
	if (!issue && f.num && oms_tracked_find(root, f.num, 0, NULL, &tr, &e) == ERR_OK &&
	    tr.found)
		issue = tr.issue;
	if (!issue && oms_tracked_find(root, 0, f.num, f.num ? NULL : id, &tr, &e) == ERR_OK &&
	    tr.found)
		issue = tr.issue;
	for (size_t i = 0; i < f.h.n && !issue; i++)
		if (f.h.v[i].kind == RECORD_ACK || f.h.v[i].kind == RECORD_CLOSE)
			issue = f.h.v[i].issue;
	if (!issue && f.num) {
		scf_view_read(root, f.num, &sv);
		if (sv.keys)
			issue = f.num;
	}
	if (!issue) {
		err_set(&e, ERR_PERM, "nothing on this host names %s (no record, no state)", id);
		rc = cli_fail("find", &e);
		goto out;
	}
	/* Found by Oid or IDField: now every record of that issue. */
	if (issue != f.num) {
		f.h.n = 0;
		f.num = issue;
		f.str = "";
		if (scan_all(&f, &e) != ERR_OK) {
			rc = cli_fail("find", &e);
			goto out;
		}
	}
	/* Keep the records of that issue only. */
	{
		size_t k = 0;
		for (size_t i = 0; i < f.h.n; i++)
			if (f.h.v[i].issue == issue)
				f.h.v[k++] = f.h.v[i];
		f.h.n = k;
	}
	if (oms_tracked_find(root, issue, 0, NULL, &tr, &e) != ERR_OK)
		memset(&tr, 0, sizeof(tr));
	scf_view_read(root, issue, &sv);
	oid = tr.found ? tr.oid : 0;
	request = tr.found ? tr.request_id : "";
	for (size_t i = 0; i < f.h.n; i++)
		if (f.h.v[i].oid && !oid) {
			oid = f.h.v[i].oid;
			request = f.h.v[i].request;
		}
	if (json) {
		struct jdoc d = JDOC_INIT;
		cJSON *j = jdoc_root_object(&d), *a, *o;
		char flags[128];
		jdoc_string(&d, j, "id", id);
		jdoc_number(&d, j, "issue_id", (double)issue);
		o = jdoc_object(&d, j, "cartegraph");
		if (oid)
			jdoc_number(&d, o, "oid", (double)oid);
		else
			jdoc_null(&d, o, "oid");
		if (request[0])
			jdoc_string(&d, o, "id_field", request);
		else
			jdoc_null(&d, o, "id_field");
		if (tr.found) {
			o = jdoc_object(&d, j, "oms_state");
			oms_tracked_flags_text(tr.flags, flags, sizeof(flags));
			jdoc_string(&d, o, "flags", flags);
			jdoc_number(&d, o, "request_type_id", (double)tr.type_id);
		} else {
			jdoc_null(&d, j, "oms_state");
		}
		if (sv.present && sv.status[0]) {
			o = jdoc_object(&d, j, "scf_state");
			jdoc_string(&d, o, "status", find_scf_status_word(sv.status[0]));
			jdoc_string(&d, o, "transitions", sv.transitions);
		} else {
			jdoc_null(&d, j, "scf_state");
		}
		a = jdoc_array(&d, j, "records");
		for (size_t i = 0; i < f.h.n; i++)
			hit_json(&d, jdoc_object(&d, a, NULL), &f.h.v[i]);
		o = jdoc_object(&d, j, "last");
		for (size_t k = 0; k < NKINDS; k++) {
			const struct find_hit *h = last_of(&f, kinds[k]);
			if (h)
				hit_json(&d, jdoc_object(&d, o, kind_name(kinds[k])), h);
			else
				jdoc_null(&d, o, kind_name(kinds[k]));
		}
		rc = cli_print_jdoc_indented("find", &d);
		goto out;
	}
	printf("SCF issue %" PRId64 "\n", issue);
	if (oid)
		printf("  Cartegraph request: Oid %" PRId64 ", IDField %s\n", oid,
		       request[0] ? request : "-");
	else
		printf("  Cartegraph request: none known on this host\n");
	if (tr.found) {
		char flags[128];
		oms_tracked_flags_text(tr.flags, flags, sizeof(flags));
		printf("  OMS half: tracked, %s (request type %" PRId64 ")\n", flags, tr.type_id);
	} else {
		printf("  OMS half: not tracked on this host\n");
	}
	if (sv.present && sv.status[0])
		printf("  SCF half: %s in SeeClickFix (transitions allowed: %s)\n",
		       find_scf_status_word(sv.status[0]),
		       sv.transitions[0] ? sv.transitions : "-");
	else if (sv.error[0])
		printf("  SCF half: state unreadable: %s\n", sv.error);
	else
		printf("  SCF half: not known on this host\n");
	printf("records (%zu):\n", f.h.n);
	for (size_t i = 0; i < f.h.n; i++) {
		char name[ESCAPE_DISPLAY_MAX(sizeof(f.h.v[i].name))];
		char det[ESCAPE_DISPLAY_MAX(sizeof(f.h.v[i].detail))];
		printf("  %-8s %-9s %-40s %-10s seq %-6" PRIu64 " %s\n", f.h.v[i].queue,
		       spool_dir_name(f.h.v[i].dir),
		       escape_display(f.h.v[i].name, name, sizeof(name)), kind_name(f.h.v[i].kind),
		       f.h.v[i].seq, escape_display(f.h.v[i].detail, det, sizeof(det)));
	}
	printf("last effects:\n");
	for (size_t k = 0; k < NKINDS; k++) {
		const struct find_hit *h = last_of(&f, kinds[k]);
		char name[ESCAPE_DISPLAY_MAX(256)];
		if (h)
			printf("  %-10s %s/%s/%s (created %s)\n", kind_name(kinds[k]), h->queue,
			       spool_dir_name(h->dir), escape_display(h->name, name, sizeof(name)),
			       h->created[0] ? h->created : "?");
		else
			printf("  %-10s none\n", kind_name(kinds[k]));
	}
out:
	find_hits_release(&f.h);
	cfg_free(c);
	return rc;
}
