/*
 * cmd_transfer.c: `scfgate transfer`, the SFTP transport between the two
 * hosts (see transfer.h).  Runs on the host that may open connections.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cfg.h"
#include "cli.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "sigs.h"
#include "spool.h"
#include "transfer.h"

/* What the process did, for the health record and the metrics. */
struct xfer_run {
	char state_dir[SPOOL_PATH_MAX]; /* root/state/transfer; "" when it cannot be made */
	struct health health;
	time_t started;
	struct {
		struct transfer_stats total; /* since the process started */
		size_t left_alone_last;
		double pass_seconds;
	} q[CFG_TRANSFER_QUEUES_MAX];
};

/* root/state/transfer/ holds the transfer's health record (health.h),
 * apart from the halves' state/scf and state/oms. */
static void run_open(struct xfer_run *run, const struct cfg *c)
{
	char state[SPOOL_PATH_MAX];
	struct err e;
	int present;

	memset(run, 0, sizeof(*run));
	run->started = time(NULL);
	if (snprintf(state, sizeof(state), "%s/state", c->spool.root) >= (int)sizeof(state) ||
	    snprintf(run->state_dir, sizeof(run->state_dir), "%s/state/transfer", c->spool.root) >=
	        (int)sizeof(run->state_dir) ||
	    (mkdir(state, 0750) != 0 && errno != EEXIST) ||
	    (mkdir(run->state_dir, 0750) != 0 && errno != EEXIST)) {
		log_warn("event=health-not-saved why=%s",
		         log_q("cannot make the spool root's state/transfer/"));
		run->state_dir[0] = '\0';
		return;
	}
	err_clear(&e);
	if (health_load(run->state_dir, &run->health, &present, &e) != ERR_OK)
		log_warn("event=health-unreadable why=%s", log_q(e.msg));
}

static void run_metrics(const struct xfer_run *run, const struct cfg *c, time_t now)
{
	static const char *const fams[][3] = {
	    {"scfgate_transfer_records_total", "counter",
	     "Records moved by scfgate transfer (pulled into the local new/ or renamed into the "
	     "remote new/), by queue and direction."},
	    {"scfgate_transfer_bytes_total", "counter", "Record bytes moved by scfgate transfer."},
	    {"scfgate_transfer_duplicates_total", "counter",
	     "Pulled records already in the local new/ (the remote copy removed)."},
	    {"scfgate_transfer_failed_total", "counter",
	     "Files that met an error during a pass (tried again next pass)."},
	    {"scfgate_transfer_stale_removed_total", "counter",
	     "Uploads of killed transfers removed from the remote tmp/."},
	};
	char path[4096], labels[160], qname[64];
	struct metrics m;
	struct err e;
	size_t nk;
	const enum health_kind *kinds = health_transfer_kinds(&nk);

	if (!c->metrics.textfile)
		return;
	if (metrics_sibling_path(c->metrics.textfile, "transfer", path, sizeof(path)) != 0) {
		log_warn("event=metrics-not-written why=%s", log_q("textfile path too long"));
		return;
	}
	metrics_init(&m);
	/* not scfgate_start_time_seconds: the half on this host writes that
	 * series, and the collector refuses the same series from two files */
	metrics_family(&m, "scfgate_transfer_start_time_seconds", "gauge",
	               "When scfgate transfer started (Unix time); the scfgate_transfer_ "
	               "counters count from here.");
	metrics_sample(&m, "scfgate_transfer_start_time_seconds", "", (double)run->started);
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		metrics_family(&m, fams[f][0], fams[f][1], fams[f][2]);
		for (size_t i = 0; i < c->transfer.n_queues; i++) {
			const struct cfg_transfer_queue *q = &c->transfer.queues[i];
			const struct transfer_stats *t = &run->q[i].total;
			size_t v[] = {t->moved, t->bytes, t->duplicates, t->failed, t->stale};

			metrics_label_escape(q->name, qname, sizeof(qname));
			snprintf(labels, sizeof(labels), "queue=\"%s\",direction=\"%s\"", qname,
			         q->direction == CFG_TRANSFER_PUSH ? "push" : "pull");
			metrics_sample(&m, fams[f][0], labels, (double)v[f]);
		}
	}
	metrics_family(&m, "scfgate_transfer_left_alone", "gauge",
	               "Remote entries the last pull pass left alone (not a record, not a "
	               "regular file, too large).");
	for (size_t i = 0; i < c->transfer.n_queues; i++) {
		metrics_label_escape(c->transfer.queues[i].name, qname, sizeof(qname));
		snprintf(labels, sizeof(labels), "queue=\"%s\"", qname);
		metrics_sample(&m, "scfgate_transfer_left_alone", labels,
		               (double)run->q[i].left_alone_last);
	}
	metrics_family(&m, "scfgate_transfer_pass_duration_seconds", "gauge",
	               "How long the last pass over a queue took.");
	for (size_t i = 0; i < c->transfer.n_queues; i++) {
		metrics_label_escape(c->transfer.queues[i].name, qname, sizeof(qname));
		snprintf(labels, sizeof(labels), "queue=\"%s\"", qname);
		metrics_sample(&m, "scfgate_transfer_pass_duration_seconds", labels,
		               run->q[i].pass_seconds);
	}
	metrics_add_health_kinds(&m, &run->health, kinds, nk, now);
	err_clear(&e);
	if (metrics_write(path, &m, &e) != ERR_OK)
		log_warn("event=metrics-not-written why=%s", log_q(e.msg));
	metrics_release(&m);
}

/* After a pass over one queue: its outcome into the health record. */
static void run_note(struct xfer_run *run, size_t i, const struct cfg_transfer_queue *q,
                     enum err_status s, const struct err *e, const struct transfer_stats *st,
                     double seconds)
{
	enum health_kind k = q->direction == CFG_TRANSFER_PUSH ? HEALTH_PUSH : HEALTH_PULL;
	struct health_state *ks = &run->health.k[k];

	health_note(&run->health, k, (int64_t)time(NULL), s, e->msg);
	ks->moved_last = st->moved;
	ks->failed_last = st->failed;
	ks->moved_total += st->moved;
	run->q[i].total.moved += st->moved;
	run->q[i].total.bytes += st->bytes;
	run->q[i].total.duplicates += st->duplicates;
	run->q[i].total.failed += st->failed;
	run->q[i].total.stale += st->stale;
	run->q[i].left_alone_last = st->left_alone;
	run->q[i].pass_seconds = seconds;
}

static void run_save(struct xfer_run *run, const struct cfg *c)
{
	time_t now = time(NULL);
	struct err e;

	err_clear(&e);
	if (run->state_dir[0] &&
	    health_save(run->state_dir, &run->health, (int64_t)now, &e) != ERR_OK)
		log_warn("event=health-not-saved why=%s", log_q(e.msg));
	run_metrics(run, c, now);
}

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

static int pass_all(struct transfer *t, const struct cfg *c, struct xfer_run *run, time_t *due,
                    time_t now, int force)
{
	int failed = 0, passes = 0;

	for (size_t i = 0; i < c->transfer.n_queues && !*sigs_stop_flag(); i++) {
		const struct cfg_transfer_queue *q = &c->transfer.queues[i];
		struct transfer_stats st;
		struct timespec t0, t1;
		struct err e;
		enum err_status s;

		if (!force && now < due[i])
			continue;
		err_clear(&e);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		s = transfer_pass(t, q, &st, &e);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		due[i] = time(NULL) + (time_t)q->interval_seconds;
		run_note(run, i, q, s, &e, &st,
		         (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		passes++;
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
	if (passes)
		run_save(run, c);
	return failed;
}

enum { OPT_ONCE = CLI_OPT_LONG, OPT_LOG_JSON };

static const struct option options[] = {
    CLI_OPT_CONFIG,
    {"once", no_argument, NULL, OPT_ONCE},
    {"log-json", no_argument, NULL, OPT_LOG_JSON},
    {NULL, 0, NULL, 0},
};

int cmd_transfer(int argc, char **argv)
{
	const char *config = NULL;
	char config_buf[CLI_PATH_MAX];
	int once = 0, log_json = 0, rc = CLI_EXIT_OK;
	struct cfg *c = NULL;
	struct transfer *t = NULL;
	struct xfer_run run;
	time_t due[CFG_TRANSFER_QUEUES_MAX] = {0};
	struct cli_opt o;
	struct err e;
	int opt;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	cli_opt_init(&o, "transfer", NULL, argc, argv, options);
	while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
		if (opt == OPT_ONCE)
			once = 1;
		else if (opt == OPT_LOG_JSON)
			log_json = 1;
		else if (opt == 'c')
			config = o.arg;
		else if (opt == CLI_OPT_BAD)
			return CLI_EXIT_USAGE;
		else
			return cli_opt_unknown(&o);
	}
	/* Either host may open the connections: the default is whichever
	 * half's configuration this host has. */
	if ((rc = cli_config_path("transfer", CLI_HALF_ANY, config, config_buf, &config)) != 0)
		return rc;
	err_clear(&e);
	if (cfg_load_file(config, &c, &e) != ERR_OK)
		return cli_fail("transfer", &e);
	if (!c->transfer.n_queues) {
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
	log_info("event=start host=%s port=%u user=%s queues=%zu once=%d",
	         c->transfer.host ? c->transfer.host : "-", c->transfer.port,
	         c->transfer.user ? c->transfer.user : "-", c->transfer.n_queues, once);
	run_open(&run, c);
	if (once) {
		rc = pass_all(t, c, &run, due, time(NULL), 1) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
		goto out;
	}
	while (!*sigs_stop_flag()) {
		time_t now = time(NULL), next;

		(void)pass_all(t, c, &run, due, now, 0);
		next = due[0];
		for (size_t i = 1; i < c->transfer.n_queues; i++)
			if (due[i] < next)
				next = due[i];
		now = time(NULL);
		if (next > now)
			sigs_wait_ms(sigs_stop_flag(), (uint64_t)(next - now) * 1000u);
	}
	log_info("event=stop");
out:
	transfer_free(t);
	cfg_free(c);
	return rc;
}
