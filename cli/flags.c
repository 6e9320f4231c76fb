/*
 * Flags and arguments in one style, docker's (cobra and pflag's words):
 *
 *   unknown flag: --bogus                       \
 *   unknown shorthand flag: 'z' in -az           | then "See 'supermachine
 *   flag needs an argument: --name               | run --help'.", and
 *   flag needs an argument: 'n' in -n            | status 125
 *   invalid argument "x" for "--rm" flag: ...   /
 *
 *   "supermachine snapshot" requires exactly 2 arguments.
 *   See 'supermachine snapshot --help'.
 *
 *   usage: supermachine snapshot CONTAINER DIR  (status 1)
 *
 * Long flags match whole, as pflag's: glibc's getopt_long() takes any
 * unambiguous abbreviation (`--deta` for `--detach`), docker does not.
 * `-h` is help for every command that has no `-h` of its own. A flag
 * that takes no value may be given one as pflag's booleans are:
 * `--rm=true`, `--rm=false`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* glibc's parser is inside a cluster of short flags (`-az` after its
 * 'a'): that cluster is argv[optind] */
static int in_cluster;

/* "supermachine run" or "supermachine volume rm" for argv[0] the
 * subcommand's name; "supermachine" for the global flags' argv[0], the
 * program */
static const char *command_of(char **argv, const char **space)
{
	bool global = strchr(argv[0], '/') || !strcmp(argv[0], "supermachine");

	*space = global ? "" : " ";
	return global ? "" : argv[0];
}

static void see_help(char **argv)
{
	const char *sp, *cmd = command_of(argv, &sp);

	fprintf(stderr, "See 'supermachine%s%s --help'.\n", sp, cmd);
}

/* The long option named exactly by ARG ("--NAME" or "--NAME=..."). */
static const struct option *exact_long(const char *arg,
				       const struct option *longopts)
{
	size_t len = strcspn(arg + 2, "=");

	for (const struct option *o = longopts; o && o->name; o++)
		if (strlen(o->name) == len && !strncmp(arg + 2, o->name, len))
			return o;
	return NULL;
}

/* pflag's booleans (strconv.ParseBool): 1 true, 0 false, -1 neither. */
int cli_parse_bool(const char *s)
{
	/* false, true, false, true... */
	static const char *const words[] = {
	    "0",     "1",    "f",     "t",    "F",     "T",
	    "false", "true", "FALSE", "TRUE", "False", "True",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return (int)(i % 2);
	return -1;
}

static int bad_long(char **argv, const char *what, const char *arg)
{
	fprintf(stderr, "supermachine: %s: %.*s\n", what,
		(int)strcspn(arg, "="), arg);
	see_help(argv);
	return CLI_BAD_FLAG;
}

static int bad_short(char **argv, const char *what, const char *cluster)
{
	fprintf(stderr, "supermachine: %s: '%c' in %s\n", what, optopt,
		cluster);
	see_help(argv);
	return CLI_BAD_FLAG;
}

int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	size_t lead = shortopts[0] == '+' || shortopts[0] == '-';
	const struct option *o;
	const char *arg, *eq;
	char so[128];
	int c, b, first, elem;

	/* ':' after a leading '+' or '-': missing arguments reported as
	 * such; -h for help where the command has no -h of its own */
	snprintf(so, sizeof(so), "%.*s:%s%s", (int)lead, shortopts,
		 shortopts + lead, strchr(shortopts + lead, 'h') ? "" : "h");
	opterr = 0;
again:
	if (optind == 0)
		in_cluster = 0; /* a fresh parse */
	first = optind ? optind : 1;
	optarg = NULL;
	c = getopt_long(argc, argv, so, longopts, NULL);
	if (c == -1) {
		in_cluster = 0;
		return c;
	}
	/*
	 * The element this flag came from: the cluster still being read,
	 * else the first option element from where the parser stood (those
	 * before it are operands it stepped over; its permuting moves only
	 * elements before `first`).
	 */
	if (in_cluster) {
		elem = first;
	} else {
		for (elem = first;
		     elem < argc && (argv[elem][0] != '-' || !argv[elem][1]);
		     elem++)
			;
		if (elem == argc) /* cannot be: getopt_long read a flag */
			return bad_long(argv, "unknown flag", "--");
	}
	if (strncmp(argv[elem], "--", 2)) {
		/* short: the cluster is still being read when optind did
		 * not pass it */
		in_cluster = optind == elem;
		if (c == '?')
			return bad_short(argv, "unknown shorthand flag",
					 argv[elem]);
		if (c == ':')
			return bad_short(argv, "flag needs an argument",
					 argv[elem]);
		return c;
	}
	in_cluster = 0;
	arg = argv[elem];
	/* an abbreviation, ambiguous or not, is no flag of docker's */
	if (!(o = exact_long(arg, longopts)))
		return bad_long(argv, "unknown flag", arg);
	if (c == ':')
		return bad_long(argv, "flag needs an argument", arg);
	if (c != '?')
		return c;
	/* glibc's '?' for a name it knows: a value given to a flag that
	 * takes none; as pflag's booleans, true or false */
	if (o->has_arg != no_argument || !(eq = strchr(arg, '=')))
		return bad_long(argv, "unknown flag", arg);
	if ((b = cli_parse_bool(eq + 1)) < 0)
		return cli_flag_value_error(argv, o->name, eq + 1,
					    "want true or false");
	if (!b) /* the flags that take no value are off by default */
		goto again;
	if (o->flag) {
		*o->flag = o->val;
		return 0;
	}
	return o->val;
}

int cli_flag_value_error(char **argv, const char *flag, const char *value,
			 const char *why)
{
	fprintf(stderr,
		"supermachine: invalid argument \"%s\" for \"--%s\" flag: "
		"%s\n",
		value, flag, why);
	see_help(argv);
	return CLI_BAD_FLAG;
}

int cli_args_error(char **argv, const char *what, const char *usage)
{
	const char *sp, *cmd = command_of(argv, &sp);

	fprintf(stderr,
		"\"supermachine%s%s\" %s.\nSee 'supermachine%s%s --help'.\n",
		sp, cmd, what, sp, cmd);
	/* its use lines: up to a blank line (before a list of flags) */
	if (usage) {
		const char *end = strstr(usage, "\n\n");
		size_t len = end ? (size_t)(end - usage) : strlen(usage);

		while (len && usage[len - 1] == '\n')
			len--;
		fprintf(stderr, "\n%.*s\n", (int)len, usage);
	}
	return CLI_EXIT_ARGS;
}

int cli_help_only(int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c = cli_getopt(argc, argv, "", opts);

	if (c == -1)
		return -1;
	if (c == CLI_BAD_FLAG)
		return CLI_EXIT_FAILURE;
	fputs(usage, stdout); /* 'h' */
	return 0;
}
