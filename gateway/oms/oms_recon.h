/*
 * oms_recon.h: the reconciliation classifier: what a census entry (the
 * SCF half's view of one issue) and the Cartegraph requests carrying its
 * SCF id say about the two systems being in sync.  Pure: no I/O, no
 * allocation, no logging; the OMS half (oms_reconcile.c) feeds it.
 *
 * Classes (one per census entry; every count and finding names one):
 *   duplicate     more requests carry the SCF id than the issue's
 *                 generations explain: more than one not closed, or more
 *                 in all than max(generation, 1) (each generation of a
 *                 reopened issue creates one request, the earlier ones
 *                 closed).  Checked first: it hides every other class.
 *   orphan        SCF says Archived and a request is not closed; and
 *                 (recon_classify_unlisted) a request the half created
 *                 whose SCF id is not in the census, not closed.
 *   missing       SCF says Open or Acknowledged (any word but Closed and
 *                 Archived) and no request that is not closed carries
 *                 the id, and fewer closed ones than max(generation, 1):
 *                 the current generation has no request.
 *   missed-close  SCF not Closed/Archived, no request open, and as many
 *                 closed requests as generations: the current
 *                 generation's request was closed, SCF never heard.
 *   drift         SCF not Closed/Archived, exactly one open request and
 *                 (a) its type field is not the remote id the SCF type
 *                 maps to ("type"), or (b) its point is farther than the
 *                 tolerance from the SCF point ("location"); both are
 *                 said when both differ.  Also SCF Closed while a request
 *                 is not closed ("status": closed by hand in SCF, the
 *                 crew still sees work).
 *   in-sync       everything else: one open request that matches; SCF
 *                 Closed/Archived with every request closed, or none
 *                 (never sent, or dismissed before it was).
 * Unknown types (no mapping in this half's configuration) and points
 * missing on either side are not compared.
 */
#ifndef SCFGATE_OMS_RECON_H
#define SCFGATE_OMS_RECON_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

enum recon_class {
	RECON_IN_SYNC = 0,
	RECON_MISSING,
	RECON_MISSED_CLOSE,
	RECON_ORPHAN,
	RECON_DRIFT,
	RECON_DUPLICATE,
	RECON_NCLASS
};

/* "in-sync", "missing", "missed-close", "orphan", "drift", "duplicate". */
const char *recon_class_name(enum recon_class c);
/* The counts' names in the reconcile record: "in_sync", "missed_close"... */
const char *recon_class_key(enum recon_class c);
/* A class by its name (either spelling); -1 when unknown. */
int recon_class_parse(const char *name);

/* One census entry (strings are borrowed). */
struct recon_issue {
	int64_t issue_id;
	const char *status; /* SCF's word: Open, Acknowledged, Closed, Archived */
	int64_t type_id;    /* SCF request type id */
	int has_point;
	double lat, lng;
	const char *html_url; /* may be NULL */
	int64_t generation;   /* 0 or 1: the first */
};

/* One Cartegraph request (strings are borrowed, may be NULL). */
struct recon_request {
	int64_t oid;
	int64_t issue_id; /* the SCF id in the external-id field, 0 if none */
	const char *request_id;
	const char *status;
	int closed;       /* status is one of the closed values */
	const char *type; /* the type field's value (IssueField) */
	int has_point;
	double lat, lng;
};

struct recon_rules {
	const struct cfg *cfg; /* the request types (remote ids) */
	double tolerance_m;    /* location drift beyond this; see recon_tolerance */
};

/* What a class is about, ready for a record, a file and a person. */
struct recon_finding {
	enum recon_class cls;
	int64_t issue_id;
	const char *scf_status;  /* the census entry's, NULL when not in the census */
	const char *html_url;    /* NULL when unknown */
	int64_t request_type_id; /* 0 when unknown */
	int64_t oid;             /* the request concerned, 0 when none */
	char request_id[128];    /* "" when none */
	char oms_status[64];     /* "" when none */
	char detail[256];
};

/* The location tolerance of a configuration: the geocoder's
 * maxDistanceMeters, 100 m without one. */
double recon_tolerance(const struct cfg *c);

/* Classify one census entry against every request carrying its SCF id
 * (n may be 0; order does not matter).  f is filled for every class. */
enum recon_class recon_classify_issue(const struct recon_rules *r, const struct recon_issue *is,
                                      const struct recon_request *reqs, size_t n,
                                      struct recon_finding *f);

/* A request this half created whose SCF id is not in the census: an
 * orphan when it is not closed (returns 1 and fills f), else 0. */
int recon_classify_unlisted(const struct recon_request *rq, struct recon_finding *f);

#endif
