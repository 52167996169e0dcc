/*
 * main.c: `scfgate`, one binary with git-style sub-commands.  The table
 * below is the whole dispatch; each sub-command lives in gateway/cli/cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "notify.h"
#include "status.h"

#ifndef SCFGATE_VERSION
#define SCFGATE_VERSION "dev"
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"scf", cmd_scf, "run the SeeClickFix half (fetch, write-back)"},
    {"oms", cmd_oms, "run the Cartegraph OMS half (forward, poll)"},
    {"status", cmd_status, "queue depths, gaps, failures, last API success, watermark"},
    {"spool", cmd_spool, "inspect and repair queues (ls, show, verify, stat, hold, ...)"},
    {"find", cmd_find, "every record and the state of one SCF issue or Cartegraph request"},
    {"bundle", cmd_bundle, "offline archival bundles (export, verify, list, import)"},
    {"config", cmd_config, "check, print and convert the configuration"},
    {"keygen", cmd_keygen, "make a half's Ed25519 key pair"},
    {"preview", cmd_preview, "show what would be sent for a saved SCF issue or record"},
    {"transfer", cmd_transfer, "move records to and from the peer's host over SFTP"},
    {"reconcile", cmd_reconcile, "the last reconciliation; --repair turns findings into records"},
    {"report", cmd_report, "one static HTML page (or JSON) of a half at a glance"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: scfgate <command> [options]   (scfgate <command> --help)\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nscfgate %s: SeeClickFix <-> Cartegraph OMS store-and-forward gateway\n",
	        SCFGATE_VERSION);
}

enum { OPT_VERSION = CLI_OPT_LONG };

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
	struct cli_opt o;
	int opt;

	/* STATUS= of a running half starts with the status verdict. */
	notify_set_verdict(status_verdict_cached);
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	/* The options before the command are scfgate's; the command parses
	 * the rest itself. */
	cli_opt_init(&o, NULL, NULL, argc, argv, options);
	opt = cli_opt_next(&o);
	switch (opt) {
	case 'h':
		usage(stdout);
		return CLI_EXIT_OK;
	case OPT_VERSION:
		printf("scfgate %s\n", SCFGATE_VERSION);
		return CLI_EXIT_OK;
	case CLI_OPT_ARG:
		break;
	case CLI_OPT_END: /* only "--" */
		usage(stderr);
		return CLI_EXIT_USAGE;
	default:
		return CLI_EXIT_USAGE;
	}
	if (strcmp(o.arg, "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(o.arg, commands[i].name) == 0)
			return commands[i].run(argc - o.ind, argv + o.ind);
	fprintf(stderr, "scfgate: '%s' is not a command; see 'scfgate --help'\n", o.arg);
	return CLI_EXIT_USAGE;
}
