/*
 * report.h: `scfgate report`, one self-contained page (or one JSON
 * document) that shows a half at a glance: its verdict, its queues over
 * time, its failures, its last reconciliation and the life of chosen
 * issues.
 *
 * Contract
 *   - report_collect() builds the data, as one JSON document in d (a
 *     fresh jdoc), from what this host has, read without a lock like
 *     `scfgate status` (safe while the half runs):
 *       "status": the document of `scfgate status --json`
 *         (status_collect, status_render_json): the verdict, the queues,
 *         failed and held records with their reasons, the stuck notes;
 *       "history": the half's queue samples (history.h);
 *       "reconciliation": the half's last reconciliation result,
 *         STATE_DIR/reconcile/last.json, read through the spool's safe read
 *         (at most REPORT_RECONCILE_MAX bytes) and copied member by member
 *         with its types checked: a member of the wrong type becomes null,
 *         unknown members are left out, strings are cut at
 *         REPORT_STRING_MAX bytes, at most REPORT_FINDINGS_MAX findings are
 *         kept ("findings_total" says how many there were); null when
 *         there is none, with "reconciliation_error" saying why when one
 *         is there but cannot be read;
 *       "issues": for each id asked for, what `scfgate find` shows (the
 *         records of the issue in both queues, the half's state of it, the
 *         Cartegraph request) and its timeline: fetched (the issue
 *         record's created time), forwarded (the ack record's accepted_at:
 *         the request was created in Cartegraph), acknowledged and closed
 *         (the time the ack or close record was written back to
 *         SeeClickFix, on the SCF host: when it reached inbound/done; else
 *         when the OMS half committed it), each null when unknown here.
 *     Every string is as found (records and state may hold anything):
 *     the renderer escapes.
 *   - report_render_html() renders such a document as one HTML page:
 *     UTF-8, no script, no external resource (a Content-Security-Policy
 *     with default-src 'none' and the hash of its own style element), the
 *     chart inline SVG.  Every value is escaped for its context
 *     (report_html_escape); a link is made only of an http or https URL
 *     (report_url_ok), anything else is shown as text.
 *   - No function prints.
 */
#ifndef SCFGATE_REPORT_H
#define SCFGATE_REPORT_H

#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"
#include "jdoc.h"

#define REPORT_ISSUES_MAX    50                         /* --issue ids */
#define REPORT_RECONCILE_MAX ((size_t)64 * 1024 * 1024) /* bytes of last.json */
#define REPORT_FINDINGS_MAX  5000                       /* findings shown */
#define REPORT_STRING_MAX    2048                       /* bytes of one string */

/* The members "reconciliation" and "reconciliation_error" of parent from
 * the text of a result file, as report_collect() adds them (for the fuzz
 * target of that copy). */
void report_add_reconciliation(struct jdoc *d, cJSON *parent, const char *text, size_t len);

/* now: the reference time (0: time(NULL)). */
enum err_status report_collect(const struct cfg *c, const int64_t *issues, size_t n_issues,
                               time_t now, struct jdoc *d, struct err *e);

enum err_status report_render_html(const cJSON *doc, struct buf *out, struct err *e);

/* Append s to out escaped for HTML text and for a quoted attribute: & < >
 * " ' as character references; invalid UTF-8 and control characters
 * (other than tab and newline) as U+FFFD. */
enum err_status report_html_escape(struct buf *out, const char *s);

/* 1 when url may be a link: it begins with http:// or https:// (any
 * case), has a host, and is printable ASCII without space, quote, angle
 * bracket or backslash. */
int report_url_ok(const char *url);

#endif
