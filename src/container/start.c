/*
 * sm_container_start(): the life of a container, in the foreground or
 * detached in a forked supervisor process. Either way the process that
 * owns the VM handle keeps its record and answers the control socket
 * (container.h), so `ps`, `exec`, `stop`, `kill` and `snapshot` reach it.
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

#include "container/container.h"
#include "container/logs.h"
#include "run/output_sink.h"
#include "oci/store.h"
#include "sandbox/sandbox.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "volume/volume.h"

int64_t ctr_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void ctr_write_state_of(struct ctr *c, pid_t pid, const char *status,
			int exit_code, const char *error, const char *ports)
{
	json_t *s =
	    json_pack("{s:s, s:i, s:I, s:i, s:s?, s:s?}", "status", status,
		      "pid", (int)pid, "time_ns", (json_int_t)ctr_wall_ns(),
		      "exit_code", exit_code, "error", error, "ports", ports);

	if (s)
		ctr_write_state(c, s, NULL);
	json_decref(s);
}

static void write_state(struct ctr *c, const char *status, int exit_code,
			const char *error, const char *ports)
{
	ctr_write_state_of(c, getpid(), status, exit_code, error, ports);
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

/* "exit STATUS CODE WHY": the status, and the -errno and message of a
 * VM that failed (0 and "" when it did not). */
static void tell_keeper_exit(int keeper_fd, int status,
			     const struct sm_error *err)
{
	char line[sizeof(((struct sm_error *)0)->msg) + 32];
	int n = snprintf(line, sizeof(line), "exit %d %d %s\n", status,
			 err ? err->code : 0, err ? err->msg : "");

	if (n > 0 && write(keeper_fd, line, strlen(line)) < 0)
		return;
}

/* Where a VM that failed to start says why: the notify pipe of a
 * detached start (closed), else err already holds it. */
static void notify(int *notify_fd, const char *msg)
{
	if (*notify_fd < 0)
		return;
	if (write(*notify_fd, msg, strlen(msg)) < 0) {
		/* the caller is gone: nobody to tell */
	}
	close(*notify_fd);
	*notify_fd = -1;
}

/* How long a detached start waits for its process (a cold boot under an
 * emulated host takes tens of seconds). */
#define START_WAIT_MS (300 * 1000)

/* A process that could not start, to the detached start's caller. */
static void notify_exit(int *notify_fd, int status, const char *why)
{
	char line[sizeof(((struct sm_error *)0)->msg) + 32];

	snprintf(line, sizeof(line), "exit %d %s", status, why);
	notify(notify_fd, line);
}

static int open_store(const struct sm_container *k, struct sm_store **store,
		      struct sm_error *err)
{
	struct sm_store_options so = {.size = sizeof(so),
				      .root = k->o.store_root};

	return sm_store_open(store, &so, err);
}

/*
 * Runs the VM to its end with the record kept up to date; its exit
 * status, and err when the VM failed. notify_fd >= 0 (detached): "ok" or
 * the error goes there once the VM started.
 */
static int run_recorded(struct sm_container *k, int notify_fd, int keeper_fd,
			struct sm_error *err)
{
	struct sm_run_options *o = k->o.run;
	struct ctr *c = k->recorded ? &k->rec : NULL;
	struct ctr_server *srv = NULL;
	struct sm_store *store = NULL;
	struct sm_vm *vm = NULL;
	int status = 0, ret, vlock;

	if (keeper_fd >= 0)
		o->remove_anonymous = 0; /* the keeper does it */
	/* a restore finds the snapshot's image in the store too */
	ret = open_store(k, &store, err);
	if (!ret && ctr_cgroup_wanted(&k->o))
		ret = c ? ctr_cgroup_enter(&k->o, c->id, err)
			: sm_err(err, -EINVAL,
				 "cgroup limits need a container record");
	if (ret) {
		notify(&notify_fd, err->msg);
		sm_store_close(store);
		return CTR_EXIT_FAILURE;
	}
	ctr_thread_policy(o); /* for the control socket's threads */
	/* the kept child's own: the keeper passes on what it is sent */
	if (keeper_fd >= 0 && o->signal_fd >= 0)
		o->signal_fd = ctr_signal_pipe_fresh();
	/* rootless: a user namespace while this process has one thread */
	ret = keeper_fd >= 0 ? ctr_vmm_enter_userns(err) : 0;
	/* a kept VMM holds one VM and execs nothing: its threads inherit an
	 * empty bounding set instead of each dropping it (docs/security.md,
	 * "Jail") */
	if (ret >= 0 && keeper_fd >= 0 && ctr_jails_main_thread(o) &&
	    sm_jail_drop_bounding_early() < 0)
		ret = sm_err(err, -EPERM, "jail: dropping the bounding set");
	/* volume rm and prune wait until the record names the volumes the
	 * VM makes (src/volume/volume.h) */
	vlock = ret >= 0 && c ? volume_lock(store->root, false, NULL) : -1;
	if (ret >= 0 && k->o.restore_dir)
		ret = sm_vm_restore(store, k->o.restore_dir, o, &vm, err);
	else if (ret >= 0)
		ret = sm_vm_create(store, k->o.image, o, &vm, err);
	if (!ret && c)
		volume_record_users(c, store->root, vm, NULL);
	volume_unlock(vlock);
	if (!ret && k->log) /* the container's log: as the guest wrote */
		run_set_output_sink(vm, ctr_log_sink, k->log);
	if (!ret && c &&
	    ctr_serve_start(c, vm, k->o.stop_timeout, k->stdin_feed, &srv,
			    err)) {
		srv = NULL;
		if (k->o.detach)
			ret = err->code ? err->code : -EIO;
		else /* a convenience in the foreground: it goes on */
			sm_log(SM_LOG_WARN, "no control socket: %s", err->msg);
		if (!ret)
			*err = (struct sm_error){0};
	}
	if (!ret && keeper_fd >= 0)
		tell_keeper_start(vm, keeper_fd);
	if (!ret)
		ret = sm_vm_start(vm, err);
	if (c && !ret) {
		char ports[1024] = "";

		sm_vm_ports(vm, ports, sizeof(ports), NULL);
		write_state(c, "running", 0, NULL, ports);
	}
	/* docs/security.md: the filter, and the jail for a kept VMM */
	if (!ret)
		ret = ctr_enter_control(o, keeper_fd >= 0, err);
	/* detached: "ok" once the process runs, as docker's run -d (its
	 * command not found: "exit 127 why") */
	if (!ret && notify_fd >= 0 &&
	    (ret = sm_vm_wait_started(vm, START_WAIT_MS, &status, err)) ==
		-ENOEXEC)
		notify_exit(&notify_fd, status, err->msg);
	notify(&notify_fd, ret ? err->msg : "ok");
	if (!ret && keeper_fd >= 0)
		ctr_vmm_trim();
	if (!ret)
		ret = sm_vm_wait(vm, &status, err);
	if (ret == -ENOEXEC) /* the process's status: 127, 126 */
		sm_vm_wait(vm, &status, NULL);
	else if (ret)
		status = ret == -ETIMEDOUT ? 124 : CTR_EXIT_FAILURE;
	if (srv)
		ctr_serve_exited(srv);
	if (keeper_fd >= 0)
		tell_keeper_exit(keeper_fd, status, ret ? err : NULL);
	else if (c)
		write_state(c, "exited", status, ret ? err->msg : NULL, NULL);
	ctr_serve_stop(srv);
	sm_vm_destroy(vm);
	sm_store_close(store);
	if (keeper_fd < 0 && c)
		ctr_cgroup_leave(&k->o, c->id);
	return status;
}

/* The keeper's record of what its VMM said. */
struct kept {
	char **anon;
	size_t nanon;
	bool started, exited;
	int status;
	int code; /* the VMM's -errno when its VM failed */
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
		k->status = v >= 0 && v <= 255 ? (int)v : CTR_EXIT_FAILURE;
		v = strtol(end, &end, 10);
		k->code = v < 0 && v > -4096 ? (int)v : 0;
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
 * ended (keeper.c). The keeper never touches the guest or its devices.
 */
static int run_kept(struct sm_container *kc, int notify_fd,
		    struct sm_error *err)
{
	struct sm_run_options *o = kc->o.run;
	const int stdio[] = {o->stdin_fd, o->stdout_fd, o->stderr_fd,
			     ctr_log_fd(kc->log)};
	struct ctr *c = kc->recorded ? &kc->rec : NULL;
	struct kept k = {0};
	char sock[PATH_MAX];
	int from_vmm = -1, to_keeper = -1, status;
	pid_t pid;

	fflush(NULL);
	/* detached: the supervisor closed the caller's fds already */
	pid = ctr_vmm_fork(&from_vmm, &to_keeper, notify_fd < 0 ? stdio : NULL,
			   4);
	if (pid == 0) {
		struct sm_error child_err = {0};

		_exit(run_recorded(kc, notify_fd, to_keeper, &child_err));
	}
	if (notify_fd >= 0)
		close(notify_fd);
	if (pid < 0) {
		sm_err_errno(err, "cannot fork the VM's process");
		return CTR_EXIT_FAILURE;
	}
	status = ctr_vmm_wait(pid, from_vmm, notify_fd < 0 ? o->signal_fd : -1,
			      kept_line, &k);
	if (!k.exited) { /* it died before it could say how */
		k.status = status;
		if (status == SM_SECCOMP_EXIT_STATUS)
			snprintf(k.error, sizeof(k.error),
				 "the VMM made a forbidden system call (its "
				 "line is on the run's stderr; detached: in "
				 "the record's vmm.log)");
	}
	if (k.error[0] || k.code)
		sm_err(err, k.code ? k.code : -EIO, "%s",
		       k.error[0] ? k.error : "the VM failed");
	if (c) {
		ctr_write_state_of(c, pid, "exited", k.status,
				   k.error[0] ? k.error : NULL, NULL);
		/* the VMM could not: it had no path to it */
		if (!ctr_path(c, "ctl.sock", sock, sizeof(sock)))
			unlink(sock);
		ctr_cgroup_remove(&kc->o, c->id); /* empty now */
	}
	for (size_t i = 0; i < k.nanon; i++) {
		if (o->remove_anonymous)
			sm_rm_tree(k.anon[i]);
		free(k.anon[i]);
	}
	free(k.anon);
	return k.status;
}

/* ---- detached ---- */

/* The VMM's own words on a detached run's stderr (a seccomp line): not
 * the container's output, so not in its log. */
static int open_vmm_log(struct ctr *c)
{
	char path[PATH_MAX];

	if (ctr_path(c, "vmm.log", path, sizeof(path)))
		return -1;
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/*
 * A record run again: relative bind sources from the creator's working
 * directory, and a bare `-e K` unsets K as it did at create (the host
 * had none then), whatever this process's environment holds.
 */
static int again_as_created(const struct ctr_config *cfg, struct sm_error *err)
{
	if (cfg->cwd && chdir(cfg->cwd))
		return sm_err_errno(err, "its working directory %s", cfg->cwd);
	for (const char *const *e = cfg->run.env; e && *e; e++)
		if (!strchr(*e, '='))
			unsetenv(*e);
	return 0;
}

/* The notify pipe to fd 3 and the life lock (if any) to fd 4, both by
 * way of high numbers first, so that placing one never closes the other
 * where it sat. */
static void place_fds(int *notify_fd, int *life_fd)
{
	int n = fcntl(*notify_fd, F_DUPFD_CLOEXEC, 16);
	int l = *life_fd >= 0 ? fcntl(*life_fd, F_DUPFD_CLOEXEC, 16) : -1;

	if (n < 0 || (*life_fd >= 0 && l < 0) || dup2(n, 3) < 0 ||
	    (l >= 0 && dup2(l, 4) < 0))
		_exit(CTR_EXIT_FAILURE);
	close(n);
	if (l >= 0)
		close(l);
	*notify_fd = 3;
	*life_fd = l >= 0 ? 4 : -1;
}

/* The supervisor: a session of its own, output to the log. Never returns. */
static void supervise(struct sm_container *k, int notify_fd)
{
	struct sm_run_options *o = k->o.run;
	struct sm_error err = {0};
	int nul, vmm_log, keep_open[2] = {-1, -1};
	int status;

	/* nothing the caller's process left open reaches the VMM: only the
	 * notify pipe (as fd 3) and the life lock (4) outlive this */
	place_fds(&notify_fd, &k->life_fd);
	close_range(k->life_fd >= 0 ? 5 : 4, ~0U, 0);
	if (k->cfg && again_as_created(k->cfg, &err)) {
		notify(&notify_fd, err.msg);
		_exit(CTR_EXIT_FAILURE);
	}
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	setsid();
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(nul, 2);
	o->stdout_fd = o->stderr_fd = o->stdin_fd = nul;
	/* docker run -di: stdin stays open, with nothing ever written */
	if (o->interactive && pipe2(keep_open, O_CLOEXEC) == 0) {
		o->stdin_fd = keep_open[0];
		k->stdin_feed = keep_open[1]; /* attach's (serve.c) */
	}
	o->signal_fd = -1; /* detached: signals come as requests */
	o->verbose = 0;
	if (ctr_log_open(&k->rec, k->o.log_max_size, &k->log, &err)) {
		notify(&notify_fd, err.msg);
		_exit(CTR_EXIT_FAILURE);
	}
	/* what the VMM itself says on its way out (a seccomp line) */
	if ((vmm_log = open_vmm_log(&k->rec)) >= 0) {
		dup2(vmm_log, 2);
		close(vmm_log);
	}
	status = ctr_jails_main_thread(o)
		     ? run_kept(k, notify_fd, &err)
		     : run_recorded(k, notify_fd, -1, &err);
	if (k->o.auto_remove)
		ctr_remove(&k->rec, NULL);
	_exit(status);
}

/* What the supervisor said instead of "ok": "exit STATUS WHY" when the
 * process could not start (-ENOEXEC and its status), else why the VM did
 * not. */
static int start_failure(char *msg, ssize_t got, int *status,
			 struct sm_error *err)
{
	char *why;
	long v;

	*status = CTR_EXIT_FAILURE;
	if (!strncmp(msg, "exit ", 5)) {
		v = strtol(msg + 5, &why, 10);
		if (v > 0 && v < 256 && *why == ' ') {
			*status = (int)v;
			return sm_err(err, -ENOEXEC, "%s", why + 1);
		}
	}
	return sm_err(err, -EIO, "%s",
		      got ? msg : "the VM's supervisor failed to start");
}

int ctr_start_detached(struct sm_container *k, int *status,
		       struct sm_error *err)
{
	struct sm_error why = {0};
	char msg[1024];
	int p[2], ret;
	ssize_t n, got = 0;
	pid_t pid;

	*status = CTR_EXIT_FAILURE;
	if (k->life_fd < 0)
		k->life_fd = ctr_lock_life(&k->rec, 0); /* a new record's */
	if (pipe2(p, O_CLOEXEC))
		return sm_err_errno(err, "start %s: pipe", k->rec.name);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return sm_err_errno(err, "start %s: fork", k->rec.name);
	}
	if (pid == 0) {
		close(p[0]);
		supervise(k, p[1]);
	}
	close(p[1]);
	if (k->life_fd >= 0) { /* the supervisor's now */
		close(k->life_fd);
		k->life_fd = -1;
	}
	while ((n = read(p[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0 ||
	       (n < 0 && errno == EINTR))
		got += n > 0 ? n : 0;
	close(p[0]);
	msg[got] = '\0';
	if (strcmp(msg, "ok") == 0) {
		*status = 0;
		return 0;
	}
	waitpid(pid, NULL, 0);
	ret = start_failure(msg, got, status, &why);
	if (k->cfg) /* a record that ran before stays, saying why */
		ctr_write_state_of(&k->rec, pid, "exited", *status, why.msg,
				   NULL);
	else
		ctr_remove(&k->rec, NULL);
	return sm_err(err, ret, "%s", why.msg);
}

int ctr_start_foreground(struct sm_container *k, int *status,
			 struct sm_error *err)
{
	struct sm_error e = {0};

	/* the output to the terminal and to the record's log, as docker's
	 * (docs/containers.md, "Logs"); a run without a record has none */
	if (k->recorded &&
	    ctr_log_open(&k->rec, k->o.log_max_size, &k->log, &e)) {
		*status = CTR_EXIT_FAILURE;
		return sm_err(err, e.code, "%s", e.msg);
	}
	if (k->recorded)
		k->life_fd = ctr_lock_life(&k->rec, 0);
	/* docs/security.md, "The keeper": the VMM in a process of its own */
	if (ctr_jails_main_thread(k->o.run))
		*status = run_kept(k, -1, &e);
	else
		*status = run_recorded(k, -1, -1, &e);
	ctr_log_close(k->log);
	k->log = NULL;
	/* kept until rm, as docker's (the error of a VM that failed in
	 * it); with --rm gone, as a detached run's */
	if (k->recorded && k->o.auto_remove)
		ctr_remove(&k->rec, NULL);
	if (k->life_fd >= 0) {
		close(k->life_fd);
		k->life_fd = -1;
	}
	return e.code ? sm_err(err, e.code, "%s", e.msg) : 0;
}
