/*
 * cmd_scf_resync.c: `scfgate scf resync`, send the selected SeeClickFix
 * issues that were never sent, regardless of the watermark (see
 * scf_resync in scf.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cli.h"
#include "jdoc.h"
#include "log.h"
#include "scf.h"

static const char usage_text[] =
    "usage: scfgate scf resync [--config FILE] (--request-type ID | --issue ID... |\n"
    "                          --since DATE) [--acknowledged] [--json] [--log-json]\n"
    "\n"
    "Read the selected SeeClickFix issues regardless of the watermark and send\n"
    "those that were never sent (an Open issue of a mapped request type gives\n"
    "its issue record, photos and comments, exactly as a fetch pass would).\n"
    "Issues sent before get only their comments not yet seen, so a repeat sends\n"
    "nothing.  The reopen policy applies as in a pass.\n"
    "\n"
    "  --config FILE      the half's configuration (root <scfgate half=\"scf\">);\n"
    "                     default /etc/scfgate/scf.xml\n"
    "  --request-type ID  the Open issues of this SCF request type\n"
    "  --issue ID...      these issues (one call each); repeat or list several\n"
    "  --since DATE       the Open issues updated since DATE (YYYY-MM-DD, UTC, or\n"
    "                     an RFC 3339 time)\n"
    "  --acknowledged     Acknowledged issues too\n"
    "  --json             print the result as one JSON document\n"
    "  --log-json         log lines as JSON objects instead of text\n"
    "\n"
    "It takes the SCF half's locks like `scfgate scf --once`: while the daemon\n"
    "runs it refuses (exit 1); stop the daemon, resync, start it again.\n";

static int64_t parse_since(const char *s)
{
	char full[64];

	if (strlen(s) == 10) {
		snprintf(full, sizeof(full), "%sT00:00:00Z", s);
		return scf_time_parse(full);
	}
	return scf_time_parse(s);
}

enum {
	OPT_ACKNOWLEDGED = CLI_OPT_LONG,
	OPT_REQUEST_TYPE,
	OPT_SINCE,
	OPT_ISSUE,
};

static const struct option options[] = {
    CLI_OPT_SCF_CMD,
    {"acknowledged", no_argument, NULL, OPT_ACKNOWLEDGED},
    {"request-type", required_argument, NULL, OPT_REQUEST_TYPE},
    {"since", required_argument, NULL, OPT_SINCE},
    {"issue", required_argument, NULL, OPT_ISSUE},
    {NULL, 0, NULL, 0},
};

/* One line of the resync's figures (cli_print_jdoc). */
static int print_json(enum err_status s, const struct scf_resync_result *res)
{
	struct jdoc d = JDOC_INIT;
	cJSON *o = jdoc_root_object(&d);

	jdoc_string(&d, o, "status", err_status_name(s));
	jdoc_number(&d, o, "selected", (double)res->selected);
	jdoc_number(&d, o, "sent", (double)res->sent);
	jdoc_number(&d, o, "other_records", (double)res->other_records);
	jdoc_number(&d, o, "already", (double)res->already);
	jdoc_number(&d, o, "skipped", (double)res->skipped);
	jdoc_number(&d, o, "missing", (double)res->missing);
	return cli_print_jdoc("scf resync", &d);
}

int cmd_scf_resync(int argc, char **argv)
{
	struct cli_scf_cmd sc = {.name = "scf resync"};
	int rc = CLI_EXIT_OK, selectors = 0;
	int64_t *ids = NULL;
	size_t n_ids = 0;
	struct scf_resync_sel sel = {0};
	struct scf_resync_result res = {0};
	struct cli_opt o;
	struct err e;
	enum err_status s;
	int opt, in_issue_list = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (!(ids = calloc((size_t)argc, sizeof(*ids))))
		return cli_usage("scf resync", "out of memory");
	cli_opt_init(&o, "scf resync", NULL, argc, argv, options);
	while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
		/* --issue takes the plain arguments right after its value too. */
		int issue_list = 0;

		if (cli_scf_cmd_opt(&sc, opt, &o)) {
			in_issue_list = 0;
			continue;
		}
		switch (opt) {
		case OPT_ACKNOWLEDGED:
			sel.acknowledged = 1;
			break;
		case OPT_REQUEST_TYPE:
			if (!(sel.request_type = cli_id(o.arg))) {
				rc = cli_usage("scf resync", "--request-type needs a positive id");
				goto out;
			}
			selectors++;
			break;
		case OPT_SINCE:
			if ((sel.since = parse_since(o.arg)) <= 0) {
				rc = cli_usage("scf resync",
				               "--since needs YYYY-MM-DD or an RFC 3339 time");
				goto out;
			}
			selectors++;
			break;
		case OPT_ISSUE:
			if (o.arg[0] == '-' || !o.arg[0]) {
				rc = cli_usage("scf resync", "--issue needs at least one id");
				goto out;
			}
			selectors++;
			/* an --issue value is read as the first of the list */
			__attribute__((fallthrough));
		case CLI_OPT_ARG:
			if (opt == CLI_OPT_ARG && !in_issue_list) {
				rc = cli_opt_unknown(&o);
				goto out;
			}
			if (!(ids[n_ids++] = cli_id(o.arg))) {
				rc = cli_usage("scf resync", "bad issue id %s", o.arg);
				goto out;
			}
			issue_list = 1;
			break;
		case CLI_OPT_BAD:
			rc = CLI_EXIT_USAGE;
			goto out;
		default:
			rc = cli_opt_unknown(&o);
			goto out;
		}
		in_issue_list = issue_list;
	}
	if ((rc = cli_config_path(sc.name, CLI_HALF_SCF, sc.config, sc.config_buf, &sc.config)) !=
	    0)
		goto out;
	if (selectors != 1 || (n_ids && (sel.request_type || sel.since))) {
		rc =
		    cli_usage("scf resync", "give exactly one of --request-type, --issue, --since");
		goto out;
	}
	sel.issues = ids;
	sel.n_issues = n_ids;
	if ((rc = cli_scf_cmd_load(&sc)) != 0)
		goto out;
	err_clear(&e);
	if (sel.request_type && !cfg_request_type(sc.c, sel.request_type)) {
		rc =
		    cli_usage("scf resync",
		              "request type %" PRId64 " is not mapped in %s: nothing would be sent",
		              sel.request_type, sc.config);
		goto out;
	}
	if ((rc = cli_scf_cmd_open(&sc)) != 0)
		goto out;
	s = scf_resync(sc.h, &sel, &res, &e);
	log_info("event=resync selected=%" PRIu64 " sent=%" PRIu64 " already=%" PRIu64
	         " skipped=%" PRIu64 " missing=%" PRIu64 " status=%s",
	         res.selected, res.sent, res.already, res.skipped, res.missing, err_status_name(s));
	if (sc.json) {
		rc = print_json(s, &res);
	} else {
		printf("resync: %" PRIu64 " issues selected, %" PRIu64 " sent now (with %" PRIu64
		       " comment and photo records), %" PRIu64 " known before, %" PRIu64
		       " skipped (unmapped, status, malformed), %" PRIu64 " not found\n",
		       res.selected, res.sent, res.other_records, res.already, res.skipped,
		       res.missing);
	}
	fflush(stdout);
	if (s != ERR_OK)
		rc = cli_fail("scf resync", &e);
out:
	cli_scf_cmd_release(&sc);
	free(ids);
	return rc;
}
