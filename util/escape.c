/*
 * escape.c: text made safe for a terminal or a log.  See escape.h.
 */
#include "escape.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid, printable UTF-8 sequence at s (n bytes left), or 0
 * when the byte at s must be escaped. */
static size_t printable_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0x20 && s[0] < 0x7f)
		return s[0] == '\\' ? 0 : 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0; /* ASCII control, DEL, continuation or invalid lead */
	if (len > n)
		return 0;
	/* The second byte's range rules out overlong forms, surrogates and
	 * code points above U+10FFFF; U+0080..U+009F are C1 controls. */
	if (s[0] == 0xc2 || s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

char *escape_display(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), o = 0;

	while (n > 0) {
		size_t len = printable_len(s, n);
		char esc[8];
		const char *piece = (const char *)s;
		size_t plen = len;

		if (!len) {
			if (*s == '\\')
				snprintf(esc, sizeof(esc), "\\\\");
			else
				snprintf(esc, sizeof(esc), "\\x%02x", *s);
			piece = esc;
			plen = strlen(esc);
			len = 1;
		}
		if (o + plen >= size)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		s += len;
		n -= len;
	}
	out[o] = '\0';
	return out;
}

char *escape_one_line(const char *in, char *out, size_t size)
{
	static const char mark[] = " ... ";
	size_t len = strlen(in), head = size / 3, k = 0;
	/* the middle is left out only when the mark and at least one byte
	 * of the end fit after the head */
	int cut = len >= size && head + (sizeof(mark) - 1) + 1 < size;

	for (size_t i = 0; i < len && k + 1 < size; i++) {
		if (cut && i == head) {
			memcpy(out + k, mark, sizeof(mark) - 1);
			k += sizeof(mark) - 1;
			i = len - (size - 1 - k);
		}
		out[k++] = (in[i] == '\n' || in[i] == '\r' || in[i] == '\t') ? ' ' : in[i];
	}
	out[k] = '\0';
	return out;
}
