/*
 * import_crash.c: SIGKILL `scfgate bundle import` at random moments.
 *
 *   import_crash SCFGATE WORKDIR [ROUNDS]    (default 25; SCFGATE_CRASH_ROUNDS
 *                                             and SCFGATE_CRASH_SEED as in
 *                                             crash_env.h)
 *
 * A bundle of 2,000 close records (several flushes of 512; in inbound,
 * where that kind belongs) is imported into a
 * scratch spool, and the real binary is killed at a random moment of its
 * first pass, its staging or its flushes; every fifth round starts from
 * an empty spool again.  After every kill, each file in new/ must be a
 * record of the bundle with exactly its bytes (nothing torn, nothing
 * foreign).  At the end an import that runs to completion must leave all
 * 2,000 in new/, each once and byte for byte, and must report every one
 * either imported or already present.  Leftovers in tmp/ may only be the
 * importer's own (NAME.PID.iN.tmp), which the spool's recovery removes.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash_env.h"
#include "num.h"
#include "spool.h"
#include "unit/test_spool_util.h"
#include "unconst.h"

#define RECORDS 2000

static char src[4200], dst[4200], bundle[4200], keyf[4300], pubf[4300];
static const char *scfgate;
static int failures;

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "import crash test: " __VA_ARGS__);                                \
		fputc('\n', stderr);                                                               \
		failures++;                                                                        \
	} while (0)

/* Run scfgate with args; its stdout into out (may be NULL).  Returns the
 * pid, or waits and returns the exit status when wait_it. */
static pid_t run(const char *const args[], const char *out, int wait_it, int *status)
{
	pid_t pid = fork();

	if (pid == 0) {
		FILE *f = freopen(out ? out : "/dev/null", "w", stdout);

		if (!f || !freopen("/dev/null", "w", stderr))
			_exit(126);
		execv(scfgate, UNCONST(args));
		_exit(127);
	}
	if (wait_it)
		waitpid(pid, status, 0);
	return pid;
}

static pid_t start_import(const char *out, int wait_it, int *status)
{
	const char *args[] = {scfgate,   "bundle",  "import",   bundle, "--root", dst,
	                      "--queue", "inbound", "--pubkey", pubf,   NULL};

	return run(args, out, wait_it, status);
}

static void make_bundle(void)
{
	struct spool_producer *p;
	struct sig_key *key = tsu_load_priv(src, "scf");
	struct record *recs[500];
	struct err e;
	size_t done;
	int status;
	const char *args[] = {scfgate,   "bundle", "export", "--root", src,    "--queue",
	                      "inbound", "--key",  keyf,     "--out",  bundle, NULL};

	if (spool_producer_open(&p, src, "inbound", "scf", key, &e) != ERR_OK) {
		fprintf(stderr, "import_crash: producer: %s\n", e.msg);
		exit(2);
	}
	for (int i = 0; i < RECORDS; i += 500) {
		for (int j = 0; j < 500; j++)
			recs[j] = tsu_close_record(i + j + 1, (size_t)(rand() % 400));
		if (spool_commit_group(p, recs, 500, &done, &e) != ERR_OK) {
			fprintf(stderr, "import_crash: commit: %s\n", e.msg);
			exit(2);
		}
		for (int j = 0; j < 500; j++)
			record_free(recs[j]);
	}
	spool_producer_free(p);
	sig_key_free(key);
	run(args, NULL, 1, &status);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "import_crash: bundle export failed (status %d)\n", status);
		exit(2);
	}
}

/* 1 when both files exist and have the same bytes. */
static int same_file(const char *a, const char *b)
{
	size_t la, lb;
	char *x = tsu_read(a, &la), *y = tsu_read(b, &lb);
	int same = x && y && la == lb && memcmp(x, y, la) == 0;

	free(x);
	free(y);
	return same;
}

/* Every file in dst's new/ has the bytes of the bundle's record of that
 * name (the source's new/); returns how many there are. */
static size_t check_new(int round)
{
	char dir[4300], a[8600], b[8600];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/inbound/new", dst);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(a, sizeof(a), "%s/%s", dir, de->d_name);
		snprintf(b, sizeof(b), "%s/inbound/new/%s", src, de->d_name);
		if (!same_file(a, b))
			FAIL("round %d: new/%s is not the bundle's record", round, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Leftovers in tmp/ may only be the importer's own. */
static void check_tmp(void)
{
	char dir[4300];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/inbound/tmp", dst);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (!strstr(de->d_name, ".xml.") || !strstr(de->d_name, ".i") || len < 5 ||
		    strcmp(de->d_name + len - 4, ".tmp") != 0)
			FAIL("unexpected file in tmp/: %s", de->d_name);
	}
	closedir(d);
}

static void final_import(void)
{
	char out[4300], line[8600];
	unsigned long imported = 0, already = 0;
	int status, parsed = 0;
	FILE *f;

	snprintf(out, sizeof(out), "%s.out", bundle);
	start_import(out, 1, &status);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FAIL("the final import failed (status %d)", status);
	f = fopen(out, "r");
	/* "FILE: N record(s) imported, M already present" */
	while (f && fgets(line, sizeof(line), f)) {
		const char *text = strstr(line, ": "), *end;
		uint64_t a, b;

		if (text && num_u64(text + 2, 10, &end, &a) == 0 &&
		    num_u64(num_after(end, " record(s) imported, "), 10, &end, &b) == 0 &&
		    num_after(end, " already")) {
			imported = (unsigned long)a;
			already = (unsigned long)b;
			parsed = 1;
		}
	}
	if (f)
		fclose(f);
	if (!parsed || imported + already != RECORDS)
		FAIL("the final import reported %lu imported + %lu already, not %d", imported,
		     already, RECORDS);
	if (check_new(-1) != RECORDS)
		FAIL("after the final import new/ does not hold all %d records", RECORDS);
	check_tmp();
}

int main(int argc, char **argv)
{
	int rounds = crash_rounds(argc > 3 ? (int)strtol(argv[3], NULL, 10) : 25), killed = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: import_crash SCFGATE WORKDIR [ROUNDS]\n");
		return 2;
	}
	scfgate = argv[1];
	tsu_rmrf(argv[2]);
	mkdir(argv[2], 0750);
	snprintf(src, sizeof(src), "%s/src", argv[2]);
	snprintf(dst, sizeof(dst), "%s/dst", argv[2]);
	snprintf(bundle, sizeof(bundle), "%s/b.tar", argv[2]);
	snprintf(keyf, sizeof(keyf), "%s/scf.key", src);
	snprintf(pubf, sizeof(pubf), "%s/scf.pub", src);
	mkdir(src, 0750);
	tsu_keygen(src, "scf");
	srand(crash_seed("import_crash"));
	make_bundle();
	for (int r = 0; r < rounds; r++) {
		int status;
		pid_t pid;

		if (r % 5 == 0)
			tsu_rmrf(dst);
		pid = start_import(NULL, 0, NULL);
		usleep((useconds_t)(rand() % 1500000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status))
			killed++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			FAIL("round %d: import ended with status %d", r, status);
		check_new(r);
	}
	final_import();
	printf("import crash test: %d rounds (%d killed mid-import), %d failures\n", rounds, killed,
	       failures);
	if (!failures)
		tsu_rmrf(argv[2]);
	return failures ? 1 : 0;
}
