/*
 * test_cfg.c: configuration loading with the real embedded XSD, real
 * files and real file modes: defaults, FILE:LINE:element errors, the
 * semantic checks, secrets, the example, the CSV import.
 */
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

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "cfg.h"
#include "map.h"
#include "seal.h"
#include "sig.h"

static char tmpdir[] = "/tmp/scfgate-cfg-XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *path_in(const char *name)
{
	static char p[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(tmpdir));
	mkdir(path_in("spool"), 0700);
	write_file(path_in("scf.key"), "k\n", 0600);
	write_file(path_in("oms.pub"), "p\n", 0644);
	write_file(path_in("scf.token"), "tok\n", 0600);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A minimal scf-half configuration; extra is spliced in before </scfgate>
 * and scf_extra inside <scf>. */
static char *minimal(const char *scf_extra, const char *extra, const char *types)
{
	static char x[16384];
	snprintf(x, sizeof(x),
	         "<?xml version=\"1.0\"?>\n"
	         "<scfgate half=\"scf\">\n"
	         "  <spool>\n"
	         "    <root>%s/spool</root>\n"
	         "    <producer>scf</producer>\n"
	         "    <privateKey>%s/scf.key</privateKey>\n"
	         "    <peerPublicKey>%s/oms.pub</peerPublicKey>\n"
	         "  </spool>\n"
	         "  <scf>\n"
	         "    <organization>42</organization>\n"
	         "    <credentials>%s/scf.token</credentials>\n"
	         "%s"
	         "  </scf>\n"
	         "  <requestTypes>\n"
	         "%s"
	         "  </requestTypes>\n"
	         "%s"
	         "</scfgate>\n",
	         tmpdir, tmpdir, tmpdir, tmpdir, scf_extra ? scf_extra : "",
	         types ? types : "    <requestType id=\"122\" remoteId=\"Pothole\"/>\n",
	         extra ? extra : "");
	return x;
}

static enum err_status load(const char *xml, unsigned flags, struct cfg **c, struct err *e)
{
	err_clear(e);
	return cfg_load_mem(xml, strlen(xml), "t.xml", flags, c, e);
}

static void test_minimal_defaults(void **state)
{
	struct cfg *c;
	struct err e;

	assert_int_equal(load(minimal(NULL, NULL, NULL), 0, &c, &e), ERR_OK);
	assert_int_equal(c->half, CFG_HALF_SCF);
	assert_string_equal(c->scf.base_url, "https://seeclickfix.com/api/v2");
	assert_int_equal(c->scf.org_id, 42);
	assert_int_equal(c->scf.auth, CFG_SCF_AUTH_BEARER);
	assert_int_equal(c->scf.rate_per_minute, 20);
	assert_int_equal(c->scf.per_page, 20);
	assert_int_equal(c->scf.poll_seconds, 300);
	assert_int_equal(c->scf.overlap_seconds, 120);
	assert_int_equal(c->scf.forward_system, 0);
	assert_non_null(strstr(c->scf.user_agent, "scfgate"));
	assert_int_equal(c->spool.grace_seconds, 300);
	assert_int_equal(c->spool.gap_alarm_seconds, 3600);
	assert_int_equal(c->log_level, CFG_LOG_INFO);
	/* the seed's status table */
	assert_int_equal(c->n_status, 4);
	int known = 0;
	assert_null(cfg_oms_status(c, "Open", &known));
	assert_true(known);
	assert_string_equal(cfg_oms_status(c, "Acknowledged", NULL), "Open");
	assert_string_equal(cfg_oms_status(c, "Closed", NULL), "Closed");
	assert_string_equal(cfg_oms_status(c, "Archived", NULL), "Closed");
	assert_null(cfg_oms_status(c, "Bogus", &known));
	assert_false(known);
	assert_non_null(strstr(c->messages.ack, "{request_id}"));
	assert_non_null(c->messages.closing);
	assert_non_null(cfg_request_type(c, 122));
	assert_null(cfg_request_type(c, 123));
	assert_string_equal(cfg_request_type(c, 122)->title, "");
	assert_null(cfg_request_type(c, 122)->closing_message);
	assert_int_equal(cfg_request_type(c, 122)->line, 14);
	assert_null(c->cg.base_url); /* no <cartegraph> */
	cfg_free(c);
}

static const char cg_section[] = "  <cartegraph>\n"
                                 "    <baseUrl>https://cg.example.org/City</baseUrl>\n"
                                 "    <credentials>/nonexistent/cg.cred</credentials>\n"
                                 "  </cartegraph>\n";

static void test_cartegraph_defaults(void **state)
{
	struct cfg *c;
	struct err e;

	assert_int_equal(load(minimal(NULL, cg_section, NULL), 0, &c, &e), ERR_OK);
	/* the scf half does not need the oms half's credential file */
	assert_string_equal(c->cg.request_class, "cgRequestsClass");
	assert_string_equal(c->cg.attachment_class, "cgRequests_cgAttachmentsClass");
	assert_int_equal(c->cg.auth, CFG_CG_AUTH_BASIC);
	assert_string_equal(c->cg.requester_field, "RequesterField");
	assert_string_equal(c->cg.requester_name, "SeeClickFix");
	assert_string_equal(c->cg.issue_field, "IssueField");
	assert_int_equal(c->cg.geo, CFG_GEO_CGSHAPE);
	assert_string_equal(c->cg.shape_field, "CgShape");
	assert_string_equal(c->cg.description_field, "DescriptionField");
	assert_string_equal(c->cg.location_field, "LocationDescriptionField");
	assert_string_equal(c->cg.attachment_field, "AttachmentField");
	assert_string_equal(c->cg.linked_field, "LinkedField");
	assert_string_equal(c->cg.comments_field, "CommentsField");
	assert_string_equal(c->cg.notes_field, "NotesField");
	assert_string_equal(c->cg.id_field, "IDField");
	assert_string_equal(c->cg.status_field, "StatusField");
	assert_null(c->cg.external_id_field);
	assert_int_equal(c->cg.n_closed_values, 1);
	assert_true(cfg_is_closed_value(c, "Closed"));
	assert_false(cfg_is_closed_value(c, "Open"));
	assert_int_equal(c->cg.poll_seconds, 300);
	assert_int_equal(c->cg.concurrency, 2);
	assert_int_equal(c->cg.backoff_ms, 500);
	/* later comments go to the gateway's own field, not the notes */
	assert_int_equal(c->cg.comment_route, CFG_COMMENTS_FIELD);
	assert_string_equal(c->cg.comment_class, "cgRequestsClass");
	assert_string_equal(c->cg.comment_field, "CommentsField");
	assert_int_equal(c->cg.comment_line, 0);
	cfg_free(c);
}

/* <cartegraph> with comments_xml after <fields> (fields_xml inside it). */
static char *cg_comments(const char *fields_xml, const char *comments_xml)
{
	static char x[2048];
	snprintf(x, sizeof(x),
	         "  <cartegraph>\n"
	         "    <baseUrl>https://cg.example.org/City</baseUrl>\n"
	         "    <credentials>/nonexistent/cg.cred</credentials>\n"
	         "    <fields>\n%s    </fields>\n"
	         "%s"
	         "  </cartegraph>\n",
	         fields_xml ? fields_xml : "", comments_xml);
	return minimal(NULL, x, NULL);
}

static void test_comment_routes(void **state)
{
	struct {
		const char *fields, *comments;
		enum cfg_comment_route route;
		const char *cls, *field;
	} ok[] = {
	    {NULL, "    <comments/>\n", CFG_COMMENTS_FIELD, "cgRequestsClass", "CommentsField"},
	    {"      <comments field=\"PublicCommentsField\"/>\n",
	     "    <comments route=\"field\"/>\n", CFG_COMMENTS_FIELD, "cgRequestsClass",
	     "PublicCommentsField"},
	    {NULL, "    <comments route=\"field\" field=\"SCFCommentsField\"/>\n",
	     CFG_COMMENTS_FIELD, "cgRequestsClass", "SCFCommentsField"},
	    {"      <notes field=\"CrewNotesField\"/>\n", "    <comments route=\"notes\"/>\n",
	     CFG_COMMENTS_NOTES, "cgRequestsClass", "CrewNotesField"},
	    {NULL,
	     "    <comments route=\"child\" class=\"cgRequests_cgCommentsClass\" "
	     "textField=\"CommentField\"/>\n",
	     CFG_COMMENTS_CHILD, "cgRequests_cgCommentsClass", "CommentField"},
	};
	struct {
		const char *comments, *want;
	} bad[] = {
	    {"    <comments route=\"chat\"/>\n", "t.xml:21: comments: "},
	    {"    <comments route=\"child\" class=\"cgRequests_cgCommentsClass\"/>\n",
	     "t.xml:21: comments: route=\"child\" needs class= (the child class of "
	     "cgRequestsClass) and textField="},
	    {"    <comments route=\"child\" class=\"cgRequestsClass\" textField=\"X\"/>\n",
	     "t.xml:21: comments: class=\"cgRequestsClass\" must be a child class of its own"},
	    {"    <comments route=\"child\" class=\"C\" textField=\"X\" field=\"Y\"/>\n",
	     "t.xml:21: comments: field= goes with route=\"field\""},
	    {"    <comments class=\"cgRequests_cgCommentsClass\"/>\n",
	     "t.xml:21: comments: class= and textField= go with route=\"child\""},
	    {"    <comments route=\"notes\" field=\"CommentsField\"/>\n",
	     "t.xml:21: comments: route=\"notes\" writes the <fields><notes> field (NotesField)"},
	    {"    <comments field=\"NotesField\"/>\n",
	     "t.xml:21: comments: field=\"NotesField\" is the notes field, which people write "
	     "too; route=\"field\" needs a field that only the gateway writes"},
	    {"    <comments field=\"DescriptionField\"/>\n",
	     "t.xml:21: comments: field=\"DescriptionField\" is already filled by the field map"},
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct cfg *c = NULL;
		struct err e;
		struct buf d = BUF_INIT_CAP(4096);
		if (load(cg_comments(ok[i].fields, ok[i].comments), 0, &c, &e) != ERR_OK)
			fail_msg("ok case %zu: %s", i, e.msg);
		assert_int_equal(c->cg.comment_route, ok[i].route);
		assert_string_equal(c->cg.comment_class, ok[i].cls);
		assert_string_equal(c->cg.comment_field, ok[i].field);
		assert_int_equal(c->cg.comment_line, ok[i].fields ? 22 : 21);
		assert_int_equal(cfg_describe(c, &d), ERR_OK);
		assert_non_null(strstr(buf_str(&d), ok[i].field));
		assert_true(!strstr(buf_str(&d), "a note written between the read and the write is "
		                                 "lost") == (ok[i].route != CFG_COMMENTS_NOTES));
		buf_release(&d);
		cfg_free(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg *c = NULL;
		struct err e;
		enum err_status st = load(cg_comments(NULL, bad[i].comments), 0, &c, &e);
		if (st == ERR_OK || !strstr(e.msg, bad[i].want))
			fail_msg("bad case %zu: status %d, message \"%s\", wanted \"%s\"", i, st,
			         e.msg, bad[i].want);
		assert_null(c);
	}
	/* Without field=, the route's field is <fields><comments>: the same rule. */
	{
		struct cfg *c = NULL;
		struct err e;
		assert_int_not_equal(
		    load(cg_comments("      <comments field=\"NotesField\"/>\n", ""), 0, &c, &e),
		    ERR_OK);
		if (!strstr(e.msg, "t.xml:20: comments: field=\"NotesField\" is the notes field, "
		                   "which people write too"))
			fail_msg("message \"%s\"", e.msg);
		assert_null(c);
	}
}

static void test_example_passes(void **state)
{
	for (int h = CFG_HALF_SCF; h <= CFG_HALF_OMS; h++) {
		struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
		struct cfg *c;
		struct err e;
		assert_int_equal(cfg_example((enum cfg_half)h, &b), ERR_OK);
		err_clear(&e);
		assert_int_equal(cfg_load_mem(b.data, b.len, "example", CFG_NO_FILE_CHECKS, &c, &e),
		                 ERR_OK);
		assert_int_equal(c->half, h);
		assert_int_equal(c->n_types, 3);
		const struct cfg_request_type *rt = cfg_request_type(c, 122);
		assert_non_null(rt);
		assert_int_equal(rt->n_custom, 2);
		assert_int_equal(rt->custom[0].kind, CFG_CUSTOM_STATIC);
		assert_int_equal(rt->custom[1].kind, CFG_CUSTOM_ANSWER);
		assert_string_equal(rt->custom[1].question, "Is it hazardous?");
		assert_string_equal(rt->custom[1].value, "No");
		assert_string_equal(c->cg.external_id_field, "SeeClickFixIDField");
		assert_int_equal(c->scf.n_system_accounts, 1);
		assert_string_equal(c->spool.producer, h == CFG_HALF_SCF ? "scf" : "oms");
		/* both descriptions work on it */
		buf_reset(&b);
		assert_int_equal(cfg_describe(c, &b), ERR_OK);
		assert_non_null(strstr(b.data, "Garbage Cart"));
		buf_reset(&b);
		assert_int_equal(cfg_describe_json(c, &b), ERR_OK);
		cJSON *j = cJSON_Parse(b.data);
		assert_non_null(j);
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "request_types")), 3);
		cJSON_Delete(j);
		cfg_free(c);
		buf_release(&b);
	}
}

/* The example's element line "    <NAME>...</NAME> -->" taken out of its
 * comment: the comment is closed before it and not after it. */
static void uncomment(struct buf *b, const char *name)
{
	char open_tag[64], *at, *end, *tail;
	size_t head;
	struct buf o = BUF_INIT_CAP(BUF_DEFAULT_CAP);

	snprintf(open_tag, sizeof(open_tag), "    <%s>", name);
	at = strstr(buf_str(b), open_tag);
	assert_non_null(at);
	end = strstr(at, " -->\n");
	assert_non_null(end);
	assert_null(memchr(at, '\n', (size_t)(end - at))); /* on the element's line */
	head = (size_t)(at - b->data);
	tail = end + strlen(" -->");
	assert_int_equal(buf_add(&o, b->data, head), ERR_OK);
	assert_int_equal(buf_adds(&o, " -->\n"), ERR_OK);
	assert_int_equal(buf_add(&o, at, (size_t)(end - at)), ERR_OK);
	assert_int_equal(buf_adds(&o, tail), ERR_OK);
	buf_reset(b);
	assert_int_equal(buf_add(b, o.data, o.len), ERR_OK);
	buf_release(&o);
}

/* The example shows the encrypted-bundle elements commented out; taken
 * out of their comments they load, with this half's own key to decrypt
 * with and the other half's to encrypt to. */
static void test_example_encryption(void **state)
{
	(void)state;
	for (int h = CFG_HALF_SCF; h <= CFG_HALF_OMS; h++) {
		const char *self = h == CFG_HALF_SCF ? "scf" : "oms";
		const char *peer = h == CFG_HALF_SCF ? "oms" : "scf";
		struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
		char want[128];
		struct cfg *c;
		struct err e;

		assert_int_equal(cfg_example((enum cfg_half)h, &b), ERR_OK);
		err_clear(&e);
		assert_int_equal(cfg_load_mem(b.data, b.len, "example", CFG_NO_FILE_CHECKS, &c, &e),
		                 ERR_OK);
		assert_null(c->spool.bundle_decryption_key);
		assert_int_equal(c->spool.require_encrypted_bundles, 0);
		assert_null(c->spool.bundle_recipient_key);
		cfg_free(c);
		uncomment(&b, "bundleDecryptionKey");
		uncomment(&b, "requireEncryptedBundles");
		uncomment(&b, "bundleRecipientKey");
		assert_int_equal(cfg_load_mem(b.data, b.len, "example", CFG_NO_FILE_CHECKS, &c, &e),
		                 ERR_OK);
		snprintf(want, sizeof(want), "/etc/scfgate/%s.x25519.key", self);
		assert_string_equal(c->spool.bundle_decryption_key, want);
		assert_int_equal(c->spool.require_encrypted_bundles, 1);
		snprintf(want, sizeof(want), "/etc/scfgate/%s.x25519.pub", peer);
		assert_string_equal(c->spool.bundle_recipient_key, want);
		cfg_free(c);
		buf_release(&b);
	}
}

struct bad_case {
	const char *scf_extra, *extra, *types;
	const char *want; /* substring of the one-line error */
};

static void test_errors_name_file_line_element(void **state)
{
	static const struct bad_case cases[] = {
	    {"    <bogus>1</bogus>\n", NULL, NULL, "t.xml:12: bogus: "},
	    {"    <ratePerMinute>0</ratePerMinute>\n", NULL, NULL, "t.xml:12: ratePerMinute: "},
	    {"    <perPage>100</perPage>\n", NULL, NULL, "t.xml:12: perPage: "},
	    {"    <baseUrl>http://scf.example.org/api/v2</baseUrl>\n", NULL, NULL,
	     "t.xml:12: baseUrl: http://scf.example.org/api/v2: plain http is allowed only for "
	     "a loopback host"},
	    {"    <baseUrl>ftp://x/</baseUrl>\n", NULL, NULL, "t.xml:12: baseUrl: "},
	    {NULL, NULL,
	     "    <requestType id=\"122\" remoteId=\"A\"/>\n"
	     "    <requestType id=\"122\" remoteId=\"B\"/>\n",
	     "t.xml:15: requestType: request type id 122 is already mapped at line 14"},
	    {NULL, NULL, "    <requestType id=\"0\" remoteId=\"A\"/>\n", "t.xml:14: requestType: "},
	    {NULL, NULL, "    <requestType id=\"5\"/>\n", "t.xml:14: requestType: "},
	    {NULL, NULL,
	     "    <requestType id=\"5\" remoteId=\"A\">\n"
	     "      <closingMessage>Done {requestid}.</closingMessage>\n"
	     "    </requestType>\n",
	     "t.xml:15: closingMessage: unknown placeholder {requestid}"},
	    {NULL, "  <messages><acknowledgment>Hi {oid</acknowledgment></messages>\n", NULL,
	     "t.xml:16: acknowledgment: unclosed '{'"},
	    {NULL, "  <messages><closing>a } b</closing></messages>\n", NULL,
	     "t.xml:16: closing: lone '}'"},
	    {NULL, NULL,
	     "    <requestType id=\"5\" remoteId=\"A\">\n"
	     "      <customField field=\"XField\" value=\"1\" question=\"Q?\"/>\n"
	     "    </requestType>\n",
	     "t.xml:15: customField: give either value="},
	    {NULL, NULL,
	     "    <requestType id=\"5\" remoteId=\"A\">\n"
	     "      <customField field=\"XField\"/>\n"
	     "    </requestType>\n",
	     "t.xml:15: customField: needs value="},
	    {NULL, NULL,
	     "    <requestType id=\"5\" remoteId=\"A\">\n"
	     "      <customField field=\"X Field\" value=\"1\"/>\n"
	     "    </requestType>\n",
	     "t.xml:15: customField: "},
	    {NULL, "  <log level=\"loud\"/>\n", NULL, "t.xml:16: log: "},
	    {NULL,
	     "  <cartegraph>\n    <baseUrl>https://cg.example.org/City</baseUrl>\n"
	     "    <credentials>/x</credentials>\n    <backoffMilliseconds>9</backoffMilliseconds>\n"
	     "  </cartegraph>\n",
	     NULL, "t.xml:19: backoffMilliseconds: "},
	    {NULL,
	     "  <cartegraph>\n    <baseUrl>https://cg.example.org/City</baseUrl>\n"
	     "    <credentials>/x</credentials>\n"
	     "    <backoffMilliseconds>60001</backoffMilliseconds>\n  </cartegraph>\n",
	     NULL, "t.xml:19: backoffMilliseconds: "},
	    {NULL,
	     "  <statusMap><status scf=\"Open\"/>\n<status scf=\"Open\" oms=\"X\"/></statusMap>\n",
	     NULL, "t.xml:17: status: SCF status Open is mapped twice"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg *c = NULL;
		struct err e;
		enum err_status st =
		    load(minimal(cases[i].scf_extra, cases[i].extra, cases[i].types), 0, &c, &e);
		if (st == ERR_OK || !strstr(e.msg, cases[i].want))
			fail_msg("case %zu: status %d, message \"%s\", wanted \"%s\"", i, st, e.msg,
			         cases[i].want);
		assert_int_equal(st, ERR_FATAL);
		assert_null(c);
		assert_null(strchr(e.msg, '\n'));
	}
}

/* <cartegraph><templates> and the per-type acknowledgment message: the
 * values as written (indentation of multi-line text removed), the
 * defaults when absent, and what config check shows. */
static void test_templates_and_type_ack(void **state)
{
	static const char cg_tpl[] =
	    "  <cartegraph>\n"
	    "    <baseUrl>https://cg.example.org/City</baseUrl>\n"
	    "    <credentials>/nonexistent/cg.cred</credentials>\n"
	    "    <templates>\n"
	    "      <description>\n"
	    "        {summary} ({request_type})\n"
	    "\n"
	    "        {description}\n"
	    "        Reported by {reporter} at {address}\n"
	    "\n"
	    "        {questions}\n"
	    "      </description>\n"
	    "      <comment>{commenter} wrote on {created_at}: {text}</comment>\n"
	    "    </templates>\n"
	    "  </cartegraph>\n";
	static const char types[] =
	    "    <requestType id=\"122\" remoteId=\"Pothole\">\n"
	    "      <acknowledgmentMessage>Pothole {request_id} noted.</acknowledgmentMessage>\n"
	    "      <closingMessage>Pothole {request_id} filled.</closingMessage>\n"
	    "    </requestType>\n"
	    "    <requestType id=\"123\" remoteId=\"Other\"/>\n";
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct cfg *c;
	struct err e;

	if (load(minimal(NULL, cg_tpl, types), 0, &c, &e) != ERR_OK)
		fail_msg("%s", e.msg);
	assert_string_equal(c->cg.description_template,
	                    "{summary} ({request_type})\n\n{description}\n"
	                    "Reported by {reporter} at {address}\n\n{questions}");
	assert_string_equal(c->cg.comment_template, "{commenter} wrote on {created_at}: {text}");
	assert_int_equal(c->cg.description_template_line, 24);
	assert_int_equal(c->cg.comment_template_line, 32);
	assert_string_equal(cfg_request_type(c, 122)->ack_message, "Pothole {request_id} noted.");
	assert_string_equal(cfg_request_type(c, 122)->closing_message,
	                    "Pothole {request_id} filled.");
	assert_null(cfg_request_type(c, 123)->ack_message);
	assert_int_equal(cfg_describe(c, &b), ERR_OK);
	assert_non_null(strstr(b.data, "  templates:\n    description (line 24):\n"
	                               "      | {summary} ({request_type})\n      | \n"
	                               "      | {description}\n"));
	assert_non_null(strstr(b.data, "    comment (line 32):\n"
	                               "      | {commenter} wrote on {created_at}: {text}\n"));
	assert_non_null(
	    strstr(b.data, "    acknowledgment message: Pothole {request_id} noted.\n"));
	buf_reset(&b);
	assert_int_equal(cfg_describe_json(c, &b), ERR_OK);
	cJSON *j = cJSON_Parse(b.data);
	assert_non_null(j);
	cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "cartegraph"), "templates");
	assert_string_equal(cJSON_GetObjectItem(t, "comment")->valuestring, c->cg.comment_template);
	cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "request_types"), 0);
	assert_string_equal(cJSON_GetObjectItem(t0, "acknowledgment_message")->valuestring,
	                    "Pothole {request_id} noted.");
	cJSON_Delete(j);
	cfg_free(c);

	/* absent: the defaults, shown as such */
	assert_int_equal(load(minimal(NULL, cg_section, NULL), 0, &c, &e), ERR_OK);
	assert_string_equal(c->cg.description_template, TEXT_DESCRIPTION_DEFAULT);
	assert_string_equal(c->cg.comment_template, TEXT_COMMENT_DEFAULT);
	assert_int_equal(c->cg.description_template_line, 0);
	buf_reset(&b);
	assert_int_equal(cfg_describe(c, &b), ERR_OK);
	assert_non_null(strstr(b.data, "    description (default):\n      | {summary}\n      | \n"
	                               "      | {description}\n      | \n      | {questions}\n"));
	cfg_free(c);
	buf_release(&b);
}

/* A template error names the line of the placeholder in the file, not
 * only the element's first line; a template that would drop what the
 * resident wrote is refused. */
static void test_template_errors_name_the_line(void **state)
{
	static const struct {
		const char *templates, *types, *want;
	} cases[] = {
	    {"      <description>\n"
	     "        {summary}\n"
	     "\n"
	     "        {description} {sumary}\n"
	     "        {questions}\n"
	     "      </description>\n",
	     NULL, "t.xml:23: description: unknown placeholder {sumary}; known: {summary} "},
	    {"      "
	     "<description>{summary}\n{description}\n{questions}\n{request_id}</description>\n",
	     NULL, "t.xml:23: description: unknown placeholder {request_id}"},
	    {"      <description>{summary}\n{description} }\n{questions}</description>\n", NULL,
	     "t.xml:21: description: lone '}'"},
	    {"      <comment>{created_at}\n{commenter}: {text} {summary}</comment>\n", NULL,
	     "t.xml:21: comment: unknown placeholder {summary}; known: {created_at} {commenter} "
	     "{text} {comment_id} {issue_id}"},
	    {"      <comment>{created_at} {commenter}: {{text}}</comment>\n", NULL,
	     "t.xml:20: comment: the template has no {text}"},
	    {"      <description>{summary}\n\n{description}</description>\n", NULL,
	     "t.xml:20: description: the template has no {questions}"},
	    {"      <description>{description} {questions}</description>\n", NULL,
	     "t.xml:20: description: the template has no {summary}"},
	    {"      <comment></comment>\n", NULL, "t.xml:20: comment: "},
	    {"",
	     "    <requestType id=\"5\" remoteId=\"A\">\n"
	     "      <acknowledgmentMessage>Thanks,\n"
	     "        {requestid}.</acknowledgmentMessage>\n"
	     "    </requestType>\n",
	     "t.xml:16: acknowledgmentMessage: unknown placeholder {requestid}"},
	    /* the XSD's order: the acknowledgment before the closing message */
	    {"",
	     "    <requestType id=\"5\" remoteId=\"A\">\n"
	     "      <closingMessage>Done.</closingMessage>\n"
	     "      <acknowledgmentMessage>Thanks.</acknowledgmentMessage>\n"
	     "    </requestType>\n",
	     "t.xml:16: acknowledgmentMessage: "},
	};
	char extra[4096];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg *c = NULL;
		struct err e;
		enum err_status st;
		snprintf(extra, sizeof(extra),
		         "  <cartegraph>\n"
		         "    <baseUrl>https://cg.example.org/City</baseUrl>\n"
		         "    <credentials>/nonexistent/cg.cred</credentials>\n"
		         "    <templates>\n%s    </templates>\n"
		         "  </cartegraph>\n",
		         cases[i].templates);
		st = load(minimal(NULL, extra, cases[i].types), 0, &c, &e);
		if (st == ERR_OK || !strstr(e.msg, cases[i].want))
			fail_msg("case %zu: status %d, message \"%s\", wanted \"%s\"", i, st, e.msg,
			         cases[i].want);
		assert_int_equal(st, ERR_FATAL);
		assert_null(c);
		assert_null(strchr(e.msg, '\n'));
	}
}

static void test_loopback_http_allowed(void **state)
{
	static const char *const ok[] = {"http://127.0.0.1:8080/api/v2", "http://localhost/api",
	                                 "http://[::1]:99/x", "http://127.1.2.3/"};
	static const char *const bad[] = {"http://127.0.0.1.evil.org/", "http://localhost.evil/",
	                                  "http://10.0.0.1/"};
	char extra[256];
	struct cfg *c;
	struct err e;

	for (size_t i = 0; i < 4; i++) {
		snprintf(extra, sizeof(extra), "    <baseUrl>%s</baseUrl>\n", ok[i]);
		if (load(minimal(extra, NULL, NULL), 0, &c, &e) != ERR_OK)
			fail_msg("%s: %s", ok[i], e.msg);
		cfg_free(c);
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(extra, sizeof(extra), "    <baseUrl>%s</baseUrl>\n", bad[i]);
		assert_int_equal(load(minimal(extra, NULL, NULL), 0, &c, &e), ERR_FATAL);
		assert_non_null(strstr(e.msg, "loopback"));
	}
}

static void test_parser_refusals(void **state)
{
	struct cfg *c;
	struct err e;
	char xml[16384];

	/* an external entity is never read: the DOCTYPE itself is refused */
	snprintf(xml, sizeof(xml),
	         "<?xml version=\"1.0\"?>\n<!DOCTYPE scfgate [\n"
	         "<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n%s",
	         strstr(minimal(NULL, NULL, NULL), "<scfgate"));
	assert_int_equal(load(xml, 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "DOCTYPE"));

	assert_int_equal(load("<scfgate half=\"scf\">\n<spool>\n</scfgate>", 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:3: not well-formed XML"));

	assert_int_equal(load("", 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "not well-formed"));

	/* the half decides which section is required */
	snprintf(xml, sizeof(xml), "%s", minimal(NULL, NULL, NULL));
	/* a patch inside a string: its NUL stays */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(strstr(xml, "half=\"scf\""), "half=\"oms\"", 10);
	assert_int_equal(load(xml, 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:2: scfgate: half=\"oms\" needs a <cartegraph>"));

	/* location: shape or lat+lng */
	snprintf(xml, sizeof(xml), "%s",
	         minimal(NULL,
	                 "  <cartegraph><baseUrl>https://x/</baseUrl><credentials>c</credentials>\n"
	                 "  <fields><location lat=\"LatField\"/></fields></cartegraph>\n",
	                 NULL));
	assert_int_equal(load(xml, 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:17: location: lat= and lng= go together"));

	/* a custom field may not overwrite the field map */
	snprintf(xml, sizeof(xml), "%s",
	         minimal(NULL, cg_section,
	                 "    <requestType id=\"5\" remoteId=\"A\">\n"
	                 "      <customField field=\"DescriptionField\" value=\"x\"/>\n"
	                 "    </requestType>\n"));
	assert_int_equal(load(xml, 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:15: customField: DescriptionField is already filled"));

	/* AttachmentField is the attachment child's: a custom field of the
	 * request may have that name, unless <requestPhoto/> fills it */
	snprintf(xml, sizeof(xml), "%s",
	         minimal(NULL, cg_section,
	                 "    <requestType id=\"5\" remoteId=\"A\">\n"
	                 "      <customField field=\"AttachmentField\" value=\"x\"/>\n"
	                 "    </requestType>\n"));
	assert_int_equal(load(xml, 0, &c, &e), ERR_OK);
	assert_null(c->cg.request_photo_attachment_field);
	assert_null(c->cg.request_photo_linked_field);
	assert_int_equal(c->cg.request_photo_line, 0);
	cfg_free(c);
	snprintf(
	    xml, sizeof(xml), "%s",
	    minimal(NULL,
	            "  <cartegraph><baseUrl>https://x/</baseUrl><credentials>c</credentials>\n"
	            "  <fields><requestPhoto linked=\"HasPhotoField\"/></fields></cartegraph>\n",
	            "    <requestType id=\"5\" remoteId=\"A\">\n"
	            "      <customField field=\"AttachmentField\" value=\"x\"/>\n"
	            "    </requestType>\n"));
	assert_int_equal(load(xml, 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "customField: AttachmentField is already filled"));
	snprintf(
	    xml, sizeof(xml), "%s",
	    minimal(NULL,
	            "  <cartegraph><baseUrl>https://x/</baseUrl><credentials>c</credentials>\n"
	            "  <fields><requestPhoto linked=\"HasPhotoField\"/></fields></cartegraph>\n",
	            NULL));
	assert_int_equal(load(xml, 0, &c, &e), ERR_OK);
	assert_string_equal(c->cg.request_photo_attachment_field, "AttachmentField");
	assert_string_equal(c->cg.request_photo_linked_field, "HasPhotoField");
	assert_int_equal(c->cg.request_photo_line, 17);
	cfg_free(c);
	snprintf(xml, sizeof(xml), "%s",
	         minimal(NULL,
	                 "  <cartegraph><baseUrl>https://x/</baseUrl><credentials>c</credentials>\n"
	                 "  <fields><requestPhoto url=\"X\"/></fields></cartegraph>\n",
	                 NULL));
	assert_int_equal(load(xml, 0, &c, &e), ERR_FATAL);
}

static void test_files_must_exist(void **state)
{
	struct cfg *c;
	struct err e;
	char xml[16384];

	snprintf(xml, sizeof(xml), "%s", minimal(NULL, NULL, NULL));
	/* a patch inside a string: its NUL stays */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(strstr(xml, "oms.pub"), "oms.puX", 7);
	assert_int_equal(load(xml, 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:7: peerPublicKey: "));
	assert_non_null(strstr(e.msg, "No such file"));
	/* the same without file checks (fuzzing, examples) */
	assert_int_equal(load(xml, CFG_NO_FILE_CHECKS, &c, &e), ERR_OK);
	cfg_free(c);

	/* and from a real file on disk */
	write_file(path_in("good.xml"), minimal(NULL, NULL, NULL), 0644);
	assert_int_equal(cfg_load_file(path_in("good.xml"), &c, &e), ERR_OK);
	assert_string_equal(c->path, path_in("good.xml"));
	cfg_free(c);
	assert_int_equal(cfg_load_file(path_in("missing.xml"), &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "missing.xml"));
}

static void test_full_sections(void **state)
{
	struct cfg *c;
	struct err e;
	const char *scf_extra = "    <baseUrl>http://127.0.0.1:8080/api/v2</baseUrl>\n"
	                        "    <credentials auth=\"basic\">x</credentials>\n"
	                        "    <systemComments forward=\"assigned account\">\n"
	                        "      <account>7</account><account>9</account>\n"
	                        "    </systemComments>\n";
	char xml[16384];

	/* credentials given twice is an XSD error; replace the default one */
	snprintf(xml, sizeof(xml), "%s",
	         minimal(scf_extra,
	                 "  <cartegraph>\n"
	                 "    <baseUrl>https://cg.example.org/City</baseUrl>\n"
	                 "    <credentials auth=\"session\">/x</credentials>\n"
	                 "    <backoffMilliseconds>40</backoffMilliseconds>\n"
	                 "    <fields>\n"
	                 "      <location lat=\"LatField\" lng=\"LngField\"/>\n"
	                 "      <externalId field=\"ScfIdField\"/>\n"
	                 "      <status field=\"StateField\"><closed>Done</closed>"
	                 "<closed>Cancelled</closed></status>\n"
	                 "    </fields>\n"
	                 "  </cartegraph>\n"
	                 "  <messages>\n"
	                 "    <acknowledgment>\n      Line one {issue_id}\n      line two\n"
	                 "    </acknowledgment>\n"
	                 "  </messages>\n"
	                 "  <log level=\"debug\"/>\n",
	                 NULL));
	char *dup = strstr(xml, "    <credentials>");
	memset(dup, ' ', strchr(dup, '\n') - dup);
	assert_int_equal(load(xml, CFG_NO_FILE_CHECKS, &c, &e), ERR_OK);
	assert_int_equal(c->scf.auth, CFG_SCF_AUTH_BASIC);
	assert_int_equal(c->scf.forward_system, CFG_SYSCOMMENT_ASSIGNED | CFG_SYSCOMMENT_ACCOUNT);
	assert_int_equal(c->scf.n_system_accounts, 2);
	assert_int_equal(c->scf.system_accounts[1], 9);
	assert_int_equal(c->cg.auth, CFG_CG_AUTH_SESSION);
	assert_int_equal(c->cg.backoff_ms, 40);
	assert_int_equal(c->cg.geo, CFG_GEO_FIELDS);
	assert_string_equal(c->cg.lat_field, "LatField");
	assert_string_equal(c->cg.external_id_field, "ScfIdField");
	assert_string_equal(c->cg.status_field, "StateField");
	assert_true(cfg_is_closed_value(c, "Cancelled"));
	assert_false(cfg_is_closed_value(c, "Closed"));
	assert_string_equal(c->messages.ack, "Line one {issue_id}\nline two");
	assert_int_equal(c->log_level, CFG_LOG_DEBUG);
	assert_int_equal(c->scf.reopen, CFG_REOPEN_IGNORE); /* the default */
	cfg_free(c);
}

/* <scf><reopen policy=>: ignore (default) or recreate; anything else is
 * refused naming the file and line. */
static void test_reopen_policy(void **state)
{
	struct cfg *c;
	struct err e;

	(void)state;
	assert_int_equal(load(minimal("    <reopen policy=\"recreate\"/>\n", NULL, NULL),
	                      CFG_NO_FILE_CHECKS, &c, &e),
	                 ERR_OK);
	assert_int_equal(c->scf.reopen, CFG_REOPEN_RECREATE);
	assert_true(c->scf.reopen_line > 0);
	cfg_free(c);
	assert_int_equal(load(minimal("    <reopen policy=\"ignore\"/>\n", NULL, NULL),
	                      CFG_NO_FILE_CHECKS, &c, &e),
	                 ERR_OK);
	assert_int_equal(c->scf.reopen, CFG_REOPEN_IGNORE);
	cfg_free(c);
	assert_int_equal(load(minimal("    <reopen/>\n", NULL, NULL), CFG_NO_FILE_CHECKS, &c, &e),
	                 ERR_OK);
	assert_int_equal(c->scf.reopen, CFG_REOPEN_IGNORE);
	cfg_free(c);
	assert_int_equal(load(minimal("    <reopen policy=\"reopen\"/>\n", NULL, NULL),
	                      CFG_NO_FILE_CHECKS, &c, &e),
	                 ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:"));
	assert_non_null(strstr(e.msg, "reopen"));
	assert_non_null(strstr(e.msg, "policy"));
}

/* <scf><census intervalHours= windowDays=/>: off by default, bounded. */
static void test_census_schedule(void **state)
{
	struct cfg *c;
	struct err e;

	(void)state;
	assert_int_equal(load(minimal("", NULL, NULL), CFG_NO_FILE_CHECKS, &c, &e), ERR_OK);
	assert_int_equal(c->scf.census_interval_hours, 0);
	assert_int_equal(c->scf.census_window_days, 365);
	assert_int_equal(c->scf.census_line, 0);
	cfg_free(c);
	assert_int_equal(
	    load(minimal("    <census intervalHours=\"24\" windowDays=\"90\"/>\n", NULL, NULL),
	         CFG_NO_FILE_CHECKS, &c, &e),
	    ERR_OK);
	assert_int_equal(c->scf.census_interval_hours, 24);
	assert_int_equal(c->scf.census_window_days, 90);
	assert_true(c->scf.census_line > 0);
	cfg_free(c);
	assert_int_equal(load(minimal("    <census intervalHours=\"6\"/>\n", NULL, NULL),
	                      CFG_NO_FILE_CHECKS, &c, &e),
	                 ERR_OK);
	assert_int_equal(c->scf.census_interval_hours, 6);
	assert_int_equal(c->scf.census_window_days, 365);
	cfg_free(c);
	assert_int_equal(load(minimal("    <census windowDays=\"0\"/>\n", NULL, NULL),
	                      CFG_NO_FILE_CHECKS, &c, &e),
	                 ERR_FATAL);
	assert_non_null(strstr(e.msg, "windowDays"));
	assert_int_equal(load(minimal("    <census intervalHours=\"-1\"/>\n", NULL, NULL),
	                      CFG_NO_FILE_CHECKS, &c, &e),
	                 ERR_FATAL);
	assert_non_null(strstr(e.msg, "intervalHours"));
}

static void test_read_secret(void **state)
{
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;
	char *user, *pw;

	write_file(path_in("s1"), "token-123\n", 0600);
	assert_int_equal(cfg_read_secret(path_in("s1"), &b, &e), ERR_OK);
	assert_string_equal(b.data, "token-123");
	write_file(path_in("s2"), "api:p@ss:word\r\n", 0400);
	assert_int_equal(cfg_read_secret(path_in("s2"), &b, &e), ERR_OK);
	assert_string_equal(b.data, "api:p@ss:word");
	assert_int_equal(cfg_split_basic(b.data, &user, &pw, &e), ERR_OK);
	assert_string_equal(user, "api");
	assert_string_equal(pw, "p@ss:word");
	assert_int_equal(cfg_split_basic((char[]){"nocolon"}, &user, &pw, &e), ERR_FATAL);

	write_file(path_in("s3"), "secret\n", 0644);
	assert_int_equal(cfg_read_secret(path_in("s3"), &b, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "chmod 600"));
	assert_null(strstr(e.msg, "secret\n"));
	assert_int_equal(b.len, 0);
	write_file(path_in("s4"), "secret\n", 0640);
	assert_int_equal(cfg_read_secret(path_in("s4"), &b, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "group or others"));
	write_file(path_in("s5"), "\n", 0600);
	assert_int_equal(cfg_read_secret(path_in("s5"), &b, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "empty"));
	write_file(path_in("s6"), "a\nb\n", 0600);
	assert_int_equal(cfg_read_secret(path_in("s6"), &b, &e), ERR_FATAL);
	assert_int_equal(cfg_read_secret(path_in("nope"), &b, &e), ERR_FATAL);
	buf_release(&b);
}

/* ---- CSV ---- */

static enum err_status csv(const char *text, struct buf *out, struct err *e)
{
	buf_reset(out);
	err_clear(e);
	return cfg_csv_to_xml(text, strlen(text), "rt.csv", out, e);
}

static void test_csv_import_roundtrip(void **state)
{
	struct buf out = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct cfg *c;
	struct err e;
	const char *in =
	    "\xef\xbb\xbf"
	    "SCF Request Type ID,Title,Remote Request Type ID,Closing Message\r\n"
	    "122,Pothole,Pothole,\"Fixed, thanks! Request {request_id}.\"\r\n"
	    "\r\n"
	    "14550,\"Solid Waste - \"\"Roll\"\" Cart\",Garbage Cart,\"Two\r\nlines\"\r\n"
	    "5763,Street <Light> & Pole,SL-01,\r\n"
	    "777,Caf\xc3\xa9,Cafe";

	assert_int_equal(csv(in, &out, &e), ERR_OK);
	/* the section drops into a configuration and loads */
	char *xml = strdup(minimal(NULL, NULL, NULL));
	char *a = strstr(xml, "  <requestTypes>"), *z = strstr(xml, "  </requestTypes>\n");
	struct buf doc = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	buf_add(&doc, xml, (size_t)(a - xml));
	buf_adds(&doc, out.data);
	buf_adds(&doc, z + strlen("  </requestTypes>\n"));
	if (cfg_load_mem(doc.data, doc.len, "imported.xml", 0, &c, &e) != ERR_OK)
		fail_msg("%s\n%s", e.msg, doc.data);
	assert_int_equal(c->n_types, 4);
	assert_string_equal(cfg_request_type(c, 122)->closing_message,
	                    "Fixed, thanks! Request {request_id}.");
	assert_string_equal(cfg_request_type(c, 14550)->title, "Solid Waste - \"Roll\" Cart");
	assert_string_equal(cfg_request_type(c, 14550)->closing_message, "Two\nlines");
	assert_string_equal(cfg_request_type(c, 5763)->title, "Street <Light> & Pole");
	assert_null(cfg_request_type(c, 5763)->closing_message);
	assert_string_equal(cfg_request_type(c, 777)->title, "Caf\xc3\xa9");
	cfg_free(c);
	free(xml);
	buf_release(&doc);

	/* a fifth column: the type's acknowledgment message */
	buf_reset(&out);
	assert_int_equal(csv("id,title,remote,closing,ack\n"
	                     "122,Pothole,Pothole,,\"Thanks <3, {request_id}\"\n"
	                     "123,Cart,Cart,Done {request_id}.,Noted {request_id}.\n"
	                     "124,Light,Light,,\n",
	                     &out, &e),
	                 ERR_OK);
	xml = strdup(minimal(NULL, NULL, NULL));
	a = strstr(xml, "  <requestTypes>");
	z = strstr(xml, "  </requestTypes>\n");
	buf_reset(&doc);
	buf_add(&doc, xml, (size_t)(a - xml));
	buf_adds(&doc, out.data);
	buf_adds(&doc, z + strlen("  </requestTypes>\n"));
	if (cfg_load_mem(doc.data, doc.len, "imported.xml", 0, &c, &e) != ERR_OK)
		fail_msg("%s\n%s", e.msg, doc.data);
	assert_string_equal(cfg_request_type(c, 122)->ack_message, "Thanks <3, {request_id}");
	assert_null(cfg_request_type(c, 122)->closing_message);
	assert_string_equal(cfg_request_type(c, 123)->ack_message, "Noted {request_id}.");
	assert_string_equal(cfg_request_type(c, 123)->closing_message, "Done {request_id}.");
	assert_null(cfg_request_type(c, 124)->ack_message);
	cfg_free(c);
	free(xml);
	buf_release(&doc);
	assert_int_equal(csv("1,A,B,,Hi {ticket}\n", &out, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "rt.csv:1: acknowledgment message: unknown placeholder"));

	/* without a header row the first row is data */
	assert_int_equal(csv("9,A,B\n", &out, &e), ERR_OK);
	assert_non_null(strstr(out.data, "id=\"9\""));
	buf_release(&out);
}

static void test_csv_errors(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"id,title,remote\n1,A,B\nx2,C,D\n", "rt.csv:3: SCF request type id \"x2\""},
	    {"id,title,remote\n1,A,B\n\n1,C,D\n",
	     "rt.csv:4: SCF request type id 1 already given on line 2"},
	    {"id,title,remote\n1,A,\"B\n2,C,D\n", "rt.csv:2: quoted field never closed"},
	    {"id,title,remote\r\n1,A\r\n", "rt.csv:2: 2 column(s)"},
	    {"id,title,remote\n1,A,  \n", "rt.csv:2: remote request type id is empty"},
	    {"id,title,remote,close\n1,A,B,Done {ticket}\n",
	     "rt.csv:2: closing message: unknown placeholder {ticket}"},
	    {"id,title,remote\n1,Caf\xe9,B\n", "rt.csv:2: column 2 is not UTF-8"},
	    {"id,title,remote,close,ack,notes\n1,A,B,,,extra\n", "rt.csv:2: column 6 is not empty"},
	    {"id,title,remote\n", "rt.csv: no request type rows"},
	    {"", "rt.csv: no request type rows"},
	};
	struct buf out = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum err_status st = csv(cases[i].in, &out, &e);
		if (st == ERR_OK || !strstr(e.msg, cases[i].want))
			fail_msg("case %zu: status %d, \"%s\", wanted \"%s\"", i, st, e.msg,
			         cases[i].want);
	}
	buf_release(&out);
}

/* ---- <geocoder> ---------------------------------------------------------- */

/* An oms-half configuration; <geocoder{attrs}> starts at line 16, so the
 * first line of body is line 17.  body NULL: no <geocoder> at all. */
static char *oms_with_geocoder(const char *attrs, const char *body)
{
	static char x[16384];
	char geo[8192] = "";

	if (body)
		snprintf(geo, sizeof(geo), "  <geocoder%s>\n%s  </geocoder>\n", attrs ? attrs : "",
		         body);
	write_file(path_in("cg.cred"), "u:p\n", 0600);
	snprintf(x, sizeof(x),
	         "<?xml version=\"1.0\"?>\n"
	         "<scfgate half=\"oms\">\n"
	         "  <spool>\n"
	         "    <root>%s/spool</root>\n"
	         "    <producer>oms</producer>\n"
	         "    <privateKey>%s/scf.key</privateKey>\n"
	         "    <peerPublicKey>%s/oms.pub</peerPublicKey>\n"
	         "  </spool>\n"
	         "  <cartegraph>\n"
	         "    <baseUrl>https://cg.example.org/City</baseUrl>\n"
	         "    <credentials>%s/cg.cred</credentials>\n"
	         "  </cartegraph>\n"
	         "  <requestTypes>\n"
	         "    <requestType id=\"122\" remoteId=\"Pothole\"><customField "
	         "field=\"DepartmentField\" value=\"Streets\"/></requestType>\n"
	         "  </requestTypes>\n"
	         "%s"
	         "</scfgate>\n",
	         tmpdir, tmpdir, tmpdir, tmpdir, geo);
	return x;
}

#define GEO_URL "https://gis.example.gov/arcgis/rest/services/Locators/City/GeocodeServer"

static void test_geocoder_defaults(void **state)
{
	struct cfg *c;
	struct err e;

	/* absent: nothing configured, nothing enabled */
	assert_int_equal(load(oms_with_geocoder(NULL, NULL), 0, &c, &e), ERR_OK);
	assert_false(c->geocoder.enabled);
	assert_null(c->geocoder.base_url);
	assert_int_equal(c->geocoder.line, 0);
	cfg_free(c);

	/* only the URL: every other value is the documented default */
	assert_int_equal(
	    load(oms_with_geocoder(NULL, "    <baseUrl>" GEO_URL "/</baseUrl>\n"), 0, &c, &e),
	    ERR_OK);
	assert_true(c->geocoder.enabled);
	assert_string_equal(c->geocoder.base_url, GEO_URL); /* trailing / dropped */
	assert_int_equal(c->geocoder.mode, CFG_GEOCODER_REVERSE);
	assert_null(c->geocoder.token_file);
	assert_true(c->geocoder.min_score == 80.0);
	assert_int_equal(c->geocoder.max_distance_m, 100);
	assert_int_equal(c->geocoder.timeout_ms, 3000);
	assert_int_equal(c->geocoder.max_locations, 5);
	assert_string_equal(c->geocoder.result_field, CFG_GEOCODER_IN_DESCRIPTION);
	assert_null(c->geocoder.ca_file);
	assert_int_equal(c->geocoder.line, 16);
	cfg_free(c);
}

static void test_geocoder_full(void **state)
{
	char body[2048];
	struct cfg *c;
	struct err e;

	write_file(path_in("arcgis.token"), "tok\n", 0600);
	write_file(path_in("ca.pem"), "pem\n", 0644);
	snprintf(body, sizeof(body),
	         "    <baseUrl>http://127.0.0.1:9/arcgis/rest/services/Locators/City/"
	         "GeocodeServer</baseUrl>\n"
	         "    <mode>both</mode>\n"
	         "    <tokenFile>%s</tokenFile>\n"
	         "    <minScore>87.5</minScore>\n"
	         "    <maxDistanceMeters>250</maxDistanceMeters>\n"
	         "    <timeoutMilliseconds>800</timeoutMilliseconds>\n"
	         "    <maxLocations>20</maxLocations>\n"
	         "    <resultField>GeocodeNoteField</resultField>\n"
	         "    <caFile>%s</caFile>\n",
	         path_in("arcgis.token"), path_in("ca.pem"));
	assert_int_equal(load(oms_with_geocoder(NULL, body), 0, &c, &e), ERR_OK);
	assert_true(c->geocoder.enabled);
	assert_int_equal(c->geocoder.mode, CFG_GEOCODER_BOTH);
	assert_string_equal(c->geocoder.token_file, path_in("arcgis.token"));
	assert_true(c->geocoder.min_score == 87.5);
	assert_int_equal(c->geocoder.max_distance_m, 250);
	assert_int_equal(c->geocoder.timeout_ms, 800);
	assert_int_equal(c->geocoder.max_locations, 20);
	assert_string_equal(c->geocoder.result_field, "GeocodeNoteField");
	assert_string_equal(c->geocoder.ca_file, path_in("ca.pem"));

	/* described for people and for scripts */
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	assert_int_equal(cfg_describe(c, &b), ERR_OK);
	assert_non_null(strstr(b.data, "geocoder:\n  base URL: http://127.0.0.1:9/arcgis/"));
	assert_non_null(strstr(b.data, "  mode: both\n"));
	assert_non_null(strstr(b.data, "  accept: score >= 87.5, within 250 m of the reported"));
	assert_non_null(strstr(b.data, "  timeout: 800 ms per request\n  max locations: 20\n"));
	assert_non_null(strstr(b.data, "  note: GeocodeNoteField\n"));
	assert_non_null(strstr(b.data, "ca.pem"));
	assert_null(strstr(b.data, "tok\n")); /* a path, never the token */
	buf_reset(&b);
	assert_int_equal(cfg_describe_json(c, &b), ERR_OK);
	cJSON *j = cJSON_Parse(b.data), *g = cJSON_GetObjectItem(j, "geocoder");
	assert_non_null(g);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(g, "enabled")));
	assert_string_equal(cJSON_GetObjectItem(g, "mode")->valuestring, "both");
	assert_true(cJSON_GetObjectItem(g, "min_score")->valuedouble == 87.5);
	assert_int_equal(cJSON_GetObjectItem(g, "max_distance_m")->valueint, 250);
	assert_int_equal(cJSON_GetObjectItem(g, "timeout_ms")->valueint, 800);
	assert_int_equal(cJSON_GetObjectItem(g, "max_locations")->valueint, 20);
	assert_string_equal(cJSON_GetObjectItem(g, "result_field")->valuestring,
	                    "GeocodeNoteField");
	assert_string_equal(cJSON_GetObjectItem(g, "token_file")->valuestring,
	                    path_in("arcgis.token"));
	cJSON_Delete(j);
	cfg_free(c);

	/* not configured: said so in both forms */
	assert_int_equal(load(oms_with_geocoder(NULL, NULL), 0, &c, &e), ERR_OK);
	buf_reset(&b);
	assert_int_equal(cfg_describe(c, &b), ERR_OK);
	assert_non_null(strstr(b.data, "geocoder: (not configured"));
	buf_reset(&b);
	assert_int_equal(cfg_describe_json(c, &b), ERR_OK);
	j = cJSON_Parse(b.data);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "geocoder")));
	cJSON_Delete(j);
	cfg_free(c);
	buf_release(&b);
}

static void test_geocoder_errors(void **state)
{
	struct {
		const char *attrs, *body, *want;
	} cases[] = {
	    {NULL, "    <mode>both</mode>\n", "t.xml:16: geocoder: "}, /* no baseUrl */
	    {NULL, "    <baseUrl>http://gis.example.gov/x/GeocodeServer</baseUrl>\n",
	     "t.xml:17: baseUrl: http://gis.example.gov/x/GeocodeServer: plain http is allowed "
	     "only for a loopback host"},
	    {NULL, "    <baseUrl>https://u:pw@gis.example.gov/x/GeocodeServer</baseUrl>\n",
	     "t.xml:17: baseUrl: a URL may not carry credentials"},
	    {NULL, "    <baseUrl>" GEO_URL "</baseUrl>\n    <mode>nearest</mode>\n",
	     "t.xml:18: mode: "},
	    {NULL, "    <baseUrl>" GEO_URL "</baseUrl>\n    <minScore>100.5</minScore>\n",
	     "t.xml:18: minScore: "},
	    {NULL, "    <baseUrl>" GEO_URL "</baseUrl>\n    <minScore>-1</minScore>\n",
	     "t.xml:18: minScore: "},
	    {NULL,
	     "    <baseUrl>" GEO_URL "</baseUrl>\n    <maxDistanceMeters>0</maxDistanceMeters>\n",
	     "t.xml:18: maxDistanceMeters: "},
	    {NULL,
	     "    <baseUrl>" GEO_URL "</baseUrl>\n"
	     "    <maxDistanceMeters>100001</maxDistanceMeters>\n",
	     "t.xml:18: maxDistanceMeters: "},
	    {NULL,
	     "    <baseUrl>" GEO_URL "</baseUrl>\n"
	     "    <timeoutMilliseconds>49</timeoutMilliseconds>\n",
	     "t.xml:18: timeoutMilliseconds: "},
	    {NULL,
	     "    <baseUrl>" GEO_URL "</baseUrl>\n"
	     "    <timeoutMilliseconds>60001</timeoutMilliseconds>\n",
	     "t.xml:18: timeoutMilliseconds: "},
	    {NULL, "    <baseUrl>" GEO_URL "</baseUrl>\n    <maxLocations>21</maxLocations>\n",
	     "t.xml:18: maxLocations: "},
	    {NULL, "    <baseUrl>" GEO_URL "</baseUrl>\n    <maxLocations>0</maxLocations>\n",
	     "t.xml:18: maxLocations: "},
	    {NULL, "    <baseUrl>" GEO_URL "</baseUrl>\n    <resultField>A Field</resultField>\n",
	     "t.xml:18: resultField: "},
	    {NULL,
	     "    <baseUrl>" GEO_URL "</baseUrl>\n"
	     "    <resultField>LocationDescriptionField</resultField>\n",
	     "t.xml:18: resultField: LocationDescriptionField is already filled by the field map"},
	    {NULL,
	     "    <baseUrl>" GEO_URL "</baseUrl>\n"
	     "    <resultField>DepartmentField</resultField>\n",
	     "t.xml:18: resultField: DepartmentField is already filled by the customField at "
	     "line 14"},
	    {NULL, "    <baseUrl>" GEO_URL "</baseUrl>\n    <bogus/>\n", "t.xml:18: bogus: "},
	    {" enabled=\"maybe\"", "    <baseUrl>" GEO_URL "</baseUrl>\n", "t.xml:16: geocoder: "},
	    {NULL,
	     "    <baseUrl>" GEO_URL "</baseUrl>\n    <tokenFile>/nonexistent/t</tokenFile>\n",
	     "t.xml:18: tokenFile: /nonexistent/t: No such file"},
	    {NULL, "    <baseUrl>" GEO_URL "</baseUrl>\n    <tokenFile>@OPEN@</tokenFile>\n",
	     "t.xml:18: tokenFile: @OPEN@: readable by group or others (mode 644); run chmod 600"},
	    {NULL, "    <baseUrl>" GEO_URL "</baseUrl>\n    <caFile>/nonexistent/ca.pem</caFile>\n",
	     "t.xml:18: caFile: /nonexistent/ca.pem: No such file"},
	};
	char body[1024], want[1024], *at;

	write_file(path_in("open.token"), "tok\n", 0644);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg *c = NULL;
		struct err e;
		enum err_status st;

		snprintf(body, sizeof(body), "%s", cases[i].body);
		snprintf(want, sizeof(want), "%s", cases[i].want);
		if ((at = strstr(body, "@OPEN@"))) {
			snprintf(body, sizeof(body),
			         "    <baseUrl>" GEO_URL
			         "</baseUrl>\n    <tokenFile>%s</tokenFile>\n",
			         path_in("open.token"));
			snprintf(want, sizeof(want),
			         "t.xml:18: tokenFile: %s: readable by group or others (mode 644); "
			         "run chmod 600 %s",
			         path_in("open.token"), path_in("open.token"));
		}
		st = load(oms_with_geocoder(cases[i].attrs, body), 0, &c, &e);
		if (st == ERR_OK || !strstr(e.msg, want))
			fail_msg("case %zu: status %d, message \"%s\", wanted \"%s\"", i, st, e.msg,
			         want);
		assert_null(c);
		assert_null(strchr(e.msg, '\n'));
	}
}

/* The token and CA files live on the oms host only, and a disabled
 * geocoder's files are not needed; the URL is still checked. */
static void test_geocoder_files_only_when_used(void **state)
{
	const char *missing = "    <baseUrl>" GEO_URL "</baseUrl>\n"
	                      "    <tokenFile>/nonexistent/t</tokenFile>\n"
	                      "    <caFile>/nonexistent/ca.pem</caFile>\n";
	char xml[16384];
	struct cfg *c;
	struct err e;

	assert_int_equal(load(oms_with_geocoder(" enabled=\"false\"", missing), 0, &c, &e), ERR_OK);
	assert_false(c->geocoder.enabled);
	assert_string_equal(c->geocoder.token_file, "/nonexistent/t");
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	assert_int_equal(cfg_describe(c, &b), ERR_OK);
	assert_non_null(strstr(b.data, "geocoder: (disabled)\n"));
	buf_release(&b);
	cfg_free(c);
	assert_int_equal(load(oms_with_geocoder(NULL, missing), CFG_NO_FILE_CHECKS, &c, &e),
	                 ERR_OK);
	assert_true(c->geocoder.enabled);
	cfg_free(c);

	snprintf(xml, sizeof(xml), "%s",
	         minimal(NULL,
	                 "  <geocoder>\n    <baseUrl>" GEO_URL "</baseUrl>\n"
	                 "    <tokenFile>/nonexistent/t</tokenFile>\n  </geocoder>\n",
	                 NULL));
	assert_int_equal(load(xml, 0, &c, &e), ERR_OK);
	cfg_free(c);
	snprintf(xml, sizeof(xml), "%s",
	         minimal(NULL,
	                 "  <geocoder enabled=\"false\">\n"
	                 "    <baseUrl>http://gis.example.gov/x</baseUrl>\n  </geocoder>\n",
	                 NULL));
	assert_int_equal(load(xml, 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:17: baseUrl: http://gis.example.gov/x: plain http"));
}

/* `config example --half oms` shows the section commented out; taken out
 * of its comment it is a valid section with the documented values. */
/* <transfer>: values and defaults, a pinned host key required, queues
 * unique, the SSH key kept like the half's own, errors at FILE:LINE. */
static char *with_transfer(const char *pin, const char *key, const char *queues)
{
	static char t[4096];
	snprintf(t, sizeof(t),
	         "  <transfer>\n"
	         "    <host>dmz.example.org</host>\n"
	         "    <user>xfer</user>\n"
	         "    <privateKey>%s</privateKey>\n"
	         "%s"
	         "%s"
	         "  </transfer>\n",
	         key, pin, queues);
	return minimal(NULL, t, NULL);
}

static void test_transfer(void **state)
{
	const char *fp = "    <hostKeySha256>SHA256:LAp1jHfW3HhUqxd9dV61VFcF94KJN5+iv9tUOMp13L8"
	                 "</hostKeySha256>\n";
	const char *two =
	    "    <queue name=\"outbound\" direction=\"pull\" remoteDir=\"/outbound/\"/>\n"
	    "    <queue name=\"inbound\" direction=\"push\" remoteDir=\"/inbound\" "
	    "intervalSeconds=\"5\" sentRetentionDays=\"0\"/>\n";
	struct cfg *c = NULL;
	struct err e;

	write_file(path_in("ssh.key"), "k\n", 0600);
	write_file(path_in("ssh-open.key"), "k\n", 0644);
	write_file(path_in("known_hosts"), "h\n", 0644);

	assert_int_equal(load(with_transfer(fp, path_in("ssh.key"), two), 0, &c, &e), ERR_OK);
	assert_string_equal(c->transfer.host, "dmz.example.org");
	assert_int_equal(c->transfer.port, 22);
	assert_string_equal(c->transfer.user, "xfer");
	assert_string_equal(c->transfer.host_key_sha256,
	                    "LAp1jHfW3HhUqxd9dV61VFcF94KJN5+iv9tUOMp13L8");
	assert_null(c->transfer.known_hosts);
	assert_int_equal(c->transfer.timeout_seconds, 120);
	assert_int_equal(c->transfer.n_queues, 2);
	assert_string_equal(c->transfer.queues[0].name, "outbound");
	assert_int_equal(c->transfer.queues[0].direction, CFG_TRANSFER_PULL);
	assert_string_equal(c->transfer.queues[0].remote_dir, "/outbound");
	assert_int_equal(c->transfer.queues[0].interval_seconds, 30);
	assert_int_equal(c->transfer.queues[0].sent_retention_days, 7);
	assert_int_equal(c->transfer.queues[1].direction, CFG_TRANSFER_PUSH);
	assert_int_equal(c->transfer.queues[1].interval_seconds, 5);
	assert_int_equal(c->transfer.queues[1].sent_retention_days, 0);
	cfg_free(c);

	/* absent: nothing set */
	assert_int_equal(load(minimal(NULL, NULL, NULL), 0, &c, &e), ERR_OK);
	assert_null(c->transfer.host);
	assert_int_equal(c->transfer.n_queues, 0);
	cfg_free(c);

	/* a known_hosts file alone pins too */
	{
		char pin[700];
		snprintf(pin, sizeof(pin), "    <knownHosts>%s</knownHosts>\n",
		         path_in("known_hosts"));
		assert_int_equal(load(with_transfer(pin, path_in("ssh.key"), two), 0, &c, &e),
		                 ERR_OK);
		assert_string_equal(c->transfer.known_hosts, path_in("known_hosts"));
		cfg_free(c);
	}

	assert_int_equal(load(with_transfer("", path_in("ssh.key"), two), 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:16: transfer: the server's host key must be pinned"));
	assert_int_equal(load(with_transfer(fp, path_in("ssh-open.key"), two), 0, &c, &e),
	                 ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:19: privateKey: "));
	assert_non_null(strstr(e.msg, "run chmod 600"));
	assert_int_equal(load(with_transfer(fp, path_in("ssh.key"),
	                                    "    <queue name=\"inbound\" direction=\"push\" "
	                                    "remoteDir=\"/a\"/>\n"
	                                    "    <queue name=\"inbound\" direction=\"pull\" "
	                                    "remoteDir=\"/b\"/>\n"),
	                      0, &c, &e),
	                 ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:22: queue: inbound is already configured at line 21"));
	assert_int_equal(load(with_transfer("    <hostKeySha256>MD5:ab</hostKeySha256>\n",
	                                    path_in("ssh.key"), two),
	                      0, &c, &e),
	                 ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:20: hostKeySha256: "));
	assert_int_equal(load(with_transfer(fp, path_in("ssh.key"),
	                                    "    <queue name=\"inbound\" direction=\"sideways\" "
	                                    "remoteDir=\"/a\"/>\n"),
	                      0, &c, &e),
	                 ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:21: queue: "));
	assert_int_equal(load(with_transfer(fp, path_in("ssh.key"),
	                                    "    <queue name=\"inbound\" direction=\"push\" "
	                                    "remoteDir=\"relative dir\"/>\n"),
	                      0, &c, &e),
	                 ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:21: queue: "));
}

static void test_geocoder_example(void **state)
{
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct cfg *c;
	struct err e;
	char *open_tag, *close_tag, *comment_end;

	assert_int_equal(cfg_example(CFG_HALF_SCF, &b), ERR_OK);
	assert_null(strstr(b.data, "<geocoder"));
	buf_reset(&b);
	assert_int_equal(cfg_example(CFG_HALF_OMS, &b), ERR_OK);
	open_tag = strstr(b.data, "  <geocoder enabled=\"true\">");
	assert_non_null(open_tag);
	assert_int_equal(load(b.data, CFG_NO_FILE_CHECKS, &c, &e), ERR_OK);
	assert_null(c->geocoder.base_url); /* commented out */
	cfg_free(c);

	/* uncomment: end the comment just before the element, drop its old end */
	close_tag = strstr(open_tag, "</geocoder>\n");
	assert_non_null(close_tag);
	close_tag += strlen("</geocoder>\n");
	comment_end = strstr(close_tag, "-->\n");
	assert_non_null(comment_end);
	struct buf u = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	assert_int_equal(buf_add(&u, b.data, (size_t)(open_tag - b.data)), ERR_OK);
	assert_int_equal(buf_adds(&u, "-->\n"), ERR_OK);
	assert_int_equal(buf_add(&u, open_tag, (size_t)(close_tag - open_tag)), ERR_OK);
	assert_int_equal(buf_adds(&u, comment_end + 4), ERR_OK);
	buf_reset(&b);
	assert_int_equal(buf_add(&b, u.data, u.len), ERR_OK);
	buf_release(&u);
	assert_int_equal(load(b.data, CFG_NO_FILE_CHECKS, &c, &e), ERR_OK);
	assert_true(c->geocoder.enabled);
	assert_int_equal(c->geocoder.mode, CFG_GEOCODER_BOTH);
	assert_string_equal(c->geocoder.token_file, "/etc/scfgate/arcgis.token");
	assert_string_equal(c->geocoder.result_field, "description");
	assert_int_equal(c->geocoder.timeout_ms, 3000);
	cfg_free(c);
	buf_release(&b);
}

/* ---- HTTP policy: caFile, no credentials in URLs, secret file checks ---- */

/* oms_with_geocoder with extra inside <cartegraph> (after credentials). */
static char *oms_with_cg(const char *cg_extra)
{
	static char x[16384];
	const char *base = oms_with_geocoder(NULL, NULL);
	const char *at = strstr(base, "  </cartegraph>");

	assert_non_null(at);
	snprintf(x, sizeof(x), "%.*s%s%s", (int)(at - base), base, cg_extra, at);
	return x;
}

static void test_ca_files(void **state)
{
	char body[1024];
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct cfg *c;
	struct err e;
	cJSON *j;

	write_file(path_in("ca.pem"), "pem\n", 0644);
	/* absent: the system store */
	assert_int_equal(load(minimal(NULL, NULL, NULL), 0, &c, &e), ERR_OK);
	assert_null(c->scf.ca_file);
	cfg_free(c);
	assert_int_equal(load(oms_with_cg(""), 0, &c, &e), ERR_OK);
	assert_null(c->cg.ca_file);
	assert_int_equal(cfg_describe(c, &b), ERR_OK);
	assert_non_null(strstr(b.data, "  concurrency: 2\n  CA file: (system store)\n"));
	buf_reset(&b);
	cfg_free(c);

	snprintf(body, sizeof(body), "    <caFile>%s</caFile>\n", path_in("ca.pem"));
	assert_int_equal(load(minimal(body, NULL, NULL), 0, &c, &e), ERR_OK);
	assert_string_equal(c->scf.ca_file, path_in("ca.pem"));
	assert_null(c->cg.ca_file);
	assert_int_equal(cfg_describe(c, &b), ERR_OK);
	snprintf(body, sizeof(body), "  CA file: %s\n", path_in("ca.pem"));
	assert_non_null(strstr(b.data, body));
	buf_reset(&b);
	assert_int_equal(cfg_describe_json(c, &b), ERR_OK);
	j = cJSON_Parse(b.data);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "scf"), "ca_file")->valuestring,
	    path_in("ca.pem"));
	cJSON_Delete(j);
	buf_reset(&b);
	cfg_free(c);

	snprintf(body, sizeof(body), "    <caFile>%s</caFile>\n", path_in("ca.pem"));
	assert_int_equal(load(oms_with_cg(body), 0, &c, &e), ERR_OK);
	assert_string_equal(c->cg.ca_file, path_in("ca.pem"));
	assert_int_equal(cfg_describe_json(c, &b), ERR_OK);
	j = cJSON_Parse(b.data);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "cartegraph"), "ca_file")->valuestring,
	    path_in("ca.pem"));
	cJSON_Delete(j);
	buf_release(&b);
	cfg_free(c);

	/* must exist (line-numbered), on the host of the half that uses it */
	c = NULL;
	assert_int_equal(
	    load(minimal("    <caFile>/nonexistent/scf-ca.pem</caFile>\n", NULL, NULL), 0, &c, &e),
	    ERR_FATAL);
	assert_null(c);
	assert_non_null(strstr(e.msg, "t.xml:12: caFile: /nonexistent/scf-ca.pem: No such file"));
	assert_int_equal(
	    load(oms_with_cg("    <caFile>/nonexistent/cg-ca.pem</caFile>\n"), 0, &c, &e),
	    ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:12: caFile: /nonexistent/cg-ca.pem: No such file"));
	assert_int_equal(load(oms_with_cg("    <caFile>/tmp</caFile>\n"), 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:12: caFile: /tmp: not a regular file"));
}

static void test_url_credentials(void **state)
{
	static const char *const urls[] = {
	    "https://gw:S3CRET@seeclickfix.com/api/v2",
	    "https://S3CRET@seeclickfix.com/api/v2",
	    "http://gw:S3CRET@example.org/api/v2", /* before the plain-http message */
	    "https://seeclickfix.com/api/v2?token=S3CRET",
	    "https://seeclickfix.com/api/v2?x=1&amp;access_token=S3CRET",
	    "https://seeclickfix.com/api/v2?API_KEY=S3CRET",
	};
	char body[512];
	struct cfg *c = NULL;
	struct err e;

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(body, sizeof(body), "    <baseUrl>%s</baseUrl>\n", urls[i]);
		if (load(minimal(body, NULL, NULL), 0, &c, &e) != ERR_FATAL ||
		    !strstr(e.msg, "t.xml:12: baseUrl: a URL may not carry credentials") ||
		    strstr(e.msg, "S3CRET"))
			fail_msg("%s: \"%s\"", urls[i], e.msg);
		assert_null(c);
	}
	assert_int_equal(load(oms_with_cg(""), 0, &c, &e), ERR_OK);
	cfg_free(c);
	{
		static char xml[16384];
		const char *base = oms_with_cg("");
		const char *u = strstr(base, "https://cg.example.org/City");

		snprintf(xml, sizeof(xml), "%.*shttps://u:S3CRET@%s", (int)(u - base), base,
		         u + strlen("https://"));
		assert_int_equal(load(xml, 0, &c, &e), ERR_FATAL);
	}
	assert_non_null(strstr(e.msg, "t.xml:10: baseUrl: a URL may not carry credentials"));
	assert_null(strstr(e.msg, "S3CRET"));
	/* any other query or a fragment: paths are appended to a base URL */
	assert_int_equal(
	    load(minimal("    <baseUrl>https://seeclickfix.com/api/v2?page=1</baseUrl>\n", NULL,
	                 NULL),
	         0, &c, &e),
	    ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:12: baseUrl: a base URL may not have a query"));
}

/* What the half checks at start, as one function `config check` runs. */
static void test_check_secrets(void **state)
{
	struct cfg *c;
	struct err e;

	assert_int_equal(load(minimal(NULL, NULL, NULL), 0, &c, &e), ERR_OK);
	assert_int_equal(cfg_check_secrets(c, &e), ERR_OK);
	write_file(path_in("scf.token"), "T0KEN-S3CRET\n", 0644);
	assert_int_equal(cfg_check_secrets(c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml: <scf> credentials: credential file "));
	assert_non_null(strstr(e.msg, "readable by group or others (mode 644); run chmod 600"));
	assert_null(strstr(e.msg, "S3CRET"));
	write_file(path_in("scf.token"), "", 0600);
	assert_int_equal(cfg_check_secrets(c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "empty"));
	write_file(path_in("scf.token"), "tok\n", 0600);
	assert_int_equal(cfg_check_secrets(c, &e), ERR_OK);
	cfg_free(c);

	/* basic auth needs user:password; the Cartegraph file likewise */
	assert_int_equal(load(oms_with_cg(""), 0, &c, &e), ERR_OK);
	assert_int_equal(cfg_check_secrets(c, &e), ERR_OK);
	write_file(path_in("cg.cred"), "N0-C0L0N-S3CRET\n", 0600);
	assert_int_equal(cfg_check_secrets(c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg,
	                       "<cartegraph> credentials: credential file for basic auth must "
	                       "hold user:password"));
	assert_null(strstr(e.msg, "S3CRET"));
	write_file(path_in("cg.cred"), "u:S3CRET\n", 0640);
	assert_int_equal(cfg_check_secrets(c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "(mode 640)"));
	assert_null(strstr(e.msg, "S3CRET"));
	cfg_free(c);
	write_file(path_in("cg.cred"), "u:p\n", 0600);
}

/* Every Cartegraph field with its element, class, kind and line, for the
 * metadata check: configured ones name their own line, defaults the
 * <fields> line (or <cartegraph> without one). */
static void test_cg_fields_lines(void **state)
{
	static const char xml[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<scfgate half=\"oms\">\n"
	    "  <spool><root>/r</root><producer>oms</producer><privateKey>/k</privateKey>"
	    "<peerPublicKey>/p</peerPublicKey></spool>\n"
	    "  <cartegraph>\n" /* 4 */
	    "    <baseUrl>https://cg.example.org/City</baseUrl>\n"
	    "    <credentials>/c</credentials>\n"
	    "    <fields>\n"                                        /* 7 */
	    "      <description field=\"DepartmentFeild\"/>\n"      /* 8 */
	    "      <location lat=\"LatField\" lng=\"LngField\"/>\n" /* 9 */
	    "      <!-- line 10 -->\n"
	    "      <externalId field=\"SCFIssueIDField\"/>\n"                     /* 11 */
	    "      <linked field=\"IsLinkedField\"/>\n"                           /* 12 */
	    "      <status field=\"StateField\"><closed>Done</closed></status>\n" /* 13 */
	    "    </fields>\n"
	    "  </cartegraph>\n"
	    "  <geocoder>\n" /* 16 */
	    "    <baseUrl>https://geo.example.org/GeocodeServer</baseUrl>\n"
	    "    <resultField>GeoNoteField</resultField>\n" /* 18 */
	    "  </geocoder>\n"
	    "  <requestTypes>\n"
	    "    <requestType id=\"122\" remoteId=\"Pothole\">\n"
	    "      <customField field=\"ZoneField\" value=\"A\"/>\n" /* 22 */
	    "    </requestType>\n"
	    "  </requestTypes>\n"
	    "</scfgate>\n";
	static const struct {
		const char *element, *name;
		enum cfg_cg_class cls;
		enum cfg_cg_kind kind;
		int written, is_default;
		unsigned line;
	} want[] = {
	    {"requester", "RequesterField", CFG_CG_REQUEST, CFG_CG_TEXT, 1, 1, 7},
	    {"issue", "IssueField", CFG_CG_REQUEST, CFG_CG_LOOKUP, 1, 1, 7},
	    {"location", "LatField", CFG_CG_REQUEST, CFG_CG_NUMBER, 1, 0, 9},
	    {"location", "LngField", CFG_CG_REQUEST, CFG_CG_NUMBER, 1, 0, 9},
	    {"description", "DepartmentFeild", CFG_CG_REQUEST, CFG_CG_TEXT, 1, 0, 8},
	    {"locationDescription", "LocationDescriptionField", CFG_CG_REQUEST, CFG_CG_TEXT, 1, 1,
	     7},
	    {"comments", "CommentsField", CFG_CG_REQUEST, CFG_CG_TEXT, 1, 1, 7},
	    {"notes", "NotesField", CFG_CG_REQUEST, CFG_CG_TEXT, 1, 1, 7},
	    {"externalId", "SCFIssueIDField", CFG_CG_REQUEST, CFG_CG_ID, 1, 0, 11},
	    {"id", "IDField", CFG_CG_REQUEST, CFG_CG_TEXT, 0, 1, 7},
	    {"status", "StateField", CFG_CG_REQUEST, CFG_CG_TEXT, 0, 0, 13},
	    {"attachment", "AttachmentField", CFG_CG_ATTACHMENT, CFG_CG_TEXT, 1, 1, 7},
	    {"linked", "IsLinkedField", CFG_CG_ATTACHMENT, CFG_CG_BOOLEAN, 1, 0, 12},
	    {"resultField", "GeoNoteField", CFG_CG_REQUEST, CFG_CG_TEXT, 1, 0, 18},
	    {"customField", "ZoneField", CFG_CG_REQUEST, CFG_CG_TEXT, 1, 0, 22},
	};
	struct cfg_cg_field *f;
	struct cfg *c;
	struct err e;
	size_t n;

	(void)state;
	assert_int_equal(load(xml, CFG_NO_FILE_CHECKS, &c, &e), ERR_OK);
	assert_int_equal(c->cg.fields_line, 7);
	assert_int_equal(c->cg.description_line, 8);
	assert_int_equal(c->cg.location_line, 9);
	assert_int_equal(c->cg.issue_line, 0);
	assert_int_equal(c->geocoder.result_field_line, 18);
	assert_int_equal(cfg_cg_fields(c, &f, &n), ERR_OK);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(f[i].element, want[i].element);
		assert_string_equal(f[i].name, want[i].name);
		assert_int_equal(f[i].cls, want[i].cls);
		assert_int_equal(f[i].kind, want[i].kind);
		assert_int_equal(f[i].written, want[i].written);
		assert_int_equal(f[i].is_default, want[i].is_default);
		assert_int_equal(f[i].line, want[i].line);
	}
	free(f);
	cfg_free(c);

	/* no <fields>: defaults name the <cartegraph> line, shape instead of
	 * lat/lng, no externalId, the geocoder's default is no field */
	assert_int_equal(
	    load("<?xml version=\"1.0\"?>\n<scfgate half=\"oms\">\n"
	         "  <spool><root>/r</root><producer>oms</producer><privateKey>/k"
	         "</privateKey><peerPublicKey>/p</peerPublicKey></spool>\n\n"
	         "  <cartegraph><baseUrl>https://cg.example.org/City</baseUrl>"
	         "<credentials>/c</credentials></cartegraph>\n"
	         "  <requestTypes><requestType id=\"1\" remoteId=\"A\"/></requestTypes>\n"
	         "</scfgate>\n",
	         CFG_NO_FILE_CHECKS, &c, &e),
	    ERR_OK);
	assert_int_equal(cfg_cg_fields(c, &f, &n), ERR_OK);
	assert_int_equal(n, 11);
	assert_string_equal(f[2].name, "CgShape");
	assert_int_equal(f[2].kind, CFG_CG_SHAPE);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(f[i].line, 5);
		assert_true(f[i].is_default);
	}
	free(f);
	cfg_free(c);

	/* an SCF-only configuration has none */
	assert_int_equal(load(minimal(NULL, NULL, NULL), CFG_NO_FILE_CHECKS, &c, &e), ERR_OK);
	assert_int_equal(cfg_cg_fields(c, &f, &n), ERR_OK);
	assert_int_equal(n, 0);
	free(f);
	cfg_free(c);
}

/* <bundleRecipientKey>: loaded as given; at load the file must exist, be
 * writable by its owner only and hold an X25519 public key, each refusal
 * at FILE:LINE: element. */
static char *with_recipient(const char *path)
{
	static char x[16384];
	const char *m = minimal(NULL, NULL, NULL);
	const char *end = strstr(m, "  </spool>\n");

	snprintf(x, sizeof(x), "%.*s    <bundleRecipientKey>%s</bundleRecipientKey>\n%s",
	         (int)(end - m), m, path, end);
	return x;
}

static void test_bundle_recipient_key(void **state)
{
	char pub[600], key[600], ed[600], missing[600];
	struct cfg *c = NULL;
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(seal_keygen(tmpdir, "rcpt", &e), ERR_OK);
	assert_int_equal(sig_keygen(tmpdir, "signer", &e), ERR_OK);
	snprintf(pub, sizeof(pub), "%s/rcpt.x25519.pub", tmpdir);
	snprintf(key, sizeof(key), "%s/rcpt.x25519.key", tmpdir);
	snprintf(ed, sizeof(ed), "%s/signer.pub", tmpdir);
	snprintf(missing, sizeof(missing), "%s/absent.x25519.pub", tmpdir);

	/* none by default */
	assert_int_equal(load(minimal(NULL, NULL, NULL), 0, &c, &e), ERR_OK);
	assert_null(c->spool.bundle_recipient_key);
	cfg_free(c);

	assert_int_equal(load(with_recipient(pub), 0, &c, &e), ERR_OK);
	assert_string_equal(c->spool.bundle_recipient_key, pub);
	cfg_free(c);

	assert_int_equal(load(with_recipient(missing), 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:8: bundleRecipientKey: "));
	assert_non_null(strstr(e.msg, "absent.x25519.pub: No such file or directory"));
	/* the file checks are what CFG_NO_FILE_CHECKS leaves out */
	assert_int_equal(load(with_recipient(missing), CFG_NO_FILE_CHECKS, &c, &e), ERR_OK);
	assert_string_equal(c->spool.bundle_recipient_key, missing);
	cfg_free(c);

	/* another user could put their own key in its place */
	assert_int_equal(chmod(pub, 0664), 0);
	assert_int_equal(load(with_recipient(pub), 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:8: bundleRecipientKey: "));
	assert_non_null(strstr(e.msg, "writable by group or others (mode 664); run chmod 644"));
	assert_int_equal(chmod(pub, 0644), 0);

	/* a signing key, or the private half, is not what export encrypts to */
	assert_int_equal(load(with_recipient(ed), 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:8: bundleRecipientKey: "));
	assert_non_null(strstr(e.msg, "signer.pub: not an X25519 key"));
	assert_int_equal(load(with_recipient(key), 0, &c, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "t.xml:8: bundleRecipientKey: "));
	assert_non_null(strstr(e.msg, "rcpt.x25519.key: not a PEM public key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal_defaults),
	    cmocka_unit_test(test_cartegraph_defaults),
	    cmocka_unit_test(test_example_passes),
	    cmocka_unit_test(test_example_encryption),
	    cmocka_unit_test(test_errors_name_file_line_element),
	    cmocka_unit_test(test_templates_and_type_ack),
	    cmocka_unit_test(test_template_errors_name_the_line),
	    cmocka_unit_test(test_loopback_http_allowed),
	    cmocka_unit_test(test_parser_refusals),
	    cmocka_unit_test(test_files_must_exist),
	    cmocka_unit_test(test_full_sections),
	    cmocka_unit_test(test_reopen_policy),
	    cmocka_unit_test(test_census_schedule),
	    cmocka_unit_test(test_read_secret),
	    cmocka_unit_test(test_csv_import_roundtrip),
	    cmocka_unit_test(test_csv_errors),
	    cmocka_unit_test(test_geocoder_defaults),
	    cmocka_unit_test(test_geocoder_full),
	    cmocka_unit_test(test_geocoder_errors),
	    cmocka_unit_test(test_geocoder_files_only_when_used),
	    cmocka_unit_test(test_geocoder_example),
	    cmocka_unit_test(test_transfer),
	    cmocka_unit_test(test_comment_routes),
	    cmocka_unit_test(test_ca_files),
	    cmocka_unit_test(test_url_credentials),
	    cmocka_unit_test(test_check_secrets),
	    cmocka_unit_test(test_cg_fields_lines),
	    cmocka_unit_test(test_bundle_recipient_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
