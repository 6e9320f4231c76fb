/*
 * In-memory backend, used by tests (and usable as a scratch share). Regular
 * file data lives in a memfd per file so that reads and writes take the
 * same preadv/pwritev path as the passthrough backend and DAX can map it.
 * One mutex guards the tree; it is never held while calling back into the
 * server (readdir copies entries out first).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/fuse.h>

#include "fuse/fuse_server.h"
#include "memfs.h"
#include "util/error.h"

#define MEMFS_MAX_FILE (1ULL << 32) /* 4 GiB sparse files are fine */
#define MEMFS_MAX_ALLOC (64ULL << 20)
#define MEMFS_MAX_XATTRS 64
#define READDIR_BATCH 1024

struct mxattr {
	char *name;
	void *value;
	size_t size;
};

struct ment {
	char *name;
	struct mnode *n;
	uint64_t cookie;
};

struct mnode {
	uint64_t ino;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	nlink_t nlink;
	struct timespec atime, mtime, ctime;
	int fd;	      /* regular files: memfd */
	char *target; /* symlinks */
	struct ment *ents;
	size_t nents, cap;
	uint64_t next_cookie;
	struct mnode *parent; /* directories: for ".." */
	struct mxattr *xattrs;
	size_t nx;
	uint64_t refs; /* backend references: inode refs and handles */
};

struct memfs {
	pthread_mutex_t lock;
	struct mnode *root;
	uint64_t next_ino;
};

struct mhandle {
	struct mnode *n;
	int flags;
};

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static void free_node(struct mnode *n)
{
	if (n->fd >= 0)
		close(n->fd);
	free(n->target);
	for (size_t i = 0; i < n->nx; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	free(n->ents);
	free(n);
}

/* Drops one reference (with the lock); frees unlinked, unused nodes. */
static void unref(struct mnode *n)
{
	if (--n->refs == 0 && n->nlink == 0)
		free_node(n);
}

static struct mnode *new_node(struct memfs *m, mode_t mode,
			      const struct fuse_ctx *c, struct mnode *dir)
{
	struct mnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->fd = -1;
	if (S_ISREG(mode)) {
		n->fd = memfd_create("memfs", MFD_CLOEXEC);
		if (n->fd < 0) {
			free(n);
			return NULL;
		}
	}
	n->ino = m->next_ino++;
	n->mode = mode;
	n->uid = c ? c->uid : 0;
	n->gid = c ? c->gid : 0;
	if (dir && (dir->mode & S_ISGID)) {
		n->gid = dir->gid;
		if (S_ISDIR(mode))
			n->mode |= S_ISGID;
	}
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	n->next_cookie = 3; /* 1 and 2 are "." and ".." */
	now(&n->atime);
	n->mtime = n->ctime = n->atime;
	return n;
}

static int stat_node(struct mnode *n, struct stat *st)
{
	struct stat fst;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_blksize = 4096;
	st->st_atim = n->atime;
	st->st_mtim = n->mtime;
	st->st_ctim = n->ctime;
	if (n->fd >= 0 && fstat(n->fd, &fst) == 0) {
		st->st_size = fst.st_size;
		st->st_blocks = fst.st_blocks;
	} else if (n->target) {
		st->st_size = strlen(n->target);
	} else if (S_ISDIR(n->mode)) {
		st->st_size = 4096;
	}
	return 0;
}

static struct ment *find(struct mnode *dir, const char *name)
{
	for (size_t i = 0; i < dir->nents; i++)
		if (strcmp(dir->ents[i].name, name) == 0)
			return &dir->ents[i];
	return NULL;
}

static int add_ent(struct mnode *dir, const char *name, struct mnode *n)
{
	struct ment *e;

	if (dir->nents == dir->cap) {
		size_t cap = dir->cap ? dir->cap * 2 : 8;

		e = realloc(dir->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		dir->ents = e;
		dir->cap = cap;
	}
	e = &dir->ents[dir->nents];
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	e->n = n;
	e->cookie = dir->next_cookie++;
	dir->nents++;
	now(&dir->mtime);
	dir->ctime = dir->mtime;
	return 0;
}

/* Removes the entry (keeps cookie order) and drops the link. */
static void del_ent(struct mnode *dir, struct ment *e)
{
	struct mnode *n = e->n;
	size_t i = (size_t)(e - dir->ents);

	free(e->name);
	memmove(e, e + 1, (dir->nents - i - 1) * sizeof(*e));
	dir->nents--;
	now(&dir->mtime);
	dir->ctime = dir->mtime;
	n->ctime = dir->mtime;
	if (S_ISDIR(n->mode)) {
		n->nlink = 0;
		dir->nlink--;
	} else {
		n->nlink--;
	}
	if (n->nlink == 0 && n->refs == 0)
		free_node(n);
}

int fuse_memfs_new(void **be, struct sm_error *err)
{
	struct memfs *m = calloc(1, sizeof(*m));

	if (!m)
		return sm_err(err, -ENOMEM, "memfs");
	pthread_mutex_init(&m->lock, NULL);
	m->next_ino = 1;
	m->root = new_node(m, S_IFDIR | 0755, NULL, NULL);
	if (!m->root) {
		free(m);
		return sm_err(err, -ENOMEM, "memfs root");
	}
	m->root->parent = m->root;
	m->root->refs = 1; /* the backend's own */
	*be = m;
	return 0;
}

static void free_tree(struct mnode *n)
{
	for (size_t i = 0; i < n->nents; i++) {
		struct mnode *c = n->ents[i].n;

		free(n->ents[i].name);
		if (S_ISDIR(c->mode))
			free_tree(c);
		else if (--c->nlink == 0)
			free_node(c);
	}
	n->nents = 0;
	free_node(n);
}

static void m_destroy(void *be)
{
	struct memfs *m = be;

	free_tree(m->root);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static void *m_root(void *be)
{
	struct memfs *m = be;

	pthread_mutex_lock(&m->lock);
	m->root->refs++;
	pthread_mutex_unlock(&m->lock);
	return m->root;
}

static int m_lookup(void *be, void *dir, const char *name, void **ino,
		    struct stat *st)
{
	struct memfs *m = be;
	struct mnode *d = dir;
	struct ment *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&m->lock);
	if (!S_ISDIR(d->mode)) {
		rc = -ENOTDIR;
	} else if (d->nlink && (e = find(d, name))) {
		e->n->refs++;
		*ino = e->n;
		rc = stat_node(e->n, st);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void m_forget(void *be, void *ino)
{
	struct memfs *m = be;

	pthread_mutex_lock(&m->lock);
	unref(ino);
	pthread_mutex_unlock(&m->lock);
}

static int m_getattr(void *be, void *ino, struct stat *st)
{
	struct memfs *m = be;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = stat_node(ino, st);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Like the kernel: setuid always, setgid when group-executable. */
static void kill_suid(struct mnode *n)
{
	n->mode &= ~S_ISUID;
	if (n->mode & S_IXGRP)
		n->mode &= ~S_ISGID;
}

static int m_setattr(void *be, void *ino, void *fh,
		     const struct fuse_setattr_req *sa,
		     const struct fuse_place *at, struct stat *st)
{
	struct memfs *m = be;
	struct mnode *n = ino;
	int rc = 0;

	(void)fh;
	(void)at; /* an inode here is reached without a name */
	pthread_mutex_lock(&m->lock);
	if (sa->valid & FATTR_SIZE) {
		if (n->fd < 0)
			rc = -EINVAL;
		else if (sa->size > MEMFS_MAX_FILE)
			rc = -EFBIG;
		else if (ftruncate(n->fd, (off_t)sa->size) < 0)
			rc = -errno;
		now(&n->mtime);
	}
	if (rc == 0 && (sa->valid & FATTR_MODE))
		n->mode = (n->mode & S_IFMT) | (sa->mode & 07777);
	if (rc == 0 && (sa->valid & (FATTR_UID | FATTR_GID))) {
		if (sa->valid & FATTR_UID)
			n->uid = sa->uid;
		if (sa->valid & FATTR_GID)
			n->gid = sa->gid;
		if (!S_ISDIR(n->mode))
			kill_suid(n);
	}
	if (rc == 0 && (sa->valid & FATTR_KILL_SUIDGID) && S_ISREG(n->mode))
		kill_suid(n);
	if (rc == 0 && (sa->valid & (FATTR_ATIME | FATTR_ATIME_NOW))) {
		if (sa->atime.tv_nsec == UTIME_NOW)
			now(&n->atime);
		else
			n->atime = sa->atime;
	}
	if (rc == 0 && (sa->valid & (FATTR_MTIME | FATTR_MTIME_NOW))) {
		if (sa->mtime.tv_nsec == UTIME_NOW)
			now(&n->mtime);
		else
			n->mtime = sa->mtime;
	}
	now(&n->ctime);
	if (rc == 0)
		rc = stat_node(n, st);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int m_readlink(void *be, void *ino, char *buf, size_t size)
{
	struct memfs *m = be;
	struct mnode *n = ino;
	int rc;

	pthread_mutex_lock(&m->lock);
	if (!n->target) {
		rc = -EINVAL;
	} else {
		rc = (int)strlen(n->target);
		if ((size_t)rc > size)
			rc = (int)size;
		memcpy(buf, n->target, rc);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Creates name in dir; returns the node with one reference. */
static int create_locked(struct memfs *m, struct mnode *d, const char *name,
			 mode_t mode, const char *target,
			 const struct fuse_ctx *c, struct mnode **out)
{
	struct mnode *n;
	int rc;

	if (!S_ISDIR(d->mode))
		return -ENOTDIR;
	if (d->nlink == 0)
		return -ENOENT;
	if (find(d, name))
		return -EEXIST;
	n = new_node(m, mode, c, d);
	if (!n)
		return -ENOMEM;
	if (target && !(n->target = strdup(target))) {
		free_node(n);
		return -ENOMEM;
	}
	rc = add_ent(d, name, n);
	if (rc < 0) {
		free_node(n);
		return rc;
	}
	if (S_ISDIR(mode)) {
		n->parent = d;
		d->nlink++;
	}
	n->refs = 1;
	*out = n;
	return 0;
}

static int m_mknod(void *be, void *dir, const char *name, mode_t mode,
		   dev_t rdev, const char *target, const struct fuse_ctx *c,
		   void **ino, struct stat *st)
{
	struct memfs *m = be;
	struct mnode *n;
	int rc;

	(void)rdev;
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return -EPERM;
	pthread_mutex_lock(&m->lock);
	rc = create_locked(m, dir, name, mode, target, c, &n);
	if (rc == 0) {
		*ino = n;
		stat_node(n, st);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int m_remove(void *be, void *dir, const char *name, int is_dir)
{
	struct memfs *m = be;
	struct mnode *d = dir;
	struct ment *e;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	e = S_ISDIR(d->mode) ? find(d, name) : NULL;
	if (!e)
		rc = S_ISDIR(d->mode) ? -ENOENT : -ENOTDIR;
	else if (is_dir && !S_ISDIR(e->n->mode))
		rc = -ENOTDIR;
	else if (!is_dir && S_ISDIR(e->n->mode))
		rc = -EISDIR;
	else if (is_dir && e->n->nents)
		rc = -ENOTEMPTY;
	else
		del_ent(d, e);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int m_unlink(void *be, void *dir, const char *name)
{
	return m_remove(be, dir, name, 0);
}

static int m_rmdir(void *be, void *dir, const char *name)
{
	return m_remove(be, dir, name, 1);
}

/* True when a is d or one of d's ancestors. */
static int is_ancestor(struct mnode *a, struct mnode *d)
{
	for (;;) {
		if (a == d)
			return 1;
		if (d->parent == d || !d->parent)
			return 0;
		d = d->parent;
	}
}

static int rename_locked(struct mnode *d, const char *name, struct mnode *nd,
			 const char *newname, unsigned flags)
{
	struct ment *e = find(d, name), *t;
	struct mnode *n;
	if (!S_ISDIR(d->mode) || !S_ISDIR(nd->mode))
		return -ENOTDIR;
	if (d->nlink == 0 || nd->nlink == 0)
		return -ENOENT;
	if (!e)
		return -ENOENT;
	n = e->n;
	if (S_ISDIR(n->mode) && is_ancestor(n, nd))
		return -EINVAL;
	t = find(nd, newname);
	if (t && t->n == n)
		return 0;
	if (flags & RENAME_EXCHANGE) {
		struct mnode *o;

		if (!t)
			return -ENOENT;
		o = t->n;
		if (S_ISDIR(o->mode) && is_ancestor(o, d))
			return -EINVAL;
		t->n = n;
		e->n = o;
		if (S_ISDIR(n->mode))
			n->parent = nd;
		if (S_ISDIR(o->mode))
			o->parent = d;
		return 0;
	}
	if (t && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (t && S_ISDIR(t->n->mode) && !S_ISDIR(n->mode))
		return -EISDIR;
	if (t && !S_ISDIR(t->n->mode) && S_ISDIR(n->mode))
		return -ENOTDIR;
	if (t && S_ISDIR(t->n->mode) && t->n->nents)
		return -ENOTEMPTY;
	if (t)
		del_ent(nd, t);
	/* take the entry out of d and add it to nd without touching links */
	if (add_ent(nd, newname, n) < 0)
		return -ENOMEM;
	e = find(d, name); /* the array moved */
	free(e->name);
	memmove(e, e + 1, (d->nents - (size_t)(e - d->ents) - 1) * sizeof(*e));
	d->nents--;
	if (S_ISDIR(n->mode) && d != nd) {
		d->nlink--;
		nd->nlink++;
		n->parent = nd;
	}
	now(&n->ctime);
	return 0;
}

static int m_rename(void *be, void *dir, const char *name, void *newdir,
		    const char *newname, unsigned flags)
{
	struct memfs *m = be;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = rename_locked(dir, name, newdir, newname, flags);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int m_link(void *be, void *ino, const struct fuse_place *at,
		  void *newdir, const char *newname, void **newino,
		  struct stat *st)
{
	struct memfs *m = be;
	struct mnode *n = ino, *d = newdir;
	int rc = 0;

	(void)at;
	pthread_mutex_lock(&m->lock);
	if (S_ISDIR(n->mode))
		rc = -EPERM;
	else if (!S_ISDIR(d->mode))
		rc = -ENOTDIR;
	else if (n->nlink == 0 || d->nlink == 0)
		rc = -ENOENT;
	else if (find(d, newname))
		rc = -EEXIST;
	else
		rc = add_ent(d, newname, n);
	if (rc == 0) {
		n->nlink++;
		n->refs++;
		now(&n->ctime);
		*newino = n;
		stat_node(n, st);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int m_open(void *be, void *ino, int flags, void **fh)
{
	struct memfs *m = be;
	struct mnode *n = ino;
	struct mhandle *h;
	int rc = 0;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	if (S_ISDIR(n->mode) != !!(flags & O_DIRECTORY))
		rc = S_ISDIR(n->mode) ? -EISDIR : -ENOTDIR;
	else if (!S_ISDIR(n->mode) && !S_ISREG(n->mode))
		rc = -ENXIO;
	else if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY &&
		 ftruncate(n->fd, 0) < 0)
		rc = -errno;
	if (rc == 0) {
		n->refs++;
		h->n = n;
		h->flags = flags;
		*fh = h;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc < 0)
		free(h);
	return rc;
}

static int m_create(void *be, void *dir, const char *name, mode_t mode,
		    int flags, const struct fuse_ctx *c, void **ino,
		    struct stat *st, void **fh)
{
	struct memfs *m = be;
	struct mnode *n = NULL;
	struct ment *e;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = create_locked(m, dir, name, mode, NULL, c, &n);
	if (rc == -EEXIST && !(flags & O_EXCL) && (e = find(dir, name))) {
		n = e->n;
		n->refs++;
		rc = 0;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc < 0)
		return rc;
	rc = m_open(be, n, flags & ~O_EXCL, fh);
	if (rc < 0) {
		m_forget(be, n);
		return rc;
	}
	*ino = n;
	return m_getattr(be, n, st);
}

static ssize_t m_read(void *be, void *ino, void *fh, const struct iovec *iov,
		      int cnt, off_t off)
{
	struct mhandle *h = fh;
	ssize_t n;

	(void)be;
	(void)ino;
	n = preadv(h->n->fd, iov, cnt, off);
	return n < 0 ? -errno : n;
}

static ssize_t m_write(void *be, void *ino, void *fh, const struct iovec *iov,
		       int cnt, off_t off, unsigned wflags)
{
	struct memfs *m = be;
	struct mhandle *h = fh;
	size_t len = 0;
	ssize_t n;

	(void)ino;
	for (int i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	if ((uint64_t)off + len > MEMFS_MAX_FILE)
		return -EFBIG;
	n = pwritev(h->n->fd, iov, cnt, off);
	if (n < 0)
		return -errno;
	pthread_mutex_lock(&m->lock);
	if (wflags & FUSE_BE_KILL_PRIV)
		kill_suid(h->n);
	now(&h->n->mtime);
	h->n->ctime = h->n->mtime;
	pthread_mutex_unlock(&m->lock);
	return n;
}

static int m_release(void *be, void *ino, void *fh)
{
	struct memfs *m = be;
	struct mhandle *h = fh;

	(void)ino;
	pthread_mutex_lock(&m->lock);
	unref(h->n);
	pthread_mutex_unlock(&m->lock);
	free(h);
	return 0;
}

static int m_fsync(void *be, void *ino, void *fh, int datasync)
{
	(void)be;
	(void)ino;
	(void)fh;
	(void)datasync;
	return 0;
}

struct dent {
	char *name;
	uint64_t ino, cookie;
	unsigned type;
};

static int m_readdir(void *be, void *ino, void *fh, uint64_t off,
		     fuse_fill_fn fill, void *fctx)
{
	struct memfs *m = be;
	struct mnode *d = ino;
	struct dent *v;
	size_t n = 0;
	int rc = 0;

	(void)fh;
	v = calloc(READDIR_BATCH, sizeof(*v));
	if (!v)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	if (d->nlink == 0)
		off = UINT64_MAX; /* removed: no entries, no ".." */
	if (off < 1)
		v[n++] = (struct dent){strdup("."), d->ino, 1, DT_DIR};
	if (off < 2)
		v[n++] = (struct dent){strdup(".."), d->parent->ino, 2, DT_DIR};
	for (size_t i = 0; i < d->nents && n < READDIR_BATCH; i++) {
		struct ment *e = &d->ents[i];

		if (e->cookie <= off)
			continue;
		v[n++] = (struct dent){strdup(e->name), e->n->ino, e->cookie,
				       (e->n->mode & S_IFMT) >> 12};
	}
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && !v[i].name)
			rc = -ENOMEM;
		if (rc == 0)
			rc = fill(fctx, v[i].name, strlen(v[i].name), v[i].ino,
				  v[i].type, v[i].cookie);
		free(v[i].name);
	}
	free(v);
	return rc < 0 ? rc : 0;
}

static int m_statfs(void *be, void *ino, struct statvfs *sv)
{
	(void)be;
	(void)ino;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_blocks = sv->f_bfree = sv->f_bavail = 1 << 20;
	sv->f_files = sv->f_ffree = 1 << 20;
	sv->f_namemax = 255;
	return 0;
}

static struct mxattr *find_x(struct mnode *n, const char *name)
{
	for (size_t i = 0; i < n->nx; i++)
		if (strcmp(n->xattrs[i].name, name) == 0)
			return &n->xattrs[i];
	return NULL;
}

static int m_setxattr(void *be, void *ino, const char *name, const void *value,
		      size_t size, int flags)
{
	struct memfs *m = be;
	struct mnode *n = ino;
	struct mxattr *x;
	void *copy;
	int rc = 0;

	copy = malloc(size ? size : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, value, size);
	pthread_mutex_lock(&m->lock);
	x = find_x(n, name);
	if (x && (flags & XATTR_CREATE))
		rc = -EEXIST;
	else if (!x && (flags & XATTR_REPLACE))
		rc = -ENODATA;
	else if (!x && n->nx >= MEMFS_MAX_XATTRS)
		rc = -ENOSPC;
	else if (!x) {
		x = realloc(n->xattrs, (n->nx + 1) * sizeof(*x));
		if (!x) {
			rc = -ENOMEM;
		} else {
			n->xattrs = x;
			x = &n->xattrs[n->nx];
			x->name = strdup(name);
			x->value = NULL;
			if (x->name)
				n->nx++;
			else
				rc = -ENOMEM;
		}
	}
	if (rc == 0) {
		free(x->value);
		x->value = copy;
		x->size = size;
		copy = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	free(copy);
	return rc;
}

static ssize_t m_getxattr(void *be, void *ino, const char *name, void *buf,
			  size_t size)
{
	struct memfs *m = be;
	struct mxattr *x;
	ssize_t rc;

	pthread_mutex_lock(&m->lock);
	x = find_x(ino, name);
	if (!x)
		rc = -ENODATA;
	else if (size && x->size > size)
		rc = -ERANGE;
	else {
		if (size)
			memcpy(buf, x->value, x->size);
		rc = (ssize_t)x->size;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static ssize_t m_listxattr(void *be, void *ino, char *buf, size_t size)
{
	struct memfs *m = be;
	struct mnode *n = ino;
	size_t need = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < n->nx; i++)
		need += strlen(n->xattrs[i].name) + 1;
	if (size && need > size) {
		pthread_mutex_unlock(&m->lock);
		return -ERANGE;
	}
	for (size_t i = 0, off = 0; size && i < n->nx; i++) {
		size_t l = strlen(n->xattrs[i].name) + 1;

		memcpy(buf + off, n->xattrs[i].name, l);
		off += l;
	}
	pthread_mutex_unlock(&m->lock);
	return (ssize_t)need;
}

static int m_removexattr(void *be, void *ino, const char *name)
{
	struct memfs *m = be;
	struct mnode *n = ino;
	struct mxattr *x;
	int rc = -ENODATA;

	pthread_mutex_lock(&m->lock);
	x = find_x(n, name);
	if (x) {
		free(x->name);
		free(x->value);
		*x = n->xattrs[--n->nx];
		rc = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int m_fallocate(void *be, void *ino, void *fh, int mode, off_t off,
		       off_t len)
{
	struct mhandle *h = fh;

	(void)be;
	(void)ino;
	if ((uint64_t)off + (uint64_t)len > MEMFS_MAX_FILE)
		return -EFBIG;
	/* memory, not disk: do not let a request allocate gigabytes */
	if (!(mode & FALLOC_FL_PUNCH_HOLE) && (uint64_t)len > MEMFS_MAX_ALLOC)
		return -EFBIG;
	return fallocate(h->n->fd, mode, off, len) < 0 ? -errno : 0;
}

static off_t m_lseek(void *be, void *ino, void *fh, off_t off, int whence)
{
	struct mhandle *h = fh;
	off_t pos;

	(void)be;
	(void)ino;
	pos = lseek(h->n->fd, off, whence);
	return pos < 0 ? -errno : pos;
}

static ssize_t m_copy_file_range(void *be, void *ino_in, void *fh_in,
				 off_t off_in, void *ino_out, void *fh_out,
				 off_t off_out, size_t len, unsigned flags)
{
	struct mhandle *hi = fh_in, *ho = fh_out;
	ssize_t n;

	(void)be;
	(void)ino_in;
	(void)ino_out;
	if ((uint64_t)off_out + len > MEMFS_MAX_FILE)
		return -EFBIG;
	n = copy_file_range(hi->n->fd, &off_in, ho->n->fd, &off_out, len,
			    flags);
	return n < 0 ? -errno : n;
}

static int m_map_fd(void *be, void *ino, int writable)
{
	struct mnode *n = ino;
	int fd;

	(void)be;
	(void)writable;
	if (n->fd < 0)
		return -EINVAL;
	fd = fcntl(n->fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

const struct fuse_backend_ops fuse_memfs_ops = {
    .name = "memfs",
    .root = m_root,
    .lookup = m_lookup,
    .forget = m_forget,
    .getattr = m_getattr,
    .setattr = m_setattr,
    .readlink = m_readlink,
    .mknod = m_mknod,
    .unlink = m_unlink,
    .rmdir = m_rmdir,
    .rename = m_rename,
    .link = m_link,
    .open = m_open,
    .create = m_create,
    .read = m_read,
    .write = m_write,
    .release = m_release,
    .fsync = m_fsync,
    .readdir = m_readdir,
    .statfs = m_statfs,
    .setxattr = m_setxattr,
    .getxattr = m_getxattr,
    .listxattr = m_listxattr,
    .removexattr = m_removexattr,
    .fallocate = m_fallocate,
    .lseek = m_lseek,
    .copy_file_range = m_copy_file_range,
    .map_fd = m_map_fd,
    .destroy = m_destroy,
};
