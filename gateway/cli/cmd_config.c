/*
 * cmd_config.c: `scfgate config check|example|import-csv`.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cli.h"
#include "jdoc.h"
#include "online.h"

static const char usage_text[] =
    "usage: scfgate config check [FILE | --config FILE] [--json | --online]\n"
    "       scfgate config example [--half scf|oms]\n"
    "       scfgate config import-csv FILE.csv\n"
    "\n"
    "  check       validate FILE against config.xsd and the semantic rules, and\n"
    "              make every check the half makes when it starts (no\n"
    "              credentials in URLs; the half's credential and token files\n"
    "              present, one line, mode 0600 or stricter), then print the\n"
    "              effective configuration with defaults filled in (never a\n"
    "              secret); errors name FILE:LINE and the element or the file;\n"
    "              exit 1 when invalid; without FILE: /etc/scfgate/scf.xml or\n"
    "              /etc/scfgate/oms.xml, whichever exists (both: refused)\n"
    "              --online: instead of printing it, probe the half's remote system\n"
    "              with the real credentials, read-only (Cartegraph: credentials,\n"
    "              class metadata against the field map, remoteIds in IssueField's\n"
    "              lookup library; SeeClickFix: profile, organization, request\n"
    "              types); what was learned on stdout, one line per finding on\n"
    "              stderr, exit 1 on any finding\n"
    "  example     print a commented example configuration that passes check\n"
    "  import-csv  turn the request-type rows of the integration spreadsheet\n"
    "              (SCF request type id, title, remote request type id, closing\n"
    "              message, acknowledgment message, the last two optional; a\n"
    "              header row) into a <requestTypes> section on stdout\n";

enum { OPT_JSON = CLI_OPT_LONG, OPT_ONLINE, OPT_HALF };

static const struct option check_options[] = {
    CLI_OPT_CONFIG,
    {"json", no_argument, NULL, OPT_JSON},
    {"online", no_argument, NULL, OPT_ONLINE},
    {NULL, 0, NULL, 0},
};

static const struct option example_options[] = {
    {"half", required_argument, NULL, OPT_HALF},
    {NULL, 0, NULL, 0},
};

static int write_buf(const struct buf *b)
{
	if (fwrite(buf_str(b), 1, b->len, stdout) != b->len || fflush(stdout) != 0) {
		perror("scfgate config: stdout");
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* The probes of `check --online`: report on stdout, findings on stderr. */
static int check_online(const struct cfg *c)
{
	struct buf rep = BUF_INIT_CAP(1u << 20), findings = BUF_INIT_CAP(1u << 20);
	size_t n = 0;
	struct err e;
	int rc;

	err_clear(&e);
	if (online_check(c, &rep, &findings, &n, &e) != ERR_OK) {
		rc = cli_fail("config", &e);
	} else {
		rc = write_buf(&rep);
		fwrite(buf_str(&findings), 1, findings.len, stderr);
		if (n)
			fprintf(stderr, "%s: %zu finding%s online\n", c->path, n,
			        n == 1 ? "" : "s");
		else
			fprintf(stderr, "%s: ok online (%s half)\n", c->path,
			        cfg_half_name(c->half));
		if (n && rc == CLI_EXIT_OK)
			rc = CLI_EXIT_FAIL;
	}
	buf_release(&rep);
	buf_release(&findings);
	return rc;
}

static int do_check(int argc, char **argv)
{
	const char *file = NULL;
	char config_buf[CLI_PATH_MAX];
	int json = 0, online = 0, rc, opt;
	struct cli_opt co;
	enum err_status st;
	struct cfg *c = NULL;
	struct err e;
	struct buf out = BUF_INIT_CAP(BUF_DEFAULT_CAP);

	cli_opt_init(&co, "config", "check", argc, argv, check_options);
	while ((opt = cli_opt_next(&co)) != CLI_OPT_END) {
		switch (opt) {
		case 'c':
		case CLI_OPT_ARG:
			if (file)
				return cli_usage("config", "check: one FILE only");
			file = co.arg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_ONLINE:
			online = 1;
			break;
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		default:
			return cli_opt_unknown(&co);
		}
	}
	if (json && online)
		return cli_usage("config", "check: --online prints lines, not JSON");
	if ((rc = cli_config_path("config check", CLI_HALF_ANY, file, config_buf, &file)) != 0)
		return rc;
	err_clear(&e);
	/* Then the secret checks the half makes when it starts (the same
	 * function), so a secret file the half would refuse fails here. */
	if (cfg_load_file(file, &c, &e) != ERR_OK || cfg_check_secrets(c, &e) != ERR_OK) {
		cfg_free(c);
		c = NULL;
		if (json) {
			struct jdoc d = JDOC_INIT;
			cJSON *o = jdoc_root_object(&d);
			char *t;
			jdoc_bool(&d, o, "ok", 0);
			jdoc_string(&d, o, "error", e.msg);
			t = jdoc_print(&d, 1);
			if (t)
				printf("%s\n", t);
			cJSON_free(t);
			jdoc_release(&d);
		}
		return cli_fail("config", &e);
	}
	if (online) {
		rc = check_online(c);
		cfg_free(c);
		return rc;
	}
	st = json ? cfg_describe_json(c, &out) : cfg_describe(c, &out);
	if (st != ERR_OK) {
		err_set(&e, st, "%s: out of memory describing the configuration", file);
		rc = cli_fail("config", &e);
	} else {
		rc = write_buf(&out);
	}
	if (rc == CLI_EXIT_OK && !json)
		fprintf(stderr, "%s: ok (%zu request types)\n", file, c->n_types);
	buf_release(&out);
	cfg_free(c);
	return rc;
}

static int do_example(int argc, char **argv)
{
	enum cfg_half half = CFG_HALF_SCF;
	struct buf out = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct cli_opt co;
	int rc, opt;

	cli_opt_init(&co, "config", "example", argc, argv, example_options);
	while ((opt = cli_opt_next(&co)) != CLI_OPT_END) {
		if (opt == CLI_OPT_BAD)
			return CLI_EXIT_USAGE;
		if (opt != OPT_HALF)
			return cli_opt_unknown(&co);
		if (strcmp(co.arg, "scf") == 0)
			half = CFG_HALF_SCF;
		else if (strcmp(co.arg, "oms") == 0)
			half = CFG_HALF_OMS;
		else
			return cli_usage("config", "example: --half is scf or oms, not %s", co.arg);
	}
	if (cfg_example(half, &out) != ERR_OK) {
		fprintf(stderr, "scfgate config: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	rc = write_buf(&out);
	buf_release(&out);
	return rc;
}

static int do_import_csv(int argc, char **argv)
{
	struct buf in = BUF_INIT_CAP((size_t)16 * 1024 * 1024), out = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	const char *file = NULL;
	struct cli_opt co;
	struct err e;
	int rc = CLI_EXIT_FAIL, opt;

	cli_opt_init(&co, "config", "import-csv", argc, argv, none);
	while ((opt = cli_opt_next(&co)) != CLI_OPT_END) {
		if (opt == CLI_OPT_BAD)
			return CLI_EXIT_USAGE;
		if (opt != CLI_OPT_ARG)
			return cli_opt_unknown(&co);
		if (file)
			return cli_usage("config", "import-csv: exactly one FILE.csv is required");
		file = co.arg;
	}
	if (!file)
		return cli_usage("config", "import-csv: exactly one FILE.csv is required");
	err_clear(&e);
	if (buf_read_file(&in, file, &e) != ERR_OK ||
	    cfg_csv_to_xml(buf_str(&in), in.len, file, &out, &e) != ERR_OK)
		rc = cli_fail("config", &e);
	else
		rc = write_buf(&out);
	buf_release(&in);
	buf_release(&out);
	return rc;
}

int cmd_config(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("config", "a sub-command is required: check, example, import-csv");
	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return do_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "example") == 0)
		return do_example(argc - 1, argv + 1);
	if (strcmp(argv[1], "import-csv") == 0)
		return do_import_csv(argc - 1, argv + 1);
	return cli_usage("config", "unknown sub-command %s (check, example, import-csv)", argv[1]);
}
