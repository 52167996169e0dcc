/*
 * spool_admin.c: listing, statistics, operator actions and import.  Every
 * action is a single rename (or a marker file), so it is safe while a
 * consumer runs: see "Operator actions" in spool.h.
 */
#include "spool_int.h"
#include "spool_clock.h"
#include "escape.h"
#include "jdoc.h"
#include "num.h"
#include "when.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct name_list {
	char **v;
	size_t n, alloc;
};

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int name_push(struct name_list *l, const char *s)
{
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 64;
		char **nv = realloc(l->v, na * sizeof(*nv));
		if (!nv)
			return -1;
		l->v = nv;
		l->alloc = na;
	}
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

static int is_aux_name(const char *name)
{
	return name[0] == '.' || strstr(name, ".why") != NULL || strstr(name, ".tmp") != NULL;
}

/* Record name inside a failed/hold name with a suffix (NAME.1, NAME.conflict). */
static void entry_fill(struct spool_entry *ent, enum spool_dir d, const char *dir, const char *name)
{
	char path[SPOOL_PATH_MAX], base[256];
	struct stat sb;
	char *x;

	memset(ent, 0, sizeof(*ent));
	ent->dir = d;
	snprintf(ent->name, sizeof(ent->name), "%s", name);
	snprintf(base, sizeof(base), "%s", name);
	if ((x = strstr(base, ".xml")) != NULL)
		x[4] = '\0';
	if (record_parse_file_name(base, &ent->seq, ent->producer) != 0) {
		ent->seq = 0;
		ent->producer[0] = '\0';
	}
	if (spool_join(path, dir, name, NULL) == ERR_OK && lstat(path, &sb) == 0) {
		ent->size = sb.st_size;
		ent->mtime = sb.st_mtime;
	}
}

/* A directory of the queue for reading, never through a link planted in
 * its place (spool_opendir); NULL with errno kept otherwise. */
static DIR *open_qdir(const char *path)
{
	DIR *d;

	return spool_opendir(path, &d, NULL) == ERR_OK ? d : NULL;
}

/*
 * Listing a directory in name order without holding its names.  Record
 * names start with the zero-padded sequence, so name order is sequence
 * order, then the rest of the name ("PRODUCER.xml").  One readdir pass
 * notes each producer's lowest and highest sequence; then the names are
 * computed in that order and looked up (lstat).  Sequences are dense in
 * a queue, so few lookups miss; when many would (a sparse directory),
 * or the directory holds any other name (failed/'s NAME.1, a stranger in
 * new/, tmp/, state/) or more producers than noted, the names are read
 * and sorted in memory instead.  Either way the order is the same.
 */
#define LIST_PRODUCERS 16

struct list_scan {
	struct {
		char producer[RECORD_PRODUCER_MAX + 1];
		char tail[RECORD_PRODUCER_MAX + 5]; /* "PRODUCER.xml" */
		uint64_t min, max, n, at;
	} p[LIST_PRODUCERS];
	size_t np;
	int odd;
};

static void list_note(struct list_scan *s, const char *name)
{
	char producer[RECORD_PRODUCER_MAX + 1], canon[RECORD_NAME_MAX];
	uint64_t seq;
	size_t i;

	if (record_parse_file_name(name, &seq, producer) != 0 || seq == 0) {
		s->odd = 1;
		return;
	}
	record_file_name(canon, seq, producer);
	if (strcmp(canon, name) != 0) {
		s->odd = 1;
		return;
	}
	for (i = 0; i < s->np && strcmp(s->p[i].producer, producer) != 0; i++)
		;
	if (i == s->np) {
		if (s->np == LIST_PRODUCERS) {
			s->odd = 1;
			return;
		}
		snprintf(s->p[i].producer, sizeof(s->p[i].producer), "%s", producer);
		snprintf(s->p[i].tail, sizeof(s->p[i].tail), "%s.xml", producer);
		s->p[i].min = s->p[i].max = seq;
		s->np++;
	}
	if (seq < s->p[i].min)
		s->p[i].min = seq;
	if (seq > s->p[i].max)
		s->p[i].max = seq;
	s->p[i].n++;
}

/* 1 if the scan found a dense directory of record names only. */
static int list_dense(const struct list_scan *s)
{
	uint64_t probes = 0, found = 0;

	if (s->odd)
		return 0;
	for (size_t i = 0; i < s->np; i++) {
		probes += s->p[i].max - s->p[i].min + 1;
		found += s->p[i].n;
	}
	return probes <= 4 * found + 4096;
}

/* The walk: every producer's cursor from its lowest sequence (or from)
 * to its highest (or to); the smallest name next. */
static void list_walk(struct list_scan *s, enum spool_dir d, const char *dir, uint64_t from,
                      uint64_t to, spool_entry_fn fn, void *ctx)
{
	char path[SPOOL_PATH_MAX];
	struct spool_entry ent;
	struct stat sb;

	for (size_t i = 0; i < s->np; i++)
		s->p[i].at = s->p[i].min > from ? s->p[i].min : from;
	for (;;) {
		size_t best = s->np;

		for (size_t i = 0; i < s->np; i++) {
			if (s->p[i].at == 0 || s->p[i].at > s->p[i].max || (to && s->p[i].at > to))
				continue; /* done (at wraps to 0 past UINT64_MAX) */
			if (best == s->np || s->p[i].at < s->p[best].at ||
			    (s->p[i].at == s->p[best].at &&
			     strcmp(s->p[i].tail, s->p[best].tail) < 0))
				best = i;
		}
		if (best == s->np)
			return;
		memset(&ent, 0, sizeof(ent));
		ent.dir = d;
		ent.seq = s->p[best].at++;
		record_file_name(ent.name, ent.seq, s->p[best].producer);
		if (spool_join(path, dir, ent.name, NULL) != ERR_OK || lstat(path, &sb) != 0)
			continue; /* a number not here (or taken meanwhile) */
		snprintf(ent.producer, sizeof(ent.producer), "%s", s->p[best].producer);
		ent.size = sb.st_size;
		ent.mtime = sb.st_mtime;
		if (fn(&ent, ctx) != 0)
			return;
	}
}

enum err_status spool_list(const char *root, const char *queue, enum spool_dir d, spool_entry_fn fn,
                           void *ctx, struct err *e)
{
	return spool_list_range(root, queue, d, 0, 0, fn, ctx, e);
}

enum err_status spool_list_range(const char *root, const char *queue, enum spool_dir d,
                                 uint64_t from, uint64_t to, spool_entry_fn fn, void *ctx,
                                 struct err *e)
{
	struct spool_entry ent;
	struct name_list l = {0};
	struct list_scan scan;
	char dir[SPOOL_PATH_MAX];
	enum err_status st;
	struct dirent *de;
	DIR *dh;

	st = spool_path(dir, root, queue, d, NULL, e);
	if (st != ERR_OK)
		return st;
	st = spool_opendir(dir, &dh, e);
	if (st != ERR_OK && errno == ENOENT) {
		err_clear(e);
		return ERR_OK; /* not created yet: empty */
	}
	if (st != ERR_OK)
		return st;
	memset(&scan, 0, sizeof(scan));
	scan.odd = d == SPOOL_TMP || d == SPOOL_STATE;
	while (!scan.odd && (de = readdir(dh)) != NULL) {
		if (is_aux_name(de->d_name))
			continue;
		list_note(&scan, de->d_name);
	}
	if (list_dense(&scan)) {
		closedir(dh);
		list_walk(&scan, d, dir, from, to, fn, ctx);
		return ERR_OK;
	}
	rewinddir(dh);
	while ((de = readdir(dh)) != NULL) {
		if (d != SPOOL_TMP && d != SPOOL_STATE && is_aux_name(de->d_name))
			continue;
		if (de->d_name[0] == '.')
			continue;
		if (name_push(&l, de->d_name) != 0) {
			st = err_set(e, ERR_TEMP, "out of memory");
			break;
		}
	}
	closedir(dh);
	/* Zero-padded sequences first: a name sort is a sequence sort. */
	if (st == ERR_OK && l.n)
		qsort(l.v, l.n, sizeof(*l.v), spool_name_cmp);
	for (size_t i = 0; st == ERR_OK && i < l.n; i++) {
		entry_fill(&ent, d, dir, l.v[i]);
		if (fn(&ent, ctx) != 0)
			break;
	}
	name_list_free(&l);
	return st;
}

enum err_status spool_read_record(const char *path, const struct sig_key *pub, struct record **out,
                                  int *verified, struct err *e)
{
	struct buf b = BUF_INIT_CAP(RECORD_MAX_BYTES);
	enum err_status st;

	*out = NULL;
	if (verified)
		*verified = 0;
	st = spool_read_file(path, &b, NULL, e);
	if (st == ERR_OK) {
		if (pub)
			st = record_decode(b.data, b.len, pub, out, e);
		else
			st = record_decode_unverified(b.data, b.len, out, e);
		if (st == ERR_OK && verified)
			*verified = pub != NULL;
		if (st != ERR_OK)
			err_prefix(e, "%s: ", path);
	}
	buf_release(&b);
	return st;
}

enum err_status spool_read_why(const char *root, const char *queue, enum spool_dir d,
                               const char *name, struct buf *out, struct err *e)
{
	char path[SPOOL_PATH_MAX], fname[300];
	enum err_status st;
	int missing = 0;

	snprintf(fname, sizeof(fname), "%s.why", name);
	st = spool_path(path, root, queue, d, fname, e);
	if (st != ERR_OK)
		return st;
	buf_reset(out);
	st = spool_read_file(path, out, &missing, e);
	if (missing) {
		err_clear(e);
		return ERR_OK;
	}
	return st;
}

struct stat_ctx {
	struct spool_stats *st;
	enum spool_dir d;
	uint64_t min_later; /* scratch for gap detection */
};

static int count_one(const struct spool_entry *ent, void *vctx)
{
	struct stat_ctx *x = vctx;

	x->st->count[x->d]++;
	if (x->d == SPOOL_NEW && ent->mtime &&
	    (!x->st->oldest_new || ent->mtime < x->st->oldest_new))
		x->st->oldest_new = ent->mtime;
	if (x->d == SPOOL_FAILED && strstr(ent->name, ".conflict"))
		x->st->conflicts++;
	return 0;
}

/* A name the consumer would take: "<20 digits>-<producer>.xml" exactly. */
static int is_record_name(const char *name)
{
	char canonical[RECORD_NAME_MAX], prod[RECORD_PRODUCER_MAX + 1];
	uint64_t seq;

	if (record_parse_file_name(name, &seq, prod) != 0)
		return 0;
	record_file_name(canonical, seq, prod);
	return strcmp(canonical, name) == 0;
}

/* Count files of one directory without sorting (cheap on big queues). */
static void count_dir(const char *dir, enum spool_dir d, struct spool_stats *st)
{
	struct spool_entry ent;
	struct stat_ctx x = {st, d, 0};
	struct dirent *de;
	DIR *dh = open_qdir(dir);

	if (!dh)
		return;
	while ((de = readdir(dh)) != NULL) {
		if (de->d_name[0] == '.' || (d != SPOOL_TMP && is_aux_name(de->d_name)))
			continue;
		if (d == SPOOL_NEW && !is_record_name(de->d_name)) {
			if (st->strangers < SPOOL_STRANGERS_SHOWN)
				snprintf(st->stranger[st->strangers], sizeof(st->stranger[0]), "%s",
				         de->d_name);
			st->strangers++;
			continue;
		}
		if (d == SPOOL_NEW || d == SPOOL_FAILED)
			entry_fill(&ent, d, dir, de->d_name);
		else
			snprintf(ent.name, sizeof(ent.name), "%s", de->d_name), ent.mtime = 0;
		count_one(&ent, &x);
	}
	closedir(dh);
}

/* Sequences of producer beyond next waiting in new/: how many, oldest mtime. */
static size_t later_in_new(const struct spool_q *q, const char *producer, uint64_t next,
                           time_t *oldest)
{
	char prod[RECORD_PRODUCER_MAX + 1], path[SPOOL_PATH_MAX];
	struct dirent *de;
	struct stat sb;
	size_t n = 0;
	uint64_t seq;
	DIR *d = open_qdir(q->dir[SPOOL_NEW]);

	*oldest = 0;
	while (d && (de = readdir(d)) != NULL) {
		if (record_parse_file_name(de->d_name, &seq, prod) != 0 || seq <= next ||
		    strcmp(prod, producer) != 0)
			continue;
		n++;
		if (spool_join(path, q->dir[SPOOL_NEW], de->d_name, NULL) == ERR_OK &&
		    stat(path, &sb) == 0 && (!*oldest || sb.st_mtime < *oldest))
			*oldest = sb.st_mtime;
	}
	if (d)
		closedir(d);
	return n;
}

/* When the consumer first saw the gap (state/gap-P), if it recorded it. */
static time_t gap_seen_since(const struct spool_q *q, const char *producer, uint64_t seq)
{
	char fname[RECORD_PRODUCER_MAX + 16], path[SPOOL_PATH_MAX], text[64];
	const char *end;
	uint64_t gs;
	int64_t since;
	ssize_t n;
	int fd;

	snprintf(fname, sizeof(fname), SPOOL_GAP_PREFIX "%s", producer);
	if (spool_join(path, q->dir[SPOOL_STATE], fname, NULL) != ERR_OK ||
	    (fd = spool_open_state(path, O_RDONLY, 0, NULL)) < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	/* "<seq> <since>\n", as gap_state_write leaves it */
	if (num_u64(text, 10, &end, &gs) != 0 || *end != ' ' ||
	    num_i64(end + 1, &end, &since) != 0 || (*end != '\n' && *end != '\0') || gs != seq)
		return 0;
	return (time_t)since;
}

/* A gap as the consumer's position files and new/ tell it. */
static void find_gap(const struct spool_q *q, unsigned alarm, struct spool_stats *st)
{
	char producer[RECORD_PRODUCER_MAX + 1], path[SPOOL_PATH_MAX], name[RECORD_NAME_MAX];
	size_t plen = strlen(SPOOL_NEXT_PREFIX);
	struct dirent *de;
	DIR *sd = open_qdir(q->dir[SPOOL_STATE]);

	while (sd && !st->gap.active && (de = readdir(sd)) != NULL) {
		time_t oldest, seen;
		uint64_t next;
		int fd;

		if (strncmp(de->d_name, SPOOL_NEXT_PREFIX, plen) != 0 ||
		    !record_producer_valid(de->d_name + plen))
			continue;
		snprintf(producer, sizeof(producer), "%s", de->d_name + plen);
		if (spool_join(path, q->dir[SPOOL_STATE], de->d_name, NULL) != ERR_OK ||
		    (fd = spool_open_state(path, O_RDONLY, 0, NULL)) < 0)
			continue;
		next = spool_counter_read(fd);
		close(fd);
		if (!next)
			next = 1;
		if (!st->next_seq)
			st->next_seq = next;
		record_file_name(name, next, producer);
		if (spool_join(path, q->dir[SPOOL_NEW], name, NULL) != ERR_OK ||
		    access(path, F_OK) == 0)
			continue;
		if (spool_join(path, q->dir[SPOOL_CUR], name, NULL) != ERR_OK ||
		    access(path, F_OK) == 0)
			continue;
		if (later_in_new(q, producer, next, &oldest) == 0)
			continue;
		st->gap.active = 1;
		snprintf(st->gap.producer, sizeof(st->gap.producer), "%s", producer);
		st->gap.seq = next;
		st->next_seq = next;
		seen = gap_seen_since(q, producer, next);
		st->gap.since = seen ? seen : oldest;
		st->gap.alarmed = spool_now() - st->gap.since >= (time_t)(alarm ? alarm : 3600);
	}
	if (sd)
		closedir(sd);
}

/* state/stuck-NAME notes (spool_consume.c) whose new/NAME is still there. */
static void count_stuck(const struct spool_q *q, struct spool_stats *st)
{
	const size_t plen = strlen(SPOOL_STUCK_PREFIX);
	struct dirent *de;
	DIR *dh = open_qdir(q->dir[SPOOL_STATE]);

	while (dh && (de = readdir(dh)) != NULL) {
		char path[SPOOL_PATH_MAX];
		const char *why;
		const char *name = de->d_name + plen;
		struct buf b;
		int missing = 0;
		size_t i = st->stuck;

		if (strncmp(de->d_name, SPOOL_STUCK_PREFIX, plen) != 0 || !is_record_name(name) ||
		    spool_join(path, q->dir[SPOOL_NEW], name, NULL) != ERR_OK ||
		    access(path, F_OK) != 0)
			continue;
		st->stuck++;
		if (i >= SPOOL_STRANGERS_SHOWN)
			continue;
		snprintf(st->stuck_name[i], sizeof(st->stuck_name[i]), "%s", name);
		buf_init(&b, sizeof(st->stuck_why[i]) * 2);
		if (spool_join(path, q->dir[SPOOL_STATE], de->d_name, NULL) == ERR_OK &&
		    spool_read_file(path, &b, &missing, NULL) == ERR_OK) {
			why = buf_str(&b);
			snprintf(st->stuck_why[i], sizeof(st->stuck_why[i]), "%.*s",
			         (int)strcspn(why, "\n"), why);
		}
		buf_release(&b);
	}
	if (dh)
		closedir(dh);
}

/* What in state/ is not a regular file (only regular files belong
 * there); by lstat, never opened. */
static void count_state_strangers(const struct spool_q *q, struct spool_stats *st)
{
	struct dirent *de;
	DIR *dh = open_qdir(q->dir[SPOOL_STATE]);

	while (dh && (de = readdir(dh)) != NULL) {
		char path[SPOOL_PATH_MAX];
		enum spool_entry_type t;
		size_t i = st->state_strangers;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    spool_join(path, q->dir[SPOOL_STATE], de->d_name, NULL) != ERR_OK)
			continue;
		t = spool_entry_type_of(path);
		if (t == SPOOL_ENTRY_REGULAR || t == SPOOL_ENTRY_MISSING ||
		    t == SPOOL_ENTRY_UNREADABLE)
			continue;
		st->state_strangers++;
		if (i >= SPOOL_STATE_STRANGERS_SHOWN)
			continue;
		snprintf(st->state_stranger[i], sizeof(st->state_stranger[i]), "%s", de->d_name);
		st->state_stranger_type[i] = t;
	}
	if (dh)
		closedir(dh);
}

enum err_status spool_stats(const char *root, const char *queue, unsigned gap_alarm_seconds,
                            struct spool_stats *st, struct err *e)
{
	struct spool_q *q = malloc(sizeof(*q));
	enum err_status s;

	memset(st, 0, sizeof(*st));
	if (!q)
		return err_set(e, ERR_TEMP, "out of memory");
	s = spool_q_init(q, root, queue, 0, e);
	if (s == ERR_OK) {
		for (int d = 0; d < SPOOL_NDIRS; d++)
			if (d != SPOOL_STATE)
				count_dir(q->dir[d], (enum spool_dir)d, st);
		find_gap(q, gap_alarm_seconds, st);
		count_stuck(q, st);
		count_state_strangers(q, st);
	}
	free(q);
	return s;
}

void spool_stats_json_state_strangers(struct jdoc *d, struct cJSON *obj,
                                      const struct spool_stats *st)
{
	cJSON *a;

	if (!st->state_strangers)
		return;
	jdoc_number(d, obj, "state_strangers", (double)st->state_strangers);
	a = jdoc_array(d, obj, "state_stranger_entries");
	for (size_t i = 0; a && i < st->state_strangers && i < SPOOL_STATE_STRANGERS_SHOWN; i++) {
		char name[ESCAPE_DISPLAY_MAX(255)], one[ESCAPE_DISPLAY_MAX(255) + 64];

		snprintf(one, sizeof(one), "%s: %s",
		         escape_display(st->state_stranger[i], name, sizeof(name)),
		         spool_entry_type_name(st->state_stranger_type[i]));
		jdoc_string(d, a, NULL, one);
	}
}

/* A record name as an operator typed it: no paths, a record name with an
 * optional suffix (failed/ keeps NAME.1, NAME.conflict). */
static enum err_status check_name(const char *name, char base[RECORD_NAME_MAX], struct err *e)
{
	char prod[RECORD_PRODUCER_MAX + 1], tmp[256];
	uint64_t seq;
	char *x;

	if (!name || !*name || strchr(name, '/') || strlen(name) >= sizeof(tmp) ||
	    is_aux_name(name))
		return err_set(e, ERR_PERM, "'%s' is not a record file name", name ? name : "");
	snprintf(tmp, sizeof(tmp), "%s", name);
	if ((x = strstr(tmp, ".xml")) != NULL)
		x[4] = '\0';
	if (record_parse_file_name(tmp, &seq, prod) != 0 || strlen(tmp) >= RECORD_NAME_MAX)
		return err_set(e, ERR_PERM, "'%s' is not a record file name", name);
	memcpy(base, tmp, strlen(tmp) + 1);
	return ERR_OK;
}

static enum err_status ask_rescan(const struct spool_q *q)
{
	char path[SPOOL_PATH_MAX];

	if (spool_join(path, q->dir[SPOOL_STATE], SPOOL_RESCAN, NULL) == ERR_OK &&
	    access(path, F_OK) == 0)
		return ERR_OK;
	spool_write_atomic(q->dir[SPOOL_TMP], q->dir[SPOOL_STATE], SPOOL_RESCAN, "", 0, 0, NULL);
	return ERR_OK;
}

/* Keep an old .why beside, renamed: nothing in failed/ is ever deleted. */
static void retire_why(const char *dir, const char *name, const char *tag)
{
	char from[SPOOL_PATH_MAX], to[SPOOL_PATH_MAX + 64], fname[300];

	snprintf(fname, sizeof(fname), "%s.why", name);
	if (spool_join(from, dir, fname, NULL) != ERR_OK || access(from, F_OK) != 0)
		return;
	snprintf(to, sizeof(to), "%s.%s-%lld", from, tag, (long long)spool_now());
	rename(from, to);
}

static enum err_status move_one(const struct spool_q *q, enum spool_dir from, const char *name,
                                enum spool_dir to, const char *to_name, struct err *e)
{
	char src[SPOOL_PATH_MAX], dst[SPOOL_PATH_MAX], cur[SPOOL_PATH_MAX];
	enum err_status st;
	int exists = 0;

	st = spool_join(src, q->dir[from], name, e);
	if (st == ERR_OK)
		st = spool_join(dst, q->dir[to], to_name, e);
	if (st != ERR_OK)
		return st;
	if (access(src, F_OK) != 0) {
		if (from == SPOOL_NEW && spool_join(cur, q->dir[SPOOL_CUR], name, NULL) == ERR_OK &&
		    access(cur, F_OK) == 0)
			return err_set(e, ERR_TEMP,
			               "%s: claimed by the consumer right now; try "
			               "again",
			               name);
		return err_set(e, ERR_PERM, "%s: not in %s/", name, spool_dir_name(from));
	}
	st = spool_rename_noreplace(src, dst, &exists, e);
	if (st != ERR_OK && !exists && access(src, F_OK) != 0)
		return err_set(e, ERR_TEMP, "%s: taken by the consumer meanwhile; try again", name);
	return st;
}

static enum err_status with_queue(const char *root, const char *queue, struct spool_q **q,
                                  int create, struct err *e)
{
	*q = malloc(sizeof(**q));
	if (!*q)
		return err_set(e, ERR_TEMP, "out of memory");
	return spool_q_init(*q, root, queue, create, e);
}

enum err_status spool_hold(const char *root, const char *queue, const char *name, struct err *e)
{
	char base[RECORD_NAME_MAX];
	struct spool_q *q = NULL;
	enum err_status st;

	st = check_name(name, base, e);
	if (st == ERR_OK)
		st = with_queue(root, queue, &q, 0, e);
	if (st == ERR_OK)
		st = move_one(q, SPOOL_NEW, name, SPOOL_HOLD, name, e);
	free(q);
	return st;
}

enum err_status spool_retry_now(const char *root, const char *queue, struct err *e)
{
	struct spool_q *q = NULL;
	enum err_status st = with_queue(root, queue, &q, 0, e);

	if (st == ERR_OK)
		st = spool_write_atomic(q->dir[SPOOL_TMP], q->dir[SPOOL_STATE], SPOOL_RETRY_NOW, "",
		                        0, 0, e);
	if (st == ERR_PERM) /* asked already, not yet seen: one request is enough */
		st = ERR_OK;
	free(q);
	return st;
}

/* Put a held or failed record back into new/ out of sequence order; its
 * .why is kept under another name, and the consumer is told to look. */
static enum err_status reinject(const char *root, const char *queue, const char *name,
                                enum spool_dir from, const char *verb, struct err *e)
{
	char base[RECORD_NAME_MAX];
	struct spool_q *q = NULL;
	enum err_status st;

	st = check_name(name, base, e);
	if (st == ERR_OK)
		st = with_queue(root, queue, &q, 0, e);
	if (st == ERR_OK)
		st = move_one(q, from, name, SPOOL_NEW, base, e);
	if (st == ERR_OK) {
		retire_why(q->dir[from], name, verb);
		ask_rescan(q);
	}
	free(q);
	return st;
}

enum err_status spool_release(const char *root, const char *queue, const char *name, struct err *e)
{
	return reinject(root, queue, name, SPOOL_HOLD, "released", e);
}

enum err_status spool_retry(const char *root, const char *queue, const char *name, struct err *e)
{
	return reinject(root, queue, name, SPOOL_FAILED, "retried", e);
}

/* A record of producer/seq is in one of the directories from..to. */
static int seq_in(const struct spool_q *q, const char *producer, uint64_t seq, enum spool_dir from,
                  enum spool_dir to)
{
	char name[RECORD_NAME_MAX], path[SPOOL_PATH_MAX];

	record_file_name(name, seq, producer);
	for (int d = (int)from; d <= (int)to; d++)
		if (spool_join(path, q->dir[d], name, NULL) == ERR_OK && access(path, F_OK) == 0)
			return 1;
	return 0;
}

/* Anywhere in the queue: no marker needed (the consumer passes or claims
 * it by itself). */
static int seq_present(const struct spool_q *q, const char *producer, uint64_t seq)
{
	return seq_in(q, producer, seq, SPOOL_NEW, SPOOL_HOLD);
}

/* One marker, unsynced (the caller fsyncs state/ once); already there
 * is fine (asked twice). */
static enum err_status skip_marker(const struct spool_q *q, const char *producer, uint64_t seq,
                                   struct err *e)
{
	char fname[RECORD_PRODUCER_MAX + 48], tname[RECORD_PRODUCER_MAX + 96];
	char tmp[SPOOL_PATH_MAX], dst[SPOOL_PATH_MAX];
	enum err_status st;
	int exists = 0;

	snprintf(fname, sizeof(fname), SPOOL_SKIP_PREFIX "%s-%llu", producer,
	         (unsigned long long)seq);
	snprintf(tname, sizeof(tname), "%s.%ld.tmp", fname, (long)getpid());
	st = spool_join(tmp, q->dir[SPOOL_TMP], tname, e);
	if (st == ERR_OK)
		st = spool_join(dst, q->dir[SPOOL_STATE], fname, e);
	if (st != ERR_OK)
		return st;
	unlink(tmp);
	st = spool_write_tmp(tmp, "", 0, 0, e);
	if (st == ERR_OK)
		st = spool_rename_noreplace(tmp, dst, &exists, e);
	if (st != ERR_OK)
		unlink(tmp);
	return exists ? err_set(e, ERR_OK, "%s", "") : st;
}

enum err_status spool_skip_range(const char *root, const char *queue, const char *producer,
                                 uint64_t first, uint64_t last, struct err *e)
{
	struct spool_q *q = NULL;
	enum err_status st;

	if (!record_producer_valid(producer) || first == 0 || last < first)
		return err_set(e, ERR_PERM, "invalid producer '%s' or sequence range %llu..%llu",
		               producer ? producer : "", (unsigned long long)first,
		               (unsigned long long)last);
	if (last - first >= SPOOL_SKIP_MAX)
		return err_set(e, ERR_PERM, "skip %s %llu..%llu: more than %d sequences", producer,
		               (unsigned long long)first, (unsigned long long)last, SPOOL_SKIP_MAX);
	st = with_queue(root, queue, &q, 0, e);
	for (uint64_t s = first; st == ERR_OK; s++) {
		if (first == last || !seq_present(q, producer, s))
			st = skip_marker(q, producer, s, e);
		if (s == last)
			break;
	}
	if (st == ERR_OK)
		st = spool_sync_dir(q->dir[SPOOL_STATE], e);
	free(q);
	return st;
}

enum err_status spool_skip(const char *root, const char *queue, const char *producer, uint64_t seq,
                           struct err *e)
{
	return spool_skip_range(root, queue, producer, seq, seq, e);
}

/* The consumer's position for producer (its hint file; 1 if none). */
static uint64_t consumer_position(const struct spool_q *q, const char *producer)
{
	char fname[RECORD_PRODUCER_MAX + 16], path[SPOOL_PATH_MAX];
	uint64_t next = 0;
	int fd;

	snprintf(fname, sizeof(fname), SPOOL_NEXT_PREFIX "%s", producer);
	if (spool_join(path, q->dir[SPOOL_STATE], fname, NULL) == ERR_OK &&
	    (fd = spool_open_state(path, O_RDONLY, 0, NULL)) >= 0) {
		next = spool_counter_read(fd);
		close(fd);
	}
	return next ? next : 1;
}

/* Lowest sequence of producer in new/ at or above from; 0 if none. */
static uint64_t lowest_in_new(const struct spool_q *q, const char *producer, uint64_t from)
{
	char prod[RECORD_PRODUCER_MAX + 1];
	struct dirent *de;
	uint64_t seq, low = 0;
	DIR *d = open_qdir(q->dir[SPOOL_NEW]);

	while (d && (de = readdir(d)) != NULL)
		if (record_parse_file_name(de->d_name, &seq, prod) == 0 &&
		    strcmp(prod, producer) == 0 && seq >= from && (!low || seq < low))
			low = seq;
	if (d)
		closedir(d);
	return low;
}

enum err_status spool_skip_gap(const char *root, const char *queue, const char *producer,
                               uint64_t *first, uint64_t *last, struct err *e)
{
	struct spool_q *q = NULL;
	enum err_status st;
	uint64_t pos, low;

	*first = *last = 0;
	if (!record_producer_valid(producer))
		return err_set(e, ERR_PERM, "invalid producer '%s'", producer ? producer : "");
	st = with_queue(root, queue, &q, 0, e);
	if (st != ERR_OK)
		goto out;
	pos = consumer_position(q, producer);
	/* The hint may lag: the consumer passes what is already settled. */
	while (seq_in(q, producer, pos, SPOOL_DONE, SPOOL_HOLD))
		pos++;
	low = lowest_in_new(q, producer, pos);
	if (!low) {
		st =
		    err_set(e, ERR_TEMP, "%s: no gap: no record of %s at or after seq %llu in new/",
		            queue, producer, (unsigned long long)pos);
		goto out;
	}
	if (low == pos || seq_in(q, producer, pos, SPOOL_CUR, SPOOL_CUR)) {
		st = err_set(e, ERR_TEMP, "%s: no gap: %s seq %llu is waiting in new/", queue,
		             producer, (unsigned long long)pos);
		goto out;
	}
	*first = pos;
	*last = low - 1;
	free(q);
	return spool_skip_range(root, queue, producer, pos, low - 1, e);
out:
	free(q);
	return st;
}

/* A name failed/ may hold: the record name, or it with ".N", ".conflict"
 * or ".conflict.N" (spool_free_name and quarantine add these). */
static int failed_name_canonical(const char *name, const char *base)
{
	size_t n = strlen(base);
	const char *x = name + n;

	if (strncmp(name, base, n) != 0)
		return 0;
	if (!*x)
		return 1;
	if (*x++ != '.')
		return 0;
	if (strncmp(x, "conflict", 8) == 0) {
		x += 8;
		if (!*x)
			return 1;
		if (*x++ != '.')
			return 0;
	}
	if (!*x || *x == '0')
		return 0;
	for (; *x; x++)
		if (*x < '0' || *x > '9')
			return 0;
	return 1;
}

/* One line of operator text for a .why: at most size - 1 bytes, control
 * characters as '?'. */
static void one_line(char *out, size_t size, const char *in)
{
	size_t n = in ? strnlen(in, size - 1) : 0;

	if (n)
		memcpy(out, in, n);
	out[n] = '\0';
	err_one_line(out);
}

/* The failure's reason: the "reason: " line of failed/NAME.why, read
 * like every .why (spool_read_why: never through a link or a FIFO). */
static void failed_reason(const char *root, const char *queue, const char *name, char *out,
                          size_t size)
{
	struct buf why;
	struct err e;
	const char *line;

	snprintf(out, size, "(no .why)");
	buf_init(&why, 0);
	err_clear(&e);
	if (spool_read_why(root, queue, SPOOL_FAILED, name, &why, &e) == ERR_OK && why.len) {
		for (line = buf_str(&why); line; line = strchr(line, '\n')) {
			line += *line == '\n';
			if (strncmp(line, "reason: ", 8) == 0) {
				char first[1024];

				snprintf(first, sizeof(first), "%.*s", (int)strcspn(line + 8, "\n"),
				         line + 8);
				one_line(out, size, first);
				break;
			}
		}
	}
	buf_release(&why);
}

enum err_status spool_dismiss(const char *root, const char *queue, const char *name,
                              const char *who, const char *reason, char *out_name, struct err *e)
{
	char base[RECORD_NAME_MAX], fname[RECORD_NAME_MAX + 32], was[600], text[3000];
	char why_who[256], why_text[1024], when[32], src[SPOOL_PATH_MAX], dst[SPOOL_PATH_MAX];
	struct spool_q *q = NULL;
	enum err_status st;
	time_t now = spool_now();
	int n;

	st = check_name(name, base, e);
	if (st == ERR_OK && !failed_name_canonical(name, base))
		st = err_set(e, ERR_PERM, "'%s' is not a record file name as failed/ keeps them",
		             name);
	one_line(why_text, sizeof(why_text), reason);
	one_line(why_who, sizeof(why_who), who);
	if (st == ERR_OK && (!reason || !reason[strspn(reason, " \t\r\n")]))
		st = err_set(e, ERR_PERM, "%s: a reason is required to dismiss a record", name);
	if (st == ERR_OK && !why_who[0])
		st = err_set(e, ERR_PERM, "%s: who dismisses it is not known", name);
	if (st == ERR_OK)
		st = with_queue(root, queue, &q, 0, e);
	if (st == ERR_OK)
		st = spool_join(src, q->dir[SPOOL_FAILED], name, e);
	if (st == ERR_OK && access(src, F_OK) != 0)
		st = err_set(e, ERR_PERM, "%s: not in failed/ (only a failed record is dismissed)",
		             name);
	if (st != ERR_OK)
		goto out;
	/* Readers need only the queue: dismissed/ may not exist yet. */
	if (mkdir(q->dir[SPOOL_DISMISSED], 0750) != 0 && errno != EEXIST) {
		st = err_errno(e, spool_errno_status(errno), errno, "%s", q->dir[SPOOL_DISMISSED]);
		goto out;
	}
	st = spool_free_name(q->dir[SPOOL_DISMISSED], name, fname, sizeof(fname), e);
	if (st != ERR_OK)
		goto out;
	failed_reason(root, queue, name, was, sizeof(was));
	when_utc(now, when);
	n = snprintf(text, sizeof(text),
	             "reason: dismissed by %s: %s\ndismissed_by: %s\ndismissed_at: %s\n"
	             "dismissed_reason: %s\nfailed_as: %s\nfailed_reason: %s\n",
	             why_who, why_text, why_who, when, why_text, name, was);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		st = err_set(e, ERR_PERM, "%s: the reason is too long", name);
		goto out;
	}
	{
		char why_name[RECORD_NAME_MAX + 40];
		snprintf(why_name, sizeof(why_name), "%s.why", fname);
		st = spool_write_atomic(q->dir[SPOOL_TMP], q->dir[SPOOL_DISMISSED], why_name, text,
		                        (size_t)n, 1, e);
	}
	if (st != ERR_OK)
		goto out;
	st = spool_join(dst, q->dir[SPOOL_DISMISSED], fname, e);
	if (st == ERR_OK)
		st = spool_rename_noreplace(src, dst, NULL, e);
	if (st != ERR_OK) {
		char why_path[SPOOL_PATH_MAX + 8];
		snprintf(why_path, sizeof(why_path), "%s.why", dst);
		unlink(why_path);
		goto out;
	}
	/* The failure's own .why goes along, kept. */
	{
		char from[SPOOL_PATH_MAX + 8], to[SPOOL_PATH_MAX + 16];
		snprintf(from, sizeof(from), "%s.why", src);
		snprintf(to, sizeof(to), "%s.why.failed", dst);
		if (access(from, F_OK) == 0)
			rename(from, to);
	}
	spool_sync_dir(q->dir[SPOOL_DISMISSED], NULL);
	if (out_name)
		snprintf(out_name, RECORD_NAME_MAX + 32, "%s", fname);
out:
	free(q);
	return st;
}
