/*
 * supermachine restore [-d] [--name NAME] [--rm] DIR: resumes a VM saved
 * with sm_vm_snapshot() or `supermachine snapshot` (its process continues
 * where it was; output comes here, or to the logs with -d) and exits with
 * the process's status. Any number of restores of one snapshot may run at
 * once; each is a container (ps, exec, stop, logs) like a run.
 *
 * supermachine restore [-i] DIR CMD...: resumes it, runs CMD in it (as
 * exec does, with the snapshot's env, user and workdir; the resumed
 * process's own output is dropped), exits with CMD's status and ends the
 * VM.
 *
 * A snapshot whose VM had volumes needs their directories again, given
 * here (-v HOST:GUEST[:ro], --mount): the snapshot names only the guest
 * paths, never a host directory (docs/snapshot.md, "Trust").
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: supermachine restore [-d] [--name NAME] [--rm] "
	    "[--stop-timeout SEC]\n"
	    "                           [--network slirp[:OPTIONS]] [-v "
	    "HOST:GUEST[:ro]]... DIR\n"
	    "       supermachine restore [-i] [--network slirp[:OPTIONS]] [-v "
	    "HOST:GUEST[:ro]]... DIR COMMAND [ARG...]\n"
	    "A VM saved with a network gets a fresh slirp (run's --network, "
	    "e.g.\n"
	    "slirp:allow_host_loopback=true; default slirp); its volumes are\n"
	    "bound to the directories given here (-v, --mount).\n"
	    "--security-opt seccomp=unconfined: no seccomp filters "
	    "(debugging);\n"
	    "jail=off: no jail; jail-user=USER|UID[:GID]: the jail's ids.\n"
	    "--guest-limit KEY=N: as run's.\n");
}

#define MAX_VOLS 64

/* -v and --mount: the directories behind the snapshot's volumes. */
struct vol_args {
	const char *v[MAX_VOLS + 1], *m[MAX_VOLS + 1];
	int nv, nm;
};

static int push_vol(const char **list, int *n, const char *s)
{
	if (*n >= MAX_VOLS) {
		fprintf(stderr, "supermachine: more than %d volumes\n",
			MAX_VOLS);
		return -1;
	}
	list[(*n)++] = s;
	list[*n] = NULL;
	return 0;
}

static void set_volumes(struct sm_run_options *o, const struct vol_args *va)
{
	o->volumes = va->nv ? va->v : NULL;
	o->mounts = va->nm ? va->m : NULL;
}

/*
 * restore DIR CMD...: CMD in the resumed VM, then the VM ends. o holds
 * what was parsed (volumes, network, --security-opt, --guest-limit);
 * jail_main: this is the VMM's own process (cli/vmm_proc.c).
 */
static int restore_and_exec(const char *dir, char **cmd,
			    struct sm_run_options *o, bool jail_main)
{
	struct sm_store *store = NULL;
	struct sm_error err = {0};
	struct sm_exec_options e;
	struct sm_vm *vm = NULL;
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC), status = 0;

	o->stdin_fd = o->stdout_fd = o->stderr_fd = nul;
	sm_exec_options_init(&e);
	e.argv = (const char *const *)cmd;
	e.interactive = o->interactive;
	e.signal_fd = cli_signal_pipe(); /* in this process: the VMM's */
	if (cli_open_store(&store, NULL))
		return CLI_EXIT_FAILURE;
	if ((jail_main && cli_vmm_enter_userns(o->verbose, &err) < 0) ||
	    sm_vm_restore(store, dir, o, &vm, &err) || sm_vm_start(vm, &err)) {
		cli_print_error(&err);
		status = CLI_EXIT_FAILURE;
	} else if (cli_enter_control(o, jail_main)) {
		status = CLI_EXIT_FAILURE;
	} else if (sm_vm_exec(vm, &e, &status, &err)) {
		cli_print_error(&err);
		status = CLI_EXIT_FAILURE;
	}
	sm_vm_destroy(vm); /* the resumed process ends with its VM */
	sm_store_close(store);
	return status;
}

/* restore_and_exec in the VMM's own process when the jail is on, as a
 * foreground run (docs/security.md, "The keeper"). */
static int restore_and_exec_kept(const char *dir, char **cmd,
				 struct sm_run_options *o)
{
	const int stdio[] = {0, 1, 2};
	int from_vmm = -1, to_keeper = -1;
	pid_t pid;

	if (!cli_jails_main_thread(o))
		return restore_and_exec(dir, cmd, o, false);
	fflush(NULL);
	pid = cli_vmm_fork(&from_vmm, &to_keeper, stdio, 3);
	if (pid == 0)
		_exit(restore_and_exec(dir, cmd, o, true));
	if (pid < 0) {
		perror("supermachine: fork");
		return CLI_EXIT_FAILURE;
	}
	return cli_vmm_wait(pid, from_vmm, NULL, NULL); /* it says nothing */
}

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"detach", no_argument, NULL, 'd'},
	    {"interactive", no_argument, NULL, 'i'},
	    {"name", required_argument, NULL, 'n'},
	    {"rm", no_argument, NULL, 'r'},
	    {"stop-timeout", required_argument, NULL, 's'},
	    {"volume", required_argument, NULL, 'v'},
	    {"mount", required_argument, NULL, 'm'},
	    {"network", required_argument, NULL, 'N'},
	    {"security-opt", required_argument, NULL, 'S'},
	    {"guest-limit", required_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sm_run_options o;
	struct run_job job = {.o = &o, .stop_timeout = 10};
	static struct vol_args va; /* o points into it until the job ends */
	int c;

	sm_run_options_init(&o);
	o.verbose = cli_globals.verbose;
	while ((c = getopt_long(argc, argv, "+div:", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.interactive = 1;
			break;
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
		case 'v':
			if (push_vol(va.v, &va.nv, optarg))
				return CLI_EXIT_FAILURE;
			break;
		case 'm':
			if (push_vol(va.m, &va.nm, optarg))
				return CLI_EXIT_FAILURE;
			break;
		case 'N':
			o.network = optarg;
			break;
		case 'S':
			if (cli_security_opt(optarg, &o))
				return CLI_EXIT_FAILURE;
			break;
		case 'L':
			if (cli_guest_limit(optarg, &o))
				return CLI_EXIT_FAILURE;
			break;
		default:
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : CLI_EXIT_FAILURE;
		}
	}
	set_volumes(&o, &va);
	if (optind + 1 < argc && !job.detach)
		return restore_and_exec_kept(argv[optind], argv + optind + 1,
					     &o);
	if (optind + 1 != argc) {
		usage(stderr);
		return CLI_EXIT_FAILURE;
	}
	job.restore_dir = argv[optind];
	job.image = argv[optind];
	return cli_run_job(&job);
}
