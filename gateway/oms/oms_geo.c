/*
 * oms_geo.c: the geocoder's place in the OMS half's create (oms_geo.h):
 * configuration -> client, verdict -> map_cg_extra, and the pause after a
 * run of unanswered checks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "oms_geo.h"
#include "when.h"

struct oms_geo {
	struct geo_client *g;
	const struct cfg *c;
	unsigned trip; /* unanswered in a row before a pause; 0: never */
	long pause_ms;
	unsigned unanswered; /* in a row */
	long resume_at_ms;   /* monotonic; 0: not paused */
	uint64_t skipped;
};

enum err_status oms_geo_open(const struct cfg *c, struct oms_geo **out, struct err *e)
{
	const struct cfg_geocoder *gc = &c->geocoder;
	struct oms_geo *og;
	struct geo_opts o;
	enum err_status st;

	*out = NULL;
	if (!gc->enabled || !gc->base_url)
		return ERR_OK;
	if (!(og = calloc(1, sizeof(*og))))
		return err_set(e, ERR_FATAL, "%s: geocoder: out of memory", c->path);
	og->c = c;
	og->trip = OMS_GEO_TRIP;
	og->pause_ms = OMS_GEO_PAUSE_MS;
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
	st = geo_client_new(&og->g, &o, e);
	if (st == ERR_OK) {
		*out = og;
		return ERR_OK;
	}
	free(og);
	/* geo's messages start "geocoder: " or name the credential file */
	if (strncmp(e->msg, "geocoder", 8) == 0)
		err_prefix(e, "%s:%u: ", c->path, gc->line);
	else
		err_prefix(e, "%s:%u: geocoder: ", c->path, gc->line);
	e->status = ERR_FATAL;
	return ERR_FATAL;
}

void oms_geo_free(struct oms_geo *og)
{
	if (!og)
		return;
	geo_client_free(og->g);
	free(og);
}

static int unanswered(enum geo_outcome o)
{
	return o == GEO_TIMEOUT || o == GEO_HTTP_ERROR;
}

/* During a pause: the reported address at once, and why. */
static void skip(struct oms_geo *og, const struct record_issue *is, long left_ms,
                 struct geo_result *r)
{
	char why[128];

	snprintf(why, sizeof(why), "not asked: %u checks in a row unanswered, next in %ld s",
	         og->unanswered, (left_ms + 999) / 1000);
	geo_result_fail(r, GEO_HTTP_ERROR, why, og->c->geocoder.max_distance_m, is->address);
	og->skipped++;
	log_warn("geo: effect=skipped issue=%" PRId64 " reason=%s", is->issue_id, log_q(why));
}

const struct map_cg_extra *oms_geo_apply(struct oms_geo *og, const struct record_issue *is,
                                         struct oms_geo_view *v)
{
	const char *field;
	struct err e;
	long t;

	memset(v, 0, sizeof(*v));
	if (!og)
		return NULL;
	t = (long)when_mono_ms();
	if (og->resume_at_ms && t < og->resume_at_ms) {
		skip(og, is, og->resume_at_ms - t, &v->result);
	} else {
		err_clear(&e);
		/* always ERR_OK once the client exists (geo.h) */
		geo_verify(og->g, is->issue_id, is->lat, is->lng, is->address, &v->result, &e);
		v->asked = 1;
		og->resume_at_ms = 0;
		og->unanswered = unanswered(v->result.outcome) ? og->unanswered + 1 : 0;
		if (og->trip && og->unanswered >= og->trip)
			og->resume_at_ms = (long)when_mono_ms() + og->pause_ms;
	}
	field = og->c->geocoder.result_field;
	v->extra.location = v->result.verified ? v->result.address : NULL;
	v->extra.note = v->result.note[0] ? v->result.note : NULL;
	v->extra.note_field =
	    field && strcmp(field, CFG_GEOCODER_IN_DESCRIPTION) != 0 ? field : NULL;
	return &v->extra;
}

void oms_geo_stats(const struct oms_geo *og, struct geo_stats *out, uint64_t *skipped)
{
	memset(out, 0, sizeof(*out));
	if (skipped)
		*skipped = og ? og->skipped : 0;
	if (og)
		geo_stats_get(og->g, out);
}

void oms_geo_set_pause(struct oms_geo *og, unsigned trip, long pause_ms)
{
	og->trip = trip;
	og->pause_ms = pause_ms;
}
