/*
 * crash_writer.c: a producer that is meant to be SIGKILLed.
 *
 *   crash_writer ROOT KEYFILE ACKLOG [COUNT]
 *
 * Commits records (single commits, group commits of up to 16, which
 * several threads stage, and bursts of pipelined groups, mixed) into
 * ROOT's "outbound" queue as producer "scf".  After a commit returns
 * ERR_OK it appends "SEQ SHA256\n" of every committed file to ACKLOG and
 * fdatasyncs it: the ACKLOG is exactly what was acknowledged upstream
 * (a line torn by a kill is cut off at the next start: not acknowledged).
 * Each record carries a random nonce, so a reused sequence number would
 * show up as a second, different hash for the same number.
 * Runs forever unless COUNT is given.  SCFGATE_WRITER_MODE=single, group
 * or pipe makes every commit a single commit, a group commit or a burst
 * of pipelined groups (default: mixed).  A pipelined group is
 * acknowledged only when its wait returns.
 * A failed commit ends the program: exit 1 for ERR_TEMP (what a full
 * disk or an I/O error must give), 4 for anything else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "unit/test_spool_util.h"

static int ack_fd = -1;

static void ack(const char *root, uint64_t seq)
{
	char name[RECORD_NAME_MAX], path[SPOOL_PATH_MAX], line[128], sha[65];
	size_t len;
	char *data;
	int n;

	record_file_name(name, seq, "scf");
	/* The file may have been claimed already: look where it can be. */
	static const char *dirs[] = {"new", "cur", "done"};
	data = NULL;
	for (int i = 0; i < 3 && !data; i++) {
		snprintf(path, sizeof(path), "%s/outbound/%s/%s", root, dirs[i], name);
		data = tsu_read(path, &len);
	}
	if (!data)
		snprintf(sha, sizeof(sha), "-");
	else
		sig_sha256_hex(data, len, sha);
	free(data);
	n = snprintf(line, sizeof(line), "%llu %s\n", (unsigned long long)seq, sha);
	if (write(ack_fd, line, (size_t)n) != n || fdatasync(ack_fd) != 0) {
		perror("ack log");
		exit(3);
	}
}

static struct record **new_records(int k)
{
	struct record **recs = calloc((size_t)k, sizeof(struct record *));

	if (!recs) {
		perror("crash_writer");
		exit(3);
	}
	for (int i = 0; i < k; i++)
		recs[i] = tsu_close_record(rand(), (size_t)(rand() % 300));
	return recs;
}

static void free_records(struct record **recs, int k)
{
	for (int i = 0; i < k; i++)
		record_free(recs[i]);
	free(recs);
}

struct burst {
	struct record **recs[2]; /* outstanding groups, oldest at head */
	int k[2];
	int head, out;
	enum err_status st; /* the failure to report */
	struct err e;
	int by_start; /* st is a start's refusal, which a wait explains */
};

/* Wait for the oldest outstanding group and acknowledge what it made
 * durable. */
static void burst_wait(struct spool_producer *p, const char *root, struct burst *b, long *done)
{
	size_t n_done;
	struct err e;
	enum err_status st = spool_commit_group_wait(p, &n_done, &e);

	for (size_t i = 0; i < n_done; i++)
		ack(root, b->recs[b->head][0]->seq + i);
	*done += (long)n_done;
	if (st != ERR_OK && (b->st == ERR_OK || b->by_start)) {
		b->st = st;
		b->e = e;
		b->by_start = 0;
	}
	free_records(b->recs[b->head], b->k[b->head]);
	b->head = (b->head + 1) % 2;
	b->out--;
}

/* Two to five pipelined groups of 2-16 records, then wait for all. */
static enum err_status pipe_burst(struct spool_producer *p, const char *root, long *done,
                                  struct err *e)
{
	struct burst b = {.st = ERR_OK};
	int groups = 2 + rand() % 4;

	for (int g = 0; g < groups && b.st == ERR_OK; g++) {
		int slot = (b.head + b.out) % 2, k = 2 + rand() % 15;
		struct record **recs = new_records(k);
		enum err_status st = spool_commit_group_start(p, recs, (size_t)k, &b.e);

		if (st != ERR_OK) {
			b.st = st;
			b.by_start = 1;
			free_records(recs, k);
			break;
		}
		b.recs[slot] = recs;
		b.k[slot] = k;
		b.out++;
		if (b.out == 2)
			burst_wait(p, root, &b, done);
	}
	while (b.out > 0)
		burst_wait(p, root, &b, done);
	*e = b.e;
	return b.st;
}

/* Records in the next commit; 0 for a burst of pipelined groups.  Mixed:
 * 1 in 6 a burst, 2 in 6 a group of 1-16 (of 1: a single commit), the
 * rest single commits; SCFGATE_WRITER_MODE fixes one kind. */
static int next_commit_size(const char *mode)
{
	int pick;

	if (mode && strcmp(mode, "single") == 0)
		return 1;
	if (mode && strcmp(mode, "group") == 0)
		return 2 + rand() % 15;
	if (mode && strcmp(mode, "pipe") == 0)
		return 0;
	pick = rand() % 6;
	if (pick < 2)
		return 1 + rand() % 16;
	return pick == 2 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct spool_producer *p;
	struct sig_key *key;
	struct err e;
	long count, done = 0;
	const char *mode = getenv("SCFGATE_WRITER_MODE");

	if (argc < 4) {
		fprintf(stderr, "usage: crash_writer ROOT KEYFILE ACKLOG [COUNT]\n");
		return 2;
	}
	count = argc > 4 ? strtol(argv[4], NULL, 10) : -1;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (sig_load_private(argv[2], &key, &e) != ERR_OK) {
		fprintf(stderr, "crash_writer: %s\n", e.msg);
		return 2;
	}
	if (spool_producer_open(&p, argv[1], "outbound", "scf", key, &e) != ERR_OK) {
		fprintf(stderr, "crash_writer: open: %s\n", e.msg);
		return 2;
	}
	ack_fd = tsu_log_open(argv[3]);
	while (count < 0 || done < count) {
		int k = next_commit_size(mode);
		uint64_t first = spool_producer_next_seq(p);
		size_t n_done = 0;
		struct record **recs;
		enum err_status st;

		if (k == 0) {
			st = pipe_burst(p, argv[1], &done, &e);
		} else {
			recs = new_records(k);
			if (k == 1) {
				st = spool_commit(p, recs[0], &first, &e);
				n_done = st == ERR_OK;
			} else {
				st = spool_commit_group(p, recs, (size_t)k, &n_done, &e);
				first = recs[0]->seq;
			}
			for (size_t i = 0; i < n_done; i++)
				ack(argv[1], first + i);
			free_records(recs, k);
			done += (long)n_done;
		}
		if (st != ERR_OK) {
			fprintf(stderr, "crash_writer: commit: %s: %s\n", err_status_name(st),
			        e.msg);
			spool_producer_free(p);
			sig_key_free(key);
			return st == ERR_TEMP ? 1 : 4;
		}
	}
	spool_producer_free(p);
	sig_key_free(key);
	close(ack_fd);
	return 0;
}
