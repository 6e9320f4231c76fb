/*
 * supermachine start [-a] CONTAINER...: runs exited containers again,
 * detached, each in a new VM made as it was created (docker start;
 * docs/containers.md, "Start and restart"); one that runs already is
 * left alone. -a: one container's output from its start on, and its
 * exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char usage[] = "usage: supermachine start [-a|--attach] "
			    "CONTAINER...\n";

static int start_one(const char *ref, bool attach)
{
	int st = 0, code;
	struct sm_container *ct = cli_open_container(ref, &st);
	struct sm_error err = {0};
	int64_t since = cli_wall_ns();

	if (!ct)
		return st;
	if (sm_container_start(ct, &code, &err)) {
		cli_print_error(&err);
		st = err.code == -ENOEXEC ? code : cli_container_status(&err);
	} else if (attach) {
		st = cli_attach_follow(ct, since);
	} else {
		printf("%s\n", ref);
	}
	sm_container_close(ct);
	return st;
}

int cmd_start(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"attach", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c, status = 0;
	bool attach = false;

	while ((c = cli_getopt(argc, argv, "a", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'a') {
			attach = true;
			continue;
		}
		fputs(usage, c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      usage);
	if (attach && optind + 1 != argc) { /* docker's words and status */
		fputs("supermachine: you cannot start and attach multiple "
		      "containers at once\n",
		      stderr);
		return CLI_EXIT_ARGS;
	}
	for (int i = optind; i < argc; i++) {
		int st = start_one(argv[i], attach);

		if (attach)
			return st;
		status = status > st ? status : st;
	}
	return status;
}
