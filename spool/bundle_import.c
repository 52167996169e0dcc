/*
 * bundle_import.c: the acting side of bundles: import, prune, archive.
 * Each one reads the bundle completely and verifies it first; only then
 * does a second walk (or the verified table) act, so nothing is committed
 * or removed on the word of an unverified bundle.
 */
#include "bundle_int.h"
#include "spool_clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- import ---------------------------------------------------------------- */

/* Records staged per flush: a few hundred make the flush cost per record
 * small, while a crash or an error leaves at most this many to redo. */
#define IMPORT_BATCH 512

struct import_ctx {
	struct bundle_import_result *res;
	struct spool_importer *im;
	const char *queue;
};

/* Pass 1: a record that would conflict with one already in the queue
 * refuses the whole bundle before anything is committed. */
static enum err_status precheck(const struct bundle_entry *ent, void *vctx, struct err *e)
{
	struct import_ctx *c = vctx;
	const char *belongs = record_kind_queue((enum record_kind)ent->kind);
	enum err_status st;
	int dup;

	/* An ack in outbound (or an issue in inbound) would be applied by
	 * the wrong half: refused with the whole bundle. */
	if (ent->kind && (!belongs || strcmp(belongs, c->queue) != 0))
		return err_set(e, ERR_PERM, "entry '%s': kind %s does not belong in queue %s",
		               ent->name, record_kind_name((enum record_kind)ent->kind), c->queue);
	st = spool_importer_check(c->im, ent->name, ent->data, ent->size, &dup, e);
	if (st != ERR_OK)
		return err_prefix(e, "entry '%s': ", ent->name);
	return ERR_OK;
}

static enum err_status flush_batch(struct import_ctx *c, struct err *e)
{
	size_t done, dups;
	enum err_status st = spool_importer_flush(c->im, &done, &dups, e);

	c->res->imported += done - dups;
	c->res->duplicates += dups;
	return st;
}

/* Pass 2: bundle_read verified these very bytes in pass 1 (same SHA-256),
 * so the importer only stages them; every IMPORT_BATCH they are flushed. */
static enum err_status commit_one(const struct bundle_entry *ent, void *vctx, struct err *e)
{
	struct import_ctx *c = vctx;
	enum err_status st;
	int dup = 0;

	st = spool_importer_add(c->im, ent->name, ent->data, ent->size, &dup, e);
	if (st != ERR_OK)
		return err_prefix(e, "entry '%s': commit: ", ent->name);
	if (dup)
		c->res->duplicates++;
	if (spool_importer_staged(c->im) >= IMPORT_BATCH)
		st = flush_batch(c, e);
	return st;
}

enum err_status bundle_import_fd(int fd, const char *path, const char *root, const char *queue,
                                 const struct sig_key *pub, const struct sig_key *record_pub,
                                 const struct bundle_limits *limits,
                                 struct bundle_import_result *res, struct err *e)
{
	struct bundle_import_result local = {0};
	struct import_ctx c = {res ? res : &local, NULL, queue};
	struct bundle_read_opts o = {pub, record_pub ? record_pub : pub, limits, precheck, &c};
	struct bundle_table t = {0};
	struct bundle_info info;
	enum err_status st;

	if (!pub)
		return err_set(e, ERR_PERM, "import: no public key to verify the bundle with");
	memset(c.res, 0, sizeof(*c.res));
	st = spool_importer_open(&c.im, root, queue, e);
	if (st != ERR_OK)
		goto out;
	st = bundle_read_fd_src(fd, path, &o, NULL, &t, &info, e);
	if (st == ERR_OK && info.kind != BUNDLE_RECORDS)
		st = err_set(e, ERR_PERM, "%s: an acknowledgment bundle, not records (use prune)",
		             path);
	if (st == ERR_OK && strcmp(info.queue, queue) != 0)
		st = err_set(e, ERR_PERM, "%s: a bundle of queue '%s', not '%s'", path, info.queue,
		             queue);
	bundle_info_release(&info);
	if (st != ERR_OK)
		goto out;
	/* Pass 2: the same bytes the first pass verified, committed in order. */
	o.fn = commit_one;
	st = bundle_read_fd_src(fd, path, &o, &t, NULL, NULL, e);
	if (st == ERR_OK)
		st = flush_batch(&c, e);
out:
	spool_importer_free(c.im);
	bundle_table_release(&t);
	return st;
}

enum err_status bundle_import(const char *path, const char *root, const char *queue,
                              const struct sig_key *pub, const struct sig_key *record_pub,
                              const struct bundle_limits *limits, struct bundle_import_result *res,
                              struct err *e)
{
	enum err_status st;
	int fd;

	if (res)
		memset(res, 0, sizeof(*res));
	if (!pub)
		return err_set(e, ERR_PERM, "import: no public key to verify the bundle with");
	st = bundle_open(path, &fd, e);
	if (st != ERR_OK)
		return st;
	st = bundle_import_fd(fd, path, root, queue, pub, record_pub, limits, res, e);
	close(fd);
	return st;
}

/* ---- prune ------------------------------------------------------------------ */

static int range_cmp(const void *a, const void *b)
{
	const struct bundle_range *x = a, *y = b;
	int c = strcmp(x->producer, y->producer);

	if (c)
		return c;
	return x->first < y->first ? -1 : x->first > y->first;
}

struct prune_ctx {
	const struct bundle_info *info;
	char dir[SPOOL_PATH_MAX];
	size_t pruned;
	enum err_status st;
	struct err *e;
};

static int acknowledged(const struct bundle_info *info, const char *producer, uint64_t seq)
{
	size_t lo = 0, hi = info->n_ranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bundle_range *g = &info->ranges[mid];
		int c = strcmp(producer, g->producer);
		if (c == 0 && seq >= g->first && seq <= g->last)
			return 1;
		if (c < 0 || (c == 0 && seq < g->first))
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static int prune_one(const struct spool_entry *ent, void *vctx)
{
	struct prune_ctx *c = vctx;
	char path[SPOOL_PATH_MAX];

	if (ent->seq == 0 || !acknowledged(c->info, ent->producer, ent->seq))
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", c->dir, ent->name) >= (int)sizeof(path))
		return 0;
	/* Only the record file itself: record_parse_file_name accepted the name. */
	if (strcmp(strrchr(ent->name, '.'), ".xml") != 0)
		return 0;
	if (unlink(path) != 0 && errno != ENOENT) {
		c->st = err_errno(c->e, ERR_TEMP, errno, "%s", path);
		return 1;
	}
	c->pruned++;
	return 0;
}

enum err_status bundle_prune(const char *ack_path, const char *root, const char *queue,
                             const struct sig_key *peer_pub, size_t *pruned, struct err *e)
{
	struct bundle_read_opts o = {peer_pub, NULL, NULL, NULL, NULL};
	struct prune_ctx c = {0};
	struct bundle_info info;
	enum err_status st;

	if (pruned)
		*pruned = 0;
	if (!peer_pub)
		return err_set(e, ERR_PERM,
		               "prune: no public key to verify the acknowledgment with");
	st = bundle_read_file(ack_path, &o, &info, e);
	if (st != ERR_OK)
		return st;
	if (info.kind != BUNDLE_ACK) {
		bundle_info_release(&info);
		return err_set(e, ERR_PERM, "%s: not an acknowledgment bundle", ack_path);
	}
	if (strcmp(info.queue, queue) != 0) {
		err_set(e, ERR_PERM, "%s: acknowledges queue '%s', not '%s'", ack_path, info.queue,
		        queue);
		bundle_info_release(&info);
		return ERR_PERM;
	}
	qsort(info.ranges, info.n_ranges, sizeof(*info.ranges), range_cmp);
	c.info = &info;
	c.e = e;
	st = spool_path(c.dir, root, queue, SPOOL_NEW, NULL, e);
	if (st == ERR_OK)
		st = spool_list(root, queue, SPOOL_NEW, prune_one, &c, e);
	if (st == ERR_OK)
		st = c.st;
	if (c.pruned > 0) {
		enum err_status st2 = spool_sync_dir(c.dir, st == ERR_OK ? e : NULL);
		if (st == ERR_OK)
			st = st2;
	}
	if (pruned)
		*pruned = c.pruned;
	bundle_info_release(&info);
	return st;
}

/* ---- retention ---------------------------------------------------------------- */

struct age_ctx {
	time_t cutoff;
	uint64_t first, last;
	size_t n;
};

static int old_enough(const struct spool_entry *ent, void *vctx)
{
	const struct age_ctx *a = vctx;

	return ent->mtime > 0 && ent->mtime < a->cutoff;
}

static int find_old(const struct spool_entry *ent, void *vctx)
{
	struct age_ctx *a = vctx;

	if (ent->seq == 0 || !old_enough(ent, a))
		return 0;
	if (a->n == BUNDLE_MAX_ENTRIES)
		return 1; /* the rest goes into the next run's bundle */
	if (a->n == 0 || ent->seq < a->first)
		a->first = ent->seq;
	if (ent->seq > a->last)
		a->last = ent->seq;
	a->n++;
	return 0;
}

struct same_ctx {
	const char *done_dir;
	struct buf b;
};

/* Read back: each bundle entry must be byte for byte its done/ file. */
static enum err_status same_as_done(const struct bundle_entry *ent, void *vctx, struct err *e)
{
	struct same_ctx *c = vctx;
	char path[SPOOL_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", c->done_dir, ent->name);
	/* The same safe read as every reader of a queue: no link followed, a
	 * FIFO or device never opened. */
	if (spool_read_untrusted(path, RECORD_MAX_BYTES, &c->b, NULL, e) != ERR_OK)
		return err_prefix(e, "archive read-back: ");
	if (c->b.len != ent->size || memcmp(c->b.data, ent->data, ent->size) != 0)
		return err_set(e, ERR_PERM, "archive read-back: entry '%s' differs from %s",
		               ent->name, path);
	return ERR_OK;
}

enum err_status bundle_archive(const char *root, const char *queue, unsigned older_than_days,
                               const char *to_dir, const struct sig_key *key, const char *signer,
                               bundle_progress_fn progress, void *progress_ctx,
                               struct bundle_archive_result *res, struct err *e)
{
	struct bundle_archive_result local;
	struct age_ctx age = {0};
	struct bundle_export_opts xo;
	struct same_ctx same = {0};
	struct bundle_read_opts ro = {key, NULL, NULL, same_as_done, &same};
	struct bundle_table t = {0};
	char done_dir[SPOOL_PATH_MAX], name[RECORD_NAME_MAX], path[SPOOL_PATH_MAX], day[16];
	time_t now = spool_now();
	struct tm tm;
	enum err_status st;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (!key || !sig_key_can_sign(key))
		return err_set(e, ERR_PERM, "archive: the local half's private key is needed");
	age.cutoff = now - (time_t)older_than_days * 86400;
	st = spool_path(done_dir, root, queue, SPOOL_DONE, NULL, e);
	if (st == ERR_OK)
		st = spool_list(root, queue, SPOOL_DONE, find_old, &age, e);
	if (st != ERR_OK || age.n == 0)
		return st;
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	if (snprintf(res->path, sizeof(res->path), "%s/%s-done-%s-%" PRIu64 "-%" PRIu64 ".tar.zst",
	             to_dir, queue, day, age.first, age.last) >= (int)sizeof(res->path))
		return err_set(e, ERR_PERM, "%s: path too long", to_dir);
	/* done/ holds records this half applied, signed by the other half:
	 * decoded and name-checked here (no key of theirs at hand); their
	 * signatures were verified when they were applied. */
	xo = (struct bundle_export_opts){root,     queue,        SPOOL_DONE, age.first,
	                                 age.last, signer,       old_enough, &age,
	                                 progress, progress_ctx, NULL,       0};
	st = bundle_export(&xo, key, res->path, NULL, e);
	if (st != ERR_OK)
		goto out;
	/* Verify what is on disk, not what we meant to write. */
	same.done_dir = done_dir;
	buf_init(&same.b, RECORD_MAX_BYTES);
	st = bundle_read_src(res->path, NULL, 0, &ro, NULL, &t, NULL, e);
	buf_release(&same.b);
	if (st != ERR_OK) {
		err_prefix(e, "archive not verified, done/ left as it was: ");
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		bundle_table_name(&t, i, name);
		if (spool_path(path, root, queue, SPOOL_DONE, name, e) != ERR_OK)
			continue;
		if (unlink(path) != 0 && errno != ENOENT) {
			st = err_errno(e, ERR_TEMP, errno, "%s", path);
			break;
		}
		res->archived++;
	}
	if (res->archived > 0) {
		enum err_status st2 = spool_sync_dir(done_dir, st == ERR_OK ? e : NULL);
		if (st == ERR_OK)
			st = st2;
	}
out:
	bundle_table_release(&t);
	return st;
}
