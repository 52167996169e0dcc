/*
 * cmd_bundle.c: `scfgate bundle`.  Placeholder until its issue lands; it says so
 * plainly instead of pretending to work.
 */
#include "cli.h"

int cmd_bundle(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bundle", "this build does not include the bundle command yet");
}
