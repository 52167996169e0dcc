/*
 * fuzz_seal.c: the encrypted-bundle reader (spool/seal.h: the header and
 * chunk parser that import, verify and list run before anything else)
 * on arbitrary bytes, fed in pieces whose sizes the input's first byte
 * picks, with the recipient key of tests/data/seal so that the seed
 * vectors get through.  Invariants: a failure carries one line; what
 * was handed out never exceeds what came in, and only whole chunks are
 * handed out.  Then the same bytes, as plaintext, sealed with a small
 * chunk size and opened again must come back unchanged.  Each input is
 * linear in its size (one chunk in memory, every byte decrypted once):
 * tools/run fuzz fails any input that takes longer than 2 s.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char recipient_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VuBCIEILAGr4ZTpZ+ELi2TlXq3IXB5shVTmiRLPSdiNT6CvDBn\n"
    "-----END PRIVATE KEY-----\n";

static struct seal_key *key;

struct sink {
	unsigned char *p;
	size_t n, cap, calls;
};

static enum err_status take(const void *d, size_t len, void *ctx, struct err *e)
{
	struct sink *s = ctx;

	(void)e;
	s->calls++;
	if (s->n + len > s->cap)
		abort(); /* more plaintext than ciphertext came in */
	if (len)
		memcpy(s->p + s->n, d, len);
	s->n += len;
	return ERR_OK;
}

static void one_line(enum err_status st, const struct err *e)
{
	if (st != ERR_OK && (!e->msg[0] || strchr(e->msg, '\n')))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink out = {0}, sealed = {0}, back = {0};
	struct seal_reader *r = NULL;
	struct seal_writer *w = NULL;
	enum err_status st;
	size_t step, off = 0;
	struct err e;

	if (!key && seal_load_private_mem(recipient_key, strlen(recipient_key), &key, &e) != ERR_OK)
		abort();
	/* Pieces of data[0] bytes (0: all at once). */
	step = size ? data[0] : 0;
	out.cap = size;
	out.p = malloc(size + 1);
	err_clear(&e);
	if (seal_reader_open(&r, key, take, &out, &e) != ERR_OK)
		abort();
	st = ERR_OK;
	while (st == ERR_OK && off < size) {
		size_t n = step && size - off > step ? step : size - off;

		st = seal_reader_feed(r, data + off, n, &e);
		off += n;
	}
	if (st == ERR_OK)
		st = seal_reader_finish(r, &e);
	one_line(st, &e);
	/* Whole chunks only: every call but the last hands out a full chunk. */
	if (out.n && size >= SEAL_HEADER_LEN &&
	    out.n > (size - SEAL_HEADER_LEN) - out.calls * SEAL_TAG_LEN)
		abort();
	seal_reader_free(r);

	/* Round trip of the input as plaintext, 64-byte chunks. */
	sealed.cap = SEAL_HEADER_LEN + size + (size / 64 + 1) * SEAL_TAG_LEN;
	sealed.p = malloc(sealed.cap);
	back.cap = size;
	back.p = malloc(size + 1);
	err_clear(&e);
	if (seal_writer_open_fixed(&w, key, NULL, 64, take, &sealed, &e) != ERR_OK ||
	    seal_writer_write(w, data, size, &e) != ERR_OK || seal_writer_finish(w, &e) != ERR_OK)
		abort();
	seal_writer_free(w);
	if (sealed.n != sealed.cap || seal_reader_open(&r, key, take, &back, &e) != ERR_OK ||
	    seal_reader_feed(r, sealed.p, sealed.n, &e) != ERR_OK ||
	    seal_reader_finish(r, &e) != ERR_OK || back.n != size ||
	    (size && memcmp(back.p, data, size) != 0))
		abort();
	seal_reader_free(r);
	free(out.p);
	free(sealed.p);
	free(back.p);
	return 0;
}
