/*
 * supermachine run [OPTIONS] IMAGE [CMD [ARG...]]: docker run, in a
 * microVM. Thin over sm_run(); this file only parses options and handles
 * the terminal.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define MAX_LIST 256

struct strlist {
	const char *v[MAX_LIST + 1];
	int n;
};

static int push(struct strlist *l, const char *s)
{
	if (l->n >= MAX_LIST)
		return -1;
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: supermachine run [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
	    "  -e, --env K=V|K         set an environment variable (K: from "
	    "the host)\n"
	    "      --env-file FILE     read K=V lines\n"
	    "  -w, --workdir DIR       working directory\n"
	    "  -u, --user USER[:GROUP] user (name or uid) from the image's "
	    "passwd\n"
	    "      --entrypoint CMD    override the image's entrypoint\n"
	    "  -i, --interactive       keep stdin open\n"
	    "  -t, --tty               allocate a pseudo-terminal\n"
	    "  -h, --hostname NAME     guest hostname\n"
	    "      --cpus N            vCPUs (default 1)\n"
	    "  -m, --memory SIZE       guest memory, e.g. 512m, 1g (default "
	    "512m)\n"
	    "      --pull POLICY       missing (default), always, never\n"
	    "  -d, --detach            run in the background; print the "
	    "container ID\n"
	    "      --rm                remove the container's record when it "
	    "exits\n"
	    "      --name NAME         container name (ps, exec, stop, "
	    "logs...)\n"
	    "      --stop-signal SIG   signal for `stop` (default: the "
	    "image's, SIGTERM)\n"
	    "      --stop-timeout SEC  seconds `stop` waits before SIGKILL "
	    "(default 10)\n"
	    "  -v, --volume SPEC       HOST:GUEST[:ro], NAME:GUEST[:ro] or "
	    "GUEST (anonymous)\n"
	    "      --mount SPEC        "
	    "type=bind|volume|tmpfs,source=..,target=..[,readonly]\n"
	    "      --tmpfs PATH[:OPTS] a tmpfs at PATH (size=, mode=, ...)\n"
	    "      --kernel FILE, --initrd FILE   guest kernel / initramfs "
	    "override\n"
	    "      --timeout SEC       stop the VM after SEC seconds (status "
	    "124)\n"
	    "      --no-snapshot       boot cold; neither use nor keep a "
	    "warm-start template\n"
	    "  -p, --publish [IP:][HPORT:]PORT[/udp]  publish a guest port "
	    "(default 127.0.0.1,\n"
	    "                          a free host port when HPORT is left "
	    "out)\n"
	    "  -P, --publish-all       publish the image's exposed ports on "
	    "free host ports\n"
	    "      --network MODE      slirp (default), none, tap:NAME;\n"
	    "                          slirp:allow_host_loopback=true lets the "
	    "guest reach\n"
	    "                          the host's 127.0.0.1 at 10.0.2.2 (off "
	    "by default)\n"
	    "      --security-opt seccomp=unconfined\n"
	    "                          run the VM's threads without their "
	    "seccomp filters\n"
	    "                          (debugging; docs/security.md)\n"
	    "      --security-opt jail=off\n"
	    "                          the VM's threads keep the caller's "
	    "root, ids and\n"
	    "                          capabilities (debugging; "
	    "docs/security.md \"Jail\")\n"
	    "      --security-opt jail-user=USER|UID[:GID]\n"
	    "                          the ids jailed threads take (default: "
	    "user\n"
	    "                          supermachine if any, else 65534:65534)\n"
	    "      --pids-limit N      cgroup v2 limits of the VMM process "
	    "(pids.max,\n"
	    "      --cpu-shares N      cpu.weight from docker's shares; "
	    "memory.max is the\n"
	    "      --cgroup-parent P   guest's memory + 25%% + 128 MiB), in "
	    "the cgroup\n"
	    "                          /sys/fs/cgroup/P/ID (P: supermachine)\n"
	    "      --guest-limit KEY=N what the guest can make the VMM hold: "
	    "share-nodes,\n"
	    "                          share-files, share-dax-maps, "
	    "vsock-conns,\n"
	    "                          vsock-buffer (bytes, k/m/g), "
	    "net-rx-frames\n"
	    "                          (docs/security.md \"Resource caps\")\n"
	    "      --log-opt max-size=N  cap the container's log (default 10m;"
	    " the\n"
	    "                          oldest half goes when it is full)\n");
}

static int unsupported(const char *opt, const char *issue)
{
	fprintf(stderr, "supermachine: run: %s is not supported yet (%s)\n",
		opt, issue);
	return CLI_EXIT_FAILURE;
}

static struct termios saved_tio;
static int raw_fd = -1;

static void raw_mode(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &saved_tio))
		return;
	t = saved_tio;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) == 0)
		raw_fd = fd;
}

static void restore_mode(void)
{
	if (raw_fd >= 0)
		tcsetattr(raw_fd, TCSANOW, &saved_tio);
	raw_fd = -1;
}

static int parse_pull(const char *s, enum sm_pull_policy *p)
{
	if (strcmp(s, "missing") == 0)
		*p = SM_PULL_MISSING;
	else if (strcmp(s, "always") == 0)
		*p = SM_PULL_ALWAYS;
	else if (strcmp(s, "never") == 0)
		*p = SM_PULL_NEVER;
	else
		return -1;
	return 0;
}

enum {
	OPT_ENV_FILE = 256,
	OPT_ENTRYPOINT,
	OPT_CPUS,
	OPT_PULL,
	OPT_RM,
	OPT_NAME,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_TIMEOUT,
	OPT_NO_SNAPSHOT,
	OPT_STOP_SIGNAL,
	OPT_STOP_TIMEOUT,
	OPT_NETWORK,
	OPT_MOUNT,
	OPT_TMPFS,
	OPT_SECURITY_OPT,
	OPT_GUEST_LIMIT,
	OPT_PIDS_LIMIT,
	OPT_CPU_SHARES,
	OPT_CGROUP_PARENT,
	OPT_LOG_OPT
};

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"env", required_argument, NULL, 'e'},
	    {"env-file", required_argument, NULL, OPT_ENV_FILE},
	    {"workdir", required_argument, NULL, 'w'},
	    {"user", required_argument, NULL, 'u'},
	    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"hostname", required_argument, NULL, 'h'},
	    {"cpus", required_argument, NULL, OPT_CPUS},
	    {"memory", required_argument, NULL, 'm'},
	    {"pull", required_argument, NULL, OPT_PULL},
	    {"rm", no_argument, NULL, OPT_RM},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"kernel", required_argument, NULL, OPT_KERNEL},
	    {"initrd", required_argument, NULL, OPT_INITRD},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"detach", no_argument, NULL, 'd'},
	    {"volume", required_argument, NULL, 'v'},
	    {"publish", required_argument, NULL, 'p'},
	    {"publish-all", no_argument, NULL, 'P'},
	    {"network", required_argument, NULL, OPT_NETWORK},
	    {"no-snapshot", no_argument, NULL, OPT_NO_SNAPSHOT},
	    {"stop-signal", required_argument, NULL, OPT_STOP_SIGNAL},
	    {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
	    {"mount", required_argument, NULL, OPT_MOUNT},
	    {"tmpfs", required_argument, NULL, OPT_TMPFS},
	    {"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
	    {"guest-limit", required_argument, NULL, OPT_GUEST_LIMIT},
	    {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
	    {"cpu-shares", required_argument, NULL, OPT_CPU_SHARES},
	    {"cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT},
	    {"log-opt", required_argument, NULL, OPT_LOG_OPT},
	    {"help", no_argument, NULL, 'H'},
	    {0},
	};
	struct sm_run_options o;
	struct strlist env = {0}, env_files = {0}, cmd = {0}, publish = {0};
	struct sm_container_options job = {
	    .size = sizeof(job), .run = &o, .stop_timeout = 10};
	int c, status;
	struct strlist vols = {0}, mounts = {0}, tmpfs = {0};
	double cpus;

	sm_run_options_init(&o);
	o.verbose = cli_globals.verbose;
	while ((c = cli_getopt(argc, argv, "+e:w:u:ith:m:dv:p:P", opts)) !=
	       -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		switch (c) {
		case 'e':
			if (push(&env, optarg))
				return unsupported("more than 256 -e", "limit");
			break;
		case OPT_ENV_FILE:
			if (push(&env_files, optarg))
				return unsupported("more than 256 --env-file",
						   "limit");
			break;
		case 'w':
			o.workdir = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case OPT_ENTRYPOINT:
			o.entrypoint = optarg;
			break;
		case 'i':
			o.interactive = 1;
			break;
		case 't':
			o.tty = 1;
			break;
		case 'h':
			o.hostname = optarg;
			break;
		case OPT_CPUS:
			cpus = atof(optarg);
			if (!(cpus > 0) || cpus > 64) {
				fprintf(stderr,
					"supermachine: --cpus: expected a "
					"number in (0, 64]\n");
				return CLI_EXIT_FAILURE;
			}
			o.cpus = (unsigned)ceil(cpus); /* whole vCPUs */
			break;
		case 'm':
			if (cli_parse_memory(optarg, &o.memory_mib))
				return CLI_EXIT_FAILURE;
			break;
		case OPT_PULL:
			if (parse_pull(optarg, &o.pull)) {
				fprintf(stderr,
					"supermachine: --pull: expected "
					"missing, always or never\n");
				return CLI_EXIT_FAILURE;
			}
			break;
		case OPT_RM:
			job.auto_remove = 1;
			o.remove_anonymous = 1; /* and its anonymous volumes */
			break;
		case OPT_NAME:
			job.name = optarg;
			break;
		case OPT_STOP_SIGNAL:
			o.stop_signal = optarg;
			break;
		case OPT_STOP_TIMEOUT:
			job.stop_timeout = atoi(optarg);
			break;
		case OPT_KERNEL:
			o.kernel = optarg;
			break;
		case OPT_INITRD:
			o.initrd = optarg;
			break;
		case OPT_NO_SNAPSHOT:
			o.no_snapshot = 1;
			break;
		case OPT_TIMEOUT:
			o.timeout_ms = (unsigned)(atof(optarg) * 1000);
			break;
		case 'd':
			job.detach = 1;
			break;
		case 'v':
			if (push(&vols, optarg))
				return unsupported("more than 256 -v", "limit");
			break;
		case OPT_MOUNT:
			if (push(&mounts, optarg))
				return unsupported("more than 256 --mount",
						   "limit");
			break;
		case OPT_TMPFS:
			if (push(&tmpfs, optarg))
				return unsupported("more than 256 --tmpfs",
						   "limit");
			break;
		case 'p':
			if (push(&publish, optarg))
				return unsupported("more than 256 -p", "limit");
			break;
		case 'P':
			o.publish_all = 1;
			break;
		case OPT_NETWORK:
			o.network = optarg;
			break;
		case OPT_SECURITY_OPT:
			if (cli_security_opt(optarg, &o))
				return CLI_EXIT_FAILURE;
			break;
		case OPT_GUEST_LIMIT:
			if (cli_guest_limit(optarg, &o))
				return CLI_EXIT_FAILURE;
			break;
		case OPT_PIDS_LIMIT:
		case OPT_CPU_SHARES: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || v == 0 || v > 4194304) {
				fprintf(stderr,
					"supermachine: --%s %s: want a "
					"positive number\n",
					c == OPT_PIDS_LIMIT ? "pids-limit"
							    : "cpu-shares",
					optarg);
				return CLI_EXIT_FAILURE;
			}
			*(c == OPT_PIDS_LIMIT ? &job.pids_limit
					      : &job.cpu_shares) = (unsigned)v;
			break;
		}
		case OPT_CGROUP_PARENT:
			job.cgroup_parent = optarg;
			break;
		case OPT_LOG_OPT:
			if (cli_parse_log_opt(optarg, &job.log_max_size))
				return CLI_EXIT_FAILURE;
			break;
		case 'H':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return CLI_EXIT_FAILURE;
		}
	}
	if (optind >= argc)
		return cli_args_error(argv, "requires at least 1 argument",
				      "usage: supermachine run [OPTIONS] IMAGE "
				      "[COMMAND [ARG...]]");
	for (int i = optind + 1; i < argc; i++)
		if (push(&cmd, argv[i]))
			return unsupported("more than 256 arguments", "limit");
	o.env = env.v;
	o.env_files = env_files.v;
	o.publish = publish.v;
	o.cmd = cmd.n ? cmd.v : NULL;
	o.volumes = vols.v;
	o.mounts = mounts.v;
	o.tmpfs = tmpfs.v;
	/* As docker: -d never reads the caller's stdin, so -dit needs no tty.
	 */
	if (o.tty && o.interactive && !job.detach && !isatty(0)) {
		fprintf(stderr,
			"supermachine: the input device is not a TTY\n");
		return CLI_EXIT_FAILURE;
	}
	job.image = argv[optind];
	if (o.tty && o.interactive && !job.detach)
		raw_mode(0);
	status = cli_run_container(&job);
	restore_mode();
	return status;
}
