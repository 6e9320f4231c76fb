/* supermachine rm [-f] [-v] CONTAINER...: removes records (and their
 * logs); with -v, their anonymous volumes too (docker's). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

/* Its exit status: rm -f of a container that is not there is done
 * (docker's). */
static int remove_one(const char *ref, int force, int volumes)
{
	struct sm_container *ct = NULL;
	struct sm_error err = {0};
	int st = 0;

	if (sm_container_open(ref, &ct, &err) == -ENOENT && force)
		return 0;
	if (!err.code &&
	    (volumes ? sm_container_remove_with_volumes(ct, force, &err)
		     : sm_container_remove(ct, force, &err)) == 0)
		printf("%s\n", ref);
	if (err.code) {
		cli_print_error(&err);
		st = cli_container_status(&err);
	}
	sm_container_close(ct);
	return st;
}

static const char usage[] =
    "usage: supermachine rm [-f|--force] [-v|--volumes] CONTAINER...\n";

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"volumes", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int force = 0, volumes = 0, c, status = 0;

	while ((c = cli_getopt(argc, argv, "fv", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'f' || c == 'v') {
			force |= c == 'f';
			volumes |= c == 'v';
			continue;
		}
		fputs(usage, c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      usage);
	for (int i = optind; i < argc; i++) {
		int st = remove_one(argv[i], force, volumes);

		status = status > st ? status : st;
	}
	return status;
}
