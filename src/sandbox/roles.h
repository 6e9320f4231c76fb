/* The allow-lists of src/sandbox (internal). */
#ifndef SM_SANDBOX_ROLES_H
#define SM_SANDBOX_ROLES_H

#include <stdbool.h>
#include <stdint.h>

#include "sandbox/sandbox.h"

/* How one argument must compare for a conditional rule. */
enum sb_cmp {
	SB_NONE,      /* no second comparison (sb_cond_rule.and) */
	SB_EQ,	      /* arg == a */
	SB_NE,	      /* arg != a */
	SB_MASKED_EQ, /* (arg & a) == b */
	SB_LT,	      /* arg < a, all 64 bits unsigned */
};

/* a == SB_OWN_PID: the datum is this process's id, filled at build */
#define SB_OWN_PID UINT64_MAX
/* a == SB_GUARD_FD: the thread's guarded descriptor (sandbox.h),
 * filled at build */
#define SB_GUARD_FD (UINT64_MAX - 1)

struct sb_cmp_arg {
	unsigned arg;
	enum sb_cmp cmp;
	uint64_t a, b;
};

/* Allowed when the first comparison holds and, if set, the second. */
struct sb_cond_rule {
	const char *call;
	unsigned arg;
	enum sb_cmp cmp;
	uint64_t a, b;
	struct sb_cmp_arg and;
};

struct sb_role {
	const char *name;
	const char *const *const *sets;	  /* lists of calls, unconditional */
	const struct sb_cond_rule *conds; /* ends with call == NULL */
	const unsigned long *ioctls;	  /* requests; ends with 0 */
	bool any_kvm_ioctl;		  /* every request of type 0xAE */
	bool clone3_enosys;		  /* clone3 fails with ENOSYS */
};

extern const struct sb_role sb_roles[SM_ROLE_COUNT];

#endif
