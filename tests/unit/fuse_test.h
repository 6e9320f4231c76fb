/*
 * Helpers for the FUSE server unit tests: build raw requests the way a
 * kernel would (or would not), send them through fuse_server_handle() and
 * look at the reply. tc.split > 0 cuts every request and the reply buffer
 * into segments of that many bytes, as a guest's descriptors might.
 */
#ifndef SM_FUSE_TEST_H
#define SM_FUSE_TEST_H

#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_server.h"
#include "memfs.h"

#define MSG_MAX (1 << 21)

/*
 * The backend a test runs on: memfs, or passthrough (read-only when ro)
 * over a fresh directory /tmp/PREFIX.XXXXXX whose path goes to dir (64
 * bytes; "" for memfs). 0, or -1 when the backend could not be made.
 */
static inline int tc_backend_new(int passthrough, int ro, const char *prefix,
				 char dir[64], void **be,
				 const struct fuse_backend_ops **ops)
{
	dir[0] = '\0';
	if (!passthrough) {
		*ops = &fuse_memfs_ops;
		return fuse_memfs_new(be, NULL) ? -1 : 0;
	}
	*ops = &fuse_passthrough_ops;
	snprintf(dir, 64, "/tmp/%s.XXXXXX", prefix);
	if (!mkdtemp(dir) || fuse_passthrough_new(dir, ro, be, NULL)) {
		dir[0] = '\0';
		return -1;
	}
	return 0;
}

/* Destroys a backend from tc_backend_new() and removes its directory. */
static inline void tc_backend_free(const struct fuse_backend_ops *ops, void *be,
				   const char *dir)
{
	char cmd[128];

	ops->destroy(be);
	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

struct tc {
	struct fuse_server *s;
	void *be;
	const struct fuse_backend_ops *ops;
	uint64_t unique;
	size_t split;	/* 0: one segment each way */
	size_t out_cap; /* 0: MSG_MAX */
	uint8_t *msg;	/* request being built */
	size_t len;
	uint8_t *out;	    /* reply */
	size_t out_len;	    /* bytes written by the server, 0: none */
	int hrc;	    /* fuse_server_handle() return */
	int error;	    /* reply error */
	const uint8_t *rep; /* reply payload */
	size_t rep_len;
};

static inline void tc_begin(struct tc *t, uint32_t op, uint64_t nodeid)
{
	struct fuse_in_header h;

	memset(&h, 0, sizeof(h));
	h.opcode = op;
	h.nodeid = nodeid;
	h.unique = ++t->unique;
	h.uid = 0;
	h.gid = 0;
	h.pid = 1;
	memcpy(t->msg, &h, sizeof(h));
	t->len = sizeof(h);
}

static inline void tc_add(struct tc *t, const void *p, size_t n)
{
	if (t->len + n <= MSG_MAX) {
		memcpy(t->msg + t->len, p, n);
		t->len += n;
	}
}

static inline void tc_str(struct tc *t, const char *s)
{
	tc_add(t, s, strlen(s) + 1);
}

static inline void tc_uid(struct tc *t, uint32_t uid, uint32_t gid)
{
	struct fuse_in_header *h = (void *)t->msg;

	h->uid = uid;
	h->gid = gid;
}

/* Sends msg[0..len) with header len fixed up unless keep_len. */
static inline int tc_send_raw(struct tc *t, int keep_len)
{
	struct iovec in[4096], out[4096];
	int in_cnt = 0, out_cnt = 0;
	size_t cap = t->out_cap ? t->out_cap : MSG_MAX;
	struct fuse_out_header oh;

	if (!keep_len)
		((struct fuse_in_header *)t->msg)->len = (uint32_t)t->len;
	for (size_t off = 0; off < t->len && in_cnt < 4096;) {
		size_t n = t->split ? t->split : t->len;

		if (n > t->len - off || in_cnt == 4095)
			n = t->len - off;
		in[in_cnt].iov_base = t->msg + off;
		in[in_cnt++].iov_len = n;
		off += n;
	}
	if (!in_cnt) {
		in[0].iov_base = t->msg;
		in[in_cnt++].iov_len = 0;
	}
	for (size_t off = 0; off < cap && out_cnt < 4096;) {
		size_t n = t->split ? t->split : cap;

		if (n > cap - off || out_cnt == 4095)
			n = cap - off;
		out[out_cnt].iov_base = t->out + off;
		out[out_cnt++].iov_len = n;
		off += n;
	}
	memset(t->out, 0xa5, sizeof(oh));
	t->hrc =
	    fuse_server_handle(t->s, in, in_cnt, out, out_cnt, &t->out_len);
	t->error = 1; /* "no reply" */
	t->rep = NULL;
	t->rep_len = 0;
	if (t->hrc < 0 || t->out_len == 0)
		return t->hrc < 0 ? t->hrc : 1;
	memcpy(&oh, t->out, sizeof(oh));
	if (oh.len != t->out_len || oh.unique != t->unique)
		return 1000; /* malformed reply: tests check for 0/-errno */
	t->error = oh.error;
	t->rep = t->out + sizeof(oh);
	t->rep_len = oh.len - sizeof(oh);
	return t->error;
}

static inline int tc_send(struct tc *t)
{
	return tc_send_raw(t, 0);
}

static inline int tc_init_proto(struct tc *t, uint32_t major, uint32_t minor)
{
	struct fuse_init_in in;

	memset(&in, 0, sizeof(in));
	in.major = major;
	in.minor = minor;
	in.max_readahead = 65536;
	in.flags = 0xffffffff & ~FUSE_INIT_EXT;
	tc_begin(t, FUSE_INIT, 0);
	tc_add(t, &in, sizeof(in));
	return tc_send(t);
}

/* Creates a server over backend ops/be and runs INIT. */
static inline int tc_open(struct tc *t, const struct fuse_backend_ops *ops,
			  void *be, const struct fuse_server_config *base)
{
	struct fuse_server_config cfg;

	if (base)
		cfg = *base;
	else
		memset(&cfg, 0, sizeof(cfg));
	cfg.ops = ops;
	cfg.backend = be;
	if (!cfg.trace)
		cfg.trace = "";
	t->ops = ops;
	t->be = be;
	t->msg = calloc(1, MSG_MAX);
	t->out = calloc(1, MSG_MAX);
	if (!t->msg || !t->out || fuse_server_new(&cfg, &t->s, NULL) < 0)
		return -1;
	return tc_init_proto(t, 7, 36);
}

static inline void tc_close(struct tc *t)
{
	fuse_server_free(t->s);
	free(t->msg);
	free(t->out);
	t->s = NULL;
	t->msg = t->out = NULL;
}

/* ---- one helper per common operation; each returns the reply error ---- */

static inline int fs_lookup(struct tc *t, uint64_t dir, const char *name,
			    struct fuse_entry_out *e)
{
	int rc;

	if (e)
		memset(e, 0, sizeof(*e));
	tc_begin(t, FUSE_LOOKUP, dir);
	tc_str(t, name);
	rc = tc_send(t);
	if (rc == 0 && e && t->rep_len == sizeof(*e))
		memcpy(e, t->rep, sizeof(*e));
	return rc;
}

static inline uint64_t fs_nodeid(struct tc *t, uint64_t dir, const char *name)
{
	struct fuse_entry_out e;

	return fs_lookup(t, dir, name, &e) == 0 ? e.nodeid : 0;
}

static inline int fs_getattr(struct tc *t, uint64_t node, struct fuse_attr *a)
{
	struct fuse_getattr_in in;
	int rc;

	memset(&in, 0, sizeof(in));
	tc_begin(t, FUSE_GETATTR, node);
	tc_add(t, &in, sizeof(in));
	rc = tc_send(t);
	if (rc == 0 && a && t->rep_len == sizeof(struct fuse_attr_out))
		memcpy(a, &((const struct fuse_attr_out *)t->rep)->attr,
		       sizeof(*a));
	return rc;
}

static inline int fs_mkdir(struct tc *t, uint64_t dir, const char *name,
			   uint32_t mode, uint64_t *nodeid)
{
	struct fuse_mkdir_in in = {.mode = mode, .umask = 0};
	int rc;

	tc_begin(t, FUSE_MKDIR, dir);
	tc_add(t, &in, sizeof(in));
	tc_str(t, name);
	rc = tc_send(t);
	if (rc == 0 && nodeid)
		*nodeid = ((const struct fuse_entry_out *)t->rep)->nodeid;
	return rc;
}

static inline int fs_create(struct tc *t, uint64_t dir, const char *name,
			    uint32_t mode, uint32_t flags, uint64_t *nodeid,
			    uint64_t *fh)
{
	struct fuse_create_in in = {.flags = flags, .mode = mode};
	int rc;

	tc_begin(t, FUSE_CREATE, dir);
	tc_add(t, &in, sizeof(in));
	tc_str(t, name);
	rc = tc_send(t);
	if (rc == 0 && t->rep_len == sizeof(struct fuse_entry_out) +
					 sizeof(struct fuse_open_out)) {
		if (nodeid)
			*nodeid =
			    ((const struct fuse_entry_out *)t->rep)->nodeid;
		if (fh)
			*fh = ((const struct fuse_open_out
				    *)(t->rep + sizeof(struct fuse_entry_out)))
				  ->fh;
	}
	return rc;
}

static inline int fs_open(struct tc *t, uint64_t node, uint32_t flags, int dir,
			  uint64_t *fh)
{
	struct fuse_open_in in = {.flags = flags};
	int rc;

	tc_begin(t, dir ? FUSE_OPENDIR : FUSE_OPEN, node);
	tc_add(t, &in, sizeof(in));
	rc = tc_send(t);
	if (rc == 0 && fh && t->rep_len == sizeof(struct fuse_open_out))
		*fh = ((const struct fuse_open_out *)t->rep)->fh;
	return rc;
}

static inline int fs_release(struct tc *t, uint64_t node, uint64_t fh, int dir)
{
	struct fuse_release_in in = {.fh = fh};

	tc_begin(t, dir ? FUSE_RELEASEDIR : FUSE_RELEASE, node);
	tc_add(t, &in, sizeof(in));
	return tc_send(t);
}

static inline int fs_write(struct tc *t, uint64_t node, uint64_t fh,
			   uint64_t off, const void *data, uint32_t len,
			   uint32_t wflags)
{
	struct fuse_write_in in = {
	    .fh = fh, .offset = off, .size = len, .write_flags = wflags};

	tc_begin(t, FUSE_WRITE, node);
	tc_add(t, &in, sizeof(in));
	tc_add(t, data, len);
	return tc_send(t);
}

/* Reads into buf; returns the error, *got the byte count. */
static inline int fs_read(struct tc *t, uint64_t node, uint64_t fh,
			  uint64_t off, void *buf, uint32_t len, size_t *got)
{
	struct fuse_read_in in = {.fh = fh, .offset = off, .size = len};
	int rc;

	tc_begin(t, FUSE_READ, node);
	tc_add(t, &in, sizeof(in));
	rc = tc_send(t);
	*got = 0;
	if (rc == 0) {
		*got = t->rep_len;
		memcpy(buf, t->rep, t->rep_len < len ? t->rep_len : len);
	}
	return rc;
}

/* SETUPMAPPING of [foff, foff+len) of node at moff of the DAX window. */
static inline int fs_setupmapping(struct tc *t, uint64_t node, uint64_t moff,
				  uint64_t foff, uint64_t len, uint64_t flags)
{
	struct fuse_setupmapping_in in = {.fh = UINT64_MAX,
					  .foffset = foff,
					  .len = len,
					  .flags = flags,
					  .moffset = moff};

	tc_begin(t, FUSE_SETUPMAPPING, node);
	tc_add(t, &in, sizeof(in));
	return tc_send(t);
}

static inline int fs_forget(struct tc *t, uint64_t node, uint64_t n)
{
	struct fuse_forget_in in = {.nlookup = n};

	tc_begin(t, FUSE_FORGET, node);
	tc_add(t, &in, sizeof(in));
	return tc_send(t);
}

static inline int fs_unlink(struct tc *t, uint64_t dir, const char *name,
			    int rmdir)
{
	tc_begin(t, rmdir ? FUSE_RMDIR : FUSE_UNLINK, dir);
	tc_str(t, name);
	return tc_send(t);
}

static inline int fs_symlink(struct tc *t, uint64_t dir, const char *name,
			     const char *target)
{
	tc_begin(t, FUSE_SYMLINK, dir);
	tc_str(t, name);
	tc_str(t, target);
	return tc_send(t);
}

static inline int fs_rename(struct tc *t, uint64_t dir, const char *name,
			    uint64_t newdir, const char *newname,
			    uint32_t flags)
{
	struct fuse_rename2_in in = {.newdir = newdir, .flags = flags};

	tc_begin(t, FUSE_RENAME2, dir);
	tc_add(t, &in, sizeof(in));
	tc_str(t, name);
	tc_str(t, newname);
	return tc_send(t);
}

static inline int fs_setattr(struct tc *t, uint64_t node,
			     const struct fuse_setattr_in *in,
			     struct fuse_attr *a)
{
	int rc;

	tc_begin(t, FUSE_SETATTR, node);
	tc_add(t, in, sizeof(*in));
	rc = tc_send(t);
	if (rc == 0 && a && t->rep_len == sizeof(struct fuse_attr_out))
		memcpy(a, &((const struct fuse_attr_out *)t->rep)->attr,
		       sizeof(*a));
	return rc;
}

/* Reads a whole directory through READDIR; returns the entry count. */
static inline int fs_count_dir(struct tc *t, uint64_t node, int plus)
{
	uint64_t fh = 0, off = 0;
	int count = 0;

	if (fs_open(t, node, O_RDONLY, 1, &fh))
		return -1;
	for (;;) {
		struct fuse_read_in in = {
		    .fh = fh, .offset = off, .size = 4096};
		size_t pos = 0, len;
		uint8_t *buf;

		tc_begin(t, plus ? FUSE_READDIRPLUS : FUSE_READDIR, node);
		tc_add(t, &in, sizeof(in));
		if (tc_send(t))
			return -1;
		if (t->rep_len == 0)
			break;
		len = t->rep_len;
		buf = malloc(len);
		memcpy(buf, t->rep, len);
		while (pos < len) {
			const struct fuse_dirent *d;

			if (plus) {
				const struct fuse_direntplus *dp =
				    (const void *)(buf + pos);

				d = &dp->dirent;
				pos += FUSE_DIRENTPLUS_SIZE(dp);
				if (dp->entry_out.nodeid)
					fs_forget(t, dp->entry_out.nodeid, 1);
			} else {
				d = (const void *)(buf + pos);
				pos += FUSE_DIRENT_SIZE(d);
			}
			off = d->off;
			count++;
		}
		free(buf);
	}
	fs_release(t, node, fh, 1);
	return count;
}

#endif
