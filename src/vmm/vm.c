/* VM lifecycle: vCPU threads, exit dispatch, stop and outcome. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/serial.h"
#include "sandbox/sandbox.h"
#include "util/fs.h"
#include "vmm/vm.h"
#include "util/error.h"
#include "util/guest_text.h"
#include "vmm/vm_run.h"

/* Signal used to pull a vCPU thread out of KVM_RUN. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)

void vm_irq_pulse(struct vm *vm, unsigned irq)
{
	hv_vm_set_irq(vm->hv, irq, 1);
	hv_vm_set_irq(vm->hv, irq, 0);
}

size_t vm_irq_fds(const struct vm *vm, int *fds, size_t max)
{
	return vm && vm->hv ? hv_vm_irq_fds(vm->hv, fds, max) : 0;
}

static void kick_all(struct vm *vm);

void vm_stop(struct vm *vm, enum sm_vm_exit reason, int status,
	     const char *detail)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopped) {
		vm->stopped = true;
		vm->reason = reason;
		vm->status = status;
		snprintf(vm->detail, sizeof(vm->detail), "%s",
			 detail ? detail : "");
		pthread_cond_broadcast(&vm->cond);
		if (vm->stop_efd >= 0) {
			uint64_t one = 1;

			ssize_t r = write(vm->stop_efd, &one, sizeof(one));

			(void)r; /* only fails when already signalled */
		}
	}
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
}

bool vm_is_stopped(struct vm *vm)
{
	bool s;

	pthread_mutex_lock(&vm->lock);
	s = vm->stopped;
	pthread_mutex_unlock(&vm->lock);
	return s;
}

void vm_marker(struct vm *vm, uint8_t marker)
{
	pthread_mutex_lock(&vm->lock);
	if (marker == 1 && !vm->init_seen_ns)
		vm->init_seen_ns = sm_now_ns();
	pthread_mutex_unlock(&vm->lock);
}

void vm_guest_reset(struct vm *vm)
{
	char line[256]; /* the serial port keeps no more of a line */

	if (vm->serial && serial_saw_panic(vm->serial, line, sizeof(line))) {
		char quoted[sizeof(vm->detail) - 32],
		    detail[sizeof(vm->detail)];

		/* the guest's words, quoted (docs/security.md, "Guest text") */
		snprintf(detail, sizeof(detail), "guest kernel panic: %s",
			 sm_escape_guest_text(quoted, sizeof(quoted), line,
					      strlen(line)));
		vm_stop(vm, SM_EXIT_PANIC, 0, detail);
	} else {
		vm_stop(vm, SM_EXIT_POWEROFF, 0,
			"guest stopped without reporting an exit status");
	}
}

static void handle_exit(struct vm_vcpu *v, const struct hv_exit *ex)
{
	struct vm *vm = v->vm;
	char detail[sizeof(vm->detail)], regs[160];

	switch (ex->kind) {
	case HV_EXIT_IO:
		for (uint32_t i = 0; i < ex->io.count; i++)
			bus_access(&vm->pio, ex->io.port,
				   ex->io.data + (size_t)i * ex->io.size,
				   ex->io.size, ex->io.write);
		break;
	case HV_EXIT_MMIO:
		bus_access(&vm->mmio, ex->mmio.addr, ex->mmio.data,
			   ex->mmio.len > 8 ? 8 : ex->mmio.len, ex->mmio.write);
		break;
	case HV_EXIT_SHUTDOWN:
		if (vm->serial && serial_saw_panic(vm->serial, NULL, 0))
			vm_guest_reset(vm);
		else {
			/* where it died: the first thing to look up */
			hv_vcpu_describe(v->hv, regs, sizeof(regs));
			snprintf(
			    detail, sizeof(detail),
			    "guest triple fault (CPU shutdown) on vCPU %u: %s",
			    v->index, regs);
			vm_stop(vm, SM_EXIT_TRIPLE_FAULT, 0, detail);
		}
		break;
	case HV_EXIT_RESET:
	case HV_EXIT_HLT:
		vm_guest_reset(vm);
		break;
	case HV_EXIT_INTR:
		break;
	case HV_EXIT_FAIL:
		vm_describe_fail(vm, v, &ex->fail, detail, sizeof(detail));
		vm_stop(vm, SM_EXIT_INTERNAL, 0, detail);
		break;
	}
}

static void kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (!vm->vcpus[i].hv)
			continue;
		hv_vcpu_request_exit(vm->vcpus[i].hv);
		if (vm->vcpus[i].started)
			pthread_kill(vm->vcpus[i].thread, VCPU_KICK_SIGNAL);
	}
}

/* Called by a vCPU thread out of the guest: park while a pause is on. */
static void maybe_park(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->pausing && !vm->stopped) {
		vm->parked++;
		pthread_cond_broadcast(&vm->cond);
		while (vm->pausing && !vm->stopped)
			pthread_cond_wait(&vm->cond, &vm->lock);
		vm->parked--;
	}
	pthread_mutex_unlock(&vm->lock);
}

int vm_pause(struct vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	vm->pausing = true;
	pthread_mutex_unlock(&vm->lock);
	for (;;) {
		struct timespec ts;

		kick_all(vm); /* again each round: a kick can race a KVM_RUN */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 20000000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&vm->lock);
		if (vm->parked < vm->ncpus && !vm->stopped)
			pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
		if (vm->stopped)
			ret = -ECHILD;
		if (vm->stopped || vm->parked == vm->ncpus) {
			pthread_mutex_unlock(&vm->lock);
			return ret;
		}
		pthread_mutex_unlock(&vm->lock);
	}
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pausing = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static void *vcpu_thread(void *arg)
{
	struct vm_vcpu *v = arg;
	struct hv_exit ex;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!vm_is_stopped(v->vm)) {
		int ret = hv_vcpu_run(v->hv, &ex);

		if (ret) {
			char detail[128];

			snprintf(detail, sizeof(detail),
				 "KVM_RUN on vCPU %u: %s", v->index,
				 strerror(-ret));
			vm_stop(v->vm, SM_EXIT_INTERNAL, 0, detail);
			break;
		}
		handle_exit(v, &ex);
		if (ex.kind == HV_EXIT_INTR)
			maybe_park(v->vm);
	}
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

int vm_start_vcpus(struct vm *vm, struct sm_error *err)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	sigset_t set, old;
	int ret;

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	/* Threads start with the kick signal blocked and unblock it
	 * themselves, so the caller's threads never receive it. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		ret = sm_thread_start(&vm->vcpus[i].thread, SM_ROLE_VCPU,
				      vcpu_thread, &vm->vcpus[i]);
		if (ret) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			vm_stop(vm, SM_EXIT_INTERNAL, 0,
				"thread creation failed");
			errno = ret;
			return sm_err_errno(err, "start vCPU %u", i);
		}
		vm->vcpus[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/*
 * Joins a stopped VM's vCPU thread. One kick can be lost (it may land
 * just before the thread re-enters KVM_RUN with immediate_exit cleared by
 * an earlier kick), so keep kicking until the thread is gone.
 */
static void join_vcpu(struct vm *vm, struct vm_vcpu *v)
{
	while (v->started) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(v->thread, NULL, &ts) == 0) {
			v->started = false;
			break;
		}
		kick_all(vm);
	}
}

int vm_wait(struct vm *vm, unsigned timeout_ms)
{
	struct timespec deadline;
	int timed_out = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&vm->lock);
	while (!vm->stopped && !timed_out) {
		if (timeout_ms)
			timed_out =
			    pthread_cond_timedwait(&vm->cond, &vm->lock,
						   &deadline) == ETIMEDOUT;
		else
			pthread_cond_wait(&vm->cond, &vm->lock);
	}
	pthread_mutex_unlock(&vm->lock);
	if (timed_out) {
		char detail[96];

		snprintf(detail, sizeof(detail),
			 "guest did not finish within %u ms", timeout_ms);
		vm_stop(vm, SM_EXIT_TIMEOUT, 0, detail);
	}
	for (unsigned i = 0; i < vm->ncpus; i++)
		join_vcpu(vm, &vm->vcpus[i]);
	return 0;
}
