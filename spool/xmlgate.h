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

#endif
