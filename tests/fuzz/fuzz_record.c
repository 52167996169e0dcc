/*
 * fuzz_record.c: record_decode on arbitrary bytes, with the test public
 * key of the scf half (tests/data/keys/test-scf.pub) so valid seeds get
 * all the way through signature verification and struct filling.  The
 * unverified path runs too, so mutated records that fail the signature
 * still exercise the struct filling.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char test_scf_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                                   "MCowBQYDK2VwAyEA5JTwR7XujpK/lVcEm8YZa92ZnkLVMXHIbVgJ/8Q8Mww=\n"
                                   "-----END PUBLIC KEY-----\n";

static struct sig_key *pub;

static void check(enum err_status st, struct record *r, const struct err *e)
{
	/* Invariants: success yields a record, failure none, and one line. */
	if ((st == ERR_OK) != (r != NULL) || strchr(e->msg, '\n'))
		abort();
	if (r && (!record_kind_name(r->kind) || !record_producer_valid(r->producer) || !r->key))
		abort();
	record_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record *r = NULL;
	enum err_status st;
	struct err e;

	if (!pub && sig_load_public_mem(test_scf_pub, strlen(test_scf_pub), &pub, &e) != ERR_OK)
		abort();
	err_clear(&e);
	st = record_decode((const char *)data, size, pub, &r, &e);
	check(st, r, &e);
	r = NULL;
	err_clear(&e);
	st = record_decode_unverified((const char *)data, size, &r, &e);
	check(st, r, &e);
	return 0;
}
