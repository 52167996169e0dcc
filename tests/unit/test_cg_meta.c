/*
 * test_cg_meta.c: Cartegraph class metadata (gateway/api/cg_meta.c) and the
 * field-map check built on it (gateway/api/cg_check.c): parsing, hostile
 * input, suggestions, and the finding lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg.h"
#include "cg_check.h"
#include "cg_meta.h"

#define REQ_META                                                                                   \
	"{\"Classes\":[{\"Name\":\"cgRequestsClass\",\"SingularName\":\"Request\","                \
	"\"Children\":[\"cgRequests_cgAttachmentsClass\",\"cgRequests_cgLogClass\"],"              \
	"\"Properties\":["                                                                         \
	"{\"Name\":\"Oid\",\"DataType\":\"Integer\",\"IsReadOnly\":true},"                         \
	"{\"Name\":\"IDField\",\"DataType\":\"String\",\"IsReadOnly\":true},"                      \
	"{\"Name\":\"StatusField\",\"DataType\":\"Lookup\",\"IsReadOnly\":false,"                  \
	"\"LookupClass\":\"cgRequestStatusClass\"},"                                               \
	"{\"Name\":\"IssueField\",\"DisplayName\":\"Issue\",\"DataType\":\"Lookup\","              \
	"\"IsReadOnly\":false,\"LookupClass\":\"cgRequestIssuesClass\"},"                          \
	"{\"Name\":\"DescriptionField\",\"DataType\":\"String\",\"IsReadOnly\":false},"            \
	"{\"Name\":\"LocationDescriptionField\",\"DataType\":\"String\",\"IsReadOnly\":false},"    \
	"{\"Name\":\"RequesterField\",\"DataType\":\"String\"},"                                   \
	"{\"Name\":\"CommentsField\",\"DataType\":\"String\",\"IsReadOnly\":false},"               \
	"{\"Name\":\"NotesField\",\"DataType\":\"String\",\"IsReadOnly\":false},"                  \
	"{\"Name\":\"DepartmentField\",\"DataType\":\"String\",\"IsReadOnly\":false},"             \
	"{\"Name\":\"DepartureField\",\"DataType\":\"String\",\"IsReadOnly\":false},"              \
	"{\"Name\":\"TasksField\",\"DataType\":\"Number\",\"IsReadOnly\":false},"                  \
	"{\"Name\":\"ProgressField\",\"DataType\":\"Number\",\"IsReadOnly\":false},"               \
	"{\"Name\":\"MemoField\",\"DataType\":\"Memo\",\"IsReadOnly\":false},"                     \
	"{\"Name\":\"CgShape\",\"DataType\":\"Shape\",\"IsReadOnly\":false}]}]}"

#define ATT_META                                                                                   \
	"{\"Classes\":[{\"Name\":\"cgRequests_cgAttachmentsClass\",\"Children\":[],"               \
	"\"Properties\":[{\"Name\":\"Oid\",\"DataType\":\"Integer\",\"IsReadOnly\":true},"         \
	"{\"Name\":\"AttachmentField\",\"DataType\":\"String\",\"IsReadOnly\":false},"             \
	"{\"Name\":\"LinkedField\",\"DataType\":\"Boolean\",\"IsReadOnly\":false}]}]}"

static struct cg_meta *meta_of(const char *a, const char *b)
{
	struct cg_meta *m = NULL;
	struct err e;

	assert_int_equal(cg_meta_new(&m, &e), ERR_OK);
	if (a)
		assert_int_equal(cg_meta_add(m, a, strlen(a), &e), ERR_OK);
	if (b)
		assert_int_equal(cg_meta_add(m, b, strlen(b), &e), ERR_OK);
	return m;
}

static void test_parse(void **state)
{
	struct cg_meta *m = meta_of(REQ_META, ATT_META);
	const struct cg_prop *p;

	(void)state;
	assert_true(cg_meta_has_class(m, "cgRequestsClass"));
	assert_true(cg_meta_has_class(m, "cgRequests_cgAttachmentsClass"));
	assert_false(cg_meta_has_class(m, "cgrequestsclass"));
	assert_int_equal(cg_meta_n_children(m, "cgRequestsClass"), 2);
	assert_string_equal(cg_meta_child(m, "cgRequestsClass", 1), "cgRequests_cgLogClass");
	assert_null(cg_meta_child(m, "cgRequestsClass", 2));
	assert_true(cg_meta_has_child(m, "cgRequestsClass", "cgRequests_cgAttachmentsClass"));
	assert_false(cg_meta_has_child(m, "cgRequests_cgAttachmentsClass", "cgRequestsClass"));

	p = cg_meta_prop(m, "cgRequestsClass", "IssueField");
	assert_non_null(p);
	assert_int_equal(p->type, CG_TYPE_LOOKUP);
	assert_false(p->read_only);
	assert_string_equal(p->lookup_class, "cgRequestIssuesClass");
	p = cg_meta_prop(m, "cgRequestsClass", "IDField");
	assert_true(p->read_only);
	assert_int_equal(p->type, CG_TYPE_STRING);
	assert_null(p->lookup_class);
	p = cg_meta_prop(m, "cgRequestsClass", "RequesterField"); /* no IsReadOnly */
	assert_false(p->read_only);
	p = cg_meta_prop(m, "cgRequestsClass", "MemoField");
	assert_int_equal(p->type, CG_TYPE_UNKNOWN);
	assert_string_equal(p->type_name, "Memo");
	assert_int_equal(cg_meta_prop(m, "cgRequests_cgAttachmentsClass", "LinkedField")->type,
	                 CG_TYPE_BOOLEAN);
	/* exact and case-sensitive, per class */
	assert_null(cg_meta_prop(m, "cgRequestsClass", "descriptionField"));
	assert_null(cg_meta_prop(m, "cgRequestsClass", "AttachmentField"));
	assert_null(cg_meta_prop(m, "NoClass", "Oid"));
	cg_meta_free(m);
}

/* The cache is the set written back and read again. */
static void test_json_round_trip(void **state)
{
	struct cg_meta *m = meta_of(REQ_META, ATT_META), *back;
	struct buf b = BUF_INIT_CAP(1 << 20);
	const struct cg_prop *p;

	(void)state;
	assert_int_equal(cg_meta_json(m, &b), ERR_OK);
	back = meta_of(buf_str(&b), NULL);
	p = cg_meta_prop(back, "cgRequestsClass", "IssueField");
	assert_non_null(p);
	assert_int_equal(p->type, CG_TYPE_LOOKUP);
	assert_string_equal(p->lookup_class, "cgRequestIssuesClass");
	assert_true(cg_meta_prop(back, "cgRequestsClass", "Oid")->read_only);
	assert_string_equal(cg_meta_prop(back, "cgRequestsClass", "MemoField")->type_name, "Memo");
	assert_true(cg_meta_has_child(back, "cgRequestsClass", "cgRequests_cgAttachmentsClass"));
	assert_int_equal(cg_meta_prop(back, "cgRequests_cgAttachmentsClass", "LinkedField")->type,
	                 CG_TYPE_BOOLEAN);
	buf_release(&b);
	cg_meta_free(back);
	cg_meta_free(m);
}

/* A class read again replaces the earlier one. */
static void test_replace(void **state)
{
	static const char again[] =
	    "{\"Classes\":[{\"Name\":\"cgRequestsClass\",\"Properties\":[{\"Name\":\"OnlyField\","
	    "\"DataType\":\"String\"}]}]}";
	struct cg_meta *m = meta_of(REQ_META, again);

	(void)state;
	assert_non_null(cg_meta_prop(m, "cgRequestsClass", "OnlyField"));
	assert_null(cg_meta_prop(m, "cgRequestsClass", "IssueField"));
	assert_int_equal(cg_meta_n_children(m, "cgRequestsClass"), 0);
	cg_meta_free(m);
}

static void refused(const char *json, size_t len, const char *want)
{
	struct cg_meta *m = meta_of(ATT_META, NULL);
	struct err e;

	err_clear(&e);
	if (cg_meta_add(m, json, len, &e) != ERR_PERM)
		fail_msg("accepted: %.80s", json);
	if (!strstr(e.msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, want);
	/* the set is as it was */
	assert_non_null(cg_meta_prop(m, "cgRequests_cgAttachmentsClass", "LinkedField"));
	assert_false(cg_meta_has_class(m, "cgRequestsClass"));
	cg_meta_free(m);
}

static void refused_s(const char *json, const char *want)
{
	refused(json, strlen(json), want);
}

static void test_hostile(void **state)
{
	char *big, *deep, *many;
	size_t n;

	(void)state;
	refused_s("", "not JSON");
	refused_s("{\"Classes\":[", "not JSON");
	refused_s("[1,2]", "no \"Classes\" array");
	refused_s("{\"Classes\":{}}", "no \"Classes\" array");
	refused_s("{\"Classes\":[7]}", "class 1: needs a Name");
	refused_s("{\"Classes\":[{\"Name\":\"\"}]}", "class 1: needs a Name");
	refused_s("{\"Classes\":[{\"Name\":\"a\\nb\"}]}", "class 1: needs a Name");
	refused_s("{\"Classes\":[{\"Name\":\"A\",\"Children\":\"x\"}]}",
	          "Children is not an array");
	refused_s("{\"Classes\":[{\"Name\":\"A\",\"Children\":[1]}]}",
	          "child 1 is not a class name");
	refused_s("{\"Classes\":[{\"Name\":\"A\",\"Properties\":{}}]}",
	          "Properties is not an array");
	refused_s("{\"Classes\":[{\"Name\":\"A\",\"Properties\":[{\"Name\":\"F\"}]}]}",
	          "property 1: needs a Name and a DataType");
	refused_s(
	    "{\"Classes\":[{\"Name\":\"A\",\"Properties\":[{\"Name\":\"F\",\"DataType\":\"String\","
	    "\"IsReadOnly\":\"no\"}]}]}",
	    "IsReadOnly is not a boolean");
	refused_s(
	    "{\"Classes\":[{\"Name\":\"A\",\"Properties\":[{\"Name\":\"F\",\"DataType\":\"Lookup\","
	    "\"LookupClass\":5}]}]}",
	    "LookupClass is not a class name");
	refused_s("{\"Classes\":[{\"Name\":\"A\"},{\"Name\":\"A\"}]}", "class A appears twice");

	/* a name over the limit */
	big = malloc(2 * CG_META_NAME_MAX + 64);
	n = (size_t)snprintf(big, 64, "{\"Classes\":[{\"Name\":\"");
	memset(big + n, 'A', CG_META_NAME_MAX + 1);
	n += CG_META_NAME_MAX + 1;
	n += (size_t)snprintf(big + n, 64, "\"}]}");
	refused(big, n, "needs a Name");
	free(big);

	/* deep nesting: refused, no stack overflow */
	deep = malloc(200000);
	n = (size_t)snprintf(deep, 200000, "{\"Classes\":[{\"Name\":\"A\",\"X\":");
	for (int i = 0; i < 50000; i++)
		deep[n++] = '[';
	refused(deep, n, "not JSON");
	free(deep);

	/* too many classes */
	many = malloc((size_t)64 * 1024);
	n = (size_t)snprintf(many, (size_t)64 * 1024, "{\"Classes\":[");
	for (int i = 0; i <= CG_META_MAX_CLASSES; i++)
		n += (size_t)snprintf(many + n, (size_t)64 * 1024 - n, "%s{\"Name\":\"C%d\"}",
		                      i ? "," : "", i);
	n += (size_t)snprintf(many + n, (size_t)64 * 1024 - n, "]}");
	refused(many, n, "more than 64 classes");
	free(many);

	/* over the byte cap, before any parsing */
	refused("{}", CG_META_MAX_BYTES + 1, "larger than");
}

static void test_suggest(void **state)
{
	struct cg_meta *m = meta_of(REQ_META, ATT_META);
	const char *out[CG_META_SUGGEST_MAX];
	size_t n;

	(void)state;
	/* two neighbours swapped: one edit; DepartureField is too far */
	n = cg_meta_suggest(m, "cgRequestsClass", "DepartmentFeild", out);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "DepartmentField");
	n = cg_meta_suggest(m, "cgRequestsClass", "DepartmentFiel", out);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "DepartmentField");
	/* case only */
	n = cg_meta_suggest(m, "cgRequestsClass", "descriptionfield", out);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "DescriptionField");
	/* the suffix forgotten */
	n = cg_meta_suggest(m, "cgRequestsClass", "Department", out);
	assert_true(n >= 1);
	assert_string_equal(out[0], "DepartmentField");
	/* nothing reasonably close */
	assert_int_equal(cg_meta_suggest(m, "cgRequestsClass", "ZipCodeField", out), 0);
	assert_int_equal(cg_meta_suggest(m, "cgRequestsClass", "Xy", out), 0);
	/* at most three, closest first */
	{
		static const char many[] = "{\"Classes\":[{\"Name\":\"K\",\"Properties\":["
		                           "{\"Name\":\"ColorAField\",\"DataType\":\"String\"},"
		                           "{\"Name\":\"ColorBField\",\"DataType\":\"String\"},"
		                           "{\"Name\":\"ColorCField\",\"DataType\":\"String\"},"
		                           "{\"Name\":\"ColorDField\",\"DataType\":\"String\"},"
		                           "{\"Name\":\"ColourField\",\"DataType\":\"String\"}]}]}";
		struct cg_meta *k = meta_of(many, NULL);
		n = cg_meta_suggest(k, "K", "ColorXField", out);
		assert_int_equal(n, 3);
		assert_string_equal(out[0], "ColorAField");
		assert_string_equal(out[1], "ColorBField");
		assert_string_equal(out[2], "ColorCField");
		n = cg_meta_suggest(k, "K", "ColourFild", out);
		assert_int_equal(n, 1);
		assert_string_equal(out[0], "ColourField");
		cg_meta_free(k);
	}
	/* unknown class: nothing */
	assert_int_equal(cg_meta_suggest(m, "NoClass", "DepartmentFeild", out), 0);
	cg_meta_free(m);
}

/* ---- the check ----------------------------------------------------------- */

static struct cfg *config(const char *fields, const char *types)
{
	char text[8192];
	struct cfg *c = NULL;
	struct err e;

	snprintf(text, sizeof(text),
	         "<?xml version=\"1.0\"?>\n"
	         "<scfgate half=\"oms\" version=\"1\">\n"
	         "  <spool><root>/r</root><producer>oms</producer><privateKey>/k</privateKey>"
	         "<peerPublicKey>/p</peerPublicKey></spool>\n"
	         "  <cartegraph>\n"
	         "    <baseUrl>https://cg.example.org/City</baseUrl>\n"
	         "    <credentials>/c</credentials>\n"
	         "%s"
	         "  </cartegraph>\n"
	         "  <requestTypes>\n%s  </requestTypes>\n"
	         "</scfgate>\n",
	         fields ? fields : "",
	         types ? types : "    <requestType id=\"122\" remoteId=\"Pothole\"/>\n");
	err_clear(&e);
	if (cfg_load_mem(text, strlen(text), "t.xml", CFG_NO_FILE_CHECKS, &c, &e) != ERR_OK)
		fail_msg("config: %s", e.msg);
	return c;
}

static size_t check(const struct cfg *c, const struct cg_meta *m, struct buf *out)
{
	size_t n = 99;

	buf_reset(out);
	assert_int_equal(cg_check_fields(c, m, out, &n), ERR_OK);
	return n;
}

static void test_check_good(void **state)
{
	struct cfg *c = config(NULL, NULL);
	struct cg_meta *m = meta_of(REQ_META, ATT_META);
	struct buf out = BUF_INIT_CAP(1 << 20);

	(void)state;
	assert_int_equal(check(c, m, &out), 0);
	assert_int_equal(out.len, 0);
	buf_release(&out);
	cg_meta_free(m);
	cfg_free(c);
}

static void test_check_findings(void **state)
{
	struct cfg *c = config("    <fields>\n"                                             /* 7 */
	                       "      <description field=\"DepartmentFeild\"/>\n"           /* 8 */
	                       "      <comments field=\"TasksField\"/>\n"                   /* 9 */
	                       "      <notes field=\"IDField\"/>\n"                         /* 10 */
	                       "      <location lat=\"LatField\" lng=\"ProgressField\"/>\n" /* 11 */
	                       "      <externalId field=\"CgShape\"/>\n"                    /* 12 */
	                       "      <linked field=\"AttachmentField\"/>\n"                /* 13 */
	                       "    </fields>\n",
	                       "    <requestType id=\"122\" remoteId=\"Pothole\">\n"    /* 17 */
	                       "      <customField field=\"MemoField\" value=\"x\"/>\n" /* 18 */
	                       "      <customField field=\"ZoneField\" value=\"x\"/>\n" /* 19 */
	                       "    </requestType>\n");
	struct cg_meta *m = meta_of(REQ_META, ATT_META);
	struct buf out = BUF_INIT_CAP(1 << 20);
	const char *want =
	    "t.xml:11: location: field 'LatField' does not exist on class cgRequestsClass\n"
	    "t.xml:8: description: field 'DepartmentFeild' does not exist on class "
	    "cgRequestsClass (did you mean 'DepartmentField'?)\n"
	    "t.xml:9: comments: field 'TasksField' on class cgRequestsClass has type Number; the "
	    "gateway sends a string\n"
	    "t.xml:10: notes: field 'IDField' on class cgRequestsClass is read-only, and the "
	    "gateway writes it\n"
	    "t.xml:12: externalId: field 'CgShape' on class cgRequestsClass has type Shape; the "
	    "gateway sends the SCF issue id\n"
	    "t.xml:13: linked: field 'AttachmentField' on class cgRequests_cgAttachmentsClass has "
	    "type String; the gateway sends a boolean\n"
	    "t.xml:19: customField: field 'ZoneField' does not exist on class cgRequestsClass\n";

	(void)state;
	/* lng=ProgressField is a Number: fits; MemoField as a custom text: fits */
	assert_int_equal(check(c, m, &out), 7);
	assert_string_equal(buf_str(&out), want);
	buf_release(&out);
	cg_meta_free(m);
	cfg_free(c);
}

/* A default name that is missing names the <fields> (or <cartegraph>) line. */
static void test_check_defaults_and_classes(void **state)
{
	static const char no_notes[] =
	    "{\"Classes\":[{\"Name\":\"cgRequestsClass\",\"Children\":[\"OtherClass\"],"
	    "\"Properties\":[{\"Name\":\"IssueField\",\"DataType\":\"Boolean\"}]}]}";
	struct cfg *c = config(NULL, NULL);
	struct cg_meta *m = meta_of(no_notes, NULL), *none = meta_of(NULL, NULL);
	struct buf out = BUF_INIT_CAP(1 << 20);

	(void)state;
	check(c, m, &out);
	assert_non_null(strstr(
	    buf_str(&out), "t.xml:4: attachmentClass: class cgRequests_cgAttachmentsClass is "
	                   "not a child class of cgRequestsClass (its children: OtherClass)\n"));
	assert_non_null(strstr(buf_str(&out),
	                       "t.xml:4: notes: field 'NotesField' (the default name) does not "
	                       "exist on class cgRequestsClass\n"));
	assert_non_null(strstr(buf_str(&out), "t.xml:4: issue: field 'IssueField' on class "
	                                      "cgRequestsClass has type Boolean; the gateway "
	                                      "sends a lookup value (a string)\n"));
	/* the attachment class's own fields are not reported on top */
	assert_null(strstr(buf_str(&out), "AttachmentField"));
	assert_int_equal(check(c, none, &out), 1);
	assert_string_equal(buf_str(&out), "t.xml:4: requestClass: class cgRequestsClass does not "
	                                   "exist in Cartegraph\n");
	buf_release(&out);
	cg_meta_free(m);
	cg_meta_free(none);
	cfg_free(c);
}

static void test_unknown_field_reply(void **state)
{
	static const char msg[] =
	    "{\"Message\":\"Field 'AttachmentField' does not exist on class cgRequestsClass.\"}";
	static const char errs[] =
	    "{\"Message\":\"The cgRequestsClass record could not be saved.\",\"Errors\":[{\"GUID\":"
	    "\"x\",\"FieldName\":\"NoSuchField\",\"Message\":\"The field does not exist on this "
	    "class.\"}]}";
	static const char type[] =
	    "{\"Errors\":[{\"FieldName\":\"TasksField\",\"Message\":\"The value is not valid.\"}]}";
	static const char query[] =
	    "{\"Message\":\"Invalid field 'StatusField' for class cgRequestsClass.\"}";
	char name[64];

	(void)state;
	assert_true(cg_check_unknown_field(msg, strlen(msg), name, sizeof(name)));
	assert_string_equal(name, "AttachmentField");
	assert_true(cg_check_unknown_field(errs, strlen(errs), name, sizeof(name)));
	assert_string_equal(name, "NoSuchField");
	assert_false(cg_check_unknown_field(type, strlen(type), name, sizeof(name)));
	assert_true(cg_check_unknown_field(query, strlen(query), name, sizeof(name)));
	assert_string_equal(name, "StatusField");
	assert_false(cg_check_unknown_field("{\"Message\":\"Bad.\"}", 18, name, sizeof(name)));
	assert_false(cg_check_unknown_field("not json", 8, name, sizeof(name)));
	assert_false(cg_check_unknown_field(msg, strlen(msg), name, 4)); /* does not fit */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_replace),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_suggest),
	    cmocka_unit_test(test_check_good),
	    cmocka_unit_test(test_check_findings),
	    cmocka_unit_test(test_check_defaults_and_classes),
	    cmocka_unit_test(test_unknown_field_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
