/*
 * The allow-list of each thread role (docs/security.md, "Seccomp"). Read
 * from the code each thread runs; a call missing here stops the process
 * with a line naming the role and the call, so add it here (and to the
 * docs) when a KVM test shows one.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "sandbox/roles.h"

/* Every thread: memory, locks, time, signals, its own end. */
static const char *const base_calls[] = {
    "read",	      "write",		 "readv",
    "writev",	      "close",		 "futex",
    "exit",	      "exit_group",	 "rt_sigreturn",
    "rt_sigprocmask", "sigaltstack",	 "munmap",
    "madvise",	      "mremap",		 "brk",
    "clock_gettime",  "clock_nanosleep", "nanosleep",
    "gettimeofday",   "getpid",		 "gettid",
    "sched_yield",    "getrandom",	 "restart_syscall",
    "fstat",	      "lseek",		 NULL};

/* Waiting on several fds. */
static const char *const poll_calls[] = {
    "poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_ctl", NULL};

/* The FUSE server (src/fuse/passthrough.c, virtio/fs.c DAX):
 * calls on descriptors it opened. */
static const char *const fuse_calls[] = {
    "fchmod",	  "getdents64",	  "preadv",	     "pwritev",	  "pread64",
    "pwrite64",	  "fallocate",	  "copy_file_range", "fsync",	  "fdatasync",
    "ftruncate",  "fstatfs",	  "statfs",	     "fgetxattr", "fsetxattr",
    "flistxattr", "fremovexattr", "memfd_create",    NULL};

/* Its calls that take a directory descriptor (or duplicate one): the fuse
 * role allows them only below its guarded descriptor (fuse_conds). */
static const char *const fuse_dirfd_calls[] = {
    "openat",	 "openat2",    "mkdirat",  "unlinkat",
    "renameat2", "linkat",     "renameat", /* glibc's renameat2() with no flags
					    */
    "symlinkat", "mknodat",    "fchownat", "fchmodat",
    "utimensat", "newfstatat", "statx",	   "readlinkat",
    "fcntl",	 "dup",	       NULL};

/* Sockets already open (slirp's, vsock's unix sockets). */
static const char *const socket_io_calls[] = {
    "sendto",	   "recvfrom",	 "sendmsg",    "recvmsg",
    "shutdown",	   "getsockopt", "setsockopt", "getsockname",
    "getpeername", "fcntl",	 NULL};

/* libslirp: connections for the guest, published ports, resolv.conf. */
static const char *const slirp_calls[] = {"connect", "accept", "accept4",
					  "bind",    "listen", "newfstatat",
					  "statx",   NULL};

/* What only the control role does: files, sockets, threads, the VM. */
static const char *const control_calls[] = {
    "open", "creat", "mkdir", "rmdir", "unlink", "rename", "renameat", "link",
    "symlink", "readlink", "chmod", "access", "faccessat", "faccessat2",
    "truncate", "getcwd", "chdir", "fchdir", "umask", "getdents", "fadvise64",
    "msync", "mlock", "munlock", "flock", "sendfile", "splice", "socketpair",
    "connect", "accept", "accept4", "bind", "listen", "eventfd2", "pipe",
    "pipe2", "dup2", "dup3", "select", "pselect6", "epoll_create1",
    "timerfd_create", "timerfd_settime", "timerfd_gettime", "set_robust_list",
    "rseq", "prctl", "sched_getaffinity", "prlimit64", "getrlimit", "sysinfo",
    "uname", "getuid", "geteuid", "getgid", "getegid", "getppid", "wait4",
    "waitid", "rt_sigtimedwait", "rt_sigpending", "rt_sigsuspend", "kill",
    "statx", "seccomp",
    /* -v's counts (vmm/counts.c): our page faults */
    "getrusage",
    /* the jail (jail.c): each needs a
     * capability a jailed thread no
     * longer has */
    "unshare", "mount", "chroot", "setgroups", "setresuid", "setresgid",
    "capget", "capset",
    /* Landlock (landlock.c): it can
     * only take rights away */
    "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    NULL};

/* The FUSE file work runs on each share's worker (fuse role), not here. */
static const char *const *const vcpu_sets[] = {base_calls, NULL};
static const char *const *const fuse_sets[] = {base_calls, fuse_calls, NULL};
static const char *const *const slirp_sets[] = {
    base_calls, poll_calls, socket_io_calls, slirp_calls, NULL};
static const char *const *const tap_sets[] = {base_calls, poll_calls, NULL};
static const char *const *const vsock_sets[] = {base_calls, poll_calls,
						socket_io_calls, NULL};
static const char *const *const control_sets[] = {
    base_calls,	     poll_calls,  fuse_calls,	 fuse_dirfd_calls,
    socket_io_calls, slirp_calls, control_calls, NULL};

#define NOT_EXEC(call)                               \
	{                                            \
		call, 2, SB_MASKED_EQ, PROT_EXEC, 0, \
		{                                    \
			0                            \
		}                                    \
	}
#define COMMON_CONDS                                                         \
	{"rt_sigaction", 0, SB_NE, SIGSYS, 0, {0}}, NOT_EXEC("mmap"),        \
	    NOT_EXEC("mprotect"), {"tgkill", 0, SB_EQ, SB_OWN_PID, 0, {0}},  \
	{                                                                    \
		"newfstatat", 3, SB_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH, \
		{                                                            \
			0                                                    \
		}                                                            \
	}

static const struct sb_cond_rule common_conds[] = {COMMON_CONDS, {0}};

/* A descriptor argument below the guard (its 64 bits, so no high bits
 * can smuggle the guard's number past: the kernel reads an int). */
#define BELOW_GUARD(call, arg)                    \
	{                                         \
		call, arg, SB_LT, SB_GUARD_FD, 0, \
		{                                 \
			0                         \
		}                                 \
	}
#define BOTH_BELOW_GUARD(call, arg1, arg2)          \
	{                                           \
		call, arg1, SB_LT, SB_GUARD_FD, 0,  \
		{                                   \
			arg2, SB_LT, SB_GUARD_FD, 0 \
		}                                   \
	}
/* AT_FDCWD as the kernel reads it (an int): the caller may leave the
 * register's high half zero (glibc does) or sign-extend it. */
#define AT_CWD(call)                                            \
	{call, 0, SB_EQ, (uint32_t)AT_FDCWD, 0, {0}},           \
	{                                                       \
		call, 0, SB_EQ, (uint64_t)(int64_t)AT_FDCWD, 0, \
		{                                               \
			0                                       \
		}                                               \
	}
/* The FUSE worker's /proc handle (the guard) reaches every thread's
 * descriptors, root and executable through magic links. It may only be
 * the directory of an openat() without O_PATH, which Landlock checks
 * (the worker's re-opens); chmod, chown, links, an O_PATH open, a dup or
 * a fchdir through it are refused (docs/security.md, "Landlock"). */
static const struct sb_cond_rule fuse_conds[] = {
    COMMON_CONDS,
    BELOW_GUARD("openat", 0),
    AT_CWD("openat"),
    {"openat", 0, SB_EQ, SB_GUARD_FD, 0, {2, SB_MASKED_EQ, O_PATH, 0}},
    BELOW_GUARD("openat2", 0),
    BELOW_GUARD("mkdirat", 0),
    BELOW_GUARD("unlinkat", 0),
    BOTH_BELOW_GUARD("renameat2", 0, 2),
    BOTH_BELOW_GUARD("renameat", 0, 2),
    BOTH_BELOW_GUARD("linkat", 0, 2),
    BELOW_GUARD("symlinkat", 1),
    BELOW_GUARD("mknodat", 0),
    BELOW_GUARD("fchownat", 0),
    BELOW_GUARD("fchmodat", 0),
    BELOW_GUARD("utimensat", 0),
    BELOW_GUARD("newfstatat", 0),
    BELOW_GUARD("statx", 0),
    AT_CWD("statx"),
    AT_CWD("newfstatat"),
    BELOW_GUARD("readlinkat", 0),
    BELOW_GUARD("fcntl", 0),
    BELOW_GUARD("dup", 0),
    {0}};
/* a guest connecting to a host port: a socketpair for its stream */
static const struct sb_cond_rule vsock_conds[] = {
    COMMON_CONDS, {"socketpair", 0, SB_EQ, AF_UNIX, 0, {0}}, {0}};
static const struct sb_cond_rule slirp_conds[] = {
    COMMON_CONDS,
    {"socket", 0, SB_EQ, AF_INET, 0, {0}},
    {"socket", 0, SB_EQ, AF_INET6, 0, {0}},
    /* resolv.conf, read only */
    {"openat", 2, SB_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY, {0}},
    {0}};
static const struct sb_cond_rule control_conds[] = {
    COMMON_CONDS,
    {"socket", 0, SB_EQ, AF_UNIX, 0, {0}},
    {"socket", 0, SB_EQ, AF_INET, 0, {0}},
    {"socket", 0, SB_EQ, AF_INET6, 0, {0}},
    /* threads only: no new processes */
    {"clone", 0, SB_MASKED_EQ, CLONE_THREAD, CLONE_THREAD, {0}},
    {0}};

/* vCPU threads: run the guest, describe a failure, raise interrupts. */
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN, KVM_IRQ_LINE, KVM_GET_REGS, KVM_GET_SREGS, KVM_TRANSLATE, 0};
/* Device threads raise interrupts. */
static const unsigned long irq_ioctls[] = {KVM_IRQ_LINE, 0};
static const unsigned long slirp_ioctls[] = {KVM_IRQ_LINE, FIONREAD, FIONBIO,
					     0};
/* Terminals (-t), the tap set up again on a cold retry. */
static const unsigned long control_ioctls[] = {
    TCGETS,   TCSETS,  TCSETSW, TCSETSF,   TIOCGWINSZ,	 TIOCSWINSZ,
    FIONREAD, FIONBIO, FIOCLEX, TUNSETIFF, SIOCGIFINDEX, 0};

const struct sb_role sb_roles[SM_ROLE_COUNT] = {
    [SM_ROLE_VCPU] = {"vcpu", vcpu_sets, common_conds, vcpu_ioctls},
    [SM_ROLE_FUSE] = {"fuse", fuse_sets, fuse_conds, irq_ioctls},
    [SM_ROLE_SLIRP] = {"slirp", slirp_sets, slirp_conds, slirp_ioctls},
    [SM_ROLE_TAP] = {"tap", tap_sets, common_conds, irq_ioctls},
    [SM_ROLE_VSOCK] = {"vsock", vsock_sets, vsock_conds, irq_ioctls},
    [SM_ROLE_CONTROL] = {"control", control_sets, control_conds, control_ioctls,
			 .any_kvm_ioctl = true, .clone3_enosys = true},
};
