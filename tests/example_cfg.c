/*
 * example_cfg.c: see example_cfg.h.
 */
#include "example_cfg.h"

#include <stdio.h>
#include <stdlib.h>

struct cfg *example_cfg_load(enum cfg_half half)
{
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct cfg *c = NULL;
	struct err e;

	err_clear(&e); /* cfg_example says nothing of why */
	if (cfg_example(half, &b) != ERR_OK ||
	    cfg_load_mem(b.data, b.len, "example", CFG_NO_FILE_CHECKS, &c, &e) != ERR_OK) {
		fprintf(stderr, "the example %s configuration does not load: %s\n",
		        cfg_half_name(half), e.msg);
		abort();
	}
	buf_release(&b);
	return c;
}

const struct cfg *example_cfg_once(enum cfg_half half)
{
	static struct cfg *kept[2];
	int i = half == CFG_HALF_OMS;

	if (!kept[i])
		kept[i] = example_cfg_load(half);
	return kept[i];
}
