/*
 * e2e-tool: the small HTTP client and JSON reader behind the end-to-end
 * demo, tests and benchmark, so the scripts need neither curl(1), jq nor
 * python (only libcurl and cJSON, which scfgate needs anyway).
 *
 *   e2e-tool http METHOD URL [BODY]
 *       one request on loopback; the body goes to stdout; exit 0 on 2xx.
 *   e2e-tool requests OMS_STATE EXTFIELD [open|closed|all]
 *       "oid issue request_id status" per request carrying an SCF id.
 *   e2e-tool issues SCF_STATE [STATUS]
 *       "id status request_type_id" per SCF issue.
 *   e2e-tool summary SCF_STATE OMS_STATE EXTFIELD
 *       a readable account of what the gateway did in both systems.
 *   e2e-tool oracle --scf F --oms F --ext FIELD --types ID,ID,...
 *                   --ack TEXT --closing TEXT [--type-closing ID=TEXT]...
 *                   [--type-ack ID=TEXT]...
 *                   [--title ID=TEXT]... [--min-synced N] [--min-closed N]
 *                   [--comments field|notes|child:FIELD] [--min-photos PERCENT]
 *       the exact end state (see check_issue, check_description and
 *       check_photos), including every synced issue's DescriptionField byte
 *       for byte and every photo as exactly one linked child record; exit 1
 *       with one line per violation.  --comments names the gateway's comment
 *       route (default field): where a later comment must be, besides
 *       CommentsField.  --min-photos: at least PERCENT of the synced issues
 *       have a photo of their own.
 *
 * States are the simulators' GET /_admin/state documents saved to files.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define API_USER_ID 7000001 /* scf-sim's token user: the gateway's own comments */
#define MAX_TYPES   64
#define MAX_REPORT  60

struct mem {
	char *p;
	size_t n;
	size_t cap;
};

/* The buffer doubles: a state of several MB arrives in 16 KB pieces, and
 * growing it by each piece copied the whole of it every time (seconds
 * under ASan, whose realloc always moves). */
static size_t on_body(char *d, size_t sz, size_t nm, void *ctx)
{
	struct mem *m = ctx;
	size_t add = sz * nm;

	if (m->n + add + 1 > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		char *q;

		while (cap < m->n + add + 1)
			cap *= 2;
		if (!(q = realloc(m->p, cap)))
			return 0;
		m->p = q;
		m->cap = cap;
	}
	memcpy(m->p + m->n, d, add);
	m->n += add;
	m->p[m->n] = '\0';
	return add;
}

static int cmd_http(int argc, char **argv)
{
	struct mem m = {NULL, 0, 0};
	struct curl_slist *h = NULL;
	long status = 0;
	CURLcode rc;
	CURL *c;

	if (argc < 3 || strncmp(argv[2], "http://127.0.0.1:", 17) != 0) {
		fprintf(stderr, "e2e-tool http: METHOD http://127.0.0.1:PORT/... [BODY]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, argv[2]);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, argv[1]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
	if (argc > 3)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, argv[3]);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (m.p)
		fwrite(m.p, 1, m.n, stdout);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	free(m.p);
	if (rc != CURLE_OK || status < 200 || status > 299) {
		fprintf(stderr, "e2e-tool http: %s %s: %s %ld\n", argv[1], argv[2],
		        rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP", status);
		return 1;
	}
	return 0;
}

static cJSON *load_json(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct mem m = {NULL, 0, 0};
	char chunk[65536];
	size_t n;
	cJSON *j;

	if (!f) {
		fprintf(stderr, "e2e-tool: %s: cannot open\n", path);
		exit(2);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (on_body(chunk, 1, n, &m) != n)
			exit(2);
	fclose(f);
	j = m.p ? cJSON_Parse(m.p) : NULL;
	free(m.p);
	if (!j) {
		fprintf(stderr, "e2e-tool: %s: not JSON\n", path);
		exit(2);
	}
	return j;
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The SCF issue id a request carries (string or number field), 0 if none. */
static long long ext_of(const cJSON *rq, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq, field);

	if (cJSON_IsNumber(v))
		return (long long)v->valuedouble;
	if (cJSON_IsString(v) && v->valuestring[0])
		return strtoll(v->valuestring, NULL, 10);
	return 0;
}

static const cJSON *oms_requests(const cJSON *state)
{
	const cJSON *recs = cJSON_GetObjectItemCaseSensitive(state, "records");
	const char *cls = str_of(state, "class");

	return cJSON_GetObjectItemCaseSensitive(recs, cls ? cls : "cgRequestsClass");
}

/* The comment child records of the state (oms-sim --comment-class). */
static const cJSON *oms_comment_children(const cJSON *state)
{
	const cJSON *recs = cJSON_GetObjectItemCaseSensitive(state, "records");
	const char *cls = str_of(state, "comment_class");

	return cls ? cJSON_GetObjectItemCaseSensitive(recs, cls) : NULL;
}

static int is_closed(const cJSON *rq)
{
	const char *s = str_of(rq, "StatusField");
	return s && (strcmp(s, "Closed") == 0 || strcmp(s, "Cancelled") == 0);
}

static int cmd_requests(int argc, char **argv)
{
	const char *which = argc > 3 ? argv[3] : "all";
	cJSON *st;
	const cJSON *rq;

	if (argc < 3)
		return 2;
	st = load_json(argv[1]);
	cJSON_ArrayForEach(rq, oms_requests(st))
	{
		long long issue = ext_of(rq, argv[2]);
		const char *id = str_of(rq, "IDField"), *status = str_of(rq, "StatusField");
		if (!issue || (strcmp(which, "open") == 0 && is_closed(rq)) ||
		    (strcmp(which, "closed") == 0 && !is_closed(rq)))
			continue;
		printf("%.0f %lld %s %s\n", num_of(rq, "Oid"), issue, id ? id : "-",
		       status ? status : "-");
	}
	cJSON_Delete(st);
	return 0;
}

static int cmd_issues(int argc, char **argv)
{
	const cJSON *is;
	cJSON *st;

	if (argc < 2)
		return 2;
	st = load_json(argv[1]);
	cJSON_ArrayForEach(is, cJSON_GetObjectItemCaseSensitive(st, "issues"))
	{
		const char *status = str_of(is, "status");
		if (argc > 2 && (!status || strcmp(status, argv[2]) != 0))
			continue;
		printf("%.0f %s %.0f\n", num_of(is, "id"), status ? status : "-",
		       num_of(is, "request_type_id"));
	}
	cJSON_Delete(st);
	return 0;
}

/* ---- shared by summary and oracle ----------------------------------------- */

static const cJSON *request_for(const cJSON *reqs, const char *ext, long long issue, int *count)
{
	const cJSON *rq, *found = NULL;

	*count = 0;
	cJSON_ArrayForEach(rq, reqs)
	{
		if (ext_of(rq, ext) == issue) {
			(*count)++;
			if (!found)
				found = rq;
		}
	}
	return found;
}

/* Comments the gateway posted through the API with this action. */
static int api_comments(const cJSON *is, const char *action, const char **last_text)
{
	const cJSON *cm;
	int n = 0;

	*last_text = NULL;
	cJSON_ArrayForEach(cm, cJSON_GetObjectItemCaseSensitive(is, "comments"))
	{
		const char *via = str_of(cm, "via"), *act = str_of(cm, "action");
		if (via && act && strcmp(via, "api") == 0 && strcmp(act, action) == 0) {
			n++;
			*last_text = str_of(cm, "comment");
		}
	}
	return n;
}

static size_t occurrences(const char *hay, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	while (hay && (hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += len;
	}
	return n;
}

/* Markers in the text of rq's comment child records (field: their text field). */
static size_t child_markers(const cJSON *children, const char *field, const cJSON *rq,
                            const char *mark)
{
	const cJSON *c;
	size_t n = 0;

	cJSON_ArrayForEach(c, children)
	{
		if (num_of(c, "_parent") == num_of(rq, "Oid"))
			n += occurrences(str_of(c, field), mark);
	}
	return n;
}

static int cmd_summary(int argc, char **argv)
{
	cJSON *scf, *oms;
	const cJSON *is, *reqs, *rq;
	int issues = 0, synced = 0, acked = 0, closed_rq = 0, closed_scf = 0, open_rq = 0;
	size_t notes = 0, own = 0, children = 0;
	const cJSON *ch;
	const char *ack_example = NULL;

	if (argc < 4)
		return 2;
	scf = load_json(argv[1]);
	oms = load_json(argv[2]);
	reqs = oms_requests(oms);
	cJSON_ArrayForEach(ch, oms_comment_children(oms))
	{
		for (const cJSON *f = ch->child; f; f = f->next)
			if (cJSON_IsString(f))
				children += occurrences(f->valuestring, "[scf-comment ");
	}
	cJSON_ArrayForEach(rq, reqs)
	{
		if (!ext_of(rq, argv[3]))
			continue;
		synced++;
		if (is_closed(rq))
			closed_rq++;
		else
			open_rq++;
		notes += occurrences(str_of(rq, "NotesField"), "[scf-comment ");
		own += occurrences(str_of(rq, "CommentsField"), "[scf-comment ");
	}
	cJSON_ArrayForEach(is, cJSON_GetObjectItemCaseSensitive(scf, "issues"))
	{
		const char *t;
		issues++;
		if (api_comments(is, "acknowledge", &t) > 0) {
			acked++;
			if (!ack_example)
				ack_example = t;
		}
		if (api_comments(is, "close", &t) > 0)
			closed_scf++;
	}
	printf("SeeClickFix issues in the organization:     %d\n", issues);
	printf("issues synced (a Cartegraph request each):   %d\n", synced);
	printf("issues acknowledged in SeeClickFix:          %d\n", acked);
	if (ack_example)
		printf("  with the message: \"%s\"\n", ack_example);
	printf("comments (CommentsField / notes / children): %zu / %zu / %zu\n", own, notes,
	       children);
	printf("requests still open in Cartegraph:           %d\n", open_rq);
	printf("requests closed by crews:                    %d\n", closed_rq);
	printf("SCF issues closed by the gateway:            %d\n", closed_scf);
	printf("closings written back to SeeClickFix:\n");
	cJSON_ArrayForEach(is, cJSON_GetObjectItemCaseSensitive(scf, "issues"))
	{
		const char *t, *rid;
		const cJSON *r;
		int n;
		if (api_comments(is, "close", &t) == 0)
			continue;
		r = request_for(reqs, argv[3], (long long)num_of(is, "id"), &n);
		rid = r ? str_of(r, "IDField") : NULL;
		printf("  SCF issue %.0f (%s) Closed after request %s was closed: \"%s\"\n",
		       num_of(is, "id"), str_of(is, "summary") ? str_of(is, "summary") : "?",
		       rid ? rid : "?", t ? t : "");
	}
	if (!closed_scf)
		printf("  (none)\n");
	cJSON_Delete(scf);
	cJSON_Delete(oms);
	return 0;
}

/* ---- oracle ---------------------------------------------------------------- */

struct oracle {
	const char *ext, *ack, *closing;
	long long types[MAX_TYPES];
	const char *type_closing[MAX_TYPES], *type_ack[MAX_TYPES], *title[MAX_TYPES];
	size_t n_types;
	int violations, synced, closed, comments, descriptions, photos, with_photo;
	const char *route;       /* "field", "notes" or "child" */
	const char *child_field; /* route child: the children's text field */
	const cJSON *children;   /* route child: the comment child records */
};

/* Where a comment can be: CommentsField (at creation, and later on the
 * route field), NotesField on the route notes, or a child record. */
static size_t marker_count(const struct oracle *o, const cJSON *rq, long long comment_id)
{
	char mark[64];
	size_t n;

	snprintf(mark, sizeof(mark), "[scf-comment %lld]", comment_id);
	n = occurrences(str_of(rq, "CommentsField"), mark);
	if (strcmp(o->route, "notes") == 0)
		n += occurrences(str_of(rq, "NotesField"), mark);
	else if (strcmp(o->route, "child") == 0)
		n += child_markers(o->children, o->child_field, rq, mark);
	return n;
}

static int type_index(const struct oracle *o, long long id)
{
	for (size_t i = 0; i < o->n_types; i++)
		if (o->types[i] == id)
			return (int)i;
	return -1;
}

/* Render a message template the way the gateway does. */
static void render(const char *tmpl, const cJSON *rq, long long issue, const char *title, char *out,
                   size_t size)
{
	size_t o = 0;
	char num[32];

	for (const char *p = tmpl; *p && o + 1 < size; p++) {
		const char *v = NULL;
		size_t skip = 0;
		if (strncmp(p, "{{", 2) == 0 || strncmp(p, "}}", 2) == 0) {
			out[o++] = *p;
			p++;
			continue;
		}
		if (strncmp(p, "{request_id}", 12) == 0)
			v = str_of(rq, "IDField"), skip = 12;
		else if (strncmp(p, "{oid}", 5) == 0)
			snprintf(num, sizeof(num), "%.0f", num_of(rq, "Oid")), v = num, skip = 5;
		else if (strncmp(p, "{issue_id}", 10) == 0)
			snprintf(num, sizeof(num), "%lld", issue), v = num, skip = 10;
		else if (strncmp(p, "{request_type}", 14) == 0)
			v = title, skip = 14;
		if (!skip) {
			out[o++] = *p;
			continue;
		}
		for (; v && *v && o + 1 < size; v++)
			out[o++] = *v;
		p += skip - 1;
	}
	out[o] = '\0';
}

static void violation(struct oracle *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(struct oracle *o, const char *fmt, ...)
{
	va_list ap;

	if (o->violations++ >= MAX_REPORT)
		return;
	va_start(ap, fmt);
	fputs("oracle: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

/* Every comment of a synced issue that a person wrote appears exactly once
 * (at most once once the issue was closed: a comment made in the last
 * seconds before the closing may legitimately never be fetched); the
 * gateway's own and system comments never. */
static void check_comments(struct oracle *o, const cJSON *is, const cJSON *rq, int finished)
{
	const cJSON *cm;
	long long id = (long long)num_of(is, "id");

	/* Off the route notes the gateway never writes the crews' notes. */
	if (strcmp(o->route, "notes") != 0 &&
	    occurrences(str_of(rq, "NotesField"), "[scf-comment "))
		violation(o, "issue %lld: request %.0f has comments in NotesField (route %s)", id,
		          num_of(rq, "Oid"), o->route);
	cJSON_ArrayForEach(cm, cJSON_GetObjectItemCaseSensitive(is, "comments"))
	{
		long long cid = (long long)num_of(cm, "id");
		const char *via = str_of(cm, "via"), *kind = str_of(cm, "kind");
		const cJSON *who = cJSON_GetObjectItemCaseSensitive(cm, "commenter");
		size_t n = marker_count(o, rq, cid);
		int gateway = (via && strcmp(via, "api") == 0) || num_of(who, "id") == API_USER_ID;
		int system = kind && strcmp(kind, "system") == 0;

		if (gateway || system) {
			if (n)
				violation(
				    o, "issue %lld: %s comment %lld reached Cartegraph (%zu times)",
				    id, gateway ? "the gateway's own" : "system", cid, n);
			continue;
		}
		o->comments++;
		if (n > 1 || (!finished && n != 1))
			violation(o, "issue %lld: comment %lld appears %zu times in request %.0f",
			          id, cid, n, num_of(rq, "Oid"));
	}
}

/* Append s to b (grown with realloc; exits on no memory), with the
 * gateway's ASP.NET escaping (gateway/api/map.h) when escape is set, written
 * again here so the oracle does not trust the code it checks: '<' before
 * a letter, '!', '/' or '?' becomes U+FF1C, the '#' of "&#" U+FF03. */
static void append(char **b, size_t *len, const char *s, int escape)
{
	size_t n = strlen(s);
	char *g = realloc(*b, *len + n * 3 + 1);

	if (!g)
		exit(2);
	*b = g;
	for (size_t i = 0; i < n; i++) {
		char c = s[i], d = s[i + 1];
		if (escape && c == '<' &&
		    ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || d == '!' || d == '/' ||
		     d == '?')) {
			memcpy(g + *len, "\xef\xbc\x9c", 3);
			*len += 3;
		} else if (escape && c == '#' && i > 0 && s[i - 1] == '&') {
			memcpy(g + *len, "\xef\xbc\x83", 3);
			*len += 3;
		} else {
			g[(*len)++] = c;
		}
	}
	g[*len] = '\0';
}

/* The first bytes of s on one line (line breaks written \n, \r). */
static const char *one_line(const char *s, char *out, size_t size)
{
	size_t o = 0;

	for (; *s && o + 3 < size; s++) {
		if (*s == '\n' || *s == '\r') {
			out[o++] = '\\';
			out[o++] = *s == '\n' ? 'n' : 'r';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	return out;
}

/* Nothing the resident wrote is lost: the request's DescriptionField is,
 * byte for byte, the default description template over the issue as SCF
 * holds it: the summary, the description and one "Question: answer" line
 * per question, a blank line between the parts that are not empty, the
 * whole escaped.  A geocoder note may follow after a blank line. */
static void check_description(struct oracle *o, const cJSON *is, const cJSON *rq)
{
	const char *parts[2] = {str_of(is, "summary"), str_of(is, "description")};
	const char *got = str_of(rq, "DescriptionField");
	long long id = (long long)num_of(is, "id");
	char *plain = NULL, *want = NULL;
	size_t plen = 0, wlen = 0, nq = 0;
	const cJSON *qa;
	char g1[160], w1[160];

	for (int i = 0; i < 2; i++) {
		if (!parts[i] || !*parts[i])
			continue;
		if (plen)
			append(&plain, &plen, "\n\n", 0);
		append(&plain, &plen, parts[i], 0);
	}
	cJSON_ArrayForEach(qa, cJSON_GetObjectItemCaseSensitive(is, "questions"))
	{
		const char *q = str_of(qa, "question"), *a = str_of(qa, "answer");
		if (plen)
			append(&plain, &plen, nq ? "\n" : "\n\n", 0);
		append(&plain, &plen, q ? q : "", 0);
		append(&plain, &plen, ": ", 0);
		append(&plain, &plen, a ? a : "", 0);
		nq++;
	}
	/* escaped as a whole, as the gateway does */
	append(&want, &wlen, plain ? plain : "", 1);
	if (!got)
		violation(o, "issue %lld: request %.0f has no DescriptionField", id,
		          num_of(rq, "Oid"));
	else if (strncmp(got, want, wlen) != 0 ||
	         (got[wlen] && strncmp(got + wlen, "\n\n", 2) != 0))
		violation(o, "issue %lld: DescriptionField \"%s\" is not \"%s\"", id,
		          one_line(got, g1, sizeof(g1)), one_line(want, w1, sizeof(w1)));
	else
		o->descriptions++;
	free(plain);
	free(want);
}

static int ends_with(const char *s, const char *tail)
{
	size_t ls = strlen(s), lt = strlen(tail);

	return ls >= lt && strcmp(s + ls - lt, tail) == 0;
}

#define MAX_PHOTOS 64

/* The photos of a synced issue: its own and those of the comments that
 * reached its request.  Each is exactly one child attachment record of
 * the request with LinkedField true (one per URL: two comments with the
 * same picture share it), and the request has no other children but the
 * photo of a comment whose note a close overtook (the gateway writes no
 * note into a closed request but still attaches the picture), at most
 * once.  The simulator keeps a seeded photo as a path; the gateway sends
 * the URL. */
static void check_photos(struct oracle *o, const cJSON *is, const cJSON *rq, const cJSON *atts)
{
	const char *want[MAX_PHOTOS], *maybe[MAX_PHOTOS], *p;
	size_t nw = 0, nm = 0;
	long long id = (long long)num_of(is, "id");
	double oid = num_of(rq, "Oid");
	const cJSON *cm, *a;

	if ((p = str_of(is, "photo")) && *p) {
		want[nw++] = p;
		o->with_photo++;
	}
	cJSON_ArrayForEach(cm, cJSON_GetObjectItemCaseSensitive(is, "comments"))
	{
		size_t k;

		p = str_of(cm, "photo");
		if (!p || !*p)
			continue;
		if (!marker_count(o, rq, (long long)num_of(cm, "id"))) {
			if (nm < MAX_PHOTOS)
				maybe[nm++] = p;
			continue;
		}
		for (k = 0; k < nw && strcmp(want[k], p) != 0; k++)
			;
		if (k == nw && nw < MAX_PHOTOS)
			want[nw++] = p;
	}
	for (size_t k = 0; k < nw; k++) {
		int n = 0, linked = 0;

		cJSON_ArrayForEach(a, atts)
		{
			const char *u = str_of(a, "AttachmentField");

			if (num_of(a, "_parent") == oid && u && ends_with(u, want[k])) {
				n++;
				linked += cJSON_IsTrue(
				    cJSON_GetObjectItemCaseSensitive(a, "LinkedField"));
			}
		}
		o->photos++;
		if (n != 1)
			violation(o,
			          "issue %lld: photo %s is %d attachment records of request %.0f",
			          id, want[k], n, oid);
		else if (!linked)
			violation(o,
			          "issue %lld: the attachment of photo %s is not LinkedField true",
			          id, want[k]);
	}
	cJSON_ArrayForEach(a, atts)
	{
		const char *u = str_of(a, "AttachmentField");
		size_t k, m;
		const cJSON *b;

		if (num_of(a, "_parent") != oid)
			continue;
		for (k = 0; k < nw && !(u && ends_with(u, want[k])); k++)
			;
		for (m = 0; m < nm && !(u && ends_with(u, maybe[m])); m++)
			;
		if (k == nw && m == nm)
			violation(o, "issue %lld: request %.0f has an attachment %s of no photo",
			          id, oid, u ? u : "(none)");
		if (k < nw || m == nm)
			continue;
		for (b = a->next; b; b = b->next)
			if (num_of(b, "_parent") == oid && str_of(b, "AttachmentField") &&
			    strcmp(str_of(b, "AttachmentField"), u) == 0)
				violation(o, "issue %lld: photo %s is attached twice", id, u);
	}
}

static void check_issue(struct oracle *o, const cJSON *is, const cJSON *reqs, const cJSON *atts)
{
	long long id = (long long)num_of(is, "id");
	int ti = type_index(o, (long long)num_of(is, "request_type_id"));
	const char *status = str_of(is, "status"), *ack_text, *close_text, *rid;
	int archived = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(is, "archived_at"));
	int n_req, n_ack = api_comments(is, "acknowledge", &ack_text);
	int n_close = api_comments(is, "close", &close_text);
	const cJSON *rq = request_for(reqs, o->ext, id, &n_req);
	char want[2048];

	if (!status)
		status = "?";
	if (ti < 0) {
		if (n_req || n_ack || n_close)
			violation(o,
			          "issue %lld of an unmapped type: %d requests, %d acks, %d closes",
			          id, n_req, n_ack, n_close);
		return;
	}
	if (!rq) {
		if (strcmp(status, "Open") == 0)
			violation(o, "issue %lld is Open with a mapped type but has no request",
			          id);
		if (n_ack || n_close)
			violation(o, "issue %lld has no request but %d acks, %d closes", id, n_ack,
			          n_close);
		return;
	}
	o->synced++;
	rid = str_of(rq, "IDField");
	if (n_req != 1)
		violation(o, "issue %lld has %d Cartegraph requests", id, n_req);
	if (n_ack > 1 || (!archived && n_ack != 1))
		violation(o, "issue %lld (request %s): acknowledged %d times", id, rid ? rid : "?",
		          n_ack);
	render(o->type_ack[ti] ? o->type_ack[ti] : o->ack, rq, id, o->title[ti], want,
	       sizeof(want));
	if (n_ack && strcmp(ack_text ? ack_text : "", want) != 0)
		violation(o, "issue %lld: ack message \"%s\", expected \"%s\"", id, ack_text, want);
	if (is_closed(rq)) {
		o->closed++;
		if (n_close > 1 || (!archived && n_close != 1))
			violation(
			    o, "issue %lld: request %s is closed, SCF issue closed %d times (%s)",
			    id, rid ? rid : "?", n_close, status);
		if (!archived && strcmp(status, "Closed") != 0)
			violation(o, "issue %lld: request %s is closed, SCF issue is %s", id,
			          rid ? rid : "?", status);
		render(o->type_closing[ti] ? o->type_closing[ti] : o->closing, rq, id, o->title[ti],
		       want, sizeof(want));
		if (n_close && strcmp(close_text ? close_text : "", want) != 0)
			violation(o, "issue %lld: closing message \"%s\", expected \"%s\"", id,
			          close_text, want);
	} else if (n_close) {
		violation(o, "issue %lld: request %s is open but the SCF issue was closed %d times",
		          id, rid ? rid : "?", n_close);
	}
	check_comments(o, is, rq, n_close > 0 || archived || strcmp(status, "Closed") == 0);
	check_description(o, is, rq);
	check_photos(o, is, rq, atts);
}

static const cJSON *oms_attachments(const cJSON *oms)
{
	const char *acls = str_of(oms, "attachment_class");

	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(oms, "records"),
	                                        acls ? acls : "");
}

/* Every request carrying an SCF id belongs to a known issue; attachments
 * are not duplicated. */
static void check_requests(struct oracle *o, const cJSON *scf, const cJSON *oms)
{
	const cJSON *reqs = oms_requests(oms), *rq, *is, *a, *b;
	const cJSON *atts = oms_attachments(oms);

	cJSON_ArrayForEach(rq, reqs)
	{
		long long issue = ext_of(rq, o->ext);
		int found = 0;
		if (!issue)
			continue;
		cJSON_ArrayForEach(is, cJSON_GetObjectItemCaseSensitive(scf, "issues"))
		{
			if ((long long)num_of(is, "id") == issue)
				found = 1;
		}
		if (!found)
			violation(o, "request %.0f names SCF issue %lld, which does not exist",
			          num_of(rq, "Oid"), issue);
	}
	cJSON_ArrayForEach(a, atts)
	{
		for (b = a->next; b; b = b->next) {
			const char *ua = str_of(a, "AttachmentField"),
			           *ub = str_of(b, "AttachmentField");
			if (ua && ub && strcmp(ua, ub) == 0 &&
			    num_of(a, "_parent") == num_of(b, "_parent"))
				violation(o, "request %.0f has attachment %s twice",
				          num_of(a, "_parent"), ua);
		}
	}
}

static int parse_kv(const char *arg, long long *id, const char **text)
{
	char *end;

	*id = strtoll(arg, &end, 10);
	if (end == arg || *end != '=')
		return -1;
	*text = end + 1;
	return 0;
}

static int cmd_oracle(int argc, char **argv)
{
	struct oracle o;
	const char *scf_path = NULL, *oms_path = NULL;
	int min_synced = 0, min_closed = 0, min_photos = 0;
	const cJSON *is;
	cJSON *scf, *oms;

	memset(&o, 0, sizeof(o));
	o.route = "field";
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		long long id;
		const char *text;
		int ti;
		if (strcmp(k, "--scf") == 0)
			scf_path = v;
		else if (strcmp(k, "--oms") == 0)
			oms_path = v;
		else if (strcmp(k, "--ext") == 0)
			o.ext = v;
		else if (strcmp(k, "--ack") == 0)
			o.ack = v;
		else if (strcmp(k, "--closing") == 0)
			o.closing = v;
		else if (strcmp(k, "--min-synced") == 0)
			min_synced = (int)strtol(v, NULL, 10);
		else if (strcmp(k, "--min-closed") == 0)
			min_closed = (int)strtol(v, NULL, 10);
		else if (strcmp(k, "--comments") == 0 &&
		         (strcmp(v, "field") == 0 || strcmp(v, "notes") == 0))
			o.route = v;
		else if (strcmp(k, "--comments") == 0 && strncmp(v, "child:", 6) == 0 && v[6]) {
			o.route = "child";
			o.child_field = v + 6;
		} else if (strcmp(k, "--min-photos") == 0) {
			min_photos = (int)strtol(v, NULL, 10);
		} else if (strcmp(k, "--types") == 0) {
			for (const char *p = v; *p && o.n_types < MAX_TYPES;) {
				char *end;

				o.types[o.n_types++] = strtoll(p, &end, 10);
				p = end;
				if (*p == ',')
					p++;
				else if (*p)
					return 2;
			}
		} else if ((strcmp(k, "--type-closing") == 0 || strcmp(k, "--type-ack") == 0 ||
		            strcmp(k, "--title") == 0) &&
		           parse_kv(v, &id, &text) == 0 && (ti = type_index(&o, id)) >= 0) {
			if (strcmp(k, "--type-closing") == 0)
				o.type_closing[ti] = text;
			else if (strcmp(k, "--type-ack") == 0)
				o.type_ack[ti] = text;
			else
				o.title[ti] = text;
		} else {
			fprintf(stderr, "e2e-tool oracle: bad argument %s %s (--types first)\n", k,
			        v);
			return 2;
		}
	}
	if (!scf_path || !oms_path || !o.ext || !o.ack || !o.closing || !o.n_types) {
		fprintf(stderr,
		        "e2e-tool oracle: --scf --oms --ext --types --ack --closing needed\n");
		return 2;
	}
	scf = load_json(scf_path);
	oms = load_json(oms_path);
	o.children = oms_comment_children(oms);
	if (strcmp(o.route, "child") == 0 && !o.children)
		violation(&o, "route child, but the Cartegraph state has no comment class");
	check_requests(&o, scf, oms);
	cJSON_ArrayForEach(is, cJSON_GetObjectItemCaseSensitive(scf, "issues"))
	    check_issue(&o, is, oms_requests(oms), oms_attachments(oms));
	if (o.synced < min_synced)
		violation(&o, "only %d issues synced, expected at least %d", o.synced, min_synced);
	if (o.closed < min_closed)
		violation(&o, "only %d requests closed, expected at least %d", o.closed,
		          min_closed);
	if (o.with_photo * 100 < min_photos * o.synced)
		violation(&o, "only %d of %d synced issues have a photo, expected at least %d%%",
		          o.with_photo, o.synced, min_photos);
	printf("oracle: %d issues synced (%d with a photo), %d closed, %d comments, %d photos, "
	       "%d descriptions checked: %s (%d violations)\n",
	       o.synced, o.with_photo, o.closed, o.comments, o.photos, o.descriptions,
	       o.violations ? "FAILED" : "exact", o.violations);
	cJSON_Delete(scf);
	cJSON_Delete(oms);
	return o.violations ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: e2e-tool http|requests|issues|summary|oracle ...\n");
		return 2;
	}
	if (strcmp(argv[1], "http") == 0)
		return cmd_http(argc - 1, argv + 1);
	if (strcmp(argv[1], "requests") == 0)
		return cmd_requests(argc - 1, argv + 1);
	if (strcmp(argv[1], "issues") == 0)
		return cmd_issues(argc - 1, argv + 1);
	if (strcmp(argv[1], "summary") == 0)
		return cmd_summary(argc - 1, argv + 1);
	if (strcmp(argv[1], "oracle") == 0)
		return cmd_oracle(argc - 1, argv + 1);
	fprintf(stderr, "e2e-tool: unknown command %s\n", argv[1]);
	return 2;
}
