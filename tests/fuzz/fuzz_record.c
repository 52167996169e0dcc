/*
 * fuzz_record.c: record_decode on arbitrary bytes, with the test public
 * key of the scf half (tests/data/keys/test-scf.pub) so valid seeds get
 * all the way through signature verification and struct filling.  The
 * unverified path runs too, so mutated records that fail the signature
 * still exercise the struct filling.  Whatever the unverified path
 * accepts is then written again with the matching private key and must
 * read back with a good signature: the writer signs the canonical form
 * and writes it, whatever the text holds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "record.h"
#include "sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char test_scf_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                                   "MCowBQYDK2VwAyEA5JTwR7XujpK/lVcEm8YZa92ZnkLVMXHIbVgJ/8Q8Mww=\n"
                                   "-----END PUBLIC KEY-----\n";

/* The pair of tests/data/keys/test-scf.*: a test key, nothing else. */
static const char test_scf_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIAkyUTBx3uWkF6ULyfdLQorXuTU5wtB8LyBztZaOw/wC\n"
    "-----END PRIVATE KEY-----\n";

static struct sig_key *pub, *priv;

static void check(enum err_status st, struct record *r, const struct err *e)
{
	/* Invariants: success yields a record, failure none, and one line. */
	if ((st == ERR_OK) != (r != NULL) || strchr(e->msg, '\n'))
		abort();
	if (r && (!record_kind_name(r->kind) || !record_producer_valid(r->producer) || !r->key))
		abort();
	record_free(r);
}

/* r was read: it must write (unless escaping grew a record read at the
 * size limit past it), and what it writes must verify and read back as
 * the same record. */
static void round_trip(struct record *r)
{
	struct buf out = BUF_INIT_CAP(RECORD_MAX_BYTES);
	struct record *back = NULL;
	struct err e;

	err_clear(&e);
	if (record_encode(r, priv, &out, &e) != ERR_OK) {
		if (e.status != ERR_PERM || !strstr(e.msg, "do not fit"))
			abort();
	} else if (record_decode(out.data, out.len, pub, &back, &e) != ERR_OK ||
	           back->kind != r->kind || back->seq != r->seq ||
	           strcmp(back->producer, r->producer) != 0 || strcmp(back->key, r->key) != 0) {
		abort();
	}
	record_free(back);
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record *r = NULL;
	enum err_status st;
	struct err e;

	if (!pub && sig_load_public_mem(test_scf_pub, strlen(test_scf_pub), &pub, &e) != ERR_OK)
		abort();
	if (!priv && sig_load_private_mem(test_scf_key, strlen(test_scf_key), &priv, &e) != ERR_OK)
		abort();
	err_clear(&e);
	st = record_decode((const char *)data, size, pub, &r, &e);
	check(st, r, &e);
	r = NULL;
	err_clear(&e);
	st = record_decode_unverified((const char *)data, size, &r, &e);
	if (r)
		round_trip(r);
	check(st, r, &e);
	return 0;
}
