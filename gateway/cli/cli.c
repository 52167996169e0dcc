/*
 * cli.c: shared helpers of the sub-commands.  See cli.h.
 */
#include "cli.h"

#include "jdoc.h"
#include "scf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "scfgate%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_USAGE;
}

int cli_fail(const char *cmd, const struct err *e)
{
	fprintf(stderr, "scfgate %s: %s\n", cmd, e && e->msg[0] ? e->msg : "failed");
	return CLI_EXIT_FAIL;
}

int cli_load_half(const char *cmd, enum cfg_half half, const char *path, struct cfg **out)
{
	struct err e;
	int rc;

	err_clear(&e);
	*out = NULL;
	if (cfg_load_file(path, out, &e) != ERR_OK)
		return cli_fail(cmd, &e);
	if ((*out)->half != half) {
		rc = cli_usage(cmd, "%s is a configuration for the %s half", path,
		               cfg_half_name((*out)->half));
		cfg_free(*out);
		*out = NULL;
		return rc;
	}
	return 0;
}

int cli_scf_open(const char *cmd, struct scf_half **out, const struct cfg *c)
{
	struct err e;
	enum err_status s;

	err_clear(&e);
	s = scf_open(out, c, NULL, &e);
	if (s != ERR_OK) {
		/* ERR_TEMP: another process (the daemon) holds a lock. */
		if (s == ERR_TEMP)
			err_prefix(&e, "the SCF half is running (stop it first): ");
		return cli_fail(cmd, &e);
	}
	return 0;
}

int cli_scf_cmd_opt(struct cli_scf_cmd *sc, int opt, const struct cli_opt *o)
{
	switch (opt) {
	case 'c':
		sc->config = o->arg;
		return 1;
	case CLI_OPT_SCF_JSON:
		sc->json = 1;
		return 1;
	case CLI_OPT_SCF_LOG_JSON:
		sc->log_json = 1;
		return 1;
	default:
		return 0;
	}
}

int cli_scf_cmd_load(struct cli_scf_cmd *sc)
{
	int rc = cli_config_path(sc->name, CLI_HALF_SCF, sc->config, sc->config_buf, &sc->config);

	return rc ? rc : cli_load_half(sc->name, CFG_HALF_SCF, sc->config, &sc->c);
}

int cli_scf_cmd_open(struct cli_scf_cmd *sc)
{
	log_open("scf", cli_log_level(sc->c->log_level), sc->log_json);
	return cli_scf_open(sc->name, &sc->h, sc->c);
}

void cli_scf_cmd_release(struct cli_scf_cmd *sc)
{
	scf_free(sc->h);
	cfg_free(sc->c);
	sc->h = NULL;
	sc->c = NULL;
}

int cli_spool_root_check(const char *cmd, const char *sub, const char *root)
{
	static const char *const queues[] = {"outbound", "inbound"};
	char path[4096 + 16];
	struct stat sb;
	struct err e;

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, queues[i]);
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			return 0;
	}
	err_set(&e, ERR_PERM,
	        "%s%s%s is not a spool root (no outbound/ or inbound/ in it): check --root, or "
	        "create its queues with `scfgate spool init` (or by starting the half once)",
	        sub ? sub : "", sub ? ": " : "", root);
	return cli_fail(cmd, &e);
}

int64_t cli_id(const char *s)
{
	char *end;
	long long v;

	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	return errno || *end || v <= 0 ? 0 : (int64_t)v;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
		if (strcmp(argv[i], "--") == 0)
			break;
	}
	return 0;
}

static int print_jdoc(const char *cmd, struct jdoc *d, int indented, const char *failed)
{
	char *t = jdoc_print(d, indented);

	jdoc_release(d);
	if (!t) {
		fprintf(stderr, "scfgate %s: out of memory %s\n", cmd, failed);
		return CLI_EXIT_FAIL;
	}
	printf("%s\n", t);
	cJSON_free(t);
	return CLI_EXIT_OK;
}

int cli_print_jdoc(const char *cmd, struct jdoc *d)
{
	return print_jdoc(cmd, d, 0, "printing the result");
}

int cli_print_jdoc_indented(const char *cmd, struct jdoc *d)
{
	return print_jdoc(cmd, d, 1, "building the JSON output");
}

enum log_level cli_log_level(enum cfg_log_level level)
{
	enum log_level out = LOGL_INFO;

	/* The two enums name the same levels; the names are the contract. */
	log_level_parse(cfg_log_level_name(level), &out);
	return out;
}

void cli_opt_init(struct cli_opt *o, const char *cmd, const char *sub, int argc, char **argv,
                  const struct option *table)
{
	size_t n = 0;

	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->sub = sub;
	o->argc = argc;
	o->argv = argv;
	o->table = table;
	/* "-": plain arguments come back in order (code 1) whatever
	 * POSIXLY_CORRECT says; ":": a missing value is told from an unknown
	 * option. */
	o->shorts[n++] = '-';
	o->shorts[n++] = ':';
	for (const struct option *t = table; t->name; t++) {
		if (t->val >= CLI_OPT_LONG || t->val <= CLI_OPT_ARG || n + 3 >= sizeof(o->shorts))
			continue;
		o->shorts[n++] = (char)t->val;
		if (t->has_arg == required_argument)
			o->shorts[n++] = ':';
	}
	o->shorts[n] = '\0';
	optind = 0; /* glibc: start over, with this table */
	opterr = 0; /* the lines are ours */
}

static const struct option *opt_by_val(const struct cli_opt *o, int val)
{
	for (const struct option *t = o->table; t->name; t++)
		if (t->val == val)
			return t;
	return NULL;
}

static int opt_bad(const struct cli_opt *o, const char *what, const char *why)
{
	cli_usage(o->cmd, "%s%s%s%s (see --help)", o->sub ? o->sub : "", o->sub ? ": " : "", what,
	          why);
	return CLI_OPT_BAD;
}

int cli_opt_unknown(const struct cli_opt *o)
{
	char what[sizeof(o->name) + 20];

	snprintf(what, sizeof(what), "unknown argument %s", o->name[0] ? o->name : o->arg);
	opt_bad(o, what, "");
	return CLI_EXIT_USAGE;
}

int cli_opt_next(struct cli_opt *o)
{
	int idx = -1, c;
	const char *given;

	o->arg = NULL;
	o->name[0] = '\0';
	if (o->rest) {
		if (optind >= o->argc)
			return CLI_OPT_END;
		o->ind = optind++;
		o->arg = o->argv[o->ind];
		return CLI_OPT_ARG;
	}
	c = getopt_long(o->argc, o->argv, o->shorts, o->table, &idx);
	if (c == -1) {
		/* "--" stops getopt; the arguments after it are plain. */
		o->rest = 1;
		return cli_opt_next(o);
	}
	if (c == CLI_OPT_ARG) {
		o->ind = optind - 1;
		o->arg = optarg;
		return CLI_OPT_ARG;
	}
	if (c == '?') {
		const struct option *t = optopt ? opt_by_val(o, optopt) : NULL;

		if (optopt && !t) { /* an unknown letter */
			snprintf(o->name, sizeof(o->name), "-%c", optopt);
			return opt_bad(o, "unknown argument ", o->name);
		}
		given = o->argv[optind - 1];
		if (t) { /* --json=VALUE */
			snprintf(o->name, sizeof(o->name), "--%s", t->name);
			return opt_bad(o, o->name, " takes no value");
		}
		snprintf(o->name, sizeof(o->name), "%.*s", (int)strcspn(given, "="), given);
		return opt_bad(o, "unknown argument ", o->name);
	}
	if (c == ':') {
		const struct option *t = opt_by_val(o, optopt);

		given = o->argv[optind - 1];
		if (given[0] == '-' && given[1] == '-' && t)
			snprintf(o->name, sizeof(o->name), "--%s", t->name);
		else
			snprintf(o->name, sizeof(o->name), "-%c", optopt);
		return opt_bad(o, o->name, " needs a value");
	}
	o->arg = optarg;
	if (idx < 0) {
		snprintf(o->name, sizeof(o->name), "-%c", c);
		return c;
	}
	/* A long option: the text that named it is the one before its value
	 * when the value was a separate argument. */
	given = o->argv[optind - 1];
	if (optarg && optarg == given && optind >= 2)
		given = o->argv[optind - 2];
	snprintf(o->name, sizeof(o->name), "%.*s", (int)strcspn(given, "="), given);
	if (strncmp(given, "--", 2) != 0 || strcmp(o->name + 2, o->table[idx].name) != 0) {
		/* getopt_long takes an abbreviation; an option must be spelled
		 * out, so that a new option never changes what an old one meant. */
		return opt_bad(o, "unknown argument ", o->name);
	}
	return c;
}

int cli_config_arg(const char *cmd, int argc, char **argv, int *i, const char **config)
{
	const char *a = argv[*i];

	if (strncmp(a, "--config=", 9) == 0) {
		*config = a + 9;
		return 1;
	}
	if (strcmp(a, "--config") != 0 && strcmp(a, "-c") != 0)
		return 0;
	if (*i + 1 >= argc)
		return cli_usage(cmd, "%s needs a FILE", a);
	*config = argv[++*i];
	return 1;
}

int cli_config_path(const char *cmd, enum cli_half half, const char *given, char buf[CLI_PATH_MAX],
                    const char **path)
{
	const char *dir = getenv("SCFGATE_CONFIG_DIR");
	char scf[CLI_PATH_MAX], oms[CLI_PATH_MAX];
	struct stat sb;
	int has_scf, has_oms;

	*path = given;
	if (given)
		return 0;
	if (!dir || !*dir)
		dir = CLI_CONFIG_DIR;
	if ((size_t)snprintf(scf, sizeof(scf), "%s/scf.xml", dir) >= sizeof(scf) ||
	    (size_t)snprintf(oms, sizeof(oms), "%s/oms.xml", dir) >= sizeof(oms))
		return cli_usage(cmd, "no --config and the configuration directory %s is too long",
		                 dir);
	/* Existence only: a file that exists but cannot be read is reported by
	 * the load, naming it, rather than passed over for the other half's. */
	has_scf = half != CLI_HALF_OMS && stat(scf, &sb) == 0;
	has_oms = half != CLI_HALF_SCF && stat(oms, &sb) == 0;
	if (has_scf && has_oms)
		return cli_usage(cmd,
		                 "no --config, and both %s and %s exist: give --config to say "
		                 "which half",
		                 scf, oms);
	if (has_scf || has_oms) {
		snprintf(buf, CLI_PATH_MAX, "%s", has_scf ? scf : oms);
		*path = buf;
		return 0;
	}
	if (half == CLI_HALF_ANY)
		return cli_usage(cmd, "no --config, and neither %s nor %s exists", scf, oms);
	return cli_usage(cmd, "no --config and %s does not exist",
	                 half == CLI_HALF_SCF ? scf : oms);
}
