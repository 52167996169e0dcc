/*
 * oms_geo.h: the OMS half's use of the ArcGIS geocoder (geo.h) when it
 * creates a Cartegraph request: which address goes into
 * LocationDescriptionField, and where staff read what the geocoder said.
 *
 * Contract
 *   - oms_geo_open() makes the geocoder client the configuration asks for
 *     (struct cfg_geocoder), or sets *out to NULL when there is none or it
 *     is disabled.  A client that cannot be made (bad option, unreadable or
 *     group/world-readable token file) is ERR_FATAL with
 *     "FILE:LINE: geocoder: why": the half must not start on it, as for
 *     its other credentials.
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
 *     With g NULL it returns NULL without any I/O, and the body is exactly
 *     map_cg_create_body's.
 *   - It never fails and never waits longer than geo.h's bound: the
 *     geocoder being down, slow or wrong gives the reported address and a
 *     note that says why (geo_verify logs and counts it).
 *   - It blocks the calling thread for up to the configured timeout (twice
 *     in mode "both"); the caller runs it once per new issue, before the
 *     create, never on a retry of the same create.
 */
#ifndef SCFGATE_OMS_GEO_H
#define SCFGATE_OMS_GEO_H

#include "cfg.h"
#include "err.h"
#include "geo.h"
#include "map.h"
#include "record.h"

enum err_status oms_geo_open(const struct cfg *c, struct geo_client **out, struct err *e);

/* The geocoder's verdict on one issue and the extra for the create body. */
struct oms_geo_view {
	struct geo_result result;
	struct map_cg_extra extra;
};

const struct map_cg_extra *oms_geo_apply(struct geo_client *g, const struct cfg *c,
                                         const struct record_issue *is, struct oms_geo_view *v);

#endif
