/*
 * cmd_keygen.c: `scfgate keygen --dir DIR --name NAME`: make a half's
 * Ed25519 key pair (DIR/NAME.key, mode 0600, and DIR/NAME.pub) and print
 * the key id the other half will see in every record's signature; with
 * --x25519 the half's key pair for encrypted bundles instead
 * (DIR/NAME.x25519.key and .pub, spool/seal.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "record.h"
#include "seal.h"
#include "sig.h"

static const char usage_text[] =
    "usage: scfgate keygen --dir DIR --name NAME [--x25519] [--json]\n"
    "\n"
    "Make an Ed25519 key pair for one half of the gateway:\n"
    "  DIR/NAME.key  private key (PKCS#8 PEM, mode 0600): stays on this half\n"
    "  DIR/NAME.pub  public key (PEM): copy it to the other half\n"
    "NAME is a short id such as scf or oms ([a-z0-9][a-z0-9_-]{0,31}).\n"
    "Existing files are never overwritten.  Prints the key id (16 hex digits),\n"
    "which records carry beside their signature.\n"
    "\n"
    "With --x25519, the key pair that encrypted bundles are sealed to instead:\n"
    "  DIR/NAME.x25519.key  private key (PKCS#8 PEM, mode 0600): stays on this\n"
    "                       half (<bundleDecryptionKey> in its configuration)\n"
    "  DIR/NAME.x25519.pub  public key: copy it to the other half, which encrypts\n"
    "                       the bundles it exports for this half to it\n"
    "and prints its key id, which encrypted bundles carry in their header.\n"
    "\n"
    "  --dir DIR    directory for the two files (must exist)\n"
    "  --name NAME  base name of the files\n"
    "  --x25519     make the encryption key pair (see above)\n"
    "  --json       print {\"key_id\":...,\"private\":...,\"public\":...}\n";

/* Accept "--opt VALUE" and "--opt=VALUE". */
static int option_value(int argc, char **argv, int *i, const char *opt, const char **out)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		*out = NULL;
		return 1;
	}
	*out = argv[++*i];
	return 1;
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

int cmd_keygen(int argc, char **argv)
{
	const char *dir = NULL, *name = NULL, *ext = "";
	char id[SIG_KEY_ID_LEN + 1];
	char path[4096];
	struct sig_key *k = NULL;
	struct err e;
	int json = 0, x25519 = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;

		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--x25519") == 0) {
			x25519 = 1;
		} else if (option_value(argc, argv, &i, "--dir", &v)) {
			if (!v || !*v)
				return cli_usage("keygen", "--dir needs a directory");
			dir = v;
		} else if (option_value(argc, argv, &i, "--name", &v)) {
			if (!v || !*v)
				return cli_usage("keygen", "--name needs a name");
			name = v;
		} else {
			return cli_usage("keygen", "unknown argument '%s' (see --help)", argv[i]);
		}
	}
	if (!dir)
		return cli_usage("keygen", "--dir DIR is required");
	if (!name)
		return cli_usage("keygen", "--name NAME is required");
	if (!record_producer_valid(name))
		return cli_usage("keygen", "name '%s' is not [a-z0-9][a-z0-9_-]{0,31}", name);

	err_clear(&e);
	if (x25519) {
		struct seal_key *xk = NULL;

		ext = ".x25519";
		if (seal_keygen(dir, name, &e) != ERR_OK)
			return cli_fail("keygen", &e);
		snprintf(path, sizeof(path), "%s/%s%s.pub", dir, name, ext);
		if (seal_load_public(path, &xk, &e) != ERR_OK)
			return cli_fail("keygen", &e);
		seal_key_id(xk, id);
		seal_key_free(xk);
	} else {
		if (sig_keygen(dir, name, &e) != ERR_OK)
			return cli_fail("keygen", &e);
		snprintf(path, sizeof(path), "%s/%s.pub", dir, name);
		if (sig_load_public(path, &k, &e) != ERR_OK)
			return cli_fail("keygen", &e);
		sig_key_id(k, id);
		sig_key_free(k);
	}
	if (json) {
		printf("{\"key_id\":\"%s\",\"private\":", id);
		snprintf(path, sizeof(path), "%s/%s%s.key", dir, name, ext);
		print_json_string(path);
		printf(",\"public\":");
		snprintf(path, sizeof(path), "%s/%s%s.pub", dir, name, ext);
		print_json_string(path);
		printf("}\n");
	} else {
		printf("%s\n", id);
	}
	return CLI_EXIT_OK;
}
