/*
 * text.h: the template language of the texts scfgate writes, and the text
 * checks and repairs shared by the configuration and the mappings.  Pure:
 * no I/O, no clock, no globals, and nothing here knows the configuration,
 * so the configuration checks its templates with it (cfg.c) and the
 * mappings render them (map_text.c) without either depending on the other.
 *
 * Contract
 *   - A template is text with placeholders in braces; "{{" is a literal
 *     "{" and "}}" a literal "}".  Each kind has its own placeholders:
 *     messages (acknowledgment, closing) {request_id} {oid} {issue_id}
 *     {request_type}; descriptions {summary} {description} {questions}
 *     {address} {issue_id} {reporter} {request_type} {created_at} {url};
 *     comments {created_at} {commenter} {text} {comment_id} {issue_id}.
 *     Anything else in braces is an error reported by
 *     text_template_check_kind, so rendering a checked template cannot
 *     fail except on memory.
 *   - Line rule (text_render_lines: descriptions and comments, not
 *     messages): each line of the template is rendered on its own.  A line
 *     with placeholders that ALL render empty is left out, literal text
 *     and all.  Blank template lines are separators: a run of them gives
 *     one blank line, and only between two written lines (never first or
 *     last).  The values themselves are never changed.
 *   - ASP.NET escaping (text_aspnet_escape): '<' directly followed by a
 *     letter, '!', '/' or '?' becomes U+FF1C FULLWIDTH LESS-THAN SIGN;
 *     "&#" becomes "&" U+FF03 FULLWIDTH NUMBER SIGN.  The text reads the
 *     same to a person and Cartegraph's request validation accepts it.
 */
#ifndef SCFGATE_TEXT_H
#define SCFGATE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* The default templates (docs/configuration.md shows them too). */
#define TEXT_DESCRIPTION_DEFAULT "{summary}\n\n{description}\n\n{questions}"
#define TEXT_COMMENT_DEFAULT     "{created_at} {commenter}: {text}"

enum text_template_kind {
	TEXT_TEMPLATE_MESSAGE = 0, /* acknowledgment and closing messages */
	TEXT_TEMPLATE_DESCRIPTION, /* <cartegraph><templates><description> */
	TEXT_TEMPLATE_COMMENT,     /* <cartegraph><templates><comment> */
};

struct text_vars {
	const char *request_id;   /* {request_id} */
	int64_t oid;              /* {oid} */
	int64_t issue_id;         /* {issue_id} */
	const char *request_type; /* {request_type} */
};

/* ERR_PERM "placeholder {x} is not one of ..." or "unbalanced brace at
 * offset N"; *offset (may be NULL) gets the byte offset. */
enum err_status text_template_check(const char *tmpl, size_t *offset, struct err *e);
/* The same for a template of the given kind (its own placeholders). */
enum err_status text_template_check_kind(enum text_template_kind kind, const char *tmpl,
                                         size_t *offset, struct err *e);
/* 1 if a valid template of that kind holds the placeholder {name}. */
int text_template_uses(enum text_template_kind kind, const char *tmpl, const char *name);
/* Render a message template; NULL variables render as "". */
enum err_status text_render(const char *tmpl, const struct text_vars *v, struct buf *out,
                            struct err *e);
/* Render a description or comment template of that kind under the line
 * rule; values[] in the order of the kind's placeholders above.  ERR_PERM
 * for a template that does not pass text_template_check_kind, ERR_TEMP on
 * memory. */
enum err_status text_render_lines(const char *tmpl, enum text_template_kind kind,
                                  const char *const *values, struct buf *out, struct err *e);

/* Append s, repairing invalid UTF-8 / control chars to U+FFFD. */
enum err_status text_utf8_repair(const char *s, size_t len, struct buf *out);
/* 1 if s has record.xsd's time shape: YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|+hh:mm]. */
int text_time_ok(const char *s);
/* 1 if s[0..len) is valid UTF-8 without characters XML cannot carry. */
int text_utf8_clean(const char *s, size_t len);
/* Append s with the ASP.NET escaping above. */
enum err_status text_aspnet_escape(const char *s, struct buf *out);

#endif
