/* num.c: strict integers from text (num.h). */
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* long long is int64_t here: strtoll's ERANGE is the type's range. */
_Static_assert(sizeof(long long) == sizeof(int64_t), "long long is 64 bits");

static int is_digit(char c, int base)
{
	return base == 16 ? isxdigit((unsigned char)c) != 0 : isdigit((unsigned char)c) != 0;
}

int num_u64(const char *s, int base, const char **end, uint64_t *out)
{
	char *e;
	unsigned long long v;

	/* strtoull would skip blanks and take a sign (negating the value) or
	 * a "0x": the first character must be a digit. */
	if (!s || (base != 10 && base != 16) || !is_digit(s[0], base))
		return -1;
	if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return -1;
	errno = 0;
	v = strtoull(s, &e, base);
	if (errno != 0)
		return -1;
	*out = (uint64_t)v;
	if (end)
		*end = e;
	return 0;
}

int num_i64(const char *s, const char **end, int64_t *out)
{
	char *e;
	long long v;

	if (!s || !is_digit(s[s[0] == '-' ? 1 : 0], 10))
		return -1;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno != 0)
		return -1;
	*out = (int64_t)v;
	if (end)
		*end = e;
	return 0;
}

int num_int(const char *s, const char **end, int *out)
{
	const char *e;
	int64_t v;

	if (num_i64(s, &e, &v) != 0 || v < INT_MIN || v > INT_MAX)
		return -1;
	*out = (int)v;
	if (end)
		*end = e;
	return 0;
}

int num_double(const char *s, const char **end, double *out)
{
	const char *d;
	char *e;
	double v;

	if (!s)
		return -1;
	d = s[0] == '-' ? s + 1 : s;
	/* strtod would also skip blanks, take '+', "inf", "nan" and "0x1p3" */
	if (!isdigit((unsigned char)d[0]) || (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')))
		return -1;
	errno = 0;
	v = strtod(s, &e);
	if (errno != 0 || !isfinite(v))
		return -1;
	*out = v;
	if (end)
		*end = e;
	return 0;
}

const char *num_after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s && strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

int num_line_u64(const char *line, const char *prefix, uint64_t *out)
{
	const char *end;
	uint64_t v;

	if (num_u64(num_after(line, prefix), 10, &end, &v) != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int num_line_i64(const char *line, const char *prefix, int64_t *out)
{
	const char *end;
	int64_t v;

	if (num_i64(num_after(line, prefix), &end, &v) != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int num_field_u64(const char **q, uint64_t *out)
{
	return **q == ' ' ? num_u64(*q + 1, 10, q, out) : -1;
}

int num_field_i64(const char **q, int64_t *out)
{
	return **q == ' ' ? num_i64(*q + 1, q, out) : -1;
}

int num_field_int(const char **q, int *out)
{
	return **q == ' ' ? num_int(*q + 1, q, out) : -1;
}

int num_field_double(const char **q, double *out)
{
	return **q == ' ' ? num_double(*q + 1, q, out) : -1;
}

int num_field_word(const char **q, char *out, size_t size)
{
	size_t n;

	if (**q != ' ')
		return -1;
	n = strcspn(*q + 1, " \n");
	if (n == 0 || n >= size)
		return -1;
	memcpy(out, *q + 1, n);
	out[n] = '\0';
	*q += 1 + n;
	return 0;
}

int num_field_end(const char *q)
{
	return strcmp(q, "\n") == 0 || *q == '\0';
}

int num_digits(const char *s, int n, int *out)
{
	int v = 0;

	if (n < 1 || n > 9)
		return -1;
	/* a NUL is not a digit: a short string stops the loop there */
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int num_hex_byte(const char *s, unsigned char *out)
{
	int v = 0;

	for (int i = 0; i < 2; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -1;
	}
	*out = (unsigned char)v;
	return 0;
}
