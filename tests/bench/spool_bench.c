/*
 * spool_bench.c: figures for the spool, each beside a baseline measured
 * in the same run on the same disk.
 *
 *   spool_bench DIR [N]      print the figures (DIR: scratch space on the
 *                            disk to measure; N: records per timed loop)
 *   spool_bench --consume ROOT PUBKEY
 *                            (internal) drain ROOT's queue, print
 *                            "count seconds maxrss_kib"
 *   spool_bench --rss PROG [ARG...]
 *                            (internal) run PROG, print its peak RSS in KiB
 *   spool_bench --raw ROOT N LEN
 *                            (internal) the raw loop as a program of its
 *                            own: N files of LEN bytes into ROOT's queue
 *
 * Then `scfgate spool ls` (SCFGATE_BIN, default ../scfgate beside this
 * program) against both queues, --json and text, for its peak RSS.
 * Last, the producer's open against the long queue: from its sequence
 * file alone, and reading the queue's sub-directories (the fall-back).
 *
 * The whole-process pair runs `spool-demo put ROOT outbound dem KEY N`
 * (single commits; SCFGATE_SPOOL_DEMO, default ../tools/spool-demo/
 * spool-demo beside this program) against `spool_bench --raw`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "num.h"
#include "spool.h"
#include "unit/test_spool_util.h"
#include "unconst.h"

#define PAYLOAD 1024
#define QUEUE   "outbound"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "spool_bench: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
	exit(1);
}

/*
 * The tmp/ + new/ pair of the spool queue under root, borrowed by a raw
 * loop whose files are named PREFIX-NUMBER, with a buffer of len filler
 * bytes and new/ open for its fsync.  The raw loops write into the very
 * directories the commits they are compared with use: on ext4 without a
 * journal the cost of a create depends on where the directory's new
 * inodes come from (recently freed inodes are passed over one by one),
 * so another directory on the same disk can be several times cheaper or
 * dearer.  Their names are not record names: the producers ignore them.
 */
struct raw_dirs {
	char tmp[4096], new[4096];
	const char *prefix;
	int new_fd;
	char *data;
	size_t len;
	double create_s; /* time spent in open(O_CREAT | O_EXCL) */
};

static void raw_open(struct raw_dirs *r, const char *root, const char *prefix, size_t len)
{
	if (snprintf(r->tmp, sizeof(r->tmp), "%s/%s/tmp", root, QUEUE) >= (int)sizeof(r->tmp) ||
	    snprintf(r->new, sizeof(r->new), "%s/%s/new", root, QUEUE) >= (int)sizeof(r->new)) {
		fprintf(stderr, "spool_bench: %s: path too long\n", root);
		exit(2);
	}
	r->prefix = prefix;
	r->create_s = 0;
	r->len = len;
	r->data = malloc(len);
	r->new_fd = open(r->new, O_RDONLY | O_DIRECTORY);
	if (!r->data || r->new_fd < 0)
		die("raw loop: set-up failed", NULL);
	memset(r->data, 'r', len);
}

static void raw_close(struct raw_dirs *r)
{
	close(r->new_fd);
	free(r->data);
}

/* Create and write file i in tmp/; fd open, or -1. */
static int raw_write(struct raw_dirs *r, int i)
{
	char path[4200];
	double t0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s-%08d.tmp", r->tmp, r->prefix, i);
	t0 = now();
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	r->create_s += now() - t0;
	if (fd >= 0 && write(fd, r->data, r->len) != (ssize_t)r->len) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int raw_rename(const struct raw_dirs *r, int i)
{
	char a[4200], b[4200];

	snprintf(a, sizeof(a), "%s/%s-%08d.tmp", r->tmp, r->prefix, i);
	snprintf(b, sizeof(b), "%s/%s-%08d.xml", r->new, r->prefix, i);
	return rename(a, b);
}

/* The baseline: the same file size through the same durable steps in the
 * spool root's queue, no encoding, no signature, no counter.  Files
 * from..from+n-1; seconds, of which the creates add to *create. */
static double raw_chunk(const char *root, size_t len, int from, int n, double *create)
{
	struct raw_dirs r;
	double t0;

	raw_open(&r, root, "raw", len);
	t0 = now();
	for (int i = from; i < from + n; i++) {
		int fd = raw_write(&r, i);

		if (fd < 0 || fdatasync(fd) != 0 || close(fd) != 0 || raw_rename(&r, i) != 0 ||
		    fsync(r.new_fd) != 0)
			die("raw loop failed", NULL);
	}
	t0 = now() - t0;
	*create += r.create_s;
	raw_close(&r);
	return t0;
}

/* The baseline for a group: per files of len bytes, created in tmp/ and
 * written, one syncfs, all renamed into new/, one fsync of new/; files
 * from..from+n-1 in groups of per; seconds. */
static double raw_group_chunk(const char *root, size_t len, int from, int n, int per,
                              double *create)
{
	struct raw_dirs r;
	double t0;

	raw_open(&r, root, "rawg", len);
	t0 = now();
	for (int g = from; g < from + n; g += per) {
		int end = g + per < from + n ? g + per : from + n;

		for (int i = g; i < end; i++) {
			int fd = raw_write(&r, i);

			if (fd < 0 || close(fd) != 0)
				die("raw group loop failed", NULL);
		}
		if (syncfs(r.new_fd) != 0)
			die("raw group loop: syncfs", NULL);
		for (int i = g; i < end; i++)
			if (raw_rename(&r, i) != 0)
				die("raw group loop: rename", NULL);
		if (fsync(r.new_fd) != 0)
			die("raw group loop: fsync", NULL);
	}
	t0 = now() - t0;
	*create += r.create_s;
	raw_close(&r);
	return t0;
}

/* Encoding alone (XSD validation + Ed25519 signature): the CPU part of
 * a commit, which no disk can hide. */
static double encode_loop(const struct sig_key *key, int n)
{
	struct buf out = BUF_INIT_CAP(RECORD_MAX_BYTES);
	struct err e;
	double t0 = now();

	for (int i = 0; i < n; i++) {
		struct record *r = tsu_close_record(i + 1, PAYLOAD);
		memcpy(r->producer, "scf", 4);
		r->seq = (uint64_t)i + 1;
		buf_reset(&out);
		if (record_encode(r, key, &out, &e) != ERR_OK)
			die("encode", &e);
		record_free(r);
	}
	t0 = now() - t0;
	buf_release(&out);
	return n / t0;
}

static size_t record_size(const struct sig_key *key)
{
	struct buf out = BUF_INIT_CAP(RECORD_MAX_BYTES);
	struct record *r = tsu_close_record(1, PAYLOAD);
	struct err e;
	size_t n;

	memcpy(r->producer, "scf", 4);
	r->seq = 1;
	if (record_encode(r, key, &out, &e) != ERR_OK)
		die("encode", &e);
	n = out.len;
	buf_release(&out);
	record_free(r);
	return n;
}

/* Commits from..from+n-1 through an open producer; seconds. */
static double commit_chunk(struct spool_producer *p, int from, int n)
{
	struct err e;
	double t0 = now();

	for (int i = from; i < from + n; i++) {
		struct record *r = tsu_close_record(i + 1, PAYLOAD);
		if (spool_commit(p, r, NULL, &e) != ERR_OK)
			die("commit", &e);
		record_free(r);
	}
	return now() - t0;
}

/* Commits groups of per records from record from+1 on; seconds. */
static double group_chunk(struct spool_producer *p, int from, int groups, int per)
{
	struct record **recs = calloc((size_t)per, sizeof(struct record *));
	struct err e;
	size_t done;
	double t = 0, t0;

	if (!recs)
		die("out of memory", NULL);
	for (int g = 0; g < groups; g++) {
		for (int i = 0; i < per; i++)
			recs[i] = tsu_close_record(from + g * per + i + 1, PAYLOAD);
		t0 = now();
		if (spool_commit_group(p, recs, (size_t)per, &done, &e) != ERR_OK)
			die("group commit", &e);
		t += now() - t0;
		for (int i = 0; i < per; i++)
			record_free(recs[i]);
	}
	free(recs);
	return t;
}

/* The same groups through the pipeline (spool_commit_group_start/_wait:
 * group k+1 is staged while group k is flushed); seconds from the first
 * start to the last group's durability.  The records are made first,
 * untimed, as group_chunk makes each group's untimed. */
static double pipe_chunk(struct spool_producer *p, int from, int groups, int per)
{
	size_t total = (size_t)groups * (size_t)per, done;
	struct record **recs = calloc(total, sizeof(struct record *));
	struct err e;
	double t0;

	if (!recs)
		die("out of memory", NULL);
	for (size_t i = 0; i < total; i++)
		recs[i] = tsu_close_record(from + (int)i + 1, PAYLOAD);
	t0 = now();
	for (int g = 0; g < groups; g++) {
		if (spool_commit_group_start(p, recs + (size_t)g * per, (size_t)per, &e) != ERR_OK)
			die("pipelined group start", &e);
		if (spool_commit_group_outstanding(p) == 2 &&
		    (spool_commit_group_wait(p, &done, &e) != ERR_OK || done != (size_t)per))
			die("pipelined group", &e);
	}
	while (spool_commit_group_outstanding(p) > 0)
		if (spool_commit_group_wait(p, &done, &e) != ERR_OK || done != (size_t)per)
			die("pipelined group", &e);
	t0 = now() - t0;
	for (size_t i = 0; i < total; i++)
		record_free(recs[i]);
	free(recs);
	return t0;
}

/*
 * Flush whatever the file system holds dirty, untimed.  The loops leave
 * metadata behind that nothing they do flushes (inode times, tmp/'s
 * directory blocks): a loop that ends in syncfs(2) would pay for the
 * leftovers of the loop before it, the raw loop never pays for its own.
 * So every timed chunk starts on a clean file system.
 */
static void settle(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY);

	if (fd < 0 || syncfs(fd) != 0)
		die("settle: syncfs", NULL);
	close(fd);
}

/*
 * The shared disk's speed drifts by a factor of two within seconds, so
 * the raw loop, the single commits and the group commits take turns in
 * ROUNDS chunks and each side sums its own time: all see the same disk.
 * All five write into one queue's directories (the commits as producers
 * "scf", "grp" and "pip"), so all see the same file system state too.
 * A pipelined turn is one stream of N/ROUNDS/64 groups (8 by default),
 * timed with its start (the first group's staging overlaps nothing) and
 * its end (nor does the last group's flush).
 */
#define ROUNDS 6
#define GROUP  64

struct commit_rates {
	double raw, one, group, pipe, raw_group; /* records/s */
	double create_us, gcreate_us;            /* per create in the raw loops */
};

static void commit_vs_raw(const char *root, const struct sig_key *key, size_t len, int n,
                          struct commit_rates *out)
{
	struct spool_producer *p, *pg, *pp;
	double traw = 0, tone = 0, tgroup = 0, tpipe = 0, trawg = 0, tcreate = 0, tgcreate = 0;
	int per = n / ROUNDS > 0 ? n / ROUNDS : 1;
	int groups = (per + GROUP - 1) / GROUP;
	struct err e;

	if (spool_producer_open(&p, root, QUEUE, "scf", key, &e) != ERR_OK ||
	    spool_producer_open(&pg, root, QUEUE, "grp", key, &e) != ERR_OK ||
	    spool_producer_open(&pp, root, QUEUE, "pip", key, &e) != ERR_OK)
		die("producer", &e);
	for (int r = 0; r < ROUNDS; r++) {
		settle(root);
		traw += raw_chunk(root, len, r * per, per, &tcreate);
		settle(root);
		tone += commit_chunk(p, r * per, per);
		settle(root);
		tgroup += group_chunk(pg, r * groups * GROUP, groups, GROUP);
		settle(root);
		tpipe += pipe_chunk(pp, r * groups * GROUP, groups, GROUP);
		settle(root);
		trawg += raw_group_chunk(root, len, r * groups * GROUP, groups * GROUP, GROUP,
		                         &tgcreate);
	}
	spool_producer_free(p);
	spool_producer_free(pg);
	spool_producer_free(pp);
	out->raw = ROUNDS * per / traw;
	out->one = ROUNDS * per / tone;
	out->group = (double)ROUNDS * groups * GROUP / tgroup;
	out->pipe = (double)ROUNDS * groups * GROUP / tpipe;
	out->raw_group = (double)ROUNDS * groups * GROUP / trawg;
	out->create_us = tcreate / (ROUNDS * per) * 1e6;
	out->gcreate_us = tgcreate / (ROUNDS * groups * GROUP) * 1e6;
}

/* This process's own peak RSS in KiB.  Not getrusage(): Linux carries
 * ru_maxrss across execve, so a child would report its parent's peak
 * (the producer side, with its staging threads) if that was larger.
 * VmHWM belongs to the memory map the exec created. */
static long peak_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *q = num_after(line, "VmHWM:"), *end;
		int64_t v;

		if (q && num_i64(q + strspn(q, " \t"), &end, &v) == 0 &&
		    strcmp(end, " kB\n") == 0) {
			kib = (long)v;
			break;
		}
	}
	fclose(f);
	return kib;
}

/* The raw loop as a whole program: what a process that only writes N
 * files durably costs, start-up included. */
static int raw_main(const char *root, int n, size_t len, const char *prefix)
{
	struct raw_dirs r;

	raw_open(&r, root, prefix, len);
	for (int i = 0; i < n; i++) {
		int fd = raw_write(&r, i);

		if (fd < 0 || fdatasync(fd) != 0 || close(fd) != 0 || raw_rename(&r, i) != 0 ||
		    fsync(r.new_fd) != 0)
			die("raw program failed", NULL);
	}
	raw_close(&r);
	return 0;
}

/* Run argv to completion with stdout to /dev/null; seconds, or -1. */
static double run_timed(const char *const argv[])
{
	double t0 = now();
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		execv(argv[0], UNCONST(argv));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return now() - t0;
}

/*
 * Whole processes: `spool-demo put ... per` (start-up: load the key, open
 * the producer from its sequence file; then per single commits) against `spool_bench --raw ...
 * per`, taking turns in ROUNDS rounds in the same queue; records/s each, or 0 when spool-demo is
 * missing.
 */
static void process_pair(const char *self, const char *demo, const char *root, const char *keyfile,
                         size_t len, int n, double *commit, double *raw)
{
	int per = n / ROUNDS > 0 ? n / ROUNDS : 1;
	double tc = 0, tr = 0, t;
	char cnt[32], lenb[32], pfx[32];

	*commit = *raw = 0;
	if (access(demo, X_OK) != 0)
		return;
	snprintf(cnt, sizeof(cnt), "%d", per);
	snprintf(lenb, sizeof(lenb), "%zu", len);
	for (int r = 0; r < ROUNDS; r++) {
		const char *put[] = {demo, "put", root, QUEUE, "dem", keyfile, cnt, NULL};
		const char *rawp[] = {self, "--raw", root, cnt, lenb, pfx, NULL};

		snprintf(pfx, sizeof(pfx), "rawp%d", r);
		settle(root);
		if ((t = run_timed(rawp)) < 0)
			die("raw program", NULL);
		tr += t;
		settle(root);
		if ((t = run_timed(put)) < 0)
			die("spool-demo put", NULL);
		tc += t;
	}
	*commit = ROUNDS * per / tc;
	*raw = ROUNDS * per / tr;
}

static int consume_main(const char *root, const char *pubpath)
{
	struct spool_consumer_opts o = {.producer = "scf"};
	struct spool_consumer *c;
	struct sig_key *pub;
	struct spool_item *it;
	struct err e;
	long count = 0;
	double t0;

	if (sig_load_public(pubpath, &pub, &e) != ERR_OK)
		die("public key", &e);
	t0 = now();
	if (spool_consumer_open(&c, root, QUEUE, pub, &o, &e) != ERR_OK)
		die("consumer", &e);
	while (spool_claim(c, &it, &e) == ERR_OK) {
		if (spool_complete(c, it, &e) != ERR_OK)
			die("complete", &e);
		count++;
	}
	t0 = now() - t0;
	spool_consumer_free(c);
	sig_key_free(pub);
	printf("%ld %.3f %ld\n", count, t0, peak_rss_kib());
	return 0;
}

/* Fill root's queue with n records: group commits of 1000. */
static void fill(const char *root, const struct sig_key *key, int n)
{
	struct spool_producer *p;
	struct record *recs[1000];
	struct err e;
	size_t done;

	if (spool_producer_open(&p, root, QUEUE, "scf", key, &e) != ERR_OK)
		die("producer", &e);
	for (int i = 0; i < n;) {
		int k = n - i < 1000 ? n - i : 1000;
		for (int j = 0; j < k; j++)
			recs[j] = tsu_close_record(i + j + 1, PAYLOAD);
		if (spool_commit_group(p, recs, (size_t)k, &done, &e) != ERR_OK)
			die("fill", &e);
		for (int j = 0; j < k; j++)
			record_free(recs[j]);
		i += k;
	}
	spool_producer_free(p);
}

/* Run the consumer in a fresh process so its peak RSS is its own. */
static void consume_child(const char *self, const char *root, const char *pub, long *count,
                          double *secs, long *rss)
{
	char line[256];
	const char *q;
	int64_t c = 0, r = 0;
	int fds[2];
	pid_t pid;
	FILE *f;

	if (pipe(fds) != 0)
		die("pipe", NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(self, self, "--consume", root, pub, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	q = line;
	if (!f || !fgets(line, sizeof(line), f) || num_i64(q, &q, &c) != 0 ||
	    num_field_double(&q, secs) != 0 || num_field_i64(&q, &r) != 0 || !num_field_end(q))
		die("consumer child gave no figures", NULL);
	*count = (long)c;
	*rss = (long)r;
	fclose(f);
	waitpid(pid, NULL, 0);
}

/* (--rss) Run argv with stdout to /dev/null; print its peak RSS in KiB.
 * This program is exec'd fresh for it and stays small, so the child's
 * ru_maxrss (which Linux carries over fork and execve) is its own. */
static int rss_main(char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return 1;
	printf("%ld\n", ru.ru_maxrss);
	return 0;
}

/* Peak RSS of `scfgate spool ls --root root --queue QUEUE [--json]` in
 * MiB, through `spool_bench --rss`; -1 when it failed. */
static double ls_rss(const char *self, const char *scfgate, const char *root, int json)
{
	char line[64];
	long kib = -1;
	int fds[2];
	pid_t pid;
	FILE *f;

	if (pipe(fds) != 0)
		die("pipe", NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(self, self, "--rss", scfgate, "spool", "ls", "--root", root, "--queue", QUEUE,
		      json ? "--json" : "--dir", json ? "--dir" : "all", json ? "all" : NULL,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f && fgets(line, sizeof(line), f))
		kib = strtol(line, NULL, 10);
	if (f)
		fclose(f);
	waitpid(pid, NULL, 0);
	return kib > 0 ? kib / 1024.0 : -1;
}

/*
 * What opening the producer costs with the queue full of its records in
 * done/: from its intact sequence file alone, and reading every
 * sub-directory as it did before (forced by an older-format line, the
 * fall-back for a damaged or missing file).  Taking turns, ROUNDS each;
 * milliseconds per open (open and clean close).
 */
static void open_cost(const char *root, const struct sig_key *key, double *state_ms,
                      double *scan_ms)
{
	char path[4200], line[64];
	struct spool_producer *p;
	struct err e;
	double ts = 0, tf = 0, t0;

	snprintf(path, sizeof(path), "%s/%s/state/scf.seq", root, QUEUE);
	for (int r = 0; r < ROUNDS; r++) {
		t0 = now();
		if (spool_producer_open(&p, root, QUEUE, "scf", key, &e) != ERR_OK)
			die("producer", &e);
		if (spool_producer_scan_reason(p))
			die("open read the queue with an intact sequence file", NULL);
		snprintf(line, sizeof(line), "%020llu\n",
		         (unsigned long long)spool_producer_next_seq(p));
		spool_producer_free(p);
		ts += now() - t0;
		tsu_write(path, line, strlen(line));
		t0 = now();
		if (spool_producer_open(&p, root, QUEUE, "scf", key, &e) != ERR_OK)
			die("producer", &e);
		if (!spool_producer_scan_reason(p))
			die("open did not read the queue with an older-format sequence file", NULL);
		spool_producer_free(p);
		tf += now() - t0;
	}
	*state_ms = ts / ROUNDS * 1e3;
	*scan_ms = tf / ROUNDS * 1e3;
}

int main(int argc, char **argv)
{
	char root[4096], keys[4096], pub[4200], self[4096], demo[4200], privfile[4200],
	    scfgate[4200];
	double pc, pr;
	struct sig_key *key;
	struct commit_rates cr;
	double enc;
	long c1, c2, r1, r2;
	double s1, s2, o1, o2;
	int n, big, small;
	size_t size;
	ssize_t sl;

	if (argc == 4 && strcmp(argv[1], "--consume") == 0)
		return consume_main(argv[2], argv[3]);
	if (argc > 2 && strcmp(argv[1], "--rss") == 0)
		return rss_main(argv + 2);
	if (argc == 6 && strcmp(argv[1], "--raw") == 0)
		return raw_main(argv[2], (int)strtol(argv[3], NULL, 10),
		                (size_t)strtol(argv[4], NULL, 10), argv[5]);
	if (argc < 2) {
		fprintf(stderr, "usage: spool_bench DIR [N]\n");
		return 2;
	}
	n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3072;
	big = getenv("SCFGATE_BENCH_QUEUE") ? (int)strtol(getenv("SCFGATE_BENCH_QUEUE"), NULL, 10)
	                                    : 100000;
	small = big / 10;
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		die("readlink /proc/self/exe", NULL);
	self[sl] = '\0';
	snprintf(keys, sizeof(keys), "%s/keys", argv[1]);
	mkdir(argv[1], 0750);
	mkdir(keys, 0750);
	tsu_keygen(keys, "scf");
	key = tsu_load_priv(keys, "scf");
	snprintf(pub, sizeof(pub), "%s/scf.pub", keys);
	snprintf(privfile, sizeof(privfile), "%s/scf.key", keys);
	if (getenv("SCFGATE_SPOOL_DEMO"))
		snprintf(demo, sizeof(demo), "%s", getenv("SCFGATE_SPOOL_DEMO"));
	else
		snprintf(demo, sizeof(demo), "%.*s/../tools/spool-demo/spool-demo",
		         (int)(strrchr(self, '/') ? strrchr(self, '/') - self : 1), self);
	if (getenv("SCFGATE_BIN"))
		snprintf(scfgate, sizeof(scfgate), "%s", getenv("SCFGATE_BIN"));
	else
		snprintf(scfgate, sizeof(scfgate), "%.*s/../scfgate",
		         (int)(strrchr(self, '/') ? strrchr(self, '/') - self : 1), self);
	size = record_size(key);

	printf("spool: durable commit (%d records, %zu-byte files, %d-byte payload)\n", n, size,
	       PAYLOAD);
	snprintf(root, sizeof(root), "%s/one", argv[1]);
	commit_vs_raw(root, key, size, n, &cr);
	enc = encode_loop(key, n);
	printf("  (raw loops, single and group commits take turns in %d chunks of %d: same disk)\n",
	       ROUNDS, n / ROUNDS > 0 ? n / ROUNDS : 1);
	printf("  raw loop (O_EXCL, write, fdatasync, rename, fsync dir)  %9.0f records/s\n",
	       cr.raw);
	printf("    of which the create (open O_CREAT|O_EXCL)            %9.0f us each, %.0f%%\n",
	       cr.create_us, cr.create_us * cr.raw / 1e4);
	printf("  record_encode alone (XSD check + Ed25519), no I/O      %9.0f records/s\n", enc);
	printf("  ceiling for commit: 1/(1/raw + 1/encode)               %9.0f records/s\n",
	       1.0 / (1.0 / cr.raw + 1.0 / enc));
	printf("    (the raw I/O plus the encoding, one after the other as a single commit does\n"
	       "     them: no single commit exceeds it)\n");
	printf("  spool_commit, one record each                          %9.0f records/s\n",
	       cr.one);
	printf("  ratio commit/raw, in-process                           %9.2f   (goal >= 0.80)\n",
	       cr.one / cr.raw);
	printf("  ratio commit/ceiling                                   %9.2f\n",
	       cr.one / (1.0 / (1.0 / cr.raw + 1.0 / enc)));
	process_pair(self, demo, root, privfile, size, n, &pc, &pr);
	if (pc > 0) {
		printf("  whole processes, %d turns of %d records each (start-up included):\n",
		       ROUNDS, n / ROUNDS > 0 ? n / ROUNDS : 1);
		printf("    raw loop program (spool_bench --raw)                 %9.0f records/s\n",
		       pr);
		printf("    spool-demo put, single commits                       %9.0f records/s\n",
		       pc);
		printf("    ratio commit/raw, whole process                      %9.2f   (goal >= "
		       "0.85)\n",
		       pc / pr);
	} else {
		printf("  whole processes: %s not built, skipped\n", demo);
	}
	printf("  spool_commit_group, %d per group                       %9.0f records/s\n", GROUP,
	       cr.group);
	printf("  ratio group/raw                                        %9.2f\n",
	       cr.group / cr.raw);
	printf("  pipelined groups of %d (start/wait: stage k+1, flush k) %8.0f records/s\n", GROUP,
	       cr.pipe);
	printf("  ratio pipelined group/raw                              %9.2f   (goal >= 5)\n",
	       cr.pipe / cr.raw);
	printf("  raw group loop (%d files written, syncfs, renames, fsync) %7.0f records/s\n",
	       GROUP, cr.raw_group);
	printf("    of which the creates                                 %9.0f us each, %.0f%%\n",
	       cr.gcreate_us, cr.gcreate_us * cr.raw_group / 1e4);
	printf("  ratio raw group loop/raw                               %9.2f\n",
	       cr.raw_group / cr.raw);
	printf("    (one group at a time, not a bound: the pipelined commit overlaps the next\n"
	       "     group's CPU with this group's flush)\n");
	printf("  ratio group commit/raw group loop                      %9.2f\n",
	       cr.group / cr.raw_group);
	printf("  ratio pipelined group/raw group loop                   %9.2f\n",
	       cr.pipe / cr.raw_group);

	printf("spool: claim+complete (verify every signature), consumer peak RSS\n");
	snprintf(root, sizeof(root), "%s/q-small", argv[1]);
	fill(root, key, small);
	consume_child(self, root, pub, &c1, &s1, &r1);
	snprintf(root, sizeof(root), "%s/q-big", argv[1]);
	fill(root, key, big);
	consume_child(self, root, pub, &c2, &s2, &r2);
	printf("  queue of %7ld records: %8.0f records/s, peak RSS %6.1f MiB\n", c1, c1 / s1,
	       r1 / 1024.0);
	printf("  queue of %7ld records: %8.0f records/s, peak RSS %6.1f MiB   (goal < 16)\n", c2,
	       c2 / s2, r2 / 1024.0);
	printf("  RSS ratio big/small queue                              %9.2f   (goal ~1.0)\n",
	       (double)r2 / (double)r1);
	if (access(scfgate, X_OK) == 0) {
		char small_root[4096];
		double js, jb, ts, tb;

		snprintf(small_root, sizeof(small_root), "%s/q-small", argv[1]);
		js = ls_rss(self, scfgate, small_root, 1);
		jb = ls_rss(self, scfgate, root, 1);
		ts = ls_rss(self, scfgate, small_root, 0);
		tb = ls_rss(self, scfgate, root, 0);
		printf("spool: `scfgate spool ls` peak RSS (every record decoded for its kind)\n");
		printf("  --json, queue of %7ld records                       %6.1f MiB\n", c1, js);
		printf("  --json, queue of %7ld records                       %6.1f MiB\n", c2, jb);
		printf("  ratio big/small queue, --json                          %9.2f   (goal "
		       "~1.0)\n",
		       jb / js);
		printf("  text, queue of %7ld records                         %6.1f MiB\n", c1, ts);
		printf("  text, queue of %7ld records                         %6.1f MiB\n", c2, tb);
	} else {
		printf("spool: %s not built, spool ls skipped\n", scfgate);
	}
	open_cost(root, key, &o1, &o2);
	printf("spool: producer open with %ld of its records in done/ (%d turns each)\n", c2,
	       ROUNDS);
	printf("  from the sequence file alone                           %9.2f ms\n", o1);
	printf("  reading every sub-directory (the fall-back; before: always) %4.2f ms\n", o2);
	sig_key_free(key);
	return (c1 == small && c2 == big) ? 0 : 1;
}
