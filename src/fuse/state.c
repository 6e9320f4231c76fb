/*
 * Save/restore of the server's tables for snapshots. The format is a flat
 * TLV list in host byte order (a snapshot is restored on the same kind of
 * host): a header, one SERVER record, NODE records parents first (node id,
 * parent id, lookup count, type, name), HANDLE records (fh, node id, open
 * flags) and MAP records (DAX window layout). Restore re-resolves every
 * node by name below its restored parent and re-opens every handle, so ids
 * the guest holds stay valid; what no longer resolves becomes stale.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/internal.h"
#include "util/error.h"

#define STATE_MAGIC 0x53464d53u /* "SMFS" */
#define STATE_VERSION 1

enum { T_END, T_SERVER, T_NODE, T_HANDLE, T_MAP };

struct rec_server {
	uint32_t minor, pad;
	uint64_t next_nodeid, next_fh;
};

struct rec_node {
	uint64_t nodeid, parent, nlookup;
	uint32_t type, pad;
	/* name follows */
};

struct rec_handle {
	uint64_t fh, nodeid;
	int32_t flags;
	uint32_t is_dir;
};

struct rec_map {
	uint64_t moff, len, nodeid, foff;
	uint32_t writable, pad;
};

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

static void put(struct wbuf *w, uint16_t type, const void *a, size_t alen,
		const void *b, size_t blen)
{
	uint32_t len = (uint32_t)(alen + blen);
	size_t need = w->len + 6 + len;

	if (w->oom)
		return;
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->oom = 1;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, &type, 2);
	memcpy(w->p + w->len + 2, &len, 4);
	if (alen)
		memcpy(w->p + w->len + 6, a, alen);
	if (blen)
		memcpy(w->p + w->len + 6 + alen, b, blen);
	w->len = need;
}

struct collect {
	struct fnode **v;
	size_t n, cap;
	int oom;
};

static void collect_node(void *arg, struct fnode *n)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct fnode **v = realloc(c->v, cap * sizeof(*v));

		if (!v) {
			c->oom = 1;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = n;
}

static size_t depth(struct fnode *n)
{
	size_t d = 0;

	while (n->parent && d < 4096) {
		n = n->parent;
		d++;
	}
	return d;
}

static int by_depth(const void *a, const void *b)
{
	size_t da = depth(*(struct fnode *const *)a);
	size_t db = depth(*(struct fnode *const *)b);

	return da < db ? -1 : da > db;
}

static void save_handle(void *arg, struct fhandle *h)
{
	struct rec_handle r = {.fh = h->fh,
			       .nodeid = h->node->nodeid,
			       .flags = h->flags,
			       .is_dir = (uint32_t)h->is_dir};

	put(arg, T_HANDLE, &r, sizeof(r), NULL, 0);
}

int fuse_server_save(struct fuse_server *s, void **buf, size_t *len,
		     struct sm_error *err)
{
	struct wbuf w = {0};
	struct collect c = {0};
	struct rec_server rs = {0};
	uint32_t hdr[2] = {STATE_MAGIC, STATE_VERSION};

	pthread_mutex_lock(&s->dax_lock);
	pthread_mutex_lock(&s->lock);
	rs.minor = s->minor;
	rs.next_nodeid = s->next_nodeid;
	rs.next_fh = s->next_fh;
	put(&w, T_SERVER, hdr, sizeof(hdr), &rs, sizeof(rs));
	nodes_foreach(s, collect_node, &c);
	if (!c.oom)
		qsort(c.v, c.n, sizeof(*c.v), by_depth);
	for (size_t i = 0; i < c.n && !c.oom; i++) {
		struct fnode *n = c.v[i];
		struct rec_node r = {.nodeid = n->nodeid,
				     .parent =
					 n->parent ? n->parent->nodeid : 0,
				     .nlookup = n->nlookup,
				     .type = n->type};

		if (n == s->root)
			continue;
		put(&w, T_NODE, &r, sizeof(r), n->name,
		    n->name ? strlen(n->name) : 0);
	}
	handles_foreach(s, save_handle, &w);
	for (size_t i = 0; i < s->nmaps; i++) {
		struct rec_map r = {.moff = s->maps[i].moff,
				    .len = s->maps[i].len,
				    .nodeid = s->maps[i].node->nodeid,
				    .foff = s->maps[i].foff,
				    .writable = (uint32_t)s->maps[i].writable};

		put(&w, T_MAP, &r, sizeof(r), NULL, 0);
	}
	put(&w, T_END, NULL, 0, NULL, 0);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->dax_lock);
	free(c.v);
	if (w.oom || c.oom) {
		free(w.p);
		return sm_err(err, -ENOMEM, "fuse: save state");
	}
	*buf = w.p;
	*len = w.len;
	return 0;
}

/*
 * Ids and counters a state may carry. A server hands out one id per
 * request at most, so 2^62 is never reached by a real one; refusing more
 * keeps every counter far from UINT64_MAX, where it would wrap and hand
 * out id 1 (the root) again.
 */
#define STATE_ID_MAX (1ULL << 62)

/* The SERVER record: a negotiated minor we speak, counters that go on. */
static int check_server(const struct rec_server *rs, struct sm_error *err)
{
	if (rs->minor &&
	    (rs->minor < FUSE_SRV_MIN_MINOR || rs->minor > FUSE_SRV_MINOR))
		return sm_err(err, -EINVAL, "fuse: state: protocol minor %u",
			      rs->minor);
	if (rs->next_nodeid <= FUSE_ROOT_ID || rs->next_nodeid > STATE_ID_MAX)
		return sm_err(err, -EINVAL,
			      "fuse: state: next_nodeid %llu out of range",
			      (unsigned long long)rs->next_nodeid);
	if (rs->next_fh == 0 || rs->next_fh > STATE_ID_MAX)
		return sm_err(err, -EINVAL,
			      "fuse: state: next_fh %llu out of range",
			      (unsigned long long)rs->next_fh);
	return 0;
}

static int known_type(uint32_t t)
{
	return t == S_IFREG || t == S_IFDIR || t == S_IFLNK || t == S_IFIFO ||
	       t == S_IFSOCK || t == S_IFCHR || t == S_IFBLK;
}

static int check_node(struct fuse_server *s, const struct rec_node *r,
		      const char *name, struct sm_error *err)
{
	unsigned long long id = r->nodeid;
	struct fnode *n;

	/* below next_nodeid: new ids never collide with restored ones */
	if (r->nodeid <= FUSE_ROOT_ID || r->nodeid >= s->next_nodeid)
		return sm_err(err, -EINVAL,
			      "node %llu: id not in 2..next_nodeid %llu", id,
			      (unsigned long long)s->next_nodeid);
	if (check_name(name) < 0)
		return sm_err(err, -EINVAL, "node %llu: bad name", id);
	if (!known_type(r->type))
		return sm_err(err, -EINVAL, "node %llu: type %#o", id, r->type);
	if (r->nlookup > STATE_ID_MAX)
		return sm_err(err, -EINVAL, "node %llu: lookup count %llu", id,
			      (unsigned long long)r->nlookup);
	n = node_get(s, r->nodeid);
	if (n) {
		node_put(s, n);
		return sm_err(err, -EEXIST, "node %llu: restored twice", id);
	}
	return 0;
}

/* A node that no longer resolves: requests on it get ESTALE. */
static int restore_node(struct fuse_server *s, const struct rec_node *r,
			const char *name, struct collect *keep,
			struct sm_error *err)
{
	struct fnode *parent = NULL, *n;
	struct stat st;
	void *ino = NULL;
	int rc = check_node(s, r, name, err);

	if (rc < 0)
		return rc;
	/* parents come first (save writes them by depth); 0: no path */
	if (r->parent && !(parent = node_get(s, r->parent)))
		return sm_err(err, -EINVAL, "node %llu: unknown parent %llu",
			      (unsigned long long)r->nodeid,
			      (unsigned long long)r->parent);
	if (parent && parent->ino &&
	    s->ops->lookup(s->be, parent->ino, name, &ino, &st) == 0 &&
	    (st.st_mode & S_IFMT) != r->type) {
		s->ops->forget(s->be, ino); /* replaced by something else */
		ino = NULL;
	}
	if (!ino) {
		memset(&st, 0, sizeof(st));
		st.st_mode = r->type;
	}
	rc = node_enter(s, parent, name, ino, &st, r->nodeid, &n);
	node_put(s, parent);
	if (rc < 0)
		return sm_err(
		    err, rc, "node %llu: %s", (unsigned long long)r->nodeid,
		    rc == -ENFILE ? "over the node cap" : "out of memory");
	pthread_mutex_lock(&s->lock);
	n->nlookup = r->nlookup;
	pthread_mutex_unlock(&s->lock);
	/* keep the request ref until handles and maps are back: a node with
	 * no lookups left may only live for them */
	collect_node(keep, n);
	if (keep->oom) {
		node_put(s, n);
		return sm_err(err, -ENOMEM, "node %llu: out of memory",
			      (unsigned long long)r->nodeid);
	}
	return 0;
}

/* A handle as OPEN/OPENDIR/CREATE could have made it. */
static int check_handle(struct fuse_server *s, const struct rec_handle *r,
			struct fnode *n, struct sm_error *err)
{
	unsigned long long fh = r->fh;

	if (r->fh == 0 || r->fh >= s->next_fh)
		return sm_err(err, -EINVAL,
			      "handle %llu: id not in 1..next_fh %llu", fh,
			      (unsigned long long)s->next_fh);
	if (!n)
		return sm_err(err, -EINVAL, "handle %llu: unknown node %llu",
			      fh, (unsigned long long)r->nodeid);
	if (r->is_dir > 1 || (int)r->is_dir != (n->type == S_IFDIR) ||
	    (r->flags & O_ACCMODE) == O_ACCMODE)
		return sm_err(err, -EINVAL, "handle %llu: flags %#x%s", fh,
			      (unsigned)r->flags, r->is_dir ? " (dir)" : "");
	return 0;
}

static int restore_handle(struct fuse_server *s, const struct rec_handle *r,
			  struct sm_error *err)
{
	struct fnode *n = node_get(s, r->nodeid);
	int flags = r->flags & ~(O_CREAT | O_EXCL | O_TRUNC);
	struct fhandle *h;
	void *bfh = NULL;
	int rc = check_handle(s, r, n, err);

	if (rc < 0) {
		node_put(s, n);
		return rc;
	}
	if (n->ino && s->ops->open(s->be, n->ino, flags, &bfh) < 0)
		bfh = NULL; /* stale: requests on it get EBADF */
	rc = handle_new(s, n, bfh, flags, r->is_dir != 0, r->fh, &h);
	if (rc < 0 && bfh)
		s->ops->release(s->be, n->ino, bfh);
	node_put(s, n);
	if (rc < 0)
		return sm_err(err, rc, "handle %llu: %s",
			      (unsigned long long)r->fh,
			      rc == -EMFILE   ? "over the handle cap"
			      : rc == -EEXIST ? "restored twice"
					      : "out of memory");
	return 0;
}

static int restore_map(struct fuse_server *s, const struct rec_map *r,
		       struct sm_error *err)
{
	struct fuse_dax_mapping m = {r->moff, r->len, r->nodeid, r->foff,
				     (int)r->writable};
	int rc = r->writable > 1 ? -EINVAL : dax_restore_one(s, &m);

	if (rc < 0)
		return sm_err(
		    err, rc, "DAX mapping at %llu+%llu: %s",
		    (unsigned long long)r->moff, (unsigned long long)r->len,
		    rc == -ENOSPC ? "over the mapping cap" : "refused");
	return 0;
}

static int restore_rec(struct fuse_server *s, uint16_t type, const uint8_t *v,
		       uint32_t len, struct collect *keep, struct sm_error *err)
{
	switch (type) {
	case T_NODE: {
		struct rec_node r;
		char name[NAME_MAX + 1];

		if (len < sizeof(r) || len - sizeof(r) > NAME_MAX)
			return sm_err(err, -EINVAL, "node record of %u bytes",
				      len);
		memcpy(&r, v, sizeof(r));
		memcpy(name, v + sizeof(r), len - sizeof(r));
		name[len - sizeof(r)] = 0;
		return restore_node(s, &r, name, keep, err);
	}
	case T_HANDLE: {
		struct rec_handle r;

		if (len != sizeof(r))
			return sm_err(err, -EINVAL, "handle record of %u bytes",
				      len);
		memcpy(&r, v, sizeof(r));
		return restore_handle(s, &r, err);
	}
	case T_MAP: {
		struct rec_map r;

		if (len != sizeof(r))
			return sm_err(err, -EINVAL, "map record of %u bytes",
				      len);
		memcpy(&r, v, sizeof(r));
		return restore_map(s, &r, err);
	}
	default:
		return sm_err(err, -EINVAL, "unknown record type");
	}
}

/* Reads and checks the leading SERVER record; *off: the next record. */
static int read_server(const uint8_t *p, size_t len, struct rec_server *rs,
		       size_t *off, struct sm_error *err)
{
	uint32_t hdr[2], rlen;
	uint16_t type;

	if (len < 6 + sizeof(hdr) + sizeof(*rs))
		return sm_err(err, -EINVAL, "fuse: state too short");
	memcpy(&type, p, 2);
	memcpy(&rlen, p + 2, 4);
	memcpy(hdr, p + 6, sizeof(hdr));
	if (type != T_SERVER || rlen != sizeof(hdr) + sizeof(*rs) ||
	    hdr[0] != STATE_MAGIC || hdr[1] != STATE_VERSION)
		return sm_err(err, -EINVAL, "fuse: not a server state");
	memcpy(rs, p + 6 + sizeof(hdr), sizeof(*rs));
	*off = 6 + rlen;
	return check_server(rs, err);
}

int fuse_server_restore(struct fuse_server *s, const void *buf, size_t len,
			struct sm_error *err)
{
	const uint8_t *p = buf;
	struct collect keep = {0};
	struct rec_server rs = {0};
	uint32_t rlen;
	size_t off = 0;
	uint16_t type;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = s->by_id.n != 1 || s->handles.n != 0 || s->nmaps ? -EBUSY : 0;
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		return sm_err(err, rc, "fuse: restore into a used server");
	rc = read_server(p, len, &rs, &off, err);
	if (rc < 0)
		return rc;
	/* records are checked against these: every restored id is below */
	pthread_mutex_lock(&s->lock);
	s->next_nodeid = rs.next_nodeid;
	s->next_fh = rs.next_fh;
	pthread_mutex_unlock(&s->lock);
	for (;;) {
		if (len - off < 6) {
			rc = sm_err(err, -EINVAL, "fuse: state truncated");
			break;
		}
		memcpy(&type, p + off, 2);
		memcpy(&rlen, p + off + 2, 4);
		off += 6;
		if (type == T_END)
			break;
		if (rlen > len - off) {
			rc = sm_err(err, -EINVAL, "fuse: state truncated");
			break;
		}
		rc = restore_rec(s, type, p + off, rlen, &keep, err);
		if (rc < 0) {
			if (err)
				sm_err_wrap(err, rc,
					    "fuse: restore record %u at %zu",
					    type, off - 6);
			break;
		}
		off += rlen;
	}
	for (size_t i = 0; i < keep.n; i++)
		node_put(s, keep.v[i]);
	free(keep.v);
	if (rc == 0)
		__atomic_store_n(&s->minor, rs.minor, __ATOMIC_RELEASE);
	return rc;
}
