/*
 * oms_reconcile.c: the OMS half's side of a census: its parts are kept
 * on disk until the last one is there, then the requests are read from
 * Cartegraph in batches, every issue is classified (oms_recon.h), and
 * the result goes to state/oms/reconcile/ and, as `reconcile` records,
 * to the inbound queue.  See oms.h ("Reconciliation").
 */
#include "oms_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "num.h"
#include "oms_recon.h"
#include "when.h"

/* Census entries by part: the schema's RECORD_PART_MAX. */
#define PART_MAX       RECORD_PART_MAX
#define LINE_MAX_BYTES 2048

/* ---- paths ------------------------------------------------------------------ */

static enum err_status path_of(char *out, const char *root, const char *a, const char *b,
                               struct err *e)
{
	int n = b ? snprintf(out, SPOOL_PATH_MAX, "%s/state/oms/%s/%s", root, a, b)
	          : snprintf(out, SPOOL_PATH_MAX, "%s/state/oms/%s", root, a);

	if (n < 0 || n >= SPOOL_PATH_MAX)
		return err_set(e, ERR_FATAL, "%s: path too long", root);
	return ERR_OK;
}

static enum err_status mkdir_p(const char *path, struct err *e)
{
	if (mkdir(path, 0750) != 0 && errno != EEXIST)
		return err_errno(e, ERR_TEMP, errno, "%s", path);
	return ERR_OK;
}

/* Replace dir/name with data: a temporary file beside it, synced, then
 * renamed over it (readers see the old or the new file, never a part). */
enum err_status oms_write_replace(const char *dir, const char *name, const char *data, size_t len,
                                  struct err *e)
{
	char tmp[SPOOL_PATH_MAX], fin[SPOOL_PATH_MAX];
	enum err_status st = ERR_OK;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(fin, sizeof(fin), "%s/%s", dir, name) >= (int)sizeof(fin))
		return err_set(e, ERR_FATAL, "%s: path too long", dir);
	/* The temporary name is ours: whatever stands there (a leftover, or a
	 * FIFO or link someone with write access planted) is removed, and the
	 * file created anew, so the open neither follows a link nor waits for
	 * a FIFO's reader. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return err_errno(e, ERR_TEMP, errno, "%s", tmp);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			st = err_errno(e, ERR_TEMP, errno, "%s", tmp);
			break;
		}
		off += (size_t)w;
	}
	if (st == ERR_OK && fdatasync(fd) != 0)
		st = err_errno(e, ERR_TEMP, errno, "%s", tmp);
	if (close(fd) != 0 && st == ERR_OK)
		st = err_errno(e, ERR_TEMP, errno, "%s", tmp);
	if (st == ERR_OK && rename(tmp, fin) != 0)
		st = err_errno(e, ERR_TEMP, errno, "%s", fin);
	if (st != ERR_OK)
		unlink(tmp);
	else
		spool_sync_dir(dir, NULL);
	return st;
}

/* ---- storing census parts -------------------------------------------------- */

/* One token of a line: no blanks (a status or URL never has any). */
static void token(char *out, size_t size, const char *s)
{
	size_t k = 0;

	for (const char *p = s && *s ? s : "-"; *p && k + 1 < size; p++)
		out[k++] = (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ? '_' : *p;
	out[k] = 0;
}

int oms_census_done(const char *root, const char *census_id)
{
	char p[SPOOL_PATH_MAX], name[RECORD_CENSUS_ID_MAX + 8];
	struct stat sb;

	snprintf(name, sizeof(name), "%s.json", census_id);
	return path_of(p, root, "reconcile", name, NULL) == ERR_OK && stat(p, &sb) == 0;
}

enum err_status oms_census_store(struct oms *o, const struct record *r, const char **effect,
                                 struct err *e)
{
	const struct record_census *c = &r->u.census;
	const char *root = o->cfg->spool.root;
	char dir[SPOOL_PATH_MAX], name[32];
	struct buf b = BUF_INIT_CAP(RECORD_MAX_BYTES);
	enum err_status st, bs = ERR_OK;

	*effect = "none";
	if (!o->cfg->cg.external_id_field)
		return err_set(e, ERR_PERM,
		               "reconciliation needs the external-id field (<externalId> in "
		               "<fields>) to find requests by their SCF id");
	/* it names a directory: checked here too, not only by the schema */
	if (!record_census_id_valid(c->census_id))
		return err_set(e, ERR_PERM, "census: '%.80s' is not a census id",
		               c->census_id ? c->census_id : "");
	if (oms_census_done(root, c->census_id)) {
		log_info("effect=none census=%s part=%" PRId64 " reason=reconciled", c->census_id,
		         c->part);
		return ERR_OK;
	}
	st = path_of(dir, root, "census", NULL, e);
	if (st == ERR_OK)
		st = mkdir_p(dir, e);
	if (st == ERR_OK)
		st = path_of(dir, root, "census", c->census_id, e);
	if (st == ERR_OK)
		st = mkdir_p(dir, e);
	if (st != ERR_OK)
		return st;
	{
		char from[64], to[64];
		token(from, sizeof(from), c->window_from);
		token(to, sizeof(to), c->window_to);
		bs |= buf_addf(&b, "P %" PRId64 " %d %s %s %zu", c->part, c->last ? 1 : 0, from, to,
		               c->n_request_types);
	}
	for (size_t i = 0; i < c->n_request_types; i++)
		bs |= buf_addf(&b, " %" PRId64, c->request_type_ids[i]);
	bs |= buf_adds(&b, "\n");
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct record_census_entry *en = &c->entries[i];
		char status[32], url[512];
		token(status, sizeof(status), en->status);
		token(url, sizeof(url), en->html_url);
		bs |=
		    buf_addf(&b, "I %" PRId64 " %s %" PRId64 " %.7f %.7f %" PRId64 " %d %d %d %s\n",
		             en->issue_id, status, en->request_type_id, en->lat, en->lng,
		             en->generation, en->sent, en->acknowledged, en->closed, url);
	}
	if (bs != ERR_OK || !b.data) {
		buf_release(&b);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	snprintf(name, sizeof(name), "part.%06" PRId64, c->part);
	st = oms_write_replace(dir, name, b.data, b.len, e);
	buf_release(&b);
	if (st == ERR_OK && c->last) {
		char n[32];
		int len = snprintf(n, sizeof(n), "%" PRId64 "\n", c->part);
		st = oms_write_replace(dir, "last", n, (size_t)len, e);
	}
	if (st == ERR_OK) {
		*effect = "census-part";
		log_info("effect=census-part census=%s part=%" PRId64 " last=%d entries=%zu",
		         c->census_id, c->part, c->last, c->n_entries);
	}
	return st;
}

/* ---- one reconciliation ------------------------------------------------------ */

struct centry {
	struct recon_issue is;
	char status[32];
	char url[512];
};

struct rreq {
	struct recon_request rq;
	char *request_id, *status, *type; /* owned */
};

struct batch;

struct recon_run {
	struct oms *o;
	const char *census_id;
	char dir[SPOOL_PATH_MAX];
	int64_t nparts;
	char from[64], to[64];
	int64_t *types;
	size_t ntypes;
	unsigned char *seen; /* tracked entries met in the census */
	size_t nseen;
	/* what was found */
	int64_t counts[RECON_NCLASS];
	size_t issues, requests, calls, batches;
	cJSON *findings;
	enum err_status worst;
	struct err e;
	/* the requests read for the current part */
	struct rreq *reqs;
	size_t nreqs, areqs;
};

struct batch {
	struct recon_run *rr;
	int by_oid; /* orphans: by Oid; census entries: by SCF id */
	int64_t ids[OMS_POLL_CHUNK];
	size_t n;
	size_t got;
	unsigned tries;
};

static void note(struct recon_run *rr, enum err_status st, const char *msg)
{
	if (st > rr->worst) {
		rr->worst = st;
		err_set(&rr->e, st, "%s", msg);
	}
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The point of a row, in either geometry the field map uses. */
static int row_point(const struct cfg_cartegraph *g, const cJSON *row, double *lat, double *lng)
{
	const cJSON *la, *ln;

	if (g->geo == CFG_GEO_FIELDS) {
		la = cJSON_GetObjectItemCaseSensitive(row, g->lat_field);
		ln = cJSON_GetObjectItemCaseSensitive(row, g->lng_field);
	} else {
		const cJSON *shape = cJSON_GetObjectItemCaseSensitive(row, g->shape_field);
		const cJSON *pt =
		    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(shape, "Points"), 0);
		if (!pt)
			pt = cJSON_GetObjectItemCaseSensitive(shape, "Center");
		la = cJSON_GetObjectItemCaseSensitive(pt, "Lat");
		ln = cJSON_GetObjectItemCaseSensitive(pt, "Lng");
	}
	if (!cJSON_IsNumber(la) || !cJSON_IsNumber(ln))
		return 0;
	*lat = la->valuedouble;
	*lng = ln->valuedouble;
	return 1;
}

static enum err_status submit_batch(struct batch *b, struct err *e);

static void add_row(struct recon_run *rr, const cJSON *row)
{
	const struct cfg_cartegraph *g = &rr->o->cfg->cg;
	struct map_cg_request rq;
	const cJSON *ty;
	struct rreq *x;
	struct err e;

	if (map_cg_request_cjson(rr->o->cfg, row, &rq, &e) != ERR_OK) {
		log_warn("event=reconcile-row-skipped why=%s", log_q(e.msg));
		return;
	}
	if (rr->nreqs == rr->areqs) {
		size_t na = rr->areqs ? rr->areqs * 2 : 256;
		struct rreq *nr = realloc(rr->reqs, na * sizeof(*nr));
		if (!nr) {
			map_cg_request_clear(&rq);
			note(rr, ERR_TEMP, "out of memory");
			return;
		}
		rr->reqs = nr;
		rr->areqs = na;
	}
	x = &rr->reqs[rr->nreqs++];
	memset(x, 0, sizeof(*x));
	ty = cJSON_GetObjectItemCaseSensitive(row, g->issue_field);
	x->request_id = dup_or_null(rq.request_id);
	x->status = dup_or_null(rq.status);
	x->type = dup_or_null(cJSON_IsString(ty) ? ty->valuestring : NULL);
	x->rq.oid = rq.oid;
	x->rq.issue_id = rq.external_id;
	x->rq.closed = rq.closed;
	x->rq.has_point = row_point(g, row, &x->rq.lat, &x->rq.lng);
	map_cg_request_clear(&rq);
}

static void on_batch(void *user, enum err_status st, struct http_response *r, const struct err *e)
{
	struct batch *b = user;
	struct recon_run *rr = b->rr;
	cJSON *root, *rows, *row, *meta;
	size_t n = 0;
	double total = -1;

	if (st != ERR_OK) {
		struct err me = *e;
		/* A field Cartegraph does not know: is the field map wrong now? */
		if (st == ERR_PERM && r &&
		    oms_meta_recheck(rr->o, r->status, buf_str(&r->body), r->body.len, &me))
			st = ERR_FATAL;
		/* a refusal now may be a passing state: tried again later */
		note(rr, st == ERR_PERM ? ERR_TEMP : st, me.msg);
		return;
	}
	root = cJSON_ParseWithLength(r->body.data, r->body.len);
	rows = root ? cJSON_GetObjectItemCaseSensitive(root, rr->o->cfg->cg.request_class) : NULL;
	if (!cJSON_IsArray(rows)) {
		cJSON_Delete(root);
		if (++b->tries < 4 && submit_batch(b, &rr->e) == ERR_OK)
			return;
		note(rr, ERR_TEMP, "reconcile: response is not the expected JSON");
		return;
	}
	cJSON_ArrayForEach(row, rows)
	{
		add_row(rr, row);
		n++;
	}
	meta = cJSON_GetObjectItemCaseSensitive(root, "_metadata");
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(meta, "totalCount")))
		total = cJSON_GetObjectItemCaseSensitive(meta, "totalCount")->valuedouble;
	cJSON_Delete(root);
	b->got += n;
	/* More requests than the page held (duplicates, generations): the
	 * next page. */
	if (n > 0 && total > (double)b->got && submit_batch(b, &rr->e) != ERR_OK)
		note(rr, ERR_TEMP, "reconcile: out of memory");
}

static enum err_status submit_batch(struct batch *b, struct err *e)
{
	struct recon_run *rr = b->rr;
	const struct cfg_cartegraph *g = &rr->o->cfg->cg;
	struct buf filter = BUF_INIT_CAP(16384), url = BUF_INIT_CAP(65536);
	char fields[768], limit[24], offset[24], name[128];
	enum err_status st = ERR_OK;

	if (b->by_oid) {
		buf_adds(&filter, "([Oid] in (");
		for (size_t i = 0; i < b->n; i++)
			buf_addf(&filter, "%s%" PRId64, i ? "," : "", b->ids[i]);
	} else {
		oms_filter_name(g->external_id_field, name, sizeof(name));
		buf_addf(&filter, "([%s] in (", name);
		for (size_t i = 0; i < b->n; i++)
			buf_addf(&filter, "%s\"%" PRId64 "\"", i ? "," : "", b->ids[i]);
	}
	buf_adds(&filter, "))");
	if (g->geo == CFG_GEO_FIELDS)
		snprintf(fields, sizeof(fields), "Oid,%s,%s,%s,%s,%s,%s", g->id_field,
		         g->status_field, g->issue_field, g->external_id_field, g->lat_field,
		         g->lng_field);
	else
		snprintf(fields, sizeof(fields), "Oid,%s,%s,%s,%s,%s", g->id_field, g->status_field,
		         g->issue_field, g->external_id_field, g->shape_field);
	/* room for a few requests an id beyond the one expected */
	snprintf(limit, sizeof(limit), "%zu", b->n * 2);
	snprintf(offset, sizeof(offset), "%zu", b->got);
	if (buf_adds(&url, rr->o->class_path) != ERR_OK ||
	    http_query_add(&url, "filter", buf_str(&filter)) != ERR_OK ||
	    http_query_add(&url, "fields", fields) != ERR_OK ||
	    http_query_add(&url, "limit", limit) != ERR_OK ||
	    (b->got && http_query_add(&url, "offset", offset) != ERR_OK))
		st = err_set(e, ERR_TEMP, "reconcile: out of memory");
	if (st == ERR_OK)
		st = http_submit(rr->o->http, "GET", buf_str(&url), NULL, NULL, on_batch, b, e);
	if (st == ERR_OK)
		rr->calls++;
	buf_release(&filter);
	buf_release(&url);
	return st;
}

/* Ask for every id of ids (in batches run concurrently) into rr->reqs. */
static enum err_status fetch(struct recon_run *rr, const int64_t *ids, size_t n, int by_oid,
                             struct err *e)
{
	size_t nb = (n + OMS_POLL_CHUNK - 1) / OMS_POLL_CHUNK;
	struct batch *bs = nb ? calloc(nb, sizeof(*bs)) : NULL;
	enum err_status st = ERR_OK;
	struct err de;

	if (nb && !bs)
		return err_set(e, ERR_TEMP, "out of memory");
	for (size_t i = 0; i < nb && st == ERR_OK; i++) {
		bs[i].rr = rr;
		bs[i].by_oid = by_oid;
		for (size_t k = i * OMS_POLL_CHUNK; k < n && k < (i + 1) * OMS_POLL_CHUNK; k++)
			bs[i].ids[bs[i].n++] = ids[k];
		st = submit_batch(&bs[i], e);
		rr->batches++;
	}
	err_clear(&de);
	if (http_drain(rr->o->http, &de) == ERR_FATAL && st == ERR_OK)
		st = err_set(e, ERR_FATAL, "%s", de.msg);
	if (st == ERR_OK && rr->worst != ERR_OK) {
		*e = rr->e;
		st = rr->worst;
	}
	free(bs);
	return st;
}

static void clear_reqs(struct recon_run *rr)
{
	for (size_t i = 0; i < rr->nreqs; i++) {
		free(rr->reqs[i].request_id);
		free(rr->reqs[i].status);
		free(rr->reqs[i].type);
	}
	rr->nreqs = 0;
}

static int rreq_cmp(const void *a, const void *b)
{
	const struct rreq *x = a, *y = b;

	if (x->rq.issue_id != y->rq.issue_id)
		return x->rq.issue_id < y->rq.issue_id ? -1 : 1;
	return x->rq.oid < y->rq.oid ? -1 : x->rq.oid > y->rq.oid;
}

static void add_finding(struct recon_run *rr, const struct recon_finding *f)
{
	cJSON *j = cJSON_CreateObject();

	rr->counts[f->cls]++;
	if (f->cls == RECON_IN_SYNC) {
		cJSON_Delete(j);
		return;
	}
	if (!j) {
		note(rr, ERR_TEMP, "out of memory");
		return;
	}
	cJSON_AddStringToObject(j, "class", recon_class_name(f->cls));
	cJSON_AddNumberToObject(j, "issue_id", (double)f->issue_id);
	if (f->html_url && strcmp(f->html_url, "-") != 0)
		cJSON_AddStringToObject(j, "html_url", f->html_url);
	else
		cJSON_AddNullToObject(j, "html_url");
	if (f->scf_status)
		cJSON_AddStringToObject(j, "scf_status", f->scf_status);
	else
		cJSON_AddNullToObject(j, "scf_status");
	if (f->request_type_id)
		cJSON_AddNumberToObject(j, "request_type_id", (double)f->request_type_id);
	else
		cJSON_AddNullToObject(j, "request_type_id");
	if (f->oid)
		cJSON_AddNumberToObject(j, "oid", (double)f->oid);
	else
		cJSON_AddNullToObject(j, "oid");
	if (f->request_id[0])
		cJSON_AddStringToObject(j, "request_id", f->request_id);
	else
		cJSON_AddNullToObject(j, "request_id");
	if (f->oms_status[0])
		cJSON_AddStringToObject(j, "oms_status", f->oms_status);
	else
		cJSON_AddNullToObject(j, "oms_status");
	cJSON_AddStringToObject(j, "detail", f->detail);
	cJSON_AddItemToArray(rr->findings, j);
	log_info("event=reconcile-finding census=%s class=%s issue=%" PRId64 " oid=%" PRId64
	         " detail=%s",
	         rr->census_id, recon_class_name(f->cls), f->issue_id, f->oid, log_q(f->detail));
}

/* Read one part file: its header into rr (part 1 .. n), entries into es. */
/* A file of the half's own state, read like the spool's: no link
 * followed, a FIFO or device never waited on (a state directory is not a
 * place to trust blindly either).  NULL and e set otherwise. */
static FILE *open_state_file(const char *path, struct err *e)
{
	FILE *f;

	if (spool_fopen_untrusted(path, SIZE_MAX / 2, &f, NULL, e) != ERR_OK)
		return NULL;
	return f;
}

/* A census part's lines as oms_census_store writes them, field by field
 * (util/num.h): something after the last field, an overflow or a sign
 * where none belongs refuses the line, never reads as another value. */

/* "P <part> <last> <from> <to> <n> <type>..." */
static int parse_header(struct recon_run *rr, const char *line, int *oom)
{
	const char *q = line + 1;
	int64_t p, nt;
	int last, keep;
	char from[64], to[64];

	if (num_field_i64(&q, &p) != 0 || num_field_int(&q, &last) != 0 ||
	    num_field_word(&q, from, sizeof(from)) != 0 ||
	    num_field_word(&q, to, sizeof(to)) != 0 || num_field_i64(&q, &nt) != 0 || nt < 0 ||
	    nt > PART_MAX)
		return -1;
	if (!rr->from[0]) {
		snprintf(rr->from, sizeof(rr->from), "%s", from);
		snprintf(rr->to, sizeof(rr->to), "%s", to);
	}
	/* the first part read gives the request types; every header is checked */
	keep = !rr->types && nt > 0;
	if (keep && !(rr->types = calloc((size_t)nt, sizeof(*rr->types)))) {
		*oom = 1;
		return -1;
	}
	for (int64_t i = 0; i < nt; i++) {
		int64_t type;

		if (num_field_i64(&q, &type) != 0)
			return -1;
		if (keep)
			rr->types[rr->ntypes++] = type;
	}
	return num_field_end(q) ? 0 : -1;
}

/* "I <issue> <status> <type> <lat> <lng> <generation> <sent> <ack>
 * <closed> <url or ->" */
static int parse_entry(struct centry *c, const char *line)
{
	const char *q = line + 1;
	int sent, ack, closed;

	memset(c, 0, sizeof(*c));
	if (num_field_i64(&q, &c->is.issue_id) != 0 ||
	    num_field_word(&q, c->status, sizeof(c->status)) != 0 ||
	    num_field_i64(&q, &c->is.type_id) != 0 || num_field_double(&q, &c->is.lat) != 0 ||
	    num_field_double(&q, &c->is.lng) != 0 || num_field_i64(&q, &c->is.generation) != 0 ||
	    num_field_int(&q, &sent) != 0 || num_field_int(&q, &ack) != 0 ||
	    num_field_int(&q, &closed) != 0 || num_field_word(&q, c->url, sizeof(c->url)) != 0 ||
	    !num_field_end(q))
		return -1;
	c->is.status = c->status;
	c->is.html_url = strcmp(c->url, "-") == 0 ? NULL : c->url;
	/* 0,0 is no place a city issue is: no point */
	c->is.has_point = !(c->is.lat == 0 && c->is.lng == 0);
	return 0;
}

static enum err_status read_part(struct recon_run *rr, int64_t part, struct centry *es, size_t *n,
                                 struct err *e)
{
	struct err oe;
	char path[SPOOL_PATH_MAX], name[32], line[LINE_MAX_BYTES];
	FILE *f;
	enum err_status st = ERR_OK;
	int lineno = 0;

	*n = 0;
	snprintf(name, sizeof(name), "part.%06" PRId64, part);
	if (snprintf(path, sizeof(path), "%s/%s", rr->dir, name) >= (int)sizeof(path))
		return err_set(e, ERR_FATAL, "%s: path too long", rr->dir);
	err_clear(&oe);
	if (!(f = open_state_file(path, &oe)))
		return err_set(e, ERR_TEMP, "%s", oe.msg);
	while (st == ERR_OK && fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == 'P') {
			int oom = 0;

			if (parse_header(rr, line, &oom) != 0)
				st = oom ? err_set(e, ERR_TEMP, "out of memory")
				         : err_set(e, ERR_PERM, "%s: line %d: bad header", path,
				                   lineno);
		} else if (line[0] == 'I' && *n < PART_MAX) {
			if (parse_entry(&es[*n], line) != 0)
				st = err_set(e, ERR_PERM, "%s: line %d: bad entry line", path,
				             lineno);
			else
				(*n)++;
		}
	}
	fclose(f);
	return st;
}

static int census_has_type(const struct recon_run *rr, int64_t type)
{
	for (size_t i = 0; i < rr->ntypes; i++)
		if (rr->types[i] == type)
			return 1;
	return 0;
}

static enum err_status do_part(struct recon_run *rr, const struct recon_rules *rules,
                               struct centry *es, size_t n, struct err *e)
{
	int64_t *ids = calloc(n ? n : 1, sizeof(*ids));
	enum err_status st;
	size_t k = 0;

	if (!ids)
		return err_set(e, ERR_TEMP, "out of memory");
	for (size_t i = 0; i < n; i++)
		ids[i] = es[i].is.issue_id;
	clear_reqs(rr);
	st = fetch(rr, ids, n, 0, e);
	free(ids);
	if (st != ERR_OK)
		return st;
	rr->requests += rr->nreqs;
	qsort(rr->reqs, rr->nreqs, sizeof(*rr->reqs), rreq_cmp);
	for (size_t i = 0; i < rr->nreqs; i++) {
		rr->reqs[i].rq.request_id = rr->reqs[i].request_id;
		rr->reqs[i].rq.status = rr->reqs[i].status;
		rr->reqs[i].rq.type = rr->reqs[i].type;
	}
	/* per entry: the run of requests with its id (entries are few per
	 * part, requests sorted: a binary search each) */
	for (size_t i = 0; i < n; i++) {
		struct recon_request group[16];
		struct recon_finding f;
		size_t lo = 0, hi = rr->nreqs, m = 0;
		struct oms_entry *t = oms_track_get(rr->o->track, es[i].is.issue_id);

		if (t) {
			size_t idx = (size_t)(t - oms_track_at(rr->o->track, 0));
			if (idx < rr->nseen)
				rr->seen[idx] = 1;
		}
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (rr->reqs[mid].rq.issue_id < es[i].is.issue_id)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (k = lo; k < rr->nreqs && rr->reqs[k].rq.issue_id == es[i].is.issue_id; k++)
			if (m < sizeof(group) / sizeof(group[0]))
				group[m++] = rr->reqs[k].rq;
		recon_classify_issue(rules, &es[i].is, group, m, &f);
		/* more than 16 requests for one id: a duplicate for certain */
		if (k - lo > m && f.cls != RECON_DUPLICATE) {
			f.cls = RECON_DUPLICATE;
			snprintf(f.detail, sizeof(f.detail),
			         "%zu requests carry this SeeClickFix id", k - lo);
		}
		add_finding(rr, &f);
		rr->issues++;
	}
	return rr->worst != ERR_OK ? (*e = rr->e, rr->worst) : ERR_OK;
}

/* Requests this half created, not closed, of a type the census covers,
 * whose SCF id the census did not list. */
static enum err_status do_orphans(struct recon_run *rr, struct err *e)
{
	struct oms_track *t = rr->o->track;
	size_t total = oms_track_count(t), n = 0;
	int64_t *oids = calloc(total ? total : 1, sizeof(*oids));
	enum err_status st;

	if (!oids)
		return err_set(e, ERR_TEMP, "out of memory");
	for (size_t i = 0; i < total && i < rr->nseen; i++) {
		const struct oms_entry *en = oms_track_at(t, i);
		if (rr->seen[i] || !(en->flags & OMS_T_CREATED) || (en->flags & OMS_T_CLOSED) ||
		    !en->oid || !census_has_type(rr, en->type_id))
			continue;
		oids[n++] = en->oid;
	}
	clear_reqs(rr);
	st = n ? fetch(rr, oids, n, 1, e) : ERR_OK;
	free(oids);
	if (st != ERR_OK)
		return st;
	rr->requests += rr->nreqs;
	for (size_t i = 0; i < rr->nreqs; i++) {
		struct recon_finding f;
		rr->reqs[i].rq.request_id = rr->reqs[i].request_id;
		rr->reqs[i].rq.status = rr->reqs[i].status;
		rr->reqs[i].rq.type = rr->reqs[i].type;
		if (recon_classify_unlisted(&rr->reqs[i].rq, &f))
			add_finding(rr, &f);
	}
	return ERR_OK;
}

static enum err_status write_result(struct recon_run *rr, struct err *e)
{
	const struct cfg *c = rr->o->cfg;
	cJSON *j = cJSON_CreateObject(), *w, *cl;
	char dir[SPOOL_PATH_MAX], name[RECORD_CENSUS_ID_MAX + 8], now[32];
	enum err_status st;
	char *text;

	when_utc_now(now);
	if (!j)
		return err_set(e, ERR_TEMP, "out of memory");
	cJSON_AddStringToObject(j, "census_id", rr->census_id);
	cJSON_AddStringToObject(j, "completed_at", now);
	w = cJSON_AddObjectToObject(j, "window");
	cJSON_AddStringToObject(w, "from", rr->from);
	cJSON_AddStringToObject(w, "to", rr->to);
	cJSON_AddStringToObject(j, "id_field", c->cg.id_field);
	if (c->scf.base_url)
		cJSON_AddStringToObject(j, "scf_base_url", c->scf.base_url);
	else
		cJSON_AddNullToObject(j, "scf_base_url");
	cJSON_AddNumberToObject(j, "issues", (double)rr->issues);
	cJSON_AddNumberToObject(j, "requests", (double)rr->requests);
	cl = cJSON_AddObjectToObject(j, "classes");
	for (int i = 0; i < RECON_NCLASS; i++)
		cJSON_AddNumberToObject(cl, recon_class_name(i), (double)rr->counts[i]);
	cJSON_AddItemToObject(j, "findings", cJSON_Duplicate(rr->findings, 1));
	cJSON_AddArrayToObject(j, "repairs");
	text = cJSON_Print(j);
	cJSON_Delete(j);
	if (!text)
		return err_set(e, ERR_TEMP, "out of memory");
	snprintf(name, sizeof(name), "%s.json", rr->census_id);
	st = path_of(dir, c->spool.root, "reconcile", NULL, e);
	if (st == ERR_OK)
		st = mkdir_p(dir, e);
	if (st == ERR_OK)
		st = oms_write_replace(dir, name, text, strlen(text), e);
	if (st == ERR_OK)
		st = oms_write_replace(dir, "last.json", text, strlen(text), e);
	cJSON_free(text);
	return st;
}

/* The reconcile records: the counts in each part, at most PART_MAX
 * findings a part; one part when nothing was found. */
static enum err_status commit_records(struct recon_run *rr, struct err *e)
{
	size_t nf = (size_t)cJSON_GetArraySize(rr->findings);
	size_t nparts = nf ? (nf + PART_MAX - 1) / PART_MAX : 1;
	struct record **recs = calloc(nparts, sizeof(struct record *));
	enum err_status st = ERR_OK;
	const cJSON *f = rr->findings ? rr->findings->child : NULL;
	size_t done = 0;

	if (!recs)
		return err_set(e, ERR_TEMP, "out of memory");
	for (size_t p = 0; p < nparts && st == ERR_OK; p++) {
		struct record *r = recs[p] = record_new(RECORD_RECONCILE);
		struct record_reconcile *rc;
		char key[160];
		size_t k = 0;

		if (!r) {
			st = err_set(e, ERR_TEMP, "out of memory");
			break;
		}
		rc = &r->u.reconcile;
		st = record_part_key(key, sizeof(key), RECORD_RECONCILE, rr->census_id,
		                     (int64_t)p + 1, e);
		if (st != ERR_OK)
			break;
		r->key = strdup(key);
		rc->census_id = strdup(rr->census_id);
		rc->part = (int64_t)p + 1;
		rc->last = p + 1 == nparts;
		rc->in_sync = rr->counts[RECON_IN_SYNC];
		rc->missing = rr->counts[RECON_MISSING];
		rc->missed_close = rr->counts[RECON_MISSED_CLOSE];
		rc->orphan = rr->counts[RECON_ORPHAN];
		rc->drift = rr->counts[RECON_DRIFT];
		rc->duplicate = rr->counts[RECON_DUPLICATE];
		rc->n_findings = nf - p * PART_MAX < PART_MAX ? nf - p * PART_MAX : PART_MAX;
		if (nf == 0)
			rc->n_findings = 0;
		rc->findings =
		    rc->n_findings ? calloc(rc->n_findings, sizeof(*rc->findings)) : NULL;
		if (!r->key || !rc->census_id || (rc->n_findings && !rc->findings)) {
			st = err_set(e, ERR_TEMP, "out of memory");
			break;
		}
		for (; f && k < rc->n_findings; f = f->next, k++) {
			struct record_finding *x = &rc->findings[k];
			const cJSON *v;
			x->cls = dup_or_null(cJSON_GetStringValue(cJSON_GetObjectItem(f, "class")));
			x->issue_id =
			    (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(f, "issue_id"));
			x->scf_status =
			    dup_or_null(cJSON_GetStringValue(cJSON_GetObjectItem(f, "scf_status")));
			v = cJSON_GetObjectItem(f, "oid");
			x->oid = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
			x->request_id =
			    dup_or_null(cJSON_GetStringValue(cJSON_GetObjectItem(f, "request_id")));
			x->oms_status =
			    dup_or_null(cJSON_GetStringValue(cJSON_GetObjectItem(f, "oms_status")));
			x->detail =
			    dup_or_null(cJSON_GetStringValue(cJSON_GetObjectItem(f, "detail")));
		}
	}
	if (st == ERR_OK)
		st = spool_commit_group(rr->o->in_q, recs, nparts, &done, e);
	for (size_t p = 0; p < nparts; p++) {
		if (p < done)
			log_info("effect=reconcile census=%s part=%zu record=%" PRIu64,
			         rr->census_id, p + 1, recs[p]->seq);
		record_free(recs[p]);
	}
	free(recs);
	return st;
}

static void rm_census_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		char p[SPOOL_PATH_MAX];
		if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < (int)sizeof(p))
			unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static enum err_status reconcile_one(struct oms *o, const char *census_id, int64_t nparts,
                                     struct err *e)
{
	struct recon_run rr;
	struct recon_rules rules;
	struct centry *es = calloc(PART_MAX, sizeof(*es));
	enum err_status st = ERR_OK;
	uint64_t t0 = when_mono_ms();

	memset(&rr, 0, sizeof(rr));
	rr.o = o;
	rr.census_id = census_id;
	rr.nparts = nparts;
	rr.findings = cJSON_CreateArray();
	rr.nseen = oms_track_count(o->track);
	rr.seen = calloc(rr.nseen ? rr.nseen : 1, 1);
	rules.cfg = o->cfg;
	rules.tolerance_m = recon_tolerance(o->cfg);
	if (!es || !rr.findings || !rr.seen) {
		st = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	st = path_of(rr.dir, o->cfg->spool.root, "census", census_id, e);
	if (st != ERR_OK)
		goto out;
	for (int64_t p = 1; p <= nparts && st == ERR_OK; p++) {
		size_t n = 0;
		st = read_part(&rr, p, es, &n, e);
		if (st == ERR_OK)
			st = do_part(&rr, &rules, es, n, e);
	}
	if (st == ERR_OK)
		st = do_orphans(&rr, e);
	if (st == ERR_OK)
		st = write_result(&rr, e);
	if (st == ERR_OK)
		st = commit_records(&rr, e);
	if (st == ERR_OK) {
		size_t ideal = (rr.issues + OMS_POLL_CHUNK - 1) / OMS_POLL_CHUNK;
		log_info("event=reconciled census=%s issues=%zu requests=%zu in_sync=%" PRId64
		         " missing=%" PRId64 " missed_close=%" PRId64 " orphan=%" PRId64
		         " drift=%" PRId64 " duplicate=%" PRId64
		         " calls=%zu batches=%zu ideal=%zu ms=%" PRIu64,
		         census_id, rr.issues, rr.requests, rr.counts[RECON_IN_SYNC],
		         rr.counts[RECON_MISSING], rr.counts[RECON_MISSED_CLOSE],
		         rr.counts[RECON_ORPHAN], rr.counts[RECON_DRIFT],
		         rr.counts[RECON_DUPLICATE], rr.calls, rr.batches, ideal,
		         when_mono_ms() - t0);
		rm_census_dir(rr.dir);
	}
out:
	clear_reqs(&rr);
	free(rr.reqs);
	free(rr.types);
	free(rr.seen);
	cJSON_Delete(rr.findings);
	free(es);
	return st;
}

/* A census whose parts 1..last are all on disk: last, else 0; -1 (and e
 * set) when its "last" file does not hold one part number. */
static int64_t complete_parts(const char *dir, struct err *e)
{
	char p[SPOOL_PATH_MAX], buf[32];
	const char *end;
	struct stat sb;
	int64_t last = 0;
	FILE *f;

	if (snprintf(p, sizeof(p), "%s/last", dir) >= (int)sizeof(p) ||
	    !(f = open_state_file(p, NULL)))
		return 0;
	if (!fgets(buf, sizeof(buf), f) || num_i64(buf, &end, &last) != 0 || !num_field_end(end) ||
	    last < 1) {
		fclose(f);
		err_set(e, ERR_PERM, "%s: not a part number", p);
		return -1;
	}
	fclose(f);
	for (int64_t i = 1; i <= last; i++)
		if (snprintf(p, sizeof(p), "%s/part.%06" PRId64, dir, i) >= (int)sizeof(p) ||
		    stat(p, &sb) != 0)
			return 0;
	return last;
}

/* The reconcile kind of the health record after a pass over the census
 * directory: an attempt when a complete census was there; a failure kept
 * from an earlier pass is settled when no complete census is left (its
 * directory removed by the operator: nothing fails any more). */
static void note_health(struct oms *o, int tried, enum err_status worst, const char *why)
{
	struct health_state *ks = &o->health.k[HEALTH_RECONCILE];

	if (tried) {
		health_note(&o->health, HEALTH_RECONCILE, (int64_t)time(NULL), worst, why);
		oms_health_save(o, 1);
	} else if (ks->last_attempt && ks->cls != ERR_OK) {
		health_settle(&o->health, HEALTH_RECONCILE);
		oms_health_save(o, 1);
	}
}

enum err_status oms_reconcile_pending(struct oms *o, struct err *e)
{
	char dir[SPOOL_PATH_MAX], why[ERR_MSG_MAX + RECORD_CENSUS_ID_MAX + 16] = "";
	enum err_status worst = ERR_OK;
	struct dirent *de;
	int tried = 0;
	DIR *d;

	if (o->recon_retry_at && time(NULL) < o->recon_retry_at)
		return ERR_OK;
	if (path_of(dir, o->cfg->spool.root, "census", NULL, e) != ERR_OK || !(d = opendir(dir))) {
		note_health(o, 0, ERR_OK, NULL);
		return ERR_OK; /* no census yet */
	}
	while ((de = readdir(d)) != NULL) {
		char sub[SPOOL_PATH_MAX];
		int64_t last;
		enum err_status st;
		struct err le;

		err_clear(&le);
		if (!record_census_id_valid(de->d_name) ||
		    snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub) ||
		    !(last = complete_parts(sub, &le)))
			continue;
		tried = 1;
		st = last < 0 ? le.status : reconcile_one(o, de->d_name, last, &le);
		if (st == ERR_OK)
			continue;
		log_warn("event=reconcile-failed census=%s why=%s", de->d_name, log_q(le.msg));
		if (st > worst) {
			worst = st;
			*e = le;
			/* status names the census: "census ID: message" */
			snprintf(why, sizeof(why), "census %.64s: %s", de->d_name, le.msg);
		}
	}
	closedir(d);
	note_health(o, tried, worst, why);
	/* a Cartegraph failure: tried again in a minute, records flow on */
	o->recon_retry_at = worst == ERR_OK ? 0 : time(NULL) + 60;
	return worst;
}
