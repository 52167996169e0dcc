/*
 * cfg_csv.c: the integration spreadsheet's request-type rows (CSV, RFC
 * 4180: quoted fields may hold commas, doubled quotes and line breaks;
 * CRLF or LF; an optional UTF-8 byte order mark as Excel writes it) ->
 * the <requestTypes> section of config.xsd.
 *
 * Columns: SCF request type id, title, remote request type id, closing
 * message (optional), acknowledgment message (optional; a sheet with four
 * columns reads as before).  The first row is a header when its first field is
 * not a number.  Every error names the line the row starts on.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "text.h"

#define CSV_COLS_MAX 16
#define CSV_ROWS_MAX 10000

struct row {
	unsigned line; /* where the row starts */
	size_t n;
	struct buf f[CSV_COLS_MAX];
};

struct csv {
	const char *p, *end;
	unsigned line;
	const char *name;
	struct err *e;
};

static void row_release(struct row *r)
{
	for (size_t i = 0; i < CSV_COLS_MAX; i++)
		buf_release(&r->f[i]);
	r->n = 0;
}

/* Read one row; 1 = got one, 0 = end of input, -1 = error (in e). */
static int read_row(struct csv *cs, struct row *r)
{
	int quoted = 0, in_field = 0;
	unsigned qline = 0;

	row_release(r);
	if (cs->p >= cs->end)
		return 0;
	r->line = cs->line;
	r->n = 1;
	while (cs->p < cs->end) {
		char ch = *cs->p++;
		if (quoted) {
			if (ch == '"') {
				if (cs->p < cs->end && *cs->p == '"') {
					cs->p++;
					buf_add(&r->f[r->n - 1], "\"", 1);
				} else
					quoted = 0;
				continue;
			}
			if (ch == '\n')
				cs->line++;
			if (ch == '\r')
				continue; /* CRLF inside a quoted field -> LF */
			if (buf_add(&r->f[r->n - 1], &ch, 1) != ERR_OK)
				goto too_long;
			continue;
		}
		if (ch == '"' && r->f[r->n - 1].len == 0 && !in_field) {
			quoted = 1;
			in_field = 1;
			qline = cs->line;
			continue;
		}
		if (ch == ',') {
			if (r->n == CSV_COLS_MAX) {
				err_set(cs->e, ERR_PERM, "%s:%u: more than %d columns", cs->name,
				        r->line, CSV_COLS_MAX);
				return -1;
			}
			r->n++;
			in_field = 0;
			continue;
		}
		if (ch == '\r' && cs->p < cs->end && *cs->p == '\n')
			continue;
		if (ch == '\n' || ch == '\r') {
			cs->line++;
			return 1;
		}
		in_field = 1;
		if (buf_add(&r->f[r->n - 1], &ch, 1) != ERR_OK)
			goto too_long;
	}
	if (quoted) {
		err_set(cs->e, ERR_PERM, "%s:%u: quoted field never closed (opened on line %u)",
		        cs->name, r->line, qline);
		return -1;
	}
	return 1;
too_long:
	err_set(cs->e, ERR_PERM, "%s:%u: field too long", cs->name, r->line);
	return -1;
}

static int row_blank(const struct row *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (strspn(buf_str(&r->f[i]), " \t") != r->f[i].len)
			return 0;
	return 1;
}

static void trim(struct buf *b)
{
	size_t s = 0, e;

	if (!b->data)
		return;
	e = b->len;
	while (s < e && (b->data[s] == ' ' || b->data[s] == '\t'))
		s++;
	while (e > s && (b->data[e - 1] == ' ' || b->data[e - 1] == '\t' || b->data[e - 1] == '\n'))
		e--;
	memmove(b->data, b->data + s, e - s);
	b->len = e - s;
	b->data[b->len] = '\0';
}

static int parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return -1;
	v = strtoll(s, &end, 10);
	if (v <= 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* XML-escape; line breaks become spaces unless keep_newlines. */
static enum err_status add_escaped(struct buf *o, const char *s, int keep_newlines)
{
	enum err_status st = ERR_OK;

	for (; *s && st == ERR_OK; s++) {
		switch (*s) {
		case '&':
			st = buf_adds(o, "&amp;");
			break;
		case '<':
			st = buf_adds(o, "&lt;");
			break;
		case '>':
			st = buf_adds(o, "&gt;");
			break;
		case '"':
			st = buf_adds(o, "&quot;");
			break;
		case '\n':
			st = buf_adds(o, keep_newlines ? "\n" : " ");
			break;
		case '\t':
			st = buf_adds(o, " ");
			break;
		default:
			st = buf_add(o, s, 1);
		}
	}
	return st;
}

static enum err_status emit(struct csv *cs, struct row *r, struct buf *o)
{
	const char *close = r->n > 3 ? buf_str(&r->f[3]) : "";
	const char *ack = r->n > 4 ? buf_str(&r->f[4]) : "";
	enum err_status st;

	st = buf_addf(o, "    <requestType id=\"%s\" title=\"", buf_str(&r->f[0]));
	if (st == ERR_OK)
		st = add_escaped(o, buf_str(&r->f[1]), 0);
	if (st == ERR_OK)
		st = buf_adds(o, "\" remoteId=\"");
	if (st == ERR_OK)
		st = add_escaped(o, buf_str(&r->f[2]), 0);
	if (st == ERR_OK && !*close && !*ack)
		return buf_adds(o, "\"/>\n");
	if (st == ERR_OK)
		st = buf_adds(o, "\">\n");
	/* config.xsd's order: the acknowledgment, then the closing message */
	if (st == ERR_OK && *ack) {
		st = buf_adds(o, "      <acknowledgmentMessage>");
		if (st == ERR_OK)
			st = add_escaped(o, ack, 1);
		if (st == ERR_OK)
			st = buf_adds(o, "</acknowledgmentMessage>\n");
	}
	if (st == ERR_OK && *close) {
		st = buf_adds(o, "      <closingMessage>");
		if (st == ERR_OK)
			st = add_escaped(o, close, 1);
		if (st == ERR_OK)
			st = buf_adds(o, "</closingMessage>\n");
	}
	if (st == ERR_OK)
		st = buf_adds(o, "    </requestType>\n");
	return st;
}

static enum err_status check_row(struct csv *cs, struct row *r, int64_t *ids, size_t n_ids,
                                 unsigned *lines, int64_t *id)
{
	struct err te;

	for (size_t i = 0; i < r->n; i++) {
		trim(&r->f[i]);
		if (!text_utf8_clean(buf_str(&r->f[i]), r->f[i].len))
			return err_set(cs->e, ERR_PERM,
			               "%s:%u: column %zu is not UTF-8 text (save the sheet as "
			               "\"CSV UTF-8\")",
			               cs->name, r->line, i + 1);
	}
	if (r->n < 3)
		return err_set(cs->e, ERR_PERM,
		               "%s:%u: %zu column(s); expected SCF request type id, title, remote "
		               "request type id[, closing message[, acknowledgment message]]",
		               cs->name, r->line, r->n);
	for (size_t i = 5; i < r->n; i++)
		if (r->f[i].len)
			return err_set(cs->e, ERR_PERM,
			               "%s:%u: column %zu is not empty; only 5 columns are read",
			               cs->name, r->line, i + 1);
	if (parse_id(buf_str(&r->f[0]), id))
		return err_set(cs->e, ERR_PERM,
		               "%s:%u: SCF request type id \"%.40s\" is not a positive integer",
		               cs->name, r->line, buf_str(&r->f[0]));
	if (r->f[2].len == 0)
		return err_set(cs->e, ERR_PERM, "%s:%u: remote request type id is empty", cs->name,
		               r->line);
	if (r->f[2].len > 4096 || r->f[1].len > 4096 || (r->n > 3 && r->f[3].len > 4096) ||
	    (r->n > 4 && r->f[4].len > 4096))
		return err_set(cs->e, ERR_PERM, "%s:%u: a field is longer than 4096 bytes",
		               cs->name, r->line);
	for (size_t i = 0; i < n_ids; i++)
		if (ids[i] == *id)
			return err_set(cs->e, ERR_PERM,
			               "%s:%u: SCF request type id %" PRId64
			               " already given on line %u",
			               cs->name, r->line, *id, lines[i]);
	if (r->n > 3 && text_template_check(buf_str(&r->f[3]), NULL, &te) != ERR_OK)
		return err_set(cs->e, ERR_PERM, "%s:%u: closing message: %s", cs->name, r->line,
		               te.msg);
	if (r->n > 4 && text_template_check(buf_str(&r->f[4]), NULL, &te) != ERR_OK)
		return err_set(cs->e, ERR_PERM, "%s:%u: acknowledgment message: %s", cs->name,
		               r->line, te.msg);
	return ERR_OK;
}

enum err_status cfg_csv_to_xml(const char *bytes, size_t len, const char *name, struct buf *out,
                               struct err *e)
{
	struct csv cs = {bytes, bytes + len, 1, name ? name : "<csv>", e};
	struct row r;
	int64_t *ids = NULL;
	unsigned *lines = NULL;
	size_t n = 0;
	int got, first = 1;
	enum err_status st = ERR_OK;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < CSV_COLS_MAX; i++)
		buf_init(&r.f[i], (size_t)64 * 1024);
	if (len >= 3 && memcmp(bytes, "\xef\xbb\xbf", 3) == 0)
		cs.p += 3;
	ids = calloc(CSV_ROWS_MAX, sizeof(*ids));
	lines = calloc(CSV_ROWS_MAX, sizeof(*lines));
	if (!ids || !lines) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	buf_addf(out, "  <!-- request types imported from %s -->\n  <requestTypes>\n", cs.name);
	while ((got = read_row(&cs, &r)) == 1) {
		int64_t id = 0;
		if (row_blank(&r))
			continue;
		if (first) {
			first = 0;
			trim(&r.f[0]);
			if (parse_id(buf_str(&r.f[0]), &id) != 0)
				continue; /* the header row */
		}
		if (n == CSV_ROWS_MAX) {
			st = err_set(e, ERR_PERM, "%s:%u: more than %d rows", cs.name, r.line,
			             CSV_ROWS_MAX);
			goto out;
		}
		st = check_row(&cs, &r, ids, n, lines, &id);
		if (st != ERR_OK)
			goto out;
		ids[n] = id;
		lines[n++] = r.line;
		st = emit(&cs, &r, out);
		if (st != ERR_OK) {
			err_set(e, st, "%s: output too large", cs.name);
			goto out;
		}
	}
	if (got < 0) {
		st = ERR_PERM;
		goto out;
	}
	if (n == 0) {
		st = err_set(e, ERR_PERM, "%s: no request type rows", cs.name);
		goto out;
	}
	st = buf_adds(out, "  </requestTypes>\n");
out:
	row_release(&r);
	free(ids);
	free(lines);
	return st;
}
