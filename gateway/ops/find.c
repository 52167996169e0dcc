/*
 * find.c: every record of both queues, decoded for inspection (find.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "find.h"

static const char *const queues[] = {"outbound", "inbound"};
static const enum spool_dir dirs[] = {SPOOL_NEW,    SPOOL_CUR,       SPOOL_HOLD,
                                      SPOOL_FAILED, SPOOL_DISMISSED, SPOOL_DONE};

struct walk {
	const char *root, *queue;
	find_record_fn fn;
	void *ctx;
	int stopped;
};

static int one(const struct spool_entry *ent, void *vctx)
{
	struct walk *w = vctx;
	char path[SPOOL_PATH_MAX];
	struct record *r = NULL;
	struct err e;
	int rc;

	if (!ent->seq || spool_path(path, w->root, w->queue, ent->dir, ent->name, NULL) != ERR_OK ||
	    spool_read_record(path, NULL, &r, NULL, &e) != ERR_OK) {
		record_free(r);
		return 0;
	}
	rc = w->fn(w->queue, ent, r, w->ctx);
	record_free(r);
	if (rc)
		w->stopped = 1;
	return rc;
}

enum err_status find_scan(const char *root, find_record_fn fn, void *ctx, struct err *e)
{
	struct walk w = {root, NULL, fn, ctx, 0};

	for (size_t q = 0; q < sizeof(queues) / sizeof(queues[0]) && !w.stopped; q++) {
		char dir[SPOOL_PATH_MAX + 32];
		struct stat sb;

		snprintf(dir, sizeof(dir), "%s/%s", root, queues[q]);
		if (stat(dir, &sb) != 0 && errno == ENOENT)
			continue;
		w.queue = queues[q];
		for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]) && !w.stopped; d++) {
			enum err_status st = spool_list(root, queues[q], dirs[d], one, &w, e);

			if (st != ERR_OK)
				return st;
		}
	}
	return ERR_OK;
}

struct collect {
	find_keep_fn keep;
	void *ctx;
	struct find_hits *out;
	int oom;
};

static int collect_one(const char *queue, const struct spool_entry *ent, const struct record *r,
                       void *vctx)
{
	struct collect *c = vctx;
	struct find_hits *out = c->out;
	struct find_hit h;

	memset(&h, 0, sizeof(h));
	h.queue = queue;
	h.dir = ent->dir;
	snprintf(h.name, sizeof(h.name), "%s", ent->name);
	h.seq = r->seq;
	h.kind = r->kind;
	h.issue = record_issue_id(r);
	h.mtime = (int64_t)ent->mtime;
	snprintf(h.created, sizeof(h.created), "%s", r->created);
	switch (r->kind) {
	case RECORD_ACK:
		h.oid = r->u.ack.oid;
		snprintf(h.request, sizeof(h.request), "%s",
		         r->u.ack.request_id ? r->u.ack.request_id : "");
		snprintf(h.when, sizeof(h.when), "%s",
		         r->u.ack.accepted_at ? r->u.ack.accepted_at : "");
		break;
	case RECORD_CLOSE:
		h.oid = r->u.close.oid;
		snprintf(h.request, sizeof(h.request), "%s",
		         r->u.close.request_id ? r->u.close.request_id : "");
		snprintf(h.when, sizeof(h.when), "%s",
		         r->u.close.closed_at ? r->u.close.closed_at : "");
		snprintf(h.detail, sizeof(h.detail), "status %s",
		         r->u.close.oms_status ? r->u.close.oms_status : "?");
		break;
	case RECORD_COMMENT:
		snprintf(h.detail, sizeof(h.detail), "comment %s",
		         r->u.comment.comment_id ? r->u.comment.comment_id : "?");
		break;
	case RECORD_ATTACHMENT:
		snprintf(h.detail, sizeof(h.detail), "%.150s",
		         r->u.attachment.url ? r->u.attachment.url : "?");
		break;
	case RECORD_ISSUE:
		snprintf(h.detail, sizeof(h.detail), "type %" PRId64 ", %s",
		         r->u.issue.request_type_id, r->u.issue.status ? r->u.issue.status : "?");
		break;
	case RECORD_CENSUS:
	case RECORD_RESEND:
	case RECORD_RECONCILE:
		break;
	}
	if (!c->keep(&h, c->ctx))
		return 0;
	if (out->n == out->cap) {
		size_t nc = out->cap ? out->cap * 2 : 32;
		struct find_hit *nv = realloc(out->v, nc * sizeof(*nv));

		if (!nv) {
			c->oom = 1;
			return -1;
		}
		out->v = nv;
		out->cap = nc;
	}
	out->v[out->n++] = h;
	return 0;
}

enum err_status find_collect(const char *root, find_keep_fn keep, void *ctx, struct find_hits *out,
                             struct err *e)
{
	struct collect c = {keep, ctx, out, 0};
	enum err_status st = find_scan(root, collect_one, &c, e);

	if (st != ERR_OK)
		return st;
	return c.oom ? err_set(e, ERR_TEMP, "out of memory") : ERR_OK;
}

void find_hits_release(struct find_hits *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

const char *find_scf_status_word(char c)
{
	switch (c) {
	case 'O':
		return "open";
	case 'A':
		return "acknowledged";
	case 'C':
		return "closed";
	case 'X':
		return "archived";
	case 'W':
		return "closed by the gateway (no longer read)";
	case 'R':
		return "reopened after close (not sent: reopen policy ignore)";
	default:
		return "unknown";
	}
}
