/* supermachine inspect NAME...: JSON descriptions of containers (the
 * name, id or id prefix of one) or else of images, as docker's. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char usage[] = "usage: supermachine inspect CONTAINER|IMAGE...\n";

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
		fputs(usage, stdout); /* 'h' */
		return 0;
	}
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      usage);
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
			/* neither: docker's words for it */
			if (err.code == -ENOENT)
				snprintf(err.msg, sizeof(err.msg),
					 "no such object: %s", argv[i]);
		}
		if (!json) {
			cli_print_error(&err);
			rc = 1; /* docker's status for what it could not show */
			continue;
		}
		printf("%s%s", shown++ ? ",\n" : "\n", json);
		free(json);
	}
	printf("\n]\n");
	sm_store_close(s);
	return rc;
}
