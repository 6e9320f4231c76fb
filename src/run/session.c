/*
 * A VM handle's session (src/run/handle.h): the thread that starts the
 * vCPUs (restoring the warm-start template or booting cold), runs the
 * agent session to the process's exit, and boots cold once when a
 * restored template fails before the process starts; sm_vm_start,
 * sm_vm_wait, sm_vm_kill.
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

/* on_hello of a cold boot: the guest is ready, save it for next time. */
static void save_template(void *opaque)
{
	struct warm *w = opaque;
	struct sm_error e = {0};
	uint64_t t0 = sm_now_ns();

	if (template_save(&w->t, w->vm, &e))
		warn(w->o, "supermachine: no warm-start template: %s", e.msg);
	else
		note(w->o,
		     "supermachine: saved warm-start template %s (%.1f ms)",
		     w->t.dir, (sm_now_ns() - t0) / 1e6);
}

/*
 * Restores the template if there is a good one, else boots cold (and
 * then saves a template when the guest is ready).
 */
int run_start_vm(const struct vm_config *vc, struct warm *w, bool use_template,
		 struct sm_error *err)
{
	struct sm_error e = {0};
	int ret;

	if (use_template && w->t.usable) {
		ret = vm_restore(vc, w->t.dir, &w->vm, &e);
		if (!ret) {
			note(w->o,
			     "supermachine: warm start: restored %s in %.1f ms",
			     w->t.dir, (sm_now_ns() - w->t0) / 1e6);
			return 0;
		}
		warn(w->o, "supermachine: template unusable, dropped (%s)",
		     e.msg);
		template_drop(&w->t);
		w->t.usable = false;
	}
	ret = vm_create(vc, &w->vm, err);
	if (!ret)
		note(w->o, "supermachine: cold boot");
	return ret;
}

/* Boots cold after a template failed to come back to life. */
static int retry_cold(struct sm_vm *h, struct sm_error *err)
{
	warn(&h->o,
	     "supermachine: restored VM misbehaved (%s); dropping the "
	     "template, booting cold",
	     err->msg);
	template_drop(&h->w.t);
	h->w.t.usable = false;
	vm_destroy(h->w.vm);
	h->w.vm = NULL;
	agent_destroy(&h->agent);
	memset(err, 0, sizeof(*err));
	if (agent_init(&h->agent, err))
		return err->code;
	return run_start_vm(&h->vc, &h->w, h->use_template, err);
}

/*
 * The phases of a run, for --verbose and bench/run.sh: VMM start (handle
 * to vCPUs running), kernel boot (to the init's first marker; a restore
 * has none), init until the spec went out, and the process's own run
 * (spec sent to its exit status received).
 */
static void note_timing(struct sm_vm *h, bool restored)
{
	uint64_t init = h->w.vm->init_seen_ns, now = sm_now_ns();
	uint64_t boot_end = !restored && init ? init : h->vcpus_ns;

	note(&h->o,
	     "supermachine: timing: vmm %.1f ms, %s %.1f ms, init to spec %.1f "
	     "ms, process %.1f ms, total %.1f ms",
	     (h->vcpus_ns - h->w.t0) / 1e6,
	     restored ? "restore (no boot)" : "kernel boot",
	     (boot_end - h->vcpus_ns) / 1e6, (h->io.hello_ns - boot_end) / 1e6,
	     (now - h->io.hello_ns) / 1e6, (now - h->w.t0) / 1e6);
}

/*
 * before_spec: the session thread needs the host's files (a template to
 * save, a cold boot to retry) only until the image's process starts; it
 * jails itself then, before it reads a byte more from the guest, and off
 * the path to the process's start (docs/security.md, "Jail").
 */
static int jail_session(void *opaque, struct sm_error *err)
{
	struct sm_vm *h = opaque;

	return run_policy_of(&h->o).jail ? sm_jail_thread(SM_ROLE_CONTROL, err)
					 : 0;
}

/* Wakes sm_vm_exec's wait (process_running): the process runs, or the
 * session ended. */
static void wake_run_waiters(void *opaque)
{
	struct sm_vm *h = opaque;

	pthread_mutex_lock(&h->run_lock);
	pthread_cond_broadcast(&h->run_cond);
	pthread_mutex_unlock(&h->run_lock);
}

/* on_spec_sent: the counts of the start (boot or restore, init), then
 * sm_vm_exec's waiters. */
static void spec_sent(void *opaque)
{
	struct sm_vm *h = opaque;

	if (h->counting)
		vm_counts_now(h->w.vm, &h->at_spec);
	wake_run_waiters(h);
}

/* One phase's counts, for --verbose (docs/benchmarks.md, "Counts"). */
void run_note_counts(struct sm_vm *h, const char *phase,
		     const struct vm_counts *from, const struct vm_counts *to)
{
	struct vm_counts d;
	char line[512];

	vm_counts_sub(to, from, &d);
	vm_counts_format(&d, line, sizeof(line));
	note(&h->o, "supermachine: counts %s: %s", phase, line);
}

static void note_all_counts(struct sm_vm *h, bool restored)
{
	struct vm_counts now;

	vm_counts_now(h->w.vm, &now);
	run_note_counts(h, "vmm", &h->at_start, &h->at_vcpus);
	run_note_counts(h, restored ? "restore to spec" : "boot to spec",
			&h->at_vcpus, &h->at_spec);
	run_note_counts(h, "process", &h->at_spec, &now);
	run_note_counts(h, "total", &h->at_start, &now);
}

/* The VM's vCPUs and the agent session, to the process's exit status. */
static int run_once(struct sm_vm *h, bool restored, struct sm_error *err)
{
	int ret;

	h->io.on_hello = h->use_template && !restored ? save_template : NULL;
	h->io.on_hello_opaque = &h->w;
	h->io.before_spec = jail_session;
	h->io.before_spec_opaque = h;
	h->io.on_spec_sent = spec_sent;
	h->io.on_spec_sent_opaque = h;
	h->io.on_started = wake_run_waiters;
	h->io.on_started_opaque = h;
	h->io.stop_fd = h->w.vm->stop_efd;
	h->io.resume_hostname = h->spec.hostname;
	h->vcpus_ns = sm_now_ns();
	if (h->counting)
		vm_counts_now(h->w.vm, &h->at_vcpus);
	ret = vm_start_vcpus(h->w.vm, err);
	if (!ret)
		ret = agent_session(&h->agent, h->have_spec ? &h->spec : NULL,
				    &h->io, &h->status, err);
	if (!ret)
		note_timing(h, restored);
	if (!ret && h->counting)
		note_all_counts(h, restored);
	if (ret && !vm_is_stopped(h->w.vm))
		vm_stop(h->w.vm,
			ret == -ETIMEDOUT ? SM_EXIT_TIMEOUT : SM_EXIT_INTERNAL,
			0, NULL);
	vm_wait(h->w.vm, 0);
	if (h->io.hello_ns)
		note(&h->o,
		     "supermachine: guest connected at %.1f ms, ready at %.1f "
		     "ms, done at %.1f ms",
		     (h->io.connected_ns - h->w.t0) / 1e6,
		     (h->io.hello_ns - h->w.t0) / 1e6,
		     (sm_now_ns() - h->w.t0) / 1e6);
	return ret;
}

/*
 * A template that came back to life and then failed before the process
 * started (not a timeout, which is the process's): worth one cold boot.
 */
static bool template_failed_early(const struct sm_vm *h, int ret)
{
	return ret && ret != -ETIMEDOUT && !h->io.spec_sent;
}

static void *session_thread(void *arg)
{
	struct sm_vm *h = arg;
	struct sm_error *err = &h->err;
	bool restored = h->use_template && h->w.t.usable;
	int ret = run_once(h, restored, err);

	if (restored && template_failed_early(h, ret)) {
		ret = retry_cold(h, err);
		if (!ret)
			ret = run_once(h, false, err);
	}
	if (ret == -ECHILD && h->w.vm && h->w.vm->reason != SM_EXIT_GUEST)
		ret = sm_err(err, -EIO, "the VM stopped: %s",
			     h->w.vm->detail[0] ? h->w.vm->detail
						: "unknown reason");
	h->ret = ret;
	__atomic_store_n(&h->session_over, true, __ATOMIC_RELEASE);
	wake_run_waiters(h);
	return NULL;
}

/* The VM's session thread (control role) and the vCPU threads it
 * starts take h's seccomp policy. */
static int start_session_thread(struct sm_vm *h)
{
	struct run_policy saved = run_policy_now();
	int ret;

	run_policy_set(run_policy_of(&h->o));
	ret = sm_thread_start(&h->thread, SM_ROLE_CONTROL, session_thread, h);
	run_policy_set(saved);
	return ret;
}

SM_API int sm_vm_start(struct sm_vm *h, struct sm_error *err)
{
	if (!h)
		return sm_err(err, -EINVAL, "sm_vm_start: a VM is required");
	if (h->started)
		return sm_err(err, -EALREADY, "the VM was started already");
	if (start_session_thread(h))
		return sm_err(err, -EAGAIN, "cannot start the VM's thread");
	h->started = true;
	return 0;
}

SM_API int sm_vm_wait(struct sm_vm *h, int *exit_status, struct sm_error *err)
{
	if (!h)
		return sm_err(err, -EINVAL, "sm_vm_wait: a VM is required");
	if (!h->started)
		return sm_err(err, -EINVAL, "the VM was not started");
	if (!h->joined) {
		pthread_join(h->thread, NULL);
		h->joined = true;
	}
	if (h->ret) {
		if (err)
			*err = h->err;
		return h->ret;
	}
	if (exit_status)
		*exit_status = h->status;
	return 0;
}

/* Only a write(2): callable from a signal handler. */
SM_API int sm_vm_kill(struct sm_vm *h, int signo, struct sm_error *err)
{
	if (!h)
		return sm_err(err, -EINVAL, "sm_vm_kill: a VM is required");
	if (signo <= 0 || signo >= 65)
		return sm_err(err, -EINVAL, "bad signal %d", signo);
	if (write(h->kill_pipe[1], &signo, sizeof(signo)) != sizeof(signo))
		return sm_err_errno(err, "signal the VM's process");
	return 0;
}

/* The process's start as the session saw it: 1, -1 or 0 (not yet, and
 * the session goes on). Waits up to deadline (CLOCK_MONOTONIC; 0: none),
 * woken by the session (wake_run_waiters). */
static int wait_start_state(struct sm_vm *h, const struct timespec *deadline,
			    bool *over)
{
	int state = 0;

	pthread_mutex_lock(&h->run_lock);
	for (;;) {
		struct timespec slice;

		state = __atomic_load_n(&h->io.started, __ATOMIC_ACQUIRE);
		*over = __atomic_load_n(&h->session_over, __ATOMIC_ACQUIRE);
		if (state || *over)
			break;
		clock_gettime(CLOCK_MONOTONIC, &slice);
		if (deadline->tv_sec && slice.tv_sec >= deadline->tv_sec)
			break;
		slice.tv_sec +=
		    1; /* a VM that stops unseen is seen within it */
		pthread_cond_timedwait(&h->run_cond, &h->run_lock, &slice);
	}
	pthread_mutex_unlock(&h->run_lock);
	return state;
}

SM_API int sm_vm_wait_started(struct sm_vm *h, unsigned int timeout_ms,
			      int *exit_status, struct sm_error *err)
{
	struct timespec deadline = {0, 0};
	bool over = false;
	int state;

	if (!h || !exit_status)
		return sm_err(err, -EINVAL,
			      "sm_vm_wait_started: a VM and a status are "
			      "required");
	if (!h->started)
		return sm_err(err, -EINVAL, "the VM was not started");
	if (timeout_ms) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += (time_t)((timeout_ms + 999) / 1000);
	}
	state = wait_start_state(h, &deadline, &over);
	if (state > 0)
		return 0;
	if (state < 0) {
		*exit_status = h->io.start_status;
		return sm_err(err, -ENOEXEC, "%s",
			      h->io.start_error[0] ? h->io.start_error
						   : "the process could not "
						     "start");
	}
	if (over)
		return sm_err(err, -ESRCH,
			      "the VM ended before its process started");
	return sm_err(err, -ETIMEDOUT, "the process did not start within %u ms",
		      timeout_ms);
}
