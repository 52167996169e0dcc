/*
 * test_oms_track.c: the OMS half's tracked-request store on real files:
 * entries survive a reopen, the last line wins, a torn journal tail is
 * cut off, a bad line skipped, compaction keeps everything and leaves one generation, a
 * request id replaced or cleared reads back exactly through a compaction
 * and a reopen, and 100,000 entries load fast.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>

#include <cmocka.h>

#include "oms_int.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/oms_track.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct oms_track *open_track(void)
{
	struct oms_track *t = NULL;
	struct err e;

	err_clear(&e);
	assert_int_equal(oms_track_open(&t, dir, &e), ERR_OK);
	return t;
}

static size_t count_files(const char *prefix)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void test_reopen_last_line_wins(void **state)
{
	struct oms_track *t = open_track();
	struct oms_entry *en;

	(void)state;
	en = oms_track_add(t, 42);
	en->oid = 7;
	en->type_id = 122;
	en->flags = OMS_T_INTENT;
	assert_int_equal(oms_track_save(t, en, 1, NULL), ERR_OK);
	en->flags = OMS_T_CREATED | OMS_T_ACKPEND;
	en->ack_seq = 9;
	assert_int_equal(oms_track_set_id(t, en, "SR 12"), ERR_OK);
	assert_int_equal(oms_track_save(t, en, 0, NULL), ERR_OK);
	oms_track_free(t);

	t = open_track();
	assert_int_equal(oms_track_count(t), 1);
	en = oms_track_get(t, 42);
	assert_non_null(en);
	assert_int_equal(en->oid, 7);
	assert_int_equal(en->type_id, 122);
	assert_int_equal(en->flags, OMS_T_CREATED | OMS_T_ACKPEND);
	assert_int_equal(en->ack_seq, 9);
	assert_string_equal(oms_track_id(t, en), "SR_12"); /* one token on disk */
	assert_null(oms_track_get(t, 43));
	assert_int_equal(en->gen, 0);
	/* A re-created request's generation is kept; a line without one
	 * (the first request) reads as 0. */
	en->gen = 2;
	en->oid = 8;
	assert_int_equal(oms_track_save(t, en, 1, NULL), ERR_OK);
	en = oms_track_add(t, 44);
	assert_int_equal(oms_track_save(t, en, 1, NULL), ERR_OK);
	oms_track_free(t);
	t = open_track();
	assert_int_equal(oms_track_get(t, 42)->gen, 2);
	assert_int_equal(oms_track_get(t, 42)->oid, 8);
	assert_int_equal(oms_track_get(t, 44)->gen, 0);
	oms_track_free(t);
}

/* oms_status_read sees what the half saved (snapshot and journal, last
 * line wins) and writes nothing. */
static void test_status_read(void **state)
{
	char root[300], sdir[400];
	struct cfg c;
	struct oms_status os;
	struct oms_track *t;
	struct oms_entry *en;
	struct err e;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(root, sizeof(root), "%s/root", dir);
	assert_int_equal(mkdir(root, 0750), 0);
	c.spool.root = root;
	assert_int_equal(oms_status_read(&c, &os, &e), ERR_OK);
	assert_int_equal(os.present, 0);
	assert_int_equal(os.tracked_open, 0);
	snprintf(sdir, sizeof(sdir), "%s/state", root);
	assert_int_equal(access(sdir, F_OK), -1); /* nothing created */

	assert_int_equal(mkdir(sdir, 0750), 0);
	snprintf(sdir, sizeof(sdir), "%s/state/oms", root);
	assert_int_equal(oms_track_open(&t, sdir, &e), ERR_OK);
	for (int64_t i = 1; i <= 5; i++) {
		en = oms_track_add(t, i);
		en->flags = OMS_T_CREATED;
		assert_int_equal(oms_track_save(t, en, 0, NULL), ERR_OK);
	}
	assert_int_equal(oms_track_compact(t, &e), ERR_OK); /* 5 in the snapshot */
	en = oms_track_add(t, 6);
	en->flags = OMS_T_INTENT; /* not created yet: known, not open */
	assert_int_equal(oms_track_save(t, en, 0, NULL), ERR_OK);
	en = oms_track_get(t, 2);
	en->flags |= OMS_T_CLOSED; /* in the journal: last line wins */
	assert_int_equal(oms_track_save(t, en, 0, NULL), ERR_OK);
	assert_int_equal(oms_status_read(&c, &os, &e), ERR_OK);
	assert_int_equal(os.present, 1);
	assert_int_equal(os.tracked_open, 4);
	assert_int_equal(os.entries, 6);
	assert_int_equal(os.last_ok, 0);
	assert_int_equal(os.alert_at, 0);
	oms_track_free(t);
}

static void test_torn_tail_cut(void **state)
{
	struct oms_track *t = open_track();
	struct oms_entry *en;
	char path[400];
	int fd;

	(void)state;
	en = oms_track_add(t, 5);
	en->oid = 50;
	en->flags = OMS_T_CREATED;
	assert_int_equal(oms_track_save(t, en, 1, NULL), ERR_OK);
	oms_track_free(t);
	/* A crash in the middle of an append. */
	snprintf(path, sizeof(path), "%s/journal.%020d", dir, 1);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "E 6 60 0 2", 10), 10);
	close(fd);

	t = open_track();
	assert_non_null(oms_track_get(t, 5));
	assert_null(oms_track_get(t, 6));
	en = oms_track_add(t, 7);
	en->oid = 70;
	assert_int_equal(oms_track_save(t, en, 1, NULL), ERR_OK);
	oms_track_free(t);
	t = open_track();
	assert_int_equal(oms_track_get(t, 7)->oid, 70);
	assert_int_equal(oms_track_get(t, 5)->oid, 50);
	oms_track_free(t);
}

/* A journal line is read field by field: one with an overflow, a sign
 * where none belongs or something after its last field is skipped as bad
 * (sscanf read each as another value: INT64_MAX, UINT64_MAX, a flags word
 * cut to 32 bits, a generation of 3, an entry without one). */
static void test_bad_lines_skipped(void **state)
{
	static const char lines[] = "E 8 80 0 1 -1 0 -\n"
	                            "E 9 99999999999999999999 0 1 0 0 -\n"
	                            "E 10 100 0 1 0 0 rid-10 3x\n"
	                            "E 11 110 0 1 0 0 rid-11 extra\n"
	                            "E 13 130 0 4294967297 0 0 -\n"
	                            "E +14 140 0 1 0 0 -\n"
	                            "E 12 120 0 1 0 0 rid-12 2\n";
	struct oms_track *t = open_track();
	struct oms_entry *en;
	char path[400];
	int fd;

	(void)state;
	en = oms_track_add(t, 5);
	en->oid = 50;
	assert_int_equal(oms_track_save(t, en, 1, NULL), ERR_OK);
	oms_track_free(t);
	snprintf(path, sizeof(path), "%s/journal.%020d", dir, 1);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, lines, sizeof(lines) - 1), (ssize_t)(sizeof(lines) - 1));
	close(fd);

	t = open_track();
	assert_int_equal(oms_track_get(t, 5)->oid, 50);
	for (int64_t i = 8; i <= 14; i++)
		if (i != 12)
			assert_null(oms_track_get(t, i));
	en = oms_track_get(t, 12);
	assert_non_null(en);
	assert_int_equal(en->oid, 120);
	assert_int_equal(en->gen, 2);
	assert_string_equal(oms_track_id(t, en), "rid-12");
	assert_int_equal(oms_track_count(t), 2);
	oms_track_free(t);
}

/* The ids live in one arena of the store: a replaced id leaves garbage
 * that compaction drops, moving every id; each must still read back. */
static void test_request_ids(void **state)
{
	struct oms_track *t = open_track();
	struct oms_tracked found;
	struct err e;
	char id[32], root[300], link[320];

	(void)state;
	for (int64_t i = 1; i <= 300; i++) {
		struct oms_entry *en = oms_track_add(t, i);
		assert_non_null(en);
		en->flags = OMS_T_CREATED;
		snprintf(id, sizeof(id), "SR-%05d", (int)i);
		assert_int_equal(oms_track_set_id(t, en, i % 3 ? id : NULL), ERR_OK);
		assert_int_equal(oms_track_save(t, en, 0, NULL), ERR_OK);
	}
	/* Issue 2's request re-created many times, issue 4's id cleared. */
	for (int k = 0; k < 1000; k++) {
		snprintf(id, sizeof(id), "RE-%d", k);
		assert_int_equal(oms_track_set_id(t, oms_track_get(t, 2), id), ERR_OK);
		assert_int_equal(oms_track_save(t, oms_track_get(t, 2), 0, NULL), ERR_OK);
	}
	assert_int_equal(oms_track_set_id(t, oms_track_get(t, 4), NULL), ERR_OK);
	assert_int_equal(oms_track_save(t, oms_track_get(t, 4), 0, NULL), ERR_OK);
	for (int round = 0; round < 3; round++) {
		if (round == 1)
			assert_int_equal(oms_track_compact(t, NULL), ERR_OK);
		if (round == 2) {
			oms_track_free(t);
			t = open_track();
		}
		assert_string_equal(oms_track_id(t, oms_track_get(t, 2)), "RE-999");
		assert_null(oms_track_id(t, oms_track_get(t, 4)));
		for (int64_t i = 5; i <= 300; i++) {
			const char *got = oms_track_id(t, oms_track_get(t, i));
			snprintf(id, sizeof(id), "SR-%05d", (int)i);
			if (i % 3)
				assert_string_equal(got, id);
			else
				assert_null(got);
		}
	}
	oms_track_free(t);
	/* `scfgate find` reads the store of <root>/state/oms read-only. */
	snprintf(root, sizeof(root), "%s/root", dir);
	assert_int_equal(mkdir(root, 0750), 0);
	snprintf(link, sizeof(link), "%s/root/state", dir);
	assert_int_equal(mkdir(link, 0750), 0);
	snprintf(link, sizeof(link), "%s/root/state/oms", dir);
	assert_int_equal(symlink(dir, link), 0);
	err_clear(&e);
	assert_int_equal(oms_tracked_find(root, 0, 0, "SR-00299", &found, &e), ERR_OK);
	assert_true(found.found);
	assert_int_equal(found.issue, 299);
	assert_string_equal(found.request_id, "SR-00299");
	assert_int_equal(oms_tracked_find(root, 2, 0, NULL, &found, &e), ERR_OK);
	assert_string_equal(found.request_id, "RE-999");
	assert_int_equal(oms_tracked_find(root, 0, 0, "RE-998", &found, &e), ERR_OK);
	assert_false(found.found);
}

static void test_compaction_and_scale(void **state)
{
	struct oms_track *t = open_track();
	struct timespec a, b;
	double ms;

	(void)state;
	for (int64_t i = 1; i <= 100000; i++) {
		struct oms_entry *en = oms_track_add(t, i * 7);
		assert_non_null(en);
		en->oid = i;
		en->flags = OMS_T_CREATED | (i % 10 == 0 ? OMS_T_CLOSED : 0);
		assert_int_equal(oms_track_save(t, en, 0, NULL), ERR_OK);
	}
	assert_int_equal(oms_track_compact(t, NULL), ERR_OK);
	oms_track_free(t);
	assert_int_equal(count_files("snap."), 1);
	assert_int_equal(count_files("journal."), 1);

	clock_gettime(CLOCK_MONOTONIC, &a);
	t = open_track();
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	print_message("load of 100000 entries: %.1f ms\n", ms);
	assert_int_equal(oms_track_count(t), 100000);
	for (int64_t i = 1; i <= 100000; i += 997) {
		struct oms_entry *en = oms_track_get(t, i * 7);
		assert_non_null(en);
		assert_int_equal(en->oid, i);
		assert_int_equal(!!(en->flags & OMS_T_CLOSED), i % 10 == 0);
	}
	assert_null(oms_track_get(t, 8));
	/* The time is printed, not asserted: oms_bench measures it. */
	oms_track_free(t);
}

/* A stranger planted where the tracked requests are kept: opening the
 * store refuses it at once (alarm: a FIFO opened for reading would block
 * for ever), fatally, naming the file and the way out; nothing is read
 * through a link.  oms_status_read refuses it the same way. */
static void expect_refused(const char *name, const char *what)
{
	struct oms_track *t = NULL;
	struct oms_status os;
	struct cfg c;
	char root[300], *slash;
	struct err e;

	err_clear(&e);
	alarm(10);
	assert_int_equal(oms_track_open(&t, dir, &e), ERR_FATAL);
	alarm(0);
	assert_null(t);
	assert_non_null(strstr(e.msg, name));
	assert_non_null(strstr(e.msg, what));
	assert_non_null(strstr(e.msg, "remove it"));

	/* dir is <root>/state/oms for the status reader */
	memset(&c, 0, sizeof(c));
	snprintf(root, sizeof(root), "%s", dir);
	slash = strstr(root, "/state/oms");
	if (slash) {
		*slash = '\0';
		c.spool.root = root;
		err_clear(&e);
		alarm(10);
		assert_int_not_equal(oms_status_read(&c, &os, &e), ERR_OK);
		alarm(0);
		assert_non_null(strstr(e.msg, name));
	}
}

static void plant_and_refuse(const char *name, int kind)
{
	char path[512], target[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	if (kind == 0) {
		assert_int_equal(mkfifo(path, 0600), 0);
		expect_refused(name, "a FIFO");
	} else if (kind == 1) {
		f = fopen(target, "w");
		assert_non_null(f);
		fprintf(f, "E 7 8 122 3 0 0 SR-9 0\n");
		fclose(f);
		assert_int_equal(symlink(target, path), 0);
		expect_refused(name, "a symbolic link");
		assert_int_equal(unlink(target), 0);
	} else {
		assert_int_equal(mkdir(path, 0700), 0);
		expect_refused(name, "a directory");
	}
	assert_int_equal(kind == 2 ? rmdir(path) : unlink(path), 0);
}

static void test_strangers_refused(void **state)
{
	char store[300];
	struct oms_track *t;
	struct oms_entry *en;

	(void)state;
	/* the store's directory as the half has it: <root>/state/oms */
	snprintf(store, sizeof(store), "%s/state", dir);
	assert_int_equal(mkdir(store, 0700), 0);
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/state/oms");
	t = open_track();
	en = oms_track_add(t, 42);
	en->oid = 7;
	assert_int_equal(oms_track_save(t, en, 1, NULL), ERR_OK);
	assert_int_equal(oms_track_compact(t, NULL), ERR_OK);
	oms_track_free(t);
	/* now snap.2 holds issue 42 and journal.2 is empty */
	snprintf(store, sizeof(store), "%s/journal.00000000000000000002", dir);
	assert_int_equal(unlink(store), 0);
	for (int kind = 0; kind < 3; kind++)
		plant_and_refuse("journal.00000000000000000002", kind);
	/* a newer snapshot generation planted beside the real one */
	for (int kind = 0; kind < 3; kind++)
		plant_and_refuse("snap.00000000000000000009", kind);
	/* with the strangers gone the store opens as it was */
	t = open_track();
	assert_int_equal(oms_track_count(t), 1);
	oms_track_free(t);
	*strstr(dir, "/state/oms") = '\0';
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reopen_last_line_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_lines_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_compaction_and_scale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strangers_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
