/*
 * The empty share: a read-only root directory with nothing in it, made of
 * no host file at all. A VM's unused volume slots serve it (docs/volumes.md,
 * "Slots"): they exist so that one template fits runs with and without
 * volumes, and before this each held a worker thread serving the image's
 * rootfs read-only that no guest mounted. Every operation here is
 * computed, no syscall: the server may run it on the notifying (vCPU)
 * thread, under that thread's filter, whatever the guest sends.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse/fuse_server.h"

static char empty_root; /* the one inode: its address */

void *fuse_empty_backend(void)
{
	return &empty_root; /* no state; the server wants non-NULL */
}

static void *empty_root_ino(void *be)
{
	(void)be;
	return &empty_root;
}

static int empty_lookup(void *be, void *dir, const char *name, void **ino,
			struct stat *st)
{
	(void)be, (void)dir, (void)name, (void)ino, (void)st;
	return -ENOENT;
}

static void empty_forget(void *be, void *ino)
{
	(void)be, (void)ino;
}

static int empty_getattr(void *be, void *ino, struct stat *st)
{
	(void)be, (void)ino;
	memset(st, 0, sizeof(*st));
	st->st_ino = 1;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
	st->st_blksize = 4096;
	return 0;
}

static int empty_setattr(void *be, void *ino, void *fh,
			 const struct fuse_setattr_req *sa,
			 const struct fuse_place *at, struct stat *st)
{
	(void)be, (void)ino, (void)fh, (void)sa, (void)at, (void)st;
	return -EROFS;
}

static int empty_readlink(void *be, void *ino, char *buf, size_t size)
{
	(void)be, (void)ino, (void)buf, (void)size;
	return -EINVAL; /* the root is no link */
}

static int empty_mknod(void *be, void *dir, const char *name, mode_t mode,
		       dev_t rdev, const char *target, const struct fuse_ctx *c,
		       void **ino, struct stat *st)
{
	(void)be, (void)dir, (void)name, (void)mode, (void)rdev, (void)target;
	(void)c, (void)ino, (void)st;
	return -EROFS;
}

static int empty_unlink(void *be, void *dir, const char *name)
{
	(void)be, (void)dir, (void)name;
	return -EROFS;
}

static int empty_rename(void *be, void *dir, const char *name, void *newdir,
			const char *newname, unsigned flags)
{
	(void)be, (void)dir, (void)name, (void)newdir, (void)newname;
	(void)flags;
	return -EROFS;
}

static int empty_link(void *be, void *ino, const struct fuse_place *at,
		      void *newdir, const char *newname, void **newino,
		      struct stat *st)
{
	(void)be, (void)ino, (void)at, (void)newdir, (void)newname;
	(void)newino, (void)st;
	return -EROFS;
}

static int empty_open(void *be, void *ino, int flags, void **fh)
{
	(void)be, (void)ino, (void)flags;
	*fh = &empty_root; /* the root, for OPENDIR: nothing to hold (the
			      server wants non-NULL) */
	return 0;
}

static int empty_create(void *be, void *dir, const char *name, mode_t mode,
			int flags, const struct fuse_ctx *c, void **ino,
			struct stat *st, void **fh)
{
	(void)be, (void)dir, (void)name, (void)mode, (void)flags, (void)c;
	(void)ino, (void)st, (void)fh;
	return -EROFS;
}

static ssize_t empty_read(void *be, void *ino, void *fh,
			  const struct iovec *iov, int cnt, off_t off)
{
	(void)be, (void)ino, (void)fh, (void)iov, (void)cnt, (void)off;
	return -EISDIR;
}

static ssize_t empty_write(void *be, void *ino, void *fh,
			   const struct iovec *iov, int cnt, off_t off,
			   unsigned wflags)
{
	(void)be, (void)ino, (void)fh, (void)iov, (void)cnt, (void)off;
	(void)wflags;
	return -EROFS;
}

static int empty_release(void *be, void *ino, void *fh)
{
	(void)be, (void)ino, (void)fh;
	return 0;
}

static int empty_fsync(void *be, void *ino, void *fh, int datasync)
{
	(void)be, (void)ino, (void)fh, (void)datasync;
	return 0;
}

static int empty_readdir(void *be, void *ino, void *fh, uint64_t off,
			 fuse_fill_fn fill, void *fctx)
{
	(void)be, (void)ino, (void)fh, (void)off, (void)fill, (void)fctx;
	return 0; /* no entries */
}

static int empty_statfs(void *be, void *ino, struct statvfs *sv)
{
	(void)be, (void)ino;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_namemax = 255;
	sv->f_flag = ST_RDONLY;
	return 0;
}

static int empty_setxattr(void *be, void *ino, const char *name,
			  const void *value, size_t size, int flags)
{
	(void)be, (void)ino, (void)name, (void)value, (void)size, (void)flags;
	return -EROFS;
}

static ssize_t empty_getxattr(void *be, void *ino, const char *name, void *buf,
			      size_t size)
{
	(void)be, (void)ino, (void)name, (void)buf, (void)size;
	return -ENODATA;
}

static ssize_t empty_listxattr(void *be, void *ino, char *buf, size_t size)
{
	(void)be, (void)ino, (void)buf, (void)size;
	return 0;
}

static int empty_removexattr(void *be, void *ino, const char *name)
{
	(void)be, (void)ino, (void)name;
	return -EROFS;
}

static int empty_fallocate(void *be, void *ino, void *fh, int mode, off_t off,
			   off_t len)
{
	(void)be, (void)ino, (void)fh, (void)mode, (void)off, (void)len;
	return -EROFS;
}

static off_t empty_lseek(void *be, void *ino, void *fh, off_t off, int whence)
{
	(void)be, (void)ino, (void)fh, (void)off, (void)whence;
	return -EINVAL;
}

static ssize_t empty_copy_file_range(void *be, void *ino_in, void *fh_in,
				     off_t off_in, void *ino_out, void *fh_out,
				     off_t off_out, size_t len, unsigned flags)
{
	(void)be, (void)ino_in, (void)fh_in, (void)off_in, (void)ino_out;
	(void)fh_out, (void)off_out, (void)len, (void)flags;
	return -EROFS;
}

static int empty_map_fd(void *be, void *ino, int writable)
{
	(void)be, (void)ino, (void)writable;
	return -EINVAL; /* no file to map */
}

static void empty_destroy(void *be)
{
	(void)be;
}

const struct fuse_backend_ops fuse_empty_ops = {
    .name = "empty",
    .root = empty_root_ino,
    .lookup = empty_lookup,
    .forget = empty_forget,
    .getattr = empty_getattr,
    .setattr = empty_setattr,
    .readlink = empty_readlink,
    .mknod = empty_mknod,
    .unlink = empty_unlink,
    .rmdir = empty_unlink,
    .rename = empty_rename,
    .link = empty_link,
    .open = empty_open,
    .create = empty_create,
    .read = empty_read,
    .write = empty_write,
    .release = empty_release,
    .fsync = empty_fsync,
    .readdir = empty_readdir,
    .statfs = empty_statfs,
    .setxattr = empty_setxattr,
    .getxattr = empty_getxattr,
    .listxattr = empty_listxattr,
    .removexattr = empty_removexattr,
    .fallocate = empty_fallocate,
    .lseek = empty_lseek,
    .copy_file_range = empty_copy_file_range,
    .map_fd = empty_map_fd,
    .destroy = empty_destroy,
};
