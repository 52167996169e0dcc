/*
 * spool.h: durable, ordered, signed record queues in plain directories.
 *
 * Layout
 *   One spool root per host; one directory per queue ("outbound",
 *   "inbound") holding
 *     tmp/     files being written (never read by anyone else)
 *     new/     committed records, waiting; the transport's hand-over point
 *     cur/     records a consumer has claimed and is applying
 *     done/    applied records (input to replay and bundles)
 *     failed/  quarantined records, each with NAME.why (never auto-deleted)
 *     hold/    records an operator set aside
 *     state/   sequence counters, consumer position, lock files, markers
 *     dismissed/  failed records an operator dismissed, each with
 *              NAME.why saying who, when and why (never auto-deleted)
 *   A record's file name is record_file_name(seq, producer), so the name a
 *   consumer expects next is computed, never searched for.
 *
 * Producer contract
 *   - spool_commit() assigns the producer's next sequence number, encodes
 *     and signs the record (record_encode), creates tmp/ with O_EXCL,
 *     writes everything, fdatasync()s, closes (checked), notes the number
 *     in the sequence file, renames into new/ and fsync()s new/.  Only
 *     then does it return ERR_OK: the record is durable and may be
 *     acknowledged upstream.  Two flushes per commit, like the bare
 *     protocol, plus one fdatasync of the sequence file per block of
 *     SPOOL_SEQ_BLOCK (64) numbers.
 *   - spool_commit_group() does the same for n records with ONE flush of
 *     their data and the sequence file (syncfs(2); Linux >= 5.8 reports
 *     writeback errors through it), then renames all and fsyncs new/
 *     once; all n are durable when it returns ERR_OK.  On failure,
 *     records before *n_done are durable and acknowledged; the rest were
 *     not committed.
 *   - spool_commit_group_start()/_wait() pipeline group commits: the
 *     caller stages the next group while a flusher thread of the
 *     producer flushes and publishes the previous one, exactly as
 *     spool_commit_group would.  A group is durable only when its wait
 *     reports it (see below).
 *   - A failed fsync/fdatasync is never retried on the same data: the tmp
 *     file is unlinked and the error returned; the caller commits again
 *     (which writes a fresh file).  ENOSPC/EDQUOT and EIO are ERR_TEMP
 *     (back-pressure); nothing partial is ever visible in new/.
 *   - Sequence numbers are never reused for a record that became visible
 *     in new/ (a transport may carry it away at once).  state/<producer>.seq
 *     holds one line "RESERVED NEXT BOOT_ID CHECK" (CHECK: a hash of the
 *     rest, so a damaged line is told from an intact one):
 *       RESERVED  every number below it may have been used.  Durable:
 *                 before a number >= RESERVED goes into new/, RESERVED is
 *                 moved a block ahead and flushed (fdatasync, or the
 *                 group's syncfs) - after the tmp data, before the rename.
 *       NEXT      the exact next number, written (no sync) before every
 *                 rename, so it survives anything but the kernel.
 *       BOOT_ID   /proc/sys/kernel/random/boot_id of the writer.
 *     spool_producer_free() is a clean close: it sets RESERVED = NEXT and
 *     fdatasyncs.  At open the producer first rolls forward its complete
 *     tmp/ files below NEXT (a process crash between the count and the
 *     rename), then resumes from
 *       same boot id: NEXT;
 *       another boot id: max(NEXT, RESERVED);
 *     without reading the queue's sub-directories, when the line is
 *     intact.  Why that never reuses a number: a number becomes visible
 *     only by a rename into new/, and before every such rename NEXT has
 *     been written past it (pwrite, in the page cache, which a process
 *     crash does not lose) and, when the number is at or above the
 *     durable RESERVED, RESERVED has been moved past it and flushed.  So
 *     after a process crash or a clean stop the file's NEXT is above
 *     every number ever made visible, and after a reboot (page cache
 *     lost) the flushed RESERVED is; a commit that fails before its
 *     rename puts NEXT back, and nothing carrying the numbers it gave up
 *     was ever visible.  The one cheap check made anyway: the record the
 *     resumed number would name is looked for in new/, cur/, done/,
 *     failed/, hold/ and dismissed/ (a state file older than the queue,
 *     say restored from a backup).  When the file is missing, empty,
 *     damaged (CHECK does not match), of an older version, or that
 *     record is present, the producer reads every sub-directory as
 *     before: it resumes at least one past its highest sequence found
 *     there, and spool_producer_scan_reason says why it read them (for
 *     the log).  A damaged line's numbers, as far as they parse, still
 *     count as a lower bound: a number raised by the damage leaves a gap
 *     (which the consumer alarms on), never a reused number, which the
 *     consumer would drop as a duplicate without a word.  The open then
 *     costs the same whatever the queue holds.
 *     What the file says may not be on disk yet (a process that died
 *     before its flush), so the first commit after open always flushes a
 *     fresh block, and a roll forward flushes the file before renaming.
 *     So:
 *       process crash (SIGKILL, abort): no reuse, no gap.
 *       clean stop, then reboot: no reuse, no gap.
 *       power loss / kernel crash: no reuse (provided the disk honours
 *         cache flushes); a gap of at most one block (or one group
 *         commit, if larger) of numbers never used.  The consumer reports
 *         it (spool_consumer_gap, `scfgate spool stat`: GAP ... ALARM
 *         after gap_alarm_seconds).  The operator confirms the producing
 *         host restarted uncleanly (its state/P.seq shows the new boot id
 *         and the gap is shorter than one block, 64), then
 *         runs `scfgate spool skip --queue Q --producer P --gap` (or
 *         `--producer P FIRST --through LAST`): markers for the absent
 *         numbers, honoured at the consumer's next claim.  A record that
 *         turns up later anyway is still applied (re-injected).
 *     A commit that fails before the rename burns no number (the next
 *     commit reuses it: nothing carrying it was ever visible).  If only
 *     the final fsync of new/ fails, the file is visible but maybe not
 *     durable: the number is consumed and ERR_TEMP returned; committing
 *     the same record again gives it a new number (effects are
 *     idempotent, so the consumer applying both is harmless).
 *   - One producer process per (queue, producer id): spool_producer_open
 *     takes flock(state/<producer>.lock) and fails ERR_TEMP if another
 *     process holds it.
 *
 * Consumer contract
 *   - spool_claim() hands out records in strict per-producer sequence
 *     order, already decoded AND signature-verified against the peer's
 *     public key.  A claim renames new/NAME to cur/NAME (O(1): the next
 *     name is computed; new/ is scanned only when the expected file is
 *     absent or an operator asked for a rescan), so memory and per-claim
 *     cost do not depend on the queue length.
 *   - Files still arriving: a file that does not read, parse or verify is
 *     left in new/ and retried until it is older (mtime) than
 *     opts.grace_seconds; claim returns ERR_TEMP meanwhile.  After that it
 *     is quarantined (failed/NAME + failed/NAME.why) and the queue moves
 *     on to the next sequence.  A file whose content names another
 *     producer or sequence than its file name is quarantined at once.
 *   - Gap: the expected sequence is absent while a later one of the same
 *     producer is present.  Claim returns ERR_TEMP; spool_consumer_gap()
 *     tells the missing sequence, since when, and whether it is past
 *     opts.gap_alarm_seconds.  Only an operator (spool_skip) moves past it.
 *   - The grace period, the gap alarm and the rescan interval are measured
 *     on the spool's clock (spool_clock.h: time() unless a test sets it).
 *   - A file in new/ whose sequence is already passed:
 *       done/NAME exists with the same bytes -> dropped silently (duplicate)
 *       done/NAME exists with other bytes, and the file verifies under its
 *         own name                           -> conflict: quarantined as
 *                                               failed/NAME.conflict[.N]
 *                                               and counted in stats
 *       done/NAME exists with other bytes, and the file does not verify
 *                                            -> treated as arriving (a
 *         re-send caught half-way): left for the grace period, then
 *         quarantined as failed/NAME[.N] with the reason, not as a conflict
 *       (the same holds against failed/NAME and hold/NAME, except that a
 *       valid copy of a record quarantined as unreadable is applied: the
 *       first copy was cut short in transit)
 *       no done/NAME (released, retried, or late after a skip) -> claimed
 *         before in-order records, in sequence order per producer (not
 *         the order they were put back in or new/ lists them in: an
 *         issue comes before its comments); item->reinjected is set.
 *   - Complete renames cur/NAME to done/NAME (no fsync: after power loss a
 *     completed record may be applied again; effects are idempotent by
 *     producer+seq).  Fail writes failed/NAME.why atomically, then renames
 *     cur/NAME to failed/NAME.  Defer renames cur/NAME back to new/NAME;
 *     the same record is claimed again next (order is kept).
 *   - Recovery at open: everything in cur/ goes back to new/; tmp/ files
 *     older than one hour are removed (a producer finishes or removes its
 *     own at open, see above); the position advances over any sequence
 *     already in done/, failed/ or hold/.
 *   - One consumer process per queue: flock(state/consumer.lock).
 *
 * Operator actions (safe while a daemon runs)
 *   Rename-based: every action is one rename(2) of a record file; a
 *   claim is also a rename, so exactly one side wins and the loser sees
 *   ENOENT (the action then reports ERR_TEMP "busy, try again").  Skip is
 *   a marker file state/skip-<producer>-<seq> the consumer honours at its
 *   next claim.  Actions that re-inject a record (release, retry) touch
 *   state/rescan so the consumer scans new/ once.
 *     hold NAME     new/NAME -> hold/NAME (the consumer passes over it)
 *     release NAME  hold/NAME -> new/NAME (re-injected)
 *     retry NAME    failed/NAME -> new/NAME (NAME may carry a .N or
 *                   .conflict suffix, dropped on the way); the .why is
 *                   kept as NAME.why.retried-<time>
 *     dismiss NAME  failed/NAME -> dismissed/NAME with a note (who, when,
 *                   why, the failure's reason); the old .why is kept as
 *                   dismissed/NAME.why.failed.  Never applied again: a
 *                   copy that arrives later is judged against it like
 *                   one against done/.
 *     retry-now     state/retry-now: records waiting out a back-off are
 *                   tried at the applying half's next pass
 *     skip P SEQ    stop waiting for a missing sequence
 *     skip P A..B   the same for a range (one marker per absent sequence,
 *                   one fsync of state/), e.g. a gap after power loss
 *     skip P gap    the range from the consumer's position up to the
 *                   lowest sequence of P waiting in new/
 *
 * Errors: ERR_TEMP for I/O trouble and "not yet" (empty, gap, arriving,
 * locked); ERR_PERM for bad input (names, keys, a record that will not
 * encode); ERR_FATAL for a broken spool root (not a directory, no access).
 */
#ifndef SCFGATE_SPOOL_H
#define SCFGATE_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "record.h"
#include "sig.h"

/* Queue names: [a-z][a-z0-9_-]{0,31}. */
#define SPOOL_QUEUE_MAX 32
#define SPOOL_PATH_MAX  4096

enum spool_dir {
	SPOOL_TMP = 0,
	SPOOL_NEW,
	SPOOL_CUR,
	SPOOL_DONE,
	SPOOL_FAILED,
	SPOOL_HOLD,
	SPOOL_STATE,
	SPOOL_DISMISSED, /* failed records an operator dismissed (spool_dismiss) */
	SPOOL_NDIRS
};

/* "tmp", "new", ...; NULL if out of range. */
const char *spool_dir_name(enum spool_dir d);
/* The inverse; -1 when unknown. */
int spool_dir_from_name(const char *name);

/* 1 if s is a valid queue name. */
int spool_queue_valid(const char *s);

/* Create root/queue and its sub-directories if missing (mode 0750). */
enum err_status spool_queue_init(const char *root, const char *queue, struct err *e);

/* The layout of a spool root for the half that consumes `receiving`
 * (`scfgate spool init`): both queues (outbound, inbound) with every
 * sub-directory, and the root's state/.  Every directory it creates or
 * finds gets the owner and group of the root and mode 0750, except that
 * with transport_gid (NULL: none) the receiving queue directory gets that
 * group (mode 0750, so the transport may enter it) and its new/ that
 * group and mode 02770 (the transport may write; what it writes keeps
 * the group).  Idempotent: a second run changes nothing, and brings a
 * directory whose owner or mode drifted back.
 * Refused (ERR_FATAL, nothing changed): a root that does not exist, is a
 * symbolic link or not a directory, or holds anything but outbound/,
 * inbound/, state/ and lost+found/ (not a spool root).  A queue or
 * sub-directory that is a symbolic link or not a directory stops it
 * there (ERR_FATAL naming it; what came before stays done). */
enum err_status spool_root_init(const char *root, const char *receiving, const gid_t *transport_gid,
                                struct err *e);

/* root/queue/<dir>[/name] into out (SPOOL_PATH_MAX); ERR_PERM if too long. */
enum err_status spool_path(char out[SPOOL_PATH_MAX], const char *root, const char *queue,
                           enum spool_dir d, const char *name, struct err *e);

/*
 * The atomic-commit primitive, reusable by importers: write len bytes as
 * dir_final/name through tmp_dir (O_EXCL, write, fdatasync, close,
 * rename, and fsync(dir_final) if sync_dir).  Never replaces an existing
 * dir_final/name (renameat2 RENAME_NOREPLACE): ERR_PERM "exists".
 */
enum err_status spool_write_atomic(const char *tmp_dir, const char *dir_final, const char *name,
                                   const void *data, size_t len, int sync_dir, struct err *e);

/* fsync a directory inside the spool (a queue's sub-directory, a half's
 * state directory).  Its last component is never followed: a symbolic
 * link or anything but a directory there is ERR_FATAL naming it and
 * saying what to do; other failures by errno (spool_errno_status).  A
 * directory given on the command line (a bundle's) is not for this. */
enum err_status spool_sync_dir(const char *dir, struct err *e);

/* ---- producer ---------------------------------------------------------- */

struct spool_producer;

/* key: the producer's private key (borrowed; must outlive the producer). */
enum err_status spool_producer_open(struct spool_producer **out, const char *root,
                                    const char *queue, const char *producer_id,
                                    const struct sig_key *key, struct err *e);
void spool_producer_free(struct spool_producer *p);

/* The sequence the next commit will use. */
uint64_t spool_producer_next_seq(const struct spool_producer *p);

/* NULL when open resumed from an intact sequence file alone; else why it
 * read the queue's sub-directories for its highest sequence (a missing,
 * damaged or older-format file, or a record already at the resumed
 * number), one phrase for a log line.  Valid until spool_producer_free. */
const char *spool_producer_scan_reason(const struct spool_producer *p);

/*
 * Commit one record.  r->producer and r->seq are overwritten (the
 * producer's id and the assigned sequence); r->created is filled if
 * empty.  *seq_out (may be NULL) receives the sequence on ERR_OK.
 */
enum err_status spool_commit(struct spool_producer *p, struct record *r, uint64_t *seq_out,
                             struct err *e);

/*
 * Commit n records with one directory fsync.  *n_done receives how many
 * (from the front) are durable; on ERR_OK it is n.  Records get
 * consecutive sequences.  Encoding runs on up to 4 threads (the calling
 * one and one more per further core, at least 4 records each) while the
 * calling thread alone creates and writes the tmp files, so the records
 * must not be touched by another thread during the call; the encoded
 * copies of the records not yet written are held in memory meanwhile.
 * If a record cannot be staged, none is committed and e names the first
 * such one.
 */
enum err_status spool_commit_group(struct spool_producer *p, struct record **recs, size_t n,
                                   size_t *n_done, struct err *e);

/*
 * Pipelined group commit, for a producer with a stream of groups (a bulk
 * load, a long backfill): the calling thread stages the next group
 * (encoding and signing are CPU work) while a flusher thread of the
 * producer makes the previous one durable (mostly waiting for the disk).
 * Each group gets the same treatment as in spool_commit_group; only the
 * waiting moves.
 *
 * spool_commit_group_start() stages recs (encoded, signed, written to
 * tmp/ and not flushed) and queues them behind the groups outstanding,
 * then returns.  The records are NOT durable yet: acknowledge nothing
 * before the matching _wait.  ERR_OK: the group is outstanding.  Any
 * error: nothing of it was committed and it is not outstanding.  At most
 * two groups are outstanding; a third start is ERR_PERM.  The records
 * are not touched after start returns (r->seq and r->producer are set).
 *
 * spool_commit_group_wait() waits for the oldest outstanding group and
 * reports it like spool_commit_group: *n_done from its front are durable.
 * After a group fails, the groups behind it are reported as not
 * committed (n_done 0), and start refuses (ERR_TEMP) until every
 * outstanding group has been waited for.  So the records committed are
 * always a prefix of those started since the caller last heard of a
 * failure.  Waiting with nothing outstanding is ERR_PERM.
 *
 * While a group is outstanding, spool_commit and spool_commit_group
 * refuse (ERR_PERM), and spool_producer_next_seq tells the first
 * sequence of the next group to be started.  One thread drives a
 * producer.  spool_producer_free() first finishes the outstanding
 * groups (durable, unreported), so wait for them before freeing.
 *
 * Use:  for each group: start; if 2 are outstanding, wait for one.
 *       At the end, wait until none is outstanding.
 */
enum err_status spool_commit_group_start(struct spool_producer *p, struct record **recs, size_t n,
                                         struct err *e);
enum err_status spool_commit_group_wait(struct spool_producer *p, size_t *n_done, struct err *e);
/* How many groups are outstanding (0, 1 or 2). */
size_t spool_commit_group_outstanding(const struct spool_producer *p);

/* ---- consumer ---------------------------------------------------------- */

/* Told of every file the consumer moves to failed/ on its own: the queue,
 * the name it had in new/, the name it got in failed/ and the reason (one
 * line).  The library never logs; a half logs and counts here. */
typedef void (*spool_quarantine_fn)(void *ctx, const char *queue, const char *name,
                                    const char *failed_name, const char *reason);

struct spool_consumer_opts {
	unsigned grace_seconds;     /* unreadable file may still be arriving; 0 -> 60 */
	unsigned gap_alarm_seconds; /* gap older than this is alarmed; 0 -> 3600 */
	/* Expected producer id; other producers' files are quarantined.
	 * NULL: any producer, discovered by scanning new/. */
	const char *producer;
	/* A record name more than this many sequences beyond the consumer's
	 * position is quarantined, not waited for: no producer gets that far
	 * ahead, so it is forged or misnamed, and waiting for the numbers in
	 * between would keep a gap alarm ringing about them for ever.
	 * 0 -> SPOOL_MAX_AHEAD_DEFAULT. */
	uint64_t max_ahead;
	spool_quarantine_fn on_quarantine; /* may be NULL */
	void *on_quarantine_ctx;
};

#define SPOOL_MAX_AHEAD_DEFAULT 1000000

struct spool_consumer;

/* pub: the peer's public key (borrowed).  Runs start-up recovery. */
enum err_status spool_consumer_open(struct spool_consumer **out, const char *root,
                                    const char *queue, const struct sig_key *pub,
                                    const struct spool_consumer_opts *opts, struct err *e);
void spool_consumer_free(struct spool_consumer *c);

struct spool_item {
	char name[RECORD_NAME_MAX];
	char path[SPOOL_PATH_MAX]; /* cur/NAME while claimed */
	struct record *rec;        /* decoded and verified; owned by the item */
	char sha256[65];           /* of the file bytes */
	int reinjected;            /* released/retried/late: out of sequence order */
};

/*
 * Claim the next record.  ERR_OK: *out is a claimed item that must be
 * passed to exactly one of complete/fail/defer/hold.  ERR_TEMP: nothing
 * to do now (empty, gap, file still arriving, queue held); e says which.
 * Quarantines done along the way are counted in spool_consumer_stats.
 */
enum err_status spool_claim(struct spool_consumer *c, struct spool_item **out, struct err *e);

/* What a consumer did since it was opened. */
struct spool_consumer_stats {
	size_t quarantined; /* files moved to failed/ by the consumer itself */
	size_t decodes;     /* record files read and parsed (a file that failed and
	                       has not changed is not parsed again) */
	size_t reused;      /* claims that took the record spool_peek had
	                       verified (the file unchanged): not read again */
};

void spool_consumer_stats(const struct spool_consumer *c, struct spool_consumer_stats *out);

/* Records spool_peek keeps for their claims; more drop the oldest
 * (whose claim then reads and verifies again). */
#define SPOOL_AHEAD_MAX 1024

/*
 * List the records of one producer that wait in new/ behind the claimed
 * one, without taking them: the read-ahead of a consumer that works
 * ahead of its claims (the OMS half's window).  Sequences from, from+1,
 * ... (from 0: the one after the producer's claimed record, or its next
 * record when none is claimed), at most max, each read, gated, parsed
 * and verified exactly as a claim would (so its claim takes it without
 * reading it again: the verified record is kept with the file's
 * identity, device, inode, size, mtime and ctime, and read afresh if
 * anything changed).  The list ends before the first sequence that is
 * not a good record in new/ (not there yet, still arriving, bad or
 * misnamed: its claim decides, nothing is quarantined here).
 * out[0..*n) belong to the caller: spool_peeked_release each.  ERR_OK,
 * also when *n is 0; ERR_TEMP only when memory ran out before anything
 * was listed.
 */
struct spool_peeked {
	char name[RECORD_NAME_MAX];
	uint64_t seq;
	struct record *rec; /* the caller's copy */
};

enum err_status spool_peek(struct spool_consumer *c, const char *producer, uint64_t from,
                           struct spool_peeked *out, size_t max, size_t *n, struct err *e);
void spool_peeked_release(struct spool_peeked *p);

/* cur/NAME -> done/NAME; frees the item. */
enum err_status spool_complete(struct spool_consumer *c, struct spool_item *it, struct err *e);

/* Why a record failed; every field optional (NULL / 0). */
struct spool_why {
	const char *reason; /* one line */
	int http_status;    /* 0 when not an HTTP failure */
	const char *body;   /* response body; an excerpt is kept */
	const char *detail; /* anything else worth an operator's eye */
};

/* failed/NAME.why then cur/NAME -> failed/NAME; frees the item. */
enum err_status spool_fail(struct spool_consumer *c, struct spool_item *it,
                           const struct spool_why *why, struct err *e);

/* Temporary failure: cur/NAME -> new/NAME; the same record comes next
 * again.  Frees the item. */
enum err_status spool_defer(struct spool_consumer *c, struct spool_item *it, struct err *e);

/* Set aside while later records flow (e.g. blocked behind a failed record
 * of the same issue): hold/NAME.why then cur/NAME -> hold/NAME.  Frees
 * the item.  `spool release` re-injects it. */
enum err_status spool_hold_claimed(struct spool_consumer *c, struct spool_item *it,
                                   const struct spool_why *why, struct err *e);

/* Drop an item without touching files (e.g. on shutdown; recovery at the
 * next open puts cur/ back). */
void spool_item_free(struct spool_item *it);

struct spool_gap {
	int active; /* 0: no gap */
	char producer[RECORD_PRODUCER_MAX + 1];
	uint64_t seq; /* the missing sequence */
	time_t since; /* when first seen missing */
	int alarmed;  /* older than gap_alarm_seconds */
};

/* The current gap, if any (as of the last claim). */
void spool_consumer_gap(const struct spool_consumer *c, struct spool_gap *g);

/*
 * An operator asked (spool_retry_now) that records waiting out a back-off
 * be tried at once: 1 once per request (the marker state/retry-now is
 * removed), else 0.  The back-off of a record lives in the applying
 * half's memory, so the half asks at every pass and forgets it.
 */
int spool_consumer_take_retry_now(struct spool_consumer *c);

/* Next sequence expected from a producer (1 if nothing seen yet). */
uint64_t spool_consumer_next_seq(const struct spool_consumer *c, const char *producer);

/* ---- inspection and operator actions ------------------------------------ */

struct spool_entry {
	enum spool_dir dir;
	char name[256];
	uint64_t seq; /* 0 when the name is not a record name */
	char producer[RECORD_PRODUCER_MAX + 1];
	int64_t size;
	time_t mtime;
};

/*
 * Call fn for every record file (not .why) of one sub-directory, in
 * sequence order (name order; this reads the whole directory, so it is
 * for tools, bundles and status, not for the claim path).  fn returning
 * non-zero stops the walk (still ERR_OK).  A sub-directory that does not
 * exist yet lists as empty.  Memory does not grow with the directory
 * when it holds only record names of at most 16 producers with few
 * numbers missing between each one's lowest and highest (a queue's
 * new/, cur/, done/): the names are computed in order and looked up.
 * Otherwise (tmp/, state/, failed/ with its NAME.1, strangers, sparse
 * numbers) all names are read and sorted in memory.  A file that goes
 * away during the walk may be left out.
 */
typedef int (*spool_entry_fn)(const struct spool_entry *ent, void *ctx);
enum err_status spool_list(const char *root, const char *queue, enum spool_dir d, spool_entry_fn fn,
                           void *ctx, struct err *e);

/*
 * What a name in a queue or a bundle turned out to be.  Files come from
 * the other side, which may be hostile: only a regular file is ever
 * read.
 */
enum spool_entry_type {
	SPOOL_ENTRY_REGULAR = 0,
	SPOOL_ENTRY_MISSING, /* no such name (yet, or any more) */
	SPOOL_ENTRY_SYMLINK, /* never followed */
	SPOOL_ENTRY_DIR,
	SPOOL_ENTRY_FIFO, /* never opened: a read would block */
	SPOOL_ENTRY_DEVICE,
	SPOOL_ENTRY_SOCKET,
	SPOOL_ENTRY_UNREADABLE, /* a regular file we may not read (mode, I/O) */
	SPOOL_ENTRY_TOO_LARGE,  /* a regular file over the cap */
};

/* "a symbolic link", "a FIFO", ... for messages. */
const char *spool_entry_type_name(enum spool_entry_type t);

/* What path is, by lstat: never followed, never opened.  MISSING when
 * absent, UNREADABLE when lstat fails otherwise. */
enum spool_entry_type spool_entry_type_of(const char *path);

/*
 * Read a whole file that came from the other side (b is reset first):
 * lstat, then open(O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC), fstat the
 * descriptor and require the same regular file of at most cap bytes,
 * then read at most cap bytes.  A symbolic link is never followed, a
 * FIFO or device never opened, a directory never listed.  *type (may be
 * NULL) says what the name was.  Status: ERR_OK for a regular file read
 * whole; ERR_TEMP for MISSING and UNREADABLE (I/O, out of memory; a file
 * may be replaced between calls); ERR_PERM for every other type, which
 * no amount of waiting turns into a record.
 */
enum err_status spool_read_untrusted(const char *path, size_t cap, struct buf *b,
                                     enum spool_entry_type *type, struct err *e);

/*
 * Read the newest generation "<dir>/<prefix><n>" of a state file
 * (util/gen.h) as spool_read_untrusted does, path (size bytes) naming it.
 * One gone between the listing and the read (its writer moved on) is
 * passed over for the next older.  ERR_OK with *type REGULAR: b holds it;
 * ERR_OK with *type MISSING: there is none (b empty, path ""); otherwise
 * spool_read_untrusted's status, *type and message for the generation
 * that could not be read.  The one reader of the halves' health and
 * history files.
 */
enum err_status spool_read_newest(const char *dir, const char *prefix, size_t cap, struct buf *b,
                                  char *path, size_t size, enum spool_entry_type *type,
                                  struct err *e);

/*
 * Write len bytes as the next generation "<dir>/<prefix><n>" of a state
 * file, n one above the highest there (20 digits), through <dir>/tmp
 * (created, mode 0750, if missing) as spool_write_atomic does with the
 * directory synced; then remove the older generations (the 16 highest
 * below n; a reader passes over any left).  ERR_PERM "path too long" for
 * dir, ERR_TEMP naming <dir>/tmp when it cannot be made, else
 * spool_write_atomic's status; on failure the older generations stay.
 * The one writer of the halves' status, health and history files and of
 * the OMS half's metadata cache; spool_read_newest reads them.
 */
enum err_status spool_write_next(const char *dir, const char *prefix, const void *data, size_t len,
                                 struct err *e);

/*
 * Open a file of a half's own state for reading line by line.  It lies
 * in the spool root, so whoever may write the spool may have replaced
 * it: the same checks as spool_read_untrusted (a regular file of at most
 * cap bytes when opened; no link followed, no FIFO or device opened),
 * then O_NONBLOCK cleared and the descriptor handed to a stdio stream
 * (*out: fclose it; NULL unless ERR_OK).  Status and *type (may be NULL)
 * as spool_read_untrusted.
 */
enum err_status spool_fopen_untrusted(const char *path, size_t cap, FILE **out,
                                      enum spool_entry_type *type, struct err *e);

/* Read and verify one file (pub NULL: decode without verification, for
 * inspection only; *verified is then 0).  *out: record_free. */
enum err_status spool_read_record(const char *path, const struct sig_key *pub, struct record **out,
                                  int *verified, struct err *e);

/* Read failed/NAME.why (or hold/NAME.why) into out ("" if absent). */
enum err_status spool_read_why(const char *root, const char *queue, enum spool_dir d,
                               const char *name, struct buf *out, struct err *e);

#define SPOOL_STRANGERS_SHOWN 3
/* state/ holds a few files per producer: every stranger there is named. */
#define SPOOL_STATE_STRANGERS_SHOWN 16

struct spool_stats {
	size_t count[SPOOL_NDIRS]; /* record files per sub-directory (not state/) */
	time_t oldest_new;         /* mtime of the oldest waiting record; 0 if none */
	struct spool_gap gap;      /* first gap found in new/, if any */
	uint64_t next_seq;         /* consumer position for gap.producer/first producer */
	size_t conflicts;          /* failed/ files quarantined as conflicts */
	/* Files in new/ whose names are not record names (never taken, not
	 * counted in count[SPOOL_NEW]): how many, and the first few names as
	 * found (raw bytes: escape them before showing them). */
	size_t strangers;
	char stranger[SPOOL_STRANGERS_SHOWN][256];
	/* Files in new/ the consumer had to quarantine but could not move to
	 * failed/ (not writable, say): how many, and the first few record
	 * names with the reason and what stopped the move.  They need an
	 * operator: status asks for attention. */
	size_t stuck;
	char stuck_name[SPOOL_STRANGERS_SHOWN][RECORD_NAME_MAX];
	char stuck_why[SPOOL_STRANGERS_SHOWN][ERR_MSG_MAX];
	/* Entries of the queue's state/ that are not regular files: a FIFO,
	 * a symbolic link, a directory ... where the spool keeps its locks,
	 * sequences, consumer positions and markers (only regular files).
	 * Never opened, never followed; the producer or consumer stops on
	 * one it needs.  How many, and the first few names as found (raw
	 * bytes: escape them) with what each is. */
	size_t state_strangers;
	char state_stranger[SPOOL_STATE_STRANGERS_SHOWN][256];
	enum spool_entry_type state_stranger_type[SPOOL_STATE_STRANGERS_SHOWN];
};

/* Scan the queue (reads directories; for status and `spool stat`).
 * gap_alarm_seconds: 0 -> 3600.  Nothing is opened through a link or
 * waited on: a queue or sub-directory that is a symbolic link (or a
 * file) is ERR_FATAL naming it (spool_q_init), a stranger in state/ is
 * counted in state_strangers. */
enum err_status spool_stats(const char *root, const char *queue, unsigned gap_alarm_seconds,
                            struct spool_stats *st, struct err *e);

/*
 * The state/ strangers of st as JSON members of obj, the one spelling
 * `scfgate status --json` and `scfgate spool stat --json` share: nothing
 * when there are none; otherwise "state_strangers" (how many) and
 * "state_stranger_entries", an array of "NAME: WHAT" for the first
 * SPOOL_STATE_STRANGERS_SHOWN, NAME escaped (escape_display), WHAT as
 * spool_entry_type_name says it ("a FIFO").  Failures mark d (jdoc.h).
 */
struct jdoc;
struct cJSON;
void spool_stats_json_state_strangers(struct jdoc *d, struct cJSON *obj,
                                      const struct spool_stats *st);

enum err_status spool_hold(const char *root, const char *queue, const char *name, struct err *e);
/* Ask the half that applies queue to try its records waiting out a
 * back-off at once (state/retry-now; see spool_consumer_take_retry_now):
 * honoured at its next pass, within about a second while it runs. */
enum err_status spool_retry_now(const char *root, const char *queue, struct err *e);
enum err_status spool_release(const char *root, const char *queue, const char *name, struct err *e);
enum err_status spool_retry(const char *root, const char *queue, const char *name, struct err *e);
enum err_status spool_skip(const char *root, const char *queue, const char *producer, uint64_t seq,
                           struct err *e);
/*
 * Dismiss failed/NAME (a record name, maybe with the .N or .conflict
 * suffix failed/ gives; nothing else): who and why (one line each,
 * control characters shown as '?'; both required) go into
 * dismissed/NAME.why with the time and the failure's reason, then the
 * record moves there (dismissed/NAME, or NAME.1 ... when taken).
 * *out_name (may be NULL, RECORD_NAME_MAX + 32) receives the name in
 * dismissed/.  ERR_PERM: a bad name, no reason, not in failed/.
 */
enum err_status spool_dismiss(const char *root, const char *queue, const char *name,
                              const char *who, const char *reason, char *out_name, struct err *e);
/* Skip first..last (at most 65536 numbers); sequences already present in
 * the queue get no marker. */
enum err_status spool_skip_range(const char *root, const char *queue, const char *producer,
                                 uint64_t first, uint64_t last, struct err *e);
/* Skip the current gap of producer: from the consumer's position to the
 * lowest sequence of producer in new/, exclusive; *first and *last say
 * which.  ERR_TEMP "no gap" when the position's record is present or
 * nothing later waits. */
enum err_status spool_skip_gap(const char *root, const char *queue, const char *producer,
                               uint64_t *first, uint64_t *last, struct err *e);

/*
 * Import many records with one flush (bundles).  The caller has already
 * verified each record's signature and that name is what its content
 * says (bundle_read does both); the importer does not verify again.
 *   spool_importer_add  refuses a name that is not a canonical record file
 *                       name (ERR_PERM), looks for name in new/, cur/,
 *                       done/, failed/ and hold/ (same bytes: ERR_OK,
 *                       *dup = 1; other bytes: ERR_PERM conflict;
 *                       unreadable: ERR_TEMP), else writes the record to
 *                       tmp/ without a flush.
 *   spool_importer_flush  makes everything staged durable and visible:
 *                       one syncfs(2), the renames into new/ (never
 *                       replacing: a file that turned up meanwhile with
 *                       the same bytes counts in *dups, with other bytes
 *                       is a conflict), one fsync of new/.  *done counts
 *                       the records now in new/ (dups included).  A failed
 *                       syncfs publishes nothing; after a failed rename
 *                       the ones before it are visible (and flushed).
 *                       What was not published is unlinked either way.
 *   spool_importer_free unlinks whatever is staged and not flushed.
 * Nothing staged is visible before a flush; a crash leaves only tmp/
 * files, which recovery removes, and the import can simply run again.
 */
struct spool_importer;

enum err_status spool_importer_open(struct spool_importer **out, const char *root,
                                    const char *queue, struct err *e);
enum err_status spool_importer_add(struct spool_importer *im, const char *name, const void *data,
                                   size_t len, int *dup, struct err *e);
/* The checks spool_importer_add makes first (name, present, conflict),
 * and nothing else: for a pass that refuses a bundle before staging. */
enum err_status spool_importer_check(const struct spool_importer *im, const char *name,
                                     const void *data, size_t len, int *dup, struct err *e);
/* How many records are staged and not yet flushed. */
size_t spool_importer_staged(const struct spool_importer *im);
enum err_status spool_importer_flush(struct spool_importer *im, size_t *done, size_t *dups,
                                     struct err *e);
void spool_importer_free(struct spool_importer *im);

#endif
