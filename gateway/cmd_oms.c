/*
 * cmd_oms.c: `scfgate oms`, the Cartegraph half (forward + poll) as a
 * daemon or one pass (see oms.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "log.h"
#include "notify.h"
#include "oms.h"
#include "sig.h"
#include "sigs.h"

static const char usage_text[] =
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
    "                   (doubles per attempt, capped at 5 minutes; default 1000)\n"
    "  --http-timeout-ms N  limit of one HTTP transfer (default 30000)\n"
    "\n"
    "Without --once it forwards continuously and polls every <pollSeconds>.\n"
    "SIGTERM or SIGINT ends any wait within a second, finishes the records in\n"
    "hand, commits, and exits 0.  SIGHUP re-reads the configuration after the\n"
    "records in hand (a bad one is refused, with the reason logged, and the\n"
    "running one kept).  --once ignores SIGHUP.\n"
    "A 401 after one re-login stops the half with an alert line and exit 1.\n";

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

static void add_counts(struct oms_counts *t, const struct oms_counts *n)
{
	t->applied += n->applied;
	t->failed += n->failed;
	t->held += n->held;
	t->acks += n->acks;
	t->closes += n->closes;
	t->notes_appends += n->notes_appends;
	t->quarantined += n->quarantined;
	t->waiting = n->waiting;
	t->polled = n->polled;
}

/* SIGHUP: the new configuration replaces the running one only if it
 * loads and the half opens with it; otherwise the old one goes on.  The
 * half is closed in between (its producer and consumer locks allow one
 * at a time), after the records in hand (SIGHUP raised the stop flag
 * too, sigs.h): nothing in hand is dropped, records waiting stay in the
 * spool. */
static enum err_status reload(const char *path, struct cfg **c, struct oms **o,
                              const struct oms_opts *opts, int log_json, struct err *e)
{
	struct cfg *nc = NULL;
	struct err le;
	enum err_status s;

	log_info("event=reload config=%s", log_q(path));
	err_clear(&le);
	if (cfg_load_file(path, &nc, &le) != ERR_OK) {
		log_error("event=reload-refused config=%s why=%s", log_q(path), log_q(le.msg));
		return ERR_OK;
	}
	if (nc->half != CFG_HALF_OMS) {
		log_error("event=reload-refused config=%s why=%s", log_q(path),
		          log_q("a configuration for the other half"));
		cfg_free(nc);
		return ERR_OK;
	}
	oms_free(*o);
	*o = NULL;
	if (oms_open(o, nc, opts, &le) != ERR_OK) {
		log_error("event=reload-refused config=%s why=%s", log_q(path), log_q(le.msg));
		cfg_free(nc);
		*o = NULL;
		/* the old configuration goes on */
		if ((s = oms_open(o, *c, opts, e)) != ERR_OK) {
			*o = NULL;
			/* a stop asked for meanwhile cut the opening short */
			return sigs_stopping() ? ERR_OK : s;
		}
		return ERR_OK;
	}
	cfg_free(*c);
	*c = nc;
	log_open("oms", cli_log_level(nc->log_level), log_json);
	log_info("event=reloaded config=%s level=%s poll_seconds=%u", log_q(path),
	         log_level_name(cli_log_level(nc->log_level)), nc->cg.poll_seconds);
	return ERR_OK;
}

int cmd_oms(int argc, char **argv)
{
	const char *config = NULL;
	char config_buf[CLI_PATH_MAX];
	int once = 0, json = 0, log_json = 0, rc = CLI_EXIT_OK;
	struct oms_opts opts;
	struct oms_counts counts, total;
	struct cfg *c = NULL;
	struct oms *o = NULL;
	unsigned long v;
	struct err e;
	enum err_status s;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	memset(&opts, 0, sizeof(opts));
	memset(&counts, 0, sizeof(counts));
	memset(&total, 0, sizeof(total));
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
	if ((rc = cli_config_path("oms", CLI_HALF_OMS, config, config_buf, &config)) != 0)
		return rc;
	if ((rc = cli_load_half("oms", CFG_HALF_OMS, config, &c)) != 0)
		return rc;
	err_clear(&e);
	log_open("oms", cli_log_level(c->log_level), log_json);
	notify_init();
	sigs_install(!once);
	opts.stop = sigs_stop_flag();
	log_info("event=start half=oms version=%s config=%s pid=%ld once=%d", SCFGATE_VERSION,
	         log_q(config), (long)getpid(), once);

	if ((s = oms_open(&o, c, &opts, &e)) != ERR_OK) {
		if (s == ERR_FATAL)
			log_alert("event=not-started why=%s", log_q(e.msg));
		notify_status("not started: %s", e.msg);
		rc = cli_fail("oms", &e);
		goto out;
	}
	notify_ready("started, first pass running");
	if (once) {
		s = oms_forward(o, 1, &counts, &e);
		if (s == ERR_OK && !sigs_stopping()) {
			s = oms_poll(o, &counts, &e);
			/* Like a record meeting a 503: the next run polls again. */
			if (s == ERR_TEMP) {
				log_warn("effect=poll-incomplete why=%s", log_q(e.msg));
				s = ERR_OK;
			}
		}
		/* a census whose parts are all here: the next run tries a
		 * failed reconciliation again */
		if (s == ERR_OK && !sigs_stopping() && oms_reconcile_pending(o, &e) == ERR_FATAL)
			s = ERR_FATAL;
	} else {
		for (;;) {
			s = oms_run(o, &counts, &e);
			if (s != ERR_OK || !sigs_reload_take())
				break;
			add_counts(&total, &counts);
			memset(&counts, 0, sizeof(counts));
			sigs_hold_reload(1); /* a second SIGHUP waits for the next turn */
			s = reload(config, &c, &o, &opts, log_json, &e);
			sigs_hold_reload(0);
			if (s != ERR_OK && s != ERR_FATAL)
				log_alert("event=stopped why=%s", log_q(e.msg));
			if (s != ERR_OK || !o)
				break;
		}
	}
	if (s == ERR_FATAL) {
		log_alert("event=stopped why=%s", log_q(e.msg));
		notify_status("stopped: %s", e.msg);
		if (o)
			oms_status_note(o, &e);
	}
	if (json)
		print_json(&counts, o ? oms_tracked_open(o) : 0);
	if (s != ERR_OK)
		rc = cli_fail("oms", &e);
out:
	notify_stopping();
	add_counts(&total, &counts);
	log_info("event=stop half=oms exit=%d applied=%zu failed=%zu held=%zu waiting=%zu acks=%zu "
	         "closes=%zu quarantined=%zu",
	         rc, total.applied, total.failed, total.held, total.waiting, total.acks,
	         total.closes, total.quarantined);
	oms_free(o);
	cfg_free(c);
	return rc;
}
