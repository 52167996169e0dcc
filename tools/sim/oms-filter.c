/*
 * oms-filter.c: recursive-descent parser and evaluator for Cartegraph
 * filters.  See oms-filter.h for the grammar.
 */
#include "oms-filter.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "simlib.h"

enum node_kind { N_AND, N_OR, N_COND };
enum op { OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE, OP_IN, OP_NOTIN, OP_CONTAINS };

struct omsf_node {
	enum node_kind kind;
	struct omsf_node *a, *b;
	char *field;
	enum op op;
	cJSON *values; /* array of literals */
	/* "in (1,2,...)" with numbers only: sorted, for a binary search.  A
	 * poll asks for hundreds of Oids against every record; comparing each
	 * literal in turn made 100,000 tracked requests take minutes. */
	double *nums;
	size_t n_nums;
};

struct parser {
	const char *s;
	size_t pos;
	omsf_resolve_fn resolve;
	void *ctx;
	char *why;
	size_t whylen;
	int depth;
};

#define MAX_DEPTH 64

static int fail(struct parser *p, const char *msg)
{
	if (p->why && !p->why[0])
		snprintf(p->why, p->whylen, "%s at offset %zu", msg, p->pos);
	return -1;
}

static void skip_ws(struct parser *p)
{
	while (isspace((unsigned char)p->s[p->pos]))
		p->pos++;
}

/* Consume keyword w (case-insensitive, whole word) if next. */
static int word(struct parser *p, const char *w)
{
	size_t n = strlen(w);

	skip_ws(p);
	if (strncasecmp(p->s + p->pos, w, n) != 0 || isalnum((unsigned char)p->s[p->pos + n]))
		return 0;
	p->pos += n;
	return 1;
}

static int sym(struct parser *p, const char *w)
{
	size_t n = strlen(w);

	skip_ws(p);
	if (strncmp(p->s + p->pos, w, n) != 0)
		return 0;
	p->pos += n;
	return 1;
}

static struct omsf_node *node_new(enum node_kind k)
{
	struct omsf_node *n = calloc(1, sizeof(*n));

	if (n)
		n->kind = k;
	return n;
}

void omsf_free(struct omsf_node *n)
{
	if (!n)
		return;
	omsf_free(n->a);
	omsf_free(n->b);
	free(n->field);
	cJSON_Delete(n->values);
	free(n->nums);
	free(n);
}

static int double_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* Keep a sorted copy of an all-number list; any other list stays as is. */
static void index_numbers(struct omsf_node *n)
{
	int count = cJSON_GetArraySize(n->values);
	const cJSON *v;

	cJSON_ArrayForEach(v, n->values) if (!cJSON_IsNumber(v)) return;
	n->nums = malloc((size_t)count * sizeof(*n->nums));
	if (!n->nums)
		return;
	cJSON_ArrayForEach(v, n->values) n->nums[n->n_nums++] = v->valuedouble;
	qsort(n->nums, n->n_nums, sizeof(*n->nums), double_cmp);
}

static cJSON *parse_value(struct parser *p)
{
	const char *s = p->s;

	skip_ws(p);
	if (s[p->pos] == '"') {
		size_t cap = strlen(s + p->pos) + 1, len = 0;
		char *buf = malloc(cap);
		cJSON *v;

		if (!buf)
			return NULL;
		p->pos++;
		for (;;) {
			char c = s[p->pos];

			if (c == '\0') {
				free(buf);
				fail(p, "unterminated string");
				return NULL;
			}
			if (c == '\\' && s[p->pos + 1]) {
				buf[len++] = s[p->pos + 1];
				p->pos += 2;
				continue;
			}
			if (c == '"' && s[p->pos + 1] == '"') {
				buf[len++] = '"';
				p->pos += 2;
				continue;
			}
			p->pos++;
			if (c == '"')
				break;
			buf[len++] = c;
		}
		buf[len] = '\0';
		v = cJSON_CreateString(buf);
		free(buf);
		return v;
	}
	if (word(p, "true"))
		return cJSON_CreateTrue();
	if (word(p, "false"))
		return cJSON_CreateFalse();
	if (word(p, "null"))
		return cJSON_CreateNull();
	if (s[p->pos] == '-' || isdigit((unsigned char)s[p->pos])) {
		char *end;
		double d = strtod(s + p->pos, &end);

		if (end != s + p->pos) {
			p->pos = (size_t)(end - s);
			return cJSON_CreateNumber(d);
		}
	}
	fail(p, "expected a value (\"text\", number, true, false or null)");
	return NULL;
}

static int parse_op(struct parser *p, enum op *op)
{
	if (word(p, "is")) {
		int neg = word(p, "not");

		if (word(p, "equal")) {
			if (!word(p, "to"))
				return fail(p, "expected 'to'");
			*op = neg ? OP_NE : OP_EQ;
			return 0;
		}
		if (neg)
			return fail(p, "expected 'equal to' after 'is not'");
		if (word(p, "greater")) {
			*op = OP_GT;
		} else if (word(p, "less")) {
			*op = OP_LT;
		} else {
			return fail(p, "unknown operator after 'is'");
		}
		if (!word(p, "than"))
			return fail(p, "expected 'than'");
		{
			size_t save = p->pos;

			if (word(p, "or") && word(p, "equal") && word(p, "to"))
				*op = *op == OP_GT ? OP_GE : OP_LE;
			else
				p->pos = save;
		}
		return 0;
	}
	if (word(p, "not")) {
		if (!word(p, "in"))
			return fail(p, "expected 'in' after 'not'");
		*op = OP_NOTIN;
		return 0;
	}
	if (word(p, "in")) {
		*op = OP_IN;
		return 0;
	}
	if (word(p, "contains")) {
		*op = OP_CONTAINS;
		return 0;
	}
	if (sym(p, "<>") || sym(p, "!=")) {
		*op = OP_NE;
		return 0;
	}
	if (sym(p, ">=")) {
		*op = OP_GE;
		return 0;
	}
	if (sym(p, "<=")) {
		*op = OP_LE;
		return 0;
	}
	if (sym(p, "=")) {
		*op = OP_EQ;
		return 0;
	}
	if (sym(p, ">")) {
		*op = OP_GT;
		return 0;
	}
	if (sym(p, "<")) {
		*op = OP_LT;
		return 0;
	}
	return fail(p, "unknown operator");
}

static struct omsf_node *parse_cond(struct parser *p)
{
	struct omsf_node *n;
	const char *close, *field;
	char name[128];
	size_t len;

	skip_ws(p);
	if (p->s[p->pos] != '[') {
		fail(p, "expected '[Field]' or '('");
		return NULL;
	}
	close = strchr(p->s + p->pos, ']');
	len = close ? (size_t)(close - (p->s + p->pos + 1)) : 0;
	if (!close || len == 0 || len >= sizeof(name)) {
		fail(p, "bad field name");
		return NULL;
	}
	memcpy(name, p->s + p->pos + 1, len);
	name[len] = '\0';
	field = p->resolve(p->ctx, name);
	if (!field) {
		char msg[200];

		snprintf(msg, sizeof(msg), "unknown field [%s]", name);
		fail(p, msg);
		return NULL;
	}
	p->pos += len + 2;
	n = node_new(N_COND);
	if (!n)
		return NULL;
	n->field = strdup(field);
	n->values = cJSON_CreateArray();
	if (parse_op(p, &n->op) != 0)
		goto bad;
	if (n->op == OP_IN || n->op == OP_NOTIN) {
		if (!sym(p, "("))
			goto bad_paren;
		do {
			cJSON *v = parse_value(p);

			if (!v)
				goto bad;
			cJSON_AddItemToArray(n->values, v);
		} while (sym(p, ","));
		if (!sym(p, ")"))
			goto bad_paren;
		index_numbers(n);
	} else {
		cJSON *v = parse_value(p);

		if (!v)
			goto bad;
		if (n->op == OP_CONTAINS && !cJSON_IsString(v)) {
			cJSON_Delete(v);
			fail(p, "'contains' needs a string");
			goto bad;
		}
		cJSON_AddItemToArray(n->values, v);
	}
	return n;
bad_paren:
	fail(p, "expected '(' list ')' after 'in'");
bad:
	omsf_free(n);
	return NULL;
}

static struct omsf_node *parse_expr(struct parser *p);

static struct omsf_node *parse_factor(struct parser *p)
{
	struct omsf_node *n;

	if (sym(p, "(")) {
		if (++p->depth > MAX_DEPTH) {
			fail(p, "nesting too deep");
			return NULL;
		}
		n = parse_expr(p);
		p->depth--;
		if (n && !sym(p, ")")) {
			fail(p, "expected ')'");
			omsf_free(n);
			return NULL;
		}
		return n;
	}
	return parse_cond(p);
}

static struct omsf_node *join(enum node_kind k, struct omsf_node *a, struct omsf_node *b)
{
	struct omsf_node *n = node_new(k);

	if (!n) {
		omsf_free(a);
		omsf_free(b);
		return NULL;
	}
	n->a = a;
	n->b = b;
	return n;
}

static struct omsf_node *parse_term(struct parser *p)
{
	struct omsf_node *n = parse_factor(p);

	while (n && word(p, "and")) {
		struct omsf_node *r = parse_factor(p);

		if (!r) {
			omsf_free(n);
			return NULL;
		}
		n = join(N_AND, n, r);
	}
	return n;
}

static struct omsf_node *parse_expr(struct parser *p)
{
	struct omsf_node *n = parse_term(p);

	while (n && word(p, "or")) {
		struct omsf_node *r = parse_term(p);

		if (!r) {
			omsf_free(n);
			return NULL;
		}
		n = join(N_OR, n, r);
	}
	return n;
}

int omsf_parse(const char *text, omsf_resolve_fn resolve, void *ctx, struct omsf_node **out,
               char *why, size_t whylen)
{
	struct parser p = {text, 0, resolve, ctx, why, whylen, 0};
	struct omsf_node *n;

	if (why && whylen)
		why[0] = '\0';
	*out = NULL;
	n = parse_expr(&p);
	if (!n) {
		fail(&p, "cannot parse filter");
		return -1;
	}
	skip_ws(&p);
	if (text[p.pos] != '\0') {
		fail(&p, "unexpected text after the filter");
		omsf_free(n);
		return -1;
	}
	*out = n;
	return 0;
}

/* ---- evaluation ---- */

static void as_text(const cJSON *v, char *out, size_t cap)
{
	if (cJSON_IsString(v))
		snprintf(out, cap, "%s", v->valuestring);
	else if (cJSON_IsNumber(v))
		snprintf(out, cap, "%.17g", v->valuedouble);
	else if (cJSON_IsTrue(v))
		snprintf(out, cap, "true");
	else if (cJSON_IsFalse(v))
		snprintf(out, cap, "false");
	else
		out[0] = '\0';
}

/* <0, 0, >0; 2 = not comparable. */
static int compare(const cJSON *field, const cJSON *lit, int tz)
{
	int c;

	if (cJSON_IsNull(lit))
		return (!field || cJSON_IsNull(field) ||
		        (cJSON_IsString(field) && !field->valuestring[0]))
		           ? 0
		           : 1;
	if (cJSON_IsBool(lit)) {
		int f = cJSON_IsTrue(field) ||
		        (cJSON_IsString(field) && strcasecmp(field->valuestring, "true") == 0);

		return f == cJSON_IsTrue(lit) ? 0 : 1;
	}
	if (cJSON_IsNumber(lit)) {
		double d;
		char *end;

		if (cJSON_IsNumber(field)) {
			d = field->valuedouble;
		} else if (cJSON_IsString(field)) {
			d = strtod(field->valuestring, &end);
			if (end == field->valuestring || *end)
				return 2;
		} else {
			return 2;
		}
		return d < lit->valuedouble ? -1 : d > lit->valuedouble ? 1 : 0;
	}
	{
		char a[4096];
		time_t ta, tb;

		as_text(field, a, sizeof(a));
		if (sim_time_parse(a, tz, &ta) == 0 &&
		    sim_time_parse(lit->valuestring, tz, &tb) == 0)
			return ta < tb ? -1 : ta > tb ? 1 : 0;
		c = strcasecmp(a, lit->valuestring);
		return c < 0 ? -1 : c > 0 ? 1 : 0;
	}
}

int omsf_eval(const struct omsf_node *n, const cJSON *rec, int tz)
{
	const cJSON *f, *lit;
	int c;

	switch (n->kind) {
	case N_AND:
		return omsf_eval(n->a, rec, tz) && omsf_eval(n->b, rec, tz);
	case N_OR:
		return omsf_eval(n->a, rec, tz) || omsf_eval(n->b, rec, tz);
	case N_COND:
		break;
	}
	f = cJSON_GetObjectItemCaseSensitive(rec, n->field);
	lit = cJSON_GetArrayItem(n->values, 0);
	switch (n->op) {
	case OP_IN:
	case OP_NOTIN: {
		int hit = 0;

		if (n->nums && cJSON_IsNumber(f)) {
			hit = bsearch(&f->valuedouble, n->nums, n->n_nums, sizeof(*n->nums),
			              double_cmp) != NULL;
			return n->op == OP_IN ? hit : !hit;
		}
		cJSON_ArrayForEach(lit, n->values) hit |= compare(f, lit, tz) == 0;
		return n->op == OP_IN ? hit : !hit;
	}
	case OP_CONTAINS: {
		char a[4096];

		as_text(f, a, sizeof(a));
		return strcasestr(a, lit->valuestring) != NULL;
	}
	default:
		break;
	}
	c = compare(f, lit, tz);
	switch (n->op) {
	case OP_EQ:
		return c == 0;
	case OP_NE:
		return c != 0;
	case OP_GT:
		return c != 2 && c > 0;
	case OP_LT:
		return c < 0;
	case OP_GE:
		return c != 2 && c >= 0;
	case OP_LE:
		return c <= 0;
	default:
		return 0;
	}
}

/* ---- index support ---- */

static int plan_cond(const struct omsf_node *n, int tz, const char **field, const cJSON **lits,
                     int *numeric)
{
	const cJSON *v;
	int nums = 0, strs = 0, count = 0;

	if (n->op != OP_EQ && n->op != OP_IN)
		return -1;
	cJSON_ArrayForEach(v, n->values)
	{
		time_t t;

		count++;
		if (cJSON_IsNumber(v) && !isnan(v->valuedouble))
			nums++;
		else if (cJSON_IsString(v) && sim_time_parse(v->valuestring, tz, &t) != 0)
			strs++;
		else
			return -1; /* null, a boolean, NaN or a time: not keyed */
	}
	if (count == 0 || (nums && strs))
		return -1;
	*field = n->field;
	*lits = n->values;
	*numeric = nums > 0;
	return 0;
}

int omsf_plan(const struct omsf_node *n, int tz, const char **field, const cJSON **lits,
              int *numeric)
{
	switch (n->kind) {
	case N_COND:
		return plan_cond(n, tz, field, lits, numeric);
	case N_AND:
		/* Either side narrows an AND: the other is checked by omsf_eval. */
		if (omsf_plan(n->a, tz, field, lits, numeric) == 0)
			return 0;
		return omsf_plan(n->b, tz, field, lits, numeric);
	case N_OR:
		break;
	}
	return -1;
}

int omsf_key(const cJSON *v, int numeric, char *out, size_t cap)
{
	if (numeric) {
		double d;
		char *end;

		/* As compare(): a number, or a string that is a number whole. */
		if (cJSON_IsNumber(v)) {
			d = v->valuedouble;
		} else if (cJSON_IsString(v)) {
			d = strtod(v->valuestring, &end);
			if (end == v->valuestring || *end)
				return 1;
		} else {
			return 1;
		}
		if (isnan(d))
			return -1; /* compare() finds NaN equal to everything */
		/* %.17g tells every double apart; + 0.0 folds -0 into 0. */
		snprintf(out, cap, "%.17g", d + 0.0);
		return 0;
	}
	/* As compare() for a string literal that is not a time: the field's
	 * text (as_text, so truncated alike), ASCII case folded. */
	as_text(v, out, cap < OMSF_KEY_MAX ? cap : OMSF_KEY_MAX);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}
