/*
 * Passthrough backend: serves a host directory. Security model:
 *  - every inode is an O_PATH|O_NOFOLLOW fd; a name is only ever resolved
 *    as one component relative to its parent's fd, with openat2(RESOLVE_
 *    BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS): symlinks are
 *    returned as themselves and never followed on the host;
 *  - files are opened by re-opening the inode's own fd through
 *    /proc/self/fd (no name lookup, so a path swapped for a symlink after
 *    LOOKUP cannot redirect an OPEN), and only regular files and
 *    directories can be opened: FIFOs, sockets and devices never are;
 *  - device nodes are never created (policy.c: nor FIFOs, nor privileged
 *    xattrs, by default); setuid/setgid are dropped on write
 *    and truncate when the kernel asks (FUSE_HANDLE_KILLPRIV_V2);
 *  - in read-only mode every modifying call fails with EROFS here too.
 * A single-file share (fuse_passthrough_new_file) serves one file opened
 * when the share is made: its root is a synthetic read-only directory
 * (an inode with no fd) whose one entry is that file; no name is ever
 * resolved on the host, so nothing beside the file can be reached.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse/fuse_server.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

struct pt {
	int root_fd;
	int proc_fd;  /* /proc/self/fd, for re-opening O_PATH fds */
	int guard_fd; /* the worker's own fd directory (own_fds), or -1 */
	int read_only;
	int is_root;
	bool handed_over; /* root_fd and proc_fd live in the worker's table */
	mode_t umask;
	/* single-file share: root_fd is the file (O_PATH | O_NOFOLLOW) and
	 * the root a synthetic directory holding it under this name */
	char *file_name;
};

struct pino {
	int fd; /* O_PATH | O_NOFOLLOW; -1: a single-file share's root */
	mode_t type;
};

struct phandle {
	int fd;		      /* -1: the synthetic root opened as a directory */
	pthread_mutex_t lock; /* directories: lseek + getdents */
};

/* Guest open flags we pass on; everything else is dropped. */
#define OPEN_OK                                                           \
	(O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_SYNC | O_DSYNC | \
	 O_NOATIME | O_DIRECTORY | O_LARGEFILE)

static int name_ok(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..") && strlen(name) <= NAME_MAX;
}

/* One component below dirfd, never following anything. */
static int lookup_fd(int dirfd, const char *name)
{
	struct open_how how = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	int fd;

	if (!name_ok(name))
		return -EINVAL;
	fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) /* pre-5.6: same, name is checked */
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0
		   ? -errno
		   : 0;
}

static struct pino *new_ino(int fd, mode_t mode)
{
	struct pino *i = malloc(sizeof(*i));

	if (!i) {
		close(fd);
		return NULL;
	}
	i->fd = fd;
	i->type = mode & S_IFMT;
	return i;
}

/* Opens the inode itself (not a name) with flags: regular files and dirs. */
static int reopen(struct pt *p, struct pino *i, int flags)
{
	char name[16];
	int fd;

	if (i->type != S_IFREG && i->type != S_IFDIR)
		return i->type == S_IFLNK ? -ELOOP : -ENXIO;
	if (p->read_only &&
	    ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	snprintf(name, sizeof(name), "%d", i->fd);
	/* never O_PATH: Landlock checks this open (docs/security.md) */
	fd = openat(p->guard_fd >= 0 ? p->guard_fd : p->proc_fd, name,
		    (flags & OPEN_OK) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static bool same_inode(int fd, const struct stat *st)
{
	struct stat b;

	return stat_fd(fd, &b) == 0 && b.st_dev == st->st_dev &&
	       b.st_ino == st->st_ino;
}

/*
 * The directory fd of i's place, once its name is seen to still lead to
 * i without following anything: for calls that have no form taking the
 * inode itself (a socket's or FIFO's chmod; a hard link without
 * CAP_DAC_READ_SEARCH). Only a host process renaming the share under us
 * could make the call act on another object in the share.
 */
static int place_dir(struct pino *i, const struct fuse_place *at)
{
	struct stat st;
	int dirfd;

	if (!at || !at->dir || !name_ok(at->name))
		return -EPERM;
	dirfd = ((struct pino *)at->dir)->fd;
	if (fstatat(dirfd, at->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return same_inode(i->fd, &st) ? dirfd : -ESTALE;
}

/* chmod without /proc: files and directories through a re-open, other
 * objects by name. */
static int chmod_ino(struct pt *p, struct pino *i, const struct fuse_place *at,
		     mode_t mode)
{
	_cleanup_close_ int fd = -1;
	int dirfd;

	if (i->type == S_IFLNK)
		return -EOPNOTSUPP;
	if (i->type == S_IFREG || i->type == S_IFDIR) {
		fd = reopen(p, i, O_RDONLY);
		if (fd < 0)
			return fd;
		return fchmod(fd, mode & 07777) < 0 ? -errno : 0;
	}
	dirfd = place_dir(i, at);
	if (dirfd < 0)
		return dirfd;
	return fchmodat(dirfd, at->name, mode & 07777, 0) < 0 ? -errno : 0;
}

/* A backend over root_fd (taken, closed on failure). */
static int pt_make(int root_fd, int read_only, struct pt **out,
		   struct sm_error *err)
{
	struct pt *p = calloc(1, sizeof(*p));

	if (!p) {
		close(root_fd);
		return sm_err(err, -ENOMEM, "passthrough: out of memory");
	}
	p->root_fd = root_fd;
	p->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p->proc_fd < 0) {
		int rc = sm_err_errno(err, "passthrough: /proc/self/fd");

		close(p->root_fd);
		free(p);
		return rc;
	}
	p->guard_fd = -1;
	p->read_only = read_only;
	p->is_root = geteuid() == 0;
	p->umask = umask(0);
	umask(p->umask);
	*out = p;
	return 0;
}

int fuse_passthrough_new(const char *dir, int read_only, void **be,
			 struct sm_error *err)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return sm_err_errno(err, "passthrough: open %s", dir);
	return pt_make(fd, read_only, (struct pt **)be, err);
}

int fuse_passthrough_new_file(const char *path, const char *name, int read_only,
			      void **be, struct sm_error *err)
{
	struct stat st;
	struct pt *p;
	int fd, rc;

	if (!name || !name_ok(name))
		return sm_err(err, -EINVAL, "passthrough: %s: bad entry name",
			      path);
	/* the file itself, never what a symlink put there leads to */
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sm_err_errno(err, "passthrough: open %s", path);
	if (stat_fd(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return sm_err(err, -EINVAL,
			      "passthrough: %s is not a regular file", path);
	}
	rc = pt_make(fd, read_only, &p, err);
	if (rc)
		return rc;
	p->file_name = strdup(name);
	if (!p->file_name) {
		close(p->root_fd);
		close(p->proc_fd);
		free(p);
		return sm_err(err, -ENOMEM, "passthrough: out of memory");
	}
	*be = p;
	return 0;
}

int fuse_passthrough_file_fd(void *be)
{
	struct pt *p = be;

	return p->file_name ? p->root_fd : -1;
}

int fuse_passthrough_confine(void *be, struct sm_error *err)
{
	struct pt *p = be;

	/* a private root and cwd for this thread alone: legal in a
	 * multithreaded process, unlike a new mount namespace */
	if (unshare(CLONE_FS) < 0)
		return sm_err_errno(err, "passthrough: unshare(CLONE_FS)");
	/* a single file is no directory to stand in: the worker's own /proc
	 * fd directory, which leads only to what it holds already */
	if (p->file_name &&
	    fchdir(p->guard_fd >= 0 ? p->guard_fd : p->proc_fd) < 0)
		return sm_err_errno(err, "passthrough: fchdir to its fds");
	if (!p->file_name && fchdir(p->root_fd) < 0)
		return sm_err_errno(err, "passthrough: fchdir to the share");
	if (chroot(".") == 0)
		return 1;
	if (errno != EPERM)
		return sm_err_errno(err, "passthrough: chroot to the share");
	return 0;
}

/* Where the guard goes: above every fd the worker may hold (those kept
 * and fd_budget more, filled from the lowest free number up), below the
 * descriptor limit; rounded up so that the workers of a process share one
 * number, and so one seccomp program (its filter names the guard). */
#define GUARD_ALIGN 4096
static int guard_slot(const int *kept, size_t n, size_t fd_budget)
{
	struct rlimit lim;
	int top = 2;
	uint64_t slot;

	for (size_t i = 0; i < n; i++)
		top = kept[i] > top ? kept[i] : top;
	slot = ((uint64_t)top + fd_budget + GUARD_ALIGN) / GUARD_ALIGN *
	       GUARD_ALIGN;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur <= slot)
		slot = lim.rlim_cur - 1;
	return slot > (uint64_t)top && slot < INT_MAX ? (int)slot : -EMFILE;
}

int fuse_passthrough_own_fds(void *be, const int *keep, size_t n,
			     size_t fd_budget, struct sm_error *err)
{
	struct pt *p = be;
	int mine[SM_KEEP_FDS_MAX], fd, guard;
	char own[48];

	if (n > SM_KEEP_FDS_MAX - 2)
		return sm_err(err, -EINVAL, "passthrough: %zu fds to keep", n);
	if (unshare(CLONE_FILES) < 0)
		return sm_err_errno(err, "passthrough: unshare(CLONE_FILES)");
	/* proc_fd is /proc/TGID/fd, the thread group leader's table; the
	 * re-opens must see this thread's own (task/TID/fd) */
	snprintf(own, sizeof(own), "../task/%ld/fd", (long)syscall(SYS_gettid));
	fd = openat(p->proc_fd, own, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sm_err_errno(err, "passthrough: /proc/self/%s", own + 3);
	mine[0] = p->root_fd;
	mine[1] = fd;
	memcpy(mine + 2, keep, n * sizeof(*keep));
	sm_close_fds_except(0, mine, n + 2);
	mine[1] = p->root_fd; /* the guard goes above the rest */
	guard = guard_slot(mine + 1, n + 1, fd_budget);
	if (guard < 0 || dup3(fd, guard, O_CLOEXEC) < 0) {
		int rc = sm_err(err, guard < 0 ? guard : -errno,
				"passthrough: no descriptor number above %zu "
				"more for the /proc handle",
				fd_budget);

		close(fd);
		return rc;
	}
	close(fd);
	p->guard_fd = guard;
	return 0;
}

int fuse_passthrough_guard_fd(void *be)
{
	return ((struct pt *)be)->guard_fd;
}

void fuse_passthrough_hand_over(void *be)
{
	struct pt *p = be;

	close(p->root_fd);
	close(p->proc_fd);
	p->handed_over = true;
}

static void pt_destroy(void *be)
{
	struct pt *p = be;

	if (!p->handed_over) {
		close(p->root_fd);
		close(p->proc_fd);
	}
	free(p->file_name);
	free(p);
}

/* ---- single-file shares ---- */

static bool synthetic(const struct pino *i)
{
	return i->fd < 0;
}

/* The synthetic root: read-only, the file's owner and times, an inode
 * number other than the file's. */
static int root_stat(struct pt *p, struct stat *st)
{
	int rc = stat_fd(p->root_fd, st);

	if (rc < 0)
		return rc;
	st->st_ino = st->st_ino == 1 ? 2 : 1;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
	st->st_size = 0;
	st->st_blocks = 0;
	st->st_rdev = 0;
	return 0;
}

/* The one name the root holds; nothing is resolved on the host. */
static int file_lookup(struct pt *p, struct pino *d, const char *name,
		       void **ino, struct stat *st)
{
	int fd, rc;

	if (!synthetic(d))
		return -ENOTDIR;
	if (!name_ok(name))
		return -EINVAL;
	if (strcmp(name, p->file_name))
		return -ENOENT;
	fd = fcntl(p->root_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = stat_fd(fd, st);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*ino = new_ino(fd, st->st_mode);
	return *ino ? 0 : -ENOMEM;
}

/* ".", ".." and the file; off is the index of the next entry. */
static int root_readdir(struct pt *p, uint64_t off, fuse_fill_fn fill,
			void *fctx)
{
	struct stat dir, file;
	int rc = root_stat(p, &dir);

	if (!rc)
		rc = stat_fd(p->root_fd, &file);
	for (; !rc && off < 3; off++) {
		const char *name = off == 0   ? "."
				   : off == 1 ? ".."
					      : p->file_name;

		rc = fill(fctx, name, strlen(name),
			  off < 2 ? dir.st_ino : file.st_ino,
			  off < 2 ? DT_DIR : DT_REG, off + 1);
	}
	return rc < 0 ? rc : 0;
}

static void *pt_root(void *be)
{
	struct pt *p = be;
	int fd;

	if (p->file_name)
		return new_ino(-1, S_IFDIR);
	fd = fcntl(p->root_fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? NULL : new_ino(fd, S_IFDIR);
}

static int pt_lookup(void *be, void *dir, const char *name, void **ino,
		     struct stat *st)
{
	struct pino *d = dir, *i;
	int fd, rc;

	if (((struct pt *)be)->file_name)
		return file_lookup(be, d, name, ino, st);
	fd = lookup_fd(d->fd, name);
	if (fd < 0)
		return fd;
	rc = stat_fd(fd, st);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	i = new_ino(fd, st->st_mode);
	if (!i)
		return -ENOMEM;
	*ino = i;
	return 0;
}

static void pt_forget(void *be, void *ino)
{
	struct pino *i = ino;

	(void)be;
	if (i->fd >= 0)
		close(i->fd);
	free(i);
}

static int pt_getattr(void *be, void *ino, struct stat *st)
{
	if (synthetic(ino))
		return root_stat(be, st);
	return stat_fd(((struct pino *)ino)->fd, st);
}

/*
 * setuid always, setgid when group-executable, and file capabilities. A
 * write or truncate on the host drops the capability by itself; a kill
 * without one (a writable DAX mapping, fd -1) has to remove it here.
 */
static int kill_priv_fd(struct pt *p, struct pino *i, int fd)
{
	_cleanup_close_ int own = -1;
	struct stat st;
	mode_t m;
	int rc = stat_fd(fd >= 0 ? fd : i->fd, &st);

	if (rc < 0 || !S_ISREG(st.st_mode))
		return rc;
	m = st.st_mode & ~S_ISUID;
	if (m & S_IXGRP)
		m &= ~S_ISGID;
	if (fd < 0) {
		own = reopen(p, i, O_RDONLY);
		if (own < 0)
			return own;
		fd = own;
	}
	fremovexattr(fd, "security.capability");
	if (m == st.st_mode)
		return 0;
	return fchmod(fd, m & 07777) < 0 ? -errno : 0;
}

static int set_times(struct pino *i, const struct fuse_setattr_req *sa)
{
	struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};

	if (sa->valid & (FATTR_ATIME | FATTR_ATIME_NOW))
		ts[0] = sa->atime;
	if (sa->valid & (FATTR_MTIME | FATTR_MTIME_NOW))
		ts[1] = sa->mtime;
	return utimensat(i->fd, "", ts, AT_EMPTY_PATH) < 0 ? -errno : 0;
}

static int truncate_ino(struct pt *p, struct pino *i, struct phandle *h,
			uint64_t size)
{
	_cleanup_close_ int fd = -1;

	if (h)
		return ftruncate(h->fd, (off_t)size) < 0 ? -errno : 0;
	fd = reopen(p, i, O_WRONLY);
	if (fd < 0)
		return fd;
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

static int pt_setattr(void *be, void *ino, void *fh,
		      const struct fuse_setattr_req *sa,
		      const struct fuse_place *at, struct stat *st)
{
	struct pt *p = be;
	struct pino *i = ino;
	int rc = 0;

	if (p->read_only)
		return -EROFS;
	if (synthetic(i))
		return -EPERM;
	if ((sa->valid & FATTR_MODE) &&
	    (rc = chmod_ino(p, i, at, sa->mode)) < 0)
		return rc;
	if (sa->valid & (FATTR_UID | FATTR_GID)) {
		/* the host kernel drops setuid/setgid on chown, like ours */
		if (fchownat(i->fd, "",
			     (sa->valid & FATTR_UID) ? sa->uid : (uid_t)-1,
			     (sa->valid & FATTR_GID) ? sa->gid : (gid_t)-1,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (sa->valid & FATTR_SIZE)
		rc = truncate_ino(p, i, fh, sa->size);
	if (rc == 0 && (sa->valid & FATTR_KILL_SUIDGID))
		rc = kill_priv_fd(p, i, fh ? ((struct phandle *)fh)->fd : -1);
	if (rc == 0 && (sa->valid & (FATTR_ATIME | FATTR_ATIME_NOW |
				     FATTR_MTIME | FATTR_MTIME_NOW)))
		rc = set_times(i, sa);
	return rc < 0 ? rc : stat_fd(i->fd, st);
}

static int pt_readlink(void *be, void *ino, char *buf, size_t size)
{
	ssize_t n;

	(void)be;
	if (synthetic(ino))
		return -EINVAL;
	n = readlinkat(((struct pino *)ino)->fd, "", buf, size);
	return n < 0 ? -errno : (int)n;
}

/* Gives a new object (fd, named name in dir) its caller's owner, and its
 * exact mode. */
static void own_new(struct pt *p, int fd, struct pino *dir, const char *name,
		    mode_t mode, const struct fuse_ctx *c)
{
	struct stat dst;
	gid_t gid = c->gid;

	if (p->is_root) {
		if (stat_fd(dir->fd, &dst) == 0 && (dst.st_mode & S_ISGID))
			gid = (gid_t)-1; /* inherited from the directory */
		if (fchownat(fd, "", c->uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			/* best effort: the object stays root's */
		}
	}
	/* by name: the object was made there a moment ago by this thread */
	if ((mode & p->umask & 0777) && !S_ISLNK(mode) &&
	    fchmodat(dir->fd, name, mode & 07777, 0) < 0) {
		/* keep the umasked mode */
	}
}

static int pt_mknod(void *be, void *dir, const char *name, mode_t mode,
		    dev_t rdev, const char *target, const struct fuse_ctx *c,
		    void **ino, struct stat *st)
{
	struct pt *p = be;
	struct pino *d = dir;
	int rc;

	(void)rdev;
	if (p->read_only)
		return -EROFS;
	if (p->file_name) /* the synthetic root holds its one file only */
		return -EPERM;
	if (!name_ok(name))
		return -EINVAL;
	switch (mode & S_IFMT) {
	case S_IFDIR:
		rc = mkdirat(d->fd, name, mode & 07777);
		break;
	case S_IFLNK:
		rc = target ? symlinkat(target, d->fd, name)
			    : (errno = EINVAL, -1);
		break;
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		rc = mknodat(d->fd, name, mode & (S_IFMT | 07777), 0);
		break;
	default:
		return -EPERM; /* never a device node on the host */
	}
	if (rc < 0)
		return -errno;
	rc = pt_lookup(be, dir, name, ino, st);
	if (rc < 0)
		return rc;
	own_new(p, ((struct pino *)*ino)->fd, d, name, mode, c);
	return stat_fd(((struct pino *)*ino)->fd, st);
}

static int pt_unlink(void *be, void *dir, const char *name)
{
	struct pt *p = be;

	if (p->read_only)
		return -EROFS;
	if (p->file_name)
		return -EPERM;
	if (!name_ok(name))
		return -EINVAL;
	return unlinkat(((struct pino *)dir)->fd, name, 0) < 0 ? -errno : 0;
}

static int pt_rmdir(void *be, void *dir, const char *name)
{
	struct pt *p = be;

	if (p->read_only)
		return -EROFS;
	if (p->file_name)
		return -EPERM;
	if (!name_ok(name))
		return -EINVAL;
	return unlinkat(((struct pino *)dir)->fd, name, AT_REMOVEDIR) < 0
		   ? -errno
		   : 0;
}

static int pt_rename(void *be, void *dir, const char *name, void *newdir,
		     const char *newname, unsigned flags)
{
	struct pt *p = be;

	if (p->read_only)
		return -EROFS;
	if (p->file_name)
		return -EPERM;
	if (!name_ok(name) || !name_ok(newname) ||
	    (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)))
		return -EINVAL;
	return renameat2(((struct pino *)dir)->fd, name,
			 ((struct pino *)newdir)->fd, newname, flags) < 0
		   ? -errno
		   : 0;
}

static int pt_link(void *be, void *ino, const struct fuse_place *at,
		   void *newdir, const char *newname, void **newino,
		   struct stat *st)
{
	struct pt *p = be;
	struct pino *i = ino, *d = newdir;
	int dirfd;

	if (p->read_only)
		return -EROFS;
	if (p->file_name)
		return -EPERM;
	if (!name_ok(newname))
		return -EINVAL;
	if (i->type == S_IFDIR)
		return -EPERM;
	if (linkat(i->fd, "", d->fd, newname, AT_EMPTY_PATH) < 0) {
		if (errno != ENOENT && errno != EPERM)
			return -errno;
		/* without CAP_DAC_READ_SEARCH in the host's user namespace
		 * (rootless): by its name */
		dirfd = place_dir(i, at);
		if (dirfd < 0)
			return dirfd;
		if (linkat(dirfd, at->name, d->fd, newname, 0) < 0)
			return -errno;
	}
	return pt_lookup(be, newdir, newname, newino, st);
}

static int new_handle(int fd, void **fh)
{
	struct phandle *h = malloc(sizeof(*h));

	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	h->fd = fd;
	pthread_mutex_init(&h->lock, NULL);
	*fh = h;
	return 0;
}

static int pt_open(void *be, void *ino, int flags, void **fh)
{
	int fd;

	if (synthetic(ino)) /* a directory handle with nothing behind it */
		return (flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC)
			   ? new_handle(-1, fh)
			   : -EISDIR;
	fd = reopen(be, ino, flags);

	return fd < 0 ? fd : new_handle(fd, fh);
}

static int pt_create(void *be, void *dir, const char *name, mode_t mode,
		     int flags, const struct fuse_ctx *c, void **ino,
		     struct stat *st, void **fh)
{
	struct pt *p = be;
	struct pino *d = dir;
	_cleanup_close_ int fd = -1;
	int rc, opath;

	if (p->read_only)
		return -EROFS;
	if (p->file_name)
		return -EPERM;
	if (!name_ok(name))
		return -EINVAL;
	fd = openat(d->fd, name,
		    (flags & OPEN_OK & ~O_DIRECTORY) | O_CREAT | O_EXCL |
			O_NOFOLLOW | O_CLOEXEC,
		    mode & 07777);
	if (fd < 0 && errno == EEXIST && !(flags & O_EXCL)) {
		/* lost a race with another creator: open what is there */
		rc = pt_lookup(be, dir, name, ino, st);
		if (rc < 0)
			return rc;
		rc = pt_open(be, *ino, flags, fh);
		if (rc < 0)
			pt_forget(be, *ino);
		return rc;
	}
	if (fd < 0)
		return -errno;
	own_new(p, fd, d, name, mode, c);
	/* the inode's O_PATH fd by name, then checked to be the file
	 * opened: only a host process could have swapped it meanwhile */
	opath = lookup_fd(d->fd, name);
	if (opath < 0)
		return opath;
	rc = stat_fd(fd, st);
	if (rc == 0 && !same_inode(opath, st))
		rc = -ESTALE;
	if (rc < 0 || !(*ino = new_ino(opath, st->st_mode))) {
		if (rc == 0)
			rc = -ENOMEM;
		else
			close(opath);
		return rc;
	}
	rc = new_handle(steal_fd(fd), fh);
	if (rc < 0)
		pt_forget(be, *ino);
	return rc;
}

static ssize_t pt_read(void *be, void *ino, void *fh, const struct iovec *iov,
		       int cnt, off_t off)
{
	ssize_t n = preadv(((struct phandle *)fh)->fd, iov, cnt, off);

	(void)be;
	(void)ino;
	return n < 0 ? -errno : n;
}

static ssize_t pt_write(void *be, void *ino, void *fh, const struct iovec *iov,
			int cnt, off_t off, unsigned wflags)
{
	struct phandle *h = fh;
	ssize_t n;

	if (((struct pt *)be)->read_only)
		return -EROFS;
	if (wflags & FUSE_BE_KILL_PRIV) {
		int rc = kill_priv_fd(be, ino, h->fd);

		if (rc < 0)
			return rc;
	}
	n = pwritev(h->fd, iov, cnt, off);
	return n < 0 ? -errno : n;
}

static int pt_release(void *be, void *ino, void *fh)
{
	struct phandle *h = fh;

	(void)be;
	(void)ino;
	if (h->fd >= 0)
		close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

static int pt_fsync(void *be, void *ino, void *fh, int datasync)
{
	int fd = ((struct phandle *)fh)->fd;

	(void)be;
	(void)ino;
	if (fd < 0) /* the synthetic root */
		return 0;
	return (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
}

static int pt_readdir(void *be, void *ino, void *fh, uint64_t off,
		      fuse_fill_fn fill, void *fctx)
{
	struct phandle *h = fh;
	char buf[32768];
	int rc = 0, emitted = 0;

	(void)ino;
	if (h->fd < 0)
		return root_readdir(be, off, fill, fctx);
	pthread_mutex_lock(&h->lock);
	if (lseek(h->fd, (off_t)off, SEEK_SET) < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, h->fd, buf, sizeof(buf));

		if (n < 0) {
			rc = emitted ? 0 : -errno;
			break;
		}
		if (n == 0)
			break;
		for (long pos = 0; pos < n;) {
			struct dirent64 *d = (void *)(buf + pos);

			pos += d->d_reclen;
			rc = fill(fctx, d->d_name, strlen(d->d_name), d->d_ino,
				  d->d_type, (uint64_t)d->d_off);
			if (rc != 0)
				goto out;
			emitted = 1;
		}
	}
out:
	pthread_mutex_unlock(&h->lock);
	return rc < 0 ? rc : 0;
}

static int pt_statfs(void *be, void *ino, struct statvfs *sv)
{
	int fd = ((struct pino *)ino)->fd;

	return fstatvfs(fd >= 0 ? fd : ((struct pt *)be)->root_fd, sv) < 0
		   ? -errno
		   : 0;
}

/* xattrs go through the inode itself, re-opened read-only: only files
 * and directories carry user xattrs. */
static int xattr_fd(struct pt *p, struct pino *i)
{
	if ((i->type != S_IFREG && i->type != S_IFDIR) || synthetic(i))
		return -ENOTSUP;
	return reopen(p, i, O_RDONLY);
}

static int pt_setxattr(void *be, void *ino, const char *name, const void *value,
		       size_t size, int flags)
{
	_cleanup_close_ int fd = -1;

	if (((struct pt *)be)->read_only)
		return -EROFS;
	fd = xattr_fd(be, ino);
	if (fd < 0)
		return fd;
	return fsetxattr(fd, name, value, size, flags) < 0 ? -errno : 0;
}

static ssize_t pt_getxattr(void *be, void *ino, const char *name, void *buf,
			   size_t size)
{
	_cleanup_close_ int fd = xattr_fd(be, ino);
	ssize_t n;

	if (fd < 0)
		return fd == -ENOTSUP ? -ENODATA : fd;
	n = fgetxattr(fd, name, buf, size);
	return n < 0 ? -errno : n;
}

static ssize_t pt_listxattr(void *be, void *ino, char *buf, size_t size)
{
	_cleanup_close_ int fd = xattr_fd(be, ino);
	ssize_t n;

	if (fd < 0)
		return fd == -ENOTSUP ? 0 : fd;
	n = flistxattr(fd, buf, size);
	return n < 0 ? -errno : n;
}

static int pt_removexattr(void *be, void *ino, const char *name)
{
	_cleanup_close_ int fd = -1;

	if (((struct pt *)be)->read_only)
		return -EROFS;
	fd = xattr_fd(be, ino);
	if (fd < 0)
		return fd;
	return fremovexattr(fd, name) < 0 ? -errno : 0;
}

static int pt_fallocate(void *be, void *ino, void *fh, int mode, off_t off,
			off_t len)
{
	(void)ino;
	if (((struct pt *)be)->read_only)
		return -EROFS;
	return fallocate(((struct phandle *)fh)->fd, mode, off, len) < 0
		   ? -errno
		   : 0;
}

static off_t pt_lseek(void *be, void *ino, void *fh, off_t off, int whence)
{
	off_t pos = lseek(((struct phandle *)fh)->fd, off, whence);

	(void)be;
	(void)ino;
	return pos < 0 ? -errno : pos;
}

static ssize_t pt_copy_file_range(void *be, void *ino_in, void *fh_in,
				  off_t off_in, void *ino_out, void *fh_out,
				  off_t off_out, size_t len, unsigned flags)
{
	ssize_t n;

	(void)ino_in;
	(void)ino_out;
	if (((struct pt *)be)->read_only)
		return -EROFS;
	n = copy_file_range(((struct phandle *)fh_in)->fd, &off_in,
			    ((struct phandle *)fh_out)->fd, &off_out, len,
			    flags);
	return n < 0 ? -errno : n;
}

static int pt_map_fd(void *be, void *ino, int writable)
{
	struct pino *i = ino;

	if (i->type != S_IFREG)
		return -EINVAL;
	return reopen(be, i, writable ? O_RDWR : O_RDONLY);
}

const struct fuse_backend_ops fuse_passthrough_ops = {
    .name = "passthrough",
    .root = pt_root,
    .lookup = pt_lookup,
    .forget = pt_forget,
    .getattr = pt_getattr,
    .setattr = pt_setattr,
    .readlink = pt_readlink,
    .mknod = pt_mknod,
    .unlink = pt_unlink,
    .rmdir = pt_rmdir,
    .rename = pt_rename,
    .link = pt_link,
    .open = pt_open,
    .create = pt_create,
    .read = pt_read,
    .write = pt_write,
    .release = pt_release,
    .fsync = pt_fsync,
    .readdir = pt_readdir,
    .statfs = pt_statfs,
    .setxattr = pt_setxattr,
    .getxattr = pt_getxattr,
    .listxattr = pt_listxattr,
    .removexattr = pt_removexattr,
    .fallocate = pt_fallocate,
    .lseek = pt_lseek,
    .copy_file_range = pt_copy_file_range,
    .map_fd = pt_map_fd,
    .destroy = pt_destroy,
};
