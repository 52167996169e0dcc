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
#include "jdoc.h"
#include "seal.h"
#include "sig.h"
#include "spool.h"
#include "unconst.h"

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
    "      out.tar.zst.enc: the compression is chosen without the .enc); without it,\n"
    "      an export of new/ encrypts to the configuration's <bundleRecipientKey>.\n"
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

static int parse_num(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	*out = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

enum {
	OPT_JSON = CLI_OPT_LONG,
	OPT_DONE,
	OPT_ROOT,
	OPT_QUEUE,
	OPT_KEY,
	OPT_PUBKEY,
	OPT_RECORD_PUBKEY,
	OPT_OUT,
	OPT_SIGNER,
	OPT_ENCRYPT_TO,
	OPT_DECRYPT_KEY,
	OPT_FROM,
	OPT_TO,
	OPT_MAX_ENTRY_BYTES,
	OPT_MAX_ENTRIES,
	OPT_MAX_TOTAL_BYTES,
};

static const struct option options[] = {
    CLI_OPT_CONFIG,
    {"json", no_argument, NULL, OPT_JSON},
    {"done", no_argument, NULL, OPT_DONE},
    {"root", required_argument, NULL, OPT_ROOT},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"key", required_argument, NULL, OPT_KEY},
    {"pubkey", required_argument, NULL, OPT_PUBKEY},
    {"record-pubkey", required_argument, NULL, OPT_RECORD_PUBKEY},
    {"out", required_argument, NULL, OPT_OUT},
    {"signer", required_argument, NULL, OPT_SIGNER},
    {"encrypt-to", required_argument, NULL, OPT_ENCRYPT_TO},
    {"decrypt-key", required_argument, NULL, OPT_DECRYPT_KEY},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"max-entry-bytes", required_argument, NULL, OPT_MAX_ENTRY_BYTES},
    {"max-entries", required_argument, NULL, OPT_MAX_ENTRIES},
    {"max-total-bytes", required_argument, NULL, OPT_MAX_TOTAL_BYTES},
    {NULL, 0, NULL, 0},
};

/* Where an option that names a file or an id goes; NULL for the rest. */
static const char **str_slot(struct opts *o, int opt)
{
	switch (opt) {
	case 'c':
		return &o->config;
	case OPT_ROOT:
		return &o->root;
	case OPT_QUEUE:
		return &o->queue;
	case OPT_KEY:
		return &o->key;
	case OPT_PUBKEY:
		return &o->pubkey;
	case OPT_RECORD_PUBKEY:
		return &o->record_pubkey;
	case OPT_OUT:
		return &o->out;
	case OPT_SIGNER:
		return &o->signer;
	case OPT_ENCRYPT_TO:
		return &o->encrypt_to;
	case OPT_DECRYPT_KEY:
		return &o->decrypt_key;
	default:
		return NULL;
	}
}

static int parse_args(const char *cmd, int argc, char **argv, struct opts *o)
{
	struct cli_opt co;
	const char **slot;
	uint64_t v;
	int opt;

	memset(o, 0, sizeof(*o));
	bundle_limits_default(&o->lim);
	cli_opt_init(&co, cmd, NULL, argc, argv, options);
	while ((opt = cli_opt_next(&co)) != CLI_OPT_END) {
		if (opt == CLI_OPT_BAD)
			return CLI_EXIT_USAGE;
		if (opt == OPT_JSON) {
			o->json = 1;
		} else if (opt == OPT_DONE) {
			o->done = 1;
		} else if ((slot = str_slot(o, opt)) != NULL) {
			if (!*co.arg)
				return cli_usage(cmd, "%s needs a value", co.name);
			*slot = co.arg;
		} else if (opt >= OPT_FROM && opt <= OPT_MAX_TOTAL_BYTES) {
			if (parse_num(co.arg, &v) != 0 || v == 0)
				return cli_usage(cmd, "%s needs a positive number", co.name);
			if (opt == OPT_FROM)
				o->from = v;
			else if (opt == OPT_TO)
				o->to = v;
			else if (opt == OPT_MAX_ENTRY_BYTES)
				o->lim.max_entry_bytes = (size_t)v;
			else if (opt == OPT_MAX_ENTRIES)
				o->lim.max_entries = (size_t)v;
			else
				o->lim.max_total_bytes = v;
		} else if (opt == CLI_OPT_ARG && !o->file) {
			o->file = co.arg;
		} else {
			return cli_opt_unknown(&co);
		}
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
	rc = cli_config_path(cmd, CLI_HALF_ANY, o->config, o->config_buf, &o->config);
	if (rc != 0)
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
		/* Records for the other half, not an archive of done/ for
		 * this one (which could not open it). */
		if (u == USE_EXPORT && !o->done && !o->encrypt_to)
			o->encrypt_to = o->cfg->spool.bundle_recipient_key;
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

/* "ranges": [{"producer", "first", "last", "count"}...] */
static void ranges_json(struct jdoc *d, cJSON *j, const struct bundle_info *in)
{
	cJSON *a = jdoc_array(d, j, "ranges");

	for (size_t i = 0; i < in->n_ranges; i++) {
		cJSON *r = jdoc_object(d, a, NULL);

		jdoc_string(d, r, "producer", in->ranges[i].producer);
		jdoc_number(d, r, "first", (double)in->ranges[i].first);
		jdoc_number(d, r, "last", (double)in->ranges[i].last);
		jdoc_number(d, r, "count", (double)in->ranges[i].count);
	}
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

/* What import and prune both need: the FILE they read, the local queue
 * (--root, --queue, a valid name) and the peer's public key that signed
 * the file, loaded into *pub.  0, or the exit status of the refusal. */
static int need_target(const char *cmd, const struct opts *o, const char *file_what,
                       const char *pub_what, struct sig_key **pub)
{
	int rc = need(cmd, o->file, file_what);

	if (rc == 0)
		rc = need(cmd, o->root, "--root DIR");
	if (rc == 0)
		rc = need(cmd, o->queue, "--queue Q");
	if (rc == 0)
		rc = need(cmd, o->pubkey, pub_what);
	if (rc != 0)
		return rc;
	if (!spool_queue_valid(o->queue))
		return cli_usage(cmd, "queue '%s' is not a valid queue name", o->queue);
	return load_key(cmd, o->pubkey, 0, pub);
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
	st = bundle_open(o->file, &op->file_fd, e);
	if (st != ERR_OK)
		return st;
	op->fd = op->file_fd;
	st = seal_probe_fd(op->file_fd, o->file, &sealed, e);
	if (st != ERR_OK)
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
	st = seal_load_private(o->decrypt_key, &k, e);
	if (st != ERR_OK)
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

	rc = parse_args(cmd, argc, argv, o);
	if (rc == 0)
		rc = apply_config(cmd, ack ? USE_ACK : USE_EXPORT, o);
	if (rc != 0)
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
	rc = need(cmd, o->root, "--root DIR");
	if (rc == 0)
		rc = need(cmd, o->queue, "--queue Q");
	if (rc == 0)
		rc = need(cmd, o->key, "--key PRIVATE.key");
	if (rc == 0)
		rc = need(cmd, o->out, "--out FILE");
	if (rc != 0)
		return rc;
	if (!spool_queue_valid(o->queue))
		return cli_usage(cmd, "queue '%s' is not a valid queue name", o->queue);
	if (ack && (o->from || o->to || o->done))
		return cli_usage(cmd, "--from, --to and --done are for export");
	if (o->signer)
		snprintf(signer, sizeof(signer), "%s", o->signer);
	else
		default_signer(o->key, signer);
	rc = load_key(cmd, o->key, 1, &key);
	if (rc != 0)
		return rc;
	if (o->record_pubkey)
		rc = load_key(cmd, o->record_pubkey, 0, &rpub);
	if (rc != 0) {
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
		    .root = o->root,
		    .queue = o->queue,
		    .source = o->done ? SPOOL_DONE : SPOOL_NEW,
		    .from = o->from,
		    .to = o->to,
		    .signer = signer,
		    .progress_ctx = UNCONST("export"), /* progress_bar's label */
		    .record_pub = rpub,
		};
		if (isatty(STDERR_FILENO))
			xo.progress = progress_bar;
		rc = bundle_export_sealed(&xo, key, to, o->out, &info, &e);
	}
	sig_key_free(key);
	sig_key_free(rpub);
	seal_key_free(to);
	if (rc != ERR_OK)
		return cli_fail(cmd, &e);
	rc = CLI_EXIT_OK;
	if (o->json) {
		struct jdoc d = JDOC_INIT;
		cJSON *j = jdoc_root_object(&d);

		jdoc_string(&d, j, "file", o->out);
		jdoc_string(&d, j, "kind", ack ? "ack" : "records");
		jdoc_number(&d, j, "records", (double)info.n_entries);
		jdoc_number(&d, j, "bytes", (double)info.total_bytes);
		ranges_json(&d, j, &info);
		if (!ack)
			jdoc_string(&d, j, "encrypted_to", to_id[0] ? to_id : NULL);
		rc = cli_print_jdoc(cmd, &d);
	} else if (ack) {
		printf("%s: acknowledges %zu range(s)\n", o->out, info.n_ranges);
	} else {
		printf("%s: %zu record(s), %" PRIu64 " bytes%s%s\n", o->out, info.n_entries,
		       info.total_bytes, to_id[0] ? ", encrypted to key " : "", to_id);
	}
	bundle_info_release(&info);
	return rc;
}

/* ---- verify / list ------------------------------------------------------------- */

struct show_ctx {
	int json, list;
	struct jdoc *d;
	cJSON *entries;
};

static enum err_status show_entry(const struct bundle_entry *ent, void *vctx, struct err *e)
{
	struct show_ctx *c = vctx;

	if (!c->list)
		return ERR_OK;
	if (c->json) {
		cJSON *j = jdoc_object(c->d, c->entries, NULL);

		jdoc_string(c->d, j, "name", ent->name);
		jdoc_number(c->d, j, "size", (double)ent->size);
		jdoc_string(c->d, j, "sha256", ent->sha256);
	} else {
		printf("%s  %8zu  %s\n", ent->sha256, ent->size, ent->name);
	}
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

static void info_json(struct jdoc *d, cJSON *j, const struct bundle_info *in)
{
	jdoc_string(d, j, "kind", in->kind == BUNDLE_ACK ? "ack" : "records");
	jdoc_string(d, j, "signer", in->signer);
	jdoc_string(d, j, "key_id", in->key_id);
	jdoc_string(d, j, "created", in->created);
	jdoc_string(d, j, "queue", in->queue);
	jdoc_string(d, j, "source", in->source);
	jdoc_number(d, j, "records", (double)in->n_entries);
	jdoc_number(d, j, "bytes", (double)in->total_bytes);
	jdoc_bool(d, j, "signature_checked", in->signature_checked);
	ranges_json(d, j, in);
}

static int run_read(int argc, char **argv, int list, struct opts *o)
{
	const char *cmd = list ? "bundle list" : "bundle verify";
	struct sig_key *pub = NULL, *rpub = NULL;
	struct show_ctx c = {0};
	struct jdoc d = JDOC_INIT;
	cJSON *j = NULL;
	struct bundle_read_opts ro;
	struct bundle_info info;
	char tmp_dir[CLI_PATH_MAX];
	struct opened op = {.plain = {.fd = -1}, .file_fd = -1, .fd = -1};
	enum err_status st;
	struct err e;
	int rc;

	rc = parse_args(cmd, argc, argv, o);
	if (rc == 0)
		rc = apply_config(cmd, list ? USE_LIST : USE_VERIFY, o);
	if (rc != 0)
		return rc;
	if (o->encrypt_to)
		return cli_usage(cmd, "--encrypt-to is for export");
	rc = need(cmd, o->file, "the bundle FILE");
	if (rc == 0 && !list)
		rc = need(cmd, o->pubkey, "--pubkey PUB");
	if (rc == 0 && o->pubkey)
		rc = load_key(cmd, o->pubkey, 0, &pub);
	if (rc != 0)
		return rc;
	if (o->record_pubkey)
		rc = load_key(cmd, o->record_pubkey, 0, &rpub);
	if (rc != 0) {
		sig_key_free(pub);
		return rc;
	}
	c.json = o->json;
	c.list = list;
	ro = (struct bundle_read_opts){pub, rpub, &o->lim, show_entry, &c};
	if (o->json) {
		j = jdoc_root_object(&d);
		jdoc_string(&d, j, "file", o->file);
		c.d = &d;
		c.entries = jdoc_array(&d, j, "entries");
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
	rc = CLI_EXIT_OK;
	if (o->json) {
		jdoc_bool(&d, j, "ok", st == ERR_OK);
		if (st == ERR_OK) {
			info_json(&d, j, &info);
			jdoc_string(&d, j, "encrypted_to", op.key_id[0] ? op.key_id : NULL);
		} else {
			jdoc_string(&d, j, "error", e.msg);
		}
		rc = cli_print_jdoc(cmd, &d);
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
	return rc;
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

	rc = parse_args(cmd, argc, argv, o);
	if (rc == 0)
		rc = apply_config(cmd, USE_IMPORT, o);
	if (rc != 0)
		return rc;
	if (o->encrypt_to)
		return cli_usage(cmd, "--encrypt-to is for export");
	rc = need_target(cmd, o, "the bundle FILE", "--pubkey PUB", &pub);
	if (rc != 0)
		return rc;
	if (o->record_pubkey)
		rc = load_key(cmd, o->record_pubkey, 0, &rpub);
	if (rc != 0) {
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
	if (o->json) {
		struct jdoc d = JDOC_INIT;
		cJSON *j = jdoc_root_object(&d);

		jdoc_number(&d, j, "imported", (double)res.imported);
		jdoc_number(&d, j, "duplicates", (double)res.duplicates);
		jdoc_string(&d, j, "encrypted_to", op.key_id[0] ? op.key_id : NULL);
		return cli_print_jdoc(cmd, &d);
	}
	printf("%s: %zu record(s) imported, %zu already present%s%s\n", o->file, res.imported,
	       res.duplicates, op.key_id[0] ? "; decrypted with key " : "", op.key_id);
	return CLI_EXIT_OK;
}

static int run_prune(int argc, char **argv, struct opts *o)
{
	const char *cmd = "bundle prune";
	struct sig_key *pub = NULL;
	size_t pruned = 0;
	struct err e;
	int rc, sealed = 0;

	rc = parse_args(cmd, argc, argv, o);
	if (rc == 0)
		rc = apply_config(cmd, USE_PRUNE, o);
	if (rc != 0)
		return rc;
	if (o->encrypt_to || o->decrypt_key)
		return cli_usage(cmd, "--encrypt-to and --decrypt-key are not for prune");
	rc = need_target(cmd, o, "the acknowledgment FILE", "--pubkey PEER.pub", &pub);
	if (rc != 0)
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
	if (o->json) {
		struct jdoc d = JDOC_INIT;

		jdoc_number(&d, jdoc_root_object(&d), "pruned", (double)pruned);
		return cli_print_jdoc(cmd, &d);
	}
	printf("%s: %zu acknowledged record(s) removed from %s/new\n", o->file, pruned, o->queue);
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
