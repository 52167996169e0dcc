/*
 * fuzz_cg_meta.c: a class meta response from Cartegraph, on arbitrary
 * bytes: parsed into a set (cg_meta_add), every lookup and suggestion a
 * check makes, the example configuration's field map checked against it
 * (cg_check_fields), and the set written back and read again (the cache)
 * with the same answers.  The bytes are also read as a 400 body
 * (cg_check_unknown_field).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cg_check.h"
#include "cg_meta.h"
#include "example_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct cg_meta *m, const struct cfg *c)
{
	const char *names[] = {"cgRequestsClass", "cgRequests_cgAttachmentsClass", "A", ""};
	const char *out[CG_META_SUGGEST_MAX];
	struct buf b = BUF_INIT_CAP(1 << 20);
	size_t n;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t nc = cg_meta_n_children(m, names[i]);
		for (size_t k = 0; k <= nc; k++)
			(void)cg_meta_has_child(m, names[i], cg_meta_child(m, names[i], k));
		(void)cg_meta_prop(m, names[i], "IssueField");
		(void)cg_meta_suggest(m, names[i], "DepartmentFeild", out);
		(void)cg_meta_suggest(m, names[i], "", out);
	}
	(void)cg_check_fields(c, m, &b, &n);
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cfg *c = example_cfg_once(CFG_HALF_OMS);
	struct cg_meta *m = NULL, *back = NULL;
	struct buf b = BUF_INIT_CAP(CG_META_MAX_BYTES * 2);
	char name[CG_META_NAME_MAX + 1];
	struct err e;

	(void)cg_check_unknown_field((const char *)data, size, name, sizeof(name));
	if (cg_meta_new(&m, &e) != ERR_OK)
		return 0;
	if (cg_meta_add(m, (const char *)data, size, &e) == ERR_OK) {
		probe(m, c);
		if (cg_meta_json(m, &b) == ERR_OK && cg_meta_new(&back, &e) == ERR_OK) {
			/* what was accepted once is accepted again */
			if (cg_meta_add(back, buf_str(&b), b.len, &e) != ERR_OK)
				abort();
			if (cg_meta_has_class(m, c->cg.request_class) !=
			    cg_meta_has_class(back, c->cg.request_class))
				abort();
			probe(back, c);
		}
	}
	cg_meta_free(back);
	cg_meta_free(m);
	buf_release(&b);
	return 0;
}
