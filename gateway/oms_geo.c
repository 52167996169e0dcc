/*
 * oms_geo.c: the geocoder's place in the OMS half's create (oms_geo.h):
 * configuration -> client, verdict -> map_cg_extra.
 */
#include <string.h>

#include "oms_geo.h"

enum err_status oms_geo_open(const struct cfg *c, struct geo_client **out, struct err *e)
{
	const struct cfg_geocoder *gc = &c->geocoder;
	struct geo_opts o;
	enum err_status st;

	*out = NULL;
	if (!gc->enabled || !gc->base_url)
		return ERR_OK;
	geo_opts_init(&o);
	o.base_url = gc->base_url;
	/* cfg's modes carry geo's values (cfg.h), so no table to drift */
	o.mode = (enum geo_mode)gc->mode;
	o.token_file = gc->token_file;
	o.min_score = gc->min_score;
	o.max_distance_m = gc->max_distance_m;
	o.timeout_ms = (long)gc->timeout_ms;
	o.max_locations = gc->max_locations;
	o.result_field = gc->result_field;
	o.ca_file = gc->ca_file;
	st = geo_client_new(out, &o, e);
	if (st == ERR_OK)
		return ERR_OK;
	/* geo's messages start "geocoder: " or name the token file */
	err_prefix(e,
	           strncmp(e->msg, "geocoder", 8) == 0 ? "%s:%u: " : "%s:%u: geocoder: ", c->path,
	           gc->line);
	e->status = ERR_FATAL;
	return ERR_FATAL;
}

const struct map_cg_extra *oms_geo_apply(struct geo_client *g, const struct cfg *c,
                                         const struct record_issue *is, struct oms_geo_view *v)
{
	const char *field = c->geocoder.result_field;
	struct err e;

	memset(v, 0, sizeof(*v));
	if (!g)
		return NULL;
	err_clear(&e);
	/* always ERR_OK once the client exists (geo.h) */
	geo_verify(g, is->issue_id, is->lat, is->lng, is->address, &v->result, &e);
	v->extra.location = v->result.verified ? v->result.address : NULL;
	v->extra.note = v->result.note[0] ? v->result.note : NULL;
	v->extra.note_field =
	    field && strcmp(field, CFG_GEOCODER_IN_DESCRIPTION) != 0 ? field : NULL;
	return &v->extra;
}
