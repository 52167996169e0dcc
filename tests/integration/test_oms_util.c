/*
 * test_oms_util.c: see test_oms_util.h.
 */
#include "test_oms_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "unconst.h"

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t len = strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	fchmod(fd, mode);
	return close(fd);
}

static const char config_fmt[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<scfgate half=\"oms\" version=\"1\">\n"
    "  <spool>\n"
    "    <root>%s</root>\n"
    "    <producer>oms</producer>\n"
    "    <privateKey>%s/oms.key</privateKey>\n"
    "    <peerPublicKey>%s/tests/data/keys/test-scf.pub</peerPublicKey>\n"
    "    <graceSeconds>5</graceSeconds>\n"
    "  </spool>\n"
    "  <cartegraph>\n"
    "    <baseUrl>%s</baseUrl>\n"
    "    <credentials auth=\"%s\">%s/cg.cred</credentials>\n"
    "    <pollSeconds>10</pollSeconds>\n"
    "    <backoffMilliseconds>50</backoffMilliseconds>\n"
    "    %s\n"
    "    <fields>\n"
    "      <externalId field=\"SCFIssueIDField\"/>\n"
    "      %s\n"
    "    </fields>\n"
    "  </cartegraph>\n"
    "  <requestTypes>\n"
    "    <requestType id=\"122\" title=\"Pothole\" remoteId=\"Pothole\">\n"
    "      <closingMessage>Pothole fixed ({request_id}).</closingMessage>\n"
    "    </requestType>\n"
    "    <requestType id=\"5763\" title=\"Street Light Out\" remoteId=\"Street Light\"/>\n"
    "  </requestTypes>\n"
    "  <log level=\"info\"/>\n"
    "</scfgate>\n";

int omt_setup(struct omt *t, const char *const sim_args[], const char *cg_extra)
{
	return omt_setup_fields(t, sim_args, cg_extra, NULL);
}

int omt_setup_fields(struct omt *t, const char *const sim_args[], const char *cg_extra,
                     const char *fields_extra)
{
	const char *src = env_or("SCFGATE_SOURCE_DIR", ".");
	const char *args[40];
	char path[512], *text = NULL;
	struct err e;
	int n = 0;

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/omt.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->root, sizeof(t->root), "%s/spool", t->dir);
	snprintf(t->config, sizeof(t->config), "%s/oms.xml", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/oms.log", t->dir);
	if (mkdir(t->root, 0750) != 0)
		return -1;
	args[n++] = "--quiet";
	args[n++] = "--requests";
	args[n++] = "0";
	args[n++] = "--extra-fields";
	args[n++] = "SCFIssueIDField";
	for (int i = 0; sim_args && sim_args[i] && n < 38; i++)
		args[n++] = sim_args[i];
	args[n] = NULL;
	if (simproc_start(&t->sim, sim_bin("OMS_SIM_BIN"), args) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/cg.cred", t->dir);
	if (write_text(path, getenv("OMT_CRED") ? getenv("OMT_CRED") : "scfgate:scfgate-pass\n",
	               0600) != 0)
		return -1;
	/* A half refuses a private key others may read: a copy of mode
	 * 0600, as keygen writes them (git keeps only 0644). */
	{
		struct buf key = BUF_INIT_CAP(4096);
		char to[600];

		snprintf(path, sizeof(path), "%s/tests/data/keys/test-oms.key", src);
		snprintf(to, sizeof(to), "%s/oms.key", t->dir);
		if (buf_read_file(&key, path, &e) != ERR_OK ||
		    write_text(to, buf_str(&key), 0600)) {
			buf_release(&key);
			return -1;
		}
		buf_release(&key);
	}
	if (asprintf(&text, config_fmt, t->root, t->dir, src, t->sim.base,
	             getenv("OMT_AUTH") ? getenv("OMT_AUTH") : "basic", t->dir,
	             cg_extra ? cg_extra : "", fields_extra ? fields_extra : "") < 0)
		return -1;
	if (write_text(t->config, text, 0640) != 0) {
		free(text);
		return -1;
	}
	free(text);
	err_clear(&e);
	snprintf(path, sizeof(path), "%s/tests/data/keys/test-scf.key", src);
	if (sig_load_private(path, &t->scf_key, &e) != ERR_OK)
		return -1;
	snprintf(path, sizeof(path), "%s/tests/data/keys/test-oms.pub", src);
	if (sig_load_public(path, &t->oms_pub, &e) != ERR_OK)
		return -1;
	if (spool_queue_init(t->root, "outbound", &e) != ERR_OK ||
	    spool_producer_open(&t->out, t->root, "outbound", "scf", t->scf_key, &e) != ERR_OK)
		return -1;
	return 0;
}

void omt_teardown(struct omt *t)
{
	char cmd[600];

	if (t->sim.pid > 0)
		simproc_stop(&t->sim);
	spool_producer_free(t->out);
	sig_key_free(t->scf_key);
	sig_key_free(t->oms_pub);
	if (!getenv("OMT_KEEP") && t->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", t->dir);
	}
	memset(t, 0, sizeof(*t));
}

static uint64_t commit(struct omt *t, struct record *r)
{
	uint64_t seq = 0;
	struct err e;

	err_clear(&e);
	if (spool_commit(t->out, r, &seq, &e) != ERR_OK) {
		fprintf(stderr, "commit: %s\n", e.msg);
		seq = 0;
	}
	record_free(r);
	return seq;
}

uint64_t omt_commit(struct omt *t, struct record *r)
{
	return commit(t, r);
}

uint64_t omt_issue(struct omt *t, int64_t issue, int64_t type, const char *desc,
                   const char *media_url)
{
	return omt_issue_key(t, issue, type, desc, media_url, NULL);
}

uint64_t omt_issue_key(struct omt *t, int64_t issue, int64_t type, const char *desc,
                       const char *media_url, const char *key)
{
	struct record *r = record_new(RECORD_ISSUE);
	struct record_issue *is = &r->u.issue;

	if (key ? !(r->key = strdup(key)) : asprintf(&r->key, "issue/%" PRId64, issue) < 0)
		abort();
	is->issue_id = issue;
	is->request_type_id = type;
	is->request_type_title = strdup(type == 122 ? "Pothole" : "Other");
	is->status = strdup("Open");
	is->summary = strdup("Test issue");
	is->description = desc ? strdup(desc) : NULL;
	is->lat = 41.30713;
	is->lng = -72.92486;
	is->address = strdup("165 Church St New Haven, CT 06510, USA");
	is->reporter_id = 99021;
	is->reporter_name = strdup("Dana Ruiz");
	is->created_at = strdup("2026-11-25T18:30:02-05:00");
	is->updated_at = strdup("2026-11-25T18:30:02-05:00");
	if (asprintf(&is->html_url, "https://seeclickfix.com/issues/%" PRId64, issue) < 0)
		abort();
	is->media_url = media_url ? strdup(media_url) : NULL;
	is->source_json = strdup("{}");
	return commit(t, r);
}

uint64_t omt_comment(struct omt *t, int64_t issue, const char *comment_id, const char *text)
{
	struct record *r = record_new(RECORD_COMMENT);
	struct record_comment *cm = &r->u.comment;

	if (asprintf(&r->key, "comment/%" PRId64 "/%s", issue, comment_id) < 0)
		abort();
	cm->issue_id = issue;
	cm->comment_id = strdup(comment_id);
	cm->created_at = strdup("2026-11-26T09:12:44-05:00");
	cm->commenter_id = 99021;
	cm->commenter_name = strdup("Dana Ruiz");
	cm->text = strdup(text);
	return commit(t, r);
}

uint64_t omt_attachment(struct omt *t, int64_t issue, const char *comment_id, const char *url)
{
	struct record *r = record_new(RECORD_ATTACHMENT);
	struct record_attachment *at = &r->u.attachment;

	if (asprintf(&r->key, "attachment/%" PRId64 "/%s", issue,
	             comment_id ? comment_id : "issue") < 0)
		abort();
	at->issue_id = issue;
	at->comment_id = comment_id ? strdup(comment_id) : NULL;
	at->url = strdup(url);
	return commit(t, r);
}

static pid_t start_oms(struct omt *t, int once, const char *const args[])
{
	const char *bin = sim_bin("SCFGATE_BIN");
	const char *argv[32];
	int n = 0;
	pid_t pid;

	argv[n++] = bin;
	argv[n++] = "oms";
	argv[n++] = "--config";
	argv[n++] = t->config;
	if (once)
		argv[n++] = "--once";
	for (int i = 0; args && args[i] && n < 30; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(t->log, O_WRONLY | O_CREAT | O_APPEND, 0640);
		int dn = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		if (dn >= 0)
			dup2(dn, 1);
		execv(bin, UNCONST(argv));
		_exit(127);
	}
	return pid;
}

pid_t omt_start(struct omt *t, const char *const args[])
{
	return start_oms(t, 1, args);
}

pid_t omt_start_daemon(struct omt *t, const char *const args[])
{
	return start_oms(t, 0, args);
}

int omt_wait(pid_t pid, int kill_first)
{
	int status;

	if (pid < 0)
		return -1;
	if (kill_first)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int omt_run(struct omt *t, long kill_after_ms, const char *const args[])
{
	pid_t pid = omt_start(t, args);

	if (pid > 0 && kill_after_ms > 0) {
		struct timespec ts = {kill_after_ms / 1000, (kill_after_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return omt_wait(pid, kill_after_ms > 0);
}

cJSON *omt_state(struct omt *t)
{
	char url[128];

	snprintf(url, sizeof(url), "%s/_admin/state", t->sim.base);
	return http_json("GET", url, NULL, NULL, NULL);
}

static cJSON *rows_of(cJSON *state, const char *key)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(state, key);
	cJSON *recs = cJSON_GetObjectItemCaseSensitive(state, "records");

	if (!cJSON_IsString(name) || !recs)
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(recs, name->valuestring);
}

cJSON *omt_requests(cJSON *state)
{
	return rows_of(state, "class");
}

cJSON *omt_attachments(cJSON *state)
{
	return rows_of(state, "attachment_class");
}

cJSON *omt_request_for(cJSON *state, int64_t issue, int *count)
{
	cJSON *rows = omt_requests(state), *row, *found = NULL;
	char id[32];

	snprintf(id, sizeof(id), "%" PRId64, issue);
	*count = 0;
	cJSON_ArrayForEach(row, rows)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "SCFIssueIDField");
		if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0) {
			(*count)++;
			if (!found)
				found = row;
		}
	}
	return found;
}

static int admin_post(struct omt *t, const char *path, const char *body)
{
	char url[256];
	long status = 0;
	cJSON *j;

	snprintf(url, sizeof(url), "%s%s", t->sim.base, path);
	j = http_json("POST", url, NULL, body, &status);
	cJSON_Delete(j);
	return status >= 200 && status < 300 ? 0 : -1;
}

int omt_admin(struct omt *t, const char *path, const char *body)
{
	return admin_post(t, path, body);
}

int omt_close(struct omt *t, int64_t oid)
{
	char path[96];

	snprintf(path, sizeof(path), "/_admin/requests/%" PRId64 "/close", oid);
	return admin_post(t, path, "{}");
}

int omt_note(struct omt *t, int64_t oid, const char *text)
{
	char path[96];
	cJSON *b = cJSON_CreateObject();
	char *body;
	int rc;

	snprintf(path, sizeof(path), "/_admin/requests/%" PRId64 "/note", oid);
	cJSON_AddStringToObject(b, "text", text);
	body = cJSON_PrintUnformatted(b);
	rc = admin_post(t, path, body);
	free(body);
	cJSON_Delete(b);
	return rc;
}

int omt_faults(struct omt *t, const char *json)
{
	return admin_post(t, "/_admin/faults", json);
}

struct count_ctx {
	struct omt *t;
	const char *queue;
	enum spool_dir d;
	enum record_kind kind;
	int64_t issue;
	size_t n;
};

static int count_one(const struct spool_entry *ent, void *ctx)
{
	struct count_ctx *cc = ctx;
	char path[SPOOL_PATH_MAX];
	struct record *r = NULL;
	int verified = 0;
	int64_t id = 0;

	if (spool_path(path, cc->t->root, cc->queue, cc->d, ent->name, NULL) != ERR_OK ||
	    spool_read_record(path, strcmp(cc->queue, "inbound") == 0 ? cc->t->oms_pub : NULL, &r,
	                      &verified, NULL) != ERR_OK)
		return 0;
	if (r->kind == RECORD_ACK)
		id = r->u.ack.issue_id;
	else if (r->kind == RECORD_CLOSE)
		id = r->u.close.issue_id;
	else if (r->kind == RECORD_ISSUE)
		id = r->u.issue.issue_id;
	else if (r->kind == RECORD_COMMENT)
		id = r->u.comment.issue_id;
	else if (r->kind == RECORD_ATTACHMENT)
		id = r->u.attachment.issue_id;
	if (r->kind == cc->kind && (!cc->issue || id == cc->issue))
		cc->n++;
	record_free(r);
	return 0;
}

size_t omt_count(struct omt *t, const char *queue, enum spool_dir d, enum record_kind kind,
                 int64_t issue)
{
	struct count_ctx cc = {t, queue, d, kind, issue, 0};

	spool_list(t->root, queue, d, count_one, &cc, NULL);
	return cc.n;
}

size_t omt_occurrences(const char *haystack, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	for (const char *p = haystack; p && (p = strstr(p, needle)) != NULL; p += len)
		n++;
	return n;
}

int omt_feed(struct omt *t, int64_t base, int n)
{
	char cid[32], url[96];

	for (int i = 0; i < n; i++) {
		int64_t id = base + i;

		if (omt_issue(t, id, 122, "Hole", NULL) == 0)
			return -1;
		for (int k = 0; k < 2; k++) {
			snprintf(cid, sizeof(cid), "%lld%d", (long long)id, k);
			if (omt_comment(t, id, cid, "Comment text") == 0)
				return -1;
		}
		snprintf(url, sizeof(url), "https://seeclickfix.com/files/%lld.jpg", (long long)id);
		if (omt_attachment(t, id, cid, url) == 0)
			return -1;
	}
	return 0;
}

/* One issue of omt_exactly_once; 0 or -1 with why. */
static int exactly_once_one(struct omt *t, cJSON *st, const cJSON *att, int64_t id, char *why,
                            size_t size)
{
	int count = 0, natt = 0;
	cJSON *row = omt_request_for(st, id, &count);
	const cJSON *notes = cJSON_GetObjectItemCaseSensitive(row, "CommentsField");
	const cJSON *oidj = cJSON_GetObjectItemCaseSensitive(row, "Oid"), *a;
	char marker[64];
	int64_t oid;
	size_t n;

	if (count != 1) {
		snprintf(why, size, "issue %lld: %d requests", (long long)id, count);
		return -1;
	}
	if (!cJSON_IsString(notes) || !cJSON_IsNumber(oidj)) {
		snprintf(why, size, "issue %lld: no CommentsField or Oid", (long long)id);
		return -1;
	}
	oid = (int64_t)oidj->valuedouble;
	for (int k = 0; k < 2; k++) {
		snprintf(marker, sizeof(marker), "[scf-comment %lld%d]", (long long)id, k);
		if ((n = omt_occurrences(notes->valuestring, marker)) != 1) {
			snprintf(why, size, "issue %lld: %s %zu times", (long long)id, marker, n);
			return -1;
		}
	}
	cJSON_ArrayForEach(a, att)
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(a, "_parent");
		if (cJSON_IsNumber(p) && (int64_t)p->valuedouble == oid)
			natt++;
	}
	if (natt != 1) {
		snprintf(why, size, "issue %lld: %d attachments", (long long)id, natt);
		return -1;
	}
	if ((n = omt_count(t, "inbound", SPOOL_NEW, RECORD_ACK, id)) != 1) {
		snprintf(why, size, "issue %lld: %zu acks", (long long)id, n);
		return -1;
	}
	return 0;
}

int omt_exactly_once(struct omt *t, int64_t base, int n, char *why, size_t size)
{
	cJSON *st = omt_state(t);
	int rc = 0;

	if (!st) {
		snprintf(why, size, "no state from oms-sim");
		return -1;
	}
	for (int i = 0; i < n && rc == 0; i++)
		rc = exactly_once_one(t, st, omt_attachments(st), base + i, why, size);
	cJSON_Delete(st);
	return rc;
}

int omt_log_has(struct omt *t, const char *s)
{
	struct buf b = BUF_INIT_CAP((size_t)64 * 1024 * 1024);
	int has;

	if (buf_read_file(&b, t->log, NULL) != ERR_OK) {
		buf_release(&b);
		return 0;
	}
	has = strstr(buf_str(&b), s) != NULL;
	buf_release(&b);
	return has;
}

int omt_config_replace(struct omt *t, const char *from, const char *to)
{
	struct buf b = BUF_INIT_CAP(1 << 20), out = BUF_INIT_CAP(1 << 20);
	const char *at;
	int rc = -1;

	if (buf_read_file(&b, t->config, NULL) != ERR_OK)
		goto out;
	at = strstr(buf_str(&b), from);
	if (!at || buf_add(&out, b.data, (size_t)(at - b.data)) || buf_adds(&out, to) ||
	    buf_adds(&out, at + strlen(from)))
		goto out;
	rc = write_text(t->config, buf_str(&out), 0640);
out:
	buf_release(&b);
	buf_release(&out);
	return rc;
}
