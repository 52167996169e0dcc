/*
 * test_spool_util.c: see test_spool_util.h.
 */
#include "test_spool_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "test setup failed: %s\n", what);
	exit(99);
}

char *tsu_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&path, "%s/scfgate-%s-XXXXXX", base, tag) < 0)
		die("asprintf");
	if (!mkdtemp(path))
		die(path);
	return path;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	/* A file that will not go stays; the walk goes on to the rest. */
	(void)remove(path);
	return 0;
}

void tsu_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tsu_keygen(const char *dir, const char *name)
{
	char path[4096];
	struct err e;

	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	if (access(path, F_OK) == 0)
		return;
	if (sig_keygen(dir, name, &e) != ERR_OK)
		die(e.msg);
}

static struct sig_key *load(const char *dir, const char *name, const char *ext, int priv)
{
	char path[4096];
	struct sig_key *k = NULL;
	struct err e;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	if ((priv ? sig_load_private(path, &k, &e) : sig_load_public(path, &k, &e)) != ERR_OK)
		die(e.msg);
	return k;
}

struct sig_key *tsu_load_priv(const char *dir, const char *name)
{
	return load(dir, name, "key", 1);
}

struct sig_key *tsu_load_pub(const char *dir, const char *name)
{
	return load(dir, name, "pub", 0);
}

struct record *tsu_close_record(int64_t issue_id, size_t pad)
{
	struct record *r = record_new(RECORD_CLOSE);
	char key[64];
	char *json;

	if (!r)
		die("record_new");
	snprintf(key, sizeof(key), "close/%lld", (long long)issue_id);
	json = malloc(pad + 32);
	if (!json)
		die("malloc");
	memcpy(json, "{\"pad\":\"", 8);
	memset(json + 8, 'x', pad);
	memcpy(json + 8 + pad, "\"}", 3);
	r->key = strdup(key);
	r->u.close.issue_id = issue_id;
	r->u.close.oid = 1000 + issue_id;
	r->u.close.request_id = strdup("REQ-1");
	r->u.close.request_type_id = 7;
	r->u.close.request_type_title = strdup("Pothole");
	r->u.close.oms_status = strdup("Closed");
	r->u.close.closed_at = strdup("2026-11-27T10:00:00Z");
	r->u.close.source_json = json;
	return r;
}

char *tsu_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	if (!data || fread(data, 1, (size_t)n, f) != (size_t)n)
		die(path);
	data[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return data;
}

void tsu_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		die(path);
}

int tsu_log_open(const char *path)
{
	char chunk[4096];
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0640);
	struct stat sb;
	off_t end, keep = 0;

	if (fd < 0 || fstat(fd, &sb) != 0)
		die(path);
	/* Back from the end, a chunk at a time, to the last newline. */
	for (end = sb.st_size; end > 0 && keep == 0;) {
		off_t from = end > (off_t)sizeof(chunk) ? end - (off_t)sizeof(chunk) : 0;
		ssize_t n = pread(fd, chunk, (size_t)(end - from), from);

		if (n != end - from)
			die(path);
		while (n > 0 && chunk[n - 1] != '\n')
			n--;
		if (n > 0)
			keep = from + n;
		end = from;
	}
	if (keep < sb.st_size && (ftruncate(fd, keep) != 0 || fdatasync(fd) != 0))
		die(path);
	return fd;
}

void tsu_age(const char *path, int seconds)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= seconds;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, path, ts, 0);
}

size_t tsu_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}
