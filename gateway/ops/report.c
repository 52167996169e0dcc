/*
 * report.c: the data of `scfgate report` (see report.h); report_html.c
 * renders it.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "find.h"
#include "history.h"
#include "oms.h"
#include "record.h"
#include "report.h"
#include "scf.h"
#include "spool.h"
#include "status.h"
#include "when.h"

/* ---- status and history ------------------------------------------------- */

static enum err_status add_status(const struct cfg *c, time_t now, struct jdoc *d, cJSON *root,
                                  struct err *e)
{
	struct status_report *r = NULL;
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	enum err_status s;
	cJSON *j;

	s = status_collect(c, now, &r, e);
	if (s != ERR_OK)
		return s;
	s = status_render_json(r, &b);
	status_free(r);
	if (s != ERR_OK) {
		buf_release(&b);
		return err_set(e, s, "cannot render the status (out of memory)");
	}
	j = cJSON_ParseWithLength(b.data, b.len);
	buf_release(&b);
	if (!j)
		return err_set(e, ERR_TEMP, "cannot read back the status (out of memory)");
	jdoc_add(d, root, "status", j);
	return ERR_OK;
}

static void add_history(const struct cfg *c, struct jdoc *d, cJSON *root)
{
	struct history *h = calloc(1, sizeof(*h));
	char dir[SPOOL_PATH_MAX + 16];
	cJSON *o = jdoc_object(d, root, "history"), *a;
	struct err e;
	int present = 0;

	jdoc_number(d, o, "every_seconds", HISTORY_EVERY);
	if (!h) {
		d->failed = 1;
		return;
	}
	snprintf(dir, sizeof(dir), "%s/state/%s", c->spool.root, cfg_half_name(c->half));
	err_clear(&e);
	if (history_load(dir, h, &present, &e) != ERR_OK)
		jdoc_string(d, o, "error", e.msg);
	else
		jdoc_null(d, o, "error");
	jdoc_number(d, o, "skipped", (double)h->skipped);
	a = jdoc_array(d, o, "samples");
	for (size_t i = 0; i < h->n; i++) {
		cJSON *s = jdoc_object(d, a, NULL);
		char when[32];

		when_utc(h->s[i].at, when);
		jdoc_number(d, s, "at", (double)h->s[i].at);
		jdoc_string(d, s, "time", when);
		for (int q = 0; q < HISTORY_QUEUES; q++) {
			cJSON *qo = jdoc_object(d, s, history_queue_name((enum history_queue)q));

			jdoc_number(d, qo, "waiting", (double)h->s[i].waiting[q]);
			jdoc_number(d, qo, "oldest_seconds", (double)h->s[i].oldest[q]);
		}
	}
	free(h);
}

/* ---- the reconciliation, copied with its types checked ------------------ */

static void copy_str(struct jdoc *d, cJSON *dst, const char *key, const cJSON *src)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
	char cut[REPORT_STRING_MAX + 1];

	if (!cJSON_IsString(v) || !v->valuestring) {
		jdoc_null(d, dst, key);
		return;
	}
	snprintf(cut, sizeof(cut), "%s", v->valuestring);
	jdoc_string(d, dst, key, cut);
}

/* Counts and ids: whole numbers a double holds exactly. */
static int whole(const cJSON *v, double *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 9007199254740992.0)
		return 0;
	*out = v->valuedouble;
	return 1;
}

static void copy_num(struct jdoc *d, cJSON *dst, const char *key, const cJSON *src)
{
	double v;

	if (whole(cJSON_GetObjectItemCaseSensitive(src, key), &v))
		jdoc_number(d, dst, key, v);
	else
		jdoc_null(d, dst, key);
}

static const char *const classes[] = {"in-sync", "missing", "missed-close",
                                      "orphan",  "drift",   "duplicate"};

static void copy_reconciliation(struct jdoc *d, cJSON *dst, const cJSON *src)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(src, "window");
	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(src, "classes");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(src, "findings");
	const cJSON *rp = cJSON_GetObjectItemCaseSensitive(src, "repairs");
	const cJSON *x;
	cJSON *o, *a;
	size_t n = 0;

	copy_str(d, dst, "census_id", src);
	copy_str(d, dst, "completed_at", src);
	o = jdoc_object(d, dst, "window");
	copy_str(d, o, "from", cJSON_IsObject(w) ? w : NULL);
	copy_str(d, o, "to", cJSON_IsObject(w) ? w : NULL);
	copy_str(d, dst, "id_field", src);
	copy_str(d, dst, "scf_base_url", src);
	copy_num(d, dst, "issues", src);
	copy_num(d, dst, "requests", src);
	o = jdoc_object(d, dst, "classes");
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		copy_num(d, o, classes[i], cJSON_IsObject(cl) ? cl : NULL);
	a = jdoc_array(d, dst, "findings");
	cJSON_ArrayForEach(x, (cJSON_IsArray(f) ? f : NULL))
	{
		cJSON *fo;

		if (!cJSON_IsObject(x))
			continue;
		if (n++ >= REPORT_FINDINGS_MAX)
			continue;
		fo = jdoc_object(d, a, NULL);
		copy_str(d, fo, "class", x);
		copy_num(d, fo, "issue_id", x);
		copy_str(d, fo, "html_url", x);
		copy_str(d, fo, "scf_status", x);
		copy_num(d, fo, "request_type_id", x);
		copy_num(d, fo, "oid", x);
		copy_str(d, fo, "request_id", x);
		copy_str(d, fo, "oms_status", x);
		copy_str(d, fo, "detail", x);
	}
	jdoc_number(d, dst, "findings_total", (double)n);
	a = jdoc_array(d, dst, "repairs");
	n = 0;
	cJSON_ArrayForEach(x, (cJSON_IsArray(rp) ? rp : NULL))
	{
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(x, "issue_ids"), *id;
		cJSON *ro, *ia;
		size_t k = 0;

		if (!cJSON_IsObject(x) || n++ >= REPORT_FINDINGS_MAX)
			continue;
		ro = jdoc_object(d, a, NULL);
		copy_str(d, ro, "at", x);
		copy_str(d, ro, "class", x);
		copy_str(d, ro, "record", x);
		ia = jdoc_array(d, ro, "issue_ids");
		cJSON_ArrayForEach(id, (cJSON_IsArray(ids) ? ids : NULL))
		{
			double v;

			if (whole(id, &v) && k++ < REPORT_FINDINGS_MAX)
				jdoc_number(d, ia, NULL, v);
		}
	}
}

static void add_reconciliation(const struct cfg *c, struct jdoc *d, cJSON *root)
{
	char path[SPOOL_PATH_MAX + 64];
	struct buf b = BUF_INIT_CAP(REPORT_RECONCILE_MAX);
	enum spool_entry_type type = SPOOL_ENTRY_MISSING;
	struct err e;

	snprintf(path, sizeof(path), "%s/state/%s/reconcile/last.json", c->spool.root,
	         cfg_half_name(c->half));
	err_clear(&e);
	/* The spool's one safe read: no link followed, no FIFO opened, bounded. */
	if (spool_read_untrusted(path, REPORT_RECONCILE_MAX, &b, &type, &e) != ERR_OK) {
		jdoc_null(d, root, "reconciliation");
		if (type == SPOOL_ENTRY_MISSING)
			jdoc_null(d, root, "reconciliation_error");
		else
			jdoc_string(d, root, "reconciliation_error", e.msg);
		buf_release(&b);
		return;
	}
	report_add_reconciliation(d, root, b.data ? b.data : "", b.len);
	buf_release(&b);
}

void report_add_reconciliation(struct jdoc *d, cJSON *parent, const char *text, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(text, len);

	if (!cJSON_IsObject(j)) {
		jdoc_null(d, parent, "reconciliation");
		jdoc_string(d, parent, "reconciliation_error",
		            j ? "last.json is not a JSON object" : "last.json is not JSON");
		cJSON_Delete(j);
		return;
	}
	copy_reconciliation(d, jdoc_object(d, parent, "reconciliation"), j);
	jdoc_null(d, parent, "reconciliation_error");
	cJSON_Delete(j);
}

/* ---- issues: what `scfgate find` knows ------------------------------------ */

struct scan {
	const char *root;
	const int64_t *issues;
	size_t n_issues;
	struct find_hits h;
};

/* A record of one of the issues asked for. */
static int asked_for(const struct find_hit *h, void *vctx)
{
	const struct scan *s = vctx;
	size_t i;

	for (i = 0; i < s->n_issues && s->issues[i] != h->issue; i++)
		;
	return h->issue && i < s->n_issues;
}

/* One pass over both queues for every id asked for; inspection only:
 * decoded without verification, like find. */
static enum err_status scan_records(struct scan *s, struct err *e)
{
	return find_collect(s->root, asked_for, s, &s->h, e);
}

/* The earliest record of kind k of issue (by created time, then
 * sequence); with done_only, only one in inbound/done. */
static const struct find_hit *first_of(const struct scan *s, int64_t issue, enum record_kind k,
                                       int done_only)
{
	const struct find_hit *best = NULL;

	for (size_t i = 0; i < s->h.n; i++) {
		const struct find_hit *h = &s->h.v[i];

		if (h->issue != issue || h->kind != k)
			continue;
		if (done_only && (h->dir != SPOOL_DONE || strcmp(h->queue, "inbound") != 0))
			continue;
		if (!best || strcmp(h->created, best->created) < 0 ||
		    (strcmp(h->created, best->created) == 0 && h->seq < best->seq))
			best = h;
	}
	return best;
}

static void event(struct jdoc *d, cJSON *a, const char *what, const char *at, const char *how)
{
	cJSON *o = jdoc_object(d, a, NULL);

	jdoc_string(d, o, "event", what);
	jdoc_string(d, o, "at", at && *at ? at : NULL);
	jdoc_string(d, o, "how", how);
}

/* fetched, forwarded, acknowledged, closed: see report.h. */
static void timeline(struct jdoc *d, cJSON *a, const struct scan *s, int64_t issue, int scf_host)
{
	const struct find_hit *iss = first_of(s, issue, RECORD_ISSUE, 0);
	const struct find_hit *ack = first_of(s, issue, RECORD_ACK, 0);
	const struct find_hit *close = first_of(s, issue, RECORD_CLOSE, 0);
	const struct find_hit *ack_done = first_of(s, issue, RECORD_ACK, 1);
	const struct find_hit *close_done = first_of(s, issue, RECORD_CLOSE, 1);
	char how[512], when[32];

	if (iss) {
		snprintf(how, sizeof(how), "issue record %s committed by the SCF half", iss->name);
		event(d, a, "fetched", iss->created, how);
	} else {
		event(d, a, "fetched", NULL, "no issue record on this host");
	}
	if (ack) {
		snprintf(how, sizeof(how), "request %s (Oid %" PRId64 ") created in Cartegraph",
		         ack->request[0] ? ack->request : "?", ack->oid);
		event(d, a, "forwarded", ack->when, how);
	} else {
		event(d, a, "forwarded", NULL, "no ack record on this host");
	}
	if (scf_host && ack_done) {
		when_utc(ack_done->mtime, when);
		snprintf(how, sizeof(how), "ack record %s written back to SeeClickFix",
		         ack_done->name);
		event(d, a, "acknowledged", when, how);
	} else if (ack) {
		snprintf(how, sizeof(how), "ack record %s committed by the OMS half (%s/%s)",
		         ack->name, ack->queue, spool_dir_name(ack->dir));
		event(d, a, "acknowledged", ack->created, how);
	} else {
		event(d, a, "acknowledged", NULL, "no ack record on this host");
	}
	if (scf_host && close_done) {
		when_utc(close_done->mtime, when);
		snprintf(how, sizeof(how),
		         "close record %s written back to SeeClickFix (closed in Cartegraph %s)",
		         close_done->name, close_done->when[0] ? close_done->when : "?");
		event(d, a, "closed", when, how);
	} else if (close) {
		snprintf(how, sizeof(how),
		         "request closed in Cartegraph; close record %s committed by the OMS half "
		         "(%s/%s)",
		         close->name, close->queue, spool_dir_name(close->dir));
		event(d, a, "closed", close->when, how);
	} else {
		event(d, a, "closed", NULL, "no close record on this host");
	}
}

static void add_issue(struct jdoc *d, cJSON *a, const struct cfg *c, const struct scan *s,
                      const struct scf_state *st, int64_t issue)
{
	cJSON *o = jdoc_object(d, a, NULL), *x, *ra;
	struct oms_tracked tr;
	const char *request = "";
	int64_t oid = 0;
	size_t nrec = 0;
	struct err e;
	char key[64];
	const char *v;

	jdoc_number(d, o, "issue_id", (double)issue);
	err_clear(&e);
	if (oms_tracked_find(c->spool.root, issue, 0, NULL, &tr, &e) != ERR_OK)
		memset(&tr, 0, sizeof(tr));
	if (tr.found) {
		oid = tr.oid;
		request = tr.request_id;
	}
	for (size_t i = 0; i < s->h.n; i++)
		if (s->h.v[i].issue == issue) {
			nrec++;
			if (!oid && s->h.v[i].oid) {
				oid = s->h.v[i].oid;
				request = s->h.v[i].request;
			}
		}
	snprintf(key, sizeof(key), "issue/%" PRId64, issue);
	v = st ? scf_state_get(st, key) : NULL;
	jdoc_bool(d, o, "known", nrec || tr.found || (v && *v));
	x = jdoc_object(d, o, "cartegraph");
	if (oid)
		jdoc_number(d, x, "oid", (double)oid);
	else
		jdoc_null(d, x, "oid");
	jdoc_string(d, x, "request_id", request[0] ? request : NULL);
	if (tr.found) {
		char flags[128];

		x = jdoc_object(d, o, "oms_state");
		oms_tracked_flags_text(tr.flags, flags, sizeof(flags));
		jdoc_string(d, x, "flags", flags);
		jdoc_number(d, x, "request_type_id", (double)tr.type_id);
	} else {
		jdoc_null(d, o, "oms_state");
	}
	if (v && *v) {
		x = jdoc_object(d, o, "scf_state");
		jdoc_string(d, x, "status", find_scf_status_word(v[0]));
	} else {
		jdoc_null(d, o, "scf_state");
	}
	timeline(d, jdoc_array(d, o, "timeline"), s, issue, c->half == CFG_HALF_SCF);
	ra = jdoc_array(d, o, "records");
	for (size_t i = 0; i < s->h.n; i++) {
		const struct find_hit *h = &s->h.v[i];
		const char *kn = record_kind_name(h->kind);
		char when[32];

		if (h->issue != issue)
			continue;
		x = jdoc_object(d, ra, NULL);
		jdoc_string(d, x, "queue", h->queue);
		jdoc_string(d, x, "dir", spool_dir_name(h->dir));
		jdoc_string(d, x, "name", h->name);
		jdoc_number(d, x, "seq", (double)h->seq);
		jdoc_string(d, x, "kind", kn ? kn : "?");
		jdoc_string(d, x, "created", h->created);
		when_utc(h->mtime, when);
		jdoc_string(d, x, "in_dir_since", when);
	}
}

static enum err_status add_issues(const struct cfg *c, const int64_t *issues, size_t n,
                                  struct jdoc *d, cJSON *root, struct err *e)
{
	struct scan s;
	struct scf_state *st = NULL;
	char dir[SPOOL_PATH_MAX + 16];
	struct stat sb;
	cJSON *a = jdoc_array(d, root, "issues");
	enum err_status rc;

	if (!n)
		return ERR_OK;
	memset(&s, 0, sizeof(s));
	s.root = c->spool.root;
	s.issues = issues;
	s.n_issues = n;
	rc = scan_records(&s, e);
	if (rc != ERR_OK) {
		find_hits_release(&s.h);
		return rc;
	}
	/* scf_state_load creates the directory; the report only reads. */
	snprintf(dir, sizeof(dir), "%s/state/scf", c->spool.root);
	if (c->half == CFG_HALF_SCF && stat(dir, &sb) == 0) {
		struct err se;

		err_clear(&se);
		if (scf_state_load(dir, &st, &se) != ERR_OK)
			st = NULL;
	}
	for (size_t i = 0; i < n; i++)
		add_issue(d, a, c, &s, st, issues[i]);
	scf_state_free(st);
	find_hits_release(&s.h);
	return ERR_OK;
}

enum err_status report_collect(const struct cfg *c, const int64_t *issues, size_t n_issues,
                               time_t now, struct jdoc *d, struct err *e)
{
	cJSON *root = jdoc_root_object(d);
	char when[32];
	enum err_status s;

	if (!now)
		now = time(NULL);
	when_utc((int64_t)now, when);
	jdoc_string(d, root, "generated_at", when);
	jdoc_string(d, root, "half", cfg_half_name(c->half));
	s = add_status(c, now, d, root, e);
	if (s != ERR_OK)
		return s;
	add_history(c, d, root);
	add_reconciliation(c, d, root);
	s = add_issues(c, issues, n_issues, d, root, e);
	if (s != ERR_OK)
		return s;
	if (jdoc_failed(d))
		return err_set(e, ERR_TEMP, "cannot build the report (out of memory)");
	return ERR_OK;
}
