/*
 * seal.c: sealed (encrypted) bundle files on OpenSSL's EVP interface.
 * See seal.h for the format and the contract.
 */
#include "seal.h"
#include "sig.h"
#include "sig_pem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>

#define SEAL_INFO    "scfgate-seal 1 chacha20-poly1305"
#define SEAL_OKM_LEN 39 /* key 32 + nonce prefix 7 */
/* A chunk's number is 32 bits of its nonce. */
#define SEAL_MAX_CHUNKS ((uint64_t)UINT32_MAX + 1)

struct seal_key {
	EVP_PKEY *pkey;
	int has_private;
	unsigned char raw[32];        /* the public key */
	unsigned char raw_id[8];      /* the first 8 bytes of its SHA-256 */
	char id[SEAL_KEY_ID_LEN + 1]; /* raw_id in hex */
};

static enum err_status key_wrap(EVP_PKEY *pkey, int has_private, const char *what,
                                struct seal_key **out, struct err *e)
{
	unsigned char md[32];
	size_t rawlen = 32;
	struct seal_key *k;

	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_X25519) {
		EVP_PKEY_free(pkey);
		return err_set(e, ERR_FATAL, "%s: not an X25519 key", what);
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return err_set(e, ERR_TEMP, "%s: out of memory", what);
	}
	if (EVP_PKEY_get_raw_public_key(pkey, k->raw, &rawlen) != 1 || rawlen != 32 ||
	    sig_sha256(k->raw, 32, md, NULL) != 0) {
		ERR_clear_error();
		EVP_PKEY_free(pkey);
		free(k);
		return err_set(e, ERR_FATAL, "%s: cannot read the public key", what);
	}
	k->pkey = pkey;
	k->has_private = has_private;
	memcpy(k->raw_id, md, sizeof(k->raw_id));
	sig_hex(k->raw_id, sizeof(k->raw_id), k->id);
	*out = k;
	return ERR_OK;
}

static enum err_status load_pem(const char *pem, size_t len, int private, const char *what,
                                struct seal_key **out, struct err *e)
{
	EVP_PKEY *pkey;
	enum err_status st;

	*out = NULL;
	st = sig_pem_read_mem(pem, len, private, what, &pkey, e);
	return st != ERR_OK ? st : key_wrap(pkey, private, what, out, e);
}

/* A private key must not be open to group or others (unlike the signing
 * keys, whose modes the configuration checks). */
static enum err_status load_file(const char *path, int private, struct seal_key **out,
                                 struct err *e)
{
	EVP_PKEY *pkey;
	enum err_status st;

	*out = NULL;
	st = sig_pem_read_file(path, private, private, &pkey, e);
	if (st == ERR_OK)
		st = key_wrap(pkey, private, path, out, e);
	if (st != ERR_OK && e)
		e->status = st = ERR_FATAL; /* a half without its key must stop */
	return st != ERR_OK ? ERR_FATAL : ERR_OK;
}

enum err_status seal_load_private(const char *path, struct seal_key **out, struct err *e)
{
	return load_file(path, 1, out, e);
}

enum err_status seal_load_public(const char *path, struct seal_key **out, struct err *e)
{
	return load_file(path, 0, out, e);
}

enum err_status seal_load_private_mem(const char *pem, size_t len, struct seal_key **out,
                                      struct err *e)
{
	return load_pem(pem, len, 1, "private key", out, e);
}

enum err_status seal_load_public_mem(const char *pem, size_t len, struct seal_key **out,
                                     struct err *e)
{
	return load_pem(pem, len, 0, "public key", out, e);
}

void seal_key_free(struct seal_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

void seal_key_id(const struct seal_key *k, char out[SEAL_KEY_ID_LEN + 1])
{
	memcpy(out, k->id, SEAL_KEY_ID_LEN + 1);
}

/* ---- keygen --------------------------------------------------------------- */

enum err_status seal_keygen(const char *dir, const char *name, struct err *e)
{
	return sig_pem_keygen(dir, name, ".x25519.key", ".x25519.pub", "X25519", "X25519", e);
}

/* ---- key schedule --------------------------------------------------------------- */

static int agree(EVP_PKEY_CTX *dctx, EVP_PKEY *peer, unsigned char shared[32], size_t *slen)
{
	int ok;

	*slen = 32;
	ok = EVP_PKEY_derive_set_peer(dctx, peer) == 1 &&
	     EVP_PKEY_derive(dctx, shared, slen) == 1 && *slen == 32;
	ERR_clear_error();
	return ok;
}

/* X25519 between priv and the raw public key peer, then HKDF-SHA256 to
 * the chunk key and nonce prefix (seal.h). */
static enum err_status derive(EVP_PKEY *priv, const unsigned char eph_pub[32],
                              const unsigned char rcpt_pub[32], const unsigned char peer_raw[32],
                              unsigned char okm[SEAL_OKM_LEN], struct err *e)
{
	unsigned char shared[32], salt[64];
	size_t slen = sizeof(shared);
	int agreed;
	enum err_status st = ERR_TEMP;
	EVP_PKEY_CTX *dctx = NULL;
	EVP_KDF_CTX *kctx = NULL;
	EVP_PKEY *peer = NULL;
	EVP_KDF *kdf = NULL;
	OSSL_PARAM params[5];
	/* copies: OSSL_PARAM_construct_* take pointers they only read as non-const */
	char digest[] = "SHA256", info[] = SEAL_INFO;

	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_raw, 32);
	dctx = EVP_PKEY_CTX_new(priv, NULL);
	if (!peer || !dctx || EVP_PKEY_derive_init(dctx) != 1) {
		err_set(e, ERR_TEMP, "X25519: out of memory");
		goto out;
	}
	/* OpenSSL refuses a low-order point (an all-zero shared secret), but
	 * 3.0 does not always say when an allocation failed instead: a "no"
	 * is believed only when a second attempt gives it too (as sig.c). */
	agreed = agree(dctx, peer, shared, &slen);
	if (agreed != 1)
		agreed = agree(dctx, peer, shared, &slen);
	if (agreed != 1) {
		st =
		    err_set(e, ERR_PERM, "X25519 key agreement failed (an unusable ephemeral key)");
		goto out;
	}
	memcpy(salt, eph_pub, 32);
	memcpy(salt + 32, rcpt_pub, 32);
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	if (!kctx) {
		err_set(e, ERR_TEMP, "HKDF: not available (out of memory?)");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared, sizeof(shared));
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof(salt));
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, strlen(info));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, okm, SEAL_OKM_LEN, params) != 1) {
		err_set(e, ERR_TEMP, "HKDF failed (out of memory?)");
		goto out;
	}
	st = ERR_OK;
out:
	ERR_clear_error();
	OPENSSL_cleanse(shared, sizeof(shared));
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(peer);
	return st;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What sealing and opening share: the key, nonce prefix, header (AAD)
 * and the chunk counter. */
struct stream {
	EVP_CIPHER_CTX *ctx;
	unsigned char key[32], prefix[7], header[SEAL_HEADER_LEN];
	uint32_t chunk;
	uint64_t index; /* of the next chunk */
	unsigned char *in, *out;
	size_t fill;
	seal_out_fn fn;
	void *fn_ctx;
};

static void nonce_of(const struct stream *s, int last, unsigned char nonce[12])
{
	memcpy(nonce, s->prefix, 7);
	put32(nonce + 7, (uint32_t)s->index);
	nonce[11] = last ? 1 : 0;
}

static enum err_status stream_init(struct stream *s, uint32_t chunk, struct err *e)
{
	s->chunk = chunk;
	s->ctx = EVP_CIPHER_CTX_new();
	s->in = malloc((size_t)chunk + SEAL_TAG_LEN);
	s->out = malloc((size_t)chunk + SEAL_TAG_LEN);
	if (!s->ctx || !s->in || !s->out)
		return err_set(e, ERR_TEMP, "out of memory");
	return ERR_OK;
}

static void stream_release(struct stream *s)
{
	EVP_CIPHER_CTX_free(s->ctx);
	if (s->in)
		OPENSSL_cleanse(s->in, (size_t)s->chunk + SEAL_TAG_LEN);
	if (s->out)
		OPENSSL_cleanse(s->out, (size_t)s->chunk + SEAL_TAG_LEN);
	free(s->in);
	free(s->out);
	OPENSSL_cleanse(s->key, sizeof(s->key));
}

/* ---- sealing --------------------------------------------------------------- */

struct seal_writer {
	struct stream s;
	int finished;
};

/* Seal s->in[0..fill) as chunk s->index and hand it out. */
static enum err_status seal_chunk(struct stream *s, int last, struct err *e)
{
	unsigned char nonce[12];
	int n = 0, m = 0;

	if (s->index >= SEAL_MAX_CHUNKS)
		return err_set(e, ERR_PERM, "too large to seal (%" PRIu64 " chunks)", s->index);
	nonce_of(s, last, nonce);
	if (EVP_EncryptInit_ex(s->ctx, EVP_chacha20_poly1305(), NULL, s->key, nonce) != 1 ||
	    EVP_EncryptUpdate(s->ctx, NULL, &n, s->header, SEAL_HEADER_LEN) != 1 ||
	    (s->fill && EVP_EncryptUpdate(s->ctx, s->out, &n, s->in, (int)s->fill) != 1) ||
	    EVP_EncryptFinal_ex(s->ctx, s->out + s->fill, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, SEAL_TAG_LEN, s->out + s->fill) !=
	        1) {
		ERR_clear_error();
		return err_set(e, ERR_TEMP, "sealing chunk %" PRIu64 " failed (out of memory?)",
		               s->index);
	}
	s->index++;
	n = (int)s->fill;
	s->fill = 0;
	return s->fn(s->out, (size_t)n + SEAL_TAG_LEN, s->fn_ctx, e);
}

enum err_status seal_writer_open_fixed(struct seal_writer **out_w, const struct seal_key *to,
                                       const struct seal_key *ephemeral, uint32_t chunk_size,
                                       seal_out_fn out, void *ctx, struct err *e)
{
	unsigned char okm[SEAL_OKM_LEN];
	EVP_PKEY *eph = NULL;
	struct seal_writer *w;
	unsigned char eph_raw[32];
	size_t rawlen = sizeof(eph_raw);
	enum err_status st;

	*out_w = NULL;
	if (chunk_size < SEAL_CHUNK_MIN || chunk_size > SEAL_CHUNK_MAX)
		return err_set(e, ERR_PERM, "chunk size %" PRIu32 " out of range", chunk_size);
	w = calloc(1, sizeof(*w));
	if (!w)
		return err_set(e, ERR_TEMP, "out of memory");
	st = stream_init(&w->s, chunk_size, e);
	if (st != ERR_OK)
		goto fail;
	w->s.fn = out;
	w->s.fn_ctx = ctx;
	if (ephemeral) {
		eph = ephemeral->pkey;
		EVP_PKEY_up_ref(eph);
	} else {
		eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	}
	if (!eph || EVP_PKEY_get_raw_public_key(eph, eph_raw, &rawlen) != 1 || rawlen != 32) {
		ERR_clear_error();
		st = err_set(e, ERR_TEMP, "cannot make an ephemeral X25519 key");
		goto fail;
	}
	st = derive(eph, eph_raw, to->raw, to->raw, okm, e);
	if (st != ERR_OK)
		goto fail;
	memcpy(w->s.key, okm, 32);
	memcpy(w->s.prefix, okm + 32, 7);
	OPENSSL_cleanse(okm, sizeof(okm));
	memcpy(w->s.header, SEAL_MAGIC, SEAL_MAGIC_LEN);
	w->s.header[8] = SEAL_VERSION;
	w->s.header[9] = SEAL_AEAD_CHACHA;
	w->s.header[10] = w->s.header[11] = 0;
	put32(w->s.header + 12, chunk_size);
	memcpy(w->s.header + 16, to->raw_id, 8);
	memcpy(w->s.header + 24, eph_raw, 32);
	EVP_PKEY_free(eph);
	eph = NULL;
	st = out(w->s.header, SEAL_HEADER_LEN, ctx, e);
	if (st != ERR_OK)
		goto fail;
	*out_w = w;
	return ERR_OK;
fail:
	EVP_PKEY_free(eph);
	seal_writer_free(w);
	return st;
}

enum err_status seal_writer_open(struct seal_writer **out_w, const struct seal_key *to,
                                 seal_out_fn out, void *ctx, struct err *e)
{
	return seal_writer_open_fixed(out_w, to, NULL, SEAL_CHUNK_DEFAULT, out, ctx, e);
}

enum err_status seal_writer_write(struct seal_writer *w, const void *data, size_t len,
                                  struct err *e)
{
	const unsigned char *p = data;
	enum err_status st;

	if (w->finished)
		return err_set(e, ERR_FATAL, "sealed stream written after its end");
	while (len) {
		size_t take = w->s.chunk - w->s.fill;

		take = take < len ? take : len;
		memcpy(w->s.in + w->s.fill, p, take);
		w->s.fill += take;
		p += take;
		len -= take;
		/* A full chunk is never the last one (seal.h), so it goes now. */
		if (w->s.fill == w->s.chunk) {
			st = seal_chunk(&w->s, 0, e);
			if (st != ERR_OK)
				return st;
		}
	}
	return ERR_OK;
}

enum err_status seal_writer_finish(struct seal_writer *w, struct err *e)
{
	if (w->finished)
		return err_set(e, ERR_FATAL, "sealed stream finished twice");
	w->finished = 1;
	return seal_chunk(&w->s, 1, e);
}

void seal_writer_free(struct seal_writer *w)
{
	if (!w)
		return;
	stream_release(&w->s);
	free(w);
}

/* ---- opening --------------------------------------------------------------- */

struct seal_reader {
	struct stream s;
	const struct seal_key *key;
	size_t header_fill;
	int have_header, failed, done;
};

enum err_status seal_reader_open(struct seal_reader **out_r, const struct seal_key *k,
                                 seal_out_fn out, void *ctx, struct err *e)
{
	struct seal_reader *r;

	*out_r = NULL;
	if (!k->has_private)
		return err_set(e, ERR_FATAL, "key %s is a public key and cannot decrypt", k->id);
	r = calloc(1, sizeof(*r));
	if (!r)
		return err_set(e, ERR_TEMP, "out of memory");
	r->key = k;
	r->s.fn = out;
	r->s.fn_ctx = ctx;
	*out_r = r;
	return ERR_OK;
}

static enum err_status parse_header(struct seal_reader *r, struct err *e)
{
	const unsigned char *h = r->s.header;
	unsigned char okm[SEAL_OKM_LEN];
	char want[17];
	enum err_status st;
	uint32_t chunk;

	if (memcmp(h, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
		return err_set(e, ERR_PERM, "not an encrypted bundle (no %s magic)", SEAL_MAGIC);
	if (h[8] != SEAL_VERSION)
		return err_set(
		    e, ERR_PERM,
		    "encrypted bundle format %u is not supported (this scfgate reads %d)", h[8],
		    SEAL_VERSION);
	if (h[9] != SEAL_AEAD_CHACHA)
		return err_set(e, ERR_PERM, "header: unknown cipher %u", h[9]);
	if (h[10] || h[11])
		return err_set(e, ERR_PERM, "header: reserved bytes are not zero");
	chunk = get32(h + 12);
	if (chunk < SEAL_CHUNK_MIN || chunk > SEAL_CHUNK_MAX)
		return err_set(e, ERR_PERM, "header: chunk size %" PRIu32 " out of range", chunk);
	sig_hex(h + 16, 8, want);
	if (strcmp(want, r->key->id) != 0)
		return err_set(e, ERR_PERM,
		               "encrypted to key %s, not to this half's decryption key %s", want,
		               r->key->id);
	st = stream_init(&r->s, chunk, e);
	if (st != ERR_OK)
		return st;
	st = derive(r->key->pkey, h + 24, r->key->raw, h + 24, okm, e);
	if (st != ERR_OK)
		return st;
	memcpy(r->s.key, okm, 32);
	memcpy(r->s.prefix, okm + 32, 7);
	OPENSSL_cleanse(okm, sizeof(okm));
	r->have_header = 1;
	return ERR_OK;
}

/* Open s->in[0..fill) (ciphertext and tag) as chunk s->index. */
static enum err_status open_chunk(struct stream *s, int last, struct err *e)
{
	size_t len = s->fill - SEAL_TAG_LEN;
	uint64_t at = SEAL_HEADER_LEN + s->index * ((uint64_t)s->chunk + SEAL_TAG_LEN);
	unsigned char nonce[12];
	int n = 0, ok;

	nonce_of(s, last, nonce);
	if (EVP_DecryptInit_ex(s->ctx, EVP_chacha20_poly1305(), NULL, s->key, nonce) != 1 ||
	    EVP_DecryptUpdate(s->ctx, NULL, &n, s->header, SEAL_HEADER_LEN) != 1 ||
	    (len && EVP_DecryptUpdate(s->ctx, s->out, &n, s->in, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, SEAL_TAG_LEN, s->in + len) != 1) {
		ERR_clear_error();
		return err_set(e, ERR_TEMP, "decrypting chunk %" PRIu64 " failed (out of memory?)",
		               s->index);
	}
	ok = EVP_DecryptFinal_ex(s->ctx, s->out + len, &n);
	ERR_clear_error();
	if (ok != 1)
		return err_set(e, ERR_PERM,
		               "chunk %" PRIu64 "%s (bytes %" PRIu64 "-%" PRIu64
		               "): does not authenticate: the file was altered, cut, extended "
		               "or reordered",
		               s->index, last ? ", the last" : "", at, at + s->fill - 1);
	s->index++;
	s->fill = 0;
	return s->fn(s->out, len, s->fn_ctx, e);
}

enum err_status seal_reader_feed(struct seal_reader *r, const void *data, size_t len, struct err *e)
{
	const unsigned char *p = data;
	enum err_status st;

	if (r->failed || r->done)
		return err_set(e, ERR_PERM, "encrypted stream read after %s",
		               r->done ? "its end" : "an error");
	while (len) {
		size_t take;

		if (!r->have_header) {
			take = SEAL_HEADER_LEN - r->header_fill;
			take = take < len ? take : len;
			memcpy(r->s.header + r->header_fill, p, take);
			r->header_fill += take;
			p += take;
			len -= take;
			if (r->header_fill == SEAL_HEADER_LEN) {
				st = parse_header(r, e);
				if (st != ERR_OK)
					goto fail;
			}
			continue;
		}
		if (r->s.index >= SEAL_MAX_CHUNKS) {
			st = err_set(e, ERR_PERM, "more chunks than a sealed file can hold");
			goto fail;
		}
		take = r->s.chunk + SEAL_TAG_LEN - r->s.fill;
		take = take < len ? take : len;
		memcpy(r->s.in + r->s.fill, p, take);
		r->s.fill += take;
		p += take;
		len -= take;
		/* A full chunk is never the last one. */
		if (r->s.fill == (size_t)r->s.chunk + SEAL_TAG_LEN) {
			st = open_chunk(&r->s, 0, e);
			if (st != ERR_OK)
				goto fail;
		}
	}
	return ERR_OK;
fail:
	r->failed = 1;
	return st;
}

enum err_status seal_reader_finish(struct seal_reader *r, struct err *e)
{
	if (r->failed || r->done)
		return err_set(e, ERR_PERM, "encrypted stream finished after %s",
		               r->done ? "its end" : "an error");
	r->done = 1;
	if (!r->have_header)
		return err_set(e, ERR_PERM, "cut off: %zu bytes, shorter than the %d-byte header",
		               r->header_fill, SEAL_HEADER_LEN);
	if (r->s.fill < SEAL_TAG_LEN)
		return err_set(e, ERR_PERM,
		               "cut off: the file ends %s chunk %" PRIu64 " (%zu bytes of it)",
		               r->s.fill ? "inside" : "before", r->s.index, r->s.fill);
	return open_chunk(&r->s, 1, e);
}

void seal_reader_free(struct seal_reader *r)
{
	if (!r)
		return;
	stream_release(&r->s);
	free(r);
}

/* ---- files --------------------------------------------------------------- */

static int open_untrusted(const char *path, struct err *e)
{
	struct stat sb;
	int fd;

	/* Non-blocking, so a FIFO planted under the name never hangs us;
	 * a link (which a stick from the other side may carry) is never
	 * followed. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err_errno(e, errno == ENOENT ? ERR_PERM : ERR_TEMP, errno, "%s", path);
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		err_set(e, ERR_PERM, "%s: not a regular file (never read)", path);
		close(fd);
		return -1;
	}
	return fd;
}

enum err_status seal_probe_fd(int fd, const char *name, int *sealed, struct err *e)
{
	char head[SEAL_MAGIC_LEN];
	size_t got = 0;
	ssize_t n;

	*sealed = 0;
	/* pread: the offset stays where the caller had it */
	while (got < sizeof(head) &&
	       (n = pread(fd, head + got, sizeof(head) - got, (off_t)got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, ERR_TEMP, errno, "%s: read", name);
		got += (size_t)n;
	}
	*sealed = got == sizeof(head) && memcmp(head, SEAL_MAGIC, SEAL_MAGIC_LEN) == 0;
	return ERR_OK;
}

enum err_status seal_probe(const char *path, int *sealed, struct err *e)
{
	enum err_status st;
	int fd;

	*sealed = 0;
	if ((fd = open_untrusted(path, e)) < 0)
		return e ? e->status : ERR_PERM;
	st = seal_probe_fd(fd, path, sealed, e);
	close(fd);
	return st;
}

static enum err_status write_fd(const void *data, size_t len, void *ctx, struct err *e)
{
	const char *p = data;
	int fd = *(int *)ctx;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, ERR_TEMP, errno, "writing the decrypted copy");
		p += n;
		len -= (size_t)n;
	}
	return ERR_OK;
}

/* The private file the plaintext goes to (see seal_open_fd): read
 * through p->fd, never by a name another process could swap. */
static enum err_status plain_create(const char *tmp_dir, struct seal_plain *p, struct err *e)
{
	int n;

	p->fd = open(tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (p->fd >= 0)
		return ERR_OK;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return err_errno(e, ERR_TEMP, errno, "%s: private temporary file", tmp_dir);
	n = snprintf(p->named, sizeof(p->named), "%s/.sealed-open-XXXXXX", tmp_dir);
	if (n < 0 || (size_t)n >= sizeof(p->named)) {
		p->named[0] = '\0';
		return err_set(e, ERR_PERM, "%s: path too long", tmp_dir);
	}
	p->fd = mkostemp(p->named, O_CLOEXEC); /* mode 0600 */
	if (p->fd < 0) {
		enum err_status st = err_errno(e, ERR_TEMP, errno, "%s: mkstemp", p->named);

		p->named[0] = '\0';
		return st;
	}
	return ERR_OK;
}

enum err_status seal_open_fd(int in, const char *name, const struct seal_key *k,
                             const char *tmp_dir, struct seal_plain *p, struct err *e)
{
	struct seal_reader *r = NULL;
	unsigned char *buf = NULL;
	enum err_status st;
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (lseek(in, 0, SEEK_SET) != 0) {
		st = err_errno(e, ERR_TEMP, errno, "seek");
		goto out;
	}
	st = plain_create(tmp_dir, p, e);
	if (st != ERR_OK)
		goto out;
	st = seal_reader_open(&r, k, write_fd, &p->fd, e);
	if (st != ERR_OK)
		goto out;
	if (!(buf = malloc(65536))) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	while ((n = read(in, buf, 65536)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = err_errno(e, ERR_TEMP, errno, "read");
			goto out;
		}
		st = seal_reader_feed(r, buf, (size_t)n, e);
		if (st != ERR_OK)
			goto out;
	}
	st = seal_reader_finish(r, e);
	/* the bundle reader reads the plaintext from its start */
	if (st == ERR_OK && lseek(p->fd, 0, SEEK_SET) != 0)
		st = err_errno(e, ERR_TEMP, errno, "the decrypted copy: seek");
out:
	free(buf);
	seal_reader_free(r);
	if (st != ERR_OK) {
		err_prefix(e, "%s: ", name);
		seal_plain_close(p);
	}
	return st;
}

enum err_status seal_open_file(const char *path, const struct seal_key *k, const char *tmp_dir,
                               struct seal_plain *p, struct err *e)
{
	enum err_status st;
	int in;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if ((in = open_untrusted(path, e)) < 0)
		return e ? e->status : ERR_PERM;
	st = seal_open_fd(in, path, k, tmp_dir, p, e);
	close(in);
	return st;
}

void seal_plain_close(struct seal_plain *p)
{
	if (p->named[0])
		unlink(p->named);
	if (p->fd >= 0)
		close(p->fd);
	p->named[0] = '\0';
	p->fd = -1;
}
