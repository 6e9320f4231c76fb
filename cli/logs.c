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
#include "ctr.h"

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

static int open_log(struct ctr *c, const char *file)
{
	char path[PATH_MAX];

	if (ctr_path(c, file, path, sizeof(path)))
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
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
	struct ctr ct;

	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
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
	if (ctr_find(&ct, argv[optind], &err)) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	out = open_log(&ct, "stdout.log");
	errfd = open_log(&ct, "stderr.log");
	if (out < 0 || errfd < 0) {
		fprintf(stderr,
			"supermachine: %s keeps no logs (only detached "
			"containers do)\n",
			ct.name);
		ctr_release(&ct);
		return CLI_EXIT_FAILURE;
	}
	for (;;) {
		ssize_t a = copy_new(out, 1), b = copy_new(errfd, 2);
		bool running;

		if (!follow || a < 0 || b < 0)
			break;
		ctr_load(&ct, NULL);
		running = ctr_running(&ct);
		if (!running) { /* ended: what it wrote before is all there */
			copy_new(out, 1);
			copy_new(errfd, 2);
			break;
		}
		if (!a && !b)
			usleep(100000);
	}
	close(out);
	close(errfd);
	ctr_release(&ct);
	return 0;
}
