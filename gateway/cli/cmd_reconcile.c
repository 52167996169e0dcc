/*
 * cmd_reconcile.c: `scfgate reconcile`: print a half's last (or a given)
 * reconciliation, and on the OMS host turn its findings into ordinary
 * records (--repair): a `resend` record for missing issues, `close`
 * records for missed closes.  Orphans, drift and duplicates are listed
 * with what a person does about each; nothing is automatic for them.
 *
 * Repairs are idempotent per census: the result file's "repairs" lists
 * the issues already repaired and a second --repair commits nothing
 * new; a resend record's key is resend/<census>/<n> with n counting
 * the resend records of that census, and a close record's is
 * close/<issue>, so a repeat after a crash between the commit and the
 * file update is a repeat of the same key, which the SCF half ignores.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cli.h"
#include "log.h"
#include "map.h"
#include "oms.h"
#include "oms_recon.h"
#include "record.h"
#include "sig.h"
#include "spool.h"
#include "unconst.h"
#include "when.h"
#include "jdoc.h"

static const char usage_text[] =
    "usage: scfgate reconcile [--config FILE] [--census ID] [--json]\n"
    "       scfgate reconcile --repair [--class LIST] [--dry-run] [--config FILE]\n"
    "                         [--census ID] [--json]\n"
    "\n"
    "Print the last reconciliation of this host's half (or the one of census\n"
    "ID): the census window, how many issues and requests, the count of each\n"
    "class (in-sync, missing, missed-close, orphan, drift, duplicate) and\n"
    "every finding, with what to do about it.\n"
    "\n"
    "--repair (OMS host only; refused while `scfgate oms` runs, like every\n"
    "command that commits records) turns findings into ordinary records:\n"
    "  missing       one `resend` record (2,000 issues at most each): the SCF\n"
    "                half commits each issue's record again, once, and the OMS\n"
    "                half creates the request only if none exists\n"
    "  missed-close  one `close` record per issue: the SCF half closes the\n"
    "                issue with the configured closing message\n"
    "  orphan, drift, duplicate\n"
    "                nothing is committed: each is listed with the action a\n"
    "                person takes in Cartegraph or SeeClickFix\n"
    "Issues already repaired for the census are skipped, so a second --repair\n"
    "commits nothing new.  Each repair is logged with the census id and added\n"
    "to the result file's \"repairs\".\n"
    "\n"
    "  --config FILE  the half's configuration (default /etc/scfgate/oms.xml or\n"
    "                 scf.xml, whichever exists)\n"
    "  --census ID    that census's result instead of the last one\n"
    "  --repair       commit the repair records\n"
    "  --class LIST   the classes to repair, comma-separated (default\n"
    "                 missing,missed-close)\n"
    "  --dry-run      say what --repair would commit, commit nothing\n"
    "  --json         one JSON document (the result file; with --repair, the\n"
    "                 repairs made)\n"
    "  --help         this text\n"
    "\n"
    "Exit status: 0, 1 when there is no reconciliation or a repair failed.\n";

/* A string member for printing: "-" when absent. */
static const char *txt(const cJSON *o, const char *k)
{
	const char *s = jdoc_get_str(o, k);

	return s ? s : "-";
}

static int64_t num_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* What a person does about a finding nothing repairs. */
static void action_of(const cJSON *f, const char *id_field, char *out, size_t size)
{
	const char *cls = jdoc_get_str(f, "class"), *rid = jdoc_get_str(f, "request_id");
	const char *detail = jdoc_get_str(f, "detail");
	int64_t issue = num_of(f, "issue_id"), oid = num_of(f, "oid");
	char req[160];

	snprintf(req, sizeof(req), "%s %s (Oid %" PRId64 ")", id_field, rid ? rid : "-", oid);
	if (!cls)
		cls = "";
	if (strcmp(cls, "missing") == 0)
		snprintf(out, size, "scfgate reconcile --repair --class missing");
	else if (strcmp(cls, "missed-close") == 0)
		snprintf(out, size, "scfgate reconcile --repair --class missed-close");
	else if (strcmp(cls, "orphan") == 0)
		snprintf(out, size,
		         "close or delete request %s in Cartegraph: SeeClickFix no longer has "
		         "the issue open",
		         req);
	else if (strcmp(cls, "duplicate") == 0)
		snprintf(out, size,
		         "keep one request carrying SeeClickFix id %" PRId64
		         " and delete the others in Cartegraph (scfgate find %" PRId64
		         " lists what this host knows)",
		         issue, issue);
	else if (detail && strncmp(detail, "status", 6) == 0)
		snprintf(out, size,
		         "close request %s in Cartegraph, or reopen issue %" PRId64
		         " in SeeClickFix if the work is not done",
		         req, issue);
	else
		snprintf(out, size,
		         "correct request %s in Cartegraph (or the issue in SeeClickFix): %s", req,
		         detail ? detail : "");
}

static void print_text(const cJSON *res, int repairable_only)
{
	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(res, "classes");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(res, "window"), *f;
	const char *idf = jdoc_get_str(res, "id_field") ? jdoc_get_str(res, "id_field") : "IDField";

	(void)repairable_only;
	printf("census      %s\n", txt(res, "census_id"));
	printf("completed   %s\n", txt(res, "completed_at"));
	printf("window      %s .. %s\n", txt(w, "from"), txt(w, "to"));
	printf("issues      %" PRId64 "\n", num_of(res, "issues"));
	printf("requests    %" PRId64 "\n", num_of(res, "requests"));
	for (int i = 0; i < RECON_NCLASS; i++)
		printf("%-13s%" PRId64 "\n", recon_class_name(i),
		       num_of(cl, recon_class_name((enum recon_class)i)));
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(res, "findings"))
	{
		char action[512];
		action_of(f, idf, action, sizeof(action));
		printf("\n%s issue %" PRId64 " (SeeClickFix %s)", txt(f, "class"),
		       num_of(f, "issue_id"), txt(f, "scf_status"));
		if (num_of(f, "oid"))
			printf(" request %s Oid %" PRId64 " (%s)", txt(f, "request_id"),
			       num_of(f, "oid"), txt(f, "oms_status"));
		printf("\n  %s\n  do: %s\n", txt(f, "detail") ? txt(f, "detail") : "", action);
	}
	{
		const cJSON *r;
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(res, "repairs"))
		{
			printf("\nrepaired %s %s: %d issue(s) by %s record\n", txt(r, "at"),
			       txt(r, "class"),
			       cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "issue_ids")),
			       txt(r, "record"));
		}
	}
}

static int load_result(const char *dir, const char *census, cJSON **out, struct err *e)
{
	char path[CLI_PATH_MAX];
	struct buf b = BUF_INIT_CAP((size_t)256 * 1024 * 1024);

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s.json", dir, census ? census : "last");
	/* the spool's safe read: no link followed, no FIFO opened */
	if (spool_read_untrusted(path, b.cap, &b, NULL, e) != ERR_OK) {
		buf_release(&b);
		return -1;
	}
	*out = cJSON_ParseWithLength(b.data, b.len);
	buf_release(&b);
	if (!*out) {
		err_set(e, ERR_PERM, "%s: not a reconciliation result", path);
		return -1;
	}
	return 0;
}

/* 1 when a previous repair of that record kind already named issue. */
static int repaired(const cJSON *res, const char *record, int64_t issue)
{
	const cJSON *r, *id;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(res, "repairs"))
	{
		const char *k = jdoc_get_str(r, "record");
		if (!k || strcmp(k, record) != 0)
			continue;
		cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(
		                           r, "issue_ids")) if (cJSON_IsNumber(id) &&
		                                                (int64_t)id->valuedouble ==
		                                                    issue) return 1;
	}
	return 0;
}

static int count_repairs(const cJSON *res, const char *record)
{
	const cJSON *r;
	int n = 0;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(res, "repairs"))
	{
		const char *k = jdoc_get_str(r, "record");
		n += k && strcmp(k, record) == 0;
	}
	return n;
}

static cJSON *repair_entry(const char *at, const char *cls, const char *record, const int64_t *ids,
                           size_t n)
{
	cJSON *r = cJSON_CreateObject(), *a;

	cJSON_AddStringToObject(r, "at", at);
	cJSON_AddStringToObject(r, "class", cls);
	a = cJSON_AddArrayToObject(r, "issue_ids");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)ids[i]));
	cJSON_AddStringToObject(r, "record", record);
	return r;
}

struct repair {
	const struct cfg *c;
	cJSON *res;
	const char *census;
	int dry;
	struct spool_producer *p;
	cJSON *made; /* the repairs entries of this run */
	char at[32];
};

static enum err_status commit_one(struct repair *rp, struct record *r, struct err *e)
{
	uint64_t seq = 0;

	if (rp->dry) {
		record_free(r);
		return ERR_OK;
	}
	enum err_status st = spool_commit(rp->p, r, &seq, e);
	record_free(r);
	return st;
}

static enum err_status repair_missing(struct repair *rp, struct err *e)
{
	const cJSON *f;
	int64_t *ids = calloc(RECORD_PART_MAX, sizeof(*ids));
	size_t n = 0;
	int part = count_repairs(rp->res, "resend");
	enum err_status st = ERR_OK;

	if (!ids)
		return err_set(e, ERR_TEMP, "out of memory");
	f = cJSON_GetObjectItemCaseSensitive(rp->res, "findings")
	        ? cJSON_GetObjectItemCaseSensitive(rp->res, "findings")->child
	        : NULL;
	for (;;) {
		int end = !f;
		if (f) {
			const char *cls = jdoc_get_str(f, "class");
			int64_t id = num_of(f, "issue_id");
			if (cls && strcmp(cls, "missing") == 0 && id > 0 &&
			    !repaired(rp->res, "resend", id))
				ids[n++] = id;
			f = f->next;
		}
		if (n && (n == RECORD_PART_MAX || end)) {
			struct record *r = record_new(RECORD_RESEND);
			char key[160];
			if (!r)
				st = err_set(e, ERR_TEMP, "out of memory");
			if (st == ERR_OK)
				st = record_part_key(key, sizeof(key), RECORD_RESEND, rp->census,
				                     ++part, e);
			if (st == ERR_OK) {
				r->key = strdup(key);
				r->u.resend.census_id = strdup(rp->census);
				r->u.resend.part = part;
				r->u.resend.n_issues = n;
				r->u.resend.issue_ids = malloc(n * sizeof(int64_t));
				if (!r->key || !r->u.resend.census_id || !r->u.resend.issue_ids)
					st = err_set(e, ERR_TEMP, "out of memory");
				else
					memcpy(r->u.resend.issue_ids, ids, n * sizeof(int64_t));
			}
			if (st == ERR_OK)
				st = commit_one(rp, r, e);
			else
				record_free(r);
			if (st != ERR_OK)
				break;
			log_info("effect=repair census=%s class=missing record=resend key=%s "
			         "issues=%zu%s",
			         rp->census, key, n, rp->dry ? " dry_run=1" : "");
			cJSON_AddItemToArray(rp->made,
			                     repair_entry(rp->at, "missing", "resend", ids, n));
			n = 0;
		}
		if (end)
			break;
	}
	free(ids);
	return st;
}

static enum err_status repair_closes(struct repair *rp, struct err *e)
{
	const cJSON *f;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	enum err_status st = ERR_OK;

	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(rp->res, "findings"))
	{
		const char *cls = jdoc_get_str(f, "class");
		int64_t id = num_of(f, "issue_id");
		struct map_cg_request rq;
		struct record *r = NULL;

		if (!cls || strcmp(cls, "missed-close") != 0 || id <= 0 ||
		    repaired(rp->res, "close", id))
			continue;
		memset(&rq, 0, sizeof(rq));
		rq.oid = num_of(f, "oid");
		/* borrowed from f for map_close_record; rq is never freed */
		rq.request_id = UNCONST(jdoc_get_str(f, "request_id"));
		rq.status = UNCONST(jdoc_get_str(f, "oms_status"));
		rq.closed = 1;
		st = map_close_record(
		    id, &rq, cfg_request_type(rp->c, num_of(f, "request_type_id")), rp->at, &r, e);
		if (st == ERR_OK)
			st = commit_one(rp, r, e);
		if (st != ERR_OK)
			break;
		log_info("effect=repair census=%s class=missed-close record=close issue=%" PRId64
		         " oid=%" PRId64 "%s",
		         rp->census, id, rq.oid, rp->dry ? " dry_run=1" : "");
		if (n == cap) {
			int64_t *x = realloc(ids, (cap = cap ? cap * 2 : 64) * sizeof(*ids));
			if (!x) {
				st = err_set(e, ERR_TEMP, "out of memory");
				break;
			}
			ids = x;
		}
		ids[n++] = id;
	}
	if (n)
		cJSON_AddItemToArray(rp->made,
		                     repair_entry(rp->at, "missed-close", "close", ids, n));
	free(ids);
	return st;
}

/* The result file (and last.json when it is the same census) with the
 * repairs of this run appended. */
static enum err_status save_repairs(struct repair *rp, const char *dir, struct err *e)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(rp->res, "repairs"), *it;
	char name[RECORD_CENSUS_ID_MAX + 8];
	enum err_status st;
	cJSON *last = NULL;
	struct err le;
	char *text;

	if (!cJSON_IsArray(arr)) {
		cJSON_DeleteItemFromObjectCaseSensitive(rp->res, "repairs");
		arr = cJSON_AddArrayToObject(rp->res, "repairs");
	}
	cJSON_ArrayForEach(it, rp->made) cJSON_AddItemToArray(arr, cJSON_Duplicate(it, 1));
	if (!(text = cJSON_Print(rp->res)))
		return err_set(e, ERR_TEMP, "out of memory");
	snprintf(name, sizeof(name), "%s.json", rp->census);
	st = oms_write_replace(dir, name, text, strlen(text), e);
	err_clear(&le);
	if (st == ERR_OK && load_result(dir, NULL, &last, &le) == 0 &&
	    jdoc_get_str(last, "census_id") &&
	    strcmp(jdoc_get_str(last, "census_id"), rp->census) == 0)
		st = oms_write_replace(dir, "last.json", text, strlen(text), e);
	cJSON_Delete(last);
	cJSON_free(text);
	return st;
}

enum { OPT_JSON = CLI_OPT_LONG, OPT_REPAIR, OPT_DRY_RUN, OPT_CENSUS, OPT_CLASS };

static const struct option options[] = {
    CLI_OPT_CONFIG,
    {"json", no_argument, NULL, OPT_JSON},
    {"repair", no_argument, NULL, OPT_REPAIR},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"census", required_argument, NULL, OPT_CENSUS},
    {"class", required_argument, NULL, OPT_CLASS},
    {NULL, 0, NULL, 0},
};

int cmd_reconcile(int argc, char **argv)
{
	const char *config = NULL, *census = NULL, *classes = "missing,missed-close";
	char cbuf[CLI_PATH_MAX], dir[CLI_PATH_MAX];
	int json = 0, repair = 0, dry = 0, rc = CLI_EXIT_OK, want[RECON_NCLASS] = {0};
	struct cfg *c = NULL;
	cJSON *res = NULL;
	struct cli_opt o;
	struct err e;
	int opt;

	err_clear(&e);
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	cli_opt_init(&o, "reconcile", NULL, argc, argv, options);
	while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
		switch (opt) {
		case 'c':
			config = o.arg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_REPAIR:
			repair = 1;
			break;
		case OPT_DRY_RUN:
			dry = 1;
			break;
		case OPT_CENSUS:
			census = o.arg;
			break;
		case OPT_CLASS:
			classes = o.arg;
			break;
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		default:
			return cli_opt_unknown(&o);
		}
	}
	if (census && !record_census_id_valid(census))
		return cli_usage("reconcile", "--census: '%s' is not a census id", census);
	if ((dry || strcmp(classes, "missing,missed-close") != 0) && !repair)
		return cli_usage("reconcile", "--class and --dry-run go with --repair");
	{
		char list[512], *tok, *save = NULL;
		snprintf(list, sizeof(list), "%s", classes);
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int k = recon_class_parse(tok);
			if (k < 0 || k == RECON_IN_SYNC)
				return cli_usage(
				    "reconcile",
				    "--class: '%s' is not one of missing, missed-close, "
				    "orphan, drift, duplicate",
				    tok);
			want[k] = 1;
		}
	}
	if ((rc = cli_config_path("reconcile", repair ? CLI_HALF_OMS : CLI_HALF_ANY, config, cbuf,
	                          &config)) != 0)
		return rc;
	if (cfg_load_file(config, &c, &e) != ERR_OK)
		return cli_fail("reconcile", &e);
	if (repair && c->half != CFG_HALF_OMS) {
		cfg_free(c);
		return cli_usage(
		    "reconcile",
		    "--repair runs on the OMS host (its configuration has <cartegraph>)");
	}
	snprintf(dir, sizeof(dir), "%s/state/%s/reconcile", c->spool.root,
	         c->half == CFG_HALF_OMS ? "oms" : "scf");
	if (load_result(dir, census, &res, &e) != 0) {
		if (e.status == ERR_OK || strstr(e.msg, "No such file"))
			err_set(&e, ERR_PERM, "no reconciliation in %s%s%s", dir,
			        census ? " for " : "", census ? census : "");
		rc = cli_fail("reconcile", &e);
		goto out;
	}
	if (!census)
		census = jdoc_get_str(res, "census_id");
	if (!census || !record_census_id_valid(census)) {
		err_set(&e, ERR_PERM, "%s: the result names no valid census id", dir);
		rc = cli_fail("reconcile", &e);
		goto out;
	}
	if (!repair) {
		if (json) {
			char *t = cJSON_Print(res);
			if (t)
				puts(t);
			cJSON_free(t);
		} else {
			print_text(res, 0);
		}
		goto out;
	}
	{
		struct repair rp;
		struct sig_key *priv = NULL;
		enum err_status st = ERR_OK;
		int refused = 0;

		memset(&rp, 0, sizeof(rp));
		rp.c = c;
		rp.res = res;
		rp.census = census;
		rp.dry = dry;
		rp.made = cJSON_CreateArray();
		when_utc_now(rp.at);
		log_open("oms", cli_log_level(c->log_level), 0);
		if (!dry) {
			st = sig_load_private(c->spool.private_key, &priv, &e);
			if (st == ERR_OK)
				st = spool_producer_open(&rp.p, c->spool.root, "inbound",
				                         c->spool.producer, priv, &e);
			if (st == ERR_TEMP) {
				/* e.msg is the argument: copy it first */
				char why[ERR_MSG_MAX];

				snprintf(why, sizeof(why), "%s", e.msg);
				err_set(&e, ERR_TEMP,
				        "the inbound queue is in use (stop scfgate oms, repair, "
				        "start it "
				        "again): %.300s",
				        why);
			}
			/* Refused before anything was looked at: nothing to report
			 * but the refusal. */
			refused = st != ERR_OK;
		}
		if (st == ERR_OK && want[RECON_MISSING])
			st = repair_missing(&rp, &e);
		if (st == ERR_OK && want[RECON_MISSED_CLOSE])
			st = repair_closes(&rp, &e);
		/* what was committed is recorded, even when a later one failed */
		if (!dry && cJSON_GetArraySize(rp.made) > 0) {
			struct err se;
			err_clear(&se);
			if (save_repairs(&rp, dir, &se) != ERR_OK && st == ERR_OK) {
				st = se.status;
				e = se;
			}
		}
		if (refused) {
			/* only the error below */
		} else if (json) {
			cJSON *j = cJSON_CreateObject();
			char *t;
			cJSON_AddStringToObject(j, "census_id", census);
			cJSON_AddBoolToObject(j, "dry_run", dry);
			cJSON_AddItemToObject(j, "repairs", cJSON_Duplicate(rp.made, 1));
			if ((t = cJSON_Print(j)))
				puts(t);
			cJSON_free(t);
			cJSON_Delete(j);
		} else {
			const cJSON *r, *f;
			const char *idf = jdoc_get_str(res, "id_field")
			                      ? jdoc_get_str(res, "id_field")
			                      : "IDField";
			cJSON_ArrayForEach(r, rp.made)
			{
				printf("%s %s: %d issue(s) by %s record\n",
				       dry ? "would repair" : "repaired", txt(r, "class"),
				       cJSON_GetArraySize(
				           cJSON_GetObjectItemCaseSensitive(r, "issue_ids")),
				       txt(r, "record"));
			}
			if (!cJSON_GetArraySize(rp.made) && st == ERR_OK)
				printf("nothing to repair for census %s\n", census);
			cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(res, "findings"))
			{
				int k = recon_class_parse(jdoc_get_str(f, "class"));
				char action[512];
				if (k != RECON_ORPHAN && k != RECON_DRIFT && k != RECON_DUPLICATE)
					continue;
				action_of(f, idf, action, sizeof(action));
				printf("%s issue %" PRId64 ": %s\n", txt(f, "class"),
				       num_of(f, "issue_id"), action);
			}
		}
		cJSON_Delete(rp.made);
		spool_producer_free(rp.p);
		sig_key_free(priv);
		if (st != ERR_OK)
			rc = cli_fail("reconcile", &e);
	}
out:
	cJSON_Delete(res);
	cfg_free(c);
	return rc;
}
