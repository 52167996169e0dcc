/*
 * cmd_keygen.c: `scfgate keygen --dir DIR --name NAME`: make a half's
 * Ed25519 key pair (DIR/NAME.key, mode 0600, and DIR/NAME.pub) and print
 * the key id the other half will see in every record's signature; with
 * --x25519 the half's key pair for encrypted bundles instead
 * (DIR/NAME.x25519.key and .pub, spool/seal.h).
 */
#include <stdio.h>

#include "cli.h"
#include "jdoc.h"
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

enum { OPT_DIR = CLI_OPT_LONG, OPT_NAME, OPT_X25519, OPT_JSON };

static const struct option options[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"name", required_argument, NULL, OPT_NAME},
    {"x25519", no_argument, NULL, OPT_X25519},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

/* {"key_id":...,"private":...,"public":...} on one line. */
static int print_json(const char *id, const char *dir, const char *name, const char *ext)
{
	struct jdoc d = JDOC_INIT;
	cJSON *o = jdoc_root_object(&d);
	char path[4096];

	jdoc_string(&d, o, "key_id", id);
	snprintf(path, sizeof(path), "%s/%s%s.key", dir, name, ext);
	jdoc_string(&d, o, "private", path);
	snprintf(path, sizeof(path), "%s/%s%s.pub", dir, name, ext);
	jdoc_string(&d, o, "public", path);
	return cli_print_jdoc("keygen", &d);
}

int cmd_keygen(int argc, char **argv)
{
	const char *dir = NULL, *name = NULL, *ext = "";
	char id[SIG_KEY_ID_LEN + 1];
	char path[4096];
	struct sig_key *k = NULL;
	struct err e;
	struct cli_opt o;
	int json = 0, x25519 = 0, opt;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	cli_opt_init(&o, "keygen", NULL, argc, argv, options);
	while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
		switch (opt) {
		case OPT_JSON:
			json = 1;
			break;
		case OPT_X25519:
			x25519 = 1;
			break;
		case OPT_DIR:
			if (!*o.arg)
				return cli_usage("keygen", "--dir needs a directory");
			dir = o.arg;
			break;
		case OPT_NAME:
			if (!*o.arg)
				return cli_usage("keygen", "--name needs a name");
			name = o.arg;
			break;
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		default:
			return cli_opt_unknown(&o);
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
	if (json)
		return print_json(id, dir, name, ext);
	printf("%s\n", id);
	return CLI_EXIT_OK;
}
