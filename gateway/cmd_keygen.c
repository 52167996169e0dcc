/*
 * cmd_keygen.c: `scfgate keygen`.  Placeholder until its issue lands; it says so
 * plainly instead of pretending to work.
 */
#include "cli.h"

int cmd_keygen(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("keygen", "this build does not include the keygen command yet");
}
