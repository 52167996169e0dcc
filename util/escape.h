/*
 * escape.h: names and messages that came from elsewhere (a file name in a
 * spool, a reason read from a .why file, a server's error text) made safe
 * to print on a terminal or write into a log line.
 */
#ifndef SCFGATE_ESCAPE_H
#define SCFGATE_ESCAPE_H

#include <stddef.h>

/* Size of a buffer that holds any escaped name or message: every input
 * byte becomes at most 4 ("\xNN"). */
#define ESCAPE_DISPLAY_MAX(n) ((n)*4 + 1)

/* Copy text for a terminal or a log: a file name or message that came
 * from the other side may hold control characters (escape sequences,
 * a newline that fakes a line) or invalid UTF-8.  Printable ASCII and
 * valid UTF-8 outside the control ranges pass; a backslash becomes
 * "\\"; every other byte becomes "\xNN".  The result is cut at a
 * character boundary to fit size (>= 1); returns out. */
char *escape_display(const char *in, char *out, size_t size);

#endif
