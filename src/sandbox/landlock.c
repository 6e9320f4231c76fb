/*
 * Landlock for the threads that may open files (docs/security.md,
 * "Landlock"). A chroot bounds a thread's paths from its root only: a
 * path relative to a directory descriptor the process holds (another
 * share's root, a node of another share, the store) walks `..` up to the
 * host's root, and every thread shares one fd table. Landlock bounds the
 * walk's end instead, per thread:
 *   - a FUSE worker may open, create, remove and rename only beneath its
 *     share (its working directory when it jails itself), or only
 *     read and write its file when the share is a single file;
 *   - the slirp thread may only read /etc/resolv.conf;
 *   - a control thread may open nothing (a snapshot comes as descriptors
 *     of files the CLI made, sm_vm_snapshot_fds).
 * Threads whose filters allow no open (vcpu, vsock, tap) need none.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#define ACCESS_FS_TRUNCATE (1ULL << 14)	 /* ABI 3 */
#define ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
/* What a single-file share's worker may do to its file (a rule on a
 * file may carry file rights only). */
#define FILE_SHARE_RIGHTS                                               \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	 ACCESS_FS_TRUNCATE)

static __thread int share_file = -1; /* sm_landlock_set_share_file */

void sm_landlock_set_share_file(int fd)
{
	share_file = fd;
}

/* Every file system right this kernel's Landlock knows, from its ABI. */
static uint64_t fs_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= ACCESS_FS_IOCTL_DEV;
	return r;
}

int sm_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);

	return abi > 0 ? (int)abi : 0;
}

/* One rule: rights beneath fd (a directory, or one file; -1: no rule),
 * then the domain on this thread. */
static int restrict_fd(int fd, uint64_t handled, uint64_t allowed)
{
	struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
	struct landlock_path_beneath_attr rule = {.allowed_access = allowed,
						  .parent_fd = fd};
	int ruleset, ret = 0;

	ruleset =
	    (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0)
		return -errno;
	if (fd >= 0 && syscall(SYS_landlock_add_rule, ruleset,
			       LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
		ret = -errno;
	/* needs no_new_privs, which the jail set */
	if (!ret && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		ret = -errno;
	close(ruleset);
	return ret;
}

static int restrict_to(const char *path, uint64_t handled, uint64_t allowed)
{
	/* no such file: no rule, so nothing at all may be opened */
	int fd = path ? open(path, O_PATH | O_CLOEXEC) : -1;
	int ret = restrict_fd(fd, handled, allowed);

	if (fd >= 0)
		close(fd);
	return ret;
}

int sm_landlock_thread(enum sm_thread_role role)
{
	int abi;

	if (role != SM_ROLE_FUSE && role != SM_ROLE_SLIRP &&
	    role != SM_ROLE_CONTROL)
		return 0;
	abi = sm_landlock_abi();
	/* ABI 1 refuses every rename across directories: a share needs
	 * them, so only from ABI 2 (Linux 5.19) */
	if (abi < 2)
		return 0;
	if (role == SM_ROLE_FUSE && share_file >= 0)
		return restrict_fd(share_file, fs_rights(abi),
				   fs_rights(abi) & FILE_SHARE_RIGHTS);
	if (role == SM_ROLE_FUSE)
		return restrict_to(".", fs_rights(abi), fs_rights(abi));
	if (role == SM_ROLE_CONTROL)
		return restrict_to(NULL, fs_rights(abi), 0);
	return restrict_to("/etc/resolv.conf", fs_rights(abi),
			   LANDLOCK_ACCESS_FS_READ_FILE);
}
