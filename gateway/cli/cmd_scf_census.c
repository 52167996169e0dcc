/*
 * cmd_scf_census.c: `scfgate scf census`, list the SeeClickFix issues of
 * the mapped request types into `census` records for the OMS half to
 * reconcile (see scf_census in scf.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cli.h"
#include "jdoc.h"
#include "log.h"
#include "scf.h"
#include "sigs.h"

static const char usage_text[] =
    "usage: scfgate scf census [--config FILE] [--window-days N] [--json] [--log-json]\n"
    "\n"
    "List every SeeClickFix issue of the mapped request types updated in the\n"
    "last N days, whatever its status, and commit the list (ids, statuses,\n"
    "request types, locations and what this half believes it sent,\n"
    "acknowledged and closed) as census records of at most 2,000 issues each\n"
    "into the outbound queue.  The OMS half reconciles a complete census with\n"
    "Cartegraph.  It reads list pages of 100 issues (one call each), never one\n"
    "call per issue, within the half's rate budget.  Prints the census id and\n"
    "the calls it made.\n"
    "\n"
    "  --config FILE    the half's configuration (root <scfgate half=\"scf\">);\n"
    "                   default /etc/scfgate/scf.xml\n"
    "  --window-days N  how far back by updated_at (1 to 3650; default the\n"
    "                   configuration's <census windowDays>, else 365)\n"
    "  --json           print the result as one JSON document\n"
    "  --log-json       log lines as JSON objects instead of text\n"
    "\n"
    "It takes the SCF half's locks like `scfgate scf --once`: while the daemon\n"
    "runs it refuses (exit 1); the daemon runs its own census on the schedule\n"
    "of <census intervalHours>.  SIGTERM or SIGINT abandons the census (its\n"
    "parts are not reconciled) and exits 1.\n";

enum { OPT_WINDOW_DAYS = CLI_OPT_LONG };

static const struct option options[] = {
    CLI_OPT_SCF_CMD,
    {"window-days", required_argument, NULL, OPT_WINDOW_DAYS},
    {NULL, 0, NULL, 0},
};

/* One line of the census's figures (cli_print_jdoc). */
static int print_json(enum err_status s, const struct scf_census_result *res)
{
	struct jdoc d = JDOC_INIT;
	cJSON *o = jdoc_root_object(&d);

	jdoc_string(&d, o, "status", err_status_name(s));
	jdoc_string(&d, o, "census_id", res->census_id);
	jdoc_string(&d, o, "window_from", res->window_from);
	jdoc_string(&d, o, "window_to", res->window_to);
	jdoc_number(&d, o, "issues", (double)res->issues);
	jdoc_number(&d, o, "parts", (double)res->parts);
	jdoc_number(&d, o, "skipped", (double)res->skipped);
	jdoc_number(&d, o, "pages", (double)res->pages);
	jdoc_number(&d, o, "calls", (double)res->calls);
	jdoc_number(&d, o, "ideal_calls", (double)res->ideal_calls);
	jdoc_number(&d, o, "per_page", SCF_CENSUS_PER_PAGE);
	jdoc_number(&d, o, "ms", (double)res->ms);
	return cli_print_jdoc("scf census", &d);
}

int cmd_scf_census(int argc, char **argv)
{
	struct cli_scf_cmd sc = {.name = "scf census"};
	int rc = CLI_EXIT_OK;
	long days = 0;
	struct scf_census_result res = {0};
	struct cli_opt o;
	struct err e;
	enum err_status s;
	int opt;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	cli_opt_init(&o, "scf census", NULL, argc, argv, options);
	while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
		char *end;

		if (cli_scf_cmd_opt(&sc, opt, &o))
			continue;
		switch (opt) {
		case OPT_WINDOW_DAYS:
			errno = 0;
			days = strtol(o.arg, &end, 10);
			if (errno || days < 1 || days > 3650 || *end)
				return cli_usage("scf census", "--window-days needs 1 to 3650");
			break;
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		default:
			return cli_opt_unknown(&o);
		}
	}
	if ((rc = cli_scf_cmd_load(&sc)) != 0)
		goto out;
	err_clear(&e);
	if (!days)
		days = sc.c->scf.census_window_days;
	if ((rc = cli_scf_cmd_open(&sc)) != 0)
		goto out;
	sigs_install(0);
	scf_set_stop_flag(sc.h, sigs_stop_flag());
	s = scf_census(sc.h, (unsigned)days, &res, &e);
	if (sc.json) {
		rc = print_json(s, &res);
	} else {
		printf("census %s: %" PRIu64 " issues in %" PRIu64
		       " parts (window %s to %s), %" PRIu64 " skipped; %" PRIu64
		       " SeeClickFix calls for %" PRIu64 " list pages (ideal %" PRIu64
		       " at %d a page), %.1f s%s\n",
		       res.census_id[0] ? res.census_id : "-", res.issues, res.parts,
		       res.window_from[0] ? res.window_from : "-",
		       res.window_to[0] ? res.window_to : "-", res.skipped, res.calls, res.pages,
		       res.ideal_calls, SCF_CENSUS_PER_PAGE, (double)res.ms / 1000.0,
		       s == ERR_OK ? "" : " (abandoned)");
	}
	fflush(stdout);
	if (s != ERR_OK)
		rc = cli_fail("scf census", &e);
out:
	cli_scf_cmd_release(&sc);
	return rc;
}
