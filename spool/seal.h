/*
 * seal.h: encrypted ("sealed") bundle files: a whole file encrypted to
 * the receiving half's X25519 key (OpenSSL libcrypto only: X25519,
 * HKDF-SHA256, ChaCha20-Poly1305 in the STREAM construction).
 *
 * Format, version 1 (docs/bundles.md, "Encrypted bundles"):
 *
 *   offset size  header (SEAL_HEADER_LEN bytes)
 *        0    8  magic "SCFGSEAL"
 *        8    1  version, 1
 *        9    1  AEAD, 1 = ChaCha20-Poly1305
 *       10    2  reserved, zero
 *       12    4  chunk size C (plaintext bytes of every chunk but the
 *                last), big-endian, SEAL_CHUNK_MIN..SEAL_CHUNK_MAX;
 *                export writes SEAL_CHUNK_DEFAULT
 *       16    8  recipient key id: the first 8 bytes of SHA-256 of the
 *                recipient's raw 32-byte X25519 public key
 *       24   32  the sender's ephemeral X25519 public key (raw)
 *   then chunks 0, 1, ..., n: each the ChaCha20-Poly1305 ciphertext of
 *   its plaintext followed by the 16-byte tag.  Every chunk but the
 *   last holds exactly C plaintext bytes; the last holds 0..C-1 (so a
 *   plaintext of k*C bytes ends with an empty last chunk).
 *
 *   shared  = X25519(ephemeral private, recipient public)
 *   okm     = HKDF-SHA256(ikm = shared,
 *                         salt = ephemeral public || recipient public,
 *                         info = "scfgate-seal 1 chacha20-poly1305",
 *                         length 39)
 *   key     = okm[0..32), prefix = okm[32..39)
 *   nonce_i = prefix (7) || i as 32-bit big-endian (4) || last (1:
 *             0x01 for the last chunk, else 0x00)
 *   AAD     = the whole header (56 bytes), for every chunk
 *
 * What this gives (STREAM, Hoang et al. 2015): each chunk is
 * authenticated with its position and with whether it ends the file,
 * and the header is authenticated by every chunk; so a changed header,
 * a changed, reordered, dropped or duplicated chunk, a file cut at any
 * point (also at a chunk boundary) and bytes appended after the last
 * chunk all fail.  A chunk's plaintext is released only after its tag
 * verified; the whole plaintext is trustworthy only when the reader
 * finished with ERR_OK (a cut file is known only at its end).
 *
 * Contract
 *   - Keys: "<name>.x25519.key" (PKCS#8 PEM, mode 0600) and
 *     "<name>.x25519.pub" (SubjectPublicKeyInfo PEM).  seal_keygen never
 *     overwrites; seal_load_private refuses a file that group or others
 *     may read or write.  Key ids are 16 hex digits (as sig.h's).
 *   - Memory is bounded: a writer or reader holds one chunk (at most
 *     SEAL_CHUNK_MAX + 16 bytes) whatever the file's size.
 *   - Errors: ERR_PERM for anything wrong with the input (not sealed,
 *     another version, sealed to another key, a chunk that does not
 *     authenticate, a cut file), with the chunk number and byte offset;
 *     ERR_TEMP for I/O and for OpenSSL failing (memory); ERR_FATAL for
 *     a key file that cannot be used.  Nothing is printed.
 */
#ifndef SCFGATE_SEAL_H
#define SCFGATE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SEAL_MAGIC         "SCFGSEAL"
#define SEAL_MAGIC_LEN     8
#define SEAL_VERSION       1
#define SEAL_AEAD_CHACHA   1
#define SEAL_HEADER_LEN    56
#define SEAL_TAG_LEN       16
#define SEAL_CHUNK_MIN     ((uint32_t)64)
#define SEAL_CHUNK_MAX     ((uint32_t)1024 * 1024)
#define SEAL_CHUNK_DEFAULT ((uint32_t)65536)
#define SEAL_KEY_ID_LEN    16

/* An X25519 key: private (can decrypt) or public (can be sealed to). */
struct seal_key;

/* Write dir/name.x25519.key (0600) and dir/name.x25519.pub (0644);
 * fails if either exists. */
enum err_status seal_keygen(const char *dir, const char *name, struct err *e);

enum err_status seal_load_private(const char *path, struct seal_key **out, struct err *e);
enum err_status seal_load_public(const char *path, struct seal_key **out, struct err *e);
/* The same from PEM text in memory (tests, the fuzz target). */
enum err_status seal_load_private_mem(const char *pem, size_t len, struct seal_key **out,
                                      struct err *e);
enum err_status seal_load_public_mem(const char *pem, size_t len, struct seal_key **out,
                                     struct err *e);
void seal_key_free(struct seal_key *k);
/* 16 lowercase hex digits + NUL. */
void seal_key_id(const struct seal_key *k, char out[SEAL_KEY_ID_LEN + 1]);

/* Where sealed or opened bytes go; a non-ERR_OK return stops the work. */
typedef enum err_status (*seal_out_fn)(const void *data, size_t len, void *ctx, struct err *e);

/* ---- sealing ------------------------------------------------------------ */

struct seal_writer;

/* Start a sealed stream to the public key "to" (a private key works
 * too): a fresh ephemeral key, SEAL_CHUNK_DEFAULT.  The header is handed
 * to out at once. */
enum err_status seal_writer_open(struct seal_writer **out_w, const struct seal_key *to,
                                 seal_out_fn out, void *ctx, struct err *e);
/* Test vectors only: a given ephemeral private key and chunk size, so
 * the output is reproducible.  Never use a fixed ephemeral key twice. */
enum err_status seal_writer_open_fixed(struct seal_writer **out_w, const struct seal_key *to,
                                       const struct seal_key *ephemeral, uint32_t chunk_size,
                                       seal_out_fn out, void *ctx, struct err *e);
enum err_status seal_writer_write(struct seal_writer *w, const void *data, size_t len,
                                  struct err *e);
/* Seal the last chunk.  Writing after it, or finishing twice, is an error. */
enum err_status seal_writer_finish(struct seal_writer *w, struct err *e);
void seal_writer_free(struct seal_writer *w);

/* ---- opening ------------------------------------------------------------ */

struct seal_reader;

/* A reader that opens streams sealed to the private key k. */
enum err_status seal_reader_open(struct seal_reader **out_r, const struct seal_key *k,
                                 seal_out_fn out, void *ctx, struct err *e);
/* Feed the next bytes of the sealed stream, in any pieces. */
enum err_status seal_reader_feed(struct seal_reader *r, const void *data, size_t len,
                                 struct err *e);
/* The end of the stream: open the last chunk.  Only ERR_OK here says the
 * plaintext handed out is whole and authentic. */
enum err_status seal_reader_finish(struct seal_reader *r, struct err *e);
void seal_reader_free(struct seal_reader *r);

/* ---- files -------------------------------------------------------------- */

/* *sealed = 1 when path is a regular file that starts with SEAL_MAGIC.
 * The file is opened without blocking and without following a link (a
 * FIFO or a link is refused, never read). */
enum err_status seal_probe(const char *path, int *sealed, struct err *e);
/* The same on an open file (read with pread: its offset is unchanged);
 * name names it in messages. */
enum err_status seal_probe_fd(int fd, const char *name, int *sealed, struct err *e);

/*
 * Decrypt the sealed file open on in (read from its start) with k into
 * an unnamed private file in tmp_dir (O_TMPFILE, mode 0600; where the
 * file system has no O_TMPFILE, a 0600 file named .sealed-open-XXXXXX,
 * unlinked by seal_plain_close).  The plaintext is read through p->fd,
 * positioned at its start, until seal_plain_close; it is never handed on
 * by a name.  On an error nothing is left behind and the message names
 * name.  seal_open_file opens path as seal_probe does, then the same.
 */
struct seal_plain {
	int fd;
	char named[4096]; /* the fallback's name, "" with O_TMPFILE */
};

enum err_status seal_open_fd(int in, const char *name, const struct seal_key *k,
                             const char *tmp_dir, struct seal_plain *p, struct err *e);
enum err_status seal_open_file(const char *path, const struct seal_key *k, const char *tmp_dir,
                               struct seal_plain *p, struct err *e);
void seal_plain_close(struct seal_plain *p);

#endif
