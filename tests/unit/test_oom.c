/*
 * test_oom.c: fail the Nth allocation, for every N.
 *
 * Each operation below (decode, encode, a queue round trip, pipelined
 * group commits, the importer, the
 * mappings between the APIs' JSON and records, and the JSON documents of
 * `status --json` and `config check --json`) runs once per allocation
 * it makes, with exactly
 * that allocation failing: allocations from our own code (the test is
 * linked with -Wl,--wrap for malloc, calloc, realloc and strdup, which
 * reaches every call in spool/ and gateway/), from OpenSSL and from
 * cJSON (their allocator hooks).
 * A failed allocation must never crash, leak (LeakSanitizer checks under
 * the sanitizer build) or be reported as a permanent failure: a permanent
 * failure sends a good record to failed/, and running short of memory is
 * no reason for that.  So the only outcomes allowed are success and
 * ERR_TEMP, and after a failure the same work done again without one must
 * succeed with nothing lost and nothing doubled.
 *
 * libxml2's own allocations are left alone: the 2.9 series Debian 12
 * ships crashes inside its parser and its XSD validator when one fails
 * (xmlParserInputGrow after a failed xmlBufGrow, for one), which no
 * caller can prevent.  What libxml2 does report is caught by record.c's
 * guard and reported as temporary.
 *
 * Set SCFGATE_OOM_VERBOSE=1 to print, for each operation, how many
 * allocations it makes and how each injected failure was reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "cfg.h"
#include "example_cfg.h"
#include "map.h"
#include "record.h"
#include "seal.h"
#include "sig.h"
#include "spool.h"
#include "status.h"
#include "test_spool_util.h"

/* ---- the failing allocator ---------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static int armed;
static long counted, fail_at;
static int verbose;

/* 1 when this allocation is the one to fail. */
static int fail_now(void)
{
	return armed && ++counted == fail_at;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return __wrap_malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return __wrap_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static void install_allocators(void)
{
	cJSON_Hooks hooks = {__wrap_malloc, free};

	/* Must come before OpenSSL allocates anything. */
	if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free)) {
		fprintf(stderr, "test_oom: OpenSSL allocated before its hooks were set\n");
		exit(1);
	}
	cJSON_InitHooks(&hooks);
}

/*
 * Runs op with the 1st, 2nd, ... allocation failing until a run makes
 * fewer allocations than the one that was to fail.  op returns its status
 * and must clean up after itself; check (may be NULL) runs unarmed after
 * each op to see that nothing was lost.  Returns the number of runs.
 */
typedef enum err_status (*op_fn)(void *ctx, struct err *e);
typedef void (*check_fn)(void *ctx, enum err_status st);

static long every_failure(const char *name, op_fn op, check_fn check, void *ctx)
{
	long n;

	for (n = 1;; n++) {
		struct err e;
		enum err_status st;

		err_clear(&e);
		counted = 0;
		fail_at = n;
		armed = 1;
		st = op(ctx, &e);
		armed = 0;
		/* The run in which nothing failed must work, or the runs
		 * before it proved nothing. */
		if (counted < n && st != ERR_OK)
			fail_msg("%s: fails with no allocation failing: %s", name, e.msg);
		if (verbose && counted >= n)
			fprintf(stderr, "%s: allocation %ld failed -> %s %s\n", name, n,
			        st == ERR_OK     ? "ok"
			        : st == ERR_TEMP ? "temp"
			                         : "NOT TEMP",
			        e.msg);
		if (st != ERR_OK && st != ERR_TEMP)
			fail_msg("%s: allocation %ld of %ld failed and was reported as %s: %s",
			         name, n, counted, st == ERR_PERM ? "permanent" : "fatal", e.msg);
		if (check)
			check(ctx, st);
		if (counted < n)
			break;
	}
	if (verbose)
		fprintf(stderr, "%s: %ld allocations, each failed once\n", name, n - 1);
	return n - 1;
}

/* ---- fixtures: the checked-in samples and their keys -------------------- */

static struct sig_key *scf_key, *scf_pub, *oms_key, *oms_pub;
static const char *srcdir;

static const char *const samples[] = {
    "00000000000000000042-scf.xml", /* issue */
    "00000000000000000043-scf.xml", "00000000000000000044-scf.xml",
    "00000000000000000007-oms.xml", /* ack */
    "00000000000000000008-oms.xml",
};

static char *sample(const char *name, size_t *len)
{
	char path[1024];
	char *data;

	snprintf(path, sizeof(path), "%s/tests/data/records/%s", srcdir, name);
	data = tsu_read(path, len);
	if (!data)
		fail_msg("cannot read %s", path);
	return data;
}

static const struct sig_key *pub_for(const char *name)
{
	return strstr(name, "-scf.") ? scf_pub : oms_pub;
}

static const struct sig_key *priv_for(const char *name)
{
	return strstr(name, "-scf.") ? scf_key : oms_key;
}

static int setup(void **state)
{
	char dir[1024];

	(void)state;
	srcdir = getenv("SCFGATE_SOURCE_DIR");
	if (!srcdir)
		srcdir = ".";
	snprintf(dir, sizeof(dir), "%s/tests/data/keys", srcdir);
	scf_key = tsu_load_priv(dir, "test-scf");
	scf_pub = tsu_load_pub(dir, "test-scf");
	oms_key = tsu_load_priv(dir, "test-oms");
	oms_pub = tsu_load_pub(dir, "test-oms");
	/* One-time set-up (libxml2's tables, the embedded schema, OpenSSL's
	 * providers) happens here, unarmed: the test is about the steady
	 * state, where a failure is retried, not about start-up. */
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct buf out = BUF_INIT_CAP(RECORD_MAX_BYTES);
		struct record *r;
		struct err e;
		size_t len;
		char *bytes = sample(samples[i], &len);

		if (record_decode(bytes, len, pub_for(samples[i]), &r, &e) != ERR_OK ||
		    record_encode(r, priv_for(samples[i]), &out, &e) != ERR_OK)
			fail_msg("%s: %s", samples[i], e.msg);
		record_free(r);
		buf_release(&out);
		free(bytes);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sig_key_free(scf_key);
	sig_key_free(scf_pub);
	sig_key_free(oms_key);
	sig_key_free(oms_pub);
	return 0;
}

/* ---- decoding ----------------------------------------------------------- */

struct decode_ctx {
	const char *name;
	const char *bytes;
	size_t len;
};

static enum err_status decode_op(void *ctx, struct err *e)
{
	struct decode_ctx *c = ctx;
	struct record *r = NULL;
	enum err_status st = record_decode(c->bytes, c->len, pub_for(c->name), &r, e);

	if (st == ERR_OK && (r->seq == 0 || !r->key))
		st = err_set(e, ERR_PERM, "decoded record lacks its sequence or key");
	record_free(r);
	return st;
}

static void test_decode_every_failure(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct decode_ctx c = {samples[i], NULL, 0};
		char *bytes = sample(samples[i], &c.len);

		c.bytes = bytes;
		assert_true(every_failure(samples[i], decode_op, NULL, &c) > 10);
		free(bytes);
	}
}

/* ---- encoding ----------------------------------------------------------- */

struct encode_ctx {
	const char *name;
	struct record *r;
	const char *expect; /* the sample's bytes: encoding is deterministic */
	size_t expect_len;
	struct buf out;
};

static enum err_status encode_op(void *ctx, struct err *e)
{
	struct encode_ctx *c = ctx;

	buf_reset(&c->out);
	return record_encode(c->r, priv_for(c->name), &c->out, e);
}

static void encode_check(void *ctx, enum err_status st)
{
	struct encode_ctx *c = ctx;

	if (st != ERR_OK)
		return;
	/* A success despite the failed allocation must still be the record. */
	assert_int_equal(c->out.len, c->expect_len);
	assert_memory_equal(c->out.data, c->expect, c->expect_len);
}

static void test_encode_every_failure(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct encode_ctx c = {samples[i], NULL, NULL, 0, BUF_INIT_CAP(RECORD_MAX_BYTES)};
		char *bytes = sample(samples[i], &c.expect_len);
		struct err e;

		c.expect = bytes;
		assert_int_equal(record_decode(bytes, c.expect_len, pub_for(samples[i]), &c.r, &e),
		                 ERR_OK);
		assert_true(every_failure(samples[i], encode_op, encode_check, &c) > 10);
		record_free(c.r);
		buf_release(&c.out);
		free(bytes);
	}
}

/* ---- the queue: commit, claim, complete --------------------------------- */

/*
 * One record through a queue.  Each run commits the next record of the
 * test and claims and completes whatever is waiting; the check then
 * drains what a failure left behind, unarmed, and counts: every record
 * committed (acknowledged or left visible) ends in done/ exactly once and
 * nothing is ever in failed/.
 */
struct queue_ctx {
	char *root;
	struct record *rec; /* the record this run commits, made unarmed */
	int64_t runs;
	int64_t acked; /* commits that returned ERR_OK */
};

static enum err_status queue_op(void *ctx, struct err *e)
{
	struct queue_ctx *c = ctx;
	struct spool_consumer_opts o = {.producer = "scf"};
	struct spool_producer *p = NULL;
	struct spool_consumer *cons = NULL;
	struct spool_item *it;
	enum err_status st;

	st = spool_producer_open(&p, c->root, "outbound", "scf", scf_key, e);
	if (st != ERR_OK)
		goto out;
	st = spool_commit(p, c->rec, NULL, e);
	if (st != ERR_OK)
		goto out;
	c->acked++;
	st = spool_consumer_open(&cons, c->root, "outbound", scf_pub, &o, e);
	if (st != ERR_OK)
		goto out;
	while ((st = spool_claim(cons, &it, e)) == ERR_OK) {
		st = spool_complete(cons, it, e);
		if (st != ERR_OK)
			break;
	}
	if (st == ERR_TEMP) {
		char dir[1200];

		/* Claim says ERR_TEMP for "nothing left" too. */
		snprintf(dir, sizeof(dir), "%s/outbound/new", c->root);
		if (tsu_count(dir) == 0)
			st = ERR_OK;
	}
out:
	spool_consumer_free(cons);
	spool_producer_free(p);
	return st;
}

static void queue_check(void *ctx, enum err_status st)
{
	struct queue_ctx *c = ctx;
	struct spool_consumer_opts o = {.producer = "scf"};
	struct spool_consumer *cons;
	struct spool_item *it;
	char dir[1200];
	struct err e;

	(void)st;
	c->runs++;
	record_free(c->rec);
	c->rec = tsu_close_record(c->runs + 1, 100);
	/* Whatever the failure left (cur/ after a failed complete, new/
	 * after a failed claim) is recovered and finished now. */
	assert_int_equal(spool_consumer_open(&cons, c->root, "outbound", scf_pub, &o, &e), ERR_OK);
	while (spool_claim(cons, &it, &e) == ERR_OK)
		assert_int_equal(spool_complete(cons, it, &e), ERR_OK);
	spool_consumer_free(cons);
	snprintf(dir, sizeof(dir), "%s/outbound/failed", c->root);
	assert_int_equal(tsu_count(dir), 0);
	snprintf(dir, sizeof(dir), "%s/outbound/new", c->root);
	assert_int_equal(tsu_count(dir), 0);
	snprintf(dir, sizeof(dir), "%s/outbound/done", c->root);
	/* Every acknowledged commit is there; a commit that failed after
	 * its rename may be there too; never more than one per run. */
	assert_true((int64_t)tsu_count(dir) >= c->acked);
	assert_true((int64_t)tsu_count(dir) <= c->runs);
}

static void test_queue_every_failure(void **state)
{
	struct queue_ctx c = {tsu_tmpdir("oom"), tsu_close_record(1, 100), 0, 0};

	(void)state;
	assert_true(every_failure("commit+claim+complete", queue_op, queue_check, &c) > 10);
	record_free(c.rec);
	tsu_rmrf(c.root);
	free(c.root);
}

/* ---- the pipeline: two groups started, then waited for ------------------ */

/*
 * Each run starts two pipelined groups of three records and waits for
 * what was started.  Groups that small are staged by the calling thread
 * alone, and the flusher allocates nothing, so every run counts the same
 * allocations.  No allocation is made between a group's renames, so a
 * group is visible either whole or not at all: the check counts exactly
 * the records reported durable in new/, and nothing in tmp/.
 */
struct pipe_ctx {
	char *root;
	struct record *recs[6]; /* made unarmed before each run */
	int64_t acked;          /* records reported durable by a wait */
};

static enum err_status pipe_op(void *ctx, struct err *e)
{
	struct pipe_ctx *c = ctx;
	struct spool_producer *p = NULL;
	enum err_status st;
	int started = 0;

	st = spool_producer_open(&p, c->root, "outbound", "scf", scf_key, e);
	for (int g = 0; g < 2 && st == ERR_OK; g++) {
		st = spool_commit_group_start(p, c->recs + (size_t)3 * g, 3, e);
		started += st == ERR_OK;
	}
	for (; started > 0; started--) {
		struct err we;
		size_t done;
		enum err_status ws = spool_commit_group_wait(p, &done, &we);

		c->acked += (int64_t)done;
		if (ws != ERR_OK && st == ERR_OK) {
			st = ws;
			*e = we;
		}
	}
	spool_producer_free(p);
	return st;
}

static void pipe_new_records(struct pipe_ctx *c)
{
	for (int i = 0; i < 6; i++) {
		record_free(c->recs[i]);
		c->recs[i] = tsu_close_record(c->acked * 10 + i + 1, 100);
	}
}

static void pipe_check(void *ctx, enum err_status st)
{
	struct pipe_ctx *c = ctx;
	char dir[1200];

	(void)st;
	snprintf(dir, sizeof(dir), "%s/outbound/new", c->root);
	assert_int_equal((int64_t)tsu_count(dir), c->acked);
	snprintf(dir, sizeof(dir), "%s/outbound/tmp", c->root);
	assert_int_equal(tsu_count(dir), 0);
	pipe_new_records(c);
}

static void test_pipeline_every_failure(void **state)
{
	struct pipe_ctx c = {.root = tsu_tmpdir("oom")};

	(void)state;
	pipe_new_records(&c);
	assert_true(every_failure("pipelined groups", pipe_op, pipe_check, &c) > 10);
	for (int i = 0; i < 6; i++)
		record_free(c.recs[i]);
	tsu_rmrf(c.root);
	free(c.root);
}

/* ---- the importer: records another spool signed ------------------------ */

/*
 * Each run stages four record files from another spool (the same four
 * every time) and flushes them.  The first run that gets through imports
 * them; the runs after it find them present and compare their bytes.
 * Either way new/ holds each exactly once and tmp/ nothing.
 */
struct import_ctx {
	char *root;
	char *data[4];
	size_t len[4];
	char names[4][RECORD_NAME_MAX];
};

static enum err_status import_op(void *ctx, struct err *e)
{
	struct import_ctx *c = ctx;
	struct spool_importer *im = NULL;
	enum err_status st;
	size_t done, dups;
	int dup;

	st = spool_importer_open(&im, c->root, "inbound", e);
	for (int i = 0; i < 4 && st == ERR_OK; i++)
		st = spool_importer_add(im, c->names[i], c->data[i], c->len[i], &dup, e);
	if (st == ERR_OK)
		st = spool_importer_flush(im, &done, &dups, e);
	spool_importer_free(im);
	return st;
}

static void import_check(void *ctx, enum err_status st)
{
	struct import_ctx *c = ctx;
	char dir[1200];
	size_t n;

	snprintf(dir, sizeof(dir), "%s/inbound/new", c->root);
	n = tsu_count(dir);
	/* a run that reports success has all four in; one that failed has
	 * all or none (a flush publishes the whole batch or nothing here) */
	if (st == ERR_OK)
		assert_int_equal(n, 4);
	else
		assert_true(n == 0 || n == 4);
	snprintf(dir, sizeof(dir), "%s/inbound/tmp", c->root);
	assert_int_equal(tsu_count(dir), 0);
}

static void test_import_every_failure(void **state)
{
	struct import_ctx c = {.root = tsu_tmpdir("oom")};
	char *src = tsu_tmpdir("oom-src"), path[1200];
	struct spool_producer *p;
	struct err e;

	(void)state;
	assert_int_equal(spool_producer_open(&p, src, "inbound", "oms", oms_key, &e), ERR_OK);
	for (int i = 0; i < 4; i++) {
		struct record *r = tsu_close_record(40 + i, 50);

		assert_int_equal(spool_commit(p, r, NULL, &e), ERR_OK);
		record_file_name(c.names[i], r->seq, "oms");
		record_free(r);
		snprintf(path, sizeof(path), "%s/inbound/new/%s", src, c.names[i]);
		c.data[i] = tsu_read(path, &c.len[i]);
	}
	spool_producer_free(p);
	assert_true(every_failure("importer", import_op, import_check, &c) >= 2);
	snprintf(path, sizeof(path), "%s/inbound/new", c.root);
	assert_int_equal(tsu_count(path), 4);
	/* Again, with all four present: now each add reads a file back. */
	assert_true(every_failure("importer, all present", import_op, import_check, &c) >= 4);
	assert_int_equal(tsu_count(path), 4);
	for (int i = 0; i < 4; i++)
		free(c.data[i]);
	tsu_rmrf(c.root);
	tsu_rmrf(src);
	free(c.root);
	free(src);
}

/* ---- the mappings: API JSON <-> records --------------------------------- */

/*
 * A mapping that fails permanently makes the half skip or quarantine what
 * it was mapping: an SCF issue that is never forwarded, a closing that is
 * never reported.  Running short of memory must not do that.
 */
struct map_ctx {
	struct cfg *cfg;
	cJSON *issue;   /* an SCF issue object, parsed unarmed */
	cJSON *cg_row;  /* a Cartegraph request row (closed), as the poll reads it */
	cJSON *cg_made; /* the row of a Cartegraph create reply */
};

static enum err_status scf_issue_op(void *ctx, struct err *e)
{
	struct map_ctx *c = ctx;
	struct buf body = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct record *r = NULL;
	enum err_status st = map_scf_issue_cjson(c->issue, c->cfg, &r, e);

	/* then what the OMS half makes of it: the create body */
	if (st == ERR_OK)
		st = map_cg_create_body(c->cfg, &r->u.issue, &body, e);
	buf_release(&body);
	record_free(r);
	return st;
}

/* The replies are parsed unarmed: the halves take a reply that does not
 * parse as temporary (cJSON cannot say whether memory or the text was
 * to blame), so what matters is the mapping of the parsed rows. */
static enum err_status cg_reply_op(void *ctx, struct err *e)
{
	struct map_ctx *c = ctx;
	const struct cfg_request_type *rt = cfg_request_type(c->cfg, 14550);
	struct map_cg_request rq, made;
	struct record *ack = NULL, *close = NULL;
	enum err_status st;

	memset(&made, 0, sizeof(made));
	st = map_cg_request_cjson(c->cfg, c->cg_row, &rq, e);
	if (st != ERR_OK)
		return st;
	st = map_close_record(387246, &rq, rt, NULL, &close, e);
	if (st == ERR_OK)
		st = map_cg_request_cjson(c->cfg, c->cg_made, &made, e);
	if (st == ERR_OK)
		st = map_ack_record(387246, &made, rt, "2026-11-27T10:00:00Z", &ack, e);
	record_free(ack);
	record_free(close);
	map_cg_request_clear(&made);
	map_cg_request_clear(&rq);
	return st;
}

static int map_setup(void **state)
{
	static struct map_ctx c;
	static char row[] = "{\"Oid\":123456,\"IDField\":\"REQ-2026-0042\","
	                    "\"StatusField\":\"Closed\",\"SeeClickFixIDField\":\"387246\","
	                    "\"cgLastModifiedField\":\"2026-02-10T11:03:43.1234567\"}";
	static char made[] = "{\"Oid\":9,\"IDField\":\"R-9\"}";
	char path[1024];
	size_t len;
	char *json;

	snprintf(path, sizeof(path), "%s/tests/data/scf/real_org_details_2018_387246.json", srcdir);
	json = tsu_read(path, &len);
	if (!json)
		fail_msg("map fixtures: cannot read %s", path);
	c.cfg = example_cfg_load(CFG_HALF_OMS);
	c.issue = cJSON_ParseWithLength(json, len);
	assert_non_null(c.issue);
	c.cg_row = cJSON_Parse(row);
	c.cg_made = cJSON_Parse(made);
	assert_non_null(c.cg_row);
	assert_non_null(c.cg_made);
	free(json);
	*state = &c;
	return 0;
}

static int map_teardown(void **state)
{
	struct map_ctx *c = *state;

	cJSON_Delete(c->issue);
	cJSON_Delete(c->cg_row);
	cJSON_Delete(c->cg_made);
	cfg_free(c->cfg);
	return 0;
}

static void test_scf_issue_every_failure(void **state)
{
	struct map_ctx *c = *state;
	struct record *r = NULL;
	struct err e;

	/* unarmed, the sample maps: the failures below are the only cause */
	assert_int_equal(map_scf_issue_cjson(c->issue, c->cfg, &r, &e), ERR_OK);
	record_free(r);
	assert_true(every_failure("SCF issue -> record -> create body", scf_issue_op, NULL, c) >
	            10);
}

static void test_cg_reply_every_failure(void **state)
{
	struct map_ctx *c = *state;
	struct err e;

	assert_int_equal(cg_reply_op(c, &e), ERR_OK);
	assert_true(every_failure("Cartegraph row -> close, reply -> ack", cg_reply_op, NULL, c) >
	            10);
}

/* ---- encrypted bundles: seal and open -------------------------------------- */

/* A fresh ephemeral key, two 64 KiB chunks and a last one, sealed and
 * opened again: a failed allocation may only make it temporary, and a
 * round trip that succeeds gives the bytes back. */
struct seal_ctx {
	struct seal_key *key;
	unsigned char *plain, *sealed, *back;
	size_t len, slen, blen, scap;
};

static enum err_status seal_sink(const void *d, size_t n, void *ctx, struct err *e)
{
	struct seal_ctx *c = ctx;

	if (c->slen + n > c->scap)
		return err_set(e, ERR_PERM, "sealed output larger than expected");
	memcpy(c->sealed + c->slen, d, n);
	c->slen += n;
	return ERR_OK;
}

static enum err_status open_sink(const void *d, size_t n, void *ctx, struct err *e)
{
	struct seal_ctx *c = ctx;

	if (c->blen + n > c->len)
		return err_set(e, ERR_PERM, "opened output larger than the plaintext");
	memcpy(c->back + c->blen, d, n);
	c->blen += n;
	return ERR_OK;
}

static enum err_status seal_op(void *ctx, struct err *e)
{
	struct seal_ctx *c = ctx;
	struct seal_writer *w = NULL;
	struct seal_reader *r = NULL;
	enum err_status st;

	c->slen = c->blen = 0;
	st = seal_writer_open(&w, c->key, seal_sink, c, e);
	if (st == ERR_OK)
		st = seal_writer_write(w, c->plain, c->len, e);
	if (st == ERR_OK)
		st = seal_writer_finish(w, e);
	seal_writer_free(w);
	if (st == ERR_OK)
		st = seal_reader_open(&r, c->key, open_sink, c, e);
	if (st == ERR_OK)
		st = seal_reader_feed(r, c->sealed, c->slen, e);
	if (st == ERR_OK)
		st = seal_reader_finish(r, e);
	seal_reader_free(r);
	if (st == ERR_OK && (c->blen != c->len || memcmp(c->back, c->plain, c->len) != 0))
		st = err_set(e, ERR_PERM, "the round trip changed the bytes");
	return st;
}

static void test_seal_every_failure(void **state)
{
	struct seal_ctx c = {0};
	char path[1024];
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/seal/recipient.x25519.key", srcdir);
	{
		/* Read as text: a checkout does not keep the key file's mode. */
		size_t n;
		char *pem = tsu_read(path, &n);

		if (!pem)
			fail_msg("cannot read %s", path);
		if (seal_load_private_mem(pem, n, &c.key, &e) != ERR_OK)
			fail_msg("%s", e.msg);
		free(pem);
	}
	c.len = 2 * 65536 + 1000;
	c.scap = SEAL_HEADER_LEN + c.len + (size_t)3 * SEAL_TAG_LEN;
	c.plain = malloc(c.len);
	c.sealed = malloc(c.scap);
	c.back = malloc(c.len);
	assert_non_null(c.plain);
	assert_non_null(c.sealed);
	assert_non_null(c.back);
	for (size_t i = 0; i < c.len; i++)
		c.plain[i] = (unsigned char)(i * 7);
	assert_true(every_failure("seal", seal_op, NULL, &c) > 5);
	seal_key_free(c.key);
	free(c.plain);
	free(c.sealed);
	free(c.back);
}

/* ---- JSON output: whole or not at all ------------------------------------ */

/* `scfgate status --json` and `config check --json`: a failed allocation
 * may only make the render fail (temporary); a document it does return
 * must be the one rendered with no failure, member for member. */
struct render_ctx {
	const struct cfg *cfg;
	const struct status_report *report;
	const char *want_status, *want_config;
};

static enum err_status render_op(void *ctx, struct err *e)
{
	struct render_ctx *c = ctx;
	struct buf status = BUF_INIT_CAP(BUF_DEFAULT_CAP), config = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	enum err_status st = status_render_json(c->report, &status);

	if (st == ERR_OK)
		st = cfg_describe_json(c->cfg, &config);
	if (st == ERR_OK && (strcmp(buf_str(&status), c->want_status) != 0 ||
	                     strcmp(buf_str(&config), c->want_config) != 0))
		st = err_set(e, ERR_PERM, "rendered an incomplete document:\n%s%s",
		             buf_str(&status), buf_str(&config));
	else if (st != ERR_OK)
		err_set(e, st, "render failed");
	buf_release(&status);
	buf_release(&config);
	return st;
}

static void test_json_output_every_failure(void **state)
{
	struct cfg *cfg = example_cfg_load(CFG_HALF_OMS);
	char *root = tsu_tmpdir("oomstatus"), path[4200];
	struct buf want_status = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct buf want_config = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct status_report *report = NULL;
	struct render_ctx c;
	struct err e;

	(void)state;
	/* a failed record with its reason, so the lists have members too */
	snprintf(path, sizeof(path), "%s/outbound", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/outbound/failed", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/outbound/failed/00000000000000000042-scf.xml", root);
	tsu_write(path, "<x/>", 4);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ".why");
	tsu_write(path, "bad signature\n", 14);
	free(cfg->spool.root);
	cfg->spool.root = strdup(root);
	assert_int_equal(status_collect(cfg, 1800000000, &report, &e), ERR_OK);
	assert_int_equal(status_render_json(report, &want_status), ERR_OK);
	assert_int_equal(cfg_describe_json(cfg, &want_config), ERR_OK);
	assert_non_null(strstr(buf_str(&want_status), "\"why\":\"bad signature\""));
	assert_non_null(strstr(buf_str(&want_status), "\"attention\":true"));
	assert_non_null(strstr(buf_str(&want_config), "\"request_types\""));
	c = (struct render_ctx){cfg, report, buf_str(&want_status), buf_str(&want_config)};
	assert_true(every_failure("status and config JSON", render_op, NULL, &c) > 50);
	status_free(report);
	buf_release(&want_status);
	buf_release(&want_config);
	cfg_free(cfg);
	tsu_rmrf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_every_failure),
	    cmocka_unit_test(test_encode_every_failure),
	    cmocka_unit_test(test_queue_every_failure),
	    cmocka_unit_test(test_pipeline_every_failure),
	    cmocka_unit_test(test_import_every_failure),
	    cmocka_unit_test_setup_teardown(test_scf_issue_every_failure, map_setup, map_teardown),
	    cmocka_unit_test_setup_teardown(test_cg_reply_every_failure, map_setup, map_teardown),
	    cmocka_unit_test(test_json_output_every_failure),
	    cmocka_unit_test(test_seal_every_failure),
	};

	install_allocators();
	verbose = getenv("SCFGATE_OOM_VERBOSE") != NULL;
	return cmocka_run_group_tests(tests, setup, teardown);
}
