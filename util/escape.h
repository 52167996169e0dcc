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

/* Copy a message as one line of at most size - 1 bytes (size >= 1) for
 * a state file that keeps one value per line (a half's alert, a health
 * reason and detail): a newline, a carriage return and a tab become a
 * space; every other byte is copied as it is, so the text should be a
 * struct err message already (err_set shows its control characters as
 * '?'), and it is escaped when shown (escape_display).  A message that
 * does not fit keeps its start and its end, the end being what matters
 * (the HTTP status and the server's words come after a long URL): its
 * first size / 3 bytes, " ... ", then its last bytes up to size - 1 in
 * all.  Below 10 bytes, where that leaves no room for the end, it is
 * cut at size - 1.  Returns out. */
char *escape_one_line(const char *in, char *out, size_t size);

#endif
