/*
 * cg_check.h: the OMS half's field map against what the city's
 * Cartegraph says its classes are (cg_meta.h).  Used at the half's
 * start-up, after a 400 that names an unknown field, and by
 * `scfgate config check --online`.
 *
 * Contract
 *   - cg_check_fields() walks cfg_cg_fields(): every field must exist on
 *     its class (the request class, or the attachment class, which must
 *     be one of the request class's Children), be writable where the half
 *     writes it, and have a DataType that fits what the half sends:
 *       text     String
 *       lookup   String or Lookup (IssueField)
 *       boolean  Boolean
 *       number   Number (latitude, longitude)
 *       shape    Shape
 *       id       String, Number or Integer (the SCF issue id)
 *     A DataType unknown to cg_meta.h fits text and lookup only.  A field
 *     the half only reads (id, status) need only exist.  Each problem is
 *     one line "FILE:LINE: <element>: <what>" appended to out with a
 *     '\n'; a missing field names up to three close existing names
 *     ("did you mean 'X'?").  *n receives the number of lines.
 *   - cg_check_fetch() GETs /api/v1/meta/Classes/<request class> and,
 *     when its Children name the attachment class, that class's meta:
 *     two GETs at most, never a write.  A 404 for a class leaves it out
 *     of the set (cg_check_fields then reports it).  Other failures keep
 *     the client's classes: ERR_TEMP (unreachable, 5xx), ERR_PERM (other
 *     4xx, a body cg_meta_add refuses), ERR_FATAL (401 after re-login).
 *   - cg_check_unknown_field() reads a Cartegraph 400 body: the Message
 *     "Field 'X' does not exist on class Y." (a write) or "Invalid field
 *     'X' for class Y." (a query's fields=), or an Errors[] entry with a
 *     FieldName whose Message says it does not exist.  Returns 1 and the
 *     field name in name[size] when it is such a reply, else 0.
 *   - No function here prints or logs.
 */
#ifndef SCFGATE_CG_CHECK_H
#define SCFGATE_CG_CHECK_H

#include <stddef.h>

#include "buf.h"
#include "cfg.h"
#include "cg_meta.h"
#include "err.h"
#include "http.h"

enum err_status cg_check_fields(const struct cfg *c, const struct cg_meta *m, struct buf *out,
                                size_t *n);

/* status (may be NULL): the HTTP status of a failed request, 0 if none
 * completed or none failed. */
enum err_status cg_check_fetch(struct http_client *h, const struct cfg *c, struct cg_meta **out,
                               long *status, struct err *e);

int cg_check_unknown_field(const char *body, size_t len, char *name, size_t size);

/* "a string", "a boolean", ...: what the half sends for a kind. */
const char *cg_check_kind_name(enum cfg_cg_kind k);

#endif
