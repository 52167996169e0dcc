/*
 * cmd_transfer.c: `scfgate transfer`, the SFTP transport between the two
 * hosts (see transfer.h).  Runs on the host that may open connections.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "cli.h"
#include "sigs.h"
#include "transfer.h"

static const char usage_text[] =
    "usage: scfgate transfer [--config FILE] [--once] [--log-json]\n"
    "\n"
    "Move records between this host's spool and the peer's over SFTP, as\n"
    "the configuration's <transfer> section says: a pulled queue's records\n"
    "are downloaded from the remote queue's new/ into the local new/ (never\n"
    "visible half-written) and then removed remotely; a pushed queue's\n"
    "records are uploaded to the remote queue's tmp/, renamed into its new/,\n"
    "and only then moved to the local sent/.  Only regular files with record\n"
    "names within the size limit are taken; anything else on the remote is\n"
    "left alone and logged.  Key authentication only; the server's host key\n"
    "must match <knownHosts> or <hostKeySha256>.\n"
    "\n"
    "  --config FILE  the configuration with the <transfer> section (default:\n"
    "                 /etc/scfgate/scf.xml or oms.xml, whichever exists)\n"
    "  --once         one pass over every queue, then exit (for a timer)\n"
    "  --log-json     log one JSON object per line\n"
    "\n"
    "Without --once, runs until SIGTERM or SIGINT, a pass over each queue\n"
    "every intervalSeconds of it; a stop finishes the file in hand.  Exit 0\n"
    "when every pass went through, 1 when one failed (a --once run, or a\n"
    "configuration that cannot be used), 2 for a usage error.\n";

static int pass_all(struct transfer *t, const struct cfg *c, time_t *due, time_t now, int force)
{
	int failed = 0;

	for (size_t i = 0; i < c->transfer.n_queues && !*sigs_stop_flag(); i++) {
		const struct cfg_transfer_queue *q = &c->transfer.queues[i];
		struct transfer_stats st;
		struct err e;
		enum err_status s;

		if (!force && now < due[i])
			continue;
		err_clear(&e);
		s = transfer_pass(t, q, &st, &e);
		due[i] = time(NULL) + (time_t)q->interval_seconds;
		if (s != ERR_OK) {
			failed = 1;
			log_error(
			    "event=transfer_pass queue=%s direction=%s moved=%zu duplicates=%zu "
			    "left_alone=%zu failed=%zu expired=%zu bytes=%zu stale=%zu why=%s",
			    q->name, q->direction == CFG_TRANSFER_PUSH ? "push" : "pull", st.moved,
			    st.duplicates, st.left_alone, st.failed, st.expired, st.bytes, st.stale,
			    log_q(e.msg));
		} else
			log_info(
			    "event=transfer_pass queue=%s direction=%s moved=%zu duplicates=%zu "
			    "left_alone=%zu failed=%zu expired=%zu bytes=%zu stale=%zu",
			    q->name, q->direction == CFG_TRANSFER_PUSH ? "push" : "pull", st.moved,
			    st.duplicates, st.left_alone, st.failed, st.expired, st.bytes,
			    st.stale);
	}
	return failed;
}

int cmd_transfer(int argc, char **argv)
{
	const char *config = NULL;
	char config_buf[CLI_PATH_MAX];
	int once = 0, log_json = 0, rc = CLI_EXIT_OK;
	struct cfg *c = NULL;
	struct transfer *t = NULL;
	time_t due[CFG_TRANSFER_QUEUES_MAX] = {0};
	struct err e;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int cfg_rc;

		if (strcmp(argv[i], "--once") == 0)
			once = 1;
		else if (strcmp(argv[i], "--log-json") == 0)
			log_json = 1;
		else if ((cfg_rc = cli_config_arg("transfer", argc, argv, &i, &config)) != 0) {
			if (cfg_rc != 1)
				return cfg_rc;
		} else
			return cli_usage("transfer", "unknown argument %s (see --help)", argv[i]);
	}
	/* Either host may open the connections: the default is whichever
	 * half's configuration this host has. */
	if ((rc = cli_config_path("transfer", CLI_HALF_ANY, config, config_buf, &config)) != 0)
		return rc;
	err_clear(&e);
	if (cfg_load_file(config, &c, &e) != ERR_OK)
		return cli_fail("transfer", &e);
	if (!c->transfer.host) {
		err_set(&e, ERR_FATAL, "%s: no <transfer> section", config);
		rc = cli_fail("transfer", &e);
		goto out;
	}
	log_open("transfer", cli_log_level(c->log_level), log_json);
	sigs_install(0);
	if (transfer_open(&t, c, sigs_stop_flag(), &e) != ERR_OK) {
		rc = cli_fail("transfer", &e);
		goto out;
	}
	log_info("event=start host=%s port=%u user=%s queues=%zu once=%d", c->transfer.host,
	         c->transfer.port, c->transfer.user, c->transfer.n_queues, once);
	if (once) {
		rc = pass_all(t, c, due, time(NULL), 1) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
		goto out;
	}
	while (!*sigs_stop_flag()) {
		time_t now = time(NULL), next;

		(void)pass_all(t, c, due, now, 0);
		next = due[0];
		for (size_t i = 1; i < c->transfer.n_queues; i++)
			if (due[i] < next)
				next = due[i];
		now = time(NULL);
		if (next > now)
			sigs_wait_ms(sigs_stop_flag(), (unsigned)(next - now) * 1000u);
	}
	log_info("event=stop");
out:
	transfer_free(t);
	cfg_free(c);
	return rc;
}
