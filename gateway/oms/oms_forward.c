/*
 * oms_forward.c: apply outbound records to Cartegraph, per-issue in
 * order, many issues at once.  See oms.h for the contract.
 *
 * The window holds the claimed record (head) and the records behind it,
 * listed in new/ without a claim (spool_peek).  Each entry is a state
 * machine (enum fw_state, drawn in docs/internals.md) moved by one
 * function, transition(), on three events: its turn came (EV_START),
 * its create intent is durable (EV_SYNCED), its HTTP request ended
 * (EV_REPLY).  Each turn of the forwarder (run_step: one turn of the
 * half's loop, half.h, in the daemon and with --once; in replay a step
 * of oms_replay's driver) calls fw_step, then lets the HTTP clients move
 * their transfers (http_step); it never sleeps, it says when it can go
 * on.  A request's done() only notes the
 * reply on the entry, and fw_step hands the replies to transition()
 * after the transfers return: nothing runs inside the HTTP client, and
 * nothing calls back into the window while it is being moved.  fw_step:
 * replies, then settle finished heads in order (claim, complete / fail
 * / hold), read more records, start every entry whose issue has nothing
 * earlier unfinished, send, and commit the waiting acks as one group.
 */
#include "oms_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "sigs.h"
#include "map.h"
#include "when.h"

/* Record-level attempts a --once pass spends on a temporary error. */
#define ONCE_TEMP_TRIES 3

/* How long the loop waits on the network at most before it looks at the
 * stop flag and the back-offs again. */
#define FW_WAIT_MS 100

/*
 * An entry's state.  WAIT and RETRY wait for their turn (RETRY: a
 * back-off after a temporary error); LOOKUP .. ATTACH have one HTTP
 * request in flight (INTENT: a create whose intent waits for the
 * round's journal sync) and count against the concurrency; ACK is a
 * request created or found whose ack waits for the group commit (it
 * counts as done for the issue's later records); DONE, FAIL and HOLD are
 * settled into done/, failed/ and hold/ in sequence order; FATAL stops
 * the half.
 */
enum fw_state {
	FW_WAIT,
	FW_LOOKUP, /* GET by external id */
	FW_INTENT, /* create intent journalled, its sync pending */
	FW_CREATE, /* POST the request */
	FW_READ,   /* GET the comment route's field, right before writing */
	FW_PUT,    /* PUT it with the note appended */
	FW_CLIST,  /* GET the comment children (route child) */
	FW_CPOST,  /* POST the comment child */
	FW_ALIST,  /* GET the attachment children */
	FW_ATTACH, /* POST the attachment child */
	FW_ACK,    /* created; the ack waits for the group commit */
	FW_RETRY,  /* temporary error: waits until not_before */
	FW_DONE,
	FW_FAIL,
	FW_HOLD,
	FW_FATAL
};

enum fw_event {
	EV_START,  /* the gate let it go (from WAIT or a RETRY that is due) */
	EV_SYNCED, /* INTENT: the round's intents are durable */
	EV_REPLY   /* the request of the state ended (en->reply) */
};

struct fw;

/* What a request's done() noted, for transition() to act on later. */
struct fw_reply {
	enum err_status st;
	long status; /* HTTP status, 0 if none */
	char *body;  /* the response body (NUL-terminated), or NULL */
	size_t len;
	char *why; /* the error message when st is not ERR_OK */
};

struct fw_entry {
	struct fw *fw;
	char name[RECORD_NAME_MAX];
	uint64_t seq;
	struct record *rec;      /* borrowed from item when claimed, else owned */
	struct spool_item *item; /* NULL until claimed (and always in replay) */
	int reinjected;
	int64_t issue;
	int orphan; /* read ahead, then passed over by the spool: drop when idle */
	enum fw_state st;
	int64_t oid;
	unsigned temp_n;
	uint64_t not_before;
	uint64_t read_ms;  /* when the field's read came back (route notes) */
	char *create_body; /* INTENT: the create waiting for its intent's sync */
	const char *effect;
	char *why;
	long why_status;
	char *why_body;
	const char *park_method; /* a request waiting for a slot (submit), */
	char *park_path;         /* sent by unpark in window order */
	char *park_body;
	struct fw_reply reply;       /* valid while queued on fw->replies */
	struct fw_entry *next_reply; /* fw->replies, in completion order */
};

struct fw {
	struct oms *o;
	struct fw_entry **win;
	size_t n, cap;
	char producer[RECORD_PRODUCER_MAX + 1];
	uint64_t next_peek;
	int replay;
	int once; /* the round is --once: a record spends at most ONCE_TEMP_TRIES */
	int queue_empty;
	size_t inflight;   /* entries in a state with a request (LOOKUP .. ATTACH) */
	size_t sending;    /* requests handed to a client and not ended: at most
	                      the concurrency, reads and writes together */
	int batch_intents; /* inside dispatch_ready: creates wait for one sync */
	size_t intents;    /* entries in INTENT */
	struct fw_entry *replies, **replies_tail; /* ended requests not yet acted on */
	int moved;                                /* an entry changed state since the last step */
	uint64_t stepped_at;                      /* the last step (monotonic ms) */
};

/* The generation an issue record asks for and the one an entry tracks:
 * 1 for an issue's first request, n >= 2 for the request created again
 * after the issue was reopened in SCF (reopen policy recreate). */
static int64_t rec_gen(const struct record *r)
{
	return r->kind == RECORD_ISSUE && r->u.issue.generation > 1 ? r->u.issue.generation : 1;
}

static int64_t ent_gen(const struct oms_entry *t)
{
	return t && t->gen > 1 ? t->gen : 1;
}

static void entry_free(struct fw_entry *en)
{
	if (!en)
		return;
	if (en->item)
		spool_item_free(en->item);
	else
		record_free(en->rec);
	free(en->create_body);
	free(en->why);
	free(en->why_body);
	free(en->reply.body);
	free(en->reply.why);
	free(en->park_path);
	free(en->park_body);
	free(en);
}

static struct fw_entry *entry_new(struct fw *fw, const char *name, uint64_t seq, struct record *rec,
                                  struct spool_item *item)
{
	struct fw_entry *en = calloc(1, sizeof(*en));

	/* Only record names come here (the spool's, or ones read ahead). */
	if (!en || strlen(name) >= sizeof(en->name)) {
		free(en);
		return NULL;
	}
	en->fw = fw;
	memcpy(en->name, name, strlen(name) + 1);
	en->seq = seq;
	en->rec = item ? item->rec : rec;
	en->item = item;
	en->reinjected = item ? item->reinjected : 0;
	/* An inbound kind (ack, close ...) that strayed into this queue is
	 * refused by dispatch(); it names no issue here, so it orders and
	 * blocks none of that issue's records. */
	en->issue = record_kind_is_outbound(en->rec->kind) ? record_issue_id(en->rec) : 0;
	return en;
}

static int win_insert(struct fw *fw, size_t at, struct fw_entry *en)
{
	if (fw->n == fw->cap) {
		size_t nc = fw->cap ? fw->cap * 2 : 32;
		struct fw_entry **nw = realloc(fw->win, nc * sizeof(struct fw_entry *));
		if (!nw)
			return -1;
		fw->win = nw;
		fw->cap = nc;
	}
	memmove(&fw->win[at + 1], &fw->win[at], (fw->n - at) * sizeof(struct fw_entry *));
	fw->win[at] = en;
	fw->n++;
	return 0;
}

static void win_remove(struct fw *fw, size_t at)
{
	memmove(&fw->win[at], &fw->win[at + 1], (fw->n - at - 1) * sizeof(struct fw_entry *));
	fw->n--;
}

/* ---- states and outcomes ---------------------------------------------------- */

static int settled_state(enum fw_state st)
{
	return st == FW_DONE || st == FW_FAIL || st == FW_HOLD;
}

/* A request of the entry is in flight (or, INTENT, about to be). */
static int busy_state(enum fw_state st)
{
	return st >= FW_LOOKUP && st <= FW_ATTACH;
}

/* Every state change goes through here, so the count of entries with a
 * request (the concurrency the window spends) stays right. */
static void set_state(struct fw_entry *en, enum fw_state st)
{
	struct fw *fw = en->fw;

	if (busy_state(en->st) && fw->inflight)
		fw->inflight--;
	if (busy_state(st))
		fw->inflight++;
	if (en->st == FW_INTENT && fw->intents)
		fw->intents--;
	if (st == FW_INTENT)
		fw->intents++;
	en->st = st;
	fw->moved = 1;
}

static void set_why(struct fw_entry *en, const char *reason, long status, const char *body)
{
	free(en->why);
	free(en->why_body);
	en->why = strdup(reason ? reason : "");
	en->why_status = status;
	en->why_body = body ? strdup(body) : NULL;
}

static void done(struct fw_entry *en, const char *effect)
{
	en->effect = effect;
	en->temp_n = 0;
	set_state(en, FW_DONE);
}

static void temp(struct fw_entry *en, const char *reason)
{
	struct oms *o = en->fw->o;
	/* Half fixed, half random: spread retries of many records apart. */
	uint64_t d = half_backoff_ms(&o->jitter, (uint64_t)o->opts.retry_base_ms,
	                             (uint64_t)o->opts.retry_max_ms, en->temp_n);

	en->temp_n++;
	en->not_before = when_mono_ms() + d;
	log_warn("effect=retry issue=%" PRId64 " record=%s in_ms=%" PRIu64 " reason=%s", en->issue,
	         en->name, d, log_q(reason));
	set_why(en, reason, 0, NULL);
	set_state(en, FW_RETRY);
	o->fw_temp_n++;
	snprintf(o->fw_temp_why, sizeof(o->fw_temp_why), "%.480s", reason ? reason : "");
}

static void perm(struct fw_entry *en, const char *reason, long status, const char *body)
{
	set_why(en, reason, status, body);
	set_state(en, FW_FAIL);
}

static void fatal(struct fw_entry *en, const struct err *e)
{
	struct oms *o = en->fw->o;

	if (!o->fatal) {
		o->fatal = 1;
		o->fatal_err = *e;
	}
	set_state(en, FW_FATAL);
}

/* Route a failed HTTP call by its class; returns 1 when handled. */
static int failed(struct fw_entry *en, enum err_status st, struct http_response *r,
                  const struct err *e)
{
	switch (st) {
	case ERR_OK:
		return 0;
	case ERR_TEMP:
		temp(en, e->msg);
		break;
	case ERR_PERM: {
		struct err me;
		/* A field Cartegraph does not know: is the field map wrong now? */
		if (r &&
		    oms_meta_recheck(en->fw->o, r->status, buf_str(&r->body), r->body.len, &me)) {
			fatal(en, &me);
			break;
		}
		perm(en, e->msg, r ? r->status : 0, r ? buf_str(&r->body) : NULL);
		break;
	}
	default:
		fatal(en, e);
		break;
	}
	return 1;
}

static void submit(struct fw_entry *en, enum fw_state st, const char *method, const char *path,
                   const char *body);

/* ---- queries -------------------------------------------------------------- */

void oms_filter_name(const char *field, char *out, size_t size)
{
	size_t n = strlen(field);

	/* Cartegraph filters name a field without its "Field" suffix:
	 * [EnteredBy] for EnteredByField, [Inactive] for InactiveField. */
	if (n > 5 && strcmp(field + n - 5, "Field") == 0)
		n -= 5;
	snprintf(out, size, "%.*s", (int)n, field);
}

/* The rows of an envelope {"<cls>":[...]}; NULL if malformed. */
static cJSON *parse_rows(const char *json, size_t len, const char *cls, cJSON **root)
{
	cJSON *arr;

	*root = cJSON_ParseWithLength(json, len);
	if (!*root)
		return NULL;
	arr = cJSON_GetObjectItemCaseSensitive(*root, cls);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(*root);
		*root = NULL;
		return NULL;
	}
	return arr;
}

static int query_path(struct oms *o, struct buf *url, const char *filter, const char *fields)
{
	buf_reset(url);
	return buf_adds(url, o->class_path) != ERR_OK ||
	       http_query_add(url, "filter", filter) != ERR_OK ||
	       http_query_add(url, "fields", fields) != ERR_OK ||
	       http_query_add(url, "limit", "10") != ERR_OK;
}

static void submit_lookup(struct fw_entry *en)
{
	struct oms *o = en->fw->o;
	const struct cfg_cartegraph *g = &o->cfg->cg;
	struct buf url = BUF_INIT_CAP(8192);
	char filter[256], fields[512], name[128];

	oms_filter_name(g->external_id_field, name, sizeof(name));
	snprintf(filter, sizeof(filter), "([%s] is equal to \"%" PRId64 "\")", name, en->issue);
	snprintf(fields, sizeof(fields), "Oid,%s,%s,%s,cgLastModifiedField", g->id_field,
	         g->status_field, g->external_id_field);
	if (query_path(o, &url, filter, fields)) {
		buf_release(&url);
		temp(en, "out of memory");
		return;
	}
	submit(en, FW_LOOKUP, "GET", buf_str(&url), NULL);
	buf_release(&url);
}

static void submit_notes_read(struct fw_entry *en)
{
	struct oms *o = en->fw->o;
	struct buf url = BUF_INIT_CAP(8192);
	char filter[64], fields[256];

	snprintf(filter, sizeof(filter), "([Oid] is equal to %" PRId64 ")", en->oid);
	snprintf(fields, sizeof(fields), "Oid,%s", o->cfg->cg.comment_field);
	if (query_path(o, &url, filter, fields)) {
		buf_release(&url);
		temp(en, "out of memory");
		return;
	}
	submit(en, FW_READ, "GET", buf_str(&url), NULL);
	buf_release(&url);
}

static void submit_children(struct fw_entry *en, enum fw_state step, const char *body)
{
	struct oms *o = en->fw->o;
	char path[1024];

	/* Only the fields needed: Cartegraph renders every field of every
	 * child record otherwise. */
	if (step == FW_ALIST)
		snprintf(path, sizeof(path), "%s/%" PRId64 "/%s?fields=Oid,%s", o->class_path,
		         en->oid, o->cfg->cg.attachment_class, o->cfg->cg.attachment_field);
	else
		snprintf(path, sizeof(path), "%s/%" PRId64 "/%s", o->class_path, en->oid,
		         o->cfg->cg.attachment_class);
	submit(en, step, step == FW_ALIST ? "GET" : "POST", path, body);
}

/* ---- issue ----------------------------------------------------------------- */

static void submit_create(struct fw_entry *en)
{
	struct oms *o = en->fw->o;
	struct oms_entry *t = oms_track_add(o->track, en->issue);
	struct buf body = BUF_INIT_CAP(MAP_JSON_MAX);
	struct oms_geo_view gv;
	struct err e;

	err_clear(&e);
	if (!t) {
		temp(en, "out of memory");
		return;
	}
	/* The geocoder's bounded wait comes before the intent is saved: a
	 * crash during it leaves nothing to look up. */
	if (map_cg_create_body_ex(o->cfg, &en->rec->u.issue,
	                          oms_geo_apply(o->geo, &en->rec->u.issue, &gv), &body,
	                          &e) != ERR_OK) {
		buf_release(&body);
		if (e.status == ERR_PERM)
			perm(en, e.msg, 0, NULL);
		else if (e.status == ERR_TEMP)
			temp(en, e.msg);
		else
			fatal(en, &e);
		return;
	}
	/* The intent is on disk before the request leaves: a crash from here
	 * on is resolved by a lookup, never by a blind second create. */
	t->flags |= OMS_T_INTENT;
	t->type_id = en->rec->u.issue.request_type_id;
	if (ent_gen(t) < rec_gen(en->rec))
		t->gen = rec_gen(en->rec);
	if (oms_track_save(o->track, t, !en->fw->batch_intents, &e) != ERR_OK) {
		buf_release(&body);
		fatal(en, &e);
		return;
	}
	if (en->fw->batch_intents) {
		/* Sent by flush_intents after one sync for the whole round. */
		en->create_body = strdup(buf_str(&body));
		buf_release(&body);
		if (!en->create_body) {
			temp(en, "out of memory");
			return;
		}
		set_state(en, FW_INTENT);
		return;
	}
	submit(en, FW_CREATE, "POST", o->class_path, buf_str(&body));
	buf_release(&body);
}

static void transition(struct fw_entry *en, enum fw_event ev);

/* One journal sync makes the round's intents durable; then their
 * creates leave (EV_SYNCED), or the half stops. */
static void flush_intents(struct fw *fw)
{
	struct oms *o = fw->o;
	enum err_status st;
	struct err e;

	if (!fw->intents)
		return;
	err_clear(&e);
	st = oms_track_sync(o->track, &e);
	for (size_t i = 0; i < fw->n; i++) {
		struct fw_entry *en = fw->win[i];
		if (en->st != FW_INTENT)
			continue;
		if (st == ERR_OK)
			transition(en, EV_SYNCED);
		else
			fatal(en, &e);
	}
}

static void created(struct fw_entry *en, const struct map_cg_request *rq, const char *effect)
{
	struct oms *o = en->fw->o;
	struct oms_entry *t = oms_track_add(o->track, en->issue);
	struct err e;

	err_clear(&e);
	if (!t || oms_track_set_id(o->track, t, rq->request_id) != ERR_OK) {
		temp(en, "out of memory");
		return;
	}
	t->oid = rq->oid;
	t->type_id = en->rec->u.issue.request_type_id;
	if (ent_gen(t) < rec_gen(en->rec))
		t->gen = rec_gen(en->rec);
	t->flags = (t->flags & ~(unsigned)OMS_T_INTENT) | OMS_T_CREATED | OMS_T_ACKPEND;
	en->oid = rq->oid;
	if (oms_track_save(o->track, t, 0, &e) != ERR_OK) {
		fatal(en, &e);
		return;
	}
	log_info("effect=%s issue=%" PRId64 " oid=%" PRId64 " id=%s record=%s", effect, en->issue,
	         rq->oid, rq->request_id ? rq->request_id : "-", en->name);
	/* Records of this issue that met it unknown (claimed before it, say
	 * released before their issue was retried) need not wait out their
	 * back-off: the request exists now. */
	for (size_t i = 0; i < en->fw->n; i++) {
		struct fw_entry *w = en->fw->win[i];
		if (w != en && w->issue == en->issue && w->st == FW_RETRY)
			w->not_before = 0;
	}
	en->effect = effect;
	en->temp_n = 0;
	set_state(en, FW_ACK);
}

/* Commit the waiting acks as one group; their records are then done. */
static void flush_acks(struct fw *fw)
{
	struct oms *o = fw->o;
	struct oms_entry **ens;
	struct fw_entry **who;
	size_t n = 0, done = 0;
	char now[32];
	struct err e;

	for (size_t i = 0; i < fw->n; i++)
		n += fw->win[i]->st == FW_ACK;
	if (!n)
		return;
	ens = calloc(n, sizeof(struct oms_entry *));
	who = calloc(n, sizeof(struct fw_entry *));
	n = 0;
	for (size_t i = 0; ens && who && i < fw->n; i++) {
		struct fw_entry *en = fw->win[i];
		if (en->st != FW_ACK)
			continue;
		ens[n] = oms_track_get(o->track, en->issue);
		who[n++] = en;
	}
	err_clear(&e);
	if (!ens || !who)
		err_set(&e, ERR_TEMP, "out of memory");
	else
		oms_commit_acks(o, ens, n, (when_utc_now(now), now), &done, &e);
	for (size_t i = 0; who && i < n; i++) {
		if (i < done)
			set_state(who[i], FW_DONE);
		else if (e.status == ERR_FATAL)
			set_state(who[i], FW_FATAL);
		else
			temp(who[i], e.msg); /* created and tracked; the ack is retried */
	}
	if (e.status == ERR_FATAL && !o->fatal) {
		o->fatal = 1;
		o->fatal_err = e;
	}
	free(ens);
	free(who);
}

static size_t count_state(struct fw *fw, enum fw_state st)
{
	size_t n = 0;

	for (size_t i = 0; i < fw->n; i++)
		n += fw->win[i]->st == st;
	return n;
}

static void start_issue(struct fw_entry *en)
{
	struct oms *o = en->fw->o;
	struct oms_entry *t = oms_track_get(o->track, en->issue);
	int64_t gen = rec_gen(en->rec);
	struct err e;

	err_clear(&e);
	if (t && gen < ent_gen(t)) {
		/* A re-sent record of a request the issue has since replaced. */
		log_info("effect=none issue=%" PRId64
		         " record=%s reason=superseded generation=%" PRId64 " tracked=%" PRId64,
		         en->issue, en->name, gen, ent_gen(t));
		done(en, "none");
		return;
	}
	if (t && gen > ent_gen(t)) {
		/* Reopened in SCF after its request was closed, and sent again
		 * (reopen policy recreate): a new request, tracked in place of
		 * the old one, which is not polled any more.  The record's own
		 * generation keeps a repeat of it from creating a third. */
		const char *prev_id = oms_track_id(o->track, t);

		log_info("effect=reopen issue=%" PRId64 " generation=%" PRId64
		         " previous_oid=%" PRId64 " previous_id=%s previous=%s record=%s",
		         en->issue, gen, t->oid, log_q(prev_id ? prev_id : "-"),
		         (t->flags & OMS_T_CLOSED) ? "closed" : "not-closed", en->name);
		t->oid = 0;
		t->flags &= OMS_T_BLOCKED; /* held records stay held */
		t->ack_seq = t->close_seq = 0;
		oms_track_set_id(o->track, t, NULL);
		t->gen = gen;
	}
	if (record_key_resend_census(en->rec->key) && o->cfg->cg.external_id_field) {
		/* A resend after reconciliation found no request: Cartegraph is
		 * asked, not the tracked state (whose request may be deleted);
		 * the lookup creates only when no request not closed is found. */
		if (t && (t->flags & OMS_T_CLOSED)) {
			t->oid = 0;
			t->flags &= OMS_T_BLOCKED;
			oms_track_set_id(o->track, t, NULL);
		}
		submit_lookup(en);
		return;
	}
	if (t && (t->flags & OMS_T_CREATED)) {
		en->oid = t->oid;
		if ((t->flags & OMS_T_ACKPEND) && !(t->flags & OMS_T_CLOSED)) {
			char now[32];
			when_utc_now(now);
			if (oms_commit_ack(o, t, now, &e) != ERR_OK) {
				temp(en, e.msg);
				return;
			}
		}
		log_info("effect=none issue=%" PRId64 " oid=%" PRId64 " record=%s reason=created",
		         en->issue, t->oid, en->name);
		done(en, "none");
		return;
	}
	/* In doubt, or replaying (the tracked state may be gone): look the
	 * SCF id up before creating. */
	if (((t && (t->flags & OMS_T_INTENT)) || en->fw->replay) && o->cfg->cg.external_id_field) {
		submit_lookup(en);
		return;
	}
	submit_create(en);
}

/* ---- comment and attachment ---------------------------------------------- */

/* Route child: list the request's comment children, or post one. */
static void submit_comment_children(struct fw_entry *en, enum fw_state step, const char *body)
{
	const struct cfg_cartegraph *g = &en->fw->o->cfg->cg;
	char path[1024];

	if (step == FW_CLIST)
		snprintf(path, sizeof(path), "%s/%" PRId64 "/%s?fields=Oid,%s",
		         en->fw->o->class_path, en->oid, g->comment_class, g->comment_field);
	else
		snprintf(path, sizeof(path), "%s/%" PRId64 "/%s", en->fw->o->class_path, en->oid,
		         g->comment_class);
	submit(en, step, step == FW_CLIST ? "GET" : "POST", path, body);
}

/* One read, then the write: a second read would add a call without
 * narrowing the window in which a person's write to the field is lost
 * (route notes); the routes field and child have no such window. */
static void start_notes(struct fw_entry *en)
{
	if (en->fw->o->cfg->cg.comment_route == CFG_COMMENTS_CHILD)
		submit_comment_children(en, FW_CLIST, NULL);
	else
		submit_notes_read(en);
}

static void start_list(struct fw_entry *en)
{
	submit_children(en, FW_ALIST, NULL);
}

static void with_oid(struct fw_entry *en)
{
	if (en->rec->kind == RECORD_COMMENT)
		start_notes(en);
	else
		start_list(en);
}

static void start_child(struct fw_entry *en)
{
	struct oms *o = en->fw->o;
	struct oms_entry *t = oms_track_get(o->track, en->issue);

	/* No note goes into a closed request; a photo still does: a child
	 * record changes nothing the crew wrote, and the resident's picture
	 * stays with the request (a close may overtake it after a crash). */
	if (t && (t->flags & OMS_T_CLOSED) && en->rec->kind == RECORD_COMMENT) {
		log_info("effect=none issue=%" PRId64 " record=%s reason=closed", en->issue,
		         en->name);
		done(en, "none");
		return;
	}
	if (t && (t->flags & OMS_T_CREATED)) {
		en->oid = t->oid;
		with_oid(en);
		return;
	}
	if (o->cfg->cg.external_id_field) {
		submit_lookup(en);
		return;
	}
	temp(en, "issue not known yet (no request created for it)");
}

/* The notes text of a one-row query; *out NULL when empty or null. */
static int notes_of(struct fw_entry *en, struct http_response *r, char **out)
{
	struct oms *o = en->fw->o;
	cJSON *root, *rows = parse_rows(r->body.data, r->body.len, o->cfg->cg.request_class, &root);
	const cJSON *v;

	*out = NULL;
	if (!rows)
		return -1;
	if (cJSON_GetArraySize(rows) < 1) {
		cJSON_Delete(root);
		return -2;
	}
	v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, 0), o->cfg->cg.comment_field);
	if (cJSON_IsString(v) && *v->valuestring)
		*out = strdup(v->valuestring);
	cJSON_Delete(root);
	return 0;
}

static void on_notes(struct fw_entry *en, struct http_response *r)
{
	struct oms *o = en->fw->o;
	const struct record_comment *cm = &en->rec->u.comment;
	struct buf body = BUF_INIT_CAP(MAP_JSON_MAX * 2);
	char *notes = NULL;
	struct err e;
	int rc = notes_of(en, r, &notes);

	err_clear(&e);
	if (rc == -1) {
		temp(en, "notes query: response is not the expected JSON");
		return;
	}
	if (rc == -2) {
		perm(en, "the Cartegraph request is gone (no row for its Oid)", r->status,
		     buf_str(&r->body));
		return;
	}
	if (map_cg_notes_have(notes, cm->comment_id)) {
		log_info("effect=none issue=%" PRId64 " oid=%" PRId64 " comment=%s record=%s "
		         "reason=note-present",
		         en->issue, en->oid, cm->comment_id, en->name);
		free(notes);
		done(en, "none");
		return;
	}
	if (map_cg_notes_body(o->cfg, en->oid, notes, cm, &body, &e) != ERR_OK) {
		free(notes);
		buf_release(&body);
		perm(en, e.msg, 0, NULL);
		return;
	}
	free(notes);
	en->read_ms = when_mono_ms();
	submit(en, FW_PUT, "PUT", o->class_path, buf_str(&body));
	buf_release(&body);
}

/* Route child: post the comment unless a child already carries its marker. */
static void on_comment_list(struct fw_entry *en, struct http_response *r)
{
	const struct cfg_cartegraph *g = &en->fw->o->cfg->cg;
	const struct record_comment *cm = &en->rec->u.comment;
	struct buf body = BUF_INIT_CAP(MAP_JSON_MAX);
	cJSON *root, *row, *rows;
	struct err e;
	int have = 0;

	err_clear(&e);
	rows = parse_rows(r->body.data, r->body.len, g->comment_class, &root);
	if (!rows) {
		temp(en, "comment query: response is not the expected JSON");
		return;
	}
	cJSON_ArrayForEach(row, rows)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, g->comment_field);
		if (cJSON_IsString(v) && map_cg_notes_have(v->valuestring, cm->comment_id))
			have = 1;
	}
	cJSON_Delete(root);
	if (have) {
		log_info("effect=none issue=%" PRId64 " oid=%" PRId64 " comment=%s record=%s "
		         "reason=note-present",
		         en->issue, en->oid, cm->comment_id, en->name);
		done(en, "none");
		return;
	}
	if (map_cg_comment_child_body(en->fw->o->cfg, cm, &body, &e) != ERR_OK) {
		buf_release(&body);
		perm(en, e.msg, 0, NULL);
		return;
	}
	submit_comment_children(en, FW_CPOST, buf_str(&body));
	buf_release(&body);
}

/* A comment is in Cartegraph: one line each; an append to the notes, a
 * field people write too, also says how long its window was and counts. */
static void noted(struct fw_entry *en)
{
	struct oms *o = en->fw->o;
	const struct cfg_cartegraph *g = &o->cfg->cg;
	const char *cid = en->rec->u.comment.comment_id;

	if (g->comment_route == CFG_COMMENTS_NOTES) {
		o->counts.notes_appends++;
		o->notes_total++;
		log_info("effect=note issue=%" PRId64 " oid=%" PRId64 " comment=%s route=notes "
		         "field=%s window_ms=%" PRIu64 " record=%s",
		         en->issue, en->oid, cid, g->comment_field, when_mono_ms() - en->read_ms,
		         en->name);
	} else {
		log_info("effect=note issue=%" PRId64 " oid=%" PRId64 " comment=%s route=%s "
		         "field=%s.%s record=%s",
		         en->issue, en->oid, cid,
		         g->comment_route == CFG_COMMENTS_CHILD ? "child" : "field",
		         g->comment_class, g->comment_field, en->name);
	}
	done(en, "note");
}

static void on_list(struct fw_entry *en, struct http_response *r)
{
	struct oms *o = en->fw->o;
	const char *url = en->rec->u.attachment.url;
	struct buf body = BUF_INIT_CAP(MAP_JSON_MAX);
	cJSON *root, *row, *rows;
	struct err e;
	int have = 0;

	err_clear(&e);
	rows = parse_rows(r->body.data, r->body.len, o->cfg->cg.attachment_class, &root);
	if (!rows) {
		temp(en, "attachment query: response is not the expected JSON");
		return;
	}
	cJSON_ArrayForEach(row, rows)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, o->cfg->cg.attachment_field);
		if (cJSON_IsString(v) && strcmp(v->valuestring, url) == 0)
			have = 1;
	}
	cJSON_Delete(root);
	if (have) {
		log_info("effect=none issue=%" PRId64 " oid=%" PRId64 " record=%s "
		         "reason=attachment-present",
		         en->issue, en->oid, en->name);
		done(en, "none");
		return;
	}
	if (map_cg_attachment_body(o->cfg, &en->rec->u.attachment, &body, &e) != ERR_OK) {
		buf_release(&body);
		perm(en, e.msg, 0, NULL);
		return;
	}
	submit_children(en, FW_ATTACH, buf_str(&body));
	buf_release(&body);
}

/* The index of the first row whose status is not a closed one; else -1
 * (open_only) or 0 (the first row, -1 when there is none). */
static int first_open_row(struct oms *o, const cJSON *rows, int open_only)
{
	int n = cJSON_GetArraySize(rows);

	for (int i = 0; i < n; i++) {
		struct map_cg_request rq;
		struct err e;
		int closed;

		if (map_cg_request_cjson(o->cfg, cJSON_GetArrayItem(rows, i), &rq, &e) != ERR_OK)
			continue;
		closed = rq.closed;
		map_cg_request_clear(&rq);
		if (!closed)
			return i;
	}
	return open_only || n < 1 ? -1 : 0;
}

static void on_lookup(struct fw_entry *en, struct http_response *r)
{
	struct oms *o = en->fw->o;
	struct map_cg_request rq;
	cJSON *root, *rows = parse_rows(r->body.data, r->body.len, o->cfg->cg.request_class, &root);
	int64_t gen = rec_gen(en->rec);
	struct err e;
	int n, pick;

	err_clear(&e);
	if (!rows) {
		temp(en, "lookup: response is not the expected JSON");
		return;
	}
	n = cJSON_GetArraySize(rows);
	if (n > 1 && gen == 1)
		log_warn("event=duplicate-requests issue=%" PRId64 " record=%s requests=%d "
		         "why=\"Cartegraph requests carry this SCF id; using %s\"",
		         en->issue, en->name, n,
		         en->rec->kind == RECORD_ISSUE ? "the first" : "the first not closed");
	/* An issue re-created after a reopening has its closed requests
	 * under the same SCF id: only one that is not closed can be the
	 * one this generation created (before a crash).  A comment or photo
	 * goes to the open one too. */
	pick = en->rec->kind != RECORD_ISSUE                       ? first_open_row(o, rows, 0)
	       : gen > 1 || record_key_resend_census(en->rec->key) ? first_open_row(o, rows, 1)
	                                                           : (n > 0 ? 0 : -1);
	if (pick < 0) {
		cJSON_Delete(root);
		if (en->rec->kind == RECORD_ISSUE)
			submit_create(en);
		else
			temp(en, "issue not known yet (no request carries its SCF id)");
		return;
	}
	if (map_cg_request_cjson(o->cfg, cJSON_GetArrayItem(rows, pick), &rq, &e) != ERR_OK) {
		cJSON_Delete(root);
		perm(en, e.msg, r->status, buf_str(&r->body));
		return;
	}
	cJSON_Delete(root);
	if (en->rec->kind == RECORD_ISSUE) {
		created(en, &rq, "found");
	} else {
		struct oms_entry *t = oms_track_add(o->track, en->issue);
		/* Known to Cartegraph but not to us (state lost): track it. */
		if (t && !(t->flags & OMS_T_CREATED)) {
			t->oid = rq.oid;
			t->flags |= OMS_T_CREATED;
			t->flags &= ~(unsigned)OMS_T_INTENT;
			oms_track_set_id(o->track, t, rq.request_id);
			oms_track_save(o->track, t, 0, &e);
		}
		en->oid = rq.oid;
		with_oid(en);
	}
	map_cg_request_clear(&rq);
}

static void on_created(struct fw_entry *en, struct http_response *r)
{
	struct oms *o = en->fw->o;
	struct map_cg_request rq;
	struct err e;

	err_clear(&e);
	if (map_cg_created(o->cfg, r->body.data, r->body.len, &rq, &e) != ERR_OK) {
		/* It may have been created: the intent stays, the retry looks
		 * it up first. */
		temp(en, e.msg);
		return;
	}
	created(en, &rq, "create");
	map_cg_request_clear(&rq);
}

/* EV_REPLY: the request of en's state ended; act on what came back. */
static void on_reply(struct fw_entry *en, enum err_status st, struct http_response *r,
                     const struct err *e)
{
	if (failed(en, st, r, e))
		return;
	switch (en->st) {
	case FW_LOOKUP:
		on_lookup(en, r);
		break;
	case FW_CREATE:
		on_created(en, r);
		break;
	case FW_READ:
		on_notes(en, r);
		break;
	case FW_CLIST:
		on_comment_list(en, r);
		break;
	case FW_PUT:
	case FW_CPOST:
		noted(en);
		break;
	case FW_ALIST:
		on_list(en, r);
		break;
	case FW_ATTACH:
		log_info("effect=attachment issue=%" PRId64 " oid=%" PRId64 " record=%s", en->issue,
		         en->oid, en->name);
		done(en, "attachment");
		break;
	default:
		perm(en, "internal: a reply in a state without a request", 0, NULL);
		break;
	}
}

/* EV_START: the entry's turn (its issue has nothing earlier unfinished). */
static void on_start(struct fw_entry *en)
{
	switch (en->rec->kind) {
	case RECORD_ISSUE:
		start_issue(en);
		break;
	case RECORD_COMMENT:
	case RECORD_ATTACHMENT:
		start_child(en);
		break;
	case RECORD_CENSUS: {
		/* kept on disk; the reconciliation runs after the pass */
		const char *effect = "none";
		struct err e;
		err_clear(&e);
		if (oms_census_store(en->fw->o, en->rec, &effect, &e) == ERR_OK)
			done(en, effect);
		else if (e.status == ERR_PERM)
			perm(en, e.msg, 0, NULL);
		else
			temp(en, e.msg);
		break;
	}
	default:
		perm(en, "not an outbound record kind", 0, NULL);
		break;
	}
}

/*
 * The one transition function: every state change of an entry after it
 * entered the window starts here (the handlers it calls set the next
 * state through set_state: a request's state by submit, or ACK, RETRY,
 * DONE, FAIL, FATAL).  Called only from fw_step, never from inside the
 * HTTP client.
 */
static void transition(struct fw_entry *en, enum fw_event ev)
{
	switch (ev) {
	case EV_START:
		if (en->st == FW_WAIT || en->st == FW_RETRY)
			on_start(en);
		break;
	case EV_SYNCED: {
		char *body = en->create_body;

		en->create_body = NULL;
		if (en->st == FW_INTENT && body)
			submit(en, FW_CREATE, "POST", en->fw->o->class_path, body);
		else if (en->st == FW_INTENT)
			temp(en, "out of memory");
		free(body);
		break;
	}
	case EV_REPLY: {
		struct fw_reply *rp = &en->reply;
		struct http_response r;
		struct err e;

		http_response_init(&r);
		r.status = rp->status;
		err_clear(&e);
		if (rp->st != ERR_OK)
			err_set(&e, rp->st, "%s", rp->why ? rp->why : "out of memory");
		free(rp->why);
		rp->why = NULL;
		/* The body was capped by the client already. */
		if (rp->body && buf_add(&r.body, rp->body, rp->len) != ERR_OK && rp->st == ERR_OK)
			err_set(&e, ERR_TEMP, "out of memory");
		free(rp->body);
		rp->body = NULL;
		if (e.status != ERR_OK && rp->st == ERR_OK)
			temp(en, e.msg);
		else
			on_reply(en, rp->st, &r, &e);
		http_response_release(&r);
		break;
	}
	}
}

/* done() of every request: note the reply on the entry; fw_step acts on
 * it once the client has returned. */
static void note_reply(void *user, enum err_status st, struct http_response *r, const struct err *e)
{
	struct fw_entry *en = user;
	struct fw *fw = en->fw;
	struct fw_reply *rp = &en->reply;

	rp->st = st;
	rp->status = r ? r->status : 0;
	rp->body = r && r->body.data ? buf_detach(&r->body, &rp->len) : NULL;
	rp->why = st != ERR_OK ? strdup(e && e->msg[0] ? e->msg : "request failed") : NULL;
	if (fw->sending)
		fw->sending--;
	en->next_reply = NULL;
	*fw->replies_tail = en;
	fw->replies_tail = &en->next_reply;
}

static void send_request(struct fw_entry *en, const char *method, const char *path,
                         const char *body)
{
	struct oms *o = en->fw->o;
	struct err e;

	err_clear(&e);
	/* Writes go through the client that never repeats a request: a
	 * repeat after a lost reply could create twice.  The record-level
	 * retry checks Cartegraph first instead. */
	if (http_submit(strcmp(method, "GET") == 0 ? o->http : o->http_w, method, path, body, NULL,
	                note_reply, en, &e) != ERR_OK) {
		temp(en, e.msg);
		return;
	}
	en->fw->sending++;
}

/* Enter state st with its request: sent now when a slot is free, else
 * kept on the entry (park) until unpark finds one, so that at most
 * <concurrency> transfers are in flight, reads and writes together.
 * method is a literal ("GET", "POST", "PUT"). */
static void submit(struct fw_entry *en, enum fw_state st, const char *method, const char *path,
                   const char *body)
{
	struct fw *fw = en->fw;

	set_state(en, st);
	if (fw->sending < fw->o->opts.concurrency) {
		send_request(en, method, path, body);
		return;
	}
	en->park_method = method;
	en->park_path = strdup(path);
	en->park_body = body ? strdup(body) : NULL;
	if (!en->park_path || (body && !en->park_body)) {
		free(en->park_path);
		free(en->park_body);
		en->park_path = en->park_body = NULL;
		temp(en, "out of memory");
	}
}

/* Send the parked requests, in window order, while slots are free. */
static void unpark(struct fw *fw)
{
	for (size_t i = 0; i < fw->n && fw->sending < fw->o->opts.concurrency; i++) {
		struct fw_entry *en = fw->win[i];
		char *path = en->park_path, *body = en->park_body;

		if (!path)
			continue;
		en->park_path = en->park_body = NULL;
		send_request(en, en->park_method, path, body);
		free(path);
		free(body);
	}
}

/* ---- the window ------------------------------------------------------------ */

/* A photo stands on its own: nothing later of its issue depends on it, so
 * an attachment that waits, retries, is held or failed holds back none of
 * the issue's later records (a resident's comment still reaches the
 * request when its photo cannot be attached). */
static int orders_issue(const struct fw_entry *en)
{
	return !(en->rec && (en->rec->kind == RECORD_ATTACHMENT || en->rec->kind == RECORD_CENSUS));
}

static void record_blocked(struct fw *fw, struct fw_entry *en, int blocked)
{
	struct oms_entry *t = blocked ? oms_track_add(fw->o->track, en->issue)
	                              : oms_track_get(fw->o->track, en->issue);

	if (!t || !!(t->flags & OMS_T_BLOCKED) == !!blocked)
		return;
	if (blocked)
		t->flags |= OMS_T_BLOCKED;
	else
		t->flags &= ~(unsigned)OMS_T_BLOCKED;
	oms_track_save(fw->o->track, t, 0, NULL);
}

/* The record kind of an entry as an index of the per-kind counters. */
static size_t kind_index(const struct fw_entry *en)
{
	size_t k = en->rec ? (size_t)en->rec->kind : 0;

	return k < 8 ? k : 0;
}

/* Move the head's file to where its outcome says; 0 when settled. */
static int settle_head(struct fw *fw, struct fw_entry *en)
{
	struct spool_why why = {
	    .reason = en->why, .http_status = (int)en->why_status, .body = en->why_body};
	struct oms *o = fw->o;
	enum err_status st = ERR_OK;
	size_t ki = kind_index(en); /* the record goes with its file */
	struct err e;

	err_clear(&e);
	if (fw->replay) {
		if (en->st == FW_DONE)
			o->counts.applied++;
		else
			o->counts.failed++;
		return 0;
	}
	switch (en->st) {
	case FW_DONE:
		st = spool_complete(o->out_q, en->item, &e);
		if (st == ERR_OK) {
			o->counts.applied++;
			o->applied_kind[ki]++;
			record_blocked(fw, en, 0);
		}
		break;
	case FW_FAIL:
		log_error("effect=failed issue=%" PRId64 " record=%s status=%ld reason=%s",
		          en->issue, en->name, en->why_status, log_q(en->why));
		if (orders_issue(en))
			record_blocked(fw, en, 1);
		st = spool_fail(o->out_q, en->item, &why, &e);
		if (st == ERR_OK) {
			o->counts.failed++;
			o->failed_kind[ki]++;
		}
		break;
	default:
		log_warn("effect=hold issue=%" PRId64 " record=%s reason=%s", en->issue, en->name,
		         log_q(en->why));
		st = spool_hold_claimed(o->out_q, en->item, &why, &e);
		if (st == ERR_OK) {
			o->counts.held++;
			o->held_kind[ki]++;
		}
		break;
	}
	if (st != ERR_OK) {
		log_error("event=spool-error record=%s why=%s", en->name, log_q(e.msg));
		return -1;
	}
	en->item = NULL;
	en->rec = NULL;
	return 0;
}

/* Entries at the front that carry a claimed item (or are orphans). */
static size_t claimed_front(struct fw *fw)
{
	size_t front = 0;

	while (front < fw->n && (fw->win[front]->item || fw->win[front]->orphan))
		front++;
	return front;
}

static int has_head(struct fw *fw)
{
	for (size_t i = 0; i < fw->n; i++)
		if (fw->win[i]->item && !fw->win[i]->reinjected)
			return 1;
	return 0;
}

/* Claim the next record and find it in the window (or add it). */
static int claim_head(struct fw *fw)
{
	struct spool_item *it;
	struct fw_entry *en = NULL;
	struct err e;
	size_t k, at;

	err_clear(&e);
	if (spool_claim(fw->o->out_q, &it, &e) != ERR_OK) {
		fw->queue_empty = !has_head(fw);
		return -1;
	}
	fw->queue_empty = 0;
	if (!it->reinjected) {
		snprintf(fw->producer, sizeof(fw->producer), "%s", it->rec->producer);
		if (fw->next_peek <= it->rec->seq)
			fw->next_peek = it->rec->seq + 1;
		/* Read-ahead entries in front of it were passed over by the
		 * spool (held or skipped by an operator meanwhile). */
		for (k = 0; k < fw->n; k++) {
			struct fw_entry *p = fw->win[k];
			if (p->item || p->orphan ||
			    strcmp(p->rec->producer, it->rec->producer) != 0)
				continue;
			if (p->seq == it->rec->seq)
				en = p;
			else if (p->seq < it->rec->seq) {
				log_warn("event=dropped record=%s why=\"passed over by the spool\"",
				         p->name);
				p->orphan = 1;
			}
		}
	}
	if (en) {
		record_free(en->rec);
		en->item = it;
		en->rec = it->rec;
		return 0;
	}
	en = entry_new(fw, it->name, it->rec->seq, NULL, it);
	at = claimed_front(fw);
	if (!en || win_insert(fw, at, en) != 0) {
		if (en)
			entry_free(en);
		else
			spool_defer(fw->o->out_q, it, NULL);
		return -1;
	}
	return 0;
}

/* List records behind the head in new/ (verified, not claimed) through
 * the consumer: their claims then take the verified records. */
#define PEEK_BATCH 32

static void peek(struct fw *fw)
{
	struct oms *o = fw->o;
	struct spool_peeked pk[PEEK_BATCH];

	while (fw->producer[0] && fw->n < o->window) {
		size_t want = o->window - fw->n, n = 0;

		if (want > PEEK_BATCH)
			want = PEEK_BATCH;
		if (spool_peek(o->out_q, fw->producer, fw->next_peek, pk, want, &n, NULL) != ERR_OK)
			return;
		for (size_t i = 0; i < n; i++) {
			struct fw_entry *en = entry_new(fw, pk[i].name, pk[i].seq, pk[i].rec, NULL);

			if (!en || win_insert(fw, fw->n, en) != 0) {
				if (en)
					entry_free(en); /* took the record */
				else
					spool_peeked_release(&pk[i]);
				while (++i < n)
					spool_peeked_release(&pk[i]);
				return;
			}
			fw->next_peek = pk[i].seq + 1;
		}
		if (n < want)
			return; /* the end of what is there */
	}
}

/* 1 when p was committed before en by the same producer: the sequence
 * decides, not the place in the window (a re-injected record is claimed
 * out of order and may stand in front of the records it follows). */
static int precedes(const struct fw_entry *p, const struct fw_entry *en)
{
	return p->seq < en->seq && p->rec && en->rec &&
	       strcmp(p->rec->producer, en->rec->producer) == 0;
}

enum gate { GATE_GO, GATE_WAIT, GATE_HOLD };

/* Earlier unfinished records of the same issue decide for en. */
static enum gate gate(struct fw *fw, size_t i, const char **why, char *buf, size_t size)
{
	struct fw_entry *en = fw->win[i];
	struct oms_entry *t;

	for (size_t j = 0; j < fw->n; j++) {
		struct fw_entry *p = fw->win[j];
		if (j == i || p->issue != en->issue || p->orphan || !orders_issue(p) ||
		    !precedes(p, en))
			continue;
		if (p->st == FW_FAIL || p->st == FW_HOLD) {
			snprintf(buf, size, "blocked behind %s of the same issue", p->name);
			*why = buf;
			return GATE_HOLD;
		}
		if (p->st != FW_DONE && p->st != FW_ACK)
			return GATE_WAIT;
	}
	t = oms_track_get(fw->o->track, en->issue);
	if (t && (t->flags & OMS_T_BLOCKED) && !en->reinjected && !fw->replay) {
		snprintf(buf, size, "blocked behind a failed record of issue %" PRId64, en->issue);
		*why = buf;
		return GATE_HOLD;
	}
	return GATE_GO;
}

/* Start every entry whose turn it is (their requests wait for a slot in
 * submit; their create intents share one sync). */
static void dispatch_ready_1(struct fw *fw)
{
	struct oms *o = fw->o;
	uint64_t now = when_mono_ms();
	char buf[256];

	for (size_t i = 0; i < fw->n && !o->fatal; i++) {
		struct fw_entry *en = fw->win[i];
		const char *why = NULL;
		enum gate g;
		if (en->orphan ||
		    (en->st != FW_WAIT && !(en->st == FW_RETRY && en->not_before <= now)))
			continue;
		/* A --once round gives up on a record after its tries, even
		 * while another record's back-off keeps the round going. */
		if (en->st == FW_RETRY && fw->once && en->temp_n >= ONCE_TEMP_TRIES)
			continue;
		if (o->opts.stop && *o->opts.stop)
			return;
		g = gate(fw, i, &why, buf, sizeof(buf));
		if (g == GATE_HOLD) {
			set_why(en, why, 0, NULL);
			set_state(en, FW_HOLD);
		} else if (g == GATE_GO) {
			transition(en, EV_START);
		}
	}
}

static void dispatch_ready(struct fw *fw)
{
	fw->batch_intents = 1;
	dispatch_ready_1(fw);
	fw->batch_intents = 0;
	flush_intents(fw);
}

/* A fatal outcome of a client stops the half. */
static void http_outcome(struct oms *o, enum err_status st, const struct err *e)
{
	if (st == ERR_FATAL && !o->fatal) {
		o->fatal = 1;
		o->fatal_err = *e;
	}
}

/* Send what was submitted, without waiting: the requests travel while
 * the step does its disk work. */
static void send_now(struct fw *fw)
{
	struct oms *o = fw->o;
	struct err de;

	err_clear(&de);
	unpark(fw);
	if (http_pending(o->http_w))
		http_outcome(o, http_step(o->http_w, 0, &de), &de);
	if (!o->fatal && http_pending(o->http))
		http_outcome(o, http_step(o->http, 0, &de), &de);
}

/*
 * One step of the window, called by the loop and never from inside the
 * HTTP client: act on the replies that came back, settle finished heads
 * in order, claim and list more records, start what may start, send it,
 * and commit the waiting acks as one group.
 */
static void fw_step(struct fw *fw)
{
	struct oms *o = fw->o;
	int again = 1;

	fw->moved = 0;
	fw->stepped_at = when_mono_ms();
	while (fw->replies) {
		struct fw_entry *en = fw->replies;

		fw->replies = en->next_reply;
		if (!fw->replies)
			fw->replies_tail = &fw->replies;
		en->next_reply = NULL;
		transition(en, EV_REPLY);
	}
	/* What the replies freed starts and leaves first; the settling and
	 * claiming below is disk work that the requests then overlap. */
	if (!o->fatal) {
		dispatch_ready(fw);
		send_now(fw);
	}
	while (again && !o->fatal) {
		again = 0;
		if (!fw->replay && !has_head(fw) && !(o->opts.stop && *o->opts.stop) &&
		    claim_head(fw) == 0)
			again = 1;
		/* Every finished claimed record settles, wherever it stands: a
		 * re-injected one waiting in front (its issue not known yet, a
		 * back-off) must not hold back the in-order head behind it.  Only
		 * one in-order record is claimed at a time, so the spool's order
		 * is kept; the issue's order is the gate's (by sequence). */
		for (size_t i = 0; i < fw->n;) {
			struct fw_entry *h = fw->win[i];
			if (h->orphan && !busy_state(h->st)) {
				entry_free(h);
			} else if ((h->item || fw->replay) && settled_state(h->st)) {
				if (settle_head(fw, h) != 0)
					return;
				entry_free(h);
			} else {
				i++;
				continue;
			}
			win_remove(fw, i);
			again = 1;
		}
		/* Settle as far as possible first, then read ahead and start
		 * the round at once (one intent sync for its creates). */
		if (again)
			continue;
		if (!fw->replay)
			peek(fw);
		dispatch_ready(fw);
		/* Acks go out in groups: when enough wait, or when nothing else
		 * is in flight to overlap with.  The round's requests leave
		 * first, so the commit overlaps with them. */
		{
			size_t waiting = count_state(fw, FW_ACK);
			if (waiting && (waiting * 2 >= o->window || fw->inflight == 0 ||
			                (o->opts.stop && *o->opts.stop))) {
				send_now(fw);
				flush_acks(fw);
				again = 1;
			}
		}
	}
	if (!o->fatal)
		send_now(fw);
}

/* Let the clients move their transfers: wait on the one that has
 * requests; with both busy, turn by turn with short waits, so a reply
 * in either is acted on within a millisecond or two. */
static void transfer(struct fw *fw)
{
	struct oms *o = fw->o;
	size_t pw = http_pending(o->http_w), pr = http_pending(o->http);
	struct err de;

	err_clear(&de);
	if (!pw && !pr) {
		/* Every entry with a request state has its request queued or
		 * in flight, or its reply noted; anything else is a bug, and
		 * the loop would wait for nothing. */
		err_set(&de, ERR_FATAL, "internal: %zu records wait for requests that do not exist",
		        fw->inflight);
		http_outcome(o, ERR_FATAL, &de);
		return;
	}
	if (pw)
		http_outcome(o, http_step(o->http_w, pr ? 0 : FW_WAIT_MS, &de), &de);
	if (!o->fatal && pr && !fw->replies)
		http_outcome(o, http_step(o->http, pw ? 1 : FW_WAIT_MS, &de), &de);
}

static struct fw *fw_new(struct oms *o, int replay)
{
	struct fw *fw = calloc(1, sizeof(*fw));

	if (fw) {
		fw->o = o;
		fw->replay = replay;
		fw->replies_tail = &fw->replies;
	}
	return fw;
}

/* Requests still queued or in flight (a fatal stop) are completed
 * unsent and their replies dropped: nothing may refer to the window
 * after it is gone. */
static void fw_cancel(struct fw *fw)
{
	struct oms *o = fw->o;

	if (http_pending(o->http_w))
		http_cancel(o->http_w, "the forward window stopped");
	if (http_pending(o->http))
		http_cancel(o->http, "the forward window stopped");
	while (fw->replies) {
		struct fw_entry *en = fw->replies;

		fw->replies = en->next_reply;
		en->next_reply = NULL;
		free(en->reply.body);
		free(en->reply.why);
		en->reply.body = en->reply.why = NULL;
	}
	fw->replies_tail = &fw->replies;
}

/* Give claimed, unfinished records back to new/ and drop the window. */
static void fw_free(struct fw *fw)
{
	if (!fw)
		return;
	fw_cancel(fw);
	flush_acks(fw);
	for (size_t i = 0; i < fw->n; i++) {
		struct fw_entry *en = fw->win[i];
		if (en->item && !fw->replay) {
			if (settled_state(en->st) && settle_head(fw, en) == 0) {
				/* settled in order: everything in front was settled too */
			} else if (spool_defer(fw->o->out_q, en->item, NULL) == ERR_OK) {
				en->item = NULL;
				en->rec = NULL;
			}
		}
		entry_free(en);
	}
	free(fw->win);
	free(fw);
}

/* Earliest retry time among waiting entries; 0 if none waits. */
static uint64_t next_retry(struct fw *fw, int once, int *exhausted)
{
	uint64_t best = 0;

	*exhausted = 0;
	for (size_t i = 0; i < fw->n; i++) {
		struct fw_entry *en = fw->win[i];
		if (en->st != FW_RETRY)
			continue;
		if (once && en->temp_n >= ONCE_TEMP_TRIES) {
			*exhausted = 1;
			continue;
		}
		if (!best || en->not_before < best)
			best = en->not_before;
	}
	return best;
}

static size_t count_waiting(struct fw *fw)
{
	size_t n = 0;

	for (size_t i = 0; i < fw->n; i++)
		if (!settled_state(fw->win[i]->st))
			n++;
	return n;
}

/* How soon a --once round looks again for a record whose file is still
 * arriving (the head's claim not possible yet). */
#define FW_ARRIVING_MS 200

/*
 * One turn of the forwarder: step the window, let the transfers move.
 * It never sleeps (the network waits at most FW_WAIT_MS inside
 * transfer): OMS_FW_MORE while there is more to do at once (requests in
 * flight, replies to act on); with once, OMS_FW_WAIT and *until when
 * nothing can move before then (the earliest back-off end of a record
 * with tries left, or FW_ARRIVING_MS for an arriving file); OMS_FW_DONE
 * when nothing is in flight and nothing more can start now (*st
 * ERR_FATAL when the half must stop, e says why).  After a stop it goes
 * on until the requests in flight are answered, and never waits.
 */
static enum oms_fw_next run_step(struct oms *o, struct fw *fw, int once, uint64_t *until,
                                 enum err_status *st, struct err *e)
{
	uint64_t when;
	int exhausted;

	*until = 0;
	fw->once = once;
	/* While requests travel and nothing came back or moved, the window
	 * is looked at again only every FW_WAIT_MS (a back-off that ended, a
	 * record that arrived). */
	if (fw->replies || fw->moved || !fw->inflight ||
	    when_mono_ms() - fw->stepped_at >= FW_WAIT_MS)
		fw_step(fw);
	if (fw->inflight && !fw->replies && !o->fatal)
		transfer(fw);
	if (o->fatal) {
		*e = o->fatal_err;
		*st = ERR_FATAL;
		return OMS_FW_DONE;
	}
	if (fw->inflight || fw->replies)
		return OMS_FW_MORE;
	if (o->opts.stop && *o->opts.stop)
		return OMS_FW_DONE;
	fw_step(fw);
	if (fw->inflight || fw->replies)
		return OMS_FW_MORE;
	if (o->fatal)
		return OMS_FW_MORE; /* reported at the top */
	if (fw->n == 0)
		return OMS_FW_DONE;
	when = next_retry(fw, once, &exhausted);
	if (!when) {
		if (fw->replay || exhausted || fw->queue_empty || !once)
			return OMS_FW_DONE;
		*until = when_mono_ms() + FW_ARRIVING_MS;
		return OMS_FW_WAIT;
	}
	if (!once)
		return OMS_FW_DONE; /* the daemon comes back */
	*until = when;
	return OMS_FW_WAIT;
}

/* After the last run_step of a round. */
static enum err_status run_end(struct oms *o, struct fw *fw, enum err_status st)
{
	if (st != ERR_OK)
		fw_cancel(fw);
	if (st == ERR_OK)
		o->counts.waiting = count_waiting(fw);
	return st;
}

enum err_status oms_forward_begin(struct oms *o, struct err *e)
{
	enum err_status st;

	/* A field-map check an outage left pending comes first. */
	st = oms_meta_pending(o, e);
	if (st != ERR_OK) {
		oms_health_meta(o, st, e->msg);
		oms_health_save(o, 1);
		return st;
	}
	if (!o->meta_pending)
		oms_health_meta(o, ERR_OK, NULL);
	/* The daemon keeps its window between calls, so records waiting out
	 * a back-off keep their schedule. */
	if (!o->fw && !(o->fw = fw_new(o, 0)))
		return err_set(e, ERR_TEMP, "out of memory");
	/* `scfgate spool retry --now`: the operator fixed something. */
	if (spool_consumer_take_retry_now(o->out_q))
		for (size_t i = 0; i < o->fw->n; i++)
			if (o->fw->win[i]->st == FW_RETRY) {
				o->fw->win[i]->not_before = 0;
				log_info("effect=retry-now record=%s", o->fw->win[i]->name);
			}
	o->fw_round_t0 = when_mono_ms();
	o->fw_round_before = o->counts.applied + o->counts.failed + o->counts.held;
	o->fw_round_st = ERR_OK;
	return ERR_OK;
}

enum oms_fw_next oms_forward_step(struct oms *o, int once, uint64_t *until_ms, struct err *e)
{
	return run_step(o, o->fw, once, until_ms, &o->fw_round_st, e);
}

enum err_status oms_forward_end(struct oms *o, int once, struct err *e)
{
	enum err_status st = run_end(o, o->fw, o->fw_round_st);

	o->pass_ms[0] = when_mono_ms() - o->fw_round_t0;
	if (once || st != ERR_OK)
		oms_forward_release(o);
	oms_track_maybe_compact(o->track, NULL);
	oms_health_forward(
	    o, st, e, o->counts.applied + o->counts.failed + o->counts.held != o->fw_round_before,
	    st == ERR_OK && !once ? o->counts.waiting : 0);
	return st;
}

void oms_forward_release(struct oms *o)
{
	if (!o->fw)
		return;
	fw_free(o->fw);
	o->fw = NULL;
}

/* ---- replay ------------------------------------------------------------------ */

struct replay_ctx {
	struct fw *fw;
	const struct half_replay_sel *sel;
	enum err_status st;
	struct err *e;
};

static int replay_one(const struct spool_entry *ent, void *ctx)
{
	struct replay_ctx *rc = ctx;
	struct oms *o = rc->fw->o;
	char path[SPOOL_PATH_MAX];
	struct record *rec = NULL;
	struct fw_entry *en;
	int verified = 0;

	if (!half_replay_selected(rc->sel, ent))
		return 0;
	if (spool_path(path, o->cfg->spool.root, HALF_OUTBOUND, SPOOL_DONE, ent->name, rc->e) !=
	        ERR_OK ||
	    spool_read_record(path, o->pub, &rec, &verified, rc->e) != ERR_OK) {
		rc->st = rc->e->status;
		return 1;
	}
	en = entry_new(rc->fw, ent->name, rec->seq, rec, NULL);
	if (!en || win_insert(rc->fw, rc->fw->n, en) != 0) {
		entry_free(en);
		rc->st = err_set(rc->e, ERR_TEMP, "out of memory");
		return 1;
	}
	return 0;
}

enum err_status oms_replay(const struct cfg *c, const struct half_replay_sel *sel,
                           size_t *n_replayed, struct err *e)
{
	struct oms_opts opts;
	struct replay_ctx rc;
	struct oms *o = NULL;
	enum err_status st, rst = ERR_OK;

	memset(&opts, 0, sizeof(opts));
	memset(&rc, 0, sizeof(rc));
	if (n_replayed)
		*n_replayed = 0;
	st = oms_open(&o, c, &opts, e);
	if (st != ERR_OK)
		return st;
	rc.fw = fw_new(o, 1);
	rc.sel = sel;
	rc.e = e;
	if (!rc.fw) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	st = spool_list(c->spool.root, HALF_OUTBOUND, SPOOL_DONE, replay_one, &rc, e);
	if (st == ERR_OK)
		st = rc.st;
	/* The same steps as a --once round; the waits they ask for (a
	 * record's back-off) are napped here, as half_loop does. */
	while (st == ERR_OK) {
		uint64_t until = 0, now;
		enum oms_fw_next nx = run_step(o, rc.fw, 1, &until, &rst, e);

		if (nx == OMS_FW_DONE) {
			st = run_end(o, rc.fw, rst);
			break;
		}
		now = when_mono_ms();
		if (nx == OMS_FW_WAIT && until > now)
			sigs_wait_ms(o->opts.stop, until - now);
	}
	if (st == ERR_OK && o->counts.failed)
		st = err_set(e, ERR_PERM, "replay: %zu of %zu records could not be applied",
		             o->counts.failed, o->counts.failed + o->counts.applied);
	if (n_replayed)
		*n_replayed = o->counts.applied;
out:
	fw_free(rc.fw);
	oms_free(o);
	return st;
}
