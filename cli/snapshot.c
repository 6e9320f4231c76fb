/*
 * supermachine snapshot CONTAINER DIR: saves a running container's VM to
 * DIR (state, with the machine's configuration, and memory) and lets it
 * go on; `supermachine restore DIR` resumes it, any number of times
 * (sm_container_snapshot).
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char usage[] = "usage: supermachine snapshot CONTAINER DIR\n";

int cmd_snapshot(int argc, char **argv)
{
	struct sm_container *ct;
	struct sm_error err = {0};
	int c, r;

	if ((c = cli_help_only(argc, argv, usage)) >= 0)
		return c;
	if (argc - optind != 2)
		return cli_args_error(argv, "requires exactly 2 arguments",
				      usage);
	if (!(ct = cli_open_container(argv[optind], &r)))
		return r;
	r = sm_container_snapshot(ct, argv[optind + 1], &err);
	if (r)
		cli_print_error(&err);
	sm_container_close(ct);
	return r ? cli_container_status(&err) : 0;
}
