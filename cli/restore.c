/*
 * supermachine restore [-d] [--name NAME] [--rm] DIR: resumes a VM saved
 * with sm_vm_snapshot() or `supermachine snapshot` (its process continues
 * where it was; output comes here, or to the logs with -d) and exits with
 * the process's status. Any number of restores of one snapshot may run at
 * once; each is a container (ps, exec, stop, logs) like a run.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: supermachine restore [-d] [--name NAME] [--rm] [--stop-timeout SEC] DIR\n");
}

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "detach", no_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "rm", no_argument, NULL, 'r' },
		{ "stop-timeout", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sm_run_options o;
	struct run_job job = { .o = &o, .stop_timeout = 10 };
	int c;

	sm_run_options_init(&o);
	o.verbose = cli_globals.verbose;
	o.forward_signals = 1;
	while ((c = getopt_long(argc, argv, "+d", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			job.detach = 1;
			break;
		case 'n':
			job.name = optarg;
			break;
		case 'r':
			job.auto_remove = 1;
			break;
		case 's':
			job.stop_timeout = atoi(optarg);
			break;
		default:
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : CLI_EXIT_FAILURE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return CLI_EXIT_FAILURE;
	}
	job.restore_dir = argv[optind];
	job.image = argv[optind];
	return cli_run_job(&job);
}
