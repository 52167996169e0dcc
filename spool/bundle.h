/*
 * bundle.h: offline bundles: spool records in a signed tar archive, to
 * carry them across an air gap, to acknowledge what arrived, and to
 * archive done/ records (libarchive, libxml2, Ed25519).
 *
 * Format (schemas/manifest.xsd says it in full)
 *   A POSIX tar, plain, gzip (.tar.gz) or zstd (.tar.zst), holding exactly
 *     <20-digit seq>-<producer>.xml   record files, strictly in name order
 *     manifest.xml                    signer, key id, queue, source, one
 *                                     <entry name size sha256> per record
 *                                     in archive order, <range>s
 *     manifest.sig                    "ed25519 KEYID BASE64\n": Ed25519 over
 *                                     "scfgate-bundle-manifest 1 sha256=HEX\n"
 *                                     (HEX: SHA-256 of the manifest bytes)
 *   and nothing else.  The manifest comes last so export is one streaming
 *   pass; its signature covers the exact stored bytes (no canonicalization
 *   needed, nothing to parse before hashing).
 *
 * Reading contract (verify, list, import, prune, the fuzz target)
 *   - Nothing is ever extracted: entries are read with libarchive into
 *     capped memory, one at a time.  Only tar formats and the none, gzip
 *     and zstd filters are enabled.
 *   - An entry is refused unless it is a regular file with one of the
 *     names above: absolute paths, "..", any '/', symlinks, hardlinks,
 *     devices, fifos, a record name that is not canonical, names out of
 *     order or repeated, entries after manifest.sig.  Limits: bytes per
 *     entry, entries, total bytes (struct bundle_limits).
 *   - Each record entry's SHA-256 and size must equal its manifest entry
 *     (same position), the manifest must validate against the XSD, and
 *     the signature must verify with the given public key (a key-id
 *     mismatch is reported as "signed by another key").  With a record
 *     key, each record must also decode and verify, and say the producer
 *     and sequence its name says.
 *   - Nothing is parsed before the manifest signature verified (when a
 *     public key is given): a first read only hashes the records and the
 *     manifest and checks manifest.sig, then a second read, whose every
 *     record must have the bytes the first one hashed, parses the
 *     manifest and decodes the records.  Without a key (listing) there
 *     is one read.
 *   - The manifest passes the lexical gate (xmlgate.h) as it streams, so
 *     libxml2 never sees a chunk the gate refused: at most 256 bytes per
 *     record entry plus 64 KiB, 64 attributes and 8 namespace
 *     declarations per element, depth 64, no <!DOCTYPE> or other
 *     declaration.
 *   - Any failure is ERR_PERM (ERR_TEMP for I/O on the bundle file) and
 *     the message names the entry and what was wrong.
 *   - The entry callback sees each record BEFORE the manifest at the end
 *     has been checked: the data is trustworthy only once the whole read
 *     returned ERR_OK.  Acting code (import, prune, archive) therefore
 *     reads twice: verify everything, then act, checking in the second
 *     pass that every entry has the digest the first pass verified (so a
 *     bundle swapped on the medium between passes is refused too).
 *
 * Memory: one entry at a time (<= max_entry_bytes) plus 48 bytes per
 * record entry (the digests the manifest is compared with), capped by
 * max_entries.  Export holds one record at a time and no list of names
 * (it computes the names in sequence order and probes for them; only a
 * sparse directory is listed and sorted in memory); the manifest is built
 * in an unlinked temporary file beside the output.
 *
 * Writing contract: the bundle is written to a temporary name in the
 * target directory, fsync'd, renamed to its name (never replacing an
 * existing file) and the directory fsync'd.
 */
#ifndef SCFGATE_BUNDLE_H
#define SCFGATE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "record.h"
#include "sig.h"
#include "spool.h"

#define BUNDLE_FORMAT_VERSION 1
/* The name ending of an encrypted bundle; the compression is chosen from
 * the name without it (b.tar.zst.enc: zstd, then encrypted). */
#define BUNDLE_SEALED_SUFFIX ".enc"

struct seal_key; /* seal.h */

/* Defaults for struct bundle_limits. */
#define BUNDLE_MAX_ENTRY_BYTES RECORD_MAX_BYTES
/* Keeps a reader under 32 MiB (48 bytes per entry); export refuses more. */
#define BUNDLE_MAX_ENTRIES     ((size_t)400000)
#define BUNDLE_MAX_TOTAL_BYTES ((uint64_t)16 * 1024 * 1024 * 1024)
/* Most distinct ranges an acknowledgment may carry. */
#define BUNDLE_MAX_RANGES ((size_t)100000)

/* The embedded schemas/manifest.xsd. */
extern const char manifest_xsd_text[];

struct bundle_limits {
	size_t max_entry_bytes;   /* one record file */
	size_t max_entries;       /* record entries */
	uint64_t max_total_bytes; /* all entries together, uncompressed */
};

/* Fill with the defaults above. */
void bundle_limits_default(struct bundle_limits *l);

enum bundle_kind {
	BUNDLE_RECORDS = 1, /* record files */
	BUNDLE_ACK,         /* acknowledgment: ranges only */
};

struct bundle_range {
	char producer[RECORD_PRODUCER_MAX + 1];
	uint64_t first, last;
	uint64_t count;
};

/* What a bundle's manifest says (filled by every read). */
struct bundle_info {
	enum bundle_kind kind;
	char signer[RECORD_PRODUCER_MAX + 1];
	char key_id[SIG_KEY_ID_LEN + 1];
	char created[40];
	char queue[SPOOL_QUEUE_MAX + 1];
	char source[16]; /* "new", "done", "committed" */
	size_t n_entries;
	uint64_t total_bytes;
	size_t n_ranges;
	struct bundle_range *ranges; /* owned; bundle_info_release */
	int signature_checked;       /* 0 when read without a public key */
};

void bundle_info_release(struct bundle_info *info);

/* ---- reading --------------------------------------------------------------- */

struct bundle_entry {
	const char *name;
	uint64_t seq;
	const char *producer;
	size_t size;
	const char *sha256; /* 64 hex digits */
	const void *data;   /* size bytes, valid during the call only */
	int kind;           /* enum record_kind when the read verified the record
	                       (record_pub), else 0 */
};

/* Return non-ERR_OK (with e filled) to stop the read with that status. */
typedef enum err_status (*bundle_entry_fn)(const struct bundle_entry *ent, void *ctx,
                                           struct err *e);

struct bundle_read_opts {
	const struct sig_key *pub;          /* checks manifest.sig; NULL only for
	                                       listing (signature_checked = 0) */
	const struct sig_key *record_pub;   /* also verify each record; may be NULL */
	const struct bundle_limits *limits; /* NULL: defaults */
	bundle_entry_fn fn;                 /* may be NULL */
	void *ctx;
};

/* Open a bundle file for reading the way every reader here does: the
 * last component is never followed when it is a symbolic link, nothing
 * blocks (O_NONBLOCK), and only a regular file is kept open; anything
 * else is ERR_PERM naming path and what it is ("a symbolic link", "not a
 * regular file (a FIFO; never read)"), an I/O error ERR_TEMP. */
enum err_status bundle_open(const char *path, int *fd, struct err *e);
/* Verify a bundle file completely; see the reading contract.  The file
 * is opened with bundle_open.  info (may be NULL) is filled on ERR_OK and
 * must then be released. */
enum err_status bundle_read_file(const char *path, const struct bundle_read_opts *o,
                                 struct bundle_info *info, struct err *e);
/* The same on an open file: read from its start (each pass seeks back),
 * never closed here; it must be a regular file.  name names it in
 * messages (the file the operator gave, when fd is a decrypted copy). */
enum err_status bundle_read_fd(int fd, const char *name, const struct bundle_read_opts *o,
                               struct bundle_info *info, struct err *e);
/* The same on bytes in memory (the fuzz target, tests). */
enum err_status bundle_read_mem(const void *data, size_t len, const struct bundle_read_opts *o,
                                struct bundle_info *info, struct err *e);

/* ---- export ---------------------------------------------------------------- */

/* Progress: done of total record files written. */
typedef void (*bundle_progress_fn)(uint64_t done, uint64_t total, void *ctx);
/* Return 1 to include a listed file (archive uses it for age). */
typedef int (*bundle_select_fn)(const struct spool_entry *ent, void *ctx);

struct bundle_export_opts {
	const char *root, *queue;
	enum spool_dir source; /* SPOOL_NEW (default when 0) or SPOOL_DONE */
	uint64_t from, to;     /* inclusive sequence bounds; 0: unbounded */
	const char *signer;    /* id for the manifest; NULL: "scfgate" */
	bundle_select_fn select;
	void *select_ctx;
	bundle_progress_fn progress;
	void *progress_ctx;
	/* Every packed record is decoded first (the lexical gate, XSD) and its
	 * name must match its content; with record_pub its signature must
	 * verify too.  What is signed into a bundle is then a record, never
	 * whatever bytes sat under a record name. */
	const struct sig_key *record_pub; /* may be NULL */
	/* Pack the bytes unread.  Only for test tools that forge hostile
	 * bundles; never set by scfgate itself. */
	int unchecked;
};

/*
 * Write the selected record files of root/queue/<source> into out_path
 * (compression from its name without a last ".enc": .tar.zst, .tar.gz,
 * else plain tar), with a manifest signed by key.  An empty selection still makes a valid bundle;
 * more than BUNDLE_MAX_ENTRIES records is refused (split with from/to).
 * info (may be NULL) receives what the manifest says.
 */
enum err_status bundle_export(const struct bundle_export_opts *o, const struct sig_key *key,
                              const char *out_path, struct bundle_info *info, struct err *e);
/* The same, the whole file encrypted to the X25519 key seal_to (seal.h)
 * as it is written, so no plaintext of it is written anywhere; the
 * manifest inside is signed as always.  seal_to NULL: bundle_export. */
enum err_status bundle_export_sealed(const struct bundle_export_opts *o, const struct sig_key *key,
                                     const struct seal_key *seal_to, const char *out_path,
                                     struct bundle_info *info, struct err *e);

/* ---- import ---------------------------------------------------------------- */

struct bundle_import_result {
	size_t imported;   /* newly committed into new/ */
	size_t duplicates; /* already present with the same bytes */
};

/*
 * Verify the whole bundle (manifest signature with pub, digests, each
 * record's signature with record_pub, or pub when NULL, and that no
 * record conflicts with a file of the same name already in the queue),
 * then read it again and commit its records in sequence order through a
 * spool_importer: each record must match, by SHA-256, the one verified
 * before (so it is not verified twice), and every 512 records are made
 * durable together (one syncfs, the renames, one fsync of new/).  Nothing
 * is committed unless everything verified.  An acknowledgment bundle is
 * refused.  On an error after the first flush, the records flushed stay
 * committed; importing the bundle again counts them as duplicates.
 */
enum err_status bundle_import(const char *path, const char *root, const char *queue,
                              const struct sig_key *pub, const struct sig_key *record_pub,
                              const struct bundle_limits *limits, struct bundle_import_result *res,
                              struct err *e);
/* The same on an open regular file (both passes read it from its start;
 * not closed here); name names it in messages.  bundle_import opens path
 * with bundle_open and calls this: a link or FIFO planted under the name
 * is refused before anything is read or committed. */
enum err_status bundle_import_fd(int fd, const char *name, const char *root, const char *queue,
                                 const struct sig_key *pub, const struct sig_key *record_pub,
                                 const struct bundle_limits *limits,
                                 struct bundle_import_result *res, struct err *e);

/* ---- acknowledgments --------------------------------------------------------- */

/*
 * Receiving side: a bundle of kind "ack" listing, per producer as ranges,
 * the sequences present in new/ cur/ done/ failed/ hold/ of root/queue.
 */
enum err_status bundle_ack_export(const char *root, const char *queue, const char *signer,
                                  const struct sig_key *key, const char *out_path,
                                  struct bundle_info *info, struct err *e);

/*
 * Sending side: verify an ack bundle with the peer's key, then remove
 * from root/queue/new/ the record files it acknowledges (and only those),
 * and fsync new/.  *pruned (may be NULL) receives how many.
 */
enum err_status bundle_prune(const char *ack_path, const char *root, const char *queue,
                             const struct sig_key *peer_pub, size_t *pruned, struct err *e);

/* ---- retention --------------------------------------------------------------- */

struct bundle_archive_result {
	char path[SPOOL_PATH_MAX]; /* the bundle written ("" when nothing to do) */
	size_t archived;           /* records moved out of done/ */
};

/*
 * Move done/ records whose mtime is older than older_than_days into one
 * bundle to_dir/<queue>-done-YYYYMMDD-<first>-<last>.tar.zst (date of
 * today, UTC), signed with key (the local half's).  The records are
 * removed from done/ only after the bundle was written, fsync'd, renamed
 * and then read back from disk and verified (signature, every digest, and
 * each digest against the done/ file it came from); done/ is fsync'd
 * afterwards.  At most BUNDLE_MAX_ENTRIES records (the oldest sequences)
 * per call; the next call takes the rest.  progress may be NULL.  A record's mtime is when it was
 * written into this spool (renames keep it), not when it was completed.
 */
enum err_status bundle_archive(const char *root, const char *queue, unsigned older_than_days,
                               const char *to_dir, const struct sig_key *key, const char *signer,
                               bundle_progress_fn progress, void *progress_ctx,
                               struct bundle_archive_result *res, struct err *e);

#endif
