/*
 * fuzz_report.c: a reconciliation result file (state/<half>/reconcile/
 * last.json) of arbitrary bytes, copied as report_collect() copies it and
 * rendered as the report's page.  Whatever the file holds, the copy has
 * only the documented members, and the page has no tag that did not come
 * from the renderer: no script, no event handler, no javascript: link.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int listed(const char *name, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && memcmp(*list, name, len) == 0)
			return 1;
	return 0;
}

/* 1 when every tag of the page is one the renderer writes, with only the
 * attributes it writes, each value quoted, no javascript: anywhere in a
 * tag.  Text from the data is escaped, so it has no raw '<' or '"'. */
static int tags_are_ours(const char *p)
{
	static const char *const tags[] = {
	    "!DOCTYPE", "html",     "head",       "meta",   "title",  "style", "body",
	    "header",   "h1",       "h2",         "h3",     "p",      "code",  "section",
	    "table",    "tr",       "th",         "td",     "figure", "svg",   "rect",
	    "text",     "polyline", "figcaption", "ul",     "li",     "span",  "a",
	    "article",  "details",  "summary",    "footer", NULL};
	static const char *const attrs[] = {
	    "lang",         "charset",    "http-equiv", "content",     "name",       "class",
	    "id",           "href",       "rel",        "xmlns",       "width",      "height",
	    "role",         "aria-label", "x",          "y",           "fill",       "stroke",
	    "stroke-width", "points",     "font-size",  "text-anchor", "data-queue", "data-class",
	    "data-event",   "html",       NULL};

	while ((p = strchr(p, '<')) != NULL) {
		const char *q = p + 1, *end = strchr(p, '>');
		int style = strncmp(p, "<style>", 7) == 0;
		size_t n;

		if (!end)
			return 0;
		if (*q == '/')
			q++;
		n = strcspn(q, " />");
		if (!listed(q, n, tags))
			return 0;
		q += n;
		while (q < end) {
			if (*q == ' ' || *q == '/') {
				q++;
				continue;
			}
			n = strcspn(q, "= />");
			if (!listed(q, n, attrs))
				return 0;
			q += n;
			if (*q == '=') {
				const char *close;

				if (q[1] != '"' || !(close = strchr(q + 2, '"')) || close > end)
					return 0;
				if (memmem(q, (size_t)(close - q), "javascript:", 11))
					return 0;
				q = close + 1;
			}
		}
		if (style) {
			/* the style element's text is the renderer's own */
			p = strstr(end, "</style>");
			if (!p)
				return 0;
			continue;
		}
		p = end + 1;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jdoc d = JDOC_INIT;
	cJSON *root = jdoc_root_object(&d);
	const cJSON *r;
	struct buf page;
	struct err e;

	jdoc_string(&d, root, "half", "scf");
	jdoc_string(&d, root, "generated_at", "2026-12-06T10:00:00Z");
	report_add_reconciliation(&d, root, (const char *)data, size);
	if (jdoc_failed(&d))
		abort();
	r = cJSON_GetObjectItemCaseSensitive(d.root, "reconciliation");
	if (!cJSON_IsNull(r) && !cJSON_IsObject(r))
		abort();
	if (cJSON_IsObject(r) &&
	    (cJSON_GetArraySize(r) != 11 ||
	     cJSON_GetArraySize(cJSON_GetObjectItem(r, "findings")) > REPORT_FINDINGS_MAX))
		abort();
	buf_init(&page, 0);
	err_clear(&e);
	if (report_render_html(d.root, &page, &e) != ERR_OK)
		abort();
	if (!tags_are_ours(page.data))
		abort();
	buf_release(&page);
	jdoc_release(&d);
	return 0;
}
