/*
 * test_xmlgate.c: the lexical gate before libxml2: what it refuses
 * (attribute and namespace bombs, deep nesting, markup declarations,
 * size), what it must not count (comments, CDATA, quoted values), and
 * that record_decode and the configuration loader run it first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "record.h"
#include "sig.h"
#include "xmlgate.h"

static enum err_status gate(const char *doc, struct err *e)
{
	struct xmlgate_limits lim;

	xmlgate_limits_default(&lim, 1 << 20);
	err_clear(e);
	return xmlgate_check(doc, strlen(doc), &lim, e);
}

static void expect_refused(const char *doc, const char *what)
{
	struct err e;

	assert_int_equal(gate(doc, &e), ERR_PERM);
	if (!strstr(e.msg, what))
		fail_msg("expected '%s' in: %s", what, e.msg);
}

/* "<r a0='x' a1='x' ...>" with n attributes (prefix "xmlns:p" for
 * namespace declarations), then a body and the end tag. */
static char *element_with(size_t n, const char *prefix)
{
	struct buf b = BUF_INIT_CAP((size_t)64 << 20);

	assert_int_equal(buf_adds(&b, "<?xml version=\"1.0\"?>\n<r"), ERR_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf_addf(&b, " %s%zu='x'", prefix, i), ERR_OK);
	assert_int_equal(buf_adds(&b, ">text</r>\n"), ERR_OK);
	return buf_detach(&b, NULL);
}

static void sample_records_pass(void **unused)
{
	static const char *const names[] = {"00000000000000000007-oms.xml",
	                                    "00000000000000000008-oms.xml"};
	const char *src = getenv("SCFGATE_SOURCE_DIR");
	struct xmlgate_limits lim;
	char path[1024];
	struct err e;

	(void)unused;
	assert_non_null(src);
	xmlgate_limits_default(&lim, RECORD_MAX_BYTES);
	for (size_t i = 0; i < 2; i++) {
		struct buf b = BUF_INIT_CAP(RECORD_MAX_BYTES);

		snprintf(path, sizeof(path), "%s/tests/data/records/%s", src, names[i]);
		assert_int_equal(buf_read_file(&b, path, &e), ERR_OK);
		if (xmlgate_check(b.data, b.len, &lim, &e) != ERR_OK)
			fail_msg("%s: %s", names[i], e.msg);
		buf_release(&b);
	}
}

static void attribute_bomb(void **unused)
{
	char *doc = element_with(25000, "a");
	char *ok = element_with(64, "a");
	struct err e;

	(void)unused;
	expect_refused(doc, "line 2: an element with more than 64 attributes");
	assert_int_equal(gate(ok, &e), ERR_OK);
	free(doc);
	free(ok);
}

static void namespace_bomb(void **unused)
{
	char *doc = element_with(20, "xmlns:p");

	(void)unused;
	expect_refused(doc, "more than 8 namespace declarations");
	free(doc);
}

static void deep_nesting(void **unused)
{
	struct buf b = BUF_INIT_CAP(1 << 20);
	struct err e;

	(void)unused;
	for (int i = 0; i < 64; i++)
		assert_int_equal(buf_adds(&b, "<d>"), ERR_OK);
	for (int i = 0; i < 64; i++)
		assert_int_equal(buf_adds(&b, "</d>"), ERR_OK);
	assert_int_equal(gate(buf_str(&b), &e), ERR_OK);
	buf_reset(&b);
	for (int i = 0; i < 65; i++)
		assert_int_equal(buf_adds(&b, "<d>"), ERR_OK);
	expect_refused(buf_str(&b), "nested deeper than 64");
	/* Siblings do not add up: depth is nesting, not count. */
	buf_reset(&b);
	assert_int_equal(buf_adds(&b, "<r>"), ERR_OK);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_adds(&b, "<d a='1'><e/></d>"), ERR_OK);
	assert_int_equal(buf_adds(&b, "</r>"), ERR_OK);
	assert_int_equal(gate(buf_str(&b), &e), ERR_OK);
	buf_release(&b);
}

static void declarations(void **unused)
{
	(void)unused;
	expect_refused("<?xml version='1.0'?>\n<!DOCTYPE r [<!ENTITY a 'b'>]>\n<r/>",
	               "line 2: a DTD (<!DOCTYPE>) is not allowed");
	expect_refused("<r>\n<!ENTITY a 'b'></r>", "line 2: a markup declaration");
}

/* What comments, CDATA, processing instructions and quoted values hold
 * is not markup. */
static void skipped_constructs(void **unused)
{
	struct buf b = BUF_INIT_CAP(1 << 20);
	struct err e;

	(void)unused;
	assert_int_equal(
	    gate("<?xml version='1.0'?><!-- <!DOCTYPE x> <a b='1' c='2'> -->"
	         "<r v=\"<!DOCTYPE> a='1' > <deep>\" w='\"'><![CDATA[<!ENTITY <x y='1'>]]>"
	         "<?pi <!DOCTYPE ?></r>",
	         &e),
	    ERR_OK);
	/* 100 attribute-looking pairs inside one value are one attribute. */
	assert_int_equal(buf_adds(&b, "<r v='"), ERR_OK);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_addf(&b, " a%d=\"x\"", i), ERR_OK);
	assert_int_equal(buf_adds(&b, "'/>"), ERR_OK);
	assert_int_equal(gate(buf_str(&b), &e), ERR_OK);
	buf_release(&b);
	/* Malformed input is the parser's to report, not the gate's. */
	assert_int_equal(gate("<r><!-- never closed", &e), ERR_OK);
	assert_int_equal(gate("<r a='never closed>", &e), ERR_OK);
	assert_int_equal(gate("< r>", &e), ERR_OK);
}

static void size_limit(void **unused)
{
	struct xmlgate_limits lim;
	struct err e;

	(void)unused;
	xmlgate_limits_default(&lim, 10);
	assert_int_equal(xmlgate_check("<r>0123456789</r>", 17, &lim, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "over the 10-byte limit"));
}

/* The streaming gate (the bundle manifest) gives xmlgate_check's verdict
 * and message however the stream is cut: in two at every position, and
 * one byte at a time. */
static void stream_any_cut(void **unused)
{
	static const char *const docs[] = {
	    "<?xml version='1.0'?>\n<!DOCTYPE r [<!ENTITY a 'b'>]>\n<r/>",
	    "<r>\n<!ENTITY a 'b'></r>",
	    "<?xml version='1.0'?><!-- <!DOCTYPE x> <a b='1'> --><r v=\"<!DOCTYPE> a='1'>\" "
	    "w='\"'><![CDATA[<!ENTITY <x y='1'>]]><?pi <!DOCTYPE ?></r>",
	    "<r\n xmlns='a' xmlns:a='a' xmlns:b='b' xmlns:c='c' xmlns:d='d' xmlns:e='e' "
	    "xmlns:f='f' xmlns:g='g' xmlns:h='h'/>",
	    "<a><a><a><a><a></a></a></a></a></a>",
	    "<r><!-",
	};
	struct xmlgate_limits lim;

	(void)unused;
	xmlgate_limits_default(&lim, 1 << 20);
	lim.max_depth = 4;
	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		size_t len = strlen(docs[d]);
		struct err want, got;
		enum err_status ws;

		err_clear(&want);
		ws = xmlgate_check(docs[d], len, &lim, &want);
		for (size_t cut = 0; cut <= len + 1; cut++) {
			struct xmlgate g;
			enum err_status gs;

			err_clear(&got);
			xmlgate_init(&g, &lim);
			if (cut <= len) {
				gs = xmlgate_feed(&g, docs[d], cut, &got);
				if (gs == ERR_OK)
					gs = xmlgate_feed(&g, docs[d] + cut, len - cut, &got);
			} else { /* one byte at a time */
				gs = ERR_OK;
				for (size_t i = 0; i < len && gs == ERR_OK; i++)
					gs = xmlgate_feed(&g, docs[d] + i, 1, &got);
			}
			if (gs == ERR_OK)
				gs = xmlgate_finish(&g, &got);
			if (gs != ws || strcmp(got.msg, want.msg) != 0)
				fail_msg("doc %zu cut %zu: %d '%s', want %d '%s'", d, cut, gs,
				         got.msg, ws, want.msg);
		}
		assert_int_equal(ws, d == 2 ? ERR_OK : ERR_PERM);
	}
}

/* record_decode and the configuration loader refuse the bomb through the
 * gate (libxml2 2.9 took 9.5 s on this document). */
static void callers_run_the_gate(void **unused)
{
	char *doc = element_with(25000, "a");
	const char *src = getenv("SCFGATE_SOURCE_DIR");
	struct sig_key *pub = NULL;
	struct record *r = NULL;
	struct cfg *c = NULL;
	char path[1024];
	struct err e;

	(void)unused;
	snprintf(path, sizeof(path), "%s/tests/data/keys/test-oms.pub", src);
	assert_int_equal(sig_load_public(path, &pub, &e), ERR_OK);
	assert_int_equal(record_decode(doc, strlen(doc), pub, &r, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "more than 64 attributes"));
	assert_null(r);
	assert_int_equal(cfg_load_mem(doc, strlen(doc), "bomb.xml", CFG_NO_FILE_CHECKS, &c, &e),
	                 ERR_FATAL);
	assert_non_null(strstr(e.msg, "bomb.xml:2: an element with more than 64 attributes"));
	assert_null(c);
	/* An empty record says so (it used to blame a missing key). */
	assert_int_equal(record_decode("", 0, pub, &r, &e), ERR_PERM);
	assert_string_equal(e.msg, "empty record (0 bytes)");
	sig_key_free(pub);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sample_records_pass), cmocka_unit_test(attribute_bomb),
	    cmocka_unit_test(namespace_bomb),      cmocka_unit_test(deep_nesting),
	    cmocka_unit_test(declarations),        cmocka_unit_test(skipped_constructs),
	    cmocka_unit_test(size_limit),          cmocka_unit_test(callers_run_the_gate),
	    cmocka_unit_test(stream_any_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
