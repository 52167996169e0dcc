/*
 * fuzz_scf_issue.c: the SCF issue mapper (bytes -> issue record), and
 * everything downstream of an accepted issue: the Cartegraph create body,
 * the per-comment records and notes, the attachment records.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cfg.h"
#include "example_cfg.h"
#include "map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cfg *c = example_cfg_once(CFG_HALF_OMS);
	struct record *r = NULL, *x = NULL;
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	if (map_scf_issue((const char *)data, size, c, &r, &e) != ERR_OK)
		return 0;
	/* an unmapped type is refused cleanly; map it to exercise the body */
	r->u.issue.request_type_id = 14550;
	if (map_cg_create_body(c, &r->u.issue, &b, &e) != ERR_OK)
		abort();
	for (size_t i = 0; i < r->u.issue.n_comments; i++) {
		struct record_comment *cm = &r->u.issue.comments[i];
		if (map_comment_record(cm, &x, &e) == ERR_OK)
			record_free(x);
		buf_reset(&b);
		map_cg_notes_body(c, 1, "old notes", cm, &b, &e);
		if (cm->media_url && map_attachment_record(cm->issue_id, cm->comment_id,
		                                           cm->media_url, &x, &e) == ERR_OK)
			record_free(x);
	}
	if (r->u.issue.media_url && map_attachment_record(r->u.issue.issue_id, NULL,
	                                                  r->u.issue.media_url, &x, &e) == ERR_OK)
		record_free(x);
	buf_release(&b);
	record_free(r);
	return 0;
}
