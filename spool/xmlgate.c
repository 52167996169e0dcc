/*
 * xmlgate.c: the lexical gate before libxml2 (see xmlgate.h).  A state
 * machine over single characters, so a stream may be cut anywhere; every
 * character is looked at most twice, nothing allocated.
 */
#include "xmlgate.h"

#include <stdint.h>
#include <string.h>

enum {
	G_TEXT,
	G_LT,         /* just after '<' */
	G_BANG,       /* after "<!": a comment, CDATA, or refused */
	G_COMMENT,    /* inside <!-- ... --> */
	G_CDATA,      /* inside <![CDATA[ ... ]]> */
	G_PI,         /* inside <? ... ?> */
	G_END,        /* inside </name ...> */
	G_NAME,       /* an element's name */
	G_TAG,        /* between attributes */
	G_ATTR,       /* an attribute's name */
	G_AFTER_ATTR, /* after the name, before '=' */
	G_EQ,         /* after '=', before the quote */
	G_VALUE,      /* inside a quoted value */
	G_SLASH,      /* after '/' in a start tag */
};

enum { ADVANCE, AGAIN, REFUSED };

void xmlgate_limits_default(struct xmlgate_limits *lim, size_t max_bytes)
{
	lim->max_bytes = max_bytes;
	lim->max_attributes = 64;
	lim->max_namespaces = 8;
	lim->max_depth = 64;
}

void xmlgate_init(struct xmlgate *g, const struct xmlgate_limits *lim)
{
	memset(g, 0, sizeof(*g));
	g->lim = lim;
	g->line = 1;
	g->state = G_TEXT;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Refused (e already says why): every later feed is refused too. */
static int refuse(struct xmlgate *g)
{
	g->refused = 1;
	return REFUSED;
}

/* A start tag ended with '>': one level deeper. */
static int open_element(struct xmlgate *g, struct err *e)
{
	g->state = G_TEXT;
	if (++g->depth > g->lim->max_depth) {
		err_set(e, ERR_PERM, "line %u: elements nested deeper than %u", g->tag_line,
		        g->lim->max_depth);
		return refuse(g);
	}
	return ADVANCE;
}

static int is_prefix(const char *have, unsigned n, const char *of)
{
	return n <= strlen(of) && memcmp(have, of, n) == 0;
}

/* What follows "<!": only a comment or a CDATA section is allowed. */
static int bang(struct xmlgate *g, char c, struct err *e)
{
	g->decl[g->n_decl++] = c;
	if (g->n_decl == 2 && memcmp(g->decl, "--", 2) == 0) {
		g->state = G_COMMENT;
		g->run = 0;
	} else if (g->n_decl == 7 && memcmp(g->decl, "[CDATA[", 7) == 0) {
		g->state = G_CDATA;
		g->run = 0;
	} else if (g->n_decl == 7 && memcmp(g->decl, "DOCTYPE", 7) == 0) {
		err_set(e, ERR_PERM, "line %u: a DTD (<!DOCTYPE>) is not allowed", g->tag_line);
		return refuse(g);
	} else if (!is_prefix(g->decl, g->n_decl, "--") &&
	           !is_prefix(g->decl, g->n_decl, "[CDATA[") &&
	           !is_prefix(g->decl, g->n_decl, "DOCTYPE")) {
		err_set(e, ERR_PERM, "line %u: a markup declaration (<!...>) is not allowed",
		        g->tag_line);
		return refuse(g);
	}
	return ADVANCE;
}

/* An attribute name ended: count it against the limits. */
static int end_attribute(struct xmlgate *g, struct err *e)
{
	const struct xmlgate_limits *lim = g->lim;
	int ns = g->n_name >= 5 && memcmp(g->name, "xmlns", 5) == 0 &&
	         (g->n_name == 5 || g->name[5] == ':');

	g->n_attr++;
	g->n_ns += (unsigned)ns;
	if (g->n_ns > lim->max_namespaces || g->n_attr > lim->max_attributes) {
		err_set(e, ERR_PERM, "line %u: an element with more than %u %s", g->tag_line,
		        g->n_ns > lim->max_namespaces ? lim->max_namespaces : lim->max_attributes,
		        g->n_ns > lim->max_namespaces ? "namespace declarations" : "attributes");
		return refuse(g);
	}
	return ADVANCE;
}

/* One character in the current state: ADVANCE past it, look at it AGAIN
 * in the new state, or REFUSED. */
static int step(struct xmlgate *g, char c, struct err *e)
{
	switch (g->state) {
	case G_TEXT:
		if (c == '<') {
			g->tag_line = g->line;
			g->state = G_LT;
		}
		return ADVANCE;
	case G_LT:
		if (c == '!') {
			g->n_decl = 0;
			g->state = G_BANG;
		} else if (c == '?') {
			g->run = 0;
			g->state = G_PI;
		} else if (c == '/') {
			if (g->depth)
				g->depth--;
			g->state = G_END;
		} else if (is_space(c)) {
			g->state = G_TEXT; /* a stray '<': the parser reports it */
		} else {
			g->n_attr = g->n_ns = 0;
			g->state = G_NAME;
		}
		return ADVANCE;
	case G_BANG:
		return bang(g, c, e);
	case G_COMMENT:
	case G_CDATA:
		if (c == '>' && g->run >= 2)
			g->state = G_TEXT;
		g->run = c == (g->state == G_COMMENT ? '-' : ']') ? g->run + 1 : 0;
		return ADVANCE;
	case G_PI:
		if (c == '>' && g->run)
			g->state = G_TEXT;
		g->run = c == '?';
		return ADVANCE;
	case G_END:
		if (c == '>')
			g->state = G_TEXT;
		return ADVANCE;
	case G_NAME:
		if (is_space(c))
			g->state = G_TAG;
		else if (c == '>')
			return open_element(g, e);
		else if (c == '/')
			g->state = G_SLASH;
		return ADVANCE;
	case G_TAG:
		if (c == '>')
			return open_element(g, e);
		if (c == '/')
			g->state = G_SLASH;
		else if (!is_space(c) && c != '=') { /* a stray '=': the parser reports it */
			g->name[0] = c;
			g->n_name = 1;
			g->state = G_ATTR;
		}
		return ADVANCE;
	case G_ATTR:
		if (is_space(c) || c == '=' || c == '>' || c == '/') {
			if (end_attribute(g, e) == REFUSED)
				return REFUSED;
			g->state = is_space(c) ? G_AFTER_ATTR : c == '=' ? G_EQ : G_TAG;
			return g->state == G_TAG ? AGAIN : ADVANCE;
		}
		if (g->n_name < sizeof(g->name))
			g->name[g->n_name] = c;
		if (g->n_name < 1000)
			g->n_name++;
		return ADVANCE;
	case G_AFTER_ATTR:
		if (is_space(c))
			return ADVANCE;
		if (c == '=') {
			g->state = G_EQ;
			return ADVANCE;
		}
		g->state = G_TAG;
		return AGAIN;
	case G_EQ:
		if (is_space(c))
			return ADVANCE;
		if (c == '"' || c == '\'') {
			g->quote = c;
			g->state = G_VALUE;
			return ADVANCE;
		}
		g->state = G_TAG; /* unquoted: the parser reports it */
		return AGAIN;
	case G_VALUE:
		if (c == g->quote)
			g->state = G_TAG;
		return ADVANCE;
	case G_SLASH:
		g->state = G_TEXT;
		return c == '>' ? ADVANCE : AGAIN;
	}
	return ADVANCE;
}

enum err_status xmlgate_feed(struct xmlgate *g, const char *bytes, size_t len, struct err *e)
{
	size_t i = 0;

	if (g->refused)
		return err_set(e, ERR_PERM, "refused before");
	/* g->bytes never exceeds max_bytes, so the subtraction cannot wrap. */
	if (len > g->lim->max_bytes - g->bytes) {
		g->refused = 1;
		return err_set(e, ERR_PERM, "%zu bytes, over the %zu-byte limit",
		               len > SIZE_MAX - g->bytes ? SIZE_MAX : g->bytes + len,
		               g->lim->max_bytes);
	}
	g->bytes += len;
	while (i < len) {
		char c = bytes[i];
		int r;

		if (g->state == G_TEXT) { /* most bytes: straight to the next tag */
			const char *lt = memchr(bytes + i, '<', len - i);
			size_t stop = lt ? (size_t)(lt - bytes) : len;

			for (; i < stop; i++)
				g->line += bytes[i] == '\n';
			if (i == len)
				break;
			c = bytes[i];
		}
		r = step(g, c, e);
		if (r == REFUSED)
			return ERR_PERM;
		if (r == ADVANCE) {
			g->line += c == '\n';
			i++;
		}
	}
	return ERR_OK;
}

enum err_status xmlgate_finish(struct xmlgate *g, struct err *e)
{
	if (g->refused)
		return err_set(e, ERR_PERM, "refused before");
	if (g->state == G_BANG) {
		g->refused = 1;
		return err_set(e, ERR_PERM, "line %u: a markup declaration (<!...>) is not allowed",
		               g->tag_line);
	}
	return ERR_OK;
}

enum err_status xmlgate_check(const char *bytes, size_t len, const struct xmlgate_limits *lim,
                              struct err *e)
{
	struct xmlgate g;

	xmlgate_init(&g, lim);
	if (xmlgate_feed(&g, bytes, len, e) != ERR_OK)
		return ERR_PERM;
	return xmlgate_finish(&g, e);
}
