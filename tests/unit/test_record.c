/*
 * test_record.c: spool records end to end with the real XSD, real libxml2
 * and real Ed25519 keys (tests/data/keys): round trips of every kind, the
 * checked-in samples (tests/data/records) byte for byte, and every kind of
 * corrupt or hostile input the decoder must refuse with a clear reason.
 *
 * SCFGATE_WRITE_SAMPLES=1 rewrites tests/data/records/ from the samples
 * below (only needed when the format changes on purpose).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/globals.h>
#include <libxml/parser.h>

#include "buf.h"
#include "record.h"
#include "sig.h"

static struct sig_key *scf_key, *scf_pub, *oms_key, *oms_pub;
static const char *srcdir;

static void data_path(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/tests/data/%s", srcdir, rel);
}

static struct sig_key *load(const char *rel, int private)
{
	char path[1024];
	struct sig_key *k = NULL;
	struct err e;

	data_path(path, sizeof(path), rel);
	if ((private ? sig_load_private(path, &k, &e) : sig_load_public(path, &k, &e)) != ERR_OK) {
		fprintf(stderr, "%s\n", e.msg);
		return NULL;
	}
	return k;
}

static int setup(void **state)
{
	srcdir = getenv("SCFGATE_SOURCE_DIR");
	if (!srcdir)
		srcdir = ".";
	scf_key = load("keys/test-scf.key", 1);
	scf_pub = load("keys/test-scf.pub", 0);
	oms_key = load("keys/test-oms.key", 1);
	oms_pub = load("keys/test-oms.pub", 0);
	return scf_key && scf_pub && oms_key && oms_pub ? 0 : -1;
}

static int teardown(void **state)
{
	sig_key_free(scf_key);
	sig_key_free(scf_pub);
	sig_key_free(oms_key);
	sig_key_free(oms_pub);
	return 0;
}

/* ---- sample records -------------------------------------------------------- */

static char *xdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static void envelope(struct record *r, const char *producer, uint64_t seq, const char *key)
{
	snprintf(r->producer, sizeof(r->producer), "%s", producer);
	r->seq = seq;
	snprintf(r->created, sizeof(r->created), "2026-11-27T15:04:05Z");
	r->key = xdup(key);
}

static void fill_comment(struct record_comment *c, int full)
{
	c->issue_id = 4512873;
	c->comment_id = xdup("88120345");
	c->created_at = xdup("2026-11-26T09:12:44-05:00");
	c->text = xdup("Still there this morning, cars swerving around it.");
	if (full) {
		c->commenter_id = 99021;
		c->commenter_name = xdup("Dana Ruiz");
		c->media_url =
		    xdup("https://seeclickfix.com/files/comment_images/0001/2345/photo.jpg");
		c->source_json = xdup("{\"comment\":\"Still there this morning\",\"id\":88120345}");
	}
}

static void fill_entry(struct record_census_entry *ce, int64_t id, int full)
{
	ce->issue_id = id;
	ce->status = xdup(id % 4 == 0 ? "Closed" : id % 4 == 1 ? "Open" : "Acknowledged");
	ce->request_type_id = 7153;
	ce->updated_at = xdup("2026-11-26T09:12:44-05:00");
	ce->lat = 41.30713;
	ce->lng = -72.92486;
	if (full) {
		char url[96];

		snprintf(url, sizeof(url), "https://seeclickfix.com/issues/%lld", (long long)id);
		ce->html_url = xdup(url);
		ce->generation = id % 2 ? 0 : 2;
		ce->sent = 1;
		ce->acknowledged = id % 4 != 1;
		ce->closed = id % 4 == 0;
	}
}

static void fill_census(struct record *r, size_t n, int full)
{
	struct record_census *c = &r->u.census;

	envelope(r, "scf", 45, "census/scf-20261127T150405Z/1");
	c->census_id = xdup("scf-20261127T150405Z");
	c->part = 1;
	c->last = 1;
	c->window_from = xdup("2025-11-27T15:04:05Z");
	c->window_to = xdup("2026-11-27T15:04:05Z");
	c->n_request_types = 2;
	c->request_type_ids = calloc(2, sizeof(*c->request_type_ids));
	assert_non_null(c->request_type_ids);
	c->request_type_ids[0] = 7153;
	c->request_type_ids[1] = 7154;
	if (!n)
		return;
	c->n_entries = n;
	c->entries = calloc(n, sizeof(*c->entries));
	assert_non_null(c->entries);
	for (size_t i = 0; i < n; i++)
		fill_entry(&c->entries[i], 4512873 + (int64_t)i, full);
}

static void fill_resend(struct record *r, size_t n)
{
	struct record_resend *rs = &r->u.resend;

	envelope(r, "oms", 9, "resend/scf-20261127T150405Z/1");
	rs->census_id = xdup("scf-20261127T150405Z");
	rs->part = 1;
	rs->n_issues = n;
	rs->issue_ids = calloc(n, sizeof(*rs->issue_ids));
	assert_non_null(rs->issue_ids);
	for (size_t i = 0; i < n; i++)
		rs->issue_ids[i] = 4512873 + (int64_t)i;
}

static void fill_reconcile(struct record *r, int full)
{
	struct record_reconcile *rc = &r->u.reconcile;
	struct record_finding *f;

	envelope(r, "oms", 10, "reconcile/scf-20261127T150405Z/1");
	rc->census_id = xdup("scf-20261127T150405Z");
	rc->part = 1;
	rc->last = 1;
	rc->in_sync = 1200;
	if (!full)
		return;
	rc->missing = 1;
	rc->missed_close = 1;
	rc->orphan = 1;
	rc->n_findings = 3;
	rc->findings = calloc(3, sizeof(*rc->findings));
	assert_non_null(rc->findings);
	f = rc->findings;
	f[0].cls = xdup("missing");
	f[0].issue_id = 4512873;
	f[0].scf_status = xdup("Open");
	f[0].detail = xdup("no request with this SeeClickFix id");
	f[1].cls = xdup("missed-close");
	f[1].issue_id = 4512874;
	f[1].scf_status = xdup("Acknowledged");
	f[1].oid = 100234;
	f[1].request_id = xdup("REQ-2026-00413");
	f[1].oms_status = xdup("Closed");
	f[1].detail = xdup("request Closed, issue Acknowledged");
	f[2].cls = xdup("orphan");
	f[2].issue_id = 4400001;
	f[2].oid = 100001;
	f[2].request_id = xdup("REQ-2025-00001");
	f[2].oms_status = xdup("Open");
	f[2].detail = xdup("not in the census");
}

static struct record *sample(enum record_kind kind, int full)
{
	struct record *r = record_new(kind);
	struct record_issue *is;

	assert_non_null(r);
	switch (kind) {
	case RECORD_ISSUE:
		envelope(r, "scf", 42, "issue/4512873");
		is = &r->u.issue;
		is->issue_id = 4512873;
		is->request_type_id = 7153;
		is->request_type_title = xdup("Pothole");
		is->status = xdup("Open");
		is->summary = xdup("Pothole");
		is->lat = 41.30713;
		is->lng = -72.92486;
		is->created_at = xdup("2026-11-25T18:30:02-05:00");
		is->updated_at = xdup("2026-11-26T09:12:44-05:00");
		if (!full)
			break;
		is->description = xdup("Deep pothole in the right lane, about 30 cm across.");
		is->address = xdup("165 Church St New Haven, CT 06510, USA");
		is->reporter_id = 99021;
		is->reporter_name = xdup("Dana Ruiz");
		is->html_url = xdup("https://seeclickfix.com/issues/4512873");
		is->media_url =
		    xdup("https://seeclickfix.com/files/issue_images/0001/2345/full.jpg");
		is->n_questions = 2;
		is->questions = calloc(2, sizeof(*is->questions));
		assert_non_null(is->questions);
		is->questions[0].question = xdup("How deep is the pothole?");
		is->questions[0].answer = xdup("More than 3 inches");
		is->questions[1].question = xdup("Is it in a bike lane?");
		is->questions[1].answer = xdup("No Answer Given");
		is->n_comments = 1;
		is->comments = calloc(1, sizeof(*is->comments));
		assert_non_null(is->comments);
		fill_comment(&is->comments[0], 1);
		is->source_json =
		    xdup("{\"id\":4512873,\"status\":\"Open\",\"summary\":\"Pothole\"}");
		break;
	case RECORD_COMMENT:
		envelope(r, "scf", 43, "comment/4512873/88120345");
		fill_comment(&r->u.comment, full);
		r->u.comment.is_system = 0;
		break;
	case RECORD_ATTACHMENT:
		envelope(r, "scf", 44, "attachment/4512873/issue");
		r->u.attachment.issue_id = 4512873;
		r->u.attachment.url =
		    xdup("https://seeclickfix.com/files/issue_images/0001/2345/full.jpg");
		if (full) {
			r->u.attachment.comment_id = xdup("88120345");
			r->u.attachment.content_type = xdup("image/jpeg");
		}
		break;
	case RECORD_ACK:
		envelope(r, "oms", 7, "ack/4512873");
		r->u.ack.issue_id = 4512873;
		r->u.ack.oid = 100233;
		r->u.ack.request_id = xdup("REQ-2026-00412");
		r->u.ack.request_type_id = 7153;
		r->u.ack.accepted_at = xdup("2026-11-27T10:01:00");
		if (full)
			r->u.ack.request_type_title = xdup("Pothole");
		break;
	case RECORD_CLOSE:
		envelope(r, "oms", 8, "close/4512873");
		r->u.close.issue_id = 4512873;
		r->u.close.oid = 100233;
		r->u.close.request_id = xdup("REQ-2026-00412");
		r->u.close.request_type_id = 7153;
		r->u.close.oms_status = xdup("Closed");
		r->u.close.closed_at = xdup("2026-11-27T14:45:10.123-05:00");
		if (full) {
			r->u.close.request_type_title = xdup("Pothole");
			r->u.close.source_json =
			    xdup("{\"Oid\":100233,\"StatusField\":\"Closed\"}");
		}
		break;
	case RECORD_CENSUS:
		fill_census(r, full ? 3 : 0, full);
		break;
	case RECORD_RESEND:
		fill_resend(r, full ? 3 : 1);
		break;
	case RECORD_RECONCILE:
		fill_reconcile(r, full);
		break;
	}
	return r;
}

static const struct sig_key *signer(enum record_kind kind)
{
	return record_kind_is_outbound(kind) ? scf_key : oms_key;
}

static const struct sig_key *verifier(enum record_kind kind)
{
	return record_kind_is_outbound(kind) ? scf_pub : oms_pub;
}

static void encode_ok(struct record *r, struct buf *out)
{
	struct err e;

	err_clear(&e);
	buf_init(out, RECORD_MAX_BYTES);
	if (record_encode(r, signer(r->kind), out, &e) != ERR_OK)
		fail_msg("encode: %s", e.msg);
}

static struct record *decode_ok(const struct buf *b, enum record_kind kind)
{
	struct record *r = NULL;
	struct err e;

	err_clear(&e);
	if (record_decode(b->data, b->len, verifier(kind), &r, &e) != ERR_OK)
		fail_msg("decode: %s", e.msg);
	assert_non_null(r);
	return r;
}

/* Round trip: encode, decode, encode again.  Every field the decoder
 * missed would be missing from the second encoding, so equal bytes prove
 * the struct came back complete. */
static struct record *round_trip(struct record *r)
{
	struct buf a, b;
	struct record *back;

	encode_ok(r, &a);
	back = decode_ok(&a, r->kind);
	encode_ok(back, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	buf_release(&a);
	buf_release(&b);
	return back;
}

static void test_round_trip_every_kind(void **state)
{
	for (enum record_kind k = RECORD_ISSUE; k <= RECORD_KIND_LAST; k++) {
		for (int full = 0; full <= 1; full++) {
			struct record *r = sample(k, full);
			struct record *back = round_trip(r);

			assert_int_equal(back->kind, k);
			assert_int_equal(back->format_version, RECORD_FORMAT_VERSION);
			assert_string_equal(back->producer, r->producer);
			assert_int_equal(back->seq, r->seq);
			assert_string_equal(back->created, r->created);
			assert_string_equal(back->key, r->key);
			record_free(r);
			record_free(back);
		}
	}
}

/* record_dup is a deep copy: every kind, full and minimal, encodes to the
 * same bytes as its original, and shares no memory with it (freeing the
 * original first leaves the copy whole; ASan would tell). */
static void test_dup_every_kind(void **state)
{
	(void)state;
	for (enum record_kind k = RECORD_ISSUE; k <= RECORD_KIND_LAST; k++) {
		for (int full = 0; full <= 1; full++) {
			struct record *r = sample(k, full), *c;
			struct buf a, b;

			encode_ok(r, &a); /* fills created: the copy has it too */
			c = record_dup(r);
			assert_non_null(c);
			record_free(r);
			encode_ok(c, &b);
			assert_int_equal(a.len, b.len);
			assert_memory_equal(a.data, b.data, a.len);
			record_free(c);
			buf_release(&a);
			buf_release(&b);
		}
	}
	assert_null(record_dup(NULL));
}

static void test_round_trip_fields(void **state)
{
	struct record *r = sample(RECORD_ISSUE, 1);
	struct record *back = round_trip(r);
	struct record_issue *is = &back->u.issue;

	assert_int_equal(is->issue_id, 4512873);
	assert_true(is->lat == 41.30713 && is->lng == -72.92486);
	assert_string_equal(is->address, "165 Church St New Haven, CT 06510, USA");
	assert_int_equal(is->n_questions, 2);
	assert_string_equal(is->questions[1].answer, "No Answer Given");
	assert_int_equal(is->n_comments, 1);
	assert_int_equal(is->comments[0].commenter_id, 99021);
	assert_string_equal(is->comments[0].comment_id, "88120345");
	assert_string_equal(is->source_json, r->u.issue.source_json);
	record_free(back);
	record_free(r);

	/* Absent optional fields come back as NULL, not "". */
	r = sample(RECORD_ISSUE, 0);
	back = round_trip(r);
	assert_null(back->u.issue.description);
	assert_null(back->u.issue.address);
	assert_null(back->u.issue.questions);
	assert_int_equal(back->u.issue.n_comments, 0);
	assert_null(back->u.issue.source_json);
	record_free(back);
	record_free(r);

	/* The generation travels only for a re-created issue (2 and up); the
	 * first request's record has no such element. */
	r = sample(RECORD_ISSUE, 1);
	back = round_trip(r);
	assert_int_equal(back->u.issue.generation, 0);
	record_free(back);
	r->u.issue.generation = 3;
	back = round_trip(r);
	assert_int_equal(back->u.issue.generation, 3);
	record_free(back);
	{
		struct buf out;
		struct err e;

		buf_init(&out, 0);
		r->u.issue.generation = 1; /* the schema starts at 2 */
		assert_int_equal(record_encode(r, scf_key, &out, &e), ERR_PERM);
		buf_release(&out);
	}
	record_free(r);

	r = sample(RECORD_COMMENT, 1);
	r->u.comment.is_system = 1;
	back = round_trip(r);
	assert_true(back->u.comment.is_system);
	assert_string_equal(back->u.comment.media_url, r->u.comment.media_url);
	record_free(back);
	record_free(r);
}

static void test_unicode_markup_and_long_text(void **state)
{
	static const char tricky[] = "Straße 🚧 – 東京 «quoted» <b>&amp;</b> ]]> \"' \t tab\r\nCRLF";
	const size_t long_len = (size_t)1024 * 1024;
	struct record *r = sample(RECORD_ISSUE, 1);
	struct record *back;
	char *big = malloc(long_len + 1);

	assert_non_null(big);
	for (size_t i = 0; i < long_len; i++)
		big[i] = "abcdefghij é\n"[i % 13];
	big[long_len] = '\0';
	free(r->u.issue.summary);
	r->u.issue.summary = xdup(tricky);
	free(r->u.issue.description);
	r->u.issue.description = big;
	free(r->u.issue.questions[0].answer);
	r->u.issue.questions[0].answer = xdup("");
	back = round_trip(r);
	assert_string_equal(back->u.issue.summary, tricky);
	assert_string_equal(back->u.issue.description, big);
	assert_string_equal(back->u.issue.questions[0].answer, "");
	record_free(back);
	record_free(r);
}

static void test_control_characters_replaced(void **state)
{
	struct record *r = sample(RECORD_COMMENT, 0);
	struct record *back;

	free(r->u.comment.text);
	r->u.comment.text = xdup("bell\x07"
	                         "end");
	back = round_trip(r);
	assert_string_equal(back->u.comment.text, "bell\xEF\xBF\xBD"
	                                          "end");
	record_free(back);
	record_free(r);
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* XML 1.0's Char production. */
static int xml_char(unsigned cp)
{
	return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
	       (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/*
 * The encoder signs its own tree, not the bytes read back: whatever text
 * it accepts must come back from record_decode (signature verified) as
 * the same text, with only the characters XML cannot carry replaced.
 * Random strings weighted towards the awkward code points: markup, CR,
 * C0 controls, surrogates, U+FFFE/U+FFFF, U+2028, the BOM, astral planes.
 */
static void test_random_text_survives_signing(void **state)
{
	static const unsigned awkward[] = {
	    '<',    '>',    '&',    '"',    '\'',    '\r',     '\n',   '\t',   0x01,
	    0x1F,   0x7F,   0x85,   0xA0,   0xD7FF,  0xD800,   0xDFFF, 0xE000, 0xFEFF,
	    0xFFFD, 0xFFFE, 0xFFFF, 0x2028, 0x10000, 0x10FFFF, ']',    0x1F6A7};
	unsigned seed = 20261128;
	char text[512], want[512];

	(void)state;
	for (int round = 0; round < 400; round++) {
		struct record *r = sample(RECORD_COMMENT, 0);
		struct record *back = NULL;
		struct buf out;
		struct err e;
		size_t len = 0, wlen = 0;
		int n = 1 + (int)(rand_r(&seed) % 60);

		for (int i = 0; i < n; i++) {
			unsigned pick = (unsigned)rand_r(&seed);
			unsigned cp = pick % 3
			                  ? awkward[pick % (sizeof(awkward) / sizeof(*awkward))]
			                  : 0x20 + pick % 0x10FFDF;
			len += put_utf8(text + len, cp);
			wlen += put_utf8(want + wlen, xml_char(cp) ? cp : 0xFFFD);
		}
		text[len] = want[wlen] = '\0';
		free(r->u.comment.text);
		r->u.comment.text = xdup(text);
		err_clear(&e);
		buf_init(&out, RECORD_MAX_BYTES);
		if (record_encode(r, signer(r->kind), &out, &e) != ERR_OK)
			fail_msg("round %d: refused: %s", round, e.msg);
		err_clear(&e);
		if (record_decode(out.data, out.len, verifier(r->kind), &back, &e) != ERR_OK)
			fail_msg("round %d: written but not readable: %s", round, e.msg);
		assert_string_equal(back->u.comment.text, want);
		record_free(back);
		buf_release(&out);
		record_free(r);
	}
}

static void expect_encode_error(struct record *r, const char *needle)
{
	struct buf out;
	struct err e;

	err_clear(&e);
	buf_init(&out, RECORD_MAX_BYTES);
	assert_int_not_equal(record_encode(r, signer(r->kind), &out, &e), ERR_OK);
	if (!strstr(e.msg, needle))
		fail_msg("expected \"%s\" in: %s", needle, e.msg);
	assert_int_equal(out.len, 0);
	buf_release(&out);
	record_free(r);
}

static void test_encode_refuses_invalid(void **state)
{
	struct record *r;
	struct buf out;
	struct err e;

	r = sample(RECORD_ISSUE, 0);
	free(r->u.issue.status);
	r->u.issue.status = NULL;
	expect_encode_error(r, "status is required");

	r = sample(RECORD_ISSUE, 0);
	r->u.issue.lat = 91.5;
	expect_encode_error(r, "'lat'");

	r = sample(RECORD_ISSUE, 0);
	r->u.issue.lng = 0.0 / 0.0;
	expect_encode_error(r, "lng is not a finite number");

	r = sample(RECORD_ACK, 0);
	snprintf(r->producer, sizeof(r->producer), "OMS!");
	expect_encode_error(r, "producer");

	r = sample(RECORD_COMMENT, 0);
	free(r->u.comment.text);
	r->u.comment.text = xdup("bad \xC3\x28 utf8");
	expect_encode_error(r, "text is not valid UTF-8");

	r = sample(RECORD_ATTACHMENT, 0);
	free(r->u.attachment.url);
	r->u.attachment.url = xdup("has spaces in it");
	expect_encode_error(r, "'url'");

	r = sample(RECORD_CLOSE, 0);
	free(r->u.close.closed_at);
	r->u.close.closed_at = xdup("yesterday");
	expect_encode_error(r, "'closed_at'");

	/* A public key cannot sign. */
	r = sample(RECORD_ACK, 0);
	buf_init(&out, 0);
	assert_int_equal(record_encode(r, oms_pub, &out, &e), ERR_FATAL);
	buf_release(&out);
	record_free(r);
}

static void test_created_filled(void **state)
{
	struct record *r = sample(RECORD_ACK, 0);
	struct record *back;
	char year[8];
	time_t now = time(NULL);
	struct tm tm;

	r->created[0] = '\0';
	back = round_trip(r);
	gmtime_r(&now, &tm);
	strftime(year, sizeof(year), "%Y-", &tm);
	assert_int_equal(strncmp(back->created, year, 5), 0);
	assert_int_equal(strlen(back->created), 20);
	assert_int_equal(back->created[19], 'Z');
	record_free(back);
	record_free(r);
}

/* ---- census, resend, reconcile --------------------------------------------- */

/* Every field of every list item comes back, and a full part of 2,000
 * entries stays far under the size limit. */
static void test_census_parts(void **state)
{
	struct record *r = record_new(RECORD_CENSUS), *back;
	const struct record_census *c;
	struct buf out;

	(void)state;
	fill_census(r, RECORD_PART_MAX, 1);
	encode_ok(r, &out);
	assert_true(out.len < RECORD_MAX_BYTES / 2);
	buf_release(&out);
	back = round_trip(r);
	c = &back->u.census;
	assert_string_equal(c->census_id, "scf-20261127T150405Z");
	assert_int_equal(c->part, 1);
	assert_true(c->last);
	assert_string_equal(c->window_from, "2025-11-27T15:04:05Z");
	assert_int_equal(c->n_request_types, 2);
	assert_int_equal(c->request_type_ids[1], 7154);
	assert_int_equal(c->n_entries, RECORD_PART_MAX);
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct record_census_entry *a = &r->u.census.entries[i], *b = &c->entries[i];

		assert_int_equal(b->issue_id, a->issue_id);
		assert_string_equal(b->status, a->status);
		assert_int_equal(b->request_type_id, 7153);
		assert_string_equal(b->updated_at, a->updated_at);
		assert_true(b->lat == a->lat && b->lng == a->lng);
		assert_string_equal(b->html_url, a->html_url);
		assert_int_equal(b->generation, a->generation);
		assert_int_equal(b->sent, 1);
		assert_int_equal(b->acknowledged, a->acknowledged);
		assert_int_equal(b->closed, a->closed);
	}
	record_free(back);
	record_free(r);

	/* A census of no issues: one part, no entries, no request types. */
	r = record_new(RECORD_CENSUS);
	fill_census(r, 0, 0);
	free(r->u.census.request_type_ids);
	r->u.census.request_type_ids = NULL;
	r->u.census.n_request_types = 0;
	r->u.census.last = 0;
	back = round_trip(r);
	assert_int_equal(back->u.census.n_entries, 0);
	assert_null(back->u.census.entries);
	assert_int_equal(back->u.census.n_request_types, 0);
	assert_false(back->u.census.last);
	record_free(back);
	record_free(r);

	/* Minimal entries: the optional fields come back absent. */
	r = record_new(RECORD_CENSUS);
	fill_census(r, 2, 0);
	back = round_trip(r);
	assert_null(back->u.census.entries[0].html_url);
	assert_int_equal(back->u.census.entries[1].generation, 0);
	assert_false(back->u.census.entries[1].sent);
	record_free(back);
	record_free(r);
}

static void test_resend_and_reconcile_fields(void **state)
{
	struct record *r = record_new(RECORD_RESEND), *back;
	const struct record_finding *f;

	(void)state;
	fill_resend(r, RECORD_PART_MAX);
	back = round_trip(r);
	assert_string_equal(back->u.resend.census_id, "scf-20261127T150405Z");
	assert_int_equal(back->u.resend.n_issues, RECORD_PART_MAX);
	assert_memory_equal(back->u.resend.issue_ids, r->u.resend.issue_ids,
	                    RECORD_PART_MAX * sizeof(int64_t));
	record_free(back);
	record_free(r);

	r = sample(RECORD_RECONCILE, 1);
	back = round_trip(r);
	assert_int_equal(back->u.reconcile.in_sync, 1200);
	assert_int_equal(back->u.reconcile.missing, 1);
	assert_int_equal(back->u.reconcile.missed_close, 1);
	assert_int_equal(back->u.reconcile.orphan, 1);
	assert_int_equal(back->u.reconcile.drift, 0);
	assert_int_equal(back->u.reconcile.duplicate, 0);
	assert_int_equal(back->u.reconcile.n_findings, 3);
	f = back->u.reconcile.findings;
	assert_string_equal(f[0].cls, "missing");
	assert_int_equal(f[0].oid, 0);
	assert_null(f[0].request_id);
	assert_null(f[0].oms_status);
	assert_string_equal(f[1].cls, "missed-close");
	assert_int_equal(f[1].oid, 100234);
	assert_string_equal(f[1].request_id, "REQ-2026-00413");
	assert_string_equal(f[1].oms_status, "Closed");
	assert_string_equal(f[1].detail, "request Closed, issue Acknowledged");
	assert_null(f[2].scf_status);
	assert_int_equal(f[2].issue_id, 4400001);
	record_free(back);
	record_free(r);

	r = sample(RECORD_RECONCILE, 0);
	back = round_trip(r);
	assert_int_equal(back->u.reconcile.n_findings, 0);
	assert_null(back->u.reconcile.findings);
	record_free(back);
	record_free(r);
}

/* A part is bounded: the encoder refuses a list over RECORD_PART_MAX in
 * words, and a reader's schema refuses one that was written by hand. */
static void test_part_bounds(void **state)
{
	struct record *r;
	struct buf out;
	struct record *back = NULL;
	struct err e;
	char *big, *at;
	const char *entry, *end;
	size_t elen;

	(void)state;
	r = record_new(RECORD_CENSUS);
	fill_census(r, RECORD_PART_MAX + 1, 0);
	expect_encode_error(r, "2001 entries, over the 2000");

	r = record_new(RECORD_RESEND);
	fill_resend(r, RECORD_PART_MAX + 1);
	expect_encode_error(r, "2001 issue_id, over the 2000");

	r = record_new(RECORD_RESEND);
	fill_resend(r, 1);
	r->u.resend.n_issues = 0;
	expect_encode_error(r, "'resend'");

	/* 2,000 entries written, one more pasted in by hand. */
	r = record_new(RECORD_CENSUS);
	fill_census(r, RECORD_PART_MAX, 0);
	encode_ok(r, &out);
	record_free(r);
	entry = strstr(out.data, "<entry>");
	end = strstr(entry, "</entry>") + strlen("</entry>");
	elen = (size_t)(end - entry);
	big = malloc(out.len + elen + 1);
	assert_non_null(big);
	at = strstr(out.data, "</entries>");
	memcpy(big, out.data, (size_t)(at - out.data));
	memcpy(big + (at - out.data), entry, elen);
	memcpy(big + (at - out.data) + elen, at, out.len - (size_t)(at - out.data) + 1);
	err_clear(&e);
	assert_int_equal(record_decode(big, out.len + elen, scf_pub, &back, &e), ERR_PERM);
	assert_null(back);
	if (!strstr(e.msg, "not a valid record") || !strstr(e.msg, "entry"))
		fail_msg("unexpected: %s", e.msg);
	free(big);
	buf_release(&out);
}

/* good_census with one edit must fail the schema, naming the element. */
static void expect_census_edit(const struct buf *b, const char *from, const char *to,
                               const char *needle)
{
	const char *at = strstr(b->data, from);
	size_t flen = strlen(from), tlen = strlen(to), len;
	struct record *r = NULL;
	struct err e;
	char *bytes;

	assert_non_null(at);
	len = b->len - flen + tlen;
	bytes = malloc(len + 1);
	assert_non_null(bytes);
	memcpy(bytes, b->data, (size_t)(at - b->data));
	/* the copy after this one brings the NUL */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(bytes + (at - b->data), to, tlen);
	memcpy(bytes + (at - b->data) + tlen, at + flen,
	       b->len - (size_t)(at - b->data) - flen + 1);
	err_clear(&e);
	assert_int_equal(record_decode_unverified(bytes, len, &r, &e), ERR_PERM);
	assert_null(r);
	if (!strstr(e.msg, needle))
		fail_msg("expected \"%s\" in: %s", needle, e.msg);
	free(bytes);
}

static void test_census_schema_refusals(void **state)
{
	struct record *r = sample(RECORD_CENSUS, 1);
	struct buf b;

	(void)state;
	encode_ok(r, &b);
	record_free(r);
	expect_census_edit(&b, "<status>Open</status>", "<status>Pending</status>", "'status'");
	expect_census_edit(&b, "<census_id>scf-20261127T150405Z</census_id>",
	                   "<census_id>../x</census_id>", "'census_id'");
	expect_census_edit(&b, "<census_id>scf-20261127T150405Z</census_id>",
	                   "<census_id></census_id>", "'census_id'");
	expect_census_edit(&b, "<part>1</part>", "<part>0</part>", "'part'");
	expect_census_edit(&b, "<last>true</last>", "<last>maybe</last>", "'last'");
	expect_census_edit(&b, "<last>true</last>", "", "last");
	expect_census_edit(&b, "<sent>true</sent>", "", "sent");
	expect_census_edit(&b, "<lat>41.30713</lat>", "<lat>NaN</lat>", "'lat'");
	expect_census_edit(&b, "<generation>2</generation>", "<generation>1</generation>",
	                   "'generation'");
	expect_census_edit(&b, "<window_to>2026-11-27T15:04:05Z</window_to>",
	                   "<window_to>tomorrow</window_to>", "'window_to'");
	buf_release(&b);

	r = sample(RECORD_RECONCILE, 1);
	encode_ok(r, &b);
	record_free(r);
	expect_census_edit(&b, "<class>orphan</class>", "<class>lost</class>", "'class'");
	expect_census_edit(&b, "<missing>1</missing>", "<missing>-1</missing>", "'missing'");
	expect_census_edit(&b, "<scf_status>Open</scf_status>", "<scf_status>open</scf_status>",
	                   "'scf_status'");
	expect_census_edit(&b, "<detail>not in the census</detail>", "", "detail");
	buf_release(&b);

	/* The encoder refuses what the schema would. */
	r = sample(RECORD_CENSUS, 1);
	free(r->u.census.entries[0].status);
	r->u.census.entries[0].status = xdup("Pending");
	expect_encode_error(r, "'status'");
	r = sample(RECORD_CENSUS, 1);
	free(r->u.census.census_id);
	r->u.census.census_id = NULL;
	expect_encode_error(r, "census_id is required");
	r = sample(RECORD_RECONCILE, 1);
	free(r->u.reconcile.findings[1].detail);
	r->u.reconcile.findings[1].detail = NULL;
	expect_encode_error(r, "detail is required");
	r = sample(RECORD_CENSUS, 1);
	r->u.census.entries[2].lng = 1.0 / 0.0;
	expect_encode_error(r, "lng is not a finite number");
}

static void test_part_keys(void **state)
{
	char key[128];
	struct err e;

	(void)state;
	assert_true(record_census_id_valid("scf-20261206T101500Z"));
	assert_true(record_census_id_valid("A.b_c-9"));
	assert_false(record_census_id_valid(""));
	assert_false(record_census_id_valid(NULL));
	assert_false(record_census_id_valid("a/b"));
	assert_false(record_census_id_valid("a b"));
	assert_true(record_census_id_valid(
	    "1234567890123456789012345678901234567890123456789012345678901234"));
	assert_false(record_census_id_valid(
	    "12345678901234567890123456789012345678901234567890123456789012345"));

	assert_int_equal(record_part_key(key, sizeof(key), RECORD_CENSUS, "scf-1", 3, &e), ERR_OK);
	assert_string_equal(key, "census/scf-1/3");
	assert_int_equal(record_part_key(key, sizeof(key), RECORD_RESEND, "scf-1", 1, &e), ERR_OK);
	assert_string_equal(key, "resend/scf-1/1");
	assert_int_equal(record_part_key(key, sizeof(key), RECORD_RECONCILE, "scf-1", 12, &e),
	                 ERR_OK);
	assert_string_equal(key, "reconcile/scf-1/12");
	assert_int_equal(record_part_key(key, sizeof(key), RECORD_ISSUE, "scf-1", 1, &e), ERR_PERM);
	assert_int_equal(record_part_key(key, sizeof(key), RECORD_CENSUS, "a/b", 1, &e), ERR_PERM);
	assert_int_equal(record_part_key(key, sizeof(key), RECORD_CENSUS, "scf-1", 0, &e),
	                 ERR_PERM);
	assert_int_equal(record_part_key(key, 8, RECORD_CENSUS, "scf-1", 1, &e), ERR_PERM);

	assert_int_equal(record_resend_issue_key(key, sizeof(key), 4512873, "scf-1", &e), ERR_OK);
	assert_string_equal(key, "issue/4512873/resend/scf-1");
	assert_int_equal(record_resend_issue_key(key, sizeof(key), 1, "bad id", &e), ERR_PERM);
	assert_string_equal(record_key_resend_census("issue/4512873/resend/scf-1"), "scf-1");
	assert_null(record_key_resend_census("issue/4512873"));
	assert_null(record_key_resend_census("issue/4512873/2"));
	assert_null(record_key_resend_census("issue/x/resend/scf-1"));
	assert_null(record_key_resend_census("issue/1/resend/"));
	assert_null(record_key_resend_census("issue/1/resend/a/b"));
	assert_null(record_key_resend_census("comment/1/resend/scf-1"));
	assert_null(record_key_resend_census(NULL));

	assert_string_equal(record_kind_queue(RECORD_CENSUS), "outbound");
	assert_string_equal(record_kind_queue(RECORD_RESEND), "inbound");
	assert_string_equal(record_kind_queue(RECORD_RECONCILE), "inbound");
	assert_int_equal(record_kind_from_name("census"), RECORD_CENSUS);
	assert_int_equal(record_kind_from_name("resend"), RECORD_RESEND);
	assert_int_equal(record_kind_from_name("reconcile"), RECORD_RECONCILE);
	assert_string_equal(record_kind_name(RECORD_RECONCILE), "reconcile");
	assert_null(record_kind_queue(RECORD_KIND_LAST + 1));
}

/* ---- names --------------------------------------------------------------- */

static void test_names(void **state)
{
	char name[RECORD_NAME_MAX], producer[RECORD_PRODUCER_MAX + 1];
	uint64_t seq = 0;

	record_file_name(name, 42, "scf");
	assert_string_equal(name, "00000000000000000042-scf.xml");
	assert_int_equal(record_parse_file_name(name, &seq, producer), 0);
	assert_int_equal(seq, 42);
	assert_string_equal(producer, "scf");
	record_file_name(name, UINT64_MAX, "abcdefghijklmnopqrstuvwxyz012345");
	assert_int_equal(record_parse_file_name(name, &seq, producer), 0);
	assert_true(seq == UINT64_MAX);
	assert_int_equal(record_parse_file_name("99999999999999999999-scf.xml", &seq, producer),
	                 -1);
	assert_int_equal(record_parse_file_name("0000000000000000042-scf.xml", &seq, producer), -1);
	assert_int_equal(record_parse_file_name("00000000000000000042-SCF.xml", &seq, producer),
	                 -1);
	assert_int_equal(record_parse_file_name("00000000000000000042-.xml", &seq, producer), -1);
	assert_int_equal(record_parse_file_name("00000000000000000042-scf.xml.tmp", &seq, producer),
	                 -1);

	assert_true(record_producer_valid("scf"));
	assert_true(record_producer_valid("oms-2_b"));
	assert_false(record_producer_valid("-scf"));
	assert_false(record_producer_valid(""));
	assert_false(record_producer_valid("abcdefghijklmnopqrstuvwxyz0123456"));

	assert_string_equal(record_kind_name(RECORD_ATTACHMENT), "attachment");
	assert_int_equal(record_kind_from_name("close"), RECORD_CLOSE);
	assert_int_equal(record_kind_from_name("nope"), 0);
	assert_null(record_kind_name(0));
	assert_true(record_kind_is_outbound(RECORD_COMMENT));
	assert_false(record_kind_is_outbound(RECORD_ACK));
}

/* Every kind about one issue gives it; census, resend and reconcile name
 * many issues (their samples hold 4512873 among them) and give 0. */
static void test_issue_id_every_kind(void **state)
{
	(void)state;
	for (enum record_kind k = RECORD_ISSUE; k <= RECORD_KIND_LAST; k++) {
		struct record *r = sample(k, 1);
		int one = k == RECORD_ISSUE || k == RECORD_COMMENT || k == RECORD_ATTACHMENT ||
		          k == RECORD_ACK || k == RECORD_CLOSE;

		assert_int_equal(record_issue_id(r), one ? 4512873 : 0);
		record_free(r);
	}
}

/* ---- checked-in samples ---------------------------------------------------- */

static void test_samples(void **state)
{
	int write = getenv("SCFGATE_WRITE_SAMPLES") != NULL;

	for (enum record_kind k = RECORD_ISSUE; k <= RECORD_KIND_LAST; k++) {
		struct record *r = sample(k, 1);
		struct buf built, file;
		char rel[128], path[1024], name[RECORD_NAME_MAX];
		struct err e;

		record_file_name(name, r->seq, r->producer);
		snprintf(rel, sizeof(rel), "records/%s", name);
		data_path(path, sizeof(path), rel);
		encode_ok(r, &built);
		if (write) {
			FILE *f = fopen(path, "wb");

			assert_non_null(f);
			assert_int_equal(fwrite(built.data, 1, built.len, f), built.len);
			assert_int_equal(fclose(f), 0);
		}
		buf_init(&file, RECORD_MAX_BYTES);
		if (buf_read_file(&file, path, &e) != ERR_OK)
			fail_msg("%s", e.msg);
		/* Ed25519 is deterministic: the same record signs to the same
		 * bytes, so any change of the format shows up here. */
		assert_int_equal(file.len, built.len);
		assert_memory_equal(file.data, built.data, built.len);
		record_free(decode_ok(&file, k));
		buf_release(&built);
		buf_release(&file);
		record_free(r);
	}
}

/* ---- hostile and broken input ---------------------------------------------- */

static struct buf good; /* a valid signed issue record */

static int setup_good(void **state)
{
	struct record *r = sample(RECORD_ISSUE, 1);
	struct err e;

	buf_init(&good, RECORD_MAX_BYTES);
	if (record_encode(r, scf_key, &good, &e) != ERR_OK)
		return -1;
	record_free(r);
	return 0;
}

static int teardown_good(void **state)
{
	buf_release(&good);
	return 0;
}

static void expect_reject(const char *bytes, size_t len, const struct sig_key *pub,
                          const char *needle)
{
	struct record *r = (struct record *)1;
	struct err e;

	err_clear(&e);
	assert_int_equal(record_decode(bytes, len, pub, &r, &e), ERR_PERM);
	assert_null(r);
	if (!strstr(e.msg, needle))
		fail_msg("expected \"%s\" in: %s", needle, e.msg);
	assert_null(strchr(e.msg, '\n'));
}

/* good with the first occurrence of from replaced by to. */
static char *edited(const char *from, const char *to, size_t *len)
{
	const char *at = strstr(good.data, from);
	size_t head, flen = strlen(from), tlen = strlen(to);
	char *out;

	assert_non_null(at);
	head = (size_t)(at - good.data);
	*len = good.len - flen + tlen;
	out = malloc(*len + 1);
	assert_non_null(out);
	memcpy(out, good.data, head);
	/* the copy after this one brings the NUL */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(out + head, to, tlen);
	memcpy(out + head + tlen, at + flen, good.len - head - flen + 1);
	return out;
}

static void expect_edit_rejected(const char *from, const char *to, const char *needle)
{
	size_t len;
	char *bytes = edited(from, to, &len);

	expect_reject(bytes, len, scf_pub, needle);
	free(bytes);
}

static void test_reject_empty_and_oversize(void **state)
{
	char *big;

	expect_reject("", 0, scf_pub, "empty record");
	big = calloc(1, RECORD_MAX_BYTES + 1);
	assert_non_null(big);
	expect_reject(big, RECORD_MAX_BYTES + 1, scf_pub, "limit");
	free(big);
}

static void test_reject_truncated(void **state)
{
	const size_t cuts[] = {
	    1, 10, 38, 100, good.len / 2, good.len - 120, good.len - 12, good.len - 2};

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		expect_reject(good.data, cuts[i], scf_pub, "not well-formed XML");
	/* Only the final newline missing: still the same document. */
	{
		struct record *r = NULL;
		struct err e;

		assert_int_equal(record_decode(good.data, good.len - 1, scf_pub, &r, &e), ERR_OK);
		record_free(r);
	}
}

static void test_reject_trailing_garbage(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	buf_add(&b, good.data, good.len);
	buf_adds(&b, "<record/>");
	expect_reject(b.data, b.len, scf_pub, "Extra content");
	buf_reset(&b);
	buf_add(&b, good.data, good.len);
	buf_adds(&b, "garbage");
	expect_reject(b.data, b.len, scf_pub, "not well-formed XML");
	buf_release(&b);
}

static void test_reject_invalid_xml(void **state)
{
	static const char unclosed[] = "<?xml version=\"1.0\"?>\n<record format=\"1\">\n<producer>";
	static const char notxml[] = "{\"this\": \"is json\"}";
	static const char undeclared[] = "<record format=\"1\">&x;</record>";

	expect_reject(unclosed, strlen(unclosed), scf_pub, "line ");
	expect_reject(notxml, strlen(notxml), scf_pub, "not well-formed XML");
	expect_reject(undeclared, strlen(undeclared), scf_pub, "Entity 'x' not defined");
	expect_edit_rejected("<summary>", "<summary attr='1' attr='2'>", "not well-formed XML");
	expect_reject("<other format=\"1\"/>", 19, scf_pub, "root element is <other>");
}

static void test_reject_xsd_invalid(void **state)
{
	/* A missing element, a wrong type, an element the schema lacks. */
	expect_edit_rejected("<status>Open</status>", "", "not a valid record");
	expect_edit_rejected("<status>Open</status>", "", "status");
	expect_edit_rejected("<lat>41.30713</lat>", "<lat>north</lat>", "'lat'");
	expect_edit_rejected("<issue_id>4512873</issue_id>", "<issue_id>12x</issue_id>",
	                     "'issue_id'");
	expect_edit_rejected("<seq>42</seq>", "<seq>-1</seq>", "'seq'");
	expect_edit_rejected("<kind>issue</kind>", "<kind>memo</kind>", "'kind'");
	expect_edit_rejected("<summary>", "<extra>1</extra><summary>", "'extra'");
	expect_edit_rejected("<producer>scf</producer>", "<producer>../etc</producer>",
	                     "'producer'");
}

static void test_reject_format_version(void **state)
{
	expect_edit_rejected("format=\"1\"", "format=\"2\"", "format version \"2\"");
	expect_edit_rejected("format=\"1\"", "", "no format version");
	expect_edit_rejected("format=\"1\"", "format=\"&#10;2\"", "format version \"?2\"");
}

static void test_reject_bad_signature(void **state)
{
	/* One byte of payload text changed. */
	expect_edit_rejected("Deep pothole", "Deep potholf", "bad signature");
	expect_edit_rejected("4512873", "4512874", "bad signature");
	/* The signature value itself damaged. */
	{
		const char *v = strstr(good.data, "key-id=");
		char *copy = malloc(good.len + 1);
		char *gt;

		assert_non_null(v);
		assert_non_null(copy);
		memcpy(copy, good.data, good.len + 1);
		gt = strchr(copy + (v - good.data), '>');
		gt[1] = gt[1] == 'A' ? 'B' : 'A';
		expect_reject(copy, good.len, scf_pub, "bad signature");
		free(copy);
	}
}

static void test_comments_are_signed(void **state)
{
	size_t len;
	char *bytes;
	struct record *r = NULL;
	struct err e;

	/* The canonical form keeps comments: adding one breaks the signature. */
	expect_edit_rejected("<address>", "<!-- note --><address>", "bad signature");

	/* A comment inside a value must not split it: the schema saw "42",
	 * so the struct must say 42, not 4. */
	bytes = edited("<seq>42</seq>", "<seq>4<!--x-->2</seq>", &len);
	assert_int_equal(record_decode_unverified(bytes, len, &r, &e), ERR_OK);
	assert_int_equal(r->seq, 42);
	record_free(r);
	free(bytes);
	bytes =
	    edited("<issue_id>4512873</issue_id>", "<issue_id>45<?pi x?>12873</issue_id>", &len);
	assert_int_equal(record_decode_unverified(bytes, len, &r, &e), ERR_OK);
	assert_int_equal(r->u.issue.issue_id, 4512873);
	record_free(r);
	free(bytes);
	bytes = edited("<summary>Pothole", "<summary>Pot<!--x-->hole", &len);
	assert_int_equal(record_decode_unverified(bytes, len, &r, &e), ERR_OK);
	assert_string_equal(r->u.issue.summary, "Pothole");
	record_free(r);
	free(bytes);
}

static void test_reject_wrong_key(void **state)
{
	char want[SIG_KEY_ID_LEN + 1], got[SIG_KEY_ID_LEN + 1], msg[128];

	sig_key_id(oms_pub, want);
	sig_key_id(scf_pub, got);
	snprintf(msg, sizeof(msg), "signed by key %s, expected %s", got, want);
	expect_reject(good.data, good.len, oms_pub, msg);

	/* Claiming the right key id does not help a wrong signature. */
	{
		char from[64], to[64];

		snprintf(from, sizeof(from), "key-id=\"%s\"", got);
		snprintf(to, sizeof(to), "key-id=\"%s\"", want);
		{
			size_t len;
			char *bytes = edited(from, to, &len);

			expect_reject(bytes, len, oms_pub, "bad signature");
			free(bytes);
		}
	}
}

static void test_reject_dtd_entities(void **state)
{
	static const char laughs[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE record [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n"
	    "<record format=\"1\"><producer>&lol9;</producer></record>\n";
	char secret_path[] = "/tmp/test_record_secret.XXXXXX";
	char xxe[1024];
	FILE *f;
	int fd;

	expect_reject(laughs, strlen(laughs), scf_pub, "line 2: a DTD (<!DOCTYPE>) is not allowed");

	/* An external entity naming a real local file: refused, never read. */
	fd = mkstemp(secret_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("TOP-SECRET-CONTENT", f);
	fclose(f);
	snprintf(xxe, sizeof(xxe),
	         "<?xml version=\"1.0\"?>\n"
	         "<!DOCTYPE record [ <!ENTITY xxe SYSTEM \"file://%s\"> ]>\n"
	         "<record format=\"1\"><producer>&xxe;</producer></record>\n",
	         secret_path);
	expect_reject(xxe, strlen(xxe), scf_pub, "DTD");
	{
		struct record *r = NULL;
		struct err e;

		assert_int_not_equal(record_decode_unverified(xxe, strlen(xxe), &r, &e), ERR_OK);
		assert_null(strstr(e.msg, "TOP-SECRET"));
	}
	/* An external DTD only. */
	snprintf(xxe, sizeof(xxe),
	         "<?xml version=\"1.0\"?>\n<!DOCTYPE record SYSTEM \"file://%s\">\n"
	         "<record format=\"1\"/>\n",
	         secret_path);
	expect_reject(xxe, strlen(xxe), scf_pub, "DTD");
	unlink(secret_path);

	/* A DOCTYPE dropped into an otherwise valid, signed record. */
	expect_edit_rejected("<record ", "<!DOCTYPE record><record ", "DTD");
}

static void test_decode_needs_key_and_unverified(void **state)
{
	struct record *r = NULL;
	struct err e;
	size_t len;
	char *bytes;

	assert_int_equal(record_decode(good.data, good.len, NULL, &r, &e), ERR_FATAL);
	assert_null(r);

	/* Unverified: reads a record signed by an unknown key, still checks
	 * the schema and the kind/payload agreement. */
	assert_int_equal(record_decode_unverified(good.data, good.len, &r, &e), ERR_OK);
	assert_int_equal(r->u.issue.issue_id, 4512873);
	record_free(r);
	r = NULL;
	bytes = edited("<kind>issue</kind>", "<kind>ack</kind>", &len);
	assert_int_equal(record_decode_unverified(bytes, len, &r, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "<kind> says ack but the payload is <issue>"));
	free(bytes);
	bytes = edited("<lat>41.30713</lat>", "<lat>NaN</lat>", &len);
	assert_int_equal(record_decode_unverified(bytes, len, &r, &e), ERR_PERM);
	free(bytes);
}

/* Libraries never print: hostile encodings and DTDs must come back as
 * messages, with nothing written to stderr by libxml2. */
static void test_silent_on_hostile_encodings(void **state)
{
	static const char *inputs[] = {
	    "<?xml version=\"1.0\" encoding=\"utf7\"?>\n<record format=\"1\">+AGE-</record>",
	    "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<record format=\"1\"/>",
	    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<record format=\"1\">\xe9</record>",
	    "\xff\xfe<\x00r\x00",
	    "<?xml version=\"1.0\" encoding=\"nonsense-9\"?><record/>",
	    "<?xml version=\"1.0\" encoding=\"UTF-32\"?>\n<record format=\"1\"/>",
	    "<?xml version=\"1.0\" encoding=\"EBCDIC-US\"?>\n<record format=\"1\"/>",
	    "<!DOCTYPE record SYSTEM \"http://127.0.0.1:9/x.dtd\"><record/>",
	};
	char path[] = "/tmp/test_record_stderr.XXXXXX";
	int fd = mkstemp(path), saved;
	struct stat sb;

	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct record *r = NULL;
		struct err e;
		size_t len = i == 3 ? 6 : strlen(inputs[i]);

		err_clear(&e);
		if (record_decode(inputs[i], len, scf_pub, &r, &e) != ERR_PERM || r || !e.msg[0])
			fail_msg("input %zu: not rejected cleanly (%s)", i, e.msg);
	}
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(fstat(fd, &sb), 0);
	close(fd);
	unlink(path);
	assert_int_equal(sb.st_size, 0);
}

/* Another module may change libxml2's process-wide defaults; records must
 * parse the same way regardless (signatures depend on the exact tree). */
static void test_immune_to_libxml_defaults(void **state)
{
	int blanks = xmlKeepBlanksDefault(0);
	int subst = xmlSubstituteEntitiesDefault(1);
	static const char xxe[] =
	    "<!DOCTYPE record [ <!ENTITY x SYSTEM \"file:///etc/hostname\"> ]>"
	    "<record format=\"1\">&x;</record>";
	struct record *r = NULL;
	struct err e;

	enum err_status st1, st2;
	char msg1[ERR_MSG_MAX];

	st1 = record_decode(good.data, good.len, scf_pub, &r, &e);
	memcpy(msg1, e.msg, sizeof(msg1));
	record_free(r);
	r = NULL;
	st2 = record_decode(xxe, strlen(xxe), scf_pub, &r, &e);
	{
		int save_empty = xmlSaveNoEmptyTags;
		struct record *in = sample(RECORD_ISSUE, 1);

		xmlSaveNoEmptyTags = 1;
		record_free(round_trip(in));
		record_free(in);
		xmlSaveNoEmptyTags = save_empty;
	}
	xmlKeepBlanksDefault(blanks);
	xmlSubstituteEntitiesDefault(subst);
	if (st1 != ERR_OK)
		fail_msg("valid record refused: %s", msg1);
	assert_int_equal(st2, ERR_PERM);
	assert_non_null(strstr(e.msg, "DTD"));
}

/* Not an assertion on speed (machines differ), a figure for the record. */
static void test_decode_speed(void **state)
{
	const int n = 2000;
	struct timespec t0, t1;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		struct record *r = NULL;
		struct err e;

		assert_int_equal(record_decode(good.data, good.len, scf_pub, &r, &e), ERR_OK);
		record_free(r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# decoded %d issue records (%zu bytes each) in %.3f s: %.0f records/s\n", n,
	       good.len, secs, n / secs);
}

int main(void)
{
	const struct CMUnitTest basic[] = {
	    cmocka_unit_test(test_round_trip_every_kind),
	    cmocka_unit_test(test_round_trip_fields),
	    cmocka_unit_test(test_dup_every_kind),
	    cmocka_unit_test(test_issue_id_every_kind),
	    cmocka_unit_test(test_unicode_markup_and_long_text),
	    cmocka_unit_test(test_control_characters_replaced),
	    cmocka_unit_test(test_random_text_survives_signing),
	    cmocka_unit_test(test_encode_refuses_invalid),
	    cmocka_unit_test(test_created_filled),
	    cmocka_unit_test(test_census_parts),
	    cmocka_unit_test(test_resend_and_reconcile_fields),
	    cmocka_unit_test(test_part_bounds),
	    cmocka_unit_test(test_census_schema_refusals),
	    cmocka_unit_test(test_part_keys),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_samples),
	};
	const struct CMUnitTest hostile[] = {
	    cmocka_unit_test(test_reject_empty_and_oversize),
	    cmocka_unit_test(test_reject_truncated),
	    cmocka_unit_test(test_reject_trailing_garbage),
	    cmocka_unit_test(test_reject_invalid_xml),
	    cmocka_unit_test(test_reject_xsd_invalid),
	    cmocka_unit_test(test_reject_format_version),
	    cmocka_unit_test(test_reject_bad_signature),
	    cmocka_unit_test(test_comments_are_signed),
	    cmocka_unit_test(test_reject_wrong_key),
	    cmocka_unit_test(test_reject_dtd_entities),
	    cmocka_unit_test(test_decode_needs_key_and_unverified),
	    cmocka_unit_test(test_silent_on_hostile_encodings),
	    cmocka_unit_test(test_immune_to_libxml_defaults),
	    cmocka_unit_test(test_decode_speed),
	};
	int failed;

	if (setup(NULL) != 0) {
		fprintf(stderr, "test keys not found under %s/tests/data/keys\n", srcdir);
		return 1;
	}
	failed = cmocka_run_group_tests_name("record", basic, NULL, NULL);
	if (setup_good(NULL) != 0) {
		teardown(NULL);
		return 1;
	}
	failed += cmocka_run_group_tests_name("record_hostile", hostile, NULL, NULL);
	teardown_good(NULL);
	teardown(NULL);
	return failed ? 1 : 0;
}
