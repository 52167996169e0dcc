/*
 * fuzz_geo.c: geo_parse_candidates and geo_parse_reverse on arbitrary
 * bytes, each result judged by geo_choose.  Invariants: success and
 * failure are exclusive, messages and addresses are one line, at most
 * GEO_MAX_CANDIDATES candidates with in-range coordinates and scores, and
 * the chooser's result is consistent with the rules it applied.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(enum err_status st, const struct geo_reply *r, const struct err *e)
{
	if (st != ERR_OK && st != ERR_PERM)
		abort();
	if (st == ERR_PERM && (r->n || r->error_code || !e->msg[0]))
		abort();
	if (strchr(e->msg, '\n') || r->n > GEO_MAX_CANDIDATES || strchr(r->error_message, '\n'))
		abort();
	for (size_t i = 0; i < r->n; i++) {
		const struct geo_candidate *c = &r->c[i];

		if (!c->address[0] || strchr(c->address, '\n') ||
		    strlen(c->address) >= GEO_ADDR_MAX)
			abort();
		if (!(c->lat >= -90 && c->lat <= 90 && c->lng >= -180 && c->lng <= 180))
			abort();
		if (!(c->score == -1 || (c->score >= 0 && c->score <= 100)))
			abort();
	}
}

static void check_choice(const struct geo_reply *r, const struct geo_rules *rules)
{
	struct geo_result res;

	geo_choose(r, rules, 39.7817, -89.6501, "1 Reported St", &res);
	if (res.verified != (res.outcome == GEO_VERIFIED) || strchr(res.note, '\n') ||
	    strchr(res.reason, '\n') || !res.note[0])
		abort();
	if (res.verified && ((res.score >= 0 && res.score < rules->min_score) ||
	                     res.distance_m > rules->max_distance_m))
		abort();
	if (!res.verified && strcmp(res.address, "1 Reported St") != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct geo_reply r;
	const struct geo_rules rules = {80, 100};
	struct err e;
	enum err_status st;

	err_clear(&e);
	st = geo_parse_candidates((const char *)data, size, &r, &e);
	check_reply(st, &r, &e);
	check_choice(&r, &rules);
	err_clear(&e);
	st = geo_parse_reverse((const char *)data, size, &r, &e);
	check_reply(st, &r, &e);
	check_choice(&r, &rules);
	return 0;
}
