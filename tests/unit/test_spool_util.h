/*
 * test_spool_util.h: shared by the spool unit tests, crash test programs
 * and the benchmark: scratch directories, keys and sample records.
 */
#ifndef SCFGATE_TEST_SPOOL_UTIL_H
#define SCFGATE_TEST_SPOOL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "sig.h"

/* A fresh directory under $TMPDIR (or /tmp); exits on failure. */
char *tsu_tmpdir(const char *tag);
/* rm -rf; best effort. */
void tsu_rmrf(const char *path);
/* Generate <dir>/<name>.key and .pub if missing; exits on failure. */
void tsu_keygen(const char *dir, const char *name);
struct sig_key *tsu_load_priv(const char *dir, const char *name);
struct sig_key *tsu_load_pub(const char *dir, const char *name);
/* A valid close record; source_json padded with pad bytes ('x'). */
struct record *tsu_close_record(int64_t issue_id, size_t pad);
/* Read a whole file (malloc'd, NUL-terminated); NULL if absent. */
char *tsu_read(const char *path, size_t *len);
/* Write a whole file (truncating); exits on failure. */
void tsu_write(const char *path, const void *data, size_t len);
/* Open a line log of the crash programs for appending, first cutting
 * off a torn last line: a process SIGKILLed inside write(2) may leave
 * part of a line (the kernel stops copying at a fatal signal), and the
 * next line would be glued to it.  Call it once the previous writer of
 * the log is gone (after taking the spool lock).  Exits on failure. */
int tsu_log_open(const char *path);
/* Set a file's mtime this many seconds into the past. */
void tsu_age(const char *path, int seconds);
/* Number of entries (not . and ..) in a directory. */
size_t tsu_count(const char *dir);

#endif
