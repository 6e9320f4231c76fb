/*
 * The VMM's own process confined once its VM runs (docs/security.md):
 * the thread policies from the run's options, the jail of the main
 * thread, and its seccomp filter (the control role).
 */
#include <errno.h>

#include "container/container.h"
#include "sandbox/sandbox.h"
#include "util/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1 /* LeakSanitizer's exit check clones and ptraces */
#else
#define SANITIZED 0
#endif

void ctr_thread_policy(const struct sm_run_options *o)
{
	sm_sandbox_set_thread_policy(!o->seccomp_unconfined && !SANITIZED);
	sm_jail_set_thread_policy(!o->jail_off);
}

bool ctr_jails_main_thread(const struct sm_run_options *o)
{
	return !o->jail_off && !SANITIZED; /* rootless: ctr_vmm_enter_userns */
}

int ctr_enter_control(const struct sm_run_options *o, bool jail_main,
		      struct sm_error *err)
{
	int ret;

	if (jail_main && (ret = sm_process_jail(err)))
		return ret;
	/* the id change cleared the death signal for a moment */
	if (!ctr_vmm_keeper_alive())
		return sm_err(err, -ESRCH, "the VM's keeper is gone");
	if (o->seccomp_unconfined || SANITIZED)
		return 0;
	return sm_sandbox_enter_role(SM_ROLE_CONTROL, err);
}
