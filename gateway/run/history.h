/*
 * history.h: a small, bounded record of each half's queues over time, for
 * the chart of `scfgate report`.
 *
 * Each half appends a sample (when, and for each queue the records
 * waiting in new/ and the age of the oldest of them) to its state
 * directory at most every HISTORY_EVERY seconds.  The file keeps the
 * newest HISTORY_MAX samples (a week at that spacing); older ones are
 * dropped, so it never grows past a few tens of KiB.
 *
 * Contract
 *   - The file is STATE_DIR/history.<generation>, written whole through
 *     STATE_DIR/tmp with spool_write_atomic (never torn), older
 *     generations removed after, like the health record (health.h).
 *   - Format, text: the line "scfgate-history 1", then one line per
 *     sample, oldest first: "AT OUT_WAITING OUT_OLDEST IN_WAITING
 *     IN_OLDEST", decimal, AT in epoch seconds, OLDEST the age in
 *     seconds of the oldest record waiting in that queue's new/ (0 when
 *     none waits).  Every number is at most HISTORY_NUM_MAX.
 *   - history_parse() reads that text as untrusted: a file that does not
 *     begin with the magic line is refused (ERR_PERM); a line that is not
 *     five such numbers, or whose time is not after the previous
 *     sample's, is skipped and counted in h->skipped.  At most
 *     HISTORY_MAX samples are kept (the newest).
 *   - history_load() reads the newest generation through the spool's safe
 *     read (no link followed, no FIFO opened, at most HISTORY_FILE_MAX
 *     bytes); none there: *present = 0 and no sample.  It takes no lock:
 *     the half is the only writer.
 *   - history_append() loads, adds one sample (dropping the oldest beyond
 *     HISTORY_MAX, and any sample not before the new one), and saves.
 *   - history_sample() appends a sample of both queues of c's spool root
 *     (spool_stats) to c's half's state directory, unless the newest
 *     generation was written less than HISTORY_EVERY seconds before now
 *     (then it does nothing and returns ERR_OK).
 *   - history_tick() is what a half's loop calls: history_sample() at
 *     time(NULL), a failure logged as a warning (the history is not worth
 *     stopping a half for).  Nothing else here prints.
 */
#ifndef SCFGATE_HISTORY_H
#define SCFGATE_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cfg.h"
#include "err.h"

#define HISTORY_EVERY    300                  /* seconds between samples, at least */
#define HISTORY_MAX      2016                 /* samples kept: a week at HISTORY_EVERY */
#define HISTORY_FILE_MAX ((size_t)256 * 1024) /* a larger file is not a history */
#define HISTORY_NUM_MAX  4000000000000LL      /* any larger number is not a sample */
#define HISTORY_MAGIC    "scfgate-history 1"

enum history_queue { HISTORY_OUTBOUND, HISTORY_INBOUND, HISTORY_QUEUES };

struct history_sample {
	int64_t at;                      /* epoch seconds */
	int64_t waiting[HISTORY_QUEUES]; /* records in new/ */
	int64_t oldest[HISTORY_QUEUES];  /* age in seconds of the oldest of them; 0: none */
};

struct history {
	size_t n;       /* samples, oldest first */
	size_t skipped; /* lines that were not samples */
	struct history_sample s[HISTORY_MAX];
};

/* "outbound", "inbound". */
const char *history_queue_name(enum history_queue q);

enum err_status history_parse(const char *text, size_t len, struct history *h, struct err *e);
enum err_status history_load(const char *state_dir, struct history *h, int *present, struct err *e);
enum err_status history_append(const char *state_dir, const struct history_sample *s,
                               struct err *e);
enum err_status history_sample(const struct cfg *c, time_t now, struct err *e);
void history_tick(const struct cfg *c);

#endif
