/*
 * virtio-net (virtio 1.2 section 5.1): one RX and one TX queue, a MAC
 * address and link status, event indices, and checksum offload both ways
 * but no segmentation offload (so every frame fits one MTU-sized buffer:
 * NET_MAX_FRAME). The two took guest -> host from 0.59 to about 1.0 of
 * QEMU's under emulation (docs/networking.md).
 *
 * The guest is not trusted: a TX chain shorter than the header, with a
 * runt or oversized frame, is returned and dropped (counted), nothing
 * else. Frames for the guest come from the backend's thread; when the
 * guest has posted no RX buffer they wait in a small bounded queue and
 * past that are dropped, so a slow or stuck guest never blocks the
 * backend, the VMM or other VMs (TCP retransmits).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "util/error.h"
#include "virtio/device.h"
#include "virtio/net.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_CSUM (1ULL << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ULL << 1)
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define VIRTIO_NET_F_STATUS (1ULL << 16)
#define VIRTIO_NET_S_LINK_UP 1
#define NET_QUEUE_SIZE 256
/* virtio_net_hdr with num_buffers: always 12 bytes in virtio 1.x */
#define NET_HDR_LEN 12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0

enum { Q_RX, Q_TX, NET_NUM_QUEUES };

struct pending {
	uint16_t len;
	uint8_t data[NET_MAX_FRAME];
};

struct net_dev {
	struct virtio_net_config cfg;
	uint16_t status;
	struct pending *rxq; /* frames waiting for buffers, rx_max at most */
	unsigned rx_head, rx_count, rx_max;
	uint64_t tx_bad, rx_dropped;
	uint8_t frame[NET_MAX_FRAME];
};

static bool running(const struct virtio_dev *dev)
{
	return (dev->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(dev->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- guest -> network ---- */

/* The Internet checksum (RFC 1071) of buf, not yet complemented. */
static uint16_t csum_fold(const uint8_t *buf, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (len & 1)
		sum += (uint32_t)buf[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * VIRTIO_NET_F_CSUM (5.1.6.2): the guest left the checksum from
 * csum_start to the end for us, its field at csum_start + csum_offset
 * already holding the pseudo-header sum. false: a header that points
 * outside the frame, or asks for segmentation we never offered.
 */
static bool complete_tx_csum(const uint8_t *hdr, uint8_t *frame, size_t len)
{
	uint16_t start = (uint16_t)(hdr[6] | hdr[7] << 8);
	uint16_t off = (uint16_t)(hdr[8] | hdr[9] << 8);
	uint16_t sum;

	if (hdr[1] != VIRTIO_NET_HDR_GSO_NONE)
		return false;
	if (!(hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return true;
	if ((size_t)start + off + 2 > len)
		return false;
	sum = (uint16_t)~csum_fold(frame + start, len - start);
	frame[start + off] = (uint8_t)(sum >> 8);
	frame[start + off + 1] = (uint8_t)sum;
	return true;
}

static void process_tx(struct virtio_dev *dev, struct net_dev *n)
{
	struct virtq *q = &dev->queues[Q_TX];
	struct virtq_chain ch;
	bool used = false;
	int ret;

	while ((ret = virtq_pop(q, dev->mem, &ch)) == 1) {
		uint8_t hdr[NET_HDR_LEN];
		size_t len = ch.readable_len >= NET_HDR_LEN
				 ? ch.readable_len - NET_HDR_LEN
				 : 0;

		if (len >= NET_MIN_FRAME && len <= NET_MAX_FRAME &&
		    virtq_chain_read(&ch, 0, hdr, NET_HDR_LEN) == NET_HDR_LEN &&
		    virtq_chain_read(&ch, NET_HDR_LEN, n->frame, len) == len &&
		    complete_tx_csum(hdr, n->frame, len))
			net_send(n->cfg.backend, n->frame, len);
		else
			n->tx_bad++; /* only this frame is lost */
		if (virtq_push(q, dev->mem, ch.head, 0))
			break;
		used = true;
	}
	if (used)
		virtio_signal_used(dev, Q_TX);
	if (ret < 0)
		virtio_fail(dev);
}

/* ---- network -> guest ---- */

/* Puts one frame in the next RX buffer; false when there is none. */
static bool put_rx(struct virtio_dev *dev, struct net_dev *n, const void *frame,
		   size_t len)
{
	struct virtq *q = &dev->queues[Q_RX];
	struct virtq_chain ch;
	uint8_t hdr[NET_HDR_LEN] = {0};
	int ret = virtq_pop(q, dev->mem, &ch);

	if (ret < 0)
		virtio_fail(dev);
	if (ret != 1)
		return false;
	if (ch.writable_len < NET_HDR_LEN + len) {
		/* a buffer too small for an MTU frame: the guest's bug,
		 * the frame is dropped and the buffer given back empty */
		virtq_push(q, dev->mem, ch.head, 0);
		return true;
	}
	/* frames slirp built carry correct checksums: spare the guest
	 * checking them again (a tap's come from anywhere) */
	if ((dev->driver_features & VIRTIO_NET_F_GUEST_CSUM) &&
	    n->cfg.backend->rx_checksummed)
		hdr[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	hdr[10] = 1; /* num_buffers (le16) */
	virtq_chain_write(&ch, 0, hdr, sizeof(hdr));
	virtq_chain_write(&ch, NET_HDR_LEN, frame, len);
	virtq_push(q, dev->mem, ch.head, (uint32_t)(NET_HDR_LEN + len));
	return true;
}

/* Delivers queued frames while the guest has buffers. */
static void flush_rx(struct virtio_dev *dev, struct net_dev *n)
{
	bool used = false;

	while (n->rx_count && running(dev)) {
		struct pending *p = &n->rxq[n->rx_head];

		if (!put_rx(dev, n, p->data, p->len))
			break;
		n->rx_head = (n->rx_head + 1) % n->rx_max;
		n->rx_count--;
		used = true;
	}
	if (used)
		virtio_signal_used(dev, Q_RX);
}

/* The backend's receive callback (its thread). */
static void net_rx(void *opaque, const void *frame, size_t len)
{
	struct virtio_dev *dev = opaque;
	struct net_dev *n = dev->priv;

	pthread_mutex_lock(&dev->lock);
	if (!running(dev) || !dev->queues[Q_RX].ready) {
		n->rx_dropped++;
	} else {
		/* frozen for a snapshot: only the pending queue, no guest
		 * memory (net_thaw delivers it) */
		if (!dev->frozen)
			flush_rx(dev, n);
		if (!dev->frozen && !n->rx_count &&
		    put_rx(dev, n, frame, len)) {
			virtio_signal_used(dev, Q_RX);
		} else if (n->rx_count < n->rx_max) {
			struct pending *p =
			    &n->rxq[(n->rx_head + n->rx_count) % n->rx_max];

			memcpy(p->data, frame, len);
			p->len = (uint16_t)len;
			n->rx_count++;
		} else {
			n->rx_dropped++;
		}
	}
	pthread_mutex_unlock(&dev->lock);
}

/* ---- device ops ---- */

static void net_destroy(struct virtio_dev *dev)
{
	struct net_dev *n = dev->priv;

	if (!n)
		return;
	/* waits out a delivery in progress; none comes after */
	net_attach(n->cfg.backend, NULL, NULL);
	free(n->rxq);
	free(n);
	dev->priv = NULL;
}

static int net_init(struct virtio_dev *dev, const void *cfgp,
		    struct sm_error *err)
{
	const struct virtio_net_config *cfg = cfgp;
	struct net_dev *n;
	unsigned rx_max;

	if (!cfg || !cfg->backend)
		return sm_err(err, -EINVAL, "virtio-net: no network backend");
	rx_max =
	    cfg->rx_queue_max ? cfg->rx_queue_max : VIRTIO_NET_DEFAULT_RX_QUEUE;
	if (rx_max > VIRTIO_NET_MAX_RX_QUEUE)
		return sm_err(err, -EINVAL,
			      "virtio-net: an RX queue of %u frames is over "
			      "the %u allowed",
			      rx_max, VIRTIO_NET_MAX_RX_QUEUE);
	n = calloc(1, sizeof(*n));
	if (!n || !(n->rxq = calloc(rx_max, sizeof(*n->rxq)))) {
		free(n);
		return sm_err(err, -ENOMEM, "out of memory");
	}
	n->cfg = *cfg;
	n->rx_max = rx_max;
	n->status = VIRTIO_NET_S_LINK_UP;
	dev->priv = n;
	net_attach(cfg->backend, net_rx, dev);
	return 0;
}

static void net_reset(struct virtio_dev *dev)
{
	struct net_dev *n = dev->priv;

	n->rx_count = 0;
}

static void net_thaw(struct virtio_dev *dev)
{
	if (running(dev))
		flush_rx(dev, dev->priv);
}

static void net_notify(struct virtio_dev *dev, unsigned queue)
{
	struct net_dev *n = dev->priv;

	if (queue == Q_TX)
		process_tx(dev, n);
	else if (queue == Q_RX)
		flush_rx(dev, n);
}

static void net_config_read(struct virtio_dev *dev, uint64_t off, uint8_t *data,
			    uint32_t len)
{
	struct net_dev *n = dev->priv;
	uint8_t cfg[8];

	memcpy(cfg, n->cfg.mac, 6);
	cfg[6] = (uint8_t)n->status;
	cfg[7] = (uint8_t)(n->status >> 8);
	if (off < sizeof(cfg))
		memcpy(data, cfg + off,
		       len < sizeof(cfg) - off ? len : sizeof(cfg) - off);
}

void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *st)
{
	struct net_dev *n = dev->priv;

	pthread_mutex_lock(&dev->lock);
	*st = (struct virtio_net_stats){.rx_queued = n->rx_count,
					.rx_dropped = n->rx_dropped,
					.tx_bad = n->tx_bad};
	pthread_mutex_unlock(&dev->lock);
}

static int net_save(struct virtio_dev *dev, struct sm_buf *out)
{
	struct net_dev *n = dev->priv;

	/* The MAC the guest read at probe time; the backend is not saved. */
	sm_buf_put(out, n->cfg.mac, 6);
	sm_buf_put_u16(out, n->status);
	return out->oom ? -ENOMEM : 0;
}

static int net_restore(struct virtio_dev *dev, const void *data, size_t len,
		       struct sm_error *err)
{
	struct net_dev *n = dev->priv;
	struct sm_reader r;
	uint8_t mac[6];
	uint16_t status;

	sm_reader_init(&r, data, len);
	sm_get(&r, mac, 6);
	status = sm_get_u16(&r);
	if (r.bad || r.left)
		return sm_err(err, -EINVAL, "record of %zu bytes, not 8", len);
	if (status != VIRTIO_NET_S_LINK_UP)
		return sm_err(err, -EINVAL, "link status %#x", status);
	memcpy(n->cfg.mac, mac, 6);
	n->rx_count = 0;
	return 0;
}

const struct virtio_dev_ops virtio_net_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .features = VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_MAC |
		VIRTIO_NET_F_STATUS | VIRTIO_F_EVENT_IDX,
    .num_queues = NET_NUM_QUEUES,
    .queue_max = NET_QUEUE_SIZE,
    .config_size = 8,
    .init = net_init,
    .destroy = net_destroy,
    .reset = net_reset,
    .notify = net_notify,
    .config_read = net_config_read,
    .save = net_save,
    .restore = net_restore,
    .thaw = net_thaw,
};
