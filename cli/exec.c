/*
 * supermachine exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD...:
 * runs another process in a running container's VM (docker exec). Our
 * stdin/stdout/stderr travel to the container's process (SCM_RIGHTS),
 * which relays them to the guest; signals follow as control lines.
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
#include "ctr.h"

/* Relays signals until the reply comes; returns the exit status. */
static int await_reply(int conn, int sig_fd, const char *name)
{
	struct sm_error err = {0};
	json_t *reply;
	int status;

	for (;;) {
		struct pollfd p[2] = {{.fd = conn, .events = POLLIN},
				      {.fd = sig_fd, .events = POLLIN}};
		int sig;

		if (poll(p, 2, -1) < 0 && errno == EINTR)
			continue;
		if (p[1].revents &&
		    read(sig_fd, &sig, sizeof(sig)) == sizeof(sig)) {
			json_t *m = json_pack("{s:i}", "signal", sig);

			ctr_write_line(conn, m);
			json_decref(m);
		}
		if (p[0].revents)
			break;
	}
	if (ctr_read_line(conn, &reply, &err)) {
		fprintf(stderr, "supermachine: exec in %s: %s\n", name,
			err.msg);
		return CLI_EXIT_FAILURE;
	}
	if (json_object_get(reply, "error")) {
		fprintf(stderr, "supermachine: %s\n", ctr_str(reply, "error"));
		status = CLI_EXIT_FAILURE;
	} else {
		status = (int)ctr_int(reply, "exit");
	}
	json_decref(reply);
	return status;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: supermachine exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
	    "  -i, --interactive       keep stdin open\n"
	    "  -t, --tty               allocate a pseudo-terminal\n"
	    "  -e, --env K=V|K         set an environment variable\n"
	    "  -w, --workdir DIR       working directory\n"
	    "  -u, --user USER[:GROUP] user\n");
}

static int send_exec(struct ctr *ct, json_t *req)
{
	static const int fds[3] = {0, 1, 2};
	struct sm_error err = {0};
	struct termios saved, raw;
	bool is_raw = false;
	int conn, status;

	if (ctr_request(ct, req, fds, 3, NULL, &conn, &err)) {
		cli_print_error(&err);
		return CLI_EXIT_FAILURE;
	}
	if (json_is_true(json_object_get(req, "tty")) &&
	    json_is_true(json_object_get(req, "interactive")) &&
	    tcgetattr(0, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		is_raw = tcsetattr(0, TCSANOW, &raw) == 0;
	}
	status = await_reply(conn, cli_signal_pipe(), ct->name);
	if (is_raw)
		tcsetattr(0, TCSANOW, &saved);
	close(conn);
	return status;
}

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"env", required_argument, NULL, 'e'},
	    {"workdir", required_argument, NULL, 'w'},
	    {"user", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	json_t *req =
	    json_pack("{s:s, s:[], s:[]}", "op", "exec", "argv", "env");
	struct sm_error err = {0};
	struct ctr ct = {0};
	int c, status;

	while ((c = getopt_long(argc, argv, "+ite:w:u:", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			json_object_set_new(req, "interactive", json_true());
			break;
		case 't':
			json_object_set_new(req, "tty", json_true());
			break;
		case 'e':
			json_array_append_new(json_object_get(req, "env"),
					      json_string(optarg));
			break;
		case 'w':
			json_object_set_new(req, "workdir",
					    json_string(optarg));
			break;
		case 'u':
			json_object_set_new(req, "user", json_string(optarg));
			break;
		default:
			usage(c == 'h' ? stdout : stderr);
			json_decref(req);
			return c == 'h' ? 0 : CLI_EXIT_FAILURE;
		}
	}
	if (optind + 2 > argc) {
		usage(stderr);
		json_decref(req);
		return CLI_EXIT_FAILURE;
	}
	for (int i = optind + 1; i < argc; i++)
		json_array_append_new(json_object_get(req, "argv"),
				      json_string(argv[i]));
	if (ctr_find(&ct, argv[optind], &err)) {
		cli_print_error(&err);
		json_decref(req);
		return CLI_EXIT_FAILURE;
	}
	status = send_exec(&ct, req);
	json_decref(req);
	ctr_release(&ct);
	return status;
}
