/*
 * oms_meta.c: the OMS half checks its field map against the city's
 * Cartegraph class metadata (cg_check.h) at start-up and again when a
 * 400 names a field, and keeps the last metadata read in its state
 * directory for a start while Cartegraph cannot be reached.
 *
 * The cache is state/oms/cgmeta.<generation>: one meta document
 * (cg_meta_json), written with spool_write_atomic, older generations
 * removed after.
 */
#include "oms_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cg_check.h"
#include "gen.h"
#include "log.h"

#define CACHE_PREFIX "cgmeta."
/* A 400 naming a field re-reads the metadata at most this often; in
 * between, the last answer stands (a burst of such replies costs one
 * re-read, not one per record).  A check left pending by an outage is
 * tried again as often. */
#define REREAD_SECONDS 60

static void state_dir(const struct oms *o, char *dir, size_t size)
{
	snprintf(dir, size, "%s/state/oms", o->cfg->spool.root);
}

static void cache_save(struct oms *o, const struct cg_meta *m)
{
	char dir[SPOOL_PATH_MAX];
	struct buf b = BUF_INIT_CAP(CG_META_MAX_BYTES);
	struct err e;

	state_dir(o, dir, sizeof(dir));
	err_clear(&e);
	if (cg_meta_json(m, &b) != ERR_OK)
		log_warn("event=meta-not-cached why=\"out of memory\"");
	else if (spool_write_next(dir, CACHE_PREFIX, b.data, b.len, &e) != ERR_OK)
		log_warn("event=meta-not-cached why=%s", log_q(e.msg));
	buf_release(&b);
}

/* The newest readable cache, or NULL; *from gets its file name. */
static struct cg_meta *cache_load(struct oms *o, char *from, size_t size)
{
	char dir[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX + 64];
	uint64_t gens[16];
	size_t ng;

	state_dir(o, dir, sizeof(dir));
	ng = gen_list(dir, CACHE_PREFIX, gens, sizeof(gens) / sizeof(gens[0]));
	for (size_t i = 0; i < ng; i++) {
		struct buf b = BUF_INIT_CAP(CG_META_MAX_BYTES);
		struct cg_meta *m = NULL;
		struct err e;

		snprintf(path, sizeof(path), "%s/" CACHE_PREFIX "%020" PRIu64, dir, gens[i]);
		err_clear(&e);
		if (spool_read_untrusted(path, CG_META_MAX_BYTES, &b, NULL, &e) == ERR_OK &&
		    cg_meta_new(&m, &e) == ERR_OK &&
		    cg_meta_add(m, buf_str(&b), b.len, &e) == ERR_OK) {
			buf_release(&b);
			snprintf(from, size, "%s", path);
			return m;
		}
		log_warn("event=meta-cache-unreadable file=%s why=%s", path, log_q(e.msg));
		cg_meta_free(m);
		buf_release(&b);
	}
	return NULL;
}

/* Run the check on m; each problem is one alert line, and any problem
 * is ERR_FATAL.  m becomes the half's metadata either way. */
static enum err_status check(struct oms *o, struct cg_meta *m, const char *source, struct err *e)
{
	struct buf out = BUF_INIT_CAP(1u << 20);
	size_t n = 0;
	enum err_status st;

	cg_meta_free(o->meta);
	o->meta = m;
	if (cg_check_fields(o->cfg, m, &out, &n) != ERR_OK) {
		buf_release(&out);
		return err_set(e, ERR_TEMP, "out of memory checking the field map");
	}
	if (n == 0) {
		log_info("event=field-map-checked source=%s classes=%s,%s", source,
		         o->cfg->cg.request_class, o->cfg->cg.attachment_class);
		buf_release(&out);
		return ERR_OK;
	}
	for (char *line = out.data, *nl; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		log_alert("event=field-map-problem source=%s why=%s", source, log_q(line));
	}
	st = err_set(e, ERR_FATAL,
	             "%zu problem%s in the Cartegraph field map of %s (checked against the %s "
	             "class metadata), first: %s",
	             n, n == 1 ? "" : "s", o->cfg->path, source, out.data);
	buf_release(&out);
	return st;
}

/* Read the metadata from Cartegraph and check it; ERR_TEMP when it could
 * not be read (unreachable, 5xx, a body that is not metadata). */
static enum err_status read_and_check(struct oms *o, struct err *e)
{
	struct cg_meta *m = NULL;
	enum err_status st = cg_check_fetch(o->http_meta, o->cfg, &m, NULL, e);

	if (st == ERR_PERM && strncmp(e->msg, "HTTP ", 5) != 0)
		st = ERR_TEMP; /* a body that is not metadata: a proxy, a truncation */
	if (st != ERR_OK)
		return st;
	cache_save(o, m);
	o->meta_pending = 0;
	return check(o, m, "cartegraph", e);
}

/* Metadata that cannot be read for another reason than an outage (a 403,
 * a 404 of the API itself) stops the half like a failed check. */
static enum err_status perm_is_fatal(enum err_status st, struct err *e)
{
	if (st != ERR_PERM)
		return st;
	err_prefix(e, "reading the Cartegraph class metadata: ");
	e->status = ERR_FATAL;
	return ERR_FATAL;
}

enum err_status oms_meta_start(struct oms *o, struct err *e)
{
	char from[SPOOL_PATH_MAX + 64];
	struct cg_meta *m;
	enum err_status st = perm_is_fatal(read_and_check(o, e), e);

	if (st != ERR_TEMP)
		return st;
	o->meta_pending = 1;
	o->meta_pending_at = time(NULL);
	if ((m = cache_load(o, from, sizeof(from)))) {
		char why[LOG_LINE_MAX];

		snprintf(why, sizeof(why), "Cartegraph cannot be reached: %s", e->msg);
		log_warn("event=meta-from-cache file=%s why=%s", from, log_q(why));
		return check(o, m, "cached", e);
	}
	{
		char why[LOG_LINE_MAX];

		snprintf(
		    why, sizeof(why),
		    "Cartegraph cannot be reached and no metadata is cached: %s; the field map "
		    "is checked when it answers",
		    e->msg);
		log_warn("event=meta-unchecked why=%s", log_q(why));
	}
	err_clear(e);
	return ERR_OK;
}

enum err_status oms_meta_pending(struct oms *o, struct err *e)
{
	struct err te;
	enum err_status st;

	if (!o->meta_pending || time(NULL) - o->meta_pending_at < REREAD_SECONDS)
		return ERR_OK;
	o->meta_pending_at = time(NULL);
	err_clear(&te);
	st = perm_is_fatal(read_and_check(o, &te), &te);
	if (st == ERR_TEMP)
		return ERR_OK; /* still unreachable; the records meet it too */
	if (st != ERR_OK)
		*e = te;
	return st;
}

int oms_meta_recheck(struct oms *o, long status, const char *body, size_t len, struct err *e)
{
	char field[CG_META_NAME_MAX + 1];
	time_t now = time(NULL);
	struct err te;
	enum err_status st;

	if (status != 400 || !cg_check_unknown_field(body, len, field, sizeof(field)))
		return 0;
	if (o->meta_reread_at && now - o->meta_reread_at < REREAD_SECONDS)
		return 0;
	o->meta_reread_at = now;
	{
		char why[sizeof(field) + 64];

		snprintf(why, sizeof(why), "Cartegraph refused field %s", field);
		log_warn("event=meta-reread why=%s", log_q(why));
	}
	err_clear(&te);
	st = read_and_check(o, &te);
	if (st == ERR_FATAL) {
		*e = te;
		return 1;
	}
	if (st != ERR_OK)
		log_warn("event=meta-reread-failed why=%s", log_q(te.msg));
	return 0;
}
