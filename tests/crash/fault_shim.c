/*
 * fault_shim.c: an LD_PRELOAD library that makes one system call fail,
 * for the spool's fault-injection test.
 *
 * Environment
 *   SCFGATE_FAULT_OP      write | fsync | fdatasync | syncfs | rename | open
 *   SCFGATE_FAULT_NTH     fail the Nth matching call (1-based), once; "N+"
 *                         fails the Nth and every later one (a full disk)
 *   SCFGATE_FAULT_ERRNO   EIO (default) or ENOSPC
 *   SCFGATE_FAULT_PREFIX  only calls on paths under this prefix count
 *                         (fd calls are resolved through /proc/self/fd)
 *   SCFGATE_FAULT_LOG     append "OP PATH RESULT" per call under the prefix
 *                         (unlink too), to prove what happened after a
 *                         failure
 * "open" counts only creating opens (O_CREAT), so reads are never hit.
 * With a sanitized program, run with ASAN_OPTIONS=verify_asan_link_order=0:
 * the shim is built without sanitizers and only forwards calls.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ready, op_fail, err_fail = EIO, log_fd = -1;
static long nth, seen;
static int from_nth_on;
static char prefix[4096];

static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_unlink)(const char *);

enum { OP_NONE, OP_WRITE, OP_FSYNC, OP_FDATASYNC, OP_SYNCFS, OP_RENAME, OP_OPEN };
static const char *op_names[] = {"none", "write", "fsync", "fdatasync", "syncfs", "rename", "open"};

static void init(void)
{
	const char *s;

	if (ready)
		return;
	real_write = dlsym(RTLD_NEXT, "write");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_syncfs = dlsym(RTLD_NEXT, "syncfs");
	real_rename = dlsym(RTLD_NEXT, "rename");
	real_renameat2 = dlsym(RTLD_NEXT, "renameat2");
	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_unlink = dlsym(RTLD_NEXT, "unlink");
	ready = 1;
	if ((s = getenv("SCFGATE_FAULT_OP")) != NULL)
		for (int i = 1; i < (int)(sizeof(op_names) / sizeof(op_names[0])); i++)
			if (strcmp(s, op_names[i]) == 0)
				op_fail = i;
	if ((s = getenv("SCFGATE_FAULT_NTH")) != NULL)
		nth = strtol(s, NULL, 10), from_nth_on = s[0] && s[strlen(s) - 1] == '+';
	if ((s = getenv("SCFGATE_FAULT_ERRNO")) != NULL && strcmp(s, "ENOSPC") == 0)
		err_fail = ENOSPC;
	if ((s = getenv("SCFGATE_FAULT_PREFIX")) != NULL)
		snprintf(prefix, sizeof(prefix), "%s", s);
	if ((s = getenv("SCFGATE_FAULT_LOG")) != NULL)
		log_fd = real_open(s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

static int in_scope(const char *path)
{
	return prefix[0] && path && strncmp(path, prefix, strlen(prefix)) == 0;
}

static const char *fd_path(int fd, char *buf, size_t n)
{
	char link[64];
	ssize_t k;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	k = readlink(link, buf, n - 1);
	if (k < 0)
		return NULL;
	buf[k] = '\0';
	return buf;
}

static void note(const char *op, const char *path, int rc)
{
	char line[4300];
	int n;

	if (log_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s %s %d\n", op, path, rc);
	if (n > 0)
		real_write(log_fd, line, (size_t)n);
}

/* 1 when this call is the one to fail. */
static int hit(int op, const char *path)
{
	if (!in_scope(path))
		return 0;
	/* Group commits create files from several threads. */
	if (op == op_fail) {
		long k = __atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST);

		if (k == nth || (from_nth_on && k >= nth))
			return 1;
	}
	return 0;
}

static int fd_call(int op, int fd, int (*real)(int))
{
	char buf[4096];
	const char *path;
	int rc;

	init();
	path = fd_path(fd, buf, sizeof(buf));
	if (hit(op, path)) {
		note(op_names[op], path, -1);
		errno = err_fail;
		return -1;
	}
	rc = real(fd);
	if (in_scope(path))
		note(op_names[op], path, rc);
	return rc;
}

int fsync(int fd)
{
	init();
	return fd_call(OP_FSYNC, fd, real_fsync);
}

int fdatasync(int fd)
{
	init();
	return fd_call(OP_FDATASYNC, fd, real_fdatasync);
}

int syncfs(int fd)
{
	init();
	return fd_call(OP_SYNCFS, fd, real_syncfs);
}

ssize_t write(int fd, const void *data, size_t len)
{
	char buf[4096];
	const char *path;

	init();
	if (!prefix[0] || fd == log_fd)
		return real_write(fd, data, len);
	path = fd_path(fd, buf, sizeof(buf));
	if (hit(OP_WRITE, path)) {
		note("write", path, -1);
		errno = err_fail;
		return -1;
	}
	return real_write(fd, data, len);
}

int rename(const char *from, const char *to)
{
	init();
	if (hit(OP_RENAME, from)) {
		note("rename", from, -1);
		errno = err_fail;
		return -1;
	}
	return real_rename(from, to);
}

int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned flags)
{
	init();
	if (hit(OP_RENAME, from)) {
		note("rename", from, -1);
		errno = err_fail;
		return -1;
	}
	return real_renameat2(fd1, from, fd2, to, flags);
}

int unlink(const char *path)
{
	int rc;

	init();
	rc = real_unlink(path);
	if (in_scope(path))
		note("unlink", path, rc);
	return rc;
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode, int at)
{
	init();
	if ((flags & O_CREAT) && hit(OP_OPEN, path)) {
		note("open", path, -1);
		errno = err_fail;
		return -1;
	}
	return at ? real_openat(dirfd, path, flags, mode) : real_open(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_common(AT_FDCWD, path, flags, mode, 0);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_common(dirfd, path, flags, mode, 1);
}
