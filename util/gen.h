/*
 * gen.h: numbered generations of a state file.
 *
 * The SCF half's state and the OMS half's status are written as whole
 * files "PREFIX<number>" (a new number each time, old ones removed after);
 * a reader takes the newest complete one.  gen_list finds those numbers.
 */
#ifndef SCFGATE_GEN_H
#define SCFGATE_GEN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The cap highest generations in dir, highest first, into gens; returns
 * how many (0 when dir cannot be read).  A name counts when it is prefix
 * followed by decimal digits only, and the number is above 0; anything
 * else (tmp files, editor copies) is ignored.  With more than cap files
 * the lowest are left out, never the highest.
 */
size_t gen_list(const char *dir, const char *prefix, uint64_t *gens, size_t cap);

#endif
