/*
 * scf_known.c: what the fetch passes saw of each tracked issue, so that a
 * transition needs no GET of the issue first (see scf_impl.h).
 *
 * Why a pass's view may stand in for a GET: any change of an issue moves
 * its updated_at, and the next complete pass reads everything updated
 * since the watermark (minus the overlap), so the status letter and the
 * transitions kept in the state are as of the start of the last complete
 * pass.  Between that start and the POST, staff may still change the
 * issue; SCF then refuses the POST (422) and the write-back reads the
 * issue as it did before, so a stale view costs a call, never a wrong
 * transition.  The view is used only while that pass is recent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "scf_impl.h"

static void key_of(char *key, size_t size, int64_t id)
{
	snprintf(key, size, "transitions/%" PRId64, id);
}

enum err_status scf_known_note(struct scf_state *st, int64_t id, const cJSON *issue, int *changed)
{
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(issue, "transitions");
	char key[64], flags[4];
	const char *was;
	size_t n = 0;

	if (!cJSON_IsObject(tr))
		return ERR_OK; /* not offered in this reply: keep what we had */
	if (cJSON_GetObjectItemCaseSensitive(tr, "acknowledge_url"))
		flags[n++] = 'a';
	if (cJSON_GetObjectItemCaseSensitive(tr, "close_url"))
		flags[n++] = 'c';
	if (!n)
		flags[n++] = '-';
	flags[n] = '\0';
	key_of(key, sizeof(key), id);
	was = scf_state_get(st, key);
	if (was && strcmp(was, flags) == 0)
		return ERR_OK;
	*changed = 1;
	return scf_state_put(st, key, flags);
}

int scf_known_get(const struct scf_state *st, int64_t id, char *letter, int *can_ack,
                  int *can_close)
{
	char key[64];
	const char *tr, *status;

	if (!st)
		return 0;
	snprintf(key, sizeof(key), "issue/%" PRId64, id);
	status = scf_state_get(st, key);
	key_of(key, sizeof(key), id);
	tr = scf_state_get(st, key);
	/* W: closed by write-back and no longer read, so nothing is known. */
	if (!status || !status[0] || !strchr("OACX", status[0]) || !tr)
		return 0;
	*letter = status[0];
	*can_ack = strchr(tr, 'a') != NULL;
	*can_close = strchr(tr, 'c') != NULL;
	return 1;
}

enum err_status scf_known_set(struct scf_state *st, int64_t id, char letter, const char *flags)
{
	char key[64], l[2] = {letter, '\0'};
	enum err_status s;

	snprintf(key, sizeof(key), "issue/%" PRId64, id);
	s = scf_state_put(st, key, l);
	if (s != ERR_OK)
		return s;
	key_of(key, sizeof(key), id);
	return scf_state_put(st, key, flags);
}

int scf_known_fresh(const struct scf_half *h)
{
	unsigned poll = h->c->scf.poll_seconds;
	struct timespec ts;

	if (!h->known_at)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec - h->known_at < 2 * (time_t)poll;
}
