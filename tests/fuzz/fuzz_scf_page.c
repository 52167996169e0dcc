/*
 * fuzz_scf_page.c: scf_page_parse (one SCF list page) on arbitrary bytes,
 * then every issue object through the same walk the fetch makes (ids,
 * timestamps, map_scf_issue_cjson, comments through map_scf_comment_cjson).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "scf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *doc = NULL;
	const cJSON *issues = NULL, *it;
	unsigned next = 0;
	struct err e;
	enum err_status st;

	err_clear(&e);
	st = scf_page_parse((const char *)data, size, 3, &doc, &issues, &next, &e);
	/* Invariants: success gives a document and an array, failure neither
	 * and one line; next is 0 or the following page. */
	if ((st == ERR_OK) != (doc != NULL) || (st == ERR_OK && !cJSON_IsArray(issues)) ||
	    (next != 0 && next != 4) || strchr(e.msg, '\n'))
		abort();
	cJSON_ArrayForEach(it, issues)
	{
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "updated_at"), *c;
		struct record *r = NULL;

		if (cJSON_IsString(u))
			(void)scf_time_parse(u->valuestring);
		if (map_scf_issue_cjson(it, NULL, &r, &e) == ERR_OK && !r)
			abort();
		record_free(r);
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(it, "comments"))
		{
			if (map_scf_comment_cjson(c, 1, NULL, &r, &e) == ERR_OK && !r)
				abort();
			record_free(r);
			r = NULL;
		}
	}
	cJSON_Delete(doc);
	return 0;
}
