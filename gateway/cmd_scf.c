/*
 * cmd_scf.c: `scfgate scf`, the SeeClickFix half (fetch + write-back) as a
 * daemon or one pass (see scf.h).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cli.h"
#include "log.h"
#include "scf.h"

static const char usage_text[] =
    "usage: scfgate scf --config FILE [--once] [--json] [--log-json]\n"
    "       scfgate scf resync --config FILE (--request-type ID | --issue ID... |\n"
    "                          --since DATE) [--acknowledged] [--json]\n"
    "\n"
    "Run the SeeClickFix half: fetch new issues, comments and photos into the\n"
    "outbound spool, and write acknowledgments and closings from the inbound\n"
    "spool back to SeeClickFix.\n"
    "\n"
    "  --config FILE  the half's configuration (root <scfgate half=\"scf\">)\n"
    "  --once         one fetch pass, then drain the inbound queue (for at most\n"
    "                 <pollSeconds> from the start of the pass), then exit\n"
    "                 (exit 1 if the pass failed; the next run repeats it)\n"
    "  --json         print the counters of the run as one JSON document\n"
    "  --log-json     log lines as JSON objects instead of text\n"
    "\n"
    "Without --once it polls every <pollSeconds>.  SIGTERM or SIGINT finishes\n"
    "the record in hand (and an HTTP wait in progress), commits, and exits 0.\n"
    "A 401, or a 403 that says the client is blacklisted, stops the half with\n"
    "an alert line and exit 1; after a 403 ban every start stops the same way,\n"
    "without calling SeeClickFix, until the time the alert names (one hour).\n"
    "Every run spends one rate budget (<ratePerMinute> calls in any\n"
    "<rateWindowSeconds>, kept in the spool's state/scf/rate): --once timers and\n"
    "restarts never go over it.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void print_json(const struct scf_half *h)
{
	struct scf_stats s;
	struct http_stats hs;

	scf_stats_get(h, &s);
	scf_http_stats(h, &hs);
	printf("{\"pages\":%llu,\"issues_seen\":%llu,\"issue_records\":%llu,"
	       "\"comment_records\":%llu,\"attachment_records\":%llu,\"skipped_unmapped\":%llu,"
	       "\"skipped_not_open\":%llu,\"skipped_bad\":%llu,\"comments_not_forwarded\":%llu,"
	       "\"comments_edited\":%llu,\"recovered\":%llu,\"acks_applied\":%llu,"
	       "\"closes_applied\":%llu,\"already_done\":%llu,\"writeback_failed\":%llu,"
	       "\"writeback_deferred\":%llu,\"watermark\":%lld,\"http_requests\":%llu,"
	       "\"http_429\":%llu,\"http_retries\":%llu}\n",
	       (unsigned long long)s.pages, (unsigned long long)s.issues_seen,
	       (unsigned long long)s.issue_records, (unsigned long long)s.comment_records,
	       (unsigned long long)s.attachment_records, (unsigned long long)s.skipped_unmapped,
	       (unsigned long long)s.skipped_not_open, (unsigned long long)s.skipped_bad,
	       (unsigned long long)s.comments_not_forwarded, (unsigned long long)s.comments_edited,
	       (unsigned long long)s.recovered, (unsigned long long)s.acks_applied,
	       (unsigned long long)s.closes_applied, (unsigned long long)s.already_done,
	       (unsigned long long)s.wb_failed, (unsigned long long)s.wb_deferred,
	       (long long)s.watermark, (unsigned long long)hs.requests,
	       (unsigned long long)hs.status_429, (unsigned long long)hs.retries);
	fflush(stdout);
}

int cmd_scf(int argc, char **argv)
{
	const char *config = NULL;
	int once = 0, json = 0, log_json = 0, rc = CLI_EXIT_OK;
	struct cfg *c = NULL;
	struct scf_half *h = NULL;
	struct sigaction sa;
	struct err e;
	enum err_status s;

	if (argc > 1 && strcmp(argv[1], "resync") == 0)
		return cmd_scf_resync(argc - 1, argv + 1);
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int cfg_rc;

		if (strcmp(argv[i], "--once") == 0)
			once = 1;
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--log-json") == 0)
			log_json = 1;
		else if ((cfg_rc = cli_config_arg("scf", argc, argv, &i, &config)) != 0) {
			if (cfg_rc != 1)
				return cfg_rc;
		} else
			return cli_usage("scf", "unknown argument %s (see --help)", argv[i]);
	}
	if (!config)
		return cli_usage("scf", "--config FILE is required");
	err_clear(&e);
	if (cfg_load_file(config, &c, &e) != ERR_OK)
		return cli_fail("scf", &e);
	if (c->half != CFG_HALF_SCF) {
		rc = cli_usage("scf", "%s is a configuration for the %s half", config,
		               cfg_half_name(c->half));
		cfg_free(c);
		return rc;
	}
	log_open("scf", cli_log_level(c->log_level), log_json);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if ((s = scf_open(&h, c, NULL, &e)) != ERR_OK) {
		if (s == ERR_FATAL)
			log_alert("event=not-started why=\"%s\"", e.msg);
		rc = cli_fail("scf", &e);
		goto out;
	}
	scf_set_stop_flag(h, &stop_flag);
	s = scf_run(h, once, &e);
	if (json)
		print_json(h);
	if (s != ERR_OK && !(stop_flag && s == ERR_TEMP))
		rc = cli_fail("scf", &e);
out:
	scf_free(h);
	cfg_free(c);
	return rc;
}
