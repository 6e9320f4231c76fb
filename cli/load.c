/* supermachine load: import docker-archive / OCI archives and layouts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char usage[] = "usage: supermachine load -i FILE|DIR [-t NAME] "
			    "[--platform P]\n";

int cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"input", required_argument, NULL, 'i'},
	    {"tag", required_argument, NULL, 't'},
	    {"platform", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_load_options o = {.size = sizeof(o)};
	struct sm_image_info *l = NULL;
	struct sm_error err = {0};
	const char *in = NULL;
	struct sm_store *s;
	int c, n;

	while ((c = cli_getopt(argc, argv, "i:t:h", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		switch (c) {
		case 'i':
			in = optarg;
			break;
		case 't':
			o.tag = optarg;
			break;
		case 'p':
			o.platform = optarg;
			break;
		default: /* 'h' */
			fputs(usage, stdout);
			return 0;
		}
	}
	if (optind != argc)
		return cli_args_error(argv, "accepts no arguments", usage);
	if (!in) { /* no archive from stdin: -i is required */
		fprintf(stderr, "supermachine: required flag(s) \"input\" "
				"not set\nSee 'supermachine load --help'.\n");
		return CLI_EXIT_FAILURE;
	}
	if (cli_open_store(&s, NULL))
		return CLI_EXIT_FAILURE;
	n = sm_image_load(s, in, &o, &l, &err);
	sm_store_close(s);
	if (n < 0) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	for (int i = 0; i < n; i++) {
		if (l[i].name[0])
			printf("Loaded image: %s\n", l[i].name);
		else
			printf("Loaded image ID: %s\n", l[i].id);
	}
	free(l);
	return 0;
}
