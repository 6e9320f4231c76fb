/*
 * What a guest may plant on the host through a read-write share
 * (docs/security.md, "Shares: what a guest can plant on the host"):
 * privileged xattrs, FIFOs, and setuid/setgid bits that survive a write.
 * The server applies this whatever the backend does, so memfs and
 * passthrough answer alike.
 */
#include <errno.h>
#include <string.h>

#include "fuse/internal.h"

/*
 * Only user.* unless the embedder opts in: security.* (file capabilities,
 * LSM labels), trusted.* (overlayfs metadata, root-only on the host) and
 * system.* (POSIX and NFSv4 ACLs) would change what the host grants. The
 * answer is EOPNOTSUPP, "this filesystem has no such xattrs", which cp -a,
 * tar --xattrs and rsync -X skip quietly, and which the guest kernel
 * already gives for ACLs since FUSE_POSIX_ACL is not negotiated.
 */
int policy_xattr(const struct fuse_server *s, const char *name)
{
	if (s->allow_priv_xattrs || strncmp(name, "user.", 5) == 0)
		return 0;
	return -EOPNOTSUPP;
}

/*
 * MKNOD: regular files and sockets (an unbound socket inode is inert on
 * the host). Device nodes never; FIFOs only when the embedder opts in: a
 * host program opening one in the shared directory would block.
 */
int policy_mknod(const struct fuse_server *s, mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFSOCK:
		return 0;
	case S_IFIFO:
		return s->allow_fifos ? 0 : -EPERM;
	case S_IFCHR:
	case S_IFBLK:
		return -EPERM;
	default:
		return -EINVAL;
	}
}

/*
 * Drops setuid, setgid when group-executable, and file capabilities, as
 * the kernel does when an unprivileged caller modifies a file (the
 * backend's FATTR_KILL_SUIDGID). Best effort: the modification itself
 * goes on when the file cannot be changed.
 */
void policy_kill_priv(struct req *r, struct fnode *n, void *bfh)
{
	struct fuse_setattr_req sa = {.valid = FATTR_KILL_SUIDGID};
	struct stat st;

	if (n->type == S_IFREG)
		setattr_at(r, n, bfh, &sa, &st);
}

/*
 * With HANDLE_KILLPRIV_V2 the kernel flags WRITE, SETATTR and OPEN/CREATE
 * with O_TRUNC, but for FALLOCATE, COPY_FILE_RANGE and writes through a
 * DAX mapping it leaves the kill to us without a flag. Its rule is "the
 * caller lacks CAP_FSETID"; the request only carries the uid, so a
 * non-root caller is taken as one without it.
 */
void policy_kill_priv_unflagged(struct req *r, struct fnode *n, void *bfh)
{
	if (r->ctx.uid != 0)
		policy_kill_priv(r, n, bfh);
}
