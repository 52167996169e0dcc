/*
 * test_buf.c: the capped buffer (util/buf.h), its invariants checked
 * after every operation:
 *   - empty and never allocated: data NULL, len 0, alloc 0;
 *   - otherwise len < alloc (room for the NUL), data[len] == '\0' and
 *     len <= cap;
 *   - cap never changes (0 at init means BUF_DEFAULT_CAP);
 *   - a failed add (ERR_PERM past the cap, ERR_TEMP when allocation
 *     fails) leaves the bytes exactly as they were.
 * Allocation failures are injected: the test is linked with
 * -Wl,--wrap=realloc,--wrap=calloc, and a random walk of operations is
 * compared with a plain model of the bytes while some allocations fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

/* ---- allocation failure injection --------------------------------------- */

void *__real_realloc(void *p, size_t n);
void *__real_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_calloc(size_t n, size_t size);

/* fail_next: the next that many allocations fail; fail_rate: out of 1000,
 * from a fixed generator, while a walk runs. */
static int fail_next, fail_rate;
static unsigned walk_rng = 1;
static long allocs;

static unsigned rnd(unsigned n)
{
	walk_rng = walk_rng * 1103515245u + 12345u;
	return (walk_rng >> 8) % n;
}

static int fail_now(void)
{
	allocs++;
	if (fail_next > 0) {
		fail_next--;
		return 1;
	}
	return fail_rate && (int)rnd(1000) < fail_rate;
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

/* ---- invariants ------------------------------------------------------------ */

static void check(const struct buf *b, size_t cap)
{
	assert_int_equal(b->cap, cap);
	if (!b->data) {
		assert_int_equal(b->len, 0);
		assert_int_equal(b->alloc, 0);
		assert_string_equal(buf_str(b), "");
		return;
	}
	assert_true(b->len < b->alloc);
	assert_true(b->len <= b->cap);
	assert_int_equal(b->data[b->len], '\0');
	assert_ptr_equal(buf_str(b), b->data);
}

/* The buffer holds exactly these bytes. */
static void holds(const struct buf *b, size_t cap, const void *bytes, size_t len)
{
	check(b, cap);
	assert_int_equal(b->len, len);
	if (len)
		assert_memory_equal(b->data, bytes, len);
}

/* ---- one operation at a time ----------------------------------------------- */

static void test_init_default_cap(void **state)
{
	struct buf b, c = BUF_INIT_CAP(10);

	(void)state;
	buf_init(&b, 0);
	check(&b, BUF_DEFAULT_CAP);
	buf_init(&b, 5);
	check(&b, 5);
	check(&c, 10);
	buf_release(&c);
	check(&c, 10);
}

static void test_add_binary_and_text(void **state)
{
	static const char bin[] = {'a', '\0', 'b', '\0'};
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_add(&b, bin, sizeof(bin)), ERR_OK);
	holds(&b, 64, bin, sizeof(bin));
	assert_int_equal(buf_adds(&b, "xyz"), ERR_OK);
	holds(&b, 64, "a\0b\0xyz", 7);
	assert_int_equal(buf_addf(&b, "%d-%s", 42, "q"), ERR_OK);
	holds(&b, 64, "a\0b\0xyz42-q", 11);
	/* Nothing added is still fine, and keeps the NUL. */
	assert_int_equal(buf_add(&b, NULL, 0), ERR_OK);
	assert_int_equal(buf_addf(&b, "%s", ""), ERR_OK);
	holds(&b, 64, "a\0b\0xyz42-q", 11);
	buf_release(&b);
	check(&b, 64);
}

static void test_empty_add_allocates_terminator(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_add(&b, "", 0), ERR_OK);
	/* Once anything was added the data is a C string, even "". */
	assert_non_null(b.data);
	holds(&b, 8, "", 0);
	buf_release(&b);
}

static void test_cap_exact_and_past(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "12345678"), ERR_OK); /* exactly the cap */
	holds(&b, 8, "12345678", 8);
	assert_int_equal(buf_adds(&b, "9"), ERR_PERM);
	holds(&b, 8, "12345678", 8);
	assert_int_equal(buf_addf(&b, "%c", 'x'), ERR_PERM);
	holds(&b, 8, "12345678", 8);
	buf_reset(&b);
	holds(&b, 8, "", 0);
	/* One add larger than the cap at once, and one whose size would
	 * overflow len + extra. */
	assert_int_equal(buf_add(&b, "123456789", 9), ERR_PERM);
	holds(&b, 8, "", 0);
	assert_int_equal(buf_adds(&b, "ab"), ERR_OK);
	assert_int_equal(buf_add(&b, "x", SIZE_MAX), ERR_PERM);
	holds(&b, 8, "ab", 2);
	buf_release(&b);
}

static void test_reset_keeps_memory(void **state)
{
	struct buf b;
	char *mem;
	size_t alloc;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_adds(&b, "some text"), ERR_OK);
	mem = b.data;
	alloc = b.alloc;
	buf_reset(&b);
	holds(&b, 1024, "", 0);
	assert_ptr_equal(b.data, mem);
	assert_int_equal(b.alloc, alloc);
	/* Reset of a buffer that never allocated stays unallocated. */
	buf_release(&b);
	buf_reset(&b);
	check(&b, 1024);
	assert_null(b.data);
}

static void test_detach(void **state)
{
	struct buf b;
	size_t len = 99;
	char *p;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_add(&b, "x\0y", 3), ERR_OK);
	p = buf_detach(&b, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "x\0y", 4); /* with its NUL */
	free(p);
	check(&b, 100);
	assert_null(b.data);
	/* Empty: an allocated "" the caller frees. */
	p = buf_detach(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	assert_string_equal(p, "");
	free(p);
	check(&b, 100);
	/* len may be NULL. */
	assert_int_equal(buf_adds(&b, "z"), ERR_OK);
	p = buf_detach(&b, NULL);
	assert_string_equal(p, "z");
	free(p);
	check(&b, 100);
}

static void test_growth_keeps_bytes(void **state)
{
	unsigned char model[5000];
	struct buf b;

	(void)state;
	buf_init(&b, sizeof(model));
	for (size_t i = 0; i < sizeof(model); i++) {
		model[i] = (unsigned char)(i * 7);
		assert_int_equal(buf_add(&b, &model[i], 1), ERR_OK);
		holds(&b, sizeof(model), model, i + 1);
	}
	assert_int_equal(buf_add(&b, "x", 1), ERR_PERM);
	holds(&b, sizeof(model), model, sizeof(model));
	buf_release(&b);
}

/* ---- allocation failures ----------------------------------------------------- */

static void test_alloc_failure_leaves_bytes(void **state)
{
	char big[300];
	struct buf b;
	char *mem;

	(void)state;
	memset(big, 'b', sizeof(big));
	buf_init(&b, 4096);
	/* The first allocation fails: still empty and unallocated. */
	fail_next = 1;
	assert_int_equal(buf_adds(&b, "abc"), ERR_TEMP);
	check(&b, 4096);
	assert_null(b.data);
	assert_int_equal(buf_adds(&b, "abc"), ERR_OK);
	holds(&b, 4096, "abc", 3);
	/* Growing fails: the old bytes and block stay. */
	mem = b.data;
	fail_next = 1;
	assert_int_equal(buf_add(&b, big, sizeof(big)), ERR_TEMP);
	holds(&b, 4096, "abc", 3);
	assert_ptr_equal(b.data, mem);
	fail_next = 1;
	assert_int_equal(buf_addf(&b, "%.*s", (int)sizeof(big), big), ERR_TEMP);
	holds(&b, 4096, "abc", 3);
	/* And then it works. */
	assert_int_equal(buf_add(&b, big, sizeof(big)), ERR_OK);
	check(&b, 4096);
	assert_int_equal(b.len, 3 + sizeof(big));
	assert_memory_equal(b.data, "abc", 3);
	assert_memory_equal(b.data + 3, big, sizeof(big));
	buf_release(&b);
	/* An add that fits in the block allocates nothing, so cannot fail. */
	assert_int_equal(buf_adds(&b, "a"), ERR_OK);
	fail_next = 1;
	assert_int_equal(buf_adds(&b, "b"), ERR_OK);
	fail_next = 0;
	holds(&b, 4096, "ab", 2);
	buf_release(&b);
}

static void test_detach_empty_alloc_failure(void **state)
{
	struct buf b;
	size_t len = 7;
	char *p;

	(void)state;
	buf_init(&b, 16);
	fail_next = 1;
	p = buf_detach(&b, &len);
	fail_next = 0;
	/* Nothing to hand over and no memory for "": NULL, the buffer
	 * still a valid empty one. */
	assert_null(p);
	assert_int_equal(len, 0);
	check(&b, 16);
}

/* A random walk of every operation against a model of the bytes, with
 * about one allocation in eight failing, the invariants checked after
 * each step. */
static void test_random_walk(void **state)
{
	enum { CAP = 3000 };
	static unsigned char model[CAP];
	size_t mlen = 0;
	struct buf b;
	char chunk[400];

	(void)state;
	walk_rng = 12345;
	buf_init(&b, CAP);
	fail_rate = 125;
	for (int step = 0; step < 20000; step++) {
		unsigned op = rnd(100);
		size_t n = rnd(op < 5 ? 400 : 40);
		enum err_status st;

		for (size_t i = 0; i < n; i++)
			chunk[i] = (char)rnd(256);
		if (op < 60) {
			char *before = b.data;
			size_t alloc = b.alloc;

			st = buf_add(&b, chunk, n);
			if (st == ERR_OK) {
				assert_true(mlen + n <= CAP);
				memcpy(model + mlen, chunk, n);
				mlen += n;
			} else if (st == ERR_PERM) {
				assert_true(mlen + n > CAP);
			} else {
				assert_int_equal(st, ERR_TEMP);
				assert_true(mlen + n <= CAP);
				assert_ptr_equal(b.data, before);
				assert_int_equal(b.alloc, alloc);
			}
		} else if (op < 80) {
			int k = (int)rnd(1000);

			st = buf_addf(&b, "<%d>", k);
			if (st == ERR_OK) {
				int w = snprintf((char *)model + mlen, CAP + 1 - mlen, "<%d>", k);
				assert_true(mlen + (size_t)w <= CAP);
				mlen += (size_t)w;
			} else {
				assert_true(st == ERR_PERM || st == ERR_TEMP);
			}
		} else if (op < 90) {
			buf_reset(&b);
			mlen = 0;
		} else if (op < 95) {
			buf_release(&b);
			mlen = 0;
		} else {
			size_t len = 1;
			char *p = buf_detach(&b, &len);

			assert_int_equal(len, mlen);
			if (p) {
				if (mlen)
					assert_memory_equal(p, model, mlen);
				assert_int_equal(p[mlen], '\0');
				free(p);
			} else {
				assert_int_equal(mlen, 0); /* only "" may fail */
			}
			mlen = 0;
		}
		holds(&b, CAP, model, mlen);
	}
	fail_rate = 0;
	buf_release(&b);
	/* The walk did make the allocator fail. */
	assert_true(allocs > 100);
}

/* ---- buf_read_file -------------------------------------------------------------- */

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_buf.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void test_read_file(void **state)
{
	char path[128], fifo[128];
	struct buf b;
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/f", dir);
	write_file(path, "hello\0there", 11);
	buf_init(&b, 64);
	assert_int_equal(buf_adds(&b, ">"), ERR_OK);
	/* Appended to what is there. */
	assert_int_equal(buf_read_file(&b, path, &e), ERR_OK);
	holds(&b, 64, ">hello\0there", 12);
	/* Larger than what is left of the cap: ERR_PERM, the message names
	 * the limit.  (What was read before the limit stays: the caller
	 * throws the buffer away.) */
	buf_release(&b);
	buf_init(&b, 5);
	assert_int_equal(buf_read_file(&b, path, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "5-byte limit"));
	check(&b, 5);
	buf_release(&b);
	/* Missing: ERR_PERM, no allocation. */
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(buf_read_file(&b, path, &e), ERR_PERM);
	check(&b, 5);
	assert_null(b.data);
	/* A directory and a FIFO are refused at once, never waited on. */
	assert_int_equal(buf_read_file(&b, dir, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "not a regular file"));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(buf_read_file(&b, fifo, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "not a regular file"));
	check(&b, 5);
	assert_null(b.data);
}

static void test_read_file_alloc_failure(void **state)
{
	char path[128];
	struct buf b;
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/g", dir);
	write_file(path, "0123456789", 10);
	buf_init(&b, 64);
	fail_next = 1;
	assert_int_equal(buf_read_file(&b, path, &e), ERR_TEMP);
	fail_next = 0;
	check(&b, 64);
	assert_int_equal(buf_read_file(&b, path, &e), ERR_OK);
	holds(&b, 64, "0123456789", 10);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_default_cap),
	    cmocka_unit_test(test_add_binary_and_text),
	    cmocka_unit_test(test_empty_add_allocates_terminator),
	    cmocka_unit_test(test_cap_exact_and_past),
	    cmocka_unit_test(test_reset_keeps_memory),
	    cmocka_unit_test(test_detach),
	    cmocka_unit_test(test_growth_keeps_bytes),
	    cmocka_unit_test(test_alloc_failure_leaves_bytes),
	    cmocka_unit_test(test_detach_empty_alloc_failure),
	    cmocka_unit_test(test_random_walk),
	    cmocka_unit_test_setup_teardown(test_read_file, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_read_file_alloc_failure, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
