/*
 * history.c: the queues over time (see history.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "gen.h"
#include "history.h"
#include "log.h"
#include "spool.h"

#define HISTORY_PREFIX "history."
#define LINE_MAX_LEN   128

const char *history_queue_name(enum history_queue q)
{
	return q == HISTORY_OUTBOUND ? "outbound" : q == HISTORY_INBOUND ? "inbound" : "?";
}

/* One decimal number at *p (digits only, at most HISTORY_NUM_MAX), then
 * one space or the end of the line.  0 when it is not one. */
static int number(const char **p, const char *end, int64_t *out)
{
	const char *q = *p;
	int64_t v = 0;

	if (q >= end || *q < '0' || *q > '9')
		return 0;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (*q - '0');
		if (v > HISTORY_NUM_MAX)
			return 0;
	}
	if (q < end && *q != ' ')
		return 0;
	*out = v;
	*p = q < end ? q + 1 : q;
	return 1;
}

static int parse_line(const char *p, const char *end, struct history_sample *s)
{
	int64_t v[5];

	for (int i = 0; i < 5; i++)
		if (!number(&p, end, &v[i]))
			return 0;
	if (p != end)
		return 0;
	s->at = v[0];
	s->waiting[HISTORY_OUTBOUND] = v[1];
	s->oldest[HISTORY_OUTBOUND] = v[2];
	s->waiting[HISTORY_INBOUND] = v[3];
	s->oldest[HISTORY_INBOUND] = v[4];
	return 1;
}

/* Keep the newest HISTORY_MAX: drop the oldest when full. */
static void push(struct history *h, const struct history_sample *s)
{
	if (h->n == HISTORY_MAX) {
		memmove(&h->s[0], &h->s[1], (HISTORY_MAX - 1) * sizeof(h->s[0]));
		h->n--;
	}
	h->s[h->n++] = *s;
}

enum err_status history_parse(const char *text, size_t len, struct history *h, struct err *e)
{
	const char *p = text, *end = text + len;
	size_t ml = strlen(HISTORY_MAGIC);

	h->n = 0;
	h->skipped = 0;
	if (len < ml || memcmp(text, HISTORY_MAGIC, ml) != 0 || (len > ml && text[ml] != '\n'))
		return err_set(e, ERR_PERM, "not a history file (no \"%s\" line)", HISTORY_MAGIC);
	p += ml;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		struct history_sample s;

		if (le > p) {
			if (le - p > LINE_MAX_LEN || !parse_line(p, le, &s) ||
			    (h->n && s.at <= h->s[h->n - 1].at))
				h->skipped++;
			else
				push(h, &s);
		}
		p = nl ? nl + 1 : end;
	}
	return ERR_OK;
}

static void state_dir_of(const struct cfg *c, char out[SPOOL_PATH_MAX])
{
	snprintf(out, SPOOL_PATH_MAX, "%.*s/state/%s", SPOOL_PATH_MAX - 16, c->spool.root,
	         cfg_half_name(c->half));
}

enum err_status history_load(const char *state_dir, struct history *h, int *present, struct err *e)
{
	char path[SPOOL_PATH_MAX + 64];
	enum spool_entry_type type;
	struct buf text;
	enum err_status st;

	h->n = 0;
	h->skipped = 0;
	*present = 0;
	buf_init(&text, 0);
	if (spool_read_newest(state_dir, HISTORY_PREFIX, HISTORY_FILE_MAX, &text, path,
	                      sizeof(path), &type, e) != ERR_OK) {
		buf_release(&text);
		e->status = ERR_PERM;
		return ERR_PERM;
	}
	if (type == SPOOL_ENTRY_MISSING) {
		buf_release(&text);
		return ERR_OK;
	}
	st = history_parse(text.data ? text.data : "", text.len, h, e);
	buf_release(&text);
	if (st != ERR_OK)
		return err_set(e, ERR_PERM, "%s: not a history file", path);
	*present = 1;
	return ERR_OK;
}

enum err_status history_append(const char *state_dir, const struct history_sample *s, struct err *e)
{
	struct history *h = calloc(1, sizeof(*h));
	struct buf b = BUF_INIT_CAP(HISTORY_FILE_MAX);
	size_t keep = 0;
	int present;
	enum err_status st;

	if (!h)
		return err_set(e, ERR_TEMP, "out of memory");
	/* A damaged file is replaced: the history is only a picture. */
	if (history_load(state_dir, h, &present, e) != ERR_OK) {
		h->n = 0;
		err_clear(e);
	}
	/* A clock set back: the samples after the new one go. */
	while (keep < h->n && h->s[keep].at < s->at)
		keep++;
	h->n = keep;
	push(h, s);
	st = buf_adds(&b, HISTORY_MAGIC "\n");
	for (size_t i = 0; i < h->n && st == ERR_OK; i++) {
		const struct history_sample *x = &h->s[i];

		st = buf_addf(&b, "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
		              x->at, x->waiting[0], x->oldest[0], x->waiting[1], x->oldest[1]);
	}
	if (st != ERR_OK) {
		st = err_set(e, st, "%s: cannot build the history (out of memory)", state_dir);
		goto out;
	}
	st = spool_write_next(state_dir, HISTORY_PREFIX, b.data, b.len, e);
out:
	buf_release(&b);
	free(h);
	return st;
}

/* A clamp: a record's mtime in the future is no negative age. */
static int64_t age(time_t now, time_t oldest)
{
	return oldest && now > oldest ? (int64_t)(now - oldest) : 0;
}

enum err_status history_sample(const struct cfg *c, time_t now, struct err *e)
{
	static const char *const queues[HISTORY_QUEUES] = {"outbound", "inbound"};
	char dir[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX + 64];
	struct history_sample s;
	struct stat sb;
	uint64_t gen;

	state_dir_of(c, dir);
	if (gen_list(dir, HISTORY_PREFIX, &gen, 1) == 1) {
		snprintf(path, sizeof(path), "%s/" HISTORY_PREFIX "%020" PRIu64, dir, gen);
		/* Spacing by the file's own time: no state to keep in the half.
		 * A time in the future (a clock set back) does not stop it. */
		if (lstat(path, &sb) == 0 && sb.st_mtime <= now &&
		    now - sb.st_mtime < HISTORY_EVERY)
			return ERR_OK;
	}
	memset(&s, 0, sizeof(s));
	s.at = (int64_t)now;
	for (int q = 0; q < HISTORY_QUEUES; q++) {
		struct spool_stats st;
		char qdir[SPOOL_PATH_MAX + 16];

		/* A queue that does not exist yet has nothing waiting. */
		snprintf(qdir, sizeof(qdir), "%s/%s", c->spool.root, queues[q]);
		if (stat(qdir, &sb) != 0 && errno == ENOENT)
			continue;
		if (spool_stats(c->spool.root, queues[q], c->spool.gap_alarm_seconds, &st, e) !=
		    ERR_OK)
			return e->status;
		s.waiting[q] = (int64_t)st.count[SPOOL_NEW];
		s.oldest[q] = age(now, st.oldest_new);
	}
	return history_append(dir, &s, e);
}

void history_tick(const struct cfg *c)
{
	struct err e;

	err_clear(&e);
	if (history_sample(c, time(NULL), &e) != ERR_OK)
		log_warn("event=history-not-saved why=%s", log_q(e.msg));
}
