/*
 * transfer.h: move records between this host's spool and the peer's over
 * SFTP (libcurl with libssh2), as `scfgate transfer` does.
 *
 * Layout
 *   <transfer><queue remoteDir="D"> names the queue's directory on the
 *   remote host; the transfer uses D/new/ (records) and D/tmp/ (uploads
 *   in progress), both on one file system, as in a local queue.
 *
 * Contract
 *   - pull (remote D/new/ -> local root/Q/new/): one long listing of
 *     D/new/ per pass.  Only a name that is a canonical record name
 *     (record_parse_file_name), listed as a regular file of at most
 *     RECORD_MAX_BYTES, and not named by any other line of the listing
 *     as something else, is taken; everything else is left alone and
 *     logged (event=transfer_left_alone, the name escaped).  A taken
 *     record is downloaded into memory (at most RECORD_MAX_BYTES, also
 *     bounded by CURLOPT_MAXFILESIZE_LARGE) and staged, unflushed, in
 *     the local queue's tmp/ (spool_importer_add).  Records are taken in
 *     batches of at most TRANSFER_PULL_BATCH; after a batch,
 *     spool_importer_flush (one syncfs, the renames into new/ without
 *     replacing, one fsync of new/) makes it durable and visible, so a
 *     partial file is never visible under a record name; only then are
 *     the batch's remote files removed ("rm", one request each), and only
 *     those the flush published.  A crash or a failure before the flush
 *     leaves the remote files (and tmp/ files, which the spool's recovery
 *     removes), taken again next pass.  A name the local queue has
 *     already (new/, cur/, done/, failed/ or hold/) with the same bytes
 *     is a duplicate: nothing is written, the remote one is removed after
 *     the batch's flush; with other bytes the remote one is left alone
 *     and logged (the local one is the consumer's to judge).  A batch cut
 *     short (a stop, a failed file) is flushed the same way; when the
 *     connection is lost its remote files stay for the next pass, which
 *     removes them as duplicates.
 *     The remote listing is a server's `ls -l` form (OpenSSH's is);
 *     the type is its first character, the size its fifth field.
 *   - push (local root/Q/new/ -> remote D/new/): each record is read
 *     (spool_read_untrusted, at most RECORD_MAX_BYTES), uploaded as
 *     D/tmp/NAME.<pid>.part and renamed to D/new/NAME by the server
 *     (which refuses to replace an existing name); only after the rename
 *     succeeded is the local file moved to root/Q/sent/ (its mtime set to
 *     the time of sending).  A failed rename removes the upload and leaves
 *     the record in new/ for the next pass.  A crash at any point leaves
 *     at most a duplicate, which the consumer drops.  sent/ files older
 *     than sent_retention_days are removed at each push pass (0 keeps
 *     them); an operator re-sends one by moving it back into new/.
 *     Each push pass first lists D/tmp/ and removes the regular files
 *     named NAME.<digits>.part (NAME a record name) whose modification
 *     time is older than TRANSFER_STALE_PART_SECONDS + timeoutSeconds:
 *     uploads of a killed transfer (no upload in progress is that old).
 *   - one way (oneWay="true", or a localDir): push only, and nothing is
 *     listed or read from the other side (no stale upload removal), for a
 *     data diode.  With localDir (a local drop directory, no SSH), each
 *     record is written to localDir/tmp/, fdatasync'd, renamed into
 *     localDir/new/ without replacing, localDir/new/ fsync'd
 *     (spool_write_atomic), then moved to sent/.  A name still in
 *     localDir/new/ keeps the record in new/ for the next pass (ERR_TEMP).
 *   - One SSH connection serves every file of a pass (one curl easy
 *     handle, reused); the connection is kept between passes of the
 *     daemon while the server keeps it.  Memory is bounded by one record
 *     and the listing (at most TRANSFER_LISTING_MAX bytes).
 *   - Security: key authentication only (CURLSSH_AUTH_PUBLICKEY), the
 *     host key pinned (known_hosts and/or SHA-256; a mismatch is refused
 *     before authenticating), sftp the only protocol, no password in the
 *     configuration.  Every network step has the configured timeout.
 *   - *stop is checked between files: a stop request finishes the file
 *     in hand (a pull also flushes its batch and removes its remote
 *     files) and returns.
 *   - Errors: ERR_TEMP for network, server and I/O trouble (the next pass
 *     retries); ERR_FATAL for a local queue that cannot be used.
 */
#ifndef SCFGATE_TRANSFER_H
#define SCFGATE_TRANSFER_H

#include <signal.h>
#include <stddef.h>

#include "cfg.h"
#include "err.h"

/* A push removes REMOTEDIR/tmp/NAME.<pid>.part left by a killed transfer
 * once it is older than this plus timeoutSeconds (see transfer.c). */
#define TRANSFER_STALE_PART_SECONDS 3600

/* A pull flushes the local queue once per this many records (see
 * above); a crash takes at most this many again (as duplicates). */
#define TRANSFER_PULL_BATCH 64

/* Largest remote listing accepted (about 80 bytes per entry). */
#define TRANSFER_LISTING_MAX ((size_t)64 * 1024 * 1024)

struct transfer;

/* What one pass over one queue did. */
struct transfer_stats {
	size_t moved;      /* pull: now in local new/; push: now in remote new/ */
	size_t duplicates; /* pull: already in local new/ (the remote copy removed) */
	size_t left_alone; /* pull: remote entries not taken (logged one by one) */
	size_t failed;     /* files that met an error this pass (retried next pass) */
	size_t expired;    /* push: sent/ files removed after the retention */
	size_t bytes;      /* record bytes moved */
	size_t stale;      /* push: uploads of killed transfers removed from tmp/ */
};

/* c must carry a <transfer> (c->transfer.n_queues > 0) and outlive t.
 * Makes the local sent/ directory of each pushed queue, and the new/ and
 * tmp/ of each drop directory (mode 0750). */
enum err_status transfer_open(struct transfer **out, const struct cfg *c,
                              volatile sig_atomic_t *stop, struct err *e);
void transfer_free(struct transfer *t);

/* One pass over q (one of c->transfer.queues).  *st is filled in either
 * way; ERR_OK when every file went through or was left alone on
 * purpose; ERR_TEMP when the listing, a connection or a file failed. */
enum err_status transfer_pass(struct transfer *t, const struct cfg_transfer_queue *q,
                              struct transfer_stats *st, struct err *e);

#endif
