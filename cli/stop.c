/*
 * supermachine stop [-t SEC] CONTAINER...: the stop signal (image
 * StopSignal, --stop-signal, else SIGTERM), then SIGKILL after the
 * timeout (--stop-timeout of the run, else 10 s), as docker stop.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char usage[] =
    "usage: supermachine stop [-t|--time SEC] CONTAINER...\n";

int cmd_stop(int argc, char **argv)
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
				  sm_container_stop, timeout);
}
