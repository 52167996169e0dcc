/*
 * cli.c: shared helpers of the sub-commands.  See cli.h.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "scfgate %s: ", cmd);
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

enum log_level cli_log_level(enum cfg_log_level level)
{
	enum log_level out = LOGL_INFO;

	/* The two enums name the same levels; the names are the contract. */
	log_level_parse(cfg_log_level_name(level), &out);
	return out;
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
