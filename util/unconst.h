/*
 * unconst.h: drop const from a pointer on purpose, where -Wcast-qual
 * would otherwise reject the cast.
 *
 * Contract
 *   UNCONST(p) is p as a plain void *.  Use it only to hand a pointer
 *   to an interface that is declared without const but only reads
 *   through it (execv's argv, a borrowed string in a struct whose other
 *   uses own their strings, a callback context).  Writing through the
 *   result of UNCONST on a string literal is undefined behaviour; every
 *   use says who reads the pointer.
 *
 *   A plain (char *) cast does the same but is indistinguishable from a
 *   mistake; this one is greppable and passes -Wcast-qual.
 */
#ifndef SCFGATE_UNCONST_H
#define SCFGATE_UNCONST_H

#include <stdint.h>

#define UNCONST(p) ((void *)(uintptr_t)(const void *)(p))

#endif
