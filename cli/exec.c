/*
 * supermachine exec [-d] [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER
 * CMD...: runs another process in a running container's VM (docker exec,
 * sm_container_exec). Our stdin/stdout/stderr travel to the container's
 * process, which relays them to the guest; our signals follow. With -d it
 * returns once the process started (0) or could not (126, 127), and the
 * process runs on with no stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: supermachine exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
    "  -d, --detach            run it in the background\n"
    "  -i, --interactive       keep stdin open\n"
    "  -t, --tty               allocate a pseudo-terminal\n"
    "  -e, --env K=V|K         set an environment variable\n"
    "  -w, --workdir DIR       working directory\n"
    "  -u, --user USER[:GROUP] user\n";

#define MAX_ENV 1024

static int send_exec(struct sm_container *ct, struct sm_exec_options *e)
{
	struct sm_error err = {0};
	struct termios saved, raw;
	bool is_raw = false;
	int status = CLI_EXIT_FAILURE;

	e->signal_fd = sm_signal_pipe();
	if (e->tty && e->interactive && !e->detach &&
	    tcgetattr(0, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		is_raw = tcsetattr(0, TCSANOW, &raw) == 0;
	}
	if (sm_container_exec(ct, e, &status, &err)) {
		if (is_raw)
			tcsetattr(0, TCSANOW, &saved), is_raw = false;
		cli_print_error(&err);
		status = cli_container_status(&err);
	}
	if (is_raw)
		tcsetattr(0, TCSANOW, &saved);
	return status;
}

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"detach", no_argument, NULL, 'd'},
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"env", required_argument, NULL, 'e'},
	    {"workdir", required_argument, NULL, 'w'},
	    {"user", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	static const char *env[MAX_ENV + 1];
	struct sm_exec_options e;
	struct sm_container *ct;
	int c, status, nenv = 0;

	sm_exec_options_init(&e);
	while ((c = cli_getopt(argc, argv, "+dite:w:u:", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		switch (c) {
		case 'd':
			e.detach = 1;
			break;
		case 'i':
			e.interactive = 1;
			break;
		case 't':
			e.tty = 1;
			break;
		case 'e':
			if (nenv == MAX_ENV) {
				fprintf(stderr,
					"supermachine: more than %d -e\n",
					MAX_ENV);
				return CLI_EXIT_FAILURE;
			}
			env[nenv++] = optarg;
			break;
		case 'w':
			e.workdir = optarg;
			break;
		case 'u':
			e.user = optarg;
			break;
		default:
			fputs(usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : CLI_EXIT_FAILURE;
		}
	}
	if (optind + 2 > argc)
		return cli_args_error(argv, "requires at least 2 arguments",
				      usage);
	e.env = env;
	e.argv = (const char *const *)argv + optind + 1;
	if (!(ct = cli_open_container(argv[optind], &status)))
		return status;
	status = send_exec(ct, &e);
	sm_container_close(ct);
	return status;
}
