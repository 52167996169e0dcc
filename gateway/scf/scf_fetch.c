/*
 * scf_fetch.c: one fetch pass of the SCF half and the crash recovery of
 * its seen-state (see scf.h).
 *
 * Page numbers are used as SCF offers them, but a list sorted by
 * updated_at shifts while it is read: an issue updated during the pass
 * moves to the end, the items behind it move up one place, and one of
 * them may fall between two pages unseen.  Such a move always shows as
 * the same issue read twice in one pass.  When that happens the watermark
 * advances only to the last updated_at of the page where the moved issue
 * was first read, so the next pass re-reads everything that could have
 * slipped through (the seen-state makes re-reading free of duplicates).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "map.h"
#include "scf_impl.h"
#include "jdoc.h"

#define MAX_PAGES 100000
/* Save the state after every page while it is small (about 1.5 MB). */
#define SAVE_ALWAYS_BELOW 20000
#define SAVE_EVERY        10

/* Issue id -> pass page where first read (open addressing). */
struct seen_ids {
	int64_t *id;
	unsigned *page;
	size_t n, cap;
};

static void seen_release(struct seen_ids *s)
{
	free(s->id);
	free(s->page);
	memset(s, 0, sizeof(*s));
}

static int seen_grow(struct seen_ids *s)
{
	struct seen_ids t = {0};

	t.cap = s->cap ? s->cap * 2 : 256;
	t.id = calloc(t.cap, sizeof(*t.id));
	t.page = calloc(t.cap, sizeof(*t.page));
	if (!t.id || !t.page) {
		seen_release(&t);
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->id[i])
			continue;
		for (j = (size_t)s->id[i] * 2654435761u % t.cap; t.id[j]; j = (j + 1) % t.cap)
			;
		t.id[j] = s->id[i];
		t.page[j] = s->page[i];
	}
	t.n = s->n;
	seen_release(s);
	*s = t;
	return 0;
}

/* 0: first time (recorded); else the page where it was first read. */
static unsigned seen_add(struct seen_ids *s, int64_t id, unsigned page)
{
	size_t j;

	if ((s->n + 1) * 2 > s->cap && seen_grow(s) != 0)
		return 0;
	for (j = (size_t)id * 2654435761u % s->cap; s->id[j]; j = (j + 1) % s->cap)
		if (s->id[j] == id)
			return s->page[j];
	s->id[j] = id;
	s->page[j] = page;
	s->n++;
	return 0;
}

/* ---- records of one page ------------------------------------------------- */

struct batch {
	struct record **r;
	size_t n, cap;
};

static enum err_status batch_push(struct batch *b, struct record *r, struct err *e)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 32;
		struct record **nr = realloc(b->r, nc * sizeof(struct record *));

		if (!nr) {
			record_free(r);
			return err_set(e, ERR_TEMP, "out of memory");
		}
		b->r = nr;
		b->cap = nc;
	}
	b->r[b->n++] = r;
	return ERR_OK;
}

static void batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		record_free(b->r[i]);
	b->n = 0;
}

/* 1 if a record with this key is already waiting in the batch. */
static int batch_has(const struct batch *b, const char *key)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->r[i]->key, key) == 0)
			return 1;
	return 0;
}

/* ---- state keys ------------------------------------------------------------ */

static const char *status_letter(const char *status)
{
	if (!status)
		return "?";
	if (strcmp(status, "Open") == 0)
		return "O";
	if (strcmp(status, "Acknowledged") == 0)
		return "A";
	if (strcmp(status, "Closed") == 0)
		return "C";
	if (strcmp(status, "Archived") == 0)
		return "X";
	return "?";
}

/* The generation of the issue's last request: 1 unless it was re-created
 * ("gen/<id>"). */
static int64_t scf_generation(const struct scf_state *st, int64_t id)
{
	char key[64];
	const char *v;
	int64_t g;

	snprintf(key, sizeof(key), "gen/%" PRId64, id);
	v = scf_state_get(st, key);
	g = v ? strtoll(v, NULL, 10) : 1;
	return g > 1 ? g : 1;
}

/* Mark what a committed (or recovered) record stands for as seen. */
static enum err_status note_record(struct scf_state *st, const struct record *r)
{
	char key[128], h[17];
	enum err_status s = ERR_OK;

	switch (r->kind) {
	case RECORD_ISSUE:
		/* The status lives under "issue/<id>" whatever the record's key
		 * (a re-created issue's is "issue/<id>/<generation>"). */
		snprintf(key, sizeof(key), "issue/%" PRId64, r->u.issue.issue_id);
		s = scf_state_put(st, key, status_letter(r->u.issue.status));
		if (s == ERR_OK &&
		    r->u.issue.generation > scf_generation(st, r->u.issue.issue_id)) {
			char g[24];

			snprintf(key, sizeof(key), "gen/%" PRId64, r->u.issue.issue_id);
			snprintf(g, sizeof(g), "%" PRId64, r->u.issue.generation);
			s = scf_state_put(st, key, g);
		}
		for (size_t i = 0; s == ERR_OK && i < r->u.issue.n_comments; i++) {
			const struct record_comment *cm = &r->u.issue.comments[i];

			snprintf(key, sizeof(key), "comment/%" PRId64 "/%s", cm->issue_id,
			         cm->comment_id);
			scf_text_hash(cm->text, h);
			s = scf_state_put(st, key, h);
		}
		/* A resend is done once per census: a repeat finds it here. */
		if (s == ERR_OK && record_key_resend_census(r->key)) {
			snprintf(key, sizeof(key), "resent/%s/%" PRId64,
			         record_key_resend_census(r->key), r->u.issue.issue_id);
			s = scf_state_put(st, key, "-");
		}
		return s;
	case RECORD_COMMENT:
		scf_text_hash(r->u.comment.text, h);
		return scf_state_put(st, r->key, h);
	case RECORD_ATTACHMENT:
		return scf_state_put(st, r->key, "-");
	default:
		return ERR_OK;
	}
}

/* ---- one issue object ------------------------------------------------------- */

struct pass {
	struct scf_half *h;
	struct batch b;
	int dirty;        /* state changed without a record */
	int accept_ack;   /* resync --acknowledged: a never-sent Acknowledged issue is sent */
	uint64_t already; /* resync: selected issues the state knew */
};

int64_t scf_json_id(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t n;

	/* Range first: converting a double outside int64_t (1e400 reads as
	 * infinity) is undefined behaviour. */
	if (cJSON_IsNumber(v))
		return v->valuedouble >= 1 && v->valuedouble <= 9007199254740992.0 &&
		               v->valuedouble == floor(v->valuedouble)
		           ? (int64_t)v->valuedouble
		           : 0;
	if (!cJSON_IsString(v))
		return 0;
	n = strlen(v->valuestring);
	if (n < 1 || n > 18 || strspn(v->valuestring, "0123456789") != n)
		return 0;
	return strtoll(v->valuestring, NULL, 10);
}

static enum err_status push_attachment(struct pass *p, int64_t id, const char *cid, const char *url,
                                       struct err *e)
{
	struct record *r;
	enum err_status s;
	struct err me;

	if (!url)
		return ERR_OK;
	s = map_attachment_record(id, cid, url, &r, &me);
	if (s == ERR_PERM) {
		log_warn("event=attachment-skipped issue=%" PRId64 " comment=%s why=%s", id,
		         cid ? cid : "-", log_q(me.msg));
		return ERR_OK;
	}
	if (s != ERR_OK)
		return err_set(e, s, "%s", me.msg);
	if (scf_state_get(p->h->st, r->key) || batch_has(&p->b, r->key)) {
		record_free(r);
		return ERR_OK;
	}
	return batch_push(&p->b, r, e);
}

/* Our own comments never travel, whatever the system-comment policy: an
 * issue first seen with one (state lost, a reopened issue) loses it from
 * the record; the next pass marks it seen as not forwarded. */
static void drop_own_comments(struct scf_half *h, struct record_issue *is)
{
	size_t k = 0;

	for (size_t i = 0; i < is->n_comments; i++) {
		struct record_comment *cm = &is->comments[i];
		char why[128];

		if (!scf_self_why(h->st, cm, why, sizeof(why))) {
			is->comments[k++] = *cm;
			continue;
		}
		h->stats.comments_not_forwarded++;
		log_info("event=comment-not-forwarded issue=%" PRId64 " key=comment/%" PRId64
		         "/%s why=%s",
		         cm->issue_id, cm->issue_id, cm->comment_id ? cm->comment_id : "-",
		         log_q(why));
		free(cm->comment_id);
		free(cm->created_at);
		free(cm->commenter_name);
		free(cm->text);
		free(cm->media_url);
		free(cm->source_json);
	}
	is->n_comments = k;
}

/* gen 0: an issue the state does not know; gen >= 2: one reopened in SCF
 * after its request was closed, sent again (reopen policy recreate), Open
 * or Acknowledged. */
/* The status named inside a log line's quoted reason: SeeClickFix's own
 * words, or a neutral phrase for anything else (the raw value follows,
 * quoted, in status=). */
static const char *skip_status_word(const char *status)
{
	static const char *const known[] = {"Open", "Acknowledged", "Closed", "Archived"};
	size_t i;

	for (i = 0; status && i < sizeof known / sizeof known[0]; i++)
		if (strcmp(status, known[i]) == 0)
			return known[i];
	return status ? "in another status" : "without status";
}

static enum err_status new_issue(struct pass *p, const cJSON *obj, int64_t id, const char *status,
                                 int64_t gen, struct err *e)
{
	struct scf_half *h = p->h;
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(obj, "request_type");
	int64_t rt_id = rt ? scf_json_id(rt, "id") : 0;
	struct record *r;
	enum err_status s;
	struct err me;
	char key[64];

	if (!gen && status && strcmp(status, "Closed") == 0 && cfg_request_type(h->c, rt_id)) {
		/* Remembered, so that a later reopening meets the reopen policy
		 * like the reopening of an issue whose request was closed (an
		 * unmapped one would not be sent anyway). */
		h->stats.skipped_not_open++;
		log_info("event=skip issue=%" PRId64 " comments=%d why=\"first seen Closed: not "
		         "sent, nor its comments\"",
		         id, cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(obj, "comments")));
		snprintf(key, sizeof(key), "issue/%" PRId64, id);
		if (scf_state_put(h->st, key, "S") != ERR_OK)
			return err_set(e, ERR_TEMP, "out of memory");
		p->dirty = 1;
		return ERR_OK;
	}
	if (!status || (strcmp(status, "Open") != 0 &&
	                !((p->accept_ack || gen) && strcmp(status, "Acknowledged") == 0))) {
		/* Not remembered: logged each time it is read, with its
		 * comments, which are not sent either. */
		h->stats.skipped_not_open++;
		log_info("event=skip issue=%" PRId64 " comments=%d why=\"first seen %s: not sent, "
		         "nor its comments\" status=%s",
		         id, cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(obj, "comments")),
		         skip_status_word(status), log_q(status ? status : ""));
		return ERR_OK;
	}
	if (!cfg_request_type(h->c, rt_id)) {
		h->stats.skipped_unmapped++;
		log_info("event=skip issue=%" PRId64 " comments=%d why=\"request type %" PRId64
		         " is not mapped%s: not sent, nor its comments\"",
		         id, cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(obj, "comments")),
		         rt_id, gen ? " (reopened in SeeClickFix)" : "");
		return ERR_OK;
	}
	s = map_scf_issue_cjson(obj, h->c, &r, &me);
	if (s == ERR_PERM) {
		h->stats.skipped_bad++;
		log_error("event=bad-issue issue=%" PRId64 " why=%s", id, log_q(me.msg));
		return ERR_OK;
	}
	if (s != ERR_OK)
		return err_set(e, s, "%s", me.msg);
	if (gen) {
		/* Its own key: the OMS half tells a re-sent record of this
		 * generation (found, not created twice) from a new one. */
		snprintf(key, sizeof(key), "issue/%" PRId64 "/%" PRId64, id, gen);
		if (batch_has(&p->b, key)) {
			record_free(r); /* read twice in one page */
			return ERR_OK;
		}
		free(r->key);
		r->u.issue.generation = gen;
		if (!(r->key = strdup(key))) {
			record_free(r);
			return err_set(e, ERR_TEMP, "out of memory");
		}
	}
	drop_own_comments(h, &r->u.issue);
	s = batch_push(&p->b, r, e);
	if (s != ERR_OK)
		return s;
	/* The OMS half applies in sequence order: the issue first, so its
	 * request exists when the attachments arrive. */
	s = push_attachment(p, id, NULL, r->u.issue.media_url, e);
	if (s != ERR_OK)
		return s;
	for (size_t i = 0; i < r->u.issue.n_comments; i++) {
		const struct record_comment *cm = &r->u.issue.comments[i];

		if (map_comment_forward(h->c, cm)) {
			s = push_attachment(p, id, cm->comment_id, cm->media_url, e);
			if (s != ERR_OK)
				return s;
		}
	}
	return ERR_OK;
}

/* skip: NULL to forward per policy, else why the comment is not sent. */
static enum err_status tracked_comment(struct pass *p, const cJSON *co, int64_t id,
                                       const char *skip, struct err *e)
{
	struct scf_half *h = p->h;
	struct record *r;
	const char *seen, *own = NULL;
	char hash[17], own_why[128];
	enum err_status s;
	struct err me;

	s = map_scf_comment_cjson(co, id, h->c, &r, &me);
	if (s == ERR_PERM) {
		log_error("event=bad-comment issue=%" PRId64 " why=%s", id, log_q(me.msg));
		return ERR_OK;
	}
	if (s != ERR_OK)
		return err_set(e, s, "%s", me.msg);
	scf_text_hash(r->u.comment.text, hash);
	seen = scf_state_get(h->st, r->key);
	if (seen || batch_has(&p->b, r->key)) {
		if (seen && strcmp(seen, hash) != 0) {
			h->stats.comments_edited++;
			log_info("event=comment-edited issue=%" PRId64 " key=%s why=\"edited after "
			         "it was sent; the edit is not sent\"",
			         id, r->key);
			scf_state_put(h->st, r->key, hash);
			p->dirty = 1;
		}
		record_free(r);
		return ERR_OK;
	}
	if (skip || (own = scf_self_why(h->st, &r->u.comment, own_why, sizeof(own_why))) ||
	    !map_comment_forward(h->c, &r->u.comment)) {
		h->stats.comments_not_forwarded++;
		log_info("event=comment-not-forwarded issue=%" PRId64 " key=%s why=%s", id, r->key,
		         log_q(skip  ? skip
		               : own ? own
		                     : "system comment (policy)"));
		s = scf_state_put(h->st, r->key, hash);
		p->dirty = 1;
		record_free(r);
		return s == ERR_OK ? ERR_OK : err_set(e, s, "out of memory");
	}
	{
		char cid[128];
		/* a copy: batch_push takes r, and the URL with it */
		char *url = r->u.comment.media_url ? strdup(r->u.comment.media_url) : NULL;

		snprintf(cid, sizeof(cid), "%s", r->u.comment.comment_id);
		s = batch_push(&p->b, r, e);
		if (s == ERR_OK)
			s = push_attachment(p, id, cid, url, e);
		free(url);
	}
	return s;
}

static enum err_status tracked_issue(struct pass *p, const cJSON *obj, int64_t id, const char *was,
                                     const char *status, struct err *e)
{
	struct scf_half *h = p->h;
	const char *now = status_letter(status);
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(obj, "comments");
	const cJSON *media = cJSON_GetObjectItemCaseSensitive(obj, "media");
	const cJSON *co;
	char key[64];
	int closed = now[0] == 'C' || now[0] == 'X';
	enum err_status s;

	if (strcmp(was, now) != 0) {
		snprintf(key, sizeof(key), "issue/%" PRId64, id);
		log_info("event=status issue=%" PRId64 " from=%s to=%s", id, was, now);
		if (scf_state_put(h->st, key, now) != ERR_OK)
			return err_set(e, ERR_TEMP, "out of memory");
		p->dirty = 1;
	}
	/* A crash inside a group commit rolls the whole group forward at the
	 * next open, but an I/O error can stop one half-way: repair a missing
	 * issue photo here. */
	if (!closed && media) {
		s = push_attachment(p, id, NULL, jdoc_get_str(media, "image_full"), e);
		if (s != ERR_OK)
			return s;
	}
	cJSON_ArrayForEach(co, cs)
	{
		s = tracked_comment(p, co, id, closed ? "issue is closed" : NULL, e);
		if (s != ERR_OK)
			return s;
	}
	return ERR_OK;
}

/* The comments of an issue no longer synced that are newer than its
 * last close: each is logged once with the reason and remembered, never
 * dropped silently.  Older ones were handled while it was tracked. */
static enum err_status skip_new_comments(struct pass *p, const cJSON *obj, int64_t id,
                                         const char *why, struct err *e)
{
	int64_t closed_at = scf_time_parse(jdoc_get_str(obj, "closed_at"));
	const cJSON *co;
	enum err_status s;

	cJSON_ArrayForEach(co, cJSON_GetObjectItemCaseSensitive(obj, "comments"))
	{
		if (scf_time_parse(jdoc_get_str(co, "created_at")) <= closed_at)
			continue;
		s = tracked_comment(p, co, id, why, e);
		if (s != ERR_OK)
			return s;
	}
	return ERR_OK;
}

/*
 * An issue the half no longer syncs: W (its request was closed by
 * write-back), S (first seen Closed, never sent) or R (reopened in SCF
 * after either, ignored by the reopen policy).  Seen Open or
 * Acknowledged again, W and S are reopenings: the policy (ignore) logs
 * it, counts it (R, shown by `scfgate status`) and sends nothing; closed
 * again, R returns to W.  Both ways are the same for an issue first seen
 * Closed and for one whose request the crew closed.
 */
static enum err_status note_transitions(struct pass *p, int64_t id, const cJSON *obj,
                                        struct err *e);

static enum err_status untracked_issue(struct pass *p, const cJSON *obj, int64_t id, char was,
                                       const char *status, struct err *e)
{
	struct scf_half *h = p->h;
	const char *now = status_letter(status);
	int open = now[0] == 'O' || now[0] == 'A';
	char key[64];

	snprintf(key, sizeof(key), "issue/%" PRId64, id);
	if (open && h->c->scf.reopen == CFG_REOPEN_RECREATE) {
		/* Sent again as the issue stands (its comments and photos
		 * with it): the OMS half creates a new request and tracks it
		 * like any other.  An issue ignored before (R, the policy was
		 * ignore then) is sent now too. */
		int64_t gen = scf_generation(h->st, id) + 1;
		enum err_status s;

		log_warn("event=reopen-recreate issue=%" PRId64 " status=%s generation=%" PRId64
		         " why=\"reopened in SeeClickFix after %s; the reopen policy is recreate: "
		         "sent again for a new Cartegraph request\"",
		         id, log_q(status), gen,
		         was == 'W'   ? "its request was closed"
		         : was == 'S' ? "it was first seen Closed"
		                      : "it was closed (reopening ignored then)");
		s = new_issue(p, obj, id, status, gen, e);
		if (s == ERR_OK) {
			for (size_t i = 0; i < p->b.n; i++)
				if (p->b.r[i]->kind == RECORD_ISSUE &&
				    p->b.r[i]->u.issue.issue_id == id) {
					h->stats.reopens_recreated++;
					s = note_transitions(p, id, obj, e);
					break;
				}
		}
		return s;
	}
	if (open && was != 'R') {
		h->stats.reopens_ignored++;
		log_warn("event=reopen-ignored issue=%" PRId64 " status=%s why=\"reopened in "
		         "SeeClickFix after %s; the reopen policy is ignore: nothing is sent\"",
		         id, log_q(status),
		         was == 'W' ? "its request was closed" : "it was first seen Closed");
		if (scf_state_put(h->st, key, "R") != ERR_OK)
			return err_set(e, ERR_TEMP, "out of memory");
		p->dirty = 1;
	} else if (!open && was == 'R') {
		log_info("event=status issue=%" PRId64 " from=R to=W why=\"closed again\"", id);
		if (scf_state_put(h->st, key, "W") != ERR_OK)
			return err_set(e, ERR_TEMP, "out of memory");
		p->dirty = 1;
	}
	if (was == 'S' && !open)
		return skip_new_comments(p, obj, id,
		                         "the issue was first seen Closed and never sent", e);
	return skip_new_comments(p, obj, id,
	                         open || was == 'R'
	                             ? "issue reopened after its request was closed (reopen policy "
	                               "ignore)"
	                             : "the request is closed (closed by write-back)",
	                         e);
}

/* What the issue offers now, for a write-back without a GET first. */
static enum err_status note_transitions(struct pass *p, int64_t id, const cJSON *obj, struct err *e)
{
	if (scf_known_note(p->h->st, id, obj, &p->dirty) != ERR_OK)
		return err_set(e, ERR_TEMP, "out of memory");
	return ERR_OK;
}

static enum err_status one_issue(struct pass *p, const cJSON *obj, struct err *e)
{
	int64_t id = scf_json_id(obj, "id");
	const char *status = jdoc_get_str(obj, "status");
	const char *was;
	char key[64];

	p->h->stats.issues_seen++;
	if (id <= 0) {
		p->h->stats.skipped_bad++;
		log_error("event=bad-issue why=\"issue object without a usable id\"");
		return ERR_OK;
	}
	snprintf(key, sizeof(key), "issue/%" PRId64, id);
	was = scf_state_get(p->h->st, key);
	if (!was) {
		enum err_status s = new_issue(p, obj, id, status, 0, e);

		if (s == ERR_OK && batch_has(&p->b, key))
			s = note_transitions(p, id, obj, e);
		return s;
	}
	p->already++;
	if (was[0] == 'W' || was[0] == 'S' || was[0] == 'R')
		return untracked_issue(p, obj, id, was[0], status, e);
	{
		char w[8];
		enum err_status s;

		snprintf(w, sizeof(w), "%s", was);
		s = tracked_issue(p, obj, id, w, status, e);
		return s == ERR_OK ? note_transitions(p, id, obj, e) : s;
	}
}

/* ---- commit ------------------------------------------------------------------ */

static void count_kind(struct scf_stats *s, enum record_kind k)
{
	if (k == RECORD_ISSUE)
		s->issue_records++;
	else if (k == RECORD_COMMENT)
		s->comment_records++;
	else if (k == RECORD_ATTACHMENT)
		s->attachment_records++;
}

static enum err_status save_state(struct scf_half *h, struct err *e)
{
	enum err_status s;

	/* The last good call and a fatal stop are in the half's status
	 * file now (half.h); one an older version recorded here is history
	 * once the half runs again. */
	scf_state_set_alert(h->st, 0, NULL);
	scf_state_set_seq(h->st, spool_producer_next_seq(h->prod));
	s = scf_state_save(h->st, e);
	if (s == ERR_OK)
		h->unsaved_pages = 0;
	return s;
}

/* Commit the page's records, then note them, then save the state: a
 * crash in between is what scf_recover repairs. */
static enum err_status commit_page(struct pass *p, struct err *e)
{
	struct scf_half *h = p->h;
	size_t done = 0;
	enum err_status s = ERR_OK, s2;
	struct err ce;

	err_clear(&ce);
	if (p->b.n) {
		s = spool_commit_group(h->prod, p->b.r, p->b.n, &done, &ce);
		h->commit_tried = 1;
	}
	for (size_t i = 0; i < done; i++) {
		const struct record *r = p->b.r[i];
		char name[RECORD_NAME_MAX];

		record_file_name(name, r->seq, r->producer);
		count_kind(&h->stats, r->kind);
		log_info("effect=%s issue=%" PRId64 " record=%s key=%s", record_kind_name(r->kind),
		         record_issue_id(r), name, r->key);
		if (note_record(h->st, r) != ERR_OK && s == ERR_OK)
			s = err_set(&ce, ERR_TEMP, "out of memory");
	}
	batch_clear(&p->b);
	if (done || p->dirty) {
		h->unsaved_pages++;
		p->dirty = 0;
	}
	/* A large state is written every SAVE_EVERY pages only: between
	 * saves the outbound spool is the journal (scf_recover re-reads it). */
	if (h->unsaved_pages &&
	    (scf_state_count(h->st) < SAVE_ALWAYS_BELOW || h->unsaved_pages >= SAVE_EVERY)) {
		struct err se;

		s2 = save_state(h, &se);
		if (s2 != ERR_OK && s == ERR_OK) {
			s = s2;
			ce = se;
		}
	}
	if (h->commit_tried || s != ERR_OK) {
		/* the health of commits, apart from the reads (scf_half.c) */
		h->commit_tried = 1;
		h->commit_s = s;
		snprintf(h->commit_why, sizeof(h->commit_why), "%.480s", s != ERR_OK ? ce.msg : "");
	}
	if (s != ERR_OK)
		return err_set(e, s, "%s", ce.msg);
	return ERR_OK;
}

/* ---- the pass ------------------------------------------------------------------ */

/* What one listing asks for. */
struct listq {
	const char *statuses;
	int64_t since;        /* updated_at_after; 0: none */
	int64_t request_type; /* request_types; 0: every type */
};

static enum err_status page_path(struct scf_half *h, const struct listq *q, unsigned page,
                                 struct buf *u)
{
	char tmp[64];
	enum err_status s;

	snprintf(tmp, sizeof(tmp), "/organizations/%" PRId64 "/issues", h->c->scf.org_id);
	s = buf_adds(u, tmp);
	if (s == ERR_OK)
		s = http_query_add(u, "status", q->statuses);
	if (s == ERR_OK && q->since > 0) {
		scf_time_format(q->since, tmp);
		s = http_query_add(u, "updated_at_after", tmp);
	}
	if (s == ERR_OK && q->request_type > 0) {
		snprintf(tmp, sizeof(tmp), "%" PRId64, q->request_type);
		s = http_query_add(u, "request_types", tmp);
	}
	if (s == ERR_OK)
		s = http_query_add(u, "sort", "updated_at");
	if (s == ERR_OK)
		s = http_query_add(u, "sort_direction", "ASC");
	if (s == ERR_OK)
		s = http_query_add(u, "details", "true");
	snprintf(tmp, sizeof(tmp), "%u", h->c->scf.per_page);
	if (s == ERR_OK)
		s = http_query_add(u, "per_page", tmp);
	snprintf(tmp, sizeof(tmp), "%u", page);
	if (s == ERR_OK)
		s = http_query_add(u, "page", tmp);
	return s;
}

enum err_status scf_page_parse(const char *body, size_t len, unsigned page, cJSON **doc,
                               const cJSON **issues, unsigned *next, struct err *e)
{
	const cJSON *md, *pg, *np, *errs;
	enum err_status s = ERR_OK;

	*next = 0;
	*issues = NULL;
	*doc = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
	if (!*doc || !cJSON_IsObject(*doc)) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = *doc || !at || !body || at < body || at > body + len
		                 ? len
		                 : (size_t)(at - body);

		s = err_set(
		    e, ERR_TEMP,
		    "page %u: response is not a JSON object (%zu bytes, bad near byte %zu); "
		    "watermark kept",
		    page, len, off);
		goto out;
	}
	errs = cJSON_GetObjectItemCaseSensitive(*doc, "errors");
	if (cJSON_IsObject(errs) && errs->child) {
		char *t = cJSON_PrintUnformatted(errs);

		s = err_set(e, ERR_TEMP, "page %u: SCF reported errors: %.200s", page, t ? t : "?");
		free(t);
		goto out;
	}
	*issues = cJSON_GetObjectItemCaseSensitive(*doc, "issues");
	if (!cJSON_IsArray(*issues)) {
		s = err_set(e, ERR_TEMP, "page %u: no \"issues\" array; watermark kept", page);
		goto out;
	}
	md = cJSON_GetObjectItemCaseSensitive(*doc, "metadata");
	pg = md ? cJSON_GetObjectItemCaseSensitive(md, "pagination") : NULL;
	np = pg ? cJSON_GetObjectItemCaseSensitive(pg, "next_page") : NULL;
	if (cJSON_IsNumber(np)) {
		/* Anything but the following page means the list is not what
		 * we think it is: better no watermark than a wrong one. */
		if (np->valuedouble != (double)page + 1)
			s = err_set(e, ERR_TEMP, "page %u: next_page is %.0f; watermark kept", page,
			            np->valuedouble);
		else
			*next = page + 1;
	} else if (cJSON_IsString(np) && strcmp(np->valuestring, "null") != 0) {
		s = err_set(e, ERR_TEMP,
		            "page %u: next_page is the string \"%.40s\"; watermark kept", page,
		            np->valuestring);
	} else if (np && !cJSON_IsNull(np) && !cJSON_IsString(np)) {
		s = err_set(e, ERR_TEMP, "page %u: next_page is neither a number nor null", page);
	}
out:
	if (s != ERR_OK) {
		cJSON_Delete(*doc);
		*doc = NULL;
		*issues = NULL;
		*next = 0;
	}
	return s;
}

/* Read one page: its issues array, the next page (0: none) and the
 * server's Date (-1 if absent). */
static enum err_status read_page(struct scf_half *h, const char *path, unsigned page, cJSON **doc,
                                 const cJSON **issues, unsigned *next, int64_t *date, struct err *e)
{
	struct http_response resp;
	enum err_status s;

	*doc = NULL;
	*date = -1;
	http_response_init(&resp);
	s = http_request(h->http, "GET", path, NULL, NULL, &resp, e);
	if (s != ERR_OK) {
		err_prefix(e, "page %u: ", page);
	} else {
		h->stats.pages++;
		*date = scf_http_date_parse(resp.date);
		s = scf_page_parse(resp.body.data, resp.body.len, page, doc, issues, next, e);
	}
	http_response_release(&resp);
	return s;
}

/* What a complete listing proves, for the watermark. */
struct listing {
	int64_t date0;   /* the server's Date of page 1; -1 unknown */
	int64_t max_upd; /* the largest updated_at read */
	int64_t safe_wm; /* -1, or where the watermark must stop (list shifted) */
};

/* Read every page of one listing and put each issue through one_issue,
 * committing page by page. */
static enum err_status list_all(struct pass *p, const struct listq *q, struct listing *l,
                                struct err *e)
{
	struct scf_half *h = p->h;
	struct seen_ids ids = {0};
	int64_t *page_last = NULL;
	unsigned page = 1, next = 0;
	enum err_status s = ERR_OK;
	struct buf path;

	l->date0 = -1;
	l->safe_wm = -1;
	buf_init(&path, (size_t)64 * 1024);
	for (; page <= MAX_PAGES; page = next) {
		cJSON *doc = NULL;
		const cJSON *issues = NULL, *it;
		int64_t *pl, date;

		if (scf_stopping(h)) {
			s = err_set(e, ERR_TEMP, "stopped before page %u; watermark kept", page);
			break;
		}
		buf_reset(&path);
		s = page_path(h, q, page, &path);
		if (s != ERR_OK) {
			err_set(e, s, "cannot build the list URL");
			break;
		}
		s = read_page(h, buf_str(&path), page, &doc, &issues, &next, &date, e);
		if (s != ERR_OK)
			break;
		if (page == 1)
			l->date0 = date;
		if (!(pl = realloc(page_last, (page + 1) * sizeof(*pl)))) {
			cJSON_Delete(doc);
			s = err_set(e, ERR_TEMP, "out of memory");
			break;
		}
		page_last = pl;
		page_last[page] = -1;
		cJSON_ArrayForEach(it, issues)
		{
			int64_t upd = scf_time_parse(jdoc_get_str(it, "updated_at"));
			unsigned first = seen_add(&ids, scf_json_id(it, "id"), page);

			if (first && (l->safe_wm < 0 || page_last[first] < l->safe_wm))
				l->safe_wm = page_last[first];
			if (upd > l->max_upd)
				l->max_upd = upd;
			if (upd > page_last[page])
				page_last[page] = upd;
			if (s == ERR_OK)
				s = one_issue(p, it, e);
		}
		cJSON_Delete(doc);
		if (s == ERR_OK)
			s = commit_page(p, e);
		else
			batch_clear(&p->b);
		if (s != ERR_OK || !next)
			break;
	}
	if (s == ERR_OK && next)
		s = err_set(e, ERR_TEMP, "more than %u pages; watermark kept", MAX_PAGES);
	free(page_last);
	seen_release(&ids);
	buf_release(&path);
	return s;
}

static enum err_status finish(struct scf_half *h, struct pass *p, enum err_status s, struct err *e)
{
	if (h->unsaved_pages) {
		struct err se;
		enum err_status s2 = save_state(h, &se);

		if (s2 != ERR_OK && s == ERR_OK)
			s = err_set(e, s2, "%s", se.msg);
	}
	h->stats.watermark = scf_state_watermark(h->st);
	free(p->b.r);
	p->b.r = NULL;
	return s;
}

/* ---- resync ---------------------------------------------------------------------- */

/* GET /issues/ID?details=true, as resync and resend read one issue: *doc
 * the issue (cJSON_Delete), or *missing = 1 and no document when
 * SeeClickFix has no such issue (404); a reply that is not that issue is
 * ERR_TEMP. */
static enum err_status get_issue(struct scf_half *h, int64_t id, cJSON **doc, int *missing,
                                 struct err *e)
{
	struct http_response resp;
	char path[96];
	enum err_status s;

	*doc = NULL;
	*missing = 0;
	snprintf(path, sizeof(path), "/issues/%" PRId64 "?details=true", id);
	http_response_init(&resp);
	s = http_request(h->http, "GET", path, NULL, NULL, &resp, e);
	if (s == ERR_PERM && resp.status == 404) {
		*missing = 1;
		s = ERR_OK;
	} else if (s != ERR_OK) {
		err_prefix(e, "issue %" PRId64 ": ", id);
	} else {
		*doc = cJSON_ParseWithLength(resp.body.data ? resp.body.data : "", resp.body.len);
		if (!cJSON_IsObject(*doc) || scf_json_id(*doc, "id") != id) {
			cJSON_Delete(*doc);
			*doc = NULL;
			s = err_set(e, ERR_TEMP, "issue %" PRId64 ": response is not that issue",
			            id);
		}
	}
	http_response_release(&resp);
	return s;
}

static enum err_status resync_issue(struct pass *p, int64_t id, struct scf_resync_result *res,
                                    struct err *e)
{
	cJSON *doc = NULL;
	int missing;
	enum err_status s;

	s = get_issue(p->h, id, &doc, &missing, e);
	if (s != ERR_OK)
		return s;
	if (missing) {
		res->missing++;
		log_warn("event=resync-missing issue=%" PRId64 " why=\"SeeClickFix has no such "
		         "issue (404)\"",
		         id);
		return ERR_OK;
	}
	s = one_issue(p, doc, e);
	if (s == ERR_OK)
		s = commit_page(p, e);
	else
		batch_clear(&p->b);
	cJSON_Delete(doc);
	return s;
}

enum err_status scf_resync(struct scf_half *h, const struct scf_resync_sel *sel,
                           struct scf_resync_result *res, struct err *e)
{
	struct pass p = {h, {0}, 0, sel->acknowledged, 0};
	struct scf_stats before = h->stats;
	enum err_status s = ERR_OK;

	memset(res, 0, sizeof(*res));
	s = scf_self_read(h, e);
	if (s != ERR_OK)
		return s;
	if (sel->n_issues) {
		for (size_t i = 0; i < sel->n_issues && s == ERR_OK; i++) {
			if (scf_stopping(h))
				s = err_set(e, ERR_TEMP, "stopped before issue %" PRId64,
				            sel->issues[i]);
			else
				s = resync_issue(&p, sel->issues[i], res, e);
		}
	} else {
		struct listq q = {sel->acknowledged ? "open,acknowledged" : "open", sel->since,
		                  sel->request_type};
		struct listing l = {-1, 0, -1};

		if (sel->since <= 0 && sel->request_type <= 0)
			return err_set(e, ERR_PERM, "resync: no selection");
		s = list_all(&p, &q, &l, e);
	}
	s = finish(h, &p, s, e);
	res->selected = h->stats.issues_seen - before.issues_seen;
	res->sent = h->stats.issue_records - before.issue_records;
	res->other_records = h->stats.comment_records - before.comment_records +
	                     h->stats.attachment_records - before.attachment_records;
	res->skipped = h->stats.skipped_unmapped - before.skipped_unmapped +
	               h->stats.skipped_not_open - before.skipped_not_open + h->stats.skipped_bad -
	               before.skipped_bad;
	res->already = p.already;
	return s;
}

/* ---- resend (an inbound resend record) ------------------------------------------ */

/* Done for this census: the issue record was committed, or the issue
 * was found not to need one. */
static enum err_status resend_mark(struct scf_half *h, const char *done_key, struct err *e)
{
	if (scf_state_put(h->st, done_key, "-") != ERR_OK)
		return err_set(e, ERR_TEMP, "out of memory");
	return save_state(h, e);
}

enum err_status scf_resend_issue(struct scf_half *h, int64_t id, const char *census_id,
                                 enum scf_resend_outcome *out, struct err *e)
{
	struct pass p = {h, {0}, 0, 0, 0};
	char key[160], done_key[160];
	int missing;
	const char *status, *why = NULL;
	const cJSON *rt;
	cJSON *doc = NULL;
	struct record *r = NULL;
	struct err me;
	int64_t gen;
	enum err_status s;

	*out = SCF_RESEND_SENT;
	s = record_resend_issue_key(key, sizeof(key), id, census_id, e);
	if (s != ERR_OK)
		return s;
	snprintf(done_key, sizeof(done_key), "resent/%s/%" PRId64, census_id, id);
	if (scf_state_get(h->st, done_key)) {
		*out = SCF_RESEND_ALREADY;
		return ERR_OK;
	}
	s = get_issue(h, id, &doc, &missing, e);
	if (s != ERR_OK)
		goto out;
	if (missing) {
		*out = SCF_RESEND_SKIPPED;
		log_warn("event=resend-skip census=%s issue=%" PRId64
		         " why=\"SeeClickFix has no such "
		         "issue (404)\"",
		         census_id, id);
		s = resend_mark(h, done_key, e);
		goto out;
	}
	/* As the issue stands now: one closed or re-typed since the census
	 * needs no request. */
	status = jdoc_get_str(doc, "status");
	rt = cJSON_GetObjectItemCaseSensitive(doc, "request_type");
	if (!status || (strcmp(status, "Open") != 0 && strcmp(status, "Acknowledged") != 0))
		why = "no longer Open or Acknowledged";
	else if (!cfg_request_type(h->c, rt ? scf_json_id(rt, "id") : 0))
		why = "its request type is not mapped";
	else {
		s = map_scf_issue_cjson(doc, h->c, &r, &me);
		if (s == ERR_PERM) {
			why = me.msg;
		} else if (s != ERR_OK) {
			s = err_set(e, s, "%s", me.msg);
			goto out;
		}
	}
	if (why) {
		*out = SCF_RESEND_SKIPPED;
		log_warn("event=resend-skip census=%s issue=%" PRId64 " status=%s why=%s",
		         census_id, id, log_q(status ? status : ""), log_q(why));
		s = resend_mark(h, done_key, e);
		goto out;
	}
	/* Its own key, so the OMS half makes sure a request exists (looks it
	 * up, creates only when none is found) instead of skipping an issue
	 * it already saw; the generation it had, if re-created. */
	free(r->key);
	r->key = strdup(key);
	gen = scf_generation(h->st, id);
	r->u.issue.generation = gen > 1 ? gen : 0;
	if (!r->key) {
		s = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	drop_own_comments(h, &r->u.issue);
	s = batch_push(&p.b, r, e);
	r = NULL; /* the batch's now (or freed) */
	if (s != ERR_OK)
		goto out_r;
	/* The photos again: a request made anew has none, and the OMS half
	 * checks a request's attachments before it adds one. */
	{
		const struct record_issue *is = &p.b.r[0]->u.issue;

		for (size_t i = 0; s == ERR_OK && i <= is->n_comments; i++) {
			const struct record_comment *cm = i ? &is->comments[i - 1] : NULL;
			const char *url = cm ? cm->media_url : is->media_url;
			struct record *a;

			if (!url || (cm && !map_comment_forward(h->c, cm)))
				continue;
			s = map_attachment_record(id, cm ? cm->comment_id : NULL, url, &a, &me);
			if (s == ERR_OK)
				s = batch_push(&p.b, a, e);
			else if (s == ERR_PERM)
				s = ERR_OK; /* logged when the issue was first sent */
			else
				s = err_set(e, s, "%s", me.msg);
		}
	}
	if (s == ERR_OK)
		s = commit_page(&p, e);
	if (s == ERR_OK && h->unsaved_pages)
		s = save_state(h, e);
out_r:
	batch_clear(&p.b);
	free(p.b.r);
out:
	record_free(r);
	cJSON_Delete(doc);
	return s;
}

/* ---- request types the configuration gained ------------------------------------ */

/*
 * The state remembers the mapped request types ("type/<id>").  A type
 * the configuration has and the state does not was added since the last
 * start: its Open issues older than the watermark were never read, so it
 * is resynchronised, and remembered only once that succeeded (a failure
 * retries at the next pass).  With no type remembered and no watermark
 * the half has never run: the first pass reads every Open issue anyway.
 * A type no longer configured is forgotten, so adding it back resyncs it.
 */
static enum err_status check_types(struct scf_half *h, struct err *e)
{
	int known = scf_state_count_prefix(h->st, "type/", NULL) > 0;
	int fresh = scf_state_watermark(h->st) == 0 && !known;
	int legacy = scf_state_watermark(h->st) > 0 && !known;
	enum err_status s = ERR_OK;
	char key[64];

	if (legacy)
		log_warn("event=request-types-unknown why=\"the state predates remembering request "
		         "types; types added before this start are not resynchronised (scfgate scf "
		         "resync --request-type ID sends them)\"");
	for (size_t i = 0; i < h->c->n_types && s == ERR_OK; i++) {
		int64_t id = h->c->types[i].scf_id;

		snprintf(key, sizeof(key), "type/%" PRId64, id);
		if (scf_state_get(h->st, key))
			continue;
		if (!fresh && !legacy) {
			struct scf_resync_sel sel = {0};
			struct scf_resync_result res;

			sel.request_type = id;
			log_info("event=request-type-added type=%" PRId64 " why=\"new in the "
			         "configuration: sending its Open issues\"",
			         id);
			s = scf_resync(h, &sel, &res, e);
			if (s != ERR_OK)
				return err_prefix(e, "resync of request type %" PRId64 ": ", id);
			log_info("event=resync type=%" PRId64 " selected=%" PRIu64 " sent=%" PRIu64
			         " already=%" PRIu64 " skipped=%" PRIu64,
			         id, res.selected, res.sent, res.already, res.skipped);
		}
		if (scf_state_put(h->st, key, "-") != ERR_OK)
			return err_set(e, ERR_TEMP, "out of memory");
		h->unsaved_pages++;
	}
	for (size_t i = scf_state_lower_bound(h->st, "type/"); i < scf_state_count(h->st);) {
		const char *k = scf_state_key_at(h->st, i);

		if (strncmp(k, "type/", 5) != 0)
			break;
		if (cfg_request_type(h->c, strtoll(k + 5, NULL, 10))) {
			i++;
			continue;
		}
		log_info("event=request-type-removed type=%s why=\"no longer in the "
		         "configuration; adding it back resynchronises it\"",
		         k + 5);
		scf_state_del(h->st, k);
		h->unsaved_pages++;
	}
	return ERR_OK;
}

enum err_status scf_fetch(struct scf_half *h, struct err *e)
{
	struct pass p = {h, {0}, 0, 0, 0};
	int64_t wm = scf_state_watermark(h->st);
	/* Without a watermark only Open issues can produce records (anything
	 * first seen in another status is not sent), so the first pass skips
	 * the organization's closed history. */
	struct listq q = {wm > 0 ? "open,acknowledged,closed,archived" : "open",
	                  wm > 0 ? wm - (int64_t)h->c->scf.overlap_seconds : 0, 0};
	struct listing l = {-1, wm, -1};
	struct timespec started;
	enum err_status s;

	/* Who we are comes first: a comment of ours on page 1 must not be
	 * forwarded. */
	clock_gettime(CLOCK_MONOTONIC, &started);
	s = scf_self_read(h, e);
	if (s != ERR_OK)
		return s;
	if (!h->types_checked) {
		struct err te;

		s = check_types(h, &te);
		if (s == ERR_FATAL)
			return err_set(e, s, "%s", te.msg);
		if (s != ERR_OK)
			log_error("event=resync-failed why=%s retry=\"next pass\"", log_q(te.msg));
		else
			h->types_checked = 1;
	}
	s = list_all(&p, &q, &l, e);
	if (s == ERR_OK) {
		int64_t new_wm;

		/* A complete pass that began at the server's time T saw every
		 * issue updated before T (less a margin for clocks inside SCF
		 * that disagree), even when nothing changed: an idle pass moves
		 * the watermark, so a bulk change is re-read once, not for ever.
		 * Not when the list shifted: then only up to where it is safe. */
		if (l.safe_wm >= 0) {
			new_wm = l.safe_wm < l.max_upd ? l.safe_wm : l.max_upd;
			log_info("event=list-shifted why=\"an issue changed during the pass\" "
			         "watermark_held_at=%" PRId64,
			         new_wm);
		} else {
			new_wm = l.max_upd;
			if (l.date0 > 0 && l.date0 - SCF_DATE_MARGIN > new_wm)
				new_wm = l.date0 - SCF_DATE_MARGIN;
		}
		if (new_wm > wm) {
			scf_state_set_watermark(h->st, new_wm);
			h->unsaved_pages++;
		}
		/* Every change since this pass started shows in the next one:
		 * write-back may trust the transitions it read. */
		h->known_at = started.tv_sec > 0 ? started.tv_sec : 1;
	}
	return finish(h, &p, s, e);
}

/* ---- recovery ------------------------------------------------------------------ */

struct rec_ctx {
	struct scf_half *h;
	uint64_t from, to;
	unsigned char *found; /* one flag per sequence in [from, to) */
	enum spool_dir d;
	struct err *e;
	enum err_status s;
};

static int recover_one(const struct spool_entry *ent, void *vctx)
{
	struct rec_ctx *x = vctx;
	char path[SPOOL_PATH_MAX];
	struct record *r = NULL;
	int verified = 0;

	if (ent->seq < x->from || ent->seq >= x->to || x->found[ent->seq - x->from] ||
	    strcmp(ent->producer, x->h->c->spool.producer) != 0)
		return 0;
	if (spool_path(path, x->h->c->spool.root, HALF_OUTBOUND, x->d, ent->name, x->e) != ERR_OK)
		return 0;
	if (spool_read_record(path, x->h->priv, &r, &verified, x->e) != ERR_OK)
		return 0; /* damaged copy: another directory may hold a good one */
	if (note_record(x->h->st, r) != ERR_OK) {
		x->s = err_set(x->e, ERR_TEMP, "out of memory");
		record_free(r);
		return 1;
	}
	x->found[ent->seq - x->from] = 1;
	x->h->stats.recovered++;
	log_info("event=recovered issue=%" PRId64 " record=%s key=%s", record_issue_id(r),
	         ent->name, r->key);
	record_free(r);
	return 0;
}

enum err_status scf_recover(struct scf_half *h, struct err *e)
{
	static const enum spool_dir dirs[] = {SPOOL_NEW,    SPOOL_CUR,  SPOOL_DONE,
	                                      SPOOL_FAILED, SPOOL_HOLD, SPOOL_TMP};
	uint64_t from = scf_state_seq(h->st), to = spool_producer_next_seq(h->prod);
	struct rec_ctx x = {h, from, to, NULL, SPOOL_NEW, e, ERR_OK};
	size_t missing = 0;
	struct err le;

	if (from >= to)
		return ERR_OK;
	if (to - from > 10000000)
		return err_set(e, ERR_FATAL,
		               "state covers sequence %" PRIu64 " but the producer is at %" PRIu64
		               "; refusing to scan that many",
		               from, to);
	if (!(x.found = calloc(to - from, 1)))
		return err_set(e, ERR_TEMP, "out of memory");
	x.e = &le;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && x.s == ERR_OK; i++) {
		x.d = dirs[i];
		if (dirs[i] == SPOOL_TMP)
			break; /* the producer already rolled complete tmp files forward */
		spool_list(h->c->spool.root, HALF_OUTBOUND, dirs[i], recover_one, &x, &le);
	}
	for (uint64_t q = from; q < to; q++)
		if (!x.found[q - from] && q > 0)
			missing++;
	free(x.found);
	if (x.s != ERR_OK)
		return err_set(e, x.s, "%s", le.msg);
	if (missing)
		log_warn("event=recover-missing count=%zu from=%" PRIu64 " to=%" PRIu64
		         " why=\"records not found locally (transport moved them); their items "
		         "may be sent again\"",
		         missing, from, to);
	return save_state(h, e);
}
