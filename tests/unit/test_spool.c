/*
 * test_spool.c: the spool queue library on real files, real fsync and
 * real signatures: commit, group commit, ordered claims, every corrupt
 * file case at the head and in the middle of a queue, the grace period,
 * gaps and skip, duplicates and conflicts, operator actions, recovery and
 * import.  The spool's clock is the test's (spool_clock.h): a grace
 * period or a gap alarm passes with tick(), not by sleeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jdoc.h"
#include "num.h"
#include "spool.h"
#include "spool_clock.h"
#include "spool_int.h"
#include "unit/test_spool_util.h"

struct fx {
	char *root;
	char *keys;
	struct sig_key *priv;  /* the producer's key ("a") */
	struct sig_key *pub;   /* its public half */
	struct sig_key *other; /* an unrelated private key ("b") */
};

/* The spool's clock: the real time when a test starts (files written
 * now are not in its future), then only what tick() adds. */
static time_t fake_now;

static time_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void tick(unsigned seconds)
{
	fake_now += seconds;
}

/* Write a file as a transport would at the spool's now: its mtime is
 * the fake clock's second (with the real nanoseconds, so that two
 * writes still differ), else an arrival would look as old as the real
 * clock is behind the fake one. */
static void put(const char *path, const void *data, size_t len)
{
	struct timespec ts[2];

	tsu_write(path, data, len);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec = fake_now;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct spool_clock clk = {fake_clock, NULL};

	fake_now = time(NULL);
	spool_clock_set(&clk);

	f->root = tsu_tmpdir("spool");
	f->keys = tsu_tmpdir("keys");
	tsu_keygen(f->keys, "a");
	tsu_keygen(f->keys, "b");
	f->priv = tsu_load_priv(f->keys, "a");
	f->pub = tsu_load_pub(f->keys, "a");
	f->other = tsu_load_priv(f->keys, "b");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	spool_boot_id_override(NULL);
	spool_clock_set(NULL);
	sig_key_free(f->priv);
	sig_key_free(f->pub);
	sig_key_free(f->other);
	tsu_rmrf(f->root);
	tsu_rmrf(f->keys);
	free(f->root);
	free(f->keys);
	free(f);
	return 0;
}

/* Commit n close records (issue ids from..) with the given key. */
static void commit_n(const char *root, const struct sig_key *key, int from, int n)
{
	struct spool_producer *p;
	struct err e;

	assert_int_equal(spool_producer_open(&p, root, "inbound", "oms", key, &e), ERR_OK);
	for (int i = 0; i < n; i++) {
		struct record *r = tsu_close_record(from + i, 64);
		assert_int_equal(spool_commit(p, r, NULL, &e), ERR_OK);
		record_free(r);
	}
	spool_producer_free(p);
}

static void qpath(char *out, const char *root, enum spool_dir d, uint64_t seq, const char *suffix)
{
	char name[RECORD_NAME_MAX];

	record_file_name(name, seq, "oms");
	snprintf(out, SPOOL_PATH_MAX, "%s/inbound/%s/%s%s", root, spool_dir_name(d), name,
	         suffix ? suffix : "");
}

static struct spool_consumer *consumer(struct fx *f, unsigned grace)
{
	struct spool_consumer_opts o = {.grace_seconds = grace, .gap_alarm_seconds = 1};
	struct spool_consumer *c;
	struct err e;

	assert_int_equal(spool_consumer_open(&c, f->root, "inbound", f->pub, &o, &e), ERR_OK);
	return c;
}

/* Claim and complete everything available; the sequences into seqs. */
static size_t drain(struct spool_consumer *c, uint64_t *seqs, size_t max)
{
	struct spool_item *it;
	struct err e;
	size_t n = 0;

	while (spool_claim(c, &it, &e) == ERR_OK) {
		assert_true(n < max);
		seqs[n++] = it->rec->seq;
		assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	}
	assert_int_equal(e.status, ERR_TEMP);
	return n;
}

static void test_commit_claim_in_order(void **state)
{
	struct fx *f = *state;
	struct spool_consumer *c;
	uint64_t seqs[16];
	char path[SPOOL_PATH_MAX];

	commit_n(f->root, f->priv, 100, 5);
	qpath(path, f->root, SPOOL_NEW, 5, NULL);
	assert_int_equal(access(path, F_OK), 0);
	c = consumer(f, 60);
	assert_int_equal(drain(c, seqs, 16), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(seqs[i], i + 1);
	qpath(path, f->root, SPOOL_DONE, 3, NULL);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/inbound/new", f->root);
	assert_int_equal(tsu_count(path), 0);
	assert_int_equal(spool_consumer_next_seq(c, "oms"), 6);
	spool_consumer_free(c);
}

static void test_group_commit(void **state)
{
	struct fx *f = *state;
	struct record *recs[10];
	struct spool_producer *p;
	struct spool_consumer *c;
	uint64_t seqs[16];
	size_t done = 0;
	struct err e;

	commit_n(f->root, f->priv, 1, 2);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	for (int i = 0; i < 10; i++)
		recs[i] = tsu_close_record(10 + i, 32);
	assert_int_equal(spool_commit_group(p, recs, 10, &done, &e), ERR_OK);
	assert_int_equal(done, 10);
	assert_int_equal(spool_producer_next_seq(p), 13);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(recs[i]->seq, 3 + i);
		record_free(recs[i]);
	}
	spool_producer_free(p);
	c = consumer(f, 60);
	assert_int_equal(drain(c, seqs, 16), 12);
	for (int i = 0; i < 12; i++)
		assert_int_equal(seqs[i], i + 1);
	spool_consumer_free(c);
}

static size_t files_in(const char *root, const char *queue, const char *sub)
{
	char path[SPOOL_PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s/%s", root, queue, sub);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A big group is encoded by several threads (which thread takes which
 * record is not fixed): a record that cannot be encoded fails the whole
 * group with the error of the FIRST bad record, leaves no tmp file and
 * no used number behind. */
static void test_group_commit_bad_record(void **state)
{
	struct fx *f = *state;
	struct record *recs[32];
	struct spool_producer *p;
	struct spool_consumer *c;
	uint64_t seqs[40];
	char want[32];
	size_t done = 7;
	struct err e;

	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	for (int i = 0; i < 32; i++)
		recs[i] = tsu_close_record(100 + i, 64);
	free(recs[20]->key);
	recs[20]->key = NULL;
	free(recs[13]->key);
	recs[13]->key = NULL;
	err_clear(&e);
	assert_int_equal(spool_commit_group(p, recs, 32, &done, &e), ERR_PERM);
	assert_int_equal(done, 0);
	snprintf(want, sizeof(want), "seq %d:", 1 + 13);
	if (!strstr(e.msg, want) || !strstr(e.msg, "no idempotency key"))
		fail_msg("expected the first bad record (%s) in: %s", want, e.msg);
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 0);
	assert_int_equal(files_in(f->root, "inbound", "new"), 0);
	assert_int_equal(spool_producer_next_seq(p), 1);

	recs[13]->key = strdup("fixed-13");
	recs[20]->key = strdup("fixed-20");
	assert_int_equal(spool_commit_group(p, recs, 32, &done, &e), ERR_OK);
	assert_int_equal(done, 32);
	for (int i = 0; i < 32; i++)
		record_free(recs[i]);
	spool_producer_free(p);
	c = consumer(f, 60);
	assert_int_equal(drain(c, seqs, 40), 32);
	for (int i = 0; i < 32; i++)
		assert_int_equal(seqs[i], i + 1);
	spool_consumer_free(c);
}

/* The writer cannot create the tmp file of the group's sixth record
 * (a directory is in its way) while encoders work ahead: the group
 * fails naming that file, the five written before are removed, nothing
 * is visible, no number is used; once the way is clear all ten go in. */
static void test_group_commit_create_fails(void **state)
{
	struct fx *f = *state;
	char name[RECORD_NAME_MAX], blocker[SPOOL_PATH_MAX];
	struct record *recs[10];
	struct spool_producer *p;
	size_t done = 7;
	struct err e;

	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	for (int i = 0; i < 10; i++)
		recs[i] = tsu_close_record(200 + i, 64);
	record_file_name(name, 6, "oms");
	snprintf(blocker, sizeof(blocker), "%s/inbound/tmp/%s.tmp", f->root, name);
	assert_int_equal(mkdir(blocker, 0750), 0);
	err_clear(&e);
	assert_int_equal(spool_commit_group(p, recs, 10, &done, &e), ERR_TEMP);
	assert_int_equal(done, 0);
	if (!strstr(e.msg, blocker) || !strstr(e.msg, "unlink"))
		fail_msg("expected the stale %s that cannot be removed in: %s", blocker, e.msg);
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 1); /* the blocker */
	assert_int_equal(files_in(f->root, "inbound", "new"), 0);
	assert_int_equal(spool_producer_next_seq(p), 1);

	assert_int_equal(rmdir(blocker), 0);
	assert_int_equal(spool_commit_group(p, recs, 10, &done, &e), ERR_OK);
	assert_int_equal(done, 10);
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 0);
	assert_int_equal(files_in(f->root, "inbound", "new"), 10);
	for (int i = 0; i < 10; i++)
		record_free(recs[i]);
	spool_producer_free(p);
}

/* Pipelined groups: numbered in the order started, durable when waited
 * for, at most two outstanding; direct commits wait until none is. */
static void test_pipeline_commit(void **state)
{
	struct fx *f = *state;
	struct record *recs[5][8];
	struct spool_producer *p;
	struct spool_consumer *c;
	uint64_t seqs[64];
	size_t done = 7;
	struct err e;

	commit_n(f->root, f->priv, 1, 2);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_commit_group_wait(p, &done, &e), ERR_PERM);
	assert_int_equal(done, 0);
	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < 8; i++)
			recs[g][i] = tsu_close_record(100 * g + i, 32);
		assert_int_equal(spool_commit_group_start(p, recs[g], 8, &e), ERR_OK);
		assert_int_equal(spool_producer_next_seq(p), 3 + 8 * (g + 1));
		if (g == 1) {
			struct record *extra = tsu_close_record(999, 8);

			assert_int_equal(spool_commit_group_outstanding(p), 2);
			assert_int_equal(spool_commit_group_start(p, &extra, 1, &e), ERR_PERM);
			assert_int_equal(spool_commit(p, extra, NULL, &e), ERR_PERM);
			assert_int_equal(spool_commit_group(p, &extra, 1, &done, &e), ERR_PERM);
			record_free(extra);
		}
		if (spool_commit_group_outstanding(p) == 2) {
			assert_int_equal(spool_commit_group_wait(p, &done, &e), ERR_OK);
			assert_int_equal(done, 8);
		}
	}
	while (spool_commit_group_outstanding(p) > 0) {
		assert_int_equal(spool_commit_group_wait(p, &done, &e), ERR_OK);
		assert_int_equal(done, 8);
	}
	for (int g = 0; g < 5; g++)
		for (int i = 0; i < 8; i++) {
			assert_int_equal(recs[g][i]->seq, 3 + 8 * g + i);
			record_free(recs[g][i]);
		}
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 0);
	assert_int_equal(spool_producer_next_seq(p), 43);
	spool_producer_free(p);
	commit_n(f->root, f->priv, 500, 1);
	c = consumer(f, 60);
	assert_int_equal(drain(c, seqs, 64), 43);
	for (int i = 0; i < 43; i++)
		assert_int_equal(seqs[i], i + 1);
	spool_consumer_free(c);
}

/*
 * The third record of the first group finds its number taken in new/:
 * that group fails after two durable records, and the group started
 * behind it is never published, whichever way the two threads
 * interleave (refused at start, discarded when staged, or reported not
 * committed by its wait).  Only the prefix is committed, nothing is
 * left in tmp/, and once every group is waited for the pipeline goes on
 * after the skipped number.  Run on ten queues to meet more than one
 * interleaving.
 */
static void test_pipeline_failure_stops_later_groups(void **state)
{
	struct fx *f = *state;
	char queue[16], blocker[SPOOL_PATH_MAX], name[RECORD_NAME_MAX];
	struct record *a[6], *b[4];
	struct spool_producer *p;
	size_t done;
	struct err e;

	record_file_name(name, 3, "oms");
	for (int q = 0; q < 10; q++) {
		enum err_status st;

		snprintf(queue, sizeof(queue), "q%d", q);
		assert_int_equal(spool_producer_open(&p, f->root, queue, "oms", f->priv, &e),
		                 ERR_OK);
		snprintf(blocker, sizeof(blocker), "%s/%s/new/%s", f->root, queue, name);
		put(blocker, "someone else's\n", 15);
		for (int i = 0; i < 6; i++)
			a[i] = tsu_close_record(10 + i, 32);
		for (int i = 0; i < 4; i++)
			b[i] = tsu_close_record(20 + i, 32);
		assert_int_equal(spool_commit_group_start(p, a, 6, &e), ERR_OK);
		st = spool_commit_group_start(p, b, 4, &e);
		assert_true(st == ERR_OK || st == ERR_TEMP);
		if (st == ERR_TEMP && !strstr(e.msg, "an earlier group failed"))
			fail_msg("unexpected refusal: %s", e.msg);
		err_clear(&e);
		assert_int_equal(spool_commit_group_wait(p, &done, &e), ERR_TEMP);
		assert_int_equal(done, 2);
		if (!strstr(e.msg, "already exists"))
			fail_msg("expected the taken number in: %s", e.msg);
		if (st == ERR_OK) {
			assert_int_equal(spool_commit_group_wait(p, &done, &e), ERR_TEMP);
			assert_int_equal(done, 0);
			/* a discarded group says which records were not committed */
			assert_string_equal(e.msg, "producer oms: 4 records from seq 7 not "
			                           "committed: an earlier group failed");
		}
		assert_int_equal(spool_commit_group_outstanding(p), 0);
		assert_int_equal(files_in(f->root, queue, "tmp"), 0);
		assert_int_equal(files_in(f->root, queue, "new"), 3); /* 1, 2, blocker */
		assert_int_equal(spool_producer_next_seq(p), 4);
		assert_int_equal(spool_commit_group_start(p, b, 4, &e), ERR_OK);
		assert_int_equal(spool_commit_group_wait(p, &done, &e), ERR_OK);
		assert_int_equal(done, 4);
		assert_int_equal(b[0]->seq, 4);
		assert_int_equal(files_in(f->root, queue, "new"), 7);
		for (int i = 0; i < 6; i++)
			record_free(a[i]);
		for (int i = 0; i < 4; i++)
			record_free(b[i]);
		spool_producer_free(p);
	}
}

/* Freeing a producer with groups outstanding finishes them first. */
static void test_pipeline_free_finishes(void **state)
{
	struct fx *f = *state;
	struct record *recs[2][5];
	struct spool_producer *p;
	struct err e;

	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	for (int g = 0; g < 2; g++) {
		for (int i = 0; i < 5; i++)
			recs[g][i] = tsu_close_record(10 * g + i, 16);
		assert_int_equal(spool_commit_group_start(p, recs[g], 5, &e), ERR_OK);
	}
	spool_producer_free(p);
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 0);
	assert_int_equal(files_in(f->root, "inbound", "new"), 10);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 11);
	spool_producer_free(p);
	for (int g = 0; g < 2; g++)
		for (int i = 0; i < 5; i++)
			record_free(recs[g][i]);
}

/* The transport took every file away and the counter file is gone or
 * behind: numbers must still never be reused. */
static void test_sequence_never_reused(void **state)
{
	struct fx *f = *state;
	struct spool_producer *p;
	char path[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX];
	struct err e;

	commit_n(f->root, f->priv, 1, 3);
	for (int s = 1; s <= 3; s++) {
		qpath(path, f->root, SPOOL_NEW, s, NULL);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 4);
	spool_producer_free(p);
	/* Counter lost, but a later file is still here locally. */
	commit_n(f->root, f->priv, 4, 2);
	snprintf(path, sizeof(path), "%s/inbound/state/oms.seq", f->root);
	assert_int_equal(unlink(path), 0);
	qpath(path, f->root, SPOOL_NEW, 5, NULL);
	qpath(to, f->root, SPOOL_DONE, 5, NULL);
	assert_int_equal(rename(path, to), 0);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 6);
	assert_non_null(strstr(spool_producer_scan_reason(p), "missing"));
	spool_producer_free(p);
}

/* An intact sequence file is enough: open does not read the
 * sub-directories (a record of ours far ahead in done/ goes unseen),
 * except for the record the resumed number names. */
static void test_producer_trusts_intact_state(void **state)
{
	struct fx *f = *state;
	struct spool_producer *p;
	char path[SPOOL_PATH_MAX];
	struct err e;

	commit_n(f->root, f->priv, 1, 3);
	qpath(path, f->root, SPOOL_DONE, 1000, NULL);
	put(path, "x", 1);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 4);
	assert_null(spool_producer_scan_reason(p));
	spool_producer_free(p);
	/* The state is behind the queue (restored from a backup, say): the
	 * record at NEXT is there, so everything is read. */
	qpath(path, f->root, SPOOL_HOLD, 4, NULL);
	put(path, "x", 1);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 1001);
	assert_non_null(strstr(spool_producer_scan_reason(p), "already in the queue"));
	spool_producer_free(p);
}

/* A damaged line (its check does not match) or one of an older version
 * is not trusted alone: open reads the sub-directories and says so. */
static void test_producer_damaged_state_scans(void **state)
{
	struct fx *f = *state;
	struct spool_producer *p;
	char path[SPOOL_PATH_MAX], *text;
	size_t len;
	struct err e;

	commit_n(f->root, f->priv, 1, 3);
	snprintf(path, sizeof(path), "%s/inbound/state/oms.seq", f->root);
	text = tsu_read(path, &len);
	assert_non_null(text);
	assert_int_equal(len, 88);
	/* NEXT 4 -> 2: had the line been trusted, 2 and 3 would be reused. */
	assert_int_equal(text[40], '4');
	text[40] = '2';
	put(path, text, len);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 4);
	assert_non_null(strstr(spool_producer_scan_reason(p), "damaged"));
	spool_producer_free(p);
	/* The clean close wrote an intact line again. */
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_null(spool_producer_scan_reason(p));
	spool_producer_free(p);
	/* The line an older version wrote (no check): read once. */
	put(path, "00000000000000000004 00000000000000000004 -\n", 44);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 4);
	assert_non_null(spool_producer_scan_reason(p));
	spool_producer_free(p);
	free(text);
}

static int list_note_name(const struct spool_entry *ent, void *ctx)
{
	char *out = ctx;

	size_t len = strlen(out), n = strlen(ent->name);

	/* the caller's buffer holds every name */
	memcpy(out + len, ent->name, n);
	memcpy(out + len + n, " ", 2);
	return 0;
}

/* spool_list gives name order whether it computes the names (a dense
 * directory of record names) or sorts them (any other name present). */
static void test_list_name_order(void **state)
{
	struct fx *f = *state;
	static const char *names[] = {
	    "00000000000000000002-oms.xml", "00000000000000000001-oms.xml",
	    "00000000000000000002-om.xml",  "00000000000000000005-oms.xml",
	    "00000000000000000001-om.xml",  "00000000000000000002-om-x.xml",
	};
	const char *want = "00000000000000000001-om.xml 00000000000000000001-oms.xml "
	                   "00000000000000000002-om-x.xml 00000000000000000002-om.xml "
	                   "00000000000000000002-oms.xml 00000000000000000005-oms.xml ";
	char path[SPOOL_PATH_MAX], out[1024];
	struct err e;

	assert_int_equal(spool_queue_init(f->root, "inbound", &e), ERR_OK);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/inbound/done/%s", f->root, names[i]);
		put(path, "x", 1);
	}
	out[0] = '\0';
	assert_int_equal(spool_list(f->root, "inbound", SPOOL_DONE, list_note_name, out, &e),
	                 ERR_OK);
	assert_string_equal(out, want);
	/* A name that is not a record name: read and sorted, same order. */
	snprintf(path, sizeof(path), "%s/inbound/done/00000000000000000003-oms.xml.1", f->root);
	put(path, "x", 1);
	out[0] = '\0';
	assert_int_equal(spool_list(f->root, "inbound", SPOOL_DONE, list_note_name, out, &e),
	                 ERR_OK);
	assert_string_equal(out, "00000000000000000001-om.xml 00000000000000000001-oms.xml "
	                         "00000000000000000002-om-x.xml 00000000000000000002-om.xml "
	                         "00000000000000000002-oms.xml 00000000000000000003-oms.xml.1 "
	                         "00000000000000000005-oms.xml ");
}

/* A crash after the counter covered a number but before the rename: the
 * synced tmp file is finished at the next open, so there is no gap. */
static void test_producer_rolls_forward(void **state)
{
	struct fx *f = *state;
	struct spool_producer *p;
	char path[SPOOL_PATH_MAX], tmp[SPOOL_PATH_MAX], name[RECORD_NAME_MAX];
	struct err e;

	commit_n(f->root, f->priv, 1, 2);
	qpath(path, f->root, SPOOL_NEW, 2, NULL);
	record_file_name(name, 2, "oms");
	snprintf(tmp, sizeof(tmp), "%s/inbound/tmp/%s.tmp", f->root, name);
	assert_int_equal(rename(path, tmp), 0);
	/* And a tmp file the counter never covered: must just go away. */
	record_file_name(name, 9, "oms");
	snprintf(path, sizeof(path), "%s/inbound/tmp/%s.tmp", f->root, name);
	put(path, "<rec", 4);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 3);
	spool_producer_free(p);
	qpath(path, f->root, SPOOL_NEW, 2, NULL);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_not_equal(access(tmp, F_OK), 0);
	snprintf(path, sizeof(path), "%s/inbound/tmp", f->root);
	assert_int_equal(tsu_count(path), 0);
}

enum corruption {
	C_ZERO,
	C_TRUNCATED,
	C_TRAILING,
	C_BAD_XML,
	C_XSD,
	C_BAD_SIG,
	C_WRONG_KEY,
	C_NAME_MISMATCH,
	C_VERSION,
	C_COUNT
};

static const char *corruption_name[C_COUNT] = {
    "zero length",   "truncated", "trailing garbage",  "invalid XML",   "XSD-invalid",
    "bad signature", "wrong key", "seq/name mismatch", "format version"};

static void replace(char *s, const char *from, const char *to)
{
	char *x = strstr(s, from);

	assert_non_null(x);
	assert_int_equal(strlen(from), strlen(to));
	/* a patch inside a string: its NUL stays */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(x, to, strlen(to));
}

/* Make record file seq of f->root bad in the given way. */
static void corrupt(struct fx *f, uint64_t seq, enum corruption how)
{
	char path[SPOOL_PATH_MAX], other[SPOOL_PATH_MAX];
	size_t len;
	char *data;
	char *alt;

	qpath(path, f->root, SPOOL_NEW, seq, NULL);
	data = tsu_read(path, &len);
	assert_non_null(data);
	switch (how) {
	case C_ZERO:
		put(path, "", 0);
		break;
	case C_TRUNCATED:
		put(path, data, len / 2);
		break;
	case C_TRAILING: {
		char *more = malloc(len + 32);
		memcpy(more, data, len);
		/* counted bytes, not a C string */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(more + len, "<junk/>trailing garbage\n", 24);
		put(path, more, len + 24);
		free(more);
		break;
	}
	case C_BAD_XML:
		replace(data, "</oms_status>", "</oms_statux>");
		put(path, data, len);
		break;
	case C_XSD:
		replace(data, "<oid>", "<oiq>");
		replace(data, "</oid>", "</oiq>");
		put(path, data, len);
		break;
	case C_BAD_SIG:
		replace(data, ">Closed<", ">Clos3d<");
		put(path, data, len);
		break;
	case C_WRONG_KEY:
	case C_NAME_MISMATCH: {
		/* The same queue written elsewhere: by another key, or the
		 * file of another sequence put under this name. */
		char *root2 = tsu_tmpdir("spool2");
		commit_n(root2, how == C_WRONG_KEY ? f->other : f->priv, 500, (int)seq + 1);
		qpath(other, root2, SPOOL_NEW, how == C_WRONG_KEY ? seq : seq + 1, NULL);
		alt = tsu_read(other, &len);
		assert_non_null(alt);
		put(path, alt, len);
		free(alt);
		tsu_rmrf(root2);
		free(root2);
		break;
	}
	case C_VERSION:
		replace(data, "format=\"1\"", "format=\"7\"");
		put(path, data, len);
		break;
	default:
		fail();
	}
	free(data);
	/* Past the grace period: a corrupt file, not one still arriving. */
	tsu_age(path, 120);
}

static void corrupt_case(struct fx *f, uint64_t bad, enum corruption how)
{
	char path[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_stats st;
	uint64_t seqs[16];
	size_t n, k = 0;
	struct err e;
	char *why;

	tsu_rmrf(f->root);
	commit_n(f->root, f->priv, 1, 5);
	corrupt(f, bad, how);
	c = consumer(f, 30);
	n = drain(c, seqs, 16);
	print_message("  %-18s at seq %llu: claimed %zu\n", corruption_name[how],
	              (unsigned long long)bad, n);
	assert_int_equal(n, 4);
	for (uint64_t s = 1; s <= 5; s++)
		if (s != bad)
			assert_int_equal(seqs[k++], s);
	qpath(path, f->root, SPOOL_FAILED, bad, NULL);
	assert_int_equal(access(path, F_OK), 0);
	qpath(path, f->root, SPOOL_FAILED, bad, ".why");
	why = tsu_read(path, NULL);
	assert_non_null(why);
	print_message("    %.*s\n", (int)strcspn(why, "\n"), why);
	assert_non_null(strstr(why, "reason: "));
	assert_true(strlen(why) > 30);
	free(why);
	assert_int_equal(spool_stats(f->root, "inbound", 0, &st, &e), ERR_OK);
	assert_int_equal(st.count[SPOOL_FAILED], 1);
	assert_int_equal(st.count[SPOOL_DONE], 4);
	assert_int_equal(st.count[SPOOL_NEW], 0);
	spool_consumer_free(c);
}

static void test_corrupt_files_head_and_middle(void **state)
{
	struct fx *f = *state;

	for (int how = 0; how < C_COUNT; how++) {
		corrupt_case(f, 1, (enum corruption)how);
		corrupt_case(f, 3, (enum corruption)how);
	}
}

/* A file still being written is retried, and applied once complete. */
static void test_grace_period(void **state)
{
	struct fx *f = *state;
	char path[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_item *it;
	struct err e;
	size_t len;
	char *data;

	commit_n(f->root, f->priv, 1, 2);
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	data = tsu_read(path, &len);
	put(path, data, len / 3);
	c = consumer(f, 30);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	assert_non_null(strstr(e.msg, "arriving"));
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	put(path, data, len);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 1);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 2);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	free(data);
	snprintf(path, sizeof(path), "%s/inbound/failed", f->root);
	assert_int_equal(tsu_count(path), 0);
	spool_consumer_free(c);
}

/* A truncated record dated ten years ahead: the grace runs from when the
 * consumer first saw it, not from the sender's mtime (it used to stall
 * the queue for ever), and the unchanged file is parsed once, not on
 * every claim; a rewrite is read again. */
static void test_grace_ignores_future_mtime(void **state)
{
	struct fx *f = *state;
	struct spool_consumer_stats cs;
	char path[SPOOL_PATH_MAX], *why;
	struct spool_consumer *c;
	struct spool_item *it;
	struct err e;
	size_t len;
	char *data;

	commit_n(f->root, f->priv, 1, 2);
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	data = tsu_read(path, &len);
	put(path, data, len / 2);
	tsu_age(path, -10 * 365 * 86400);
	c = consumer(f, 2);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
		assert_non_null(strstr(e.msg, "arriving"));
	}
	spool_consumer_stats(c, &cs);
	assert_int_equal(cs.decodes, 1);
	/* Rewritten (still cut short, another size): read again. */
	put(path, data, len / 3);
	tsu_age(path, -10 * 365 * 86400);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	spool_consumer_stats(c, &cs);
	assert_int_equal(cs.decodes, 2);
	tick(3);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 2);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	spool_consumer_stats(c, &cs);
	assert_int_equal(cs.quarantined, 1);
	qpath(path, f->root, SPOOL_FAILED, 1, ".why");
	why = tsu_read(path, NULL);
	assert_non_null(why);
	assert_non_null(strstr(why, "rejected after the grace period"));
	free(why);
	free(data);
	spool_consumer_free(c);
}

/*
 * A record read ahead (spool_read_ahead) is read, parsed and verified
 * once: its claim takes the verified record while the file is unchanged.
 * One rewritten in place between the read-ahead and the claim (same
 * inode, size and mtime put back: only its ctime tells) is read and
 * verified again, and its altered bytes are not handed out.
 */
static void test_read_ahead_verified_once(void **state)
{
	struct fx *f = *state;
	struct spool_consumer_stats cs;
	char path[SPOOL_PATH_MAX], sha[65], *data, *x;
	struct spool_consumer *c;
	struct spool_item *it;
	struct timespec times[2];
	struct record *r;
	unsigned long v0;
	struct stat sb;
	struct err e;
	size_t len;

	commit_n(f->root, f->priv, 1, 3);
	c = consumer(f, 0);
	v0 = sig_verify_count();
	for (uint64_t seq = 1; seq <= 3; seq++) {
		char name[RECORD_NAME_MAX];
		record_file_name(name, seq, "oms");
		assert_int_equal(spool_read_ahead(c, name, &r, &e), ERR_OK);
		assert_int_equal(r->seq, seq);
		record_free(r);
	}
	/* Asked again, unchanged: the kept record, not another check. */
	{
		char name[RECORD_NAME_MAX];
		record_file_name(name, 1, "oms");
		assert_int_equal(spool_read_ahead(c, name, &r, &e), ERR_OK);
		record_free(r);
	}
	assert_int_equal(sig_verify_count() - v0, 3);
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	data = tsu_read(path, &len);
	sig_sha256_hex(data, len, sha);
	free(data);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 1);
	assert_string_equal(it->sha256, sha);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(sig_verify_count() - v0, 3);

	/* Record 2 altered in place, its size and mtime put back. */
	qpath(path, f->root, SPOOL_NEW, 2, NULL);
	assert_int_equal(stat(path, &sb), 0);
	data = tsu_read(path, &len);
	x = strstr(data, "xxxx");
	assert_non_null(x);
	*x = 'y';
	usleep(20000); /* past the file system's coarse clock tick */
	put(path, data, len);
	times[0] = sb.st_atim;
	times[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	free(data);
	/* Not handed out: verified again, the altered bytes wait out the
	 * grace period like any file that does not verify yet. */
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	if (!strstr(e.msg, "bad signature"))
		fail_msg("claim: %s", e.msg);
	assert_int_equal(sig_verify_count() - v0, 4);
	spool_consumer_stats(c, &cs);
	assert_int_equal(cs.reused, 1);
	assert_int_equal(cs.decodes, 4);
	spool_consumer_free(c);
}

/*
 * spool_peek lists the records behind the claimed one in sequence order
 * without taking them: from the next record when none is claimed, from
 * the one after the claimed record, or from a given sequence; at most
 * max; up to the first sequence missing from new/.  The listed records
 * are the verified ones their claims then take without reading again.
 */
static void test_peek_lists_without_taking(void **state)
{
	struct fx *f = *state;
	struct spool_consumer_stats cs;
	struct spool_peeked pk[8];
	char path[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_item *it;
	struct err e;
	size_t n = 99;

	commit_n(f->root, f->priv, 1, 5);
	c = consumer(f, 0);
	assert_int_equal(spool_peek(c, "oms", 0, pk, 8, &n, &e), ERR_OK);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		char name[RECORD_NAME_MAX];
		record_file_name(name, i + 1, "oms");
		assert_int_equal(pk[i].seq, i + 1);
		assert_string_equal(pk[i].name, name);
		assert_int_equal(pk[i].rec->seq, i + 1);
		spool_peeked_release(&pk[i]);
		assert_null(pk[i].rec);
		/* Still in new/: listed, not taken. */
		qpath(path, f->root, SPOOL_NEW, (int)i + 1, NULL);
		assert_int_equal(access(path, F_OK), 0);
	}
	/* The claim of 1 takes the record listed; then the list starts at 2,
	 * and max bounds it. */
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 1);
	assert_int_equal(spool_peek(c, "oms", 0, pk, 2, &n, &e), ERR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(pk[0].seq, 2);
	assert_int_equal(pk[1].seq, 3);
	spool_peeked_release(&pk[0]);
	spool_peeked_release(&pk[1]);
	/* A gap ends the list: 4 is not there, 5 is not listed. */
	qpath(path, f->root, SPOOL_NEW, 4, NULL);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(spool_peek(c, "oms", 2, pk, 8, &n, &e), ERR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(pk[1].seq, 3);
	spool_peeked_release(&pk[0]);
	spool_peeked_release(&pk[1]);
	assert_int_equal(spool_peek(c, "oms", 5, pk, 8, &n, &e), ERR_OK);
	assert_int_equal(n, 1);
	spool_peeked_release(&pk[0]);
	assert_int_equal(spool_peek(c, "oms", 6, pk, 8, &n, &e), ERR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(spool_peek(c, "other", 0, pk, 8, &n, &e), ERR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 2);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	spool_consumer_stats(c, &cs);
	assert_int_equal(cs.reused, 2);
	spool_consumer_free(c);
}

/*
 * A FIFO under the next record's name that cannot be moved to failed/
 * (failed/ is not a directory here; read-only or full in real life) is
 * recorded for status with its reason, and forgotten once it moved.
 */
static void test_cannot_quarantine_is_reported(void **state)
{
	struct fx *f = *state;
	char path[SPOOL_PATH_MAX], failed[SPOOL_PATH_MAX], aside[SPOOL_PATH_MAX + 8];
	struct spool_consumer *c;
	struct spool_stats ss;
	struct spool_item *it;
	struct err e;

	commit_n(f->root, f->priv, 1, 2);
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	c = consumer(f, 2);
	snprintf(failed, sizeof(failed), "%s/inbound/failed", f->root);
	snprintf(aside, sizeof(aside), "%s.aside", failed);
	assert_int_equal(rename(failed, aside), 0);
	put(failed, "not a directory", 15);
	assert_int_not_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(spool_stats(f->root, "inbound", 0, &ss, &e), ERR_OK);
	assert_int_equal(ss.stuck, 1);
	assert_string_equal(ss.stuck_name[0], "00000000000000000001-oms.xml");
	if (!strstr(ss.stuck_why[0], "a FIFO, not a regular file: never read; cannot be moved "
	                             "to failed/: "))
		fail_msg("why: %s", ss.stuck_why[0]);
	/* failed/ works again: moved, and no longer reported. */
	assert_int_equal(unlink(failed), 0);
	assert_int_equal(rename(aside, failed), 0);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 2);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(spool_stats(f->root, "inbound", 0, &ss, &e), ERR_OK);
	assert_int_equal(ss.stuck, 0);
	spool_consumer_free(c);
}

/* Cut short in transit beyond the grace: quarantined; the whole copy
 * arriving later is applied, not called a conflict. */
static void test_late_complete_copy(void **state)
{
	struct fx *f = *state;
	char path[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_item *it;
	struct err e;
	size_t len;
	char *data;

	commit_n(f->root, f->priv, 1, 2);
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	data = tsu_read(path, &len);
	put(path, data, len / 2);
	tsu_age(path, 600);
	c = consumer(f, 30);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 2);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	qpath(path, f->root, SPOOL_FAILED, 1, NULL);
	assert_int_equal(access(path, F_OK), 0);
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	put(path, data, len);
	free(data);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 1);
	assert_true(it->reinjected);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	spool_consumer_free(c);
}

static void test_gap_and_skip(void **state)
{
	struct fx *f = *state;
	char path[SPOOL_PATH_MAX], stash[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_item *it;
	struct spool_stats st;
	struct spool_gap g;
	struct err e;

	commit_n(f->root, f->priv, 1, 3);
	qpath(path, f->root, SPOOL_NEW, 2, NULL);
	snprintf(stash, sizeof(stash), "%s/stash.xml", f->root);
	assert_int_equal(rename(path, stash), 0);
	c = consumer(f, 30);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 1);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	assert_non_null(strstr(e.msg, "gap"));
	spool_consumer_gap(c, &g);
	assert_true(g.active);
	assert_int_equal(g.seq, 2);
	assert_string_equal(g.producer, "oms");
	assert_false(g.alarmed);
	assert_int_equal(spool_stats(f->root, "inbound", 1, &st, &e), ERR_OK);
	assert_true(st.gap.active);
	assert_int_equal(st.gap.seq, 2);
	tick(2);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	assert_non_null(strstr(e.msg, "ALARM"));
	spool_consumer_gap(c, &g);
	assert_true(g.alarmed);
	/* The operator skips it (a marker the running consumer honours). */
	assert_int_equal(spool_skip(f->root, "inbound", "oms", 2, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 3);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	spool_consumer_gap(c, &g);
	assert_false(g.active);
	/* It arrives late after all: applied, marked out of order. */
	assert_int_equal(rename(stash, path), 0);
	tick(1);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 2);
	assert_true(it->reinjected);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	spool_consumer_free(c);
}

static void test_duplicate_and_conflict(void **state)
{
	struct fx *f = *state;
	char path[SPOOL_PATH_MAX], done[SPOOL_PATH_MAX], other[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_stats st;
	uint64_t seqs[8];
	struct err e;
	char *root2, *data, *why;
	size_t len;

	commit_n(f->root, f->priv, 1, 2);
	c = consumer(f, 30);
	assert_int_equal(drain(c, seqs, 8), 2);
	/* The transport delivers 1 again, byte for byte. */
	qpath(done, f->root, SPOOL_DONE, 1, NULL);
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	data = tsu_read(done, &len);
	put(path, data, len);
	free(data);
	tick(1);
	assert_int_equal(drain(c, seqs, 8), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(other, sizeof(other), "%s/inbound/failed", f->root);
	assert_int_equal(tsu_count(other), 0);
	/* Another record under sequence 2: a conflict. */
	root2 = tsu_tmpdir("spool2");
	commit_n(root2, f->priv, 900, 2);
	qpath(other, root2, SPOOL_NEW, 2, NULL);
	data = tsu_read(other, &len);
	qpath(path, f->root, SPOOL_NEW, 2, NULL);
	put(path, data, len);
	free(data);
	tsu_rmrf(root2);
	free(root2);
	tick(1);
	assert_int_equal(drain(c, seqs, 8), 0);
	qpath(path, f->root, SPOOL_FAILED, 2, ".conflict.why");
	why = tsu_read(path, NULL);
	assert_non_null(why);
	assert_non_null(strstr(why, "conflict"));
	free(why);
	assert_int_equal(spool_stats(f->root, "inbound", 0, &st, &e), ERR_OK);
	assert_int_equal(st.conflicts, 1);
	assert_int_equal(st.count[SPOOL_DONE], 2);
	spool_consumer_free(c);
}

/* A copy of an applied record re-sent and caught half-way: not a conflict
 * while it may still be arriving; completed, it is a duplicate; left cut
 * short past the grace period, it is quarantined as invalid, never as a
 * conflict. */
static void test_resent_copy_judged_before_compared(void **state)
{
	struct fx *f = *state;
	char path[SPOOL_PATH_MAX], done[SPOOL_PATH_MAX], failed[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_stats st;
	uint64_t seqs[8];
	struct err e;
	char *data, *why;
	size_t len;

	commit_n(f->root, f->priv, 1, 2);
	c = consumer(f, 2);
	assert_int_equal(drain(c, seqs, 8), 2);
	qpath(done, f->root, SPOOL_DONE, 1, NULL);
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	snprintf(failed, sizeof(failed), "%s/inbound/failed", f->root);
	data = tsu_read(done, &len);
	/* Half of it: the transport is still writing. */
	put(path, data, len / 2);
	tick(1);
	assert_int_equal(drain(c, seqs, 8), 0);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(tsu_count(failed), 0);
	/* The rest arrives: the same bytes, dropped silently. */
	put(path, data, len);
	tick(1);
	assert_int_equal(drain(c, seqs, 8), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(tsu_count(failed), 0);
	/* Cut short and never completed: invalid after the grace period. */
	put(path, data, len / 2);
	free(data);
	tick(1);
	assert_int_equal(drain(c, seqs, 8), 0);
	assert_int_equal(tsu_count(failed), 0);
	tick(2);
	assert_int_equal(drain(c, seqs, 8), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	qpath(path, f->root, SPOOL_FAILED, 1, ".why");
	why = tsu_read(path, NULL);
	assert_non_null(why);
	assert_non_null(strstr(why, "rejected after the grace period"));
	assert_null(strstr(why, "conflict"));
	free(why);
	assert_int_equal(spool_stats(f->root, "inbound", 0, &st, &e), ERR_OK);
	assert_int_equal(st.conflicts, 0);
	assert_int_equal(st.count[SPOOL_DONE], 2);
	spool_consumer_free(c);
}

/* new/NAME replaced by something that is not a regular file. */
static void plant(const char *path, const char *what, const char *target)
{
	unlink(path);
	if (strcmp(what, "fifo") == 0)
		assert_int_equal(mkfifo(path, 0644), 0);
	else if (strcmp(what, "dir") == 0)
		assert_int_equal(mkdir(path, 0755), 0);
	else if (strcmp(what, "symlink") == 0)
		assert_int_equal(symlink(target, path), 0);
}

static void assert_quarantined_as(struct fx *f, uint64_t seq, const char *what)
{
	char path[SPOOL_PATH_MAX];
	char *why;

	qpath(path, f->root, SPOOL_FAILED, seq, ".why");
	why = tsu_read(path, NULL);
	if (!why)
		fail_msg("seq %llu: no .why in failed/", (unsigned long long)seq);
	if (!strstr(why, what))
		fail_msg("seq %llu: .why does not say %s: %s", (unsigned long long)seq, what, why);
	free(why);
}

/*
 * A FIFO, a directory and symbolic links named like the next records:
 * none is opened or followed (a FIFO would block the consumer for ever,
 * a link would make it read what the link points to), each is
 * quarantined with what it was, and the good records around them flow.
 */
static void test_hostile_entries(void **state)
{
	struct fx *f = *state;
	char path[SPOOL_PATH_MAX], outside[SPOOL_PATH_MAX], canary[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	uint64_t seqs[16];
	char *data;
	size_t len;

	/* Old code blocked for ever on the FIFO: fail fast instead. */
	alarm(60);
	commit_n(f->root, f->priv, 1, 6);
	snprintf(canary, sizeof(canary), "%s/canary.fifo", f->keys);
	assert_int_equal(mkfifo(canary, 0644), 0);
	/* A good record of this producer, kept outside the spool. */
	qpath(path, f->root, SPOOL_NEW, 5, NULL);
	data = tsu_read(path, &len);
	snprintf(outside, sizeof(outside), "%s/record-5.xml", f->keys);
	put(outside, data, len);
	free(data);

	qpath(path, f->root, SPOOL_NEW, 2, NULL);
	plant(path, "fifo", NULL);
	qpath(path, f->root, SPOOL_NEW, 3, NULL);
	plant(path, "dir", NULL);
	qpath(path, f->root, SPOOL_NEW, 4, NULL);
	plant(path, "symlink", canary);
	qpath(path, f->root, SPOOL_NEW, 5, NULL);
	plant(path, "symlink", outside);

	c = consumer(f, 600);
	assert_int_equal(drain(c, seqs, 16), 2);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[1], 6);
	assert_quarantined_as(f, 2, "a FIFO");
	assert_quarantined_as(f, 3, "a directory");
	assert_quarantined_as(f, 4, "a symbolic link");
	assert_quarantined_as(f, 5, "a symbolic link");
	/* The link was moved, not followed: the outside file is untouched
	 * and done/ holds no link. */
	assert_int_equal(access(outside, F_OK), 0);
	qpath(path, f->root, SPOOL_DONE, 5, NULL);
	assert_int_not_equal(access(path, F_OK), 0);

	/* A FIFO under the name of a record already applied: quarantined
	 * too, and the queue is not wedged behind it. */
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	plant(path, "fifo", NULL);
	commit_n(f->root, f->priv, 7, 1);
	assert_int_equal(drain(c, seqs, 16), 1);
	assert_int_equal(seqs[0], 7);
	assert_int_not_equal(access(path, F_OK), 0);
	spool_consumer_free(c);
	alarm(0);
}

struct told {
	int n;
	char name[RECORD_NAME_MAX + 32], failed_name[RECORD_NAME_MAX + 32], queue[32], reason[512];
};

static void tell(void *ctx, const char *queue, const char *name, const char *failed_name,
                 const char *reason)
{
	struct told *t = ctx;

	t->n++;
	snprintf(t->queue, sizeof(t->queue), "%s", queue);
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->failed_name, sizeof(t->failed_name), "%s", failed_name);
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
}

/* A name far beyond the consumer's position is quarantined at once, not
 * waited for (it used to keep a gap alarm ringing about the numbers in
 * between); one within the window is an ordinary gap. */
static void test_far_ahead_quarantined(void **state)
{
	struct fx *f = *state;
	struct told told = {0};
	struct spool_consumer_opts o = {.grace_seconds = 600,
	                                .gap_alarm_seconds = 1,
	                                .max_ahead = 100,
	                                .on_quarantine = tell,
	                                .on_quarantine_ctx = &told};
	char path[SPOOL_PATH_MAX], far[SPOOL_PATH_MAX], near[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_gap g;
	uint64_t seqs[8];
	struct err e;
	char *why;

	commit_n(f->root, f->priv, 1, 4);
	/* 3 and 4 renamed: 4 to just inside the window of the first scan
	 * (position 1), 3 just beyond it. */
	qpath(path, f->root, SPOOL_NEW, 3, NULL);
	qpath(far, f->root, SPOOL_NEW, 1 + 101, NULL);
	assert_int_equal(rename(path, far), 0);
	qpath(path, f->root, SPOOL_NEW, 4, NULL);
	qpath(near, f->root, SPOOL_NEW, 1 + 100, NULL);
	assert_int_equal(rename(path, near), 0);
	assert_int_equal(spool_consumer_open(&c, f->root, "inbound", f->pub, &o, &e), ERR_OK);
	assert_int_equal(drain(c, seqs, 8), 2);
	qpath(path, f->root, SPOOL_FAILED, 1 + 101, ".why");
	why = tsu_read(path, NULL);
	assert_non_null(why);
	assert_non_null(strstr(why, "sequence 102 is implausibly far ahead of the expected 1"));
	free(why);
	/* the half is told, to log and count it */
	assert_int_equal(told.n, 1);
	assert_string_equal(told.queue, "inbound");
	assert_string_equal(told.name, "00000000000000000102-oms.xml");
	assert_string_equal(told.failed_name, "00000000000000000102-oms.xml");
	assert_non_null(strstr(told.reason, "implausibly far ahead"));
	assert_int_equal(access(near, F_OK), 0); /* within the window: waited for */
	spool_consumer_gap(c, &g);
	assert_true(g.active);
	assert_int_equal(g.seq, 3);
	spool_consumer_free(c);
}

static void test_hold_release_fail_retry(void **state)
{
	struct fx *f = *state;
	char name2[RECORD_NAME_MAX], path[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_item *it;
	struct spool_why why = {.reason = "Cartegraph said no",
	                        .http_status = 422,
	                        .body = "{\"Message\":\"bad field\"}"};
	struct buf b = BUF_INIT_CAP(1 << 20);
	struct err e;
	char *text;

	commit_n(f->root, f->priv, 1, 4);
	record_file_name(name2, 2, "oms");
	assert_int_equal(spool_hold(f->root, "inbound", name2, &e), ERR_OK);
	assert_int_equal(spool_hold(f->root, "inbound", name2, &e), ERR_PERM);
	c = consumer(f, 30);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 1);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	/* Held: passed over, the queue flows. */
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 3);
	/* A permanent failure with its HTTP story. */
	assert_int_equal(spool_fail(c, it, &why, &e), ERR_OK);
	qpath(path, f->root, SPOOL_FAILED, 3, ".why");
	text = tsu_read(path, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "reason: Cartegraph said no"));
	assert_non_null(strstr(text, "http_status: 422"));
	assert_non_null(strstr(text, "bad field"));
	free(text);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 4);
	/* Temporary trouble: put back, the same record comes again. */
	assert_int_equal(spool_defer(c, it, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 4);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	/* Release and retry re-inject while the consumer runs. */
	assert_int_equal(spool_release(f->root, "inbound", name2, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 2);
	assert_true(it->reinjected);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	record_file_name(name2, 3, "oms");
	assert_int_equal(spool_read_why(f->root, "inbound", SPOOL_FAILED, name2, &b, &e), ERR_OK);
	assert_non_null(strstr(buf_str(&b), "422"));
	assert_int_equal(spool_retry(f->root, "inbound", name2, &e), ERR_OK);
	assert_int_equal(spool_retry(f->root, "inbound", name2, &e), ERR_PERM);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 3);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	qpath(path, f->root, SPOOL_FAILED, 3, ".why");
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/inbound/done", f->root);
	assert_int_equal(tsu_count(path), 4);
	buf_release(&b);
	spool_consumer_free(c);
}

/* Re-injected records are claimed in sequence order, whatever order
 * they were released or retried in and whatever order new/ lists them
 * in; more of them than one scan remembers (256) still come out lowest
 * first. */
static void test_reinjected_in_sequence_order(void **state)
{
	struct fx *f = *state;
	enum { N = 300 };
	char name[RECORD_NAME_MAX];
	struct spool_consumer *c;
	struct spool_item *it;
	uint64_t last = 0;
	struct err e;
	size_t n = 0;

	commit_n(f->root, f->priv, 1, N);
	c = consumer(f, 30);
	/* Every record set aside: odd ones failed, even ones held. */
	while (spool_claim(c, &it, &e) == ERR_OK) {
		struct spool_why why = {.reason = "not now"};
		if (it->rec->seq % 2)
			assert_int_equal(spool_fail(c, it, &why, &e), ERR_OK);
		else
			assert_int_equal(spool_hold_claimed(c, it, &why, &e), ERR_OK);
	}
	/* Put back from the top down, a stride apart (every order of
	 * creation in new/ at once). */
	for (int k = 0; k < 7; k++)
		for (int s = N - k; s >= 1; s -= 7) {
			record_file_name(name, (uint64_t)s, "oms");
			if (s % 2)
				assert_int_equal(spool_retry(f->root, "inbound", name, &e), ERR_OK);
			else
				assert_int_equal(spool_release(f->root, "inbound", name, &e),
				                 ERR_OK);
		}
	while (spool_claim(c, &it, &e) == ERR_OK) {
		assert_true(it->reinjected);
		assert_true(it->rec->seq > last);
		last = it->rec->seq;
		n++;
		assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	}
	assert_int_equal(n, N);
	spool_consumer_free(c);
}

/* A failed record dismissed: refused without a reason, for a name not in
 * failed/ or not as failed/ spells it; then kept in dismissed/ with the
 * note; the consumer neither applies a copy that arrives again nor waits
 * for its sequence; a producer never reuses its number. */
static void test_dismiss(void **state)
{
	struct fx *f = *state;
	char name[RECORD_NAME_MAX], path[SPOOL_PATH_MAX], kept[RECORD_NAME_MAX + 32];
	struct spool_why why = {.reason = "Cartegraph said no", .http_status = 400};
	struct spool_consumer *c;
	struct spool_stats st;
	struct spool_item *it;
	size_t len;
	struct err e;
	char *text, *copy;

	commit_n(f->root, f->priv, 1, 2);
	record_file_name(name, 1, "oms");
	c = consumer(f, 30);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(spool_fail(c, it, &why, &e), ERR_OK);
	qpath(path, f->root, SPOOL_FAILED, 1, NULL);
	copy = tsu_read(path, &len);
	assert_non_null(copy);
	assert_int_equal(spool_dismiss(f->root, "inbound", name, "ops", "", NULL, &e), ERR_PERM);
	assert_int_equal(spool_dismiss(f->root, "inbound", name, "ops", " \t", NULL, &e), ERR_PERM);
	record_file_name(path, 2, "oms");
	assert_int_equal(spool_dismiss(f->root, "inbound", path, "ops", "x", NULL, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "not in failed/"));
	assert_int_equal(spool_dismiss(f->root, "inbound", "1-oms.xml", "ops", "x", NULL, &e),
	                 ERR_PERM);
	snprintf(path, sizeof(path), "%s.old", name);
	assert_int_equal(spool_dismiss(f->root, "inbound", path, "ops", "x", NULL, &e), ERR_PERM);
	assert_int_equal(
	    spool_dismiss(f->root, "inbound", name, "ops", "a duplicate\nof another", kept, &e),
	    ERR_OK);
	assert_string_equal(kept, name);
	qpath(path, f->root, SPOOL_DISMISSED, 1, ".why");
	text = tsu_read(path, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "reason: dismissed by ops: a duplicate?of another\n"));
	assert_non_null(strstr(text, "dismissed_by: ops\n"));
	assert_non_null(strstr(text, "failed_reason: Cartegraph said no\n"));
	free(text);
	qpath(path, f->root, SPOOL_DISMISSED, 1, ".why.failed");
	assert_int_equal(access(path, F_OK), 0);
	qpath(path, f->root, SPOOL_FAILED, 1, NULL);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(spool_dismiss(f->root, "inbound", name, "ops", "x", NULL, &e), ERR_PERM);
	assert_int_equal(spool_stats(f->root, "inbound", 0, &st, &e), ERR_OK);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	assert_int_equal(st.count[SPOOL_DISMISSED], 1);
	/* The transport brings the same file again: dropped, not applied. */
	qpath(path, f->root, SPOOL_NEW, 1, NULL);
	put(path, copy, len);
	free(copy);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 2);
	assert_false(it->reinjected);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	assert_int_not_equal(access(path, F_OK), 0);
	spool_consumer_free(c);
}

/* The claimed file is gone (someone removed it from cur/) when the
 * consumer fails it: the failure is reported and no .why is left in
 * failed/ describing a record that is not there. */
static void test_fail_vanished_leaves_no_why(void **state)
{
	struct fx *f = *state;
	struct spool_why why = {.reason = "Cartegraph said no"};
	char path[SPOOL_PATH_MAX];
	struct spool_consumer *c;
	struct spool_item *it;
	struct err e;

	commit_n(f->root, f->priv, 1, 2);
	c = consumer(f, 30);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(unlink(it->path), 0);
	assert_int_not_equal(spool_fail(c, it, &why, &e), ERR_OK);
	assert_non_null(strstr(e.msg, "rename"));
	snprintf(path, sizeof(path), "%s/inbound/failed", f->root);
	assert_int_equal(tsu_count(path), 0);
	spool_item_free(it);
	spool_consumer_free(c);
}

static void test_recovery(void **state)
{
	struct fx *f = *state;
	char path[SPOOL_PATH_MAX];
	struct spool_consumer *c, *c2;
	struct spool_item *it;
	struct err e;

	commit_n(f->root, f->priv, 1, 2);
	c = consumer(f, 30);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	/* One consumer per queue. */
	assert_int_equal(spool_consumer_open(&c2, f->root, "inbound", f->pub, NULL, &e), ERR_TEMP);
	qpath(path, f->root, SPOOL_CUR, 1, NULL);
	assert_int_equal(access(path, F_OK), 0);
	/* Crash while claimed. */
	spool_item_free(it);
	spool_consumer_free(c);
	snprintf(path, sizeof(path), "%s/inbound/tmp/stale.tmp", f->root);
	put(path, "x", 1);
	tsu_age(path, 7200);
	c = consumer(f, 30);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 1);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 2);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	spool_consumer_free(c);
}

/* The record files seq 1..n of producer "oms" from a scratch spool. */
static char **records_from(const struct fx *f, const char *root2, int n, size_t *lens)
{
	char **data = calloc((size_t)n, sizeof(*data));
	char path[SPOOL_PATH_MAX];

	commit_n(root2, f->priv, 500, n);
	for (int i = 0; i < n; i++) {
		qpath(path, root2, SPOOL_NEW, (uint64_t)i + 1, NULL);
		data[i] = tsu_read(path, &lens[i]);
		assert_non_null(data[i]);
	}
	return data;
}

/*
 * Staged records are invisible until the flush, which publishes them all;
 * duplicates and conflicts are told at the add, and at the flush for a
 * file that turned up in between; free unlinks what was never flushed.
 */
static void test_importer(void **state)
{
	struct fx *f = *state;
	char *root2 = tsu_tmpdir("spool2"), name[RECORD_NAME_MAX], path[SPOOL_PATH_MAX];
	struct spool_importer *im;
	size_t lens[6], done = 9, dups = 9;
	char **data = records_from(f, root2, 6, lens);
	struct err e;
	int dup = 0;

	assert_int_equal(spool_importer_open(&im, f->root, "inbound", &e), ERR_OK);
	assert_int_equal(spool_importer_flush(im, &done, &dups, &e), ERR_OK);
	assert_int_equal(done, 0);
	/* Only a canonical record name becomes a path. */
	assert_int_equal(spool_importer_add(im, "../x", data[0], lens[0], &dup, &e), ERR_PERM);
	assert_int_equal(spool_importer_add(im, "1-oms.xml", data[0], lens[0], &dup, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "not a record file name"));
	for (int i = 0; i < 3; i++) {
		record_file_name(name, (uint64_t)i + 1, "oms");
		assert_int_equal(spool_importer_add(im, name, data[i], lens[i], &dup, &e), ERR_OK);
		assert_false(dup);
	}
	assert_int_equal(spool_importer_staged(im), 3);
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 3);
	assert_int_equal(files_in(f->root, "inbound", "new"), 0);
	assert_int_equal(spool_importer_flush(im, &done, &dups, &e), ERR_OK);
	assert_int_equal(done, 3);
	assert_int_equal(dups, 0);
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 0);
	assert_int_equal(files_in(f->root, "inbound", "new"), 3);

	/* Already there with the same bytes (in done/ now): a duplicate. */
	qpath(path, f->root, SPOOL_NEW, 2, NULL);
	{
		char to[SPOOL_PATH_MAX];

		qpath(to, f->root, SPOOL_DONE, 2, NULL);
		assert_int_equal(rename(path, to), 0);
	}
	record_file_name(name, 2, "oms");
	assert_int_equal(spool_importer_add(im, name, data[1], lens[1], &dup, &e), ERR_OK);
	assert_true(dup);
	/* The same name with other bytes: a conflict, nothing staged. */
	assert_int_equal(spool_importer_add(im, name, data[3], lens[3], &dup, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "conflict"));
	assert_int_equal(spool_importer_staged(im), 0);

	/* Between add and flush, seq 5 turns up with its own bytes (the
	 * transport was faster) and seq 6 with other bytes. */
	for (int i = 3; i < 6; i++) {
		record_file_name(name, (uint64_t)i + 1, "oms");
		assert_int_equal(spool_importer_add(im, name, data[i], lens[i], &dup, &e), ERR_OK);
	}
	qpath(path, f->root, SPOOL_NEW, 5, NULL);
	put(path, data[4], lens[4]);
	qpath(path, f->root, SPOOL_NEW, 6, NULL);
	put(path, data[0], lens[0]);
	assert_int_equal(spool_importer_flush(im, &done, &dups, &e), ERR_PERM);
	assert_int_equal(done, 2);
	assert_int_equal(dups, 1);
	if (!strstr(e.msg, "conflict") || !strstr(e.msg, "new/"))
		fail_msg("expected the conflict in new/ in: %s", e.msg);
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 0);
	assert_int_equal(files_in(f->root, "inbound", "new"), 5); /* 1 3 4 5 6 */

	/* A file of that name that cannot be read (here a directory) is
	 * neither absent nor a conflict: try again later. */
	qpath(path, f->root, SPOOL_DONE, 8, NULL);
	assert_int_equal(mkdir(path, 0750), 0);
	record_file_name(name, 8, "oms");
	assert_int_equal(spool_importer_check(im, name, data[0], lens[0], &dup, &e), ERR_TEMP);
	assert_non_null(strstr(e.msg, "cannot be read to compare"));
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(spool_importer_check(im, name, data[0], lens[0], &dup, &e), ERR_OK);
	assert_false(dup);
	assert_int_equal(spool_importer_staged(im), 0);

	/* Staged and never flushed: gone with the importer. */
	record_file_name(name, 9, "oms");
	assert_int_equal(spool_importer_add(im, name, data[0], lens[0], &dup, &e), ERR_OK);
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 1);
	spool_importer_free(im);
	assert_int_equal(files_in(f->root, "inbound", "tmp"), 0);
	assert_int_equal(files_in(f->root, "inbound", "new"), 5);
	for (int i = 0; i < 6; i++)
		free(data[i]);
	free(data);
	tsu_rmrf(root2);
	free(root2);
}

static int count_entry(const struct spool_entry *ent, void *ctx)
{
	uint64_t *last = ctx;

	assert_true(ent->seq > *last);
	assert_string_equal(ent->producer, "oms");
	assert_true(ent->size > 0);
	*last = ent->seq;
	return 0;
}

/* A real process commits n records and is killed: no clean close. */
static void commit_then_die(struct fx *f, int n)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct spool_producer *p;
		struct err e;
		if (spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e) != ERR_OK)
			_exit(3);
		for (int i = 0; i < n; i++) {
			struct record *r = tsu_close_record(100 + i, 64);
			if (spool_commit(p, r, NULL, &e) != ERR_OK)
				_exit(4);
			record_free(r);
		}
		raise(SIGKILL);
		_exit(5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* The sequence file's line: RESERVED and NEXT. */
static void seq_file(struct fx *f, uint64_t *reserved, uint64_t *next)
{
	char path[SPOOL_PATH_MAX], *text;
	const char *q;
	uint64_t r = 0, n = 0;

	snprintf(path, sizeof(path), "%s/inbound/state/oms.seq", f->root);
	text = tsu_read(path, NULL);
	assert_non_null(text);
	assert_int_equal(num_u64(text, 10, &q, &r), 0);
	assert_int_equal(num_field_u64(&q, &n), 0);
	assert_true(*q == ' '); /* the boot id and the check follow */
	free(text);
	*reserved = r;
	*next = n;
}

/* What a transport does: take every file of new/ away (to stash/). */
static void transport_takes_all(struct fx *f, int n)
{
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX], name[RECORD_NAME_MAX];

	snprintf(to, sizeof(to), "%s/stash", f->root);
	mkdir(to, 0750);
	for (int s = 1; s <= n; s++) {
		record_file_name(name, (uint64_t)s, "oms");
		qpath(from, f->root, SPOOL_NEW, (uint64_t)s, NULL);
		snprintf(to, sizeof(to), "%s/stash/%s", f->root, name);
		assert_int_equal(rename(from, to), 0);
	}
}

static void transport_brings_back(struct fx *f, int n)
{
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX], name[RECORD_NAME_MAX];

	for (int s = 1; s <= n; s++) {
		record_file_name(name, (uint64_t)s, "oms");
		snprintf(from, sizeof(from), "%s/stash/%s", f->root, name);
		qpath(to, f->root, SPOOL_NEW, (uint64_t)s, NULL);
		assert_int_equal(rename(from, to), 0);
	}
}

/* SIGKILL after three commits, files carried away at once: the unsynced
 * NEXT (same boot: the page cache survived) resumes exactly. */
static void test_resume_after_process_crash(void **state)
{
	struct fx *f = *state;
	struct spool_producer *p;
	struct spool_consumer *c;
	uint64_t reserved, next, seqs[8];
	struct err e;

	commit_then_die(f, 3);
	seq_file(f, &reserved, &next);
	assert_int_equal(next, 4);
	assert_int_equal(reserved, 1 + SPOOL_SEQ_BLOCK); /* not a clean close */
	transport_takes_all(f, 3);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 4);
	spool_producer_free(p);
	transport_brings_back(f, 3);
	commit_n(f->root, f->priv, 7, 2);
	c = consumer(f, 30);
	assert_int_equal(drain(c, seqs, 8), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(seqs[i], i + 1);
	spool_consumer_free(c);
}

/* A clean close gives back the rest of the block: a reboot then resumes
 * exactly, with no gap, even when new/ is empty. */
static void test_clean_close_then_reboot(void **state)
{
	struct fx *f = *state;
	struct spool_producer *p;
	struct spool_consumer *c;
	uint64_t reserved, next, seqs[8];
	struct err e;

	commit_n(f->root, f->priv, 1, 3);
	seq_file(f, &reserved, &next);
	assert_int_equal(reserved, 4);
	assert_int_equal(next, 4);
	transport_takes_all(f, 3);
	spool_boot_id_override("00000000-0000-4000-8000-000000000002");
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 4);
	spool_producer_free(p);
	transport_brings_back(f, 3);
	commit_n(f->root, f->priv, 7, 1);
	c = consumer(f, 30);
	assert_int_equal(drain(c, seqs, 8), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(seqs[i], i + 1);
	spool_consumer_free(c);
}

/* Power loss (another boot id, no clean close): NEXT is not trusted, the
 * durable RESERVED is.  Nothing is reused; the unused rest of the block
 * is a gap the consumer reports and one skip passes. */
static void test_unclean_reboot_gap_skip(void **state)
{
	struct fx *f = *state;
	char path[SPOOL_PATH_MAX];
	struct spool_producer *p;
	struct spool_consumer *c;
	struct spool_item *it;
	struct spool_stats st;
	struct spool_gap g;
	uint64_t reserved, next, seqs[8], first, last;
	struct err e;

	commit_then_die(f, 3);
	seq_file(f, &reserved, &next);
	assert_int_equal(reserved, 1 + SPOOL_SEQ_BLOCK);
	/* What a lost page cache leaves: an older NEXT, the synced block. */
	snprintf(path, sizeof(path), "%s/inbound/state/oms.seq", f->root);
	put(path, "00000000000000000065 00000000000000000002 -\n", 44);
	transport_takes_all(f, 3);
	spool_boot_id_override("00000000-0000-4000-8000-000000000003");
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_next_seq(p), 1 + SPOOL_SEQ_BLOCK);
	spool_producer_free(p);
	transport_brings_back(f, 3);
	commit_n(f->root, f->priv, 7, 2);
	c = consumer(f, 30);
	assert_int_equal(drain(c, seqs, 8), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(seqs[i], i + 1);
	spool_consumer_gap(c, &g);
	assert_true(g.active);
	assert_int_equal(g.seq, 4);
	assert_int_equal(spool_stats(f->root, "inbound", 1, &st, &e), ERR_OK);
	assert_true(st.gap.active);
	assert_int_equal(st.gap.seq, 4);
	/* One operator action passes the whole gap. */
	assert_int_equal(spool_skip_gap(f->root, "inbound", "oms", &first, &last, &e), ERR_OK);
	assert_int_equal(first, 4);
	assert_int_equal(last, SPOOL_SEQ_BLOCK);
	assert_int_equal(drain(c, seqs, 8), 2);
	assert_int_equal(seqs[0], 1 + SPOOL_SEQ_BLOCK);
	assert_int_equal(seqs[1], 2 + SPOOL_SEQ_BLOCK);
	spool_consumer_gap(c, &g);
	assert_false(g.active);
	assert_int_equal(spool_skip_gap(f->root, "inbound", "oms", &first, &last, &e), ERR_TEMP);
	/* Every marker was used up. */
	snprintf(path, sizeof(path), "%s/inbound/state/skip-oms-4", f->root);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/inbound/state/skip-oms-64", f->root);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	spool_consumer_free(c);
	/* Bad ranges are refused. */
	assert_int_equal(spool_skip_range(f->root, "inbound", "oms", 9, 8, &e), ERR_PERM);
	assert_int_equal(spool_skip_range(f->root, "inbound", "oms", 1, 1 + SPOOL_SKIP_MAX, &e),
	                 ERR_PERM);
}

static void test_list_and_locks(void **state)
{
	struct fx *f = *state;
	struct spool_producer *p, *p2;
	uint64_t last = 0;
	struct err e;

	commit_n(f->root, f->priv, 1, 12);
	assert_int_equal(spool_list(f->root, "inbound", SPOOL_NEW, count_entry, &last, &e), ERR_OK);
	assert_int_equal(last, 12);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e), ERR_OK);
	assert_int_equal(spool_producer_open(&p2, f->root, "inbound", "oms", f->priv, &e),
	                 ERR_TEMP);
	spool_producer_free(p);
	assert_int_equal(spool_producer_open(&p2, f->root, "inbound", "Bad/id", f->priv, &e),
	                 ERR_PERM);
	assert_int_equal(spool_producer_open(&p2, f->root, "../x", "oms", f->priv, &e), ERR_PERM);
	assert_int_equal(spool_hold(f->root, "inbound", "../../etc/passwd", &e), ERR_PERM);
}

/* A queue's bookkeeping files in state/ planted by whoever may write the
 * spool: a link where the producer keeps its sequence is never written
 * through, a FIFO as the consumer's lock stops the consumer (ERR_FATAL
 * naming it) instead of serving as a lock, and a FIFO as a consumer
 * position never blocks spool_stats (alarm). */
static void test_state_strangers(void **state)
{
	struct fx *f = *state;
	struct spool_consumer_opts o = {.grace_seconds = 60, .gap_alarm_seconds = 1};
	struct spool_consumer *c = NULL;
	struct spool_producer *p = NULL;
	struct spool_stats st;
	char path[SPOOL_PATH_MAX], victim[SPOOL_PATH_MAX];
	char *text;
	size_t len;
	struct err e;

	commit_n(f->root, f->priv, 100, 2);
	snprintf(victim, sizeof(victim), "%s/victim", f->root);
	tsu_write(victim, "keep\n", 5);
	snprintf(path, sizeof(path), "%s/inbound/state/oms.seq", f->root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(victim, path), 0);
	err_clear(&e);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e),
	                 ERR_FATAL);
	assert_null(p);
	assert_non_null(strstr(e.msg, "oms.seq: a symbolic link"));
	assert_non_null(strstr(e.msg, "remove it"));
	text = tsu_read(victim, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(text, "keep\n", 5);
	free(text);

	snprintf(path, sizeof(path), "%s/inbound/state/consumer.lock", f->root);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	err_clear(&e);
	alarm(10);
	assert_int_equal(spool_consumer_open(&c, f->root, "inbound", f->pub, &o, &e), ERR_FATAL);
	alarm(0);
	assert_null(c);
	assert_non_null(strstr(e.msg, "consumer.lock: a FIFO, not a regular file"));

	snprintf(path, sizeof(path), "%s/inbound/state/" SPOOL_NEXT_PREFIX "oms", f->root);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	err_clear(&e);
	alarm(10);
	assert_int_equal(spool_stats(f->root, "inbound", 1, &st, &e), ERR_OK);
	alarm(0);
	assert_int_equal(st.count[SPOOL_NEW], 2);
	/* ... and is reported, with the link and the FIFO above: status and
	 * `spool stat` name them */
	assert_int_equal(st.state_strangers, 3);
	snprintf(path, sizeof(path), "%s/inbound/state/" SPOOL_GAP_PREFIX "oms", f->root);
	assert_int_equal(symlink(victim, path), 0);
	alarm(10);
	assert_int_equal(spool_stats(f->root, "inbound", 1, &st, &e), ERR_OK);
	alarm(0);
	assert_int_equal(st.state_strangers, 4);
	for (size_t i = 0; i < st.state_strangers; i++) {
		const char *n = st.state_stranger[i];
		enum spool_entry_type t = st.state_stranger_type[i];

		if (strcmp(n, "consumer.lock") == 0 || strcmp(n, SPOOL_NEXT_PREFIX "oms") == 0)
			assert_int_equal(t, SPOOL_ENTRY_FIFO);
		else if (strcmp(n, SPOOL_GAP_PREFIX "oms") == 0 || strcmp(n, "oms.seq") == 0)
			assert_int_equal(t, SPOOL_ENTRY_SYMLINK);
		else
			fail_msg("not a stranger: %s", n);
	}
}

/* A state file's next generation: one above the highest there, through
 * tmp/ (made when missing), the older ones removed, other names kept;
 * spool_read_newest reads what was written last. */
static void test_write_next_generation(void **state)
{
	struct fx *f = *state;
	char dir[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX + 64], got[SPOOL_PATH_MAX + 64];
	enum spool_entry_type type;
	struct buf b;
	struct err e;
	struct stat sb;
	size_t n = 0;
	DIR *dh;
	struct dirent *de;

	snprintf(dir, sizeof(dir), "%s/gen", f->root);
	assert_int_equal(mkdir(dir, 0750), 0);
	err_clear(&e);
	assert_int_equal(spool_write_next(dir, "x.", "one\n", 4, &e), ERR_OK);
	snprintf(path, sizeof(path), "%s/tmp", dir);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	snprintf(path, sizeof(path), "%s/x.00000000000000000009", dir);
	tsu_write(path, "nine\n", 5);
	snprintf(path, sizeof(path), "%s/x.junk", dir);
	tsu_write(path, "junk\n", 5);
	assert_int_equal(spool_write_next(dir, "x.", "ten\n", 4, &e), ERR_OK);
	buf_init(&b, 0);
	assert_int_equal(spool_read_newest(dir, "x.", 1024, &b, got, sizeof(got), &type, &e),
	                 ERR_OK);
	assert_int_equal(type, SPOOL_ENTRY_REGULAR);
	snprintf(path, sizeof(path), "%s/x.00000000000000000010", dir);
	assert_string_equal(got, path);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "ten\n", 4);
	buf_release(&b);
	dh = opendir(dir);
	assert_non_null(dh);
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		assert_true(strcmp(de->d_name, "x.00000000000000000010") == 0 ||
		            strcmp(de->d_name, "x.junk") == 0 || strcmp(de->d_name, "tmp") == 0);
	}
	closedir(dh);
	assert_int_equal(n, 3);

	snprintf(path, sizeof(path), "%s/none/deeper", f->root);
	assert_int_equal(spool_write_next(path, "x.", "a", 1, &e), ERR_TEMP);
	assert_non_null(strstr(e.msg, "none/deeper/tmp"));
}

/* The JSON status --json and spool stat --json give for state/ strangers:
 * nothing without any; the count, then "NAME: WHAT" for the first
 * SPOOL_STATE_STRANGERS_SHOWN, a name's control bytes escaped. */
static void test_state_strangers_json(void **state)
{
	struct spool_stats st;
	struct jdoc d = JDOC_INIT;
	cJSON *o;
	char *text, want[4096];
	size_t used;

	(void)state;
	memset(&st, 0, sizeof(st));
	o = jdoc_root_object(&d);
	spool_stats_json_state_strangers(&d, o, &st);
	text = jdoc_print(&d, 0);
	assert_non_null(text);
	assert_string_equal(text, "{}");
	cJSON_free(text);
	jdoc_release(&d);

	st.state_strangers = SPOOL_STATE_STRANGERS_SHOWN + 2;
	snprintf(st.state_stranger[0], sizeof(st.state_stranger[0]), "next.oms");
	st.state_stranger_type[0] = SPOOL_ENTRY_FIFO;
	snprintf(st.state_stranger[1], sizeof(st.state_stranger[1]), "a\nb\033[2J\\");
	st.state_stranger_type[1] = SPOOL_ENTRY_SYMLINK;
	for (size_t i = 2; i < SPOOL_STATE_STRANGERS_SHOWN; i++) {
		snprintf(st.state_stranger[i], sizeof(st.state_stranger[i]), "d%zu", i);
		st.state_stranger_type[i] = SPOOL_ENTRY_DIR;
	}
	o = jdoc_root_object(&d);
	spool_stats_json_state_strangers(&d, o, &st);
	text = jdoc_print(&d, 0);
	assert_non_null(text);
	used = (size_t)snprintf(want, sizeof(want),
	                        "{\"state_strangers\":%d,\"state_stranger_entries\":[\"next.oms: "
	                        "a FIFO\",\"a\\\\x0ab\\\\x1b[2J\\\\\\\\: a symbolic link\"",
	                        SPOOL_STATE_STRANGERS_SHOWN + 2);
	for (size_t i = 2; i < SPOOL_STATE_STRANGERS_SHOWN; i++)
		used +=
		    (size_t)snprintf(want + used, sizeof(want) - used, ",\"d%zu: a directory\"", i);
	snprintf(want + used, sizeof(want) - used, "]}");
	assert_string_equal(text, want);
	cJSON_free(text);
	jdoc_release(&d);
}

/* A symbolic link where the spool keeps a directory (a queue, its new/,
 * tmp/, state/) is never followed: producer, consumer, importer, stats
 * and the directory sync refuse it (ERR_FATAL naming it and the way
 * out) and nothing lands in its target.  A spool root reached through a
 * link (an operator's choice, from the configuration) still works. */
static void test_queue_dir_links(void **state)
{
	struct fx *f = *state;
	struct spool_consumer_opts o = {.grace_seconds = 60};
	char *elsewhere = tsu_tmpdir("elsewhere");
	char path[SPOOL_PATH_MAX], moved[SPOOL_PATH_MAX], rootlink[SPOOL_PATH_MAX];
	struct spool_importer *im = NULL;
	struct spool_consumer *c = NULL;
	struct spool_producer *p = NULL;
	struct spool_stats st;
	struct record *r;
	struct err e;
	DIR *dh;
	int entries = 0;

	commit_n(f->root, f->priv, 100, 2);
	snprintf(path, sizeof(path), "%s/inbound/new", f->root);
	snprintf(moved, sizeof(moved), "%s/inbound/new.real", f->root);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(symlink(elsewhere, path), 0);
	err_clear(&e);
	assert_int_equal(spool_importer_open(&im, f->root, "inbound", &e), ERR_FATAL);
	assert_null(im);
	assert_non_null(strstr(e.msg, "inbound/new: a symbolic link where the spool keeps a "
	                              "directory (never followed): remove it"));
	err_clear(&e);
	assert_int_equal(spool_producer_open(&p, f->root, "inbound", "oms", f->priv, &e),
	                 ERR_FATAL);
	assert_null(p);
	assert_non_null(strstr(e.msg, "inbound/new: a symbolic link"));
	err_clear(&e);
	assert_int_equal(spool_consumer_open(&c, f->root, "inbound", f->pub, &o, &e), ERR_FATAL);
	assert_null(c);
	assert_non_null(strstr(e.msg, "inbound/new: a symbolic link"));
	err_clear(&e);
	assert_int_equal(spool_stats(f->root, "inbound", 0, &st, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "inbound/new: a symbolic link"));
	assert_int_equal(spool_sync_dir(path, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "inbound/new: a symbolic link"));
	/* nothing was written into the link's target */
	dh = opendir(elsewhere);
	assert_non_null(dh);
	while (readdir(dh) != NULL)
		entries++;
	closedir(dh);
	assert_int_equal(entries, 2);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rename(moved, path), 0);

	/* a link as the queue itself */
	snprintf(path, sizeof(path), "%s/inbound", f->root);
	snprintf(moved, sizeof(moved), "%s/inbound.real", f->root);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(symlink(moved, path), 0);
	err_clear(&e);
	assert_int_equal(spool_stats(f->root, "inbound", 0, &st, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "inbound: a symbolic link where the spool keeps"));
	err_clear(&e);
	assert_int_equal(spool_importer_open(&im, f->root, "inbound", &e), ERR_FATAL);
	assert_null(im);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rename(moved, path), 0);

	/* the root through a link: everything works as before */
	snprintf(rootlink, sizeof(rootlink), "%s.link", f->root);
	unlink(rootlink);
	assert_int_equal(symlink(f->root, rootlink), 0);
	err_clear(&e);
	assert_int_equal(spool_stats(rootlink, "inbound", 0, &st, &e), ERR_OK);
	assert_int_equal(st.count[SPOOL_NEW], 2);
	assert_int_equal(spool_producer_open(&p, rootlink, "inbound", "oms", f->priv, &e), ERR_OK);
	r = tsu_close_record(102, 64);
	assert_int_equal(spool_commit(p, r, NULL, &e), ERR_OK);
	record_free(r);
	spool_producer_free(p);
	assert_int_equal(spool_importer_open(&im, rootlink, "inbound", &e), ERR_OK);
	spool_importer_free(im);
	assert_int_equal(spool_consumer_open(&c, rootlink, "inbound", f->pub, &o, &e), ERR_OK);
	spool_consumer_free(c);
	assert_int_equal(spool_stats(rootlink, "inbound", 0, &st, &e), ERR_OK);
	assert_int_equal(st.count[SPOOL_NEW], 3);
	unlink(rootlink);
	tsu_rmrf(elsewhere);
	free(elsewhere);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commit_claim_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_commit_bad_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_group_commit_create_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_failure_stops_later_groups, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_pipeline_free_finishes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_never_reused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_producer_rolls_forward, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_producer_trusts_intact_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_producer_damaged_state_scans, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_name_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resume_after_process_crash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clean_close_then_reboot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unclean_reboot_gap_skip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_files_head_and_middle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grace_period, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_late_complete_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gap_and_skip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_and_conflict, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resent_copy_judged_before_compared, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_far_ahead_quarantined, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grace_ignores_future_mtime, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_ahead_verified_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peek_lists_without_taking, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cannot_quarantine_is_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_release_fail_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reinjected_in_sequence_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dismiss, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fail_vanished_leaves_no_why, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_importer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_and_locks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_strangers, setup, teardown),
	    cmocka_unit_test(test_state_strangers_json),
	    cmocka_unit_test_setup_teardown(test_write_next_generation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_dir_links, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
