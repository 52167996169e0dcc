/*
 * fuzz_cg_reply.c: what the OMS half reads from Cartegraph, on arbitrary
 * bytes: a create reply (map_cg_created), one request row
 * (map_cg_request), a query envelope as the poll and the lookup walk it
 * (every row through map_cg_request_cjson, then the ack and close records
 * a row can become), and the text of a row's comment field (the comment
 * route's field) through the read-modify-write of a comment
 * (map_cg_notes_have, map_cg_notes_body).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "example_cfg.h"
#include "map.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An accepted row becomes an ack and, when closed, a close record. */
static void to_records(const struct cfg *c, const struct map_cg_request *rq)
{
	const struct cfg_request_type *rt = cfg_request_type(c, 14550);
	struct record *r = NULL;
	struct err e;

	if (map_ack_record(rq->external_id ? rq->external_id : 1, rq, rt, "2026-11-27T10:00:00Z",
	                   &r, &e) == ERR_OK)
		record_free(r);
	if (rq->closed && map_close_record(1, rq, rt, NULL, &r, &e) == ERR_OK)
		record_free(r);
}

/* Existing notes from Cartegraph, and a comment appended to them. */
static void notes(const struct cfg *c, const char *text)
{
	static char id[] = "4242", when[] = "2026-11-27T10:00:00Z", who[] = "Resident",
	            said[] = "A resident's comment <b>with</b> markup & more";
	struct record_comment cm = {.issue_id = 1,
	                            .comment_id = id,
	                            .created_at = when,
	                            .commenter_name = who,
	                            .text = said};
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct err e;

	if (!map_cg_notes_have(text, cm.comment_id))
		map_cg_notes_body(c, 9, text, &cm, &b, &e);
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cfg *c = example_cfg_once(CFG_HALF_OMS);
	const char *json = (const char *)data;
	struct map_cg_request rq;
	const cJSON *rows, *row;
	struct err e;
	cJSON *root;
	char *text;

	if (map_cg_created(c, json, size, &rq, &e) == ERR_OK) {
		to_records(c, &rq);
		map_cg_request_clear(&rq);
	}
	if (map_cg_request(c, json, size, &rq, &e) == ERR_OK) {
		to_records(c, &rq);
		map_cg_request_clear(&rq);
	}
	root = cJSON_ParseWithLength(json, size);
	rows = cJSON_GetObjectItemCaseSensitive(root, c->cg.request_class);
	if (!cJSON_IsArray(rows))
		rows = NULL;
	cJSON_ArrayForEach(row, rows)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(row, c->cg.comment_field);

		if (map_cg_request_cjson(c, row, &rq, &e) == ERR_OK) {
			to_records(c, &rq);
			map_cg_request_clear(&rq);
		}
		if (cJSON_IsString(n))
			notes(c, n->valuestring);
	}
	cJSON_Delete(root);
	/* the bytes as notes text, as far as the first NUL */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	notes(c, text);
	free(text);
	return 0;
}
