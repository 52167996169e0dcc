/*
 * test_oms_meta.c: the field map against the class metadata, with the
 * real oms-sim and scf-sim: a misspelled field stops `scfgate oms` at
 * start and fails `scfgate config check --online`, both naming the line
 * and the right name; a good configuration passes --online for both
 * halves; wrong credentials and an unknown remoteId are findings; the
 * cached metadata is used when Cartegraph cannot be reached; a 400 that
 * names a field re-reads the metadata.
 *
 * Environment: OMS_SIM_BIN, SCF_SIM_BIN, SCFGATE_BIN, SCFGATE_SOURCE_DIR.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_oms_util.h"

static const char *const fast[] = {"--retry-ms", "50", NULL};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n)
		s[0] = '\0';
	fclose(f);
	return s;
}

static void spit(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

/* Replace the first `from` in the configuration file by `to`. */
static void edit_config(const char *path, const char *from, const char *to)
{
	char *text = slurp(path), *at = strstr(text, from), *out;

	assert_non_null(at);
	out = malloc(strlen(text) + strlen(to) + 1);
	snprintf(out, strlen(text) + strlen(to) + 1, "%.*s%s%s", (int)(at - text), text, to,
	         at + strlen(from));
	spit(path, out, 0640);
	free(text);
	free(out);
}

/* The 1-based line of the first line containing s. */
static unsigned line_of(const char *path, const char *s)
{
	char *text = slurp(path), *at = strstr(text, s);
	unsigned line = 1;

	assert_non_null(at);
	for (char *p = text; p < at; p++)
		line += *p == '\n';
	free(text);
	return line;
}

struct out {
	int rc;
	char *out, *err;
};

/* scfgate config check FILE --online; stdout and stderr captured. */
static void check_online(const char *dir, const char *config, struct out *o)
{
	const char *bin = sim_bin("SCFGATE_BIN");
	char po[512], pe[512];
	int status;
	pid_t pid;

	snprintf(po, sizeof(po), "%s/online.out", dir);
	snprintf(pe, sizeof(pe), "%s/online.err", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0640);
		int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0640);
		dup2(fo, 1);
		dup2(fe, 2);
		execl(bin, bin, "config", "check", config, "--online", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	o->rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	o->out = slurp(po);
	o->err = slurp(pe);
}

static void out_free(struct out *o)
{
	free(o->out);
	free(o->err);
}

static int admin(struct omt *t, const char *path, const char *body)
{
	char url[256];
	struct http_resp r;
	int ok;

	snprintf(url, sizeof(url), "%s%s", t->sim.base, path);
	http_do("POST", url, NULL, body, 5000, &r);
	ok = r.status == 200 ? 0 : -1;
	http_resp_release(&r);
	return ok;
}

static size_t requests_in_sim(struct omt *t)
{
	cJSON *st = omt_state(t);
	size_t n = (size_t)cJSON_GetArraySize(omt_requests(st));

	cJSON_Delete(st);
	return n;
}

static int has_cache(struct omt *t)
{
	char dir[600];
	struct dirent *d;
	DIR *dp;
	int found = 0;

	snprintf(dir, sizeof(dir), "%s/state/oms", t->root);
	dp = opendir(dir);
	while (dp && (d = readdir(dp)))
		found |= strncmp(d->d_name, "cgmeta.", 7) == 0;
	if (dp)
		closedir(dp);
	return found;
}

static const char *const dept_sim[] = {"--extra-fields", "SCFIssueIDField,DepartmentField", NULL};

/* The issue's example: DepartmentFeild for DepartmentField. */
static void test_misspelled_field(void **state)
{
	struct omt t;
	struct spool_stats st;
	struct out o;
	char want[512];
	unsigned line;

	(void)state;
	assert_int_equal(omt_setup(&t, dept_sim, NULL), 0);
	edit_config(t.config, "</closingMessage>\n",
	            "</closingMessage>\n"
	            "      <customField field=\"DepartmentFeild\" value=\"Streets\"/>\n");
	line = line_of(t.config, "DepartmentFeild");
	snprintf(want, sizeof(want),
	         "%s:%u: customField: field 'DepartmentFeild' does not exist on class "
	         "cgRequestsClass (did you mean 'DepartmentField'?)",
	         t.config, line);
	omt_issue(&t, 500, 122, "a hole", NULL);

	/* the half refuses to start, and sends nothing */
	assert_int_equal(omt_run(&t, 0, fast), 1);
	assert_true(omt_log_has(&t, want));
	assert_true(omt_log_has(&t, "event=field-map-problem"));
	assert_false(omt_log_has(&t, "event=meta-reread")); /* at start, not after a 400 */
	assert_int_equal(requests_in_sim(&t), 0);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_NEW], 1);
	assert_int_equal(st.count[SPOOL_FAILED], 0);

	/* config check --online says the same */
	check_online(t.dir, t.config, &o);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.err, want));
	assert_non_null(strstr(o.err, "1 finding online"));
	out_free(&o);

	/* fixed: it starts and creates the request */
	edit_config(t.config, "DepartmentFeild", "DepartmentField");
	assert_int_equal(omt_run(&t, 0, fast), 0);
	assert_int_equal(requests_in_sim(&t), 1);
	check_online(t.dir, t.config, &o);
	assert_int_equal(o.rc, 0);
	out_free(&o);
	omt_teardown(&t);
}

/* A good configuration passes --online; what it learned is printed. */
static void test_online_good_oms(void **state)
{
	struct omt t;
	struct out o;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	check_online(t.dir, t.config, &o);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "oms: class cgRequestsClass read (1 children)"));
	assert_non_null(strstr(o.out, "oms: 2 of 2 remoteIds are active values of "
	                              "cgRequestIssuesClass"));
	assert_non_null(strstr(o.err, "ok online (oms half)"));
	out_free(&o);
	omt_teardown(&t);

	/* the same through a session log-in */
	setenv("OMT_AUTH", "session", 1);
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	unsetenv("OMT_AUTH");
	check_online(t.dir, t.config, &o);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "oms: 2 of 2 remoteIds are active values"));
	out_free(&o);
	omt_teardown(&t);
}

/* Wrong credentials: one finding that names the file, never its content;
 * an unknown and an inactive remoteId: one finding each with the line. */
static void test_online_findings_oms(void **state)
{
	struct omt t;
	struct out o;
	char want[512];

	(void)state;
	setenv("OMT_CRED", "scfgate:not-the-password\n", 1);
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	unsetenv("OMT_CRED");
	check_online(t.dir, t.config, &o);
	assert_int_equal(o.rc, 1);
	snprintf(want, sizeof(want), "Cartegraph refused the credentials in %s/cg.cred (HTTP 401)",
	         t.dir);
	assert_non_null(strstr(o.err, want));
	assert_null(strstr(o.err, "not-the-password"));
	assert_null(strstr(o.out, "not-the-password"));
	out_free(&o);
	omt_teardown(&t);

	/* a refused session log-in: the same finding */
	setenv("OMT_CRED", "scfgate:not-the-password\n", 1);
	setenv("OMT_AUTH", "session", 1);
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	unsetenv("OMT_CRED");
	unsetenv("OMT_AUTH");
	check_online(t.dir, t.config, &o);
	assert_int_equal(o.rc, 1);
	snprintf(want, sizeof(want), "Cartegraph refused the credentials in %s/cg.cred (HTTP 401)",
	         t.dir);
	assert_non_null(strstr(o.err, want));
	assert_null(strstr(o.err, "not-the-password"));
	out_free(&o);
	omt_teardown(&t);

	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	edit_config(t.config, "remoteId=\"Street Light\"", "remoteId=\"Street Lamp\"");
	edit_config(t.config, "remoteId=\"Pothole\"", "remoteId=\"Retired Type\"");
	check_online(t.dir, t.config, &o);
	assert_int_equal(o.rc, 1);
	snprintf(want, sizeof(want),
	         "%s:%u: requestType: remoteId 'Street Lamp' is not a value of "
	         "cgRequestIssuesClass (the lookup library of IssueField)",
	         t.config, line_of(t.config, "Street Lamp"));
	assert_non_null(strstr(o.err, want));
	snprintf(want, sizeof(want),
	         "%s:%u: requestType: remoteId 'Retired Type' is inactive in cgRequestIssuesClass",
	         t.config, line_of(t.config, "Retired Type"));
	assert_non_null(strstr(o.err, want));
	assert_non_null(strstr(o.err, "2 findings online"));
	out_free(&o);
	omt_teardown(&t);
}

/* ---- SCF half ------------------------------------------------------------ */

static void scf_config(const char *dir, const struct simproc *sim, const char *types,
                       const char *token, char *path, size_t size)
{
	const char *src = getenv("SCFGATE_SOURCE_DIR") ? getenv("SCFGATE_SOURCE_DIR") : ".";
	char text[4096], tok[600];

	snprintf(tok, sizeof(tok), "%s/scf.token", dir);
	spit(tok, token, 0600);
	/* the half refuses a private key others may read: a 0600 copy */
	{
		struct buf key = BUF_INIT_CAP(4096);
		char from[600], to[600];

		snprintf(from, sizeof(from), "%s/tests/data/keys/test-scf.key", src);
		snprintf(to, sizeof(to), "%s/scf.key", dir);
		assert_int_equal(buf_read_file(&key, from, NULL), ERR_OK);
		spit(to, buf_str(&key), 0600);
		buf_release(&key);
	}
	snprintf(path, size, "%s/scf.xml", dir);
	snprintf(text, sizeof(text),
	         "<?xml version=\"1.0\"?>\n"
	         "<scfgate half=\"scf\">\n"
	         "  <spool>\n"
	         "    <root>%s/spool</root>\n"
	         "    <producer>scf</producer>\n"
	         "    <privateKey>%s/scf.key</privateKey>\n"
	         "    <peerPublicKey>%s/tests/data/keys/test-oms.pub</peerPublicKey>\n"
	         "  </spool>\n"
	         "  <scf>\n"
	         "    <baseUrl>%s/api/v2</baseUrl>\n"
	         "    <organization>1102</organization>\n"
	         "    <credentials>%s</credentials>\n"
	         "    <ratePerMinute>600</ratePerMinute>\n"
	         "  </scf>\n"
	         "  <requestTypes>\n%s  </requestTypes>\n"
	         "</scfgate>\n",
	         dir, dir, src, sim->base, tok, types);
	spit(path, text, 0640);
}

static void test_online_scf(void **state)
{
	struct simproc sim;
	char dir[] = "/tmp/omtscf.XXXXXX", cfg[600], want[700], cmd[700];
	static const char *const args[] = {"--quiet", NULL};
	struct out o;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cfg, sizeof(cfg), "%s/spool", dir);
	assert_int_equal(mkdir(cfg, 0750), 0);
	assert_int_equal(simproc_start(&sim, sim_bin("SCF_SIM_BIN"), args), 0);

	scf_config(dir, &sim,
	           "    <requestType id=\"9101\" remoteId=\"Pothole\"/>\n"
	           "    <requestType id=\"9102\" remoteId=\"Graffiti\"/>\n",
	           "scf-sim-token\n", cfg, sizeof(cfg));
	check_online(dir, cfg, &o);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "scf: authenticated as user 7000001 (City Integration)"));
	assert_non_null(strstr(o.out, "scf: organization 1102 (City of Springfield)"));
	assert_non_null(strstr(o.out, "scf: 2 of 2 mapped request types exist"));
	assert_non_null(strstr(o.err, "ok online (scf half)"));
	out_free(&o);

	/* an unknown SCF request type */
	scf_config(dir, &sim,
	           "    <requestType id=\"9101\" remoteId=\"Pothole\"/>\n"
	           "    <requestType id=\"4242\" remoteId=\"Pothole\"/>\n",
	           "scf-sim-token\n", cfg, sizeof(cfg));
	check_online(dir, cfg, &o);
	assert_int_equal(o.rc, 1);
	snprintf(want, sizeof(want),
	         "%s:%u: requestType: SCF request type 4242 is not one of the organization's "
	         "request types",
	         cfg, line_of(cfg, "4242"));
	assert_non_null(strstr(o.err, want));
	out_free(&o);

	/* a wrong token: a finding naming the file, not the token */
	scf_config(dir, &sim, "    <requestType id=\"9101\" remoteId=\"Pothole\"/>\n",
	           "stale-token-123\n", cfg, sizeof(cfg));
	check_online(dir, cfg, &o);
	assert_int_equal(o.rc, 1);
	snprintf(want, sizeof(want),
	         "SeeClickFix refused the credentials in %s/scf.token (HTTP 401)", dir);
	assert_non_null(strstr(o.err, want));
	assert_null(strstr(o.err, "stale-token-123"));
	assert_null(strstr(o.out, "stale-token-123"));
	out_free(&o);

	simproc_stop(&sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- cache and re-read ------------------------------------------------------ */

/* Cartegraph's metadata unreachable at start: the cached copy is used and
 * the log says so; without a cache the half starts and checks later. */
static void test_cache(void **state)
{
	struct omt t;
	struct spool_stats st;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	assert_int_equal(omt_faults(&t, "{\"maintenance\":true,\"path_prefix\":\"/api/v1/meta\"}"),
	                 0);
	omt_issue(&t, 600, 122, "first", NULL);
	assert_int_equal(omt_run(&t, 0, fast), 0);
	assert_true(omt_log_has(&t, "event=meta-unchecked"));
	assert_false(has_cache(&t));
	assert_int_equal(requests_in_sim(&t), 1);

	assert_int_equal(omt_faults(&t, "{\"maintenance\":false}"), 0);
	omt_issue(&t, 601, 122, "second", NULL);
	assert_int_equal(omt_run(&t, 0, fast), 0);
	assert_true(omt_log_has(&t, "event=field-map-checked source=cartegraph"));
	assert_true(has_cache(&t));

	assert_int_equal(omt_faults(&t, "{\"maintenance\":true,\"path_prefix\":\"/api/v1/meta\"}"),
	                 0);
	omt_issue(&t, 602, 122, "third", NULL);
	assert_int_equal(omt_run(&t, 0, fast), 0);
	assert_true(omt_log_has(&t, "event=meta-from-cache"));
	assert_true(omt_log_has(&t, "event=field-map-checked source=cached"));
	assert_int_equal(requests_in_sim(&t), 3);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_DONE], 3);
	omt_teardown(&t);
}

/* A field removed while the cache still has it: the create's 400 names
 * it, the metadata is read again, the check now fails and the half stops
 * with the finding; the record is not failed. */
static void test_reread_stops(void **state)
{
	struct omt t;
	struct spool_stats st;
	char want[512];

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	assert_int_equal(omt_run(&t, 0, fast), 0); /* reads and caches the metadata */
	assert_true(has_cache(&t));
	assert_int_equal(admin(&t, "/_admin/fields/remove",
	                       "{\"class\":\"cgRequestsClass\",\"field\":\"DescriptionField\"}"),
	                 0);
	/* The start's read (2 attempts) fails: the cached copy is checked;
	 * the read after the 400 gets through. */
	assert_int_equal(omt_faults(&t, "{\"fail_next\":{\"count\":2,\"kind\":\"error\","
	                                "\"status\":503},\"path_prefix\":\"/api/v1/meta\"}"),
	                 0);
	omt_issue(&t, 700, 122, "a hole", NULL);
	assert_int_equal(omt_run(&t, 0, fast), 1);
	assert_true(omt_log_has(&t, "event=meta-from-cache"));
	assert_true(omt_log_has(&t, "event=meta-reread why=\"Cartegraph refused field "
	                            "DescriptionField\""));
	snprintf(want, sizeof(want),
	         "%s:%u: description: field 'DescriptionField' (the default name) does not exist "
	         "on class cgRequestsClass",
	         t.config, line_of(t.config, "<fields>"));
	assert_true(omt_log_has(&t, want));
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_FAILED], 0);
	assert_int_equal(st.count[SPOOL_NEW], 1);
	omt_teardown(&t);
}

/* The same from the poll: a field the poll asks for is gone. */
static void test_reread_poll(void **state)
{
	struct omt t;
	char want[512];

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	omt_issue(&t, 750, 122, "a hole", NULL);
	assert_int_equal(omt_run(&t, 0, fast), 0); /* created, metadata cached */
	assert_int_equal(requests_in_sim(&t), 1);
	assert_int_equal(admin(&t, "/_admin/fields/remove",
	                       "{\"class\":\"cgRequestsClass\",\"field\":\"StatusField\"}"),
	                 0);
	assert_int_equal(omt_faults(&t, "{\"fail_next\":{\"count\":2,\"kind\":\"error\","
	                                "\"status\":503},\"path_prefix\":\"/api/v1/meta\"}"),
	                 0);
	assert_int_equal(omt_run(&t, 0, fast), 1);
	assert_true(omt_log_has(&t, "event=meta-reread why=\"Cartegraph refused field "
	                            "StatusField\""));
	snprintf(want, sizeof(want),
	         "%s:%u: status: field 'StatusField' (the default name) does not exist on class "
	         "cgRequestsClass",
	         t.config, line_of(t.config, "<fields>"));
	assert_true(omt_log_has(&t, want));
	omt_teardown(&t);
}

/* A 400 naming a field the metadata still lists (field security): the
 * metadata is read again once, the check passes, the records fail as
 * before and the half goes on. */
static void test_reread_passes(void **state)
{
	struct omt t;
	struct spool_stats st;

	(void)state;
	assert_int_equal(omt_setup(&t, NULL, NULL), 0);
	assert_int_equal(admin(&t, "/_admin/fields/remove",
	                       "{\"class\":\"cgRequestsClass\",\"field\":\"DescriptionField\","
	                       "\"writes_only\":true}"),
	                 0);
	omt_issue(&t, 800, 122, "one", NULL);
	omt_issue(&t, 801, 122, "two", NULL);
	assert_int_equal(omt_run(&t, 0, fast), 0);
	assert_int_equal(spool_stats(t.root, "outbound", 0, &st, NULL), ERR_OK);
	assert_int_equal(st.count[SPOOL_FAILED], 2);
	assert_int_equal(st.count[SPOOL_NEW], 0);
	assert_true(omt_log_has(&t, "event=meta-reread why=\"Cartegraph refused field "
	                            "DescriptionField\""));
	/* one re-read for both (at most one a minute) */
	{
		char *log = slurp(t.log);
		assert_int_equal(omt_occurrences(log, "event=meta-reread "), 1);
		assert_int_equal(omt_occurrences(log, "event=field-map-checked source=cartegraph"),
		                 2);
		free(log);
	}
	assert_false(omt_log_has(&t, "event=field-map-problem"));
	omt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_misspelled_field),
	    cmocka_unit_test(test_online_good_oms),
	    cmocka_unit_test(test_online_findings_oms),
	    cmocka_unit_test(test_online_scf),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_reread_stops),
	    cmocka_unit_test(test_reread_poll),
	    cmocka_unit_test(test_reread_passes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
