/*
 * bundle_int.h: shared by the bundle*.c files; not an interface for other
 * modules (they use bundle.h).
 */
#ifndef SCFGATE_BUNDLE_INT_H
#define SCFGATE_BUNDLE_INT_H

#include <stdint.h>

#include "bundle.h"

#define BUNDLE_MANIFEST_NAME "manifest.xml"
#define BUNDLE_SIG_NAME      "manifest.sig"
/* The exact start of every manifest: with it no DOCTYPE can come first. */
#define BUNDLE_MANIFEST_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<manifest "

/* What the manifest is compared with: one compact row per record entry. */
struct bundle_row {
	uint64_t seq;
	unsigned char sha[32];
	uint32_t size;     /* entries are capped far below 4 GiB */
	uint16_t producer; /* index into producers */
};

struct bundle_table {
	struct bundle_row *rows;
	size_t n, alloc;
	char (*producers)[RECORD_PRODUCER_MAX + 1];
	size_t n_producers;
};

void bundle_table_release(struct bundle_table *t);
/* The file name of row i. */
void bundle_table_name(const struct bundle_table *t, size_t i, char out[RECORD_NAME_MAX]);

/*
 * The reader behind bundle_read_file/mem.  expect: the table a previous
 * full read verified; every record entry must match it row by row.
 * out (may be NULL): receives the table of this read.  path is opened
 * with bundle_open (no link followed, regular files only) once for all
 * its passes; with path NULL, mem is read.
 */
enum err_status bundle_read_src(const char *path, const void *mem, size_t len,
                                const struct bundle_read_opts *o, const struct bundle_table *expect,
                                struct bundle_table *out, struct bundle_info *info, struct err *e);
/* The same on an open file (read from its start each pass, not closed);
 * name names it in messages. */
enum err_status bundle_read_fd_src(int fd, const char *name, const struct bundle_read_opts *o,
                                   const struct bundle_table *expect, struct bundle_table *out,
                                   struct bundle_info *info, struct err *e);

/* The text manifest.sig signs: "scfgate-bundle-manifest 1 sha256=HEX\n". */
void bundle_sig_statement(const char sha_hex[65], char out[128]);

/* "NAME" made printable and short for error messages. */
void bundle_safe_name(const char *name, char out[96]);

#endif
