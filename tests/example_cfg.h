/*
 * example_cfg.h: the commented example configuration (cfg_example) of a
 * half, loaded as the tests and fuzz targets use it: no file checks, so
 * the key and credential paths in it need not exist.
 */
#ifndef SCFGATE_TEST_EXAMPLE_CFG_H
#define SCFGATE_TEST_EXAMPLE_CFG_H

#include "cfg.h"

/* A new configuration (cfg_free it); aborts if the example does not load,
 * which is a bug in cfg_example, not in the test. */
struct cfg *example_cfg_load(enum cfg_half half);

/* The same, loaded once per half and kept for the life of the process
 * (fuzz targets, which run the same configuration millions of times). */
const struct cfg *example_cfg_once(enum cfg_half half);

#endif
