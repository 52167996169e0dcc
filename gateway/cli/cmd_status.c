/*
 * cmd_status.c: `scfgate status`, what an operator runs first (see
 * status.h).  Exit 0 when healthy, 1 when something needs attention.
 */
#include <stdio.h>

#include "cfg.h"
#include "cli.h"
#include "status.h"

static const char usage_text[] =
    "usage: scfgate status [--config FILE] [--json]\n"
    "\n"
    "Show the state of one half (the configuration says which): for the\n"
    "outbound and inbound queues the records per sub-directory, the age of\n"
    "the oldest waiting record, a sequence gap (which number, since when,\n"
    "alarmed or not) and every failed or held record with the first line of\n"
    "its reason; then the half's state: the SCF watermark or the OMS\n"
    "tracked requests, the last successful API call, what each kind of work\n"
    "(fetch, write-back, forward, poll, commit, metadata) met on its last\n"
    "attempt, a record stuck in new/ and what blocks it, a recorded fatal stop.\n"
    "Safe while the half runs.\n"
    "\n"
    "  --config FILE  the half's configuration; default /etc/scfgate/scf.xml or\n"
    "                 /etc/scfgate/oms.xml, whichever exists (both: refused)\n"
    "  --json         one JSON document instead of text\n"
    "\n"
    "The last line is a one-line summary.  Exit 0 when healthy, 1 when\n"
    "something needs attention (failed records, an alarmed gap, files in new/\n"
    "that are not records, a queue or state that cannot be read, a fatal stop,\n"
    "a kind of work failing longer than <failingAlarmSeconds>, no pass\n"
    "recorded, a record waiting longer than <stuckAlarmSeconds>).\n";

enum { OPT_JSON = CLI_OPT_LONG };

static const struct option options[] = {
    CLI_OPT_CONFIG,
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

int cmd_status(int argc, char **argv)
{
	struct cli_opt o;
	int opt;
	const char *config = NULL;
	char config_buf[CLI_PATH_MAX];
	int json = 0, rc;
	struct status_report *r = NULL;
	struct buf out;
	struct cfg *c = NULL;
	struct err e;
	enum err_status s;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	cli_opt_init(&o, "status", NULL, argc, argv, options);
	while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
		if (opt == OPT_JSON)
			json = 1;
		else if (opt == 'c')
			config = o.arg;
		else if (opt == CLI_OPT_BAD)
			return CLI_EXIT_USAGE;
		else
			return cli_opt_unknown(&o);
	}
	if ((rc = cli_config_path("status", CLI_HALF_ANY, config, config_buf, &config)) != 0)
		return rc;
	buf_init(&out, 0);
	err_clear(&e);
	if (cfg_load_file(config, &c, &e) != ERR_OK) {
		rc = cli_fail("status", &e);
		goto out;
	}
	s = status_collect(c, 0, &r, &e);
	if (s != ERR_OK) {
		rc = cli_fail("status", &e);
		goto out;
	}
	s = json ? status_render_json(r, &out) : status_render_text(r, &out);
	if (s != ERR_OK) {
		err_set(&e, s, "cannot render the report (out of memory)");
		rc = cli_fail("status", &e);
		goto out;
	}
	fwrite(out.data, 1, out.len, stdout);
	fflush(stdout);
	rc = status_attention(r) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
out:
	buf_release(&out);
	status_free(r);
	cfg_free(c);
	return rc;
}
