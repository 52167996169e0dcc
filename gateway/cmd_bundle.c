/*
 * cmd_bundle.c: `scfgate bundle export|verify|list|import|ack|prune`:
 * signed tar bundles to carry spool records across an air gap
 * (docs/bundles.md; the format is in spool/bundle.h), optionally
 * encrypted to the receiving half's X25519 key (spool/seal.h).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cfg.h"
#include "cli.h"
#include "seal.h"
#include "sig.h"
#include "spool.h"

static const char usage_text[] =
    "usage: scfgate bundle <sub-command> [--config FILE] [options]\n"
    "\n"
    "  export [--config FILE | --root DIR --queue Q --key PRIVATE.key] [--from SEQ]\n"
    "         [--to SEQ] [--done] [--signer ID] [--record-pubkey PUB]\n"
    "         [--encrypt-to PEER.x25519.pub] --out FILE\n"
    "      Records of Q's new/ (or done/ with --done) into FILE: a tar, gzip'd if FILE\n"
    "      ends .tar.gz, zstd'd if .tar.zst, with a manifest signed by the key.  Each\n"
    "      record is decoded first and must match its name (and, with --record-pubkey,\n"
    "      verify); anything else is refused, naming the file.  --encrypt-to encrypts\n"
    "      the whole file to the receiving half's X25519 key (name it FILE.enc, e.g.\n"
    "      out.tar.zst.enc: the compression is chosen without the .enc).\n"
    "  verify FILE [--config FILE | --pubkey PUB] [--record-pubkey PUB]\n"
    "         [--decrypt-key KEY] [--json]\n"
    "      Check the manifest signature and every digest (and with --record-pubkey each\n"
    "      record's own signature) in memory; nothing is extracted.\n"
    "  list FILE [--config FILE | --pubkey PUB] [--decrypt-key KEY] [--json]\n"
    "      Print the manifest and the entries; verified when a key is given.\n"
    "  import FILE [--config FILE | --root DIR --queue Q --pubkey PUB]\n"
    "         [--record-pubkey PUB] [--decrypt-key KEY] [--max-entry-bytes N]\n"
    "         [--max-entries N] [--max-total-bytes N]\n"
    "      Verify everything, then commit the records into Q's new/ in sequence order.\n"
    "      Records already present are skipped; a conflict refuses the whole bundle.\n"
    "  ack [--config FILE | --root DIR --queue Q --key PRIVATE.key] [--signer ID]\n"
    "         --out FILE\n"
    "      Receiving side: a signed acknowledgment of every sequence Q holds.\n"
    "  prune FILE [--config FILE | --root DIR --queue Q --pubkey PEER.pub]\n"
    "      Sending side: verify an acknowledgment, then remove the acknowledged\n"
    "      records from Q's new/.\n"
    "\n"
    "--config FILE gives what is not on the command line: the spool root; the queue\n"
    "(export and prune: the one this half writes; import and ack: the one it\n"
    "receives); this half's private key and producer id (export, ack) or the peer's\n"
    "public key (verify, list, import, prune).  Without --config, export, import,\n"
    "ack and prune without --root, and verify without --pubkey, read\n"
    "/etc/scfgate/scf.xml or /etc/scfgate/oms.xml, whichever exists.\n"
    "PUB is the public key of the half that signed the bundle; --record-pubkey names\n"
    "the records' signer when it is another half (archives of done/).  --signer\n"
    "defaults to the key file's base name.  --json prints one JSON document.\n"
    "An encrypted bundle (verify, list, import) is recognised by its first bytes and\n"
    "decrypted with --decrypt-key KEY, this half's X25519 private key (default: the\n"
    "configuration's <bundleDecryptionKey>), into an unnamed private temporary file\n"
    "that is gone afterwards; with <requireEncryptedBundles>true</...> in the\n"
    "configuration, import and verify refuse a bundle that is not encrypted.\n";

struct opts {
	const char *file, *root, *queue, *key, *pubkey, *record_pubkey, *out, *signer, *config;
	const char *encrypt_to, *decrypt_key;
	int require_encrypted; /* <requireEncryptedBundles> */
	char config_buf[CLI_PATH_MAX];
	struct cfg *cfg; /* loaded by apply_config; freed by cmd_bundle */
	uint64_t from, to;
	int done, json;
	struct bundle_limits lim;
};

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
	*out = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

static int parse_num(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	*out = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

static int parse_args(const char *cmd, int argc, char **argv, struct opts *o)
{
	static const struct {
		const char *name;
		size_t off;
	} strs[] = {
	    {"--root", offsetof(struct opts, root)},
	    {"--queue", offsetof(struct opts, queue)},
	    {"--key", offsetof(struct opts, key)},
	    {"--pubkey", offsetof(struct opts, pubkey)},
	    {"--record-pubkey", offsetof(struct opts, record_pubkey)},
	    {"--out", offsetof(struct opts, out)},
	    {"--signer", offsetof(struct opts, signer)},
	    {"--config", offsetof(struct opts, config)},
	    {"--encrypt-to", offsetof(struct opts, encrypt_to)},
	    {"--decrypt-key", offsetof(struct opts, decrypt_key)},
	};
	static const char *const nums[] = {"--from", "--to", "--max-entry-bytes", "--max-entries",
	                                   "--max-total-bytes"};
	uint64_t v;

	memset(o, 0, sizeof(*o));
	bundle_limits_default(&o->lim);
	for (int i = 1; i < argc; i++) {
		const char *val = NULL;
		size_t k;

		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
			continue;
		}
		if (strcmp(argv[i], "--done") == 0) {
			o->done = 1;
			continue;
		}
		for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			if (option_value(argc, argv, &i, strs[k].name, &val))
				break;
		if (k < sizeof(strs) / sizeof(strs[0])) {
			if (!val || !*val)
				return cli_usage(cmd, "%s needs a value", strs[k].name);
			*(const char **)((char *)o + strs[k].off) = val;
			continue;
		}
		for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
			if (option_value(argc, argv, &i, nums[k], &val))
				break;
		if (k < sizeof(nums) / sizeof(nums[0])) {
			if (parse_num(val, &v) != 0 || v == 0)
				return cli_usage(cmd, "%s needs a positive number", nums[k]);
			if (k == 0)
				o->from = v;
			else if (k == 1)
				o->to = v;
			else if (k == 2)
				o->lim.max_entry_bytes = (size_t)v;
			else if (k == 3)
				o->lim.max_entries = (size_t)v;
			else
				o->lim.max_total_bytes = v;
			continue;
		}
		if (argv[i][0] == '-' || o->file)
			return cli_usage(cmd, "unknown argument '%s' (see --help)", argv[i]);
		o->file = argv[i];
	}
	if (o->from && o->to && o->from > o->to)
		return cli_usage(cmd, "--from is after --to");
	return 0;
}

/* What a sub-command takes from the configuration. */
enum use { USE_EXPORT, USE_ACK, USE_IMPORT, USE_PRUNE, USE_VERIFY, USE_LIST };

/* With --config, or without it when what the configuration gives is
 * missing (--root for the sub-commands that touch a spool, --pubkey for
 * verify), read the configuration (the default one without --config) and
 * fill in every option not given: the root; the queue (export and prune:
 * the one this half writes; import and ack: the one it receives); the
 * key (this half's private key and producer id to sign; the peer's
 * public key to verify).  Options given on the command line win. */
static int apply_config(const char *cmd, enum use u, struct opts *o)
{
	const char *produced, *consumed;
	struct err e;
	int rc;

	if (!o->config && !(u == USE_VERIFY ? !o->pubkey : u != USE_LIST && !o->root))
		return 0;
	if ((rc = cli_config_path(cmd, CLI_HALF_ANY, o->config, o->config_buf, &o->config)) != 0)
		return rc;
	err_clear(&e);
	if (cfg_load_file(o->config, &o->cfg, &e) != ERR_OK)
		return cli_fail(cmd, &e);
	produced = o->cfg->half == CFG_HALF_SCF ? "outbound" : "inbound";
	consumed = o->cfg->half == CFG_HALF_SCF ? "inbound" : "outbound";
	if (u == USE_VERIFY || u == USE_LIST || u == USE_IMPORT) {
		o->decrypt_key =
		    o->decrypt_key ? o->decrypt_key : o->cfg->spool.bundle_decryption_key;
		o->require_encrypted = o->cfg->spool.require_encrypted_bundles;
	}
	if (u == USE_VERIFY || u == USE_LIST) {
		o->pubkey = o->pubkey ? o->pubkey : o->cfg->spool.peer_public_key;
		return 0;
	}
	o->root = o->root ? o->root : o->cfg->spool.root;
	if (!o->queue)
		o->queue = u == USE_EXPORT || u == USE_PRUNE ? produced : consumed;
	if (u == USE_EXPORT || u == USE_ACK) {
		o->key = o->key ? o->key : o->cfg->spool.private_key;
		o->signer = o->signer ? o->signer : o->cfg->spool.producer;
	} else {
		o->pubkey = o->pubkey ? o->pubkey : o->cfg->spool.peer_public_key;
	}
	return 0;
}

static int need(const char *cmd, const char *val, const char *what)
{
	if (val)
		return 0;
	return cli_usage(cmd, "%s is required", what);
}

/* The key file's base name, when it is a valid id. */
static void default_signer(const char *key_path, char out[RECORD_PRODUCER_MAX + 1])
{
	const char *base = strrchr(key_path, '/');
	size_t n;

	base = base ? base + 1 : key_path;
	n = strcspn(base, ".");
	snprintf(out, RECORD_PRODUCER_MAX + 1, "%.*s", (int)n, base);
	if (n > RECORD_PRODUCER_MAX || !record_producer_valid(out))
		snprintf(out, RECORD_PRODUCER_MAX + 1, "scfgate");
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

static void progress_bar(uint64_t done, uint64_t total, void *ctx)
{
	const char *what = ctx;
	int width = 40, fill = total ? (int)(done * (uint64_t)width / total) : width;

	fprintf(stderr, "\r%s [%.*s%*s] %" PRIu64 "/%" PRIu64, what, fill,
	        "########################################", width - fill, "", done, total);
	if (done == total)
		fputc('\n', stderr);
}

static int load_key(const char *cmd, const char *path, int private, struct sig_key **k)
{
	struct err e;

	err_clear(&e);
	if ((private ? sig_load_private(path, k, &e) : sig_load_public(path, k, &e)) != ERR_OK)
		return cli_fail(cmd, &e);
	return 0;
}

/* ---- encrypted bundles ---------------------------------------------------------- */

/* What the bundle reader reads: the file itself, or its decrypted copy,
 * open (never handed on by a name another process could swap). */
struct opened {
	struct seal_plain plain;
	int file_fd;                      /* the file the operator gave, opened by bundle_open */
	int fd;                           /* what the reader reads: file_fd or plain.fd */
	char key_id[SEAL_KEY_ID_LEN + 1]; /* decrypted with; "" when not encrypted */
};

static void opened_close(struct opened *op)
{
	seal_plain_close(&op->plain);
	if (op->file_fd >= 0)
		close(op->file_fd);
	op->file_fd = op->fd = -1;
}

/*
 * Open the bundle file without following a link or blocking (a link, a
 * FIFO or a device planted under its name is refused, naming it, before
 * anything is read); recognise an encrypted bundle by its magic and
 * decrypt it with the decryption key into an unnamed private file in
 * tmp_dir (op->fd then reads it); a plain one is read as it is, unless
 * the configuration requires encryption.  Release with opened_close.
 */
static enum err_status open_bundle(const struct opts *o, const char *tmp_dir, struct opened *op,
                                   struct err *e)
{
	struct seal_key *k = NULL;
	enum err_status st;
	int sealed;

	memset(op, 0, sizeof(*op));
	op->plain.fd = op->file_fd = op->fd = -1;
	if ((st = bundle_open(o->file, &op->file_fd, e)) != ERR_OK)
		return st;
	op->fd = op->file_fd;
	if ((st = seal_probe_fd(op->file_fd, o->file, &sealed, e)) != ERR_OK)
		return st;
	if (!sealed) {
		if (o->require_encrypted)
			return err_set(
			    e, ERR_PERM,
			    "%s: not an encrypted bundle, and this half accepts encrypted "
			    "bundles only (<requireEncryptedBundles>)",
			    o->file);
		return ERR_OK;
	}
	if (!o->decrypt_key)
		return err_set(
		    e, ERR_PERM,
		    "%s: an encrypted bundle: give --decrypt-key with this half's X25519 "
		    "private key, or a configuration with <bundleDecryptionKey>",
		    o->file);
	if ((st = seal_load_private(o->decrypt_key, &k, e)) != ERR_OK)
		return st;
	seal_key_id(k, op->key_id);
	st = seal_open_fd(op->file_fd, o->file, k, tmp_dir, &op->plain, e);
	seal_key_free(k);
	if (st == ERR_OK)
		op->fd = op->plain.fd;
	return st;
}

/* verify and list: the receiving queue's tmp/ when the configuration
 * names the spool, else $TMPDIR or /tmp. */
static void read_tmp_dir(const struct opts *o, char out[CLI_PATH_MAX])
{
	const char *t = getenv("TMPDIR");

	if (o->cfg && o->cfg->spool.root) {
		snprintf(out, CLI_PATH_MAX, "%s/%s/tmp", o->cfg->spool.root,
		         o->cfg->half == CFG_HALF_SCF ? "inbound" : "outbound");
		if (access(out, W_OK | X_OK) == 0)
			return;
	}
	snprintf(out, CLI_PATH_MAX, "%s", t && *t ? t : "/tmp");
}

/* ---- export / ack ------------------------------------------------------------ */

static int run_export(int argc, char **argv, int ack, struct opts *o)
{
	const char *cmd = ack ? "bundle ack" : "bundle export";
	struct bundle_export_opts xo;
	struct bundle_info info;
	char signer[RECORD_PRODUCER_MAX + 1];
	struct sig_key *key = NULL, *rpub = NULL;
	struct seal_key *to = NULL;
	char to_id[SEAL_KEY_ID_LEN + 1] = "";
	struct err e;
	int rc;

	if ((rc = parse_args(cmd, argc, argv, o)) != 0 ||
	    (rc = apply_config(cmd, ack ? USE_ACK : USE_EXPORT, o)) != 0)
		return rc;
	if (o->file)
		return cli_usage(cmd, "unexpected argument '%s' (the output is --out FILE)",
		                 o->file);
	if (ack && o->record_pubkey)
		return cli_usage(cmd, "--record-pubkey is for export");
	if (ack && o->encrypt_to)
		return cli_usage(cmd, "--encrypt-to is for export (an acknowledgment carries "
		                      "sequence ranges only)");
	if (o->decrypt_key)
		return cli_usage(cmd, "--decrypt-key is for verify, list and import");
	if ((rc = need(cmd, o->root, "--root DIR")) || (rc = need(cmd, o->queue, "--queue Q")) ||
	    (rc = need(cmd, o->key, "--key PRIVATE.key")) || (rc = need(cmd, o->out, "--out FILE")))
		return rc;
	if (!spool_queue_valid(o->queue))
		return cli_usage(cmd, "queue '%s' is not a valid queue name", o->queue);
	if (ack && (o->from || o->to || o->done))
		return cli_usage(cmd, "--from, --to and --done are for export");
	if (o->signer)
		snprintf(signer, sizeof(signer), "%s", o->signer);
	else
		default_signer(o->key, signer);
	if ((rc = load_key(cmd, o->key, 1, &key)) != 0)
		return rc;
	if (o->record_pubkey && (rc = load_key(cmd, o->record_pubkey, 0, &rpub)) != 0) {
		sig_key_free(key);
		return rc;
	}
	err_clear(&e);
	if (o->encrypt_to && seal_load_public(o->encrypt_to, &to, &e) != ERR_OK) {
		sig_key_free(key);
		sig_key_free(rpub);
		return cli_fail(cmd, &e);
	}
	if (to)
		seal_key_id(to, to_id);
	if (ack) {
		rc = bundle_ack_export(o->root, o->queue, signer, key, o->out, &info, &e);
	} else {
		xo = (struct bundle_export_opts){
		    o->root,  o->queue, o->done ? SPOOL_DONE : SPOOL_NEW,
		    o->from,  o->to,    signer,
		    NULL,     NULL,     NULL,
		    "export", rpub,     0};
		if (isatty(STDERR_FILENO))
			xo.progress = progress_bar;
		rc = bundle_export_sealed(&xo, key, to, o->out, &info, &e);
	}
	sig_key_free(key);
	sig_key_free(rpub);
	seal_key_free(to);
	if (rc != ERR_OK)
		return cli_fail(cmd, &e);
	if (o->json) {
		printf("{\"file\":");
		print_json_string(o->out);
		printf(",\"kind\":\"%s\",\"records\":%zu,\"bytes\":%" PRIu64 ",\"ranges\":[",
		       ack ? "ack" : "records", info.n_entries, info.total_bytes);
		for (size_t i = 0; i < info.n_ranges; i++)
			printf("%s{\"producer\":\"%s\",\"first\":%" PRIu64 ",\"last\":%" PRIu64
			       ",\"count\":%" PRIu64 "}",
			       i ? "," : "", info.ranges[i].producer, info.ranges[i].first,
			       info.ranges[i].last, info.ranges[i].count);
		printf("]");
		if (!ack) {
			printf(",\"encrypted_to\":");
			if (to_id[0])
				printf("\"%s\"", to_id);
			else
				printf("null");
		}
		printf("}\n");
	} else if (ack) {
		printf("%s: acknowledges %zu range(s)\n", o->out, info.n_ranges);
	} else {
		printf("%s: %zu record(s), %" PRIu64 " bytes%s%s\n", o->out, info.n_entries,
		       info.total_bytes, to_id[0] ? ", encrypted to key " : "", to_id);
	}
	bundle_info_release(&info);
	return CLI_EXIT_OK;
}

/* ---- verify / list ------------------------------------------------------------- */

struct show_ctx {
	int json, list;
	size_t n;
};

static enum err_status show_entry(const struct bundle_entry *ent, void *vctx, struct err *e)
{
	struct show_ctx *c = vctx;

	if (!c->list)
		return ERR_OK;
	if (c->json)
		printf("%s{\"name\":\"%s\",\"size\":%zu,\"sha256\":\"%s\"}", c->n ? "," : "",
		       ent->name, ent->size, ent->sha256);
	else
		printf("%s  %8zu  %s\n", ent->sha256, ent->size, ent->name);
	c->n++;
	return ERR_OK;
}

static void print_info_text(const struct bundle_info *in)
{
	printf("kind: %s\nsigner: %s (key %s)%s\ncreated: %s\nqueue: %s/%s\nrecords: %zu\n",
	       in->kind == BUNDLE_ACK ? "ack" : "records", in->signer, in->key_id,
	       in->signature_checked ? "" : " [signature NOT checked: no --pubkey]", in->created,
	       in->queue, in->source, in->n_entries);
	for (size_t i = 0; i < in->n_ranges; i++)
		printf("range: %s %" PRIu64 "-%" PRIu64 " (%" PRIu64 ")\n", in->ranges[i].producer,
		       in->ranges[i].first, in->ranges[i].last, in->ranges[i].count);
}

static void print_info_json(const struct bundle_info *in)
{
	printf(",\"kind\":\"%s\",\"signer\":\"%s\",\"key_id\":\"%s\",\"created\":\"%s\","
	       "\"queue\":\"%s\",\"source\":\"%s\",\"records\":%zu,\"bytes\":%" PRIu64
	       ",\"signature_checked\":%s,\"ranges\":[",
	       in->kind == BUNDLE_ACK ? "ack" : "records", in->signer, in->key_id, in->created,
	       in->queue, in->source, in->n_entries, in->total_bytes,
	       in->signature_checked ? "true" : "false");
	for (size_t i = 0; i < in->n_ranges; i++)
		printf("%s{\"producer\":\"%s\",\"first\":%" PRIu64 ",\"last\":%" PRIu64
		       ",\"count\":%" PRIu64 "}",
		       i ? "," : "", in->ranges[i].producer, in->ranges[i].first,
		       in->ranges[i].last, in->ranges[i].count);
	printf("]");
}

static int run_read(int argc, char **argv, int list, struct opts *o)
{
	const char *cmd = list ? "bundle list" : "bundle verify";
	struct sig_key *pub = NULL, *rpub = NULL;
	struct show_ctx c = {0};
	struct bundle_read_opts ro;
	struct bundle_info info;
	char tmp_dir[CLI_PATH_MAX];
	struct opened op = {.plain = {.fd = -1}, .file_fd = -1, .fd = -1};
	enum err_status st;
	struct err e;
	int rc;

	if ((rc = parse_args(cmd, argc, argv, o)) != 0 ||
	    (rc = apply_config(cmd, list ? USE_LIST : USE_VERIFY, o)) != 0)
		return rc;
	if (o->encrypt_to)
		return cli_usage(cmd, "--encrypt-to is for export");
	if ((rc = need(cmd, o->file, "the bundle FILE")) != 0)
		return rc;
	if (!list && (rc = need(cmd, o->pubkey, "--pubkey PUB")) != 0)
		return rc;
	if (o->pubkey && (rc = load_key(cmd, o->pubkey, 0, &pub)) != 0)
		return rc;
	if (o->record_pubkey && (rc = load_key(cmd, o->record_pubkey, 0, &rpub)) != 0) {
		sig_key_free(pub);
		return rc;
	}
	c.json = o->json;
	c.list = list;
	ro = (struct bundle_read_opts){pub, rpub, &o->lim, show_entry, &c};
	if (o->json) {
		printf("{\"file\":");
		print_json_string(o->file);
		printf(",\"entries\":[");
	}
	err_clear(&e);
	read_tmp_dir(o, tmp_dir);
	/* Listing is for looking: it shows a plain bundle even where only
	 * encrypted ones are imported. */
	if (list)
		o->require_encrypted = 0;
	st = open_bundle(o, tmp_dir, &op, &e);
	if (st == ERR_OK)
		st = bundle_read_fd(op.fd, o->file, &ro, &info, &e);
	opened_close(&op);
	sig_key_free(pub);
	sig_key_free(rpub);
	if (o->json) {
		printf("],\"ok\":%s", st == ERR_OK ? "true" : "false");
		if (st == ERR_OK) {
			print_info_json(&info);
			printf(",\"encrypted_to\":");
			if (op.key_id[0])
				printf("\"%s\"", op.key_id);
			else
				printf("null");
		} else {
			printf(",\"error\":");
			print_json_string(e.msg);
		}
		printf("}\n");
	} else if (st == ERR_OK) {
		print_info_text(&info);
		if (op.key_id[0])
			printf("encrypted: to key %s, decrypted and authenticated\n", op.key_id);
		else
			printf("encrypted: no\n");
		if (!list)
			printf("%s: OK: signature and %zu digest(s) verified%s\n", o->file,
			       info.n_entries,
			       o->record_pubkey
			           ? ", records verified"
			           : "; the records' own signatures were NOT checked (give "
			             "--record-pubkey to check them)");
	}
	if (st != ERR_OK) {
		if (!o->json)
			return cli_fail(cmd, &e);
		return CLI_EXIT_FAIL;
	}
	bundle_info_release(&info);
	return CLI_EXIT_OK;
}

/* ---- import / prune --------------------------------------------------------------- */

static int run_import(int argc, char **argv, struct opts *o)
{
	const char *cmd = "bundle import";
	struct sig_key *pub = NULL, *rpub = NULL;
	struct bundle_import_result res;
	char tmp_dir[SPOOL_PATH_MAX];
	struct opened op = {.plain = {.fd = -1}, .file_fd = -1, .fd = -1};
	struct err e;
	int rc;

	if ((rc = parse_args(cmd, argc, argv, o)) != 0 ||
	    (rc = apply_config(cmd, USE_IMPORT, o)) != 0)
		return rc;
	if (o->encrypt_to)
		return cli_usage(cmd, "--encrypt-to is for export");
	if ((rc = need(cmd, o->file, "the bundle FILE")) ||
	    (rc = need(cmd, o->root, "--root DIR")) || (rc = need(cmd, o->queue, "--queue Q")) ||
	    (rc = need(cmd, o->pubkey, "--pubkey PUB")))
		return rc;
	if (!spool_queue_valid(o->queue))
		return cli_usage(cmd, "queue '%s' is not a valid queue name", o->queue);
	if ((rc = load_key(cmd, o->pubkey, 0, &pub)) != 0)
		return rc;
	if (o->record_pubkey && (rc = load_key(cmd, o->record_pubkey, 0, &rpub)) != 0) {
		sig_key_free(pub);
		return rc;
	}
	err_clear(&e);
	/* The decrypted copy goes beside the spool's own temporary files. */
	rc = spool_queue_init(o->root, o->queue, &e);
	if (rc == ERR_OK)
		rc = spool_path(tmp_dir, o->root, o->queue, SPOOL_TMP, NULL, &e);
	if (rc == ERR_OK)
		rc = open_bundle(o, tmp_dir, &op, &e);
	if (rc == ERR_OK)
		rc = bundle_import_fd(op.fd, o->file, o->root, o->queue, pub, rpub, &o->lim, &res,
		                      &e);
	opened_close(&op);
	sig_key_free(pub);
	sig_key_free(rpub);
	if (rc != ERR_OK)
		return cli_fail(cmd, &e);
	if (o->json)
		printf("{\"imported\":%zu,\"duplicates\":%zu,\"encrypted_to\":%s%s%s}\n",
		       res.imported, res.duplicates, op.key_id[0] ? "\"" : "",
		       op.key_id[0] ? op.key_id : "null", op.key_id[0] ? "\"" : "");
	else
		printf("%s: %zu record(s) imported, %zu already present%s%s\n", o->file,
		       res.imported, res.duplicates, op.key_id[0] ? "; decrypted with key " : "",
		       op.key_id);
	return CLI_EXIT_OK;
}

static int run_prune(int argc, char **argv, struct opts *o)
{
	const char *cmd = "bundle prune";
	struct sig_key *pub = NULL;
	size_t pruned = 0;
	struct err e;
	int rc, sealed = 0;

	if ((rc = parse_args(cmd, argc, argv, o)) != 0 ||
	    (rc = apply_config(cmd, USE_PRUNE, o)) != 0)
		return rc;
	if (o->encrypt_to || o->decrypt_key)
		return cli_usage(cmd, "--encrypt-to and --decrypt-key are not for prune");
	if ((rc = need(cmd, o->file, "the acknowledgment FILE")) ||
	    (rc = need(cmd, o->root, "--root DIR")) || (rc = need(cmd, o->queue, "--queue Q")) ||
	    (rc = need(cmd, o->pubkey, "--pubkey PEER.pub")))
		return rc;
	if (!spool_queue_valid(o->queue))
		return cli_usage(cmd, "queue '%s' is not a valid queue name", o->queue);
	if ((rc = load_key(cmd, o->pubkey, 0, &pub)) != 0)
		return rc;
	err_clear(&e);
	/* Acknowledgments carry sequence ranges only and are never encrypted;
	 * an encrypted file here is a records bundle given by mistake. */
	rc = seal_probe(o->file, &sealed, &e);
	if (rc == ERR_OK && sealed)
		rc = err_set(&e, ERR_PERM,
		             "%s: an encrypted bundle, not an acknowledgment (acknowledgments "
		             "are never encrypted)",
		             o->file);
	if (rc == ERR_OK)
		rc = bundle_prune(o->file, o->root, o->queue, pub, &pruned, &e);
	sig_key_free(pub);
	if (rc != ERR_OK)
		return cli_fail(cmd, &e);
	if (o->json)
		printf("{\"pruned\":%zu}\n", pruned);
	else
		printf("%s: %zu acknowledged record(s) removed from %s/new\n", o->file, pruned,
		       o->queue);
	return CLI_EXIT_OK;
}

int cmd_bundle(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	struct opts o;
	int rc;

	if (!sub)
		return cli_usage("bundle", "a sub-command is needed: export, verify, list, import, "
		                           "ack or prune (see --help)");
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	memset(&o, 0, sizeof(o));
	if (strcmp(sub, "export") == 0)
		rc = run_export(argc - 1, argv + 1, 0, &o);
	else if (strcmp(sub, "ack") == 0)
		rc = run_export(argc - 1, argv + 1, 1, &o);
	else if (strcmp(sub, "verify") == 0)
		rc = run_read(argc - 1, argv + 1, 0, &o);
	else if (strcmp(sub, "list") == 0)
		rc = run_read(argc - 1, argv + 1, 1, &o);
	else if (strcmp(sub, "import") == 0)
		rc = run_import(argc - 1, argv + 1, &o);
	else if (strcmp(sub, "prune") == 0)
		rc = run_prune(argc - 1, argv + 1, &o);
	else
		return cli_usage("bundle",
		                 "'%s' is not a sub-command (export, verify, list, import, ack, "
		                 "prune)",
		                 sub);
	cfg_free(o.cfg);
	return rc;
}
