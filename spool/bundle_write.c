/*
 * bundle_write.c: writing bundles (export, acknowledgments, retention).
 * One record in memory at a time; the manifest grows in an unlinked
 * temporary file and goes into the archive last, followed by its
 * signature.  The archive itself is written under a temporary name in
 * the target directory and published by fsync + rename + directory fsync.
 */
#include "bundle_int.h"
#include "seal.h"
#include "spool_clock.h"
#include "spool_int.h"
#include "when.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

struct bw {
	struct archive *a;
	int fd;
	FILE *mf;
	char tmp[SPOOL_PATH_MAX], out[SPOOL_PATH_MAX], dir[SPOOL_PATH_MAX];
	const struct sig_key *key;
	struct seal_writer *sw; /* encrypting: the archive's bytes go through it */
	struct err seal_err;
	struct bundle_range *ranges; /* per producer, for a records bundle */
	size_t n_ranges;
	size_t n;
	uint64_t bytes;
};

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static enum err_status arch_err(struct bw *w, struct err *e, const char *what)
{
	const char *why = archive_error_string(w->a);

	return err_set(e, ERR_TEMP, "%s: %s: %s", w->tmp, what, why ? why : "write error");
}

static void bw_abort(struct bw *w)
{
	if (w->a)
		archive_write_free(w->a);
	seal_writer_free(w->sw);
	if (w->fd >= 0)
		close(w->fd);
	if (w->mf)
		fclose(w->mf);
	if (w->tmp[0])
		unlink(w->tmp);
	free(w->ranges);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

/* fsync the directory the bundle was written to.  It comes from the
 * command line (a medium's mount point may be reached through a link),
 * so unlike the spool's own directories it is followed. */
static enum err_status sync_out_dir(const char *dir, struct err *e)
{
	enum err_status st = ERR_OK;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_errno(e, spool_errno_status(errno), errno, "%s: open", dir);
	if (fsync(fd) != 0)
		st = err_errno(e, ERR_TEMP, errno, "%s: fsync", dir);
	close(fd);
	return st;
}

/* An unlinked scratch file beside the bundle for the growing manifest. */
static FILE *scratch(const char *dir)
{
	char path[SPOOL_PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		if (snprintf(path, sizeof(path), "%s/.manifest-XXXXXX", dir) >= (int)sizeof(path))
			return NULL;
		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
	}
	return fd >= 0 ? fdopen(fd, "w+") : NULL;
}

/* The sealed file's bytes, from the seal writer. */
static enum err_status sealed_out(const void *data, size_t len, void *ctx, struct err *e)
{
	struct bw *w = ctx;
	const char *p = data;

	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, ERR_TEMP, errno, "%s: write", w->tmp);
		p += n;
		len -= (size_t)n;
	}
	return ERR_OK;
}

/* The archive's bytes, encrypted on their way to the file: no
 * plaintext of an encrypted bundle is ever written anywhere. */
static la_ssize_t archive_to_seal(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct bw *w = ctx;

	if (seal_writer_write(w->sw, buf, len, &w->seal_err) != ERR_OK) {
		archive_set_error(a, EIO, "%s", w->seal_err.msg);
		return -1;
	}
	return (la_ssize_t)len;
}

static enum err_status bw_open(struct bw *w, const char *out_path, enum bundle_kind kind,
                               const char *signer, const struct sig_key *key, const char *queue,
                               const char *source, const struct seal_key *seal_to, struct err *e)
{
	char copy[SPOOL_PATH_MAX], created[40], kid[SIG_KEY_ID_LEN + 1];
	const char *base;
	size_t cut;
	int rc;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->key = key;
	if (!key || !sig_key_can_sign(key))
		return err_set(e, ERR_PERM, "a private key is needed to sign the bundle");
	if (!record_producer_valid(signer))
		return err_set(e, ERR_PERM, "signer id '%s' is not [a-z0-9][a-z0-9_-]{0,31}",
		               signer);
	if (snprintf(w->out, sizeof(w->out), "%s", out_path) >= (int)sizeof(w->out))
		return err_set(e, ERR_PERM, "%s: path too long", out_path);
	snprintf(copy, sizeof(copy), "%s", out_path);
	snprintf(w->dir, sizeof(w->dir), "%s", dirname(copy));
	snprintf(copy, sizeof(copy), "%s", out_path);
	base = basename(copy);
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || strcmp(base, "/") == 0)
		return err_set(e, ERR_PERM, "%s: not a file name", out_path);
	if (access(out_path, F_OK) == 0)
		return err_set(e, ERR_PERM, "%s: exists; refusing to replace it", out_path);
	if (snprintf(w->tmp, sizeof(w->tmp), "%s/.%s.tmp-XXXXXX", w->dir, base) >=
	    (int)sizeof(w->tmp)) {
		w->tmp[0] = '\0';
		return err_set(e, ERR_PERM, "%s: path too long", out_path);
	}
	w->fd = mkstemp(w->tmp);
	if (w->fd < 0) {
		enum err_status st = err_errno(e, ERR_TEMP, errno, "%s", w->tmp);
		w->tmp[0] = '\0';
		return st;
	}
	w->mf = scratch(w->dir);
	w->a = archive_write_new();
	if (!w->mf || !w->a) {
		enum err_status st = err_errno(e, ERR_TEMP, errno, "%s: scratch file", w->dir);
		bw_abort(w);
		return st;
	}
	archive_write_set_format_pax_restricted(w->a);
	/* The compression comes from the name without a last ".enc". */
	snprintf(copy, sizeof(copy), "%s", out_path);
	cut = strlen(copy);
	if (ends_with(copy, BUNDLE_SEALED_SUFFIX))
		copy[cut - strlen(BUNDLE_SEALED_SUFFIX)] = '\0';
	if (ends_with(copy, ".tar.zst"))
		rc = archive_write_add_filter_zstd(w->a);
	else if (ends_with(copy, ".tar.gz") || ends_with(copy, ".tgz"))
		rc = archive_write_add_filter_gzip(w->a);
	else
		rc = archive_write_add_filter_none(w->a);
	if (rc == ARCHIVE_OK && seal_to) {
		if (seal_writer_open(&w->sw, seal_to, sealed_out, w, e) != ERR_OK) {
			enum err_status st = err_prefix(e, "%s: ", w->tmp);

			bw_abort(w);
			return st;
		}
		/* No padding of the last block: the stream has its own end. */
		archive_write_set_bytes_in_last_block(w->a, 1);
		rc = archive_write_open(w->a, w, NULL, archive_to_seal, NULL);
	} else if (rc == ARCHIVE_OK) {
		rc = archive_write_open_fd(w->a, w->fd);
	}
	if (rc != ARCHIVE_OK) {
		enum err_status st = arch_err(w, e, "open");
		bw_abort(w);
		return st;
	}
	when_utc(spool_now(), created);
	sig_key_id(key, kid);
	fprintf(w->mf,
	        "%s format=\"%d\" kind=\"%s\">\n  <signer>%s</signer>\n  <key-id>%s</key-id>\n"
	        "  <created>%s</created>\n  <queue>%s</queue>\n  <source>%s</source>\n",
	        BUNDLE_MANIFEST_HEAD, BUNDLE_FORMAT_VERSION, kind == BUNDLE_ACK ? "ack" : "records",
	        signer, kid, created, queue, source);
	return ERR_OK;
}

static enum err_status put_entry(struct bw *w, const char *name, const void *data, size_t len,
                                 time_t mtime, struct err *e)
{
	struct archive_entry *ae = archive_entry_new();
	enum err_status st = ERR_OK;

	if (!ae)
		return err_set(e, ERR_TEMP, "out of memory");
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0640);
	archive_entry_set_size(ae, (la_int64_t)len);
	archive_entry_set_mtime(ae, mtime, 0);
	if (archive_write_header(w->a, ae) != ARCHIVE_OK ||
	    (len && archive_write_data(w->a, data, len) != (la_ssize_t)len))
		st = arch_err(w, e, name);
	archive_entry_free(ae);
	return st;
}

static enum err_status track_range(struct bw *w, uint64_t seq, const char *producer, struct err *e)
{
	struct bundle_range *g;

	for (size_t i = 0; i < w->n_ranges; i++) {
		g = &w->ranges[i];
		if (strcmp(g->producer, producer) == 0) {
			g->last = seq; /* names come in order */
			g->count++;
			return ERR_OK;
		}
	}
	g = realloc(w->ranges, (w->n_ranges + 1) * sizeof(*g));
	if (!g)
		return err_set(e, ERR_TEMP, "out of memory");
	w->ranges = g;
	g = &w->ranges[w->n_ranges++];
	snprintf(g->producer, sizeof(g->producer), "%s", producer);
	g->first = g->last = seq;
	g->count = 1;
	return ERR_OK;
}

static enum err_status bw_add(struct bw *w, const char *name, uint64_t seq, const char *producer,
                              const void *data, size_t len, time_t mtime, struct err *e)
{
	char hex[65];
	unsigned char raw[32];
	enum err_status st;

	sig_sha256(data, len, raw, hex);
	st = put_entry(w, name, data, len, mtime, e);
	if (st == ERR_OK)
		st = track_range(w, seq, producer, e);
	if (st == ERR_OK && fprintf(w->mf, "  <entry name=\"%s\" size=\"%zu\" sha256=\"%s\"/>\n",
	                            name, len, hex) < 0)
		st = err_errno(e, ERR_TEMP, errno, "%s: manifest scratch file", w->dir);
	w->n++;
	w->bytes += len;
	return st;
}

/* Copy the scratch manifest into the archive, hashing it on the way. */
static enum err_status put_manifest(struct bw *w, char sha_hex[65], struct err *e)
{
	struct archive_entry *ae;
	unsigned char raw[32], chunk[65536];
	unsigned int n = 32;
	enum err_status st = ERR_OK;
	EVP_MD_CTX *md;
	long size;
	size_t got;

	if (fflush(w->mf) != 0 || (size = ftell(w->mf)) < 0 || fseek(w->mf, 0, SEEK_SET) != 0)
		return err_errno(e, ERR_TEMP, errno, "%s: manifest scratch file", w->dir);
	ae = archive_entry_new();
	md = EVP_MD_CTX_new();
	if (!ae || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	archive_entry_set_pathname(ae, BUNDLE_MANIFEST_NAME);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0640);
	archive_entry_set_size(ae, size);
	archive_entry_set_mtime(ae, spool_now(), 0);
	if (archive_write_header(w->a, ae) != ARCHIVE_OK) {
		st = arch_err(w, e, BUNDLE_MANIFEST_NAME);
		goto out;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), w->mf)) > 0) {
		EVP_DigestUpdate(md, chunk, got);
		if (archive_write_data(w->a, chunk, got) != (la_ssize_t)got) {
			st = arch_err(w, e, BUNDLE_MANIFEST_NAME);
			goto out;
		}
	}
	if (ferror(w->mf)) {
		st = err_errno(e, ERR_TEMP, errno, "%s: manifest scratch file", w->dir);
		goto out;
	}
	EVP_DigestFinal_ex(md, raw, &n);
	sig_hex(raw, 32, sha_hex);
out:
	EVP_MD_CTX_free(md);
	archive_entry_free(ae);
	return st;
}

static enum err_status put_signature(struct bw *w, const char sha_hex[65], struct err *e)
{
	char stmt[128], kid[SIG_KEY_ID_LEN + 1], line[256];
	unsigned char sig[SIG_BYTES], b64[100];
	enum err_status st;

	bundle_sig_statement(sha_hex, stmt);
	st = sig_sign(w->key, stmt, strlen(stmt), sig, e);
	if (st != ERR_OK)
		return st;
	EVP_EncodeBlock(b64, sig, SIG_BYTES);
	sig_key_id(w->key, kid);
	snprintf(line, sizeof(line), "ed25519 %s %s\n", kid, (const char *)b64);
	return put_entry(w, BUNDLE_SIG_NAME, line, strlen(line), spool_now(), e);
}

static void range_xml(FILE *f, const struct bundle_range *g)
{
	fprintf(f,
	        "  <range producer=\"%s\" first=\"%" PRIu64 "\" last=\"%" PRIu64
	        "\" count=\"%" PRIu64 "\"/>\n",
	        g->producer, g->first, g->last, g->count);
}

/* Ranges (extra: an acknowledgment's; else the records'), signature,
 * close, fsync, publish. */
static enum err_status bw_finish(struct bw *w, const struct bundle_range *extra, size_t n_extra,
                                 struct err *e)
{
	char sha[65];
	enum err_status st;

	for (size_t i = 0; i < w->n_ranges; i++)
		range_xml(w->mf, &w->ranges[i]);
	for (size_t i = 0; i < n_extra; i++)
		range_xml(w->mf, &extra[i]);
	fputs("</manifest>\n", w->mf);
	st = put_manifest(w, sha, e);
	if (st == ERR_OK)
		st = put_signature(w, sha, e);
	if (st == ERR_OK && archive_write_close(w->a) != ARCHIVE_OK)
		st = arch_err(w, e, "close");
	if (st == ERR_OK && w->sw && seal_writer_finish(w->sw, e) != ERR_OK)
		st = err_prefix(e, "%s: ", w->tmp);
	if (st == ERR_OK && fsync(w->fd) != 0)
		st = err_errno(e, ERR_TEMP, errno, "%s: fsync", w->tmp);
	if (st == ERR_OK && close(w->fd) != 0)
		st = err_errno(e, ERR_TEMP, errno, "%s: close", w->tmp);
	w->fd = -1;
	if (st == ERR_OK)
		st = spool_rename_noreplace(w->tmp, w->out, NULL, e);
	if (st == ERR_OK) {
		w->tmp[0] = '\0';
		st = sync_out_dir(w->dir, e);
	}
	bw_abort(w);
	return st;
}

/* ---- export ------------------------------------------------------------------ */

struct export_ctx {
	const struct bundle_export_opts *o;
	struct bw *w;
	struct buf rec;
	char dir[SPOOL_PATH_MAX];
	uint64_t total, done;
	int counting;
	enum err_status st;
	struct err *e;
};

static int selected(const struct export_ctx *x, const struct spool_entry *ent)
{
	if (ent->seq == 0 ||
	    strcmp(strrchr(ent->name, '.') ? strrchr(ent->name, '.') : "", ".xml") != 0)
		return 0;
	if ((x->o->from && ent->seq < x->o->from) || (x->o->to && ent->seq > x->o->to))
		return 0;
	return !x->o->select || x->o->select(ent, x->o->select_ctx);
}

/* The bytes about to be signed into the bundle are a record of that name
 * (and, with record_pub, signed by its producer). */
static enum err_status check_packed(struct export_ctx *x, const struct spool_entry *ent)
{
	struct record *r = NULL;
	enum err_status st;

	st = x->o->record_pub
	         ? record_decode(x->rec.data ? x->rec.data : "", x->rec.len, x->o->record_pub, &r,
	                         x->e)
	         : record_decode_unverified(x->rec.data ? x->rec.data : "", x->rec.len, &r, x->e);
	if (st != ERR_OK)
		return err_prefix(x->e, "%s: not packed: ", ent->name);
	if (r->seq != ent->seq || strcmp(r->producer, ent->producer) != 0)
		st = err_set(x->e, ERR_PERM,
		             "%s: not packed: the record says producer %s seq %" PRIu64, ent->name,
		             r->producer, r->seq);
	record_free(r);
	return st;
}

static int export_one(const struct spool_entry *ent, void *vctx)
{
	struct export_ctx *x = vctx;
	char path[SPOOL_PATH_MAX];
	enum spool_entry_type type;

	if (!selected(x, ent))
		return 0;
	if (x->counting) {
		x->total++;
		return 0;
	}
	buf_reset(&x->rec);
	if (snprintf(path, sizeof(path), "%s/%s", x->dir, ent->name) >= (int)sizeof(path)) {
		x->st = err_set(x->e, ERR_PERM, "%s/%s: path too long", x->dir, ent->name);
		return 1;
	}
	/* What is exported gets signed: never a link's target, never a FIFO
	 * (a read would block), only a regular file within the record cap. */
	x->st = spool_read_untrusted(path, RECORD_MAX_BYTES, &x->rec, &type, x->e);
	if (type == SPOOL_ENTRY_MISSING) {
		/* Claimed or moved since the listing: no longer this source's. */
		x->st = ERR_OK;
		return 0;
	}
	if (x->st == ERR_OK && !x->o->unchecked)
		x->st = check_packed(x, ent);
	if (x->st == ERR_OK)
		x->st = bw_add(x->w, ent->name, ent->seq, ent->producer, x->rec.data, x->rec.len,
		               ent->mtime, x->e);
	if (x->st != ERR_OK)
		return 1;
	x->done++;
	if (x->o->progress && (x->done % 256 == 0 || x->done == x->total))
		x->o->progress(x->done, x->total, x->o->progress_ctx);
	return 0;
}

enum err_status bundle_export(const struct bundle_export_opts *o, const struct sig_key *key,
                              const char *out_path, struct bundle_info *info, struct err *e)
{
	return bundle_export_sealed(o, key, NULL, out_path, info, e);
}

enum err_status bundle_export_sealed(const struct bundle_export_opts *o, const struct sig_key *key,
                                     const struct seal_key *seal_to, const char *out_path,
                                     struct bundle_info *info, struct err *e)
{
	enum spool_dir src = o->source ? o->source : SPOOL_NEW;
	struct export_ctx x = {0};
	struct bw w;
	enum err_status st;

	if (info)
		memset(info, 0, sizeof(*info));
	if (src != SPOOL_NEW && src != SPOOL_DONE)
		return err_set(e, ERR_PERM, "bundles are made from new/ or done/");
	st = spool_path(x.dir, o->root, o->queue, src, NULL, e);
	if (st != ERR_OK)
		return st;
	x.o = o;
	x.e = e;
	x.counting = 1;
	st = spool_list_range(o->root, o->queue, src, o->from, o->to, export_one, &x, e);
	if (st != ERR_OK)
		return st;
	if (x.total > BUNDLE_MAX_ENTRIES)
		return err_set(e, ERR_PERM,
		               "%" PRIu64 " records selected, more than the %zu one bundle may "
		               "carry: split the export with --from/--to",
		               x.total, BUNDLE_MAX_ENTRIES);
	st = bw_open(&w, out_path, BUNDLE_RECORDS, o->signer ? o->signer : "scfgate", key, o->queue,
	             spool_dir_name(src), seal_to, e);
	if (st != ERR_OK)
		return st;
	x.w = &w;
	x.counting = 0;
	buf_init(&x.rec, RECORD_MAX_BYTES);
	st = spool_list_range(o->root, o->queue, src, o->from, o->to, export_one, &x, e);
	if (st == ERR_OK)
		st = x.st;
	buf_release(&x.rec);
	if (st != ERR_OK) {
		bw_abort(&w);
		return st;
	}
	if (info) {
		info->kind = BUNDLE_RECORDS;
		info->n_entries = w.n;
		info->total_bytes = w.bytes;
		info->n_ranges = w.n_ranges;
		info->ranges = w.n_ranges ? malloc(w.n_ranges * sizeof(*w.ranges)) : NULL;
		if (info->ranges)
			memcpy(info->ranges, w.ranges, w.n_ranges * sizeof(*w.ranges));
		else
			info->n_ranges = 0;
		sig_key_id(key, info->key_id);
		snprintf(info->signer, sizeof(info->signer), "%s",
		         o->signer ? o->signer : "scfgate");
		snprintf(info->queue, sizeof(info->queue), "%s", o->queue);
		snprintf(info->source, sizeof(info->source), "%s", spool_dir_name(src));
	}
	return bw_finish(&w, NULL, 0, e);
}

/* ---- acknowledgments ------------------------------------------------------------ */

struct seen {
	uint64_t seq;
	uint32_t producer;
};

struct ack_ctx {
	struct seen *v;
	size_t n, alloc;
	char (*producers)[RECORD_PRODUCER_MAX + 1];
	size_t n_producers;
	int oom;
};

static int ack_collect(const struct spool_entry *ent, void *vctx)
{
	struct ack_ctx *c = vctx;
	size_t p;

	if (ent->seq == 0 || !ends_with(ent->name, ".xml"))
		return 0;
	for (p = 0; p < c->n_producers; p++)
		if (strcmp(c->producers[p], ent->producer) == 0)
			break;
	if (p == c->n_producers) {
		void *np = realloc(c->producers, (p + 1) * sizeof(*c->producers));
		if (!np || p >= 1024)
			return c->oom = 1;
		c->producers = np;
		snprintf(c->producers[p], sizeof(*c->producers), "%s", ent->producer);
		c->n_producers++;
	}
	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 1024;
		void *nv = realloc(c->v, na * sizeof(*c->v));
		if (!nv)
			return c->oom = 1;
		c->v = nv;
		c->alloc = na;
	}
	c->v[c->n].seq = ent->seq;
	c->v[c->n].producer = (uint32_t)p;
	c->n++;
	return 0;
}

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->producer != y->producer)
		return x->producer < y->producer ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorted (producer, seq) pairs into runs of consecutive sequences. */
static enum err_status make_ranges(struct ack_ctx *c, struct bundle_range **out, size_t *n_out,
                                   struct err *e)
{
	struct bundle_range *g = NULL;
	size_t n = 0;

	qsort(c->v, c->n, sizeof(*c->v), seen_cmp);
	for (size_t i = 0; i < c->n; i++) {
		const char *p = c->producers[c->v[i].producer];
		if (n && strcmp(g[n - 1].producer, p) == 0 && c->v[i].seq <= g[n - 1].last + 1) {
			if (c->v[i].seq == g[n - 1].last + 1) {
				g[n - 1].last = c->v[i].seq;
				g[n - 1].count++;
			}
			continue;
		}
		if (n >= BUNDLE_MAX_RANGES) {
			free(g);
			return err_set(e, ERR_PERM, "more than %zu separate ranges to acknowledge",
			               BUNDLE_MAX_RANGES);
		}
		void *ng = realloc(g, (n + 1) * sizeof(*g));
		if (!ng) {
			free(g);
			return err_set(e, ERR_TEMP, "out of memory");
		}
		g = ng;
		snprintf(g[n].producer, sizeof(g[n].producer), "%s", p);
		g[n].first = g[n].last = c->v[i].seq;
		g[n].count = 1;
		n++;
	}
	*out = g;
	*n_out = n;
	return ERR_OK;
}

enum err_status bundle_ack_export(const char *root, const char *queue, const char *signer,
                                  const struct sig_key *key, const char *out_path,
                                  struct bundle_info *info, struct err *e)
{
	static const enum spool_dir dirs[] = {SPOOL_NEW, SPOOL_CUR, SPOOL_DONE, SPOOL_FAILED,
	                                      SPOOL_HOLD};
	struct bundle_range *ranges = NULL;
	struct ack_ctx c = {0};
	size_t n_ranges = 0;
	enum err_status st = ERR_OK;
	struct bw w;

	if (info)
		memset(info, 0, sizeof(*info));
	for (size_t i = 0; st == ERR_OK && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		st = spool_list(root, queue, dirs[i], ack_collect, &c, e);
		if (st == ERR_OK && c.oom)
			st = err_set(e, ERR_TEMP, "out of memory listing %s/%s", queue,
			             spool_dir_name(dirs[i]));
	}
	if (st == ERR_OK)
		st = make_ranges(&c, &ranges, &n_ranges, e);
	if (st == ERR_OK)
		st = bw_open(&w, out_path, BUNDLE_ACK, signer ? signer : "scfgate", key, queue,
		             "committed", NULL, e);
	if (st == ERR_OK)
		st = bw_finish(&w, ranges, n_ranges, e);
	if (st == ERR_OK && info) {
		info->kind = BUNDLE_ACK;
		info->ranges = ranges;
		info->n_ranges = n_ranges;
		ranges = NULL;
		sig_key_id(key, info->key_id);
		snprintf(info->queue, sizeof(info->queue), "%s", queue);
	}
	free(ranges);
	free(c.v);
	free(c.producers);
	return st;
}
