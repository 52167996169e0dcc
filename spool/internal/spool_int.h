/*
 * spool_int.h: helpers shared by the spool_*.c files; not an interface
 * for other modules (they use spool.h).
 */
#ifndef SCFGATE_SPOOL_INT_H
#define SCFGATE_SPOOL_INT_H

#include <dirent.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "record.h"
#include "spool.h"

struct spool_pipe;

/* The directories of one queue, resolved once. */
struct spool_q {
	char root[SPOOL_PATH_MAX];
	char queue[SPOOL_QUEUE_MAX + 1];
	char dir[SPOOL_NDIRS][SPOOL_PATH_MAX];
};

/*
 * A producer (spool_produce.c; spool_pipe.c runs its pipelined group
 * commits).  While a pipeline is open (pipe != NULL) and a group is
 * outstanding, only the pipe's flusher thread touches next, reserved,
 * seq_fd and new_fd; the calling thread stages (id, key, q only).
 */
struct spool_producer {
	struct spool_q q;
	char id[RECORD_PRODUCER_MAX + 1];
	const struct sig_key *key;
	int lock_fd;
	int seq_fd;
	int new_fd;         /* new/, kept open: one fsync per commit, no lookup */
	int opened;         /* recovered: free() records a clean close */
	uint64_t next;      /* the next sequence to assign */
	uint64_t reserved;  /* every number below is covered on stable storage */
	uint64_t found;     /* RESERVED as found at open (maybe not yet durable) */
	char boot[40];      /* this kernel's boot id; "" when unknown */
	char scan_why[128]; /* why open read the sub-directories; "" if it did not */
	struct buf out;
	struct spool_pipe *pipe; /* NULL until the first pipelined group */
};

/*
 * A group of records between staging and publication: sequences first
 * .. first+n-1 of a producer.  Staged: every record is encoded, signed
 * and written to tmp/ (not flushed); nothing of it is visible, and it
 * can still be discarded.  The file names follow from the sequences.
 */
struct spool_group {
	uint64_t first;
	size_t n;
};

/*
 * Stage n records as sequences first..first+n-1 into g.  Touches only the
 * records, g, tmp/ and p's id, key and directories, so it may run while
 * another thread flushes an earlier group.  On failure nothing is left
 * in tmp/ and g->n is 0.
 */
enum err_status spool_group_stage(const struct spool_producer *p, struct spool_group *g,
                                  struct record **recs, size_t n, uint64_t first, struct err *e);
/*
 * Make a staged group durable and visible: cover its numbers in the
 * sequence file, one syncfs(2), the renames into new/, one fsync of
 * new/.  g->first must be p->next.  *n_done: how many from the front are
 * durable.  What was not published is unlinked.
 */
enum err_status spool_group_flush(struct spool_producer *p, struct spool_group *g, size_t *n_done,
                                  struct err *e);
/* Unlink a staged group's tmp/ files (it will never be published). */
void spool_group_discard(const struct spool_producer *p, struct spool_group *g);

/* 1 while pipelined groups are outstanding: direct commits must wait. */
int spool_pipe_busy(const struct spool_producer *p);
/* While busy: the first sequence of the next group started. */
uint64_t spool_pipe_next(const struct spool_producer *p);
/* Finish the outstanding groups (flushed, not reported), stop the
 * flusher and free the pipeline. */
void spool_pipe_close(struct spool_producer *p);

enum err_status spool_q_init(struct spool_q *q, const char *root, const char *queue, int create,
                             struct err *e);
/* dir/name into out; ERR_PERM when too long. */
enum err_status spool_join(char out[SPOOL_PATH_MAX], const char *dir, const char *name,
                           struct err *e);

/* The status an errno deserves: a full disk or an I/O error is temporary
 * (back-pressure), a read-only or inaccessible spool is fatal. */
enum err_status spool_errno_status(int errnum);

/*
 * Open one of a queue's bookkeeping files in state/ (a lock, a counter, a
 * consumer position) with flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
 * O_NOCTTY (mode for O_CREAT), and require a regular file.  Whoever may
 * write the spool may have planted a link there (a write would land in
 * its target) or a FIFO (a read would block for ever).  The descriptor,
 * O_NONBLOCK cleared, or -1 with e set: spool_errno_status for a failed
 * open, ERR_FATAL naming the file and what it is for anything but a
 * regular file (a person must remove it).
 */
int spool_open_state(const char *path, int flags, mode_t mode, struct err *e);

/*
 * Open a directory inside the spool (a queue, one of its sub-directories)
 * with O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC.  Whoever may write
 * the spool may have put a symbolic link there, and what the spool then
 * writes or reads would be another directory's.  ERR_OK with *fd, or
 * *fd -1 with errno kept and e set: ERR_FATAL "PATH: a symbolic link where the
 * spool keeps a directory (never followed): remove it, then run scfgate
 * spool init" (the same for a file, FIFO ...), else spool_errno_status
 * (ENOENT: ERR_TEMP).  Only the last component is checked: the spool
 * root itself may be reached through a link (it comes from the
 * configuration), and spool_q_init checks the queue and its
 * sub-directories with lstat.
 */
enum err_status spool_open_dir(const char *path, int *fd, struct err *e);
/* spool_open_dir as a DIR stream (*out: closedir it; NULL unless ERR_OK,
 * errno kept). */
enum err_status spool_opendir(const char *path, DIR **out, struct err *e);

/*
 * Write data to tmp_path (O_CREAT|O_EXCL, mode 0640), fully, fdatasync if
 * sync, close checked.  On any failure the file is unlinked: a failed
 * fsync is never retried on the same data.  When the file already
 * existed, nothing is touched and errno is EEXIST on return.
 */
enum err_status spool_write_tmp(const char *tmp_path, const void *data, size_t len, int sync,
                                struct err *e);

/* rename(2) that never replaces: renameat2 RENAME_NOREPLACE, or link and
 * unlink where the file system or the kernel lacks it (the spool's and
 * the bundle writer's one function).  EEXIST -> ERR_PERM "TO: exists" with
 * *exists set (exists may be NULL); any other errno by
 * spool_errno_status. */
enum err_status spool_rename_noreplace(const char *from, const char *to, int *exists,
                                       struct err *e);

/* Read a whole record file (capped at RECORD_MAX_BYTES); b is reset first.
 * ENOENT -> ERR_TEMP with *missing = 1. */
enum err_status spool_read_file(const char *path, struct buf *b, int *missing, struct err *e);

/* 1 if the file at path holds exactly data; 0 if other bytes; -1 if
 * there is no such file; -2 if it cannot be read (out of memory, I/O,
 * over RECORD_MAX_BYTES), which is no reason to take it for absent. */
int spool_file_holds(const char *path, const void *data, size_t len);
/* 1 if the two files have identical bytes; 0 if not; -1 on error. */
int spool_same_bytes(const char *a, const char *b);
/* qsort order of an array of names (char *): byte order, so zero-padded
 * record names sort in sequence order. */
int spool_name_cmp(const void *a, const void *b);

/* Parse the 20-digit counter file text; 0 when missing or unreadable. */
uint64_t spool_counter_read(int fd);
/* pwrite the counter text at offset 0 (no sync). */
int spool_counter_write(int fd, uint64_t v);

/*
 * The producer's sequence file state/<producer>.seq: one line
 * "RESERVED NEXT BOOT_ID".  Every number below RESERVED may have been
 * used (durable: fdatasync'd before any number at or above the old value
 * is handed out, advanced by SPOOL_SEQ_BLOCK at a time); NEXT is exact
 * but written without a sync; BOOT_ID is the kernel boot of the writer.
 */
#define SPOOL_SEQ_BLOCK 64

/* Use id instead of /proc/sys/kernel/random/boot_id (NULL: the real
 * one).  Only for tests that simulate a reboot. */
void spool_boot_id_override(const char *id);

/* At most this many sequences in one skip (a typo must not write a
 * million marker files). */
#define SPOOL_SKIP_MAX 65536

/* First free name among dir/base, dir/base.1, dir/base.2 ... into out
 * (a file name, not a path). */
enum err_status spool_free_name(const char *dir, const char *base, char *out, size_t outlen,
                                struct err *e);

/* Write a .why file next to (dir/name) atomically via tmp_dir. */
enum err_status spool_write_why(const char *tmp_dir, const char *dir, const char *name,
                                const struct spool_why *why, const char *sha256, struct err *e);

/* Consumer position and markers in state/. */
#define SPOOL_NEXT_PREFIX "next-"
#define SPOOL_SKIP_PREFIX "skip-"
#define SPOOL_GAP_PREFIX  "gap-"
#define SPOOL_RESCAN      "rescan"
/* state/stuck-NAME: new/NAME should have been quarantined but could not
 * be moved; holds "REASON; cannot be moved to failed/: ERROR". */
#define SPOOL_STUCK_PREFIX "stuck-"
#define SPOOL_RETRY_NOW    "retry-now"

/*
 * Read new/NAME ahead of its claim, for spool_peek (the public read-ahead
 * of a consumer that works ahead of its claims): read safely, gated,
 * parsed and verified exactly as a claim would, but left in new/, and
 * nothing quarantined (the claim decides).  ERR_OK: *out is the caller's own copy
 * (record_free).  Else ERR_PERM (not a record name, not a good record,
 * or its content names another producer or sequence) or ERR_TEMP (not
 * there, unreadable, out of memory); a bad file is remembered like at a
 * claim, so it is not parsed again while unchanged.
 * The verified record is kept with the file's identity (device, inode,
 * size, mtime, ctime): the claim of NAME takes it without reading,
 * parsing or verifying again while the file is unchanged, and reads and
 * verifies it afresh if anything changed (replaced, rewritten, touched).
 */
enum err_status spool_read_ahead(struct spool_consumer *c, const char *name, struct record **out,
                                 struct err *e);

/* spool_list, with the computed walk (a dense directory) looking up only
 * the sequences from..to (0: no bound); a directory read and sorted in
 * memory hands fn every name, so fn still checks the range.  For the
 * bundles, whose --from/--to must not cost a lookup per record of a large
 * done/. */
enum err_status spool_list_range(const char *root, const char *queue, enum spool_dir d,
                                 uint64_t from, uint64_t to, spool_entry_fn fn, void *ctx,
                                 struct err *e);

#endif
