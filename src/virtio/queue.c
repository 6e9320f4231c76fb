#include <errno.h>
#include <string.h>

#include "virtio/queue.h"

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

static uint64_t avail_bytes(uint16_t size)
{
	return 4 + 2ULL * size + 2; /* flags, idx, ring, used_event */
}

static uint64_t used_bytes(uint16_t size)
{
	return 4 + 8ULL * size + 2; /* flags, idx, ring, avail_event */
}

const char *virtq_layout_error(const struct virtq *q,
			       const struct guest_mem *gm)
{
	if (q->size == 0 || q->size > VIRTQ_MAX_SIZE ||
	    (q->size & (q->size - 1)))
		return "size not a power of two up to 1024";
	if (!gm_ptr(gm, q->desc_gpa, 16ULL * q->size))
		return "descriptor table outside guest memory";
	if (!gm_ptr(gm, q->avail_gpa, avail_bytes(q->size)))
		return "available ring outside guest memory";
	if (!gm_ptr(gm, q->used_gpa, used_bytes(q->size)))
		return "used ring outside guest memory";
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return "ring address misaligned";
	return NULL;
}

int virtq_activate(struct virtq *q, const struct guest_mem *gm)
{
	if (virtq_layout_error(q, gm)) {
		q->broken = true;
		return -EINVAL;
	}
	q->ready = true;
	return 0;
}

static int fail(struct virtq *q)
{
	q->broken = true;
	return -EINVAL;
}

/*
 * The one read of descriptor `idx` (issue 14, docs/security.md): a 16-byte
 * copy into host memory, then a compiler barrier. Without the barrier the
 * compiler may drop the local copy and load a field from the table again
 * where it is used (it assumes nobody else writes that memory), so the
 * value checked and the value used could differ. After it, every use of
 * *d is the value checked.
 */
static void read_desc(const struct vring_desc *table, uint16_t idx,
		      struct vring_desc *d)
{
	memcpy(d, &table[idx], sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
}

/* Walks the chain starting at `head` into host iovecs. */
static int walk_chain(struct virtq *q, const struct guest_mem *gm,
		      uint16_t head, struct virtq_chain *c)
{
	const struct vring_desc *table =
	    gm_ptr(gm, q->desc_gpa, 16ULL * q->size);
	unsigned n = 0,
		 limit = q->size < VIRTQ_MAX_CHAIN ? q->size : VIRTQ_MAX_CHAIN;
	uint16_t idx = head;
	bool seen_writable = false;

	memset(c, 0, offsetof(struct virtq_chain, iov));
	c->head = head;
	for (;;) {
		struct vring_desc d;
		void *host;

		if (idx >= q->size || n >= limit || !table)
			return fail(q); /* out of range, or a loop */
		/* One copy: the driver may change the table under us. */
		read_desc(table, idx, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT || d.len == 0)
			return fail(q); /* not negotiated / malformed */
		host = gm_ptr(gm, d.addr, d.len);
		if (!host)
			return fail(q);
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			seen_writable = true;
			c->n_writable++;
			c->writable_len += d.len;
		} else {
			if (seen_writable)
				return fail(q); /* readable after writable */
			c->n_readable++;
			c->readable_len += d.len;
		}
		c->iov[n].iov_base = host;
		c->iov[n].iov_len = d.len;
		n++;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 1;
		idx = d.next;
	}
}

/* used->avail_event, after the used ring: notify us past this index. */
static void set_avail_event(struct virtq *q, const struct guest_mem *gm,
			    uint16_t idx)
{
	uint16_t *used_hdr = gm_ptr(gm, q->used_gpa, used_bytes(q->size));

	if (used_hdr)
		__atomic_store_n(&used_hdr[2 + 4 * (size_t)q->size], idx,
				 __ATOMIC_RELAXED);
}

int virtq_pop(struct virtq *q, const struct guest_mem *gm,
	      struct virtq_chain *chain)
{
	const uint16_t *avail;
	uint16_t avail_idx, head, pending;

	if (!q->ready || q->broken)
		return q->broken ? -EINVAL : 0;
	avail = gm_ptr(gm, q->avail_gpa, avail_bytes(q->size));
	if (!avail)
		return fail(q);
	avail_idx = __atomic_load_n(&avail[1], __ATOMIC_ACQUIRE);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0 && q->event_idx) {
		/*
		 * Empty: ask for a notification when the next buffer comes.
		 * The driver may have added one after our read and before
		 * seeing this avail_event, so look again after it is out.
		 */
		set_avail_event(q, gm, avail_idx);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = __atomic_load_n(&avail[1], __ATOMIC_ACQUIRE);
		pending = (uint16_t)(avail_idx - q->last_avail);
	}
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return fail(q); /* the index jumped: driver bug or attack */
	head = __atomic_load_n(&avail[2 + (q->last_avail % q->size)],
			       __ATOMIC_RELAXED);
	q->last_avail++;
	return walk_chain(q, gm, head, chain);
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

int virtq_push(struct virtq *q, const struct guest_mem *gm, uint16_t head,
	       uint32_t written)
{
	uint16_t *used_hdr;
	struct vring_used_elem *ring, elem = {.id = head, .len = written};

	if (!q->ready || q->broken)
		return -EINVAL;
	used_hdr = gm_ptr(gm, q->used_gpa, used_bytes(q->size));
	if (!used_hdr)
		return fail(q);
	ring = (struct vring_used_elem *)(used_hdr + 2);
	memcpy(&ring[q->used_idx % q->size], &elem, sizeof(elem));
	q->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(&used_hdr[1], q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool virtq_should_notify(struct virtq *q, const struct guest_mem *gm)
{
	const uint16_t *avail = gm_ptr(gm, q->avail_gpa, avail_bytes(q->size));
	uint16_t old = q->signalled_used, used_event;
	bool valid = q->signalled_valid;

	/* our used->idx store before the driver's flags or used_event */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!avail)
		return true;
	if (!q->event_idx)
		return !(__atomic_load_n(&avail[0], __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	if (!valid)
		return true;
	used_event = __atomic_load_n(&avail[2 + q->size], __ATOMIC_RELAXED);
	/* used_event in [old, used_idx): the driver waits for one of these */
	return (uint16_t)(q->used_idx - used_event - 1) <
	       (uint16_t)(q->used_idx - old);
}

static size_t copy_iov(const struct iovec *iov, unsigned n, size_t off,
		       void *buf, size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - off;
		if (chunk > len - done)
			chunk = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off,
			       (const uint8_t *)buf + done, chunk);
		else
			memcpy((uint8_t *)buf + done,
			       (const uint8_t *)iov[i].iov_base + off, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst,
			size_t len)
{
	return copy_iov(c->iov, c->n_readable, off, dst, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *c, size_t off,
			 const void *src, size_t len)
{
	return copy_iov(c->iov + c->n_readable, c->n_writable, off, (void *)src,
			len, true);
}
