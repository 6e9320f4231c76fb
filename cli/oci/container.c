/*
 * The container's process, the pid the engine holds (create's child, or
 * run's own process): it enters the engine's network namespace, tells
 * create it is ready, waits on exec.fifo until start opens it, then runs
 * the VM as a container record of the library's (so exec finds it), in
 * the foreground, and exits with the guest process's status. Signals sent
 * to it (the engine's kill) go to the guest's process; SIGKILL ends the
 * VM with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "runtime.h"
#include "util/fs.h"

static int sig_pipe[2] = {-1, -1};

static void on_signal(int signo)
{
	int saved = errno;

	if (write(sig_pipe[1], &signo, sizeof(signo)) < 0) {
		/* full: the guest is not reading signals; drop it */
	}
	errno = saved;
}

/* Every signal the engine may send is relayed to the guest's process
 * (the library reads the pipe: run options' signal_fd). */
static int relay_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD &&
		    s != SIGPIPE && s != SIGSEGV && s != SIGBUS &&
		    s != SIGFPE && s != SIGILL && s != SIGTTOU &&
		    s != SIGTTIN && s != SIGTSTP)
			sigaction(s, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return sig_pipe[0];
}

static void tell(int fd, const char *msg)
{
	if (fd >= 0 && write(fd, msg, strlen(msg)) < 0) {
		/* create died: it kills us too */
	}
}

static __attribute__((noreturn)) void fail(int ready_fd, const char *fmt,
					   const char *arg)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), fmt, arg);
	if (ready_fd >= 0)
		tell(ready_fd, msg);
	else
		oci_fail("%s", msg);
	_exit(ready_fd >= 0 ? 1 : 125);
}

/* The engine's network namespace, its interface handed to the VM. */
static void enter_netns(const char *path, struct bundle_run *map, int ready_fd)
{
	static char spec[160];
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		fail(ready_fd, "network namespace %s: cannot enter it", path);
	close(fd);
	if (!oci_netns_bridge(spec, sizeof(spec)))
		map->o.network = spec;
}

/* Blocks until start opens exec.fifo; then tells it we go on. */
static void await_start(const char *id)
{
	char fifo[4200];
	int fd;

	if (oci_path(fifo, sizeof(fifo), id, "exec.fifo"))
		_exit(125);
	fd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return; /* run: nothing to wait for */
	if (fd < 0)
		_exit(125);
	tell(fd, "0");
	close(fd);
}

static int run_vm(const char *id, struct bundle_run *map)
{
	struct sm_container_options co = {.size = sizeof(co)};
	struct sm_container *c = NULL;
	struct sm_error err = {0};
	char name[300];
	int status = 125;

	oci_record_name(id, name, sizeof(name));
	co.name = name;
	co.run = &map->o;
	co.auto_remove = 1; /* delete need not find it */
	map->o.signal_fd = relay_signals();
	if (sm_container_create(&co, &c, &err) ||
	    sm_container_start(c, &status, &err)) {
		oci_log("error", "container %s: %s", id, err.msg);
		fprintf(stderr, "supermachine-oci: %s\n", err.msg);
		status = status ? status : 125;
	}
	sm_container_close(c);
	return status;
}

void oci_container_main(const char *id, struct bundle_run *map,
			const char *netns, int ready_fd)
{
	int keep[2];
	size_t nkeep = 0;

	if (ready_fd >= 0)
		setsid();
	if (ready_fd >= 0)
		keep[nkeep++] = ready_fd;
	if (map->o.stdin_fd > 2)
		keep[nkeep++] = map->o.stdin_fd;
	/* nothing of the engine's beyond stdio (its sync pipes' ends) */
	sm_close_fds_except(3, keep, nkeep);
	enter_netns(netns, map, ready_fd);
	if (map->o.stdin_fd > 2) { /* the terminal: the VM's stdio */
		for (int fd = 0; fd < 3; fd++)
			dup2(map->o.stdin_fd, fd);
		close(map->o.stdin_fd);
		map->o.stdin_fd = 0, map->o.stdout_fd = 1, map->o.stderr_fd = 2;
	}
	tell(ready_fd, "ok");
	if (ready_fd >= 0)
		close(ready_fd);
	await_start(id);
	_exit(run_vm(id, map));
}
