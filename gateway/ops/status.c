/*
 * status.c: collect and render `scfgate status` (see status.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "escape.h"
#include "gen.h"
#include "half.h"
#include "health.h"
#include "jdoc.h"
#include "oms.h"
#include "ratewin.h"
#include "record.h"
#include "scf.h"
#include "spool.h"
#include "status.h"

#define STATUS_LIST_MAX   50 /* failed/hold records listed per queue */
#define STATUS_WHY_MAX    400
#define STATUS_CENSUS_MAX 8      /* incomplete censuses described */
#define STATUS_PARTS_MAX  100000 /* part numbers read of one census */

/* A census (OMS host) or a reconciliation result (SCF host) whose parts
 * are not all there: what is kept, what is missing, and since when no
 * part came. */
struct status_census {
	char id[RECORD_CENSUS_ID_MAX + 1];
	int64_t last; /* the number of the part marked last; 0: not arrived */
	int64_t *parts;
	size_t nparts, aparts;
	time_t newest; /* mtime of the part that came last */
	char missing[256];
	int alarmed; /* no part for stuckAlarmSeconds */
};

/* Names and reasons are kept escaped (escape_display): a file name from the
 * other side may carry terminal escapes or a newline. */
struct status_rec {
	char name[ESCAPE_DISPLAY_MAX(255)];
	char why[STATUS_WHY_MAX];
	time_t mtime;
};

struct status_list {
	size_t n; /* listed */
	struct status_rec rec[STATUS_LIST_MAX];
};

/* The generations listed per kind (gen_list keeps the newest). */
#define STATUS_GEN_LIST      16
#define STATUS_GEN_STRANGERS ((size_t)2 * STATUS_GEN_LIST)

struct status_queue {
	const char *name;
	int produced_here; /* this half writes it; else this half consumes it */
	int readable;
	int absent; /* never created: the half has not run with this root */
	char error[ERR_MSG_MAX];
	struct spool_stats st;
	struct status_list failed;
	struct status_list held;
	char strangers[SPOOL_STRANGERS_SHOWN][ESCAPE_DISPLAY_MAX(255)]; /* escaped */
	/* st.state_stranger, escaped */
	char state_strangers[SPOOL_STATE_STRANGERS_SHOWN][ESCAPE_DISPLAY_MAX(255)];
	/* "NAME: reason" of files that could not be quarantined, escaped */
	char unmovable[SPOOL_STRANGERS_SHOWN][ESCAPE_DISPLAY_MAX(RECORD_NAME_MAX + ERR_MSG_MAX)];
	/* the oldest record in new/ when it waited past stuckAlarmSeconds:
	 * what it is and what holds it (escaped) */
	char stuck[2048];
};

struct status_report {
	enum cfg_half half;
	char config[1024];
	char root[SPOOL_PATH_MAX];
	unsigned gap_alarm;
	time_t now;
	struct status_queue q[2];
	int state_ok;
	char state_error[ERR_MSG_MAX];
	int64_t watermark;      /* SCF half; 0 before the first pass */
	size_t reopens_ignored; /* SCF half: issues reopened after close, ignored by policy */
	/* SCF half: the last reconciliation (state/scf/reconcile/last.json) */
	int recon_present;
	char recon_id[72], recon_at[40];
	double recon[6];  /* in the order of recon_class */
	int64_t last_ok;  /* the last successful API call; 0 unknown */
	int64_t alert_at; /* a recorded fatal stop; 0 none */
	char alert[256];
	/* a status generation in state/<half>/ that is not a regular file
	 * (half_status.stranger): passed over, named, never ok */
	char status_stranger[ERR_MSG_MAX];
	/* every status and health generation in state/<half>/ that is not a
	 * regular file (lstat, never opened), as "PATH: a FIFO, not a regular
	 * file (never read)"; health 1 for a health generation */
	size_t n_gen_strangers;
	struct {
		char what[ERR_MSG_MAX];
		int health;
	} gen_strangers[STATUS_GEN_STRANGERS];
	/* SCF half: the write-back backlog and the rate budget */
	uint64_t wb_records, wb_drain_s;
	unsigned rate_limit, rate_window, rate_used;
	int64_t ban_until;
	char rate_error[ERR_MSG_MAX];
	int oms_present; /* OMS half: state/oms/ exists */
	size_t tracked_open, entries;
	/* the half's health record (health.h) */
	unsigned failing_alarm, stuck_alarm, poll_seconds;
	int health_present;
	char health_error[ERR_MSG_MAX];
	struct health health;
	int alert_cleared; /* the recorded fatal stop is over: a later success */
	/* `scfgate transfer` of this configuration (state/transfer/health.N) */
	int transfer_on; /* the configuration has a <transfer> */
	char transfer_peer[320];
	unsigned transfer_interval; /* the longest intervalSeconds */
	int transfer_present;
	char transfer_error[ERR_MSG_MAX];
	struct health transfer;
	/* incomplete censuses (OMS) or reconciliation results (SCF) */
	size_t n_census;
	struct status_census census[STATUS_CENSUS_MAX];
	char census_error[ERR_MSG_MAX];
	char summary[4096];
};

struct list_ctx {
	const char *root, *queue;
	enum spool_dir d;
	struct status_list *list;
};

/* The first line of a .why, cut at STATUS_WHY_MAX. */
static void why_first_line(const char *root, const char *queue, enum spool_dir d, const char *name,
                           char out[STATUS_WHY_MAX])
{
	struct buf b = BUF_INIT_CAP((size_t)64 * 1024);
	struct err e;
	size_t n;

	out[0] = '\0';
	err_clear(&e);
	if (spool_read_why(root, queue, d, name, &b, &e) != ERR_OK) {
		snprintf(out, STATUS_WHY_MAX, "(.why unreadable: %.300s)", e.msg);
	} else if (b.len == 0) {
		snprintf(out, STATUS_WHY_MAX, "(no .why)");
	} else {
		n = strcspn(b.data, "\r\n");
		if (n >= STATUS_WHY_MAX)
			n = STATUS_WHY_MAX - 1;
		memcpy(out, b.data, n);
		out[n] = '\0';
	}
	buf_release(&b);
}

static int list_one(const struct spool_entry *ent, void *vctx)
{
	struct list_ctx *x = vctx;
	char why[STATUS_WHY_MAX];
	struct status_rec *r;

	if (x->list->n >= STATUS_LIST_MAX)
		return 1;
	r = &x->list->rec[x->list->n++];
	escape_display(ent->name, r->name, sizeof(r->name));
	r->mtime = ent->mtime;
	why_first_line(x->root, x->queue, x->d, ent->name, why);
	escape_display(why, r->why, sizeof(r->why));
	return 0;
}

static void collect_queue(struct status_report *r, struct status_queue *q)
{
	struct list_ctx x = {r->root, q->name, SPOOL_FAILED, &q->failed};
	char dir[SPOOL_PATH_MAX + SPOOL_QUEUE_MAX + 2];
	struct stat sb;
	struct err e;

	err_clear(&e);
	snprintf(dir, sizeof(dir), "%s/%s", r->root, q->name);
	if (stat(dir, &sb) != 0 && errno == ENOENT) {
		q->readable = q->absent = 1;
		return;
	}
	if (spool_stats(r->root, q->name, r->gap_alarm, &q->st, &e) != ERR_OK) {
		snprintf(q->error, sizeof(q->error), "%s", e.msg);
		return;
	}
	q->readable = 1;
	for (size_t i = 0; i < q->st.strangers && i < SPOOL_STRANGERS_SHOWN; i++)
		escape_display(q->st.stranger[i], q->strangers[i], sizeof(q->strangers[i]));
	for (size_t i = 0; i < q->st.state_strangers && i < SPOOL_STATE_STRANGERS_SHOWN; i++)
		escape_display(q->st.state_stranger[i], q->state_strangers[i],
		               sizeof(q->state_strangers[i]));
	for (size_t i = 0; i < q->st.stuck && i < SPOOL_STRANGERS_SHOWN; i++) {
		char raw[RECORD_NAME_MAX + ERR_MSG_MAX + 4];
		snprintf(raw, sizeof(raw), "%s: %s", q->st.stuck_name[i], q->st.stuck_why[i]);
		escape_display(raw, q->unmovable[i], sizeof(q->unmovable[i]));
	}
	if (q->st.count[SPOOL_FAILED] &&
	    spool_list(r->root, q->name, SPOOL_FAILED, list_one, &x, &e) != ERR_OK)
		snprintf(q->error, sizeof(q->error), "%s", e.msg);
	x.d = SPOOL_HOLD;
	x.list = &q->held;
	if (q->st.count[SPOOL_HOLD] &&
	    spool_list(r->root, q->name, SPOOL_HOLD, list_one, &x, &e) != ERR_OK)
		snprintf(q->error, sizeof(q->error), "%s", e.msg);
}

static void fmt_age(long long s, char out[32]);
static void fmt_time(time_t t, char out[32]);

/* ---- stuck records --------------------------------------------------------- */

#define STUCK_SCAN_MAX 5000 /* records decoded looking for what blocks one */

struct oldest_ctx {
	char name[256];
	time_t mtime;
};

static int find_oldest(const struct spool_entry *ent, void *vctx)
{
	struct oldest_ctx *x = vctx;

	if (ent->seq && (!x->name[0] || ent->mtime < x->mtime ||
	                 (ent->mtime == x->mtime && strcmp(ent->name, x->name) < 0))) {
		snprintf(x->name, sizeof(x->name), "%s", ent->name);
		x->mtime = ent->mtime;
	}
	return 0;
}

/* Inspection only: decoded without verifying (status has no key). */
static struct record *read_rec(const char *root, const char *queue, enum spool_dir d,
                               const char *name)
{
	char path[SPOOL_PATH_MAX + 300];
	struct record *rec = NULL;
	struct err e;
	int verified = 0;

	err_clear(&e);
	if (snprintf(path, sizeof(path), "%s/%s/%s/%s", root, queue, spool_dir_name(d), name) >=
	    (int)sizeof(path))
		return NULL;
	if (spool_read_record(path, NULL, &rec, &verified, &e) != ERR_OK)
		return NULL;
	return rec;
}

struct issue_ctx {
	const char *root, *queue;
	enum spool_dir d;
	int64_t issue;
	size_t scanned;
	char found[256];
};

static int find_issue_record(const struct spool_entry *ent, void *vctx)
{
	struct issue_ctx *x = vctx;
	struct record *rec;

	if (!ent->seq || x->scanned++ >= STUCK_SCAN_MAX)
		return x->scanned > STUCK_SCAN_MAX;
	if (!(rec = read_rec(x->root, x->queue, x->d, ent->name)))
		return 0;
	if (rec->kind == RECORD_ISSUE && rec->u.issue.issue_id == x->issue)
		snprintf(x->found, sizeof(x->found), "%s", ent->name);
	record_free(rec);
	return x->found[0] != 0;
}

/* What an outbound comment or attachment of issue waits for. */
static void issue_chain(const struct status_report *r, const struct status_queue *q, int64_t issue,
                        char *out, size_t cap)
{
	static const struct {
		enum spool_dir d;
		const char *what;
	} where[] = {{SPOOL_NEW, "also waiting in new/"},
	             {SPOOL_FAILED, "in failed/ (scfgate spool retry)"},
	             {SPOOL_HOLD, "held in hold/ (scfgate spool release)"},
	             {SPOOL_CUR, "claimed in cur/"}};
	char esc[ESCAPE_DISPLAY_MAX(255)];

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		struct issue_ctx x = {r->root, q->name, where[i].d, issue, 0, ""};
		struct err e;

		err_clear(&e);
		spool_list(r->root, q->name, where[i].d, find_issue_record, &x, &e);
		if (x.found[0]) {
			escape_display(x.found, esc, sizeof(esc));
			snprintf(out, cap, ": it waits for issue %lld, whose record %.200s is %s",
			         (long long)issue, esc, where[i].what);
			return;
		}
	}
	snprintf(out, cap, ": it waits for issue %lld (no record of it in %s/)", (long long)issue,
	         q->name);
}

static void collect_stuck(struct status_report *r, struct status_queue *q)
{
	struct oldest_ctx x = {"", 0};
	struct record *rec;
	char esc[ESCAPE_DISPLAY_MAX(255)], age[32], chain[400] = "";
	const struct health_state *ks;
	struct err e;

	if (!q->readable || q->absent || !q->st.oldest_new || !r->stuck_alarm ||
	    r->now - q->st.oldest_new < (time_t)r->stuck_alarm)
		return;
	err_clear(&e);
	if (spool_list(r->root, q->name, SPOOL_NEW, find_oldest, &x, &e) != ERR_OK || !x.name[0])
		return;
	escape_display(x.name, esc, sizeof(esc));
	fmt_age((long long)(r->now - x.mtime), age);
	if (q->produced_here) {
		snprintf(q->stuck, sizeof(q->stuck),
		         "record %.300s has waited %s in %s/new for the transport", esc, age,
		         q->name);
		return;
	}
	if (!(rec = read_rec(r->root, q->name, SPOOL_NEW, x.name))) {
		snprintf(q->stuck, sizeof(q->stuck),
		         "record %.300s has waited %s in %s/new and cannot be read", esc, age,
		         q->name);
		return;
	}
	ks = &r->health.k[r->half == CFG_HALF_OMS ? HEALTH_FORWARD : HEALTH_WRITEBACK];
	if (q->st.gap.active)
		snprintf(chain, sizeof(chain), ": it waits for seq %llu of %s (missing)",
		         (unsigned long long)q->st.gap.seq, q->st.gap.producer);
	else if (rec->kind == RECORD_COMMENT || rec->kind == RECORD_ATTACHMENT)
		issue_chain(r, q, record_issue_id(rec), chain, sizeof(chain));
	else if (ks->last_attempt && ks->cls != ERR_OK)
		snprintf(chain, sizeof(chain), ": %s fails: %s",
		         health_kind_name(ks == &r->health.k[HEALTH_FORWARD] ? HEALTH_FORWARD
		                                                             : HEALTH_WRITEBACK),
		         ks->reason);
	snprintf(q->stuck, sizeof(q->stuck), "%s %.300s of issue %lld has waited %s in %s/new%s",
	         record_kind_name(rec->kind), esc, (long long)record_issue_id(rec), age, q->name,
	         chain);
	record_free(rec);
}

static void collect_health(struct status_report *r, const char *dir)
{
	struct err e;

	err_clear(&e);
	if (health_load(dir, &r->health, &r->health_present, &e) != ERR_OK)
		snprintf(r->health_error, sizeof(r->health_error), "%s", e.msg);
}

/* ---- incomplete censuses ------------------------------------------------------ */

static struct status_census *census_group(struct status_report *r, const char *id, size_t idlen)
{
	struct status_census *c;

	if (idlen == 0 || idlen > RECORD_CENSUS_ID_MAX)
		return NULL;
	for (size_t i = 0; i < r->n_census; i++)
		if (strlen(r->census[i].id) == idlen && memcmp(r->census[i].id, id, idlen) == 0)
			return &r->census[i];
	if (r->n_census >= STATUS_CENSUS_MAX)
		return NULL;
	c = &r->census[r->n_census++];
	memcpy(c->id, id, idlen);
	c->id[idlen] = '\0';
	return c;
}

static void census_part(struct status_census *c, int64_t part, int last, time_t mtime)
{
	if (part < 1)
		return;
	if (last)
		c->last = part;
	if (mtime > c->newest)
		c->newest = mtime;
	if (c->nparts == c->aparts) {
		size_t na = c->aparts ? c->aparts * 2 : 64;
		int64_t *np;

		if (na > STATUS_PARTS_MAX || !(np = realloc(c->parts, na * sizeof(*np))))
			return;
		c->parts = np;
		c->aparts = na;
	}
	c->parts[c->nparts++] = part;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Digits only, 1 or more: the part number; else 0. */
static int64_t part_number(const char *s, size_t n)
{
	int64_t v = 0;

	if (n == 0 || n > 9)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* What is missing of c, as a phrase: "part 2", "parts 1, 3", "part 2 and
 * the last part (after part 4)", "the last part (after part 1)" (at most
 * 10 numbers named); 1 when c is complete. */
static int census_settle(struct status_report *r, struct status_census *c)
{
	char nums[160] = "";
	size_t used = 0, named = 0, missing = 0, k = 0;
	int64_t upto;

	qsort(c->parts, c->nparts, sizeof(*c->parts), cmp_i64);
	upto = c->last ? c->last : (c->nparts ? c->parts[c->nparts - 1] : 0);
	for (int64_t p = 1; p <= upto; p++) {
		while (k < c->nparts && c->parts[k] < p)
			k++;
		if (k < c->nparts && c->parts[k] == p)
			continue;
		missing++;
		if (named < 10 && used < sizeof(nums)) {
			used += (size_t)snprintf(nums + used, sizeof(nums) - used, "%s%lld",
			                         named ? ", " : "", (long long)p);
			named++;
		}
	}
	if (c->last && !missing)
		return 1;
	if (missing > named && used < sizeof(nums))
		snprintf(nums + used, sizeof(nums) - used, " ... (%zu in all)", missing);
	used = 0;
	if (missing)
		used = (size_t)snprintf(c->missing, sizeof(c->missing), "part%s %s",
		                        missing == 1 ? "" : "s", nums);
	if (!c->last && !upto)
		snprintf(c->missing, sizeof(c->missing), "every part");
	else if (!c->last && used < sizeof(c->missing))
		snprintf(c->missing + used, sizeof(c->missing) - used,
		         "%sthe last part (after part %lld)", missing ? " and " : "",
		         (long long)upto);
	c->alarmed = r->stuck_alarm && r->now - c->newest >= (time_t)r->stuck_alarm;
	return 0;
}

/* The modification time of dir/name without following a link; 0 when
 * it is not a regular file. */
static time_t file_mtime(int dfd, const char *name)
{
	struct stat sb;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	return sb.st_mtime;
}

/* OMS host: state/oms/census/<id>/part.NNNNNN and last (the number of
 * the last part), as oms_census_store writes them. */
static void census_oms_one(struct status_report *r, const char *dir, const char *id)
{
	char sub[SPOOL_PATH_MAX + 160], path[SPOOL_PATH_MAX + 176];
	struct status_census *c;
	struct dirent *de;
	DIR *d;

	snprintf(sub, sizeof(sub), "%s/%.64s", dir, id); /* a census id is <= 64 */
	if (!(d = opendir(sub)) || !(c = census_group(r, id, strlen(id)))) {
		if (d)
			closedir(d);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		time_t mt;
		int64_t p;

		if (strncmp(de->d_name, "part.", 5) == 0 &&
		    (p = part_number(de->d_name + 5, strlen(de->d_name + 5))) &&
		    (mt = file_mtime(dirfd(d), de->d_name)))
			census_part(c, p, 0, mt);
	}
	closedir(d);
	snprintf(path, sizeof(path), "%s/last", sub);
	{
		struct buf b;
		struct err e;

		buf_init(&b, 64);
		err_clear(&e);
		/* the spool's safe read: no link followed, no FIFO opened */
		if (spool_read_untrusted(path, 64, &b, NULL, &e) == ERR_OK && b.len) {
			int64_t last = part_number(b.data, strcspn(b.data, "\n"));

			if (last)
				c->last = last;
		}
		buf_release(&b);
	}
	if (census_settle(r, c)) {
		free(c->parts);
		memset(c, 0, sizeof(*c));
		r->n_census--;
	}
}

/* SCF host: state/scf/reconcile/parts/<id>.<n>.json and <id>.<n>.last.json,
 * as scf_reconcile_apply writes them. */
static void census_scf_parts(struct status_report *r, const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)) != NULL) {
		const char *n = de->d_name, *dot;
		size_t len = strlen(n);
		int last = 0;
		int64_t p;
		time_t mt;
		struct status_census *c;

		if (n[0] == '.' || len < 6 || strcmp(n + len - 5, ".json") != 0)
			continue;
		len -= 5;
		if (len > 5 && memcmp(n + len - 5, ".last", 5) == 0) {
			last = 1;
			len -= 5;
		}
		for (dot = n + len; dot > n && dot[-1] != '.'; dot--)
			;
		if (dot <= n + 1 || !(p = part_number(dot, (size_t)(n + len - dot))))
			continue;
		if (!(mt = file_mtime(dirfd(d), n)) ||
		    !(c = census_group(r, n, (size_t)(dot - 1 - n))))
			continue;
		if (!record_census_id_valid(c->id)) {
			r->n_census--;
			memset(c, 0, sizeof(*c));
			continue;
		}
		census_part(c, p, last, mt);
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < r->n_census;) {
		if (census_settle(r, &r->census[i])) {
			free(r->census[i].parts);
			memmove(&r->census[i], &r->census[i + 1],
			        (r->n_census - i - 1) * sizeof(r->census[0]));
			memset(&r->census[--r->n_census], 0, sizeof(r->census[0]));
			continue;
		}
		i++;
	}
}

static void collect_census(struct status_report *r)
{
	char dir[SPOOL_PATH_MAX + 64];
	struct dirent *de;
	DIR *d;

	if (r->half == CFG_HALF_SCF) {
		snprintf(dir, sizeof(dir), "%s/state/scf/reconcile/parts", r->root);
		census_scf_parts(r, dir);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/state/oms/census", r->root);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d)) != NULL)
		if (record_census_id_valid(de->d_name) && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			census_oms_one(r, dir, de->d_name);
	closedir(d);
}

static const char *const recon_class[6] = {"in-sync", "missing", "missed-close",
                                           "orphan",  "drift",   "duplicate"};

/* The counts of the last reconciliation's result file, if there is one. */
static void collect_scf_reconcile(struct status_report *r)
{
	char path[SPOOL_PATH_MAX + 64];
	struct buf b;
	struct err e;
	cJSON *j = NULL;
	const cJSON *c, *v;

	snprintf(path, sizeof(path), "%s/state/scf/reconcile/last.json", r->root);
	buf_init(&b, (size_t)64 * 1024 * 1024);
	/* The spool's safe read, like the report's: a FIFO or device planted
	 * there is never opened (status would hang), no link is followed. */
	if (spool_read_untrusted(path, (size_t)64 * 1024 * 1024, &b, NULL, &e) == ERR_OK)
		j = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
	buf_release(&b);
	c = cJSON_GetObjectItemCaseSensitive(j, "classes");
	v = cJSON_GetObjectItemCaseSensitive(j, "census_id");
	if (cJSON_IsObject(c) && cJSON_IsString(v)) {
		r->recon_present = 1;
		snprintf(r->recon_id, sizeof(r->recon_id), "%s", v->valuestring);
		v = cJSON_GetObjectItemCaseSensitive(j, "completed_at");
		snprintf(r->recon_at, sizeof(r->recon_at), "%s",
		         cJSON_IsString(v) ? v->valuestring : "?");
		for (int i = 0; i < 6; i++) {
			v = cJSON_GetObjectItemCaseSensitive(c, recon_class[i]);
			r->recon[i] = cJSON_IsNumber(v) ? v->valuedouble : 0;
		}
	}
	cJSON_Delete(j);
}

static void collect_scf_state(struct status_report *r)
{
	char dir[SPOOL_PATH_MAX + 16];
	struct scf_state *s = NULL;
	struct stat sb;
	struct err e;

	err_clear(&e);
	snprintf(dir, sizeof(dir), "%s/state/scf", r->root);
	/* scf_state_load creates the directory; status only reads. */
	if (stat(dir, &sb) != 0 && errno == ENOENT) {
		r->state_ok = 1;
		return;
	}
	if (scf_state_load(dir, &s, &e) != ERR_OK) {
		snprintf(r->state_error, sizeof(r->state_error), "%s", e.msg);
		return;
	}
	r->watermark = scf_state_watermark(s);
	r->reopens_ignored = scf_state_count_prefix(s, "issue/", "R");
	collect_scf_reconcile(r);
	r->last_ok = scf_state_last_ok(s);
	if (scf_state_alert(s, &r->alert_at))
		snprintf(r->alert, sizeof(r->alert), "%s", scf_state_alert(s, NULL));
	r->state_ok = 1;
	scf_state_free(s);
}

/* The backlog is what waits in inbound/new; the budget is read from
 * state/scf/rate without its lock (ratewin_peek). */
static void collect_scf_budget(struct status_report *r, const struct cfg *c)
{
	char path[SPOOL_PATH_MAX + 32];
	struct ratewin_info ri;
	struct err e;

	r->rate_limit = c->scf.rate_per_minute;
	r->rate_window = c->scf.rate_window;
	r->wb_records = r->q[1].st.count[SPOOL_NEW];
	r->wb_drain_s = scf_wb_drain_seconds(c, r->wb_records);
	err_clear(&e);
	snprintf(path, sizeof(path), "%s/state/scf/rate", r->root);
	if (ratewin_peek(path, (uint64_t)r->rate_window * 1000, &ri, &e) != ERR_OK) {
		snprintf(r->rate_error, sizeof(r->rate_error), "%s", e.msg);
		return;
	}
	r->rate_used = ri.in_window;
	r->ban_until = ri.ban_until;
}

static void collect_oms_state(struct status_report *r, const struct cfg *c)
{
	struct oms_status os;
	struct err e;

	err_clear(&e);
	if (oms_status_read(c, &os, &e) != ERR_OK) {
		snprintf(r->state_error, sizeof(r->state_error), "%s", e.msg);
		return;
	}
	r->oms_present = os.present;
	r->tracked_open = os.tracked_open;
	r->entries = os.entries;
	r->state_ok = 1;
}

/* The last successful call and a fatal stop: the half's status file
 * (half.h), one for either half.  A root where only an older SCF half ran
 * keeps them in its seen-state: those (collect_scf_state) stand until the
 * half writes its file. */
static void collect_half_status(struct status_report *r, const char *dir, const char *name)
{
	struct half_status hs;

	half_status_read(dir, name, &hs);
	snprintf(r->status_stranger, sizeof(r->status_stranger), "%s", hs.stranger);
	if (!hs.present)
		return;
	r->last_ok = hs.last_ok;
	r->alert_at = hs.alert_at;
	snprintf(r->alert, sizeof(r->alert), "%s", hs.alert);
}

/* Every generation of prefix in dir ("status." of half.c, "health." of
 * health.c) that is not a regular file: the half reads the newest
 * regular one and names only the first it passed over; status names
 * them all.  By lstat only: nothing is opened or followed. */
static void collect_gen_strangers(struct status_report *r, const char *dir, const char *prefix,
                                  int health)
{
	uint64_t gens[STATUS_GEN_LIST];
	size_t ng = gen_list(dir, prefix, gens, STATUS_GEN_LIST);

	for (size_t i = 0; i < ng && r->n_gen_strangers < STATUS_GEN_STRANGERS; i++) {
		char path[SPOOL_PATH_MAX + 64];
		enum spool_entry_type t;

		if (snprintf(path, sizeof(path), "%s/%s%020" PRIu64, dir, prefix, gens[i]) >=
		    (int)sizeof(path))
			continue;
		t = spool_entry_type_of(path);
		if (t == SPOOL_ENTRY_REGULAR || t == SPOOL_ENTRY_MISSING ||
		    t == SPOOL_ENTRY_UNREADABLE)
			continue;
		snprintf(r->gen_strangers[r->n_gen_strangers].what, ERR_MSG_MAX,
		         "%.900s: %s, not a regular file (never read)", path,
		         spool_entry_type_name(t));
		r->gen_strangers[r->n_gen_strangers++].health = health;
	}
}

/* The transfer's part of the verdict, the same rules as a half's kinds
 * of work: a fatal last attempt, failing for failing_alarm, no pass
 * recorded for failing_alarm plus twice the longest interval, or a health
 * record that cannot be read.  Each reason ends with what to do.  Writes
 * them into out; returns how many. */
static int transfer_reasons(const struct status_report *r, char *out, size_t cap)
{
	size_t nk, used = 0;
	const enum health_kind *kinds = health_transfer_kinds(&nk);
	int n = 0;
	char age[32];

	out[0] = '\0';
	if (!r->transfer_on)
		return 0;
	if (r->transfer_error[0]) {
		snprintf(out, cap,
		         " transfer: %.300s (the transfer's health record cannot be read);",
		         r->transfer_error);
		return 1;
	}
	if (!r->transfer_present)
		return 0;
	for (size_t i = 0; i < nk && used < cap; i++) {
		const struct health_state *ks = &r->transfer.k[kinds[i]];

		if (!ks->last_attempt || ks->cls == ERR_OK)
			continue;
		if (ks->cls == ERR_FATAL) {
			used += (size_t)snprintf(
			    out + used, cap - used,
			    " transfer %s stopped on a fatal error: %.300s (fix the "
			    "local queue it names, then start it again);",
			    health_kind_name(kinds[i]), ks->detail);
			n++;
			continue;
		}
		if (!ks->failing_since || r->now - ks->failing_since < (time_t)r->failing_alarm)
			continue;
		fmt_age((long long)(r->now - ks->failing_since), age);
		used +=
		    (size_t)snprintf(out + used, cap - used,
		                     " transfer %s failing for %s: %s (check %s and the "
		                     "transfer's log; the next pass retries);",
		                     health_kind_name(kinds[i]), age, ks->reason, r->transfer_peer);
		n++;
	}
	if (used < cap && r->now - r->transfer.saved_at >
	                      (int64_t)r->failing_alarm + 2 * (int64_t)r->transfer_interval) {
		fmt_age((long long)(r->now - r->transfer.saved_at), age);
		snprintf(out + used, cap - used,
		         " no transfer pass recorded for %s: scfgate transfer is not running, or "
		         "cannot write its state (start its service or timer, and read its log);",
		         age);
		n++;
	}
	return n;
}

/* The census a reconcile failure names: its detail is "census ID: ...". */
static void detail_census(const char *detail, char id[RECORD_CENSUS_ID_MAX + 1])
{
	size_t n;

	snprintf(id, RECORD_CENSUS_ID_MAX + 1, "(unknown)");
	if (strncmp(detail, "census ", 7) != 0)
		return;
	n = strcspn(detail + 7, ": ");
	if (n > RECORD_CENSUS_ID_MAX)
		n = RECORD_CENSUS_ID_MAX;
	memcpy(id, detail + 7, n);
	id[n] = '\0';
	if (!record_census_id_valid(id))
		snprintf(id, RECORD_CENSUS_ID_MAX + 1, "(unknown)");
}

/* 1 when health_error is health_load's word on a stranger that the
 * list of strangers names already. */
static int health_stranger_listed(const struct status_report *r)
{
	for (size_t i = 0; i < r->n_gen_strangers; i++) {
		const char *w = r->gen_strangers[i].what;
		size_t n = strcspn(w, ":");

		if (r->gen_strangers[i].health && strncmp(r->health_error, w, n) == 0 &&
		    r->health_error[n] == ':')
			return 1;
	}
	return 0;
}

static void make_summary(struct status_report *r)
{
	size_t failed = 0, used = 0, strangers = 0, unmovable = 0, state_strangers = 0;
	int alarmed = 0, unreadable = 0;
	char *p = r->summary;
	size_t cap = sizeof(r->summary);

	for (int i = 0; i < 2; i++) {
		failed += r->q[i].st.count[SPOOL_FAILED];
		alarmed += r->q[i].st.gap.active && r->q[i].st.gap.alarmed;
		unreadable += !r->q[i].readable;
		strangers += r->q[i].st.strangers;
		state_strangers += r->q[i].st.state_strangers;
		unmovable += r->q[i].st.stuck;
	}
	size_t nk;
	const enum health_kind *kinds = health_half_kinds(r->half == CFG_HALF_OMS, &nk);
	int fatal = 0, failing = 0, stale = 0, stuck = 0;
	int64_t stale_after = (int64_t)r->failing_alarm + 2 * (int64_t)r->poll_seconds;

	for (size_t i = 0; r->health_present && i < nk; i++) {
		const struct health_state *ks = &r->health.k[kinds[i]];

		if (!ks->last_attempt || ks->cls == ERR_OK)
			continue;
		if (ks->cls == ERR_FATAL)
			fatal++;
		else if (ks->failing_since &&
		         r->now - ks->failing_since >= (time_t)r->failing_alarm)
			failing++;
	}
	stale = r->health_present && r->now - r->health.saved_at > stale_after;
	for (int i = 0; i < 2; i++)
		stuck += r->q[i].stuck[0] != 0;
	char xfer[1200];
	int xfer_n = transfer_reasons(r, xfer, sizeof(xfer));
	int census_alarmed = 0;

	for (size_t i = 0; i < r->n_census; i++)
		census_alarmed += r->census[i].alarmed;

	if (!failed && !alarmed && !unreadable && !strangers && !unmovable && r->state_ok &&
	    (!r->alert_at || r->alert_cleared) && !fatal && !failing && !stale && !stuck &&
	    !r->health_error[0] && !xfer_n && !census_alarmed && !r->status_stranger[0] &&
	    !r->n_gen_strangers && !state_strangers) {
		snprintf(p, cap, "ok: %s half, %zu waiting, nothing failed, no alarmed gap",
		         cfg_half_name(r->half),
		         r->q[0].st.count[SPOOL_NEW] + r->q[1].st.count[SPOOL_NEW]);
		return;
	}
	used = (size_t)snprintf(p, cap, "ATTENTION: %s half:", cfg_half_name(r->half));
	for (size_t i = 0; i < nk && used < cap; i++) {
		const struct health_state *ks = &r->health.k[kinds[i]];
		char age[32];

		if (!r->health_present || !ks->last_attempt || ks->cls == ERR_OK)
			continue;
		if (ks->cls == ERR_FATAL) {
			used += (size_t)snprintf(p + used, cap - used,
			                         " stopped on a fatal error: %s: %.300s;",
			                         health_kind_name(kinds[i]), ks->detail);
			continue;
		}
		if (!ks->failing_since || r->now - ks->failing_since < (time_t)r->failing_alarm)
			continue;
		fmt_age((long long)(r->now - ks->failing_since), age);
		if (kinds[i] == HEALTH_RECONCILE) {
			char id[RECORD_CENSUS_ID_MAX + 1];

			detail_census(ks->detail, id);
			used += (size_t)snprintf(
			    p + used, cap - used,
			    " reconcile of census %s failing for %s: %s (the half tries again "
			    "every minute; the error is in the work line and the half's log: fix "
			    "Cartegraph's side or the field map; to give the census up remove "
			    "state/oms/census/%s);",
			    id, age, ks->reason, id);
			continue;
		}
		used += (size_t)snprintf(p + used, cap - used, " %s failing for %s: %s;",
		                         health_kind_name(kinds[i]), age, ks->reason);
	}
	if (r->alert_at && !r->alert_cleared && !fatal && used < cap)
		used += (size_t)snprintf(p + used, cap - used, " stopped on a fatal error: %.300s;",
		                         r->alert);
	if (stale && used < cap) {
		char age[32];

		fmt_age((long long)(r->now - r->health.saved_at), age);
		used += (size_t)snprintf(p + used, cap - used,
		                         " no pass recorded for %s: the half is not running, or "
		                         "cannot write its state;",
		                         age);
	}
	for (int i = 0; i < 2 && used < cap; i++)
		if (r->q[i].stuck[0])
			used +=
			    (size_t)snprintf(p + used, cap - used, " stuck: %s;", r->q[i].stuck);
	if (r->health_error[0] && used < cap && !health_stranger_listed(r))
		used += (size_t)snprintf(p + used, cap - used, " %.300s;", r->health_error);
	/* every stranger among the status and health generations, each with
	 * the way out (the half itself names only the newest) */
	for (size_t i = 0; i < r->n_gen_strangers && used < cap; i++)
		used += (size_t)snprintf(
		    p + used, cap - used, " %.300s; %s: remove it;", r->gen_strangers[i].what,
		    r->gen_strangers[i].health ? "only scfgate writes health files there"
		                               : "only the half writes its status files there");
	if (r->status_stranger[0] && !r->n_gen_strangers && used < cap)
		used += (size_t)snprintf(p + used, cap - used,
		                         " %.300s; only the half writes its status files there: "
		                         "remove it;",
		                         r->status_stranger);
	for (int i = 0; i < 2 && used < cap; i++)
		for (size_t k = 0; k < r->q[i].st.state_strangers &&
		                   k < SPOOL_STATE_STRANGERS_SHOWN && used < cap;
		     k++)
			used += (size_t)snprintf(
			    p + used, cap - used,
			    " %.200s/%s/state/%.200s: %s, not a regular file (never opened); only "
			    "scfgate keeps the queue's locks, sequences and positions there: "
			    "remove "
			    "it (the half that uses it stops until then);",
			    r->root, r->q[i].name, r->q[i].state_strangers[k],
			    spool_entry_type_name(r->q[i].st.state_stranger_type[k]));
	for (size_t i = 0; i < r->n_census && used < cap; i++) {
		const struct status_census *c = &r->census[i];
		char age[32];

		if (!c->alarmed)
			continue;
		fmt_age((long long)(r->now - c->newest), age);
		if (r->half == CFG_HALF_OMS)
			used += (size_t)snprintf(
			    p + used, cap - used,
			    " census %s incomplete, no part for %s: missing %s (check the "
			    "transfer of outbound/ from the SCF host and scfgate status on both "
			    "hosts; if the parts are lost, run scfgate scf census again on the SCF "
			    "host and remove state/oms/census/%s);",
			    c->id, age, c->missing, c->id);
		else
			used += (size_t)snprintf(
			    p + used, cap - used,
			    " reconciliation result of census %s incomplete, no part for %s: "
			    "missing %s (check the transfer of inbound/ from the OMS host and "
			    "scfgate status on both hosts; if the parts are lost, run scfgate scf "
			    "census again and remove state/scf/reconcile/parts/%s.*);",
			    c->id, age, c->missing, c->id);
	}
	if (xfer_n && used < cap)
		used += (size_t)snprintf(p + used, cap - used, "%s", xfer);
	if (failed && used < cap)
		used += (size_t)snprintf(p + used, cap - used, " %zu failed record%s;", failed,
		                         failed == 1 ? "" : "s");
	for (int i = 0; i < 2 && used < cap; i++)
		if (r->q[i].st.gap.active && r->q[i].st.gap.alarmed)
			used += (size_t)snprintf(
			    p + used, cap - used, " %s waits for seq %llu of %s (alarmed);",
			    r->q[i].name, (unsigned long long)r->q[i].st.gap.seq,
			    r->q[i].st.gap.producer);
	for (int i = 0; i < 2 && used < cap; i++)
		if (r->q[i].st.strangers)
			used += (size_t)snprintf(
			    p + used, cap - used,
			    " %zu file%s in %s/new %s not a record (first: '%.200s'): "
			    "never taken, remove %s;",
			    r->q[i].st.strangers, r->q[i].st.strangers == 1 ? "" : "s",
			    r->q[i].name, r->q[i].st.strangers == 1 ? "is" : "are",
			    r->q[i].strangers[0], r->q[i].st.strangers == 1 ? "it" : "them");
	for (int i = 0; i < 2 && used < cap; i++)
		if (r->q[i].st.stuck)
			used +=
			    (size_t)snprintf(p + used, cap - used,
			                     " %zu file%s in %s/new cannot be quarantined (first: "
			                     "%.300s);",
			                     r->q[i].st.stuck, r->q[i].st.stuck == 1 ? "" : "s",
			                     r->q[i].name, r->q[i].unmovable[0]);
	for (int i = 0; i < 2 && used < cap; i++)
		if (!r->q[i].readable)
			used += (size_t)snprintf(p + used, cap - used,
			                         " queue %s cannot be read: %.400s;", r->q[i].name,
			                         r->q[i].error);
	if (!r->state_ok && used < cap)
		used += (size_t)snprintf(p + used, cap - used,
		                         " the half's state cannot be read: %.400s;",
		                         r->state_error[0] ? r->state_error : "(no reason given)");
	if (used > 0 && used <= cap && p[used - 1] == ';')
		p[used - 1] = '\0';
}

enum err_status status_collect(const struct cfg *c, time_t now, struct status_report **out,
                               struct err *e)
{
	struct status_report *r = calloc(1, sizeof(*r));
	const char *half_name = c->half == CFG_HALF_SCF ? "scf" : "oms";
	char half_dir[SPOOL_PATH_MAX + 16];

	*out = NULL;
	if (!r)
		return err_set(e, ERR_TEMP, "out of memory");
	r->half = c->half;
	r->now = now ? now : time(NULL);
	r->gap_alarm = c->spool.gap_alarm_seconds;
	snprintf(r->config, sizeof(r->config), "%s", c->path ? c->path : "");
	snprintf(r->root, sizeof(r->root), "%s", c->spool.root);
	r->q[0].name = "outbound";
	r->q[0].produced_here = c->half == CFG_HALF_SCF;
	r->q[1].name = "inbound";
	r->q[1].produced_here = c->half == CFG_HALF_OMS;
	r->failing_alarm = c->spool.failing_alarm_seconds;
	r->stuck_alarm = c->spool.stuck_alarm_seconds;
	r->poll_seconds = c->half == CFG_HALF_SCF ? c->scf.poll_seconds : c->cg.poll_seconds;
	for (int i = 0; i < 2; i++)
		collect_queue(r, &r->q[i]);
	snprintf(half_dir, sizeof(half_dir), "%s/state/%s", r->root, half_name);
	collect_health(r, half_dir);
	if (c->transfer.n_queues) {
		char dir[SPOOL_PATH_MAX + 16];
		struct err te;

		r->transfer_on = 1;
		if (c->transfer.host)
			snprintf(r->transfer_peer, sizeof(r->transfer_peer), "%s@%s:%u",
			         c->transfer.user ? c->transfer.user : "", c->transfer.host,
			         c->transfer.port);
		else
			snprintf(
			    r->transfer_peer, sizeof(r->transfer_peer), "drop directory %.290s",
			    c->transfer.queues[0].local_dir ? c->transfer.queues[0].local_dir : "");
		for (size_t i = 0; i < c->transfer.n_queues; i++)
			if (c->transfer.queues[i].interval_seconds > r->transfer_interval)
				r->transfer_interval = c->transfer.queues[i].interval_seconds;
		snprintf(dir, sizeof(dir), "%s/state/transfer", r->root);
		err_clear(&te);
		if (health_load(dir, &r->transfer, &r->transfer_present, &te) != ERR_OK)
			snprintf(r->transfer_error, sizeof(r->transfer_error), "%s", te.msg);
	}
	for (int i = 0; i < 2; i++)
		collect_stuck(r, &r->q[i]);
	if (c->half == CFG_HALF_SCF) {
		collect_scf_state(r);
		collect_scf_budget(r, c);
	} else
		collect_oms_state(r, c);
	collect_half_status(r, half_dir, half_name);
	collect_gen_strangers(r, half_dir, "status.", 0);
	collect_gen_strangers(r, half_dir, "health.", 1);
	collect_census(r);
	/* A fatal stop is over once a kind of work succeeded after it and
	 * none stopped again. */
	if (r->alert_at && r->health_present) {
		int later = 0, fatal = 0;

		for (int k = 0; k < HEALTH_KINDS; k++) {
			later |=
			    r->health.k[k].last_ok > r->alert_at ||
			    (r->health.k[k].last_ok == r->alert_at && r->health.k[k].cls == ERR_OK);
			fatal |= r->health.k[k].last_attempt && r->health.k[k].cls == ERR_FATAL;
		}
		r->alert_cleared = later && !fatal;
	}
	make_summary(r);
	*out = r;
	return ERR_OK;
}

void status_free(struct status_report *r)
{
	for (size_t i = 0; r && i < r->n_census; i++)
		free(r->census[i].parts);
	free(r);
}

int status_attention(const struct status_report *r)
{
	return strncmp(r->summary, "ok:", 3) != 0;
}

const char *status_summary(const struct status_report *r)
{
	return r->summary;
}

static void fmt_time(time_t t, char out[32])
{
	struct tm tm;

	if (!t || !gmtime_r(&t, &tm))
		snprintf(out, 32, "-");
	else
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fmt_age(long long s, char out[32])
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, 32, "%llds", s);
	else if (s < 7200)
		snprintf(out, 32, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(out, 32, "%lldh%02lldm", s / 3600, s / 60 % 60);
}

static void text_list(struct buf *out, const char *label, const struct status_list *l, size_t total)
{
	for (size_t i = 0; i < l->n; i++)
		buf_addf(out, "    %s %s: %s\n", label, l->rec[i].name, l->rec[i].why);
	if (total > l->n)
		buf_addf(out, "    ... and %zu more %s (scfgate spool ls)\n", total - l->n, label);
}

static void text_queue(const struct status_report *r, const struct status_queue *q, struct buf *out)
{
	const struct spool_stats *st = &q->st;
	char age[32], when[32];

	buf_addf(out, "queue %s (%s)\n", q->name,
	         q->produced_here ? "written here; new/ waits for the transport"
	                          : "applied here; new/ is what arrived");
	if (!q->readable) {
		buf_addf(out, "  cannot read: %s\n", q->error);
		return;
	}
	if (q->absent) {
		buf_adds(out, "  not created yet (no half has run with this spool root)\n");
		return;
	}
	buf_adds(out, " ");
	for (int d = 0; d < SPOOL_STATE; d++)
		buf_addf(out, " %s %zu", spool_dir_name((enum spool_dir)d), st->count[d]);
	/* Dismissed records are settled: shown, never counted as failed. */
	buf_addf(out, " %s %zu\n", spool_dir_name(SPOOL_DISMISSED), st->count[SPOOL_DISMISSED]);
	if (st->oldest_new) {
		fmt_age((long long)(r->now - st->oldest_new), age);
		fmt_time(st->oldest_new, when);
		buf_addf(out, "  oldest waiting: %s (since %s)\n", age, when);
	} else {
		buf_adds(out, "  oldest waiting: none\n");
	}
	if (st->gap.active) {
		fmt_age((long long)(r->now - st->gap.since), age);
		fmt_time(st->gap.since, when);
		buf_addf(out, "  gap: seq %llu of %s missing for %s (since %s)%s\n",
		         (unsigned long long)st->gap.seq, st->gap.producer, age, when,
		         st->gap.alarmed ? ", ALARMED (scfgate spool skip once it is known lost)"
		                         : ", not alarmed yet");
	} else if (!q->produced_here) {
		buf_addf(out, "  gap: none (next expected seq %llu)\n",
		         (unsigned long long)(st->next_seq ? st->next_seq : 1));
	}
	if (st->conflicts)
		buf_addf(out, "  conflicts quarantined: %zu\n", st->conflicts);
	if (st->strangers) {
		buf_addf(out, "  not records in new/ (never taken; remove them): %zu\n",
		         st->strangers);
		for (size_t i = 0; i < st->strangers && i < SPOOL_STRANGERS_SHOWN; i++)
			buf_addf(out, "    '%s'\n", q->strangers[i]);
	}
	if (st->state_strangers) {
		buf_addf(out,
		         "  not regular files in state/ (never opened; only scfgate keeps its "
		         "state there: remove them): %zu\n",
		         st->state_strangers);
		for (size_t i = 0; i < st->state_strangers && i < SPOOL_STATE_STRANGERS_SHOWN; i++)
			buf_addf(out, "    '%s' (%s)\n", q->state_strangers[i],
			         spool_entry_type_name(st->state_stranger_type[i]));
	}
	if (st->stuck) {
		buf_addf(out,
		         "  cannot be quarantined (failed/ refused the move; fix it or move them "
		         "by hand): %zu\n",
		         st->stuck);
		for (size_t i = 0; i < st->stuck && i < SPOOL_STRANGERS_SHOWN; i++)
			buf_addf(out, "    %s\n", q->unmovable[i]);
	}
	if (q->stuck[0])
		buf_addf(out, "  STUCK: %s\n", q->stuck);
	text_list(out, "failed", &q->failed, st->count[SPOOL_FAILED]);
	text_list(out, "held", &q->held, st->count[SPOOL_HOLD]);
	if (q->readable && q->error[0])
		buf_addf(out, "  listing incomplete: %s\n", q->error);
}

static void text_last_ok(const struct status_report *r, struct buf *out)
{
	const char *api = r->half == CFG_HALF_SCF ? "SeeClickFix" : "Cartegraph";
	char age[32], when[32];

	if (!r->state_ok)
		return;
	if (!r->last_ok) {
		buf_addf(out, "last successful %s call: none recorded yet\n", api);
		return;
	}
	fmt_time((time_t)r->last_ok, when);
	fmt_age((long long)(r->now - (time_t)r->last_ok), age);
	buf_addf(out, "last successful %s call: %s (%s ago, as of the half's last save)\n", api,
	         when, age);
}

/* One line per kind of work: its last attempt, last success, outcome. */
static void text_health(const struct status_report *r, struct buf *out)
{
	size_t nk;
	const enum health_kind *kinds = health_half_kinds(r->half == CFG_HALF_OMS, &nk);
	char when[32], ok[32], age[32];

	for (size_t i = 0; i < r->n_gen_strangers; i++)
		buf_addf(out, "%s file passed over: %s (remove it)\n",
		         r->gen_strangers[i].health ? "health" : "status",
		         r->gen_strangers[i].what);
	if (r->status_stranger[0] && !r->n_gen_strangers)
		buf_addf(out, "status file passed over: %s (remove it)\n", r->status_stranger);
	if (r->health_error[0]) {
		buf_addf(out, "work: cannot read: %s\n", r->health_error);
		return;
	}
	if (!r->health_present) {
		buf_adds(out, "work: no pass recorded yet\n");
		return;
	}
	fmt_time((time_t)r->health.saved_at, when);
	fmt_age((long long)(r->now - (time_t)r->health.saved_at), age);
	buf_addf(out, "work (last pass recorded %s, %s ago; failing for %u s needs attention):\n",
	         when, age, r->failing_alarm);
	for (size_t i = 0; i < nk; i++) {
		const struct health_state *ks = &r->health.k[kinds[i]];

		if (!ks->last_attempt) {
			buf_addf(out, "  %-10s never attempted\n", health_kind_name(kinds[i]));
			continue;
		}
		fmt_time((time_t)ks->last_attempt, when);
		fmt_time((time_t)ks->last_ok, ok);
		if (ks->cls == ERR_OK) {
			buf_addf(out, "  %-10s ok (last attempt %s)\n", health_kind_name(kinds[i]),
			         when);
			continue;
		}
		fmt_age((long long)(r->now - (time_t)ks->failing_since), age);
		buf_addf(
		    out, "  %-10s %s for %s (%s error; last attempt %s, last success %s): %s\n",
		    health_kind_name(kinds[i]), ks->cls == ERR_FATAL ? "STOPPED" : "FAILING", age,
		    err_status_name(ks->cls), when, ks->last_ok ? ok : "never", ks->detail);
	}
}

/* The transfer: one line per direction, with the records it moved. */
static void text_transfer(const struct status_report *r, struct buf *out)
{
	size_t nk;
	const enum health_kind *kinds = health_transfer_kinds(&nk);
	char when[32], ok[32], age[32];

	if (!r->transfer_on)
		return;
	if (r->transfer_error[0]) {
		buf_addf(out, "transfer: cannot read: %s\n", r->transfer_error);
		return;
	}
	if (!r->transfer_present) {
		buf_addf(out, "transfer (%s): no pass recorded yet\n", r->transfer_peer);
		return;
	}
	fmt_time((time_t)r->transfer.saved_at, when);
	fmt_age((long long)(r->now - (time_t)r->transfer.saved_at), age);
	buf_addf(out, "transfer (%s; last pass recorded %s, %s ago):\n", r->transfer_peer, when,
	         age);
	for (size_t i = 0; i < nk; i++) {
		const struct health_state *ks = &r->transfer.k[kinds[i]];

		if (!ks->last_attempt) {
			buf_addf(out, "  %-10s never attempted\n", health_kind_name(kinds[i]));
			continue;
		}
		fmt_time((time_t)ks->last_attempt, when);
		fmt_time((time_t)ks->last_ok, ok);
		if (ks->cls == ERR_OK) {
			buf_addf(out,
			         "  %-10s ok (last attempt %s; %llu record%s moved then, %llu in "
			         "all)\n",
			         health_kind_name(kinds[i]), when,
			         (unsigned long long)ks->moved_last, ks->moved_last == 1 ? "" : "s",
			         (unsigned long long)ks->moved_total);
			continue;
		}
		fmt_age((long long)(r->now - (time_t)ks->failing_since), age);
		buf_addf(
		    out,
		    "  %-10s %s for %s (%s error; last attempt %s, last success %s; %llu moved "
		    "and %llu failed then, %llu moved in all): %s\n",
		    health_kind_name(kinds[i]), ks->cls == ERR_FATAL ? "STOPPED" : "FAILING", age,
		    err_status_name(ks->cls), when, ks->last_ok ? ok : "never",
		    (unsigned long long)ks->moved_last, (unsigned long long)ks->failed_last,
		    (unsigned long long)ks->moved_total, ks->detail);
	}
}

/* Censuses (OMS) or reconciliation results (SCF) still missing parts. */
static void text_census(const struct status_report *r, struct buf *out)
{
	char age[32];

	for (size_t i = 0; i < r->n_census; i++) {
		const struct status_census *c = &r->census[i];

		fmt_age((long long)(r->now - c->newest), age);
		buf_addf(out, "%s %s: %zu part%s kept, missing %s; last part came %s ago%s\n",
		         r->half == CFG_HALF_OMS ? "census" : "reconciliation result of census",
		         c->id, c->nparts, c->nparts == 1 ? "" : "s", c->missing, age,
		         c->alarmed ? ", INCOMPLETE past stuckAlarmSeconds" : "");
	}
}

enum err_status status_render_text(const struct status_report *r, struct buf *out)
{
	char when[32];

	buf_addf(out, "%s half (config %s, spool root %s)\n", cfg_half_name(r->half), r->config,
	         r->root);
	for (int i = 0; i < 2; i++)
		text_queue(r, &r->q[i], out);
	if (r->half == CFG_HALF_SCF) {
		if (!r->state_ok)
			buf_addf(out, "state: cannot read: %s\n", r->state_error);
		else if (!r->watermark)
			buf_adds(out, "watermark: none yet (no complete fetch pass)\n");
		else {
			fmt_time((time_t)r->watermark, when);
			buf_addf(
			    out,
			    "watermark: %s (SeeClickFix time up to which every change was read)\n",
			    when);
		}
		if (r->state_ok)
			buf_addf(out,
			         "reopened in SeeClickFix after close: %zu issue%s (reopen policy "
			         "ignore: not sent; see docs/operations.md)\n",
			         r->reopens_ignored, r->reopens_ignored == 1 ? "" : "s");
		if (r->recon_present) {
			int other = 0;

			/* Differences people made, not a fault: never a verdict. */
			buf_addf(out, "last reconciliation: census %s, %s: %.0f in sync",
			         r->recon_id, r->recon_at, r->recon[0]);
			for (int i = 1; i < 6; i++)
				if (r->recon[i] > 0) {
					buf_addf(out, ", %.0f %s", r->recon[i], recon_class[i]);
					other = 1;
				}
			buf_adds(out, other ? " (see scfgate reconcile)\n" : "\n");
		}
	} else if (!r->state_ok) {
		buf_addf(out, "state: cannot read: %s\n", r->state_error);
	} else if (!r->oms_present) {
		buf_adds(out, "tracked requests: none (the half has not run with this root)\n");
	} else {
		buf_addf(out, "tracked requests: %zu open (created, not closed), %zu known\n",
		         r->tracked_open, r->entries);
	}
	if (r->half == CFG_HALF_SCF) {
		char drain[32];

		fmt_age((long long)r->wb_drain_s, drain);
		buf_addf(
		    out,
		    "write-back backlog: %llu record%s in inbound/new, about %s to apply at %u "
		    "calls in any %u s (%d call per record, %d for an issue no recent pass read)\n",
		    (unsigned long long)r->wb_records, r->wb_records == 1 ? "" : "s",
		    r->wb_records ? drain : "0s", r->rate_limit, r->rate_window,
		    SCF_WB_CALLS_PER_RECORD, SCF_WB_CALLS_UNKNOWN);
		if (r->rate_error[0])
			buf_addf(out, "rate budget: cannot read: %s\n", r->rate_error);
		else
			buf_addf(out, "rate budget: %u of %u calls used in the last %u s\n",
			         r->rate_used, r->rate_limit, r->rate_window);
		if (r->ban_until) {
			fmt_time((time_t)r->ban_until, when);
			buf_addf(out, "rate budget: banned by SeeClickFix; no call before %s\n",
			         when);
		}
	}
	text_last_ok(r, out);
	text_health(r, out);
	text_census(r, out);
	text_transfer(r, out);
	if (r->alert_at) {
		fmt_time((time_t)r->alert_at, when);
		buf_addf(out, "fatal stop: at %s: %s%s\n", when, r->alert,
		         r->alert_cleared ? " (over: a later pass succeeded)" : "");
	} else if (r->state_ok) {
		buf_adds(out, "fatal stop: none recorded\n");
	}
	buf_addf(out, "%s\n", r->summary);
	return out->len ? ERR_OK : ERR_TEMP;
}

static void json_list(struct jdoc *d, cJSON *parent, const char *key, const struct status_list *l)
{
	cJSON *a = jdoc_array(d, parent, key);

	for (size_t i = 0; a && i < l->n; i++) {
		cJSON *o = jdoc_object(d, a, NULL);
		jdoc_string(d, o, "name", l->rec[i].name);
		jdoc_string(d, o, "why", l->rec[i].why);
		jdoc_number(d, o, "mtime", (double)l->rec[i].mtime);
	}
}

static void json_queue(struct jdoc *d, cJSON *qs, const struct status_report *r,
                       const struct status_queue *q)
{
	const struct spool_stats *st = &q->st;
	cJSON *o = jdoc_object(d, qs, NULL), *dirs, *g;

	jdoc_string(d, o, "name", q->name);
	jdoc_string(d, o, "role", q->produced_here ? "produced" : "consumed");
	jdoc_bool(d, o, "readable", q->readable);
	jdoc_bool(d, o, "exists", !q->absent);
	if (q->error[0])
		jdoc_string(d, o, "error", q->error);
	dirs = jdoc_object(d, o, "count");
	for (int k = 0; k < SPOOL_STATE; k++)
		jdoc_number(d, dirs, spool_dir_name((enum spool_dir)k), (double)st->count[k]);
	jdoc_number(d, dirs, spool_dir_name(SPOOL_DISMISSED), (double)st->count[SPOOL_DISMISSED]);
	if (st->oldest_new)
		jdoc_number(d, o, "oldest_waiting_seconds", (double)(r->now - st->oldest_new));
	else
		jdoc_null(d, o, "oldest_waiting_seconds");
	if (st->gap.active) {
		g = jdoc_object(d, o, "gap");
		jdoc_string(d, g, "producer", st->gap.producer);
		jdoc_number(d, g, "seq", (double)st->gap.seq);
		jdoc_number(d, g, "since", (double)st->gap.since);
		jdoc_number(d, g, "seconds", (double)(r->now - st->gap.since));
		jdoc_bool(d, g, "alarmed", st->gap.alarmed);
	} else {
		jdoc_null(d, o, "gap");
	}
	if (!q->produced_here)
		jdoc_number(d, o, "next_seq", (double)(st->next_seq ? st->next_seq : 1));
	jdoc_number(d, o, "conflicts", (double)st->conflicts);
	if (st->strangers) {
		cJSON *a;

		jdoc_number(d, o, "not_records", (double)st->strangers);
		a = jdoc_array(d, o, "not_record_names");
		for (size_t i = 0; a && i < st->strangers && i < SPOOL_STRANGERS_SHOWN; i++)
			jdoc_string(d, a, NULL, q->strangers[i]);
	}
	spool_stats_json_state_strangers(d, o, st);
	if (st->stuck) {
		cJSON *a;

		jdoc_number(d, o, "cannot_quarantine", (double)st->stuck);
		a = jdoc_array(d, o, "cannot_quarantine_entries");
		for (size_t i = 0; a && i < st->stuck && i < SPOOL_STRANGERS_SHOWN; i++)
			jdoc_string(d, a, NULL, q->unmovable[i]);
	}
	json_list(d, o, "failed", &q->failed);
	json_list(d, o, "held", &q->held);
}

static void json_scf_budget(struct jdoc *d, cJSON *h, const struct status_report *r)
{
	cJSON *wb = jdoc_object(d, h, "writeback_backlog");
	cJSON *rb = jdoc_object(d, h, "rate_budget");

	jdoc_number(d, wb, "records", (double)r->wb_records);
	jdoc_number(d, wb, "calls", (double)(r->wb_records * SCF_WB_CALLS_PER_RECORD));
	jdoc_number(d, wb, "drain_seconds", (double)r->wb_drain_s);
	jdoc_number(d, rb, "limit", r->rate_limit);
	jdoc_number(d, rb, "window_seconds", r->rate_window);
	if (r->rate_error[0]) {
		jdoc_null(d, rb, "used");
		jdoc_string(d, rb, "error", r->rate_error);
	} else {
		jdoc_number(d, rb, "used", r->rate_used);
	}
	if (r->ban_until)
		jdoc_number(d, rb, "ban_until", (double)r->ban_until);
	else
		jdoc_null(d, rb, "ban_until");
}

static void json_half(struct jdoc *d, cJSON *o, const struct status_report *r)
{
	cJSON *h = jdoc_object(d, o, cfg_half_name(r->half));
	cJSON *ls = jdoc_object(d, h, "last_success");
	char when[32];

	if (r->half == CFG_HALF_SCF) {
		if (r->last_ok)
			jdoc_number(d, ls, "seeclickfix", (double)r->last_ok);
		else
			jdoc_null(d, ls, "seeclickfix");
		if (r->state_ok && r->watermark) {
			fmt_time((time_t)r->watermark, when);
			jdoc_string(d, h, "watermark", when);
			jdoc_number(d, h, "watermark_epoch", (double)r->watermark);
		} else {
			jdoc_null(d, h, "watermark");
		}
		if (r->state_ok)
			jdoc_number(d, h, "reopens_ignored", (double)r->reopens_ignored);
		if (r->recon_present) {
			cJSON *rc = jdoc_object(d, h, "reconciliation");
			cJSON *cl;

			jdoc_string(d, rc, "census_id", r->recon_id);
			jdoc_string(d, rc, "completed_at", r->recon_at);
			cl = jdoc_object(d, rc, "classes");
			for (int i = 0; i < 6; i++)
				jdoc_number(d, cl, recon_class[i], r->recon[i]);
		}
		if (!r->state_ok)
			jdoc_string(d, h, "state_error", r->state_error);
		json_scf_budget(d, h, r);
		return;
	}
	if (r->last_ok)
		jdoc_number(d, ls, "cartegraph", (double)r->last_ok);
	else
		jdoc_null(d, ls, "cartegraph");
	if (r->state_ok) {
		jdoc_number(d, h, "tracked_open", (double)r->tracked_open);
		jdoc_number(d, h, "entries", (double)r->entries);
	} else {
		jdoc_null(d, h, "tracked_open");
		jdoc_string(d, h, "state_error", r->state_error);
	}
}

/* One kind of work of the health record (or the transfer's): its last
 * attempt and outcome; a transfer kind also gives what it moved. */
static void json_kind(struct jdoc *d, cJSON *k, const struct health_state *ks, int transfer)
{
	if (!ks->last_attempt) {
		jdoc_null(d, k, "last_attempt");
		return;
	}
	jdoc_number(d, k, "last_attempt", (double)ks->last_attempt);
	if (ks->last_ok)
		jdoc_number(d, k, "last_success", (double)ks->last_ok);
	else
		jdoc_null(d, k, "last_success");
	jdoc_string(d, k, "class", err_status_name(ks->cls));
	if (transfer) {
		jdoc_number(d, k, "moved_last", (double)ks->moved_last);
		jdoc_number(d, k, "failed_last", (double)ks->failed_last);
		jdoc_number(d, k, "moved_total", (double)ks->moved_total);
	}
	if (ks->cls != ERR_OK) {
		jdoc_number(d, k, "failing_since", (double)ks->failing_since);
		jdoc_string(d, k, "reason", ks->reason);
		jdoc_string(d, k, "detail", ks->detail);
	}
}

static void json_health(struct jdoc *d, cJSON *o, const struct status_report *r)
{
	size_t nk;
	const enum health_kind *kinds = health_half_kinds(r->half == CFG_HALF_OMS, &nk);
	cJSON *w, *st;

	if (!r->health_present) {
		jdoc_null(d, o, "work");
	} else {
		w = jdoc_object(d, o, "work");
		jdoc_number(d, w, "saved_at", (double)r->health.saved_at);
		for (size_t i = 0; i < nk; i++) {
			json_kind(d, jdoc_object(d, w, health_kind_name(kinds[i])),
			          &r->health.k[kinds[i]], 0);
		}
	}
	if (r->health_error[0])
		jdoc_string(d, o, "work_error", r->health_error);
	if (r->status_stranger[0])
		jdoc_string(d, o, "status_stranger", r->status_stranger);
	if (r->n_gen_strangers) {
		cJSON *ss = jdoc_array(d, o, "status_strangers");
		cJSON *hs = jdoc_array(d, o, "health_strangers");

		for (size_t i = 0; ss && hs && i < r->n_gen_strangers; i++)
			jdoc_string(d, r->gen_strangers[i].health ? hs : ss, NULL,
			            r->gen_strangers[i].what);
	}
	st = jdoc_array(d, o, "stuck");
	for (int i = 0; st && i < 2; i++)
		if (r->q[i].stuck[0])
			jdoc_string(d, st, NULL, r->q[i].stuck);
}

static void json_transfer(struct jdoc *d, cJSON *o, const struct status_report *r)
{
	size_t nk;
	const enum health_kind *kinds = health_transfer_kinds(&nk);
	cJSON *x;

	if (!r->transfer_on) {
		jdoc_null(d, o, "transfer");
		return;
	}
	x = jdoc_object(d, o, "transfer");
	jdoc_string(d, x, "peer", r->transfer_peer);
	if (r->transfer_error[0])
		jdoc_string(d, x, "error", r->transfer_error);
	if (!r->transfer_present) {
		jdoc_null(d, x, "saved_at");
		return;
	}
	jdoc_number(d, x, "saved_at", (double)r->transfer.saved_at);
	for (size_t i = 0; i < nk; i++) {
		json_kind(d, jdoc_object(d, x, health_kind_name(kinds[i])),
		          &r->transfer.k[kinds[i]], 1);
	}
}

static void json_census(struct jdoc *d, cJSON *o, const struct status_report *r)
{
	cJSON *a = jdoc_array(d, o, "incomplete_censuses");

	for (size_t i = 0; a && i < r->n_census; i++) {
		const struct status_census *c = &r->census[i];
		cJSON *x = jdoc_object(d, a, NULL), *m;
		size_t k = 0;
		int64_t upto = c->last ? c->last : (c->nparts ? c->parts[c->nparts - 1] : 0);

		jdoc_string(d, x, "census_id", c->id);
		jdoc_number(d, x, "parts_kept", (double)c->nparts);
		if (c->last)
			jdoc_number(d, x, "last_part", (double)c->last);
		else
			jdoc_null(d, x, "last_part");
		/* the numbers up to the last known part; without the last part,
		 * every number after the highest kept is missing too */
		m = jdoc_array(d, x, "missing");
		for (int64_t p = 1; m && p <= upto; p++) {
			while (k < c->nparts && c->parts[k] < p)
				k++;
			if (k >= c->nparts || c->parts[k] != p)
				jdoc_number(d, m, NULL, (double)p);
		}
		jdoc_number(d, x, "waiting_seconds", (double)(r->now - c->newest));
		jdoc_bool(d, x, "alarmed", c->alarmed);
	}
}

enum err_status status_render_json(const struct status_report *r, struct buf *out)
{
	struct jdoc d = JDOC_INIT;
	cJSON *o = jdoc_root_object(&d), *qs;
	enum err_status s = ERR_TEMP;
	char *text;

	jdoc_string(&d, o, "half", cfg_half_name(r->half));
	jdoc_string(&d, o, "config", r->config);
	jdoc_string(&d, o, "root", r->root);
	jdoc_number(&d, o, "now", (double)r->now);
	jdoc_bool(&d, o, "attention", status_attention(r));
	jdoc_string(&d, o, "summary", r->summary);
	qs = jdoc_array(&d, o, "queues");
	for (int i = 0; i < 2; i++)
		json_queue(&d, qs, r, &r->q[i]);
	json_half(&d, o, r);
	json_health(&d, o, r);
	json_census(&d, o, r);
	json_transfer(&d, o, r);
	if (r->alert_at) {
		cJSON *fs = jdoc_object(&d, o, "fatal_stop");

		jdoc_number(&d, fs, "at", (double)r->alert_at);
		jdoc_string(&d, fs, "reason", r->alert);
	} else {
		jdoc_null(&d, o, "fatal_stop");
	}
	/* No document rather than one with members missing. */
	text = jdoc_print(&d, 0);
	if (text) {
		s = buf_adds(out, text);
		if (s == ERR_OK)
			s = buf_adds(out, "\n");
		cJSON_free(text);
	}
	jdoc_release(&d);
	return s;
}

const char *status_verdict_cached(const struct cfg *c, char *cache, size_t cap, time_t *cache_at)
{
	time_t now = time(NULL);
	struct status_report *r = NULL;
	struct err e;

	if (*cache_at && now - *cache_at < STATUS_VERDICT_EVERY && now >= *cache_at)
		return cache;
	*cache_at = now;
	err_clear(&e);
	if (status_collect(c, now, &r, &e) != ERR_OK)
		snprintf(cache, cap, "status unknown: %s", e.msg);
	else
		snprintf(cache, cap, "%s", status_summary(r));
	status_free(r);
	return cache;
}
