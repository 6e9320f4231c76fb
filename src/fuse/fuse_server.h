/*
 * In-process FUSE server, transport neutral: a request arrives as a scatter
 * list of bytes (virtqueue device-readable descriptors, or one /dev/fuse
 * read buffer) and the reply is written into a scatter list (device-writable
 * descriptors). Nothing in a request is trusted. See docs/fuse.md.
 */
#ifndef SM_FUSE_SERVER_H
#define SM_FUSE_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "supermachine.h"

struct fuse_server;

/* Caller credentials taken from the request header. */
struct fuse_ctx {
	uint32_t uid, gid, pid;
	uint32_t umask;
};

/* SETATTR as given to a backend; valid holds FATTR_* bits of linux/fuse.h. */
struct fuse_setattr_req {
	uint32_t valid;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime, mtime; /* UTIME_NOW for *_NOW */
};

/* Backend write flags. */
#define FUSE_BE_KILL_PRIV                                  \
	1 /* drop setuid/setgid (and caps) like the kernel \
	   */

/*
 * Readdir callback: returns 0 to continue, 1 when the reply is full (the
 * entry was not taken), a negative errno to stop with an error.
 */
typedef int (*fuse_fill_fn)(void *fctx, const char *name, size_t namelen,
			    uint64_t ino, unsigned type, uint64_t next_off);

/*
 * Backend operations. Inodes and handles are opaque pointers owned by the
 * backend. lookup/create/mknod/link each return one inode reference which
 * the server drops with forget(). Names reaching a backend are validated
 * already (non-empty, no '/', not "." or "..", at most NAME_MAX bytes).
 * All return 0 (or a documented count) or -errno; all must be thread-safe.
 */
/*
 * Where the server last saw an inode: its parent's backend inode and its
 * name there. A hint for calls that need a name (a socket's chmod, a
 * hard link without CAP_DAC_READ_SEARCH): the backend checks that the
 * name still leads to the same inode. NULL where the server knows none
 * (the root).
 */
struct fuse_place {
	void *dir;
	const char *name;
};

struct fuse_backend_ops {
	const char *name;
	void *(*root)(void *be); /* one reference to the root inode */
	int (*lookup)(void *be, void *dir, const char *name, void **ino,
		      struct stat *st);
	void (*forget)(void *be, void *ino);
	int (*getattr)(void *be, void *ino, struct stat *st);
	int (*setattr)(void *be, void *ino, void *fh,
		       const struct fuse_setattr_req *sa,
		       const struct fuse_place *at, struct stat *st);
	int (*readlink)(void *be, void *ino, char *buf, size_t size);
	/* mode carries the type: S_IFDIR (mkdir), S_IFLNK (symlink, target
	 * set), S_IFREG/S_IFIFO/S_IFSOCK/S_IFCHR/S_IFBLK (mknod). */
	int (*mknod)(void *be, void *dir, const char *name, mode_t mode,
		     dev_t rdev, const char *target, const struct fuse_ctx *c,
		     void **ino, struct stat *st);
	int (*unlink)(void *be, void *dir, const char *name);
	int (*rmdir)(void *be, void *dir, const char *name);
	int (*rename)(void *be, void *dir, const char *name, void *newdir,
		      const char *newname, unsigned flags);
	int (*link)(void *be, void *ino, const struct fuse_place *at,
		    void *newdir, const char *newname, void **newino,
		    struct stat *st);
	int (*open)(void *be, void *ino, int flags, void **fh);
	int (*create)(void *be, void *dir, const char *name, mode_t mode,
		      int flags, const struct fuse_ctx *c, void **ino,
		      struct stat *st, void **fh);
	ssize_t (*read)(void *be, void *ino, void *fh, const struct iovec *iov,
			int cnt, off_t off);
	ssize_t (*write)(void *be, void *ino, void *fh, const struct iovec *iov,
			 int cnt, off_t off, unsigned wflags);
	int (*release)(void *be, void *ino, void *fh);
	int (*fsync)(void *be, void *ino, void *fh, int datasync);
	int (*readdir)(void *be, void *ino, void *fh, uint64_t off,
		       fuse_fill_fn fill, void *fctx);
	int (*statfs)(void *be, void *ino, struct statvfs *sv);
	int (*setxattr)(void *be, void *ino, const char *name,
			const void *value, size_t size, int flags);
	ssize_t (*getxattr)(void *be, void *ino, const char *name, void *buf,
			    size_t size);
	ssize_t (*listxattr)(void *be, void *ino, char *buf, size_t size);
	int (*removexattr)(void *be, void *ino, const char *name);
	int (*fallocate)(void *be, void *ino, void *fh, int mode, off_t off,
			 off_t len);
	off_t (*lseek)(void *be, void *ino, void *fh, off_t off, int whence);
	ssize_t (*copy_file_range)(void *be, void *ino_in, void *fh_in,
				   off_t off_in, void *ino_out, void *fh_out,
				   off_t off_out, size_t len, unsigned flags);
	/* A new fd of the inode opened for a DAX mapping (regular files). */
	int (*map_fd)(void *be, void *ino, int writable);
	void (*destroy)(void *be);
};

/*
 * DAX: the transport owns the window (a reserved region registered as guest
 * memory). map() must map [file_off, file_off+len) of fd at window_off
 * (mmap MAP_FIXED|MAP_SHARED); fd is only valid during the call. unmap()
 * must drop [window_off, window_off+len) back to an inaccessible state.
 */
struct fuse_dax_ops {
	int (*map)(void *opaque, uint64_t window_off, int fd, uint64_t file_off,
		   uint64_t len, int writable);
	int (*unmap)(void *opaque, uint64_t window_off, uint64_t len);
};

struct fuse_server_config {
	const struct fuse_backend_ops *ops;
	void *backend;	     /* not owned: the caller destroys it */
	int read_only;	     /* every modifying request gets EROFS */
	uint32_t max_write;  /* 0: 1 MiB; the transport's buffers must fit */
	uint32_t timeout_ms; /* entry/attr cache validity; 0: 1000 */
	const struct fuse_dax_ops *dax; /* NULL: no DAX, mapping ops ENOSYS */
	void *dax_opaque;
	uint64_t dax_window_size;
	uint32_t dax_align; /* power of two, 0: 4096 */
	const char *trace;  /* NULL: $SUPERMACHINE_FUSE_TRACE; "1", "stderr"
			     * or a file path; "" disables */
	/*
	 * Caps on what the guest can make the server hold (docs/fuse.md,
	 * "Caps"); 0: the default. Over a cap the guest gets an error reply
	 * and the process goes on.
	 */
	uint32_t max_nodes;	   /* node table, root included: ENFILE */
	uint32_t max_handles;	   /* OPEN/OPENDIR/CREATE handles: EMFILE */
	uint32_t max_dax_mappings; /* DAX mapping records: ENOSPC */
	/*
	 * Opt-ins for what a guest may plant on the host (docs/security.md,
	 * "Shares"); 0 by default, and no CLI option sets them:
	 * allow_priv_xattrs lets SETXATTR/REMOVEXATTR reach security.*,
	 * trusted.* and system.* names (else EOPNOTSUPP: only user.*);
	 * allow_fifos lets MKNOD make FIFOs (else EPERM).
	 */
	int allow_priv_xattrs;
	int allow_fifos;
};

int fuse_server_new(const struct fuse_server_config *cfg,
		    struct fuse_server **out, struct sm_error *err);
/* Drops every node and handle (the backend sees forget/release). */
void fuse_server_free(struct fuse_server *s);

/*
 * Handles one request. On return *out_len is the number of reply bytes
 * written into out (0: the request takes no reply, e.g. FORGET). Returns 0,
 * or a negative errno when not even an error reply could be produced (the
 * request header is truncated, or out cannot hold a reply header).
 * Thread-safe: several queues may call it concurrently.
 */
int fuse_server_handle(struct fuse_server *s, const struct iovec *in,
		       int in_cnt, const struct iovec *out, int out_cnt,
		       size_t *out_len);

/* Negotiated protocol minor version, 0 before INIT. */
uint32_t fuse_server_minor(struct fuse_server *s);

/* DAX mappings as recorded by the server (for snapshots and tests). */
struct fuse_dax_mapping {
	uint64_t window_off, len, nodeid, file_off;
	int writable;
};
/* Copies up to max mappings into m; returns how many exist. */
size_t fuse_server_dax_mappings(struct fuse_server *s,
				struct fuse_dax_mapping *m, size_t max);

/*
 * Save/restore of the node table (nodeid -> path in the share, lookup
 * count), the handle table (fh -> node, open flags) and the DAX mappings,
 * as a TLV byte buffer (*buf is malloc'ed). restore() expects a fresh
 * server over the same share, after INIT state is restored as well; nodes
 * whose path no longer resolves become stale (requests get ESTALE).
 */
int fuse_server_save(struct fuse_server *s, void **buf, size_t *len,
		     struct sm_error *err);
int fuse_server_restore(struct fuse_server *s, const void *buf, size_t len,
			struct sm_error *err);

/* The most descriptors a server made with c may have its backend hold
 * at once (its node and handle caps, and a few for a request). */
size_t fuse_server_fd_budget(const struct fuse_server_config *c);

/* Backends. */

extern const struct fuse_backend_ops fuse_passthrough_ops;
/* An empty read-only root and nothing else, from no host file: every
 * operation computed, no syscall (src/fuse/empty.c). It has no state:
 * its backend is the one fuse_empty_backend() gives, for every share. */
extern const struct fuse_backend_ops fuse_empty_ops;
void *fuse_empty_backend(void);
/* Serves dir; read_only also makes the backend refuse writes itself. */
int fuse_passthrough_new(const char *dir, int read_only, void **be,
			 struct sm_error *err);
/*
 * Serves one regular file (docs/volumes.md, "Single files"): opened here
 * with O_NOFOLLOW and kept, so the share is that inode whatever becomes
 * of path later. The root is a synthetic read-only directory whose only
 * entry is the file under name; creating, removing or renaming in it
 * gets EPERM, any other name ENOENT.
 */
int fuse_passthrough_new_file(const char *path, const char *name, int read_only,
			      void **be, struct sm_error *err);
/* A single-file share's file (O_PATH), for its worker's Landlock rule;
 * -1 for a directory share. */
int fuse_passthrough_file_fd(void *be);
/*
 * Confines the calling thread to the share (docs/security.md, "Share
 * confinement"): a private root and cwd (unshare(CLONE_FS)), the cwd at
 * the share root and, with CAP_SYS_CHROOT, the root there too, so that no
 * path this thread resolves afterwards (absolute, "..", a symlink) leads
 * out of the share. Call it once, on a thread that then only serves this
 * backend. Returns 1 when chrooted, 0 without the capability (names are
 * still resolved one component below a node fd), or -errno.
 */
int fuse_passthrough_confine(void *be, struct sm_error *err);
/*
 * Gives the calling thread (the share's worker, before it confines
 * itself) a descriptor table of its own that holds the share's root, its
 * own /proc fd directory (the guard, below) and the n fds in keep (at
 * most SM_KEEP_FDS_MAX - 2), and nothing else: no other share's root, no
 * memory or state file, no socket. What it opens from then on (the
 * guest's files) exists in that table alone, and nothing another thread
 * holds can be reached from it. 0 or -errno.
 */
int fuse_passthrough_own_fds(void *be, const int *keep, size_t n,
			     size_t fd_budget, struct sm_error *err);
/*
 * The worker's handle on its /proc fd directory, placed above the
 * fd_budget descriptors it may open (-1 before own_fds): its seccomp
 * filter lets it be used only for re-opens that Landlock checks
 * (sm_sandbox_set_guard_fd).
 */
int fuse_passthrough_guard_fd(void *be);
/*
 * Called by the thread that made the backend once its worker has a table
 * of its own: closes this table's copies of the share's descriptors, so
 * no other thread keeps a way into the share; destroy then closes none.
 */
void fuse_passthrough_hand_over(void *be);

#endif
