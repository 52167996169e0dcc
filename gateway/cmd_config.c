/*
 * cmd_config.c: `scfgate config`.  Placeholder until its issue lands; it says so
 * plainly instead of pretending to work.
 */
#include "cli.h"

int cmd_config(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("config", "this build does not include the config command yet");
}
