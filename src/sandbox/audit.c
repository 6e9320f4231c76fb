/*
 * Printing the allow-lists (supermachine seccomp ROLE) and checking the
 * inheritance rule: the control role creates the other threads, so it
 * must allow all they allow.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sandbox/roles.h"
#include "util/error.h"

static void one_text(const struct sb_cmp_arg *c, char *buf, size_t size)
{
	static const char *const op[] = {
	    [SB_EQ] = "==", [SB_NE] = "!=", [SB_LT] = "<"};

	if (c->cmp == SB_MASKED_EQ)
		snprintf(buf, size, "(arg%u & 0x%llx) == 0x%llx", c->arg,
			 (unsigned long long)c->a, (unsigned long long)c->b);
	else if (c->a == SB_OWN_PID)
		snprintf(buf, size, "arg%u %s this process's id", c->arg,
			 op[c->cmp]);
	else if (c->a == SB_GUARD_FD)
		snprintf(buf, size, "arg%u %s the guarded fd", c->arg,
			 op[c->cmp]);
	else if ((int64_t)c->a < 0)
		snprintf(buf, size, "arg%u %s %lld", c->arg, op[c->cmp],
			 (long long)c->a);
	else if (c->a > INT32_MAX)
		snprintf(buf, size, "arg%u %s 0x%llx", c->arg, op[c->cmp],
			 (unsigned long long)c->a);
	else
		snprintf(buf, size, "arg%u %s %llu", c->arg, op[c->cmp],
			 (unsigned long long)c->a);
}

static const char *cmp_text(const struct sb_cond_rule *c, char *buf,
			    size_t size)
{
	struct sb_cmp_arg first = {c->arg, c->cmp, c->a, c->b};
	size_t len;

	one_text(&first, buf, size);
	len = strlen(buf);
	if (c->and.cmp != SB_NONE && len + 5 < size) {
		memcpy(buf + len, " and ", 5);
		one_text(&c->and, buf + len + 5, size - len - 5);
	}
	return buf;
}

int sm_sandbox_print(enum sm_thread_role role, FILE *f)
{
	const struct sb_role *r;
	char buf[160];

	if ((unsigned)role >= SM_ROLE_COUNT)
		return -EINVAL;
	r = &sb_roles[role];
	fprintf(f,
		"# role %s: allowed system calls; anything else stops "
		"the process (SIGSYS, status 159)\n",
		r->name);
	for (const char *const *const *s = r->sets; *s; s++)
		for (const char *const *c = *s; *c; c++)
			fprintf(f, "%s\n", *c);
	for (const struct sb_cond_rule *c = r->conds; c->call; c++)
		fprintf(f, "%s if %s\n", c->call,
			cmp_text(c, buf, sizeof(buf)));
	for (const unsigned long *q = r->ioctls; *q; q++)
		fprintf(f, "ioctl if arg1 == 0x%lx\n", *q);
	if (r->any_kvm_ioctl)
		fprintf(f, "ioctl if (arg1 & 0xff00) == 0xae00 (any KVM "
			   "request)\n");
	if (r->clone3_enosys)
		fprintf(f, "clone3 fails with ENOSYS (glibc falls back to "
			   "clone)\n");
	return ferror(f) ? -EIO : 0;
}

static bool in_sets(const struct sb_role *r, const char *call)
{
	for (const char *const *const *s = r->sets; *s; s++)
		for (const char *const *c = *s; *c; c++)
			if (!strcmp(*c, call))
				return true;
	return false;
}

static bool allows_cond(const struct sb_role *r, const struct sb_cond_rule *w)
{
	if (in_sets(r, w->call))
		return true;
	for (const struct sb_cond_rule *c = r->conds; c->call; c++)
		if (!strcmp(c->call, w->call) && c->arg == w->arg &&
		    c->cmp == w->cmp && c->a == w->a && c->b == w->b &&
		    !memcmp(&c->and, &w->and, sizeof(c->and)))
			return true;
	return false;
}

static bool allows_ioctl(const struct sb_role *r, unsigned long req)
{
	if (r->any_kvm_ioctl && (req & 0xff00) == 0xAE00)
		return true;
	for (const unsigned long *q = r->ioctls; *q; q++)
		if (*q == req)
			return true;
	return false;
}

/* Is everything child allows allowed by parent? */
static int check_subset(const struct sb_role *parent,
			const struct sb_role *child, struct sm_error *err)
{
	for (const char *const *const *s = child->sets; *s; s++)
		for (const char *const *c = *s; *c; c++)
			if (!in_sets(parent, *c))
				return sm_err(err, -EINVAL,
					      "role %s allows %s, %s does not",
					      child->name, *c, parent->name);
	for (const struct sb_cond_rule *c = child->conds; c->call; c++)
		if (!allows_cond(parent, c))
			return sm_err(err, -EINVAL,
				      "role %s allows %s (with a condition), "
				      "%s does not",
				      child->name, c->call, parent->name);
	for (const unsigned long *q = child->ioctls; *q; q++)
		if (!allows_ioctl(parent, *q))
			return sm_err(err, -EINVAL,
				      "role %s allows ioctl 0x%lx, %s does not",
				      child->name, *q, parent->name);
	return 0;
}

int sm_sandbox_check_subsets(struct sm_error *err)
{
	const struct sb_role *control = &sb_roles[SM_ROLE_CONTROL];
	int ret = 0;

	for (int r = 0; !ret && r < SM_ROLE_COUNT; r++)
		ret = check_subset(control, &sb_roles[r], err);
	return ret;
}
