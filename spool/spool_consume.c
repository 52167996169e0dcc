/*
 * spool_consume.c: the consumer side: strict per-producer order, files
 * still arriving, gaps, duplicates and conflicts, quarantine, recovery.
 * See spool.h for the contract.
 */
#include "spool_int.h"
#include "spool_clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Re-injected names remembered per scan; more are found by the next one. */
#define REINJECT_MAX 256
/* Minimum seconds between two scans of new/ while idle. */
#define SCAN_INTERVAL 1
/* tmp/ files older than this are debris of a crashed writer. */
#define TMP_STALE_SECONDS 3600

struct cprod {
	char id[RECORD_PRODUCER_MAX + 1];
	uint64_t next;
	int pos_fd;
	int inflight;
	int later; /* the last scan saw sequences beyond next */
	int gap_seen;
	uint64_t gap_seq;
	time_t gap_since;
};

/*
 * A file in new/ that did not read or verify yet.  first is when this
 * consumer first saw it: the grace period runs from there (or from an
 * older mtime), never from an mtime in the future, which the sender
 * controls.  While the file stays the same (inode, size, mtime) it is
 * not read and parsed again: why holds the verdict.
 */
struct seen {
	char name[RECORD_NAME_MAX]; /* "" for a free slot */
	time_t first;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char why[ERR_MSG_MAX];
};

/* Files tracked at once; the oldest entry makes room for a new one (it
 * then starts its grace again, which only delays it). */
#define SEEN_MAX 64

/*
 * A record read ahead (spool_read_ahead) and verified, kept for its
 * claim with the identity of the file it came from.  ctime is part of
 * it: a file rewritten in place with its size and mtime put back still
 * has a new ctime, which no sender can set.
 */
struct ahead {
	char name[RECORD_NAME_MAX]; /* "" for a free slot */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	unsigned long stamp; /* for dropping the oldest */
	char sha256[65];
	struct record *rec;
};

struct spool_consumer {
	struct spool_q q;
	const struct sig_key *pub;
	char only[RECORD_PRODUCER_MAX + 1];
	unsigned grace;
	unsigned gap_alarm;
	uint64_t max_ahead;
	spool_quarantine_fn on_quarantine;
	void *on_quarantine_ctx;
	int lock_fd;
	struct cprod *prods;
	size_t nprods;
	size_t rr;
	char (*reinj)[RECORD_NAME_MAX];
	size_t nreinj;
	int scan_wanted;
	time_t last_scan;
	unsigned long settled_since_scan; /* the queue moved since the last scan */
	struct buf data;
	char rescan_path[SPOOL_PATH_MAX];
	struct seen seen[SEEN_MAX];
	struct ahead *ahead; /* SPOOL_AHEAD_MAX slots, allocated on first use */
	unsigned long ahead_stamp;
	struct spool_consumer_stats stats;
};

enum probe { PROBE_CLAIMED, PROBE_ABSENT, PROBE_WAIT, PROBE_ERROR };

static struct cprod *prod_find(struct spool_consumer *c, const char *id)
{
	for (size_t i = 0; i < c->nprods; i++)
		if (strcmp(c->prods[i].id, id) == 0)
			return &c->prods[i];
	return NULL;
}

static struct cprod *prod_get(struct spool_consumer *c, const char *id, struct err *e)
{
	char fname[RECORD_PRODUCER_MAX + 16], path[SPOOL_PATH_MAX];
	struct cprod *p = prod_find(c, id), *np;

	if (p)
		return p;
	np = realloc(c->prods, (c->nprods + 1) * sizeof(*np));
	if (!np) {
		err_set(e, ERR_TEMP, "out of memory");
		return NULL;
	}
	c->prods = np;
	p = &c->prods[c->nprods];
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(fname, sizeof(fname), SPOOL_NEXT_PREFIX "%s", id);
	if (spool_join(path, c->q.dir[SPOOL_STATE], fname, e) != ERR_OK)
		return NULL;
	p->pos_fd = spool_open_state(path, O_RDWR | O_CREAT, 0640, e);
	if (p->pos_fd < 0)
		return NULL;
	p->next = spool_counter_read(p->pos_fd);
	if (p->next == 0)
		p->next = 1;
	c->nprods++;
	return p;
}

static int exists_in(struct spool_consumer *c, enum spool_dir d, const char *name)
{
	char path[SPOOL_PATH_MAX];

	if (spool_join(path, c->q.dir[d], name, NULL) != ERR_OK)
		return 0;
	return access(path, F_OK) == 0;
}

static void gap_state_write(struct spool_consumer *c, struct cprod *p, int active)
{
	char fname[RECORD_PRODUCER_MAX + 16], path[SPOOL_PATH_MAX], text[64];

	snprintf(fname, sizeof(fname), SPOOL_GAP_PREFIX "%s", p->id);
	if (spool_join(path, c->q.dir[SPOOL_STATE], fname, NULL) != ERR_OK)
		return;
	if (!active) {
		unlink(path);
		return;
	}
	snprintf(text, sizeof(text), "%llu %lld\n", (unsigned long long)p->gap_seq,
	         (long long)p->gap_since);
	unlink(path);
	spool_write_atomic(c->q.dir[SPOOL_TMP], c->q.dir[SPOOL_STATE], fname, text, strlen(text), 0,
	                   NULL);
}

/* The position is a hint (done/, failed/ and hold/ are the truth), so it
 * is written without a sync. */
static void advance(struct spool_consumer *c, struct cprod *p, uint64_t seq)
{
	if (seq != p->next)
		return;
	p->next = seq + 1;
	spool_counter_write(p->pos_fd, p->next);
	if (p->gap_seen && p->gap_seq < p->next) {
		p->gap_seen = 0;
		gap_state_write(c, p, 0);
	}
}

/* A .why written for a record that could not then be moved beside it
 * would describe nothing (spool_free_name chose a name with neither). */
static void unlink_why(const char *dir, const char *fname)
{
	char path[SPOOL_PATH_MAX + RECORD_NAME_MAX + 48];
	int n = snprintf(path, sizeof(path), "%s/%s.why", dir, fname);

	if (n > 0 && (size_t)n < sizeof(path))
		unlink(path);
}

/*
 * What could not be quarantined is recorded in state/stuck-NAME for
 * status (ATTENTION, with the reason), and forgotten once it moved.
 * name is a record name (the consumer takes no other), so the state
 * file's name is safe.
 */
static void stuck_note(struct spool_consumer *c, const char *name, const char *reason,
                       const struct err *why)
{
	char fname[RECORD_NAME_MAX + 16], text[2 * ERR_MSG_MAX + 64];
	int n;

	snprintf(fname, sizeof(fname), SPOOL_STUCK_PREFIX "%s", name);
	if (!why) {
		char path[SPOOL_PATH_MAX];
		if (spool_join(path, c->q.dir[SPOOL_STATE], fname, NULL) == ERR_OK)
			unlink(path);
		return;
	}
	n = snprintf(text, sizeof(text), "%s; cannot be moved to failed/: %s\n", reason, why->msg);
	if (n > 0)
		spool_write_atomic(c->q.dir[SPOOL_TMP], c->q.dir[SPOOL_STATE], fname, text,
		                   (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1, 0,
		                   NULL);
}

static enum err_status quarantine_move(struct spool_consumer *c, enum spool_dir from,
                                       const char *name, const char *base, const char *reason,
                                       const char *sha, struct err *e);

/* Move dir/name to failed/ with a .why; the queue then moves on.  When
 * it cannot be moved, status says so (stuck_note). */
static enum err_status quarantine(struct spool_consumer *c, enum spool_dir from, const char *name,
                                  const char *base, const char *reason, const char *sha,
                                  struct err *e)
{
	struct err me;
	enum err_status st;

	err_clear(&me);
	st = quarantine_move(c, from, name, base, reason, sha, &me);
	if (from == SPOOL_NEW)
		stuck_note(c, name, reason, st == ERR_OK ? NULL : &me);
	if (st != ERR_OK)
		err_set(e, st, "%s", me.msg);
	return st;
}

static enum err_status quarantine_move(struct spool_consumer *c, enum spool_dir from,
                                       const char *name, const char *base, const char *reason,
                                       const char *sha, struct err *e)
{
	char fname[RECORD_NAME_MAX + 32], src[SPOOL_PATH_MAX], dst[SPOOL_PATH_MAX];
	struct spool_why why = {.reason = reason};
	enum err_status st;

	st = spool_free_name(c->q.dir[SPOOL_FAILED], base, fname, sizeof(fname), e);
	if (st == ERR_OK)
		st = spool_write_why(c->q.dir[SPOOL_TMP], c->q.dir[SPOOL_FAILED], fname, &why, sha,
		                     e);
	if (st != ERR_OK)
		return st;
	st = spool_join(src, c->q.dir[from], name, e);
	if (st == ERR_OK)
		st = spool_join(dst, c->q.dir[SPOOL_FAILED], fname, e);
	if (st == ERR_OK && rename(src, dst) != 0)
		st = err_errno(e, spool_errno_status(errno), errno, "rename %s -> %s", src, dst);
	if (st != ERR_OK) {
		unlink_why(c->q.dir[SPOOL_FAILED], fname);
		return st;
	}
	c->stats.quarantined++;
	if (c->on_quarantine)
		c->on_quarantine(c->on_quarantine_ctx, c->q.queue, name, fname, reason);
	return ERR_OK;
}

static int verifies(struct spool_consumer *c, const char *path)
{
	struct record *r = NULL;
	int ok = spool_read_record(path, c->pub, &r, NULL, NULL) == ERR_OK;

	record_free(r);
	return ok;
}

/* 1 for what may still turn into a record: a regular file (maybe still
 * arriving, maybe too large) or one that cannot be read right now. */
static int entry_may_become_record(enum spool_entry_type t)
{
	return t == SPOOL_ENTRY_REGULAR || t == SPOOL_ENTRY_UNREADABLE ||
	       t == SPOOL_ENTRY_TOO_LARGE;
}

/* A FIFO, link, directory or device under a record name in new/ never
 * turns into a record: set it aside at once (renamed, never opened), so
 * the queue moves on. */
static enum err_status quarantine_entry(struct spool_consumer *c, const char *name,
                                        enum spool_entry_type type, struct err *e)
{
	char reason[128];

	snprintf(reason, sizeof(reason), "%s, not a regular file: never read",
	         spool_entry_type_name(type));
	return quarantine(c, SPOOL_NEW, name, name, reason, NULL, e);
}

static struct seen *seen_find(struct spool_consumer *c, const char *name)
{
	for (size_t i = 0; i < SEEN_MAX; i++)
		if (c->seen[i].name[0] && strcmp(c->seen[i].name, name) == 0)
			return &c->seen[i];
	return NULL;
}

static struct seen *seen_get(struct spool_consumer *c, const char *name, time_t now)
{
	struct seen *s = seen_find(c, name), *victim = &c->seen[0];

	if (s)
		return s;
	for (size_t i = 0; i < SEEN_MAX; i++) {
		if (!c->seen[i].name[0]) {
			victim = &c->seen[i];
			break;
		}
		if (c->seen[i].first < victim->first)
			victim = &c->seen[i];
	}
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->name, sizeof(victim->name), "%s", name);
	victim->first = now;
	return victim;
}

static void seen_forget(struct spool_consumer *c, const char *name)
{
	struct seen *s = seen_find(c, name);

	if (s)
		s->name[0] = '\0';
}

static int seen_same_file(const struct seen *s, const struct stat *sb)
{
	return s->why[0] && S_ISREG(sb->st_mode) && s->dev == sb->st_dev && s->ino == sb->st_ino &&
	       s->size == sb->st_size && s->mtime.tv_sec == sb->st_mtim.tv_sec &&
	       s->mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

static void seen_remember(struct seen *s, const struct stat *sb, const char *why)
{
	s->dev = sb->st_dev;
	s->ino = sb->st_ino;
	s->size = sb->st_size;
	s->mtime = sb->st_mtim;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

/* Read, gate, parse and verify new/NAME: ERR_OK with *rec, or why not in
 * de.  A file that failed before and has not changed is not read again. */
static enum err_status read_verified(struct spool_consumer *c, const char *path,
                                     const struct stat *sb, struct seen *sn,
                                     enum spool_entry_type *type, struct record **rec,
                                     struct err *de)
{
	enum err_status st;

	*type = SPOOL_ENTRY_REGULAR;
	if (seen_same_file(sn, sb))
		return err_set(de, ERR_PERM, "%s", sn->why);
	st = spool_read_untrusted(path, RECORD_MAX_BYTES, &c->data, type, de);
	if (st == ERR_OK) {
		c->stats.decodes++;
		st = record_decode(c->data.data, c->data.len, c->pub, rec, de);
	}
	/* Only a verdict on these very bytes is worth keeping: not a
	 * temporary one (memory, I/O), and not for a file that changed. */
	if (st == ERR_PERM && *type == SPOOL_ENTRY_REGULAR)
		seen_remember(sn, sb, de->msg);
	return st;
}

static int ahead_same_file(const struct ahead *a, const struct stat *sb)
{
	return S_ISREG(sb->st_mode) && a->dev == sb->st_dev && a->ino == sb->st_ino &&
	       a->size == sb->st_size && a->mtime.tv_sec == sb->st_mtim.tv_sec &&
	       a->mtime.tv_nsec == sb->st_mtim.tv_nsec && a->ctime.tv_sec == sb->st_ctim.tv_sec &&
	       a->ctime.tv_nsec == sb->st_ctim.tv_nsec;
}

static struct ahead *ahead_find(struct spool_consumer *c, const char *name)
{
	for (size_t i = 0; c->ahead && i < SPOOL_AHEAD_MAX; i++)
		if (c->ahead[i].name[0] && strcmp(c->ahead[i].name, name) == 0)
			return &c->ahead[i];
	return NULL;
}

static void ahead_drop(struct ahead *a)
{
	record_free(a->rec);
	memset(a, 0, sizeof(*a));
}

/*
 * The record read ahead for new/NAME if the file is still the one it
 * was read from (sb): 1 with *rec (now the caller's) and its SHA-256.
 * A file changed since is forgotten here and read afresh by the caller.
 */
static int ahead_take(struct spool_consumer *c, const char *name, const struct stat *sb,
                      struct record **rec, char sha256[65])
{
	struct ahead *a = ahead_find(c, name);

	if (!a)
		return 0;
	if (!ahead_same_file(a, sb)) {
		ahead_drop(a);
		return 0;
	}
	*rec = a->rec;
	a->rec = NULL;
	memcpy(sha256, a->sha256, 65);
	ahead_drop(a);
	c->stats.reused++;
	return 1;
}

/* Keep rec (the consumer's now) as read from a file with identity sb. */
static void ahead_keep(struct spool_consumer *c, const char *name, const struct stat *sb,
                       struct record *rec)
{
	struct ahead *a = ahead_find(c, name);

	if (!a) {
		if (!c->ahead && !(c->ahead = calloc(SPOOL_AHEAD_MAX, sizeof(*c->ahead)))) {
			record_free(rec);
			return;
		}
		a = &c->ahead[0];
		for (size_t i = 0; i < SPOOL_AHEAD_MAX; i++) {
			if (!c->ahead[i].name[0]) {
				a = &c->ahead[i];
				break;
			}
			if (c->ahead[i].stamp < a->stamp)
				a = &c->ahead[i];
		}
	}
	ahead_drop(a);
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->dev = sb->st_dev;
	a->ino = sb->st_ino;
	a->size = sb->st_size;
	a->mtime = sb->st_mtim;
	a->ctime = sb->st_ctim;
	a->stamp = ++c->ahead_stamp;
	sig_sha256_hex(c->data.data, c->data.len, a->sha256);
	a->rec = rec;
}

enum err_status spool_read_ahead(struct spool_consumer *c, const char *name, struct record **out,
                                 struct err *e)
{
	char path[SPOOL_PATH_MAX], prod[RECORD_PRODUCER_MAX + 1];
	struct record *rec = NULL;
	enum spool_entry_type type;
	struct seen *sn, fresh;
	struct ahead *a;
	enum err_status st;
	struct err de;
	struct stat sb;
	uint64_t seq;

	*out = NULL;
	if (record_parse_file_name(name, &seq, prod) != 0)
		return err_set(e, ERR_PERM, "not a record name");
	if (spool_join(path, c->q.dir[SPOOL_NEW], name, e) != ERR_OK)
		return ERR_PERM;
	if (lstat(path, &sb) != 0)
		return err_errno(e, ERR_TEMP, errno, "%s", path);
	a = ahead_find(c, name);
	if (a && ahead_same_file(a, &sb)) { /* read ahead before, unchanged */
		*out = record_dup(a->rec);
		return *out ? ERR_OK : err_set(e, ERR_TEMP, "out of memory");
	}
	/* Judged like a claim, so a bad file is not parsed again when it is
	 * claimed (seen), and its grace runs from now; but nothing is moved:
	 * the claim decides.  A good file takes no seen slot. */
	memset(&fresh, 0, sizeof(fresh));
	sn = seen_find(c, name);
	err_clear(&de);
	st = read_verified(c, path, &sb, sn ? sn : &fresh, &type, &rec, &de);
	if (st != ERR_OK) {
		if (!sn && fresh.why[0])
			seen_remember(seen_get(c, name, spool_now()), &sb, fresh.why);
		return err_set(e, st, "%s", de.msg);
	}
	seen_forget(c, name);
	if (rec->seq != seq || strcmp(rec->producer, prod) != 0) {
		record_free(rec);
		return err_set(e, ERR_PERM, "name does not match content");
	}
	*out = record_dup(rec);
	if (!*out) {
		record_free(rec);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	ahead_keep(c, name, &sb, rec);
	return ERR_OK;
}

enum err_status spool_peek(struct spool_consumer *c, const char *producer, uint64_t from,
                           struct spool_peeked *out, size_t max, size_t *n, struct err *e)
{
	struct cprod *p = prod_find(c, producer);
	uint64_t seq = from;

	*n = 0;
	if (!seq)
		seq = p ? p->next + (p->inflight ? 1u : 0u) : 1;
	while (*n < max) {
		struct spool_peeked *pk = &out[*n];
		struct err re;

		record_file_name(pk->name, seq, producer);
		pk->seq = seq;
		pk->rec = NULL;
		err_clear(&re);
		if (spool_read_ahead(c, pk->name, &pk->rec, &re) != ERR_OK) {
			/* Out of memory before anything was listed is worth
			 * saying; any other stop is the end of the list. */
			if (!*n && re.status == ERR_TEMP && strcmp(re.msg, "out of memory") == 0)
				return err_set(e, ERR_TEMP, "out of memory");
			break;
		}
		(*n)++;
		seq++;
	}
	return ERR_OK;
}

void spool_peeked_release(struct spool_peeked *p)
{
	if (p) {
		record_free(p->rec);
		p->rec = NULL;
	}
}

/*
 * A re-sent copy's own verdict, before it is compared with what it
 * would conflict with: 1 it verifies (a complete record under its own
 * name), 0 not valid yet and still within the grace period (maybe a
 * transport half-way through re-sending it), 2 not valid after the
 * grace period or misnamed (why says so), -1 error.
 */
static int passed_copy_verdict(struct spool_consumer *c, const char *name, const char *here,
                               char *why, size_t whylen, struct err *e)
{
	char prod[RECORD_PRODUCER_MAX + 1];
	struct record *rec = NULL;
	time_t now = spool_now(), since;
	enum spool_entry_type type;
	enum err_status st;
	struct seen *sn;
	struct stat sb;
	uint64_t seq;
	struct err de;

	err_clear(&de);
	if (record_parse_file_name(name, &seq, prod) != 0) {
		err_set(e, ERR_PERM, "%s: not a record name", name);
		return -1;
	}
	if (lstat(here, &sb) != 0) {
		err_errno(e, ERR_TEMP, errno, "%s", here);
		return -1;
	}
	sn = seen_get(c, name, now);
	st = read_verified(c, here, &sb, sn, &type, &rec, &de);
	if (type == SPOOL_ENTRY_MISSING) { /* gone meanwhile */
		seen_forget(c, name);
		return 0;
	}
	if (st == ERR_OK) {
		int match = rec->seq == seq && strcmp(rec->producer, prod) == 0;
		if (!match)
			snprintf(why, whylen,
			         "name does not match content: the file says producer %s seq %llu",
			         rec->producer, (unsigned long long)rec->seq);
		record_free(rec);
		seen_forget(c, name);
		return match ? 1 : 2;
	}
	since = sb.st_mtime < sn->first ? sb.st_mtime : sn->first;
	if (now - since < (time_t)c->grace)
		return 0;
	snprintf(why, whylen, "rejected after the grace period: %s", de.msg);
	seen_forget(c, name);
	return 2;
}

/*
 * A file in new/ whose place in the sequence is already taken (done/,
 * failed/ or hold/ has the name): the same bytes are a duplicate and go
 * away silently.  Other bytes are judged like any arriving file first: a
 * copy that does not verify waits out the grace period (a transport may
 * be re-sending it) and is then quarantined as invalid; only a copy that
 * verifies and differs is a conflict.  Returns 1 when handled (or left
 * to wait), 0 when no such file exists (a re-injected record), -1 on
 * error.
 */
static int settle_passed(struct spool_consumer *c, const char *name, struct err *e)
{
	static const enum spool_dir places[] = {SPOOL_DONE, SPOOL_FAILED, SPOOL_HOLD,
	                                        SPOOL_DISMISSED, SPOOL_CUR};
	char here[SPOOL_PATH_MAX], there[SPOOL_PATH_MAX], base[RECORD_NAME_MAX + 16];
	char reason[ERR_MSG_MAX + 100];
	enum spool_entry_type type;

	if (spool_join(here, c->q.dir[SPOOL_NEW], name, e) != ERR_OK)
		return -1;
	type = spool_entry_type_of(here);
	if (type != SPOOL_ENTRY_MISSING && !entry_may_become_record(type))
		return quarantine_entry(c, name, type, e) == ERR_OK ? 1 : -1;
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		int same, verdict;
		if (spool_join(there, c->q.dir[places[i]], name, e) != ERR_OK)
			return -1;
		if (access(there, F_OK) != 0)
			continue;
		same = spool_same_bytes(here, there);
		if (same < 0)
			return -1;
		if (same) {
			seen_forget(c, name);
			unlink(here);
			return 1;
		}
		if (places[i] == SPOOL_CUR)
			return 1; /* decided when the claimed copy finishes */
		verdict = passed_copy_verdict(c, name, here, reason, sizeof(reason), e);
		if (verdict < 0)
			return -1;
		if (verdict == 0)
			return 1;
		if (verdict == 2)
			return quarantine(c, SPOOL_NEW, name, name, reason, NULL, e) == ERR_OK ? 1
			                                                                       : -1;
		/* Quarantined as unreadable (cut short in transit, say) and now
		 * a valid copy: that copy is the record. */
		if (places[i] == SPOOL_FAILED && !verifies(c, there))
			return 0;
		snprintf(base, sizeof(base), "%s.conflict", name);
		snprintf(reason, sizeof(reason),
		         "conflict: same producer and sequence as %s/%s but different content",
		         spool_dir_name(places[i]), name);
		return quarantine(c, SPOOL_NEW, name, base, reason, NULL, e) == ERR_OK ? 1 : -1;
	}
	return 0;
}

/* Re-injected records are claimed in sequence order per producer, the
 * order they were committed in: an issue before its comments and photos,
 * whatever order the operator's commands or readdir put them in new/.
 * The list is kept sorted (producer, then sequence); when it is full, the
 * lowest are kept and the next scan finds the rest. */
static int reinj_cmp(const char *a, const char *b)
{
	char pa[RECORD_PRODUCER_MAX + 1], pb[RECORD_PRODUCER_MAX + 1];
	uint64_t sa, sb;
	int d;

	if (record_parse_file_name(a, &sa, pa) != 0 || record_parse_file_name(b, &sb, pb) != 0)
		return strcmp(a, b);
	d = strcmp(pa, pb);
	if (d)
		return d;
	return sa < sb ? -1 : sa > sb;
}

static void remember_reinjected(struct spool_consumer *c, const char *name)
{
	size_t at = c->nreinj, len = strlen(name);

	/* Only record names come here; a longer one could not be claimed. */
	if (len >= RECORD_NAME_MAX)
		return;
	for (size_t i = 0; i < c->nreinj; i++) {
		int d = reinj_cmp(name, c->reinj[i]);
		if (d == 0 && strcmp(name, c->reinj[i]) == 0)
			return;
		if (d < 0) {
			at = i;
			break;
		}
	}
	if (at == REINJECT_MAX)
		return;
	if (c->nreinj == REINJECT_MAX)
		c->nreinj--; /* the highest waits for the next scan */
	memmove(c->reinj[at + 1], c->reinj[at], (c->nreinj - at) * sizeof(c->reinj[0]));
	memcpy(c->reinj[at], name, len + 1);
	c->nreinj++;
}

static void gap_update(struct spool_consumer *c, struct cprod *p, time_t now)
{
	char name[RECORD_NAME_MAX];

	record_file_name(name, p->next, p->id);
	if (p->later && !exists_in(c, SPOOL_NEW, name) && !exists_in(c, SPOOL_CUR, name)) {
		if (!p->gap_seen || p->gap_seq != p->next) {
			p->gap_seen = 1;
			p->gap_seq = p->next;
			p->gap_since = now;
			gap_state_write(c, p, 1);
		}
	} else if (p->gap_seen) {
		p->gap_seen = 0;
		gap_state_write(c, p, 0);
	}
}

/* One pass over new/: producers, passed sequences, gaps.  Only when
 * idle or asked: the claim path itself never reads the directory. */
static enum err_status scan(struct spool_consumer *c, struct err *e)
{
	char prod[RECORD_PRODUCER_MAX + 1];
	enum err_status st;
	struct dirent *de;
	time_t now = spool_now();
	uint64_t seq;
	DIR *d;

	c->scan_wanted = 0;
	c->last_scan = now;
	c->settled_since_scan = 0;
	st = spool_opendir(c->q.dir[SPOOL_NEW], &d, e);
	if (st != ERR_OK)
		return st;
	for (size_t i = 0; i < c->nprods; i++)
		c->prods[i].later = 0;
	while ((de = readdir(d)) != NULL) {
		struct cprod *p;
		if (record_parse_file_name(de->d_name, &seq, prod) != 0)
			continue; /* a transport's temporary file, or not ours */
		if (c->only[0] && strcmp(prod, c->only) != 0) {
			quarantine(c, SPOOL_NEW, de->d_name, de->d_name,
			           "unexpected producer: this queue takes records of one producer "
			           "only",
			           NULL, NULL);
			continue;
		}
		p = prod_get(c, prod, e);
		if (!p)
			break;
		if (seq > p->next && seq - p->next > c->max_ahead) {
			char reason[200];

			snprintf(reason, sizeof(reason),
			         "sequence %llu is implausibly far ahead of the expected %llu "
			         "(more than "
			         "%llu ahead): forged or misnamed, never waited for",
			         (unsigned long long)seq, (unsigned long long)p->next,
			         (unsigned long long)c->max_ahead);
			quarantine(c, SPOOL_NEW, de->d_name, de->d_name, reason, NULL, NULL);
			continue;
		}
		if (seq > p->next)
			p->later = 1;
		else if (seq < p->next && settle_passed(c, de->d_name, NULL) == 0)
			remember_reinjected(c, de->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < c->nprods; i++)
		gap_update(c, &c->prods[i], now);
	return ERR_OK;
}

/* sha256: of the bytes rec was decoded from; NULL: those in c->data. */
static enum err_status make_item(struct spool_consumer *c, const char *name, struct record *rec,
                                 const char *sha256, int reinjected, struct spool_item **out,
                                 struct err *e)
{
	struct spool_item *it = calloc(1, sizeof(*it));

	if (!it) {
		record_free(rec);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	snprintf(it->name, sizeof(it->name), "%s", name);
	spool_join(it->path, c->q.dir[SPOOL_CUR], name, NULL);
	it->rec = rec;
	it->reinjected = reinjected;
	if (sha256)
		memcpy(it->sha256, sha256, sizeof(it->sha256));
	else
		sig_sha256_hex(c->data.data, c->data.len, it->sha256);
	*out = it;
	return ERR_OK;
}

/*
 * Try to claim new/NAME, expected as (producer, seq).  The file is read
 * and verified where it lies, and renamed into cur/ only when good: a
 * transport may still be writing it in place.
 */
static enum probe probe(struct spool_consumer *c, const char *name, uint64_t seq,
                        const char *producer, int reinjected, struct spool_item **out,
                        struct err *e)
{
	char path[SPOOL_PATH_MAX], dst[SPOOL_PATH_MAX], reason[ERR_MSG_MAX + 64];
	char sha256[65] = "";
	struct record *rec = NULL;
	time_t now = spool_now();
	struct seen *sn;
	struct err de;
	struct stat sb;
	enum err_status st;
	enum spool_entry_type type;
	int mismatch = 0;

	if (spool_join(path, c->q.dir[SPOOL_NEW], name, e) != ERR_OK ||
	    spool_join(dst, c->q.dir[SPOOL_CUR], name, e) != ERR_OK)
		return PROBE_ERROR;
	err_clear(&de);
	if (lstat(path, &sb) != 0) {
		seen_forget(c, name);
		if (errno == ENOENT)
			return PROBE_ABSENT;
		err_errno(e, ERR_TEMP, errno, "%s", path);
		return PROBE_ERROR;
	}
	sn = seen_get(c, name, now);
	/* Read ahead and unchanged since: verified then, not again. */
	if (ahead_take(c, name, &sb, &rec, sha256)) {
		st = ERR_OK;
		type = SPOOL_ENTRY_REGULAR;
	} else {
		st = read_verified(c, path, &sb, sn, &type, &rec, &de);
	}
	if (type == SPOOL_ENTRY_MISSING) {
		seen_forget(c, name);
		return PROBE_ABSENT;
	}
	if (!entry_may_become_record(type)) {
		seen_forget(c, name);
		return quarantine_entry(c, name, type, e) == ERR_OK ? PROBE_ABSENT : PROBE_ERROR;
	}
	/* Unreadable (mode, I/O) waits out the grace period like a file
	 * still arriving, then is quarantined. */
	if (st == ERR_OK && (rec->seq != seq || strcmp(rec->producer, producer) != 0)) {
		mismatch = 1;
		st = err_set(&de, ERR_PERM,
		             "name does not match content: the file says producer %s seq %llu",
		             rec->producer, (unsigned long long)rec->seq);
		record_free(rec);
		rec = NULL;
	}
	if (st != ERR_OK) {
		/* From when this host first saw it; an older mtime may shorten
		 * the wait (only the sender loses by it), a future one cannot
		 * lengthen it. */
		time_t since = sb.st_mtime < sn->first ? sb.st_mtime : sn->first;
		time_t age = now - since;

		if (!mismatch && age < (time_t)c->grace) {
			err_set(e, ERR_TEMP, "%s: not valid yet, may still be arriving (%s)", name,
			        de.msg);
			return PROBE_WAIT;
		}
		snprintf(reason, sizeof(reason), "%s%s",
		         mismatch ? ""
		                  : "rejected after the "
		                    "grace period: ",
		         de.msg);
		seen_forget(c, name);
		if (quarantine(c, SPOOL_NEW, name, name, reason, NULL, e) != ERR_OK)
			return PROBE_ERROR;
		return PROBE_ABSENT;
	}
	seen_forget(c, name);
	if (rename(path, dst) != 0) {
		record_free(rec);
		if (errno == ENOENT) /* an operator action won the race */
			return PROBE_ABSENT;
		err_errno(e, spool_errno_status(errno), errno, "rename %s -> %s", path, dst);
		return PROBE_ERROR;
	}
	if (make_item(c, name, rec, sha256[0] ? sha256 : NULL, reinjected, out, e) != ERR_OK)
		return PROBE_ERROR;
	return PROBE_CLAIMED;
}

/* The expected record of p, passing over what is settled already. */
static enum probe claim_in_order(struct spool_consumer *c, struct cprod *p, struct spool_item **out,
                                 struct err *e)
{
	char name[RECORD_NAME_MAX], marker[SPOOL_PATH_MAX], mname[RECORD_PRODUCER_MAX + 48];

	for (;;) {
		enum probe r;
		record_file_name(name, p->next, p->id);
		if (exists_in(c, SPOOL_DONE, name) || exists_in(c, SPOOL_FAILED, name) ||
		    exists_in(c, SPOOL_HOLD, name) || exists_in(c, SPOOL_DISMISSED, name)) {
			if (exists_in(c, SPOOL_NEW, name)) {
				int settled_now = settle_passed(c, name, e);
				if (settled_now < 0)
					return PROBE_ERROR;
				if (settled_now == 0)
					remember_reinjected(c, name);
			}
			advance(c, p, p->next);
			continue;
		}
		r = probe(c, name, p->next, p->id, 0, out, e);
		if (r == PROBE_CLAIMED) {
			p->inflight = 1;
			return r;
		}
		if (r != PROBE_ABSENT)
			return r;
		if (exists_in(c, SPOOL_FAILED, name)) { /* just quarantined */
			advance(c, p, p->next);
			continue;
		}
		snprintf(mname, sizeof(mname), SPOOL_SKIP_PREFIX "%s-%llu", p->id,
		         (unsigned long long)p->next);
		if (spool_join(marker, c->q.dir[SPOOL_STATE], mname, NULL) == ERR_OK &&
		    access(marker, F_OK) == 0) {
			unlink(marker);
			advance(c, p, p->next);
			continue;
		}
		return PROBE_ABSENT;
	}
}

static enum probe claim_reinjected(struct spool_consumer *c, struct spool_item **out, struct err *e)
{
	char prod[RECORD_PRODUCER_MAX + 1];
	uint64_t seq;

	while (c->nreinj > 0) {
		char name[RECORD_NAME_MAX];
		enum probe r;
		/* The lowest first (see remember_reinjected). */
		memcpy(name, c->reinj[0], sizeof(name));
		memmove(c->reinj[0], c->reinj[1], (c->nreinj - 1) * sizeof(c->reinj[0]));
		c->nreinj--;
		if (record_parse_file_name(name, &seq, prod) != 0)
			continue;
		r = probe(c, name, seq, prod, 1, out, e);
		if (r == PROBE_CLAIMED || r == PROBE_ERROR)
			return r;
		/* PROBE_WAIT: the next scan finds it again. */
	}
	return PROBE_ABSENT;
}

static enum probe claim_once(struct spool_consumer *c, struct spool_item **out, int *waiting,
                             struct err *e)
{
	enum probe r = claim_reinjected(c, out, e);

	if (r != PROBE_ABSENT)
		return r;
	for (size_t k = 0; k < c->nprods; k++) {
		size_t i = (c->rr + k) % c->nprods;
		if (c->prods[i].inflight)
			continue;
		r = claim_in_order(c, &c->prods[i], out, e);
		if (r == PROBE_CLAIMED) {
			c->rr = i + 1;
			return r;
		}
		if (r == PROBE_ERROR)
			return r;
		if (r == PROBE_WAIT)
			*waiting = 1;
	}
	return PROBE_ABSENT;
}

static void describe_idle(struct spool_consumer *c, struct err *e)
{
	time_t now = spool_now();

	for (size_t i = 0; i < c->nprods; i++) {
		struct cprod *p = &c->prods[i];
		if (p->gap_seen) {
			err_set(e, ERR_TEMP, "gap: waiting for %s seq %llu for %llds%s", p->id,
			        (unsigned long long)p->gap_seq, (long long)(now - p->gap_since),
			        now - p->gap_since >= (time_t)c->gap_alarm ? " (ALARM)" : "");
			return;
		}
	}
	err_set(e, ERR_TEMP, "%s: nothing to claim", c->q.queue);
}

enum err_status spool_claim(struct spool_consumer *c, struct spool_item **out, struct err *e)
{
	int waiting = 0;
	enum probe r;

	*out = NULL;
	if (access(c->rescan_path, F_OK) == 0) {
		unlink(c->rescan_path);
		c->scan_wanted = 1;
	}
	if (c->scan_wanted && scan(c, e) != ERR_OK)
		return ERR_TEMP;
	r = claim_once(c, out, &waiting, e);
	/* Idle: look at new/ again, at once if the queue moved since the
	 * last look, else at most once per SCAN_INTERVAL. */
	if (r == PROBE_ABSENT && !waiting &&
	    (c->settled_since_scan || spool_now() - c->last_scan >= SCAN_INTERVAL)) {
		if (scan(c, e) != ERR_OK)
			return ERR_TEMP;
		r = claim_once(c, out, &waiting, e);
	}
	if (r == PROBE_CLAIMED)
		return ERR_OK;
	if (r == PROBE_ERROR)
		return e ? e->status : ERR_TEMP;
	if (!waiting)
		describe_idle(c, e);
	return ERR_TEMP;
}

static struct cprod *item_prod(struct spool_consumer *c, const struct spool_item *it)
{
	return prod_find(c, it->rec->producer);
}

/* The item left cur/: the sequence is settled. */
static void settled(struct spool_consumer *c, struct spool_item *it)
{
	struct cprod *p = item_prod(c, it);

	if (p && !it->reinjected) {
		p->inflight = 0;
		advance(c, p, it->rec->seq);
	}
	c->settled_since_scan++;
	spool_item_free(it);
}

static enum err_status move_item(struct spool_consumer *c, struct spool_item *it, enum spool_dir to,
                                 const char *fname, struct err *e)
{
	char dst[SPOOL_PATH_MAX];

	if (spool_join(dst, c->q.dir[to], fname, e) != ERR_OK)
		return ERR_PERM;
	if (rename(it->path, dst) != 0)
		return err_errno(e, spool_errno_status(errno), errno, "rename %s -> %s", it->path,
		                 dst);
	return ERR_OK;
}

enum err_status spool_complete(struct spool_consumer *c, struct spool_item *it, struct err *e)
{
	enum err_status st = move_item(c, it, SPOOL_DONE, it->name, e);

	if (st != ERR_OK)
		return st;
	settled(c, it);
	return ERR_OK;
}

static enum err_status set_aside(struct spool_consumer *c, struct spool_item *it, enum spool_dir to,
                                 const struct spool_why *why, struct err *e)
{
	char fname[RECORD_NAME_MAX + 32];
	enum err_status st;

	st = spool_free_name(c->q.dir[to], it->name, fname, sizeof(fname), e);
	if (st == ERR_OK)
		st = spool_write_why(c->q.dir[SPOOL_TMP], c->q.dir[to], fname, why, it->sha256, e);
	if (st != ERR_OK)
		return st;
	st = move_item(c, it, to, fname, e);
	if (st != ERR_OK) {
		unlink_why(c->q.dir[to], fname);
		return st;
	}
	settled(c, it);
	return ERR_OK;
}

enum err_status spool_fail(struct spool_consumer *c, struct spool_item *it,
                           const struct spool_why *why, struct err *e)
{
	return set_aside(c, it, SPOOL_FAILED, why, e);
}

enum err_status spool_hold_claimed(struct spool_consumer *c, struct spool_item *it,
                                   const struct spool_why *why, struct err *e)
{
	return set_aside(c, it, SPOOL_HOLD, why, e);
}

enum err_status spool_defer(struct spool_consumer *c, struct spool_item *it, struct err *e)
{
	char dst[SPOOL_PATH_MAX];
	struct cprod *p = item_prod(c, it);
	enum err_status st;

	st = spool_join(dst, c->q.dir[SPOOL_NEW], it->name, e);
	if (st == ERR_OK)
		st = spool_rename_noreplace(it->path, dst, NULL, e);
	if (st != ERR_OK)
		return st;
	if (p && !it->reinjected)
		p->inflight = 0;
	if (it->reinjected)
		remember_reinjected(c, it->name);
	spool_item_free(it);
	return ERR_OK;
}

void spool_item_free(struct spool_item *it)
{
	if (!it)
		return;
	record_free(it->rec);
	free(it);
}

void spool_consumer_gap(const struct spool_consumer *c, struct spool_gap *g)
{
	time_t now = spool_now();

	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < c->nprods; i++) {
		const struct cprod *p = &c->prods[i];
		if (!p->gap_seen)
			continue;
		g->active = 1;
		snprintf(g->producer, sizeof(g->producer), "%s", p->id);
		g->seq = p->gap_seq;
		g->since = p->gap_since;
		g->alarmed = now - p->gap_since >= (time_t)c->gap_alarm;
		return;
	}
}

int spool_consumer_take_retry_now(struct spool_consumer *c)
{
	char path[SPOOL_PATH_MAX];

	if (spool_join(path, c->q.dir[SPOOL_STATE], SPOOL_RETRY_NOW, NULL) != ERR_OK ||
	    access(path, F_OK) != 0)
		return 0;
	unlink(path);
	return 1;
}

uint64_t spool_consumer_next_seq(const struct spool_consumer *c, const char *producer)
{
	for (size_t i = 0; i < c->nprods; i++)
		if (strcmp(c->prods[i].id, producer) == 0)
			return c->prods[i].next;
	return 1;
}

/* Claimed records of a crashed consumer go back to new/; tmp/ debris
 * older than an hour goes away (younger files may be a live writer's). */
static enum err_status recover(struct spool_consumer *c, struct err *e)
{
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX];
	time_t now = spool_now();
	enum err_status st;
	struct dirent *de;
	struct stat sb;
	DIR *d;

	st = spool_opendir(c->q.dir[SPOOL_CUR], &d, e);
	if (st != ERR_OK)
		return st;
	while ((de = readdir(d)) != NULL) {
		int exists = 0;
		if (de->d_name[0] == '.')
			continue;
		if (spool_join(from, c->q.dir[SPOOL_CUR], de->d_name, NULL) != ERR_OK ||
		    spool_join(to, c->q.dir[SPOOL_NEW], de->d_name, NULL) != ERR_OK)
			continue;
		if (spool_rename_noreplace(from, to, &exists, NULL) != ERR_OK && exists) {
			/* The transport brought it again meanwhile. */
			if (spool_same_bytes(from, to) == 1)
				unlink(from);
			else
				quarantine(c, SPOOL_CUR, de->d_name, de->d_name,
				           "conflict: claimed copy differs from the one in new/",
				           NULL, NULL);
		}
	}
	closedir(d);
	st = spool_opendir(c->q.dir[SPOOL_TMP], &d, e);
	if (st != ERR_OK)
		return st;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    spool_join(from, c->q.dir[SPOOL_TMP], de->d_name, NULL) != ERR_OK)
			continue;
		if (stat(from, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    now - sb.st_mtime > TMP_STALE_SECONDS)
			unlink(from);
	}
	closedir(d);
	return ERR_OK;
}

static enum err_status load_producers(struct spool_consumer *c, struct err *e)
{
	size_t plen = strlen(SPOOL_NEXT_PREFIX);
	enum err_status st;
	struct dirent *de;
	DIR *d;

	st = spool_opendir(c->q.dir[SPOOL_STATE], &d, e);
	if (st != ERR_OK)
		return st;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, SPOOL_NEXT_PREFIX, plen) != 0 ||
		    !record_producer_valid(de->d_name + plen))
			continue;
		if (c->only[0] && strcmp(de->d_name + plen, c->only) != 0)
			continue;
		if (!prod_get(c, de->d_name + plen, e)) {
			st = e ? e->status : ERR_TEMP;
			break;
		}
	}
	closedir(d);
	if (st == ERR_OK && c->only[0] && !prod_get(c, c->only, e))
		st = e ? e->status : ERR_TEMP;
	return st;
}

enum err_status spool_consumer_open(struct spool_consumer **out, const char *root,
                                    const char *queue, const struct sig_key *pub,
                                    const struct spool_consumer_opts *opts, struct err *e)
{
	struct spool_consumer *c;
	char path[SPOOL_PATH_MAX];
	enum err_status st;

	*out = NULL;
	if (!pub)
		return err_set(e, ERR_PERM, "consumer of %s: no public key to verify with", queue);
	if (opts && opts->producer && !record_producer_valid(opts->producer))
		return err_set(e, ERR_PERM, "invalid producer id '%s'", opts->producer);
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(e, ERR_TEMP, "out of memory");
	c->lock_fd = -1;
	c->pub = pub;
	c->grace = opts && opts->grace_seconds ? opts->grace_seconds : 60;
	c->max_ahead = opts && opts->max_ahead ? opts->max_ahead : SPOOL_MAX_AHEAD_DEFAULT;
	c->on_quarantine = opts ? opts->on_quarantine : NULL;
	c->on_quarantine_ctx = opts ? opts->on_quarantine_ctx : NULL;
	c->gap_alarm = opts && opts->gap_alarm_seconds ? opts->gap_alarm_seconds : 3600;
	if (opts && opts->producer)
		snprintf(c->only, sizeof(c->only), "%s", opts->producer);
	c->scan_wanted = 1;
	buf_init(&c->data, RECORD_MAX_BYTES);
	c->reinj = malloc(REINJECT_MAX * sizeof(*c->reinj));
	if (!c->reinj) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto fail;
	}
	st = spool_q_init(&c->q, root, queue, 1, e);
	if (st != ERR_OK)
		goto fail;
	st = spool_join(path, c->q.dir[SPOOL_STATE], "consumer.lock", e);
	if (st == ERR_OK)
		st = spool_join(c->rescan_path, c->q.dir[SPOOL_STATE], SPOOL_RESCAN, e);
	if (st != ERR_OK)
		goto fail;
	c->lock_fd = spool_open_state(path, O_RDWR | O_CREAT, 0640, e);
	if (c->lock_fd < 0) {
		st = e ? e->status : ERR_FATAL;
		goto fail;
	}
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		st = err_set(e, ERR_TEMP, "%s: another consumer is running", path);
		goto fail;
	}
	st = recover(c, e);
	if (st == ERR_OK)
		st = load_producers(c, e);
	if (st != ERR_OK)
		goto fail;
	*out = c;
	return ERR_OK;
fail:
	spool_consumer_free(c);
	return st;
}

void spool_consumer_free(struct spool_consumer *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nprods; i++)
		if (c->prods[i].pos_fd >= 0)
			close(c->prods[i].pos_fd);
	free(c->prods);
	free(c->reinj);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	buf_release(&c->data);
	for (size_t i = 0; c->ahead && i < SPOOL_AHEAD_MAX; i++)
		ahead_drop(&c->ahead[i]);
	free(c->ahead);
	free(c);
}

void spool_consumer_stats(const struct spool_consumer *c, struct spool_consumer_stats *out)
{
	*out = c->stats;
}
