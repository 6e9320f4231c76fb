/*
 * sandbox-hook: runs `true` in a microVM of IMAGE (the public API, as
 * sm_run does) with a test hook that makes one thread role try what a
 * compromised device thread would, right after the thread entered its
 * jail and filter (src/sandbox/sandbox.h, sm_test_thread_hook; only test
 * binaries like this one define it). tests/kvm/run.sh runs it.
 *
 *   SM_HOOK_ROLE=vcpu SM_HOOK_ACTION=open_shadow sandbox-hook IMAGE
 * [unconfined]
 *
 * Actions: open_shadow, execve, socket_inet, ptrace, mount, ioctl (a TTY
 * request on fd 0), chroot, setuid. With the filter on, each should stop
 * the process with the seccomp line and status 159; with "unconfined"
 * (filters off, the jail on) the call runs and fails, and the hook prints
 * "hook: ACTION from the ROLE thread: RESULT" before the VM goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <supermachine.h>

#include "sandbox/sandbox.h"

static int hook_role = -1;
static const char *hook_action;
static int hook_done;

static int try_action(const char *a)
{
	char *argv[] = {"/bin/true", NULL};

	if (!strcmp(a, "open_shadow"))
		return open("/etc/shadow", O_RDONLY | O_CLOEXEC);
	if (!strcmp(a, "execve"))
		return execve(argv[0], argv, NULL);
	if (!strcmp(a, "socket_inet"))
		return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!strcmp(a, "ptrace"))
		return (int)ptrace(PTRACE_ATTACH, 1, NULL, NULL);
	if (!strcmp(a, "mount"))
		return mount("none", "/", "tmpfs", 0, NULL);
	if (!strcmp(a, "ioctl")) {
		int n;

		return ioctl(0, FIONREAD, &n);
	}
	if (!strcmp(a, "chroot"))
		return chroot("/");
	if (!strcmp(a, "setuid"))
		return (int)syscall(SYS_setresuid, 0, 0, 0);
	errno = EINVAL;
	return -1;
}

void sm_test_thread_hook(enum sm_thread_role role)
{
	int r;

	if ((int)role != hook_role ||
	    __atomic_exchange_n(&hook_done, 1, __ATOMIC_RELAXED))
		return;
	r = try_action(hook_action);
	fprintf(stderr, "hook: %s from the %s thread: %s\n", hook_action,
		sm_role_name(role), r >= 0 ? "succeeded" : strerror(errno));
}

int main(int argc, char **argv)
{
	struct sm_store_options so = {.size = sizeof(so)};
	struct sm_error err = {0};
	struct sm_run_options o;
	struct sm_store *store;
	const char *cmd[] = {"true", NULL};
	const char *role = getenv("SM_HOOK_ROLE");
	int status = 0;

	hook_action = getenv("SM_HOOK_ACTION");
	if (argc < 2 || !role || !hook_action || sm_role_parse(role) < 0) {
		fprintf(stderr,
			"usage: SM_HOOK_ROLE=ROLE SM_HOOK_ACTION=ACTION "
			"%s IMAGE [unconfined]\n",
			argv[0]);
		return 2;
	}
	hook_role = sm_role_parse(role);
	if (sm_store_open(&store, &so, &err) < 0) {
		fprintf(stderr, "sandbox-hook: %s\n", err.msg);
		return 125;
	}
	sm_run_options_init(&o);
	o.cmd = cmd;
	o.entrypoint = "";
	o.pull = SM_PULL_NEVER;
	o.seccomp_unconfined = argc > 2 && !strcmp(argv[2], "unconfined");
	if (sm_run(store, argv[1], &o, &status, &err) < 0) {
		fprintf(stderr, "sandbox-hook: %s\n", err.msg);
		status = 125;
	}
	sm_store_close(store);
	return status;
}
