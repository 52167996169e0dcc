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
 */
#ifndef SCFGATE_FIND_H
#define SCFGATE_FIND_H

#include "err.h"
#include "record.h"
#include "spool.h"

typedef int (*find_record_fn)(const char *queue, const struct spool_entry *ent,
                              const struct record *r, void *ctx);

enum err_status find_scan(const char *root, find_record_fn fn, void *ctx, struct err *e);

#endif
