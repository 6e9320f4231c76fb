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

/*
 * Frames for the guest wait in a bounded queue while it has posted no RX
 * buffer (issue 14, docs/security.md "Resource caps"); past rx_queue_max
 * each new frame is dropped and counted (TCP retransmits).
 */
#define VIRTIO_NET_DEFAULT_RX_QUEUE 64
#define VIRTIO_NET_MAX_RX_QUEUE 4096

struct virtio_net_config {
	uint8_t mac[6];
	struct net_backend *backend; /* not owned by the device */
	unsigned rx_queue_max; /* frames; 0: VIRTIO_NET_DEFAULT_RX_QUEUE */
};

struct virtio_net_stats {
	unsigned rx_queued;  /* frames waiting for RX buffers now */
	uint64_t rx_dropped; /* frames dropped: queue full, or not running */
	uint64_t tx_bad;     /* malformed TX chains dropped */
};

struct virtio_dev;
void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *st);

#endif
