/*
 * libFuzzer target for virtio-net's TX side (src/virtio/net.c, included
 * for its static process_tx): the input is guest memory holding the TX
 * ring and the frames with their virtio-net headers (checksum offload
 * offsets, GSO type); the harness runs one TX round into a backend that
 * only counts frames, then delivers a frame from the network (bytes
 * 16..) into the RX buffers the input offers (RX is untrusted too: any
 * host on the network; through net_deliver, as a backend does). Byte 0: queue size (bits 0-2), EVENT_IDX (bit 7);
 * byte 1: the RX frame's length.
 *   tests/host/fuzz.sh builds and runs it.
 */
#include "../../src/virtio/net.c"
#include "fuzz_ring.h"
#include "fuzz_vm_stubs.h"

static unsigned long frames_out;

static int count_send(struct net_backend *b, const void *frame, size_t len)
{
	(void)b, (void)frame;
	frames_out += len;
	return 0;
}

static void no_close(struct net_backend *b)
{
	(void)b;
}

static const struct net_backend_ops count_ops = {count_send, no_close};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_dev dev;
	static struct net_backend be;
	struct virtio_net_config cfg = {.mac = {2, 0, 0, 0, 0, 1},
					.backend = &be};
	size_t rx_len;

	if (!fr_gm.base) {
		fr_init();
		pthread_mutex_init(&dev.lock, NULL);
		net_backend_init(&be, &count_ops);
		dev.ops = &virtio_net_ops;
		if (virtio_net_ops.init(&dev, &cfg, NULL))
			abort();
	}
	if (size < 16)
		return 0;
	fr_load(&dev, NET_NUM_QUEUES, (uint16_t)(1u << (data[0] & 7)), data,
		size);
	net_reset(&dev);
	process_tx(&dev, dev.priv);
	rx_len = size - 16 < data[1] * 8u ? size - 16 : data[1] * 8u;
	net_deliver(&be, data + 16, rx_len); /* as the backends do */
	net_thaw(&dev);
	return 0;
}
