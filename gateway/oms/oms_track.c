/*
 * oms_track.c: the OMS half's tracked requests: a hash table in memory,
 * a snapshot plus an append-only journal on disk.  See oms_int.h.
 */
#include "oms_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "log.h"
#include "num.h"

#define SNAP_PREFIX    "snap."
#define JOURNAL_PREFIX "journal."
/* Journals shorter than this are never worth compacting. */
#define COMPACT_MIN_LINES 4096
#define LINE_MAX_BYTES    512
/* The half's own files have no size limit but memory; only their type is
 * checked (half of SIZE_MAX stays positive as an off_t). */
#define TRACK_FILE_MAX (SIZE_MAX / 2)

struct oms_track {
	char dir[SPOOL_PATH_MAX];
	char tmp[SPOOL_PATH_MAX];
	struct oms_entry *ents;
	size_t n, alloc;
	uint32_t *slots; /* open addressing: index + 1, 0 = empty */
	size_t nslots;
	/* The request ids, NUL-terminated one after the other (an entry's rid
	 * is its offset; offset 0 is no id): a strdup each cost 32 bytes of
	 * heap for a 10-byte id.  A replaced id stays until compaction. */
	char *ids;
	size_t ids_len, ids_cap;
	uint64_t gen;
	int jfd;
	size_t jlines;
};

/* dir/name into out (SPOOL_PATH_MAX); name NULL: dir alone. */
static enum err_status join(char *out, const char *dir, const char *name, struct err *e)
{
	int n = name ? snprintf(out, SPOOL_PATH_MAX, "%s/%s", dir, name)
	             : snprintf(out, SPOOL_PATH_MAX, "%s", dir);

	if (n < 0 || n >= SPOOL_PATH_MAX)
		return err_set(e, ERR_FATAL, "%s: path too long", dir);
	return ERR_OK;
}

static size_t hash_id(int64_t id)
{
	uint64_t x = (uint64_t)id;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static uint32_t *slot_for(struct oms_track *t, int64_t issue)
{
	size_t i = hash_id(issue) & (t->nslots - 1);

	for (;;) {
		uint32_t *s = &t->slots[i];
		if (*s == 0 || t->ents[*s - 1].issue == issue)
			return s;
		i = (i + 1) & (t->nslots - 1);
	}
}

static int rehash(struct oms_track *t, size_t nslots)
{
	uint32_t *old = t->slots;
	size_t oldn = t->nslots;

	t->slots = calloc(nslots, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -1;
	}
	t->nslots = nslots;
	for (size_t i = 0; i < oldn; i++)
		if (old[i])
			*slot_for(t, t->ents[old[i] - 1].issue) = old[i];
	free(old);
	return 0;
}

struct oms_entry *oms_track_get(struct oms_track *t, int64_t issue)
{
	uint32_t *s = slot_for(t, issue);

	return *s ? &t->ents[*s - 1] : NULL;
}

struct oms_entry *oms_track_add(struct oms_track *t, int64_t issue)
{
	struct oms_entry *en = oms_track_get(t, issue);

	if (en)
		return en;
	if (t->n >= UINT32_MAX - 1)
		return NULL; /* the hash keeps index + 1 in 32 bits */
	if ((t->n + 1) * 2 > t->nslots && rehash(t, t->nslots * 2) != 0)
		return NULL;
	if (t->n == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 1024;
		struct oms_entry *ne = realloc(t->ents, na * sizeof(*ne));
		if (!ne)
			return NULL;
		t->ents = ne;
		t->alloc = na;
	}
	en = &t->ents[t->n];
	memset(en, 0, sizeof(*en));
	en->issue = issue;
	*slot_for(t, issue) = (uint32_t)++t->n;
	return en;
}

const char *oms_track_id(const struct oms_track *t, const struct oms_entry *en)
{
	return en->rid ? t->ids + en->rid : NULL;
}

/* Append id to the arena; its offset in *off (never 0). */
static int ids_add(struct oms_track *t, const char *id, uint32_t *off)
{
	size_t len = strlen(id) + 1;

	if (!t->ids_len)
		t->ids_len = 1; /* offset 0 means no id */
	if (t->ids_len + len > UINT32_MAX)
		return -1;
	if (t->ids_len + len > t->ids_cap) {
		size_t cap = t->ids_cap ? t->ids_cap : 4096;
		char *n;
		while (cap < t->ids_len + len)
			cap *= 2;
		if (!(n = realloc(t->ids, cap)))
			return -1;
		if (!t->ids_cap)
			n[0] = '\0';
		t->ids = n;
		t->ids_cap = cap;
	}
	memcpy(t->ids + t->ids_len, id, len);
	*off = (uint32_t)t->ids_len;
	t->ids_len += len;
	return 0;
}

enum err_status oms_track_set_id(struct oms_track *t, struct oms_entry *en, const char *request_id)
{
	uint32_t off = 0;
	const char *cur = oms_track_id(t, en);

	/* The journal repeats an entry's id on every line: keep the copy. */
	if (request_id && cur && strcmp(cur, request_id) == 0)
		return ERR_OK;
	if (request_id && ids_add(t, request_id, &off) != 0)
		return ERR_TEMP;
	en->rid = off;
	return ERR_OK;
}

/* A new arena with only the ids in use (after compaction); on failure
 * the old one stays, garbage and all. */
static void ids_repack(struct oms_track *t)
{
	struct oms_track fresh;

	memset(&fresh, 0, sizeof(fresh));
	for (size_t i = 0; i < t->n; i++) {
		const char *id = oms_track_id(t, &t->ents[i]);
		uint32_t off;
		if (id && ids_add(&fresh, id, &off) != 0) {
			free(fresh.ids);
			return;
		}
	}
	for (size_t i = 0, pos = 1; i < t->n; i++)
		if (t->ents[i].rid) {
			t->ents[i].rid = (uint32_t)pos;
			pos += strlen(fresh.ids + pos) + 1;
		}
	free(t->ids);
	t->ids = fresh.ids;
	t->ids_len = fresh.ids_len;
	t->ids_cap = fresh.ids_cap;
}

size_t oms_track_count(const struct oms_track *t)
{
	return t->n;
}

struct oms_entry *oms_track_at(struct oms_track *t, size_t i)
{
	return i < t->n ? &t->ents[i] : NULL;
}

/* Request ids go into a space-separated line: keep them one token, of up
 * to 255 bytes, what parse_line reads back. */
static void format_line(const struct oms_track *t, const struct oms_entry *en, char *out,
                        size_t size)
{
	const char *rid = oms_track_id(t, en);
	char id[256];
	size_t k = 0;

	for (const char *p = rid ? rid : ""; *p && k + 1 < sizeof(id); p++)
		id[k++] = (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') ? '_' : *p;
	id[k] = 0;
	if (en->gen > 1)
		snprintf(out, size,
		         "E %" PRId64 " %" PRId64 " %" PRId64 " %u %" PRIu64 " %" PRIu64
		         " %s %" PRId64 "\n",
		         en->issue, en->oid, en->type_id, en->flags, en->ack_seq, en->close_seq,
		         k ? id : "-", en->gen);
	else
		snprintf(out, size,
		         "E %" PRId64 " %" PRId64 " %" PRId64 " %u %" PRIu64 " %" PRIu64 " %s\n",
		         en->issue, en->oid, en->type_id, en->flags, en->ack_seq, en->close_seq,
		         k ? id : "-");
}

static int parse_line(struct oms_track *t, const char *line)
{
	struct oms_entry tmp, *en;
	char id[LINE_MAX_BYTES];
	const char *q = num_after(line, "E");
	uint64_t flags;

	memset(&tmp, 0, sizeof(tmp));
	/* Field by field (util/num.h): an overflow, a sign where none belongs
	 * or anything after the last field makes the line bad, not another
	 * value.  The generation is optional: lines written before it
	 * existed, and those of a first request, end with the request id. */
	if (!q || num_field_i64(&q, &tmp.issue) != 0 || num_field_i64(&q, &tmp.oid) != 0 ||
	    num_field_i64(&q, &tmp.type_id) != 0 || num_field_u64(&q, &flags) != 0 ||
	    flags > UINT_MAX || num_field_u64(&q, &tmp.ack_seq) != 0 ||
	    num_field_u64(&q, &tmp.close_seq) != 0 ||
	    num_field_word(&q, id, 256 /* format_line: 255 bytes */) != 0 ||
	    (!num_field_end(q) && num_field_i64(&q, &tmp.gen) != 0) || !num_field_end(q) ||
	    tmp.issue <= 0 || tmp.gen < 0)
		return -1;
	tmp.flags = (unsigned)flags;
	en = oms_track_add(t, tmp.issue);
	if (!en)
		return -2;
	tmp.rid = en->rid;
	*en = tmp;
	if (oms_track_set_id(t, en, strcmp(id, "-") != 0 ? id : NULL) != ERR_OK)
		return -2;
	return 0;
}

/* Read snap or journal lines; *good_len: bytes up to the last newline.
 * The files lie in the spool root, writable by whoever may write the
 * spool: one replaced by a FIFO must not hang the half, nor a link make
 * it read someone else's file.  Anything but a regular file stops the
 * half (ERR_FATAL): the tracked requests are not there, and a person must
 * look before the half forwards anything twice. */
static enum err_status load_file(struct oms_track *t, const char *path, size_t *lines,
                                 off_t *good_len, struct err *e)
{
	char line[LINE_MAX_BYTES];
	enum spool_entry_type type;
	FILE *f;
	off_t pos = 0;
	size_t lineno = 0;
	struct err oe;

	if (good_len)
		*good_len = 0;
	err_clear(&oe);
	if (spool_fopen_untrusted(path, TRACK_FILE_MAX, &f, &type, &oe) != ERR_OK) {
		if (type == SPOOL_ENTRY_MISSING)
			return ERR_OK;
		if (type == SPOOL_ENTRY_UNREADABLE)
			return err_set(e, ERR_FATAL, "%s", oe.msg);
		return err_set(e, ERR_FATAL,
		               "%s; it stands where the OMS half keeps its tracked requests: "
		               "remove it (put the half's own file back if it was moved), then "
		               "start the half again",
		               oe.msg);
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		lineno++;
		if (len == 0 || line[len - 1] != '\n')
			break; /* torn tail of a crashed append */
		pos += (off_t)len;
		if (parse_line(t, line) == -2) {
			fclose(f);
			return err_set(e, ERR_TEMP, "%s: out of memory", path);
		}
		if (lines)
			(*lines)++;
	}
	fclose(f);
	if (good_len)
		*good_len = pos;
	return ERR_OK;
}

static void gen_name(char *out, size_t size, const char *prefix, uint64_t gen)
{
	snprintf(out, size, "%s%020" PRIu64, prefix, gen);
}

static enum err_status open_journal(struct oms_track *t, off_t good_len, struct err *e)
{
	char name[64], path[SPOOL_PATH_MAX];
	struct stat sb;

	gen_name(name, sizeof(name), JOURNAL_PREFIX, t->gen);
	if (join(path, t->dir, name, e) != ERR_OK)
		return ERR_FATAL;
	/* load_file refused anything but a regular file; the name may have
	 * been swapped since: never through a link, never wait for a FIFO's
	 * reader, and check what was opened. */
	t->jfd =
	    open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
	if (t->jfd < 0)
		return err_errno(e, ERR_FATAL, errno, "%s", path);
	if (fstat(t->jfd, &sb) != 0)
		return err_errno(e, ERR_FATAL, errno, "%s: fstat", path);
	if (!S_ISREG(sb.st_mode))
		return err_set(e, ERR_FATAL, "%s: not a regular file: remove it", path);
	if (good_len >= 0 && ftruncate(t->jfd, good_len) != 0)
		return err_errno(e, ERR_FATAL, errno, "%s: cut torn line", path);
	return ERR_OK;
}

/* The highest snapshot generation present (0: none). */
static uint64_t newest_gen(const char *dir)
{
	struct dirent *de;
	uint64_t best = 0, g;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (num_line_u64(de->d_name, SNAP_PREFIX, &g) == 0 && g > best)
			best = g;
	closedir(d);
	return best;
}

/* Files of generations other than t->gen are leftovers of a compaction. */
static void remove_old(struct oms_track *t)
{
	struct dirent *de;
	uint64_t g;
	DIR *d = opendir(t->dir);

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[SPOOL_PATH_MAX];
		if ((num_line_u64(de->d_name, SNAP_PREFIX, &g) == 0 ||
		     num_line_u64(de->d_name, JOURNAL_PREFIX, &g) == 0) &&
		    g != t->gen && join(path, t->dir, de->d_name, NULL) == ERR_OK)
			unlink(path);
	}
	closedir(d);
}

static enum err_status make_dirs(struct oms_track *t, struct err *e)
{
	if (mkdir(t->dir, 0750) != 0 && errno != EEXIST)
		return err_errno(e, ERR_FATAL, errno, "%s", t->dir);
	if (mkdir(t->tmp, 0750) != 0 && errno != EEXIST)
		return err_errno(e, ERR_FATAL, errno, "%s", t->tmp);
	return ERR_OK;
}

enum err_status oms_track_open(struct oms_track **out, const char *dir, struct err *e)
{
	char name[64], path[SPOOL_PATH_MAX];
	struct oms_track *t = calloc(1, sizeof(*t));
	enum err_status st;
	off_t good = 0;

	*out = NULL;
	if (!t)
		return err_set(e, ERR_TEMP, "out of memory");
	t->jfd = -1;
	t->nslots = 2048;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->slots) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto fail;
	}
	st = join(t->dir, dir, NULL, e);
	if (st == ERR_OK)
		st = join(t->tmp, dir, "tmp", e);
	if (st == ERR_OK)
		st = make_dirs(t, e);
	if (st != ERR_OK)
		goto fail;
	t->gen = newest_gen(t->dir);
	if (t->gen) {
		gen_name(name, sizeof(name), SNAP_PREFIX, t->gen);
		st = join(path, t->dir, name, e);
		if (st == ERR_OK)
			st = load_file(t, path, NULL, NULL, e);
		if (st != ERR_OK)
			goto fail;
	} else {
		t->gen = 1;
	}
	gen_name(name, sizeof(name), JOURNAL_PREFIX, t->gen);
	st = join(path, t->dir, name, e);
	if (st == ERR_OK)
		st = load_file(t, path, &t->jlines, &good, e);
	if (st == ERR_OK)
		st = open_journal(t, good, e);
	if (st != ERR_OK)
		goto fail;
	remove_old(t);
	*out = t;
	return ERR_OK;
fail:
	oms_track_free(t);
	return st;
}

void oms_track_free(struct oms_track *t)
{
	if (!t)
		return;
	if (t->jfd >= 0)
		close(t->jfd);
	free(t->ents);
	free(t->slots);
	free(t->ids);
	free(t);
}

enum err_status oms_track_save(struct oms_track *t, const struct oms_entry *en, int sync,
                               struct err *e)
{
	char line[LINE_MAX_BYTES];
	size_t len;

	format_line(t, en, line, sizeof(line));
	len = strlen(line);
	if (write(t->jfd, line, len) != (ssize_t)len)
		return err_errno(e, ERR_FATAL, errno, "%s: journal append", t->dir);
	t->jlines++;
	if (sync)
		return oms_track_sync(t, e);
	return ERR_OK;
}

enum err_status oms_track_sync(struct oms_track *t, struct err *e)
{
	if (fdatasync(t->jfd) != 0)
		return err_errno(e, ERR_FATAL, errno, "%s: journal sync", t->dir);
	return ERR_OK;
}

enum err_status oms_track_compact(struct oms_track *t, struct err *e)
{
	struct buf b = BUF_INIT_CAP((size_t)1 << 30);
	char line[LINE_MAX_BYTES], name[64];
	enum err_status st = ERR_OK;
	uint64_t old_gen = t->gen;

	for (size_t i = 0; i < t->n && st == ERR_OK; i++) {
		format_line(t, &t->ents[i], line, sizeof(line));
		if (buf_adds(&b, line) != ERR_OK)
			st = err_set(e, ERR_TEMP, "%s: snapshot too large", t->dir);
	}
	gen_name(name, sizeof(name), SNAP_PREFIX, old_gen + 1);
	if (st == ERR_OK)
		st = spool_write_atomic(t->tmp, t->dir, name, b.data ? b.data : "", b.len, 1, e);
	buf_release(&b);
	if (st != ERR_OK)
		return st;
	close(t->jfd);
	t->jfd = -1;
	t->gen = old_gen + 1;
	t->jlines = 0;
	st = open_journal(t, 0, e);
	if (st == ERR_OK)
		remove_old(t);
	ids_repack(t);
	return st;
}

enum err_status oms_track_maybe_compact(struct oms_track *t, struct err *e)
{
	if (t->jlines < COMPACT_MIN_LINES || t->jlines < t->n)
		return ERR_OK;
	return oms_track_compact(t, e);
}

/* ---- status: the half's status file (half.h), and a read-only view ------------ */

void oms_status_note(struct oms *o, const struct err *fatal)
{
	struct http_stats hs;
	int64_t last_ok = 0;

	/* the later of the two clients' last 2xx */
	if (o->http) {
		http_stats_get(o->http, &hs);
		last_ok = (int64_t)hs.last_success;
	}
	if (o->http_w) {
		http_stats_get(o->http_w, &hs);
		if ((int64_t)hs.last_success > last_ok)
			last_ok = (int64_t)hs.last_success;
	}
	half_status_note(o->track->dir, "oms", last_ok, fatal);
}

/* Snapshot plus journal of one generation, read only (no directory is
 * made, the journal is not opened for writing or cut). */
static enum err_status track_read(const char *dir, uint64_t gen, struct oms_track *t, struct err *e)
{
	char name[64], path[SPOOL_PATH_MAX];
	enum err_status st;

	gen_name(name, sizeof(name), SNAP_PREFIX, gen);
	st = join(path, dir, name, e);
	if (st == ERR_OK)
		st = load_file(t, path, NULL, NULL, e);
	if (st != ERR_OK)
		return st;
	gen_name(name, sizeof(name), JOURNAL_PREFIX, gen);
	st = join(path, dir, name, e);
	if (st != ERR_OK)
		return st;
	return load_file(t, path, NULL, NULL, e);
}

enum err_status oms_status_read(const struct cfg *c, struct oms_status *out, struct err *e)
{
	char dir[SPOOL_PATH_MAX];
	struct stat sb;
	enum err_status st = ERR_OK;

	memset(out, 0, sizeof(*out));
	if (snprintf(dir, sizeof(dir), "%s/state/oms", c->spool.root) >= (int)sizeof(dir))
		return err_set(e, ERR_PERM, "%s: path too long", c->spool.root);
	if (stat(dir, &sb) != 0) {
		if (errno == ENOENT)
			return ERR_OK; /* the half has not run here yet */
		return err_errno(e, ERR_PERM, errno, "%s", dir);
	}
	out->present = 1;
	/* A compaction running meanwhile moves to the next generation and
	 * removes the old one: read again when the generation changed. */
	for (int attempt = 0; attempt < 5; attempt++) {
		struct oms_track t;
		uint64_t gen = newest_gen(dir);

		memset(&t, 0, sizeof(t));
		t.jfd = -1;
		t.nslots = 2048;
		if (!(t.slots = calloc(t.nslots, sizeof(*t.slots))))
			return err_set(e, ERR_TEMP, "out of memory");
		st = track_read(dir, gen ? gen : 1, &t, e);
		out->entries = t.n;
		out->tracked_open = 0;
		for (size_t i = 0; i < t.n; i++)
			out->tracked_open +=
			    (t.ents[i].flags & OMS_T_CREATED) && !(t.ents[i].flags & OMS_T_CLOSED);
		free(t.ents);
		free(t.slots);
		free(t.ids);
		if (st != ERR_OK || newest_gen(dir) == gen)
			break;
	}
	if (st != ERR_OK)
		return st == ERR_FATAL ? ERR_PERM : st;
	{
		struct half_status hs;

		half_status_read(dir, "oms", &hs);
		out->last_ok = hs.last_ok;
		out->alert_at = hs.alert_at;
		snprintf(out->alert, sizeof(out->alert), "%s", hs.alert);
	}
	return ERR_OK;
}

enum err_status oms_tracked_find(const char *root, int64_t issue, int64_t oid,
                                 const char *request_id, struct oms_tracked *out, struct err *e)
{
	char dir[SPOOL_PATH_MAX];
	struct stat sb;
	enum err_status st = ERR_OK;

	memset(out, 0, sizeof(*out));
	if (snprintf(dir, sizeof(dir), "%s/state/oms", root) >= (int)sizeof(dir))
		return err_set(e, ERR_PERM, "%s: path too long", root);
	if (stat(dir, &sb) != 0) {
		if (errno == ENOENT)
			return ERR_OK;
		return err_errno(e, ERR_PERM, errno, "%s", dir);
	}
	/* Read like oms_status_read: no lock, again if a compaction moved on. */
	for (int attempt = 0; attempt < 5; attempt++) {
		struct oms_track t;
		uint64_t gen = newest_gen(dir);

		memset(&t, 0, sizeof(t));
		memset(out, 0, sizeof(*out));
		t.jfd = -1;
		t.nslots = 2048;
		if (!(t.slots = calloc(t.nslots, sizeof(*t.slots))))
			return err_set(e, ERR_TEMP, "out of memory");
		st = track_read(dir, gen ? gen : 1, &t, e);
		for (size_t i = 0; st == ERR_OK && i < t.n && !out->found; i++) {
			const struct oms_entry *en = &t.ents[i];
			const char *rid = oms_track_id(&t, en);
			if ((issue && en->issue == issue) || (oid && en->oid == oid) ||
			    (request_id && rid && strcmp(rid, request_id) == 0)) {
				out->found = 1;
				out->issue = en->issue;
				out->oid = en->oid;
				out->type_id = en->type_id;
				out->flags = en->flags;
				snprintf(out->request_id, sizeof(out->request_id), "%s",
				         rid ? rid : "");
			}
		}
		free(t.ents);
		free(t.slots);
		free(t.ids);
		if (st != ERR_OK || newest_gen(dir) == gen)
			break;
	}
	return st == ERR_FATAL ? ERR_PERM : st;
}

void oms_tracked_flags_text(unsigned flags, char *out, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{OMS_T_INTENT, "create-in-doubt"}, {OMS_T_CREATED, "created"},
	             {OMS_T_ACKPEND, "ack-pending"},    {OMS_T_CLOSING, "close-pending"},
	             {OMS_T_CLOSED, "closed"},          {OMS_T_BLOCKED, "blocked"}};
	size_t k = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit) {
			int n = snprintf(out + k, size - k, "%s%s", k ? "," : "", names[i].name);
			if (n < 0 || (size_t)n >= size - k)
				break;
			k += (size_t)n;
		}
	if (!k)
		snprintf(out, size, "none");
}
