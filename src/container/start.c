/*
 * The life of a `run`: in the foreground, or detached (-d) in a forked
 * supervisor process. Either way the process that owns the VM handle
 * keeps a container record and answers the control socket (cli/ctr.h),
 * so `ps`, `exec`, `stop`, `kill` and `snapshot` reach it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ctr.h"
#include "sandbox/sandbox.h"
#include "util/error.h"
#include "util/fs.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static json_t *make_meta(const struct run_job *j)
{
	json_t *cmd = json_array();
	json_t *m;

	for (const char *const *a = j->o->cmd; a && *a; a++)
		json_array_append_new(cmd, json_string(*a));
	m = json_pack("{s:s, s:o, s:s?, s:I, s:b, s:b, s:i}", "image",
		      j->restore_dir ? j->restore_dir : j->image, "cmd", cmd,
		      "entrypoint", j->o->entrypoint, "created_ns",
		      (json_int_t)now_ns(), "detached", j->detach,
		      "auto_remove", j->auto_remove, "stop_timeout",
		      j->stop_timeout);
	return m;
}

static void write_state_of(struct ctr *c, pid_t pid, const char *status,
			   int exit_code, const char *error, const char *ports)
{
	json_t *s =
	    json_pack("{s:s, s:i, s:I, s:i, s:s?, s:s?}", "status", status,
		      "pid", (int)pid, "time_ns", (json_int_t)now_ns(),
		      "exit_code", exit_code, "error", error, "ports", ports);

	if (s)
		ctr_write_state(c, s, NULL);
	json_decref(s);
}

static void write_state(struct ctr *c, const char *status, int exit_code,
			const char *error, const char *ports)
{
	write_state_of(c, getpid(), status, exit_code, error, ports);
}

/* ---- the keeper's side of a jailed VMM (docs/security.md, "Jail") ---- */

/* To the keeper, before the guest runs: the anonymous volumes to remove
 * with --rm, then "started". After it only "exit" counts. */
static void tell_keeper_start(struct sm_vm *vm, int keeper_fd)
{
	char dirs[16384], line[PATH_MAX + 8];
	struct sm_error err = {0};

	if (!sm_vm_anonymous_volumes(vm, dirs, sizeof(dirs), &err))
		for (char *d = strtok(dirs, "\n"); d; d = strtok(NULL, "\n")) {
			int n = snprintf(line, sizeof(line), "anon %s\n", d);

			if (n > 0 && (size_t)n < sizeof(line) &&
			    write(keeper_fd, line, (size_t)n) < 0)
				return;
		}
	if (write(keeper_fd, "started\n", 8) < 0)
		return;
}

static void tell_keeper_exit(int keeper_fd, int status, const char *error)
{
	char line[sizeof(((struct sm_error *)0)->msg) + 32];
	int n = snprintf(line, sizeof(line), "exit %d %s\n", status,
			 error ? error : "");

	if (n > 0 && write(keeper_fd, line, strlen(line)) < 0)
		return;
}

/*
 * Runs the VM to its end with the record kept up to date. notify_fd >= 0
 * (detached): "ok" or the error goes there once the VM started.
 */
static int run_recorded(struct run_job *j, struct ctr *c, int notify_fd,
			int keeper_fd)
{
	struct sm_error err = {0};
	struct ctr_server *srv = NULL;
	struct sm_store *store = NULL;
	struct sm_vm *vm = NULL;
	int status = 0, ret;

	/* a restore finds the snapshot's image in the store too */
	if (cli_open_store(&store, NULL))
		return CLI_EXIT_FAILURE;
	if (keeper_fd >= 0)
		j->o->remove_anonymous = 0; /* the keeper does it */
	if (cli_cgroup_wanted(j) && (!c || cli_cgroup_enter(j, c->id, &err))) {
		if (!c)
			sm_err(&err, -EINVAL,
			       "cgroup limits need a container record");
		if (notify_fd >= 0) {
			if (write(notify_fd, err.msg, strlen(err.msg)) < 0)
				notify_fd = -1;
			close(notify_fd);
		} else {
			cli_print_error(&err);
		}
		sm_store_close(store);
		return CLI_EXIT_FAILURE;
	}
	cli_thread_policy(j->o); /* for the control socket's threads */
	if (!j->detach) /* the user's (or the keeper's) signals go in */
		j->o->signal_fd = cli_signal_pipe();
	/* rootless: a user namespace while this process has one thread */
	ret = keeper_fd >= 0 ? cli_vmm_enter_userns(j->o->verbose, &err) : 0;
	if (ret >= 0 && j->restore_dir)
		ret = sm_vm_restore(store, j->restore_dir, j->o, &vm, &err);
	else if (ret >= 0)
		ret = sm_vm_create(store, j->image, j->o, &vm, &err);
	if (!ret && c && ctr_serve_start(c, vm, j->stop_timeout, &srv, &err)) {
		srv = NULL;
		if (j->detach)
			ret = err.code ? err.code : -EIO;
		else if (j->o->verbose) /* a convenience in the foreground */
			fprintf(stderr, "supermachine: no control socket: %s\n",
				err.msg);
	}
	if (!ret && keeper_fd >= 0)
		tell_keeper_start(vm, keeper_fd);
	if (!ret)
		ret = sm_vm_start(vm, &err);
	if (c && !ret) {
		char ports[1024] = "";

		sm_vm_ports(vm, ports, sizeof(ports), NULL);
		write_state(c, "running", 0, NULL, ports);
	}
	/* docs/security.md: the filter, and the jail for a kept VMM */
	if (!ret && cli_enter_control(j->o, keeper_fd >= 0))
		ret = sm_err(&err, -EPERM,
			     "cannot confine the VMM's main thread");
	if (notify_fd >= 0) {
		const char *msg = ret ? err.msg : "ok";

		if (write(notify_fd, msg, strlen(msg)) < 0)
			ret = ret ? ret : -EPIPE;
		close(notify_fd);
	}
	if (!ret)
		ret = sm_vm_wait(vm, &status, &err);
	if (ret) {
		if (notify_fd < 0)
			cli_print_error(&err);
		status = ret == -ETIMEDOUT ? 124 : CLI_EXIT_FAILURE;
	}
	if (srv)
		ctr_serve_exited(srv);
	if (keeper_fd >= 0)
		tell_keeper_exit(keeper_fd, status, ret ? err.msg : NULL);
	else if (c)
		write_state(c, "exited", status, ret ? err.msg : NULL, NULL);
	ctr_serve_stop(srv);
	sm_vm_destroy(vm);
	if (store)
		sm_store_close(store);
	if (keeper_fd < 0 && c)
		cli_cgroup_leave(j, c->id);
	return status;
}

/* The keeper's record of what its VMM said. */
struct kept {
	char **anon;
	size_t nanon;
	bool started, exited;
	int status;
	char error[512];
};

static void kept_line(void *opaque, char *line)
{
	struct kept *k = opaque;

	/* at most as many as a run may have volumes, whatever it says */
	if (!k->started && !strncmp(line, "anon /", 6) && k->nanon < 256) {
		char **a = realloc(k->anon, (k->nanon + 1) * sizeof(*a));

		if (a && (a[k->nanon] = strdup(line + 5)))
			k->anon = a, k->nanon++;
		else if (a)
			k->anon = a;
	} else if (!k->started && !strcmp(line, "started")) {
		k->started = true;
	} else if (!k->exited && !strncmp(line, "exit ", 5)) {
		char *end;
		long v = strtol(line + 5, &end, 10);

		k->exited = true;
		k->status = v >= 0 && v <= 255 ? (int)v : CLI_EXIT_FAILURE;
		/* the VMM's words, shown by ps: printable ASCII only */
		end += *end == ' ';
		for (size_t i = 0; end[i] && i < sizeof(k->error) - 1; i++)
			k->error[i] =
			    end[i] >= 0x20 && end[i] < 0x7f ? end[i] : '?';
	}
}

/*
 * A jailed VMM cannot write its record's end, remove its record (--rm)
 * or its anonymous volumes: its parent, this keeper, does, after it
 * ended (cli/vmm_proc.c). The keeper never touches the guest or its
 * devices. c may be NULL: a foreground run whose record failed.
 */
static int run_kept(struct run_job *j, struct ctr *c, int notify_fd)
{
	const int stdio[] = {j->o->stdin_fd, j->o->stdout_fd, j->o->stderr_fd};
	struct kept k = {0};
	char sock[PATH_MAX];
	int from_vmm = -1, to_keeper = -1, status;
	pid_t pid;

	fflush(NULL);
	/* detached: the supervisor closed the caller's fds already */
	pid = cli_vmm_fork(&from_vmm, &to_keeper, notify_fd < 0 ? stdio : NULL,
			   3);
	if (pid == 0)
		_exit(run_recorded(j, c, notify_fd, to_keeper));
	if (notify_fd >= 0)
		close(notify_fd);
	if (pid < 0) {
		fprintf(stderr,
			"supermachine: cannot fork the VM's process: %s\n",
			strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	status = cli_vmm_wait(pid, from_vmm, kept_line, &k);
	if (!k.exited) { /* it died before it could say how */
		k.status = status;
		if (status == SM_SECCOMP_EXIT_STATUS)
			snprintf(k.error, sizeof(k.error),
				 "the VMM made a forbidden system call (its "
				 "line is in the container's log)");
	}
	if (c) {
		write_state_of(c, pid, "exited", k.status,
			       k.error[0] ? k.error : NULL, NULL);
		if (!ctr_path(c, "ctl.sock", sock, sizeof(sock)))
			unlink(
			    sock); /* the VMM could not: it had no path to it */
		cli_cgroup_remove(j, c->id); /* empty now */
	}
	for (size_t i = 0; i < k.nanon; i++) {
		if (j->o->remove_anonymous)
			sm_rm_tree(k.anon[i]);
		free(k.anon[i]);
	}
	free(k.anon);
	return k.status;
}

/* ---- detached ---- */

static int open_log(struct ctr *c, const char *file)
{
	char path[PATH_MAX];

	if (ctr_path(c, file, path, sizeof(path)))
		return -1;
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* The supervisor: a session of its own, stdio to the logs. Never returns. */
static void supervise(struct run_job *j, struct ctr *c, int notify_fd)
{
	int nul, keep_open[2] = {-1, -1};
	int status;

	/* nothing the caller's shell left open reaches the VMM: only the
	 * notify pipe (as fd 3) outlives this */
	if (notify_fd != 3) {
		if (dup2(notify_fd, 3) < 0)
			_exit(CLI_EXIT_FAILURE);
		notify_fd = 3;
	}
	close_range(4, ~0U, 0);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	setsid();
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(nul, 2);
	j->o->stdout_fd = open_log(c, "stdout.log");
	j->o->stderr_fd = open_log(c, "stderr.log");
	j->o->stdin_fd = nul;
	/* docker run -di: stdin stays open, with nothing ever written */
	if (j->o->interactive && pipe2(keep_open, O_CLOEXEC) == 0)
		j->o->stdin_fd = keep_open[0];
	j->o->signal_fd = -1; /* detached: signals come as requests */
	j->o->verbose = 0;
	if (j->o->stdout_fd < 0 || j->o->stderr_fd < 0) {
		if (write(notify_fd, "cannot open the container's log files",
			  37) < 0)
			_exit(CLI_EXIT_FAILURE);
		_exit(CLI_EXIT_FAILURE);
	}
	/* what the VMM itself says on its way out (a seccomp line) */
	dup2(j->o->stderr_fd, 2);
	status = cli_jails_main_thread(j->o)
		     ? run_kept(j, c, notify_fd)
		     : run_recorded(j, c, notify_fd, -1);
	if (j->auto_remove)
		ctr_remove(c, NULL);
	_exit(status);
}

static int run_detached(struct run_job *j, struct ctr *c)
{
	char msg[1024];
	int p[2];
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		perror("supermachine: pipe");
		return CLI_EXIT_FAILURE;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("supermachine: fork");
		return CLI_EXIT_FAILURE;
	}
	if (pid == 0) {
		close(p[0]);
		supervise(j, c, p[1]);
	}
	close(p[1]);
	while ((n = read(p[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0 ||
	       (n < 0 && errno == EINTR))
		got += n > 0 ? n : 0;
	close(p[0]);
	msg[got] = '\0';
	if (strcmp(msg, "ok") == 0) {
		printf("%s\n", c->id);
		return 0;
	}
	fprintf(stderr, "supermachine: %s\n",
		got ? msg : "the VM's supervisor failed to start");
	waitpid(pid, NULL, 0);
	ctr_remove(c, NULL);
	return CLI_EXIT_FAILURE;
}

int cli_run_job(struct run_job *j)
{
	struct sm_error err = {0};
	struct ctr c;
	json_t *meta = make_meta(j);
	int ret, status;

	if (!meta) {
		fprintf(stderr, "supermachine: out of memory\n");
		return CLI_EXIT_FAILURE;
	}
	ret = ctr_create(&c, j->name, meta, &err);
	if (ret && (j->name || j->detach)) {
		cli_print_error(&err);
		ctr_release(&c);
		return CLI_EXIT_FAILURE;
	}
	if (j->detach) {
		status = run_detached(j, &c);
		ctr_release(&c);
		return status;
	}
	/* docs/security.md, "The keeper": the VMM in a process of its own */
	if (cli_jails_main_thread(j->o))
		status = run_kept(j, ret ? NULL : &c, -1);
	else
		status = run_recorded(j, ret ? NULL : &c, -1, -1);
	if (!ret)
		ctr_remove(&c, NULL); /* a foreground run leaves no record */
	ctr_release(&c);
	return status;
}
