/*
 * cfg_secret.c: credential files.  Secrets are read only when a client
 * is about to authenticate, never kept in struct cfg, never logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"

enum err_status cfg_read_secret(const char *path, struct buf *out, struct err *e)
{
	struct stat sb;
	char chunk[512];
	enum err_status st = ERR_OK;
	ssize_t n;
	int fd;

	buf_release(out);
	out->cap = CFG_SECRET_MAX;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, ERR_FATAL, errno, "credential file %s", path);
	/* the mode of what was opened, so a symlink (as secret stores mount
	 * them) is judged by its target */
	if (fstat(fd, &sb) != 0) {
		st = err_errno(e, ERR_FATAL, errno, "credential file %s", path);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		st = err_set(e, ERR_FATAL, "credential file %s: not a regular file", path);
		goto out;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		st = err_set(e, ERR_FATAL,
		             "credential file %s: readable by group or others (mode %03o); run "
		             "chmod 600 %s",
		             path, (unsigned)(sb.st_mode & 0777), path);
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			st = err_errno(e, ERR_FATAL, errno, "credential file %s", path);
			goto out;
		}
		if (buf_add(out, chunk, (size_t)n) != ERR_OK) {
			st = err_set(e, ERR_FATAL, "credential file %s: larger than %zu bytes",
			             path, CFG_SECRET_MAX);
			goto out;
		}
	}
	if (out->len && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	if (out->len && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	if (out->len == 0)
		st = err_set(e, ERR_FATAL, "credential file %s: empty", path);
	else if (memchr(out->data, '\n', out->len) || memchr(out->data, '\0', out->len))
		st = err_set(e, ERR_FATAL, "credential file %s: holds more than one line", path);
out:
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	if (st != ERR_OK && out->data) {
		explicit_bzero(out->data, out->len);
		buf_release(out);
	}
	return st;
}

/* One secret file as the half reads it; nothing of it is kept. */
static enum err_status check_secret(const struct cfg *c, const char *what, const char *path,
                                    int basic, struct err *e)
{
	struct buf b;
	char *user, *pass;
	enum err_status st;

	buf_init(&b, CFG_SECRET_MAX);
	st = cfg_read_secret(path, &b, e);
	if (st == ERR_OK && basic)
		st = cfg_split_basic(b.data, &user, &pass, e);
	if (b.data)
		explicit_bzero(b.data, b.alloc);
	buf_release(&b);
	if (st != ERR_OK)
		err_prefix(e, "%s: %s: ", c->path ? c->path : "config", what);
	return st;
}

enum err_status cfg_check_secrets(const struct cfg *c, struct err *e)
{
	enum err_status st = ERR_OK;

	if (c->half == CFG_HALF_SCF && c->scf.credential_file)
		st = check_secret(c, "<scf> credentials", c->scf.credential_file,
		                  c->scf.auth == CFG_SCF_AUTH_BASIC, e);
	if (c->half == CFG_HALF_OMS && c->cg.credential_file)
		st = check_secret(c, "<cartegraph> credentials", c->cg.credential_file, 1, e);
	if (st == ERR_OK && c->half == CFG_HALF_OMS && c->geocoder.enabled &&
	    c->geocoder.token_file && c->geocoder.token_file[0])
		st = check_secret(c, "<geocoder> tokenFile", c->geocoder.token_file, 0, e);
	return st;
}

enum err_status cfg_split_basic(char *secret, char **user, char **password, struct err *e)
{
	char *colon = secret ? strchr(secret, ':') : NULL;

	if (!colon || colon == secret)
		return err_set(e, ERR_FATAL,
		               "credential file for basic auth must hold user:password");
	*colon = '\0';
	*user = secret;
	*password = colon + 1;
	return ERR_OK;
}
