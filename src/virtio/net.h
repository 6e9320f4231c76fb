/*
 * virtio-net device (src/virtio/net.c): Ethernet frames between the
 * guest and a network backend (src/net/net.h). The backend is not part
 * of a snapshot: a restored VM is attached to whatever backend its
 * config names (a fresh one per clone).
 */
#ifndef SM_VIRTIO_NET_H
#define SM_VIRTIO_NET_H

#include <stdint.h>

struct net_backend;

struct virtio_net_config {
	uint8_t mac[6];
	struct net_backend *backend; /* not owned by the device */
};

#endif
