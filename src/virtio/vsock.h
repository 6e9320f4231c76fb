/*
 * virtio-vsock device, host side implemented in the VMM: the guest's
 * stream connections end in host file descriptors (one end of a
 * socketpair handed to whoever listens on that port).
 */
#ifndef SM_VIRTIO_VSOCK_H
#define SM_VIRTIO_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"

#define VSOCK_HOST_CID 2

struct virtio_dev;

/*
 * Called from the device's I/O thread when the guest connects to host
 * port `port`; takes ownership of fd (a non-blocking stream socket). A
 * negative return refuses the connection (the guest sees a reset).
 */
typedef int (*vsock_accept_fn)(void *opaque, uint32_t port, int fd);

/*
 * Caps on what the guest can make the device hold (issue 14,
 * docs/security.md "Resource caps"). Over max_conns a connection request
 * is answered with a reset; a packet that would take the bytes buffered
 * for slow host sockets past max_buffered resets its connection. Other
 * connections, the device and the VMM carry on.
 */
#define VSOCK_DEFAULT_MAX_CONNS 256
#define VSOCK_DEFAULT_MAX_BUFFERED (4u << 20)

struct virtio_vsock_config {
	uint64_t guest_cid; /* 0: 3 */
	vsock_accept_fn accept;
	void *accept_opaque;
	unsigned max_conns;  /* 0: VSOCK_DEFAULT_MAX_CONNS */
	size_t max_buffered; /* bytes, all connections; 0: the default */
};

/* What the device holds now, and what its caps refused so far. */
struct vsock_stats {
	unsigned conns;
	size_t buffered;
	uint64_t conns_refused;	  /* requests answered with a reset */
	uint64_t rst_dropped;	  /* ... whose reset found no room either */
	uint64_t buffered_resets; /* connections reset at max_buffered */
};

void vsock_get_stats(struct virtio_dev *dev, struct vsock_stats *st);

/*
 * Opens a connection from the host to the guest's `port`. Returns a
 * stream socket fd (the caller owns it) once the request is queued; if
 * the guest refuses, reads on it end with EOF.
 */
int vsock_connect(struct virtio_dev *dev, uint32_t port, struct sm_error *err);

#endif
