/*
 * buf.c: capped growable buffer.  See buf.h for the contract.
 */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap ? cap : BUF_DEFAULT_CAP;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	if (!p)
		p = calloc(1, 1);
	buf_init(b, b->cap);
	return p;
}

static enum err_status buf_grow(struct buf *b, size_t extra)
{
	size_t want, next;
	char *p;

	if (extra > b->cap || b->len > b->cap - extra)
		return ERR_PERM;
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return ERR_OK;
	next = b->alloc ? b->alloc : 64;
	while (next < want)
		next = next > SIZE_MAX / 2 ? want : next * 2;
	p = realloc(b->data, next);
	if (!p)
		return ERR_TEMP;
	b->data = p;
	b->alloc = next;
	return ERR_OK;
}

enum err_status buf_add(struct buf *b, const void *data, size_t len)
{
	enum err_status st = buf_grow(b, len);

	if (st != ERR_OK)
		return st;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return ERR_OK;
}

enum err_status buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum err_status buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	enum err_status st;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ERR_PERM;
	st = buf_grow(b, (size_t)n);
	if (st != ERR_OK)
		return st;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return ERR_OK;
}

enum err_status buf_read_file(struct buf *b, const char *path, struct err *e)
{
	char chunk[65536];
	enum err_status st = ERR_OK;
	struct stat sb;
	ssize_t n;
	int fd;

	/* O_NONBLOCK and the fstat: a FIFO put where a file was expected
	 * must not hang the reader, nor a device or directory be read. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno == ENOENT ? ERR_PERM : ERR_TEMP, errno, "%s", path);
	if (fstat(fd, &sb) != 0) {
		st = err_errno(e, ERR_TEMP, errno, "%s: fstat", path);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		st = err_set(e, ERR_PERM, "%s: not a regular file", path);
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = err_errno(e, ERR_TEMP, errno, "%s: read", path);
			goto out;
		}
		if (n == 0)
			break;
		st = buf_add(b, chunk, (size_t)n);
		if (st != ERR_OK) {
			err_set(e, st, "%s: larger than the %zu-byte limit", path, b->cap);
			goto out;
		}
	}
out:
	close(fd);
	return st;
}
