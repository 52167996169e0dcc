/*
 * jdoc.h: building one JSON document for output (scfgate status, spool
 * ls/show/stat, config describe) so that running out of memory fails the
 * whole document instead of silently leaving a member out; and the one
 * reader of a string member.
 *
 * cJSON's cJSON_Add*ToObject return NULL when an allocation fails and
 * leave the object without the member.  A monitor that reads
 * "attention" from `scfgate status --json` must never be handed a
 * well-formed document that merely lacks it; it must get no document
 * and a failing exit.
 *
 * Contract
 *   - struct jdoc d = JDOC_INIT; then jdoc_root_object() or
 *     jdoc_root_array() creates the root, which the jdoc owns.
 *   - Every other call adds one value to parent: as member key of an
 *     object when key is not NULL, appended to an array when it is.  A
 *     call that fails (no memory, or a NULL parent because the parent's
 *     own creation failed) marks the jdoc failed; once failed, every call
 *     does nothing and the container calls return NULL, so callers need
 *     not check each one.
 *   - jdoc_string() with v NULL adds JSON null.
 *   - jdoc_add() takes ownership of item whatever happens (a NULL item is
 *     a failure).
 *   - jdoc_failed() says whether any call failed.  jdoc_print() returns
 *     the text (free with cJSON_free) or NULL when any call failed or the
 *     printing ran out of memory.
 *   - jdoc_release() deletes the tree and resets d to JDOC_INIT.
 */
#ifndef SCFGATE_JDOC_H
#define SCFGATE_JDOC_H

#include <cjson/cJSON.h>

struct jdoc {
	cJSON *root;
	int failed;
};

#define JDOC_INIT                                                                                  \
	{                                                                                          \
		NULL, 0                                                                            \
	}

cJSON *jdoc_root_object(struct jdoc *d);
cJSON *jdoc_root_array(struct jdoc *d);

cJSON *jdoc_object(struct jdoc *d, cJSON *parent, const char *key);
cJSON *jdoc_array(struct jdoc *d, cJSON *parent, const char *key);
void jdoc_string(struct jdoc *d, cJSON *parent, const char *key, const char *v);
void jdoc_number(struct jdoc *d, cJSON *parent, const char *key, double v);
void jdoc_bool(struct jdoc *d, cJSON *parent, const char *key, int v);
void jdoc_null(struct jdoc *d, cJSON *parent, const char *key);
void jdoc_add(struct jdoc *d, cJSON *parent, const char *key, cJSON *item);

int jdoc_failed(const struct jdoc *d);
char *jdoc_print(struct jdoc *d, int formatted);
void jdoc_release(struct jdoc *d);

/* Reading a document that came in (an API's answer, a file of the
 * gateway's own): the string member key of obj, or NULL when obj is
 * NULL or has no such member or the member is not a string. */
const char *jdoc_get_str(const cJSON *obj, const char *key);

#endif
