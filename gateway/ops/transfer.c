/*
 * transfer.c: SFTP pull and push of record files (see transfer.h).
 */
#include "transfer.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "log.h"
#include "record.h"
#include "spool.h"

struct transfer {
	const struct cfg *c;
	volatile sig_atomic_t *stop;
	CURL *h;
	char errbuf[CURL_ERROR_SIZE];
	CURLcode last;  /* of the last request */
	char base[600]; /* "sftp://host:port" */
};

/* snprintf that tells a cut: 0, or -1 when out was too small. */
static int fmt(char *out, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));

static int fmt(char *out, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(out, size, f, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* A name from the remote listing, escaped for a log line. */
static const char *esc(const char *s, char *out, size_t size)
{
	return escape_display(s, out, size);
}

enum err_status transfer_open(struct transfer **out, const struct cfg *c,
                              volatile sig_atomic_t *stop, struct err *e)
{
	struct transfer *t;

	*out = NULL;
	if (!c->transfer.n_queues)
		return err_set(e, ERR_FATAL, "%s: no <transfer> section", c->path);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, ERR_FATAL, "libcurl: global init failed");
	for (size_t i = 0; i < c->transfer.n_queues; i++) {
		const struct cfg_transfer_queue *q = &c->transfer.queues[i];
		char dir[SPOOL_PATH_MAX];
		enum err_status st;

		st = spool_queue_init(c->spool.root, q->name, e);
		if (st != ERR_OK)
			return st == ERR_OK ? ERR_OK : ERR_FATAL;
		/* the drop directory's new/ and tmp/ (the receiving side may
		 * not have made them yet); its parent must exist */
		for (int k = 0; q->local_dir && k < 2; k++) {
			if (snprintf(dir, sizeof(dir), "%s/%s", q->local_dir, k ? "new" : "tmp") >=
			    (int)sizeof(dir))
				return err_set(e, ERR_FATAL, "%s: path too long", q->local_dir);
			if (mkdir(dir, 0750) != 0 && errno != EEXIST)
				return err_set(e, ERR_FATAL, "%s: %s", dir, strerror(errno));
		}
		if (q->direction != CFG_TRANSFER_PUSH)
			continue;
		if (snprintf(dir, sizeof(dir), "%s/%s/sent", c->spool.root, q->name) >=
		    (int)sizeof(dir))
			return err_set(e, ERR_FATAL, "%s: spool root too long", c->spool.root);
		if (mkdir(dir, 0750) != 0 && errno != EEXIST)
			return err_set(e, ERR_FATAL, "%s: %s", dir, strerror(errno));
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(e, ERR_FATAL, "out of memory");
	t->c = c;
	t->stop = stop;
	t->h = curl_easy_init();
	if (!t->h) {
		free(t);
		return err_set(e, ERR_FATAL, "libcurl: cannot make a handle");
	}
	if (c->transfer.host)
		snprintf(t->base, sizeof(t->base), "sftp://%s:%u", c->transfer.host,
		         c->transfer.port);
	*out = t;
	return ERR_OK;
}

void transfer_free(struct transfer *t)
{
	if (!t)
		return;
	curl_easy_cleanup(t->h);
	free(t);
}

/* Reset the handle to the options every request shares.  curl_easy_reset
 * keeps the connection cache, so the SSH session carries over. */
static void setup(struct transfer *t, const char *url)
{
	const struct cfg_transfer *ct = &t->c->transfer;
	CURL *h = t->h;

	curl_easy_reset(h);
	t->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "sftp");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "sftp");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(h, CURLOPT_USERNAME, ct->user);
	curl_easy_setopt(h, CURLOPT_SSH_AUTH_TYPES, (long)CURLSSH_AUTH_PUBLICKEY);
	curl_easy_setopt(h, CURLOPT_SSH_PRIVATE_KEYFILE, ct->private_key);
	/* "": libssh2 derives the public key from the private one, instead
	 * of libcurl guessing a file under ~/.ssh */
	curl_easy_setopt(h, CURLOPT_SSH_PUBLIC_KEYFILE, "");
	if (ct->known_hosts)
		curl_easy_setopt(h, CURLOPT_SSH_KNOWNHOSTS, ct->known_hosts);
	if (ct->host_key_sha256)
		curl_easy_setopt(h, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, ct->host_key_sha256);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)ct->timeout_seconds);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)ct->timeout_seconds);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
}

static enum err_status perform(struct transfer *t, const char *what, struct err *e)
{
	CURLcode rc = t->last = curl_easy_perform(t->h);
	const char *m = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);

	if (rc == CURLE_OK)
		return ERR_OK;
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		return err_set(e, ERR_TEMP,
		               "%s:%u: the server's host key does not match the pinned key "
		               "(<knownHosts>/<hostKeySha256>): refused (%s)",
		               t->c->transfer.host, t->c->transfer.port, m);
	if (rc == CURLE_LOGIN_DENIED)
		return err_set(e, ERR_TEMP, "%s@%s: key authentication refused (%s)",
		               t->c->transfer.user, t->c->transfer.host, m);
	return err_set(e, ERR_TEMP, "%s: %s", what, m);
}

/* The last request failed for the whole connection, not for one file:
 * the rest of the pass would fail the same way. */
static int connection_lost(const struct transfer *t)
{
	switch (t->last) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_LOGIN_DENIED:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSH:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return 1;
	default:
		return 0;
	}
}

/* ---- pull ------------------------------------------------------------- */

static size_t to_buf(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;

	if (buf_add(b, p, size * n) != ERR_OK)
		return 0; /* over the cap: abort the transfer */
	return size * n;
}

struct cand {
	char name[RECORD_NAME_MAX];
	unsigned long long size;
	int regular; /* 1: a regular-file line names it; -1: another line does too */
};

static int cand_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cand *)a)->name, ((const struct cand *)b)->name);
}

/* Split a listing line into at most max space-separated tokens (in place). */
static size_t tokens(char *line, char **tok, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *p = strtok_r(line, " \t", &save); p && n < max; p = strtok_r(NULL, " \t", &save))
		tok[n++] = p;
	return n;
}

static int is_record_name(const char *s)
{
	uint64_t seq;
	char prod[RECORD_PRODUCER_MAX + 1];

	return strlen(s) < RECORD_NAME_MAX && record_parse_file_name(s, &seq, prod) == 0;
}

/*
 * From a long listing, the candidates: names some line lists as a
 * regular file (first character '-') with the size in its fifth field
 * and the name as its last token.  A record name that appears as a token
 * of any other line (a FIFO, a directory, a symbolic link or its
 * target, or a line forged by a file name with a line break) marks the
 * name as not taken: a forged line can only make us take less.  Lines
 * with no candidate are reported.  *out sorted by name.
 */
static enum err_status parse_listing(struct transfer *t, const char *queue, struct buf *list,
                                     struct cand **out, size_t *n_out, size_t *left_alone,
                                     struct err *e)
{
	struct cand *c = NULL, *tainted = NULL;
	size_t n = 0, cap = 0, nt = 0, capt = 0, w = 0;
	char *save = NULL;
	char escd[ESCAPE_DISPLAY_MAX(512)];

	(void)t;
	if (!list->data)
		goto done;
	for (char *line = strtok_r(list->data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char copy[1024], *tok[64];
		size_t k;
		int regular = line[0] == '-';

		int cut = strlen(line) >= sizeof(copy);

		/* a long line (a symbolic link to a long target) is never taken,
		 * but its start still names what it is */
		snprintf(copy, sizeof(copy), "%.*s", (int)sizeof(copy) - 1, line);
		k = tokens(copy, tok, 64);
		if (k == 0)
			continue;
		if (!cut && regular && k >= 9 && is_record_name(tok[k - 1])) {
			if (n == cap) {
				struct cand *nc =
				    realloc(c, (cap = cap ? cap * 2 : 64) * sizeof(*c));
				if (!nc)
					goto nomem;
				c = nc;
			}
			snprintf(c[n].name, sizeof(c[n].name), "%s", tok[k - 1]);
			c[n].size = strtoull(tok[4], NULL, 10);
			c[n].regular = 1;
			n++;
			/* its other tokens may still name a record (a forged line) */
			k--;
		} else if (k >= 1 &&
		           (strcmp(tok[k - 1], ".") == 0 || strcmp(tok[k - 1], "..") == 0) &&
		           line[0] == 'd') {
			continue;
		} else {
			log_warn("event=transfer_left_alone queue=%s why=%s line=%s", queue,
			         log_q("not a regular file with a record name"),
			         log_q(esc(line, escd, sizeof(escd))));
			(*left_alone)++;
		}
		for (size_t i = 0; i < k; i++) {
			if (!is_record_name(tok[i]))
				continue;
			if (nt == capt) {
				struct cand *nc = realloc(tainted, (capt = capt ? capt * 2 : 16) *
				                                       sizeof(*tainted));
				if (!nc)
					goto nomem;
				tainted = nc;
			}
			snprintf(tainted[nt++].name, sizeof(tainted->name), "%s", tok[i]);
		}
	}
done:
	if (n)
		qsort(c, n, sizeof(*c), cand_cmp);
	if (nt)
		qsort(tainted, nt, sizeof(*tainted), cand_cmp);
	/* keep one entry per name, the largest size; drop tainted names */
	for (size_t i = 0; i < n; i++) {
		if (w && strcmp(c[w - 1].name, c[i].name) == 0) {
			if (c[i].size > c[w - 1].size)
				c[w - 1].size = c[i].size;
			continue;
		}
		c[w++] = c[i];
	}
	n = w;
	w = 0;
	for (size_t i = 0; i < n; i++) {
		if (nt && bsearch(&c[i], tainted, nt, sizeof(*tainted), cand_cmp)) {
			log_warn("event=transfer_left_alone queue=%s name=%s why=%s", queue,
			         log_q(c[i].name),
			         log_q("the listing also names it as something other than a "
			               "regular file"));
			(*left_alone)++;
			continue;
		}
		if (c[i].size > RECORD_MAX_BYTES) {
			log_warn("event=transfer_left_alone queue=%s name=%s size=%llu why=%s",
			         queue, log_q(c[i].name), c[i].size,
			         log_q("over the record size limit"));
			(*left_alone)++;
			continue;
		}
		c[w++] = c[i];
	}
	free(tainted);
	*out = c;
	*n_out = w;
	return ERR_OK;
nomem:
	free(c);
	free(tainted);
	return err_set(e, ERR_TEMP, "out of memory");
}

static enum err_status remote_rm(struct transfer *t, const char *dir_url, const char *path,
                                 struct err *e)
{
	struct curl_slist *cmds = NULL, *n;
	char cmd[1300];
	enum err_status st;

	snprintf(cmd, sizeof(cmd), "rm %s", path);
	if (!(n = curl_slist_append(cmds, cmd)))
		return err_set(e, ERR_TEMP, "out of memory");
	cmds = n;
	setup(t, dir_url);
	curl_easy_setopt(t->h, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(t->h, CURLOPT_QUOTE, cmds);
	st = perform(t, "rm", e);
	curl_slist_free_all(cmds);
	return st;
}

/* Download one candidate into data. */
static enum err_status fetch_one(struct transfer *t, const struct cfg_transfer_queue *q,
                                 const struct cand *cd, struct buf *data, struct err *e)
{
	char url[1900];

	snprintf(url, sizeof(url), "%s%s/new/%s", t->base, q->remote_dir, cd->name);
	buf_reset(data);
	setup(t, url);
	curl_easy_setopt(t->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)RECORD_MAX_BYTES);
	curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(t->h, CURLOPT_WRITEDATA, data);
	return perform(t, cd->name, e);
}

/* A record of the batch in hand: staged in local tmp/ (or a duplicate of
 * one the local queue has), not yet removed remotely. */
struct fetched {
	size_t i;   /* index into the candidates */
	size_t len; /* bytes */
	int dup;    /* the local queue had it with the same bytes: nothing staged */
	int ok;     /* durable here: the remote copy may go */
};

/*
 * Make the batch durable and visible (spool_importer_flush: one syncfs,
 * the renames into new/ without replacing, one fsync of new/), and only
 * then remove the remote copies of what is durable here.  What the flush
 * did not publish (a failed syncfs or fsync, a name that turned up
 * meanwhile with other bytes) keeps its remote copy for the next pass.
 * skip_rm: the connection is gone, the next pass removes them (as
 * duplicates).
 */
static enum err_status flush_batch(struct transfer *t, const struct cfg_transfer_queue *q,
                                   struct spool_importer *im, const struct cand *c,
                                   struct fetched *b, size_t nb, int skip_rm,
                                   struct transfer_stats *st, struct err *e)
{
	char dir_url[1900], path[1200];
	size_t done = 0, dups = 0, staged = 0, lost = 0;
	enum err_status s, worst = ERR_OK;
	struct err fe;

	if (!nb)
		return ERR_OK;
	err_clear(&fe);
	s = spool_importer_flush(im, &done, &dups, &fe);
	if (s != ERR_OK) {
		worst = s;
		*e = fe;
	}
	/* the staged ones in order: the first `done` are durable in new/ */
	for (size_t k = 0; k < nb; k++)
		b[k].ok = b[k].dup || staged++ < done;
	for (size_t k = 0; k < nb; k++)
		lost += !b[k].ok;
	if (lost) {
		st->failed += lost;
		log_warn("event=transfer_failed queue=%s direction=pull files=%zu why=%s", q->name,
		         lost, log_q(fe.msg));
	}
	if (skip_rm)
		return worst;
	snprintf(dir_url, sizeof(dir_url), "%s%s/new/", t->base, q->remote_dir);
	for (size_t k = 0; k < nb; k++) {
		const char *name = c[b[k].i].name;

		if (!b[k].ok)
			continue;
		snprintf(path, sizeof(path), "%s/new/%s", q->remote_dir, name);
		err_clear(&fe);
		s = remote_rm(t, dir_url, path, &fe);
		if (s != ERR_OK) {
			st->failed++;
			log_warn("event=transfer_failed queue=%s direction=pull name=%s why=%s",
			         q->name, name, log_q(fe.msg));
			if (worst == ERR_OK) {
				worst = s;
				*e = fe;
			}
			if (connection_lost(t))
				return worst;
			continue;
		}
		if (b[k].dup) {
			st->duplicates++;
			log_info("event=transfer_duplicate queue=%s name=%s", q->name, name);
		} else {
			st->moved++;
			st->bytes += b[k].len;
			log_debug("event=transfer_pulled queue=%s name=%s bytes=%zu", q->name, name,
			          b[k].len);
		}
	}
	return worst;
}

static enum err_status pull(struct transfer *t, const struct cfg_transfer_queue *q,
                            struct transfer_stats *st, struct err *e)
{
	struct buf list = BUF_INIT_CAP(TRANSFER_LISTING_MAX);
	struct buf data = BUF_INIT_CAP(RECORD_MAX_BYTES + 1);
	struct spool_importer *im = NULL;
	struct cand *c = NULL;
	struct fetched b[TRANSFER_PULL_BATCH];
	size_t n = 0, nb = 0;
	char url[1900];
	enum err_status s, worst = ERR_OK;
	struct err fe;
	int lost = 0;

	s = spool_importer_open(&im, t->c->spool.root, q->name, e);
	if (s != ERR_OK)
		return s == ERR_TEMP ? ERR_TEMP : ERR_FATAL;
	snprintf(url, sizeof(url), "%s%s/new/", t->base, q->remote_dir);
	setup(t, url);
	curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(t->h, CURLOPT_WRITEDATA, &list);
	s = perform(t, "listing", e);
	if (s != ERR_OK)
		goto out;
	s = parse_listing(t, q->name, &list, &c, &n, &st->left_alone, e);
	if (s != ERR_OK)
		goto out;
	buf_release(&list);
	for (size_t i = 0; i < n && !*t->stop && !lost; i++) {
		int dup = 0;

		err_clear(&fe);
		s = fetch_one(t, q, &c[i], &data, &fe);
		if (s != ERR_OK && t->last == CURLE_REMOTE_FILE_NOT_FOUND) {
			/* gone since the listing, or a line forged by a name with a
			 * line break: nothing to take */
			st->left_alone++;
			log_warn("event=transfer_left_alone queue=%s name=%s why=%s", q->name,
			         c[i].name, log_q("listed, but not there to download"));
			continue;
		}
		/* staged in tmp/ unflushed, or found in the local queue with the
		 * same bytes (a record received before: a pass that stopped
		 * between the flush and the rm); other bytes under that name
		 * are the consumer's to judge, so the remote copy is kept */
		if (s == ERR_OK)
			s = spool_importer_add(im, c[i].name, data.data ? data.data : "", data.len,
			                       &dup, &fe);
		if (s == ERR_PERM) {
			st->left_alone++;
			log_warn("event=transfer_left_alone queue=%s name=%s why=%s", q->name,
			         c[i].name, log_q(fe.msg));
			continue;
		}
		if (s != ERR_OK) {
			st->failed++;
			log_warn("event=transfer_failed queue=%s direction=pull name=%s why=%s",
			         q->name, c[i].name, log_q(fe.msg));
			if (worst == ERR_OK || s == ERR_FATAL) {
				worst = s;
				*e = fe;
			}
			if (s == ERR_FATAL)
				break;
			lost = connection_lost(t);
			continue;
		}
		b[nb].i = i;
		b[nb].len = data.len;
		b[nb].dup = dup;
		if (++nb < TRANSFER_PULL_BATCH)
			continue;
		s = flush_batch(t, q, im, c, b, nb, 0, st, &fe);
		if (s != ERR_OK) {
			if (worst == ERR_OK) {
				worst = s;
				*e = fe;
			}
			lost = connection_lost(t);
		}
		nb = 0;
	}
	/* the last batch, also after a stop or a failure: what was taken is
	 * made durable; its remote copies are removed unless the connection
	 * is gone (then the next pass finds them as duplicates) */
	s = flush_batch(t, q, im, c, b, nb, lost, st, &fe);
	if (s != ERR_OK && worst == ERR_OK) {
		worst = s;
		*e = fe;
	}
	s = worst;
out:
	spool_importer_free(im);
	free(c);
	buf_release(&list);
	buf_release(&data);
	return s;
}

/* ---- push ------------------------------------------------------------- */

struct upload {
	const struct buf *b;
	size_t off;
};

static size_t from_buf(char *p, size_t size, size_t n, void *ctx)
{
	struct upload *u = ctx;
	size_t left = u->b->len - u->off, k = size * n < left ? size * n : left;

	memcpy(p, u->b->data + u->off, k);
	u->off += k;
	return k;
}

struct names {
	char (*v)[RECORD_NAME_MAX];
	size_t n, cap;
	int oom;
};

static int collect(const struct spool_entry *ent, void *ctx)
{
	struct names *ns = ctx;

	if (!ent->seq && !is_record_name(ent->name))
		return 0;
	if (ns->n == ns->cap) {
		void *nv = realloc(ns->v, (ns->cap = ns->cap ? ns->cap * 2 : 64) * sizeof(*ns->v));
		if (!nv) {
			ns->oom = 1;
			return 1;
		}
		ns->v = nv;
	}
	snprintf(ns->v[ns->n++], RECORD_NAME_MAX, "%.*s", RECORD_NAME_MAX - 1, ent->name);
	return 0;
}

static enum err_status push_one(struct transfer *t, const struct cfg_transfer_queue *q,
                                const char *name, struct buf *data, struct transfer_stats *st,
                                struct err *e)
{
	char local[SPOOL_PATH_MAX], sent[SPOOL_PATH_MAX], url[1900], tmp[1200], fin[1200];
	char cmd[2500];
	struct curl_slist *post = NULL;
	struct upload u = {data, 0};
	enum err_status s;

	if (fmt(local, sizeof(local), "%s/%s/new/%s", t->c->spool.root, q->name, name) != 0 ||
	    fmt(sent, sizeof(sent), "%s/%s/sent/%s", t->c->spool.root, q->name, name) != 0)
		return err_set(e, ERR_FATAL, "%s: spool root too long", t->c->spool.root);
	s = spool_read_untrusted(local, RECORD_MAX_BYTES, data, NULL, e);
	if (s != ERR_OK)
		return ERR_TEMP;
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s.%ld.part", q->remote_dir, name, (long)getpid());
	snprintf(fin, sizeof(fin), "%s/new/%s", q->remote_dir, name);
	snprintf(url, sizeof(url), "%s%s", t->base, tmp);
	snprintf(cmd, sizeof(cmd), "rename %s %s", tmp, fin);
	if (!(post = curl_slist_append(NULL, cmd)))
		return err_set(e, ERR_TEMP, "out of memory");
	setup(t, url);
	curl_easy_setopt(t->h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(t->h, CURLOPT_READFUNCTION, from_buf);
	curl_easy_setopt(t->h, CURLOPT_READDATA, &u);
	curl_easy_setopt(t->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)data->len);
	curl_easy_setopt(t->h, CURLOPT_POSTQUOTE, post);
	s = perform(t, name, e);
	curl_slist_free_all(post);
	if (s != ERR_OK) {
		char dir_url[1900];
		struct err re;
		CURLcode why = t->last;

		/* the upload may be there under its temporary name: the server
		 * refuses to rename onto a name it has (a copy still waiting
		 * for its consumer), so this record goes again next pass */
		snprintf(dir_url, sizeof(dir_url), "%s%s/tmp/", t->base, q->remote_dir);
		err_clear(&re);
		if (!connection_lost(t))
			(void)remote_rm(t, dir_url, tmp, &re);
		t->last = why;
		return s;
	}
	/* the remote rename succeeded: the record is the peer's now */
	if (rename(local, sent) != 0)
		return err_set(e, ERR_TEMP, "%s -> sent/: %s (sent; it goes again as a duplicate)",
		               local, strerror(errno));
	(void)utimensat(AT_FDCWD, sent, NULL, 0); /* retention counts from sending */
	st->moved++;
	st->bytes += data->len;
	log_debug("event=transfer_pushed queue=%s name=%s bytes=%zu", q->name, name, data->len);
	return ERR_OK;
}

/* One record into a local drop directory (a data diode's): written to
 * its tmp/, flushed, renamed into its new/ without replacing, new/
 * flushed (spool_write_atomic), then moved to sent/.  Nothing is read
 * from the directory: a name still there (the other side has not taken
 * it) keeps the record in new/ for the next pass, as over SFTP. */
static enum err_status push_local(struct transfer *t, const struct cfg_transfer_queue *q,
                                  const char *name, struct buf *data, struct transfer_stats *st,
                                  struct err *e)
{
	char local[SPOOL_PATH_MAX], sent[SPOOL_PATH_MAX], tmp_dir[SPOOL_PATH_MAX],
	    new_dir[SPOOL_PATH_MAX];
	enum err_status s;

	if (fmt(local, sizeof(local), "%s/%s/new/%s", t->c->spool.root, q->name, name) != 0 ||
	    fmt(sent, sizeof(sent), "%s/%s/sent/%s", t->c->spool.root, q->name, name) != 0 ||
	    fmt(tmp_dir, sizeof(tmp_dir), "%s/tmp", q->local_dir) != 0 ||
	    fmt(new_dir, sizeof(new_dir), "%s/new", q->local_dir) != 0)
		return err_set(e, ERR_FATAL, "%s: path too long", q->local_dir);
	s = spool_read_untrusted(local, RECORD_MAX_BYTES, data, NULL, e);
	if (s != ERR_OK)
		return ERR_TEMP;
	s = spool_write_atomic(tmp_dir, new_dir, name, data->data ? data->data : "", data->len, 1,
	                       e);
	if (s != ERR_OK)
		return ERR_TEMP; /* a full disk, or a copy not taken yet: next pass */
	if (rename(local, sent) != 0)
		return err_set(e, ERR_TEMP, "%s -> sent/: %s (sent; it goes again as a duplicate)",
		               local, strerror(errno));
	(void)utimensat(AT_FDCWD, sent, NULL, 0);
	st->moved++;
	st->bytes += data->len;
	log_debug("event=transfer_pushed queue=%s name=%s bytes=%zu", q->name, name, data->len);
	return ERR_OK;
}

static void expire_sent(struct transfer *t, const struct cfg_transfer_queue *q,
                        struct transfer_stats *st)
{
	char dir[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX + 300];
	time_t limit = time(NULL) - (time_t)q->sent_retention_days * 86400;
	struct dirent *d;
	DIR *dp;

	if (!q->sent_retention_days)
		return;
	snprintf(dir, sizeof(dir), "%s/%s/sent", t->c->spool.root, q->name);
	if (!(dp = opendir(dir)))
		return;
	while ((d = readdir(dp))) {
		struct stat sb;

		if (!is_record_name(d->d_name))
			continue;
		if (fmt(path, sizeof(path), "%s/%s", dir, d->d_name) == 0 &&
		    lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_mtime < limit &&
		    unlink(path) == 0)
			st->expired++;
	}
	closedir(dp);
}

/* NAME.<digits>.part with NAME a record name: an upload of push_one. */
static int is_part_name(const char *s)
{
	char name[RECORD_NAME_MAX];
	const char *dot, *p;
	size_t len = strlen(s);

	if (len < 7 || strcmp(s + len - 5, ".part") != 0)
		return 0;
	for (p = s + len - 6; p > s && *p >= '0' && *p <= '9'; p--)
		;
	dot = p;
	if (*dot != '.' || dot == s + len - 6 || (size_t)(dot - s) >= sizeof(name))
		return 0;
	memcpy(name, s, (size_t)(dot - s));
	name[dot - s] = '\0';
	return is_record_name(name);
}

/*
 * Remove the uploads of killed transfers from REMOTEDIR/tmp/: regular
 * files named NAME.<pid>.part whose modification time (the remote
 * host's clock) is older than TRANSFER_STALE_PART_SECONDS plus the
 * timeout.  Every upload still in progress is younger: CURLOPT_TIMEOUT
 * bounds the whole upload and its rename, also of another transfer
 * process of this configuration (a --once run beside the daemon).  The
 * hour covers a difference between the two hosts' clocks.  Anything else
 * in tmp/ is not ours and is left alone.  A listing that fails is the
 * pass's error (an idle push must still show an outage); a file that
 * cannot be removed waits for a later pass (logged).
 */
static enum err_status remove_stale_parts(struct transfer *t, const struct cfg_transfer_queue *q,
                                          struct transfer_stats *st, struct err *le)
{
	struct buf list = BUF_INIT_CAP(TRANSFER_LISTING_MAX);
	char url[1900], dir_url[1900], path[1200];
	char *save = NULL;
	struct err e;
	enum err_status ls;
	time_t limit = time(NULL) - (time_t)TRANSFER_STALE_PART_SECONDS -
	               (time_t)t->c->transfer.timeout_seconds;

	snprintf(dir_url, sizeof(dir_url), "%s%s/tmp/", t->base, q->remote_dir);
	setup(t, dir_url);
	curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(t->h, CURLOPT_WRITEDATA, &list);
	ls = perform(t, "tmp/ listing", le);
	if (ls != ERR_OK || !list.data) {
		buf_release(&list);
		return ls;
	}
	for (char *line = strtok_r(list.data, "\n", &save); line && !*t->stop;
	     line = strtok_r(NULL, "\n", &save)) {
		char copy[1024], *tok[64];
		size_t k;
		long mtime = -1;

		if (line[0] != '-' || strlen(line) >= sizeof(copy))
			continue;
		memcpy(copy, line, strlen(line) + 1);
		k = tokens(copy, tok, 64);
		if (k < 9 || !is_part_name(tok[k - 1]))
			continue;
		if (fmt(path, sizeof(path), "%s/tmp/%s", q->remote_dir, tok[k - 1]) != 0 ||
		    fmt(url, sizeof(url), "%s%s", t->base, path) != 0)
			continue;
		/* the time from the server (a stat), not from the listing's
		 * locale- and age-dependent date */
		setup(t, url);
		curl_easy_setopt(t->h, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(t->h, CURLOPT_FILETIME, 1L);
		err_clear(&e);
		if (perform(t, tok[k - 1], &e) != ERR_OK ||
		    curl_easy_getinfo(t->h, CURLINFO_FILETIME, &mtime) != CURLE_OK || mtime < 0) {
			if (connection_lost(t))
				break;
			continue;
		}
		if ((time_t)mtime >= limit)
			continue;
		err_clear(&e);
		if (remote_rm(t, dir_url, path, &e) != ERR_OK) {
			log_warn("event=transfer_stale_kept queue=%s name=%s why=%s", q->name,
			         tok[k - 1], log_q(e.msg));
			if (connection_lost(t))
				break;
			continue;
		}
		st->stale++;
		/* a checked name (is_part_name): nothing to escape */
		log_info("event=transfer_stale_removed queue=%s name=%s age=%lds", q->name,
		         tok[k - 1], (long)(time(NULL) - (time_t)mtime));
	}
	buf_release(&list);
	return ERR_OK;
}

static enum err_status push(struct transfer *t, const struct cfg_transfer_queue *q,
                            struct transfer_stats *st, struct err *e)
{
	struct names ns = {0};
	struct buf data = BUF_INIT_CAP(RECORD_MAX_BYTES + 1);
	enum err_status s, worst = ERR_OK;

	expire_sent(t, q, st);
	/* one way (a diode): nothing to list on the other side */
	if (!q->one_way) {
		s = remove_stale_parts(t, q, st, e);
		if (s != ERR_OK) {
			worst = s;
			if (connection_lost(t))
				return s;
		}
	}
	s = spool_list(t->c->spool.root, q->name, SPOOL_NEW, collect, &ns, e);
	if (s != ERR_OK)
		return s;
	if (ns.oom) {
		free(ns.v);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	for (size_t i = 0; i < ns.n && !*t->stop; i++) {
		struct err fe;

		err_clear(&fe);
		s = q->local_dir ? push_local(t, q, ns.v[i], &data, st, &fe)
		                 : push_one(t, q, ns.v[i], &data, st, &fe);
		if (s != ERR_OK) {
			st->failed++;
			log_warn("event=transfer_failed queue=%s direction=push name=%s why=%s",
			         q->name, ns.v[i], log_q(fe.msg));
			if (worst == ERR_OK || s == ERR_FATAL) {
				worst = s;
				*e = fe;
			}
			if (s == ERR_FATAL || (!q->local_dir && connection_lost(t)))
				break;
		}
	}
	free(ns.v);
	buf_release(&data);
	return worst;
}

enum err_status transfer_pass(struct transfer *t, const struct cfg_transfer_queue *q,
                              struct transfer_stats *st, struct err *e)
{
	memset(st, 0, sizeof(*st));
	return q->direction == CFG_TRANSFER_PUSH ? push(t, q, st, e) : pull(t, q, st, e);
}
