/*
 * exec [--process FILE] [--tty] [--console-socket S] [--cwd DIR]
 * [--env K=V]... [--user UID[:GID]] [--detach] [--pid-file F] ID
 * [CMD...]: another process in the container's VM (the library's
 * sm_container_exec through the record's control socket). With --detach
 * a child of ours waits for it and exits with its status; its pid goes
 * to --pid-file, as runc's exec -d leaves the process's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "runtime.h"
#include "oci/store.h"

#define MAX_ENV 1024

struct exec_args {
	const char *process, *console_socket, *pid_file, *cwd, *user, *id;
	const char *env[MAX_ENV + 1];
	size_t nenv;
	bool tty, detach;
	char **cmd;
	char user_buf[32];
};

static int parse_args(int argc, char **argv, struct exec_args *a)
{
	static const struct option opts[] = {
	    {"process", required_argument, NULL, 'p'},
	    {"console-socket", required_argument, NULL, 'c'},
	    {"pid-file", required_argument, NULL, 'P'},
	    {"cwd", required_argument, NULL, 'w'},
	    {"env", required_argument, NULL, 'e'},
	    {"user", required_argument, NULL, 'u'},
	    {"tty", no_argument, NULL, 't'},
	    {"detach", no_argument, NULL, 'd'},
	    {"cap", required_argument, NULL, 'N'},
	    {"apparmor", required_argument, NULL, 'N'},
	    {"process-label", required_argument, NULL, 'N'},
	    {"preserve-fds", required_argument, NULL, 'N'},
	    {"cgroup", required_argument, NULL, 'N'},
	    {"no-new-privs", no_argument, NULL, 'n'},
	    {0, 0, 0, 0}};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long_only(argc, argv, "+p:e:u:tdc:", opts, NULL)) !=
	       -1) {
		if (c == 'p')
			a->process = optarg;
		else if (c == 'c')
			a->console_socket = optarg;
		else if (c == 'P')
			a->pid_file = optarg;
		else if (c == 'w')
			a->cwd = optarg;
		else if (c == 'e' && a->nenv < MAX_ENV)
			a->env[a->nenv++] = optarg;
		else if (c == 'u')
			a->user = optarg;
		else if (c == 't')
			a->tty = true;
		else if (c == 'd')
			a->detach = true;
		else if (c == '?' || c == 'e')
			return oci_fail("exec: bad flags (supermachine-oci "
					"--help)");
	}
	if (optind >= argc)
		return oci_fail("exec: want a container id");
	a->id = argv[optind];
	a->cmd = argv + optind + 1;
	if (!a->process && !a->cmd[0])
		return oci_fail("exec: want --process FILE or a command");
	return 0;
}

/* --process FILE over the flags: its args, env, cwd, user, terminal. */
static int load_process(struct exec_args *a, struct bundle *b,
			struct sm_exec_options *o)
{
	struct sm_error err = {0};
	char *text = NULL;
	size_t len = 0;

	if (store_read_file(a->process, BUNDLE_MAX_CONFIG, &text, &len, &err) ||
	    bundle_parse_process(text, len, b, &err)) {
		free(text);
		return oci_fail("exec --process %s: %s", a->process, err.msg);
	}
	free(text);
	for (size_t i = 0; i < b->nnotes; i++)
		oci_log("warning", "exec: %s", b->notes[i]);
	o->argv = (const char *const *)b->args;
	o->env = (const char *const *)b->env;
	o->workdir = b->cwd;
	snprintf(a->user_buf, sizeof(a->user_buf), "%u:%u", b->uid, b->gid);
	o->user = a->user_buf;
	o->tty = b->terminal;
	return 0;
}

/*
 * The container's record, running: its process makes it just after start
 * returned and boots the VM, so an exec that follows start at once may
 * come first; it waits while that process lives (at most RECORD_WAIT_MS).
 */
#define RECORD_WAIT_MS 120000
static int open_record(const struct oci_state *st, struct sm_container **c,
		       struct sm_error *err)
{
	struct timespec tick = {0, 50 * 1000 * 1000};
	struct sm_container_info info = {.struct_size = sizeof(info)};
	char name[300];
	int r;

	oci_record_name(st->id, name, sizeof(name));
	for (int waited = 0;; waited += 50) {
		r = sm_container_open(name, c, err);
		if (!r && !(r = sm_container_inspect(*c, &info, err)) &&
		    info.status != SM_CONTAINER_CREATED)
			return 0; /* running, or ended: exec says which */
		if ((r && r != -ENOENT) || waited >= RECORD_WAIT_MS ||
		    oci_proc_starttime(st->pid) != st->starttime)
			return r ? r : 0;
		sm_container_close(*c);
		*c = NULL;
		nanosleep(&tick, NULL);
	}
}

static int exec_in(const struct oci_state *st, struct sm_exec_options *o)
{
	struct sm_container *c = NULL;
	struct sm_error err = {0};
	const char *id = st->id;
	int status = 125;

	o->signal_fd = sm_signal_pipe(); /* the engine's kill, ^C, resizes */
	if (open_record(st, &c, &err) ||
	    sm_container_exec(c, o, &status, &err)) {
		oci_fail("exec %s: %s", id, err.msg);
		status = status ? status : 126;
	}
	sm_container_close(c);
	return status;
}

/* --detach: a child runs it to its end; its pid to --pid-file. */
static int detached(struct exec_args *a, const struct oci_state *st,
		    struct sm_exec_options *o)
{
	pid_t child = fork();

	if (child < 0)
		return oci_fail("exec: fork: %s", strerror(errno));
	if (child == 0) {
		setsid();
		_exit(exec_in(st, o));
	}
	return a->pid_file ? oci_write_pid_file(a->pid_file, child) : 0;
}

int oci_cmd_exec(int argc, char **argv)
{
	struct exec_args a;
	struct sm_exec_options o;
	struct oci_state st;
	struct bundle b = {0};
	int slave = -1, r;

	if (parse_args(argc, argv, &a))
		return 1;
	if (oci_state_load(a.id, &st))
		return oci_fail("container %s does not exist", a.id);
	free(st.annotations);
	st.annotations = NULL;
	if (strcmp(oci_status(&st), "running"))
		return oci_fail("cannot exec in a container that is %s",
				oci_status(&st));
	sm_exec_options_init(&o);
	o.argv = (const char *const *)a.cmd;
	o.env = a.nenv ? a.env : NULL;
	o.workdir = a.cwd;
	o.user = a.user;
	o.tty = a.tty;
	o.interactive = 1;
	if (a.process && load_process(&a, &b, &o))
		return 1;
	if (o.tty && a.console_socket) {
		if (oci_console_pty(a.console_socket, b.console_rows,
				    b.console_cols, &slave))
			return 1;
		o.stdin_fd = o.stdout_fd = o.stderr_fd = slave;
	}
	r = a.detach ? detached(&a, &st, &o) : exec_in(&st, &o);
	if (slave >= 0)
		close(slave);
	bundle_free(&b);
	return r;
}
