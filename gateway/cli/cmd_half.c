/*
 * cmd_half.c: `scfgate scf` and `scfgate oms`, a half as a daemon or one
 * pass.  One command for both: each half is a row of options and usage
 * over the process loop of half.h (half_serve) with the half's table
 * (scf_half_ops, oms_half_ops).
 */
#include <getopt.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cli.h"
#include "jdoc.h"
#include "half.h"
#include "log.h"
#include "notify.h"
#include "oms.h"
#include "scf.h"
#include "sigs.h"

static const char scf_usage[] =
    "usage: scfgate scf [--config FILE] [--once] [--json] [--log-json]\n"
    "       scfgate scf resync [--config FILE] (--request-type ID | --issue ID... |\n"
    "                          --since DATE) [--acknowledged] [--json]\n"
    "       scfgate scf census [--config FILE] [--window-days N] [--json]\n"
    "\n"
    "Run the SeeClickFix half: fetch new issues, comments and photos into the\n"
    "outbound spool, and write acknowledgments and closings from the inbound\n"
    "spool back to SeeClickFix.\n"
    "\n"
    "  --config FILE  the half's configuration (root <scfgate half=\"scf\">);\n"
    "                 default /etc/scfgate/scf.xml\n"
    "  --once         one fetch pass, then drain the inbound queue (for at most\n"
    "                 <pollSeconds> from the start of the pass), then exit\n"
    "                 (exit 1 if the pass failed; the next run repeats it)\n"
    "  --json         print the counters of the run as one JSON document\n"
    "  --log-json     log lines as JSON objects instead of text\n"
    "\n"
    "Without --once it polls every <pollSeconds>.  SIGTERM or SIGINT ends any\n"
    "wait within a second, finishes the record in hand, commits, and exits 0.\n"
    "SIGHUP re-reads the configuration after the record in hand (a bad one is\n"
    "refused, with the reason logged, and the running one kept).  SIGUSR1 makes\n"
    "the next pass start at once instead of after <pollSeconds>.\n"
    "A 401, or a 403 that says the client is blacklisted, stops the half with\n"
    "an alert line and exit 1; after a 403 ban every start stops the same way,\n"
    "without calling SeeClickFix, until the time the alert names (one hour).\n"
    "Every run spends one rate budget (<ratePerMinute> calls in any\n"
    "<rateWindowSeconds>, kept in the spool's state/scf/rate): --once timers and\n"
    "restarts never go over it.\n";

static const char oms_usage[] =
    "usage: scfgate oms [--config FILE] [--once] [--json] [--log-json]\n"
    "                   [--concurrency N] [--window N] [--retry-ms N]\n"
    "                   [--http-timeout-ms N]\n"
    "\n"
    "Run the Cartegraph half: apply the outbound spool (issues, comments,\n"
    "attachments) to Cartegraph exactly once, write an ack record for every\n"
    "request created, poll the open requests and write a close record when\n"
    "one is closed.\n"
    "\n"
    "  --config FILE    the half's configuration (root <scfgate half=\"oms\">);\n"
    "                   default /etc/scfgate/oms.xml\n"
    "  --once           drain the outbound queue, poll once, exit 0 (records and\n"
    "                   polls that still meet temporary errors wait for the\n"
    "                   next run; exit 1 only when the half must stop)\n"
    "  --json           print the counters of the run as one JSON document\n"
    "  --log-json       log lines as JSON objects instead of text\n"
    "  --concurrency N  HTTP requests in flight (default <concurrency>)\n"
    "  --window N       records read ahead of the claimed one (default 8 x N)\n"
    "  --retry-ms N     first back-off of a record after a temporary error\n"
    "                   (doubles per attempt, capped at 5 minutes, the second\n"
    "                   half of each wait random; default 1000)\n"
    "  --http-timeout-ms N  limit of one HTTP transfer (default 30000)\n"
    "\n"
    "Without --once it forwards continuously and polls every <pollSeconds>.\n"
    "SIGTERM or SIGINT ends any wait within a second, finishes the records in\n"
    "hand, commits, and exits 0.  SIGHUP re-reads the configuration after the\n"
    "records in hand (a bad one is refused, with the reason logged, and the\n"
    "running one kept).  SIGUSR1 makes the next poll start at once instead of\n"
    "after <pollSeconds>.  --once ignores SIGHUP and SIGUSR1.\n"
    "A 401 after one re-login stops the half with an alert line and exit 1.\n";

/* Options of both halves, then each half's own (getopt_long values). */
enum {
	OPT_ONCE = 256,
	OPT_JSON,
	OPT_LOG_JSON,
	OPT_CONCURRENCY,
	OPT_WINDOW,
	OPT_RETRY_MS,
	OPT_HTTP_TIMEOUT_MS,
};

#define COMMON_OPTIONS                                                                             \
	{"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, OPT_ONCE},           \
	    {"json", no_argument, NULL, OPT_JSON},                                                 \
	{                                                                                          \
		"log-json", no_argument, NULL, OPT_LOG_JSON                                        \
	}

static const struct option scf_options[] = {COMMON_OPTIONS, {NULL, 0, NULL, 0}};

static const struct option oms_options[] = {
    COMMON_OPTIONS,
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"retry-ms", required_argument, NULL, OPT_RETRY_MS},
    {"http-timeout-ms", required_argument, NULL, OPT_HTTP_TIMEOUT_MS},
    {NULL, 0, NULL, 0},
};

/* A positive whole number up to max. */
static int number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* An option of the OMS half into opts (struct oms_opts): 0, or the exit
 * status of the usage line printed. */
static int oms_option(void *opts, int val, const char *name, const char *arg)
{
	struct oms_opts *o = opts;
	unsigned long v;
	int ms = val == OPT_RETRY_MS || val == OPT_HTTP_TIMEOUT_MS;

	if (!arg || number(arg, ms ? 3600000 : 1024, &v) != 0)
		return cli_usage("oms", "--%s needs a positive number", name);
	switch (val) {
	case OPT_CONCURRENCY:
		o->concurrency = (unsigned)v;
		break;
	case OPT_WINDOW:
		o->window = (unsigned)v;
		break;
	case OPT_RETRY_MS:
		o->retry_base_ms = (long)v;
		break;
	default:
		o->http_timeout_ms = (long)v;
		break;
	}
	return 0;
}

/* One row per half. */
struct half_cmd {
	const struct half_ops *ops;
	enum cli_half cli_half;
	const char *usage;
	const struct option *options;
	/* The half's own options (NULL: none): 0, or an exit status. */
	int (*option)(void *opts, int val, const char *name, const char *arg);
};

static const char *option_name(const struct option *opts, int val)
{
	for (const struct option *o = opts; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

/* The counters of the last pass, one JSON object on one line. */
static int print_json(const char *name, const struct half_counters *k)
{
	struct jdoc d = JDOC_INIT;
	cJSON *root = jdoc_root_object(&d);

	for (size_t i = 0; i < k->n; i++)
		jdoc_number(&d, root, k->c[i].json, (double)k->c[i].v);
	return cli_print_jdoc(name, &d);
}

static int run_half(const struct half_cmd *hc, void *opts, int argc, char **argv)
{
	const char *name = hc->ops->name;
	const char *config = NULL;
	char config_buf[CLI_PATH_MAX];
	int once = 0, json = 0, log_json = 0, rc, opt;
	struct cli_opt o;
	struct half_run r;
	struct err e;
	enum err_status s;

	if (cli_wants_help(argc, argv)) {
		fputs(hc->usage, stdout);
		return CLI_EXIT_OK;
	}
	cli_opt_init(&o, name, NULL, argc, argv, hc->options);
	while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		case CLI_OPT_ARG:
			return cli_opt_unknown(&o);
		case 'c':
			config = o.arg;
			break;
		case OPT_ONCE:
			once = 1;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_LOG_JSON:
			log_json = 1;
			break;
		default:
			rc = hc->option
			         ? hc->option(opts, opt, option_name(hc->options, opt), o.arg)
			         : cli_opt_unknown(&o);
			if (rc != 0)
				return rc;
			break;
		}
	}
	rc = cli_config_path(name, hc->cli_half, config, config_buf, &config);
	if (rc != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	rc = cli_load_half(name, hc->ops->half, config, &r.c);
	if (rc != 0)
		return rc;
	log_open(name, cli_log_level(r.c->log_level), log_json);
	notify_init();
	sigs_install(!once);
	r.ops = hc->ops;
	r.config = config;
	r.opts = opts;
	r.once = once;
	r.log_json = log_json;
	err_clear(&e);
	s = half_serve(&r, &e);
	rc = s != ERR_OK ? cli_fail(name, &e) : CLI_EXIT_OK;
	if (json && r.have_last && print_json(name, &r.last) != CLI_EXIT_OK && rc == CLI_EXIT_OK)
		rc = CLI_EXIT_FAIL;
	half_log_stop(&r, rc);
	return rc;
}

int cmd_scf(int argc, char **argv)
{
	static const struct half_cmd scf = {&scf_half_ops, CLI_HALF_SCF, scf_usage, scf_options,
	                                    NULL};

	if (argc > 1 && strcmp(argv[1], "resync") == 0)
		return cmd_scf_resync(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "census") == 0)
		return cmd_scf_census(argc - 1, argv + 1);
	return run_half(&scf, NULL, argc, argv);
}

int cmd_oms(int argc, char **argv)
{
	static const struct half_cmd oms = {&oms_half_ops, CLI_HALF_OMS, oms_usage, oms_options,
	                                    oms_option};
	struct oms_opts opts;

	memset(&opts, 0, sizeof(opts));
	return run_half(&oms, &opts, argc, argv);
}
