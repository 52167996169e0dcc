/*
 * spool_import.c: committing record files that someone else signed
 * (bundles), many with one flush (spool_importer).  See spool.h for the
 * contract.
 *
 * An imported record keeps its producer's name and bytes, so nothing is
 * numbered here: the only questions are whether the name is already in
 * the queue (with the same bytes: a duplicate; with others: a conflict)
 * and how to make many files durable without a flush for each.  The
 * importer answers the second as spool_commit_group does: files written
 * to tmp/ unflushed, one syncfs, the renames, one fsync of new/.
 */
#include "spool_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const enum spool_dir present_dirs[] = {SPOOL_NEW, SPOOL_CUR, SPOOL_DONE, SPOOL_FAILED,
                                              SPOOL_HOLD};

/* Is name in the queue already?  ERR_OK with *dup 1 (same bytes) or 0
 * (nowhere); ERR_PERM when a file of that name has other bytes. */
static enum err_status find_present(const struct spool_q *q, const char *name, const void *data,
                                    size_t len, int *dup, struct err *e)
{
	char path[SPOOL_PATH_MAX];
	enum err_status st;

	*dup = 0;
	for (size_t i = 0; i < sizeof(present_dirs) / sizeof(present_dirs[0]); i++) {
		int same;

		st = spool_join(path, q->dir[present_dirs[i]], name, e);
		if (st != ERR_OK)
			return st;
		same = spool_file_holds(path, data, len);
		if (same == 1) {
			*dup = 1;
			return ERR_OK;
		}
		if (same == 0)
			return err_set(e, ERR_PERM, "%s: conflict: %s/%s has other content", name,
			               spool_dir_name(present_dirs[i]), name);
		if (same == -2)
			return err_set(e, ERR_TEMP, "%s: %s/%s cannot be read to compare", name,
			               spool_dir_name(present_dirs[i]), name);
	}
	return ERR_OK;
}

/* "NAME.PID.iN.tmp": never the name of a producer's or of
 * spool_write_atomic's tmp file. */
#define IMPORT_TMP_MAX (RECORD_NAME_MAX + 40)

struct staged {
	char name[RECORD_NAME_MAX];
	char tmp[IMPORT_TMP_MAX];
};

struct spool_importer {
	struct spool_q q;
	int tmp_fd, new_fd;
	struct staged *st;
	size_t n, cap;
	unsigned counter;
};

enum err_status spool_importer_open(struct spool_importer **out, const char *root,
                                    const char *queue, struct err *e)
{
	struct spool_importer *im = calloc(1, sizeof(*im));
	enum err_status st;

	*out = NULL;
	if (!im)
		return err_set(e, ERR_TEMP, "out of memory");
	im->tmp_fd = im->new_fd = -1;
	st = spool_q_init(&im->q, root, queue, 1, e);
	if (st != ERR_OK)
		goto fail;
	/* The records are written and renamed through these descriptors:
	 * never through a link planted as tmp/ or new/. */
	st = spool_open_dir(im->q.dir[SPOOL_TMP], &im->tmp_fd, e);
	if (st == ERR_OK)
		st = spool_open_dir(im->q.dir[SPOOL_NEW], &im->new_fd, e);
	if (st != ERR_OK)
		goto fail;
	*out = im;
	return ERR_OK;
fail:
	spool_importer_free(im);
	return st;
}

enum err_status spool_importer_check(const struct spool_importer *im, const char *name,
                                     const void *data, size_t len, int *dup, struct err *e)
{
	char canon[RECORD_NAME_MAX], producer[RECORD_PRODUCER_MAX + 1];
	uint64_t seq;

	*dup = 0;
	/* The name becomes a path: only a canonical record name will do. */
	if (record_parse_file_name(name, &seq, producer) == 0)
		record_file_name(canon, seq, producer);
	else
		canon[0] = '\0';
	if (strcmp(canon, name) != 0)
		return err_set(e, ERR_PERM, "import: '%s' is not a record file name", name);
	return find_present(&im->q, name, data, len, dup, e);
}

enum err_status spool_importer_add(struct spool_importer *im, const char *name, const void *data,
                                   size_t len, int *dup, struct err *e)
{
	char path[SPOOL_PATH_MAX];
	struct staged *s;
	enum err_status st;

	st = spool_importer_check(im, name, data, len, dup, e);
	if (st != ERR_OK || *dup)
		return st;
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 64;
		struct staged *grown = realloc(im->st, cap * sizeof(*grown));

		if (!grown)
			return err_set(e, ERR_TEMP, "out of memory");
		im->st = grown;
		im->cap = cap;
	}
	s = &im->st[im->n];
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->tmp, sizeof(s->tmp), "%s.%ld.i%u.tmp", name, (long)getpid(), ++im->counter);
	st = spool_join(path, im->q.dir[SPOOL_TMP], s->tmp, e);
	if (st == ERR_OK)
		st = spool_write_tmp(path, data, len, 0, e);
	if (st == ERR_OK)
		im->n++;
	return st;
}

size_t spool_importer_staged(const struct spool_importer *im)
{
	return im->n;
}

/* Unlink the staged files from index i on and forget every one. */
static void unstage_from(struct spool_importer *im, size_t i)
{
	char path[SPOOL_PATH_MAX];

	for (; i < im->n; i++)
		if (spool_join(path, im->q.dir[SPOOL_TMP], im->st[i].tmp, NULL) == ERR_OK)
			unlink(path);
	im->n = 0;
}

/* Rename staged file i into new/.  A file of that name that turned up
 * since the add is a duplicate (*dup) or a conflict. */
static enum err_status publish_one(struct spool_importer *im, size_t i, int *dup, struct err *e)
{
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX];
	enum err_status st;
	int exists = 0, same;

	*dup = 0;
	st = spool_join(from, im->q.dir[SPOOL_TMP], im->st[i].tmp, e);
	if (st == ERR_OK)
		st = spool_join(to, im->q.dir[SPOOL_NEW], im->st[i].name, e);
	if (st == ERR_OK)
		st = spool_rename_noreplace(from, to, &exists, e);
	if (st == ERR_OK || !exists)
		return st;
	same = spool_same_bytes(from, to);
	if (same == 1) {
		unlink(from);
		*dup = 1;
		return ERR_OK;
	}
	if (same == 0)
		return err_set(e, ERR_PERM, "%s: conflict: new/%s has other content",
		               im->st[i].name, im->st[i].name);
	return err_set(e, ERR_TEMP, "%s: appeared in new/ meanwhile and cannot be compared",
	               im->st[i].name);
}

enum err_status spool_importer_flush(struct spool_importer *im, size_t *done, size_t *dups,
                                     struct err *e)
{
	enum err_status st = ERR_OK;
	size_t i = 0;

	*done = *dups = 0;
	if (im->n == 0)
		return ERR_OK;
	/* Never retried: after a failed flush the data may not be on disk
	 * whatever the page cache says, so the files go. */
	if (syncfs(im->tmp_fd) != 0) {
		st = err_errno(e, ERR_TEMP, errno, "%s: syncfs", im->q.dir[SPOOL_TMP]);
		unstage_from(im, 0);
		return st;
	}
	for (; i < im->n; i++) {
		int dup;

		st = publish_one(im, i, &dup, e);
		if (st != ERR_OK)
			break;
		*dups += (size_t)dup;
	}
	*done = i;
	unstage_from(im, i);
	if (i > 0 && fsync(im->new_fd) != 0) {
		enum err_status s2 = err_errno(e, ERR_TEMP, errno,
		                               "%s: fsync: %zu records visible "
		                               "but maybe not durable",
		                               im->q.dir[SPOOL_NEW], i);
		*done = 0;
		*dups = 0;
		return s2;
	}
	return st;
}

void spool_importer_free(struct spool_importer *im)
{
	if (!im)
		return;
	unstage_from(im, 0);
	if (im->tmp_fd >= 0)
		close(im->tmp_fd);
	if (im->new_fd >= 0)
		close(im->new_fd);
	free(im->st);
	free(im);
}
