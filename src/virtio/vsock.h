/*
 * virtio-vsock device, host side implemented in the VMM: the guest's
 * stream connections end in host file descriptors (one end of a
 * socketpair handed to whoever listens on that port).
 */
#ifndef SM_VIRTIO_VSOCK_H
#define SM_VIRTIO_VSOCK_H

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

struct virtio_vsock_config {
	uint64_t guest_cid; /* 0: 3 */
	vsock_accept_fn accept;
	void *accept_opaque;
};

/*
 * Opens a connection from the host to the guest's `port`. Returns a
 * stream socket fd (the caller owns it) once the request is queued; if
 * the guest refuses, reads on it end with EOF.
 */
int vsock_connect(struct virtio_dev *dev, uint32_t port, struct sm_error *err);

#endif
