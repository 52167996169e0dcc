/*
 * scf_reconcile.c: the inbound records of a reconciliation on the SCF
 * half: `resend` (re-commit the issue records the OMS half found
 * missing) and `reconcile` (the result, part by part, into a result file
 * that `scfgate report` on this host shows).  See scf_impl.h.
 */
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
#include "scf_impl.h"

/* ---- resend ------------------------------------------------------------------- */

enum err_status scf_resend_apply(struct scf_half *h, const struct record *r, const char *name,
                                 struct err *e)
{
	const struct record_resend *rs = &r->u.resend;
	size_t sent = 0, already = 0, skipped = 0, failed = 0;
	char first_why[300] = "";
	enum err_status s = ERR_OK;

	for (size_t i = 0; i < rs->n_issues; i++) {
		enum scf_resend_outcome oc;
		struct err ie;

		if (scf_stopping(h)) {
			s = err_set(e, ERR_TEMP, "stopped before issue %" PRId64, rs->issue_ids[i]);
			break;
		}
		err_clear(&ie);
		s = scf_resend_issue(h, rs->issue_ids[i], rs->census_id, &oc, &ie);
		if (s == ERR_PERM) {
			/* This issue only: the others go on. */
			failed++;
			log_error("event=resend-failed census=%s issue=%" PRId64
			          " record=%s why=%s",
			          rs->census_id, rs->issue_ids[i], name, log_q(ie.msg));
			if (!first_why[0])
				snprintf(first_why, sizeof(first_why), "issue %" PRId64 ": %.250s",
				         rs->issue_ids[i], ie.msg);
			s = ERR_OK;
			continue;
		}
		if (s != ERR_OK) {
			err_set(e, s, "%s", ie.msg);
			break;
		}
		sent += oc == SCF_RESEND_SENT;
		already += oc == SCF_RESEND_ALREADY;
		skipped += oc == SCF_RESEND_SKIPPED;
	}
	log_info("event=resend census=%s part=%" PRId64 " record=%s issues=%zu sent=%zu "
	         "already=%zu skipped=%zu failed=%zu status=%s",
	         rs->census_id, rs->part, name, rs->n_issues, sent, already, skipped, failed,
	         err_status_name(s));
	if (s == ERR_OK && failed)
		return err_set(e, ERR_PERM,
		               "%zu of %zu issues could not be resent (the others were; a retry "
		               "resends only these); first: %s",
		               failed, rs->n_issues, first_why);
	return s;
}

/* ---- reconcile ------------------------------------------------------------------ */

static enum err_status make_dir(const char *path, struct err *e)
{
	if (mkdir(path, 0750) != 0 && errno != EEXIST)
		return err_set(e, ERR_TEMP, "%s: %s", path, strerror(errno));
	return ERR_OK;
}

/* Write dir/name through a temporary file, flushed, renamed over the old
 * one, directory flushed: a reader sees the old file or the new one. */
static enum err_status write_replace(const char *dir, const char *name, const char *data,
                                     size_t len, struct err *e)
{
	char tmp[SPOOL_PATH_MAX + 64], path[SPOOL_PATH_MAX + 64];
	size_t off = 0;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return err_set(e, ERR_PERM, "%s/%s: path too long", dir, name);
	/* The temporary name is ours: whatever stands there (a leftover, or a
	 * FIFO or link someone with write access planted) is removed, and the
	 * file created anew, so the open neither follows a link nor waits for
	 * a FIFO's reader. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return err_set(e, ERR_TEMP, "%s: %s", tmp, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set(e, ERR_TEMP, "%s: %s", tmp,
			        n < 0 ? strerror(errno) : "short write");
			close(fd);
			unlink(tmp);
			return ERR_TEMP;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, 0640) != 0 || fdatasync(fd) != 0) {
		err_set(e, ERR_TEMP, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return ERR_TEMP;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		err_set(e, ERR_TEMP, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return ERR_TEMP;
	}
	return spool_sync_dir(dir, e);
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

/* The findings of one part as the result file lists them: the SCF half
 * knows no html_url or request type of an issue it did not list. */
static cJSON *part_json(const struct record_reconcile *rc)
{
	cJSON *j = cJSON_CreateObject(), *c, *fs;

	if (!j)
		return NULL;
	cJSON_AddNumberToObject(j, "part", (double)rc->part);
	cJSON_AddBoolToObject(j, "last", rc->last);
	c = cJSON_AddObjectToObject(j, "classes");
	if (c) {
		cJSON_AddNumberToObject(c, "in-sync", (double)rc->in_sync);
		cJSON_AddNumberToObject(c, "missing", (double)rc->missing);
		cJSON_AddNumberToObject(c, "missed-close", (double)rc->missed_close);
		cJSON_AddNumberToObject(c, "orphan", (double)rc->orphan);
		cJSON_AddNumberToObject(c, "drift", (double)rc->drift);
		cJSON_AddNumberToObject(c, "duplicate", (double)rc->duplicate);
	}
	fs = cJSON_AddArrayToObject(j, "findings");
	for (size_t i = 0; fs && i < rc->n_findings; i++) {
		const struct record_finding *f = &rc->findings[i];
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(fs, o)) {
			cJSON_Delete(o);
			cJSON_Delete(j);
			return NULL;
		}
		cJSON_AddStringToObject(o, "class", f->cls);
		cJSON_AddNumberToObject(o, "issue_id", (double)f->issue_id);
		cJSON_AddNullToObject(o, "html_url");
		add_str_or_null(o, "scf_status", f->scf_status);
		cJSON_AddNullToObject(o, "request_type_id");
		if (f->oid)
			cJSON_AddNumberToObject(o, "oid", (double)f->oid);
		else
			cJSON_AddNullToObject(o, "oid");
		add_str_or_null(o, "request_id", f->request_id);
		add_str_or_null(o, "oms_status", f->oms_status);
		add_str_or_null(o, "detail", f->detail);
	}
	return j;
}

static enum err_status read_json(const char *path, cJSON **out, struct err *e)
{
	struct buf b;
	enum err_status s;

	*out = NULL;
	buf_init(&b, (size_t)64 * 1024 * 1024);
	s = spool_read_untrusted(path, b.cap, &b, NULL, e);
	if (s == ERR_OK && !(*out = cJSON_ParseWithLength(b.data ? b.data : "", b.len)))
		s = err_set(e, ERR_PERM, "%s: not JSON", path);
	buf_release(&b);
	return s;
}

/* The parts kept of census id: the number of the last one (0: not yet)
 * and how many of 1..last are there. */
static void parts_seen(const char *dir, const char *id, int64_t *last, int64_t *have)
{
	size_t n = strlen(id);
	struct dirent *d;
	DIR *dp = opendir(dir);

	*last = 0;
	*have = 0;
	if (!dp)
		return;
	while ((d = readdir(dp))) {
		char *end;
		long long p;

		if (strncmp(d->d_name, id, n) != 0 || d->d_name[n] != '.')
			continue;
		p = strtoll(d->d_name + n + 1, &end, 10);
		if (p < 1 || end == d->d_name + n + 1)
			continue;
		if (strcmp(end, ".last.json") == 0)
			*last = p;
		else if (strcmp(end, ".json") != 0)
			continue;
		(*have)++;
	}
	closedir(dp);
}

/* "https://seeclickfix.com/api/v2" -> "https://seeclickfix.com". */
static void web_base(const char *api, char *out, size_t size)
{
	size_t n = api ? strlen(api) : 0;

	snprintf(out, size, "%s", api ? api : "");
	if (n >= 7 && strcmp(api + n - 7, "/api/v2") == 0 && n - 7 < size)
		out[n - 7] = '\0';
}

static enum err_status assemble(struct scf_half *h, const char *dir, const char *parts,
                                const char *id, int64_t last, struct err *e)
{
	char path[SPOOL_PATH_MAX + 160], now[32], base[512], key[160], from[32], to[32];
	cJSON *res = cJSON_CreateObject(), *win, *all, *part = NULL, *classes = NULL;
	const char *v;
	char *text = NULL;
	enum err_status s = ERR_OK;
	size_t n_findings = 0;

	if (!res)
		return err_set(e, ERR_TEMP, "out of memory");
	scf_time_format((int64_t)time(NULL), now);
	web_base(h->c->scf.base_url, base, sizeof(base));
	cJSON_AddStringToObject(res, "census_id", id);
	cJSON_AddStringToObject(res, "completed_at", now);
	win = cJSON_AddObjectToObject(res, "window");
	/* Known when this half made the census. */
	snprintf(key, sizeof(key), "census/from/%s", id);
	v = scf_state_get(h->st, key);
	if (v) {
		snprintf(key, sizeof(key), "census/to/%s", id);
		scf_time_format(strtoll(v, NULL, 10), from);
		v = scf_state_get(h->st, key);
		scf_time_format(v ? strtoll(v, NULL, 10) : 0, to);
		cJSON_AddStringToObject(win, "from", from);
		add_str_or_null(win, "to", v ? to : NULL);
	} else {
		cJSON_AddNullToObject(win, "from");
		cJSON_AddNullToObject(win, "to");
	}
	cJSON_AddNullToObject(res, "id_field");
	cJSON_AddStringToObject(res, "scf_base_url", base);
	snprintf(key, sizeof(key), "census/issues/%s", id);
	if ((v = scf_state_get(h->st, key)))
		cJSON_AddNumberToObject(res, "issues", (double)strtoll(v, NULL, 10));
	else
		cJSON_AddNullToObject(res, "issues");
	cJSON_AddNullToObject(res, "requests");
	all = cJSON_CreateArray();
	for (int64_t p = 1; p <= last && s == ERR_OK; p++) {
		cJSON *fs, *f;

		snprintf(path, sizeof(path), "%s/%s.%" PRId64 "%s", parts, id, p,
		         p == last ? ".last.json" : ".json");
		s = read_json(path, &part, e);
		if (s != ERR_OK)
			break;
		if (p == last)
			classes = cJSON_DetachItemFromObjectCaseSensitive(part, "classes");
		fs = cJSON_GetObjectItemCaseSensitive(part, "findings");
		while (fs && (f = cJSON_DetachItemFromArray(fs, 0))) {
			cJSON_AddItemToArray(all, f);
			n_findings++;
		}
		cJSON_Delete(part);
		part = NULL;
	}
	if (s != ERR_OK) {
		cJSON_Delete(classes);
		cJSON_Delete(all);
		cJSON_Delete(res);
		return s;
	}
	cJSON_AddItemToObject(res, "classes", classes ? classes : cJSON_CreateObject());
	cJSON_AddItemToObject(res, "findings", all);
	cJSON_AddArrayToObject(res, "repairs");
	text = cJSON_Print(res);
	if (!text) {
		cJSON_Delete(res);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	snprintf(path, sizeof(path), "%s.json", id);
	s = write_replace(dir, path, text, strlen(text), e);
	if (s == ERR_OK)
		s = write_replace(dir, "last.json", text, strlen(text), e);
	if (s == ERR_OK) {
		cJSON *c = cJSON_GetObjectItemCaseSensitive(res, "classes");
		double k[6] = {0};
		static const char *const names[] = {"in-sync", "missing", "missed-close",
		                                    "orphan",  "drift",   "duplicate"};

		for (int i = 0; i < 6; i++) {
			const cJSON *x = cJSON_GetObjectItemCaseSensitive(c, names[i]);
			k[i] = cJSON_IsNumber(x) ? x->valuedouble : 0;
		}
		log_info("event=reconcile-result census=%s parts=%" PRId64
		         " in_sync=%.0f missing=%.0f "
		         "missed_close=%.0f orphan=%.0f drift=%.0f duplicate=%.0f findings=%zu "
		         "file=%s/%s.json",
		         id, last, k[0], k[1], k[2], k[3], k[4], k[5], n_findings, dir, id);
		for (int64_t p = 1; p <= last; p++) {
			snprintf(path, sizeof(path), "%s/%s.%" PRId64 "%s", parts, id, p,
			         p == last ? ".last.json" : ".json");
			unlink(path);
		}
		/* What this half kept of its census is in the file now. */
		snprintf(key, sizeof(key), "census/from/%s", id);
		scf_state_del(h->st, key);
		snprintf(key, sizeof(key), "census/to/%s", id);
		scf_state_del(h->st, key);
		snprintf(key, sizeof(key), "census/issues/%s", id);
		scf_state_del(h->st, key);
	}
	free(text);
	cJSON_Delete(res);
	return s;
}

enum err_status scf_reconcile_apply(struct scf_half *h, const struct record *r, const char *name,
                                    struct err *e)
{
	const struct record_reconcile *rc = &r->u.reconcile;
	char dir[SPOOL_PATH_MAX + 32], parts[SPOOL_PATH_MAX + 48], file[160];
	struct stat sb;
	cJSON *j;
	char *text;
	int64_t last = 0, have = 0;
	enum err_status s;

	if (!record_census_id_valid(rc->census_id) || rc->part < 1)
		return err_set(e, ERR_PERM, "%s: not a valid census id or part", name);
	if (snprintf(dir, sizeof(dir), "%s/state/scf/reconcile", h->c->spool.root) >=
	        (int)sizeof(dir) ||
	    snprintf(parts, sizeof(parts), "%s/parts", dir) >= (int)sizeof(parts))
		return err_set(e, ERR_PERM, "%s: spool root path too long", h->c->spool.root);
	s = make_dir(dir, e);
	if (s == ERR_OK)
		s = make_dir(parts, e);
	if (s != ERR_OK)
		return s;
	{
		char done[SPOOL_PATH_MAX + 160];

		snprintf(done, sizeof(done), "%s/%s.json", dir, rc->census_id);
		if (lstat(done, &sb) == 0) {
			log_info("event=reconcile-part census=%s part=%" PRId64
			         " record=%s why=\"the "
			         "result of this census is complete already\"",
			         rc->census_id, rc->part, name);
			return ERR_OK;
		}
	}
	if (!(j = part_json(rc)) || !(text = cJSON_PrintUnformatted(j))) {
		cJSON_Delete(j);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	cJSON_Delete(j);
	snprintf(file, sizeof(file), "%s.%" PRId64 "%s", rc->census_id, rc->part,
	         rc->last ? ".last.json" : ".json");
	s = write_replace(parts, file, text, strlen(text), e);
	free(text);
	if (s != ERR_OK)
		return s;
	parts_seen(parts, rc->census_id, &last, &have);
	log_info("event=reconcile-part census=%s part=%" PRId64 " last=%s findings=%zu record=%s "
	         "parts_kept=%" PRId64 " of=%s",
	         rc->census_id, rc->part, rc->last ? "true" : "false", rc->n_findings, name, have,
	         last ? "known" : "unknown");
	if (!last || have < last)
		return ERR_OK;
	return assemble(h, dir, parts, rc->census_id, last, e);
}
