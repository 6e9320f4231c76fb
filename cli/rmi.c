/*
 * supermachine rmi [-f] IMAGE...: removes names; unused images and blobs
 * go too. An image a running container uses is not left nameless (exit 1,
 * docker's conflict) unless -f, which untags it: it goes once the last
 * container using it ended.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char usage[] = "usage: supermachine rmi [-f|--force] IMAGE...\n";

int cmd_rmi(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_store *s;
	int c, rc = 0, force = 0;

	while ((c = cli_getopt(argc, argv, "hf", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		force = 1; /* 'f' */
	}
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      usage);
	if (cli_open_store(&s, NULL))
		return CLI_EXIT_FAILURE;
	for (int i = optind; i < argc; i++) {
		struct sm_error err = {0};

		if (force ? sm_image_untag(s, argv[i], &err)
			  : sm_image_remove(s, argv[i], &err)) {
			cli_print_error(&err);
			/* docker's status for a conflict, a missing image
			 * or any other refusal */
			rc = 1;
		} else {
			printf("Untagged: %s\n", argv[i]);
		}
	}
	sm_store_close(s);
	return rc;
}
