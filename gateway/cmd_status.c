/*
 * cmd_status.c: `scfgate status`.  Placeholder until its issue lands; it says so
 * plainly instead of pretending to work.
 */
#include "cli.h"

int cmd_status(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("status", "this build does not include the status command yet");
}
