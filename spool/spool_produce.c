/*
 * spool_produce.c: the producer side: sequence counter, commit and group
 * commit.  See spool.h for what is guaranteed.
 */
#include "spool_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct spool_producer {
	struct spool_q q;
	char id[RECORD_PRODUCER_MAX + 1];
	const struct sig_key *key;
	int lock_fd;
	int seq_fd;
	uint64_t next;    /* the next sequence to assign */
	uint64_t durable; /* the counter value known to be on stable storage */
	struct buf out;
};

/* Highest sequence of this producer's files in one directory (0: none). */
static uint64_t max_seq_in(const char *dir, const char *producer)
{
	char prod[RECORD_PRODUCER_MAX + 1];
	struct dirent *de;
	uint64_t max = 0, seq;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char name[300];
		char *dot;
		/* failed/ may hold NAME.1 or NAME.conflict-2: strip the tail. */
		snprintf(name, sizeof(name), "%s", de->d_name);
		dot = strstr(name, ".xml");
		if (!dot)
			continue;
		dot[4] = '\0';
		if (record_parse_file_name(name, &seq, prod) == 0 && strcmp(prod, producer) == 0 &&
		    seq > max)
			max = seq;
	}
	closedir(d);
	return max;
}

/*
 * A complete tmp file whose number the counter already covers was synced
 * and counted but not renamed (a crash in between): finish its commit so
 * the crash leaves no gap.  Anything else in tmp/ of ours is unlinked.
 */
static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Our own "<record name>.tmp" files, sorted: zero-padded names sort in
 * sequence order, so a roll forward never shows the consumer a gap. */
static enum err_status own_tmp_files(struct spool_producer *p, char ***out, size_t *n,
                                     struct err *e)
{
	char prod[RECORD_PRODUCER_MAX + 1], name[RECORD_NAME_MAX + 8];
	struct dirent *de;
	size_t alloc = 0;
	uint64_t seq;
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(p->q.dir[SPOOL_TMP]);
	if (!d)
		return err_errno(e, spool_errno_status(errno), errno, "%s", p->q.dir[SPOOL_TMP]);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 5 || len >= sizeof(name) || strcmp(de->d_name + len - 4, ".tmp") != 0)
			continue;
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		if (record_parse_file_name(name, &seq, prod) != 0 || strcmp(prod, p->id) != 0)
			continue;
		if (*n == alloc) {
			char **nv = realloc(*out, (alloc ? alloc * 2 : 16) * sizeof(*nv));
			if (!nv)
				break;
			*out = nv;
			alloc = alloc ? alloc * 2 : 16;
		}
		if (((*out)[*n] = strdup(name)) == NULL)
			break;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), name_cmp);
	return ERR_OK;
}

/*
 * A complete tmp file whose number the counter already covers was synced
 * and counted but not renamed (a crash in between): finish its commit so
 * the crash leaves no gap.  Anything else in tmp/ of ours is unlinked.
 */
static enum err_status roll_forward(struct spool_producer *p, int *renamed, struct err *e)
{
	char prod[RECORD_PRODUCER_MAX + 1], tname[RECORD_NAME_MAX + 8];
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX];
	struct buf b = BUF_INIT_CAP(RECORD_MAX_BYTES);
	enum err_status st;
	char **names;
	size_t n;
	uint64_t seq;

	*renamed = 0;
	st = own_tmp_files(p, &names, &n, e);
	for (size_t i = 0; st == ERR_OK && i < n; i++) {
		struct record *r = NULL;
		int keep = 0, exists = 0;

		snprintf(tname, sizeof(tname), "%s.tmp", names[i]);
		if (record_parse_file_name(names[i], &seq, prod) != 0 ||
		    spool_join(from, p->q.dir[SPOOL_TMP], tname, e) != ERR_OK ||
		    spool_join(to, p->q.dir[SPOOL_NEW], names[i], e) != ERR_OK)
			continue;
		if (seq < p->durable && spool_read_file(from, &b, NULL, NULL) == ERR_OK &&
		    record_decode(b.data, b.len, p->key, &r, NULL) == ERR_OK && r->seq == seq &&
		    strcmp(r->producer, p->id) == 0)
			keep = 1;
		record_free(r);
		if (keep && spool_rename_noreplace(from, to, &exists, NULL) == ERR_OK) {
			*renamed = 1;
			continue;
		}
		if (unlink(from) != 0 && errno != ENOENT)
			st = err_errno(e, ERR_TEMP, errno, "%s: unlink", from);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	buf_release(&b);
	return st;
}

static enum err_status producer_recover(struct spool_producer *p, struct err *e)
{
	uint64_t max = 0;
	int renamed = 0;
	enum err_status st;

	p->durable = spool_counter_read(p->seq_fd);
	st = roll_forward(p, &renamed, e);
	if (st != ERR_OK)
		return st;
	if (renamed && (st = spool_sync_dir(p->q.dir[SPOOL_NEW], e)) != ERR_OK)
		return st;
	for (int d = SPOOL_NEW; d <= SPOOL_HOLD; d++) {
		uint64_t m = max_seq_in(p->q.dir[d], p->id);
		if (m > max)
			max = m;
	}
	p->next = p->durable > max + 1 ? p->durable : max + 1;
	return ERR_OK;
}

enum err_status spool_producer_open(struct spool_producer **out, const char *root,
                                    const char *queue, const char *producer_id,
                                    const struct sig_key *key, struct err *e)
{
	struct spool_producer *p;
	char path[SPOOL_PATH_MAX], fname[RECORD_PRODUCER_MAX + 16];
	enum err_status st;

	*out = NULL;
	if (!record_producer_valid(producer_id))
		return err_set(e, ERR_PERM, "invalid producer id '%s'",
		               producer_id ? producer_id : "");
	if (!key)
		return err_set(e, ERR_PERM, "producer %s: no signing key", producer_id);
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(e, ERR_TEMP, "out of memory");
	p->lock_fd = p->seq_fd = -1;
	p->key = key;
	buf_init(&p->out, RECORD_MAX_BYTES);
	memcpy(p->id, producer_id, strlen(producer_id) + 1);
	st = spool_q_init(&p->q, root, queue, 1, e);
	if (st != ERR_OK)
		goto fail;
	snprintf(fname, sizeof(fname), "%s.lock", producer_id);
	if ((st = spool_join(path, p->q.dir[SPOOL_STATE], fname, e)) != ERR_OK)
		goto fail;
	p->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (p->lock_fd < 0) {
		st = err_errno(e, spool_errno_status(errno), errno, "%s", path);
		goto fail;
	}
	if (flock(p->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		st = err_set(e, ERR_TEMP, "%s: producer %s is already running", path, producer_id);
		goto fail;
	}
	snprintf(fname, sizeof(fname), "%s.seq", producer_id);
	if ((st = spool_join(path, p->q.dir[SPOOL_STATE], fname, e)) != ERR_OK)
		goto fail;
	p->seq_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (p->seq_fd < 0) {
		st = err_errno(e, spool_errno_status(errno), errno, "%s", path);
		goto fail;
	}
	st = producer_recover(p, e);
	if (st != ERR_OK)
		goto fail;
	*out = p;
	return ERR_OK;
fail:
	spool_producer_free(p);
	return st;
}

void spool_producer_free(struct spool_producer *p)
{
	if (!p)
		return;
	if (p->seq_fd >= 0)
		close(p->seq_fd);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	buf_release(&p->out);
	free(p);
}

uint64_t spool_producer_next_seq(const struct spool_producer *p)
{
	return p->next;
}

/* Make the counter cover every number below upto; sync as told. */
static enum err_status counter_cover(struct spool_producer *p, uint64_t upto, int sync,
                                     struct err *e)
{
	if (upto <= p->durable)
		return ERR_OK;
	if (spool_counter_write(p->seq_fd, upto) != 0)
		return err_errno(e, spool_errno_status(errno), errno, "%s: sequence counter",
		                 p->q.dir[SPOOL_STATE]);
	if (sync && fdatasync(p->seq_fd) != 0)
		return err_errno(e, ERR_TEMP, errno, "%s: sequence counter: fdatasync",
		                 p->q.dir[SPOOL_STATE]);
	if (sync)
		p->durable = upto;
	return ERR_OK;
}

/*
 * After a failed commit nothing carries the numbers the counter was just
 * advanced over: put the old value back so a crash before the next
 * commit does not leave a gap the consumer would wait on forever.
 */
static void counter_restore(struct spool_producer *p)
{
	/* Not synced: what matters is that a process that dies now leaves
	 * no gap.  The next commit writes and syncs the counter again. */
	spool_counter_write(p->seq_fd, p->next);
	if (p->next < p->durable)
		p->durable = p->next;
}

/* Encode r as sequence seq and write it, unsynced or synced, to tmp/. */
static enum err_status stage(struct spool_producer *p, struct record *r, uint64_t seq, int sync,
                             char name[RECORD_NAME_MAX], char tmp[SPOOL_PATH_MAX], struct err *e)
{
	char tname[RECORD_NAME_MAX + 4];
	enum err_status st;

	memcpy(r->producer, p->id, strlen(p->id) + 1);
	r->seq = seq;
	buf_reset(&p->out);
	st = record_encode(r, p->key, &p->out, e);
	if (st != ERR_OK)
		return err_prefix(e, "%s seq %llu: ", p->id, (unsigned long long)seq);
	record_file_name(name, seq, p->id);
	snprintf(tname, sizeof(tname), "%s.tmp", name);
	st = spool_join(tmp, p->q.dir[SPOOL_TMP], tname, e);
	if (st != ERR_OK)
		return st;
	/* A leftover of ours (say an earlier commit failed to unlink): we
	 * hold the producer lock, so it is stale. */
	unlink(tmp);
	return spool_write_tmp(tmp, p->out.data, p->out.len, sync, e);
}

static enum err_status publish(struct spool_producer *p, const char *name, const char *tmp,
                               struct err *e)
{
	char dst[SPOOL_PATH_MAX];
	enum err_status st;
	int exists = 0;

	st = spool_join(dst, p->q.dir[SPOOL_NEW], name, e);
	if (st == ERR_OK)
		st = spool_rename_noreplace(tmp, dst, &exists, e);
	if (st != ERR_OK) {
		unlink(tmp);
		if (exists) {
			/* Someone else's file carries our number: never
			 * overwrite it, move past it. */
			p->next++;
			st = err_set(e, ERR_TEMP, "%s: already exists; sequence skipped", dst);
		}
	}
	return st;
}

enum err_status spool_commit(struct spool_producer *p, struct record *r, uint64_t *seq_out,
                             struct err *e)
{
	char name[RECORD_NAME_MAX], tmp[SPOOL_PATH_MAX];
	uint64_t seq = p->next;
	enum err_status st;

	st = stage(p, r, seq, 1, name, tmp, e);
	if (st != ERR_OK)
		return st;
	st = counter_cover(p, seq + 1, 1, e);
	if (st != ERR_OK) {
		unlink(tmp);
		counter_restore(p);
		return st;
	}
	st = publish(p, name, tmp, e);
	if (st != ERR_OK) {
		counter_restore(p);
		return st;
	}
	/* Visible now: the number is spent even if the fsync below fails. */
	p->next = seq + 1;
	st = spool_sync_dir(p->q.dir[SPOOL_NEW], e);
	if (st != ERR_OK)
		return err_prefix(
		    e, "seq %llu visible but maybe not durable: ", (unsigned long long)seq);
	if (seq_out)
		*seq_out = seq;
	return ERR_OK;
}

enum err_status spool_commit_group(struct spool_producer *p, struct record **recs, size_t n,
                                   size_t *n_done, struct err *e)
{
	char(*names)[RECORD_NAME_MAX] = NULL;
	char(*tmps)[SPOOL_PATH_MAX] = NULL;
	uint64_t first = p->next;
	enum err_status st = ERR_OK;
	size_t staged = 0, i;

	*n_done = 0;
	if (n == 0)
		return ERR_OK;
	names = malloc(n * sizeof(*names));
	tmps = malloc(n * sizeof(*tmps));
	if (!names || !tmps) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	for (; staged < n; staged++) {
		st = stage(p, recs[staged], first + staged, 0, names[staged], tmps[staged], e);
		if (st != ERR_OK)
			goto unstage;
	}
	st = counter_cover(p, first + n, 0, e);
	if (st != ERR_OK)
		goto unstage;
	/* One flush for the data of all n files and the counter. */
	if (syncfs(p->seq_fd) != 0) {
		st = err_errno(e, ERR_TEMP, errno, "%s: syncfs", p->q.dir[SPOOL_TMP]);
		goto unstage;
	}
	p->durable = first + n;
	for (i = 0; i < n; i++) {
		st = publish(p, names[i], tmps[i], e);
		if (st != ERR_OK)
			break;
		p->next = first + i + 1;
	}
	for (size_t j = i + 1; j < n; j++)
		unlink(tmps[j]);
	if (st != ERR_OK)
		counter_restore(p);
	if (i > 0) {
		enum err_status s2 = spool_sync_dir(p->q.dir[SPOOL_NEW], st == ERR_OK ? e : NULL);
		if (s2 != ERR_OK) {
			st = s2;
			goto out;
		}
	}
	*n_done = i;
	goto out;
unstage:
	for (i = 0; i < staged; i++)
		unlink(tmps[i]);
	counter_restore(p);
out:
	free(names);
	free(tmps);
	return st;
}
