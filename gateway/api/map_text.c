/*
 * map_text.c: the texts scfgate writes (descriptions, notes,
 * acknowledgment and closing messages) from records and the configuration,
 * rendered with the template language of text.h.
 */
#include <inttypes.h>
#include <stdio.h>

#include "map.h"

enum err_status map_render_description(const struct cfg *c, const struct record_issue *is,
                                       struct buf *out, struct err *e)
{
	const struct cfg_request_type *rt = cfg_request_type(c, is->request_type_id);
	const char *tmpl =
	    c && c->cg.description_template ? c->cg.description_template : TEXT_DESCRIPTION_DEFAULT;
	struct buf qs = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	char issue[24];
	const char *values[9];
	enum err_status st = ERR_OK;

	for (size_t i = 0; st == ERR_OK && i < is->n_questions; i++) {
		const struct record_qa *qa = &is->questions[i];
		st = buf_addf(&qs, "%s%s: %s", qs.len ? "\n" : "", qa->question ? qa->question : "",
		              qa->answer ? qa->answer : "");
	}
	if (st != ERR_OK) {
		buf_release(&qs);
		return err_set(e, st, "out of memory rendering a description");
	}
	snprintf(issue, sizeof(issue), "%" PRId64, is->issue_id);
	values[0] = is->summary;
	values[1] = is->description;
	values[2] = buf_str(&qs);
	values[3] = is->address;
	values[4] = issue;
	values[5] = is->reporter_name;
	/* the configured title, as the messages' {request_type}; else SCF's */
	values[6] = rt && rt->title && *rt->title ? rt->title : is->request_type_title;
	values[7] = is->created_at;
	values[8] = is->html_url;
	st = text_render_lines(tmpl, TEXT_TEMPLATE_DESCRIPTION, values, out, e);
	buf_release(&qs);
	return st;
}

enum err_status map_render_comment(const struct cfg *c, const struct record_comment *cm,
                                   struct buf *out, struct err *e)
{
	const char *tmpl =
	    c && c->cg.comment_template ? c->cg.comment_template : TEXT_COMMENT_DEFAULT;
	char issue[24];
	const char *values[5];

	snprintf(issue, sizeof(issue), "%" PRId64, cm->issue_id);
	values[0] = cm->created_at;
	values[1] = cm->commenter_name ? cm->commenter_name : "SeeClickFix user";
	values[2] = cm->text;
	values[3] = cm->comment_id;
	values[4] = issue;
	return text_render_lines(tmpl, TEXT_TEMPLATE_COMMENT, values, out, e);
}

enum err_status map_render_ack(const struct cfg *c, const struct record_ack *ack, struct buf *out,
                               struct err *e)
{
	const struct cfg_request_type *rt = cfg_request_type(c, ack->request_type_id);
	struct text_vars v = {ack->request_id, ack->oid, ack->issue_id,
	                      ack->request_type_title ? ack->request_type_title
	                      : rt                    ? rt->title
	                                              : NULL};
	return text_render(rt && rt->ack_message ? rt->ack_message : c->messages.ack, &v, out, e);
}

enum err_status map_render_close(const struct cfg *c, const struct record_close *cl,
                                 struct buf *out, struct err *e)
{
	const struct cfg_request_type *rt = cfg_request_type(c, cl->request_type_id);
	const char *tmpl = rt && rt->closing_message ? rt->closing_message : c->messages.closing;
	struct text_vars v = {cl->request_id, cl->oid, cl->issue_id,
	                      cl->request_type_title ? cl->request_type_title
	                      : rt                   ? rt->title
	                                             : NULL};
	return text_render(tmpl, &v, out, e);
}
