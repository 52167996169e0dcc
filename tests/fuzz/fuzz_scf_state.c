/*
 * fuzz_scf_state.c: scf_state_parse (one generation of the SCF half's
 * state file) on arbitrary bytes.  A parsed state must answer for every
 * key it holds, in order.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scf_state *s = NULL;
	struct err e;
	enum err_status st;

	err_clear(&e);
	st = scf_state_parse((const char *)data, size, &s, &e);
	if ((st == ERR_OK) != (s != NULL) || strchr(e.msg, '\n'))
		abort();
	if (s) {
		(void)scf_state_get(s, "issue/1");
		scf_state_forget_issue(s, 1);
		if (scf_state_put(s, "issue/1", "W") != ERR_OK ||
		    strcmp(scf_state_get(s, "issue/1"), "W") != 0)
			abort();
		if (scf_state_save(s, &e) != ERR_PERM)
			abort();
	}
	scf_state_free(s);
	return 0;
}
