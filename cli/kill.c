/* supermachine kill [-s SIGNAL] CONTAINER...: a signal to its process. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] = "usage: supermachine kill [-s|--signal SIG] "
			    "CONTAINER...\n";

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"signal", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *sig_name = "KILL";
	int sig, c;

	while ((c = cli_getopt(argc, argv, "s:", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 's') {
			sig_name = optarg;
			continue;
		}
		fputs(usage, c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      usage);
	sig = sm_signal_number(sig_name);
	if (sig < 0) {
		fprintf(stderr, "supermachine: invalid signal: %s\n", sig_name);
		return CLI_EXIT_FAILURE;
	}
	return cli_each_container(argv + optind, argc - optind,
				  sm_container_kill, sig);
}
