/*
 * cmd_oms.c: `scfgate oms`.  Placeholder until its issue lands; it says so
 * plainly instead of pretending to work.
 */
#include "cli.h"

int cmd_oms(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("oms", "this build does not include the oms command yet");
}
