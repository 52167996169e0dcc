/*
 * spool_demo.c: the two ends of a spool round trip, for tools/demo.sh.
 *
 *   spool-demo put  ROOT QUEUE PRODUCER KEYFILE COUNT [GROUP]
 *       commit COUNT sample records (ack on inbound, close otherwise),
 *       one spool_commit each; GROUP > 1 commits them in groups of GROUP
 *       (at most 64) with spool_commit_group instead
 *   spool-demo take ROOT QUEUE PUBFILE
 *       claim every record in order (verifying its signature), print one
 *       line per record, complete it; report what could not be claimed
 *   spool-demo sign KEYFILE PRODUCER SEQ IN OUT
 *       the record in IN (signature not checked) as PRODUCER's SEQ, signed
 *       with KEYFILE, into OUT: what a host holding that key can forge
 *       (tests/e2e/hostile.sh)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "spool.h"

static struct record *sample(const char *queue, int i)
{
	int inbound = strcmp(queue, "inbound") == 0;
	struct record *r = record_new(inbound ? RECORD_ACK : RECORD_CLOSE);
	char key[64], rid[32];

	if (!r)
		return NULL;
	snprintf(key, sizeof(key), "%s/%d", inbound ? "ack" : "close", 4000 + i);
	snprintf(rid, sizeof(rid), "SR-%05d", 100 + i);
	r->key = strdup(key);
	if (inbound) {
		r->u.ack.issue_id = 4000 + i;
		r->u.ack.oid = 90000 + i;
		r->u.ack.request_id = strdup(rid);
		r->u.ack.request_type_id = 12;
		r->u.ack.request_type_title = strdup("Pothole");
		r->u.ack.accepted_at = strdup("2026-11-27T12:00:00Z");
	} else {
		r->u.close.issue_id = 4000 + i;
		r->u.close.oid = 90000 + i;
		r->u.close.request_id = strdup(rid);
		r->u.close.request_type_id = 12;
		r->u.close.request_type_title = strdup("Pothole");
		r->u.close.oms_status = strdup("Closed");
		r->u.close.closed_at = strdup("2026-11-27T15:30:00Z");
	}
	return r;
}

static int put(char **argv, int group)
{
	int count = (int)strtol(argv[5], NULL, 10);
	struct spool_producer *p;
	struct sig_key *key;
	struct err e;

	if (sig_load_private(argv[4], &key, &e) != ERR_OK ||
	    spool_producer_open(&p, argv[1], argv[2], argv[3], key, &e) != ERR_OK) {
		fprintf(stderr, "spool-demo: %s\n", e.msg);
		return 1;
	}
	for (int i = 0; i < count;) {
		struct record *recs[64];
		int k = group > 1 ? (count - i < group ? count - i : group) : 1;
		size_t done = 0;
		if (k > 64)
			k = 64;
		enum err_status st;

		for (int j = 0; j < k; j++)
			recs[j] = sample(argv[2], i + j);
		/* GROUP 1 is single commits (spool_commit), not groups of one:
		 * what the halves do and what spool_bench times per process. */
		if (group > 1)
			st = spool_commit_group(p, recs, (size_t)k, &done, &e);
		else
			st = spool_commit(p, recs[0], NULL, &e);
		if (st != ERR_OK) {
			fprintf(stderr, "spool-demo: commit: %s\n", e.msg);
			return 1;
		}
		for (int j = 0; j < k; j++) {
			printf("committed %s seq %llu (%s)\n", argv[3],
			       (unsigned long long)recs[j]->seq, recs[j]->key);
			record_free(recs[j]);
		}
		i += k;
	}
	spool_producer_free(p);
	sig_key_free(key);
	return 0;
}

static int take(char **argv)
{
	struct spool_consumer_opts o = {.grace_seconds = 1};
	struct spool_consumer *c;
	struct spool_item *it;
	struct sig_key *pub;
	struct err e;
	int n = 0;

	if (sig_load_public(argv[3], &pub, &e) != ERR_OK ||
	    spool_consumer_open(&c, argv[1], argv[2], pub, &o, &e) != ERR_OK) {
		fprintf(stderr, "spool-demo: %s\n", e.msg);
		return 1;
	}
	while (spool_claim(c, &it, &e) == ERR_OK) {
		printf("applied %s seq %llu %s (signature ok)\n", it->rec->producer,
		       (unsigned long long)it->rec->seq, it->rec->key);
		if (spool_complete(c, it, &e) != ERR_OK) {
			fprintf(stderr, "spool-demo: %s\n", e.msg);
			return 1;
		}
		n++;
	}
	printf("consumed %d records; then: %s\n", n, e.msg);
	spool_consumer_free(c);
	sig_key_free(pub);
	return 0;
}

static int sign(char **argv)
{
	struct buf in, out;
	struct record *r = NULL;
	struct sig_key *key = NULL;
	struct err e;
	int rc = 1;
	FILE *f;

	buf_init(&in, RECORD_MAX_BYTES);
	buf_init(&out, RECORD_MAX_BYTES);
	if (sig_load_private(argv[0], &key, &e) != ERR_OK)
		goto fail;
	if (buf_read_file(&in, argv[3], &e) != ERR_OK)
		goto fail;
	if (record_decode_unverified(in.data, in.len, &r, &e) != ERR_OK)
		goto fail;
	snprintf(r->producer, sizeof(r->producer), "%s", argv[1]);
	r->seq = strtoull(argv[2], NULL, 10);
	if (record_encode(r, key, &out, &e) != ERR_OK)
		goto fail;
	f = fopen(argv[4], "wb");
	if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
		err_set(&e, ERR_TEMP, "cannot write %s", argv[4]);
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "spool-demo sign: %s\n", e.msg);
out:
	record_free(r);
	sig_key_free(key);
	buf_release(&in);
	buf_release(&out);
	return rc;
}

/* bundle ROOT QUEUE KEYFILE OUT: pack new/ as it is, unread, signed with
 * the key: what a host that holds the key can forge (scfgate's own export
 * refuses what is not a record). */
static int bundle(char **argv)
{
	struct bundle_export_opts o = {argv[0], argv[1], SPOOL_NEW, 0,    0,    "forged",
	                               NULL,    NULL,    NULL,      NULL, NULL, 1};
	struct sig_key *key = NULL;
	struct err e;
	int rc = 1;

	if (sig_load_private(argv[2], &key, &e) == ERR_OK &&
	    bundle_export(&o, key, argv[3], NULL, &e) == ERR_OK)
		rc = 0;
	else
		fprintf(stderr, "spool-demo bundle: %s\n", e.msg);
	sig_key_free(key);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 7 && strcmp(argv[1], "put") == 0)
		return put(argv + 1, argc > 7 ? (int)strtol(argv[7], NULL, 10) : 1);
	if (argc == 5 && strcmp(argv[1], "take") == 0)
		return take(argv + 1);
	if (argc == 7 && strcmp(argv[1], "sign") == 0)
		return sign(argv + 2);
	if (argc == 6 && strcmp(argv[1], "bundle") == 0)
		return bundle(argv + 2);
	fprintf(stderr, "usage: spool-demo put ROOT QUEUE PRODUCER KEYFILE COUNT [GROUP]\n"
	                "       spool-demo take ROOT QUEUE PUBFILE\n"
	                "       spool-demo sign KEYFILE PRODUCER SEQ IN OUT\n"
	                "       spool-demo bundle ROOT QUEUE KEYFILE OUT\n");
	return 2;
}
