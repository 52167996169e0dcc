/*
 * num.h: numbers read from text that may be wrong (state files, headers,
 * environment variables, manifests, a simulator's URL paths).
 *
 * sscanf("%d") cannot tell an overflow from a number, skips blanks and
 * takes a sign or "0x" where none belongs; strtol tells, but only when
 * errno, the end pointer and the first character are checked at every
 * call.  These check them once.
 *
 * Contract
 *   - A number is one or more digits of its base, starting at s[0]: no
 *     blank, no '+', no "0x" before it; num_i64 alone takes one leading
 *     '-'.  Its value must fit the type.
 *   - On success *out is the value, *end (when end is not NULL) points
 *     just past the last digit, and 0 is returned.  Otherwise -1 is
 *     returned and *out and *end are left alone.
 *   - What follows the number is the caller's to check (*end == '\0' for
 *     "nothing else", *end == ' ' before the next field, ...).
 */
#ifndef SCFGATE_NUM_H
#define SCFGATE_NUM_H

#include <stddef.h>
#include <stdint.h>

/* A number of base 10 or 16 (hexadecimal digits in either case). */
int num_u64(const char *s, int base, const char **end, uint64_t *out);
int num_i64(const char *s, const char **end, int64_t *out);

/* num_i64 for an int: a value outside INT_MIN..INT_MAX is refused. */
int num_int(const char *s, const char **end, int *out);

/* A finite decimal number as printf's "%f" or "%g" writes it: an
 * optional '-', a digit, then what strtod takes of digits, a '.' and an
 * exponent.  Refused besides the above: "inf", "nan", a hexadecimal
 * "0x..." and a value out of double's range (ERANGE, which includes an
 * underflow to 0 or to a subnormal).  It reads '.' as the decimal point
 * only while LC_NUMERIC is "C", as it is in scfgate. */
int num_double(const char *s, const char **end, double *out);

/* The text after prefix when s starts with it, else NULL (which the
 * parsers above refuse): num_u64(num_after(line, "seq "), ...). */
const char *num_after(const char *s, const char *prefix);

/* 0 when line is prefix, one decimal number and nothing else (a state
 * file's "seq 12"), else -1. */
int num_line_u64(const char *line, const char *prefix, uint64_t *out);
int num_line_i64(const char *line, const char *prefix, int64_t *out);

/*
 * The fields of a line written as "<a> <b> <c>...\n" by scfgate itself
 * (a state file): each reader takes one blank, then the field, and moves
 * *q past it.  0, or -1 with *q unchanged when the blank or the field is
 * not there or not what it must be; num_field_end() is 1 when only the
 * newline (or nothing) is left.  A word is one or more bytes up to the
 * next blank or newline, refused when it does not fit out (size bytes
 * with its NUL).
 */
int num_field_u64(const char **q, uint64_t *out);
int num_field_i64(const char **q, int64_t *out);
int num_field_int(const char **q, int *out);
int num_field_double(const char **q, double *out);
int num_field_word(const char **q, char *out, size_t size);
int num_field_end(const char *q);

/* Exactly n decimal digits s[0..n-1] (n at most 9), no sign, no blank:
 * the fixed-width fields of a timestamp. */
int num_digits(const char *s, int n, int *out);

/* Exactly two hexadecimal digits s[0], s[1] as one byte. */
int num_hex_byte(const char *s, unsigned char *out);

#endif
