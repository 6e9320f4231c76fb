/*
 * supermachine logs [-f] NAME: a detached container's output, stdout to
 * stdout and stderr to stderr (each stream in order; their interleaving
 * is not recorded).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Copies what is new in `from` to `to`; returns bytes copied. */
static ssize_t copy_new(int from, int to)
{
	char buf[65536];
	ssize_t n, total = 0;

	while ((n = read(from, buf, sizeof(buf))) > 0) {
		if (write(to, buf, (size_t)n) != n)
			return -1;
		total += n;
	}
	return total;
}

/* Whether the container still runs (its logs may grow). */
static bool running(struct sm_container *ct)
{
	struct sm_container_info i = {.struct_size = sizeof(i)};

	return sm_container_inspect(ct, &i, NULL) == 0 &&
	       i.status == SM_CONTAINER_RUNNING;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_error err = {0};
	int follow = 0, c, out, errfd;
	struct sm_container *ct;

	while ((c = cli_getopt(argc, argv, "f", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'f') {
			follow = 1;
			continue;
		}
		fprintf(c == 'h' ? stdout : stderr,
			"usage: supermachine logs [-f|--follow] CONTAINER\n");
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	if (optind + 1 != argc) {
		fprintf(stderr,
			"usage: supermachine logs [-f|--follow] CONTAINER\n");
		return CLI_EXIT_FAILURE;
	}
	if (!(ct = cli_open_container(argv[optind], &c)))
		return c;
	if (sm_container_logs(ct, &out, &errfd, &err)) {
		cli_print_error(&err);
		sm_container_close(ct);
		return cli_container_status(&err);
	}
	for (;;) {
		ssize_t a = copy_new(out, 1), b = copy_new(errfd, 2);

		if (!follow || a < 0 || b < 0)
			break;
		if (!running(
			ct)) { /* ended: what it wrote before is all there */
			copy_new(out, 1);
			copy_new(errfd, 2);
			break;
		}
		if (!a && !b)
			usleep(100000);
	}
	close(out);
	close(errfd);
	sm_container_close(ct);
	return 0;
}
