/*
 * cg_meta.h: what a city's Cartegraph says its classes are, read from
 * GET /api/v1/meta/Classes/<class>, so the OMS half can check its field
 * map against the real classes instead of assuming the names exist.
 *
 * Contract
 *   - Input is the body of a class meta response:
 *       {"Classes":[{"Name":"cgRequestsClass",
 *                    "Children":["cgRequests_cgAttachmentsClass", ...],
 *                    "Properties":[{"Name":"IssueField","DataType":"Lookup",
 *                                   "IsReadOnly":false,
 *                                   "LookupClass":"cgRequestIssuesClass"}, ...]}]}
 *     Other members are ignored.  Every class must have a Name; Children
 *     and Properties may be absent (none).  A property needs Name and
 *     DataType; IsReadOnly absent means writable; LookupClass is optional
 *     (only lookups carry it).  A DataType this module does not know is
 *     kept as CG_TYPE_UNKNOWN with its text.
 *   - The input is untrusted: at most CG_META_MAX_BYTES, CG_META_MAX_CLASSES
 *     classes, CG_META_MAX_PROPS properties and CG_META_MAX_CHILDREN
 *     children per class, names of 1..CG_META_NAME_MAX bytes without
 *     control characters.  Anything else (not JSON, wrong member types,
 *     over a limit) is ERR_PERM with one line saying what, never a crash;
 *     the set is then unchanged.
 *   - cg_meta_add() may be called more than once (the request class and
 *     its attachment child come from two requests); a class read again
 *     replaces the one read before.
 *   - cg_meta_json() writes the set back in the same format, so a cached
 *     copy is read with cg_meta_add() like a fresh response.
 *   - Lookups are exact and case-sensitive, as Cartegraph is.  Strings
 *     returned point into the set and live until cg_meta_free().
 *   - No function here prints, logs or does I/O.
 */
#ifndef SCFGATE_CG_META_H
#define SCFGATE_CG_META_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

#define CG_META_MAX_BYTES    ((size_t)8 * 1024 * 1024)
#define CG_META_MAX_CLASSES  64
#define CG_META_MAX_PROPS    4096
#define CG_META_MAX_CHILDREN 512
#define CG_META_NAME_MAX     255
#define CG_META_SUGGEST_MAX  3

enum cg_type {
	CG_TYPE_UNKNOWN = 0, /* a DataType not listed here (kept in type_name) */
	CG_TYPE_STRING,
	CG_TYPE_BOOLEAN,
	CG_TYPE_NUMBER,
	CG_TYPE_INTEGER,
	CG_TYPE_DATE,
	CG_TYPE_SHAPE,
	CG_TYPE_LOOKUP,
};

struct cg_prop {
	const char *name;
	enum cg_type type;
	const char *type_name;    /* the DataType as sent ("String", "Lookup", ...) */
	int read_only;            /* IsReadOnly */
	const char *lookup_class; /* LookupClass, or NULL */
};

struct cg_meta;

/* An empty set (ERR_TEMP only when out of memory). */
enum err_status cg_meta_new(struct cg_meta **out, struct err *e);
void cg_meta_free(struct cg_meta *m);

/* Read one meta response into the set (see the contract). */
enum err_status cg_meta_add(struct cg_meta *m, const char *json, size_t len, struct err *e);

/* The whole set as one meta document (for the cache). */
enum err_status cg_meta_json(const struct cg_meta *m, struct buf *out);

/* 1 if the set holds class cls. */
int cg_meta_has_class(const struct cg_meta *m, const char *cls);

/* The property name of class cls, or NULL (no such class or property). */
const struct cg_prop *cg_meta_prop(const struct cg_meta *m, const char *cls, const char *name);

/* Children of class cls: how many, and the i-th name (NULL out of range). */
size_t cg_meta_n_children(const struct cg_meta *m, const char *cls);
const char *cg_meta_child(const struct cg_meta *m, const char *cls, size_t i);
/* 1 if child is one of cls's Children. */
int cg_meta_has_child(const struct cg_meta *m, const char *cls, const char *child);

/*
 * The existing property names of cls closest to a wrong one: edit
 * distance (insertions, deletions, substitutions and swaps of two
 * neighbours) compared case-insensitively, closest first, at most
 * CG_META_SUGGEST_MAX, and only those within a quarter of the name's
 * length (at least 1, at most 4) or that differ only by a missing
 * "Field" suffix.  Fills out[] and returns how many.
 */
size_t cg_meta_suggest(const struct cg_meta *m, const char *cls, const char *wrong,
                       const char *out[CG_META_SUGGEST_MAX]);

/* "String", "Boolean", ... for a type; "unknown" for CG_TYPE_UNKNOWN. */
const char *cg_type_name(enum cg_type t);

#endif
