/* supermachine rmi: remove names; unused images and blobs go too. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

int cmd_rmi(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_store *s;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: supermachine rmi IMAGE...\n");
			return 0;
		}
		if (c != 'f')
			return CLI_EXIT_FAILURE;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: supermachine rmi IMAGE...\n");
		return CLI_EXIT_FAILURE;
	}
	if (cli_open_store(&s, NULL))
		return CLI_EXIT_FAILURE;
	for (int i = optind; i < argc; i++) {
		struct sm_error err = {0};
		if (sm_image_remove(s, argv[i], &err)) {
			cli_print_error(&err);
			rc = CLI_EXIT_FAILURE;
		} else {
			printf("Untagged: %s\n", argv[i]);
		}
	}
	sm_store_close(s);
	return rc;
}
