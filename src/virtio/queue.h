/*
 * Split virtqueues (virtio 1.2, 2.7). The driver is not trusted: every
 * ring and descriptor address goes through gm_ptr(), every chain is
 * bounded by the queue size, and any violation marks the queue broken
 * instead of touching memory it should not.
 */
#ifndef SM_VIRTIO_QUEUE_H
#define SM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/guest_mem.h"

#define VIRTQ_MAX_SIZE 1024
/* Longest chain we accept (also bounded by the queue size). */
#define VIRTQ_MAX_CHAIN 128

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTIO_F_EVENT_IDX (1ULL << 29)

struct virtq {
	uint16_t size; /* QueueNum set by the driver */
	bool ready;
	bool broken; /* the driver violated the protocol */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail; /* next avail ring slot to consume */
	uint16_t used_idx;   /* our copy of used->idx */
	/*
	 * VIRTIO_F_EVENT_IDX (2.7.7, 2.7.10): the driver says in used_event
	 * when it wants an interrupt, we say in avail_event when we want a
	 * notification. Follows the negotiated features, never saved.
	 */
	bool event_idx;
	bool signalled_valid;	 /* signalled_used means something */
	uint16_t signalled_used; /* used_idx at the last interrupt decision */
};

/* One popped descriptor chain, as host iovecs. */
struct virtq_chain {
	uint16_t head;
	unsigned n_readable; /* iov[0 .. n_readable): device reads */
	unsigned n_writable; /* then iov[n_readable ..): device writes */
	size_t readable_len, writable_len;
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

/* Resets the queue to its just-created state. */
void virtq_reset(struct virtq *q);

/* Validates the ring addresses once the driver sets QueueReady. */
int virtq_activate(struct virtq *q, const struct guest_mem *gm);

/* What virtq_activate() would refuse in q's size and ring addresses, in
 * words (for messages), or NULL when it would accept them. */
const char *virtq_layout_error(const struct virtq *q,
			       const struct guest_mem *gm);

/*
 * Takes the next available chain. Returns 1 with *chain filled, 0 when
 * the queue is empty, -EINVAL (and marks the queue broken) when the
 * driver's data is malformed.
 */
int virtq_pop(struct virtq *q, const struct guest_mem *gm,
	      struct virtq_chain *chain);

/* Puts the last popped chain back (nothing was written to it). */
void virtq_unpop(struct virtq *q);

/* Returns a chain to the driver with `written` bytes written into it. */
int virtq_push(struct virtq *q, const struct guest_mem *gm, uint16_t head,
	       uint32_t written);

/*
 * Whether the driver wants an interrupt for the used buffers added since
 * the last call (with event_idx: whether used_event lies among them).
 */
bool virtq_should_notify(struct virtq *q, const struct guest_mem *gm);

/* Copies from/to a chain's readable/writable part; returns bytes copied. */
size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst,
			size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, size_t off,
			 const void *src, size_t len);

#endif
