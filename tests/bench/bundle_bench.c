/*
 * bundle_bench.c: export and import rates and peak RSS for bundles.
 *
 *   bundle_bench [N ...]        (default: 10000 100000)
 *
 * For each N: commit N small records into a scratch spool (group commit),
 * then export them to a .tar.zst, verify it as `bundle verify` does
 * without --record-pubkey ("verify": manifest signature and digests) and
 * with it ("verify-rec": also every record's signature), and import it
 * into a second spool (which checks every record's signature too).  Each phase runs in its own
 * child process so its peak RSS (wait4's ru_maxrss) is its own.  Scratch space is under $TMPDIR (or
 * /tmp); the import flushes once per 512 records, so on a real disk it is
 * bound by checking each record rather than by the device's fsync rate.
 * Exits 1 if a phase's peak RSS is over 32 MiB.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "spool.h"
#include "unit/test_spool_util.h"

#define Q "inbound"
/* Peak RSS goal of every phase, in KiB (ru_maxrss units). */
#define RSS_GOAL_KIB (32L * 1024)

static char *base;
static char root1[4096], root2[4096], bundle_path[4096];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fill(size_t n)
{
	struct sig_key *key = tsu_load_priv(base, "oms");
	struct spool_producer *p = NULL;
	struct record *recs[1000];
	struct err e;

	if (spool_producer_open(&p, root1, Q, "oms", key, &e) != ERR_OK)
		goto fail;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < 1000 ? n - done : 1000, ok = 0;
		for (size_t i = 0; i < k; i++)
			recs[i] = tsu_close_record((int64_t)(done + i + 1), 200);
		if (spool_commit_group(p, recs, k, &ok, &e) != ERR_OK)
			goto fail;
		for (size_t i = 0; i < k; i++)
			record_free(recs[i]);
		done += k;
	}
	spool_producer_free(p);
	sig_key_free(key);
	return 0;
fail:
	fprintf(stderr, "fill: %s\n", e.msg);
	return 1;
}

static int do_export(size_t n)
{
	struct sig_key *key = tsu_load_priv(base, "oms");
	struct bundle_export_opts o = {root1, Q,    SPOOL_NEW, 0,    0,    "oms",
	                               NULL,  NULL, NULL,      NULL, NULL, 0};
	struct bundle_info info;
	struct err e;

	if (bundle_export(&o, key, bundle_path, &info, &e) != ERR_OK) {
		fprintf(stderr, "export: %s\n", e.msg);
		return 1;
	}
	size_t got = info.n_entries;

	sig_key_free(key);
	bundle_info_release(&info);
	return got == n ? 0 : 1;
}

/* As `bundle verify FILE --pubkey PUB`, with record_sigs also
 * `--record-pubkey PUB`: the manifest signature and every digest, and
 * with record_sigs every record's own signature. */
static int verify(size_t n, int record_sigs)
{
	struct sig_key *pub = tsu_load_pub(base, "oms");
	struct bundle_read_opts o = {pub, record_sigs ? pub : NULL, NULL, NULL, NULL};
	struct bundle_info info;
	struct err e;

	if (bundle_read_file(bundle_path, &o, &info, &e) != ERR_OK) {
		fprintf(stderr, "verify: %s\n", e.msg);
		return 1;
	}
	size_t got = info.n_entries;

	sig_key_free(pub);
	bundle_info_release(&info);
	return got == n ? 0 : 1;
}

static int do_verify(size_t n)
{
	return verify(n, 0);
}

static int do_verify_rec(size_t n)
{
	return verify(n, 1);
}

static int do_import(size_t n)
{
	struct sig_key *pub = tsu_load_pub(base, "oms");
	struct bundle_import_result res;
	struct err e;

	if (bundle_import(bundle_path, root2, Q, pub, NULL, NULL, &res, &e) != ERR_OK) {
		fprintf(stderr, "import: %s\n", e.msg);
		return 1;
	}
	sig_key_free(pub);
	return res.imported == n ? 0 : 1;
}

/* Run one phase in a child; print its rate and peak RSS. */
static int phase(const char *name, int (*fn)(size_t), size_t n, int report)
{
	struct rusage ru;
	double t0 = now(), dt;
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(fn(n));
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s failed\n", name);
		return 1;
	}
	dt = now() - t0;
	if (report)
		printf("  %-10s %8zu records  %7.2f s  %9.0f records/s  peak RSS %6.1f MiB\n", name,
		       n, dt, (double)n / dt, (double)ru.ru_maxrss / 1024.0);
	if (report && ru.ru_maxrss > RSS_GOAL_KIB) {
		printf("  %s: peak RSS over the 32 MiB goal\n", name);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t sizes[8] = {10000, 100000};
	int n_sizes = 2, rc = 0;

	if (argc > 1) {
		n_sizes = 0;
		for (int i = 1; i < argc && n_sizes < 8; i++)
			sizes[n_sizes++] = (size_t)strtoull(argv[i], NULL, 10);
	}
	for (int s = 0; s < n_sizes && rc == 0; s++) {
		base = tsu_tmpdir("bundle-bench");
		tsu_keygen(base, "oms");
		snprintf(root1, sizeof(root1), "%s/a", base);
		snprintf(root2, sizeof(root2), "%s/b", base);
		snprintf(bundle_path, sizeof(bundle_path), "%s/bench.tar.zst", base);
		printf("bundle bench: %zu records (~500 bytes each) in %s\n", sizes[s], base);
		if (s == 0)
			printf("  (verify = `bundle verify --pubkey`: manifest signature and every "
			       "digest, no record signature;\n"
			       "   verify-rec = with `--record-pubkey` too: also every record's "
			       "signature;\n"
			       "   import = `bundle import`: all of verify-rec, then commit the "
			       "records)\n");
		rc = phase("fill", fill, sizes[s], 0) || phase("export", do_export, sizes[s], 1) ||
		     phase("verify", do_verify, sizes[s], 1) ||
		     phase("verify-rec", do_verify_rec, sizes[s], 1) ||
		     phase("import", do_import, sizes[s], 1);
		tsu_rmrf(base);
		free(base);
	}
	return rc;
}
