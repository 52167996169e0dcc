/*
 * test_sig.c: Ed25519 keys on real files: key generation, modes, refusal
 * to overwrite, loading, signing, verifying, key ids, SHA-256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "sig.h"

static char dir[] = "/tmp/test_sig.XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static void test_keygen_modes_and_no_overwrite(void **state)
{
	char priv[512], pub[512];
	struct stat sb;
	struct err e;

	err_clear(&e);
	assert_int_equal(sig_keygen(dir, "scf", &e), ERR_OK);
	path_of(priv, sizeof(priv), "scf.key");
	path_of(pub, sizeof(pub), "scf.pub");
	assert_int_equal(stat(priv, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(pub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);

	/* A second run must refuse and leave the first pair untouched. */
	assert_int_equal(stat(priv, &sb), 0);
	assert_int_equal(sig_keygen(dir, "scf", &e), ERR_PERM);
	assert_non_null(strstr(e.msg, "refusing to overwrite"));

	/* Only the public half exists: still refused, and no .key appears. */
	assert_int_equal(unlink(priv), 0);
	assert_int_not_equal(sig_keygen(dir, "scf", &e), ERR_OK);
	assert_int_not_equal(stat(priv, &sb), 0);
}

static void test_sign_verify(void **state)
{
	char priv[512], pub[512];
	char id1[SIG_KEY_ID_LEN + 1], id2[SIG_KEY_ID_LEN + 1], id3[SIG_KEY_ID_LEN + 1];
	struct sig_key *sk = NULL, *pk = NULL, *other = NULL;
	unsigned char sig[SIG_BYTES];
	const char msg[] = "<record>hello</record>";
	struct err e;

	err_clear(&e);
	assert_int_equal(sig_keygen(dir, "a", &e), ERR_OK);
	assert_int_equal(sig_keygen(dir, "b", &e), ERR_OK);
	path_of(priv, sizeof(priv), "a.key");
	path_of(pub, sizeof(pub), "a.pub");
	assert_int_equal(sig_load_private(priv, &sk, &e), ERR_OK);
	assert_int_equal(sig_load_public(pub, &pk, &e), ERR_OK);
	path_of(pub, sizeof(pub), "b.pub");
	assert_int_equal(sig_load_public(pub, &other, &e), ERR_OK);
	assert_true(sig_key_can_sign(sk));
	assert_false(sig_key_can_sign(pk));

	sig_key_id(sk, id1);
	sig_key_id(pk, id2);
	sig_key_id(other, id3);
	assert_string_equal(id1, id2);
	assert_string_not_equal(id1, id3);
	assert_int_equal(strlen(id1), SIG_KEY_ID_LEN);
	assert_int_equal(strspn(id1, "0123456789abcdef"), SIG_KEY_ID_LEN);

	assert_int_equal(sig_sign(sk, msg, strlen(msg), sig, &e), ERR_OK);
	assert_int_equal(sig_verify(pk, msg, strlen(msg), sig, &e), ERR_OK);
	assert_int_equal(sig_verify(sk, msg, strlen(msg), sig, &e), ERR_OK);
	/* Another key, another message, a flipped signature bit: all fail. */
	assert_int_equal(sig_verify(other, msg, strlen(msg), sig, &e), ERR_PERM);
	assert_int_equal(sig_verify(pk, msg, strlen(msg) - 1, sig, &e), ERR_PERM);
	sig[10] ^= 1;
	assert_int_equal(sig_verify(pk, msg, strlen(msg), sig, &e), ERR_PERM);
	assert_non_null(strstr(e.msg, id1));
	/* A public key cannot sign. */
	assert_int_equal(sig_sign(pk, msg, strlen(msg), sig, &e), ERR_FATAL);

	sig_key_free(sk);
	sig_key_free(pk);
	sig_key_free(other);
}

static void test_load_errors(void **state)
{
	char path[512];
	struct sig_key *k = (struct sig_key *)1;
	struct err e;
	FILE *f;

	err_clear(&e);
	path_of(path, sizeof(path), "missing.pub");
	assert_int_equal(sig_load_public(path, &k, &e), ERR_FATAL);
	assert_null(k);
	assert_non_null(strstr(e.msg, "missing.pub"));

	path_of(path, sizeof(path), "junk.pub");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", f);
	fclose(f);
	assert_int_equal(sig_load_public(path, &k, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "not a PEM public key"));

	/* A public key file is not a private key. */
	assert_int_equal(sig_keygen(dir, "c", &e), ERR_OK);
	path_of(path, sizeof(path), "c.pub");
	assert_int_equal(sig_load_private(path, &k, &e), ERR_FATAL);
	assert_non_null(strstr(e.msg, "not a PEM private key"));
}

static void test_load_public_mem(void **state)
{
	static const char pem[] = "-----BEGIN PUBLIC KEY-----\n"
	                          "MCowBQYDK2VwAyEA5JTwR7XujpK/lVcEm8YZa92ZnkLVMXHIbVgJ/8Q8Mww=\n"
	                          "-----END PUBLIC KEY-----\n";
	char id[SIG_KEY_ID_LEN + 1];
	struct sig_key *k = NULL;
	struct err e;

	assert_int_equal(sig_load_public_mem(pem, strlen(pem), &k, &e), ERR_OK);
	sig_key_id(k, id);
	/* tests/data/keys/test-scf.pub, whose id the README lists. */
	assert_string_equal(id, "14e8a907af986bbd");
	sig_key_free(k);
}

static void test_sha256(void **state)
{
	char hex[65];

	sig_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sig_sha256_hex("", 0, hex);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keygen_modes_and_no_overwrite),
	    cmocka_unit_test(test_sign_verify),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_load_public_mem),
	    cmocka_unit_test(test_sha256),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
