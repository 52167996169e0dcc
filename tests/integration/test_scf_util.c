/*
 * test_scf_util.c: see test_scf_util.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "num.h"
#include "record.h"
#include "sig.h"
#include "spool.h"
#include "test_scf_util.h"
#include "unconst.h"

static const char *env_or_die(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "%s is not set\n", name);
		abort();
	}
	return v;
}

int tsim_start(struct tsim *s, const char *const args[])
{
	const char *bin = env_or_die("SCF_SIM_BIN");
	const char *argv[64];
	int fd[2], n = 0;
	char line[256];
	const char *end;
	size_t len = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	argv[n++] = bin;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--quiet";
	for (int i = 0; args && args[i] && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe(fd) != 0)
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fd[1], 1);
		if (!getenv("SIM_TEST_VERBOSE") && null >= 0)
			dup2(null, 2);
		close(fd[0]);
		execv(bin, UNCONST(argv));
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		if (f)
			fclose(f);
		tsim_stop(s);
		return -1;
	}
	fclose(f);
	len = strlen(line);
	(void)len;
	if (num_int(num_after(line, "listening on 127.0.0.1:"), &end, &s->port) != 0 ||
	    !num_field_end(end)) {
		tsim_stop(s);
		return -1;
	}
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	return 0;
}

void tsim_stop(struct tsim *s)
{
	int st;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &st, 0);
	}
	s->pid = 0;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	struct buf *b = ud;

	return buf_add(b, p, sz * n) == ERR_OK ? sz * n : 0;
}

cJSON *tsim_call(const struct tsim *s, const char *method, const char *path, const char *body,
                 long *status)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b;
	char url[512];
	long st = 0;
	cJSON *j = NULL;

	buf_init(&b, 0);
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Authorization: Bearer scf-sim-token");
	h = curl_slist_append(h, "User-Agent: scfgate-tests");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	/* scf-sim serving TLS with a throw-away CA (the benchmarks). */
	if (getenv("SIM_HARNESS_CA"))
		curl_easy_setopt(c, CURLOPT_CAINFO, getenv("SIM_HARNESS_CA"));
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	if (b.len)
		j = cJSON_ParseWithLength(b.data, b.len);
	if (status)
		*status = st;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	buf_release(&b);
	return j;
}

int64_t tsim_add_issue(const struct tsim *s, const char *json_body)
{
	long st;
	cJSON *j = tsim_call(s, "POST", "/_admin/issues", json_body, &st);
	int64_t id = 0;

	if (j && st == 201)
		id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "id"));
	cJSON_Delete(j);
	return id;
}

int tsim_add_comment(const struct tsim *s, int64_t id, const char *json_body)
{
	char path[96];
	long st;

	snprintf(path, sizeof(path), "/_admin/issues/%" PRId64 "/comments", id);
	cJSON_Delete(tsim_call(s, "POST", path, json_body, &st));
	return st == 201 ? 0 : -1;
}

int tsim_set_status(const struct tsim *s, int64_t id, const char *status)
{
	char path[96], body[96];
	long st;

	snprintf(path, sizeof(path), "/_admin/issues/%" PRId64 "/status", id);
	snprintf(body, sizeof(body), "{\"status\":\"%s\"}", status);
	cJSON_Delete(tsim_call(s, "POST", path, body, &st));
	return st == 200 ? 0 : -1;
}

const cJSON *tsim_issue(cJSON *state, int64_t id)
{
	const cJSON *is;

	cJSON_ArrayForEach(is, cJSON_GetObjectItem(state, "issues"))
	{
		if ((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(is, "id")) == id)
			return is;
	}
	return NULL;
}

int tsim_api_actions(const cJSON *is, const char *action, const char **last_text)
{
	const cJSON *c;
	int n = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(is, "comments"))
	{
		const char *via = cJSON_GetStringValue(cJSON_GetObjectItem(c, "via"));
		const char *act = cJSON_GetStringValue(cJSON_GetObjectItem(c, "action"));

		if (via && act && strcmp(via, "api") == 0 && strcmp(act, action) == 0) {
			n++;
			if (last_text)
				*last_text =
				    cJSON_GetStringValue(cJSON_GetObjectItem(c, "comment"));
		}
	}
	return n;
}

/* ---- environment ---- */

static int copy_file(const char *from, const char *to, mode_t mode)
{
	struct buf b;
	int fd, rc = -1;

	buf_init(&b, 0);
	if (buf_read_file(&b, from, NULL) != ERR_OK)
		goto out;
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		goto out;
	if (write(fd, b.data, b.len) == (ssize_t)b.len)
		rc = 0;
	close(fd);
out:
	buf_release(&b);
	return rc;
}

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t len = strlen(text);
	int rc;

	if (fd < 0)
		return -1;
	rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return rc;
}

int tenv_init(struct tenv *t, const struct tsim *s, const struct tenv_opts *o)
{
	const char *src = env_or_die("SCFGATE_SOURCE_DIR");
	struct tenv_opts d = {0};
	char from[512], to[512], cfgtext[4096], window[80] = "";

	if (!o)
		o = &d;
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/scftest.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->root, sizeof(t->root), "%s/spool", t->dir);
	snprintf(t->config, sizeof(t->config), "%s/scf.xml", t->dir);
	if (mkdir(t->root, 0750) != 0)
		return -1;
	snprintf(from, sizeof(from), "%s/tests/data/keys/test-scf.key", src);
	snprintf(to, sizeof(to), "%s/scf.key", t->dir);
	if (copy_file(from, to, 0600))
		return -1;
	snprintf(from, sizeof(from), "%s/tests/data/keys/test-oms.pub", src);
	snprintf(to, sizeof(to), "%s/oms.pub", t->dir);
	if (copy_file(from, to, 0644))
		return -1;
	snprintf(to, sizeof(to), "%s/scf.token", t->dir);
	if (write_text(to, o->token ? o->token : "scf-sim-token\n", 0600))
		return -1;
	if (o->rate_window)
		snprintf(window, sizeof(window), "    <rateWindowSeconds>%u</rateWindowSeconds>\n",
		         o->rate_window);
	snprintf(cfgtext, sizeof(cfgtext),
	         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	         "<scfgate half=\"scf\" version=\"1\">\n"
	         "  <spool>\n"
	         "    <root>%s</root>\n"
	         "    <producer>scf</producer>\n"
	         "    <privateKey>%s/scf.key</privateKey>\n"
	         "    <peerPublicKey>%s/oms.pub</peerPublicKey>\n"
	         "    <graceSeconds>5</graceSeconds>\n"
	         "  </spool>\n"
	         "  <scf>\n"
	         "    <baseUrl>%s/api/v2</baseUrl>\n"
	         "    <organization>1102</organization>\n"
	         "    <credentials auth=\"bearer\">%s/scf.token</credentials>\n"
	         "    <pollSeconds>%u</pollSeconds>\n"
	         "    <overlapSeconds>%u</overlapSeconds>\n"
	         "    <ratePerMinute>%u</ratePerMinute>\n%s"
	         "    <perPage>%u</perPage>\n"
	         "    <systemComments forward=\"\">\n"
	         "      <account>7000001</account>\n"
	         "    </systemComments>\n"
	         "  </scf>\n"
	         "  <requestTypes>\n"
	         "    <requestType id=\"9101\" title=\"Pothole\" remoteId=\"Pothole\">\n"
	         "      <closingMessage>Pothole {request_id} is fixed.</closingMessage>\n"
	         "    </requestType>\n"
	         "    <requestType id=\"9102\" title=\"Graffiti\" remoteId=\"Graffiti\"/>\n"
	         "    <requestType id=\"9103\" title=\"Streetlight Out\" remoteId=\"Light\"/>\n"
	         "    <requestType id=\"9104\" title=\"Garbage Cart\" remoteId=\"Cart\"/>\n"
	         "  </requestTypes>\n"
	         "  <messages>\n"
	         "    <acknowledgment>Now work request {request_id}.</acknowledgment>\n"
	         "    <closing>Request {request_id} is complete.</closing>\n"
	         "  </messages>\n"
	         "  <log level=\"info\"/>\n"
	         "</scfgate>\n",
	         t->root, t->dir, t->dir, s->base, t->dir, o->poll ? o->poll : 10,
	         o->overlap ? o->overlap : 120, o->rate_per_minute ? o->rate_per_minute : 600,
	         window, o->per_page ? o->per_page : 20);
	return write_text(t->config, cfgtext, 0644);
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d) {
		unlink(path);
		return;
	}
	while ((de = readdir(d))) {
		char p[1024];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		rm_rf(p);
	}
	closedir(d);
	rmdir(path);
}

void tenv_free(struct tenv *t)
{
	if (t->dir[0] && !getenv("SCF_TEST_KEEP"))
		rm_rf(t->dir);
	t->dir[0] = '\0';
}

/* One outbound record file as read: its name, size and mtime, and the
 * key and kind it carries.  Never changed once made, so a listing may
 * keep pointers to it while the table grows. */
struct tkeys_ent {
	char *name;
	int64_t size;
	time_t mtime;
	char *key;
	const char *kind;       /* record_kind_name() */
	struct tkeys_ent *next; /* on the retired list */
};

struct tkeys_cache {
	struct tkeys_ent **tab; /* open addressing by name; cap a power of two */
	size_t cap, n;
	/* Entries replaced because their file changed (freed last). */
	struct tkeys_ent *retired;
	/* The entries the listing in progress found, one per file (a name
	 * found in two directories counts twice, as it would unread). */
	const struct tkeys_ent **found;
	size_t nfound, capfound;
	size_t reads;
};

struct tkeys_cache *tkeys_cache_new(void)
{
	return calloc(1, sizeof(struct tkeys_cache));
}

static void ent_free(struct tkeys_ent *e)
{
	if (e) {
		free(e->name);
		free(e->key);
		free(e);
	}
}

void tkeys_cache_free(struct tkeys_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++)
		ent_free(c->tab[i]);
	while (c->retired) {
		struct tkeys_ent *e = c->retired;

		c->retired = e->next;
		ent_free(e);
	}
	free(c->tab);
	free(c->found);
	free(c);
}

size_t tkeys_cache_reads(const struct tkeys_cache *c)
{
	return c->reads;
}

static size_t name_hash(const char *s)
{
	size_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slot holding name, or the free slot where it belongs. */
static struct tkeys_ent **cache_slot(struct tkeys_ent **tab, size_t cap, const char *name)
{
	size_t i = name_hash(name) & (cap - 1);

	while (tab[i] && strcmp(tab[i]->name, name) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* Keep the table at most half full. -1 when out of memory. */
static int cache_grow(struct tkeys_cache *c)
{
	size_t cap = c->cap ? c->cap * 2 : 256;
	struct tkeys_ent **tab;

	if (c->n + 1 <= c->cap / 2)
		return 0;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	if (!(tab = calloc(cap, sizeof(*tab))))
		return -1;
	for (size_t i = 0; i < c->cap; i++) {
		if (c->tab[i])
			*cache_slot(tab, cap, c->tab[i]->name) = c->tab[i];
	}
	free(c->tab);
	c->tab = tab;
	c->cap = cap;
	return 0;
}

/* Read and verify path into a new entry (NULL when it does not read or
 * verify, or out of memory). */
static struct tkeys_ent *ent_read(const char *path, const struct spool_entry *ent,
                                  const struct sig_key *pub)
{
	struct tkeys_ent *e = calloc(1, sizeof(*e));
	struct record *r = NULL;
	int verified = 0;

	if (!e || spool_read_record(path, pub, &r, &verified, NULL) != ERR_OK) {
		free(e);
		return NULL;
	}
	e->name = strdup(ent->name);
	e->key = strdup(r->key);
	e->kind = record_kind_name(r->kind);
	e->size = ent->size;
	e->mtime = ent->mtime;
	record_free(r);
	if (!e->name || !e->key) {
		ent_free(e);
		return NULL;
	}
	return e;
}

struct keys_ctx {
	const struct tenv *t;
	const char *dir;
	struct sig_key *pub;
	struct tkeys_cache *c;
};

static int key_one(const struct spool_entry *ent, void *vctx)
{
	struct keys_ctx *x = vctx;
	struct tkeys_cache *c = x->c;
	struct tkeys_ent **slot, *e;
	char path[1024];

	if (cache_grow(c) != 0)
		return 1;
	slot = cache_slot(c->tab, c->cap, ent->name);
	e = *slot;
	if (!e || e->size != ent->size || e->mtime != ent->mtime) {
		snprintf(path, sizeof(path), "%s/outbound/%s/%s", x->t->root, x->dir, ent->name);
		c->reads++;
		/* Not cached when it does not read: read again next time. */
		if (!(e = ent_read(path, ent, x->pub)))
			return 0;
		if (*slot) {
			(*slot)->next = c->retired;
			c->retired = *slot;
		} else {
			c->n++;
		}
		*slot = e;
	}
	if (c->nfound == c->capfound) {
		size_t cap = c->capfound ? c->capfound * 2 : 256;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		const struct tkeys_ent **f = realloc(c->found, cap * sizeof(*f));

		if (!f)
			return 1;
		c->found = f;
		c->capfound = cap;
	}
	c->found[c->nfound++] = e;
	return 0;
}

static int by_key(const void *a, const void *b)
{
	return strcmp((*(const struct tkeys_ent *const *)a)->key,
	              (*(const struct tkeys_ent *const *)b)->key);
}

/* Add 1 to out's number named name. */
static void count_up(cJSON *out, const char *name)
{
	cJSON *n = cJSON_GetObjectItemCaseSensitive(out, name);

	if (n)
		cJSON_SetNumberValue(n, n->valuedouble + 1);
	else
		cJSON_AddNumberToObject(out, name, 1);
}

cJSON *tenv_outbound_keys_cached(const struct tenv *t, struct tkeys_cache *c)
{
	static const enum spool_dir dirs[] = {SPOOL_NEW, SPOOL_CUR, SPOOL_DONE};
	const char *src = env_or_die("SCFGATE_SOURCE_DIR");
	struct keys_ctx x = {t, NULL, NULL, c};
	cJSON *out = cJSON_CreateObject();
	char p[512];

	snprintf(p, sizeof(p), "%s/tests/data/keys/test-scf.pub", src);
	if (sig_load_public(p, &x.pub, NULL) != ERR_OK)
		return out;
	c->nfound = 0;
	for (size_t i = 0; i < 3; i++) {
		x.dir = spool_dir_name(dirs[i]);
		spool_list(t->root, "outbound", dirs[i], key_one, &x, NULL);
	}
	sig_key_free(x.pub);
	/* Sorted by key, each key's count is one run: the object is built
	 * in time linear in the records, not quadratic (a lookup in a cJSON
	 * object walks it). */
	if (c->nfound)
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		qsort(c->found, c->nfound, sizeof(*c->found), by_key);
	for (size_t i = 0, j; i < c->nfound; i = j) {
		for (j = i + 1; j < c->nfound && strcmp(c->found[j]->key, c->found[i]->key) == 0;
		     j++)
			;
		cJSON_AddNumberToObject(out, c->found[i]->key, (double)(j - i));
	}
	for (size_t i = 0; i < c->nfound; i++) {
		char tot[32];

		snprintf(tot, sizeof(tot), "_n_%s", c->found[i]->kind);
		count_up(out, tot);
	}
	return out;
}

cJSON *tenv_outbound_keys(const struct tenv *t)
{
	struct tkeys_cache *c = tkeys_cache_new();
	cJSON *out;

	if (!c)
		return cJSON_CreateObject();
	out = tenv_outbound_keys_cached(t, c);
	tkeys_cache_free(c);
	return out;
}

int tkeys_count(const cJSON *keys, const char *key)
{
	const cJSON *n = cJSON_GetObjectItem(keys, key);

	return n ? (int)n->valuedouble : 0;
}

int tkeys_all_once(const cJSON *keys)
{
	const cJSON *k;

	cJSON_ArrayForEach(k, keys)
	{
		if (strncmp(k->string, "_n_", 3) != 0 && k->valuedouble != 1) {
			fprintf(stderr, "key %s occurs %g times\n", k->string, k->valuedouble);
			return 0;
		}
	}
	return 1;
}

static int inbound_commit(const struct tenv *t, struct record *r)
{
	const char *src = env_or_die("SCFGATE_SOURCE_DIR");
	struct spool_producer *p = NULL;
	struct sig_key *k = NULL;
	char path[512];
	int rc = -1;

	snprintf(path, sizeof(path), "%s/tests/data/keys/test-oms.key", src);
	if (sig_load_private(path, &k, NULL) != ERR_OK)
		goto out;
	if (spool_queue_init(t->root, "inbound", NULL) != ERR_OK)
		goto out;
	if (spool_producer_open(&p, t->root, "inbound", "oms", k, NULL) != ERR_OK)
		goto out;
	if (spool_commit(p, r, NULL, NULL) == ERR_OK)
		rc = 0;
out:
	spool_producer_free(p);
	sig_key_free(k);
	record_free(r);
	return rc;
}

int tenv_inbound_ack(const struct tenv *t, int64_t issue_id, const char *request_id)
{
	struct record *r = record_new(RECORD_ACK);
	char key[64];

	snprintf(key, sizeof(key), "ack/%" PRId64, issue_id);
	r->key = strdup(key);
	r->u.ack.issue_id = issue_id;
	r->u.ack.oid = issue_id + 100000;
	r->u.ack.request_id = strdup(request_id);
	r->u.ack.request_type_id = 9101;
	r->u.ack.accepted_at = strdup("2026-11-27T10:00:00Z");
	return inbound_commit(t, r);
}

int tenv_inbound_close(const struct tenv *t, int64_t issue_id, const char *request_id,
                       int64_t request_type_id)
{
	struct record *r = record_new(RECORD_CLOSE);
	char key[64];

	snprintf(key, sizeof(key), "close/%" PRId64, issue_id);
	r->key = strdup(key);
	r->u.close.issue_id = issue_id;
	r->u.close.oid = issue_id + 100000;
	r->u.close.request_id = strdup(request_id);
	r->u.close.request_type_id = request_type_id;
	r->u.close.oms_status = strdup("Closed");
	r->u.close.closed_at = strdup("2026-11-27T11:00:00Z");
	return inbound_commit(t, r);
}

int tenv_count(const struct tenv *t, const char *queue, const char *dir)
{
	char p[512];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(p, sizeof(p), "%s/%s/%s", t->root, queue, dir);
	if (!(d = opendir(p)))
		return 0;
	while ((de = readdir(d))) {
		uint64_t seq;
		char prod[RECORD_PRODUCER_MAX + 1];

		if (record_parse_file_name(de->d_name, &seq, prod) == 0)
			n++;
	}
	closedir(d);
	return n;
}
