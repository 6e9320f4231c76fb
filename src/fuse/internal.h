/* Internals shared by the FUSE server's files. */
#ifndef SM_FUSE_INTERNAL_H
#define SM_FUSE_INTERNAL_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdio.h>

#include "fuse/fuse_server.h"

/* Protocol: we need 7.31+ features (KILLPRIV_V2, DAX); Linux 6.1 sends 7.36+ */
#define FUSE_SRV_MAJOR 7
#define FUSE_SRV_MINOR 36
#define FUSE_SRV_MIN_MINOR 31

/* Bounds for the linearised part of a request (all but WRITE payload). */
#define FUSE_MAX_BODY (65536 + 8192)

struct fnode {
	uint64_t nodeid;
	void *ino; /* backend inode, NULL when stale */
	dev_t dev;
	ino_t ino_nr;
	mode_t type;	      /* S_IFMT bits */
	uint64_t nlookup;     /* references held by the kernel */
	uint64_t refs;	      /* server references: requests, handles, kids */
	struct fnode *parent; /* path for save/restore; holds a ref */
	char *name;
	struct fnode *id_next, *key_next;
};

struct fhandle {
	uint64_t fh;
	struct fnode *node; /* holds a node ref */
	void *bfh;	    /* backend handle, NULL when stale */
	int flags;	    /* open flags as given (for reopen) */
	int is_dir;
	int in_table;
	uint64_t refs;
	struct fhandle *next;
};

struct htab {
	void **b;
	size_t nb, n;
};

struct dax_map {
	uint64_t moff, len, foff;
	struct fnode *node; /* holds a node ref */
	int writable;
};

struct fuse_server {
	const struct fuse_backend_ops *ops;
	void *be;
	int read_only;
	int allow_priv_xattrs, allow_fifos; /* see fuse_server_config */
	uint32_t max_write;
	uint32_t timeout_ms;
	const struct fuse_dax_ops *dax;
	void *dax_opaque;
	uint64_t dax_size;
	uint32_t dax_align;
	size_t max_nodes, max_handles, max_maps; /* caps, see server.c */

	pthread_mutex_t lock; /* tables, counts, node paths, DAX map list */
	uint32_t minor;	      /* negotiated, 0: before INIT */
	struct htab by_id, by_key, handles;
	uint64_t next_nodeid, next_fh;
	struct fnode *root;
	pthread_mutex_t dax_lock; /* maps; taken before lock, never after */
	struct dax_map *maps;
	size_t nmaps, capmaps;

	FILE *trace;
	int trace_owned;
};

/* One request being handled. */
struct req {
	struct fuse_server *s;
	struct fuse_in_header h;
	/* host copy of the body (WRITE: only fuse_write_in); never guest
	 * memory, so what a handler checks stays what it uses */
	const uint8_t *body;
	size_t blen;
	const struct iovec *in;
	int in_cnt;
	size_t in_total;
	const struct iovec *out;
	int out_cnt;
	size_t out_cap; /* bytes available for the payload after the header */
	size_t out_len; /* payload written */
	struct fnode *node; /* h.nodeid, referenced, for NODE ops */
	struct fuse_ctx ctx;
};

/* nodes.c: node and handle tables. */
int nodes_init(struct fuse_server *s, struct sm_error *err);
void nodes_fini(struct fuse_server *s);
struct fnode *node_get(struct fuse_server *s, uint64_t nodeid);
void node_put(struct fuse_server *s, struct fnode *n);
/*
 * n's parent (a reference: node_put it) with n's name copied to name
 * (size bytes), for a backend's struct fuse_place; NULL when n has none.
 */
struct fnode *node_place(struct fuse_server *s, struct fnode *n, char *name,
			 size_t size);
/* The backend's setattr of n, with n's place (ops.c). */
int setattr_at(struct req *r, struct fnode *n, void *bfh,
	       const struct fuse_setattr_req *sa, struct stat *st);
/* Takes the backend reference ino; *out gets the node with nlookup+1 and a
 * request ref. Returns 0, -ENFILE at the node cap or -ENOMEM (ino, which
 * may be NULL for a stale restored node, is then forgotten). nodeid 0: a
 * new id; else that id (restore). */
int node_enter(struct fuse_server *s, struct fnode *parent, const char *name,
	       void *ino, const struct stat *st, uint64_t nodeid,
	       struct fnode **out);
/* True when a new node or handle would be over its cap right now: checked
 * before a backend call that creates something on the host, so that the
 * guest is not told "failed" about a file that was made. */
int nodes_full(struct fuse_server *s);
int handles_full(struct fuse_server *s);
void node_forget(struct fuse_server *s, uint64_t nodeid, uint64_t n);
/* After a rename: moves the path of the node now at newdir/newname. */
void node_moved(struct fuse_server *s, struct fnode *olddir,
		const char *oldname, struct fnode *newdir, const char *newname);
/* Enters bfh as a handle of n into the table (fh 0: a new id; else that
 * id, restore). Returns 0, -EMFILE at the handle cap, -EEXIST or -ENOMEM;
 * on failure the caller still owns bfh. */
int handle_new(struct fuse_server *s, struct fnode *n, void *bfh, int flags,
	       int is_dir, uint64_t fh, struct fhandle **out);
struct fhandle *handle_get(struct fuse_server *s, uint64_t fh);
void handle_put(struct fuse_server *s, struct fhandle *h);
/* Removes fh from the table (RELEASE); the last put releases it. */
int handle_close(struct fuse_server *s, uint64_t fh, int is_dir);
/* Iteration for save: calls fn under the lock. */
void nodes_foreach(struct fuse_server *s, void (*fn)(void *, struct fnode *),
		   void *arg);
void handles_foreach(struct fuse_server *s,
		     void (*fn)(void *, struct fhandle *), void *arg);

/* server.c: reply helpers. */
int reply_data(struct req *r, const void *data, size_t len);
/* Scatter list of out payload bytes [off, off+len): fills iov, returns cnt */
int out_iov(struct req *r, size_t off, size_t len, struct iovec *iov, int max);
void fill_attr(struct fuse_attr *a, const struct stat *st);
int reply_entry(struct req *r, struct fnode *n, const struct stat *st);
void entry_out(struct fuse_server *s, struct fuse_entry_out *e, struct fnode *n,
	       const struct stat *st);
int check_name(const char *name);
/* Copies request bytes at offset off of the whole request (bounded by
 * h.len) into host memory; check and use only the copy. */
int req_copy_in(struct req *r, size_t off, void *dst, size_t len);
/* Bytes from the linear body: a struct at *off, or a NUL-ended string. */
const void *body_take(struct req *r, size_t *off, size_t len);
const char *body_str(struct req *r, size_t *off, size_t max);

/* ops.c: handlers. */
typedef int (*fuse_handler)(struct req *r);
struct fuse_opdesc {
	const char *name;
	fuse_handler fn;
	uint16_t min_in; /* minimum body bytes */
	uint16_t flags;
};
#define OPF_NODE 1    /* needs h.nodeid resolved into r->node */
#define OPF_WRITES 2  /* refused with EROFS in read-only mode */
#define OPF_NOREPLY 4 /* FORGET, BATCH_FORGET */
#define OPF_PREINIT 8 /* allowed before INIT */
#define FUSE_OP_MAX 52
extern const struct fuse_opdesc fuse_ops_table[FUSE_OP_MAX];
const char *fuse_opname(uint32_t op);

/* policy.c: what a guest may plant on the host (docs/security.md). */
int policy_xattr(const struct fuse_server *s, const char *name);
int policy_mknod(const struct fuse_server *s, mode_t mode);
void policy_kill_priv(struct req *r, struct fnode *n, void *bfh);
void policy_kill_priv_unflagged(struct req *r, struct fnode *n, void *bfh);

/* dax.c */
int dax_setup(struct req *r);
int dax_remove(struct req *r);
void dax_fini(struct fuse_server *s);
int dax_restore_one(struct fuse_server *s, const struct fuse_dax_mapping *m);

#endif
