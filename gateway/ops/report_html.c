/*
 * report_html.c: the page of `scfgate report` (see report.h).
 *
 * Everything on the page comes from the document report_collect()
 * built, and every string in it may come from SeeClickFix, Cartegraph, a
 * record or a state file: each goes through esc() (text and quoted
 * attributes) and a link is made only of an http or https URL.  The page
 * has no script, loads nothing, and says so in its Content-Security-
 * Policy, so a value that slipped through could still not run.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "report.h"
#include "jdoc.h"

/* The page's only style; its hash is in the CSP (no 'unsafe-inline'). */
static const char style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:75em}"
    "h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.5em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0}.num{text-align:right}"
    "#verdict{padding:.5em;font-weight:bold}"
    ".ok{background:#dfd;border:1px solid #7b7}"
    ".attention{background:#fdd;border:1px solid #c66}"
    ".note{color:#555}.bad{color:#a00}code{word-break:break-all}";

enum err_status report_html_escape(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	enum err_status st = ERR_OK;

	while (*p && st == ERR_OK) {
		unsigned char c = *p;
		size_t len = 0;

		switch (c) {
		case '&':
			st = buf_adds(out, "&amp;");
			p++;
			continue;
		case '<':
			st = buf_adds(out, "&lt;");
			p++;
			continue;
		case '>':
			st = buf_adds(out, "&gt;");
			p++;
			continue;
		case '"':
			st = buf_adds(out, "&quot;");
			p++;
			continue;
		case '\'':
			st = buf_adds(out, "&#39;");
			p++;
			continue;
		default:
			break;
		}
		if (c == '\t' || c == '\n' || (c >= 0x20 && c < 0x7f)) {
			st = buf_add(out, p, 1);
			p++;
			continue;
		}
		/* A valid UTF-8 sequence (no overlong form, no surrogate, at
		 * most U+10FFFF, no C1 control) passes; anything else is one
		 * U+FFFD per byte. */
		if (c >= 0xc2 && c <= 0xdf && (p[1] & 0xc0) == 0x80)
			len = (c == 0xc2 && p[1] < 0xa0) ? 0 : 2;
		else if (c >= 0xe0 && c <= 0xef && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80)
			len = (c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ? 0 : 3;
		else if (c >= 0xf0 && c <= 0xf4 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
		         (p[3] & 0xc0) == 0x80)
			len = (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90) ? 0 : 4;
		if (len) {
			st = buf_add(out, p, len);
			p += len;
		} else {
			st = buf_adds(out, "\xef\xbf\xbd");
			p++;
		}
	}
	return st;
}

int report_url_ok(const char *url)
{
	const char *p;

	if (!url)
		return 0;
	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return 0;
	if (!*p || *p == '/')
		return 0;
	for (const char *q = url; *q; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f ||
		    strchr("\"'<>\\`", *q))
			return 0;
	return 1;
}

/* ---- the writer ---------------------------------------------------------- */

struct page {
	struct buf *b;
	enum err_status st;
};

static void raw(struct page *pg, const char *s)
{
	if (pg->st == ERR_OK)
		pg->st = buf_adds(pg->b, s);
}

static void rawf(struct page *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rawf(struct page *pg, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	raw(pg, tmp);
}

static void esc(struct page *pg, const char *s)
{
	if (pg->st == ERR_OK)
		pg->st = report_html_escape(pg->b, s);
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int num(const cJSON *o, const char *key, double *out)
{
	const cJSON *v = get(o, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return 0;
	*out = v->valuedouble;
	return 1;
}

/* A cell with a string, or "-". */
static void td_str(struct page *pg, const char *s)
{
	raw(pg, "<td>");
	esc(pg, s && *s ? s : "-");
	raw(pg, "</td>");
}

static void td_num(struct page *pg, const cJSON *o, const char *key)
{
	double v;

	if (num(o, key, &v))
		rawf(pg, "<td class=\"num\">%.0f</td>", v);
	else
		raw(pg, "<td class=\"num\">-</td>");
}

static void fmt_age(double s, char out[32])
{
	long long v = s > 0 && s < 1e15 ? (long long)s : 0;

	if (v < 120)
		snprintf(out, 32, "%llds", v);
	else if (v < 7200)
		snprintf(out, 32, "%lldm", v / 60);
	else if (v < 172800)
		snprintf(out, 32, "%lldh %lldm", v / 3600, v % 3600 / 60);
	else
		snprintf(out, 32, "%lldd %lldh", v / 86400, v % 86400 / 3600);
}

static void fmt_epoch(double t, char out[32])
{
	time_t tt = (time_t)(t > 0 && t < 1e12 ? t : 0);
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "?");
}

/* ---- sections ---------------------------------------------------------- */

static void head(struct page *pg, const cJSON *doc)
{
	unsigned char md[32];
	char b64[64];
	unsigned mdlen = 0;

	EVP_Digest(style, strlen(style), md, &mdlen, EVP_sha256(), NULL);
	EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	raw(pg, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	        "style-src 'sha256-");
	raw(pg, b64);
	raw(pg, "'; base-uri 'none'; form-action 'none'\">\n"
	        "<meta name=\"referrer\" content=\"no-referrer\">\n"
	        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	        "<title>scfgate report: ");
	esc(pg, jdoc_get_str(doc, "half"));
	raw(pg, " half, ");
	esc(pg, jdoc_get_str(doc, "generated_at"));
	raw(pg, "</title>\n<style>");
	raw(pg, style);
	raw(pg, "</style></head>\n<body>\n");
}

static void verdict(struct page *pg, const cJSON *doc, const cJSON *status)
{
	int attention = !cJSON_IsFalse(get(status, "attention"));

	raw(pg, "<header><h1 id=\"title\">scfgate report: ");
	esc(pg, jdoc_get_str(doc, "half"));
	raw(pg, " half</h1>\n<p id=\"generated\">Generated ");
	esc(pg, jdoc_get_str(doc, "generated_at"));
	raw(pg, " from the spool root <code>");
	esc(pg, jdoc_get_str(status, "root"));
	raw(pg, "</code>.</p>\n<p id=\"verdict\" class=\"");
	raw(pg, attention ? "attention" : "ok");
	raw(pg, "\">");
	esc(pg,
	    jdoc_get_str(status, "summary") ? jdoc_get_str(status, "summary") : "status unknown");
	raw(pg, "</p></header>\n");
}

static void queues(struct page *pg, const cJSON *status)
{
	static const char *const dirs[] = {"new", "cur", "done", "failed", "hold", "dismissed"};
	const cJSON *q;

	raw(pg, "<section id=\"queues\"><h2>Queues</h2>\n<table><tr><th>queue</th><th>role</th>");
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		rawf(pg, "<th>%s</th>", dirs[i]);
	raw(pg, "<th>oldest waiting</th><th>gap</th></tr>\n");
	cJSON_ArrayForEach(q, get(status, "queues"))
	{
		const cJSON *g = get(q, "gap");
		double v;

		raw(pg, "<tr data-queue=\"");
		esc(pg, jdoc_get_str(q, "name"));
		raw(pg, "\">");
		td_str(pg, jdoc_get_str(q, "name"));
		td_str(pg, jdoc_get_str(q, "role"));
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
			td_num(pg, get(q, "count"), dirs[i]);
		if (num(q, "oldest_waiting_seconds", &v)) {
			char age[32];

			fmt_age(v, age);
			td_str(pg, age);
		} else {
			td_str(pg, NULL);
		}
		if (cJSON_IsObject(g)) {
			double seq = 0;

			num(g, "seq", &seq);
			rawf(pg, "<td class=\"%s\">seq %.0f of ",
			     cJSON_IsTrue(get(g, "alarmed")) ? "bad" : "note", seq);
			esc(pg, jdoc_get_str(g, "producer"));
			raw(pg, cJSON_IsTrue(get(g, "alarmed")) ? " (alarmed)</td>" : "</td>");
		} else {
			td_str(pg, "none");
		}
		raw(pg, "</tr>\n");
	}
	raw(pg, "</table>\n");
}

/* One polyline per queue of key ("waiting", "oldest_seconds"). */
static void chart(struct page *pg, const cJSON *samples, int n, const char *key, const char *id,
                  const char *title, int ages)
{
	static const char *const qn[] = {"outbound", "inbound"};
	static const char *const colour[] = {"#1f77b4", "#d62728"};
	const double w = 640, h = 140, left = 60, top = 10;
	double t0 = 0, t1 = 0, max = 0;
	const cJSON *s;
	char a[32], b[32];
	int i = 0;

	cJSON_ArrayForEach(s, samples)
	{
		double t = 0;

		num(s, "at", &t);
		if (i == 0)
			t0 = t;
		t1 = t;
		for (int q = 0; q < 2; q++) {
			double v = 0;

			if (num(get(s, qn[q]), key, &v) && v > max)
				max = v < 1e15 ? v : 1e15;
		}
		i++;
	}
	if (max <= 0)
		max = 1;
	if (t1 <= t0)
		t1 = t0 + 1;
	rawf(pg,
	     "<figure><svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
	     "height=\"%.0f\" role=\"img\" aria-label=\"%s\">",
	     id, left + w + 10, top + h + 40, title);
	rawf(pg,
	     "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" "
	     "stroke=\"#999\"/>",
	     left, top, w, h);
	if (ages)
		fmt_age(max, a);
	else
		snprintf(a, sizeof(a), "%.0f", max);
	rawf(pg, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%s</text>",
	     left - 4, top + 10, a);
	rawf(pg, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">0</text>",
	     left - 4, top + h);
	fmt_epoch(t0, a);
	fmt_epoch(t1, b);
	rawf(pg, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%s</text>", left, top + h + 14, a);
	rawf(pg, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%s</text>",
	     left + w, top + h + 14, b);
	for (int q = 0; q < 2; q++) {
		rawf(pg, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
		     colour[q]);
		cJSON_ArrayForEach(s, samples)
		{
			double t = 0, v = 0;

			num(s, "at", &t);
			num(get(s, qn[q]), key, &v);
			/* a sample out of order or out of range stays in the frame */
			v = v < 0 ? 0 : v > max ? max : v;
			t = t < t0 ? t0 : t > t1 ? t1 : t;
			rawf(pg, "%.1f,%.1f ", left + (t - t0) / (t1 - t0) * w,
			     top + h - v / max * h);
		}
		raw(pg, "\"/>");
		rawf(pg, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" fill=\"%s\">%s</text>",
		     left + q * 120.0, top + h + 32, colour[q], qn[q]);
	}
	rawf(pg, "</svg><figcaption>%s (%d samples)</figcaption></figure>\n", title, n);
}

static void history(struct page *pg, const cJSON *doc)
{
	const cJSON *h = get(doc, "history"), *samples = get(h, "samples");
	int n = cJSON_GetArraySize(samples);
	double every = 0;

	raw(pg, "<h3>Over time</h3>\n");
	if (jdoc_get_str(h, "error")) {
		raw(pg, "<p id=\"history-error\" class=\"bad\">The history cannot be read: ");
		esc(pg, jdoc_get_str(h, "error"));
		raw(pg, "</p>\n");
	}
	num(h, "every_seconds", &every);
	if (n < 2) {
		rawf(pg,
		     "<p id=\"history-none\" class=\"note\">%d sample%s so far: the half adds one "
		     "at most every %.0f seconds while it runs.</p>\n",
		     n, n == 1 ? "" : "s", every);
	} else {
		chart(pg, samples, n, "waiting", "chart-waiting", "Records waiting in new/", 0);
		chart(pg, samples, n, "oldest_seconds", "chart-oldest",
		      "Age of the oldest waiting record", 1);
	}
	raw(pg, "</section>\n");
}

/* The records status lists under list_key (at most 50) and counts under
 * count_key ("failed"/"failed", "held"/"hold"), with their reasons. */
static void rec_list(struct page *pg, const cJSON *q, const char *list_key, const char *count_key,
                     const char *what)
{
	const cJSON *l = get(q, list_key), *r;
	double total = 0;

	num(get(q, "count"), count_key, &total);
	if (total <= 0)
		return;
	raw(pg, "<h3>");
	esc(pg, jdoc_get_str(q, "name"));
	rawf(pg, ": %.0f %s</h3>\n<ul id=\"%s-", total, what, list_key);
	esc(pg, jdoc_get_str(q, "name"));
	raw(pg, "\">");
	cJSON_ArrayForEach(r, l)
	{
		double mt = 0;
		char when[32];

		num(r, "mtime", &mt);
		fmt_epoch(mt, when);
		raw(pg, "<li><code>");
		esc(pg, jdoc_get_str(r, "name"));
		rawf(pg, "</code> (since %s): ", when);
		esc(pg, jdoc_get_str(r, "why"));
		raw(pg, "</li>");
	}
	if (total > cJSON_GetArraySize(l))
		rawf(pg, "<li class=\"note\">and %.0f more (scfgate spool ls)</li>",
		     total - cJSON_GetArraySize(l));
	raw(pg, "</ul>\n");
}

static void failures(struct page *pg, const cJSON *status)
{
	const cJSON *q, *x, *work = get(status, "work"), *fs = get(status, "fatal_stop");
	int any = 0;

	raw(pg, "<section id=\"failures\"><h2>Failures</h2>\n");
	cJSON_ArrayForEach(q, get(status, "queues"))
	{
		double f = 0, dis = 0, held = 0;

		num(get(q, "count"), "failed", &f);
		num(get(q, "count"), "dismissed", &dis);
		num(get(q, "count"), "hold", &held);
		any |= f > 0 || dis > 0 || held > 0 || jdoc_get_str(q, "error");
		rec_list(pg, q, "failed", "failed", "failed (scfgate spool retry or dismiss)");
		rec_list(pg, q, "held", "hold", "held (scfgate spool release)");
		if (dis > 0) {
			raw(pg, "<p class=\"dismissed\">");
			esc(pg, jdoc_get_str(q, "name"));
			rawf(pg, ": %.0f record%s dismissed by an operator.</p>\n", dis,
			     dis == 1 ? "" : "s");
		}
		if (jdoc_get_str(q, "error")) {
			raw(pg, "<p class=\"bad\">");
			esc(pg, jdoc_get_str(q, "name"));
			raw(pg, " cannot be read: ");
			esc(pg, jdoc_get_str(q, "error"));
			raw(pg, "</p>\n");
		}
	}
	raw(pg, "<h3>Stuck</h3>\n<ul id=\"stuck\">");
	cJSON_ArrayForEach(x, get(status, "stuck"))
	{
		raw(pg, "<li>");
		esc(pg, cJSON_IsString(x) ? x->valuestring : "?");
		raw(pg, "</li>");
		any = 1;
	}
	if (!cJSON_GetArraySize(get(status, "stuck")))
		raw(pg, "<li class=\"note\">no record waits past the stuck alarm</li>");
	raw(pg, "</ul>\n<h3>Work</h3>\n<table id=\"work\"><tr><th>kind</th><th>last "
	        "attempt</th><th>last success</th><th>class</th><th>reason</th></tr>\n");
	cJSON_ArrayForEach(x, (cJSON_IsObject(work) ? work : NULL))
	{
		double la = 0, ls = 0;
		char a[32], b[32];

		if (!cJSON_IsObject(x))
			continue;
		raw(pg, "<tr><td>");
		esc(pg, x->string);
		raw(pg, "</td>");
		if (num(x, "last_attempt", &la)) {
			fmt_epoch(la, a);
			td_str(pg, a);
		} else {
			td_str(pg, "never");
		}
		if (num(x, "last_success", &ls)) {
			fmt_epoch(ls, b);
			td_str(pg, b);
		} else {
			td_str(pg, NULL);
		}
		td_str(pg, jdoc_get_str(x, "class"));
		td_str(pg, jdoc_get_str(x, "detail") ? jdoc_get_str(x, "detail")
		                                     : jdoc_get_str(x, "reason"));
		raw(pg, "</tr>\n");
	}
	raw(pg, "</table>\n");
	if (cJSON_IsObject(fs)) {
		double at = 0;
		char a[32];

		num(fs, "at", &at);
		fmt_epoch(at, a);
		rawf(pg, "<p id=\"fatal-stop\" class=\"bad\">Fatal stop recorded at %s: ", a);
		esc(pg, jdoc_get_str(fs, "reason"));
		raw(pg, "</p>\n");
		any = 1;
	}
	if (!any)
		raw(pg, "<p id=\"no-failures\" class=\"note\">No failed, held or dismissed "
		        "record.</p>\n");
	raw(pg, "</section>\n");
}

/* The SCF issue as a link when its URL (or the one made of the base URL
 * and the id) is a web URL; a URL that is not one is shown as text. */
static void issue_link(struct page *pg, const cJSON *f, const char *base)
{
	const char *url = jdoc_get_str(f, "html_url"), *link = NULL;
	double id = 0;
	char made[REPORT_STRING_MAX + 64];
	int have_id = num(f, "issue_id", &id);

	if (report_url_ok(url)) {
		link = url;
	} else if (have_id && report_url_ok(base)) {
		size_t bl = strlen(base);

		while (bl && base[bl - 1] == '/')
			bl--;
		snprintf(made, sizeof(made), "%.*s/issues/%.0f", (int)bl, base, id);
		link = made;
	}
	raw(pg, "<td class=\"issue\">");
	if (link) {
		raw(pg, "<a rel=\"noopener noreferrer\" href=\"");
		esc(pg, link);
		raw(pg, "\">");
	}
	if (have_id)
		rawf(pg, "%.0f", id);
	else
		raw(pg, "?");
	if (link)
		raw(pg, "</a>");
	if (url && link != url) {
		raw(pg, " <span class=\"bad\">(not a web address: ");
		esc(pg, url);
		raw(pg, ")</span>");
	}
	raw(pg, "</td>");
}

static void reconciliation(struct page *pg, const cJSON *doc)
{
	static const char *const classes[] = {"in-sync", "missing", "missed-close",
	                                      "orphan",  "drift",   "duplicate"};
	const cJSON *r = get(doc, "reconciliation"), *f, *x;
	const char *idf, *base;
	double total = 0;

	raw(pg, "<section id=\"reconciliation\"><h2>Last reconciliation</h2>\n");
	if (!cJSON_IsObject(r)) {
		if (jdoc_get_str(doc, "reconciliation_error")) {
			raw(pg,
			    "<p id=\"reconciliation-error\" class=\"bad\">The last reconciliation "
			    "cannot be read: ");
			esc(pg, jdoc_get_str(doc, "reconciliation_error"));
			raw(pg, "</p>\n");
		} else {
			raw(pg, "<p id=\"reconciliation-none\" class=\"note\">No reconciliation on "
			        "this host yet.</p>\n");
		}
		raw(pg, "</section>\n");
		return;
	}
	idf = jdoc_get_str(r, "id_field");
	base = jdoc_get_str(r, "scf_base_url");
	raw(pg, "<p id=\"census\">Census <code>");
	esc(pg, jdoc_get_str(r, "census_id"));
	raw(pg, "</code>, completed ");
	esc(pg, jdoc_get_str(r, "completed_at") ? jdoc_get_str(r, "completed_at") : "?");
	raw(pg, "; window ");
	esc(pg,
	    jdoc_get_str(get(r, "window"), "from") ? jdoc_get_str(get(r, "window"), "from") : "?");
	raw(pg, " to ");
	esc(pg, jdoc_get_str(get(r, "window"), "to") ? jdoc_get_str(get(r, "window"), "to") : "?");
	raw(pg, ". ");
	if (num(r, "issues", &total))
		rawf(pg, "%.0f SeeClickFix issues, ", total);
	if (num(r, "requests", &total))
		rawf(pg, "%.0f Cartegraph requests. ", total);
	raw(pg, "Cartegraph requests are named by their field <code id=\"id-field\">");
	esc(pg, idf ? idf : "?");
	raw(pg, "</code>.</p>\n<table id=\"classes\"><tr><th>class</th><th>issues</th></tr>\n");
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		rawf(pg, "<tr data-class=\"%s\"><th>%s</th>", classes[i], classes[i]);
		td_num(pg, get(r, "classes"), classes[i]);
		raw(pg, "</tr>\n");
	}
	raw(pg, "</table>\n");
	f = get(r, "findings");
	raw(pg, "<table id=\"findings\"><tr><th>class</th><th>SeeClickFix issue</th><th>SCF "
	        "status</th><th>Cartegraph ");
	esc(pg, idf ? idf : "request");
	raw(pg, "</th><th>Oid</th><th>OMS status</th><th>what differs</th></tr>\n");
	cJSON_ArrayForEach(x, f)
	{
		raw(pg, "<tr class=\"finding\" data-class=\"");
		esc(pg, jdoc_get_str(x, "class"));
		raw(pg, "\">");
		td_str(pg, jdoc_get_str(x, "class"));
		issue_link(pg, x, base);
		td_str(pg, jdoc_get_str(x, "scf_status"));
		td_str(pg, jdoc_get_str(x, "request_id"));
		td_num(pg, x, "oid");
		td_str(pg, jdoc_get_str(x, "oms_status"));
		td_str(pg, jdoc_get_str(x, "detail"));
		raw(pg, "</tr>\n");
	}
	raw(pg, "</table>\n");
	if (num(r, "findings_total", &total) && total > cJSON_GetArraySize(f))
		rawf(pg, "<p class=\"note\">%d of %.0f findings shown.</p>\n",
		     cJSON_GetArraySize(f), total);
	raw(pg, "<h3>Repairs</h3>\n<ul id=\"repairs\">");
	cJSON_ArrayForEach(x, get(r, "repairs"))
	{
		const cJSON *id;
		int k = 0;

		raw(pg, "<li>");
		esc(pg, jdoc_get_str(x, "at") ? jdoc_get_str(x, "at") : "?");
		raw(pg, ": ");
		esc(pg, jdoc_get_str(x, "class") ? jdoc_get_str(x, "class") : "?");
		raw(pg, " by ");
		esc(pg, jdoc_get_str(x, "record") ? jdoc_get_str(x, "record") : "?");
		raw(pg, " records for issues");
		cJSON_ArrayForEach(id, get(x, "issue_ids"))
		{
			if (k++ == 100) {
				raw(pg, " ...");
				break;
			}
			if (cJSON_IsNumber(id))
				rawf(pg, " %.0f", id->valuedouble);
		}
		raw(pg, "</li>");
	}
	if (!cJSON_GetArraySize(get(r, "repairs")))
		raw(pg, "<li class=\"note\">none yet (scfgate reconcile --repair)</li>");
	raw(pg, "</ul>\n</section>\n");
}

static void issues(struct page *pg, const cJSON *doc)
{
	const cJSON *a = get(doc, "issues"), *is;

	if (!cJSON_GetArraySize(a))
		return;
	raw(pg, "<section id=\"issues\"><h2>Issues</h2>\n");
	cJSON_ArrayForEach(is, a)
	{
		const cJSON *cg = get(is, "cartegraph"), *ev, *rec;
		double id = 0, oid = 0;

		num(is, "issue_id", &id);
		rawf(pg,
		     "<article class=\"issue\" id=\"issue-%.0f\"><h3>SeeClickFix issue %.0f</h3>\n",
		     id, id);
		if (!cJSON_IsTrue(get(is, "known"))) {
			raw(pg, "<p class=\"bad\">Nothing on this host names this "
			        "issue.</p></article>\n");
			continue;
		}
		raw(pg, "<p>Cartegraph request: ");
		if (num(cg, "oid", &oid)) {
			esc(pg,
			    jdoc_get_str(cg, "request_id") ? jdoc_get_str(cg, "request_id") : "?");
			rawf(pg, " (Oid %.0f)", oid);
		} else {
			raw(pg, "none known on this host");
		}
		if (jdoc_get_str(get(is, "scf_state"), "status")) {
			raw(pg, "; SeeClickFix: ");
			esc(pg, jdoc_get_str(get(is, "scf_state"), "status"));
		}
		if (jdoc_get_str(get(is, "oms_state"), "flags")) {
			raw(pg, "; OMS half: ");
			esc(pg, jdoc_get_str(get(is, "oms_state"), "flags"));
		}
		raw(pg, ".</p>\n<table class=\"timeline\"><tr><th>event</th><th>time</th><th>how "
		        "known</th></tr>\n");
		cJSON_ArrayForEach(ev, get(is, "timeline"))
		{
			raw(pg, "<tr data-event=\"");
			esc(pg, jdoc_get_str(ev, "event"));
			raw(pg, "\">");
			td_str(pg, jdoc_get_str(ev, "event"));
			td_str(pg, jdoc_get_str(ev, "at"));
			td_str(pg, jdoc_get_str(ev, "how"));
			raw(pg, "</tr>\n");
		}
		raw(pg,
		    "</table>\n<details><summary>records</summary><table><tr><th>queue</th>"
		    "<th>dir</th><th>kind</th><th>seq</th><th>created</th><th>name</th></tr>\n");
		cJSON_ArrayForEach(rec, get(is, "records"))
		{
			raw(pg, "<tr>");
			td_str(pg, jdoc_get_str(rec, "queue"));
			td_str(pg, jdoc_get_str(rec, "dir"));
			td_str(pg, jdoc_get_str(rec, "kind"));
			td_num(pg, rec, "seq");
			td_str(pg, jdoc_get_str(rec, "created"));
			td_str(pg, jdoc_get_str(rec, "name"));
			raw(pg, "</tr>\n");
		}
		raw(pg, "</table></details></article>\n");
	}
	raw(pg, "</section>\n");
}

enum err_status report_render_html(const cJSON *doc, struct buf *out, struct err *e)
{
	struct page pg = {out, ERR_OK};
	const cJSON *status = get(doc, "status");

	head(&pg, doc);
	verdict(&pg, doc, status);
	queues(&pg, status);
	history(&pg, doc);
	failures(&pg, status);
	reconciliation(&pg, doc);
	issues(&pg, doc);
	raw(&pg, "<footer class=\"note\">scfgate report: a static page, no script, nothing "
	         "loaded from elsewhere.</footer>\n</body></html>\n");
	if (pg.st != ERR_OK)
		return err_set(e, pg.st, "cannot build the page (out of memory or too large)");
	return ERR_OK;
}
