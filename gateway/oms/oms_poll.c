/*
 * oms_poll.c: one poll cycle over the tracked open requests: batched
 * [Oid] in (...) queries, only the fields needed, run concurrently; a
 * closed request becomes one `close` record and is never looked at
 * again.  See oms.h.
 */
#include "oms_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "when.h"

struct poll_ref {
	int64_t oid;
	int64_t issue;
};

struct poll_ctx;

/* One query in flight.  A cycle keeps only a few (POLL_AHEAD per
 * transfer): each built from the tracked entries when its slot is free
 * and its reply parsed and dropped before the next, so a poll of 100,000
 * requests holds a handful of queries and replies, not all 667. */
struct poll_chunk {
	struct poll_ctx *pc;
	struct poll_ref refs[OMS_POLL_CHUNK]; /* sorted by oid */
	size_t n;
	unsigned tries; /* a 2xx whose JSON does not parse is asked again */
};

#define POLL_AHEAD 2

struct poll_ctx {
	struct oms *o;
	struct poll_chunk *slots;
	size_t nslots;
	size_t cursor; /* the next tracked entry to look at */
	size_t n;      /* queries made in this cycle */
	size_t closed, seen;
	enum err_status worst;
	struct err e;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct poll_ref *x = a, *y = b;

	return x->oid < y->oid ? -1 : x->oid > y->oid;
}

static struct poll_ref *ref_find(struct poll_chunk *ch, int64_t oid)
{
	struct poll_ref key = {.oid = oid};

	return bsearch(&key, ch->refs, ch->n, sizeof(key), ref_cmp);
}

static void note_error(struct poll_ctx *pc, enum err_status st, const char *msg)
{
	if (st > pc->worst) {
		pc->worst = st;
		err_set(&pc->e, st, "%s", msg);
	}
}

static enum err_status submit_chunk(struct poll_ctx *pc, struct poll_chunk *ch, struct err *e);

/* Returns 1 when the chunk was asked again (its slot stays busy). */
static int on_rows(struct poll_ctx *pc, struct poll_chunk *ch, struct http_response *r)
{
	struct oms *o = pc->o;
	cJSON *root = cJSON_ParseWithLength(r->body.data, r->body.len), *rows, *row;
	struct map_cg_request *rqs = NULL;
	struct oms_entry **ens = NULL;
	size_t nclosed = 0;
	struct err e;

	err_clear(&e);
	rows = root ? cJSON_GetObjectItemCaseSensitive(root, o->cfg->cg.request_class) : NULL;
	if (!cJSON_IsArray(rows)) {
		cJSON_Delete(root);
		if (++ch->tries < 4 && submit_chunk(pc, ch, &e) == ERR_OK)
			return 1;
		note_error(pc, ERR_TEMP, "poll: response is not the expected JSON");
		return 0;
	}
	/* The closings of one chunk become one commit group. */
	ens = calloc(ch->n ? ch->n : 1, sizeof(struct oms_entry *));
	rqs = calloc(ch->n ? ch->n : 1, sizeof(*rqs));
	if (!ens || !rqs) {
		note_error(pc, ERR_TEMP, "poll: out of memory");
		goto out;
	}
	cJSON_ArrayForEach(row, rows)
	{
		struct poll_ref *ref;
		struct oms_entry *en;
		enum err_status ms;

		if (nclosed >= ch->n)
			break;
		ms = map_cg_request_cjson(o->cfg, row, &rqs[nclosed], &e);
		if (ms != ERR_OK) {
			/* A bad row is skipped; running out of memory is this
			 * cycle's error too.  Either way the next poll asks again. */
			log_warn("event=poll-row-skipped why=%s", log_q(e.msg));
			if (ms != ERR_PERM)
				note_error(pc, ms, e.msg);
			continue;
		}
		pc->seen++;
		ref = ref_find(ch, rqs[nclosed].oid);
		en = ref ? oms_track_get(o->track, ref->issue) : NULL;
		if (en && rqs[nclosed].closed && !(en->flags & OMS_T_CLOSED))
			ens[nclosed++] = en;
		else
			map_cg_request_clear(&rqs[nclosed]);
	}
	if (nclosed) {
		size_t done = 0;
		enum err_status st = oms_commit_closes(o, ens, rqs, nclosed, &done, &e);
		pc->closed += done;
		if (st != ERR_OK)
			note_error(pc, st, e.msg);
	}
out:
	for (size_t i = 0; rqs && i < nclosed; i++)
		map_cg_request_clear(&rqs[i]);
	free(ens);
	free(rqs);
	cJSON_Delete(root);
	return 0;
}

/* Fill ch with the next OMS_POLL_CHUNK open requests from the cursor
 * (0: none left).  Closings in this cycle only touch requests already
 * behind the cursor, so each open request is asked once. */
static size_t fill_chunk(struct poll_ctx *pc, struct poll_chunk *ch)
{
	struct oms_track *t = pc->o->track;
	size_t total = oms_track_count(t);

	ch->n = 0;
	ch->tries = 0;
	for (; pc->cursor < total && ch->n < OMS_POLL_CHUNK; pc->cursor++) {
		const struct oms_entry *en = oms_track_at(t, pc->cursor);
		if (!(en->flags & OMS_T_CREATED) || (en->flags & OMS_T_CLOSED))
			continue;
		ch->refs[ch->n].oid = en->oid;
		ch->refs[ch->n].issue = en->issue;
		ch->n++;
	}
	qsort(ch->refs, ch->n, sizeof(struct poll_ref), ref_cmp);
	return ch->n;
}

/* Ask the next chunk in this slot, if any is left. */
static enum err_status next_chunk(struct poll_ctx *pc, struct poll_chunk *ch, struct err *e)
{
	if (!fill_chunk(pc, ch))
		return ERR_OK;
	pc->n++;
	return submit_chunk(pc, ch, e);
}

static void on_poll(void *user, enum err_status st, struct http_response *r, const struct err *e)
{
	struct poll_chunk *ch = user;
	struct poll_ctx *pc = ch->pc;
	struct err ne;

	if (st != ERR_OK) {
		struct err ce = *e;
		/* A field Cartegraph does not know: is the field map wrong now? */
		if (st == ERR_PERM && r &&
		    oms_meta_recheck(pc->o, r->status, buf_str(&r->body), r->body.len, &ce))
			st = ERR_FATAL;
		note_error(pc, st, ce.msg);
	} else if (on_rows(pc, ch, r)) {
		return;
	}
	err_clear(&ne);
	if (next_chunk(pc, ch, &ne) != ERR_OK)
		note_error(pc, ne.status, ne.msg);
}

static enum err_status submit_chunk(struct poll_ctx *pc, struct poll_chunk *ch, struct err *e)
{
	const struct cfg_cartegraph *g = &pc->o->cfg->cg;
	struct buf filter = BUF_INIT_CAP(16384), url = BUF_INIT_CAP(65536);
	char fields[512], limit[24];
	enum err_status st = ERR_OK;

	buf_adds(&filter, "([Oid] in (");
	for (size_t i = 0; i < ch->n; i++)
		buf_addf(&filter, "%s%" PRId64, i ? "," : "", ch->refs[i].oid);
	buf_adds(&filter, "))");
	snprintf(fields, sizeof(fields), "Oid,%s,%s,%s%s%s,cgLastModifiedField", g->id_field,
	         g->status_field, g->issue_field, g->external_id_field ? "," : "",
	         g->external_id_field ? g->external_id_field : "");
	snprintf(limit, sizeof(limit), "%zu", ch->n);
	if (buf_adds(&url, pc->o->class_path) != ERR_OK ||
	    http_query_add(&url, "filter", buf_str(&filter)) != ERR_OK ||
	    http_query_add(&url, "fields", fields) != ERR_OK ||
	    http_query_add(&url, "limit", limit) != ERR_OK)
		st = err_set(e, ERR_TEMP, "poll: out of memory");
	if (st == ERR_OK)
		st = http_submit(pc->o->http, "GET", buf_str(&url), NULL, NULL, on_poll, ch, e);
	buf_release(&filter);
	buf_release(&url);
	return st;
}

enum err_status oms_poll(struct oms *o, struct err *e)
{
	struct poll_ctx pc;
	enum err_status st = ERR_OK;
	struct err de;

	uint64_t t0 = when_mono_ms();

	memset(&pc, 0, sizeof(pc));
	pc.o = o;
	pc.nslots = (size_t)POLL_AHEAD * (o->opts.concurrency ? o->opts.concurrency : 1);
	pc.slots = calloc(pc.nslots, sizeof(*pc.slots));
	if (!pc.slots)
		st = err_set(e, ERR_TEMP, "out of memory");
	for (size_t i = 0; st == ERR_OK && i < pc.nslots; i++) {
		pc.slots[i].pc = &pc;
		st = next_chunk(&pc, &pc.slots[i], e);
	}
	err_clear(&de);
	if (http_drain(o->http, &de) == ERR_FATAL && st == ERR_OK)
		st = err_set(e, ERR_FATAL, "%s", de.msg);
	if (st == ERR_OK && pc.worst != ERR_OK) {
		*e = pc.e;
		st = pc.worst == ERR_PERM ? ERR_TEMP : pc.worst;
	}
	o->counts.polled = pc.seen;
	log_info("effect=poll tracked=%zu seen=%zu closed=%zu chunks=%zu", oms_tracked_open(o),
	         pc.seen, pc.closed, pc.n);
	free(pc.slots);
	oms_track_maybe_compact(o->track, NULL);
	if (st == ERR_OK)
		oms_status_note(o, NULL);
	o->pass_ms[1] = when_mono_ms() - t0;
	oms_health_poll(o, st, e);
	return st;
}
