/*
 * spool_fs.c: directories, paths and the atomic-commit primitive of the
 * spool.  See spool.h.
 */
#include "spool_int.h"
#include "spool_clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "when.h"

static const char *const dir_names[SPOOL_NDIRS] = {"tmp",    "new",  "cur",   "done",
                                                   "failed", "hold", "state", "dismissed"};

const char *spool_dir_name(enum spool_dir d)
{
	if ((int)d < 0 || d >= SPOOL_NDIRS)
		return NULL;
	return dir_names[d];
}

int spool_dir_from_name(const char *name)
{
	for (int i = 0; i < SPOOL_NDIRS; i++)
		if (name && strcmp(name, dir_names[i]) == 0)
			return i;
	return -1;
}

int spool_queue_valid(const char *s)
{
	size_t n;

	if (!s || !(*s >= 'a' && *s <= 'z'))
		return 0;
	n = strlen(s);
	if (n > SPOOL_QUEUE_MAX)
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

enum err_status spool_errno_status(int errnum)
{
	switch (errnum) {
	case EACCES:
	case EPERM:
	case EROFS:
	case ENOTDIR:
	case ELOOP:
		return ERR_FATAL;
	default:
		return ERR_TEMP;
	}
}

enum err_status spool_join(char out[SPOOL_PATH_MAX], const char *dir, const char *name,
                           struct err *e)
{
	int n;

	if (name)
		n = snprintf(out, SPOOL_PATH_MAX, "%s/%s", dir, name);
	else
		n = snprintf(out, SPOOL_PATH_MAX, "%s", dir);
	if (n < 0 || n >= SPOOL_PATH_MAX)
		return err_set(e, ERR_PERM, "%s/%s: path too long", dir, name ? name : "");
	return ERR_OK;
}

/* Why a directory of the spool was refused: ERR_FATAL naming what stands
 * there when it is no directory (a link is never followed), else the
 * errno's own status. */
static enum err_status dir_refused(const char *path, int errnum, struct err *e)
{
	enum spool_entry_type t = spool_entry_type_of(path);

	if (t != SPOOL_ENTRY_DIR && t != SPOOL_ENTRY_MISSING && t != SPOOL_ENTRY_UNREADABLE)
		return err_set(e, ERR_FATAL,
		               "%s: %s where the spool keeps a directory (never followed): "
		               "remove it, then run scfgate spool init",
		               path, spool_entry_type_name(t));
	return err_errno(e, spool_errno_status(errnum), errnum, "%s: open", path);
}

enum err_status spool_open_dir(const char *path, int *fd, struct err *e)
{
	enum err_status st;
	int errnum;

	*fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd >= 0)
		return ERR_OK;
	errnum = errno;
	st = dir_refused(path, errnum, e);
	errno = errnum;
	return st;
}

enum err_status spool_opendir(const char *path, DIR **out, struct err *e)
{
	enum err_status st;
	int fd, errnum;

	*out = NULL;
	st = spool_open_dir(path, &fd, e);
	if (st != ERR_OK)
		return st;
	*out = fdopendir(fd);
	if (*out)
		return ERR_OK;
	errnum = errno;
	st = err_errno(e, ERR_TEMP, errnum, "%s: opendir", path);
	close(fd);
	errno = errnum;
	return st;
}

/* Created if missing; one that exists must be a directory.  The root
 * (follow) may be reached through a link, a directory inside it may not
 * (lstat: never followed). */
static enum err_status make_dir(const char *path, int follow, struct err *e)
{
	struct stat st;

	if (mkdir(path, 0750) == 0)
		return ERR_OK;
	if (errno != EEXIST)
		return err_errno(e, spool_errno_status(errno), errno, "%s: mkdir", path);
	if (follow && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
		return err_set(e, ERR_FATAL, "%s: exists and is not a directory", path);
	if (!follow && (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
		return dir_refused(path, ENOTDIR, e);
	return ERR_OK;
}

/* A reader's check of a directory of the queue: a symbolic link there is
 * refused.  A missing one is for the writer to create; a file or FIFO
 * there only fails to list (status still shows the rest). */
static enum err_status check_dir(const char *path, struct err *e)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return dir_refused(path, ELOOP, e);
	return ERR_OK;
}

enum err_status spool_q_init(struct spool_q *q, const char *root, const char *queue, int create,
                             struct err *e)
{
	char qdir[SPOOL_PATH_MAX];
	enum err_status st;
	struct stat sb;

	if (!spool_queue_valid(queue))
		return err_set(e, ERR_PERM, "invalid queue name '%s'", queue ? queue : "");
	if (!root || !*root)
		return err_set(e, ERR_PERM, "no spool root given");
	if (strlen(root) >= sizeof(q->root))
		return err_set(e, ERR_PERM, "%s: path too long", root);
	memcpy(q->root, root, strlen(root) + 1);
	memcpy(q->queue, queue, strlen(queue) + 1);
	st = spool_join(qdir, root, queue, e);
	if (st != ERR_OK)
		return st;
	/* Readers need only the queue directory: a sub-directory a transport
	 * did not create yet reads as empty. */
	if (!create && lstat(qdir, &sb) != 0)
		return err_set(e, ERR_FATAL, "%s: no such spool queue", qdir);
	if (!create && !S_ISDIR(sb.st_mode))
		return dir_refused(qdir, ENOTDIR, e);
	if (create) {
		st = make_dir(root, 1, e);
		if (st == ERR_OK)
			st = make_dir(qdir, 0, e);
		if (st != ERR_OK)
			return st;
	}
	for (int i = 0; i < SPOOL_NDIRS; i++) {
		st = spool_join(q->dir[i], qdir, dir_names[i], e);
		if (st == ERR_OK)
			st = create ? make_dir(q->dir[i], 0, e) : check_dir(q->dir[i], e);
		if (st != ERR_OK)
			return st;
	}
	return ERR_OK;
}

enum err_status spool_queue_init(const char *root, const char *queue, struct err *e)
{
	struct spool_q *q = malloc(sizeof(*q));
	enum err_status st;

	if (!q)
		return err_set(e, ERR_TEMP, "out of memory");
	st = spool_q_init(q, root, queue, 1, e);
	free(q);
	return st;
}

/* One directory of spool_root_init: created if missing, never followed
 * through a symbolic link, then given its owner, group and mode (chown
 * first: it clears the set-group-id bit). */
static enum err_status layout_dir(const char *path, uid_t uid, gid_t gid, mode_t mode,
                                  struct err *e)
{
	enum err_status st = ERR_OK;
	int fd;

	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return err_errno(e, ERR_FATAL, errno, "%s: mkdir", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return err_set(e, ERR_FATAL,
			               "%s: exists and is a symbolic link or not a directory",
			               path);
		return err_errno(e, ERR_FATAL, errno, "%s: open", path);
	}
	if (fchown(fd, uid, gid) != 0)
		st = err_errno(e, ERR_FATAL, errno, "%s: chown to %ld:%ld", path, (long)uid,
		               (long)gid);
	else if (fchmod(fd, mode) != 0)
		st = err_errno(e, ERR_FATAL, errno, "%s: chmod %04o", path, (unsigned)mode);
	close(fd);
	return st;
}

/* Every entry of root is one a spool root holds; else ERR_FATAL naming
 * the first stranger (a mistyped <root> must not fill /var or $HOME). */
static enum err_status layout_root_check(const char *root, struct err *e)
{
	static const char *const known[] = {".",       "..",    "outbound",
	                                    "inbound", "state", "lost+found"};
	enum err_status st = ERR_OK;
	struct dirent *d;
	DIR *dir = opendir(root);

	if (!dir)
		return err_errno(e, ERR_FATAL, errno, "%s: opendir", root);
	while (st == ERR_OK && (d = readdir(dir)) != NULL) {
		size_t i = 0;
		while (i < sizeof(known) / sizeof(known[0]) && strcmp(d->d_name, known[i]) != 0)
			i++;
		if (i == sizeof(known) / sizeof(known[0]))
			st = err_set(
			    e, ERR_FATAL,
			    "%s is not a spool root: it holds '%.64s' (a spool root holds only "
			    "outbound/, inbound/ and state/); nothing was changed",
			    root, d->d_name);
	}
	closedir(dir);
	return st;
}

enum err_status spool_root_init(const char *root, const char *receiving, const gid_t *transport_gid,
                                struct err *e)
{
	static const char *const queues[] = {"outbound", "inbound"};
	char qdir[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX];
	enum err_status st;
	struct stat sb;

	if (!spool_queue_valid(receiving))
		return err_set(e, ERR_PERM, "invalid queue name '%s'", receiving ? receiving : "");
	if (lstat(root, &sb) != 0)
		return err_errno(e, ERR_FATAL, errno, "%s: the spool root", root);
	if (S_ISLNK(sb.st_mode))
		return err_set(e, ERR_FATAL,
		               "%s is a symbolic link: give the real directory as the spool root",
		               root);
	if (!S_ISDIR(sb.st_mode))
		return err_set(e, ERR_FATAL, "%s is not a directory", root);
	st = layout_root_check(root, e);
	if (st != ERR_OK)
		return st;
	st = spool_join(path, root, "state", e);
	if (st == ERR_OK)
		st = layout_dir(path, sb.st_uid, sb.st_gid, 0750, e);
	if (st != ERR_OK)
		return st;
	for (size_t q = 0; q < sizeof(queues) / sizeof(queues[0]); q++) {
		int recv = strcmp(queues[q], receiving) == 0;
		gid_t qgid = recv && transport_gid ? *transport_gid : sb.st_gid;

		st = spool_join(qdir, root, queues[q], e);
		if (st == ERR_OK)
			st = layout_dir(qdir, sb.st_uid, qgid, 0750, e);
		if (st != ERR_OK)
			return st;
		for (int i = 0; i < SPOOL_NDIRS; i++) {
			int shared = recv && transport_gid && i == SPOOL_NEW;

			st = spool_join(path, qdir, dir_names[i], e);
			if (st == ERR_OK)
				st =
				    layout_dir(path, sb.st_uid, shared ? *transport_gid : sb.st_gid,
				               shared ? 02770 : 0750, e);
			if (st != ERR_OK)
				return st;
		}
	}
	return ERR_OK;
}

enum err_status spool_path(char out[SPOOL_PATH_MAX], const char *root, const char *queue,
                           enum spool_dir d, const char *name, struct err *e)
{
	const char *dn = spool_dir_name(d);
	int n;

	if (!dn)
		return err_set(e, ERR_PERM, "invalid spool sub-directory %d", (int)d);
	if (name)
		n = snprintf(out, SPOOL_PATH_MAX, "%s/%s/%s/%s", root, queue, dn, name);
	else
		n = snprintf(out, SPOOL_PATH_MAX, "%s/%s/%s", root, queue, dn);
	if (n < 0 || n >= SPOOL_PATH_MAX)
		return err_set(e, ERR_PERM, "%s/%s: path too long", root, queue);
	return ERR_OK;
}

enum err_status spool_sync_dir(const char *dir, struct err *e)
{
	enum err_status st = ERR_OK;
	int fd;

	st = spool_open_dir(dir, &fd, e);
	if (st != ERR_OK)
		return st;
	if (fsync(fd) != 0)
		st = err_errno(e, ERR_TEMP, errno, "%s: fsync", dir);
	close(fd);
	return st;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

enum err_status spool_write_tmp(const char *tmp_path, const void *data, size_t len, int sync,
                                struct err *e)
{
	enum err_status st = ERR_OK;
	int fd;

	fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return err_errno(e, spool_errno_status(errno), errno, "%s: create", tmp_path);
	if (write_all(fd, data, len) != 0) {
		st = err_errno(e, spool_errno_status(errno), errno, "%s: write", tmp_path);
		close(fd);
		goto fail;
	}
	/* Never retried: after a failed fsync the page cache may claim the
	 * data is clean while the disk does not have it. */
	if (sync && fdatasync(fd) != 0) {
		st = err_errno(e, ERR_TEMP, errno, "%s: fdatasync", tmp_path);
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		st = err_errno(e, ERR_TEMP, errno, "%s: close", tmp_path);
		goto fail;
	}
	return ERR_OK;
fail:
	unlink(tmp_path);
	return st;
}

enum err_status spool_rename_noreplace(const char *from, const char *to, int *exists, struct err *e)
{
	if (exists)
		*exists = 0;
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return ERR_OK;
	if (errno == EINVAL || errno == ENOSYS) {
		/* A file system (EINVAL) or a kernel (ENOSYS) without
		 * RENAME_NOREPLACE: link() never replaces either. */
		if (link(from, to) == 0) {
			unlink(from);
			return ERR_OK;
		}
	}
	if (errno == EEXIST) {
		if (exists)
			*exists = 1;
		return err_set(e, ERR_PERM, "%s: exists", to);
	}
	return err_errno(e, spool_errno_status(errno), errno, "rename %s -> %s", from, to);
}

enum err_status spool_write_atomic(const char *tmp_dir, const char *dir_final, const char *name,
                                   const void *data, size_t len, int sync_dir, struct err *e)
{
	static unsigned counter;
	char tmp_name[300];
	char tmp_path[SPOOL_PATH_MAX];
	char final_path[SPOOL_PATH_MAX];
	enum err_status st;

	snprintf(tmp_name, sizeof(tmp_name), "%.200s.%ld.%u.tmp", name, (long)getpid(),
	         __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	st = spool_join(tmp_path, tmp_dir, tmp_name, e);
	if (st == ERR_OK)
		st = spool_join(final_path, dir_final, name, e);
	if (st != ERR_OK)
		return st;
	st = spool_write_tmp(tmp_path, data, len, 1, e);
	if (st != ERR_OK)
		return st;
	st = spool_rename_noreplace(tmp_path, final_path, NULL, e);
	if (st != ERR_OK) {
		unlink(tmp_path);
		return st;
	}
	if (sync_dir)
		return spool_sync_dir(dir_final, e);
	return ERR_OK;
}

const char *spool_entry_type_name(enum spool_entry_type t)
{
	switch (t) {
	case SPOOL_ENTRY_REGULAR:
		return "a regular file";
	case SPOOL_ENTRY_MISSING:
		return "absent";
	case SPOOL_ENTRY_SYMLINK:
		return "a symbolic link";
	case SPOOL_ENTRY_DIR:
		return "a directory";
	case SPOOL_ENTRY_FIFO:
		return "a FIFO";
	case SPOOL_ENTRY_DEVICE:
		return "a device node";
	case SPOOL_ENTRY_SOCKET:
		return "a socket";
	case SPOOL_ENTRY_UNREADABLE:
		return "an unreadable file";
	case SPOOL_ENTRY_TOO_LARGE:
		return "a file over the size limit";
	}
	return "an unknown kind of file";
}

static enum spool_entry_type type_of_mode(mode_t m)
{
	if (S_ISREG(m))
		return SPOOL_ENTRY_REGULAR;
	if (S_ISLNK(m))
		return SPOOL_ENTRY_SYMLINK;
	if (S_ISDIR(m))
		return SPOOL_ENTRY_DIR;
	if (S_ISFIFO(m))
		return SPOOL_ENTRY_FIFO;
	if (S_ISSOCK(m))
		return SPOOL_ENTRY_SOCKET;
	return SPOOL_ENTRY_DEVICE;
}

enum spool_entry_type spool_entry_type_of(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? SPOOL_ENTRY_MISSING : SPOOL_ENTRY_UNREADABLE;
	return type_of_mode(sb.st_mode);
}

/* Refuse what is not a regular file of at most cap bytes. */
static enum err_status check_entry(const char *path, const struct stat *sb, size_t cap,
                                   enum spool_entry_type *type, struct err *e)
{
	*type = type_of_mode(sb->st_mode);
	if (*type != SPOOL_ENTRY_REGULAR)
		return err_set(e, ERR_PERM, "%s: %s, not a regular file (never read)", path,
		               spool_entry_type_name(*type));
	if (sb->st_size > (off_t)cap) {
		*type = SPOOL_ENTRY_TOO_LARGE;
		return err_set(e, ERR_PERM, "%s: %lld bytes, larger than the %zu-byte limit", path,
		               (long long)sb->st_size, cap);
	}
	return ERR_OK;
}

static enum err_status read_fd(int fd, const char *path, size_t cap, struct buf *b,
                               enum spool_entry_type *type, struct err *e)
{
	char chunk[65536];
	enum err_status bs;
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*type = SPOOL_ENTRY_UNREADABLE;
			return err_errno(e, ERR_TEMP, errno, "%s: read", path);
		}
		if (n == 0)
			return ERR_OK;
		/* The file grew after fstat: the cap holds for what is read. */
		if (b->len + (size_t)n > cap) {
			*type = SPOOL_ENTRY_TOO_LARGE;
			return err_set(e, ERR_PERM, "%s: larger than the %zu-byte limit", path,
			               cap);
		}
		bs = buf_add(b, chunk, (size_t)n);
		if (bs != ERR_OK) {
			/* The reader's buffer has a smaller cap (ERR_PERM), or
			 * memory ran out (ERR_TEMP). */
			*type = bs == ERR_PERM ? SPOOL_ENTRY_TOO_LARGE : SPOOL_ENTRY_UNREADABLE;
			return bs == ERR_PERM
			           ? err_set(e, bs, "%s: larger than the %zu-byte limit", path,
			                     b->cap)
			           : err_set(e, bs, "%s: out of memory reading it", path);
		}
	}
}

/* The checks both untrusted readers share: lstat, open without following
 * a link or blocking, fstat the descriptor.  The descriptor (still
 * O_NONBLOCK) of a regular file of at most cap bytes, or -1 with *st and
 * *type set. */
static int open_untrusted(const char *path, size_t cap, enum spool_entry_type *type,
                          enum err_status *st, struct err *e)
{
	struct stat before, sb;
	int fd;

	*type = SPOOL_ENTRY_MISSING;
	/* lstat first: opening a device node can have effects of its own,
	 * and a FIFO must not even be opened. */
	if (lstat(path, &before) != 0) {
		if (errno != ENOENT)
			*type = SPOOL_ENTRY_UNREADABLE;
		*st = err_errno(e, ERR_TEMP, errno, "%s", path);
		return -1;
	}
	*st = check_entry(path, &before, cap, type, e);
	if (*st != ERR_OK)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int saved = errno;
		if (saved == ENOENT)
			*type = SPOOL_ENTRY_MISSING;
		else if (saved == ELOOP)
			*type = SPOOL_ENTRY_SYMLINK; /* replaced by a link after lstat */
		else
			*type = SPOOL_ENTRY_UNREADABLE;
		*st = err_errno(e, *type == SPOOL_ENTRY_SYMLINK ? ERR_PERM : ERR_TEMP, saved, "%s",
		                path);
		return -1;
	}
	/* The descriptor is what counts: the name may have been swapped
	 * between lstat and open. */
	if (fstat(fd, &sb) != 0) {
		*type = SPOOL_ENTRY_UNREADABLE;
		*st = err_errno(e, ERR_TEMP, errno, "%s: fstat", path);
	} else {
		*st = check_entry(path, &sb, cap, type, e);
	}
	if (*st != ERR_OK) {
		close(fd);
		return -1;
	}
	return fd;
}

enum err_status spool_read_untrusted(const char *path, size_t cap, struct buf *b,
                                     enum spool_entry_type *type, struct err *e)
{
	enum spool_entry_type dummy;
	enum err_status st;
	int fd;

	if (!type)
		type = &dummy;
	buf_reset(b);
	fd = open_untrusted(path, cap, type, &st, e);
	if (fd < 0)
		return st;
	st = read_fd(fd, path, cap, b, type, e);
	close(fd);
	if (st != ERR_OK)
		buf_reset(b);
	return st;
}

enum err_status spool_read_newest(const char *dir, const char *prefix, size_t cap, struct buf *b,
                                  char *path, size_t size, enum spool_entry_type *type,
                                  struct err *e)
{
	uint64_t gens[8];
	size_t ng = gen_list(dir, prefix, gens, sizeof(gens) / sizeof(gens[0]));

	buf_reset(b);
	path[0] = '\0';
	*type = SPOOL_ENTRY_MISSING;
	/* Newest first. */
	for (size_t i = 0; i < ng; i++) {
		enum err_status st;

		if (snprintf(path, size, "%s/%s%020" PRIu64, dir, prefix, gens[i]) >= (int)size) {
			*type = SPOOL_ENTRY_UNREADABLE;
			return err_set(e, ERR_PERM, "%s: path too long", dir);
		}
		st = spool_read_untrusted(path, cap, b, type, e);
		if (st == ERR_OK || *type != SPOOL_ENTRY_MISSING)
			return st;
		err_clear(e);
	}
	path[0] = '\0';
	*type = SPOOL_ENTRY_MISSING;
	return ERR_OK;
}

int spool_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum err_status spool_write_next(const char *dir, const char *prefix, const void *data, size_t len,
                                 struct err *e)
{
	char tmp[SPOOL_PATH_MAX + 8], name[256];
	uint64_t gens[16];
	size_t ng;
	enum err_status st;

	if (snprintf(tmp, sizeof(tmp), "%s/tmp", dir) >= (int)sizeof(tmp))
		return err_set(e, ERR_PERM, "%s: path too long", dir);
	if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
		return err_errno(e, ERR_TEMP, errno, "%s", tmp);
	ng = gen_list(dir, prefix, gens, sizeof(gens) / sizeof(gens[0]));
	if (snprintf(name, sizeof(name), "%s%020" PRIu64, prefix, ng ? gens[0] + 1 : 1) >=
	    (int)sizeof(name))
		return err_set(e, ERR_PERM, "%s: name too long", prefix);
	st = spool_write_atomic(tmp, dir, name, data, len, 1, e);
	if (st != ERR_OK)
		return st;
	for (size_t i = 0; i < ng; i++) {
		char path[SPOOL_PATH_MAX + 256 + 1];

		snprintf(path, sizeof(path), "%s/%s%020" PRIu64, dir, prefix, gens[i]);
		unlink(path);
	}
	return ERR_OK;
}

int spool_open_state(const char *path, int flags, mode_t mode, struct err *e)
{
	struct stat sb;
	int fd, fl;

	fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0) {
		if (errno == ELOOP)
			err_set(e, ERR_FATAL, "%s: a symbolic link, never followed: remove it",
			        path);
		else
			err_errno(e, spool_errno_status(errno), errno, "%s", path);
		return -1;
	}
	if (fstat(fd, &sb) != 0) {
		err_errno(e, ERR_TEMP, errno, "%s: fstat", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		err_set(e, ERR_FATAL, "%s: %s, not a regular file: remove it", path,
		        spool_entry_type_name(type_of_mode(sb.st_mode)));
		close(fd);
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		err_errno(e, ERR_TEMP, errno, "%s: fcntl", path);
		close(fd);
		return -1;
	}
	return fd;
}

enum err_status spool_fopen_untrusted(const char *path, size_t cap, FILE **out,
                                      enum spool_entry_type *type, struct err *e)
{
	enum spool_entry_type dummy;
	enum err_status st;
	int fd, fl;

	*out = NULL;
	if (!type)
		type = &dummy;
	fd = open_untrusted(path, cap, type, &st, e);
	if (fd < 0)
		return st;
	/* A regular file now: reads may block on the disk like any other. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		*type = SPOOL_ENTRY_UNREADABLE;
		st = err_errno(e, ERR_TEMP, errno, "%s: fcntl", path);
		close(fd);
		return st;
	}
	*out = fdopen(fd, "r");
	if (!*out) {
		*type = SPOOL_ENTRY_UNREADABLE;
		st = err_errno(e, ERR_TEMP, errno, "%s: fdopen", path);
		close(fd);
		return st;
	}
	return ERR_OK;
}

enum err_status spool_read_file(const char *path, struct buf *b, int *missing, struct err *e)
{
	enum spool_entry_type type;
	enum err_status st = spool_read_untrusted(path, RECORD_MAX_BYTES, b, &type, e);

	if (missing)
		*missing = type == SPOOL_ENTRY_MISSING;
	return st;
}

int spool_file_holds(const char *path, const void *data, size_t len)
{
	struct buf b = BUF_INIT_CAP(RECORD_MAX_BYTES);
	int missing = 0, r = -2;

	if (spool_read_file(path, &b, &missing, NULL) == ERR_OK)
		r = b.len == len && (len == 0 || memcmp(b.data, data, len) == 0);
	else if (missing)
		r = -1;
	buf_release(&b);
	return r;
}

int spool_same_bytes(const char *a, const char *b)
{
	struct buf x = BUF_INIT_CAP(RECORD_MAX_BYTES);
	int r = -1;

	if (spool_read_file(a, &x, NULL, NULL) == ERR_OK)
		r = spool_file_holds(b, x.data, x.len);
	buf_release(&x);
	return r < 0 ? -1 : r;
}

uint64_t spool_counter_read(int fd)
{
	char text[32];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	uint64_t v = 0;

	if (n <= 0)
		return 0;
	text[n] = '\0';
	for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(text[i] - '0');
	return v;
}

int spool_counter_write(int fd, uint64_t v)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%020llu\n", (unsigned long long)v);

	/* Fixed width: an overwrite never leaves a longer old tail. */
	return pwrite(fd, text, (size_t)n, 0) == n ? 0 : -1;
}

enum err_status spool_free_name(const char *dir, const char *base, char *out, size_t outlen,
                                struct err *e)
{
	char path[SPOOL_PATH_MAX];

	for (unsigned i = 0; i < 10000; i++) {
		int n =
		    i ? snprintf(out, outlen, "%s.%u", base, i) : snprintf(out, outlen, "%s", base);
		if (n < 0 || (size_t)n >= outlen)
			return err_set(e, ERR_PERM, "%s: name too long", base);
		if (spool_join(path, dir, out, e) != ERR_OK)
			return ERR_PERM;
		if (access(path, F_OK) != 0 && errno == ENOENT) {
			char why[SPOOL_PATH_MAX + 8];
			snprintf(why, sizeof(why), "%s.why", path);
			if (access(why, F_OK) != 0 && errno == ENOENT)
				return ERR_OK;
		}
	}
	return err_set(e, ERR_TEMP, "%s/%s: no free name", dir, base);
}

enum err_status spool_write_why(const char *tmp_dir, const char *dir, const char *name,
                                const struct spool_why *why, const char *sha256, struct err *e)
{
	struct buf b = BUF_INIT_CAP((size_t)64 * 1024);
	char why_name[300];
	char when[40];
	time_t now = spool_now();
	enum err_status st;

	when_utc(now, when);
	snprintf(why_name, sizeof(why_name), "%s.why", name);
	buf_addf(&b, "reason: %s\n", why && why->reason ? why->reason : "(none given)");
	buf_addf(&b, "time: %s\n", when);
	if (sha256 && *sha256)
		buf_addf(&b, "sha256: %s\n", sha256);
	if (why && why->http_status)
		buf_addf(&b, "http_status: %d\n", why->http_status);
	if (why && why->detail)
		buf_addf(&b, "detail: %s\n", why->detail);
	if (why && why->body) {
		size_t n = strlen(why->body);
		buf_adds(&b, "body:\n");
		buf_add(&b, why->body, n > 2048 ? 2048 : n);
		buf_adds(&b, n > 2048 ? "\n[... truncated]\n" : "\n");
	}
	st = spool_write_atomic(tmp_dir, dir, why_name, b.data, b.len, 0, e);
	if (st == ERR_PERM) {
		/* An older .why (a retried record that failed again): keep
		 * it beside, never delete it. */
		char old[SPOOL_PATH_MAX], kept[SPOOL_PATH_MAX + 32];
		if (spool_join(old, dir, why_name, NULL) == ERR_OK) {
			snprintf(kept, sizeof(kept), "%s.old-%lld", old, (long long)now);
			rename(old, kept);
		}
		st = spool_write_atomic(tmp_dir, dir, why_name, b.data, b.len, 0, e);
	}
	buf_release(&b);
	return st;
}
