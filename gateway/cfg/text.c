/*
 * text.c: text repair, ASP.NET-safe escaping and the template language
 * (see text.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* Length of a valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t avail, uint32_t *cp)
{
	size_t n;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, v = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, v = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, v = s[0] & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* An invalid sequence is replaced as one unit: its lead byte and the
 * continuation bytes that follow it, up to the length the lead announced
 * (so a truncated "\xe2\x82" gives one U+FFFD, not two). */
static size_t bad_run(const unsigned char *s, size_t avail)
{
	size_t want = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1, k = 1;

	while (k < want && k < avail && (s[k] & 0xc0) == 0x80)
		k++;
	return k;
}

/* Characters XML 1.0 cannot carry (records are XML). */
static int xml_bad(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xfffe ||
	       cp == 0xffff;
}

enum err_status text_utf8_repair(const char *s, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0;
	enum err_status st;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (n && !xml_bad(cp)) {
			i += n;
			continue;
		}
		st = buf_add(out, s + start, i - start);
		if (st == ERR_OK)
			st = buf_adds(out, replacement);
		if (st != ERR_OK)
			return st;
		i += n ? n : bad_run(p + i, len - i);
		start = i;
	}
	return buf_add(out, s + start, i - start);
}

int text_utf8_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (!n || xml_bad(cp))
			return 0;
		i += n;
	}
	return 1;
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

enum err_status text_aspnet_escape(const char *s, struct buf *out)
{
	size_t start = 0, i;
	enum err_status st;

	for (i = 0; s[i]; i++) {
		const char *rep = NULL;
		if (s[i] == '<' &&
		    (is_alpha(s[i + 1]) || s[i + 1] == '!' || s[i + 1] == '/' || s[i + 1] == '?'))
			rep = "\xef\xbc\x9c"; /* U+FF1C FULLWIDTH LESS-THAN SIGN */
		else if (s[i] == '#' && i > 0 && s[i - 1] == '&')
			rep = "\xef\xbc\x83"; /* U+FF03 FULLWIDTH NUMBER SIGN */
		if (!rep)
			continue;
		st = buf_add(out, s + start, i - start);
		if (st == ERR_OK)
			st = buf_adds(out, rep);
		if (st != ERR_OK)
			return st;
		start = i + 1;
	}
	return buf_add(out, s + start, i - start);
}

/* ---- templates ----------------------------------------------------------- */

/* The placeholders of each kind of template, in the order of the values
 * the renderers pass. */
static const char *const message_names[] = {"request_id", "oid", "issue_id", "request_type"};
static const char *const description_names[] = {"summary",      "description", "questions",
                                                "address",      "issue_id",    "reporter",
                                                "request_type", "created_at",  "url"};
static const char *const comment_names[] = {"created_at", "commenter", "text", "comment_id",
                                            "issue_id"};

struct names {
	const char *const *v;
	size_t n;
};

static struct names names_of(enum text_template_kind kind)
{
	struct names nm = {message_names, sizeof(message_names) / sizeof(message_names[0])};

	if (kind == TEXT_TEMPLATE_DESCRIPTION)
		nm = (struct names){description_names,
		                    sizeof(description_names) / sizeof(description_names[0])};
	else if (kind == TEXT_TEMPLATE_COMMENT)
		nm =
		    (struct names){comment_names, sizeof(comment_names) / sizeof(comment_names[0])};
	return nm;
}

static int var_lookup(const struct names *nm, const char *name, size_t len)
{
	for (size_t i = 0; i < nm->n; i++)
		if (strlen(nm->v[i]) == len && memcmp(nm->v[i], name, len) == 0)
			return (int)i;
	return -1;
}

static void known_list(const struct names *nm, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < nm->n && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s{%s}", i ? " " : "", nm->v[i]);
}

/* One pass shared by check and render over t[0..len): out NULL means
 * check only; values[i] (NULL: "") is placeholder i; *used and *filled
 * (may be NULL) count the placeholders met and those that rendered text. */
static enum err_status walk(const char *t, size_t len, const struct names *nm,
                            const char *const *values, struct buf *out, size_t *offset,
                            unsigned *used, unsigned *filled, struct err *e)
{
	size_t i = 0, start = 0;
	enum err_status st = ERR_OK;
	char known[256];

#define FLUSH(upto)                                                                                \
	do {                                                                                       \
		st = out ? buf_add(out, t + start, (upto)-start) : ERR_OK;                         \
		if (st != ERR_OK)                                                                  \
			return st;                                                                 \
	} while (0)

	while (i < len) {
		if (i + 1 < len &&
		    ((t[i] == '{' && t[i + 1] == '{') || (t[i] == '}' && t[i + 1] == '}'))) {
			FLUSH(i + 1);
			i += 2;
			start = i;
			continue;
		}
		if (t[i] == '}') {
			if (offset)
				*offset = i;
			return err_set(e, ERR_PERM,
			               "lone '}' at offset %zu (write }} for a literal brace)", i);
		}
		if (t[i] != '{') {
			i++;
			continue;
		}
		size_t end = i + 1;
		int var;
		while (end < len && t[end] != '{' && t[end] != '}')
			end++;
		if (end >= len || t[end] != '}') {
			if (offset)
				*offset = i;
			return err_set(e, ERR_PERM,
			               "unclosed '{' at offset %zu (write {{ for a literal brace)",
			               i);
		}
		var = var_lookup(nm, t + i + 1, end - i - 1);
		if (var < 0) {
			if (offset)
				*offset = i;
			known_list(nm, known, sizeof(known));
			return err_set(
			    e, ERR_PERM,
			    "unknown placeholder {%.*s}; known: %s (write {{ for a literal "
			    "brace)",
			    (int)(end - i - 1 > 64 ? 64 : end - i - 1), t + i + 1, known);
		}
		FLUSH(i);
		if (used)
			(*used)++;
		if (values && values[var] && *values[var]) {
			if (filled)
				(*filled)++;
			if (out) {
				st = buf_adds(out, values[var]);
				if (st != ERR_OK)
					return st;
			}
		}
		i = end + 1;
		start = i;
	}
	FLUSH(i);
#undef FLUSH
	return ERR_OK;
}

enum err_status text_template_check_kind(enum text_template_kind kind, const char *tmpl,
                                         size_t *offset, struct err *e)
{
	struct names nm = names_of(kind);

	tmpl = tmpl ? tmpl : "";
	return walk(tmpl, strlen(tmpl), &nm, NULL, NULL, offset, NULL, NULL, e);
}

int text_template_uses(enum text_template_kind kind, const char *tmpl, const char *name)
{
	struct names nm = names_of(kind);
	const char *values[16] = {0};
	unsigned filled = 0;
	int var = var_lookup(&nm, name, strlen(name));
	struct err e;

	if (var < 0 || !tmpl)
		return 0;
	values[var] = "x";
	return walk(tmpl, strlen(tmpl), &nm, values, NULL, NULL, NULL, &filled, &e) == ERR_OK &&
	       filled > 0;
}

enum err_status text_template_check(const char *tmpl, size_t *offset, struct err *e)
{
	return text_template_check_kind(TEXT_TEMPLATE_MESSAGE, tmpl, offset, e);
}

enum err_status text_render(const char *tmpl, const struct text_vars *v, struct buf *out,
                            struct err *e)
{
	const struct text_vars none = {0};
	struct names nm = names_of(TEXT_TEMPLATE_MESSAGE);
	char oid[24], issue[24];
	const char *values[4];
	enum err_status st;

	v = v ? v : &none;
	snprintf(oid, sizeof(oid), "%" PRId64, v->oid);
	snprintf(issue, sizeof(issue), "%" PRId64, v->issue_id);
	values[0] = v->request_id;
	values[1] = oid;
	values[2] = issue;
	values[3] = v->request_type;
	tmpl = tmpl ? tmpl : "";
	st = walk(tmpl, strlen(tmpl), &nm, values, out, NULL, NULL, NULL, e);
	if (st == ERR_TEMP)
		err_set(e, st, "out of memory rendering a message");
	return st;
}

static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/* The line rule of text.h: each template line is rendered alone; a line
 * whose placeholders all rendered empty is left out; blank template lines
 * are separators, a run of them is one blank line and none leads or
 * trails.  Only the template's own lines are judged, never the values. */
enum err_status text_render_lines(const char *tmpl, enum text_template_kind kind,
                                  const char *const *values, struct buf *out, struct err *e)
{
	struct names nm = names_of(kind);
	struct buf line = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	const char *p = tmpl ? tmpl : "";
	int started = 0, sep = 0;
	enum err_status st = ERR_OK;

	while (st == ERR_OK) {
		size_t len = strcspn(p, "\n");
		unsigned used = 0, filled = 0;

		buf_reset(&line);
		/* a template line ends at LF; a CR before it belongs to the line break */
		st = walk(p, len && p[len - 1] == '\r' ? len - 1 : len, &nm, values, &line, NULL,
		          &used, &filled, e);
		if (st != ERR_OK)
			break;
		if (used ? filled > 0 : !blank(buf_str(&line), line.len)) {
			if (started) {
				st = buf_adds(out, sep ? "\n\n" : "\n");
				if (st != ERR_OK)
					break;
			}
			st = buf_add(out, buf_str(&line), line.len);
			started = 1;
			sep = 0;
		} else if (!used && started) {
			sep = 1;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	buf_release(&line);
	if (st == ERR_TEMP)
		err_set(e, st, "out of memory rendering a template");
	return st;
}
