/*
 * find.h: the inspection scan `scfgate find` and `scfgate report` share:
 * every record of both queues of a spool root, decoded.
 *
 * Contract
 *   - find_scan() walks the queues "outbound" then "inbound" of root, in
 *     each the sub-directories new, cur, hold, failed, dismissed, done,
 *     each in sequence order
 *     (spool_list), and calls fn for every record file there.
 *   - A record is decoded without verifying its signature (this is
 *     inspection, on a host that may not hold the other half's key):
 *     never act on it.  A name that is not a record name, a file that
 *     cannot be read or decoded, is passed over silently.
 *   - A queue whose directory does not exist is skipped (a host that
 *     never received anything has no inbound/).
 *   - fn gets the queue's name (a static string), the directory entry
 *     and the record, which it must not keep: it is freed when fn
 *     returns.  fn returning non-zero stops the whole scan (ERR_OK): the
 *     caller says why (out of memory, enough found).
 *   - Errors: what spool_list reports for a directory that cannot be
 *     listed.  Nothing here prints.
 *   - find_collect() is find_scan() gathering what both commands show of
 *     a record (struct find_hit) into a growing array, keeping the hits
 *     keep() accepts; it appends to what out holds already (set out->n to
 *     0 to scan again into the same array).  ERR_TEMP "out of memory"
 *     when the array cannot grow (the hits gathered so far stay in out).
 *     find_hits_release() frees the array.
 */
#ifndef SCFGATE_FIND_H
#define SCFGATE_FIND_H

#include <stdint.h>

#include "err.h"
#include "record.h"
#include "spool.h"

typedef int (*find_record_fn)(const char *queue, const struct spool_entry *ent,
                              const struct record *r, void *ctx);

enum err_status find_scan(const char *root, find_record_fn fn, void *ctx, struct err *e);

/* What `find` and `report` show of one record. */
struct find_hit {
	const char *queue; /* "outbound" or "inbound" */
	enum spool_dir dir;
	char name[256];
	uint64_t seq;
	enum record_kind kind;
	int64_t issue;     /* record_issue_id(): 0 when the record names none */
	int64_t mtime;     /* the file's */
	char created[40];  /* the record's created time */
	int64_t oid;       /* ack, close */
	char request[128]; /* ack, close: the IDField */
	char when[64];     /* ack: accepted_at; close: closed_at */
	char detail[160];  /* close: status; comment: id; attachment: url; issue: type, status */
};

struct find_hits {
	struct find_hit *v;
	size_t n, cap;
};

/* 1 to keep h; ctx is find_collect's. */
typedef int (*find_keep_fn)(const struct find_hit *h, void *ctx);

enum err_status find_collect(const char *root, find_keep_fn keep, void *ctx, struct find_hits *out,
                             struct err *e);
void find_hits_release(struct find_hits *h);

/* The words for the letter the SCF half keeps of an issue's last read
 * status (scf_known.c: O, A, C, X, W, R); "unknown" for any other. */
const char *find_scf_status_word(char letter);

#endif
