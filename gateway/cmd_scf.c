/*
 * cmd_scf.c: `scfgate scf`.  Placeholder until its issue lands; it says so
 * plainly instead of pretending to work.
 */
#include "cli.h"

int cmd_scf(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("scf", "this build does not include the scf command yet");
}
