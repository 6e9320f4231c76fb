/*
 * Host side of volumes: bind sources, named and anonymous volume
 * directories under ROOT/volumes, and docker's copy of the image's
 * content into a new (empty) volume. The image is read below its rootfs
 * with RESOLVE_IN_ROOT and entries are never followed: a symlink in the
 * image cannot make us copy host files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "oci/oci.h"
#include "run/volumes.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "volume/volume.h"

#define COPY_DEPTH_MAX 64

struct copy_ctx {
	int chown; /* we are root: give copies the image's owners */
	int owners_in_xattr;
};

/* Owner and mode of an image entry (the xattr wins when unpacked rootless). */
static void image_owner(const struct copy_ctx *c, int fd, const char *name,
			struct stat *st)
{
	char path[64], v[64];
	unsigned uid, gid, mode;
	ssize_t n;

	if (!c->owners_in_xattr)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", fd, name);
	n = lgetxattr(path, OCI_OWNER_XATTR, v, sizeof(v) - 1);
	if (n <= 0)
		return;
	v[n] = '\0';
	if (sscanf(v, "%u:%u:%o", &uid, &gid, &mode) == 3) {
		st->st_uid = uid;
		st->st_gid = gid;
		st->st_mode = (st->st_mode & S_IFMT) | (mode & 07777);
	}
}

static void set_meta(const struct copy_ctx *c, int dfd, const char *name,
		     const struct stat *st)
{
	/* EINVAL: an owner a rootless VMM's user namespace does not map;
	 * the file stays the caller's, with the image's mode */
	if (c->chown &&
	    fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) <
		0 &&
	    errno != EINVAL)
		return;
	if (!S_ISLNK(st->st_mode))
		fchmodat(dfd, name, st->st_mode & 07777, 0);
}

static int copy_file(int sdir, int ddir, const char *name,
		     const struct stat *st)
{
	_cleanup_close_ int in =
	    openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return -errno;
	out = openat(ddir, name,
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     st->st_mode & 0777);
	if (out < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -EIO;
	return n < 0 ? -errno : 0;
}

static int copy_tree(const struct copy_ctx *c, int sdir, int ddir, int depth);

static int copy_entry(const struct copy_ctx *c, int sdir, int ddir,
		      const char *name, int depth)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int ret = 0;

	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	image_owner(c, sdir, name, &st);
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int s = -1, d = -1;

		if (mkdirat(ddir, name, 0700) < 0)
			return -errno;
		s = openat(sdir, name,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		d = openat(ddir, name,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return -errno;
		ret = copy_tree(c, s, d, depth + 1);
	} else if (S_ISREG(st.st_mode)) {
		ret = copy_file(sdir, ddir, name, &st);
	} else if (S_ISLNK(st.st_mode)) {
		n = readlinkat(sdir, name, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, ddir, name) < 0)
			return -errno;
	} else {
		return 0; /* devices, FIFOs, sockets are not copied */
	}
	if (!ret)
		set_meta(c, ddir, name, &st);
	return ret;
}

static int copy_tree(const struct copy_ctx *c, int sdir, int ddir, int depth)
{
	int dup_fd = dup(sdir), ret = 0;
	struct dirent *e;
	DIR *d;

	if (depth > COPY_DEPTH_MAX)
		return -ELOOP;
	if (dup_fd < 0)
		return -errno;
	d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return -errno;
	}
	while (!ret && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		ret = copy_entry(c, sdir, ddir, e->d_name, depth);
	}
	closedir(d);
	return ret;
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return false;
	while (empty && (e = readdir(d)))
		empty =
		    strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Copies rootfs/target (if it is a directory) into an empty dst. */
static int copy_up(const char *rootfs, const char *target, const char *dst,
		   int owners_in_xattr, struct sm_error *err)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			       .resolve =
				   RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	struct copy_ctx c = {.chown = geteuid() == 0,
			     .owners_in_xattr = owners_in_xattr};
	_cleanup_close_ int root =
	    open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int src = -1, d = -1;
	struct stat st;
	int ret;

	if (root < 0)
		return sm_err_errno(err, "image rootfs %s", rootfs);
	src = (int)syscall(SYS_openat2, root, target + 1, &how, sizeof(how));
	if (src < 0)
		return errno == ENOENT || errno == ENOTDIR
			   ? 0
			   : sm_err_errno(err, "image path %s", target);
	d = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return sm_err_errno(err, "volume %s", dst);
	ret = copy_tree(&c, src, d, 0);
	if (ret)
		return sm_err(err, ret, "copy %s from the image into %s: %s",
			      target, dst, strerror(-ret));
	/* the volume's root takes the image directory's owner and mode */
	if (fstat(src, &st) == 0) {
		image_owner(&c, src, ".", &st);
		if (c.chown && fchown(d, st.st_uid, st.st_gid) < 0 &&
		    errno != EINVAL)
			return 0;
		fchmod(d, st.st_mode & 07777);
	}
	return 0;
}

/* What a bind source that cannot be served is, for the message. */
static const char *odd_kind(mode_t mode)
{
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	return "neither a file nor a directory";
}

static int bind_source(struct vol_mount *m, struct sm_error *err)
{
	struct stat st;
	int ret;

	if (stat(m->source, &st) < 0) {
		if (errno != ENOENT || !m->create_host)
			return sm_err_errno(err, "bind source path %s",
					    m->source);
		ret = sm_mkdir_p(m->source, 0755);
		if (ret)
			return sm_err(err, ret, "create bind source %s: %s",
				      m->source, strerror(-ret));
	} else if (S_ISREG(st.st_mode)) {
		/* served alone, in a synthetic root (docs/volumes.md) */
		m->is_file = true;
	} else if (!S_ISDIR(st.st_mode)) {
		return sm_err(err, -EINVAL,
			      "bind source %s is %s: only directories and "
			      "regular files can be mounted",
			      m->source, odd_kind(st.st_mode));
	}
	m->host_dir = realpath(m->source, NULL);
	return m->host_dir ? 0 : sm_err_errno(err, "bind source %s", m->source);
}

/*
 * Copies the image's content into a temporary sibling, then renames it
 * over the empty volume: two runs creating the same named volume at once
 * cannot both copy into it (the loser's rename fails with ENOTEMPTY).
 */
static int fill_new(struct vol_mount *m, const char *rootfs,
		    int owners_in_xattr, struct sm_error *err)
{
	char tmp[PATH_MAX];
	int ret;

	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", m->host_dir, (int)getpid());
	sm_rm_tree(tmp);
	if (mkdir(tmp, 0755) < 0)
		return sm_err_errno(err, "volume %s", tmp);
	ret = copy_up(rootfs, m->target, tmp, owners_in_xattr, err);
	if (!ret && rename(tmp, m->host_dir) < 0) {
		if (errno != ENOTEMPTY && errno != EEXIST)
			ret = sm_err_errno(err, "volume %s", m->host_dir);
	} else if (!ret && (ret = sm_fsync_parent(m->host_dir)) < 0) {
		sm_err(err, ret, "volume %s: sync its directory", m->host_dir);
	}
	sm_rm_tree(tmp);
	return ret;
}

/* For `volume ls` and inspect: made by a run, not by a name (best
 * effort: without it the volume only looks named). */
static void mark_anonymous(const char *dir)
{
	char p[PATH_MAX];
	int fd;

	if ((size_t)snprintf(p, sizeof(p), "%s/" VOLUME_ANON_MARK, dir) >=
	    sizeof(p))
		return;
	fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static int volume_dir(struct vol_mount *m, const char *root, const char *rootfs,
		      int owners_in_xattr, struct sm_error *err)
{
	char id[65];
	unsigned char r[32];
	int ret;

	if (m->type == VOL_ANON) {
		if (getentropy(r, sizeof(r)))
			return sm_err_errno(err, "anonymous volume id");
		for (int i = 0; i < 32; i++)
			sprintf(id + 2 * i, "%02x", r[i]);
	}
	if (asprintf(&m->anon_dir, "%s/volumes/%s", root,
		     m->type == VOL_ANON ? id : m->source) < 0 ||
	    asprintf(&m->host_dir, "%s/_data", m->anon_dir) < 0)
		return sm_err(err, -ENOMEM, "out of memory");
	if (m->type != VOL_ANON) {
		free(m->anon_dir); /* only anonymous ones are ever removed */
		m->anon_dir = NULL;
	}
	ret = sm_mkdir_p(m->host_dir, 0755);
	if (ret)
		return sm_err(err, ret, "volume %s: %s", m->host_dir,
			      strerror(-ret));
	if (m->type == VOL_ANON)
		mark_anonymous(m->anon_dir);
	if (m->no_copy || !dir_empty(m->host_dir))
		return 0;
	return fill_new(m, rootfs, owners_in_xattr, err);
}

int vol_prepare(struct vol_set *set, const char *store_root, const char *rootfs,
		int owners_in_xattr, struct sm_error *err)
{
	for (size_t i = 0; i < set->n; i++) {
		struct vol_mount *m = &set->m[i];
		int ret = 0;

		if (m->type == VOL_BIND)
			ret = bind_source(m, err);
		else if (m->type != VOL_TMPFS)
			ret = volume_dir(m, store_root, rootfs, owners_in_xattr,
					 err);
		if (ret)
			return sm_err_wrap(err, ret, "volume %s", m->target);
	}
	return 0;
}

void vol_remove_anon(struct vol_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->m[i].anon_dir)
			sm_rm_tree(set->m[i].anon_dir);
}
