/*
 * scf_writeback.c: apply inbound ack/close records to SeeClickFix, and
 * replay done ones (see scf.h).  Every effect is decided from the issue's
 * current status first, which is what makes a repeat (crash, retried
 * POST, replay) harmless.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "map.h"
#include "scf_impl.h"

struct issue_now {
	char status[24];
	int can_ack, can_close; /* transitions offered */
};

static enum err_status get_issue(struct http_client *http, int64_t id, struct issue_now *out,
                                 long *hs, struct buf *body, struct err *e)
{
	struct http_response resp;
	char path[64];
	cJSON *doc = NULL;
	const cJSON *st, *tr;
	enum err_status s;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/issues/%" PRId64, id);
	http_response_init(&resp);
	s = http_request(http, "GET", path, NULL, NULL, &resp, e);
	*hs = resp.status;
	if (s != ERR_OK) {
		if (body && resp.body.data)
			buf_add(body, resp.body.data, resp.body.len);
		goto out;
	}
	doc = cJSON_ParseWithLength(resp.body.data ? resp.body.data : "", resp.body.len);
	st = doc ? cJSON_GetObjectItemCaseSensitive(doc, "status") : NULL;
	if (!cJSON_IsString(st)) {
		s = err_set(e, ERR_TEMP, "GET %s: no status in the reply (%zu bytes)", path,
		            resp.body.len);
		goto out;
	}
	snprintf(out->status, sizeof(out->status), "%s", st->valuestring);
	tr = cJSON_GetObjectItemCaseSensitive(doc, "transitions");
	out->can_ack = cJSON_GetObjectItemCaseSensitive(tr, "acknowledge_url") != NULL;
	out->can_close = cJSON_GetObjectItemCaseSensitive(tr, "close_url") != NULL;
out:
	cJSON_Delete(doc);
	http_response_release(&resp);
	return s;
}

/* Why the transition needs no POST, or NULL if it does. */
static const char *already(enum record_kind k, const struct issue_now *n)
{
	if (strcmp(n->status, "Archived") == 0)
		return "issue is Archived; SCF allows no transition";
	if (k == RECORD_ACK) {
		if (strcmp(n->status, "Acknowledged") == 0)
			return "already Acknowledged";
		if (strcmp(n->status, "Closed") == 0)
			return "already Closed (beyond Acknowledged)";
		return NULL;
	}
	if (strcmp(n->status, "Closed") == 0)
		return "already Closed";
	return NULL;
}

static enum err_status post_transition(struct http_client *http, int64_t id, const char *action,
                                       const char *text, long *hs, struct buf *body, struct err *e)
{
	struct http_response resp;
	char path[80];
	cJSON *o = cJSON_CreateObject();
	char *json = NULL;
	enum err_status s;

	if (!o || !cJSON_AddStringToObject(o, "comment", text) ||
	    !(json = cJSON_PrintUnformatted(o))) {
		cJSON_Delete(o);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	cJSON_Delete(o);
	snprintf(path, sizeof(path), "/issues/%" PRId64 "/%s", id, action);
	http_response_init(&resp);
	s = http_request(http, "POST", path, json, "application/json", &resp, e);
	*hs = resp.status;
	if (body && resp.body.data) {
		buf_reset(body);
		buf_add(body, resp.body.data, resp.body.len);
	}
	http_response_release(&resp);
	free(json);
	return s;
}

/* The issue as the last complete pass saw it, if that is known. */
static int known_issue(const struct scf_state *state, int64_t id, struct issue_now *out)
{
	char letter;

	memset(out, 0, sizeof(*out));
	if (!scf_known_get(state, id, &letter, &out->can_ack, &out->can_close))
		return 0;
	snprintf(out->status, sizeof(out->status), "%s",
	         letter == 'O'   ? "Open"
	         : letter == 'A' ? "Acknowledged"
	         : letter == 'C' ? "Closed"
	                         : "Archived");
	return 1;
}

enum err_status scf_wb_apply(struct http_client *http, const struct cfg *c, struct scf_state *state,
                             int fresh, const struct record *r, const char *name,
                             enum scf_wb_outcome *outcome, long *hs, struct buf *body,
                             struct err *e)
{
	int64_t id;
	const char *action, *why;
	struct issue_now now;
	struct buf text;
	enum err_status s;
	int seen = 0; /* decided on what a recent pass saw, without a GET */

	*hs = 0;
	if (r->kind == RECORD_ACK) {
		id = r->u.ack.issue_id;
		action = "acknowledge";
	} else if (r->kind == RECORD_CLOSE) {
		id = r->u.close.issue_id;
		action = "close";
	} else {
		return err_set(e, ERR_PERM, "%s: a %s record does not belong in the inbound queue",
		               name, record_kind_name(r->kind));
	}
	buf_init(&text, 0);
	s = r->kind == RECORD_ACK ? map_render_ack(c, &r->u.ack, &text, e)
	                          : map_render_close(c, &r->u.close, &text, e);
	if (s != ERR_OK)
		goto out;
	/* One call per transition: a recent pass already read the issue.  A
	 * view that offers no transition is not trusted to fail the record. */
	seen = fresh && known_issue(state, id, &now) &&
	       (already(r->kind, &now) || (r->kind == RECORD_ACK ? now.can_ack : now.can_close));
	if (!seen) {
		s = get_issue(http, id, &now, hs, body, e);
		if (s != ERR_OK)
			goto out;
	}
	why = already(r->kind, &now);
	if (!why && !(r->kind == RECORD_ACK ? now.can_ack : now.can_close)) {
		s = err_set(e, ERR_PERM,
		            "SCF issue %" PRId64 " is %s and offers no %s transition (does the API "
		            "user have the permission?)",
		            id, now.status, action);
		goto out;
	}
	if (why) {
		*outcome = SCF_WB_ALREADY;
		log_info("effect=%s-skipped issue=%" PRId64 " record=%s why=\"%s%s\"",
		         record_kind_name(r->kind), id, name, why,
		         seen ? " (as the last pass saw it)" : "");
		goto closed;
	}
	s = post_transition(http, id, action, buf_str(&text), hs, body, e);
	if (s == ERR_PERM || s == ERR_TEMP) {
		/* The POST may have been applied by an attempt whose reply was
		 * lost; SCF then refuses the repeat.  Ask once more. */
		struct issue_now again;
		long hs2;
		struct err ge;
		enum err_status gs = get_issue(http, id, &again, &hs2, NULL, &ge);

		if (gs == ERR_OK && (why = already(r->kind, &again))) {
			*outcome = SCF_WB_ALREADY;
			log_info("effect=%s-skipped issue=%" PRId64 " record=%s why=\"%s (after "
			         "a failed POST)\"",
			         record_kind_name(r->kind), id, name, why);
			s = ERR_OK;
			goto closed;
		}
		if (gs != ERR_OK && s == ERR_PERM) {
			/* A refusal is only final once the issue is seen not to
			 * be in the wanted state; unseen, try again later. */
			s = err_set(e, ERR_TEMP,
			            "POST %s refused (HTTP %ld) and the issue could not be re-read "
			            "(%s); will ask again",
			            action, *hs, ge.msg);
		}
	}
	if (s != ERR_OK)
		goto out;
	*outcome = SCF_WB_APPLIED;
	log_info("effect=%s issue=%" PRId64 " record=%s http=%ld", record_kind_name(r->kind), id,
	         name, *hs);
	/* The comment the transition made must not come back as a citizen's,
	 * and the next transition of this issue needs no GET either. */
	if (state && (scf_self_note_posted(state, id, body ? body->data : NULL,
	                                   body ? body->len : 0, buf_str(&text)) != ERR_OK ||
	              (r->kind == RECORD_ACK && scf_known_set(state, id, 'A', "c") != ERR_OK))) {
		s = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
closed:
	if (r->kind == RECORD_CLOSE && state) {
		char key[64];

		snprintf(key, sizeof(key), "issue/%" PRId64, id);
		scf_state_forget_issue(state, id);
		if (scf_state_put(state, key, "W") != ERR_OK)
			s = err_set(e, ERR_TEMP, "out of memory");
	}
out:
	buf_release(&text);
	return s;
}

static int64_t inbound_issue(const struct record *r)
{
	return r->kind == RECORD_ACK     ? r->u.ack.issue_id
	       : r->kind == RECORD_CLOSE ? r->u.close.issue_id
	                                 : 0;
}

/* One claimed item: complete, fail, defer or (fatal) put back. */
static enum err_status settle(struct scf_half *h, struct spool_item *it, int *more, struct err *e)
{
	enum scf_wb_outcome oc = SCF_WB_APPLIED;
	struct buf body;
	long hs = 0;
	enum err_status s, s2 = ERR_OK;
	struct err ae, se;
	int64_t id = inbound_issue(it->rec);

	buf_init(&body, (size_t)64 * 1024);
	err_clear(&ae);
	if (it->rec->kind == RECORD_RESEND)
		s = scf_resend_apply(h, it->rec, it->name, &ae);
	else if (it->rec->kind == RECORD_RECONCILE)
		s = scf_reconcile_apply(h, it->rec, it->name, &ae);
	else
		s = scf_wb_apply(h->http, h->c, h->st, scf_known_fresh(h), it->rec, it->name, &oc,
		                 &hs, &body, &ae);
	switch (s) {
	case ERR_OK:
		if (oc == SCF_WB_ALREADY)
			h->stats.already_done++;
		else if (it->rec->kind == RECORD_ACK)
			h->stats.acks_applied++;
		else if (it->rec->kind == RECORD_CLOSE)
			h->stats.closes_applied++;
		/* What was posted is saved before the record is done: the next
		 * process must know the comment as ours. */
		if (it->rec->kind == RECORD_CLOSE || oc == SCF_WB_APPLIED) {
			scf_state_set_seq(h->st, spool_producer_next_seq(h->prod));
			s2 = scf_state_save(h->st, &se);
		}
		if (s2 != ERR_OK) {
			/* Not completed: the next claim repeats it, which is safe. */
			log_error("event=state-save issue=%" PRId64 " record=%s why=%s", id,
			          it->name, log_q(se.msg));
			h->wb_temp_n++;
			snprintf(h->wb_temp_why, sizeof(h->wb_temp_why), "%.480s", se.msg);
			s2 = spool_defer(h->cons, it, &se);
			*more = 0;
		} else {
			s2 = spool_complete(h->cons, it, &se);
		}
		break;
	case ERR_TEMP:
		h->stats.wb_deferred++;
		h->wb_temp_n++;
		snprintf(h->wb_temp_why, sizeof(h->wb_temp_why), "%.480s", ae.msg);
		log_warn("event=deferred issue=%" PRId64 " record=%s why=%s", id, it->name,
		         log_q(ae.msg));
		s2 = spool_defer(h->cons, it, &se);
		*more = 0;
		break;
	case ERR_PERM: {
		struct spool_why why = {ae.msg, (int)hs, body.len ? buf_str(&body) : NULL, NULL};

		h->stats.wb_failed++;
		if (it->rec->kind == RECORD_ACK || it->rec->kind == RECORD_CLOSE)
			h->wb_failed_kind[it->rec->kind == RECORD_ACK ? 0 : 1]++;
		log_error("event=failed issue=%" PRId64 " record=%s http=%ld why=%s", id, it->name,
		          hs, log_q(ae.msg));
		s2 = spool_fail(h->cons, it, &why, &se);
		break;
	}
	default:
		log_alert("event=stopped issue=%" PRId64 " record=%s why=%s", id, it->name,
		          log_q(ae.msg));
		h->alerted = 1;      /* the loop's stop (scf_half.c) does not log it again */
		spool_item_free(it); /* recovery at the next open puts cur/ back */
		buf_release(&body);
		return err_set(e, ERR_FATAL, "%s", ae.msg);
	}
	buf_release(&body);
	if (s2 != ERR_OK) {
		log_error("event=spool issue=%" PRId64 " why=%s", id, log_q(se.msg));
		*more = 0;
	}
	return ERR_OK;
}

enum err_status scf_writeback(struct scf_half *h, struct err *e)
{
	int more = 1;
	unsigned settled = 0;
	uint64_t deferred = h->stats.wb_deferred;

	/* `scfgate spool retry --now`: the operator fixed something. */
	if (spool_consumer_take_retry_now(h->cons))
		h->wb_backoff_until = 0;
	/* skipped: not an attempt, for the health record (scf_half.c) */
	h->wb_skipped = h->wb_backoff_until && when_mono_ms() < h->wb_backoff_until;
	if (h->wb_skipped)
		return ERR_OK;
	while (more && !scf_stopping(h) && !scf_wb_yield(h, settled)) {
		struct spool_item *it = NULL;
		struct err ce;
		enum err_status s = spool_claim(h->cons, &it, &ce);

		if (s == ERR_TEMP)
			break; /* empty, gap, or a file still arriving */
		if (s != ERR_OK) {
			return err_set(e, s, "inbound: %s", ce.msg);
		}
		s = settle(h, it, &more, e);
		if (s != ERR_OK)
			return s;
		settled++;
	}
	/* A deferred record comes back first; wait before asking SCF again
	 * (2 s, 4 s, ... up to the poll interval, the second half of each
	 * random, as the OMS half's records wait). */
	if (h->stats.wb_deferred != deferred) {
		unsigned cap = h->c->scf.poll_seconds;

		h->wb_backoff_until =
		    when_mono_ms() +
		    half_backoff_ms(&h->jitter, 2000, (uint64_t)cap * 1000, h->wb_backoff);
		h->wb_backoff++;
	} else {
		h->wb_backoff = 0;
		h->wb_backoff_until = 0;
	}
	return ERR_OK;
}

/* ---- replay ------------------------------------------------------------------ */

struct sel_ctx {
	const struct half_replay_sel *sel;
	char **names;
	size_t n, cap;
};

static int select_one(const struct spool_entry *ent, void *vctx)
{
	struct sel_ctx *x = vctx;

	if (!half_replay_selected(x->sel, ent))
		return 0;
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 16;
		char **nn = realloc(x->names, nc * sizeof(*nn));

		if (!nn)
			return 1;
		x->names = nn;
		x->cap = nc;
	}
	if (!(x->names[x->n] = strdup(ent->name)))
		return 1;
	x->n++;
	return 0;
}

enum err_status scf_replay(const struct cfg *c, const struct half_replay_sel *sel,
                           struct scf_replay_result *res, struct err *e)
{
	struct http_client *http = NULL;
	struct scf_budget budget = {0};
	struct sig_key *peer = NULL;
	struct sel_ctx x = {sel, NULL, 0, 0};
	enum err_status s;

	memset(res, 0, sizeof(*res));
	s = sig_load_public(c->spool.peer_public_key, &peer, e);
	if (s != ERR_OK)
		goto out;
	s = spool_list(c->spool.root, HALF_INBOUND, SPOOL_DONE, select_one, &x, e);
	if (s != ERR_OK)
		goto out;
	if (sel->n_names && x.n != sel->n_names) {
		s = err_set(e, ERR_PERM,
		            "replay: %zu of %zu named records are not in inbound/done/",
		            sel->n_names - x.n, sel->n_names);
		goto out;
	}
	/* SCF counts calls per client account, not per process: replay
	 * spends the same persisted budget as the daemon. */
	s = scf_budget_open(&budget, c, NULL, e);
	if (s == ERR_OK)
		s = scf_open_http(c, NULL, &budget.lim, &http, e);
	if (s != ERR_OK)
		goto out;
	for (size_t i = 0; i < x.n; i++) {
		char path[SPOOL_PATH_MAX];
		struct record *r = NULL;
		enum scf_wb_outcome oc;
		int verified = 0;
		long hs;
		struct err re;

		s = spool_path(path, c->spool.root, HALF_INBOUND, SPOOL_DONE, x.names[i], e);
		if (s != ERR_OK)
			goto out;
		s = spool_read_record(path, peer, &r, &verified, e);
		if (s != ERR_OK) {
			err_prefix(e, "replay: %s: ", x.names[i]);
			goto out;
		}
		res->selected++;
		/* The daemon owns the state; a replayed close finds the issue
		 * Closed (the daemon marked it when it applied it first). */
		s = scf_wb_apply(http, c, NULL, 0, r, x.names[i], &oc, &hs, NULL, &re);
		record_free(r);
		if (s == ERR_FATAL) {
			err_set(e, s, "%s", re.msg);
			goto out;
		}
		if (s != ERR_OK) {
			res->failed++;
			log_error("event=replay-failed record=%s why=%s", x.names[i],
			          log_q(re.msg));
		} else if (oc == SCF_WB_ALREADY) {
			res->already++;
		} else {
			res->applied++;
		}
		s = ERR_OK;
	}
out:
	for (size_t i = 0; i < x.n; i++)
		free(x.names[i]);
	free(x.names);
	http_client_free(http);
	scf_budget_close(&budget);
	sig_key_free(peer);
	return s;
}
