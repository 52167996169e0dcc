/*
 * crash_driver.c: SIGKILL a real writer and a real consumer at random
 * moments, round after round, then check what survived.
 *
 *   crash_driver BINDIR WORKDIR [ROUNDS]    (ROUNDS default: 300;
 *                                            SCFGATE_CRASH_ROUNDS and
 *                                            SCFGATE_CRASH_SEED as in
 *                                            crash_env.h)
 *
 * Now and then the writer's sequence file is damaged or removed while it
 * is down (see upset_seq_file).
 * Checks, after every kill of the writer: every file in new/ is a whole,
 * valid, signed record (nothing half-written is ever visible).  At the
 * end: every acknowledged record is in done/ exactly once with the
 * acknowledged bytes and a valid signature; no sequence number was used
 * for two different records; the consumer applied records strictly in
 * order with no gap (a record repeated right after a consumer crash is
 * the allowed at-least-once case); nothing was quarantined.
 */
#include <dirent.h>
#include <errno.h>
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

static char bindir[4096], work[4096], root[4200], keyf[4200], pubf[4200], acklog[4200],
    applylog[4200];
static struct sig_key *pub;
static int failures;

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "crash test: " __VA_ARGS__);                                       \
		fputc('\n', stderr);                                                               \
		failures++;                                                                        \
	} while (0)

static pid_t spawn(const char *prog, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char path[4200];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", bindir, prog);
	pid = fork();
	if (pid == 0) {
		execl(path, prog, a1, a2, a3, a4, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void kill_wait(pid_t *pid)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	waitpid(*pid, &status, 0);
	if (!WIFSIGNALED(status))
		FAIL("pid %d ended by itself (status %d) instead of being killed", (int)*pid,
		     WEXITSTATUS(status));
	*pid = 0;
}

/* Every file visible in new/ must be a complete, valid, signed record. */
static void check_new_dir(int round)
{
	char dir[4300], path[8600];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/outbound/new", root);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		struct record *r = NULL;
		struct err e;
		int v;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (spool_read_record(path, pub, &r, &v, &e) != ERR_OK) {
			if (access(path, F_OK) == 0) /* not just claimed meanwhile */
				FAIL("round %d: invalid file visible in new/: %s", round, e.msg);
		}
		record_free(r);
	}
	closedir(d);
}

struct ack {
	char sha[65];
	int seen;
};

/* "<seq> <sha>" of the ack and apply logs: 0, or -1 when the line is not
 * exactly that (a torn last line has no newline and may still read). */
static int seq_line(const char *line, unsigned long long *seq, char sha[65])
{
	const char *q;
	uint64_t v;

	if (num_u64(line, 10, &q, &v) != 0 || num_field_word(&q, sha, 65) != 0 || !num_field_end(q))
		return -1;
	*seq = (unsigned long long)v;
	return 0;
}

static void final_check(void)
{
	struct ack *acks = NULL;
	size_t nacks = 0, max_ack = 0;
	unsigned long long seq, prev = 0, last_applied = 0, n_applied = 0;
	char sha[65], line[512], path[8600], name[RECORD_NAME_MAX];
	struct spool_stats st;
	struct err e;
	FILE *f;

	f = fopen(acklog, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (seq_line(line, &seq, sha) != 0 || seq == 0) {
			FAIL("bad ack line: %s", line);
			continue;
		}
		if (seq >= nacks) {
			size_t nn = seq * 2 + 16;
			acks = realloc(acks, nn * sizeof(*acks));
			memset(acks + nacks, 0, (nn - nacks) * sizeof(*acks));
			nacks = nn;
		}
		if (acks[seq].seen && strcmp(acks[seq].sha, sha) != 0)
			FAIL("sequence %llu acknowledged twice with different records", seq);
		acks[seq].seen = 1;
		snprintf(acks[seq].sha, sizeof(acks[seq].sha), "%s", sha);
		if (seq > max_ack)
			max_ack = seq;
	}
	if (f)
		fclose(f);
	f = fopen(applylog, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VIOLATION", 9) == 0) {
			FAIL("consumer saw: %s", line);
			continue;
		}
		if (seq_line(line, &seq, sha) != 0)
			continue;
		if (seq != prev && seq != prev + 1)
			FAIL("applied out of order: %llu after %llu", seq, prev);
		if (seq < nacks && acks[seq].seen && strcmp(acks[seq].sha, sha) != 0)
			FAIL("applied seq %llu is not the acknowledged record", seq);
		if (seq != prev)
			n_applied++;
		prev = seq;
		last_applied = seq;
	}
	if (f)
		fclose(f);
	for (size_t s = 1; s <= max_ack; s++) {
		struct record *r = NULL;
		size_t len;
		char *data, hex[65];
		int v = 0;
		if (!acks[s].seen)
			continue;
		record_file_name(name, s, "scf");
		snprintf(path, sizeof(path), "%s/outbound/done/%s", root, name);
		data = tsu_read(path, &len);
		if (!data) {
			FAIL("acknowledged seq %zu is not in done/", s);
			continue;
		}
		sig_sha256_hex(data, len, hex);
		if (strcmp(hex, acks[s].sha) != 0)
			FAIL("done/%s is not the acknowledged record", name);
		if (record_decode(data, len, pub, &r, &e) != ERR_OK)
			FAIL("done/%s: %s", name, e.msg);
		else if (r->seq != s)
			FAIL("done/%s: holds seq %llu", name, (unsigned long long)r->seq);
		(void)v;
		record_free(r);
		free(data);
	}
	if (spool_stats(root, "outbound", 0, &st, &e) != ERR_OK)
		FAIL("stats: %s", e.msg);
	if (st.count[SPOOL_FAILED] || st.count[SPOOL_NEW] || st.count[SPOOL_CUR] ||
	    st.count[SPOOL_HOLD])
		FAIL("left over: new %zu cur %zu failed %zu hold %zu", st.count[SPOOL_NEW],
		     st.count[SPOOL_CUR], st.count[SPOOL_FAILED], st.count[SPOOL_HOLD]);
	if (st.count[SPOOL_DONE] != last_applied || n_applied != last_applied)
		FAIL("done/ holds %zu records, applied %llu distinct, last %llu",
		     st.count[SPOOL_DONE], n_applied, last_applied);
	if (last_applied < max_ack)
		FAIL("acknowledged up to %zu but applied only up to %llu", max_ack, last_applied);
	printf("crash test: %zu acknowledged, %llu applied in order, done/ %zu\n", max_ack,
	       last_applied, st.count[SPOOL_DONE]);
	free(acks);
}

/* Paths whose fsync/fdatasync failed must be unlinked before anything
 * syncs them again: the same data is never trusted after a failed sync. */
static void check_no_sync_retry(const char *logpath, const char *tag)
{
	char failed[64][4200], op[32], path[4200], line[4400];
	size_t nfailed = 0;
	FILE *f = fopen(logpath, "r");
	int rc;

	while (f && fgets(line, sizeof(line), f)) {
		/* "<op> <path> <rc>" as fault_shim writes it */
		const char *sp = strchr(line, ' '), *last = strrchr(line, ' '), *end;

		if (!sp || sp == last || (size_t)(sp - line) >= sizeof(op) ||
		    (size_t)(last - sp - 1) >= sizeof(path) || num_int(last + 1, &end, &rc) != 0 ||
		    !num_field_end(end))
			continue;
		snprintf(op, sizeof(op), "%.*s", (int)(sp - line), line);
		snprintf(path, sizeof(path), "%.*s", (int)(last - sp - 1), sp + 1);
		int is_sync = strcmp(op, "fsync") == 0 || strcmp(op, "fdatasync") == 0;
		for (size_t i = 0; i < nfailed; i++) {
			if (strcmp(failed[i], path) != 0)
				continue;
			if (is_sync)
				FAIL("%s: %s synced again after its %s failed", tag, path, op);
			if (strcmp(op, "unlink") == 0)
				failed[i][0] = '\0';
		}
		if (is_sync && rc != 0 && strstr(path, ".tmp") && nfailed < 64)
			snprintf(failed[nfailed++], sizeof(failed[0]), "%s", path);
	}
	for (size_t i = 0; i < nfailed; i++)
		if (failed[i][0])
			FAIL("%s: %s was left behind after its sync failed", tag, failed[i]);
	if (f)
		fclose(f);
}

/*
 * Now and then, while the writer is down, damage its sequence file (one
 * digit of NEXT changed, so the line's check fails) or remove it: the
 * next start must fall back to reading the queue and still reuse no
 * number.  Most rounds leave the file alone: the intact file alone is
 * what a restart normally resumes from.
 */
static void upset_seq_file(int round)
{
	char path[4300], *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/outbound/state/scf.seq", root);
	if (round % 11 == 5) {
		unlink(path);
	} else if (round % 7 == 3 && (text = tsu_read(path, &len)) != NULL) {
		/* A flipped digit of the check field (offset 84 of the
		 * 88-byte line): the line is known damaged while its numbers
		 * are right.  A damaged number itself is not tried: nothing
		 * can tell a raised NEXT from a true one, and the producer
		 * keeps it as a lower bound (a gap, which the consumer
		 * alarms on, rather than a reused number). */
		if (len > 84) {
			text[84] = text[84] == '0' ? '1' : '0';
			tsu_write(path, text, len);
		}
		free(text);
	}
}

static int run_wait(pid_t pid)
{
	int status;

	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Fail one call of the commit path per case; then recover and check. */
static int faults(const char *shim)
{
	/* Which calls: under the spool root, in a single commit, the O_CREAT
	 * opens are lock, counter, then one tmp file per commit; fdatasync
	 * alternates tmp file and counter.  Pipelined groups (bursts of
	 * 2-5 groups of 2-16) meet a failed flush, rename or fsync of new/
	 * while the group behind is staged or queued. */
	static const struct {
		const char *op, *mode, *nth[2];
	} cases_of[] = {
	    {"write", "single", {"1", "3"}},  {"fdatasync", "single", {"1", "2"}},
	    {"fsync", "single", {"1", "3"}},  {"syncfs", "group", {"1", "2"}},
	    {"rename", "single", {"1", "3"}}, {"open", "single", {"3", "5"}},
	    {"syncfs", "pipe", {"1", "2"}},   {"rename", "pipe", {"3", "7"}},
	    {"fsync", "pipe", {"1", "2"}},
	};
	static const char *errs[] = {"EIO", "ENOSPC"};
	char logpath[4300], nthbuf[8], tag[128];
	struct err e;
	int cases = 0;
	char asan_saved[1024];

	snprintf(asan_saved, sizeof(asan_saved), "%s",
	         getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");

	for (size_t o = 0; o < sizeof(cases_of) / sizeof(cases_of[0]); o++)
		for (size_t x = 0; x < 2; x++)
			for (size_t k = 0; k < 2; k++) {
				int rc;
				snprintf(tag, sizeof(tag), "%s %s call %s (%s)", cases_of[o].op,
				         errs[x], cases_of[o].nth[k], cases_of[o].mode);
				tsu_rmrf(root);
				unlink(acklog);
				unlink(applylog);
				snprintf(logpath, sizeof(logpath), "%s/fault.log", work);
				unlink(logpath);
				snprintf(nthbuf, sizeof(nthbuf), "%s", cases_of[o].nth[k]);
				setenv("LD_PRELOAD", shim, 1);
				setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0",
				       1);
				setenv("SCFGATE_FAULT_OP", cases_of[o].op, 1);
				setenv("SCFGATE_FAULT_NTH", nthbuf, 1);
				setenv("SCFGATE_FAULT_ERRNO", errs[x], 1);
				setenv("SCFGATE_FAULT_PREFIX", root, 1);
				setenv("SCFGATE_FAULT_LOG", logpath, 1);
				setenv("SCFGATE_WRITER_MODE", cases_of[o].mode, 1);
				rc = run_wait(spawn("crash_writer", root, keyf, acklog, "30"));
				unsetenv("LD_PRELOAD");
				if (asan_saved[0])
					setenv("ASAN_OPTIONS", asan_saved, 1);
				else
					unsetenv("ASAN_OPTIONS");
				unsetenv("SCFGATE_FAULT_OP");
				unsetenv("SCFGATE_WRITER_MODE");
				if (rc != 1)
					FAIL("%s: the writer should report ERR_TEMP (exit 1), got "
					     "%d",
					     tag, rc);
				check_new_dir(-1);
				check_no_sync_retry(logpath, tag);
				/* Recover: the next run commits on, then everything drains. */
				rc = run_wait(spawn("crash_writer", root, keyf, acklog, "5"));
				if (rc != 0)
					FAIL("%s: writer after the fault: exit %d", tag, rc);
				rc = run_wait(
				    spawn("crash_consumer", root, pubf, applylog, "--drain"));
				if (rc != 0)
					FAIL("%s: consumer: exit %d", tag, rc);
				final_check();
				cases++;
			}
	printf("fault test: %d cases, %d failures\n", cases, failures);
	(void)e;
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	pid_t w = 0, c = 0;
	int rounds = 300, status;
	struct err e;

	const char *shim = NULL;

	if (argc >= 5 && strcmp(argv[1], "--faults") == 0) {
		shim = argv[4];
		argv++;
		argc = 3;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: crash_driver BINDIR WORKDIR [ROUNDS]\n"
		                "       crash_driver --faults BINDIR WORKDIR SHIM.so\n");
		return 2;
	}
	if (argc > 3)
		rounds = (int)strtol(argv[3], NULL, 10);
	rounds = crash_rounds(rounds);
	snprintf(bindir, sizeof(bindir), "%s", argv[1]);
	snprintf(work, sizeof(work), "%s", argv[2]);
	tsu_rmrf(work);
	mkdir(work, 0750);
	snprintf(root, sizeof(root), "%s/spool", work);
	snprintf(keyf, sizeof(keyf), "%s/scf.key", work);
	snprintf(pubf, sizeof(pubf), "%s/scf.pub", work);
	snprintf(acklog, sizeof(acklog), "%s/ack.log", work);
	snprintf(applylog, sizeof(applylog), "%s/apply.log", work);
	tsu_keygen(work, "scf");
	if (sig_load_public(pubf, &pub, &e) != ERR_OK)
		return 2;
	srand(crash_seed(shim ? "spool_faults" : "spool_crash"));
	if (shim) {
		int rc = faults(shim);
		sig_key_free(pub);
		if (!rc)
			tsu_rmrf(work);
		return rc;
	}
	for (int r = 0; r < rounds; r++) {
		int victim = rand() % 3;
		if (!w)
			w = spawn("crash_writer", root, keyf, acklog, NULL);
		if (!c)
			c = spawn("crash_consumer", root, pubf, applylog, NULL);
		usleep((useconds_t)(5000 + rand() % 120000));
		if (victim != 1) {
			kill_wait(&w);
			check_new_dir(r);
			upset_seq_file(r);
		}
		if (victim != 0)
			kill_wait(&c);
	}
	kill_wait(&w);
	kill_wait(&c);
	/* Finish cleanly: the writer recovers and commits a few more, the
	 * consumer recovers and drains. */
	w = spawn("crash_writer", root, keyf, acklog, "20");
	waitpid(w, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FAIL("final writer failed (status %d)", status);
	c = spawn("crash_consumer", root, pubf, applylog, "--drain");
	waitpid(c, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FAIL("final consumer failed (status %d)", status);
	final_check();
	printf("crash test: %d rounds, %d failures\n", rounds, failures);
	sig_key_free(pub);
	if (!failures)
		tsu_rmrf(work);
	return failures ? 1 : 0;
}
