/*
 * test_oms_reconcile.c: the OMS half reconciles a census against the
 * real oms-sim: every kind of drift is made with the simulator's admin
 * actions, a census in two parts arrives in the outbound queue, and the
 * result file and the reconcile record carry exactly the classes.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "test_oms_util.h"

#define CENSUS "scf-20261206T101500Z"

static int64_t oid_for(struct omt *t, int64_t issue)
{
	cJSON *st = omt_state(t);
	int n = 0;
	cJSON *row = omt_request_for(st, issue, &n);
	int64_t oid = row ? (int64_t)cJSON_GetObjectItem(row, "Oid")->valuedouble : 0;

	cJSON_Delete(st);
	return oid;
}

static void act(struct omt *t, int64_t issue, const char *what, const char *body)
{
	char path[128];

	snprintf(path, sizeof(path), "/_admin/requests/%" PRId64 "/%s", oid_for(t, issue), what);
	assert_int_equal(omt_admin(t, path, body), 0);
}

struct ent {
	int64_t id;
	const char *status;
};

static void census_part(struct omt *t, int64_t part, int last, const struct ent *es, size_t n)
{
	struct record *r = record_new(RECORD_CENSUS);
	struct record_census *c = &r->u.census;
	char key[128];

	assert_int_equal(asprintf(&r->key, "census/%s/%" PRId64, CENSUS, part) > 0, 1);
	(void)key;
	c->census_id = strdup(CENSUS);
	c->part = part;
	c->last = last;
	c->window_from = strdup("2025-12-06T00:00:00Z");
	c->window_to = strdup("2026-12-06T10:15:00Z");
	c->n_request_types = 1;
	c->request_type_ids = calloc(1, sizeof(int64_t));
	c->request_type_ids[0] = 122;
	c->n_entries = n;
	c->entries = calloc(n ? n : 1, sizeof(*c->entries));
	for (size_t i = 0; i < n; i++) {
		struct record_census_entry *en = &c->entries[i];
		en->issue_id = es[i].id;
		en->status = strdup(es[i].status);
		en->request_type_id = 122;
		en->updated_at = strdup("2026-11-25T18:30:02-05:00");
		en->lat = 41.30713;
		en->lng = -72.92486;
		assert_true(asprintf(&en->html_url, "https://seeclickfix.com/issues/%" PRId64,
		                     es[i].id) > 0);
		en->sent = 1;
	}
	assert_true(omt_commit(t, r) > 0);
}

static cJSON *read_json(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;
	cJSON *j;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	j = cJSON_ParseWithLength(buf, n);
	free(buf);
	assert_non_null(j);
	return j;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

/* The finding of an issue in the result file (NULL if none). */
static const cJSON *finding(const cJSON *res, int64_t issue)
{
	const cJSON *f;

	cJSON_ArrayForEach(f,
	                   cJSON_GetObjectItem(res, "findings")) if ((int64_t)num(f, "issue_id") ==
	                                                             issue) return f;
	return NULL;
}

static const char *cls_of(const cJSON *res, int64_t issue)
{
	const cJSON *f = finding(res, issue);

	return f ? cJSON_GetObjectItem(f, "class")->valuestring : "in-sync";
}

static void test_every_class(void **state)
{
	struct omt t;
	char path[512];
	struct stat sb;
	cJSON *res, *cl;
	const cJSON *f;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	for (int64_t id = 7001; id <= 7008; id++)
		omt_issue(&t, id, 122, "Hole", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	act(&t, 7002, "delete", "{}");                        /* missing */
	act(&t, 7003, "close", "{}");                         /* missed-close */
	act(&t, 7005, "retype", "{\"issue\": \"Graffiti\"}"); /* drift: type */
	act(&t, 7006, "move", "{\"north_m\": 500}");          /* drift: location */
	act(&t, 7007, "duplicate", "{}");                     /* duplicate */

	{
		const struct ent p1[] = {
		    {7001, "Open"}, {7002, "Open"}, {7003, "Acknowledged"}, {7004, "Archived"}};
		const struct ent p2[] = {{7005, "Open"},
		                         {7006, "Open"},
		                         {7007, "Open"},
		                         {7009, "Open"},
		                         {7010, "Closed"}};
		census_part(&t, 1, 0, p1, 4);
		assert_int_equal(omt_run(&t, 0, NULL), 0);
		/* one part: kept, nothing reconciled yet */
		snprintf(path, sizeof(path), "%s/state/oms/reconcile/last.json", t.root);
		assert_int_not_equal(stat(path, &sb), 0);
		snprintf(path, sizeof(path), "%s/state/oms/census/%s/part.000001", t.root, CENSUS);
		assert_int_equal(stat(path, &sb), 0);
		census_part(&t, 2, 1, p2, 5);
	}
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	snprintf(path, sizeof(path), "%s/state/oms/reconcile/last.json", t.root);
	res = read_json(path);
	assert_string_equal(cJSON_GetObjectItem(res, "census_id")->valuestring, CENSUS);
	assert_string_equal(cJSON_GetObjectItem(res, "id_field")->valuestring, "IDField");
	assert_int_equal((int)num(res, "issues"), 9);
	cl = cJSON_GetObjectItem(res, "classes");
	/* 7001 and 7010 (closed before it was sent) */
	assert_int_equal((int)num(cl, "in-sync"), 2);
	assert_int_equal((int)num(cl, "missing"), 2);      /* 7002 deleted, 7009 never sent */
	assert_int_equal((int)num(cl, "missed-close"), 1); /* 7003 */
	assert_int_equal((int)num(cl, "orphan"), 2);       /* 7004 archived, 7008 not listed */
	assert_int_equal((int)num(cl, "drift"), 2);        /* 7005 type, 7006 location */
	assert_int_equal((int)num(cl, "duplicate"), 1);    /* 7007 */
	assert_string_equal(cls_of(res, 7001), "in-sync");
	assert_string_equal(cls_of(res, 7002), "missing");
	assert_string_equal(cls_of(res, 7009), "missing");
	assert_string_equal(cls_of(res, 7003), "missed-close");
	assert_string_equal(cls_of(res, 7004), "orphan");
	assert_string_equal(cls_of(res, 7008), "orphan");
	assert_string_equal(cls_of(res, 7005), "drift");
	assert_string_equal(cls_of(res, 7006), "drift");
	assert_string_equal(cls_of(res, 7007), "duplicate");
	f = finding(res, 7005);
	assert_non_null(strstr(cJSON_GetObjectItem(f, "detail")->valuestring, "\"Graffiti\""));
	f = finding(res, 7006);
	assert_non_null(strstr(cJSON_GetObjectItem(f, "detail")->valuestring, "location: 500 m"));
	f = finding(res, 7002);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(f, "oid")));
	assert_string_equal(cJSON_GetObjectItem(f, "html_url")->valuestring,
	                    "https://seeclickfix.com/issues/7002");
	f = finding(res, 7003);
	assert_string_equal(cJSON_GetObjectItem(f, "oms_status")->valuestring, "Closed");
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(res, "repairs")));
	cJSON_Delete(res);
	snprintf(path, sizeof(path), "%s/state/oms/reconcile/%s.json", t.root, CENSUS);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	/* the parts are gone once reconciled */
	snprintf(path, sizeof(path), "%s/state/oms/census/%s", t.root, CENSUS);
	assert_int_not_equal(stat(path, &sb), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_RECONCILE, 0), 1);
	assert_int_equal(omt_count(&t, "outbound", SPOOL_FAILED, RECORD_CENSUS, 0), 0);
	assert_true(omt_log_has(&t, "event=reconciled census=" CENSUS " issues=9"));

	/* A repeat of a part of a reconciled census does nothing. */
	census_part(&t, 2, 1, (const struct ent[]){{7005, "Open"}}, 1);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_RECONCILE, 0), 1);
	omt_teardown(&t);
}

/* Run scfgate reconcile ARGS with the test's configuration; stdout into
 * out (may be NULL).  Returns the exit status. */
static int cli(struct omt *t, const char *args, char *out, size_t size)
{
	char cmd[1024];
	FILE *p;
	size_t n = 0;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' reconcile --config '%s' %s 2>>'%s'", getenv("SCFGATE_BIN"),
	         t->config, args, t->log);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (out) {
		n = fread(out, 1, size - 1, p);
		out[n] = 0;
	} else {
		char sink[4096];
		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The repairs: a resend of the missing issues, a close of the missed
 * one, the rest listed; a second --repair commits nothing new. */
static void test_repair(void **state)
{
	struct omt t;
	static char out[65536];
	cJSON *j;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	/* nothing reconciled yet */
	assert_int_equal(cli(&t, "", NULL, 0), 1);
	for (int64_t id = 7201; id <= 7204; id++)
		omt_issue(&t, id, 122, "Hole", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	act(&t, 7201, "delete", "{}");
	act(&t, 7202, "duplicate", "{}");
	/* the crew closes 7203; SCF has not heard when the census is taken */
	act(&t, 7203, "close", "{}");
	{
		const struct ent p1[] = {{7201, "Open"},
		                         {7202, "Open"},
		                         {7203, "Acknowledged"},
		                         {7204, "Open"},
		                         {7205, "Open"}};
		census_part(&t, 1, 1, p1, 5);
	}
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(cli(&t, "", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "census      " CENSUS));
	assert_non_null(strstr(out, "missing      2"));
	assert_non_null(strstr(out, "duplicate    1"));
	assert_non_null(strstr(out, "missed-close 1"));
	assert_int_equal(cli(&t, "--json", out, sizeof(out)), 0);
	j = cJSON_Parse(out);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "census_id")->valuestring, CENSUS);
	cJSON_Delete(j);
	assert_int_equal(cli(&t, "--census nosuch", NULL, 0), 1);
	assert_int_equal(cli(&t, "--class missing", NULL, 0), 2);

	/* dry run: said, not committed */
	assert_int_equal(cli(&t, "--repair --dry-run", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "would repair missing: 2 issue(s) by resend record"));
	assert_non_null(strstr(out, "duplicate issue 7202: keep one request"));
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_RESEND, 0), 0);

	assert_int_equal(cli(&t, "--repair --json", out, sizeof(out)), 0);
	j = cJSON_Parse(out);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "repairs")), 2);
	cJSON_Delete(j);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_RESEND, 0), 1);
	/* the poll's own close and the repair's */
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 7203), 2);
	assert_true(omt_log_has(&t, "class=missed-close record=close issue=7203"));
	assert_true(omt_log_has(&t,
	                        "effect=repair census=" CENSUS
	                        " class=missing record=resend key=resend/" CENSUS "/1 issues=2"));
	/* again: nothing new */
	assert_int_equal(cli(&t, "--repair", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "nothing to repair for census " CENSUS));
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_RESEND, 0), 1);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_CLOSE, 7203), 2);
	assert_int_equal(cli(&t, "", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "repaired "));
	omt_teardown(&t);
}

/* Cartegraph down while reconciling: the census waits, other records
 * flow, and the next run reconciles. */
static void test_outage_retries(void **state)
{
	struct omt t;
	char path[512];
	struct stat sb;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 7101, 122, "Hole", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	census_part(&t, 1, 1, (const struct ent[]){{7101, "Open"}}, 1);
	omt_issue(&t, 7102, 122, "Hole", NULL);
	/* the issue's create and the poll pass, then Cartegraph answers 503 */
	assert_int_equal(omt_faults(&t, "{\"fail_next\":{\"count\":1000,\"skip\":2,\"kind\":"
	                                "\"error\",\"status\":503},\"path_prefix\":"
	                                "\"/api/v1/classes\"}"),
	                 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_ACK, 7102), 1);
	snprintf(path, sizeof(path), "%s/state/oms/reconcile/last.json", t.root);
	assert_int_not_equal(stat(path, &sb), 0);
	assert_true(omt_log_has(&t, "event=reconcile-failed census=" CENSUS));
	assert_int_equal(omt_faults(&t, "{\"reset\":true}"), 0);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(omt_count(&t, "inbound", SPOOL_NEW, RECORD_RECONCILE, 0), 1);
	omt_teardown(&t);
}

/* Append text to the first line of file starting with prefix. */
static void damage_line(const char *file, const char *prefix, const char *text)
{
	char buf[8192], out[8300];
	FILE *f = fopen(file, "r");
	size_t n;
	char *at, *eol;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	at = strstr(buf, prefix);
	assert_non_null(at);
	eol = strchr(at, '\n');
	assert_non_null(eol);
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(eol - buf), buf, text, eol);
	f = fopen(file, "w");
	assert_non_null(f);
	assert_int_equal(fputs(out, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The census parts the half keeps are read field by field: a line with
 * something after its last field, or a "last" file with more than a
 * number, is refused by name and nothing is reconciled from it (it was
 * read as if the rest were not there). */
static void test_damaged_census_refused(void **state)
{
	struct omt t;
	char path[640], dir[512];
	struct stat sb;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 7201, 122, "Hole", NULL);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/state/oms/census/%s", t.root, CENSUS);
	census_part(&t, 1, 0, (const struct ent[]){{7201, "Open"}}, 1);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	snprintf(path, sizeof(path), "%s/part.000001", dir);
	damage_line(path, "I 7201 ", " 7");
	census_part(&t, 2, 1, (const struct ent[]){{7202, "Open"}}, 1);
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	snprintf(path, sizeof(path), "%s/state/oms/reconcile/last.json", t.root);
	assert_int_not_equal(stat(path, &sb), 0);
	assert_true(omt_log_has(&t, "event=reconcile-failed census=" CENSUS));
	assert_true(omt_log_has(&t, "part.000001: line 2: bad entry line"));

	/* the line put right, the "last" file damaged */
	snprintf(path, sizeof(path), "%s/part.000001", dir);
	{
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "sed -i 's/ 7$//' '%s' && printf '2x\\n' > '%s/last'",
		         path, dir);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(omt_run(&t, 0, NULL), 0);
	snprintf(path, sizeof(path), "%s/state/oms/reconcile/last.json", t.root);
	assert_int_not_equal(stat(path, &sb), 0);
	assert_true(omt_log_has(&t, "last: not a part number"));
	omt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_class),
	    cmocka_unit_test(test_outage_retries),
	    cmocka_unit_test(test_repair),
	    cmocka_unit_test(test_damaged_census_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
