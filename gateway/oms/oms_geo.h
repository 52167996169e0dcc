/*
 * oms_geo.h: the OMS half's use of the ArcGIS geocoder (geo.h) when it
 * creates a Cartegraph request: which address goes into
 * LocationDescriptionField, and where staff read what the geocoder said.
 *
 * Contract
 *   - oms_geo_open() makes the geocoder the configuration asks for
 *     (struct cfg_geocoder), or sets *out to NULL when there is none or it
 *     is disabled.  One that cannot be made (bad option, unreadable or
 *     group/world-readable token file) is ERR_FATAL with
 *     "FILE:LINE: geocoder: why": the half must not start on it, as for
 *     its other credentials.  The struct cfg must outlive the handle.
 *   - oms_geo_apply() checks one issue and returns what
 *     map_cg_create_body_ex() needs, pointing into *v (so v must outlive
 *     the body being built):
 *       location   the verified address, or NULL, which means the reported
 *                  one (is->address) as without a geocoder;
 *       note       the one-line note for staff ("Address verified by
 *                  ArcGIS (score 97, 12 m ...)" / "Reported address; ...");
 *       note_field the configured Cartegraph field, or NULL for
 *                  <resultField>description</resultField> (the note is
 *                  appended to the description).
 *     With og NULL it returns NULL without any I/O, and the body is
 *     exactly map_cg_create_body's.
 *   - It never fails and never waits longer than geo.h's bound (the
 *     configured timeout, twice in mode "both"): the geocoder being down,
 *     slow or wrong gives the reported address and a note that says why
 *     (geo_verify logs and counts it).
 *   - A geocoder that did not answer (timeout, unreachable, HTTP failure)
 *     OMS_GEO_TRIP times in a row is not asked for OMS_GEO_PAUSE_MS: each
 *     issue in that time gets the reported address at once, with the note
 *     "Reported address; ArcGIS geocoder unavailable (not asked: ...)" and
 *     a warn line, so a backlog of new issues is not slowed by the full
 *     timeout each while the geocoder is down.  After the pause one issue
 *     asks again; an answer of any kind (even "no candidates") resets.
 *   - It blocks the calling thread while it asks; the caller runs it once
 *     per create body, before the create.
 */
#ifndef SCFGATE_OMS_GEO_H
#define SCFGATE_OMS_GEO_H

#include <stdint.h>

#include "cfg.h"
#include "err.h"
#include "geo.h"
#include "map.h"
#include "record.h"

#define OMS_GEO_TRIP     3     /* unanswered checks in a row before a pause */
#define OMS_GEO_PAUSE_MS 60000 /* how long the geocoder is then not asked */

struct oms_geo;

enum err_status oms_geo_open(const struct cfg *c, struct oms_geo **out, struct err *e);
void oms_geo_free(struct oms_geo *og);

/* The geocoder's verdict on one issue and the extra for the create body. */
struct oms_geo_view {
	struct geo_result result;
	int asked; /* 0: skipped during a pause */
	struct map_cg_extra extra;
};

const struct map_cg_extra *oms_geo_apply(struct oms_geo *og, const struct record_issue *is,
                                         struct oms_geo_view *v);

/* geo_stats of the client, plus the checks skipped during pauses. */
void oms_geo_stats(const struct oms_geo *og, struct geo_stats *out, uint64_t *skipped);

/* Change OMS_GEO_TRIP / OMS_GEO_PAUSE_MS (tests; trip 0 never pauses). */
void oms_geo_set_pause(struct oms_geo *og, unsigned trip, long pause_ms);

#endif
