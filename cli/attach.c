/*
 * supermachine attach [--no-stdin] [--sig-proxy=false] CONTAINER: the
 * running container's output from now on, stdout to stdout and stderr
 * to stderr, until its process ends; exits with its status. Our stdin
 * goes to its stdin when it was run with -d -i (docker's OpenStdin);
 * with -t too, and a terminal here, the terminal is raw and ctrl-p
 * ctrl-q detaches (docker's detach keys). Our signals go to its process
 * (docker's --sig-proxy).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
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

static bool stopped(struct sm_container *ct)
{
	struct sm_container_info info = {.struct_size = sizeof(info)};

	if (sm_container_inspect(ct, &info, NULL) == 0 &&
	    info.status != SM_CONTAINER_RUNNING) {
		fprintf(stderr, "supermachine: You cannot attach to a stopped "
				"container, start it first\n");
		return true;
	}
	return false;
}

int64_t cli_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* docker's Config.Tty and Config.OpenStdin of the container. */
static void container_config(struct sm_container *ct, bool *tty,
			     bool *open_stdin)
{
	char *text = NULL;
	json_t *o, *config;

	*tty = *open_stdin = false;
	if (sm_container_inspect_json(ct, &text, NULL))
		return;
	o = json_loads(text, 0, NULL);
	config = json_object_get(o, "Config");
	*tty = json_is_true(json_object_get(config, "Tty"));
	*open_stdin = json_is_true(json_object_get(config, "OpenStdin"));
	json_decref(o);
	free(text);
}

static struct termios saved_terminal;
static bool terminal_raw;

static void restore_terminal(void)
{
	if (terminal_raw)
		tcsetattr(0, TCSANOW, &saved_terminal);
}

#define KEY_CTRL(c) ((c)&0x1f)

/* Our keys into the pipe the container reads, until ctrl-p ctrl-q:
 * then we detach (the container goes on) and exit 0. */
static void *relay_keys(void *arg)
{
	int out = *(int *)arg;
	bool after_p = false;
	unsigned char in[512], buf[sizeof(in) + 1];
	ssize_t n;

	while ((n = read(0, in, sizeof(in))) > 0) {
		size_t len = 0;

		for (ssize_t i = 0; i < n; i++) {
			if (after_p && in[i] == KEY_CTRL('q')) {
				restore_terminal();
				fputs("\r\n", stderr);
				_exit(0);
			}
			if (after_p)
				buf[len++] = KEY_CTRL('p');
			after_p = in[i] == KEY_CTRL('p');
			if (!after_p)
				buf[len++] = in[i];
		}
		if (len && write(out, buf, len) < 0)
			break;
	}
	close(out);
	return NULL;
}

/* Our stdin to the container's, when it has one open (-d -i). */
static void attach_stdin(struct sm_container *ct)
{
	struct sm_error err = {0};
	bool tty, open_stdin;
	static int keys[2] = {-1, -1}; /* the relay thread's */
	struct termios raw;
	pthread_t t;

	container_config(ct, &tty, &open_stdin);
	if (!open_stdin)
		return; /* docker attaches no stdin then, and says nothing */
	if (!tty || !isatty(0) || pipe(keys)) {
		if (sm_container_attach_stdin(ct, 0, &err))
			cli_print_error(&err);
		return;
	}
	if (sm_container_attach_stdin(ct, keys[0], &err)) {
		cli_print_error(&err);
		return;
	}
	close(keys[0]);
	if (tcgetattr(0, &saved_terminal) == 0) {
		raw = saved_terminal;
		cfmakeraw(&raw);
		terminal_raw = tcsetattr(0, TCSANOW, &raw) == 0;
		atexit(restore_terminal);
	}
	if (pthread_create(&t, NULL, relay_keys, &keys[1]) == 0)
		pthread_detach(t);
}

int cli_attach_follow(struct sm_container *ct, int64_t since_ns)
{
	struct sm_error err = {0};
	struct sm_logs_options o;
	int code = 0;

	sm_logs_options_init(&o);
	o.follow = 1;
	o.since_ns = since_ns;
	o.tail = since_ns ? -1 : 0; /* from since_ns, else from now on */
	if (sm_container_logs_write(ct, &o, &err) ||
	    sm_container_wait(ct, &code, &err)) {
		cli_print_error(&err);
		return cli_container_status(&err);
	}
	return code < 0 ? 137 : code;
}

static const char usage[] = "usage: supermachine attach [--no-stdin] "
			    "[--sig-proxy=true|false] CONTAINER\n";

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
	int c, status, sig_proxy = 1, no_stdin = 0;
	int64_t since;

	while ((c = cli_getopt(argc, argv, "", opts)) != -1) {
		if (c == CLI_BAD_FLAG)
			return CLI_EXIT_FAILURE;
		if (c == 'N') {
			no_stdin = 1;
			continue;
		}
		if (c == 'S' && (sig_proxy = cli_parse_bool(optarg)) < 0) {
			cli_flag_value_error(argv, "sig-proxy", optarg,
					     "want true or false");
			return CLI_EXIT_FAILURE;
		}
		if (c == 'S')
			continue;
		fputs(usage, c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : CLI_EXIT_FAILURE;
	}
	if (optind + 1 != argc)
		return cli_args_error(argv, "requires exactly 1 argument",
				      usage);
	if (!(p.ct = cli_open_container(argv[optind], &status)))
		return status;
	if (sig_proxy && (p.fd = sm_signal_pipe()) >= 0 &&
	    pthread_create(&t, NULL, proxy_signals, &p) == 0)
		pthread_detach(t);
	/* p.ct stays open: the proxy thread may use it until we exit, and
	 * the container reads our stdin while it is */
	if (stopped(p.ct))
		return 1;
	/* what it writes from here on: our first keys' answer included */
	since = cli_wall_ns();
	if (!no_stdin)
		attach_stdin(p.ct);
	status = cli_attach_follow(p.ct, since);
	restore_terminal();
	return status;
}
