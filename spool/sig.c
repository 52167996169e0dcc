/*
 * sig.c: Ed25519 keys and signatures on OpenSSL's EVP interface.  See
 * sig.h for the contract.
 */
#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "buf.h"

/* A PEM key is a few hundred bytes; anything much larger is not a key. */
#define SIG_PEM_MAX ((size_t)64 * 1024)

struct sig_key {
	EVP_PKEY *pkey;
	int has_private;
	char id[SIG_KEY_ID_LEN + 1];
};

void sig_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void sig_sha256(const void *data, size_t len, unsigned char raw[32], char hex[65])
{
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, raw, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		/* Only an OpenSSL malfunction gets here; an impossible digest
		 * never matches a real one. */
		memset(raw, 0, 32);
		if (hex) {
			memset(hex, 'x', 64);
			hex[64] = '\0';
		}
		ERR_clear_error();
		return;
	}
	if (hex)
		sig_hex(raw, 32, hex);
}

void sig_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];

	sig_sha256(data, len, md, out);
}

/* Wrap a loaded EVP_PKEY, checking it is Ed25519 and computing its id. */
static enum err_status key_wrap(EVP_PKEY *pkey, int has_private, const char *what,
                                struct sig_key **out, struct err *e)
{
	unsigned char raw[32];
	size_t rawlen = sizeof(raw);
	char digest[65];
	struct sig_key *k;

	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		return err_set(e, ERR_FATAL, "%s: not an Ed25519 key", what);
	}
	if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 || rawlen != sizeof(raw)) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return err_set(e, ERR_FATAL, "%s: cannot read the public key", what);
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return err_set(e, ERR_TEMP, "%s: out of memory", what);
	}
	k->pkey = pkey;
	k->has_private = has_private;
	sig_sha256_hex(raw, sizeof(raw), digest);
	memcpy(k->id, digest, SIG_KEY_ID_LEN);
	k->id[SIG_KEY_ID_LEN] = '\0';
	*out = k;
	return ERR_OK;
}

static enum err_status load_pem(const char *pem, size_t len, int private, const char *what,
                                struct sig_key **out, struct err *e)
{
	EVP_PKEY *pkey;
	BIO *bio;

	*out = NULL;
	if (len > INT_MAX)
		return err_set(e, ERR_FATAL, "%s: too large for a key", what);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return err_set(e, ERR_TEMP, "%s: out of memory", what);
	if (private)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!pkey)
		return err_set(e, ERR_FATAL, "%s: not a PEM %s key", what,
		               private ? "private" : "public");
	return key_wrap(pkey, private, what, out, e);
}

static enum err_status load_file(const char *path, int private, struct sig_key **out, struct err *e)
{
	struct buf b = BUF_INIT_CAP(SIG_PEM_MAX);
	enum err_status st;

	*out = NULL;
	st = buf_read_file(&b, path, e);
	if (st == ERR_OK)
		st = load_pem(buf_str(&b), b.len, private, path, out, e);
	else if (e)
		e->status = st = ERR_FATAL; /* a half without its key must stop */
	else
		st = ERR_FATAL;
	/* Wipe private key text before it goes back to the allocator. */
	if (b.data)
		OPENSSL_cleanse(b.data, b.alloc);
	buf_release(&b);
	return st;
}

enum err_status sig_load_private(const char *path, struct sig_key **out, struct err *e)
{
	return load_file(path, 1, out, e);
}

enum err_status sig_load_public(const char *path, struct sig_key **out, struct err *e)
{
	return load_file(path, 0, out, e);
}

enum err_status sig_load_public_mem(const char *pem, size_t len, struct sig_key **out,
                                    struct err *e)
{
	return load_pem(pem, len, 0, "public key", out, e);
}

enum err_status sig_load_private_mem(const char *pem, size_t len, struct sig_key **out,
                                     struct err *e)
{
	return load_pem(pem, len, 1, "private key", out, e);
}

void sig_key_free(struct sig_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

int sig_key_can_sign(const struct sig_key *k)
{
	return k && k->has_private;
}

void sig_key_id(const struct sig_key *k, char out[SIG_KEY_ID_LEN + 1])
{
	memcpy(out, k->id, SIG_KEY_ID_LEN + 1);
}

/*
 * OpenSSL 3.0 allocates inside every Ed25519 operation (a digest context
 * for SHA-512) and does not always say so when that fails, so neither a
 * failed signature nor a "does not verify" proves anything about the key
 * or the record by itself.  Signing a well-formed message with a private
 * key has no other way to fail, so it is temporary; a verification is
 * believed only when a second attempt gives the same answer.
 */
enum err_status sig_sign(const struct sig_key *k, const void *msg, size_t len,
                         unsigned char sig[SIG_BYTES], struct err *e)
{
	enum err_status st = ERR_TEMP;
	size_t siglen = SIG_BYTES;
	EVP_MD_CTX *ctx;

	if (!k->has_private)
		return err_set(e, ERR_FATAL, "key %s is a public key and cannot sign", k->id);
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return err_set(e, ERR_TEMP, "signing: out of memory");
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != SIG_BYTES) {
		err_set(e, ERR_TEMP, "signing with key %s failed (out of memory?)", k->id);
		goto out;
	}
	st = ERR_OK;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return st;
}

/* 1: verifies; 0: does not; -1: could not even start. */
static int verify_once(const struct sig_key *k, const void *msg, size_t len,
                       const unsigned char sig[SIG_BYTES])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;

	if (ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1)
		rc = EVP_DigestVerify(ctx, sig, SIG_BYTES, msg, len) == 1;
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

static _Atomic unsigned long verify_count;

unsigned long sig_verify_count(void)
{
	return verify_count;
}

enum err_status sig_verify(const struct sig_key *k, const void *msg, size_t len,
                           const unsigned char sig[SIG_BYTES], struct err *e)
{
	int rc;

	verify_count++;
	rc = verify_once(k, msg, len, sig);

	if (rc != 1)
		rc = verify_once(k, msg, len, sig);
	if (rc == 1)
		return ERR_OK;
	if (rc < 0)
		return err_set(e, ERR_TEMP, "verifying with key %s: out of memory", k->id);
	return err_set(e, ERR_PERM, "signature does not verify against key %s", k->id);
}

/* Create path with O_EXCL and write the key in PEM through a FILE. */
static enum err_status write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, int private,
                                 struct err *e)
{
	enum err_status st = ERR_FATAL;
	FILE *f = NULL;
	int ok;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return err_errno(e, errno == EEXIST ? ERR_PERM : ERR_FATAL, errno, "%s", path);
	/* The umask must not loosen or tighten what the contract promises. */
	if (fchmod(fd, mode) != 0) {
		err_errno(e, ERR_FATAL, errno, "%s: chmod", path);
		close(fd);
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err_errno(e, ERR_FATAL, errno, "%s", path);
		close(fd);
		goto out;
	}
	if (private)
		ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_PUBKEY(f, pkey);
	ERR_clear_error();
	if (ok != 1 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		err_errno(e, ERR_FATAL, errno, "%s: write", path);
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		err_errno(e, ERR_FATAL, errno, "%s: close", path);
		goto out;
	}
	f = NULL;
	st = ERR_OK;
out:
	if (f)
		fclose(f);
	if (st != ERR_OK)
		unlink(path);
	return st;
}

static int join(char *out, size_t size, const char *dir, const char *name, const char *ext)
{
	int n = snprintf(out, size, "%s/%s%s", dir, name, ext);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

enum err_status sig_keygen(const char *dir, const char *name, struct err *e)
{
	char priv[PATH_MAX], pub[PATH_MAX];
	enum err_status st = ERR_FATAL;
	EVP_PKEY *pkey = NULL;
	struct stat sb;

	if (join(priv, sizeof(priv), dir, name, ".key") ||
	    join(pub, sizeof(pub), dir, name, ".pub"))
		return err_set(e, ERR_FATAL, "%s/%s: path too long", dir, name);
	/* Check both first, so a half-written pair is never left behind. */
	if (lstat(priv, &sb) == 0 || lstat(pub, &sb) == 0)
		return err_set(e, ERR_PERM, "%s: key already exists, refusing to overwrite",
		               lstat(priv, &sb) == 0 ? priv : pub);
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey) {
		ERR_clear_error();
		return err_set(e, ERR_FATAL, "cannot generate an Ed25519 key");
	}
	st = write_pem(priv, 0600, pkey, 1, e);
	if (st != ERR_OK)
		goto out;
	st = write_pem(pub, 0644, pkey, 0, e);
	if (st != ERR_OK) {
		unlink(priv);
		goto out;
	}
	/* Make both names durable before anyone is told the key exists. */
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
out:
	EVP_PKEY_free(pkey);
	return st;
}
