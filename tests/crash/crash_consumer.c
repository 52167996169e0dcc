/*
 * crash_consumer.c: a consumer that is meant to be SIGKILLed.
 *
 *   crash_consumer ROOT PUBFILE APPLYLOG [--drain]
 *
 * Claims records of ROOT's "outbound" queue in order, appends
 * "SEQ SHA256\n" to APPLYLOG (fdatasync'd: the "effect"), then completes.
 * A kill between the two re-applies that record after restart, as the
 * spool promises (at least once); a line torn by the kill is cut off at
 * the next start (tsu_log_open).  Anything but a clean claim (a file
 * still "arriving", a quarantine) is a violation here, because the
 * writer on this host commits atomically: it is written to APPLYLOG as
 * "VIOLATION ..." and the checker fails on it.  --drain exits when
 * nothing is left; otherwise it polls forever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "unit/test_spool_util.h"

static void log_line(int fd, const char *line)
{
	size_t n = strlen(line);

	if (write(fd, line, n) != (ssize_t)n || fdatasync(fd) != 0) {
		perror("apply log");
		exit(3);
	}
}

int main(int argc, char **argv)
{
	struct spool_consumer_opts o = {.grace_seconds = 2, .producer = "scf"};
	struct spool_consumer *c = NULL;
	struct sig_key *pub;
	struct spool_stats st;
	struct err e;
	int drain, fd, idle = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: crash_consumer ROOT PUBFILE APPLYLOG [--drain]\n");
		return 2;
	}
	drain = argc > 4 && strcmp(argv[4], "--drain") == 0;
	if (sig_load_public(argv[2], &pub, &e) != ERR_OK) {
		fprintf(stderr, "crash_consumer: %s\n", e.msg);
		return 2;
	}
	/* The previous instance may be dying still: its lock goes with it. */
	for (int i = 0; i < 200; i++) {
		if (spool_consumer_open(&c, argv[1], "outbound", pub, &o, &e) == ERR_OK)
			break;
		usleep(10000);
	}
	if (!c) {
		fprintf(stderr, "crash_consumer: open: %s\n", e.msg);
		return 2;
	}
	fd = tsu_log_open(argv[3]);
	for (;;) {
		struct spool_item *it;
		char line[ERR_MSG_MAX + 32];
		if (spool_claim(c, &it, &e) != ERR_OK) {
			if (strstr(e.msg, "arriving") || strstr(e.msg, "gap")) {
				snprintf(line, sizeof(line), "VIOLATION %s\n", e.msg);
				log_line(fd, line);
			}
			/* Draining, the writer is gone: nothing arrives any more,
			 * and a rescan needs the spool's SCAN_INTERVAL (1 s)
			 * whether the last looks are 20 or 100 ms apart. */
			if (drain && ++idle > 3)
				break;
			usleep(drain ? 20000 : 2000);
			continue;
		}
		idle = 0;
		snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)it->rec->seq,
		         it->sha256);
		log_line(fd, line);
		if (spool_complete(c, it, &e) != ERR_OK) {
			fprintf(stderr, "crash_consumer: complete: %s\n", e.msg);
			return 1;
		}
	}
	spool_consumer_free(c);
	if (spool_stats(argv[1], "outbound", 0, &st, &e) == ERR_OK && st.count[SPOOL_FAILED]) {
		log_line(fd, "VIOLATION records were quarantined\n");
	}
	sig_key_free(pub);
	close(fd);
	return 0;
}
