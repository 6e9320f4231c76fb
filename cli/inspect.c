/* supermachine inspect NAME...: JSON descriptions of containers (the
 * name, id or id prefix of one) or else of images, as docker's. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_store *s;
	int c, rc = 0, shown = 0;

	while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'h') {
			printf(
			    "usage: supermachine inspect CONTAINER|IMAGE...\n");
			return 0;
		}
		return CLI_EXIT_FAILURE;
	}
	if (optind >= argc) {
		fprintf(stderr,
			"usage: supermachine inspect CONTAINER|IMAGE...\n");
		return CLI_EXIT_FAILURE;
	}
	if (cli_open_store(&s, NULL))
		return CLI_EXIT_FAILURE;
	printf("[");
	for (int i = optind; i < argc; i++) {
		struct sm_error err = {0};
		struct sm_container *ct = NULL;
		char *json = NULL;

		if (sm_container_open(argv[i], &ct, NULL) == 0) {
			if (sm_container_inspect_json(ct, &json, &err))
				json = NULL;
			sm_container_close(ct);
		} else if (sm_image_inspect(s, argv[i], &json, &err)) {
			json = NULL;
		}
		if (!json) {
			cli_print_error(&err);
			rc = CLI_EXIT_FAILURE;
			continue;
		}
		printf("%s%s", shown++ ? ",\n" : "\n", json);
		free(json);
	}
	printf("\n]\n");
	sm_store_close(s);
	return rc;
}
