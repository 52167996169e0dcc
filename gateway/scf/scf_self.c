/*
 * scf_self.c: who the SCF half is on SeeClickFix, and which comments it
 * posted itself (see scf_impl.h).  Every acknowledgment and closing is a
 * comment by the API user; fetched back, it would travel to Cartegraph as
 * a citizen's note.  Two independent marks keep it out: the profile's
 * user id (read from SCF, so the operator need not configure it) and the
 * comments recorded when they were posted (which also cover a start with
 * SCF unreachable and no id stored yet).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "map.h"
#include "num.h"
#include "scf_impl.h"

#define SELF_KEY  "profile/user"
#define STAMP_KEY "profile/stamp"
/* The profile is read again after this long even when nothing changed. */
#define SELF_MAX_AGE (24 * 3600)

/* "<when read>.<credential file mtime>", in hex (a state value holds 19
 * characters and no space): a process started by a --once
 * timer does not spend a call of the 20 a minute on who it is when the
 * credential is the one read less than a day ago. */
static int stamp_fresh(const struct scf_half *h, time_t *cred_mtime)
{
	const char *v = scf_state_get(h->st, STAMP_KEY);
	const char *end;
	uint64_t at = 0, mt = 0;
	struct stat sb;

	*cred_mtime = stat(h->c->scf.credential_file, &sb) == 0 ? sb.st_mtime : 0;
	if (num_u64(v, 16, &end, &at) != 0 || *end != '.' || num_u64(end + 1, 16, &end, &mt) != 0 ||
	    *end != '\0' || !scf_self_user(h->st))
		return 0;
	return mt == (uint64_t)*cred_mtime && (uint64_t)time(NULL) >= at &&
	       (uint64_t)time(NULL) - at < (uint64_t)SELF_MAX_AGE;
}

int64_t scf_self_user(const struct scf_state *st)
{
	const char *v = st ? scf_state_get(st, SELF_KEY) : NULL;

	return v ? strtoll(v, NULL, 10) : 0;
}

enum err_status scf_self_read(struct scf_half *h, struct err *e)
{
	struct http_response resp;
	cJSON *doc = NULL;
	const cJSON *perm;
	int64_t was = scf_self_user(h->st), id;
	const char *name;
	time_t cred_mtime;
	char val[48];
	enum err_status s;
	struct err ge;

	if (h->self_read)
		return ERR_OK;
	if (stamp_fresh(h, &cred_mtime)) {
		h->self_read = 1;
		return ERR_OK;
	}
	http_response_init(&resp);
	err_clear(&ge);
	s = http_request(h->http, "GET", "/profile", NULL, NULL, &resp, &ge);
	if (s == ERR_FATAL) {
		/* A bad token, a ban or a redirect stops the pass just the same. */
		err_set(e, s, "profile: %s", ge.msg);
		goto out;
	}
	if (s != ERR_OK) {
		log_warn("event=profile-unread user=%" PRId64 " why=%s then=%s", was, log_q(ge.msg),
		         log_q(was ? "the user id kept from an earlier start applies"
		                   : "user unknown until SCF answers; comments recorded as posted "
		                     "still apply"));
		s = ERR_OK;
		goto out;
	}
	doc = cJSON_ParseWithLength(resp.body.data ? resp.body.data : "", resp.body.len);
	id = doc ? scf_json_id(doc, "id") : 0;
	if (id <= 0) {
		log_warn("event=profile-unread user=%" PRId64
		         " why=\"GET /profile: no usable id in "
		         "the reply (%zu bytes)\"",
		         was, resp.body.len);
		goto out;
	}
	h->self_read = 1;
	name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "name"));
	perm = cJSON_GetObjectItemCaseSensitive(doc, "permissions");
	log_info("event=profile user=%" PRId64 " name=%s%s", id, log_q(name ? name : ""),
	         was && was != id ? " why=\"the credential's user changed\"" : "");
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(perm, "can_acknowledge")))
		log_warn("event=profile user=%" PRId64 " why=\"the API user may not acknowledge; "
		         "SCF will refuse acknowledgments\"",
		         id);
	if (id != was) {
		snprintf(val, sizeof(val), "%" PRId64, id);
		if (scf_state_put(h->st, SELF_KEY, val) != ERR_OK) {
			s = err_set(e, ERR_TEMP, "out of memory");
			goto out;
		}
		h->unsaved_pages++; /* saved with the pass */
	}
	snprintf(val, sizeof(val), "%llx.%llx", (unsigned long long)time(NULL),
	         (unsigned long long)cred_mtime);
	if (scf_state_put(h->st, STAMP_KEY, val) != ERR_OK) {
		s = err_set(e, ERR_TEMP, "out of memory");
		goto out;
	}
	h->unsaved_pages++;
out:
	cJSON_Delete(doc);
	http_response_release(&resp);
	return s;
}

void scf_text_hash(const char *text, char out[17])
{
	char hex[65];

	sig_sha256_hex(text ? text : "", text ? strlen(text) : 0, hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

static void posted_key(char *key, size_t size, int64_t issue, int64_t at, const char *text)
{
	char h[17];

	scf_text_hash(text, h);
	snprintf(key, size, "posted/%" PRId64 "/%" PRId64 ".%s", issue, at > 0 ? at : 0, h);
}

const char *scf_self_why(const struct scf_state *st, const struct record_comment *cm, char *why,
                         size_t why_size)
{
	int64_t self = scf_self_user(st);
	char key[160];

	if (self && cm->commenter_id == self) {
		snprintf(why, why_size, "by this gateway's SCF user %" PRId64, self);
		return why;
	}
	if (cm->comment_id) {
		snprintf(key, sizeof(key), "posted/%" PRId64 "/%s", cm->issue_id, cm->comment_id);
		if (scf_state_get(st, key)) {
			snprintf(why, why_size, "posted by this gateway (comment %s)",
			         cm->comment_id);
			return why;
		}
	}
	/* SCF's reply to a transition carries no comment id (the reference's
	 * shape), so the comment is known by its time and text. */
	posted_key(key, sizeof(key), cm->issue_id, scf_time_parse(cm->created_at), cm->text);
	if (scf_state_get(st, key)) {
		snprintf(why, why_size, "posted by this gateway (same time and text)");
		return why;
	}
	posted_key(key, sizeof(key), cm->issue_id, 0, cm->text);
	if (scf_state_get(st, key)) {
		snprintf(why, why_size, "posted by this gateway (same text)");
		return why;
	}
	return NULL;
}

enum err_status scf_self_note_posted(struct scf_state *st, int64_t issue_id, const char *body,
                                     size_t len, const char *sent_text)
{
	cJSON *doc = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	const char *flag = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "flag_url"));
	const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "comment"));
	const char *at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "created_at"));
	char key[160], cid[32];
	enum err_status s = ERR_OK;

	if (flag && map_comment_id_from_flag_url(flag, cid, sizeof(cid)) == 0) {
		snprintf(key, sizeof(key), "posted/%" PRId64 "/%s", issue_id, cid);
		s = scf_state_put(st, key, "-");
	}
	/* A moderated reply (202) has neither time nor text: the text sent,
	 * without a time, still names it. */
	posted_key(key, sizeof(key), issue_id, at ? scf_time_parse(at) : 0,
	           text ? text : sent_text);
	if (s == ERR_OK)
		s = scf_state_put(st, key, "-");
	cJSON_Delete(doc);
	return s;
}
