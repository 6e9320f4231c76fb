/*
 * supermachine restart [-t SEC] CONTAINER...: stop (as `stop -t`) when
 * it runs, then start (docker restart; docs/containers.md, "Start and
 * restart").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char usage[] = "usage: supermachine restart [-t|--time SEC] "
			    "CONTAINER...\n";

int cmd_restart(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"time", required_argument, NULL, 't'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int timeout = -1, c;

	while ((c = cli_getopt(argc, argv, "t:", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 't') {
			timeout = atoi(optarg);
			continue;
		}
		fputs(usage, c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      usage);
	return cli_each_container(argv + optind, argc - optind,
				  sm_container_restart, timeout);
}
