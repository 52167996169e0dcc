/*
 * xmlgate.c: the lexical gate before libxml2 (see xmlgate.h).  One pass,
 * every step advances, nothing allocated.
 */
#include "xmlgate.h"

#include <string.h>

struct scan {
	const char *p, *end;
	unsigned line;
	unsigned depth;
	const struct xmlgate_limits *lim;
	struct err *e;
};

void xmlgate_limits_default(struct xmlgate_limits *lim, size_t max_bytes)
{
	lim->max_bytes = max_bytes;
	lim->max_attributes = 64;
	lim->max_namespaces = 8;
	lim->max_depth = 64;
}

static int starts(const struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(s->end - s->p) >= n && memcmp(s->p, lit, n) == 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void step(struct scan *s)
{
	if (*s->p == '\n')
		s->line++;
	s->p++;
}

/* Past the next occurrence of lit; 0 when found, -1 at the end. */
static int skip_past(struct scan *s, const char *lit)
{
	while (s->p < s->end) {
		if (starts(s, lit)) {
			s->p += strlen(lit);
			return 0;
		}
		step(s);
	}
	return -1;
}

static void skip_space(struct scan *s)
{
	while (s->p < s->end && is_space(*s->p))
		step(s);
}

/* Past a quoted attribute value; -1 when it never ends. */
static int skip_value(struct scan *s)
{
	char q;

	if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
		return 0; /* malformed: libxml2 says so */
	q = *s->p;
	s->p++;
	while (s->p < s->end && *s->p != q)
		step(s);
	if (s->p >= s->end)
		return -1;
	s->p++;
	return 0;
}

static int is_namespace_decl(const char *name, size_t n)
{
	return n >= 5 && memcmp(name, "xmlns", 5) == 0 && (n == 5 || name[5] == ':');
}

/*
 * A start tag, s->p just after '<' on the name.  Returns 1 to go on, 0
 * to stop scanning (malformed: the parser reports it), -1 refused.
 */
static int start_tag(struct scan *s)
{
	unsigned n_attr = 0, n_ns = 0, line = s->line;

	while (s->p < s->end && !is_space(*s->p) && *s->p != '>' && *s->p != '/')
		s->p++;
	for (;;) {
		const char *name;

		skip_space(s);
		if (s->p >= s->end)
			return 0;
		if (*s->p == '>') {
			s->p++;
			if (++s->depth > s->lim->max_depth) {
				err_set(s->e, ERR_PERM, "line %u: elements nested deeper than %u",
				        line, s->lim->max_depth);
				return -1;
			}
			return 1;
		}
		if (*s->p == '/') {
			s->p++;
			if (s->p < s->end && *s->p == '>')
				s->p++;
			return 1;
		}
		name = s->p;
		while (s->p < s->end && !is_space(*s->p) && *s->p != '=' && *s->p != '>' &&
		       *s->p != '/')
			s->p++;
		if (s->p == name) { /* a stray '=': the parser reports it */
			s->p++;
			continue;
		}
		n_attr++;
		n_ns += is_namespace_decl(name, (size_t)(s->p - name));
		if (n_attr > s->lim->max_attributes || n_ns > s->lim->max_namespaces) {
			err_set(s->e, ERR_PERM, "line %u: an element with more than %u %s", line,
			        n_ns > s->lim->max_namespaces ? s->lim->max_namespaces
			                                      : s->lim->max_attributes,
			        n_ns > s->lim->max_namespaces ? "namespace declarations"
			                                      : "attributes");
			return -1;
		}
		skip_space(s);
		if (s->p < s->end && *s->p == '=') {
			s->p++;
			skip_space(s);
			if (skip_value(s) != 0)
				return 0;
		}
	}
}

/* At '<'.  Returns 1 to go on, 0 to stop (malformed), -1 refused. */
static int markup(struct scan *s)
{
	if (starts(s, "<!--"))
		return skip_past(s, "-->") == 0;
	if (starts(s, "<![CDATA["))
		return skip_past(s, "]]>") == 0;
	if (starts(s, "<!")) {
		err_set(s->e, ERR_PERM, "line %u: %s", s->line,
		        starts(s, "<!DOCTYPE") ? "a DTD (<!DOCTYPE>) is not allowed"
		                               : "a markup declaration (<!...>) is not allowed");
		return -1;
	}
	if (starts(s, "<?"))
		return skip_past(s, "?>") == 0;
	if (starts(s, "</")) {
		if (s->depth)
			s->depth--;
		return skip_past(s, ">") == 0;
	}
	s->p++;
	if (s->p >= s->end || is_space(*s->p))
		return 1; /* not a tag: the parser reports a stray '<' */
	return start_tag(s);
}

enum err_status xmlgate_check(const char *bytes, size_t len, const struct xmlgate_limits *lim,
                              struct err *e)
{
	struct scan s = {.p = bytes, .end = bytes + len, .line = 1, .lim = lim, .e = e};

	if (len > lim->max_bytes)
		return err_set(e, ERR_PERM, "%zu bytes, over the %zu-byte limit", len,
		               lim->max_bytes);
	while (s.p < s.end) {
		const char *lt = memchr(s.p, '<', (size_t)(s.end - s.p));
		int r;

		/* Count the lines of the text before the next tag. */
		for (const char *q = s.p; q < (lt ? lt : s.end); q++)
			s.line += *q == '\n';
		if (!lt)
			break;
		s.p = lt;
		r = markup(&s);
		if (r < 0)
			return ERR_PERM;
		if (r == 0)
			break;
	}
	return ERR_OK;
}
