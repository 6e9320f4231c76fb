/*
 * supermachine attach [--sig-proxy=false] CONTAINER: the running
 * container's output from now on, stdout to stdout and stderr to stderr,
 * until its process ends; exits with its status (docker attach
 * --no-stdin). Our signals go to its process (docker's --sig-proxy).
 * The container's stdin is not attached: a detached VM's stdin is its
 * own (docs/containers.md).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct proxy {
	struct sm_container *ct;
	int fd;
};

/* Each signal we get, to the container's process (SIGWINCH: not its). */
static void *proxy_signals(void *arg)
{
	struct proxy *p = arg;
	int sig;

	while (read(p->fd, &sig, sizeof(sig)) == sizeof(sig)) {
		sig &= ~SM_SIGNAL_FROM_TERMINAL;
		if (sig > 0 && sig != SIGWINCH)
			sm_container_kill(p->ct, sig, NULL);
	}
	return NULL;
}

int cli_attach_follow(struct sm_container *ct, int64_t since_ns)
{
	struct sm_error err = {0};
	struct sm_logs_options o;
	struct sm_container_info info = {.struct_size = sizeof(info)};
	int code = 0;

	/* from a time (start -a): what it wrote since, even if it ended */
	if (!since_ns && sm_container_inspect(ct, &info, &err) == 0 &&
	    info.status != SM_CONTAINER_RUNNING) {
		fprintf(stderr, "supermachine: You cannot attach to a stopped "
				"container, start it first\n");
		return 1;
	}
	sm_logs_options_init(&o);
	o.follow = 1;
	if (since_ns)
		o.since_ns = since_ns;
	else
		o.tail = 0; /* from now on */
	if (sm_container_logs_write(ct, &o, &err) ||
	    sm_container_wait(ct, &code, &err)) {
		cli_print_error(&err);
		return cli_container_status(&err);
	}
	return code < 0 ? 137 : code;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"sig-proxy", required_argument, NULL, 'S'},
	    {"no-stdin", no_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	static struct proxy p = {.fd = -1}; /* the proxy thread's, to exit */
	pthread_t t;
	int c, status, sig_proxy = 1;

	while ((c = cli_getopt(argc, argv, "", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'N')
			continue; /* the only way we attach */
		if (c == 'S' &&
		    (!strcmp(optarg, "true") || !strcmp(optarg, "false"))) {
			sig_proxy = !strcmp(optarg, "true");
			continue;
		}
		fprintf(c == 'h' ? stdout : stderr,
			"usage: supermachine attach [--no-stdin] "
			"[--sig-proxy=true|false] CONTAINER\n");
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: supermachine attach CONTAINER\n");
		return CLI_EXIT_FAILURE;
	}
	if (!(p.ct = cli_open_container(argv[optind], &status)))
		return status;
	if (sig_proxy && (p.fd = sm_signal_pipe()) >= 0 &&
	    pthread_create(&t, NULL, proxy_signals, &p) == 0)
		pthread_detach(t);
	/* p.ct stays open: the proxy thread may use it until we exit */
	return cli_attach_follow(p.ct, 0);
}
