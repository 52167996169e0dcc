/*
 * buf.h: a growable byte buffer with a hard size cap (after curl's dynbuf
 * and git's strbuf).
 *
 * Contract
 *   - buf_init(b, cap) makes an empty buffer that will never hold more
 *     than cap bytes (cap 0 means BUF_DEFAULT_CAP).  Every byte source
 *     from outside (HTTP bodies, files, archive entries) goes through a
 *     capped buf, so hostile input cannot exhaust memory.
 *   - b->data is always NUL-terminated once anything was added (the NUL
 *     is not counted in len and not in the cap), so text can be used as a
 *     C string; binary data may contain NULs.
 *   - An add that would exceed the cap, or fails to allocate, adds
 *     nothing and returns ERR_PERM (cap) or ERR_TEMP (allocation).
 *   - buf_release frees and re-inits to empty (same cap); buf_reset keeps
 *     the memory and empties; buf_detach hands the bytes to the caller
 *     (free() them) and re-inits.
 */
#ifndef SCFGATE_BUF_H
#define SCFGATE_BUF_H

#include <stddef.h>

#include "err.h"

#define BUF_DEFAULT_CAP ((size_t)64 * 1024 * 1024)

struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap;
};

#define BUF_INIT_CAP(c)                                                                            \
	{                                                                                          \
		NULL, 0, 0, (c)                                                                    \
	}

void buf_init(struct buf *b, size_t cap);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
char *buf_detach(struct buf *b, size_t *len);

enum err_status buf_add(struct buf *b, const void *data, size_t len);
enum err_status buf_adds(struct buf *b, const char *s);
enum err_status buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read a whole file into b, honouring the cap.  ERR_PERM if the file is
 * larger than the cap, missing, or not a regular file (a FIFO is never
 * waited on, a device or directory never read; a symbolic link is
 * followed), ERR_TEMP on I/O errors (message names the path). */
enum err_status buf_read_file(struct buf *b, const char *path, struct err *e);

/* The text as a C string ("" when empty). */
static inline const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

#endif
