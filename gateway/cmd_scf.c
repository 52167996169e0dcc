/*
 * cmd_scf.c: `scfgate scf`, the SeeClickFix half (fetch + write-back) as a
 * daemon or one pass (see scf.h).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "log.h"
#include "notify.h"
#include "scf.h"
#include "sigs.h"

static const char usage_text[] =
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
    "refused, with the reason logged, and the running one kept).\n"
    "A 401, or a 403 that says the client is blacklisted, stops the half with\n"
    "an alert line and exit 1; after a 403 ban every start stops the same way,\n"
    "without calling SeeClickFix, until the time the alert names (one hour).\n"
    "Every run spends one rate budget (<ratePerMinute> calls in any\n"
    "<rateWindowSeconds>, kept in the spool's state/scf/rate): --once timers and\n"
    "restarts never go over it.\n";

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
	       "\"http_429\":%llu,\"http_retries\":%llu,\"quarantined\":%llu}\n",
	       (unsigned long long)s.pages, (unsigned long long)s.issues_seen,
	       (unsigned long long)s.issue_records, (unsigned long long)s.comment_records,
	       (unsigned long long)s.attachment_records, (unsigned long long)s.skipped_unmapped,
	       (unsigned long long)s.skipped_not_open, (unsigned long long)s.skipped_bad,
	       (unsigned long long)s.comments_not_forwarded, (unsigned long long)s.comments_edited,
	       (unsigned long long)s.recovered, (unsigned long long)s.acks_applied,
	       (unsigned long long)s.closes_applied, (unsigned long long)s.already_done,
	       (unsigned long long)s.wb_failed, (unsigned long long)s.wb_deferred,
	       (long long)s.watermark, (unsigned long long)hs.requests,
	       (unsigned long long)hs.status_429, (unsigned long long)hs.retries,
	       (unsigned long long)s.quarantined);
	fflush(stdout);
}

/* Counts over the whole run, reloads included, for the stop line. */
struct run_totals {
	struct scf_stats s;
};

static void add_totals(struct run_totals *t, const struct scf_half *h)
{
	struct scf_stats s;

	if (!h)
		return;
	scf_stats_get(h, &s);
	t->s.issue_records += s.issue_records;
	t->s.comment_records += s.comment_records;
	t->s.attachment_records += s.attachment_records;
	t->s.acks_applied += s.acks_applied;
	t->s.closes_applied += s.closes_applied;
	t->s.wb_failed += s.wb_failed;
	t->s.quarantined += s.quarantined;
}

static enum err_status open_half(struct scf_half **h, const struct cfg *c, struct err *e)
{
	enum err_status s = scf_open(h, c, NULL, e);

	if (s != ERR_OK)
		return s;
	scf_set_stop_flag(*h, sigs_stop_flag());
	return ERR_OK;
}

/* SIGHUP: the new configuration replaces the running one only if it
 * loads and the half opens with it; otherwise the old one goes on.  The
 * half is closed in between (its producer lock allows one at a time),
 * after the record in hand (SIGHUP raised the stop flag too, sigs.h):
 * nothing in hand is dropped, and records committed stay in the spool. */
static enum err_status reload(const char *path, struct cfg **c, struct scf_half **h,
                              struct run_totals *t, int log_json, struct err *e)
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
	if (nc->half != CFG_HALF_SCF) {
		log_error("event=reload-refused config=%s why=%s", log_q(path),
		          log_q("a configuration for the other half"));
		cfg_free(nc);
		return ERR_OK;
	}
	add_totals(t, *h);
	scf_free(*h);
	*h = NULL;
	if (open_half(h, nc, &le) != ERR_OK) {
		log_error("event=reload-refused config=%s why=%s", log_q(path), log_q(le.msg));
		cfg_free(nc);
		if ((s = open_half(h, *c, e)) != ERR_OK) {
			*h = NULL;
			/* a stop asked for meanwhile cut the opening short */
			return sigs_stopping() ? ERR_OK : s;
		}
		return ERR_OK;
	}
	cfg_free(*c);
	*c = nc;
	log_open("scf", cli_log_level(nc->log_level), log_json);
	log_info("event=reloaded config=%s level=%s poll_seconds=%u", log_q(path),
	         log_level_name(cli_log_level(nc->log_level)), nc->scf.poll_seconds);
	return ERR_OK;
}

int cmd_scf(int argc, char **argv)
{
	const char *config = NULL;
	char config_buf[CLI_PATH_MAX];
	int once = 0, json = 0, log_json = 0, rc = CLI_EXIT_OK;
	struct cfg *c = NULL;
	struct scf_half *h = NULL;
	struct run_totals t;
	struct err e;
	enum err_status s;

	if (argc > 1 && strcmp(argv[1], "resync") == 0)
		return cmd_scf_resync(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "census") == 0)
		return cmd_scf_census(argc - 1, argv + 1);
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
	if ((rc = cli_config_path("scf", CLI_HALF_SCF, config, config_buf, &config)) != 0)
		return rc;
	if ((rc = cli_load_half("scf", CFG_HALF_SCF, config, &c)) != 0)
		return rc;
	err_clear(&e);
	log_open("scf", cli_log_level(c->log_level), log_json);
	notify_init();
	sigs_install(!once);
	memset(&t, 0, sizeof(t));
	log_info("event=start half=scf version=%s config=%s pid=%ld once=%d", SCFGATE_VERSION,
	         log_q(config), (long)getpid(), once);

	if ((s = open_half(&h, c, &e)) != ERR_OK) {
		if (s == ERR_FATAL)
			log_alert("event=not-started why=%s", log_q(e.msg));
		notify_status("not started: %s", e.msg);
		rc = cli_fail("scf", &e);
		goto out;
	}
	notify_ready("started, first pass running");
	for (;;) {
		s = scf_run(h, once, &e);
		if (s != ERR_OK || once || !sigs_reload_take())
			break;
		sigs_hold_reload(1); /* a second SIGHUP waits for the next turn */
		s = reload(config, &c, &h, &t, log_json, &e);
		sigs_hold_reload(0);
		if (s != ERR_OK)
			log_alert("event=stopped why=%s", log_q(e.msg));
		if (s != ERR_OK || !h)
			break;
	}
	if (json && h)
		print_json(h);
	if (s == ERR_FATAL)
		notify_status("stopped: %s", e.msg);
	if (s != ERR_OK && !(sigs_stopping() && s == ERR_TEMP))
		rc = cli_fail("scf", &e);
out:
	notify_stopping();
	add_totals(&t, h);
	log_info("event=stop half=scf exit=%d issue_records=%llu comment_records=%llu "
	         "attachment_records=%llu acks=%llu closes=%llu writeback_failed=%llu "
	         "quarantined=%llu",
	         rc, (unsigned long long)t.s.issue_records, (unsigned long long)t.s.comment_records,
	         (unsigned long long)t.s.attachment_records, (unsigned long long)t.s.acks_applied,
	         (unsigned long long)t.s.closes_applied, (unsigned long long)t.s.wb_failed,
	         (unsigned long long)t.s.quarantined);
	scf_free(h);
	cfg_free(c);
	return rc;
}
