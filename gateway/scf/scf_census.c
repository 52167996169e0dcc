/*
 * scf_census.c: a census of the SeeClickFix issues of the mapped request
 * types, committed as `census` records for the OMS half to reconcile
 * (see scf.h).
 *
 * The census lists issues by created_at, oldest first, not by
 * updated_at: an issue updated while the census runs keeps its place in
 * that order (and stays inside the updated_at_after filter), so no other
 * issue moves between two pages unread.  An issue created meanwhile is
 * appended at the end.  An issue read twice anyway is kept once.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "scf_impl.h"
#include "jdoc.h"

/* Issue id set of one census (open addressing; 0 is free). */
struct idset {
	int64_t *id;
	size_t n, cap;
};

struct scf_census_run {
	struct record *part; /* the part being filled (census record) */
	size_t cap;          /* entries allocated in part */
	struct idset seen;
	unsigned page;     /* the next list page to read */
	int64_t started;   /* wall clock at the start */
	uint64_t calls0;   /* the client's requests before the census */
	uint64_t mono0_ms; /* for the duration */
	struct scf_census_result res;
};

static int idset_add(struct idset *s, int64_t id)
{
	size_t j;

	if ((s->n + 1) * 2 > s->cap) {
		struct idset t = {0};

		t.cap = s->cap ? s->cap * 2 : 1024;
		if (!(t.id = calloc(t.cap, sizeof(*t.id))))
			return -1;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->id[i])
				continue;
			for (j = (size_t)s->id[i] * 2654435761u % t.cap; t.id[j];
			     j = (j + 1) % t.cap)
				;
			t.id[j] = s->id[i];
		}
		t.n = s->n;
		free(s->id);
		*s = t;
	}
	for (j = (size_t)id * 2654435761u % s->cap; s->id[j]; j = (j + 1) % s->cap)
		if (s->id[j] == id)
			return 1;
	s->id[j] = id;
	s->n++;
	return 0;
}

static void run_free(struct scf_census_run *run)
{
	if (!run)
		return;
	record_free(run->part);
	free(run->seen.id);
	free(run);
}

void scf_census_abandon(struct scf_half *h)
{
	if (h->census) {
		log_warn("event=census-abandoned census=%s parts=%" PRIu64 " issues=%" PRIu64
		         " why=\"stopped before its last part; the OMS half does not reconcile an "
		         "incomplete census\"",
		         h->census->res.census_id, h->census->res.parts, h->census->res.issues);
		run_free(h->census);
		h->census = NULL;
	}
}

int scf_census_running(const struct scf_half *h)
{
	return h->census != NULL;
}

static enum err_status new_part(struct scf_census_run *run, struct err *e)
{
	struct record_census *c;
	const struct scf_census_result *res = &run->res;

	record_free(run->part);
	run->part = record_new(RECORD_CENSUS);
	if (!run->part)
		return err_set(e, ERR_TEMP, "out of memory");
	c = &run->part->u.census;
	c->census_id = strdup(res->census_id);
	c->window_from = strdup(res->window_from);
	c->window_to = strdup(res->window_to);
	c->part = (int64_t)res->parts + 1;
	c->entries = calloc(RECORD_PART_MAX, sizeof(*c->entries));
	if (!c->census_id || !c->window_from || !c->window_to || !c->entries)
		return err_set(e, ERR_TEMP, "out of memory");
	run->cap = RECORD_PART_MAX;
	return ERR_OK;
}

static enum err_status set_types(const struct cfg *c, struct record_census *rc, struct err *e)
{
	rc->request_type_ids = calloc(c->n_types ? c->n_types : 1, sizeof(*rc->request_type_ids));
	if (!rc->request_type_ids)
		return err_set(e, ERR_TEMP, "out of memory");
	for (size_t i = 0; i < c->n_types && i < RECORD_PART_MAX; i++)
		rc->request_type_ids[rc->n_request_types++] = c->types[i].scf_id;
	return ERR_OK;
}

/* Commit the part in hand as part N (last or not) and start the next. */
static enum err_status commit_part(struct scf_half *h, int last, struct err *e)
{
	struct scf_census_run *run = h->census;
	struct record *r = run->part;
	char key[160], name[RECORD_NAME_MAX];
	uint64_t seq = 0;
	enum err_status s;

	r->u.census.last = last;
	s = set_types(h->c, &r->u.census, e);
	if (s != ERR_OK)
		return s;
	s = record_part_key(key, sizeof(key), RECORD_CENSUS, run->res.census_id, r->u.census.part,
	                    e);
	if (s != ERR_OK)
		return s;
	if (!(r->key = strdup(key)))
		return err_set(e, ERR_TEMP, "out of memory");
	s = spool_commit(h->prod, r, &seq, e);
	if (s != ERR_OK)
		return err_prefix(e, "census %s part %" PRId64 ": ", run->res.census_id,
		                  r->u.census.part);
	record_file_name(name, seq, r->producer);
	log_info("effect=census census=%s part=%" PRId64 " last=%s entries=%zu record=%s key=%s",
	         run->res.census_id, r->u.census.part, last ? "true" : "false",
	         r->u.census.n_entries, name, key);
	run->res.parts++;
	return last ? ERR_OK : new_part(run, e);
}

static int coord(const cJSON *o, const char *name, double limit, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > limit)
		return -1;
	*out = v->valuedouble;
	return 0;
}

static int url_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 4096)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '!' || s[i] > '~')
			return 0;
	return 1;
}

/* What the half's state believes of the issue. */
static void beliefs(const struct scf_state *st, int64_t id, struct record_census_entry *ce)
{
	char key[64];
	const char *v, *k;
	size_t i;

	snprintf(key, sizeof(key), "issue/%" PRId64, id);
	v = scf_state_get(st, key);
	/* O, A, C, X: tracked, its issue record was committed; W: its request
	 * was closed by write-back; R: reopened after W (or after S, which the
	 * state no longer tells apart) and ignored; S: first seen Closed,
	 * never sent. */
	ce->sent = v && strchr("OACXWR", v[0]) != NULL;
	ce->closed = v && (v[0] == 'W' || v[0] == 'R');
	/* A comment the half posted on the issue while it is tracked is its
	 * acknowledgment (a close drops these keys and leaves W). */
	snprintf(key, sizeof(key), "posted/%" PRId64 "/", id);
	i = scf_state_lower_bound(st, key);
	k = scf_state_key_at(st, i);
	ce->acknowledged = ce->closed || (k && strncmp(k, key, strlen(key)) == 0);
	snprintf(key, sizeof(key), "gen/%" PRId64, id);
	v = scf_state_get(st, key);
	ce->generation = v && strtoll(v, NULL, 10) > 1 ? strtoll(v, NULL, 10) : 0;
}

static void skip(struct scf_census_run *run, int64_t id, const char *why)
{
	run->res.skipped++;
	log_warn("event=census-skip census=%s issue=%" PRId64 " why=%s", run->res.census_id, id,
	         log_q(why));
}

/* One issue object of a list page into the part (committing a full one). */
static enum err_status one_issue(struct scf_half *h, const cJSON *obj, struct err *e)
{
	static const char *const words[] = {"Open", "Acknowledged", "Closed", "Archived"};
	struct scf_census_run *run = h->census;
	int64_t id = scf_json_id(obj, "id"), upd, rt_id;
	const char *status = jdoc_get_str(obj, "status"), *word = NULL, *url;
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(obj, "request_type");
	struct record_census_entry ce = {0};
	char when[32];
	int dup;
	enum err_status s;

	run->res.read++;
	if (id <= 0) {
		skip(run, 0, "issue object without a usable id");
		return ERR_OK;
	}
	if ((dup = idset_add(&run->seen, id)) < 0)
		return err_set(e, ERR_TEMP, "out of memory");
	if (dup)
		return ERR_OK; /* read twice: listed once */
	for (size_t i = 0; status && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(status, words[i]) == 0)
			word = words[i];
	rt_id = rt ? scf_json_id(rt, "id") : 0;
	if (!cfg_request_type(h->c, rt_id)) {
		/* The list asked for the mapped types only. */
		skip(run, id, "request type not mapped (SCF ignored the request_types filter?)");
		return ERR_OK;
	}
	if (!word) {
		skip(run, id, "status is not Open, Acknowledged, Closed or Archived");
		return ERR_OK;
	}
	upd = scf_time_parse(jdoc_get_str(obj, "updated_at"));
	if (upd < 0 || coord(obj, "lat", 90, &ce.lat) || coord(obj, "lng", 180, &ce.lng)) {
		skip(run, id, "no usable updated_at, lat or lng");
		return ERR_OK;
	}
	if (run->part->u.census.n_entries == run->cap) {
		s = commit_part(h, 0, e);
		if (s != ERR_OK)
			return s;
	}
	scf_time_format(upd, when);
	url = jdoc_get_str(obj, "html_url");
	ce.issue_id = id;
	ce.request_type_id = rt_id;
	ce.status = strdup(word);
	ce.updated_at = strdup(when);
	ce.html_url = url_ok(url) ? strdup(url) : NULL;
	beliefs(h->st, id, &ce);
	if (!ce.status || !ce.updated_at || (url_ok(url) && !ce.html_url)) {
		free(ce.status);
		free(ce.updated_at);
		free(ce.html_url);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	run->part->u.census.entries[run->part->u.census.n_entries++] = ce;
	run->res.issues++;
	return ERR_OK;
}

static enum err_status page_path(struct scf_half *h, unsigned page, struct buf *u)
{
	const struct scf_census_result *res = &h->census->res;
	char tmp[64];
	enum err_status s;

	snprintf(tmp, sizeof(tmp), "/organizations/%" PRId64 "/issues", h->c->scf.org_id);
	s = buf_adds(u, tmp);
	/* Every status: the default leaves Archived out. */
	if (s == ERR_OK)
		s = http_query_add(u, "status", "open,acknowledged,closed,archived");
	if (s == ERR_OK)
		s = http_query_add(u, "updated_at_after", res->window_from);
	if (s == ERR_OK) {
		struct buf ids;

		buf_init(&ids, 0);
		for (size_t i = 0; i < h->c->n_types && s == ERR_OK; i++)
			s = buf_addf(&ids, "%s%" PRId64, i ? "," : "", h->c->types[i].scf_id);
		if (s == ERR_OK)
			s = http_query_add(u, "request_types", buf_str(&ids));
		buf_release(&ids);
	}
	if (s == ERR_OK)
		s = http_query_add(u, "sort", "created_at");
	if (s == ERR_OK)
		s = http_query_add(u, "sort_direction", "ASC");
	snprintf(tmp, sizeof(tmp), "%u", SCF_CENSUS_PER_PAGE);
	if (s == ERR_OK)
		s = http_query_add(u, "per_page", tmp);
	snprintf(tmp, sizeof(tmp), "%u", page);
	if (s == ERR_OK)
		s = http_query_add(u, "page", tmp);
	return s;
}

static void finish_result(struct scf_half *h, struct scf_census_result *out)
{
	struct scf_census_run *run = h->census;
	struct http_stats hs;

	http_stats_get(h->http, &hs);
	run->res.calls = hs.requests - run->calls0;
	run->res.ideal_calls =
	    run->res.read ? (run->res.read + SCF_CENSUS_PER_PAGE - 1) / SCF_CENSUS_PER_PAGE : 1;
	run->res.ms = when_mono_ms() - run->mono0_ms;
	if (out)
		*out = run->res;
}

enum err_status scf_census_begin(struct scf_half *h, unsigned window_days, struct err *e)
{
	struct scf_census_run *run;
	time_t now = time(NULL);
	struct http_stats hs;
	struct tm tm;
	char stamp[32];
	enum err_status s;

	if (h->census)
		return err_set(e, ERR_PERM, "a census (%s) is already running",
		               h->census->res.census_id);
	if (!h->c->n_types)
		return err_set(e, ERR_PERM, "no request type is mapped: a census would be empty");
	if (!(run = calloc(1, sizeof(*run))))
		return err_set(e, ERR_TEMP, "out of memory");
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(run->res.census_id, sizeof(run->res.census_id), "%s-%s", h->c->spool.producer,
	         stamp);
	/* One census a second at most: the id is the key of its parts. */
	{
		const char *last = scf_state_get(h->st, "census/last");

		if (last && strtoll(last, NULL, 10) == (long long)now) {
			free(run);
			return err_set(e, ERR_TEMP, "a census started this second already");
		}
	}
	scf_time_format((int64_t)now - (int64_t)window_days * 86400, run->res.window_from);
	scf_time_format((int64_t)now, run->res.window_to);
	run->res.window_days = window_days;
	run->page = 1;
	run->started = (int64_t)now;
	http_stats_get(h->http, &hs);
	run->calls0 = hs.requests;
	run->mono0_ms = when_mono_ms();
	h->census = run;
	s = new_part(run, e);
	if (s != ERR_OK) {
		run_free(run);
		h->census = NULL;
		return s;
	}
	log_info("event=census-start census=%s window_from=%s window_to=%s types=%zu "
	         "per_page=%u",
	         run->res.census_id, run->res.window_from, run->res.window_to, h->c->n_types,
	         SCF_CENSUS_PER_PAGE);
	return ERR_OK;
}

enum err_status scf_census_step(struct scf_half *h, int *done, struct scf_census_result *out,
                                struct err *e)
{
	struct scf_census_run *run = h->census;
	struct http_response resp;
	const cJSON *issues = NULL, *it;
	cJSON *doc = NULL;
	unsigned next = 0;
	struct buf path;
	enum err_status s;

	*done = 0;
	if (!run)
		return err_set(e, ERR_PERM, "no census is running");
	buf_init(&path, (size_t)64 * 1024);
	http_response_init(&resp);
	s = page_path(h, run->page, &path);
	if (s != ERR_OK) {
		s = err_set(e, s, "cannot build the list URL");
		goto out;
	}
	s = http_request(h->http, "GET", buf_str(&path), NULL, NULL, &resp, e);
	if (s != ERR_OK) {
		err_prefix(e, "census %s page %u: ", run->res.census_id, run->page);
		goto out;
	}
	run->res.pages++;
	s = scf_page_parse(resp.body.data, resp.body.len, run->page, &doc, &issues, &next, e);
	if (s != ERR_OK) {
		err_prefix(e, "census %s: ", run->res.census_id);
		goto out;
	}
	cJSON_ArrayForEach(it, issues)
	{
		s = one_issue(h, it, e);
		if (s != ERR_OK)
			goto out;
	}
	if (next) {
		run->page = next;
		goto out;
	}
	s = commit_part(h, 1, e);
	if (s != ERR_OK)
		goto out;
	{
		char v[24];
		struct err se;

		char key[160];
		int bad;

		/* The start, and what the result file of its reconciliation
		 * shows (dropped when that arrives, scf_reconcile.c). */
		snprintf(v, sizeof(v), "%" PRId64, run->started);
		bad = scf_state_put(h->st, "census/last", v) != ERR_OK;
		snprintf(key, sizeof(key), "census/to/%s", run->res.census_id);
		bad |= scf_state_put(h->st, key, v) != ERR_OK;
		snprintf(key, sizeof(key), "census/from/%s", run->res.census_id);
		snprintf(v, sizeof(v), "%" PRId64, scf_time_parse(run->res.window_from));
		bad |= scf_state_put(h->st, key, v) != ERR_OK;
		snprintf(key, sizeof(key), "census/issues/%s", run->res.census_id);
		snprintf(v, sizeof(v), "%" PRIu64, run->res.issues);
		bad |= scf_state_put(h->st, key, v) != ERR_OK;
		if (bad) {
			s = err_set(e, ERR_TEMP, "out of memory");
			goto out;
		}
		scf_state_set_seq(h->st, spool_producer_next_seq(h->prod));
		if (scf_state_save(h->st, &se) != ERR_OK)
			log_warn("event=state-not-saved why=%s", log_q(se.msg));
	}
	finish_result(h, out);
	log_info("event=census-done census=%s issues=%" PRIu64 " parts=%" PRIu64 " skipped=%" PRIu64
	         " pages=%" PRIu64 " calls=%" PRIu64 " ideal_calls=%" PRIu64 " ms=%" PRIu64,
	         run->res.census_id, run->res.issues, run->res.parts, run->res.skipped,
	         run->res.pages, run->res.calls, run->res.ideal_calls, run->res.ms);
	run_free(run);
	h->census = NULL;
	*done = 1;
out:
	cJSON_Delete(doc);
	http_response_release(&resp);
	buf_release(&path);
	if (s != ERR_OK && h->census && out)
		finish_result(h, out);
	return s;
}

enum err_status scf_census(struct scf_half *h, unsigned window_days, struct scf_census_result *res,
                           struct err *e)
{
	enum err_status s;
	int done = 0;

	memset(res, 0, sizeof(*res));
	s = scf_self_read(h, e);
	if (s != ERR_OK)
		return s;
	s = scf_census_begin(h, window_days, e);
	if (s != ERR_OK)
		return s;
	snprintf(res->census_id, sizeof(res->census_id), "%s", h->census->res.census_id);
	while (!done) {
		if (scf_stopping(h)) {
			finish_result(h, res);
			s = err_set(e, ERR_TEMP, "stopped before page %u", h->census->page);
			break;
		}
		s = scf_census_step(h, &done, res, e);
		if (s != ERR_OK)
			break;
	}
	if (s != ERR_OK)
		scf_census_abandon(h);
	return s;
}

/* ---- the schedule ------------------------------------------------------------ */

/* Due when the interval has passed since the start of the last complete
 * census (at once when there was none). */
int scf_census_due(const struct scf_half *h, int64_t now)
{
	const char *last;
	unsigned hours = h->c->scf.census_interval_hours;

	if (!hours || h->census || !h->c->n_types)
		return 0;
	last = scf_state_get(h->st, "census/last");
	return !last || now - strtoll(last, NULL, 10) >= (int64_t)hours * 3600;
}

enum err_status scf_census_tick(struct scf_half *h, struct err *e)
{
	struct ratewin_info ri;
	char path[SPOOL_PATH_MAX + 32];
	unsigned limit = h->c->scf.rate_per_minute;
	uint64_t window_ms = (uint64_t)h->c->scf.rate_window * 1000;
	struct scf_census_result res;
	struct err pe;
	enum err_status s;
	int done = 0;

	if (!h->census) {
		if (!scf_census_due(h, (int64_t)time(NULL)))
			return ERR_OK;
		s = scf_census_begin(h, h->c->scf.census_window_days, e);
		if (s != ERR_OK)
			return s;
	}
	/* The census takes at most half of the budget: fetching and
	 * write-back keep the other half. */
	snprintf(path, sizeof(path), "%s/state/scf/rate", h->c->spool.root);
	if (ratewin_peek(path, window_ms, &ri, &pe) == ERR_OK && ri.in_window * 2 >= limit)
		return ERR_OK;
	s = scf_census_step(h, &done, &res, e);
	if (s == ERR_PERM || s == ERR_FATAL)
		scf_census_abandon(h);
	return s;
}
