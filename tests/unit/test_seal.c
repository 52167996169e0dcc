/*
 * test_seal.c: sealed (encrypted) bundle files.  The fixed vectors of
 * tests/data/seal (made by another implementation, make_vector.py, and
 * their key schedule checked with the openssl command line by
 * vector_openssl.sh) must come out byte for byte; round trips in odd
 * pieces; every single-byte change anywhere (header, each chunk, each
 * tag), every cut, appended and swapped chunks and the wrong recipient
 * must fail, and no plaintext of a chunk that failed is handed out;
 * key files (modes, no overwrite); opening a file into a private
 * temporary file that is gone afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "num.h"
#include "seal.h"

static char dir[] = "/tmp/test_seal.XXXXXX";
static struct seal_key *rcpt, *rcpt_pub, *eph, *other;

struct bytes {
	unsigned char *p;
	size_t n, cap;
};

static enum err_status collect(const void *data, size_t len, void *ctx, struct err *e)
{
	struct bytes *b = ctx;

	if (!len)
		return ERR_OK;
	if (b->n + len > b->cap) {
		b->cap = (b->n + len) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			return err_set(e, ERR_TEMP, "out of memory");
	}
	memcpy(b->p + b->n, data, len);
	b->n += len;
	return ERR_OK;
}

static void read_data(const char *name, struct bytes *b)
{
	char path[1024];
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/seal/%s", getenv("SCFGATE_SOURCE_DIR"), name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	b->p = malloc((size_t)n + 1);
	b->n = b->cap = (size_t)n;
	assert_int_equal(fread(b->p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
}

static struct seal_key *key_mem(const char *name, int private)
{
	struct seal_key *k = NULL;
	struct bytes b;
	struct err e;

	read_data(name, &b);
	err_clear(&e);
	assert_int_equal(private ? seal_load_private_mem((char *)b.p, b.n, &k, &e)
	                         : seal_load_public_mem((char *)b.p, b.n, &k, &e),
	                 ERR_OK);
	free(b.p);
	return k;
}

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	rcpt = key_mem("recipient.x25519.key", 1);
	rcpt_pub = key_mem("recipient.x25519.pub", 0);
	eph = key_mem("ephemeral.x25519.key", 1);
	other = key_mem("other.x25519.key", 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	seal_key_free(rcpt);
	seal_key_free(rcpt_pub);
	seal_key_free(eph);
	seal_key_free(other);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Seal in pieces of step bytes (0: all at once). */
static enum err_status seal_with(const struct seal_key *to, const struct seal_key *fixed,
                                 uint32_t chunk, const void *data, size_t len, size_t step,
                                 struct bytes *out, struct err *e)
{
	struct seal_writer *w;
	enum err_status st;
	size_t off = 0;

	st = fixed ? seal_writer_open_fixed(&w, to, fixed, chunk, collect, out, e)
	           : seal_writer_open(&w, to, collect, out, e);
	if (st != ERR_OK)
		return st;
	do {
		size_t n = step && len - off > step ? step : len - off;

		st = seal_writer_write(w, (const char *)data + off, n, e);
		off += n;
	} while (st == ERR_OK && off < len);
	if (st == ERR_OK)
		st = seal_writer_finish(w, e);
	seal_writer_free(w);
	return st;
}

static enum err_status open_with(const struct seal_key *k, const void *data, size_t len,
                                 size_t step, struct bytes *out, struct err *e)
{
	struct seal_reader *r;
	enum err_status st;
	size_t off = 0;

	err_clear(e);
	if ((st = seal_reader_open(&r, k, collect, out, e)) != ERR_OK)
		return st;
	while (st == ERR_OK && off < len) {
		size_t n = step && len - off > step ? step : len - off;

		st = seal_reader_feed(r, (const char *)data + off, n, e);
		off += n;
	}
	if (st == ERR_OK)
		st = seal_reader_finish(r, e);
	seal_reader_free(r);
	return st;
}

static void test_vectors(void **state)
{
	for (int v = 1; v <= 3; v++) {
		struct bytes plain, sealed, out = {0}, back = {0};
		char name[64];
		struct err e;

		snprintf(name, sizeof(name), "vector-%d.plain", v);
		read_data(name, &plain);
		snprintf(name, sizeof(name), "vector-%d.sealed", v);
		read_data(name, &sealed);
		err_clear(&e);
		assert_int_equal(seal_with(rcpt_pub, eph, 64, plain.p, plain.n, 7, &out, &e),
		                 ERR_OK);
		assert_int_equal(out.n, sealed.n);
		assert_memory_equal(out.p, sealed.p, sealed.n);
		assert_int_equal(open_with(rcpt, sealed.p, sealed.n, 5, &back, &e), ERR_OK);
		assert_int_equal(back.n, plain.n);
		if (plain.n)
			assert_memory_equal(back.p, plain.p, plain.n);
		free(plain.p);
		free(sealed.p);
		free(out.p);
		free(back.p);
	}
}

static void test_round_trip(void **state)
{
	static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 200000};
	static const size_t steps[] = {0, 1000, 4093};
	unsigned char *plain = malloc(200000);
	char id[SEAL_KEY_ID_LEN + 1], id2[SEAL_KEY_ID_LEN + 1];

	for (size_t i = 0; i < 200000; i++)
		plain[i] = (unsigned char)(i * 31 + (i >> 8));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct bytes a = {0}, b = {0}, back = {0};
		struct err e;

		err_clear(&e);
		assert_int_equal(
		    seal_with(rcpt_pub, NULL, 0, plain, sizes[s], steps[s % 3], &a, &e), ERR_OK);
		/* Header, whole chunks of 64 KiB + tag, one last chunk. */
		assert_int_equal(a.n, SEAL_HEADER_LEN + sizes[s] + (sizes[s] / 65536 + 1) * 16);
		assert_memory_equal(a.p, SEAL_MAGIC, SEAL_MAGIC_LEN);
		assert_int_equal(a.p[12] << 24 | a.p[13] << 16 | a.p[14] << 8 | a.p[15], 65536);
		/* A fresh ephemeral key each time: never the same bytes twice. */
		assert_int_equal(seal_with(rcpt_pub, NULL, 0, plain, sizes[s], 0, &b, &e), ERR_OK);
		assert_memory_not_equal(a.p + 24, b.p + 24, 32);
		assert_int_equal(open_with(rcpt, a.p, a.n, steps[(s + 1) % 3], &back, &e), ERR_OK);
		assert_int_equal(back.n, sizes[s]);
		if (sizes[s])
			assert_memory_equal(back.p, plain, sizes[s]);
		free(a.p);
		free(b.p);
		free(back.p);
	}
	seal_key_id(rcpt, id);
	seal_key_id(rcpt_pub, id2);
	assert_string_equal(id, id2);
	assert_int_equal(strlen(id), 16);
	free(plain);
}

/* Opening data must fail with ERR_PERM, and what was handed out must be
 * exactly the chunks before bad_chunk (never a byte of a chunk that did
 * not authenticate). */
static void expect_fail(const unsigned char *data, size_t len, size_t good_bytes, const char *what)
{
	struct bytes back = {0};
	struct err e;

	if (open_with(rcpt, data, len, 0, &back, &e) != ERR_PERM) {
		fail_msg("%s: opened (%s)", what, e.msg);
	}
	if (back.n > good_bytes)
		fail_msg("%s: %zu bytes handed out, at most %zu authentic", what, back.n,
		         good_bytes);
	assert_non_null(strchr(e.msg, ' '));
	free(back.p);
}

static void test_every_byte_flip_fails(void **state)
{
	struct bytes sealed;

	read_data("vector-1.sealed", &sealed);
	/* vector-1: header 56, chunks of 64+16 at 56 and 136, last 22+16 at 216. */
	assert_int_equal(sealed.n, 56 + 80 + 80 + 38);
	for (size_t i = 0; i < sealed.n; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			char what[64];
			/* A change inside chunk k leaves the chunks before it intact. */
			size_t good = i < 56 ? 0 : ((i - 56) / 80) * 64;

			sealed.p[i] ^= (unsigned char)(1u << bit);
			snprintf(what, sizeof(what), "bit %d of byte %zu", bit, i);
			expect_fail(sealed.p, sealed.n, good, what);
			sealed.p[i] ^= (unsigned char)(1u << bit);
		}
	}
	free(sealed.p);
}

static void test_cuts_appends_swaps(void **state)
{
	struct bytes sealed, back = {0};
	unsigned char *buf;
	struct err e;

	read_data("vector-1.sealed", &sealed);
	buf = malloc(sealed.n + 200);
	/* Every cut, including at each chunk boundary (56, 136, 216). */
	for (size_t n = 0; n < sealed.n; n++) {
		char what[64];

		snprintf(what, sizeof(what), "cut at %zu", n);
		expect_fail(sealed.p, n, n < 56 ? 0 : ((n - 56) / 80) * 64, what);
	}
	assert_int_equal(open_with(rcpt, sealed.p, 216, 0, &back, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "cut off: the file ends before chunk 2"));
	assert_int_equal(open_with(rcpt, sealed.p, 136, 0, &back, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "before chunk 1"));
	assert_int_equal(open_with(rcpt, sealed.p, 30, 0, &back, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "shorter than the 56-byte header"));
	free(back.p);

	/* Appended: a byte, a copy of chunk 1, a copy of the last chunk. */
	memcpy(buf, sealed.p, sealed.n);
	buf[sealed.n] = 0;
	expect_fail(buf, sealed.n + 1, 128, "one byte appended");
	memcpy(buf + sealed.n, sealed.p + 136, 80);
	expect_fail(buf, sealed.n + 80, 128, "chunk 1 appended");
	memcpy(buf + sealed.n, sealed.p + 216, 38);
	expect_fail(buf, sealed.n + 38, 128, "last chunk appended");
	/* Chunk 1 dropped: the last chunk moves to position 1. */
	memcpy(buf, sealed.p, 136);
	memcpy(buf + 136, sealed.p + 216, 38);
	expect_fail(buf, 136 + 38, 64, "chunk 1 dropped");
	/* Chunks 0 and 1 swapped. */
	memcpy(buf, sealed.p, 56);
	memcpy(buf + 56, sealed.p + 136, 80);
	memcpy(buf + 136, sealed.p + 56, 80);
	memcpy(buf + 216, sealed.p + 216, 38);
	expect_fail(buf, sealed.n, 0, "chunks 0 and 1 swapped");
	/* Chunk 0 twice (chunk 1 replaced by it). */
	memcpy(buf, sealed.p, sealed.n);
	memcpy(buf + 136, sealed.p + 56, 80);
	expect_fail(buf, sealed.n, 64, "chunk 0 repeated");
	free(buf);
	free(sealed.p);
}

static void test_header_and_recipient_errors(void **state)
{
	struct bytes sealed, back = {0};
	char want[128], id[SEAL_KEY_ID_LEN + 1], oid[SEAL_KEY_ID_LEN + 1];
	struct err e;

	read_data("vector-1.sealed", &sealed);
	seal_key_id(rcpt, id);
	seal_key_id(other, oid);
	assert_int_equal(open_with(other, sealed.p, sealed.n, 0, &back, &e), ERR_PERM);
	snprintf(want, sizeof(want), "encrypted to key %s, not to this half's decryption key %s",
	         id, oid);
	assert_string_equal(e.msg, want);
	assert_int_equal(back.n, 0);
	/* The other key with the recipient's key id forged into the header:
	 * the key agreement differs, so chunk 0 does not authenticate. */
	memcpy(sealed.p + 16, "\0\0\0\0\0\0\0\0", 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(num_hex_byte(oid + (size_t)2 * i, &sealed.p[16 + i]), 0);
	assert_int_equal(open_with(other, sealed.p, sealed.n, 0, &back, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "chunk 0 (bytes 56-135): does not authenticate"));
	free(sealed.p);
	read_data("vector-1.sealed", &sealed);
	sealed.p[8] = 2;
	assert_int_equal(open_with(rcpt, sealed.p, sealed.n, 0, &back, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "format 2 is not supported"));
	sealed.p[8] = 1;
	sealed.p[0] = 'X';
	assert_int_equal(open_with(rcpt, sealed.p, sealed.n, 0, &back, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "not an encrypted bundle"));
	sealed.p[0] = 'S';
	sealed.p[12] = 0x7f; /* a chunk size of 2 GiB would be 2 GiB of memory */
	assert_int_equal(open_with(rcpt, sealed.p, sealed.n, 0, &back, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "chunk size 2130706496 out of range"));
	/* A public key cannot open anything. */
	assert_int_equal(open_with(rcpt_pub, sealed.p, sealed.n, 0, &back, &e), ERR_FATAL);
	free(sealed.p);
	free(back.p);
}

static void test_key_files(void **state)
{
	char priv[512], pub[512];
	struct seal_key *k = NULL, *p = NULL;
	struct bytes a = {0}, back = {0};
	struct stat sb;
	struct err e;

	err_clear(&e);
	assert_int_equal(seal_keygen(dir, "oms", &e), ERR_OK);
	snprintf(priv, sizeof(priv), "%s/oms.x25519.key", dir);
	snprintf(pub, sizeof(pub), "%s/oms.x25519.pub", dir);
	assert_int_equal(stat(priv, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(pub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(seal_keygen(dir, "oms", &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "refusing to overwrite"));
	assert_int_equal(seal_load_private(priv, &k, &e), ERR_OK);
	assert_int_equal(seal_load_public(pub, &p, &e), ERR_OK);
	assert_int_equal(seal_with(p, NULL, 0, "hello", 5, 0, &a, &e), ERR_OK);
	assert_int_equal(open_with(k, a.p, a.n, 0, &back, &e), ERR_OK);
	assert_int_equal(back.n, 5);
	seal_key_free(k);
	/* Group- or world-readable: refused, naming the mode and the fix. */
	assert_int_equal(chmod(priv, 0640), 0);
	assert_int_equal(seal_load_private(priv, &k, &e), ERR_FATAL);
	assert_null(k);
	assert_non_null(strstr(e.msg, "readable by group or others (mode 640); run chmod 600"));
	assert_int_equal(chmod(priv, 0604), 0);
	assert_int_equal(seal_load_private(priv, &k, &e), ERR_FATAL);
	/* The private key file holds no public key and vice versa; an
	 * Ed25519 key is not an X25519 key. */
	assert_int_equal(seal_load_public(priv, &k, &e), ERR_FATAL);
	assert_int_equal(seal_load_private_mem("junk", 4, &k, &e), ERR_FATAL);
	{
		char ed[1024];

		snprintf(ed, sizeof(ed), "%s/tests/data/keys/test-oms.pub",
		         getenv("SCFGATE_SOURCE_DIR"));
		assert_int_equal(seal_load_public(ed, &k, &e), ERR_FATAL);
		assert_non_null(strstr(e.msg, "not an X25519 key"));
	}
	seal_key_free(p);
	free(a.p);
	free(back.p);
}

static int dir_entries(const char *d)
{
	struct dirent *de;
	DIR *dh = opendir(d);
	int n = 0;

	if (!dh)
		return -1;
	while ((de = readdir(dh)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(dh);
	return n;
}

static void test_open_file(void **state)
{
	char in[512], tmp[512], fifo[512], buf[300];
	struct bytes sealed;
	struct seal_plain p;
	int fd, sealed_flag;
	struct stat sb;
	struct err e;
	FILE *f;

	read_data("vector-1.sealed", &sealed);
	snprintf(in, sizeof(in), "%s/b.tar.enc", dir);
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	f = fopen(in, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(sealed.p, 1, sealed.n, f), sealed.n);
	fclose(f);
	err_clear(&e);
	assert_int_equal(seal_probe(in, &sealed_flag, &e), ERR_OK);
	assert_int_equal(sealed_flag, 1);
	assert_int_equal(seal_open_file(in, rcpt, tmp, &p, &e), ERR_OK);
	/* read through the descriptor, from its start: no name to swap */
	fd = p.fd;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 150);
	assert_int_equal(buf[1], 10);
	seal_plain_close(&p);
	assert_int_equal(dir_entries(tmp), 0);

	/* Tampered: an error naming the file and the chunk; nothing left. */
	sealed.p[200] ^= 1;
	f = fopen(in, "wb");
	assert_int_equal(fwrite(sealed.p, 1, sealed.n, f), sealed.n);
	fclose(f);
	assert_int_equal(seal_open_file(in, rcpt, tmp, &p, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, in));
	assert_non_null(strstr(e.msg, "chunk 1 (bytes 136-215): does not authenticate"));
	assert_int_equal(p.fd, -1);
	assert_int_equal(dir_entries(tmp), 0);

	/* A plain file is no sealed bundle; a FIFO is refused, never read. */
	assert_int_equal(seal_probe(tmp, &sealed_flag, &e), ERR_PERM);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(seal_probe(fifo, &sealed_flag, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "not a regular file"));
	assert_int_equal(seal_open_file(fifo, rcpt, tmp, &p, &e), ERR_PERM);
	snprintf(in, sizeof(in), "%s/tests/data/seal/vector-1.plain", getenv("SCFGATE_SOURCE_DIR"));
	assert_int_equal(seal_probe(in, &sealed_flag, &e), ERR_OK);
	assert_int_equal(sealed_flag, 0);
	free(sealed.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_every_byte_flip_fails),
	    cmocka_unit_test(test_cuts_appends_swaps),
	    cmocka_unit_test(test_header_and_recipient_errors),
	    cmocka_unit_test(test_key_files),
	    cmocka_unit_test(test_open_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
