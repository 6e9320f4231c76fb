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
#include "container/container.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: supermachine restore [-d] [--name NAME] [--rm] "
	    "[--stop-timeout SEC] [-h NAME]\n"
	    "                           [--network slirp[:OPTIONS]] [-p "
	    "[IP:][HPORT:]PORT[/udp]]...\n"
	    "                           [-v HOST:GUEST[:ro]]... DIR\n"
	    "       supermachine restore [-i] [--network slirp[:OPTIONS]] [-v "
	    "HOST:GUEST[:ro]]... DIR COMMAND [ARG...]\n"
	    "A VM saved with a network gets a fresh slirp (run's --network, "
	    "e.g.\n"
	    "slirp:allow_host_loopback=true; default slirp) and the ports "
	    "given\n"
	    "here (-p, as run's: a snapshot keeps none); its volumes are\n"
	    "bound to the directories given here (-v, --mount).\n"
	    "Each restore is a clone: a fresh hostname (-h/--hostname NAME, "
	    "else the\n"
	    "snapshot's own when its VM was given one), machine-id, RNG seed "
	    "and clock.\n"
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
		fprintf(stderr,
			"supermachine: more than %d of -v, --mount or -p\n",
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
 * jail_main: this is the VMM's own process (src/container/keeper.c).
 */
static int restore_and_exec(const char *dir, char **cmd,
			    struct sm_run_options *o, bool jail_main)
{
	struct sm_store_options so = {.size = sizeof(so),
				      .root = cli_globals.root};
	struct sm_store *store = NULL;
	struct sm_error err = {0};
	struct sm_exec_options e;
	struct sm_vm *vm = NULL;
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC), status = 0;

	o->stdin_fd = o->stdout_fd = o->stderr_fd = nul;
	sm_exec_options_init(&e);
	e.argv = (const char *const *)cmd;
	e.interactive = o->interactive;
	/* the VMM's own process gets a pipe of its own; its keeper passes
	 * on what it is sent */
	e.signal_fd = jail_main ? ctr_signal_pipe_fresh() : sm_signal_pipe();
	if (sm_store_open(&store, &so, &err) ||
	    (jail_main && ctr_vmm_enter_userns(&err) < 0) ||
	    sm_vm_restore(store, dir, o, &vm, &err) || sm_vm_start(vm, &err) ||
	    ctr_enter_control(o, jail_main, &err)) {
		cli_print_error(&err);
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
	int from_vmm = -1, to_keeper = -1, sig_fd;
	pid_t pid;

	if (!ctr_jails_main_thread(o))
		return restore_and_exec(dir, cmd, o, false);
	sig_fd = sm_signal_pipe(); /* before the fork: no signal is lost */
	fflush(NULL);
	pid = ctr_vmm_fork(&from_vmm, &to_keeper, stdio, 3);
	if (pid == 0)
		_exit(restore_and_exec(dir, cmd, o, true));
	if (pid < 0) {
		perror("supermachine: fork");
		return CLI_EXIT_FAILURE;
	}
	return ctr_vmm_wait(pid, from_vmm, sig_fd, NULL, NULL); /* it says
								 * nothing */
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
	    {"publish", required_argument, NULL, 'p'},
	    {"security-opt", required_argument, NULL, 'S'},
	    {"guest-limit", required_argument, NULL, 'L'},
	    {"hostname", required_argument, NULL, 'h'},
	    {"help", no_argument, NULL, 'E'},
	    {0},
	};
	struct sm_run_options o;
	struct sm_container_options job = {
	    .size = sizeof(job), .run = &o, .stop_timeout = 10};
	static struct vol_args va; /* o points into it until the job ends */
	static const char *publish[MAX_VOLS + 1];
	int c, npub = 0;

	sm_run_options_init(&o);
	o.verbose = cli_globals.verbose;
	while ((c = cli_getopt(argc, argv, "+dih:v:p:", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
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
		case 'h': /* else a fresh one (docs/snapshot.md, "Clones") */
			o.hostname = optarg;
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
		case 'p': /* the snapshot keeps no host port: given here */
			if (push_vol(publish, &npub, optarg))
				return CLI_EXIT_FAILURE;
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
			usage(c == 'E' ? stdout : stderr);
			return c == 'E' ? 0 : CLI_EXIT_FAILURE;
		}
	}
	if (optind >= argc || (job.detach && optind + 1 != argc))
		return cli_args_error(
		    argv,
		    job.detach ? "requires exactly 1 argument with -d"
			       : "requires at least 1 argument",
		    job.detach ? "usage: supermachine restore -d [OPTIONS] DIR"
			       : "usage: supermachine restore [OPTIONS] DIR "
				 "[COMMAND [ARG...]]");
	set_volumes(&o, &va);
	o.publish = npub ? publish : NULL;
	if (optind + 1 < argc)
		return restore_and_exec_kept(argv[optind], argv + optind + 1,
					     &o);
	job.restore_dir = argv[optind];
	return cli_run_container(&job);
}
