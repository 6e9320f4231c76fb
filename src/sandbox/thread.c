/* Threads that enter their role before running (src/sandbox). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

/* Off in a thread that builds or runs an unconfined VM. */
static __thread bool policy_off;

void sm_sandbox_set_thread_policy(bool on)
{
	policy_off = !on;
}

bool sm_sandbox_thread_policy(void)
{
	return !policy_off;
}

struct start {
	void *(*fn)(void *);
	void *arg;
	enum sm_thread_role role;
	bool on, jail_on, bounding_empty;
};

static void *enter_then_run(void *p)
{
	struct start s = *(struct start *)p;
	struct sm_error err = {0};

	free(p);
	sm_sandbox_set_thread_policy(s.on);
	sm_jail_set_thread_policy(s.jail_on);
	sm_jail_set_bounding_empty(s.bounding_empty); /* the kernel copied it */
	if (sm_sandbox_enter_role(s.role, &err)) {
		char line[sizeof(err.msg) + 64];
		int n =
		    snprintf(line, sizeof(line),
			     "supermachine: %s; stopping the VM\n", err.msg);

		/* never run a thread of a confined VM without its filter */
		if (write(2, line, n > 0 ? (size_t)n : 0) < 0) {
		}
		syscall(SYS_exit_group, SM_SECCOMP_EXIT_STATUS);
	}
	if (sm_test_thread_hook)
		sm_test_thread_hook(s.role);
	return s.fn(s.arg);
}

int sm_thread_start(pthread_t *t, enum sm_thread_role role, void *(*fn)(void *),
		    void *arg)
{
	struct start *s = malloc(sizeof(*s));
	int ret;

	if (!s)
		return ENOMEM;
	/* the ids and the root are looked up here, in the creator: not in a
	 * thread whose filter or root would not let it */
	if (sm_jail_thread_policy() && sm_jail_setup_once(NULL)) {
		free(s);
		return EPERM;
	}
	*s = (struct start){fn,
			    arg,
			    role,
			    sm_sandbox_thread_policy(),
			    sm_jail_thread_policy(),
			    sm_jail_bounding_empty()};
	ret = pthread_create(t, NULL, enter_then_run, s);
	if (ret)
		free(s);
	return ret;
}
