/*
 * cli.h: the scfgate command line.  Only code behind this header prints
 * to stdout/stderr or chooses an exit status; libraries report through
 * struct err.
 *
 * Conventions every sub-command follows
 *   - `scfgate CMD --help` (and `-h`) prints usage to stdout, exit 0.
 *   - Bad usage prints ONE line "scfgate CMD: <reason>" to stderr and
 *     exits CLI_EXIT_USAGE (2).  cli_usage() does exactly that.
 *   - A failure of the work itself prints one line naming what and where
 *     and exits CLI_EXIT_FAIL (1).
 *   - `--json` where a script would want it: one JSON document on stdout.
 */
#ifndef SCFGATE_CLI_H
#define SCFGATE_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "cfg.h"
#include "err.h"
#include "escape.h"
#include "log.h"

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

/* Sub-commands: argv[0] is the sub-command name. */
int cmd_scf(int argc, char **argv);
/* `scfgate scf resync` (cmd_scf_resync.c), reached through cmd_scf. */
int cmd_scf_resync(int argc, char **argv);
/* `scfgate scf census` (cmd_scf_census.c), reached through cmd_scf. */
int cmd_scf_census(int argc, char **argv);
int cmd_oms(int argc, char **argv);
int cmd_spool(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_preview(int argc, char **argv);
int cmd_transfer(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Print "scfgate <cmd>: <reason>" ("scfgate: <reason>" when cmd is NULL)
 * to stderr; returns CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 0 when root holds a queue directory (outbound/ or inbound/); else
 * prints "scfgate <cmd>: <sub>: ROOT is not a spool root ..." and returns
 * CLI_EXIT_FAIL: a mistyped --root must not read as an empty spool. */
int cli_spool_root_check(const char *cmd, const char *sub, const char *root);

/* Print "scfgate <cmd>: <err message>" to stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const struct err *e);

struct jdoc;
/* Print d's document on one line to stdout and release d: CLI_EXIT_OK;
 * or, when an addition or the printing ran out of memory, no document,
 * "scfgate CMD: out of memory printing the result" and CLI_EXIT_FAIL. */
int cli_print_jdoc(const char *cmd, struct jdoc *d);
/* The same indented, one member a line (the listings of find and spool);
 * when it fails: "scfgate CMD: out of memory building the JSON output". */
int cli_print_jdoc_indented(const char *cmd, struct jdoc *d);

/* The daemon log level for a configured <log level>. */
enum log_level cli_log_level(enum cfg_log_level level);

/* Option parsing, the same for every command: getopt_long over argv[1..]
 * (argv[0] is the command or sub-command name), so `--opt VALUE` and
 * `--opt=VALUE` (and `-c VALUE`, `-cVALUE` for an option with a short
 * form) both work, options and plain arguments may come in any order and
 * keep it, and "--" ends the options.  A long option must be spelled out:
 * an abbreviation is an unknown argument.
 *
 *   struct cli_opt o;
 *   cli_opt_init(&o, "spool", "ls", argc, argv, table);
 *   while ((c = cli_opt_next(&o)) != CLI_OPT_END)
 *           switch (c) { case OPT_ROOT: root = o.arg; break; ... }
 *
 * table ends with an all-zero entry; flag is NULL and val is the short
 * letter for an option that has one, else a value >= CLI_OPT_LONG.
 * cli_opt_next returns the option's val (its value, if it takes one, in
 * o.arg and the option as given, "--root" or "-c", in o.name),
 * CLI_OPT_ARG for a plain argument (in o.arg), CLI_OPT_END, or CLI_OPT_BAD
 * after printing the one line of the house form (the caller then returns
 * CLI_EXIT_USAGE; CMD NULL for scfgate's own options):
 *   scfgate CMD: [SUB: ]unknown argument --bogus (see --help)
 *   scfgate CMD: [SUB: ]--root needs a value (see --help)
 *   scfgate CMD: [SUB: ]--json takes no value (see --help)
 * cli_opt_init resets getopt's state, so a command may parse again. */
#define CLI_OPT_END  (-1)
#define CLI_OPT_BAD  (-2)
#define CLI_OPT_ARG  1
#define CLI_OPT_LONG 256

struct cli_opt {
	const char *cmd, *sub;
	int argc;
	char **argv;
	const struct option *table;
	int rest; /* past "--": what is left is plain arguments */
	const char *arg;
	int ind; /* the index in argv of a plain argument */
	char name[64];
	char shorts[64];
};

void cli_opt_init(struct cli_opt *o, const char *cmd, const char *sub, int argc, char **argv,
                  const struct option *table);
int cli_opt_next(struct cli_opt *o);
/* Print "scfgate CMD: [SUB: ]unknown argument ARG (see --help)" for a
 * plain argument or an option this sub-command does not take; returns
 * CLI_EXIT_USAGE. */
int cli_opt_unknown(const struct cli_opt *o);

/* The --config entry of every table: `--config FILE`, `-c FILE`. */
#define CLI_OPT_CONFIG                                                                             \
	{                                                                                          \
		"config", required_argument, NULL, 'c'                                             \
	}

/* `--config FILE`, `-c FILE` or `--config=FILE` at argv[*i], for a
 * command that parses by hand: sets *config and advances *i past a
 * separate value.  Returns 1 when consumed, 0 when argv[*i] is something
 * else, and CLI_EXIT_USAGE (after printing the one line) when the value
 * is missing. */
int cli_config_arg(const char *cmd, int argc, char **argv, int *i, const char **config);

/* The default configurations (docs/configuration.md, "Where the
 * configuration is"): DIR/scf.xml for the SCF half, DIR/oms.xml for the
 * OMS half, DIR being $SCFGATE_CONFIG_DIR when set and not empty, else
 * CLI_CONFIG_DIR. */
#define CLI_CONFIG_DIR "/etc/scfgate"
#define CLI_PATH_MAX   4096

/* Which half's default a command may take. */
enum cli_half {
	CLI_HALF_ANY, /* a command usable on either host: the one default that exists */
	CLI_HALF_SCF,
	CLI_HALF_OMS,
};

/* The configuration a command reads: given when not NULL; else the
 * half's default when it exists; for CLI_HALF_ANY the one of DIR/scf.xml
 * and DIR/oms.xml that exists (both existing is refused: the command
 * cannot know which host it is on).  Sets *path (to given or to buf) and
 * returns 0, or prints one line ("scfgate CMD: no --config and
 * /etc/scfgate/oms.xml does not exist") and returns CLI_EXIT_USAGE. */
int cli_config_path(const char *cmd, enum cli_half half, const char *given, char buf[CLI_PATH_MAX],
                    const char **path);

/* Load the configuration at path (from cli_config_path) for a command of
 * one half: sets *out and returns 0; else prints one line ("scfgate CMD:
 * <why it does not load>" and returns CLI_EXIT_FAIL, or "scfgate CMD:
 * PATH is a configuration for the oms half" and returns CLI_EXIT_USAGE)
 * with *out NULL. */
int cli_load_half(const char *cmd, enum cfg_half half, const char *path, struct cfg **out);

struct scf_half;
/* A one-shot SCF command's scf_open (no clock): 0 with *out set, or
 * prints one line and returns CLI_EXIT_FAIL; when the daemon holds the
 * half's locks the line says "the SCF half is running (stop it first):
 * ...". */
int cli_scf_open(const char *cmd, struct scf_half **out, const struct cfg *c);

/* A one-shot SCF command (`scf census`, `scf resync`): the options they
 * share and how they start.  Its table begins with CLI_OPT_SCF_CMD
 * (--config FILE, --json, --log-json; its own options use values from
 * CLI_OPT_LONG on), and its loop hands every option to cli_scf_cmd_opt
 * first:
 *
 *   struct cli_scf_cmd sc = {.name = "scf census"};
 *   while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
 *           if (cli_scf_cmd_opt(&sc, opt, &o))
 *                   continue;
 *           switch (opt) { ... }
 *   }
 *   if ((rc = cli_scf_cmd_load(&sc)) != 0 || ... || (rc = cli_scf_cmd_open(&sc)) != 0)
 *           goto out;
 *   ...
 *   out: cli_scf_cmd_release(&sc);
 *
 * cli_scf_cmd_load finds the configuration (cli_config_path, the SCF
 * half's default) and loads it (cli_load_half) into sc.c;
 * cli_scf_cmd_open opens the log as the configuration and --log-json
 * say, then the half with its locks (cli_scf_open) into sc.h.  Each
 * returns 0 or the exit status after printing the one line. */
#define CLI_OPT_SCF_JSON     (CLI_OPT_LONG + 200)
#define CLI_OPT_SCF_LOG_JSON (CLI_OPT_LONG + 201)
#define CLI_OPT_SCF_CMD                                                                            \
	CLI_OPT_CONFIG, {"json", no_argument, NULL, CLI_OPT_SCF_JSON},                             \
	{                                                                                          \
		"log-json", no_argument, NULL, CLI_OPT_SCF_LOG_JSON                                \
	}

struct cli_scf_cmd {
	const char *name; /* "scf census": the prefix of every message */
	const char *config;
	char config_buf[CLI_PATH_MAX];
	int json, log_json;
	struct cfg *c;
	struct scf_half *h;
};

/* 1 when opt is one of CLI_OPT_SCF_CMD's (noted in sc), else 0. */
int cli_scf_cmd_opt(struct cli_scf_cmd *sc, int opt, const struct cli_opt *o);
int cli_scf_cmd_load(struct cli_scf_cmd *sc);
int cli_scf_cmd_open(struct cli_scf_cmd *sc);
void cli_scf_cmd_release(struct cli_scf_cmd *sc);

/* s as an id (an SCF issue or request type, a Cartegraph Oid): decimal
 * digits only, no sign or blank, 1 to INT64_MAX; 0 for anything else. */
int64_t cli_id(const char *s);

/* 1 if any argument is --help or -h. */
int cli_wants_help(int argc, char **argv);

#endif
