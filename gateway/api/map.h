/*
 * map.h: pure mapping between the two APIs' JSON and scfgate records.
 * Bytes (or cJSON) in, structs or bytes out; no I/O, no clock, no
 * globals, so every function here can be fuzzed and unit-tested alone.
 *
 * Contract
 *   SCF -> records
 *   - map_scf_issue() takes ONE issue object as returned by
 *     GET /organizations/:id/issues?details=true (or /issues/:id) and
 *     returns a new RECORD_ISSUE record (key "issue/<id>"), with the
 *     questions, the comments present at first sight (each a full
 *     struct record_comment), media_url = media.image_full (never
 *     representative_image_url, which is a category icon when there is no
 *     photo) and source_json = the object, unformatted.
 *   - Tolerated variants: integrations null/array/object; rating string
 *     or number; description null; comment_url or comments_url; id as
 *     integer or decimal string; timestamps with offsets (kept verbatim);
 *     the "null" strings of the documentation examples read as null;
 *     missing optional fields (request_type, media, reporter, questions,
 *     comments, address, lat/lng when point is present).
 *   - Refused (ERR_PERM, message names the field and the issue id):
 *     missing or non-positive id, wrong JSON types, missing status or
 *     request_type.id,
 *     missing created_at, a string over MAP_TEXT_MAX bytes, more than
 *     MAP_LIST_MAX questions or comments, lat/lng out of range.
 *   - Invalid UTF-8 and control characters other than TAB/LF/CR in TEXT
 *     (descriptions, answers, comments, names, addresses) are REPLACED by
 *     U+FFFD, so one bad byte from a citizen's phone never blocks an issue;
 *     in URLs and timestamps they are REFUSED (ERR_PERM), since a mangled
 *     URL is worse than none.
 *   - Comment ids come from flag_url ("/comments/<digits>/flag").  Without
 *     one the key is "h-" + sha256 hex of "<issue id>\n<created_at>\n
 *     <commenter id>\n<text>" (sig_sha256_hex), stable across polls.
 *   - System comments: record_comment.is_system is a CFG_SYSCOMMENT_* bit
 *     (0 for a person's comment): text patterns (a small table: "assigned
 *     this issue to", "changed the request type", ...) give
 *     CFG_SYSCOMMENT_ASSIGNED; a commenter listed in cfg->scf.system_accounts
 *     gives CFG_SYSCOMMENT_ACCOUNT.  map_comment_forward() applies the
 *     configured policy.
 *
 *   records -> Cartegraph
 *   - Bodies are strict JSON (cJSON), envelope {"<class>":[{...}]}.
 *   - Text that ASP.NET request validation refuses is ESCAPED, never
 *     dropped: '<' directly followed by a letter, '!', '/' or '?' becomes
 *     U+FF1C FULLWIDTH LESS-THAN SIGN; "&#" becomes "&" U+FF03 FULLWIDTH
 *     NUMBER SIGN.  The text reads the same to a person.
 *   - Notes appended for SCF comments (to a field, or as child records,
 *     per cfg.cg.comment_route) carry a marker "[scf-comment <id>]" so a
 *     repeat is detected (map_cg_notes_have) after a crash.
 *
 *   Cartegraph -> records
 *   - map_cg_request() reads one object of a cgRequestsClass query (or a
 *     create response) and says whether it is closed per cfg.
 *
 *   Messages and texts
 *   - Message templates (acknowledgment, closing) use {request_id} {oid}
 *     {issue_id} {request_type}; "{{" is a literal "{" and "}}" a literal
 *     "}".  Anything else in braces is an error reported by
 *     text_template_check (config check uses it), so rendering a checked
 *     template cannot fail except on memory.
 *   - The DescriptionField text comes from the description template
 *     (cfg->cg.description_template, default TEXT_DESCRIPTION_DEFAULT):
 *     {summary} {description} {questions} (one "Question: answer" line per
 *     question, every question, "No Answer Given" kept) {address}
 *     {issue_id} {reporter} {request_type} (the configured title, else
 *     SCF's) {created_at} {url} (the issue's page on SeeClickFix).
 *   - The text of one SCF comment (CommentsField on the create body, each
 *     appended note) comes from the comment template
 *     (cfg->cg.comment_template, default TEXT_COMMENT_DEFAULT): {created_at}
 *     {commenter} {text} {comment_id} {issue_id}.  The note marker
 *     "[scf-comment <id>] " always comes first, outside the template.
 *   - Line rule of these two (not of messages): each line of the template
 *     is rendered on its own.  A line with placeholders that ALL render
 *     empty is left out, literal text and all.  Blank template lines are
 *     separators: a run of them gives one blank line, and only between two
 *     written lines (never first or last).  The values themselves (a
 *     description with blank lines of its own) are never changed.  The
 *     result is escaped as a whole (text_aspnet_escape) when it goes into a
 *     body.
 */
#ifndef SCFGATE_MAP_H
#define SCFGATE_MAP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "record.h"
#include "text.h"

/* Longest text field accepted from SCF (bytes, after UTF-8 repair). */
#define MAP_TEXT_MAX ((size_t)64 * 1024)
/* Most questions / comments accepted on one issue. */
#define MAP_LIST_MAX 2000
/* Largest single JSON object accepted by the byte-level entry points. */
#define MAP_JSON_MAX ((size_t)4 * 1024 * 1024)

/* ---- SCF -> records ---------------------------------------------------- */

/* One SCF issue object -> a new RECORD_ISSUE record (record_free).  c may
 * be NULL (no system accounts known).  ERR_PERM on hostile input. */
enum err_status map_scf_issue(const char *json, size_t len, const struct cfg *c,
                              struct record **out, struct err *e);
enum err_status map_scf_issue_cjson(const cJSON *obj, const struct cfg *c, struct record **out,
                                    struct err *e);

/* One SCF comment object (from details=true or GET /issues/:id/comments)
 * -> a new RECORD_COMMENT record, key "comment/<issue>/<comment id>". */
enum err_status map_scf_comment_cjson(const cJSON *obj, int64_t issue_id, const struct cfg *c,
                                      struct record **out, struct err *e);

/* A deep copy of one comment of an issue record as its own RECORD_COMMENT
 * record (key "comment/<issue>/<comment id>"). */
enum err_status map_comment_record(const struct record_comment *cm, struct record **out,
                                   struct err *e);

/* A RECORD_ATTACHMENT for a photo URL; comment_id NULL for the issue's
 * own photo.  Key "attachment/<issue>/issue" or ".../<comment id>". */
enum err_status map_attachment_record(int64_t issue_id, const char *comment_id, const char *url,
                                      struct record **out, struct err *e);

/* 1 if the comment should be forwarded under c's policy (people's
 * comments always; system comments only when their bit is configured). */
int map_comment_forward(const struct cfg *c, const struct record_comment *cm);

/* The comment id in a flag_url into out (digits), 0 on success, -1 if none. */
int map_comment_id_from_flag_url(const char *flag_url, char *out, size_t out_size);

/* ---- records -> Cartegraph --------------------------------------------- */

/* The create body for an issue: {"<request_class>":[{...}]} with the field
 * map, the remote request type id, the description (map_cg_description,
 * escaped), location, the public comments so far, the custom fields, and
 * the external id.  The photo is not in it: it goes as an attachment
 * child record (map_cg_attachment_body), except that with <requestPhoto>
 * its URL and true are also set on the request's own fields.  ERR_PERM if
 * the request type is unmapped. */
enum err_status map_cg_create_body(const struct cfg *c, const struct record_issue *is,
                                   struct buf *out, struct err *e);

/* What the OMS half knows beyond the record when it creates a request
 * (today: the geocoder's verdict, oms_geo.h).  Every member may be NULL. */
struct map_cg_extra {
	const char *location;   /* LocationDescriptionField instead of is->address */
	const char *note;       /* one line for staff */
	const char *note_field; /* the Cartegraph field for note; NULL: the note is
	                           appended to the description after a blank line */
};

/* map_cg_create_body with extra (NULL: exactly map_cg_create_body).  The
 * location and the note are escaped like all free text. */
enum err_status map_cg_create_body_ex(const struct cfg *c, const struct record_issue *is,
                                      const struct map_cg_extra *extra, struct buf *out,
                                      struct err *e);

/* The description text alone, as put into DescriptionField before the
 * escaping: c's description template (c may be NULL: the default). */
enum err_status map_cg_description(const struct cfg *c, const struct record_issue *is,
                                   struct buf *out);

/* The note for one SCF comment, before the escaping: the marker, then c's
 * comment template (c may be NULL: the default), i.e. by default
 * "[scf-comment <id>] <created_at> <name>: <text>". */
enum err_status map_cg_note(const struct cfg *c, const struct record_comment *cm, struct buf *out);

/* 1 if notes (may be NULL) already hold the marker for comment_id. */
int map_cg_notes_have(const char *notes, const char *comment_id);

/* The update body appending cm's note to existing text (may be NULL) of
 * the comment route's field (cfg.cg.comment_field: the gateway's own
 * field for route "field", NotesField for route "notes"):
 * {"<request_class>":[{"Oid":oid,"<comment_field>":"..."}]}. */
enum err_status map_cg_notes_body(const struct cfg *c, int64_t oid, const char *existing_notes,
                                  const struct record_comment *cm, struct buf *out, struct err *e);

/* The child body for one comment (route "child"), posted under the
 * request: {"<comment_class>":[{"<comment_field>":"<note>"}]}. */
enum err_status map_cg_comment_child_body(const struct cfg *c, const struct record_comment *cm,
                                          struct buf *out, struct err *e);

/* The child body for a linked attachment:
 * {"<attachment_class>":[{"<AttachmentField>":url,"<LinkedField>":true}]}. */
enum err_status map_cg_attachment_body(const struct cfg *c, const struct record_attachment *at,
                                       struct buf *out, struct err *e);

/* ---- Cartegraph -> records --------------------------------------------- */

struct map_cg_request {
	int64_t oid;
	char *request_id;    /* IDField, or NULL */
	char *status;        /* StatusField, or NULL */
	int64_t external_id; /* SCF issue id from external_id_field, 0 if absent */
	char *last_modified; /* cgLastModifiedField, or NULL */
	int closed;          /* status is one of cfg closed values */
	char *source_json;   /* the object, unformatted */
};

/* One request object (a query row or a create response row). */
enum err_status map_cg_request(const struct cfg *c, const char *json, size_t len,
                               struct map_cg_request *out, struct err *e);
enum err_status map_cg_request_cjson(const struct cfg *c, const cJSON *obj,
                                     struct map_cg_request *out, struct err *e);
/* The first row of an envelope {"<request_class>":[{...}], ...}. */
enum err_status map_cg_created(const struct cfg *c, const char *json, size_t len,
                               struct map_cg_request *out, struct err *e);
void map_cg_request_clear(struct map_cg_request *rq);

/* A new RECORD_ACK (key "ack/<issue id>"). */
enum err_status map_ack_record(int64_t issue_id, const struct map_cg_request *rq,
                               const struct cfg_request_type *rt, const char *accepted_at,
                               struct record **out, struct err *e);
/* A new RECORD_CLOSE (key "close/<issue id>"); closed_at may be NULL
 * (then last_modified is used). */
enum err_status map_close_record(int64_t issue_id, const struct map_cg_request *rq,
                                 const struct cfg_request_type *rt, const char *closed_at,
                                 struct record **out, struct err *e);

/* ---- messages and texts -------------------------------------------------- */

/* The acknowledgment comment for an ack record: the type's
 * acknowledgment message, else the default. */
enum err_status map_render_ack(const struct cfg *c, const struct record_ack *ack, struct buf *out,
                               struct err *e);
/* The closing comment: the type's closing message, else the default. */
enum err_status map_render_close(const struct cfg *c, const struct record_close *cl,
                                 struct buf *out, struct err *e);
/* The description and comment texts (not escaped), under the line rule
 * above; c may be NULL (the defaults).  ERR_PERM for a template that does
 * not pass text_template_check_kind, ERR_TEMP on memory. */
enum err_status map_render_description(const struct cfg *c, const struct record_issue *is,
                                       struct buf *out, struct err *e);
enum err_status map_render_comment(const struct cfg *c, const struct record_comment *cm,
                                   struct buf *out, struct err *e);

#endif
