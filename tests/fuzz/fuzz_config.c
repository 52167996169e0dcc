/*
 * fuzz_config.c: the configuration parser from memory (XML, XSD, semantic
 * checks, defaults), then both descriptions of whatever loaded.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *c = NULL;
	struct err e;
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);

	if (cfg_load_mem((const char *)data, size, "<fuzz>", CFG_NO_FILE_CHECKS, &c, &e) ==
	    ERR_OK) {
		cfg_describe(c, &b);
		cfg_describe_json(c, &b);
		cfg_free(c);
	}
	buf_release(&b);
	/* the same bytes as a spreadsheet export */
	cfg_csv_to_xml((const char *)data, size, "<fuzz>", &b, &e);
	buf_release(&b);
	return 0;
}
