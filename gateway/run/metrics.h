/*
 * metrics.h: the Prometheus text-format file each half rewrites after
 * every pass, for node_exporter's textfile collector (no listening port:
 * the DMZ host serves nothing).
 *
 * Contract
 *   - A struct metrics collects families in the order they are begun:
 *     metrics_family() writes the "# HELP" and "# TYPE" lines of one
 *     family, metrics_sample() one sample line of the family begun last
 *     (labels: "" or 'k="v",k2="v2"' without braces, values escaped by
 *     the caller with metrics_label_escape when they come from outside).
 *     Names are the caller's: scfgate_ prefix, base units (_seconds),
 *     counters end in _total (Prometheus naming conventions).
 *   - metrics_add_queue(), metrics_add_http(), metrics_add_health() add the
 *     families both halves share (queue depths and ages, API calls by
 *     status class, the last attempt and success of each kind of work).
 *     metrics_add_queue() scans the queue's directories (spool_stats).
 *   - metrics_write() replaces path atomically: a temporary file in the
 *     same directory (".<name>.<pid>.tmp", which the textfile collector
 *     ignores: it reads *.prom only), written, fsync'd, mode 0644, then
 *     renamed over path.  A reader sees the old file or the new one,
 *     never a part.  Errors: ERR_TEMP with the path and strerror.
 *   - Counters of records and API calls count since the process started
 *     (scfgate_start_time_seconds says when); Prometheus' rate() and
 *     increase() handle the reset a restart makes.  The times of the last
 *     attempt and success per kind come from the half's health record
 *     (health.h), which outlives restarts.
 *   - Nothing here prints or exits.
 */
#ifndef SCFGATE_METRICS_H
#define SCFGATE_METRICS_H

#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "health.h"
#include "http.h"

struct metrics {
	struct buf b;
	int failed; /* out of memory while building */
};

void metrics_init(struct metrics *m);
void metrics_release(struct metrics *m);

/* type: "counter" or "gauge". */
void metrics_family(struct metrics *m, const char *name, const char *type, const char *help);
void metrics_sample(struct metrics *m, const char *name, const char *labels, double value);
/* A label value escaped for the text format (\\, \" and \n) into out. */
void metrics_label_escape(const char *in, char *out, size_t size);

/* The queue families for the queues in order (depth per sub-directory,
 * oldest waiting age, gap, files that are not records). */
void metrics_add_queues(struct metrics *m, const char *root, const char *const *queues,
                        size_t nqueues, unsigned gap_alarm_seconds, time_t now);
/* API transfers by status class for one service ("seeclickfix",
 * "cartegraph"). */
void metrics_add_http(struct metrics *m, const char *service, const struct http_stats *hs);
/* Last attempt, last success, failing flag and duration of each kind the
 * half records. */
void metrics_add_health(struct metrics *m, const struct health *h, int oms_half, time_t now);
/* The same families for the given kinds (`scfgate transfer`: pull, push). */
void metrics_add_health_kinds(struct metrics *m, const struct health *h,
                              const enum health_kind *kinds, size_t n, time_t now);

/* The file another process of the same configuration writes next to the
 * half's textfile: "DIR/NAME.prom" -> "DIR/NAME-WHAT.prom" (a name without
 * .prom gets "-WHAT.prom" appended).  0, or -1 when out is too small.
 * `scfgate transfer` writes metrics_sibling_path(textfile, "transfer"). */
int metrics_sibling_path(const char *textfile, const char *what, char *out, size_t size);

enum err_status metrics_write(const char *path, const struct metrics *m, struct err *e);

#endif
