/*
 * health.c: the last outcome of each kind of work (see health.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "gen.h"
#include "health.h"
#include "num.h"
#include "spool.h"

/* A health file is a few hundred bytes; anything larger is not one. */
#define HEALTH_FILE_MAX ((size_t)64 * 1024)

#define HEALTH_PREFIX "health."
#define HEALTH_MAGIC  "scfgate-health 1"
#define LINE_MAX_LEN  (HEALTH_REASON_MAX + HEALTH_DETAIL_MAX + 256)

static const char *const kind_names[HEALTH_KINDS] = {
    "fetch", "write-back", "forward", "poll", "commit", "metadata", "pull", "push", "reconcile"};

static const enum health_kind scf_kinds[] = {HEALTH_FETCH, HEALTH_WRITEBACK, HEALTH_COMMIT};
static const enum health_kind oms_kinds[] = {HEALTH_FORWARD, HEALTH_POLL, HEALTH_COMMIT,
                                             HEALTH_META, HEALTH_RECONCILE};
static const enum health_kind transfer_kinds[] = {HEALTH_PULL, HEALTH_PUSH};

const char *health_kind_name(enum health_kind k)
{
	return k >= 0 && k < HEALTH_KINDS ? kind_names[k] : "unknown";
}

const enum health_kind *health_half_kinds(int oms_half, size_t *n)
{
	*n = oms_half ? sizeof(oms_kinds) / sizeof(oms_kinds[0])
	              : sizeof(scf_kinds) / sizeof(scf_kinds[0]);
	return oms_half ? oms_kinds : scf_kinds;
}

const enum health_kind *health_transfer_kinds(size_t *n)
{
	*n = sizeof(transfer_kinds) / sizeof(transfer_kinds[0]);
	return transfer_kinds;
}

void health_reason(const char *msg, char out[HEALTH_REASON_MAX])
{
	const char *p, *last = NULL;

	out[0] = '\0';
	if (!msg || !*msg)
		return;
	for (p = strstr(msg, "HTTP "); p; p = strstr(p + 1, "HTTP ")) {
		if (isdigit((unsigned char)p[5]) && isdigit((unsigned char)p[6]) &&
		    isdigit((unsigned char)p[7]) && !isdigit((unsigned char)p[8])) {
			snprintf(out, HEALTH_REASON_MAX, "HTTP %.3s", p + 5);
			return;
		}
	}
	for (p = strstr(msg, ": "); p; p = strstr(p + 2, ": "))
		last = p + 2;
	escape_one_line(last && *last ? last : msg, out, HEALTH_REASON_MAX);
}

int health_note(struct health *h, enum health_kind k, int64_t now, enum err_status s,
                const char *msg)
{
	struct health_state *ks;
	int changed;

	if (k < 0 || k >= HEALTH_KINDS)
		return 0;
	ks = &h->k[k];
	changed = !ks->last_attempt || ks->cls != s;
	ks->last_attempt = now;
	ks->cls = s;
	if (s == ERR_OK) {
		ks->last_ok = now;
		ks->failing_since = 0;
		ks->reason[0] = ks->detail[0] = '\0';
		return changed;
	}
	if (!ks->failing_since)
		ks->failing_since = now;
	health_reason(msg, ks->reason);
	escape_one_line(msg ? msg : "", ks->detail, sizeof(ks->detail));
	if (!ks->reason[0])
		snprintf(ks->reason, sizeof(ks->reason), "(no reason given)");
	return changed;
}

void health_settle(struct health *h, enum health_kind k)
{
	struct health_state *ks;

	if (k < 0 || k >= HEALTH_KINDS)
		return;
	ks = &h->k[k];
	ks->cls = ERR_OK;
	ks->failing_since = 0;
	ks->reason[0] = ks->detail[0] = '\0';
}

static const char *cls_word(enum err_status s)
{
	return s == ERR_OK ? "ok" : s == ERR_TEMP ? "temp" : s == ERR_PERM ? "perm" : "fatal";
}

static int cls_parse(const char *w, enum err_status *s)
{
	static const char *const words[] = {"ok", "temp", "perm", "fatal"};
	static const enum err_status v[] = {ERR_OK, ERR_TEMP, ERR_PERM, ERR_FATAL};

	for (size_t i = 0; i < 4; i++)
		if (strcmp(w, words[i]) == 0) {
			*s = v[i];
			return 0;
		}
	return -1;
}

enum err_status health_save(const char *dir, struct health *h, int64_t now, struct err *e)
{
	struct buf b = BUF_INIT_CAP(4096);
	enum err_status st;

	h->saved_at = now;
	buf_addf(&b, HEALTH_MAGIC "\nsaved %" PRId64 "\n", h->saved_at);
	for (int k = 0; k < HEALTH_KINDS; k++) {
		const struct health_state *ks = &h->k[k];

		if (!ks->last_attempt)
			continue;
		/* reason and detail: one line each, the detail last */
		buf_addf(&b, "kind %s %" PRId64 " %" PRId64 " %" PRId64 " %s\n", kind_names[k],
		         ks->last_attempt, ks->last_ok, ks->failing_since, cls_word(ks->cls));
		if (ks->cls != ERR_OK)
			buf_addf(&b, "reason %s\ndetail %s\n", ks->reason, ks->detail);
		if (ks->moved_last || ks->failed_last || ks->moved_total)
			buf_addf(&b, "count %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", ks->moved_last,
			         ks->failed_last, ks->moved_total);
	}
	buf_adds(&b, "end\n");
	if (!b.data) {
		buf_release(&b);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	st = spool_write_next(dir, HEALTH_PREFIX, b.data, b.len, e);
	buf_release(&b);
	return st;
}

/* A line longer than the field comes from a damaged or edited file: cut. */
static void copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int parse_file(FILE *f, struct health *h)
{
	char line[LINE_MAX_LEN];
	int lineno = 0, last = -1;

	while (fgets(line, sizeof(line), f)) {
		char word[32], cls[16];
		int64_t a, b, c;

		line[strcspn(line, "\n")] = '\0';
		if (++lineno == 1) {
			if (strcmp(line, HEALTH_MAGIC) != 0)
				return -1;
			continue;
		}
		if (strcmp(line, "end") == 0)
			return 0;
		/* a field that does not read whole: damaged (util/num.h) */
		if (num_after(line, "saved ")) {
			if (num_line_i64(line, "saved ", &h->saved_at) != 0)
				return -1;
		} else if (num_after(line, "kind ")) {
			const char *q = line + 4;

			if (num_field_word(&q, word, sizeof(word)) != 0 ||
			    num_field_i64(&q, &a) != 0 || num_field_i64(&q, &b) != 0 ||
			    num_field_i64(&q, &c) != 0 ||
			    num_field_word(&q, cls, sizeof(cls)) != 0 || !num_field_end(q))
				return -1;
			last = -1;
			for (int k = 0; k < HEALTH_KINDS; k++)
				if (strcmp(word, kind_names[k]) == 0)
					last = k;
			if (last < 0)
				continue; /* a kind a later version added */
			if (cls_parse(cls, &h->k[last].cls) != 0)
				return -1;
			h->k[last].last_attempt = a;
			h->k[last].last_ok = b;
			h->k[last].failing_since = c;
		} else if (last >= 0 && strncmp(line, "reason ", 7) == 0) {
			copy_cut(h->k[last].reason, sizeof(h->k[last].reason), line + 7);
		} else if (last >= 0 && strncmp(line, "detail ", 7) == 0) {
			copy_cut(h->k[last].detail, sizeof(h->k[last].detail), line + 7);
		} else if (last >= 0 && strncmp(line, "count ", 6) == 0) {
			const char *q = line + 5;

			if (num_field_u64(&q, &h->k[last].moved_last) != 0 ||
			    num_field_u64(&q, &h->k[last].failed_last) != 0 ||
			    num_field_u64(&q, &h->k[last].moved_total) != 0 || !num_field_end(q))
				return -1;
		}
	}
	return -1; /* no "end": damaged */
}

enum err_status health_load(const char *dir, struct health *h, int *present, struct err *e)
{
	char path[SPOOL_PATH_MAX + 64];
	enum spool_entry_type type;
	struct buf text;
	FILE *f;
	int rc;

	memset(h, 0, sizeof(*h));
	*present = 0;
	/* The spool's one safe read: no link followed, no FIFO opened. */
	buf_init(&text, 0);
	if (spool_read_newest(dir, HEALTH_PREFIX, HEALTH_FILE_MAX, &text, path, sizeof(path), &type,
	                      e) != ERR_OK) {
		buf_release(&text);
		/* a health file that cannot be read is no outcome to trust;
		 * one that is no regular file was put there by someone else */
		if (type != SPOOL_ENTRY_UNREADABLE) {
			char why[ERR_MSG_MAX];

			snprintf(why, sizeof(why), "%s", e->msg);
			return err_set(e, ERR_PERM,
			               "%s; only scfgate writes health files there: "
			               "remove it",
			               why);
		}
		e->status = ERR_PERM;
		return ERR_PERM;
	}
	if (type == SPOOL_ENTRY_MISSING) {
		buf_release(&text);
		return ERR_OK;
	}
	f = text.len ? fmemopen(text.data, text.len, "r") : NULL;
	rc = f ? parse_file(f, h) : -1;
	if (f)
		fclose(f);
	buf_release(&text);
	if (rc != 0) {
		memset(h, 0, sizeof(*h));
		return err_set(e, ERR_PERM, "%s: not a complete health file", path);
	}
	*present = 1;
	return ERR_OK;
}
