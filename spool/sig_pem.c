/*
 * sig_pem.c: PEM key files for sig.c and seal.c (internal/sig_pem.h).
 */
#include "sig_pem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

enum err_status sig_pem_read_mem(const char *pem, size_t len, int private, const char *what,
                                 EVP_PKEY **out, struct err *e)
{
	BIO *bio;

	*out = NULL;
	if (len > INT_MAX)
		return err_set(e, ERR_FATAL, "%s: too large for a key", what);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return err_set(e, ERR_TEMP, "%s: out of memory", what);
	*out = private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
	               : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!*out)
		return err_set(e, ERR_FATAL, "%s: not a PEM %s key", what,
		               private ? "private" : "public");
	return ERR_OK;
}

enum err_status sig_pem_read_file(const char *path, int private, int owner_only, EVP_PKEY **out,
                                  struct err *e)
{
	char *text = NULL;
	enum err_status st = ERR_FATAL;
	struct stat sb;
	size_t len = 0;
	ssize_t n;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_errno(e, ERR_FATAL, errno, "%s", path);
	if (fstat(fd, &sb) != 0) {
		err_errno(e, ERR_FATAL, errno, "%s", path);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		err_set(e, ERR_FATAL, "%s: not a regular file", path);
		goto out;
	}
	if (owner_only && (sb.st_mode & (S_IRWXG | S_IRWXO))) {
		err_set(e, ERR_FATAL,
		        "%s: readable by group or others (mode %03o); run chmod 600 %s", path,
		        (unsigned)(sb.st_mode & 0777), path);
		goto out;
	}
	if ((size_t)sb.st_size > SIG_PEM_MAX) {
		err_set(e, ERR_FATAL, "%s: too large for a key", path);
		goto out;
	}
	text = malloc(SIG_PEM_MAX + 1);
	if (!text) {
		err_set(e, ERR_FATAL, "%s: out of memory", path);
		goto out;
	}
	while (len < SIG_PEM_MAX && (n = read(fd, text + len, SIG_PEM_MAX - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_errno(e, ERR_FATAL, errno, "%s: read", path);
			goto out;
		}
		len += (size_t)n;
	}
	st = sig_pem_read_mem(text, len, private, path, out, e);
	if (st != ERR_OK && e)
		e->status = st = ERR_FATAL; /* a half without its key must stop */
	else if (st != ERR_OK)
		st = ERR_FATAL;
out:
	if (text) {
		/* Wipe private key text before it goes back to the allocator. */
		OPENSSL_cleanse(text, SIG_PEM_MAX + 1);
		free(text);
	}
	close(fd);
	return st;
}

/* Create path with O_EXCL and write the key in PEM through a FILE. */
static enum err_status write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, int private,
                                 struct err *e)
{
	enum err_status st = ERR_FATAL;
	FILE *f = NULL;
	int ok, fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return err_errno(e, errno == EEXIST ? ERR_PERM : ERR_FATAL, errno, "%s", path);
	/* The umask must not loosen or tighten what the contract promises. */
	if (fchmod(fd, mode) != 0) {
		err_errno(e, ERR_FATAL, errno, "%s: chmod", path);
		close(fd);
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err_errno(e, ERR_FATAL, errno, "%s", path);
		close(fd);
		goto out;
	}
	ok = private ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
	             : PEM_write_PUBKEY(f, pkey);
	ERR_clear_error();
	if (ok != 1 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		err_errno(e, ERR_FATAL, errno, "%s: write", path);
		goto out;
	}
	ok = fclose(f);
	f = NULL;
	if (ok != 0) {
		err_errno(e, ERR_FATAL, errno, "%s: close", path);
		goto out;
	}
	st = ERR_OK;
out:
	if (f)
		fclose(f);
	if (st != ERR_OK)
		unlink(path);
	return st;
}

static int join(char *out, size_t size, const char *dir, const char *name, const char *ext)
{
	int n = snprintf(out, size, "%s/%s%s", dir, name, ext);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

enum err_status sig_pem_keygen(const char *dir, const char *name, const char *priv_ext,
                               const char *pub_ext, const char *alg, const char *shown,
                               struct err *e)
{
	char priv[PATH_MAX], pub[PATH_MAX];
	enum err_status st;
	EVP_PKEY *pkey;
	struct stat sb;
	int dfd;

	if (join(priv, sizeof(priv), dir, name, priv_ext) ||
	    join(pub, sizeof(pub), dir, name, pub_ext))
		return err_set(e, ERR_FATAL, "%s/%s: path too long", dir, name);
	/* Check both first, so a half-written pair is never left behind. */
	if (lstat(priv, &sb) == 0 || lstat(pub, &sb) == 0)
		return err_set(e, ERR_PERM, "%s: key already exists, refusing to overwrite",
		               lstat(priv, &sb) == 0 ? priv : pub);
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, alg);
	if (!pkey) {
		ERR_clear_error();
		return err_set(e, ERR_FATAL, "cannot generate an %s key", shown);
	}
	st = write_pem(priv, 0600, pkey, 1, e);
	if (st == ERR_OK) {
		st = write_pem(pub, 0644, pkey, 0, e);
		if (st != ERR_OK)
			unlink(priv);
	}
	EVP_PKEY_free(pkey);
	if (st != ERR_OK)
		return st;
	/* Make both names durable before anyone is told the key exists. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return ERR_OK;
}
