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

int cmd_scf_census(int argc, char **argv)
{
	const char *config = NULL;
	char config_buf[CLI_PATH_MAX];
	int json = 0, log_json = 0, rc = CLI_EXIT_OK;
	long days = 0;
	struct scf_census_result res = {0};
	struct cfg *c = NULL;
	struct scf_half *h = NULL;
	struct err e;
	enum err_status s;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int cfg_rc;

		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--log-json") == 0) {
			log_json = 1;
		} else if (strcmp(argv[i], "--window-days") == 0) {
			char *end;

			errno = 0;
			days = i + 1 < argc ? strtol(argv[++i], &end, 10) : 0;
			if (errno || days < 1 || days > 3650 || *end) {
				rc = cli_usage("scf census", "--window-days needs 1 to 3650");
				goto out;
			}
		} else if ((cfg_rc = cli_config_arg("scf census", argc, argv, &i, &config)) != 0) {
			if (cfg_rc != 1) {
				rc = cfg_rc;
				goto out;
			}
		} else {
			rc = cli_usage("scf census", "unknown argument %s (see --help)", argv[i]);
			goto out;
		}
	}
	if ((rc = cli_config_path("scf census", CLI_HALF_SCF, config, config_buf, &config)) != 0)
		goto out;
	if ((rc = cli_load_half("scf census", CFG_HALF_SCF, config, &c)) != 0)
		goto out;
	err_clear(&e);
	if (!days)
		days = c->scf.census_window_days ? c->scf.census_window_days : 365;
	log_open("scf", cli_log_level(c->log_level), log_json);
	if ((rc = cli_scf_open("scf census", &h, c)) != 0)
		goto out;
	sigs_install(0);
	scf_set_stop_flag(h, sigs_stop_flag());
	s = scf_census(h, (unsigned)days, &res, &e);
	if (json)
		printf("{\"status\":\"%s\",\"census_id\":\"%s\",\"window_from\":\"%s\","
		       "\"window_to\":\"%s\",\"issues\":%" PRIu64 ",\"parts\":%" PRIu64
		       ",\"skipped\":%" PRIu64 ",\"pages\":%" PRIu64 ",\"calls\":%" PRIu64
		       ",\"ideal_calls\":%" PRIu64 ",\"per_page\":%d,\"ms\":%" PRIu64 "}\n",
		       err_status_name(s), res.census_id, res.window_from, res.window_to,
		       res.issues, res.parts, res.skipped, res.pages, res.calls, res.ideal_calls,
		       SCF_CENSUS_PER_PAGE, res.ms);
	else
		printf("census %s: %" PRIu64 " issues in %" PRIu64
		       " parts (window %s to %s), %" PRIu64 " skipped; %" PRIu64
		       " SeeClickFix calls for %" PRIu64 " list pages (ideal %" PRIu64
		       " at %d a page), %.1f s%s\n",
		       res.census_id[0] ? res.census_id : "-", res.issues, res.parts,
		       res.window_from[0] ? res.window_from : "-",
		       res.window_to[0] ? res.window_to : "-", res.skipped, res.calls, res.pages,
		       res.ideal_calls, SCF_CENSUS_PER_PAGE, (double)res.ms / 1000.0,
		       s == ERR_OK ? "" : " (abandoned)");
	fflush(stdout);
	if (s != ERR_OK)
		rc = cli_fail("scf census", &e);
out:
	scf_free(h);
	cfg_free(c);
	return rc;
}
