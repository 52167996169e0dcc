/*
 * test_spool_cmd.c: `scfgate spool ...` on a real queue: JSON listings,
 * show with its verification verdict, stat with a gap, the operator
 * actions, and usage errors (exit 2, one line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "spool.h"
#include "unit/test_spool_util.h"
#include "unconst.h"

static char *root, *keys, pubpath[4200], otherpub[4200];

/* Run `spool ARGS...`, capturing stdout; returns the exit code. */
static int run(char **out, ...)
{
	char *argv[32], path[4300];
	int argc = 0, rc, fd, saved;
	va_list ap;

	argv[argc++] = UNCONST("spool"); /* cmd_spool only reads its argv */
	va_start(ap, out);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	snprintf(path, sizeof(path), "%s/stdout.txt", keys);
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	rc = cmd_spool(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	*out = tsu_read(path, NULL);
	return rc;
}

static void commit(int n)
{
	struct spool_producer *p;
	struct sig_key *k = tsu_load_priv(keys, "oms");
	struct err e;

	assert_int_equal(spool_producer_open(&p, root, "inbound", "oms", k, &e), ERR_OK);
	for (int i = 0; i < n; i++) {
		struct record *r = tsu_close_record(500 + i, 10);
		assert_int_equal(spool_commit(p, r, NULL, &e), ERR_OK);
		record_free(r);
	}
	spool_producer_free(p);
	sig_key_free(k);
}

static int setup(void **state)
{
	root = tsu_tmpdir("cmdspool");
	keys = tsu_tmpdir("cmdkeys");
	tsu_keygen(keys, "oms");
	tsu_keygen(keys, "other");
	snprintf(pubpath, sizeof(pubpath), "%s/oms.pub", keys);
	snprintf(otherpub, sizeof(otherpub), "%s/other.pub", keys);
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	tsu_rmrf(root);
	tsu_rmrf(keys);
	free(root);
	free(keys);
	(void)state;
	return 0;
}

static void test_ls_show_verify(void **state)
{
	char name[RECORD_NAME_MAX], *out;
	cJSON *j, *v;

	(void)state;
	commit(3);
	assert_int_equal(run(&out, "ls", "--root", root, "--queue", "inbound", "--json", NULL), 0);
	j = cJSON_Parse(out);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(j), 3);
	v = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 2), "seq");
	assert_int_equal((int)v->valuedouble, 3);
	cJSON_Delete(j);
	free(out);

	record_file_name(name, 2, "oms");
	assert_int_equal(
	    run(&out, "show", name, "--root", root, "--pubkey", pubpath, "--json", NULL), 0);
	j = cJSON_Parse(out);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "verification")->valuestring, "ok");
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "envelope"), "seq");
	assert_int_equal((int)v->valuedouble, 2);
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "close"), "oms_status");
	assert_string_equal(v->valuestring, "Closed");
	cJSON_Delete(j);
	free(out);
	/* The wrong key: shown, but marked and exit 1. */
	assert_int_equal(run(&out, "show", name, "--root", root, "--pubkey", otherpub, NULL), 1);
	assert_non_null(strstr(out, "verification: FAILED"));
	assert_non_null(strstr(out, "oms_status: Closed"));
	free(out);
	assert_int_equal(
	    run(&out, "verify", "--root", root, "--queue", "inbound", "--pubkey", pubpath, NULL),
	    0);
	assert_non_null(strstr(out, "ok "));
	free(out);
	assert_int_equal(
	    run(&out, "verify", "--root", root, "--queue", "inbound", "--pubkey", otherpub, NULL),
	    1);
	assert_non_null(strstr(out, "BAD"));
	free(out);
}

static void test_actions_and_stat(void **state)
{
	char n1[RECORD_NAME_MAX], n2[RECORD_NAME_MAX], *out;
	struct spool_consumer *c;
	struct spool_item *it;
	struct sig_key *pub;
	struct err e;
	cJSON *j, *g;

	(void)state;
	commit(3);
	record_file_name(n1, 1, "oms");
	record_file_name(n2, 2, "oms");
	/* Hold 1 and 2, then consume: 3 flows. */
	assert_int_equal(run(&out, "hold", n1, n2, "--root", root, "--queue", "inbound", NULL), 0);
	free(out);
	pub = tsu_load_pub(keys, "oms");
	assert_int_equal(spool_consumer_open(&c, root, "inbound", pub, NULL, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 3);
	assert_int_equal(spool_fail(c, it, &(struct spool_why){.reason = "test"}, &e), ERR_OK);
	assert_int_equal(run(&out, "stat", "--root", root, "--queue", "inbound", "--json", NULL),
	                 0);
	j = cJSON_Parse(out);
	assert_non_null(j);
	g = cJSON_GetArrayItem(j, 0);
	assert_int_equal(
	    (int)cJSON_GetObjectItem(cJSON_GetObjectItem(g, "depth"), "hold")->valuedouble, 2);
	assert_int_equal((int)cJSON_GetObjectItem(g, "failed")->valuedouble, 1);
	cJSON_Delete(j);
	free(out);
	assert_int_equal(run(&out, "release", n1, "--root", root, "--queue", "inbound", NULL), 0);
	free(out);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 1);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	record_file_name(n1, 3, "oms");
	assert_int_equal(run(&out, "retry", n1, "--root", root, "--queue", "inbound", NULL), 0);
	free(out);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 3);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(
	    run(&out, "skip", "--producer", "oms", "9", "--root", root, "--queue", "inbound", NULL),
	    0);
	free(out);
	spool_consumer_free(c);
	sig_key_free(pub);
}

/* A gap of several numbers: skip a range with --through, then the rest
 * with --gap; the consumer passes them and takes the next record. */
static void test_skip_range(void **state)
{
	struct spool_consumer *c;
	struct spool_item *it;
	struct sig_key *pub = tsu_load_pub(keys, "oms");
	char path[4300], name[RECORD_NAME_MAX], *out;
	struct err e;

	(void)state;
	commit(6);
	for (uint64_t s = 2; s <= 5; s++) {
		record_file_name(name, s, "oms");
		snprintf(path, sizeof(path), "%s/inbound/new/%s", root, name);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(spool_consumer_open(&c, root, "inbound", pub, NULL, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 1);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	assert_non_null(strstr(e.msg, "gap"));
	assert_int_equal(run(&out, "skip", "--producer", "oms", "2", "--through", "3", "--root",
	                     root, "--queue", "inbound", NULL),
	                 0);
	assert_non_null(strstr(out, "seq 2 through 3"));
	free(out);
	assert_int_equal(spool_claim(c, &it, &e), ERR_TEMP);
	assert_int_equal(spool_consumer_next_seq(c, "oms"), 4);
	assert_int_equal(run(&out, "skip", "--producer", "oms", "--gap", "--root", root, "--queue",
	                     "inbound", NULL),
	                 0);
	assert_non_null(strstr(out, "seq 4 through 5"));
	free(out);
	assert_int_equal(spool_claim(c, &it, &e), ERR_OK);
	assert_int_equal(it->rec->seq, 6);
	assert_int_equal(spool_complete(c, it, &e), ERR_OK);
	/* No gap left: --gap says so and fails. */
	assert_int_equal(run(&out, "skip", "--producer", "oms", "--gap", "--root", root, "--queue",
	                     "inbound", NULL),
	                 CLI_EXIT_FAIL);
	free(out);
	assert_int_equal(run(&out, "skip", "--producer", "oms", "5", "--through", "4", "--root",
	                     root, "--queue", "inbound", NULL),
	                 CLI_EXIT_USAGE);
	free(out);
	assert_int_equal(run(&out, "skip", "--gap", "--root", root, "--queue", "inbound", NULL),
	                 CLI_EXIT_USAGE);
	free(out);
	spool_consumer_free(c);
	sig_key_free(pub);
}

static void test_usage(void **state)
{
	char *out;

	(void)state;
	commit(1); /* a spool root, so what is judged is the usage */
	assert_int_equal(run(&out, "ls", NULL), CLI_EXIT_USAGE);
	free(out);
	assert_int_equal(run(&out, "hold", "x", "--root", root, NULL), CLI_EXIT_USAGE);
	free(out);
	assert_int_equal(run(&out, "ls", "--root", root, "--bogus", NULL), CLI_EXIT_USAGE);
	free(out);
	assert_int_equal(run(&out, "skip", "--root", root, "--queue", "inbound", "nope", NULL),
	                 CLI_EXIT_USAGE);
	free(out);
	assert_int_equal(run(&out, "hold", "../x", "--root", root, "--queue", "inbound", NULL),
	                 CLI_EXIT_FAIL);
	free(out);
	assert_int_equal(run(&out, "ls", "--help", NULL), CLI_EXIT_OK);
	assert_non_null(strstr(out, "usage: scfgate spool"));
	free(out);
}

/* A mistyped --root fails with the reason instead of printing an empty
 * listing, stat or verify and exiting 0. */
static void test_not_a_spool_root(void **state)
{
	static const char *const subs[][3] = {
	    {"ls", NULL, NULL}, {"stat", "--json", NULL}, {"verify", "--pubkey", NULL}};
	char wrong[4200];
	char *out;

	(void)state;
	commit(1);
	snprintf(wrong, sizeof(wrong), "%s/spooll", root);
	assert_int_equal(mkdir(wrong, 0700), 0);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		const char *extra =
		    subs[i][1] && strcmp(subs[i][1], "--pubkey") == 0 ? pubpath : NULL;

		assert_int_equal(
		    run(&out, subs[i][0], "--root", wrong, subs[i][1], extra, (char *)NULL),
		    CLI_EXIT_FAIL);
		assert_string_equal(out, "");
		free(out);
	}
	/* the right root still works */
	assert_int_equal(run(&out, "ls", "--root", root, NULL), CLI_EXIT_OK);
	assert_non_null(strstr(out, "-oms.xml"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ls_show_verify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_actions_and_stat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_skip_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_spool_root, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
