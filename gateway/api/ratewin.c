/*
 * ratewin.c: the persisted sliding-window rate budget (see ratewin.h).
 */
#include "ratewin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "num.h"
#include "unconst.h"
#include "when.h"

#define RATEWIN_FILE_MAX ((size_t)256 * 1024)

struct call {
	uint64_t ms;
	uint64_t owner;
	int done;
};

struct ratewin {
	int fd;
	char *path;
	struct ratewin_opts o;
	uint64_t seq;
	int writable; /* 0: ratewin_peek's read-only look */
	int dirty;    /* load() changed what it read: store it back */
	/* the file as last read, under the lock */
	uint64_t hold, ban;
	struct call *calls;
	size_t n, cap;
};

static uint64_t real_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_of(const struct ratewin *w)
{
	return w->o.now_ms ? w->o.now_ms(w->o.ctx) : real_now(NULL);
}

/* When the call counts as made (see ratewin.h). */
static uint64_t call_time(const struct ratewin_opts *o, const struct call *c, uint64_t now)
{
	uint64_t t = c->done ? c->ms : c->ms + o->pending_ms;

	return t < now ? t : now;
}

static int push(struct ratewin *w, uint64_t ms, uint64_t owner, int done)
{
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 32;
		struct call *nn = realloc(w->calls, nc * sizeof(*nn));

		if (!nn)
			return -1;
		w->calls = nn;
		w->cap = nc;
	}
	w->calls[w->n].ms = ms;
	w->calls[w->n].owner = owner;
	w->calls[w->n].done = done;
	w->n++;
	return 0;
}

/* Parse text into w; -1 if it is not a complete file. */
static int parse(struct ratewin *w, char *text, uint64_t now)
{
	char *line, *save = NULL;
	size_t want = (size_t)-1;
	int first = 1;

	w->n = 0;
	w->hold = w->ban = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t a, b;
		const char *end;
		char st;

		if (first) {
			if (strcmp(line, "scfgate-rate 1") != 0)
				return -1;
			first = 0;
		} else if (num_u64(num_after(line, "hold "), 10, &end, &a) == 0 && *end == '\0') {
			w->hold = a;
		} else if (num_u64(num_after(line, "ban "), 10, &end, &a) == 0 && *end == '\0') {
			w->ban = a;
		} else if (num_u64(num_after(line, "call "), 10, &end, &a) == 0 && end[0] == ' ' &&
		           ((st = end[1]) == 'd' || st == 's') && end[2] == ' ' &&
		           num_u64(end + 3, 10, &end, &b) == 0 && *end == '\0') {
			/* the wall clock was set back: the call was made now at the latest */
			w->dirty |= a > now;
			if (push(w, a > now ? now : a, b, st == 'd'))
				return -1;
		} else if (num_u64(num_after(line, "end "), 10, &end, &a) == 0 && *end == '\0') {
			want = (size_t)a;
			break;
		} else {
			return -1;
		}
	}
	return want == w->n ? 0 : -1;
}

/* Read the file (under the lock).  A file that is empty is a fresh
 * budget; one that does not parse is a budget spent just now. */
static enum err_status store(struct ratewin *w, uint64_t now, int sync, struct err *e);

static enum err_status load(struct ratewin *w, uint64_t now, struct err *e)
{
	struct buf b = BUF_INIT_CAP(RATEWIN_FILE_MAX);
	char chunk[4096];
	off_t off = 0;
	ssize_t r;

	while ((r = pread(w->fd, chunk, sizeof(chunk), off)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			buf_release(&b);
			return err_set(e, ERR_TEMP, "%s: %s", w->path, strerror(errno));
		}
		if (buf_add(&b, chunk, (size_t)r) != ERR_OK)
			break; /* over the cap: not a file we wrote */
		off += r;
	}
	w->n = 0;
	w->hold = w->ban = 0;
	w->dirty = 0;
	if (b.len == 0 && off == 0) {
		buf_release(&b);
		return ERR_OK;
	}
	if (buf_add(&b, "", 1) != ERR_OK || parse(w, b.data, now) != 0) {
		log_warn(
		    "event=rate-file-damaged path=%s action=\"the whole budget counts as spent "
		    "now\"",
		    w->path);
		w->n = 0;
		w->ban = 0;
		w->hold = now + w->o.window_ms;
		w->dirty = 1;
	}
	buf_release(&b);
	/* what was damaged or clamped is decided once, not at every look */
	if (w->dirty && w->writable)
		return store(w, now, 1, e);
	return ERR_OK;
}

static enum err_status store(struct ratewin *w, uint64_t now, int sync, struct err *e)
{
	struct buf b = BUF_INIT_CAP(RATEWIN_FILE_MAX);
	size_t kept = 0, off = 0;
	enum err_status s;

	s = buf_addf(&b, "scfgate-rate 1\nhold %" PRIu64 "\nban %" PRIu64 "\n",
	             w->hold > now ? w->hold : 0, w->ban > now ? w->ban : 0);
	for (size_t i = 0; s == ERR_OK && i < w->n; i++) {
		if (call_time(&w->o, &w->calls[i], now) + w->o.window_ms <= now &&
		    (w->calls[i].done || w->calls[i].ms + w->o.pending_ms <= now))
			continue; /* out of the window for good */
		s = buf_addf(&b, "call %" PRIu64 " %c %" PRIu64 "\n", w->calls[i].ms,
		             w->calls[i].done ? 'd' : 's', w->calls[i].owner);
		kept++;
	}
	if (s == ERR_OK)
		s = buf_addf(&b, "end %zu\n", kept);
	if (s != ERR_OK) {
		buf_release(&b);
		return err_set(e, ERR_TEMP, "%s: out of memory", w->path);
	}
	while (off < b.len) {
		ssize_t r = pwrite(w->fd, b.data + off, b.len - off, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		off += (size_t)r;
	}
	if (ftruncate(w->fd, (off_t)b.len) != 0 || (sync && fdatasync(w->fd) != 0))
		goto fail;
	buf_release(&b);
	return ERR_OK;
fail:
	s = err_set(e, ERR_TEMP, "%s: cannot write the rate budget: %s", w->path, strerror(errno));
	buf_release(&b);
	return s;
}

static enum err_status lock(struct ratewin *w, struct err *e)
{
	while (flock(w->fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return err_set(e, ERR_TEMP, "%s: lock: %s", w->path, strerror(errno));
	return ERR_OK;
}

static void unlock(struct ratewin *w)
{
	flock(w->fd, LOCK_UN);
}

/* The window file: never a link followed or a FIFO waited on, only a
 * regular file (ELOOP or EINVAL otherwise, in errno). */
static int open_window(const char *path, int flags)
{
	int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	struct stat sb;

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

enum err_status ratewin_open(struct ratewin **out, const char *path, const struct ratewin_opts *o,
                             struct err *e)
{
	struct ratewin *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w || !(w->path = strdup(path))) {
		free(w);
		return err_set(e, ERR_FATAL, "out of memory");
	}
	w->o = *o;
	if (w->o.limit < 1)
		w->o.limit = 1;
	if (w->o.window_ms < 1)
		w->o.window_ms = 1;
	w->fd = open_window(path, O_RDWR | O_CREAT);
	if (w->fd < 0) {
		enum err_status s = err_set(e, ERR_FATAL, "%s: cannot open the rate budget: %s",
		                            path, strerror(errno));

		free(w->path);
		free(w);
		return s;
	}
	w->seq = ((uint64_t)getpid() << 24);
	w->writable = 1;
	*out = w;
	return ERR_OK;
}

void ratewin_free(struct ratewin *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->calls);
	free(w->path);
	free(w);
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* How long until a call fits (0: now), from w as loaded. */
static uint64_t room(struct ratewin *w, uint64_t now)
{
	uint64_t *t, kth, wait = 0;
	size_t m = 0;

	if (w->hold > now)
		wait = w->hold - now;
	t = malloc((w->n + 1) * sizeof(*t));
	if (!t)
		return wait ? wait : 1000;
	for (size_t i = 0; i < w->n; i++) {
		uint64_t c = call_time(&w->o, &w->calls[i], now);

		if (c + w->o.window_ms > now)
			t[m++] = c;
	}
	if (m >= w->o.limit) {
		/* the limit-th most recent call must leave the window */
		qsort(t, m, sizeof(*t), cmp_desc);
		kth = t[w->o.limit - 1];
		if (kth + w->o.window_ms - now > wait)
			wait = kth + w->o.window_ms - now;
	}
	free(t);
	return wait;
}

enum err_status ratewin_acquire(struct ratewin *w, uint64_t *wait_ms, uint64_t *ticket,
                                struct err *e)
{
	uint64_t now = now_of(w);
	enum err_status s;

	*wait_ms = 0;
	*ticket = 0;
	s = lock(w, e);
	if (s != ERR_OK)
		return s;
	s = load(w, now, e);
	if (s != ERR_OK)
		goto out;
	if (w->ban > now) {
		char when[WHEN_UTC_SIZE];

		when_utc((int64_t)(w->ban / 1000), when);
		s = err_set(e, ERR_FATAL,
		            "ALERT: the API blocked this client (HTTP 403 \"forbidden by "
		            "administrative rules\"); no call is made before %s",
		            when);
		goto out;
	}
	*wait_ms = room(w, now);
	if (*wait_ms)
		goto out;
	*ticket = ++w->seq;
	if (push(w, now, *ticket, 0)) {
		s = err_set(e, ERR_TEMP, "%s: out of memory", w->path);
		goto out;
	}
	/* durable before the call leaves */
	s = store(w, now, 1, e);
out:
	unlock(w);
	return s;
}

void ratewin_release(struct ratewin *w, uint64_t ticket)
{
	uint64_t now = now_of(w);
	struct err e;

	if (!ticket || lock(w, &e))
		return;
	err_clear(&e);
	if (load(w, now, &e) == ERR_OK) {
		for (size_t i = 0; i < w->n; i++)
			if (w->calls[i].owner == ticket && !w->calls[i].done) {
				w->calls[i].ms = now;
				w->calls[i].done = 1;
			}
		/* not synced: if this is lost, the call counts as started,
		 * which is later still (see call_time) */
		if (store(w, now, 0, &e) != ERR_OK)
			log_warn("event=rate-file-not-written why=%s", log_q(e.msg));
	}
	unlock(w);
}

int64_t ratewin_hold(struct ratewin *w, uint64_t ms, int ban)
{
	uint64_t now = now_of(w), until;
	struct err e;

	if (ban && !ms)
		ms = RATEWIN_BAN_MS;
	until = now + ms;
	err_clear(&e);
	if (lock(w, &e) == ERR_OK) {
		if (load(w, now, &e) == ERR_OK) {
			if (ban && until > w->ban)
				w->ban = until;
			if (until > w->hold)
				w->hold = until;
			if (store(w, now, 1, &e) != ERR_OK)
				log_warn("event=rate-file-not-written why=%s", log_q(e.msg));
		}
		unlock(w);
	}
	return (int64_t)(until / 1000);
}

enum err_status ratewin_peek(const char *path, uint64_t window_ms, struct ratewin_info *out,
                             struct err *e)
{
	struct ratewin w;
	uint64_t now = real_now(NULL);
	enum err_status s;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.fd = open_window(path, O_RDONLY);
	if (w.fd < 0)
		return errno == ENOENT ? ERR_OK
		                       : err_set(e, ERR_TEMP, "%s: %s", path, strerror(errno));
	w.path = UNCONST(path); /* borrowed for messages; w is never freed */
	w.o.window_ms = window_ms ? window_ms : 1;
	w.o.limit = 1;
	s = load(&w, now, e);
	if (s == ERR_OK) {
		for (size_t i = 0; i < w.n; i++)
			if (call_time(&w.o, &w.calls[i], now) + w.o.window_ms > now)
				out->in_window++;
		out->ban_until = w.ban > now ? (int64_t)(w.ban / 1000) : 0;
	}
	free(w.calls);
	close(w.fd);
	return s;
}
