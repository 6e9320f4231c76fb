/*
 * supermachine snapshot CONTAINER DIR: saves a running container's VM to
 * DIR (state, with the machine's configuration, and memory) and lets it
 * go on; `supermachine restore DIR` resumes it, any number of times
 * (sm_container_snapshot).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_snapshot(int argc, char **argv)
{
	struct sm_container *ct;
	struct sm_error err = {0};
	int r;

	if (argc != 3 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: supermachine snapshot CONTAINER DIR\n");
		return argc == 2 ? 0 : CLI_EXIT_FAILURE;
	}
	if (!(ct = cli_open_container(argv[1], &r)))
		return r;
	r = sm_container_snapshot(ct, argv[2], &err);
	if (r)
		cli_print_error(&err);
	sm_container_close(ct);
	return r ? cli_container_status(&err) : 0;
}
