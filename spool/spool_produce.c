/*
 * spool_produce.c: the producer side: sequence counter, commit and group
 * commit.  See spool.h for what is guaranteed.
 */
#include "spool_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* What state/<producer>.seq says; intact: the line is whole and its
 * check matches (see producer_recover). */
struct seqfile {
	uint64_t reserved;
	uint64_t next;
	char boot[40];
	int intact;
	int empty; /* missing or empty: a producer that never committed here */
};

/* The line: "RESERVED NEXT BOOT_ID CHECK\n", the numbers 20 digits, the
 * boot id padded to 36, CHECK the FNV-1a hash of what comes before its
 * space in 8 hex digits.  SEQ_LINE bytes in all. */
#define SEQ_BODY 78
#define SEQ_LINE (SEQ_BODY + 10)

static uint32_t seq_check(const char *text, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 16777619u;
	return h;
}

static char boot_override[40];
static int boot_overridden;

void spool_boot_id_override(const char *id)
{
	boot_overridden = id != NULL;
	snprintf(boot_override, sizeof(boot_override), "%s", id ? id : "");
}

/* The boot id tells a process crash (page cache intact: the unsynced
 * NEXT is exact) from a reboot (only RESERVED can be trusted). */
static void boot_id(char out[40])
{
	char text[64];
	ssize_t n;
	size_t len = 0;
	int fd;

	out[0] = '\0';
	if (boot_overridden) {
		snprintf(out, 40, "%s", boot_override);
		return;
	}
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	while (n > 0 && len < 39 && len < (size_t)n &&
	       ((text[len] >= '0' && text[len] <= '9') || (text[len] >= 'a' && text[len] <= 'f') ||
	        text[len] == '-'))
		len++;
	memcpy(out, text, len);
	out[len] = '\0';
}

static uint64_t parse_u64(const char **s)
{
	uint64_t v = 0;

	while (**s == ' ')
		(*s)++;
	for (; **s >= '0' && **s <= '9'; (*s)++)
		v = v * 10 + (uint64_t)(**s - '0');
	return v;
}

/* An empty or missing file reads as all zero; the older one-number
 * format (a durable, exact counter) as RESERVED = NEXT.  Older lines
 * without a check, and anything else not exactly our line, read as far
 * as they parse and are not intact. */
static void seqfile_read(int fd, struct seqfile *sf)
{
	char text[128], hex[9];
	const char *s = text;
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	size_t len = 0;

	memset(sf, 0, sizeof(*sf));
	if (n <= 0) {
		sf->empty = 1;
		return;
	}
	text[n] = '\0';
	if (n == SEQ_LINE && text[SEQ_BODY] == ' ' && text[SEQ_LINE - 1] == '\n') {
		snprintf(hex, sizeof(hex), "%08x", (unsigned)seq_check(text, SEQ_BODY));
		sf->intact = memcmp(text + SEQ_BODY + 1, hex, 8) == 0;
		for (int i = 0; i < 20 && sf->intact; i++)
			sf->intact = text[i] >= '0' && text[i] <= '9' && text[21 + i] >= '0' &&
			             text[21 + i] <= '9';
	}
	sf->reserved = parse_u64(&s);
	sf->next = *s == ' ' ? parse_u64(&s) : sf->reserved;
	while (*s == ' ')
		s++;
	while (len < sizeof(sf->boot) - 1 && s[len] && s[len] != ' ' && s[len] != '\n')
		len++;
	memcpy(sf->boot, s, len);
	sf->boot[len] = '\0';
	if (strcmp(sf->boot, "-") == 0)
		sf->boot[0] = '\0';
}

/* One fixed-width line in one pwrite at offset 0 (a single sector: it
 * lands whole or not at all); no sync.  It is longer than the lines of
 * older versions (79 and 21 bytes), so it always covers them whole. */
static int seqfile_write(struct spool_producer *p, uint64_t reserved, uint64_t next)
{
	char text[128];
	int n =
	    snprintf(text, sizeof(text), "%020llu %020llu %-36.36s", (unsigned long long)reserved,
	             (unsigned long long)next, p->boot[0] ? p->boot : "-");

	if (n != SEQ_BODY)
		return errno = EINVAL, -1;
	n += snprintf(text + n, sizeof(text) - (size_t)n, " %08x\n",
	              (unsigned)seq_check(text, SEQ_BODY));
	return pwrite(p->seq_fd, text, (size_t)n, 0) == n ? 0 : -1;
}

/* Write reserved/next and fdatasync; p->reserved follows only on success. */
static enum err_status seqfile_sync(struct spool_producer *p, uint64_t reserved, uint64_t next,
                                    struct err *e)
{
	if (seqfile_write(p, reserved, next) != 0)
		return err_errno(e, spool_errno_status(errno), errno, "%s: sequence counter",
		                 p->q.dir[SPOOL_STATE]);
	if (fdatasync(p->seq_fd) != 0)
		return err_errno(e, ERR_TEMP, errno, "%s: sequence counter: fdatasync",
		                 p->q.dir[SPOOL_STATE]);
	p->reserved = reserved;
	return ERR_OK;
}

/* Make the renames into new/ durable. */
static enum err_status sync_new(struct spool_producer *p, struct err *e)
{
	if (fsync(p->new_fd) != 0)
		return err_errno(e, ERR_TEMP, errno, "%s: fsync", p->q.dir[SPOOL_NEW]);
	return ERR_OK;
}

/* Highest sequence of this producer's files in one directory (0: none). */
static uint64_t max_seq_in(const char *dir, const char *producer)
{
	char prod[RECORD_PRODUCER_MAX + 1];
	struct dirent *de;
	uint64_t max = 0, seq;
	DIR *d;

	if (spool_opendir(dir, &d, NULL) != ERR_OK)
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

/* Our own "<record name>.tmp" files, sorted: zero-padded names sort in
 * sequence order, so a roll forward never shows the consumer a gap. */
static enum err_status own_tmp_files(struct spool_producer *p, char ***out, size_t *n,
                                     struct err *e)
{
	char prod[RECORD_PRODUCER_MAX + 1], name[RECORD_NAME_MAX + 8];
	enum err_status st;
	struct dirent *de;
	size_t alloc = 0;
	uint64_t seq;
	DIR *d;

	*out = NULL;
	*n = 0;
	st = spool_opendir(p->q.dir[SPOOL_TMP], &d, e);
	if (st != ERR_OK)
		return st;
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
		qsort(*out, *n, sizeof(**out), spool_name_cmp);
	return ERR_OK;
}

/* A group commit counts its files before the one syncfs: a process that
 * died in between leaves them in the page cache only. */
static int sync_file(const char *path)
{
	/* read as a regular file just before; swapped since, it is not ours */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	int rc;

	if (fd < 0)
		return -1;
	rc = fdatasync(fd);
	close(fd);
	return rc;
}

/*
 * A complete tmp file whose number the counter already covers was
 * counted but not renamed (a crash in between): finish its commit so
 * the crash leaves no gap.  Anything else in tmp/ of ours is unlinked.
 */
static enum err_status roll_forward(struct spool_producer *p, uint64_t reserved, uint64_t covered,
                                    int *renamed, struct err *e)
{
	char prod[RECORD_PRODUCER_MAX + 1], tname[RECORD_NAME_MAX + 8];
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX];
	struct buf b = BUF_INIT_CAP(RECORD_MAX_BYTES);
	enum err_status st;
	char **names;
	size_t n;
	uint64_t seq;
	int counted = 0;

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
		if (seq < covered && spool_read_file(from, &b, NULL, NULL) == ERR_OK &&
		    record_decode(b.data, b.len, p->key, &r, NULL) == ERR_OK && r->seq == seq &&
		    strcmp(r->producer, p->id) == 0 && sync_file(from) == 0)
			keep = 1;
		record_free(r);
		/* Into new/ only under a durable count (see spool_commit). */
		if (keep && !counted) {
			st = seqfile_sync(p, reserved, covered, e);
			if (st != ERR_OK)
				break;
		}
		counted |= keep;
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

/* Our record of sequence seq is in one of the queue's sub-directories
 * (a file name of failed/ with a .N suffix is not looked for). */
static int seq_present(const struct spool_producer *p, uint64_t seq)
{
	char name[RECORD_NAME_MAX], path[SPOOL_PATH_MAX];
	struct stat sb;

	record_file_name(name, seq, p->id);
	for (int d = SPOOL_NEW; d < SPOOL_NDIRS; d++)
		if (d != SPOOL_STATE && spool_join(path, p->q.dir[d], name, NULL) == ERR_OK &&
		    lstat(path, &sb) == 0)
			return 1;
	return 0;
}

/*
 * Same boot (a process crash or a clean stop): the page cache survived,
 * NEXT is exact.  Another boot: NEXT may be stale, RESERVED is durable;
 * resuming there never reuses a number and leaves a gap of at most one
 * block (none after a clean close, which sets RESERVED = NEXT).  What
 * the file says is not known to be on disk (a process may have died
 * before its fdatasync), so p->reserved starts at 0: the first commit
 * flushes a fresh block.
 *
 * An intact file is trusted without reading the sub-directories (see
 * spool.h for why that never reuses a number); only the record the
 * resumed number would name is looked for, a cheap check against a
 * state file older than the queue (restored from a backup).  A missing,
 * empty, older-format or damaged file, or that record present, makes
 * the producer read every sub-directory for its highest sequence, as
 * it always did, and say so (spool_producer_scan_reason).
 */
static enum err_status producer_recover(struct spool_producer *p, struct err *e)
{
	struct seqfile sf;
	uint64_t max = 0, start;
	int renamed = 0, other_boot;
	enum err_status st;

	boot_id(p->boot);
	seqfile_read(p->seq_fd, &sf);
	p->reserved = 0;
	p->found = sf.reserved;
	st = roll_forward(p, sf.reserved > sf.next ? sf.reserved : sf.next, sf.next, &renamed, e);
	if (st != ERR_OK)
		return st;
	if (renamed) {
		st = sync_new(p, e);
		if (st != ERR_OK)
			return st;
	}
	other_boot = !(p->boot[0] && strcmp(sf.boot, p->boot) == 0);
	start = sf.next > 1 ? sf.next : 1;
	if (other_boot && sf.reserved > start)
		start = sf.reserved;
	if (sf.empty)
		snprintf(p->scan_why, sizeof(p->scan_why), "the sequence file is missing or empty");
	else if (!sf.intact)
		snprintf(p->scan_why, sizeof(p->scan_why),
		         "the sequence file is damaged or of an older version");
	else if (seq_present(p, start))
		snprintf(p->scan_why, sizeof(p->scan_why),
		         "sequence %llu, where the sequence file resumes, is already in the queue",
		         (unsigned long long)start);
	if (p->scan_why[0]) {
		for (int d = SPOOL_NEW; d < SPOOL_NDIRS; d++) {
			uint64_t m = d == SPOOL_STATE ? 0 : max_seq_in(p->q.dir[d], p->id);
			if (m > max)
				max = m;
		}
		if (max + 1 > start)
			start = max + 1;
	}
	p->next = start;
	return ERR_OK;
}

const char *spool_producer_scan_reason(const struct spool_producer *p)
{
	return p->scan_why[0] ? p->scan_why : NULL;
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
	p->lock_fd = p->seq_fd = p->new_fd = -1;
	p->key = key;
	buf_init(&p->out, RECORD_MAX_BYTES);
	memcpy(p->id, producer_id, strlen(producer_id) + 1);
	st = spool_q_init(&p->q, root, queue, 1, e);
	if (st != ERR_OK)
		goto fail;
	st = spool_open_dir(p->q.dir[SPOOL_NEW], &p->new_fd, e);
	if (st != ERR_OK)
		goto fail;
	snprintf(fname, sizeof(fname), "%s.lock", producer_id);
	st = spool_join(path, p->q.dir[SPOOL_STATE], fname, e);
	if (st != ERR_OK)
		goto fail;
	p->lock_fd = spool_open_state(path, O_RDWR | O_CREAT, 0640, e);
	if (p->lock_fd < 0) {
		st = e ? e->status : ERR_FATAL;
		goto fail;
	}
	if (flock(p->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		st = err_set(e, ERR_TEMP, "%s: producer %s is already running", path, producer_id);
		goto fail;
	}
	snprintf(fname, sizeof(fname), "%s.seq", producer_id);
	st = spool_join(path, p->q.dir[SPOOL_STATE], fname, e);
	if (st != ERR_OK)
		goto fail;
	p->seq_fd = spool_open_state(path, O_RDWR | O_CREAT, 0640, e);
	if (p->seq_fd < 0) {
		st = e ? e->status : ERR_FATAL;
		goto fail;
	}
	st = producer_recover(p, e);
	if (st != ERR_OK)
		goto fail;
	p->opened = 1;
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
	spool_pipe_close(p);
	/* A clean stop gives back the unused rest of the block: a reboot
	 * after it resumes exactly at NEXT.  If this sync fails, the old
	 * RESERVED stands (a gap after a reboot, never a reuse). */
	if (p->opened)
		seqfile_sync(p, p->next, p->next, NULL);
	if (p->seq_fd >= 0)
		close(p->seq_fd);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	if (p->new_fd >= 0)
		close(p->new_fd);
	buf_release(&p->out);
	free(p);
}

uint64_t spool_producer_next_seq(const struct spool_producer *p)
{
	if (spool_pipe_busy(p))
		return spool_pipe_next(p);
	return p->next;
}

/*
 * Record that every number below upto is (about to be) used: NEXT always,
 * and a new block of RESERVED when upto passes it.  *flush is set when
 * the caller must flush before the rename (fdatasync, or the group's
 * syncfs) and then set p->reserved = *reserved.
 */
static enum err_status counter_cover(struct spool_producer *p, uint64_t upto, uint64_t *reserved,
                                     int *flush, struct err *e)
{
	*flush = upto > p->reserved;
	*reserved = *flush ? upto - 1 + SPOOL_SEQ_BLOCK : p->reserved;
	if (seqfile_write(p, *reserved, upto) != 0)
		return err_errno(e, spool_errno_status(errno), errno, "%s: sequence counter",
		                 p->q.dir[SPOOL_STATE]);
	return ERR_OK;
}

/*
 * After a failed commit nothing carries the numbers NEXT was just
 * advanced over: put the old value back so a process that dies now
 * leaves no gap.  RESERVED goes back to what is known durable (or what
 * was found at open), so a successor never trusts an unsynced block.
 */
static void counter_restore(struct spool_producer *p)
{
	seqfile_write(p, p->reserved > p->found ? p->reserved : p->found, p->next);
}

/* The file name of sequence seq and its tmp/ path. */
static enum err_status stage_paths(const struct spool_producer *p, uint64_t seq,
                                   char name[RECORD_NAME_MAX], char tmp[SPOOL_PATH_MAX],
                                   struct err *e)
{
	char tname[RECORD_NAME_MAX + 4];

	record_file_name(name, seq, p->id);
	snprintf(tname, sizeof(tname), "%s.tmp", name);
	return spool_join(tmp, p->q.dir[SPOOL_TMP], tname, e);
}

/* Encode r as sequence seq of p into out.  Touches only r and out:
 * encoder threads run it side by side. */
static enum err_status stage_encode(const struct spool_producer *p, struct record *r, uint64_t seq,
                                    struct buf *out, struct err *e)
{
	enum err_status st;

	memcpy(r->producer, p->id, strlen(p->id) + 1);
	r->seq = seq;
	buf_reset(out);
	st = record_encode(r, p->key, out, e);
	if (st != ERR_OK)
		err_prefix(e, "%s seq %llu: ", p->id, (unsigned long long)seq);
	return st;
}

/* Write b to tmp, with fdatasync if sync. */
static enum err_status write_fresh(const char *tmp, const struct buf *b, int sync, struct err *e)
{
	enum err_status st = spool_write_tmp(tmp, b->data, b->len, sync, e);

	if (st == ERR_OK || errno != EEXIST)
		return st;
	/* A leftover of ours (say an earlier commit failed to unlink): we
	 * hold the producer lock, so it is stale. */
	if (unlink(tmp) != 0 && errno != ENOENT)
		return err_errno(e, spool_errno_status(errno), errno, "%s: unlink", tmp);
	return spool_write_tmp(tmp, b->data, b->len, sync, e);
}

/* Encode r as sequence seq and write it to tmp/ with fdatasync. */
static enum err_status stage_synced(struct spool_producer *p, struct record *r, uint64_t seq,
                                    char name[RECORD_NAME_MAX], char tmp[SPOOL_PATH_MAX],
                                    struct err *e)
{
	enum err_status st;

	st = stage_paths(p, seq, name, tmp, e);
	if (st == ERR_OK)
		st = stage_encode(p, r, seq, &p->out, e);
	if (st == ERR_OK)
		st = write_fresh(tmp, &p->out, 1, e);
	return st;
}

/*
 * Staging n records for a group is CPU work (XML, XSD check, Ed25519)
 * plus a file creation each.  The creations all go through one directory
 * lock, and on ext4 without a journal each one may scan recently freed
 * inodes for a long while: threads that create side by side mostly spin
 * on that lock.  So only the caller's thread creates and writes the
 * files, in index order, while encoder threads (one per further core, up
 * to STAGE_THREADS - 1, at least STAGE_MIN_PER_THREAD records each) take
 * the next record not yet taken.  While the record the writer needs next
 * is not encoded yet, the writer encodes the next one not taken (perhaps
 * that very one): when creating is cheap it helps with the encoding, and
 * when creating is dear the records are ready before it needs them.
 */
#define STAGE_THREADS        4
#define STAGE_MIN_PER_THREAD 4

struct stage_run {
	const struct spool_producer *p;
	struct record **recs;
	uint64_t first;
	size_t n;
	struct buf *bufs;       /* per index: the encoded record */
	unsigned char *encoded; /* per index: bufs[i] is final */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next;    /* the lowest index nobody has taken */
	size_t fail_at; /* lowest failing index (n: none); everyone stops */
	struct err e;   /* its error */
	enum err_status st;
};

/* Under mu: note a failure at i; the lowest index's error wins. */
static void stage_failed(struct stage_run *sr, size_t i, enum err_status st, const struct err *e)
{
	if (i < sr->fail_at) {
		sr->fail_at = i;
		sr->st = st;
		sr->e = *e;
	}
}

/* Encode index i (taken by this thread) and publish the result. */
static void stage_encode_one(struct stage_run *sr, size_t i)
{
	struct err e;
	enum err_status st;

	err_clear(&e);
	st = stage_encode(sr->p, sr->recs[i], sr->first + i, &sr->bufs[i], &e);
	pthread_mutex_lock(&sr->mu);
	if (st != ERR_OK)
		stage_failed(sr, i, st, &e);
	sr->encoded[i] = 1;
	pthread_cond_broadcast(&sr->cv);
	pthread_mutex_unlock(&sr->mu);
}

static void *stage_encoder(void *arg)
{
	struct stage_run *sr = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&sr->mu);
		i = sr->next;
		if (i < sr->n && sr->fail_at == sr->n)
			sr->next++;
		else
			i = sr->n;
		pthread_mutex_unlock(&sr->mu);
		if (i == sr->n)
			return NULL;
		stage_encode_one(sr, i);
	}
}

static size_t stage_encoders(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t t = cpus > 1 ? (size_t)cpus - 1 : 0;

	if (t > STAGE_THREADS - 1)
		t = STAGE_THREADS - 1;
	while (t > 0 && n / (t + 1) < STAGE_MIN_PER_THREAD)
		t--;
	return t;
}

/* The writer: wait for (or encode) record i, then create and write its
 * tmp file.  0: staged; -1: the run failed (at i or elsewhere). */
static int stage_write_one(struct stage_run *sr, size_t i)
{
	char name[RECORD_NAME_MAX], tmp[SPOOL_PATH_MAX];
	enum err_status st;
	struct err e;
	int failed;

	/* While record i is still being encoded by an encoder, help with
	 * the ones after it rather than wait. */
	pthread_mutex_lock(&sr->mu);
	while (!sr->encoded[i] && sr->fail_at == sr->n) {
		size_t j = sr->next;

		if (j < sr->n) {
			sr->next++;
			pthread_mutex_unlock(&sr->mu);
			stage_encode_one(sr, j);
			pthread_mutex_lock(&sr->mu);
		} else {
			pthread_cond_wait(&sr->cv, &sr->mu);
		}
	}
	failed = sr->fail_at < sr->n;
	pthread_mutex_unlock(&sr->mu);
	if (failed)
		return -1;
	err_clear(&e);
	st = stage_paths(sr->p, sr->first + i, name, tmp, &e);
	if (st == ERR_OK)
		st = write_fresh(tmp, &sr->bufs[i], 0, &e);
	buf_release(&sr->bufs[i]);
	if (st == ERR_OK)
		return 0;
	pthread_mutex_lock(&sr->mu);
	stage_failed(sr, i, st, &e);
	pthread_cond_broadcast(&sr->cv);
	pthread_mutex_unlock(&sr->mu);
	return -1;
}

/* Stage all n.  The tmp files are written in index order, so those
 * written are always the first *n_staged; on failure the error of the
 * lowest failing index goes to e (the one a serial loop would have met
 * first) and the caller unlinks what was staged. */
static enum err_status stage_all(const struct spool_producer *p, struct record **recs, size_t n,
                                 uint64_t first, size_t *n_staged, struct err *e)
{
	struct stage_run sr = {.p = p, .recs = recs, .first = first, .n = n, .fail_at = n};
	pthread_t tids[STAGE_THREADS];
	size_t t = stage_encoders(n), started = 0;
	enum err_status st = ERR_OK;

	*n_staged = 0;
	sr.bufs = calloc(n, sizeof(*sr.bufs));
	sr.encoded = calloc(n, 1);
	if (!sr.bufs || !sr.encoded) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		buf_init(&sr.bufs[i], RECORD_MAX_BYTES);
	if (pthread_mutex_init(&sr.mu, NULL) != 0) {
		st = err_set(e, ERR_TEMP, "cannot set up the group's staging");
		goto out;
	}
	if (pthread_cond_init(&sr.cv, NULL) != 0) {
		pthread_mutex_destroy(&sr.mu);
		st = err_set(e, ERR_TEMP, "cannot set up the group's staging");
		goto out;
	}
	/* Record 0 first in this thread: libxml2 and the schema are set up
	 * before any encoder touches them.  An encoder that cannot start
	 * leaves its share to the others and to this thread. */
	if (stage_write_one(&sr, 0) == 0) {
		*n_staged = 1;
		for (; started < t; started++)
			if (pthread_create(&tids[started], NULL, stage_encoder, &sr) != 0)
				break;
		while (*n_staged < n && stage_write_one(&sr, *n_staged) == 0)
			(*n_staged)++;
	}
	for (size_t k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
	pthread_cond_destroy(&sr.cv);
	pthread_mutex_destroy(&sr.mu);
	if (sr.fail_at < n) {
		st = sr.st;
		if (e)
			*e = sr.e;
	}
out:
	for (size_t i = 0; sr.bufs && i < n; i++)
		buf_release(&sr.bufs[i]);
	free(sr.bufs);
	free(sr.encoded);
	return st;
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
	uint64_t seq, reserved;
	enum err_status st;
	int flush;

	/* Not even a look at p->next while the flusher may change it. */
	if (spool_pipe_busy(p))
		return err_set(e, ERR_PERM, "producer %s: pipelined groups outstanding", p->id);
	seq = p->next;
	st = stage_synced(p, r, seq, name, tmp, e);
	if (st != ERR_OK)
		return st;
	st = counter_cover(p, seq + 1, &reserved, &flush, e);
	if (st == ERR_OK && flush) {
		if (fdatasync(p->seq_fd) == 0)
			p->reserved = reserved;
		else
			st = err_errno(e, ERR_TEMP, errno, "%s: sequence counter: fdatasync",
			               p->q.dir[SPOOL_STATE]);
	}
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
	st = sync_new(p, e);
	if (st != ERR_OK)
		return err_prefix(
		    e, "seq %llu visible but maybe not durable: ", (unsigned long long)seq);
	if (seq_out)
		*seq_out = seq;
	return ERR_OK;
}

/* Unlink the tmp files of sequences first+from .. first+to-1. */
static void unlink_staged(const struct spool_producer *p, uint64_t first, size_t from, size_t to)
{
	char name[RECORD_NAME_MAX], tmp[SPOOL_PATH_MAX];

	for (size_t i = from; i < to; i++)
		if (stage_paths(p, first + i, name, tmp, NULL) == ERR_OK)
			unlink(tmp);
}

void spool_group_discard(const struct spool_producer *p, struct spool_group *g)
{
	unlink_staged(p, g->first, 0, g->n);
}

enum err_status spool_group_stage(const struct spool_producer *p, struct spool_group *g,
                                  struct record **recs, size_t n, uint64_t first, struct err *e)
{
	enum err_status st = ERR_OK;
	size_t staged = 0;

	g->first = first;
	g->n = 0;
	if (n > 0)
		st = stage_all(p, recs, n, first, &staged, e);
	if (st != ERR_OK)
		unlink_staged(p, first, 0, staged);
	else
		g->n = n;
	return st;
}

enum err_status spool_group_flush(struct spool_producer *p, struct spool_group *g, size_t *n_done,
                                  struct err *e)
{
	uint64_t reserved;
	enum err_status st;
	size_t i;
	int flush;

	*n_done = 0;
	if (g->n == 0)
		return ERR_OK;
	st = counter_cover(p, g->first + g->n, &reserved, &flush, e);
	/* One flush for the data of all n files and the counter. */
	if (st == ERR_OK && syncfs(p->seq_fd) != 0)
		st = err_errno(e, ERR_TEMP, errno, "%s: syncfs", p->q.dir[SPOOL_TMP]);
	if (st != ERR_OK) {
		spool_group_discard(p, g);
		counter_restore(p);
		return st;
	}
	p->reserved = reserved;
	for (i = 0; i < g->n; i++) {
		char name[RECORD_NAME_MAX], tmp[SPOOL_PATH_MAX];

		st = stage_paths(p, g->first + i, name, tmp, e);
		if (st == ERR_OK)
			st = publish(p, name, tmp, e);
		if (st != ERR_OK)
			break;
		p->next = g->first + i + 1;
	}
	/* publish() unlinked the tmp file it failed on. */
	unlink_staged(p, g->first, i + 1, g->n);
	if (st != ERR_OK)
		counter_restore(p);
	if (i > 0) {
		enum err_status s2 = sync_new(p, st == ERR_OK ? e : NULL);
		if (s2 != ERR_OK) {
			err_prefix(e, "seq %llu-%llu visible but maybe not durable: ",
			           (unsigned long long)g->first,
			           (unsigned long long)(g->first + i - 1));
			return s2;
		}
	}
	*n_done = i;
	return st;
}

enum err_status spool_commit_group(struct spool_producer *p, struct record **recs, size_t n,
                                   size_t *n_done, struct err *e)
{
	struct spool_group g;
	enum err_status st;

	*n_done = 0;
	if (spool_pipe_busy(p))
		return err_set(e, ERR_PERM, "producer %s: pipelined groups outstanding", p->id);
	st = spool_group_stage(p, &g, recs, n, p->next, e);
	if (st != ERR_OK) {
		counter_restore(p);
		return st;
	}
	return spool_group_flush(p, &g, n_done, e);
}
