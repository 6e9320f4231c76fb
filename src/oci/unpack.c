/*
 * Applies image layers. Every path is resolved with
 * openat2(RESOLVE_BENEATH) from the rootfs fd, so neither "..", absolute
 * paths nor symlinks (including ones an earlier layer planted where a
 * directory used to be) can reach outside; the last component is never
 * followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, unlink before create).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "oci/dl.h"
#include "oci/oci.h"
#include "oci/store.h"
#include "oci/unpack.h"
#include "util/cleanup.h"
#include "util/error.h"

/* Paths created by the current layer: an opaque whiteout keeps them. */
struct pathset {
	char **slot;
	size_t cap, n;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int set_add(struct pathset *ps, const char *p)
{
	if (ps->n * 2 >= ps->cap) {
		struct pathset n = {
		    calloc(ps->cap ? ps->cap * 2 : 256, sizeof(char *)),
		    ps->cap ? ps->cap * 2 : 256, 0};
		if (!n.slot)
			return -ENOMEM;
		for (size_t i = 0; i < ps->cap; i++)
			if (ps->slot[i]) {
				size_t j = hash(ps->slot[i]) & (n.cap - 1);
				while (n.slot[j])
					j = (j + 1) & (n.cap - 1);
				n.slot[j] = ps->slot[i];
				n.n++;
			}
		free(ps->slot);
		*ps = n;
	}
	size_t j = hash(p) & (ps->cap - 1);
	while (ps->slot[j]) {
		if (!strcmp(ps->slot[j], p))
			return 0;
		j = (j + 1) & (ps->cap - 1);
	}
	if (!(ps->slot[j] = strdup(p)))
		return -ENOMEM;
	ps->n++;
	return 0;
}

static int set_has(struct pathset *ps, const char *p)
{
	if (!ps->cap)
		return 0;
	for (size_t j = hash(p) & (ps->cap - 1); ps->slot[j];
	     j = (j + 1) & (ps->cap - 1))
		if (!strcmp(ps->slot[j], p))
			return 1;
	return 0;
}

static void set_free(struct pathset *ps)
{
	for (size_t i = 0; i < ps->cap; i++)
		free(ps->slot[i]);
	free(ps->slot);
}

/* Cleans a tar path in place: strips "./" and "/" runs, refuses absolute
 * paths and "..". Returns 0, or -EINVAL. "" is the root itself. */
static int clean_path(char *p)
{
	char *out = p, *in = p;

	if (*p == '/')
		return -EINVAL;
	while (*in) {
		char *e = strchr(in, '/');
		size_t n = e ? (size_t)(e - in) : strlen(in);
		if (n == 2 && !strncmp(in, "..", 2))
			return -EINVAL;
		if (n && !(n == 1 && in[0] == '.')) {
			if (out != p)
				*out++ = '/';
			memmove(out, in, n);
			out += n;
		}
		in += n;
		while (*in == '/')
			in++;
	}
	*out = '\0';
	return 0;
}

static int openat2_beneath(int dfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};

	return syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

struct ctx {
	int rootfd;
	const struct unpack_opts *o;
	const char *what;
	struct sm_error *err;
	struct pathset created;
	uint64_t total;
};

static int fail(struct ctx *c, int code, const char *path, const char *why)
{
	return sm_err(c->err, code, "%s: %s: %s", c->what, path, why);
}

/* Opens directory rel beneath the rootfs, creating missing parents
 * (0755, like docker) when create is set. */
static int open_dir(struct ctx *c, const char *rel, int create)
{
	int fd;

	if (!*rel)
		return fcntl(c->rootfd, F_DUPFD_CLOEXEC, 0);
	fd = openat2_beneath(c->rootfd, rel, O_RDONLY | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd < 0 ? -errno : fd;
	_cleanup_free_ char *dup = strdup(rel);
	if (!dup)
		return -ENOMEM;
	char *slash = strrchr(dup, '/');
	const char *base = slash ? slash + 1 : dup;
	if (slash)
		*slash = '\0';
	int pfd = open_dir(c, slash ? dup : "", 1);
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST) {
		int r = -errno;
		close(pfd);
		return r;
	}
	close(pfd);
	fd = openat2_beneath(c->rootfd, rel, O_RDONLY | O_DIRECTORY);
	return fd < 0 ? -errno : fd;
}

static int dir_error(struct ctx *c, const char *path, int r)
{
	if (r == -EXDEV || r == -ELOOP)
		return fail(c, -EXDEV, path,
			    "path leads outside the rootfs through a symlink");
	if (r == -ENOTDIR)
		return fail(c, r, path, "a parent is not a directory");
	errno = -r;
	return sm_err_errno(c->err, "%s: %s", c->what, path);
}

/* Removes whatever is at name unless both it and the new entry are
 * directories (then the directory is merged). */
static int clear_slot(int pfd, const char *name, int new_is_dir)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		if (new_is_dir)
			return 1;
		return store_rmtree_at(pfd, name);
	}
	return unlinkat(pfd, name, 0) < 0 ? -errno : 0;
}

/* Ownership, mode, xattrs of a created entry; fd refers to it (or -1 for
 * symlinks and devices, handled through pfd/name). */
static int apply_meta(struct ctx *c, struct archive_entry *e, int pfd,
		      const char *name, int fd)
{
	mode_t mode = archive_entry_mode(e), perm = mode & 07777;
	uid_t uid = archive_entry_uid(e);
	gid_t gid = archive_entry_gid(e);
	const char *xn;
	const void *xv;
	size_t xl;

	if (!c->o->rootless) {
		if (fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	} else if (fd >= 0 && S_ISFIFO(mode)) {
		/* Linux takes user.* xattrs on regular files and directories
		 * only (EPERM): like a symlink's, a FIFO's owner is not
		 * recorded */
		perm |= 0600;
	} else if (fd >= 0) {
		char v[64];
		int n = snprintf(v, sizeof(v), "%u:%u:0%o", (unsigned)uid,
				 (unsigned)gid, (unsigned)mode);
		if (fsetxattr(fd, OCI_OWNER_XATTR, v, n, 0) < 0)
			return -errno;
		/* keep the tree writable and readable for us */
		perm |= S_ISDIR(mode) ? 0700 : 0600;
	}
	if (fd < 0)
		return 0;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &xn, &xv, &xl) == ARCHIVE_OK) {
		if (c->o->rootless && strncmp(xn, "user.", 5))
			continue;
		if (!strcmp(xn, OCI_OWNER_XATTR))
			continue; /* ours; an image does not get to set it */
		/* best effort: not every filesystem takes every namespace */
		(void)!fsetxattr(fd, xn, xv, xl, 0);
	}
	if (fchmod(fd, perm) < 0)
		return -errno;
	if (!S_ISDIR(mode)) {
		struct timespec ts[2] = {
		    {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
		    {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
		};
		futimens(fd, ts);
	}
	return 0;
}

static int write_data(struct ctx *c, struct archive *a, int fd,
		      const char *path, int64_t size)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(a, &buf, &len, &off)) ==
	       ARCHIVE_OK) {
		const char *p = buf;
		while (len) {
			ssize_t w = pwrite(fd, p, len, off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return sm_err_errno(c->err, "%s: write %s",
						    c->what, path);
			}
			p += w;
			off += w;
			len -= w;
		}
	}
	if (r != ARCHIVE_EOF)
		return sm_err(c->err, -EIO, "%s: %s: %s", c->what, path,
			      archive_error_string(a));
	if (ftruncate(fd, size) < 0) /* sparse tail */
		return sm_err_errno(c->err, "%s: %s", c->what, path);
	return 0;
}

static int whiteout(struct ctx *c, const char *dir, const char *name,
		    const char *path)
{
	int pfd, r;
	DIR *d;
	struct dirent *de;

	if (!strcmp(name, ".wh..opq")) {
		pfd = open_dir(c, dir, 1);
		if (pfd < 0)
			return dir_error(c, path, pfd);
		d = fdopendir(pfd);
		if (!d) {
			close(pfd);
			return sm_err_errno(c->err, "%s: %s", c->what, path);
		}
		r = 0;
		while (!r && (de = readdir(d))) {
			char child[PATH_MAX];
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			snprintf(child, sizeof(child), "%s%s%s", dir,
				 *dir ? "/" : "", de->d_name);
			if (!set_has(&c->created, child))
				r = store_rmtree_at(dirfd(d), de->d_name);
		}
		closedir(d);
		return r ? fail(c, r, path, "opaque whiteout failed") : 0;
	}
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return fail(c, -EINVAL, path, "invalid whiteout");
	pfd = open_dir(c, dir, 0);
	if (pfd == -ENOENT)
		return 0;
	if (pfd < 0)
		return dir_error(c, path, pfd);
	r = store_rmtree_at(pfd, name);
	close(pfd);
	return r ? fail(c, r, path, "whiteout failed") : 0;
}

static int hardlink(struct ctx *c, int pfd, const char *name, const char *path,
		    const char *target)
{
	_cleanup_free_ char *t = strdup(target);
	char *slash;
	int tfd, r;

	if (!t)
		return -ENOMEM;
	if (clean_path(t) || !*t)
		return fail(c, -EINVAL, path,
			    "hardlink target escapes the rootfs");
	slash = strrchr(t, '/');
	if (slash)
		*slash = '\0';
	tfd = open_dir(c, slash ? t : "", 0);
	if (tfd < 0)
		return tfd == -EXDEV || tfd == -ELOOP
			   ? fail(c, -EXDEV, path,
				  "hardlink target leads outside the rootfs")
			   : fail(c, tfd, path, "hardlink target missing");
	r = clear_slot(pfd, name, 0);
	if (r >= 0 && linkat(tfd, slash ? slash + 1 : t, pfd, name, 0) < 0)
		r = -errno;
	close(tfd);
	if (r < 0)
		return fail(c, r, path, "cannot create hardlink");
	return 0;
}

static int entry(struct ctx *c, struct archive *a, struct archive_entry *e)
{
	_cleanup_free_ char *path = strdup(archive_entry_pathname(e) ?: "");
	_cleanup_close_ int pfd = -1, fd = -1;
	const char *name, *hl = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	int64_t size = archive_entry_size(e);
	char *slash;
	int r;

	if (!path)
		return sm_err(c->err, -ENOMEM, "out of memory");
	if (clean_path(path))
		return fail(c, -EINVAL, archive_entry_pathname(e),
			    "path escapes the rootfs (absolute or \"..\")");
	if (!*path)
		return 0; /* the root itself: keep ours */
	slash = strrchr(path, '/');
	name = slash ? slash + 1 : path;
	if (slash)
		*slash = '\0';
	const char *dir = slash ? path : "";
	char full[PATH_MAX];
	snprintf(full, sizeof(full), "%s%s%s", dir, *dir ? "/" : "", name);
	if (!strncmp(name, ".wh.", 4))
		return whiteout(c, dir, name + 4, full);
	if (size < 0 || (uint64_t)size > c->o->max_entry)
		return fail(c, -EFBIG, full, "file size exceeds the limit");
	c->total += size;
	if (c->total > c->o->max_total)
		return fail(c, -EFBIG, full, "layer size exceeds the limit");
	pfd = open_dir(c, dir, 1);
	if (pfd < 0)
		return dir_error(c, full, pfd);
	if (set_add(&c->created, full))
		return sm_err(c->err, -ENOMEM, "out of memory");
	if (hl)
		return hardlink(c, pfd, name, full, hl);
	r = clear_slot(pfd, name, type == AE_IFDIR);
	if (r < 0)
		return fail(c, r, full, "cannot replace existing entry");
	switch (type) {
	case AE_IFDIR:
		if (!r && mkdirat(pfd, name, 0700) < 0)
			return sm_err_errno(c->err, "%s: mkdir %s", c->what,
					    full);
		fd = openat(pfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		break;
	case AE_IFREG:
		fd = openat(
		    pfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 && (r = write_data(c, a, fd, full, size)))
			return r;
		break;
	case AE_IFLNK:
		if (symlinkat(archive_entry_symlink(e) ?: "", pfd, name) < 0)
			return sm_err_errno(c->err, "%s: symlink %s", c->what,
					    full);
		r = apply_meta(c, e, pfd, name, -1);
		return r ? fail(c, r, full, "cannot set owner") : 0;
	case AE_IFCHR:
	case AE_IFBLK:
		if (c->o->rootless)
			return fail(c, -EPERM, full,
				    "device node refused without root");
		if (mknodat(pfd, name, archive_entry_mode(e) & (S_IFMT | 0777),
			    makedev(archive_entry_rdevmajor(e),
				    archive_entry_rdevminor(e))) < 0)
			return sm_err_errno(c->err, "%s: mknod %s", c->what,
					    full);
		r = apply_meta(c, e, pfd, name, -1);
		if (!r && fchmodat(pfd, name, archive_entry_perm(e), 0) < 0)
			r = -errno;
		return r ? fail(c, r, full, "cannot set owner or mode") : 0;
	case AE_IFIFO:
		if (mkfifoat(pfd, name, 0600) < 0)
			return sm_err_errno(c->err, "%s: mkfifo %s", c->what,
					    full);
		fd = openat(pfd, name,
			    O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		break;
	default:
		return fail(c, -EINVAL, full, "unsupported file type");
	}
	if (fd < 0)
		return sm_err_errno(c->err, "%s: open %s", c->what, full);
	r = apply_meta(c, e, pfd, name, fd);
	if (r)
		return fail(c, r, full, "cannot set owner, mode or xattrs");
	return 0;
}

int oci_unpack_layer(int rootfd, const char *path, const struct unpack_opts *o,
		     const char *what, struct sm_error *err)
{
	struct ctx c = {.rootfd = rootfd, .o = o, .what = what, .err = err};
	struct archive *a;
	struct archive_entry *e;
	int r = oci_archive_need(err), ar;

	if (r)
		return r;
	a = archive_read_new();
	if (!a)
		return sm_err(err, -ENOMEM, "out of memory");
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK) {
		r = sm_err(err, -EIO, "%s: %s", what, archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
	       ar == ARCHIVE_WARN) {
		r = entry(&c, a, e);
		if (r)
			goto out;
	}
	if (ar != ARCHIVE_EOF)
		r = sm_err(err, -EIO, "%s: corrupt layer: %s", what,
			   archive_error_string(a));
out:
	archive_read_free(a);
	set_free(&c.created);
	return r;
}
