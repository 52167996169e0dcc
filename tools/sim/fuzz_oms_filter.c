/*
 * fuzz_oms_filter.c: fuzz target for the Cartegraph filter parser of
 * oms-sim (parse, evaluate against a sample record, free).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oms-filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *resolve(void *ctx, const char *name)
{
	static const char *const fields[] = {"StatusField", "IDField", "Oid", "LinkedField",
	                                     "cgLastModifiedField"};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strncasecmp(fields[i], name, strlen(name)) == 0)
			return fields[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cJSON *rec;
	struct omsf_node *n = NULL;
	char why[200];
	char *text;

	if (!rec)
		rec = cJSON_Parse(
		    "{\"Oid\":7,\"IDField\":\"SR-000007\",\"StatusField\":\"Open\","
		    "\"LinkedField\":true,\"cgLastModifiedField\":\"2026-02-10T08:15:19\"}");
	if (size > 8192)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (omsf_parse(text, resolve, NULL, &n, why, sizeof(why)) == 0)
		(void)omsf_eval(n, rec, -300);
	omsf_free(n);
	free(text);
	return 0;
}
