/*
 * map_text.c: text repair, ASP.NET-safe escaping and message templates.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "map.h"

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

enum err_status map_utf8_repair(const char *s, size_t len, struct buf *out)
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
		if ((st = buf_add(out, s + start, i - start)) != ERR_OK ||
		    (st = buf_adds(out, replacement)) != ERR_OK)
			return st;
		i += n ? n : bad_run(p + i, len - i);
		start = i;
	}
	return buf_add(out, s + start, i - start);
}

int map_utf8_clean(const char *s, size_t len)
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

enum err_status map_aspnet_escape(const char *s, struct buf *out)
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
		if ((st = buf_add(out, s + start, i - start)) != ERR_OK ||
		    (st = buf_adds(out, rep)) != ERR_OK)
			return st;
		start = i + 1;
	}
	return buf_add(out, s + start, i - start);
}

/* ---- templates ----------------------------------------------------------- */

enum var { V_REQUEST_ID, V_OID, V_ISSUE_ID, V_REQUEST_TYPE, V_N };
static const char *const var_names[V_N] = {"request_id", "oid", "issue_id", "request_type"};

static int var_lookup(const char *name, size_t len)
{
	for (int i = 0; i < V_N; i++)
		if (strlen(var_names[i]) == len && memcmp(var_names[i], name, len) == 0)
			return i;
	return -1;
}

/* One pass shared by check and render: out NULL means check only. */
static enum err_status walk(const char *t, const struct map_vars *v, struct buf *out,
                            size_t *offset, struct err *e)
{
	size_t i = 0, start = 0;
	enum err_status st = ERR_OK;

#define FLUSH(upto)                                                                                \
	do {                                                                                       \
		if (out && (st = buf_add(out, t + start, (upto)-start)) != ERR_OK)                 \
			return st;                                                                 \
	} while (0)

	while (t[i]) {
		if ((t[i] == '{' && t[i + 1] == '{') || (t[i] == '}' && t[i + 1] == '}')) {
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
		size_t end = i + 1 + strcspn(t + i + 1, "{}");
		int var;
		if (t[end] != '}') {
			if (offset)
				*offset = i;
			return err_set(e, ERR_PERM,
			               "unclosed '{' at offset %zu (write {{ for a literal brace)",
			               i);
		}
		var = var_lookup(t + i + 1, end - i - 1);
		if (var < 0) {
			if (offset)
				*offset = i;
			return err_set(e, ERR_PERM,
			               "unknown placeholder {%.*s}; known: {request_id} {oid} "
			               "{issue_id} {request_type} (write {{ for a literal brace)",
			               (int)(end - i - 1 > 64 ? 64 : end - i - 1), t + i + 1);
		}
		FLUSH(i);
		if (out) {
			const struct map_vars none = {0};
			const struct map_vars *vv = v ? v : &none;
			switch (var) {
			case V_REQUEST_ID:
				st = buf_adds(out, vv->request_id ? vv->request_id : "");
				break;
			case V_OID:
				st = buf_addf(out, "%" PRId64, vv->oid);
				break;
			case V_ISSUE_ID:
				st = buf_addf(out, "%" PRId64, vv->issue_id);
				break;
			default:
				st = buf_adds(out, vv->request_type ? vv->request_type : "");
				break;
			}
			if (st != ERR_OK)
				return st;
		}
		i = end + 1;
		start = i;
	}
	FLUSH(i);
#undef FLUSH
	return ERR_OK;
}

enum err_status map_template_check(const char *tmpl, size_t *offset, struct err *e)
{
	return walk(tmpl ? tmpl : "", NULL, NULL, offset, e);
}

enum err_status map_render(const char *tmpl, const struct map_vars *v, struct buf *out,
                           struct err *e)
{
	enum err_status st = walk(tmpl ? tmpl : "", v, out, NULL, e);
	if (st == ERR_TEMP)
		err_set(e, st, "out of memory rendering a message");
	return st;
}

enum err_status map_render_ack(const struct cfg *c, const struct record_ack *ack, struct buf *out,
                               struct err *e)
{
	const struct cfg_request_type *rt = cfg_request_type(c, ack->request_type_id);
	struct map_vars v = {ack->request_id, ack->oid, ack->issue_id,
	                     ack->request_type_title ? ack->request_type_title
	                     : rt                    ? rt->title
	                                             : NULL};
	return map_render(c->messages.ack, &v, out, e);
}

enum err_status map_render_close(const struct cfg *c, const struct record_close *cl,
                                 struct buf *out, struct err *e)
{
	const struct cfg_request_type *rt = cfg_request_type(c, cl->request_type_id);
	const char *tmpl = rt && rt->closing_message ? rt->closing_message : c->messages.closing;
	struct map_vars v = {cl->request_id, cl->oid, cl->issue_id,
	                     cl->request_type_title ? cl->request_type_title
	                     : rt                   ? rt->title
	                                            : NULL};
	return map_render(tmpl, &v, out, e);
}
