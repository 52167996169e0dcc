/*
 * test_oms_comments.c: where later SCF comments land, per comment route,
 * with `scfgate oms` against the real oms-sim, and what happens to a
 * crew's note written in Cartegraph between the gateway's read and its
 * write (the simulator's note-race hook writes it right before the next
 * API write is applied).
 *
 *   - route field (default) and route child: the crew's NotesField text
 *     and every resident comment survive.
 *   - route notes: the note written in the window is overwritten (no
 *     conditional update exists); the append is logged and counted.
 *   - every route costs one read per comment.
 * And oms-sim's part: the comment child class in the class meta, and the
 * note race (armed, fired once, by a write only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_oms_util.h"

#define CHILD_CLASS "cgRequests_cgCommentsClass"
#define CHILD_FIELD "CommentField"

/* The bench of the running test: static, so the group's teardown stops
 * its simulator even when an assertion ends the test early. */
static struct omt T;

static const char *const child_sim[] = {"--comment-class", CHILD_CLASS ":" CHILD_FIELD, NULL};

static const char *text_of(const cJSON *row, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t oid_of(const cJSON *row)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "Oid");

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static cJSON *admin(struct omt *t, const char *method, const char *path, const char *body)
{
	char url[256];
	long st = 0;
	cJSON *j;

	snprintf(url, sizeof(url), "%s%s", t->sim.base, path);
	j = http_json(method, url, NULL, body, &st);
	if (st < 200 || st > 299)
		fail_msg("%s %s: status %ld", method, path, st);
	return j;
}

/* A request for issue with a crew's note already in NotesField. */
static int64_t request_with_crew_note(struct omt *t, int64_t issue)
{
	cJSON *st;
	int n = 0;
	int64_t oid;

	assert_true(omt_issue(t, issue, 122, "Hole by the library", NULL) > 0);
	assert_int_equal(omt_run(t, 0, NULL), 0);
	st = omt_state(t);
	oid = oid_of(omt_request_for(st, issue, &n));
	cJSON_Delete(st);
	assert_int_equal(n, 1);
	assert_int_equal(omt_note(t, oid, "Crew: cones placed"), 0);
	return oid;
}

/* Arm the crew's note that lands between the gateway's read and write. */
static void arm_race(struct omt *t, int64_t oid)
{
	char path[96];

	snprintf(path, sizeof(path), "/_admin/requests/%lld/note-race", (long long)oid);
	cJSON_Delete(admin(t, "POST", path, "{\"text\": \"Crew: trench dug, back Monday\"}"));
}

static int race_fired(cJSON *state)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(state, "note_race");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(r, "fired");

	return cJSON_IsNumber(f) ? f->valueint : -1;
}

/* Run `scfgate oms --once --json`; the JSON counters (caller frees). */
static cJSON *run_json(struct omt *t)
{
	char cmd[1024], out[4096];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' oms --config '%s' --once --json 2>>'%s'",
	         sim_bin("SCFGATE_BIN"), t->config, t->log);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	return cJSON_Parse(out);
}

static int count_of(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* The comment children of a request (route child). */
static size_t children_with(cJSON *state, int64_t oid, const char *marker, size_t *all)
{
	const cJSON *recs = cJSON_GetObjectItemCaseSensitive(state, "records");
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(recs, CHILD_CLASS), *row;
	size_t n = 0;

	*all = 0;
	cJSON_ArrayForEach(row, rows)
	{
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(row, "_parent");
		if (!cJSON_IsNumber(p) || (int64_t)p->valuedouble != oid)
			continue;
		(*all)++;
		n += omt_occurrences(text_of(row, CHILD_FIELD), marker);
	}
	return n;
}

/* Route field (the default, no <comments> element): the comments go to
 * CommentsField; the crew's notes, the one written in the window
 * included, are all kept. */
static void test_route_field_keeps_crew_note(void **state)
{
	cJSON *st, *row;
	const char *notes, *comments;
	int64_t oid;
	int n;

	(void)state;
	assert_int_equal(omt_setup(&T, NULL, NULL), 0);
	oid = request_with_crew_note(&T, 8001);
	arm_race(&T, oid);
	omt_comment(&T, 8001, "9001", "Still there");
	omt_comment(&T, 8001, "9002", "Getting worse");
	assert_int_equal(omt_run(&T, 0, NULL), 0);
	/* A repeat (a crash after the write) appends nothing. */
	omt_comment(&T, 8001, "9001", "Still there");
	assert_int_equal(omt_run(&T, 0, NULL), 0);

	st = omt_state(&T);
	assert_int_equal(race_fired(st), 1);
	row = omt_request_for(st, 8001, &n);
	notes = text_of(row, "NotesField");
	comments = text_of(row, "CommentsField");
	assert_non_null(notes);
	assert_string_equal(notes, "Crew: cones placed\nCrew: trench dug, back Monday");
	assert_non_null(comments);
	assert_int_equal(omt_occurrences(comments, "[scf-comment 9001]"), 1);
	assert_int_equal(omt_occurrences(comments, "[scf-comment 9002]"), 1);
	assert_true(strstr(comments, "9001") < strstr(comments, "9002"));
	cJSON_Delete(st);
	assert_true(omt_log_has(&T, "effect=note issue=8001"));
	assert_true(omt_log_has(&T, "route=field field=cgRequestsClass.CommentsField"));
	assert_false(omt_log_has(&T, "route=notes"));
	omt_teardown(&T);
}

/* Route child: one child record per comment, never a write to the
 * request, so the crew's notes are all kept; a repeat is found by its
 * marker in the listed children. */
static void test_route_child_keeps_crew_note(void **state)
{
	cJSON *st, *row;
	size_t all = 0;
	int64_t oid;
	int n;

	(void)state;
	assert_int_equal(omt_setup(&T, child_sim,
	                           "<comments route=\"child\" class=\"" CHILD_CLASS
	                           "\" textField=\"" CHILD_FIELD "\"/>"),
	                 0);
	oid = request_with_crew_note(&T, 8101);
	arm_race(&T, oid);
	omt_comment(&T, 8101, "9101", "Still there");
	omt_comment(&T, 8101, "9102", "Getting worse");
	assert_int_equal(omt_run(&T, 0, NULL), 0);
	omt_comment(&T, 8101, "9101", "Still there");
	assert_int_equal(omt_run(&T, 0, NULL), 0);

	st = omt_state(&T);
	assert_int_equal(race_fired(st), 1);
	row = omt_request_for(st, 8101, &n);
	assert_string_equal(text_of(row, "NotesField"),
	                    "Crew: cones placed\nCrew: trench dug, back Monday");
	assert_null(text_of(row, "CommentsField"));
	assert_int_equal(children_with(st, oid, "[scf-comment 9101]", &all), 1);
	assert_int_equal(children_with(st, oid, "[scf-comment 9102]", &all), 1);
	assert_int_equal(all, 2);
	cJSON_Delete(st);
	assert_true(omt_log_has(&T, "route=child field=" CHILD_CLASS "." CHILD_FIELD));
	omt_teardown(&T);
}

/* Route notes: what remains.  The note written between the one read and
 * the PUT is overwritten (Cartegraph has no conditional update); the
 * resident comments and the earlier crew note are kept, and each append
 * is logged with issue, oid and comment, and counted. */
static void test_route_notes_loses_note_in_window(void **state)
{
	cJSON *st, *row, *j;
	const char *notes;
	char line[160];
	int64_t oid;
	int n;

	(void)state;
	assert_int_equal(omt_setup(&T, NULL, "<comments route=\"notes\"/>"), 0);
	oid = request_with_crew_note(&T, 8201);
	arm_race(&T, oid);
	omt_comment(&T, 8201, "9201", "Still there");
	omt_comment(&T, 8201, "9202", "Getting worse");
	j = run_json(&T);
	assert_non_null(j);
	assert_int_equal(count_of(j, "applied"), 2);
	assert_int_equal(count_of(j, "notes_appends"), 2);
	cJSON_Delete(j);

	st = omt_state(&T);
	assert_int_equal(race_fired(st), 1);
	row = omt_request_for(st, 8201, &n);
	notes = text_of(row, "NotesField");
	assert_non_null(notes);
	assert_non_null(strstr(notes, "Crew: cones placed"));
	assert_int_equal(omt_occurrences(notes, "[scf-comment 9201]"), 1);
	assert_int_equal(omt_occurrences(notes, "[scf-comment 9202]"), 1);
	/* The remaining risk of this route, as documented: lost. */
	assert_null(strstr(notes, "Crew: trench dug"));
	cJSON_Delete(st);
	snprintf(line, sizeof(line),
	         "effect=note issue=8201 oid=%lld comment=9201 route=notes field=NotesField "
	         "window_ms=",
	         (long long)oid);
	assert_true(omt_log_has(&T, line));
	snprintf(line, sizeof(line), "effect=note issue=8201 oid=%lld comment=9202 route=notes",
	         (long long)oid);
	assert_true(omt_log_has(&T, line));

	/* A repeat is recognised by its marker: no append, nothing counted. */
	omt_comment(&T, 8201, "9201", "Still there");
	j = run_json(&T);
	assert_int_equal(count_of(j, "applied"), 1);
	assert_int_equal(count_of(j, "notes_appends"), 0);
	cJSON_Delete(j);
	omt_teardown(&T);
}

/* GETs the simulator served on route since its stats were zeroed. */
static int served(struct omt *t, const char *route)
{
	cJSON *s = admin(t, "GET", "/_admin/stats", NULL);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(s, "by_route"), route);
	int n = cJSON_IsNumber(v) ? v->valueint : 0;

	cJSON_Delete(s);
	return n;
}

/* Reads and writes three comments cost, beyond a pass with nothing to
 * forward (its poll). */
static void calls_per_comment(const char *const sim_args[], const char *cg_extra,
                              const char *read_route, const char *write_route)
{
	int base_reads, base_writes;

	assert_int_equal(omt_setup(&T, sim_args, cg_extra), 0);
	request_with_crew_note(&T, 8301);
	cJSON_Delete(admin(&T, "DELETE", "/_admin/stats", NULL));
	assert_int_equal(omt_run(&T, 0, NULL), 0);
	base_reads = served(&T, read_route);
	base_writes = served(&T, write_route);
	cJSON_Delete(admin(&T, "DELETE", "/_admin/stats", NULL));
	omt_comment(&T, 8301, "9301", "one");
	omt_comment(&T, 8301, "9302", "two");
	omt_comment(&T, 8301, "9303", "three");
	assert_int_equal(omt_run(&T, 0, NULL), 0);
	assert_int_equal(served(&T, read_route) - base_reads, 3);
	assert_int_equal(served(&T, write_route) - base_writes, 3);
	omt_teardown(&T);
}

static void test_one_read_per_comment(void **state)
{
	(void)state;
	calls_per_comment(NULL, "<comments route=\"notes\"/>", "GET /api/v1/classes/:class",
	                  "PUT /api/v1/classes/:class");
	calls_per_comment(NULL, NULL, "GET /api/v1/classes/:class", "PUT /api/v1/classes/:class");
	calls_per_comment(
	    child_sim,
	    "<comments route=\"child\" class=\"" CHILD_CLASS "\" textField=\"" CHILD_FIELD "\"/>",
	    "GET /api/v1/classes/:class/:oid/:child", "POST /api/v1/classes/:class/:oid/:child");
}

/* oms-sim's side of it: the comment class is a child of the request
 * class in the meta, with its own meta; the note race needs a known field
 * and writes its note once, right before the next write. */
static void test_sim_comment_class_and_race(void **state)
{
	static const char *const auth[] = {"Authorization: Basic c2NmZ2F0ZTpzY2ZnYXRlLXBhc3M=",
	                                   "Content-Type: application/json", NULL};
	const cJSON *cls, *p, *ch;
	char url[512], path[128], body[256];
	cJSON *j, *st, *row;
	int children = 0, text_field = 0, n = 0;
	long status = 0;
	int64_t oid;

	(void)state;
	assert_int_equal(omt_setup(&T, child_sim, NULL), 0);
	snprintf(url, sizeof(url), "%s/api/v1/meta/Classes/cgRequestsClass", T.sim.base);
	j = http_json("GET", url, auth, NULL, &status);
	assert_int_equal(status, 200);
	cls = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "Classes"), 0);
	cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(cls, "Children"))
	{
		children += cJSON_IsString(ch) && strcmp(ch->valuestring, CHILD_CLASS) == 0;
	}
	assert_int_equal(children, 1);
	cJSON_Delete(j);
	snprintf(url, sizeof(url), "%s/api/v1/meta/Classes/" CHILD_CLASS, T.sim.base);
	j = http_json("GET", url, auth, NULL, &status);
	assert_int_equal(status, 200);
	cls = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "Classes"), 0);
	assert_string_equal(text_of(cls, "Name"), CHILD_CLASS);
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(cls, "Properties"))
	{
		if (text_of(p, "Name") && strcmp(text_of(p, "Name"), CHILD_FIELD) == 0)
			text_field =
			    text_of(p, "DataType") &&
			    strcmp(text_of(p, "DataType"), "String") == 0 &&
			    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "IsReadOnly"));
	}
	assert_true(text_field);
	cJSON_Delete(j);

	oid = request_with_crew_note(&T, 8401);
	/* An unknown field is refused; nothing is armed. */
	snprintf(url, sizeof(url), "%s/_admin/requests/%lld/note-race", T.sim.base, (long long)oid);
	cJSON_Delete(
	    http_json("POST", url, NULL, "{\"text\": \"x\", \"field\": \"NoField\"}", &status));
	assert_int_equal(status, 400);
	arm_race(&T, oid);
	st = omt_state(&T);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(st, "note_race"), "armed")));
	assert_int_equal(race_fired(st), 0);
	cJSON_Delete(st);
	/* Reads do not fire it; the first write does, once. */
	snprintf(url, sizeof(url), "%s/api/v1/classes/cgRequestsClass/%lld", T.sim.base,
	         (long long)oid);
	cJSON_Delete(http_json("GET", url, auth, NULL, &status));
	assert_int_equal(status, 200);
	snprintf(path, sizeof(path), "%s/api/v1/classes/cgRequestsClass", T.sim.base);
	for (int i = 0; i < 2; i++) {
		snprintf(body, sizeof(body),
		         "{\"cgRequestsClass\":[{\"Oid\":%lld,\"TasksField\":%d}]}", (long long)oid,
		         i + 1);
		cJSON_Delete(http_json("PUT", path, auth, body, &status));
		assert_int_equal(status, 200);
	}
	st = omt_state(&T);
	assert_int_equal(race_fired(st), 1);
	row = omt_request_for(st, 8401, &n);
	assert_string_equal(text_of(row, "NotesField"),
	                    "Crew: cones placed\nCrew: trench dug, back Monday");
	cJSON_Delete(st);
	omt_teardown(&T);
}

static int stop_bench(void **state)
{
	(void)state;
	if (T.sim.pid > 0 || T.dir[0])
		omt_teardown(&T);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_sim_comment_class_and_race, stop_bench),
	    cmocka_unit_test_teardown(test_route_field_keeps_crew_note, stop_bench),
	    cmocka_unit_test_teardown(test_route_child_keeps_crew_note, stop_bench),
	    cmocka_unit_test_teardown(test_route_notes_loses_note_in_window, stop_bench),
	    cmocka_unit_test_teardown(test_one_read_per_comment, stop_bench),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
