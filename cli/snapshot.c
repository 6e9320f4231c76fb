/*
 * supermachine snapshot CONTAINER DIR: saves a running container's VM to
 * DIR (state, memory, vm.conf) and lets it go on; `supermachine restore
 * DIR` resumes it, any number of times.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ctr.h"

int cmd_snapshot(int argc, char **argv)
{
	struct sm_error err = { 0 };
	char abs[PATH_MAX];
	json_t *req, *reply = NULL;
	struct ctr ct = { 0 };
	int r;

	if (argc != 3 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: supermachine snapshot CONTAINER DIR\n");
		return argc == 2 ? 0 : CLI_EXIT_FAILURE;
	}
	/* the container's process has its own working directory */
	if (mkdir(argv[2], 0755) && errno != EEXIST) {
		fprintf(stderr, "supermachine: create %s: %s\n", argv[2], strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	if (!realpath(argv[2], abs)) {
		fprintf(stderr, "supermachine: %s: %s\n", argv[2], strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	req = json_pack("{s:s, s:s}", "op", "snapshot", "dir", abs);
	r = ctr_find(&ct, argv[1], &err);
	if (!r)
		r = ctr_request(&ct, req, NULL, 0, &reply, NULL, &err);
	if (r)
		cli_print_error(&err);
	json_decref(req);
	json_decref(reply);
	ctr_release(&ct);
	return r ? CLI_EXIT_FAILURE : 0;
}
