/*
 * xmlgate.h: a cheap lexical gate run before libxml2 sees a document
 * from the other side (a record, a bundle manifest) or a configuration.
 *
 * Why: libxml2 2.9 checks an element's attributes for duplicates (and its
 * namespace declarations likewise) in quadratic time, so a 2 MB file with
 * 25,000 attributes on one element costs seconds of CPU per parse, and
 * deep nesting costs stack and memory.  The gate is one linear pass over
 * the bytes that counts what a parser would pay for and refuses before
 * any parse.
 *
 * Contract
 *   - xmlgate_check() scans bytes[0..len) once: O(len) time, O(1) memory,
 *     no allocation.  It refuses (ERR_PERM, one line naming the line
 *     number and the limit) a document over max_bytes, an element with
 *     more than max_attributes attributes or more than max_namespaces
 *     namespace declarations (xmlns, xmlns:p), nesting deeper than
 *     max_depth, and any markup declaration (<!DOCTYPE, <!ENTITY, ...):
 *     none of scfgate's documents has one.
 *   - It is not a parser: comments, CDATA sections, processing
 *     instructions and quoted attribute values are skipped so that what
 *     they hold is not counted; anything malformed (an unterminated
 *     comment, a stray quote) is left for libxml2 to report.  A document
 *     the gate accepts may still be refused by the parser.
 *   - xmlgate_feed() is the same gate over a stream (a bundle manifest,
 *     which grows with the bundle and is handed to libxml2 in chunks):
 *     feed every chunk before the parser sees it; the verdict on the
 *     bytes fed so far is the same as xmlgate_check() on their
 *     concatenation, however they are cut.  The state is a small struct
 *     (no allocation); once refused, every later feed is refused too.
 *   - No I/O, no globals; safe from any thread.
 */
#ifndef SCFGATE_XMLGATE_H
#define SCFGATE_XMLGATE_H

#include <stddef.h>

#include "err.h"

struct xmlgate_limits {
	size_t max_bytes;
	unsigned max_attributes; /* per element, namespace declarations included */
	unsigned max_namespaces; /* namespace declarations per element */
	unsigned max_depth;      /* element nesting */
};

/* Limits that every scfgate document stays far below (records nest about
 * 8 deep with at most 4 attributes per element): 64 attributes,
 * 8 namespace declarations, depth 64.  max_bytes is the caller's. */
void xmlgate_limits_default(struct xmlgate_limits *lim, size_t max_bytes);

/* ERR_OK, or ERR_PERM "line N: ..." as described above. */
enum err_status xmlgate_check(const char *bytes, size_t len, const struct xmlgate_limits *lim,
                              struct err *e);

/* The scanner's state between chunks; opaque to callers. */
struct xmlgate {
	const struct xmlgate_limits *lim; /* borrowed: must outlive the gate */
	size_t bytes;
	unsigned line, tag_line;
	unsigned depth;
	unsigned n_attr, n_ns;
	int state;
	char quote;
	unsigned run; /* '-' or ']' seen in a row, or '?' just seen */
	char decl[8]; /* what follows "<!", up to 7 characters */
	unsigned n_decl;
	char name[6]; /* the first characters of an attribute name */
	unsigned n_name;
	int refused;
};

void xmlgate_init(struct xmlgate *g, const struct xmlgate_limits *lim);
/* ERR_OK, or ERR_PERM as xmlgate_check() on everything fed so far. */
enum err_status xmlgate_feed(struct xmlgate *g, const char *bytes, size_t len, struct err *e);
/* After the last chunk: an unfinished "<!" at the very end is refused
 * like a markup declaration (as xmlgate_check() does). */
enum err_status xmlgate_finish(struct xmlgate *g, struct err *e);

#endif
