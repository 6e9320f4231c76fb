/*
 * Seccomp filters per thread role (docs/security.md, "Seccomp").
 *
 * Every thread the VMM starts for a VM enters one role at its start and
 * from then on may make only that role's system calls; anything else
 * raises SIGSYS, whose handler writes one line naming the role and the
 * call and ends the process with status SM_SECCOMP_EXIT_STATUS.
 *
 * Filters are per thread (no TSYNC) and a thread inherits its creator's
 * filter, so a role whose threads create threads (control) must allow
 * everything their roles allow: sm_sandbox_check_subsets() says so, and
 * test_sandbox runs it.
 */
#ifndef SM_SANDBOX_H
#define SM_SANDBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "supermachine.h"

enum sm_thread_role {
	SM_ROLE_VCPU,	 /* KVM_RUN, MMIO/PIO handlers, device emulation */
	SM_ROLE_FUSE,	 /* virtio-fs file operations (a worker thread) */
	SM_ROLE_SLIRP,	 /* the user-mode network's poll loop */
	SM_ROLE_TAP,	 /* the tap device's reader */
	SM_ROLE_VSOCK,	 /* the vsock device's socket loop */
	SM_ROLE_CONTROL, /* VM sessions, exec, snapshots, the CLI after start */
	SM_ROLE_COUNT
};

/* Exit status of a process stopped for a forbidden system call:
 * 128 + SIGSYS, as a shell reports a process SIGSYS killed. */
#define SM_SECCOMP_EXIT_STATUS 159

const char *sm_role_name(enum sm_thread_role role);
/* "vcpu" -> SM_ROLE_VCPU; -1 when unknown. */
int sm_role_parse(const char *name);

/*
 * Installs role's filter on the calling thread (and the SIGSYS handler,
 * once per process). Returns 0 or -errno with err set. Does nothing when
 * this thread's policy is off (sm_sandbox_set_thread_policy).
 */
int sm_sandbox_enter_role(enum sm_thread_role role, struct sm_error *err);

/*
 * The policy of the calling thread: on (the default) or off
 * (--security-opt seccomp=unconfined). Threads started with
 * sm_thread_start() get their creator's policy.
 */
void sm_sandbox_set_thread_policy(bool on);
bool sm_sandbox_thread_policy(void);

/*
 * The calling thread's guarded descriptor: a FUSE worker's handle on its
 * /proc fd directory (fuse_passthrough_own_fds), which the fuse role's
 * filter lets it use only as the directory of an openat() without O_PATH
 * (so Landlock checks what it opens); every other descriptor argument of
 * a call that resolves a path must be below it. -1 (the default): none,
 * every descriptor below 2^31 passes. Set before sm_sandbox_enter_role().
 */
void sm_sandbox_set_guard_fd(int fd);

/* How many role programs this process has built (each is cached by role
 * and guard): what a test counts. */
unsigned sm_sandbox_programs_built(void);

/*
 * pthread_create() whose thread enters role before fn runs (when the
 * creator's policy is on). A thread that cannot install its filter
 * stops the process with a line saying so (it never runs unconfined).
 */
int sm_thread_start(pthread_t *t, enum sm_thread_role role, void *(*fn)(void *),
		    void *arg);

/*
 * Test binaries only: tools/src/sandbox-hook.c defines it; the product's
 * binaries do not, so this weak reference is NULL in them. Called in each
 * thread sm_thread_start() starts, right after the thread entered its role
 * (jail and filter), to make it try what a compromised thread would.
 */
extern void sm_test_thread_hook(enum sm_thread_role role) __attribute__((weak));

/* Checks that this kernel and libseccomp can load filters. */
int sm_sandbox_available(struct sm_error *err);

/* Writes role's allow-list, one system call a line, to f. */
int sm_sandbox_print(enum sm_thread_role role, FILE *f);

/*
 * 0 when every system call (and ioctl request) that each role allows is
 * allowed by the roles whose threads may create its threads; else
 * -EINVAL with the first missing call in err.
 */
int sm_sandbox_check_subsets(struct sm_error *err);

/* ---- the jail (src/sandbox/jail.c, docs/security.md "Jail") ---- */

/*
 * Once per VM, before its threads start: resolves the ids jailed threads
 * take (user: "NAME", "UID" or "UID:GID"; NULL: the user "supermachine"
 * if there is one, else 65534:65534) and makes the empty root
 * /run/supermachine/empty. Without root there is nothing to drop: jailed
 * threads then only get no_new_privs and a working directory of their own.
 */
int sm_jail_setup(const char *user, struct sm_error *err);
/* The default jail user "supermachine" from a passwd file (sm_jail_resolve_ids
 * reads /etc/passwd, never NSS); false when it has none, or one of uid 0. */
bool sm_jail_default_ids_from(const char *passwd, uid_t *uid, gid_t *gid);
int sm_jail_resolve_ids(const char *user, uid_t *uid, gid_t *gid,
			struct sm_error *err);
/* sm_jail_setup(NULL) unless a setup happened already. */
int sm_jail_setup_once(struct sm_error *err);

/* The calling thread's jail policy (on by default); sm_thread_start()
 * passes it on. */
void sm_jail_set_thread_policy(bool on);
bool sm_jail_thread_policy(void);

/*
 * For a process that holds one VM and will exec nothing (the CLI's VMM
 * process), in its first thread before it starts any other: drops the
 * capability bounding set once, so that the threads it creates inherit
 * an empty one instead of dropping each capability themselves (41
 * prctl calls a thread). Nothing without root or with the jail off.
 * sm_thread_start() passes the state on.
 */
int sm_jail_drop_bounding_early(void);
bool sm_jail_bounding_empty(void);
void sm_jail_set_bounding_empty(bool empty);

/*
 * Landlock on the calling thread (src/sandbox/landlock.c), part of its
 * jail: a FUSE worker may reach only beneath its working directory (its
 * share), the slirp thread only read /etc/resolv.conf, a control thread
 * nothing; vcpu, vsock and tap threads, whose filters allow no open, get
 * none. 0 (also where Landlock is missing or older than ABI 2) or -errno.
 */
int sm_landlock_thread(enum sm_thread_role role);
/*
 * The calling FUSE worker serves one file (fuse_passthrough_file_fd):
 * its Landlock rule is that file, with file rights only, instead of its
 * working directory. -1 (the default): a directory share. Set before
 * sm_sandbox_enter_role().
 */
void sm_landlock_set_share_file(int fd);
/* The kernel's Landlock ABI version; 0: none. */
int sm_landlock_abi(void);

/*
 * Jails the calling thread as role: its own root (the empty directory;
 * the slirp thread's holds /etc/resolv.conf), the jail's uid and gid, no
 * capabilities, no_new_privs; the control role also gets mount, IPC and
 * UTS namespaces of its own. The fuse role takes the ids too but keeps
 * the file capabilities (it is chrooted to its share already). A thread without
 * CAP_SYS_CHROOT (jailed by its creator, or no root) gets its own working
 * directory and no_new_privs. sm_sandbox_enter_role() calls this for
 * every role but control, whose threads jail themselves when they no
 * longer need the host's files.
 */
int sm_jail_thread(enum sm_thread_role role, struct sm_error *err);

/* The main thread of a process's jail: sm_process_jail() in
 * supermachine.h. */

#endif
