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

#include "sig_pem.h"

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

int sig_sha256(const void *data, size_t len, unsigned char raw[32], char hex[65])
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
		return -1;
	}
	if (hex)
		sig_hex(raw, 32, hex);
	return 0;
}

void sig_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];

	(void)sig_sha256(data, len, md, out);
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
	enum err_status st;

	*out = NULL;
	st = sig_pem_read_mem(pem, len, private, what, &pkey, e);
	return st != ERR_OK ? st : key_wrap(pkey, private, what, out, e);
}

static enum err_status load_file(const char *path, int private, struct sig_key **out, struct err *e)
{
	EVP_PKEY *pkey;
	enum err_status st;

	*out = NULL;
	st = sig_pem_read_file(path, private, 0, &pkey, e);
	if (st == ERR_OK)
		st = key_wrap(pkey, private, path, out, e);
	if (st != ERR_OK && e)
		e->status = st = ERR_FATAL; /* a half without its key must stop */
	return st != ERR_OK ? ERR_FATAL : ERR_OK;
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

enum err_status sig_keygen(const char *dir, const char *name, struct err *e)
{
	return sig_pem_keygen(dir, name, ".key", ".pub", "ED25519", "Ed25519", e);
}
