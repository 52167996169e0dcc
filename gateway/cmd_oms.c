/*
 * cmd_oms.c: `scfgate oms`, the Cartegraph half (forward + poll) as a
 * daemon or one pass (see oms.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cli.h"
#include "log.h"
#include "oms.h"
#include "sig.h"

static const char usage_text[] =
    "usage: scfgate oms --config FILE [--once] [--json] [--log-json]\n"
    "                   [--concurrency N] [--window N] [--retry-ms N]\n"
    "                   [--http-timeout-ms N]\n"
    "\n"
    "Run the Cartegraph half: apply the outbound spool (issues, comments,\n"
    "attachments) to Cartegraph exactly once, write an ack record for every\n"
    "request created, poll the open requests and write a close record when\n"
    "one is closed.\n"
    "\n"
    "  --config FILE    the half's configuration (root <scfgate half=\"oms\">)\n"
    "  --once           drain the outbound queue, poll once, exit 0 (records and\n"
    "                   polls that still meet temporary errors wait for the\n"
    "                   next run; exit 1 only when the half must stop)\n"
    "  --json           print the counters of the run as one JSON document\n"
    "  --log-json       log lines as JSON objects instead of text\n"
    "  --concurrency N  HTTP requests in flight (default <concurrency>)\n"
    "  --window N       records read ahead of the claimed one (default 8 x N)\n"
    "  --retry-ms N     first back-off of a record after a temporary error\n"
    "                   (doubles per attempt, capped at 5 minutes; default 1000)\n"
    "  --http-timeout-ms N  limit of one HTTP transfer (default 30000)\n"
    "\n"
    "Without --once it forwards continuously and polls every <pollSeconds>.\n"
    "SIGTERM or SIGINT finishes the records in hand, commits, and exits 0.\n"
    "A 401 after one re-login stops the half with an alert line and exit 1.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static void print_json(const struct oms_counts *n, size_t tracked)
{
	printf("{\"applied\":%zu,\"failed\":%zu,\"held\":%zu,\"waiting\":%zu,\"acks\":%zu,"
	       "\"closes\":%zu,\"polled\":%zu,\"notes_appends\":%zu,\"quarantined\":%zu,"
	       "\"tracked_open\":%zu,\"signature_checks\":%lu}\n",
	       n->applied, n->failed, n->held, n->waiting, n->acks, n->closes, n->polled,
	       n->notes_appends, n->quarantined, tracked, sig_verify_count());
}

int cmd_oms(int argc, char **argv)
{
	const char *config = NULL;
	int once = 0, json = 0, log_json = 0, rc = CLI_EXIT_OK;
	struct oms_opts opts;
	struct oms_counts counts;
	struct cfg *c = NULL;
	struct oms *o = NULL;
	struct sigaction sa;
	unsigned long v;
	struct err e;
	enum err_status s;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	memset(&opts, 0, sizeof(opts));
	memset(&counts, 0, sizeof(counts));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int cfg_rc;

		if (strcmp(a, "--once") == 0)
			once = 1;
		else if (strcmp(a, "--json") == 0)
			json = 1;
		else if (strcmp(a, "--log-json") == 0)
			log_json = 1;
		else if ((cfg_rc = cli_config_arg("oms", argc, argv, &i, &config)) != 0) {
			if (cfg_rc != 1)
				return cfg_rc;
		} else if (strcmp(a, "--concurrency") == 0 || strcmp(a, "--window") == 0 ||
		           strcmp(a, "--retry-ms") == 0 || strcmp(a, "--http-timeout-ms") == 0) {
			int ms = strstr(a, "-ms") != NULL;
			if (++i == argc || number(argv[i], ms ? 3600000 : 1024, &v) != 0)
				return cli_usage("oms", "%s needs a positive number", a);
			if (strcmp(a, "--concurrency") == 0)
				opts.concurrency = (unsigned)v;
			else if (strcmp(a, "--window") == 0)
				opts.window = (unsigned)v;
			else if (strcmp(a, "--http-timeout-ms") == 0)
				opts.http_timeout_ms = (long)v;
			else
				opts.retry_base_ms = (long)v;
		} else
			return cli_usage("oms", "unknown argument %s (see --help)", a);
	}
	if (!config)
		return cli_usage("oms", "--config FILE is required");
	err_clear(&e);
	if (cfg_load_file(config, &c, &e) != ERR_OK)
		return cli_fail("oms", &e);
	if (c->half != CFG_HALF_OMS) {
		rc = cli_usage("oms", "%s is a configuration for the %s half", config,
		               cfg_half_name(c->half));
		cfg_free(c);
		return rc;
	}
	log_open("oms", cli_log_level(c->log_level), log_json);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	opts.stop = &stop_flag;

	if ((s = oms_open(&o, c, &opts, &e)) != ERR_OK) {
		if (s == ERR_FATAL)
			log_alert("event=not-started why=\"%s\"", e.msg);
		rc = cli_fail("oms", &e);
		goto out;
	}
	if (once) {
		s = oms_forward(o, 1, &counts, &e);
		if (s == ERR_OK && !stop_flag) {
			s = oms_poll(o, &counts, &e);
			/* Like a record meeting a 503: the next run polls again. */
			if (s == ERR_TEMP) {
				log_warn("effect=poll-incomplete why=\"%s\"", e.msg);
				s = ERR_OK;
			}
		}
	} else {
		s = oms_run(o, &counts, &e);
	}
	if (s == ERR_FATAL) {
		log_alert("event=stopped why=\"%s\"", e.msg);
		oms_status_note(o, &e);
	}
	if (json)
		print_json(&counts, oms_tracked_open(o));
	if (s != ERR_OK)
		rc = cli_fail("oms", &e);
out:
	oms_free(o);
	cfg_free(c);
	return rc;
}
