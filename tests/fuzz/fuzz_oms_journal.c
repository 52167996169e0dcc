/*
 * fuzz_oms_journal.c: the OMS half's tracked-request journal, as
 * oms_track_open reads it, on arbitrary bytes.  Whatever it accepts must
 * be consistent (every entry found by its issue id, a positive id, a
 * request id without white space) and must survive a compaction and a
 * reopen unchanged: what the half wrote is what it reads back.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oms_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

static void clear_dir(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char path[512];

	if (!d)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "tmp") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

static void remove_dir(void)
{
	char path[512];

	clear_dir();
	snprintf(path, sizeof(path), "%s/tmp", dir);
	rmdir(path);
	rmdir(dir);
}

static void write_journal(const uint8_t *data, size_t size)
{
	char path[512];
	int fd;

	if (!dir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/fuzz_oms_journal.XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	clear_dir();
	snprintf(path, sizeof(path), "%s/journal.%020d", dir, 1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) != 0)
		abort();
}

static int same_id(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check(struct oms_track *t)
{
	for (size_t i = 0; i < oms_track_count(t); i++) {
		struct oms_entry *en = oms_track_at(t, i);
		const char *id = oms_track_id(t, en);

		if (en->issue <= 0 || oms_track_get(t, en->issue) != en)
			abort();
		if (id && (!id[0] || strpbrk(id, " \t\r\n")))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oms_track *t = NULL, *back = NULL;
	struct err e;
	size_t n;

	write_journal(data, size);
	err_clear(&e);
	if (oms_track_open(&t, dir, &e) != ERR_OK) {
		/* Only memory may fail here: a bad line is skipped, a torn tail cut. */
		if (e.status != ERR_TEMP || strchr(e.msg, '\n'))
			abort();
		return 0;
	}
	check(t);
	n = oms_track_count(t);
	if (oms_track_compact(t, &e) != ERR_OK || oms_track_open(&back, dir, &e) != ERR_OK)
		abort();
	check(back);
	if (oms_track_count(back) != n)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct oms_entry *a = oms_track_at(t, i);
		const struct oms_entry *b = oms_track_get(back, a->issue);

		if (!b || a->oid != b->oid || a->type_id != b->type_id || a->flags != b->flags ||
		    a->ack_seq != b->ack_seq || a->close_seq != b->close_seq ||
		    !same_id(oms_track_id(t, a), oms_track_id(back, b)) ||
		    (a->gen > 1 ? a->gen : 1) != (b->gen > 1 ? b->gen : 1))
			abort();
	}
	oms_track_free(back);
	oms_track_free(t);
	return 0;
}
