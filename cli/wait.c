/* supermachine wait CONTAINER...: blocks until each ends, and prints its
 * exit status (docker wait; sm_container_wait). */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char usage[] = "usage: supermachine wait CONTAINER...\n";

int cmd_wait(int argc, char **argv)
{
	int c, status = 0;

	if ((c = cli_help_only(argc, argv, usage)) >= 0)
		return c;
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      usage);
	for (int i = optind; i < argc; i++) {
		int st = 0, code;
		struct sm_container *ct = cli_open_container(argv[i], &st);
		struct sm_error err = {0};

		if (ct && sm_container_wait(ct, &code, &err)) {
			cli_print_error(&err);
			st = cli_container_status(&err);
		} else if (ct) {
			printf("%d\n", code);
			fflush(stdout);
		}
		status = status > st ? status : st;
		sm_container_close(ct);
	}
	return status;
}
