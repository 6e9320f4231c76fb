/*
 * Flag errors in one style, docker's: "unknown flag: --bogus" or "flag
 * needs an argument: --name", then "See 'supermachine run --help'.", and
 * status 125.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* getopt_long's short options with the missing-argument report on (':'
 * after a leading '+' or '-'). */
static void with_colon(const char *in, char *out, size_t size)
{
	size_t lead = in[0] == '+' || in[0] == '-';

	snprintf(out, size, "%.*s:%s", (int)lead, in, in + lead);
}

static void report(char **argv, int c, const char *what)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	/* the global flags' argv[0] is the program, a subcommand's its name */
	const char *cmd =
	    strchr(argv[0], '/') || !strcmp(argv[0], "supermachine") ? NULL
								     : argv[0];

	if (!strncmp(arg, "--", 2) || !optopt)
		fprintf(stderr, "supermachine: %s: %.*s\n", what,
			(int)strcspn(arg, "="), arg);
	else
		fprintf(stderr, "supermachine: %s: '%c' in -%c\n",
			c == ':' ? "flag needs an argument"
				 : "unknown shorthand flag",
			optopt, optopt);
	fprintf(stderr, "See 'supermachine%s%s --help'.\n", cmd ? " " : "",
		cmd ? cmd : "");
}

int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	char so[128];
	int c;

	with_colon(shortopts, so, sizeof(so));
	opterr = 0;
	c = getopt_long(argc, argv, so, longopts, NULL);
	if (c == '?' || c == ':') {
		report(argv, c,
		       c == ':' ? "flag needs an argument" : "unknown flag");
		return CLI_BAD_FLAG;
	}
	return c;
}
