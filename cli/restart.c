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
	int timeout = -1, c, status = 0;

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
	if (optind >= argc) {
		fputs(usage, stderr);
		return CLI_EXIT_FAILURE;
	}
	for (int i = optind; i < argc; i++) {
		int st = 0;
		struct sm_container *ct = cli_open_container(argv[i], &st);
		struct sm_error err = {0};

		if (ct && sm_container_restart(ct, timeout, &err)) {
			cli_print_error(&err);
			st = cli_container_status(&err);
		}
		if (!st)
			printf("%s\n", argv[i]);
		status = status > st ? status : st;
		sm_container_close(ct);
	}
	return status;
}
