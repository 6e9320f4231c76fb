/*
 * DAX window bookkeeping: SETUPMAPPING/REMOVEMAPPING are validated here
 * (alignment, window bounds, overflow, file type, read-only) and carried
 * out by the transport's callbacks. Every live mapping is recorded with its
 * node so that a snapshot can save the window layout and restore it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse/internal.h"

/* Removes [off, off+len) from the records, splitting partial overlaps. */
static int forget_range(struct fuse_server *s, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;

	for (size_t i = 0; i < s->nmaps;) {
		struct dax_map *m = &s->maps[i];
		uint64_t mend = m->moff + m->len;

		if (mend <= off || m->moff >= end) {
			i++;
			continue;
		}
		if (m->moff < off && mend > end) {
			/* a hole in the middle: keep both sides */
			struct dax_map right = *m;

			if (s->nmaps == s->capmaps)
				return -ENOMEM; /* capmaps keeps one spare */
			right.foff += end - m->moff;
			right.moff = end;
			right.len = mend - end;
			right.node = node_get(s, m->node->nodeid);
			m->len = off - m->moff;
			s->maps[s->nmaps++] = right;
			return 0;
		}
		if (m->moff < off) {
			m->len = off - m->moff;
			i++;
		} else if (mend > end) {
			m->foff += end - m->moff;
			m->len = mend - end;
			m->moff = end;
			i++;
		} else {
			node_put(s, m->node);
			*m = s->maps[--s->nmaps];
		}
	}
	return 0;
}

/*
 * How the record count changes when [off, off+len) is cleared: -1 for each
 * record inside it, +1 when it punches a hole in one. Exact, so that at
 * the cap a guest can still replace or remove what it mapped.
 */
static long clear_delta(struct fuse_server *s, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	long d = 0;

	for (size_t i = 0; i < s->nmaps; i++) {
		uint64_t moff = s->maps[i].moff, mend = moff + s->maps[i].len;

		if (mend <= off || moff >= end)
			continue;
		if (moff < off && mend > end)
			d++;
		else if (moff >= off && mend <= end)
			d--;
	}
	return d;
}

/* -ENOSPC when clearing the range and adding `adds` records would go over
 * the cap: every record is a mapping of the process (vm.max_map_count). */
static int check_cap(struct fuse_server *s, uint64_t off, uint64_t len,
		     long adds)
{
	long d = clear_delta(s, off, len) + adds;

	return d > 0 && s->nmaps + (size_t)d > s->max_maps ? -ENOSPC : 0;
}

static int reserve(struct fuse_server *s)
{
	struct dax_map *m;
	size_t cap;

	/* two spare slots: one for the new record, one for a split */
	if (s->nmaps + 2 <= s->capmaps)
		return 0;
	cap = s->capmaps ? s->capmaps * 2 : 64;
	m = realloc(s->maps, cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	s->maps = m;
	s->capmaps = cap;
	return 0;
}

static int check_range(struct fuse_server *s, uint64_t moff, uint64_t len)
{
	uint64_t a = s->dax_align - 1;

	if (!len || (moff & a) || (len & a))
		return -EINVAL;
	if (moff >= s->dax_size || len > s->dax_size - moff)
		return -EINVAL;
	return 0;
}

/* Maps and records; called with dax_lock held and a referenced node. */
static int map_locked(struct fuse_server *s, struct fnode *n, uint64_t moff,
		      uint64_t foff, uint64_t len, int wr)
{
	struct dax_map rec;
	int fd, rc;

	rc = check_cap(s, moff, len, 1);
	if (rc == 0)
		rc = reserve(s);
	if (rc < 0)
		return rc;
	fd = s->ops->map_fd(s->be, n->ino, wr);
	if (fd < 0)
		return fd;
	rc = s->dax->map(s->dax_opaque, moff, fd, foff, len, wr);
	close(fd);
	if (rc < 0)
		return rc <= -1000 ? -EIO : rc;
	forget_range(s, moff, len);
	rec.moff = moff;
	rec.len = len;
	rec.foff = foff;
	rec.writable = wr;
	rec.node = node_get(s, n->nodeid);
	s->maps[s->nmaps++] = rec;
	return 0;
}

int dax_setup(struct req *r)
{
	const struct fuse_setupmapping_in *in = (const void *)r->body;
	struct fuse_server *s = r->s;
	int wr = (in->flags & FUSE_SETUPMAPPING_FLAG_WRITE) != 0;
	int rc;

	if (!s->dax)
		return -ENOSYS;
	if (in->flags &
	    ~(FUSE_SETUPMAPPING_FLAG_WRITE | FUSE_SETUPMAPPING_FLAG_READ))
		return -EINVAL;
	rc = check_range(s, in->moffset, in->len);
	if (rc < 0)
		return rc;
	if ((in->foffset & (s->dax_align - 1)) ||
	    in->foffset > (uint64_t)INT64_MAX - in->len)
		return -EINVAL;
	if (r->node->type != S_IFREG)
		return -EINVAL;
	if (wr && s->read_only)
		return -EROFS;
	if (wr) /* the writes through the mapping never reach us */
		policy_kill_priv_unflagged(r, r->node, NULL);
	pthread_mutex_lock(&s->dax_lock);
	rc = map_locked(s, r->node, in->moffset, in->foffset, in->len, wr);
	pthread_mutex_unlock(&s->dax_lock);
	return rc;
}

int dax_remove(struct req *r)
{
	const struct fuse_removemapping_in *in = (const void *)r->body;
	size_t off = sizeof(r->h) + sizeof(*in);
	struct fuse_server *s = r->s;
	struct fuse_removemapping_one one;
	size_t avail = (r->h.len - off) / sizeof(one);
	int rc = 0;

	if (!s->dax)
		return -ENOSYS;
	if (in->count == 0 || in->count > avail)
		return -EINVAL;
	pthread_mutex_lock(&s->dax_lock);
	for (uint32_t i = 0; i < in->count && rc == 0;
	     i++, off += sizeof(one)) {
		rc = req_copy_in(r, off, &one, sizeof(one));
		if (rc == 0)
			rc = reserve(s);
		if (rc < 0)
			break;
		if (one.moffset == 0 && one.len == UINT64_MAX)
			one.len = s->dax_size; /* the whole window */
		rc = check_range(s, one.moffset, one.len);
		if (rc == 0)
			rc = check_cap(s, one.moffset, one.len, 0);
		if (rc < 0)
			break;
		rc = s->dax->unmap(s->dax_opaque, one.moffset, one.len);
		if (rc <= -1000)
			rc = -EIO;
		if (rc == 0)
			rc = forget_range(s, one.moffset, one.len);
	}
	pthread_mutex_unlock(&s->dax_lock);
	return rc;
}

void dax_fini(struct fuse_server *s)
{
	/* the node table goes next and takes the referenced nodes with it */
	free(s->maps);
	s->maps = NULL;
	s->nmaps = s->capmaps = 0;
}

int dax_restore_one(struct fuse_server *s, const struct fuse_dax_mapping *m)
{
	struct fnode *n;
	int rc;

	if (!s->dax)
		return -ENOSYS;
	rc = check_range(s, m->window_off, m->len);
	if (rc < 0 || (m->file_off & (s->dax_align - 1)) ||
	    m->file_off > (uint64_t)INT64_MAX - m->len)
		return -EINVAL;
	n = node_get(s, m->nodeid);
	if (!n)
		return -ENOENT;
	if (!n->ino || n->type != S_IFREG) {
		node_put(s, n);
		return -ESTALE;
	}
	pthread_mutex_lock(&s->dax_lock);
	rc = map_locked(s, n, m->window_off, m->file_off, m->len,
			m->writable && !s->read_only);
	pthread_mutex_unlock(&s->dax_lock);
	node_put(s, n);
	return rc;
}

size_t fuse_server_dax_mappings(struct fuse_server *s,
				struct fuse_dax_mapping *m, size_t max)
{
	size_t n;

	pthread_mutex_lock(&s->dax_lock);
	n = s->nmaps;
	for (size_t i = 0; i < n && i < max; i++) {
		m[i].window_off = s->maps[i].moff;
		m[i].len = s->maps[i].len;
		m[i].file_off = s->maps[i].foff;
		m[i].nodeid = s->maps[i].node->nodeid;
		m[i].writable = s->maps[i].writable;
	}
	pthread_mutex_unlock(&s->dax_lock);
	return n;
}
