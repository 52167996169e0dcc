/*
 * test_report.c: the report's escaping (HTML text and attributes, URLs),
 * the page built from hostile values, and the data collected from an
 * empty spool root and from a reconciliation file with wrong types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "example_cfg.h"
#include "report.h"
#include "unconst.h"

static char *escaped(const char *in)
{
	static struct buf b;

	buf_release(&b);
	buf_init(&b, 0);
	assert_int_equal(report_html_escape(&b, in), ERR_OK);
	return b.data ? b.data : UNCONST("");
}

static void test_escape(void **state)
{
	(void)state;
	assert_string_equal(escaped("<script>alert('x')</script>"),
	                    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	assert_string_equal(escaped("a & \"b\" > c"), "a &amp; &quot;b&quot; &gt; c");
	assert_string_equal(escaped("&lt;"), "&amp;lt;");
	/* tab and newline pass; other control characters do not */
	assert_string_equal(escaped("a\tb\nc\x01"
	                            "d\x7f"
	                            "e"),
	                    "a\tb\nc\xef\xbf\xbd"
	                    "d\xef\xbf\xbd"
	                    "e");
	/* valid UTF-8 passes (é, €, 😀) */
	assert_string_equal(escaped("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	                    "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* invalid: a stray byte, an overlong '<', a surrogate, a C1 control,
	 * a cut sequence, beyond U+10FFFF: one U+FFFD per byte */
	assert_string_equal(escaped("\xff"), "\xef\xbf\xbd");
	assert_string_equal(escaped("\xc0\xbc"), "\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(escaped("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(escaped("\xc2\x85"), "\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(escaped("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(escaped("\xf4\x90\x80\x80"),
	                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(escaped(NULL), "");
}

static void test_url_ok(void **state)
{
	(void)state;
	assert_true(report_url_ok("https://seeclickfix.com/issues/123"));
	assert_true(report_url_ok("HTTP://127.0.0.1:8080/issues/1?a=b&c=d"));
	assert_false(report_url_ok("javascript:alert(1)"));
	assert_false(report_url_ok("JavaScript://seeclickfix.com/%0aalert(1)"));
	assert_false(report_url_ok("data:text/html,<script>alert(1)</script>"));
	assert_false(report_url_ok(" https://seeclickfix.com/"));
	assert_false(report_url_ok("https://"));
	assert_false(report_url_ok("https:///path"));
	assert_false(report_url_ok("//seeclickfix.com/issues/1"));
	assert_false(report_url_ok("https://a b/"));
	assert_false(report_url_ok("https://a/\"onmouseover=\"x"));
	assert_false(report_url_ok("https://a/'x"));
	assert_false(report_url_ok("https://a/<x>"));
	assert_false(report_url_ok("https://a/\n"));
	assert_false(report_url_ok("https://a/\xc3\xa9"));
	assert_false(report_url_ok(NULL));
}

static const char hostile_doc[] =
    "{\"generated_at\":\"2026-12-06T10:00:00Z\",\"half\":\"scf<script>x</script>\","
    "\"status\":{\"attention\":true,\"summary\":\"<img src=x onerror=alert(1)>\","
    "\"root\":\"/srv/\\\"><script>\",\"queues\":[{\"name\":\"in<b>bound\",\"role\":\"consumed\","
    "\"count\":{\"new\":1,\"failed\":1,\"hold\":3,\"dismissed\":2},"
    "\"held\":[{\"name\":\"<u>h</u>\",\"why\":\"held by <b>x\"}],"
    "\"failed\":[{\"name\":\"<svg onload=alert(1)>\",\"why\":\"</li><script>alert(1)</script>\","
    "\"mtime\":1}]}],\"stuck\":[\"<iframe src=javascript:alert(1)>\"]},"
    "\"history\":{\"every_seconds\":300,\"samples\":["
    "{\"at\":1,\"outbound\":{\"waiting\":1e308,\"oldest_seconds\":-5},\"inbound\":{}},"
    "{\"at\":1,\"outbound\":{\"waiting\":2},\"inbound\":{\"waiting\":3}}]},"
    "\"reconciliation\":{\"census_id\":\"c<script>\",\"id_field\":\"<b>IDField\","
    "\"scf_base_url\":\"javascript:alert(1)//\",\"classes\":{\"missing\":1},"
    "\"findings\":[{\"class\":\"\\\" onclick=\\\"alert(1)\",\"issue_id\":5,"
    "\"html_url\":\"javascript:alert(1)\",\"detail\":\"<script>alert(1)</script>\"},"
    "{\"class\":\"missing\",\"issue_id\":6,\"html_url\":\"https://e.example/i/6\\\"x\"}],"
    "\"repairs\":[{\"at\":\"<script>\",\"issue_ids\":[1,\"<b>\"]}]},"
    "\"issues\":[{\"issue_id\":7,\"known\":true,\"cartegraph\":{\"oid\":1,"
    "\"request_id\":\"<script>SR</script>\"},\"scf_state\":{\"status\":\"<i>open\"},"
    "\"timeline\":[{\"event\":\"\\\"><script>\",\"at\":\"<b>\",\"how\":\"<a href=x>\"}],"
    "\"records\":[{\"name\":\"<script>\"}]}]}";

/* Every tag of the page is the renderer's own: none from the data. */
static void test_page_escapes_everything(void **state)
{
	cJSON *doc = cJSON_Parse(hostile_doc);
	struct buf out;
	struct err e;
	const char *p;

	(void)state;
	assert_non_null(doc);
	buf_init(&out, 0);
	err_clear(&e);
	assert_int_equal(report_render_html(doc, &out, &e), ERR_OK);
	assert_null(strcasestr(out.data, "<script"));
	assert_null(strcasestr(out.data, "<img"));
	assert_null(strcasestr(out.data, "<svg onload"));
	assert_null(strcasestr(out.data, "<iframe"));
	assert_null(strcasestr(out.data, "<b>"));
	assert_null(strcasestr(out.data, "<i>"));
	assert_null(strcasestr(out.data, "<a href=x"));
	assert_null(strcasestr(out.data, "href=\"javascript"));
	assert_null(strcasestr(out.data, "onclick=\""));
	assert_non_null(strstr(out.data, "&lt;img src=x onerror=alert(1)&gt;"));
	assert_non_null(strstr(out.data, "&lt;/li&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(out.data, "data-class=\"&quot; onclick=&quot;alert(1)\""));
	/* held records: listed with their reason, and how many more */
	assert_non_null(strstr(out.data, "3 held (scfgate spool release)"));
	assert_non_null(strstr(out.data, "<code>&lt;u&gt;h&lt;/u&gt;</code>"));
	assert_non_null(strstr(out.data, "held by &lt;b&gt;x"));
	assert_non_null(strstr(out.data, "and 2 more (scfgate spool ls)"));
	assert_non_null(strstr(out.data, "2 records dismissed by an operator"));
	/* neither URL is a web URL (a quote in one): both shown as text */
	assert_null(strstr(out.data, "<a "));
	assert_non_null(strstr(out.data, "(not a web address: javascript:alert(1))"));
	assert_non_null(strstr(out.data, "(not a web address: https://e.example/i/6&quot;x)"));
	/* the CSP forbids scripts and names the style's hash */
	assert_non_null(strstr(out.data, "content=\"default-src 'none'; style-src 'sha256-"));
	assert_null(strstr(out.data, "unsafe-inline"));
	/* numbers out of range draw inside the chart, never NaN or inf */
	assert_null(strstr(out.data, "nan"));
	assert_null(strstr(out.data, "inf,"));
	for (p = out.data; (p = strstr(p, "points=\"")) != NULL; p++)
		assert_true(p[8] >= '0' && p[8] <= '9');
	buf_release(&out);
	cJSON_Delete(doc);
}

static void test_collect_empty_and_wrong_types(void **state)
{
	char root[] = "/tmp/scfgate-report-XXXXXX", path[512];
	struct cfg *c = example_cfg_load(CFG_HALF_SCF);
	struct jdoc d = JDOC_INIT;
	int64_t issue = 42;
	char *old_root;
	const cJSON *r, *f;
	struct err e;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(root));
	old_root = c->spool.root;
	c->spool.root = root;
	err_clear(&e);
	assert_int_equal(report_collect(c, &issue, 1, 1000, &d, &e), ERR_OK);
	assert_string_equal(cJSON_GetObjectItem(d.root, "half")->valuestring, "scf");
	assert_string_equal(cJSON_GetObjectItem(d.root, "generated_at")->valuestring,
	                    "1970-01-01T00:16:40Z");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(d.root, "reconciliation")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(d.root, "reconciliation_error")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	                     cJSON_GetObjectItem(d.root, "history"), "samples")),
	                 0);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(d.root, "issues"), 0), "known")));
	jdoc_release(&d);
	/* the report creates nothing in the root */
	snprintf(path, sizeof(path), "test -z \"$(ls -A %s)\"", root);
	assert_int_equal(system(path), 0);

	snprintf(path, sizeof(path), "mkdir -p %s/state/scf/reconcile", root);
	assert_int_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/state/scf/reconcile/last.json", root);
	assert_non_null(fp = fopen(path, "w"));
	fputs("{\"census_id\":7,\"issues\":\"many\",\"requests\":1.5,\"id_field\":\"IDField\","
	      "\"classes\":{\"missing\":3,\"orphan\":\"x\"},\"window\":[1],"
	      "\"findings\":[1,\"x\",{\"class\":\"missing\",\"issue_id\":{},\"oid\":8,"
	      "\"detail\":[\"x\"],\"extra\":\"<script>\"}],\"repairs\":{}}",
	      fp);
	fclose(fp);
	assert_int_equal(report_collect(c, NULL, 0, 1000, &d, &e), ERR_OK);
	r = cJSON_GetObjectItem(d.root, "reconciliation");
	assert_true(cJSON_IsObject(r));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "census_id")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "issues")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "requests")));
	assert_string_equal(cJSON_GetObjectItem(r, "id_field")->valuestring, "IDField");
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(r, "classes"), "missing")->valueint, 3);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "classes"), "orphan")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "window"), "from")));
	f = cJSON_GetObjectItem(r, "findings");
	assert_int_equal(cJSON_GetArraySize(f), 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "issue_id")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "detail")));
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "oid")->valueint, 8);
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "extra"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "repairs")), 0);
	jdoc_release(&d);

	/* not JSON: said so, not fatal */
	assert_non_null(fp = fopen(path, "w"));
	fputs("{\"census_id\":", fp);
	fclose(fp);
	assert_int_equal(report_collect(c, NULL, 0, 1000, &d, &e), ERR_OK);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(d.root, "reconciliation")));
	assert_string_equal(cJSON_GetObjectItem(d.root, "reconciliation_error")->valuestring,
	                    "last.json is not JSON");
	jdoc_release(&d);
	/* a FIFO is never opened (the report would hang) */
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(report_collect(c, NULL, 0, 1000, &d, &e), ERR_OK);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(d.root, "reconciliation")));
	assert_true(cJSON_IsString(cJSON_GetObjectItem(d.root, "reconciliation_error")));
	jdoc_release(&d);

	c->spool.root = old_root;
	cfg_free(c);
	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_url_ok),
	    cmocka_unit_test(test_page_escapes_everything),
	    cmocka_unit_test(test_collect_empty_and_wrong_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
