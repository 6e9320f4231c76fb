/* supermachine CLI entry: global options, then one subcommand. */
#include <getopt.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_globals cli_globals;

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* Explicit table: one entry per cli/<name>.c. */
static const struct subcommand subcommands[] = {
    {"run", cmd_run, "run a command in a new microVM from an image"},
    {"ps", cmd_ps, "list containers"},
    {"exec", cmd_exec, "run a command in a running container"},
    {"logs", cmd_logs, "show a detached container's output"},
    {"stop", cmd_stop, "stop containers (stop signal, then SIGKILL)"},
    {"start", cmd_start, "run exited containers again, detached"},
    {"restart", cmd_restart, "stop containers, then start them again"},
    {"kill", cmd_kill, "send a signal to containers"},
    {"port", cmd_port, "list a container's published ports"},
    {"rm", cmd_rm, "remove containers"},
    {"volume", cmd_volume, "manage volumes (create, ls, inspect, rm, prune)"},
    {"attach", cmd_attach, "attach to a running container (output, stdin)"},
    {"wait", cmd_wait, "wait for containers to end; print their statuses"},
    {"snapshot", cmd_snapshot, "save a running container's VM to a directory"},
    {"restore", cmd_restore, "resume a VM snapshot (sm_vm_snapshot)"},
    {"boot", cmd_boot, "boot a kernel + initramfs (low level)"},
    {"pull", cmd_pull, "pull an image from a registry"},
    {"images", cmd_images, "list images"},
    {"rmi", cmd_rmi, "remove images"},
    {"load", cmd_load, "load an image from a docker/OCI archive"},
    {"inspect", cmd_inspect, "show an image's details as JSON"},
    {"seccomp", cmd_seccomp,
     "print the seccomp allow-list of each thread role"},
};

void cli_print_error(const struct sm_error *err)
{
	fprintf(stderr, "supermachine: %s\n",
		err->msg[0] ? err->msg : "unknown error");
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: supermachine [--root DIR] [--verbose] COMMAND [ARGS...]\n\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]);
	     i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].name,
			subcommands[i].summary);
	fprintf(out,
		"\n'supermachine COMMAND --help' for a command's options.\n");
}

/*
 * The soft fd limit up to the hard one, as QEMU and virtiofsd do: each
 * virtio-fs share holds host fds for the guest's cached inodes, and its
 * caps (docs/fuse.md) are a fraction of the soft limit, which is often
 * 1024. The hard limit, not us, stays the bound.
 */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", required_argument, NULL, 'r'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	int c;

	raise_fd_limit();
	cli_globals.root = getenv("SUPERMACHINE_ROOT");
	/* '+' stops at the first non-option: the subcommand. */
	while ((c = cli_getopt(argc, argv, "+vh", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		switch (c) {
		case 'r':
			cli_globals.root = optarg;
			break;
		case 'v':
			cli_globals.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("supermachine %s\n", sm_version());
			return 0;
		default:
			usage(stderr);
			return CLI_EXIT_FAILURE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_FAILURE;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]);
	     i++) {
		if (strcmp(argv[optind], subcommands[i].name) == 0) {
			char **sub_argv = argv + optind;
			int sub_argc = argc - optind;

			optind = 0; /* reset getopt for the subcommand */
			return subcommands[i].run(sub_argc, sub_argv);
		}
	}
	fprintf(stderr, "supermachine: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return CLI_EXIT_FAILURE;
}
