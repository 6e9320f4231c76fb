/*
 * FUSE request decoding and dispatch. Every length in a request is checked
 * against the bytes actually present; the reply is assembled straight in
 * the caller's out scatter list, and a reply that does not fit becomes an
 * error reply (-ENOBUFS) rather than a truncated one.
 *
 * Read once (docs/security.md): the request lies in guest memory, and
 * another vCPU can rewrite it while we work on it. So the header and the
 * whole body (argument struct and names) are copied into host memory
 * before anything looks at them, and only the copy is used afterwards: a
 * name checked is the name passed to the backend. WRITE's payload and
 * the BATCH_FORGET / REMOVEMAPPING arrays are copied too, into host
 * buffers of their own (req_copy_in).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fuse/internal.h"
#include "util/error.h"

/* Copies len bytes at byte offset off of a scatter list into dst. */
static int sg_copy(const struct iovec *iov, int cnt, size_t off, void *dst,
		   size_t len)
{
	uint8_t *d = dst;

	for (int i = 0; i < cnt && len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len)
			n = len;
		memcpy(d, (const uint8_t *)iov[i].iov_base + off, n);
		d += n;
		len -= n;
		off = 0;
	}
	return len ? -EINVAL : 0;
}

/* Writes src at payload offset off (after the out header). */
static int sg_put(struct req *r, size_t off, const void *src, size_t len)
{
	const uint8_t *p = src;

	off += sizeof(struct fuse_out_header);
	for (int i = 0; i < r->out_cnt && len; i++) {
		size_t n;

		if (off >= r->out[i].iov_len) {
			off -= r->out[i].iov_len;
			continue;
		}
		n = r->out[i].iov_len - off;
		if (n > len)
			n = len;
		memcpy((uint8_t *)r->out[i].iov_base + off, p, n);
		p += n;
		len -= n;
		off = 0;
	}
	return len ? -ENOBUFS : 0;
}

int reply_data(struct req *r, const void *data, size_t len)
{
	if (len > r->out_cap - r->out_len)
		return -ENOBUFS;
	if (sg_put(r, r->out_len, data, len) < 0)
		return -ENOBUFS;
	r->out_len += len;
	return 0;
}

int out_iov(struct req *r, size_t off, size_t len, struct iovec *iov, int max)
{
	int n = 0;

	off += sizeof(struct fuse_out_header);
	for (int i = 0; i < r->out_cnt && len && n < max; i++) {
		size_t k;

		if (off >= r->out[i].iov_len) {
			off -= r->out[i].iov_len;
			continue;
		}
		k = r->out[i].iov_len - off;
		if (k > len)
			k = len;
		iov[n].iov_base = (uint8_t *)r->out[i].iov_base + off;
		iov[n++].iov_len = k;
		len -= k;
		off = 0;
	}
	return n;
}

int req_copy_in(struct req *r, size_t off, void *dst, size_t len)
{
	if (off > r->h.len || len > r->h.len - off)
		return -EINVAL;
	return sg_copy(r->in, r->in_cnt, off, dst, len);
}

const void *body_take(struct req *r, size_t *off, size_t len)
{
	const void *p;

	if (*off > r->blen || len > r->blen - *off)
		return NULL;
	p = r->body + *off;
	*off += len;
	return p;
}

/* r->body is the host copy, so the string found is the string used. */
const char *body_str(struct req *r, size_t *off, size_t max)
{
	const char *p = (const char *)r->body + *off;
	const char *end;
	size_t room;

	if (*off >= r->blen)
		return NULL;
	room = r->blen - *off;
	end = memchr(p, 0, room < max + 1 ? room : max + 1);
	if (!end)
		return NULL;
	*off += (size_t)(end - p) + 1;
	return p;
}

int check_name(const char *name)
{
	size_t len;

	if (!name || !name[0] || strchr(name, '/'))
		return -EINVAL;
	len = strlen(name);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

void fill_attr(struct fuse_attr *a, const struct stat *st)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = st->st_size;
	a->blocks = st->st_blocks;
	a->atime = st->st_atim.tv_sec;
	a->mtime = st->st_mtim.tv_sec;
	a->ctime = st->st_ctim.tv_sec;
	a->atimensec = st->st_atim.tv_nsec;
	a->mtimensec = st->st_mtim.tv_nsec;
	a->ctimensec = st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	/*
	 * 0: the guest uses its page size. Passing the host's st_blksize
	 * (9p: the msize, ZFS: 128K) breaks DAX, which needs i_blkbits ==
	 * PAGE_SHIFT: every close of a mapped file then fails with EIO.
	 */
	a->blksize = 0;
}

void entry_out(struct fuse_server *s, struct fuse_entry_out *e, struct fnode *n,
	       const struct stat *st)
{
	memset(e, 0, sizeof(*e));
	e->nodeid = n->nodeid;
	e->entry_valid = s->timeout_ms / 1000;
	e->entry_valid_nsec = (s->timeout_ms % 1000) * 1000000;
	e->attr_valid = e->entry_valid;
	e->attr_valid_nsec = e->entry_valid_nsec;
	fill_attr(&e->attr, st);
}

int reply_entry(struct req *r, struct fnode *n, const struct stat *st)
{
	struct fuse_entry_out e;

	entry_out(r->s, &e, n, st);
	return reply_data(r, &e, sizeof(e));
}

/*
 * Default caps. With the passthrough backend every node holds an O_PATH fd
 * and every open handle an fd, in a process whose one fd table also serves
 * vsock, slirp, snapshot files and every other VM in it. The defaults
 * follow the soft RLIMIT_NOFILE (the CLI raises it to the hard limit at
 * start; an embedder sets its own): one server's nodes stay under a quarter of
 * the soft limit and its handles under an eighth, leaving well over half of the
 * table to the rest of the process. The fixed ceilings are far above what a
 * normal guest holds (a Linux guest keeps one node per cached inode and one
 * handle per open file) and bound the memory of the tables where the limit is
 * huge. A share with a bigger working set needs a higher `ulimit -n` or
 * explicit caps in the config.
 */
#define NODES_CEIL 16384
#define HANDLES_CEIL 4096
#define CAP_FLOOR 64 /* below this a share is not usable at all */

/*
 * DAX: every mapping record is a mapping of the process (one or two VMAs),
 * and vm.max_map_count (65530 by default) is shared with malloc and every
 * other VM. Linux maps the window in 2 MiB ranges, so a Linux guest never
 * holds more than window / 2 MiB mappings: that is the default, at least
 * DAX_MAPS_FLOOR and at most DAX_MAPS_CEIL (a 16 GiB window; with the holes
 * between them that stays under a quarter of max_map_count).
 */
#define DAX_RANGE (2ULL << 20)
#define DAX_MAPS_FLOOR 16
#define DAX_MAPS_CEIL 8192

static size_t dax_maps_default(uint64_t window)
{
	uint64_t n = window / DAX_RANGE;

	if (n < DAX_MAPS_FLOOR)
		return DAX_MAPS_FLOOR;
	return n > DAX_MAPS_CEIL ? DAX_MAPS_CEIL : (size_t)n;
}

static size_t nofile_soft(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return SIZE_MAX;
	return (size_t)rl.rlim_cur;
}

static size_t cap_default(size_t ceil, size_t share)
{
	size_t v = share < ceil ? share : ceil;

	return v < CAP_FLOOR ? CAP_FLOOR : v;
}

static void node_caps(const struct fuse_server_config *c, size_t *nodes,
		      size_t *handles)
{
	size_t soft = nofile_soft();

	*nodes =
	    c->max_nodes ? c->max_nodes : cap_default(NODES_CEIL, soft / 4);
	*handles = c->max_handles ? c->max_handles
				  : cap_default(HANDLES_CEIL, soft / 8);
}

/* A node holds one fd, a handle one; a request opens at most a few more
 * for a moment (a re-open, a DAX map, a create's two). */
#define FD_SLACK 64

size_t fuse_server_fd_budget(const struct fuse_server_config *c)
{
	size_t nodes, handles;

	node_caps(c, &nodes, &handles);
	return nodes + handles + FD_SLACK;
}

static void set_caps(struct fuse_server *s, const struct fuse_server_config *c)
{
	node_caps(c, &s->max_nodes, &s->max_handles);
	s->max_maps = c->max_dax_mappings
			  ? c->max_dax_mappings
			  : dax_maps_default(c->dax_window_size);
}

static FILE *open_trace(const char *spec, int *owned)
{
	*owned = 0;
	if (!spec || !spec[0] || strcmp(spec, "0") == 0)
		return NULL;
	if (strcmp(spec, "1") == 0 || strcmp(spec, "stderr") == 0)
		return stderr;
	*owned = 1;
	return fopen(spec, "ae");
}

int fuse_server_new(const struct fuse_server_config *cfg,
		    struct fuse_server **out, struct sm_error *err)
{
	struct fuse_server *s;
	const char *trace;
	int rc;

	if (!cfg || !cfg->ops || !cfg->backend)
		return sm_err(err, -EINVAL, "fuse: no backend");
	if (cfg->dax && (!cfg->dax->map || !cfg->dax->unmap))
		return sm_err(err, -EINVAL, "fuse: incomplete DAX callbacks");
	if (cfg->dax_align & (cfg->dax_align - 1))
		return sm_err(err, -EINVAL, "fuse: DAX alignment %u",
			      cfg->dax_align);
	s = calloc(1, sizeof(*s));
	if (!s)
		return sm_err(err, -ENOMEM, "fuse: server");
	s->ops = cfg->ops;
	s->be = cfg->backend;
	s->read_only = cfg->read_only;
	s->allow_priv_xattrs = cfg->allow_priv_xattrs;
	s->allow_fifos = cfg->allow_fifos;
	s->max_write = cfg->max_write ? cfg->max_write : 1 << 20;
	if (s->max_write < 4096)
		s->max_write = 4096;
	s->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 1000;
	s->dax = cfg->dax;
	s->dax_opaque = cfg->dax_opaque;
	s->dax_size = cfg->dax_window_size;
	s->dax_align = cfg->dax_align ? cfg->dax_align : 4096;
	set_caps(s, cfg);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->dax_lock, NULL);
	rc = nodes_init(s, err);
	if (rc < 0) {
		fuse_server_free(s);
		return rc;
	}
	trace = cfg->trace ? cfg->trace : getenv("SUPERMACHINE_FUSE_TRACE");
	s->trace = open_trace(trace, &s->trace_owned);
	if (trace && trace[0] && strcmp(trace, "0") && !s->trace) {
		rc = sm_err_errno(err, "fuse: trace file %s", trace);
		fuse_server_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void fuse_server_free(struct fuse_server *s)
{
	if (!s)
		return;
	dax_fini(s);
	nodes_fini(s);
	if (s->trace_owned && s->trace)
		fclose(s->trace);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->dax_lock);
	free(s);
}

uint32_t fuse_server_minor(struct fuse_server *s)
{
	uint32_t m;

	pthread_mutex_lock(&s->lock);
	m = s->minor;
	pthread_mutex_unlock(&s->lock);
	return m;
}

static void trace_req(struct fuse_server *s, const struct fuse_in_header *h,
		      int err, size_t out_len)
{
	/* One fprintf per line so that threads do not interleave. */
	fprintf(s->trace,
		"fuse: unique=%llu op=%s(%u) nodeid=%llu len=%u uid=%u -> "
		"%d out=%zu\n",
		(unsigned long long)h->unique, fuse_opname(h->opcode),
		h->opcode, (unsigned long long)h->nodeid, h->len, h->uid, err,
		out_len);
	fflush(s->trace);
}

/* Where a request body is copied: most fit in small, none is ever used in
 * place in guest memory. */
struct body_buf {
	void *heap; /* bodies over sizeof(small), at most FUSE_MAX_BODY + 1 */
	uint64_t small[1024 / sizeof(uint64_t)]; /* aligned for the structs */
};

/* Copies the len body bytes after the header into host memory. */
static int copy_body(struct req *r, size_t len, struct body_buf *b)
{
	uint8_t *dst = (uint8_t *)b->small;

	if (len + 1 > sizeof(b->small)) {
		dst = b->heap = malloc(len + 1);
		if (!dst)
			return -ENOMEM;
	}
	if (sg_copy(r->in, r->in_cnt, sizeof(r->h), dst, len) < 0)
		return -EINVAL;
	dst[len] = 0; /* a zero byte past the end keeps string scans bounded */
	r->body = dst;
	r->blen = len;
	return 0;
}

/* Validates the request and runs its handler; returns 0 or -errno. */
static int dispatch(struct req *r, const struct fuse_opdesc **dp,
		    struct body_buf *b)
{
	struct fuse_server *s = r->s;
	const struct fuse_opdesc *d;
	size_t body_len = r->h.len - sizeof(r->h);
	int init, rc;

	if (r->h.opcode >= FUSE_OP_MAX || !fuse_ops_table[r->h.opcode].fn)
		return -ENOSYS;
	d = *dp = &fuse_ops_table[r->h.opcode];
	if (r->h.total_extlen)
		return -EINVAL; /* extensions are never negotiated */
	/* no lock on the hot path: INIT/DESTROY store it atomically */
	init = __atomic_load_n(&s->minor, __ATOMIC_ACQUIRE) != 0;
	if (!init && !(d->flags & OPF_PREINIT))
		return -EIO;
	if (s->read_only && (d->flags & OPF_WRITES))
		return -EROFS;
	/* WRITE and BATCH_FORGET read their arrays from the scatter list. */
	if (r->h.opcode == FUSE_WRITE || r->h.opcode == FUSE_BATCH_FORGET)
		body_len = body_len < d->min_in ? body_len : d->min_in;
	if (body_len > FUSE_MAX_BODY)
		return -E2BIG;
	if (body_len < d->min_in)
		return -EINVAL;
	rc = copy_body(r, body_len, b);
	if (rc < 0)
		return rc;
	if (d->flags & OPF_NODE) {
		r->node = node_get(s, r->h.nodeid);
		if (!r->node)
			return -ENOENT;
		if (!r->node->ino)
			return -ESTALE;
	}
	return d->fn(r);
}

int fuse_server_handle(struct fuse_server *s, const struct iovec *in,
		       int in_cnt, const struct iovec *out, int out_cnt,
		       size_t *out_len)
{
	const struct fuse_opdesc *d = NULL;
	struct fuse_out_header oh;
	struct body_buf body;
	struct req r;
	size_t cap = 0;
	int rc;

	*out_len = 0;
	body.heap = NULL;
	memset(&r, 0, sizeof(r));
	if (!s || in_cnt <= 0 || out_cnt < 0 || !in)
		return -EINVAL;
	for (int i = 0; i < in_cnt; i++) {
		if (r.in_total + in[i].iov_len < r.in_total)
			return -EINVAL;
		r.in_total += in[i].iov_len;
	}
	for (int i = 0; i < out_cnt; i++) {
		if (cap + out[i].iov_len < cap)
			return -EINVAL;
		cap += out[i].iov_len;
	}
	if (sg_copy(in, in_cnt, 0, &r.h, sizeof(r.h)) < 0)
		return -EINVAL; /* no unique to answer to */
	r.s = s;
	r.in = in;
	r.in_cnt = in_cnt;
	r.out = out;
	r.out_cnt = out_cnt;
	r.out_cap = cap > sizeof(oh) ? cap - sizeof(oh) : 0;
	r.ctx.uid = r.h.uid;
	r.ctx.gid = r.h.gid;
	r.ctx.pid = r.h.pid;
	if (r.h.len < sizeof(r.h) || r.h.len > r.in_total)
		rc = -EINVAL;
	else
		rc = dispatch(&r, &d, &body);
	node_put(s, r.node);
	free(body.heap);
	if (d && (d->flags & OPF_NOREPLY)) {
		if (__builtin_expect(s->trace != NULL, 0))
			trace_req(s, &r.h, rc, 0);
		return 0;
	}
	if (cap < sizeof(oh))
		return -ENOBUFS;
	if (rc > 0)
		rc = 0;
	if (rc < 0)
		r.out_len = 0;
	if (rc <= -1000)
		rc = -EIO;
	oh.len = sizeof(oh) + r.out_len;
	oh.error = rc;
	oh.unique = r.h.unique;
	/* The header goes first; it may be split over descriptors. */
	for (size_t i = 0, off = 0; i < (size_t)out_cnt && off < sizeof(oh);
	     i++) {
		size_t k = out[i].iov_len;

		if (k > sizeof(oh) - off)
			k = sizeof(oh) - off;
		memcpy(out[i].iov_base, (uint8_t *)&oh + off, k);
		off += k;
	}
	*out_len = oh.len;
	if (__builtin_expect(s->trace != NULL, 0))
		trace_req(s, &r.h, rc, oh.len);
	return 0;
}
