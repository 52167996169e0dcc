/*
 * fuzz_bundle.c: the bundle reader (what import, verify and prune run
 * first) on arbitrary bytes, entirely in memory, with the test key of the
 * oms half (tests/data/keys/test-oms.pub) for both the manifest and the
 * records, so the seed bundles get through every check.  Small limits
 * keep each run cheap.  Invariants: a failure carries one line, a success
 * fills the info consistently.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char test_oms_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                                   "MCowBQYDK2VwAyEAC/BbngyyFrXM3J/ccrODr30grbi4qOpi3IAI2fNGvCU=\n"
                                   "-----END PUBLIC KEY-----\n";

static struct sig_key *pub;

static enum err_status on_entry(const struct bundle_entry *ent, void *ctx, struct err *e)
{
	size_t *n = ctx;

	(void)e;
	if (!ent->name || strlen(ent->sha256) != 64 || (ent->size && !ent->data))
		abort();
	(*n)++;
	return ERR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_limits lim = {65536, 64, (uint64_t)1024 * 1024};
	struct bundle_read_opts o = {NULL, NULL, &lim, on_entry, NULL};
	struct bundle_info info;
	enum err_status st;
	struct err e;
	size_t n = 0;

	if (!pub && sig_load_public_mem(test_oms_pub, strlen(test_oms_pub), &pub, &e) != ERR_OK)
		abort();
	o.pub = pub;
	o.record_pub = pub;
	o.ctx = &n;
	err_clear(&e);
	st = bundle_read_mem(data, size, &o, &info, &e);
	if (st != ERR_OK && (!e.msg[0] || strchr(e.msg, '\n')))
		abort();
	if (st == ERR_OK) {
		if (info.n_entries != n || !info.signature_checked)
			abort();
		bundle_info_release(&info);
	}
	/* Listing without a key walks the same code minus the signature. */
	o.pub = NULL;
	o.record_pub = NULL;
	n = 0;
	err_clear(&e);
	st = bundle_read_mem(data, size, &o, &info, &e);
	if (st != ERR_OK && (!e.msg[0] || strchr(e.msg, '\n')))
		abort();
	if (st == ERR_OK)
		bundle_info_release(&info);
	return 0;
}
