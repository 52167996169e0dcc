/*
 * spool_int.h: helpers shared by the spool_*.c files; not an interface
 * for other modules (they use spool.h).
 */
#ifndef SCFGATE_SPOOL_INT_H
#define SCFGATE_SPOOL_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "spool.h"

/* The directories of one queue, resolved once. */
struct spool_q {
	char root[SPOOL_PATH_MAX];
	char queue[SPOOL_QUEUE_MAX + 1];
	char dir[SPOOL_NDIRS][SPOOL_PATH_MAX];
};

enum err_status spool_q_init(struct spool_q *q, const char *root, const char *queue, int create,
                             struct err *e);
/* dir/name into out; ERR_PERM when too long. */
enum err_status spool_join(char out[SPOOL_PATH_MAX], const char *dir, const char *name,
                           struct err *e);

/* The status an errno deserves: a full disk or an I/O error is temporary
 * (back-pressure), a read-only or inaccessible spool is fatal. */
enum err_status spool_errno_status(int errnum);

/*
 * Write data to tmp_path (O_CREAT|O_EXCL, mode 0640), fully, fdatasync if
 * sync, close checked.  On any failure the file is unlinked: a failed
 * fsync is never retried on the same data.  When the file already
 * existed, nothing is touched and errno is EEXIST on return.
 */
enum err_status spool_write_tmp(const char *tmp_path, const void *data, size_t len, int sync,
                                struct err *e);

/* rename without replacing; EEXIST -> ERR_PERM "exists".  *exists set. */
enum err_status spool_rename_noreplace(const char *from, const char *to, int *exists,
                                       struct err *e);

/* Read a whole record file (capped at RECORD_MAX_BYTES); b is reset first.
 * ENOENT -> ERR_TEMP with *missing = 1. */
enum err_status spool_read_file(const char *path, struct buf *b, int *missing, struct err *e);

/* 1 if the two files have identical bytes; 0 if not; -1 on error. */
int spool_same_bytes(const char *a, const char *b);

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

#endif
