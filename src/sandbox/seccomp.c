/*
 * Building and loading the role filters, and the SIGSYS handler that
 * reports a forbidden call (docs/security.md, "Seccomp").
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "sandbox/roles.h"
#include "util/error.h"

/* Syscall numbers below this get names in the handler's line. */
#define SB_MAX_NR 512

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int setup_ret;
/* Filled once before any filter: the handler only reads them. */
static char *nr_names[SB_MAX_NR];
static bool role_has_call[SM_ROLE_COUNT][SB_MAX_NR];
static __thread int thread_role = -1;
static __thread int guard_fd = -1; /* sm_sandbox_set_guard_fd */

const char *sm_role_name(enum sm_thread_role role)
{
	return (unsigned)role < SM_ROLE_COUNT ? sb_roles[role].name : "?";
}

int sm_role_parse(const char *name)
{
	for (int r = 0; r < SM_ROLE_COUNT; r++)
		if (!strcmp(name, sb_roles[r].name))
			return r;
	return -1;
}

/* ---- the handler (async-signal-safe: write(2) and exit_group only) */

static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, uint64_t v,
		      unsigned base)
{
	char tmp[24];
	size_t n = 0;

	if (base == 16)
		at = put_str(buf, at, cap, "0x");
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && at < cap)
		buf[at++] = tmp[--n];
	return at;
}

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	char line[320];
	size_t at = 0, cap = sizeof(line) - 1;
	int nr = si->si_syscall, role = thread_role;
	const char *name =
	    nr >= 0 && nr < SB_MAX_NR && nr_names[nr] ? nr_names[nr] : "?";

	(void)sig;
	at = put_str(line, at, cap, "supermachine: seccomp: the ");
	at = put_str(line, at, cap,
		     role >= 0 ? sm_role_name(role) : "unconfined");
	at = put_str(line, at, cap, " thread made a forbidden system call ");
	at = put_str(line, at, cap, name);
	at = put_str(line, at, cap, " (");
	at = put_num(line, at, cap, (unsigned)nr, 10);
	at = put_str(line, at, cap, ")");
#ifdef __x86_64__
	/* allowed with other arguments: say which (ioctl: the request) */
	if (role >= 0 && nr >= 0 && nr < SB_MAX_NR && role_has_call[role][nr]) {
		const greg_t *g = ((ucontext_t *)uctx)->uc_mcontext.gregs;

		at = put_str(line, at, cap, " with arguments ");
		at = put_num(line, at, cap, (uint64_t)g[REG_RDI], 16);
		at = put_str(line, at, cap, ", ");
		at = put_num(line, at, cap, (uint64_t)g[REG_RSI], 16);
		at = put_str(line, at, cap, ", ");
		at = put_num(line, at, cap, (uint64_t)g[REG_RDX], 16);
	}
#else
	(void)uctx;
#endif
	at = put_str(line, at, cap, "; stopping the VM\n");
	if (write(2, line, at) < 0) {
		/* nowhere else to say it */
	}
	syscall(SYS_exit_group, SM_SECCOMP_EXIT_STATUS);
}

/* ---- setup, once per process ---- */

static void note_calls(int role, const char *const *calls)
{
	for (; *calls; calls++) {
		int nr = seccomp_syscall_resolve_name(*calls);

		if (nr >= 0 && nr < SB_MAX_NR)
			role_has_call[role][nr] = true;
	}
}

static void setup(void)
{
	struct sigaction sa = {.sa_sigaction = on_sigsys,
			       .sa_flags = SA_SIGINFO};

	for (int nr = 0; nr < SB_MAX_NR; nr++)
		nr_names[nr] =
		    seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	for (int r = 0; r < SM_ROLE_COUNT; r++) {
		for (const char *const *const *s = sb_roles[r].sets; *s; s++)
			note_calls(r, *s);
		for (const struct sb_cond_rule *c = sb_roles[r].conds; c->call;
		     c++) {
			const char *one[] = {c->call, NULL};

			note_calls(r, one);
		}
		if (sb_roles[r].ioctls[0] || sb_roles[r].any_kvm_ioctl)
			role_has_call[r][SYS_ioctl] = true;
	}
	sigemptyset(&sa.sa_mask);
	setup_ret = sigaction(SIGSYS, &sa, NULL) ? -errno : 0;
}

/* ---- building a role's filter ---- */

/* The datum a placeholder stands for, in this process and thread. */
static uint64_t datum(uint64_t a)
{
	if (a == SB_OWN_PID)
		return (uint64_t)getpid();
	if (a == SB_GUARD_FD) /* none: every int descriptor passes SB_LT */
		return guard_fd >= 0 ? (uint64_t)guard_fd : 1ULL << 31;
	return a;
}

static struct scmp_arg_cmp to_scmp(const struct sb_cmp_arg *c)
{
	static const enum scmp_compare op[] = {
	    [SB_EQ] = SCMP_CMP_EQ,
	    [SB_NE] = SCMP_CMP_NE,
	    [SB_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	    [SB_LT] = SCMP_CMP_LT,
	};

	if (c->cmp == SB_MASKED_EQ)
		return (struct scmp_arg_cmp){c->arg, op[c->cmp], c->a, c->b};
	return (struct scmp_arg_cmp){c->arg, op[c->cmp], datum(c->a), 0};
}

static int add_cond(scmp_filter_ctx ctx, const struct sb_cond_rule *c)
{
	int nr = seccomp_syscall_resolve_name(c->call);
	struct sb_cmp_arg first = {c->arg, c->cmp, c->a, c->b};
	struct scmp_arg_cmp cmp[2] = {to_scmp(&first)};
	unsigned n = 1;

	if (nr == __NR_SCMP_ERROR)
		return -ENOSYS;
	if (c->and.cmp != SB_NONE)
		cmp[n++] = to_scmp(&c->and);
	return seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
}

static int add_role_rules(scmp_filter_ctx ctx, const struct sb_role *r)
{
	int ret = 0;

	for (const char *const *const *s = r->sets; !ret && *s; s++)
		for (const char *const *c = *s; !ret && *c; c++) {
			int nr = seccomp_syscall_resolve_name(*c);

			ret = nr == __NR_SCMP_ERROR
				  ? -ENOSYS
				  : seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW,
							   nr, 0);
		}
	for (const struct sb_cond_rule *c = r->conds; !ret && c->call; c++)
		ret = add_cond(ctx, c);
	/* ioctl's request is an unsigned int: compare the low 32 bits */
	for (const unsigned long *q = r->ioctls; !ret && *q; q++)
		ret = seccomp_rule_add_exact(
		    ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, *q));
	if (!ret && r->any_kvm_ioctl)
		ret = seccomp_rule_add_exact(
		    ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, 0xAE00)); /* KVMIO */
	if (!ret && r->clone3_enosys) /* glibc then falls back to clone */
		ret = seccomp_rule_add_exact(ctx, SCMP_ACT_ERRNO(ENOSYS),
					     SCMP_SYS(clone3), 0);
	return ret;
}

/*
 * Each role's program, built once per process and loaded by every thread
 * of the role with seccomp(2): building one with libseccomp costs 0.2 to
 * 1 ms, loading a built one a few microseconds (docs/security.md,
 * "Cost"). Keyed by pid: a forked child's SB_OWN_PID differs.
 */
/*
 * Built programs, kept for the life of the process (another thread may be
 * loading one, so none is freed). A filter that names a guarded fd is
 * cached under that fd's number: FUSE workers put their guard at the same
 * number where they can (fuse_passthrough_own_fds), so one build serves
 * all of them; building one costs about as much as a thread start.
 */
#define SB_CACHED 16

struct sb_cached {
	int role; /* -1: free slot */
	int guard;
	struct sock_fprog prog;
};

static struct {
	pthread_mutex_t lock;
	pid_t pid;
	struct sb_cached slot[SB_CACHED];
	unsigned built; /* sm_sandbox_programs_built */
} progs = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Builds role's filter and exports it as BPF into the cache. */
static int build_program(enum sm_thread_role role, struct sock_fprog *out)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	struct sock_filter *prog = NULL;
	int ret, fd = -1;
	off_t size = 0;

	if (!ctx)
		return -ENOMEM;
	ret = add_role_rules(ctx, &sb_roles[role]);
	if (!ret && (fd = memfd_create("sm-seccomp", MFD_CLOEXEC)) < 0)
		ret = -errno;
	if (!ret)
		ret = seccomp_export_bpf(ctx, fd);
	if (!ret && ((size = lseek(fd, 0, SEEK_END)) <= 0 ||
		     size % sizeof(struct sock_filter) ||
		     size / sizeof(struct sock_filter) > BPF_MAXINSNS))
		ret = -EINVAL;
	if (!ret && !(prog = malloc((size_t)size)))
		ret = -ENOMEM;
	if (!ret && pread(fd, prog, (size_t)size, 0) != size)
		ret = -EIO;
	if (!ret)
		*out = (struct sock_fprog){
		    (unsigned short)(size / sizeof(struct sock_filter)), prog};
	else
		free(prog);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return ret;
}

/* Forgets a parent's programs in a forked child (it has one thread). */
static void progs_reset_after_fork(void)
{
	if (progs.pid == getpid())
		return;
	for (int i = 0; i < SB_CACHED; i++) {
		if (progs.slot[i].role >= 0 && progs.pid)
			free(progs.slot[i].prog.filter);
		progs.slot[i] = (struct sb_cached){.role = -1};
	}
	progs.pid = getpid();
}

/*
 * The role's program for this thread's guard: the cached one, a new one
 * cached, or (*own set: free it after loading) one for this thread alone
 * when the cache is full.
 */
static int role_program(enum sm_thread_role role, struct sock_fprog *out,
			bool *own)
{
	struct sb_cached *free_slot = NULL;
	int ret = 0;

	*own = false;
	pthread_mutex_lock(&progs.lock);
	progs_reset_after_fork();
	for (int i = 0; i < SB_CACHED; i++) {
		struct sb_cached *c = &progs.slot[i];

		if (c->role == (int)role && c->guard == guard_fd) {
			*out = c->prog;
			pthread_mutex_unlock(&progs.lock);
			return 0;
		}
		if (c->role < 0 && !free_slot)
			free_slot = c;
	}
	ret = build_program(role, out);
	progs.built += !ret;
	if (!ret && free_slot)
		*free_slot = (struct sb_cached){role, guard_fd, *out};
	*own = !ret && !free_slot;
	pthread_mutex_unlock(&progs.lock);
	return ret;
}

unsigned sm_sandbox_programs_built(void)
{
	unsigned n;

	pthread_mutex_lock(&progs.lock);
	n = progs.built;
	pthread_mutex_unlock(&progs.lock);
	return n;
}

void sm_sandbox_set_guard_fd(int fd)
{
	guard_fd = fd;
}

int sm_sandbox_enter_role(enum sm_thread_role role, struct sm_error *err)
{
	struct sock_fprog prog = {0, NULL};
	bool own = false;
	int ret;

	if ((unsigned)role >= SM_ROLE_COUNT)
		return sm_err(err, -EINVAL, "seccomp: no role %d", role);
	/* the jail first: its calls are not in the role's filter */
	if (role != SM_ROLE_CONTROL && (ret = sm_jail_thread(role, err)))
		return ret;
	if (!sm_sandbox_thread_policy())
		return 0;
	pthread_once(&setup_once, setup);
	if (setup_ret)
		return sm_err(err, setup_ret, "seccomp: SIGSYS handler: %s",
			      strerror(-setup_ret));
	ret = role_program(role, &prog, &own);
	thread_role = role; /* before the filter: the handler reads it */
	if (!ret && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		ret = -errno;
	if (!ret && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		ret = -errno;
	if (own)
		free(prog.filter);
	if (ret) {
		thread_role = -1;
		return sm_err(err, ret, "seccomp: the %s filter: %s",
			      sm_role_name(role), strerror(-ret));
	}
	return 0;
}

int sm_sandbox_available(struct sm_error *err)
{
	int ret = seccomp_api_get() >= 1 ? 0 : -ENOSYS;

	if (ret)
		return sm_err(err, ret,
			      "seccomp filters are not available here (use "
			      "--security-opt seccomp=unconfined to run "
			      "without them)");
	return 0;
}
