/*
 * FUSE opcode handlers. Each one parses its fixed-size argument from the
 * bounded body, validates names and numbers, and calls the backend; the
 * generic checks (body size, INIT done, read-only, node id) ran already in
 * dispatch(). Handlers return 0 after writing their reply, or -errno.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fuse/internal.h"

#define IOV_STACK 64
#define DIR_BUF_MAX (1 << 20)

static int need_dir(struct req *r)
{
	return r->node->type == S_IFDIR ? 0 : -ENOTDIR;
}

/* Name argument at *off; validated like the kernel never would send. */
static int take_name(struct req *r, size_t *off, const char **name)
{
	*name = body_str(r, off, NAME_MAX + 1);
	if (!*name)
		return -EINVAL;
	return check_name(*name);
}

/* Puts a new inode reference in the table and replies with its entry. */
static int reply_new(struct req *r, struct fnode *dir, const char *name,
		     void *ino, const struct stat *st)
{
	struct fnode *n;
	int rc = node_enter(r->s, dir, name, ino, st, 0, &n);

	if (rc < 0)
		return rc;
	rc = reply_entry(r, n, st);
	if (rc < 0)
		node_forget(r->s, n->nodeid, 1);
	node_put(r->s, n);
	return rc;
}

/* The handle named fh, referenced; is_dir must match how it was opened. */
static struct fhandle *get_handle(struct req *r, uint64_t fh, int is_dir)
{
	struct fhandle *h = handle_get(r->s, fh);

	if (h && (h->is_dir != is_dir || !h->bfh || !h->node->ino)) {
		handle_put(r->s, h);
		return NULL;
	}
	return h;
}

static int writable(const struct fhandle *h)
{
	return (h->flags & O_ACCMODE) != O_RDONLY;
}

static int op_init(struct req *r)
{
	const struct fuse_init_in *in = (const void *)r->body;
	struct fuse_server *s = r->s;
	struct fuse_init_out o;
	uint32_t want;

	memset(&o, 0, sizeof(o));
	o.major = FUSE_SRV_MAJOR;
	o.minor = FUSE_SRV_MINOR;
	if (in->major < FUSE_SRV_MAJOR)
		return -EPROTO;
	if (in->major > FUSE_SRV_MAJOR) /* the kernel retries with ours */
		return reply_data(r, &o, sizeof(o));
	if (in->minor < FUSE_SRV_MIN_MINOR)
		return -EPROTO;
	if (in->minor < o.minor)
		o.minor = in->minor;
	want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
	       FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS |
	       FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS |
	       FUSE_HANDLE_KILLPRIV_V2 | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS;
	if (s->dax)
		want |= FUSE_MAP_ALIGNMENT;
	o.flags = in->flags & want;
	o.max_readahead = in->max_readahead;
	o.max_background = 64;
	o.congestion_threshold = 48;
	o.max_write = s->max_write;
	o.time_gran = 1;
	o.max_pages = s->max_write / 4096 > 256 ? 256 : s->max_write / 4096;
	if (s->dax)
		o.map_alignment = __builtin_ctz(s->dax_align);
	__atomic_store_n(&s->minor, o.minor, __ATOMIC_RELEASE);
	return reply_data(r, &o, sizeof(o));
}

static int op_destroy(struct req *r)
{
	__atomic_store_n(&r->s->minor, 0, __ATOMIC_RELEASE);
	return 0;
}

static int op_lookup(struct req *r)
{
	const char *name;
	struct stat st;
	size_t off = 0;
	void *ino;
	int rc;

	if ((rc = need_dir(r)) < 0 || (rc = take_name(r, &off, &name)) < 0)
		return rc;
	rc = r->s->ops->lookup(r->s->be, r->node->ino, name, &ino, &st);
	if (rc < 0)
		return rc;
	return reply_new(r, r->node, name, ino, &st);
}

static int op_forget(struct req *r)
{
	const struct fuse_forget_in *in = (const void *)r->body;

	node_forget(r->s, r->h.nodeid, in->nlookup);
	return 0;
}

static int op_batch_forget(struct req *r)
{
	const struct fuse_batch_forget_in *in = (const void *)r->body;
	size_t off = sizeof(r->h) + sizeof(*in);
	size_t avail = (r->h.len - off) / sizeof(struct fuse_forget_one);
	uint32_t cnt = in->count < avail ? in->count : avail;

	for (uint32_t i = 0; i < cnt;
	     i++, off += sizeof(struct fuse_forget_one)) {
		struct fuse_forget_one one;

		if (req_copy_in(r, off, &one, sizeof(one)) < 0)
			break;
		node_forget(r->s, one.nodeid, one.nlookup);
	}
	return 0;
}

static int reply_attr(struct req *r, const struct stat *st)
{
	struct fuse_attr_out o;

	memset(&o, 0, sizeof(o));
	o.attr_valid = r->s->timeout_ms / 1000;
	o.attr_valid_nsec = (r->s->timeout_ms % 1000) * 1000000;
	fill_attr(&o.attr, st);
	return reply_data(r, &o, sizeof(o));
}

static int op_getattr(struct req *r)
{
	struct stat st;
	int rc = r->s->ops->getattr(r->s->be, r->node->ino, &st);

	return rc < 0 ? rc : reply_attr(r, &st);
}

static int take_time(uint64_t sec, uint32_t nsec, struct timespec *ts)
{
	if (nsec >= 1000000000 || sec > (uint64_t)INT64_MAX)
		return -EINVAL;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
	return 0;
}

int setattr_at(struct req *r, struct fnode *n, void *bfh,
	       const struct fuse_setattr_req *sa, struct stat *st)
{
	char name[NAME_MAX + 1];
	struct fnode *dir = node_place(r->s, n, name, sizeof(name));
	struct fuse_place at = {dir ? dir->ino : NULL, name};
	int rc =
	    r->s->ops->setattr(r->s->be, n->ino, bfh, sa, dir ? &at : NULL, st);

	node_put(r->s, dir);
	return rc;
}

static int link_at(struct req *r, struct fnode *old, const char *newname,
		   void **ino, struct stat *st)
{
	char name[NAME_MAX + 1];
	struct fnode *dir = node_place(r->s, old, name, sizeof(name));
	struct fuse_place at = {dir ? dir->ino : NULL, name};
	int rc = r->s->ops->link(r->s->be, old->ino, dir ? &at : NULL,
				 r->node->ino, newname, ino, st);

	node_put(r->s, dir);
	return rc;
}

static int op_setattr(struct req *r)
{
	const struct fuse_setattr_in *in = (const void *)r->body;
	struct fuse_setattr_req sa;
	struct fhandle *h = NULL;
	struct stat st;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.valid = in->valid;
	sa.mode = in->mode & 07777;
	sa.uid = in->uid;
	sa.gid = in->gid;
	sa.size = in->size;
	if ((sa.valid & FATTR_SIZE) && in->size > (uint64_t)INT64_MAX)
		return -EINVAL;
	if ((sa.valid & FATTR_SIZE) && r->node->type != S_IFREG)
		return r->node->type == S_IFDIR ? -EISDIR : -EINVAL;
	if (sa.valid & FATTR_ATIME_NOW)
		sa.atime.tv_nsec = UTIME_NOW;
	else if ((sa.valid & FATTR_ATIME) &&
		 take_time(in->atime, in->atimensec, &sa.atime) < 0)
		return -EINVAL;
	if (sa.valid & FATTR_MTIME_NOW)
		sa.mtime.tv_nsec = UTIME_NOW;
	else if ((sa.valid & FATTR_MTIME) &&
		 take_time(in->mtime, in->mtimensec, &sa.mtime) < 0)
		return -EINVAL;
	if (sa.valid & FATTR_FH) {
		h = get_handle(r, in->fh, 0);
		if (!h || h->node != r->node) {
			handle_put(r->s, h);
			return -EBADF;
		}
	}
	rc = setattr_at(r, r->node, h ? h->bfh : NULL, &sa, &st);
	handle_put(r->s, h);
	return rc < 0 ? rc : reply_attr(r, &st);
}

static int op_readlink(struct req *r)
{
	char buf[PATH_MAX];
	int n;

	if (r->node->type != S_IFLNK)
		return -EINVAL;
	n = r->s->ops->readlink(r->s->be, r->node->ino, buf, sizeof(buf));
	if (n < 0)
		return n;
	return reply_data(r, buf,
			  (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf));
}

static int make_node(struct req *r, const char *name, mode_t mode, dev_t rdev,
		     const char *target)
{
	struct stat st;
	void *ino;
	int rc;

	if (nodes_full(r->s))
		return -ENFILE; /* before anything is made on the host */
	rc = r->s->ops->mknod(r->s->be, r->node->ino, name, mode, rdev, target,
			      &r->ctx, &ino, &st);
	if (rc < 0)
		return rc;
	return reply_new(r, r->node, name, ino, &st);
}

static int op_symlink(struct req *r)
{
	const char *name, *target;
	size_t off = 0;
	int rc;

	if ((rc = need_dir(r)) < 0 || (rc = take_name(r, &off, &name)) < 0)
		return rc;
	target = body_str(r, &off, PATH_MAX - 1);
	if (!target || !target[0])
		return -EINVAL;
	return make_node(r, name, S_IFLNK | 0777, 0, target);
}

static int op_mknod(struct req *r)
{
	const struct fuse_mknod_in *in = (const void *)r->body;
	size_t off = sizeof(*in);
	const char *name;
	int rc;

	if ((rc = need_dir(r)) < 0 || (rc = take_name(r, &off, &name)) < 0)
		return rc;
	rc = policy_mknod(r->s, in->mode); /* never a device node */
	if (rc < 0)
		return rc;
	r->ctx.umask = in->umask;
	return make_node(r, name, in->mode & (S_IFMT | 07777), 0, NULL);
}

static int op_mkdir(struct req *r)
{
	const struct fuse_mkdir_in *in = (const void *)r->body;
	size_t off = sizeof(*in);
	const char *name;
	int rc;

	if ((rc = need_dir(r)) < 0 || (rc = take_name(r, &off, &name)) < 0)
		return rc;
	r->ctx.umask = in->umask;
	return make_node(r, name, S_IFDIR | (in->mode & 07777), 0, NULL);
}

static int op_unlink(struct req *r)
{
	const char *name;
	size_t off = 0;
	int rc;

	if ((rc = need_dir(r)) < 0 || (rc = take_name(r, &off, &name)) < 0)
		return rc;
	if (r->h.opcode == FUSE_RMDIR)
		return r->s->ops->rmdir(r->s->be, r->node->ino, name);
	return r->s->ops->unlink(r->s->be, r->node->ino, name);
}

static int do_rename(struct req *r, size_t off, uint64_t newdir, uint32_t flags)
{
	const char *name, *newname;
	struct fnode *nd;
	int rc;

	if ((rc = need_dir(r)) < 0 || (rc = take_name(r, &off, &name)) < 0 ||
	    (rc = take_name(r, &off, &newname)) < 0)
		return rc;
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL; /* RENAME_WHITEOUT would make a device node */
	nd = node_get(r->s, newdir);
	if (!nd)
		return -ENOENT;
	if (!nd->ino || nd->type != S_IFDIR) {
		node_put(r->s, nd);
		return nd->ino ? -ENOTDIR : -ESTALE;
	}
	rc = r->s->ops->rename(r->s->be, r->node->ino, name, nd->ino, newname,
			       flags);
	if (rc == 0) {
		node_moved(r->s, r->node, name, nd, newname);
		if (flags & RENAME_EXCHANGE)
			node_moved(r->s, nd, newname, r->node, name);
	}
	node_put(r->s, nd);
	return rc;
}

static int op_rename(struct req *r)
{
	const struct fuse_rename_in *in = (const void *)r->body;

	return do_rename(r, sizeof(*in), in->newdir, 0);
}

static int op_rename2(struct req *r)
{
	const struct fuse_rename2_in *in = (const void *)r->body;

	return do_rename(r, sizeof(*in), in->newdir, in->flags);
}

static int op_link(struct req *r)
{
	const struct fuse_link_in *in = (const void *)r->body;
	size_t off = sizeof(*in);
	const char *name;
	struct fnode *old;
	struct stat st;
	void *ino;
	int rc;

	if ((rc = need_dir(r)) < 0 || (rc = take_name(r, &off, &name)) < 0)
		return rc;
	old = node_get(r->s, in->oldnodeid);
	if (!old)
		return -ENOENT;
	if (!old->ino)
		rc = -ESTALE;
	else if (old->type == S_IFDIR)
		rc = -EPERM;
	else
		rc = link_at(r, old, name, &ino, &st);
	node_put(r->s, old);
	return rc < 0 ? rc : reply_new(r, r->node, name, ino, &st);
}

static int reply_open(struct req *r, struct fhandle *h)
{
	struct fuse_open_out o;

	memset(&o, 0, sizeof(o));
	o.fh = h->fh;
	return reply_data(r, &o, sizeof(o));
}

/* Open flags a guest may pass on; creation flags come from CREATE only. */
static int open_flags(struct req *r, uint32_t flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT);
	if (r->s->read_only &&
	    ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	return (int)(flags & ~(uint32_t)O_CLOEXEC);
}

static int op_open(struct req *r)
{
	const struct fuse_open_in *in = (const void *)r->body;
	int is_dir = r->h.opcode == FUSE_OPENDIR;
	struct fhandle *h;
	void *bfh;
	int flags, rc;

	if (is_dir && r->node->type != S_IFDIR)
		return -ENOTDIR;
	if (!is_dir && r->node->type == S_IFDIR)
		return -EISDIR;
	flags = is_dir ? O_RDONLY | O_DIRECTORY : open_flags(r, in->flags);
	if (flags < 0)
		return flags;
	if (handles_full(r->s))
		return -EMFILE; /* before O_TRUNC truncates anything */
	rc = r->s->ops->open(r->s->be, r->node->ino, flags, &bfh);
	if (rc < 0)
		return rc;
	if (!is_dir && (flags & O_TRUNC) &&
	    (in->open_flags & FUSE_OPEN_KILL_SUIDGID))
		policy_kill_priv(r, r->node, bfh);
	rc = handle_new(r->s, r->node, bfh, flags, is_dir, 0, &h);
	if (rc < 0) {
		r->s->ops->release(r->s->be, r->node->ino, bfh);
		return rc;
	}
	rc = reply_open(r, h);
	if (rc < 0)
		handle_close(r->s, h->fh, is_dir);
	return rc;
}

static int op_create(struct req *r)
{
	const struct fuse_create_in *in = (const void *)r->body;
	size_t off = sizeof(*in);
	struct fuse_entry_out e;
	struct fhandle *h;
	const char *name;
	struct fnode *n;
	struct stat st;
	void *ino, *bfh;
	int flags, rc;

	if ((rc = need_dir(r)) < 0 || (rc = take_name(r, &off, &name)) < 0)
		return rc;
	flags = open_flags(r, in->flags);
	if (flags < 0)
		return flags;
	r->ctx.umask = in->umask;
	if (handles_full(r->s))
		return -EMFILE; /* before the file is made on the host */
	if (nodes_full(r->s))
		return -ENFILE;
	rc = r->s->ops->create(
	    r->s->be, r->node->ino, name, S_IFREG | (in->mode & 07777),
	    flags | (in->flags & O_EXCL), &r->ctx, &ino, &st, &bfh);
	if (rc < 0)
		return rc;
	rc = node_enter(r->s, r->node, name, ino, &st, 0, &n);
	if (rc < 0) {
		/* ino is gone; bfh holds its own reference (as before) */
		r->s->ops->release(r->s->be, ino, bfh);
		return rc;
	}
	/* the file may have been there already (O_CREAT without O_EXCL) */
	if ((flags & O_TRUNC) && (in->open_flags & FUSE_OPEN_KILL_SUIDGID))
		policy_kill_priv(r, n, bfh);
	rc = handle_new(r->s, n, bfh, flags, 0, 0, &h);
	if (rc < 0) {
		r->s->ops->release(r->s->be, n->ino, bfh);
	} else {
		entry_out(r->s, &e, n, &st);
		rc = reply_data(r, &e, sizeof(e));
		if (rc == 0)
			rc = reply_open(r, h);
		if (rc < 0)
			handle_close(r->s, h->fh, 0);
	}
	if (rc < 0)
		node_forget(r->s, n->nodeid, 1);
	node_put(r->s, n);
	return rc;
}

static int op_read(struct req *r)
{
	const struct fuse_read_in *in = (const void *)r->body;
	struct iovec stack[IOV_STACK], *iov = stack;
	size_t size = in->size < r->out_cap ? in->size : r->out_cap;
	struct fhandle *h;
	ssize_t n;
	int cnt;

	if (in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	h = get_handle(r, in->fh, 0);
	if (!h)
		return -EBADF;
	if (r->out_cnt > IOV_STACK) {
		iov = calloc(r->out_cnt < IOV_MAX ? r->out_cnt : IOV_MAX,
			     sizeof(*iov));
		if (!iov) {
			handle_put(r->s, h);
			return -ENOMEM;
		}
	}
	cnt = out_iov(r, 0, size, iov,
		      iov == stack
			  ? IOV_STACK
			  : (r->out_cnt < IOV_MAX ? r->out_cnt : IOV_MAX));
	n = (h->flags & O_ACCMODE) == O_WRONLY
		? -EBADF
		: r->s->ops->read(r->s->be, h->node->ino, h->bfh, iov, cnt,
				  (off_t)in->offset);
	if (iov != stack)
		free(iov);
	handle_put(r->s, h);
	if (n < 0)
		return (int)n;
	r->out_len = (size_t)n <= size ? (size_t)n : size;
	return 0;
}

static int op_write(struct req *r)
{
	const struct fuse_write_in *in = (const void *)r->body;
	size_t off = sizeof(r->h) + sizeof(*in);
	struct fuse_write_out o;
	struct fhandle *h;
	struct iovec iov;
	ssize_t n;

	/* the kernel never sends more than the max_write INIT agreed */
	if (in->size > r->h.len - off || in->size > r->s->max_write ||
	    in->offset > (uint64_t)INT64_MAX ||
	    in->offset + in->size > (uint64_t)INT64_MAX)
		return -EINVAL;
	h = get_handle(r, in->fh, 0);
	if (!h)
		return -EBADF;
	if (!writable(h)) {
		handle_put(r->s, h);
		return -EBADF;
	}
	/*
	 * The payload is copied into host memory before the backend sees it
	 * (docs/security.md: no pointer into guest memory reaches a syscall):
	 * another vCPU rewriting it mid-write changes nothing we act on. The
	 * copy is bounded by max_write.
	 */
	iov.iov_len = in->size;
	iov.iov_base = malloc(in->size ? in->size : 1);
	if (!iov.iov_base) {
		handle_put(r->s, h);
		return -ENOMEM;
	}
	n = req_copy_in(r, off, iov.iov_base, in->size);
	if (n == 0)
		n = r->s->ops->write(r->s->be, h->node->ino, h->bfh, &iov, 1,
				     (off_t)in->offset,
				     (in->write_flags & FUSE_WRITE_KILL_SUIDGID)
					 ? FUSE_BE_KILL_PRIV
					 : 0);
	free(iov.iov_base);
	handle_put(r->s, h);
	if (n < 0)
		return (int)n;
	memset(&o, 0, sizeof(o));
	o.size = (uint32_t)n;
	return reply_data(r, &o, sizeof(o));
}

static int op_statfs(struct req *r)
{
	struct fuse_statfs_out o;
	struct statvfs sv;
	int rc = r->s->ops->statfs(r->s->be, r->node->ino, &sv);

	if (rc < 0)
		return rc;
	memset(&o, 0, sizeof(o));
	o.st.blocks = sv.f_blocks;
	o.st.bfree = sv.f_bfree;
	o.st.bavail = sv.f_bavail;
	o.st.files = sv.f_files;
	o.st.ffree = sv.f_ffree;
	o.st.bsize = sv.f_bsize;
	o.st.namelen = sv.f_namemax;
	o.st.frsize = sv.f_frsize;
	return reply_data(r, &o, sizeof(o));
}

static int op_release(struct req *r)
{
	const struct fuse_release_in *in = (const void *)r->body;

	return handle_close(r->s, in->fh, r->h.opcode == FUSE_RELEASEDIR);
}

static int op_fsync(struct req *r)
{
	const struct fuse_fsync_in *in = (const void *)r->body;
	int is_dir = r->h.opcode == FUSE_FSYNCDIR;
	struct fhandle *h = get_handle(r, in->fh, is_dir);
	int rc;

	if (!h)
		return -EBADF;
	rc = r->s->ops->fsync(r->s->be, h->node->ino, h->bfh,
			      in->fsync_flags & 1);
	handle_put(r->s, h);
	return rc;
}

static int op_flush(struct req *r)
{
	const struct fuse_flush_in *in = (const void *)r->body;
	struct fhandle *h = get_handle(r, in->fh, 0);

	handle_put(r->s, h);
	return h ? 0 : -EBADF;
}

static int take_xattr_name(struct req *r, size_t *off, const char **name)
{
	*name = body_str(r, off, XATTR_NAME_MAX + 1);
	if (!*name || !(*name)[0])
		return -EINVAL;
	return strlen(*name) > XATTR_NAME_MAX ? -ERANGE : 0;
}

static int op_setxattr(struct req *r)
{
	/* FUSE_SETXATTR_EXT is not negotiated: the 8-byte compat header */
	const struct fuse_setxattr_in *in = (const void *)r->body;
	size_t off = FUSE_COMPAT_SETXATTR_IN_SIZE;
	const void *value;
	const char *name;
	int rc;

	if ((rc = take_xattr_name(r, &off, &name)) < 0 ||
	    (rc = policy_xattr(r->s, name)) < 0)
		return rc;
	if (in->size > XATTR_SIZE_MAX)
		return -E2BIG;
	if (in->flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	value = body_take(r, &off, in->size);
	if (!value)
		return -EINVAL;
	return r->s->ops->setxattr(r->s->be, r->node->ino, name, value,
				   in->size, (int)in->flags);
}

/* GETXATTR and LISTXATTR: size 0 asks for the needed size. */
static int xattr_reply(struct req *r, const char *name, uint32_t size)
{
	void *be = r->s->be, *ino = r->node->ino;
	struct fuse_getxattr_out o;
	char *buf = NULL;
	ssize_t n;
	int rc;

	if (size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;
	if (size && !(buf = malloc(size)))
		return -ENOMEM;
	n = name ? r->s->ops->getxattr(be, ino, name, buf, size)
		 : r->s->ops->listxattr(be, ino, buf, size);
	if (n < 0) {
		rc = (int)n;
	} else if (size == 0) {
		memset(&o, 0, sizeof(o));
		o.size = (uint32_t)n;
		rc = reply_data(r, &o, sizeof(o));
	} else {
		rc = (size_t)n > size ? -ERANGE : reply_data(r, buf, n);
	}
	free(buf);
	return rc;
}

static int op_getxattr(struct req *r)
{
	const struct fuse_getxattr_in *in = (const void *)r->body;
	size_t off = sizeof(*in);
	const char *name;
	int rc = take_xattr_name(r, &off, &name);

	return rc < 0 ? rc : xattr_reply(r, name, in->size);
}

static int op_listxattr(struct req *r)
{
	const struct fuse_getxattr_in *in = (const void *)r->body;

	return xattr_reply(r, NULL, in->size);
}

static int op_removexattr(struct req *r)
{
	const char *name;
	size_t off = 0;
	int rc = take_xattr_name(r, &off, &name);

	if (rc == 0)
		rc = policy_xattr(r->s, name);
	return rc < 0 ? rc
		      : r->s->ops->removexattr(r->s->be, r->node->ino, name);
}

struct dirfill {
	struct req *r;
	struct fhandle *h;
	uint8_t *buf;
	size_t used, size;
	int plus;
};

static int fill_one(void *arg, const char *name, size_t namelen, uint64_t ino,
		    unsigned type, uint64_t next_off)
{
	struct dirfill *f = arg;
	size_t hdr = f->plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	size_t rec = FUSE_DIRENT_ALIGN(hdr + namelen);
	struct fuse_dirent *d;
	struct stat st;
	void *bino;

	if (namelen == 0 || namelen > NAME_MAX || memchr(name, '/', namelen))
		return 0; /* never pass such a name on */
	if (rec > f->size - f->used)
		return 1;
	memset(f->buf + f->used, 0, rec);
	if (f->plus) {
		struct fuse_direntplus *dp = (void *)(f->buf + f->used);
		int dots = name[0] == '.' &&
			   (namelen == 1 || (namelen == 2 && name[1] == '.'));
		char cname[NAME_MAX + 1];

		memcpy(cname, name, namelen);
		cname[namelen] = 0;
		/* "." and ".." get no node: the kernel does not count them */
		if (!dots && f->r->s->ops->lookup(f->r->s->be, f->h->node->ino,
						  cname, &bino, &st) == 0) {
			struct fnode *n;

			/* over the node cap: no entry, the kernel's LOOKUP
			 * gets the error */
			if (node_enter(f->r->s, f->h->node, cname, bino, &st, 0,
				       &n) == 0) {
				entry_out(f->r->s, &dp->entry_out, n, &st);
				node_put(f->r->s, n);
			}
		}
		d = &dp->dirent;
	} else {
		d = (void *)(f->buf + f->used);
	}
	d->ino = ino;
	d->off = next_off;
	d->namelen = (uint32_t)namelen;
	d->type = type;
	memcpy(d->name, name, namelen);
	f->used += rec;
	return 0;
}

static int op_readdir(struct req *r)
{
	const struct fuse_read_in *in = (const void *)r->body;
	struct dirfill f = {.r = r, .plus = r->h.opcode == FUSE_READDIRPLUS};
	int rc;

	f.size = in->size < r->out_cap ? in->size : r->out_cap;
	if (f.size > DIR_BUF_MAX)
		f.size = DIR_BUF_MAX;
	f.h = get_handle(r, in->fh, 1);
	if (!f.h)
		return -EBADF;
	f.buf = malloc(f.size ? f.size : 1);
	if (!f.buf) {
		handle_put(r->s, f.h);
		return -ENOMEM;
	}
	rc = r->s->ops->readdir(r->s->be, f.h->node->ino, f.h->bfh, in->offset,
				fill_one, &f);
	if (rc >= 0 || f.used)
		rc = reply_data(r, f.buf, f.used);
	free(f.buf);
	handle_put(r->s, f.h);
	return rc;
}

static int op_access(struct req *r)
{
	const struct fuse_access_in *in = (const void *)r->body;
	unsigned mask = in->mask & 7, bits;
	struct stat st;
	int rc;

	if (in->mask & ~7u)
		return -EINVAL;
	if ((mask & W_OK) && r->s->read_only)
		return -EROFS;
	rc = r->s->ops->getattr(r->s->be, r->node->ino, &st);
	if (rc < 0 || mask == F_OK)
		return rc;
	if (r->ctx.uid == 0) /* root: x needs some x bit, except on dirs */
		return (mask & X_OK) && !S_ISDIR(st.st_mode) &&
			       !(st.st_mode & 0111)
			   ? -EACCES
			   : 0;
	if (st.st_uid == r->ctx.uid)
		bits = (st.st_mode >> 6) & 7;
	else if (st.st_gid == r->ctx.gid)
		bits = (st.st_mode >> 3) & 7;
	else
		bits = st.st_mode & 7;
	return (bits & mask) == mask ? 0 : -EACCES;
}

static int op_fallocate(struct req *r)
{
	const struct fuse_fallocate_in *in = (const void *)r->body;
	struct fhandle *h;
	int rc;

	if (in->offset > (uint64_t)INT64_MAX || in->length == 0 ||
	    in->length > (uint64_t)INT64_MAX - in->offset)
		return -EINVAL;
	h = get_handle(r, in->fh, 0);
	if (!h)
		return -EBADF;
	rc = -EBADF;
	if (writable(h)) {
		policy_kill_priv_unflagged(r, h->node, h->bfh);
		rc = r->s->ops->fallocate(r->s->be, h->node->ino, h->bfh,
					  (int)in->mode, (off_t)in->offset,
					  (off_t)in->length);
	}
	handle_put(r->s, h);
	return rc;
}

static int op_lseek(struct req *r)
{
	const struct fuse_lseek_in *in = (const void *)r->body;
	struct fuse_lseek_out o;
	struct fhandle *h;
	off_t pos;

	if ((in->whence != SEEK_DATA && in->whence != SEEK_HOLE) ||
	    in->offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	h = get_handle(r, in->fh, 0);
	if (!h)
		return -EBADF;
	pos = r->s->ops->lseek(r->s->be, h->node->ino, h->bfh,
			       (off_t)in->offset, (int)in->whence);
	handle_put(r->s, h);
	if (pos < 0)
		return (int)pos;
	memset(&o, 0, sizeof(o));
	o.offset = (uint64_t)pos;
	return reply_data(r, &o, sizeof(o));
}

static int op_copy_file_range(struct req *r)
{
	const struct fuse_copy_file_range_in *in = (const void *)r->body;
	struct fhandle *hi, *ho = NULL;
	struct fuse_write_out o;
	size_t len = in->len < (1u << 30) ? in->len : (1u << 30);
	ssize_t n;

	if (in->flags || in->off_in > (uint64_t)INT64_MAX - len ||
	    in->off_out > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	hi = get_handle(r, in->fh_in, 0);
	if (hi)
		ho = get_handle(r, in->fh_out, 0);
	if (!hi || !ho || ho->node->nodeid != in->nodeid_out ||
	    (hi->flags & O_ACCMODE) == O_WRONLY || !writable(ho))
		n = -EBADF;
	else {
		policy_kill_priv_unflagged(r, ho->node, ho->bfh);
		n = r->s->ops->copy_file_range(
		    r->s->be, hi->node->ino, hi->bfh, (off_t)in->off_in,
		    ho->node->ino, ho->bfh, (off_t)in->off_out, len, 0);
	}
	handle_put(r->s, hi);
	handle_put(r->s, ho);
	if (n < 0)
		return (int)n;
	memset(&o, 0, sizeof(o));
	o.size = (uint32_t)n;
	return reply_data(r, &o, sizeof(o));
}

#define OP(code, fn, in, fl) [code] = {#code + 5, fn, in, fl}
#define N OPF_NODE
#define W OPF_WRITES

const struct fuse_opdesc fuse_ops_table[FUSE_OP_MAX] = {
    OP(FUSE_INIT, op_init, 16, OPF_PREINIT),
    OP(FUSE_DESTROY, op_destroy, 0, 0),
    OP(FUSE_LOOKUP, op_lookup, 1, N),
    OP(FUSE_FORGET, op_forget, sizeof(struct fuse_forget_in),
       OPF_NOREPLY | OPF_PREINIT),
    OP(FUSE_BATCH_FORGET, op_batch_forget, sizeof(struct fuse_batch_forget_in),
       OPF_NOREPLY | OPF_PREINIT),
    OP(FUSE_GETATTR, op_getattr, sizeof(struct fuse_getattr_in), N),
    OP(FUSE_SETATTR, op_setattr, sizeof(struct fuse_setattr_in), N | W),
    OP(FUSE_READLINK, op_readlink, 0, N),
    OP(FUSE_SYMLINK, op_symlink, 3, N | W),
    OP(FUSE_MKNOD, op_mknod, sizeof(struct fuse_mknod_in) + 1, N | W),
    OP(FUSE_MKDIR, op_mkdir, sizeof(struct fuse_mkdir_in) + 1, N | W),
    OP(FUSE_UNLINK, op_unlink, 1, N | W),
    OP(FUSE_RMDIR, op_unlink, 1, N | W),
    OP(FUSE_RENAME, op_rename, sizeof(struct fuse_rename_in) + 2, N | W),
    OP(FUSE_RENAME2, op_rename2, sizeof(struct fuse_rename2_in) + 2, N | W),
    OP(FUSE_LINK, op_link, sizeof(struct fuse_link_in) + 1, N | W),
    OP(FUSE_OPEN, op_open, sizeof(struct fuse_open_in), N),
    OP(FUSE_READ, op_read, sizeof(struct fuse_read_in), 0),
    OP(FUSE_WRITE, op_write, sizeof(struct fuse_write_in), W),
    OP(FUSE_STATFS, op_statfs, 0, N),
    OP(FUSE_RELEASE, op_release, sizeof(struct fuse_release_in), 0),
    OP(FUSE_FSYNC, op_fsync, sizeof(struct fuse_fsync_in), 0),
    OP(FUSE_SETXATTR, op_setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE + 1, N | W),
    OP(FUSE_GETXATTR, op_getxattr, sizeof(struct fuse_getxattr_in) + 1, N),
    OP(FUSE_LISTXATTR, op_listxattr, sizeof(struct fuse_getxattr_in), N),
    OP(FUSE_REMOVEXATTR, op_removexattr, 1, N | W),
    OP(FUSE_FLUSH, op_flush, sizeof(struct fuse_flush_in), 0),
    OP(FUSE_OPENDIR, op_open, sizeof(struct fuse_open_in), N),
    OP(FUSE_READDIR, op_readdir, sizeof(struct fuse_read_in), 0),
    OP(FUSE_READDIRPLUS, op_readdir, sizeof(struct fuse_read_in), 0),
    OP(FUSE_RELEASEDIR, op_release, sizeof(struct fuse_release_in), 0),
    OP(FUSE_FSYNCDIR, op_fsync, sizeof(struct fuse_fsync_in), 0),
    OP(FUSE_ACCESS, op_access, sizeof(struct fuse_access_in), N),
    OP(FUSE_CREATE, op_create, sizeof(struct fuse_create_in) + 1, N | W),
    OP(FUSE_FALLOCATE, op_fallocate, sizeof(struct fuse_fallocate_in), W),
    OP(FUSE_LSEEK, op_lseek, sizeof(struct fuse_lseek_in), 0),
    OP(FUSE_COPY_FILE_RANGE, op_copy_file_range,
       sizeof(struct fuse_copy_file_range_in), W),
    OP(FUSE_SETUPMAPPING, dax_setup, sizeof(struct fuse_setupmapping_in), N),
    OP(FUSE_REMOVEMAPPING, dax_remove, sizeof(struct fuse_removemapping_in), 0),
};

static const char *const extra_names[FUSE_OP_MAX] = {
    [FUSE_GETLK] = "GETLK",   [FUSE_SETLK] = "SETLK",
    [FUSE_SETLKW] = "SETLKW", [FUSE_INTERRUPT] = "INTERRUPT",
    [FUSE_BMAP] = "BMAP",     [FUSE_IOCTL] = "IOCTL",
    [FUSE_POLL] = "POLL",     [FUSE_NOTIFY_REPLY] = "NOTIFY_REPLY",
    [FUSE_SYNCFS] = "SYNCFS", [FUSE_TMPFILE] = "TMPFILE",
};

const char *fuse_opname(uint32_t op)
{
	if (op < FUSE_OP_MAX && fuse_ops_table[op].name)
		return fuse_ops_table[op].name;
	if (op < FUSE_OP_MAX && extra_names[op])
		return extra_names[op];
	return "UNKNOWN";
}
