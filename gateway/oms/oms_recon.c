/*
 * oms_recon.c: the reconciliation classifier.  See oms_recon.h.
 */
#include "oms_recon.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "geo.h"

static const char *const names[RECON_NCLASS] = {"in-sync", "missing", "missed-close",
                                                "orphan",  "drift",   "duplicate"};
static const char *const keys[RECON_NCLASS] = {"in_sync", "missing", "missed_close",
                                               "orphan",  "drift",   "duplicate"};

const char *recon_class_name(enum recon_class c)
{
	return c >= 0 && c < RECON_NCLASS ? names[c] : "?";
}

const char *recon_class_key(enum recon_class c)
{
	return c >= 0 && c < RECON_NCLASS ? keys[c] : "?";
}

int recon_class_parse(const char *name)
{
	for (int i = 0; name && i < RECON_NCLASS; i++)
		if (strcmp(name, names[i]) == 0 || strcmp(name, keys[i]) == 0)
			return i;
	return -1;
}

double recon_tolerance(const struct cfg *c)
{
	return c && c->geocoder.max_distance_m ? (double)c->geocoder.max_distance_m : 100.0;
}

/* SCF is done with the issue: Closed or Archived. */
static int scf_closed(const char *s)
{
	return s && strcmp(s, "Closed") == 0;
}

static int scf_archived(const char *s)
{
	return s && strcmp(s, "Archived") == 0;
}

static void about(struct recon_finding *f, const struct recon_request *rq)
{
	f->oid = rq ? rq->oid : 0;
	snprintf(f->request_id, sizeof(f->request_id), "%s",
	         rq && rq->request_id ? rq->request_id : "");
	snprintf(f->oms_status, sizeof(f->oms_status), "%s", rq && rq->status ? rq->status : "");
}

/* The type and location comparison of the one open request; 1 when
 * either differs (f->detail says which). */
static int drifted(const struct recon_rules *r, const struct recon_issue *is,
                   const struct recon_request *rq, struct recon_finding *f)
{
	const struct cfg_request_type *rt = r->cfg ? cfg_request_type(r->cfg, is->type_id) : NULL;
	size_t k = 0;
	int n = 0;

	f->detail[0] = 0;
	if (rt && rt->remote_id && (!rq->type || strcmp(rq->type, rt->remote_id) != 0)) {
		k += (size_t)snprintf(f->detail, sizeof(f->detail),
		                      "type: Cartegraph has \"%.60s\", SeeClickFix type %" PRId64
		                      " maps to \"%.60s\"",
		                      rq->type ? rq->type : "", is->type_id, rt->remote_id);
		n++;
	}
	if (is->has_point && rq->has_point) {
		double d = geo_distance_m(is->lat, is->lng, rq->lat, rq->lng);
		if (d > r->tolerance_m) {
			if (k < sizeof(f->detail))
				snprintf(f->detail + k, sizeof(f->detail) - k,
				         "%slocation: %.0f m from the SeeClickFix point (tolerance "
				         "%.0f m)",
				         n ? "; " : "", d, r->tolerance_m);
			n++;
		}
	}
	return n > 0;
}

enum recon_class recon_classify_issue(const struct recon_rules *r, const struct recon_issue *is,
                                      const struct recon_request *reqs, size_t n,
                                      struct recon_finding *f)
{
	const struct recon_request *open = NULL, *last_closed = NULL;
	int64_t gens = is->generation > 1 ? is->generation : 1;
	size_t nopen = 0, nclosed = 0;

	memset(f, 0, sizeof(*f));
	f->issue_id = is->issue_id;
	f->scf_status = is->status;
	f->html_url = is->html_url;
	f->request_type_id = is->type_id;
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].closed) {
			nclosed++;
			/* the newest closed request: the highest Oid */
			if (!last_closed || reqs[i].oid > last_closed->oid)
				last_closed = &reqs[i];
		} else {
			nopen++;
			if (!open || reqs[i].oid < open->oid)
				open = &reqs[i];
		}
	}
	if (nopen > 1 || (int64_t)n > gens) {
		about(f, open ? open : last_closed);
		snprintf(f->detail, sizeof(f->detail),
		         "%zu requests carry this SeeClickFix id (%zu not closed) for %" PRId64
		         " generation%s",
		         n, nopen, gens, gens == 1 ? "" : "s");
		return f->cls = RECON_DUPLICATE;
	}
	if (scf_archived(is->status)) {
		about(f, open ? open : last_closed);
		if (!open)
			return f->cls = RECON_IN_SYNC;
		snprintf(f->detail, sizeof(f->detail),
		         "archived in SeeClickFix, the request is not closed");
		return f->cls = RECON_ORPHAN;
	}
	if (scf_closed(is->status)) {
		about(f, open ? open : last_closed);
		if (!open)
			return f->cls = RECON_IN_SYNC;
		snprintf(f->detail, sizeof(f->detail),
		         "status: closed in SeeClickFix, the request is not closed");
		return f->cls = RECON_DRIFT;
	}
	if (!open) {
		about(f, last_closed);
		if ((int64_t)nclosed >= gens) {
			snprintf(f->detail, sizeof(f->detail),
			         "the request is closed, SeeClickFix says %.40s",
			         is->status ? is->status : "nothing");
			return f->cls = RECON_MISSED_CLOSE;
		}
		if (nclosed)
			snprintf(f->detail, sizeof(f->detail),
			         "no request for generation %" PRId64
			         " (%zu closed for earlier ones)",
			         gens, nclosed);
		else
			snprintf(f->detail, sizeof(f->detail),
			         "no request with this SeeClickFix id");
		/* a missing issue has no request to name */
		f->oid = 0;
		f->request_id[0] = f->oms_status[0] = 0;
		return f->cls = RECON_MISSING;
	}
	about(f, open);
	if (drifted(r, is, open, f))
		return f->cls = RECON_DRIFT;
	return f->cls = RECON_IN_SYNC;
}

int recon_classify_unlisted(const struct recon_request *rq, struct recon_finding *f)
{
	memset(f, 0, sizeof(*f));
	if (rq->closed)
		return 0;
	f->cls = RECON_ORPHAN;
	f->issue_id = rq->issue_id;
	about(f, rq);
	snprintf(f->detail, sizeof(f->detail),
	         "the SeeClickFix id is not in the census (gone, or outside its window and "
	         "types)");
	return 1;
}
