/*
 * sig.h: Ed25519 keys and signatures (OpenSSL libcrypto).
 *
 * Contract
 *   - Keys are PEM files: "<name>.key" (PKCS#8 private key, mode 0600)
 *     and "<name>.pub" (SubjectPublicKeyInfo).  sig_keygen refuses to
 *     overwrite an existing file.
 *   - A struct sig_key holds either a private key (can sign and verify)
 *     or a public key (verify only).  It is opaque.
 *   - sig_key_id() is a short stable fingerprint of the public key (the
 *     first 8 bytes of SHA-256 of the raw public key, as 16 hex digits).
 *     Records carry it beside the signature, so "signed by another key"
 *     is told apart from "signature does not match".
 *   - sig_verify returns ERR_OK, ERR_PERM (the signature does not match,
 *     twice in a row: OpenSSL 3.0 does not always report a failed
 *     allocation, so one "no" is not believed), or ERR_TEMP (could not
 *     verify at all).  A malformed signature is never temporary.
 *   - sig_sign returns ERR_OK, ERR_FATAL (a public key), or ERR_TEMP
 *     (the library failed; with a private key nothing else can).
 */
#ifndef SCFGATE_SIG_H
#define SCFGATE_SIG_H

#include <stddef.h>

#include "err.h"

#define SIG_BYTES      64
#define SIG_KEY_ID_LEN 16

struct sig_key;

/* Write dir/name.key and dir/name.pub; fails if either exists. */
enum err_status sig_keygen(const char *dir, const char *name, struct err *e);

enum err_status sig_load_private(const char *path, struct sig_key **out, struct err *e);
enum err_status sig_load_public(const char *path, struct sig_key **out, struct err *e);
/* The same from PEM text already in memory (embedded test keys, bundles). */
enum err_status sig_load_public_mem(const char *pem, size_t len, struct sig_key **out,
                                    struct err *e);
enum err_status sig_load_private_mem(const char *pem, size_t len, struct sig_key **out,
                                     struct err *e);
void sig_key_free(struct sig_key *k);
/* 1 if k holds a private key (can sign). */
int sig_key_can_sign(const struct sig_key *k);

/* 16 lowercase hex digits + NUL. */
void sig_key_id(const struct sig_key *k, char out[SIG_KEY_ID_LEN + 1]);

enum err_status sig_sign(const struct sig_key *k, const void *msg, size_t len,
                         unsigned char sig[SIG_BYTES], struct err *e);
enum err_status sig_verify(const struct sig_key *k, const void *msg, size_t len,
                           const unsigned char sig[SIG_BYTES], struct err *e);
/* Signature checks sig_verify made in this process so far (any thread):
 * what tests and the OMS half's --once report count "verified once" by. */
unsigned long sig_verify_count(void);

/* SHA-256 of data as 64 lowercase hex digits + NUL. */
void sig_sha256_hex(const void *data, size_t len, char out[65]);
/* SHA-256 of data, raw and (when hex is not NULL) as sig_sha256_hex
 * gives it; 0.  Should OpenSSL fail, raw is all zero and hex is 64 'x', a
 * digest no real one matches, and -1 is returned (for a caller that must
 * not go on with it, as a key id must not be a digest of nothing). */
int sig_sha256(const void *data, size_t len, unsigned char raw[32], char hex[65]);
/* n bytes as 2n lowercase hex digits + NUL: the one hex writer of the
 * digests and key ids (sig, seal, bundle). */
void sig_hex(const unsigned char *in, size_t n, char *out);

#endif
