/*
 * sig_pem.h: PEM key files, the one reader and writer of the signing
 * keys (sig.c, Ed25519) and the bundle encryption keys (seal.c, X25519);
 * not an interface for other modules (they use sig.h and seal.h).
 *
 * Contract
 *   - sig_pem_read_file reads a key file opened without blocking and
 *     without a controlling terminal: a regular file (a FIFO, device or
 *     directory is refused, never waited on) of at most SIG_PEM_MAX
 *     bytes.  With owner_only, a file group or others may read or write
 *     is refused ("run chmod 600").  The key text read is wiped before
 *     its memory is freed.  Every failure is ERR_FATAL (a half without
 *     its key must stop), the message naming path.
 *     A link is followed on purpose: a key's path comes from the
 *     configuration or the command line, never from a queue, and an
 *     operator may point it into a key store; what it reaches must still
 *     be a regular file.
 *   - sig_pem_read_mem parses PEM text: a private key (PKCS#8) when
 *     private is set, else a public one (SubjectPublicKeyInfo); what names
 *     it in messages.  ERR_FATAL for text that is no such key, ERR_TEMP
 *     when OpenSSL runs out of memory.  The key's type is the caller's to
 *     check.
 *   - sig_pem_keygen writes a fresh key of type alg ("ED25519",
 *     "X25519"; shown as shown) to dir/name+priv_ext (mode 0600) and
 *     dir/name+pub_ext (mode 0644), whatever the umask, each created with
 *     O_EXCL, written, fsync'd, then the directory fsync'd.  An existing
 *     file of either name is ERR_PERM and nothing is written; a failure
 *     leaves neither file.
 */
#ifndef SCFGATE_SIG_PEM_H
#define SCFGATE_SIG_PEM_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"

/* A PEM key is a few hundred bytes; anything much larger is not a key. */
#define SIG_PEM_MAX ((size_t)64 * 1024)

enum err_status sig_pem_read_file(const char *path, int private, int owner_only, EVP_PKEY **out,
                                  struct err *e);
enum err_status sig_pem_read_mem(const char *pem, size_t len, int private, const char *what,
                                 EVP_PKEY **out, struct err *e);
enum err_status sig_pem_keygen(const char *dir, const char *name, const char *priv_ext,
                               const char *pub_ext, const char *alg, const char *shown,
                               struct err *e);

#endif
