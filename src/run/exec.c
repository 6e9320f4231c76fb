/*
 * sm_vm_exec: another process in a running VM, over a new agent
 * connection (src/run/handle.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "sandbox/sandbox.h"
#include "oci/oci.h"
#include "oci/store.h"
#include "proto/proto.h"
#include "run/agent.h"
#include "run/assets.h"
#include "run/spec.h"
#include "run/template.h"
#include "run/vm_conf.h"
#include "run/volumes.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/opts.h"
#include "util/log.h"
#include "vmm/vm_run.h"
#include "run/handle.h"

/* ---- exec ---- */

SM_API void sm_exec_options_init(struct sm_exec_options *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->stdin_fd = 0;
	o->stdout_fd = 1;
	o->stderr_fd = 2;
	o->signal_fd = -1;
}

SM_API int sm_signal_number(const char *name)
{
	return run_parse_signal(name);
}

SM_API int sm_vm_stop_signal(struct sm_vm *h)
{
	if (!h)
		return -EINVAL;
	return (h->have_spec || h->exec_base) && h->spec.stop_signal > 0
		   ? h->spec.stop_signal
		   : SIGTERM;
}

/* Asks the guest for an exec connection and claims it. */
static int exec_connect(struct sm_vm *h, uint32_t *version,
			struct sm_error *err)
{
	uint32_t id;
	int fd;

	pthread_mutex_lock(&h->exec_lock);
	id = ++h->exec_seq;
	if (write(h->exec_pipe[1], &id, sizeof(id)) != sizeof(id)) {
		pthread_mutex_unlock(&h->exec_lock);
		return sm_err_errno(err, "exec: asking the guest");
	}
	/* generous: an emulated host takes seconds to fork the exec agent */
	fd = agent_exec_connection(&h->agent, id, h->w.vm->stop_efd, 60000,
				   version, err);
	pthread_mutex_unlock(&h->exec_lock);
	return fd;
}

/*
 * Whether the VM's process runs, waiting (up to a minute) while a just
 * started VM is still getting there: its init has yet to connect, or
 * a restored one to reconnect.
 */
static bool process_running(struct sm_vm *h)
{
	struct timespec deadline, slice;
	bool running = false;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 60;
	pthread_mutex_lock(&h->run_lock);
	for (;;) {
		if (__atomic_load_n(&h->session_over, __ATOMIC_ACQUIRE) ||
		    vm_is_stopped(h->w.vm))
			break;
		if (__atomic_load_n(&h->io.spec_sent, __ATOMIC_ACQUIRE)) {
			running = true;
			break;
		}
		/* woken when the spec goes out or the session ends; a VM that
		 * stops without either is seen within the slice */
		clock_gettime(CLOCK_MONOTONIC, &slice);
		if (slice.tv_sec >= deadline.tv_sec)
			break;
		slice.tv_sec += 1;
		pthread_cond_timedwait(&h->run_cond, &h->run_lock, &slice);
	}
	pthread_mutex_unlock(&h->run_lock);
	return running;
}

/*
 * exec -d: the session runs on in a thread of its own, which holds the
 * connection, the spec and dups of the stdio fds; the caller waits only
 * for the guest's word that the process started. Shared by the two until
 * both let go (refs); sm_vm_destroy() waits for the threads
 * (detached_execs), whose sessions end when the VM stops.
 */
struct detached_exec {
	struct sm_vm *h;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs, fd, status, ret;
	bool done;
	struct sm_error err; /* why the session failed (ret) */
	struct run_spec spec;
	struct agent_io io;
};

static int *stdio_of(struct detached_exec *d, int i)
{
	return i == 0 ? &d->io.in_fd : i == 1 ? &d->io.out_fd : &d->io.err_fd;
}

/* The session's own copies of the caller's stdio (it outlives the
 * call); a caller's -1 (none) stays -1. -errno when one cannot be made. */
static int dup_stdio(struct detached_exec *d)
{
	int ret = 0;

	for (int i = 0; i < 3; i++) {
		int *fd = stdio_of(d, i);

		if (ret) /* not ours: nothing to close later */
			*fd = -1;
		else if (*fd >= 0 && (*fd = fcntl(*fd, F_DUPFD_CLOEXEC, 0)) < 0)
			ret = -errno;
	}
	return ret;
}

static void detached_put(struct detached_exec *d)
{
	bool last;

	pthread_mutex_lock(&d->lock);
	last = --d->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (!last)
		return;
	close(d->fd);
	run_spec_free(&d->spec);
	for (int i = 0; i < 3; i++)
		if (*stdio_of(d, i) >= 0)
			close(*stdio_of(d, i));
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}

static void detached_wake(void *opaque)
{
	struct detached_exec *d = opaque;

	pthread_mutex_lock(&d->lock);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void *detached_session(void *arg)
{
	struct detached_exec *d = arg;
	struct sm_vm *h = d->h;
	struct sm_error e = {0};
	int status = 0, ret;

	ret = agent_exec_session(d->fd, &d->spec, &d->io, &status, &e);
	pthread_mutex_lock(&d->lock);
	d->status = status;
	d->ret = ret;
	d->err = e;
	d->done = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	detached_put(d);
	pthread_mutex_lock(&h->run_lock);
	h->detached_execs--;
	pthread_cond_broadcast(&h->run_cond);
	pthread_mutex_unlock(&h->run_lock);
	return NULL;
}

static int exec_detached(struct sm_vm *h, int fd, struct run_spec *spec,
			 const struct agent_io *io, int *exit_status,
			 struct sm_error *err)
{
	struct detached_exec *d = calloc(1, sizeof(*d));
	pthread_t t;
	int started, ret, dup_failed;

	if (!d) {
		close(fd);
		run_spec_free(spec);
		return sm_err(err, -ENOMEM, "exec: out of memory");
	}
	*d = (struct detached_exec){.h = h, .refs = 2, .fd = fd, .spec = *spec};
	d->io = *io;
	d->io.interactive = false;
	d->io.caller_sig_fd = -1;
	d->io.deadline_ns = 0;
	dup_failed = dup_stdio(d);
	d->io.on_started = detached_wake;
	d->io.on_started_opaque = d;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	pthread_mutex_lock(&h->run_lock);
	h->detached_execs++;
	pthread_mutex_unlock(&h->run_lock);
	if (dup_failed || pthread_create(&t, NULL, detached_session, d)) {
		ret = sm_err_errno(err, "exec -d: starting its session");
		d->refs = 1;
		detached_put(d);
		pthread_mutex_lock(&h->run_lock);
		h->detached_execs--;
		pthread_mutex_unlock(&h->run_lock);
		return ret;
	}
	pthread_detach(t);
	pthread_mutex_lock(&d->lock);
	while (!d->done &&
	       !(started = __atomic_load_n(&d->io.started, __ATOMIC_ACQUIRE)))
		pthread_cond_wait(&d->cond, &d->lock);
	started = __atomic_load_n(&d->io.started, __ATOMIC_ACQUIRE);
	/* could not start: its status (126, 127); ended before a v1 guest's
	 * word: how it ended; else it runs */
	*exit_status = started < 0 ? d->io.start_status
		       : started   ? 0
				   : d->status;
	ret = !started && d->ret ? d->ret : 0;
	if (ret && err)
		*err = d->err;
	pthread_mutex_unlock(&d->lock);
	detached_put(d);
	return ret;
}

SM_API int sm_vm_exec(struct sm_vm *h, const struct sm_exec_options *in,
		      int *exit_status, struct sm_error *err)
{
	struct sm_exec_options opts, *o = &opts;
	struct run_spec spec;
	struct run_spec_options so;
	struct agent_io io;
	struct winsize ws;
	uint32_t version = 0;
	int fd, ret, status = 0;
	struct vm_counts before;

	sm_exec_options_init(o);
	if (!h || !in || !exit_status)
		return sm_err(err, -EINVAL,
			      "sm_vm_exec: a VM, options and exit_status are "
			      "required");
	if ((ret = sm_opts_take(o, sizeof(*o), in, "sm_exec_options", err)))
		return ret;
	if (!h->started || !h->w.vm || !process_running(h))
		return sm_err(err, -ESRCH,
			      "exec: the VM's process is not running");
	if (!h->have_spec && !h->exec_base)
		return sm_err(err, -ENOTSUP,
			      "exec: the snapshot this VM came from does not "
			      "say how its process runs");
	so = (struct run_spec_options){.cmd = o->argv,
				       .env = o->env,
				       .workdir = o->workdir,
				       .user = o->user,
				       .tty = o->tty,
				       .stdin_open = o->interactive};
	ret = run_spec_exec(&h->spec, &so, &spec, err);
	if (ret)
		return ret;
	if (o->tty && ioctl(o->stdin_fd, TIOCGWINSZ, &ws) == 0) {
		spec.rows = ws.ws_row;
		spec.cols = ws.ws_col;
	}
	if (h->counting)
		vm_counts_now(h->w.vm, &before);
	fd = exec_connect(h, &version, err);
	if (fd < 0) {
		run_spec_free(&spec);
		return fd;
	}
	io = (struct agent_io){
	    .in_fd = o->stdin_fd,
	    .out_fd = o->stdout_fd,
	    .err_fd = o->stderr_fd,
	    .interactive = o->interactive,
	    .sig_fd = -1,
	    .caller_sig_fd = o->signal_fd,
	    .stop_fd = h->w.vm->stop_efd,
	    .exec_fd = -1,
	    .deadline_ns = run_deadline_after(o->timeout_ms),
	    .exec_version = version,
	};
	if (o->detach)
		return exec_detached(h, fd, &spec, &io, exit_status, err);
	ret = agent_exec_session(fd, &spec, &io, &status, err);
	close(fd);
	run_spec_free(&spec);
	if (!ret)
		*exit_status = status;
	/* what the exec cost, to its process's end, as the run's phases
	 * are noted (other execs at the same time count in it too) */
	if (h->counting) {
		struct vm_counts now;

		vm_counts_now(h->w.vm, &now);
		run_note_counts(h, "exec", &before, &now);
	}
	return ret;
}
