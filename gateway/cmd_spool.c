/*
 * cmd_spool.c: `scfgate spool`.  Placeholder until its issue lands; it says so
 * plainly instead of pretending to work.
 */
#include "cli.h"

int cmd_spool(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("spool", "this build does not include the spool command yet");
}
