/*
 * find.c: every record of both queues, decoded for inspection (find.h).
 */
#include <errno.h>
#include <stdio.h>
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
